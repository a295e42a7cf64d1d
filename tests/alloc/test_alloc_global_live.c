/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: a global free list that offers a slab still in use by the
 * taking worker (a hostile or corrupted file). Upstream re-initialises such
 * a slab and hands its live slots out a second time; xsched refuses it with
 * -XS_EA_SLAB_LIVE, leaves the slab alone and takes no more slabs from that
 * list, while the worker's own slabs keep working. Forged states:
 *  - a slab this worker owns, with live slots, linked in as the list head
 *    (tagged and 0.2.0 list algorithms): refused, the slab's metadata and
 *    free stack untouched, the file consistent again afterwards (the slab
 *    was popped off the list it never belonged to), later takes refused
 *    too, the own slab still allocates and frees;
 *  - the same in a file joined afresh: the worker's live slots come from
 *    the file (a previous handle), the new handle rebuilds its view from
 *    the lists, refuses the slab, and never hands out a slot the file
 *    says is in use (their bytes stay intact);
 *  - a slab index linked twice (the list 0 -> 1 -> 0): the second visit of
 *    slab 0 is refused, every slot handed out is distinct;
 *  - a slab this worker gave back with a live slot (its free stack was
 *    forged into claiming one free slot too many): the shadow bitmap shows
 *    the live slot when the list offers the slab again; refused.
 * In each case: no live slot is ever handed out twice, the error carries
 * the slab number in xs_errmsg(), and nothing crashes or leaks.
 */
#include <string.h>
#include <unistd.h>

#include "alloc_testlib.h"
#include "testutil.h"
#include "xsched/shm.h"

#define SLAB 16384u

/* Direct views of the file (the forging "peer"). */
static struct xs_alloc_header_shm *hdr(const struct xs_alloc *a)
{
	return (struct xs_alloc_header_shm *)(void *)xs_alloc_base(a);
}

static struct xs_alloc_node_shm *node(const struct xs_alloc *a, uint32_t s)
{
	return (struct xs_alloc_node_shm *)(void *)(xs_alloc_base(a) + hdr(a)->free_list_elements_offset) + s;
}

static struct xs_alloc_slab_meta_shm *meta(const struct xs_alloc *a, uint32_t s)
{
	return (struct xs_alloc_slab_meta_shm *)(void *)(xs_alloc_base(a) + hdr(a)->slab_shared_meta_offset) + s;
}

static struct xs_alloc_fstack_shm *fstack(const struct xs_alloc *a, uint32_t s)
{
	return (struct xs_alloc_fstack_shm *)(void *)(xs_alloc_base(a) + hdr(a)->slab_free_stacks_offset +
						      (size_t)s * (4 + 2 * (SLAB / 256)));
}

static uint32_t slab_of(const struct xs_alloc *a, uint64_t off)
{
	return (uint32_t)((off - xs_alloc_slabs_offset(a)) / SLAB);
}

/* Offsets handed out and still held: each new one must be new. */
struct held {
	uint64_t off[256];
	uint32_t n;
};

static void hold(struct held *h, uint64_t off)
{
	uint32_t i;

	for (i = 0; i < h->n; i++)
		T_ASSERT(h->off[i] != off, "offset %llu handed out twice", (unsigned long long)off);
	T_ASSERT(h->n < 256);
	h->off[h->n++] = off;
}

static int new_file(struct xs_alloc **a, size_t size, int tagged)
{
	int fd = xs_memfd_create("xs-alloc-global-live", 0);

	T_OK(fd);
	T_OK(xs_alloc_create(a, fd, size, 2, SLAB, 0));
	if (!tagged)
		T_OK(xs_alloc_set_aba_tag(*a, 0));
	return fd;
}

