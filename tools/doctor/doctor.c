/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-doctor: checks a host for low-latency operation of an xsched
 * session and says, check by check, OK / WARN / FAIL with the fix.
 *
 * It only reads (files under /sys and /proc, getrlimit-equivalent data from
 * /proc/self, and on the real root an io_uring_setup probe whose ring is
 * closed at once); it never changes the system. --root DIR reads a fake tree
 * instead (tests build one), in which case nothing but files is consulted.
 *
 * Severity policy: FAIL means the planned operation cannot work as intended
 * (a planned CPU the process may not use, two busy pollers on one physical
 * core, a clock source without a vDSO fast path, which turns every timestamp
 * of the hot path into a system call). WARN means latency or jitter will
 * suffer but the session runs. Exit status: 0 when nothing FAILs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tool.h"
#include "xsched/runtime.h"


#define HUGE_2M        (2ull << 20)
#define CSTATE_MAX_US  10 /* deeper idle states than this add visible wake-up latency */
#define DETAIL_LEN     768
#define MAX_RESULTS    32

enum status { ST_OK, ST_WARN, ST_FAIL };
static const char *const status_name[] = {"OK", "WARN", "FAIL"};

struct result {
	const char *name;
	enum status st;
	char detail[DETAIL_LEN];
	char fix[DETAIL_LEN];
};

struct doctor {
	const char *root; /* "" for the real system, else a directory prefix */
	bool real;
	struct xs_tool_cpus planned, online, allowed;
	unsigned nr_possible;
	char planned_from[128];
	uint64_t need_bytes;
	char plan_error[DETAIL_LEN]; /* --workers: why the runtime could not plan */
	struct result res[MAX_RESULTS];
	int nres;
};

/* ------------------------------------------------------------ file access */

/*
 * Read a small text file below the root into @p buf (NUL-terminated,
 * trailing newlines removed). @return its length or -errno.
 */
static XS_PRINTF(4, 5) int rd(const struct doctor *d, char *buf, size_t len, const char *fmt, ...)
{
	char rel[PATH_MAX], path[PATH_MAX + 256];
	va_list ap;
	ssize_t n;
	size_t got = 0;
	int fd;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s%s", d->root, rel);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got + 1 < len) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return (int)n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	while (got && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		buf[--got] = '\0';
	return (int)got;
}

static XS_PRINTF(3, 4) int rd_u64(const struct doctor *d, uint64_t *out, const char *fmt, ...)
{
	char rel[PATH_MAX], buf[64], *end;
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	n = rd(d, buf, sizeof(buf), "%s", rel);
	if (n < 0)
		return n;
	errno = 0;
	*out = strtoull(buf, &end, 10);
	if (end == buf || errno || (*end && *end != ' '))
		return -XS_ETOOL_UNREADABLE;
	return 0;
}

static XS_PRINTF(3, 4) int rd_cpulist(const struct doctor *d, struct xs_tool_cpus *s, const char *fmt,
				      ...)
{
	char rel[PATH_MAX], buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	n = rd(d, buf, sizeof(buf), "%s", rel);
	if (n < 0)
		return n;
	return xs_tool_cpus_parse_list(s, buf, d->nr_possible) < 0 ? -XS_ETOOL_UNREADABLE : 0;
}

static bool exists(const struct doctor *d, const char *rel)
{
	char path[PATH_MAX + 256];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", d->root, rel);
	return stat(path, &st) == 0;
}

