/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched guard: defences against a hostile or dying peer.
 *
 * The validator and the scheduler share raw memory. This module makes sure a
 * bug or an attacker on one side cannot crash, hang or corrupt the other, and
 * that a dead peer is noticed at once. Three parts:
 *
 *  1. Peer death (xs_peer_*). A watcher thread holds a pidfd for every
 *     watched peer (pid from SO_PEERCRED) and sleeps in epoll_wait. When a
 *     peer exits the kernel wakes it; it sets the peer's dead flag (alone in
 *     its cache line) and calls the application's callback. Lightweight
 *     threads test the flag with one acquire load: no system call on the hot
 *     path. Without pidfd_open (kernels before 5.3, ENOSYS; or a seccomp
 *     filter, EPERM) the watcher falls back to polling /proc/<pid>/stat every
 *     few milliseconds, recognising pid reuse by the process start time;
 *     XS_PEER_REQUIRE_PIDFD turns that fallback into an error instead.
 *
 *  2. Message validation (xs_msg_check_*). Every message a peer writes into a
 *     queue, and every array it points to, is checked before use: offsets and
 *     lengths must stay inside the allocator file and start at an allocation
 *     slot (through the allocator's xs_alloc_check), batches hold 1..64
 *     transactions, response counts match the batch, codes, tags and flags
 *     are ones the protocol defines. Arrays the peer can still write to are
 *     copied into caller memory first and the copy is what is checked and
 *     used, so the peer cannot change a value between check and use.
 *
 *  3. Ownership ledger (xs_ledger_*). Two bits per 256-byte unit of the
 *     allocator file record what this process holds: never held, held, lent
 *     to the peer (a batch array sent with a request), or released. Taking an
 *     offset already held, freeing one twice or freeing one never held, and a
 *     response naming a batch that is not out on loan are each reported
 *     instead of reaching the allocator.
 *
 * Errors: every failure returns a distinct negative code and records the
 * offending values in xs_errmsg(): -XS_EMSG_* (block 4500, text from
 * xs_strerror()) for what this module decides, the allocator's -XS_EA_*
 * (outside the file, not at a slot, past the slot ...) for a reference the
 * allocator refused, the detail naming the field. Nothing here aborts, and
 * nothing reads memory a check has not cleared.
 *
 * Where it sits in a session (MESSAGES.md §5): the scheduler (pack) checks
 * each TpuToPack / Progress / WorkerToPack it pops and keeps a ledger over
 * the allocator file; the validator side checks each PackToWorker; both
 * watch the other process through the pidfd the handshake kept
 * (xs_session.peer_pidfd / xs_vsession.peer_pidfd, xs_peer_watch_pidfd())
 * and their lightweight threads stop when xs_peer_alive() turns false. Queue
 * counters are validated by the queues themselves (sticky -XS_EQ_CORRUPT),
 * double and stray remote frees by the allocator owner's bounded clean.
 */
#ifndef XS_GUARD_H
#define XS_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xsched/common.h"
#include "xsched/msg.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every declaration up to the matching pop is public: exported from
 * libxsched.so, which is built with -fvisibility=hidden (README "ABI"). */
#pragma GCC visibility push(default)

/* ------------------------------------------------------------ error codes */

/** Guard / message-validation error numbers (returned negated). */
enum xs_error_msg {
	/* message fields */
	XS_EMSG_BATCH_EMPTY = XS_E_MSG_BASE, /**< batch with 0 transactions */
	XS_EMSG_BATCH_SIZE,    /**< batch with more than 64 transactions */
	XS_EMSG_FLAGS,         /**< flag bits the protocol does not define */
	XS_EMSG_LEADER_STATE,  /**< ProgressMessage.leader_state not a defined value */
	XS_EMSG_PROGRESS,      /**< ProgressMessage.current_slot_progress above 100 % */
	XS_EMSG_PROCESSED,     /**< unknown WorkerToPackMessage.processed_code */
	XS_EMSG_TAG,           /**< unknown response tag, or not the kind of the request */
	XS_EMSG_COUNT,         /**< response count differs from the batch's transaction count */
	XS_EMSG_REASON,        /**< unknown not_included_reason in an execution response */
	XS_EMSG_CHECK_FLAGS,   /**< undefined bits in a check response's flag bytes */
	XS_EMSG_PUBKEYS,       /**< resolved_pubkeys count that cannot fit one allocation */
	XS_EMSG_DUP,           /**< one allocation referenced twice by a message */
	XS_EMSG_MISMATCH,      /**< echoed batch differs from the request that was sent */
	XS_EMSG_VERSION,       /**< handshake VERSION / bindings version (or its message type) unknown */
	/* ownership ledger */
	XS_EMSG_NOT_SLOT,      /**< offset outside the ledger's range or not 256-byte aligned */
	XS_EMSG_OWNED_TWICE,   /**< the peer handed over an allocation this side already holds */
	XS_EMSG_DOUBLE_FREE,   /**< free of an allocation already released */
	XS_EMSG_NOT_OWNED,     /**< free (or lend) of an offset this side never held */
	XS_EMSG_LENT,          /**< free (or lend) of an allocation still lent to the peer */
	XS_EMSG_NOT_LENT,      /**< the peer returned an allocation that was not lent to it */
	/* peer liveness */
	XS_EMSG_NO_PIDFD,      /**< pidfd_open unavailable and XS_PEER_REQUIRE_PIDFD given */
	XS_EMSG_PEER_BUSY,     /**< the peer handle is already watched */
	XS_EMSG_PEER_UNKNOWN,  /**< the peer handle is not watched by this watcher */
};

/* =========================================================== peer death */

struct xs_peer;
struct xs_peer_watcher;

/**
 * Called once per peer, on the watcher thread, right after the peer's dead
 * flag is set. It may call xs_peer_unwatch() (on any peer, itself included)
 * and any async-signal-safe or non-blocking function (stop reactors, write an
 * eventfd); it must not destroy the watcher. Keep it short: other peers'
 * notifications wait for it.
 */
typedef void (*xs_peer_fn)(void *arg, struct xs_peer *peer);

/* Flags for xs_peer_watcher_create(). */
#define XS_PEER_REQUIRE_PIDFD (1u << 0) /**< no polling fallback: fail with -XS_EMSG_NO_PIDFD */
#define XS_PEER_FORCE_POLL    (1u << 1) /**< always poll /proc (tests; no pidfd at all) */

/** Default polling period of the fallback, in milliseconds. */
#define XS_PEER_POLL_MS_DEFAULT 2u

/** How a peer is watched (xs_peer_method()). */
enum xs_peer_method {
	XS_PEER_NONE = 0,  /**< not watched */
	XS_PEER_PIDFD = 1, /**< pidfd in the watcher's epoll set: woken by the kernel at exit */
	XS_PEER_POLL = 2,  /**< fallback: /proc/<pid>/stat checked every poll period */
};

/**
 * One watched peer. The caller provides the memory (static, embedded in a
 * session, or heap), zero-initialised before its first watch, and keeps it
 * alive until xs_peer_unwatch() or xs_peer_watcher_destroy(). The first
 * cache line holds only the dead flag: it is written once, by the watcher,
 * so lightweight threads on every core keep it in their caches and test it
 * for the price of one load. Every other field belongs to the watcher; read
 * them through the getters.
 *
 * Note on latency: the kernel reports an exit (pidfd readable, waitid, the
 * parent's SIGCHLD alike) only after it has torn down the process's memory,
 * so a peer with a large private footprint is noticed that much later; no
 * mechanism sees a SIGKILLed process earlier.
 */
struct xs_peer {
	uint32_t dead; /**< 0 while alive, 1 once the peer has exited (atomic) */
	uint8_t pad0_[XS_CACHE_LINE - sizeof(uint32_t)];
	/* cold: owned by the watcher, under its lock */
	uint64_t dead_ns;    /**< CLOCK_MONOTONIC ns at detection (valid once dead) */
	uint64_t start_time; /**< /proc starttime of the process (polling; pid-reuse check) */
	uint64_t id;         /**< registration id (epoll cookie), 0 when not watched */
	struct xs_peer_watcher *w;
	struct xs_peer *next;
	xs_peer_fn fn;
	void *arg;
	pid_t pid;
	int pidfd;      /**< -1 when polled */
	uint8_t method; /**< enum xs_peer_method */
	uint8_t fired;  /**< callback delivered (or being delivered) */
	uint8_t pad1_[6];
} XS_CACHE_ALIGNED;

/**
 * Start a watcher: one thread ("xs-peerwatch", all signals blocked) asleep in
 * epoll_wait until a watched peer exits or the set changes. The thread
 * inherits the caller's CPU affinity: create the watcher from a housekeeping
 * thread, so that its wake-up does not queue behind a busy-polling reactor
 * on the same core (on a 2-core box that costs up to a scheduler tick).
 * @param flags   XS_PEER_REQUIRE_PIDFD, XS_PEER_FORCE_POLL
 * @param poll_ms fallback polling period (0: XS_PEER_POLL_MS_DEFAULT)
 * @return 0, or -errno (thread, epoll or eventfd creation failed).
 */
int xs_peer_watcher_create(struct xs_peer_watcher **out, unsigned flags, unsigned poll_ms);

/** Stop the thread, unwatch every remaining peer (no callback), free. NULL is a no-op. */
void xs_peer_watcher_destroy(struct xs_peer_watcher *w);

/**
 * Watch process @p pid (a thread-group id, e.g. from SO_PEERCRED). @p fn
 * (may be NULL) is called once, on the watcher thread, after the dead flag
 * is set; that includes a peer already gone when this is called (the flag is
 * then set before this returns and the callback follows asynchronously).
 * Between learning a pid and this call, a pid could in theory be recycled:
 * prefer xs_peer_watch_socket() while the connection is still open, or
 * xs_peer_watch_pidfd() with a session's peer_pidfd.
 * @return 0, -EINVAL (pid <= 0), -XS_EMSG_PEER_BUSY (@p p already watched),
 *         -XS_EMSG_NO_PIDFD (no pidfd and XS_PEER_REQUIRE_PIDFD), -errno.
 */
int xs_peer_watch(struct xs_peer_watcher *w, struct xs_peer *p, pid_t pid, xs_peer_fn fn,
		  void *arg);

/**
 * Watch the process at the other end of the connected Unix socket @p sock.
 * Race-free with SO_PEERPIDFD (Linux 6.5+): the kernel hands over a pidfd for
 * the very process that connected. Older kernels: SO_PEERCRED then as
 * xs_peer_watch(). The socket is not kept (it may be closed right after).
 */
int xs_peer_watch_socket(struct xs_peer_watcher *w, struct xs_peer *p, int sock, xs_peer_fn fn,
			 void *arg);

/**
 * Watch the process a pidfd refers to, e.g. xs_session.peer_pidfd or
 * xs_vsession.peer_pidfd, which the handshake took from the socket while it
 * was open: race-free, whatever happened to the pid since. The watcher
 * duplicates @p pidfd (close-on-exec); the caller keeps its own descriptor
 * and may close it at any time. xs_peer_pid() gives the pid the kernel
 * reports for it (0 when unknown). With XS_PEER_FORCE_POLL the descriptor
 * is polled every period instead of waking the watcher.
 * @return 0, -EBADF (@p pidfd < 0), -XS_EMSG_PEER_BUSY, -errno.
 */
int xs_peer_watch_pidfd(struct xs_peer_watcher *w, struct xs_peer *p, int pidfd, xs_peer_fn fn,
			void *arg);

/**
 * Stop watching @p p. When it returns the callback is not running and will
 * not run for @p p (unless called from that very callback), its pidfd is
 * closed and @p p may be freed. The dead flag keeps its value.
 * @return 0 or -XS_EMSG_PEER_UNKNOWN.
 */
int xs_peer_unwatch(struct xs_peer_watcher *w, struct xs_peer *p);

/**
 * Block until @p p is dead or @p timeout_ms passed (-1: no limit). For
 * shutdown paths and tests; lightweight threads use xs_peer_alive(). Must
 * not race with xs_peer_unwatch() / xs_peer_watcher_destroy() of @p p.
 * @return 1 dead, 0 timed out, -XS_EMSG_PEER_UNKNOWN (never watched).
 */
int xs_peer_wait(struct xs_peer *p, int timeout_ms);

/** Watched pid (0 when not watched). */
pid_t xs_peer_pid(const struct xs_peer *p);
/** enum xs_peer_method of @p p. */
int xs_peer_method(const struct xs_peer *p);
/** CLOCK_MONOTONIC ns at which the watcher saw the exit, 0 while alive. */
uint64_t xs_peer_dead_ns(const struct xs_peer *p);

/**
 * Hot path: is the peer still alive? One acquire load of a line nobody
 * writes until the peer dies. Ordering: pairs with the watcher's release
 * store of the flag, so dead_ns and everything the watcher wrote before it
 * are visible once this returns 0.
 */
XS_INLINE int xs_peer_alive(const struct xs_peer *p)
{
	return !__atomic_load_n(&p->dead, __ATOMIC_ACQUIRE);
}

/* ==================================================== message validation */
/*
 * Rules common to every validator:
 *  - @p m is a private copy of the queue message (xs_spsc_try_pop(), or a
 *    memcpy out of the slot), never the slot itself: the peer may rewrite
 *    the slot after the check.
 *  - A reference into the allocator file (offset + length) is accepted only
 *    when xs_alloc_check() accepts it: it starts at an allocation slot of an
 *    assigned slab and runs no further than the slot. Its failure is returned
 *    as is: -XS_EA_OFFSET (outside the slabs of the file), -XS_EA_NOT_SLOT
 *    (not the start of a slot), -XS_EA_LENGTH (past the slot),
 *    -XS_EA_UNASSIGNED (slab never handed out), -XS_EA_CORRUPT (bad class in
 *    the slab metadata); xs_errmsg() names the field and index.
 *  - Arrays the peer can still write (batch arrays, response arrays) are
 *    copied into caller memory before they are checked; the caller then
 *    uses the copy only.
 *  - Nothing is freed, taken or modified: the ledger steps are separate
 *    (xs_guard_*), so a refused message leaves every state as it was.
 * A slab's class can be rewritten by the peer at any time; the allocator
 * guarantees that a checked region stays inside its slab, hence inside the
 * mapping, so at worst a hostile peer makes us read its own garbage.
 */

struct xs_alloc;

/** Largest resolved_pubkeys count: 32-byte keys in one 4096-byte allocation. */
#define XS_MAX_PUBKEYS (4096u / 32u)

/**
 * ProgressMessage (the 48-byte struct of VERSION 1 - 3): leader_state
 * defined for @p hs_version (VERSION 1 and 2: 0 or 1; VERSION 3: 0, 1 or
 * 2), current_slot_progress <= 100. VERSION 4 and later have other
 * layouts: xs_msg_check_progress_b().
 * @return 0, -XS_EMSG_LEADER_STATE, -XS_EMSG_PROGRESS, -XS_EMSG_VERSION.
 */
int xs_msg_check_progress(const struct xs_progress *m, uint32_t hs_version);

/**
 * TpuToPackMessage (pack side): the transaction region is a checked
 * allocation of @p a, flags hold only defined bits (XS_TPU_FLAG_*).
 * @param tx  receives the transaction bytes on success (may be NULL)
 * @return 0, -XS_EMSG_FLAGS or a region error (see above).
 */
int xs_msg_check_tpu(const struct xs_alloc *a, const struct xs_tpu_to_pack *m,
		     const uint8_t **tx);

/**
 * PackToWorkerMessage (validator side): flags hold a kind bit plus only the
 * option bits of that kind; 1..64 transactions; the batch array is a checked
 * allocation of 16 * n bytes; it is copied into @p txs and every copied
 * region is a checked allocation; no allocation appears twice (not two
 * transactions, not a transaction and the batch array).
 * @return n (1..64), -XS_EMSG_FLAGS, -XS_EMSG_BATCH_EMPTY,
 *         -XS_EMSG_BATCH_SIZE, -XS_EMSG_DUP, or a region error.
 */
int xs_msg_check_pack_to_worker(const struct xs_alloc *a, const struct xs_pack_to_worker *m,
				struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH]);

