/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: validation of every message a peer writes, and the ledger
 * steps that follow it, with the VERSION 2 entry points and the generic
 * ones of every bindings version (3.1.x, VERSION 2 - 4, 5.x, 6). The input is one message of a chosen kind plus
 * patches the "peer" applies to the allocator file first (batch arrays,
 * response arrays, slab metadata ...); see fuzz_common.h and
 * fuzz_fixture.h. Oracles: whatever a validator accepts lies inside the
 * file and inside one slot, is touched byte by byte, and survives the
 * ledger's all-or-nothing steps with consistent counts; a refusal is a
 * documented negative code and changes nothing.
 */
#include "fuzz_common.h"
#include "fuzz_fixture.h"
#include "xsched/alloc.h"
#include "xsched/guard.h"

static struct fz_fixture fx;
static int fx_ready;
static volatile uint64_t sink;

/* A region the validators accepted: inside the file, starting at a 256-byte
 * unit of the slabs, ending inside that unit's slab; then read it all. */
static void touch(uint64_t off, uint64_t len)
{
	uint64_t slabs = xs_alloc_slabs_offset(fx.pack), s, sum = 0, i;

	FZ_ASSERT(off >= slabs && off <= fx.size && len <= fx.size - off);
	FZ_ASSERT((off - slabs) % XS_LEDGER_UNIT == 0);
	FZ_ASSERT(len <= XS_ALLOC_MAX_SIZE);
	s = (off - slabs) / FZ_FIX_SLAB;
	FZ_ASSERT(off + len <= slabs + (s + 1) * FZ_FIX_SLAB);
	for (i = 0; i < len; i++)
		sum += fx.base[off + i];
	sink += sum;
}

static void ledger_counts(const struct xs_ledger *l, size_t c[4])
{
	for (int s = 0; s < 4; s++)
		c[s] = xs_ledger_count(l, (enum xs_ledger_state)s);
}

static void do_tpu(struct xs_ledger *l, const struct xs_tpu_to_pack *m)
{
	const uint8_t *tx = NULL;
	int err = xs_msg_check_tpu(fx.pack, m, &tx), st;

	if (err) {
		FZ_ASSERT(err < 0 && tx == NULL);
		return;
	}
	FZ_ASSERT(tx == fx.base + m->transaction.offset);
	touch(m->transaction.offset, m->transaction.length);
	/* an allocation pack already holds (a transaction or batch array of
	 * the fixture) handed over again must be refused */
	st = xs_ledger_state(l, m->transaction.offset);
	FZ_ASSERT(st >= 0);
	if (st == XS_LEDGER_HELD || st == XS_LEDGER_LENT) {
		FZ_ASSERT(xs_guard_accept_tpu(l, m) == -XS_EMSG_OWNED_TWICE);
		FZ_ASSERT(xs_ledger_state(l, m->transaction.offset) == st);
		return;
	}
	FZ_ASSERT(xs_guard_accept_tpu(l, m) == 0);
	FZ_ASSERT(xs_guard_accept_tpu(l, m) == -XS_EMSG_OWNED_TWICE);
	FZ_ASSERT(xs_ledger_release(l, m->transaction.offset) == 0);
	FZ_ASSERT(xs_ledger_release(l, m->transaction.offset) == -XS_EMSG_DOUBLE_FREE);
}

static void do_progress(const struct xs_progress *m)
{
	for (uint32_t v = 1; v <= 3; v++) {
		int err = xs_msg_check_progress(m, v);

		FZ_ASSERT(err == 0 || err == -XS_EMSG_LEADER_STATE || err == -XS_EMSG_PROGRESS);
		if (!err)
			FZ_ASSERT(m->leader_state <= (v == 3 ? 2 : 1) && m->current_slot_progress <= 100);
	}
	FZ_ASSERT(xs_msg_check_progress(m, 4) == -XS_EMSG_VERSION);
}

static void do_p2w(const struct xs_pack_to_worker *m)
{
	struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH];
	int n = xs_msg_check_pack_to_worker(fx.worker, m, txs), i, j;

	if (n < 0)
		return;
	FZ_ASSERT(n >= 1 && n <= XS_MAX_TXS_PER_BATCH && n == m->batch.num_transactions);
	touch(m->batch.transactions_offset, (uint64_t)n * sizeof(struct xs_tx_region));
	for (i = 0; i < n; i++) {
		touch(txs[i].offset, txs[i].length);
		FZ_ASSERT(txs[i].offset != m->batch.transactions_offset);
		for (j = 0; j < i; j++)
			FZ_ASSERT(txs[i].offset != txs[j].offset);
	}
}

