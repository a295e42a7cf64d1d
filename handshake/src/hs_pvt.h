/* SPDX-License-Identifier: Apache-2.0 */
/* Handshake internals shared by the client, the server and the codecs. */
#ifndef XS_HS_PVT_H
#define XS_HS_PVT_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "xsched/handshake.h"

/* ----------------------------------------------------------------- time */

/** CLOCK_MONOTONIC in ns: the clock of every deadline (and of io_uring's
 *  IORING_TIMEOUT_ABS without a clock flag). */
uint64_t xs__hs_now(void);

/** Copy of the calling thread's detail message (xs_errmsg), so that a new
 *  message can quote it: xs_seterr() writes into the same buffer. */
struct xs__hs_msg {
	char s[512];
};
void xs__hs_errmsg(struct xs__hs_msg *m);

/* ------------------------------------------------------------- wire text */

/** Rust's Debug of an io::Error from errno @p err (> 0):
 *  `Os { code: N, kind: Kind, message: "text" }`. */
int xs__hs_io_debug(char *buf, size_t cap, int err);

/** Message element size of each queue (wire order of the per-object roles). */
#define XS__HS_ELEM_TPU      40u
#define XS__HS_ELEM_PROGRESS 48u
#define XS__HS_ELEM_P2W      32u
#define XS__HS_ELEM_W2P      40u
#define XS__HS_ELEM_ALIGN    8u

/* -------------------------------------------------- client I/O backends */

/*
 * One blocking operation at a time, bounded by an absolute deadline. The
 * io_uring backend submits the operation followed by an IORING_TIMEOUT_ABS
 * linked timeout and waits for both completions; the poll backend uses a
 * non-blocking socket and poll() (connect: SO_SNDTIMEO, which AF_UNIX
 * connect honours while the listener's backlog is full).
 */
struct xs__hs_io {
	int backend;   /* enum xs_hs_backend */
	int uring_err; /* io_uring_queue_init failure that forced poll, else 0 */
	void *ring;    /* struct io_uring * (uring backend) */
};

int xs__hs_io_init(struct xs__hs_io *io, int force_poll);
void xs__hs_io_fini(struct xs__hs_io *io);
/** Create the client socket suited to the backend (close-on-exec). */
int xs__hs_io_socket(struct xs__hs_io *io);
int xs__hs_io_connect(struct xs__hs_io *io, int fd, const struct sockaddr_un *sa, socklen_t len,
		      uint64_t deadline);
/** Send all @p len bytes (MSG_NOSIGNAL). @return 0 or a negative error. */
int xs__hs_io_send_all(struct xs__hs_io *io, int fd, const void *buf, size_t len,
		       uint64_t deadline);
/** One recvmsg (MSG_CMSG_CLOEXEC added). @return bytes or a negative error;
 *  msg->msg_controllen / msg_flags are updated as by recvmsg(2). */
long xs__hs_io_recvmsg(struct xs__hs_io *io, int fd, struct msghdr *msg, uint64_t deadline);

/** CLOCK_BOOTTIME in ns (the clock of /proc/<pid>/stat start times). */
uint64_t xs__hs_boot_ns(void);

/** xs__hs_peer_pidfd() flag: skip SO_PEERPIDFD (tests of the fallback). */
#define XS__HS_PIDFD_NO_SOCKOPT 1u

/**
 * A close-on-exec pidfd for the process at the other end of the connected
 * Unix socket @p sock, taken while the socket is still open: SO_PEERPIDFD
 * (Linux 6.5+), else pidfd_open(@p pid) (the SO_PEERCRED pid) checked
 * against the connection: a live process that started after
 * @p since_boot_ns (CLOCK_BOOTTIME when the connection was made; 0 = now)
 * got a reused pid and is refused.
 * @return the descriptor; -ESRCH when the peer has exited and been reaped
 *   (or its pid names another process); -ENOSYS without pidfd support
 *   (old kernel, seccomp): the caller goes on without one; other -errno.
 */
int xs__hs_peer_pidfd(int sock, pid_t pid, uint64_t since_boot_ns, unsigned flags);

/** Fill a sockaddr_un for @p path. @return its length or -ENAMETOOLONG / -EINVAL. */
int xs__hs_sockaddr(struct sockaddr_un *sa, const char *path);

/** Close every descriptor of @p fds[0..n). */
void xs__hs_close_fds(const int *fds, uint32_t n);

/** Zeroed, cache-line aligned memory (free with free()): the session
 *  structs and their worker arrays embed struct xs_spsc, which is
 *  XS_CACHE_ALIGNED, so malloc/calloc alignment is not enough. */
void *xs__hs_zalloc_aligned(size_t size);

/** Close both queue ends of @p n workers and free the array (NULL is fine). */
void xs__hs_workers_free(struct xs_hs_worker *w, uint32_t n);

/* ------------------------------------------------ protocol rows (hs_proto.c) */

/** Byte where the ring starts in a queue file of shaq format @p fmt, kind @p kind. */
uint64_t xs__hs_ring_start(unsigned fmt, unsigned kind);

/** sdk7 validation of one queue capacity (HANDSHAKE_SDK.md s5): 1 when
 *  try_minimum_file_size and the page rounding fit isize, else 0. */
int xs__hs_sdk_queue_ok(const struct xs_hs_proto *p, const struct xs_hs_object *o, uint64_t cap);

XS_LINK_ERROR_TEXTS(xs_strerror_hs);

#endif /* XS_HS_PVT_H */
