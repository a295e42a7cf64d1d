/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared command-line helpers of the xsched operator tools (xsched-doctor,
 * xsched-topo, xsched-mockval, xsched-sched). Not part of libxsched.
 *
 * Conventions every tool follows (STYLE.md §3.8):
 *   - exit 0 on success, 1 on a runtime failure, 2 on a usage error;
 *   - data on stdout, diagnostics on stderr, formatted as
 *     "<tool>: <action> failed: <xs_strerror> (<code>)[: <detail>]";
 *   - a bad option, value, CPU set or placement is reported as
 *     "<tool>: --<option>: <what is wrong>" (exit 2) before the tool
 *     listens, connects or touches anything;
 *   - -h/--help prints the usage on stdout and exits 0; a usage error prints
 *     one line and a hint on stderr and exits 2;
 *   - -V/--version prints "<tool> <version>" and exits 0;
 *   - -f/--format table|json where the output is data.
 */
#ifndef XS_TOOL_H
#define XS_TOOL_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "xsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ exit codes */
#define XS_EXIT_OK    0 /**< success (doctor: nothing failed) */
#define XS_EXIT_FAIL  1 /**< runtime failure, check failed, mismatch, leak */
#define XS_EXIT_USAGE 2 /**< bad command line */

/* ------------------------------------------------------- error numbers */
/** Tool error numbers (block 4600, returned negated). */
enum xs_error_tools {
	XS_ETOOL_PARSE = XS_E_TOOLS_BASE, /**< a value could not be parsed */
	XS_ETOOL_RANGE,                   /**< a value is outside its allowed range */
	XS_ETOOL_PAYLOAD,                 /**< a transaction payload failed its self-check */
	XS_ETOOL_PROTOCOL,                /**< the peer broke the message protocol */
	XS_ETOOL_PEER_GONE,               /**< the peer stopped before the end of the stream */
	XS_ETOOL_LEAK,                    /**< memory the tool owned was not freed */
	XS_ETOOL_UNREADABLE,              /**< a system file could not be read or understood */
};

/* --------------------------------------------------------- output format */
enum xs_tool_format {
	XS_FMT_TABLE = 0,
	XS_FMT_JSON = 1,
};

/* --------------------------------------------------------- identity, usage */

/**
 * Register the tool's name and its usage printer (called with stdout for
 * --help, with nothing for usage errors, which only print a hint).
 */
void xs_tool_init(const char *name, void (*usage)(FILE *out));

/** The registered tool name ("xsched-doctor"). */
const char *xs_tool_name(void);

/** Print the usage on stdout and exit 0. */
__attribute__((noreturn)) void xs_tool_help(void);

/** Print "<tool> <version>" (plus the library version when they differ) and exit 0. */
__attribute__((noreturn)) void xs_tool_version(void);

/** Print "<tool>: <message>" and a --help hint on stderr, exit 2. */
__attribute__((noreturn)) void xs_tool_usage_error(const char *fmt, ...) XS_PRINTF(1, 2);

struct option;

/**
 * getopt_long() with the tools' own messages: an unknown option or a missing
 * value is a usage error "<tool>: --name: unknown option" / "--name: needs a
 * value" (exit 2). Same arguments and results otherwise (never '?').
 */
int xs_tool_getopt(int argc, char *const argv[], const char *shortopts,
		   const struct option *longopts);

/** "--name" of the option whose getopt value is @p c in @p longopts ("-c"
 *  for a short-only option). Static storage. */
const char *xs_tool_optname(const struct option *longopts, int c);

/**
 * Print "<tool>: <action> failed: <xs_strerror(err)> (<err>)" on stderr,
 * followed by ": <xs_errmsg()>" when a detail was recorded. Returns
 * XS_EXIT_FAIL so callers can `return xs_tool_fail(...)`.
 */
int xs_tool_fail(int err, const char *action_fmt, ...) XS_PRINTF(2, 3);

/** Print "<tool>: <message>" on stderr (warnings, progress notes). */
void xs_tool_note(const char *fmt, ...) XS_PRINTF(1, 2);

/**
 * Handle the options every tool shares inside a getopt_long loop:
 * 'h' (--help), 'V' (--version), 'f' (--format), '?' (getopt's own error:
 * exits 2). @return 1 when @p c was one of them (and @p fmt was updated for
 * 'f'), 0 otherwise. @p fmt may be NULL for tools without --format.
 */
int xs_tool_common_opt(int c, const char *arg, enum xs_tool_format *fmt);

struct xs_rt_opts;

/**
 * xs_tool_common_opt(), then the runtime's standard options into @p ro
 * (a bad value: usage error, exit 2). @return 1 when @p c was one of them.
 */