static void do_w2p(struct xs_ledger *l, const struct xs_worker_to_pack *m,
		   const struct xs_pack_to_worker *sent)
{
	static struct xs_w2p_view v; /* 4 KiB: off the stack */
	size_t before[4], after[4];
	unsigned i, npk = 0;
	int err = xs_msg_check_worker_to_pack(fx.pack, m, sent, &v);

	if (err) {
		FZ_ASSERT(err < 0);
		return;
	}
	FZ_ASSERT(v.num >= 1 && v.num <= XS_MAX_TXS_PER_BATCH);
	FZ_ASSERT(v.num == m->batch.num_transactions);
	FZ_ASSERT(v.processed_code <= XS_MAX_WORKING_SLOT_EXCEEDED);
	if (sent)
		FZ_ASSERT(v.batch_offset == sent->batch.transactions_offset);
	touch(v.batch_offset, (uint64_t)v.num * sizeof(struct xs_tx_region));
	FZ_ASSERT(v.has_responses == (m->processed_code == XS_PROCESSED));
	if (v.has_responses) {
		FZ_ASSERT(v.tag <= XS_RESP_CHECK);
		touch(v.responses_offset,
		      (uint64_t)v.num * (v.tag ? sizeof(struct xs_check_resp) : sizeof(struct xs_exec_resp)));
		if (v.tag == XS_RESP_CHECK) {
			for (i = 0; i < v.num; i++) {
				const struct xs_check_resp *c = &v.resp.check[i];

				if (!(c->resolve_flags & XS_RESOLVE_PERFORMED) ||
				    !c->resolved_pubkeys.num_pubkeys)
					continue;
				FZ_ASSERT(c->resolved_pubkeys.num_pubkeys <= XS_MAX_PUBKEYS);
				touch(c->resolved_pubkeys.offset, 32ull * c->resolved_pubkeys.num_pubkeys);
				npk++;
			}
		}
		FZ_ASSERT(npk == v.num_pubkeys_arrays);
	}

	/* the ledger step is all or nothing */
	ledger_counts(l, before);
	err = xs_guard_accept_w2p(l, &v);
	ledger_counts(l, after);
	if (err) {
		FZ_ASSERT(err == -XS_EMSG_NOT_LENT || err == -XS_EMSG_OWNED_TWICE);
		for (i = 0; i < 4; i++)
			FZ_ASSERT(before[i] == after[i]);
		return;
	}
	FZ_ASSERT(xs_ledger_state(l, v.batch_offset) == XS_LEDGER_HELD);
	FZ_ASSERT(after[XS_LEDGER_LENT] + 1 == before[XS_LEDGER_LENT]);
	if (v.has_responses) {
		FZ_ASSERT(after[XS_LEDGER_HELD] == before[XS_LEDGER_HELD] + 2 + npk);
		FZ_ASSERT(xs_ledger_release(l, v.responses_offset) == 0);
	}
	/* a replay of the same response is refused */
	FZ_ASSERT(xs_guard_accept_w2p(l, &v) == -XS_EMSG_NOT_LENT);
}

/* ------------------------------------------- every bindings version */

static unsigned gen_bindings(uint8_t sel)
{
	return XS_BIND_MIN + (sel & 0x3f) % (XS_BIND_MAX - XS_BIND_MIN + 1);
}

static void do_gen_progress(uint8_t sel, const uint8_t *m)
{
	const struct xs_bindings *b = xs_bindings_get(gen_bindings(sel));
	int err = xs_msg_check_progress_b(b->id, m);
	unsigned prog = b->size[XS_MSG_PROGRESS] == 48 ? m[40] : m[1];

	FZ_ASSERT(err == 0 || err == -XS_EMSG_LEADER_STATE || err == -XS_EMSG_PROGRESS);
	FZ_ASSERT((err == 0) == (m[0] <= b->leader_state_max && prog <= 100));
}

