/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics in shared memory: what a running xsched process is doing, readable
 * live by another process (xsched-monitor), like Aeron's CnC counters file or
 * Firedancer's tile metrics.
 *
 * Each process publishes at most one metrics object: a file
 *
 *   $XS_METRICS_DIR/xsched-<pid>.metrics      (default directory /dev/shm)
 *
 * created mode 0600 (O_EXCL on a temporary name, then renamed into place,
 * so a reader never sees it half written), mapped shared by the writer and
 * read-only by readers. A monitor finds a process by its pid (the name), by
 * its session socket path (recorded in the header), or lists the directory.
 * When the process closes the object (xs_metrics_close(), also run from
 * atexit) it takes a last sample, marks the object EXITED and unlinks it: a
 * reader that still maps it sees the final values. A process that dies
 * without closing leaves the file behind; readers tell it is dead (pid gone,
 * or reused: the header keeps the process start time of /proc/PID/stat) and
 * the next writer in that directory removes dead objects of its own user.
 *
 * Layout (version 1; every offset fixed, little-endian x86-64, no pointers):
 *
 *   0     struct xs_metrics_hdr_shm   512 bytes: identity, section table,
 *                                     program / role / socket, publisher line
 *   sect  records of fixed size, each section 64-byte aligned:
 *         REACTOR   struct xs_metrics_reactor_shm  128 B  per reactor
 *         LTHREAD   struct xs_metrics_lthread_shm   64 B  per lightweight thread
 *         QUEUE     struct xs_metrics_queue_shm     64 B  per queue of the session
 *         ALLOC     struct xs_metrics_alloc_shm    192 B  per allocator worker index
 *         SESSION   struct xs_metrics_session_shm  128 B  0 or 1
 *         HIST      struct xs_mhist_shm            512 B  per (stage, lthread)
 *
 * Writers. Every cache line has exactly one writer thread:
 *   - the creating thread writes everything static (names, CPUs planned,
 *     queue names and capacities, section table) before the object is
 *     renamed into place, and the magic last (M1, release);
 *   - the publisher thread (one per object, created by xs_metrics_start())
 *     samples every interval_ms: the runtime's counters (the reactors' own
 *     relaxed single-writer counters, read with relaxed loads through
 *     xs_rt_reactor_info() / xs_rt_lthread_stats()), each queue's producer
 *     and consumer counters from the queue header (relaxed loads), the
 *     producer's full-event counters registered with
 *     xs_metrics_queue_full_counter(), the allocator file's lists, the
 *     peer's liveness; it writes them into the sections with single-writer stores
 *     inside a sequence lock (S1/S2 below), then the heartbeat;
 *   - a latency histogram (HIST) is written only by the lightweight thread
 *     it belongs to (xs_mhist_add(): relaxed load/add/store, no locked
 *     instruction, no system call).
 * So the hot path gains nothing: reactors keep writing their own counters
 * exactly as without metrics, and the queues are read by the publisher, never
 * by the hot path. Recording a latency is opt-in (three stores into lines
 * only that thread writes).
 *
 * Ordering contract
 *   M1  creator: every static field, then store-release of hdr.magic;
 *       readers load-acquire magic before reading anything else.
 *   S1  publisher: seq += 1 (odd, relaxed), store-release of every value of
 *       the sample (each ordered after the odd seq), then store-release
 *       seq += 1 (even).
 *   S2  reader: load-acquire seq (odd: retry), load-acquire of every word,
 *       relaxed reload of seq; a different value means a torn sample: retry
 *       (bounded; the last copy is kept). Pairs with S1. (No fences: TSan
 *       checks it; on x86-64 all of these are plain MOVs.) Histograms are not
 *       under the lock: each of their words is exact, a histogram as a whole
 *       may be one sample behind its count.
 *
 * Liveness. hdr.heartbeat_ns (CLOCK_MONOTONIC, the same clock in every
 * process of a host) is stored by the publisher after each sample; a reader
 * calls an object stale when it is older than 3 intervals plus 500 ms, dead
 * when /proc/PID is gone or its start time differs from hdr.start_ticks,
 * stopped when /proc/PID/stat says 'T'. A reactor's heartbeat is the
 * publisher's time of the last sample in which its `rounds` counter moved:
 * a reactor stuck in a poll function, or descheduled, stops moving it.
 *
 * Thread safety: the writer API (xs_metrics_create ... close) is for one
 * controlling thread; xs_mhist_add() for the histogram's own lightweight
 * thread; the reader API for any thread.
 */
