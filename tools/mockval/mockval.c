/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-mockval: a mock Agave validator that drives a real external
 * scheduler through the scheduler-bindings protocol (server side, handshake
 * VERSION 1 or 2).
 *
 * It listens on --socket, serves one scheduler session (rejected or failed
 * handshakes are logged and it keeps listening), then runs, on the runtime's
 * placement plan, these lightweight threads:
 *
 *   tpu       allocates each transaction with allocator worker 0, writes a
 *             self-checking payload (tools/common/payload.h) and pushes a
 *             TpuToPackMessage; --rate paces it; cleans worker 0's remote
 *             free list (the scheduler frees transactions there).
 *   progress  slots advancing every --slot-ms, leader windows (--leader-slots
 *             K/N), remaining cost units, slot progress, one ProgressMessage
 *             every --progress-ms; once every transaction is sent, the
 *             end-of-stream message: current_slot = UINT64_MAX and
 *             remaining_cost_units = number of transactions sent.
 *   w<i>      per worker pair: validates each PackToWorkerMessage, checks
 *             every transaction's payload, honours max_working_slot and the
 *             flags (EXECUTE/CHECK, ALL_OR_NOTHING), answers with a response
 *             array allocated with its own handle (1 + i), a configurable
 *             share not included (with reasons), and cleans its remote free
 *             list (the scheduler frees responses there).
 *
 * With --mem-node N every object of the session (allocator and queues) is
 * bound to NUMA node N before its first touch (handshake bind hook,
 * xs_mem_bind_fd_cb); by default pages land where they are first touched.
 *
 * It ends once every transaction sent has come back through a worker and the
 * scheduler has freed everything mockval allocated (or the scheduler is gone,
 * which is an error), prints a summary, and exits 1 on any payload mismatch
 * or protocol error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "payload.h"
#include "tool.h"
#include "tool_metrics.h"
#include "xsched/alloc.h"
#include "xsched/guard.h"
#include "xsched/handshake.h"
#include "xsched/msg.h"
#include "xsched/runtime.h"

#define LD(x)      __atomic_load_n(&(x), __ATOMIC_RELAXED)
/* Counters have one writer (their lightweight thread) and are read by the
 * main thread for monitoring: relaxed atomic stores, no RMW needed. */
#define INC(x, n)  __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)
#define MAX_REPORTED 5 /* detailed lines per kind of error */
#define GRACE_NS (200 * 1000000ull) /* draining allowed after the peer died */

static const uint8_t nir_reasons[] = {
	XS_NIR_ACCOUNT_IN_USE, XS_NIR_INSUFFICIENT_FUNDS_FOR_FEE, XS_NIR_BLOCKHASH_NOT_FOUND,
	XS_NIR_ALREADY_PROCESSED, XS_NIR_INSTRUCTION_ERROR,
};

static const char *nir_name(unsigned r)
{
	switch (r) {
	case XS_NIR_BANK_NOT_AVAILABLE: return "bank_not_available";
	case XS_NIR_ALL_OR_NOTHING_BATCH_FAILURE: return "all_or_nothing_batch_failure";
	case XS_NIR_ACCOUNT_IN_USE: return "account_in_use";
	case XS_NIR_INSUFFICIENT_FUNDS_FOR_FEE: return "insufficient_funds_for_fee";
	case XS_NIR_BLOCKHASH_NOT_FOUND: return "blockhash_not_found";
	case XS_NIR_ALREADY_PROCESSED: return "already_processed";
	case XS_NIR_INSTRUCTION_ERROR: return "instruction_error";
	case XS_NIR_SANITIZE_FAILURE: return "sanitize_failure";
	case XS_NIR_WOULD_EXCEED_MAX_BLOCK_COST_LIMIT: return "would_exceed_max_block_cost_limit";
	default: return "other";
	}
}

struct mv_opts {
	const char *socket;
	unsigned protocol;
	uint64_t txs;
	uint64_t rate;           /* tx/s, 0 = as fast as possible */
	uint32_t size_min, size_max;
	double vote, forwarded, staked, not_included;
	uint64_t progress_ns, slot_ns, first_slot, block_cu;
	uint32_t leader_k, leader_n;
	uint64_t accept_ms, drain_ms, timeout_ms;
	unsigned burst;
	int mem_node;            /* node index to bind the session's memory to, -1 = first touch */
	bool replace;
	bool verbose, no_metrics;
	enum xs_tool_format fmt;
	struct xs_rt_opts rt;
};

struct mv;

/* Per-lthread state, each on its own cache lines. */
struct mv_tpu {
	struct mv *mv;
	struct xs_alloc *alloc;
	struct xs_spsc *q;
	uint64_t sent, bytes, queue_full, alloc_waits, in_use, cleans;
	uint64_t start_ns;
	bool have;
	struct xs_tpu_to_pack msg; /* allocated, not yet pushed (queue was full) */
	uint32_t polls;
} XS_CACHE_ALIGNED;

struct mv_progress {
	struct mv *mv;
	struct xs_spsc *q;
	uint64_t next_ns, slot, msgs, skipped;
	bool eos_sent;
} XS_CACHE_ALIGNED;

struct mv_worker {
	struct mv *mv;
	int index;
	struct xs_alloc *alloc;
	struct xs_spsc *p2w, *w2p;
	bool have;
	struct xs_pack_to_worker req; /* read, not yet answered */
	uint64_t batches, txs, unique, resubmitted, included, not_included, exceeded, invalid;
	uint64_t check_batches, mismatches, twice, errors, responses, pubkeys, alloc_waits;
	uint64_t in_use, last_ns;
	uint64_t w2p_full; /* worker_to_pack found full (metrics) */
	uint64_t reasons[128];
	uint32_t idle;
	struct xs_tx_region regs[XS_MAX_TXS_PER_BATCH];
} XS_CACHE_ALIGNED;

struct mv {
	struct mv_opts o;
	struct xs_vsession *vs;
	uint64_t *seen;     /* bit per id: came back through a worker (atomic) */
	uint64_t *executed; /* bit per id: included by an execute batch (atomic) */
	uint64_t bank;      /* (slot << 1) | leader, published by progress (atomic) */
	uint64_t slot_cost; /* cost units used in the current slot (atomic) */
	uint64_t reported;  /* detailed error lines printed (atomic) */
	struct xs_peer peer;
	struct mv_tpu tpu;
	struct mv_progress prog;
	struct mv_worker *w;
};

static uint32_t tx_size(const struct mv_opts *o, uint64_t id)
{
	if (o->size_min == o->size_max)
		return o->size_min;
	return o->size_min + (uint32_t)(xs_mix64(id ^ 0x5157ull) % (o->size_max - o->size_min + 1));
}

static XS_PRINTF(2, 3) void report(struct mv *mv, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_fetch_add(&mv->reported, 1, __ATOMIC_RELAXED) >= 3 * MAX_REPORTED)
		return;
	fprintf(stderr, "%s: ", xs_tool_name());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ------------------------------------------------------------- TPU lthread */

