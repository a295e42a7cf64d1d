/* SPDX-License-Identifier: Apache-2.0 */
/* Benchmark harness: options, clock, histogram, placement, floors, output.
 * See harness.h for the contract. */
#include "harness.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <getopt.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "xsched/common.h"
#include "xsched/spsc.h"

_Static_assert(BENCH_SPIN_MAX == XS_SPSC_PACE_MAX, "floors pace like xs_spsc_wait()");


extern char **environ;

/* ============================================================== options */

void bench_opts_defaults(struct bench_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->iters = 100000;
	o->duration_s = 1.0;
	o->format = BENCH_TABLE;
	o->pairs = "auto";
	o->progress = -1;
	xs_rt_opts_init(&o->rt);
}

void bench_opts_usage(FILE *f)
{
	fprintf(f,
		"Common benchmark options:\n"
		"  --iters N           samples per latency row (default 100000)\n"
		"  --duration S        time cap per row in seconds (default 1)\n"
		"  --format table|json table (default) or one JSON object per line\n"
		"  --plot FILE         latency percentiles per row to FILE (.svg or .png, gnuplot)\n"
		"  --only PAT[,PAT]    run only rows whose name matches a glob (floors always run)\n"
		"  --pairs P[,P]       CPU pairs: auto (every kind the machine has), smt, core, numa\n"
		"  --clock tsc|monotonic  force CLOCK_MONOTONIC_RAW instead of the invariant TSC\n"
		"  --progress, --no-progress  progress line on stderr (default: when it is a tty)\n"
		"  -q, --quiet         table without header and closing notes\n"
		"  -h, --help          this help\n"
		"  (--cpus LIST plans the pairs inside LIST: --cpus 2,3 runs on exactly 2 and 3;\n"
		"   --topology SPEC plans on a synthetic/XML topology, run remapped onto this\n"
		"   machine's CPUs; --placement/--idle are accepted and unused: every side has\n"
		"   a dedicated pinned reactor that spins)\n");
	xs_rt_opts_usage(f);
}

static int parse_u64(const char *name, const char *s, uint64_t *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end); /* accepts 1e6 */
	if (errno || end == s || *end || d < 1 || d > 1e15 || d != floor(d)) {
		fprintf(stderr, "%s: '%s' is not a positive integer\n", name, s);
		return -1;
	}
	*out = (uint64_t)d;
	return 0;
}

static int parse_seconds(const char *name, const char *s, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || *end || !(d > 0) || d > 86400) {
		fprintf(stderr, "%s: '%s' is not a duration in seconds (> 0)\n", name, s);
		return -1;
	}
	*out = d;
	return 0;
}

static int check_pairs(const char *v)
{
	char buf[64], *save = NULL, *tok;

	if (!strcmp(v, "auto"))
		return 0;
	snprintf(buf, sizeof(buf), "%s", v);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (strcmp(tok, "smt") && strcmp(tok, "core") && strcmp(tok, "numa"))
			return -1;
	return buf[0] ? 0 : -1;
}

int bench_opts_parse(struct bench_opts *o, int argc, char **argv, const struct option *extra,
		     int (*on_extra)(void *ctx, int opt, const char *arg), void *ctx)
{
	static const struct option common[] = {
		{"iters", required_argument, NULL, BENCH_OPT_ITERS},
		{"duration", required_argument, NULL, BENCH_OPT_DURATION},
		{"format", required_argument, NULL, BENCH_OPT_FORMAT},
		{"plot", required_argument, NULL, BENCH_OPT_PLOT},
		{"only", required_argument, NULL, BENCH_OPT_ONLY},
		{"pairs", required_argument, NULL, BENCH_OPT_PAIRS},
		{"clock", required_argument, NULL, BENCH_OPT_CLOCK},
		{"progress", no_argument, NULL, BENCH_OPT_PROGRESS},
		{"no-progress", no_argument, NULL, BENCH_OPT_NO_PROGRESS},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		XS_RT_LONG_OPTIONS,
	};
	const size_t ncommon = sizeof(common) / sizeof(common[0]);
	struct option *all;
	size_t nextra = 0, i;
	int c, help = 0, rc = 0;

	while (extra && extra[nextra].name)
		nextra++;
	all = calloc(ncommon + nextra + 1, sizeof(*all));
	if (!all)
		return -1;
	memcpy(all, common, sizeof(common));
	for (i = 0; i < nextra; i++)
		all[ncommon + i] = extra[i];
	optind = 1;
	opterr = 1;
	while (rc == 0 && (c = getopt_long(argc, argv, "qh", all, NULL)) != -1) {
		int r = xs_rt_opts_parse(&o->rt, c, optarg);

		if (r > 0)
			continue;
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", argv[0], xs_errmsg());
			rc = -1;
			break;
		}
		switch (c) {
		case 'h':
			help = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case BENCH_OPT_ITERS:
			rc = parse_u64("--iters", optarg, &o->iters);
			break;
		case BENCH_OPT_DURATION:
			rc = parse_seconds("--duration", optarg, &o->duration_s);
			break;
		case BENCH_OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				o->format = BENCH_JSON;
			else if (!strcmp(optarg, "table"))
				o->format = BENCH_TABLE;
			else {
				fprintf(stderr, "--format: '%s' is neither table nor json\n", optarg);
				rc = -1;
			}
			break;
		case BENCH_OPT_PLOT:
			o->plot = optarg;
			break;
		case BENCH_OPT_ONLY:
			o->only = optarg;
			break;
		case BENCH_OPT_PAIRS:
			if (check_pairs(optarg) < 0) {
				fprintf(stderr, "--pairs: '%s' is not auto or a list of smt, core, numa\n",
					optarg);
				rc = -1;
			}
			o->pairs = optarg;
			break;
		case BENCH_OPT_CLOCK:
			if (!strcmp(optarg, "monotonic") || !strcmp(optarg, "monotonic_raw"))
				o->clock_force_monotonic = 1;
			else if (!strcmp(optarg, "tsc"))
				o->clock_force_monotonic = 0;
			else {
				fprintf(stderr, "--clock: '%s' is neither tsc nor monotonic\n", optarg);
				rc = -1;
			}
			break;
		case BENCH_OPT_PROGRESS:
			o->progress = 1;
			break;
		case BENCH_OPT_NO_PROGRESS:
			o->progress = 0;
			break;
		case '?':
			rc = -1; /* getopt_long printed why */
			break;
		default:
			rc = on_extra ? on_extra(ctx, c, optarg) : -1;
			break;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
		rc = -1;
	}
	free(all);
	if (rc < 0)
		return -1;
	if (o->progress < 0)
		o->progress = isatty(STDERR_FILENO);
	return help;
}

bool bench_selected(const struct bench_opts *o, const char *row)
{
	char pat[128];
	const char *p, *e;

	if (!o->only || !*o->only)
		return true;
	for (p = o->only; *p; p = *e ? e + 1 : e) {
		size_t n;

		e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		n = (size_t)(e - p);
		if (n == 0 || n >= sizeof(pat))
			continue;
		memcpy(pat, p, n);
		pat[n] = '\0';
		if (fnmatch(pat, row, 0) == 0)
			return true;
	}
	return false;
}