/** A checked WorkerToPackMessage (xs_msg_check_worker_to_pack()). ~4.2 KiB. */
struct xs_w2p_view {
	uint64_t batch_offset;     /**< the batch array (pack's own allocation) */
	uint64_t responses_offset; /**< the response array (valid when has_responses) */
	uint32_t num;              /**< transactions in the batch = responses */
	uint8_t processed_code;    /**< XS_PROCESSED, XS_PROCESSED_INVALID, XS_MAX_WORKING_SLOT_EXCEEDED */
	uint8_t has_responses;     /**< processed_code == XS_PROCESSED */
	uint8_t tag;               /**< XS_RESP_EXECUTION or XS_RESP_CHECK (with responses) */
	uint8_t num_pubkeys_arrays; /**< check responses whose resolved_pubkeys must be freed */
	/** Checked private copy of the responses (tag says which member). */
	union {
		struct xs_exec_resp exec[XS_MAX_TXS_PER_BATCH];
		struct xs_check_resp check[XS_MAX_TXS_PER_BATCH];
	} resp;
};

/**
 * WorkerToPackMessage (pack side): known processed_code; the echoed batch
 * has 1..64 transactions and its array is a checked allocation of 16 * n
 * bytes; with @p sent (the request as pack sent it; NULL when not kept) the
 * echoed batch must be that batch and the tag its kind. When processed:
 * known tag, response count == the batch's, the response array a checked
 * allocation of n * 24 (execution) or n * 64 (check) bytes, copied into
 * @p out and checked there: execution not_included_reason known; check
 * flag bytes with defined bits only, and where resolve_flags has
 * XS_RESOLVE_PERFORMED and num_pubkeys != 0, a resolved_pubkeys array of at
 * most 128 keys that is a checked allocation. No allocation appears twice
 * (batch array, response array, pubkeys arrays).
 * @return 0, -XS_EMSG_PROCESSED, -XS_EMSG_BATCH_EMPTY, -XS_EMSG_BATCH_SIZE,
 *         -XS_EMSG_MISMATCH, -XS_EMSG_TAG, -XS_EMSG_COUNT, -XS_EMSG_REASON,
 *         -XS_EMSG_CHECK_FLAGS, -XS_EMSG_PUBKEYS, -XS_EMSG_DUP, or a region
 *         error.
 */
