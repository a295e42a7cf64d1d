/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz fixtures and the seeds derived from them (see fuzz_fixture.h). */
#include "fuzz_fixture.h"
#include "fuzz_common.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xsched/alloc.h"

#define FIX_CHECK(expr)                                                                  \
	do {                                                                             \
		int rc_ = (expr);                                                        \
		if (rc_ < 0) {                                                           \
			fprintf(stderr, "fuzz fixture: %s failed: %s (%s)\n", #expr,     \
				xs_strerror(rc_), xs_errmsg());                          \
			abort();                                                         \
		}                                                                        \
	} while (0)

static uint64_t fix_alloc(struct xs_alloc *a, size_t len, uint8_t fill)
{
	uint64_t off;

	FIX_CHECK(xs_alloc_alloc_offset(a, len, &off));
	memset(xs_alloc_ptr(a, off), fill, len);
	return off;
}

void fz_fixture_open(struct fz_fixture *f)
{
	struct xs_tx_region *regions;
	struct xs_exec_resp *er;
	struct xs_check_resp *cr;
	int i;

	memset(f, 0, sizeof(*f));
	f->fd = memfd_create("xs-fuzz-fixture", MFD_CLOEXEC);
	FIX_CHECK(f->fd);
	FIX_CHECK(xs_alloc_create(&f->tpu, f->fd, FZ_FIX_SIZE, 3, FZ_FIX_SLAB, 0));
	FIX_CHECK(xs_alloc_join_handle(&f->worker, f->tpu, 1));
	FIX_CHECK(xs_alloc_join_handle(&f->pack, f->tpu, 2));
	f->base = xs_alloc_base(f->tpu);
	f->size = xs_alloc_size(f->tpu);

	/* Agave TPU: transactions */
	for (i = 0; i < FZ_FIX_NTX; i++)
		f->tx[i] = fix_alloc(f->tpu, 300, (uint8_t)(0x10 + i));

	/* pack: an execute batch (tx 0..3) and a check batch (tx 4..7) */
	f->batch_exec = fix_alloc(f->pack, FZ_FIX_BATCH * sizeof(*regions), 0);
	f->batch_check = fix_alloc(f->pack, FZ_FIX_BATCH * sizeof(*regions), 0);
	regions = xs_alloc_ptr(f->pack, f->batch_exec);
	for (i = 0; i < FZ_FIX_BATCH; i++)
		regions[i] = (struct xs_tx_region){.offset = f->tx[i], .length = 300};
	regions = xs_alloc_ptr(f->pack, f->batch_check);
	for (i = 0; i < FZ_FIX_BATCH; i++)
		regions[i] = (struct xs_tx_region){.offset = f->tx[4 + i], .length = 300};
	f->sent_exec = (struct xs_pack_to_worker){
		.flags = XS_PACK_EXECUTE | XS_EXEC_DROP_ON_FAILURE,
		.max_working_slot = 1000,
		.batch = {.num_transactions = FZ_FIX_BATCH, .transactions_offset = f->batch_exec},
	};
	f->sent_check = (struct xs_pack_to_worker){
		.flags = XS_PACK_CHECK | XS_CHECK_STATUS_CHECKS | XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES,
		.max_working_slot = 1000,
		.batch = {.num_transactions = FZ_FIX_BATCH, .transactions_offset = f->batch_check},
	};

	/* Agave worker: responses, two with resolved pubkeys */
	f->resp_exec = fix_alloc(f->worker, FZ_FIX_BATCH * sizeof(*er), 0);
	f->pubkeys[0] = fix_alloc(f->worker, 5 * 32, 0x77);
	f->pubkeys[1] = fix_alloc(f->worker, 5 * 32, 0x78);
	f->resp_check = fix_alloc(f->worker, FZ_FIX_BATCH * sizeof(*cr), 0);
	er = xs_alloc_ptr(f->worker, f->resp_exec);
	for (i = 0; i < FZ_FIX_BATCH; i++)
		er[i] = (struct xs_exec_resp){
			.not_included_reason = i == 3 ? XS_NIR_ACCOUNT_IN_USE : XS_NIR_NONE,
			.cost_units = 1000u * (unsigned)i,
			.fee_payer_balance = 5000,
		};
	cr = xs_alloc_ptr(f->worker, f->resp_check);
	for (i = 0; i < FZ_FIX_BATCH; i++) {
		cr[i] = (struct xs_check_resp){
			.status_check_flags = XS_STATUS_REQUESTED | XS_STATUS_PERFORMED,
			.resolve_flags = XS_RESOLVE_REQUESTED,
			.min_alt_deactivation_slot = UINT64_MAX,
		};
		if (i % 2 == 0) {
			cr[i].resolve_flags |= XS_RESOLVE_PERFORMED;
			cr[i].resolved_pubkeys = (struct xs_pubkeys){
				.offset = f->pubkeys[i / 2], .num_pubkeys = 5};
		}
	}
	f->done_exec = (struct xs_worker_to_pack){
		.batch = f->sent_exec.batch,
		.processed_code = XS_PROCESSED,
		.responses = {.tag = XS_RESP_EXECUTION, .num_transaction_responses = FZ_FIX_BATCH,
			      .transaction_responses_offset = f->resp_exec},
	};
	f->done_check = (struct xs_worker_to_pack){
		.batch = f->sent_check.batch,
		.processed_code = XS_PROCESSED,
		.responses = {.tag = XS_RESP_CHECK, .num_transaction_responses = FZ_FIX_BATCH,
			      .transaction_responses_offset = f->resp_check},
	};
	f->pristine = malloc(f->size);
	if (!f->pristine)
		abort();
	memcpy(f->pristine, f->base, f->size);
}

