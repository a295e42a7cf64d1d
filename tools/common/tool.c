/* SPDX-License-Identifier: Apache-2.0 */
/* Shared command-line helpers of the operator tools (see tool.h). */
#include "tool.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <unistd.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xsched/runtime.h"

static const char *tool_name = "xsched";
static void (*tool_usage)(FILE *out);

void xs_tool_init(const char *name, void (*usage)(FILE *out))
{
	tool_name = name;
	tool_usage = usage;
}

const char *xs_tool_name(void)
{
	return tool_name;
}

void xs_tool_help(void)
{
	if (tool_usage)
		tool_usage(stdout);
	fflush(stdout);
	exit(XS_EXIT_OK);
}

void xs_tool_version(void)
{
	/* The tools are built with the library; say so if a shared libxsched of
	 * another version was picked up at run time. */
	if (strcmp(xs_version(), XS_VERSION_STRING) != 0)
		printf("%s %s (libxsched %s)\n", tool_name, XS_VERSION_STRING, xs_version());
	else
		printf("%s %s\n", tool_name, XS_VERSION_STRING);
	fflush(stdout);
	exit(XS_EXIT_OK);
}

void xs_tool_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", tool_name);
	exit(XS_EXIT_USAGE);
}

const char *xs_tool_optname(const struct option *longopts, int c)
{
	static char buf[64];

	for (const struct option *o = longopts; o && o->name; o++)
		if (!o->flag && o->val == c) {
			snprintf(buf, sizeof(buf), "--%s", o->name);
			return buf;
		}
	snprintf(buf, sizeof(buf), c > 32 && c < 127 ? "-%c" : "option %d", c);
	return buf;
}

int xs_tool_getopt(int argc, char *const argv[], const char *shortopts,
		   const struct option *longopts)
{
	char opts[128];
	const char *arg;
	size_t n;
	int c;

	/* a leading ':' makes a missing value ':' rather than '?' */
	snprintf(opts, sizeof(opts), ":%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, opts, longopts, NULL);
	if (c != '?' && c != ':')
		return c;
	arg = optind > 0 && optind <= argc ? argv[optind - 1] : "";
	n = strcspn(arg, "=");
	if (c == ':')
		xs_tool_usage_error("%.*s: needs a value", (int)n,
				    arg[0] == '-' && arg[1] == '-' ? arg : xs_tool_optname(longopts, optopt));
	if (optopt && !(arg[0] == '-' && arg[1] == '-'))
		xs_tool_usage_error("-%c: unknown option", optopt);
	xs_tool_usage_error("%.*s: unknown option", (int)n, arg);
}

int xs_tool_fail(int err, const char *action_fmt, ...)
{
	va_list ap;
	const char *detail = xs_errmsg();

	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, action_fmt);
	vfprintf(stderr, action_fmt, ap);
	va_end(ap);
	fprintf(stderr, " failed: %s (%d)", xs_strerror(err), err);
	if (detail[0])
		fprintf(stderr, ": %s", detail);
	fputc('\n', stderr);
	return XS_EXIT_FAIL;
}

void xs_tool_note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", tool_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int xs_tool_common_opt(int c, const char *arg, enum xs_tool_format *fmt)
{
	switch (c) {
	case 'h':
		xs_tool_help();
	case 'V':
		xs_tool_version();
	case 'f':
		if (!fmt)
			return 0;
		if (xs_tool_parse_format(arg, fmt) < 0)
			xs_tool_usage_error("--format: '%s' is not 'table' or 'json'", arg);
		return 1;
	case '?':
		/* getopt_long already printed what was wrong (xs_tool_getopt()
		 * never returns '?') */
		fprintf(stderr, "Try '%s --help' for more information.\n", tool_name);
		exit(XS_EXIT_USAGE);
	default:
		return 0;
	}
}

int xs_tool_std_opt(int c, const char *arg, enum xs_tool_format *fmt, struct xs_rt_opts *ro)
{
	int rc;

	if (xs_tool_common_opt(c, arg, fmt))
		return 1;
	rc = xs_rt_opts_parse(ro, c, arg);
	if (rc < 0)
		xs_tool_usage_error("%s", xs_errmsg());
	return rc > 0;
}

/* ------------------------------------------------------------- parsing */

