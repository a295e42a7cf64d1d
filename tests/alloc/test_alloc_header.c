/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: create and join validation.
 *  - the layout formula against the spec's worked examples (1 GiB / 2 MiB /
 *    8 workers, and the vectors' 128 KiB / 16 KiB / 2 workers);
 *  - create's checks in upstream's order (worker index before number of
 *    workers, so N = 0 reports the index), slab sizes, and the file sizes
 *    upstream mishandles, refused with InvalidFileSize: below one slab
 *    (the 4096 / 16384 / 3 input that makes upstream write past its
 *    mapping), a size leaving no slab, >= 4 GiB (32-bit truncation), a
 *    worker count whose metadata does not fit; AlreadyInitialized;
 *  - join of the Rust-written vector files, then of damaged copies: each
 *    header field gives its own error (magic, version, num_workers, slab
 *    size, num_slabs and every offset, file size changes, worker index),
 *    with a readable message and the upstream error name;
 *  - a join rebuilds the worker's view of slabs it already owns (vector s1:
 *    live slots free fine, free slots are double frees, allocation resumes
 *    where upstream would), and refuses a worker whose lists are broken;
 *  - join_handle shares the mapping (refcounted, any close order) and
 *    refuses an index already open on it;
 *  - no descriptor or file mapping is left behind by any failure.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/alloc.h"
#include "xsched/shm.h"

/* Mappings of this test's allocator files (sanitizers map memory of their
 * own, so only our memfds are counted). */
static int maps_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	T_ASSERT(f != NULL);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "memfd:xs-alloc-header") != NULL;
	fclose(f);
	return n;
}

static int fresh_fd(void)
{
	int fd = xs_memfd_create("xs-alloc-header", 0);

	T_OK(fd);
	return fd;
}

/* A memfd holding the bytes of a vector, optionally patched. */
static int vector_fd(const char *name, size_t patch_off, const void *patch, size_t patch_len)
{
	size_t len;
	uint8_t *v = t_read_vector(name, &len);
	int fd = fresh_fd();

	if (patch)
		memcpy(v + patch_off, patch, patch_len);
	T_EQ(pwrite(fd, v, len, 0), len);
	free(v);
	return fd;
}

static void expect_join(int fd, uint32_t worker, int want, const char *name)
{
	struct xs_alloc *a = (struct xs_alloc *)1;

	xs_clearerr();
	T_ERR(xs_alloc_join(&a, fd, worker), want);
	T_ASSERT(a == NULL);
	T_ASSERT(xs_errmsg()[0] != '\0', "no detail for %d", want);
	if (name)
		T_ASSERT(strcmp(xs_alloc_error_name(want), name) == 0, "%s", xs_alloc_error_name(want));
}

static void test_layout(void)
{
	struct xs_alloc_layout l;

	T_OK(xs_alloc_compute_layout(1ull << 30, XS_ALLOC_SLAB_2M, 8, &l));
	T_EQ(l.free_list_elements_offset, 640);
	T_EQ(l.max_slabs, 511);
	T_EQ(l.slab_shared_meta_offset, 6784);
	T_EQ(l.slab_free_stacks_offset, 72192);
	T_EQ(l.slabs_offset, 10485760);
	T_EQ(l.num_slabs, 507);
	T_EQ(l.fstack_stride, 16388);

	T_OK(xs_alloc_compute_layout(131072, 16384, 2, &l));
	T_EQ(l.free_list_elements_offset, 256);
	T_EQ(l.slab_shared_meta_offset, 384);
	T_EQ(l.slab_free_stacks_offset, 1280);
	T_EQ(l.slabs_offset, 16384);
	T_EQ(l.num_slabs, 7);
	T_EQ(l.fstack_stride, 132);

	/* largest accepted file */
	T_OK(xs_alloc_compute_layout(0xFFFFFFFFull, XS_ALLOC_SLAB_2M, 8, &l));
	T_ASSERT(l.num_slabs > 2000);
	/* the sizes upstream mishandles */
	T_ERR(xs_alloc_compute_layout((4ull << 30) + (64u << 20), XS_ALLOC_SLAB_2M, 8, &l), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_compute_layout(6ull << 30, XS_ALLOC_SLAB_2M, 8, &l), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_compute_layout(1ull << 32, XS_ALLOC_SLAB_2M, 8, &l), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_compute_layout(4096, 16384, 3, &l), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_compute_layout(16383, 16384, 1, &l), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_compute_layout(16384, 16384, 1, &l), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_compute_layout(32767, 16384, 1, &l), -XS_EA_FILE_SIZE);
	T_OK(xs_alloc_compute_layout(32768, 16384, 1, &l));
	T_EQ(l.num_slabs, 1);
	T_ERR(xs_alloc_compute_layout(XS_ALLOC_SLAB_2M * 2 - 1, XS_ALLOC_SLAB_2M, 8, &l), -XS_EA_FILE_SIZE);
	T_OK(xs_alloc_compute_layout(XS_ALLOC_SLAB_2M * 2, XS_ALLOC_SLAB_2M, 8, &l));
	T_EQ(l.num_slabs, 1);
	/* metadata of a million workers does not fit 1 MiB */
	T_ERR(xs_alloc_compute_layout(1u << 20, 16384, 1000000, &l), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_compute_layout(1u << 20, 16384, 0, &l), -XS_EA_NUM_WORKERS);
	/* slab sizes */
	T_ERR(xs_alloc_compute_layout(1u << 30, 0, 1, &l), -XS_EA_SLAB_SIZE);
	T_ERR(xs_alloc_compute_layout(1u << 30, 8192, 1, &l), -XS_EA_SLAB_SIZE);
	T_ERR(xs_alloc_compute_layout(1u << 30, 16385, 1, &l), -XS_EA_SLAB_SIZE);
	T_ERR(xs_alloc_compute_layout(1u << 30, 3u << 14, 1, &l), -XS_EA_SLAB_SIZE);
	T_ERR(xs_alloc_compute_layout(1u << 30, 16u << 20, 1, &l), -XS_EA_SLAB_SIZE);
	T_OK(xs_alloc_compute_layout(1u << 30, 8u << 20, 1, &l));
}

