/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers of the handshake tests (th_ prefix): socket paths, logons, raw
 * peers, forked children, the reference messages of the upstream test. */
#ifndef XS_HS_TEST_H
#define XS_HS_TEST_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"
#include "xsched/handshake.h"
#include "xsched/msg.h"

/* A fresh socket path for this process (nothing exists there yet). */
const char *th_sock_path(const char *tag);

/* The logon of upstream's message_passing_on_all_queues test with @p w
 * workers: 1 GiB allocator, 3 handles, capacities 65536/256/1024/1024. */
struct xs_logon th_logon_upstream(uint64_t w);
/* A small logon for fast tests: 8 MiB allocator, 1 handle, 1024/64/256/512. */
struct xs_logon th_logon_small(uint64_t w);
/* The raw client of vectors README (b): VERSION, worker_count, a 64 MiB
 * allocator, allocator_handles, four queue fields of 1024, zeros (flags 0). */
void th_raw_logon(uint8_t *b, uint64_t version, uint64_t wc, uint64_t ah);
/* Encode @p lg as VERSION @p version, failing the test on error. */
void th_encode(uint64_t version, const struct xs_logon *lg, uint8_t buf[XS_HS_LOGON_BUF]);

/* Blocking connect, retrying for up to 3 s while the path does not exist yet. */
int th_connect(const char *path);
/* Write all bytes (MSG_NOSIGNAL). @return 0 or -errno. */
int th_send(int fd, const void *buf, size_t len);
/* Read until EOF, @p cap bytes, or @p timeout_ms. @return bytes read. */
size_t th_read_all(int fd, uint8_t *buf, size_t cap, int timeout_ms);
/* Read exactly @p len bytes (or fail the test) within @p timeout_ms. */
void th_read_exact(int fd, uint8_t *buf, size_t len, int timeout_ms);
/* sendmsg of @p data with @p n descriptors in one SCM_RIGHTS (n may be 0). */
int th_send_fds(int sock, const void *data, size_t len, const int *fds, int n);
/* A raw listening socket at @p path. */
int th_listen_raw(const char *path, int backlog);

/* Run @p fn(@p arg) in a child process that exits 0 when fn returns. */
pid_t th_fork(void (*fn)(void *), void *arg);
/* Wait for a child; fail the test if it does not exit 0 within @p timeout_ms. */
void th_wait(pid_t pid, int timeout_ms);
/* Non-blocking: 1 and *status if the child has exited. */
int th_reaped(pid_t pid, int *status);

/* Number after `"key":` at the @p nth occurrence after @p from in @p json. */
long long th_json_num(const char *json, const char *from, const char *key, int nth);

/* Events of a server, recorded thread-safely. */
struct th_events {
	pthread_mutex_t mu;
	int n;
	int last_kind, last_err, last_reply_err;
	uint32_t last_received;
	char last_reason[XS_HS_MAX_REASON + 1];
	int verbose;
};
void th_events_init(struct th_events *e);
void th_on_event(void *arg, const struct xs_hs_event *ev);
int th_events_count(struct th_events *e);

/* The reference messages of upstream's message_passing_on_all_queues. */
void th_msg_tpu(struct xs_tpu_to_pack *m);
void th_msg_progress(struct xs_progress *m);
void th_msg_p2w(struct xs_pack_to_worker *m, uint32_t worker);
void th_msg_w2p(struct xs_worker_to_pack *m, uint32_t worker);

/* Spin (with short sleeps) on xs_spsc_poll until an item arrives; copy it. */
void th_pop(struct xs_spsc *q, void *out, size_t size, int timeout_ms);
void th_push(struct xs_spsc *q, const void *m);

/* Both sides of the message exchange of the upstream test. */
void th_server_exchange(struct xs_vsession *vs);
void th_client_exchange(struct xs_session *s);

/* One named case of a test executable (each is its own CTest test). */
struct th_case {
	const char *name;
	void (*fn)(void);
};
/* Run the case named argv[1] (every case when there is no argument); fail
 * the test when no case has that name. @return 0 (the exit status). */
int th_run_cases(const struct th_case *cases, size_t n, int argc, char **argv);

#endif
