/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scheduler-bindings handshake: the Unix-socket meeting of an external
 * scheduler ("pack", the client) and the Agave validator (the server), byte
 * compatible with every upstream generation: agave_scheduling_utils'
 * in-agave VERSION 1 (agave 3.1.x, shaq 0.2.0, byte-size logon), 2 (agave
 * master Nov 2025, shaq 1.0.x, capacities + flags, huge pages first), 3
 * (4.0 line), 4 (4.1, 4.2 and, by default, 4.3 lines; shaq format 2.0,
 * claimed allocator slots), 5 (check-worker MPMC queues), and the
 * agave-scheduler-handshake crate of agave-sdk (4.4.x: 32-byte
 * ProtocolVersions, 88-byte logon; rows sdk6 and sdk7). See
 * spec/HANDSHAKE.md, spec/AGAVE_4X.md, spec/LATER_VERSIONS.md,
 * spec/HANDSHAKE_SDK.md.
 *
 * Wire protocol (every generation):
 *   client -> server  1024-byte logon: u64 VERSION (or ProtocolVersions),
 *                     ClientLogon, zeros
 *   server -> client  failure: 0x02, len (<= 255), len bytes of reason; or
 *                     success: one byte 0x01 with one SCM_RIGHTS message of
 *                     3 + 2W (5 + 2W with check queues) descriptors:
 *                     allocator, tpu_to_pack, progress_tracker,
 *                     [pack_to_check_worker, check_worker_to_pack,] then per
 *                     worker pack_to_worker, worker_to_pack.
 * Both sides close the socket right after; the session then lives only in the
 * shared memory (EOF on the socket is NOT the end of the session).
 *
 * What differs between generations is one row of a table (struct
 * xs_hs_proto: xs_hs_proto_get(), _gen(), _by_name(), xs_hs_parse_protocol(),
 * xs_hs_parse_agave()); the codecs are a single code path driven by that
 * row, so a later generation is a new row. The wire codecs (logon, reply,
 * rejection texts) speak every row; the client and server build sessions
 * for the rows whose `sessions` is set.
 *
 * I/O. Every socket operation goes through io_uring (liburing 2.3) and is
 * bounded by a linked timeout: the client's connect, send and recvmsg by one
 * absolute deadline for the whole handshake (connect included, unlike
 * upstream); the server's reads by a per-read timeout of 1 s plus upstream's
 * total-elapsed check, per connection, so that many handshakes are served at
 * once and a client that stalls or trickles delays no other; its accept by
 * the serve call's deadline. When io_uring cannot be set up
 * (io_uring_disabled sysctl, seccomp, old kernel) a poll()-based path with
 * the same deadline semantics is used instead; the report/session says
 * which. Every send uses MSG_NOSIGNAL: a peer that leaves early is an error,
 * never a SIGPIPE.
 *
 * Descriptors: every descriptor xsched creates or receives is close-on-exec.
 * The session objects hold mappings only; no descriptor stays open after
 * xs_hs_connect() / xs_hs_server_serve() return.
 *
 * Errors: 0 or a negative code: -errno (-ETIMEDOUT: deadline; -ENAMETOOLONG,
 * -EADDRINUSE: listen path) or -XS_EHS_* below (text: xs_strerror(), detail:
 * xs_errmsg()).
 */
#ifndef XS_HANDSHAKE_H
#define XS_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xsched/common.h"
#include "xsched/mpmc.h"
#include "xsched/spsc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every declaration up to the matching pop is public: exported from
 * libxsched.so, which is built with -fvisibility=hidden (README "ABI"). */
#pragma GCC visibility push(default)

struct xs_alloc;

/* ------------------------------------------------------------- constants */

#define XS_HS_VERSION_MIN     1u /**< oldest generation of the table (VERSION 1) */
#define XS_HS_VERSION_MAX     7u /**< newest generation of the table (sdk7) */
#define XS_HS_VERSION_DEFAULT 2u /**< VERSION a client/server uses when given 0 */

#define XS_HS_LOGON_BUF        1024u /**< logon buffer size on the wire */
#define XS_HS_LOGON_SUCCESS    0x01u /**< first reply byte: success (with descriptors) */
#define XS_HS_LOGON_FAILURE    0x02u /**< first reply byte: failure, then len + reason */
#define XS_HS_MAX_WORKERS      64u   /**< worker_count must be 1..=64 */
#define XS_HS_MAX_ALLOC_HANDLES 128u /**< allocator_handles must be 1..=128 */
#define XS_HS_GLOBAL_ALLOCATORS 1u   /**< allocator worker ids before the banking workers (TPU) */
#define XS_HS_GLOBAL_SHMEM     3u    /**< allocator, tpu_to_pack, progress_tracker */
#define XS_HS_GLOBAL_SHMEM_CHECK 5u  /**< ... + pack_to_check_worker, check_worker_to_pack (V5, SDK) */
#define XS_HS_MAX_CHECK_WORKERS 64u  /**< SDK check_worker_count must be 1..=64 */
#define XS_HS_MAX_FDS          (XS_HS_GLOBAL_SHMEM_CHECK + 2u * XS_HS_MAX_WORKERS) /**< 133 */
#define XS_HS_PV_SIZE          32u   /**< SDK: ProtocolVersions at logon bytes 0..31 */
#define XS_HS_MAX_REASON       255u  /**< failure reasons are cut to this many bytes */
#define XS_HS_SLAB_SIZE        (2u * 1024 * 1024) /**< allocator slab size the server uses */
#define XS_HS_TIMEOUT_NS       1000000000ull /**< server per-connection timeout (upstream HANDSHAKE_TIMEOUT) */
#define XS_HS_CLIENT_TIMEOUT_NS 1000000000ull /**< client default when no deadline/timeout is given */

/** Logon flags (ClientLogon.flags). Only VERSION 2 defines a bit; the
 *  field exists but means nothing in VERSION 3, 4, 5 and the SDK rows. */
#define XS_LOGON_REROUTE_VOTES 0x0001u /**< VERSION 2: send votes to the external scheduler */

/** Which I/O path a client or server uses. */
enum xs_hs_backend {
	XS_HS_BACKEND_URING = 1, /**< io_uring with linked timeouts */
	XS_HS_BACKEND_POLL = 2,  /**< poll() fallback, same deadlines */
};

