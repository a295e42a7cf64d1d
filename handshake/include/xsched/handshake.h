/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scheduler-bindings handshake: the Unix-socket meeting of an external
 * scheduler ("pack", the client) and the Agave validator (the server), byte
 * compatible with agave_scheduling_utils::handshake, protocol VERSION 1
 * (agave-scheduling-utils 3.1.x, shaq 0.2.0 queues, byte-size logon) and
 * VERSION 2 (agave master Nov 2025, shaq 1.0.x queues, capacity logon with
 * flags, huge pages first). See spec/HANDSHAKE.md.
 *
 * Wire protocol (both versions):
 *   client -> server  1024-byte logon: u64 VERSION, ClientLogon, zeros
 *   server -> client  failure: 0x02, len (<= 255), len bytes of reason; or
 *                     success: one byte 0x01 with one SCM_RIGHTS message of
 *                     3 + 2W descriptors: allocator, tpu_to_pack,
 *                     progress_tracker, then per worker pack_to_worker,
 *                     worker_to_pack.
 * Both sides close the socket right after; the session then lives only in the
 * shared memory (EOF on the socket is NOT the end of the session).
 *
 * What differs between versions is one row of a table (struct xs_hs_proto,
 * xs_hs_proto_get()); the client, the server and the codecs are a single code
 * path driven by that row, so a later VERSION is a new row.
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
#include "xsched/spsc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct xs_alloc;

/* ------------------------------------------------------------- constants */

#define XS_HS_VERSION_MIN     1u /**< oldest VERSION spoken */
#define XS_HS_VERSION_MAX     2u /**< newest VERSION spoken */
#define XS_HS_VERSION_DEFAULT 2u /**< VERSION a client/server uses when given 0 */

#define XS_HS_LOGON_BUF        1024u /**< logon buffer size on the wire */
#define XS_HS_LOGON_SUCCESS    0x01u /**< first reply byte: success (with descriptors) */
#define XS_HS_LOGON_FAILURE    0x02u /**< first reply byte: failure, then len + reason */
#define XS_HS_MAX_WORKERS      64u   /**< worker_count must be 1..=64 */
#define XS_HS_MAX_ALLOC_HANDLES 128u /**< allocator_handles must be 1..=128 */
#define XS_HS_GLOBAL_ALLOCATORS 1u   /**< allocator worker ids before the banking workers (TPU) */
#define XS_HS_GLOBAL_SHMEM     3u    /**< allocator, tpu_to_pack, progress_tracker */
#define XS_HS_MAX_FDS          (XS_HS_GLOBAL_SHMEM + 2u * XS_HS_MAX_WORKERS) /**< 131 */
#define XS_HS_MAX_REASON       255u  /**< failure reasons are cut to this many bytes */
#define XS_HS_SLAB_SIZE        (2u * 1024 * 1024) /**< allocator slab size the server uses */
#define XS_HS_TIMEOUT_NS       1000000000ull /**< server per-connection timeout (upstream HANDSHAKE_TIMEOUT) */
#define XS_HS_CLIENT_TIMEOUT_NS 1000000000ull /**< client default when no deadline/timeout is given */

/** Logon flags (VERSION >= 2, ClientLogon.flags). */
#define XS_LOGON_REROUTE_VOTES 0x0001u /**< send votes to the external scheduler */

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
};

/* ------------------------------------------------------- version table */

/** Meaning of the four queue fields of a logon. */
enum xs_logon_units {
	XS_LOGON_ITEMS = 0, /**< minimum capacity in messages (VERSION 2) */
	XS_LOGON_BYTES = 1, /**< queue file size in bytes (VERSION 1) */
};

/** Huge-page policy of the server (only where the VERSION uses huge pages). */
enum xs_hs_huge {
	XS_HS_HUGE_AUTO = 0, /**< try huge first; after one failure in this process, stop trying */
	XS_HS_HUGE_NEVER = 1, /**< normal pages only */
	XS_HS_HUGE_EACH = 2,  /**< as upstream: every object tries huge pages first, then falls back */
};

/**
 * What differs between protocol versions: one row per VERSION. Adding a
 * version means adding a row (and, if it needs new behaviour, a column).
 */
