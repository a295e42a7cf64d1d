/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reactors and lightweight threads: the hot half of the xsched runtime.
 *
 * After the handshake the hot path must never enter the kernel. It runs as
 *
 *   reactor     one OS thread pinned to one CPU (checked with sched_getcpu),
 *               named for `top -H` ("xs-tpu", "xs-w3"), looping over
 *   lthreads    lightweight threads: poll functions that return how much work
 *               they did. A reactor calls each of its lthreads in turn, forever;
 *               when a whole round did nothing it applies its idle strategy:
 *               pure spin (`pause`), spin-then-yield, or backoff (spin, then
 *               sleep with an exponentially growing, bounded delay).
 *
 * like DPDK lcores (one pinned thread per core) running SPDK pollers (many
 * cooperative poll functions per thread). The placement plan (xsched/topo.h)
 * says which reactors to create and which lthreads each one runs;
 * xs_rt_add_plan() turns a plan into reactors, xs_rt_add_reactor() /
 * xs_rt_add_lthread() build them by hand.
 *
 * Life cycle: xs_rt_create → add reactors and lthreads → xs_rt_start (every
 * reactor pinned, verified, its lthreads' init run, before any polls) →
 * running → xs_rt_stop (from any thread or a signal handler) → xs_rt_join →
 * xs_rt_destroy. A runtime starts once.
 *
 * In the steady state a reactor makes no system call and no heap allocation:
 * its loop reads the stop flag, calls the poll functions and updates its
 * counters (relaxed atomics on cache lines of their own, readable while it
 * runs). The spin-then-yield and backoff strategies do make system calls
 * (sched_yield, clock_nanosleep), but only when a whole round found no work.
 *
 * Memory: each reactor's state (its header, its lthreads, their counters
 * and copied contexts) is one block allocated on the reactor's NUMA node,
 * usually one 4 KiB page (see xs_rt_reactor_info().mem_bytes).
 *
 * Also here: the standard command-line options every xsched program accepts
 * (--cpus, --placement, --idle, --topology) through one shared parser, and the
 * session glue that builds the standard plan for a client or validator session.
 */
#ifndef XS_RUNTIME_H
#define XS_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "xsched/common.h"
#include "xsched/topo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every declaration up to the matching pop is public: exported from
 * libxsched.so, which is built with -fvisibility=hidden (README "ABI"). */
#pragma GCC visibility push(default)

/* ------------------------------------------------------ lightweight threads */

/**
 * A lightweight thread's body: do a bounded amount of work and return.
 * @return >= 0: items of work done (0 = found nothing);
 *         XS_RT_DONE: finished, never call again (the reactor drops it and
 *         exits once it has none left);
 *         any other negative value: error; the lthread is dropped and the
 *         whole runtime stops (xs_rt_join() returns the first such error).
 * Must not block: a blocked poll function stalls its reactor's other lthreads
 * and delays stop.
 */
typedef int (*xs_rt_poll_fn)(void *arg);

/** Runs on the reactor thread before its first poll. @return 0 or a negative error (start fails). */
typedef int (*xs_rt_init_fn)(void *arg);

/** Runs on the reactor thread after its last poll (also after a failed start, if init ran). */
typedef void (*xs_rt_fini_fn)(void *arg);

/** Poll-function result: this lthread has finished. */
#define XS_RT_DONE (-XS_ERT_DONE)

/** Largest lthread context the runtime copies into node-local memory. */
#define XS_RT_ARG_MAX 1024

/** Longest lthread / reactor name (without NUL): the kernel's thread-name limit. */
#define XS_RT_NAME_MAX 15

/** A lightweight thread to add. */
struct xs_lthread_spec {
	const char *name;     /**< short name for stats ("tpu", "w3"); NULL = "lt<N>" */
	xs_rt_poll_fn poll;   /**< required */
	void *arg;            /**< passed to poll/init/fini */
	size_t arg_size;      /**< 0: pass @c arg as is. 1..XS_RT_ARG_MAX: copy that many
	                           bytes of *arg now (the caller's copy may go away after
	                           xs_rt_add_lthread() returns), place them in the reactor's
	                           node-local block (cache-line aligned) at start, and pass
	                           that copy to poll/init/fini */
	xs_rt_init_fn init;   /**< optional */
	xs_rt_fini_fn fini;   /**< optional */
};

/* ------------------------------------------------------ runtime parameters */

