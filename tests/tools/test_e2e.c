/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: xsched-mockval and xsched-sched end to end, in two processes
 * with packed placement. Every transaction is delivered, checked by the mock
 * validator's workers, answered, and freed (mockval: nothing of its
 * allocations left; sched: its allocator statistics show nothing in use);
 * both exit 0. Variants: workers W, protocol VERSION, a rejected handshake
 * first (mockval logs it and keeps listening; the rejected scheduler exits 1
 * with the reason), and a scheduler that corrupts one transaction on purpose
 * (mockval reports the mismatch and exits 1).
 *
 * Usage: test_e2e MOCKVAL SCHED WORKERS PROTOCOL TXS [corrupt|reject]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "tooltest.h"

#define LIMIT_S 100 /* each process; CTest's own timeout is above it */

static uint64_t num(const char *json, const char *key)
{
	const char *v = tt_json_get(json, key);

	if (!v)
		t_fail(__FILE__, __LINE__, "key %s missing from:\n%s", key, json);
	return strtoull(v, NULL, 10);
}

static void wait_socket(const char *path, struct tt_proc *mv)
{
	uint64_t deadline = t_now_ns() + 30ull * 1000000000ull;
	struct stat st;

	while (stat(path, &st) != 0) {
		if (t_now_ns() > deadline) {
			struct tt_run r;

			kill(mv->pid, SIGTERM);
			tt_wait(mv, &r, 10);
			t_fail(__FILE__, __LINE__, "mockval never listened on %s; stderr:\n%s", path,
			       r.err);
		}
		usleep(2000);
	}
}

int main(int argc, char **argv)
{
	char *dir, sock[512], txs[32];
	const char *mockval, *sched, *W, *P, *mode;
	struct tt_proc mv;
	struct tt_run rm, rs;
	uint64_t n;

	T_ASSERT(argc >= 6, "usage: test_e2e MOCKVAL SCHED WORKERS PROTOCOL TXS [corrupt|reject]");
	mockval = argv[1];
	sched = argv[2];
	W = argv[3];
	P = argv[4];
	n = strtoull(argv[5], NULL, 10);
	mode = argc > 6 ? argv[6] : "";
	snprintf(txs, sizeof(txs), "%llu", (unsigned long long)n);
	dir = tt_mkdtemp("e2e");
	snprintf(sock, sizeof(sock), "%s/validator.sock", dir);

	char *mv_argv[] = {(char *)mockval, (char *)"--socket", sock, (char *)"--protocol", (char *)P,
			   (char *)"--txs", txs, (char *)"--placement", (char *)"packed",
			   (char *)"--vote-share", (char *)"10%", (char *)"--staked-share",
			   (char *)"30%", (char *)"--not-included", (char *)"5%",
			   (char *)"--accept-timeout", (char *)"60000", (char *)"--timeout",
			   (char *)"90000", (char *)"--format", (char *)"json", NULL};
	tt_spawn(&mv, mv_argv);
	wait_socket(sock, &mv);

	if (!strcmp(mode, "reject")) {
		/* the other VERSION first: refused, reason on stderr, exit 1 */
		char *bad_argv[] = {(char *)sched, (char *)"--socket", sock, (char *)"--protocol",
				    (char *)(strcmp(P, "1") ? "1" : "2"), (char *)"--placement",
				    (char *)"packed", NULL};
		struct tt_run rb;

		tt_run(&rb, bad_argv, LIMIT_S);
		T_EQ(rb.status, 1);
		T_ASSERT(strstr(rb.err, "Version; server=") != NULL, "stderr: %s", rb.err);
		T_ASSERT(rb.out[0] == '\0');
		tt_free(&rb);
	}

	/* without "corrupt" the NULL ends the list before "777" */
	char *corrupt = !strcmp(mode, "corrupt") ? (char *)"--corrupt-tx" : NULL;
	char *sc_argv[] = {(char *)sched, (char *)"--socket", sock, (char *)"--protocol", (char *)P,
			   (char *)"--workers", (char *)W, (char *)"--placement", (char *)"packed",
			   (char *)"--run-timeout", (char *)"90000", (char *)"--format",
			   (char *)"json", corrupt, (char *)"777", NULL};
	tt_run(&rs, sc_argv, LIMIT_S);
	tt_wait(&mv, &rm, LIMIT_S);
	fprintf(stderr, "--- mockval (exit %d)\n%s%s--- sched (exit %d)\n%s%s", rm.status, rm.out,
		rm.err, rs.status, rs.out, rs.err);

	/* the scheduler's view: everything received, answered, freed */
	T_EQ(rs.status, 0);
	T_EQ(num(rs.out, "expected"), n);
	T_EQ(num(rs.out, "received"), n);
	T_EQ(num(rs.out, "answered"), n);
	T_EQ(num(rs.out, "freed_txs"), n);
	T_EQ(num(rs.out, "protocol_errors"), 0);
	T_EQ(num(rs.out, "our_bytes_in_use"), 0);
	T_EQ(num(rs.out, "our_slots_in_use"), 0);
	T_EQ(num(rs.out, "workers"), strtoull(W, NULL, 10));
	T_EQ(num(rs.out, "protocol"), strtoull(P, NULL, 10));
	T_EQ(num(rs.out, "batches"), num(rs.out, "batches_answered"));
	T_EQ(num(rs.out, "included") + num(rs.out, "not_included") + num(rs.out, "dropped"), n);

	/* the validator's view: every transaction came back and was checked */
	T_EQ(num(rm.out, "sent"), n);
	T_EQ(num(rm.out, "received_back"), n);
	T_EQ(num(rm.out, "invalid_batches"), 0);
	T_EQ(num(rm.out, "bad_regions"), 0);
	T_EQ(num(rm.out, "executed_twice"), 0);
	T_EQ(num(rm.out, "not_freed_tpu"), 0);
	T_EQ(num(rm.out, "not_freed_workers"), 0);
	T_ASSERT(!strcmp(tt_json_get(rm.out, "end_of_stream_sent"), "true"));
	/* the not-included share is honoured (5 % of 100 000, loosely) */
	T_ASSERT(num(rm.out, "not_included") > 0 && num(rm.out, "not_included") < n / 5);
	if (corrupt) {
		T_EQ(rm.status, 1);
		T_EQ(num(rm.out, "mismatches"), 1);
		T_ASSERT(strstr(rm.err, "MISMATCH in transaction 776") != NULL, "%s", rm.err);
	} else {
		T_EQ(rm.status, 0);
		T_EQ(num(rm.out, "mismatches"), 0);
		T_ASSERT(!strcmp(tt_json_get(rm.out, "status"), "ok"));
	}
	if (!strcmp(mode, "reject"))
		T_ASSERT(strstr(rm.err, "rejected handshake") != NULL, "%s", rm.err);
	tt_free(&rm);
	tt_free(&rs);
	tt_rmtree(dir);
	free(dir);
	return 0;
}
