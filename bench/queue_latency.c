/* SPDX-License-Identifier: Apache-2.0 */
/*
 * queue_latency: how far the xsched queues are from what this machine
 * allows, and how they compare with what one could have used instead.
 *
 * For each placement (two CPUs: SMT siblings, two cores of one node, two
 * nodes; or --cpus A,B):
 *
 *   latency: first the floors, in --rounds rounds of three adjacent
 *   measurements: floor_pingpong (one flag each way, one cache line per
 *   direction), floor_slot_pingpong and floor_slot_pingpong_touch (the queue
 *   format's own floor: a slot then a counter each way; the second with the
 *   receiver touching the next slot's line while it waits). Then every row
 *   in --rounds segments, each segment bracketed by short measurements of
 *   the three floors. A row's ratio to a floor is the median over its
 *   segments of (segment p50 / mean of the floors just before and just
 *   after it), printed with the smallest and largest of those per-pair
 *   ratios. Two floors: "flag" and "format" (per round, the faster of the
 *   two slot variants). A median below 1 means the floor did not bound the
 *   row in this run: it is flagged "floor unreliable", never reported as a
 *   result.
 *
 *   throughput: likewise, every row's trials interleaved with trials of the
 *   streaming floor (an ideal ring of the same message size, batches of 64).
 *
 * Every receiver waits the same way unless the row's name ends in _paced:
 * poll, and one xs_cpu_relax() when nothing is there, as the runtime's
 * reactor does between rounds with --pace 0 (JSON "wait":"poll_relax"). The
 * _paced rows give every queue the pacing of xs_spsc_wait(), which is also
 * what the reactor does by default (--pace 64: after k items, the first idle
 * round pauses min(k, 64) times). Blocking baselines block; the _rt rows run
 * inside reactors with the runtime's defaults ("reactor").
 *
 * Then the targets of the queues are computed from the rows of the run and
 * reported (never asserted).
 */
#include "queue_latency.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsched/common.h"

int ql_peer_burst = 1;

/* ------------------------------------------------------------ run glue */

int ql_run_pingpong(const struct ql_cfg *c, void *pair, void *(*fa)(void *),
		    void *(*fb)(void *), struct bench_hist *h, struct ql_result *r)
{
	struct ql_run run;
	int rc;

	memset(&run, 0, sizeof(run));
	bench_barrier_init(&run.bar, 2);
	run.pair = pair;
	run.cfg = c;
	run.hist = h;
	rc = bench_run_pair(c->cpu_a, fa, &run, c->cpu_b, fb, &run);
	r->errors += run.errors;
	r->negative += run.negative;
	return rc;
}

struct stream_glue {
	struct ql_run run;
	void *(*fa)(void *), *(*fb)(void *);
	const struct ql_cfg *c;
};

/* A trial's deadline: four times its planned length (at least 50 ms). */
uint64_t ql_trial_deadline(const struct ql_cfg *c)
{
	double s = 4 * c->trial_s;

	return bench_deadline(s < 0.05 ? 0.05 : s);
}

/* Seconds @p n messages took, from a trial that moved @p done of them (cut
 * short): bench_trials() divides n by it, which gives the measured rate. */
double ql_trial_seconds(uint64_t t_start, uint64_t t_end, uint64_t n, uint64_t done)
{
	double s = bench_ticks_to_ns((double)(t_end - t_start)) / 1e9;

	return done && done < n ? s * (double)n / (double)done : s;
}

static double stream_trial(void *p, uint64_t n)
{
	struct stream_glue *g = p;
	int rc;

	bench_barrier_init(&g->run.bar, 2);
	g->run.n = n;
	g->run.t_start = g->run.t_end = 0;
	g->run.cut = UINT64_MAX;
	g->run.deadline = ql_trial_deadline(g->c);
	rc = bench_run_pair(g->c->cpu_a, g->fa, &g->run, g->c->cpu_b, g->fb, &g->run);
	if (rc)
		return rc;
	return ql_trial_seconds(g->run.t_start, g->run.t_end, n, g->run.cut);
}

int ql_run_stream(const struct ql_cfg *c, void *pair, void *(*fa)(void *), void *(*fb)(void *),
		  double *msgs_per_s, struct ql_result *r)
{
	struct stream_glue g;
	double rate;

	memset(&g, 0, sizeof(g));
	g.run.pair = pair;
	g.run.cfg = c;
	g.fa = fa;
	g.fb = fb;
	g.c = c;
	rate = bench_trials(stream_trial, &g, c->trials, c->trial_s, 0, &r->best);
	r->errors += g.run.errors;
	if (rate < 0)
		return (int)rate;
	*msgs_per_s = rate;
	return 0;
}

const struct ql_loops *ql_find_loops(const struct ql_loops *table, const struct ql_cfg *c,
				     const char *peer, struct ql_result *r)
{
	const struct ql_loops *l;

	for (l = table; l->size; l++)
		if (l->size == c->msg_size)
			return l;
	snprintf(r->note, sizeof(r->note),
		 "%s is compiled for 8..64, 128 and 256-byte messages, not %zu", peer, c->msg_size);
	return NULL;
}

ql_side_fn ql_stream_consumer(const struct ql_loops *l, struct ql_result *r)
{
	int burst = ql_peer_burst && l->stb_b;

	r->consumer = burst ? "burst64" : "single";
	return burst ? l->stb_b : l->st_b;
}

/* ------------------------------------------------------------ the rows */

/* floor_stream_b1: the ideal ring publishing (and releasing) every message,
 * the limit for streaming with a commit per message. */
static int floor_b1_stream(const struct ql_cfg *c, double *rate, struct ql_result *r)
{
	double v = bench_floor_stream_wait(c->cpu_a, c->cpu_b, c->msg_size, c->capacity, 1,
					   c->paced, c->trials, c->trial_s);

	(void)r;
	if (v < 0)
		return (int)v;
	*rate = v;
	return 0;
}

static const struct ql_transport ql_floor_b1 = {
	"floor_stream_b1", "ideal ring publishing every message (limit for a commit per message)",
	NULL, floor_b1_stream};

/* A row: its name, what it measures, how its receiver waits. */
struct ql_row {
	const char *name;
	const struct ql_transport *t; /* NULL: not built */
	const char *missing;          /* not built: why */
	int paced;                    /* the *_paced variant */
	const char *wait;             /* fixed waiting (baselines block); NULL: from paced */
};

