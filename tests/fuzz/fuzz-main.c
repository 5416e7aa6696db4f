/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs a fuzz target over files without libFuzzer, so any build replays the corpus and the reproducers:
 *   fuzz-sandbox-replay FILE|DIR...
 * A crash (abort, sanitizer report) fails the test; a file that is merely refused by the parser is fine. */
#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "fs-util.h"
#include "path-util.h"
#include "string-util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, unsigned *n) {
        _cleanup_free_ char *buf = NULL;
        size_t size;
        int r;

        r = read_full_file(path, 16 * 1024 * 1024, &buf, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        fprintf(stderr, "running %s (%zu bytes)\n", path, size);
        /* An exact-size copy, so ASan sees reads past the input's end. */
        _cleanup_free_ uint8_t *copy = malloc(size ?: 1);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, buf, size);
        (void)LLVMFuzzerTestOneInput(copy, size);
        (*n)++;
        return 0;
}

static int cmp(const void *a, const void *b) {
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *path, unsigned *n) {
        DIR *d = opendir(path);
        struct dirent *de;
        char **names = NULL;
        size_t m = 0;
        int ret = 0;

        if (!d) {
                fprintf(stderr, "%s: %m\n", path);
                return -errno;
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.' || streq(de->d_name, "README") || endswith(de->d_name, ".md"))
                        continue;
                char **nn = realloc(names, sizeof(char *) * (m + 1));
                if (!nn)
                        abort();
                names = nn;
                names[m++] = path_join(path, de->d_name);
        }
        closedir(d);
        if (m > 0)
                qsort(names, m, sizeof(char *), cmp);
        for (size_t i = 0; i < m; i++) {
                struct stat st;
                int r = 0;
                if (names[i] && stat(names[i], &st) >= 0 && S_ISREG(st.st_mode))
                        r = run_file(names[i], n);
                if (r < 0 && ret == 0)
                        ret = r;
                free(names[i]);
        }
        free(names);
        return ret;
}

int main(int argc, char *argv[]) {
        unsigned n = 0;
        int ret = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %m\n", argv[i]);
                        ret = 1;
                        continue;
                }
                r = S_ISDIR(st.st_mode) ? run_dir(argv[i], &n) : run_file(argv[i], &n);
                if (r < 0)
                        ret = 1;
        }
        printf("%u inputs replayed without a crash\n", n);
        return ret;
}