static void test_create(void)
{
	struct xs_alloc *a;
	int fd = fresh_fd();
	struct stat st;

	/* upstream's order: index first */
	T_ERR(xs_alloc_create(&a, fd, 131072, 0, 16384, 0), -XS_EA_WORKER_INDEX);
	T_ERR(xs_alloc_create(&a, fd, 131072, 2, 16384, 2), -XS_EA_WORKER_INDEX);
	T_ERR(xs_alloc_create(&a, fd, 131072, 2, 1000, 5), -XS_EA_WORKER_INDEX);
	T_ERR(xs_alloc_create(&a, fd, 131072, 2, 1000, 0), -XS_EA_SLAB_SIZE);
	T_ERR(xs_alloc_create(&a, fd, 4096, 3, 16384, 0), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_create(&a, fd, 16384, 1, 16384, 0), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_create(&a, fd, (size_t)6 << 30, 8, XS_ALLOC_SLAB_2M, 0), -XS_EA_FILE_SIZE);
	T_ERR(xs_alloc_create(&a, fd, ((size_t)4 << 30) + (64u << 20), 8, XS_ALLOC_SLAB_2M, 0),
	      -XS_EA_FILE_SIZE);
	T_ASSERT(strstr(xs_errmsg(), "4 GiB") != NULL, "%s", xs_errmsg());
	/* none of the refusals touched the file */
	T_OK(fstat(fd, &st));
	T_EQ(st.st_size, 0);
	T_ERR(xs_alloc_create(&a, -1, 131072, 2, 16384, 0), -EBADF);
	T_ASSERT(strcmp(xs_alloc_error_name(-EBADF), "IoError") == 0);

	T_OK(xs_alloc_create(&a, fd, 131072, 2, 16384, 1));
	T_EQ(xs_alloc_worker(a), 1);
	T_EQ(xs_alloc_size(a), 131072);
	T_OK(fstat(fd, &st));
	T_EQ(st.st_size, 131072);
	{
		struct xs_alloc *b;

		T_ERR(xs_alloc_create(&b, fd, 131072, 2, 16384, 0), -XS_EA_ALREADY_INIT);
		T_ASSERT(strcmp(xs_alloc_error_name(-XS_EA_ALREADY_INIT), "AlreadyInitialized") == 0);
	}
	xs_alloc_close(a);
	close(fd);
}

static void test_join_vectors(void)
{
	static const char *const names[] = {
		"rtsalloc_128KiB_slab16KiB_w2_s0_created.bin", "rtsalloc_128KiB_slab16KiB_w2_s1_allocated.bin",
		"rtsalloc_128KiB_slab16KiB_w2_s2_freed.bin", "rtsalloc_128KiB_slab16KiB_w2_s5_all_freed.bin",
	};
	size_t i;

	for (i = 0; i < 4; i++) {
		struct xs_alloc *a, *b;
		int fd = vector_fd(names[i], 0, NULL, 0);

		T_OK(xs_alloc_join(&a, fd, 0));
		T_OK(xs_alloc_join(&b, fd, 1));
		T_EQ(xs_alloc_num_slabs(a), 7);
		xs_alloc_close(a);
		xs_alloc_close(b);
		close(fd);
	}
}