#define NOT_BUILT(what) "not built (" what " not found when CMake configured xsched; " \
			"install it and reconfigure)"

/* transport, missing */
#ifdef QL_HAVE_BOOST
#define QL_BOOST &ql_boost, NULL
#else
#define QL_BOOST NULL, NOT_BUILT("libboost-dev (boost/lockfree/spsc_queue.hpp) or a C++ compiler")
#endif
#ifdef QL_HAVE_CK
#define QL_CK &ql_ck, NULL
#else
#define QL_CK NULL, NOT_BUILT("libck-dev (ck_ring.h)")
#endif
#ifdef QL_HAVE_DPDK
#define QL_DPDK &ql_dpdk, NULL
#else
#define QL_DPDK NULL, NOT_BUILT("libdpdk-dev (pkg-config libdpdk)")
#endif
#ifdef QL_HAVE_PROCESS
#define QL_PROCESS &ql_xsched_process, NULL
#else
#define QL_PROCESS NULL, NOT_BUILT("the handshake module")
#endif

static const struct ql_row lat_rows[] = {
	{"xsched_pingpong_thread", &ql_xsched_thread, NULL, 0, NULL},
	{"xsched_pingpong_process", QL_PROCESS, 0, NULL},
	{"xsched_pingpong_rt", &ql_xsched_rt, NULL, 0, BENCH_WAIT_REACTOR},
	{"xsched_oneway", &ql_xsched_oneway, NULL, 0, NULL},
	{"boost_spsc", QL_BOOST, 0, NULL},
	{"ck_ring", QL_CK, 0, NULL},
	{"dpdk_ring", QL_DPDK, 0, NULL},
	{"xsched_pingpong_thread_paced", &ql_xsched_thread, NULL, 1, NULL},
	{"boost_spsc_paced", QL_BOOST, 1, NULL},
	{"ck_ring_paced", QL_CK, 1, NULL},
	{"dpdk_ring_paced", QL_DPDK, 1, NULL},
	{"pipe", &ql_pipe, NULL, 0, BENCH_WAIT_BLOCK},
	{"socketpair", &ql_socketpair, NULL, 0, BENCH_WAIT_BLOCK},
	{"eventfd", &ql_eventfd, NULL, 0, BENCH_WAIT_BLOCK},
	{"mutex_condvar", &ql_mutex, NULL, 0, BENCH_WAIT_BLOCK},
};

static const struct ql_row tp_rows[] = {
	{"floor_stream_b1", &ql_floor_b1, NULL, 0, NULL},
	{"floor_stream_b1_paced", &ql_floor_b1, NULL, 1, NULL},
	{"xsched_stream_b1", &ql_xsched_b1, NULL, 0, NULL},
	{"xsched_stream_b8", &ql_xsched_b8, NULL, 0, NULL},
	{"xsched_stream_b64", &ql_xsched_b64, NULL, 0, NULL},
	{"xsched_stream_rt", &ql_xsched_rt, NULL, 0, BENCH_WAIT_REACTOR},
	{"boost_spsc", QL_BOOST, 0, NULL},
	{"ck_ring", QL_CK, 0, NULL},
	{"dpdk_ring", QL_DPDK, 0, NULL},
	{"xsched_stream_b1_paced", &ql_xsched_b1, NULL, 1, NULL},
	{"boost_spsc_paced", QL_BOOST, 1, NULL},
	{"ck_ring_paced", QL_CK, 1, NULL},
	{"dpdk_ring_paced", QL_DPDK, 1, NULL},
	{"pipe", &ql_pipe, NULL, 0, BENCH_WAIT_BLOCK},
	{"socketpair", &ql_socketpair, NULL, 0, BENCH_WAIT_BLOCK},
	{"eventfd", &ql_eventfd, NULL, 0, BENCH_WAIT_BLOCK},
	{"mutex_condvar", &ql_mutex, NULL, 0, BENCH_WAIT_BLOCK},
};

#define NLAT ((int)(sizeof(lat_rows) / sizeof(lat_rows[0])))
#define NTP  ((int)(sizeof(tp_rows) / sizeof(tp_rows[0])))

/* The floor rows, always measured. */
static const char *const floor_rows[] = {"floor_pingpong", "floor_slot_pingpong",
					 "floor_slot_pingpong_touch", "floor_stream"};
#define NFLOOR 4
#define FMT_FLOOR_NAME "floor_slot_pingpong,floor_slot_pingpong_touch"

static const char *row_what(const struct ql_row *r)
{
	return r->t ? r->t->what : r->missing;
}

static const char *row_wait(const struct ql_row *r, const struct ql_result *res)
{
	if (r->wait)
		return r->wait;
	if (res && res->wait)
		return res->wait;
	return r->paced ? BENCH_WAIT_PACED : BENCH_WAIT_POLL_RELAX;
}

/* ------------------------------------------------------------- options */

struct ql_opts {
	struct bench_opts b;
	size_t msg_size;
	uint32_t capacity;
	int trials; /* rounds: latency segments and throughput trials per row */
	double gap_ns;
	int huge;
	int list;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: queue_latency [options]\n"
		"Measures the xsched SPSC queues against two floors of this machine (a flag\n"
		"ping-pong, and the queue format's own: a slot and a counter each way), the\n"
		"peers built in (Boost.Lockfree, ck_ring, DPDK rte_ring) and the system\n"
		"baselines (pipe, socketpair, eventfd, mutex+condvar): round trip, one way,\n"
		"streaming, and both ends inside the runtime's reactors. Every row runs between\n"
		"the same two pinned CPUs, every receiver waits the same way (poll, one pause\n"
		"when empty: a reactor with --pace 0; *_paced rows: the pacing of xs_spsc_wait(),\n"
		"the reactor's default, for every queue), and each row is measured in rounds\n"
		"interleaved with its floors.\n\n"
		"queue_latency options:\n"
		"  --msg-size N        message bytes, multiple of 8, 8..1024 (default 40 =\n"
		"                      TpuToPackMessage); peers are compiled for 8..64, 128, 256\n"
		"  --capacity N        ring slots, power of two (default 1024)\n"
		"  --rounds N          rounds per row, interleaved with the floors: latency\n"
		"                      segments and throughput trials (default 5; --trials is\n"
		"                      the same option)\n"
		"  --gap-ns N          one-way row: send period in ns (default 1000)\n"
		"  --no-huge           do not try huge pages for the xsched queues\n"
		"  --peer-consumer burst|single  streaming peers with a burst dequeue (Boost\n"
		"                      pop(T*, n), DPDK dequeue_burst) take up to 64 messages per\n"
		"                      release, as the xsched consumer does (default burst), or\n"
		"                      one message per release (single); ck_ring has no burst\n"
		"  --list              list the rows and exit\n");
	bench_opts_usage(f);
	fprintf(f, "Rows: see --list and bench/README.md.\n");
}

