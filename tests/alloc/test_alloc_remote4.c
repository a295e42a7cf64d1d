/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: format 4.0 remote frees (RTS_ALLOC4.md §7).
 *  - one at a time: each freed slot's first 8 bytes hold the next offset
 *    (NULL_USIZE at the end), the owner's remote_free_head the newest; the
 *    slot's other bytes are untouched; the owner's drain takes all back
 *    and its outstanding bytes fall only then;
 *  - a batch to several owners (xs_alloc_free_offsets): one CAS per
 *    destination, chains published last destination first (seen through
 *    the flush hook), each owner's stack reading this batch's frees for it
 *    newest first, then what it held before (the crate's
 *    test_remote_free_batch_mixed_owners order); the freer's own slots are
 *    freed locally in the same call; a bad offset in the batch is reported
 *    while the others are still freed;
 *  - more destinations than the batch table holds (70 owners): flushed
 *    when full, every stack still exact;
 *  - 1000 slots of every class freed in shuffled batches by another
 *    mapping: the drain takes every one back, nothing in use, no
 *    outstanding bytes, every slab back on the global list;
 *  - format 3.0 keeps the per-slab u16 stacks (RTS_ALLOC.md §7.2) and
 *    counts outstanding bytes through them.
 */
#include <string.h>
#include <unistd.h>

#include "alloc_testlib.h"
#include "testutil.h"
#include "xsched/shm.h"

#define MiB (1024u * 1024u)
#define F4 XS_ALLOC_FMT_4_0

