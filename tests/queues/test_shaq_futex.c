/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: format 3.0 futex waiting across processes.
 *  - A consumer process sleeps in xs_spsc_pop_block() / xs_mpmc_pop_block()
 *    (checked: registered in `waiters` and in state S); a producer process
 *    joins, publishes, and immediately stops itself (raise(SIGSTOP)) or
 *    exits (_exit): the sleeper must still get the item. SPSC with one
 *    sleeper; MPMC with two sleepers and two items (each publication wakes
 *    min(waiters, n)). The liveness bound is generous (20 s): this checks
 *    that the wake happens at all, not how fast.
 *  - Timeouts: an empty queue returns -ETIMEDOUT and leaves `waiters` at 0,
 *    in format 3.0 (futex) and 2.0 (short sleeps: no waiters line).
 *  - A sleeping consumer whose producer writes an impossible cursor returns
 *    the queue's error instead of sleeping on.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/mpmc.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

#define LIVE_S 20

struct elem16 {
	uint64_t a, b;
};

static uint64_t hdr_u64(int fd, off_t off)
{
	uint64_t v;

	T_EQ(pread(fd, &v, 8, off), 8);
	return v;
}

/* State letter of process @p pid ('S' sleeping, 'R' running, ...). */
static char proc_state(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Wait until @p n consumers are registered in the waiters count at @p off and
 * every one of @p pids is asleep. */
static void wait_sleepers(int fd, off_t off, const pid_t *pids, int n)
{
	uint64_t deadline = t_now_ns() + (uint64_t)LIVE_S * 1000000000ull;

	for (;;) {
		int asleep = 0;

		for (int i = 0; i < n; i++)
			asleep += proc_state(pids[i]) == 'S';
		if (hdr_u64(fd, off) == (uint64_t)n && asleep == n)
			return;
		T_ASSERT(t_now_ns() < deadline, "(waiters %llu, %d of %d asleep)",
			 (unsigned long long)hdr_u64(fd, off), asleep, n);
		usleep(1000);
	}
}

/* Reap @p pid within the liveness bound; returns its exit status (fails on a signal). */
static int reap(pid_t pid, const char *what)
{
	uint64_t deadline = t_now_ns() + (uint64_t)LIVE_S * 1000000000ull;
	int st;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		T_ASSERT(w >= 0);
		if (w == pid)
			break;
		if (t_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			t_fail(__FILE__, __LINE__, "%s: still blocked after %d s: the wake was lost",
			       what, LIVE_S);
		}
		usleep(1000);
	}
	T_ASSERT(WIFEXITED(st), "(%s: status 0x%x)", what, st);
	return WEXITSTATUS(st);
}

/* The producer child: join, publish k (1 or 2 items), then stop or exit at once. */
static pid_t spawn_producer(int fd, enum xs_shaq_kind kind, int items, int stop)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid)
		return pid;
	for (int i = 0; i < items; i++) {
		struct elem16 e = { 0x1234 + (uint64_t)i, 0x5678 };
		int rc;

		if (kind == XS_SHAQ_SPSC) {
			struct xs_spsc p;

			if (xs_spsc_join(&p, fd, 16, 8, XS_SHAQ_3_0, XS_SPSC_PRODUCER) < 0)
				_exit(10);
			rc = xs_spsc_try_push(&p, &e);
		} else {
			struct xs_mpmc p;

			if (xs_mpmc_join(&p, fd, 16, 8, XS_SHAQ_3_0, XS_MPMC_PRODUCER) < 0)
				_exit(10);
			rc = xs_mpmc_try_push(&p, &e);
		}
		if (rc)
			_exit(11);
	}
	/* published: now vanish without doing anything else */
	if (stop)
		raise(SIGSTOP);
	_exit(0);
}

static pid_t spawn_consumer(int fd, enum xs_shaq_kind kind)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid)
		return pid;
	{
		struct elem16 e;
		uint64_t timeout = (uint64_t)LIVE_S * 2 * 1000000000ull; /* never the limit */
		int rc;

		if (kind == XS_SHAQ_SPSC) {
			struct xs_spsc q;

			if (xs_spsc_join(&q, fd, 16, 8, XS_SHAQ_ANY, XS_SPSC_CONSUMER) < 0)
				_exit(10);
			rc = xs_spsc_pop_block(&q, &e, timeout);
		} else {
			struct xs_mpmc q;

			if (xs_mpmc_join(&q, fd, 16, 8, XS_SHAQ_ANY, XS_MPMC_CONSUMER) < 0)
				_exit(10);
			rc = xs_mpmc_pop_block(&q, &e, timeout);
		}
		if (rc)
			_exit(12);
		_exit(e.a >= 0x1234 && e.a < 0x1236 && e.b == 0x5678 ? 0 : 13);
	}
}

