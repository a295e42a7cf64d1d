/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-sched: a small example external scheduler, meant to be copied as the
 * start of a real one. Built only on the public API (handshake, queues,
 * allocator, runtime, guard). Speaks every generation of the handshake
 * table (--protocol 1 .. 5, sdk6, sdk7, or auto; --agave LINE): what a
 * generation's messages look like and mean comes from its bindings table
 * (xsched/msg.h, struct xs_bindings), so one code path serves them all.
 *
 * Shape:
 *
 *   xs_hs_connect()            one handshake, bounded by --timeout
 *   plan + runtime             one "tpu" lightweight thread and one "w<i>"
 *                              per worker pair, placed by the runtime on the
 *                              node of the session's memory (--placement ...)
 *
 *   tpu lthread                reads progress (leader state, end of stream)
 *                              and tpu_to_pack. Where the generation has
 *                              check workers (VERSION 5, SDK) it first sends
 *                              new transactions to check (the shared MPMC
 *                              pack_to_check_worker queue), reads the answers
 *                              from check_worker_to_pack and drops (frees)
 *                              those that fail; the rest go into a simple
 *                              priority order (votes, then staked, then the
 *                              rest; FIFO inside a class) and are handed,
 *                              best first, to the workers' feed rings
 *   w<i> lthread               reads worker_to_pack: frees what each answer
 *                              hands back (transactions, batch array,
 *                              response array), retries batches refused for
 *                              max_working_slot and transactions the bank
 *                              could not take (BANK_NOT_AVAILABLE, VERSION
 *                              1's SLOT_MISMATCH, PARTIAL_BATCH_CANCELLED,
 *                              ALL_OR_NOTHING_BATCH_FAILURE); sends batches of
 *                              up to --batch transactions whenever the
 *                              worker's queue has room and the validator can
 *                              execute (IS_LEADER in VERSION 1 and 2,
 *                              LEADER_READY from VERSION 3 on)
 *
 * Ownership (spec MESSAGES.md §5, §7.6, MESSAGES6.md §5): a transaction
 * belongs to us from the TpuToPack message on; a batch array is ours
 * (allocated with our handle) and lent to the worker until its answer; the
 * answer's response array becomes ours when it has one (PROCESSED), and so
 * does every resolved_pubkeys array with keys. Everything is freed with the
 * lightweight thread's own allocator handle (the check stage has one of its
 * own: allocator handle W).
 *
 * Trust nothing the validator writes (guard.h). Every message is copied out
 * of its queue slot first (the peer could rewrite the slot after a check)
 * and goes through the guard validator of the session's bindings version:
 * xs_msg_check_progress_b(), xs_msg_check_tpu_b(), xs_msg_check_response()
 * against the request we sent. An ownership ledger (xs_ledger, one for the
 * allocator file, shared by the lthreads) records what we hold and what we
 * lent (xs_guard_lend_request(), xs_guard_accept_resp()), so a transaction
 * handed over twice, a forged or replayed answer, a double free or a free
 * of something we never received is refused before the allocator sees it.
 * A refused message is reported on stderr, counted ("rejected") and
 * skipped without freeing anything it names; the run goes on and exits 1.
 *
 * The run ends at the end-of-stream progress message (current_slot =
 * UINT64_MAX, remaining_cost_units = transactions sent) once that many
 * transactions were received and every one was answered (or dropped by its
 * check). The allocator statistics then prove nothing we owned is still
 * allocated (exit 1 otherwise).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"
#include "tool_gen.h"
#include "tool_metrics.h"
#include "xsched/alloc.h"
#include "xsched/guard.h"
#include "xsched/handshake.h"
#include "xsched/mpmc.h"
#include "xsched/msg.h"
#include "xsched/runtime.h"
#include "xsched/spsc.h"

#define LD(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
/* one writer per counter (its lthread), read by the main thread: relaxed */
#define INC(x, n) __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)
#define NPRIO 3   /* 0 votes, 1 staked, 2 others */
#define GRACE_NS (200 * 1000000ull) /* draining allowed after the peer died */
#define MAX_REPORTS 20 /* per counter: a hostile peer must not flood stderr */
#define CHECK_FLIGHTS 64 /* check batches out at once */
#define MAX_FREES (2 * XS_MAX_TXS_PER_BATCH + 2)

/* A transaction we hold. 24 bytes. */
struct sc_tx {
	uint64_t off;
	uint32_t len;
	uint8_t prio;
	uint8_t retries;
	uint16_t pad_;
	uint64_t arrival_ns;
};

/* A batch lent to a worker (or to the check workers), waiting for its answer. */
struct sc_flight {
	uint64_t batch_off;
	uint64_t sent_ns; /* dispatch time (metrics on) */
	uint8_t n;
	uint8_t busy;     /* 1 in flight; check stage: 2 prepared, not pushed yet */
	uint64_t req[4];  /* the request as sent (32 or 24 bytes): its answer must match it */
	struct sc_tx tx[XS_MAX_TXS_PER_BATCH];
};

/* A single-thread ring of transactions (priority classes, retries). */
struct sc_ring {
	struct sc_tx *v;
	uint64_t head, tail, mask;
};

struct sc_opts {
	const char *socket;
	const char *protocol_arg, *agave_arg;
	struct xs_tool_gen gen;
	uint64_t timeout_ms, run_timeout_ms;
	uint32_t workers, handles, batch, retries, check_workers, check_batch;
	uint64_t alloc_size, tpu_cap, prog_cap, p2w_cap, w2p_cap, p2c_cap, c2p_cap;
	uint64_t max_pending, corrupt;
	bool check_workers_set, handles_set, check_batch_set, no_check;
	bool drop_on_failure, all_or_nothing;
	bool verbose, no_metrics;
	enum xs_tool_format fmt;
	struct xs_rt_opts rt;
};

struct sc;

struct sc_tpu {
	struct sc *sc;
	struct sc_ring prio[NPRIO];
	uint64_t pending;   /* held here: priority rings, waiting for a check, being checked */
	uint32_t next_worker;
	uint64_t received, rejected, progress_msgs, first_ns, not_ready_msgs;
	/* the check stage (generations with check workers) */
	bool checking;
	struct xs_alloc *calloc;  /* allocator handle W */
	struct sc_ring tocheck;   /* new transactions waiting for a check batch */
	struct sc_flight *cf;     /* [CHECK_FLIGHTS] */
	uint32_t cf_busy;
	uint64_t check_batches, check_answered, checked, check_passed, check_dropped;
	uint64_t check_rejected, check_abandoned, check_invalid, check_full, errors;
	uint64_t freed_txs, freed_batches, freed_responses, freed_pubkeys;
	uint64_t offs[MAX_FREES];
	struct xs_mhist_shm *mh_check; /* metrics: check request -> answer */
	struct xs_resp_view view; /* checked copy of the check answer being handled (6.7 KiB) */
} XS_CACHE_ALIGNED;

struct sc_worker {
	struct sc *sc;
	int index;
	struct xs_alloc *alloc;
	struct xs_spsc *p2w, *w2p;
	struct xs_spsc feed_prod; /* written by the tpu lthread only */
	struct xs_spsc feed;      /* consumer side of the same ring */
	struct sc_ring retry;
	struct sc_flight *flight;
	uint64_t fhead, ftail, fmask;
	uint64_t batches, batch_txs, answered, final, included, not_included, dropped;
	uint64_t exceeded, retried, errors, freed_txs, freed_batches, freed_responses, last_ns;
	uint64_t invalid;   /* batches the validator refused (INVALID / NOT_PROCESSED) */
	uint64_t rejected;  /* worker_to_pack messages refused by the checks */
	uint64_t abandoned; /* transactions of batches whose answer was refused: kept, not freed */
	uint64_t reasons[128];
	uint64_t offs[MAX_FREES];
	struct xs_resp_view view; /* checked copy of the answer being handled (6.7 KiB) */
	struct xs_hist lat;
	uint64_t p2w_full;          /* pack_to_worker found full (metrics) */
	struct xs_mhist_shm *mh[3]; /* metrics: arrival->dispatch, dispatch->response, arrival->response */
} XS_CACHE_ALIGNED;

struct sc {
	struct sc_opts o;
	struct xs_session *s;
	const struct xs_bindings *b;
	unsigned bid;         /* enum xs_bindings_id of the session */
	uint16_t exec_flags;  /* flags of every execute request */
	uint16_t check_flags; /* flags of every check request */
	/* published by the tpu lthread, read by the workers */
	uint32_t leader;  /* validator can execute (relaxed) */
	uint32_t eos;     /* end of stream seen (release/acquire with expected) */
	uint64_t mws;     /* max_working_slot for new batches (relaxed) */
	uint64_t expected;
	/* What we hold / lent, per 256-byte unit of the allocator file. Shared
	 * by every lthread: each transition is one CAS on the entry's word. */
	struct xs_ledger ledger;
	struct xs_peer peer;
	struct sc_tpu tpu;
	struct sc_worker *w;
	void *feed_mem;
};

static int ring_init(struct sc_ring *r, uint64_t cap)
{
	uint64_t n = 1;

	while (n < cap)
		n <<= 1;
	r->v = calloc(n, sizeof(*r->v));
	r->head = r->tail = 0;
	r->mask = n - 1;
	return r->v ? 0 : -ENOMEM;
}

