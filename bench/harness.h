/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched benchmark harness: everything a benchmark in bench/ needs so that
 * all of them measure, compare and print the same way.
 *
 * ===================================================================== *
 *  For authors of bench/<x>_bench.c (alloc_bench, handshake_bench, ...)  *
 * ===================================================================== *
 * Link with the `xs_bench_harness` target (bench/CMakeLists.txt) and:
 *
 *   struct bench_opts o;
 *   bench_opts_defaults(&o);             // iters, duration, format, ...
 *   rc = bench_opts_parse(&o, argc, argv, my_longopts, my_cb, &me);
 *   if (rc) ...                          // 1: --help, -1: bad option (exit 2)
 *                                        // common + runtime (--cpus, --topology)
 *                                        // options, yours through my_cb
 *   bench_clock_init(o.clock_force_monotonic);  // TSC if invariant, else
 *                                        // CLOCK_MONOTONIC_RAW (says which)
 *   struct bench_report rep;
 *   bench_report_begin(&rep, &o, "alloc_bench", NULL);  // prints machine header
 *   ... measure: bench_ticks() around each sample, bench_hist_record() ...
 *   struct bench_row r;
 *   bench_row_latency(&r, "slab_alloc_local", "core", cpus, 2, &hist);
 *   bench_row_floor(&r, "malloc", before_ns, after_ns); // ratio vs a baseline
 *                                        // measured just before and after (e.g. malloc)
 *   bench_row_wait(&r, BENCH_WAIT_POLL_RELAX); // how the receiving side waited
 *   bench_report_row(&rep, &r);          // table line or one JSON object
 *   bench_report_end(&rep);              // closing notes, --plot
 *
 * Output conventions (scripts depend on them, see bench/README.md):
 *  - `--format table` (default): a readable table on stdout; `--format json`:
 *    one JSON object per line, every object has "bench" (row name),
 *    "placement" and "cpus"; units are in key names (p50_ns, msgs_per_s).
 *  - Latency rows: p50_ns p90_ns p99_ns p999_ns max_ns (+ floor_p50_ns,
 *    floor_bench, ratio_to_floor and its spread ratio_to_floor_min/_max
 *    when a baseline was attached). Throughput rows: msgs_per_s (+ the same
 *    floor keys with floor_msgs_per_s). Every row says how its receiver
 *    waited: "wait" (bench_row_wait(), BENCH_WAIT_*).
 *  - A ratio only ever divides by something measured in the same run and
 *    named by <K>_bench; figures from elsewhere go apart through
 *    bench_report_quoted() (tests/bench/bench_json_check enforces both).
 *  - Diagnostics and the progress line go to stderr (bench_progress()).
 *  - No benchmark asserts a timing; ratios against a baseline measured in the
 *    same run are the headline, absolute times are context.
 *
 * Pieces (one source file each, readable alone):
 *  - harness_opts.c   options, --only/--plot checks, error format
 *  - harness_clock.c  clock
 *  - harness_hist.c   histogram and percentiles
 *  - harness_pair.c   topology, CPU pairs, two-sided runs on pinned reactors
 *  - harness_floor.c  the floors, throughput trials, ratio statistics
 *  - harness_report.c machine description, rows, table and JSON output
 *  - harness_plot.c   --plot through gnuplot
 *
 *  - Clock: bench_ticks() is rdtsc when the TSC is invariant (cpuid
 *    0x80000007 EDX bit 8) and calibrated against CLOCK_MONOTONIC_RAW,
 *    otherwise clock_gettime(CLOCK_MONOTONIC_RAW) in ns. Convert with
 *    bench_ticks_to_ns(). Deadlines: bench_deadline()/bench_expired().
 *    bench_clock says which clock, its read cost and its resolution.
 *  - Histogram: struct bench_hist, log-linear (HDR-style), 128 sub-buckets
 *    per power of two (relative error < 0.8 %), exact min/max/count, about
 *    60 KiB, no allocation in bench_hist_record(); percentiles are the
 *    nearest-rank bucket, interpolated only between neighbouring buckets
 *    one clock step apart (right even with a clock that ticks in steps).
 *  - Placement: bench_topo_load() takes the runtime's topology (hwloc,
 *    affinity, cgroup, --cpus, --topology); bench_plan() picks two CPUs for
 *    "smt" (siblings), "core" (two cores of one node) or "numa" (two nodes)
 *    and says why when the machine lacks it.
 *  - Two-sided runs: bench_run_pair() runs two functions as lightweight
 *    threads on two pinned runtime reactors, released together by a spin
 *    barrier (struct bench_barrier); bench_run_one() runs one side in this
 *    process (two-process benchmarks: fork, one side each).
 *  - Waiting: every row says how its receiving side waited
 *    (bench_row_wait(), BENCH_WAIT_*). The default of spinning rows is the
 *    runtime's own: poll, and when nothing is there one bench_relax()
 *    (== xs_cpu_relax(), what an idle reactor round does) before polling
 *    again. bench_spin_*() give the pacing of xs_spsc_wait() to loops that
 *    wait on something else than an xsched queue (the "paced" rows).
 *  - Floors: bench_floor_pingpong() (bare cache-line ping-pong, one flag each
 *    way), bench_floor_slot_pingpong() (the queue format's own floor: a slot
 *    and a counter each way) and bench_floor_stream() (an ideal batched ring
 *    of a given message size), for ratios "this row / what the hardware
 *    allows"; bench_trials() runs median-of-N throughput trials sized to a
 *    duration; bench_ratio_of() summarises per-pair ratios of interleaved
 *    measurements (median and spread).
 *  - Results: bench_row_latency()/bench_row_throughput()/bench_row_skipped(),
 *    bench_row_floor() (baseline before and after, ratio and its spread,
 *    >25 % = unstable), bench_row_floor_bound() (the same for a baseline that
 *    is a lower bound: a row beating it is flagged "floor unreliable"),
 *    bench_row_ratio() (interleaved rounds, primary or second floor),
 *    bench_row_num()/bench_row_str() for extra JSON keys (units in names).
 *  - Quoted figures (measured elsewhere, e.g. upstream's on another machine)
 *    are never divided by: bench_report_quoted() prints them apart, labelled
 *    "quoted, another machine".
 *  - Machine description: struct bench_machine (CPU model, kernel, nodes,
 *    SMT, hypervisor, huge pages, clock), printed once per run.
 *  - Plot: bench_report_end() writes an SVG or PNG of the latency
 *    percentiles per row via gnuplot when --plot FILE was given.
 *  - Smoke tests: tests/bench/bench_json_check runs a benchmark and checks
 *    its JSON lines and that every expected row has numbers (no timings).
 *
 * Everything here is benchmark-only (prefix bench_), never part of libxsched.
 * This header is valid C11 and C++ (the Boost peer is a C++ file; in C++,
 * -Wshadow objects to xsched/topo.h, see bench/CMakeLists.txt).
 */
#ifndef XS_BENCH_HARNESS_H
#define XS_BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdio.h>
#include <time.h>

#include <getopt.h>

#include "xsched/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_INLINE static inline __attribute__((always_inline))

/* ------------------------------------------------------------- options */

enum bench_format { BENCH_TABLE = 0, BENCH_JSON = 1 };

/** Options every benchmark understands (bench_opts_parse). */
struct bench_opts {
	uint64_t iters;        /**< --iters N: samples per latency row */
	double duration_s;     /**< --duration S: time cap per row (seconds) */
	enum bench_format format; /**< --format table|json */
	const char *plot;      /**< --plot FILE (.svg or .png) */
	const char *only;      /**< --only PATTERN[,PATTERN...] (fnmatch globs on row names) */
	const char *pairs;     /**< --pairs auto|smt,core,numa: CPU pairs to measure */
	int clock_force_monotonic; /**< --clock monotonic: never use the TSC */
	int progress;          /**< --progress / --no-progress; -1 = when stderr is a tty */
	int quiet;             /**< -q: no header/notes in table mode */
	struct xs_rt_opts rt;  /**< the runtime's standard options: --cpus LIST (CPUs the
	                            pairs are planned in), --topology, --idle, ... */
};

/** Fill @p o with the defaults (iters 100000, duration 1 s, table, pairs auto). */
void bench_opts_defaults(struct bench_opts *o);

/** getopt_long values of the common options (programs use values below 0x100
 *  or from BENCH_OPT_USER up for their own). */
enum bench_opt_id {
	BENCH_OPT_ITERS = 0x100,
	BENCH_OPT_DURATION,
	BENCH_OPT_FORMAT,
	BENCH_OPT_PLOT,
	BENCH_OPT_ONLY,
	BENCH_OPT_PAIRS,
	BENCH_OPT_CLOCK,
	BENCH_OPT_PROGRESS,
	BENCH_OPT_NO_PROGRESS,
	BENCH_OPT_USER = 0x200,
};

/**
 * Parse argv with getopt_long: the common options above, the runtime's
 * standard options (XS_RT_LONG_OPTIONS, parsed by xs_rt_opts_parse) and the
 * program's own @p extra options (NULL-terminated struct option array, may
 * be NULL), each of which is handed to @p on_extra(ctx, val, optarg), which
 * returns 0 or -1 (bad value, message printed).
 * @return 0, 1 when -h/--help was given (print usage and exit 0), or -1 on
 *         a bad option or value (message on stderr; exit 2).
 */
int bench_opts_parse(struct bench_opts *o, int argc, char **argv, const struct option *extra,
		     int (*on_extra)(void *ctx, int opt, const char *arg), void *ctx);

/** Print the common options' help lines (and the runtime's). */
void bench_opts_usage(FILE *f);

/** True when @p row is selected by --only (always true without --only). */
bool bench_selected(const struct bench_opts *o, const char *row);

/**
 * Check --only against the program's @p n row names before anything runs:
 * every pattern must match at least one of them.
 * @return 0, or -1 with "<program>: --only: 'PAT' matches no row ..." on
 *         stderr (exit 2).
 */
int bench_only_check(const struct bench_opts *o, const char *const *names, int n);

/** The program name used in messages (basename of argv[0], set by bench_opts_parse). */
extern const char *bench_progname;

/**
 * Print a bad-option message in the one format every benchmark uses:
 * "<program>: <opt>: <what is wrong>\n" on stderr. For the on_extra
 * callbacks of bench_opts_parse().
 */
void bench_opt_error(const char *opt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- clock */

/** Clock state, set once by bench_clock_init(). */
struct bench_clock {
	int tsc;                /**< 1: bench_ticks() is rdtsc; 0: CLOCK_MONOTONIC_RAW ns */
	int tsc_invariant;      /**< cpuid says invariant TSC */
	double tsc_hz;          /**< calibrated TSC frequency (0 when not used) */
	double ns_per_tick;     /**< 1e9 / tsc_hz, or 1.0 */
	double read_cost_ns;    /**< cost of one bench_ticks() (median of many) */
	double resolution_ns;   /**< typical step between two different readings */
	const char *name;       /**< "tsc" or "monotonic_raw" */
	const char *why;        /**< why this clock was chosen */
};
extern struct bench_clock bench_clock;

/**
 * Choose and calibrate the clock (about 30 ms). @p force_monotonic selects
 * CLOCK_MONOTONIC_RAW even when the TSC is usable.
 */
void bench_clock_init(int force_monotonic);

/** CLOCK_MONOTONIC_RAW in ns. */
BENCH_INLINE uint64_t bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/** Current time in ticks (TSC cycles or ns, see bench_clock). Not serializing. */
BENCH_INLINE uint64_t bench_ticks(void)
{
#if defined(__x86_64__)
	if (__builtin_expect(bench_clock.tsc, 1))
		return __builtin_ia32_rdtsc();
#endif
	return bench_mono_ns();
}

BENCH_INLINE double bench_ticks_to_ns(double ticks)
{
	return ticks * bench_clock.ns_per_tick;
}

BENCH_INLINE uint64_t bench_ns_to_ticks(double ns)
{
	return (uint64_t)(ns / bench_clock.ns_per_tick);
}

/** A deadline @p seconds from now, in ticks (UINT64_MAX when seconds <= 0). */
uint64_t bench_deadline(double seconds);

BENCH_INLINE bool bench_expired(uint64_t deadline)
{
	return bench_ticks() >= deadline;
}

/**
 * Spin-wait hint: xs_cpu_relax() (pause on x86), what the runtime's reactor
 * does after a round in which no lthread found work. Every spin loop of
 * every row uses this one.
 */
BENCH_INLINE void bench_relax(void)
{
	xs_cpu_relax();
}

/*
 * How a row's receiving side waited (JSON key "wait", table column "wait").
 * Every row names one; a sender that finds its queue full always retries
 * after one bench_relax().
 */
/** poll once; when nothing is there, one bench_relax() and poll again (the
 *  reactor's idle round; the default of every spinning row) */
#define BENCH_WAIT_POLL_RELAX "poll_relax"
/** the pacing of xs_spsc_wait(): xsched rows call it, the others follow the
 *  same policy through bench_spin_*() */
#define BENCH_WAIT_PACED "paced"
/** lthreads of a runtime: the poll function returns when nothing is there
 *  and the reactor loop relaxes once before the next round */
#define BENCH_WAIT_REACTOR "reactor"
/** blocked in the kernel (read, futex, epoll, waitid ...) */
#define BENCH_WAIT_BLOCK "block"
/** nothing waits: one thread does all the work (allocator pairs, a producer
 *  alone) */
#define BENCH_WAIT_NONE "none"

/**
 * Receive-side pacing (BENCH_WAIT_PACED), the policy of xs_spsc_wait()
 * (xsched/spsc.h) for loops that are not waiting on an xsched queue (the
 * streaming floor; the peers' *_paced rows of queue_latency): after a
 * receive finds nothing, wait before
 * trying again, in bench_relax() periods, as many as the items the previous
 * run of successful receives delivered (capped at BENCH_SPIN_MAX), then one
 * period per further empty try. A ping-pong delivers one item per run: its
 * receiver re-polls every period, as a plain pause loop does. A stream
 * delivers many: the receiver steps back and lets the
 * producer publish a batch without pulling the producer's counter line away
 * after every message, which is what limits streaming with a commit per
 * message.
 */
#define BENCH_SPIN_MAX 64u /* == XS_SPSC_PACE_MAX (checked in harness_floor.c; spsc.h is C only) */

struct bench_spin {
	uint32_t run; /**< successful receives since the last empty one */
};

/** A receive succeeded. */
BENCH_INLINE void bench_spin_got(struct bench_spin *s)
{
	s->run++;
}

/** A receive (or a sync) delivered @p n items. */
BENCH_INLINE void bench_spin_got_n(struct bench_spin *s, uint32_t n)
{
	s->run += n;
}

/** A receive found nothing: wait as the policy says. */
BENCH_INLINE void bench_spin_empty(struct bench_spin *s)
{
	uint32_t n = 1;

	if (s->run) {
		n = s->run < BENCH_SPIN_MAX ? s->run : BENCH_SPIN_MAX;
		s->run = 0;
	}
	while (n--)
		bench_relax();
}

/* ------------------------------------------------------------ histogram */

#define BENCH_HIST_SUB_BITS 7 /* 128 sub-buckets per power of two */
#define BENCH_HIST_SUB      (1u << BENCH_HIST_SUB_BITS)
#define BENCH_HIST_BUCKETS  ((64 - BENCH_HIST_SUB_BITS + 1) * BENCH_HIST_SUB)

/**
 * Log-linear histogram of non-negative integer values (ticks). Values below
 * 128 are exact; above, each power of two is split into 128 equal buckets.
 */
struct bench_hist {
	uint64_t count, min, max;
	double sum;
	uint64_t *b; /**< BENCH_HIST_BUCKETS counters */
};

/** @return 0 or -ENOMEM. */
int bench_hist_init(struct bench_hist *h);
void bench_hist_free(struct bench_hist *h);
void bench_hist_reset(struct bench_hist *h);
/** Add every sample of @p src to @p dst. */
void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src);

BENCH_INLINE unsigned bench__hist_index(uint64_t v)
{
	unsigned m;

	if (v < BENCH_HIST_SUB)
		return (unsigned)v;
	m = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS */
	return (m - BENCH_HIST_SUB_BITS + 1) * BENCH_HIST_SUB +
	       (unsigned)((v >> (m - BENCH_HIST_SUB_BITS)) - BENCH_HIST_SUB);
}

BENCH_INLINE void bench_hist_record(struct bench_hist *h, uint64_t v)
{
	h->b[bench__hist_index(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/**
 * Value at percentile @p pct (0..100): the bucket of the nearest-rank
 * sample, interpolated only between neighbouring occupied buckets at most
 * one clock step apart (sub-step values with a clock that ticks in steps,
 * see harness_hist.c; never across an empty span, so a sparse tail reports a
 * measured value), clamped to [min, max]; 100 gives the exact max; 0 for an
 * empty histogram.
 */
double bench_hist_percentile(const struct bench_hist *h, double pct);

/* ------------------------------------------------------------ placement */

#define BENCH_MAX_CPUS 1024

/**
 * What the machine offers this process, from the runtime's topology
 * (xsched/topo.h: hwloc, the affinity mask, the cgroup cpuset, --cpus), or
 * from a synthetic / XML topology given with --topology (then the planned
 * CPUs are remapped onto the real allowed CPUs when running, and every row
 * says which topology it was planned on).
 */
struct bench_topo {
	struct xs_topo *xt;           /**< the runtime topology (owned) */
	int system;                   /**< 1: xt is this machine */
	char source[96];              /**< xs_topo_source() */
	int ncpus;                    /**< CPUs usable (allowed ∩ --cpus) */
	int cpu[BENCH_MAX_CPUS];      /**< their ids, ascending */
	int core[BENCH_MAX_CPUS];     /**< core index */
	int node[BENCH_MAX_CPUS];     /**< NUMA node index */
	int nnodes;                   /**< distinct nodes among them */
	int smt;                      /**< some core has two usable siblings */
};

/**
 * Load the topology the options name (--topology, $XS_TOPOLOGY, else this
 * machine), restricted to --cpus, and make bench_run_pair() pin (or remap)
 * accordingly. @return 0 or a negative error (message in xs_errmsg()).
 */
int bench_topo_load(struct bench_topo *t, const struct bench_opts *o);
void bench_topo_free(struct bench_topo *t);

/** Index of @p cpu in t->cpu, or -1. */
int bench_topo_find(const struct bench_topo *t, int cpu);

/** Placement name of a pair of CPUs: "smt", "core" or "numa". */
const char *bench_topo_relation(const struct bench_topo *t, int a, int b);

/**
 * Pick two CPUs for @p placement ("smt", "core", "numa"). Prefers CPUs other
 * than 0 when there is a choice (interrupts and housekeeping land on 0).
 * @return 0 and out[0..1], or -ENOENT with @p why explaining what is missing.
 */
int bench_plan(const struct bench_topo *t, const char *placement, int out[2], char *why,
	       size_t whylen);

/** Pin the calling thread to @p cpu. @return 0 or -errno. */
int bench_pin_self(int cpu);

/**
 * Warm-up then measurement of a latency loop, both bounded in time, so that
 * a loaded machine (a partner preempted for milliseconds per sample) cannot
 * stretch a row far past --duration: the warm-up ends after @p warmup
 * samples or a quarter of @p max_s, whichever comes first; the measurement
 * after @p iters samples or @p max_s. Use:
 *
 *   struct bench_window w;
 *   bench_window_start(&w, warmup, iters, max_s);
 *   for (i = 0; !w.done; i++) {
 *           t0 = bench_ticks(); ... one round trip ...; t1 = bench_ticks();
 *           if (bench_window_step(&w, i, t1))
 *                   bench_hist_record(h, t1 - t0);
 *   }
 */
struct bench_window {
	uint64_t warmup, iters, n; /**< planned samples; n: last one + 1 once measuring */
	uint64_t deadline, span;   /**< current phase's end; measurement length (ticks) */
	int measuring, done;
};

BENCH_INLINE void bench_window_start(struct bench_window *w, uint64_t warmup, uint64_t iters,
				     double max_s)
{
	w->warmup = warmup;
	w->iters = iters;
	w->n = warmup + iters;
	w->span = max_s > 0 ? bench_ns_to_ticks(max_s * 1e9) : UINT64_MAX / 4;
	w->deadline = bench_ticks() + (warmup ? w->span / 4 : w->span);
	w->measuring = warmup == 0;
	w->done = iters == 0;
}

/** After sample @p i (0-based) ended at @p t: 1 when it is to be recorded
 *  (0 during the warm-up); sets w->done after the last one. */
BENCH_INLINE int bench_window_step(struct bench_window *w, uint64_t i, uint64_t t)
{
	if (!w->measuring) {
		if (i + 1 >= w->warmup || ((i & 255) == 255 && t > w->deadline)) {
			w->measuring = 1;
			w->n = i + 1 + w->iters;
			w->deadline = t + w->span;
		}
		return 0;
	}
	if (i + 1 >= w->n || ((i & 255) == 0 && t > w->deadline))
		w->done = 1;
	return 1;
}

/** Spin barrier for two (or more) threads. */
struct bench_barrier {
	unsigned parties;
	unsigned arrived; /* atomic */
	unsigned phase;   /* atomic */
};
void bench_barrier_init(struct bench_barrier *b, unsigned parties);
void bench_barrier_wait(struct bench_barrier *b);

/**
 * Run fa(a) and fb(b) as two lightweight threads of the xsched runtime, each
 * alone on a reactor pinned to @p cpu_a / @p cpu_b (remapped onto the real
 * allowed CPUs when the topology is synthetic), and wait for both. Each
 * function runs once (its whole loop) and should call bench_barrier_wait()
 * on a barrier shared with the other side before its timed part.
 * @return 0 or a negative error (pinning failed: -XS_ERT_PIN ...).
 */
int bench_run_pair(int cpu_a, void *(*fa)(void *), void *a, int cpu_b, void *(*fb)(void *),
		   void *b);

/** Reactor counters of a bench_run_pair_polls() run, side a [0] and b [1]. */
struct bench_pair_stats {
	uint64_t rounds[2];      /**< reactor loop rounds */
	uint64_t idle_rounds[2]; /**< rounds in which the lthread found nothing */
	uint64_t polls[2];       /**< calls of the poll function */
};

/**
 * Like bench_run_pair(), but @p pa and @p pb are real lthread poll functions
 * (xsched/runtime.h: a bounded step, > 0 when they did work, 0 when they
 * found nothing, XS_RT_DONE when finished): each reactor loops over its
 * lthread as in production, relaxing once after an idle round, so the
 * reactor's per-round cost is part of what is measured. @p st (may be NULL)
 * receives the reactors' counters.
 * @return 0 or a negative error.
 */
int bench_run_pair_polls(int cpu_a, xs_rt_poll_fn pa, void *a, int cpu_b, xs_rt_poll_fn pb,
			 void *b, struct bench_pair_stats *st);

/**
 * Run fn(arg) as one lightweight thread on a reactor pinned to @p cpu, in
 * the calling process (for two-process rows: each process runs one side).
 * @p slot (0 for side a, 1 for side b) picks the real CPU when the pairs
 * were planned on a synthetic topology, as bench_run_pair() does.
 * @return 0 or a negative error.
 */
int bench_run_one(int cpu, int slot, void *(*fn)(void *), void *arg);

/* --------------------------------------------------------------- floors */

/**
 * Bare cache-line ping-pong between @p cpu_a and @p cpu_b: A stores a
 * counter into its line, B waits for it and answers in its own line; each
 * round trip (as seen by A, timed with bench_ticks()) goes into @p hist.
 * Runs @p iters round trips (after a short warm-up) or until @p max_s.
 * @return 0 or -errno.
 */
int bench_floor_pingpong(int cpu_a, int cpu_b, uint64_t iters, double max_s,
			 struct bench_hist *hist);

/**
 * The queue format's own floor (a counter plus a slot each way): the sender
 * copies a @p msg_size byte message into the next slot of a ring laid out as
 * a shaq queue (slots from offset 192, @p msg_size apart, @p capacity of
 * them), then publishes its position in a counter on its own line; the
 * receiver polls the counter and copies the slot out (nothing released,
 * nothing validated but the sequence). Each side answers on a second such
 * ring. With @p touch the receiver also touches (prefetches) the line(s) of
 * the next slot each time its poll finds nothing, as xs_spsc_wait() does, so
 * that line is already on its way when the counter moves. The rings are
 * memfd segments (huge pages first), the same memory as the queue rows'.
 * Receivers wait as BENCH_WAIT_POLL_RELAX says. Round trips as seen by A go
 * into @p hist, as bench_floor_pingpong().
 * @return 0 or -errno (-EINVAL: msg_size not a multiple of 8 in 8..1024,
 *         capacity not a power of two).
 */
int bench_floor_slot_pingpong(int cpu_a, int cpu_b, size_t msg_size, uint32_t capacity,
			      int touch, uint64_t iters, double max_s, struct bench_hist *hist);

/**
 * Streaming floor: an ideal single-producer single-consumer ring of
 * @p capacity slots of @p msg_size bytes (same stride as a shaq ring),
 * producer on @p cpu_a publishing every @p batch messages, consumer on
 * @p cpu_b copying each message out and releasing space every @p batch.
 * Nothing is validated and both ends cache the peer's counter. The consumer
 * waits with the pacing of xs_spsc_wait() (BENCH_WAIT_PACED: the faster of
 * the two ways on a stream). Runs @p trials trials of about @p trial_s
 * seconds each.
 * @return median messages per second over the trials, or a negative -errno.
 */
double bench_floor_stream(int cpu_a, int cpu_b, size_t msg_size, uint32_t capacity,
			  uint32_t batch, int trials, double trial_s);

/** bench_floor_stream() with the consumer waiting paced (@p paced 1) or as
 *  BENCH_WAIT_POLL_RELAX (0). */
double bench_floor_stream_wait(int cpu_a, int cpu_b, size_t msg_size, uint32_t capacity,
			       uint32_t batch, int paced, int trials, double trial_s);

/**
 * Throughput trials: @p run(ctx, n) moves n messages and returns the elapsed
 * seconds (or a negative -errno). A first run of 20000 messages (capped by
 * @p max_msgs, 0 = no cap) warms up and sizes the others to about
 * @p trial_s seconds each; then @p trials runs.
 * @return the median msgs/s (best one in *best when not NULL), or -errno.
 */
double bench_trials(double (*run)(void *ctx, uint64_t n), void *ctx, int trials, double trial_s,
		    uint64_t max_msgs, double *best);

/**
 * Summary of per-pair ratios (row / adjacent floor, one per round of an
 * interleaved measurement): the median and the extremes.
 */
struct bench_ratio {
	double median, min, max;
	int n; /**< pairs; 0 = no ratio */
};

/** Fill @p out from the @p n ratios at @p v (values <= 0 or not finite are skipped). */
void bench_ratio_of(struct bench_ratio *out, const double *v, int n);

/* -------------------------------------------------------------- machine */

struct bench_machine {
	char cpu_model[128];
	char kernel[160];
	char hypervisor[32]; /**< "" on bare metal */
	int cpus_online;
	int nnodes;
	int smt;
	long hugepages_2m_total;
	long hugepages_2m_free;
};

void bench_machine_describe(struct bench_machine *m, const struct bench_topo *t);

/* -------------------------------------------------------------- results */

enum bench_kind { BENCH_LATENCY = 0, BENCH_THROUGHPUT = 1, BENCH_INFO = 2 };

#define BENCH_MAX_EXTRA 16

/** A second floor of a row (queue_latency: the format floor beside the flag floor). */
struct bench_floor2 {
	const char *key;   /**< JSON key stem, e.g. "format_floor" (NULL: none) */
	const char *name;  /**< the floor row(s) it comes from, comma separated */
	const char *label; /**< table column label, e.g. "format" */
	double value;      /**< ns (latency) or msgs/s (throughput) */
	struct bench_ratio ratio;
	int bound;         /**< the floor is a bound: beating it flags unreliable */
	int unreliable;    /**< bound and the median ratio beats it */
};

/** One result line. Build with bench_row_latency()/bench_row_throughput(). */
struct bench_row {
	char bench[48];
	char placement[16];
	int cpus[2];
	int ncpus;
	enum bench_kind kind;
	/* latency (ns) */
	uint64_t samples;
	double p50_ns, p90_ns, p99_ns, p999_ns, max_ns, min_ns, mean_ns;
	/* throughput */
	double msgs_per_s;
	/* baseline of the same run ("floor"): the mean of the measurements just
	 * before and just after this row; 0 when none */
	double floor_value;        /**< ns (latency) or msgs/s (throughput) */
	double floor_before, floor_after;
	double ratio_to_floor;     /**< latency: p50 / floor; throughput: msgs_per_s / floor */
	int floor_unstable;        /**< the two floors differ by more than 25 % */
	const char *floor_name;    /**< which baseline row, e.g. "floor_pingpong" */
	const char *floor_label;   /**< table column label (NULL: "floor") */
	double ratio_min, ratio_max; /**< spread of ratio_to_floor over the pairs */
	int ratio_rounds;          /**< pairs ratio_to_floor is the median of */
	int floor_bound;           /**< the baseline is a bound of this row (a floor, not
	                                just a reference): beating it is noise */
	int floor_unreliable;      /**< floor_bound and the row beats it (latency ratio
	                                < 1, throughput ratio > 1): "floor unreliable in
	                                this run", never a result */
	struct bench_floor2 f2;    /**< a second floor, when f2.key is set */
	const char *wait;          /**< how the receiving side waited (BENCH_WAIT_*) */
	/* extra key/values printed in JSON (and some in the table notes) */
	int nextra;
	struct {
		const char *key;
		const char *str; /**< string value, or NULL for num */
		double num;
	} extra[BENCH_MAX_EXTRA];
	char note[160]; /**< free text for the table (skip reasons, caveats) */
	int skipped;    /**< 1: row did not run; note says why */
	int errors;     /**< payload/sequence errors seen (must be 0) */
};

/** Start a latency row from @p h (ticks). */
void bench_row_latency(struct bench_row *r, const char *bench, const char *placement,
		       const int *cpus, int ncpus, const struct bench_hist *h);
/** Start a throughput row. */
void bench_row_throughput(struct bench_row *r, const char *bench, const char *placement,
			  const int *cpus, int ncpus, double msgs_per_s);
/** A row that could not run: @p why goes into the note. */
void bench_row_skipped(struct bench_row *r, enum bench_kind kind, const char *bench,
		       const char *placement, const int *cpus, int ncpus, const char *why);
/**
 * Attach the adjacent baseline: @p before and @p after (ns or msgs/s; pass
 * after < 0 when only one exists). Sets floor_value, ratio_to_floor and
 * floor_unstable (> 25 % apart).
 */
void bench_row_floor(struct bench_row *r, const char *floor_name, double before, double after);
/**
 * bench_row_floor() for a baseline that bounds the row (a latency cannot be
 * below it, a throughput not above): a row that beats it gets
 * floor_unreliable (reported as "floor unreliable in this run").
 */
void bench_row_floor_bound(struct bench_row *r, const char *floor_name, double before,
			   double after);
/**
 * Attach a floor measured interleaved with the row: @p ratio summarises the
 * per-pair ratios (bench_ratio_of()), @p floor_value is the typical floor
 * (e.g. the median of the adjacent floors). @p which 0 sets the primary
 * floor (JSON floor_*, ratio_to_floor*), 1 the second one, whose JSON keys
 * start with @p key ("format_floor" -> format_floor_p50_ns,
 * ratio_to_format_floor, ...). @p label is the table column label. With
 * @p bound, a median that beats the floor sets the unreliable flag.
 * @p floor_name, @p key and @p label must outlive the report.
 */
void bench_row_ratio(struct bench_row *r, int which, const char *key, const char *label,
		     const char *floor_name, double floor_value, const struct bench_ratio *ratio,
		     int bound);
/** Say how the row's receiving side waited (BENCH_WAIT_* or a static string). */
void bench_row_wait(struct bench_row *r, const char *how);
/** Add a numeric extra key (units in the name, e.g. "msg_bytes"). */
void bench_row_num(struct bench_row *r, const char *key, double v);
/** Add a string extra key. @p v must outlive the report (static or interned). */
void bench_row_str(struct bench_row *r, const char *key, const char *v);

/** Output state of one run. */
struct bench_report {
	const struct bench_opts *opts;
	const char *program;
	FILE *out;
	struct bench_machine machine;
	struct bench_topo topo;
	int nrows, cap;
	struct bench_row *rows; /**< every row reported (for notes and --plot) */
	int header_done;
	enum bench_kind last_kind;
	char section[64];
	int progress_shown;
	int unstable_rows;
	int unreliable_rows;
};

/**
 * Begin a report: loads the topology, describes the machine, prints the
 * header (table) or the {"bench":"machine",...} line (json). @p extra_header
 * is an optional line of run parameters for the table header.
 */
int bench_report_begin(struct bench_report *rep, const struct bench_opts *o, const char *program,
		       const char *extra_header);
/** Print a section title in table mode ("latency (round trip)", ...). */
void bench_report_section(struct bench_report *rep, const char *title);
/** Print one row and keep it. */
void bench_report_row(struct bench_report *rep, const struct bench_row *r);
/** Print a free-form note (table: "  note: ..."; json: {"bench":"note",...}). */
void bench_report_note(struct bench_report *rep, const char *placement, const int *cpus,
		       int ncpus, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/**
 * A figure measured elsewhere (upstream's, another machine), for context
 * only: printed apart from the rows, labelled "quoted, another machine",
 * never divided by. Give @p value in the unit of the rows it is context for
 * (ns, msgs/s ...) so that tests/bench can verify no ratio was made from it.
 * Table: "  quoted, another machine (<source>): <what> <value> <unit>" (ns
 * shown as us or ms when large); JSON: {"bench":"quoted","kind":"info",
 * "what":..,"quoted_value":..,"unit":..,"source":..,"label":"quoted,
 * another machine"}.
 */
void bench_report_quoted(struct bench_report *rep, const char *what, double value,
			 const char *unit, const char *source);
/** Last reported row named @p bench of @p kind in @p placement, or NULL. */
const struct bench_row *bench_report_find(const struct bench_report *rep, const char *bench,
					  enum bench_kind kind, const char *placement);
/**
 * Finish: floor-stability footnote, --plot. @return 0, or -1 when the plot
 * was asked for and could not be made (message on stderr).
 */
int bench_report_end(struct bench_report *rep);

/** Progress line on stderr ("\r[ 3/20] row ..."), when enabled; NULL clears it. */
void bench_progress(struct bench_report *rep, int step, int steps, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/**
 * Plot the latency rows of @p rep (p50/p90/p99/p99.9 per row, log scale) to
 * @p file (.svg → SVG, .png → PNG) with gnuplot.
 * @return 0, or -1 with a clear message on stderr (gnuplot missing, bad name).
 */
int bench_plot(const struct bench_report *rep, const char *file);

/** True when gnuplot is on $PATH (--plot is refused up front otherwise). */
bool bench_have_gnuplot(void);

/* ------------------------------------------------- driving the tools */

/**
 * Start @p argv (argv[0] a path) with stdout to @p out_path and stderr to
 * @p out_path + ".err". @return 0 (*pid set) or -errno.
 */
int bench_spawn_tool(char *const argv[], const char *out_path, pid_t *pid);

/** The number after `"key": ` in the JSON file @p path (the tools' --format
 *  json summaries), or -1 when it is not there. */
double bench_json_num(const char *path, const char *key);

#ifdef __cplusplus
}
#endif
#endif /* XS_BENCH_HARNESS_H */
