/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-sched: a small example external scheduler, meant to be copied as the
 * start of a real one. Built only on the public API (handshake, queues,
 * allocator, runtime).
 *
 * Shape:
 *
 *   xs_hs_connect()            one handshake, bounded by --timeout
 *   plan + runtime             one "tpu" lightweight thread and one "w<i>"
 *                              per worker pair, placed by the runtime on the
 *                              node of the session's memory (--placement ...)
 *
 *   tpu lthread                reads progress (leader state, end of stream)
 *                              and tpu_to_pack; keeps received transactions in
 *                              a simple priority order (votes, then staked,
 *                              then the rest; FIFO inside a class) and hands
 *                              them, best first, to the workers' feed rings
 *   w<i> lthread               reads worker_to_pack: frees what each answer
 *                              hands back (transactions, batch array,
 *                              response array), retries batches refused for
 *                              max_working_slot; sends batches of up to
 *                              --batch transactions whenever the worker's
 *                              queue has room and the validator is leader
 *
 * Ownership (spec MESSAGES.md §5): a transaction belongs to us from the
 * TpuToPack message on; a batch array is ours (allocated with our handle) and
 * lent to the worker until its answer; the answer's response array becomes
 * ours. Everything is freed with the worker lthread's own allocator handle.
 *
 * Trust nothing the validator writes (guard.h). Every message is copied out
 * of its queue slot first (the peer could rewrite the slot after a check)
 * and goes through the guard validator of its kind: progress with
 * xs_msg_check_progress(), tpu_to_pack with xs_msg_check_tpu(),
 * worker_to_pack with xs_msg_check_worker_to_pack() against the request we
 * sent. An ownership ledger (xs_ledger, one for the allocator file, shared
 * by the lthreads) records what we hold and what we lent, so a transaction
 * handed over twice, a forged or replayed answer, a double free or a free
 * of something we never received is refused before the allocator sees it.
 * A refused message is reported on stderr, counted ("rejected") and
 * skipped without freeing anything it names; the run goes on and exits 1.
 *
 * The run ends at the end-of-stream progress message (current_slot =
 * UINT64_MAX, remaining_cost_units = transactions sent) once that many
 * transactions were received and every one was answered. The allocator
 * statistics then prove nothing we owned is still allocated (exit 1
 * otherwise).
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
#include "tool_metrics.h"
#include "xsched/alloc.h"
#include "xsched/guard.h"
#include "xsched/handshake.h"
#include "xsched/msg.h"
#include "xsched/runtime.h"
#include "xsched/spsc.h"

#define LD(x)     __atomic_load_n(&(x), __ATOMIC_RELAXED)
/* one writer per counter (its lthread), read by the main thread: relaxed */
#define INC(x, n) __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)
#define NPRIO 3   /* 0 votes, 1 staked, 2 others */
#define GRACE_NS (200 * 1000000ull) /* draining allowed after the peer died */
#define MAX_REPORTS 20 /* per counter: a hostile peer must not flood stderr */

/* A transaction we hold. 24 bytes. */
struct sc_tx {
	uint64_t off;
	uint32_t len;
	uint8_t prio;
	uint8_t retries;
	uint16_t pad_;
	uint64_t arrival_ns;
};

/* A batch lent to a worker, waiting for its answer. */
struct sc_flight {
	uint64_t batch_off;
	uint64_t sent_ns; /* dispatch time (metrics on) */
	uint8_t n;
	uint8_t busy;
	struct xs_pack_to_worker req; /* the request as sent: its answer must match it */
	struct sc_tx tx[XS_MAX_TXS_PER_BATCH];
};

/* A single-thread ring of transactions (priority classes, retries). */
struct sc_ring {
	struct sc_tx *v;
	uint64_t head, tail, mask;
};