/* ================================================================ clock */

struct bench_clock bench_clock = {0, 0, 0, 1.0, 0, 0, "monotonic_raw", "not initialised"};

#if defined(__x86_64__)
static int tsc_is_invariant(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
		return 0;
	__get_cpuid(0x80000007u, &a, &b, &c, &d);
	return (d >> 8) & 1; /* "TscInvariant" (AMD) / "Invariant TSC" (Intel) */
}

/* One (mono ns, tsc) pair with the tightest bracket out of a few tries. */
static void tsc_pair(uint64_t *ns, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;
	int k;

	for (k = 0; k < 7; k++) {
		uint64_t n0 = bench_mono_ns();
		uint64_t t = __builtin_ia32_rdtsc();
		uint64_t n1 = bench_mono_ns();

		if (n1 - n0 < best) {
			best = n1 - n0;
			*ns = n0 + (n1 - n0) / 2;
			*tsc = t;
		}
	}
}
#endif

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void measure_read_cost(void)
{
	enum { N = 2001 };
	static uint64_t d[N];
	int i;

	for (i = 0; i < N; i++) {
		uint64_t t0 = bench_ticks();
		uint64_t t1 = bench_ticks();

		d[i] = t1 - t0;
	}
	qsort(d, N, sizeof(d[0]), cmp_u64);
	bench_clock.read_cost_ns = bench_ticks_to_ns((double)d[N / 2]);
	/* Resolution: the typical step between two different readings (some
	 * virtual TSCs advance in steps of ~10 ns, not one cycle). */
	for (i = 0; i < N; i++) {
		uint64_t t0 = bench_ticks(), t1;

		while ((t1 = bench_ticks()) == t0)
			;
		d[i] = t1 - t0;
	}
	qsort(d, N, sizeof(d[0]), cmp_u64);
	bench_clock.resolution_ns = bench_ticks_to_ns((double)d[N / 2]);
}

void bench_clock_init(int force_monotonic)
{
	bench_clock.tsc = 0;
	bench_clock.tsc_hz = 0;
	bench_clock.ns_per_tick = 1.0;
	bench_clock.name = "monotonic_raw";
#if defined(__x86_64__)
	bench_clock.tsc_invariant = tsc_is_invariant();
	if (force_monotonic) {
		bench_clock.why = "forced by --clock monotonic";
	} else if (!bench_clock.tsc_invariant) {
		bench_clock.why = "TSC not invariant (cpuid 0x80000007 EDX[8] clear)";
	} else {
		uint64_t n0, t0, n1, t1;
		struct timespec nap = {0, 25 * 1000 * 1000};
		double hz;

		tsc_pair(&n0, &t0);
		nanosleep(&nap, NULL);
		tsc_pair(&n1, &t1);
		hz = (double)(t1 - t0) * 1e9 / (double)(n1 - n0);
		if (hz < 1e8 || hz > 2e10) {
			bench_clock.why = "TSC calibration gave an implausible frequency";
		} else {
			bench_clock.tsc = 1;
			bench_clock.tsc_hz = hz;
			bench_clock.ns_per_tick = 1e9 / hz;
			bench_clock.name = "tsc";
			bench_clock.why = "invariant TSC, calibrated against CLOCK_MONOTONIC_RAW";
		}
	}
#else
	(void)force_monotonic;
	bench_clock.why = "no TSC on this architecture";
#endif
	measure_read_cost();
}

uint64_t bench_deadline(double seconds)
{
	if (!(seconds > 0))
		return UINT64_MAX;
	return bench_ticks() + bench_ns_to_ticks(seconds * 1e9);
}

/* ============================================================ histogram */

int bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->b = calloc(BENCH_HIST_BUCKETS, sizeof(uint64_t));
	if (!h->b)
		return -ENOMEM;
	h->min = UINT64_MAX;
	return 0;
}

void bench_hist_free(struct bench_hist *h)
{
	free(h->b);
	memset(h, 0, sizeof(*h));
}