/** What a reactor does after a round in which no lthread found work. */
enum xs_idle {
	XS_IDLE_SPIN = 0, /**< `pause` and poll again: lowest latency, burns the core */
	XS_IDLE_YIELD,    /**< spin spin_rounds idle rounds, then sched_yield() every idle round */
	XS_IDLE_BACKOFF,  /**< spin, then sleep 1 µs, 2 µs, ... up to backoff_max_us per idle round */
	XS_IDLE_FUTEX,    /**< spin, then sleep on the futex words of the shaq 3.0 queues its
	                       lthreads registered (xs_rt_lthread_wait_on()), woken by the
	                       producers' publications, at most backoff_max_us per sleep;
	                       backoff when nothing (or a queue without futex) is registered */
};

/** How planned CPUs become real CPUs. */
enum xs_rt_pin {
	XS_RT_PIN_EXACT = 0, /**< pin to the planned CPU (the plan's topology must be the real machine) */
	XS_RT_PIN_REMAP,     /**< reactor r is pinned to the r-th CPU of remap_cpus (modulo): runs a
	                          plan made on a synthetic topology on the real machine */
	XS_RT_PIN_NONE,      /**< do not pin (threads float over the process's affinity mask) */
};

/** Runtime flags. */
#define XS_RT_ALLOW_SHARED (1u << 0) /**< accept two reactors pinned to one CPU (refused otherwise) */

/** Parameters of a runtime. Initialise with xs_rt_params_init(). */
struct xs_rt_params {
	const struct xs_topo *topo; /**< the real machine's topology, used to bind each reactor's
	                                 memory to its CPU's node; NULL or not the system: no binding */
	enum xs_idle idle;          /**< default idle strategy of reactors (XS_IDLE_SPIN) */
	enum xs_rt_pin pin;         /**< XS_RT_PIN_EXACT */
	const struct xs_cpuset *remap_cpus; /**< XS_RT_PIN_REMAP targets; NULL: the affinity mask */
	unsigned flags;             /**< XS_RT_* */
	size_t stack_size;          /**< reactor thread stack; 0: system default */
	uint32_t spin_rounds;       /**< idle rounds spun before yielding / sleeping (1024) */
	uint32_t backoff_max_us;    /**< longest backoff sleep, also the stop latency bound (1000) */
	uint32_t pace_max;          /**< idle pacing: the first idle round after k items of work
	                                 pauses min(k, pace_max) times before polling again, so a
	                                 consumer leaves its producers' counter lines alone while
	                                 they publish the rest of a stream (one pause per idle
	                                 round after that). Cost: after a stream of k items the
	                                 next item can be seen up to min(k, pace_max) pauses late.
	                                 Default XS_RT_PACE_DEFAULT (64); 0 or 1: one pause. */
};

/** Default xs_rt_params.pace_max (= XS_SPSC_PACE_MAX, the pacing of xs_spsc_wait()). */
#define XS_RT_PACE_DEFAULT 64u

void xs_rt_params_init(struct xs_rt_params *p);

/** Opaque runtime: a set of reactors. */
struct xs_rt;

/** Create an empty runtime. @return 0 and *out, -EINVAL, -ENOMEM. */
int xs_rt_create(struct xs_rt **out, const struct xs_rt_params *p);

/**
 * Add a reactor (before start).
 * @param name thread name (<= 15 chars, "xs-..." by convention)
 * @param cpu planned CPU, or -1 for an unpinned reactor
 * @param idle its idle strategy, or -1 for the runtime's default
 * @return the reactor index, -XS_ERT_STATE (already started), -EINVAL, -ENOMEM.
 */
int xs_rt_add_reactor(struct xs_rt *rt, const char *name, int cpu, int idle);

/**
 * Add an lthread to reactor @p reactor (before start); it is polled after
 * the lthreads added to that reactor before it.
 * @return the lthread index (0, 1, ... across the runtime), -XS_ERT_STATE, -EINVAL, -ENOMEM.
 */
int xs_rt_add_lthread(struct xs_rt *rt, int reactor, const struct xs_lthread_spec *spec);

struct xs_shaq_waitref; /* xsched/shaq.h */