static void do_gen_request(uint8_t sel, const uint8_t *m)
{
	struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH];
	unsigned type = sel & 0x80 ? XS_MSG_PACK_TO_CHECK : XS_MSG_PACK_TO_WORKER, kind = 9;
	const struct xs_bindings *b = xs_bindings_get(gen_bindings(sel));
	unsigned boff = b->size[type] == 24 ? 8 : 16;
	uint64_t arr;
	int n = xs_msg_check_request(b->id, type, fx.worker, m, txs, &kind), i, j;

	if (n < 0) {
		FZ_ASSERT(n != -XS_EMSG_VERSION || !b->size[type]);
		return;
	}
	FZ_ASSERT(b->size[type] && kind <= XS_REQ_CHECK);
	FZ_ASSERT(n >= 1 && n <= XS_MAX_TXS_PER_BATCH && n == m[boff]);
	memcpy(&arr, m + boff + 8, 8);
	touch(arr, (uint64_t)n * sizeof(struct xs_tx_region));
	for (i = 0; i < n; i++) {
		touch(txs[i].offset, txs[i].length);
		FZ_ASSERT(txs[i].offset != arr);
		for (j = 0; j < i; j++)
			FZ_ASSERT(txs[i].offset != txs[j].offset);
	}
}

static void do_gen_response(struct xs_ledger *l, uint8_t sel, const uint8_t *m)
{
	static struct xs_resp_view v; /* 6.7 KiB: off the stack */
	unsigned type = sel & 0x80 ? XS_MSG_CHECK_TO_PACK : XS_MSG_WORKER_TO_PACK;
	const struct xs_bindings *b = xs_bindings_get(gen_bindings(sel));
	uint8_t sent[32];
	size_t before[4], after[4];
	unsigned i;
	int err;

	/* the request pack kept: the fixture's batch of that kind, laid out
	 * as this version's request (check requests of bindings 6: batch @8) */
	{
		int check = type == XS_MSG_CHECK_TO_PACK || (sel & 0x20);
		uint64_t arr = check ? fx.batch_check : fx.batch_exec;
		unsigned reqtype = type == XS_MSG_CHECK_TO_PACK ? XS_MSG_PACK_TO_CHECK
								: XS_MSG_PACK_TO_WORKER;
		unsigned boff = b->size[reqtype] == 24 ? 8 : 16, flags;

		if (b->id == XS_BIND_3_1)
			flags = check ? XS_V1_PACK_RESOLVE : XS_V1_PACK_NONE;
		else if (b->split)
			flags = 1;
		else
			flags = check ? XS_CHECK_STATUS_CHECKS : XS_PACK_EXECUTE;
		memset(sent, 0, sizeof(sent));
		sent[0] = (uint8_t)flags;
		sent[boff] = FZ_FIX_BATCH;
		memcpy(sent + boff + 8, &arr, 8);
	}
	err = xs_msg_check_response(b->id, type, fx.pack, m, sel & 0x40 ? sent : NULL, &v);
	if (err) {
		FZ_ASSERT(err < 0 && !v.has_responses && v.num == 0);
		return;
	}
	FZ_ASSERT(b->size[type] != 0);
	FZ_ASSERT(v.num >= 1 && v.num <= XS_MAX_TXS_PER_BATCH && v.num == m[0]);
	FZ_ASSERT(v.status != XS_RESP_ST_UNKNOWN);
	touch(v.batch_offset, (uint64_t)v.num * sizeof(struct xs_tx_region));
	FZ_ASSERT(v.has_responses == (v.status == XS_RESP_ST_PROCESSED));
	if (v.has_responses) {
		FZ_ASSERT(v.elem_size == b->size[v.kind == XS_REQ_EXECUTE ? XS_MSG_EXEC_RESPONSE
									   : XS_MSG_CHECK_RESPONSE]);
		touch(v.responses_offset, (uint64_t)v.num * v.elem_size);
		FZ_ASSERT(v.num_pubkeys_arrays <= v.num);
		for (i = 0; i < v.num_pubkeys_arrays; i++)
			touch(v.pubkeys[i], 32);
	} else {
		FZ_ASSERT(v.num_pubkeys_arrays == 0);
	}
	/* the ledger step is all or nothing */
	ledger_counts(l, before);
	err = xs_guard_accept_resp(l, &v);
	ledger_counts(l, after);
	if (err) {
		FZ_ASSERT(err == -XS_EMSG_NOT_LENT || err == -XS_EMSG_OWNED_TWICE);
		for (i = 0; i < 4; i++)
			FZ_ASSERT(before[i] == after[i]);
		return;
	}
	FZ_ASSERT(xs_ledger_state(l, v.batch_offset) == XS_LEDGER_HELD);
	FZ_ASSERT(after[XS_LEDGER_LENT] + 1 == before[XS_LEDGER_LENT]);
	if (v.has_responses)
		FZ_ASSERT(after[XS_LEDGER_HELD] ==
			  before[XS_LEDGER_HELD] + 2 + v.num_pubkeys_arrays);
	FZ_ASSERT(xs_guard_accept_resp(l, &v) == -XS_EMSG_NOT_LENT);
}

