/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: single-thread behaviour of the allocator.
 *  - size classes; sizes above 4096 refused, including 2^32 + 100 which
 *    upstream narrows to a 100-byte allocation;
 *  - offsets and pointers: every class, alignment, slab bounds, round trips;
 *  - xs_alloc_check / _within: slot start, interior, length past the slot,
 *    before/after the slabs, never-assigned slab, damaged class byte;
 *  - free errors: NULL, interior pointer, double free, foreign pointer,
 *    with a detailed message and no change to the file;
 *  - policies: upstream returns an emptied slab at once; xsched keeps
 *    keep_empty per class, reuses them, trims them, returns them on close
 *    and on a policy switch;
 *  - exhaustion: allocate until -ENOMEM (every slab used, no offset twice),
 *    other classes fail too, one free makes room again; under the xsched
 *    policy kept slabs of other classes and pending remote frees are
 *    reclaimed before -ENOMEM, under the upstream policy they are not;
 *  - statistics and the printer; error strings.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc_testlib.h"
#include "testutil.h"
#include "xsched/shm.h"

static int new_file(struct xs_alloc **a, size_t size, uint32_t workers)
{
	int fd = xs_memfd_create("xs-alloc-basic", 0);

	T_OK(fd);
	T_OK(xs_alloc_create(a, fd, size, workers, 16384, 0));
	return fd;
}

static void test_classes(void)
{
	static const struct {
		size_t size;
		unsigned c;
	} t[] = {{0, 0},    {1, 0},    {255, 0},  {256, 0},  {257, 1},  {512, 1},
		 {513, 2},  {1024, 2}, {1025, 3}, {2048, 3}, {2049, 4}, {4096, 4}};
	struct xs_alloc *a;
	uint64_t off;
	size_t i;
	int fd = new_file(&a, 1u << 20, 1);

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		T_EQ(xs_alloc_size_class(t[i].size), t[i].c);
	T_ERR(xs_alloc_alloc_offset(a, 4097, &off), -XS_EA_TOO_BIG);
	T_ERR(xs_alloc_alloc_offset(a, ((size_t)1 << 32) + 100, &off), -XS_EA_TOO_BIG);
	T_ERR(xs_alloc_alloc_offset(a, SIZE_MAX, &off), -XS_EA_TOO_BIG);
	T_ASSERT(xs_alloc_alloc(a, 5000) == NULL);
	T_EQ(xs_alloc_counters(a)->allocs, 0);

	for (i = 0; i < XS_ALLOC_NUM_CLASSES; i++) {
		uint32_t cs = xs_alloc_class_size((unsigned)i);
		void *p = xs_alloc_alloc(a, cs);
		uint64_t o = xs_alloc_offset(a, p);
		void *q;

		T_ASSERT(p != NULL);
		T_ASSERT(o >= xs_alloc_slabs_offset(a));
		T_EQ((o - xs_alloc_slabs_offset(a)) % cs, 0);
		T_ASSERT(xs_alloc_ptr(a, o) == p);
		memset(p, 0xEE, cs);
		T_OK(xs_alloc_check(a, o, cs, &q));
		T_ASSERT(q == p);
		T_OK(xs_alloc_free(a, p));
	}
	T_OK(xs_alloc_free(a, NULL));
	xs_alloc_close(a);
	close(fd);
}

