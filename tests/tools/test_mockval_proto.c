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
 * VERSION 1 as agave 3.1.x answers: RESOLVE with Resolved (keys, failures
 * from --check-fail), VERSION 2's EXECUTE flag word NOT_PROCESSED without
 * responses, SLOT_MISMATCH per transaction past max_execution_slot, every
 * response array freed. sdk7: the 96-byte progress message in its three
 * leader states, the check worker on the MPMC queues (every check, the
 * examples' failure rule, a 43-transaction batch refused), execution_slot.
 * Then a scheduler process that dies mid-session: mockval reports it gone;
 * and xsched-topo --socket planning on a live session's memory node.
 *
 * Usage: test_mockval_proto PATH-TO-xsched-mockval PATH-TO-xsched-topo
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "payload.h"
#include "testutil.h"
#include "tool_gen.h"
#include "tooltest.h"
#include "xsched/alloc.h"
#include "xsched/guard.h"
#include "xsched/handshake.h"
#include "xsched/mpmc.h"
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

static struct xs_session *connect_version(const char *path, uint32_t version)
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
	if (version >= 5) { /* VERSION 5, SDK: the check queues (SDK: one check worker) */
		logon.pack_to_check_worker_capacity = 16;
		logon.check_worker_to_pack_capacity = 16;
		if (version >= 6)
			logon.check_worker_count = 1;
	}
	memset(&co, 0, sizeof(co));
	co.path = path;
	co.version = version;
	co.timeout_ns = 5000000000ull;
	T_OK(xs_hs_connect(&co, &logon, &s));
	return s;
}

