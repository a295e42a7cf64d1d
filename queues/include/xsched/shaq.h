/* SPDX-License-Identifier: Apache-2.0 */
/*
 * shaq queue files, every format xsched speaks: one table row per format,
 * the header probe, sizes, errors with upstream's texts, and the futex
 * waiting protocol of format 3.0. The queues themselves are xsched/spsc.h
 * (every format) and xsched/mpmc.h (formats 2.0 and 3.0); both create, join
 * and attach through the rows below, so a new format is a new row.
 *
 *   format  crates            agave lines                          header
 *   0.2     shaq 0.2.0        3.1.x (handshake VERSION 1)          SPSC 192 B, no version
 *   1.0     shaq 1.0.0-1.0.2  master 2025-11..2026-01 (V2), 4.0.x  SPSC 192 B, byte@136 = 1
 *   2.0     shaq 2.0.0, 3.0.0 4.1.x, 4.2.x, 4.3.x (VERSION 4, 5)   magic, u32@8 = 0x00020000,
 *                                                                  u32 mask@12; SPSC 192, MPMC 320
 *   3.0     shaq 4.0.0 (4.x)  4.4.x (agave-scheduler-handshake)    2.0 + waiters line (futex);
 *                                                                  SPSC 256, MPMC 384
 *
 * Cursor offsets (every cursor a free-running u64 in its own 64-byte line):
 *   SPSC 0.2/1.0  write@0   read@64                 buffer_size u64@128
 *   SPSC 2.0      write@64  read@128                mask u32@12
 *   SPSC 3.0      write@64  read@128  waiters@192
 *   MPMC 2.0      producer_reservation@64 producer_publication@128
 *                 consumer_reservation@192 consumer_release@256
 *   MPMC 3.0      the same + waiters@320
 * Magic (u64@0, formats >= 2.0): "shaqspsc" / "shaqmpmc" read as big-endian
 * numbers, stored little-endian. Ring: header size rounded up to the element
 * alignment; slot of position p at ring + (p & mask) * elem_size.
 *
 * Futex (format 3.0, SHAQ3.md §5): the futex word is the low 32 bits of the
 * publication cursor (SPSC `write`, MPMC `producer_publication`). A producer,
 * after every publication: Release store of the cursor, SeqCst fence,
 * Relaxed load of `waiters`, FUTEX_WAKE (shared, not _PRIVATE) when it is
 * non-zero. A sleeping consumer: waiters += 1, SeqCst fence, re-check,
 * FUTEX_WAIT on the word with its snapshot, waiters -= 1 (AcqRel), re-check.
 */
#ifndef XS_SHAQ_H
#define XS_SHAQ_H

#include <stddef.h>
#include <stdint.h>

#include "xsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every declaration up to the matching pop is public: exported from
 * libxsched.so, which is built with -fvisibility=hidden (README "ABI"). */
#pragma GCC visibility push(default)

/* ------------------------------------------------------------- constants */

/** On-disk formats (the values are stable: tools print and store them). */
enum xs_shaq_format {
	XS_SHAQ_0_2 = 0, /**< shaq 0.2.0 (handshake VERSION 1): no version byte */
	XS_SHAQ_1_0 = 1, /**< shaq 1.0.x (VERSION 2, 3): version byte == 1 */
	XS_SHAQ_2_0 = 2, /**< shaq format 2.0 (crates 2.0.0, 3.0.0; VERSION 4, 5): magic + 0x0002_0000 + mask */
	XS_SHAQ_3_0 = 3, /**< shaq format 3.0 (crate 4.x; SDK handshake): format 2.0 + futex waiters line */
	XS_SHAQ_ANY = 0xFF, /**< join only: detect the format from the header */
};

/** Number of concrete formats (rows of the table). */
#define XS_SHAQ_NFORMATS 4

/** Queue kinds (format 2.0 and later have both; earlier formats only SPSC). */
enum xs_shaq_kind {
	XS_SHAQ_SPSC = 0,
	XS_SHAQ_MPMC = 1,
};