static void test_check(void)
{
	struct xs_alloc *a, *b;
	uint64_t off, end;
	uint8_t *meta_class;
	void *p = NULL;
	int fd = new_file(&a, 1u << 20, 2);

	T_OK(xs_alloc_join_handle(&b, a, 1));
	end = xs_alloc_slabs_offset(a) + (uint64_t)xs_alloc_num_slabs(a) * 16384;
	T_OK(xs_alloc_alloc_offset(a, 1000, &off)); /* 1024-byte slot */
	T_OK(xs_alloc_check(b, off, 0, &p));
	T_OK(xs_alloc_check(b, off, 1024, &p));
	T_ASSERT(p == xs_alloc_base(b) + off);
	p = NULL;
	T_ERR(xs_alloc_check(b, off, 1025, &p), -XS_EA_LENGTH);
	T_ERR(xs_alloc_check(b, off, SIZE_MAX, &p), -XS_EA_LENGTH);
	T_ASSERT(p == NULL);
	T_ERR(xs_alloc_check(b, off + 8, 16, &p), -XS_EA_NOT_SLOT);
	T_OK(xs_alloc_check_within(b, off + 8, 1016, &p));
	T_ERR(xs_alloc_check_within(b, off + 8, 1017, &p), -XS_EA_LENGTH);
	T_ERR(xs_alloc_check_within(b, off + 1023, SIZE_MAX, &p), -XS_EA_LENGTH);
	T_OK(xs_alloc_check(b, off + 1024, 1024, &p)); /* a free slot of the slab: still a slot */
	T_ERR(xs_alloc_check(b, 0, 1, &p), -XS_EA_OFFSET);
	T_ERR(xs_alloc_check(b, xs_alloc_slabs_offset(a) - 256, 1, &p), -XS_EA_OFFSET);
	T_ERR(xs_alloc_check(b, end, 1, &p), -XS_EA_OFFSET);
	T_ERR(xs_alloc_check(b, UINT64_MAX, 1, &p), -XS_EA_OFFSET);
	T_ERR(xs_alloc_check(b, end - 16384, 256, &p), -XS_EA_UNASSIGNED); /* last slab: never taken */
	T_ASSERT(strstr(xs_errmsg(), "owner") != NULL, "%s", xs_errmsg());
	/* a peer scribbles over the slab's class: reported, never used */
	meta_class = xs_alloc_base(a) + ((const struct xs_alloc_header_shm *)(void *)xs_alloc_base(a))
						 ->slab_shared_meta_offset + 8;
	*meta_class = 9;
	T_ERR(xs_alloc_check(b, off, 16, &p), -XS_EA_CORRUPT);
	T_ERR(xs_alloc_free_offset(a, off), -XS_EA_CORRUPT);
	*meta_class = 2;
	T_OK(xs_alloc_free_offset(a, off));
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
}

static void test_free_errors(void)
{
	struct xs_alloc *a;
	uint8_t before[1u << 16], after[1u << 16];
	uint64_t off;
	int fd = new_file(&a, 1u << 16, 1), x;

	T_OK(xs_alloc_alloc_offset(a, 300, &off));
	T_EQ(pread(fd, before, sizeof(before), 0), sizeof(before));
	xs_clearerr();
	T_ERR(xs_alloc_free_offset(a, off + 4), -XS_EA_NOT_SLOT);
	T_ASSERT(strstr(xs_errmsg(), "not a slot start") != NULL, "%s", xs_errmsg());
	T_ERR(xs_alloc_free(a, &x), -XS_EA_OFFSET);
	T_ERR(xs_alloc_free_offset(a, off + 512), -XS_EA_DOUBLE_FREE); /* never handed out */
	T_EQ(pread(fd, after, sizeof(after), 0), sizeof(after));
	T_ASSERT(memcmp(before, after, sizeof(before)) == 0, "a refused free changed the file");
	T_OK(xs_alloc_free_offset(a, off));
	T_ERR(xs_alloc_free_offset(a, off), -XS_EA_DOUBLE_FREE);
	T_ASSERT(strstr(xs_errmsg(), "already free") != NULL, "%s", xs_errmsg());
	T_ASSERT(xs_alloc_counters(a)->errors >= 4);
	xs_alloc_close(a);
	close(fd);
}

static uint32_t global_free(struct xs_alloc *a)
{
	struct xs_alloc_stats s;

	T_OK(xs_alloc_stats(a, &s, NULL, 0));
	return s.global_free_slabs;
}

