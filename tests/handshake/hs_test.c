/* SPDX-License-Identifier: Apache-2.0 */
#include "hs_test.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xsched/alloc.h"

const char *th_sock_path(const char *tag)
{
	static _Thread_local char path[108];
	static int seq;
	int n = __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED);

	snprintf(path, sizeof(path), "/tmp/xs-hs-%d-%s-%d.sock", (int)getpid(), tag, n);
	unlink(path);
	return path;
}

struct xs_logon th_logon_upstream(uint64_t w)
{
	struct xs_logon lg = {
		.worker_count = w,
		.allocator_size = 1024ull * 1024 * 1024,
		.allocator_handles = 3,
		.tpu_to_pack_capacity = 65536,
		.progress_tracker_capacity = 256,
		.pack_to_worker_capacity = 1024,
		.worker_to_pack_capacity = 1024,
		.units = XS_LOGON_ITEMS,
	};
	return lg;
}

struct xs_logon th_logon_small(uint64_t w)
{
	struct xs_logon lg = {
		.worker_count = w,
		.allocator_size = 8ull * 1024 * 1024,
		.allocator_handles = 1,
		.tpu_to_pack_capacity = 1024,
		.progress_tracker_capacity = 64,
		.pack_to_worker_capacity = 256,
		.worker_to_pack_capacity = 512,
		.units = XS_LOGON_ITEMS,
	};
	return lg;
}

void th_encode(uint64_t version, const struct xs_logon *lg, uint8_t buf[XS_HS_LOGON_BUF])
{
	T_EQ(xs_hs_encode_logon(version, lg, buf), XS_HS_LOGON_BUF);
}

int th_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t end = t_now_ns() + 3000000000ull;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		T_ASSERT(fd >= 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if ((errno != ENOENT && errno != ECONNREFUSED) || t_now_ns() > end)
			t_fail(__FILE__, __LINE__, "connect %s: %s", path, strerror(errno));
		usleep(2000);
	}
}

