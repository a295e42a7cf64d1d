/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: xsched-mockval and xsched-sched end to end, in two processes
 * with packed placement (mockval on CPU 0, sched on CPU 1 where both are
 * allowed), in any generation of the handshake table. Every transaction is
 * delivered, checked by the mock validator's workers (and its check workers
 * where the generation has them: VERSION 5, sdk6, sdk7), answered, and
 * freed (mockval: nothing of its allocations left; sched: its allocator
 * statistics show nothing in use); both exit 0. Per generation: votes reach
 * pack as the generation says (never in VERSION 1, with REROUTE_VOTES in
 * VERSION 2, always later); with check workers the scheduler checks every
 * transaction first, drops exactly those mockval failed and executes none
 * of them; bindings 5.x / 6 cancel part of some batches.
 *
 * Usage: test_e2e MOCKVAL SCHED WORKERS GEN TXS [MODE[,MODE...]]
 *   GEN   1 .. 5, sdk6, sdk7 (--protocol), or agave:LINE (--agave LINE)
 *   MODE  reject   a scheduler of another generation first: refused, logged
 *         corrupt  the scheduler corrupts one transaction: mockval exits 1
 *         c<N>     N check workers (VERSION 5: mockval; SDK: sched's logon)
 *         auto     the scheduler runs with --protocol auto
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
#include "xsched/handshake.h"
#include "xsched/msg.h"

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

static int has_mode(const char *modes, const char *m)
{
	size_t n = strlen(m);

	for (const char *p = modes; (p = strstr(p, m)) != NULL; p += n)
		if ((p == modes || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return 1;
	return 0;
}

/* argv builder */
struct args {
	char *v[64];
	int n;
};

static void add(struct args *a, const char *s)
{
	T_ASSERT(a->n < 63);
	a->v[a->n++] = (char *)s;
	a->v[a->n] = NULL;
}

int main(int argc, char **argv)
{
	char *dir, sock[512], txs[32], cw[16] = "";
	const char *mockval, *sched, *W, *G, *modes, *line = NULL, *gen_opt = "--protocol";
	const struct xs_hs_proto *p;
	const struct xs_hs_agave *ag = NULL;
	struct args ma = {0}, sa = {0};
	struct tt_proc mv;
	struct tt_run rm, rs;
	cpu_set_t cs;
	uint64_t n, C = 0;
	int pin, is_auto, corrupt, check;

	T_ASSERT(argc >= 6, "usage: test_e2e MOCKVAL SCHED WORKERS GEN TXS [MODE[,MODE...]]");
	mockval = argv[1];
	sched = argv[2];
	W = argv[3];
	G = argv[4];
	n = strtoull(argv[5], NULL, 10);
	modes = argc > 6 ? argv[6] : "";
	is_auto = has_mode(modes, "auto");
	corrupt = has_mode(modes, "corrupt");
	for (const char *q = modes; *q; q++)
		if (*q == 'c' && (q == modes || q[-1] == ',') && q[1] >= '0' && q[1] <= '9')
			C = strtoull(q + 1, NULL, 10);
	if (!strncmp(G, "agave:", 6)) {
		line = G + 6;
		gen_opt = "--agave";
		T_OK(xs_hs_parse_agave(line, &ag));
		p = ag->proto;
	} else {
		T_OK(xs_hs_parse_protocol(G, &p));
		line = G;
	}
	check = p->nglobal == XS_HS_GLOBAL_SHMEM_CHECK;
	if (check && !C)
		C = 1;
	snprintf(cw, sizeof(cw), "%llu", (unsigned long long)C);
	snprintf(txs, sizeof(txs), "%llu", (unsigned long long)n);
	dir = tt_mkdtemp("e2e");
	snprintf(sock, sizeof(sock), "%s/validator.sock", dir);
	/* one CPU each where CPUs 0 and 1 are allowed (the 2-core layout) */
	CPU_ZERO(&cs);
	T_OK(sched_getaffinity(0, sizeof(cs), &cs));
	pin = CPU_ISSET(0, &cs) && CPU_ISSET(1, &cs);

	add(&ma, mockval);
	add(&ma, "--socket"), add(&ma, sock);
	add(&ma, gen_opt), add(&ma, line);
	add(&ma, "--txs"), add(&ma, txs);
	add(&ma, "--placement"), add(&ma, "packed");
	if (pin)
		add(&ma, "--cpus"), add(&ma, "0");
	add(&ma, "--vote-share"), add(&ma, "10%");
	add(&ma, "--staked-share"), add(&ma, "30%");
	add(&ma, "--not-included"), add(&ma, "5%");
	add(&ma, "--accept-timeout"), add(&ma, "60000");
	add(&ma, "--timeout"), add(&ma, "90000");
	add(&ma, "--format"), add(&ma, "json");
	if (check)
		add(&ma, "--check-fail"), add(&ma, "3%");
	if (xs_bindings_reason_known(xs_bindings_get(ag ? ag->bindings : p->bindings), 2) &&
	    p->gen != XS_HS_GEN_V1)
		add(&ma, "--partial-cancel"), add(&ma, "2%");
	if (p->gen == XS_HS_GEN_V5)
		add(&ma, "--check-workers"), add(&ma, cw);
	tt_spawn(&mv, ma.v);
	wait_socket(sock, &mv);

	if (has_mode(modes, "reject")) {
		/* another generation first: refused, reason on stderr, exit 1 */
		char *bad_argv[] = {(char *)sched, (char *)"--socket", sock, (char *)"--protocol",
				    (char *)(p->gen == XS_HS_GEN_V1 ? "2" : "1"),
				    (char *)"--placement", (char *)"packed", NULL};
		struct tt_run rb;

		tt_run(&rb, bad_argv, LIMIT_S);
		T_EQ(rb.status, 1);
		T_ASSERT(strstr(rb.err, "Version; server=") != NULL, "stderr: %s", rb.err);
		T_ASSERT(rb.out[0] == '\0');
		tt_free(&rb);
	}

	add(&sa, sched);
	add(&sa, "--socket"), add(&sa, sock);
	if (is_auto)
		add(&sa, "--protocol"), add(&sa, "auto");
	else
		add(&sa, gen_opt), add(&sa, line);
	add(&sa, "--workers"), add(&sa, W);
	add(&sa, "--placement"), add(&sa, "packed");
	if (pin)
		add(&sa, "--cpus"), add(&sa, "1");
	add(&sa, "--run-timeout"), add(&sa, "90000");
	add(&sa, "--timeout"), add(&sa, "5000");
	add(&sa, "--format"), add(&sa, "json");
	if (check && p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT)
		add(&sa, "--check-workers"), add(&sa, cw);
	if (corrupt)
		add(&sa, "--corrupt-tx"), add(&sa, "777");
	tt_run(&rs, sa.v, LIMIT_S);
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
	T_EQ(num(rs.out, "rejected"), 0);
	T_EQ(num(rs.out, "our_bytes_in_use"), 0);
	T_EQ(num(rs.out, "our_slots_in_use"), 0);
	T_EQ(num(rs.out, "workers"), strtoull(W, NULL, 10));
	T_EQ(num(rs.out, "protocol"), p->version);
	T_ASSERT(!strcmp(tt_json_get(rs.out, "generation"), p->name), "%s", rs.out);
	T_EQ(num(rs.out, "batches"), num(rs.out, "batches_answered"));
	T_EQ(num(rs.out, "invalid_batches"), 0);
	T_EQ(num(rs.out, "included") + num(rs.out, "not_included") + num(rs.out, "dropped") +
		     num(rs.out, "check_dropped"),
	     n);
	if (is_auto)
		T_ASSERT(strstr(rs.err, "protocol auto: connected with ") != NULL, "%s", rs.err);

	/* the validator's view: every transaction came back and was checked */
	T_EQ(num(rm.out, "protocol"), p->version);
	T_EQ(num(rm.out, "sent"), n);
	T_EQ(num(rm.out, "received_back"), n);
	T_EQ(num(rm.out, "invalid_batches"), 0);
	T_EQ(num(rm.out, "bad_regions"), 0);
	T_EQ(num(rm.out, "executed_twice"), 0);
	T_EQ(num(rm.out, "not_freed_tpu"), 0);
	T_EQ(num(rm.out, "not_freed_workers"), 0);
	T_ASSERT(!strcmp(tt_json_get(rm.out, "end_of_stream_sent"), "true"));
	/* the not-included share is honoured (5 %, loosely: a short run can
	 * spend much of itself in LEADER_STARTING, whose answers are retried) */
	T_ASSERT(num(rm.out, "not_included") > 0);
	T_ASSERT(num(rs.out, "not_included") > 0 && num(rs.out, "not_included") < n / 5);
	/* votes: never in VERSION 1, with REROUTE_VOTES (sched asks) in 2, always later */
	if (p->gen == XS_HS_GEN_V1)
		T_EQ(num(rm.out, "votes_sent"), 0);
	else
		T_ASSERT(num(rm.out, "votes_sent") > n / 20 && num(rm.out, "votes_sent") < n / 5);

	/* check workers: every transaction checked once, failures dropped */
	if (check) {
		T_EQ(num(rm.out, "check_workers"), C);
		T_ASSERT(!strcmp(tt_json_get(rs.out, "check_stage"), "true"));
		T_EQ(num(rs.out, "checked"), n);
		T_EQ(num(rm.out, "checked"), n);
		T_EQ(num(rs.out, "check_batches"), num(rs.out, "check_batches_answered"));
		T_EQ(num(rs.out, "check_passed") + num(rs.out, "check_dropped"), n);
		/* the 3 % mockval failed are exactly what sched dropped */
		T_EQ(num(rs.out, "check_dropped"), num(rm.out, "check_failed"));
		T_ASSERT(num(rs.out, "check_dropped") > n / 100 && num(rs.out, "check_dropped") < n / 20);
		T_EQ(num(rm.out, "failed_check_executed"), 0);
		/* resolved keys handed out, every one freed by sched */
		T_ASSERT(num(rm.out, "resolved_pubkeys") > 0);
		T_EQ(num(rs.out, "freed_pubkey_arrays"), num(rm.out, "resolved_pubkeys"));
		if (p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT)
			T_EQ(num(rs.out, "check_workers"), C);
	} else {
		T_EQ(num(rm.out, "check_workers"), 0);
		T_EQ(num(rs.out, "checked"), 0);
	}
	if (corrupt) {
		T_EQ(rm.status, 1);
		T_EQ(num(rm.out, "mismatches"), 1); /* with checks: parse failure, dropped */
		T_ASSERT(strstr(rm.err, "MISMATCH in transaction 776") != NULL, "%s", rm.err);
	} else {
		T_EQ(rm.status, 0);
		T_EQ(num(rm.out, "mismatches"), 0);
		T_ASSERT(!strcmp(tt_json_get(rm.out, "status"), "ok"));
	}
	if (has_mode(modes, "reject"))
		T_ASSERT(strstr(rm.err, "rejected handshake") != NULL, "%s", rm.err);
	tt_free(&rm);
	tt_free(&rs);
	tt_rmtree(dir);
	free(dir);
	return 0;
}