static void tpu_publish(struct mv_tpu *t)
{
	const struct xs_alloc_counters *c = xs_alloc_counters(t->alloc);

	__atomic_store_n(&t->in_use, c->allocs - c->frees_local, __ATOMIC_RELAXED);
}

static int tpu_poll(void *arg)
{
	struct mv_tpu *t = arg;
	struct mv *mv = t->mv;
	const struct mv_opts *o = &mv->o;
	uint64_t limit = o->burst, id;
	int n = 0;

	if (XS_UNLIKELY((++t->polls & 1023) == 0) || (t->sent == o->txs && (t->polls & 63) == 0)) {
		/* take back the transactions the scheduler freed */
		int rc = xs_alloc_clean_remote(t->alloc);

		if (rc < 0)
			return rc;
		INC(t->cleans, 1);
		tpu_publish(t);
	}
	if (t->sent == o->txs)
		return 0;
	if (o->rate) {
		uint64_t el = xs_tool_now_ns() - t->start_ns;
		uint64_t due = (uint64_t)((double)el * 1e-9 * (double)o->rate) + 1;

		if (due > o->txs)
			due = o->txs;
		if (due <= t->sent)
			return 0;
		if (due - t->sent < limit)
			limit = due - t->sent;
	}
	while ((uint64_t)n < limit && t->sent < o->txs) {
		struct xs_tpu_to_pack *slot;

		if (!t->have) {
			uint32_t len = tx_size(o, id = t->sent);
			uint64_t off;
			int rc = xs_alloc_alloc_offset(t->alloc, len, &off);

			if (rc == -ENOMEM) {
				/* everything is out at the scheduler: take back what it freed */
				if ((rc = xs_alloc_clean_remote(t->alloc)) < 0)
					return rc;
				rc = xs_alloc_alloc_offset(t->alloc, len, &off);
				if (rc == -ENOMEM) {
					INC(t->alloc_waits, 1);
					break;
				}
			}
			if (rc < 0)
				return rc;
			xs_payload_fill(xs_alloc_ptr(t->alloc, off), len, id);
			memset(&t->msg, 0, sizeof(t->msg));
			t->msg.transaction.offset = off;
			t->msg.transaction.length = len;
			t->msg.flags = (uint8_t)((xs_draw(id, 1, o->vote) ? XS_TPU_FLAG_IS_SIMPLE_VOTE : 0) |
						 (xs_draw(id, 2, o->forwarded) ? XS_TPU_FLAG_FORWARDED : 0) |
						 (xs_draw(id, 3, o->staked) ? XS_TPU_FLAG_FROM_STAKED_NODE : 0));
			/* ::ffff:10.a.b.c, derived from the id */
			t->msg.src_addr[10] = 0xff;
			t->msg.src_addr[11] = 0xff;
			t->msg.src_addr[12] = 10;
			t->msg.src_addr[13] = (uint8_t)(id >> 16);
			t->msg.src_addr[14] = (uint8_t)(id >> 8);
			t->msg.src_addr[15] = (uint8_t)id;
			t->have = true;
		}
		slot = xs_tpu_to_pack_reserve(t->q);
		if (!slot) {
			if (xs_spsc_error(t->q))
				return xs_spsc_error(t->q);
			INC(t->queue_full, 1);
			break;
		}
		memcpy(slot, &t->msg, sizeof(*slot));
		t->have = false;
		INC(t->bytes, t->msg.transaction.length);
		n++;
		/* Release: pairs with the Acquire load in progress_poll(); the
		 * end-of-stream count never exceeds what was pushed. */
		__atomic_store_n(&t->sent, t->sent + 1, __ATOMIC_RELEASE);
	}
	xs_spsc_commit(t->q);
	if (n)
		tpu_publish(t);
	return n;
}

static int tpu_init(void *arg)
{
	struct mv_tpu *t = arg;

	t->start_ns = xs_tool_now_ns();
	return 0;
}

/* -------------------------------------------------------- progress lthread */

static void leader_info(const struct mv_opts *o, uint64_t slot, int *leader, uint64_t *next,
			uint64_t *end)
{
	uint64_t rel = slot - o->first_slot, ws = slot - rel % o->leader_n;

	*leader = rel % o->leader_n < o->leader_k;
	if (*leader && slot + 1 < ws + o->leader_k)
		*next = slot + 1; /* the next slot of this window (not the current one) */
	else
		*next = ws + o->leader_n;
	*end = (*next - (*next - o->first_slot) % o->leader_n) + o->leader_k - 1;
}

static int progress_poll(void *arg)
{
	struct mv_progress *p = arg;
	struct mv *mv = p->mv;
	const struct mv_opts *o = &mv->o;
	uint64_t now = xs_tool_now_ns(), el, slot, next, end, sent;
	struct xs_progress *m;
	int leader;

	if (p->eos_sent && now < p->next_ns)
		return 0;
	if (now < p->next_ns) {
		/* between ticks only the end of stream is sent, as soon as it is due.
		 * Acquire: pairs with the Release store in tpu_poll(). */
		if (__atomic_load_n(&mv->tpu.sent, __ATOMIC_ACQUIRE) != o->txs)
			return 0;
	} else {
		p->next_ns = now + o->progress_ns;
	}
	el = now - mv->tpu.start_ns;
	slot = o->first_slot + el / o->slot_ns;
	leader_info(o, slot, &leader, &next, &end);
	if (slot != p->slot) {
		p->slot = slot;
		__atomic_store_n(&mv->slot_cost, 0, __ATOMIC_RELAXED);
	}
	/* Relaxed: workers only need some recent value of the bank slot. */
	__atomic_store_n(&mv->bank, slot << 1 | (uint64_t)leader, __ATOMIC_RELAXED);
	if (p->eos_sent)
		return 0;
	sent = __atomic_load_n(&mv->tpu.sent, __ATOMIC_ACQUIRE); /* as above */
	m = xs_progress_reserve(p->q);
	if (!m) {
		if (xs_spsc_error(p->q))
			return xs_spsc_error(p->q);
		INC(p->skipped, 1); /* the scheduler is not reading progress: try next tick */
		return 0;
	}
	memset(m, 0, sizeof(*m));
	if (sent == o->txs) {
		/* end of stream */
		m->leader_state = XS_LEADER_IS_NOT_LEADER;
		m->current_slot = UINT64_MAX;
		m->next_leader_slot = UINT64_MAX;
		m->leader_range_end = UINT64_MAX;
		m->remaining_cost_units = sent;
		m->current_slot_progress = 100;
		__atomic_store_n(&p->eos_sent, true, __ATOMIC_RELAXED);
	} else {
		uint64_t used = __atomic_load_n(&mv->slot_cost, __ATOMIC_RELAXED);

		m->leader_state = leader ? XS_LEADER_IS_LEADER : XS_LEADER_IS_NOT_LEADER;
		m->current_slot = slot;
		m->next_leader_slot = next;
		m->leader_range_end = end;
		m->remaining_cost_units = !o->block_cu ? UINT64_MAX
				       : used >= o->block_cu ? 0 : o->block_cu - used;
		m->current_slot_progress = (uint8_t)((el % o->slot_ns) * 100 / o->slot_ns);
	}
	xs_spsc_commit(p->q);
	INC(p->msgs, 1);
	return 1;
}