#ifndef XS_METRICS_H
#define XS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "xsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every declaration up to the matching pop is public: exported from
 * libxsched.so, which is built with -fvisibility=hidden (README "ABI"). */
#pragma GCC visibility push(default)

/* ------------------------------------------------------------ constants */

/** "XSMETRIC" read as a little-endian u64: the first 8 bytes of the file. */
#define XS_METRICS_MAGIC 0x434952544D455358ull
/** Layout version written by this library. */
#define XS_METRICS_LAYOUT 1u
/** Environment variable naming the directory of metrics objects. */
#define XS_METRICS_DIR_ENV "XS_METRICS_DIR"
/** Directory used when neither an option nor XS_METRICS_DIR names one. */
#define XS_METRICS_DEFAULT_DIR "/dev/shm"
/** File name: XS_METRICS_PREFIX <pid> XS_METRICS_SUFFIX. */
#define XS_METRICS_PREFIX "xsched-"
#define XS_METRICS_SUFFIX ".metrics"
/** Most records a reader accepts in one section (bounds a hostile table). */
#define XS_METRICS_MAX_RECORDS 65536u
/** Largest object a reader maps (64 MiB). */
#define XS_METRICS_MAX_SIZE (64u << 20)
/** A counter nobody maintains (e.g. full events of a queue we only consume). */
#define XS_METRICS_NA UINT64_MAX

/** Error numbers (runtime block, returned negated; texts in xs_strerror()). */
enum xs_error_metrics {
	XS_EMET_MAGIC = XS_E_RT_BASE + 80, /**< not an xsched metrics object (bad magic) */
	XS_EMET_LAYOUT,    /**< layout version this reader does not know */
	XS_EMET_TRUNCATED, /**< file shorter than its header or its table says */
	XS_EMET_CORRUPT,   /**< inconsistent header or section table */
	XS_EMET_PID,       /**< object does not belong to the process it names */
	XS_EMET_NONE,      /**< no metrics object for that process or socket */
};

/** Sections (index into hdr.sect). */
enum xs_metrics_sect {
	XS_MSECT_REACTOR = 0,
	XS_MSECT_LTHREAD,
	XS_MSECT_QUEUE,
	XS_MSECT_ALLOC,
	XS_MSECT_SESSION,
	XS_MSECT_HIST,
	XS_MSECT_COUNT,
	XS_MSECT_MAX = 8 /**< slots in the header's table */
};

/** hdr.state */
enum xs_metrics_state {
	XS_MSTATE_STARTING = 1, /**< created, publisher not started yet */
	XS_MSTATE_RUNNING = 2,  /**< publisher sampling */
	XS_MSTATE_EXITED = 3,   /**< closed: the values are final */
};

/** Latency stages (histograms). */
enum xs_mstage {
	XS_MSTAGE_ARRIVAL_DISPATCH = 0, /**< TPU arrival -> batch dispatched to a worker */
	XS_MSTAGE_DISPATCH_RESPONSE,    /**< batch dispatched -> its response taken */
	XS_MSTAGE_ARRIVAL_RESPONSE,     /**< TPU arrival -> response (end to end) */
	XS_MSTAGE_CHECK_RESPONSE,       /**< check request -> check response (generations with check workers) */
	XS_MSTAGE_COUNT
};

/** Queue roles (this process's end). */
#define XS_MQ_PRODUCER 1u
#define XS_MQ_CONSUMER 2u
/** Session roles. */
#define XS_MROLE_VALIDATOR 1u
#define XS_MROLE_SCHEDULER 2u

/** Histogram buckets: bucket 0 holds 0..1 ns, bucket b (1..46) holds
 *  (2^(b-1), 2^b] ns, bucket 47 everything above 2^46 ns (~19.5 hours). */
#define XS_MHIST_BUCKETS 48u

/* ------------------------------------------------------------ layout */

/** One entry of the section table: records at [off, off + count * size). */
struct xs_metrics_sect_shm {
	uint32_t off;
	uint32_t count;
	uint32_t size;
	uint32_t reserved;
};

