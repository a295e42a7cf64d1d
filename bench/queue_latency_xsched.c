/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched rows of queue_latency, between two threads of one process:
 *   xsched_pingpong_thread  round trip over two shaq 1.0 queues
 *   xsched_oneway           one-way latency of a steady stream (timestamps in
 *                           the messages)
 *   xsched_stream_b1/b8/b64 streaming throughput, producer committing every
 *                           message / every 8 / every 64; the consumer, the
 *                           same in all three, takes up to 64 and finalizes
 *   xsched_rt               both ends lthreads of the runtime, each on its
 *                           own pinned reactor, written as production poll
 *                           functions (a bounded step per call, return to
 *                           the reactor loop when nothing is there): round
 *                           trip, and streaming with a commit per message
 *
 * Receivers wait as cfg->paced says (queue_latency.h): poll + one
 * bench_relax() per empty poll, the runtime's way, or xs_spsc_wait().
 *
 * The queues are real shaq files (memfd, huge pages first), opened through
 * xs_spsc_attach_mem exactly as a joiner would, and used through the public
 * hot path (reserve / commit, poll / finalize) with the message copied into
 * and out of the slot as a typed user would.
 */
#include "queue_latency.h"

#include <stdio.h>
#include <stdlib.h>

#include "xsched/shm.h"
#include "xsched/spsc.h"

/* One queue: its segment and both ends. The ends are used by different
 * threads, so each sits on its own 128-byte region. */
struct xq_chan {
	struct xs_spsc p; /* producer end */
	uint8_t pad0_[128 - sizeof(struct xs_spsc) % 128];
	struct xs_spsc c; /* consumer end */
	uint8_t pad1_[128 - sizeof(struct xs_spsc) % 128];
	struct xs_shm shm;
};

struct xq_pair {
	struct xq_chan ab, ba;
	int huge;
};

static int xq_chan_open(struct xq_chan *ch, size_t msg, uint32_t cap, int huge, int *got_huge)
{
	size_t fsize = xs_spsc_min_file_size(cap, msg, 8);
	int rc = -1;

	memset(&ch->shm, 0, sizeof(ch->shm));
	ch->shm.fd = -1;
	if (huge)
		rc = xs_shm_create(&ch->shm, XS_SHM_NAME, fsize, XS_SHM_HUGE);
	if (rc < 0)
		rc = xs_shm_create(&ch->shm, XS_SHM_NAME, fsize, 0);
	if (rc < 0)
		return rc;
	*got_huge = (ch->shm.state & XS_SHM_STATE_HUGE) != 0;
	/* The queue is exactly the size a peer would ask for: the capacity
	 * does not grow with the page rounding of the segment. */
	rc = xs_spsc_attach_mem(&ch->p, ch->shm.base, fsize, msg, 8, XS_SHAQ_1_0, XS_SPSC_PRODUCER,
				1);
	if (!rc)
		rc = xs_spsc_attach_mem(&ch->c, ch->shm.base, fsize, msg, 8, XS_SHAQ_1_0,
					XS_SPSC_CONSUMER, 0);
	if (rc < 0)
		xs_shm_detach(&ch->shm);
	return rc;
}

static void xq_close(struct xq_pair *p)
{
	if (!p)
		return;
	xs_shm_detach(&p->ab.shm);
	xs_shm_detach(&p->ba.shm);
	free(p);
}

static int xq_open(const struct ql_cfg *c, struct xq_pair **out, struct ql_result *r)
{
	struct xq_pair *p;
	int rc, h1 = 0, h2 = 0;

	if (posix_memalign((void **)&p, 128, sizeof(*p)))
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	p->ab.shm.fd = p->ba.shm.fd = -1;
	rc = xq_chan_open(&p->ab, c->msg_size, c->capacity, c->huge, &h1);
	if (!rc)
		rc = xq_chan_open(&p->ba, c->msg_size, c->capacity, c->huge, &h2);
	if (rc < 0) {
		snprintf(r->note, sizeof(r->note), "queue setup failed: %s (%s)", xs_strerror(rc),
			 xs_errmsg());
		xq_close(p);
		return rc;
	}
	p->huge = h1 && h2;
	r->huge = p->huge ? "yes" : "no";
	*out = p;
	return 0;
}