int xs_msg_check_worker_to_pack(const struct xs_alloc *a, const struct xs_worker_to_pack *m,
				const struct xs_pack_to_worker *sent, struct xs_w2p_view *out);

/* ---------------------------------------------- every bindings version */
/*
 * The same rules for the messages of any bindings version (enum
 * xs_bindings_id, xsched/msg.h; a session uses xs_hs_proto.bindings), over
 * the raw message bytes: @p m points to a private copy of one queue element
 * of the version's type (struct xs_progress, xs_v4_progress, xs_v6_progress;
 * xs_pack_to_worker, xs_v1_pack_to_worker, xs_v6_pack_to_exec,
 * xs_v6_pack_to_check; xs_worker_to_pack, xs_v1_worker_to_pack,
 * xs_v6_exec_to_pack, xs_v6_check_to_pack). What each version defines is in
 * its struct xs_bindings: VERSION 1 accepts flags exactly 0 (execute) or 2
 * (resolve), processed 0 / 1 and tag 1 = Resolved (success 0 / 1); VERSION 2
 * - 5 a kind bit plus that kind's option bits, processed_code 0 / 1 / 2,
 * tag 1 = CheckResponse; bindings 6 its own execution and check flag sets and
 * untagged answers whose queue gives the kind. The functions above are these
 * with XS_BIND_V2 (progress: the VERSION given).
 */

