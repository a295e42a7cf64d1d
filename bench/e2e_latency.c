/* SPDX-License-Identifier: Apache-2.0 */
/*
 * e2e_latency: end-to-end figures of a scheduler session.
 *
 * Latency (one transaction in flight at a time, over a real handshake's
 * shared memory, each side an lthread on its own pinned reactor):
 *
 *   validator side (cpu a)               scheduler side (cpu b)
 *   t0  allocate a transaction, write
 *       t0 into it, push TpuToPack  --->  read it, allocate a batch array,
 *                                         push PackToWorker
 *   t1  worker receives the batch   <---
 *       e2e_tpu_to_worker = t1 - t0
 *       allocate a response, push
 *       WorkerToPack                --->  t2  response received, free all
 *                                         e2e_tpu_to_response = t2 - t0
 *
 * Both rows carry the bare cache-line ping-pong between the same two CPUs,
 * measured just before and just after, as their floor (ratio_to_floor = how
 * many hardware round trips the path costs). t0 travels inside the
 * transaction; the clock is the invariant TSC (or CLOCK_MONOTONIC_RAW), the
 * same on every CPU.
 *
 * Throughput: the operator tools themselves, xsched-mockval and xsched-sched
 * in two processes (4 workers, 256-byte transactions, batches of 64,
 * --txs transactions, every payload checked), with packed placement
 * ("packed": both processes plan on every allowed CPU) and split over the
 * CPUs ("split": mockval on the first, sched on the second). The row is the
 * validator's count from first send to last answer. Upstream's pair moved
 * 1 M transactions at 717 k tx/s on its 2-core reference VM: printed apart,
 * labelled "quoted, another machine", never divided by (it cannot be re-run
 * here).
 *
 * Waiting: the latency sides spin as a reactor polls (poll, one
 * bench_relax() when empty: "poll_relax"); the tools run their lthreads in
 * reactors ("reactor").
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "xsched/alloc.h"
#include "xsched/handshake.h"
#include "xsched/msg.h"

#define QUOTED_UPSTREAM_TX_PER_S 717000.0 /* upstream pair, 1 M tx, its 2-core reference VM */

struct e2e_shared {
	struct bench_barrier bar;
	uint64_t iters, warmup;
	uint64_t done;  /* iterations the scheduler side finished (atomic) */
	int abort;      /* a side failed: the other stops waiting (atomic) */
	uint64_t deadline;
	struct bench_hist to_worker, to_response;
	uint64_t errors;
	char why[160];
};

struct e2e_val {
	struct e2e_shared *sh;
	struct xs_vsession *vs;
};

struct e2e_sch {
	struct e2e_shared *sh;
	struct xs_session *s;
};

static void fail(struct e2e_shared *sh, const char *what, int rc)
{
	snprintf(sh->why, sizeof(sh->why), "%s: %s", what, xs_strerror(rc));
	__atomic_store_n(&sh->abort, 1, __ATOMIC_RELEASE);
}

/* Spin until @p cond or abort / deadline. @return 0 when cond became true. */
#define SPIN_UNTIL(sh, cond)                                                        \
	({                                                                          \
		int r_ = 0;                                                         \
		while (!(cond)) {                                                   \
			if (__atomic_load_n(&(sh)->abort, __ATOMIC_ACQUIRE) ||      \
			    bench_expired((sh)->deadline)) {                        \
				r_ = -ETIMEDOUT;                                    \
				break;                                              \
			}                                                           \
			bench_relax();                                              \
		}                                                                   \
		r_;                                                                 \
	})