/** Magic numbers (u64 at offset 0, formats >= 2.0). */
#define XS_SHAQ_MAGIC_SPSC 0x7368617173707363ull /* "shaqspsc" */
#define XS_SHAQ_MAGIC_MPMC 0x736861716D706D63ull /* "shaqmpmc" */

/** Version words (u32 at offset 8): major << 16 | patch. */
#define XS_SHAQ_VERSION_2_0 0x00020000u
#define XS_SHAQ_VERSION_3_0 0x00030000u
/** The 1.0.x version byte (offset 136). */
#define XS_SHAQ_VERSION_1_0 1u

/** Mapping alignment formats >= 2.0 require (upstream MINIMUM_REGION_ALIGNMENT). */
#define XS_SHAQ_REGION_ALIGN 4096u

/** Spins (re-checks) of a blocking read before it registers as a waiter (upstream SPIN_ATTEMPTS). */
#define XS_SHAQ_SPIN_ATTEMPTS 2048u

/** Queue error numbers (returned negated). */
enum xs_error_queues {
	XS_EQ_TOO_SMALL = XS_E_QUEUES_BASE, /**< file smaller than header + one element */
	XS_EQ_SIZE_MISMATCH, /**< header capacity disagrees with the file size */
	XS_EQ_NOT_POW2,      /**< header buffer_size is zero or not a power of two */
	XS_EQ_VERSION,       /**< version byte/word is not the one the format requires */
	XS_EQ_CORRUPT,       /**< a cursor moved backwards or outside its window */
	XS_EQ_ELEM,          /**< element size or alignment unusable */
	XS_EQ_ROLE,          /**< operation not valid for this handle's role */
	XS_EQ_MAGIC,         /**< magic is not the one of the queue kind asked for */
	XS_EQ_ALIGN,         /**< mapping not aligned as the format requires */
	XS_EQ_TOO_LARGE,     /**< capacity beyond 2^32 (mask formats) or size overflow */
	XS_EQ_STALLED,       /**< MPMC: an earlier reservation was not published/released in time */
};

/* --------------------------------------------------------- format table */

/** Where a format keeps its version. */
enum xs_shaq_verkind {
	XS_SHAQ_VER_NONE = 0, /**< none (0.2) */
	XS_SHAQ_VER_BYTE,     /**< u8 at offset 136 (1.0) */
	XS_SHAQ_VER_WORD,     /**< u32 at offset 8, after the magic (>= 2.0) */
};

/** How a format records its capacity. */
enum xs_shaq_sizekind {
	XS_SHAQ_SIZE_U64 = 0, /**< buffer_size u64 at offset 128 = capacity (0.2, 1.0) */
	XS_SHAQ_SIZE_MASK,    /**< buffer_mask u32 at offset 12 = capacity - 1 (>= 2.0) */
};

/** How minimum_file_size treats a capacity that is not a power of two. */
enum xs_shaq_round {
	XS_SHAQ_ROUND_NONE = 0, /**< used as is (0.2, 1.0: the file may then hold fewer) */
	XS_SHAQ_ROUND_POW2,     /**< rounded up to a power of two, 0 stays 0 (>= 2.0) */
};

/**
 * One on-disk format. Offsets are bytes from the start of the file; 0 in a
 * per-kind field means "this kind has none" (no cursor lives at 0 except the
 * 0.2/1.0 `write`, which spsc_write states explicitly).
 */