/**
 * ProgressMessage of @p bindings: leader_state at most the version's
 * largest (1 for VERSION 1 and 2, else 2), current_slot_progress <= 100.
 * @return 0, -XS_EMSG_LEADER_STATE, -XS_EMSG_PROGRESS, -XS_EMSG_VERSION.
 */
int xs_msg_check_progress_b(unsigned bindings, const void *m);

/** TpuToPackMessage of @p bindings (the same bytes in every version):
 *  as xs_msg_check_tpu(). */
int xs_msg_check_tpu_b(unsigned bindings, const struct xs_alloc *a, const struct xs_tpu_to_pack *m,
		       const uint8_t **tx);

/**
 * A request (validator side): @p type XS_MSG_PACK_TO_WORKER or
 * XS_MSG_PACK_TO_CHECK. Flags: the kind (from the kind bits, or from the
 * queue in bindings 6) and only that kind's bits; 1..64 transactions; the
 * batch array a checked allocation, copied into @p txs, every copied region
 * a checked allocation; no allocation twice.
 * @param kind  receives enum xs_req_kind (may be NULL)
 * @return n (1..64), -XS_EMSG_VERSION (unknown bindings, or a type it does
 *         not have), -XS_EMSG_FLAGS, -XS_EMSG_BATCH_EMPTY,
 *         -XS_EMSG_BATCH_SIZE, -XS_EMSG_DUP, or a region error.
 */