/** Handshake error numbers (returned negated). */
enum xs_error_hs {
	XS_EHS_REJECTED = XS_E_HS_BASE, /**< the server refused the logon (reason in the report) */
	XS_EHS_VERSION,       /**< VERSION mismatch (server: client sent another; client: server refused ours) */
	XS_EHS_PROTOCOL,      /**< the peer broke the wire protocol (reply/frame/descriptors malformed) */
	XS_EHS_EOF,           /**< the peer closed the connection before the handshake ended */
	XS_EHS_WORKER_COUNT,  /**< logon worker_count outside 1..=64 */
	XS_EHS_ALLOC_HANDLES, /**< logon allocator_handles outside 1..=128 */
	XS_EHS_ALLOC,         /**< allocator create/join failed (cause in the report / errmsg) */
	XS_EHS_QUEUE,         /**< queue create/join failed (cause in the report / errmsg) */
	XS_EHS_PEER,          /**< the peer's credentials are not allowed */
	XS_EHS_STOPPED,       /**< xs_hs_server_stop() was called */
	XS_EHS_LOGON,         /**< the logon cannot be expressed in that VERSION */
	XS_EHS_IO,            /**< the server failed reading the logon (Io; err=...) */
	XS_EHS_CHECK_WORKER_COUNT, /**< logon check_worker_count outside 1..=64 (SDK) */
	XS_EHS_ALLOC_SIZE,    /**< logon allocator_size cannot be represented (SDK) */
	XS_EHS_CAPACITY,      /**< a logon queue capacity cannot be represented (SDK) */
};

/* ------------------------------------------------------- version table */

/** Meaning of the queue fields of a logon. */
enum xs_logon_units {
	XS_LOGON_ITEMS = 0, /**< minimum capacity in messages (VERSION 2 and later) */
	XS_LOGON_BYTES = 1, /**< queue file size in bytes (VERSION 1) */
};

/** Huge-page policy of the server (only where the VERSION uses huge pages). */
enum xs_hs_huge {
	XS_HS_HUGE_AUTO = 0, /**< try huge first; after one failure in this process, stop trying */
	XS_HS_HUGE_NEVER = 1, /**< normal pages only */
	XS_HS_HUGE_EACH = 2,  /**< as upstream: every object tries huge pages first, then falls back */
};

/** Generations: the rows of the table (value = xs_hs_proto.gen). */
enum xs_hs_gen {
	XS_HS_GEN_V1 = 1,   /**< in-agave VERSION 1: agave 3.1.x */
	XS_HS_GEN_V2 = 2,   /**< VERSION 2: agave master 2025-11-05 .. 2026-01-27 */
	XS_HS_GEN_V3 = 3,   /**< VERSION 3: agave 4.0 line */
	XS_HS_GEN_V4 = 4,   /**< VERSION 4: agave 4.1, 4.2 (and the default for 4.3) */
	XS_HS_GEN_V5 = 5,   /**< VERSION 5: check-worker MPMC queues (agave 091bee17; maybe 4.3) */
	XS_HS_GEN_SDK6 = 6, /**< agave-scheduler-handshake, handshake number 6 (u16 flags, no validate) */
	XS_HS_GEN_SDK7 = 7, /**< agave-scheduler-handshake, handshake number 7 (u64 flags, validate) */
};

/** How the protocol version travels (the first bytes of the logon). */
enum xs_hs_wire {
	XS_HS_WIRE_U64 = 0, /**< u64 LE VERSION at 0, ClientLogon at 8 (VERSION 1-5) */
	XS_HS_WIRE_PV = 1,  /**< ProtocolVersions (4 x u64) at 0, ClientLogon at 32 (SDK) */
};

/** ClientLogon layouts (struct offsets in xs_hs_proto.field_off). */
enum xs_logon_layout {
	XS_LOGON_L56 = 0,     /**< 56 B: 7 x u64, queue sizes in bytes (VERSION 1) */
	XS_LOGON_L64 = 1,     /**< 64 B: 7 x u64 capacities, u16 flags @56, padding 58..63 (VERSION 2-4) */
	XS_LOGON_L80 = 2,     /**< 80 B: L64 + pack_to_check_worker @64, check_worker_to_pack @72 (VERSION 5) */
	XS_LOGON_L88_F16 = 3, /**< 88 B SDK: worker_count @0, check_worker_count @8, allocator @16 @24,
	                           queues @32..@56, u16 flags @64, padding 66..71, check queues @72 @80 */
	XS_LOGON_L88_F64 = 4, /**< 88 B SDK: as F16 up to @56, check queues @64 @72, u64 flags @80 */
};

/** ClientLogon fields (index of xs_hs_proto.field_off). */
enum xs_logon_field {
	XS_LF_WORKER_COUNT = 0,
	XS_LF_CHECK_WORKER_COUNT,
	XS_LF_ALLOCATOR_SIZE,
	XS_LF_ALLOCATOR_HANDLES,
	XS_LF_TPU_TO_PACK,
	XS_LF_PROGRESS_TRACKER,
	XS_LF_PACK_TO_WORKER,
	XS_LF_WORKER_TO_PACK,
	XS_LF_PACK_TO_CHECK_WORKER,
	XS_LF_CHECK_WORKER_TO_PACK,
	XS_LF_FLAGS,
	XS_LF_COUNT,
};
#define XS_LF_ABSENT 0xFFu /**< field_off[] of a field the layout does not have */

/** Server checks after the version (xs_hs_proto.checks), always in this
 *  order; texts in xs_hs_parse_logon(). */
#define XS_HS_CHECK_WORKERS       0x01u /**< worker_count 1..=64 */
#define XS_HS_CHECK_CHECK_WORKERS 0x02u /**< check_worker_count 1..=64 (SDK) */
#define XS_HS_CHECK_HANDLES       0x04u /**< allocator_handles 1..=128 */
#define XS_HS_CHECK_ALLOC_SIZE    0x08u /**< allocator_size rounded to 2 MiB fits isize (sdk7) */
#define XS_HS_CHECK_CAPACITIES    0x10u /**< each queue's file size fits isize (sdk7) */

/** How the server sizes a queue file from the logon. */
enum xs_hs_sizing {
	XS_HS_SIZE_BYTES = 0,  /**< VERSION 1: the byte size as given, no rounding */
	XS_HS_SIZE_LINEAR = 1, /**< VERSION 2, 3: ring start + capacity x size, then page rounding */
	XS_HS_SIZE_POW2 = 2,   /**< VERSION 4+: ring start + next_pow2(capacity) x size, then page rounding */
};

/** How allocator handles get their worker slot. */
enum xs_hs_join {
	XS_HS_JOIN_INDEX = 0, /**< fixed index: server 0 and 1..W, client 1 + W + k */
	XS_HS_JOIN_CLAIM = 1, /**< claim the first free slot (XS_ALLOC_CLAIM); the server claims first */
};

