/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The tools' first hour.
 *  early: xsched-sched and xsched-mockval check every option, the CPU set
 *    and the placement before any socket exists: a bad value against a
 *    socket path that does not exist fails on the option (exit 2), never on
 *    connect; mockval with a bad option creates no socket. Every such error
 *    reads "<tool>: --<option>: <what is wrong>" (the option's name, also
 *    for --opt=value and for getopt's own cases: unknown option, missing
 *    value). xsched-topo --cpus works without --workers and names CPUs that
 *    do not exist.
 *  cpus_packed: "--cpus N --placement packed" plans and runs on a 2-core
 *    machine without --use-housekeeping: mockval on CPU 0, sched on CPU 1,
 *    a whole session end to end; xsched-topo shows housekeeping outside the
 *    list. A CTest skip (77) where CPUs 0 and 1 are not both allowed.
 * Usage: test_tool_options MOCKVAL SCHED TOPO early|cpus_packed
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "tooltest.h"

#define LIMIT_S 100
#define SYNTH2 "pack:1 numa:1 core:2 pu:1"

static const char *mockval, *sched, *topo;
static char *dir, sock[512];

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Run @p argv; it must exit 2 with stderr starting "<tool>: <want>". */
static void usage_fails(char *const argv[], const char *tool, const char *want)
{
	struct tt_run r;
	char head[256];

	tt_run(&r, argv, 30);
	snprintf(head, sizeof(head), "%s: %s", tool, want);
	T_ASSERT(r.status == 2, "%s ... %s: exit %d, stderr:\n%s", argv[0], want, r.status, r.err);
	T_ASSERT(!strncmp(r.err, head, strlen(head)), "wanted \"%s\", stderr:\n%s", head, r.err);
	T_ASSERT(!strstr(r.err, "connect") && !strstr(r.err, "handshake") && !strstr(r.err, "listen"),
		 "failed after touching a socket:\n%s", r.err);
	T_ASSERT(!exists(sock), "%s exists after a refused command line", sock);
	tt_free(&r);
}

#define SCHED(...) ((char *[]){(char *)sched, (char *)"--socket", sock, __VA_ARGS__, NULL})
#define MOCKVAL(...) ((char *[]){(char *)mockval, (char *)"--socket", sock, __VA_ARGS__, NULL})

static void early(void)
{
	const char *S = "xsched-sched", *M = "xsched-mockval";
	struct tt_run r;

	/* sched: nothing listens at sock (it does not even exist) */
	usage_fails(SCHED("--cpus", "7", "--topology", SYNTH2), S,
		    "--cpus: CPU 7 does not exist (topology synthetic:" SYNTH2 " has CPUs 0-1)");
	usage_fails(SCHED("--cpus", "abc"), S, "--cpus: 'abc' is not a CPU list");
	usage_fails(SCHED("--placement", "tight"), S, "--placement: 'tight' is not one of");
	usage_fails(SCHED("--topology", SYNTH2, "--workers", "4"), S,
		    "--placement: dedicated: node 0 has 1 usable core for 5 busy tasks (4 missing)");
	usage_fails(SCHED("--workers", "99"), S, "--workers: 99 is outside [1, 64]");
	usage_fails(SCHED("--workers=99"), S, "--workers: 99 is outside [1, 64]");
	usage_fails(SCHED("-w", "0"), S, "--workers: 0 is outside [1, 64]");
	usage_fails(SCHED("--batch", "x"), S, "--batch: 'x' is not a number");
	usage_fails(SCHED("--workers", "4", "--allocator-handles", "2", "--placement", "packed"), S,
		    "--allocator-handles: 2 is fewer than the 4 workers");
	usage_fails(SCHED("--no-such-option"), S, "--no-such-option: unknown option");
	usage_fails(SCHED("--no-such-option=3"), S, "--no-such-option: unknown option");
	usage_fails(SCHED("-Z"), S, "-Z: unknown option");
	usage_fails(SCHED("--cpus"), S, "--cpus: needs a value");
	usage_fails(((char *[]){(char *)sched, NULL}), S, "--socket: required");

	/* mockval: refused before listening, so no socket file appears */
	usage_fails(MOCKVAL("--cpus", "7", "--topology", SYNTH2), M, "--cpus: CPU 7 does not exist");
	usage_fails(MOCKVAL("--topology", SYNTH2), M,
		    "--placement: dedicated: node 0 has 1 usable core for 2 busy tasks (1 missing)");
	usage_fails(MOCKVAL("--txs", "0"), M, "--txs: 0 is outside");
	usage_fails(MOCKVAL("--vote-share", "150%"), M, "--vote-share: '150%' is not a share");
	usage_fails(MOCKVAL("--mem-node", "900", "--placement", "packed"), M,
		    "--mem-node: node 900 does not exist");
	usage_fails(MOCKVAL("--idle", "sleepy"), M, "--idle: 'sleepy' is not one of");
	usage_fails(MOCKVAL("--bogus"), M, "--bogus: unknown option");

	/* topo: --cpus alone is honoured; CPUs that do not exist are named */
	char *t1[] = {(char *)topo, (char *)"--topology", (char *)"pack:1 numa:1 core:4 pu:1",
		      (char *)"--cpus", (char *)"1", NULL};
	tt_run(&r, t1, 30);
	T_EQ(r.status, 0);
	T_ASSERT(strstr(r.out, "# --cpus 1: busy threads on CPUs 1; housekeeping on CPU 0\n"), "%s",
		 r.out);
	tt_free(&r);
	char *t2[] = {(char *)topo, (char *)"--topology", (char *)"pack:1 numa:1 core:4 pu:1",
		      (char *)"--cpus", (char *)"1", (char *)"-f", (char *)"json", NULL};
	tt_run(&r, t2, 30);
	T_EQ(r.status, 0);
	T_ASSERT(strstr(r.out, "\"cpus_option\": {") && strstr(r.out, "\"busy\": [1]") &&
			 strstr(r.out, "\"housekeeping_cpu\": 0"),
		 "%s", r.out);
	tt_free(&r);
	char *t3[] = {(char *)topo, (char *)"--topology", (char *)"pack:1 numa:1 core:4 pu:1",
		      (char *)"--cpus", (char *)"0-3", NULL};
	tt_run(&r, t3, 30);
	T_EQ(r.status, 0);
	T_ASSERT(strstr(r.out, "housekeeping shares them (no allowed CPU outside the list)"), "%s",
		 r.out);
	tt_free(&r);
	usage_fails(((char *[]){(char *)topo, (char *)"--topology", (char *)"pack:1 numa:1 core:4 pu:1",
				(char *)"--cpus", (char *)"2,9-10", NULL}),
		    "xsched-topo", "--cpus: CPUs 9-10 do not exist");
	usage_fails(((char *[]){(char *)topo, (char *)"--workers", (char *)"x", NULL}), "xsched-topo",
		    "--workers: 'x' is not a number");
}