static inline bool ring_push(struct sc_ring *r, const struct sc_tx *t)
{
	if (r->head - r->tail > r->mask)
		return false;
	r->v[r->head++ & r->mask] = *t;
	return true;
}

static inline bool ring_pop(struct sc_ring *r, struct sc_tx *t)
{
	if (r->head == r->tail)
		return false;
	*t = r->v[r->tail++ & r->mask];
	return true;
}

/*
 * A message failed a check (@p err, detail in xs_errmsg()): count it and say
 * why on stderr; the caller skips the message. @p queue names where it came
 * from, @p worker its worker pair (-1: none). Only the first MAX_REPORTS per
 * counter are printed: a hostile peer must not turn us into a log flood.
 */
static void reject(uint64_t *counter, const char *queue, int worker, int err)
{
	uint64_t n = *counter + 1;

	INC(*counter, 1);
	if (n > MAX_REPORTS)
		return;
	if (worker >= 0)
		xs_tool_note("%s[%d]: message rejected: %s (%d): %s%s", queue, worker,
			     xs_strerror(err), err, xs_errmsg(),
			     n == MAX_REPORTS ? " (further rejections only counted)" : "");
	else
		xs_tool_note("%s: message rejected: %s (%d): %s%s", queue, xs_strerror(err), err,
			     xs_errmsg(), n == MAX_REPORTS ? " (further rejections only counted)" : "");
}

/*
 * Queue @p off for freeing, once the ledger agrees that we hold it (HELD ->
 * RELEASED). A double free or a free of something we never received is
 * reported here instead of reaching the allocator. Every offset freed comes
 * from our own records, so a refusal means a bug on our side: counted as an
 * error. (xs_guard_free() is the same step for one offset; collecting them
 * keeps the allocator's batched free, one CAS per run of remote frees.)
 */
static void free_later(struct sc *sc, uint64_t *offs, size_t *nf, uint64_t *errors, int who,
		       uint64_t off)
{
	int err = xs_ledger_release(&sc->ledger, off);

	if (err < 0) {
		INC(*errors, 1);
		xs_tool_fail(err, "%s %d: free offset %llu", who < 0 ? "check stage" : "worker",
			     who < 0 ? 0 : who, (unsigned long long)off);
		return;
	}
	offs[(*nf)++] = off;
}

static void free_offsets(struct xs_alloc *a, const uint64_t *offs, size_t n, uint64_t *errors,
			 int who)
{
	int rc = xs_alloc_free_offsets(a, offs, n);

	if (rc < 0) {
		INC(*errors, 1);
		xs_tool_fail(rc, "%s %d: free", who < 0 ? "check stage" : "worker", who < 0 ? 0 : who);
	}
}

/* The batch array offset an answer echoes (every answer type: batch at 0). */
static uint64_t answer_batch(const void *m)
{
	return ((const struct xs_batch_region *)m)->transactions_offset;
}

/* ------------------------------------------------------------- tpu lthread */

/* A checked progress message (xs_msg_check_progress_b() passed). */
static void on_progress(struct sc *sc, const struct xs_tool_progress *m)
{
	bool ready;

	if (m->current_slot == UINT64_MAX) {
		/* end of stream: remaining_cost_units = transactions sent */
		sc->expected = m->remaining_cost_units;
		/* Release: pairs with the Acquire loads of eos (main thread, workers);
		 * expected is visible once eos is. */
		__atomic_store_n(&sc->eos, 1, __ATOMIC_RELEASE);
		return;
	}
	/* IS_LEADER in VERSION 1 and 2; from VERSION 3 on only LEADER_READY has
	 * a bank (LEADER_STARTING is a leader slot that cannot process yet) */
	ready = xs_tool_leader_ready(sc->b, m->leader_state);
	if (!ready && m->leader_state != XS_LEADER_NOT_LEADER)
		INC(sc->tpu.not_ready_msgs, 1);
	/* Relaxed: workers only need a recent view of the leader state. */
	__atomic_store_n(&sc->mws, m->leader_range_end, __ATOMIC_RELAXED);
	__atomic_store_n(&sc->leader, ready, __ATOMIC_RELAXED);
}

/* The free check-flight slot, or NULL when CHECK_FLIGHTS are out. */
static struct sc_flight *check_slot(struct sc_tpu *t, uint8_t state)
{
	for (unsigned i = 0; i < CHECK_FLIGHTS; i++)
		if (t->cf[i].busy == state)
			return &t->cf[i];
	return NULL;
}

/* Push a prepared check request. @return 1 sent, 0 queue full (kept), < 0 fatal. */
static int check_push(struct sc_tpu *t, struct sc_flight *f)
{
	int rc = xs_mpmc_try_push(&t->sc->s->pack_to_check, f->req);

	if (rc == -EAGAIN || rc == -XS_EQ_STALLED) {
		INC(t->check_full, 1);
		f->busy = 2;
		return 0;
	}
	if (rc < 0)
		return rc;
	f->busy = 1;
	if (t->mh_check)
		f->sent_ns = xs_tool_now_ns();
	INC(t->check_batches, 1);
	INC(t->checked, f->n);
	return 1;
}

/* Send what waits for a check, in batches of up to --check-batch. */
static int check_send(struct sc_tpu *t)
{
	struct sc *sc = t->sc;
	struct sc_flight *f;
	int sent = 0, rc;

	/* a request the queue had no room for goes first */
	while ((f = check_slot(t, 2)) != NULL) {
		if ((rc = check_push(t, f)) <= 0)
			return rc;
		sent++;
	}
	while (t->tocheck.head != t->tocheck.tail && (f = check_slot(t, 0)) != NULL) {
		unsigned n = 0, want = (unsigned)(t->tocheck.head - t->tocheck.tail);
		struct xs_tx_region *arr;
		uint64_t boff;
		int err;

		if (want > sc->o.check_batch)
			want = sc->o.check_batch;
		if (xs_alloc_alloc_offset(t->calloc, want * sizeof(*arr), &boff) < 0)
			break; /* no memory for the array right now */
		if ((err = xs_guard_allocated(&sc->ledger, boff)) < 0) {
			INC(t->errors, 1);
			xs_tool_fail(err, "check stage: take the new batch array");
			break;
		}
		arr = xs_alloc_ptr(t->calloc, boff);
		while (n < want && ring_pop(&t->tocheck, &f->tx[n])) {
			memset(&arr[n], 0, sizeof(arr[n]));
			arr[n].offset = f->tx[n].off;
			arr[n].length = f->tx[n].len;
			n++;
		}
		f->batch_off = boff;
		f->n = (uint8_t)n;
		memset(f->req, 0, sizeof(f->req));
		if (sc->b->split) {
			/* bindings 6: PackToCheckWorkerMessage, no slot */
			struct xs_v6_pack_to_check *r = (struct xs_v6_pack_to_check *)f->req;

			r->flags = sc->check_flags;
			r->batch.num_transactions = (uint8_t)n;
			r->batch.transactions_offset = boff;
		} else {
			/* VERSION 5: a PackToWorkerMessage of the CHECK kind */
			struct xs_pack_to_worker *r = (struct xs_pack_to_worker *)f->req;

			r->flags = sc->check_flags;
			r->max_working_slot = UINT64_MAX;
			r->batch.num_transactions = (uint8_t)n;
			r->batch.transactions_offset = boff;
		}
		/* Ledger: out on loan until its answer (HELD -> LENT) */
		if (XS_UNLIKELY((err = xs_guard_lend_request(&sc->ledger, sc->bid, XS_MSG_PACK_TO_CHECK,
							      f->req)) < 0))
			return err;
		t->cf_busy++;
		if ((rc = check_push(t, f)) < 0)
			return rc;
		if (rc == 0)
			break;
		sent++;
	}
	return sent;
}

/* One answer from check_worker_to_pack (private copy @p m). */
static void on_check_answer(struct sc_tpu *t, const void *m, uint64_t now)
{
	struct sc *sc = t->sc;
	struct xs_resp_view *v = &t->view;
	struct sc_flight *f = NULL;
	uint64_t boff = answer_batch(m);
	size_t nf = 0;
	int err;

	for (unsigned i = 0; i < CHECK_FLIGHTS && !f; i++)
		if (t->cf[i].busy == 1 && t->cf[i].batch_off == boff)
			f = &t->cf[i];
	if (!f) {
		err = xs_seterr(-XS_EMSG_NOT_LENT, "no check batch at offset %llu is waiting for "
				"an answer", (unsigned long long)boff);
		reject(&t->check_rejected, "check_worker_to_pack", -1, err);
		return;
	}
	if ((err = xs_msg_check_response(sc->bid, XS_MSG_CHECK_TO_PACK, t->calloc, m, f->req, v)) < 0 ||
	    (err = xs_guard_accept_resp(&sc->ledger, v)) < 0) {
		/* touch nothing it names; its transactions stay ours (abandoned) */
		reject(&t->check_rejected, "check_worker_to_pack", -1, err);
		INC(t->check_abandoned, f->n);
		f->busy = 0;
		t->cf_busy--;
		t->pending -= f->n;
		return;
	}
	INC(t->check_answered, 1);
	if (t->mh_check)
		xs_mhist_add(t->mh_check, now - f->sent_ns);
	for (unsigned k = 0; k < f->n; k++) {
		struct sc_tx *tx = &f->tx[k];

		/* a refused check batch (INVALID) still goes on, unchecked */
		if (v->has_responses && !xs_tool_check_passed(sc->b, v->resp.raw + k * v->elem_size)) {
			/* failed: dropped, freed from our own record of the batch */
			free_later(sc, t->offs, &nf, &t->errors, -1, tx->off);
			INC(t->check_dropped, 1);
			INC(t->freed_txs, 1);
			t->pending--;
			continue;
		}
		ring_push(&t->prio[tx->prio], tx); /* room: counted in pending */
		INC(t->check_passed, 1);
	}
	if (v->has_responses) {
		free_later(sc, t->offs, &nf, &t->errors, -1, v->responses_offset);
		INC(t->freed_responses, 1);
		for (uint32_t i = 0; i < v->num_pubkeys_arrays; i++) {
			free_later(sc, t->offs, &nf, &t->errors, -1, v->pubkeys[i]);
			INC(t->freed_pubkeys, 1);
		}
	} else if (v->status == XS_RESP_ST_INVALID) {
		INC(t->check_invalid, 1); /* the validator refused it: a bug on one side */
		INC(t->errors, 1);
	}
	free_later(sc, t->offs, &nf, &t->errors, -1, f->batch_off);
	INC(t->freed_batches, 1);
	free_offsets(t->calloc, t->offs, nf, &t->errors, -1);
	f->busy = 0;
	t->cf_busy--;
}

