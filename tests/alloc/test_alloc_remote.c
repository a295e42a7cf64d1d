/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: remote frees and the owner's clean.
 *  - single remote frees build the 0.2.0 chain (newest first, link in the
 *    slot's first 2 bytes) and the clean takes them all back;
 *  - xs_alloc_free_offsets: a run into one slab is one CAS (the chain is
 *    in batch order, ending in the previous head), runs into other slabs
 *    and the freer's own slots are handled in the same call, a bad offset
 *    in the batch is reported while the others are still freed; the
 *    resulting bytes are exactly what one-by-one pushes in reverse would
 *    give (what a 0.2.0 owner walks);
 *  - a double remote free (two pushes of one slot) makes upstream's clean
 *    loop forever: here it is reported (-XS_EA_DOUBLE_FREE when other slots
 *    are held, -XS_EA_REMOTE_CORRUPT when the walk exceeds the allocated
 *    slots) and the clean returns; remote-free of a slot already cleaned
 *    back is a double free too;
 *  - corrupt links written by a peer: out of range, a cycle among held
 *    slots; other slabs are still cleaned; the remote head of an empty
 *    stack is not written by a clean;
 *  - under the upstream policy a clean that empties a slab returns it.
 */
#include <string.h>
#include <unistd.h>

#include "alloc_testlib.h"
#include "testutil.h"
#include "xsched/shm.h"

struct pair {
	struct xs_alloc *w0, *w1;
	int fd;
};

static void open_pair(struct pair *p, size_t size)
{
	p->fd = xs_memfd_create("xs-alloc-remote", 0);
	T_OK(p->fd);
	T_OK(xs_alloc_create(&p->w0, p->fd, size, 2, 16384, 0));
	T_OK(xs_alloc_join(&p->w1, p->fd, 1)); /* its own mapping: offsets only */
}

static void close_pair(struct pair *p)
{
	xs_alloc_close(p->w1);
	xs_alloc_close(p->w0);
	close(p->fd);
}

static const struct xs_alloc_slab_meta_shm *meta_of(struct xs_alloc *a, uint32_t s)
{
	const struct xs_alloc_header_shm *h = (const void *)xs_alloc_base(a);

	return (const void *)(xs_alloc_base(a) + h->slab_shared_meta_offset + (size_t)s * 128);
}

static uint16_t link_at(struct xs_alloc *a, uint64_t off)
{
	uint16_t v;

	memcpy(&v, xs_alloc_ptr(a, off), 2);
	return v;
}

static uint32_t slot_of(struct xs_alloc *a, uint64_t off, uint32_t csize)
{
	return (uint32_t)(((off - xs_alloc_slabs_offset(a)) % 16384) / csize);
}

static void test_single_and_clean(void)
{
	struct pair p;
	uint64_t o[8];
	uint32_t i;

	open_pair(&p, 1u << 20);
	for (i = 0; i < 8; i++) {
		T_OK(xs_alloc_alloc_offset(p.w0, 512, &o[i]));
		memset(xs_alloc_ptr(p.w0, o[i]), 0x11, 512);
	}
	for (i = 0; i < 8; i++)
		T_OK(xs_alloc_free_offset(p.w1, o[i]));
	/* newest first: head = slot 7 -> 6 -> ... -> 0 -> NULL */
	T_EQ(meta_of(p.w0, 0)->remote_head, 7);
	for (i = 1; i < 8; i++)
		T_EQ(link_at(p.w0, o[i]), i - 1);
	T_EQ(link_at(p.w0, o[0]), 0xFFFF);
	T_EQ(xs_alloc_counters(p.w1)->remote_pushes, 8);
	T_EQ(xs_alloc_clean_remote(p.w0), 8);
	T_EQ(meta_of(p.w0, 0)->remote_head, 0xFFFF);
	T_EQ(xs_alloc_clean_remote(p.w0), 0);
	T_EQ(xs_alloc_counters(p.w0)->cleaned, 8);
	/* all free again: eight new allocations get the same slots */
	for (i = 0; i < 8; i++) {
		uint64_t x;

		T_OK(xs_alloc_alloc_offset(p.w0, 512, &x));
		T_ASSERT(x >= o[0] && x <= o[7]);
	}
	close_pair(&p);
}

static void test_batch(void)
{
	struct pair p, q;
	uint64_t a[6], b[6], own, batch[16];
	size_t n = 0;
	uint32_t i;
	uint8_t img1[1u << 20], img2[1u << 20];

	open_pair(&p, 1u << 20);
	for (i = 0; i < 6; i++)
		T_OK(xs_alloc_alloc_offset(p.w0, 256, &a[i])); /* slab 0 */
	for (i = 0; i < 6; i++)
		T_OK(xs_alloc_alloc_offset(p.w0, 1024, &b[i])); /* slab 1 */
	T_OK(xs_alloc_alloc_offset(p.w1, 2048, &own));
	/* runs: a0..a2 | b0 b1 | own (local) | a3..a5 | bad | b2 */
	batch[n++] = a[0], batch[n++] = a[1], batch[n++] = a[2];
	batch[n++] = b[0], batch[n++] = b[1];
	batch[n++] = own;
	batch[n++] = a[3], batch[n++] = a[4], batch[n++] = a[5];
	batch[n++] = 17; /* not an allocation */
	batch[n++] = b[2];
	T_ERR(xs_alloc_free_offsets(p.w1, batch, n), -XS_EA_OFFSET);
	T_EQ(xs_alloc_counters(p.w1)->remote_pushes, 4);
	T_EQ(xs_alloc_counters(p.w1)->frees_remote, 9);
	T_EQ(xs_alloc_counters(p.w1)->frees_local, 1);
	/* slab 0's chain: a3 -> a4 -> a5 -> a0 -> a1 -> a2 -> NULL */
	T_EQ(meta_of(p.w0, 0)->remote_head, slot_of(p.w0, a[3], 256));
	T_EQ(link_at(p.w0, a[5]), slot_of(p.w0, a[0], 256));
	T_EQ(link_at(p.w0, a[2]), 0xFFFF);
	T_EQ(pread(p.fd, img1, sizeof(img1), 0), sizeof(img1));

	/* the same frees one by one, each run reversed, give the same bytes */
	open_pair(&q, 1u << 20);
	for (i = 0; i < 6; i++)
		T_OK(xs_alloc_alloc_offset(q.w0, 256, &a[i]));
	for (i = 0; i < 6; i++)
		T_OK(xs_alloc_alloc_offset(q.w0, 1024, &b[i]));
	T_OK(xs_alloc_alloc_offset(q.w1, 2048, &own));
	T_OK(xs_alloc_free_offset(q.w1, a[2]));
	T_OK(xs_alloc_free_offset(q.w1, a[1]));
	T_OK(xs_alloc_free_offset(q.w1, a[0]));
	T_OK(xs_alloc_free_offset(q.w1, b[1]));
	T_OK(xs_alloc_free_offset(q.w1, b[0]));
	T_OK(xs_alloc_free_offset(q.w1, own));
	T_OK(xs_alloc_free_offset(q.w1, a[5]));
	T_OK(xs_alloc_free_offset(q.w1, a[4]));
	T_OK(xs_alloc_free_offset(q.w1, a[3]));
	T_OK(xs_alloc_free_offset(q.w1, b[2]));
	T_EQ(pread(q.fd, img2, sizeof(img2), 0), sizeof(img2));
	T_BYTES("batched vs single remote frees", img1, img2, sizeof(img1));

	T_EQ(xs_alloc_clean_remote(p.w0), 9);
	T_EQ(xs_alloc_clean_remote(q.w0), 9);
	close_pair(&q);
	close_pair(&p);
}

static void test_double_remote(void)
{
	struct pair p;
	uint64_t o[4], x;

	/* two slots held, one freed remotely twice: the second push links the
	 * slot to itself; the walk meets it again and stops */
	open_pair(&p, 1u << 20);
	T_OK(xs_alloc_alloc_offset(p.w0, 300, &o[0]));
	T_OK(xs_alloc_alloc_offset(p.w0, 300, &o[1]));
	T_OK(xs_alloc_free_offset(p.w1, o[0]));
	T_OK(xs_alloc_free_offset(p.w1, o[0]));
	T_EQ(link_at(p.w0, o[0]), slot_of(p.w0, o[0], 512)); /* self link */
	T_ERR(xs_alloc_clean_remote(p.w0), -XS_EA_DOUBLE_FREE);
	T_ASSERT(strstr(xs_errmsg(), "double free") != NULL, "%s", xs_errmsg());
	T_EQ(xs_alloc_clean_remote(p.w0), 0); /* nothing left, no loop */
	/* the slot was freed once and is usable; o[1] still held */
	T_OK(xs_alloc_alloc_offset(p.w0, 300, &x));
	T_EQ(x, o[0]);
	close_pair(&p);

	/* one slot held, freed remotely twice: the walk exceeds the one
	 * allocated slot before it could even meet a free one */
	open_pair(&p, 1u << 20);
	T_OK(xs_alloc_alloc_offset(p.w0, 300, &o[0]));
	T_OK(xs_alloc_free_offset(p.w1, o[0]));
	T_OK(xs_alloc_free_offset(p.w1, o[0]));
	T_ERR(xs_alloc_clean_remote(p.w0), -XS_EA_REMOTE_CORRUPT);
	T_ASSERT(strstr(xs_errmsg(), "longer than") != NULL, "%s", xs_errmsg());
	close_pair(&p);

	/* freed remotely, cleaned back, freed remotely again */
	open_pair(&p, 1u << 20);
	T_OK(xs_alloc_alloc_offset(p.w0, 300, &o[0]));
	T_OK(xs_alloc_alloc_offset(p.w0, 300, &o[1]));
	T_OK(xs_alloc_free_offset(p.w1, o[0]));
	T_EQ(xs_alloc_clean_remote(p.w0), 1);
	T_OK(xs_alloc_free_offset(p.w1, o[0]));
	T_ERR(xs_alloc_clean_remote(p.w0), -XS_EA_DOUBLE_FREE);
	/* the free stack did not get the slot twice: two allocations differ */
	T_OK(xs_alloc_alloc_offset(p.w0, 300, &o[2]));
	T_OK(xs_alloc_alloc_offset(p.w0, 300, &o[3]));
	T_ASSERT(o[2] != o[3] && o[2] != o[1] && o[3] != o[1]);
	close_pair(&p);
}

static void test_corrupt_links(void)
{
	struct pair p;
	uint64_t o[4], other;
	uint16_t bad;
	uint32_t i;

	open_pair(&p, 1u << 20);
	for (i = 0; i < 4; i++)
		T_OK(xs_alloc_alloc_offset(p.w0, 256, &o[i]));
	T_OK(xs_alloc_alloc_offset(p.w0, 4096, &other)); /* another slab */
	T_OK(xs_alloc_free_offset(p.w1, o[0]));
	T_OK(xs_alloc_free_offset(p.w1, o[1])); /* chain 1 -> 0 */
	T_OK(xs_alloc_free_offset(p.w1, other));
	bad = 0x7777; /* a buggy peer scribbles over slot 0's link */
	memcpy(xs_alloc_ptr(p.w1, o[0]), &bad, 2);
	T_ERR(xs_alloc_clean_remote(p.w0), -XS_EA_REMOTE_CORRUPT);
	T_ASSERT(strstr(xs_errmsg(), "30583") != NULL, "%s", xs_errmsg());
	/* slots 1 and 0 came back before the bad link was followed; the other
	 * slab was cleaned too */
	T_EQ(xs_alloc_counters(p.w0)->cleaned, 3);
	close_pair(&p);

	/* a cycle among held slots: 2 -> 1 -> 2 (slot 3 and 0 still held) */
	open_pair(&p, 1u << 20);
	for (i = 0; i < 4; i++)
		T_OK(xs_alloc_alloc_offset(p.w0, 256, &o[i]));
	T_OK(xs_alloc_free_offset(p.w1, o[1]));
	T_OK(xs_alloc_free_offset(p.w1, o[2])); /* 2 -> 1 -> NULL */
	bad = 2;
	memcpy(xs_alloc_ptr(p.w1, o[1]), &bad, 2); /* 2 -> 1 -> 2 */
	T_ERR(xs_alloc_clean_remote(p.w0), -XS_EA_DOUBLE_FREE);
	T_EQ(xs_alloc_clean_remote(p.w0), 0);
	close_pair(&p);

	/* a damaged owner byte: a free cannot tell who owns the slab */
	open_pair(&p, 1u << 20);
	T_OK(xs_alloc_alloc_offset(p.w0, 256, &o[0]));
	{
		uint32_t owner = 77;

		memcpy((uint8_t *)meta_of(p.w1, 0), &owner, 4);
		T_ERR(xs_alloc_free_offset(p.w1, o[0]), -XS_EA_UNASSIGNED);
		owner = 0;
		memcpy((uint8_t *)meta_of(p.w1, 0), &owner, 4);
	}
	T_OK(xs_alloc_free_offset(p.w1, o[0]));
	close_pair(&p);
}

static void test_upstream_clean_returns(void)
{
	struct pair p;
	struct t_audit au;
	uint64_t o[64];
	uint32_t i;

	open_pair(&p, 1u << 20);
	T_OK(xs_alloc_set_policy(p.w0, XS_ALLOC_POLICY_UPSTREAM, 0));
	for (i = 0; i < 64; i++) /* a full 256-byte slab */
		T_OK(xs_alloc_alloc_offset(p.w0, 256, &o[i]));
	T_OK(xs_alloc_free_offsets(p.w1, o, 64));
	T_EQ(xs_alloc_counters(p.w1)->remote_pushes, 1);
	T_EQ(xs_alloc_clean_remote(p.w0), 64); /* full -> partial -> empty -> global */
	T_OK(t_alloc_audit(p.w0, &au));
	T_EQ(au.global, xs_alloc_num_slabs(p.w0));
	T_EQ(au.on_workers, 0);
	close_pair(&p);
}

int main(void)
{
	int fds = t_fd_count();

	test_single_and_clean();
	test_batch();
	test_double_remote();
	test_corrupt_links();
	test_upstream_clean_returns();
	T_EQ(t_fd_count(), fds);
	return 0;
}
