/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: runs a benchmark and checks its output is well formed; never
 * checks a timing.
 *
 *   bench_json_check [checks...] -- COMMAND [ARGS...]
 *
 * Checks (all optional):
 *   --latency a,b,...     each row must appear as a latency result with numbers
 *   --throughput a,b,...  each row must appear as a throughput result with numbers
 *   --placements p,q      ... in each of these placements (default: any)
 *   --require-floor       every result carries floor_* and ratio_to_floor > 0
 *   --expect-exit N       the command's exit status (default 0); with N != 0 the
 *                         output is not parsed
 *   --expect-file PATH    PATH is removed first and must exist, non-empty, after
 *   --table               stdout is a table, not JSON: only check that every
 *                         expected row name appears in it
 *   --require-wait        every result names how its receiver waited: a
 *                         non-empty string "wait"
 *   --rejected TEXT       the command must refuse to run: exit status 2,
 *                         nothing on stdout, TEXT in what it printed on stderr
 *
 * JSON mode: every stdout line must be one JSON object (parsed by a complete
 * JSON parser below) with "bench" (string), "placement" (string) and "cpus"
 * (array of integers). A latency result (kind "latency", not "skipped") must
 * have p50_ns p90_ns p99_ns p999_ns max_ns as finite numbers with
 * 0 < p50 <= p90 <= p99 <= p999 <= max; a throughput result msgs_per_s > 0.
 * "errors", when present, must be 0 (messages lost or reordered).
 *
 * Ratios, always checked: no ratio is computed from a constant.
 *  - a key with "ratio" in its name must be ratio_to_<K> (or its _min, _max,
 *    _rounds), and the object must carry <K>_bench naming rows of this very
 *    output (comma separated; "glibc" may name a row ".../glibc") and a
 *    positive <K>_p50_ns or <K>_msgs_per_s: what it divides by was measured
 *    in this run; ratio_to_<K>_min <= ratio_to_<K> <= ratio_to_<K>_max;
 *  - keys "vs_*" / "*_vs_*" (ratios under another name) are refused;
 *  - a result row has no key mentioning upstream, quoted or reference
 *    figures: those are printed apart ({"bench":"quoted"}, labelled
 *    "quoted, another machine"), and no ratio_to_* of any row equals the
 *    row's p50 / msgs/s divided by one of them;
 *  - a note that mentions upstream carries no "<number>x" ratio.
 *
 * Used by the bench smoke tests (tests/bench/CMakeLists.txt); any benchmark
 * built on bench/harness.h can be checked with it.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ JSON DOM */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jval {
	enum jtype t;
	double num;
	int b;
	char *str;          /* J_STR: decoded (UTF-8) */
	int n;              /* J_ARR/J_OBJ: members */
	struct jval *items; /* J_ARR: values; J_OBJ: values */
	char **keys;        /* J_OBJ: keys */
};

struct jparser {
	const char *p, *end;
	const char *err;
	int depth;
};

static void jfree(struct jval *v)
{
	int i;

	if (v->t == J_STR)
		free(v->str);
	if (v->t == J_ARR || v->t == J_OBJ) {
		for (i = 0; i < v->n; i++) {
			jfree(&v->items[i]);
			if (v->t == J_OBJ)
				free(v->keys[i]);
		}
		free(v->items);
		free(v->keys);
	}
	memset(v, 0, sizeof(*v));
}

static void ws(struct jparser *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n'))
		j->p++;
}

