/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Message validation: every rule of every validator, each violation with
 * its own error code and a message naming the field, on a real allocator
 * file (three workers: 0 Agave TPU, 1 Agave banking worker, 2 pack); then
 * the ledger steps of the ownership flow, all-or-nothing. Then the generic
 * validators with every bindings version's types and meanings: VERSION 1
 * (NONE/RESOLVE, processed 0/1, Resolved), 2 - 5 (32-byte execution
 * responses from 3, UNSUPPORTED_VERSION from 4, reason 102 in 4/5.x,
 * PARTIAL_BATCH_CANCELLED in 5.x), bindings 6 (split flag sets, untagged
 * answers, 96-byte CheckResponse).
 */
#include "testutil.h"
#include "xsched/alloc.h"
#include "xsched/guard.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FSIZE (256u * 1024)
#define SLAB  16384u

static struct xs_alloc *tpu, *wrk, *pack;
static uint64_t tx[8];

static uint64_t alloc_fill(struct xs_alloc *a, size_t len, int fill)
{
	uint64_t off;

	T_OK(xs_alloc_alloc_offset(a, len, &off));
	memset(xs_alloc_ptr(a, off), fill, len);
	return off;
}

static void *P(uint64_t off)
{
	return xs_alloc_ptr(pack, off);
}

static void expect_msg(const char *needle)
{
	T_ASSERT(strstr(xs_errmsg(), needle) != NULL, "errmsg '%s' lacks '%s'", xs_errmsg(), needle);
}

static void progress(void)
{
	struct xs_progress m = {.leader_state = XS_LEADER_IS_LEADER, .current_slot_progress = 100};

	T_OK(xs_msg_check_progress(&m, 1));
	T_OK(xs_msg_check_progress(&m, 2));
	m.leader_state = 2;
	T_ERR(xs_msg_check_progress(&m, 2), -XS_EMSG_LEADER_STATE);
	T_ERR(xs_msg_check_progress(&m, 1), -XS_EMSG_LEADER_STATE);
	T_OK(xs_msg_check_progress(&m, 3)); /* VERSION 3: LEADER_READY */
	m.leader_state = 3;
	T_ERR(xs_msg_check_progress(&m, 3), -XS_EMSG_LEADER_STATE);
	expect_msg("leader_state 3");
	m.leader_state = 0;
	m.current_slot_progress = 101;
	T_ERR(xs_msg_check_progress(&m, 2), -XS_EMSG_PROGRESS);
	m.current_slot_progress = 0;
	T_ERR(xs_msg_check_progress(&m, 0), -XS_EMSG_VERSION);
	T_ERR(xs_msg_check_progress(&m, 4), -XS_EMSG_VERSION);
}

static void tpu_to_pack(void)
{
	struct xs_tpu_to_pack m = {.transaction = {.offset = tx[0], .length = 300},
				   .flags = XS_TPU_FLAG_IS_SIMPLE_VOTE | XS_TPU_FLAG_FROM_STAKED_NODE};
	uint64_t slabs = xs_alloc_slabs_offset(pack);
	const uint8_t *p = NULL;

	T_OK(xs_msg_check_tpu(pack, &m, &p));
	T_ASSERT(p == (const uint8_t *)P(tx[0]) && p[299] == 0x10);
	T_OK(xs_msg_check_tpu(pack, &m, NULL));
	m.transaction.length = 512; /* the whole 512-byte slot */
	T_OK(xs_msg_check_tpu(pack, &m, NULL));
	m.transaction.length = 0;
	T_OK(xs_msg_check_tpu(pack, &m, NULL));

	m.transaction.length = 513; /* past the slot */
	T_ERR(xs_msg_check_tpu(pack, &m, &p), -XS_EA_LENGTH);
	expect_msg("tpu_to_pack transaction");
	m.transaction.length = 300;
	m.transaction.offset = tx[0] + 8; /* inside the slot */
	T_ERR(xs_msg_check_tpu(pack, &m, &p), -XS_EA_NOT_SLOT);
	m.transaction.offset = FSIZE + 4096; /* outside the file */
	T_ERR(xs_msg_check_tpu(pack, &m, &p), -XS_EA_OFFSET);
	m.transaction.offset = 128; /* the metadata, before the slabs */
	T_ERR(xs_msg_check_tpu(pack, &m, &p), -XS_EA_OFFSET);
	m.transaction.offset = UINT64_MAX - 100;
	T_ERR(xs_msg_check_tpu(pack, &m, &p), -XS_EA_OFFSET);
	m.transaction.offset = slabs + 10ull * SLAB; /* a slab nobody took */
	T_ERR(xs_msg_check_tpu(pack, &m, &p), -XS_EA_UNASSIGNED);
	m.transaction.offset = tx[1];
	m.flags = 0x08;
	T_ERR(xs_msg_check_tpu(pack, &m, &p), -XS_EMSG_FLAGS);
	T_ASSERT(p == (const uint8_t *)P(tx[0]), "a refused check leaves the output alone");
}

static uint64_t batch_of(struct xs_alloc *a, const uint64_t *txs, unsigned n, uint32_t len)
{
	uint64_t off = alloc_fill(a, n * sizeof(struct xs_tx_region), 0);
	struct xs_tx_region *r = P(off);

	for (unsigned i = 0; i < n; i++)
		r[i] = (struct xs_tx_region){.offset = txs[i], .length = len};
	return off;
}