void fz_fixture_reset(struct fz_fixture *f)
{
	memcpy(f->base, f->pristine, f->size);
}

void fz_fixture_close(struct fz_fixture *f)
{
	xs_alloc_close(f->pack);
	xs_alloc_close(f->worker);
	xs_alloc_close(f->tpu);
	close(f->fd);
	free(f->pristine);
	memset(f, 0, sizeof(*f));
}

/* ----------------------------------------------------------- alloc seeds */

/*
 * fuzz_alloc input of an allocator file image: the metadata before the
 * slabs verbatim (trailing zeros dropped) and, for each 256-byte unit of the
 * slabs whose first 8 bytes are not zero (remote-free links live there), a
 * patch of those 8 bytes.
 */
static void alloc_seed(fz_emit_fn emit, const char *name, const uint8_t *img, size_t size,
		       uint8_t worker)
{
	uint32_t slabs = fz_le32(img + 36), off;
	size_t meta = slabs < size ? slabs : size, len = 0, cap;
	uint8_t *buf, lg = 0;

	while ((1024ull << lg) < size)
		lg++;
	if (meta > 0xffff)
		meta = 0xffff;
	while (meta > 0 && img[meta - 1] == 0)
		meta--;
	cap = 4 + meta + (size / 256) * 13;
	buf = malloc(cap);
	if (!buf)
		abort();
	buf[len++] = worker;
	buf[len++] = lg;
	buf[len++] = (uint8_t)meta;
	buf[len++] = (uint8_t)(meta >> 8);
	memcpy(buf + len, img, meta);
	len += meta;
	for (off = slabs; off + 8 <= size; off += 256) {
		if (!fz_le64(img + off))
			continue;
		memcpy(buf + len, &off, 4);
		buf[len + 4] = 8;
		memcpy(buf + len + 5, img + off, 8);
		len += 13;
	}
	emit("fuzz_alloc", name, buf, len);
	free(buf);
}

void fz_seeds_alloc(fz_load_fn load, fz_emit_fn emit)
{
	static const char *steps[] = {
		"rtsalloc_128KiB_slab16KiB_w2_s0_created.bin",
		"rtsalloc_128KiB_slab16KiB_w2_s1_allocated.bin",
		"rtsalloc_128KiB_slab16KiB_w2_s2_freed.bin",
		"rtsalloc_128KiB_slab16KiB_w2_s3_w0_cleaned.bin",
		"rtsalloc_128KiB_slab16KiB_w2_s4_w1_cleaned.bin",
		"rtsalloc_128KiB_slab16KiB_w2_s5_all_freed.bin",
	};
	struct fz_fixture f;
	char name[128];
	size_t i, len;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		uint8_t *v = load(steps[i], &len);
		uint8_t *bad = malloc(len);

		snprintf(name, sizeof(name), "%s.w0", steps[i]);
		alloc_seed(emit, name, v, len, 0);
		snprintf(name, sizeof(name), "%s.w1", steps[i]);
		alloc_seed(emit, name, v, len, 1);
		if (i == 0) {
			/* slab 1 linked back to slab 0: the global list 0 -> 1 -> 0 */
			uint32_t zero = 0;

			memcpy(bad, v, len);
			memcpy(bad + 256 + 12 * 1, &zero, 4); /* node[1].global_next (FLE 256) */
			alloc_seed(emit, "slab_linked_twice.w0", bad, len, 0);
		}
		if (i == 1) {
			/* worker 0's slab 0 (2 slots live) linked in as the global head */
			uint32_t zero = 0, four = 4;

			memcpy(bad, v, len);
			memcpy(bad + 64, &zero, 4);       /* global head (was 4) */
			memcpy(bad + 256, &four, 4);      /* node[0].global_next */
			alloc_seed(emit, "owned_slab_in_global.w0", bad, len, 0);
		}
		if (i == 2) {
			/* a double remote free: slot 0 of slab 0 links to itself */
			memcpy(bad, v, len);
			bad[16384] = 0;
			bad[16385] = 0;
			alloc_seed(emit, "double_remote_free.w0", bad, len, 0);
			/* a header that lies about its layout, and one with a wrong magic */
			memcpy(bad, v, len);
			bad[16] = 9; /* num_slabs */
			alloc_seed(emit, "bad_num_slabs.w0", bad, len, 0);
			memcpy(bad, v, len);
			bad[0] ^= 1;
			alloc_seed(emit, "bad_magic.w0", bad, len, 0);
		}
		free(bad);
		free(v);
	}
	/* the message fixture after its allocations, as each of its workers */
	fz_fixture_open(&f);
	alloc_seed(emit, "msg_fixture.w0", f.base, f.size, 0);
	alloc_seed(emit, "msg_fixture.w2", f.base, f.size, 2);
	fz_fixture_close(&f);
}