/* ---------------------------------------------------------- worker lthread */

static void publish_in_use(struct mv_worker *w)
{
	const struct xs_alloc_counters *c = xs_alloc_counters(w->alloc);

	__atomic_store_n(&w->in_use, c->allocs - c->frees_local, __ATOMIC_RELAXED);
}

/*
 * Check one transaction of a batch: bounds through the allocator, payload,
 * length. Marks it seen. @return its id, or UINT64_MAX when it is bad (then
 * counted and reported).
 */
static uint64_t check_tx(struct mv_worker *w, const struct xs_tx_region *r, bool *bad)
{
	struct mv *mv = w->mv;
	void *ptr;
	uint64_t id, bit, old;
	long at;
	int rc;

	*bad = true;
	rc = xs_alloc_check(w->alloc, r->offset, r->length, &ptr);
	if (rc < 0) {
		INC(w->errors, 1);
		report(mv, "worker %d: transaction region (offset %llu, %u bytes) is not an "
		       "allocation: %s", w->index, (unsigned long long)r->offset, r->length,
		       xs_strerror(rc));
		return UINT64_MAX;
	}
	if (r->length < 8) {
		INC(w->mismatches, 1);
		report(mv, "worker %d: transaction at offset %llu has %u bytes: no id", w->index,
		       (unsigned long long)r->offset, r->length);
		return UINT64_MAX;
	}
	id = xs_payload_id(ptr);
	if (id >= mv->o.txs) {
		INC(w->mismatches, 1);
		report(mv, "worker %d: transaction id %llu was never sent", w->index,
		       (unsigned long long)id);
		return UINT64_MAX;
	}
	/* seen is set even for a bad payload, so the run can end and report */
	bit = 1ull << (id % 64);
	old = __atomic_fetch_or(&mv->seen[id / 64], bit, __ATOMIC_RELAXED);
	if (old & bit)
		INC(w->resubmitted, 1);
	else
		INC(w->unique, 1);
	at = xs_payload_check(ptr, r->length);
	if (at >= 0 || r->length != tx_size(&mv->o, id)) {
		INC(w->mismatches, 1);
		if (at >= 0)
			report(mv, "worker %d: MISMATCH in transaction %llu: byte %ld is 0x%02x, "
			       "expected 0x%02x", w->index, (unsigned long long)id, at,
			       ((const uint8_t *)ptr)[at], xs_payload_byte(id, (size_t)at));
		else
			report(mv, "worker %d: MISMATCH in transaction %llu: %u bytes, sent %u",
			       w->index, (unsigned long long)id, r->length, tx_size(&mv->o, id));
		return id;
	}
	*bad = false;
	return id;
}

static int fill_exec(struct mv_worker *w, struct xs_exec_resp *resp, unsigned n, uint16_t flags,
		     const uint64_t *ids, const bool *bad, int leader)
{
	struct mv *mv = w->mv;
	const struct mv_opts *o = &mv->o;
	bool failed = false;

	for (unsigned k = 0; k < n; k++) {
		struct xs_exec_resp *r = &resp[k];
		uint64_t id = ids[k];

		memset(r, 0, sizeof(*r));
		if (!leader)
			r->not_included_reason = XS_NIR_BANK_NOT_AVAILABLE;
		else if (bad[k])
			r->not_included_reason = XS_NIR_SANITIZE_FAILURE;
		else if (xs_draw(id, 4, o->not_included))
			r->not_included_reason =
				nir_reasons[xs_mix64(id ^ 0x77) % sizeof(nir_reasons)];
		if (!r->not_included_reason && o->block_cu) {
			uint64_t cost = 300 + id % 1100;
			uint64_t used = __atomic_fetch_add(&mv->slot_cost, cost, __ATOMIC_RELAXED);

			if (used + cost > o->block_cu)
				r->not_included_reason = XS_NIR_WOULD_EXCEED_MAX_BLOCK_COST_LIMIT;
		}
		if (r->not_included_reason) {
			failed = true;
			continue;
		}
		r->cost_units = 300 + id % 1100;
		r->fee_payer_balance = 1000000000ull - 5000 * (id % 1000);
	}
	if (failed && (flags & XS_EXEC_ALL_OR_NOTHING))
		for (unsigned k = 0; k < n; k++)
			if (!resp[k].not_included_reason) {
				resp[k].not_included_reason = XS_NIR_ALL_OR_NOTHING_BATCH_FAILURE;
				resp[k].cost_units = 0;
				resp[k].fee_payer_balance = 0;
			}
	for (unsigned k = 0; k < n; k++) {
		uint64_t id = ids[k];

		INC(w->reasons[resp[k].not_included_reason & 127], 1);
		if (resp[k].not_included_reason) {
			INC(w->not_included, 1);
			continue;
		}
		INC(w->included, 1);
		if (id != UINT64_MAX &&
		    (__atomic_fetch_or(&mv->executed[id / 64], 1ull << (id % 64), __ATOMIC_RELAXED) &
		     (1ull << (id % 64)))) {
			INC(w->twice, 1);
			report(mv, "worker %d: transaction %llu executed twice", w->index,
			       (unsigned long long)id);
		}
	}
	return 0;
}

static void fill_check(struct mv_worker *w, struct xs_check_resp *resp, unsigned n, uint16_t flags,
		       const uint64_t *ids, const bool *bad, uint64_t slot)
{
	struct mv *mv = w->mv;

	for (unsigned k = 0; k < n; k++) {
		struct xs_check_resp *r = &resp[k];
		uint64_t id = ids[k];

		memset(r, 0, sizeof(*r));
		if (bad[k]) {
			r->parsing_and_sanitization_flags = XS_PARSE_FAILED;
			continue;
		}
		if (flags & XS_CHECK_STATUS_CHECKS) {
			r->status_check_flags = XS_STATUS_REQUESTED | XS_STATUS_PERFORMED;
			if (__atomic_load_n(&mv->executed[id / 64], __ATOMIC_RELAXED) >> (id % 64) & 1) {
				r->status_check_flags |= XS_STATUS_ALREADY_PROCESSED;
				r->included_slot = slot;
			}
		}
		if (flags & XS_CHECK_LOAD_FEE_PAYER_BALANCE) {
			r->fee_payer_balance_flags = XS_BALANCE_REQUESTED | XS_BALANCE_PERFORMED;
			r->balance_slot = slot;
			r->fee_payer_balance = 1000000000ull - 5000 * (id % 1000);
		}
		if (flags & XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES) {
			r->resolve_flags = XS_RESOLVE_REQUESTED | XS_RESOLVE_PERFORMED;
			r->resolution_slot = slot;
			r->min_alt_deactivation_slot = UINT64_MAX;
			if (id % 4 == 0) {
				/* two resolved keys, which the scheduler must free */
				uint64_t off;

				if (xs_alloc_alloc_offset(w->alloc, 64, &off) == 0) {
					uint8_t *keys = xs_alloc_ptr(w->alloc, off);

					for (unsigned b = 0; b < 64; b++)
						keys[b] = (uint8_t)(id + b);
					r->resolved_pubkeys.offset = off;
					r->resolved_pubkeys.num_pubkeys = 2;
					INC(w->pubkeys, 1);
				} else {
					r->resolve_flags = XS_RESOLVE_REQUESTED | XS_RESOLVE_FAILED;
				}
			}
		}
	}
}