static void *validator_side(void *arg)
{
	struct e2e_val *v = arg;
	struct e2e_shared *sh = v->sh;
	struct xs_vsession *vs = v->vs;
	struct xs_spsc *p2w = &vs->workers[0].pack_to_worker, *w2p = &vs->workers[0].worker_to_pack;
	const struct xs_pack_to_worker *req;
	uint64_t n = sh->warmup + sh->iters;

	bench_barrier_wait(&sh->bar);
	for (uint64_t i = 0; i < n; i++) {
		struct xs_tpu_to_pack *m;
		struct xs_worker_to_pack *out;
		struct xs_exec_resp *resp;
		uint64_t off, roff, t0, t1;
		uint8_t *p;
		int rc;

		if ((i & 63) == 0) {
			xs_alloc_clean_remote(vs->tpu_alloc);
			xs_alloc_clean_remote(vs->worker_allocs[0]);
		}
		if ((rc = xs_alloc_alloc_offset(vs->tpu_alloc, 256, &off)) < 0) {
			fail(sh, "validator: allocate a transaction", rc);
			break;
		}
		p = xs_alloc_ptr(vs->tpu_alloc, off);
		memset(p, 0, 256);
		memcpy(p + 8, &i, 8);
		if (SPIN_UNTIL(sh, (m = xs_tpu_to_pack_reserve(&vs->tpu_to_pack)) != NULL) < 0)
			break;
		memset(m, 0, sizeof(*m));
		m->transaction.offset = off;
		m->transaction.length = 256;
		t0 = bench_ticks();
		memcpy(p, &t0, 8);
		xs_spsc_commit(&vs->tpu_to_pack);

		if (SPIN_UNTIL(sh, (req = xs_pack_to_worker_poll(p2w)) != NULL) < 0)
			break;
		t1 = bench_ticks();
		if (i >= sh->warmup)
			bench_hist_record(&sh->to_worker, t1 - t0);
		if (req->batch.num_transactions != 1)
			sh->errors++;
		if ((rc = xs_alloc_alloc_offset(vs->worker_allocs[0], sizeof(*resp), &roff)) < 0) {
			fail(sh, "validator: allocate a response", rc);
			break;
		}
		resp = xs_alloc_ptr(vs->worker_allocs[0], roff);
		memset(resp, 0, sizeof(*resp));
		resp->cost_units = 300;
		if (SPIN_UNTIL(sh, (out = xs_worker_to_pack_reserve(w2p)) != NULL) < 0)
			break;
		memset(out, 0, sizeof(*out));
		out->batch = req->batch;
		out->processed_code = XS_PROCESSED;
		out->responses.tag = XS_RESP_EXECUTION;
		out->responses.num_transaction_responses = 1;
		out->responses.transaction_responses_offset = roff;
		xs_spsc_finalize(p2w);
		xs_spsc_commit(w2p);
		/* one transaction in flight: wait for the scheduler to finish it */
		if (SPIN_UNTIL(sh, __atomic_load_n(&sh->done, __ATOMIC_ACQUIRE) == i + 1) < 0)
			break;
	}
	return NULL;
}

