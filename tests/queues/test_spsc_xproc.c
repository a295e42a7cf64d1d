/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: cross-process stress of the SPSC queue. The queue lives in a
 * memfd shared by fork(); each process maps it itself (different addresses).
 * Both directions: the parent creates and produces while the child joins and
 * consumes, and the child creates and produces (announcing it through a
 * pipe) while the parent joins and consumes. Sequence numbers and checksums
 * (stress_elem.h) prove nothing is lost, duplicated, reordered or torn,
 * across wrap-around and at the full/empty edges (capacities 1, 2, 8, 4096),
 * in the four shaq formats (3.0 with consumers sleeping on the futex, woken
 * by the producer process). Bounded by count and time; a child that hangs is
 * killed and the test fails.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress_elem.h"
#include "xsched/msg.h"
#include "xsched/shm.h"

#if defined(XS_SANITIZER)
#define MAX_ITEMS 50000
#else
#define MAX_ITEMS 200000
#endif
#define BUDGET_MS 1500
#define HARD_S 60

struct xp_conf {
	size_t esz;
	uint64_t cap;
	int pm, cm;
	enum xs_shaq_format fmt;
};

static const struct xp_conf confs[] = {
	{ sizeof(struct xs_tpu_to_pack), 8, SP_RESERVE, SC_READ, XS_SHAQ_1_0 },
	{ sizeof(struct xs_progress), 1, SP_PUSH, SC_POP, XS_SHAQ_1_0 },
	{ 24, 4096, SP_BURST, SC_BURST, XS_SHAQ_0_2 },
	{ 16, 2, SP_BURST, SC_POLL, XS_SHAQ_0_2 },
	{ 40, 64, SP_BURST, SC_READ, XS_SHAQ_2_0 },
	{ 16, 8, SP_PUSH, SC_POP, XS_SHAQ_2_0 },
	{ 24, 1024, SP_RESERVE, SC_BLOCK, XS_SHAQ_3_0 }, /* futex sleeps across processes */
	{ 16, 4, SP_PUSH, SC_BLOCK, XS_SHAQ_3_0 },
	{ 32, 16, SP_BURST, SC_BURST, XS_SHAQ_3_0 },
};
#define NCONF (sizeof(confs) / sizeof(confs[0]))

static void run_setup(struct se_run *r, const struct xp_conf *c, struct xs_spsc *q, int producer,
		      uint64_t budget_ns, const char *name, int idx)
{
	uint64_t now = t_now_ns();

	memset(r, 0, sizeof(*r));
	r->q = q;
	r->esz = c->esz;
	r->cap = c->cap;
	r->mode = producer ? c->pm : c->cm;
	r->max_items = MAX_ITEMS;
	r->min_items = 4 * c->cap + 64;
	r->deadline_ns = now + budget_ns;
	r->hard_ns = now + (uint64_t)HARD_S * 1000000000ull;
	r->salt = se_mix(0x1234u + (uint64_t)idx);
	r->seed = (uint64_t)idx * 31 + (uint64_t)producer + 1;
	r->name = name;
}

/* Wait for the child, killing it at the hard deadline. Returns its items count
 * (sent through @p rfd) and fails unless it exited 0. */
static uint64_t reap(pid_t pid, int rfd, const char *name)
{
	uint64_t deadline = t_now_ns() + (uint64_t)HARD_S * 1000000000ull, items = 0;
	int st;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);

		T_ASSERT(w >= 0);
		if (w == pid)
			break;
		if (t_now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			t_fail(__FILE__, __LINE__, "%s: child hung, killed", name);
		}
		usleep(1000);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		t_fail(__FILE__, __LINE__, "%s: child failed (status 0x%x)", name, st);
	T_EQ(read(rfd, &items, sizeof(items)), sizeof(items));
	return items;
}

static void child_report(int wfd, uint64_t items)
{
	if (write(wfd, &items, sizeof(items)) != (ssize_t)sizeof(items))
		_exit(2);
	_exit(0);
}

