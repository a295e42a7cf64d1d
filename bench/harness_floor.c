/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark harness, floors: what the hardware allows between two CPUs,
 * measured with the same tools as the rows.
 *
 *   bench_floor_pingpong()       one flag each way on its own line: the
 *                                classic floor, one line moves per direction
 *   bench_floor_slot_pingpong()  the queue format's floor: a slot then a
 *                                counter each way, as a shaq ring lays them
 *                                out, at least two lines per direction
 *   bench_floor_stream()         an ideal batched ring of the message size
 *
 * The ping-pong receivers wait as BENCH_WAIT_POLL_RELAX: load, and when
 * nothing is new one bench_relax() before loading again (the reactor's idle
 * round; with one item per wake-up the pacing of xs_spsc_wait() would do the
 * same). The streaming floor's consumer paces like xs_spsc_wait() (the
 * ideal ring: the best either waiting gives), or polls + relaxes when asked.
 * Also the throughput trials and the ratio statistics of interleaved
 * measurements. See harness.h for the contract.
 */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xsched/common.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

_Static_assert(BENCH_SPIN_MAX == XS_SPSC_PACE_MAX, "bench_spin paces like xs_spsc_wait()");

/* ============================================================ flag floor */

/* Compile-time message sizes for the common cases so the copy is inlined,
 * exactly as a typed queue would do it; any other size copies at run time. */
#define FLOOR_SIZES(X) X(8) X(16) X(24) X(32) X(40) X(48) X(56) X(64) X(128) X(256)

/* Lines 128 bytes apart: the adjacent-line prefetcher pairs 64-byte lines. */
struct floor_pp {
	uint64_t ping XS_CACHE_ALIGNED; /* written by A only */
	uint8_t pad0[120];
	uint64_t pong XS_CACHE_ALIGNED; /* written by B only */
	uint8_t pad1[120];
	struct bench_barrier bar;
	uint64_t warmup, iters;
	double max_s;
	struct bench_hist *hist;
};

#define FLOOR_STOP UINT64_MAX

static void *floor_pp_a(void *p)
{
	struct floor_pp *f = p;
	struct bench_window w;
	uint64_t i;

	bench_barrier_wait(&f->bar);
	bench_window_start(&w, f->warmup, f->iters, f->max_s);
	for (i = 1; !w.done; i++) {
		uint64_t t0 = bench_ticks(), t1;

		/* Release store pairs with B's Acquire load of ping. */
		__atomic_store_n(&f->ping, i, __ATOMIC_RELEASE);
		/* Acquire pairs with B's Release store of pong. */
		while (__atomic_load_n(&f->pong, __ATOMIC_ACQUIRE) != i)
			bench_relax();
		t1 = bench_ticks();
		if (bench_window_step(&w, i - 1, t1))
			bench_hist_record(f->hist, t1 - t0);
	}
	__atomic_store_n(&f->ping, FLOOR_STOP, __ATOMIC_RELEASE);
	return NULL;
}

static void *floor_pp_b(void *p)
{
	struct floor_pp *f = p;
	uint64_t last = 0;

	bench_barrier_wait(&f->bar);
	for (;;) {
		/* Acquire pairs with A's Release store of ping. */
		uint64_t v = __atomic_load_n(&f->ping, __ATOMIC_ACQUIRE);

		if (v == last) {
			bench_relax();
			continue;
		}
		if (v == FLOOR_STOP)
			break;
		/* Release pairs with A's Acquire load of pong. */
		__atomic_store_n(&f->pong, v, __ATOMIC_RELEASE);
		last = v;
	}
	return NULL;
}

int bench_floor_pingpong(int cpu_a, int cpu_b, uint64_t iters, double max_s,
			 struct bench_hist *hist)
{
	struct floor_pp *f;
	int rc;

	if (posix_memalign((void **)&f, 128, sizeof(*f)))
		return -ENOMEM;
	memset(f, 0, sizeof(*f));
	bench_barrier_init(&f->bar, 2);
	f->iters = iters;
	f->warmup = iters / 10 < 1000 ? 1000 : iters / 10;
	f->max_s = max_s;
	f->hist = hist;
	rc = bench_run_pair(cpu_a, floor_pp_a, f, cpu_b, floor_pp_b, f);
	free(f);
	return rc;
}