int xs_tool_std_opt(int c, const char *arg, enum xs_tool_format *fmt, struct xs_rt_opts *ro);

/** getopt_long entries of the shared options (append to each tool's table). */
#define XS_TOOL_LONGOPTS                                   \
	{"help", no_argument, NULL, 'h'},                  \
	{"version", no_argument, NULL, 'V'}
#define XS_TOOL_LONGOPT_FORMAT {"format", required_argument, NULL, 'f'}

/* ------------------------------------------------------------- parsing */

/**
 * Parse an unsigned integer (decimal, or 0x hex) with an optional
 * multiplier suffix: k/K = 1e3, M = 1e6, G = 1e9 (counts: "100k" transactions),
 * or Ki/Mi/Gi = 2^10/2^20/2^30 (and KiB/MiB/GiB). The whole string must be
 * used. @return 0, -XS_ETOOL_PARSE or -XS_ETOOL_RANGE (outside [min, max]).
 */
int xs_tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/**
 * Parse a byte size: like xs_tool_parse_u64 but K/M/G (and KB/MB/GB) are
 * binary multiples too, as in "64M" or "2MiB".
 */
int xs_tool_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/** Parse a share: "25%" or "0.25" (a fraction in [0, 1]). */
int xs_tool_parse_share(const char *s, double *out);

/** Parse "table" or "json". */
int xs_tool_parse_format(const char *s, enum xs_tool_format *out);

/* ------------------------------------------------------------ CPU sets */

#define XS_TOOL_MAX_CPUS 8192

/** A fixed-size CPU set (1 KiB), enough for any Linux kernel_max. */
struct xs_tool_cpus {
	uint64_t bits[XS_TOOL_MAX_CPUS / 64];
};

void xs_tool_cpus_zero(struct xs_tool_cpus *s);
void xs_tool_cpus_set(struct xs_tool_cpus *s, unsigned cpu);
int xs_tool_cpus_isset(const struct xs_tool_cpus *s, unsigned cpu);
unsigned xs_tool_cpus_count(const struct xs_tool_cpus *s);
/** Lowest CPU in the set at or above @p from, or -1. */
int xs_tool_cpus_next(const struct xs_tool_cpus *s, unsigned from);
void xs_tool_cpus_and(struct xs_tool_cpus *d, const struct xs_tool_cpus *a, const struct xs_tool_cpus *b);
void xs_tool_cpus_or(struct xs_tool_cpus *d, const struct xs_tool_cpus *a, const struct xs_tool_cpus *b);
/** d = a & ~b */
void xs_tool_cpus_andnot(struct xs_tool_cpus *d, const struct xs_tool_cpus *a, const struct xs_tool_cpus *b);
/** 1 when every CPU of @p a is in @p b. */
int xs_tool_cpus_subset(const struct xs_tool_cpus *a, const struct xs_tool_cpus *b);

/**
 * Parse a kernel CPU list ("0-3,8,10-15:2", as cpulist_parse accepts,
 * including "all" when @p nr_cpus > 0 and the trailing whitespace or newline
 * of a sysfs file). An empty string or "(null)" gives the empty set.
 * @return 0 or -XS_ETOOL_PARSE / -XS_ETOOL_RANGE.
 */
int xs_tool_cpus_parse_list(struct xs_tool_cpus *s, const char *text, unsigned nr_cpus);

/**
 * Parse a kernel hex CPU mask ("ff,ffffffff", most significant word first,
 * as /proc/irq/default_smp_affinity and Cpus_allowed).
 */
int xs_tool_cpus_parse_mask(struct xs_tool_cpus *s, const char *text);

/** Format as a compact list ("0-3,8"); "-" for the empty set. @return buf. */
char *xs_tool_cpus_format(const struct xs_tool_cpus *s, char *buf, size_t len);

/** Format as a kernel hex mask ("ff,00000003": 32-bit words, most significant first). */
char *xs_tool_cpus_format_mask(const struct xs_tool_cpus *s, char *buf, size_t len);

/* -------------------------------------------------------------- JSON */

#define XS_JSON_MAX_DEPTH 16

/**
 * A small streaming JSON writer with two-space indentation: deterministic
 * output (for golden files), correct string escaping, no allocation.
 * @p key is the member name inside an object and must be NULL inside an
 * array or at the top level.
 */
struct xs_json {
	FILE *f;
	int depth;
	uint8_t count[XS_JSON_MAX_DEPTH]; /**< members written at each depth (saturating) */
	uint8_t inline_[XS_JSON_MAX_DEPTH]; /**< container written on one line */
};