static void test_policies(void)
{
	struct xs_alloc_worker_stats ws[2];
	struct xs_alloc_stats st;
	struct xs_alloc *a, *b;
	struct t_audit au;
	uint64_t o1, o2, q[5];
	uint32_t n, i;
	int fd = new_file(&a, 1u << 20, 2);

	n = xs_alloc_num_slabs(a);
	T_EQ(n, 62);
	/* upstream: a lone alloc + free returns the slab every time */
	T_OK(xs_alloc_set_policy(a, XS_ALLOC_POLICY_UPSTREAM, 5));
	T_OK(xs_alloc_alloc_offset(a, 64, &o1));
	T_EQ(global_free(a), n - 1);
	T_OK(xs_alloc_free_offset(a, o1));
	T_EQ(global_free(a), n);
	T_EQ(xs_alloc_counters(a)->slab_returns, 1);

	/* xsched, keep 1: the emptied slab stays and is reused */
	T_OK(xs_alloc_set_policy(a, XS_ALLOC_POLICY_XSCHED, 1));
	T_OK(xs_alloc_alloc_offset(a, 64, &o1));
	T_OK(xs_alloc_free_offset(a, o1));
	T_EQ(global_free(a), n - 1);
	T_OK(xs_alloc_alloc_offset(a, 64, &o2));
	T_EQ(o2, o1);
	T_EQ(xs_alloc_counters(a)->kept_reuses, 1);
	T_EQ(xs_alloc_counters(a)->slab_takes, 2);
	T_OK(xs_alloc_free_offset(a, o2)); /* class 0 slab kept */

	/* class 4 (4 slots per slab): q0..q3 fill slab Y, q4 opens slab Z */
	for (i = 0; i < 5; i++)
		T_OK(xs_alloc_alloc_offset(a, 4096, &q[i]));
	T_EQ(global_free(a), n - 3);
	T_OK(xs_alloc_free_offset(a, q[4])); /* Z empty: kept (the first of class 4) */
	for (i = 0; i < 4; i++)
		T_OK(xs_alloc_free_offset(a, q[i])); /* Y: full -> partial -> empty: returned */
	T_EQ(global_free(a), n - 2);
	T_OK(xs_alloc_stats(a, &st, ws, 2));
	T_EQ(ws[0].cls[0].empty_slabs, 1);
	T_EQ(ws[0].cls[4].empty_slabs, 1);
	T_EQ(ws[0].cls[4].partial_slabs, 1);
	T_EQ(ws[0].cls[4].full_slabs, 0);
	T_EQ(st.bytes_in_use, 0);
	/* trim gives every kept slab back */
	T_EQ(xs_alloc_trim(a), 2);
	T_EQ(xs_alloc_trim(a), 0);
	T_EQ(global_free(a), n);
	T_OK(t_alloc_audit(a, &au));
	T_EQ(au.global, n);

	/* keep 2: both emptied slabs of the class stay */
	T_OK(xs_alloc_set_policy(a, XS_ALLOC_POLICY_XSCHED, 2));
	for (i = 0; i < 5; i++)
		T_OK(xs_alloc_alloc_offset(a, 4000, &q[i]));
	for (i = 0; i < 5; i++)
		T_OK(xs_alloc_free_offset(a, q[i]));
	T_EQ(global_free(a), n - 2);
	/* switching to upstream gives kept slabs back at once */
	T_OK(xs_alloc_set_policy(a, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_EQ(global_free(a), n);
	T_ERR(xs_alloc_set_policy(a, (enum xs_alloc_policy)7, 0), -EINVAL);

	/* close returns kept slabs (a fresh handle runs the xsched policy) */
	T_OK(xs_alloc_join_handle(&b, a, 1));
	T_OK(xs_alloc_alloc_offset(b, 100, &o1));
	T_OK(xs_alloc_free_offset(b, o1));
	T_EQ(global_free(a), n - 1);
	xs_alloc_close(b);
	T_EQ(global_free(a), n);
	T_OK(t_alloc_audit(a, &au));
	xs_alloc_close(a);
	close(fd);
}

/* Fill class c until -ENOMEM; returns the number of slots obtained. */
static uint32_t fill(struct xs_alloc *a, unsigned c, uint64_t *offs, uint32_t max)
{
	uint32_t k = 0;
	int rc;

	while ((rc = xs_alloc_alloc_offset(a, xs_alloc_class_size(c), &offs[k])) == 0) {
		uint32_t j;

		for (j = 0; j < k; j++)
			T_ASSERT(offs[j] != offs[k], "offset %llu handed out twice", (unsigned long long)offs[k]);
		T_ASSERT(++k < max);
	}
	T_ERR(rc, -ENOMEM);
	T_ASSERT(strstr(xs_errmsg(), "no free slab left"), "%s", xs_errmsg());
	return k;
}

static void test_exhaustion(void)
{
	static uint64_t offs[1024];
	struct xs_alloc *a, *b;
	uint64_t o, small;
	uint32_t n, k;
	int fd = new_file(&a, 1u << 18, 2); /* 256 KiB: a handful of 16 KiB slabs */

	n = xs_alloc_num_slabs(a);
	T_OK(xs_alloc_join_handle(&b, a, 1));

	/* xsched policy: a kept slab of class 0 is given back when class 4 runs dry */
	T_OK(xs_alloc_alloc_offset(a, 10, &small));
	T_OK(xs_alloc_free_offset(a, small));
	T_EQ(global_free(a), n - 1);
	k = fill(a, 4, offs, 1024);
	T_EQ(k, n * 4);
	T_ERR(xs_alloc_alloc_offset(a, 10, &o), -ENOMEM);
	T_ERR(xs_alloc_alloc_offset(b, 2048, &o), -ENOMEM);
	T_ASSERT(xs_alloc_alloc(b, 1) == NULL);
	T_ASSERT(xs_alloc_counters(a)->alloc_fails >= 1);
	/* one free makes room again, in that class */
	T_OK(xs_alloc_free_offset(a, offs[5]));
	T_OK(xs_alloc_alloc_offset(a, 3000, &o));
	T_EQ(o, offs[5]);
	/* a remote free is reclaimed by the xsched owner before -ENOMEM */
	T_OK(xs_alloc_free_offset(b, offs[7]));
	T_OK(xs_alloc_alloc_offset(a, 4096, &o));
	T_EQ(o, offs[7]);
	/* ... but not by an upstream-policy owner until it cleans */
	T_OK(xs_alloc_set_policy(a, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_OK(xs_alloc_free_offset(b, offs[9]));
	T_ERR(xs_alloc_alloc_offset(a, 4096, &o), -ENOMEM);
	T_EQ(xs_alloc_clean_remote(a), 1);
	T_OK(xs_alloc_alloc_offset(a, 4096, &o));
	T_EQ(o, offs[9]);
	/* free everything: all slabs back (upstream policy returns at once) */
	for (k = 0; k < n * 4; k++)
		T_OK(xs_alloc_free_offset(a, offs[k]));
	T_EQ(global_free(a), n);
	{
		struct xs_alloc_stats s;

		T_OK(xs_alloc_stats(a, &s, NULL, 0));
		T_EQ(s.bytes_in_use, 0);
		T_EQ(s.never_assigned, 0); /* every slab was used */
	}
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
}

static void test_stats(void)
{
	struct xs_alloc_worker_stats ws[3];
	struct xs_alloc_stats s;
	struct xs_alloc *a, *b;
	uint64_t o[3];
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int fd = new_file(&a, 1u << 20, 3);

	T_OK(xs_alloc_join_handle(&b, a, 2));
	T_OK(xs_alloc_alloc_offset(a, 100, &o[0]));
	T_OK(xs_alloc_alloc_offset(a, 1000, &o[1]));
	T_OK(xs_alloc_alloc_offset(b, 4000, &o[2]));
	T_OK(xs_alloc_free_offset(b, o[0])); /* remote, pending */
	T_OK(xs_alloc_stats(a, &s, ws, 3));
	T_EQ(s.num_workers, 3);
	T_EQ(s.worker, 0);
	T_EQ(s.global_free_slabs, s.num_slabs - 3);
	T_EQ(s.never_assigned, s.num_slabs - 3);
	T_EQ(s.slabs_listed, s.num_slabs);
	T_EQ(s.anomalies, 0);
	T_EQ(ws[0].slabs_owned, 2);
	T_EQ(ws[0].cls[0].slots_in_use, 1);
	T_EQ(ws[0].cls[0].remote_pending, 1);
	T_EQ(ws[0].cls[2].slots_in_use, 1);
	T_EQ(ws[0].bytes_in_use, 256 + 1024);
	T_EQ(ws[1].slabs_owned, 0);
	T_EQ(ws[2].cls[4].slots_in_use, 1);
	T_EQ(s.bytes_in_use, 256 + 1024 + 4096);
	T_EQ(s.handle.allocs, 2);
	T_EQ(s.policy, XS_ALLOC_POLICY_XSCHED);

	f = open_memstream(&text, &len);
	T_ASSERT(f != NULL);
	xs_alloc_stats_print(a, f);
	fclose(f);
	T_ASSERT(strstr(text, "bytes in use: 5376") != NULL, "%s", text);
	T_ASSERT(strstr(text, "global free list") != NULL, "%s", text);
	free(text);
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
}

static void test_strings(void)
{
	int c;

	for (c = XS_E_ALLOC_BASE; c < XS_EA__END; c++) {
		T_ASSERT(xs_strerror_alloc(c) != NULL, "code %d", c);
		T_ASSERT(strstr(xs_strerror(-c), "unknown") == NULL, "code %d", c);
	}
	T_ASSERT(xs_strerror_alloc(XS_EA__END) == NULL);
	T_ASSERT(strcmp(xs_alloc_error_name(-XS_EA_LAYOUT), "InvalidHeader") == 0);
	T_ASSERT(xs_alloc_error_name(-XS_EA_DOUBLE_FREE) == NULL);
	T_ASSERT(xs_alloc_error_name(0) == NULL);
}

int main(void)
{
	int fds = t_fd_count();

	test_classes();
	test_check();
	test_free_errors();
	test_policies();
	test_exhaustion();
	test_stats();
	test_strings();
	T_EQ(t_fd_count(), fds);
	return 0;
}