/**
 * Register a queue lthread @p lt consumes, for XS_IDLE_FUTEX (before start;
 * an lthread may register several). Get @p ref from xs_spsc_waitref() /
 * xs_mpmc_waitref() on the consumer handle (format 3.0); a ref with waiters
 * NULL declares a queue that cannot wake the reactor (it then backs off
 * instead). The queue must stay mapped while the runtime runs. Other idle
 * strategies ignore registrations.
 * An idle XS_IDLE_FUTEX reactor spins spin_rounds idle rounds, then does
 * waiters += 1 on each of its registered queues, a SeqCst fence, one more
 * poll round, then FUTEX_WAITV (FUTEX_WAIT for one queue) for at most
 * backoff_max_us, then waiters -= 1. Work flowing makes no system call.
 * @return 0, -EINVAL, -XS_ERT_STATE (started), -ENOMEM.
 */
int xs_rt_lthread_wait_on(struct xs_rt *rt, int lt, const struct xs_shaq_waitref *ref);

/**
 * Add a plan's reactors (named and pinned as planned; light reactors get
 * XS_IDLE_BACKOFF) and one lthread per task: @p specs[i] runs task i of the
 * plan (xs_plan_task(plan, i)); a NULL name takes the task's name.
 * With XS_RT_PIN_EXACT the plan's topology must be the real machine
 * (-XS_ERT_NOT_SYSTEM otherwise: use XS_RT_PIN_REMAP).
 * @return the lthread index of task 0 (task i is that + i), or a negative error.
 */
int xs_rt_add_plan(struct xs_rt *rt, const struct xs_plan *plan, const struct xs_lthread_spec *specs);

/**
 * Start every reactor: allocate its block on its node, create its thread
 * pinned to its CPU, name it, verify sched_getcpu(), run its lthreads' init
 * functions; only when all reactors are ready do they start polling.
 * @return 0; or -XS_ERT_PIN (pinning failed or a reactor found itself on
 *         another CPU), -XS_ERT_OVERSUB (two reactors on one CPU without
 *         XS_RT_ALLOW_SHARED), -XS_ERT_STATE, -XS_ERT_NOT_SYSTEM, an init
 *         function's error, -errno. On failure every thread started is
 *         stopped and joined; only xs_rt_destroy() remains to be called.
 */
int xs_rt_start(struct xs_rt *rt);

/**
 * Ask every reactor to stop after its current round. Async-signal-safe (one
 * lock-free atomic store), callable from any thread, a signal handler, or a
 * poll function; idempotent. Reactors notice within one round, plus at most
 * backoff_max_us when sleeping in XS_IDLE_BACKOFF.
 */
void xs_rt_stop(struct xs_rt *rt);

/** 1 once xs_rt_stop() was called (or an lthread failed). */
int xs_rt_stopping(const struct xs_rt *rt);

/**
 * Wait for every reactor thread to end (after xs_rt_stop(), or when all their
 * lthreads returned XS_RT_DONE). Not async-signal-safe.
 * @return 0, or the first error an lthread returned, or -XS_ERT_STATE (not started).
 */
int xs_rt_join(struct xs_rt *rt);

/** Stop and join if needed, then free everything (NULL is fine). */
void xs_rt_destroy(struct xs_rt *rt);

/**
 * Install a handler for @p signo that calls xs_rt_stop(@p rt) (e.g. SIGINT,
 * SIGTERM). One runtime at a time is the target of these handlers; passing
 * NULL as @p rt later makes them do nothing.
 * @return 0 or -errno.
 */
int xs_rt_stop_on_signal(struct xs_rt *rt, int signo);

int xs_rt_nreactors(const struct xs_rt *rt);
int xs_rt_nlthreads(const struct xs_rt *rt);

/** Counters of one lthread (each one monotonic; read while running). */
struct xs_lthread_stats {
	char name[XS_RT_NAME_MAX + 1];
	int reactor;          /**< index of its reactor */
	int state;            /**< XS_LT_* */
	int err;              /**< the error it returned (XS_LT_FAILED), else 0 */
	uint64_t polls;       /**< calls of its poll function */
	uint64_t busy_polls;  /**< calls that returned > 0 */
	uint64_t items;       /**< sum of the values returned */
};

/** lthread states. */
#define XS_LT_NEW     0 /**< not started */
#define XS_LT_RUNNING 1 /**< polled by its reactor */
#define XS_LT_DONE    2 /**< returned XS_RT_DONE */
#define XS_LT_FAILED  3 /**< returned an error */
#define XS_LT_STOPPED 4 /**< its reactor stopped */