static void test_join_damaged(void)
{
	const char *s0 = "rtsalloc_128KiB_slab16KiB_w2_s0_created.bin";
	uint64_t bad_magic = XS_ALLOC_MAGIC ^ 1;
	uint32_t v;
	int fd;

	fd = vector_fd(s0, 0, &bad_magic, 8);
	expect_join(fd, 0, -XS_EA_MAGIC, "InvalidHeader");
	close(fd);
	v = 2;
	fd = vector_fd(s0, 8, &v, 4);
	expect_join(fd, 0, -XS_EA_VERSION, "InvalidHeader");
	close(fd);
	v = 0x00020000; /* a later format's version word */
	fd = vector_fd(s0, 8, &v, 4);
	expect_join(fd, 0, -XS_EA_VERSION, "InvalidHeader");
	T_ASSERT(strstr(xs_errmsg(), "131072") != NULL, "%s", xs_errmsg());
	close(fd);
	v = 0;
	fd = vector_fd(s0, 12, &v, 4);
	expect_join(fd, 0, -XS_EA_NUM_WORKERS, "InvalidNumWorkers");
	close(fd);
	v = 3; /* more workers: the offsets no longer match the layout */
	fd = vector_fd(s0, 12, &v, 4);
	expect_join(fd, 0, -XS_EA_LAYOUT, "InvalidHeader");
	close(fd);
	v = 12345;
	fd = vector_fd(s0, 20, &v, 4);
	expect_join(fd, 0, -XS_EA_SLAB_SIZE, "InvalidSlabSize");
	close(fd);
	v = 32768;
	fd = vector_fd(s0, 20, &v, 4);
	expect_join(fd, 0, -XS_EA_LAYOUT, "InvalidHeader");
	close(fd);
	v = 131072; /* one slab of 128 KiB cannot fit a 128 KiB file */
	fd = vector_fd(s0, 20, &v, 4);
	expect_join(fd, 0, -XS_EA_FILE_SIZE, "InvalidFileSize");
	close(fd);
	/* num_slabs and each offset, off by one */
	{
		static const size_t fields[] = {16, 24, 28, 32, 36};
		static const uint32_t vals[] = {7, 256, 384, 1280, 16384};
		size_t k;

		for (k = 0; k < 5; k++) {
			v = vals[k] + 1;
			fd = vector_fd(s0, fields[k], &v, 4);
			expect_join(fd, 0, -XS_EA_LAYOUT, "InvalidHeader");
			close(fd);
		}
	}
	fd = vector_fd(s0, 0, NULL, 0);
	expect_join(fd, 2, -XS_EA_WORKER_INDEX, "InvalidWorkerIndex");
	expect_join(fd, UINT32_MAX, -XS_EA_WORKER_INDEX, "InvalidWorkerIndex");
	/* +1 byte: same layout, joins, maps the new length (as upstream) */
	T_OK(ftruncate(fd, 131073));
	{
		struct xs_alloc *a;

		T_OK(xs_alloc_join(&a, fd, 1));
		T_EQ(xs_alloc_size(a), 131073);
		xs_alloc_close(a);
	}
	/* +16 KiB: one more slab -> the header disagrees */
	T_OK(ftruncate(fd, 131072 + 16384));
	expect_join(fd, 0, -XS_EA_LAYOUT, "InvalidHeader");
	/* shorter than a header, and empty */
	T_OK(ftruncate(fd, 100));
	expect_join(fd, 0, -XS_EA_FILE_SIZE, NULL);
	T_OK(ftruncate(fd, 0));
	expect_join(fd, 0, -XS_EA_FILE_SIZE, NULL);
	/* >= 4 GiB (sparse): refused before mapping */
	T_OK(ftruncate(fd, (off_t)5 << 30));
	expect_join(fd, 0, -XS_EA_FILE_SIZE, NULL);
	close(fd);
	expect_join(-1, 0, -EBADF, "IoError");
}