enum {
	OPT_MSG_SIZE = BENCH_OPT_USER,
	OPT_CAPACITY,
	OPT_TRIALS,
	OPT_GAP,
	OPT_NO_HUGE,
	OPT_LIST,
	OPT_PACE_PEERS,
	OPT_PEER_CONSUMER,
};

static const struct option ql_longopts[] = {
	{"msg-size", required_argument, NULL, OPT_MSG_SIZE},
	{"capacity", required_argument, NULL, OPT_CAPACITY},
	{"rounds", required_argument, NULL, OPT_TRIALS},
	{"trials", required_argument, NULL, OPT_TRIALS},
	{"gap-ns", required_argument, NULL, OPT_GAP},
	{"no-huge", no_argument, NULL, OPT_NO_HUGE},
	{"list", no_argument, NULL, OPT_LIST},
	{"pace-peers", no_argument, NULL, OPT_PACE_PEERS},
	{"peer-consumer", required_argument, NULL, OPT_PEER_CONSUMER},
	{NULL, 0, NULL, 0},
};

static int parse_own(void *ctx, int opt, const char *v)
{
	struct ql_opts *o = ctx;
	unsigned long long n;
	char *end;

	switch (opt) {
	case OPT_NO_HUGE:
		o->huge = 0;
		return 0;
	case OPT_LIST:
		o->list = 1;
		return 0;
	case OPT_PACE_PEERS:
		bench_opt_error("--pace-peers", "no longer needed: every queue waits the same way "
				"by default, and every queue has a *_paced row");
		return -1;
	case OPT_PEER_CONSUMER:
		if (strcmp(v, "burst") && strcmp(v, "single")) {
			bench_opt_error("--peer-consumer", "'%s' is neither burst nor single", v);
			return -1;
		}
		ql_peer_burst = !strcmp(v, "burst");
		return 0;
	case OPT_MSG_SIZE:
		n = strtoull(v, &end, 10);
		if (*end || n < 8 || n > QL_MAX_MSG || n % 8) {
			bench_opt_error("--msg-size", "'%s' must be a multiple of 8 in 8..%u", v,
					QL_MAX_MSG);
			return -1;
		}
		o->msg_size = (size_t)n;
		return 0;
	case OPT_CAPACITY:
		n = strtoull(v, &end, 10);
		if (*end || n < 2 || n > (1u << 24) || (n & (n - 1))) {
			bench_opt_error("--capacity", "'%s' must be a power of two in 2..2^24", v);
			return -1;
		}
		o->capacity = (uint32_t)n;
		return 0;
	case OPT_TRIALS:
		n = strtoull(v, &end, 10);
		if (*end || n < 1 || n > 64) {
			bench_opt_error("--rounds", "'%s' must be 1..64", v);
			return -1;
		}
		o->trials = (int)n;
		return 0;
	case OPT_GAP: {
		double d = strtod(v, &end);

		if (*end || !(d >= 50) || d > 1e9) {
			bench_opt_error("--gap-ns", "'%s' must be 50..1e9", v);
			return -1;
		}
		o->gap_ns = d;
		return 0;
	}
	default:
		return -1;
	}
}

/* ----------------------------------------------------------- the run */

#define MAXR 64

/* The floors of one bracket (latency): p50 in ns; 0 = failed. */
struct lat_floors {
	double flag, slot, touch;
};

static double fmt_of(const struct lat_floors *f)
{
	if (f->slot > 0 && f->touch > 0)
		return f->slot < f->touch ? f->slot : f->touch;
	return f->slot > 0 ? f->slot : f->touch;
}

struct ql_state {
	struct ql_opts *o;
	struct bench_report rep;
	struct bench_hist hist; /* the row being measured, all its segments */
	struct bench_hist seg;  /* one segment */
	struct bench_hist fh;   /* one floor measurement */
	int step, steps;
	double floor_min, floor_max; /* every flag floor p50 of the placement */
	int nfloors;
};

static double hist_p50_ns(const struct bench_hist *h)
{
	return h->count ? bench_ticks_to_ns(bench_hist_percentile(h, 50)) : 0;
}

static void note_flag(struct ql_state *s, double p50)
{
	if (!(p50 > 0))
		return;
	if (!s->nfloors++ || p50 < s->floor_min)
		s->floor_min = p50;
	if (p50 > s->floor_max)
		s->floor_max = p50;
}

/* One measurement of the three latency floors, @p n round trips each, into
 * @p f (and each one merged into @p into[0..2] when not NULL). */
static void lat_floors(struct ql_state *s, const int cpus[2], uint64_t n, double max_s,
		       size_t fmt_size, struct lat_floors *f, struct bench_hist *into)
{
	const struct ql_opts *o = s->o;
	int k, rc;

	memset(f, 0, sizeof(*f));
	for (k = 0; k < 3; k++) {
		bench_hist_reset(&s->fh);
		if (k == 0)
			rc = bench_floor_pingpong(cpus[0], cpus[1], n, max_s, &s->fh);
		else
			rc = bench_floor_slot_pingpong(cpus[0], cpus[1], fmt_size, o->capacity,
						       k == 2, n, max_s, &s->fh);
		if (rc < 0 || !s->fh.count)
			continue;
		if (into)
			bench_hist_merge(&into[k], &s->fh);
		if (k == 0)
			f->flag = hist_p50_ns(&s->fh);
		else if (k == 1)
			f->slot = hist_p50_ns(&s->fh);
		else
			f->touch = hist_p50_ns(&s->fh);
	}
	note_flag(s, f->flag);
}