/**
 * Read lthread @p lt's counters: relaxed loads, from any thread once
 * xs_rt_start() has returned (and until xs_rt_destroy()). Each counter is
 * exact; the three are not one atomic snapshot. @return 0 or -EINVAL.
 */
int xs_rt_lthread_stats(const struct xs_rt *rt, int lt, struct xs_lthread_stats *out);

/** State and counters of one reactor. */
struct xs_reactor_info {
	char name[XS_RT_NAME_MAX + 1];
	int cpu;            /**< CPU it is pinned to (after remapping), -1 when unpinned */
	int plan_cpu;       /**< CPU asked for by the plan / xs_rt_add_reactor() */
	int observed_cpu;   /**< sched_getcpu() on the thread once started, -1 before */
	int node;           /**< node index of its CPU in params.topo, -1 unknown */
	int mem_node;       /**< node its block was bound to, -1 when not bound */
	pid_t tid;          /**< kernel thread id, 0 before start */
	int idle;           /**< enum xs_idle */
	int nlthreads;
	size_t mem_bytes;   /**< bytes the runtime allocated for it, besides its stack */
	uint64_t rounds;    /**< loop rounds */
	uint64_t idle_rounds; /**< rounds in which no lthread found work */
	uint64_t yields;    /**< sched_yield() calls (XS_IDLE_YIELD) */
	uint64_t sleeps;    /**< sleeps (XS_IDLE_BACKOFF, XS_IDLE_FUTEX) */
	int running;        /**< 1 between start and thread exit */
};

/** Read reactor @p r's state (any thread once xs_rt_start() has returned). @return 0 or -EINVAL. */
int xs_rt_reactor_info(const struct xs_rt *rt, int r, struct xs_reactor_info *out);

/**
 * Print reactors and lthreads with their counters: a table, or with
 * @p json != 0 one JSON object (schema "xsched.rt/1").
 * @return 0 or -EIO.
 */
int xs_rt_print(const struct xs_rt *rt, FILE *f, int json);

/** "spin" / "yield" / "backoff" / "futex". */
const char *xs_idle_name(enum xs_idle i);
/** Parse an idle strategy name. @return the strategy or -XS_ERT_OPTION. */
int xs_idle_parse(const char *s);

/* ------------------------------------------------------ standard options */

/**
 * The options every xsched program accepts, parsed by one shared parser:
 *   --cpus LIST          CPUs it may use (default: the allowed set)
 *   --placement POLICY   dedicated | spill | packed (default dedicated)
 *   --idle STRATEGY      spin | yield | backoff | futex (default spin)
 *   --topology SPEC      synthetic string or XML file (default: $XS_TOPOLOGY, else the machine)
 *   --allow-smt          busy tasks may share a core's SMT siblings
 *   --use-housekeeping   do not keep a housekeeping core free
 *
 * Use inside any getopt_long loop:
 *
 *   static const struct option longopts[] = {
 *       { "help", no_argument, NULL, 'h' },
 *       XS_RT_LONG_OPTIONS,
 *       { NULL, 0, NULL, 0 },
 *   };
 *   struct xs_rt_opts ro;
 *   xs_rt_opts_init(&ro);
 *   while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
 *       int r = xs_rt_opts_parse(&ro, c, optarg);
 *       if (r > 0) continue;                       // one of ours, taken
 *       if (r < 0) { fprintf(stderr, "%s: %s\n", prog, xs_errmsg()); exit(2); }
 *       switch (c) { ... the program's own options ... }
 *   }
 */
struct xs_rt_opts {
	struct xs_cpuset cpus;           /**< --cpus (valid when has_cpus) */
	int has_cpus;
	enum xs_place_policy placement;  /**< --placement */
	enum xs_idle idle;               /**< --idle */
	unsigned place_flags;            /**< --allow-smt, --use-housekeeping (XS_PLACE_*) */
	const char *topology;            /**< --topology (points into argv), NULL = default */
	uint32_t pace_max;               /**< --pace (xs_rt_params.pace_max) */
};

/** getopt_long values of the standard options (above any character). */
enum xs_rt_opt_id {
	XS_RT_OPT_CPUS = 0x4401,
	XS_RT_OPT_PLACEMENT,
	XS_RT_OPT_IDLE,
	XS_RT_OPT_TOPOLOGY,
	XS_RT_OPT_ALLOW_SMT,
	XS_RT_OPT_USE_HOUSEKEEPING,
	XS_RT_OPT_PACE,
};

