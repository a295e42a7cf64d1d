/* SPDX-License-Identifier: Apache-2.0 */
/*
 * alloc_bench: the rts-alloc-compatible allocator against glibc malloc/free,
 * measured in the same run (issue 3's setup: 64 MiB file, 2 MiB slabs,
 * 256-byte blocks).
 *
 *   lone_pair     one alloc + free, repeated (pairs/s)
 *   batch64       64 allocs then 64 frees, repeated (allocations/s)
 *   remote_queue  thread A allocates, writes 8 bytes, sends the offset through
 *                 an SPSC queue; thread B frees it (remotely); A cleans every
 *                 256 allocations (blocks/s, measured until B freed them all)
 *
 * Rows of each benchmark, all measured in this run:
 *   glibc             malloc/free: the floor of every row (measured just
 *                     before and just after each of them)
 *   xsched            format 0.2 file, xsched policy (keep one emptied slab
 *                     per class), tagged global list, batched remote frees
 *   xs-upstream       the same C code with rts-alloc 0.2.0's behaviour:
 *                     upstream policy (an emptied slab goes back at once and
 *                     its free stack is rewritten on the next take), untagged
 *                     list, one remote free per block
 *   xsched-fmt4       format 4.0 file (rts-alloc 5.x layout, claimed slots),
 *                     xsched policy, batched remote frees grouped by owner
 *                     (one CAS per destination) and the owner's drain
 *   xs-upstream-fmt4  format 4.0, upstream policy, one remote free per block
 * Ratios: every row to glibc (floor), and each xsched row to the
 * upstream-policy row of its format (ratio_to_rts_policy): the two differ
 * only by policy, so that ratio is what the policy is worth. Much of the
 * lone_pair difference is that policy (a kept empty slab), not faster code;
 * the output says so. Figures measured elsewhere (the Rust allocator's, in
 * issue 3) are printed apart, "quoted, another machine", and never divided
 * by. Nothing is asserted: the machine may be shared.
 *
 * Usage: alloc_bench [--quick] [common options: --duration S, --format json,
 *        --only PAT, --cpus LIST, ...]   (whole default run about 30 s)
 *   --quick   about 30 ms per measurement (the CI smoke test)
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "xsched/alloc.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

#define BENCH_FILE  (64u << 20)
#define BENCH_SLAB  XS_ALLOC_SLAB_2M
#define BENCH_BLOCK 256u
#define QCAP        4096u

/* What a row runs: glibc, or one allocator format under one policy. */
struct variant {
	const char *name;
	int glibc;
	enum xs_alloc_format fmt;
	int upstream;  /* upstream policy (and, for 0.2, the untagged list) */
	int single;    /* remote frees one at a time (else batched) */
	int policy_of; /* index of the upstream-policy row of the same format, or -1 */
};

enum { V_GLIBC = 0, NVAR = 5 };

static const struct variant variants[NVAR] = {
	{"glibc", 1, XS_ALLOC_FMT_0_2, 0, 0, -1},
	{"xsched", 0, XS_ALLOC_FMT_0_2, 0, 0, 2},
	{"xs-upstream", 0, XS_ALLOC_FMT_0_2, 1, 1, -1},
	{"xsched-fmt4", 0, XS_ALLOC_FMT_4_0, 0, 0, 4},
	{"xs-upstream-fmt4", 0, XS_ALLOC_FMT_4_0, 1, 1, -1},
};

static double g_budget_s = 1.0;
static int g_cpu[2] = {-1, -1}; /* owner / freer CPUs (-1: not pinned) */

static uint64_t now_ns(void)
{
	return bench_mono_ns();
}

/* Keep the compiler from dropping a malloc/free pair. */
static inline void sink(void *p)
{
	__asm__ __volatile__("" : : "r"(p) : "memory");
}

static void pin(int side)
{
	if (g_cpu[side] >= 0)
		(void)bench_pin_self(g_cpu[side]);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "alloc_bench: %s failed: %s (%d) %s\n", what, xs_strerror(rc), rc, xs_errmsg());
	exit(1);
}

struct bench_file {
	int fd;
	struct xs_alloc *a[2];
};