static void fill_cfg(struct ql_state *s, struct ql_cfg *c, const int cpus[2])
{
	int r = s->o->trials;

	memset(c, 0, sizeof(*c));
	c->cpu_a = cpus[0];
	c->cpu_b = cpus[1];
	c->msg_size = s->o->msg_size;
	c->capacity = s->o->capacity;
	/* one latency segment: a share of --iters and of --duration */
	c->iters = s->o->b.iters / (uint64_t)r;
	if (c->iters < 100)
		c->iters = 100;
	c->warmup = c->iters / 10 < 1000 ? 1000 : c->iters / 10;
	if (c->warmup > 20000)
		c->warmup = 20000;
	c->duration_s = s->o->b.duration_s / (2 * r);
	/* one throughput trial (the row runs one per round) */
	c->trials = 1;
	c->trial_s = s->o->b.duration_s / 16;
	c->gap_ns = s->o->gap_ns;
	c->huge = s->o->huge;
}

static void add_common(struct ql_state *s, struct bench_row *r, const struct ql_result *res)
{
	if (!strcmp(r->bench, "xsched_pingpong_process")) {
		/* protocol messages, whatever --msg-size says */
		bench_row_num(r, "msg_bytes_out", 32);
		bench_row_num(r, "msg_bytes_back", 40);
	} else {
		bench_row_num(r, "msg_bytes", (double)s->o->msg_size);
	}
	bench_row_num(r, "capacity", s->o->capacity);
	r->errors = (int)(res->errors > 1000000 ? 1000000 : res->errors);
	if (res->huge)
		bench_row_str(r, "huge_pages", res->huge);
	if (res->consumer)
		bench_row_str(r, "consumer", res->consumer);
	if (res->rounds_per_msg[1] > 0) {
		bench_row_num(r, "reactor_rounds_per_msg_a", res->rounds_per_msg[0]);
		bench_row_num(r, "reactor_rounds_per_msg_b", res->rounds_per_msg[1]);
		bench_row_num(r, "reactor_idle_share_b", res->idle_share[1]);
	}
	if (res->note[0])
		snprintf(r->note, sizeof(r->note), "%s", res->note);
}

static double median_of(double *v, int n)
{
	struct bench_ratio r;

	bench_ratio_of(&r, v, n);
	return r.median;
}

/* The floor rows of the latency table: --rounds rounds of the three floors
 * back to back, full length; ratios within each round. */
static void run_lat_floors(struct ql_state *s, const char *pl, const int cpus[2],
			   const struct ql_cfg *c)
{
	static const char *const what[3] = {
		"bare cache-line ping-pong, one flag each way",
		"the queue format's floor: a slot then a counter each way, receiver polls the counter",
		"as floor_slot_pingpong, the receiver prefetching the next slot's line while it waits"};
	struct bench_hist h[3];
	struct lat_floors f[MAXR];
	double rflag[3][MAXR], rfmt[3][MAXR], flags[MAXR], fmts[MAXR];
	int R = s->o->trials, i, k;

	for (k = 0; k < 3; k++)
		if (bench_hist_init(&h[k]) < 0)
			return;
	bench_progress(&s->rep, ++s->step, s->steps, "%s: floors (latency)", pl);
	for (i = 0; i < R; i++) {
		lat_floors(s, cpus, c->iters, c->duration_s, s->o->msg_size, &f[i], h);
		flags[i] = f[i].flag;
		fmts[i] = fmt_of(&f[i]);
		for (k = 0; k < 3; k++) {
			double v = k == 0 ? f[i].flag : k == 1 ? f[i].slot : f[i].touch;

			rflag[k][i] = v > 0 && f[i].flag > 0 ? v / f[i].flag : 0;
			rfmt[k][i] = v > 0 && fmts[i] > 0 ? v / fmts[i] : 0;
		}
	}
	for (k = 0; k < 3; k++) {
		struct bench_row row;
		struct bench_ratio ra, rb;

		if (!h[k].count) {
			bench_row_skipped(&row, BENCH_LATENCY, floor_rows[k], pl, cpus, 2,
					  "the floor could not run");
			bench_report_row(&s->rep, &row);
			continue;
		}
		bench_row_latency(&row, floor_rows[k], pl, cpus, 2, &h[k]);
		bench_ratio_of(&ra, rflag[k], R);
		bench_ratio_of(&rb, rfmt[k], R);
		/* the flag floor bounds the slot floors; the slot floors do not
		 * bound the flag one (x format of floor_pingpong is context) */
		bench_row_ratio(&row, 0, "floor", "flag", "floor_pingpong", median_of(flags, R), &ra,
				k != 0);
		/* the flag floor is below the format floor by design: its ratio to
		 * it is no result (the slot rows' x flag says the same, upside up) */
		if (!k)
			memset(&rb, 0, sizeof(rb)); /* a "-" in the table, nothing in JSON */
		bench_row_ratio(&row, 1, "format_floor", "format", FMT_FLOOR_NAME,
				k ? median_of(fmts, R) : 0, &rb, 1);
		bench_row_wait(&row, BENCH_WAIT_POLL_RELAX);
		bench_row_str(&row, "what", what[k]);
		bench_row_num(&row, "msg_bytes", k ? (double)s->o->msg_size : 8);
		bench_row_num(&row, "rounds", R);
		bench_report_row(&s->rep, &row);
	}
	for (k = 0; k < 3; k++)
		bench_hist_free(&h[k]);
}