/** Session objects, in descriptor order of the globals. */
enum xs_hs_obj {
	XS_HS_OBJ_ALLOCATOR = 0,
	XS_HS_OBJ_TPU_TO_PACK,
	XS_HS_OBJ_PROGRESS_TRACKER,
	XS_HS_OBJ_PACK_TO_CHECK_WORKER,
	XS_HS_OBJ_CHECK_WORKER_TO_PACK,
	XS_HS_OBJ_PACK_TO_WORKER,
	XS_HS_OBJ_WORKER_TO_PACK,
};

/** One descriptor of a session (xs_hs_proto_object()). */
struct xs_hs_object {
	uint8_t obj;         /**< enum xs_hs_obj */
	uint8_t kind;        /**< enum xs_shaq_kind (queues; 0 for the allocator) */
	uint8_t server_role; /**< enum xs_spsc_role of the server's end; the client has the other */
	uint8_t huge;        /**< huge pages first when the row has huge_first (progress never) */
	uint8_t field;       /**< enum xs_logon_field holding its size or capacity */
	uint8_t msg;         /**< enum xs_msg_type of its elements (xsched/msg.h) */
	uint16_t elem_size;  /**< element size in bytes (0: allocator) */
	const char *name;    /**< "allocator", "tpu_to_pack", ... */
};

/** How much of a row was read in upstream code. */
enum xs_hs_confidence {
	XS_HS_READ = 0,     /**< every field read in upstream sources / golden files */
	XS_HS_INFERRED = 1, /**< something is inferred: see note */
};

#define XS_HS_MAX_OBJ_KINDS 7u /**< globals (3 or 5) + the per-worker pair */

/** SDK ProtocolVersions (four u64 LE at logon bytes 0..31). */
struct xs_hs_pv {
	uint64_t handshake;          /**< crate major of agave-scheduler-handshake */
	uint64_t scheduler_bindings; /**< agave_scheduler_bindings::version() (6) */
	uint64_t shaq;               /**< shaq::VERSION: format major << 16 | patch */
	uint64_t rts_alloc;          /**< rts_alloc::VERSION: format major << 16 | patch */
};

/**
 * What differs between generations: one row each. The first fields are the
 * ones the VERSION 1/2 client and server read; the rest describe the
 * generation completely (README "Protocol generations").
 */
struct xs_hs_proto {
	uint32_t version;      /**< number on the wire: VERSION (1-5) or ProtocolVersions.handshake (6, 7) */
	uint32_t logon_size;   /**< sizeof(ClientLogon): 56, 64, 80 or 88 */
	uint8_t units;         /**< enum xs_logon_units of the queue fields */
	uint8_t has_flags;     /**< ClientLogon has flags (flags_width bytes) */
	uint8_t huge_first;    /**< server tries huge pages first (progress_tracker never) */
	uint8_t round_pages;   /**< server rounds object sizes up to its page size (2 MiB / 4 KiB) */
	uint8_t shaq;          /**< enum xs_shaq_format of every queue */
	uint8_t gen;           /**< enum xs_hs_gen */
	uint8_t wire;          /**< enum xs_hs_wire */
	uint8_t logon_layout;  /**< enum xs_logon_layout */
	uint32_t slab_size;    /**< allocator slab size the server creates with */
	const char *era;       /**< where this generation was spoken (for humans) */
	const char *name;      /**< "1" .. "5", "sdk6", "sdk7": what --protocol takes */
	uint8_t logon_off;     /**< buffer offset of ClientLogon: 8 or 32 */
	uint8_t flags_width;   /**< bytes of ClientLogon.flags: 0, 2 or 8 */
	uint8_t checks;        /**< XS_HS_CHECK_* after the version, in their fixed order */
	uint8_t sizing;        /**< enum xs_hs_sizing of the queues */
	uint8_t field_off[XS_LF_COUNT]; /**< ClientLogon offset of each field or XS_LF_ABSENT */
	uint8_t nglobal;       /**< descriptors before the per-worker pairs: 3 or 5 */
	uint8_t alloc_format;  /**< enum xs_alloc_format (xsched/alloc.h) */
	uint8_t alloc_join;    /**< enum xs_hs_join */
	uint8_t alloc_check_slots; /**< check workers hold allocator slots (SDK): min_workers
	                                1 + W + C + H, the server claims 1 + C + W */
	uint8_t bindings;      /**< enum xs_bindings_id (xsched/msg.h, xs_bindings_get()) */
	uint8_t confidence;    /**< enum xs_hs_confidence */
	uint8_t sessions;      /**< this build's client and server create/join its objects */
	uint8_t pad_[2];
	uint64_t logon_flags;  /**< XS_LOGON_* bits with a meaning (VERSION 2: REROUTE_VOTES) */
	struct xs_hs_pv pv;    /**< SDK: the server's ProtocolVersions (zero for VERSION 1-5) */
	struct xs_hs_object objects[XS_HS_MAX_OBJ_KINDS]; /**< nglobal globals, then
	                                pack_to_worker, worker_to_pack (xs_hs_proto_object()) */
	const char *lines;     /**< agave release lines that speak it */
	const char *note;      /**< what in the row is inferred; NULL when nothing */
};

/**
 * Row of a number on the wire: VERSION 1-5 (u64 at logon offset 0) or the
 * SDK handshake number 6, 7 (ProtocolVersions.handshake). NULL when xsched
 * does not know it.
 */
const struct xs_hs_proto *xs_hs_proto_get(uint64_t version);

/** Row of generation @p gen (enum xs_hs_gen), or NULL. */
const struct xs_hs_proto *xs_hs_proto_gen(unsigned gen);

/** Row named @p name: "1" .. "5" (also "v1" .. "v5"), "sdk6", "sdk7"
 *  (case-insensitive), or NULL. */
const struct xs_hs_proto *xs_hs_proto_by_name(const char *name);

/** The SDK row whose ProtocolVersions equal @p pv exactly, or NULL. */
const struct xs_hs_proto *xs_hs_proto_sdk(const struct xs_hs_pv *pv);

/** Number of rows; xs_hs_proto_at(i) for i below it walks them in
 *  generation order. */
size_t xs_hs_proto_count(void);
const struct xs_hs_proto *xs_hs_proto_at(size_t i);

/** Descriptors of a session with @p worker_count workers: nglobal + 2W,
 *  0 when worker_count is outside 1..=64. */
uint32_t xs_hs_proto_fds(const struct xs_hs_proto *p, uint64_t worker_count);

/** Object of descriptor @p index (globals, then the per-worker pair), or
 *  NULL past the worker pairs' pattern (index >= nglobal + 2 * 64). */
const struct xs_hs_object *xs_hs_proto_object(const struct xs_hs_proto *p, uint32_t index);

