/* SPDX-License-Identifier: Apache-2.0 */
/*
 * queue_latency: how far the xsched queues are from what this machine
 * allows, and how they compare with what one could have used instead.
 *
 * For each placement (two CPUs: SMT siblings, two cores of one node, two
 * nodes; or --cpus A,B):
 *   latency rows, each bracketed by a bare cache-line ping-pong (the
 *   hardware floor) measured immediately before and after it: the row's
 *   ratio is its p50 over the mean of those two floors, and a row whose two
 *   floors differ by more than 25 % is flagged (the machine changed regime);
 *   throughput rows, bracketed the same way by the streaming floor (an
 *   ideal batched ring of the same message size).
 * Then the targets of the queues are checked against the rows of the run
 * and reported (never asserted).
 */
#include "queue_latency.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xsched/common.h"

int ql_pace_peers;
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

static double stream_trial(void *p, uint64_t n)
{
	struct stream_glue *g = p;
	int rc;

	bench_barrier_init(&g->run.bar, 2);
	g->run.n = n;
	g->run.t_start = g->run.t_end = 0;
	rc = bench_run_pair(g->c->cpu_a, g->fa, &g->run, g->c->cpu_b, g->fb, &g->run);
	if (rc)
		return rc;
	return bench_ticks_to_ns((double)(g->run.t_end - g->run.t_start)) / 1e9;
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
	rate = bench_trials(stream_trial, &g, c->trials, c->duration_s / (c->trials + 1), 0,
			    &r->best);
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
	double v = bench_floor_stream(c->cpu_a, c->cpu_b, c->msg_size, c->capacity, 1, c->trials,
				      c->duration_s / (c->trials + 1));

	(void)r;
	if (v < 0)
		return (int)v;
	*rate = v;
	return 0;
}

static const struct ql_transport ql_floor_b1 = {
	"floor_stream_b1", "ideal ring publishing every message (limit for a commit per message)",
	NULL, floor_b1_stream};

/* A row: its transport, and which measurement of it. */
struct ql_row {
	const struct ql_transport *t;
	const char *missing; /* non-NULL: not built, why */
};

#define NOT_BUILT(name, what)                                                           \
	{                                                                               \
		NULL, name ": not built (" what " not found when CMake configured xsched; " \
			   "install it and reconfigure)"                                \
	}

/* The peers (or why they are missing) and the system baselines: the same
 * rows in the latency and the throughput tables. */
#ifdef QL_HAVE_BOOST
#define QL_ROW_BOOST {&ql_boost, NULL}
#else
#define QL_ROW_BOOST \
	NOT_BUILT("boost_spsc", "libboost-dev (boost/lockfree/spsc_queue.hpp) or a C++ compiler")
#endif
#ifdef QL_HAVE_CK
#define QL_ROW_CK {&ql_ck, NULL}
#else
#define QL_ROW_CK NOT_BUILT("ck_ring", "libck-dev (ck_ring.h)")
#endif
#ifdef QL_HAVE_DPDK
#define QL_ROW_DPDK {&ql_dpdk, NULL}
#else
#define QL_ROW_DPDK NOT_BUILT("dpdk_ring", "libdpdk-dev (pkg-config libdpdk)")
#endif
#define QL_PEER_AND_SYSTEM_ROWS                                                         \
	QL_ROW_BOOST, QL_ROW_CK, QL_ROW_DPDK, {&ql_pipe, NULL}, {&ql_socketpair, NULL}, \
		{&ql_eventfd, NULL}, {&ql_mutex, NULL}

static const struct ql_row lat_rows[] = {
	{&ql_xsched_thread, NULL},
#ifdef QL_HAVE_PROCESS
	{&ql_xsched_process, NULL},
#else
	NOT_BUILT("xsched_pingpong_process", "handshake module"),
#endif
	{&ql_xsched_oneway, NULL},
	QL_PEER_AND_SYSTEM_ROWS,
};

static const struct ql_row tp_rows[] = {
	{&ql_floor_b1, NULL},
	{&ql_xsched_b1, NULL},
	{&ql_xsched_b8, NULL},
	{&ql_xsched_b64, NULL},
	QL_PEER_AND_SYSTEM_ROWS,
};

#define NLAT ((int)(sizeof(lat_rows) / sizeof(lat_rows[0])))
#define NTP  ((int)(sizeof(tp_rows) / sizeof(tp_rows[0])))