/* Value of "Key:" in a /proc/self/status-like file, or NULL. */
static char *field(char *text, const char *key)
{
	size_t kl = strlen(key);

	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');

		if (!strncmp(line, key, kl) && line[kl] == ':') {
			char *v = line + kl + 1;

			if (nl)
				*nl = '\0';
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
		line = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* ------------------------------------------------------------- results */

static const char *L(const struct xs_tool_cpus *s, char *buf, size_t len)
{
	return xs_tool_cpus_format(s, buf, len);
}
#define LIST(s) L((s), (char[1024]){0}, 1024)

static XS_PRINTF(4, 5) void add(struct doctor *d, const char *name, enum status st,
				const char *fmt, ...)
{
	struct result *r;
	va_list ap;

	if (d->nres >= MAX_RESULTS)
		return;
	r = &d->res[d->nres++];
	r->name = name;
	r->st = st;
	r->fix[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

/* The fix of the last result added. */
static XS_PRINTF(2, 3) void fix(struct doctor *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->res[d->nres - 1].fix, DETAIL_LEN, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------- the checks */

static void check_cpus(struct doctor *d)
{
	struct xs_tool_cpus off, out;

	if (d->plan_error[0]) {
		add(d, "cpus", ST_FAIL, "the runtime cannot plan the session: %s", d->plan_error);
		fix(d, "allow more CPUs, use --placement packed or spill, or fewer --workers");
		return;
	}
	if (xs_tool_cpus_count(&d->planned) == 0) {
		add(d, "cpus", ST_FAIL, "no planned CPUs (online %s, allowed %s)", LIST(&d->online),
		    LIST(&d->allowed));
		fix(d, "give the CPUs the session will use with --cpus LIST");
		return;
	}
	xs_tool_cpus_andnot(&off, &d->planned, &d->online);
	xs_tool_cpus_andnot(&out, &d->planned, &d->allowed);
	if (xs_tool_cpus_count(&off)) {
		add(d, "cpus", ST_FAIL, "planned CPUs %s are not online (online: %s)", LIST(&off),
		    LIST(&d->online));
		fix(d, "bring them online (echo 1 > /sys/devices/system/cpu/cpuN/online) "
		       "or plan among the online CPUs with --cpus");
	} else if (xs_tool_cpus_count(&out)) {
		add(d, "cpus", ST_FAIL,
		    "planned CPUs %s are outside this process's allowed CPUs %s (affinity or cgroup "
		    "cpuset)",
		    LIST(&out), LIST(&d->allowed));
		fix(d, "start the scheduler with those CPUs allowed (taskset -c, cpuset.cpus of its "
		       "cgroup, CPUAffinity= of its unit) or plan among %s",
		    LIST(&d->allowed));
	} else {
		add(d, "cpus", ST_OK, "planned CPUs %s are online and allowed (online %s, allowed %s)",
		    LIST(&d->planned), LIST(&d->online), LIST(&d->allowed));
	}
}

static void check_hugepages(struct doctor *d)
{
	const char *dir = "/sys/kernel/mm/hugepages/hugepages-2048kB";
	uint64_t nr, freep, resv = 0, surplus = 0, over = 0, usable, need;

	need = (d->need_bytes + HUGE_2M - 1) / HUGE_2M;
	if (rd_u64(d, &nr, "%s/nr_hugepages", dir) < 0 ||
	    rd_u64(d, &freep, "%s/free_hugepages", dir) < 0) {
		if (exists(d, "/sys/kernel/mm/hugepages"))
			add(d, "hugepages", ST_WARN, "the kernel offers no 2 MiB huge pages: shared "
			    "memory uses 4 KiB pages (more TLB misses)");
		else
			add(d, "hugepages", ST_WARN, "kernel without huge page support "
			    "(CONFIG_HUGETLBFS): shared memory uses 4 KiB pages");
		fix(d, "use a kernel with CONFIG_HUGETLBFS and 2 MiB pages (x86-64 default)");
		return;
	}
	rd_u64(d, &resv, "%s/resv_hugepages", dir);
	rd_u64(d, &surplus, "%s/surplus_hugepages", dir);
	rd_u64(d, &over, "%s/nr_overcommit_hugepages", dir);
	usable = (freep > resv ? freep - resv : 0) + (over > surplus ? over - surplus : 0);
	if (nr == 0 && over == 0) {
		add(d, "hugepages", ST_WARN,
		    "no 2 MiB huge pages configured (need %llu for %llu MiB): shared memory falls "
		    "back to 4 KiB pages (more TLB misses)",
		    (unsigned long long)need, (unsigned long long)(d->need_bytes >> 20));
		fix(d, "echo %llu > %s/nr_hugepages (or boot with hugepagesz=2M hugepages=%llu)",
		    (unsigned long long)need, dir, (unsigned long long)need);
	} else if (usable < need) {
		add(d, "hugepages", ST_WARN,
		    "2 MiB huge pages: %llu configured, %llu free, %llu reserved; need %llu for "
		    "%llu MiB: shared memory falls back to 4 KiB pages",
		    (unsigned long long)nr, (unsigned long long)freep, (unsigned long long)resv,
		    (unsigned long long)need, (unsigned long long)(d->need_bytes >> 20));
		fix(d, "echo %llu > %s/nr_hugepages", (unsigned long long)(nr + need - usable), dir);
	} else {
		add(d, "hugepages", ST_OK, "2 MiB huge pages: %llu configured, %llu usable, need %llu",
		    (unsigned long long)nr, (unsigned long long)usable, (unsigned long long)need);
	}
}

/* OK when every planned CPU is in @p set, else WARN naming the others. */
static void check_cover(struct doctor *d, const char *name, const struct xs_tool_cpus *set,
			const char *what, const char *why, const char *fixfmt)
{
	struct xs_tool_cpus missing;

	xs_tool_cpus_andnot(&missing, &d->planned, set);
	if (xs_tool_cpus_count(&missing) == 0) {
		add(d, name, ST_OK, "planned CPUs %s are %s (%s: %s)", LIST(&d->planned), what, name,
		    LIST(set));
		return;
	}
	add(d, name, ST_WARN, "planned CPUs %s are not %s (%s: %s): %s", LIST(&missing), what, name,
	    LIST(set), why);
	fix(d, fixfmt, LIST(&d->planned));
}

static void check_isolated(struct doctor *d)
{
	struct xs_tool_cpus iso, part;

	if (rd_cpulist(d, &iso, "/sys/devices/system/cpu/isolated") < 0)
		xs_tool_cpus_zero(&iso);
	/* cgroup v2 isolated partitions (Linux 6.7+) isolate CPUs at run time */
	if (rd_cpulist(d, &part, "/sys/fs/cgroup/cpuset.cpus.isolated") == 0)
		xs_tool_cpus_or(&iso, &iso, &part);
	check_cover(d, "isolated", &iso, "isolated",
		    "the kernel scheduler may run other tasks there",
		    "boot with isolcpus=managed_irq,domain,%s (or make them an isolated cgroup v2 "
		    "cpuset partition)");
}

static void check_nohz(struct doctor *d)
{
	struct xs_tool_cpus nohz;

	if (rd_cpulist(d, &nohz, "/sys/devices/system/cpu/nohz_full") < 0) {
		add(d, "nohz_full", ST_WARN, "kernel built without CONFIG_NO_HZ_FULL: the "
		    "scheduler tick interrupts the planned CPUs (%s) up to HZ times a second",
		    LIST(&d->planned));
		fix(d, "use a kernel with CONFIG_NO_HZ_FULL=y and boot with nohz_full=%s",
		    LIST(&d->planned));
		return;
	}
	check_cover(d, "nohz_full", &nohz, "tickless",
		    "the scheduler tick interrupts them while they busy-poll",
		    "boot with nohz_full=%s");
}

/* rcu_nocbs= from the kernel command line, plus nohz_full (which implies it). */
static void check_rcu(struct doctor *d)
{
	char cmd[8192];
	struct xs_tool_cpus nocb, nohz, tmp;

	xs_tool_cpus_zero(&nocb);
	if (rd(d, cmd, sizeof(cmd), "/proc/cmdline") >= 0) {
		for (char *tok = strtok(cmd, " \t"); tok; tok = strtok(NULL, " \t")) {
			if (!strcmp(tok, "--"))
				break; /* the rest goes to init */
			if (!strncmp(tok, "rcu_nocbs=", 10) &&
			    xs_tool_cpus_parse_list(&tmp, tok + 10, d->nr_possible) == 0)
				xs_tool_cpus_or(&nocb, &nocb, &tmp);
		}
	}
	if (rd_cpulist(d, &nohz, "/sys/devices/system/cpu/nohz_full") == 0)
		xs_tool_cpus_or(&nocb, &nocb, &nohz);
	check_cover(d, "rcu_nocbs", &nocb, "offloaded from RCU callbacks",
		    "RCU callback processing runs on them",
		    "boot with rcu_nocbs=%s (nohz_full= implies it)");
}

static void check_governor(struct doctor *d)
{
	char gov[64], bad[DETAIL_LEN] = "";
	size_t o = 0;
	int seen = 0;
	struct xs_tool_cpus slow;

	xs_tool_cpus_zero(&slow);
	for (int c = xs_tool_cpus_next(&d->planned, 0); c >= 0;
	     c = xs_tool_cpus_next(&d->planned, (unsigned)c + 1)) {
		if (rd(d, gov, sizeof(gov), "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor",
		       c) < 0)
			continue;
		seen++;
		if (strcmp(gov, "performance") != 0) {
			xs_tool_cpus_set(&slow, (unsigned)c);
			if (o < sizeof(bad) - 1)
				o += (size_t)snprintf(bad + o, sizeof(bad) - o, "%sCPU %d %s",
						      o ? ", " : "", c, gov);
		}
	}
	if (!seen)
		add(d, "governor", ST_OK, "no cpufreq driver: the frequency is not scaled by this "
		    "kernel (firmware or hypervisor decides)");
	else if (xs_tool_cpus_count(&slow)) {
		add(d, "governor", ST_WARN, "%s: the frequency drops and ramps up again with load",
		    bad);
		fix(d, "cpupower -c %s frequency-set -g performance", LIST(&slow));
	} else
		add(d, "governor", ST_OK, "planned CPUs %s use the performance governor",
		    LIST(&d->planned));
}

static void check_boost(struct doctor *d)
{
	uint64_t v;

	if (rd_u64(d, &v, "/sys/devices/system/cpu/intel_pstate/no_turbo") == 0) {
		if (v == 0) {
			add(d, "boost", ST_WARN, "Turbo Boost is on (intel_pstate no_turbo=0): the "
			    "frequency changes with load and temperature (jitter)");
			fix(d, "echo 1 > /sys/devices/system/cpu/intel_pstate/no_turbo");
		} else
			add(d, "boost", ST_OK, "Turbo Boost is off (intel_pstate no_turbo=1)");
		return;
	}
	if (rd_u64(d, &v, "/sys/devices/system/cpu/cpufreq/boost") == 0) {
		if (v) {
			add(d, "boost", ST_WARN, "frequency boost is on (cpufreq boost=1): the "
			    "frequency changes with load and temperature (jitter)");
			fix(d, "echo 0 > /sys/devices/system/cpu/cpufreq/boost");
		} else
			add(d, "boost", ST_OK, "frequency boost is off (cpufreq boost=0)");
		return;
	}
	add(d, "boost", ST_OK, "no frequency boost control exposed (fixed frequency or VM)");
}

static void check_cstates(struct doctor *d)
{
	char name[64], deep[DETAIL_LEN] = "";
	size_t o = 0;
	int states = 0;
	struct xs_tool_cpus bad;

	xs_tool_cpus_zero(&bad);
	for (int c = xs_tool_cpus_next(&d->planned, 0); c >= 0;
	     c = xs_tool_cpus_next(&d->planned, (unsigned)c + 1)) {
		for (int s = 0; s < 64; s++) {
			uint64_t lat, dis = 0;
			const char *base = "/sys/devices/system/cpu";

			if (rd_u64(d, &lat, "%s/cpu%d/cpuidle/state%d/latency", base, c, s) < 0)
				break;
			states++;
			rd_u64(d, &dis, "%s/cpu%d/cpuidle/state%d/disable", base, c, s);
			if (dis || lat <= CSTATE_MAX_US)
				continue;
			if (rd(d, name, sizeof(name), "%s/cpu%d/cpuidle/state%d/name", base, c, s) < 0)
				snprintf(name, sizeof(name), "state%d", s);
			xs_tool_cpus_set(&bad, (unsigned)c);
			if (o < sizeof(deep) - 1)
				o += (size_t)snprintf(deep + o, sizeof(deep) - o,
						      "%sCPU %d %s (%llu us)", o ? ", " : "", c,
						      name, (unsigned long long)lat);
		}
	}
	if (!states)
		add(d, "cstates", ST_OK, "no cpuidle states exposed for the planned CPUs");
	else if (xs_tool_cpus_count(&bad)) {
		add(d, "cstates", ST_WARN, "deep idle states enabled: %s; a reactor that idles "
		    "(--idle yield|backoff) wakes up that much later", deep);
		fix(d, "cpupower -c %s idle-set -D %d (or boot with intel_idle.max_cstate=1 "
		       "processor.max_cstate=1)", LIST(&bad), CSTATE_MAX_US);
	} else
		add(d, "cstates", ST_OK, "no enabled idle state of the planned CPUs exits slower "
		    "than %d us", CSTATE_MAX_US);
}

/* The bracketed choice of a sysfs selector ("always [madvise] never"). */
static const char *selected(char *text)
{
	char *a = strchr(text, '['), *b;

	if (!a || !(b = strchr(a, ']')))
		return text;
	*b = '\0';
	return a + 1;
}

static void check_thp(struct doctor *d)
{
	char en[128], df[128];
	const char *e, *f = "?";

	if (rd(d, en, sizeof(en), "/sys/kernel/mm/transparent_hugepage/enabled") < 0) {
		add(d, "thp", ST_OK, "kernel without transparent huge pages");
		return;
	}
	e = selected(en);
	if (rd(d, df, sizeof(df), "/sys/kernel/mm/transparent_hugepage/defrag") >= 0)
		f = selected(df);
	if (!strcmp(e, "always")) {
		add(d, "thp", ST_WARN, "transparent huge pages: enabled=always defrag=%s: khugepaged "
		    "and compaction stall threads at random moments", f);
		fix(d, "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled");
	} else if (!strcmp(f, "always")) {
		add(d, "thp", ST_WARN, "transparent huge pages: enabled=%s defrag=always: page "
		    "faults may stall in direct compaction", e);
		fix(d, "echo defer+madvise > /sys/kernel/mm/transparent_hugepage/defrag");
	} else
		add(d, "thp", ST_OK, "transparent huge pages: enabled=%s defrag=%s", e, f);
}

static void check_numa_balancing(struct doctor *d)
{
	uint64_t v;

	if (rd_u64(d, &v, "/proc/sys/kernel/numa_balancing") < 0)
		add(d, "numa_balancing", ST_OK, "automatic NUMA balancing not available");
	else if (v) {
		add(d, "numa_balancing", ST_WARN, "automatic NUMA balancing is on (mode %llu): "
		    "it unmaps pages to sample accesses (page faults in the hot path) and may "
		    "migrate the shared memory", (unsigned long long)v);
		fix(d, "sysctl -w kernel.numa_balancing=0");
	} else
		add(d, "numa_balancing", ST_OK, "automatic NUMA balancing is off");
}

static void check_irqs(struct doctor *d)
{
	char path[PATH_MAX + 16], list[DETAIL_LEN] = "", buf[4096];
	struct xs_tool_cpus aff, hit, dflt, hk;
	size_t o = 0;
	int nirq = 0, nhit = 0;
	bool dflt_hit = false;
	DIR *dir;
	struct dirent *e;

	xs_tool_cpus_zero(&hit);
	snprintf(path, sizeof(path), "%s/proc/irq", d->root);
	dir = opendir(path);
	if (!dir) {
		add(d, "irq_affinity", ST_WARN, "cannot read %s: %s", path, strerror(errno));
		fix(d, "run the doctor where /proc is mounted");
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		char *end;
		long irq = strtol(e->d_name, &end, 10);

		if (*end || end == e->d_name)
			continue;
		/* effective affinity says where the IRQ really lands (x86);
		 * smp_affinity where it may land */
		if (rd_cpulist(d, &aff, "/proc/irq/%ld/effective_affinity_list", irq) < 0 &&
		    rd_cpulist(d, &aff, "/proc/irq/%ld/smp_affinity_list", irq) < 0)
			continue;
		nirq++;
		xs_tool_cpus_and(&aff, &aff, &d->planned);
		if (!xs_tool_cpus_count(&aff))
			continue;
		xs_tool_cpus_or(&hit, &hit, &aff);
		nhit++;
		if (o < sizeof(list) - 16)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%ld", o ? "," : "", irq);
	}
	closedir(dir);
	if (rd(d, buf, sizeof(buf), "/proc/irq/default_smp_affinity") >= 0 &&
	    xs_tool_cpus_parse_mask(&dflt, buf) == 0) {
		xs_tool_cpus_and(&dflt, &dflt, &d->planned);
		dflt_hit = xs_tool_cpus_count(&dflt) > 0;
	}
	xs_tool_cpus_andnot(&hk, &d->online, &d->planned);
	if (!nhit && !dflt_hit) {
		add(d, "irq_affinity", ST_OK, "none of %d IRQs is routed to planned CPUs %s", nirq,
		    LIST(&d->planned));
		return;
	}
	if (nhit)
		add(d, "irq_affinity", ST_WARN, "%d of %d IRQs (%s) are routed to planned CPUs %s%s",
		    nhit, nirq, list, LIST(&hit),
		    dflt_hit ? "; new IRQs default to them too" : "");
	else
		add(d, "irq_affinity", ST_WARN, "new IRQs default to planned CPUs %s "
		    "(/proc/irq/default_smp_affinity)", LIST(&dflt));
	fix(d, "echo %s > /proc/irq/N/smp_affinity_list for each listed IRQ, echo %s > "
	       "/proc/irq/default_smp_affinity; with irqbalance set IRQBALANCE_BANNED_CPULIST=%s",
	    LIST(&hk), xs_tool_cpus_format_mask(&hk, (char[512]){0}, 512), LIST(&d->planned));
}

static void check_io_uring(struct doctor *d)
{
	uint64_t mode;
	char status[4096];
	const char *fixtxt = "sysctl -w kernel.io_uring_disabled=0 (or add the scheduler's user "
			     "to kernel.io_uring_group); otherwise the handshake uses its poll() "
			     "fallback";

	if (rd_u64(d, &mode, "/proc/sys/kernel/io_uring_disabled") == 0 && mode != 0) {
		int64_t grp = -1;
		char gbuf[32];
		bool member = false;

		if (rd(d, gbuf, sizeof(gbuf), "/proc/sys/kernel/io_uring_group") >= 0)
			grp = strtoll(gbuf, NULL, 10);
		if (mode == 1 && rd(d, status, sizeof(status), "/proc/self/status") >= 0) {
			char copy[4096];
			char *uid, *groups;

			memcpy(copy, status, sizeof(copy));
			uid = field(copy, "Uid");
			groups = field(status, "Groups");
			if (uid && strtol(uid, NULL, 10) == 0)
				member = true; /* root has CAP_SYS_ADMIN */
			for (char *g = groups ? strtok(groups, " ") : NULL; g && grp >= 0;
			     g = strtok(NULL, " "))
				if (strtoll(g, NULL, 10) == grp)
					member = true;
		}
		if (mode == 1 && member) {
			add(d, "io_uring", ST_OK, "io_uring restricted to group %lld "
			    "(io_uring_disabled=1) and this user may use it", (long long)grp);
			return;
		}
		add(d, "io_uring", ST_WARN, "io_uring is %s (kernel.io_uring_disabled=%llu): the "
		    "handshake falls back to poll()",
		    mode == 1 ? "restricted to another group" : "disabled",
		    (unsigned long long)mode);
		fix(d, "%s", fixtxt);
		return;
	}
	if (d->real) {
		/* Probe: a one-entry ring, closed at once. Blocked by seccomp in
		 * many containers even when the sysctl allows it. */
		unsigned char params[120] = {0}; /* struct io_uring_params */
		long fd = syscall(__NR_io_uring_setup, 1, params);

		if (fd < 0) {
			int err = errno;

			add(d, "io_uring", ST_WARN, "io_uring_setup failed: %s (%s): the handshake "
			    "falls back to poll()", strerror(err),
			    err == ENOSYS ? "kernel without io_uring"
					  : "blocked by seccomp, a container or a sysctl");
			fix(d, "%s", err == ENOSYS ? "use a kernel with CONFIG_IO_URING=y"
						   : "allow io_uring_setup/io_uring_enter in the "
						     "container's seccomp profile");
			return;
		}
		close((int)fd);
		add(d, "io_uring", ST_OK, "io_uring is available (probe ring set up and closed)");
		return;
	}
	add(d, "io_uring", ST_OK, "io_uring is allowed (kernel.io_uring_disabled=0 or absent)");
}

static int parse_limit(const char *s, uint64_t *v)
{
	char *end;

	if (!strncmp(s, "unlimited", 9)) {
		*v = UINT64_MAX;
		return 0;
	}
	errno = 0;
	*v = strtoull(s, &end, 10);
	return (end == s || errno) ? -1 : 0;
}

static void check_memlock(struct doctor *d)
{
	char buf[8192], *line;
	uint64_t soft = 0, hard = 0;
	char soft_s[32], hard_s[32];

	if (rd(d, buf, sizeof(buf), "/proc/self/limits") < 0 ||
	    !(line = strstr(buf, "Max locked memory"))) {
		add(d, "memlock", ST_WARN, "cannot read RLIMIT_MEMLOCK from /proc/self/limits");
		fix(d, "run the doctor where /proc is mounted");
		return;
	}
	line += strlen("Max locked memory");
	if (sscanf(line, " %31s %31s", soft_s, hard_s) != 2 || parse_limit(soft_s, &soft) < 0 ||
	    parse_limit(hard_s, &hard) < 0) {
		add(d, "memlock", ST_WARN, "cannot parse RLIMIT_MEMLOCK in /proc/self/limits");
		fix(d, "check /proc/self/limits");
		return;
	}
	if (soft >= d->need_bytes) {
		add(d, "memlock", ST_OK, "RLIMIT_MEMLOCK %s covers the %llu MiB session memory",
		    soft_s, (unsigned long long)(d->need_bytes >> 20));
		return;
	}
	add(d, "memlock", ST_WARN, "RLIMIT_MEMLOCK is %s bytes (hard %s), below the %llu MiB "
	    "session memory: it cannot be locked, so pages may be reclaimed and fault in the hot "
	    "path", soft_s, hard_s, (unsigned long long)(d->need_bytes >> 20));
	if (hard >= d->need_bytes)
		fix(d, "raise the soft limit: ulimit -l %s", hard_s);
	else
		fix(d, "ulimit -l unlimited as root, LimitMEMLOCK=infinity in the systemd unit, or a "
		       "memlock line in /etc/security/limits.conf");
}

static void check_smt(struct doctor *d)
{
	char ctl[32] = "", pairs[DETAIL_LEN] = "", exposed[DETAIL_LEN] = "";
	size_t op = 0, oe = 0;
	struct xs_tool_cpus sib, both, busy, iso, noisy;
	int npairs = 0;

	rd(d, ctl, sizeof(ctl), "/sys/devices/system/cpu/smt/control");
	if (rd_cpulist(d, &iso, "/sys/devices/system/cpu/isolated") < 0)
		xs_tool_cpus_zero(&iso);
	xs_tool_cpus_zero(&noisy);
	for (int c = xs_tool_cpus_next(&d->planned, 0); c >= 0;
	     c = xs_tool_cpus_next(&d->planned, (unsigned)c + 1)) {
		if (rd_cpulist(d, &sib, "/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
			       c) < 0)
			continue;
		xs_tool_cpus_and(&sib, &sib, &d->online);
		/* planned siblings above c: report each pair once */
		xs_tool_cpus_and(&both, &sib, &d->planned);
		for (int s = xs_tool_cpus_next(&both, (unsigned)c + 1); s >= 0;
		     s = xs_tool_cpus_next(&both, (unsigned)s + 1)) {
			npairs++;
			if (op < sizeof(pairs) - 16)
				op += (size_t)snprintf(pairs + op, sizeof(pairs) - op, "%s%d+%d",
						       op ? ", " : "", c, s);
		}
		/* unplanned, not isolated siblings: other work shares the core */
		xs_tool_cpus_andnot(&busy, &sib, &d->planned);
		xs_tool_cpus_andnot(&busy, &busy, &iso);
		if (xs_tool_cpus_count(&busy)) {
			xs_tool_cpus_or(&noisy, &noisy, &busy);
			if (oe < sizeof(exposed) - 32)
				oe += (size_t)snprintf(exposed + oe, sizeof(exposed) - oe,
						       "%sCPU %d shares its core with %s",
						       oe ? ", " : "", c, LIST(&busy));
		}
	}
	if (npairs) {
		add(d, "smt", ST_FAIL, "planned CPUs are SMT siblings (%s): two busy pollers on one "
		    "physical core slow each other down", pairs);
		fix(d, "plan one CPU per physical core (--cpus, see xsched-topo) or turn SMT off: "
		       "echo off > /sys/devices/system/cpu/smt/control");
	} else if (xs_tool_cpus_count(&noisy)) {
		add(d, "smt", ST_WARN, "%s (not planned, not isolated): other tasks on the sibling "
		    "take execution units from the poller", exposed);
		fix(d, "isolate the siblings too (isolcpus=...,%s), take them offline (echo 0 > "
		       "/sys/devices/system/cpu/cpuN/online) or turn SMT off", LIST(&noisy));
	} else {
		add(d, "smt", ST_OK, "no planned CPU shares its physical core with a busy CPU "
		    "(SMT control: %s)", ctl[0] ? ctl : "absent");
	}
}

/* 1 when @p word is one of the space-separated words of @p list. */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

static void check_clocksource(struct doctor *d)
{
	static const char *const fast[] = {"tsc", "kvm-clock", "arch_sys_counter",
					   "hyperv_clocksource_tsc_page", "riscv_clocksource"};
	static const char *const slow[] = {"hpet", "acpi_pm", "jiffies", "refined-jiffies", "pit"};
	char cur[64], avail[512] = "";
	const char *fixtxt = "echo tsc > /sys/devices/system/clocksource/clocksource0/"
			     "current_clocksource (boot: clocksource=tsc tsc=reliable)";

	if (rd(d, cur, sizeof(cur), "/sys/devices/system/clocksource/clocksource0/"
				    "current_clocksource") < 0) {
		add(d, "clocksource", ST_WARN, "cannot read the current clock source");
		fix(d, "run the doctor where /sys is mounted");
		return;
	}
	rd(d, avail, sizeof(avail), "/sys/devices/system/clocksource/clocksource0/"
				    "available_clocksource");
	for (size_t i = 0; i < sizeof(slow) / sizeof(slow[0]); i++) {
		if (strcmp(cur, slow[i]) != 0)
			continue;
		add(d, "clocksource", ST_FAIL, "clock source %s has no vDSO fast path: every "
		    "clock_gettime() is a system call (available: %s)", cur, avail);
		fix(d, "%s", fixtxt);
		return;
	}
	for (size_t i = 0; i < sizeof(fast) / sizeof(fast[0]); i++) {
		if (strcmp(cur, fast[i]) != 0)
			continue;
		if (strcmp(cur, "tsc") != 0 && has_word(avail, "tsc")) {
			add(d, "clocksource", ST_WARN, "clock source %s works from the vDSO but tsc "
			    "is available and cheaper to read (available: %s)", cur, avail);
			fix(d, "%s", fixtxt);
		} else
			add(d, "clocksource", ST_OK, "clock source %s (read from the vDSO, no system "
			    "call)", cur);
		return;
	}
	add(d, "clocksource", ST_WARN, "clock source %s is unknown to the doctor: check that "
	    "clock_gettime() does not enter the kernel (available: %s)", cur, avail);
	fix(d, "%s", fixtxt);
}

/* ---------------------------------------------------------------- driver */

static const struct {
	const char *name;
	void (*run)(struct doctor *d);
	const char *about;
} checks[] = {
	{"cpus", check_cpus, "planned CPUs online and allowed to this process"},
	{"hugepages", check_hugepages, "2 MiB huge pages configured and free"},
	{"isolated", check_isolated, "planned CPUs isolated from the scheduler"},
	{"nohz_full", check_nohz, "planned CPUs without the scheduler tick"},
	{"rcu_nocbs", check_rcu, "planned CPUs without RCU callbacks"},
	{"governor", check_governor, "CPU frequency governor"},
	{"boost", check_boost, "frequency boost (turbo)"},
	{"cstates", check_cstates, "deep C-states"},
	{"thp", check_thp, "transparent huge pages"},
	{"numa_balancing", check_numa_balancing, "automatic NUMA balancing"},
	{"irq_affinity", check_irqs, "IRQs routed to planned CPUs"},
	{"io_uring", check_io_uring, "io_uring allowed"},
	{"memlock", check_memlock, "RLIMIT_MEMLOCK"},
	{"smt", check_smt, "SMT siblings of planned CPUs"},
	{"clocksource", check_clocksource, "clock source"},
};
#define NCHECKS (sizeof(checks) / sizeof(checks[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Check this host for low-latency operation of an xsched session. Prints one line\n"
		"per check, OK / WARN / FAIL, with the fix. Only reads; never changes the system.\n"
		"\n"
		"  -c, --cpus LIST      the CPUs the session will use (default: allowed online\n"
		"                       CPUs except the first, kept for housekeeping); with\n"
		"                       --workers, the CPUs the runtime may plan on\n"
		"  -w, --workers W      planned CPUs = the busy reactors of the runtime's plan for\n"
		"                       tpu + W workers (with --placement, --topology, --allow-smt,\n"
		"                       --use-housekeeping as every xsched program)\n"
		"  -m, --memory SIZE    session shared memory to cover with huge pages and\n"
		"                       RLIMIT_MEMLOCK (default 64M)\n"
		"  -r, --root DIR       read DIR/sys and DIR/proc instead of the real ones\n"
		"                       (no live probe is made then)\n"
		"      --placement P, --topology SPEC, --allow-smt, --use-housekeeping\n"
		"                       runtime options for the --workers plan\n"
		"  -o, --only LIST      run only these checks (comma-separated names)\n"
		"  -q, --quiet          print only the WARN and FAIL lines (with their fixes)\n"
		"                       and the totals line (table format)\n"
		"  -f, --format FMT     table (default) or json\n"
		"  -l, --list           list the checks and exit\n"
		"  -h, --help           show this help and exit\n"
		"  -V, --version        show the version and exit\n"
		"\n"
		"Exit status: 0 when no check fails (WARN allowed), 1 when one fails, 2 on usage\n"
		"errors.\n",
		xs_tool_name());
}

/* Planned CPUs from the runtime's plan for tpu + W workers (busy reactors). */
static int plan_cpus(struct doctor *d, const char *cpus_arg, int workers, struct xs_rt_opts *ro)
{
	struct xs_task tasks[1 + 64];
	struct xs_plan_opts po;
	struct xs_topo *t = NULL;
	struct xs_plan *plan = NULL;
	int rc, nt;

	if (cpus_arg) {
		if (xs_cpuset_parse(&ro->cpus, cpus_arg) < 0)
			xs_tool_usage_error("--cpus: %s", xs_errmsg());
		ro->has_cpus = 1;
	}
	if ((rc = xs_rt_opts_topo(ro, &t)) < 0)
		return rc;
	xs_plan_opts_init(&po);
	xs_rt_opts_plan(ro, &po);
	nt = xs_tasks_std(tasks, 1 + 64, workers);
	if (nt < 0) {
		xs_topo_destroy(t);
		return nt;
	}
	xs_tool_cpus_zero(&d->planned);
	if (xs_plan_build(&plan, t, tasks, nt, &po) < 0) {
		snprintf(d->plan_error, sizeof(d->plan_error), "%s", xs_errmsg());
	} else {
		for (int r = 0; r < xs_plan_nreactors(plan); r++) {
			const struct xs_plan_reactor *pr = xs_plan_reactor(plan, r);

			if (!(pr->flags & XS_PR_LIGHT))
				xs_tool_cpus_set(&d->planned, (unsigned)pr->cpu);
		}
	}
	snprintf(d->planned_from, sizeof(d->planned_from), "runtime plan: tpu + %d workers, %s, %s",
		 workers, xs_place_policy_name(ro->placement), xs_topo_source(t));
	xs_plan_destroy(plan);
	xs_topo_destroy(t);
	return 0;
}

static int load_cpus(struct doctor *d, const char *cpus_arg, int workers, struct xs_rt_opts *ro)
{
	char status[8192], *v;
	struct xs_tool_cpus present;
	int rc;

	d->nr_possible = 0;
	if (rd_cpulist(d, &present, "/sys/devices/system/cpu/possible") == 0) {
		for (int c = xs_tool_cpus_next(&present, 0); c >= 0;
		     c = xs_tool_cpus_next(&present, (unsigned)c + 1))
			d->nr_possible = (unsigned)c + 1;
	}
	if ((rc = rd_cpulist(d, &d->online, "/sys/devices/system/cpu/online")) < 0)
		return xs_seterr(rc, "reading %s/sys/devices/system/cpu/online", d->root);
	if (!d->nr_possible)
		for (int c = xs_tool_cpus_next(&d->online, 0); c >= 0;
		     c = xs_tool_cpus_next(&d->online, (unsigned)c + 1))
			d->nr_possible = (unsigned)c + 1;
	d->allowed = d->online;
	if (rd(d, status, sizeof(status), "/proc/self/status") >= 0 &&
	    (v = field(status, "Cpus_allowed_list")) != NULL)
		xs_tool_cpus_parse_list(&d->allowed, v, d->nr_possible);

	if (workers >= 0)
		return plan_cpus(d, cpus_arg, workers, ro);
	if (cpus_arg) {
		if ((rc = xs_tool_cpus_parse_list(&d->planned, cpus_arg, d->nr_possible)) < 0)
			xs_tool_usage_error("--cpus: %s", xs_errmsg());
		snprintf(d->planned_from, sizeof(d->planned_from), "--cpus");
		return 0;
	}
	/* Default: what the runtime's dedicated placement may use, i.e. the
	 * allowed online CPUs minus the first one, left to housekeeping. */
	struct xs_tool_cpus usable;
	int first;

	xs_tool_cpus_and(&usable, &d->allowed, &d->online);
	first = xs_tool_cpus_next(&usable, 0);
	d->planned = usable;
	if (first >= 0 && xs_tool_cpus_count(&usable) > 1) {
		d->planned.bits[first / 64] &= ~(1ull << (first % 64));
		snprintf(d->planned_from, sizeof(d->planned_from),
			 "default: allowed online CPUs except housekeeping CPU %d", first);
	} else
		snprintf(d->planned_from, sizeof(d->planned_from), "default: allowed online CPUs");
	return 0;
}

static bool selected_check(const char *only, const char *name)
{
	size_t n = strlen(name);

	if (!only)
		return true;
	for (const char *p = only; *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);

		if (len == n && !strncmp(p, name, n))
			return true;
		p += len + (c ? 1 : 0);
	}
	return false;
}

/* Quiet: the WARN and FAIL lines (with their fixes) and the totals line. */
static void print_table(const struct doctor *d, bool quiet)
{
	int cnt[3] = {0, 0, 0};

	if (!quiet)
		printf("# xsched-doctor %s  root=%s  planned CPUs %s (%s)\n", XS_VERSION_STRING,
		       d->real ? "/" : d->root, LIST(&d->planned), d->planned_from);
	for (int i = 0; i < d->nres; i++) {
		const struct result *r = &d->res[i];

		cnt[r->st]++;
		if (quiet && r->st == ST_OK)
			continue;
		printf("%-4s  %-14s  %s\n", status_name[r->st], r->name, r->detail);
		if (r->fix[0])
			printf("%-4s  %-14s  fix: %s\n", "", "", r->fix);
	}
	printf("# %d OK, %d WARN, %d FAIL\n", cnt[ST_OK], cnt[ST_WARN], cnt[ST_FAIL]);
}

static void print_json(const struct doctor *d)
{
	struct xs_json j;
	int cnt[3] = {0, 0, 0};

	xs_json_init(&j, stdout);
	xs_json_obj_begin(&j, NULL);
	xs_json_str(&j, "schema", "xsched.doctor/1");
	xs_json_str(&j, "version", XS_VERSION_STRING);
	xs_json_str(&j, "root", d->real ? "/" : d->root);
	xs_json_cpus(&j, "planned_cpus", &d->planned);
	xs_json_str(&j, "planned_from", d->planned_from);
	xs_json_u64(&j, "memory_bytes", d->need_bytes);
	xs_json_arr_begin(&j, "checks");
	for (int i = 0; i < d->nres; i++) {
		const struct result *r = &d->res[i];

		cnt[r->st]++;
		xs_json_obj_begin(&j, NULL);
		xs_json_str(&j, "name", r->name);
		xs_json_str(&j, "status", status_name[r->st]);
		xs_json_str(&j, "detail", r->detail);
		if (r->fix[0])
			xs_json_str(&j, "fix", r->fix);
		else
			xs_json_null(&j, "fix");
		xs_json_obj_end(&j);
	}
	xs_json_arr_end(&j);
	xs_json_obj_begin(&j, "summary");
	xs_json_u64(&j, "ok", (uint64_t)cnt[ST_OK]);
	xs_json_u64(&j, "warn", (uint64_t)cnt[ST_WARN]);
	xs_json_u64(&j, "fail", (uint64_t)cnt[ST_FAIL]);
	xs_json_obj_end(&j);
	xs_json_obj_end(&j);
	xs_json_finish(&j);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cpus", required_argument, NULL, 'c'},
		{"memory", required_argument, NULL, 'm'},
		{"root", required_argument, NULL, 'r'},
		{"only", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"list", no_argument, NULL, 'l'},
		{"workers", required_argument, NULL, 'w'},
		/* the runtime's standard options, except --cpus (ours, above) and --idle */
		{"placement", required_argument, NULL, XS_RT_OPT_PLACEMENT},
		{"topology", required_argument, NULL, XS_RT_OPT_TOPOLOGY},
		{"allow-smt", no_argument, NULL, XS_RT_OPT_ALLOW_SMT},
		{"use-housekeeping", no_argument, NULL, XS_RT_OPT_USE_HOUSEKEEPING},
		XS_TOOL_LONGOPT_FORMAT,
		XS_TOOL_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	static struct doctor d; /* large: keep it off the stack */
	enum xs_tool_format fmt = XS_FMT_TABLE;
	const char *cpus = NULL, *only = NULL, *root = NULL;
	char rootbuf[PATH_MAX];
	bool quiet = false;
	int c, rc, fails = 0, workers = -1;
	struct xs_rt_opts ro;
	uint64_t v;

	xs_tool_init("xsched-doctor", usage);
	d.need_bytes = 64ull << 20;
	xs_rt_opts_init(&ro);
	while ((c = xs_tool_getopt(argc, argv, "c:m:r:o:qlw:f:hV", longopts)) != -1) {
		if (xs_tool_std_opt(c, optarg, &fmt, &ro))
			continue;
		switch (c) {
		case 'w':
			if (xs_tool_parse_u64(optarg, 0, 64, &v) < 0)
				xs_tool_usage_error("--workers: %s", xs_errmsg());
			workers = (int)v;
			break;
		case 'c':
			cpus = optarg;
			break;
		case 'm':
			if (xs_tool_parse_size(optarg, 1, 1ull << 50, &d.need_bytes) < 0)
				xs_tool_usage_error("--memory: %s", xs_errmsg());
			break;
		case 'r':
			root = optarg;
			break;
		case 'o':
			only = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'l':
			for (size_t i = 0; i < NCHECKS; i++)
				printf("%-14s  %s\n", checks[i].name, checks[i].about);
			return XS_EXIT_OK;
		default:
			xs_tool_usage_error("%s: unexpected option", xs_tool_optname(longopts, c));
		}
	}
	if (optind < argc)
		xs_tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (only) {
		for (const char *p = only; *p;) {
			const char *e = strchr(p, ',');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			bool known = false;

			for (size_t i = 0; i < NCHECKS; i++)
				known |= strlen(checks[i].name) == len &&
					 !strncmp(checks[i].name, p, len);
			if (!known)
				xs_tool_usage_error("--only: unknown check '%.*s' (see --list)", (int)len,
						    p);
			p += len + (e ? 1 : 0);
		}
	}

	if (root && strcmp(root, "/") != 0) {
		struct stat st;

		if (!realpath(root, rootbuf) || stat(rootbuf, &st) < 0)
			return xs_tool_fail(-errno, "open root %s", root);
		if (!S_ISDIR(st.st_mode))
			return xs_tool_fail(-ENOTDIR, "open root %s", root);
		d.root = rootbuf;
		d.real = false;
	} else {
		d.root = "";
		d.real = true;
	}
	if (workers >= 0 && !d.real && !ro.topology)
		xs_tool_usage_error("--workers: with --root, needs --topology (the plan would be made "
				    "for this machine, not for the tree)");
	if ((rc = load_cpus(&d, cpus, workers, &ro)) < 0)
		return xs_tool_fail(rc, "read the CPU topology");

	for (size_t i = 0; i < NCHECKS; i++)
		if (selected_check(only, checks[i].name))
			checks[i].run(&d);
	for (int i = 0; i < d.nres; i++)
		fails += d.res[i].st == ST_FAIL;
	if (fmt == XS_FMT_JSON)
		print_json(&d);
	else
		print_table(&d, quiet);
	return fails ? XS_EXIT_FAIL : XS_EXIT_OK;
}