/*
 * Answer the pending request. @return 1 answered, 0 not now (no room in
 * worker_to_pack, or no memory for the response: retried later), < 0 fatal.
 */
static int answer(struct mv_worker *w)
{
	struct mv *mv = w->mv;
	const struct xs_pack_to_worker *req = &w->req;
	struct xs_worker_to_pack *out;
	unsigned n = req->batch.num_transactions;
	uint16_t flags = req->flags;
	bool exec = flags & XS_PACK_EXECUTE;
	unsigned allowed = exec ? (XS_PACK_EXECUTE | XS_EXEC_DROP_ON_FAILURE | XS_EXEC_ALL_OR_NOTHING)
				: (XS_CHECK_STATUS_CHECKS | XS_CHECK_LOAD_FEE_PAYER_BALANCE |
				   XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES);
	uint64_t ids[XS_MAX_TXS_PER_BATCH], bank, slot, roff = 0;
	bool bad[XS_MAX_TXS_PER_BATCH];
	uint8_t code = XS_PROCESSED;
	size_t rsize = 0;
	void *arr;
	int rc;

	/* room for the answer first: the request stays pending otherwise */
	if (xs_spsc_free_cached(w->w2p) == 0) {
		if ((rc = xs_spsc_prod_sync(w->w2p)) < 0)
			return rc;
		if (xs_spsc_free_cached(w->w2p) == 0) {
			INC(w->w2p_full, 1); /* backpressure, for the metrics */
			return 0;
		}
	}
	bank = __atomic_load_n(&mv->bank, __ATOMIC_RELAXED);
	slot = bank >> 1;
	if ((flags & ~allowed) || n == 0 || n > XS_MAX_TXS_PER_BATCH ||
	    (rc = xs_alloc_check(w->alloc, req->batch.transactions_offset,
				 (size_t)n * sizeof(struct xs_tx_region), &arr)) < 0) {
		code = XS_PROCESSED_INVALID;
		INC(w->invalid, 1);
		report(mv, "worker %d: INVALID request: flags 0x%x, %u transactions at offset %llu",
		       w->index, flags, n, (unsigned long long)req->batch.transactions_offset);
		n = 0;
	} else {
		/* copy the array first: the scheduler could still write to it */
		memcpy(w->regs, arr, (size_t)n * sizeof(struct xs_tx_region));
		if (slot > req->max_working_slot) {
			code = XS_MAX_WORKING_SLOT_EXCEEDED;
			INC(w->exceeded, 1);
		}
	}
	if (code == XS_PROCESSED) {
		/* the response array before anything is counted: without memory
		 * the request stays pending and is answered later */
		rsize = (size_t)n * (exec ? sizeof(struct xs_exec_resp) : sizeof(struct xs_check_resp));
		rc = xs_alloc_alloc_offset(w->alloc, rsize, &roff);
		if (rc == -ENOMEM) {
			if ((rc = xs_alloc_clean_remote(w->alloc)) < 0)
				return rc;
			rc = xs_alloc_alloc_offset(w->alloc, rsize, &roff);
		}
		if (rc == -ENOMEM) {
			INC(w->alloc_waits, 1);
			return 0;
		}
		if (rc < 0)
			return rc;
	}
	/* every transaction that comes back is checked, whatever the answer */
	for (unsigned k = 0; k < n; k++)
		ids[k] = check_tx(w, &w->regs[k], &bad[k]);
	if (code == XS_PROCESSED) {
		if (exec)
			fill_exec(w, xs_alloc_ptr(w->alloc, roff), n, flags, ids, bad, (int)(bank & 1));
		else {
			fill_check(w, xs_alloc_ptr(w->alloc, roff), n, flags, ids, bad, slot);
			INC(w->check_batches, 1);
		}
		INC(w->responses, 1);
	}
	out = xs_worker_to_pack_reserve(w->w2p); /* room was checked */
	if (XS_UNLIKELY(!out))
		return xs_spsc_error(w->w2p) ? xs_spsc_error(w->w2p) : -XS_E_INTERNAL;
	memset(out, 0, sizeof(*out));
	out->batch = req->batch;
	out->processed_code = code;
	if (code == XS_PROCESSED) {
		out->responses.tag = exec ? XS_RESP_EXECUTION : XS_RESP_CHECK;
		out->responses.num_transaction_responses = (uint8_t)n;
		out->responses.transaction_responses_offset = roff;
	}
	INC(w->batches, 1);
	INC(w->txs, n);
	return 1;
}

static int worker_poll(void *arg)
{
	struct mv_worker *w = arg;
	struct mv *mv = w->mv;
	int done = 0, rc;

	for (unsigned k = 0; k < mv->o.burst; k++) {
		if (!w->have) {
			const struct xs_pack_to_worker *m = xs_pack_to_worker_poll(w->p2w);

			if (!m) {
				if (xs_spsc_error(w->p2w))
					return xs_spsc_error(w->p2w);
				break;
			}
			w->req = *m; /* copied: the slot can go back at once */
			w->have = true;
		}
		if ((rc = answer(w)) < 0)
			return rc;
		if (rc == 0)
			break;
		w->have = false;
		done++;
	}
	xs_spsc_finalize(w->p2w);
	xs_spsc_commit(w->w2p);
	if (done) {
		__atomic_store_n(&w->last_ns, xs_tool_now_ns(), __ATOMIC_RELAXED);
		publish_in_use(w);
		w->idle = 0;
	} else if ((++w->idle & 255) == 0) {
		/* idle: take back the responses the scheduler freed */
		if ((rc = xs_alloc_clean_remote(w->alloc)) < 0)
			return rc;
		publish_in_use(w);
	}
	return done;
}

/* -------------------------------------------------------------- main */

static struct xs_hs_server *g_srv;

static void on_signal(int sig)
{
	(void)sig;
	if (g_srv)
		xs_hs_server_stop(g_srv);
}