static void pack_to_worker(void)
{
	struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH];
	uint64_t b = batch_of(pack, tx, 4, 300);
	struct xs_pack_to_worker m = {
		.flags = XS_PACK_EXECUTE | XS_EXEC_ALL_OR_NOTHING,
		.max_working_slot = 77,
		.batch = {.num_transactions = 4, .transactions_offset = b},
	};
	struct xs_tx_region *shared = P(b);

	T_EQ(xs_msg_check_pack_to_worker(wrk, &m, txs), 4);
	T_EQ(txs[3].offset, tx[3]);
	/* the copy is what was checked: a later rewrite by the peer is not seen */
	shared[1].offset = 12345;
	T_EQ(txs[1].offset, tx[1]);
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EA_OFFSET);
	expect_msg("pack_to_worker transaction[1]");
	shared[1].offset = tx[1] + 256; /* inside a 512-byte slot */
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EA_NOT_SLOT);
	shared[1].offset = tx[0]; /* the same transaction twice */
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EMSG_DUP);
	shared[1].offset = b; /* the batch array as a transaction */
	shared[1].length = 16;
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EMSG_DUP);
	shared[1] = (struct xs_tx_region){.offset = tx[1], .length = 300};
	shared[2].length = 4096;
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EA_LENGTH);
	expect_msg("transaction[2]");
	shared[2].length = 300;
	T_EQ(xs_msg_check_pack_to_worker(wrk, &m, txs), 4);

	/* flags */
	m.flags = XS_PACK_EXECUTE | XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES; /* a check-only bit */
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EMSG_FLAGS);
	m.flags = XS_PACK_CHECK | XS_CHECK_STATUS_CHECKS | XS_CHECK_LOAD_FEE_PAYER_BALANCE |
		  XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES;
	T_EQ(xs_msg_check_pack_to_worker(wrk, &m, txs), 4);
	m.flags = 0x0100;
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EMSG_FLAGS);
	m.flags = XS_PACK_EXECUTE;

	/* counts and the array itself */
	m.batch.num_transactions = 0;
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EMSG_BATCH_EMPTY);
	m.batch.num_transactions = 65;
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EMSG_BATCH_SIZE);
	expect_msg("65 transactions");
	m.batch.num_transactions = 255;
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EMSG_BATCH_SIZE);
	m.batch.num_transactions = 64; /* 1024 bytes from a 256-byte slot */
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EA_LENGTH);
	expect_msg("batch array");
	m.batch.num_transactions = 4;
	m.batch.transactions_offset = b + 16;
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EA_NOT_SLOT);
	m.batch.transactions_offset = FSIZE;
	T_ERR(xs_msg_check_pack_to_worker(wrk, &m, txs), -XS_EA_OFFSET);

	/* a full batch of 64 in a 1024-byte allocation */
	{
		uint64_t many[64], big;
		int i;

		for (i = 0; i < 64; i++)
			many[i] = alloc_fill(tpu, 200, i);
		big = batch_of(pack, many, 64, 200);
		m.batch.num_transactions = 64;
		m.batch.transactions_offset = big;
		T_EQ(xs_msg_check_pack_to_worker(wrk, &m, txs), 64);
		for (i = 0; i < 64; i++)
			T_OK(xs_alloc_free_offset(pack, many[i])); /* remote frees into the TPU's slab */
		T_OK(xs_alloc_free_offset(pack, big));
		T_EQ(xs_alloc_clean_remote(tpu), 64);
	}
	T_OK(xs_alloc_free_offset(pack, b));
}

struct w2p_setup {
	uint64_t batch, resp_exec, resp_check, keys[2];
	struct xs_pack_to_worker sent_exec, sent_check;
	struct xs_worker_to_pack exec, check;
};

static void setup_w2p(struct w2p_setup *s)
{
	struct xs_exec_resp *er;
	struct xs_check_resp *cr;
	int i;

	s->batch = batch_of(pack, tx, 4, 300);
	s->sent_exec = (struct xs_pack_to_worker){
		.flags = XS_PACK_EXECUTE, .batch = {.num_transactions = 4, .transactions_offset = s->batch}};
	s->sent_check = (struct xs_pack_to_worker){
		.flags = XS_PACK_CHECK, .batch = {.num_transactions = 4, .transactions_offset = s->batch}};
	s->resp_exec = alloc_fill(wrk, 4 * sizeof(*er), 0);
	s->resp_check = alloc_fill(wrk, 4 * sizeof(*cr), 0);
	s->keys[0] = alloc_fill(wrk, 3 * 32, 0x70);
	s->keys[1] = alloc_fill(wrk, 128 * 32, 0x71); /* 4096 bytes: the most one array holds */
	er = P(s->resp_exec);
	for (i = 0; i < 4; i++)
		er[i] = (struct xs_exec_resp){.not_included_reason = i ? XS_NIR_ALREADY_PROCESSED : 0,
					      .cost_units = 100};
	cr = P(s->resp_check);
	for (i = 0; i < 4; i++)
		cr[i] = (struct xs_check_resp){.status_check_flags = XS_STATUS_REQUESTED |
								     XS_STATUS_PERFORMED |
								     XS_STATUS_ALREADY_PROCESSED,
					       .resolve_flags = XS_RESOLVE_REQUESTED,
					       /* undefined without PERFORMED: ignored */
					       .resolved_pubkeys = {.offset = 3, .num_pubkeys = 9999}};
	cr[1].resolve_flags |= XS_RESOLVE_PERFORMED;
	cr[1].resolved_pubkeys = (struct xs_pubkeys){.offset = s->keys[0], .num_pubkeys = 3};
	cr[3].resolve_flags |= XS_RESOLVE_PERFORMED;
	cr[3].resolved_pubkeys = (struct xs_pubkeys){.offset = s->keys[1], .num_pubkeys = 128};
	cr[2].resolve_flags |= XS_RESOLVE_PERFORMED; /* performed, nothing resolved */
	cr[2].resolved_pubkeys = (struct xs_pubkeys){.offset = 77, .num_pubkeys = 0};
	s->exec = (struct xs_worker_to_pack){
		.batch = s->sent_exec.batch,
		.processed_code = XS_PROCESSED,
		.responses = {.tag = XS_RESP_EXECUTION, .num_transaction_responses = 4,
			      .transaction_responses_offset = s->resp_exec}};
	s->check = s->exec;
	s->check.responses.tag = XS_RESP_CHECK;
	s->check.responses.transaction_responses_offset = s->resp_check;
}