static void cpus_packed(void)
{
	cpu_set_t cs;
	struct tt_proc mv;
	struct tt_run rm, rs, r;

	CPU_ZERO(&cs);
	T_OK(sched_getaffinity(0, sizeof(cs), &cs));
	if (!CPU_ISSET(0, &cs) || !CPU_ISSET(1, &cs)) {
		printf("SKIP: CPUs 0 and 1 are not both allowed here\n");
		tt_rmtree(dir);
		exit(77);
	}
	/* the plan: one packed reactor on CPU 1, housekeeping outside the list */
	char *tp[] = {(char *)topo, (char *)"--workers", (char *)"2", (char *)"--cpus", (char *)"1",
		      (char *)"--placement", (char *)"packed", (char *)"--plan-only", NULL};
	tt_run(&r, tp, 30);
	T_ASSERT(r.status == 0, "xsched-topo: %s", r.err);
	T_ASSERT(strstr(r.out, "housekeeping CPU 0") != NULL, "%s", r.out);
	T_ASSERT(strstr(r.out, "xs-tpu+w0+w1") != NULL || strstr(r.out, "tpu,w0,w1") != NULL, "%s",
		 r.out);
	tt_free(&r);

	/* a whole session: each process gets one CPU, no --use-housekeeping */
	char *mv_argv[] = {(char *)mockval, (char *)"--socket", sock, (char *)"--cpus", (char *)"0",
			   (char *)"--placement", (char *)"packed", (char *)"--txs", (char *)"20000",
			   (char *)"--accept-timeout", (char *)"60000", (char *)"--timeout",
			   (char *)"90000", (char *)"--format", (char *)"json", NULL};
	tt_spawn(&mv, mv_argv);
	for (int i = 0; i < 15000 && !exists(sock); i++)
		usleep(2000);
	T_ASSERT(exists(sock), "mockval never listened on %s", sock);
	char *sc_argv[] = {(char *)sched, (char *)"--socket", sock, (char *)"--cpus", (char *)"1",
			   (char *)"--placement", (char *)"packed", (char *)"--workers", (char *)"2",
			   (char *)"--run-timeout", (char *)"90000", (char *)"--format",
			   (char *)"json", NULL};
	tt_run(&rs, sc_argv, LIMIT_S);
	tt_wait(&mv, &rm, LIMIT_S);
	T_ASSERT(rs.status == 0, "sched exit %d:\n%s\n%s", rs.status, rs.out, rs.err);
	T_ASSERT(rm.status == 0, "mockval exit %d:\n%s\n%s", rm.status, rm.out, rm.err);
	T_ASSERT(strstr(rs.out, "\"status\": \"ok\"") && strstr(rm.out, "\"status\": \"ok\""),
		 "%s\n%s", rs.out, rm.out);
	T_ASSERT(strstr(rs.out, "\"reactors\": 1"), "sched: one packed reactor\n%s", rs.out);
	tt_free(&rs);
	tt_free(&rm);
}

int main(int argc, char **argv)
{
	int rc = 0;

	T_ASSERT(argc == 5, "usage: test_tool_options MOCKVAL SCHED TOPO early|cpus_packed");
	mockval = argv[1];
	sched = argv[2];
	topo = argv[3];
	signal(SIGPIPE, SIG_IGN);
	dir = tt_mkdtemp("opts");
	snprintf(sock, sizeof(sock), "%s/validator.sock", dir);
	if (!strcmp(argv[4], "early"))
		early();
	else if (!strcmp(argv[4], "cpus_packed"))
		cpus_packed();
	else
		rc = 2;
	tt_rmtree(dir);
	free(dir);
	if (!rc)
		printf("ok\n");
	return rc;
}
