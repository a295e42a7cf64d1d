/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: xsched-mockval driven by a hand-written scheduler (this test,
 * through the public client API) to cover what xsched-sched never sends:
 *  - progress: leader windows (--leader-slots 1/2) with consistent
 *    next_leader_slot / leader_range_end, then the end-of-stream message
 *    (current_slot = UINT64_MAX, remaining_cost_units = transactions sent);
 *  - a CHECK batch with every check flag: status, balance and resolution
 *    performed, resolved keys (allocated by the worker, freed by us) for
 *    ids divisible by 4;
 *  - an EXECUTE batch past max_working_slot: MAX_WORKING_SLOT_EXCEEDED;
 *  - a batch with an undefined flag bit: INVALID (mockval counts a protocol
 *    error and exits 1 at the end);
 *  - EXECUTE | ALL_OR_NOTHING batches with a 30 % not-included share: a
 *    batch is all included, all BANK_NOT_AVAILABLE, or its failures keep
 *    their reason and every other transaction gets ALL_OR_NOTHING_BATCH_FAILURE;
 *  - payload sizes in a range, every byte as the formula says.
 * Then a scheduler process that dies mid-session: mockval reports it gone;
 * and xsched-topo --socket planning on a live session's memory node.
 *
 * Usage: test_mockval_proto PATH-TO-xsched-mockval PATH-TO-xsched-topo
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "payload.h"
#include "testutil.h"
#include "tooltest.h"
#include "xsched/alloc.h"
#include "xsched/handshake.h"
#include "xsched/msg.h"

#define NTX 256

static const char *mockval;
static char *dir;

struct client {
	struct xs_session *s;
	struct xs_alloc *a;
	struct xs_tx_region tx[NTX];
	uint64_t ntx;
	int seen_leader, seen_not_leader, eos;
	uint64_t eos_count;
};

static void wait_path(const char *path)
{
	struct stat st;
	uint64_t dl = t_now_ns() + 30ull * 1000000000ull;

	while (stat(path, &st) != 0) {
		T_ASSERT(t_now_ns() < dl, "mockval never listened on %s", path);
		usleep(2000);
	}
}

static struct xs_session *connect_to(const char *path)
{
	struct xs_hs_client_opts co;
	struct xs_logon logon;
	struct xs_session *s;

	memset(&logon, 0, sizeof(logon));
	logon.worker_count = 1;
	logon.allocator_size = 32ull << 20;
	logon.allocator_handles = 1;
	logon.tpu_to_pack_capacity = 1024;
	logon.progress_tracker_capacity = 1024;
	logon.pack_to_worker_capacity = 16;
	logon.worker_to_pack_capacity = 16;
	logon.units = XS_LOGON_ITEMS;
	memset(&co, 0, sizeof(co));
	co.path = path;
	co.timeout_ns = 5000000000ull;
	T_OK(xs_hs_connect(&co, &logon, &s));
	return s;
}

/* Drain progress (checking every message) and new transactions. */
static void pump(struct client *c)
{
	const struct xs_progress *p;
	const struct xs_tpu_to_pack *m;

	while ((p = xs_progress_poll(&c->s->progress)) != NULL) {
		if (p->current_slot == UINT64_MAX) {
			c->eos = 1;
			c->eos_count = p->remaining_cost_units;
			continue;
		}
		T_ASSERT(!c->eos, "progress after the end of stream");
		T_ASSERT(p->leader_state <= XS_LEADER_IS_LEADER);
		T_ASSERT(p->current_slot_progress <= 100);
		T_ASSERT(p->next_leader_slot > p->current_slot);
		T_ASSERT(p->leader_range_end >= p->next_leader_slot);
		/* 1 leader slot out of 2: the windows are one slot long */
		T_EQ(p->leader_range_end, p->next_leader_slot);
		T_EQ((p->current_slot - 1000) % 2 == 0, p->leader_state == XS_LEADER_IS_LEADER);
		if (p->leader_state == XS_LEADER_IS_LEADER)
			c->seen_leader = 1;
		else
			c->seen_not_leader = 1;
	}
	xs_spsc_finalize(&c->s->progress);
	while ((m = xs_tpu_to_pack_poll(&c->s->tpu_to_pack)) != NULL) {
		void *ptr;

		T_ASSERT(c->ntx < NTX);
		T_OK(xs_alloc_check(c->a, m->transaction.offset, m->transaction.length, &ptr));
		T_ASSERT(m->transaction.length >= 100 && m->transaction.length <= 300);
		T_EQ(xs_payload_id(ptr), c->ntx); /* sent in id order */
		T_EQ(xs_payload_check(ptr, m->transaction.length), -1);
		T_EQ(m->src_addr[10], 0xff);
		c->tx[c->ntx++] = m->transaction;
	}
	xs_spsc_finalize(&c->s->tpu_to_pack);
}