/** struct option initialisers for the standard options (1 = required_argument). */
#define XS_RT_LONG_OPTIONS                                                   \
	{ "cpus", 1, NULL, XS_RT_OPT_CPUS },                                 \
	{ "placement", 1, NULL, XS_RT_OPT_PLACEMENT },                       \
	{ "idle", 1, NULL, XS_RT_OPT_IDLE },                                 \
	{ "topology", 1, NULL, XS_RT_OPT_TOPOLOGY },                         \
	{ "allow-smt", 0, NULL, XS_RT_OPT_ALLOW_SMT },                       \
	{ "use-housekeeping", 0, NULL, XS_RT_OPT_USE_HOUSEKEEPING },         \
	{ "pace", 1, NULL, XS_RT_OPT_PACE }

/** Defaults: no --cpus, dedicated, spin, no flags, topology NULL. */
void xs_rt_opts_init(struct xs_rt_opts *o);

/**
 * Handle one getopt_long result.
 * @return 1 when @p opt is a standard option (applied), 0 when it is not
 *         (the program handles it), -XS_ERT_OPTION for a bad value, with a
 *         one-line message in xs_errmsg() ("--placement: 'pack' is not one of
 *         dedicated, spill, packed").
 */
int xs_rt_opts_parse(struct xs_rt_opts *o, int opt, const char *optarg);

/** Print the standard options' help lines (for a program's usage()). */
void xs_rt_opts_usage(FILE *f);

/** Load the topology the options name (--topology, else $XS_TOPOLOGY, else the machine). */
int xs_rt_opts_topo(const struct xs_rt_opts *o, struct xs_topo **out);

/**
 * Fill placement options from the standard options (policy, flags, and cpus
 * pointing at @p o->cpus when --cpus was given); mem_node and housekeeping_cpu
 * are left as xs_plan_opts_init() sets them. @p o must outlive @p po.
 */
void xs_rt_opts_plan(const struct xs_rt_opts *o, struct xs_plan_opts *po);

/** Fill runtime parameters from the standard options (idle strategy). */
void xs_rt_opts_params(const struct xs_rt_opts *o, struct xs_rt_params *p);

/* ------------------------------------------------------ session glue */

struct xs_session;           /* client session, xsched/handshake.h */
struct xs_vsession;          /* validator-side session, xsched/handshake.h */
struct xs_spsc;              /* xsched/spsc.h */
struct xs_mpmc;              /* xsched/mpmc.h */
struct xs_tpu_to_pack;       /* xsched/msg.h */
struct xs_progress;
struct xs_pack_to_worker;
struct xs_worker_to_pack;

/** Task numbers the session glue passes to init / fini / on_msg: the
 *  "tpu" lthread, the client's "chk" lthread, and validator check worker k
 *  (XS_RT_TASK_CHECK - k); execution worker i is i (>= 0). */
#define XS_RT_TASK_TPU   (-1)
#define XS_RT_TASK_CHECK (-2)

/**
 * The client's (external scheduler's) callbacks. Any callback may be NULL.
 * Each message callback returns >= 0 to go on or a negative error to stop
 * the runtime (xs_rt_join() returns it). Every message taken counts as one
 * item in the lthread's counters, plus what the *_poll callbacks return.
 *
 * Generations. The typed callbacks (on_progress, on_tpu, on_result) get
 * each message as it is in the queue, with VERSION 2's struct type; that
 * type describes the bytes where the generation's layout agrees
 * (TpuToPackMessage: every generation; the 48-byte ProgressMessage:
 * VERSION 1-3; WorkerToPackMessage: VERSION 1-5, with VERSION 1's and the
 * SDK's meanings). For any generation use on_msg instead: it receives
 * every message with its type and the session's bindings id, to be cast to
 * that version's struct of xsched/msg.h (struct xs_v4_progress,
 * xs_v6_progress, xs_v1_worker_to_pack, xs_v6_exec_to_pack, ...).
 * Sessions with check queues (VERSION 5, SDK) get one more lthread, "chk":
 * check_worker_to_pack (MPMC consumer) first, then check_poll with the
 * pack_to_check_worker producer.
 */