struct xs_shaq_fmt {
	uint8_t format;        /**< enum xs_shaq_format */
	uint8_t version_kind;  /**< enum xs_shaq_verkind */
	uint8_t size_kind;     /**< enum xs_shaq_sizekind */
	uint8_t cap_round;     /**< enum xs_shaq_round */
	uint32_t version;      /**< value of the version field (byte 1, word 0x0002_0000, ...), 0 if none */
	const char *name;      /**< "0.2", "1.0", "2.0", "3.0" */
	const char *crates;    /**< upstream crates writing it */
	uint64_t magic[2];     /**< per kind (enum xs_shaq_kind); 0: no magic */
	uint32_t header_size[2]; /**< per kind; 0: the format has no such kind */
	uint32_t spsc_write, spsc_read; /**< SPSC cursors */
	uint32_t mpmc_prod_res, mpmc_prod_pub, mpmc_cons_res, mpmc_cons_rel; /**< MPMC cursors */
	uint32_t waiters[2];   /**< per kind: offset of the waiters count; 0: no futex waiting */
	uint32_t futex_word[2]; /**< per kind: offset of the 32-bit futex word (low half of the
	                             publication cursor); 0: none */
	uint32_t size_off;     /**< offset of buffer_size (u64) or buffer_mask (u32) */
	uint32_t version_off;  /**< offset of the version byte/word; 0 if none */
	uint32_t region_align; /**< required alignment of the mapping; 0: only the header's 64 */
	uint32_t max_elem_align; /**< largest element alignment; 0: no limit */
	uint64_t max_capacity; /**< largest capacity (2^32 for mask formats), 0: no limit */
};

/** Row of @p format, or NULL for an unknown value (XS_SHAQ_ANY included). */
const struct xs_shaq_fmt *xs_shaq_fmt_get(enum xs_shaq_format format);

/** "0.2", "1.0", "2.0", "3.0", "any", or "?" (never NULL). */
const char *xs_shaq_format_name(enum xs_shaq_format format);

/** "spsc" / "mpmc" / "?". */
const char *xs_shaq_kind_name(enum xs_shaq_kind kind);

/** "0.2, 1.0, 2.0, 3.0": the formats this build speaks, for messages. */
const char *xs_shaq_formats_supported(void);

/* --------------------------------------------------------------- sizes */

/** Offset of slot 0: the kind's header size rounded up to @p elem_align (0 for an unknown format/kind). */
size_t xs_shaq_ring_offset(enum xs_shaq_format format, enum xs_shaq_kind kind, size_t elem_align);

/**
 * upstream try_minimum_file_size: ring offset + C * elem_size, where C is
 * @p capacity (0.2, 1.0) or capacity rounded up to a power of two (>= 2.0,
 * 0 stays 0). @return 0 and *out; -XS_EQ_TOO_LARGE when the rounding, the
 * product or the sum overflows; -XS_EQ_ELEM; -EINVAL for an unknown
 * format/kind (MPMC before 2.0 included).
 */
int xs_shaq_try_min_file_size(enum xs_shaq_format format, enum xs_shaq_kind kind,
			      uint64_t capacity, size_t elem_size, size_t elem_align, size_t *out);

/** upstream minimum_file_size: as xs_shaq_try_min_file_size(), 0 on any error. */
size_t xs_shaq_min_file_size(enum xs_shaq_format format, enum xs_shaq_kind kind,
			     uint64_t capacity, size_t elem_size, size_t elem_align);

/**
 * Capacity a file of @p file_size bytes gives (create and join): the largest
 * power of two <= (file_size - ring offset) / elem_size; formats >= 2.0 also
 * refuse a capacity above 2^32.
 * @return 0 and *cap; -XS_EQ_TOO_SMALL (no element fits), -XS_EQ_TOO_LARGE,
 *         -XS_EQ_ELEM, -EINVAL (unknown format/kind).
 */
int xs_shaq_capacity_for(enum xs_shaq_format format, enum xs_shaq_kind kind, size_t file_size,
			 size_t elem_size, size_t elem_align, uint64_t *cap);

/* --------------------------------------------------------------- probe */

/** What a queue header says about itself (xs_shaq_probe()). */
struct xs_shaq_info {
	enum xs_shaq_format format; /**< detected format; XS_SHAQ_ANY when not recognised */
	enum xs_shaq_kind kind;     /**< by the magic (0.2/1.0: always SPSC) */
	uint64_t magic;             /**< u64 at 0 (formats >= 2.0; for 0.2/1.0 files it is `write`) */
	uint32_t version;           /**< version word (>= 2.0), version byte (0.2/1.0 files) */
	uint64_t capacity;          /**< from the header: buffer_size, or mask + 1 */
	size_t ring_offset;         /**< header size (ring start for elements aligned <= 64) */
	size_t file_size;           /**< the size probed */
};