struct xs_hs_proto {
	uint32_t version;      /**< VERSION on the wire (u64 LE at logon offset 0) */
	uint32_t logon_size;   /**< sizeof(ClientLogon): 56 (V1) / 64 (V2) */
	uint8_t units;         /**< enum xs_logon_units of the four queue fields */
	uint8_t has_flags;     /**< ClientLogon has `flags: u16` at struct offset 56 */
	uint8_t huge_first;    /**< server tries huge pages first (progress_tracker never) */
	uint8_t round_pages;   /**< server rounds object sizes up to its page size */
	uint8_t shaq;          /**< enum xs_shaq_format of every queue */
	uint8_t pad_[3];
	uint32_t slab_size;    /**< allocator slab size the server creates with */
	const char *era;       /**< where this VERSION was spoken (for humans) */
};

/** Row of @p version, or NULL when xsched does not speak it. */
const struct xs_hs_proto *xs_hs_proto_get(uint64_t version);

/* ----------------------------------------------------------------- logon */

/**
 * ClientLogon, VERSION independent. The four queue fields are capacities in
 * messages (units XS_LOGON_ITEMS, what callers normally give) or file sizes
 * in bytes (XS_LOGON_BYTES, the VERSION 1 wire meaning). Encoding converts to
 * the unit of the VERSION sent: items -> bytes with shaq's
 * minimum_file_size (as upstream clients do), bytes -> items by the number of
 * messages that fit after the 192-byte header. Parsing gives the unit of the
 * VERSION received.
 */
struct xs_logon {
	uint64_t worker_count;        /**< banking workers Agave spawns, 1..=64 */
	uint64_t allocator_size;      /**< allocator file size in bytes (V2: minimum, server rounds up) */
	uint64_t allocator_handles;   /**< allocator handles for the client, 1..=128 */
	uint64_t tpu_to_pack_capacity;
	uint64_t progress_tracker_capacity;
	uint64_t pack_to_worker_capacity; /**< per worker */
	uint64_t worker_to_pack_capacity; /**< per worker */
	uint16_t flags;               /**< XS_LOGON_* (VERSION >= 2; must be 0 for VERSION 1) */
	uint8_t units;                /**< enum xs_logon_units of the four queue fields */
	uint8_t pad_[5];
};

/**
 * Encode the 1024-byte logon buffer for @p version: u64 LE VERSION, the
 * ClientLogon fields LE (padding zero), zeros to the end.
 * @return XS_HS_LOGON_BUF, -EINVAL (unknown version) or -XS_EHS_LOGON (flags
 *         on a version without flags, or a size that does not convert).
 */
int xs_hs_encode_logon(uint64_t version, const struct xs_logon *logon,
		       uint8_t buf[XS_HS_LOGON_BUF]);

/**
 * Server-side validation of received logon bytes, in upstream's order: all
 * 1024 bytes present (else EOF: "Close during handshake"), VERSION equal to
 * @p server_version, worker_count in 1..=64, allocator_handles in 1..=128.
 * Pure function over raw bytes (fuzzable).
 * @param reason  receives the exact upstream rejection text (NUL-terminated,
 *                cut to @p reason_cap - 1), may be NULL
 * @return 0 (and *out filled), -XS_EHS_EOF, -XS_EHS_VERSION,
 *         -XS_EHS_WORKER_COUNT, -XS_EHS_ALLOC_HANDLES, or -EINVAL when
 *         @p server_version is not spoken.
 */
int xs_hs_parse_logon(const uint8_t *buf, size_t len, uint64_t server_version,
		      struct xs_logon *out, char *reason, size_t reason_cap);

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
};

/**
 * Client-side validation of one received reply. Pure function over raw
 * bytes (fuzzable): never closes, dereferences or keeps a descriptor; the
 * caller closes out->fds[0..nfds) on every error.
 *
 * @param data, len          data bytes received (len 0: the peer closed)
 * @param msg_flags          msghdr.msg_flags after recvmsg (MSG_CTRUNC checked)
 * @param control, controllen control bytes received (any alignment)
 * @param expected_fds       3 + 2 * worker_count
 * @return 0 on a well-formed success (out->nfds == expected_fds);
 *   -XS_EHS_REJECTED (failure frame; out->reason, out->complete says whether
 *   all declared bytes were present: the caller may read more and parse
 *   again), -XS_EHS_VERSION (failure frame with a Version reason,
 *   out->server_version), -XS_EHS_EOF (0 bytes), -XS_EHS_PROTOCOL (anything
 *   else: first byte not 0x01/0x02, extra data, no / several / foreign
 *   control messages, MSG_CTRUNC, malformed control data, descriptor count
 *   other than expected).
 */