/** Upstream's name of logon field @p f in @p p ("tpu_to_pack_size" in
 *  VERSION 1, "tpu_to_pack_capacity" elsewhere ...), or NULL if absent. */
const char *xs_hs_logon_field_name(const struct xs_hs_proto *p, unsigned f);

/**
 * Parse a --protocol argument: "1" .. "5", "v1" .. "v5", "sdk6", "sdk7".
 * @return 0 and *out, or -EINVAL (xs_errmsg() lists the accepted values).
 */
int xs_hs_parse_protocol(const char *arg, const struct xs_hs_proto **out);

/** An agave release line and what it speaks (xs_hs_parse_agave()). */
struct xs_hs_agave {
	const char *line;      /**< "3.1", "4.0", ... */
	const char *releases;  /**< e.g. "3.1.1 .. 3.1.13" */
	const struct xs_hs_proto *proto; /**< best-known generation */
	const struct xs_hs_proto *alt;   /**< the other candidate where the spec leaves it open, else NULL */
	uint8_t bindings;      /**< enum xs_bindings_id of the line (may be finer than proto's) */
	uint8_t shaq;          /**< enum xs_shaq_format */
	uint8_t alloc_format;  /**< enum xs_alloc_format */
	uint8_t confidence;    /**< enum xs_hs_confidence */
	const char *verified;  /**< how xsched checks it: golden files from upstream code, or spec only */
	const char *note;      /**< for the tool to print when the line is open; NULL otherwise */
};

/**
 * Parse a --agave argument: "3.1", "4.0", "4.1", "4.2", "4.3", "4.4",
 * optionally with a patch part ("4.3.1", "4.2.x") or a leading 'v'. Where
 * the spec leaves the line open (4.3: VERSION 4 or 5; 4.4: sdk6 or sdk7)
 * proto is the spec's best inference, alt the other one and note says so.
 * @return 0 and *out, or -EINVAL (xs_errmsg() lists the known lines).
 */
int xs_hs_parse_agave(const char *line, const struct xs_hs_agave **out);

/* ----------------------------------------------------------------- logon */

/**
 * ClientLogon, generation independent. The queue fields are capacities in
 * messages (units XS_LOGON_ITEMS, what callers normally give) or file sizes
 * in bytes (XS_LOGON_BYTES, the VERSION 1 wire meaning). Encoding converts to
 * the unit of the generation sent: items -> bytes with shaq's
 * minimum_file_size (as upstream clients do), bytes -> items by the number of
 * messages that fit after the queue header. Parsing gives the unit of the
 * generation received. Fields a generation does not have must be 0 to be
 * encoded for it (flags, the check fields).
 */
struct xs_logon {
	uint64_t worker_count;        /**< (execution) workers Agave spawns, 1..=64 */
	uint64_t allocator_size;      /**< allocator file size in bytes (V2+: minimum, server rounds up) */
	uint64_t allocator_handles;   /**< allocator handles for the client, 1..=128 */
	uint64_t tpu_to_pack_capacity;
	uint64_t progress_tracker_capacity;
	uint64_t pack_to_worker_capacity; /**< per worker */
	uint64_t worker_to_pack_capacity; /**< per worker */
	uint64_t flags;               /**< XS_LOGON_*: u16 on the wire (VERSION 2-5, sdk6), u64 (sdk7),
	                                   absent (VERSION 1) */
	uint8_t units;                /**< enum xs_logon_units of the queue fields */
	uint8_t pad_[7];
	uint64_t check_worker_count;  /**< SDK: check workers Agave spawns, 1..=64 */
	uint64_t pack_to_check_worker_capacity; /**< VERSION 5, SDK: the MPMC request queue */
	uint64_t check_worker_to_pack_capacity; /**< VERSION 5, SDK: the MPMC answer queue */
};

/**
 * Encode the 1024-byte logon buffer for @p version (a number on the wire,
 * xs_hs_proto_get()): u64 LE VERSION or the row's ProtocolVersions, the
 * ClientLogon fields LE at the row's offsets (every padding byte zero),
 * zeros to the end.
 * @return XS_HS_LOGON_BUF, -EINVAL (unknown version) or -XS_EHS_LOGON (a
 *         field the generation does not have is non-zero, flags wider than
 *         its field, or a size that does not convert).
 */
int xs_hs_encode_logon(uint64_t version, const struct xs_logon *logon,
		       uint8_t buf[XS_HS_LOGON_BUF]);

/**
 * Server-side validation of received logon bytes, in the generation's
 * upstream order, each with upstream's exact text:
 *   all 1024 bytes present          "Close during handshake" (-XS_EHS_EOF)
 *   VERSION 1-5: u64 VERSION equal  "Version; server=S; client=C"
 *   SDK: all four numbers equal     "Version; server=(handshake=H,
 *       scheduler-bindings=B, shaq=S, rts-alloc=R); client=(handshake=h,
 *       scheduler-bindings=b, shaq=s, rts-alloc=r)" (-XS_EHS_VERSION; an
 *       older frame is read as it is: its bytes 8..31 are the client's
 *       "numbers")
 *   worker_count 1..=64             "Worker count; count=N"
 *   check_worker_count 1..=64 (SDK) "Check worker count; count=N"
 *   allocator_handles 1..=128       "Allocator handles; count=N"
 *   sdk7: allocator_size rounded up to 2 MiB fits isize
 *                                   "Allocator size cannot be represented; size=N"
 *   sdk7: per queue (tpu_to_pack, progress_tracker, pack_to_worker,
 *       worker_to_pack, pack_to_check_worker, check_worker_to_pack)
 *       try_minimum_file_size and its page rounding fit isize
 *       "Queue capacity cannot be represented; field=<name>, capacity=N"
 * Pure function over raw bytes (fuzzable).
 * @param reason  receives the text (NUL-terminated, cut to @p reason_cap - 1), may be NULL
 * @return 0 (and *out filled), -XS_EHS_EOF, -XS_EHS_VERSION,
 *         -XS_EHS_WORKER_COUNT, -XS_EHS_CHECK_WORKER_COUNT,
 *         -XS_EHS_ALLOC_HANDLES, -XS_EHS_ALLOC_SIZE, -XS_EHS_CAPACITY, or
 *         -EINVAL when @p server_version is not in the table.
 */
int xs_hs_parse_logon(const uint8_t *buf, size_t len, uint64_t server_version,
		      struct xs_logon *out, char *reason, size_t reason_cap);