static void xq_die(const struct xs_spsc *q)
{
	fprintf(stderr, "queue_latency: xsched queue failed: %s (%s)\n", xs_strerror(q->err),
		xs_errmsg());
	xs_spsc_dump(q, stderr);
	exit(1);
}

/* Send: reserve (syncing with the consumer only when the cached view is
 * full), copy into the slot, publish: xs_spsc_try_push_sized(), what the
 * typed wrappers of xsched/msg.h do with sizeof(T). */
BENCH_INLINE void xq_send(struct xs_spsc *q, const uint64_t *m, size_t sz)
{
	while (xs_spsc_try_push_sized(q, m, sz) < 0) {
		if (XS_UNLIKELY(xs_spsc_error(q)))
			xq_die(q);
		bench_relax();
	}
}

/* Receive, paced: xs_spsc_wait() (poll, syncing with the producer only when
 * the cached view is empty, pacing its retries to the traffic, prefetching
 * the next slot). */
BENCH_INLINE const void *xq_wait(struct xs_spsc *q)
{
	const void *slot = xs_spsc_wait(q, 0);

	if (XS_UNLIKELY(!slot))
		xq_die(q); /* only when corrupt */
	return slot;
}

/* Receive, the runtime's way: xs_spsc_poll(), and when it finds nothing one
 * bench_relax() (xs_cpu_relax(), an idle reactor round) before the next. */
BENCH_INLINE const void *xq_poll_relax(struct xs_spsc *q)
{
	const void *slot;

	while (!(slot = xs_spsc_poll(q))) {
		if (XS_UNLIKELY(xs_spsc_error(q)))
			xq_die(q);
		bench_relax();
	}
	return slot;
}

BENCH_INLINE const void *xq_recv(struct xs_spsc *q, int paced)
{
	return paced ? xq_wait(q) : xq_poll_relax(q);
}

/* ... then copy out and release the slot (paced_: the loop's cfg->paced). */
#define XQ_RECV(ch, m, sz)                                   \
	do {                                                 \
		const void *s_ = xq_recv(&(ch)->c, paced_);  \
		memcpy((m), s_, (sz));                       \
		xs_spsc_finalize(&(ch)->c);                  \
	} while (0)
#define XQ_SEND(ch, m, sz) xq_send(&(ch)->p, (m), (sz))

/* Size-specialised instantiations (copy inlined) plus one for any size. */
#define XQ_INST(N) QL_DEFINE_LOOPS(xq##N, struct xq_pair, ab, ba, XQ_SEND, XQ_RECV, N)
QL_PEER_SIZES(XQ_INST)
#undef XQ_INST
QL_DEFINE_LOOPS(xqv, struct xq_pair, ab, ba, XQ_SEND, XQ_RECV, run_->cfg->msg_size)

struct xq_loops {
	size_t size;
	void *(*pp_a)(void *), *(*pp_b)(void *), *(*st_a)(void *), *(*st_b)(void *);
};

static const struct xq_loops xq_table[] = {
#define XQ_ENTRY(N) {N, xq##N##_pp_a, xq##N##_pp_b, xq##N##_st_a, xq##N##_st_b},
	QL_PEER_SIZES(XQ_ENTRY)
#undef XQ_ENTRY
	{0, xqv_pp_a, xqv_pp_b, xqv_st_a, xqv_st_b},
};

static const struct xq_loops *xq_find(size_t size)
{
	size_t i;

	for (i = 0; xq_table[i].size; i++)
		if (xq_table[i].size == size)
			return &xq_table[i];
	return &xq_table[i];
}

/* ----------------------------------------------------------- ping-pong */

static int xq_pingpong(const struct ql_cfg *c, struct bench_hist *h, struct ql_result *r)
{
	const struct xq_loops *l = xq_find(c->msg_size);
	struct xq_pair *p;
	int rc = xq_open(c, &p, r);

	if (rc < 0)
		return rc;
	rc = ql_run_pingpong(c, p, l->pp_a, l->pp_b, h, r);
	xq_close(p);
	return rc;
}

/* ----------------------------------------------------------- streaming */

/* Producer committing every `batch` messages. The consumer is the same for
 * every stream row, the pattern of the runtime's poll functions: wait for an
 * item, take what else is there up to XQ_BURST, finalize once. */