struct xs_rt_client_cbs {
	void *user;            /**< first argument of every callback */
	unsigned burst;        /**< most messages taken from one queue per poll (0: 64) */
	/* "tpu" lthread: progress_tracker first, then tpu_to_pack */
	int (*on_progress)(void *user, const struct xs_progress *m);
	int (*on_tpu)(void *user, const struct xs_tpu_to_pack *m);
	/** After draining: scheduling work. @return items done (>= 0) or an error. */
	int (*tpu_poll)(void *user);
	/* "w<i>" lthread: worker_to_pack first, then worker_poll */
	int (*on_result)(void *user, int worker, const struct xs_worker_to_pack *m);
	/** Push new batches into @p pack_to_worker. @return items pushed or an error. */
	int (*worker_poll)(void *user, int worker, struct xs_spsc *pack_to_worker);
	/** Per-lthread init/fini on the reactor thread: @p task is -1 for tpu, else the worker. */
	int (*init)(void *user, int task);
	void (*fini)(void *user, int task);
	/** Peer death (see "Peer watch" below): called once when the server exits. */
	void (*on_peer_death)(void *user, pid_t pid);
	/** Nonzero: stop the runtime when the peer exits (xs_rt_join() -> -XS_ERT_PEER_GONE). */
	int stop_on_peer_death;
	/* ---- every generation ---- */
	/**
	 * Raw form of every consumer callback: when set, each message of
	 * tpu_to_pack, progress_tracker, worker_to_pack[i] and
	 * check_worker_to_pack comes here instead of on_tpu / on_progress /
	 * on_result / on_check_result. @p task: XS_RT_TASK_TPU, the worker,
	 * or XS_RT_TASK_CHECK; @p type: enum xs_msg_type (XS_MSG_TPU_TO_PACK,
	 * XS_MSG_PROGRESS, XS_MSG_WORKER_TO_PACK, XS_MSG_CHECK_TO_PACK);
	 * @p bindings: enum xs_bindings_id of the session (s->proto->bindings).
	 */
	int (*on_msg)(void *user, int task, unsigned type, unsigned bindings, const void *m);
	/** "chk" lthread, each check_worker_to_pack message (V5: struct
	 *  xs_worker_to_pack, SDK: struct xs_v6_check_to_pack) when on_msg is NULL. */
	int (*on_check_result)(void *user, unsigned bindings, const void *m);
	/** "chk" lthread, after draining: push check requests into @p pack_to_check
	 *  (MPMC producer; V5: struct xs_pack_to_worker, SDK: struct
	 *  xs_v6_pack_to_check). @return items pushed or an error. */
	int (*check_poll)(void *user, struct xs_mpmc *pack_to_check);
};

/**
 * The validator side's callbacks (mock validators, tests). on_work's
 * struct has one layout in every generation (flags u16 @0, the slot @8,
 * the batch @16; the flags' meanings are the bindings'). Sessions with
 * check queues get one lthread per check worker k ("c<k>"), each with its
 * own handles on the shared MPMC queues (xs_vsession.check_workers[k]).
 */
struct xs_rt_validator_cbs {
	void *user;
	unsigned burst;        /**< as above */
	/** "tpu" lthread: produce into tpu_to_pack / progress_tracker. @return items or error. */
	int (*tpu_poll)(void *user, struct xs_spsc *tpu_to_pack, struct xs_spsc *progress);
	/** "w<i>" lthread, for each batch from pack_to_worker: answer into @p worker_to_pack. */
	int (*on_work)(void *user, int worker, const struct xs_pack_to_worker *m,
		       struct xs_spsc *worker_to_pack);
	/** Per-lthread init/fini, as for the client. */
	int (*init)(void *user, int task);
	void (*fini)(void *user, int task);
	/** Peer death, as for the client: the peer is the scheduler process. */
	void (*on_peer_death)(void *user, pid_t pid);
	int stop_on_peer_death;
	/* ---- every generation ---- */
	/** "c<k>" lthread, for each request check worker @p check_worker takes from
	 *  pack_to_check_worker (@p m: V5 struct xs_pack_to_worker, SDK struct
	 *  xs_v6_pack_to_check; @p bindings: enum xs_bindings_id): answer into
	 *  @p check_to_pack (its own MPMC producer handle). */
	int (*on_check)(void *user, int check_worker, unsigned bindings, const void *m,
			struct xs_mpmc *check_to_pack);
	/** "c<k>" lthread, after draining (optional). @return items or an error. */
	int (*check_poll)(void *user, int check_worker, struct xs_mpmc *check_to_pack);
};

