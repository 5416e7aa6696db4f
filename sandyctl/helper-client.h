/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "macro.h"

/* What sandyctl asks sandy-helper about images and state, instead of reading root's files: the same
 * answers for root, a member of group sandy and -H. */

typedef struct HelperImage {
        char *id, *source, *rootfs;
        uint64_t size, built_usec;
        char **sandboxes; /* the declared sandboxes whose current recipe this is */
} HelperImage;

typedef struct HelperImages {
        HelperImage *images;
        size_t n;
} HelperImages;

void helper_images_done(HelperImages *l);
/* ListImages: the images in the store. 0, or -errno with the failure logged as a warning ("what" says what
 * is unknown without it). */
int helper_list_images(sd_bus *bus, const char *what, HelperImages *ret);
/* The built image that is the current recipe of sandbox name, or NULL. */
const HelperImage *helper_images_of_sandbox(const HelperImages *l, const char *name);

/* DescribeState: the reports sandy-prepare keeps for the sandbox (names and texts, same index) and the last
 * warning and error lines of its units since its last start. 0, or -errno (not logged; nothing set). */
int helper_describe_state(sd_bus *bus, const char *name, char ***ret_report_names, char ***ret_report_texts,
                          char ***ret_errors);