#define XQ_BURST 64
BENCH_INLINE void xq_batch_prod(struct ql_run *run, size_t sz, uint32_t batch)
{
	struct xq_pair *p = (struct xq_pair *)run->pair;
	struct xs_spsc *q = &p->ab.p;
	uint64_t out[2][QL_MAX_WORDS], i = 0, n = run->n;

	ql_msg_init(out[0], sz);
	ql_msg_init(out[1], sz);
	bench_barrier_wait(&run->bar);
	run->t_start = bench_ticks();
	while (i < n) {
		uint64_t end;

		if ((i & 1023) == 0)
			n = ql_stream_cut(run, i, n);
		end = n - i < batch ? n : i + batch;
		if (batch == 1) { /* a commit per message: the one-call push */
			QL_NEXT_SEQ(out, i);
			xq_send(q, out[i & 1], sz);
			i++;
			continue;
		}
		for (; i < end; i++) {
			void *slot;

			QL_NEXT_SEQ(out, i);
			while (!(slot = xs_spsc_reserve(q))) {
				if (XS_UNLIKELY(xs_spsc_error(q)))
					xq_die(q);
				bench_relax();
			}
			memcpy(slot, out[i & 1], sz);
		}
		xs_spsc_commit(q);
	}
}

BENCH_INLINE void xq_burst_cons(struct ql_run *run, size_t sz)
{
	struct xq_pair *p = (struct xq_pair *)run->pair;
	struct xs_spsc *q = &p->ab.c;
	uint64_t in[QL_MAX_WORDS], i = 0, n = run->n, err = 0;
	const int paced = run->cfg->paced;

	bench_barrier_wait(&run->bar);
	while (i < n) {
		/* wait for one, take what else is there up to the batch, release */
		const void *slot = xq_recv(q, paced);
		uint32_t k = 0;

		do {
			memcpy(in, slot, sz);
			err += in[0] != i;
			i++;
			k++;
		} while (k < XQ_BURST && i < n && (slot = xs_spsc_poll(q)) != NULL);
		xs_spsc_finalize(q);
		n = ql_stream_seen_cut(run, n);
	}
	run->t_end = bench_ticks();
	run->errors += err;
}

#define XQ_BATCH_FNS(B)                                                         \
	static void *xq_b##B##_prod(void *arg)                                  \
	{                                                                       \
		struct ql_run *run = (struct ql_run *)arg;                      \
		switch (run->cfg->msg_size) {                                   \
		XQ_BATCH_CASES(xq_batch_prod, B)                                \
		default:                                                        \
			xq_batch_prod(run, run->cfg->msg_size, B);              \
		}                                                               \
		return NULL;                                                    \
	}                                                                       \

#define XQ_CASE(fn, B, N) \
	case N:           \
		fn(run, N, B); \
		break;
#define XQ_BATCH_CASES(fn, B)                                                   \
	XQ_CASE(fn, B, 8) XQ_CASE(fn, B, 16) XQ_CASE(fn, B, 24) XQ_CASE(fn, B, 32) \
	XQ_CASE(fn, B, 40) XQ_CASE(fn, B, 48) XQ_CASE(fn, B, 56) XQ_CASE(fn, B, 64) \
	XQ_CASE(fn, B, 128) XQ_CASE(fn, B, 256)
XQ_BATCH_FNS(1)
XQ_BATCH_FNS(8)
XQ_BATCH_FNS(64)

static void *xq_cons(void *arg)
{
	struct ql_run *run = (struct ql_run *)arg;

	switch (run->cfg->msg_size) {
#define XQ_CONS_CASE(N)                      \
	case N:                              \
		xq_burst_cons(run, N);       \
		break;
		QL_PEER_SIZES(XQ_CONS_CASE)
#undef XQ_CONS_CASE
	default:
		xq_burst_cons(run, run->cfg->msg_size);
	}
	return NULL;
}

static int xq_stream_batched(const struct ql_cfg *c, double *rate, struct ql_result *r,
			     void *(*fa)(void *), void *(*fb)(void *))
{
	struct xq_pair *p;
	int rc = xq_open(c, &p, r);

	if (rc < 0)
		return rc;
	r->consumer = "burst64";
	rc = ql_run_stream(c, p, fa, fb, rate, r);
	xq_close(p);
	return rc;
}