static void run_latency(struct ql_state *s, const char *pl, const int cpus[2])
{
	struct bench_report *rep = &s->rep;
	struct ql_cfg c;
	int R = s->o->trials, i, j;
	/* bracketing floors: short */
	uint64_t nb = s->o->b.iters / 20;

	if (nb < 500)
		nb = s->o->b.iters < 500 ? s->o->b.iters : 500;
	if (nb > 5000)
		nb = 5000;
	fill_cfg(s, &c, cpus);
	bench_report_section(rep, "latency: round trip unless noted (ns); x flag / x format = median "
				  "over the rounds of p50 / adjacent floor p50, then min-max");
	run_lat_floors(s, pl, cpus, &c);
	for (i = 0; i < NLAT; i++) {
		const struct ql_row *lr = &lat_rows[i];
		struct lat_floors f[MAXR + 1];
		double p50[MAXR], rflag[MAXR], rfmt[MAXR], fl[MAXR], fm[MAXR], lo, hi;
		struct bench_ratio ra, rb;
		struct ql_result res;
		struct bench_row row;
		int rc = 0, ok = 0, oneway = !strcmp(lr->name, "xsched_oneway");
		double scale = oneway ? 0.5 : 1.0;
		/* the process row carries 32-byte messages one way: its format
		 * floor is measured with the smaller of its two sizes */
		size_t fsz = !strcmp(lr->name, "xsched_pingpong_process") ? 32 : s->o->msg_size;

		if (!bench_selected(&s->o->b, lr->name))
			continue;
		bench_progress(rep, ++s->step, s->steps, "%s: %s (latency)", pl, lr->name);
		if (!lr->t) {
			bench_row_skipped(&row, BENCH_LATENCY, lr->name, pl, cpus, 2, lr->missing);
			bench_report_row(rep, &row);
			continue;
		}
		memset(&res, 0, sizeof(res));
		bench_hist_reset(&s->hist);
		c.paced = lr->paced;
		lat_floors(s, cpus, nb, 0.05, fsz, &f[0], NULL);
		for (j = 0; j < R; j++) {
			bench_hist_reset(&s->seg);
			rc = lr->t->pingpong(&c, &s->seg, &res);
			lat_floors(s, cpus, nb, 0.05, fsz, &f[j + 1], NULL);
			if (rc < 0 || !s->seg.count)
				break;
			bench_hist_merge(&s->hist, &s->seg);
			p50[j] = hist_p50_ns(&s->seg);
			fl[j] = scale * (f[j].flag + f[j + 1].flag) / 2;
			fm[j] = scale * (fmt_of(&f[j]) + fmt_of(&f[j + 1])) / 2;
			rflag[j] = f[j].flag > 0 && f[j + 1].flag > 0 ? p50[j] / fl[j] : 0;
			rfmt[j] = fm[j] > 0 && fmt_of(&f[j]) > 0 && fmt_of(&f[j + 1]) > 0 ? p50[j] / fm[j]
											   : 0;
			ok++;
		}
		if (!ok) {
			char why[200];

			snprintf(why, sizeof(why), "%s", res.note[0] ? res.note : xs_strerror(rc));
			bench_row_skipped(&row, BENCH_LATENCY, lr->name, pl, cpus, 2, why);
			bench_report_row(rep, &row);
			continue;
		}
		bench_row_latency(&row, lr->name, pl, cpus, 2, &s->hist);
		bench_ratio_of(&ra, rflag, ok);
		bench_ratio_of(&rb, rfmt, ok);
		bench_row_ratio(&row, 0, "floor", oneway ? "flag/2" : "flag", "floor_pingpong",
				median_of(fl, ok), &ra, 1);
		bench_row_ratio(&row, 1, "format_floor", oneway ? "format/2" : "format",
				FMT_FLOOR_NAME, median_of(fm, ok), &rb, 1);
		if (fsz != s->o->msg_size)
			bench_row_num(&row, "format_floor_msg_bytes", (double)fsz);
		/* the regime moved during the row: its floors > 25 % apart */
		bench_ratio_of(&ra, fl, ok);
		lo = ra.min;
		hi = ra.max;
		row.floor_unstable = lo > 0 && hi > lo * 1.25;
		if (oneway) {
			bench_row_num(&row, "floor_scale", 0.5);
			bench_row_num(&row, "gap_ns", c.gap_ns);
			bench_row_num(&row, "clock_behind_samples", (double)res.negative);
			bench_row_str(&row, "what", "one way, timestamps in the messages");
			if (res.negative)
				snprintf(res.note, sizeof(res.note),
					 "%llu samples with the receiver's clock behind the sender's",
					 (unsigned long long)res.negative);
		}
		bench_row_wait(&row, row_wait(lr, &res));
		bench_row_num(&row, "rounds", ok);
		add_common(s, &row, &res);
		bench_report_row(rep, &row);
	}
}

static double floor_stream_rate(struct ql_state *s, const int cpus[2], double trial_s)
{
	double r = bench_floor_stream_wait(cpus[0], cpus[1], s->o->msg_size, s->o->capacity, 64, 1,
					   1, trial_s);

	return r > 0 ? r : 0;
}

