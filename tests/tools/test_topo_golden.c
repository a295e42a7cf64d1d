/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: xsched-topo output on synthetic topologies against golden
 * files (tests/tools/golden/<case>.out, stdout byte for byte, plus the exit
 * status): machine views with SMT, several packages and nodes, isolated
 * CPUs; plans for each placement policy, a memory node given by OS number,
 * --cpus restrictions, JSON; the error of an impossible dedicated plan; and
 * the CLI contract (--help, --version, usage errors exit 2).
 *
 * Regenerate after an intended change:
 *   XS_UPDATE_GOLDEN=1 ./test_topo_golden PATH-TO-xsched-topo GOLDEN-DIR
 * and review the diff.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tooltest.h"

struct gcase {
	const char *name;
	int status;
	const char *args[16];
};

#define P2N2 "pack:2 numa:2 core:4 pu:2"
#define P1N1 "pack:1 numa:1 core:4 pu:1"
#define P2N4 "pack:2 numa:4 core:4 pu:2"

static const struct gcase cases[] = {
	{"machine_p2n2c4u2", 0, {"--topology", P2N2}},
	{"machine_p2n2c4u2_json", 0, {"--topology", P2N2, "--format", "json"}},
	{"machine_isolated", 0, {"--topology", P1N1, "--isolated", "2-3"}},
	{"plan_p2n2_dedicated", 0, {"--topology", P2N2, "--workers", "3"}},
	{"plan_p2n2_node3", 0, {"--topology", P2N2, "--workers", "2", "--node", "3", "--plan-only"}},
	{"plan_p2n2_smt", 0, {"--topology", P2N2, "--workers", "4", "--node", "0", "--allow-smt",
			      "--plan-only"}},
	{"plan_p1n1_packed", 0, {"--topology", P1N1, "--workers", "4", "--placement", "packed"}},
	{"plan_p1n1_cpus", 0, {"--topology", P1N1, "--workers", "1", "--cpus", "1-3",
			       "--use-housekeeping", "--plan-only"}},
	{"plan_p2n4_spill_json", 0, {"--topology", P2N4, "--workers", "6", "--node", "2",
				     "--placement", "spill", "--plan-only", "--format", "json"}},
	{"plan_p1n1_impossible", 1, {"--topology", P1N1, "--workers", "4", "--plan-only"}},
	{"plan_p1n1_impossible_json", 1, {"--topology", P1N1, "--workers", "4", "--format", "json",
					  "--plan-only"}},
};

static int check_case(const char *topo, const char *dir, const struct gcase *c, int update)
{
	char *argv[20], path[4096];
	struct tt_run r;
	size_t n = 0, glen;
	uint8_t *want;
	int ok = 1;

	argv[n++] = (char *)topo;
	for (size_t i = 0; c->args[i]; i++)
		argv[n++] = (char *)c->args[i];
	argv[n] = NULL;
	tt_run(&r, argv, 30);
	snprintf(path, sizeof(path), "%s/topo_%s.out", dir, c->name);
	if (r.status != c->status) {
		fprintf(stderr, "%s: exit %d, wanted %d; stderr: %s\n", c->name, r.status, c->status,
			r.err);
		ok = 0;
	}
	if (c->status != 0 && !strstr(r.err, "xsched-topo: plan tpu + 4 workers failed")) {
		fprintf(stderr, "%s: no plan error on stderr: %s\n", c->name, r.err);
		ok = 0;
	}
	if (update) {
		FILE *f = fopen(path, "w");

		T_ASSERT(f != NULL, "%s", path);
		fputs(r.out, f);
		fclose(f);
		fprintf(stderr, "wrote %s\n", path);
	} else {
		want = t_read_file(path, &glen);
		if (!want) {
			fprintf(stderr, "%s: golden file %s missing\n", c->name, path);
			ok = 0;
		} else if (glen != strlen(r.out) || memcmp(want, r.out, glen) != 0) {
			fprintf(stderr, "%s: output differs from %s\n--- got:\n%s--- want:\n%.*s\n",
				c->name, path, r.out, (int)glen, (const char *)want);
			ok = 0;
		}
		free(want);
	}
	tt_free(&r);
	return ok;
}

int main(int argc, char **argv)
{
	const char *update = getenv("XS_UPDATE_GOLDEN");
	struct tt_run r;
	int fails = 0;

	T_ASSERT(argc == 3, "usage: test_topo_golden PATH-TO-xsched-topo GOLDEN-DIR");
	/* the environment must not choose the topology behind the test's back */
	unsetenv("XS_TOPOLOGY");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		fails += !check_case(argv[1], argv[2], &cases[i], update && *update == '1');

	/* CLI contract */
	{
		char *a[] = {argv[1], (char *)"--help", NULL};

		tt_run(&r, a, 10);
		T_EQ(r.status, 0);
		T_ASSERT(strstr(r.out, "Usage: xsched-topo") != NULL && strstr(r.out, "--placement"));
		tt_free(&r);
	}
	{
		char *a[] = {argv[1], (char *)"--version", NULL};

		tt_run(&r, a, 10);
		T_EQ(r.status, 0);
		T_ASSERT(!strncmp(r.out, "xsched-topo ", 12));
		tt_free(&r);
	}
	{
		char *bad[][5] = {
			{argv[1], (char *)"--workers", (char *)"65", NULL},
			{argv[1], (char *)"--placement", (char *)"tight", NULL},
			{argv[1], (char *)"--plan-only", NULL},
			{argv[1], (char *)"--isolated", (char *)"x", NULL},
			{argv[1], (char *)"--socket", (char *)"/x", (char *)"--node=1", NULL},
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			tt_run(&r, bad[i], 10);
			T_EQ(r.status, 2);
			T_ASSERT(r.out[0] == '\0' && strstr(r.err, "xsched-topo"), "%s", r.err);
			tt_free(&r);
		}
	}
	{
		char *a[] = {argv[1], (char *)"--topology", (char *)"pack:x", NULL};

		tt_run(&r, a, 10);
		T_EQ(r.status, 1);
		T_ASSERT(strstr(r.err, "load the topology failed") != NULL, "%s", r.err);
		tt_free(&r);
	}
	/* the real machine works too (content not fixed) */
	{
		char *a[] = {argv[1], (char *)"--format", (char *)"json", NULL};

		tt_run(&r, a, 10);
		T_EQ(r.status, 0);
		T_ASSERT(strstr(r.out, "\"topology\": \"system\"") != NULL, "%s", r.out);
		tt_free(&r);
	}
	T_ASSERT(fails == 0, "%d golden case(s) differ", fails);
	return 0;
}