void bench_hist_reset(struct bench_hist *h)
{
	memset(h->b, 0, BENCH_HIST_BUCKETS * sizeof(uint64_t));
	h->count = 0;
	h->sum = 0;
	h->max = 0;
	h->min = UINT64_MAX;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	unsigned i;

	for (i = 0; i < BENCH_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->count && src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* Representative value of bucket @p i: exact below 128, else its midpoint. */
static double bucket_value(unsigned i)
{
	unsigned m, off;

	if (i < BENCH_HIST_SUB)
		return i;
	m = i / BENCH_HIST_SUB + BENCH_HIST_SUB_BITS - 1;
	off = i % BENCH_HIST_SUB;
	return ldexp((double)(BENCH_HIST_SUB + off), (int)(m - BENCH_HIST_SUB_BITS)) +
	       (ldexp(1.0, (int)(m - BENCH_HIST_SUB_BITS)) - 1) / 2;
}

/* Width of bucket @p i in ticks (1 below 128). */
static double bucket_width(unsigned i)
{
	if (i < BENCH_HIST_SUB)
		return 1;
	return ldexp(1.0, (int)(i / BENCH_HIST_SUB) - 1);
}

/*
 * Percentiles: the nearest-rank sample's bucket, except that between two
 * occupied buckets at most one clock step (or one bucket) apart the CDF is
 * interpolated, each bucket's count sitting at its value (its cumulative
 * count taken at the middle of its mass). With a clock that advances in
 * steps (some virtual TSCs tick every ~10 ns) the samples fall on a grid and
 * the plain median snaps to a grid point; interpolating between neighbouring
 * grid points recovers the value the (unbiased, randomly phased) steps
 * average to. Across a wider empty span nothing is interpolated: a sparse
 * tail (p99.9 of a few thousand samples) must report a value that was
 * measured, not one invented between a typical sample and an outlier.
 */
double bench_hist_percentile(const struct bench_hist *h, double pct)
{
	double rank, need, step, prev_mid = 0, prev_v = 0, seen = 0, v;
	unsigned i;
	int have_prev = 0;

	if (!h->count)
		return 0;
	if (pct >= 100)
		return (double)h->max;
	if (pct < 0)
		pct = 0;
	rank = pct / 100.0 * (double)h->count;
	/* nearest rank, 1-based; the epsilon absorbs 99.9 / 100 * 1000 = 999.0000000000001 */
	need = ceil(rank - 1e-9);
	if (need < 1)
		need = 1;
	/* the clock's step in ticks (resolution_ns is 0 before bench_clock_init) */
	step = bench_clock.resolution_ns > 0 ? bench_clock.resolution_ns / bench_clock.ns_per_tick : 1;
	for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
		double mid, start, gap;

		if (!h->b[i])
			continue;
		start = seen;
		mid = seen + (double)h->b[i] / 2;
		seen += (double)h->b[i];
		v = bucket_value(i);
		if (mid >= rank) {
			gap = 1.5 * (step > bucket_width(i) ? step : bucket_width(i));
			if (have_prev && mid > prev_mid && v - prev_v <= gap)
				v = prev_v + (v - prev_v) * (rank - prev_mid) / (mid - prev_mid);
			else if (have_prev && need <= start)
				v = prev_v; /* the nearest-rank sample is in the previous bucket */
			if (v < (double)h->min)
				v = (double)h->min;
			if (v > (double)h->max)
				v = (double)h->max;
			return v;
		}
		prev_mid = mid;
		prev_v = v;
		have_prev = 1;
	}
	return (double)h->max;
}

/* ============================================================ placement */

/* bench_run_pair(): pin to the planned CPUs (EXACT) or, when the pairs were
 * planned on a synthetic topology, remap them onto the real allowed CPUs. */
static enum xs_rt_pin bench_pin_mode = XS_RT_PIN_EXACT;

int bench_topo_load(struct bench_topo *t, const struct bench_opts *o)
{
	struct xs_cpuset use;
	int rc, cpu, i, j;

	memset(t, 0, sizeof(*t));
	rc = xs_rt_opts_topo(&o->rt, &t->xt);
	if (rc < 0)
		return rc;
	t->system = xs_topo_is_system(t->xt);
	snprintf(t->source, sizeof(t->source), "%s", xs_topo_source(t->xt));
	use = *xs_topo_allowed(t->xt);
	if (o->rt.has_cpus) {
		xs_cpuset_and(&use, &use, &o->rt.cpus);
		if (xs_cpuset_empty(&use)) {
			xs_topo_destroy(t->xt);
			t->xt = NULL;
			return xs_seterr(-XS_ERT_CPUS, "--cpus: none of these CPUs is usable here");
		}
	}
	XS_CPUSET_FOREACH(cpu, &use)
	{
		const struct xs_topo_pu *pu = xs_topo_pu_of_cpu(t->xt, cpu);

		if (!pu || t->ncpus >= BENCH_MAX_CPUS)
			continue;
		t->cpu[t->ncpus] = cpu;
		t->core[t->ncpus] = pu->core;
		t->node[t->ncpus] = pu->node < 0 ? 0 : pu->node;
		t->ncpus++;
	}
	for (i = 0; i < t->ncpus; i++) {
		int seen = 0;

		for (j = 0; j < i; j++) {
			if (t->node[j] == t->node[i])
				seen = 1;
			if (t->core[j] == t->core[i])
				t->smt = 1;
		}
		if (!seen)
			t->nnodes++;
	}
	bench_pin_mode = t->system ? XS_RT_PIN_EXACT : XS_RT_PIN_REMAP;
	return t->ncpus ? 0 : xs_seterr(-XS_ERT_CPUS, "no usable CPU in the topology");
}

void bench_topo_free(struct bench_topo *t)
{
	xs_topo_destroy(t->xt);
	t->xt = NULL;
}

int bench_topo_find(const struct bench_topo *t, int cpu)
{
	int i;

	for (i = 0; i < t->ncpus; i++)
		if (t->cpu[i] == cpu)
			return i;
	return -1;
}

const char *bench_topo_relation(const struct bench_topo *t, int a, int b)
{
	int ia = bench_topo_find(t, a), ib = bench_topo_find(t, b);

	if (ia < 0 || ib < 0)
		return "cpus";
	if (t->core[ia] == t->core[ib])
		return "smt";
	if (t->node[ia] == t->node[ib])
		return "core";
	return "numa";
}

int bench_plan(const struct bench_topo *t, const char *placement, int out[2], char *why,
	       size_t whylen)
{
	int pass, i, j;

	/* Pass 0 avoids CPU 0 (interrupts, housekeeping); pass 1 allows it. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < t->ncpus; i++) {
			if (pass == 0 && t->cpu[i] == 0)
				continue;
			for (j = i + 1; j < t->ncpus; j++) {
				if (pass == 0 && t->cpu[j] == 0)
					continue;
				if (!strcmp(bench_topo_relation(t, t->cpu[i], t->cpu[j]), placement)) {
					out[0] = t->cpu[i];
					out[1] = t->cpu[j];
					return 0;
				}
			}
		}
	}
	if (!strcmp(placement, "smt"))
		snprintf(why, whylen, "no two usable CPUs are SMT siblings (%d CPUs, no SMT)",
			 t->ncpus);
	else if (!strcmp(placement, "core"))
		snprintf(why, whylen, "no two usable cores share a NUMA node (%d CPUs)", t->ncpus);
	else if (!strcmp(placement, "numa"))
		snprintf(why, whylen, "only %d NUMA node%s among the usable CPUs", t->nnodes,
			 t->nnodes == 1 ? "" : "s");
	else
		snprintf(why, whylen, "unknown placement '%s' (smt, core, numa)", placement);
	return -ENOENT;
}

int bench_pin_self(int cpu)
{
	cpu_set_t set;
	int rc;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	return -rc;
}

void bench_barrier_init(struct bench_barrier *b, unsigned parties)
{
	b->parties = parties;
	b->arrived = 0;
	b->phase = 0;
}

void bench_barrier_wait(struct bench_barrier *b)
{
	/* Acquire on the phase load pairs with the last arriver's Release
	 * increment: everything written before the barrier by any party is
	 * visible after it. */
	unsigned phase = __atomic_load_n(&b->phase, __ATOMIC_ACQUIRE);

	if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == b->parties) {
		__atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&b->phase, 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&b->phase, __ATOMIC_ACQUIRE) == phase)
		bench_relax();
}

/* One side of a pair: an lthread whose single poll runs the side's whole loop. */
struct pair_side {
	void *(*fn)(void *);
	void *arg;
};

static int pair_poll(void *p)
{
	struct pair_side *s = p;

	s->fn(s->arg);
	return XS_RT_DONE;
}

int bench_run_pair(int cpu_a, void *(*fa)(void *), void *a, int cpu_b, void *(*fb)(void *),
		   void *b)
{
	struct pair_side sa = {fa, a}, sb = {fb, b};
	struct xs_lthread_spec la, lb;
	struct xs_rt_params p;
	struct xs_rt *rt;
	int ra, rb, rc;

	xs_rt_params_init(&p);
	p.idle = XS_IDLE_SPIN;
	p.pin = bench_pin_mode;
	rc = xs_rt_create(&rt, &p);
	if (rc < 0)
		return rc;
	memset(&la, 0, sizeof(la));
	memset(&lb, 0, sizeof(lb));
	la.name = "bench-a";
	la.poll = pair_poll;
	la.arg = &sa;
	lb.name = "bench-b";
	lb.poll = pair_poll;
	lb.arg = &sb;
	/* Reactor order matters for REMAP: a gets the first real CPU, b the next. */
	ra = xs_rt_add_reactor(rt, "xs-bench-a", cpu_a, XS_IDLE_SPIN);
	rb = xs_rt_add_reactor(rt, "xs-bench-b", cpu_b, XS_IDLE_SPIN);
	rc = ra < 0 ? ra : rb < 0 ? rb : 0;
	if (!rc)
		rc = xs_rt_add_lthread(rt, ra, &la);
	if (rc >= 0)
		rc = xs_rt_add_lthread(rt, rb, &lb);
	if (rc >= 0)
		rc = xs_rt_start(rt);
	if (rc >= 0)
		rc = xs_rt_join(rt);
	xs_rt_destroy(rt);
	return rc < 0 ? rc : 0;
}

