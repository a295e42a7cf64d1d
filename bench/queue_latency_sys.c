/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Baselines a user would reach for instead of a shared-memory queue, each
 * used the way such code is usually written (blocking, no spinning):
 *   pipe          two pipes; write() per message, read() as much as is there
 *   socketpair    AF_UNIX SOCK_STREAM pair, same pattern
 *   eventfd       a ring in memory + one eventfd counting items and one
 *                 counting free slots (credits returned every capacity/2)
 *   mutex_condvar bounded ring under a pthread mutex with two condvars
 */
#include "queue_latency.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

static void sys_die(const char *what)
{
	fprintf(stderr, "queue_latency: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * P##_pp and P##_st: open a channel pair with OPEN(cfg, &pair), run the
 * loops L##_pp_a/_pp_b or L##_st_a/_st_b (QL_DEFINE_LOOPS(L, ...)) over it,
 * close it with CLOSE(pair).
 */
#define QL_SYS_RUNNERS(P, L, PAIR, OPEN, CLOSE)                                           \
	static int P##_pp(const struct ql_cfg *c, struct bench_hist *h, struct ql_result *r) \
	{                                                                                 \
		PAIR *p;                                                                  \
		int rc = OPEN(c, &p);                                                     \
                                                                                          \
		if (rc < 0)                                                               \
			return rc;                                                        \
		rc = ql_run_pingpong(c, p, L##_pp_a, L##_pp_b, h, r);                     \
		CLOSE(p);                                                                 \
		return rc;                                                                \
	}                                                                                 \
	static int P##_st(const struct ql_cfg *c, double *rate, struct ql_result *r)      \
	{                                                                                 \
		PAIR *p;                                                                  \
		int rc = OPEN(c, &p);                                                     \
                                                                                          \
		if (rc < 0)                                                               \
			return rc;                                                        \
		rc = ql_run_stream(c, p, L##_st_a, L##_st_b, rate, r);                    \
		CLOSE(p);                                                                 \
		return rc;                                                                \
	}

/* ------------------------------------------------------ pipe, socketpair */

struct fd_chan {
	int rfd, wfd;
	uint8_t *buf; /* receiver's buffer: whatever one read() returned */
	size_t cap, have, off;
} __attribute__((aligned(128)));

struct fd_pair {
	struct fd_chan ab, ba;
};

BENCH_INLINE void fd_send(struct fd_chan *ch, const uint64_t *m, size_t sz)
{
	const uint8_t *p = (const uint8_t *)m;

	while (sz) {
		ssize_t n = write(ch->wfd, p, sz);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			sys_die("write");
		}
		p += n;
		sz -= (size_t)n;
	}
}

BENCH_INLINE void fd_recv(struct fd_chan *ch, uint64_t *m, size_t sz)
{
	while (ch->have - ch->off < sz) {
		ssize_t n;

		if (ch->off) {
			memmove(ch->buf, ch->buf + ch->off, ch->have - ch->off);
			ch->have -= ch->off;
			ch->off = 0;
		}
		n = read(ch->rfd, ch->buf + ch->have, ch->cap - ch->have);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			sys_die(n ? "read" : "read: unexpected end of stream");
		}
		ch->have += (size_t)n;
	}
	memcpy(m, ch->buf + ch->off, sz);
	ch->off += sz;
}

#define FD_SEND(ch, m, sz) fd_send((ch), (m), (sz))
#define FD_RECV(ch, m, sz) fd_recv((ch), (m), (sz))
QL_DEFINE_LOOPS(fd, struct fd_pair, ab, ba, FD_SEND, FD_RECV, run_->cfg->msg_size)

static void fd_close(struct fd_pair *p)
{
	struct fd_chan *chs[2] = {&p->ab, &p->ba};
	int i;

	for (i = 0; i < 2; i++) {
		if (chs[i]->rfd >= 0)
			close(chs[i]->rfd);
		if (chs[i]->wfd >= 0 && chs[i]->wfd != chs[i]->rfd)
			close(chs[i]->wfd);
		free(chs[i]->buf);
	}
	free(p);
}

static int fd_open(const struct ql_cfg *c, int sock, struct fd_pair **out)
{
	struct fd_pair *p;
	struct fd_chan *chs[2];
	int i;

	if (posix_memalign((void **)&p, 128, sizeof(*p)))
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	chs[0] = &p->ab;
	chs[1] = &p->ba;
	for (i = 0; i < 2; i++)
		chs[i]->rfd = chs[i]->wfd = -1;
	for (i = 0; i < 2; i++) {
		int fds[2], rc;

		rc = sock ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)
			  : pipe2(fds, O_CLOEXEC);
		if (rc < 0) {
			rc = -errno;
			fd_close(p);
			return rc;
		}
		chs[i]->rfd = fds[0];
		chs[i]->wfd = fds[1];
		/* Room for 64 messages per read(): a receiver that is behind
		 * takes what is there, as stream readers do. */
		chs[i]->cap = 64 * c->msg_size;
		chs[i]->buf = malloc(chs[i]->cap);
		if (!chs[i]->buf) {
			fd_close(p);
			return -ENOMEM;
		}
	}
	*out = p;
	return 0;
}

static int pipe_open(const struct ql_cfg *c, struct fd_pair **out)
{
	return fd_open(c, 0, out);
}

static int sock_open(const struct ql_cfg *c, struct fd_pair **out)
{
	return fd_open(c, 1, out);
}

QL_SYS_RUNNERS(pipe, fd, struct fd_pair, pipe_open, fd_close)
QL_SYS_RUNNERS(sock, fd, struct fd_pair, sock_open, fd_close)

/* ------------------------------------------------------------- eventfd */

struct efd_chan {
	int items_fd, space_fd;
	uint8_t *slots;
	uint64_t mask;
	uint64_t ppos __attribute__((aligned(128))), pcredit; /* producer only */
	uint64_t cpos __attribute__((aligned(128))), cavail, cdone; /* consumer only */
} __attribute__((aligned(128)));

struct efd_pair {
	struct efd_chan ab, ba;
};

static uint64_t efd_read(int fd)
{
	uint64_t v;

	while (read(fd, &v, 8) != 8)
		if (errno != EINTR)
			sys_die("eventfd read");
	return v;
}

static void efd_add(int fd, uint64_t v)
{
	while (write(fd, &v, 8) != 8)
		if (errno != EINTR)
			sys_die("eventfd write");
}

/* The eventfd syscalls are full barriers: slot bytes written before the
 * write() are seen after the peer's read(). */
BENCH_INLINE void efd_send(struct efd_chan *ch, const uint64_t *m, size_t sz)
{
	if (!ch->pcredit)
		ch->pcredit += efd_read(ch->space_fd);
	memcpy(ch->slots + (ch->ppos & ch->mask) * sz, m, sz);
	ch->ppos++;
	ch->pcredit--;
	efd_add(ch->items_fd, 1);
}

BENCH_INLINE void efd_recv(struct efd_chan *ch, uint64_t *m, size_t sz)
{
	if (!ch->cavail)
		ch->cavail = efd_read(ch->items_fd);
	memcpy(m, ch->slots + (ch->cpos & ch->mask) * sz, sz);
	ch->cpos++;
	ch->cavail--;
	if (++ch->cdone >= (ch->mask + 1) / 2) {
		efd_add(ch->space_fd, ch->cdone);
		ch->cdone = 0;
	}
}

#define EFD_SEND(ch, m, sz) efd_send((ch), (m), (sz))
#define EFD_RECV(ch, m, sz) efd_recv((ch), (m), (sz))
QL_DEFINE_LOOPS(efd, struct efd_pair, ab, ba, EFD_SEND, EFD_RECV, run_->cfg->msg_size)

static void efd_close(struct efd_pair *p)
{
	struct efd_chan *chs[2] = {&p->ab, &p->ba};
	int i;

	for (i = 0; i < 2; i++) {
		if (chs[i]->items_fd >= 0)
			close(chs[i]->items_fd);
		if (chs[i]->space_fd >= 0)
			close(chs[i]->space_fd);
		free(chs[i]->slots);
	}
	free(p);
}

static int efd_open(const struct ql_cfg *c, struct efd_pair **out)
{
	struct efd_pair *p;
	struct efd_chan *chs[2];
	int i;

	if (c->capacity < 2)
		return -EINVAL;
	if (posix_memalign((void **)&p, 128, sizeof(*p)))
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	chs[0] = &p->ab;
	chs[1] = &p->ba;
	for (i = 0; i < 2; i++)
		chs[i]->items_fd = chs[i]->space_fd = -1;
	for (i = 0; i < 2; i++) {
		chs[i]->items_fd = eventfd(0, EFD_CLOEXEC);
		chs[i]->space_fd = eventfd(0, EFD_CLOEXEC);
		if (chs[i]->items_fd < 0 || chs[i]->space_fd < 0) {
			int rc = -errno;

			efd_close(p);
			return rc;
		}
		if (posix_memalign((void **)&chs[i]->slots, 64, (size_t)c->capacity * c->msg_size)) {
			chs[i]->slots = NULL; /* unspecified on failure: efd_close frees it */
			efd_close(p);
			return -ENOMEM;
		}
		memset(chs[i]->slots, 0, (size_t)c->capacity * c->msg_size);
		chs[i]->mask = c->capacity - 1;
		chs[i]->pcredit = c->capacity;
	}
	*out = p;
	return 0;
}

QL_SYS_RUNNERS(efd, efd, struct efd_pair, efd_open, efd_close)

/* ------------------------------------------------------ mutex + condvar */

struct mc_chan {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	uint8_t *slots;
	uint64_t head, tail, cap;
} __attribute__((aligned(128)));

struct mc_pair {
	struct mc_chan ab, ba;
};

BENCH_INLINE void mc_send(struct mc_chan *ch, const uint64_t *m, size_t sz)
{
	pthread_mutex_lock(&ch->mu);
	while (ch->tail - ch->head == ch->cap)
		pthread_cond_wait(&ch->not_full, &ch->mu);
	memcpy(ch->slots + (ch->tail % ch->cap) * sz, m, sz);
	ch->tail++;
	pthread_cond_signal(&ch->not_empty);
	pthread_mutex_unlock(&ch->mu);
}

BENCH_INLINE void mc_recv(struct mc_chan *ch, uint64_t *m, size_t sz)
{
	pthread_mutex_lock(&ch->mu);
	while (ch->tail == ch->head)
		pthread_cond_wait(&ch->not_empty, &ch->mu);
	memcpy(m, ch->slots + (ch->head % ch->cap) * sz, sz);
	ch->head++;
	pthread_cond_signal(&ch->not_full);
	pthread_mutex_unlock(&ch->mu);
}

#define MC_SEND(ch, m, sz) mc_send((ch), (m), (sz))
#define MC_RECV(ch, m, sz) mc_recv((ch), (m), (sz))
QL_DEFINE_LOOPS(mc, struct mc_pair, ab, ba, MC_SEND, MC_RECV, run_->cfg->msg_size)

static void mc_close(struct mc_pair *p)
{
	struct mc_chan *chs[2] = {&p->ab, &p->ba};
	int i;

	for (i = 0; i < 2; i++) {
		pthread_mutex_destroy(&chs[i]->mu);
		pthread_cond_destroy(&chs[i]->not_empty);
		pthread_cond_destroy(&chs[i]->not_full);
		free(chs[i]->slots);
	}
	free(p);
}

static int mc_open(const struct ql_cfg *c, struct mc_pair **out)
{
	struct mc_pair *p;
	struct mc_chan *chs[2];
	int i;

	if (posix_memalign((void **)&p, 128, sizeof(*p)))
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	chs[0] = &p->ab;
	chs[1] = &p->ba;
	for (i = 0; i < 2; i++) {
		pthread_mutex_init(&chs[i]->mu, NULL);
		pthread_cond_init(&chs[i]->not_empty, NULL);
		pthread_cond_init(&chs[i]->not_full, NULL);
		chs[i]->cap = c->capacity;
		chs[i]->slots = calloc(c->capacity, c->msg_size);
		if (!chs[i]->slots) {
			mc_close(p);
			return -ENOMEM;
		}
	}
	*out = p;
	return 0;
}

QL_SYS_RUNNERS(mc, mc, struct mc_pair, mc_open, mc_close)

const struct ql_transport ql_pipe = {
	"pipe", "two pipes, write() per message, read() what is there (blocking)", pipe_pp,
	pipe_st};
const struct ql_transport ql_socketpair = {
	"socketpair", "AF_UNIX SOCK_STREAM socketpair, same pattern as pipe (blocking)", sock_pp,
	sock_st};
const struct ql_transport ql_eventfd = {
	"eventfd", "ring in memory + eventfd per message for items, credits back every cap/2",
	efd_pp, efd_st};
const struct ql_transport ql_mutex = {
	"mutex_condvar", "bounded ring under a pthread mutex with two condition variables", mc_pp,
	mc_st};
