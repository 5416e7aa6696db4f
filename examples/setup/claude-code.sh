#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Setup= script of the claude-code example: runs as root inside the image while sandy-helper builds it, after
# Packages= are installed. Installs Claude Code from the npm registry (npm's own configuration of the image
# says which one: /etc/npmrc can point at a company mirror), system-wide, so the sandbox user finds `claude`
# on PATH. Editing this file changes the image recipe: the next start builds a new image.
set -eu
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
npm install --global @anthropic-ai/claude-code
# It is installed and runs.
claude --version