/* Apply {u32 offset, u8 len, bytes} patches to the fixture file. */
static int apply_patches(const uint8_t *p, size_t n)
{
	int any = 0;

	while (n >= 5) {
		uint64_t off = fz_le32(p) % fx.size;
		size_t len = p[4];

		p += 5;
		n -= 5;
		if (len > n)
			len = n;
		if (len > fx.size - off)
			len = fx.size - off;
		memcpy(fx.base + off, p, len);
		p += len;
		n -= len;
		any = 1;
	}
	return any;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	union {
		struct xs_tpu_to_pack tpu;
		struct xs_progress progress;
		struct xs_pack_to_worker p2w;
		struct xs_worker_to_pack w2p;
		uint8_t raw[FZ_GEN_MSG_LEN];
	} m;
	static const size_t msz[FZ_MSG_KINDS] = {
		sizeof(struct xs_tpu_to_pack),    sizeof(struct xs_progress),
		sizeof(struct xs_pack_to_worker), sizeof(struct xs_worker_to_pack),
		sizeof(struct xs_worker_to_pack), sizeof(struct xs_worker_to_pack),
		FZ_GEN_MSG_LEN, FZ_GEN_MSG_LEN, FZ_GEN_MSG_LEN,
	};
	struct xs_ledger l;
	unsigned kind;
	uint8_t sel = 0;
	size_t len;
	int patched, i;

	if (!fx_ready) {
		fz_fixture_open(&fx);
		fx_ready = 1;
	}
	if (size < 1)
		return 0;
	kind = data[0] % FZ_MSG_KINDS;
	if (kind >= FZ_MSG_GEN_PROGRESS) {
		/* the selector byte comes first: consume it */
		if (size < 2)
			return 0;
		sel = data[1];
		data++;
		size--;
	}
	memset(&m, 0, sizeof(m));
	len = size - 1 < msz[kind] ? size - 1 : msz[kind];
	memcpy(&m, data + 1, len);
	patched = apply_patches(data + 1 + len, size - 1 - len);

	/* pack's ledger: it holds every transaction and both batch arrays,
	 * and has lent the batches with their requests */
	FZ_ASSERT(xs_ledger_init_alloc(&l, fx.pack) == 0);
	for (i = 0; i < FZ_FIX_NTX; i++)
		FZ_ASSERT(xs_ledger_take(&l, fx.tx[i]) == 0);
	FZ_ASSERT(xs_guard_allocated(&l, fx.batch_exec) == 0);
	FZ_ASSERT(xs_guard_allocated(&l, fx.batch_check) == 0);
	FZ_ASSERT(xs_guard_lend_batch(&l, &fx.sent_exec) == 0);
	FZ_ASSERT(xs_guard_lend_batch(&l, &fx.sent_check) == 0);

	switch (kind) {
	case FZ_MSG_TPU:
		do_tpu(&l, &m.tpu);
		break;
	case FZ_MSG_PROGRESS:
		do_progress(&m.progress);
		break;
	case FZ_MSG_P2W:
		do_p2w(&m.p2w);
		break;
	case FZ_MSG_W2P:
		do_w2p(&l, &m.w2p, &fx.sent_exec);
		break;
	case FZ_MSG_W2P_CHECK:
		do_w2p(&l, &m.w2p, &fx.sent_check);
		break;
	case FZ_MSG_W2P_BLIND:
		do_w2p(&l, &m.w2p, NULL);
		break;
	case FZ_MSG_GEN_PROGRESS:
		do_gen_progress(sel, m.raw);
		break;
	case FZ_MSG_GEN_REQUEST:
		do_gen_request(sel, m.raw);
		break;
	default:
		do_gen_response(&l, sel, m.raw);
		break;
	}
	xs_ledger_fini(&l);
	if (patched)
		fz_fixture_reset(&fx);
	return 0;
}
