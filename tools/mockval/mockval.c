/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-mockval: a mock Agave validator that drives a real external
 * scheduler through the scheduler-bindings protocol (server side), in any
 * generation of the handshake table: VERSION 1 (agave 3.1.x) to 5 and the
 * agave-scheduler-handshake rows sdk6 / sdk7, chosen with --protocol N or
 * --agave LINE. What a generation's messages mean comes from its bindings
 * table (xsched/msg.h, struct xs_bindings); one code path serves them all.
 *
 * It listens on --socket, serves one scheduler session (rejected or failed
 * handshakes are logged and it keeps listening), then runs, on the runtime's
 * placement plan, these lightweight threads:
 *
 *   tpu       allocates each transaction with allocator worker 0, writes a
 *             self-checking payload (tools/common/payload.h) and pushes a
 *             TpuToPackMessage; --rate paces it; cleans worker 0's remote
 *             free list (the scheduler frees transactions there). Votes
 *             reach pack as the generation says: never in VERSION 1, with
 *             the logon's REROUTE_VOTES in VERSION 2, always from VERSION 3.
 *   progress  slots advancing every --slot-ms, leader windows (--leader-slots
 *             K/N; from VERSION 3 on LEADER_STARTING for the first
 *             --starting-ms of each leader slot, then LEADER_READY),
 *             remaining cost units, slot progress, and in the 80- and
 *             96-byte layouts epoch, blockhash, remaining account-data
 *             budget and target bank time; one ProgressMessage every
 *             --progress-ms; once every transaction is sent, the
 *             end-of-stream message: current_slot = UINT64_MAX and
 *             remaining_cost_units = number of transactions sent.
 *   w<i>      per execution worker pair: validates each request with the
 *             bindings' rules (xs_msg_check_request), checks every
 *             transaction's payload, honours the bank state,
 *             max_working_slot (VERSION 1: SLOT_MISMATCH per transaction;
 *             later: MAX_WORKING_SLOT_EXCEEDED without responses), the
 *             execution flags (DROP_ON_FAILURE, ALL_OR_NOTHING), a share of
 *             partially cancelled batches (bindings 5.x, 6), check requests
 *             (VERSION 2 - 5) and RESOLVE (VERSION 1); answers with a
 *             response array allocated with its own handle, a configurable
 *             share not included (with reasons), execution_slot from
 *             VERSION 3 on; cleans its remote free list.
 *   c<j>      check workers (VERSION 5: --check-workers; SDK: the logon's
 *             check_worker_count): take batches from the shared MPMC
 *             pack_to_check_worker queue, run the requested checks (status,
 *             fee-payer balance, lookup-table resolution with resolved keys,
 *             scheduling details) with a --check-fail share of failures, and
 *             answer on check_worker_to_pack.
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
#include "tool_gen.h"
#include "tool_metrics.h"
#include "xsched/alloc.h"
#include "xsched/guard.h"
#include "xsched/handshake.h"
#include "xsched/mpmc.h"
#include "xsched/msg.h"
#include "xsched/runtime.h"

#define LD(x)      __atomic_load_n(&(x), __ATOMIC_RELAXED)
/* Counters have one writer (their lightweight thread) and are read by the
 * main thread for monitoring: relaxed atomic stores, no RMW needed. */
#define INC(x, n)  __atomic_store_n(&(x), (x) + (n), __ATOMIC_RELAXED)
#define MAX_REPORTED 5 /* detailed lines per kind of error */
#define GRACE_NS (200 * 1000000ull) /* draining allowed after the peer died */
#define SLOTS_PER_EPOCH 432000ull
#define MAX_CHECK_WORKERS XS_HS_MAX_CHECK_WORKERS

/* bank state published by the progress lthread (mv->bank low bits) */
#define BANK_NONE     0u /* not leader */
#define BANK_STARTING 1u /* leader slot, bank not ready (VERSION 3 and later) */
#define BANK_READY    2u /* leader with a bank */

static const uint8_t nir_reasons[] = {
	XS_NIR_ACCOUNT_IN_USE, XS_NIR_INSUFFICIENT_FUNDS_FOR_FEE, XS_NIR_BLOCKHASH_NOT_FOUND,
	XS_NIR_ALREADY_PROCESSED, XS_NIR_INSTRUCTION_ERROR,
};

struct mv_opts {
	const char *socket;
	const char *protocol_arg, *agave_arg;
	struct xs_tool_gen gen;
	uint32_t check_workers;  /* VERSION 5: check workers the validator runs */
	bool check_workers_set;
	uint64_t txs;
	uint64_t rate;           /* tx/s, 0 = as fast as possible */
	uint32_t size_min, size_max;
	double vote, forwarded, staked, not_included, check_fail, partial_cancel;
	uint64_t progress_ns, slot_ns, first_slot, block_cu, starting_ns, data_budget;
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
	uint64_t sent, bytes, queue_full, alloc_waits, in_use, cleans, votes;
	uint64_t start_ns;
	bool have;
	struct xs_tpu_to_pack msg; /* allocated, not yet pushed (queue was full) */
	uint32_t polls;
} XS_CACHE_ALIGNED;

struct mv_progress {
	struct mv *mv;
	struct xs_spsc *q;
	uint64_t next_ns, slot, msgs, skipped, starting_msgs, ready_msgs;
	bool eos_sent;
} XS_CACHE_ALIGNED;

/* An execution worker (SPSC pair) or a check worker (shared MPMC queues). */
struct mv_worker {
	struct mv *mv;
	int index;               /* worker i, or check worker j */
	bool check;              /* a check worker */
	unsigned req_type;       /* XS_MSG_PACK_TO_WORKER / XS_MSG_PACK_TO_CHECK */
	struct xs_alloc *alloc;
	struct xs_spsc *p2w, *w2p;     /* execution worker */
	struct xs_mpmc *p2c, *c2p;     /* check worker */
	bool have;               /* req read, not yet answered */
	bool have_ans;           /* ans built, not yet pushed (queue full) */
	uint64_t req[4];         /* the request as read (24 or 32 bytes) */
	uint64_t ans[5];         /* the answer to push (40 bytes) */
	uint64_t batches, txs, unique, resubmitted, included, not_included, exceeded, invalid;
	uint64_t check_batches, check_txs, check_failed, resolve_batches, partial, not_ready;
	uint64_t mismatches, twice, errors, responses, pubkeys, alloc_waits, failed_executed;
	uint64_t in_use, last_ns;
	uint64_t w2p_full; /* answer queue found full (metrics) */
	uint64_t reasons[128];
	uint32_t idle;
	struct xs_tx_region regs[XS_MAX_TXS_PER_BATCH];
} XS_CACHE_ALIGNED;

