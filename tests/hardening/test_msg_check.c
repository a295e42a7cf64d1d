/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Message validation: every rule of every validator, each violation with
 * its own error code and a message naming the field, on a real allocator
 * file (three workers: 0 Agave TPU, 1 Agave banking worker, 2 pack); then
 * the ledger steps of the ownership flow, all-or-nothing.
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

	xs_alloc_close(pack);
	xs_alloc_close(wrk);
	xs_alloc_close(tpu);
	close(fd);
	printf("test_msg_check: ok\n");
	return 0;
}
