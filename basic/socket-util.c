/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>
#include <sys/socket.h>

#include "socket-util.h"

int send_byte_with_fd(int sock, char c, int fd) {
        union {
                struct cmsghdr cmsghdr;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = {.iov_base = &c, .iov_len = 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

        if (fd >= 0) {
                mh.msg_control = &control;
                mh.msg_controllen = sizeof control.buf;
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        }
        while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

int receive_byte_with_fd(int sock, char *ret_c, int *ret_fd) {
        union {
                struct cmsghdr cmsghdr;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        char c = 0;
        struct iovec iov = {.iov_base = &c, .iov_len = 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                            .msg_controllen = sizeof control.buf};
        ssize_t n;

        *ret_fd = -EBADF;
        while ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0)
                if (errno != EINTR)
                        return -errno;
        if (n == 0)
                return -ECONNRESET;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
                    cm->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
        *ret_c = c;
        return 0;
}