static int check_recv(struct sc_tpu *t)
{
	uint64_t m[5], now = 0;
	int items = 0, rc;

	for (;;) {
		rc = xs_mpmc_try_pop(&t->sc->s->check_to_pack, m); /* a private copy */
		if (rc == -EAGAIN || rc == -XS_EQ_STALLED)
			break;
		if (rc < 0)
			return rc;
		if (!now)
			now = xs_tool_now_ns();
		on_check_answer(t, m, now);
		items++;
	}
	return items;
}

static int tpu_poll(void *arg)
{
	struct sc_tpu *t = arg;
	struct sc *sc = t->sc;
	struct xs_session *s = sc->s;
	const void *pslot;
	const struct xs_tpu_to_pack *tslot;
	uint64_t now = 0, room;
	int items = 0, err, rc;

	while ((pslot = xs_spsc_poll(&s->progress)) != NULL) {
		uint64_t raw[12]; /* private copy: check and use the same bytes */
		struct xs_tool_progress pm;

		memcpy(raw, pslot, sc->b->size[XS_MSG_PROGRESS]);
		/* leader_state defined for the session's bindings, progress <=
		 * 100 %: the workers act on the leader state */
		if ((err = xs_msg_check_progress_b(sc->bid, raw)) < 0) {
			reject(&t->rejected, "progress", -1, err);
		} else {
			xs_tool_progress_decode(sc->b, raw, &pm);
			on_progress(sc, &pm);
		}
		INC(t->progress_msgs, 1);
		items++;
	}
	xs_spsc_finalize(&s->progress);
	if (xs_spsc_error(&s->progress))
		return xs_spsc_error(&s->progress);

	/* answers of the check workers first: they free room */
	if (t->checking) {
		if ((rc = check_recv(t)) < 0)
			return rc;
		items += rc;
	}

	/* new transactions, while the rings have room */
	room = sc->o.max_pending - t->pending;
	if (room > 256)
		room = 256;
	while (room && (tslot = xs_tpu_to_pack_poll(&s->tpu_to_pack)) != NULL) {
		struct xs_tpu_to_pack m = *tslot; /* private copy: check and use the same bytes */
		struct sc_tx tx = {.off = m.transaction.offset, .len = m.transaction.length};
		const uint8_t *bytes;

		if (!now) {
			now = xs_tool_now_ns(); /* one timestamp per burst */
			if (!t->first_ns)
				t->first_ns = now;
		}
		INC(t->received, 1);
		items++;
		room--;
		/* The transaction must be an allocation of the session's file, starting
		 * at a slot and ending inside it (else it is nothing we could free),
		 * with defined flags. Then the ledger takes it: it refuses an
		 * allocation we already hold (the same transaction handed over twice,
		 * which would end in a double free). A refused one stays untouched. */
		if ((err = xs_msg_check_tpu_b(sc->bid, s->allocs[0], &m, &bytes)) < 0 ||
		    (err = xs_guard_accept_tpu(&sc->ledger, &m)) < 0) {
			reject(&t->rejected, "tpu_to_pack", -1, err);
			continue;
		}
		if (sc->o.corrupt && t->received == sc->o.corrupt && tx.len)
			((uint8_t *)bytes)[tx.len - 1] ^= 0xff; /* --corrupt-tx (testing) */
		tx.arrival_ns = now;
		tx.prio = (m.flags & XS_TPU_FLAG_IS_SIMPLE_VOTE) ? 0
			  : (m.flags & XS_TPU_FLAG_FROM_STAKED_NODE) ? 1 : 2;
		/* room was checked */
		ring_push(t->checking ? &t->tocheck : &t->prio[tx.prio], &tx);
		t->pending++;
	}
	xs_spsc_finalize(&s->tpu_to_pack);
	if (xs_spsc_error(&s->tpu_to_pack))
		return xs_spsc_error(&s->tpu_to_pack);
	if (t->checking) {
		if ((rc = check_send(t)) < 0)
			return rc;
		items += rc;
	}

	/* hand the best transactions to the workers whose feed has room */
	for (uint32_t k = 0; k < s->num_workers; k++) {
		struct sc_worker *w = &sc->w[(t->next_worker + k) % s->num_workers];
		bool pushed = false;

		for (;;) {
			struct sc_tx *slot;
			int p = 0;

			while (p < NPRIO && t->prio[p].head == t->prio[p].tail)
				p++;
			if (p == NPRIO || !(slot = xs_spsc_reserve(&w->feed_prod)))
				break;
			ring_pop(&t->prio[p], slot);
			t->pending--;
			pushed = true;
		}
		if (pushed)
			xs_spsc_commit(&w->feed_prod);
	}
	t->next_worker = (t->next_worker + 1) % s->num_workers;
	return items;
}

/* ---------------------------------------------------------- worker lthread */

/* The in-flight entry of a batch: normally the oldest (answers come in order). */
static struct sc_flight *find_flight(struct sc_worker *w, uint64_t batch_off)
{
	for (uint64_t i = w->ftail; i != w->fhead; i++) {
		struct sc_flight *f = &w->flight[i & w->fmask];

		if (f->busy && f->batch_off == batch_off)
			return f;
	}
	return NULL;
}

/* The batch is settled (answered or given up): free its in-flight slot. */
static void retire_flight(struct sc_worker *w, struct sc_flight *f)
{
	f->busy = 0;
	while (w->ftail != w->fhead && !w->flight[w->ftail & w->fmask].busy)
		w->ftail++;
}

/* A transaction the bank could not take now: another batch may (VERSION 1's
 * SLOT_MISMATCH, PARTIAL_BATCH_CANCELLED, BANK_NOT_AVAILABLE, and the rest
 * of an ALL_OR_NOTHING batch). */
static bool retriable(const struct sc *sc, unsigned reason)
{
	return reason == XS_NIR_BANK_NOT_AVAILABLE || reason == XS_NIR_ALL_OR_NOTHING_BATCH_FAILURE ||
	       (reason == 2 && xs_bindings_reason_known(sc->b, 2));
}

/* Retry @p tx when it has retries left. @return true when it was queued. */
static bool retry_tx(struct sc_worker *w, struct sc_tx *tx)
{
	if (tx->retries >= w->sc->o.retries)
		return false;
	tx->retries++;
	if (!ring_push(&w->retry, tx))
		return false;
	INC(w->retried, 1);
	return true;
}