/* ============================================================ slot floor */

/* Offset of slot 0 in a shaq ring (192-byte header: write, read,
 * buffer_size each on their own line), and where the counter sits. */
#define SLOT_RING_OFF 192

struct floor_sp {
	uint8_t *ab, *ba;  /* two rings: 192-byte header (counter at 0) + slots */
	uint64_t mask;
	size_t sz;
	int touch;
	struct bench_barrier bar;
	uint64_t warmup, iters, errors;
	double max_s;
	struct bench_hist *hist;
};

BENCH_INLINE uint64_t *sp_counter(uint8_t *ring)
{
	return (uint64_t *)(void *)ring;
}

BENCH_INLINE uint8_t *sp_slot(const struct floor_sp *f, uint8_t *ring, uint64_t seq)
{
	return ring + SLOT_RING_OFF + (size_t)((seq - 1) & f->mask) * f->sz;
}

/* The receiver's touch of the slot it will read next: a prefetch of its
 * first and last byte (a slot may straddle two lines), which, unlike a
 * load, never holds the loop up. */
BENCH_INLINE void sp_touch(const uint8_t *slot, size_t sz)
{
	__builtin_prefetch(slot, 0, 3);
	__builtin_prefetch(slot + sz - 1, 0, 3);
}

/* Wait until @p ring's counter reaches @p seq (poll, relax), touching the
 * slot of @p seq meanwhile when asked. @return the counter seen. */
BENCH_INLINE uint64_t sp_wait(const struct floor_sp *f, uint8_t *ring, uint64_t seq, size_t sz)
{
	const uint8_t *slot = sp_slot(f, ring, seq);
	uint64_t v;

	/* Acquire pairs with the sender's Release store of the counter: the
	 * slot bytes written before it are visible after it. */
	while ((v = __atomic_load_n(sp_counter(ring), __ATOMIC_ACQUIRE)) < seq) {
		bench_relax();
		/* as xs_spsc_wait(): the touch right before the next poll, so
		 * that both misses are in flight together */
		if (f->touch)
			sp_touch(slot, sz);
	}
	return v;
}

/* Copy @p m into the slot of @p seq, then publish the counter. */
BENCH_INLINE void sp_send(const struct floor_sp *f, uint8_t *ring, uint64_t seq, const uint64_t *m,
			  size_t sz)
{
	memcpy(sp_slot(f, ring, seq), m, sz);
	/* Release: the slot bytes above are visible to whoever sees seq. */
	__atomic_store_n(sp_counter(ring), seq, __ATOMIC_RELEASE);
}

BENCH_INLINE void floor_sp_a_loop(struct floor_sp *f, size_t sz)
{
	/* double-buffered, as the queue rows: word 0 of message i is written
	 * one message ahead, so the copy never waits on a store forward */
	uint64_t out[2][128] = {{0}}, in[128], i, err = 0;
	struct bench_window w;

	for (size_t k = 1; k < sz / 8; k++)
		out[0][k] = out[1][k] = 0x0101010101010101ull * k;
	out[1][0] = 1;
	bench_barrier_wait(&f->bar);
	bench_window_start(&w, f->warmup, f->iters, f->max_s);
	for (i = 1; !w.done; i++) {
		uint64_t t0 = bench_ticks(), t1;

		out[(i + 1) & 1][0] = i + 1;
		sp_send(f, f->ab, i, out[i & 1], sz);
		sp_wait(f, f->ba, i, sz);
		memcpy(in, sp_slot(f, f->ba, i), sz);
		t1 = bench_ticks();
		err += in[0] != i;
		if (bench_window_step(&w, i - 1, t1))
			bench_hist_record(f->hist, t1 - t0);
	}
	/* stop: a counter B can never reach by counting */
	__atomic_store_n(sp_counter(f->ab), FLOOR_STOP, __ATOMIC_RELEASE);
	f->errors = err;
}

BENCH_INLINE void floor_sp_b_loop(struct floor_sp *f, size_t sz)
{
	uint64_t in[128], seq;

	bench_barrier_wait(&f->bar);
	for (seq = 1;; seq++) {
		if (sp_wait(f, f->ab, seq, sz) == FLOOR_STOP)
			break;
		memcpy(in, sp_slot(f, f->ab, seq), sz);
		sp_send(f, f->ba, seq, in, sz);
	}
}