/**
 * Read a queue header and say which format and kind it is, without joining
 * (no cursor is read, nothing is written). Detection: the SPSC or MPMC magic
 * at 0 means format 2.0 / 3.x by the version word at 8; otherwise a 0.2/1.0
 * SPSC file: 1.0 when byte 136 is 1, 0.2 when it is 0.
 * @return 0 with *out filled; or -XS_EQ_VERSION (magic present but a version
 *         this build does not speak, or a version byte other than 0/1; *out
 *         still has kind and version, format = XS_SHAQ_ANY), -XS_EQ_TOO_SMALL
 *         (smaller than the header), -XS_EQ_NOT_POW2 / -XS_EQ_TOO_LARGE
 *         (header capacity unusable), -EINVAL. The message (xs_errmsg())
 *         names the values found.
 */
int xs_shaq_probe(const void *mem, size_t size, struct xs_shaq_info *out);

/** xs_shaq_probe() on a file: fstat, pread of the header (no mapping). -errno on I/O errors. */
int xs_shaq_probe_fd(int fd, struct xs_shaq_info *out);

/* -------------------------------------------------- upstream error texts */

/** A failed create/join/probe in upstream's terms (shaq::error::Error). */
struct xs_shaq_error {
	int code;            /**< the xsched error (-XS_EQ_*, -errno) */
	uint8_t format;      /**< enum xs_shaq_format whose rules applied */
	uint8_t io;          /**< for -errno: 1 = Io (ftruncate, fstat), 2 = Mmap */
	uint32_t expected;   /**< InvalidVersion: version the format requires */
	uint32_t actual;     /**< InvalidVersion: version found */
	uint64_t align_min;  /**< InvalidRegionAlignment: minimum (4096) */
	uint64_t align_actual; /**< InvalidRegionAlignment: bytes to the next aligned address */
};

/** Detail of the calling thread's last failed shaq create/join/attach/probe. */
void xs_shaq_last_error(struct xs_shaq_error *out);

/**
 * Text of @p e as upstream prints it: @p debug != 0 gives Rust's Debug form
 * (`InvalidMagic`, `InvalidVersion { expected: 196608, actual: 131072 }`,
 * `InvalidBufferSize`, `InvalidRegionAlignment { minimum: 4096, actual: 8 }`,
 * `Io(Os { code: 2, kind: NotFound, message: "No such file or directory" })`),
 * else the Display form (`invalid magic`, `invalid version; expected=3.0;
 * found=2.0`, `invalid buffer size`, `io; err=... (os error 2)`). Formats
 * 0.2/1.0 have no magic and a field-less `InvalidVersion` ("invalid
 * version"). What the agave server sends is "Shaq; err=" + the Debug form.
 * @return the length of the full text (snprintf-like; @p buf always terminated).
 */
int xs_shaq_error_text(const struct xs_shaq_error *e, int debug, char *buf, size_t len);

/* ------------------------------------------------------ futex waiting */

/** What a sleeper needs of one queue (format 3.0 consumers). */
struct xs_shaq_waitref {
	uint64_t *waiters; /**< the queue's waiters count */
	uint64_t *cursor;  /**< the publication cursor: its low 32 bits are the futex word */
};

/* Full barrier between the waiter count and the cursor (both directions of
 * the protocol). GCC's TSan does not model fences and warns about them; the
 * fence is kept (it is what the hardware needs), the warning silenced. */
#if defined(__SANITIZE_THREAD__) && !defined(__clang__) && __GNUC__ >= 12
#define XS__SHAQ_FENCE_SC()                                                   \
	do {                                                                  \
		_Pragma("GCC diagnostic push");                               \
		_Pragma("GCC diagnostic ignored \"-Wtsan\"");                 \
		__atomic_thread_fence(__ATOMIC_SEQ_CST);                      \
		_Pragma("GCC diagnostic pop");                                \
	} while (0)