/* Owner (a[0]) and freer (a[1]) on one mapping: fixed indexes 0 and 1 for
 * 0.2, the first two claimed slots for 4.0. */
static void file_open(struct bench_file *f, const struct variant *v)
{
	uint32_t w0 = v->fmt == XS_ALLOC_FMT_4_0 ? XS_ALLOC_CLAIM : 0;
	uint32_t w1 = v->fmt == XS_ALLOC_FMT_4_0 ? XS_ALLOC_CLAIM : 1;
	int rc, i;

	f->fd = xs_memfd_create("xs-alloc-bench", 0);
	if (f->fd < 0)
		die("memfd_create", f->fd);
	if ((rc = xs_alloc_create_fmt(&f->a[0], f->fd, BENCH_FILE, 2, BENCH_SLAB, v->fmt, w0)) < 0)
		die("xs_alloc_create_fmt", rc);
	if ((rc = xs_alloc_join_handle(&f->a[1], f->a[0], w1)) < 0)
		die("xs_alloc_join_handle", rc);
	for (i = 0; i < 2 && v->upstream; i++) {
		xs_alloc_set_policy(f->a[i], XS_ALLOC_POLICY_UPSTREAM, 0);
		if (v->fmt != XS_ALLOC_FMT_4_0) /* 4.0's own head is tagged */
			xs_alloc_set_aba_tag(f->a[i], 0);
	}
}

static void file_close(struct bench_file *f)
{
	xs_alloc_close(f->a[1]);
	xs_alloc_close(f->a[0]);
	close(f->fd);
}

struct result {
	uint64_t ops;   /* pairs / allocations / blocks */
	uint64_t ns;
	double rate;    /* ops/s */
	struct xs_alloc_counters cnt; /* the owner's, after the run */
};

static void finish(struct result *r)
{
	r->rate = r->ns ? (double)r->ops * 1e9 / (double)r->ns : 0.0;
}

/* ------------------------------------------------------------- lone pair */

static uint64_t lone_chunk(const struct variant *v, struct xs_alloc *a, uint64_t n)
{
	uint64_t i;

	if (v->glibc) {
		for (i = 0; i < n; i++) {
			void *p = malloc(BENCH_BLOCK);

			sink(p);
			free(p);
		}
	} else {
		for (i = 0; i < n; i++) {
			void *p = xs_alloc_alloc(a, BENCH_BLOCK);

			sink(p);
			if (xs_alloc_free(a, p) < 0)
				die("xs_alloc_free", -1);
		}
	}
	return n;
}

static struct result bench_lone(const struct variant *v)
{
	struct bench_file f = {-1, {NULL, NULL}};
	struct result r;
	uint64_t chunk = v->upstream ? 256 : 65536, t0, end;

	memset(&r, 0, sizeof(r));
	if (!v->glibc)
		file_open(&f, v);
	lone_chunk(v, f.a[0], chunk); /* warm up: slabs taken, caches hot */
	t0 = now_ns();
	end = t0 + (uint64_t)(g_budget_s * 1e9);
	do
		r.ops += lone_chunk(v, f.a[0], chunk);
	while (now_ns() < end);
	r.ns = now_ns() - t0;
	finish(&r);
	if (!v->glibc) {
		r.cnt = *xs_alloc_counters(f.a[0]);
		file_close(&f);
	}
	return r;
}

/* ---------------------------------------------------------------- batch64 */

static uint64_t batch_chunk(const struct variant *v, struct xs_alloc *a, uint64_t rounds)
{
	void *p[64];
	uint64_t i;
	int k;

	for (i = 0; i < rounds; i++) {
		if (v->glibc) {
			for (k = 0; k < 64; k++)
				p[k] = malloc(BENCH_BLOCK);
			sink(p);
			for (k = 0; k < 64; k++)
				free(p[k]);
		} else {
			for (k = 0; k < 64; k++)
				p[k] = xs_alloc_alloc(a, BENCH_BLOCK);
			sink(p);
			for (k = 0; k < 64; k++)
				if (xs_alloc_free(a, p[k]) < 0)
					die("xs_alloc_free", -1);
		}
	}
	return rounds * 64;
}