/* Send one batch of tx[first, first+n) and wait for its answer (copied out). */
static uint64_t request(struct client *c, uint16_t flags, uint64_t mws, unsigned first, unsigned n,
			struct xs_worker_to_pack *ans)
{
	struct xs_pack_to_worker req;
	const struct xs_worker_to_pack *w;
	struct xs_tx_region *arr;
	uint64_t boff, dl = t_now_ns() + 20ull * 1000000000ull;

	T_OK(xs_alloc_alloc_offset(c->a, n * sizeof(*arr), &boff));
	arr = xs_alloc_ptr(c->a, boff);
	memcpy(arr, &c->tx[first], n * sizeof(*arr));
	memset(&req, 0, sizeof(req));
	req.flags = flags;
	req.max_working_slot = mws;
	req.batch.num_transactions = (uint8_t)n;
	req.batch.transactions_offset = boff;
	T_OK(xs_pack_to_worker_try_push(&c->s->workers[0].pack_to_worker, &req));
	while (!(w = xs_worker_to_pack_poll(&c->s->workers[0].worker_to_pack))) {
		T_ASSERT(t_now_ns() < dl, "no answer from mockval's worker");
		pump(c);
	}
	*ans = *w;
	xs_spsc_finalize(&c->s->workers[0].worker_to_pack);
	T_EQ(ans->batch.transactions_offset, boff);
	T_EQ(ans->batch.num_transactions, n);
	return boff;
}

static uint64_t tx_id(struct client *c, unsigned k)
{
	void *p;

	T_OK(xs_alloc_check(c->a, c->tx[k].offset, c->tx[k].length, &p));
	return xs_payload_id(p);
}

