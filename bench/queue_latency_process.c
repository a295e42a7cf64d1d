/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched_pingpong_process: round trip between two processes whose queues
 * come from a real handshake, as in production.
 *
 *   parent (validator side)  xs_hs_server_listen + xs_hs_server_serve: creates
 *                            the session objects, keeps the worker ends:
 *                            consumer of pack_to_worker, producer of
 *                            worker_to_pack; echoes every batch back.
 *   child (scheduler side)   xs_hs_connect with one worker: producer of
 *                            pack_to_worker, consumer of worker_to_pack;
 *                            sends a batch, waits for its result, times it.
 *
 * Messages are the protocol's own (PackToWorkerMessage 32 bytes out,
 * WorkerToPackMessage 40 bytes back), built whole in the slot as a typed
 * scheduler does; --msg-size does not apply. The child records round trips
 * into a histogram in a shared anonymous mapping the parent reads after it
 * exits. Each side runs as an lthread on a pinned reactor of its process.
 * Receivers wait as cfg->paced says (poll + relax, or xs_spsc_wait()).
 */
#include "queue_latency.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xsched/handshake.h"
#include "xsched/msg.h"

/* Shared between the two processes (MAP_SHARED | MAP_ANONYMOUS). */
struct xp_shared {
	struct bench_barrier bar;
	int child_err;       /* 0, or the child's negative error */
	int child_done;      /* child finished its loop (or gave up) */
	pid_t parent;        /* the benchmark (the child dies with it) */
	uint64_t errors;     /* sequence mismatches seen by the child */
	char child_msg[256]; /* what failed in the child */
	struct bench_hist hist; /* .b points at buckets[] (same address in both) */
	uint64_t buckets[BENCH_HIST_BUCKETS];
};

/* Poll @p q until an item comes (cfg->paced: xs_spsc_wait()), giving up
 * after about @p max_polls empty polls (0: never) or when the queue is
 * corrupt. */
static inline const void *xp_recv(struct xs_spsc *q, int paced, uint32_t max_polls)
{
	const void *slot;
	uint32_t polls = 0;

	if (paced)
		return xs_spsc_wait(q, max_polls);
	while (!(slot = xs_spsc_poll(q))) {
		if (XS_UNLIKELY(xs_spsc_error(q)) || (max_polls && ++polls >= max_polls))
			return NULL;
		bench_relax();
	}
	return slot;
}