/** The header (512 bytes). Lines 0..5 static (M1), line 6 the publisher's. */
struct xs_metrics_hdr_shm {
	uint64_t magic;          /**< 0: XS_METRICS_MAGIC, stored last (M1) */
	uint32_t layout;         /**< 8: XS_METRICS_LAYOUT */
	uint32_t hdr_size;       /**< 12: 512 */
	uint64_t file_size;      /**< 16: bytes of the whole object */
	int32_t pid;             /**< 24: writer's process id */
	uint32_t uid;            /**< 28: writer's user id */
	uint64_t start_ticks;    /**< 32: writer's start time, /proc/PID/stat field 22 */
	uint64_t created_ns;     /**< 40: CLOCK_REALTIME at creation */
	uint64_t created_mono_ns; /**< 48: CLOCK_MONOTONIC at creation */
	uint32_t interval_ms;    /**< 56: publisher period */
	uint32_t flags;          /**< 60: 0 */
	struct xs_metrics_sect_shm sect[XS_MSECT_MAX]; /**< 64: section table */
	char program[32];        /**< 192: program name, NUL-terminated */
	char role[16];           /**< 224: "validator", "scheduler" or "" */
	char socket[108];        /**< 240: session socket path or "" */
	uint8_t pad0_[36];       /**< 348 */
	/* line 6 (384): written by the publisher only */
	uint64_t seq;            /**< 384: sequence lock (S1/S2), even when stable */
	uint64_t heartbeat_ns;   /**< 392: CLOCK_MONOTONIC of the last sample */
	uint64_t state;          /**< 400: enum xs_metrics_state */
	uint64_t samples;        /**< 408: samples taken */
	uint64_t sample_ns;      /**< 416: time the last sample took */
	uint64_t pad1_[3];
	uint64_t reserved_[8];   /**< 448: line 7 */
};

/** Per reactor (128 bytes). Static: name, idle, plan_cpu, node, nlthreads. */
struct xs_metrics_reactor_shm {
	char name[16];           /**< thread name ("xs-tpu") */
	char idle[16];           /**< idle strategy name ("spin", "backoff", ...) */
	int64_t plan_cpu;        /**< CPU the plan asked for, -1 unpinned */
	int64_t cpu;             /**< CPU it is pinned to (after remapping), -1 unpinned */
	int64_t observed_cpu;    /**< sched_getcpu() on the thread at start, -1 before */
	int64_t tid;             /**< kernel thread id (0 before start) */
	uint64_t running;        /**< 1 between start and thread exit */
	uint64_t rounds;         /**< loop rounds */
	uint64_t idle_rounds;    /**< rounds in which no lthread found work */
	uint64_t yields;         /**< sched_yield() calls */
	uint64_t sleeps;         /**< idle sleeps */
	uint64_t heartbeat_ns;   /**< CLOCK_MONOTONIC of the last sample in which rounds moved */
	int64_t node;            /**< NUMA node index of its CPU, -1 unknown */
	uint64_t nlthreads;
};

/** Per lightweight thread (64 bytes). Static: name, reactor. */
struct xs_metrics_lthread_shm {
	char name[16];
	int64_t reactor;         /**< index into the REACTOR section */
	uint64_t state;          /**< XS_LT_* (xsched/runtime.h) */
	int64_t err;             /**< error it returned (failed), else 0 */
	uint64_t polls;          /**< calls of its poll function */
	uint64_t busy_polls;     /**< calls that returned > 0 */
	uint64_t items;          /**< sum of the values returned */
};

/** Per queue of the session (64 bytes). Static: name, role, format, capacity. */
struct xs_metrics_queue_shm {
	char name[24];           /**< "tpu_to_pack", "pack_to_worker[3]", ... */
	uint32_t role;           /**< XS_MQ_PRODUCER / XS_MQ_CONSUMER: our end */
	uint32_t format;         /**< enum xs_shaq_format */
	uint64_t capacity;       /**< slots */
	uint64_t write;          /**< producer counter from the queue header (items produced) */
	uint64_t read;           /**< consumer counter (items consumed); depth = write - read */
	uint64_t full;           /**< producer found it full (backpressure), XS_METRICS_NA if not counted */
};