static void on_hs_event(void *arg, const struct xs_hs_event *ev)
{
	/* object creation failures (e.g. a --mem-node bind) leave their detail
	 * in this thread's message: the server reports them right away */
	int detail = ev->err == -XS_EHS_ALLOC || ev->err == -XS_EHS_QUEUE;

	(void)arg;
	fprintf(stderr, "%s: %s handshake (connection %llu, pid %d): %s%s%s%s%s%s; still listening\n",
		xs_tool_name(), ev->kind == XS_HS_EV_REJECTED ? "rejected" : "failed",
		(unsigned long long)ev->conn_id, (int)ev->peer_pid, xs_strerror(ev->err),
		ev->reason && ev->reason[0] ? ": " : "", ev->reason ? ev->reason : "",
		detail ? " (" : "", detail ? xs_errmsg() : "", detail ? ")" : "");
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s --socket PATH [OPTION]...\n"
		"Mock Agave validator: serve one external-scheduler session on PATH, feed it\n"
		"self-checking transactions, answer its batches, check every transaction.\n"
		"\n"
		"Session:\n"
		"  -s, --socket PATH        Unix socket to listen on (required)\n"
		"  -P, --protocol 1|2       handshake VERSION (default 2)\n"
		"      --replace            replace a stale socket file at PATH\n"
		"      --accept-timeout MS  give up when no scheduler connects in MS (default: wait)\n"
		"      --timeout MS         give up when the session lasts longer (default: none)\n"
		"      --drain-ms MS        after the last answer, wait this long for the scheduler\n"
		"                           to free everything (default 5000)\n"
		"      --mem-node N         bind the session's shared memory (allocator and every\n"
		"                           queue) to NUMA node N before its first touch; a\n"
		"                           failing bind rejects the logon (default: no binding,\n"
		"                           pages land on the node of whoever touches them first)\n"
		"Traffic:\n"
		"  -n, --txs N              transactions to send (default 100000; 100k, 1M ok)\n"
		"  -r, --rate TX_PER_S      send rate, 0 = as fast as possible (default 0)\n"
		"  -z, --tx-size B|MIN-MAX  transaction size in bytes, 9..4096 (default 256)\n"
		"      --vote-share S       share of simple votes (\"10%%\" or 0.1; default 0)\n"
		"      --forwarded-share S  share of forwarded transactions (default 0)\n"
		"      --staked-share S     share from staked nodes (default 0)\n"
		"      --not-included S     share of executed transactions not included (default 0)\n"
		"      --block-cu N         block cost limit per slot, 0 = none (default 0)\n"
		"Slots:\n"
		"      --progress-ms MS     progress message period (default 10)\n"
		"      --slot-ms MS         slot duration (default 400)\n"
		"      --leader-slots K/N   leader for K consecutive slots of every N (default 4/4)\n"
		"      --first-slot N       first slot number (default 1000)\n"
		"Output:\n"
		"  -f, --format FMT         summary as table (default) or json\n"
		"  -v, --verbose            progress on stderr every second\n"
		"      --no-metrics         do not publish metrics for xsched-monitor\n"
		"  -h, --help               show this help and exit\n"
		"  -V, --version            show the version and exit\n"
		"\n",
		xs_tool_name());
	xs_rt_opts_usage(out);
	fprintf(out, "\nExit status: 0 every transaction came back intact and everything was freed;\n"
		     "1 mismatch, protocol error, scheduler gone, leak or timeout; 2 usage error.\n");
}

enum {
	OPT_REPLACE = 0x100, OPT_ACCEPT, OPT_TIMEOUT, OPT_DRAIN, OPT_VOTE, OPT_FWD, OPT_STAKED,
	OPT_NIR, OPT_BLOCK, OPT_PROGRESS, OPT_SLOT, OPT_LEADER, OPT_FIRST, OPT_BURST, OPT_MEM_NODE,
};

static void parse(struct mv_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"protocol", required_argument, NULL, 'P'},
		{"replace", no_argument, NULL, OPT_REPLACE},
		{"accept-timeout", required_argument, NULL, OPT_ACCEPT},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"drain-ms", required_argument, NULL, OPT_DRAIN},
		{"txs", required_argument, NULL, 'n'},
		{"rate", required_argument, NULL, 'r'},
		{"tx-size", required_argument, NULL, 'z'},
		{"vote-share", required_argument, NULL, OPT_VOTE},
		{"forwarded-share", required_argument, NULL, OPT_FWD},
		{"staked-share", required_argument, NULL, OPT_STAKED},
		{"not-included", required_argument, NULL, OPT_NIR},
		{"block-cu", required_argument, NULL, OPT_BLOCK},
		{"progress-ms", required_argument, NULL, OPT_PROGRESS},
		{"slot-ms", required_argument, NULL, OPT_SLOT},
		{"leader-slots", required_argument, NULL, OPT_LEADER},
		{"first-slot", required_argument, NULL, OPT_FIRST},
		{"burst", required_argument, NULL, OPT_BURST},
		{"mem-node", required_argument, NULL, OPT_MEM_NODE},
		{"verbose", no_argument, NULL, 'v'},
		XS_TOOL_LONGOPT_NO_METRICS,
		XS_TOOL_LONGOPT_FORMAT,
		XS_TOOL_LONGOPTS,
		XS_RT_LONG_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->protocol = 2;
	o->txs = 100000;
	o->size_min = o->size_max = 256;
	o->progress_ns = 10 * 1000000ull;
	o->slot_ns = 400 * 1000000ull;
	o->first_slot = 1000;
	o->leader_k = o->leader_n = 4;
	o->drain_ms = 5000;
	o->burst = 64;
	o->mem_node = -1;
	xs_rt_opts_init(&o->rt);

#define NUM(min, max, dst)                                                         \
	do {                                                                       \
		if (xs_tool_parse_u64(optarg, (min), (max), &v) < 0)               \
			xs_tool_usage_error("%s: %s", xs_tool_optname(longopts, c), xs_errmsg()); \
		dst = v;                                                           \
	} while (0)
#define SHARE(dst)                                                                 \
	do {                                                                       \
		if (xs_tool_parse_share(optarg, &(dst)) < 0)                       \
			xs_tool_usage_error("%s: %s", xs_tool_optname(longopts, c), xs_errmsg()); \
	} while (0)

	while ((c = xs_tool_getopt(argc, argv, "s:P:n:r:z:vf:hV", longopts)) != -1) {
		if (xs_tool_std_opt(c, optarg, &o->fmt, &o->rt))
			continue;
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'P': NUM(1, 2, o->protocol); break;
		case OPT_REPLACE: o->replace = true; break;
		case OPT_ACCEPT: NUM(0, 86400000, o->accept_ms); break;
		case OPT_TIMEOUT: NUM(0, 86400000, o->timeout_ms); break;
		case OPT_DRAIN: NUM(0, 3600000, o->drain_ms); break;
		case 'n': NUM(1, 1ull << 40, o->txs); break;
		case 'r': NUM(0, 1ull << 40, o->rate); break;
		case 'z': {
			char *dash = strchr(optarg, '-');
			uint64_t lo, hi;

			if (dash) {
				*dash = '\0';
				rc = xs_tool_parse_size(optarg, XS_PAYLOAD_MIN, XS_ALLOC_MAX_SIZE, &lo);
				if (rc == 0)
					rc = xs_tool_parse_size(dash + 1, XS_PAYLOAD_MIN,
								XS_ALLOC_MAX_SIZE, &hi);
				*dash = '-';
			} else {
				rc = xs_tool_parse_size(optarg, XS_PAYLOAD_MIN, XS_ALLOC_MAX_SIZE, &lo);
				hi = lo;
			}
			if (rc < 0 || hi < lo)
				xs_tool_usage_error("--tx-size: '%s' is not a size or MIN-MAX range in "
						    "9..4096", optarg);
			o->size_min = (uint32_t)lo;
			o->size_max = (uint32_t)hi;
			break;
		}
		case OPT_VOTE: SHARE(o->vote); break;
		case OPT_FWD: SHARE(o->forwarded); break;
		case OPT_STAKED: SHARE(o->staked); break;
		case OPT_NIR: SHARE(o->not_included); break;
		case OPT_BLOCK: NUM(0, UINT64_MAX / 2, o->block_cu); break;
		case OPT_PROGRESS: NUM(1, 60000, v); o->progress_ns = v * 1000000ull; break;
		case OPT_SLOT: NUM(1, 60000, v); o->slot_ns = v * 1000000ull; break;
		case OPT_FIRST: NUM(0, 1ull << 62, o->first_slot); break;
		case OPT_BURST: NUM(1, 4096, o->burst); break;
		case OPT_MEM_NODE: NUM(0, 1023, v); o->mem_node = (int)v; break;
		case OPT_LEADER: {
			unsigned k, n;
			char tail;

			if (sscanf(optarg, "%u/%u%c", &k, &n, &tail) != 2 || k == 0 || n == 0 ||
			    k > n || n > 1000000)
				xs_tool_usage_error("--leader-slots: '%s' is not K/N with 1 <= K <= N",
						    optarg);
			o->leader_k = k;
			o->leader_n = n;
			break;
		}
		case 'v': o->verbose = true; break;
		case XS_TOOL_OPT_NO_METRICS: o->no_metrics = true; break;
		default: xs_tool_usage_error("%s: unexpected option", xs_tool_optname(longopts, c));
		}
	}