static struct result bench_batch(const struct variant *v)
{
	struct bench_file f = {-1, {NULL, NULL}};
	struct result r;
	uint64_t chunk = v->upstream ? 16 : 1024, t0, end;

	memset(&r, 0, sizeof(r));
	if (!v->glibc)
		file_open(&f, v);
	batch_chunk(v, f.a[0], chunk);
	t0 = now_ns();
	end = t0 + (uint64_t)(g_budget_s * 1e9);
	do
		r.ops += batch_chunk(v, f.a[0], chunk);
	while (now_ns() < end);
	r.ns = now_ns() - t0;
	finish(&r);
	if (!v->glibc) {
		r.cnt = *xs_alloc_counters(f.a[0]);
		file_close(&f);
	}
	return r;
}

/* ----------------------------------------------------------- remote queue */

struct remote_ctx {
	const struct variant *v;
	struct xs_alloc *owner, *freer;
	struct xs_spsc prod, cons;
	uint64_t deadline;
	uint64_t sent, freed, t_end;
	int ready;
};

#define SENTINEL UINT64_MAX

static void *freer_main(void *arg)
{
	struct remote_ctx *c = arg;
	uint64_t buf[64], freed = 0;
	int stop = 0;

	pin(1);
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!stop) {
		size_t n = xs_spsc_pop_burst(&c->cons, buf, 64), k;

		if (n == 0) {
			xs_cpu_relax();
			continue;
		}
		if (buf[n - 1] == SENTINEL) {
			stop = 1;
			n--;
		}
		if (c->v->glibc) {
			for (k = 0; k < n; k++)
				free((void *)(uintptr_t)buf[k]);
		} else if (c->v->single) {
			for (k = 0; k < n; k++)
				if (xs_alloc_free_offset(c->freer, buf[k]) < 0)
					die("remote free", -1);
		} else if (n && xs_alloc_free_offsets(c->freer, buf, n) < 0) {
			die("batched remote free", -1);
		}
		freed += n;
	}
	c->freed = freed;
	c->t_end = now_ns();
	return NULL;
}

/*
 * One timed pass of the remote benchmark for @p budget_s seconds over a
 * fresh queue in @p qmem; the allocator file (if any) is kept from pass to
 * pass, so a warm-up pass leaves slabs assigned and pages touched.
 */
static struct result remote_pass(struct remote_ctx *c, void *qmem, size_t qbytes, double budget_s)
{
	const struct variant *v = c->v;
	struct result r;
	pthread_t th;
	uint64_t t0, i = 0;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(qmem, 0, qbytes);
	c->ready = 0;
	c->freed = c->sent = c->t_end = 0;
	if ((rc = xs_spsc_attach_mem(&c->prod, qmem, qbytes, 8, 8, XS_SHAQ_1_0, XS_SPSC_PRODUCER, 1)) < 0 ||
	    (rc = xs_spsc_attach_mem(&c->cons, qmem, qbytes, 8, 8, XS_SHAQ_1_0, XS_SPSC_CONSUMER, 0)) < 0)
		die("queue attach", rc);
	pin(0);
	if ((rc = pthread_create(&th, NULL, freer_main, c)) != 0)
		die("pthread_create", -rc);
	while (!__atomic_load_n(&c->ready, __ATOMIC_ACQUIRE))
		xs_cpu_relax();
	t0 = now_ns();
	c->deadline = t0 + (uint64_t)(budget_s * 1e9);
	for (;;) {
		uint64_t *slot, val;

		if ((i & 1023) == 0 && now_ns() > c->deadline)
			break;
		if (v->glibc) {
			uint64_t *p = malloc(BENCH_BLOCK);

			if (!p)
				die("malloc", -ENOMEM);
			*p = i;
			val = (uint64_t)(uintptr_t)p;
		} else {
			uint64_t off;

			if ((i & 255) == 0 && xs_alloc_clean_remote(c->owner) < 0)
				die("clean", -1);
			while ((rc = xs_alloc_alloc_offset(c->owner, BENCH_BLOCK, &off)) == -ENOMEM)
				if (xs_alloc_clean_remote(c->owner) < 0)
					die("clean", -1);
			if (rc < 0)
				die("alloc", rc);
			*(uint64_t *)xs_alloc_ptr(c->owner, off) = i;
			val = off;
		}
		while ((slot = xs_spsc_reserve(&c->prod)) == NULL) {
			xs_spsc_commit(&c->prod);
			if (!v->glibc && xs_alloc_clean_remote(c->owner) < 0)
				die("clean", -1);
			xs_cpu_relax();
		}
		*slot = val;
		if ((++i & 15) == 0)
			xs_spsc_commit(&c->prod);
	}
	{
		uint64_t *slot;

		while ((slot = xs_spsc_reserve(&c->prod)) == NULL) {
			xs_spsc_commit(&c->prod);
			xs_cpu_relax();
		}
		*slot = SENTINEL;
		xs_spsc_commit(&c->prod);
	}
	pthread_join(th, NULL);
	if (c->freed != i) {
		fprintf(stderr, "alloc_bench: sent %llu, freed %llu\n", (unsigned long long)i,
			(unsigned long long)c->freed);
		exit(1);
	}
	if (!v->glibc && xs_alloc_clean_remote(c->owner) < 0)
		die("final clean", -1);
	xs_spsc_close(&c->prod);
	xs_spsc_close(&c->cons);
	r.ops = c->freed;
	r.ns = c->t_end - t0;
	finish(&r);
	return r;
}