static void worker_to_pack(struct w2p_setup *s)
{
	static struct xs_w2p_view v;
	struct xs_worker_to_pack m;
	struct xs_exec_resp *er = P(s->resp_exec);
	struct xs_check_resp *cr = P(s->resp_check);

	T_OK(xs_msg_check_worker_to_pack(pack, &s->exec, &s->sent_exec, &v));
	T_EQ(v.num, 4);
	T_EQ(v.has_responses, 1);
	T_EQ(v.tag, XS_RESP_EXECUTION);
	T_EQ(v.resp.exec[1].not_included_reason, XS_NIR_ALREADY_PROCESSED);
	T_EQ(v.num_pubkeys_arrays, 0);
	T_OK(xs_msg_check_worker_to_pack(pack, &s->exec, NULL, &v));
	T_OK(xs_msg_check_worker_to_pack(pack, &s->check, &s->sent_check, &v));
	T_EQ(v.num_pubkeys_arrays, 2);
	T_EQ(v.resp.check[3].resolved_pubkeys.num_pubkeys, 128);

	/* processed codes */
	m = s->exec;
	m.processed_code = 3;
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, NULL, &v), -XS_EMSG_PROCESSED);
	m.processed_code = XS_MAX_WORKING_SLOT_EXCEEDED;
	m.responses.tag = 99; /* undefined when not processed: ignored */
	m.responses.transaction_responses_offset = UINT64_MAX;
	T_OK(xs_msg_check_worker_to_pack(pack, &m, &s->sent_exec, &v));
	T_EQ(v.has_responses, 0);
	m.processed_code = XS_PROCESSED_INVALID;
	T_OK(xs_msg_check_worker_to_pack(pack, &m, NULL, &v));

	/* the echoed batch */
	m = s->exec;
	m.batch.num_transactions = 0;
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, NULL, &v), -XS_EMSG_BATCH_EMPTY);
	m.batch.num_transactions = 200;
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, NULL, &v), -XS_EMSG_BATCH_SIZE);
	m.batch.num_transactions = 3;
	m.responses.num_transaction_responses = 3;
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, &s->sent_exec, &v), -XS_EMSG_MISMATCH);
	m = s->exec;
	m.batch.transactions_offset = s->resp_exec;
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, &s->sent_exec, &v), -XS_EMSG_MISMATCH);
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, NULL, &v), -XS_EMSG_DUP);
	m.batch.transactions_offset = s->batch + 32;
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, NULL, &v), -XS_EA_NOT_SLOT);
	expect_msg("worker_to_pack batch array");

	/* tag, count, response array */
	m = s->exec;
	m.responses.tag = 2;
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, NULL, &v), -XS_EMSG_TAG);
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->check, &s->sent_exec, &v), -XS_EMSG_TAG);
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->exec, &s->sent_check, &v), -XS_EMSG_TAG);
	m = s->exec;
	m.responses.num_transaction_responses = 5;
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, NULL, &v), -XS_EMSG_COUNT);
	expect_msg("5 responses for a batch of 4");
	m.responses.num_transaction_responses = 4;
	m.responses.transaction_responses_offset = s->resp_exec + 24;
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, NULL, &v), -XS_EA_NOT_SLOT);
	m.responses.transaction_responses_offset = FSIZE * 2;
	T_ERR(xs_msg_check_worker_to_pack(pack, &m, NULL, &v), -XS_EA_OFFSET);
	{
		/* 64 check responses are 4096 bytes: more than the 256-byte slot named */
		struct xs_worker_to_pack big = s->check;
		uint64_t b64 = alloc_fill(pack, 64 * sizeof(struct xs_tx_region), 0);

		big.batch = (struct xs_batch_region){.num_transactions = 64, .transactions_offset = b64};
		big.responses.num_transaction_responses = 64;
		T_ERR(xs_msg_check_worker_to_pack(pack, &big, NULL, &v), -XS_EA_LENGTH);
		expect_msg("response array");
		T_OK(xs_alloc_free_offset(pack, b64));
	}

	/* execution reasons */
	er[2].not_included_reason = 2; /* unused in this era */
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->exec, NULL, &v), -XS_EMSG_REASON);
	expect_msg("response[2]");
	er[2].not_included_reason = 102;
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->exec, NULL, &v), -XS_EMSG_REASON);
	er[2].not_included_reason = XS_NIR_PROGRAM_CACHE_HIT_MAX_LIMIT;
	T_OK(xs_msg_check_worker_to_pack(pack, &s->exec, NULL, &v));

	/* check flags and pubkeys */
	cr[0].fee_payer_balance_flags = 0x04;
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->check, NULL, &v), -XS_EMSG_CHECK_FLAGS);
	cr[0].fee_payer_balance_flags = 0;
	cr[0].status_check_flags = 0x20;
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->check, NULL, &v), -XS_EMSG_CHECK_FLAGS);
	cr[0].status_check_flags = 0;
	cr[3].resolved_pubkeys.num_pubkeys = 129;
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->check, NULL, &v), -XS_EMSG_PUBKEYS);
	cr[3].resolved_pubkeys.num_pubkeys = 128;
	cr[1].resolved_pubkeys.num_pubkeys = 9; /* 288 bytes from a 256-byte slot */
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->check, NULL, &v), -XS_EA_LENGTH);
	expect_msg("resolved_pubkeys[1]");
	cr[1].resolved_pubkeys.num_pubkeys = 3;
	cr[1].resolved_pubkeys.offset = s->keys[1]; /* two responses, one array */
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->check, NULL, &v), -XS_EMSG_DUP);
	cr[1].resolved_pubkeys.offset = s->resp_check; /* the response array itself */
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->check, NULL, &v), -XS_EMSG_DUP);
	cr[1].resolved_pubkeys.offset = 1ull << 40;
	T_ERR(xs_msg_check_worker_to_pack(pack, &s->check, NULL, &v), -XS_EA_OFFSET);
	cr[1].resolved_pubkeys.offset = s->keys[0];
	T_OK(xs_msg_check_worker_to_pack(pack, &s->check, NULL, &v));
}

