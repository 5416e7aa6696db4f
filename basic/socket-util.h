/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"

/* One byte over an AF_UNIX socket, with a file descriptor attached (fd < 0: none), and its receiving end:
 * *ret_fd is the received descriptor (O_CLOEXEC) or -EBADF. */
int send_byte_with_fd(int sock, char c, int fd);
int receive_byte_with_fd(int sock, char *ret_c, int *ret_fd);
