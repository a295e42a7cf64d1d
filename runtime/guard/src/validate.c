/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation of every message a peer writes, and the ledger steps of the
 * ownership flow. See guard.h for the rules; in short: work on private
 * copies, let the allocator bounds-check every reference, report the first
 * violation with the numbers that make it one.
 */
#include "xsched/guard.h"
#include "xsched/alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

XS_LINK_ERROR_TEXTS(xs_strerror_msg);

/* Static links: pull the error texts of this module in with this object
 * (xs_strerror() only refers to them weakly). */
static const void *const keep_strerror_ __attribute__((used)) = (const void *)xs_strerror_msg;

/* Bits each flag field may carry (MESSAGES.md §2, §3). */
#define TPU_FLAGS_ALL  (XS_TPU_FLAG_IS_SIMPLE_VOTE | XS_TPU_FLAG_FORWARDED | XS_TPU_FLAG_FROM_STAKED_NODE)
#define EXEC_FLAGS_ALL (XS_PACK_EXECUTE | XS_EXEC_DROP_ON_FAILURE | XS_EXEC_ALL_OR_NOTHING)
#define CHECK_FLAGS_ALL                                                                  \
	(XS_CHECK_STATUS_CHECKS | XS_CHECK_LOAD_FEE_PAYER_BALANCE |                       \
	 XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES)
#define PARSE_BITS   XS_PARSE_FAILED
#define STATUS_BITS                                                                      \
	(XS_STATUS_REQUESTED | XS_STATUS_PERFORMED | XS_STATUS_TOO_OLD |                  \
	 XS_STATUS_ALREADY_PROCESSED | XS_STATUS_INVALID_NONCE)
#define BALANCE_BITS (XS_BALANCE_REQUESTED | XS_BALANCE_PERFORMED)
#define RESOLVE_BITS (XS_RESOLVE_REQUESTED | XS_RESOLVE_PERFORMED | XS_RESOLVE_FAILED)

/* Most references one message can make: batch array, response array and
 * one pubkeys array per response; or a batch array and 64 transactions. */
#define MAX_REFS (2 + XS_MAX_TXS_PER_BATCH)

/*
 * Check one reference with the allocator. On failure the allocator's code
 * is returned with a message naming the field (@p what, @p idx >= 0 adds
 * "[idx]") and keeping the allocator's own detail.
 */
static int region(const struct xs_alloc *a, uint64_t off, uint64_t len, const char *what, int idx,
		  void **ptr)
{
	char detail[256];
	void *p;
	int err;

	xs_clearerr();
	err = xs_alloc_check(a, off, (size_t)len, &p);
	if (XS_LIKELY(err == 0)) {
		if (ptr)
			*ptr = p;
		return 0;
	}
	snprintf(detail, sizeof(detail), "%s", xs_errmsg());
	if (idx >= 0)
		return xs_seterr(err, "%s[%d]: offset %" PRIu64 " length %" PRIu64 " refused: %s%s%s",
				 what, idx, off, len, xs_strerror(err), detail[0] ? ": " : "",
				 detail);
	return xs_seterr(err, "%s: offset %" PRIu64 " length %" PRIu64 " refused: %s%s%s", what,
			 off, len, xs_strerror(err), detail[0] ? ": " : "", detail);
}