static uint64_t rd64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void wr64(void *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Worker w's remote_free_head seen through handle a's mapping. */
static uint64_t remote_head(struct xs_alloc *a, uint32_t w)
{
	return rd64(xs_alloc_base(a) + 128 + 128 * (size_t)w + 64);
}

static uint64_t link_of(struct xs_alloc *a, uint64_t off)
{
	return rd64(xs_alloc_ptr(a, off));
}

static uint64_t outstanding(struct xs_alloc *a, uint32_t w)
{
	return rd64(xs_alloc_base(a) + 128 + (size_t)xs_alloc_format_info(xs_alloc_format_of(a))->entry_size * w + 8);
}

/* Walk worker w's stack from the head and compare with want[0..n). */
static void expect_stack(struct xs_alloc *a, uint32_t w, const uint64_t *want, size_t n)
{
	uint64_t h = remote_head(a, w);
	size_t i;

	for (i = 0; i < n; i++) {
		T_ASSERT(h == want[i], "worker %u stack entry %zu: %llu, expected %llu", w, i,
			 (unsigned long long)h, (unsigned long long)want[i]);
		h = link_of(a, h);
	}
	T_EQ(h, XS_ALLOC_NULL_USIZE);
}

static void test_single(void)
{
	struct xs_alloc *a, *b;
	uint64_t o[4], want[3];
	int fd = xs_memfd_create("xs-alloc-remote4", 0), i;
	uint8_t *p;

	T_OK(fd);
	T_OK(xs_alloc_create_fmt(&a, fd, 1 * MiB, 2, 16384, F4, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_join_fmt(&b, fd, F4, XS_ALLOC_CLAIM)); /* its own mapping */
	for (i = 0; i < 4; i++) {
		T_OK(xs_alloc_alloc_offset(a, 256, &o[i]));
		memset(xs_alloc_ptr(a, o[i]), 0x30 + i, 256);
	}
	T_EQ(outstanding(a, 0), 1024);
	T_EQ(remote_head(a, 0), XS_ALLOC_NULL_USIZE);
	T_OK(xs_alloc_free_offset(b, o[1]));
	T_OK(xs_alloc_free_offset(b, o[3]));
	T_OK(xs_alloc_free_offset(b, o[0]));
	want[0] = o[0];
	want[1] = o[3];
	want[2] = o[1];
	expect_stack(a, 0, want, 3);
	T_EQ(xs_alloc_counters(b)->remote_pushes, 3);
	T_EQ(xs_alloc_counters(b)->frees_remote, 3);
	/* only the link was written: bytes 8.. keep the payload */
	p = xs_alloc_ptr(a, o[3]);
	for (i = 8; i < 256; i++)
		T_EQ(p[i], 0x33);
	T_EQ(outstanding(a, 0), 1024); /* until the owner drains */
	{
		struct xs_alloc_worker_stats ws[2];
		struct xs_alloc_stats st;

		T_OK(xs_alloc_stats(b, &st, ws, 2));
		T_EQ(ws[0].remote_pending, 1);
		T_EQ(ws[1].remote_pending, 0);
		T_EQ(st.remote_pending_workers, 1);
		T_EQ(st.claimed_slots, 2);
		T_EQ(st.outstanding_bytes, 1024);
	}
	T_EQ(xs_alloc_clean_remote(a), 3);
	T_EQ(remote_head(a, 0), XS_ALLOC_NULL_USIZE);
	T_EQ(outstanding(a, 0), 256);
	T_EQ(xs_alloc_clean_remote(a), 0);
	/* the slots are reusable, and the one still held is not handed out */
	for (i = 0; i < 3; i++) {
		uint64_t off;

		T_OK(xs_alloc_alloc_offset(a, 256, &off));
		T_ASSERT(off != o[2]);
	}
	T_ERR(xs_alloc_free_offset(b, o[2] + 8), -XS_EA_NOT_SLOT);
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
}

struct flush_log {
	uint32_t w[128], n[128];
	unsigned count;
};

static void flush_hook(struct xs_alloc *a, int point, uint32_t head, uint32_t next, void *arg)
{
	struct flush_log *log = arg;

	(void)a;
	if (point != XS_ALLOC_HOOK_REMOTE_FLUSH || log->count >= 128)
		return;
	log->w[log->count] = head;
	log->n[log->count++] = next;
}

static void test_batch_mixed_owners(void)
{
	struct xs_alloc *a, *b, *c;
	struct flush_log log;
	uint64_t x[4], y[2], z, batch[8], want[4];
	int fd = xs_memfd_create("xs-alloc-remote4", 0), i;

	T_OK(fd);
	T_OK(xs_alloc_create_fmt(&a, fd, 1 * MiB, 3, 16384, F4, XS_ALLOC_CLAIM)); /* slot 0 */
	T_OK(xs_alloc_join_fmt(&b, fd, F4, XS_ALLOC_CLAIM));                      /* slot 1, freer */
	T_OK(xs_alloc_join_handle(&c, a, XS_ALLOC_CLAIM));                         /* slot 2 */
	T_EQ(xs_alloc_worker(c), 2);
	for (i = 0; i < 4; i++)
		T_OK(xs_alloc_alloc_offset(a, 512, &x[i]));
	for (i = 0; i < 2; i++)
		T_OK(xs_alloc_alloc_offset(c, 2048, &y[i]));
	T_OK(xs_alloc_alloc_offset(b, 100, &z));
	T_EQ(outstanding(b, 1), 256);
	/* what a's stack holds before the batch */
	T_OK(xs_alloc_free_offset(b, x[0]));
	memset(&log, 0, sizeof(log));
	xs_alloc_set_test_hook(b, flush_hook, &log);
	batch[0] = x[1];
	batch[1] = y[0];
	batch[2] = x[2];
	batch[3] = z; /* the freer's own: local, at once */
	batch[4] = y[1];
	batch[5] = 12345; /* not in the slabs: reported, the rest still freed */
	batch[6] = x[3];
	xs_clearerr();
	T_ERR(xs_alloc_free_offsets(b, batch, 7), -XS_EA_OFFSET);
	T_ASSERT(strstr(xs_errmsg(), "12345") != NULL, "%s", xs_errmsg());
	xs_alloc_set_test_hook(b, NULL, NULL);
	T_EQ(outstanding(b, 1), 0);
	/* one CAS per destination (plus the single free before), last first */
	T_EQ(xs_alloc_counters(b)->remote_pushes, 1 + 2);
	T_EQ(log.count, 2);
	T_EQ(log.w[0], 2);
	T_EQ(log.n[0], 2);
	T_EQ(log.w[1], 0);
	T_EQ(log.n[1], 3);
	/* newest first, then the previous stack */
	want[0] = x[3];
	want[1] = x[2];
	want[2] = x[1];
	want[3] = x[0];
	expect_stack(a, 0, want, 4);
	want[0] = y[1];
	want[1] = y[0];
	expect_stack(a, 2, want, 2);
	T_EQ(remote_head(a, 1), XS_ALLOC_NULL_USIZE);
	T_EQ(outstanding(a, 0), 4 * 512);
	T_EQ(xs_alloc_clean_remote(c), 2);
	T_EQ(xs_alloc_clean_remote(a), 4);
	T_EQ(outstanding(a, 0), 0);
	T_EQ(outstanding(a, 2), 0);
	xs_alloc_close(c);
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
}

/* 70 destinations: the batch table (XS_ALLOC_BATCH_OWNERS) fills once. */
static void test_batch_many_owners(void)
{
	enum { NO = 70 };
	struct xs_alloc *a, *h[NO], *b;
	struct flush_log log;
	uint64_t off[NO][2], batch[2 * NO];
	int fd = xs_memfd_create("xs-alloc-remote4", 0), i;

	T_OK(fd);
	T_ASSERT(NO > XS_ALLOC_BATCH_OWNERS && NO < 2 * XS_ALLOC_BATCH_OWNERS);
	T_OK(xs_alloc_create_fmt(&a, fd, 4 * MiB, 1, 16384, F4, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_join_handle(&b, a, XS_ALLOC_CLAIM)); /* the freer: slot 1 */
	for (i = 0; i < NO; i++) {
		T_OK(xs_alloc_join_handle(&h[i], a, XS_ALLOC_CLAIM)); /* slots 2 .. 71 */
		T_OK(xs_alloc_alloc_offset(h[i], 256, &off[i][0]));
		T_OK(xs_alloc_alloc_offset(h[i], 256, &off[i][1]));
	}
	/* first slots of every owner, then second slots: two per chain */
	for (i = 0; i < NO; i++) {
		batch[i] = off[i][0];
		batch[NO + i] = off[i][1];
	}
	memset(&log, 0, sizeof(log));
	xs_alloc_set_test_hook(b, flush_hook, &log);
	T_OK(xs_alloc_free_offsets(b, batch, 2 * NO));
	xs_alloc_set_test_hook(b, NULL, NULL);
	/* The table fills at the 65th owner: its 64 chains (one slot each) go
	 * out last first (slots 65 .. 2); gathering restarts, fills again in
	 * the second half and is flushed once more, then the rest at the end.
	 * Every owner's first slot is published before its second. */
	T_ASSERT(log.count >= NO, "%u flushes", log.count);
	T_EQ(log.w[0], 2 + XS_ALLOC_BATCH_OWNERS - 1);
	T_EQ(log.w[XS_ALLOC_BATCH_OWNERS - 1], 2);
	for (i = 0; i < NO; i++) {
		uint64_t want[2] = {off[i][1], off[i][0]};

		expect_stack(a, 2 + (uint32_t)i, want, 2);
		T_EQ(xs_alloc_clean_remote(h[i]), 2);
		T_EQ(outstanding(a, 2 + (uint32_t)i), 0);
	}
	for (i = 0; i < NO; i++)
		xs_alloc_close(h[i]);
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
}

/* Many slots of every class, freed in shuffled batches through another
 * mapping; the owner drains everything back. */
static void test_bulk(enum xs_alloc_format f)
{
	enum { N = 1000 };
	struct xs_alloc *a, *b;
	struct xs_alloc_stats st;
	struct t_audit au;
	static uint64_t o[N];
	uint64_t rng = 7;
	int fd = xs_memfd_create("xs-alloc-remote4", 0), i, cleaned = 0, rc;

	T_OK(fd);
	T_OK(xs_alloc_create_fmt(&a, fd, 8 * MiB, 2, 16384, f, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_join_fmt(&b, fd, f, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_set_policy(a, XS_ALLOC_POLICY_UPSTREAM, 0));
	for (i = 0; i < N; i++) {
		T_OK(xs_alloc_alloc_offset(a, 1 + t_rand(&rng) % 4096, &o[i]));
		wr64(xs_alloc_ptr(a, o[i]) + 8, o[i]);
	}
	for (i = N - 1; i > 0; i--) {
		int j = (int)(t_rand(&rng) % (uint64_t)(i + 1));
		uint64_t t = o[i];

		o[i] = o[j];
		o[j] = t;
	}
	for (i = 0; i < N; i += 64) {
		T_OK(xs_alloc_free_offsets(b, &o[i], N - i < 64 ? (size_t)(N - i) : 64));
		if (i % 256 == 0) {
			rc = xs_alloc_clean_remote(a); /* drains interleaved with frees */
			T_OK(rc);
			cleaned += rc;
		}
	}
	rc = xs_alloc_clean_remote(a);
	T_OK(rc);
	cleaned += rc;
	T_EQ(cleaned, N);
	for (i = 0; i < N; i++) /* payload beyond the link untouched */
		T_EQ(rd64(xs_alloc_ptr(a, o[i]) + 8), o[i]);
	T_OK(xs_alloc_stats(a, &st, NULL, 0));
	T_EQ(st.bytes_in_use, 0);
	T_EQ(st.outstanding_bytes, 0);
	T_EQ(st.handle.cleaned, N);
	T_OK(t_alloc_audit(a, &au));
	T_EQ(au.global, xs_alloc_num_slabs(a));
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
}

/* 3.0: per-slab u16 stacks as 0.2, outstanding bytes through them. */
static void test_fmt3(void)
{
	struct xs_alloc *a, *b;
	uint64_t o[3];
	const uint8_t *meta;
	uint16_t head;
	int fd = xs_memfd_create("xs-alloc-remote4", 0), i;

	T_OK(fd);
	T_OK(xs_alloc_create_fmt(&a, fd, 1 * MiB, 2, 16384, XS_ALLOC_FMT_3_0, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_join_fmt(&b, fd, XS_ALLOC_FMT_3_0, XS_ALLOC_CLAIM));
	for (i = 0; i < 3; i++)
		T_OK(xs_alloc_alloc_offset(a, 1024, &o[i]));
	T_EQ(outstanding(a, 0), 3072);
	T_OK(xs_alloc_free_offset(b, o[2]));
	T_OK(xs_alloc_free_offsets(b, o, 2));
	/* the slab's u16 head: o0's slot (the batch chain o0 -> o1 -> o2, the old head) */
	meta = xs_alloc_base(a) + ((const struct xs_alloc_header_shm *)(const void *)xs_alloc_base(a))
					  ->slab_shared_meta_offset +
	       128 * (size_t)((o[0] - xs_alloc_slabs_offset(a)) / 16384);
	memcpy(&head, meta + 64, 2);
	T_EQ(head, (o[0] - xs_alloc_slabs_offset(a)) % 16384 / 1024);
	T_EQ(outstanding(a, 0), 3072);
	T_EQ(xs_alloc_clean_remote(a), 3);
	T_EQ(outstanding(a, 0), 0);
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
}

int main(void)
{
	test_single();
	test_batch_mixed_owners();
	test_batch_many_owners();
	test_bulk(XS_ALLOC_FMT_4_0);
	test_bulk(XS_ALLOC_FMT_3_0);
	test_fmt3();
	return 0;
}