static void ledger_flow(struct w2p_setup *s)
{
	static struct xs_w2p_view v;
	struct xs_ledger l;
	struct xs_tpu_to_pack t = {.transaction = {.offset = tx[0], .length = 300}};
	size_t held;
	int i;

	T_OK(xs_ledger_init_alloc(&l, pack));
	/* TPU hands over the transactions, once each */
	for (i = 0; i < 8; i++) {
		t.transaction.offset = tx[i];
		T_OK(xs_msg_check_tpu(pack, &t, NULL));
		T_OK(xs_guard_accept_tpu(&l, &t));
	}
	t.transaction.offset = tx[5];
	T_ERR(xs_guard_accept_tpu(&l, &t), -XS_EMSG_OWNED_TWICE);

	/* pack sends the batch: lent; a response that was never asked for is refused */
	T_OK(xs_guard_allocated(&l, s->batch));
	T_OK(xs_msg_check_worker_to_pack(pack, &s->check, &s->sent_check, &v));
	T_ERR(xs_guard_accept_w2p(&l, &v), -XS_EMSG_NOT_LENT);
	T_ERR(xs_guard_free(&l, pack, s->batch + 256), -XS_EMSG_NOT_OWNED);
	T_OK(xs_guard_lend_batch(&l, &s->sent_check));
	T_ERR(xs_guard_free(&l, pack, s->batch), -XS_EMSG_LENT);

	/* a response whose pubkeys name a transaction pack holds: all or nothing */
	{
		struct xs_check_resp *cr = P(s->resp_check);

		cr[3].resolved_pubkeys = (struct xs_pubkeys){.offset = tx[6], .num_pubkeys = 2};
		T_OK(xs_msg_check_worker_to_pack(pack, &s->check, &s->sent_check, &v));
		held = xs_ledger_count(&l, XS_LEDGER_HELD);
		T_ERR(xs_guard_accept_w2p(&l, &v), -XS_EMSG_OWNED_TWICE);
		expect_msg("worker_to_pack refused by the ledger");
		T_EQ(xs_ledger_count(&l, XS_LEDGER_HELD), held);
		T_EQ(xs_ledger_state(&l, s->batch), XS_LEDGER_LENT);
		T_EQ(xs_ledger_state(&l, s->resp_check), XS_LEDGER_NEVER);
		T_EQ(xs_ledger_state(&l, s->keys[0]), XS_LEDGER_NEVER);
		cr[3].resolved_pubkeys = (struct xs_pubkeys){.offset = s->keys[1], .num_pubkeys = 128};
	}

	/* the real response: batch back, response and two pubkeys arrays taken */
	T_OK(xs_msg_check_worker_to_pack(pack, &s->check, &s->sent_check, &v));
	T_OK(xs_guard_accept_w2p(&l, &v));
	T_EQ(xs_ledger_state(&l, s->batch), XS_LEDGER_HELD);
	T_EQ(xs_ledger_state(&l, s->resp_check), XS_LEDGER_HELD);
	T_EQ(xs_ledger_state(&l, s->keys[0]), XS_LEDGER_HELD);
	T_EQ(xs_ledger_state(&l, s->keys[1]), XS_LEDGER_HELD);
	T_ERR(xs_guard_accept_w2p(&l, &v), -XS_EMSG_NOT_LENT); /* replayed */

	/* pack frees what it owns: each exactly once */
	T_OK(xs_guard_free(&l, pack, s->keys[0]));
	T_ERR(xs_guard_free(&l, pack, s->keys[0]), -XS_EMSG_DOUBLE_FREE);
	T_OK(xs_guard_free(&l, pack, s->keys[1]));
	T_OK(xs_guard_free(&l, pack, s->resp_check));
	for (i = 0; i < 4; i++)
		T_OK(xs_guard_free(&l, pack, tx[i]));
	T_OK(xs_guard_free(&l, pack, s->batch));
	T_ERR(xs_guard_free(&l, pack, s->batch), -XS_EMSG_DOUBLE_FREE);
	T_ERR(xs_guard_free(&l, pack, s->resp_exec), -XS_EMSG_NOT_OWNED);
	T_ERR(xs_guard_free(&l, pack, 100), -XS_EMSG_NOT_SLOT);
	T_EQ(xs_ledger_count(&l, XS_LEDGER_HELD), 4); /* tx 4..7 */
	/* the owners take their slots back */
	T_ASSERT(xs_alloc_clean_remote(wrk) >= 3);
	T_ASSERT(xs_alloc_clean_remote(tpu) >= 4);
	xs_ledger_fini(&l);
}


/* ================================================ every bindings version */
/*
 * The generic validators (xs_msg_check_*_b, _request, _response) with the
 * message types and meanings of each version, on a file of their own:
 * b_tpu (worker 0, Agave TPU), b_wrk (1, an Agave worker), b_pack (2).
 */

static struct xs_alloc *b_tpu, *b_wrk, *b_pack;
static uint64_t btx[4];

static void *BP(uint64_t off)
{
	return xs_alloc_ptr(b_pack, off);
}

static uint64_t b_batch(unsigned n)
{
	uint64_t off = alloc_fill(b_pack, n * sizeof(struct xs_tx_region), 0);
	struct xs_tx_region *r = BP(off);

	for (unsigned i = 0; i < n; i++)
		r[i] = (struct xs_tx_region){ .offset = btx[i], .length = 300 };
	return off;
}

static void progress_b(void)
{
	struct xs_progress p = { .leader_state = 1, .current_slot_progress = 100 };
	struct xs_v4_progress p4 = { .leader_state = 2, .current_slot_progress = 100 };
	struct xs_v6_progress p6 = { .leader_state = 2, .current_slot_progress = 100,
				     .target_bank_time_ms = 400 };

	T_OK(xs_msg_check_progress_b(XS_BIND_3_1, &p));
	T_OK(xs_msg_check_progress_b(XS_BIND_V2, &p));
	p.leader_state = 2; /* LEADER_READY exists from VERSION 3 on */
	T_ERR(xs_msg_check_progress_b(XS_BIND_3_1, &p), -XS_EMSG_LEADER_STATE);
	T_OK(xs_msg_check_progress_b(XS_BIND_V3, &p));
	/* VERSION 4 and later: current_slot_progress is byte 1 */
	T_OK(xs_msg_check_progress_b(XS_BIND_V4, &p4));
	T_OK(xs_msg_check_progress_b(XS_BIND_5, &p4));
	p4.current_slot_progress = 101;
	T_ERR(xs_msg_check_progress_b(XS_BIND_V4, &p4), -XS_EMSG_PROGRESS);
	p4.current_slot_progress = 0;
	p4.leader_state = 3;
	T_ERR(xs_msg_check_progress_b(XS_BIND_5, &p4), -XS_EMSG_LEADER_STATE);
	T_OK(xs_msg_check_progress_b(XS_BIND_6, &p6));
	p6.current_slot_progress = 200;
	T_ERR(xs_msg_check_progress_b(XS_BIND_6, &p6), -XS_EMSG_PROGRESS);
	T_ERR(xs_msg_check_progress_b(0, &p6), -XS_EMSG_VERSION);
	T_ERR(xs_msg_check_progress_b(XS_BIND_MAX + 1, &p6), -XS_EMSG_VERSION);
	/* the old entry point still speaks VERSION 1 - 3 only */
	T_ERR(xs_msg_check_progress(&p, 4), -XS_EMSG_VERSION);
}

static void tpu_b(void)
{
	struct xs_tpu_to_pack m = { .transaction = { .offset = btx[0], .length = 300 }, .flags = 7 };

	for (unsigned b = XS_BIND_MIN; b <= XS_BIND_MAX; b++) {
		m.flags = 7;
		T_OK(xs_msg_check_tpu_b(b, b_pack, &m, NULL));
		m.flags = 8;
		T_ERR(xs_msg_check_tpu_b(b, b_pack, &m, NULL), -XS_EMSG_FLAGS);
	}
	T_ERR(xs_msg_check_tpu_b(9, b_pack, &m, NULL), -XS_EMSG_VERSION);
}

/* flags @0, batch at @p boff of a request of @p size bytes */
static void req_msg(uint8_t *m, size_t size, unsigned boff, unsigned flags, unsigned n,
		    uint64_t arr)
{
	memset(m, 0, size);
	memcpy(m, &(uint16_t){ (uint16_t)flags }, 2);
	m[boff] = (uint8_t)n;
	memcpy(m + boff + 8, &arr, 8);
}