static void *scheduler_side(void *arg)
{
	struct e2e_sch *c = arg;
	struct e2e_shared *sh = c->sh;
	struct xs_session *s = c->s;
	struct xs_alloc *a = s->allocs[0];
	struct xs_spsc *p2w = &s->workers[0].pack_to_worker, *w2p = &s->workers[0].worker_to_pack;
	uint64_t n = sh->warmup + sh->iters;

	bench_barrier_wait(&sh->bar);
	for (uint64_t i = 0; i < n; i++) {
		const struct xs_tpu_to_pack *m;
		const struct xs_worker_to_pack *back;
		struct xs_pack_to_worker *req;
		struct xs_tx_region *arr;
		uint64_t boff, t0, t2, seq, offs[3];
		void *tx;
		int rc;

		if (SPIN_UNTIL(sh, (m = xs_tpu_to_pack_poll(&s->tpu_to_pack)) != NULL) < 0)
			break;
		if ((rc = xs_alloc_check(a, m->transaction.offset, m->transaction.length, &tx)) < 0) {
			fail(sh, "scheduler: transaction region", rc);
			break;
		}
		memcpy(&t0, tx, 8);
		memcpy(&seq, (uint8_t *)tx + 8, 8);
		if (seq != i)
			sh->errors++;
		if ((rc = xs_alloc_alloc_offset(a, sizeof(*arr), &boff)) < 0) {
			fail(sh, "scheduler: allocate a batch array", rc);
			break;
		}
		arr = xs_alloc_ptr(a, boff);
		memset(arr, 0, sizeof(*arr));
		arr->offset = m->transaction.offset;
		arr->length = m->transaction.length;
		if (SPIN_UNTIL(sh, (req = xs_pack_to_worker_reserve(p2w)) != NULL) < 0)
			break;
		memset(req, 0, sizeof(*req));
		req->flags = XS_PACK_EXECUTE;
		req->max_working_slot = UINT64_MAX;
		req->batch.num_transactions = 1;
		req->batch.transactions_offset = boff;
		xs_spsc_commit(p2w);
		offs[0] = m->transaction.offset;
		xs_spsc_finalize(&s->tpu_to_pack);

		if (SPIN_UNTIL(sh, (back = xs_worker_to_pack_poll(w2p)) != NULL) < 0)
			break;
		t2 = bench_ticks();
		if (i >= sh->warmup)
			bench_hist_record(&sh->to_response, t2 - t0);
		if (back->batch.transactions_offset != boff || back->processed_code != XS_PROCESSED)
			sh->errors++;
		offs[1] = back->responses.transaction_responses_offset;
		offs[2] = boff;
		xs_spsc_finalize(w2p);
		if ((rc = xs_alloc_free_offsets(a, offs, 3)) < 0) {
			fail(sh, "scheduler: free", rc);
			break;
		}
		__atomic_store_n(&sh->done, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* ------------------------------------------------------------ session */

struct connect_arg {
	const char *path;
	struct xs_session *s;
	int rc;
};

static void *connect_thread(void *arg)
{
	struct connect_arg *c = arg;
	struct xs_hs_client_opts co;
	struct xs_logon logon;

	memset(&logon, 0, sizeof(logon));
	logon.worker_count = 1;
	logon.allocator_size = 32ull << 20;
	logon.allocator_handles = 1;
	logon.tpu_to_pack_capacity = 1024;
	logon.progress_tracker_capacity = 64;
	logon.pack_to_worker_capacity = 64;
	logon.worker_to_pack_capacity = 64;
	logon.units = XS_LOGON_ITEMS;
	memset(&co, 0, sizeof(co));
	co.path = c->path;
	co.timeout_ns = 5000000000ull;
	c->rc = xs_hs_connect(&co, &logon, &c->s);
	return NULL;
}

static int make_session(const char *path, struct xs_vsession **vs, struct xs_session **s)
{
	struct xs_hs_server_opts so;
	struct xs_hs_server *srv;
	struct connect_arg ca = {.path = path};
	pthread_t th;
	int rc;

	memset(&so, 0, sizeof(so));
	so.path = path;
	so.replace_stale = 1;
	if ((rc = xs_hs_server_listen(&so, &srv)) < 0)
		return rc;
	if ((rc = pthread_create(&th, NULL, connect_thread, &ca)) != 0) {
		xs_hs_server_close(srv);
		return -rc;
	}
	rc = xs_hs_server_serve(srv, bench_mono_ns() + 5000000000ull, vs);
	pthread_join(th, NULL);
	xs_hs_server_close(srv);
	if (rc < 0 || ca.rc < 0) {
		xs_vsession_close(rc < 0 ? NULL : *vs);
		xs_session_close(ca.rc < 0 ? NULL : ca.s);
		return rc < 0 ? rc : ca.rc;
	}
	*s = ca.s;
	return 0;
}

/* ------------------------------------------------------- tool throughput */

struct e2e_cfg {
	uint64_t txs;
	const char *mockval, *sched;
};


/*
 * One mockval + sched run. @return tx/s (validator side), or a negative
 * error with @p why filled.
 */
static double tools_run(const struct e2e_cfg *cfg, const char *dir, const char *mv_cpus,
			const char *sc_cpus, double *sched_tx_s, uint64_t *mismatches, char *why,
			size_t whylen)
{
	char sock[512], mv_out[512], sc_out[512], txs[32];
	pid_t mv, sc;
	int st_mv = -1, st_sc = -1, rc;
	struct stat stb;

	snprintf(sock, sizeof(sock), "%s/e2e.sock", dir);
	snprintf(mv_out, sizeof(mv_out), "%s/mockval.json", dir);
	snprintf(sc_out, sizeof(sc_out), "%s/sched.json", dir);
	snprintf(txs, sizeof(txs), "%llu", (unsigned long long)cfg->txs);
	unlink(sock);
	char *mv_argv[] = {(char *)cfg->mockval, (char *)"--socket", sock, (char *)"--txs", txs,
			   (char *)"--tx-size", (char *)"256", (char *)"--placement",
			   (char *)"packed", (char *)"--accept-timeout", (char *)"20000",
			   (char *)"--timeout", (char *)"120000", (char *)"--format", (char *)"json",
			   mv_cpus ? (char *)"--use-housekeeping" : NULL, (char *)"--cpus",
			   (char *)mv_cpus, NULL};
	char *sc_argv[] = {(char *)cfg->sched, (char *)"--socket", sock, (char *)"--workers",
			   (char *)"4", (char *)"--batch", (char *)"64", (char *)"--placement",
			   (char *)"packed", (char *)"--run-timeout", (char *)"120000",
			   (char *)"--format", (char *)"json",
			   sc_cpus ? (char *)"--use-housekeeping" : NULL, (char *)"--cpus",
			   (char *)sc_cpus, NULL};

	if ((rc = bench_spawn_tool(mv_argv, mv_out, &mv)) < 0) {
		snprintf(why, whylen, "cannot start %s", cfg->mockval);
		return rc;
	}
	for (int i = 0; i < 10000 && stat(sock, &stb) != 0; i++)
		usleep(1000);
	if ((rc = bench_spawn_tool(sc_argv, sc_out, &sc)) < 0) {
		kill(mv, SIGTERM);
		waitpid(mv, NULL, 0);
		snprintf(why, whylen, "cannot start %s", cfg->sched);
		return rc;
	}
	waitpid(sc, &st_sc, 0);
	waitpid(mv, &st_mv, 0);
	*sched_tx_s = bench_json_num(sc_out, "tx_per_s");
	*mismatches = (uint64_t)bench_json_num(mv_out, "mismatches");
	if (!WIFEXITED(st_mv) || WEXITSTATUS(st_mv) || !WIFEXITED(st_sc) || WEXITSTATUS(st_sc)) {
		snprintf(why, whylen, "mockval exit %d, sched exit %d",
			 WIFEXITED(st_mv) ? WEXITSTATUS(st_mv) : -1,
			 WIFEXITED(st_sc) ? WEXITSTATUS(st_sc) : -1);
		return -EPROTO;
	}
	return bench_json_num(mv_out, "tx_per_s");
}

static int on_extra(void *ctx, int opt, const char *arg)
{
	struct e2e_cfg *cfg = ctx;
	char *end;

	switch (opt) {
	case BENCH_OPT_USER:
		cfg->txs = strtoull(arg, &end, 10);
		if (*end == 'k' || *end == 'K')
			cfg->txs *= 1000, end++;
		else if (*end == 'M')
			cfg->txs *= 1000000, end++;
		if (*end || cfg->txs == 0) {
			bench_opt_error("--txs", "'%s' is not a count", arg);
			return -1;
		}
		return 0;
	case BENCH_OPT_USER + 1:
		cfg->mockval = arg;
		return 0;
	case BENCH_OPT_USER + 2:
		cfg->sched = arg;
		return 0;
	}
	return -1;
}

static void usage(void)
{
	printf("Usage: e2e_latency [OPTION]...\n"
	       "End-to-end latency of a session (TPU push -> worker, -> response) and the\n"
	       "throughput of xsched-mockval + xsched-sched.\n\n"
	       "  --txs N          transactions per tool run (default 1M; 100k, 1M accepted)\n"
	       "  --mockval PATH   xsched-mockval binary (default: the one built with this)\n"
	       "  --sched PATH     xsched-sched binary\n");
	bench_opts_usage(stdout);
}

int main(int argc, char **argv)
{
	static const struct option extra[] = {
		{"txs", required_argument, NULL, BENCH_OPT_USER},
		{"mockval", required_argument, NULL, BENCH_OPT_USER + 1},
		{"sched", required_argument, NULL, BENCH_OPT_USER + 2},
		{NULL, 0, NULL, 0},
	};
	struct e2e_cfg cfg = {.txs = 1000000};
	struct bench_opts o;
	struct bench_report rep;
	struct bench_hist floor1, floor2;
	struct e2e_shared *sh;
	struct xs_vsession *vs = NULL;
	struct xs_session *s = NULL;
	char why[256], tmpl[] = "/tmp/xs-e2e-XXXXXX", path[512], hdr[128];
	int cpus[2], rc, quoted = 0;
	double f1, f2;

#ifdef XS_MOCKVAL_PATH
	cfg.mockval = XS_MOCKVAL_PATH;
	cfg.sched = XS_SCHED_PATH;
#endif
	bench_opts_defaults(&o);
	rc = bench_opts_parse(&o, argc, argv, extra, on_extra, &cfg);
	if (rc == 1) {
		usage();
		return 0;
	}
	if (rc < 0)
		return 2;
	{
		static const char *const rows[] = {"floor_pingpong", "e2e_tpu_to_worker",
						   "e2e_tpu_to_response", "mockval_sched_packed",
						   "mockval_sched_split"};

		if (bench_only_check(&o, rows, 5) < 0)
			return 2;
	}
	bench_clock_init(o.clock_force_monotonic);
	snprintf(hdr, sizeof(hdr), "tools: 4 workers, 256-byte transactions, batch 64, %llu tx",
		 (unsigned long long)cfg.txs);
	if ((rc = bench_report_begin(&rep, &o, "e2e_latency", hdr)) < 0) {
		fprintf(stderr, "e2e_latency: %s\n", xs_errmsg());
		return 1;
	}
	if (!mkdtemp(tmpl)) {
		perror("e2e_latency: mkdtemp");
		return 1;
	}
	if (!bench_selected(&o, "e2e_tpu_to_worker") && !bench_selected(&o, "e2e_tpu_to_response"))
		goto tools;
	if (bench_plan(&rep.topo, "core", cpus, why, sizeof(why)) < 0) {
		struct bench_row r;

		bench_row_skipped(&r, BENCH_LATENCY, "e2e_tpu_to_worker", "core", NULL, 0, why);
		bench_report_row(&rep, &r);
		goto tools;
	}

	/* ---- latency, between the floors */
	sh = calloc(1, sizeof(*sh));
	if (!sh || bench_hist_init(&floor1) || bench_hist_init(&floor2) ||
	    bench_hist_init(&sh->to_worker) || bench_hist_init(&sh->to_response)) {
		fprintf(stderr, "e2e_latency: out of memory\n");
		return 1;
	}
	bench_report_section(&rep, "latency (one transaction in flight)");
	bench_floor_pingpong(cpus[0], cpus[1], o.iters, o.duration_s, &floor1);
	snprintf(path, sizeof(path), "%s/lat.sock", tmpl);
	if ((rc = make_session(path, &vs, &s)) < 0) {
		struct bench_row r;

		snprintf(why, sizeof(why), "handshake failed: %s", xs_strerror(rc));
		bench_row_skipped(&r, BENCH_LATENCY, "e2e_tpu_to_worker", "core", cpus, 2, why);
		bench_report_row(&rep, &r);
	} else {
		struct e2e_val va = {.sh = sh, .vs = vs};
		struct e2e_sch sa = {.sh = sh, .s = s};
		struct bench_row r1, r2;

		sh->iters = o.iters;
		sh->warmup = o.iters / 10 < 100 ? 100 : o.iters / 10;
		sh->deadline = bench_deadline(o.duration_s * 20 + 10);
		bench_barrier_init(&sh->bar, 2);
		rc = bench_run_pair(cpus[0], validator_side, &va, cpus[1], scheduler_side, &sa);
		bench_floor_pingpong(cpus[0], cpus[1], o.iters, o.duration_s, &floor2);
		f1 = bench_hist_percentile(&floor1, 50);
		f2 = bench_hist_percentile(&floor2, 50);
		if (rc < 0 || sh->abort) {
			snprintf(why, sizeof(why), "%s", rc < 0 ? xs_strerror(rc) : sh->why);
			bench_row_skipped(&r1, BENCH_LATENCY, "e2e_tpu_to_worker", "core", cpus, 2, why);
			bench_report_row(&rep, &r1);
		} else {
			struct bench_row fr;

			/* the floor the rows are divided by, before and after together */
			bench_hist_merge(&floor1, &floor2);
			bench_row_latency(&fr, "floor_pingpong", "core", cpus, 2, &floor1);
			bench_row_floor(&fr, "floor_pingpong", fr.p50_ns, fr.p50_ns); /* itself */
			bench_row_wait(&fr, BENCH_WAIT_POLL_RELAX);
			bench_row_str(&fr, "what", "bare cache-line ping-pong, one flag each way");
			bench_report_row(&rep, &fr);
			bench_row_latency(&r1, "e2e_tpu_to_worker", "core", cpus, 2, &sh->to_worker);
			/* two hops each way at least: the bare round trip bounds it */
			bench_row_floor_bound(&r1, "floor_pingpong", bench_ticks_to_ns(f1),
					      bench_ticks_to_ns(f2));
			bench_row_wait(&r1, BENCH_WAIT_POLL_RELAX);
			r1.errors = (int)sh->errors;
			bench_report_row(&rep, &r1);
			bench_row_latency(&r2, "e2e_tpu_to_response", "core", cpus, 2,
					  &sh->to_response);
			bench_row_floor_bound(&r2, "floor_pingpong", bench_ticks_to_ns(f1),
					      bench_ticks_to_ns(f2));
			bench_row_wait(&r2, BENCH_WAIT_POLL_RELAX);
			r2.errors = (int)sh->errors;
			bench_report_row(&rep, &r2);
		}
		xs_session_close(s);
		xs_vsession_close(vs);
	}
	bench_hist_free(&floor1);
	bench_hist_free(&floor2);
	bench_hist_free(&sh->to_worker);
	bench_hist_free(&sh->to_response);
	free(sh);

tools:
	/* ---- throughput of the operator tools */
	if (bench_selected(&o, "mockval_sched_packed") || bench_selected(&o, "mockval_sched_split"))
		bench_report_section(&rep, "throughput (xsched-mockval + xsched-sched, two "
				     "processes)");
	for (int k = 0; k < 2; k++) {
		const char *name = k ? "mockval_sched_split" : "mockval_sched_packed";
		char c0[16], c1[16];
		struct bench_row r;
		double tx_s, sched_tx_s = 0;
		uint64_t mism = 0;
		int tc[2] = {-1, -1};

		if (!bench_selected(&o, name))
			continue;
		if (!cfg.mockval || access(cfg.mockval, X_OK) || access(cfg.sched, X_OK)) {
			bench_row_skipped(&r, BENCH_THROUGHPUT, name, "process", NULL, 0,
					  "tools not built (XS_BUILD_TOOLS=OFF); give --mockval/--sched");
			bench_report_row(&rep, &r);
			continue;
		}
		if (k == 1) {
			if (rep.topo.ncpus < 2) {
				bench_row_skipped(&r, BENCH_THROUGHPUT, name, "process", NULL, 0,
						  "needs two CPUs");
				bench_report_row(&rep, &r);
				continue;
			}
			tc[0] = rep.topo.cpu[0];
			tc[1] = rep.topo.cpu[1];
			snprintf(c0, sizeof(c0), "%d", tc[0]);
			snprintf(c1, sizeof(c1), "%d", tc[1]);
		}
		tx_s = tools_run(&cfg, tmpl, k ? c0 : NULL, k ? c1 : NULL, &sched_tx_s, &mism, why,
				 sizeof(why));
		if (tx_s <= 0) {
			bench_row_skipped(&r, BENCH_THROUGHPUT, name, "process", NULL, 0, why);
			bench_report_row(&rep, &r);
			continue;
		}
		bench_row_throughput(&r, name, "process", k ? tc : NULL, k ? 2 : 0, tx_s);
		bench_row_num(&r, "txs", (double)cfg.txs);
		bench_row_num(&r, "tx_bytes", 256);
		bench_row_num(&r, "workers", 4);
		bench_row_num(&r, "batch", 64);
		bench_row_num(&r, "sched_tx_per_s", sched_tx_s);
		bench_row_wait(&r, BENCH_WAIT_REACTOR);
		r.errors = (int)mism;
		bench_report_row(&rep, &r);
		quoted = 1;
	}
	if (quoted)
		bench_report_quoted(&rep, "upstream mockval + scheduler pair, 1 M tx:",
				    QUOTED_UPSTREAM_TX_PER_S, "tx/s",
				    "issue text, upstream's 2-core reference VM, not re-run here");
	snprintf(path, sizeof(path), "%s/lat.sock", tmpl);
	unlink(path);
	snprintf(path, sizeof(path), "%s/e2e.sock", tmpl);
	unlink(path);
	for (int k = 0; k < 4; k++) {
		snprintf(path, sizeof(path), "%s/%s%s", tmpl, k & 1 ? "sched.json" : "mockval.json",
			 k & 2 ? ".err" : "");
		unlink(path);
	}
	rmdir(tmpl);
	return bench_report_end(&rep) < 0 ? 1 : 0;
}
