// SPDX-License-Identifier: Apache-2.0
//
// The public headers from C++: this translation unit is C++17 (built only
// when CMake finds a C++ compiler) and includes every installed xsched
// header, then runs a few of the inline hot-path functions, so that a
// construct C accepts and C++ rejects (_Static_assert, _Alignof, implicit
// void * conversions, compound literals, restrict, ...) in a header or an
// inline body fails the build, and a miscompiled inline fails the run.
// Compiled with the project's -Wall -Wextra -Werror (C-only flags dropped,
// see tests/queues/CMakeLists.txt). Exits 0 on pass.

#include <xsched/common.h>
#include <xsched/shm.h>
#include <xsched/spsc.h>
#include <xsched/shaq.h>
#include <xsched/mpmc.h>
#include <xsched/msg.h>
#include <xsched/alloc.h>
#include <xsched/handshake.h>
#include <xsched/topo.h>
#include <xsched/runtime.h>
#include <xsched/guard.h>
#include <xsched/metrics.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include <sys/mman.h>
#include <unistd.h>

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			std::fprintf(stderr, "%s:%d: CHECK(%s) failed (xs_errmsg: %s)\n", \
				     __FILE__, __LINE__, #cond, xs_errmsg());            \
			std::exit(1);                                                    \
		}                                                                        \
	} while (0)

// The portable compile-time macros of common.h work in C++ as in C.
XS_STATIC_ASSERT(XS_ALIGNOF(struct xs_tpu_to_pack) == 8, "message alignment from C++");
XS_STATIC_ASSERT(sizeof(struct xs_spsc_shm) == XS_SPSC_HEADER_SIZE, "shaq header from C++");
XS_STATIC_ASSERT(sizeof(struct xs_alloc_header_shm) == XS_ALLOC_HEADER_SIZE, "alloc header from C++");

// SPSC: raw reserve / commit / poll / finalize, then the typed wrappers.
static void spsc_roundtrip()
{
	const size_t esz = sizeof(struct xs_tpu_to_pack), eal = XS_ALIGNOF(struct xs_tpu_to_pack);
	const size_t size = xs_spsc_min_file_size(64, esz, eal);
	// page-aligned backing store (the header wants 64-byte alignment)
	void *mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct xs_spsc prod, cons;

	CHECK(mem != MAP_FAILED);
	CHECK(xs_spsc_attach_mem(&prod, mem, size, esz, eal, XS_SHAQ_1_0, XS_SPSC_PRODUCER, 1) == 0);
	CHECK(xs_spsc_attach_mem(&cons, mem, size, esz, eal, XS_SHAQ_1_0, XS_SPSC_CONSUMER, 0) == 0);
	CHECK(xs_spsc_capacity(&prod) == 64);

	for (uint64_t round = 0; round < 3; round++) {
		for (uint64_t i = 0; i < 64; i++) {
			struct xs_tpu_to_pack *m = static_cast<struct xs_tpu_to_pack *>(xs_spsc_reserve(&prod));

			CHECK(m != nullptr);
			std::memset(m, 0, sizeof(*m));
			m->transaction.offset = round * 1000 + i;
			m->transaction.length = static_cast<uint32_t>(i);
		}
		CHECK(xs_spsc_reserve(&prod) == nullptr); // full
		xs_spsc_commit(&prod);
		for (uint64_t i = 0; i < 64; i++) {
			const struct xs_tpu_to_pack *m =
				static_cast<const struct xs_tpu_to_pack *>(xs_spsc_poll(&cons));

			CHECK(m != nullptr);
			CHECK(m->transaction.offset == round * 1000 + i);
			CHECK(m->transaction.length == i);
		}
		CHECK(xs_spsc_poll(&cons) == nullptr); // empty
		xs_spsc_finalize(&cons);
	}

	// typed wrappers of msg.h
	struct xs_tpu_to_pack in;
	std::memset(&in, 0, sizeof(in));
	in.transaction.offset = 4242;
	CHECK(xs_tpu_to_pack_try_push(&prod, &in) == 0);
	struct xs_tpu_to_pack *r = xs_tpu_to_pack_reserve(&prod);
	CHECK(r != nullptr);
	*r = in;
	r->transaction.offset = 4343;
	xs_spsc_commit(&prod);
	const struct xs_tpu_to_pack *out = xs_tpu_to_pack_poll(&cons);
	CHECK(out != nullptr && out->transaction.offset == 4242);
	out = xs_tpu_to_pack_try_read(&cons);
	CHECK(out != nullptr && out->transaction.offset == 4343);
	xs_spsc_finalize(&cons);
	CHECK(xs_spsc_error(&prod) == 0 && xs_spsc_error(&cons) == 0);
	// a typed push into a queue of another element size is refused
	struct xs_progress pr;
	std::memset(&pr, 0, sizeof(pr));
	CHECK(xs_progress_try_push(&prod, &pr) == -XS_EQ_ELEM);
	xs_spsc_close(&cons);
	xs_spsc_close(&prod);
	munmap(mem, size);
}