static void requests_b(void)
{
	struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH];
	uint64_t arr = b_batch(3);
	uint8_t m[32];
	unsigned kind = 9;

	/* VERSION 1: exactly NONE (execute) or RESOLVE */
	req_msg(m, 32, 16, XS_V1_PACK_NONE, 3, arr);
	T_EQ(xs_msg_check_request(XS_BIND_3_1, XS_MSG_PACK_TO_WORKER, b_wrk, m, txs, &kind), 3);
	T_EQ(kind, XS_REQ_EXECUTE);
	T_EQ(txs[2].offset, btx[2]);
	req_msg(m, 32, 16, XS_V1_PACK_RESOLVE, 3, arr);
	T_EQ(xs_msg_check_request(XS_BIND_3_1, XS_MSG_PACK_TO_WORKER, b_wrk, m, txs, &kind), 3);
	T_EQ(kind, XS_REQ_CHECK);
	for (unsigned f = 1; f < 0x20; f++) {
		if (f == XS_V1_PACK_RESOLVE)
			continue;
		req_msg(m, 32, 16, f, 3, arr);
		T_ERR(xs_msg_check_request(XS_BIND_3_1, XS_MSG_PACK_TO_WORKER, b_wrk, m, txs, NULL),
		      -XS_EMSG_FLAGS);
	}
	expect_msg("resolve request of bindings 3.1.x");
	/* VERSION 1 - 4 have no check queue */
	T_ERR(xs_msg_check_request(XS_BIND_V4, XS_MSG_PACK_TO_CHECK, b_wrk, m, txs, NULL),
	      -XS_EMSG_VERSION);
	T_ERR(xs_msg_check_request(XS_BIND_V2, XS_MSG_WORKER_TO_PACK, b_wrk, m, txs, NULL),
	      -XS_EMSG_VERSION);

	/* VERSION 2 - 5: EXECUTE selects the kind; VERSION 1's execute is a
	 * check without options here, its RESOLVE a status check */
	for (unsigned b = XS_BIND_V2; b <= XS_BIND_5; b++) {
		req_msg(m, 32, 16, XS_PACK_EXECUTE | XS_EXEC_ALL_OR_NOTHING, 3, arr);
		T_EQ(xs_msg_check_request(b, XS_MSG_PACK_TO_WORKER, b_wrk, m, txs, &kind), 3);
		T_EQ(kind, XS_REQ_EXECUTE);
		req_msg(m, 32, 16, XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES, 3, arr);
		T_EQ(xs_msg_check_request(b, XS_MSG_PACK_TO_WORKER, b_wrk, m, txs, &kind), 3);
		T_EQ(kind, XS_REQ_CHECK);
		req_msg(m, 32, 16, XS_PACK_EXECUTE | XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES, 3, arr);
		T_ERR(xs_msg_check_request(b, XS_MSG_PACK_TO_WORKER, b_wrk, m, txs, NULL),
		      -XS_EMSG_FLAGS);
	}
	/* VERSION 5's check queue carries PackToWorkerMessage */
	req_msg(m, 32, 16, XS_CHECK_STATUS_CHECKS, 3, arr);
	T_EQ(xs_msg_check_request(XS_BIND_5, XS_MSG_PACK_TO_CHECK, b_wrk, m, txs, &kind), 3);
	T_EQ(kind, XS_REQ_CHECK);

	/* bindings 6: the queue gives the kind, each kind its own flag set */
	for (unsigned f = 0; f < 4; f++) {
		req_msg(m, 32, 16, f, 3, arr);
		T_EQ(xs_msg_check_request(XS_BIND_6, XS_MSG_PACK_TO_WORKER, b_wrk, m, txs, &kind), 3);
		T_EQ(kind, XS_REQ_EXECUTE);
	}
	req_msg(m, 32, 16, XS_PACK_EXECUTE << 2, 3, arr);
	T_ERR(xs_msg_check_request(XS_BIND_6, XS_MSG_PACK_TO_WORKER, b_wrk, m, txs, NULL),
	      -XS_EMSG_FLAGS);
	for (unsigned f = 0; f < 16; f++) {
		req_msg(m, 24, 8, f, 3, arr);
		T_EQ(xs_msg_check_request(XS_BIND_6, XS_MSG_PACK_TO_CHECK, b_wrk, m, txs, &kind), 3);
		T_EQ(kind, XS_REQ_CHECK);
	}
	req_msg(m, 24, 8, 0x10, 3, arr);
	T_ERR(xs_msg_check_request(XS_BIND_6, XS_MSG_PACK_TO_CHECK, b_wrk, m, txs, NULL),
	      -XS_EMSG_FLAGS);
	expect_msg("pack_to_check_worker: flags 0x0010");
	/* the batch rules through the 24-byte layout (batch at 8) */
	req_msg(m, 24, 8, 1, 0, arr);
	T_ERR(xs_msg_check_request(XS_BIND_6, XS_MSG_PACK_TO_CHECK, b_wrk, m, txs, NULL),
	      -XS_EMSG_BATCH_EMPTY);
	req_msg(m, 24, 8, 1, 65, arr);
	T_ERR(xs_msg_check_request(XS_BIND_6, XS_MSG_PACK_TO_CHECK, b_wrk, m, txs, NULL),
	      -XS_EMSG_BATCH_SIZE);
	req_msg(m, 24, 8, 1, 3, arr + 16);
	T_ERR(xs_msg_check_request(XS_BIND_6, XS_MSG_PACK_TO_CHECK, b_wrk, m, txs, NULL),
	      -XS_EA_NOT_SLOT);
	((struct xs_tx_region *)BP(arr))[1].offset = btx[0];
	req_msg(m, 24, 8, 1, 3, arr);
	T_ERR(xs_msg_check_request(XS_BIND_6, XS_MSG_PACK_TO_CHECK, b_wrk, m, txs, NULL),
	      -XS_EMSG_DUP);
	((struct xs_tx_region *)BP(arr))[1].offset = btx[1];
	((struct xs_tx_region *)BP(arr))[2].length = 4096;
	T_ERR(xs_msg_check_request(XS_BIND_6, XS_MSG_PACK_TO_CHECK, b_wrk, m, txs, NULL),
	      -XS_EA_LENGTH);
	expect_msg("pack_to_check_worker transaction[2]");
	T_OK(xs_alloc_free_offset(b_pack, arr));
}