static void run_throughput(struct ql_state *s, const char *pl, const int cpus[2])
{
	struct bench_report *rep = &s->rep;
	struct bench_row row;
	struct bench_ratio ra;
	struct ql_cfg c;
	double fs[MAXR + 1], bracket_s;
	int R = s->o->trials, i, j;

	fill_cfg(s, &c, cpus);
	bracket_s = s->o->b.duration_s / 50 < 0.005 ? 0.005 : s->o->b.duration_s / 50;
	bench_report_section(rep, "throughput: msgs/s (median of the rounds); x floor = median over "
				  "the rounds of msgs/s / adjacent floor_stream, then min-max");
	/* the floor row: R full-length trials */
	bench_progress(rep, ++s->step, s->steps, "%s: floor_stream", pl);
	for (j = 0; j < R; j++)
		fs[j] = floor_stream_rate(s, cpus, c.trial_s);
	bench_ratio_of(&ra, fs, R);
	if (ra.n) {
		struct bench_ratio one = {1, 1, 1, ra.n};

		bench_row_throughput(&row, "floor_stream", pl, cpus, 2, ra.median);
		bench_row_ratio(&row, 0, "floor", "floor", "floor_stream", ra.median, &one, 0);
		bench_row_wait(&row, BENCH_WAIT_PACED);
		bench_row_num(&row, "msgs_per_s_best", ra.max);
		bench_row_num(&row, "msgs_per_s_min", ra.min);
		bench_row_num(&row, "msg_bytes", (double)s->o->msg_size);
		bench_row_num(&row, "capacity", s->o->capacity);
		bench_row_num(&row, "batch", 64);
		bench_row_num(&row, "rounds", ra.n);
		bench_row_str(&row, "what",
			      "ideal ring, same message size, batches of 64, consumer paced");
	} else {
		bench_row_skipped(&row, BENCH_THROUGHPUT, "floor_stream", pl, cpus, 2,
				  "the floor could not run");
	}
	bench_report_row(rep, &row);
	for (i = 0; i < NTP; i++) {
		const struct ql_row *tr = &tp_rows[i];
		double rate[MAXR], ratio[MAXR], fl[MAXR];
		struct ql_result res;
		int rc = 0, ok = 0;

		if (!bench_selected(&s->o->b, tr->name))
			continue;
		bench_progress(rep, ++s->step, s->steps, "%s: %s (throughput)", pl, tr->name);
		if (!tr->t) {
			bench_row_skipped(&row, BENCH_THROUGHPUT, tr->name, pl, cpus, 2, tr->missing);
			bench_report_row(rep, &row);
			continue;
		}
		memset(&res, 0, sizeof(res));
		c.paced = tr->paced;
		fs[0] = floor_stream_rate(s, cpus, bracket_s);
		for (j = 0; j < R; j++) {
			double v = 0;

			rc = tr->t->stream(&c, &v, &res);
			fs[j + 1] = floor_stream_rate(s, cpus, bracket_s);
			if (rc < 0 || !(v > 0))
				break;
			rate[ok] = v;
			fl[ok] = (fs[j] + fs[j + 1]) / 2;
			ratio[ok] = fs[j] > 0 && fs[j + 1] > 0 ? v / fl[ok] : 0;
			ok++;
		}
		if (!ok) {
			char why[200];

			snprintf(why, sizeof(why), "%s", res.note[0] ? res.note : xs_strerror(rc));
			bench_row_skipped(&row, BENCH_THROUGHPUT, tr->name, pl, cpus, 2, why);
			bench_report_row(rep, &row);
			continue;
		}
		bench_ratio_of(&ra, rate, ok);
		bench_row_throughput(&row, tr->name, pl, cpus, 2, ra.median);
		bench_row_num(&row, "msgs_per_s_best", ra.max);
		bench_row_num(&row, "msgs_per_s_min", ra.min);
		{
			struct bench_ratio rr, rf;

			bench_ratio_of(&rr, ratio, ok);
			bench_ratio_of(&rf, fl, ok);
			bench_row_ratio(&row, 0, "floor", "floor", "floor_stream", rf.median, &rr, 1);
			row.floor_unstable = rf.min > 0 && rf.max > rf.min * 1.25;
		}
		if (!strncmp(tr->name, "xsched_stream_b", 15))
			bench_row_num(&row, "batch", atoi(tr->name + 15));
		else if (!strncmp(tr->name, "floor_stream_b", 14))
			bench_row_num(&row, "batch", atoi(tr->name + 14));
		else
			bench_row_num(&row, "batch", 1);
		bench_row_wait(&row, row_wait(tr, &res));
		bench_row_num(&row, "rounds", ok);
		add_common(s, &row, &res);
		bench_report_row(rep, &row);
	}
}

/* --------------------------------------------------------------- targets */

struct target {
	const char *id, *text;
	double value, limit;
	int met, have;
	char detail[200];
};

static void report_target(struct ql_state *s, const char *pl, const int cpus[2],
			  const struct target *t)
{
	struct bench_report *rep = &s->rep;

	if (rep->opts->format == BENCH_JSON) {
		FILE *f = rep->out;

		fprintf(f,
			"{\"bench\":\"target\",\"placement\":\"%s\",\"cpus\":[%d,%d],\"kind\":\"info\","
			"\"target\":\"%s\",\"have\":%s",
			pl, cpus[0], cpus[1], t->id, t->have ? "true" : "false");
		if (t->have)
			fprintf(f, ",\"value\":%.4f,\"limit\":%.4f,\"met\":%s", t->value, t->limit,
				t->met ? "true" : "false");
		fprintf(f, ",\"detail\":\"%s\"}\n", t->detail);
	} else if (!rep->opts->quiet) {
		fprintf(rep->out, "  %-46s %s\n", t->text, t->detail);
	}
}

/* A row usable for a comparison: measured, and its floor bounded it. */
static const struct bench_row *usable(const struct bench_report *rep, const char *name,
				      enum bench_kind kind, const char *pl)
{
	const struct bench_row *r = bench_report_find(rep, name, kind, pl);

	return r && !r->skipped && r->ratio_to_floor > 0 ? r : NULL;
}

/* The best peer row of @p kind waiting like @p paced, by its ratio to the
 * flag floor (latency: lowest) or the streaming floor (throughput: highest). */
static const struct bench_row *best_peer(const struct bench_report *rep, enum bench_kind kind,
					 const char *pl, int paced)
{
	static const char *const peers[] = {"boost_spsc", "ck_ring", "dpdk_ring"};
	const struct bench_row *best = NULL, *r;
	char name[48];
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%s%s", peers[i], paced ? "_paced" : "");
		r = usable(rep, name, kind, pl);
		if (!r)
			continue;
		if (!best || (kind == BENCH_LATENCY ? r->ratio_to_floor < best->ratio_to_floor
						    : r->ratio_to_floor > best->ratio_to_floor))
			best = r;
	}
	return best;
}

/* "rerun" notes of a comparison between @p a and @p b (b may be NULL). */
static const char *caveat(const struct bench_row *a, const struct bench_row *b)
{
	if (a->floor_unreliable || (b && b->floor_unreliable))
		return " (floor unreliable in this run: not a result)";
	if (a->floor_unstable || (b && b->floor_unstable))
		return " (floors moved during the rows: rerun)";
	return "";
}

/* Round trip of @p row below every peer waiting the same way. */
static void target_below_peers(struct ql_state *s, const char *pl, const int cpus[2],
			       const char *row, const char *id, const char *text, int paced)
{
	const struct bench_row *r = usable(&s->rep, row, BENCH_LATENCY, pl), *bp;
	struct target t;

	memset(&t, 0, sizeof(t));
	t.id = id;
	t.text = text;
	bp = best_peer(&s->rep, BENCH_LATENCY, pl, paced);
	if (!r) {
		snprintf(t.detail, sizeof(t.detail), "not measured");
	} else if (!bp) {
		snprintf(t.detail, sizeof(t.detail), "no peer measured");
	} else if (r->floor_unreliable || bp->floor_unreliable) {
		snprintf(t.detail, sizeof(t.detail), "not assessed: floor unreliable in this run");
	} else {
		t.have = 1;
		t.value = r->ratio_to_floor;
		t.limit = bp->ratio_to_floor;
		t.met = t.value < t.limit;
		snprintf(t.detail, sizeof(t.detail), "%.2fx vs best peer %s %.2fx (x flag)  %s%s",
			 t.value, bp->bench, t.limit, t.met ? "met" : "MISSED", caveat(r, bp));
	}
	report_target(s, pl, cpus, &t);
}

