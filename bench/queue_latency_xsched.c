/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched rows of queue_latency, between two threads of one process:
 *   xsched_pingpong_thread  round trip over two shaq 1.0 queues
 *   xsched_oneway           one-way latency of a paced stream (timestamps in
 *                           the messages)
 *   xsched_stream_b1/b8/b64 streaming throughput, producer committing every
 *                           message / every 8 / every 64; the consumer, the
 *                           same in all three, takes up to 64 and finalizes
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

/* Receive: xs_spsc_wait() (poll, syncing with the producer only when the
 * cached view is empty, and pacing its retries to the traffic). */
BENCH_INLINE const void *xq_wait(struct xs_spsc *q)
{
	const void *slot = xs_spsc_wait(q, 0);

	if (XS_UNLIKELY(!slot))
		xq_die(q); /* only when corrupt */
	return slot;
}

/* ... then copy out and release the slot. */
#define XQ_RECV(ch, m, sz)                                   \
	do {                                                 \
		const void *s_ = xq_wait(&(ch)->c);          \
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
		uint64_t end = n - i < batch ? n : i + batch;

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

	bench_barrier_wait(&run->bar);
	while (i < n) {
		/* wait for one, take what else is there up to the batch, release */
		const void *slot = xq_wait(q);
		uint32_t k = 0;

		do {
			memcpy(in, slot, sz);
			err += in[0] != i;
			i++;
			k++;
		} while (k < XQ_BURST && i < n && (slot = xs_spsc_poll(q)) != NULL);
		xs_spsc_finalize(q);
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

	bench_barrier_wait(&run->bar);
	for (;;) {
		const void *slot = xq_wait(q);
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

const struct ql_transport ql_xsched_thread = {
	"xsched_pingpong_thread", "xsched SPSC round trip between two pinned threads",
	xq_pingpong, NULL};
const struct ql_transport ql_xsched_oneway = {
	"xsched_oneway", "xsched one-way latency of a paced stream (timestamps in messages)",
	xq_oneway, NULL};
const struct ql_transport ql_xsched_b1 = {
	"xsched_stream_b1", "xsched streaming, commit every message", NULL, xq_stream_b1};
const struct ql_transport ql_xsched_b8 = {
	"xsched_stream_b8", "xsched streaming, commit every 8 messages", NULL, xq_stream_b8};
const struct ql_transport ql_xsched_b64 = {
	"xsched_stream_b64", "xsched streaming, commit every 64 messages", NULL, xq_stream_b64};