static void on_answer(struct sc_worker *w, const void *slot, uint64_t now)
{
	struct sc *sc = w->sc;
	uint64_t m[5]; /* private copy: check and use the same bytes */
	struct xs_resp_view *v = &w->view;
	struct sc_flight *f;
	size_t nf = 0;
	int err;

	memcpy(m, slot, sc->b->size[XS_MSG_WORKER_TO_PACK]);
	f = find_flight(w, answer_batch(m));
	/* An answer must name a batch this worker sent and still waits for: a
	 * forged or replayed one names nothing we may free. (The ledger alone
	 * cannot tell: the batch could be out on another worker.) */
	if (!f) {
		err = xs_seterr(-XS_EMSG_NOT_LENT,
				"no batch at offset %llu is waiting for an answer on this worker",
				(unsigned long long)answer_batch(m));
		reject(&w->rejected, "worker_to_pack", w->index, err);
		return;
	}
	/* Against the request we sent: same batch, a processed code of the
	 * version, the response kind of an execute request, one response per
	 * transaction, the response array inside the file, reasons the version
	 * defines. The responses are copied into v first and only the copy is
	 * used. Then the ledger: the batch array comes back from its loan and
	 * the response array becomes ours (all or nothing). */
	if ((err = xs_msg_check_response(sc->bid, XS_MSG_WORKER_TO_PACK, w->alloc, m, f->req, v)) < 0 ||
	    (err = xs_guard_accept_resp(&sc->ledger, v)) < 0) {
		/* Touch nothing: the batch array may still be in the validator's
		 * hands and its transactions stay ours (counted as abandoned; the
		 * end-of-run leak check reports them). Give the slot up so this
		 * worker keeps sending. */
		reject(&w->rejected, "worker_to_pack", w->index, err);
		INC(w->abandoned, f->n);
		retire_flight(w, f);
		return;
	}
	INC(w->answered, 1);
	if (v->status == XS_RESP_ST_SLOT_EXCEEDED) {
		/* the bank moved past max_working_slot: try again, a few times */
		INC(w->exceeded, 1);
		for (unsigned k = 0; k < f->n; k++) {
			if (retry_tx(w, &f->tx[k]))
				continue;
			free_later(sc, w->offs, &nf, &w->errors, w->index, f->tx[k].off); /* give up */
			INC(w->freed_txs, 1);
			INC(w->dropped, 1);
			INC(w->final, 1);
		}
	} else {
		unsigned done = 0;

		if (v->has_responses) {
			/* PROCESSED: execution responses, checked in v */
			for (unsigned k = 0; k < f->n; k++) {
				uint8_t r = xs_tool_exec_reason(sc->b, v->resp.raw, k);

				if (r && retriable(sc, r) && retry_tx(w, &f->tx[k])) {
					f->tx[k].off = 0; /* back in the retry ring: not ours to free here */
					continue;
				}
				INC(w->reasons[r & 127], 1);
				if (r)
					INC(w->not_included, 1);
				else
					INC(w->included, 1);
			}
			free_later(sc, w->offs, &nf, &w->errors, w->index, v->responses_offset);
			INC(w->freed_responses, 1);
		} else {
			/* INVALID (VERSION 1: NOT_PROCESSED): the validator refused the batch */
			INC(w->invalid, 1);
			INC(w->errors, 1);
		}
		/* The transactions from our own record of the batch, never from the
		 * array in the file: the validator can write there. */
		for (unsigned k = 0; k < f->n; k++) {
			if (!f->tx[k].off)
				continue;
			xs_hist_add(&w->lat, now - f->tx[k].arrival_ns, 1);
			xs_mhist_add(w->mh[2], now - f->tx[k].arrival_ns);
			free_later(sc, w->offs, &nf, &w->errors, w->index, f->tx[k].off);
			done++;
		}
		INC(w->freed_txs, done);
		INC(w->final, done);
		if (w->mh[1])
			xs_mhist_add_n(w->mh[1], now - f->sent_ns, f->n);
	}
	free_later(sc, w->offs, &nf, &w->errors, w->index, f->batch_off); /* ours again */
	INC(w->freed_batches, 1);
	free_offsets(w->alloc, w->offs, nf, &w->errors, w->index);
	retire_flight(w, f);
}

/* Take the next transaction to send: retries first, then the feed. */
static bool next_tx(struct sc_worker *w, struct sc_tx *tx)
{
	const struct sc_tx *t;

	if (ring_pop(&w->retry, tx))
		return true;
	if (!(t = xs_spsc_poll(&w->feed)))
		return false;
	*tx = *t;
	return true;
}

static int send_batches(struct sc_worker *w)
{
	struct sc *sc = w->sc;
	int sent = 0;
	bool eos = __atomic_load_n(&sc->eos, __ATOMIC_ACQUIRE);

	if (!eos && !__atomic_load_n(&sc->leader, __ATOMIC_RELAXED))
		return 0; /* no bank to execute on: hold the transactions */
	for (;;) {
		struct sc_flight *f;
		struct xs_pack_to_worker *req;
		struct xs_tx_region *arr;
		void *slot;
		uint64_t boff;
		unsigned n = 0;
		int err;

		if (w->fhead - w->ftail > w->fmask)
			break; /* every in-flight slot is taken */
		if (w->retry.head == w->retry.tail && xs_spsc_avail_cached(&w->feed) == 0 &&
		    (xs_spsc_cons_sync(&w->feed) < 0 || xs_spsc_avail_cached(&w->feed) == 0))
			break; /* nothing to send */
		if (xs_spsc_free_cached(w->p2w) == 0 &&
		    (xs_spsc_prod_sync(w->p2w) < 0 || xs_spsc_free_cached(w->p2w) == 0)) {
			INC(w->p2w_full, 1); /* backpressure, for the metrics */
			break; /* the worker's queue is full */
		}
		if (xs_alloc_alloc_offset(w->alloc, sc->o.batch * sizeof(*arr), &boff) < 0)
			break; /* no memory for the array right now */
		/* Ledger: the new array is ours (NEVER/RELEASED -> HELD). Refused
		 * only when the allocator hands out something we still hold, i.e.
		 * its metadata in the shared file was rewritten: leave it alone. */
		if ((err = xs_guard_allocated(&sc->ledger, boff)) < 0) {
			INC(w->errors, 1);
			xs_tool_fail(err, "worker %d: take the new batch array", w->index);
			break;
		}
		arr = xs_alloc_ptr(w->alloc, boff);
		f = &w->flight[w->fhead & w->fmask];
		while (n < sc->o.batch && next_tx(w, &f->tx[n])) {
			arr[n].offset = f->tx[n].off;
			arr[n].length = f->tx[n].len;
			memset(arr[n].pad_, 0, sizeof(arr[n].pad_));
			n++;
		}
		f->batch_off = boff;
		f->n = (uint8_t)n;
		f->busy = 1;
		if (w->mh[0]) { /* metrics: dispatch time, arrival -> dispatch */
			f->sent_ns = xs_tool_now_ns();
			for (unsigned k = 0; k < n; k++)
				xs_mhist_add(w->mh[0], f->sent_ns - f->tx[k].arrival_ns);
		}
		w->fhead++;
		/* The request is kept in the flight entry: its answer is checked
		 * against it (same batch, response kind of the request). Every
		 * generation's execute request has these bytes: flags u16 @0
		 * (VERSION 1: NONE = 0; VERSION 2 - 5: EXECUTE | options;
		 * bindings 6: options), max_working_slot @8 (VERSION 1:
		 * max_execution_slot), batch @16. */
		memset(f->req, 0, sizeof(f->req));
		req = (struct xs_pack_to_worker *)f->req;
		req->flags = sc->exec_flags;
		req->max_working_slot = eos ? UINT64_MAX : __atomic_load_n(&sc->mws, __ATOMIC_RELAXED);
		req->batch.num_transactions = (uint8_t)n;
		req->batch.transactions_offset = boff;
		/* Ledger: the array goes out on loan (HELD -> LENT) until its answer;
		 * only a matching answer brings it back. It was just taken above. */
		if (XS_UNLIKELY((err = xs_guard_lend_request(&sc->ledger, sc->bid, XS_MSG_PACK_TO_WORKER,
							      f->req)) < 0))
			return err;
		slot = xs_spsc_reserve(w->p2w); /* room was checked */
		if (XS_UNLIKELY(!slot))
			return xs_spsc_error(w->p2w) ? xs_spsc_error(w->p2w) : -XS_E_INTERNAL;
		memcpy(slot, f->req, sizeof(struct xs_pack_to_worker));
		INC(w->batches, 1);
		INC(w->batch_txs, n);
		sent++;
	}
	xs_spsc_finalize(&w->feed);
	xs_spsc_commit(w->p2w);
	return sent;
}

static int worker_poll(void *arg)
{
	struct sc_worker *w = arg;
	const void *m;
	uint64_t now = 0;
	int items = 0;

	while ((m = xs_spsc_poll(w->w2p)) != NULL) {
		if (!now)
			now = xs_tool_now_ns(); /* one timestamp per burst of answers */
		on_answer(w, m, now);
		items++;
	}
	xs_spsc_finalize(w->w2p);
	if (now)
		__atomic_store_n(&w->last_ns, now, __ATOMIC_RELAXED);
	if (xs_spsc_error(w->w2p))
		return xs_spsc_error(w->w2p);
	items += send_batches(w);
	if (xs_spsc_error(w->p2w))
		return xs_spsc_error(w->p2w);
	return items;
}

