/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "sandbox.h"

/* Images are content-addressed: the ID is the SHA-256 of the recipe (what goes into building the image),
 * so sandboxes with the same recipe share one image and a changed recipe gets a new one. */
#define IMAGE_ID_HEX_LEN 64

/* The Setup= script of s, read only if it and every directory above it belong to root or to the sandbox's
 * owner and nobody else can write them (open_trusted()); refusals are logged. */
int sandbox_read_setup(const Sandbox *s, char **ret, size_t *ret_size);
/* The canonical recipe text. Reads the Setup= script, whose content is part of the recipe. */
int sandbox_recipe(const Sandbox *s, char **ret);
int sandbox_image_id(const Sandbox *s, char ret[static IMAGE_ID_HEX_LEN + 1]);
/* SANDY_IMAGE_STORE_DIR/ID, and the root file system below it. */
char *image_dir(const char *id);
char *image_rootfs(const char *id);
bool image_id_is_valid(const char *id);