/* Round trip of @p row within 1.25x the format floor. */
static void target_format(struct ql_state *s, const char *pl, const int cpus[2], const char *row,
			  const char *id, const char *text)
{
	const struct bench_row *r = usable(&s->rep, row, BENCH_LATENCY, pl);
	struct target t;

	memset(&t, 0, sizeof(t));
	t.id = id;
	t.text = text;
	t.limit = 1.25;
	if (!r || !r->f2.key || !r->f2.ratio.n) {
		snprintf(t.detail, sizeof(t.detail), "not measured");
	} else if (r->f2.unreliable) {
		snprintf(t.detail, sizeof(t.detail), "not assessed: floor unreliable in this run");
	} else {
		t.have = 1;
		t.value = r->f2.ratio.median;
		t.met = t.value <= t.limit;
		snprintf(t.detail, sizeof(t.detail), "%.2fx (%.2f-%.2f)  %s%s", t.value,
			 r->f2.ratio.min, r->f2.ratio.max, t.met ? "met" : "MISSED", caveat(r, NULL));
	}
	report_target(s, pl, cpus, &t);
}

/* Streaming with a commit per message >= 1.2x the best peer waiting the same way. */
static void target_stream(struct ql_state *s, const char *pl, const int cpus[2], const char *row,
			  const char *id, const char *text, int paced)
{
	const struct bench_row *r = usable(&s->rep, row, BENCH_THROUGHPUT, pl), *bp;
	struct target t;

	memset(&t, 0, sizeof(t));
	t.id = id;
	t.text = text;
	t.limit = 1.2;
	bp = best_peer(&s->rep, BENCH_THROUGHPUT, pl, paced);
	if (!r) {
		snprintf(t.detail, sizeof(t.detail), "not measured");
	} else if (!bp) {
		snprintf(t.detail, sizeof(t.detail), "no peer measured");
	} else if (r->floor_unreliable || bp->floor_unreliable) {
		snprintf(t.detail, sizeof(t.detail), "not assessed: floor unreliable in this run");
	} else {
		t.have = 1;
		t.value = r->ratio_to_floor / bp->ratio_to_floor;
		t.met = t.value >= t.limit;
		snprintf(t.detail, sizeof(t.detail), "%.2fx %s (%.2f vs %.2f M msgs/s)  %s%s",
			 t.value, bp->bench, r->msgs_per_s / 1e6, bp->msgs_per_s / 1e6,
			 t.met ? "met" : "MISSED", caveat(r, bp));
	}
	report_target(s, pl, cpus, &t);
}

static void check_targets(struct ql_state *s, const char *pl, const int cpus[2])
{
	struct bench_report *rep = &s->rep;
	const struct bench_row *b64;
	struct target t;

	if (rep->opts->format == BENCH_TABLE && !rep->opts->quiet)
		fprintf(rep->out,
			"\ntargets (from the ratios above; reported, never asserted; every queue "
			"waits the same way in each comparison)\n");
	target_below_peers(s, pl, cpus, "xsched_pingpong_thread", "pingpong_thread_below_peers",
			   "round trip (thread) p50 below every peer:", 0);
	target_below_peers(s, pl, cpus, "xsched_pingpong_process", "pingpong_process_below_peers",
			   "round trip (process) p50 below every peer:", 0);
	target_below_peers(s, pl, cpus, "xsched_pingpong_thread_paced",
			   "pingpong_thread_paced_below_peers",
			   "round trip, paced: below every paced peer:", 1);
	target_format(s, pl, cpus, "xsched_pingpong_thread", "pingpong_thread_le_1.25_format",
		      "round trip (thread) <= 1.25x format floor:");
	target_format(s, pl, cpus, "xsched_pingpong_process", "pingpong_process_le_1.25_format",
		      "round trip (process) <= 1.25x format floor:");
	target_stream(s, pl, cpus, "xsched_stream_b1", "stream_b1_ge_1.2_best_peer",
		      "stream b1 >= 1.2x best peer:", 0);
	target_stream(s, pl, cpus, "xsched_stream_b1_paced", "stream_b1_paced_ge_1.2_best_peer",
		      "stream b1, paced: >= 1.2x best paced peer:", 1);

	/* batched streaming vs the ideal ring */
	memset(&t, 0, sizeof(t));
	t.id = "stream_b64_ge_0.6_floor";
	t.text = "stream b64 >= 0.6x floor_stream:";
	t.limit = 0.6;
	b64 = usable(rep, "xsched_stream_b64", BENCH_THROUGHPUT, pl);
	if (!b64) {
		snprintf(t.detail, sizeof(t.detail), "not measured");
	} else if (b64->floor_unreliable) {
		snprintf(t.detail, sizeof(t.detail), "not assessed: floor unreliable in this run");
	} else {
		t.have = 1;
		t.value = b64->ratio_to_floor;
		t.met = t.value >= t.limit;
		snprintf(t.detail, sizeof(t.detail), "%.2fx  %s%s", t.value, t.met ? "met" : "MISSED",
			 caveat(b64, NULL));
	}
	report_target(s, pl, cpus, &t);
}

static void run_placement(struct ql_state *s, const char *pl, const int cpus[2])
{
	struct bench_report *rep = &s->rep;
	int na = bench_topo_find(&rep->topo, cpus[0]), nb = bench_topo_find(&rep->topo, cpus[1]);

	if (rep->opts->format == BENCH_TABLE)
		fprintf(rep->out, "\n== placement %s: cpus %d,%d (node %d, %d) ==\n", pl, cpus[0],
			cpus[1], na >= 0 ? rep->topo.node[na] : -1, nb >= 0 ? rep->topo.node[nb] : -1);
	s->nfloors = 0;
	s->floor_min = s->floor_max = 0;
	run_latency(s, pl, cpus);
	run_throughput(s, pl, cpus);
	if (s->nfloors > 1)
		bench_report_note(rep, pl, cpus, 2,
				  "%sfloor_pingpong p50 ranged %.0f..%.0f ns over the %d measurements "
				  "of this placement (the machine's regime; ratios carry over, ns do not)",
				  rep->opts->format == BENCH_TABLE ? "\nnote: " : "", s->floor_min,
				  s->floor_max, s->nfloors);
	check_targets(s, pl, cpus);
}