static int xq_stream_b1(const struct ql_cfg *c, double *rate, struct ql_result *r)
{
	return xq_stream_batched(c, rate, r, xq_b1_prod, xq_cons);
}

static int xq_stream_b8(const struct ql_cfg *c, double *rate, struct ql_result *r)
{
	return xq_stream_batched(c, rate, r, xq_b8_prod, xq_cons);
}

static int xq_stream_b64(const struct ql_cfg *c, double *rate, struct ql_result *r)
{
	return xq_stream_batched(c, rate, r, xq_b64_prod, xq_cons);
}

/* ------------------------------------------------------------- one-way */

/* Producer: one message every gap_ns, stamped with bench_ticks() just
 * before the copy into the slot and the commit. */
BENCH_INLINE void xq_oneway_prod(struct ql_run *run, size_t sz)
{
	struct xq_pair *p = (struct xq_pair *)run->pair;
	const struct ql_cfg *c = run->cfg;
	struct xs_spsc *q = &p->ab.p;
	uint64_t out[QL_MAX_WORDS], i, n = c->warmup + c->iters, dl = UINT64_MAX;
	uint64_t gap = bench_ns_to_ticks(c->gap_ns), next;

	ql_msg_init(out, sz);
	bench_barrier_wait(&run->bar);
	next = bench_ticks() + gap;
	for (i = 0; i < n; i++) {
		uint64_t now;
		void *slot;

		if (i == c->warmup)
			dl = bench_deadline(c->duration_s);
		while ((now = bench_ticks()) < next)
			bench_relax();
		/* Steady rate; after a stall (preemption) restart the schedule
		 * instead of sending a burst. */
		next = now - next > 8 * gap ? now + gap : next + gap;
		if (now > dl)
			break;
		while (!(slot = xs_spsc_reserve(q))) {
			if (XS_UNLIKELY(xs_spsc_error(q)))
				xq_die(q);
			bench_relax();
		}
		/* fill the slot, then stamp it in place, as late as possible */
		memcpy(slot, out, sz);
		((uint64_t *)slot)[0] = i;
		((uint64_t *)slot)[1] = bench_ticks();
		xs_spsc_commit(q);
	}
	out[0] = QL_STOP;
	xq_send(q, out, sz);
}

BENCH_INLINE void xq_oneway_cons(struct ql_run *run, size_t sz)
{
	struct xq_pair *p = (struct xq_pair *)run->pair;
	const struct ql_cfg *c = run->cfg;
	struct xs_spsc *q = &p->ab.c;
	uint64_t in[QL_MAX_WORDS], expect = 0, err = 0, neg = 0;
	const int paced = c->paced;

	bench_barrier_wait(&run->bar);
	for (;;) {
		const void *slot = xq_recv(q, paced);
		uint64_t t = bench_ticks();

		memcpy(in, slot, sz);
		xs_spsc_finalize(q);
		if (in[0] == QL_STOP)
			break;
		err += in[0] != expect;
		expect = in[0] + 1;
		if (in[0] < c->warmup)
			continue;
		if (t >= in[1]) {
			bench_hist_record(run->hist, t - in[1]);
		} else {
			neg++; /* receiver's clock behind the sender's: unsynchronised TSCs */
			bench_hist_record(run->hist, 0);
		}
	}
	run->errors += err;
	run->negative = neg;
}

static void *xq_ow_prod(void *arg)
{
	struct ql_run *run = (struct ql_run *)arg;

	switch (run->cfg->msg_size) {
	case 16: xq_oneway_prod(run, 16); break;
	case 40: xq_oneway_prod(run, 40); break;
	case 64: xq_oneway_prod(run, 64); break;
	default: xq_oneway_prod(run, run->cfg->msg_size);
	}
	return NULL;
}

static void *xq_ow_cons(void *arg)
{
	struct ql_run *run = (struct ql_run *)arg;

	switch (run->cfg->msg_size) {
	case 16: xq_oneway_cons(run, 16); break;
	case 40: xq_oneway_cons(run, 40); break;
	case 64: xq_oneway_cons(run, 64); break;
	default: xq_oneway_cons(run, run->cfg->msg_size);
	}
	return NULL;
}