/* direction 0: parent creates + produces, child joins + consumes;
 * direction 1: child creates + produces, parent joins + consumes. */
static uint64_t run(const struct xp_conf *c, int dir, int idx, uint64_t budget_ns)
{
	size_t size = xs_shaq_min_file_size(c->fmt, XS_SHAQ_SPSC, c->cap, c->esz, 8);
	int fd = xs_memfd_create("xs-test-xproc", 0), pfd[2];
	struct xs_spsc q;
	struct se_run r;
	char name[160];
	uint64_t child_items;
	pid_t pid;

	T_OK(fd);
	T_ASSERT(pipe(pfd) == 0);
	snprintf(name, sizeof(name), "elem %zu cap %llu, %s %s -> %s %s, format %s", c->esz,
		 (unsigned long long)c->cap, dir ? "child" : "parent", se_prod_name[c->pm],
		 dir ? "parent" : "child", se_cons_name[c->cm], xs_shaq_format_name(c->fmt));
	if (dir == 0) {
		T_OK(xs_spsc_create(&q, fd, size, c->esz, 8, c->fmt, XS_SPSC_PRODUCER));
		fflush(NULL);
		pid = fork();
		T_ASSERT(pid >= 0);
		if (pid == 0) {
			struct xs_spsc cq;

			close(pfd[0]);
			xs_spsc_close(&q); /* the child's copy of the parent's mapping */
			T_OK(xs_spsc_join(&cq, fd, c->esz, 8, c->fmt, XS_SPSC_CONSUMER));
			run_setup(&r, c, &cq, 0, budget_ns, name, idx);
			se_consumer(&r);
			xs_spsc_close(&cq);
			child_report(pfd[1], r.items);
		}
		close(pfd[1]);
		run_setup(&r, c, &q, 1, budget_ns, name, idx);
		se_producer(&r);
		child_items = reap(pid, pfd[0], name);
	} else {
		uint8_t ready;

		fflush(NULL);
		pid = fork();
		T_ASSERT(pid >= 0);
		if (pid == 0) {
			struct xs_spsc pq;

			close(pfd[0]);
			T_OK(xs_spsc_create(&pq, fd, size, c->esz, 8, c->fmt, XS_SPSC_PRODUCER));
			if (write(pfd[1], "R", 1) != 1) /* the file is initialised */
				_exit(2);
			run_setup(&r, c, &pq, 1, budget_ns, name, idx);
			se_producer(&r);
			xs_spsc_close(&pq);
			child_report(pfd[1], r.items);
		}
		close(pfd[1]);
		T_EQ(read(pfd[0], &ready, 1), 1);
		T_OK(xs_spsc_join(&q, fd, c->esz, 8, c->fmt, XS_SPSC_CONSUMER));
		run_setup(&r, c, &q, 0, budget_ns, name, idx);
		se_consumer(&r);
		child_items = reap(pid, pfd[0], name);
	}
	T_EQ(r.items, child_items);
	T_ASSERT(r.items >= 4 * c->cap + 64);
	T_EQ(xs_spsc_capacity(&q), c->cap);
	xs_spsc_close(&q);
	close(pfd[0]);
	close(fd);
	return r.items;
}

int main(void)
{
	uint64_t budget_ns = (uint64_t)BUDGET_MS * 1000000 / (2 * NCONF), total = 0;
	uint64_t t0 = t_now_ns();
	int fds = t_fd_count();
	size_t i;
	int dir;

	for (i = 0; i < NCONF; i++)
		for (dir = 0; dir < 2; dir++)
			total += run(&confs[i], dir, (int)(2 * i) + dir, budget_ns);
	T_EQ(t_fd_count(), fds);
	printf("test_spsc_xproc: %zu runs, %llu elements across processes in %.2f s\n", 2 * NCONF,
	       (unsigned long long)total, (double)(t_now_ns() - t0) / 1e9);
	return 0;
}