int xs_msg_check_request(unsigned bindings, unsigned type, const struct xs_alloc *a, const void *m,
			 struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH], unsigned *kind);

/** A checked answer of any bindings version (xs_msg_check_response()). ~6.7 KiB. */
struct xs_resp_view {
	uint64_t batch_offset;     /**< the batch array (pack's own allocation) */
	uint64_t responses_offset; /**< the response array (valid when has_responses) */
	uint32_t num;              /**< transactions in the batch = responses */
	uint8_t bindings;          /**< enum xs_bindings_id */
	uint8_t type;              /**< enum xs_msg_type of the answer */
	uint8_t status;            /**< enum xs_resp_status of code */
	uint8_t code;              /**< processed (VERSION 1) / processed_code as sent */
	uint8_t has_responses;     /**< status == XS_RESP_ST_PROCESSED */
	uint8_t kind;              /**< enum xs_req_kind of the responses (with responses) */
	uint16_t elem_size;        /**< bytes per response (24, 32, 40, 64 or 96) */
	uint32_t num_pubkeys_arrays; /**< entries of pubkeys[] */
	uint64_t pubkeys[XS_MAX_TXS_PER_BATCH]; /**< resolved_pubkeys arrays pack must free */
	/** Checked private copy of the responses (bindings + kind say which member). */
	union {
		uint8_t raw[XS_MAX_TXS_PER_BATCH * 96];
		struct xs_exec_resp exec[XS_MAX_TXS_PER_BATCH];         /**< VERSION 1, 2 */
		struct xs_v3_exec_resp exec3[XS_MAX_TXS_PER_BATCH];     /**< VERSION 3 - 5, bindings 6 */
		struct xs_v1_resolved resolved[XS_MAX_TXS_PER_BATCH];   /**< VERSION 1, RESOLVE */
		struct xs_check_resp check[XS_MAX_TXS_PER_BATCH];       /**< VERSION 2 - 5 */
		struct xs_v6_check_resp check6[XS_MAX_TXS_PER_BATCH];   /**< bindings 6 */
	} resp;
};

