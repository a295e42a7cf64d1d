/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared-memory slab allocator, byte-compatible with the rts-alloc file
 * formats of every agave line that runs external schedulers (spec:
 * shared/spec/RTS_ALLOC.md for 0.2, RTS_ALLOC4.md for 3.0 and 4.0).
 *
 * One file holds every transaction, batch array and response array of a
 * scheduler session. Up to num_workers participants ("workers", each one
 * thread at a time, in any process) allocate from it; allocations cross
 * process boundaries as byte offsets from the start of the file.
 *
 * File layout (all little-endian, offsets from the start of the file):
 *
 *   0      header (struct xs_alloc_header_shm, 128 bytes)
 *   128    worker entries, 64 bytes (0.2, 2.0, 3.0) or 128 bytes (4.0) each:
 *          5 x {partial, full} list heads (3.0/4.0: after a `claimed` byte
 *          and `outstanding_allocation_bytes`; 4.0: + a remote free head)
 *   FLE    list nodes, 12 bytes per slab {global_next, local_prev, local_next}
 *   SM     slab metadata, 128 bytes per slab {owner, class, remote free head}
 *   FS     free stacks, 4 + 2*(S/256) bytes per slab {top, capacity, u16[]}
 *   SLABS  the slabs, S bytes each (SLABS is a multiple of S)
 *
 * A slab belongs to one worker and one size class (256, 512, 1024, 2048,
 * 4096 bytes) from the moment the worker takes it off the global free list
 * until the last of its slots is freed by that worker. Its owner allocates
 * from and frees to its free stack with no atomics at all; any other worker
 * frees a slot by pushing it onto the slab's remote free stack (a Treiber
 * stack whose links live in the freed slots); the owner moves those back in
 * xs_alloc_clean_remote().
 *
 * Formats. One code path, parameterised by a table (xs_alloc_format_info(),
 * one row per format; a later format is one more row):
 *
 *  format  crate (agave line)            header word  entry  joins          remote frees        evidence
 *  0.2     0.2.0, 1.0.0 (3.1.x, V2)      1            64 B   fixed index    per-slab u16 stack  golden files
 *  2.0     2.0.0 (4.0.x)                 1 (assumed)  64 B   fixed index    per-slab u16 stack  NONE: assumed = 0.2, unverified
 *  3.0     4.0.0 (4.1.x - 4.3.x)         0x00030000   64 B   claim (CAS)    per-slab u16 stack  spec only, unverified
 *  4.0     5.0.0, 5.1.x (4.4.x, SDK)     0x00040000   128 B  claim (CAS)    per-worker u64      spec only, unverified
 *
 * 0.2 and 2.0 lay out exactly num_workers entries and U = F/S - 1 entries
 * per slab array; 3.0 and 4.0 lay metadata out in whole slabs and fill the
 * slack with as many worker entries as fit (`max_workers`: 16384 or more
 * for 2 MiB slabs), the header's num_workers being that maximum. 3.0 and
 * 4.0 carry a `claimed` byte per worker: a handle takes the first free slot
 * with a CAS 0 -> 1 and gives it back on close. Their global free-list head
 * is upstream's tagged 64-bit word (generation high, index low). 4.0 frees
 * remotely onto a per-worker stack of u64 file offsets linked through the
 * slots' first 8 bytes, which the owner drains; an emptied slab returns to
 * no owner. No file of formats 2.0 - 4.0 written by upstream code could be
 * produced: join validates every header field and names what it found.
 *
 * What xsched adds on top of the upstream formats, without changing a byte an
 * upstream peer reads:
 *  - checked offsets: every offset that comes from a peer is bounds checked
 *    (xs_alloc_check(), xs_alloc_free_offset()); a wild offset is an error,
 *    never a wild read or write; indexes read from shared memory (list links,
 *    free-stack entries, remote links) are range checked before use;
 *  - a per-handle shadow bitmap of the slots it owns: a double free (local,
 *    or remote then cleaned) is reported, and a free stack corrupted into
 *    handing out a live slot is caught before the slot is handed out;
 *  - a per-handle record of the slabs it owns: a slab the global free list
 *    offers while this handle still owns it or still has live slots in it
 *    (the list was linked into one of our slabs, or links a slab twice) is
 *    refused with -XS_EA_SLAB_LIVE instead of being re-initialised, which
 *    would hand out its live slots a second time (upstream does); the
 *    handle then takes no more slabs from that list (see xs_alloc_alloc_offset());
 *  - a remote free list walk bounded by the number of allocated slots: a
 *    double remote free or a bad link makes upstream's clean loop forever,
 *    here it is reported (-XS_EA_REMOTE_CORRUPT) and the walk stops;
 *  - size_t sizes, anything above 4096 refused (upstream narrows to u32);
 *    file sizes upstream mis-computes (>= 4 GiB, below one usable slab)
 *    refused at create and join;
 *  - ABA protection of the global free list (see "ABA" below);
 *  - the xsched policy (default): a worker keeps up to keep_empty emptied
 *    slabs per class instead of returning each to the global list at once
 *    (upstream re-initialises a whole free stack, 16 KiB for 2 MiB slabs,
 *    on every take: a lone alloc+free pair costs ~0.5 us there), cleans its
 *    own remote frees before taking a new slab, and gives its kept slabs
 *    back when the file runs out; XS_ALLOC_POLICY_UPSTREAM restores the
 *    exact 0.2.0 behaviour (the byte-exact vector tests use it);
 *  - batched remote frees (xs_alloc_free_offsets()): a run of frees into
 *    one slab is linked in place and published with one CAS; a chain is a
 *    valid Treiber push, so a 0.2.0 owner cleans it as usual;
 *  - a clean that prefetches ahead along the remote chain by predicting its
 *    stride (chains are usually runs of consecutive slots);
 *  - statistics (xs_alloc_stats(), xs_alloc_stats_print()).
 *
 * ABA. The 0.2.0 global free list is a Treiber stack on a bare u32 head at
 * header offset 64: a popper that reads head h and next n, is delayed while
 * others pop h, pop n and push h back, then succeeds with CAS(h -> n) and
 * makes a slab another worker owns the head (spec §8.1: one slot handed to
 * two workers, lists cut or crossed). xsched stores a 32-bit generation tag
 * in header bytes 68..71, padding that no 0.2.0 code reads or writes (the
 * vectors show them zero after every operation), and changes head and tag
 * together with one 8-byte CAS on bytes 64..71; every xsched push or pop
 * increments the tag, so a delayed xsched popper's CAS fails if any xsched
 * peer moved the head in between.
 *
 * Mixed widths with an upstream peer (x86-64). An upstream peer keeps doing
 * 4-byte loads and 4-byte LOCK CMPXCHG on bytes 64..67 while we do 8-byte
 * loads and 8-byte LOCK CMPXCHG on bytes 64..71. Both operands are naturally
 * aligned and lie in one cache line (the head's own line, WB memory), so
 * each locked instruction runs under a cache lock and is atomic with respect
 * to every other access to that line, whatever its size, and all locked
 * instructions are totally ordered (Intel SDM vol. 3A §8.1.1, §8.1.2.2,
 * §8.2.2; AMD APM vol. 2 §7.3). Aligned 4- and 8-byte loads are single-copy
 * atomic (§8.1.1), so nobody sees a torn head. Consequences: an upstream CAS
 * compares and replaces exactly the index half and leaves our tag as it is;
 * our CAS fails whenever an upstream peer changed the index since our load
 * (the word differs). The SDM's advice to use identical operand sizes for
 * semaphores (§8.1.2.2) concerns split and bus locks, which an aligned
 * in-line operand never takes. C11 does not define mixed-size atomics, so
 * they are confined to this one word, done with __atomic builtins the
 * compiler cannot split or merge, and the tagged mode is compiled only for
 * x86-64 (elsewhere the handle runs the 0.2.0 algorithm, xs_alloc_set_aba_tag()
 * returns -ENOTSUP).
 * What remains with an upstream peer in the session: the tag protects an
 * xsched popper only against interleavings in which at least one xsched
 * peer moved the head. An upstream popper is never protected (its CAS
 * ignores the tag), and an xsched popper is not protected when the whole
 * pop-h / pop-n / push-h sequence was done by upstream peers. A session whose
 * 0.2.0 participants take or return slabs concurrently therefore keeps the
 * 0.2.0 ABA risk for those operations; a session of xsched peers only is
 * ABA-safe (up to a wrap of the 32-bit tag inside one popper's load-to-CAS
 * window, 2^32 head changes). Header bytes 68..71 become non-zero once an
 * xsched peer used the list; 0.2.0 never looks at them.
 *
 * ABA in formats 3.0 and 4.0. Upstream's head is already the 64-bit word
 * {index low, generation high}; xsched uses it as it is (8-byte loads and
 * CAS only, on every architecture, so none of the mixed-width reasoning
 * above applies) and the tag cannot be switched off. The spec leaves open
 * which upstream operation changes the generation: xsched increments it on
 * every successful push and pop. Whatever upstream's choice, every
 * pop-h / pop-n / push-h sequence contains a push, so as long as upstream
 * changes the word on a push or on a pop a delayed CAS (ours or theirs)
 * fails; the generation wraps after 2^32 updates.
 *
 * Ordering contract (labels used in the code; C __atomic builtins on naturally
 * aligned objects inside the mapping, all lock-free, hence address-free):
 *  H1  creator: magic stored last, Release; pairs with H2 (join: Acquire load
 *      of magic) so a joiner that sees the magic sees the whole initialised
 *      file (upstream stores magic early; joiners are ordered by the
 *      handshake anyway).
 *  G1  global pop/push: Acquire load of the head; pairs with G2 of the
 *      worker that pushed the slab, so node[h].global_next (and the slab's
 *      free stack and metadata) written before that push are visible.
 *  G2  global CAS, success AcqRel / failure Acquire (both widths).
 *  M1  SlabMeta assignment stores (owner, class, remote head), Release;
 *      pairs with M2, the Acquire loads of class and owner when an offset is
 *      located (free, check).
 *  R1  remote push: link stored into the slot (16-bit, Release), then the
 *      remote head CAS (AcqRel / Acquire); pairs with R2, the owner's
 *      Acquire swap of the head in clean, after which R3 (Acquire loads of
 *      the links) read what R1 stored.
 *  L1  worker list heads and list nodes: Release stores / Acquire loads /
 *      AcqRel swaps as the spec says; only the owner writes them, the
 *      orders matter for statistics readers and mixed C/Rust sessions.
 *  F1  free stack top/capacity: owner only; relaxed atomics (plain moves on
 *      x86) so that a statistics reader on another thread is not a data race;
 *      the stack entries themselves are plain.
 *  C1  claim (3.0, 4.0): CAS of the slot's `claimed` byte 0 -> 1, AcqRel /
 *      Acquire; pairs with C2, the Release store of 0 when the previous
 *      holder closed, so the claimer sees the lists, free stacks and
 *      outstanding bytes it left behind (they pass to the next claimer).
 *  W1  per-worker remote free (4.0): the u64 link (next offset, or
 *      NULL_USIZE) stored into the slot's first 8 bytes, Release, then the
 *      CAS of the owner's remote_free_head, AcqRel / Acquire (one CAS per
 *      destination for a batch); pairs with W2, the owner's AcqRel swap of
 *      the head with NULL_USIZE in the drain, after which W3 (Acquire loads
 *      of the links) read what W1 stored.
 *  O1  outstanding_allocation_bytes (3.0, 4.0): Relaxed, as upstream; only
 *      the slot's holder writes it (upstream: fetch_add / fetch_sub), so a
 *      Relaxed load and store do the same without a locked instruction.
 *
 * Thread safety: a handle is used by one thread at a time; each worker
 * index by one handle at a time (nothing in a 0.2 / 2.0 file records which
 * indexes are taken; xs_alloc_join_handle() refuses a second handle on an
 * index already open on the same mapping; 3.0 and 4.0 record it in the
 * `claimed` byte). Different handles may run concurrently in any threads
 * and processes.
 */