struct sc_opts {
	const char *socket;
	unsigned protocol;
	uint64_t timeout_ms, run_timeout_ms;
	uint32_t workers, handles, batch, retries;
	uint64_t alloc_size, tpu_cap, prog_cap, p2w_cap, w2p_cap, max_pending, corrupt;
	bool verbose, no_metrics;
	enum xs_tool_format fmt;
	struct xs_rt_opts rt;
};

struct sc;

struct sc_tpu {
	struct sc *sc;
	struct sc_ring prio[NPRIO];
	uint64_t pending;
	uint32_t next_worker;
	uint64_t received, rejected, progress_msgs, first_ns;
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
	uint64_t rejected;  /* worker_to_pack messages refused by the checks */
	uint64_t abandoned; /* transactions of batches whose answer was refused: kept, not freed */
	uint64_t reasons[128];
	uint64_t offs[2 * XS_MAX_TXS_PER_BATCH + 2];
	struct xs_w2p_view view; /* checked copy of the answer being handled (4 KiB) */
	struct xs_hist lat;
	uint64_t p2w_full;          /* pack_to_worker found full (metrics) */
	struct xs_mhist_shm *mh[3]; /* metrics: arrival->dispatch, dispatch->response, arrival->response */
} XS_CACHE_ALIGNED;

struct sc {
	struct sc_opts o;
	struct xs_session *s;
	/* published by the tpu lthread, read by the workers */
	uint32_t leader;  /* validator is leader (relaxed) */
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

/* ------------------------------------------------------------- tpu lthread */

/* A checked progress message (xs_msg_check_progress() passed). */
static void on_progress(struct sc *sc, const struct xs_progress *m)
{
	if (m->current_slot == UINT64_MAX) {
		/* end of stream: remaining_cost_units = transactions sent */
		sc->expected = m->remaining_cost_units;
		/* Release: pairs with the Acquire loads of eos (main thread, workers);
		 * expected is visible once eos is. */
		__atomic_store_n(&sc->eos, 1, __ATOMIC_RELEASE);
		return;
	}
	/* Relaxed: workers only need a recent view of the leader state. */
	__atomic_store_n(&sc->mws, m->leader_range_end, __ATOMIC_RELAXED);
	__atomic_store_n(&sc->leader, m->leader_state == XS_LEADER_IS_LEADER, __ATOMIC_RELAXED);
}

static int tpu_poll(void *arg)
{
	struct sc_tpu *t = arg;
	struct sc *sc = t->sc;
	struct xs_session *s = sc->s;
	const struct xs_progress *pslot;
	const struct xs_tpu_to_pack *tslot;
	uint64_t now = 0, room;
	int items = 0, err;

	while ((pslot = xs_progress_poll(&s->progress)) != NULL) {
		struct xs_progress pm = *pslot; /* private copy: check and use the same bytes */

		/* leader_state defined for the session's VERSION, progress <= 100 %:
		 * the workers act on the leader state */
		if ((err = xs_msg_check_progress(&pm, (uint32_t)s->version)) < 0)
			reject(&t->rejected, "progress", -1, err);
		else
			on_progress(sc, &pm);
		INC(t->progress_msgs, 1);
		items++;
	}
	xs_spsc_finalize(&s->progress);

	/* new transactions, while the priority queues have room */
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
		if ((err = xs_msg_check_tpu(s->allocs[0], &m, &bytes)) < 0 ||
		    (err = xs_guard_accept_tpu(&sc->ledger, &m)) < 0) {
			reject(&t->rejected, "tpu_to_pack", -1, err);
			continue;
		}
		if (sc->o.corrupt && t->received == sc->o.corrupt && tx.len)
			((uint8_t *)bytes)[tx.len - 1] ^= 0xff; /* --corrupt-tx (testing) */
		tx.arrival_ns = now;
		tx.prio = (m.flags & XS_TPU_FLAG_IS_SIMPLE_VOTE) ? 0
			  : (m.flags & XS_TPU_FLAG_FROM_STAKED_NODE) ? 1 : 2;
		ring_push(&t->prio[tx.prio], &tx); /* room was checked */
		t->pending++;
	}
	xs_spsc_finalize(&s->tpu_to_pack);
	if (xs_spsc_error(&s->tpu_to_pack))
		return xs_spsc_error(&s->tpu_to_pack);