#else
#define XS__SHAQ_FENCE_SC() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

XS_STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
		 "the futex word is the low half of a little-endian u64 cursor");

/** Cold: FUTEX_WAKE (shared) on the low 32 bits of @p cursor, waking up to @p n (clamped to INT_MAX). */
void xs__shaq_futex_wake(uint64_t *cursor, uint64_t n);

/**
 * FUTEX_WAIT (shared) on the low 32 bits of @p cursor while they equal
 * @p expect, at most @p timeout_ns (relative; 0: return at once).
 * @return 0 (woken, maybe spuriously), -EAGAIN (the word differed),
 *         -ETIMEDOUT, -EINTR, other -errno.
 */
int xs_shaq_futex_wait(uint64_t *cursor, uint32_t expect, uint64_t timeout_ns);

/**
 * Producer side of the protocol, after the Release store of the publication
 * cursor @p cursor: SeqCst fence, Relaxed load of @p waiters, FUTEX_WAKE of
 * min(waiters, @p n) when non-zero.
 * Ordering: the fence orders our cursor store before the waiters load; it
 * pairs with the fence a sleeper issues between its waiters increment and
 * its cursor re-check (xs_shaq_wait()): either the sleeper sees our cursor
 * or we see its registration and wake it.
 */
XS_INLINE void xs__shaq_wake_check(uint64_t *waiters, uint64_t *cursor, uint64_t n)
{
	uint64_t w;

	XS__SHAQ_FENCE_SC();
	w = __atomic_load_n(waiters, __ATOMIC_RELAXED);
	if (XS_UNLIKELY(w))
		xs__shaq_futex_wake(cursor, w < n ? w : n);
}

/**
 * A blocking read's wait, the consumer side of the protocol: call
 * @p ready (which re-checks the queue with Acquire loads; > 0 means done, < 0
 * an error to return), spinning XS_SHAQ_SPIN_ATTEMPTS checks, then
 * waiters += 1 (Relaxed), SeqCst fence, snapshot the cursor (Acquire),
 * re-check, FUTEX_WAIT with the snapshot, waiters -= 1 (AcqRel), re-check,
 * until @p deadline_ns (CLOCK_MONOTONIC). With @p w NULL or w->waiters NULL
 * (formats without a waiters line) it polls and sleeps with a growing delay
 * (1 µs .. 1 ms) instead.
 * @return ready()'s positive value, its error, or -ETIMEDOUT.
 */
int xs_shaq_wait(const struct xs_shaq_waitref *w, int (*ready)(void *arg), void *arg,
		 uint64_t deadline_ns);

/** CLOCK_MONOTONIC now + @p timeout_ns, saturating (a deadline for xs_shaq_wait()). */
uint64_t xs_shaq_deadline(uint64_t timeout_ns);

/* --------------------------------------------------- internal (xs__) */

/* The one create/join/attach path of SPSC and MPMC: validate (init == 0) or
 * initialise (init != 0) the header of a @p kind queue of @p size bytes at
 * @p mem. *format may be XS_SHAQ_ANY on join (resolved here). On success
 * *cap is the capacity and *row the format's row. Failures set xs_errmsg()
 * and the xs_shaq_last_error() detail. */
int xs__shaq_open(void *mem, size_t size, size_t elem_size, size_t elem_align,
		  enum xs_shaq_format *format, enum xs_shaq_kind kind, int init, uint64_t *cap,
		  const struct xs_shaq_fmt **row);

/* Map a queue file: create (ftruncate to size, after checking the format's
 * arithmetic) or join (fstat). Records Io/Mmap detail on failure. */
int xs__shaq_map(int fd, size_t *size, int create, enum xs_shaq_format format,
		 enum xs_shaq_kind kind, size_t elem_size, size_t elem_align, uint8_t **base);

/* Record the upstream-terms detail of a failure (thread-local) and return @p code. */
int xs__shaq_fail(int code, enum xs_shaq_format format);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_SHAQ_H */
