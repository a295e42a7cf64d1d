/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: joining a shaq queue file a peer prepared (header validation
 * of xs_spsc_attach_mem, every format: 0.2, 1.0, 2.0, 3.0 and detection with
 * XS_SHAQ_ANY, after xs_shaq_probe() of the same bytes), then running the
 * joined end while the "peer" stores arbitrary counters. Whatever the file and the counters hold, the
 * handle must either refuse (an error, never a crash) or stay inside the ring:
 * the file is copied into a buffer of exactly its size, so ASan reports any
 * access outside it, and the invariants below catch a view larger than the
 * capacity.
 */
#include "fuzz_common.h"
#include "xsched/msg.h"
#include "xsched/spsc.h"

static const size_t elem_sizes[8] = {
	16,
	sizeof(struct xs_tpu_to_pack),
	sizeof(struct xs_progress),
	sizeof(struct xs_pack_to_worker),
	sizeof(struct xs_worker_to_pack),
	8,
	24,
	64,
};

static uint64_t drain(struct xs_spsc *q)
{
	uint64_t n = 0, sum = 0, cap = xs_spsc_capacity(q);
	const uint8_t *e;

	while ((e = xs_spsc_poll(q))) {
		/* touch every byte of the slot: ASan checks it is inside the file */
		for (uint32_t i = 0; i < q->elem_size; i++)
			sum += e[i];
		FZ_ASSERT(++n <= cap); /* never more items than the ring holds */
	}
	xs_spsc_finalize(q);
	FZ_ASSERT(xs_spsc_error(q) == 0 || xs_spsc_error(q) == -XS_EQ_CORRUPT);
	return sum;
}

static void fill(struct xs_spsc *q)
{
	uint64_t n = 0, cap = xs_spsc_capacity(q);
	uint8_t *e;

	while ((e = xs_spsc_reserve(q))) {
		memset(e, 0x5a, q->elem_size);
		FZ_ASSERT(++n <= cap); /* never more free slots than the ring holds */
	}
	xs_spsc_commit(q);
	FZ_ASSERT(xs_spsc_error(q) == 0 || xs_spsc_error(q) == -XS_EQ_CORRUPT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_spsc q;
	uint8_t mode;
	uint64_t w, r;
	size_t len, es;
	void *mem = NULL;
	int fmt, role, err;

	if (size < 17)
		return 0;
	mode = data[0];
	w = fz_le64(data + 1);
	r = fz_le64(data + 9);
	data += 17;
	len = size - 17;
	es = elem_sizes[(mode >> 2) & 7];
	/* bits 5..6: 0 = bit 0 picks 0.2 / 1.0 (the seed-era layout of this
	 * byte), 1 = 2.0, 2 = 3.0, 3 = detect (XS_SHAQ_ANY) */
	switch ((mode >> 5) & 3) {
	case 0: fmt = mode & 1 ? XS_SHAQ_1_0 : XS_SHAQ_0_2; break;
	case 1: fmt = XS_SHAQ_2_0; break;
	case 2: fmt = XS_SHAQ_3_0; break;
	default: fmt = XS_SHAQ_ANY; break;
	}
	role = mode & 2 ? XS_SPSC_PRODUCER : XS_SPSC_CONSUMER;

	/* exact size (ASan redzone right after), header alignment as mmap gives
	 * (formats >= 2.0 require a page; 64 bytes are enough for 0.2/1.0 and
	 * much cheaper under ASan) */
	if (posix_memalign(&mem, fmt <= XS_SHAQ_1_0 ? 64 : 4096, len ? len : 1))
		return 0;
	memcpy(mem, data, len);
	{
		struct xs_shaq_info info;

		if (xs_shaq_probe(mem, len, &info) == 0) {
			FZ_ASSERT(info.format <= XS_SHAQ_3_0);
			FZ_ASSERT(info.ring_offset <= len);
			FZ_ASSERT(info.capacity && !(info.capacity & (info.capacity - 1)));
		}
	}
	err = xs_spsc_attach_mem(&q, mem, len, es, 8, fmt, role, 0);
	if (err) {
		FZ_ASSERT(err < 0);
		FZ_ASSERT(xs_strerror(err) != NULL);
		free(mem);
		return 0;
	}
	FZ_ASSERT(xs_spsc_capacity(&q) >= 1);
	FZ_ASSERT(xs_shaq_ring_offset((enum xs_shaq_format)q.format, XS_SHAQ_SPSC, 8) +
		  xs_spsc_capacity(&q) * es <= len);
	FZ_ASSERT(fmt == XS_SHAQ_ANY || q.format == fmt);
	FZ_ASSERT(!q.waiters == (q.format != XS_SHAQ_3_0));

	if (role == XS_SPSC_CONSUMER) {
		drain(&q);
		/* the peer publishes an arbitrary write counter */
		__atomic_store_n(q.wr, w, __ATOMIC_RELEASE);
		drain(&q);
		__atomic_store_n(q.wr, r, __ATOMIC_RELEASE);
		drain(&q);
	} else {
		fill(&q);
		/* the peer publishes an arbitrary read counter */
		__atomic_store_n(q.rd, r, __ATOMIC_RELEASE);
		fill(&q);
		__atomic_store_n(q.rd, w, __ATOMIC_RELEASE);
		fill(&q);
	}
	xs_spsc_close(&q);
	free(mem);
	return 0;
}