int bench_run_one(int cpu, int slot, void *(*fn)(void *), void *arg)
{
	struct pair_side side = {fn, arg};
	struct xs_lthread_spec l;
	struct xs_rt_params p;
	struct xs_cpuset only, aff;
	struct xs_rt *rt;
	int r, rc, c, k = 0;

	xs_rt_params_init(&p);
	p.idle = XS_IDLE_SPIN;
	p.pin = bench_pin_mode;
	if (p.pin == XS_RT_PIN_REMAP) {
		/* the slot-th allowed real CPU, as bench_run_pair() maps side a/b */
		rc = xs_cpus_affinity(&aff);
		if (rc < 0)
			return rc;
		xs_cpuset_zero(&only);
		XS_CPUSET_FOREACH(c, &aff)
		{
			if (k++ == slot % (xs_cpuset_count(&aff) ? xs_cpuset_count(&aff) : 1)) {
				xs_cpuset_set(&only, c);
				break;
			}
		}
		p.remap_cpus = &only;
	}
	rc = xs_rt_create(&rt, &p);
	if (rc < 0)
		return rc;
	memset(&l, 0, sizeof(l));
	l.name = slot ? "bench-b" : "bench-a";
	l.poll = pair_poll;
	l.arg = &side;
	r = xs_rt_add_reactor(rt, slot ? "xs-bench-b" : "xs-bench-a", cpu, XS_IDLE_SPIN);
	rc = r < 0 ? r : xs_rt_add_lthread(rt, r, &l);
	if (rc >= 0)
		rc = xs_rt_start(rt);
	if (rc >= 0)
		rc = xs_rt_join(rt);
	xs_rt_destroy(rt);
	return rc < 0 ? rc : 0;
}

/* =============================================================== floors */

/* Lines 128 bytes apart: the adjacent-line prefetcher pairs 64-byte lines. */
struct floor_pp {
	uint64_t ping XS_CACHE_ALIGNED; /* written by A only */
	uint8_t pad0[120];
	uint64_t pong XS_CACHE_ALIGNED; /* written by B only */
	uint8_t pad1[120];
	struct bench_barrier bar;
	uint64_t warmup, iters, deadline_s_ticks;
	struct bench_hist *hist;
};

#define FLOOR_STOP UINT64_MAX

static void *floor_pp_a(void *p)
{
	struct floor_pp *f = p;
	uint64_t i, n = f->warmup + f->iters, deadline;
	struct bench_spin spin = {0};

	bench_barrier_wait(&f->bar);
	deadline = bench_ticks() + f->deadline_s_ticks;
	for (i = 1; i <= n; i++) {
		uint64_t t0 = bench_ticks(), t1;

		/* Release store pairs with B's Acquire load of ping. */
		__atomic_store_n(&f->ping, i, __ATOMIC_RELEASE);
		/* Acquire pairs with B's Release store of pong. */
		while (__atomic_load_n(&f->pong, __ATOMIC_ACQUIRE) != i)
			bench_spin_empty(&spin);
		bench_spin_got(&spin);
		t1 = bench_ticks();
		if (i > f->warmup)
			bench_hist_record(f->hist, t1 - t0);
		if ((i & 1023) == 0 && t1 > deadline && i > f->warmup)
			break;
	}
	__atomic_store_n(&f->ping, FLOOR_STOP, __ATOMIC_RELEASE);
	return NULL;
}

static void *floor_pp_b(void *p)
{
	struct floor_pp *f = p;
	uint64_t last = 0;
	struct bench_spin spin = {0};

	bench_barrier_wait(&f->bar);
	for (;;) {
		uint64_t v = __atomic_load_n(&f->ping, __ATOMIC_ACQUIRE);

		if (v == last) {
			bench_spin_empty(&spin);
			continue;
		}
		bench_spin_got(&spin);
		if (v == FLOOR_STOP)
			break;
		__atomic_store_n(&f->pong, v, __ATOMIC_RELEASE);
		last = v;
	}
	return NULL;
}

int bench_floor_pingpong(int cpu_a, int cpu_b, uint64_t iters, double max_s,
			 struct bench_hist *hist)
{
	struct floor_pp *f;
	int rc;

	if (posix_memalign((void **)&f, 128, sizeof(*f)))
		return -ENOMEM;
	memset(f, 0, sizeof(*f));
	bench_barrier_init(&f->bar, 2);
	f->iters = iters;
	f->warmup = iters / 10 < 1000 ? 1000 : iters / 10;
	f->deadline_s_ticks = bench_ns_to_ticks(max_s * 1e9);
	f->hist = hist;
	rc = bench_run_pair(cpu_a, floor_pp_a, f, cpu_b, floor_pp_b, f);
	free(f);
	return rc;
}

/* The ideal batched ring: counters on their own 128-byte regions, slots at a
 * 64-byte aligned start with the message size as stride (like shaq). */
struct floor_ring {
	uint64_t write XS_CACHE_ALIGNED; /* producer only */
	uint8_t pad0[120];
	uint64_t read XS_CACHE_ALIGNED; /* consumer only */
	uint8_t pad1[120];
	struct bench_barrier bar;
	uint8_t *slots;
	uint64_t mask, msgs;
	uint32_t batch;
	size_t sz;
	uint64_t t_start, t_end;
	uint64_t errors;
};

BENCH_INLINE void floor_prod_loop(struct floor_ring *r, size_t sz)
{
	/* double-buffered: word 0 of message pos is written one message ahead,
	 * so the copy never waits on a store-to-load forward */
	uint64_t msg[2][128] = {{0}}, pos = 0, limit = r->mask + 1, n = r->msgs;
	uint32_t batch = r->batch, inb = 0;

	for (size_t i = 1; i < sz / 8; i++)
		msg[0][i] = msg[1][i] = 0x0101010101010101ull * i;
	msg[1][0] = 1;
	bench_barrier_wait(&r->bar);
	r->t_start = bench_ticks();
	while (pos < n) {
		if (pos == limit) {
			/* Acquire pairs with the consumer's Release of read. */
			while ((limit = __atomic_load_n(&r->read, __ATOMIC_ACQUIRE) + r->mask + 1) ==
			       pos)
				bench_relax();
		}
		msg[(pos + 1) & 1][0] = pos + 1;
		memcpy(r->slots + (pos & r->mask) * sz, msg[pos & 1], sz);
		pos++;
		if (++inb == batch) {
			/* Release: the slot bytes before it are visible to the
			 * consumer that acquires write. */
			__atomic_store_n(&r->write, pos, __ATOMIC_RELEASE);
			inb = 0;
		}
	}
	__atomic_store_n(&r->write, pos, __ATOMIC_RELEASE);
}

