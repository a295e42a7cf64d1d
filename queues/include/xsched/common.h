/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched common definitions: inline and cache-line macros, CPU relax, and the
 * error model shared by every module.
 *
 * Errors. Every fallible function returns 0 (or a count / positive value) on
 * success and a negative number on failure. The negative number is either
 * -errno (a system error, e.g. -ENOMEM, -ETIMEDOUT) or -XS_E_* (an xsched
 * error with a precise meaning, e.g. -XS_EQ_VERSION). Both are turned into
 * text by xs_strerror(). The last failure of the calling thread also keeps a
 * detailed message (with the numbers that made it fail) in xs_errmsg().
 *
 * xsched error numbers live above the errno range, one block of 100 per
 * module, so a module can add codes without touching the others:
 *   4000 common/shm   4100 queues   4200 alloc   4300 handshake
 *   4400 runtime      4500 messages/validation   4600 tools
 */
#ifndef XS_COMMON_H
#define XS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Every declaration up to the matching pop is public: exported from
 * libxsched.so, which is built with -fvisibility=hidden (README "ABI"). */
#pragma GCC visibility push(default)

#define XS_INLINE   static inline __attribute__((always_inline))
#define XS_NOINLINE __attribute__((noinline))
#define XS_COLD     __attribute__((cold))
#define XS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define XS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define XS_PRINTF(f, a) __attribute__((format(printf, f, a)))

/** Cache line size assumed for layout decisions (x86-64). */
#define XS_CACHE_LINE 64
#define XS_CACHE_ALIGNED __attribute__((aligned(XS_CACHE_LINE)))

/*
 * Compile-time checks and alignment queries that read the same in C11 and
 * C++11 (the public headers are included from C++ too: C++ has no
 * _Static_assert / _Alignof keywords, it spells them static_assert / alignof).
 */
#if defined(__cplusplus)
#define XS_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#define XS_ALIGNOF(type) alignof(type)
#else
#define XS_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#define XS_ALIGNOF(type) _Alignof(type)
#endif

/** Spin-wait hint: `pause` on x86 (yields the core's pipeline to the SMT sibling). */
XS_INLINE void xs_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* ---- error numbers (positive here; functions return them negated) ---- */
#define XS_E_BASE 4000
enum xs_error_common {
	XS_E_INTERNAL = XS_E_BASE, /**< an internal invariant failed */
	XS_ESHM_SIZE,              /**< shared-memory object has an unusable size */
	XS_ESHM_HUGE,              /**< huge pages were required but are not available */
	XS_ESHM_UNSEALED,          /**< object is not sealed and sealing was required */
};

/** Block starts for the other modules (see the table above). */
#define XS_E_QUEUES_BASE    4100
#define XS_E_ALLOC_BASE     4200
#define XS_E_HS_BASE        4300
#define XS_E_RT_BASE        4400
#define XS_E_MSG_BASE       4500
#define XS_E_TOOLS_BASE     4600
#define XS_E_END            4700

/**
 * Text for an error number, negative or positive, errno or xsched.
 * Never returns NULL; the string is static (or thread-local for unknown codes).
 */
const char *xs_strerror(int err);

/**
 * Detailed message of the calling thread's last failure, with the values that
 * caused it ("queue file 4096 bytes gives capacity 64, header says 128").
 * Empty string when none was recorded.
 */
const char *xs_errmsg(void);

/** Record a detailed message for the calling thread and return @p err (negative). */
int xs_seterr(int err, const char *fmt, ...) XS_PRINTF(2, 3);

/** Clear the calling thread's detailed message. */
void xs_clearerr(void);

/**
 * Put in a module's private header: every object file of the module then
 * references the module's xs_strerror_<module>(), so a static link that uses
 * any of the module's code also links its error texts (xs_strerror() finds
 * them through weak references, which alone pull nothing from an archive).
 */
#define XS_LINK_ERROR_TEXTS(fn)                                                \
	static const char *(*const xs__error_texts_anchor)(int) __attribute__((used)) = (fn)

/**
 * Rust's Debug text of the OS error @p err (negative or positive errno), as
 * upstream's rejection texts quote it: `Os { code: N, kind: Kind, message:
 * "strerror" }`, Kind being std::io::ErrorKind's name for that errno.
 * @return snprintf()'s count.
 */
int xs_rust_os_error(char *buf, size_t cap, int err);

/** Library version string, e.g. "0.1.0". */
const char *xs_version(void);

/*
 * Per-module text tables: each module defines its xs_strerror_<module>() in
 * its own source; xs_strerror() calls whichever is linked in.
 */
const char *xs_strerror_queues(int code);
const char *xs_strerror_alloc(int code);
const char *xs_strerror_hs(int code);
const char *xs_strerror_rt(int code);
const char *xs_strerror_msg(int code);
const char *xs_strerror_tools(int code);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_COMMON_H */