static struct result bench_remote(const struct variant *v)
{
	size_t qbytes = xs_spsc_min_file_size(QCAP, 8, 8);
	void *qmem = aligned_alloc(64, (qbytes + 63) & ~(size_t)63);
	struct remote_ctx c;
	struct bench_file f;
	struct result r;

	if (!qmem)
		die("queue memory", -ENOMEM);
	memset(&c, 0, sizeof(c));
	c.v = v;
	if (!v->glibc) {
		file_open(&f, v);
		c.owner = f.a[0];
		c.freer = f.a[1];
	}
	/* Warm-up pass (a tenth of the budget, not reported): slabs assigned,
	 * the file's pages and glibc's arena touched, both threads running. */
	remote_pass(&c, qmem, qbytes, g_budget_s / 10);
	r = remote_pass(&c, qmem, qbytes, g_budget_s);
	if (!v->glibc) {
		struct xs_alloc_stats st;

		r.cnt = *xs_alloc_counters(c.owner);
		/* every block came back: nothing in use, no outstanding bytes */
		xs_alloc_stats(c.owner, &st, NULL, 0);
		if (st.bytes_in_use || st.outstanding_bytes || st.handle_outstanding) {
			fprintf(stderr, "alloc_bench: %s: %llu bytes still in use after the run\n", v->name,
				(unsigned long long)st.bytes_in_use);
			exit(1);
		}
		file_close(&f);
	}
	free(qmem);
	return r;
}

/* ------------------------------------------------------------------ main */

struct bench_def {
	const char *name, *what;
	struct result (*fn)(const struct variant *);
	int two_cpus;
	const char *policy_note;
};