#ifndef XS_ALLOC_H
#define XS_ALLOC_H

#include <errno.h>
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

#define XS_ALLOC_MAGIC       0x00727473616C6F63ull /**< "rtsaloc" big-endian; bytes 63 6F 6C 61 73 74 72 00 */
#define XS_ALLOC_VERSION     1u                    /**< header VERSION of rts-alloc 0.1.0 / 0.2.0 */
#define XS_ALLOC_NUM_CLASSES 5u                    /**< 256, 512, 1024, 2048, 4096 */
#define XS_ALLOC_MIN_SIZE    256u
#define XS_ALLOC_MAX_SIZE    4096u
#define XS_ALLOC_MIN_SHIFT   8u                    /**< log2(XS_ALLOC_MIN_SIZE) */
#define XS_ALLOC_NULL_U32    0xFFFFFFFFu           /**< null slab index */
#define XS_ALLOC_NULL_U16    0xFFFFu               /**< null slot index */
#define XS_ALLOC_HEADER_SIZE 128u
#define XS_ALLOC_WORKER_SIZE 64u
#define XS_ALLOC_NODE_SIZE   12u
#define XS_ALLOC_META_SIZE   128u
#define XS_ALLOC_MIN_SLAB    16384u                /**< 4 x 4096 */
#define XS_ALLOC_MAX_SLAB    (8u * 1024 * 1024)    /**< S/256 must fit a u16 count */
#define XS_ALLOC_SLAB_2M     (2u * 1024 * 1024)    /**< the slab size agave uses */
/** Largest file accepted: upstream computes num_slabs from F mod 2^32. */
#define XS_ALLOC_MAX_FILE    0xFFFFFFFFull
#define XS_ALLOC_VERSION_3_0 0x00030000u           /**< format 3.0 (crate 4.0.0): major << 16 | patch */
#define XS_ALLOC_VERSION_4_0 0x00040000u           /**< format 4.0 (crate 5.x) */
#define XS_ALLOC_NULL_USIZE  0xFFFFFFFFFFFFFFFFull /**< 4.0: "no offset" (end of a remote free chain) */
#define XS_ALLOC_WORKER_SIZE_4 128u                /**< 4.0 worker entry */
#define XS_ALLOC_BATCH_OWNERS 64u                  /**< 4.0: destinations gathered per batch flush */
/** Largest file of the claim formats (F / S must fit a u32, offsets a u32;
 *  beyond that a hostile size would only make the join map a huge file). */
#define XS_ALLOC_MAX_FILE_CLAIM (1ull << 44)

/**
 * On-disk formats of rts-alloc (rows of the allocator's format table).
 * Named by the format, not the crate: see shared/spec/RTS_ALLOC4.md.
 */
enum xs_alloc_format {
	XS_ALLOC_FMT_0_2 = 0, /**< rts-alloc 0.2.0 (and 1.0.0): header VERSION 1, fixed worker index */
	XS_ALLOC_FMT_2_0 = 1, /**< crate 2.0.0 (agave 4.0 line): source unread, ASSUMED equal to 0.2 (unverified) */
	XS_ALLOC_FMT_3_0 = 2, /**< crate 4.0.0 (agave 4.1-4.3): 0x0003_0000, claimed slots, tagged head (spec only, unverified) */
	XS_ALLOC_FMT_4_0 = 3, /**< crate 5.x (agave 4.4 / SDK): 0x0004_0000, 128-byte entries, per-worker remote frees (spec only, unverified) */
	XS_ALLOC_FMT_ANY = 0xFF, /**< join only: detect from the header */
};
/** Worker id argument meaning "claim the first free slot" (claim formats). */
#define XS_ALLOC_CLAIM 0xFFFFFFFFu

/** How a format sizes its metadata (xs_alloc_format_info()->layout). */
enum xs_alloc_layout_kind {
	/** 0.2: num_workers entries as asked; U = F/S - 1 entries per slab array
	 *  (RTS_ALLOC.md §2.6). */
	XS_ALLOC_LAYOUT_FIXED = 0,
	/** 3.0 / 4.0: metadata in whole slabs, the slack filled with worker
	 *  entries (`layout::max_workers`, RTS_ALLOC4.md §3). */
	XS_ALLOC_LAYOUT_MAX_WORKERS = 1,
};
/** How a handle gets its worker index. */
enum xs_alloc_join_kind {
	XS_ALLOC_JOIN_INDEX = 0, /**< the caller names it; nothing in the file records it */
	XS_ALLOC_JOIN_CLAIM = 1, /**< CAS of the entry's `claimed` byte 0 -> 1 */
};
/** Where remote frees go. */
enum xs_alloc_remote_kind {
	XS_ALLOC_REMOTE_SLAB_U16 = 0,   /**< the slab's stack of u16 slot indexes (SlabMeta @64) */
	XS_ALLOC_REMOTE_WORKER_U64 = 1, /**< the owner's stack of u64 file offsets (entry @64) */
};

/**
 * One row of the format table. Everything that differs between formats is
 * a field here; the code reads the row, never the format number. Offsets
 * inside a worker entry are -1 where the format has no such field.
 */