struct mv {
	struct mv_opts o;
	const struct xs_bindings *b;
	unsigned bid;        /* enum xs_bindings_id */
	struct xs_vsession *vs;
	uint32_t nw, nc;     /* execution workers, check workers (w[0..nw) then w[nw..nw+nc)) */
	bool votes_to_pack;  /* this session's scheduler receives votes */
	uint64_t *seen;      /* bit per id: came back through a worker (atomic) */
	uint64_t *executed;  /* bit per id: included by an execute batch (atomic) */
	uint64_t *chk_failed; /* bit per id: a check response failed it (atomic) */
	uint64_t bank;       /* (slot << 2) | BANK_*, published by progress (atomic) */
	uint64_t slot_cost;  /* cost units used in the current slot (atomic) */
	uint64_t slot_data;  /* account data allocated in the current slot (atomic) */
	uint64_t reported;   /* detailed error lines printed (atomic) */
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

/* Account data an included transaction allocates (bytes), for the budget. */
static uint64_t tx_data(uint64_t id)
{
	return (id % 8) * 128;
}

static uint64_t tx_cost(uint64_t id)
{
	return 300 + id % 1100;
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

/* Test-and-set bit @p id of @p map. @return its old value. */
static bool set_bit(uint64_t *map, uint64_t id)
{
	uint64_t bit = 1ull << (id % 64);

	return __atomic_fetch_or(&map[id / 64], bit, __ATOMIC_RELAXED) & bit;
}

static bool get_bit(uint64_t *map, uint64_t id)
{
	return __atomic_load_n(&map[id / 64], __ATOMIC_RELAXED) >> (id % 64) & 1;
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
			bool vote;

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
			/* a vote that would not reach pack in this generation is
			 * sent as an ordinary transaction: the stream stays whole */
			vote = mv->votes_to_pack && xs_draw(id, 1, o->vote);
			if (vote)
				INC(t->votes, 1);
			t->msg.flags = (uint8_t)((vote ? XS_TPU_FLAG_IS_SIMPLE_VOTE : 0) |
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

static void blockhash(uint64_t slot, uint8_t out[32])
{
	for (unsigned i = 0; i < 4; i++) {
		uint64_t v = xs_mix64(slot * 4 + i + 0x6868);

		memcpy(out + 8 * i, &v, 8);
	}
}

static int progress_poll(void *arg)
{
	struct mv_progress *p = arg;
	struct mv *mv = p->mv;
	const struct mv_opts *o = &mv->o;
	const struct xs_bindings *b = mv->b;
	uint64_t now = xs_tool_now_ns(), el, slot, next, end, sent, in_slot;
	struct xs_tool_progress pm;
	unsigned state;
	void *m;
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
	in_slot = el % o->slot_ns;
	leader_info(o, slot, &leader, &next, &end);
	/* VERSION 3 and later: a leader slot starts without a bank */
	state = !leader ? BANK_NONE
		: (b->leader_state_max >= XS_LEADER_READY && in_slot < o->starting_ns) ? BANK_STARTING
		: BANK_READY;
	/* After the end of stream no progress tells the scheduler the leader
	 * state any more (it then dispatches whatever it holds): from then on
	 * the validator answers as a leader with a bank, so that a scheduler
	 * can drain without spending its retries on BANK_NOT_AVAILABLE. */
	if (p->eos_sent || __atomic_load_n(&mv->tpu.sent, __ATOMIC_ACQUIRE) == o->txs)
		state = BANK_READY;
	if (slot != p->slot) {
		p->slot = slot;
		__atomic_store_n(&mv->slot_cost, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&mv->slot_data, 0, __ATOMIC_RELAXED);
	}
	/* Relaxed: workers only need some recent value of the bank state. */
	__atomic_store_n(&mv->bank, slot << 2 | state, __ATOMIC_RELAXED);
	if (p->eos_sent)
		return 0;
	sent = __atomic_load_n(&mv->tpu.sent, __ATOMIC_ACQUIRE); /* as above */
	m = xs_spsc_reserve(p->q);
	if (!m) {
		if (xs_spsc_error(p->q))
			return xs_spsc_error(p->q);
		INC(p->skipped, 1); /* the scheduler is not reading progress: try next tick */
		return 0;
	}
	memset(&pm, 0, sizeof(pm));
	if (sent == o->txs) {
		/* end of stream */
		pm.leader_state = XS_LEADER_NOT_LEADER; /* = IS_NOT_LEADER */
		pm.current_slot = UINT64_MAX;
		pm.next_leader_slot = UINT64_MAX;
		pm.leader_range_end = UINT64_MAX;
		pm.remaining_cost_units = sent;
		pm.current_slot_progress = 100;
		__atomic_store_n(&p->eos_sent, true, __ATOMIC_RELAXED);
	} else {
		uint64_t used = __atomic_load_n(&mv->slot_cost, __ATOMIC_RELAXED);
		uint64_t data = __atomic_load_n(&mv->slot_data, __ATOMIC_RELAXED);

		if (b->leader_state_max == XS_LEADER_IS_LEADER)
			pm.leader_state = leader ? XS_LEADER_IS_LEADER : XS_LEADER_IS_NOT_LEADER;
		else
			pm.leader_state = state == BANK_NONE ? XS_LEADER_NOT_LEADER
					  : state == BANK_STARTING ? XS_LEADER_STARTING
					  : XS_LEADER_READY;
		pm.current_slot = slot;
		pm.next_leader_slot = next;
		pm.leader_range_end = end;
		pm.remaining_cost_units = !o->block_cu ? UINT64_MAX
					  : used >= o->block_cu ? 0 : o->block_cu - used;
		pm.current_slot_progress = (uint8_t)(in_slot * 100 / o->slot_ns);
		/* 80 bytes (VERSION 4, 5): epoch and blockhash; 96 bytes
		 * (bindings 6): those, the budget and the target bank time,
		 * meaningful in LEADER_READY only */
		if (!b->split || state == BANK_READY) {
			pm.epoch = slot / SLOTS_PER_EPOCH;
			blockhash(slot, pm.blockhash);
		}
		if (b->split && state == BANK_READY) {
			pm.remaining_data = data >= o->data_budget ? 0 : o->data_budget - data;
			pm.target_bank_time_ms = (uint16_t)(o->slot_ns / 1000000 > 65535
							    ? 65535 : o->slot_ns / 1000000);
		}
		if (state == BANK_STARTING)
			INC(p->starting_msgs, 1);
		else if (state == BANK_READY)
			INC(p->ready_msgs, 1);
	}
	xs_tool_progress_encode(b, &pm, m);
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

static const char *wname(const struct mv_worker *w)
{
	return w->check ? "check worker" : "worker";
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
	uint64_t id;
	long at;
	int rc;

	*bad = true;
	rc = xs_alloc_check(w->alloc, r->offset, r->length, &ptr);
	if (rc < 0) {
		INC(w->errors, 1);
		report(mv, "%s %d: transaction region (offset %llu, %u bytes) is not an "
		       "allocation: %s", wname(w), w->index, (unsigned long long)r->offset, r->length,
		       xs_strerror(rc));
		return UINT64_MAX;
	}
	if (r->length < 8) {
		INC(w->mismatches, 1);
		report(mv, "%s %d: transaction at offset %llu has %u bytes: no id", wname(w),
		       w->index, (unsigned long long)r->offset, r->length);
		return UINT64_MAX;
	}
	id = xs_payload_id(ptr);
	if (id >= mv->o.txs) {
		INC(w->mismatches, 1);
		report(mv, "%s %d: transaction id %llu was never sent", wname(w), w->index,
		       (unsigned long long)id);
		return UINT64_MAX;
	}
	/* seen is set even for a bad payload, so the run can end and report */
	if (set_bit(mv->seen, id))
		INC(w->resubmitted, 1);
	else
		INC(w->unique, 1);
	at = xs_payload_check(ptr, r->length);
	if (at >= 0 || r->length != tx_size(&mv->o, id)) {
		INC(w->mismatches, 1);
		if (at >= 0)
			report(mv, "%s %d: MISMATCH in transaction %llu: byte %ld is 0x%02x, "
			       "expected 0x%02x", wname(w), w->index, (unsigned long long)id, at,
			       ((const uint8_t *)ptr)[at], xs_payload_byte(id, (size_t)at));
		else
			report(mv, "%s %d: MISMATCH in transaction %llu: %u bytes, sent %u",
			       wname(w), w->index, (unsigned long long)id, r->length,
			       tx_size(&mv->o, id));
		return id;
	}
	*bad = false;
	return id;
}

/* *v -= d, stopping at 0 (the progress lthread may have reset *v for a new
 * slot since the amount was added). Relaxed: a budget, not a publication. */
static void sub_sat(uint64_t *v, uint64_t d)
{
	uint64_t old = __atomic_load_n(v, __ATOMIC_RELAXED);

	while (!__atomic_compare_exchange_n(v, &old, old > d ? old - d : 0, 1, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/* Give back what an included transaction took from the slot's budgets. */
static void unspend(struct mv *mv, uint64_t id)
{
	sub_sat(&mv->slot_cost, tx_cost(id));
	sub_sat(&mv->slot_data, tx_data(id));
}

/*
 * Execution responses for a batch of @p n transactions (24-byte
 * ExecutionResponse in VERSION 1 and 2, 32-byte with execution_slot later)
 * into @p arr. @p state / @p slot: the bank; @p mws: max_execution_slot
 * (VERSION 1 answers SLOT_MISMATCH per transaction when the bank is past it).
 */
static void fill_exec(struct mv_worker *w, void *arr, unsigned n, uint16_t flags,
		      const uint64_t *ids, const bool *bad, unsigned state, uint64_t slot,
		      uint64_t mws)
{
	struct mv *mv = w->mv;
	const struct mv_opts *o = &mv->o;
	const struct xs_bindings *b = mv->b;
	bool v1 = b->id == XS_BIND_3_1, ready = state == BANK_READY;
	bool drop = xs_tool_exec_drop(b, flags), all = xs_tool_exec_all(b, flags);
	bool can_cancel = !v1 && xs_bindings_reason_known(b, XS_NIR_PARTIAL_BATCH_CANCELLED);
	unsigned cancel_from = n, failed = 0;
	uint8_t why[XS_MAX_TXS_PER_BATCH];
	uint64_t cost, used;

	/* bindings 5.x and 6: the worker may cancel the rest of a batch */
	if (ready && can_cancel && n > 1 && xs_draw(ids[0] ^ (w->batches << 24), 7, o->partial_cancel))
		cancel_from = n / 2;
	for (unsigned k = 0; k < n; k++) {
		uint64_t id = ids[k];
		uint8_t r = XS_NIR_NONE;

		if (!ready)
			r = XS_NIR_BANK_NOT_AVAILABLE;
		else if (v1 && slot > mws)
			r = XS_NIR_SLOT_MISMATCH_V1;
		else if (k >= cancel_from)
			r = XS_NIR_PARTIAL_BATCH_CANCELLED;
		else if (bad[k])
			r = XS_NIR_SANITIZE_FAILURE;
		else if (xs_draw(id, 4, o->not_included)) {
			r = nir_reasons[xs_mix64(id ^ 0x77) % sizeof(nir_reasons)];
			/* an execution failure is committed (fee paid, included)
			 * unless the batch asked to drop failures */
			if (r == XS_NIR_INSTRUCTION_ERROR && !drop)
				r = XS_NIR_NONE;
		}
		if (r == XS_NIR_NONE) {
			/* the slot's block limit and account-data budget */
			cost = tx_cost(id);
			used = __atomic_fetch_add(&mv->slot_cost, cost, __ATOMIC_RELAXED);
			__atomic_fetch_add(&mv->slot_data, tx_data(id), __ATOMIC_RELAXED);
			if (o->block_cu && used + cost > o->block_cu) {
				unspend(mv, id);
				r = XS_NIR_WOULD_EXCEED_MAX_BLOCK_COST_LIMIT;
			}
		}
		why[k] = r;
		failed += r != XS_NIR_NONE;
	}
	if (failed && all && failed < n)
		for (unsigned k = 0; k < n; k++)
			if (why[k] == XS_NIR_NONE) {
				why[k] = XS_NIR_ALL_OR_NOTHING_BATCH_FAILURE;
				unspend(mv, ids[k]);
			}
	if (cancel_from < n)
		INC(w->partial, 1);
	if (!ready)
		INC(w->not_ready, 1);
	for (unsigned k = 0; k < n; k++) {
		uint64_t id = ids[k], cu = 0, bal = 0, es = ready ? slot : 0;

		if (why[k] == XS_NIR_NONE) {
			cu = tx_cost(id);
			bal = 1000000000ull - 5000 * (id % 1000);
		}
		if (b->size[XS_MSG_EXEC_RESPONSE] == sizeof(struct xs_exec_resp)) {
			struct xs_exec_resp e;

			memset(&e, 0, sizeof(e));
			e.not_included_reason = why[k];
			e.cost_units = cu;
			e.fee_payer_balance = bal;
			memcpy((uint8_t *)arr + k * sizeof(e), &e, sizeof(e));
		} else {
			struct xs_v3_exec_resp e;

			memset(&e, 0, sizeof(e));
			e.execution_slot = es;
			e.not_included_reason = why[k];
			e.cost_units = cu;
			e.fee_payer_balance = bal;
			memcpy((uint8_t *)arr + k * sizeof(e), &e, sizeof(e));
		}
		INC(w->reasons[why[k] & 127], 1);
		if (why[k]) {
			INC(w->not_included, 1);
			continue;
		}
		INC(w->included, 1);
		if (id == UINT64_MAX)
			continue;
		if (set_bit(mv->executed, id)) {
			INC(w->twice, 1);
			report(mv, "worker %d: transaction %llu executed twice", w->index,
			       (unsigned long long)id);
		}
		if (get_bit(mv->chk_failed, id))
			INC(w->failed_executed, 1); /* the scheduler ignored a failed check */
	}
}

/* Two resolved keys (64 bytes) from the worker's handle, which the
 * scheduler must free. @return 0 and *off, or -ENOMEM. */
static int alloc_keys(struct mv_worker *w, uint64_t id, uint64_t *off)
{
	uint8_t *keys;

	if (xs_alloc_alloc_offset(w->alloc, 64, off) < 0)
		return -ENOMEM;
	keys = xs_alloc_ptr(w->alloc, *off);
	for (unsigned b = 0; b < 64; b++)
		keys[b] = (uint8_t)(id + b);
	INC(w->pubkeys, 1);
	return 0;
}

/* Which requested check (index into the requested ones) fails for @p id. */
static unsigned fail_pick(uint64_t id, unsigned nreq)
{
	return (unsigned)(xs_mix64(id ^ 0x99) % nreq);
}

/*
 * Check responses (64-byte CheckResponse of VERSION 2 - 5, 96-byte one of
 * bindings 6) into @p arr, for the checks in @p flags; a --check-fail share
 * of transactions fails one of them (the examples' rule,
 * xs_tool_check_passed()).
 */
static void fill_check(struct mv_worker *w, void *arr, unsigned n, uint16_t flags,
		       const uint64_t *ids, const bool *bad, uint64_t slot)
{
	struct mv *mv = w->mv;
	const struct xs_bindings *b = mv->b;
	size_t elem = b->size[XS_MSG_CHECK_RESPONSE];
	bool req[XS_TOOL_CHECK_KINDS];
	unsigned nreq = 0;

	for (unsigned c = 0; c < XS_TOOL_CHECK_KINDS; c++) {
		uint16_t f = xs_tool_check_flag(b, (enum xs_tool_check)c);

		req[c] = f && (flags & f);
		nreq += req[c];
	}
	for (unsigned k = 0; k < n; k++) {
		struct xs_v6_check_resp r; /* the 96-byte superset, written per layout */
		uint64_t id = ids[k];
		bool fail = !bad[k] && nreq && xs_draw(id, 6, mv->o.check_fail);
		unsigned pick = fail ? fail_pick(id, nreq) : XS_TOOL_CHECK_KINDS, seen = 0;
		int failing = -1;

		for (unsigned c = 0; c < XS_TOOL_CHECK_KINDS && fail; c++)
			if (req[c] && seen++ == pick)
				failing = (int)c;
		memset(&r, 0, sizeof(r));
		if (bad[k]) {
			r.parsing_and_sanitization_flags = XS_PARSE_FAILED;
		} else {
			if (req[XS_TOOL_CHECK_STATUS]) {
				r.status_check_flags = XS_STATUS_REQUESTED | XS_STATUS_PERFORMED;
				if (get_bit(mv->executed, id)) {
					r.status_check_flags |= XS_STATUS_ALREADY_PROCESSED;
					r.included_slot = slot;
				} else if (failing == XS_TOOL_CHECK_STATUS) {
					r.status_check_flags |= XS_STATUS_TOO_OLD;
				}
			}
			if (req[XS_TOOL_CHECK_BALANCE]) {
				r.fee_payer_balance_flags = XS_BALANCE_REQUESTED | XS_BALANCE_PERFORMED;
				r.balance_slot = slot;
				r.fee_payer_balance = failing == XS_TOOL_CHECK_BALANCE
						      ? 0 : 1000000000ull - 5000 * (id % 1000);
			}
			if (req[XS_TOOL_CHECK_ALT]) {
				uint64_t off;

				r.resolve_flags = XS_RESOLVE_REQUESTED | XS_RESOLVE_PERFORMED;
				r.resolution_slot = slot;
				r.min_alt_deactivation_slot = UINT64_MAX;
				if (failing == XS_TOOL_CHECK_ALT) {
					r.resolve_flags = XS_RESOLVE_REQUESTED | XS_RESOLVE_FAILED;
					r.resolution_slot = 0;
				} else if (id % 4 == 0) {
					if (alloc_keys(w, id, &off) == 0) {
						r.resolved_pubkeys.offset = off;
						r.resolved_pubkeys.num_pubkeys = 2;
					} else {
						r.resolve_flags = XS_RESOLVE_REQUESTED | XS_RESOLVE_FAILED;
					}
				}
			}
			if (req[XS_TOOL_CHECK_DETAILS]) {
				if (failing == XS_TOOL_CHECK_DETAILS) {
					r.scheduling_details_flags = XS_SCHED_REQUESTED | XS_SCHED_FAILED;
				} else {
					r.scheduling_details_flags = XS_SCHED_REQUESTED | XS_SCHED_PERFORMED;
					r.transaction_fee = 5000;
					r.prioritization_fee = (xs_mix64(id ^ 0x5ee) % 100) * 1000;
					r.estimated_cost_units = tx_cost(id);
					r.allocated_accounts_data_size = tx_data(id);
				}
			}
		}
		if (elem == sizeof(struct xs_v6_check_resp)) {
			memcpy((uint8_t *)arr + k * elem, &r, sizeof(r));
		} else {
			struct xs_check_resp c;

			memset(&c, 0, sizeof(c));
			c.parsing_and_sanitization_flags = r.parsing_and_sanitization_flags;
			c.status_check_flags = r.status_check_flags;
			c.fee_payer_balance_flags = r.fee_payer_balance_flags;
			c.resolve_flags = r.resolve_flags;
			c.included_slot = r.included_slot;
			c.balance_slot = r.balance_slot;
			c.fee_payer_balance = r.fee_payer_balance;
			c.resolution_slot = r.resolution_slot;
			c.min_alt_deactivation_slot = r.min_alt_deactivation_slot;
			c.resolved_pubkeys = r.resolved_pubkeys;
			memcpy((uint8_t *)arr + k * elem, &c, sizeof(c));
		}
		INC(w->check_txs, 1);
		if (!xs_tool_check_passed(b, (uint8_t *)arr + k * elem) && id != UINT64_MAX &&
		    !set_bit(mv->chk_failed, id))
			INC(w->check_failed, 1);
	}
}

/*
 * VERSION 1 RESOLVE: a 40-byte Resolved per transaction (root slot; keys of
 * v0 transactions with lookups, which the scheduler frees). Failures: bad
 * payloads and the --check-fail share ({RESOLVE_FAILURE, slot, MAX, {0, 0}}).
 */
static void fill_resolved(struct mv_worker *w, void *arr, unsigned n, const uint64_t *ids,
			  const bool *bad, uint64_t slot)
{
	struct mv *mv = w->mv;

	for (unsigned k = 0; k < n; k++) {
		struct xs_v1_resolved r;
		uint64_t id = ids[k], off;

		memset(&r, 0, sizeof(r));
		r.slot = slot;
		r.min_alt_deactivation_slot = UINT64_MAX;
		if (bad[k] || xs_draw(id, 6, mv->o.check_fail)) {
			r.success = XS_V1_RESOLVE_FAILURE;
			if (id != UINT64_MAX && !set_bit(mv->chk_failed, id))
				INC(w->check_failed, 1);
		} else {
			r.success = XS_V1_RESOLVE_SUCCESS;
			if (id % 4 == 0) {
				if (alloc_keys(w, id, &off) == 0) {
					r.resolved_pubkeys.offset = off;
					r.resolved_pubkeys.num_pubkeys = 2;
				} else {
					r.success = XS_V1_RESOLVE_FAILURE;
				}
			}
		}
		memcpy((uint8_t *)arr + k * sizeof(r), &r, sizeof(r));
		INC(w->check_txs, 1);
	}
}

/* The batch region inside request @p req of @p w's queue type. */
static const struct xs_batch_region *req_batch(const struct mv_worker *w)
{
	const uint8_t *m = (const uint8_t *)w->req;

	return (const struct xs_batch_region *)(m + (w->mv->b->size[w->req_type] ==
						     sizeof(struct xs_v6_pack_to_check) ? 8 : 16));
}

/*
 * Answer the pending request into w->ans. @return 1 built, 0 not now (no
 * memory for the response array: retried later), < 0 fatal.
 */
static int answer(struct mv_worker *w)
{
	struct mv *mv = w->mv;
	const struct xs_bindings *b = mv->b;
	const struct xs_batch_region batch = *req_batch(w);
	uint16_t flags;
	uint64_t ids[XS_MAX_TXS_PER_BATCH], bank, slot, mws = UINT64_MAX, roff = 0;
	bool bad[XS_MAX_TXS_PER_BATCH], exec = false;
	unsigned status = XS_RESP_ST_PROCESSED, kind = XS_REQ_EXECUTE, n, state;
	size_t rsize = 0, elem = 0;
	uint8_t code;
	int rc;

	memcpy(&flags, w->req, sizeof(flags));
	bank = __atomic_load_n(&mv->bank, __ATOMIC_RELAXED);
	slot = bank >> 2;
	state = (unsigned)(bank & 3);
	/* the bindings' rules: flags of the kind, 1..64 transactions, every
	 * region an allocation, nothing twice; the array is copied first */
	rc = xs_msg_check_request(mv->bid, w->req_type, w->alloc, w->req, w->regs, &kind);
	if (rc >= 0 && w->check && kind != XS_REQ_CHECK)
		rc = xs_seterr(-XS_EMSG_FLAGS, "an execute request on the check queue");
	if (rc < 0) {
		status = XS_RESP_ST_INVALID;
		INC(w->invalid, 1);
		report(mv, "%s %d: INVALID request: flags 0x%x, %u transactions at offset %llu: %s",
		       wname(w), w->index, flags, batch.num_transactions,
		       (unsigned long long)batch.transactions_offset, xs_errmsg());
		n = 0;
	} else {
		n = (unsigned)rc;
		exec = kind == XS_REQ_EXECUTE;
		/* max_working_slot: in every 32-byte request (VERSION 1:
		 * max_execution_slot, answered per transaction below; RESOLVE
		 * ignores it); bindings 6's check request has none */
		if (b->size[w->req_type] == sizeof(struct xs_pack_to_worker))
			memcpy(&mws, (const uint8_t *)w->req + 8, sizeof(mws));
		if (b->id != XS_BIND_3_1 && slot > mws) {
			status = XS_RESP_ST_SLOT_EXCEEDED;
			INC(w->exceeded, 1);
		}
	}
	if (status == XS_RESP_ST_PROCESSED) {
		elem = exec ? b->size[XS_MSG_EXEC_RESPONSE] : b->size[XS_MSG_CHECK_RESPONSE];
		rsize = (size_t)n * elem;
		if (rsize > XS_ALLOC_MAX_SIZE) {
			/* 64 bindings-6 check responses (6144 bytes) do not fit one
			 * allocation: how Agave answers that is not known */
			status = XS_RESP_ST_INVALID;
			INC(w->invalid, 1);
			report(mv, "%s %d: INVALID request: flags 0x%x, %u transactions: %zu bytes of "
			       "responses exceed one %u-byte allocation", wname(w), w->index, flags, n,
			       rsize, XS_ALLOC_MAX_SIZE);
		}
	}
	if (status == XS_RESP_ST_PROCESSED) {
		/* the response array before anything is counted: without memory
		 * the request stays pending and is answered later */
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
	} else {
		n = status == XS_RESP_ST_INVALID ? 0 : n;
	}
	/* every transaction that comes back is checked, whatever the answer */
	for (unsigned k = 0; k < n; k++)
		ids[k] = check_tx(w, &w->regs[k], &bad[k]);
	if (status == XS_RESP_ST_PROCESSED) {
		void *arr = xs_alloc_ptr(w->alloc, roff);

		if (exec)
			fill_exec(w, arr, n, flags, ids, bad, state, slot, mws);
		else if (b->id == XS_BIND_3_1) {
			fill_resolved(w, arr, n, ids, bad, slot);
			INC(w->resolve_batches, 1);
		} else {
			fill_check(w, arr, n, flags, ids, bad, slot);
			INC(w->check_batches, 1);
		}
		INC(w->responses, 1);
	}
	code = status == XS_RESP_ST_PROCESSED ? b->code_processed
	       : status == XS_RESP_ST_INVALID ? b->code_invalid : b->code_slot;
	memset(w->ans, 0, sizeof(w->ans));
	if (b->tagged) {
		struct xs_worker_to_pack *a = (struct xs_worker_to_pack *)w->ans;

		a->batch = batch;
		a->processed_code = code;
		if (status == XS_RESP_ST_PROCESSED) {
			a->responses.tag = exec ? b->tag_exec : b->tag_check;
			a->responses.num_transaction_responses = (uint8_t)n;
			a->responses.transaction_responses_offset = roff;
		}
	} else {
		struct xs_v6_exec_to_pack *a = (struct xs_v6_exec_to_pack *)w->ans;

		a->batch = batch;
		a->processed_code = code;
		if (status == XS_RESP_ST_PROCESSED) {
			a->responses.num_transaction_responses = (uint8_t)n;
			a->responses.transaction_responses_offset = roff;
		}
	}
	INC(w->batches, 1);
	INC(w->txs, n);
	return 1;
}

/* Read the next request into w->req. @return 1, 0 (none), < 0 fatal. */
static int read_request(struct mv_worker *w)
{
	if (w->check) {
		int rc = xs_mpmc_try_pop(w->p2c, w->req);

		if (rc == -EAGAIN || rc == -XS_EQ_STALLED)
			return 0; /* empty, or an earlier release still waits its turn */
		return rc < 0 ? rc : 1;
	} else {
		const void *m = xs_spsc_poll(w->p2w);

		if (!m)
			return xs_spsc_error(w->p2w) ? xs_spsc_error(w->p2w) : 0;
		/* copied: the slot can go back at once */
		memcpy(w->req, m, w->mv->b->size[w->req_type]);
		return 1;
	}
}

/* Push w->ans. @return 1 pushed, 0 queue full (kept), < 0 fatal. */
static int push_answer(struct mv_worker *w)
{
	void *slot;
	int rc;

	if (w->check) {
		rc = xs_mpmc_try_push(w->c2p, w->ans);
		if (rc == -EAGAIN || rc == -XS_EQ_STALLED) {
			INC(w->w2p_full, 1); /* backpressure, for the metrics */
			return 0;
		}
		return rc < 0 ? rc : 1;
	}
	if (xs_spsc_free_cached(w->w2p) == 0) {
		if ((rc = xs_spsc_prod_sync(w->w2p)) < 0)
			return rc;
		if (xs_spsc_free_cached(w->w2p) == 0) {
			INC(w->w2p_full, 1);
			return 0;
		}
	}
	slot = xs_spsc_reserve(w->w2p); /* room was checked */
	if (XS_UNLIKELY(!slot))
		return xs_spsc_error(w->w2p) ? xs_spsc_error(w->w2p) : -XS_E_INTERNAL;
	memcpy(slot, w->ans, sizeof(struct xs_worker_to_pack));
	return 1;
}

static int worker_poll(void *arg)
{
	struct mv_worker *w = arg;
	struct mv *mv = w->mv;
	int done = 0, rc;

	for (unsigned k = 0; k < mv->o.burst; k++) {
		if (!w->have_ans) {
			if (!w->have) {
				if ((rc = read_request(w)) < 0)
					return rc;
				if (rc == 0)
					break;
				w->have = true;
			}
			if ((rc = answer(w)) < 0)
				return rc;
			if (rc == 0)
				break;
			w->have = false;
			w->have_ans = true;
		}
		if ((rc = push_answer(w)) < 0)
			return rc;
		if (rc == 0)
			break;
		w->have_ans = false;
		done++;
	}
	if (!w->check) {
		xs_spsc_finalize(w->p2w);
		xs_spsc_commit(w->w2p);
	}
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
		"  -P, --protocol GEN       generation served: handshake VERSION 1, 2, 3, 4, 5, or\n"
		"                           sdk6, sdk7 (agave-scheduler-handshake) (default 2)\n"
		"      --agave LINE         the generation of an agave release line: 3.1, 4.0, 4.1,\n"
		"                           4.2, 4.3, 4.4 (where the line's generation is open, the\n"
		"                           best inference, with a note saying so)\n"
		"      --check-workers C    VERSION 5: check workers the validator runs, 1..64\n"
		"                           (default 1; SDK rows take the scheduler's logon count)\n"
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
		"      --vote-share S       share of simple votes (\"10%%\" or 0.1; default 0); they\n"
		"                           reach pack from VERSION 3 on, in VERSION 2 only with\n"
		"                           the logon's REROUTE_VOTES, never in VERSION 1\n"
		"      --forwarded-share S  share of forwarded transactions (default 0)\n"
		"      --staked-share S     share from staked nodes (default 0)\n"
		"      --not-included S     share of executed transactions not included (default 0)\n"
		"      --check-fail S       share of checked transactions that fail a check (status,\n"
		"                           balance, lookup tables, scheduling details; VERSION 1:\n"
		"                           RESOLVE_FAILURE) (default 0)\n"
		"      --partial-cancel S   share of execute batches whose second half is cancelled\n"
		"                           (PARTIAL_BATCH_CANCELLED; bindings 5.x and 6) (default 0)\n"
		"      --block-cu N         block cost limit per slot, 0 = none (default 0)\n"
		"      --data-budget BYTES  account data a block may allocate (reported in the\n"
		"                           96-byte progress message) (default 100000000)\n"
		"Slots:\n"
		"      --progress-ms MS     progress message period (default 10)\n"
		"      --slot-ms MS         slot duration (default 400)\n"
		"      --leader-slots K/N   leader for K consecutive slots of every N (default 4/4)\n"
		"      --starting-ms MS     VERSION 3 and later: each leader slot starts with MS of\n"
		"                           LEADER_STARTING (no bank) before LEADER_READY (default 10)\n"
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
	OPT_AGAVE, OPT_CHECK_WORKERS, OPT_CHECK_FAIL, OPT_PARTIAL, OPT_STARTING, OPT_DATA,
};

static void parse(struct mv_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"protocol", required_argument, NULL, 'P'},
		{"agave", required_argument, NULL, OPT_AGAVE},
		{"check-workers", required_argument, NULL, OPT_CHECK_WORKERS},
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
		{"check-fail", required_argument, NULL, OPT_CHECK_FAIL},
		{"partial-cancel", required_argument, NULL, OPT_PARTIAL},
		{"block-cu", required_argument, NULL, OPT_BLOCK},
		{"data-budget", required_argument, NULL, OPT_DATA},
		{"progress-ms", required_argument, NULL, OPT_PROGRESS},
		{"slot-ms", required_argument, NULL, OPT_SLOT},
		{"leader-slots", required_argument, NULL, OPT_LEADER},
		{"starting-ms", required_argument, NULL, OPT_STARTING},
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
	uint64_t v, starting_ms = 10;
	bool partial_set = false;
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->txs = 100000;
	o->size_min = o->size_max = 256;
	o->progress_ns = 10 * 1000000ull;
	o->slot_ns = 400 * 1000000ull;
	o->first_slot = 1000;
	o->leader_k = o->leader_n = 4;
	o->drain_ms = 5000;
	o->burst = 64;
	o->mem_node = -1;
	o->data_budget = 100000000ull;
	o->check_workers = 1;
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
		case 'P': o->protocol_arg = optarg; break;
		case OPT_AGAVE: o->agave_arg = optarg; break;
		case OPT_CHECK_WORKERS:
			NUM(1, MAX_CHECK_WORKERS, o->check_workers);
			o->check_workers_set = true;
			break;
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
		case OPT_CHECK_FAIL: SHARE(o->check_fail); break;
		case OPT_PARTIAL: SHARE(o->partial_cancel); partial_set = true; break;
		case OPT_BLOCK: NUM(0, UINT64_MAX / 2, o->block_cu); break;
		case OPT_DATA: NUM(0, UINT64_MAX / 2, o->data_budget); break;
		case OPT_PROGRESS: NUM(1, 60000, v); o->progress_ns = v * 1000000ull; break;
		case OPT_SLOT: NUM(1, 60000, v); o->slot_ns = v * 1000000ull; break;
		case OPT_STARTING: NUM(0, 60000, starting_ms); break;
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
	xs_tool_gen_resolve(&o->gen, o->protocol_arg, o->agave_arg, false);
	o->starting_ns = starting_ms * 1000000ull;
	if (o->starting_ns >= o->slot_ns)
		xs_tool_usage_error("--starting-ms: %llu ms is not shorter than the %llu ms slot",
				    (unsigned long long)starting_ms,
				    (unsigned long long)(o->slot_ns / 1000000));
	if (o->check_workers_set && o->gen.proto->gen != XS_HS_GEN_V5)
		xs_tool_usage_error("--check-workers: %s %s", xs_tool_gen_label(&o->gen),
				    xs_tool_gen_has_check(&o->gen)
					    ? "takes the check-worker count from the scheduler's logon"
					    : "has no check workers");
	if (partial_set && o->partial_cancel > 0 &&
	    (o->gen.b->id == XS_BIND_3_1 ||
	     !xs_bindings_reason_known(o->gen.b, XS_NIR_PARTIAL_BATCH_CANCELLED)))
		xs_tool_usage_error("--partial-cancel: bindings %s (%s) have no "
				    "PARTIAL_BATCH_CANCELLED (bindings 5.x and 6 do)", o->gen.b->name,
				    xs_tool_gen_label(&o->gen));
}

/* Sum a worker counter over all workers (execution and check). */
#define WSUM(mv, field)                                                    \
	({                                                                 \
		uint64_t s_ = 0;                                           \
		for (uint32_t i_ = 0; i_ < (mv)->nw + (mv)->nc; i_++)      \
			s_ += LD((mv)->w[i_].field);                       \
		s_;                                                        \
	})

struct outcome {
	const char *status; /* "ok" or why not */
	int err;            /* first lthread error */
	uint64_t end_ns;
	uint64_t in_use_tpu, in_use_workers;
};

/* lower-case upstream name of not_included_reason @p r ("reason_N" if none) */
static const char *reason_key(const struct mv *mv, unsigned r, char *buf, size_t len)
{
	const char *n = xs_bindings_name(mv->b, XS_M_REASON, r);
	size_t i;

	if (!n) {
		snprintf(buf, len, "reason_%u", r);
		return buf;
	}
	for (i = 0; n[i] && i + 1 < len; i++)
		buf[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] - 'A' + 'a' : n[i]);
	buf[i] = '\0';
	return buf;
}

static void summary(struct mv *mv, const struct outcome *oc, const struct xs_plan *plan)
{
	const struct mv_opts *o = &mv->o;
	uint64_t sent = LD(mv->tpu.sent), unique = WSUM(mv, unique), last = 0;
	uint64_t reasons[128] = {0};
	char key[64];
	double secs;

	for (uint32_t i = 0; i < mv->nw + mv->nc; i++) {
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
		xs_json_str(&j, "generation", mv->vs->proto->name);
		xs_json_str(&j, "bindings", mv->b->name);
		xs_json_u64(&j, "workers", mv->nw);
		xs_json_u64(&j, "check_workers", mv->nc);
		xs_json_str(&j, "placement", xs_place_policy_name(o->rt.placement));
		xs_json_u64(&j, "reactors", plan ? (uint64_t)xs_plan_nreactors(plan) : 0);
		xs_json_u64(&j, "txs_requested", o->txs);
		xs_json_u64(&j, "sent", sent);
		xs_json_u64(&j, "votes_sent", LD(mv->tpu.votes));
		xs_json_u64(&j, "bytes_sent", LD(mv->tpu.bytes));
		xs_json_u64(&j, "received_back", unique);
		xs_json_u64(&j, "answered", WSUM(mv, txs));
		xs_json_u64(&j, "resubmitted", WSUM(mv, resubmitted));
		xs_json_u64(&j, "batches", WSUM(mv, batches));
		xs_json_u64(&j, "check_batches", WSUM(mv, check_batches));
		xs_json_u64(&j, "resolve_batches", WSUM(mv, resolve_batches));
		xs_json_u64(&j, "checked", WSUM(mv, check_txs));
		xs_json_u64(&j, "check_failed", WSUM(mv, check_failed));
		xs_json_u64(&j, "failed_check_executed", WSUM(mv, failed_executed));
		xs_json_u64(&j, "mismatches", WSUM(mv, mismatches));
		xs_json_u64(&j, "invalid_batches", WSUM(mv, invalid));
		xs_json_u64(&j, "bad_regions", WSUM(mv, errors));
		xs_json_u64(&j, "executed_twice", WSUM(mv, twice));
		xs_json_u64(&j, "exceeded_batches", WSUM(mv, exceeded));
		xs_json_u64(&j, "partially_cancelled_batches", WSUM(mv, partial));
		xs_json_u64(&j, "bank_not_ready_batches", WSUM(mv, not_ready));
		xs_json_u64(&j, "included", WSUM(mv, included));
		xs_json_u64(&j, "not_included", WSUM(mv, not_included));
		xs_json_obj_begin(&j, "not_included_reasons");
		for (unsigned r = 1; r < 128; r++)
			if (reasons[r])
				xs_json_u64(&j, reason_key(mv, r, key, sizeof(key)), reasons[r]);
		xs_json_obj_end(&j);
		xs_json_u64(&j, "responses", WSUM(mv, responses));
		xs_json_u64(&j, "resolved_pubkeys", WSUM(mv, pubkeys));
		xs_json_u64(&j, "progress_messages", LD(mv->prog.msgs));
		xs_json_u64(&j, "progress_starting", LD(mv->prog.starting_msgs));
		xs_json_u64(&j, "progress_ready", LD(mv->prog.ready_msgs));
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
	printf("# xsched-mockval: protocol %s (bindings %s), %u workers, %u check workers, "
	       "placement %s, %d reactors\n", mv->vs->proto->name, mv->b->name, mv->nw, mv->nc,
	       xs_place_policy_name(o->rt.placement), plan ? xs_plan_nreactors(plan) : 0);
	printf("sent           %llu transactions (%llu bytes, %llu votes)\n",
	       (unsigned long long)sent, (unsigned long long)LD(mv->tpu.bytes),
	       (unsigned long long)LD(mv->tpu.votes));
	printf("received back  %llu of %llu (answered %llu in %llu batches, %llu resubmitted)\n",
	       (unsigned long long)unique, (unsigned long long)sent,
	       (unsigned long long)WSUM(mv, txs), (unsigned long long)WSUM(mv, batches),
	       (unsigned long long)WSUM(mv, resubmitted));
	printf("mismatches     %llu  (invalid batches %llu, bad regions %llu, executed twice %llu)\n",
	       (unsigned long long)WSUM(mv, mismatches), (unsigned long long)WSUM(mv, invalid),
	       (unsigned long long)WSUM(mv, errors), (unsigned long long)WSUM(mv, twice));
	printf("checked        %llu transactions in %llu check / %llu resolve batches, %llu failed\n",
	       (unsigned long long)WSUM(mv, check_txs), (unsigned long long)WSUM(mv, check_batches),
	       (unsigned long long)WSUM(mv, resolve_batches),
	       (unsigned long long)WSUM(mv, check_failed));
	printf("included       %llu, not included %llu", (unsigned long long)WSUM(mv, included),
	       (unsigned long long)WSUM(mv, not_included));
	for (unsigned r = 1; r < 128; r++)
		if (reasons[r])
			printf(" [%s %llu]", reason_key(mv, r, key, sizeof(key)),
			       (unsigned long long)reasons[r]);
	printf("\nexceeded       %llu batches past max_working_slot; %llu partially cancelled\n",
	       (unsigned long long)WSUM(mv, exceeded), (unsigned long long)WSUM(mv, partial));
	printf("not freed      %llu transactions/keys of worker 0, %llu responses of workers\n",
	       (unsigned long long)oc->in_use_tpu, (unsigned long long)oc->in_use_workers);
	printf("throughput     %.0f tx/s (%.3f s from first send to last answer)\n",
	       secs > 0 ? (double)unique / secs : 0, secs);
	printf("status         %s\n", oc->status);
}

/* The lightweight threads: tpu and w<i> (xs_tasks_std()), progress (light),
 * then c<j> per check worker. @return the count or a negative error. */
static int mv_tasks(struct xs_task *tasks, int max, uint32_t W, uint32_t C)
{
	int nt = xs_tasks_std(tasks, max, (int)W);

	if (nt < 0)
		return nt;
	if (nt + 1 + (int)C > max)
		return -EINVAL;
	memset(&tasks[nt], 0, sizeof(tasks[nt]));
	tasks[nt].kind = XS_TASK_EXTRA;
	tasks[nt].flags = XS_TASK_LIGHT; /* one message every few ms: no core of its own */
	snprintf(tasks[nt].name, sizeof(tasks[nt].name), "progress");
	nt++;
	for (uint32_t j = 0; j < C; j++, nt++) {
		memset(&tasks[nt], 0, sizeof(tasks[nt]));
		tasks[nt].kind = XS_TASK_EXTRA;
		tasks[nt].index = (int)j;
		snprintf(tasks[nt].name, sizeof(tasks[nt].name), "c%u", j);
	}
	return nt;
}

#define MAX_TASKS (2 + XS_HS_MAX_WORKERS + MAX_CHECK_WORKERS)

static int build_runtime(struct mv *mv, struct xs_topo *topo, struct xs_plan **plan,
			 struct xs_rt **rt)
{
	const struct mv_opts *o = &mv->o;
	struct xs_task tasks[MAX_TASKS];
	struct xs_lthread_spec specs[MAX_TASKS];
	struct xs_mem_loc loc;
	int nt, rc, mem_node = -1;

	nt = mv_tasks(tasks, MAX_TASKS, mv->nw, mv->nc);
	if (nt < 0)
		return nt;
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
		} else if (pt->task.name[0] == 'c') {
			specs[i].poll = worker_poll;
			specs[i].arg = &mv->w[mv->nw + (uint32_t)pt->task.index];
		} else {
			specs[i].poll = progress_poll;
			specs[i].arg = &mv->prog;
		}
	}
	rc = xs_rt_add_plan(*rt, *plan, specs);
	return rc < 0 ? rc : 0;
}

/* Wire the per-lthread state to the session. @return 0 or a negative error. */
static int setup_state(struct mv *mv)
{
	const struct mv_opts *o = &mv->o;
	struct xs_vsession *vs = mv->vs;
	uint64_t words = (o->txs + 63) / 64;

	mv->nw = vs->num_workers;
	mv->nc = vs->has_check_queues ? vs->num_check_workers : 0;
	if (mv->nc && (!vs->check_workers || !vs->check_allocs))
		return xs_seterr(-XS_E_INTERNAL, "the session has %u check workers but no queue "
				 "handles or allocator handles for them", mv->nc);
	mv->seen = calloc(words, sizeof(uint64_t));
	mv->executed = calloc(words, sizeof(uint64_t));
	mv->chk_failed = calloc(words, sizeof(uint64_t));
	mv->w = aligned_alloc(XS_CACHE_LINE, sizeof(*mv->w) * (mv->nw + mv->nc));
	if (!mv->seen || !mv->executed || !mv->chk_failed || !mv->w)
		return xs_seterr(-ENOMEM, "bookkeeping for %llu transactions",
				 (unsigned long long)o->txs);
	memset(mv->w, 0, sizeof(*mv->w) * (mv->nw + mv->nc));
	mv->tpu.mv = mv;
	mv->tpu.alloc = vs->tpu_alloc;
	mv->tpu.q = &vs->tpu_to_pack;
	mv->prog.mv = mv;
	mv->prog.q = &vs->progress;
	mv->prog.slot = UINT64_MAX;
	for (uint32_t i = 0; i < mv->nw + mv->nc; i++) {
		struct mv_worker *w = &mv->w[i];

		w->mv = mv;
		if (i < mv->nw) {
			w->index = (int)i;
			w->alloc = vs->worker_allocs[i];
			w->p2w = &vs->workers[i].pack_to_worker;
			w->w2p = &vs->workers[i].worker_to_pack;
			w->req_type = XS_MSG_PACK_TO_WORKER;
		} else {
			uint32_t j = i - mv->nw;

			w->index = (int)j;
			w->check = true;
			w->alloc = vs->check_allocs[j];
			w->p2c = &vs->check_workers[j].pack_to_check;
			w->c2p = &vs->check_workers[j].check_to_pack;
			w->req_type = XS_MSG_PACK_TO_CHECK;
		}
	}
	mv->bank = o->first_slot << 2 | BANK_READY;
	/* votes: never in VERSION 1 (3.1.x connects the non-vote channel
	 * only), on request in VERSION 2, always from VERSION 3 on */
	mv->votes_to_pack = vs->proto->gen >= XS_HS_GEN_V3 ||
			    (vs->proto->gen == XS_HS_GEN_V2 && (vs->logon.flags & XS_LOGON_REROUTE_VOTES));
	if (o->vote > 0 && !mv->votes_to_pack)
		xs_tool_note("votes do not reach pack in this session (%s%s): --vote-share ignored",
			     xs_tool_gen_label(&o->gen),
			     vs->proto->gen == XS_HS_GEN_V2 ? " without REROUTE_VOTES" : "");
	return 0;
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
	mv.b = o->gen.b;
	mv.bid = o->gen.bindings;

	if ((rc = xs_rt_opts_topo(&o->rt, &topo)) < 0)
		return xs_tool_fail(rc, "load the topology");

	memset(&so, 0, sizeof(so));
	so.path = o->socket;
	so.version = o->gen.proto->version;
	so.replace_stale = o->replace;
	so.check_workers = o->check_workers; /* VERSION 5 only: its logon has no count */
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
	 * smallest session (one worker, the check workers it has at least)
	 * must be plannable, or none is */
	{
		struct xs_task tasks[MAX_TASKS];
		uint32_t C = o->gen.proto->gen == XS_HS_GEN_V5 ? o->check_workers
			     : xs_tool_gen_has_check(&o->gen) ? 1 : 0;
		int nt = mv_tasks(tasks, MAX_TASKS, 1, C);

		if (nt < 0) {
			xs_topo_destroy(topo);
			return xs_tool_fail(nt, "list the lightweight threads");
		}
		xs_tool_check_plan(&o->rt, topo, tasks, nt, o->mem_node);
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
		xs_tool_note("listening on %s (protocol %s, bindings %s), session memory bound "
			     "to node %d", o->socket, o->gen.proto->name, o->gen.b->name,
			     o->mem_node);
	else
		xs_tool_note("listening on %s (protocol %s, bindings %s)", o->socket,
			     o->gen.proto->name, o->gen.b->name);
	rc = xs_hs_server_serve(srv, o->accept_ms ? xs_tool_now_ns() + o->accept_ms * 1000000ull : 0,
				&mv.vs);
	g_srv = NULL;
	xs_hs_server_close(srv);
	if (rc < 0) {
		xs_topo_destroy(topo);
		return xs_tool_fail(rc, "wait for a scheduler");
	}
	xs_tool_note("session: pid %d, %u workers, %u check workers, %llu-byte allocator, %s",
		     (int)mv.vs->peer_pid, mv.vs->num_workers,
		     mv.vs->has_check_queues ? mv.vs->num_check_workers : 0,
		     (unsigned long long)mv.vs->allocator_size,
		     mv.vs->backend == XS_HS_BACKEND_URING ? "io_uring" : "poll");

	if ((rc = setup_state(&mv)) < 0) {
		exit_code = xs_tool_fail(rc, "set up the mock validator");
		goto out;
	}
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
		for (uint32_t i = 0; i < mv.nw; i++)
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
			xs_tool_note("sent %llu, back %llu, checked %llu, mismatches %llu",
				     (unsigned long long)LD(mv.tpu.sent),
				     (unsigned long long)WSUM(&mv, unique),
				     (unsigned long long)WSUM(&mv, check_txs),
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
	for (uint32_t i = 0; i < mv.nw + mv.nc; i++) {
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
	free(mv.chk_failed);
	free(mv.w);
	return exit_code;
}