/* -------------------------------------------------------------- setup */

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s --socket PATH [OPTION]...\n"
		"Example external scheduler: connect to a validator (or xsched-mockval) at PATH,\n"
		"schedule every transaction it sends in priority order, in batches, and free\n"
		"everything it owns. Ends at the validator's end-of-stream message.\n"
		"\n"
		"Session:\n"
		"  -s, --socket PATH           validator's scheduler socket (required)\n"
		"  -P, --protocol GEN          generation to speak: handshake VERSION 1, 2, 3, 4, 5,\n"
		"                              sdk6, sdk7 (agave-scheduler-handshake), or auto (the\n"
		"                              newest first, then the one the server names)\n"
		"                              (default 2)\n"
		"      --agave LINE            the generation of an agave release line: 3.1, 4.0,\n"
		"                              4.1, 4.2, 4.3, 4.4 (where it is open: the best\n"
		"                              inference, with a note saying so)\n"
		"  -t, --timeout MS            bound for the whole handshake (default 1000)\n"
		"      --run-timeout MS        give up when the session lasts longer (default: none)\n"
		"  -w, --workers W             banking workers, 1..64 (default 4)\n"
		"      --check-workers C       SDK rows: the logon's check_worker_count, 1..64\n"
		"                              (default 1; VERSION 5's validator decides itself)\n"
		"      --allocator-size SIZE   shared allocator file (default 64M)\n"
		"      --allocator-handles H   allocator handles, W..128 (default W, plus one for\n"
		"                              the check stage where the generation has one)\n"
		"      --tpu-capacity N        tpu_to_pack queue, messages (default 16384)\n"
		"      --progress-capacity N   progress_tracker queue (default 256)\n"
		"      --p2w-capacity N        each pack_to_worker queue (default 64)\n"
		"      --w2p-capacity N        each worker_to_pack queue (default 64)\n"
		"      --p2c-capacity N        pack_to_check_worker queue (VERSION 5, SDK; default 256)\n"
		"      --c2p-capacity N        check_worker_to_pack queue (VERSION 5, SDK; default 256)\n"
		"Scheduling:\n"
		"  -b, --batch N               transactions per batch, 1..64 (default 64)\n"
		"      --check-batch N         transactions per check batch (default: --batch, at\n"
		"                              most what one 4096-byte response array holds: 42\n"
		"                              with bindings 6)\n"
		"      --no-check              skip the check stage where the generation has one\n"
		"      --drop-on-failure       execute with DROP_ON_FAILURE (not VERSION 1)\n"
		"      --all-or-nothing        execute with ALL_OR_NOTHING (not VERSION 1)\n"
		"      --max-pending N         transactions held before tpu_to_pack is left to\n"
		"                              fill up (default 65536)\n"
		"      --retries N             resends after max_working_slot refusals and\n"
		"                              transactions the bank could not take (default 3)\n"
		"      --corrupt-tx N          TESTING: flip the last byte of the N-th transaction\n"
		"Output:\n"
		"  -f, --format FMT            summary as table (default) or json\n"
		XS_TOOL_NO_METRICS_HELP
		"  -v, --verbose               plan and progress on stderr\n"
		"  -h, --help                  show this help and exit\n"
		"  -V, --version               show the version and exit\n"
		"\n",
		xs_tool_name());
	xs_rt_opts_usage(out);
	fprintf(out, "\nExit status: 0 every transaction answered and everything freed; 1 handshake\n"
		     "rejected or failed, validator gone, a message that failed the checks, protocol\n"
		     "error or leak; 2 usage error.\n");
}

enum {
	OPT_RUN_TIMEOUT = 0x100, OPT_ASIZE, OPT_AHANDLES, OPT_TPU_CAP, OPT_PROG_CAP, OPT_P2W_CAP,
	OPT_W2P_CAP, OPT_MAX_PENDING, OPT_RETRIES, OPT_CORRUPT, OPT_AGAVE, OPT_CHECK_WORKERS,
	OPT_P2C_CAP, OPT_C2P_CAP, OPT_CHECK_BATCH, OPT_NO_CHECK, OPT_DROP, OPT_ALL,
};

/* Largest check batch whose response array fits one allocation. */
static uint32_t check_batch_max(const struct xs_bindings *b)
{
	uint32_t n = XS_ALLOC_MAX_SIZE / b->size[XS_MSG_CHECK_RESPONSE];

	return n < XS_MAX_TXS_PER_BATCH ? n : XS_MAX_TXS_PER_BATCH;
}

/* What depends on the generation, once it is known (after parsing, or
 * after an auto negotiation): usage errors in the first case. */
static void gen_options(struct sc_opts *o, bool connected)
{
	const struct xs_tool_gen *g = &o->gen;
	const char *label = xs_tool_gen_label(g);

	if ((o->drop_on_failure || o->all_or_nothing) && !xs_tool_has_exec_options(g->b)) {
		if (!connected)
			xs_tool_usage_error("%s: %s (bindings %s) has no such execution flag",
					    o->drop_on_failure ? "--drop-on-failure" : "--all-or-nothing",
					    label, g->b->name);
		xs_tool_note("%s has no DROP_ON_FAILURE / ALL_OR_NOTHING: executing without",
			     label);
		o->drop_on_failure = o->all_or_nothing = false;
	}
	if (xs_tool_gen_has_check(g)) {
		uint32_t max = check_batch_max(g->b);

		if (o->check_batch_set && o->check_batch > max && !connected)
			xs_tool_usage_error("--check-batch: %u check responses of %u bytes exceed one "
					    "%u-byte allocation in %s (at most %u)", o->check_batch,
					    g->b->size[XS_MSG_CHECK_RESPONSE], XS_ALLOC_MAX_SIZE, label,
					    max);
		if (!o->check_batch_set)
			o->check_batch = o->batch;
		if (o->check_batch > max)
			o->check_batch = max;
	}
	if (o->check_workers_set && !xs_tool_gen_logon_check_count(g)) {
		if (!connected)
			xs_tool_usage_error("--check-workers: %s %s", label,
					    xs_tool_gen_has_check(g)
						    ? "has no check_worker_count in its logon (the "
						      "validator decides how many check workers it runs)"
						    : "has no check workers");
		xs_tool_note("--check-workers: %s has no check_worker_count in its logon: ignored",
			     label);
	}
	if (o->handles_set && o->handles < o->workers + (xs_tool_gen_has_check(g) && !o->no_check))
		xs_tool_usage_error("--allocator-handles: %u is fewer than the %u workers%s (each "
				    "worker lightweight thread needs its own handle)", o->handles,
				    o->workers,
				    xs_tool_gen_has_check(g) && !o->no_check ? " plus the check stage" : "");
}

static void parse(struct sc_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"protocol", required_argument, NULL, 'P'},
		{"agave", required_argument, NULL, OPT_AGAVE},
		{"timeout", required_argument, NULL, 't'},
		{"run-timeout", required_argument, NULL, OPT_RUN_TIMEOUT},
		{"workers", required_argument, NULL, 'w'},
		{"check-workers", required_argument, NULL, OPT_CHECK_WORKERS},
		{"allocator-size", required_argument, NULL, OPT_ASIZE},
		{"allocator-handles", required_argument, NULL, OPT_AHANDLES},
		{"tpu-capacity", required_argument, NULL, OPT_TPU_CAP},
		{"progress-capacity", required_argument, NULL, OPT_PROG_CAP},
		{"p2w-capacity", required_argument, NULL, OPT_P2W_CAP},
		{"w2p-capacity", required_argument, NULL, OPT_W2P_CAP},
		{"p2c-capacity", required_argument, NULL, OPT_P2C_CAP},
		{"c2p-capacity", required_argument, NULL, OPT_C2P_CAP},
		{"batch", required_argument, NULL, 'b'},
		{"check-batch", required_argument, NULL, OPT_CHECK_BATCH},
		{"no-check", no_argument, NULL, OPT_NO_CHECK},
		{"drop-on-failure", no_argument, NULL, OPT_DROP},
		{"all-or-nothing", no_argument, NULL, OPT_ALL},
		{"max-pending", required_argument, NULL, OPT_MAX_PENDING},
		{"retries", required_argument, NULL, OPT_RETRIES},
		{"corrupt-tx", required_argument, NULL, OPT_CORRUPT},
		XS_TOOL_LONGOPT_NO_METRICS,
		{"verbose", no_argument, NULL, 'v'},
		XS_TOOL_LONGOPT_FORMAT,
		XS_TOOL_LONGOPTS,
		XS_RT_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->timeout_ms = 1000;
	o->workers = 4;
	o->check_workers = 1;
	o->alloc_size = 64ull << 20;
	o->tpu_cap = 16384;
	o->prog_cap = 256;
	o->p2w_cap = 64;
	o->w2p_cap = 64;
	o->p2c_cap = 256;
	o->c2p_cap = 256;
	o->batch = 64;
	o->max_pending = 65536;
	o->retries = 3;
	xs_rt_opts_init(&o->rt);