/** Per allocator worker index (192 bytes). Static: worker, ours. */
struct xs_metrics_alloc_shm {
	uint32_t worker;         /**< allocator worker index (handle) */
	uint32_t ours;           /**< 1: this process holds that handle */
	uint64_t slabs;          /**< slabs the worker owns */
	uint64_t bytes_in_use;   /**< slot bytes allocated (remote frees not yet cleaned count) */
	uint64_t remote_pending; /**< slabs with remote frees waiting for the owner */
	uint64_t cls_slabs[5];   /**< per size class (256 .. 4096 bytes) */
	uint64_t cls_bytes[5];
	uint64_t cls_remote[5];
	uint64_t pad_[5];
};

/** The session (128 bytes). Static: version .. alloc_slab_size. */
struct xs_metrics_session_shm {
	uint32_t version;        /**< handshake VERSION (protocol generation) */
	uint32_t role;           /**< XS_MROLE_* */
	uint32_t num_workers;
	uint32_t num_allocs;
	int64_t peer_pid;
	uint64_t peer_start_ticks; /**< peer's /proc start time when registered (0 unknown) */
	uint64_t peer_alive;     /**< 1 alive, 0 gone (or its pid reused) */
	uint64_t alloc_file_size;
	uint64_t alloc_num_slabs;
	uint64_t alloc_slab_size;
	uint64_t alloc_global_free; /**< slabs on the global free list */
	uint64_t alloc_never_assigned;
	uint64_t alloc_bytes_in_use;
	uint64_t alloc_anomalies;
	uint64_t pad_[4];
};

/** A latency histogram (512 bytes), written by its lightweight thread only. */
struct xs_mhist_shm {
	uint32_t stage;          /**< enum xs_mstage (static) */
	int32_t lthread;         /**< lthread index, the writer (static) */
	char name[24];           /**< stage name (static) */
	uint8_t pad0_[32];
	uint64_t count;          /**< line 1: samples */
	uint64_t sum_ns;
	uint64_t max_ns;
	uint64_t pad1_;
	uint64_t b[XS_MHIST_BUCKETS]; /**< see XS_MHIST_BUCKETS */
	uint64_t pad2_[4];
};

XS_STATIC_ASSERT(sizeof(struct xs_metrics_hdr_shm) == 512, "metrics header");
XS_STATIC_ASSERT(offsetof(struct xs_metrics_hdr_shm, seq) == 384, "publisher line");
XS_STATIC_ASSERT(offsetof(struct xs_metrics_hdr_shm, sect) == 64, "section table");
XS_STATIC_ASSERT(sizeof(struct xs_metrics_reactor_shm) == 128, "reactor record");
XS_STATIC_ASSERT(sizeof(struct xs_metrics_lthread_shm) == 64, "lthread record");
XS_STATIC_ASSERT(sizeof(struct xs_metrics_queue_shm) == 64, "queue record");
XS_STATIC_ASSERT(sizeof(struct xs_metrics_alloc_shm) == 192, "alloc record");
XS_STATIC_ASSERT(sizeof(struct xs_metrics_session_shm) == 128, "session record");
XS_STATIC_ASSERT(sizeof(struct xs_mhist_shm) == 512, "histogram record");
XS_STATIC_ASSERT(offsetof(struct xs_mhist_shm, count) == 64, "histogram counters on line 1");

/* ------------------------------------------------------------ writer */

struct xs_metrics;      /* opaque: the process's object and its publisher */
struct xs_rt;           /* xsched/runtime.h */
struct xs_session;      /* xsched/handshake.h */
struct xs_vsession;
struct xs_spsc;         /* xsched/spsc.h */

/** What to publish. Initialise with xs_metrics_opts_init(). */
struct xs_metrics_opts {
	const char *dir;          /**< NULL: $XS_METRICS_DIR, else XS_METRICS_DEFAULT_DIR */
	const char *program;      /**< NULL: the program's short name */
	const char *socket;       /**< session socket path (find by socket), NULL none */
	const struct xs_session *session;   /**< client (scheduler) session, or NULL */
	const struct xs_vsession *vsession; /**< validator-side session, or NULL */
	uint32_t interval_ms;     /**< sampling period, 10..60000 (100) */
	int no_atexit;            /**< nonzero: do not register the atexit close */
};