static void wake_after_publish(enum xs_shaq_kind kind, int stop)
{
	int nc = kind == XS_SHAQ_SPSC ? 1 : 2;
	const struct xs_shaq_fmt *f = xs_shaq_fmt_get(XS_SHAQ_3_0);
	size_t size = xs_shaq_min_file_size(XS_SHAQ_3_0, kind, 8, 16, 8);
	int fd = xs_memfd_create("xs-test-futex", 0);
	pid_t cons[2], prod;
	char what[96];

	T_OK(fd);
	snprintf(what, sizeof(what), "%s consumer(s), producer %s after publishing",
		 kind == XS_SHAQ_SPSC ? "spsc" : "mpmc", stop ? "SIGSTOPped" : "exited");
	if (kind == XS_SHAQ_SPSC) {
		struct xs_spsc c;

		T_OK(xs_spsc_create(&c, fd, size, 16, 8, XS_SHAQ_3_0, XS_SPSC_CONSUMER));
		xs_spsc_close(&c);
	} else {
		struct xs_mpmc c;

		T_OK(xs_mpmc_create(&c, fd, size, 16, 8, XS_SHAQ_3_0, XS_MPMC_CONSUMER));
		xs_mpmc_close(&c);
	}
	for (int i = 0; i < nc; i++)
		cons[i] = spawn_consumer(fd, kind);
	wait_sleepers(fd, f->waiters[kind], cons, nc);
	prod = spawn_producer(fd, kind, nc, stop);
	for (int i = 0; i < nc; i++)
		T_EQ(reap(cons[i], what), 0);
	T_EQ(hdr_u64(fd, f->waiters[kind]), 0); /* both unregistered */
	if (stop) {
		int st;

		kill(prod, SIGKILL);
		T_EQ(waitpid(prod, &st, 0), prod);
	} else {
		T_EQ(reap(prod, "producer"), 0);
	}
	close(fd);
	printf("woken: %s\n", what);
}

static void timeouts(void)
{
	for (int fmt = XS_SHAQ_2_0; fmt <= XS_SHAQ_3_0; fmt++) {
		uint8_t *mem = aligned_alloc(4096, 4096);
		struct xs_spsc p, q;
		struct xs_mpmc mp, mq;
		struct elem16 e = { 1, 2 };
		uint64_t t0;

		T_ASSERT(mem != NULL);
		memset(mem, 0, 4096);
		T_OK(xs_spsc_attach_mem(&p, mem, 1024, 16, 8, (enum xs_shaq_format)fmt,
					XS_SPSC_PRODUCER, 1));
		T_OK(xs_spsc_attach_mem(&q, mem, 1024, 16, 8, XS_SHAQ_ANY, XS_SPSC_CONSUMER, 0));
		t0 = t_now_ns();
		T_ERR(xs_spsc_pop_block(&q, &e, 30000000ull), -ETIMEDOUT);
		T_ASSERT(t_now_ns() - t0 >= 30000000ull, "(returned before its timeout)");
		T_ASSERT(xs_spsc_wait_block(&q, 0) == NULL);
		if (fmt == XS_SHAQ_3_0)
			T_EQ(*q.waiters, 0);
		T_ERR(xs_spsc_pop_block(&p, &e, 1000), -XS_EQ_ROLE);
		T_OK(xs_spsc_try_push(&p, &e));
		T_OK(xs_spsc_pop_block(&q, &e, 0)); /* there: no wait at all */
		/* a producer that writes an impossible cursor ends the sleep with the error */
		__atomic_store_n(q.wr, 100, __ATOMIC_RELEASE);
		T_ASSERT(xs_spsc_wait_block(&q, 10000000000ull) == NULL);
		T_ERR(xs_spsc_error(&q), -XS_EQ_CORRUPT);
		T_ERR(xs_spsc_pop_block(&q, &e, 1000), -XS_EQ_CORRUPT);

		memset(mem, 0, 4096);
		T_OK(xs_mpmc_attach_mem(&mp, mem, 2048, 16, 8, (enum xs_shaq_format)fmt,
					XS_MPMC_PRODUCER, 1));
		T_OK(xs_mpmc_attach_mem(&mq, mem, 2048, 16, 8, XS_SHAQ_ANY, XS_MPMC_CONSUMER, 0));
		T_ERR(xs_mpmc_pop_block(&mq, &e, 30000000ull), -ETIMEDOUT);
		if (fmt == XS_SHAQ_3_0)
			T_EQ(*mq.waiters, 0);
		T_OK(xs_mpmc_try_push(&mp, &e));
		T_OK(xs_mpmc_pop_block(&mq, &e, 0));
		__atomic_store_n(mq.peer, 1000, __ATOMIC_RELEASE); /* publication far past the ring */
		T_ERR(xs_mpmc_pop_block(&mq, &e, 10000000000ull), -XS_EQ_CORRUPT);
		free(mem);
	}
	printf("timeouts and errors while sleeping: formats 2.0 and 3.0\n");
}

int main(void)
{
	int fds = t_fd_count();

	timeouts();
	wake_after_publish(XS_SHAQ_SPSC, 1);
	wake_after_publish(XS_SHAQ_SPSC, 0);
	wake_after_publish(XS_SHAQ_MPMC, 1);
	wake_after_publish(XS_SHAQ_MPMC, 0);
	T_EQ(t_fd_count(), fds);
	return 0;
}