/* A slab we own, with live slots, forged in as the head of the global list. */
static void test_owned_head(int tagged)
{
	struct xs_alloc *a;
	struct held h = {.n = 0};
	struct t_audit au;
	uint64_t off, errs;
	uint32_t i, head, top;
	int fd = new_file(&a, 1u << 20, tagged);

	for (i = 0; i < 3; i++) {
		T_OK(xs_alloc_alloc_offset(a, 256, &off));
		hold(&h, off);
		T_EQ(slab_of(a, off), 0);
	}
	head = hdr(a)->global.half.index;
	T_EQ(head, 1);
	top = fstack(a, 0)->top;
	/* the peer links slab 0 in front: 0 -> 1 -> 2 ... */
	node(a, 0)->global_next = head;
	hdr(a)->global.half.index = 0;
	T_ASSERT(t_alloc_audit(a, &au) < 0 && au.dups == 1);

	/* a 512-byte request needs a new slab: the list offers slab 0 */
	errs = xs_alloc_counters(a)->errors;
	T_ERR(xs_alloc_alloc_offset(a, 512, &off), -XS_EA_SLAB_LIVE);
	T_ASSERT(strstr(xs_errmsg(), "offered slab 0 ") != NULL, "%s", xs_errmsg());
	T_ASSERT(strstr(xs_errmsg(), "owns (3 of its slots live)") != NULL, "%s", xs_errmsg());
	T_EQ(xs_alloc_counters(a)->errors, errs + 1);
	/* slab 0 untouched: still ours, class 0, same free stack */
	T_EQ(meta(a, 0)->assigned_worker, 0);
	T_EQ(meta(a, 0)->size_class_index, 0);
	T_EQ(fstack(a, 0)->top, top);
	T_EQ(fstack(a, 0)->capacity, SLAB / 256);
	/* popping it off the list it never belonged on made the file consistent */
	T_EQ(hdr(a)->global.half.index, 1);
	T_ASSERT(t_alloc_audit(a, &au) == 0, "%s", au.why);

	/* no more slabs from that list, even for another class */
	T_ERR(xs_alloc_alloc_offset(a, 4096, &off), -XS_EA_SLAB_LIVE);
	T_ASSERT(strstr(xs_errmsg(), "found corrupt earlier") != NULL, "%s", xs_errmsg());
	T_EQ(hdr(a)->global.half.index, 1);
	/* the own slab keeps serving its class, never a held slot */
	for (i = 0; i < 20; i++) {
		T_OK(xs_alloc_alloc_offset(a, 200, &off));
		hold(&h, off);
		T_EQ(slab_of(a, off), 0);
	}
	for (i = 0; i < h.n; i++)
		T_OK(xs_alloc_free_offset(a, h.off[i]));
	T_ASSERT(t_alloc_audit(a, &au) == 0, "%s", au.why);
	xs_alloc_close(a);
	close(fd);
}

/* The same state in a file a new handle joins: the live slots are the
 * file's (a previous handle of worker 0 allocated them and closed). */
static void test_owned_head_join(void)
{
	struct xs_alloc *a, *b;
	struct held h = {.n = 0};
	uint64_t live[5], off;
	uint32_t i, k;
	int fd = new_file(&a, 1u << 20, 1);

	for (i = 0; i < 5; i++) {
		T_OK(xs_alloc_alloc_offset(a, 1024, &live[i]));
		memset(xs_alloc_ptr(a, live[i]), 0xA0 + (int)i, 1024);
		T_EQ(slab_of(a, live[i]), 0);
	}
	xs_alloc_close(a); /* slab 0 stays worker 0's, 5 of 16 slots in use */

	T_OK(xs_alloc_join(&b, fd, 0));
	node(b, 0)->global_next = hdr(b)->global.half.index;
	hdr(b)->global.half.index = 0;
	T_ERR(xs_alloc_alloc_offset(b, 256, &off), -XS_EA_SLAB_LIVE);
	T_ASSERT(strstr(xs_errmsg(), "offered slab 0 ") != NULL, "%s", xs_errmsg());
	T_ASSERT(strstr(xs_errmsg(), "owns (5 of its slots live)") != NULL, "%s", xs_errmsg());
	T_EQ(meta(b, 0)->size_class_index, 2);
	/* the other 11 slots of slab 0, none of the 5 live ones; then no slab */
	for (i = 0; i < 11; i++) {
		T_OK(xs_alloc_alloc_offset(b, 1000, &off));
		for (k = 0; k < 5; k++)
			T_ASSERT(off != live[k], "live slot %llu handed out again", (unsigned long long)off);
		hold(&h, off);
		memset(xs_alloc_ptr(b, off), 0x55, 1000);
	}
	T_ERR(xs_alloc_alloc_offset(b, 1000, &off), -XS_EA_SLAB_LIVE);
	for (k = 0; k < 5; k++) {
		const uint8_t *p = xs_alloc_ptr(b, live[k]);

		for (i = 0; i < 1024; i++)
			T_EQ(p[i], 0xA0 + k);
	}
	/* the live slots are the file's: this handle may free them */
	for (k = 0; k < 5; k++)
		T_OK(xs_alloc_free_offset(b, live[k]));
	for (i = 0; i < h.n; i++)
		T_OK(xs_alloc_free_offset(b, h.off[i]));
	xs_alloc_close(b);
	close(fd);
}