static const char *row_name(const struct ql_row *r)
{
	if (r->t)
		return r->t->name;
	/* "name: not built (...)" */
	{
		static char buf[64];
		const char *c = strchr(r->missing, ':');
		size_t n = c ? (size_t)(c - r->missing) : strlen(r->missing);

		snprintf(buf, sizeof(buf), "%.*s", (int)n, r->missing);
		return buf;
	}
}

static int is_peer(const char *name)
{
	return !strcmp(name, "boost_spsc") || !strcmp(name, "ck_ring") ||
	       !strcmp(name, "dpdk_ring");
}

/* How the row's receiver waits (JSON key "wait"). */
static const char *wait_kind(const char *name)
{
	if (!strncmp(name, "xsched", 6))
		return "xs_spsc_wait"; /* paced spin */
	if (!strncmp(name, "floor", 5))
		return "paced";
	if (is_peer(name))
		return ql_pace_peers ? "paced" : "spin";
	return "block";
}

/* ------------------------------------------------------------- options */

struct ql_opts {
	struct bench_opts b;
	size_t msg_size;
	uint32_t capacity;
	int trials;
	double gap_ns;
	int huge;
	int list;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: queue_latency [options]\n"
		"Measures xsched SPSC queues against the hardware floor of this machine, the\n"
		"system baselines (pipe, socketpair, eventfd, mutex+condvar) and the peers built\n"
		"in (Boost.Lockfree, ck_ring, DPDK rte_ring): round trip, one-way and streaming.\n"
		"Every row runs between the same two pinned CPUs, as two lightweight threads of\n"
		"the xsched runtime, and is bracketed by the hardware floor measured just before\n"
		"and after it.\n\n"
		"queue_latency options:\n"
		"  --msg-size N        message bytes, multiple of 8, 8..1024 (default 40 =\n"
		"                      TpuToPackMessage); peers are compiled for 8..64, 128, 256\n"
		"  --capacity N        ring slots, power of two (default 1024)\n"
		"  --trials N          throughput trials per row, median reported (default 5)\n"
		"  --gap-ns N          one-way row: send period in ns (default 1000)\n"
		"  --no-huge           do not try huge pages for the xsched queues\n"
		"  --pace-peers        peers wait like xs_spsc_wait() (paced) instead of a plain\n"
		"                      pause-and-retry loop\n"
		"  --peer-consumer burst|single  streaming peers with a burst dequeue (Boost\n"
		"                      pop(T*, n), DPDK dequeue_burst) take up to 64 messages per\n"
		"                      release, as the xsched consumer does (default burst), or\n"
		"                      one message per release (single); ck_ring has no burst\n"
		"  --list              list the rows and exit\n");
	bench_opts_usage(f);
	fprintf(f,
		"Rows: floor_pingpong, xsched_pingpong_thread, xsched_pingpong_process,\n"
		"xsched_oneway, pipe, socketpair, eventfd, mutex_condvar, boost_spsc, ck_ring,\n"
		"dpdk_ring (latency); floor_stream, floor_stream_b1, xsched_stream_b1/b8/b64\n"
		"and the same"
		" baselines and peers (throughput). See bench/README.md.\n");
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
		ql_pace_peers = 1;
		return 0;
	case OPT_PEER_CONSUMER:
		if (strcmp(v, "burst") && strcmp(v, "single")) {
			fprintf(stderr, "--peer-consumer: '%s' is neither burst nor single\n", v);
			return -1;
		}
		ql_peer_burst = !strcmp(v, "burst");
		return 0;
	case OPT_MSG_SIZE:
		n = strtoull(v, &end, 10);
		if (*end || n < 8 || n > QL_MAX_MSG || n % 8) {
			fprintf(stderr, "--msg-size: '%s' must be a multiple of 8 in 8..%u\n", v,
				QL_MAX_MSG);
			return -1;
		}
		o->msg_size = (size_t)n;
		return 0;
	case OPT_CAPACITY:
		n = strtoull(v, &end, 10);
		if (*end || n < 2 || n > (1u << 24) || (n & (n - 1))) {
			fprintf(stderr, "--capacity: '%s' must be a power of two in 2..2^24\n", v);
			return -1;
		}
		o->capacity = (uint32_t)n;
		return 0;
	case OPT_TRIALS:
		n = strtoull(v, &end, 10);
		if (*end || n < 1 || n > 64) {
			fprintf(stderr, "--trials: '%s' must be 1..64\n", v);
			return -1;
		}
		o->trials = (int)n;
		return 0;
	case OPT_GAP: {
		double d = strtod(v, &end);

		if (*end || !(d >= 50) || d > 1e9) {
			fprintf(stderr, "--gap-ns: '%s' must be 50..1e9\n", v);
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

struct ql_state {
	struct ql_opts *o;
	struct bench_report rep;
	struct bench_hist hist;  /* the row being measured */
	struct bench_hist fhist; /* bracketing floors */
	int step, steps;
	double floor_min, floor_max; /* every floor_pingpong p50 of the run */
	int nfloors;
};

/* Floors used to bracket rows: shorter than the floor rows themselves. */
static double floor_pp_p50(struct ql_state *s, const int cpus[2])
{
	uint64_t n = s->o->b.iters / 5;
	double p50;

	if (n < 2000)
		n = s->o->b.iters < 2000 ? s->o->b.iters : 2000;
	if (n > 20000)
		n = 20000;
	bench_hist_reset(&s->fhist);
	if (bench_floor_pingpong(cpus[0], cpus[1], n, 0.1, &s->fhist) < 0)
		return 0;
	p50 = bench_ticks_to_ns(bench_hist_percentile(&s->fhist, 50));
	if (!s->nfloors++ || p50 < s->floor_min)
		s->floor_min = p50;
	if (p50 > s->floor_max)
		s->floor_max = p50;
	return p50;
}

static double floor_stream_rate(struct ql_state *s, const int cpus[2], int trials, double trial_s)
{
	double r = bench_floor_stream(cpus[0], cpus[1], s->o->msg_size, s->o->capacity, 64, trials,
				      trial_s);

	return r > 0 ? r : 0;
}

static void fill_cfg(struct ql_state *s, struct ql_cfg *c, const int cpus[2])
{
	memset(c, 0, sizeof(*c));
	c->cpu_a = cpus[0];
	c->cpu_b = cpus[1];
	c->msg_size = s->o->msg_size;
	c->capacity = s->o->capacity;
	c->iters = s->o->b.iters;
	c->warmup = c->iters / 10 < 1000 ? 1000 : c->iters / 10;
	if (c->warmup > 20000)
		c->warmup = 20000;
	c->duration_s = s->o->b.duration_s;
	c->trials = s->o->trials;
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
	if (res->note[0])
		snprintf(r->note, sizeof(r->note), "%s", res->note);
}

static void run_latency(struct ql_state *s, const char *pl, const int cpus[2])
{
	struct bench_report *rep = &s->rep;
	struct bench_row row;
	struct ql_cfg c;
	double before;
	int i;

	fill_cfg(s, &c, cpus);
	bench_report_section(rep, "latency (round trip unless noted; ns; x floor = p50 / adjacent "
				  "floor_pingpong p50)");
	/* The floor row: a full-length measurement of the bare ping-pong. */
	bench_progress(rep, ++s->step, s->steps, "%s: floor_pingpong", pl);
	bench_hist_reset(&s->hist);
	if (bench_floor_pingpong(cpus[0], cpus[1], c.iters, c.duration_s, &s->hist) == 0) {
		bench_row_latency(&row, "floor_pingpong", pl, cpus, 2, &s->hist);
		bench_row_floor(&row, "floor_pingpong", row.p50_ns, row.p50_ns);
		bench_row_str(&row, "what", "bare cache-line ping-pong, one flag each way");
		bench_report_row(rep, &row);
		before = row.p50_ns;
	} else {
		before = floor_pp_p50(s, cpus);
	}
	for (i = 0; i < NLAT; i++) {
		const struct ql_row *lr = &lat_rows[i];
		const char *name = row_name(lr);
		struct ql_result res;
		double after;
		int rc;

		if (!bench_selected(&s->o->b, name))
			continue;
		bench_progress(rep, ++s->step, s->steps, "%s: %s (latency)", pl, name);
		if (!lr->t) {
			bench_row_skipped(&row, BENCH_LATENCY, name, pl, cpus, 2,
					  strchr(lr->missing, ':') + 2);
			bench_report_row(rep, &row);
			continue;
		}
		memset(&res, 0, sizeof(res));
		bench_hist_reset(&s->hist);
		rc = lr->t->pingpong(&c, &s->hist, &res);
		after = floor_pp_p50(s, cpus);
		if (rc < 0 || !s->hist.count) {
			char why[200];

			snprintf(why, sizeof(why), "%s", res.note[0] ? res.note : xs_strerror(rc));
			bench_row_skipped(&row, BENCH_LATENCY, name, pl, cpus, 2, why);
			bench_report_row(rep, &row);
			before = after;
			continue;
		}
		bench_row_latency(&row, name, pl, cpus, 2, &s->hist);
		if (!strcmp(name, "xsched_oneway")) {
			/* One way: compare with half the round-trip floor. */
			bench_row_floor(&row, "floor_pingpong/2", before / 2, after / 2);
			bench_row_num(&row, "gap_ns", c.gap_ns);
			bench_row_num(&row, "clock_behind_samples", (double)res.negative);
			bench_row_str(&row, "what", "one way, timestamps in the messages");
			if (res.negative)
				snprintf(res.note, sizeof(res.note),
					 "%llu samples with the receiver's clock behind the sender's",
					 (unsigned long long)res.negative);
		} else {
			bench_row_floor(&row, "floor_pingpong", before, after);
		}
		bench_row_str(&row, "wait", wait_kind(name));
		add_common(s, &row, &res);
		bench_report_row(rep, &row);
		before = after;
	}
}

static void run_throughput(struct ql_state *s, const char *pl, const int cpus[2])
{
	struct bench_report *rep = &s->rep;
	struct bench_row row;
	struct ql_cfg c;
	double before, bracket_s;
	int i;

	fill_cfg(s, &c, cpus);
	/* Bracketing floors: 3 short trials; the floor row itself runs like a row. */
	bracket_s = c.duration_s / 20 < 0.01 ? 0.01 : c.duration_s / 20;
	bench_report_section(rep, "throughput (x floor = msgs/s / adjacent floor_stream msgs/s)");
	bench_progress(rep, ++s->step, s->steps, "%s: floor_stream", pl);
	before = floor_stream_rate(s, cpus, c.trials, c.duration_s / (c.trials + 1));
	if (before > 0) {
		bench_row_throughput(&row, "floor_stream", pl, cpus, 2, before);
		bench_row_floor(&row, "floor_stream", before, before);
		bench_row_num(&row, "msg_bytes", (double)s->o->msg_size);
		bench_row_num(&row, "capacity", s->o->capacity);
		bench_row_num(&row, "batch", 64);
		bench_row_str(&row, "what", "ideal ring, same message size, batches of 64");
		bench_report_row(rep, &row);
	}
	for (i = 0; i < NTP; i++) {
		const struct ql_row *tr = &tp_rows[i];
		const char *name = row_name(tr);
		struct ql_result res;
		double rate = 0, after;
		int rc;

		if (!bench_selected(&s->o->b, name))
			continue;
		bench_progress(rep, ++s->step, s->steps, "%s: %s (throughput)", pl, name);
		if (!tr->t) {
			bench_row_skipped(&row, BENCH_THROUGHPUT, name, pl, cpus, 2,
					  strchr(tr->missing, ':') + 2);
			bench_report_row(rep, &row);
			continue;
		}
		memset(&res, 0, sizeof(res));
		rc = tr->t->stream(&c, &rate, &res);
		after = floor_stream_rate(s, cpus, 3, bracket_s);
		if (rc < 0 || !(rate > 0)) {
			char why[200];

			snprintf(why, sizeof(why), "%s", res.note[0] ? res.note : xs_strerror(rc));
			bench_row_skipped(&row, BENCH_THROUGHPUT, name, pl, cpus, 2, why);
			bench_report_row(rep, &row);
			before = after;
			continue;
		}
		bench_row_throughput(&row, name, pl, cpus, 2, rate);
		bench_row_floor(&row, "floor_stream", before, after);
		if (!strncmp(name, "xsched_stream_b", 15))
			bench_row_num(&row, "batch", atoi(name + 15));
		else if (!strncmp(name, "floor_stream_b", 14))
			bench_row_num(&row, "batch", atoi(name + 14));
		else
			bench_row_num(&row, "batch", 1);
		bench_row_num(&row, "msgs_per_s_best", res.best);
		bench_row_str(&row, "wait", wait_kind(name));
		bench_row_num(&row, "trials", c.trials);
		add_common(s, &row, &res);
		bench_report_row(rep, &row);
		before = after;
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
		fprintf(rep->out, "  %-44s %s\n", t->text,
			!t->have ? t->detail : t->detail);
	}
}

/* The best peer row of @p kind in placement @p pl, by its ratio to the
 * adjacent floor (latency: lowest; throughput: highest), or NULL. */
static const struct bench_row *best_peer(const struct bench_report *rep, enum bench_kind kind,
					 const char *pl)
{
	static const char *const peers[] = {"boost_spsc", "ck_ring", "dpdk_ring"};
	const struct bench_row *best = NULL, *r;
	int i;

	for (i = 0; i < 3; i++) {
		r = bench_report_find(rep, peers[i], kind, pl);
		if (!r || r->skipped || !(r->ratio_to_floor > 0))
			continue;
		if (!best || (kind == BENCH_LATENCY ? r->ratio_to_floor < best->ratio_to_floor
						    : r->ratio_to_floor > best->ratio_to_floor))
			best = r;
	}
	return best;
}

static void check_targets(struct ql_state *s, const char *pl, const int cpus[2])
{
	struct bench_report *rep = &s->rep;
	const struct bench_row *pp[2], *b1, *b64;
	const char *ppn[2] = {"xsched_pingpong_thread", "xsched_pingpong_process"};
	struct target t;
	int k;

	if (rep->opts->format == BENCH_TABLE && !rep->opts->quiet)
		fprintf(rep->out,
			"\ntargets (ratios to the adjacent floor of this run; reported, never "
			"asserted; xsched waits with xs_spsc_wait, peers %s)\n",
			ql_pace_peers ? "with the same pacing (--pace-peers)"
				      : "with pause-and-retry (--pace-peers: same pacing)");
	for (k = 0; k < 2; k++) {
		pp[k] = bench_report_find(rep, ppn[k], BENCH_LATENCY, pl);
		if (pp[k] && pp[k]->skipped)
			pp[k] = NULL;
		memset(&t, 0, sizeof(t));
		t.id = k ? "pingpong_process_le_1.25_floor" : "pingpong_thread_le_1.25_floor";
		t.text = k ? "round trip (process) p50 <= 1.25x floor:" :
			     "round trip (thread) p50 <= 1.25x floor:";
		t.limit = 1.25;
		if (pp[k] && pp[k]->floor_value > 0) {
			t.have = 1;
			t.value = pp[k]->ratio_to_floor;
			t.met = t.value <= t.limit;
			snprintf(t.detail, sizeof(t.detail), "%.2fx  %s%s", t.value,
				 t.met ? "met" : "MISSED",
				 pp[k]->floor_unstable ? " (floor unstable: rerun)" : "");
		} else {
			snprintf(t.detail, sizeof(t.detail), "not measured");
		}
		report_target(s, pl, cpus, &t);

		/* below every peer */
		memset(&t, 0, sizeof(t));
		t.id = k ? "pingpong_process_below_peers" : "pingpong_thread_below_peers";
		t.text = k ? "round trip (process) below every peer:" :
			     "round trip (thread) below every peer:";
		if (pp[k]) {
			const struct bench_row *bp = best_peer(rep, BENCH_LATENCY, pl);

			if (bp) {
				const char *bn = bp->bench;
				double best = bp->ratio_to_floor;

				t.have = 1;
				t.value = pp[k]->ratio_to_floor;
				t.limit = best;
				t.met = t.value < best;
				snprintf(t.detail, sizeof(t.detail),
					 "%.2fx vs best peer %s %.2fx  %s%s", t.value, bn, best,
					 t.met ? "met" : "MISSED",
					 pp[k]->floor_unstable || bp->floor_unstable
						 ? " (floor unstable: rerun)"
						 : "");
			} else {
				snprintf(t.detail, sizeof(t.detail), "no peer measured");
			}
		} else {
			snprintf(t.detail, sizeof(t.detail), "not measured");
		}
		report_target(s, pl, cpus, &t);
	}

	/* streaming, commit per message, vs the best peer */
	memset(&t, 0, sizeof(t));
	t.id = "stream_b1_ge_1.2_best_peer";
	t.text = "stream b1 >= 1.2x best peer:";
	b1 = bench_report_find(rep, "xsched_stream_b1", BENCH_THROUGHPUT, pl);
	if (b1 && !b1->skipped) {
		const struct bench_row *bp = best_peer(rep, BENCH_THROUGHPUT, pl);

		if (bp) {
			const char *bn = bp->bench;
			double best = bp->ratio_to_floor;

			t.have = 1;
			t.value = b1->ratio_to_floor / best;
			t.limit = 1.2;
			t.met = t.value >= t.limit;
			snprintf(t.detail, sizeof(t.detail), "%.2fx %s (%.2f vs %.2f M msgs/s)  %s%s",
				 t.value, bn, b1->msgs_per_s / 1e6, bp->msgs_per_s / 1e6,
				 t.met ? "met" : "MISSED",
				 b1->floor_unstable || bp->floor_unstable ? " (floor unstable: rerun)"
									  : "");
		} else {
			snprintf(t.detail, sizeof(t.detail), "no peer measured");
		}
	} else {
		snprintf(t.detail, sizeof(t.detail), "not measured");
	}
	report_target(s, pl, cpus, &t);

	/* batched streaming vs the ideal ring */
	memset(&t, 0, sizeof(t));
	t.id = "stream_b64_ge_0.6_floor";
	t.text = "stream b64 >= 0.6x floor_stream:";
	b64 = bench_report_find(rep, "xsched_stream_b64", BENCH_THROUGHPUT, pl);
	if (b64 && !b64->skipped && b64->floor_value > 0) {
		t.have = 1;
		t.value = b64->ratio_to_floor;
		t.limit = 0.6;
		t.met = t.value >= t.limit;
		snprintf(t.detail, sizeof(t.detail), "%.2fx  %s%s", t.value, t.met ? "met" : "MISSED",
			 b64->floor_unstable ? " (floor unstable: rerun)" : "");
	} else {
		snprintf(t.detail, sizeof(t.detail), "not measured");
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
				  "%sfloor_pingpong p50 ranged %.0f..%.0f ns over the %d bracketing "
				  "measurements of this placement",
				  rep->opts->format == BENCH_TABLE ? "\nnote: " : "", s->floor_min,
				  s->floor_max, s->nfloors);
	check_targets(s, pl, cpus);
}

int main(int argc, char **argv)
{
	struct ql_opts o;
	struct ql_state s;
	char header[256], why[160];
	const char *plist;
	int rc, n_sel = 0, i, any = 0;

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
	if (o.list) {
		printf("latency:\n  %-26s %s\n", "floor_pingpong", "bare cache-line ping-pong");
		for (i = 0; i < NLAT; i++)
			printf("  %-26s %s\n", row_name(&lat_rows[i]),
			       lat_rows[i].t ? lat_rows[i].t->what : lat_rows[i].missing);
		printf("throughput:\n  %-26s %s\n", "floor_stream",
		       "ideal batched ring of the same message size");
		for (i = 0; i < NTP; i++)
			printf("  %-26s %s\n", row_name(&tp_rows[i]),
			       tp_rows[i].t ? tp_rows[i].t->what : tp_rows[i].missing);
		return 0;
	}

	bench_clock_init(o.b.clock_force_monotonic);
	memset(&s, 0, sizeof(s));
	s.o = &o;
	if (bench_hist_init(&s.hist) < 0 || bench_hist_init(&s.fhist) < 0)
		return 1;
	snprintf(header, sizeof(header),
		 "message %zu B, capacity %u, %llu samples per latency row, %d trials per "
		 "throughput row, cap %.3g s per row",
		 o.msg_size, o.capacity, (unsigned long long)o.b.iters, o.trials, o.b.duration_s);
	rc = bench_report_begin(&s.rep, &o.b, "queue_latency", header);
	if (rc < 0) {
		fprintf(stderr, "queue_latency: topology: %s (%s)\n", xs_strerror(rc), xs_errmsg());
		return 1;
	}
	for (i = 0; i < NLAT; i++)
		n_sel += bench_selected(&o.b, row_name(&lat_rows[i]));
	for (i = 0; i < NTP; i++)
		n_sel += bench_selected(&o.b, row_name(&tp_rows[i]));
	n_sel += 2; /* the two floor rows */

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
	bench_hist_free(&s.fhist);
	if (!any) {
		fprintf(stderr, "queue_latency: no pair of CPUs of the kind asked for (--pairs %s) "
				"on this machine; see the notes above\n", o.b.pairs);
		bench_report_end(&s.rep);
		return 1;
	}
	return bench_report_end(&s.rep) < 0 ? 1 : 0;
}
