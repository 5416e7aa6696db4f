#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Setup= script of the codex example: runs as root inside the image while sandy-helper builds it, after
# Packages= are installed. Installs OpenAI Codex CLI from the npm registry (npm's own configuration of the image
# says which one: /etc/npmrc can point at a company mirror), system-wide, so the sandbox user finds `codex`
# on PATH. Editing this file changes the image recipe: the next start builds a new image.
set -eu
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
npm install --global @openai/codex
# It is installed and runs.
codex --version