static void session(void)
{
	char sock[600];
	struct tt_proc mv;
	struct tt_run r;
	struct client c;
	struct xs_worker_to_pack ans;
	uint64_t boff, dl, pubkeys = 0;
	unsigned nir = 0, aon = 0, bank = 0, inc = 0;

	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
	char *argv[] = {(char *)mockval, (char *)"--socket", sock, (char *)"--txs", (char *)"256",
			(char *)"--tx-size", (char *)"100-300", (char *)"--not-included", (char *)"30%",
			(char *)"--leader-slots", (char *)"1/2", (char *)"--slot-ms", (char *)"20",
			(char *)"--progress-ms", (char *)"2", (char *)"--rate", (char *)"2000",
			(char *)"--placement", (char *)"packed",
			(char *)"--accept-timeout", (char *)"30000", (char *)"--timeout",
			(char *)"60000", (char *)"--format", (char *)"json", NULL};
	tt_spawn(&mv, argv);
	wait_path(sock);
	memset(&c, 0, sizeof(c));
	c.s = connect_to(sock);
	c.a = c.s->allocs[0];
	dl = t_now_ns() + 30ull * 1000000000ull;
	while (c.ntx < NTX || !c.seen_leader || !c.seen_not_leader) {
		T_ASSERT(t_now_ns() < dl, "got %llu transactions", (unsigned long long)c.ntx);
		pump(&c);
	}

	/* CHECK with every flag on tx 0..7 */
	boff = request(&c, XS_PACK_CHECK | XS_CHECK_STATUS_CHECKS | XS_CHECK_LOAD_FEE_PAYER_BALANCE |
			       XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES, UINT64_MAX, 0, 8, &ans);
	T_EQ(ans.processed_code, XS_PROCESSED);
	T_EQ(ans.responses.tag, XS_RESP_CHECK);
	T_EQ(ans.responses.num_transaction_responses, 8);
	{
		void *p;
		struct xs_check_resp cr[8];

		T_OK(xs_alloc_check(c.a, ans.responses.transaction_responses_offset, sizeof(cr), &p));
		memcpy(cr, p, sizeof(cr));
		for (unsigned k = 0; k < 8; k++) {
			uint64_t id = tx_id(&c, k);

			T_EQ(cr[k].parsing_and_sanitization_flags, 0);
			T_EQ(cr[k].status_check_flags, XS_STATUS_REQUESTED | XS_STATUS_PERFORMED);
			T_EQ(cr[k].fee_payer_balance_flags, XS_BALANCE_REQUESTED | XS_BALANCE_PERFORMED);
			T_EQ(cr[k].resolve_flags, XS_RESOLVE_REQUESTED | XS_RESOLVE_PERFORMED);
			T_EQ(cr[k].min_alt_deactivation_slot, UINT64_MAX);
			T_EQ(cr[k].resolved_pubkeys.num_pubkeys, id % 4 == 0 ? 2 : 0);
			if (cr[k].resolved_pubkeys.num_pubkeys) {
				uint8_t *keys;

				T_OK(xs_alloc_check(c.a, cr[k].resolved_pubkeys.offset, 64,
						    (void **)&keys));
				for (unsigned b = 0; b < 64; b++)
					T_EQ(keys[b], (uint8_t)(id + b));
				T_OK(xs_alloc_free_offset(c.a, cr[k].resolved_pubkeys.offset));
				pubkeys++;
			}
		}
		T_OK(xs_alloc_free_offset(c.a, ans.responses.transaction_responses_offset));
	}
	T_OK(xs_alloc_free_offset(c.a, boff));

	/* EXECUTE past max_working_slot (slot 0 is long gone) */
	boff = request(&c, XS_PACK_EXECUTE, 0, 8, 8, &ans);
	T_EQ(ans.processed_code, XS_MAX_WORKING_SLOT_EXCEEDED);
	T_OK(xs_alloc_free_offset(c.a, boff));

	/* an undefined flag bit: INVALID */
	boff = request(&c, XS_PACK_EXECUTE | 0x80, UINT64_MAX, 8, 8, &ans);
	T_EQ(ans.processed_code, XS_PROCESSED_INVALID);
	T_OK(xs_alloc_free_offset(c.a, boff));

	/* everything, ALL_OR_NOTHING, in batches of 64 */
	for (unsigned first = 0; first < NTX; first += 64) {
		void *p;
		struct xs_exec_resp er[64];
		unsigned failed = 0, all_bank = 1;

		boff = request(&c, XS_PACK_EXECUTE | XS_EXEC_ALL_OR_NOTHING, UINT64_MAX, first, 64, &ans);
		T_EQ(ans.processed_code, XS_PROCESSED);
		T_EQ(ans.responses.tag, XS_RESP_EXECUTION);
		T_OK(xs_alloc_check(c.a, ans.responses.transaction_responses_offset, sizeof(er), &p));
		memcpy(er, p, sizeof(er));
		for (unsigned k = 0; k < 64; k++) {
			uint8_t why = er[k].not_included_reason;

			all_bank &= why == XS_NIR_BANK_NOT_AVAILABLE;
			failed += why != XS_NIR_NONE && why != XS_NIR_ALL_OR_NOTHING_BATCH_FAILURE;
		}
		for (unsigned k = 0; k < 64; k++) {
			uint8_t why = er[k].not_included_reason;

			if (all_bank)
				continue;
			if (!failed) {
				T_EQ(why, XS_NIR_NONE);
				T_ASSERT(er[k].cost_units > 0);
			} else {
				T_ASSERT(why != XS_NIR_NONE, "ALL_OR_NOTHING batch with a failure "
							     "included transaction %u", k);
			}
		}
		if (all_bank)
			bank++;
		else if (failed)
			nir++, aon++;
		else
			inc++;
		T_OK(xs_alloc_free_offset(c.a, ans.responses.transaction_responses_offset));
		for (unsigned k = 0; k < 64; k++)
			T_OK(xs_alloc_free_offset(c.a, c.tx[first + k].offset));
		T_OK(xs_alloc_free_offset(c.a, boff));
	}
	fprintf(stderr, "batches: %u all included, %u with failures, %u bank not available\n", inc,
		aon, bank);
	/* 30 % not included: a 64-transaction batch on a bank practically always fails */
	T_ASSERT(bank + aon == 4);
	(void)nir;

	dl = t_now_ns() + 30ull * 1000000000ull;
	while (!c.eos) {
		T_ASSERT(t_now_ns() < dl, "no end-of-stream message");
		pump(&c);
	}
	T_EQ(c.eos_count, NTX);
	xs_session_close(c.s);

	tt_wait(&mv, &r, 60);
	fprintf(stderr, "--- mockval (exit %d)\n%s%s", r.status, r.out, r.err);
	T_EQ(r.status, 1); /* the INVALID batch is a protocol error */
	T_ASSERT(!strcmp(tt_json_get(r.out, "status"), "mismatch or protocol error"));
	T_EQ(strtoull(tt_json_get(r.out, "received_back"), NULL, 10), NTX);
	T_EQ(strtoull(tt_json_get(r.out, "mismatches"), NULL, 10), 0);
	T_EQ(strtoull(tt_json_get(r.out, "invalid_batches"), NULL, 10), 1);
	T_EQ(strtoull(tt_json_get(r.out, "exceeded_batches"), NULL, 10), 1);
	T_EQ(strtoull(tt_json_get(r.out, "check_batches"), NULL, 10), 1);
	T_EQ(strtoull(tt_json_get(r.out, "resolved_pubkeys"), NULL, 10), pubkeys);
	T_EQ(strtoull(tt_json_get(r.out, "not_freed_tpu"), NULL, 10), 0);
	T_EQ(strtoull(tt_json_get(r.out, "not_freed_workers"), NULL, 10), 0);
	T_ASSERT(strstr(r.err, "INVALID request: flags 0x81") != NULL, "%s", r.err);
	tt_free(&r);
}

