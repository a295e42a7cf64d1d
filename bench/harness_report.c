/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark harness, report: the machine description, result rows (with
 * their floors, the spread of the ratios and how the receiver waited), the
 * table and the JSON lines, quoted figures kept apart, progress.
 * See harness.h for the contract.
 */
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "xsched/common.h"

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

/* A row that beats a floor bounding it: latency below, throughput above. */
static int beats(const struct bench_row *r, double ratio)
{
	return r->kind == BENCH_LATENCY ? ratio < 1.0 : ratio > 1.0;
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
	/* the spread: the row against either of its two floors */
	r->ratio_min = mine > 0 ? mine / hi : 0;
	r->ratio_max = mine > 0 ? mine / lo : 0;
	r->ratio_rounds = 1;
	r->floor_unreliable = r->floor_bound && r->ratio_to_floor > 0 && beats(r, r->ratio_to_floor);
}

void bench_row_floor_bound(struct bench_row *r, const char *floor_name, double before,
			   double after)
{
	r->floor_bound = 1;
	bench_row_floor(r, floor_name, before, after);
}

void bench_row_ratio(struct bench_row *r, int which, const char *key, const char *label,
		     const char *floor_name, double floor_value, const struct bench_ratio *ratio,
		     int bound)
{
	int unreliable = bound && ratio->n && beats(r, ratio->median);

	if (which == 0) {
		r->floor_name = floor_name;
		r->floor_label = label;
		r->floor_value = floor_value > 0 ? floor_value : 0;
		r->floor_before = r->floor_after = 0;
		r->ratio_to_floor = ratio->n ? ratio->median : 0;
		r->ratio_min = ratio->min;
		r->ratio_max = ratio->max;
		r->ratio_rounds = ratio->n;
		r->floor_bound = bound;
		r->floor_unreliable = unreliable;
	} else {
		r->f2.key = key;
		r->f2.label = label;
		r->f2.name = floor_name;
		r->f2.value = floor_value > 0 ? floor_value : 0;
		r->f2.ratio = *ratio;
		r->f2.bound = bound;
		r->f2.unreliable = unreliable;
	}
}

