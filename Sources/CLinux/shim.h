#ifndef KIEWATCH_CLINUX_SHIM_H
#define KIEWATCH_CLINUX_SHIM_H
// The Linux calls the toolchain's Glibc module leaves out: <sys/epoll.h> and <sys/eventfd.h>
// are not in its module map, <sys/socket.h> declares accept4 only under _GNU_SOURCE, and
// <malloc.h> (malloc_trim) is not in it either.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/types.h>

// Neither _GNU_SOURCE nor <sys/socket.h> here: the Glibc module already includes that header,
// and a second copy read into this module (with or without _GNU_SOURCE) would take over its
// declarations (SOCK_STREAM, fd_set) from Glibc. So accept4 gets glibc's own prototype, with
// `struct sockaddr` (defined by Glibc) declared and socklen_t spelled as its glibc type.
struct sockaddr;
extern int accept4(int __fd, struct sockaddr *__restrict __addr, __socklen_t *__restrict __addr_len, int __flags);

// From <malloc.h>, declared alone: that header would bring a second copy of malloc and free.
extern int malloc_trim(__SIZE_TYPE__ __pad);
#endif
