/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: hostile input against formats 3.0 and 4.0 (no golden files
 * exist for them, so every header field is checked on join and every
 * offset a peer hands over before it is used).
 *  - headers: wrong magic, unknown version words (the message names what
 *    was found and what this build speaks), the other claim format's word,
 *    VERSION 1 on a claim layout (detected as 0.2, then refused by the
 *    layout: the word alone proves nothing), num_workers 0 / one more / one
 *    less, num_slabs, each of the four offsets, the slab size, the file
 *    grown by a slab or cut below a header: each its own error, with the
 *    Rust name of the 4.0.0 enum, the same status from the probe, and no
 *    descriptor, mapping or claim left behind;
 *  - a `claimed` byte holding garbage counts as taken;
 *  - frees of offsets outside the slabs, inside a slot, in a slab nobody
 *    owns: refused, nothing written;
 *  - format 4.0 remote free chains a peer corrupted: a head outside the
 *    file, at offset 0, inside the metadata, not at a slot start, in a slab
 *    another worker owns; a chain looping back; a double remote free. Each
 *    drain stops with -XS_EA_REMOTE_CORRUPT after freeing each good slot
 *    once, never hangs, and the handle keeps working (no slot handed out
 *    twice afterwards);
 *  - format 3.0 (per-slab stacks): a double remote free is reported too.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "alloc_testlib.h"
#include "testutil.h"
#include "xsched/shm.h"

#define MiB (1024u * 1024u)
#define FSIZE (1 * MiB)

static int maps_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	T_ASSERT(f != NULL);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "memfd:xs-alloc-hostile4") != NULL;
	fclose(f);
	return n;
}