/**
 * shaq's minimum_file_size for queue object @p o of @p p: the file size the
 * server starts from before its page rounding (VERSION 1: the byte size as
 * given; VERSION 2, 3: ring start + capacity x size; VERSION 4 and later:
 * ring start + next_pow2(capacity) x size). VERSION 1 clients send it.
 * @return 0, -XS_EHS_QUEUE (arithmetic overflow; @p reason "Shaq;
 *         err=InvalidBufferSize") or -EINVAL (not a queue).
 */
int xs_hs_queue_min_size(const struct xs_hs_proto *p, const struct xs_hs_object *o,
			 uint64_t value, uint64_t *size, char *reason, size_t reason_cap);

/**
 * File size the server of @p p gives queue object @p o for the logon value
 * @p value (bytes or capacity, the row's unit) on huge (2 MiB) or normal
 * (4 KiB) pages, and the capacity shaq derives from that size. The rules
 * are the row's sizing rule; what upstream's queue creation refuses is
 * refused here with upstream's text.
 * @param reason  "Shaq; err=InvalidBufferSize" on refusal (may be NULL)
 * @return 0, -XS_EHS_QUEUE (no item fits, capacity beyond the format's
 *         limit, arithmetic overflow) or -EINVAL (not a queue).
 */
int xs_hs_queue_size(const struct xs_hs_proto *p, const struct xs_hs_object *o, uint64_t value,
		     int huge, uint64_t *size, uint64_t *capacity, char *reason, size_t reason_cap);

/**
 * The queue part of the server's object creation as a pure check: every
 * queue of a @p logon that passed xs_hs_parse_logon(), in creation order,
 * through xs_hs_queue_size() on normal pages (the fallback whose error
 * upstream reports). Upstream creates the allocator first: its errors come
 * before these (the allocator module's rules, not checked here).
 * @return 0 or -XS_EHS_QUEUE with upstream's @p reason.
 */
int xs_hs_logon_check_queues(const struct xs_hs_proto *p, const struct xs_logon *logon,
			     char *reason, size_t reason_cap);

/** num_workers / min_workers the server creates the allocator with:
 *  1 + W + H, or 1 + W + C + H where check workers hold slots (SDK). */
uint64_t xs_hs_alloc_min_workers(const struct xs_hs_proto *p, const struct xs_logon *logon);

/** Worker slot of the client's first allocator handle (the k-th is this
 *  + k): 1 + W, or 1 + C + W (SDK). With XS_HS_JOIN_CLAIM it is the slot the
 *  claim gets when the server claimed first, as upstream does. */
uint64_t xs_hs_client_first_slot(const struct xs_hs_proto *p, const struct xs_logon *logon);

/* ---------------------------------------------------------------- replies */

/**
 * Encode a failure frame: 0x02, min(strlen, 255), the first bytes of
 * @p reason. @p cap must be at least 2 + min(strlen(reason), 255).
 * @return the frame length, or -ENOSPC.
 */
int xs_hs_encode_failure(const char *reason, uint8_t *frame, size_t cap);

/** Descriptors collected per reply before the rest are only counted. */
#define XS_HS_REPLY_FDS 256u

/** Result of xs_hs_parse_reply(). */
struct xs_hs_reply {
	int fds[XS_HS_REPLY_FDS]; /**< every descriptor found in SCM_RIGHTS data, in order */
	uint32_t nfds;            /**< entries in fds[] */
	uint32_t nfds_seen;       /**< descriptors in the control data (> nfds only past XS_HS_REPLY_FDS) */
	uint32_t ncmsg;           /**< control messages found */
	uint32_t nrights;         /**< of which SCM_RIGHTS */
	uint32_t reason_len;      /**< bytes of reason received (<= declared) */
	uint32_t reason_declared; /**< length byte of a failure frame */
	uint8_t complete;         /**< failure frame: all declared bytes were present */
	uint8_t pad_[3];
	uint32_t server_version;  /**< from a "Version; server=S; client=C" reason, else 0 */
	char reason[XS_HS_MAX_REASON + 1]; /**< raw reason bytes, NUL-terminated (may contain NULs) */
	uint8_t sdk_version;      /**< the reason is the SDK "Version; server=(handshake=...)" text */
	uint8_t client_pv_valid;  /**< ... and its client part parsed too (client_pv) */
	uint8_t pad2_[6];
	struct xs_hs_pv server_pv; /**< SDK text: the server's four numbers */
	struct xs_hs_pv client_pv; /**< SDK text: what the server read from our logon */
};

/**
 * Client-side validation of one received reply. Pure function over raw
 * bytes (fuzzable): never closes, dereferences or keeps a descriptor; the
 * caller closes out->fds[0..nfds) on every error.
 *
 * @param data, len          data bytes received (len 0: the peer closed)
 * @param msg_flags          msghdr.msg_flags after recvmsg (MSG_CTRUNC checked)
 * @param control, controllen control bytes received (any alignment)
 * @param expected_fds       xs_hs_proto_fds(): 3 + 2 * worker_count, or 5 + 2 *
 *                           worker_count with check queues (at most 133)
 * @return 0 on a well-formed success (out->nfds == expected_fds);
 *   -XS_EHS_REJECTED (failure frame; out->reason, out->complete says whether
 *   all declared bytes were present: the caller may read more and parse
 *   again), -XS_EHS_VERSION (failure frame with a Version reason of either
 *   kind: out->server_version for "Version; server=S; client=C", or
 *   out->sdk_version with out->server_pv for the SDK text; see
 *   xs_hs_reply_generation()), -XS_EHS_EOF (0 bytes), -XS_EHS_PROTOCOL (anything
 *   else: first byte not 0x01/0x02, extra data, no / several / foreign
 *   control messages, MSG_CTRUNC, malformed control data, descriptor count
 *   other than expected).
 */
int xs_hs_parse_reply(const uint8_t *data, size_t len, int msg_flags, const void *control,
		      size_t controllen, uint32_t expected_fds, struct xs_hs_reply *out);

/**
 * What a version rejection says about the server, for reconnecting with
 * its generation (auto negotiation). A "Version; server=S; client=C" text
 * names VERSION S (rows 1-5); an SDK text names four numbers, matched
 * exactly against the SDK rows (xs_hs_proto_sdk()).
 * @param wants  receives what the server wants, for humans: "VERSION 4",
 *               "(handshake=8, scheduler-bindings=6, shaq=196608,
 *               rts-alloc=262144)" (may be NULL)
 * @return 1 and *gen = a row xsched speaks; 0 and *gen = NULL when the
 *         server wants a generation xsched does not know; -XS_EHS_REJECTED
 *         when @p r is not a complete version rejection.
 */
int xs_hs_reply_generation(const struct xs_hs_reply *r, const struct xs_hs_proto **gen,
			   char *wants, size_t wants_cap);