BENCH_INLINE void floor_cons_loop(struct floor_ring *r, size_t sz)
{
	uint64_t msg[128], pos = 0, avail = 0, n = r->msgs, errors = 0;
	uint32_t batch = r->batch, inb = 0;
	struct bench_spin spin = {0};

	bench_barrier_wait(&r->bar);
	while (pos < n) {
		if (pos == avail) {
			/* Acquire pairs with the producer's Release of write. */
			while ((avail = __atomic_load_n(&r->write, __ATOMIC_ACQUIRE)) == pos)
				bench_spin_empty(&spin);
			bench_spin_got_n(&spin, (uint32_t)(avail - pos));
		}
		memcpy(msg, r->slots + (pos & r->mask) * sz, sz);
		errors += msg[0] != pos;
		pos++;
		if (++inb == batch || pos == avail) {
			/* Release: our reads of the slots happen before the
			 * producer may overwrite them. */
			__atomic_store_n(&r->read, pos, __ATOMIC_RELEASE);
			inb = 0;
		}
	}
	r->t_end = bench_ticks();
	r->errors = errors;
}

/* Compile-time message sizes for the common cases so the copy is inlined,
 * exactly as a typed queue would do it; any other size copies at run time. */
#define FLOOR_SIZES(X) X(8) X(16) X(24) X(32) X(40) X(48) X(56) X(64) X(128) X(256)

static void *floor_prod(void *p)
{
	struct floor_ring *r = p;

	switch (r->sz) {
#define CASE(n)                          \
	case n:                          \
		floor_prod_loop(r, n);   \
		break;
		FLOOR_SIZES(CASE)
#undef CASE
	default:
		floor_prod_loop(r, r->sz);
	}
	return NULL;
}

static void *floor_cons(void *p)
{
	struct floor_ring *r = p;

	switch (r->sz) {
#define CASE(n)                          \
	case n:                          \
		floor_cons_loop(r, n);   \
		break;
		FLOOR_SIZES(CASE)
#undef CASE
	default:
		floor_cons_loop(r, r->sz);
	}
	return NULL;
}

struct floor_stream_ctx {
	struct floor_ring *r;
	int cpu_a, cpu_b;
};

static double floor_stream_run(void *p, uint64_t n)
{
	struct floor_stream_ctx *c = p;
	struct floor_ring *r = c->r;
	int rc;

	r->write = r->read = 0;
	r->msgs = n;
	r->errors = 0;
	bench_barrier_init(&r->bar, 2);
	rc = bench_run_pair(c->cpu_a, floor_prod, r, c->cpu_b, floor_cons, r);
	if (rc)
		return rc;
	if (r->errors)
		return -EIO;
	return bench_ticks_to_ns((double)(r->t_end - r->t_start)) / 1e9;
}

double bench_floor_stream(int cpu_a, int cpu_b, size_t msg_size, uint32_t capacity,
			  uint32_t batch, int trials, double trial_s)
{
	struct floor_stream_ctx c = {NULL, cpu_a, cpu_b};
	struct floor_ring *r;
	double rate;

	if (msg_size < 8 || msg_size > 1024 || msg_size % 8 || !capacity ||
	    (capacity & (capacity - 1)) || !batch)
		return -EINVAL;
	if (posix_memalign((void **)&r, 128, sizeof(*r)))
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	if (posix_memalign((void **)&r->slots, 64, (size_t)capacity * msg_size)) {
		free(r);
		return -ENOMEM;
	}
	memset(r->slots, 0, (size_t)capacity * msg_size);
	r->mask = capacity - 1;
	r->batch = batch;
	r->sz = msg_size;
	c.r = r;
	rate = bench_trials(floor_stream_run, &c, trials, trial_s, 0, NULL);
	free(r->slots);
	free(r);
	return rate;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_trials(double (*run)(void *ctx, uint64_t n), void *ctx, int trials, double trial_s,
		    uint64_t max_msgs, double *best)
{
	double rates[64], s;
	uint64_t n = 20000;
	int i;

	if (trials < 1)
		trials = 1;
	if (trials > 64)
		trials = 64;
	if (!max_msgs)
		max_msgs = 2000000000ull;
	if (n > max_msgs)
		n = max_msgs;
	/* Calibration trial (also the warm-up): size the real ones. */
	s = run(ctx, n);
	if (s < 0)
		return s;
	if (s > 0) {
		double want = (double)n * trial_s / s;

		n = want < 1000 ? 1000 : want > (double)max_msgs ? max_msgs : (uint64_t)want;
	}
	for (i = 0; i < trials; i++) {
		s = run(ctx, n);
		if (s < 0)
			return s;
		rates[i] = s > 0 ? (double)n / s : 0;
	}
	qsort(rates, (size_t)trials, sizeof(double), cmp_double);
	if (best)
		*best = rates[trials - 1];
	return trials % 2 ? rates[trials / 2] : (rates[trials / 2 - 1] + rates[trials / 2]) / 2;
}

/* ============================================================== machine */

static void trim(char *s)
{
	size_t n = strlen(s);

	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
}

void bench_machine_describe(struct bench_machine *m, const struct bench_topo *t)
{
	FILE *f;
	char line[512];
	struct utsname u;
	long n;

	memset(m, 0, sizeof(*m));
	snprintf(m->cpu_model, sizeof(m->cpu_model), "unknown");
	f = fopen("/proc/cpuinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			char *c = strchr(line, ':');

			if (c && !strncmp(line, "model name", 10)) {
				c++;
				while (*c == ' ')
					c++;
				snprintf(m->cpu_model, sizeof(m->cpu_model), "%s", c);
				trim(m->cpu_model);
				break;
			}
		}
		fclose(f);
	}
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%.60s %.90s", u.sysname, u.release);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	m->cpus_online = n > 0 ? (int)n : 0;
	m->nnodes = t ? t->nnodes : 1;
	m->smt = t ? t->smt : 0;
#if defined(__x86_64__) || defined(__i386__)
	{
		unsigned a, b, c, d;

		if (__get_cpuid(1, &a, &b, &c, &d) && (c >> 31) & 1) {
			unsigned v[3];
			char id[13];

			__cpuid(0x40000000u, a, v[0], v[1], v[2]);
			memcpy(id, v, 12);
			id[12] = '\0';
			if (!strcmp(id, "KVMKVMKVM"))
				snprintf(m->hypervisor, sizeof(m->hypervisor), "KVM");
			else if (!strncmp(id, "Microsoft Hv", 12))
				snprintf(m->hypervisor, sizeof(m->hypervisor), "Hyper-V");
			else if (!strncmp(id, "VMwareVMware", 12))
				snprintf(m->hypervisor, sizeof(m->hypervisor), "VMware");
			else if (!strncmp(id, "XenVMMXenVMM", 12))
				snprintf(m->hypervisor, sizeof(m->hypervisor), "Xen");
			else
				snprintf(m->hypervisor, sizeof(m->hypervisor), "hypervisor");
		}
	}
#endif
	f = fopen("/proc/meminfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "HugePages_Total: %ld", &m->hugepages_2m_total);
			sscanf(line, "HugePages_Free: %ld", &m->hugepages_2m_free);
		}
		fclose(f);
	}
}

/* ============================================================== results */

static void row_init(struct bench_row *r, enum bench_kind kind, const char *bench,
		     const char *placement, const int *cpus, int ncpus)
{
	int i;

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	snprintf(r->bench, sizeof(r->bench), "%s", bench);
	snprintf(r->placement, sizeof(r->placement), "%s", placement ? placement : "none");
	r->ncpus = ncpus < 0 ? 0 : ncpus > 2 ? 2 : ncpus;
	for (i = 0; i < r->ncpus; i++)
		r->cpus[i] = cpus[i];
}