static int parse_number(const char *s, uint64_t min, uint64_t max, uint64_t *out, int binary)
{
	char *end;
	uint64_t v, mul = 1;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return xs_seterr(-XS_ETOOL_PARSE, "'%s' is not a number", s ? s : "");
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return xs_seterr(-XS_ETOOL_RANGE, "'%s' does not fit in 64 bits", s);
	if (end == s)
		return xs_seterr(-XS_ETOOL_PARSE, "'%s' is not a number", s);
	if (*end) {
		uint64_t base = binary ? 1024 : 1000;
		int exp;

		switch (*end) {
		case 'k': case 'K': exp = 1; break;
		case 'm': case 'M': exp = 2; break;
		case 'g': case 'G': exp = 3; break;
		default:
			return xs_seterr(-XS_ETOOL_PARSE, "'%s': unknown suffix '%s'", s, end);
		}
		end++;
		if (*end == 'i') {
			base = 1024;
			end++;
		}
		if (*end == 'B' && binary)
			end++;
		if (*end)
			return xs_seterr(-XS_ETOOL_PARSE, "'%s': unknown suffix", s);
		while (exp--)
			mul *= base;
		if (v > UINT64_MAX / mul)
			return xs_seterr(-XS_ETOOL_RANGE, "'%s' does not fit in 64 bits", s);
		v *= mul;
	}
	if (v < min || v > max)
		return xs_seterr(-XS_ETOOL_RANGE, "%s is outside [%llu, %llu]", s,
				 (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int xs_tool_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse_number(s, min, max, out, 0);
}

int xs_tool_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse_number(s, min, max, out, 1);
}

int xs_tool_parse_share(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return xs_seterr(-XS_ETOOL_PARSE, "empty share");
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		return xs_seterr(-XS_ETOOL_PARSE, "'%s' is not a share", s);
	if (*end == '%') {
		v /= 100.0;
		end++;
	}
	if (*end || !(v >= 0.0 && v <= 1.0))
		return xs_seterr(-XS_ETOOL_RANGE, "'%s' is not a share in [0, 1] or [0%%, 100%%]", s);
	*out = v;
	return 0;
}

int xs_tool_parse_format(const char *s, enum xs_tool_format *out)
{
	if (!strcmp(s, "table") || !strcmp(s, "text"))
		*out = XS_FMT_TABLE;
	else if (!strcmp(s, "json"))
		*out = XS_FMT_JSON;
	else
		return xs_seterr(-XS_ETOOL_PARSE, "unknown format '%s'", s);
	return 0;
}

/* ------------------------------------------------------------ CPU sets */

void xs_tool_cpus_zero(struct xs_tool_cpus *s)
{
	memset(s, 0, sizeof(*s));
}

void xs_tool_cpus_set(struct xs_tool_cpus *s, unsigned cpu)
{
	if (cpu < XS_TOOL_MAX_CPUS)
		s->bits[cpu / 64] |= 1ull << (cpu % 64);
}

int xs_tool_cpus_isset(const struct xs_tool_cpus *s, unsigned cpu)
{
	return cpu < XS_TOOL_MAX_CPUS && (s->bits[cpu / 64] >> (cpu % 64) & 1);
}

unsigned xs_tool_cpus_count(const struct xs_tool_cpus *s)
{
	unsigned n = 0;

	for (size_t i = 0; i < XS_TOOL_MAX_CPUS / 64; i++)
		n += (unsigned)__builtin_popcountll(s->bits[i]);
	return n;
}

int xs_tool_cpus_next(const struct xs_tool_cpus *s, unsigned from)
{
	for (unsigned w = from / 64; w < XS_TOOL_MAX_CPUS / 64; w++) {
		uint64_t b = s->bits[w];

		if (w == from / 64)
			b &= ~0ull << (from % 64);
		if (b)
			return (int)(w * 64 + (unsigned)__builtin_ctzll(b));
	}
	return -1;
}

void xs_tool_cpus_and(struct xs_tool_cpus *d, const struct xs_tool_cpus *a, const struct xs_tool_cpus *b)
{
	for (size_t i = 0; i < XS_TOOL_MAX_CPUS / 64; i++)
		d->bits[i] = a->bits[i] & b->bits[i];
}

void xs_tool_cpus_or(struct xs_tool_cpus *d, const struct xs_tool_cpus *a, const struct xs_tool_cpus *b)
{
	for (size_t i = 0; i < XS_TOOL_MAX_CPUS / 64; i++)
		d->bits[i] = a->bits[i] | b->bits[i];
}

void xs_tool_cpus_andnot(struct xs_tool_cpus *d, const struct xs_tool_cpus *a, const struct xs_tool_cpus *b)
{
	for (size_t i = 0; i < XS_TOOL_MAX_CPUS / 64; i++)
		d->bits[i] = a->bits[i] & ~b->bits[i];
}

int xs_tool_cpus_subset(const struct xs_tool_cpus *a, const struct xs_tool_cpus *b)
{
	for (size_t i = 0; i < XS_TOOL_MAX_CPUS / 64; i++)
		if (a->bits[i] & ~b->bits[i])
			return 0;
	return 1;
}

static int parse_cpu(const char **p, unsigned nr_cpus, unsigned *out)
{
	char *end;
	unsigned long v;

	if (**p == 'N' && nr_cpus) { /* "N": the last CPU (bitmap_parselist) */
		(*p)++;
		*out = nr_cpus - 1;
		return 0;
	}
	if (!isdigit((unsigned char)**p))
		return -XS_ETOOL_PARSE;
	errno = 0;
	v = strtoul(*p, &end, 10);
	if (errno || v >= XS_TOOL_MAX_CPUS)
		return -XS_ETOOL_RANGE;
	*p = end;
	*out = (unsigned)v;
	return 0;
}

int xs_tool_cpus_parse_list(struct xs_tool_cpus *s, const char *text, unsigned nr_cpus)
{
	const char *p = text;
	size_t len = strlen(text);

	xs_tool_cpus_zero(s);
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	while (len && isspace((unsigned char)*p)) {
		p++;
		len--;
	}
	if (len == 0 || (len == 6 && !strncmp(p, "(null)", 6)))
		return 0;
	if (len == 3 && !strncmp(p, "all", 3)) {
		if (!nr_cpus)
			return xs_seterr(-XS_ETOOL_PARSE, "CPU list 'all' needs the number of CPUs");
		for (unsigned c = 0; c < nr_cpus && c < XS_TOOL_MAX_CPUS; c++)
			xs_tool_cpus_set(s, c);
		return 0;
	}
	const char *stop = p + len;

	while (p < stop) {
		unsigned lo, hi, stride = 1;
		int rc = parse_cpu(&p, nr_cpus, &lo);

		if (rc < 0)
			goto bad;
		hi = lo;
		if (p < stop && *p == '-') {
			p++;
			if ((rc = parse_cpu(&p, nr_cpus, &hi)) < 0 || hi < lo)
				goto bad;
			if (p < stop && *p == ':') { /* "0-15:2" every 2nd CPU */
				unsigned long v;
				char *end;

				p++;
				v = strtoul(p, &end, 10);
				if (end == p || v == 0 || v > XS_TOOL_MAX_CPUS)
					goto bad;
				stride = (unsigned)v;
				p = end;
			}
		}
		for (unsigned c = lo; c <= hi; c += stride)
			xs_tool_cpus_set(s, c);
		if (p < stop) {
			if (*p != ',')
				goto bad;
			p++;
			if (p == stop)
				goto bad;
		}
	}
	return 0;
bad:
	return xs_seterr(-XS_ETOOL_PARSE, "'%.*s' is not a CPU list (like 0-3,8)", (int)len, text);
}

int xs_tool_cpus_parse_mask(struct xs_tool_cpus *s, const char *text)
{
	size_t len = strlen(text);
	unsigned bit = 0;

	xs_tool_cpus_zero(s);
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	if (len == 0)
		return xs_seterr(-XS_ETOOL_PARSE, "empty CPU mask");
	/* least significant nibble last; commas separate 32-bit words */
	for (size_t i = len; i-- > 0;) {
		int c = (unsigned char)text[i], v;

		if (c == ',')
			continue;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return xs_seterr(-XS_ETOOL_PARSE, "'%.*s' is not a hex CPU mask", (int)len, text);
		for (int b = 0; b < 4; b++)
			if (v >> b & 1)
				xs_tool_cpus_set(s, bit + (unsigned)b);
		bit += 4;
	}
	return 0;
}

char *xs_tool_cpus_format(const struct xs_tool_cpus *s, char *buf, size_t len)
{
	size_t o = 0;
	int c = xs_tool_cpus_next(s, 0);

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (c < 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	while (c >= 0) {
		int hi = c;
		int n;

		while (xs_tool_cpus_isset(s, (unsigned)hi + 1))
			hi++;
		if (hi == c)
			n = snprintf(buf + o, len - o, "%s%d", o ? "," : "", c);
		else
			n = snprintf(buf + o, len - o, "%s%d-%d", o ? "," : "", c, hi);
		if (n < 0 || (size_t)n >= len - o) {
			/* truncated: end with "..." if there is room */
			if (len >= 4)
				memcpy(buf + len - 4, "...", 4);
			return buf;
		}
		o += (size_t)n;
		c = xs_tool_cpus_next(s, (unsigned)hi + 1);
	}
	return buf;
}

char *xs_tool_cpus_format_mask(const struct xs_tool_cpus *s, char *buf, size_t len)
{
	int top = -1, c;
	size_t o = 0;

	for (c = xs_tool_cpus_next(s, 0); c >= 0; c = xs_tool_cpus_next(s, (unsigned)c + 1))
		top = c;
	if (len == 0)
		return buf;
	if (top < 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	for (int w = top / 32; w >= 0 && o < len; w--) {
		uint32_t word = (uint32_t)(s->bits[w / 2] >> ((w % 2) * 32));
		int n = w == top / 32 ? snprintf(buf + o, len - o, "%x", word)
				      : snprintf(buf + o, len - o, ",%08x", word);

		if (n < 0)
			break;
		o += (size_t)n;
	}
	return buf;
}

/* -------------------------------------------------------------- JSON */

void xs_json_init(struct xs_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
}

static void json_indent(struct xs_json *j)
{
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Separator, newline and indentation before a value, then the key. */
static void json_member(struct xs_json *j, const char *key)
{
	int d = j->depth;

	if (d > 0) {
		if (j->count[d])
			fputc(',', j->f);
		if (j->inline_[d]) {
			if (j->count[d])
				fputc(' ', j->f);
		} else {
			fputc('\n', j->f);
			json_indent(j);
		}
		if (j->count[d] < 255)
			j->count[d]++;
	}
	if (key) {
		json_string(j->f, key);
		fputs(": ", j->f);
	}
}

static void json_open(struct xs_json *j, const char *key, char c, int inl)
{
	json_member(j, key);
	fputc(c, j->f);
	if (j->depth < XS_JSON_MAX_DEPTH - 1)
		j->depth++;
	j->count[j->depth] = 0;
	j->inline_[j->depth] = (uint8_t)(inl || j->inline_[j->depth - 1]);
}

static void json_close(struct xs_json *j, char c)
{
	int had = j->count[j->depth], inl = j->inline_[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (had && !inl) {
		fputc('\n', j->f);
		json_indent(j);
	}
	fputc(c, j->f);
}

void xs_json_obj_begin(struct xs_json *j, const char *key)
{
	json_open(j, key, '{', 0);
}

void xs_json_obj_end(struct xs_json *j)
{
	json_close(j, '}');
}

void xs_json_arr_begin(struct xs_json *j, const char *key)
{
	json_open(j, key, '[', 0);
}

void xs_json_arr_begin_inline(struct xs_json *j, const char *key)
{
	json_open(j, key, '[', 1);
}

void xs_json_arr_end(struct xs_json *j)
{
	json_close(j, ']');
}

void xs_json_str(struct xs_json *j, const char *key, const char *val)
{
	json_member(j, key);
	if (val)
		json_string(j->f, val);
	else
		fputs("null", j->f);
}

void xs_json_u64(struct xs_json *j, const char *key, uint64_t val)
{
	json_member(j, key);
	fprintf(j->f, "%llu", (unsigned long long)val);
}

void xs_json_i64(struct xs_json *j, const char *key, int64_t val)
{
	json_member(j, key);
	fprintf(j->f, "%lld", (long long)val);
}

void xs_json_num(struct xs_json *j, const char *key, double val, int prec)
{
	json_member(j, key);
	if (isfinite(val))
		fprintf(j->f, "%.*f", prec, val);
	else
		fputs("null", j->f);
}

void xs_json_bool(struct xs_json *j, const char *key, int val)
{
	json_member(j, key);
	fputs(val ? "true" : "false", j->f);
}

void xs_json_null(struct xs_json *j, const char *key)
{
	json_member(j, key);
	fputs("null", j->f);
}

void xs_json_cpus(struct xs_json *j, const char *key, const struct xs_tool_cpus *s)
{
	xs_json_arr_begin_inline(j, key);
	for (int c = xs_tool_cpus_next(s, 0); c >= 0; c = xs_tool_cpus_next(s, (unsigned)c + 1))
		xs_json_i64(j, NULL, c);
	xs_json_arr_end(j);
}

void xs_json_finish(struct xs_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

/* --------------------------------------------------------- statistics */

void xs_hist_init(struct xs_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void xs_hist_merge(struct xs_hist *a, const struct xs_hist *b)
{
	for (unsigned i = 0; i < XS_HIST_BUCKETS; i++)
		a->b[i] += b->b[i];
	a->count += b->count;
	a->sum += b->sum;
	if (b->min < a->min)
		a->min = b->min;
	if (b->max > a->max)
		a->max = b->max;
}

uint64_t xs_hist_quantile(const struct xs_hist *h, double q)
{
	uint64_t rank, seen = 0, v;

	if (!h->count)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	rank = (uint64_t)ceil(q * (double)h->count); /* nearest rank */
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < XS_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen < rank)
			continue;
		if (i < 2 * XS_HIST_SUB) {
			v = i;
		} else {
			unsigned e = (i - 2 * XS_HIST_SUB) / XS_HIST_SUB + 1;
			uint64_t m = XS_HIST_SUB + (i - 2 * XS_HIST_SUB) % XS_HIST_SUB;

			v = (m << e) + ((1ull << e) >> 1);
		}
		return v < h->min ? h->min : v > h->max ? h->max : v;
	}
	return h->max;
}

uint64_t xs_tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ runtime */

int xs_tool_plan_rt(const struct xs_rt_opts *ro, struct xs_topo *topo, const struct xs_task *tasks,
		    int nt, int mem_node, struct xs_plan **plan, struct xs_rt **rt)
{
	struct xs_plan_opts po;
	struct xs_rt_params rp;
	int sys = xs_topo_is_system(topo), rc;

	*plan = NULL;
	*rt = NULL;
	xs_plan_opts_init(&po);
	xs_rt_opts_plan(ro, &po);
	if (mem_node >= 0)
		po.mem_node = mem_node;
	if ((rc = xs_plan_build(plan, topo, tasks, nt, &po)) < 0)
		return rc;
	xs_rt_params_init(&rp);
	xs_rt_opts_params(ro, &rp);
	rp.topo = sys ? topo : NULL;
	rp.pin = sys ? XS_RT_PIN_EXACT : XS_RT_PIN_REMAP;
	return xs_rt_create(rt, &rp);
}

void xs_tool_check_plan(const struct xs_rt_opts *ro, struct xs_topo *topo,
			const struct xs_task *tasks, int nt, int mem_node)
{
	struct xs_plan_opts po;
	struct xs_plan *plan = NULL;
	char msg[1024];
	const char *m, *opt;
	int rc;

	xs_plan_opts_init(&po);
	xs_rt_opts_plan(ro, &po);
	if (mem_node >= 0)
		po.mem_node = mem_node;
	rc = xs_plan_build(&plan, topo, tasks, nt, &po);
	xs_plan_destroy(plan);
	if (rc >= 0)
		return;
	m = xs_errmsg();
	/* the planner's messages start with what was planned; the option says it */
	if (!strncmp(m, "placement: ", 11))
		m += 11;
	else if (!strncmp(m, "plan: ", 6))
		m += 6;
	snprintf(msg, sizeof(msg), "%s", m);
	if (rc == -XS_ERT_CPUS) {
		opt = "--cpus";
	} else if (rc == -XS_ERT_NO_CORES) {
		xs_tool_usage_error("--placement: %s: %s", xs_place_policy_name(ro->placement), msg);
	} else {
		xs_seterr(rc, "%s", msg);
		exit(xs_tool_fail(rc, "plan the lightweight threads"));
	}
	xs_tool_usage_error("%s: %s", opt, msg);
}

void xs_tool_check_cpus(const struct xs_rt_opts *ro, const struct xs_topo *topo)
{
	struct xs_cpuset bad;
	char list[256], all[256];
	int n;

	if (!ro->has_cpus)
		return;
	xs_cpuset_andnot(&bad, &ro->cpus, xs_topo_cpus(topo));
	if ((n = xs_cpuset_count(&bad)) == 0)
		return;
	xs_cpuset_format(&bad, list, sizeof(list));
	xs_cpuset_format(xs_topo_cpus(topo), all, sizeof(all));
	xs_tool_usage_error("--cpus: CPU%s %s do%s not exist (topology %s has CPUs %s)",
			    n == 1 ? "" : "s", list, n == 1 ? "es" : "", xs_topo_source(topo), all);
}

/* ------------------------------------------------------- error text */

const char *xs_strerror_tools(int code)
{
	switch (code) {
	case XS_ETOOL_PARSE: return "value could not be parsed";
	case XS_ETOOL_RANGE: return "value out of range";
	case XS_ETOOL_PAYLOAD: return "transaction payload failed its self-check";
	case XS_ETOOL_PROTOCOL: return "peer broke the message protocol";
	case XS_ETOOL_PEER_GONE: return "peer stopped before the end of the stream";
	case XS_ETOOL_LEAK: return "memory owned by the tool was not freed";
	case XS_ETOOL_UNREADABLE: return "system file unreadable or not understood";
	default: return NULL;
	}
}