/**
 * Rust-compatible texts the server sends (exact bytes of upstream):
 * "Io; err=<strerror> (os error N)" for -errno @p err.
 */
int xs_hs_format_io(char *buf, size_t cap, int err);

/* ----------------------------------------------------------------- client */

/** Client options. Zero-initialise, then set what you need. */
struct xs_hs_client_opts {
	const char *path;       /**< server socket path (required) */
	uint32_t version;       /**< VERSION to speak; 0 = XS_HS_VERSION_DEFAULT */
	uint64_t deadline_ns;   /**< absolute CLOCK_MONOTONIC deadline for everything; 0 = use timeout_ns */
	uint64_t timeout_ns;    /**< relative timeout when deadline_ns is 0; 0 = XS_HS_CLIENT_TIMEOUT_NS */
	uint8_t allow_version_retry; /**< on a version rejection ("Version; server=S; ..." or the
	                                  SDK text), retry once with the server's generation when
	                                  xsched speaks it (the logon converted: xs_hs_logon_for()) */
	uint8_t require_sealed; /**< refuse objects not sealed against resizing (-XS_ESHM_UNSEALED) */
	uint8_t force_poll;     /**< use the poll() path even when io_uring works */
	uint8_t auto_negotiate; /**< find the server's generation: start with @c version (0: the
	                             newest row, sdk7) and, on each version rejection, reconnect
	                             with the generation the server names, at most
	                             XS_HS_AUTO_ATTEMPTS connections in all, under the one
	                             deadline; the logon is converted for every attempt
	                             (xs_hs_logon_for()). Fails with -XS_EHS_VERSION naming what
	                             the server wants and what xsched speaks when that is not
	                             a row. The report says what was tried and chosen */
	uint8_t pad_[4];
	struct xs_hs_report *report; /**< optional: filled with details, on success and failure */
};

/** Connections an auto-negotiating xs_hs_connect() makes at most: the newest
 *  generation, the server's, and one more should the server answer the
 *  second with yet another generation (it restarted meanwhile). */
#define XS_HS_AUTO_ATTEMPTS 3u

/** Details of one xs_hs_connect() call (all fields valid after it returns). */
struct xs_hs_report {
	int backend;            /**< enum xs_hs_backend used */
	int uring_err;          /**< why io_uring was not used: io_uring_queue_init's error, 0 */
	uint32_t version;       /**< VERSION of the last attempt */
	uint32_t server_version; /**< VERSION the server asked for in a Version rejection, else 0 */
	uint8_t retried;        /**< a second attempt with server_version was made */
	uint8_t pad_[3];
	int cause;              /**< underlying error of -XS_EHS_ALLOC / -XS_EHS_QUEUE / I/O failures */
	int fd_index;           /**< descriptor index a join/seal failure concerns, else -1 */
	uint32_t reason_len;    /**< bytes of rejection reason */
	char reason[XS_HS_MAX_REASON + 1]; /**< server's rejection text (raw bytes, NUL-terminated) */
	uint64_t connect_ns, logon_ns, reply_ns, join_ns; /**< duration of each phase */
	const struct xs_hs_proto *proto; /**< generation of the last attempt (the session's on
	                                      success; what auto negotiation chose) */
	uint32_t attempts;      /**< connections made (1 + retries) */
	uint32_t tried[XS_HS_AUTO_ATTEMPTS]; /**< version numbers sent, in order (rows: xs_hs_proto_get()) */
	char wants[160];        /**< last version rejection: what the server wants ("VERSION 4",
	                             "(handshake=8, scheduler-bindings=6, shaq=..., rts-alloc=...)"),
	                             "" when there was none */
};

/**
 * The logon @p in as it is sent to a server of generation @p p after a
 * negotiation (auto_negotiate, allow_version_retry): fields @p p does not
 * have are cleared (check_worker_count, the check queue capacities, flags),
 * flag bits without a meaning in @p p are cleared (only VERSION 2 has one),
 * and the fields @p p has but @p in leaves 0 get defaults: check_worker_count
 * 1, pack_to_check_worker_capacity = pack_to_worker_capacity,
 * check_worker_to_pack_capacity = worker_to_pack_capacity. The units stay
 * (xs_hs_encode_logon() converts items and VERSION 1's byte sizes).
 */
void xs_hs_logon_for(const struct xs_hs_proto *p, const struct xs_logon *in, struct xs_logon *out);

/** One banking worker's queues. */
struct xs_hs_worker {
	struct xs_spsc pack_to_worker; /**< client: producer; server: consumer */
	struct xs_spsc worker_to_pack; /**< client: consumer; server: producer */
};

/**
 * One check worker's ends of the two shared check queues (VERSION 5 and the
 * SDK generations). The queues are MPMC and shared by every check worker:
 * each worker has its own handle on the same mapping (handles keep
 * per-handle state and are used by one thread at a time).
 */
struct xs_hs_check_worker {
	struct xs_mpmc pack_to_check; /**< server: consumer (PackToCheckWorker / PackToWorker messages) */
	struct xs_mpmc check_to_pack; /**< server: producer (CheckWorkerToPack / WorkerToPack messages) */
};

/** Scheduler (client) side of a session, from xs_hs_connect(). */
struct xs_session {
	const struct xs_hs_proto *proto; /**< generation spoken (row of the protocol table) */
	uint32_t num_check_workers; /**< C: the logon's check_worker_count (SDK); 0 where the
	                                 generation has no check queues; VERSION 5: 0 (the
	                                 validator decides how many check workers it runs) */
	uint8_t has_check_queues;   /**< pack_to_check / check_to_pack are open (VERSION 5, SDK) */
	uint8_t pad_chk_[3];
	struct xs_mpmc pack_to_check; /**< client: producer (descriptor 3) */
	struct xs_mpmc check_to_pack; /**< client: consumer (descriptor 4) */
	int version;              /**< VERSION spoken */
	uint32_t num_workers;     /**< W */
	uint32_t num_allocs;      /**< allocator handles (= logon allocator_handles) */
	struct xs_alloc **allocs; /**< allocs[k] has allocator worker id first + k, first =
	                               xs_hs_client_first_slot() (1 + W; SDK 1 + C + W);
	                               claimed in the claim formats (VERSION 4, 5, SDK) */
	struct xs_spsc tpu_to_pack; /**< consumer of struct xs_tpu_to_pack */
	struct xs_spsc progress;    /**< consumer of struct xs_progress */
	struct xs_hs_worker *workers; /**< [W]: pack_to_worker producer, worker_to_pack consumer */
	pid_t peer_pid;           /**< server credentials (SO_PEERCRED) */
	uid_t peer_uid;
	gid_t peer_gid;
	int peer_pidfd;           /**< pidfd of the server process, taken from the socket
	                               before it was closed (close-on-exec; closed by
	                               xs_session_close()); -1 when the kernel has no
	                               pidfd (then only peer_pid is known) */
	int backend;              /**< enum xs_hs_backend used */
	uint32_t num_objects;     /**< nglobal + 2W: 3 + 2W, 5 + 2W with check queues */
	uint32_t num_sealed;      /**< objects sealed against grow/shrink by the server */
	uint32_t num_huge;        /**< objects backed by huge pages */
	uint8_t *object_state;    /**< [num_objects] XS_SHM_STATE_* per descriptor index */
	size_t allocator_size;    /**< allocator file size */
};