/* A slab linked twice: 0 -> 1 -> 0. */
static void test_linked_twice(int tagged)
{
	struct xs_alloc *a;
	struct held h = {.n = 0};
	uint64_t off;
	uint32_t i;
	int fd = new_file(&a, 1u << 20, tagged);

	T_EQ(hdr(a)->global.half.index, 0);
	node(a, 1)->global_next = 0;
	/* 4 slots of 4096 bytes per slab: slab 0, then slab 1 */
	for (i = 0; i < 8; i++) {
		T_OK(xs_alloc_alloc_offset(a, 4096, &off));
		hold(&h, off);
		T_EQ(slab_of(a, off), i / 4);
	}
	/* the list now offers slab 0 again (upstream: slot 0 of slab 0 twice) */
	T_ERR(xs_alloc_alloc_offset(a, 4096, &off), -XS_EA_SLAB_LIVE);
	T_ASSERT(strstr(xs_errmsg(), "offered slab 0 ") != NULL, "%s", xs_errmsg());
	T_ERR(xs_alloc_alloc_offset(a, 3000, &off), -XS_EA_SLAB_LIVE);
	T_EQ(meta(a, 0)->assigned_worker, 0);
	T_EQ(fstack(a, 0)->top, 0);
	/* freeing works; the freed slots come back, still one holder each */
	T_OK(xs_alloc_free_offset(a, h.off[5]));
	h.off[5] = h.off[--h.n];
	T_OK(xs_alloc_alloc_offset(a, 4096, &off));
	hold(&h, off);
	for (i = 0; i < h.n; i++)
		T_OK(xs_alloc_free_offset(a, h.off[i]));
	xs_alloc_close(a);
	close(fd);
}

/* A slab given back with a live slot: its free stack claimed one more free
 * slot than the shadow bitmap knows, so the last free emptied it "early". */
static void test_returned_live(void)
{
	struct xs_alloc *a;
	struct xs_alloc_fstack_shm *fs;
	uint64_t o0, o1, off;
	int fd = new_file(&a, 1u << 20, 1), rc;

	T_OK(xs_alloc_set_policy(a, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_OK(xs_alloc_alloc_offset(a, 4096, &o0));
	T_OK(xs_alloc_alloc_offset(a, 4096, &o1));
	T_EQ(slab_of(a, o0), 0);
	T_EQ(slab_of(a, o1), 0);
	fs = fstack(a, 0);
	T_EQ(fs->top, 2);
	/* the peer pushes slot 1 (held) onto the free stack */
	fs->stack[2] = (uint16_t)((o1 - xs_alloc_slabs_offset(a)) / 4096);
	fs->top = 3;
	/* freeing slot 0 fills the stack: the slab goes back to the list */
	T_OK(xs_alloc_free_offset(a, o0));
	T_EQ(hdr(a)->global.half.index, 0);
	/* and is offered again at once: slot 1 is live, refused */
	T_ERR(xs_alloc_alloc_offset(a, 4096, &off), -XS_EA_SLAB_LIVE);
	T_ASSERT(strstr(xs_errmsg(), "gave back with 1 slots still live") != NULL, "%s", xs_errmsg());
	T_ERR(xs_alloc_alloc_offset(a, 256, &off), -XS_EA_SLAB_LIVE);
	/* slot 1 is still known held: its free is accepted or refused as corrupt,
	 * never a double free */
	rc = xs_alloc_free_offset(a, o1);
	T_ASSERT(rc == 0 || rc == -XS_EA_CORRUPT, "free returned %d", rc);
	xs_alloc_close(a);
	close(fd);
}

int main(void)
{
	int fds = t_fd_count();

	test_owned_head(1);
	test_owned_head(0);
	test_owned_head_join();
	test_linked_twice(1);
	test_linked_twice(0);
	test_returned_live();
	T_EQ(t_fd_count(), fds);
	return 0;
}