#define NUM(parse_fn, min, max, dst)                                               \
	do {                                                                       \
		if (parse_fn(optarg, (min), (max), &v) < 0)                        \
			xs_tool_usage_error("%s: %s", xs_tool_optname(longopts, c), xs_errmsg()); \
		dst = v;                                                           \
	} while (0)

	while ((c = xs_tool_getopt(argc, argv, "s:P:t:w:b:vf:hV", longopts)) != -1) {
		if (xs_tool_std_opt(c, optarg, &o->fmt, &o->rt))
			continue;
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'P': o->protocol_arg = optarg; break;
		case OPT_AGAVE: o->agave_arg = optarg; break;
		case 't': NUM(xs_tool_parse_u64, 1, 3600000, o->timeout_ms); break;
		case OPT_RUN_TIMEOUT: NUM(xs_tool_parse_u64, 0, 86400000, o->run_timeout_ms); break;
		case 'w': NUM(xs_tool_parse_u64, 1, XS_HS_MAX_WORKERS, o->workers); break;
		case OPT_CHECK_WORKERS:
			NUM(xs_tool_parse_u64, 1, XS_HS_MAX_CHECK_WORKERS, o->check_workers);
			o->check_workers_set = true;
			break;
		case OPT_ASIZE: NUM(xs_tool_parse_size, 1ull << 20, XS_ALLOC_MAX_FILE, o->alloc_size); break;
		case OPT_AHANDLES:
			NUM(xs_tool_parse_u64, 1, XS_HS_MAX_ALLOC_HANDLES, o->handles);
			o->handles_set = true;
			break;
		case OPT_TPU_CAP: NUM(xs_tool_parse_u64, 1, 1ull << 24, o->tpu_cap); break;
		case OPT_PROG_CAP: NUM(xs_tool_parse_u64, 1, 1ull << 24, o->prog_cap); break;
		case OPT_P2W_CAP: NUM(xs_tool_parse_u64, 1, 1ull << 20, o->p2w_cap); break;
		case OPT_W2P_CAP: NUM(xs_tool_parse_u64, 1, 1ull << 20, o->w2p_cap); break;
		case OPT_P2C_CAP: NUM(xs_tool_parse_u64, 1, 1ull << 20, o->p2c_cap); break;
		case OPT_C2P_CAP: NUM(xs_tool_parse_u64, 1, 1ull << 20, o->c2p_cap); break;
		case 'b': NUM(xs_tool_parse_u64, 1, XS_MAX_TXS_PER_BATCH, o->batch); break;
		case OPT_CHECK_BATCH:
			NUM(xs_tool_parse_u64, 1, XS_MAX_TXS_PER_BATCH, o->check_batch);
			o->check_batch_set = true;
			break;
		case OPT_NO_CHECK: o->no_check = true; break;
		case OPT_DROP: o->drop_on_failure = true; break;
		case OPT_ALL: o->all_or_nothing = true; break;
		case OPT_MAX_PENDING: NUM(xs_tool_parse_u64, 1, 1ull << 26, o->max_pending); break;
		case OPT_RETRIES: NUM(xs_tool_parse_u64, 0, 255, o->retries); break;
		case OPT_CORRUPT: NUM(xs_tool_parse_u64, 1, UINT64_MAX, o->corrupt); break;
		case 'v': o->verbose = true; break;
		case XS_TOOL_OPT_NO_METRICS: o->no_metrics = true; break;
		default: xs_tool_usage_error("%s: unexpected option", xs_tool_optname(longopts, c));
		}
	}
#undef NUM
	if (optind < argc)
		xs_tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->socket)
		xs_tool_usage_error("--socket: required (the validator's socket path)");
	xs_tool_gen_resolve(&o->gen, o->protocol_arg, o->agave_arg, true);
	if (o->handles_set && o->handles < o->workers)
		xs_tool_usage_error("--allocator-handles: %u is fewer than the %u workers (each "
				    "worker lightweight thread needs its own handle)", o->handles,
				    o->workers);
	if (!o->gen.is_auto)
		gen_options(o, false);
	if (!o->handles_set)
		/* one more for the check stage where there may be one */
		o->handles = o->workers + (!o->no_check && (o->gen.is_auto ||
							    xs_tool_gen_has_check(&o->gen)));
}

static int setup_state(struct sc *sc)
{
	struct xs_session *s = sc->s;
	struct sc_tpu *t = &sc->tpu;
	uint64_t fcap = 4ull * sc->o.batch, inflight = 1;
	size_t fsize = xs_spsc_min_file_size(fcap, sizeof(struct sc_tx), 8);
	int rc;

	while (inflight < sc->o.p2w_cap + sc->o.w2p_cap + 2)
		inflight <<= 1;
	t->sc = sc;
	sc->exec_flags = xs_tool_exec_flags(sc->b, sc->o.drop_on_failure, sc->o.all_or_nothing);
	sc->check_flags = xs_tool_check_all(sc->b);
	/* the check stage: where the generation has check queues and we have
	 * a handle for it (allocator handle W) */
	t->checking = s->has_check_queues && !sc->o.no_check;
	if (t->checking && s->num_allocs <= s->num_workers) {
		xs_tool_note("no allocator handle left for the check stage (%u handles, %u workers): "
			     "transactions go unchecked", s->num_allocs, s->num_workers);
		t->checking = false;
	}
	/* one ledger entry per 256-byte unit of the allocator's slabs */
	if ((rc = xs_ledger_init_alloc(&sc->ledger, s->allocs[0])) < 0)
		return rc;
	for (int p = 0; p < NPRIO; p++)
		if ((rc = ring_init(&t->prio[p], sc->o.max_pending)) < 0)
			return rc;
	if (t->checking) {
		t->calloc = s->allocs[s->num_workers];
		if ((rc = ring_init(&t->tocheck, sc->o.max_pending)) < 0)
			return rc;
		if (!(t->cf = calloc(CHECK_FLIGHTS, sizeof(*t->cf))))
			return -ENOMEM;
	}
	sc->w = aligned_alloc(XS_CACHE_LINE, sizeof(*sc->w) * s->num_workers);
	sc->feed_mem = aligned_alloc(XS_CACHE_LINE, ((fsize + 63) & ~(size_t)63) * s->num_workers);
	if (!sc->w || !sc->feed_mem)
		return -ENOMEM;
	memset(sc->w, 0, sizeof(*sc->w) * s->num_workers);
	for (uint32_t i = 0; i < s->num_workers; i++) {
		struct sc_worker *w = &sc->w[i];
		uint8_t *mem = (uint8_t *)sc->feed_mem + i * ((fsize + 63) & ~(size_t)63);

		w->sc = sc;
		w->index = (int)i;
		w->alloc = s->allocs[i];
		w->p2w = &s->workers[i].pack_to_worker;
		w->w2p = &s->workers[i].worker_to_pack;
		/* the feed ring: the library's SPSC queue over process memory */
		if ((rc = xs_spsc_attach_mem(&w->feed_prod, mem, fsize, sizeof(struct sc_tx), 8,
					     XS_SHAQ_1_0, XS_SPSC_PRODUCER, 1)) < 0 ||
		    (rc = xs_spsc_attach_mem(&w->feed, mem, fsize, sizeof(struct sc_tx), 8,
					     XS_SHAQ_1_0, XS_SPSC_CONSUMER, 0)) < 0)
			return rc;
		if ((rc = ring_init(&w->retry, inflight * XS_MAX_TXS_PER_BATCH)) < 0)
			return rc;
		w->flight = calloc(inflight, sizeof(*w->flight));
		if (!w->flight)
			return -ENOMEM;
		w->fmask = inflight - 1;
		xs_hist_init(&w->lat);
	}
	return 0;
}

static void free_state(struct sc *sc)
{
	for (int p = 0; p < NPRIO; p++)
		free(sc->tpu.prio[p].v);
	free(sc->tpu.tocheck.v);
	free(sc->tpu.cf);
	if (sc->w && sc->s)
		for (uint32_t i = 0; i < sc->s->num_workers; i++) {
			free(sc->w[i].retry.v);
			free(sc->w[i].flight);
		}
	free(sc->w);
	free(sc->feed_mem);
	xs_ledger_fini(&sc->ledger);
}

static int build_runtime(struct sc *sc, struct xs_topo *topo, struct xs_plan **plan,
			 struct xs_rt **rt)
{
	struct xs_session *s = sc->s;
	struct xs_task tasks[1 + XS_HS_MAX_WORKERS];
	struct xs_lthread_spec specs[1 + XS_HS_MAX_WORKERS];
	struct xs_mem_loc loc;
	int nt, rc, mem_node = -1;

	if ((nt = xs_tasks_std(tasks, 1 + XS_HS_MAX_WORKERS, (int)s->num_workers)) < 0)
		return nt;
	/* plan on the node that holds the session's memory */
	if (xs_topo_is_system(topo) && xs_rt_session_node(topo, s, &loc) > 0)
		mem_node = loc.node;
	if ((rc = xs_tool_plan_rt(&sc->o.rt, topo, tasks, nt, mem_node, plan, rt)) < 0)
		return rc;
	memset(specs, 0, sizeof(specs));
	for (int i = 0; i < nt; i++) {
		const struct xs_plan_task *pt = xs_plan_task(*plan, i);

		if (pt->task.kind == XS_TASK_TPU) {
			specs[i].poll = tpu_poll;
			specs[i].arg = &sc->tpu;
		} else {
			specs[i].poll = worker_poll;
			specs[i].arg = &sc->w[pt->task.index];
		}
	}
	rc = xs_rt_add_plan(*rt, *plan, specs);
	return rc < 0 ? rc : 0;
}

#define WSUM(sc, field)                                                    \
	({                                                                 \
		uint64_t s_ = 0;                                           \
		for (uint32_t i_ = 0; i_ < (sc)->s->num_workers; i_++)     \
			s_ += LD((sc)->w[i_].field);                       \
		s_;                                                        \
	})

struct outcome {
	const char *status;
	uint64_t our_bytes_in_use; /* allocator statistics over our handles */
	uint64_t our_slots_in_use; /* allocs - local frees over our handles */
};

/* Transactions with a final outcome: answered by a worker or dropped by a check. */
static uint64_t settled(struct sc *sc)
{
	return WSUM(sc, final) + LD(sc->tpu.check_dropped);
}

