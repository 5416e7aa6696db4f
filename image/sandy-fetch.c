/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sandy-fetch: the download process of docker:// pulls (registry.h). sandy-helper's build runs it as an
 * unprivileged UID of the build's range, with no capability and no_new_privs, the request socket as fd 3
 * and nothing else of the build; it is not meant to be run by hand. */
#include <stdio.h>
#include <string.h>

#include "registry.h"

int main(int argc, char *argv[]) {
        if (argc != 1) {
                fprintf(stderr, "%s takes no arguments: sandy-helper runs it for docker:// pulls.\n",
                        argv[0]);
                return 2;
        }
        return registry_fetcher_main(3);
}