int xs_hs_parse_reply(const uint8_t *data, size_t len, int msg_flags, const void *control,
		      size_t controllen, uint32_t expected_fds, struct xs_hs_reply *out);

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
	uint8_t allow_version_retry; /**< on "Version; server=S; ...", retry once with VERSION S */
	uint8_t require_sealed; /**< refuse objects not sealed against resizing (-XS_ESHM_UNSEALED) */
	uint8_t force_poll;     /**< use the poll() path even when io_uring works */
	uint8_t pad_[5];
	struct xs_hs_report *report; /**< optional: filled with details, on success and failure */
};

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
};

/** One banking worker's queues. */
struct xs_hs_worker {
	struct xs_spsc pack_to_worker; /**< client: producer; server: consumer */
	struct xs_spsc worker_to_pack; /**< client: consumer; server: producer */
};

/** Scheduler (client) side of a session, from xs_hs_connect(). */
struct xs_session {
	int version;              /**< VERSION spoken */
	uint32_t num_workers;     /**< W */
	uint32_t num_allocs;      /**< allocator handles (= logon allocator_handles) */
	struct xs_alloc **allocs; /**< allocs[k] has allocator worker id 1 + W + k */
	struct xs_spsc tpu_to_pack; /**< consumer of struct xs_tpu_to_pack */
	struct xs_spsc progress;    /**< consumer of struct xs_progress */
	struct xs_hs_worker *workers; /**< [W]: pack_to_worker producer, worker_to_pack consumer */
	pid_t peer_pid;           /**< server credentials (SO_PEERCRED) */
	uid_t peer_uid;
	gid_t peer_gid;
	int backend;              /**< enum xs_hs_backend used */
	uint32_t num_objects;     /**< 3 + 2W */
	uint32_t num_sealed;      /**< objects sealed against grow/shrink by the server */
	uint32_t num_huge;        /**< objects backed by huge pages */
	uint8_t *object_state;    /**< [num_objects] XS_SHM_STATE_* per descriptor index */
	size_t allocator_size;    /**< allocator file size */
};

/**
 * Connect to a server, log on, receive and validate the reply, join every
 * object (allocator handles 1+W+k, queues with the roles above) and return
 * the session. On error nothing stays open or mapped.
 * @return 0, -ETIMEDOUT (deadline), -XS_EHS_REJECTED / -XS_EHS_VERSION (the
 *   reason is in the report and xs_errmsg()), -XS_EHS_EOF, -XS_EHS_PROTOCOL,
 *   -XS_EHS_ALLOC / -XS_EHS_QUEUE (cause in the report), -XS_ESHM_UNSEALED
 *   (require_sealed), -XS_EHS_LOGON, or -errno (socket errors: -ENOENT,
 *   -ECONNREFUSED, -EPIPE, -ECONNRESET, -ENAMETOOLONG, -ENOMEM ...).
 */
int xs_hs_connect(const struct xs_hs_client_opts *opts, const struct xs_logon *logon,
		  struct xs_session **out);

/** Unmap and free a client session (NULL is fine). */
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
 * session (allocator, tpu_to_pack, progress_tracker, then per worker
 * pack_to_worker and worker_to_pack) with its new memfd @p fd already sized
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
};

/** Validator (server) side of a session, from xs_hs_server_serve(). */
struct xs_vsession {
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
	int backend;                  /**< enum xs_hs_backend of the server */
	struct xs_logon logon;        /**< the logon as received (flags: XS_LOGON_*) */
	size_t allocator_size;        /**< allocator file size */
	uint32_t num_objects;         /**< 3 + 2W */
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

/** Unmap and free a validator session (NULL is fine). */
void xs_vsession_close(struct xs_vsession *vs);

/**
 * Create the objects of a session exactly as the upstream server does for
 * @p logon (already validated): allocator (num_workers 1 + W + H, 2 MiB
 * slabs, own handles 0 and 1..W), tpu_to_pack, progress_tracker and per
 * worker pack_to_worker / worker_to_pack, with the server's roles. On
 * success @p fds receives the 3 + 2W descriptors in wire order (the caller
 * sends then closes them).
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

#ifdef __cplusplus
}
#endif
#endif /* XS_HANDSHAKE_H */