static void summary(struct sc *sc, const struct outcome *oc, const struct xs_plan *plan)
{
	struct xs_hist *lat = malloc(sizeof(*lat));
	const struct sc_tpu *t = &sc->tpu;
	uint64_t received = LD(t->received), last = 0, reasons[128] = {0};
	uint64_t batches = WSUM(sc, batches), btx = WSUM(sc, batch_txs), final = settled(sc);
	uint64_t rejected = LD(t->rejected) + LD(t->check_rejected) + WSUM(sc, rejected);
	uint64_t freed = WSUM(sc, freed_txs) + LD(t->freed_txs);
	double secs, us[5];
	static const double qs[5] = {0.5, 0.9, 0.99, 0.999, 1.0};

	if (!lat)
		return;
	xs_hist_init(lat);
	for (uint32_t i = 0; i < sc->s->num_workers; i++) {
		xs_hist_merge(lat, &sc->w[i].lat);
		if (sc->w[i].last_ns > last)
			last = sc->w[i].last_ns;
		for (unsigned r = 0; r < 128; r++)
			reasons[r] += sc->w[i].reasons[r];
	}
	for (int q = 0; q < 5; q++)
		us[q] = (double)xs_hist_quantile(lat, qs[q]) / 1000.0;
	secs = last > t->first_ns ? (double)(last - t->first_ns) * 1e-9 : 0;
	if (sc->o.fmt == XS_FMT_JSON) {
		struct xs_json j;

		xs_json_init(&j, stdout);
		xs_json_obj_begin(&j, NULL);
		xs_json_str(&j, "schema", "xsched.sched/1");
		xs_json_str(&j, "status", oc->status);
		xs_json_u64(&j, "protocol", (uint64_t)sc->s->version);
		xs_json_str(&j, "generation", sc->s->proto->name);
		xs_json_str(&j, "bindings", sc->b->name);
		xs_json_u64(&j, "workers", sc->s->num_workers);
		xs_json_u64(&j, "check_workers", sc->s->num_check_workers);
		xs_json_bool(&j, "check_stage", t->checking);
		xs_json_u64(&j, "exec_flags", sc->exec_flags);
		xs_json_str(&j, "placement", xs_place_policy_name(sc->o.rt.placement));
		xs_json_u64(&j, "reactors", plan ? (uint64_t)xs_plan_nreactors(plan) : 0);
		xs_json_bool(&j, "end_of_stream", LD(sc->eos));
		xs_json_u64(&j, "expected", LD(sc->eos) ? sc->expected : 0);
		xs_json_u64(&j, "received", received);
		xs_json_u64(&j, "rejected", rejected);
		xs_json_u64(&j, "abandoned", WSUM(sc, abandoned) + LD(t->check_abandoned));
		xs_json_u64(&j, "answered", final);
		xs_json_u64(&j, "included", WSUM(sc, included));
		xs_json_u64(&j, "not_included", WSUM(sc, not_included));
		xs_json_u64(&j, "dropped", WSUM(sc, dropped));
		xs_json_u64(&j, "check_batches", LD(t->check_batches));
		xs_json_u64(&j, "check_batches_answered", LD(t->check_answered));
		xs_json_u64(&j, "checked", LD(t->checked));
		xs_json_u64(&j, "check_passed", LD(t->check_passed));
		xs_json_u64(&j, "check_dropped", LD(t->check_dropped));
		xs_json_u64(&j, "check_invalid", LD(t->check_invalid));
		xs_json_u64(&j, "batches", batches);
		xs_json_u64(&j, "batches_answered", WSUM(sc, answered));
		xs_json_u64(&j, "invalid_batches", WSUM(sc, invalid));
		xs_json_num(&j, "avg_batch", batches ? (double)btx / (double)batches : 0, 2);
		xs_json_u64(&j, "exceeded_batches", WSUM(sc, exceeded));
		xs_json_u64(&j, "retried", WSUM(sc, retried));
		xs_json_u64(&j, "protocol_errors", WSUM(sc, errors) + LD(t->errors));
		xs_json_u64(&j, "progress_messages", LD(t->progress_msgs));
		xs_json_u64(&j, "progress_leader_not_ready", LD(t->not_ready_msgs));
		xs_json_obj_begin(&j, "latency_us");
		xs_json_num(&j, "p50", us[0], 1);
		xs_json_num(&j, "p90", us[1], 1);
		xs_json_num(&j, "p99", us[2], 1);
		xs_json_num(&j, "p999", us[3], 1);
		xs_json_num(&j, "max", us[4], 1);
		xs_json_obj_end(&j);
		xs_json_u64(&j, "freed_txs", freed);
		xs_json_u64(&j, "freed_batch_arrays", WSUM(sc, freed_batches) + LD(t->freed_batches));
		xs_json_u64(&j, "freed_response_arrays",
			    WSUM(sc, freed_responses) + LD(t->freed_responses));
		xs_json_u64(&j, "freed_pubkey_arrays", LD(t->freed_pubkeys));
		xs_json_u64(&j, "our_bytes_in_use", oc->our_bytes_in_use);
		xs_json_u64(&j, "our_slots_in_use", oc->our_slots_in_use);
		xs_json_num(&j, "seconds", secs, 6);
		xs_json_num(&j, "tx_per_s", secs > 0 ? (double)final / secs : 0, 0);
		xs_json_obj_end(&j);
		xs_json_finish(&j);
		free(lat);
		return;
	}
	printf("# xsched-sched: protocol %s (bindings %s), %u workers, %u check workers, batch %u, "
	       "placement %s, %d reactors\n", sc->s->proto->name, sc->b->name, sc->s->num_workers,
	       sc->s->num_check_workers, sc->o.batch, xs_place_policy_name(sc->o.rt.placement),
	       plan ? xs_plan_nreactors(plan) : 0);
	printf("transactions  %llu received, %llu answered (included %llu, not included %llu, "
	       "dropped %llu)\n", (unsigned long long)received, (unsigned long long)final,
	       (unsigned long long)WSUM(sc, included), (unsigned long long)WSUM(sc, not_included),
	       (unsigned long long)(WSUM(sc, dropped) + LD(t->check_dropped)));
	if (t->checking)
		printf("checks        %llu transactions in %llu batches: %llu passed, %llu dropped\n",
		       (unsigned long long)LD(t->checked), (unsigned long long)LD(t->check_batches),
		       (unsigned long long)LD(t->check_passed),
		       (unsigned long long)LD(t->check_dropped));
	printf("batches       %llu sent (avg %.1f tx), %llu answered, %llu past max_working_slot, "
	       "%llu tx retried\n", (unsigned long long)batches,
	       batches ? (double)btx / (double)batches : 0, (unsigned long long)WSUM(sc, answered),
	       (unsigned long long)WSUM(sc, exceeded), (unsigned long long)WSUM(sc, retried));
	printf("rejected      %llu messages failed the checks (%llu transactions abandoned), "
	       "%llu other protocol errors\n", (unsigned long long)rejected,
	       (unsigned long long)(WSUM(sc, abandoned) + LD(t->check_abandoned)),
	       (unsigned long long)(WSUM(sc, errors) + LD(t->errors)));
	printf("latency       arrival->response p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us"
	       "  max %.1f us\n", us[0], us[1], us[2], us[3], us[4]);
	printf("throughput    %.0f tx/s (%.3f s from first arrival to last response)\n",
	       secs > 0 ? (double)final / secs : 0, secs);
	printf("freed         %llu transactions, %llu batch arrays, %llu response arrays, %llu key "
	       "arrays; our handles hold %llu bytes\n", (unsigned long long)freed,
	       (unsigned long long)(WSUM(sc, freed_batches) + LD(t->freed_batches)),
	       (unsigned long long)(WSUM(sc, freed_responses) + LD(t->freed_responses)),
	       (unsigned long long)LD(t->freed_pubkeys), (unsigned long long)oc->our_bytes_in_use);
	printf("status        %s\n", oc->status);
	free(lat);
}

/* Allocator statistics over our handles: nothing may be in use. */
static void leak_check(struct sc *sc, struct outcome *oc)
{
	struct xs_session *s = sc->s;
	uint32_t nw = xs_alloc_num_workers(s->allocs[0]);
	struct xs_alloc_worker_stats *per = calloc(nw, sizeof(*per));
	struct xs_alloc_stats st;

	for (uint32_t k = 0; k < s->num_allocs; k++) {
		const struct xs_alloc_counters *c = xs_alloc_counters(s->allocs[k]);

		oc->our_slots_in_use += c->allocs - c->frees_local;
	}
	if (per && xs_alloc_stats(s->allocs[0], &st, per, nw) == 0)
		for (uint32_t k = 0; k < s->num_allocs; k++)
			oc->our_bytes_in_use += per[xs_alloc_worker(s->allocs[k])].bytes_in_use;
	free(per);
}

/* The logon of @p o for generation @p p (fields it lacks stay 0). */
static void make_logon(const struct sc_opts *o, const struct xs_hs_proto *p, struct xs_logon *l)
{
	memset(l, 0, sizeof(*l));
	l->worker_count = o->workers;
	l->allocator_size = o->alloc_size;
	l->allocator_handles = o->handles;
	l->tpu_to_pack_capacity = o->tpu_cap;
	l->progress_tracker_capacity = o->prog_cap;
	l->pack_to_worker_capacity = o->p2w_cap;
	l->worker_to_pack_capacity = o->w2p_cap;
	l->units = XS_LOGON_ITEMS;
	/* VERSION 2: votes reach pack only when asked for; we schedule them
	 * (auto: the library keeps the bit only for a VERSION 2 server) */
	l->flags = o->gen.is_auto ? XS_LOGON_REROUTE_VOTES : p->logon_flags & XS_LOGON_REROUTE_VOTES;
	if (p->field_off[XS_LF_PACK_TO_CHECK_WORKER] != XS_LF_ABSENT) {
		l->pack_to_check_worker_capacity = o->p2c_cap;
		l->check_worker_to_pack_capacity = o->c2p_cap;
	}
	if (p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT)
		l->check_worker_count = o->check_workers;
}