static int fresh_fd(void)
{
	int fd = xs_memfd_create("xs-alloc-hostile4", 0);

	T_OK(fd);
	return fd;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* A pristine file of format f (creator closed: every slot free). */
static uint8_t *pristine(enum xs_alloc_format f, size_t *len)
{
	struct xs_alloc *a;
	uint8_t *img = malloc(FSIZE);
	int fd = fresh_fd();

	T_ASSERT(img != NULL);
	T_OK(xs_alloc_create_fmt(&a, fd, FSIZE, 2, 16384, f, XS_ALLOC_CLAIM));
	xs_alloc_close(a);
	T_EQ(pread(fd, img, FSIZE, 0), FSIZE);
	close(fd);
	*len = FSIZE;
	return img;
}

/* A memfd with the image, 4 bytes patched at off (size_delta: grow/shrink). */
static int patched(const uint8_t *img, size_t len, size_t off, uint32_t v, long size_delta)
{
	int fd = fresh_fd();

	T_EQ(pwrite(fd, img, len, 0), len);
	if (off != SIZE_MAX)
		T_EQ(pwrite(fd, &v, 4, (off_t)off), 4);
	if (size_delta)
		T_OK(ftruncate(fd, (off_t)((long)len + size_delta)));
	return fd;
}

static void expect_refused(enum xs_alloc_format f, int fd, int want, const char *rust, const char *needle)
{
	struct xs_alloc *a = (struct xs_alloc *)1;
	struct xs_alloc_info info;
	int fds = t_fd_count(), maps = maps_count();
	char buf[160];

	xs_clearerr();
	T_ERR(xs_alloc_join_fmt(&a, fd, f, XS_ALLOC_CLAIM), want);
	T_ASSERT(a == NULL);
	T_ASSERT(xs_errmsg()[0] != '\0');
	if (needle)
		T_ASSERT(strstr(xs_errmsg(), needle) != NULL, "'%s' not in: %s", needle, xs_errmsg());
	if (rust) {
		T_ASSERT(xs_alloc_error_debug(want, f, buf, sizeof(buf)) > 0);
		T_ASSERT(strncmp(buf, rust, strlen(rust)) == 0, "%s vs %s", buf, rust);
	}
	/* detection and the probe give the same answer */
	T_ERR(xs_alloc_join_fmt(&a, fd, XS_ALLOC_FMT_ANY, XS_ALLOC_CLAIM), want);
	T_ERR(xs_alloc_probe_fd(fd, &info), want);
	T_EQ(info.status, want);
	T_EQ(t_fd_count(), fds);
	T_EQ(maps_count(), maps);
	close(fd);
}

static void test_headers(enum xs_alloc_format f)
{
	const struct xs_alloc_format_info *fi = xs_alloc_format_info(f);
	enum xs_alloc_format other = f == XS_ALLOC_FMT_3_0 ? XS_ALLOC_FMT_4_0 : XS_ALLOC_FMT_3_0;
	size_t len;
	uint8_t *img = pristine(f, &len);
	uint32_t nw = rd32(img + 12), ns = rd32(img + 16), k;
	struct xs_alloc *a;
	struct xs_alloc_info info;
	int fd;

	/* the pristine image joins, and nothing else was claimed in it */
	fd = patched(img, len, SIZE_MAX, 0, 0);
	T_OK(xs_alloc_probe_fd(fd, &info));
	T_EQ(info.claimed, 0);
	T_OK(xs_alloc_join_fmt(&a, fd, f, XS_ALLOC_CLAIM));
	T_EQ(xs_alloc_worker(a), 0);
	xs_alloc_close(a);
	close(fd);

	expect_refused(f, patched(img, len, 0, 0x12345678, 0), -XS_EA_MAGIC, "InvalidMagic", "0x0072747312345678");
	expect_refused(f, patched(img, len, 4, 0, 0), -XS_EA_MAGIC, "InvalidMagic", NULL);
	/* unknown words: the message names it and what this build speaks */
	expect_refused(f, patched(img, len, 8, 0x00050000, 0), -XS_EA_VERSION, "InvalidVersion { expected: ",
		       "0x00050000");
	fd = patched(img, len, 8, 0x00020000, 0);
	xs_clearerr();
	T_ERR(xs_alloc_join_fmt(&a, fd, XS_ALLOC_FMT_ANY, XS_ALLOC_CLAIM), -XS_EA_VERSION);
	T_ASSERT(strstr(xs_errmsg(), "0x00020000") && strstr(xs_errmsg(), "0x00030000") &&
		 strstr(xs_errmsg(), "0x00040000"), "%s", xs_errmsg());
	T_ERR(xs_alloc_probe_fd(fd, &info), -XS_EA_VERSION);
	T_EQ(info.version, 0x00020000);
	T_EQ(info.format, XS_ALLOC_FMT_ANY);
	close(fd);
	/* the other claim format's word: as that format, the layout disagrees
	 * (3.0 lays out twice the entries of 4.0 in the same slack) */
	fd = patched(img, len, 8, xs_alloc_format_info(other)->version, 0);
	T_ERR(xs_alloc_join_fmt(&a, fd, f, XS_ALLOC_CLAIM), -XS_EA_VERSION);
	T_ERR(xs_alloc_join_fmt(&a, fd, XS_ALLOC_FMT_ANY, XS_ALLOC_CLAIM), -XS_EA_LAYOUT);
	T_ERR(xs_alloc_probe_fd(fd, &info), -XS_EA_LAYOUT);
	T_EQ(info.format, other);
	close(fd);
	/* VERSION 1 on a claim layout: detected as 0.2, refused by the layout */
	fd = patched(img, len, 8, 1, 0);
	T_ERR(xs_alloc_join_fmt(&a, fd, XS_ALLOC_FMT_ANY, 0), -XS_EA_LAYOUT);
	T_ERR(xs_alloc_probe_fd(fd, &info), -XS_EA_LAYOUT);
	T_EQ(info.format, XS_ALLOC_FMT_0_2);
	close(fd);
	T_EQ(fi->version, rd32(img + 8));

	expect_refused(f, patched(img, len, 12, 0, 0), -XS_EA_NUM_WORKERS, "InvalidNumWorkers", NULL);
	expect_refused(f, patched(img, len, 12, nw + 1, 0), -XS_EA_LAYOUT, "HeaderMismatch", "num_workers");
	expect_refused(f, patched(img, len, 12, nw - 1, 0), -XS_EA_LAYOUT, "HeaderMismatch", "num_workers");
	expect_refused(f, patched(img, len, 12, 0xFFFFFFFFu, 0), -XS_EA_FILE_SIZE, "InvalidFileSize", NULL);
	expect_refused(f, patched(img, len, 16, ns + 1, 0), -XS_EA_LAYOUT, "HeaderMismatch", "num_slabs");
	expect_refused(f, patched(img, len, 16, 0, 0), -XS_EA_LAYOUT, "HeaderMismatch", "num_slabs");
	expect_refused(f, patched(img, len, 20, 8192, 0), -XS_EA_SLAB_SIZE, "InvalidSlabSize", NULL);
	expect_refused(f, patched(img, len, 20, 32768, 0), -XS_EA_LAYOUT, "HeaderMismatch", NULL);
	for (k = 24; k <= 36; k += 4) {
		uint32_t v = rd32(img + k);

		expect_refused(f, patched(img, len, k, v + 64, 0), -XS_EA_LAYOUT, "HeaderMismatch", "offset");
		expect_refused(f, patched(img, len, k, v - 4, 0), -XS_EA_LAYOUT, "HeaderMismatch", "offset");
	}
	/* the file changed size: a slab more, or no room for a header */
	expect_refused(f, patched(img, len, SIZE_MAX, 0, 16384), -XS_EA_LAYOUT, "HeaderMismatch", "num_slabs");
	expect_refused(f, patched(img, len, SIZE_MAX, 0, 100 - (long)len), -XS_EA_FILE_SIZE, "InvalidFileSize",
		       "header");

	/* garbage in a claimed byte: taken */
	fd = patched(img, len, 128 + fi->claimed_off, 0x7F, 0);
	T_OK(xs_alloc_join_fmt(&a, fd, f, XS_ALLOC_CLAIM));
	T_EQ(xs_alloc_worker(a), 1);
	T_OK(xs_alloc_probe_fd(fd, &info));
	T_EQ(info.claimed, 2);
	T_EQ(info.first_free, 2);
	xs_alloc_close(a);
	close(fd);
	free(img);
}

/* Offsets a peer hands over, refused before anything is written. */
static void test_bad_frees(enum xs_alloc_format f)
{
	struct xs_alloc *a, *b;
	uint64_t o, slabs;
	uint8_t *before = malloc(FSIZE), *after = malloc(FSIZE);
	uint64_t bad[5];
	int fd = fresh_fd();

	T_ASSERT(before && after);
	T_OK(xs_alloc_create_fmt(&a, fd, FSIZE, 2, 16384, f, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_join_fmt(&b, fd, f, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_alloc_offset(a, 512, &o));
	slabs = xs_alloc_slabs_offset(a);
	T_EQ(pread(fd, before, FSIZE, 0), FSIZE);
	T_ERR(xs_alloc_free_offset(b, 0), -XS_EA_OFFSET);
	T_ERR(xs_alloc_free_offset(b, slabs - 256), -XS_EA_OFFSET);
	T_ERR(xs_alloc_free_offset(b, FSIZE), -XS_EA_OFFSET);
	T_ERR(xs_alloc_free_offset(b, UINT64_MAX - 7), -XS_EA_OFFSET);
	T_ERR(xs_alloc_free_offset(b, o + 8), -XS_EA_NOT_SLOT);
	T_ERR(xs_alloc_free_offset(b, o + 256), -XS_EA_NOT_SLOT); /* inside a 512-byte slot */
	T_ERR(xs_alloc_free_offset(b, slabs + 5 * 16384), -XS_EA_UNASSIGNED);
	bad[0] = 0;
	bad[1] = o + 8;
	bad[2] = slabs + 5 * 16384;
	bad[3] = FSIZE + 4096;
	bad[4] = o + 1;
	T_ERR(xs_alloc_free_offsets(b, bad, 5), -XS_EA_OFFSET);
	T_EQ(pread(fd, after, FSIZE, 0), FSIZE);
	T_BYTES("file after refused frees", after, before, FSIZE);
	T_EQ(xs_alloc_counters(b)->errors, 12);
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
	free(before);
	free(after);
}

/* ------------------------------------------------- 4.0 remote chains */

struct setup {
	int fd;
	struct xs_alloc *a, *b, *c; /* owner (slot 0), freer (1), another owner (2) */
	uint64_t o[6], other;
	uint64_t *head;             /* a's remote_free_head */
};

static void open_setup(struct setup *s)
{
	int i;

	s->fd = fresh_fd();
	T_OK(xs_alloc_create_fmt(&s->a, s->fd, FSIZE, 3, 16384, XS_ALLOC_FMT_4_0, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_join_fmt(&s->b, s->fd, XS_ALLOC_FMT_4_0, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_join_handle(&s->c, s->a, XS_ALLOC_CLAIM));
	for (i = 0; i < 6; i++)
		T_OK(xs_alloc_alloc_offset(s->a, 256, &s->o[i]));
	T_OK(xs_alloc_alloc_offset(s->c, 256, &s->other));
	s->head = (uint64_t *)(void *)(xs_alloc_base(s->a) + 128 + 64);
}

/* After a corrupt drain: the handle still works, and no slot it holds is
 * handed out again. @p held_mask: the slots o[] still held (not taken back
 * by the drain); they are freed locally at the end. */
static void check_after(struct setup *s, unsigned held_mask)
{
	struct xs_alloc_stats st;
	uint64_t n[8];
	int i, j;

	T_EQ(*s->head, XS_ALLOC_NULL_USIZE); /* the drain took the stack */
	for (i = 0; i < 8; i++) {
		T_OK(xs_alloc_alloc_offset(s->a, 256, &n[i]));
		for (j = 0; j < 6; j++)
			T_ASSERT(!((held_mask >> j) & 1) || n[i] != s->o[j], "held slot %d handed out", j);
		for (j = 0; j < i; j++)
			T_ASSERT(n[i] != n[j]);
	}
	for (i = 0; i < 8; i++)
		T_OK(xs_alloc_free_offset(s->a, n[i]));
	for (j = 0; j < 6; j++)
		if ((held_mask >> j) & 1)
			T_OK(xs_alloc_free_offset(s->a, s->o[j]));
	T_OK(xs_alloc_stats(s->a, &st, NULL, 0));
	T_EQ(st.handle_outstanding, 0);
}

static void close_setup(struct setup *s)
{
	xs_alloc_close(s->c);
	xs_alloc_close(s->b);
	xs_alloc_close(s->a);
	close(s->fd);
}

static void bad_head(uint64_t head_value, const char *needle)
{
	struct setup s;
	int rc;

	open_setup(&s);
	__atomic_store_n(s.head, head_value, __ATOMIC_RELEASE);
	xs_clearerr();
	rc = xs_alloc_clean_remote(s.a);
	T_ERR(rc, -XS_EA_REMOTE_CORRUPT);
	T_ASSERT(strstr(xs_errmsg(), needle) != NULL, "'%s' not in: %s", needle, xs_errmsg());
	check_after(&s, 0x3F);
	close_setup(&s);
}

static void test_chains(void)
{
	struct setup s;
	uint64_t *link;

	bad_head(FSIZE + 4096, "outside the slabs");
	bad_head(UINT64_MAX - 1, "outside the slabs");
	bad_head(0, "outside the slabs");
	bad_head(256, "outside the slabs"); /* inside the header / metadata */
	/* not at a slot start, in another worker's slab */
	open_setup(&s);
	__atomic_store_n(s.head, s.o[0] + 8, __ATOMIC_RELEASE);
	T_ERR(xs_alloc_clean_remote(s.a), -XS_EA_REMOTE_CORRUPT);
	T_ASSERT(strstr(xs_errmsg(), "not at a slot start") != NULL, "%s", xs_errmsg());
	check_after(&s, 0x3F);
	close_setup(&s);
	open_setup(&s);
	T_OK(xs_alloc_free_offset(s.b, s.o[1])); /* good first entry */
	link = (uint64_t *)xs_alloc_ptr(s.a, s.o[1]);
	__atomic_store_n(link, s.other, __ATOMIC_RELEASE); /* then c's slot */
	T_ERR(xs_alloc_clean_remote(s.a), -XS_EA_REMOTE_CORRUPT);
	T_ASSERT(strstr(xs_errmsg(), "does not own") != NULL, "%s", xs_errmsg());
	T_EQ(xs_alloc_counters(s.a)->cleaned, 1);
	check_after(&s, 0x3F & ~(1u << 1));
	T_OK(xs_alloc_free_offset(s.c, s.other)); /* c's slot was never touched */
	close_setup(&s);

	/* a loop: o2 -> o3 -> o2 */
	open_setup(&s);
	T_OK(xs_alloc_free_offset(s.b, s.o[2]));
	T_OK(xs_alloc_free_offset(s.b, s.o[3])); /* stack o3 -> o2 -> NULL */
	link = (uint64_t *)xs_alloc_ptr(s.a, s.o[2]);
	__atomic_store_n(link, s.o[3], __ATOMIC_RELEASE);
	xs_clearerr();
	T_ERR(xs_alloc_clean_remote(s.a), -XS_EA_REMOTE_CORRUPT);
	T_ASSERT(strstr(xs_errmsg(), "already free") != NULL, "%s", xs_errmsg());
	T_EQ(xs_alloc_counters(s.a)->cleaned, 2); /* each once */
	check_after(&s, 0x3F & ~(1u << 2) & ~(1u << 3));
	close_setup(&s);

	/* a double remote free: o4 pushed twice links to itself */
	open_setup(&s);
	T_OK(xs_alloc_free_offset(s.b, s.o[5]));
	T_OK(xs_alloc_free_offset(s.b, s.o[4]));
	T_OK(xs_alloc_free_offset(s.b, s.o[4]));
	T_ERR(xs_alloc_clean_remote(s.a), -XS_EA_REMOTE_CORRUPT);
	T_EQ(xs_alloc_counters(s.a)->cleaned, 1); /* o4 once; o5 beyond the loop stays held */
	check_after(&s, 0x3F & ~(1u << 4));
	close_setup(&s);

	/* a remote free of a slot the owner already has back (a late double) */
	open_setup(&s);
	T_OK(xs_alloc_free_offset(s.b, s.o[0]));
	T_EQ(xs_alloc_clean_remote(s.a), 1);
	T_OK(xs_alloc_free_offset(s.b, s.o[0]));
	T_ERR(xs_alloc_clean_remote(s.a), -XS_EA_REMOTE_CORRUPT);
	check_after(&s, 0x3E);
	close_setup(&s);
}

/* 3.0: per-slab stacks, the 0.2 walk; a double remote free is caught. */
static void test_fmt3_double(void)
{
	struct xs_alloc *a, *b;
	uint64_t o[2];
	int fd = fresh_fd(), rc;

	T_OK(xs_alloc_create_fmt(&a, fd, FSIZE, 2, 16384, XS_ALLOC_FMT_3_0, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_join_fmt(&b, fd, XS_ALLOC_FMT_3_0, XS_ALLOC_CLAIM));
	T_OK(xs_alloc_alloc_offset(a, 256, &o[0]));
	T_OK(xs_alloc_alloc_offset(a, 256, &o[1]));
	T_OK(xs_alloc_free_offset(b, o[0]));
	T_OK(xs_alloc_free_offset(b, o[0]));
	rc = xs_alloc_clean_remote(a);
	T_ASSERT(rc == -XS_EA_DOUBLE_FREE || rc == -XS_EA_REMOTE_CORRUPT, "%d", rc);
	T_OK(xs_alloc_free_offset(a, o[1]));
	xs_alloc_close(b);
	xs_alloc_close(a);
	close(fd);
}

int main(void)
{
	int fds = t_fd_count(), maps = maps_count();

	test_headers(XS_ALLOC_FMT_3_0);
	test_headers(XS_ALLOC_FMT_4_0);
	test_bad_frees(XS_ALLOC_FMT_3_0);
	test_bad_frees(XS_ALLOC_FMT_4_0);
	test_chains();
	test_fmt3_double();
	T_EQ(t_fd_count(), fds);
	T_EQ(maps_count(), maps);
	return 0;
}