static void sort_u64(uint64_t *v, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++) { /* insertion sort: n <= 66 */
		uint64_t x = v[i];

		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* Every reference of one message names a distinct allocation. Checked
 * references start at slots, so two names of one allocation are equal. */
static int distinct(uint64_t *refs, size_t n, const char *msg)
{
	size_t i;

	sort_u64(refs, n);
	for (i = 1; i < n; i++)
		if (refs[i] == refs[i - 1])
			return xs_seterr(-XS_EMSG_DUP,
					 "%s references the allocation at offset %" PRIu64 " twice",
					 msg, refs[i]);
	return 0;
}

static int batch_count(unsigned n, const char *msg)
{
	if (XS_UNLIKELY(n == 0))
		return xs_seterr(-XS_EMSG_BATCH_EMPTY, "%s: batch with 0 transactions", msg);
	if (XS_UNLIKELY(n > XS_MAX_TXS_PER_BATCH))
		return xs_seterr(-XS_EMSG_BATCH_SIZE,
				 "%s: batch with %u transactions, at most %d allowed", msg, n,
				 XS_MAX_TXS_PER_BATCH);
	return 0;
}

static int reason_known(unsigned r)
{
	return r == XS_NIR_NONE || r == XS_NIR_BANK_NOT_AVAILABLE ||
	       r == XS_NIR_ALL_OR_NOTHING_BATCH_FAILURE ||
	       (r >= XS_NIR_ACCOUNT_IN_USE && r <= XS_NIR_PROGRAM_CACHE_HIT_MAX_LIMIT);
}

/* -------------------------------------------------------------- messages */

int xs_msg_check_progress(const struct xs_progress *m, uint32_t hs_version)
{
	unsigned max_state;

	if (hs_version == 1 || hs_version == 2)
		max_state = XS_LEADER_IS_LEADER;
	else if (hs_version == 3)
		max_state = 2; /* VERSION 3: NOT_LEADER, LEADER_STARTING, LEADER_READY */
	else
		return xs_seterr(-XS_EMSG_VERSION, "progress check: VERSION %u unknown", hs_version);
	if (XS_UNLIKELY(m->leader_state > max_state))
		return xs_seterr(-XS_EMSG_LEADER_STATE,
				 "progress: leader_state %u, VERSION %u defines 0..%u",
				 m->leader_state, hs_version, max_state);
	if (XS_UNLIKELY(m->current_slot_progress > 100))
		return xs_seterr(-XS_EMSG_PROGRESS, "progress: current_slot_progress %u %%",
				 m->current_slot_progress);
	return 0;
}

int xs_msg_check_tpu(const struct xs_alloc *a, const struct xs_tpu_to_pack *m,
		     const uint8_t **tx)
{
	void *p;
	int err;

	if (XS_UNLIKELY(m->flags & ~TPU_FLAGS_ALL))
		return xs_seterr(-XS_EMSG_FLAGS, "tpu_to_pack: flags 0x%02x, defined 0x%02x",
				 m->flags, TPU_FLAGS_ALL);
	err = region(a, m->transaction.offset, m->transaction.length, "tpu_to_pack transaction", -1,
		     &p);
	if (err)
		return err;
	if (tx)
		*tx = p;
	return 0;
}

int xs_msg_check_pack_to_worker(const struct xs_alloc *a, const struct xs_pack_to_worker *m,
				struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH])
{
	uint64_t refs[MAX_REFS];
	unsigned n = m->batch.num_transactions, i, allowed;
	void *p;
	int err;

	allowed = (m->flags & XS_PACK_EXECUTE) ? EXEC_FLAGS_ALL : CHECK_FLAGS_ALL;
	if (XS_UNLIKELY(m->flags & ~allowed))
		return xs_seterr(-XS_EMSG_FLAGS,
				 "pack_to_worker: flags 0x%04x, a %s request allows 0x%04x",
				 m->flags, (m->flags & XS_PACK_EXECUTE) ? "execute" : "check",
				 allowed);
	err = batch_count(n, "pack_to_worker");
	if (err)
		return err;
	err = region(a, m->batch.transactions_offset, (uint64_t)n * sizeof(struct xs_tx_region),
		     "pack_to_worker batch array", -1, &p);
	if (err)
		return err;
	/* Private copy first: the peer can rewrite the array at any time. */
	memcpy(txs, p, n * sizeof(struct xs_tx_region));
	refs[0] = m->batch.transactions_offset;
	for (i = 0; i < n; i++) {
		err = region(a, txs[i].offset, txs[i].length, "pack_to_worker transaction", (int)i,
			     NULL);
		if (err)
			return err;
		refs[1 + i] = txs[i].offset;
	}
	err = distinct(refs, 1 + n, "pack_to_worker");
	return err ? err : (int)n;
}

static int check_exec(const struct xs_exec_resp *r, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (XS_UNLIKELY(!reason_known(r[i].not_included_reason)))
			return xs_seterr(-XS_EMSG_REASON,
					 "worker_to_pack execution response[%u]: not_included_reason %u",
					 i, r[i].not_included_reason);
	return 0;
}