/**
 * An answer (pack side): @p type XS_MSG_WORKER_TO_PACK or
 * XS_MSG_CHECK_TO_PACK. Known processed code; the echoed batch has 1..64
 * transactions and its array is a checked allocation; with @p sent (the
 * request as pack sent it, of the matching request type; NULL when not
 * kept) the echoed batch must be that batch and the responses its kind.
 * When processed: a known tag (tagged versions), response count == the
 * batch's, the response array a checked allocation of n * the version's
 * response size, copied into @p out and checked there: not_included_reason
 * defined by the version; check flag bytes with defined bits only
 * (VERSION 1: success 0 or 1); every resolved_pubkeys array to free
 * (VERSION 1: num_pubkeys != 0; later: resolve PERFORMED and num_pubkeys !=
 * 0) at most 128 keys and a checked allocation, listed in out->pubkeys. No
 * allocation appears twice.
 * @return 0, -XS_EMSG_VERSION, -XS_EMSG_PROCESSED, -XS_EMSG_BATCH_EMPTY,
 *         -XS_EMSG_BATCH_SIZE, -XS_EMSG_MISMATCH, -XS_EMSG_TAG,
 *         -XS_EMSG_COUNT, -XS_EMSG_REASON, -XS_EMSG_CHECK_FLAGS,
 *         -XS_EMSG_PUBKEYS, -XS_EMSG_DUP, or a region error.
 */
int xs_msg_check_response(unsigned bindings, unsigned type, const struct xs_alloc *a, const void *m,
			  const void *sent, struct xs_resp_view *out);