static void test_join_owned(void)
{
	const char *s1 = "rtsalloc_128KiB_slab16KiB_w2_s1_allocated.bin";
	struct xs_alloc *w0, *w1;
	uint64_t off;
	uint32_t v;
	int fd = vector_fd(s1, 0, NULL, 0);

	/* In s1 worker 0 holds a0 16384, a1 16640 (slab 0) and a2 32768 (slab 1);
	 * worker 1 holds b0 49152 (slab 2) and b1 65536 (slab 3). */
	T_OK(xs_alloc_join(&w0, fd, 0));
	T_OK(xs_alloc_join_handle(&w1, w0, 1));
	T_OK(xs_alloc_set_policy(w0, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_OK(xs_alloc_free_offset(w0, 16640));
	T_ERR(xs_alloc_free_offset(w0, 16640), -XS_EA_DOUBLE_FREE);
	T_ERR(xs_alloc_free_offset(w0, 16896), -XS_EA_DOUBLE_FREE); /* slot 2: never handed out */
	T_ERR(xs_alloc_free_offset(w0, 16384 + 1), -XS_EA_NOT_SLOT);
	T_ERR(xs_alloc_free_offset(w0, 100), -XS_EA_OFFSET);
	T_ERR(xs_alloc_free_offset(w0, 131072), -XS_EA_OFFSET);
	T_ERR(xs_alloc_free_offset(w0, 16384 * 6), -XS_EA_UNASSIGNED); /* slab 5: never assigned */
	/* the next 256-byte allocation is slot 1 again (top of the stack) */
	T_OK(xs_alloc_alloc_offset(w0, 200, &off));
	T_EQ(off, 16640);
	T_OK(xs_alloc_alloc_offset(w0, 200, &off));
	T_EQ(off, 16896);
	T_OK(xs_alloc_free_offset(w1, 65536)); /* b1: worker 1 local, slab 3 empty */
	{
		struct xs_alloc *dup = (struct xs_alloc *)1;

		T_ERR(xs_alloc_join_handle(&dup, w0, 1), -XS_EA_WORKER_BUSY);
		T_ASSERT(dup == NULL);
	}
	xs_alloc_close(w1);
	xs_alloc_close(w0);
	close(fd);

	/* worker 0's class-0 partial head pointing outside the slabs */
	v = 99;
	fd = vector_fd(s1, 128, &v, 4);
	expect_join(fd, 0, -XS_EA_CORRUPT, NULL);
	T_OK(xs_alloc_join(&w1, fd, 1)); /* the other worker is fine */
	xs_alloc_close(w1);
	close(fd);
	/* a free stack that lists a slot twice */
	{
		size_t len;
		uint8_t *v1 = t_read_vector(s1, &len);
		uint16_t dup;

		/* slab 0's free stack at 1280: top 62, entries 0..61 = 63..2; make
		 * entry 0 equal entry 1 */
		memcpy(&dup, v1 + 1280 + 4 + 2, 2);
		free(v1);
		fd = vector_fd(s1, 1280 + 4, &dup, 2);
		expect_join(fd, 0, -XS_EA_CORRUPT, NULL);
		close(fd);
	}
}

static void test_join_handle(void)
{
	struct xs_alloc *a, *b, *c;
	int maps0 = maps_count();
	uint64_t off;
	int fd = fresh_fd();

	T_OK(xs_alloc_create(&a, fd, 1u << 20, 4, 16384, 0));
	T_EQ(maps_count(), maps0 + 1); /* the file, once for both handles */
	T_OK(xs_alloc_join_handle(&b, a, 3));
	T_ASSERT(xs_alloc_base(b) == xs_alloc_base(a));
	T_EQ(maps_count(), maps0 + 1);
	T_ERR(xs_alloc_join_handle(&c, a, 0), -XS_EA_WORKER_BUSY);
	T_ERR(xs_alloc_join_handle(&c, a, 4), -XS_EA_WORKER_INDEX);
	T_ERR(xs_alloc_join_handle(&c, NULL, 1), -EINVAL);
	/* closing the creator first keeps the mapping for b */
	xs_alloc_close(a);
	T_OK(xs_alloc_alloc_offset(b, 4096, &off));
	memset(xs_alloc_ptr(b, off), 0x5A, 4096);
	T_OK(xs_alloc_free_offset(b, off));
	T_OK(xs_alloc_join_handle(&a, b, 0)); /* index 0 is free again */
	xs_alloc_close(b);
	xs_alloc_close(a);
	T_EQ(maps_count(), maps0);
	close(fd);
}

int main(void)
{
	int fds = t_fd_count();
	int maps = maps_count();

	test_layout();
	test_create();
	test_join_vectors();
	test_join_damaged();
	test_join_owned();
	test_join_handle();
	T_EQ(t_fd_count(), fds);
	T_EQ(maps_count(), maps);
	return 0;
}