/* A WorkerToPack-shaped answer: batch @0, code @16, region @24 (tagged:
 * tag, count; untagged: count), offset @32. */
static void resp_msg(uint8_t *m, int tagged, unsigned n, uint64_t arr, unsigned code, unsigned tag,
		     unsigned cnt, uint64_t resp)
{
	memset(m, 0, 40);
	m[0] = (uint8_t)n;
	memcpy(m + 8, &arr, 8);
	m[16] = (uint8_t)code;
	if (tagged) {
		m[24] = (uint8_t)tag;
		m[25] = (uint8_t)cnt;
	} else {
		m[24] = (uint8_t)cnt;
	}
	memcpy(m + 32, &resp, 8);
}

static void responses_v1(void)
{
	static struct xs_resp_view v;
	struct xs_ledger l;
	uint64_t arr = b_batch(3), keys, rexec, rres;
	struct xs_exec_resp *ex;
	struct xs_v1_resolved *rs;
	uint8_t m[40], sent[32];

	keys = alloc_fill(b_wrk, 64, 0x11);
	rexec = alloc_fill(b_wrk, 3 * sizeof(*ex), 0);
	rres = alloc_fill(b_wrk, 3 * sizeof(*rs), 0);
	ex = BP(rexec);
	ex[0].not_included_reason = XS_NIR_NONE;
	ex[1].not_included_reason = XS_NIR_SLOT_MISMATCH_V1;
	ex[2].not_included_reason = XS_NIR_ALREADY_PROCESSED;
	rs = BP(rres);
	rs[0] = (struct xs_v1_resolved){ .success = 0, .min_alt_deactivation_slot = UINT64_MAX };
	rs[1] = (struct xs_v1_resolved){ .success = 1, .min_alt_deactivation_slot = UINT64_MAX };
	rs[2] = (struct xs_v1_resolved){ .success = 1, .slot = 7, .min_alt_deactivation_slot = 1000,
					 .resolved_pubkeys = { .offset = keys, .num_pubkeys = 2 } };

	/* execute: tag 0, reason 2 is SLOT_MISMATCH (defined in VERSION 1 only) */
	req_msg(sent, 32, 16, XS_V1_PACK_NONE, 3, arr);
	resp_msg(m, 1, 3, arr, XS_V1_PROCESSED, XS_V1_RESP_EXECUTION, 3, rexec);
	T_OK(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v));
	T_ASSERT(v.has_responses && v.status == XS_RESP_ST_PROCESSED && v.code == 1);
	T_EQ(v.kind, XS_REQ_EXECUTE);
	T_EQ(v.elem_size, 24);
	T_EQ(v.resp.exec[1].not_included_reason, XS_NIR_SLOT_MISMATCH_V1);
	/* read as VERSION 2 the same bytes are an INVALID answer: no responses */
	T_OK(xs_msg_check_response(XS_BIND_V2, XS_MSG_WORKER_TO_PACK, b_pack, m, NULL, &v));
	T_ASSERT(!v.has_responses && v.status == XS_RESP_ST_INVALID);
	/* the same byte the other way: processed 0 = NOT_PROCESSED here */
	resp_msg(m, 1, 3, arr, XS_V1_NOT_PROCESSED, 0, 0, 0);
	T_OK(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v));
	T_ASSERT(!v.has_responses && v.status == XS_RESP_ST_INVALID);
	resp_msg(m, 1, 3, arr, 2, 0, 3, rexec); /* no MAX_WORKING_SLOT_EXCEEDED in VERSION 1 */
	T_ERR(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v),
	      -XS_EMSG_PROCESSED);
	/* resolve: tag 1 = Resolved, 40 bytes; keys wherever num_pubkeys != 0 */
	req_msg(sent, 32, 16, XS_V1_PACK_RESOLVE, 3, arr);
	resp_msg(m, 1, 3, arr, XS_V1_PROCESSED, XS_V1_RESP_RESOLVED, 3, rres);
	T_OK(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v));
	T_EQ(v.kind, XS_REQ_CHECK);
	T_EQ(v.elem_size, 40);
	T_EQ(v.num_pubkeys_arrays, 1);
	T_EQ(v.pubkeys[0], keys);
	T_EQ(v.resp.resolved[2].min_alt_deactivation_slot, 1000);
	/* an execution answer to a resolve request, and the reverse */
	resp_msg(m, 1, 3, arr, XS_V1_PROCESSED, XS_V1_RESP_EXECUTION, 3, rexec);
	T_ERR(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v),
	      -XS_EMSG_TAG);
	resp_msg(m, 1, 3, arr, XS_V1_PROCESSED, 2, 3, rres);
	T_ERR(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, NULL, &v),
	      -XS_EMSG_TAG);
	/* success outside 0/1, keys that are not an allocation, a count off */
	resp_msg(m, 1, 3, arr, XS_V1_PROCESSED, XS_V1_RESP_RESOLVED, 3, rres);
	rs[1].success = 2;
	T_ERR(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, NULL, &v),
	      -XS_EMSG_CHECK_FLAGS);
	rs[1].success = 1;
	rs[0].resolved_pubkeys = (struct xs_pubkeys){ .offset = keys + 32, .num_pubkeys = 1 };
	T_ERR(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, NULL, &v),
	      -XS_EA_NOT_SLOT);
	rs[0].resolved_pubkeys = (struct xs_pubkeys){ .offset = keys, .num_pubkeys = 1 };
	T_ERR(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, NULL, &v),
	      -XS_EMSG_DUP);
	rs[0].resolved_pubkeys = (struct xs_pubkeys){ .offset = 0, .num_pubkeys = 0 };
	resp_msg(m, 1, 3, arr, XS_V1_PROCESSED, XS_V1_RESP_RESOLVED, 2, rres);
	T_ERR(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, NULL, &v),
	      -XS_EMSG_COUNT);

	/* the ledger: lend, answer with the keys, replay refused */
	T_OK(xs_ledger_init_alloc(&l, b_pack));
	T_OK(xs_guard_allocated(&l, arr));
	T_OK(xs_guard_lend_request(&l, XS_BIND_3_1, XS_MSG_PACK_TO_WORKER, sent));
	resp_msg(m, 1, 3, arr, XS_V1_PROCESSED, XS_V1_RESP_RESOLVED, 3, rres);
	T_OK(xs_msg_check_response(XS_BIND_3_1, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v));
	T_OK(xs_guard_accept_resp(&l, &v));
	T_EQ(xs_ledger_state(&l, arr), XS_LEDGER_HELD);
	T_EQ(xs_ledger_state(&l, rres), XS_LEDGER_HELD);
	T_EQ(xs_ledger_state(&l, keys), XS_LEDGER_HELD);
	T_ERR(xs_guard_accept_resp(&l, &v), -XS_EMSG_NOT_LENT);
	T_OK(xs_guard_free(&l, b_pack, keys));
	T_OK(xs_guard_free(&l, b_pack, rres));
	T_OK(xs_guard_free(&l, b_pack, arr));
	xs_ledger_fini(&l);
	T_OK(xs_alloc_free_offset(b_pack, rexec));
	T_ASSERT(xs_alloc_clean_remote(b_wrk) >= 3);
}