static int xq_oneway(const struct ql_cfg *c, struct bench_hist *h, struct ql_result *r)
{
	struct xq_pair *p;
	int rc;

	if (c->msg_size < 16) {
		snprintf(r->note, sizeof(r->note),
			 "needs messages of at least 16 bytes (sequence + timestamp)");
		return -ENOTSUP;
	}
	rc = xq_open(c, &p, r);
	if (rc < 0)
		return rc;
	rc = ql_run_pingpong(c, p, xq_ow_prod, xq_ow_cons, h, r);
	xq_close(p);
	return rc;
}

/* ------------------------------------------------- inside the runtime */

/*
 * xsched_rt: both ends are production-style lthreads, each alone on its own
 * pinned reactor (bench_run_pair_polls()). A poll function does one bounded
 * step and returns: > 0 when it moved a message, 0 when its queue was empty
 * (the reactor then ends the round, relaxes once and polls again), and
 * XS_RT_DONE at the end. So the reactor loop's per-round cost (its stop
 * flag, counters, the call) is inside every figure of these rows.
 *
 * Round trip: A sends message i (stamped just before), and each later call
 * polls for the answer; on it, records the round trip and sends i + 1 in
 * the same call. B polls, copies the message out, finalizes and sends it
 * back. Stream: A pushes one message per call (a commit each), B takes up
 * to 64 per call and finalizes once, as the runtime's session glue does.
 */
struct xrt {
	struct xq_pair *p;
	const struct ql_cfg *c;
	struct bench_hist *hist;
	uint64_t i, n, t0, t_start, t_end, err, msgs;
	struct bench_window w;    /* round trip: warm-up and measurement */
	uint64_t calls, idle;     /* poll calls once started (= reactor rounds), empty ones */
	int started, pp;          /* pp: round trip (else stream) */
	int *ready;               /* both sides count in; neither starts before */
	struct ql_run *run;       /* stream: the shared cut (ql_stream_cut()) */
	uint64_t out[2][QL_MAX_WORDS];
} XS_CACHE_ALIGNED;

/* Both lthreads running? (Startup of the two reactors is not timed.) */
BENCH_INLINE int xrt_go(struct xrt *s)
{
	if (XS_UNLIKELY(!s->started)) {
		/* Relaxed is enough: this is a start signal, no data rides on it
		 * (the queues carry their own orderings). */
		__atomic_add_fetch(s->ready, 1, __ATOMIC_RELAXED);
		s->started = 1;
	}
	return __atomic_load_n(s->ready, __ATOMIC_RELAXED) >= 2;
}

BENCH_INLINE int xrt_a_step(struct xrt *s, size_t sz)
{
	struct xs_spsc *tx = &s->p->ab.p, *rx = &s->p->ba.c;
	const struct ql_cfg *c = s->c;
	uint64_t in[QL_MAX_WORDS], t1;
	const void *slot;

	if (XS_UNLIKELY(s->started < 2)) {
		if (!xrt_go(s))
			return 0;
		s->started = 2;
		if (!s->pp) {
			s->t_start = bench_ticks();
		} else {
			bench_window_start(&s->w, c->warmup, c->iters, c->duration_s);
			QL_NEXT_SEQ(s->out, 0);
			s->t0 = bench_ticks();
			xq_send(tx, s->out[0], sz);
			return 1;
		}
	}
	if (!s->pp) { /* stream: one message, one commit, per call */
		if ((s->i & 1023) == 0)
			s->n = ql_stream_cut(s->run, s->i, s->n);
		if (s->i == s->n)
			return XS_RT_DONE;
		QL_NEXT_SEQ(s->out, s->i);
		if (xs_spsc_try_push_sized(tx, s->out[s->i & 1], sz) < 0) {
			if (XS_UNLIKELY(xs_spsc_error(tx)))
				xq_die(tx);
			return 0; /* full */
		}
		s->i++;
		return 1;
	}
	slot = xs_spsc_poll(rx);
	if (!slot) {
		if (XS_UNLIKELY(xs_spsc_error(rx)))
			xq_die(rx);
		return 0;
	}
	memcpy(in, slot, sz);
	xs_spsc_finalize(rx);
	t1 = bench_ticks();
	s->err += in[0] != s->i;
	if (bench_window_step(&s->w, s->i, t1))
		bench_hist_record(s->hist, t1 - s->t0);
	s->i++;
	if (s->w.done) {
		s->out[0][0] = QL_STOP;
		xq_send(tx, s->out[0], sz);
		return XS_RT_DONE;
	}
	QL_NEXT_SEQ(s->out, s->i);
	s->t0 = bench_ticks();
	xq_send(tx, s->out[s->i & 1], sz);
	return 1;
}

