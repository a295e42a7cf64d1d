/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: joining a shaq queue file a peer prepared (header validation
 * of xs_spsc_attach_mem), then running the joined end while the "peer"
 * stores arbitrary counters. Whatever the file and the counters hold, the
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
	fmt = mode & 1 ? XS_SHAQ_1_0 : XS_SHAQ_0_2;
	role = mode & 2 ? XS_SPSC_PRODUCER : XS_SPSC_CONSUMER;

	/* exact size (ASan redzone right after), header alignment as mmap gives */
	if (posix_memalign(&mem, 64, len ? len : 1))
		return 0;
	memcpy(mem, data, len);
	err = xs_spsc_attach_mem(&q, mem, len, es, 8, fmt, role, 0);
	if (err) {
		FZ_ASSERT(err < 0);
		FZ_ASSERT(xs_strerror(err) != NULL);
		free(mem);
		return 0;
	}
	FZ_ASSERT(xs_spsc_capacity(&q) >= 1);
	FZ_ASSERT(192 + xs_spsc_capacity(&q) * es <= len);

	if (role == XS_SPSC_CONSUMER) {
		drain(&q);
		/* the peer publishes an arbitrary write counter */
		__atomic_store_n(&q.hdr->write, w, __ATOMIC_RELEASE);
		drain(&q);
		__atomic_store_n(&q.hdr->write, r, __ATOMIC_RELEASE);
		drain(&q);
	} else {
		fill(&q);
		/* the peer publishes an arbitrary read counter */
		__atomic_store_n(&q.hdr->read, r, __ATOMIC_RELEASE);
		fill(&q);
		__atomic_store_n(&q.hdr->read, w, __ATOMIC_RELEASE);
		fill(&q);
	}
	xs_spsc_close(&q);
	free(mem);
	return 0;
}