#undef NUM
#undef SHARE
	if (optind < argc)
		xs_tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->socket)
		xs_tool_usage_error("--socket: required (the path to listen on)");
}

/* Sum a worker counter over all workers. */
#define WSUM(mv, field)                                                    \
	({                                                                 \
		uint64_t s_ = 0;                                           \
		for (uint32_t i_ = 0; i_ < (mv)->vs->num_workers; i_++)    \
			s_ += LD((mv)->w[i_].field);                       \
		s_;                                                        \
	})

struct outcome {
	const char *status; /* "ok" or why not */
	int err;            /* first lthread error */
	uint64_t end_ns;
	uint64_t in_use_tpu, in_use_workers;
};

static void summary(struct mv *mv, const struct outcome *oc, const struct xs_plan *plan)
{
	const struct mv_opts *o = &mv->o;
	uint64_t sent = LD(mv->tpu.sent), unique = WSUM(mv, unique), last = 0;
	uint64_t reasons[128] = {0};
	double secs;

	for (uint32_t i = 0; i < mv->vs->num_workers; i++) {
		if (LD(mv->w[i].last_ns) > last)
			last = LD(mv->w[i].last_ns);
		for (unsigned r = 0; r < 128; r++)
			reasons[r] += LD(mv->w[i].reasons[r]);
	}
	secs = last > mv->tpu.start_ns ? (double)(last - mv->tpu.start_ns) * 1e-9 : 0;
	if (o->fmt == XS_FMT_JSON) {
		struct xs_json j;

		xs_json_init(&j, stdout);
		xs_json_obj_begin(&j, NULL);
		xs_json_str(&j, "schema", "xsched.mockval/1");
		xs_json_str(&j, "status", oc->status);
		xs_json_u64(&j, "protocol", (uint64_t)mv->vs->version);
		xs_json_u64(&j, "workers", mv->vs->num_workers);
		xs_json_str(&j, "placement", xs_place_policy_name(o->rt.placement));
		xs_json_u64(&j, "reactors", plan ? (uint64_t)xs_plan_nreactors(plan) : 0);
		xs_json_u64(&j, "txs_requested", o->txs);
		xs_json_u64(&j, "sent", sent);
		xs_json_u64(&j, "bytes_sent", LD(mv->tpu.bytes));
		xs_json_u64(&j, "received_back", unique);
		xs_json_u64(&j, "answered", WSUM(mv, txs));
		xs_json_u64(&j, "resubmitted", WSUM(mv, resubmitted));
		xs_json_u64(&j, "batches", WSUM(mv, batches));
		xs_json_u64(&j, "check_batches", WSUM(mv, check_batches));
		xs_json_u64(&j, "mismatches", WSUM(mv, mismatches));
		xs_json_u64(&j, "invalid_batches", WSUM(mv, invalid));
		xs_json_u64(&j, "bad_regions", WSUM(mv, errors));
		xs_json_u64(&j, "executed_twice", WSUM(mv, twice));
		xs_json_u64(&j, "exceeded_batches", WSUM(mv, exceeded));
		xs_json_u64(&j, "included", WSUM(mv, included));
		xs_json_u64(&j, "not_included", WSUM(mv, not_included));
		xs_json_obj_begin(&j, "not_included_reasons");
		for (unsigned r = 1; r < 128; r++)
			if (reasons[r]) {
				char key[64];

				snprintf(key, sizeof(key), "%s", nir_name(r));
				if (!strcmp(key, "other"))
					snprintf(key, sizeof(key), "reason_%u", r);
				xs_json_u64(&j, key, reasons[r]);
			}
		xs_json_obj_end(&j);
		xs_json_u64(&j, "responses", WSUM(mv, responses));
		xs_json_u64(&j, "resolved_pubkeys", WSUM(mv, pubkeys));
		xs_json_u64(&j, "progress_messages", LD(mv->prog.msgs));
		xs_json_bool(&j, "end_of_stream_sent", LD(mv->prog.eos_sent));
		xs_json_u64(&j, "tpu_queue_full", LD(mv->tpu.queue_full));
		xs_json_u64(&j, "not_freed_tpu", oc->in_use_tpu);
		xs_json_u64(&j, "not_freed_workers", oc->in_use_workers);
		xs_json_num(&j, "seconds", secs, 6);
		xs_json_num(&j, "tx_per_s", secs > 0 ? (double)unique / secs : 0, 0);
		xs_json_obj_end(&j);
		xs_json_finish(&j);
		return;
	}
	printf("# xsched-mockval: protocol %d, %u workers, placement %s, %d reactors\n",
	       mv->vs->version, mv->vs->num_workers, xs_place_policy_name(o->rt.placement),
	       plan ? xs_plan_nreactors(plan) : 0);
	printf("sent           %llu transactions (%llu bytes)\n", (unsigned long long)sent,
	       (unsigned long long)LD(mv->tpu.bytes));
	printf("received back  %llu of %llu (answered %llu in %llu batches, %llu resubmitted)\n",
	       (unsigned long long)unique, (unsigned long long)sent,
	       (unsigned long long)WSUM(mv, txs), (unsigned long long)WSUM(mv, batches),
	       (unsigned long long)WSUM(mv, resubmitted));
	printf("mismatches     %llu  (invalid batches %llu, bad regions %llu, executed twice %llu)\n",
	       (unsigned long long)WSUM(mv, mismatches), (unsigned long long)WSUM(mv, invalid),
	       (unsigned long long)WSUM(mv, errors), (unsigned long long)WSUM(mv, twice));
	printf("included       %llu, not included %llu", (unsigned long long)WSUM(mv, included),
	       (unsigned long long)WSUM(mv, not_included));
	for (unsigned r = 1; r < 128; r++)
		if (reasons[r])
			printf(" [%s %llu]", nir_name(r), (unsigned long long)reasons[r]);
	printf("\nexceeded       %llu batches past max_working_slot; %llu check batches\n",
	       (unsigned long long)WSUM(mv, exceeded), (unsigned long long)WSUM(mv, check_batches));
	printf("not freed      %llu transactions/keys of worker 0, %llu responses of workers\n",
	       (unsigned long long)oc->in_use_tpu, (unsigned long long)oc->in_use_workers);
	printf("throughput     %.0f tx/s (%.3f s from first send to last answer)\n",
	       secs > 0 ? (double)unique / secs : 0, secs);
	printf("status         %s\n", oc->status);
}

