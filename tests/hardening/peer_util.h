/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers of the hostile/dying-peer tests (pu_ prefix): a real session split
 * over two processes, a step channel to script the peers in lock step,
 * bounded waits on queues and children.
 */
#ifndef XS_PEER_UTIL_H
#define XS_PEER_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"
#include "xsched/handshake.h"
#include "xsched/msg.h"

#define PU_WAIT_MS 10000 /* every wait is bounded by this many ms (generous) */

/* A fresh socket path for this process and @p tag. */
const char *pu_sock_path(const char *tag);
/* Handshake generation (VERSION number, xs_hs_proto_get()) of the sessions
 * made from here on by pu_logon / pu_listen / pu_connect; 0: the default. */
void pu_use_version(uint32_t version);
/* The logon of these tests: @p w workers, 16 MiB allocator, 1 handle, capacities 64
 * (plus what the generation of pu_use_version() needs: xs_hs_logon_for()). */
struct xs_logon pu_logon(uint64_t w);

/* A server listening at @p path (0600, stale socket replaced). */
struct xs_hs_server *pu_listen(const char *path);
/* Serve one session within PU_WAIT_MS. */
struct xs_vsession *pu_serve(struct xs_hs_server *srv);
/* Connect a client (retrying while the path does not exist yet). */
struct xs_session *pu_connect(const char *path, const struct xs_logon *lg);

/* Step channel: a SOCK_SEQPACKET pair made before fork; each side keeps one end. */
void pu_chan(int fds[2]);
void pu_send(int fd, int step);
/* Wait for @p step (fails the test on another step, EOF or PU_WAIT_MS). */
void pu_expect(int fd, int step);
/* Next step number, -1 on EOF (peer gone). */
int pu_recv(int fd);

/* fork(): the child runs @p fn(@p arg) and exits 0 when it returns. */
pid_t pu_fork(void (*fn)(void *), void *arg);
/* Reap @p pid within PU_WAIT_MS; fail the test unless it exited 0. */
void pu_wait_ok(pid_t pid);
/* Reap @p pid (any status) within PU_WAIT_MS; return the raw status. */
int pu_reap(pid_t pid);

/* Poll @p q until an element arrives (PU_WAIT_MS); copy it out and finalize. */
void pu_pop(struct xs_spsc *q, void *out);
/* Poll @p q until it reports an error or an element; return the error (0: an element). */
int pu_pop_or_err(struct xs_spsc *q, void *out);
void pu_push(struct xs_spsc *q, const void *m);

/* Allocate @p len bytes through @p a, filled with @p fill. */
uint64_t pu_alloc(struct xs_alloc *a, size_t len, int fill);

#endif
