/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: xsched-doctor against fake /sys and /proc trees (--root).
 * A well-tuned 8-CPU host (SMT pairs c / c+4, planned CPUs 2,3) gives OK on
 * every check and exit 0; a badly tuned one gives WARN on every check that
 * has a WARN state and still exit 0; broken ones give FAIL (cpus, smt,
 * clocksource) and exit 1. Variants cover the other branches of each check.
 * Also: table format with fixes, JSON summary, --only, --list, default
 * planned CPUs, and the CLI contract (--help, --version, exit 2 on usage
 * errors, exit 1 on a missing root).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tooltest.h"

static const char *doctor;
static char *root;

static void good_tree(void)
{
	tt_write(root, "sys/devices/system/cpu/possible", "0-7\n");
	tt_write(root, "sys/devices/system/cpu/online", "0-7\n");
	tt_write(root, "sys/devices/system/cpu/isolated", "2-3,6-7\n");
	tt_write(root, "sys/devices/system/cpu/nohz_full", "2-3\n");
	tt_write(root, "sys/devices/system/cpu/smt/control", "on\n");
	tt_write(root, "sys/devices/system/cpu/smt/active", "1\n");
	tt_write(root, "sys/devices/system/cpu/intel_pstate/no_turbo", "1\n");
	for (int c = 0; c < 8; c++) {
		char rel[256];

		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
			 c);
		tt_writef(root, rel, "%d,%d\n", c % 4, c % 4 + 4);
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor", c);
		tt_write(root, rel, "performance\n");
		static const char *const names[] = {"POLL", "C1", "C6"};
		static const int lat[] = {0, 2, 133};
		for (int s = 0; s < 3; s++) {
			snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/cpuidle/state%d/name", c,
				 s);
			tt_writef(root, rel, "%s\n", names[s]);
			snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/cpuidle/state%d/latency",
				 c, s);
			tt_writef(root, rel, "%d\n", lat[s]);
			snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/cpuidle/state%d/disable",
				 c, s);
			tt_writef(root, rel, "%d\n", s == 2); /* C6 disabled */
		}
	}
	tt_write(root, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "64\n");
	tt_write(root, "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "64\n");
	tt_write(root, "sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages", "0\n");
	tt_write(root, "sys/kernel/mm/hugepages/hugepages-2048kB/surplus_hugepages", "0\n");
	tt_write(root, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages", "0\n");
	tt_write(root, "sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n");
	tt_write(root, "sys/kernel/mm/transparent_hugepage/defrag",
		 "always defer defer+madvise [madvise] never\n");
	tt_write(root, "sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n");
	tt_write(root, "sys/devices/system/clocksource/clocksource0/available_clocksource",
		 "tsc hpet acpi_pm \n");
	tt_write(root, "proc/cmdline",
		 "BOOT_IMAGE=/vmlinuz root=/dev/sda1 isolcpus=2-3,6-7 nohz_full=2-3 rcu_nocbs=2-3\n");
	tt_write(root, "proc/sys/kernel/numa_balancing", "0\n");
	tt_write(root, "proc/sys/kernel/io_uring_disabled", "0\n");
	tt_write(root, "proc/irq/0/smp_affinity_list", "0-7\n");
	tt_write(root, "proc/irq/0/effective_affinity_list", "0\n");
	tt_write(root, "proc/irq/24/smp_affinity_list", "0-1\n");
	tt_write(root, "proc/irq/24/effective_affinity_list", "1\n");
	tt_write(root, "proc/irq/25/smp_affinity_list", "4\n"); /* no effective list: use this */
	tt_write(root, "proc/irq/default_smp_affinity", "33\n"); /* CPUs 0,1,4,5 */
	tt_write(root, "proc/self/limits",
		 "Limit                     Soft Limit           Hard Limit           Units     \n"
		 "Max open files            1024                 524288               files     \n"
		 "Max locked memory         unlimited            unlimited            bytes     \n");
	tt_write(root, "proc/self/status",
		 "Name:\txsched-doctor\nUid:\t1000\t1000\t1000\t1000\nGroups:\t27 1000 \n"
		 "Cpus_allowed:\tff\nCpus_allowed_list:\t0-7\n");
}

static struct tt_run run_doctor(const char *cpus, const char *extra)
{
	char *argv[12];
	int n = 0;
	struct tt_run r;

	argv[n++] = (char *)doctor;
	argv[n++] = (char *)"--root";
	argv[n++] = root;
	argv[n++] = (char *)"--format";
	argv[n++] = (char *)"json";
	if (cpus) {
		argv[n++] = (char *)"--cpus";
		argv[n++] = (char *)cpus;
	}
	if (extra) {
		argv[n++] = (char *)"--only";
		argv[n++] = (char *)extra;
	}
	argv[n] = NULL;
	tt_run(&r, argv, 30);
	return r;
}

static const char *status(const struct tt_run *r, const char *check)
{
	const char *s = tt_json_in(r->out, check, "status");

	if (!s)
		t_fail(__FILE__, __LINE__, "check %s missing from:\n%s", check, r->out);
	return s;
}

#define EXPECT(r, check, want)                                                              \
	do {                                                                                \
		const char *got_ = status(&(r), check);                                     \
		if (strcmp(got_, want) != 0)                                                \
			t_fail(__FILE__, __LINE__, "%s: %s, wanted %s; detail: %s", check, got_, \
			       want, tt_json_in((r).out, check, "detail"));                 \
	} while (0)

/* Run one check alone and expect a status. */
static void one(const char *cpus, const char *check, const char *want)
{
	struct tt_run r = run_doctor(cpus, check);

	EXPECT(r, check, want);
	T_EQ(r.status, strcmp(want, "FAIL") ? 0 : 1);
	tt_free(&r);
}

static const char *const all_checks[] = {
	"cpus",      "hugepages",      "isolated",     "nohz_full", "rcu_nocbs",
	"governor",  "boost",          "cstates",      "thp",       "numa_balancing",
	"irq_affinity", "io_uring",    "memlock",      "smt",       "clocksource",
};
#define NALL (sizeof(all_checks) / sizeof(all_checks[0]))

static void test_good(void)
{
	struct tt_run r = run_doctor("2,3", NULL);

	for (size_t i = 0; i < NALL; i++)
		EXPECT(r, all_checks[i], "OK");
	T_EQ(r.status, 0);
	T_ASSERT(!strcmp(tt_json_get(r.out, "schema"), "xsched.doctor/1"));
	T_ASSERT(!strcmp(tt_json_get(r.out, "planned_cpus"), "[2, 3]"), "%s",
		 tt_json_get(r.out, "planned_cpus"));
	T_ASSERT(!strcmp(tt_json_get(r.out, "ok"), "15"));
	T_ASSERT(!strcmp(tt_json_get(r.out, "fail"), "0"));
	T_ASSERT(!strcmp(tt_json_in(r.out, "cpus", "fix"), "null"));
	tt_free(&r);
}

static void test_warn(void)
{
	struct tt_run r;

	tt_write(root, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n");
	tt_write(root, "sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "0\n");
	tt_write(root, "sys/devices/system/cpu/isolated", "\n");
	tt_write(root, "sys/devices/system/cpu/nohz_full", "(null)\n");
	tt_write(root, "proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 -- rcu_nocbs=2-3\n");
	tt_write(root, "sys/devices/system/cpu/cpu3/cpufreq/scaling_governor", "powersave\n");
	tt_write(root, "sys/devices/system/cpu/intel_pstate/no_turbo", "0\n");
	tt_write(root, "sys/devices/system/cpu/cpu2/cpuidle/state2/disable", "0\n");
	tt_write(root, "sys/kernel/mm/transparent_hugepage/enabled", "[always] madvise never\n");
	tt_write(root, "proc/sys/kernel/numa_balancing", "1\n");
	tt_write(root, "proc/irq/24/effective_affinity_list", "2\n");
	tt_write(root, "proc/sys/kernel/io_uring_disabled", "2\n");
	tt_write(root, "proc/self/limits", "Max locked memory         8388608              8388608"
					   "              bytes     \n");
	tt_write(root, "sys/devices/system/clocksource/clocksource0/current_clocksource",
		 "kvm-clock\n");
	tt_write(root, "sys/devices/system/clocksource/clocksource0/available_clocksource",
		 "kvm-clock tsc acpi_pm\n");
	/* SMT siblings 6,7 are no longer isolated (isolated is empty now) */
	r = run_doctor("2,3", NULL);
	EXPECT(r, "cpus", "OK"); /* cpus has no WARN state */
	for (size_t i = 1; i < NALL; i++)
		EXPECT(r, all_checks[i], "WARN");
	T_EQ(r.status, 0); /* warnings alone do not fail */
	T_ASSERT(!strcmp(tt_json_get(r.out, "warn"), "14"));
	T_ASSERT(strstr(tt_json_in(r.out, "hugepages", "fix"), "echo 32 >") != NULL);
	T_ASSERT(strstr(tt_json_in(r.out, "irq_affinity", "detail"), "(24)") != NULL);
	T_ASSERT(strstr(tt_json_in(r.out, "governor", "detail"), "CPU 3 powersave") != NULL);
	T_ASSERT(strstr(tt_json_in(r.out, "cstates", "detail"), "CPU 2 C6 (133 us)") != NULL);
	T_ASSERT(strstr(tt_json_in(r.out, "smt", "detail"), "CPU 2 shares its core with 6") != NULL);
	tt_free(&r);

	/* table output: status words, fixes, summary line */
	char *argv[] = {(char *)doctor, (char *)"--root", root, (char *)"--cpus", (char *)"2-3",
			(char *)"--quiet", NULL};
	tt_run(&r, argv, 30);
	T_EQ(r.status, 0);
	T_ASSERT(strstr(r.out, "WARN  hugepages") != NULL, "%s", r.out);
	T_ASSERT(strstr(r.out, "fix: sysctl -w kernel.numa_balancing=0") != NULL, "%s", r.out);
	T_ASSERT(strstr(r.out, "OK    cpus") == NULL, "--quiet hides OK lines");
	T_ASSERT(strstr(r.out, "# xsched-doctor") == NULL, "--quiet hides the header: %s", r.out);
	T_ASSERT(strstr(r.out, "# 1 OK, 14 WARN, 0 FAIL") != NULL, "%s", r.out);
	/* nothing but WARN/FAIL lines, their fix lines and the totals */
	for (const char *l = r.out; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
		T_ASSERT(!strncmp(l, "WARN  ", 6) || !strncmp(l, "FAIL  ", 6) ||
				 !strncmp(l, "                      fix: ", 27) || !strncmp(l, "# ", 2),
			 "--quiet printed: %.60s", l);
	tt_free(&r);
}

static void test_fail(void)
{
	struct tt_run r;

	tt_write(root, "sys/devices/system/cpu/online", "0-2,4-7\n");
	tt_write(root, "sys/devices/system/clocksource/clocksource0/current_clocksource", "hpet\n");
	r = run_doctor("2,3", NULL);
	EXPECT(r, "cpus", "FAIL");
	EXPECT(r, "clocksource", "FAIL");
	T_EQ(r.status, 1);
	T_ASSERT(strstr(tt_json_in(r.out, "cpus", "detail"), "CPUs 3 are not online") != NULL);
	tt_free(&r);
	tt_write(root, "sys/devices/system/cpu/online", "0-7\n");

	/* planned CPUs that are SMT siblings of each other */
	one("2,6", "smt", "FAIL");
	/* outside the allowed set */
	tt_write(root, "proc/self/status", "Name:\tx\nUid:\t1000\nGroups:\t1000\n"
					   "Cpus_allowed_list:\t0-1,3-7\n");
	one("2,3", "cpus", "FAIL");
	tt_write(root, "proc/self/status", "Name:\tx\nUid:\t1000\nGroups:\t27\n"
					   "Cpus_allowed_list:\t0-7\n");
	/* nothing planned at all (empty list) */
	one("", "cpus", "FAIL");
}

static void test_variants(void)
{
	const char *hp = "sys/kernel/mm/hugepages/hugepages-2048kB";
	char rel[256];

	/* hugepages: too few usable ones (reserved by someone), then enough
	 * through overcommit, then no 2 MiB size at all */
	snprintf(rel, sizeof(rel), "%s/nr_hugepages", hp);
	tt_write(root, rel, "40\n");
	snprintf(rel, sizeof(rel), "%s/free_hugepages", hp);
	tt_write(root, rel, "40\n");
	snprintf(rel, sizeof(rel), "%s/resv_hugepages", hp);
	tt_write(root, rel, "20\n");
	one(NULL, "hugepages", "WARN");
	snprintf(rel, sizeof(rel), "%s/nr_overcommit_hugepages", hp);
	tt_write(root, rel, "16\n");
	one(NULL, "hugepages", "OK");
	snprintf(rel, sizeof(rel), "%s/nr_hugepages", hp);
	tt_unlink(root, rel);
	one(NULL, "hugepages", "WARN");

	/* rcu_nocbs from nohz_full alone */
	tt_write(root, "sys/devices/system/cpu/nohz_full", "2-3\n");
	one("2,3", "rcu_nocbs", "OK");
	/* nohz_full partly covering */
	tt_write(root, "sys/devices/system/cpu/nohz_full", "2\n");
	one("2,3", "nohz_full", "WARN");
	/* kernel without NO_HZ_FULL; rcu_nocbs=all on the command line */
	tt_unlink(root, "sys/devices/system/cpu/nohz_full");
	one("2,3", "nohz_full", "WARN");
	tt_write(root, "proc/cmdline", "quiet rcu_nocbs=all\n");
	one("2,3", "rcu_nocbs", "OK");
	/* isolated through a cgroup v2 isolated partition */
	tt_write(root, "sys/fs/cgroup/cpuset.cpus.isolated", "2-3\n");
	one("2,3", "isolated", "OK");

	/* governor: no cpufreq at all */
	tt_unlink(root, "sys/devices/system/cpu/cpu2/cpufreq/scaling_governor");
	tt_unlink(root, "sys/devices/system/cpu/cpu3/cpufreq/scaling_governor");
	one("2,3", "governor", "OK");
	/* boost: acpi-cpufreq style control */
	tt_unlink(root, "sys/devices/system/cpu/intel_pstate/no_turbo");
	tt_write(root, "sys/devices/system/cpu/cpufreq/boost", "1\n");
	one("2,3", "boost", "WARN");
	tt_write(root, "sys/devices/system/cpu/cpufreq/boost", "0\n");
	one("2,3", "boost", "OK");
	tt_unlink(root, "sys/devices/system/cpu/cpufreq/boost");
	one("2,3", "boost", "OK");
	/* cstates: only the CPU without deep states planned */
	one("3", "cstates", "OK");

	/* thp: defrag=always alone; thp absent */
	tt_write(root, "sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n");
	tt_write(root, "sys/kernel/mm/transparent_hugepage/defrag", "[always] defer madvise never\n");
	one("2,3", "thp", "WARN");
	tt_unlink(root, "sys/kernel/mm/transparent_hugepage/enabled");
	one("2,3", "thp", "OK");
	/* numa_balancing absent */
	tt_unlink(root, "proc/sys/kernel/numa_balancing");
	one("2,3", "numa_balancing", "OK");

	/* irq: only the default affinity points at planned CPUs */
	tt_write(root, "proc/irq/24/effective_affinity_list", "1\n");
	tt_write(root, "proc/irq/default_smp_affinity", "ff\n");
	one("2,3", "irq_affinity", "WARN");
	tt_write(root, "proc/irq/default_smp_affinity", "00000000,00000003\n");
	one("2,3", "irq_affinity", "OK");

	/* io_uring restricted to a group: member (27) or not */
	tt_write(root, "proc/sys/kernel/io_uring_disabled", "1\n");
	tt_write(root, "proc/sys/kernel/io_uring_group", "27\n");
	one("2,3", "io_uring", "OK");
	tt_write(root, "proc/sys/kernel/io_uring_group", "44\n");
	one("2,3", "io_uring", "WARN");
	/* no sysctl (kernel before 6.6) */
	tt_unlink(root, "proc/sys/kernel/io_uring_disabled");
	one("2,3", "io_uring", "OK");

	/* memlock: soft limit low but hard unlimited: fix says raise the soft one */
	tt_write(root, "proc/self/limits", "Max locked memory         65536                unlimited"
					   "            bytes     \n");
	{
		struct tt_run r = run_doctor("2,3", "memlock");

		EXPECT(r, "memlock", "WARN");
		T_ASSERT(strstr(tt_json_in(r.out, "memlock", "fix"), "ulimit -l unlimited") != NULL);
		tt_free(&r);
	}
	tt_write(root, "proc/self/limits", "Max locked memory         134217728            134217728"
					   "            bytes     \n");
	one("2,3", "memlock", "OK");
	/* --memory raises the need above it */
	{
		char *argv[] = {(char *)doctor, (char *)"--root", root, (char *)"--format",
				(char *)"json", (char *)"--only", (char *)"memlock", (char *)"--memory",
				(char *)"1G", NULL};
		struct tt_run r;

		tt_run(&r, argv, 30);
		EXPECT(r, "memlock", "WARN");
		tt_free(&r);
	}

	/* smt: siblings offline, then SMT absent */
	tt_write(root, "sys/devices/system/cpu/isolated", "\n");
	tt_write(root, "sys/devices/system/cpu/online", "0-5\n");
	one("2,3", "smt", "OK");
	tt_write(root, "sys/devices/system/cpu/online", "0-7\n");
	one("2,3", "smt", "WARN");
	for (int c = 0; c < 8; c++) {
		snprintf(rel, sizeof(rel), "sys/devices/system/cpu/cpu%d/topology/thread_siblings_list",
			 c);
		tt_writef(root, rel, "%d\n", c);
	}
	one("2,3", "smt", "OK");

	/* clocksource: tsc not available → a vDSO clock is fine; unknown → WARN */
	tt_write(root, "sys/devices/system/clocksource/clocksource0/current_clocksource",
		 "kvm-clock\n");
	tt_write(root, "sys/devices/system/clocksource/clocksource0/available_clocksource",
		 "kvm-clock acpi_pm\n");
	one("2,3", "clocksource", "OK");
	tt_write(root, "sys/devices/system/clocksource/clocksource0/current_clocksource",
		 "mystery\n");
	one("2,3", "clocksource", "WARN");
}

static void test_cli(void)
{
	struct tt_run r;

	/* default planned CPUs: allowed online minus the first */
	r = run_doctor(NULL, "cpus");
	T_ASSERT(!strcmp(tt_json_get(r.out, "planned_cpus"), "[1, 2, 3, 4, 5, 6, 7]"), "%s", r.out);
	tt_free(&r);
	/* planned CPUs from the runtime's plan on a synthetic topology */
	{
		char *argv[] = {(char *)doctor, (char *)"--root", root, (char *)"--format",
				(char *)"json", (char *)"--only", (char *)"cpus", (char *)"--workers",
				(char *)"2", (char *)"--topology", (char *)"pack:1 numa:1 core:4 pu:1",
				NULL};

		tt_run(&r, argv, 30);
		T_EQ(r.status, 0);
		T_ASSERT(!strcmp(tt_json_get(r.out, "planned_cpus"), "[1, 2, 3]"), "%s", r.out);
		EXPECT(r, "cpus", "OK");
		tt_free(&r);
	}
	{
		/* tpu + 4 workers cannot have a core each on 4 cores with housekeeping */
		char *argv[] = {(char *)doctor, (char *)"--root", root, (char *)"--format",
				(char *)"json", (char *)"--only", (char *)"cpus", (char *)"--workers",
				(char *)"4", (char *)"--topology", (char *)"pack:1 numa:1 core:4 pu:1",
				NULL};

		tt_run(&r, argv, 30);
		T_EQ(r.status, 1);
		EXPECT(r, "cpus", "FAIL");
		T_ASSERT(strstr(tt_json_in(r.out, "cpus", "detail"), "cannot plan") != NULL);
		tt_free(&r);
	}
	{
		char *argv[] = {(char *)doctor, (char *)"--help", NULL};

		tt_run(&r, argv, 10);
		T_EQ(r.status, 0);
		T_ASSERT(strstr(r.out, "Usage: xsched-doctor") != NULL);
		T_ASSERT(r.err[0] == '\0');
		tt_free(&r);
	}
	{
		char *argv[] = {(char *)doctor, (char *)"--version", NULL};

		tt_run(&r, argv, 10);
		T_EQ(r.status, 0);
		T_ASSERT(!strncmp(r.out, "xsched-doctor ", 14), "%s", r.out);
		tt_free(&r);
	}
	{
		char *argv[] = {(char *)doctor, (char *)"--list", NULL};

		tt_run(&r, argv, 10);
		T_EQ(r.status, 0);
		for (size_t i = 0; i < NALL; i++)
			T_ASSERT(strstr(r.out, all_checks[i]) != NULL);
		tt_free(&r);
	}
	{
		char *bad[][6] = {
			{(char *)doctor, (char *)"--bogus", NULL},
			{(char *)doctor, (char *)"--format", (char *)"xml", NULL},
			{(char *)doctor, (char *)"--only", (char *)"nope", NULL},
			{(char *)doctor, (char *)"--cpus", (char *)"1-", NULL},
			{(char *)doctor, (char *)"--memory", (char *)"12Q", NULL},
			{(char *)doctor, (char *)"extra", NULL},
			{(char *)doctor, (char *)"--root", root, (char *)"--workers", (char *)"2", NULL},
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			tt_run(&r, bad[i], 10);
			T_EQ(r.status, 2);
			T_ASSERT(r.out[0] == '\0', "usage errors print nothing on stdout");
			T_ASSERT(strstr(r.err, "xsched-doctor") != NULL, "%s", r.err);
			tt_free(&r);
		}
	}
	{
		char *argv[] = {(char *)doctor, (char *)"--root", (char *)"/nonexistent/xs-root", NULL};

		tt_run(&r, argv, 10);
		T_EQ(r.status, 1);
		T_ASSERT(strstr(r.err, "open root /nonexistent/xs-root failed") != NULL, "%s", r.err);
		tt_free(&r);
	}
}

int main(int argc, char **argv)
{
	T_ASSERT(argc == 2, "usage: test_doctor PATH-TO-xsched-doctor");
	doctor = argv[1];
	root = tt_mkdtemp("doctor");
	good_tree();
	test_good();
	test_warn();
	test_fail();
	test_variants();
	test_cli();
	tt_rmtree(root);
	free(root);
	return 0;
}