/* A scheduler that connects and dies: mockval says so and exits 1. */
static void scheduler_dies(void)
{
	char sock[600];
	struct tt_proc mv;
	struct tt_run r;
	pid_t pid;
	int st;

	snprintf(sock, sizeof(sock), "%s/d.sock", dir);
	char *argv[] = {(char *)mockval, (char *)"--socket", sock, (char *)"--txs", (char *)"5000",
			(char *)"--placement", (char *)"packed", (char *)"--accept-timeout",
			(char *)"30000", (char *)"--timeout", (char *)"60000", NULL};
	tt_spawn(&mv, argv);
	wait_path(sock);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		struct xs_session *s = connect_to(sock);

		(void)s;
		_exit(0); /* gone without a word, as a crash would */
	}
	T_ASSERT(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	tt_wait(&mv, &r, 60);
	T_EQ(r.status, 1);
	T_ASSERT(strstr(r.err, "scheduler gone") != NULL, "%s", r.err);
	tt_free(&r);
}

/* xsched-topo --socket: a short-lived session, its memory's node, a plan. */
static void topo_live(const char *topo)
{
	char sock[600];
	struct tt_proc mv;
	struct tt_run r, rm;

	snprintf(sock, sizeof(sock), "%s/t.sock", dir);
	char *argv[] = {(char *)mockval, (char *)"--socket", sock, (char *)"--txs", (char *)"100",
			(char *)"--placement", (char *)"packed", (char *)"--accept-timeout",
			(char *)"30000", (char *)"--timeout", (char *)"60000", NULL};
	char *targv[] = {(char *)topo, (char *)"--socket", sock, (char *)"--workers", (char *)"2",
			 (char *)"--placement", (char *)"packed", (char *)"--topology",
			 (char *)"system", NULL};
	tt_spawn(&mv, argv);
	wait_path(sock);
	tt_run(&r, targv, 60);
	T_EQ(r.status, 0);
	T_ASSERT(strstr(r.out, "# session memory at ") != NULL, "%s", r.out);
	T_ASSERT(strstr(r.out, "# plan: tpu + 2 workers, policy packed, memory node 0") != NULL,
		 "%s", r.out);
	tt_free(&r);
	tt_wait(&mv, &rm, 60); /* its scheduler came and went: that is an error for mockval */
	T_EQ(rm.status, 1);
	tt_free(&rm);
}

int main(int argc, char **argv)
{
	T_ASSERT(argc == 3, "usage: test_mockval_proto PATH-TO-xsched-mockval PATH-TO-xsched-topo");
	mockval = argv[1];
	dir = tt_mkdtemp("mvproto");
	session();
	scheduler_dies();
	topo_live(argv[2]);
	tt_rmtree(dir);
	free(dir);
	return 0;
}