void xs_metrics_opts_init(struct xs_metrics_opts *o);

/**
 * Create the process's metrics object for runtime @p rt (built: reactors and
 * lthreads added; started or not; NULL for none) and the session in @p o:
 * size every section, write the static fields, rename the file into place
 * (state STARTING). Dead objects of this user in the directory are removed
 * first. Histograms are usable from here on (xs_metrics_hist()).
 * @return 0 and *out; -XS_ERT_STATE (this process already has an object),
 *         -EINVAL, -ENOMEM, -errno of the file operations (xs_errmsg() names
 *         the path).
 */
int xs_metrics_create(struct xs_metrics **out, struct xs_rt *rt, const struct xs_metrics_opts *o);

/**
 * Register the producer's count of "queue found full" events for queue
 * @p q (one of the session's queues, by address). The counter must have one
 * writer that stores it with relaxed atomics (or plain stores of an aligned
 * u64 on x86-64, read here with a relaxed load); it is copied every sample.
 * @return 0, -EINVAL (not a queue of the session), -XS_ERT_STATE (closed).
 */
int xs_metrics_queue_full_counter(struct xs_metrics *m, const struct xs_spsc *q,
				  const uint64_t *counter);

/**
 * Start the publisher thread (inherits the caller's CPU affinity: call from
 * a housekeeping thread). Call after xs_rt_start(): the publisher reads the
 * runtime's counters, which exist from then on. State becomes RUNNING.
 * @return 0, -XS_ERT_STATE (already started or closed), -errno.
 */
int xs_metrics_start(struct xs_metrics *m);

/**
 * One call for programs on the runtime: xs_metrics_create() then
 * xs_metrics_start(). Call after xs_rt_start(). xs_rt_destroy() takes a last
 * sample and stops reading the runtime and the session; the object stays
 * (final values) until xs_metrics_close() or exit.
 */
int xs_metrics_publish(struct xs_metrics **out, struct xs_rt *rt, const struct xs_metrics_opts *o);

/** Take a sample now, on the calling thread (e.g. after xs_rt_join()). */
void xs_metrics_update(struct xs_metrics *m);

/**
 * Stop the publisher, take a last sample, mark the object EXITED, unlink
 * and unmap it, free @p m (NULL is fine). Call before closing the session
 * (or destroy the runtime first, which detaches it).
 */
void xs_metrics_close(struct xs_metrics *m);

/** Path of the object ("/dev/shm/xsched-1234.metrics"). */
const char *xs_metrics_path(const struct xs_metrics *m);

/**
 * The histogram of @p stage written by lightweight thread @p lthread (its
 * index in the runtime), or NULL when @p m is NULL or out of range. Only
 * that lightweight thread may record into it.
 */
struct xs_mhist_shm *xs_metrics_hist(struct xs_metrics *m, unsigned stage, int lthread);

/** Bucket of a latency: see XS_MHIST_BUCKETS. */
XS_INLINE unsigned xs_mhist_bucket(uint64_t ns)
{
	unsigned b;

	if (ns <= 1)
		return 0;
	b = 64u - (unsigned)__builtin_clzll(ns - 1);
	return b < XS_MHIST_BUCKETS - 1 ? b : XS_MHIST_BUCKETS - 1;
}

/**
 * Record @p n samples of latency @p ns into @p h (NULL: nothing, metrics off).
 * Thread safety: only the histogram's lightweight thread. Ordering: relaxed
 * load/add/store of words only this thread writes (no locked instruction);
 * readers load them relaxed.
 */