void bench_row_latency(struct bench_row *r, const char *bench, const char *placement,
		       const int *cpus, int ncpus, const struct bench_hist *h)
{
	row_init(r, BENCH_LATENCY, bench, placement, cpus, ncpus);
	r->samples = h->count;
	r->p50_ns = bench_ticks_to_ns(bench_hist_percentile(h, 50));
	r->p90_ns = bench_ticks_to_ns(bench_hist_percentile(h, 90));
	r->p99_ns = bench_ticks_to_ns(bench_hist_percentile(h, 99));
	r->p999_ns = bench_ticks_to_ns(bench_hist_percentile(h, 99.9));
	r->max_ns = bench_ticks_to_ns((double)h->max);
	r->min_ns = h->count ? bench_ticks_to_ns((double)h->min) : 0;
	r->mean_ns = h->count ? bench_ticks_to_ns(h->sum / (double)h->count) : 0;
}

void bench_row_throughput(struct bench_row *r, const char *bench, const char *placement,
			  const int *cpus, int ncpus, double msgs_per_s)
{
	row_init(r, BENCH_THROUGHPUT, bench, placement, cpus, ncpus);
	r->msgs_per_s = msgs_per_s > 0 && isfinite(msgs_per_s) ? msgs_per_s : 0;
}

void bench_row_skipped(struct bench_row *r, enum bench_kind kind, const char *bench,
		       const char *placement, const int *cpus, int ncpus, const char *why)
{
	row_init(r, kind, bench, placement, cpus, ncpus);
	r->skipped = 1;
	snprintf(r->note, sizeof(r->note), "%s", why);
}

void bench_row_floor(struct bench_row *r, const char *floor_name, double before, double after)
{
	double lo, hi, mine;

	r->floor_name = floor_name;
	r->floor_before = before;
	r->floor_after = after;
	if (!(before > 0) && !(after > 0))
		return;
	if (!(after > 0))
		after = before;
	if (!(before > 0))
		before = after;
	r->floor_value = (before + after) / 2;
	lo = before < after ? before : after;
	hi = before < after ? after : before;
	r->floor_unstable = hi > lo * 1.25;
	mine = r->kind == BENCH_LATENCY ? r->p50_ns : r->msgs_per_s;
	r->ratio_to_floor = mine > 0 ? mine / r->floor_value : 0;
}

void bench_row_num(struct bench_row *r, const char *key, double v)
{
	if (r->nextra >= BENCH_MAX_EXTRA)
		return;
	r->extra[r->nextra].key = key;
	r->extra[r->nextra].str = NULL;
	r->extra[r->nextra].num = isfinite(v) ? v : 0;
	r->nextra++;
}

void bench_row_str(struct bench_row *r, const char *key, const char *v)
{
	if (r->nextra >= BENCH_MAX_EXTRA)
		return;
	r->extra[r->nextra].key = key;
	r->extra[r->nextra].str = v ? v : "";
	r->nextra++;
}

/* ---------------------------------------------------------------- JSON */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Always a valid JSON number (never nan/inf). */
static void json_num(FILE *f, double v)
{
	if (!isfinite(v))
		v = 0;
	if (v == floor(v) && fabs(v) < 1e15)
		fprintf(f, "%.0f", v);
	else
		fprintf(f, "%.6g", v);
}

static void json_key(FILE *f, const char *k)
{
	fputc(',', f);
	json_str(f, k);
	fputc(':', f);
}

static void json_head(struct bench_report *rep, const char *bench, const char *placement,
		      const int *cpus, int ncpus)
{
	FILE *f = rep->out;
	int i;

	fputs("{\"bench\":", f);
	json_str(f, bench);
	json_key(f, "placement");
	json_str(f, placement);
	json_key(f, "cpus");
	fputc('[', f);
	for (i = 0; i < ncpus; i++)
		fprintf(f, "%s%d", i ? "," : "", cpus[i]);
	fputc(']', f);
}

static void json_machine_keys(struct bench_report *rep, const int *cpus, int ncpus)
{
	FILE *f = rep->out;
	int i;

	json_key(f, "nodes");
	fputc('[', f);
	for (i = 0; i < ncpus; i++) {
		int k = bench_topo_find(&rep->topo, cpus[i]);

		fprintf(f, "%s%d", i ? "," : "", k >= 0 ? rep->topo.node[k] : 0);
	}
	fputc(']', f);
	json_key(f, "clock");
	json_str(f, bench_clock.name);
	json_key(f, "cpu_model");
	json_str(f, rep->machine.cpu_model);
	json_key(f, "kernel");
	json_str(f, rep->machine.kernel);
	if (!rep->topo.system) {
		json_key(f, "topology");
		json_str(f, rep->topo.source);
	}
}

static void json_row(struct bench_report *rep, const struct bench_row *r)
{
	FILE *f = rep->out;
	int i;

	json_head(rep, r->bench, r->placement, r->cpus, r->ncpus);
	json_key(f, "kind");
	json_str(f, r->kind == BENCH_LATENCY ? "latency" : r->kind == BENCH_THROUGHPUT ? "throughput" : "info");
	if (r->skipped) {
		json_key(f, "skipped");
		json_str(f, r->note);
	} else if (r->kind == BENCH_LATENCY) {
		json_key(f, "samples");
		json_num(f, (double)r->samples);
		json_key(f, "p50_ns");
		json_num(f, r->p50_ns);
		json_key(f, "p90_ns");
		json_num(f, r->p90_ns);
		json_key(f, "p99_ns");
		json_num(f, r->p99_ns);
		json_key(f, "p999_ns");
		json_num(f, r->p999_ns);
		json_key(f, "max_ns");
		json_num(f, r->max_ns);
		json_key(f, "min_ns");
		json_num(f, r->min_ns);
		json_key(f, "mean_ns");
		json_num(f, r->mean_ns);
	} else if (r->kind == BENCH_THROUGHPUT) {
		json_key(f, "msgs_per_s");
		json_num(f, r->msgs_per_s);
	}
	if (!r->skipped && r->floor_value > 0) {
		if (r->kind == BENCH_LATENCY) {
			json_key(f, "floor_p50_ns");
			json_num(f, r->floor_value);
			json_key(f, "floor_before_p50_ns");
			json_num(f, r->floor_before);
			json_key(f, "floor_after_p50_ns");
			json_num(f, r->floor_after);
		} else {
			json_key(f, "floor_msgs_per_s");
			json_num(f, r->floor_value);
			json_key(f, "floor_before_msgs_per_s");
			json_num(f, r->floor_before);
			json_key(f, "floor_after_msgs_per_s");
			json_num(f, r->floor_after);
		}
		json_key(f, "floor_bench");
		json_str(f, r->floor_name ? r->floor_name : "");
		json_key(f, "ratio_to_floor");
		json_num(f, r->ratio_to_floor);
		json_key(f, "floor_unstable");
		fputs(r->floor_unstable ? "true" : "false", f);
	}
	if (!r->skipped) {
		json_key(f, "errors");
		json_num(f, r->errors);
	}
	for (i = 0; i < r->nextra; i++) {
		json_key(f, r->extra[i].key);
		if (r->extra[i].str)
			json_str(f, r->extra[i].str);
		else
			json_num(f, r->extra[i].num);
	}
	if (r->note[0] && !r->skipped) {
		json_key(f, "note");
		json_str(f, r->note);
	}
	json_machine_keys(rep, r->cpus, r->ncpus);
	fputs("}\n", f);
	fflush(f);
}