static int fail(struct jparser *j, const char *why)
{
	if (!j->err)
		j->err = why;
	return -1;
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		int c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void put_utf8(char **o, unsigned cp)
{
	char *q = *o;

	if (cp < 0x80) {
		*q++ = (char)cp;
	} else if (cp < 0x800) {
		*q++ = (char)(0xc0 | (cp >> 6));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*q++ = (char)(0xe0 | (cp >> 12));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*q++ = (char)(0xf0 | (cp >> 18));
		*q++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*q++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*q++ = (char)(0x80 | (cp & 0x3f));
	}
	*o = q;
}

static int jstring(struct jparser *j, char **out)
{
	const char *s;
	char *buf, *o;

	if (j->p >= j->end || *j->p != '"')
		return fail(j, "expected a string");
	s = ++j->p;
	/* decoded length <= raw length (escapes only shrink; \u -> <= 4 bytes of 6) */
	while (j->p < j->end && *j->p != '"') {
		if ((unsigned char)*j->p < 0x20)
			return fail(j, "control character in a string");
		if (*j->p == '\\')
			j->p++;
		j->p++;
	}
	if (j->p >= j->end)
		return fail(j, "unterminated string");
	buf = malloc((size_t)(j->p - s) + 1);
	if (!buf)
		return fail(j, "out of memory");
	for (o = buf; s < j->p; s++) {
		unsigned cp, lo;

		if (*s != '\\') {
			*o++ = *s;
			continue;
		}
		switch (*++s) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u':
			if (j->p - s < 5 || hex4(s + 1, &cp) < 0) {
				free(buf);
				return fail(j, "bad \\u escape");
			}
			s += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (j->p - s < 7 || s[1] != '\\' || s[2] != 'u' || hex4(s + 3, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff) {
					free(buf);
					return fail(j, "unpaired surrogate");
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				s += 6;
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				free(buf);
				return fail(j, "unpaired surrogate");
			}
			put_utf8(&o, cp);
			break;
		default:
			free(buf);
			return fail(j, "bad escape");
		}
	}
	*o = '\0';
	j->p++; /* closing quote */
	*out = buf;
	return 0;
}

static int jnumber(struct jparser *j, double *out)
{
	const char *s = j->p;
	char tmp[64];
	size_t n;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || !isdigit((unsigned char)*j->p))
		return fail(j, "bad number");
	if (*j->p == '0')
		j->p++;
	else
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (j->p >= j->end || !isdigit((unsigned char)*j->p))
			return fail(j, "bad fraction");
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || !isdigit((unsigned char)*j->p))
			return fail(j, "bad exponent");
		while (j->p < j->end && isdigit((unsigned char)*j->p))
			j->p++;
	}
	n = (size_t)(j->p - s);
	if (n >= sizeof(tmp))
		return fail(j, "number too long");
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*out = strtod(tmp, NULL);
	return 0;
}

static int jvalue(struct jparser *j, struct jval *v);

static int jpush(struct jval *v, struct jval *item, char *key)
{
	struct jval *ni = realloc(v->items, (size_t)(v->n + 1) * sizeof(*ni));

	if (!ni)
		return -1;
	v->items = ni;
	if (v->t == J_OBJ) {
		char **nk = realloc(v->keys, (size_t)(v->n + 1) * sizeof(*nk));

		if (!nk)
			return -1;
		v->keys = nk;
		v->keys[v->n] = key;
	}
	v->items[v->n++] = *item;
	return 0;
}