// Formats 2.0 / 3.0: SPSC with the wake check, MPMC copy and zero-copy paths.
static void shaq_formats()
{
	const size_t size = xs_shaq_min_file_size(XS_SHAQ_3_0, XS_SHAQ_MPMC, 8, 16, 8);
	void *mem = nullptr;
	struct xs_mpmc p, c;
	struct xs_spsc sp, sc;
	uint64_t e[2] = { 7, 8 }, out[2] = { 0, 0 }, pos = 0;
	uint32_t n = 0;

	CHECK(size == 512);
	CHECK(posix_memalign(&mem, 4096, 4096) == 0);
	std::memset(mem, 0, 4096);
	CHECK(xs_mpmc_attach_mem(&p, mem, size, 16, 8, XS_SHAQ_3_0, XS_MPMC_PRODUCER, 1) == 0);
	CHECK(xs_mpmc_attach_mem(&c, mem, size, 16, 8, XS_SHAQ_ANY, XS_MPMC_CONSUMER, 0) == 0);
	CHECK(xs_mpmc_try_push(&p, e) == 0 && xs_mpmc_push_n(&p, e, 1) == 0);
	CHECK(xs_mpmc_reserve_write(&p, 1, &pos) == 0);
	std::memcpy(xs_mpmc_slot(&p, pos), e, sizeof(e));
	CHECK(xs_mpmc_publish(&p) == 0);
	CHECK(xs_mpmc_try_pop(&c, out) == 0 && out[0] == 7);
	CHECK(xs_mpmc_pop_n(&c, out, 1) == 1);
	CHECK(xs_mpmc_reserve_read(&c, 4, &pos, &n) == 0 && n == 1);
	CHECK(xs_mpmc_release(&c) == 0);
	CHECK(xs_mpmc_try_pop(&c, out) == -EAGAIN);
	xs_mpmc_close(&p);
	xs_mpmc_close(&c);
	std::memset(mem, 0, 4096);
	CHECK(xs_spsc_attach_mem(&sp, mem, 384, 16, 8, XS_SHAQ_3_0, XS_SPSC_PRODUCER, 1) == 0);
	CHECK(xs_spsc_attach_mem(&sc, mem, 384, 16, 8, XS_SHAQ_ANY, XS_SPSC_CONSUMER, 0) == 0);
	CHECK(sc.format == XS_SHAQ_3_0 && sc.waiters != nullptr);
	CHECK(xs_spsc_try_push(&sp, e) == 0 && xs_spsc_pop_block(&sc, out, 0) == 0 && out[1] == 8);
	struct xs_shaq_info info;
	CHECK(xs_shaq_probe(mem, 384, &info) == 0 && info.format == XS_SHAQ_3_0 && info.capacity == 8);
	std::free(mem);
}

// Allocator: the inline alloc / free paths on a real file.
static void alloc_roundtrip()
{
	const size_t fsize = 16 * XS_ALLOC_MIN_SLAB;
	int fd = xs_memfd_create("xs-cxx-alloc", 0);
	struct xs_alloc *a = nullptr;
	std::set<uint64_t> live;

	CHECK(fd >= 0);
	CHECK(xs_alloc_create(&a, fd, fsize, 2, XS_ALLOC_MIN_SLAB, 0) == 0);
	CHECK(xs_alloc_size_class(1) == 0 && xs_alloc_size_class(257) == 1 && xs_alloc_size_class(4096) == 4);
	for (size_t sz : {1u, 256u, 300u, 1000u, 4096u}) {
		for (int k = 0; k < 20; k++) {
			uint64_t off = 0;

			CHECK(xs_alloc_alloc_offset(a, sz, &off) == 0);
			CHECK(live.insert(off).second); // never handed out twice
			void *p = nullptr;
			CHECK(xs_alloc_check(a, off, sz, &p) == 0 && p == xs_alloc_ptr(a, off));
			std::memset(p, 0x5a, sz);
		}
	}
	void *p = xs_alloc_alloc(a, 512);
	CHECK(p != nullptr);
	CHECK(xs_alloc_offset(a, p) >= xs_alloc_slabs_offset(a));
	CHECK(xs_alloc_free(a, p) == 0);
	CHECK(xs_alloc_free(a, p) == -XS_EA_DOUBLE_FREE);
	CHECK(xs_alloc_free(a, nullptr) == 0);
	uint64_t big = 0;
	CHECK(xs_alloc_alloc_offset(a, 4097, &big) == -XS_EA_TOO_BIG);
	for (uint64_t off : live)
		CHECK(xs_alloc_free_offset(a, off) == 0);
	CHECK(xs_alloc_counters(a)->allocs == live.size() + 1);
	xs_alloc_close(a);
	close(fd);
}

// Header-only helpers of the runtime and the error model.
static void misc()
{
	struct xs_cpuset s;

	xs_cpuset_zero(&s);
	xs_cpuset_set(&s, 3);
	xs_cpuset_set(&s, 70);
	CHECK(xs_cpuset_count(&s) == 2 && xs_cpuset_isset(&s, 70) && !xs_cpuset_isset(&s, 4));
	CHECK(xs_cpuset_next(&s, -1) == 3 && xs_cpuset_next(&s, 3) == 70);
	CHECK(std::strlen(xs_strerror(-XS_EA_DOUBLE_FREE)) > 0);
	CHECK(std::strlen(xs_strerror(-ENOMEM)) > 0);
	xs_cpu_relax();
}

int main()
{
	spsc_roundtrip();
	shaq_formats();
	alloc_roundtrip();
	misc();
	std::printf("test_cxx_headers: ok (C++%ld)\n", static_cast<long>(__cplusplus));
	return 0;
}