/* --------------------------------------------------------------- table */

static void progress_clear(struct bench_report *rep)
{
	if (rep->progress_shown) {
		fputs("\r\033[K", stderr);
		rep->progress_shown = 0;
	}
}

void bench_progress(struct bench_report *rep, int step, int steps, const char *fmt, ...)
{
	va_list ap;

	if (!rep->opts->progress)
		return;
	if (!fmt) {
		progress_clear(rep);
		return;
	}
	fprintf(stderr, "\r\033[K[%2d/%d] ", step, steps);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (!isatty(STDERR_FILENO))
		fputc('\n', stderr);
	else
		rep->progress_shown = 1;
	fflush(stderr);
}

static void table_header(struct bench_report *rep, enum bench_kind kind)
{
	FILE *f = rep->out;

	if (kind == BENCH_LATENCY)
		fprintf(f, "%-26s %9s %9s %9s %9s %10s  %8s %7s\n", "  row (ns)", "p50", "p90",
			"p99", "p99.9", "max", "floor", "x floor");
	else
		fprintf(f, "%-26s %14s  %14s %7s\n", "  row", "msgs/s", "floor msgs/s", "x floor");
}

static void fmt_rate(char *buf, size_t n, double v)
{
	if (v >= 1e6)
		snprintf(buf, n, "%.2f M", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, n, "%.1f k", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
}

static void table_row(struct bench_report *rep, const struct bench_row *r)
{
	FILE *f = rep->out;
	char name[64];
	const char *flag = r->floor_unstable ? " !" : "";

	snprintf(name, sizeof(name), "  %s", r->bench);
	if (rep->header_done == 0 || rep->last_kind != r->kind) {
		table_header(rep, r->kind);
		rep->header_done = 1;
		rep->last_kind = r->kind;
	}
	if (r->skipped) {
		fprintf(f, "%-26s skipped: %s\n", name, r->note);
		return;
	}
	if (r->kind == BENCH_LATENCY) {
		fprintf(f, "%-26s %9.0f %9.0f %9.0f %9.0f %10.0f", name, r->p50_ns, r->p90_ns,
			r->p99_ns, r->p999_ns, r->max_ns);
		if (r->floor_value > 0)
			fprintf(f, "  %8.0f %6.2fx%s", r->floor_value, r->ratio_to_floor, flag);
	} else {
		char a[32], b[32];

		fmt_rate(a, sizeof(a), r->msgs_per_s);
		fprintf(f, "%-26s %14s", name, a);
		if (r->floor_value > 0) {
			fmt_rate(b, sizeof(b), r->floor_value);
			fprintf(f, "  %14s %6.2fx%s", b, r->ratio_to_floor, flag);
		}
	}
	if (r->errors)
		fprintf(f, "  ERRORS %d", r->errors);
	if (r->note[0])
		fprintf(f, "  (%s)", r->note);
	fputc('\n', f);
	fflush(f);
}

int bench_report_begin(struct bench_report *rep, const struct bench_opts *o, const char *program,
		       const char *extra_header)
{
	FILE *f = stdout;
	int rc;

	memset(rep, 0, sizeof(*rep));
	rep->opts = o;
	rep->program = program;
	rep->out = f;
	rc = bench_topo_load(&rep->topo, o);
	if (rc < 0)
		return rc;
	bench_machine_describe(&rep->machine, &rep->topo);
	rep->cap = 64;
	rep->rows = calloc((size_t)rep->cap, sizeof(*rep->rows));
	if (!rep->rows)
		return -ENOMEM;
	if (o->format == BENCH_JSON) {
		const struct bench_machine *m = &rep->machine;
		int cpus[2] = {0, 0};

		json_head(rep, "machine", "none", cpus, 0);
		json_key(f, "kind");
		json_str(f, "info");
		json_key(f, "program");
		json_str(f, program);
		json_key(f, "xsched_version");
		json_str(f, XS_VERSION_STRING);
		json_key(f, "cpu_model");
		json_str(f, m->cpu_model);
		json_key(f, "kernel");
		json_str(f, m->kernel);
		json_key(f, "hypervisor");
		json_str(f, m->hypervisor);
		json_key(f, "cpus_online");
		json_num(f, m->cpus_online);
		json_key(f, "cpus_usable");
		json_num(f, rep->topo.ncpus);
		json_key(f, "numa_nodes");
		json_num(f, m->nnodes);
		json_key(f, "smt");
		fputs(m->smt ? "true" : "false", f);
		json_key(f, "hugepages_2m_total");
		json_num(f, (double)m->hugepages_2m_total);
		json_key(f, "clock");
		json_str(f, bench_clock.name);
		json_key(f, "clock_why");
		json_str(f, bench_clock.why);
		json_key(f, "tsc_hz");
		json_num(f, floor(bench_clock.tsc_hz));
		json_key(f, "clock_read_ns");
		json_num(f, bench_clock.read_cost_ns);
		json_key(f, "clock_resolution_ns");
		json_num(f, bench_clock.resolution_ns);
		json_key(f, "topology");
		json_str(f, rep->topo.source);
		if (extra_header) {
			json_key(f, "params");
			json_str(f, extra_header);
		}
		fputs("}\n", f);
	} else if (!o->quiet) {
		const struct bench_machine *m = &rep->machine;

		fprintf(f, "# %s (xsched %s): %s%s%s, %s\n", program, XS_VERSION_STRING,
			m->cpu_model, m->hypervisor[0] ? ", guest of " : "", m->hypervisor,
			m->kernel);
		fprintf(f, "# %d CPUs online (%d usable), %d NUMA node%s, %s, huge pages: %ld\n",
			m->cpus_online, rep->topo.ncpus, m->nnodes, m->nnodes == 1 ? "" : "s",
			m->smt ? "SMT" : "no SMT", m->hugepages_2m_total);
		if (bench_clock.tsc)
			fprintf(f, "# clock: tsc %.3f GHz (%s; one read %.0f ns, resolution %.1f ns)\n",
				bench_clock.tsc_hz / 1e9, bench_clock.why, bench_clock.read_cost_ns,
				bench_clock.resolution_ns);
		else
			fprintf(f, "# clock: CLOCK_MONOTONIC_RAW (%s; one read %.0f ns, resolution %.1f ns)\n",
				bench_clock.why, bench_clock.read_cost_ns, bench_clock.resolution_ns);
		if (!rep->topo.system)
			fprintf(f, "# topology %s: pairs planned on it, run remapped onto this "
				   "machine's allowed CPUs (labels describe the plan, not the hardware)\n",
				rep->topo.source);
		if (extra_header)
			fprintf(f, "# %s\n", extra_header);
	}
	fflush(f);
	return 0;
}

void bench_report_section(struct bench_report *rep, const char *title)
{
	snprintf(rep->section, sizeof(rep->section), "%s", title);
	if (rep->opts->format != BENCH_TABLE)
		return;
	progress_clear(rep);
	fprintf(rep->out, "\n%s\n", title);
	rep->header_done = 0;
}

void bench_report_row(struct bench_report *rep, const struct bench_row *r)
{
	progress_clear(rep);
	if (rep->nrows == rep->cap) {
		struct bench_row *n = realloc(rep->rows, (size_t)rep->cap * 2 * sizeof(*n));

		if (n) {
			rep->rows = n;
			rep->cap *= 2;
		}
	}
	if (rep->nrows < rep->cap)
		rep->rows[rep->nrows++] = *r;
	if (r->floor_unstable)
		rep->unstable_rows++;
	if (rep->opts->format == BENCH_JSON)
		json_row(rep, r);
	else
		table_row(rep, r);
}

void bench_report_note(struct bench_report *rep, const char *placement, const int *cpus,
		       int ncpus, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	progress_clear(rep);
	if (rep->opts->format == BENCH_JSON) {
		json_head(rep, "note", placement ? placement : "none", cpus, ncpus);
		json_key(rep->out, "kind");
		json_str(rep->out, "info");
		json_key(rep->out, "text");
		json_str(rep->out, buf);
		fputs("}\n", rep->out);
	} else {
		fprintf(rep->out, "%s\n", buf);
	}
	fflush(rep->out);
}

const struct bench_row *bench_report_find(const struct bench_report *rep, const char *bench,
					  enum bench_kind kind, const char *placement)
{
	int i;

	for (i = rep->nrows - 1; i >= 0; i--) {
		const struct bench_row *r = &rep->rows[i];

		if (r->kind == kind && !strcmp(r->bench, bench) &&
		    (!placement || !strcmp(r->placement, placement)))
			return r;
	}
	return NULL;
}

int bench_report_end(struct bench_report *rep)
{
	int rc = 0;

	progress_clear(rep);
	if (rep->opts->format == BENCH_TABLE && !rep->opts->quiet && rep->unstable_rows)
		fprintf(rep->out,
			"\n! %d row%s had floors before and after more than 25%% apart: the machine "
			"changed regime during the row; rerun before trusting its ratio.\n",
			rep->unstable_rows, rep->unstable_rows == 1 ? "" : "s");
	fflush(rep->out);
	if (rep->opts->plot && bench_plot(rep, rep->opts->plot) < 0)
		rc = -1;
	free(rep->rows);
	rep->rows = NULL;
	bench_topo_free(&rep->topo);
	return rc;
}

/* ----------------------------------------------------------------- plot */

static int find_in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *e = strchr(path, ':');
		size_t n = e ? (size_t)(e - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog);
		if (access(buf, X_OK) == 0)
			return 1;
		path += n + (e ? 1 : 0);
	}
	return 0;
}