static void responses_v2_to_5(void)
{
	static struct xs_resp_view v;
	uint64_t arr = b_batch(2), r3 = alloc_fill(b_wrk, 2 * sizeof(struct xs_v3_exec_resp), 0);
	uint64_t rc = alloc_fill(b_wrk, 2 * sizeof(struct xs_check_resp), 0);
	struct xs_v3_exec_resp *e3 = BP(r3);
	struct xs_check_resp *c = BP(rc);
	uint8_t m[40], sent[32];

	/* VERSION 3 on: 32-byte ExecutionResponse, reason at 8 */
	e3[0].not_included_reason = XS_NIR_NONE;
	e3[1].not_included_reason = XS_NIR_INSTRUCTIONS_SYSVAR_OVERFLOW; /* 102 */
	e3[1].execution_slot = 55;
	req_msg(sent, 32, 16, XS_PACK_EXECUTE, 2, arr);
	resp_msg(m, 1, 2, arr, XS_PROCESSED, XS_RESP_EXECUTION, 2, r3);
	T_ERR(xs_msg_check_response(XS_BIND_V3, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v),
	      -XS_EMSG_REASON); /* 102 came with VERSION 4 */
	T_OK(xs_msg_check_response(XS_BIND_V4, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v));
	T_EQ(v.elem_size, 32);
	T_EQ(v.resp.exec3[1].execution_slot, 55);
	T_OK(xs_msg_check_response(XS_BIND_5, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v));
	e3[1].not_included_reason = XS_NIR_PARTIAL_BATCH_CANCELLED; /* 2: bindings 5.x */
	T_ERR(xs_msg_check_response(XS_BIND_V4, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v),
	      -XS_EMSG_REASON);
	T_OK(xs_msg_check_response(XS_BIND_5, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v));
	/* VERSION 2 reads 24-byte responses: 2 x 24 still inside the slot */
	e3[0].execution_slot = 0;
	e3[1].not_included_reason = 0;
	e3[1].execution_slot = 0;
	T_OK(xs_msg_check_response(XS_BIND_V2, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v));
	T_EQ(v.elem_size, 24);

	/* check responses: UNSUPPORTED_VERSION (0x20) from VERSION 4 on */
	c[0].status_check_flags = XS_STATUS_REQUESTED | XS_STATUS_PERFORMED |
				  XS_STATUS_UNSUPPORTED_VERSION;
	req_msg(sent, 32, 16, XS_CHECK_STATUS_CHECKS, 2, arr);
	resp_msg(m, 1, 2, arr, XS_PROCESSED, XS_RESP_CHECK, 2, rc);
	T_ERR(xs_msg_check_response(XS_BIND_V3, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v),
	      -XS_EMSG_CHECK_FLAGS);
	T_OK(xs_msg_check_response(XS_BIND_V4, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v));
	T_EQ(v.elem_size, 64);
	T_EQ(v.num_pubkeys_arrays, 0);
	/* VERSION 5's check queue: the same messages */
	T_OK(xs_msg_check_response(XS_BIND_5, XS_MSG_CHECK_TO_PACK, b_pack, m, sent, &v));
	T_EQ(v.type, XS_MSG_CHECK_TO_PACK);
	T_ERR(xs_msg_check_response(XS_BIND_V4, XS_MSG_CHECK_TO_PACK, b_pack, m, sent, &v),
	      -XS_EMSG_VERSION);
	/* MAX_WORKING_SLOT_EXCEEDED: nothing to look at */
	resp_msg(m, 1, 2, arr, XS_MAX_WORKING_SLOT_EXCEEDED, 0, 0, 0);
	T_OK(xs_msg_check_response(XS_BIND_V4, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v));
	T_ASSERT(!v.has_responses && v.status == XS_RESP_ST_SLOT_EXCEEDED);
	resp_msg(m, 1, 2, arr, 3, 0, 0, 0);
	T_ERR(xs_msg_check_response(XS_BIND_V4, XS_MSG_WORKER_TO_PACK, b_pack, m, sent, &v),
	      -XS_EMSG_PROCESSED);
	T_OK(xs_alloc_free_offset(b_pack, r3));
	T_OK(xs_alloc_free_offset(b_pack, rc));
	T_OK(xs_alloc_free_offset(b_pack, arr));
	T_ASSERT(xs_alloc_clean_remote(b_wrk) >= 2);
}