/* ====================================================== ownership ledger */
/*
 * Every allocation of an rts-alloc file starts at slabs_offset + k * 256
 * (slabs are slab-size aligned, classes are multiples of 256), so one entry
 * per 256-byte unit names every possible allocation. Entries are 2 bits, 32
 * per 64-bit word; a 1 GiB allocator file costs a 1 MiB ledger.
 *
 * States and the transitions the API allows:
 *
 *     NEVER --take--> HELD --release--> RELEASED --take--> HELD ...
 *                      | ^
 *                 lend | | unlend (the peer gave it back)
 *                      v |
 *                      LENT
 *
 * take:    this side now owns the allocation (it allocated it, or the peer
 *          transferred it: a TpuToPack transaction, a response array ...).
 *          HELD or LENT already -> -XS_EMSG_OWNED_TWICE.
 * release: this side is about to free it. RELEASED -> -XS_EMSG_DOUBLE_FREE,
 *          NEVER -> -XS_EMSG_NOT_OWNED, LENT -> -XS_EMSG_LENT.
 * lend:    sent to the peer without transfer (a batch array in a
 *          PackToWorker request). Only from HELD.
 * unlend:  the peer gave it back (a WorkerToPack response echoing the batch).
 *          Not LENT -> -XS_EMSG_NOT_LENT (a forged or replayed response).
 *
 * A refused transition changes nothing, so the allocator never sees the bad
 * free. Each transition is one compare-and-swap on the entry's word: threads
 * of one process may move different allocations concurrently.
 */

#define XS_LEDGER_UNIT 256u /**< rts-alloc's smallest size class */

enum xs_ledger_state {
	XS_LEDGER_NEVER = 0,
	XS_LEDGER_HELD = 1,
	XS_LEDGER_LENT = 2,
	XS_LEDGER_RELEASED = 3,
};

/** Ledger operations (for messages and the fast-path helper). */
enum xs_ledger_op {
	XS_LEDGER_TAKE = 0,
	XS_LEDGER_RELEASE = 1,
	XS_LEDGER_LEND = 2,
	XS_LEDGER_UNLEND = 3,
};

/** A ledger over [base, end) of one allocator file. Process-local memory. */
struct xs_ledger {
	uint64_t *words; /**< 2 bits per unit (atomic words) */
	uint64_t base;   /**< first tracked offset (the allocator's slabs_offset) */
	uint64_t end;    /**< one past the last tracked offset (the file size) */
	size_t nwords;
};

/**
 * Cover offsets [@p base, @p end): base must be a multiple of 256 and
 * below end. Typically base = slabs_offset and end = file size of the
 * allocator (xs_ledger_init_alloc()). All entries start NEVER.
 * @return 0, -EINVAL or -ENOMEM.
 */
int xs_ledger_init(struct xs_ledger *l, uint64_t base, uint64_t end);

/** Free the entries. Safe on a zeroed or finished ledger. */
void xs_ledger_fini(struct xs_ledger *l);

/** Current state of @p off, or -XS_EMSG_NOT_SLOT when it names no unit. */
int xs_ledger_state(const struct xs_ledger *l, uint64_t off);

/** Number of entries in @p state (a scan; for statistics and leak checks). */
size_t xs_ledger_count(const struct xs_ledger *l, enum xs_ledger_state state);

/* cold: records the detailed message and returns the error */
int xs__ledger_fail(const struct xs_ledger *l, uint64_t off, int state, enum xs_ledger_op op);

/**
 * Move @p off from a state in @p from_mask (bit per state) to @p to.
 * Ordering: Relaxed on the load and the CAS. The word only records states; a
 * transition needs nothing but the atomicity of the CAS (all transitions of
 * one word are totally ordered by its modification order). The allocation's
 * bytes are published by the allocator and the queues, not by the ledger.
 */
XS_INLINE int xs__ledger_move(struct xs_ledger *l, uint64_t off, unsigned from_mask, unsigned to,
			      enum xs_ledger_op op)
{
	uint64_t rel = off - l->base, old, nw, *wp;
	unsigned sh, st;