static int build_runtime(struct mv *mv, struct xs_topo *topo, struct xs_plan **plan,
			 struct xs_rt **rt)
{
	const struct mv_opts *o = &mv->o;
	uint32_t W = mv->vs->num_workers;
	struct xs_task tasks[2 + XS_HS_MAX_WORKERS];
	struct xs_lthread_spec specs[2 + XS_HS_MAX_WORKERS];
	struct xs_mem_loc loc;
	int nt, rc, mem_node = -1;

	nt = xs_tasks_std(tasks, 2 + XS_HS_MAX_WORKERS, (int)W);
	if (nt < 0)
		return nt;
	memset(&tasks[nt], 0, sizeof(tasks[nt]));
	tasks[nt].kind = XS_TASK_EXTRA;
	tasks[nt].flags = XS_TASK_LIGHT; /* one message every few ms: no core of its own */
	snprintf(tasks[nt].name, sizeof(tasks[nt].name), "progress");
	nt++;
	/* plan on the node that holds the session's memory */
	if (xs_topo_is_system(topo) && xs_rt_vsession_node(topo, mv->vs, &loc) > 0)
		mem_node = loc.node;
	if ((rc = xs_tool_plan_rt(&o->rt, topo, tasks, nt, mem_node, plan, rt)) < 0)
		return rc;
	memset(specs, 0, sizeof(specs));
	for (int i = 0; i < nt; i++) {
		const struct xs_plan_task *pt = xs_plan_task(*plan, i);

		if (pt->task.kind == XS_TASK_TPU) {
			specs[i].poll = tpu_poll;
			specs[i].init = tpu_init;
			specs[i].arg = &mv->tpu;
		} else if (pt->task.kind == XS_TASK_WORKER) {
			specs[i].poll = worker_poll;
			specs[i].arg = &mv->w[pt->task.index];
		} else {
			specs[i].poll = progress_poll;
			specs[i].arg = &mv->prog;
		}
	}
	rc = xs_rt_add_plan(*rt, *plan, specs);
	return rc < 0 ? rc : 0;
}