static void *floor_sp_a(void *p)
{
	struct floor_sp *f = p;

	switch (f->sz) {
#define CASE(n)                        \
	case n:                        \
		floor_sp_a_loop(f, n); \
		break;
		FLOOR_SIZES(CASE)
#undef CASE
	default:
		floor_sp_a_loop(f, f->sz);
	}
	return NULL;
}

static void *floor_sp_b(void *p)
{
	struct floor_sp *f = p;

	switch (f->sz) {
#define CASE(n)                        \
	case n:                        \
		floor_sp_b_loop(f, n); \
		break;
		FLOOR_SIZES(CASE)
#undef CASE
	default:
		floor_sp_b_loop(f, f->sz);
	}
	return NULL;
}

/* A ring in the same kind of memory as the queue rows' (a memfd segment,
 * huge pages first): the floor must not differ from them by its pages. */
static int sp_ring(struct xs_shm *shm, size_t size)
{
	int rc;

	memset(shm, 0, sizeof(*shm));
	shm->fd = -1;
	rc = xs_shm_create(shm, XS_SHM_NAME, size, XS_SHM_HUGE);
	if (rc < 0)
		rc = xs_shm_create(shm, XS_SHM_NAME, size, 0);
	return rc;
}

int bench_floor_slot_pingpong(int cpu_a, int cpu_b, size_t msg_size, uint32_t capacity,
			      int touch, uint64_t iters, double max_s, struct bench_hist *hist)
{
	size_t ring = SLOT_RING_OFF + (size_t)capacity * msg_size;
	struct xs_shm shm[2];
	struct floor_sp *f;
	int rc;

	if (msg_size < 8 || msg_size > 1024 || msg_size % 8 || capacity < 2 ||
	    (capacity & (capacity - 1)))
		return -EINVAL;
	if (posix_memalign((void **)&f, 128, sizeof(*f)))
		return -ENOMEM;
	memset(f, 0, sizeof(*f));
	rc = sp_ring(&shm[0], ring);
	if (rc < 0) {
		free(f);
		return rc;
	}
	rc = sp_ring(&shm[1], ring);
	if (rc < 0) {
		xs_shm_detach(&shm[0]);
		free(f);
		return rc;
	}
	f->ab = shm[0].base; /* zero-filled, page aligned */
	f->ba = shm[1].base;
	f->mask = capacity - 1;
	f->sz = msg_size;
	f->touch = touch;
	bench_barrier_init(&f->bar, 2);
	f->iters = iters;
	f->warmup = iters / 10 < 1000 ? 1000 : iters / 10;
	f->max_s = max_s;
	f->hist = hist;
	rc = bench_run_pair(cpu_a, floor_sp_a, f, cpu_b, floor_sp_b, f);
	if (!rc && f->errors)
		rc = -EIO;
	xs_shm_detach(&shm[0]);
	xs_shm_detach(&shm[1]);
	free(f);
	return rc;
}

/* ========================================================== stream floor */

/* The ideal batched ring: counters on their own 128-byte regions, slots at a
 * 64-byte aligned start with the message size as stride (like shaq). */
struct floor_ring {
	uint64_t write XS_CACHE_ALIGNED; /* producer only */
	uint8_t pad0[120];
	uint64_t read XS_CACHE_ALIGNED; /* consumer only */
	uint8_t pad1[120];
	struct bench_barrier bar;
	uint8_t *slots;
	uint64_t mask, msgs;
	uint32_t batch;
	int paced; /* consumer: the pacing of xs_spsc_wait(), else poll + relax */
	size_t sz;
	uint64_t t_start, t_end;
	/* a trial past its deadline is cut short: the producer announces the
	 * final count 1024 messages ahead (release; the slots published after
	 * it carry it to the consumer, which checks every 256 messages) */
	uint64_t deadline, cut;
	double trial_s;
	uint64_t errors;
};