struct xp_side {
	const struct ql_cfg *c;
	struct xp_shared *sh;
	struct xs_spsc *tx, *rx;
	pid_t child; /* parent: the child to watch while waiting */
	int err;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Child: pack. Sends a batch reference, waits for the worker's answer. */
static void *xp_initiator(void *arg)
{
	struct xp_side *s = arg;
	const struct ql_cfg *c = s->c;
	uint64_t i, err = 0;
	struct bench_window w;

	bench_barrier_wait(&s->sh->bar);
	bench_window_start(&w, c->warmup, c->iters, c->duration_s);
	for (i = 0;; i++) {
		const struct xs_worker_to_pack *back;
		struct xs_pack_to_worker *out;
		uint64_t t0, t1, last = w.done; /* after the last sample: the stop message */

		t0 = bench_ticks();
		while (!(out = xs_pack_to_worker_reserve(s->tx))) {
			if (XS_UNLIKELY(xs_spsc_error(s->tx)))
				goto corrupt;
			bench_relax();
		}
		/* Whole-struct assignment: padding zeroed, copy of a constant size. */
		*out = (struct xs_pack_to_worker){
			.flags = last ? XS_PACK_CHECK : XS_PACK_EXECUTE,
			.max_working_slot = last ? QL_STOP : i,
			.batch = {.num_transactions = 1, .transactions_offset = i},
		};
		xs_spsc_commit(s->tx);
		if (last)
			break;
		back = (const struct xs_worker_to_pack *)xp_recv(s->rx, c->paced, 0);
		if (XS_UNLIKELY(!back))
			goto corrupt;
		err += back->batch.transactions_offset != i || back->processed_code != XS_PROCESSED;
		xs_spsc_finalize(s->rx);
		t1 = bench_ticks();
		if (bench_window_step(&w, i, t1))
			bench_hist_record(&s->sh->hist, t1 - t0);
	}
	s->sh->errors = err;
	return NULL;
corrupt:
	s->sh->child_err = -XS_EQ_CORRUPT;
	snprintf(s->sh->child_msg, sizeof(s->sh->child_msg), "%s", xs_errmsg());
	return NULL;
}

/* Parent: a banking worker. Echoes each batch as processed. */
static void *xp_echo(void *arg)
{
	struct xp_side *s = arg;

	bench_barrier_wait(&s->sh->bar);
	for (;;) {
		const struct xs_pack_to_worker *in;
		struct xs_worker_to_pack *out;
		struct xs_batch_region batch;
		int stop;

		/* Wait in slices of 2^20 empty polls: between them, is the
		 * scheduler still there? */
		while (!(in = (const struct xs_pack_to_worker *)xp_recv(s->rx, s->c->paced,
									     1u << 20))) {
			if (XS_UNLIKELY(xs_spsc_error(s->rx))) {
				s->err = -XS_EQ_CORRUPT;
				return NULL;
			}
			if (__atomic_load_n(&s->sh->child_done, __ATOMIC_ACQUIRE) ||
			    waitpid(s->child, NULL, WNOHANG) == s->child) {
				s->err = -ECHILD;
				return NULL;
			}
		}
		batch = in->batch;
		stop = in->max_working_slot == QL_STOP;
		xs_spsc_finalize(s->rx);
		if (stop)
			return NULL;
		while (!(out = xs_worker_to_pack_reserve(s->tx))) {
			if (XS_UNLIKELY(xs_spsc_error(s->tx))) {
				s->err = -XS_EQ_CORRUPT;
				return NULL;
			}
			bench_relax();
		}
		*out = (struct xs_worker_to_pack){
			.batch = batch,
			.processed_code = XS_PROCESSED,
			.responses = {.tag = XS_RESP_EXECUTION, .num_transaction_responses = 1},
		};
		xs_spsc_commit(s->tx);
	}
}

static struct xs_logon xp_logon(const struct ql_cfg *c)
{
	struct xs_logon lg = {
		.worker_count = 1,
		.allocator_size = 8ull * 1024 * 1024, /* smallest useful rts-alloc file */
		.allocator_handles = 1,
		.tpu_to_pack_capacity = 64,
		.progress_tracker_capacity = 64,
		.pack_to_worker_capacity = c->capacity,
		.worker_to_pack_capacity = c->capacity,
		.units = XS_LOGON_ITEMS,
	};
	return lg;
}

static void xp_child(const struct ql_cfg *c, const char *path, struct xp_shared *sh)
{
	struct xs_hs_client_opts co;
	struct xs_logon lg = xp_logon(c);
	struct xs_session *sess = NULL;
	struct xp_side side;
	int rc;

	/* A parent that dies must not leave this process spinning on a queue
	 * nobody answers any more. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != sh->parent)
		_exit(1);
	memset(&co, 0, sizeof(co));
	co.path = path;
	co.timeout_ns = 5000000000ull;
	rc = xs_hs_connect(&co, &lg, &sess);
	if (rc < 0) {
		sh->child_err = rc;
		snprintf(sh->child_msg, sizeof(sh->child_msg), "xs_hs_connect: %s (%s)",
			 xs_strerror(rc), xs_errmsg());
		__atomic_store_n(&sh->child_done, 1, __ATOMIC_RELEASE);
		_exit(1);
	}
	memset(&side, 0, sizeof(side));
	side.c = c;
	side.sh = sh;
	side.tx = &sess->workers[0].pack_to_worker;
	side.rx = &sess->workers[0].worker_to_pack;
	rc = bench_run_one(c->cpu_a, 0, xp_initiator, &side);
	if (rc < 0 && !sh->child_err) {
		sh->child_err = rc;
		snprintf(sh->child_msg, sizeof(sh->child_msg), "reactor: %s (%s)", xs_strerror(rc),
			 xs_errmsg());
	}
	xs_session_close(sess);
	/* Release: the histogram written above is visible to the parent's
	 * Acquire (it also waits for our exit, a stronger edge). */
	__atomic_store_n(&sh->child_done, 1, __ATOMIC_RELEASE);
	_exit(sh->child_err ? 1 : 0);
}

static int xp_pingpong(const struct ql_cfg *c, struct bench_hist *h, struct ql_result *r)
{
	struct xs_hs_server_opts so;
	struct xs_hs_server *srv = NULL;
	struct xs_vsession *vs = NULL;
	struct xp_shared *sh;
	struct xp_side side;
	char path[108];
	pid_t child;
	int rc, status = 0;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -errno;
	memset(sh, 0, sizeof(*sh));
	bench_barrier_init(&sh->bar, 2);
	sh->parent = getpid();
	sh->hist.b = sh->buckets;
	sh->hist.min = UINT64_MAX;

	snprintf(path, sizeof(path), "/tmp/xsched-ql-%d.sock", (int)getpid());
	unlink(path);
	memset(&so, 0, sizeof(so));
	so.path = path;
	so.replace_stale = 1;
	so.huge = c->huge ? XS_HS_HUGE_AUTO : XS_HS_HUGE_NEVER;
	rc = xs_hs_server_listen(&so, &srv);
	if (rc < 0) {
		snprintf(r->note, sizeof(r->note), "xs_hs_server_listen(%s): %s (%s)", path,
			 xs_strerror(rc), xs_errmsg());
		munmap(sh, sizeof(*sh));
		return rc;
	}
	fflush(NULL);
	child = fork();
	if (child < 0) {
		rc = -errno;
		goto out;
	}
	if (child == 0)
		xp_child(c, path, sh); /* never returns */

	rc = xs_hs_server_serve(srv, mono_ns() + 5000000000ull, &vs);
	if (rc < 0) {
		snprintf(r->note, sizeof(r->note), "handshake failed: %s (%.60s)%s%.60s",
			 xs_strerror(rc), xs_errmsg(), sh->child_msg[0] ? "; child: " : "",
			 sh->child_msg);
		kill(child, SIGKILL);
		goto reap;
	}
	memset(&side, 0, sizeof(side));
	side.c = c;
	side.sh = sh;
	side.rx = &vs->workers[0].pack_to_worker;
	side.tx = &vs->workers[0].worker_to_pack;
	side.child = child;
	r->huge = vs->num_huge ? "yes" : "no";
	rc = bench_run_one(c->cpu_b, 1, xp_echo, &side);
	if (rc < 0) {
		snprintf(r->note, sizeof(r->note), "worker reactor: %s (%s)", xs_strerror(rc),
			 xs_errmsg());
		kill(child, SIGKILL);
	} else if (side.err) {
		rc = side.err;
		snprintf(r->note, sizeof(r->note), "worker side: %s%s%.100s", xs_strerror(rc),
			 sh->child_msg[0] ? "; child: " : "", sh->child_msg);
		kill(child, SIGKILL); /* it may wait forever for an answer */
	}
reap:
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!rc && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		rc = sh->child_err ? sh->child_err : -ECHILD;
		snprintf(r->note, sizeof(r->note), "scheduler process failed (status 0x%x): %.110s",
			 status, sh->child_msg[0] ? sh->child_msg : "no message");
	}
	if (!rc) {
		bench_hist_merge(h, &sh->hist);
		r->errors += sh->errors;
	}
out:
	xs_vsession_close(vs);
	xs_hs_server_close(srv);
	munmap(sh, sizeof(*sh));
	return rc;
}

const struct ql_transport ql_xsched_process = {
	"xsched_pingpong_process",
	"xsched round trip between two processes, queues from a real handshake "
	"(pack_to_worker 32 B out, worker_to_pack 40 B back)",
	xp_pingpong, NULL};