	if (XS_UNLIKELY(off < l->base || off >= l->end || (rel & (XS_LEDGER_UNIT - 1))))
		return xs__ledger_fail(l, off, -1, op);
	rel /= XS_LEDGER_UNIT;
	wp = &l->words[rel / 32];
	sh = (unsigned)(rel % 32) * 2;
	old = __atomic_load_n(wp, __ATOMIC_RELAXED);
	do {
		st = (unsigned)(old >> sh) & 3u;
		if (XS_UNLIKELY(!(from_mask & (1u << st))))
			return xs__ledger_fail(l, off, (int)st, op);
		nw = (old & ~(3ull << sh)) | ((uint64_t)to << sh);
	} while (!__atomic_compare_exchange_n(wp, &old, nw, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 0;
}

/** NEVER/RELEASED -> HELD: this side now owns @p off. */
XS_INLINE int xs_ledger_take(struct xs_ledger *l, uint64_t off)
{
	return xs__ledger_move(l, off, (1u << XS_LEDGER_NEVER) | (1u << XS_LEDGER_RELEASED),
			       XS_LEDGER_HELD, XS_LEDGER_TAKE);
}

/** HELD -> RELEASED: call right before freeing @p off; free only on 0. */
XS_INLINE int xs_ledger_release(struct xs_ledger *l, uint64_t off)
{
	return xs__ledger_move(l, off, 1u << XS_LEDGER_HELD, XS_LEDGER_RELEASED, XS_LEDGER_RELEASE);
}

/** HELD -> LENT: @p off goes to the peer inside a request, ownership kept. */
XS_INLINE int xs_ledger_lend(struct xs_ledger *l, uint64_t off)
{
	return xs__ledger_move(l, off, 1u << XS_LEDGER_HELD, XS_LEDGER_LENT, XS_LEDGER_LEND);
}

/** LENT -> HELD: the peer handed @p off back. */
XS_INLINE int xs_ledger_unlend(struct xs_ledger *l, uint64_t off)
{
	return xs__ledger_move(l, off, 1u << XS_LEDGER_LENT, XS_LEDGER_HELD, XS_LEDGER_UNLEND);
}

/** Cover the slabs of allocator @p a: [slabs_offset, slabs_offset + num_slabs * slab_size). */
int xs_ledger_init_alloc(struct xs_ledger *l, const struct xs_alloc *a);

/* =========================================== ledger + allocator together */
/*
 * The steps of the ownership flow (MESSAGES.md §5) on the scheduler side,
 * each a validated message plus ledger transitions that are all applied or
 * none (rolled back on the first refusal).
 */

/** Pack allocated @p off itself (a batch array): record it as held. */
XS_INLINE int xs_guard_allocated(struct xs_ledger *l, uint64_t off)
{
	return xs_ledger_take(l, off);
}

/**
 * A checked TpuToPack message hands the transaction over: take it.
 * @return 0 or -XS_EMSG_OWNED_TWICE (the peer sent an allocation we hold).
 */
int xs_guard_accept_tpu(struct xs_ledger *l, const struct xs_tpu_to_pack *m);

/** Pack sends request @p m: lend its batch array (HELD -> LENT). */
int xs_guard_lend_batch(struct xs_ledger *l, const struct xs_pack_to_worker *m);

/**
 * A checked WorkerToPack response: the batch array comes back (LENT ->
 * HELD; -XS_EMSG_NOT_LENT for a forged or replayed response), the response
 * array and every pubkeys array to free are taken (-XS_EMSG_OWNED_TWICE).
 * Then free the batch's transactions from pack's own record of the batch:
 * the array in the file is writable by the peer, which could name other
 * allocations there (each free still goes through xs_guard_free()).
 */
int xs_guard_accept_w2p(struct xs_ledger *l, const struct xs_w2p_view *v);

/** Pack sends request @p m (of @p bindings / @p type, as
 *  xs_msg_check_request()): lend its batch array (HELD -> LENT). */
int xs_guard_lend_request(struct xs_ledger *l, unsigned bindings, unsigned type, const void *m);

/** xs_guard_accept_w2p() for an answer of any bindings version: the batch
 *  comes back, the response array and out->pubkeys[] are taken, all or
 *  nothing. */
int xs_guard_accept_resp(struct xs_ledger *l, const struct xs_resp_view *v);

/**
 * Free @p off through allocator handle @p a, after the ledger agrees
 * (HELD -> RELEASED): a double free, a free of something never held or
 * still lent is refused before the allocator sees it. If the allocator
 * then refuses the offset (its metadata rewritten by the peer) the entry
 * stays RELEASED: the allocation is lost, not freed twice.
 * @return 0, a ledger error, or the allocator's error.
 */
int xs_guard_free(struct xs_ledger *l, struct xs_alloc *a, uint64_t off);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_GUARD_H */
