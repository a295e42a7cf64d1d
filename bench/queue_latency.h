/* SPDX-License-Identifier: Apache-2.0 */
/*
 * queue_latency internals: the interface every transport (xsched, the
 * system baselines, the peers) implements, and the loop template that makes
 * them all measure exactly the same way.
 *
 * Roles: side A runs on cfg->cpu_a (ping-pong initiator, stream producer),
 * side B on cfg->cpu_b (echo, stream consumer). Messages are msg_size bytes;
 * word 0 carries the sequence number (checked by the receiver), word 1 the
 * send timestamp where a row needs one, the rest a fixed pattern.
 *
 * Waiting: every spinning receiver waits the way cfg->paced says, the same
 * for every queue. 0 (default rows): poll, and when nothing is there one
 * bench_relax() (== xs_cpu_relax(), a reactor's idle round) before polling
 * again; 1 (the *_paced rows): xsched calls xs_spsc_wait(), the peers
 * follow its pacing through bench_spin_*(). A sender finding its queue full
 * retries after one bench_relax().
 *
 * Valid C11 and C++ (the Boost peer is a C++ translation unit).
 */
#ifndef XS_BENCH_QUEUE_LATENCY_H
#define XS_BENCH_QUEUE_LATENCY_H

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"

#ifdef __cplusplus
extern "C" {
#endif

#define QL_MAX_MSG   1024u
#define QL_MAX_WORDS (QL_MAX_MSG / 8)
#define QL_STOP      UINT64_MAX /* ping-pong: "stop echoing" */

/** Parameters of one row. */
struct ql_cfg {
	int cpu_a, cpu_b;
	size_t msg_size;     /**< bytes, multiple of 8, 8..1024 */
	uint32_t capacity;   /**< ring slots (power of two) */
	uint64_t iters;      /**< latency samples */
	uint64_t warmup;     /**< unrecorded round trips first */
	double duration_s;   /**< time cap of the row */
	int trials;          /**< throughput trials (median reported) */
	uint32_t batch;      /**< commit every `batch` messages (xsched stream rows) */
	double gap_ns;       /**< one-way row: send period */
	int huge;            /**< queues: try huge pages first */
	int paced;           /**< receivers: 0 poll + relax, 1 the pacing of xs_spsc_wait() */
	double trial_s;      /**< throughput: length of one trial (seconds) */
};

/** What a row reports besides its numbers. */
struct ql_result {
	uint64_t errors;   /**< lost / reordered / corrupt messages (must be 0) */
	char note[160];    /**< caveat or, with -ENOTSUP, why the row cannot run */
	const char *huge;  /**< "yes"/"no" when the row placed queues in shared memory */
	double best;       /**< throughput: best trial */
	uint64_t negative; /**< one-way: samples where the receiver's clock was behind */
	const char *consumer; /**< stream: "burst64" (one release per burst) or "single" */
	const char *wait;  /**< how the receiver waited, when the transport decides it
	                        (blocking baselines, reactor rows); NULL: from cfg->paced */
	double rounds_per_msg[2]; /**< reactor rows: loop rounds per message, side a / b */
	double idle_share[2];     /**< reactor rows: share of the rounds that found nothing */
};

typedef int (*ql_latency_fn)(const struct ql_cfg *c, struct bench_hist *h, struct ql_result *r);
typedef int (*ql_stream_fn)(const struct ql_cfg *c, double *msgs_per_s, struct ql_result *r);

/** One kind of channel: its latency and throughput measurements. */
struct ql_transport {
	const char *name; /**< row name (latency and throughput rows share it) */
	const char *what; /**< one line for --list and the README */
	ql_latency_fn pingpong;
	ql_stream_fn stream;
};

/* Transports, one file each. NULL pingpong/stream: not measured. */
extern const struct ql_transport ql_xsched_thread;  /* queue_latency_xsched.c */
extern const struct ql_transport ql_xsched_oneway;
extern const struct ql_transport ql_xsched_b1, ql_xsched_b8, ql_xsched_b64;
extern const struct ql_transport ql_xsched_rt;      /* both ends lthreads in reactors */
extern const struct ql_transport ql_pipe, ql_socketpair, ql_eventfd, ql_mutex; /* _sys.c */
extern const struct ql_transport ql_boost, ql_ck, ql_dpdk; /* peers, when built */
extern const struct ql_transport ql_xsched_process;        /* queue_latency_process.c */

/** Sizes the peers are compiled for (their message is a fixed C type). */
#define QL_PEER_SIZES(X) X(8) X(16) X(24) X(32) X(40) X(48) X(56) X(64) X(128) X(256)

/** Fill a message template: word 0 = 0 (sequence), the rest a pattern. */
static inline void ql_msg_init(uint64_t *m, size_t size)
{
	size_t i;

	for (i = 0; i < size / 8; i++)
		m[i] = i ? 0x0101010101010101ull * i : 0;
}

/*
 * Outgoing messages are double-buffered: message i goes from out[i & 1],
 * whose sequence word was written one iteration earlier (QL_NEXT_SEQ writes
 * i + 1 into the other buffer). Writing word 0 just before copying the
 * message with 16-byte loads would make every copy wait on a failed
 * store-to-load forward, a cost of the harness, not of the queue under test.
 */
#define QL_NEXT_SEQ(out, i)                  \
	do {                                 \
		if ((i) == 0)                \
			(out)[0][0] = 0;     \
		(out)[((i) + 1) & 1][0] = (i) + 1; \
	} while (0)

/** State shared by the two sides of one run. */
struct ql_run {
	struct bench_barrier bar;
	void *pair;                 /**< the transport's channel pair */
	const struct ql_cfg *cfg;
	struct bench_hist *hist;
	uint64_t n;                 /**< stream: messages in this trial */
	uint64_t t_start, t_end;    /**< stream: producer start, consumer end (ticks) */
	uint64_t deadline;          /**< stream: past it, the producer cuts the trial short */
	uint64_t cut;               /**< stream: messages the trial ends at when cut short
	                                 (UINT64_MAX: not cut; ql_stream_cut()) */
	uint64_t errors;
	uint64_t negative;          /**< one-way: samples with the receiver's clock behind */
};

/*
 * A stream trial past its deadline (a regime change, another process on the
 * CPU) is cut short instead of running many times longer than planned: the
 * producer, checking every 1024 messages, announces a final count
 * QL_CUT_AHEAD messages ahead and stops there; the consumer, checking at
 * least every 256 messages, stops there too. The announcement rides on the
 * queue's own release/acquire (every transport has one): a consumer that
 * received a message sent after the store of `cut` sees it.
 */
#define QL_CUT_AHEAD 1024

/** Producer, every 1024 messages at @p i: the count to stop at (@p n, or a
 *  cut announced now). */
static inline uint64_t ql_stream_cut(struct ql_run *run, uint64_t i, uint64_t n)
{
	uint64_t cut;

	if (run->cut != UINT64_MAX || bench_ticks() <= run->deadline)
		return n; /* already cut (only this side writes it), or in time */
	cut = i + QL_CUT_AHEAD < n ? i + QL_CUT_AHEAD : n;
	/* Release: pairs with the consumer's Acquire in ql_stream_seen_cut();
	 * the messages sent after it carry the ordering to the consumer. */
	__atomic_store_n(&run->cut, cut, __ATOMIC_RELEASE);
	return cut;
}

/** Consumer, at least every 256 messages: the count to stop at. */
static inline uint64_t ql_stream_seen_cut(struct ql_run *run, uint64_t n)
{
	/* Acquire pairs with the producer's Release in ql_stream_cut(). */
	uint64_t cut = __atomic_load_n(&run->cut, __ATOMIC_ACQUIRE);

	return cut < n ? cut : n;
}

/** One side of a run (an lthread body). */
typedef void *(*ql_side_fn)(void *);

/** The loops of a peer for one compiled message size (QL_DEFINE_LOOPS, and
 *  QL_DEFINE_BURST_CONSUMER when the peer has a burst dequeue, else NULL). */
struct ql_loops {
	size_t size;
	ql_side_fn pp_a, pp_b, st_a, st_b;
	ql_side_fn stb_b;
};

/** The entry of @p table (ended by size 0) for the message size of @p c, or
 *  NULL with "<peer> is compiled for ..." in r->note. */
const struct ql_loops *ql_find_loops(const struct ql_loops *table, const struct ql_cfg *c,
				     const char *peer, struct ql_result *r);

/** The stream consumer of @p l: its burst one when it has one and
 *  --peer-consumer is burst (r->consumer says which). */
ql_side_fn ql_stream_consumer(const struct ql_loops *l, struct ql_result *r);

/*
 * QL_DEFINE_PEER_RUNNERS(P, PAIR, OPEN, CLOSE): P##_pp and P##_st of a peer
 * whose channel pair opens with OPEN(cfg, &pair, &loops, result) (a
 * struct ql_loops entry for the message size) and closes with CLOSE(pair).
 */
#define QL_DEFINE_PEER_RUNNERS(P, PAIR, OPEN, CLOSE)                                      \
	static int P##_pp(const struct ql_cfg *c, struct bench_hist *h, struct ql_result *r) \
	{                                                                                 \
		const struct ql_loops *l;                                                 \
		PAIR *p;                                                                  \
		int rc = OPEN(c, &p, &l, r);                                              \
                                                                                          \
		if (rc < 0)                                                               \
			return rc;                                                        \
		rc = ql_run_pingpong(c, p, l->pp_a, l->pp_b, h, r);                       \
		CLOSE(p);                                                                 \
		return rc;                                                                \
	}                                                                                 \
	static int P##_st(const struct ql_cfg *c, double *rate, struct ql_result *r)      \
	{                                                                                 \
		const struct ql_loops *l;                                                 \
		PAIR *p;                                                                  \
		int rc = OPEN(c, &p, &l, r);                                              \
                                                                                          \
		if (rc < 0)                                                               \
			return rc;                                                        \
		rc = ql_run_stream(c, p, l->st_a, ql_stream_consumer(l, r), rate, r);     \
		CLOSE(p);                                                                 \
		return rc;                                                                \
	}

/** Run a ping-pong (or any latency run: the one-way row): fa on A, fb on B,
 *  over @p pair; errors and negative samples are added to @p r. */
int ql_run_pingpong(const struct ql_cfg *c, void *pair, void *(*fa)(void *),
		    void *(*fb)(void *), struct bench_hist *h, struct ql_result *r);
/** Deadline of one stream trial (ticks): 4 x cfg->trial_s, at least 50 ms. */
uint64_t ql_trial_deadline(const struct ql_cfg *c);
/** Seconds to report to bench_trials() for a trial of @p n messages that
 *  moved @p done (UINT64_MAX or >= n: all) between the two tick stamps. */
double ql_trial_seconds(uint64_t t_start, uint64_t t_end, uint64_t n, uint64_t done);
/** Run throughput trials: fa (producer) on A, fb (consumer) on B. */
int ql_run_stream(const struct ql_cfg *c, void *pair, void *(*fa)(void *), void *(*fb)(void *),
		  double *msgs_per_s, struct ql_result *r);

/*
 * QL_DEFINE_LOOPS(P, PAIR, AB, BA, SEND, RECV, SZ)
 *
 * Defines P##_pp_a, P##_pp_b (ping-pong initiator and echo) and P##_st_a,
 * P##_st_b (stream producer and consumer) for a transport whose channel
 * pair type is PAIR with members AB (A to B) and BA (B to A).
 *   SEND(ch, msg, sz): send the sz-byte message at msg (uint64_t *), waiting
 *                  as the transport waits (spinning with bench_relax() or
 *                  blocking).
 *   RECV(ch, msg, sz): receive one message into msg, waiting likewise
 *                  (peers: QL_RECV_SPIN(expr); xsched: poll + relax, or
 *                  xs_spsc_wait() when paced_ (the run's cfg->paced) is set).
 *   SZ: the message size as an expression evaluated inside the loops: a
 *       constant for size-specialised instantiations (the copy is then
 *       inlined, as a typed queue would do), or run_->cfg->msg_size.
 * Every transport therefore runs the very same loop, timing, checks and
 * stop protocol; only SEND/RECV differ.
 */
#define QL_DEFINE_LOOPS(P, PAIR, AB, BA, SEND, RECV, SZ)                                \
	static void *P##_pp_a(void *arg)                                                \
	{                                                                               \
		struct ql_run *run_ = (struct ql_run *)arg;                             \
		PAIR *pair_ = (PAIR *)run_->pair;                                       \
		const struct ql_cfg *c_ = run_->cfg;                                    \
		uint64_t out_[2][QL_MAX_WORDS], in_[QL_MAX_WORDS];                      \
		uint64_t i_, err_ = 0;                                                  \
		struct bench_window w_;                                                 \
		struct bench_spin spin_ = {0};                                          \
		const int paced_ = c_->paced;                                           \
		(void)spin_; /* blocking transports do not spin */                      \
		(void)paced_;                                                           \
		ql_msg_init(out_[0], c_->msg_size);                                     \
		ql_msg_init(out_[1], c_->msg_size);                                     \
		bench_barrier_wait(&run_->bar);                                         \
		bench_window_start(&w_, c_->warmup, c_->iters, c_->duration_s);         \
		for (i_ = 0; !w_.done; i_++) {                                          \
			uint64_t t0_, t1_, *o_ = out_[i_ & 1];                          \
			QL_NEXT_SEQ(out_, i_);                                          \
			t0_ = bench_ticks();                                            \
			SEND(&pair_->AB, o_, (SZ));                                     \
			RECV(&pair_->BA, in_, (SZ));                                    \
			t1_ = bench_ticks();                                            \
			err_ += in_[0] != i_;                                           \
			if (bench_window_step(&w_, i_, t1_))                            \
				bench_hist_record(run_->hist, t1_ - t0_);               \
		}                                                                       \
		out_[0][0] = QL_STOP;                                                   \
		SEND(&pair_->AB, out_[0], (SZ));                                              \
		run_->errors += err_;                                                   \
		return NULL;                                                            \
	}                                                                               \
	static void *P##_pp_b(void *arg)                                                \
	{                                                                               \
		struct ql_run *run_ = (struct ql_run *)arg;                             \
		PAIR *pair_ = (PAIR *)run_->pair;                                       \
		uint64_t in_[QL_MAX_WORDS];                                             \
		struct bench_spin spin_ = {0};                                          \
		const int paced_ = run_->cfg->paced;                                    \
		(void)spin_; /* blocking transports do not spin */                      \
		(void)paced_;                                                           \
		bench_barrier_wait(&run_->bar);                                         \
		for (;;) {                                                              \
			RECV(&pair_->AB, in_, (SZ));                                          \
			if (in_[0] == QL_STOP)                                          \
				break;                                                  \
			SEND(&pair_->BA, in_, (SZ));                                          \
		}                                                                       \
		return NULL;                                                            \
	}                                                                               \
	static void *P##_st_a(void *arg)                                                \
	{                                                                               \
		struct ql_run *run_ = (struct ql_run *)arg;                             \
		PAIR *pair_ = (PAIR *)run_->pair;                                       \
		uint64_t out_[2][QL_MAX_WORDS], i_, n_ = run_->n;                       \
		ql_msg_init(out_[0], run_->cfg->msg_size);                              \
		ql_msg_init(out_[1], run_->cfg->msg_size);                              \
		bench_barrier_wait(&run_->bar);                                         \
		run_->t_start = bench_ticks();                                          \
		for (i_ = 0; i_ < n_; i_++) {                                           \
			if ((i_ & 1023) == 0)                                           \
				n_ = ql_stream_cut(run_, i_, n_);                       \
			QL_NEXT_SEQ(out_, i_);                                          \
			SEND(&pair_->AB, out_[i_ & 1], (SZ));                                 \
		}                                                                       \
		return NULL;                                                            \
	}                                                                               \
	static void *P##_st_b(void *arg)                                                \
	{                                                                               \
		struct ql_run *run_ = (struct ql_run *)arg;                             \
		PAIR *pair_ = (PAIR *)run_->pair;                                       \
		uint64_t in_[QL_MAX_WORDS], i_, n_ = run_->n, err_ = 0;                 \
		struct bench_spin spin_ = {0};                                          \
		const int paced_ = run_->cfg->paced;                                    \
		(void)spin_; /* blocking transports do not spin */                      \
		(void)paced_;                                                           \
		bench_barrier_wait(&run_->bar);                                         \
		for (i_ = 0; i_ < n_; i_++) {                                           \
			RECV(&pair_->AB, in_, (SZ));                                          \
			err_ += in_[0] != i_;                                           \
			if ((i_ & 255) == 0)                                            \
				n_ = ql_stream_seen_cut(run_, n_);                      \
		}                                                                       \
		run_->t_end = bench_ticks();                                            \
		run_->errors += err_;                                                   \
		return NULL;                                                            \
	}

/*
 * QL_DEFINE_BURST_CONSUMER(P, PAIR, AB, RECV_BURST, SZ)
 *
 * Defines P##_stb_b, a stream consumer for peers whose API can take several
 * messages with one release (Boost pop(T *, n), DPDK dequeue_burst): it
 * waits for one, takes what else is there up to QL_BURST, checks each, as
 * the xsched stream consumer does with poll + one finalize. Pair it with
 * P##_st_a. RECV_BURST(ch, buf, max, sz) copies up to max messages into buf
 * (sz bytes apart) and returns how many (0: empty, nothing released).
 */
#define QL_BURST 64
#define QL_DEFINE_BURST_CONSUMER(P, PAIR, AB, RECV_BURST, SZ)                         \
	static void *P##_stb_b(void *arg)                                               \
	{                                                                               \
		struct ql_run *run_ = (struct ql_run *)arg;                             \
		PAIR *pair_ = (PAIR *)run_->pair;                                       \
		uint64_t buf_[QL_BURST * QL_MAX_WORDS], i_ = 0, n_ = run_->n, err_ = 0; \
		struct bench_spin spin_ = {0};                                          \
		const int paced_ = run_->cfg->paced;                                    \
		bench_barrier_wait(&run_->bar);                                         \
		while (i_ < n_) {                                                       \
			size_t k_, j_, max_ = n_ - i_ < QL_BURST ? (size_t)(n_ - i_)    \
								   : QL_BURST;  \
			while (!(k_ = RECV_BURST(&pair_->AB, buf_, max_, (SZ)))) {      \
				if (paced_)                                             \
					bench_spin_empty(&spin_);                       \
				else                                                    \
					bench_relax();                                  \
			}                                                               \
			bench_spin_got_n(&spin_, (uint32_t)k_);                         \
			for (j_ = 0; j_ < k_; j_++)                                     \
				err_ += buf_[j_ * ((SZ) / 8)] != i_ + j_;               \
			i_ += k_;                                                       \
			n_ = ql_stream_seen_cut(run_, n_);                              \
		}                                                                       \
		run_->t_end = bench_ticks();                                            \
		run_->errors += err_;                                                   \
		return NULL;                                                            \
	}

/** Sender side: spin until EXPR (room in the queue) is true. */
#define QL_SPIN_UNTIL(expr)                  \
	do {                                 \
		while (!(expr))              \
			bench_relax();       \
	} while (0)

/** --peer-consumer: 1 (burst, default) peers with a burst dequeue stream with
 *  it (P##_stb_b); 0 (single) one message, one release at a time (P##_st_b). */
extern int ql_peer_burst;

/** Receiver side of a spinning transport: until EXPR (a message taken) is
 *  true, one bench_relax() per empty try (the reactor's idle round), or with
 *  paced_ (cfg->paced, the *_paced rows) the pacing of xs_spsc_wait()
 *  (struct bench_spin spin_ of the enclosing loop). */
#define QL_RECV_SPIN(expr)                                   \
	do {                                                 \
		while (!(expr)) {                            \
			if (paced_)                          \
				bench_spin_empty(&spin_);    \
			else                                 \
				bench_relax();               \
		}                                            \
		bench_spin_got(&spin_);                      \
	} while (0)

#ifdef __cplusplus
}
#endif
#endif /* XS_BENCH_QUEUE_LATENCY_H */