struct xs_alloc_format_info {
	enum xs_alloc_format format;
	const char *name;        /**< "0.2", "2.0", "3.0", "4.0" */
	const char *crates;      /**< rts-alloc crate versions writing it */
	const char *agave;       /**< agave release lines using it */
	const char *evidence;    /**< "golden files", "spec only, unverified", ... */
	uint32_t version;        /**< header word @8 */
	uint8_t version_packed;  /**< 1: version = major << 16 | patch (Display "M.P") */
	uint8_t verified;        /**< 1: checked against files written by upstream code */
	uint8_t layout;          /**< enum xs_alloc_layout_kind */
	uint8_t join;            /**< enum xs_alloc_join_kind */
	uint8_t remote;          /**< enum xs_alloc_remote_kind */
	uint8_t head_bits;       /**< 32: u32 head @64 (xsched tag in padding 68..71); 64: tagged u64 */
	uint8_t unassign_empty;  /**< an emptied slab's owner := NULL_U32 before it goes back */
	uint8_t refuse_zero;     /**< 0-byte requests refused (upstream returns none) */
	uint8_t rust_errors;     /**< 0: the 0.2.0 error enum (InvalidHeader); 1: the 4.0.0 one */
	uint16_t entry_size;     /**< bytes per worker entry */
	uint16_t heads_off;      /**< the five {partial, full} u32 pairs */
	int16_t claimed_off;     /**< atomic u8 `claimed` */
	int16_t outstanding_off; /**< atomic u64 `outstanding_allocation_bytes` */
	int16_t remote_head_off; /**< atomic u64 `remote_free_head` */
};

/** The row of @p f, or NULL (XS_ALLOC_FMT_ANY, unknown values). */
const struct xs_alloc_format_info *xs_alloc_format_info(enum xs_alloc_format f);

/**
 * The format a header word names: the first row with that version, so
 * VERSION 1 is reported as 0.2 (2.0 has the same word, by assumption: ask
 * for it by name to label a handle 2.0). @return the format, or
 * XS_ALLOC_FMT_ANY when no row has that word.
 */
enum xs_alloc_format xs_alloc_format_from_version(uint32_t version);

/** Policies for emptied slabs (xs_alloc_set_policy()). */
enum xs_alloc_policy {
	/** rts-alloc 0.2.0: a slab whose last slot its owner frees goes back to
	 *  the global list at once; no cleaning or trimming behind the caller's back. */
	XS_ALLOC_POLICY_UPSTREAM = 0,
	/** xsched (default): keep up to keep_empty emptied slabs per class on the
	 *  partial list; clean the class's remote frees before taking a new slab;
	 *  on exhaustion give kept slabs back and clean before reporting -ENOMEM. */
	XS_ALLOC_POLICY_XSCHED = 1,
};
#define XS_ALLOC_KEEP_DEFAULT 1u /**< emptied slabs kept per class under the xsched policy */

/** Allocator error numbers (returned negated). The comment names the
 *  rts-alloc error a Rust peer would report (xs_alloc_error_name() for
 *  0.2.0, xs_alloc_error_debug() for every format: 4.0.0 names after "/"). */
enum xs_error_alloc {
	XS_EA_SLAB_SIZE = XS_E_ALLOC_BASE, /**< InvalidSlabSize: not a power of two in 16 KiB..8 MiB */
	XS_EA_NUM_WORKERS,    /**< InvalidNumWorkers: header says 0 workers */
	XS_EA_WORKER_INDEX,   /**< InvalidWorkerIndex: worker index >= num_workers */
	XS_EA_FILE_SIZE,      /**< InvalidFileSize: no usable slab, >= 4 GiB, or too short for a header */
	XS_EA_ALREADY_INIT,   /**< AlreadyInitialized: create on a non-empty file */
	XS_EA_MAGIC,          /**< InvalidHeader / InvalidMagic: wrong magic */
	XS_EA_VERSION,        /**< InvalidHeader / InvalidVersion: not the format's header word */
	XS_EA_LAYOUT,         /**< InvalidHeader / HeaderMismatch: num_workers, num_slabs or
				   offsets disagree with the layout recomputed from the file size */
	XS_EA_TOO_BIG,        /**< allocation request larger than 4096 bytes */
	XS_EA_OFFSET,         /**< offset outside the slab area of this file */
	XS_EA_NOT_SLOT,       /**< offset is not the start of an allocation slot */
	XS_EA_LENGTH,         /**< length runs past the end of the slot */
	XS_EA_UNASSIGNED,     /**< slab never assigned to a worker (or owner out of range) */
	XS_EA_DOUBLE_FREE,    /**< the slot is already free */
	XS_EA_REMOTE_CORRUPT, /**< remote free list: bad link, cycle, or double remote free */
	XS_EA_CORRUPT,        /**< shared metadata inconsistent (list link, free stack, class) */
	XS_EA_WORKER_BUSY,    /**< worker index already has a handle on this mapping */
	XS_EA_SLAB_LIVE,      /**< global free list offers a slab this worker owns or uses */
	XS_EA_NO_WORKERS,     /**< NoAvailableWorkers: every slot is claimed (3.0, 4.0) */
	XS_EA_ZERO_SIZE,      /**< 0-byte allocation, refused by format 4.0 (upstream: none) */
	XS_EA__END
};

/* --------------------------------------------------------- shared layout */

/**
 * Global free-list head, header offset 64. 0.2.0 knows only `index` (an
 * atomic u32); `tag` lies in padding 0.2.0 never touches. xsched changes
 * both at once through `word` (see "ABA" above). Little-endian only.
 */
union xs_alloc_global_head_shm {
	uint64_t word;
	struct {
		uint32_t index; /**< first free slab, or XS_ALLOC_NULL_U32 */
		uint32_t tag;   /**< xsched generation (zero in a file only 0.2.0 used) */
	} half;
};

/** File header (rts-alloc `Header`, repr(C), align 64). */
struct xs_alloc_header_shm {
	uint64_t magic;
	uint32_t version;
	uint32_t num_workers;
	uint32_t num_slabs;
	uint32_t slab_size;
	uint32_t free_list_elements_offset; /**< FLE */
	uint32_t slab_shared_meta_offset;   /**< SM */
	uint32_t slab_free_stacks_offset;   /**< FS */
	uint32_t slabs_offset;              /**< SLABS */
	uint8_t pad0_[24];
	union xs_alloc_global_head_shm global; /**< own cache line */
	uint8_t pad1_[56];
} XS_CACHE_ALIGNED;

/** One size class's worker-local list heads (slab index or NULL_U32). */
struct xs_alloc_class_heads_shm {
	uint32_t partial; /**< slabs with at least one free slot */
	uint32_t full;    /**< slabs with none */
};

/** The five classes' list heads of one worker (inside its entry). */
struct xs_alloc_heads_shm {
	struct xs_alloc_class_heads_shm cls[XS_ALLOC_NUM_CLASSES];
};

/** Formats 0.2 / 2.0: one worker's entry (64 bytes at 128 + 64 * worker). */
struct xs_alloc_worker_shm {
	struct xs_alloc_class_heads_shm cls[XS_ALLOC_NUM_CLASSES];
	uint8_t pad_[24];
};

/** Format 3.0: one worker's entry (64 bytes at 128 + 64 * worker). */
struct xs_alloc_worker3_shm {
	uint8_t claimed;                       /**< atomic u8: 1 while a handle holds the slot */
	uint8_t pad0_[7];
	uint64_t outstanding_allocation_bytes; /**< atomic u64: class bytes handed out, not yet back */
	struct xs_alloc_heads_shm heads;       /**< @16 */
	uint8_t pad1_[8];
} XS_CACHE_ALIGNED;

/** Format 4.0: one worker's entry (128 bytes at 128 + 128 * worker). */
struct xs_alloc_worker4_shm {
	uint8_t claimed;
	uint8_t pad0_[7];
	uint64_t outstanding_allocation_bytes;
	struct xs_alloc_heads_shm heads;       /**< @16 */
	uint8_t pad1_[8];
	uint64_t remote_free_head;             /**< @64, own line: newest remotely freed offset or NULL_USIZE */
	uint8_t pad2_[56];
} XS_CACHE_ALIGNED;

/** Per-slab list node (rts-alloc `LinkedListNode`, 12 bytes, align 4). */
struct xs_alloc_node_shm {
	uint32_t global_next; /**< next slab on the global free list */
	uint32_t local_prev;  /**< owner's partial/full list */
	uint32_t local_next;
};

/** Per-slab metadata (rts-alloc `SlabMeta`, 128 bytes, align 64). */
struct xs_alloc_slab_meta_shm {
	uint32_t assigned_worker;  /**< owner, NULL_U32 while never assigned */
	uint8_t pad0_[4];
	uint64_t size_class_index; /**< 0..4 (a usize upstream: accessed as 64 bits) */
	uint8_t pad1_[48];
	uint16_t remote_head;      /**< remote free stack: slot index or NULL_U16 (own line) */
	uint8_t pad2_[62];
} XS_CACHE_ALIGNED;

