/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image store: what is built, its metadata, and removal. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "image-build.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "rm-rf.h"
#include "string-util.h"

void image_meta_done(ImageMeta *m) {
        m->from = mfree(m->from);
}

int image_store_ensure(void) {
        int r = mkdir_p(SANDY_IMAGE_STORE_DIR, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", SANDY_IMAGE_STORE_DIR);
        return 0;
}

int image_store_clean_temp(void) {
        DIR *d = opendir(SANDY_IMAGE_STORE_DIR);
        struct dirent *de;
        int ret = 0;

        if (!d)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", SANDY_IMAGE_STORE_DIR);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = NULL;
                int r;

                if (!startswith(de->d_name, IMAGE_TMP_PREFIX))
                        continue;
                p = path_join(SANDY_IMAGE_STORE_DIR, de->d_name);
                if (!p) {
                        ret = log_oom();
                        break;
                }
                log_info("Removing %s, left over by an interrupted build or removal.", p);
                r = rm_rf(p);
                if (r < 0)
                        ret = log_error_errno(r, "Failed to remove %s: %m", p);
        }
        closedir(d);
        return ret;
}

int image_read_meta(const char *id, ImageMeta *ret) {
        _cleanup_free_ char *dir = image_dir(id), *path = NULL, *text = NULL;
        char *saveptr = NULL;
        ImageMeta m = {};
        size_t size;
        int r;

        if (!dir)
                return -EINVAL;
        path = path_join(dir, "metadata");
        if (!path)
                return -ENOMEM;
        r = read_full_file(path, 64 * 1024, &text, &size);
        if (r < 0)
                return r;
        for (char *l = strtok_r(text, "\n", &saveptr); l; l = strtok_r(NULL, "\n", &saveptr)) {
                if (startswith(l, "from=")) {
                        free(m.from);
                        m.from = strdup(l + 5);
                        if (!m.from)
                                return -ENOMEM;
                } else if (startswith(l, "built="))
                        (void) safe_atou64(l + 6, &m.built_usec);
                else if (startswith(l, "size="))
                        (void) safe_atou64(l + 5, &m.size);
        }
        *ret = m;
        return 0;
}

int image_remove(const char *id) {
        _cleanup_free_ char *dir = image_dir(id), *tmp = NULL;

        if (!dir)
                return -EINVAL;
        if (xasprintf(&tmp, "%s/%srm-%s-%ld", SANDY_IMAGE_STORE_DIR, IMAGE_TMP_PREFIX, id, (long) getpid()) < 0)
                return -ENOMEM;
        /* Readers see the image or nothing; a crash during the delete leaves a .tmp-* for the next start. */
        if (rename(dir, tmp) < 0)
                return -errno;
        return rm_rf(tmp);
}