static const struct bench_def benches[] = {
	{"lone_pair", "ns/pair", bench_lone, 0,
	 "the xsched rows keep one emptied slab per size class (the xsched policy); the xs-upstream "
	 "rows run the same code with rts-alloc's policy, which returns the slab at once and rewrites "
	 "its 16 KiB free stack on the next take: most of this row's difference is that policy, not "
	 "faster code (see ratio_to_rts_policy, slab_takes and kept_reuses)"},
	{"batch64", "ns/alloc+free", bench_batch, 0,
	 "xsched rows: xsched policy; xs-upstream rows: rts-alloc's policy, same code (the slab is "
	 "emptied and taken again every 64 allocations under it)"},
	{"remote_queue", "ns/block", bench_remote, 1,
	 "xsched rows: batched remote frees (0.2: one CAS per run of one slab; 4.0: one CAS per "
	 "owner) and the xsched policy; xs-upstream rows: one remote free per block, rts-alloc's "
	 "policy"},
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

/* Figures from issue 3 (rts-alloc 0.2.0 in Rust, and glibc, on the VM of
 * that issue): context only, printed apart and never divided by. */
static const struct {
	const char *what;
	double value;
	const char *unit;
} quoted[] = {
	{"lone_pair: rts-alloc 0.2.0 (Rust), one alloc+free pair", 542, "ns"},
	{"lone_pair: glibc, one malloc+free pair, on that machine", 6, "ns"},
	{"batch64: rts-alloc 0.2.0 (Rust), allocations per second", 64.5e6, "msgs_per_s"},
	{"batch64: glibc, allocations per second, on that machine", 31.5e6, "msgs_per_s"},
	{"remote_queue: rts-alloc 0.2.0 (Rust), blocks per second", 7.2e6, "msgs_per_s"},
	{"remote_queue: glibc, blocks per second, on that machine", 3.2e6, "msgs_per_s"},
};

static int on_extra(void *ctx, int opt, const char *arg)
{
	struct bench_opts *o = ctx;

	(void)arg;
	if (opt != 'Q')
		return -1;
	o->duration_s = 0.03;
	return 0;
}

static char row_names[NBENCH][NVAR][48];

static void report(struct bench_report *rep, const struct bench_def *d, size_t b, int vi,
		   const char *placement, const int *cpus, int ncpus, const struct result *r,
		   double glibc_before, double glibc_after, const struct result *policy_row)
{
	const struct variant *v = &variants[vi];
	struct bench_row row;
	double ns = r->ops ? (double)r->ns / (double)r->ops : 0;

	bench_row_throughput(&row, row_names[b][vi], placement, cpus, ncpus, r->rate);
	/* the glibc row is the floor itself (ratio 1, as floor rows are) */
	bench_row_floor(&row, "glibc", glibc_before, glibc_after);
	bench_row_wait(&row, d->two_cpus ? BENCH_WAIT_POLL_RELAX : BENCH_WAIT_NONE);
	{
		/* the same format and code under rts-alloc's policy, this run; the
		 * other rows get an empty cell (the table column is per section) */
		struct bench_ratio q = {0, 0, 0, 0};
		double x = 0, base = 0;

		if (v->policy_of >= 0 && policy_row && policy_row->rate > 0) {
			base = policy_row->rate;
			x = r->rate / base;
			bench_ratio_of(&q, &x, 1);
		}
		bench_row_ratio(&row, 1, "rts_policy", "rts-policy",
				v->policy_of >= 0 ? row_names[b][v->policy_of] : "", base, &q, 0);
	}
	bench_row_num(&row, "ns_per_op", ns);
	bench_row_num(&row, "ops", (double)r->ops);
	if (!v->glibc) {
		bench_row_str(&row, "format", xs_alloc_format_info(v->fmt)->name);
		bench_row_str(&row, "policy", v->upstream ? "rts-alloc" : "xsched");
		bench_row_num(&row, "slab_takes", (double)r->cnt.slab_takes);
		bench_row_num(&row, "kept_reuses", (double)r->cnt.kept_reuses);
		if (d->two_cpus)
			bench_row_num(&row, "remote_cas", (double)r->cnt.remote_pushes);
	}
	snprintf(row.note, sizeof(row.note), "%.1f %s%s", ns, d->what,
		 v->glibc ? "; the floor of the rows around it" :
		 v->upstream ? "; rts-alloc's policy" : "; xsched policy");
	bench_report_row(rep, &row);
}

int main(int argc, char **argv)
{
	static const struct option extra[] = {{"quick", no_argument, NULL, 'Q'}, {NULL, 0, NULL, 0}};
	const char *all[NBENCH * (NVAR + 1)];
	struct bench_report rep;
	struct bench_opts o;
	char why[200];
	int pair[2], have_pair, rc, nall = 0, steps = 0, step = 0;
	size_t b, q;

	bench_opts_defaults(&o);
	rc = bench_opts_parse(&o, argc, argv, extra, on_extra, &o);
	if (rc == 1) {
		printf("usage: %s [--quick] [options]\n"
		       "  --quick             about 30 ms per measurement (CI smoke run)\n", argv[0]);
		bench_opts_usage(stdout);
		return 0;
	}
	if (rc < 0)
		return 2;
	for (b = 0; b < NBENCH; b++) {
		int vi;

		all[nall++] = benches[b].name;
		for (vi = 0; vi < NVAR; vi++) {
			snprintf(row_names[b][vi], sizeof(row_names[b][vi]), "%s/%s", benches[b].name,
				 variants[vi].name);
			all[nall++] = row_names[b][vi];
		}
	}
	if (bench_only_check(&o, all, nall) < 0)
		return 2;
	g_budget_s = o.duration_s;
	bench_clock_init(o.clock_force_monotonic);
	snprintf(why, sizeof(why), "file %u MiB, slabs %u KiB, blocks %u B, %.2f s per measurement; "
		 "floor = glibc malloc/free measured before and after each row", BENCH_FILE >> 20,
		 BENCH_SLAB >> 10, BENCH_BLOCK, g_budget_s);
	if ((rc = bench_report_begin(&rep, &o, "alloc_bench", why)) < 0) {
		fprintf(stderr, "alloc_bench: %s (%s)\n", xs_strerror(rc), xs_errmsg());
		return 1;
	}
	have_pair = bench_plan(&rep.topo, "core", pair, why, sizeof(why)) == 0;
	if (!have_pair)
		bench_report_note(&rep, "core", NULL, 0, "remote rows run unpinned: %s", why);
	for (b = 0; b < NBENCH; b++) {
		int vi, sel = bench_selected(&o, benches[b].name);

		for (vi = 1; vi < NVAR && !sel; vi++)
			sel = bench_selected(&o, row_names[b][vi]);
		steps += sel ? 2 * NVAR - 1 : 0;
	}
	for (b = 0; b < NBENCH; b++) {
		const struct bench_def *d = &benches[b];
		struct result g[NVAR], x[NVAR], gl;
		const char *placement = d->two_cpus ? "core" : "local";
		int ncpus = have_pair ? (d->two_cpus ? 2 : 1) : 0, vi, sel = bench_selected(&o, d->name);

		for (vi = 1; vi < NVAR && !sel; vi++)
			sel = bench_selected(&o, row_names[b][vi]);
		if (!sel)
			continue;
		g_cpu[0] = have_pair ? pair[0] : -1;
		g_cpu[1] = have_pair && d->two_cpus ? pair[1] : -1;
		if (!d->two_cpus)
			pin(0); /* the local rows run on this thread */
		/* glibc before and after each variant: every row's floor is
		 * measured right before and right after it (g[k-1], x[k], g[k]) */
		bench_progress(&rep, ++step, steps, "%s glibc", d->name);
		g[0] = d->fn(&variants[V_GLIBC]);
		for (vi = 1; vi < NVAR; vi++) {
			bench_progress(&rep, ++step, steps, "%s %s", d->name, variants[vi].name);
			x[vi] = d->fn(&variants[vi]);
			bench_progress(&rep, ++step, steps, "%s glibc", d->name);
			g[vi] = d->fn(&variants[V_GLIBC]);
		}
		bench_progress(&rep, 0, 0, NULL);
		bench_report_section(&rep, d->name);
		memset(&gl, 0, sizeof(gl)); /* the glibc row: all its runs together */
		for (vi = 0; vi < NVAR; vi++) {
			gl.ops += g[vi].ops;
			gl.ns += g[vi].ns;
		}
		finish(&gl);
		report(&rep, d, b, V_GLIBC, placement, pair, ncpus, &gl, gl.rate, gl.rate, NULL);
		for (vi = 1; vi < NVAR; vi++)
			report(&rep, d, b, vi, placement, pair, ncpus, &x[vi], g[vi - 1].rate, g[vi].rate,
			       variants[vi].policy_of >= 0 ? &x[variants[vi].policy_of] : NULL);
		bench_report_note(&rep, placement, pair, ncpus, "%s: %s", d->name, d->policy_note);
	}
	/* context only: measured elsewhere, never a ratio */
	for (q = 0; q < sizeof(quoted) / sizeof(quoted[0]); q++)
		bench_report_quoted(&rep, quoted[q].what, quoted[q].value, quoted[q].unit, "issue 3");
	return bench_report_end(&rep) < 0 ? 1 : 0;
}