static int jcontainer(struct jparser *j, struct jval *v, int obj)
{
	char close = obj ? '}' : ']';

	v->t = obj ? J_OBJ : J_ARR;
	if (++j->depth > 64)
		return fail(j, "nesting too deep");
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		struct jval item;
		char *key = NULL;

		memset(&item, 0, sizeof(item));
		ws(j);
		if (obj) {
			int i;

			if (jstring(j, &key) < 0)
				return -1;
			for (i = 0; i < v->n; i++)
				if (!strcmp(v->keys[i], key)) {
					free(key);
					return fail(j, "duplicate key");
				}
			ws(j);
			if (j->p >= j->end || *j->p != ':') {
				free(key);
				return fail(j, "expected ':'");
			}
			j->p++;
			ws(j);
		}
		if (jvalue(j, &item) < 0 || jpush(v, &item, key) < 0) {
			jfree(&item);
			free(key);
			return fail(j, "bad member");
		}
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return 0;
		}
		return fail(j, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int jvalue(struct jparser *j, struct jval *v)
{
	size_t left;

	memset(v, 0, sizeof(*v));
	ws(j);
	if (j->p >= j->end)
		return fail(j, "unexpected end");
	left = (size_t)(j->end - j->p);
	switch (*j->p) {
	case '{':
		return jcontainer(j, v, 1);
	case '[':
		return jcontainer(j, v, 0);
	case '"':
		v->t = J_STR;
		return jstring(j, &v->str);
	case 't':
		if (left < 4 || memcmp(j->p, "true", 4))
			return fail(j, "bad literal");
		j->p += 4;
		v->t = J_BOOL;
		v->b = 1;
		return 0;
	case 'f':
		if (left < 5 || memcmp(j->p, "false", 5))
			return fail(j, "bad literal");
		j->p += 5;
		v->t = J_BOOL;
		return 0;
	case 'n':
		if (left < 4 || memcmp(j->p, "null", 4))
			return fail(j, "bad literal");
		j->p += 4;
		v->t = J_NULL;
		return 0;
	default:
		v->t = J_NUM;
		return jnumber(j, &v->num);
	}
}

static const struct jval *jget(const struct jval *o, const char *key)
{
	int i;

	if (o->t != J_OBJ)
		return NULL;
	for (i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return &o->items[i];
	return NULL;
}

/* ------------------------------------------------------------- checks */

#define MAX_NAMES 64

struct names {
	int n;
	char *v[MAX_NAMES];
};

static void split(struct names *nm, const char *list)
{
	char *copy = strdup(list), *save = NULL, *tok;

	for (tok = strtok_r(copy, ",", &save); tok && nm->n < MAX_NAMES;
	     tok = strtok_r(NULL, ",", &save))
		if (*tok)
			nm->v[nm->n++] = strdup(tok);
	free(copy);
}

static int failures;

/* Every row seen with numbers, and the rows ratios name (checked at the end). */
static struct names seen_rows, named_floors;
static int named_line[MAX_NAMES];
/* Quoted figures (another machine) and the ratios to compare with them. */
#define MAX_Q 64
static double quoted[MAX_Q];
static int nquoted;
static struct {
	double main, ratio;
	int line;
	char key[64];
} ratios[1024];
static int nratios;

static void bad(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL line %d: ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

/* seen[kind][name][placement] */
static unsigned char seen[2][MAX_NAMES][MAX_NAMES + 1];

static int find(const struct names *nm, const char *s)
{
	int i;

	for (i = 0; i < nm->n; i++)
		if (!strcmp(nm->v[i], s))
			return i;
	return -1;
}

static double num(const struct jval *o, const char *key, int line, const char *bench)
{
	const struct jval *v = jget(o, key);

	if (!v || v->t != J_NUM || !isfinite(v->num)) {
		bad(line, "%s: \"%s\" missing or not a finite number", bench, key);
		return NAN;
	}
	return v->num;
}

static void add_name(struct names *nm, const char *s)
{
	if (find(nm, s) < 0 && nm->n < MAX_NAMES)
		nm->v[nm->n++] = strdup(s);
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

/* "0.52x", "2 x upstream": a number followed by x (then not a letter). */
static int has_ratio_text(const char *t)
{
	for (; *t; t++) {
		const char *p = t;

		if (!isdigit((unsigned char)*p))
			continue;
		while (isdigit((unsigned char)*p) || *p == '.')
			p++;
		if (*p == ' ')
			p++;
		if ((*p == 'x' || *p == 'X') && !isalpha((unsigned char)p[1]))
			return 1;
		t = p - 1 > t ? p - 1 : t;
	}
	return 0;
}

static int is_ratio_key(const char *k)
{
	return strstr(k, "ratio") || !strncmp(k, "vs_", 3) || strstr(k, "_vs_");
}

/* The ratio rules (see the head comment) for one result object. */
static void check_ratios(const struct jval *o, int line, const char *b, double mainv)
{
	int i;

	for (i = 0; i < o->n; i++) {
		const char *k = o->keys[i];
		char stem[64], key[96];
		const struct jval *nb, *v;
		size_t n;

		if (contains_ci(k, "upstream") || contains_ci(k, "quoted") ||
		    contains_ci(k, "reference"))
			bad(line, "%s: key \"%s\": a figure from elsewhere belongs apart "
				  "({\"bench\":\"quoted\"}), never in a row", b, k);
		if (!is_ratio_key(k))
			continue;
		if (strncmp(k, "ratio_to_", 9)) {
			bad(line, "%s: key \"%s\" looks like a ratio: ratios are ratio_to_<K> with "
				  "<K>_bench naming what was measured", b, k);
			continue;
		}
		snprintf(stem, sizeof(stem), "%s", k + 9);
		n = strlen(stem);
		if (n > 4 && !strcmp(stem + n - 4, "_min"))
			stem[n - 4] = '\0';
		else if (n > 4 && !strcmp(stem + n - 4, "_max"))
			stem[n - 4] = '\0';
		else if (n > 7 && !strcmp(stem + n - 7, "_rounds"))
			stem[n - 7] = '\0';
		snprintf(key, sizeof(key), "%s_bench", stem);
		nb = jget(o, key);
		if (!nb || nb->t != J_STR || !nb->str[0]) {
			bad(line, "%s: %s without %s naming the row it divides by", b, k, key);
			continue;
		}
		snprintf(key, sizeof(key), "%s_p50_ns", stem);
		v = jget(o, key);
		if (!v) {
			snprintf(key, sizeof(key), "%s_msgs_per_s", stem);
			v = jget(o, key);
		}
		if (!v || v->t != J_NUM || !(v->num > 0))
			bad(line, "%s: %s without a positive %s_p50_ns or %s_msgs_per_s (the value "
				  "measured in this run)", b, k, stem, stem);
		if (strcmp(k + 9, stem)) /* _min/_max/_rounds: checked with the median */
			continue;
		{
			char *copy = strdup(nb->str), *save = NULL, *tok;

			for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				if (find(&named_floors, tok) < 0 && named_floors.n < MAX_NAMES)
					named_line[named_floors.n] = line;
				add_name(&named_floors, tok);
			}
			free(copy);
		}
		v = &o->items[i];
		if (v->t == J_NUM) {
			const struct jval *lo, *hi;

			snprintf(key, sizeof(key), "%s_min", k);
			lo = jget(o, key);
			snprintf(key, sizeof(key), "%s_max", k);
			hi = jget(o, key);
			if (lo && hi && lo->t == J_NUM && hi->t == J_NUM && v->num > 0 &&
			    !(lo->num <= v->num * (1 + 1e-9) && v->num <= hi->num * (1 + 1e-9)))
				bad(line, "%s: %s %g outside its spread %g..%g", b, k, v->num, lo->num,
				    hi->num);
			if (nratios < (int)(sizeof(ratios) / sizeof(ratios[0]))) {
				ratios[nratios].main = mainv;
				ratios[nratios].ratio = v->num;
				ratios[nratios].line = line;
				snprintf(ratios[nratios].key, sizeof(ratios[nratios].key), "%s", k);
				nratios++;
			}
		}
	}
}

static void check_object(const struct jval *o, int line, const struct names *lat,
			 const struct names *thr, const struct names *pls, int require_floor,
			 int require_wait)
{
	const struct jval *bench = jget(o, "bench"), *pl = jget(o, "placement"),
			  *cpus = jget(o, "cpus"), *kind = jget(o, "kind"), *skipped, *errors;
	const char *b;
	int i, k, pi;

	if (!bench || bench->t != J_STR || !pl || pl->t != J_STR || !cpus || cpus->t != J_ARR) {
		bad(line, "object without string \"bench\", string \"placement\" and array \"cpus\"");
		return;
	}
	b = bench->str;
	for (i = 0; i < cpus->n; i++)
		if (cpus->items[i].t != J_NUM || cpus->items[i].num != floor(cpus->items[i].num) ||
		    cpus->items[i].num < 0)
			bad(line, "%s: cpus[%d] is not a CPU number", b, i);
	if (!strcmp(b, "quoted")) {
		const struct jval *q = jget(o, "quoted_value"), *lb = jget(o, "label");

		if (!lb || lb->t != J_STR || strcmp(lb->str, "quoted, another machine"))
			bad(line, "quoted figure without the label \"quoted, another machine\"");
		if (q && q->t == J_NUM && nquoted < MAX_Q)
			quoted[nquoted++] = q->num;
		for (i = 0; i < o->n; i++)
			if (is_ratio_key(o->keys[i]))
				bad(line, "quoted figure with a ratio key \"%s\"", o->keys[i]);
	}
	{
		const struct jval *text = jget(o, "text");

		if (text && text->t == J_STR && contains_ci(text->str, "upstream") &&
		    has_ratio_text(text->str))
			bad(line, "note relates a measurement to an upstream figure by a ratio: %.160s",
			    text->str);
	}
	if (!kind || kind->t != J_STR)
		return; /* free-form info object */
	k = !strcmp(kind->str, "latency") ? 0 : !strcmp(kind->str, "throughput") ? 1 : -1;
	if (k < 0)
		return;
	skipped = jget(o, "skipped");
	if (skipped) {
		if (skipped->t != J_STR || !skipped->str[0])
			bad(line, "%s: \"skipped\" must give a reason", b);
		return;
	}
	if (k == 0) {
		double p50 = num(o, "p50_ns", line, b), p90 = num(o, "p90_ns", line, b),
		       p99 = num(o, "p99_ns", line, b), p999 = num(o, "p999_ns", line, b),
		       mx = num(o, "max_ns", line, b);

		if (!(p50 > 0 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= mx))
			bad(line, "%s: percentiles not 0 < p50 <= p90 <= p99 <= p999 <= max "
				  "(%g %g %g %g %g)", b, p50, p90, p99, p999, mx);
		if (require_floor && !(num(o, "floor_p50_ns", line, b) > 0))
			bad(line, "%s: floor_p50_ns must be > 0", b);
	} else {
		if (!(num(o, "msgs_per_s", line, b) > 0))
			bad(line, "%s: msgs_per_s must be > 0", b);
		if (require_floor && !(num(o, "floor_msgs_per_s", line, b) > 0))
			bad(line, "%s: floor_msgs_per_s must be > 0", b);
	}
	if (require_floor && !(num(o, "ratio_to_floor", line, b) > 0))
		bad(line, "%s: ratio_to_floor must be > 0", b);
	if (require_floor) {
		const struct jval *lo = jget(o, "ratio_to_floor_min"), *hi = jget(o, "ratio_to_floor_max");

		if (!lo || !hi || lo->t != J_NUM || hi->t != J_NUM)
			bad(line, "%s: the spread of the floor ratio (ratio_to_floor_min/_max) is "
				  "missing", b);
	}
	if (require_wait) {
		const struct jval *w = jget(o, "wait");

		if (!w || w->t != J_STR || !w->str[0])
			bad(line, "%s: does not say how its receiver waited (\"wait\")", b);
	}
	check_ratios(o, line, b, k == 0 ? jget(o, "p50_ns") && jget(o, "p50_ns")->t == J_NUM
						 ? jget(o, "p50_ns")->num : 0
					 : jget(o, "msgs_per_s") && jget(o, "msgs_per_s")->t == J_NUM
						 ? jget(o, "msgs_per_s")->num : 0);
	add_name(&seen_rows, b);
	errors = jget(o, "errors");
	if (errors && (errors->t != J_NUM || errors->num != 0))
		bad(line, "%s: %g message errors (lost, duplicated or reordered)", b,
		    errors->t == J_NUM ? errors->num : -1);
	i = find(k ? thr : lat, b);
	pi = pls->n ? find(pls, pl->str) : MAX_NAMES;
	if (i >= 0 && pi >= 0)
		seen[k][i][pi] = 1;
}

/* ------------------------------------------------------------ running */

static char *run(char **cmd, int *status, FILE *err)
{
	int fds[2];
	size_t len = 0, cap = 1 << 16;
	char *out = malloc(cap);
	pid_t pid;

	if (!out || pipe(fds) < 0) {
		perror("pipe");
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		if (err)
			dup2(fileno(err), STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		execvp(cmd[0], cmd);
		fprintf(stderr, "exec %s: %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n;

		if (len + 4096 > cap) {
			char *m = realloc(out, cap * 2);

			if (!m) {
				fprintf(stderr, "out of memory\n");
				exit(1);
			}
			out = m;
			cap *= 2;
		}
		n = read(fds[0], out + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fds[0]);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR) {
			perror("waitpid");
			exit(1);
		}
	return out;
}

static void free_names(struct names *nm)
{
	int i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i]);
	nm->n = 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_json_check [--latency LIST] [--throughput LIST] "
			"[--placements LIST] [--require-floor] [--expect-exit N] "
			"[--expect-file PATH] [--table] [--require-wait] [--rejected TEXT] "
			"-- COMMAND [ARGS...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct names lat = {0}, thr = {0}, pls = {0};
	int i, status, expect_exit = 0, require_floor = 0, table = 0, lines = 0, objects = 0;
	int require_wait = 0;
	const char *expect_file = NULL, *rejected = NULL;
	FILE *err = NULL;
	char *out, *line, *save = NULL;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--latency") && i + 1 < argc)
			split(&lat, argv[++i]);
		else if (!strcmp(argv[i], "--throughput") && i + 1 < argc)
			split(&thr, argv[++i]);
		else if (!strcmp(argv[i], "--placements") && i + 1 < argc)
			split(&pls, argv[++i]);
		else if (!strcmp(argv[i], "--expect-exit") && i + 1 < argc)
			expect_exit = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--expect-file") && i + 1 < argc)
			expect_file = argv[++i];
		else if (!strcmp(argv[i], "--require-floor"))
			require_floor = 1;
		else if (!strcmp(argv[i], "--table"))
			table = 1;
		else if (!strcmp(argv[i], "--require-wait"))
			require_wait = 1;
		else if (!strcmp(argv[i], "--rejected") && i + 1 < argc) {
			rejected = argv[++i];
			expect_exit = 2;
		}
		else
			usage();
	}
	if (i + 1 >= argc)
		usage();
	if (expect_file)
		unlink(expect_file);

	if (rejected && !(err = tmpfile())) {
		perror("tmpfile");
		return 1;
	}
	out = run(argv + i + 1, &status, err);
	if (rejected) {
		char ebuf[4096];
		size_t n;

		rewind(err);
		n = fread(ebuf, 1, sizeof(ebuf) - 1, err);
		ebuf[n] = '\0';
		fclose(err);
		fputs(ebuf, stderr);
		if (!strstr(ebuf, rejected))
			bad(0, "stderr does not say \"%s\"", rejected);
		if (out[0])
			bad(0, "the command printed results although it refused to run: %.200s", out);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != expect_exit) {
		fprintf(stderr, "FAIL: %s exited with status 0x%x, expected exit %d\n%s", argv[i + 1],
			status, expect_exit, out);
		failures++;
	} else if (expect_exit && !failures) {
		printf("ok: %s exited %d as expected\n", argv[i + 1], expect_exit);
		free(out);
		out = NULL;
	}
	if (failures || expect_exit) {
		free(out);
		free_names(&lat);
		free_names(&thr);
		free_names(&pls);
		return failures ? 1 : 0;
	}
	if (expect_file) {
		struct stat st;

		if (stat(expect_file, &st) < 0 || st.st_size == 0)
			bad(0, "%s was not written", expect_file);
	}
	if (table) {
		int k;

		for (k = 0; k < lat.n; k++)
			if (!strstr(out, lat.v[k]))
				bad(0, "row %s not in the table", lat.v[k]);
		for (k = 0; k < thr.n; k++)
			if (!strstr(out, thr.v[k]))
				bad(0, "row %s not in the table", thr.v[k]);
		if (strstr(out, "ERRORS"))
			bad(0, "a row reported message errors");
	} else {
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			struct jparser j = {line, line + strlen(line), NULL, 0};
			struct jval v;

			lines++;
			if (jvalue(&j, &v) < 0) {
				bad(lines, "not JSON (%s at byte %ld): %.120s", j.err,
				    (long)(j.p - line), line);
				jfree(&v);
				continue;
			}
			ws(&j);
			if (j.p != j.end)
				bad(lines, "trailing bytes after the JSON object");
			if (v.t != J_OBJ)
				bad(lines, "not a JSON object");
			else {
				objects++;
				check_object(&v, lines, &lat, &thr, &pls, require_floor,
					     require_wait);
			}
			jfree(&v);
		}
		for (int k = 0; k < 2; k++) {
			const struct names *nm = k ? &thr : &lat;

			for (int r = 0; r < nm->n; r++) {
				if (!pls.n) {
					if (!seen[k][r][MAX_NAMES])
						bad(0, "no %s result with numbers for row %s",
						    k ? "throughput" : "latency", nm->v[r]);
					continue;
				}
				for (int p = 0; p < pls.n; p++)
					if (!seen[k][r][p])
						bad(0, "no %s result with numbers for row %s in placement %s",
						    k ? "throughput" : "latency", nm->v[r], pls.v[p]);
			}
		}
		if (!objects)
			bad(0, "no JSON object in the output");
		/* what the ratios divide by was measured in this run */
		for (int k = 0; k < named_floors.n; k++) {
			const char *nm = named_floors.v[k];
			int hit = find(&seen_rows, nm) >= 0;

			for (int r = 0; r < seen_rows.n && !hit; r++) {
				const char *slash = strrchr(seen_rows.v[r], '/');

				hit = slash && !strcmp(slash + 1, nm);
			}
			if (!hit)
				bad(named_line[k], "a ratio divides by \"%s\", which is no row of this "
						   "output", nm);
		}
		/* and never by a figure from another machine */
		for (int r = 0; r < nratios; r++)
			for (int q = 0; q < nquoted; q++)
				if (quoted[q] > 0 && ratios[r].main > 0 &&
				    fabs(ratios[r].main / quoted[q] - ratios[r].ratio) <=
					    1e-4 * ratios[r].ratio)
					bad(ratios[r].line, "%s = %g is the row's value over the quoted "
							    "figure %g", ratios[r].key, ratios[r].ratio,
					    quoted[q]);
	}
	free(out);
	free_names(&lat);
	free_names(&thr);
	free_names(&pls);
	free_names(&seen_rows);
	free_names(&named_floors);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("ok: %d JSON objects checked\n", objects);
	return 0;
}