/* The short explanation at the top of the table. */
static void explain(const struct ql_opts *o)
{
	if (o->b.format != BENCH_TABLE || o->b.quiet)
		return;
	printf("#\n"
	       "# How to read: every row runs between the same two pinned CPUs. Every receiver\n"
	       "# waits the same way: poll_relax (poll, one pause when empty: a reactor with\n"
	       "# --pace 0), or, in rows ending in _paced, paced (after k items, the first empty\n"
	       "# poll waits min(k, 64) pauses: xs_spsc_wait() and the reactor's default), given\n"
	       "# to every queue alike; baselines block; _rt rows run inside reactors.\n"
	       "# Floors: flag = one cache line each way; format = a slot and a counter each\n"
	       "# way, what any queue of this format must move. Each row runs in %d rounds\n"
	       "# interleaved with its floors; x flag / x format = the median of the per-round\n"
	       "# ratios, then their min-max. A row measured below its floor is noise (\"floor\n"
	       "# unreliable\"), never a result. Ratios carry over between runs, ns do not.\n",
	       o->trials);
}

int main(int argc, char **argv)
{
	const char *names[NLAT + NTP + NFLOOR];
	struct ql_opts o;
	struct ql_state s;
	char header[256], why[160];
	const char *plist;
	int rc, n_sel = 0, i, any = 0, nnames = 0;

	memset(&o, 0, sizeof(o));
	bench_opts_defaults(&o.b);
	o.msg_size = 40;
	o.capacity = 1024;
	o.trials = 5;
	o.gap_ns = 1000;
	o.huge = 1;
	rc = bench_opts_parse(&o.b, argc, argv, ql_longopts, parse_own, &o);
	if (rc < 0)
		return 2;
	if (rc == 1) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < NFLOOR; i++)
		names[nnames++] = floor_rows[i];
	for (i = 0; i < NLAT; i++)
		names[nnames++] = lat_rows[i].name;
	for (i = 0; i < NTP; i++)
		names[nnames++] = tp_rows[i].name;
	if (bench_only_check(&o.b, names, nnames) < 0)
		return 2;
	if (o.list) {
		printf("latency (each row: --rounds segments between floor measurements):\n");
		printf("  %-30s %-10s %s\n", "floor_pingpong", BENCH_WAIT_POLL_RELAX,
		       "bare cache-line ping-pong, one flag each way");
		printf("  %-30s %-10s %s\n", "floor_slot_pingpong", BENCH_WAIT_POLL_RELAX,
		       "the format's floor: a slot then a counter each way");
		printf("  %-30s %-10s %s\n", "floor_slot_pingpong_touch", BENCH_WAIT_POLL_RELAX,
		       "the same, receiver prefetching the next slot's line while it waits");
		for (i = 0; i < NLAT; i++)
			printf("  %-30s %-10s %s\n", lat_rows[i].name, row_wait(&lat_rows[i], NULL),
			       row_what(&lat_rows[i]));
		printf("throughput (each row: --rounds trials between floor_stream trials):\n");
		printf("  %-30s %-10s %s\n", "floor_stream", BENCH_WAIT_PACED,
		       "ideal batched ring of the same message size (64 per publish)");
		for (i = 0; i < NTP; i++)
			printf("  %-30s %-10s %s\n", tp_rows[i].name, row_wait(&tp_rows[i], NULL),
			       row_what(&tp_rows[i]));
		return 0;
	}

	bench_clock_init(o.b.clock_force_monotonic);
	memset(&s, 0, sizeof(s));
	s.o = &o;
	if (bench_hist_init(&s.hist) < 0 || bench_hist_init(&s.seg) < 0 ||
	    bench_hist_init(&s.fh) < 0)
		return 1;
	snprintf(header, sizeof(header),
		 "message %zu B, capacity %u, %llu round trips per latency row, %d rounds per row, "
		 "about %.3g s per row",
		 o.msg_size, o.capacity, (unsigned long long)o.b.iters, o.trials, o.b.duration_s);
	rc = bench_report_begin(&s.rep, &o.b, "queue_latency", header);
	if (rc < 0) {
		fprintf(stderr, "queue_latency: topology: %s (%s)\n", xs_strerror(rc), xs_errmsg());
		return 1;
	}
	explain(&o);
	for (i = 0; i < NLAT; i++)
		n_sel += bench_selected(&o.b, lat_rows[i].name);
	for (i = 0; i < NTP; i++)
		n_sel += bench_selected(&o.b, tp_rows[i].name);
	n_sel += 2; /* the two floor steps */

	{
		const char *all[] = {"smt", "core", "numa"};
		int want[3] = {0, 0, 0}, planned[3][2], ok[3] = {0, 0, 0}, k;

		plist = o.b.pairs;
		for (k = 0; k < 3; k++) {
			const char *p = strstr(plist, all[k]);
			size_t n = strlen(all[k]);

			want[k] = !strcmp(plist, "auto") ||
				  (p && (p == plist || p[-1] == ',') && (p[n] == '\0' || p[n] == ','));
		}
		for (k = 0; k < 3; k++) {
			if (!want[k])
				continue;
			if (bench_plan(&s.rep.topo, all[k], planned[k], why, sizeof(why)) == 0) {
				ok[k] = 1;
				s.steps += n_sel;
			} else {
				bench_report_note(&s.rep, all[k], NULL, 0, "%spairs %s skipped: %s",
						  o.b.format == BENCH_TABLE ? "# " : "", all[k], why);
			}
		}
		for (k = 0; k < 3; k++) {
			if (ok[k]) {
				run_placement(&s, all[k], planned[k]);
				any = 1;
			}
		}
	}
	bench_hist_free(&s.hist);
	bench_hist_free(&s.seg);
	bench_hist_free(&s.fh);
	if (!any) {
		fprintf(stderr, "queue_latency: no pair of CPUs of the kind asked for (--pairs %s) "
				"on this machine; see the notes above\n", o.b.pairs);
		bench_report_end(&s.rep);
		return 1;
	}
	return bench_report_end(&s.rep) < 0 ? 1 : 0;
}
