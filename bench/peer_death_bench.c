/* SPDX-License-Identifier: Apache-2.0 */
/*
 * peer_death_bench: how long after kill -9 of the peer a process notices it.
 *
 * A child process (the "peer") is killed with SIGKILL; the time from the
 * kill() call to each observer is one sample. The kernel reports an exit
 * only after it has torn down the process's memory, so with --child-mib N
 * (N MiB of touched private memory) every row, the floor included, grows by
 * that teardown; the default 0 measures the notification path alone.
 *
 *   floor_waitid     the parent blocked in waitid(WEXITED|WNOWAIT): the
 *                    kernel's own exit notification, the earliest anyone can
 *                    know (baseline of the same run, measured before and
 *                    after each watcher row; ratios are against those two)
 *   pidfd_flag       xsched's watcher (pidfd in epoll, one thread) sets the
 *                    peer's dead flag; a thread spinning on xs_peer_alive()
 *                    as a lightweight thread would sees it
 *   pidfd_callback   the watcher's callback runs (stamped inside it)
 *   poll_2ms_flag    the fallback without pidfd_open: /proc polled every 2 ms
 *
 * Target (issue 8): detection under 10 ms. Nothing is asserted.
 *
 * Usage: peer_death_bench [--child-mib N] [--quick]
 *                         [harness options: --iters N --duration S --format json ...]
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "xsched/guard.h"

/* Bound of one detection: past it the watcher is broken, not slow. */
#define DETECT_LIMIT_S 10

struct cfg {
	unsigned child_mib;
	int quick;
	/* [0] housekeeping: this process between samples, the peers (forked
	 * from it) and the watcher thread (created from it); [1] the spinning
	 * "lightweight thread". -1: not pinned (one usable CPU). */
	int cpu[2];
};