int main(int argc, char **argv)
{
	static struct mv mv;
	struct mv_opts *o = &mv.o;
	struct xs_hs_server_opts so;
	struct xs_hs_server *srv = NULL;
	struct xs_peer_watcher *watcher = NULL;
	struct xs_topo *topo = NULL;
	struct xs_mem_bind_ctx bind;
	struct xs_plan *plan = NULL;
	struct xs_rt *rt = NULL;
	struct xs_metrics *metrics = NULL;
	struct outcome oc = {.status = "ok"};
	struct sigaction sa;
	uint64_t start, deadline = 0, drain_until = 0, next_note, gone_ns = 0;
	int rc, exit_code = XS_EXIT_OK, phase = 0;

	xs_tool_init("xsched-mockval", usage);
	parse(o, argc, argv);

	if ((rc = xs_rt_opts_topo(&o->rt, &topo)) < 0)
		return xs_tool_fail(rc, "load the topology");

	memset(&so, 0, sizeof(so));
	so.path = o->socket;
	so.version = o->protocol;
	so.replace_stale = o->replace;
	so.on_event = on_hs_event;
	if (o->mem_node >= 0) {
		/* checked now: a bad node would otherwise reject every logon */
		int nodes = xs_topo_count(topo, XS_TOPO_NODE);

		if (!xs_topo_is_system(topo)) {
			xs_topo_destroy(topo);
			xs_tool_usage_error("--mem-node: needs the real machine's topology, not --topology");
		}
		if (o->mem_node >= nodes) {
			xs_topo_destroy(topo);
			xs_tool_usage_error("--mem-node: node %d does not exist (the machine has %d NUMA "
					    "node%s: 0..%d)", o->mem_node, nodes, nodes == 1 ? "" : "s",
					    nodes - 1);
		}
		bind.topo = topo;
		bind.node = o->mem_node;
		so.bind_fn = xs_mem_bind_fd_cb;
		so.bind_arg = &bind;
	}
	/* every option, the CPU set and the placement before listening: the
	 * smallest session (one worker) must be plannable, or none is */
	{
		struct xs_task tasks[3];
		int nt = xs_tasks_std(tasks, 3, 1);

		if (nt < 0) {
			xs_topo_destroy(topo);
			return xs_tool_fail(nt, "list the lightweight threads");
		}
		memset(&tasks[nt], 0, sizeof(tasks[nt]));
		tasks[nt].kind = XS_TASK_EXTRA;
		tasks[nt].flags = XS_TASK_LIGHT;
		snprintf(tasks[nt].name, sizeof(tasks[nt].name), "progress");
		xs_tool_check_plan(&o->rt, topo, tasks, nt + 1, o->mem_node);
	}
	if ((rc = xs_hs_server_listen(&so, &srv)) < 0) {
		xs_topo_destroy(topo);
		return xs_tool_fail(rc, "listen on %s", o->socket);
	}
	g_srv = srv;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (o->mem_node >= 0)
		xs_tool_note("listening on %s (protocol %u), session memory bound to node %d",
			     o->socket, o->protocol, o->mem_node);
	else
		xs_tool_note("listening on %s (protocol %u)", o->socket, o->protocol);
	rc = xs_hs_server_serve(srv, o->accept_ms ? xs_tool_now_ns() + o->accept_ms * 1000000ull : 0,
				&mv.vs);
	g_srv = NULL;
	xs_hs_server_close(srv);
	if (rc < 0) {
		xs_topo_destroy(topo);
		return xs_tool_fail(rc, "wait for a scheduler");
	}
	xs_tool_note("session: pid %d, %u workers, %llu-byte allocator, %s", (int)mv.vs->peer_pid,
		     mv.vs->num_workers, (unsigned long long)mv.vs->allocator_size,
		     mv.vs->backend == XS_HS_BACKEND_URING ? "io_uring" : "poll");

	/* state */
	mv.seen = calloc((o->txs + 63) / 64, sizeof(uint64_t));
	mv.executed = calloc((o->txs + 63) / 64, sizeof(uint64_t));
	mv.w = aligned_alloc(XS_CACHE_LINE, sizeof(*mv.w) * mv.vs->num_workers);
	if (!mv.seen || !mv.executed || !mv.w) {
		rc = -ENOMEM;
		exit_code = xs_tool_fail(rc, "allocate the bookkeeping");
		goto out;
	}
	memset(mv.w, 0, sizeof(*mv.w) * mv.vs->num_workers);
	mv.tpu.mv = &mv;
	mv.tpu.alloc = mv.vs->tpu_alloc;
	mv.tpu.q = &mv.vs->tpu_to_pack;
	mv.prog.mv = &mv;
	mv.prog.q = &mv.vs->progress;
	mv.prog.slot = UINT64_MAX;
	for (uint32_t i = 0; i < mv.vs->num_workers; i++) {
		mv.w[i].mv = &mv;
		mv.w[i].index = (int)i;
		mv.w[i].alloc = mv.vs->worker_allocs[i];
		mv.w[i].p2w = &mv.vs->workers[i].pack_to_worker;
		mv.w[i].w2p = &mv.vs->workers[i].worker_to_pack;
	}
	mv.bank = o->first_slot << 1 | 1;

	if ((rc = xs_peer_watcher_create(&watcher, 0, 0)) < 0 ||
	    (rc = mv.vs->peer_pidfd >= 0
			  ? xs_peer_watch_pidfd(watcher, &mv.peer, mv.vs->peer_pidfd, NULL, NULL)
			  : xs_peer_watch(watcher, &mv.peer, mv.vs->peer_pid, NULL, NULL)) < 0) {
		exit_code = xs_tool_fail(rc, "watch the scheduler process %d", (int)mv.vs->peer_pid);
		goto out;
	}
	if ((rc = build_runtime(&mv, topo, &plan, &rt)) < 0) {
		exit_code = xs_tool_fail(rc, "plan the lightweight threads");
		goto out;
	}
	if (!o->no_metrics && (metrics = xs_tool_metrics_create(rt, o->socket, NULL, mv.vs))) {
		/* the producers' own counts of full queues */
		xs_metrics_queue_full_counter(metrics, &mv.vs->tpu_to_pack, &mv.tpu.queue_full);
		xs_metrics_queue_full_counter(metrics, &mv.vs->progress, &mv.prog.skipped);
		for (uint32_t i = 0; i < mv.vs->num_workers; i++)
			xs_metrics_queue_full_counter(metrics, &mv.vs->workers[i].worker_to_pack,
						      &mv.w[i].w2p_full);
	}
	if (o->verbose)
		xs_plan_print(plan, stderr, 0);
	xs_rt_stop_on_signal(rt, SIGINT);
	xs_rt_stop_on_signal(rt, SIGTERM);
	/* the TPU lthread's init sets the real start; this covers monitoring */
	mv.tpu.start_ns = start = xs_tool_now_ns();
	if (o->timeout_ms)
		deadline = start + o->timeout_ms * 1000000ull;
	if ((rc = xs_rt_start(rt)) < 0) {
		exit_code = xs_tool_fail(rc, "start the runtime");
		goto out;
	}
	xs_tool_metrics_start(metrics);
	next_note = start + 1000000000ull;

	/* Monitor: the lightweight threads do the work; this thread watches. */
	for (;;) {
		struct timespec ts = {0, 1000000};
		uint64_t now, in_use;

		nanosleep(&ts, NULL);
		now = xs_tool_now_ns();
		if (xs_rt_stopping(rt)) {
			oc.status = "stopped (signal or lightweight-thread error)";
			break;
		}
		if (deadline && now > deadline) {
			oc.status = "timeout";
			break;
		}
		if (o->verbose && now > next_note) {
			next_note += 1000000000ull;
			xs_tool_note("sent %llu, back %llu, mismatches %llu",
				     (unsigned long long)LD(mv.tpu.sent),
				     (unsigned long long)WSUM(&mv, unique),
				     (unsigned long long)WSUM(&mv, mismatches));
		}
		if (phase == 0 && WSUM(&mv, unique) == o->txs) {
			phase = 1; /* every transaction came back: wait for the frees */
			drain_until = now + o->drain_ms * 1000000ull;
		}
		if (phase == 0 && !xs_peer_alive(&mv.peer)) {
			/* what it pushed before it died is still in the queues: let
			 * the workers drain them for a moment before giving up */
			if (!gone_ns)
				gone_ns = now;
			else if (now - gone_ns > GRACE_NS) {
				oc.status = "scheduler gone before every transaction came back";
				break;
			}
		}
		if (phase == 1) {
			in_use = LD(mv.tpu.in_use) + WSUM(&mv, in_use);
			/* done once the end of stream is out and everything came home */
			if (in_use == 0 && LD(mv.tpu.cleans) > 0 && LD(mv.prog.eos_sent))
				break;
			if (now > drain_until) {
				oc.status = "scheduler did not free everything";
				break;
			}
		}
	}
	xs_rt_stop(rt);
	oc.err = xs_rt_join(rt);
	if (oc.err < 0 && oc.err != XS_RT_DONE)
		xs_tool_fail(oc.err, "run the lightweight threads");

	/* final accounting on this thread (the lightweight threads are joined) */
	xs_alloc_clean_remote(mv.tpu.alloc);
	oc.in_use_tpu = xs_alloc_counters(mv.tpu.alloc)->allocs -
			xs_alloc_counters(mv.tpu.alloc)->frees_local;
	for (uint32_t i = 0; i < mv.vs->num_workers; i++) {
		xs_alloc_clean_remote(mv.w[i].alloc);
		oc.in_use_workers += xs_alloc_counters(mv.w[i].alloc)->allocs -
				     xs_alloc_counters(mv.w[i].alloc)->frees_local;
	}
	if (!strcmp(oc.status, "ok") && (WSUM(&mv, mismatches) || WSUM(&mv, invalid) ||
					 WSUM(&mv, errors) || WSUM(&mv, twice)))
		oc.status = "mismatch or protocol error";
	if (!strcmp(oc.status, "ok") && (oc.in_use_tpu || oc.in_use_workers))
		oc.status = "scheduler did not free everything";
	if (!strcmp(oc.status, "ok") && oc.err < 0 && oc.err != XS_RT_DONE)
		oc.status = "lightweight-thread error";
	summary(&mv, &oc, plan);
	if (strcmp(oc.status, "ok") != 0) {
		xs_tool_note("FAILED: %s", oc.status);
		exit_code = XS_EXIT_FAIL;
	}
out:
	xs_metrics_close(metrics); /* last sample, marked exited, unlinked */
	xs_rt_destroy(rt);
	xs_plan_destroy(plan);
	if (watcher) {
		if (xs_peer_pid(&mv.peer))
			xs_peer_unwatch(watcher, &mv.peer);
		xs_peer_watcher_destroy(watcher);
	}
	xs_vsession_close(mv.vs);
	xs_topo_destroy(topo);
	free(mv.seen);
	free(mv.executed);
	free(mv.w);
	return exit_code;
}
