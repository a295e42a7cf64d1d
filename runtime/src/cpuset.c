/* SPDX-License-Identifier: Apache-2.0 */
/* CPU lists ("0-3,8,10-11:2") and the CPU masks the operating system imposes:
 * affinity, cgroup cpuset, isolcpus. */
#include "xsched/topo.h"

#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

XS_LINK_ERROR_TEXTS(xs_strerror_rt);

static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static int parse_num(const char **pp, long *out)
{
	const char *p = *pp;
	char *end;
	long v;

	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || v < 0 || v >= XS_CPUSET_MAX)
		return -1;
	*out = v;
	*pp = end;
	return 0;
}

int xs_cpuset_parse(struct xs_cpuset *s, const char *list)
{
	struct xs_cpuset tmp;
	const char *p, *item;

	if (!s || !list)
		return -EINVAL;
	xs_cpuset_zero(&tmp);
	p = skip_blank(list);
	while (*p) {
		long lo, hi, step = 1;

		item = p;
		if (parse_num(&p, &lo))
			goto bad;
		hi = lo;
		if (*p == '-') {
			p++;
			if (parse_num(&p, &hi) || hi < lo)
				goto bad;
			if (*p == ':') {
				p++;
				if (parse_num(&p, &step) || step == 0)
					goto bad;
			}
		}
		for (long c = lo; c <= hi; c += step)
			xs_cpuset_set(&tmp, (int)c);
		p = skip_blank(p);
		if (*p == ',') {
			p = skip_blank(p + 1);
			if (!*p)
				goto bad; /* trailing comma */
		} else if (*p) {
			goto bad;
		}
	}
	*s = tmp;
	return 0;
bad:
	return xs_seterr(-XS_ERT_CPUS,
			 "bad CPU list \"%s\" near \"%.16s\" (want e.g. 0-3,8,10-11, CPUs below %d)",
			 list, item, XS_CPUSET_MAX);
}

int xs_cpuset_format(const struct xs_cpuset *s, char *buf, size_t len)
{
	size_t n = 0;
	int cpu = xs_cpuset_next(s, -1);

	if (len)
		buf[0] = '\0';
	while (cpu >= 0) {
		int end = cpu, k;
		char item[32];

		while (xs_cpuset_isset(s, end + 1))
			end++;
		if (end == cpu)
			k = snprintf(item, sizeof(item), "%s%d", n ? "," : "", cpu);
		else
			k = snprintf(item, sizeof(item), "%s%d-%d", n ? "," : "", cpu, end);
		if (len && n + (size_t)k < len)
			memcpy(buf + n, item, (size_t)k + 1);
		else if (len && n < len)
			buf[n] = '\0'; /* keep whatever fitted whole */
		n += (size_t)k;
		cpu = xs_cpuset_next(s, end);
	}
	return (int)n;
}

int xs_cpus_affinity(struct xs_cpuset *out)
{
	cpu_set_t cs;

	CPU_ZERO(&cs);
	if (sched_getaffinity(0, sizeof(cs), &cs))
		return -errno;
	xs_cpuset_zero(out);
	for (int c = 0; c < XS_CPUSET_MAX && c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &cs))
			xs_cpuset_set(out, c);
	return 0;
}

/* Read a small text file (a sysfs / cgroupfs attribute) into buf. */
static int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (int)n;
}

/* Read a CPU list file; walk up the cgroup path (a cgroup without the cpuset
 * controller enabled has no file, and inherits its parent's set). */
static int read_cpus_upwards(const char *base, const char *cgpath, const char *const *files,
			     struct xs_cpuset *out)
{
	char path[4096], dir[2048], text[8192];

	snprintf(dir, sizeof(dir), "%s%s", cgpath[0] == '/' ? "" : "/", cgpath);
	for (;;) {
		for (int i = 0; files[i]; i++) {
			/* dir starts with '/'; the cgroup root "/" adds nothing */
			snprintf(path, sizeof(path), "%s%s/%s", base, strcmp(dir, "/") ? dir : "",
				 files[i]);
			int n = read_small(path, text, sizeof(text));
			if (n < 0)
				continue;
			if (!skip_blank(text)[0])
				continue; /* empty: this level does not restrict (v2 before setup) */
			if (xs_cpuset_parse(out, text))
				return xs_seterr(-XS_ERT_CPUS, "cgroup cpuset file %s holds \"%.64s\"",
						 path, text);
			return 1;
		}
		if (!strcmp(dir, "/") || !dir[0])
			return 0;
		char *slash = strrchr(dir, '/');

		if (!slash)
			return 0;
		if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
}

int xs_cpus_cgroup(struct xs_cpuset *out, const char *root)
{
	static const char *const v1_files[] = { "cpuset.effective_cpus", "cpuset.cpus", NULL };
	static const char *const v2_files[] = { "cpuset.cpus.effective", NULL };
	char path[4096], line[4096], v1path[2048] = "", v2path[2048] = "";
	int have_v1 = 0, have_v2 = 0, r;
	FILE *f;

	if (!root)
		root = "";
	for (unsigned i = 0; i < XS_CPUSET_MAX / 64; i++)
		out->w[i] = ~0ull;
	snprintf(path, sizeof(path), "%s/proc/self/cgroup", root);
	f = fopen(path, "re");
	if (!f)
		return 0; /* no cgroup information: no restriction known */
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2, *nl;

		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		if ((nl = strchr(c2, '\n')))
			*nl = '\0';
		*c2 = '\0';
		if (c1[1] == '\0' && !strncmp(line, "0:", 2)) {
			snprintf(v2path, sizeof(v2path), "%s", c2 + 1);
			have_v2 = 1;
			continue;
		}
		/* v1: controller list is comma separated */
		for (char *tok = strtok(c1 + 1, ","); tok; tok = strtok(NULL, ","))
			if (!strcmp(tok, "cpuset")) {
				snprintf(v1path, sizeof(v1path), "%s", c2 + 1);
				have_v1 = 1;
			}
	}
	fclose(f);
	if (have_v1) {
		snprintf(path, sizeof(path), "%s/sys/fs/cgroup/cpuset", root);
		r = read_cpus_upwards(path, v1path, v1_files, out);
		if (r)
			return r;
	}
	if (have_v2) {
		static const char *const mounts[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };

		for (int m = 0; m < 2; m++) {
			snprintf(path, sizeof(path), "%s%s", root, mounts[m]);
			r = read_cpus_upwards(path, v2path, v2_files, out);
			if (r)
				return r;
		}
	}
	for (unsigned i = 0; i < XS_CPUSET_MAX / 64; i++)
		out->w[i] = ~0ull;
	return 0;
}

int xs_cpus_isolated(struct xs_cpuset *out, const char *root)
{
	char path[4096], text[8192];

	xs_cpuset_zero(out);
	snprintf(path, sizeof(path), "%s/sys/devices/system/cpu/isolated", root ? root : "");
	if (read_small(path, text, sizeof(text)) < 0)
		return 0;
	if (xs_cpuset_parse(out, text))
		return xs_seterr(-XS_ERT_CPUS, "%s holds \"%.64s\"", path, text);
	return 0;
}