/**
 * Connect to a server, log on, receive and validate the reply, check every
 * object's own header against the generation (shaq format and kind: magic
 * and version word, or for 0.2 / 1.0 files no magic and their version byte;
 * the rts-alloc header word and, in the fixed-index formats, num_workers =
 * 1 + W + H), then join every object (allocator handles: fixed slots
 * first + k or H claims; queues with the roles above; the two MPMC check
 * queues where the generation has them) and return the session. A mismatch
 * names both formats ("descriptor 1 (tpu_to_pack): shaq format 3.0 SPSC,
 * generation 4 expects format 2.0 SPSC"). In the claim generations a success
 * reply with a wrong descriptor count is refused after the H slots were
 * claimed and released again, as upstream. On error nothing stays open,
 * mapped or claimed.
 * @return 0, -ETIMEDOUT (deadline), -XS_EHS_REJECTED / -XS_EHS_VERSION (the
 *   reason is in the report and xs_errmsg()), -XS_EHS_EOF, -XS_EHS_PROTOCOL,
 *   -XS_EHS_ALLOC / -XS_EHS_QUEUE (cause in the report), -XS_ESHM_UNSEALED
 *   (require_sealed), -XS_EHS_LOGON, or -errno (socket errors: -ENOENT,
 *   -ECONNREFUSED, -EPIPE, -ECONNRESET, -ENAMETOOLONG, -ENOMEM ...), -ESRCH
 *   (the server process exited during the handshake: no pidfd could be
 *   taken for it).
 */
int xs_hs_connect(const struct xs_hs_client_opts *opts, const struct xs_logon *logon,
		  struct xs_session **out);

/** Unmap and free a client session, close its peer_pidfd (NULL is fine). */
void xs_session_close(struct xs_session *s);

/* ----------------------------------------------------------------- server */

/** Events the server reports for connections that did not become sessions. */
enum xs_hs_event_kind {
	XS_HS_EV_REJECTED = 1, /**< logon refused; reason sent to the client */
	XS_HS_EV_FAILED = 2,   /**< connection lost / reply not delivered */
	XS_HS_EV_ACCEPT = 3,   /**< accept() itself failed */
};

/** One rejected or failed connection. */
struct xs_hs_event {
	int kind;           /**< enum xs_hs_event_kind */
	int err;            /**< negative code: -XS_EHS_*, -ETIMEDOUT, -errno */
	int reply_err;      /**< error writing the failure frame (0 when it was sent) */
	uint32_t received;  /**< logon bytes received */
	uint64_t conn_id;   /**< sequence number of the connection (1, 2, ...) */
	uint64_t elapsed_ns; /**< from accept to the end */
	pid_t peer_pid;     /**< SO_PEERCRED of the client (0 when unknown) */
	uid_t peer_uid;
	gid_t peer_gid;
	const char *reason; /**< text sent to the client (NUL-terminated; "" when none) */
};

/** Callback for each rejected/failed connection (called from xs_hs_server_serve). */
typedef void (*xs_hs_event_fn)(void *arg, const struct xs_hs_event *ev);

/** A ready-made callback: one line per event on @p file (a FILE *, stderr when NULL). */
void xs_hs_event_log(void *file, const struct xs_hs_event *ev);

/**
 * NUMA placement hook of the server: called for every object file of a
 * session (allocator, tpu_to_pack, progress_tracker, [the two check
 * queues,] then per worker pack_to_worker and worker_to_pack) with its new
 * memfd @p fd already sized
 * to its final @p size bytes and never mapped or written: whatever policy
 * the hook gives the file governs the first touch of each page, by the
 * server or by the client. The hook must not close @p fd, resize it or
 * write to it. It runs on the thread of xs_hs_server_serve(), in line with
 * the handshake (the client is waiting: keep it well under a second).
 *
 * A huge-page attempt that fails is retried on normal pages, so the hook may
 * be called twice for one object (once with a hugetlbfs descriptor).
 * xs_mem_bind_fd_cb() (xsched/topo.h, runtime) is a ready-made hook that
 * binds to one NUMA node.
 *
 * @return 0 (or positive) to go on; a negative code (-errno or -XS_E*,
 *   detail with xs_seterr()) fails the object as any creation error: the
 *   logon is rejected with -XS_EHS_ALLOC / -XS_EHS_QUEUE, the client gets
 *   an "Io; err=..." reason, the detail names the object and quotes the
 *   hook's message.
 */
typedef int (*xs_hs_bind_fn)(int fd, size_t size, void *arg);

/** Server options. Zero-initialise, then set what you need. */
struct xs_hs_server_opts {
	const char *path;         /**< filesystem path to listen on (required) */
	uint32_t version;         /**< VERSION served; 0 = XS_HS_VERSION_DEFAULT */
	uint32_t mode;            /**< socket file mode; 0 = 0600 */
	uint8_t replace_stale;    /**< unlink a stale socket (nobody listening) at path */
	uint8_t check_uid;        /**< accept only peers whose uid is allowed_uid */
	uint8_t force_poll;       /**< poll() path even when io_uring works */
	uint8_t no_seal;          /**< do not seal the memfds (default: seal grow/shrink/seal) */
	uid_t allowed_uid;        /**< with check_uid */
	uint32_t huge;            /**< enum xs_hs_huge (VERSIONs with huge_first only) */
	uint32_t max_conns;       /**< handshakes in flight at once; 0 = 128 */
	uint64_t conn_timeout_ns; /**< per-read timeout and total budget; 0 = XS_HS_TIMEOUT_NS */
	int backlog;              /**< listen() backlog; 0 = 128 */
	xs_hs_event_fn on_event;  /**< optional: each rejected/failed connection */
	void *event_arg;
	xs_hs_bind_fn bind_fn;    /**< optional: place each object before its first touch
	                               (NULL: first-touch placement, as upstream) */
	void *bind_arg;           /**< passed to bind_fn */
	uint32_t check_workers;   /**< VERSION 5: check workers the validator runs (its logon
	                               has no check_worker_count): 1..=64, 0 = 1. Ignored by
	                               the other generations (SDK: the logon's count) */
};

