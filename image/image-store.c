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
#include "strv.h"

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
                return errno == ENOENT ? 0
                                       : log_error_errno(errno, "Failed to open %s: %m",
                                                         SANDY_IMAGE_STORE_DIR);
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

int image_retire(const char *id, char **ret_path) {
        _cleanup_free_ char *dir = image_dir(id), *tmp = NULL;

        if (!dir)
                return -EINVAL;
        if (xasprintf(&tmp, "%s/%srm-%s-%ld", SANDY_IMAGE_STORE_DIR, IMAGE_TMP_PREFIX, id, (long) getpid()) < 0)
                return -ENOMEM;
        /* Readers see the image or nothing; a crash during the delete leaves a .tmp-* for the next start. */
        if (rename(dir, tmp) < 0)
                return -errno;
        *ret_path = TAKE_PTR(tmp);
        return 0;
}

int image_blob_cache_gc(uint64_t *ret_bytes) {
        _cleanup_strv_free_ char **keep = NULL;
        _cleanup_close_ int cache = -EBADF;
        uint64_t bytes = 0;
        int removed = 0, r = 0;
        DIR *d;

        if (ret_bytes)
                *ret_bytes = 0;
        cache = open(SANDY_BLOB_CACHE_DIR "/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cache < 0)
                return errno == ENOENT ? 0
                                       : log_error_errno(errno, "Failed to open %s/sha256: %m",
                                                         SANDY_BLOB_CACHE_DIR);

        /* What the images in the store were made of stays. */
        d = opendir(SANDY_IMAGE_STORE_DIR);
        if (!d)
                return errno == ENOENT ? 0
                                       : log_error_errno(errno, "Failed to open %s: %m",
                                                         SANDY_IMAGE_STORE_DIR);
        for (struct dirent *de; r >= 0 && (de = readdir(d));) {
                _cleanup_free_ char *p = NULL, *text = NULL;
                char *save = NULL;
                size_t size;

                if (!image_id_is_valid(de->d_name))
                        continue;
                if (xasprintf(&p, SANDY_IMAGE_STORE_DIR "/%s/" IMAGE_BLOBS_FILE, de->d_name) < 0) {
                        r = log_oom();
                        break;
                }
                r = read_full_file(p, 1U << 20, &text, &size);
                if (r == -ENOENT) { /* not pulled from a registry */
                        r = 0;
                        continue;
                }
                if (r < 0) {
                        log_error_errno(r, "Failed to read %s, keeping every cached blob: %m", p);
                        break;
                }
                for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                        if (startswith(l, "sha256:") && strv_extend(&keep, l + 7) < 0) {
                                r = log_oom();
                                break;
                        }
        }
        closedir(d);
        if (r < 0)
                return r;

        d = opendir_dup(cache);
        if (!d)
                return log_error_errno(errno, "Failed to read %s/sha256: %m", SANDY_BLOB_CACHE_DIR);
        for (struct dirent *de; (de = readdir(d));) {
                struct stat st;
                if (streq(de->d_name, ".") || streq(de->d_name, "..") || strv_contains(keep, de->d_name))
                        continue;
                if (fstatat(cache, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if (unlinkat(cache, de->d_name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
                        log_warning_errno(errno, "Failed to remove %s/sha256/%s: %m", SANDY_BLOB_CACHE_DIR,
                                          de->d_name);
                        continue;
                }
                removed++;
                bytes += (uint64_t) st.st_size;
        }
        closedir(d);
        if (removed > 0)
                log_info("Removed %d blob(s), %.1f MB, that no image uses from %s.", removed,
                         (double) bytes / 1e6, SANDY_BLOB_CACHE_DIR);
        if (ret_bytes)
                *ret_bytes = bytes;
        return removed;
}