void bench_row_wait(struct bench_row *r, const char *how)
{
	r->wait = how;
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

static void json_keyf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A key built from parts ("ratio_to_" + stem ...). */
static void json_keyf(FILE *f, const char *fmt, ...)
{
	char k[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(k, sizeof(k), fmt, ap);
	va_end(ap);
	json_key(f, k);
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
		const char *unit = r->kind == BENCH_LATENCY ? "p50_ns" : "msgs_per_s";

		json_keyf(f, "floor_%s", unit);
		json_num(f, r->floor_value);
		if (r->floor_before > 0) {
			json_keyf(f, "floor_before_%s", unit);
			json_num(f, r->floor_before);
			json_keyf(f, "floor_after_%s", unit);
			json_num(f, r->floor_after);
		}
		json_key(f, "floor_bench");
		json_str(f, r->floor_name ? r->floor_name : "");
		json_key(f, "ratio_to_floor");
		json_num(f, r->ratio_to_floor);
		json_key(f, "ratio_to_floor_min");
		json_num(f, r->ratio_min);
		json_key(f, "ratio_to_floor_max");
		json_num(f, r->ratio_max);
		json_key(f, "ratio_to_floor_rounds");
		json_num(f, r->ratio_rounds);
		json_key(f, "floor_unstable");
		fputs(r->floor_unstable ? "true" : "false", f);
		json_key(f, "floor_bound");
		fputs(r->floor_bound ? "true" : "false", f);
		json_key(f, "floor_unreliable");
		fputs(r->floor_unreliable ? "true" : "false", f);
	}
	if (!r->skipped && r->f2.key && r->f2.value > 0) {
		const char *unit = r->kind == BENCH_LATENCY ? "p50_ns" : "msgs_per_s";

		json_keyf(f, "%s_%s", r->f2.key, unit);
		json_num(f, r->f2.value);
		json_keyf(f, "%s_bench", r->f2.key);
		json_str(f, r->f2.name ? r->f2.name : "");
		json_keyf(f, "ratio_to_%s", r->f2.key);
		json_num(f, r->f2.ratio.median);
		json_keyf(f, "ratio_to_%s_min", r->f2.key);
		json_num(f, r->f2.ratio.min);
		json_keyf(f, "ratio_to_%s_max", r->f2.key);
		json_num(f, r->f2.ratio.max);
		json_keyf(f, "ratio_to_%s_rounds", r->f2.key);
		json_num(f, r->f2.ratio.n);
		json_keyf(f, "%s_bound", r->f2.key);
		fputs(r->f2.bound ? "true" : "false", f);
		json_keyf(f, "%s_unreliable", r->f2.key);
		fputs(r->f2.unreliable ? "true" : "false", f);
	}
	if (!r->skipped && r->wait) {
		json_key(f, "wait");
		json_str(f, r->wait);
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

/*
 * Table columns: row, wait, the numbers (latency: p50 p90 p99 p99.9 in ns;
 * throughput: msgs/s), then one cell per floor: "x <label>" = the ratio and,
 * when it was measured against more than one floor, its spread
 * "min-max". max and the absolute floors are in the JSON (and the floors
 * in their own rows where the program prints them).
 */
#define NAME_W 29
#define CELL_W 17

static void table_header(struct bench_report *rep, const struct bench_row *r)
{
	FILE *f = rep->out;
	char c1[32], c2[32];

	snprintf(c1, sizeof(c1), "x %s", r->floor_label ? r->floor_label : "floor");
	snprintf(c2, sizeof(c2), "x %s", r->f2.label ? r->f2.label : "");
	if (r->kind == BENCH_LATENCY)
		fprintf(f, "  %-*s %-10s %8s %8s %8s %8s", NAME_W, "row", "wait", "p50", "p90", "p99",
			"p99.9");
	else
		fprintf(f, "  %-*s %-10s %12s", NAME_W, "row", "wait", "msgs/s");
	fprintf(f, "   %-*s", CELL_W, c1);
	if (r->f2.key)
		fprintf(f, " %-*s", CELL_W, c2);
	fputc('\n', f);
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

/* One ratio cell: "1.52x 1.48-1.60"; a bound beaten is not a result. */
static void ratio_cell(char *buf, size_t n, double ratio, double lo, double hi, int unreliable)
{
	if (!(ratio > 0))
		snprintf(buf, n, "-");
	else if (unreliable)
		snprintf(buf, n, "floor unreliable");
	else if (ratio < 10 && lo > 0 && hi > 0 && (lo < ratio * 0.995 || hi > ratio * 1.005))
		snprintf(buf, n, "%.2fx %.2f-%.2f", ratio, lo, hi);
	else if (ratio >= 10 && lo > 0 && hi > 0 && floor(lo + 0.5) != floor(hi + 0.5))
		snprintf(buf, n, "%.0fx %.0f-%.0f", ratio, lo, hi);
	else
		snprintf(buf, n, ratio < 10 ? "%.2fx" : "%.0fx", ratio);
}

static void table_row(struct bench_report *rep, const struct bench_row *r)
{
	FILE *f = rep->out;
	char cell[48];

	if (rep->header_done == 0 || rep->last_kind != r->kind) {
		table_header(rep, r);
		rep->header_done = 1;
		rep->last_kind = r->kind;
	}
	if (r->skipped) {
		fprintf(f, "  %-*s skipped: %s\n", NAME_W, r->bench, r->note);
		return;
	}
	fprintf(f, "  %-*s %-10s", NAME_W, r->bench, r->wait ? r->wait : "-");
	if (r->kind == BENCH_LATENCY) {
		fprintf(f, " %8.0f %8.0f %8.0f %8.0f", r->p50_ns, r->p90_ns, r->p99_ns, r->p999_ns);
	} else {
		fmt_rate(cell, sizeof(cell), r->msgs_per_s);
		fprintf(f, " %12s", cell);
	}
	ratio_cell(cell, sizeof(cell), r->floor_value > 0 ? r->ratio_to_floor : 0, r->ratio_min,
		   r->ratio_max, r->floor_unreliable);
	fprintf(f, "   %-*s", CELL_W, cell);
	if (r->f2.key) {
		ratio_cell(cell, sizeof(cell), r->f2.value > 0 ? r->f2.ratio.median : 0,
			   r->f2.ratio.min, r->f2.ratio.max, r->f2.unreliable);
		fprintf(f, " %-*s", CELL_W, cell);
	}
	if (r->floor_unstable)
		fputs(" !", f);
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
	if (!r->skipped && (r->floor_unreliable || (r->f2.key && r->f2.unreliable)))
		rep->unreliable_rows++;
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

void bench_report_quoted(struct bench_report *rep, const char *what, double value,
			 const char *unit, const char *source)
{
	FILE *f = rep->out;

	progress_clear(rep);
	if (rep->opts->format == BENCH_JSON) {
		json_head(rep, "quoted", "none", NULL, 0);
		json_key(f, "kind");
		json_str(f, "info");
		json_key(f, "what");
		json_str(f, what);
		json_key(f, "quoted_value");
		json_num(f, value);
		json_key(f, "unit");
		json_str(f, unit);
		json_key(f, "source");
		json_str(f, source);
		json_key(f, "label");
		json_str(f, "quoted, another machine");
		fputs("}\n", f);
	} else if (!rep->opts->quiet) {
		if (!strcmp(unit, "ns") && value >= 1e6)
			fprintf(f, "  quoted, another machine (%s): %s %.3g ms\n", source, what,
				value / 1e6);
		else if (!strcmp(unit, "ns") && value >= 1e3)
			fprintf(f, "  quoted, another machine (%s): %s %.3g us\n", source, what,
				value / 1e3);
		else
			fprintf(f, "  quoted, another machine (%s): %s %g %s\n", source, what, value,
				unit);
	}
	fflush(f);
}

int bench_report_end(struct bench_report *rep)
{
	int rc = 0;

	progress_clear(rep);
	if (rep->opts->format == BENCH_TABLE && !rep->opts->quiet && rep->unstable_rows)
		fprintf(rep->out,
			"\n! %d row%s had floors more than 25%% apart during the row: the machine "
			"changed regime while it ran; rerun before trusting its ratio.\n",
			rep->unstable_rows, rep->unstable_rows == 1 ? "" : "s");
	if (rep->opts->format == BENCH_TABLE && !rep->opts->quiet && rep->unreliable_rows)
		fprintf(rep->out,
			"\nfloor unreliable in this run: %d row%s measured beyond a floor that bounds "
			"%s (a latency below it, a throughput above it). That is noise of this run, "
			"not a result: the ratio is left out (JSON keeps it, flagged *_unreliable); "
			"rerun on a quieter machine.\n",
			rep->unreliable_rows, rep->unreliable_rows == 1 ? "" : "s",
			rep->unreliable_rows == 1 ? "it" : "them");
	fflush(rep->out);
	if (rep->opts->plot && bench_plot(rep, rep->opts->plot) < 0)
		rc = -1;
	free(rep->rows);
	rep->rows = NULL;
	bench_topo_free(&rep->topo);
	return rc;
}