/*
 * Connect with the generation of @p o; with --protocol auto the library
 * negotiates (newest generation first, then the one a version rejection
 * names). On a rejection the server's own text is printed: it names the
 * versions it wants. @return 0 or the error (already reported).
 */
static int connect_session(struct sc *sc)
{
	struct sc_opts *o = &sc->o;
	struct xs_hs_client_opts co;
	struct xs_hs_report rep;
	struct xs_logon logon;
	int rc;

	memset(&co, 0, sizeof(co));
	memset(&rep, 0, sizeof(rep));
	co.path = o->socket;
	co.timeout_ns = o->timeout_ms * 1000000ull;
	co.report = &rep;
	if (o->gen.is_auto) {
		/* start from the newest row; the library converts the logon for
		 * each generation it tries (xs_hs_logon_for()) */
		co.auto_negotiate = 1;
		co.version = 0;
		make_logon(o, xs_hs_proto_at(xs_hs_proto_count() - 1), &logon);
	} else {
		co.version = o->gen.proto->version;
		make_logon(o, o->gen.proto, &logon);
	}
	rc = xs_hs_connect(&co, &logon, &sc->s);
	if (rc < 0) {
		xs_tool_fail(rc, "handshake with %s (%s)", o->socket,
			     o->gen.is_auto ? "protocol auto" : xs_tool_gen_label(&o->gen));
		if (rep.reason_len)
			xs_tool_note("the server said: %s", rep.reason);
		return rc;
	}
	if (o->gen.is_auto) {
		xs_tool_gen_set(&o->gen, sc->s->proto);
		xs_tool_note("protocol auto: connected with %s (bindings %s) after %u connection%s",
			     xs_tool_gen_label(&o->gen), o->gen.b->name, rep.attempts,
			     rep.attempts == 1 ? "" : "s");
		gen_options(o, true);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct sc sc;
	struct sc_opts *o = &sc.o;
	struct xs_peer_watcher *watcher = NULL;
	struct xs_topo *topo = NULL;
	struct xs_plan *plan = NULL;
	struct xs_rt *rt = NULL;
	struct xs_metrics *metrics = NULL;
	struct outcome oc = {.status = "ok"};
	uint64_t start, deadline = 0, gone_ns = 0;
	int rc, exit_code = XS_EXIT_OK, err;

	xs_tool_init("xsched-sched", usage);
	parse(o, argc, argv);
	if ((rc = xs_rt_opts_topo(&o->rt, &topo)) < 0)
		return xs_tool_fail(rc, "load the topology");
	/* every option, the CPU set and the placement before connecting: a
	 * refusal after the handshake would end the validator's session too */
	{
		struct xs_task tasks[1 + XS_HS_MAX_WORKERS];
		int nt = xs_tasks_std(tasks, 1 + XS_HS_MAX_WORKERS, (int)o->workers);

		if (nt < 0) {
			xs_topo_destroy(topo);
			return xs_tool_fail(nt, "list the lightweight threads");
		}
		xs_tool_check_plan(&o->rt, topo, tasks, nt, -1);
	}
	if ((rc = connect_session(&sc)) < 0) {
		xs_topo_destroy(topo);
		return XS_EXIT_FAIL;
	}
	sc.b = o->gen.b;
	sc.bid = o->gen.bindings;
	if (o->verbose)
		xs_tool_note("session: protocol %s, %u workers, %u check workers, %zu-byte allocator, "
			     "validator pid %d", sc.s->proto->name, sc.s->num_workers,
			     sc.s->num_check_workers, sc.s->allocator_size, (int)sc.s->peer_pid);
	if ((rc = setup_state(&sc)) < 0) {
		exit_code = xs_tool_fail(rc, "set up the scheduler state");
		goto out;
	}
	if ((rc = xs_peer_watcher_create(&watcher, 0, 0)) < 0 ||
	    (rc = sc.s->peer_pidfd >= 0
			  ? xs_peer_watch_pidfd(watcher, &sc.peer, sc.s->peer_pidfd, NULL, NULL)
			  : xs_peer_watch(watcher, &sc.peer, sc.s->peer_pid, NULL, NULL)) < 0) {
		exit_code = xs_tool_fail(rc, "watch the validator process %d", (int)sc.s->peer_pid);
		goto out;
	}
	if ((rc = build_runtime(&sc, topo, &plan, &rt)) < 0) {
		exit_code = xs_tool_fail(rc, "plan the lightweight threads");
		goto out;
	}
	if (!o->no_metrics && (metrics = xs_tool_metrics_create(rt, o->socket, sc.s, NULL))) {
		/* wired before the start: the lthreads read these (task i is lthread i) */
		for (int i = 0; i < xs_plan_ntasks(plan); i++) {
			const struct xs_plan_task *pt = xs_plan_task(plan, i);
			struct sc_worker *w = pt->task.kind == XS_TASK_TPU ? NULL : &sc.w[pt->task.index];

			if (!w && sc.tpu.checking)
				sc.tpu.mh_check = xs_metrics_hist(metrics, XS_MSTAGE_CHECK_RESPONSE, i);
			for (unsigned k = 0; w && k < 3; k++)
				w->mh[k] = xs_metrics_hist(metrics, XS_MSTAGE_ARRIVAL_DISPATCH + k, i);
			if (w)
				xs_metrics_queue_full_counter(metrics, w->p2w, &w->p2w_full);
		}
	}
	if (o->verbose)
		xs_plan_print(plan, stderr, 0);
	xs_rt_stop_on_signal(rt, SIGINT);
	xs_rt_stop_on_signal(rt, SIGTERM);
	start = xs_tool_now_ns();
	if (o->run_timeout_ms)
		deadline = start + o->run_timeout_ms * 1000000ull;
	if ((rc = xs_rt_start(rt)) < 0) {
		exit_code = xs_tool_fail(rc, "start the runtime");
		goto out;
	}
	xs_tool_metrics_start(metrics);
	/* Monitor: done at end of stream, once everything sent was settled. */
	for (;;) {
		struct timespec ts = {0, 500000};
		uint64_t lost;

		nanosleep(&ts, NULL);
		if (xs_rt_stopping(rt)) {
			oc.status = "stopped (signal or lightweight-thread error)";
			break;
		}
		if (deadline && xs_tool_now_ns() > deadline) {
			oc.status = "timeout";
			break;
		}
		/* transactions that will never be answered: refused on arrival, or
		 * in a batch whose answer was refused */
		lost = LD(sc.tpu.rejected) + WSUM(&sc, abandoned) + LD(sc.tpu.check_abandoned);
		/* Acquire: pairs with the Release store in on_progress(). */
		if (__atomic_load_n(&sc.eos, __ATOMIC_ACQUIRE) && LD(sc.tpu.received) >= sc.expected &&
		    settled(&sc) + lost >= sc.expected)
			break;
		if (!xs_peer_alive(&sc.peer)) {
			/* what it pushed before it died is still in the queues: let the
			 * lightweight threads drain them for a moment before giving up */
			if (!gone_ns)
				gone_ns = xs_tool_now_ns();
			else if (xs_tool_now_ns() - gone_ns > GRACE_NS) {
				oc.status = "validator gone before the end of the stream";
				break;
			}
		}
	}
	xs_rt_stop(rt);
	err = xs_rt_join(rt);
	if (err < 0 && err != XS_RT_DONE) {
		xs_tool_fail(err, "run the lightweight threads");
		if (!strcmp(oc.status, "ok"))
			oc.status = "lightweight-thread error";
	}
	leak_check(&sc, &oc);
	/* first: a refused message leaves what it named unfreed on purpose */
	if (!strcmp(oc.status, "ok") &&
	    (LD(sc.tpu.rejected) || LD(sc.tpu.check_rejected) || WSUM(&sc, rejected)))
		oc.status = "messages from the validator failed the checks";
	if (!strcmp(oc.status, "ok") && (WSUM(&sc, errors) || LD(sc.tpu.errors)))
		oc.status = "protocol error";
	if (!strcmp(oc.status, "ok") && LD(sc.tpu.received) != sc.expected)
		oc.status = "received more transactions than the end-of-stream count";
	if (!strcmp(oc.status, "ok") && (oc.our_bytes_in_use || oc.our_slots_in_use))
		oc.status = "memory we allocated is still in use";
	if (!strcmp(oc.status, "ok") &&
	    WSUM(&sc, freed_txs) + LD(sc.tpu.freed_txs) != LD(sc.tpu.received))
		oc.status = "not every transaction was freed";
	summary(&sc, &oc, plan);
	if (strcmp(oc.status, "ok") != 0) {
		xs_tool_note("FAILED: %s", oc.status);
		exit_code = XS_EXIT_FAIL;
	}
out:
	xs_metrics_close(metrics); /* last sample, marked exited, unlinked */
	xs_rt_destroy(rt);
	xs_plan_destroy(plan);
	if (watcher) {
		if (xs_peer_pid(&sc.peer))
			xs_peer_unwatch(watcher, &sc.peer);
		xs_peer_watcher_destroy(watcher);
	}
	free_state(&sc);
	xs_session_close(sc.s);
	xs_topo_destroy(topo);
	return exit_code;
}