BENCH_INLINE int xrt_b_step(struct xrt *s, size_t sz)
{
	struct xs_spsc *rx = &s->p->ab.c, *tx = &s->p->ba.p;
	uint64_t in[QL_MAX_WORDS];
	const void *slot;
	int k = 0;

	if (XS_UNLIKELY(s->started < 2)) {
		if (!xrt_go(s))
			return 0;
		s->started = 2;
	}
	slot = xs_spsc_poll(rx);
	if (!slot) {
		if (XS_UNLIKELY(xs_spsc_error(rx)))
			xq_die(rx);
		return 0;
	}
	if (s->pp) {
		memcpy(in, slot, sz);
		xs_spsc_finalize(rx);
		if (in[0] == QL_STOP)
			return XS_RT_DONE;
		xq_send(tx, in, sz);
		return 1;
	}
	do { /* stream: take what is there, up to 64, release once */
		memcpy(in, slot, sz);
		s->err += in[0] != s->msgs;
		s->msgs++;
		k++;
	} while (k < XQ_BURST && s->msgs < s->n && (slot = xs_spsc_poll(rx)) != NULL);
	xs_spsc_finalize(rx);
	s->n = ql_stream_seen_cut(s->run, s->n);
	if (s->msgs == s->n) {
		s->t_end = bench_ticks();
		return XS_RT_DONE;
	}
	return k;
}

/* One reactor round: the step, counted once both sides run. */
BENCH_INLINE int xrt_count(struct xrt *s, int started, int rc)
{
	if (started == 2) {
		s->calls++;
		s->idle += rc == 0;
	}
	return rc;
}

#define XRT_FNS(N)                                                         \
	static int xrt##N##_a(void *arg)                                   \
	{                                                                  \
		struct xrt *s_ = (struct xrt *)arg;                        \
		int st_ = s_->started;                                     \
		return xrt_count(s_, st_, xrt_a_step(s_, N));              \
	}                                                                  \
	static int xrt##N##_b(void *arg)                                   \
	{                                                                  \
		struct xrt *s_ = (struct xrt *)arg;                        \
		int st_ = s_->started;                                     \
		return xrt_count(s_, st_, xrt_b_step(s_, N));              \
	}
QL_PEER_SIZES(XRT_FNS)
#undef XRT_FNS

static int xrtv_a(void *arg)
{
	struct xrt *s = arg;
	int st = s->started;

	return xrt_count(s, st, xrt_a_step(s, s->c->msg_size));
}

static int xrtv_b(void *arg)
{
	struct xrt *s = arg;
	int st = s->started;

	return xrt_count(s, st, xrt_b_step(s, s->c->msg_size));
}

static void xrt_fns(size_t sz, xs_rt_poll_fn *fa, xs_rt_poll_fn *fb)
{
	switch (sz) {
#define XRT_CASE(N)            \
	case N:                \
		*fa = xrt##N##_a; \
		*fb = xrt##N##_b; \
		return;
		QL_PEER_SIZES(XRT_CASE)
#undef XRT_CASE
	default:
		*fa = xrtv_a;
		*fb = xrtv_b;
	}
}