/*
 * Peer watch. When a callbacks struct sets on_peer_death or
 * stop_on_peer_death, the builder watches the session's peer_pid
 * (SO_PEERCRED) through a pidfd (xsched/guard.h: one watcher thread,
 * created by the builder, so it inherits the builder's CPU affinity: build
 * from a housekeeping thread). When the peer exits, on that watcher thread
 * and within milliseconds: the dead flag that xs_rt_peer() points at is set,
 * then on_peer_death(user, pid) runs (keep it short and non-blocking: it
 * may call async-signal-safe functions, e.g. xs_rt_stop()), then, with
 * stop_on_peer_death, the runtime is stopped and xs_rt_join() returns
 * -XS_ERT_PEER_GONE (unless an lthread failed first). A peer already gone at
 * build time is reported the same way, the stop then taking effect at
 * xs_rt_start(). Lightweight threads that want to notice it themselves test
 * xs_peer_alive(xs_rt_peer(rt)): one load, no system call. xs_rt_destroy()
 * stops the watcher first (the callback is not running once it returns).
 *
 * Off by default (both fields zero, as in a zero-initialised struct), so
 * programs that wire their own xs_peer_watcher keep exactly their former
 * behaviour. One watched session per runtime; a session without a peer_pid
 * (0: not a Unix-socket peer) makes the builder fail with -XS_ERT_SESSION.
 */

struct xs_peer; /* xsched/guard.h */

/**
 * The peer watched for @p rt by the session glue, NULL when none. Valid until
 * xs_rt_destroy(); test it with xs_peer_alive() (xsched/guard.h).
 */
const struct xs_peer *xs_rt_peer(const struct xs_rt *rt);

/**
 * Node holding a session's shared memory: every queue file and allocator
 * mapping of the session, counted page by page over the pages already in
 * memory (XS_MEM_RESIDENT | XS_MEM_COUNT). Nothing is faulted in: asking
 * never places a page (a page first touched by the planning thread would
 * land on its node, and the plan would follow it).
 * @param t the real machine's topology.
 * @return the node count as xs_mem_nodes() (1: one node; > 1: mixed, loc->node
 *         is the node with most pages), -XS_ERT_UNPOPULATED when no page is in
 *         memory yet (not placed yet), or a negative error.
 */
int xs_rt_session_node(const struct xs_topo *t, const struct xs_session *s, struct xs_mem_loc *loc);
int xs_rt_vsession_node(const struct xs_topo *t, const struct xs_vsession *s, struct xs_mem_loc *loc);

/**
 * Build the standard plan for a client session and add it to @p rt: one
 * "tpu" lthread (progress_tracker + tpu_to_pack consumers) and one "w<i>"
 * lthread per worker pair (worker_to_pack consumer + pack_to_worker
 * producer), placed on the node of the session's memory (located with
 * xs_rt_session_node() when @p po->mem_node is -1 and @p t is the real
 * machine; otherwise @p po->mem_node, or the plan's choice) with the user's
 * callbacks inside.
 * @param plan_out receives the plan (caller destroys it after the runtime); may be NULL.
 * With on_peer_death / stop_on_peer_death set, also starts the peer watch
 * (see "Peer watch" above); a failed build leaves no watch behind.
 * Consumer queues of shaq format 3.0 (SDK sessions) are registered with
 * xs_rt_lthread_wait_on() for the lthread that reads them, so reactors with
 * XS_IDLE_FUTEX sleep on them.
 * @return the lthread index of "tpu" (worker i is that + 1 + i, "chk" that +
 *         1 + W), or a negative error (-XS_ERT_NO_CORES with the plan's
 *         message, -XS_ERT_SESSION, -XS_ERT_STATE when the runtime already
 *         watches a peer, ...).
 */
int xs_rt_client_build(struct xs_rt *rt, struct xs_plan **plan_out, struct xs_session *s,
		       const struct xs_topo *t, const struct xs_plan_opts *po,
		       const struct xs_rt_client_cbs *cbs);

/** The same for a validator-side session ("tpu", "w<i>", then check worker k
 *  "c<k>" at the returned index + 1 + W + k). */
int xs_rt_validator_build(struct xs_rt *rt, struct xs_plan **plan_out, struct xs_vsession *s,
			  const struct xs_topo *t, const struct xs_plan_opts *po,
			  const struct xs_rt_validator_cbs *cbs);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_RUNTIME_H */
