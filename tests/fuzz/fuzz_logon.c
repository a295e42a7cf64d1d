/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the server's logon parsing (xs_hs_parse_logon) over any bytes
 * a client can send, for every generation of the table (VERSION 1 - 5,
 * sdk6, sdk7). Invariants: a refusal is one of the documented codes with a
 * NUL-terminated reason that fits its buffer (SDK version texts included);
 * an acceptance has worker_count in 1..=64, allocator_handles in 1..=128,
 * check_worker_count in 1..=64 where the generation checks it, and
 * re-encoding the parsed logon for the same generation parses back to the
 * same values (the codec is consistent), fields it lacks staying 0.
 */
#include "fuzz_common.h"
#include "xsched/handshake.h"

static void one(const uint8_t *data, size_t size, uint32_t version, size_t cap)
{
	struct xs_logon lg, again;
	uint8_t buf[XS_HS_LOGON_BUF];
	char reason[300];
	int err;

	memset(reason, 0x7f, sizeof(reason));
	err = xs_hs_parse_logon(data, size, version, &lg, reason, cap);
	FZ_ASSERT(memchr(reason, '\0', cap) != NULL);
	if (err) {
		const struct xs_hs_proto *p = xs_hs_proto_get(version);

		FZ_ASSERT(err == -XS_EHS_EOF || err == -XS_EHS_VERSION ||
			  err == -XS_EHS_WORKER_COUNT || err == -XS_EHS_ALLOC_HANDLES ||
			  err == -XS_EHS_CHECK_WORKER_COUNT || err == -XS_EHS_ALLOC_SIZE ||
			  err == -XS_EHS_CAPACITY);
		/* a check a generation does not have never fires */
		FZ_ASSERT(err != -XS_EHS_CHECK_WORKER_COUNT || (p->checks & XS_HS_CHECK_CHECK_WORKERS));
		FZ_ASSERT(err != -XS_EHS_ALLOC_SIZE || (p->checks & XS_HS_CHECK_ALLOC_SIZE));
		FZ_ASSERT(err != -XS_EHS_CAPACITY || (p->checks & XS_HS_CHECK_CAPACITIES));
		FZ_ASSERT(size < XS_HS_LOGON_BUF || err != -XS_EHS_EOF);
		FZ_ASSERT(reason[0] != '\0' || cap == 1);
		return;
	}
	FZ_ASSERT(size >= XS_HS_LOGON_BUF);
	FZ_ASSERT(lg.worker_count >= 1 && lg.worker_count <= XS_HS_MAX_WORKERS);
	FZ_ASSERT(lg.allocator_handles >= 1 && lg.allocator_handles <= XS_HS_MAX_ALLOC_HANDLES);
	if (xs_hs_proto_get(version)->checks & XS_HS_CHECK_CHECK_WORKERS)
		FZ_ASSERT(lg.check_worker_count >= 1 && lg.check_worker_count <= XS_HS_MAX_CHECK_WORKERS);
	if (xs_hs_proto_get(version)->field_off[XS_LF_CHECK_WORKER_COUNT] == XS_LF_ABSENT)
		FZ_ASSERT(lg.check_worker_count == 0);
	if (xs_hs_proto_get(version)->field_off[XS_LF_PACK_TO_CHECK_WORKER] == XS_LF_ABSENT)
		FZ_ASSERT(lg.pack_to_check_worker_capacity == 0 && lg.check_worker_to_pack_capacity == 0);
	if (xs_hs_encode_logon(version, &lg, buf) != (int)XS_HS_LOGON_BUF)
		return; /* not expressible again (e.g. flags): fine, nothing was lost */
	FZ_ASSERT(xs_hs_parse_logon(buf, sizeof(buf), version, &again, NULL, 0) == 0);
	FZ_ASSERT(again.worker_count == lg.worker_count);
	FZ_ASSERT(again.allocator_size == lg.allocator_size);
	FZ_ASSERT(again.allocator_handles == lg.allocator_handles);
	FZ_ASSERT(again.tpu_to_pack_capacity == lg.tpu_to_pack_capacity);
	FZ_ASSERT(again.progress_tracker_capacity == lg.progress_tracker_capacity);
	FZ_ASSERT(again.pack_to_worker_capacity == lg.pack_to_worker_capacity);
	FZ_ASSERT(again.worker_to_pack_capacity == lg.worker_to_pack_capacity);
	FZ_ASSERT(again.flags == lg.flags);
	FZ_ASSERT(again.check_worker_count == lg.check_worker_count);
	FZ_ASSERT(again.pack_to_check_worker_capacity == lg.pack_to_check_worker_capacity);
	FZ_ASSERT(again.check_worker_to_pack_capacity == lg.check_worker_to_pack_capacity);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t v;

	for (v = XS_HS_VERSION_MIN; v <= XS_HS_VERSION_MAX; v++) {
		one(data, size, v, 300);
		one(data, size, v, 8); /* a reason buffer too small for any reason */
		one(data, size, v, 1);
	}
	return 0;
}