/* One run of the pair: @p n messages (stream) or the configured round trips. */
static int xrt_run(const struct ql_cfg *c, struct xq_pair *p, struct bench_hist *h, int pp,
		   uint64_t n, struct xrt *a, struct xrt *b, struct ql_result *r)
{
	xs_rt_poll_fn fa, fb;
	struct ql_run run;
	int ready = 0, rc, k;

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	memset(&run, 0, sizeof(run));
	run.cut = UINT64_MAX;
	run.deadline = ql_trial_deadline(c);
	a->run = b->run = &run;
	a->p = b->p = p;
	a->c = b->c = c;
	a->hist = h;
	a->pp = b->pp = pp;
	a->ready = b->ready = &ready;
	a->n = b->n = n;
	ql_msg_init(a->out[0], c->msg_size);
	ql_msg_init(a->out[1], c->msg_size);
	xrt_fns(c->msg_size, &fa, &fb);
	rc = bench_run_pair_polls(c->cpu_a, fa, a, c->cpu_b, fb, b, NULL);
	if (rc < 0)
		return rc;
	r->errors += a->err + b->err;
	for (k = 0; k < 2; k++) {
		const struct xrt *x = k ? b : a;
		double msgs = pp ? (double)a->i : (double)b->msgs;

		/* one lthread per reactor: a poll call is a reactor round */
		r->rounds_per_msg[k] = msgs > 0 ? (double)x->calls / msgs : 0;
		r->idle_share[k] = x->calls ? (double)x->idle / (double)x->calls : 0;
	}
	r->wait = BENCH_WAIT_REACTOR;
	return 0;
}

static int xrt_pingpong(const struct ql_cfg *c, struct bench_hist *h, struct ql_result *r)
{
	struct xrt *a = NULL, *b = NULL;
	struct xq_pair *p;
	int rc = xq_open(c, &p, r);

	if (rc < 0)
		return rc;
	if (posix_memalign((void **)&a, 128, sizeof(*a)) || posix_memalign((void **)&b, 128, sizeof(*b)))
		rc = -ENOMEM;
	else
		rc = xrt_run(c, p, h, 1, 0, a, b, r);
	free(a);
	free(b);
	xq_close(p);
	return rc;
}

struct xrt_stream {
	const struct ql_cfg *c;
	struct xq_pair *p;
	struct xrt *a, *b;
	struct ql_result *r;
	int err;
};

static double xrt_stream_trial(void *ctx, uint64_t n)
{
	struct xrt_stream *t = ctx;
	int rc;

	/* each trial starts on empty, fresh queues: the counters restart at 0 */
	xq_close(t->p);
	t->p = NULL;
	rc = xq_open(t->c, &t->p, t->r);
	if (rc < 0)
		return rc;
	rc = xrt_run(t->c, t->p, NULL, 0, n, t->a, t->b, t->r);
	if (rc < 0)
		return rc;
	return ql_trial_seconds(t->a->t_start, t->b->t_end, n, t->b->msgs);
}

static int xrt_stream(const struct ql_cfg *c, double *rate, struct ql_result *r)
{
	struct xrt_stream t;
	double v;

	memset(&t, 0, sizeof(t));
	t.c = c;
	t.r = r;
	if (posix_memalign((void **)&t.a, 128, sizeof(*t.a)) ||
	    posix_memalign((void **)&t.b, 128, sizeof(*t.b))) {
		free(t.a);
		return -ENOMEM;
	}
	r->consumer = "burst64";
	v = bench_trials(xrt_stream_trial, &t, c->trials, c->trial_s, 0, &r->best);
	xq_close(t.p);
	free(t.a);
	free(t.b);
	if (v < 0)
		return (int)v;
	*rate = v;
	return 0;
}

const struct ql_transport ql_xsched_thread = {
	"xsched_pingpong_thread", "xsched SPSC round trip between two pinned threads",
	xq_pingpong, NULL};
const struct ql_transport ql_xsched_oneway = {
	"xsched_oneway", "xsched one-way latency of a steady stream (timestamps in messages)",
	xq_oneway, NULL};
const struct ql_transport ql_xsched_b1 = {
	"xsched_stream_b1", "xsched streaming, commit every message", NULL, xq_stream_b1};
const struct ql_transport ql_xsched_b8 = {
	"xsched_stream_b8", "xsched streaming, commit every 8 messages", NULL, xq_stream_b8};
const struct ql_transport ql_xsched_b64 = {
	"xsched_stream_b64", "xsched streaming, commit every 64 messages", NULL, xq_stream_b64};
const struct ql_transport ql_xsched_rt = {
	"xsched_rt", "xsched, both ends lthreads on pinned reactors (production poll functions): "
	"round trip, and streaming with a commit per message", xrt_pingpong, xrt_stream};