/** Per-slab free stack header; `stack` (S/256 entries) follows. */
struct xs_alloc_fstack_shm {
	uint16_t top;      /**< free slots; entries [0, top) of stack are valid */
	uint16_t capacity; /**< slots of the slab for its current class */
	uint16_t stack[];
};

XS_STATIC_ASSERT(sizeof(struct xs_alloc_header_shm) == XS_ALLOC_HEADER_SIZE, "rts-alloc header size");
XS_STATIC_ASSERT(offsetof(struct xs_alloc_header_shm, num_workers) == 12, "num_workers");
XS_STATIC_ASSERT(offsetof(struct xs_alloc_header_shm, slabs_offset) == 36, "slabs_offset");
XS_STATIC_ASSERT(offsetof(struct xs_alloc_header_shm, global) == 64, "global head at 64");
XS_STATIC_ASSERT(sizeof(struct xs_alloc_worker_shm) == XS_ALLOC_WORKER_SIZE, "worker entry");
XS_STATIC_ASSERT(sizeof(struct xs_alloc_worker3_shm) == 64, "3.0 worker entry");
XS_STATIC_ASSERT(offsetof(struct xs_alloc_worker3_shm, outstanding_allocation_bytes) == 8, "3.0 outstanding");
XS_STATIC_ASSERT(offsetof(struct xs_alloc_worker3_shm, heads) == 16, "3.0 heads");
XS_STATIC_ASSERT(sizeof(struct xs_alloc_worker4_shm) == XS_ALLOC_WORKER_SIZE_4, "4.0 worker entry");
XS_STATIC_ASSERT(offsetof(struct xs_alloc_worker4_shm, heads) == 16, "4.0 heads");
XS_STATIC_ASSERT(offsetof(struct xs_alloc_worker4_shm, remote_free_head) == 64, "4.0 remote head");
XS_STATIC_ASSERT(sizeof(struct xs_alloc_node_shm) == XS_ALLOC_NODE_SIZE, "list node");
XS_STATIC_ASSERT(sizeof(struct xs_alloc_slab_meta_shm) == XS_ALLOC_META_SIZE, "slab meta");
XS_STATIC_ASSERT(offsetof(struct xs_alloc_slab_meta_shm, size_class_index) == 8, "class");
XS_STATIC_ASSERT(offsetof(struct xs_alloc_slab_meta_shm, remote_head) == 64, "remote head");
XS_STATIC_ASSERT(sizeof(struct xs_alloc_fstack_shm) == 4, "free stack header");
XS_STATIC_ASSERT(__GCC_ATOMIC_LLONG_LOCK_FREE == 2, "8-byte atomics must be lock-free");
XS_STATIC_ASSERT(__GCC_ATOMIC_INT_LOCK_FREE == 2 && __GCC_ATOMIC_SHORT_LOCK_FREE == 2,
		 "shared atomics must be lock-free (address-free)");