static int on_extra(void *ctx, int opt, const char *arg)
{
	struct cfg *c = ctx;

	switch (opt) {
	case 'M':
		c->child_mib = (unsigned)strtoul(arg, NULL, 10);
		if (c->child_mib > 4096) {
			bench_opt_error("--child-mib", "'%s': at most 4096", arg);
			return -1;
		}
		return 0;
	case 'Q':
		c->quick = 1;
		return 0;
	default:
		return -1;
	}
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* the clock of xs_peer_dead_ns() */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A peer: touch its memory, say so, wait to be killed. */
static pid_t spawn_peer(unsigned mib)
{
	int ready[2];
	pid_t pid;
	char ch = 0;

	if (pipe(ready) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		size_t len = (size_t)mib << 20;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (len) {
			uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

			if (p != MAP_FAILED)
				memset(p, 1, len);
		}
		if (write(ready[1], &ch, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (pid > 0 && read(ready[0], &ch, 1) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(ready[0]);
	return pid;
}

static void on_dead(void *arg, struct xs_peer *p)
{
	(void)p;
	/* Ordering: Release pairs with the Acquire load of the sampler. */
	__atomic_store_n((uint64_t *)arg, mono_ns(), __ATOMIC_RELEASE);
}

enum kind { K_FLOOR, K_PIDFD, K_POLL };

/* One row's samples. K_PIDFD also fills @p cb (callback latency). */
static int measure(enum kind k, const struct cfg *c, int iters, int warmup, double max_s,
		   struct bench_hist *h, struct bench_hist *cb)
{
	struct xs_peer_watcher *w = NULL;
	uint64_t deadline = bench_deadline(max_s);
	int i, rc;

	bench_hist_reset(h);
	if (cb)
		bench_hist_reset(cb);
	/* As guard.h advises: the watcher is created from a housekeeping CPU,
	 * away from the busy poller, so its wake-up never waits for a tick. */
	if (c->cpu[0] >= 0)
		bench_pin_self(c->cpu[0]);
	if (k != K_FLOOR) {
		rc = xs_peer_watcher_create(&w, k == K_POLL ? XS_PEER_FORCE_POLL : XS_PEER_REQUIRE_PIDFD,
					    2);
		if (rc < 0)
			return rc;
	}
	for (i = 0; i < warmup + iters; i++) {
		uint64_t t0, t1, k_ns, give_up, stamp = 0;
		struct xs_peer p;
		pid_t pid;

		if (i >= warmup + 3 && bench_expired(deadline))
			break;
		pid = spawn_peer(c->child_mib);
		if (pid < 0) {
			rc = -errno;
			goto out;
		}
		if (k == K_FLOOR) {
			siginfo_t si;

			t0 = bench_ticks();
			kill(pid, SIGKILL);
			waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
			t1 = bench_ticks();
		} else {
			memset(&p, 0, sizeof(p));
			rc = xs_peer_watch(w, &p, pid, on_dead, &stamp);
			if (rc < 0) {
				kill(pid, SIGKILL);
				waitpid(pid, NULL, 0);
				goto out;
			}
			if (c->cpu[1] >= 0)
				bench_pin_self(c->cpu[1]); /* the poller's own CPU */
			k_ns = mono_ns();
			t0 = bench_ticks();
			kill(pid, SIGKILL);
			give_up = bench_deadline(DETECT_LIMIT_S);
			while (xs_peer_alive(&p) && !bench_expired(give_up)) /* the lthread's view */
				bench_relax();
			t1 = bench_ticks();
			while (!__atomic_load_n(&stamp, __ATOMIC_ACQUIRE) && !bench_expired(give_up))
				bench_relax();
			if (!__atomic_load_n(&stamp, __ATOMIC_ACQUIRE)) {
				/* never noticed: a broken watcher must not hang the run */
				rc = xs_seterr(-ETIMEDOUT, "peer %d killed, not reported within %d s "
					       "(%s)", (int)pid, DETECT_LIMIT_S,
					       xs_peer_alive(&p) ? "flag still clear" : "no callback");
				xs_peer_unwatch(w, &p); /* the callback cannot run after this */
				waitpid(pid, NULL, 0);
				goto out;
			}
			if (i >= warmup && cb)
				bench_hist_record(cb, bench_ns_to_ticks((double)(stamp - k_ns)));
			xs_peer_unwatch(w, &p);
			if (c->cpu[0] >= 0)
				bench_pin_self(c->cpu[0]); /* next peer forks from housekeeping */
		}
		waitpid(pid, NULL, 0);
		if (i >= warmup)
			bench_hist_record(h, t1 - t0);
	}
	rc = 0;
out:
	xs_peer_watcher_destroy(w);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option extra[] = {
		{"child-mib", required_argument, NULL, 'M'},
		{"quick", no_argument, NULL, 'Q'},
		{NULL, 0, NULL, 0},
	};
	struct cfg c = {.child_mib = 0, .cpu = {-1, -1}};
	struct bench_hist h, cb;
	struct bench_report rep;
	struct bench_opts o;
	struct bench_row rows[4];
	double floors[3];
	char hdr[200];
	int rc, iters, warmup, nrows = 0, npidfd;
	double max_s;

	bench_opts_defaults(&o);
	o.iters = 200;
	rc = bench_opts_parse(&o, argc, argv, extra, on_extra, &c);
	if (rc == 1) {
		printf("usage: %s [--child-mib N] [--quick] [options]\n"
		       "  --child-mib N   memory the killed peer holds (default 0: the watcher alone)\n"
		       "  --quick         5 samples per row (CI smoke run)\n",
		       argv[0]);
		bench_opts_usage(stdout);
		return 0;
	}
	if (rc < 0)
		return 2;
	bench_clock_init(o.clock_force_monotonic);
	iters = c.quick ? 5 : (int)(o.iters > 10000 ? 10000 : o.iters);
	warmup = c.quick ? 1 : iters / 10 + 1;
	max_s = c.quick ? 0.5 : (o.duration_s > 0 ? o.duration_s * 3 : 3);
	snprintf(hdr, sizeof(hdr),
		 "kill -9 of a peer holding %u MiB -> noticed; %d samples per row; target < 10 ms",
		 c.child_mib, iters);
	if ((rc = bench_report_begin(&rep, &o, "peer_death_bench", hdr)) < 0) {
		fprintf(stderr, "peer_death_bench: %s (%s)\n", xs_strerror(rc), xs_errmsg());
		return 1;
	}
	if (bench_hist_init(&h) < 0 || bench_hist_init(&cb) < 0)
		return 1;
	{
		char why[160];

		if (bench_plan(&rep.topo, "core", c.cpu, why, sizeof(why)) < 0) {
			c.cpu[0] = c.cpu[1] = -1;
			bench_report_note(&rep, "process", NULL, 0,
					  "%sunpinned (the poller and the watcher may share a CPU): %s",
					  o.format == BENCH_TABLE ? "# " : "", why);
		}
	}

	/* Each row sits between two floors measured just before and after it:
	 * floor, pidfd rows, floor, polling row, floor. */
	bench_progress(&rep, 1, 5, "floor_waitid");
	if ((rc = measure(K_FLOOR, &c, iters, warmup, max_s, &h, NULL)) < 0)
		goto fail;
	floors[0] = bench_ticks_to_ns(bench_hist_percentile(&h, 50));
	bench_row_latency(&rows[nrows], "floor_waitid", "process", NULL, 0, &h);
	bench_row_floor(&rows[nrows], "floor_waitid", floors[0], floors[0]); /* itself */
	bench_row_wait(&rows[nrows], BENCH_WAIT_BLOCK); /* in waitid() */
	nrows++;

	bench_progress(&rep, 2, 5, "pidfd");
	rc = measure(K_PIDFD, &c, iters, warmup, max_s, &h, &cb);
	if (rc < 0) {
		bench_row_skipped(&rows[nrows++], BENCH_LATENCY, "pidfd_flag", "process", NULL, 0,
				  xs_strerror(rc));
	} else {
		bench_row_latency(&rows[nrows], "pidfd_flag", "process", NULL, 0, &h);
		bench_row_wait(&rows[nrows++], BENCH_WAIT_POLL_RELAX); /* spins on the flag */
		bench_row_latency(&rows[nrows], "pidfd_callback", "process", NULL, 0, &cb);
		bench_row_wait(&rows[nrows++], BENCH_WAIT_BLOCK); /* the watcher in epoll */
	}
	npidfd = nrows;

	bench_progress(&rep, 3, 5, "floor_waitid");
	if ((rc = measure(K_FLOOR, &c, iters, warmup, max_s, &h, NULL)) < 0)
		goto fail;
	floors[1] = bench_ticks_to_ns(bench_hist_percentile(&h, 50));

	bench_progress(&rep, 4, 5, "poll_2ms_flag");
	rc = measure(K_POLL, &c, iters, warmup, max_s, &h, NULL);
	if (rc < 0) {
		bench_row_skipped(&rows[nrows++], BENCH_LATENCY, "poll_2ms_flag", "process", NULL, 0,
				  xs_strerror(rc));
	} else {
		bench_row_latency(&rows[nrows], "poll_2ms_flag", "process", NULL, 0, &h);
		bench_row_wait(&rows[nrows++], BENCH_WAIT_POLL_RELAX); /* spins on the flag */
	}

	bench_progress(&rep, 5, 5, "floor_waitid");
	if ((rc = measure(K_FLOOR, &c, iters, warmup, max_s, &h, NULL)) < 0)
		goto fail;
	floors[2] = bench_ticks_to_ns(bench_hist_percentile(&h, 50));
	bench_progress(&rep, 0, 0, NULL);

	bench_report_section(&rep, "baseline: the kernel's exit notification to the parent");
	bench_report_row(&rep, &rows[0]);
	bench_report_section(&rep, "xsched peer watcher (kill -> noticed)");
	for (int i = 1; i < nrows; i++) {
		if (!rows[i].skipped) {
			/* pidfd rows: floors 0 and 1; the polling row: floors 1 and 2 */
			int f = i < npidfd ? 0 : 1;

			/* the kernel's own notification: nobody learns earlier */
			bench_row_floor_bound(&rows[i], "floor_waitid", floors[f], floors[f + 1]);
			bench_row_num(&rows[i], "child_mib", c.child_mib);
			bench_row_num(&rows[i], "target_ns", 10e6);
		}
		bench_report_row(&rep, &rows[i]);
	}
	if (!rows[1].skipped)
		bench_report_note(&rep, "process", NULL, 0,
				  "pidfd: p50 %.3f ms, p99 %.3f ms, max %.3f ms after kill() "
				  "(target < 10 ms); %.2f x the kernel's own notification",
				  rows[1].p50_ns / 1e6, rows[1].p99_ns / 1e6, rows[1].max_ns / 1e6,
				  rows[1].ratio_to_floor);
	bench_hist_free(&h);
	bench_hist_free(&cb);
	return bench_report_end(&rep) < 0 ? 1 : 0;
fail:
	fprintf(stderr, "peer_death_bench: %s (%s)\n", xs_strerror(rc), xs_errmsg());
	return 1;
}
