/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: an MPMC shaq queue file (formats 2.0 / 3.0 or detected) a peer
 * prepared, probed (xs_shaq_probe) and joined (xs_mpmc_attach_mem), then the
 * joined end run through every call (copying, zero-copy, blocking with a
 * zero timeout, recovery) while the "peer" stores arbitrary cursor values.
 * Whatever the file holds, a join is refused with an error or the handle
 * never hands out more items / free slots than the capacity, touches only
 * slots inside the file (the image sits in a buffer of exactly its size:
 * ASan reports anything past it), returns only documented codes, and never
 * hangs (its in-order waits are bounded: the stall timeout is set short).
 */
#include <errno.h>

#include "fuzz_common.h"
#include "xsched/mpmc.h"

#define HDR 35

static const size_t elem_sizes[8] = { 16, 24, 32, 40, 8, 48, 64, 96 };

static int documented(int rc)
{
	return rc >= 0 || rc == -EAGAIN || rc == -EBUSY || rc == -EINVAL || rc == -XS_EQ_CORRUPT ||
	       rc == -XS_EQ_STALLED || rc == -ETIMEDOUT;
}

/* The peer stores the cursors selected by @p which. */
static void peer_store(struct xs_mpmc *q, const uint64_t *v, uint8_t which)
{
	const struct xs_shaq_fmt *f = q->fmt;
	const uint32_t off[4] = { f->mpmc_prod_res, f->mpmc_prod_pub, f->mpmc_cons_res,
				  f->mpmc_cons_rel };

	for (int i = 0; i < 4; i++)
		if (which & (1u << i))
			__atomic_store_n((uint64_t *)(void *)(q->base + off[i]), v[i],
					 __ATOMIC_RELEASE);
}

static void run_producer(struct xs_mpmc *q, uint8_t ops)
{
	uint64_t cap = xs_mpmc_capacity(q), n = 0, pos;
	uint8_t buf[4 * 96];
	int rc;

	memset(buf, 0x5a, sizeof(buf));
	while ((rc = xs_mpmc_try_push(q, buf)) == 0)
		FZ_ASSERT(++n <= cap); /* never more free slots than the ring holds */
	FZ_ASSERT(documented(rc));
	rc = xs_mpmc_push_n(q, buf, 1 + (ops & 3));
	FZ_ASSERT(documented(rc));
	rc = xs_mpmc_reserve_write(q, 1 + ((ops >> 2) & 3), &pos);
	FZ_ASSERT(documented(rc));
	if (rc == 0) {
		for (uint32_t i = 0; i < q->pend_n; i++)
			memset(xs_mpmc_slot(q, pos + i), 0xa5, q->elem_size);
		FZ_ASSERT(documented(xs_mpmc_publish(q)));
	}
	FZ_ASSERT(documented(xs_mpmc_flush(q)));
}

static void run_consumer(struct xs_mpmc *q, uint8_t ops)
{
	uint64_t cap = xs_mpmc_capacity(q), n = 0, sum = 0, pos;
	uint8_t buf[4 * 96];
	uint32_t k;
	int rc;

	while ((rc = xs_mpmc_try_pop(q, buf)) == 0)
		FZ_ASSERT(++n <= cap); /* never more items than the ring holds */
	FZ_ASSERT(documented(rc));
	rc = xs_mpmc_pop_n(q, buf, 1 + (ops & 3));
	FZ_ASSERT(documented(rc) && rc <= 4);
	rc = xs_mpmc_reserve_read(q, 1 + ((ops >> 2) & 3), &pos, &k);
	FZ_ASSERT(documented(rc));
	if (rc == 0) {
		FZ_ASSERT(k >= 1 && k <= 4 && k <= cap);
		for (uint32_t i = 0; i < k; i++) { /* every byte: ASan checks it is in the file */
			const uint8_t *e = xs_mpmc_slot(q, pos + i);

			for (uint32_t b = 0; b < q->elem_size; b++)
				sum += e[b];
		}
		FZ_ASSERT(documented(xs_mpmc_release(q)));
	}
	FZ_ASSERT(documented(xs_mpmc_pop_block(q, buf, 0)));
	FZ_ASSERT(documented(xs_mpmc_flush(q)));
	(void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_mpmc q;
	enum xs_shaq_format fmt;
	uint64_t v[4];
	uint8_t mode, ops, which;
	size_t len, es;
	void *mem = NULL;
	int err, role;

	if (size < HDR)
		return 0;
	mode = data[0];
	ops = data[1];
	for (int i = 0; i < 4; i++)
		v[i] = fz_le64(data + 2 + 8 * i);
	which = data[34];
	data += HDR;
	len = size - HDR;
	role = mode & 1 ? XS_MPMC_CONSUMER : XS_MPMC_PRODUCER;
	fmt = ((mode >> 1) & 3) == 0 ? XS_SHAQ_2_0 : ((mode >> 1) & 3) == 1 ? XS_SHAQ_3_0 : XS_SHAQ_ANY;
	es = elem_sizes[(mode >> 3) & 7];

	if (posix_memalign(&mem, 4096, len ? len : 1))
		return 0;
	memcpy(mem, data, len);
	{
		struct xs_shaq_info info;

		if (xs_shaq_probe(mem, len, &info) == 0) {
			FZ_ASSERT(info.format <= XS_SHAQ_3_0);
			FZ_ASSERT(info.ring_offset <= len);
		}
	}
	err = xs_mpmc_attach_mem(&q, mem, len, es, 8, fmt, (enum xs_mpmc_role)role, 0);
	if (err) {
		FZ_ASSERT(err < 0);
		FZ_ASSERT(xs_strerror(err) != NULL);
		free(mem);
		return 0;
	}
	FZ_ASSERT(q.format == XS_SHAQ_2_0 || q.format == XS_SHAQ_3_0);
	FZ_ASSERT(xs_shaq_ring_offset((enum xs_shaq_format)q.format, XS_SHAQ_MPMC, 8) +
			  xs_mpmc_capacity(&q) * es <= len);
	xs_mpmc_set_stall_timeout(&q, 100000); /* 0.1 ms: a dead "peer" must not slow fuzzing */

	if (role == XS_MPMC_PRODUCER)
		run_producer(&q, ops);
	else
		run_consumer(&q, ops);
	peer_store(&q, v, which);
	if (role == XS_MPMC_PRODUCER)
		run_producer(&q, ops >> 4);
	else
		run_consumer(&q, ops >> 4);
	if (ops & 0x80) { /* recovery: only documented results, then the queue runs on */
		int64_t r = xs_mpmc_recover(&q);

		FZ_ASSERT(r >= 0 || r == -XS_EQ_CORRUPT);
		if (role == XS_MPMC_CONSUMER) {
			r = xs_mpmc_recover_lossy(&q);
			FZ_ASSERT(r >= 0 || r == -XS_EQ_CORRUPT);
		}
		if (role == XS_MPMC_PRODUCER)
			run_producer(&q, ops);
		else
			run_consumer(&q, ops);
	}
	FZ_ASSERT(xs_mpmc_error(&q) == 0 || xs_mpmc_error(&q) == -XS_EQ_CORRUPT);
	xs_mpmc_close(&q);
	free(mem);
	return 0;
}