void xs_json_init(struct xs_json *j, FILE *f);
void xs_json_obj_begin(struct xs_json *j, const char *key);
void xs_json_obj_end(struct xs_json *j);
void xs_json_arr_begin(struct xs_json *j, const char *key);
/** An array whose items are written on one line ("[0, 1, 2]"); for short scalar lists. */
void xs_json_arr_begin_inline(struct xs_json *j, const char *key);
void xs_json_arr_end(struct xs_json *j);
void xs_json_str(struct xs_json *j, const char *key, const char *val);
void xs_json_u64(struct xs_json *j, const char *key, uint64_t val);
void xs_json_i64(struct xs_json *j, const char *key, int64_t val);
/** A number printed with %.*f (@p prec digits); non-finite values become null. */
void xs_json_num(struct xs_json *j, const char *key, double val, int prec);
void xs_json_bool(struct xs_json *j, const char *key, int val);
void xs_json_null(struct xs_json *j, const char *key);
/** A CPU set as an inline array of numbers. */
void xs_json_cpus(struct xs_json *j, const char *key, const struct xs_tool_cpus *s);
/** Finish the document (newline after the top-level value). */
void xs_json_finish(struct xs_json *j);

/* --------------------------------------------------------- statistics */

/*
 * Log-linear histogram of u64 values (latencies in ns): exact below 128,
 * then 64 buckets per power of two (relative error below 1.6 %). 30 KiB,
 * no allocation, recording is a few instructions. One writer at a time;
 * merge per-thread histograms at the end.
 */
#define XS_HIST_SUB     64u
#define XS_HIST_BUCKETS (2u * XS_HIST_SUB + 57u * XS_HIST_SUB)

struct xs_hist {
	uint64_t count, sum, min, max;
	uint64_t b[XS_HIST_BUCKETS];
};

void xs_hist_init(struct xs_hist *h);

XS_INLINE unsigned xs_hist_index(uint64_t v)
{
	unsigned msb, e;

	if (v < 2 * XS_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	e = msb - 6u; /* v >> e lies in [64, 127] */
	return 2u * XS_HIST_SUB + (e - 1u) * XS_HIST_SUB + (unsigned)((v >> e) - XS_HIST_SUB);
}

/** Record @p n samples of value @p v. */
XS_INLINE void xs_hist_add(struct xs_hist *h, uint64_t v, uint64_t n)
{
	h->b[xs_hist_index(v)] += n;
	h->count += n;
	h->sum += v * n;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/** a += b. */
void xs_hist_merge(struct xs_hist *a, const struct xs_hist *b);

/** Value at quantile @p q (0..1): the middle of its bucket, clamped to [min, max]; 0 when empty. */
uint64_t xs_hist_quantile(const struct xs_hist *h, double q);

/** CLOCK_MONOTONIC in nanoseconds. */
uint64_t xs_tool_now_ns(void);

/* ------------------------------------------------------------ runtime */

struct xs_topo;
struct xs_task;
struct xs_plan;
struct xs_rt;

/**
 * Check the standard options against the machine before anything else
 * happens: plan @p nt tasks on @p topo (on node index @p mem_node when
 * >= 0) and drop the plan. A refusal is a usage error naming the option
 * that caused it ("<tool>: --cpus: CPU 7 does not exist ...", "<tool>:
 * --placement: dedicated: node 0 has 1 usable core for 5 busy tasks ...")
 * and exits 2; other errors exit 1.
 */
void xs_tool_check_plan(const struct xs_rt_opts *ro, struct xs_topo *topo,
			const struct xs_task *tasks, int nt, int mem_node);

/** --cpus names only CPUs of @p topo, else "<tool>: --cpus: CPU 7 does not
 *  exist (...)" and exit 2. */
void xs_tool_check_cpus(const struct xs_rt_opts *ro, const struct xs_topo *topo);
/**
 * The placement plan and the runtime of a session tool: plan @p nt tasks on
 * @p topo with the standard options @p ro (on NUMA node index @p mem_node
 * when >= 0, the node holding the session's memory), then create a runtime
 * with the options' idle strategy that pins exactly on this machine's
 * topology and remaps a synthetic one onto the allowed CPUs. The caller adds
 * the lightweight threads in plan order (xs_plan_task(), xs_rt_add_plan())
 * and destroys both (also after a failure: *plan and *rt are NULL or valid).
 * @return 0 or the planner's / runtime's negative error.
 */
int xs_tool_plan_rt(const struct xs_rt_opts *ro, struct xs_topo *topo, const struct xs_task *tasks,
		    int nt, int mem_node, struct xs_plan **plan, struct xs_rt **rt);

#ifdef __cplusplus
}
#endif
#endif /* XS_TOOL_H */