XS_STATIC_ASSERT(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the rts-alloc format is little-endian");

/* ------------------------------------------------------------------ layout */

/** The regions of a file, as upstream computes them (RTS_ALLOC.md §2.6 for
 *  0.2 / 2.0, RTS_ALLOC4.md §3 for 3.0 / 4.0). */
struct xs_alloc_layout {
	uint32_t free_list_elements_offset; /**< FLE */
	uint32_t slab_shared_meta_offset;   /**< SM */
	uint32_t slab_free_stacks_offset;   /**< FS */
	uint32_t slabs_offset;              /**< SLABS */
	uint32_t num_slabs;                 /**< slabs that fit after SLABS */
	uint32_t max_slabs;                 /**< U = F/S - 1, entries reserved per array */
	uint32_t fstack_stride;             /**< 4 + 2 * S/256 */
	uint32_t num_workers;               /**< worker entries laid out (header num_workers) */
	uint32_t meta_slabs;                /**< SLABS / S: slabs the metadata occupies */
};

/**
 * Compute the layout of a file of @p file_size bytes with slabs of
 * @p slab_size bytes and @p num_workers workers, exactly as upstream does
 * for every input upstream handles correctly.
 * @return 0; -XS_EA_SLAB_SIZE (S not a power of two in 16 KiB..8 MiB);
 *         -XS_EA_NUM_WORKERS (0); -XS_EA_FILE_SIZE (F >= 4 GiB, where
 *         upstream truncates F to 32 bits; F < S, where it wraps; or no
 *         room for one slab after the metadata).
 */
int xs_alloc_compute_layout(uint64_t file_size, uint32_t slab_size, uint32_t num_workers,
			    struct xs_alloc_layout *out);

/**
 * The layout format @p fmt gives a file of @p file_size bytes. For the
 * fixed formats (0.2, 2.0) @p workers is num_workers and the result is
 * xs_alloc_compute_layout()'s. For 3.0 and 4.0 it is the minimum number of
 * workers, and the result is upstream's `max_workers` (RTS_ALLOC4.md §3):
 * m metadata slabs, starting at 1, grown while the metadata of the
 * remaining u = F/S - m data slabs (with no worker entries) needs more than
 * m slabs, then while the slack m*S - that metadata holds fewer than
 * @p workers entries; out->num_workers = slack / entry size (usually 16384
 * for 4.0 and 32768 for 3.0 with 2 MiB slabs), out->num_slabs = u.
 * @return 0; -XS_EA_SLAB_SIZE; -XS_EA_NUM_WORKERS (0); -XS_EA_FILE_SIZE
 *         (F < S; F/S or an offset beyond 32 bits; no data slab left);
 *         -EINVAL (XS_ALLOC_FMT_ANY or an unknown format).
 */
int xs_alloc_compute_layout_fmt(enum xs_alloc_format fmt, uint64_t file_size, uint32_t slab_size,
				uint32_t workers, struct xs_alloc_layout *out);

/* --------------------------------------------------------------- handle */

struct xs_alloc;     /* one worker's handle on an allocator file */
struct xs_alloc_map; /* the shared mapping, refcounted across handles (private) */

/** Per-handle event counters (plain, owner thread only). */
struct xs_alloc_counters {
	uint64_t allocs;         /**< successful allocations */
	uint64_t alloc_fails;    /**< -ENOMEM results */
	uint64_t frees_local;    /**< slots freed to the own free stack (incl. cleaned) */
	uint64_t frees_remote;   /**< slots pushed onto another worker's remote stack */
	uint64_t remote_pushes;  /**< CAS publications of remote frees (one per chain) */
	uint64_t cleaned;        /**< slots taken back from remote stacks */
	uint64_t cleans;         /**< xs_alloc_clean_remote() calls (incl. policy) */
	uint64_t slab_takes;     /**< slabs popped from the global list */
	uint64_t slab_returns;   /**< slabs pushed onto the global list */
	uint64_t kept_reuses;    /**< allocations served from a kept emptied slab */
	uint64_t cas_retries;    /**< failed global / remote CAS attempts */
	uint64_t errors;         /**< bad offsets, double frees, corruption seen */
};

typedef void (*xs_alloc_hook_fn)(struct xs_alloc *a, int point, uint32_t head, uint32_t next,
				 void *arg);
/** Test hook points (xs_alloc_set_test_hook()). */
enum xs_alloc_hook_point {
	/** Global pop, after `next` of the head slab was read, before the CAS:
	 *  the ABA window. */
	XS_ALLOC_HOOK_POP_WINDOW = 1,
	/** Format 4.0 batched remote free, before one destination's chain is
	 *  published: head = the destination worker, next = slots in the chain. */
	XS_ALLOC_HOOK_REMOTE_FLUSH = 2,
};

/**
 * One worker's handle on an allocator file. The first lines hold everything
 * the inline hot path reads; nothing in it is shared with other handles.
 * Treat as read-only outside this header.
 */
struct xs_alloc {
	uint8_t *base;             /**< start of the mapping (= header) */
	uint64_t slabs_off;        /**< SLABS */
	uint32_t num_slabs;
	uint32_t worker;           /**< this handle's worker index */
	uint32_t slab_shift;       /**< log2(S) */
	uint32_t fs_stride;        /**< free-stack stride in bytes */
	uint64_t slab_mask;        /**< S - 1 */
	struct xs_alloc_heads_shm *me;       /**< this worker's list heads (inside its entry) */
	struct xs_alloc_slab_meta_shm *meta; /**< SlabMeta[0] */
	uint8_t *fstacks;          /**< FreeStack[0] */
	uint64_t *shadow;          /**< bit (s << shadow_shift) + slot: slot held by a user */
	uint32_t shadow_shift;     /**< log2(S / 256) */
	uint32_t keep;             /**< emptied slabs kept per class (0 = upstream) */
	uint16_t cap[XS_ALLOC_NUM_CLASSES];  /**< slots per slab per class */
	uint16_t kept[XS_ALLOC_NUM_CLASSES]; /**< emptied slabs currently kept per class */
	uint32_t policy;           /**< enum xs_alloc_policy */
	uint32_t tagged;           /**< global head updated with the 64-bit tagged CAS */
	uint32_t num_workers;
	uint32_t slab_size;
	uint64_t *outstanding;     /**< O1: the entry's outstanding_allocation_bytes (3.0, 4.0),
				        else outstanding_local */
	uint32_t min_req;          /**< smallest request served: 1 when the format refuses 0 */
	uint32_t remote_kind;      /**< enum xs_alloc_remote_kind of the format */
	struct xs_alloc_counters cnt;
	/* cold */
	const struct xs_alloc_format_info *fi; /**< the file's format row */
	uint8_t *entry;            /**< this worker's entry */
	uint64_t *remote_head;     /**< 4.0: this worker's remote_free_head, else NULL */
	uint64_t outstanding_local; /**< 0.2 / 2.0: this handle's count (no field in the file) */
	uint32_t claimed;          /**< 1: the handle holds the slot's `claimed` byte */
	struct xs_alloc_header_shm *hdr;
	struct xs_alloc_node_shm *nodes;
	size_t size;               /**< mapping length (file size at open) */
	size_t shadow_bytes;
	struct xs_alloc_map *map;
	xs_alloc_hook_fn hook;
	void *hook_arg;
	uint64_t *owned;           /**< bit s: slab s is this worker's (taken, not yet returned);
				        in the shadow mapping, after the slot bits */
	uint32_t global_bad;       /**< slab the global list offered and we refused (no more
				        slabs are taken: -XS_EA_SLAB_LIVE), else NULL_U32 */
};

/* ------------------------------------------------------ cold functions */

/**
 * Owner side: check the parameters (in upstream's order: worker index,
 * number of workers, slab size, file size), require an empty file,
 * ftruncate(@p fd, @p file_size), map it whole, write header, worker heads,
 * list nodes and slab metadata (magic last, H1) and open handle @p worker_id.
 * The descriptor is not taken.
 * @return 0; -XS_EA_WORKER_INDEX, -XS_EA_NUM_WORKERS, -XS_EA_SLAB_SIZE,
 *         -XS_EA_FILE_SIZE, -XS_EA_ALREADY_INIT; -errno from fstat/ftruncate
 *         (upstream IoError), mmap (MMapError) or memory for the handle.
 *         On failure nothing stays mapped (the file may have been sized).
 */
int xs_alloc_create(struct xs_alloc **out, int fd, size_t file_size, uint32_t num_workers,
		    uint32_t slab_size, uint32_t worker_id);

/**
 * As xs_alloc_create(), but the file may already have exactly @p file_size
 * bytes, all zero: its creator sized it first to set its NUMA placement
 * before anything maps and writes it (xsched handshake server, bind hook;
 * hugetlbfs pages can only be placed by faulting them in, which needs the
 * size). Any other non-zero size is still -XS_EA_ALREADY_INIT.
 */
int xs_alloc_create_sized(struct xs_alloc **out, int fd, size_t file_size, uint32_t num_workers,
			  uint32_t slab_size, uint32_t worker_id);

/**
 * Join an existing file: fstat its size, map it whole, validate the header
 * (magic, version, num_workers, slab size, then num_slabs and the four
 * offsets against the layout recomputed from the file size) and the worker
 * index, then open handle @p worker_id. The descriptor is not taken.
 * @return 0; -XS_EA_FILE_SIZE (shorter than a header, >= 4 GiB, or the
 *         header's slab size leaves no slab), -XS_EA_MAGIC, -XS_EA_VERSION,
 *         -XS_EA_NUM_WORKERS, -XS_EA_SLAB_SIZE, -XS_EA_LAYOUT,
 *         -XS_EA_WORKER_INDEX, -XS_EA_CORRUPT (this worker's lists are
 *         broken), -errno. xs_errmsg() has the numbers. On failure nothing
 *         stays mapped (upstream leaks the mapping).
 */
int xs_alloc_join(struct xs_alloc **out, int fd, uint32_t worker_id);

/**
 * Another worker index on the same mapping as @p existing (refcounted; no
 * new mmap). For the claim formats (3.0, 4.0) @p worker_id XS_ALLOC_CLAIM
 * claims the first free slot, as upstream's `join_from_existing`; an index
 * claims exactly that slot.
 * @return 0, -XS_EA_WORKER_INDEX, -XS_EA_WORKER_BUSY (that index already
 *         has an open handle on this mapping, or its `claimed` byte is
 *         set), -XS_EA_NO_WORKERS (claim: every slot taken), -XS_EA_CORRUPT,
 *         -ENOMEM, -EINVAL (no @p existing).
 */
int xs_alloc_join_handle(struct xs_alloc **out, struct xs_alloc *existing, uint32_t worker_id);

/**
 * Create a file of format @p fmt (not XS_ALLOC_FMT_ANY).
 *  - 0.2 / 2.0: num_workers = @p min_workers, @p worker_id is the
 *    creator's index; exactly xs_alloc_create() (the file is labelled 2.0
 *    only in the handle: the bytes are 0.2's, by assumption).
 *  - 3.0 / 4.0: upstream's `create(file, F, min_workers, S)` (RTS_ALLOC4.md
 *    §4): checks in its order (min_workers 0, slab size, F/S beyond a u32,
 *    no layout, no data slab; then AlreadyInitialized), lays the file out
 *    with the `max_workers` layout (the header's num_workers is that
 *    maximum, see xs_alloc_compute_layout_fmt()), writes header, worker
 *    entries (list heads NULL_U32, 4.0 remote heads NULL_USIZE), list
 *    nodes, slab metadata, then version and magic (Release, H1), and
 *    claims the first free slot (slot 0) for the creator; @p worker_id
 *    must be XS_ALLOC_CLAIM.
 * The descriptor is not taken.
 * @return 0; -XS_EA_WORKER_INDEX (fixed format: index >= min_workers;
 *         claim format: not XS_ALLOC_CLAIM), -XS_EA_NUM_WORKERS,
 *         -XS_EA_SLAB_SIZE, -XS_EA_FILE_SIZE, -XS_EA_ALREADY_INIT, -EINVAL
 *         (format), -errno. On failure nothing stays mapped.
 */
int xs_alloc_create_fmt(struct xs_alloc **out, int fd, size_t file_size, uint32_t min_workers,
			uint32_t slab_size, enum xs_alloc_format fmt, uint32_t worker_id);

/** xs_alloc_create_fmt() on a file sized but never written (see
 *  xs_alloc_create_sized()). */
int xs_alloc_create_fmt_sized(struct xs_alloc **out, int fd, size_t file_size, uint32_t min_workers,
			      uint32_t slab_size, enum xs_alloc_format fmt, uint32_t worker_id);

/**
 * Join an existing file of format @p fmt, or of any supported format
 * (XS_ALLOC_FMT_ANY: detected from the header word, VERSION 1 as 0.2).
 * Validation, in this order, each failure with its own code and a message
 * naming what was found and what was expected: size (>= 128; fixed formats
 * < 4 GiB), magic (Acquire, H2), version word (the format's, or any known
 * one: the message lists them), num_workers != 0, slab size, then the
 * layout recomputed from (file size, slab size, num_workers): for 3.0 /
 * 4.0 `max_workers` with the header's num_workers as minimum must give
 * back exactly that num_workers; num_slabs and the four offsets must match.
 * Then the worker: fixed formats take @p worker_id (< num_workers; not
 * XS_ALLOC_CLAIM); claim formats claim the first free slot for
 * XS_ALLOC_CLAIM (C1: CAS 0 -> 1 on each slot in order, the first success
 * wins) or exactly slot @p worker_id. The descriptor is not taken.
 * Upstream's FreeOnlyAllocator (a mapping without a slot) has no separate
 * type here: a claimed handle serves (a free of another worker's slot is a
 * remote free whoever does it), at the cost of one of the 16384+ slots.
 * @return 0; -XS_EA_FILE_SIZE, -XS_EA_MAGIC, -XS_EA_VERSION,
 *         -XS_EA_NUM_WORKERS, -XS_EA_SLAB_SIZE, -XS_EA_LAYOUT,
 *         -XS_EA_WORKER_INDEX, -XS_EA_WORKER_BUSY, -XS_EA_NO_WORKERS,
 *         -XS_EA_CORRUPT (the worker's lists are broken), -EINVAL
 *         (format), -errno. On failure nothing stays mapped or claimed.
 */
int xs_alloc_join_fmt(struct xs_alloc **out, int fd, enum xs_alloc_format fmt, uint32_t worker_id);

/** The format of the handle's file (2.0 when opened as 2.0). */
enum xs_alloc_format xs_alloc_format_of(const struct xs_alloc *a);

/** What xs_alloc_probe() read and recomputed. */
struct xs_alloc_info {
	uint64_t file_size;
	uint64_t magic;
	uint32_t version;            /**< header word @8 as found */
	enum xs_alloc_format format; /**< row of that word, XS_ALLOC_FMT_ANY when none */
	uint32_t num_workers, num_slabs, slab_size;
	uint32_t free_list_elements_offset, slab_shared_meta_offset;
	uint32_t slab_free_stacks_offset, slabs_offset;
	struct xs_alloc_layout expected; /**< recomputed (valid when layout_checked) */
	int layout_checked;          /**< 1: the layout could be recomputed */
	uint32_t claimed;            /**< claim formats: slots whose `claimed` byte is set */
	uint32_t first_free;         /**< claim formats: first unclaimed slot, or NULL_U32 */
	int status;                  /**< 0, or the error a join would give */
};

/**
 * Read and check a file's header without joining or claiming anything:
 * what a handshake needs to check objects against the generation it
 * negotiated. @p mem / @p size: the file as mapped (any alignment of 8).
 * Fills @p out as far as it could read, status included.
 * @return out->status: 0 or the error xs_alloc_join_fmt(ANY) would return
 *         for the header (-XS_EA_FILE_SIZE, -XS_EA_MAGIC, -XS_EA_VERSION,
 *         -XS_EA_NUM_WORKERS, -XS_EA_SLAB_SIZE, -XS_EA_LAYOUT).
 */
int xs_alloc_probe(const void *mem, size_t size, struct xs_alloc_info *out);

/** xs_alloc_probe() of the file behind @p fd (mapped read-only for the
 *  call). @return as xs_alloc_probe(), or -errno from fstat / mmap. */
int xs_alloc_probe_fd(int fd, struct xs_alloc_info *out);

/**
 * Close a handle: give back the emptied slabs it kept (xsched policy; under
 * the upstream policy there are none), release the index (claim formats:
 * C2, a Release store of 0 into the slot's `claimed` byte), and unmap when
 * the last handle on the mapping closes. Slabs still in use, pending remote
 * frees and outstanding bytes stay with the worker index, as upstream (a
 * later claimer of the slot inherits them). NULL is ignored.
 */
void xs_alloc_close(struct xs_alloc *a);

/** Start of the mapping (the header). */
uint8_t *xs_alloc_base(const struct xs_alloc *a);
/** Length of the mapping (the file size seen at create/join). */
size_t xs_alloc_size(const struct xs_alloc *a);
/** This handle's worker index. */
uint32_t xs_alloc_worker(const struct xs_alloc *a);
/** Header values (immutable after create). */
uint32_t xs_alloc_num_workers(const struct xs_alloc *a);
uint32_t xs_alloc_num_slabs(const struct xs_alloc *a);
uint32_t xs_alloc_slab_size(const struct xs_alloc *a);
uint64_t xs_alloc_slabs_offset(const struct xs_alloc *a);

/**
 * Bounds-checked translation of a peer's offset.
 * @return 0 and *ptr = base + off when [off, off + len) lies inside one
 *         allocation slot of a slab of this file and off is the slot's
 *         start; else -XS_EA_OFFSET (outside the slabs), -XS_EA_UNASSIGNED
 *         (slab never handed out), -XS_EA_NOT_SLOT (not a slot start),
 *         -XS_EA_LENGTH (runs past the slot), -XS_EA_CORRUPT (bad class in
 *         the slab's metadata). *ptr is untouched on error.
 * Whatever the peer wrote into the metadata meanwhile, a successful result
 * lies inside the slab, hence inside the mapping.
 * Thread safety: any thread (reads only).
 */
int xs_alloc_check(const struct xs_alloc *a, uint64_t off, size_t len, void **ptr);

/** As xs_alloc_check(), but @p off may point anywhere inside the slot. */
int xs_alloc_check_within(const struct xs_alloc *a, uint64_t off, size_t len, void **ptr);

/**
 * Select the policy for emptied slabs. @p keep_empty (per size class) is
 * used by XS_ALLOC_POLICY_XSCHED only; switching to the upstream policy
 * gives kept slabs back at once. @return 0 or -EINVAL.
 */
int xs_alloc_set_policy(struct xs_alloc *a, enum xs_alloc_policy policy, uint32_t keep_empty);

/**
 * Use (@p on != 0, the default on x86-64) or not the tagged 64-bit CAS for
 * the global free list (see "ABA"). Off = exactly the 0.2.0 algorithm.
 * Formats 3.0 and 4.0 always use their tagged head.
 * @return 0, or -ENOTSUP when asked for on an architecture without it, or
 *         to switch it off for 3.0 / 4.0.
 */
int xs_alloc_set_aba_tag(struct xs_alloc *a, int on);

/** Give every emptied slab this worker keeps back to the global list.
 *  @return the number of slabs returned, or a negative error. */
int xs_alloc_trim(struct xs_alloc *a);

/**
 * Owner: take back every slot other workers freed into this worker's slabs.
 * Per-slab formats (0.2, 2.0, 3.0): all classes, partial lists before full
 * lists, as upstream; each slab's chain walk is bounded by the slab's
 * number of allocated slots and checks every index against the slab and
 * the shadow bitmap; a bad chain is reported and abandoned (its remaining
 * slots stay lost), the other slabs are still cleaned. Empty remote stacks
 * are only loaded, not swapped.
 * Format 4.0 (upstream `clean_remote_frees`): one drain of this worker's
 * stack (W2: swap with NULL_USIZE, AcqRel; W3: each link read, Acquire,
 * before its slot is freed locally, which also lowers the outstanding
 * bytes). Every offset on the chain must lie in the slabs, at a slot start,
 * in a slab this handle owns, on a slot it handed out and has not had back:
 * a link outside the file, not at a slot, into another worker's slab, or
 * back to a slot already freed (a loop or a double remote free) stops the
 * walk with -XS_EA_REMOTE_CORRUPT; the slots after it are abandoned, none
 * is freed twice, and every step frees a distinct live slot, so the walk
 * ends after at most as many steps as the handle has slots out.
 * @return the number of slots taken back, or the first error seen
 *         (-XS_EA_REMOTE_CORRUPT, -XS_EA_DOUBLE_FREE, -XS_EA_CORRUPT).
 */
int xs_alloc_clean_remote(struct xs_alloc *a);

/**
 * Free @p n offsets; local frees go to the free stacks at once. Remote
 * frees: per-slab formats link each run of consecutive frees into the same
 * slab in place and publish it with one CAS (a valid Treiber push, so an
 * upstream owner cleans it as usual). Format 4.0 does what upstream's
 * `RemoteFreeBatch` does (RTS_ALLOC4.md §7): one chain per destination
 * worker, in order of first appearance, each new slot linked in front of
 * its chain (W1), then the chains published from the last destination to
 * the first with one CAS each, the chain's first slot linking to the old
 * head; the owner's stack then reads this call's frees for it newest
 * first, then what it held before. More than XS_ALLOC_BATCH_OWNERS
 * destinations in one call: the chains gathered so far are published when
 * the table is full, then gathering starts again. Every offset is checked
 * (xs_alloc_free_offset()) and attempted even when one fails.
 * @return 0 or the first error (see xs_alloc_free_offset()).
 */
int xs_alloc_free_offsets(struct xs_alloc *a, const uint64_t *offs, size_t n);

/** Install a test hook (NULL removes it). Test use only: it runs inside
 *  the allocator's lock-free loops, on the calling thread. */
void xs_alloc_set_test_hook(struct xs_alloc *a, xs_alloc_hook_fn fn, void *arg);

/* ----------------------------------------------------------- statistics */

/** One size class of one worker, from that worker's lists. */
struct xs_alloc_class_stats {
	uint32_t partial_slabs;   /**< slabs on the partial list (incl. empty ones) */
	uint32_t full_slabs;      /**< slabs on the full list */
	uint32_t empty_slabs;     /**< partial slabs with every slot free (kept) */
	uint32_t remote_pending;  /**< slabs whose remote free stack is not empty (per-slab formats) */
	uint64_t slots_in_use;    /**< capacity - top summed (remote frees not yet cleaned count) */
};

struct xs_alloc_worker_stats {
	struct xs_alloc_class_stats cls[XS_ALLOC_NUM_CLASSES];
	uint32_t slabs_owned;
	uint64_t bytes_in_use;
	uint64_t outstanding_bytes; /**< the entry's outstanding_allocation_bytes (3.0, 4.0; else 0) */
	uint32_t claimed;           /**< the entry's `claimed` byte (3.0, 4.0) */
	uint32_t remote_pending;    /**< 4.0: the worker's remote stack is not empty */
};

struct xs_alloc_stats {
	uint32_t num_workers, num_slabs, slab_size, worker;
	uint64_t file_size, slabs_offset;
	uint32_t global_free_slabs; /**< slabs on the global free list */
	uint32_t never_assigned;    /**< slabs with no owner: never handed out (4.0: or given
				         back, which resets the owner) */
	uint32_t global_head;       /**< head index (NULL_U32 when empty) */
	uint32_t global_tag;        /**< xsched generation tag */
	uint32_t anomalies;         /**< bad links / over-long walks seen (live peers may race) */
	uint32_t slabs_listed;      /**< slabs found on any list (global + workers) */
	uint64_t bytes_in_use;      /**< over all workers */
	uint32_t keep, policy, tagged;
	struct xs_alloc_counters handle; /**< this handle's counters */
	uint32_t format;            /**< enum xs_alloc_format of the handle */
	uint32_t claimed_slots;     /**< 3.0, 4.0: slots whose `claimed` byte is set */
	uint64_t outstanding_bytes; /**< 3.0, 4.0: sum of every entry's outstanding bytes */
	uint64_t handle_outstanding; /**< this handle's outstanding bytes (its entry's, or its
				          own count for 0.2 / 2.0) */
	uint32_t remote_pending_workers; /**< 4.0: workers whose remote stack is not empty */
};

/**
 * Snapshot the file (lists walked with bounded, range-checked walks; values
 * of workers that run concurrently are approximate) and this handle's
 * counters. @p per_worker[w] is filled for w < min(@p n, num_workers)
 * (NULL / 0: totals only). Call from the handle's thread (the counters are
 * plain). @return 0.
 */
int xs_alloc_stats(const struct xs_alloc *a, struct xs_alloc_stats *st,
		   struct xs_alloc_worker_stats *per_worker, uint32_t n);

/**
 * As xs_alloc_stats() but from the shared file only (st->handle left zero):
 * safe from any thread while the handle's owner keeps working (a monitor or
 * metrics publisher). Every shared value is read with an atomic load; the
 * handle fields read are immutable after create/join. With @p n > 0 only
 * workers [0, n) are walked and summed (claim formats lay out thousands of
 * slots of which a session uses 1 + W + C + H: a periodic sampler passes
 * that), the global list always.
 */
int xs_alloc_stats_file(const struct xs_alloc *a, struct xs_alloc_stats *st,
			struct xs_alloc_worker_stats *per_worker, uint32_t n);

/** Print the snapshot as a table: slabs free/owned per worker and class,
 *  bytes in use, counters. @p file is a FILE *. */
void xs_alloc_stats_print(const struct xs_alloc *a, void *file);

/**
 * Name of the rts-alloc 0.2.0 error a code corresponds to ("InvalidHeader",
 * "InvalidFileSize", ...; "IoError" for other -errno values), or NULL for
 * codes that only exist at run time (bad offsets, double frees).
 */
const char *xs_alloc_error_name(int err);

/**
 * Name of the error variant a Rust peer of format @p fmt would report:
 * 0.2 / 2.0 as xs_alloc_error_name(); 3.0 / 4.0 (the 4.0.0 enum, assumed
 * for 5.x) "InvalidMagic", "InvalidVersion", "HeaderMismatch",
 * "NoAvailableWorkers", ... XS_ALLOC_FMT_ANY means the newest format. NULL
 * for codes that only exist at run time.
 */
const char *xs_alloc_error_name_fmt(int err, enum xs_alloc_format fmt);

/**
 * Rust `Debug` text of the error (what a server puts after "Rts alloc;
 * err="): the name, with its fields for InvalidVersion
 * ("InvalidVersion { expected: 262144, actual: 196608 }": expected is the
 * word of @p fmt, actual the word the calling thread's last -XS_EA_VERSION
 * found, as xs_errmsg() is per thread). -errno codes give "IoError" only:
 * the caller appends "(Os { ... })" (the handshake has that formatter).
 * @return the length written (snprintf rules), or -EINVAL for codes with
 *         no upstream counterpart (buf then holds xs_strerror()'s text).
 */
int xs_alloc_error_debug(int err, enum xs_alloc_format fmt, char *buf, size_t len);

/**
 * Rust `Display` text (what a client prints): 4.0.0 texts for 3.0 / 4.0
 * ("invalid magic", "invalid version; expected=4.0; found=3.0",
 * "header mismatch", "no available workers", "io error; err=<strerror>
 * (os error N)"; the texts of the other variants are not in the spec and
 * are inferred: "invalid slab size", "invalid file size", ...); 0.2 / 2.0
 * have no Display upstream: the Debug text. @return as xs_alloc_error_debug().
 */
int xs_alloc_error_display(int err, enum xs_alloc_format fmt, char *buf, size_t len);

/* ------------------------------------------------------------ hot path */

/** Size class of a request of @p size bytes (<= 4096): 0 for 0..256, else
 *  ceil(log2(size)) - 8. */
XS_INLINE unsigned xs_alloc_size_class(size_t size)
{
	if (size <= XS_ALLOC_MIN_SIZE)
		return 0;
	return (unsigned)(64 - __builtin_clzll((unsigned long long)size - 1)) - XS_ALLOC_MIN_SHIFT;
}

/** Slot size of class @p c. */
XS_INLINE uint32_t xs_alloc_class_size(unsigned c)
{
	return XS_ALLOC_MIN_SIZE << c;
}

/** Offset of a pointer into this handle's mapping (unchecked). */
XS_INLINE uint64_t xs_alloc_offset(const struct xs_alloc *a, const void *ptr)
{
	return (uint64_t)((uintptr_t)ptr - (uintptr_t)a->base);
}

/** Pointer for an offset, unchecked (see xs_alloc_check() for peer input). */
XS_INLINE void *xs_alloc_ptr(const struct xs_alloc *a, uint64_t off)
{
	return a->base + off;
}

XS_INLINE struct xs_alloc_fstack_shm *xs__alloc_fstack(const struct xs_alloc *a, uint32_t s)
{
	return (struct xs_alloc_fstack_shm *)(void *)(a->fstacks + (size_t)s * a->fs_stride);
}

XS_INLINE uint64_t xs__alloc_slot_off(const struct xs_alloc *a, uint32_t s, unsigned c, uint32_t idx)
{
	return a->slabs_off + ((uint64_t)s << a->slab_shift) +
	       ((uint64_t)idx << (XS_ALLOC_MIN_SHIFT + c));
}

XS_INLINE uint64_t *xs__alloc_shadow_word(const struct xs_alloc *a, uint32_t s, uint32_t idx,
					  uint64_t *bit)
{
	uint64_t b = ((uint64_t)s << a->shadow_shift) + idx;

	*bit = 1ull << (b & 63);
	return &a->shadow[b >> 6];
}

/* Out-of-line halves of the hot path (alloc/src/alloc_ops.c). */
int xs__alloc_refill(struct xs_alloc *a, unsigned c, uint64_t *off);
int xs__alloc_to_full(struct xs_alloc *a, unsigned c, uint32_t s);
int xs__alloc_free_slow(struct xs_alloc *a, uint32_t s, unsigned c, uint32_t top);
int xs__alloc_free_remote(struct xs_alloc *a, uint32_t s, unsigned c, uint32_t idx, uint32_t owner);
int xs__alloc_bad_free(struct xs_alloc *a, uint64_t off, int code) XS_COLD XS_NOINLINE;
int xs__alloc_bad_size(struct xs_alloc *a, size_t size) XS_COLD XS_NOINLINE;

/* O1: the holder's outstanding bytes, Relaxed (only this handle writes them). */
XS_INLINE void xs__alloc_outstanding_add(struct xs_alloc *a, uint64_t delta)
{
	__atomic_store_n(a->outstanding, __atomic_load_n(a->outstanding, __ATOMIC_RELAXED) + delta,
			 __ATOMIC_RELAXED);
}

/**
 * Pop a slot from slab @p s, the head of this worker's partial list for
 * class @p c. @return 0 and *off; 1 when the slab's free stack is not in a
 * state the fast path accepts (empty, wrong capacity, bad or live entry:
 * xs__alloc_refill() sorts it out).
 */
XS_INLINE int xs__alloc_pop(struct xs_alloc *a, unsigned c, uint32_t s, uint64_t *off)
{
	struct xs_alloc_fstack_shm *fs = xs__alloc_fstack(a, s);
	uint32_t cap = a->cap[c];
	/* F1: owner-only fields, relaxed. */
	uint32_t top = __atomic_load_n(&fs->top, __ATOMIC_RELAXED);
	uint32_t idx;
	uint64_t bit, *w;

	if (XS_UNLIKELY(top - 1u >= cap || __atomic_load_n(&fs->capacity, __ATOMIC_RELAXED) != cap))
		return 1;
	idx = fs->stack[top - 1];
	if (XS_UNLIKELY(idx >= cap))
		return 1;
	w = xs__alloc_shadow_word(a, s, idx, &bit);
	if (XS_UNLIKELY(*w & bit)) /* the stack offers a slot that is in use */
		return 1;
	*w |= bit;
	if (top == cap && a->kept[c]) { /* serving from a kept emptied slab */
		a->kept[c]--;
		a->cnt.kept_reuses++;
	}
	__atomic_store_n(&fs->top, (uint16_t)(top - 1), __ATOMIC_RELAXED); /* F1 */
	a->cnt.allocs++;
	xs__alloc_outstanding_add(a, xs_alloc_class_size(c)); /* O1 */
	*off = xs__alloc_slot_off(a, s, c, idx);
	if (XS_UNLIKELY(top == 1)) /* now full: partial -> full list */
		xs__alloc_to_full(a, c, s);
	return 0;
}

/**
 * Allocate @p size bytes (0..4096) and return the slot's offset in *off.
 * Fast path: pop the free stack of the head of this worker's partial list
 * for the class (L1: Acquire load of the head; F1 for the stack).
 * Thread safety: the handle's thread only.
 * Format 3.0 / 4.0: also adds the class size to the worker's
 * outstanding_allocation_bytes (O1).
 * @return 0; -XS_EA_TOO_BIG (> 4096; sizes are never narrowed);
 *         -XS_EA_ZERO_SIZE (0 bytes, format 4.0 only, as upstream); -ENOMEM
 *         (no free slot in the class and no free slab: "no memory");
 *         -XS_EA_CORRUPT (the worker's metadata was damaged; a live slot is
 *         never handed out twice, the shadow bitmap vetoes it);
 *         -XS_EA_SLAB_LIVE (a new slab was needed and the global free list
 *         offered one this handle owns or has live slots in: the slab is not
 *         used, and from then on this handle takes no slab from the global
 *         list, each call that needs one fails the same way; its own slabs
 *         keep serving allocations and frees).
 */
XS_INLINE int xs_alloc_alloc_offset(struct xs_alloc *a, size_t size, uint64_t *off)
{
	unsigned c;
	uint32_t s;

	if (XS_UNLIKELY(size > XS_ALLOC_MAX_SIZE || size < a->min_req)) {
		xs__alloc_bad_size(a, size); /* the message */
		return size ? -XS_EA_TOO_BIG : -XS_EA_ZERO_SIZE;
	}
	c = xs_alloc_size_class(size);
	/* L1: Acquire load of our partial head; only this handle stores it. */
	s = __atomic_load_n(&a->me->cls[c].partial, __ATOMIC_ACQUIRE);
	if (XS_LIKELY(s < a->num_slabs) && XS_LIKELY(xs__alloc_pop(a, c, s, off) == 0))
		return 0;
	/* Empty partial list (take a slab) or damaged metadata (report). */
	return xs__alloc_refill(a, c, off);
}

/** Allocate @p size bytes; NULL when xs_alloc_alloc_offset() fails. */
XS_INLINE void *xs_alloc_alloc(struct xs_alloc *a, size_t size)
{
	uint64_t off;

	if (XS_UNLIKELY(xs_alloc_alloc_offset(a, size, &off) < 0))
		return NULL;
	return a->base + off;
}

/**
 * Owner free of slot @p idx of slab @p s (class @p c): shadow check, push,
 * then the list transitions of spec §7.1 (policy-dependent when the slab
 * becomes empty). Used by free and by clean.
 */
XS_INLINE int xs__alloc_free_local(struct xs_alloc *a, uint32_t s, unsigned c, uint32_t idx)
{
	struct xs_alloc_fstack_shm *fs = xs__alloc_fstack(a, s);
	uint32_t cap = a->cap[c];
	uint32_t top = __atomic_load_n(&fs->top, __ATOMIC_RELAXED); /* F1 */
	uint64_t bit, *w = xs__alloc_shadow_word(a, s, idx, &bit);

	if (XS_UNLIKELY(!(*w & bit)))
		return -XS_EA_DOUBLE_FREE;
	if (XS_UNLIKELY(top >= cap || __atomic_load_n(&fs->capacity, __ATOMIC_RELAXED) != cap))
		return -XS_EA_CORRUPT;
	*w &= ~bit;
	fs->stack[top] = (uint16_t)idx;
	top++;
	__atomic_store_n(&fs->top, (uint16_t)top, __ATOMIC_RELAXED); /* F1 */
	a->cnt.frees_local++;
	xs__alloc_outstanding_add(a, (uint64_t)0 - xs_alloc_class_size(c)); /* O1 */
	if (XS_LIKELY(top != 1 && top != cap))
		return 0;
	if (top == cap && a->kept[c] < a->keep) {
		/* xsched policy: keep the emptied slab on the partial list. */
		a->kept[c]++;
		return 0;
	}
	return xs__alloc_free_slow(a, s, c, top);
}

/** Where an offset lies: slab, class, slot index and the slab's owner. */
struct xs__alloc_loc {
	uint32_t s, c, idx, owner;
};

/**
 * Locate the slot at @p off for a free: it must be the start of a slot of
 * a slab of this file whose class is valid. M2: Acquire loads of the slab's
 * class and owner (pair with M1 of the assignment).
 * @return 0, -XS_EA_OFFSET, -XS_EA_CORRUPT or -XS_EA_NOT_SLOT.
 */
XS_INLINE int xs__alloc_locate(const struct xs_alloc *a, uint64_t off, struct xs__alloc_loc *l)
{
	uint64_t rel = off - a->slabs_off; /* wraps for off < SLABS: caught below */
	uint64_t s = rel >> a->slab_shift, within, c;
	struct xs_alloc_slab_meta_shm *m;

	if (XS_UNLIKELY(s >= a->num_slabs))
		return -XS_EA_OFFSET;
	m = &a->meta[s];
	c = __atomic_load_n(&m->size_class_index, __ATOMIC_ACQUIRE);     /* M2 */
	l->owner = __atomic_load_n(&m->assigned_worker, __ATOMIC_ACQUIRE); /* M2 */
	within = rel & a->slab_mask;
	if (XS_UNLIKELY(c >= XS_ALLOC_NUM_CLASSES))
		return -XS_EA_CORRUPT;
	if (XS_UNLIKELY(within & (xs_alloc_class_size((unsigned)c) - 1)))
		return -XS_EA_NOT_SLOT;
	l->s = (uint32_t)s;
	l->c = (uint32_t)c;
	l->idx = (uint32_t)(within >> (XS_ALLOC_MIN_SHIFT + c));
	return 0;
}

/**
 * Free the slot at offset @p off (any worker's). The offset is checked: it
 * must be the start of a slot of an assigned slab of this file. If this
 * worker owns the slab the slot goes back to its free stack (local free,
 * spec §7.1), else onto the slab's remote free stack for the owner to clean
 * (§7.2, R1), or for format 4.0 onto the owner's remote free stack (W1;
 * upstream silently drops a free into a slab with no owner, xsched reports
 * -XS_EA_UNASSIGNED).
 * Thread safety: the handle's thread only.
 * @return 0; -XS_EA_OFFSET, -XS_EA_NOT_SLOT, -XS_EA_UNASSIGNED,
 *         -XS_EA_DOUBLE_FREE (own slot already free), -XS_EA_CORRUPT.
 *         Nothing is written on error; xs_errmsg() has the details.
 */
XS_INLINE int xs_alloc_free_offset(struct xs_alloc *a, uint64_t off)
{
	struct xs__alloc_loc l;
	int rc = xs__alloc_locate(a, off, &l);

	if (XS_UNLIKELY(rc < 0))
		return xs__alloc_bad_free(a, off, rc);
	if (XS_LIKELY(l.owner == a->worker)) {
		rc = xs__alloc_free_local(a, l.s, l.c, l.idx);
		if (XS_UNLIKELY(rc < 0))
			return xs__alloc_bad_free(a, off, rc);
		return 0;
	}
	if (XS_UNLIKELY(l.owner >= a->num_workers))
		return xs__alloc_bad_free(a, off, -XS_EA_UNASSIGNED);
	return xs__alloc_free_remote(a, l.s, l.c, l.idx, l.owner);
}

/** Free a pointer into this handle's mapping (NULL: no-op, returns 0).
 *  A pointer from another handle's mapping must travel as an offset. */
XS_INLINE int xs_alloc_free(struct xs_alloc *a, void *ptr)
{
	if (XS_UNLIKELY(!ptr))
		return 0;
	return xs_alloc_free_offset(a, xs_alloc_offset(a, ptr));
}

/** The handle's event counters. */
XS_INLINE const struct xs_alloc_counters *xs_alloc_counters(const struct xs_alloc *a)
{
	return &a->cnt;
}

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_ALLOC_H */