static int check_check(const struct xs_alloc *a, const struct xs_check_resp *r, unsigned n,
		       uint64_t *refs, size_t *nrefs, uint8_t *npk)
{
	unsigned i;
	int err;

	*npk = 0;
	for (i = 0; i < n; i++) {
		const struct xs_check_resp *c = &r[i];

		if (XS_UNLIKELY((c->parsing_and_sanitization_flags & ~PARSE_BITS) ||
				(c->status_check_flags & ~STATUS_BITS) ||
				(c->fee_payer_balance_flags & ~BALANCE_BITS) ||
				(c->resolve_flags & ~RESOLVE_BITS)))
			return xs_seterr(-XS_EMSG_CHECK_FLAGS,
					 "worker_to_pack check response[%u]: flags %02x %02x %02x %02x "
					 "(defined %02x %02x %02x %02x)",
					 i, c->parsing_and_sanitization_flags, c->status_check_flags,
					 c->fee_payer_balance_flags, c->resolve_flags, PARSE_BITS,
					 STATUS_BITS, BALANCE_BITS, RESOLVE_BITS);
		/* resolved_pubkeys is defined only when resolution was performed */
		if (!(c->resolve_flags & XS_RESOLVE_PERFORMED) || c->resolved_pubkeys.num_pubkeys == 0)
			continue;
		if (XS_UNLIKELY(c->resolved_pubkeys.num_pubkeys > XS_MAX_PUBKEYS))
			return xs_seterr(-XS_EMSG_PUBKEYS,
					 "worker_to_pack check response[%u]: %u resolved pubkeys, "
					 "one allocation holds at most %u",
					 i, c->resolved_pubkeys.num_pubkeys, XS_MAX_PUBKEYS);
		err = region(a, c->resolved_pubkeys.offset,
			     (uint64_t)c->resolved_pubkeys.num_pubkeys * 32u,
			     "worker_to_pack resolved_pubkeys", (int)i, NULL);
		if (err)
			return err;
		refs[(*nrefs)++] = c->resolved_pubkeys.offset;
		(*npk)++;
	}
	return 0;
}

int xs_msg_check_worker_to_pack(const struct xs_alloc *a, const struct xs_worker_to_pack *m,
				const struct xs_pack_to_worker *sent, struct xs_w2p_view *out)
{
	uint64_t refs[MAX_REFS];
	size_t nrefs = 0, esz;
	unsigned n = m->batch.num_transactions;
	void *p;
	int err;

	out->num = 0;
	out->has_responses = 0;
	out->num_pubkeys_arrays = 0;
	if (XS_UNLIKELY(m->processed_code > XS_MAX_WORKING_SLOT_EXCEEDED))
		return xs_seterr(-XS_EMSG_PROCESSED, "worker_to_pack: processed_code %u unknown",
				 m->processed_code);
	err = batch_count(n, "worker_to_pack");
	if (err)
		return err;
	if (sent && (sent->batch.transactions_offset != m->batch.transactions_offset ||
		     sent->batch.num_transactions != n))
		return xs_seterr(-XS_EMSG_MISMATCH,
				 "worker_to_pack: echoed batch {%u at %" PRIu64
				 "} is not the batch sent {%u at %" PRIu64 "}",
				 n, m->batch.transactions_offset, sent->batch.num_transactions,
				 sent->batch.transactions_offset);
	err = region(a, m->batch.transactions_offset, (uint64_t)n * sizeof(struct xs_tx_region),
		     "worker_to_pack batch array", -1, NULL);
	if (err)
		return err;
	refs[nrefs++] = m->batch.transactions_offset;
	out->batch_offset = m->batch.transactions_offset;
	out->processed_code = m->processed_code;
	out->num = n;
	if (m->processed_code != XS_PROCESSED)
		return 0; /* responses are undefined: nothing more to look at or free */

	if (XS_UNLIKELY(m->responses.tag > XS_RESP_CHECK))
		return xs_seterr(-XS_EMSG_TAG, "worker_to_pack: response tag %u unknown",
				 m->responses.tag);
	if (sent) {
		unsigned want = (sent->flags & XS_PACK_EXECUTE) ? XS_RESP_EXECUTION : XS_RESP_CHECK;

		if (XS_UNLIKELY(m->responses.tag != want))
			return xs_seterr(-XS_EMSG_TAG,
					 "worker_to_pack: %s responses to a %s request",
					 m->responses.tag == XS_RESP_CHECK ? "check" : "execution",
					 want == XS_RESP_CHECK ? "check" : "execute");
	}
	if (XS_UNLIKELY(m->responses.num_transaction_responses != n))
		return xs_seterr(-XS_EMSG_COUNT,
				 "worker_to_pack: %u responses for a batch of %u transactions",
				 m->responses.num_transaction_responses, n);
	esz = m->responses.tag == XS_RESP_CHECK ? sizeof(struct xs_check_resp)
						: sizeof(struct xs_exec_resp);
	err = region(a, m->responses.transaction_responses_offset, (uint64_t)n * esz,
		     "worker_to_pack response array", -1, &p);
	if (err)
		return err;
	/* Private copy first: the peer can rewrite the array at any time. */
	memcpy(&out->resp, p, n * esz);
	refs[nrefs++] = m->responses.transaction_responses_offset;
	if (m->responses.tag == XS_RESP_EXECUTION)
		err = check_exec(out->resp.exec, n);
	else
		err = check_check(a, out->resp.check, n, refs, &nrefs, &out->num_pubkeys_arrays);
	if (err)
		return err;
	err = distinct(refs, nrefs, "worker_to_pack");
	if (err)
		return err;
	out->tag = m->responses.tag;
	out->responses_offset = m->responses.transaction_responses_offset;
	out->has_responses = 1;
	return 0;
}