/* ------------------------------------------------------------- msg seeds */

static void msg_seed(fz_emit_fn emit, const char *name, uint8_t kind, const void *msg,
		     size_t len, const uint8_t *patch, size_t plen)
{
	uint8_t buf[512];

	buf[0] = kind;
	memcpy(buf + 1, msg, len);
	if (plen)
		memcpy(buf + 1 + len, patch, plen);
	emit("fuzz_msg", name, buf, 1 + len + plen);
}

/* A patch {u32 offset, u8 len, bytes} into the fixture file. */
static size_t patch(uint8_t *out, uint64_t off, const void *bytes, uint8_t len)
{
	uint32_t o = (uint32_t)off;

	memcpy(out, &o, 4);
	out[4] = len;
	memcpy(out + 5, bytes, len);
	return 5u + len;
}

void fz_seeds_msg(fz_load_fn load, fz_emit_fn emit)
{
	static const struct {
		const char *file;
		uint8_t kind;
	} vec[] = {
		{"msg_tpu_to_pack_k1.bin", FZ_MSG_TPU},
		{"msg_progress.bin", FZ_MSG_PROGRESS},
		{"msg_pack_to_worker.bin", FZ_MSG_P2W},
		{"msg_worker_to_pack.bin", FZ_MSG_W2P_BLIND},
	};
	size_t len, k;
	struct fz_fixture f;
	struct xs_tpu_to_pack tpu;
	struct xs_progress pr;
	struct xs_pack_to_worker p2w;
	struct xs_worker_to_pack w2p;
	uint8_t pbuf[256];
	size_t pl;
	int i;

	fz_fixture_open(&f);
	/* upstream's messages as they are (their offsets name nothing here) */
	for (k = 0; k < sizeof(vec) / sizeof(vec[0]); k++) {
		uint8_t *v = load(vec[k].file, &len);

		msg_seed(emit, vec[k].file, vec[k].kind, v, len, NULL, 0);
		free(v);
	}
	/* upstream's inner responses inside the fixture's response arrays */
	{
		uint8_t *v = load("msg_execution_response.bin", &len);

		pl = patch(pbuf, f.resp_exec, v, (uint8_t)len);
		msg_seed(emit, "w2p_exec_vector_resp", FZ_MSG_W2P, &f.done_exec,
			 sizeof(f.done_exec), pbuf, pl);
		free(v);
		v = load("msg_check_response.bin", &len);
		pl = patch(pbuf, f.resp_check + sizeof(struct xs_check_resp), v, (uint8_t)len);
		msg_seed(emit, "w2p_check_vector_resp", FZ_MSG_W2P_CHECK, &f.done_check,
			 sizeof(f.done_check), pbuf, pl);
		free(v);
	}
	for (i = 0; i < 3; i++) {
		char name[64];

		memset(&tpu, 0, sizeof(tpu));
		tpu.transaction.offset = f.tx[i];
		tpu.transaction.length = (uint32_t)(i == 2 ? 512 : 300);
		tpu.flags = (uint8_t)i;
		snprintf(name, sizeof(name), "tpu_tx%d", i);
		msg_seed(emit, name, FZ_MSG_TPU, &tpu, sizeof(tpu), NULL, 0);
	}
	memset(&pr, 0, sizeof(pr));
	pr.leader_state = XS_LEADER_IS_LEADER;
	pr.current_slot = 42;
	pr.next_leader_slot = UINT64_MAX;
	pr.leader_range_end = UINT64_MAX;
	pr.current_slot_progress = 99;
	msg_seed(emit, "progress", FZ_MSG_PROGRESS, &pr, sizeof(pr), NULL, 0);

	msg_seed(emit, "p2w_exec", FZ_MSG_P2W, &f.sent_exec, sizeof(f.sent_exec), NULL, 0);
	msg_seed(emit, "p2w_check", FZ_MSG_P2W, &f.sent_check, sizeof(f.sent_check), NULL, 0);
	/* a batch whose second region the peer moved into the middle of a slot */
	{
		struct xs_tx_region r = {.offset = f.tx[1] + 16, .length = 300};

		pl = patch(pbuf, f.batch_exec + sizeof(r), &r, sizeof(r));
		msg_seed(emit, "p2w_interior", FZ_MSG_P2W, &f.sent_exec, sizeof(f.sent_exec), pbuf,
			 pl);
	}
	p2w = f.sent_exec;
	p2w.batch.num_transactions = 65;
	msg_seed(emit, "p2w_65", FZ_MSG_P2W, &p2w, sizeof(p2w), NULL, 0);

	msg_seed(emit, "w2p_exec", FZ_MSG_W2P, &f.done_exec, sizeof(f.done_exec), NULL, 0);
	msg_seed(emit, "w2p_check", FZ_MSG_W2P_CHECK, &f.done_check, sizeof(f.done_check), NULL, 0);
	msg_seed(emit, "w2p_check_blind", FZ_MSG_W2P_BLIND, &f.done_check, sizeof(f.done_check),
		 NULL, 0);
	w2p = f.done_exec;
	w2p.responses.num_transaction_responses = 3;
	msg_seed(emit, "w2p_count", FZ_MSG_W2P, &w2p, sizeof(w2p), NULL, 0);
	/* a check response whose pubkeys point at the other response's keys */
	{
		struct xs_pubkeys pk = {.offset = f.pubkeys[0], .num_pubkeys = 5};

		pl = patch(pbuf, f.resp_check + 2 * sizeof(struct xs_check_resp) + 48, &pk,
			   sizeof(pk));
		msg_seed(emit, "w2p_dup_pubkeys", FZ_MSG_W2P_CHECK, &f.done_check,
			 sizeof(f.done_check), pbuf, pl);
	}
	/* generic kinds: each bindings version, both queues, with and without
	 * the request kept; messages as the fixture's VERSION 2 ones (valid
	 * bytes for several versions) and two version-specific ones */
	{
		uint8_t gbuf[2 + FZ_GEN_MSG_LEN];
		char name[64];

		for (unsigned b = 0; b < 6; b++) {
			gbuf[0] = FZ_MSG_GEN_PROGRESS;
			gbuf[1] = (uint8_t)b;
			memset(gbuf + 2, 0, FZ_GEN_MSG_LEN);
			memcpy(gbuf + 2, &pr, sizeof(pr));
			snprintf(name, sizeof(name), "gen_progress_b%u", b);
			emit("fuzz_msg", name, gbuf, sizeof(gbuf));
			gbuf[0] = FZ_MSG_GEN_REQUEST;
			memset(gbuf + 2, 0, FZ_GEN_MSG_LEN);
			memcpy(gbuf + 2, &f.sent_exec, sizeof(f.sent_exec));
			snprintf(name, sizeof(name), "gen_request_b%u", b);
			emit("fuzz_msg", name, gbuf, sizeof(gbuf));
			gbuf[1] = (uint8_t)(b | 0x80); /* the check queue */
			snprintf(name, sizeof(name), "gen_request_check_b%u", b);
			emit("fuzz_msg", name, gbuf, sizeof(gbuf));
			gbuf[0] = FZ_MSG_GEN_RESPONSE;
			gbuf[1] = (uint8_t)(b | 0x40);
			memset(gbuf + 2, 0, FZ_GEN_MSG_LEN);
			memcpy(gbuf + 2, &f.done_exec, sizeof(f.done_exec));
			snprintf(name, sizeof(name), "gen_resp_exec_b%u", b);
			emit("fuzz_msg", name, gbuf, sizeof(gbuf));
			gbuf[1] = (uint8_t)(b | 0x60);
			memcpy(gbuf + 2, &f.done_check, sizeof(f.done_check));
			snprintf(name, sizeof(name), "gen_resp_check_b%u", b);
			emit("fuzz_msg", name, gbuf, sizeof(gbuf));
			gbuf[1] = (uint8_t)(b | 0xC0);
			snprintf(name, sizeof(name), "gen_resp_checkq_b%u", b);
			emit("fuzz_msg", name, gbuf, sizeof(gbuf));
		}
	}
	fz_fixture_close(&f);
}