	/* hand the best transactions to the workers whose feed has room */
	for (uint32_t k = 0; k < s->num_workers && t->pending; k++) {
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

/*
 * Queue @p off for freeing, once the ledger agrees that we hold it (HELD ->
 * RELEASED). A double free or a free of something we never received is
 * reported here instead of reaching the allocator. Every offset freed comes
 * from our own records, so a refusal means a bug on our side: counted as an
 * error. (xs_guard_free() is the same step for one offset; collecting them
 * keeps the allocator's batched free, one CAS per run of remote frees.)
 */
static void free_later(struct sc_worker *w, size_t *nf, uint64_t off)
{
	int err = xs_ledger_release(&w->sc->ledger, off);

	if (err < 0) {
		INC(w->errors, 1);
		xs_tool_fail(err, "worker %d: free offset %llu", w->index, (unsigned long long)off);
		return;
	}
	w->offs[(*nf)++] = off;
}

static void free_offsets(struct sc_worker *w, size_t n)
{
	int rc = xs_alloc_free_offsets(w->alloc, w->offs, n);

	if (rc < 0) {
		INC(w->errors, 1);
		xs_tool_fail(rc, "worker %d: free", w->index);
	}
}

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

static void on_answer(struct sc_worker *w, const struct xs_worker_to_pack *slot, uint64_t now)
{
	struct sc *sc = w->sc;
	struct xs_worker_to_pack m = *slot; /* private copy: check and use the same bytes */
	struct xs_w2p_view *v = &w->view;
	struct sc_flight *f = find_flight(w, m.batch.transactions_offset);
	size_t nf = 0;
	int err;

	/* An answer must name a batch this worker sent and still waits for: a
	 * forged or replayed one names nothing we may free. (The ledger alone
	 * cannot tell: the batch could be out on another worker.) */
	if (!f) {
		err = xs_seterr(-XS_EMSG_NOT_LENT,
				"no batch at offset %llu is waiting for an answer on this worker",
				(unsigned long long)m.batch.transactions_offset);
		reject(&w->rejected, "worker_to_pack", w->index, err);
		return;
	}
	/* Against the request we sent: same batch, known processed_code, the
	 * response tag of an execute request, one response per transaction, the
	 * response array inside the file, known not_included reasons. The
	 * responses are copied into v first and only the copy is used. Then the
	 * ledger: the batch array comes back from its loan and the response
	 * array becomes ours (all or nothing). */
	if ((err = xs_msg_check_worker_to_pack(w->alloc, &m, &f->req, v)) < 0 ||
	    (err = xs_guard_accept_w2p(&sc->ledger, v)) < 0) {
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
	if (v->processed_code == XS_MAX_WORKING_SLOT_EXCEEDED) {
		/* the bank moved past max_working_slot: try again, a few times */
		INC(w->exceeded, 1);
		for (unsigned k = 0; k < f->n; k++) {
			struct sc_tx *tx = &f->tx[k];

			if (tx->retries < sc->o.retries) {
				tx->retries++;
				if (ring_push(&w->retry, tx)) {
					INC(w->retried, 1);
					continue;
				}
			}
			free_later(w, &nf, tx->off); /* give up on it */
			INC(w->freed_txs, 1);
			INC(w->dropped, 1);
			INC(w->final, 1);
		}
	} else {
		if (v->has_responses) {
			/* XS_PROCESSED: execution responses, checked in v */
			for (unsigned k = 0; k < f->n; k++) {
				uint8_t r = v->resp.exec[k].not_included_reason;

				INC(w->reasons[r & 127], 1);
				if (r)
					INC(w->not_included, 1);
				else
					INC(w->included, 1);
			}
			free_later(w, &nf, v->responses_offset);
			INC(w->freed_responses, 1);
		} else {
			INC(w->errors, 1); /* XS_PROCESSED_INVALID: the validator refused the batch */
		}
		/* The transactions from our own record of the batch, never from the
		 * array in the file: the validator can write there. */
		for (unsigned k = 0; k < f->n; k++) {
			xs_hist_add(&w->lat, now - f->tx[k].arrival_ns, 1);
			xs_mhist_add(w->mh[2], now - f->tx[k].arrival_ns);
			free_later(w, &nf, f->tx[k].off);
		}
		INC(w->freed_txs, f->n);
		INC(w->final, f->n);
		if (w->mh[1])
			xs_mhist_add_n(w->mh[1], now - f->sent_ns, f->n);
	}
	free_later(w, &nf, f->batch_off); /* the batch array is ours again */
	INC(w->freed_batches, 1);
	free_offsets(w, nf);
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
		 * against it (same batch, response kind of the request). */
		memset(&f->req, 0, sizeof(f->req));
		f->req.flags = XS_PACK_EXECUTE;
		f->req.max_working_slot = eos ? UINT64_MAX : __atomic_load_n(&sc->mws, __ATOMIC_RELAXED);
		f->req.batch.num_transactions = (uint8_t)n;
		f->req.batch.transactions_offset = boff;
		/* Ledger: the array goes out on loan (HELD -> LENT) until its answer;
		 * only a matching answer brings it back. It was just taken above. */
		if (XS_UNLIKELY((err = xs_guard_lend_batch(&sc->ledger, &f->req)) < 0))
			return err;
		req = xs_pack_to_worker_reserve(w->p2w); /* room was checked */
		if (XS_UNLIKELY(!req))
			return xs_spsc_error(w->p2w) ? xs_spsc_error(w->p2w) : -XS_E_INTERNAL;
		*req = f->req;
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
	const struct xs_worker_to_pack *m;
	uint64_t now = 0;
	int items = 0;

	while ((m = xs_worker_to_pack_poll(w->w2p)) != NULL) {
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
		"  -P, --protocol 1|2          handshake VERSION (default 2)\n"
		"  -t, --timeout MS            bound for the whole handshake (default 1000)\n"
		"      --run-timeout MS        give up when the session lasts longer (default: none)\n"
		"  -w, --workers W             banking workers, 1..64 (default 4)\n"
		"      --allocator-size SIZE   shared allocator file (default 64M)\n"
		"      --allocator-handles H   allocator handles, W..128 (default W)\n"
		"      --tpu-capacity N        tpu_to_pack queue, messages (default 16384)\n"
		"      --progress-capacity N   progress_tracker queue (default 256)\n"
		"      --p2w-capacity N        each pack_to_worker queue (default 64)\n"
		"      --w2p-capacity N        each worker_to_pack queue (default 64)\n"
		"Scheduling:\n"
		"  -b, --batch N               transactions per batch, 1..64 (default 64)\n"
		"      --max-pending N         transactions held before tpu_to_pack is left to\n"
		"                              fill up (default 65536)\n"
		"      --retries N             resends after max_working_slot refusals (default 3)\n"
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
	OPT_W2P_CAP, OPT_MAX_PENDING, OPT_RETRIES, OPT_CORRUPT,
};

static void parse(struct sc_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"protocol", required_argument, NULL, 'P'},
		{"timeout", required_argument, NULL, 't'},
		{"run-timeout", required_argument, NULL, OPT_RUN_TIMEOUT},
		{"workers", required_argument, NULL, 'w'},
		{"allocator-size", required_argument, NULL, OPT_ASIZE},
		{"allocator-handles", required_argument, NULL, OPT_AHANDLES},
		{"tpu-capacity", required_argument, NULL, OPT_TPU_CAP},
		{"progress-capacity", required_argument, NULL, OPT_PROG_CAP},
		{"p2w-capacity", required_argument, NULL, OPT_P2W_CAP},
		{"w2p-capacity", required_argument, NULL, OPT_W2P_CAP},
		{"batch", required_argument, NULL, 'b'},
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
	o->protocol = 2;
	o->timeout_ms = 1000;
	o->workers = 4;
	o->alloc_size = 64ull << 20;
	o->tpu_cap = 16384;
	o->prog_cap = 256;
	o->p2w_cap = 64;
	o->w2p_cap = 64;
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
		case 'P': NUM(xs_tool_parse_u64, 1, 2, o->protocol); break;
		case 't': NUM(xs_tool_parse_u64, 1, 3600000, o->timeout_ms); break;
		case OPT_RUN_TIMEOUT: NUM(xs_tool_parse_u64, 0, 86400000, o->run_timeout_ms); break;
		case 'w': NUM(xs_tool_parse_u64, 1, XS_HS_MAX_WORKERS, o->workers); break;
		case OPT_ASIZE: NUM(xs_tool_parse_size, 1ull << 20, XS_ALLOC_MAX_FILE, o->alloc_size); break;
		case OPT_AHANDLES: NUM(xs_tool_parse_u64, 1, XS_HS_MAX_ALLOC_HANDLES, o->handles); break;
		case OPT_TPU_CAP: NUM(xs_tool_parse_u64, 1, 1ull << 24, o->tpu_cap); break;
		case OPT_PROG_CAP: NUM(xs_tool_parse_u64, 1, 1ull << 24, o->prog_cap); break;
		case OPT_P2W_CAP: NUM(xs_tool_parse_u64, 1, 1ull << 20, o->p2w_cap); break;
		case OPT_W2P_CAP: NUM(xs_tool_parse_u64, 1, 1ull << 20, o->w2p_cap); break;
		case 'b': NUM(xs_tool_parse_u64, 1, XS_MAX_TXS_PER_BATCH, o->batch); break;
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
	if (!o->handles)
		o->handles = o->workers;
	if (o->handles < o->workers)
		xs_tool_usage_error("--allocator-handles: %u is fewer than the %u workers (each "
				    "worker lightweight thread needs its own handle)", o->handles,
				    o->workers);
}

static int setup_state(struct sc *sc)
{
	struct xs_session *s = sc->s;
	uint64_t fcap = 4ull * sc->o.batch, inflight = 1;
	size_t fsize = xs_spsc_min_file_size(fcap, sizeof(struct sc_tx), 8);
	int rc;

	while (inflight < sc->o.p2w_cap + sc->o.w2p_cap + 2)
		inflight <<= 1;
	sc->tpu.sc = sc;
	/* one ledger entry per 256-byte unit of the allocator's slabs */
	if ((rc = xs_ledger_init_alloc(&sc->ledger, s->allocs[0])) < 0)
		return rc;
	for (int p = 0; p < NPRIO; p++)
		if ((rc = ring_init(&sc->tpu.prio[p], sc->o.max_pending)) < 0)
			return rc;
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

static void summary(struct sc *sc, const struct outcome *oc, const struct xs_plan *plan)
{
	struct xs_hist *lat = malloc(sizeof(*lat));
	uint64_t received = LD(sc->tpu.received), last = 0, reasons[128] = {0};
	uint64_t batches = WSUM(sc, batches), btx = WSUM(sc, batch_txs), final = WSUM(sc, final);
	uint64_t rejected = LD(sc->tpu.rejected) + WSUM(sc, rejected);
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
	secs = last > sc->tpu.first_ns ? (double)(last - sc->tpu.first_ns) * 1e-9 : 0;
	if (sc->o.fmt == XS_FMT_JSON) {
		struct xs_json j;

		xs_json_init(&j, stdout);
		xs_json_obj_begin(&j, NULL);
		xs_json_str(&j, "schema", "xsched.sched/1");
		xs_json_str(&j, "status", oc->status);
		xs_json_u64(&j, "protocol", (uint64_t)sc->s->version);
		xs_json_u64(&j, "workers", sc->s->num_workers);
		xs_json_str(&j, "placement", xs_place_policy_name(sc->o.rt.placement));
		xs_json_u64(&j, "reactors", plan ? (uint64_t)xs_plan_nreactors(plan) : 0);
		xs_json_bool(&j, "end_of_stream", LD(sc->eos));
		xs_json_u64(&j, "expected", LD(sc->eos) ? sc->expected : 0);
		xs_json_u64(&j, "received", received);
		xs_json_u64(&j, "rejected", rejected);
		xs_json_u64(&j, "abandoned", WSUM(sc, abandoned));
		xs_json_u64(&j, "answered", final);
		xs_json_u64(&j, "included", WSUM(sc, included));
		xs_json_u64(&j, "not_included", WSUM(sc, not_included));
		xs_json_u64(&j, "dropped", WSUM(sc, dropped));
		xs_json_u64(&j, "batches", batches);
		xs_json_u64(&j, "batches_answered", WSUM(sc, answered));
		xs_json_num(&j, "avg_batch", batches ? (double)btx / (double)batches : 0, 2);
		xs_json_u64(&j, "exceeded_batches", WSUM(sc, exceeded));
		xs_json_u64(&j, "retried", WSUM(sc, retried));
		xs_json_u64(&j, "protocol_errors", WSUM(sc, errors));
		xs_json_u64(&j, "progress_messages", LD(sc->tpu.progress_msgs));
		xs_json_obj_begin(&j, "latency_us");
		xs_json_num(&j, "p50", us[0], 1);
		xs_json_num(&j, "p90", us[1], 1);
		xs_json_num(&j, "p99", us[2], 1);
		xs_json_num(&j, "p999", us[3], 1);
		xs_json_num(&j, "max", us[4], 1);
		xs_json_obj_end(&j);
		xs_json_u64(&j, "freed_txs", WSUM(sc, freed_txs));
		xs_json_u64(&j, "freed_batch_arrays", WSUM(sc, freed_batches));
		xs_json_u64(&j, "freed_response_arrays", WSUM(sc, freed_responses));
		xs_json_u64(&j, "our_bytes_in_use", oc->our_bytes_in_use);
		xs_json_u64(&j, "our_slots_in_use", oc->our_slots_in_use);
		xs_json_num(&j, "seconds", secs, 6);
		xs_json_num(&j, "tx_per_s", secs > 0 ? (double)final / secs : 0, 0);
		xs_json_obj_end(&j);
		xs_json_finish(&j);
		free(lat);
		return;
	}
	printf("# xsched-sched: protocol %d, %u workers, batch %u, placement %s, %d reactors\n",
	       sc->s->version, sc->s->num_workers, sc->o.batch,
	       xs_place_policy_name(sc->o.rt.placement), plan ? xs_plan_nreactors(plan) : 0);
	printf("transactions  %llu received, %llu answered (included %llu, not included %llu, "
	       "dropped %llu)\n", (unsigned long long)received, (unsigned long long)final,
	       (unsigned long long)WSUM(sc, included), (unsigned long long)WSUM(sc, not_included),
	       (unsigned long long)WSUM(sc, dropped));
	printf("batches       %llu sent (avg %.1f tx), %llu answered, %llu past max_working_slot, "
	       "%llu tx retried\n", (unsigned long long)batches,
	       batches ? (double)btx / (double)batches : 0, (unsigned long long)WSUM(sc, answered),
	       (unsigned long long)WSUM(sc, exceeded), (unsigned long long)WSUM(sc, retried));
	printf("rejected      %llu messages failed the checks (%llu transactions abandoned), "
	       "%llu other protocol errors\n", (unsigned long long)rejected,
	       (unsigned long long)WSUM(sc, abandoned), (unsigned long long)WSUM(sc, errors));
	printf("latency       arrival->response p50 %.1f us  p90 %.1f us  p99 %.1f us  p99.9 %.1f us"
	       "  max %.1f us\n", us[0], us[1], us[2], us[3], us[4]);
	printf("throughput    %.0f tx/s (%.3f s from first arrival to last response)\n",
	       secs > 0 ? (double)final / secs : 0, secs);
	printf("freed         %llu transactions, %llu batch arrays, %llu response arrays; "
	       "our handles hold %llu bytes\n", (unsigned long long)WSUM(sc, freed_txs),
	       (unsigned long long)WSUM(sc, freed_batches),
	       (unsigned long long)WSUM(sc, freed_responses),
	       (unsigned long long)oc->our_bytes_in_use);
	printf("status        %s\n", oc->status);
	free(lat);
}

/* Allocator statistics over our handles (1 + W + k): nothing may be in use. */
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

int main(int argc, char **argv)
{
	static struct sc sc;
	struct sc_opts *o = &sc.o;
	struct xs_hs_client_opts co;
	struct xs_hs_report rep;
	struct xs_logon logon;
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

	memset(&logon, 0, sizeof(logon));
	logon.worker_count = o->workers;
	logon.allocator_size = o->alloc_size;
	logon.allocator_handles = o->handles;
	logon.tpu_to_pack_capacity = o->tpu_cap;
	logon.progress_tracker_capacity = o->prog_cap;
	logon.pack_to_worker_capacity = o->p2w_cap;
	logon.worker_to_pack_capacity = o->w2p_cap;
	logon.units = XS_LOGON_ITEMS;
	memset(&co, 0, sizeof(co));
	memset(&rep, 0, sizeof(rep));
	co.path = o->socket;
	co.version = o->protocol;
	co.timeout_ns = o->timeout_ms * 1000000ull;
	co.report = &rep;
	if ((rc = xs_hs_connect(&co, &logon, &sc.s)) < 0) {
		xs_topo_destroy(topo);
		return xs_tool_fail(rc, "handshake with %s", o->socket);
	}
	if (o->verbose)
		xs_tool_note("session: protocol %d, %u workers, %zu-byte allocator, validator pid %d",
			     sc.s->version, sc.s->num_workers, sc.s->allocator_size,
			     (int)sc.s->peer_pid);
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
		/* wired before the start: the worker lthreads read these (task i is lthread i) */
		for (int i = 0; i < xs_plan_ntasks(plan); i++) {
			const struct xs_plan_task *pt = xs_plan_task(plan, i);
			struct sc_worker *w = pt->task.kind == XS_TASK_TPU ? NULL : &sc.w[pt->task.index];

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
	/* Monitor: done at end of stream, once everything sent was answered. */
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
		lost = LD(sc.tpu.rejected) + WSUM(&sc, abandoned);
		/* Acquire: pairs with the Release store in on_progress(). */
		if (__atomic_load_n(&sc.eos, __ATOMIC_ACQUIRE) && LD(sc.tpu.received) >= sc.expected &&
		    WSUM(&sc, final) + lost >= sc.expected)
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
	if (!strcmp(oc.status, "ok") && (LD(sc.tpu.rejected) || WSUM(&sc, rejected)))
		oc.status = "messages from the validator failed the checks";
	if (!strcmp(oc.status, "ok") && WSUM(&sc, errors))
		oc.status = "protocol error";
	if (!strcmp(oc.status, "ok") && LD(sc.tpu.received) != sc.expected)
		oc.status = "received more transactions than the end-of-stream count";
	if (!strcmp(oc.status, "ok") && (oc.our_bytes_in_use || oc.our_slots_in_use))
		oc.status = "memory we allocated is still in use";
	if (!strcmp(oc.status, "ok") && WSUM(&sc, freed_txs) != LD(sc.tpu.received))
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