/* --------------------------------------------------- ledger + allocator */

int xs_ledger_init_alloc(struct xs_ledger *l, const struct xs_alloc *a)
{
	uint64_t base = xs_alloc_slabs_offset(a);

	return xs_ledger_init(l, base,
			      base + (uint64_t)xs_alloc_num_slabs(a) * xs_alloc_slab_size(a));
}

int xs_guard_accept_tpu(struct xs_ledger *l, const struct xs_tpu_to_pack *m)
{
	return xs_ledger_take(l, m->transaction.offset);
}

int xs_guard_lend_batch(struct xs_ledger *l, const struct xs_pack_to_worker *m)
{
	return xs_ledger_lend(l, m->batch.transactions_offset);
}

/* Undo a take: HELD back to the state it had before (NEVER or RELEASED). */
static void untake(struct xs_ledger *l, uint64_t off, int prev)
{
	xs__ledger_move(l, off, 1u << XS_LEDGER_HELD, (unsigned)prev, XS_LEDGER_RELEASE);
}

int xs_guard_accept_w2p(struct xs_ledger *l, const struct xs_w2p_view *v)
{
	uint64_t taken[1 + XS_MAX_TXS_PER_BATCH];
	int prev[1 + XS_MAX_TXS_PER_BATCH];
	char msg[512];
	unsigned i, nt = 0;
	int err;

	err = xs_ledger_unlend(l, v->batch_offset);
	if (err)
		return err;
	if (!v->has_responses)
		return 0;
	taken[0] = v->responses_offset;
	nt = 1;
	if (v->tag == XS_RESP_CHECK) {
		for (i = 0; i < v->num && nt < 1 + XS_MAX_TXS_PER_BATCH; i++) {
			const struct xs_check_resp *c = &v->resp.check[i];

			if ((c->resolve_flags & XS_RESOLVE_PERFORMED) && c->resolved_pubkeys.num_pubkeys)
				taken[nt++] = c->resolved_pubkeys.offset;
		}
	}
	for (i = 0; i < nt; i++) {
		prev[i] = xs_ledger_state(l, taken[i]);
		err = xs_ledger_take(l, taken[i]);
		if (err)
			break;
	}
	if (!err)
		return 0;
	/* All or nothing: undo the takes, lend the batch again, keep the message. */
	snprintf(msg, sizeof(msg), "%s", xs_errmsg());
	while (i-- > 0)
		untake(l, taken[i], prev[i]);
	xs_ledger_lend(l, v->batch_offset);
	return xs_seterr(err, "worker_to_pack refused by the ledger: %s", msg);
}

int xs_guard_free(struct xs_ledger *l, struct xs_alloc *a, uint64_t off)
{
	int err = xs_ledger_release(l, off);

	if (err)
		return err;
	return xs_alloc_free_offset(a, off);
}