XS_INLINE void xs_mhist_add_n(struct xs_mhist_shm *h, uint64_t ns, uint64_t n)
{
	uint64_t *bk;

	if (!h)
		return;
	bk = &h->b[xs_mhist_bucket(ns)];
	__atomic_store_n(bk, __atomic_load_n(bk, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
	__atomic_store_n(&h->sum_ns, __atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED) + ns * n,
			 __ATOMIC_RELAXED);
	if (ns > __atomic_load_n(&h->max_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&h->max_ns, ns, __ATOMIC_RELAXED);
	/* count last: a reader that sees it has seen no more than the buckets hold */
	__atomic_store_n(&h->count, __atomic_load_n(&h->count, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

XS_INLINE void xs_mhist_add(struct xs_mhist_shm *h, uint64_t ns)
{
	xs_mhist_add_n(h, ns, 1);
}

/** Stage name ("arrival_dispatch", ...), "?" when out of range. */
const char *xs_mstage_name(unsigned stage);

/* ------------------------------------------------------------ reader */

/** A metrics object mapped read-only. */
struct xs_metrics_view {
	int fd;
	const uint8_t *map;
	size_t size;
	pid_t pid;               /**< from the header (checked against the file name) */
	char path[512];
};

/**
 * Open and map read-only the object at @p path, validate it (size, magic,
 * layout, header size, file size, section table, pid against the file name
 * when it has the standard form, owner against the process's user when it
 * runs). Nothing stays open on failure.
 * @return 0; -XS_EMET_TRUNCATED, -XS_EMET_MAGIC, -XS_EMET_LAYOUT,
 *         -XS_EMET_CORRUPT, -XS_EMET_PID, -errno (xs_errmsg() says which
 *         value was wrong).
 */
int xs_metrics_view_open(struct xs_metrics_view *v, const char *path);

/** The object of process @p pid in @p dir (NULL: default). -XS_EMET_NONE when it has none. */
int xs_metrics_view_open_pid(struct xs_metrics_view *v, const char *dir, pid_t pid);

void xs_metrics_view_close(struct xs_metrics_view *v);

/**
 * Pids that have an object in @p dir (NULL: default), ascending; at most
 * @p max written. @return how many there are (may exceed @p max), or -errno.
 */
int xs_metrics_list(const char *dir, pid_t *pids, int max);

/** The directory used for @p dir (NULL: XS_METRICS_DIR or the default). */
const char *xs_metrics_dir(const char *dir);

/** A private, consistent copy of an object. */
struct xs_metrics_snap {
	uint8_t *buf;            /**< copy of the object (malloc) */
	size_t size;
	const struct xs_metrics_hdr_shm *hdr; /**< = buf */
	int torn;                /**< 1: no stable sample within the retries (values still exact each) */
};

/**
 * Copy @p v's object into @p s (S2; strings NUL-terminated in the copy) and
 * validate the copy's table again. @return 0, -ENOMEM, or a validation error.
 */
int xs_metrics_snap(const struct xs_metrics_view *v, struct xs_metrics_snap *s);
void xs_metrics_snap_free(struct xs_metrics_snap *s);

/** Record @p i of section @p sect in a snapshot (NULL when out of range). */
const void *xs_metrics_rec(const struct xs_metrics_snap *s, unsigned sect, unsigned i);
/** Records in section @p sect. */
unsigned xs_metrics_count(const struct xs_metrics_snap *s, unsigned sect);

/** What a reader makes of an object. */
enum xs_metrics_live {
	XS_MLIVE_LIVE = 0,  /**< process alive, heartbeat fresh */
	XS_MLIVE_STALE,     /**< process alive, heartbeat old (blocked, starved, or not yet started) */
	XS_MLIVE_STOPPED,   /**< process stopped (SIGSTOP, debugger) */
	XS_MLIVE_EXITED,    /**< closed by the process: final values */
	XS_MLIVE_DEAD,      /**< process gone, or its pid now belongs to another process */
};

/**
 * Liveness of a snapshot at CLOCK_MONOTONIC @p now_ns; *hb_age_ns (may be
 * NULL) receives the heartbeat's age.
 */
enum xs_metrics_live xs_metrics_liveness(const struct xs_metrics_snap *s, uint64_t now_ns,
					 uint64_t *hb_age_ns);

/** "live", "stale", "stopped", "exited", "dead". */
const char *xs_metrics_live_name(enum xs_metrics_live l);

/** Heartbeat age above which a reader calls an object (or a reactor) stale. */
uint64_t xs_metrics_stale_ns(const struct xs_metrics_snap *s);

/**
 * Start time of process @p pid (/proc/PID/stat field 22, clock ticks since
 * boot), 0 when it does not exist. @p state (may be NULL) receives its state
 * letter. Used to tell a live writer from a reused pid.
 */
uint64_t xs_metrics_proc_start(pid_t pid, char *state);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_METRICS_H */
