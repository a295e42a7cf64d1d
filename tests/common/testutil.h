/* SPDX-License-Identifier: Apache-2.0 */
/* Test helpers (t_ prefix, never in the library). A failed check prints where
 * and why, then exits 1. Tests return 0 on success. */
#ifndef XS_TESTUTIL_H
#define XS_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "xsched/common.h"

void t_fail(const char *file, int line, const char *fmt, ...) XS_PRINTF(3, 4) __attribute__((noreturn));

#define T_ASSERT(cond, ...)                                                   \
	do {                                                                  \
		if (!(cond))                                                  \
			t_fail(__FILE__, __LINE__, "assertion failed: " #cond " " __VA_ARGS__); \
	} while (0)

/* expr must be >= 0; prints the xsched error text and detail otherwise. */
#define T_OK(expr)                                                            \
	do {                                                                  \
		long t_rc_ = (long)(expr);                                    \
		if (t_rc_ < 0)                                                \
			t_fail(__FILE__, __LINE__, "%s returned %ld (%s) %s", #expr, t_rc_, \
			       xs_strerror((int)t_rc_), xs_errmsg());          \
	} while (0)

/* expr must return exactly want (an error code, usually negative). */
#define T_ERR(expr, want)                                                     \
	do {                                                                  \
		long t_rc_ = (long)(expr), t_w_ = (long)(want);               \
		if (t_rc_ != t_w_)                                            \
			t_fail(__FILE__, __LINE__, "%s returned %ld (%s), wanted %ld (%s) [%s]", \
			       #expr, t_rc_, xs_strerror((int)t_rc_), t_w_,    \
			       xs_strerror((int)t_w_), xs_errmsg());           \
	} while (0)

#define T_EQ(a, b)                                                            \
	do {                                                                  \
		unsigned long long t_a_ = (unsigned long long)(a), t_b_ = (unsigned long long)(b); \
		if (t_a_ != t_b_)                                             \
			t_fail(__FILE__, __LINE__, "%s == %s: %llu != %llu (0x%llx != 0x%llx)", #a, #b, \
			       t_a_, t_b_, t_a_, t_b_);                       \
	} while (0)

/* Read ../shared/vectors/<name>; fails the test when missing. Caller frees. */
uint8_t *t_read_vector(const char *name, size_t *len);
/* Read a whole file; NULL when missing. */
uint8_t *t_read_file(const char *path, size_t *len);
/* Path of a vector (static buffer). */
const char *t_vector_path(const char *name);

/* Compare len bytes, ignoring the byte ranges [lo, hi] (inclusive) given as
 * pairs in skip (nskip pairs). On mismatch prints a diff and fails. */
void t_expect_bytes(const char *file, int line, const char *what, const uint8_t *got,
		    const uint8_t *want, size_t len, const size_t *skip, size_t nskip);
#define T_BYTES(what, got, want, len) t_expect_bytes(__FILE__, __LINE__, what, got, want, len, NULL, 0)
#define T_BYTES_MASKED(what, got, want, len, skip, nskip) \
	t_expect_bytes(__FILE__, __LINE__, what, got, want, len, skip, nskip)

/* Number of open descriptors of this process (/proc/self/fd). */
int t_fd_count(void);
/* CLOCK_MONOTONIC in ns. */
uint64_t t_now_ns(void);
/* Simple deterministic PRNG (xorshift64*). */
uint64_t t_rand(uint64_t *state);
/* Number of online CPUs. */
int t_ncpus(void);

#endif
