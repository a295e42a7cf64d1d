/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: byte-exact replay of vectors section (d),
 * rtsalloc_128KiB_slab16KiB_w2_s0..s5: create (worker 0) and join (worker 1)
 * a 128 KiB file with 16 KiB slabs, then the five allocations, three frees,
 * two cleans and two last frees listed in the vectors README, comparing the
 * whole file with the vector after every step and each returned offset with
 * the one upstream returned. Both handles run the upstream policy.
 * Three variants:
 *  - separate mappings (as the Rust generator), 0.2.0 global list (no tag):
 *    every byte of the file must match;
 *  - separate mappings, ABA tag on: every byte except the tag (header bytes
 *    68..71, zero padding for 0.2.0) must match, and the tag must count the
 *    global-list operations (4 takes, then 1, 1 and 2 returns);
 *  - one shared mapping (xs_alloc_join_handle), tag on: same as above.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/alloc.h"
#include "xsched/shm.h"

#define FILE_SIZE 131072u

static const char *const steps[] = {
	"rtsalloc_128KiB_slab16KiB_w2_s0_created.bin",  "rtsalloc_128KiB_slab16KiB_w2_s1_allocated.bin",
	"rtsalloc_128KiB_slab16KiB_w2_s2_freed.bin",    "rtsalloc_128KiB_slab16KiB_w2_s3_w0_cleaned.bin",
	"rtsalloc_128KiB_slab16KiB_w2_s4_w1_cleaned.bin", "rtsalloc_128KiB_slab16KiB_w2_s5_all_freed.bin",
};

/* Global-list head changes after each step (pops + pushes). */
static const uint32_t tag_after[] = {0, 4, 4, 5, 6, 8};

static void compare(int fd, int step, int tagged)
{
	static const size_t tag_bytes[2] = {68, 71};
	uint8_t got[FILE_SIZE];
	size_t len;
	uint8_t *want = t_read_vector(steps[step], &len);
	uint32_t tag;

	T_EQ(len, FILE_SIZE);
	T_EQ(pread(fd, got, sizeof(got), 0), FILE_SIZE);
	if (tagged) {
		T_BYTES_MASKED(steps[step], got, want, FILE_SIZE, tag_bytes, 1);
		memcpy(&tag, got + 68, 4);
		T_EQ(tag, tag_after[step]);
	} else {
		T_BYTES(steps[step], got, want, FILE_SIZE);
	}
	free(want);
}

static uint64_t alloc_fill(struct xs_alloc *a, size_t size, uint8_t fill, uint64_t want)
{
	uint64_t off = 0;

	T_OK(xs_alloc_alloc_offset(a, size, &off));
	T_EQ(off, want);
	/* upstream's write_bytes over the requested length, through this handle */
	memset(xs_alloc_ptr(a, off), fill, size);
	return off;
}

static void run(int shared_map, int tagged)
{
	struct xs_alloc *w0, *w1;
	uint64_t a0, a1, a2, b0, b1;
	int fd = xs_memfd_create("xs-alloc-vectors", 0);

	T_OK(fd);
	T_OK(xs_alloc_create(&w0, fd, FILE_SIZE, 2, 16384, 0));
	if (shared_map)
		T_OK(xs_alloc_join_handle(&w1, w0, 1));
	else
		T_OK(xs_alloc_join(&w1, fd, 1));
	T_ASSERT(shared_map ? xs_alloc_base(w1) == xs_alloc_base(w0) : xs_alloc_base(w1) != xs_alloc_base(w0));
	T_OK(xs_alloc_set_policy(w0, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_OK(xs_alloc_set_policy(w1, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_OK(xs_alloc_set_aba_tag(w0, tagged));
	T_OK(xs_alloc_set_aba_tag(w1, tagged));

	/* the README's header table */
	T_EQ(xs_alloc_num_slabs(w1), 7);
	T_EQ(xs_alloc_slabs_offset(w1), 16384);
	T_EQ(xs_alloc_num_workers(w1), 2);
	T_EQ(xs_alloc_slab_size(w1), 16384);
	compare(fd, 0, tagged);

	a0 = alloc_fill(w0, 100, 0xA0, 16384);
	a1 = alloc_fill(w0, 256, 0xA1, 16640);
	a2 = alloc_fill(w0, 300, 0xA2, 32768);
	b0 = alloc_fill(w1, 1000, 0xB0, 49152);
	b1 = alloc_fill(w1, 64, 0xB1, 65536);
	compare(fd, 1, tagged);

	T_OK(xs_alloc_free(w0, xs_alloc_ptr(w0, a1))); /* local */
	T_OK(xs_alloc_free_offset(w1, a0));            /* remote */
	T_OK(xs_alloc_free(w0, xs_alloc_ptr(w0, b0))); /* remote */
	T_EQ(xs_alloc_counters(w0)->frees_local, 1);
	T_EQ(xs_alloc_counters(w0)->frees_remote, 1);
	compare(fd, 2, tagged);

	T_EQ(xs_alloc_clean_remote(w0), 1); /* a0 back: slab 0 empty -> global */
	compare(fd, 3, tagged);
	T_EQ(xs_alloc_clean_remote(w1), 1); /* b0 back: slab 2 empty -> global */
	compare(fd, 4, tagged);

	T_OK(xs_alloc_free_offset(w0, a2)); /* slab 1 -> global */
	T_OK(xs_alloc_free_offset(w1, b1)); /* slab 3 -> global */
	compare(fd, 5, tagged);

	/* Nothing left kept or owned: closing writes nothing. */
	xs_alloc_close(w1);
	xs_alloc_close(w0);
	compare(fd, 5, tagged);
	close(fd);
}

int main(void)
{
	int fds = t_fd_count();

	run(0, 0);
#if defined(__x86_64__)
	run(0, 1);
	run(1, 1);
#else
	T_ERR(xs_alloc_set_aba_tag(NULL, 1), -ENOTSUP);
#endif
	T_EQ(t_fd_count(), fds);
	return 0;
}
