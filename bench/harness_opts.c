/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark harness, options: the options every benchmark understands (and
 * the runtime's), their checks before anything runs, and the one format of
 * every bad-option message: "<program>: --option: what is wrong".
 * See harness.h for the contract.
 */
#include "harness.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <getopt.h>

#include "xsched/common.h"

const char *bench_progname = "bench";

void bench_opt_error(const char *opt, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", bench_progname, opt);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --plot FILE: the formats gnuplot is driven for; refused before anything runs. */
static int check_plot(const char *file)
{
	const char *ext = strrchr(file, '.');

	if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png"))) {
		bench_opt_error("--plot", "'%s': unsupported format %s%s%s (the file name must end "
				"in .svg or .png)", file, ext ? "'" : "(no extension)", ext ? ext : "",
				ext ? "'" : "");
		return -1;
	}
	if (!bench_have_gnuplot()) {
		bench_opt_error("--plot", "needs gnuplot, which is not installed (Debian: apt-get "
				"install gnuplot-nox)");
		return -1;
	}
	return 0;
}

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
		"  --plot FILE         latency percentiles per row to FILE (.svg or .png; needs\n"
		"                      gnuplot; anything else is refused before the run)\n"
		"  --only PAT[,PAT]    run only rows whose name matches a glob (floors always run;\n"
		"                      a pattern that matches no row is refused)\n"
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
		bench_opt_error(name, "'%s' is not a positive integer", s);
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
		bench_opt_error(name, "'%s' is not a duration in seconds (> 0)", s);
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

	if (argc > 0 && argv[0] && *argv[0]) {
		const char *slash = strrchr(argv[0], '/');

		bench_progname = slash ? slash + 1 : argv[0];
	}
	while (extra && extra[nextra].name)
		nextra++;
	all = calloc(ncommon + nextra + 1, sizeof(*all));
	if (!all)
		return -1;
	memcpy(all, common, sizeof(common));
	for (i = 0; i < nextra; i++)
		all[ncommon + i] = extra[i];
	optind = 1;
	opterr = 0; /* our own messages, in the one format (see below) */
	while (rc == 0 && (c = getopt_long(argc, argv, ":qh", all, NULL)) != -1) {
		int r = xs_rt_opts_parse(&o->rt, c, optarg);

		if (r > 0)
			continue;
		if (r < 0) {
			fprintf(stderr, "%s: %s\n", bench_progname, xs_errmsg());
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
				bench_opt_error("--format", "'%s' is neither table nor json", optarg);
				rc = -1;
			}
			break;
		case BENCH_OPT_PLOT:
			rc = check_plot(optarg);
			o->plot = optarg;
			break;
		case BENCH_OPT_ONLY:
			o->only = optarg;
			break;
		case BENCH_OPT_PAIRS:
			if (check_pairs(optarg) < 0) {
				bench_opt_error("--pairs", "'%s' is not auto or a list of smt, core, numa",
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
				bench_opt_error("--clock", "'%s' is neither tsc nor monotonic", optarg);
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
		case ':': {
			/* the option as written, without an "=value" */
			char opt[64];
			const char *w = optind > 1 ? argv[optind - 1] : "?";

			if (optopt && optopt < 0x100 && !(w[0] == '-' && w[1] == '-'))
				snprintf(opt, sizeof(opt), "-%c", optopt);
			else
				snprintf(opt, sizeof(opt), "%.*s", (int)strcspn(w, "="), w);
			bench_opt_error(opt, c == ':' ? "needs a value" :
					"unknown option (--help lists them)");
			rc = -1;
			break;
		}
		default:
			rc = on_extra ? on_extra(ctx, c, optarg) : -1;
			break;
		}
	}
	if (rc == 0 && optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", bench_progname, argv[optind]);
		rc = -1;
	}
	free(all);
	if (rc < 0)
		return -1;
	if (o->progress < 0)
		o->progress = isatty(STDERR_FILENO);
	return help;
}

/* Each --only pattern in turn (comma separated), into @p pat; NULL at the end. */
static const char *next_pattern(const char *p, char *pat, size_t patlen, int *ok)
{
	const char *e = strchr(p, ',');
	size_t n;

	if (!e)
		e = p + strlen(p);
	n = (size_t)(e - p);
	*ok = n > 0 && n < patlen;
	if (*ok) {
		memcpy(pat, p, n);
		pat[n] = '\0';
	}
	return *e ? e + 1 : e;
}

int bench_only_check(const struct bench_opts *o, const char *const *names, int n)
{
	char pat[128];
	const char *p;
	int ok, i, rc = 0;

	if (!o->only)
		return 0;
	if (!*o->only) {
		bench_opt_error("--only", "empty pattern list");
		return -1;
	}
	for (p = o->only; *p;) {
		int hit = 0;

		p = next_pattern(p, pat, sizeof(pat), &ok);
		if (!ok) {
			bench_opt_error("--only", "empty or too long pattern in '%s'", o->only);
			return -1;
		}
		for (i = 0; i < n && !hit; i++)
			hit = names[i] && fnmatch(pat, names[i], 0) == 0;
		if (!hit) {
			bench_opt_error("--only", "'%s' matches no row (--list or --help names them)",
					pat);
			rc = -1;
		}
	}
	return rc;
}

bool bench_selected(const struct bench_opts *o, const char *row)
{
	char pat[128];
	const char *p;
	int ok;

	if (!o->only || !*o->only)
		return true;
	for (p = o->only; *p;) {
		p = next_pattern(p, pat, sizeof(pat), &ok);
		if (ok && fnmatch(pat, row, 0) == 0)
			return true;
	}
	return false;
}