BENCH_INLINE void floor_prod_loop(struct floor_ring *r, size_t sz)
{
	/* double-buffered: word 0 of message pos is written one message ahead,
	 * so the copy never waits on a store-to-load forward */
	uint64_t msg[2][128] = {{0}}, pos = 0, limit = r->mask + 1, n = r->msgs;
	uint32_t batch = r->batch, inb = 0;

	for (size_t i = 1; i < sz / 8; i++)
		msg[0][i] = msg[1][i] = 0x0101010101010101ull * i;
	msg[1][0] = 1;
	bench_barrier_wait(&r->bar);
	r->t_start = bench_ticks();
	while (pos < n) {
		if ((pos & 1023) == 0 && r->cut == UINT64_MAX && bench_ticks() > r->deadline) {
			n = pos + 1024 < n ? pos + 1024 : n;
			/* Release pairs with the consumer's Acquire load of cut. */
			__atomic_store_n(&r->cut, n, __ATOMIC_RELEASE);
		}
		if (pos == limit) {
			/* Acquire pairs with the consumer's Release of read. */
			while ((limit = __atomic_load_n(&r->read, __ATOMIC_ACQUIRE) + r->mask + 1) ==
			       pos)
				bench_relax();
		}
		msg[(pos + 1) & 1][0] = pos + 1;
		memcpy(r->slots + (pos & r->mask) * sz, msg[pos & 1], sz);
		pos++;
		if (++inb == batch) {
			/* Release: the slot bytes before it are visible to the
			 * consumer that acquires write. */
			__atomic_store_n(&r->write, pos, __ATOMIC_RELEASE);
			inb = 0;
		}
	}
	__atomic_store_n(&r->write, pos, __ATOMIC_RELEASE);
}

/* Consumer: takes what is published in bursts of up to 64 messages, one
 * copy per burst (as a burst dequeue does), checks each sequence number, and
 * releases space every `batch` messages and whenever it has caught up. */
#define FLOOR_BURST 64
BENCH_INLINE void floor_cons_loop(struct floor_ring *r, size_t sz)
{
	static __thread uint64_t buf[FLOOR_BURST * 128];
	uint64_t pos = 0, avail = 0, released = 0, n = r->msgs, errors = 0, cap = r->mask + 1;
	uint32_t batch = r->batch;
	struct bench_spin spin = {0};
	const int paced = r->paced;

	bench_barrier_wait(&r->bar);
	while (pos < n) {
		uint64_t k, j, cut;

		if (pos == avail) {
			/* Acquire pairs with the producer's Release of write. */
			while ((avail = __atomic_load_n(&r->write, __ATOMIC_ACQUIRE)) == pos) {
				if (paced)
					bench_spin_empty(&spin);
				else
					bench_relax();
			}
			bench_spin_got_n(&spin, (uint32_t)(avail - pos));
		}
		k = avail - pos;
		if (k > FLOOR_BURST)
			k = FLOOR_BURST;
		if (k > cap - (pos & r->mask)) /* up to the end of the ring */
			k = cap - (pos & r->mask);
		if (k > n - pos)
			k = n - pos;
		memcpy(buf, r->slots + (pos & r->mask) * sz, k * sz);
		for (j = 0; j < k; j++)
			errors += buf[j * (sz / 8)] != pos + j;
		pos += k;
		if (pos - released >= batch || pos == avail) {
			/* Release: our reads of the slots happen before the
			 * producer may overwrite them. */
			__atomic_store_n(&r->read, pos, __ATOMIC_RELEASE);
			released = pos;
		}
		/* Acquire pairs with the producer's Release store of cut. */
		cut = __atomic_load_n(&r->cut, __ATOMIC_ACQUIRE);
		n = cut < n ? cut : n;
	}
	r->t_end = bench_ticks();
	r->errors = errors;
}

static void *floor_prod(void *p)
{
	struct floor_ring *r = p;

	switch (r->sz) {
#define CASE(n)                          \
	case n:                          \
		floor_prod_loop(r, n);   \
		break;
		FLOOR_SIZES(CASE)
#undef CASE
	default:
		floor_prod_loop(r, r->sz);
	}
	return NULL;
}

static void *floor_cons(void *p)
{
	struct floor_ring *r = p;

	switch (r->sz) {
#define CASE(n)                          \
	case n:                          \
		floor_cons_loop(r, n);   \
		break;
		FLOOR_SIZES(CASE)
#undef CASE
	default:
		floor_cons_loop(r, r->sz);
	}
	return NULL;
}