int th_send(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

size_t th_read_all(int fd, uint8_t *buf, size_t cap, int timeout_ms)
{
	uint64_t end = t_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	size_t have = 0;

	while (have < cap) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = t_now_ns();
		ssize_t n;

		if (now >= end)
			break;
		if (poll(&p, 1, (int)((end - now) / 1000000ull) + 1) <= 0)
			continue;
		n = recv(fd, buf + have, cap - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	return have;
}

void th_read_exact(int fd, uint8_t *buf, size_t len, int timeout_ms)
{
	size_t n = th_read_all(fd, buf, len, timeout_ms);

	if (n != len)
		t_fail(__FILE__, __LINE__, "read %zu of %zu bytes", n, len);
}

int th_send_fds(int sock, const void *data, size_t len, const int *fds, int n)
{
	union {
		struct cmsghdr a;
		uint8_t b[CMSG_SPACE(sizeof(int) * 253)];
	} ctl;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n > 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.b;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int th_listen_raw(const char *path, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	T_ASSERT(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	T_ASSERT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "%s", strerror(errno));
	T_ASSERT(listen(fd, backlog) == 0);
	return fd;
}

pid_t th_fork(void (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	return pid;
}

int th_reaped(pid_t pid, int *status)
{
	return waitpid(pid, status, WNOHANG) == pid;
}

void th_wait(pid_t pid, int timeout_ms)
{
	uint64_t end = t_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	int st = 0;

	while (!th_reaped(pid, &st)) {
		if (t_now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			t_fail(__FILE__, __LINE__, "child %d did not finish in %d ms", (int)pid, timeout_ms);
		}
		usleep(1000);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		t_fail(__FILE__, __LINE__, "child %d failed (status 0x%x%s)", (int)pid, st,
		       WIFSIGNALED(st) ? ", killed by a signal" : "");
}

long long th_json_num(const char *json, const char *from, const char *key, int nth)
{
	const char *p = from ? strstr(json, from) : json;
	char pat[128];

	T_ASSERT(p != NULL, "%s not in the JSON", from);
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	for (int i = 0; i <= nth; i++) {
		p = strstr(p, pat);
		T_ASSERT(p != NULL, "key %s #%d not in the JSON", key, nth);
		p += strlen(pat);
	}
	while (*p == ' ')
		p++;
	if (*p == '"')
		return strtoll(p + 1, NULL, 0); /* "0x..." strings */
	return strtoll(p, NULL, 10);
}

void th_events_init(struct th_events *e)
{
	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->mu, NULL);
}

void th_on_event(void *arg, const struct xs_hs_event *ev)
{
	struct th_events *e = arg;

	pthread_mutex_lock(&e->mu);
	e->n++;
	e->last_kind = ev->kind;
	e->last_err = ev->err;
	e->last_reply_err = ev->reply_err;
	e->last_received = ev->received;
	snprintf(e->last_reason, sizeof(e->last_reason), "%s", ev->reason);
	if (e->verbose)
		xs_hs_event_log(stderr, ev);
	pthread_mutex_unlock(&e->mu);
}

int th_events_count(struct th_events *e)
{
	int n;

	pthread_mutex_lock(&e->mu);
	n = e->n;
	pthread_mutex_unlock(&e->mu);
	return n;
}

void th_msg_tpu(struct xs_tpu_to_pack *m)
{
	memset(m, 0, sizeof(*m));
	m->transaction.offset = 10;
	m->transaction.length = 5;
	m->flags = 21;
	memset(m->src_addr, 4, sizeof(m->src_addr));
}

void th_msg_progress(struct xs_progress *m)
{
	memset(m, 0, sizeof(*m));
	m->leader_state = XS_LEADER_IS_LEADER;
	m->current_slot = 3;
	m->next_leader_slot = 12;
	m->leader_range_end = 16;
	m->remaining_cost_units = 12000000;
	m->current_slot_progress = 32;
}

void th_msg_p2w(struct xs_pack_to_worker *m, uint32_t worker)
{
	memset(m, 0, sizeof(*m));
	m->flags = 123;
	m->max_working_slot = 100 + worker;
	m->batch.num_transactions = 5;
	m->batch.transactions_offset = 100;
}

void th_msg_w2p(struct xs_worker_to_pack *m, uint32_t worker)
{
	memset(m, 0, sizeof(*m));
	m->batch.num_transactions = (uint8_t)(5 + worker);
	m->batch.transactions_offset = 100;
	m->processed_code = XS_PROCESSED;
	m->responses.tag = 3;
	m->responses.num_transaction_responses = 2;
	m->responses.transaction_responses_offset = 1;
}

void th_pop(struct xs_spsc *q, void *out, size_t size, int timeout_ms)
{
	uint64_t end = t_now_ns() + (uint64_t)timeout_ms * 1000000ull;
	const void *p;

	T_EQ(size, q->elem_size);
	while (!(p = xs_spsc_poll(q))) {
		T_OK(xs_spsc_error(q));
		if (t_now_ns() > end)
			t_fail(__FILE__, __LINE__, "queue stayed empty for %d ms", timeout_ms);
		usleep(200);
	}
	memcpy(out, p, size);
	xs_spsc_finalize(q);
}

void th_push(struct xs_spsc *q, const void *m)
{
	T_OK(xs_spsc_try_push(q, m));
}

/* Bytes the client writes near the end of the allocator file for the server to see. */
#define TH_ALLOC_MARK "xsched-allocator-shared"

void th_server_exchange(struct xs_vsession *vs)
{
	struct xs_tpu_to_pack tpu;
	struct xs_progress pr;

	th_msg_tpu(&tpu);
	th_msg_progress(&pr);
	th_push(&vs->tpu_to_pack, &tpu);
	th_push(&vs->progress, &pr);
	for (uint32_t i = 0; i < vs->num_workers; i++) {
		struct xs_pack_to_worker got, want;
		struct xs_worker_to_pack w2p;

		th_pop(&vs->workers[i].pack_to_worker, &got, sizeof(got), 5000);
		th_msg_p2w(&want, i);
		T_EQ(got.flags, want.flags);
		T_EQ(got.max_working_slot, want.max_working_slot);
		T_EQ(got.batch.num_transactions, want.batch.num_transactions);
		T_EQ(got.batch.transactions_offset, want.batch.transactions_offset);
		if (i == 0) {
			/* the allocator file is shared: the client's bytes are here */
			uint8_t *p = xs_alloc_base(vs->worker_allocs[0]) + xs_alloc_size(vs->tpu_alloc) - 64;

			T_ASSERT(memcmp(p, TH_ALLOC_MARK, sizeof(TH_ALLOC_MARK)) == 0);
		}
		th_msg_w2p(&w2p, i);
		th_push(&vs->workers[i].worker_to_pack, &w2p);
	}
}

void th_client_exchange(struct xs_session *s)
{
	struct xs_tpu_to_pack tpu, tpu_want;
	struct xs_progress pr, pr_want;

	th_pop(&s->tpu_to_pack, &tpu, sizeof(tpu), 5000);
	th_msg_tpu(&tpu_want);
	T_EQ(tpu.transaction.offset, tpu_want.transaction.offset);
	T_EQ(tpu.transaction.length, tpu_want.transaction.length);
	T_EQ(tpu.flags, tpu_want.flags);
	T_ASSERT(memcmp(tpu.src_addr, tpu_want.src_addr, 16) == 0);
	th_pop(&s->progress, &pr, sizeof(pr), 5000);
	th_msg_progress(&pr_want);
	T_EQ(pr.leader_state, pr_want.leader_state);
	T_EQ(pr.current_slot, pr_want.current_slot);
	T_EQ(pr.next_leader_slot, pr_want.next_leader_slot);
	T_EQ(pr.leader_range_end, pr_want.leader_range_end);
	T_EQ(pr.remaining_cost_units, pr_want.remaining_cost_units);
	T_EQ(pr.current_slot_progress, pr_want.current_slot_progress);

	memcpy(xs_alloc_base(s->allocs[0]) + xs_alloc_size(s->allocs[0]) - 64, TH_ALLOC_MARK,
	       sizeof(TH_ALLOC_MARK));
	for (uint32_t i = 0; i < s->num_workers; i++) {
		struct xs_pack_to_worker p2w;

		th_msg_p2w(&p2w, i);
		th_push(&s->workers[i].pack_to_worker, &p2w);
	}
	for (uint32_t i = 0; i < s->num_workers; i++) {
		struct xs_worker_to_pack got, want;

		th_pop(&s->workers[i].worker_to_pack, &got, sizeof(got), 5000);
		th_msg_w2p(&want, i);
		T_EQ(got.batch.num_transactions, want.batch.num_transactions);
		T_EQ(got.batch.transactions_offset, want.batch.transactions_offset);
		T_EQ(got.processed_code, want.processed_code);
		T_EQ(got.responses.tag, want.responses.tag);
		T_EQ(got.responses.num_transaction_responses, want.responses.num_transaction_responses);
		T_EQ(got.responses.transaction_responses_offset,
		     want.responses.transaction_responses_offset);
	}
}

int th_run_cases(const struct th_case *cases, size_t n, int argc, char **argv)
{
	int ran = 0;

	for (size_t i = 0; i < n; i++) {
		if (argc > 1 && strcmp(argv[1], cases[i].name))
			continue;
		cases[i].fn();
		ran++;
	}
	if (!ran)
		t_fail(__FILE__, __LINE__, "no case named %s", argv[1]);
	return 0;
}

void th_raw_logon(uint8_t *b, uint64_t version, uint64_t wc, uint64_t ah)
{
	const uint64_t f[8] = { version, wc, 64ull << 20, ah, 1024, 1024, 1024, 1024 };

	memset(b, 0, XS_HS_LOGON_BUF);
	for (int i = 0; i < 8; i++)
		for (int k = 0; k < 8; k++)
			b[8 * i + k] = (uint8_t)(f[i] >> (8 * k));
}