static int run_gnuplot(const char *script)
{
	char *argv[] = {(char *)"gnuplot", (char *)script, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;

	posix_spawn_file_actions_init(&fa);
	/* gnuplot's chatter (font warnings) stays out of our stdout. */
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -rc;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static void gp_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f); /* gnuplot: '' inside single quotes */
		fputc(*s, f);
	}
	fputc('\'', f);
}

int bench_plot(const struct bench_report *rep, const char *file)
{
	const char *ext = strrchr(file, '.');
	char data[] = "/tmp/xsched-plot-data-XXXXXX";
	char script[] = "/tmp/xsched-plot-gp-XXXXXX";
	int fd, i, n = 0, multi = 0, rc, attempt;
	FILE *f;

	if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png"))) {
		fprintf(stderr, "%s: --plot %s: the file name must end in .svg or .png\n",
			rep->program, file);
		return -1;
	}
	if (!find_in_path("gnuplot")) {
		fprintf(stderr,
			"%s: --plot needs gnuplot, which is not installed (Debian: apt-get install "
			"gnuplot-nox); the results above are complete, only the plot is missing\n",
			rep->program);
		return -1;
	}
	for (i = 1; i < rep->nrows; i++)
		if (strcmp(rep->rows[i].placement, rep->rows[0].placement))
			multi = 1;
	fd = mkstemp(data);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "%s: --plot: temporary file: %s\n", rep->program, strerror(errno));
		return -1;
	}
	for (i = 0; i < rep->nrows; i++) {
		const struct bench_row *r = &rep->rows[i];

		if (r->kind != BENCH_LATENCY || r->skipped || r->p50_ns <= 0)
			continue;
		fprintf(f, "\"%s%s%s\" %.1f %.1f %.1f %.1f\n", r->bench, multi ? "@" : "",
			multi ? r->placement : "", r->p50_ns, r->p90_ns > 0 ? r->p90_ns : 1,
			r->p99_ns > 0 ? r->p99_ns : 1, r->p999_ns > 0 ? r->p999_ns : 1);
		n++;
	}
	fclose(f);
	if (!n) {
		unlink(data);
		fprintf(stderr, "%s: --plot: no latency rows to plot\n", rep->program);
		return -1;
	}
	rc = -1;
	for (attempt = 0; attempt < 2 && rc < 0; attempt++) {
		const char *term = !strcmp(ext, ".svg") ? "svg size 1100,620 dynamic background rgb 'white'"
				   : attempt == 0 ? "pngcairo size 1100,620"
						  : "png size 1100,620";

		if (!strcmp(ext, ".svg") && attempt > 0)
			break;
		fd = mkstemp(script);
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			fprintf(stderr, "%s: --plot: temporary file: %s\n", rep->program,
				strerror(errno));
			break;
		}
		/* noenhanced: row names have underscores, not subscripts */
		fprintf(f, "set terminal %s\nset termoption noenhanced\nset output ", term);
		gp_quote(f, file);
		fprintf(f,
			"\nset title \"%s: latency percentiles per row (ns, log scale; %s, clock %s)\"\n"
			"set style data histograms\nset style histogram clustered gap 1\n"
			"set style fill solid 0.85 border -1\nset logscale y\nset ylabel 'ns'\n"
			"set grid ytics\nset key top left\nset xtics rotate by -30 scale 0\n"
			"set bmargin 9\n",
			rep->program, rep->machine.cpu_model, bench_clock.name);
		fputs("plot ", f);
		gp_quote(f, data);
		fputs(" using 2:xtic(1) title 'p50', '' using 3 title 'p90', '' using 4 title 'p99', "
		      "'' using 5 title 'p99.9'\n",
		      f);
		fclose(f);
		rc = run_gnuplot(script);
		unlink(script);
		memcpy(script + strlen(script) - 6, "XXXXXX", 6);
	}
	unlink(data);
	if (rc < 0) {
		fprintf(stderr, "%s: --plot %s: gnuplot failed (%s)\n", rep->program, file,
			strerror(-rc == EIO ? EIO : -rc));
		return -1;
	}
	if (rep->opts->format == BENCH_TABLE && !rep->opts->quiet)
		fprintf(rep->out, "plot: %s\n", file);
	else
		fprintf(stderr, "%s: plot written to %s\n", rep->program, file);
	return 0;
}