/** Validator (server) side of a session, from xs_hs_server_serve(). */
struct xs_vsession {
	const struct xs_hs_proto *proto; /**< generation spoken (row of the protocol table) */
	uint32_t num_check_workers;   /**< C check workers (SDK: the logon's check_worker_count;
	                                   VERSION 5: the server's own setting); 0 without check queues */
	uint8_t has_check_queues;     /**< VERSION 5, SDK */
	uint8_t pad_chk_[3];
	struct xs_alloc **check_allocs; /**< [C] allocator handles of the check workers (claim formats) */
	struct xs_hs_check_worker *check_workers; /**< [C] each worker's consumer / producer handle */
	int version;                  /**< VERSION spoken */
	uint32_t num_workers;         /**< W */
	uint32_t num_allocs;          /**< the client's allocator_handles */
	struct xs_alloc *tpu_alloc;   /**< allocator worker id 0 (creator) */
	struct xs_alloc **worker_allocs; /**< [W] ids 1..W, sharing tpu_alloc's mapping */
	struct xs_spsc tpu_to_pack;   /**< producer */
	struct xs_spsc progress;      /**< producer */
	struct xs_hs_worker *workers; /**< [W]: pack_to_worker consumer, worker_to_pack producer */
	pid_t peer_pid;               /**< client credentials (SO_PEERCRED) */
	uid_t peer_uid;
	gid_t peer_gid;
	int peer_pidfd;               /**< pidfd of the client process, taken from the socket
	                                   before it was closed (close-on-exec; closed by
	                                   xs_vsession_close()); -1 when the kernel has no
	                                   pidfd, and in sessions made by
	                                   xs_hs_objects_create() */
	int backend;                  /**< enum xs_hs_backend of the server */
	struct xs_logon logon;        /**< the logon as received (flags: XS_LOGON_*) */
	size_t allocator_size;        /**< allocator file size */
	uint32_t num_objects;         /**< nglobal + 2W: 3 + 2W, 5 + 2W with check queues */
	uint32_t num_huge;            /**< objects on huge pages */
	uint32_t num_sealed;          /**< objects sealed */
	uint8_t *object_state;        /**< [num_objects] XS_SHM_STATE_* per descriptor index */
};

struct xs_hs_server;

/**
 * Bind and listen on opts->path (mode 0600 unless told), set up io_uring (or
 * the poll path). A live socket at the path is never taken over
 * (-EADDRINUSE); a stale one (nothing listening) is replaced only with
 * replace_stale, otherwise -EADDRINUSE too; a path that is not a socket is
 * never removed (-EEXIST).
 */
int xs_hs_server_listen(const struct xs_hs_server_opts *opts, struct xs_hs_server **out);

/**
 * Serve handshakes, several at once, until one succeeds (0, *out set), the
 * absolute CLOCK_MONOTONIC @p deadline_ns passes (-ETIMEDOUT; 0 = none), or
 * xs_hs_server_stop() is called (-XS_EHS_STOPPED). Connections still in
 * progress carry on in the next call. Every rejected/failed connection is
 * reported to opts->on_event. One thread at a time.
 */
int xs_hs_server_serve(struct xs_hs_server *srv, uint64_t deadline_ns, struct xs_vsession **out);

/** Make a running (or the next) xs_hs_server_serve() return -XS_EHS_STOPPED.
 *  Thread-safe and async-signal-safe. */
void xs_hs_server_stop(struct xs_hs_server *srv);

/** enum xs_hs_backend the server uses. */
int xs_hs_server_backend(const struct xs_hs_server *srv);

/** io_uring setup error that made the server use poll() (0 if none or forced). */
int xs_hs_server_uring_err(const struct xs_hs_server *srv);

/** Counters: connections accepted, sessions made, connections rejected/failed. */
void xs_hs_server_stats(const struct xs_hs_server *srv, uint64_t *accepted, uint64_t *sessions,
			uint64_t *rejected);

/** Close the listener, abort handshakes in flight, unlink the socket path
 *  (only if it is still ours). NULL is fine. */
void xs_hs_server_close(struct xs_hs_server *srv);

/** Unmap and free a validator session, close its peer_pidfd (NULL is fine). */
void xs_vsession_close(struct xs_vsession *vs);

/**
 * Create the objects of a session exactly as the upstream server of the
 * generation @p version does for @p logon (already validated), in its
 * order: allocator (the row's format; fixed: num_workers 1 + W + H, own
 * handles 0 and 1..W; claim: min_workers 1 + W (+ C) + H, slot 0 claimed,
 * SDK check workers 1..C, each execution worker its slot right before its
 * queues), tpu_to_pack, progress_tracker, [pack_to_check_worker,
 * check_worker_to_pack: MPMC, one handle pair per check worker], then per
 * worker pack_to_worker / worker_to_pack, with the server's roles and the
 * row's shaq format, element sizes and sizing. VERSION 5 logons have no
 * check_worker_count: @p logon->check_worker_count carries the server's
 * own setting (0 = 1); its check workers' allocator slots (not in the spec)
 * are claimed from the top of the slot table. On success @p fds receives
 * the nglobal + 2W descriptors in wire order (the caller sends then closes
 * them).
 * @param reason  receives upstream's rejection text on failure ("Rts alloc;
 *                err=...", "Shaq; err=...")
 * @return 0, -XS_EHS_ALLOC, -XS_EHS_QUEUE or -errno.
 */
int xs_hs_objects_create(uint64_t version, const struct xs_logon *logon, uint32_t huge,
			 int seal, struct xs_vsession **out, int *fds, char *reason,
			 size_t reason_cap);

/**
 * As xs_hs_objects_create(), with a NUMA placement hook (may be NULL): each
 * object file is sized, given to @p bind_fn (see xs_hs_bind_fn), and only
 * then mapped and initialised. A hook failure fails that object (after a
 * huge-page attempt: normal pages are tried). Nothing stays open or mapped
 * on failure.
 */
int xs_hs_objects_create_bound(uint64_t version, const struct xs_logon *logon, uint32_t huge,
			       int seal, xs_hs_bind_fn bind_fn, void *bind_arg,
			       struct xs_vsession **out, int *fds, char *reason, size_t reason_cap);

/** Forget that huge pages failed in this process (AUTO policy tries again). */
void xs_hs_huge_reset(void);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_HANDSHAKE_H */