struct floor_stream_ctx {
	struct floor_ring *r;
	int cpu_a, cpu_b;
};

static double floor_stream_run(void *p, uint64_t n)
{
	struct floor_stream_ctx *c = p;
	struct floor_ring *r = c->r;
	int rc;

	double secs;

	r->write = r->read = 0;
	r->msgs = n;
	r->errors = 0;
	r->cut = UINT64_MAX;
	r->deadline = bench_deadline(4 * r->trial_s < 0.05 ? 0.05 : 4 * r->trial_s);
	bench_barrier_init(&r->bar, 2);
	rc = bench_run_pair(c->cpu_a, floor_prod, r, c->cpu_b, floor_cons, r);
	if (rc)
		return rc;
	if (r->errors)
		return -EIO;
	secs = bench_ticks_to_ns((double)(r->t_end - r->t_start)) / 1e9;
	/* cut short: the time n messages would have taken at that rate */
	return r->cut < n ? secs * (double)n / (double)r->cut : secs;
}

double bench_floor_stream_wait(int cpu_a, int cpu_b, size_t msg_size, uint32_t capacity,
			       uint32_t batch, int paced, int trials, double trial_s)
{
	struct floor_stream_ctx c = {NULL, cpu_a, cpu_b};
	struct floor_ring *r;
	double rate;

	if (msg_size < 8 || msg_size > 1024 || msg_size % 8 || !capacity ||
	    (capacity & (capacity - 1)) || !batch)
		return -EINVAL;
	if (posix_memalign((void **)&r, 128, sizeof(*r)))
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	if (posix_memalign((void **)&r->slots, 64, (size_t)capacity * msg_size)) {
		free(r);
		return -ENOMEM;
	}
	memset(r->slots, 0, (size_t)capacity * msg_size);
	r->mask = capacity - 1;
	r->batch = batch;
	r->paced = paced;
	r->trial_s = trial_s;
	r->sz = msg_size;
	c.r = r;
	rate = bench_trials(floor_stream_run, &c, trials, trial_s, 0, NULL);
	free(r->slots);
	free(r);
	return rate;
}

double bench_floor_stream(int cpu_a, int cpu_b, size_t msg_size, uint32_t capacity,
			  uint32_t batch, int trials, double trial_s)
{
	return bench_floor_stream_wait(cpu_a, cpu_b, msg_size, capacity, batch, 1, trials, trial_s);
}

/* ================================================ trials and ratios */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double bench_trials(double (*run)(void *ctx, uint64_t n), void *ctx, int trials, double trial_s,
		    uint64_t max_msgs, double *best)
{
	double rates[64], s;
	uint64_t n = 20000;
	int i;

	if (trials < 1)
		trials = 1;
	if (trials > 64)
		trials = 64;
	if (!max_msgs)
		max_msgs = 2000000000ull;
	if (n > max_msgs)
		n = max_msgs;
	/* Calibration trial (also the warm-up): size the real ones. */
	s = run(ctx, n);
	if (s < 0)
		return s;
	if (s > 0) {
		double want = (double)n * trial_s / s;

		n = want < 1000 ? 1000 : want > (double)max_msgs ? max_msgs : (uint64_t)want;
	}
	for (i = 0; i < trials; i++) {
		s = run(ctx, n);
		if (s < 0)
			return s;
		rates[i] = s > 0 ? (double)n / s : 0;
	}
	qsort(rates, (size_t)trials, sizeof(double), cmp_double);
	if (best)
		*best = rates[trials - 1];
	return trials % 2 ? rates[trials / 2] : (rates[trials / 2 - 1] + rates[trials / 2]) / 2;
}

void bench_ratio_of(struct bench_ratio *out, const double *v, int n)
{
	double tmp[256];
	int i, m = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n && m < 256; i++)
		if (v[i] > 0 && isfinite(v[i]))
			tmp[m++] = v[i];
	if (!m)
		return;
	qsort(tmp, (size_t)m, sizeof(double), cmp_double);
	out->n = m;
	out->min = tmp[0];
	out->max = tmp[m - 1];
	out->median = m % 2 ? tmp[m / 2] : (tmp[m / 2 - 1] + tmp[m / 2]) / 2;
}