static struct xs_session *connect_to(const char *path)
{
	return connect_version(path, 2);
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

/* Free @p off with the client's handle 0. */
static void give_back(struct client *c, uint64_t off)
{
	T_OK(xs_alloc_free_offset(c->a, off));
}

/*
 * VERSION 1 as agave 3.1.x answers (MESSAGES.md s7.5): RESOLVE gets a
 * Resolved array (keys of "v0 transactions with lookups", failures from
 * --check-fail), the flags word of VERSION 2's EXECUTE (1) gets
 * NOT_PROCESSED without responses, NONE past max_execution_slot gets a
 * response array of SLOT_MISMATCH (or BANK_NOT_AVAILABLE off the leader
 * slots), NONE executes; every response array freed, nothing left.
 */
static void session_v1(void)
{
	char sock[600];
	struct tt_proc mv;
	struct tt_run r;
	struct client c;
	struct xs_worker_to_pack ans;
	struct xs_v1_worker_to_pack a1;
	uint64_t boff, dl, pubkeys = 0, failures = 0;
	unsigned mismatch = 0, tries = 0;

	snprintf(sock, sizeof(sock), "%s/v1.sock", dir);
	char *argv[] = {(char *)mockval, (char *)"--socket", sock, (char *)"--protocol", (char *)"1",
			(char *)"--txs", (char *)"256", (char *)"--tx-size", (char *)"100-300",
			(char *)"--check-fail", (char *)"25%", (char *)"--leader-slots", (char *)"1/2",
			(char *)"--slot-ms", (char *)"20", (char *)"--progress-ms", (char *)"2",
			(char *)"--rate", (char *)"2000", (char *)"--placement", (char *)"packed",
			(char *)"--accept-timeout", (char *)"30000", (char *)"--timeout",
			(char *)"60000", (char *)"--format", (char *)"json", NULL};
	tt_spawn(&mv, argv);
	wait_path(sock);
	memset(&c, 0, sizeof(c));
	c.s = connect_version(sock, 1);
	T_EQ(c.s->version, 1);
	c.a = c.s->allocs[0];
	dl = t_now_ns() + 30ull * 1000000000ull;
	while (c.ntx < NTX || !c.seen_leader || !c.seen_not_leader) {
		T_ASSERT(t_now_ns() < dl, "got %llu transactions", (unsigned long long)c.ntx);
		pump(&c);
	}

	/* RESOLVE (2) on tx 0..7: Resolved[8], tag 1, processed 1 */
	boff = request(&c, XS_V1_PACK_RESOLVE, 0, 0, 8, &ans);
	memcpy(&a1, &ans, sizeof(a1));
	T_EQ(a1.processed, XS_V1_PROCESSED);
	T_EQ(a1.responses.tag, XS_V1_RESP_RESOLVED);
	T_EQ(a1.responses.num_transaction_responses, 8);
	{
		struct xs_v1_resolved rv[8];
		void *p;

		T_OK(xs_alloc_check(c.a, a1.responses.transaction_responses_offset, sizeof(rv), &p));
		memcpy(rv, p, sizeof(rv));
		for (unsigned k = 0; k < 8; k++) {
			uint64_t id = tx_id(&c, k);
			int fail = xs_draw(id, 6, 0.25);

			T_EQ(rv[k].success, fail ? XS_V1_RESOLVE_FAILURE : XS_V1_RESOLVE_SUCCESS);
			T_ASSERT(rv[k].slot >= 1000);
			T_EQ(rv[k].min_alt_deactivation_slot, UINT64_MAX);
			T_EQ(rv[k].resolved_pubkeys.num_pubkeys, !fail && id % 4 == 0 ? 2u : 0u);
			failures += fail;
			if (rv[k].resolved_pubkeys.num_pubkeys) {
				give_back(&c, rv[k].resolved_pubkeys.offset);
				pubkeys++;
			}
		}
		give_back(&c, a1.responses.transaction_responses_offset);
	}
	give_back(&c, boff);

	/* VERSION 2's EXECUTE (1) is no 3.1.x flag word: NOT_PROCESSED, nothing allocated */
	boff = request(&c, 1, UINT64_MAX, 8, 8, &ans);
	memcpy(&a1, &ans, sizeof(a1));
	T_EQ(a1.processed, XS_V1_NOT_PROCESSED);
	T_EQ(a1.responses.tag, 0);
	T_EQ(a1.responses.num_transaction_responses, 0);
	T_EQ(a1.responses.transaction_responses_offset, 0);
	give_back(&c, boff);

	/* NONE past max_execution_slot: PROCESSED, every response SLOT_MISMATCH
	 * on a leader slot (BANK_NOT_AVAILABLE off them: try again) */
	while (!mismatch) {
		struct xs_exec_resp er[8];
		void *p;

		T_ASSERT(++tries < 1000, "never answered SLOT_MISMATCH");
		boff = request(&c, XS_V1_PACK_NONE, 1, 16, 8, &ans);
		memcpy(&a1, &ans, sizeof(a1));
		T_EQ(a1.processed, XS_V1_PROCESSED);
		T_EQ(a1.responses.tag, XS_V1_RESP_EXECUTION);
		T_EQ(a1.responses.num_transaction_responses, 8);
		T_OK(xs_alloc_check(c.a, a1.responses.transaction_responses_offset, sizeof(er), &p));
		memcpy(er, p, sizeof(er));
		for (unsigned k = 0; k < 8; k++) {
			T_ASSERT(er[k].not_included_reason == XS_NIR_SLOT_MISMATCH_V1 ||
				 er[k].not_included_reason == XS_NIR_BANK_NOT_AVAILABLE);
			T_EQ(er[k].not_included_reason, er[0].not_included_reason);
			T_EQ(er[k].cost_units, 0);
		}
		mismatch = er[0].not_included_reason == XS_NIR_SLOT_MISMATCH_V1;
		give_back(&c, a1.responses.transaction_responses_offset);
		give_back(&c, boff);
	}

	/* NONE, no slot limit: executes (or BANK_NOT_AVAILABLE); then free all */
	for (unsigned first = 0; first < NTX; first += 64) {
		boff = request(&c, XS_V1_PACK_NONE, UINT64_MAX, first, 64, &ans);
		memcpy(&a1, &ans, sizeof(a1));
		T_EQ(a1.processed, XS_V1_PROCESSED);
		T_EQ(a1.responses.tag, XS_V1_RESP_EXECUTION);
		give_back(&c, a1.responses.transaction_responses_offset);
		for (unsigned k = 0; k < 64; k++)
			give_back(&c, c.tx[first + k].offset);
		give_back(&c, boff);
	}
	dl = t_now_ns() + 30ull * 1000000000ull;
	while (!c.eos) {
		T_ASSERT(t_now_ns() < dl, "no end-of-stream message");
		pump(&c);
	}
	T_EQ(c.eos_count, NTX);
	xs_session_close(c.s);

	tt_wait(&mv, &r, 60);
	fprintf(stderr, "--- mockval protocol 1 (exit %d)\n%s%s", r.status, r.out, r.err);
	T_EQ(r.status, 1); /* the NOT_PROCESSED batch is a protocol error */
	T_ASSERT(!strcmp(tt_json_get(r.out, "status"), "mismatch or protocol error"));
	T_EQ(strtoull(tt_json_get(r.out, "protocol"), NULL, 10), 1);
	T_EQ(strtoull(tt_json_get(r.out, "received_back"), NULL, 10), NTX);
	T_EQ(strtoull(tt_json_get(r.out, "mismatches"), NULL, 10), 0);
	T_EQ(strtoull(tt_json_get(r.out, "invalid_batches"), NULL, 10), 1);
	T_EQ(strtoull(tt_json_get(r.out, "resolve_batches"), NULL, 10), 1);
	T_EQ(strtoull(tt_json_get(r.out, "check_failed"), NULL, 10), failures);
	T_EQ(strtoull(tt_json_get(r.out, "resolved_pubkeys"), NULL, 10), pubkeys);
	T_EQ(strtoull(tt_json_get(r.out, "exceeded_batches"), NULL, 10), 0);
	/* every response array and key array came back: nothing left */
	T_EQ(strtoull(tt_json_get(r.out, "not_freed_tpu"), NULL, 10), 0);
	T_EQ(strtoull(tt_json_get(r.out, "not_freed_workers"), NULL, 10), 0);
	T_ASSERT(strstr(r.err, "INVALID request: flags 0x1,") != NULL, "%s", r.err);
	tt_free(&r);
}

/* One answer from the check queue (a private copy), waiting for it. */
static void check_answer(struct client *c, struct xs_v6_check_to_pack *ans)
{
	uint64_t dl = t_now_ns() + 20ull * 1000000000ull;
	int rc;

	while ((rc = xs_mpmc_try_pop(&c->s->check_to_pack, ans)) == -EAGAIN) {
		T_ASSERT(t_now_ns() < dl, "no answer from mockval's check worker");
		usleep(100);
	}
	T_OK(rc);
}

/* A check request of tx[first, first+n) on the MPMC queue. @return the batch array. */
static uint64_t check_request(struct client *c, uint16_t flags, unsigned first, unsigned n)
{
	struct xs_v6_pack_to_check req;
	uint64_t boff;

	T_OK(xs_alloc_alloc_offset(c->a, n * sizeof(struct xs_tx_region), &boff));
	memcpy(xs_alloc_ptr(c->a, boff), &c->tx[first], n * sizeof(struct xs_tx_region));
	memset(&req, 0, sizeof(req));
	req.flags = flags;
	req.batch.num_transactions = (uint8_t)n;
	req.batch.transactions_offset = boff;
	T_OK(xs_mpmc_try_push(&c->s->pack_to_check, &req));
	return boff;
}

/*
 * sdk7: the 96-byte progress message (NOT_LEADER, LEADER_STARTING,
 * LEADER_READY with epoch, blockhash, account-data budget and target bank
 * time, zero otherwise), the check worker (every flag performed, a
 * --check-fail share failing per the examples' rule, 43 responses refused
 * as one allocation cannot hold them), execution_slot in the 32-byte
 * execution responses.
 */
static void session_sdk(void)
{
	char sock[600];
	struct tt_proc mv;
	struct tt_run r;
	struct client c;
	struct xs_v6_check_to_pack ca;
	const struct xs_bindings *b = xs_bindings_get(XS_BIND_6);
	uint64_t boff, dl, pubkeys = 0;
	int seen[3] = {0, 0, 0}, eos = 0;
	unsigned ntx = 64, failed = 0;

	snprintf(sock, sizeof(sock), "%s/s7.sock", dir);
	char *argv[] = {(char *)mockval, (char *)"--socket", sock, (char *)"--protocol",
			(char *)"sdk7", (char *)"--txs", (char *)"64", (char *)"--check-fail",
			(char *)"25%", (char *)"--leader-slots", (char *)"1/2", (char *)"--slot-ms",
			(char *)"20", (char *)"--starting-ms", (char *)"5", (char *)"--progress-ms",
			(char *)"1", (char *)"--rate", (char *)"250", (char *)"--placement",
			(char *)"packed", (char *)"--accept-timeout", (char *)"30000",
			(char *)"--timeout", (char *)"60000", (char *)"--format", (char *)"json", NULL};
	tt_spawn(&mv, argv);
	wait_path(sock);
	memset(&c, 0, sizeof(c));
	c.s = connect_version(sock, 7);
	T_ASSERT(c.s->has_check_queues);
	T_EQ(c.s->num_check_workers, 1);
	c.a = c.s->allocs[0];
	dl = t_now_ns() + 30ull * 1000000000ull;
	while (!eos || c.ntx < ntx) {
		const struct xs_v6_progress *pp;
		const struct xs_tpu_to_pack *m;

		T_ASSERT(t_now_ns() < dl, "progress: %d %d %d eos %d", seen[0], seen[1], seen[2], eos);
		while ((pp = xs_v6_progress_poll(&c.s->progress)) != NULL) {
			struct xs_v6_progress p = *pp;
			uint8_t zero[32] = {0};

			T_OK(xs_msg_check_progress_b(XS_BIND_6, &p));
			if (p.current_slot == UINT64_MAX) {
				T_EQ(p.remaining_cost_units, ntx);
				eos = 1;
				continue;
			}
			T_ASSERT(!eos, "progress after the end of stream");
			seen[p.leader_state]++;
			if (p.leader_state == XS_LEADER_READY) {
				T_EQ(p.epoch, p.current_slot / 432000);
				T_EQ(p.target_bank_time_ms, 20);
				T_ASSERT(memcmp(p.latest_blockhash, zero, 32) != 0);
				T_ASSERT(p.remaining_allocated_accounts_data_size <= 100000000ull &&
					 p.remaining_allocated_accounts_data_size > 0);
			} else {
				T_EQ(p.epoch, 0);
				T_EQ(p.target_bank_time_ms, 0);
				T_EQ(p.remaining_allocated_accounts_data_size, 0);
				T_ASSERT(memcmp(p.latest_blockhash, zero, 32) == 0);
			}
		}
		xs_spsc_finalize(&c.s->progress);
		while ((m = xs_tpu_to_pack_poll(&c.s->tpu_to_pack)) != NULL) {
			T_ASSERT(c.ntx < ntx);
			c.tx[c.ntx++] = m->transaction;
		}
		xs_spsc_finalize(&c.s->tpu_to_pack);
	}
	T_ASSERT(seen[0] && seen[1] && seen[2], "leader states seen: %d %d %d", seen[0], seen[1],
		 seen[2]);

	/* 43 check responses (4128 bytes) do not fit one allocation: INVALID */
	boff = check_request(&c, xs_tool_check_all(b), 0, 43);
	check_answer(&c, &ca);
	T_EQ(ca.batch.transactions_offset, boff);
	T_EQ(ca.processed_code, XS_PROCESSED_INVALID);
	give_back(&c, boff);

	/* every check on tx 0..15 */
	boff = check_request(&c, xs_tool_check_all(b), 0, 16);
	check_answer(&c, &ca);
	T_EQ(ca.processed_code, XS_PROCESSED);
	T_EQ(ca.responses.num_transaction_responses, 16);
	{
		struct xs_v6_check_resp cr[16];
		void *p;

		T_OK(xs_alloc_check(c.a, ca.responses.transaction_responses_offset, sizeof(cr), &p));
		memcpy(cr, p, sizeof(cr));
		for (unsigned k = 0; k < 16; k++) {
			uint64_t id = tx_id(&c, k);
			int fail = xs_draw(id, 6, 0.25);

			T_EQ(xs_tool_check_passed(b, &cr[k]), !fail);
			failed += fail;
			T_EQ(cr[k].parsing_and_sanitization_flags, 0);
			if (!fail) {
				T_EQ(cr[k].status_check_flags, XS_STATUS_REQUESTED | XS_STATUS_PERFORMED);
				T_EQ(cr[k].fee_payer_balance_flags,
				     XS_BALANCE_REQUESTED | XS_BALANCE_PERFORMED);
				T_EQ(cr[k].resolve_flags, XS_RESOLVE_REQUESTED | XS_RESOLVE_PERFORMED);
				T_EQ(cr[k].scheduling_details_flags,
				     XS_SCHED_REQUESTED | XS_SCHED_PERFORMED);
				T_EQ(cr[k].estimated_cost_units, 300 + id % 1100);
				T_EQ(cr[k].transaction_fee, 5000);
				T_EQ(cr[k].resolved_pubkeys.num_pubkeys, id % 4 == 0 ? 2u : 0u);
			}
			if (cr[k].resolved_pubkeys.num_pubkeys) {
				give_back(&c, cr[k].resolved_pubkeys.offset);
				pubkeys++;
			}
		}
		give_back(&c, ca.responses.transaction_responses_offset);
	}
	give_back(&c, boff);

	/* everything through worker 0 with DROP_ON_FAILURE: 32-byte responses */
	{
		struct xs_worker_to_pack ans;
		struct xs_v6_exec_to_pack ea;
		struct xs_v3_exec_resp er[64];
		void *p;

		boff = request(&c, XS_V6_EXEC_DROP_ON_FAILURE, UINT64_MAX, 0, 64, &ans);
		memcpy(&ea, &ans, sizeof(ea));
		T_EQ(ea.processed_code, XS_PROCESSED);
		T_EQ(ea.responses.num_transaction_responses, 64);
		T_OK(xs_alloc_check(c.a, ea.responses.transaction_responses_offset, sizeof(er), &p));
		memcpy(er, p, sizeof(er));
		for (unsigned k = 0; k < 64; k++) {
			if (er[k].not_included_reason == XS_NIR_BANK_NOT_AVAILABLE)
				T_EQ(er[k].execution_slot, 0);
			else
				T_ASSERT(er[k].execution_slot >= 1000);
			if (er[k].not_included_reason == XS_NIR_NONE)
				T_ASSERT(er[k].cost_units > 0);
		}
		give_back(&c, ea.responses.transaction_responses_offset);
		for (unsigned k = 0; k < 64; k++)
			give_back(&c, c.tx[k].offset);
		give_back(&c, boff);
	}
	xs_session_close(c.s);

	tt_wait(&mv, &r, 60);
	fprintf(stderr, "--- mockval protocol sdk7 (exit %d)\n%s%s", r.status, r.out, r.err);
	T_EQ(r.status, 1); /* the 43-transaction check batch was refused */
	T_ASSERT(!strcmp(tt_json_get(r.out, "status"), "mismatch or protocol error"));
	T_ASSERT(!strcmp(tt_json_get(r.out, "generation"), "sdk7"));
	T_EQ(strtoull(tt_json_get(r.out, "received_back"), NULL, 10), 64);
	T_EQ(strtoull(tt_json_get(r.out, "invalid_batches"), NULL, 10), 1);
	T_EQ(strtoull(tt_json_get(r.out, "check_batches"), NULL, 10), 1);
	T_EQ(strtoull(tt_json_get(r.out, "check_failed"), NULL, 10), failed);
	T_EQ(strtoull(tt_json_get(r.out, "resolved_pubkeys"), NULL, 10), pubkeys);
	T_EQ(strtoull(tt_json_get(r.out, "not_freed_tpu"), NULL, 10), 0);
	T_EQ(strtoull(tt_json_get(r.out, "not_freed_workers"), NULL, 10), 0);
	T_ASSERT(strstr(r.err, "exceed one 4096-byte allocation") != NULL, "%s", r.err);
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
	session_v1();
	session_sdk();
	scheduler_dies();
	topo_live(argv[2]);
	tt_rmtree(dir);
	free(dir);
	return 0;
}