static void responses_v6(void)
{
	static struct xs_resp_view v;
	struct xs_ledger l;
	uint64_t arr = b_batch(4), keys = alloc_fill(b_wrk, 96, 0x22);
	uint64_t re = alloc_fill(b_wrk, 4 * sizeof(struct xs_v3_exec_resp), 0);
	uint64_t rc = alloc_fill(b_wrk, 4 * sizeof(struct xs_v6_check_resp), 0);
	struct xs_v6_check_resp *c = BP(rc);
	struct xs_v3_exec_resp *e = BP(re);
	uint8_t m[40], sent_e[32], sent_c[24];

	/* execution answers: untagged, the count at 24 */
	e[3].not_included_reason = XS_NIR_PARTIAL_BATCH_CANCELLED;
	req_msg(sent_e, 32, 16, XS_V6_EXEC_DROP_ON_FAILURE, 4, arr);
	resp_msg(m, 0, 4, arr, XS_PROCESSED, 0, 4, re);
	T_OK(xs_msg_check_response(XS_BIND_6, XS_MSG_WORKER_TO_PACK, b_pack, m, sent_e, &v));
	T_EQ(v.kind, XS_REQ_EXECUTE);
	T_EQ(v.elem_size, 32);
	e[3].not_included_reason = XS_NIR_INSTRUCTIONS_SYSVAR_OVERFLOW; /* commented out in 6.0.0 */
	T_ERR(xs_msg_check_response(XS_BIND_6, XS_MSG_WORKER_TO_PACK, b_pack, m, sent_e, &v),
	      -XS_EMSG_REASON);
	e[3].not_included_reason = 0;
	resp_msg(m, 0, 4, arr, XS_PROCESSED, 0, 3, re);
	T_ERR(xs_msg_check_response(XS_BIND_6, XS_MSG_WORKER_TO_PACK, b_pack, m, sent_e, &v),
	      -XS_EMSG_COUNT);
	/* check answers: 96-byte CheckResponse, scheduling details byte 4, keys @80 */
	for (int i = 0; i < 4; i++)
		c[i].scheduling_details_flags = XS_SCHED_REQUESTED | XS_SCHED_PERFORMED;
	c[2].resolve_flags = XS_RESOLVE_REQUESTED | XS_RESOLVE_PERFORMED;
	c[2].resolved_pubkeys = (struct xs_pubkeys){ .offset = keys, .num_pubkeys = 3 };
	c[3].resolved_pubkeys = (struct xs_pubkeys){ .offset = 7, .num_pubkeys = 9 }; /* not performed */
	req_msg(sent_c, 24, 8, XS_V6_CHECK_LOAD_ADDRESS_LOOKUP_TABLES, 4, arr);
	resp_msg(m, 0, 4, arr, XS_PROCESSED, 0, 4, rc);
	T_OK(xs_msg_check_response(XS_BIND_6, XS_MSG_CHECK_TO_PACK, b_pack, m, sent_c, &v));
	T_EQ(v.kind, XS_REQ_CHECK);
	T_EQ(v.elem_size, 96);
	T_EQ(v.num_pubkeys_arrays, 1);
	T_EQ(v.resp.check6[2].resolved_pubkeys.num_pubkeys, 3);
	c[1].scheduling_details_flags = 0x08;
	T_ERR(xs_msg_check_response(XS_BIND_6, XS_MSG_CHECK_TO_PACK, b_pack, m, sent_c, &v),
	      -XS_EMSG_CHECK_FLAGS);
	c[1].scheduling_details_flags = 0;
	c[2].resolved_pubkeys.num_pubkeys = XS_MAX_PUBKEYS + 1;
	T_ERR(xs_msg_check_response(XS_BIND_6, XS_MSG_CHECK_TO_PACK, b_pack, m, sent_c, &v),
	      -XS_EMSG_PUBKEYS);
	c[2].resolved_pubkeys.num_pubkeys = 4; /* 128 bytes from a 256-byte slot: fine */
	T_OK(xs_msg_check_response(XS_BIND_6, XS_MSG_CHECK_TO_PACK, b_pack, m, sent_c, &v));
	c[2].resolved_pubkeys.num_pubkeys = 3;
	/* the echoed batch must be the one sent on that queue */
	req_msg(sent_c, 24, 8, 1, 4, arr + 256);
	T_ERR(xs_msg_check_response(XS_BIND_6, XS_MSG_CHECK_TO_PACK, b_pack, m, sent_c, &v),
	      -XS_EMSG_MISMATCH);
	req_msg(sent_c, 24, 8, 1, 4, arr);
	/* a full check batch: 64 x 96 bytes is more than one allocation holds */
	resp_msg(m, 0, 64, arr, XS_PROCESSED, 0, 64, rc);
	T_ERR(xs_msg_check_response(XS_BIND_6, XS_MSG_CHECK_TO_PACK, b_pack, m, NULL, &v),
	      -XS_EA_LENGTH);
	/* ledger over bindings 6 answers */
	resp_msg(m, 0, 4, arr, XS_PROCESSED, 0, 4, rc);
	T_OK(xs_ledger_init_alloc(&l, b_pack));
	T_OK(xs_guard_allocated(&l, arr));
	T_OK(xs_guard_lend_request(&l, XS_BIND_6, XS_MSG_PACK_TO_CHECK, sent_c));
	T_EQ(xs_ledger_state(&l, arr), XS_LEDGER_LENT);
	T_OK(xs_msg_check_response(XS_BIND_6, XS_MSG_CHECK_TO_PACK, b_pack, m, sent_c, &v));
	T_OK(xs_guard_accept_resp(&l, &v));
	T_EQ(xs_ledger_state(&l, keys), XS_LEDGER_HELD);
	T_EQ(xs_ledger_count(&l, XS_LEDGER_HELD), 3);
	T_ERR(xs_guard_lend_request(&l, XS_BIND_3_1, XS_MSG_PACK_TO_CHECK, sent_c), -XS_EMSG_VERSION);
	xs_ledger_fini(&l);
	T_ERR(xs_msg_check_response(XS_BIND_6, XS_MSG_PACK_TO_WORKER, b_pack, m, NULL, &v),
	      -XS_EMSG_VERSION);
	T_ERR(xs_msg_check_response(0, XS_MSG_WORKER_TO_PACK, b_pack, m, NULL, &v), -XS_EMSG_VERSION);
}

static void bindings_all(void)
{
	int fd = memfd_create("xs-test-msg-bindings", MFD_CLOEXEC);

	T_ASSERT(fd >= 0);
	T_OK(xs_alloc_create(&b_tpu, fd, 1u << 20, 3, SLAB, 0));
	T_OK(xs_alloc_join_handle(&b_wrk, b_tpu, 1));
	T_OK(xs_alloc_join_handle(&b_pack, b_tpu, 2));
	for (int i = 0; i < 4; i++)
		btx[i] = alloc_fill(b_tpu, 300, 0x40 + i);
	progress_b();
	tpu_b();
	requests_b();
	responses_v1();
	responses_v2_to_5();
	responses_v6();
	xs_alloc_close(b_pack);
	xs_alloc_close(b_wrk);
	xs_alloc_close(b_tpu);
	close(fd);
}

int main(void)
{
	struct w2p_setup s;
	int fd = memfd_create("xs-test-msg-check", MFD_CLOEXEC), i;

	T_ASSERT(fd >= 0);
	T_OK(xs_alloc_create(&tpu, fd, FSIZE, 3, SLAB, 0));
	T_OK(xs_alloc_join_handle(&wrk, tpu, 1));
	T_OK(xs_alloc_join_handle(&pack, tpu, 2));
	for (i = 0; i < 8; i++)
		tx[i] = alloc_fill(tpu, 300, 0x10 + i);

	progress();
	tpu_to_pack();
	pack_to_worker();
	setup_w2p(&s);
	worker_to_pack(&s);
	setup_w2p(&s); /* fresh arrays: the checks above rewrote some */
	ledger_flow(&s);
	bindings_all();

	xs_alloc_close(pack);
	xs_alloc_close(wrk);
	xs_alloc_close(tpu);
	close(fd);
	printf("test_msg_check: ok\n");
	return 0;
}
