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

/* ------------------------------------------------------ message readers */
/*
 * The validators read the message bytes of any bindings version through
 * the offsets of its table (xsched/msg.h, struct xs_bindings) rather than
 * through one C struct per version: one code path for every version. The
 * structs are native little-endian repr(C), so a field is a memcpy.
 */

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static unsigned rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static const char *const msg_names[XS_MSG_TYPES] = {
	"tpu_to_pack", "progress", "pack_to_worker", "worker_to_pack", "pack_to_check_worker",
	"check_worker_to_pack", "execution response", "check response",
};

/* The table of bindings @p id, which must have message @p type. */
static int table(unsigned id, unsigned type, const struct xs_bindings **b)
{
	*b = xs_bindings_get(id);
	if (XS_UNLIKELY(!*b))
		return xs_seterr(-XS_EMSG_VERSION, "bindings version %u unknown", id);
	if (XS_UNLIKELY(type >= XS_MSG_TYPES || !(*b)->size[type]))
		return xs_seterr(-XS_EMSG_VERSION, "bindings %s has no %s message", (*b)->name,
				 type < XS_MSG_TYPES ? msg_names[type] : "such");
	return 0;
}

/* Every bit a named set of @p b defines. */
static unsigned set_bits(const struct xs_bindings *b, enum xs_meaning m)
{
	unsigned bits = 0, i;

	for (i = 0; i < b->nmeaning[m]; i++)
		bits |= b->meaning[m][i].value;
	return bits;
}

/* Byte offset of the batch region in a request of @p type
 * (PackToCheckWorkerMessage of bindings 6 is 24 bytes: batch at 8). */
static unsigned req_batch_off(const struct xs_bindings *b, unsigned type)
{
	return b->size[type] == 24 ? 8 : 16;
}

/* Kind of a request of @p type with @p flags, and the bits that kind allows. */
static unsigned req_kind(const struct xs_bindings *b, unsigned type, unsigned flags,
			 unsigned *allowed)
{
	unsigned kind;

	if (b->split) /* bindings 6: the queue says it */
		kind = type == XS_MSG_PACK_TO_CHECK ? XS_REQ_CHECK : XS_REQ_EXECUTE;
	else
		kind = (flags & b->kind_mask) == b->kind_exec ? XS_REQ_EXECUTE : XS_REQ_CHECK;
	*allowed = kind == XS_REQ_EXECUTE ? b->exec_allowed : b->check_allowed;
	return kind;
}

static const char *kind_name(const struct xs_bindings *b, unsigned kind)
{
	if (kind == XS_REQ_EXECUTE)
		return "execute";
	return b->id == XS_BIND_3_1 ? "resolve" : "check";
}

/* -------------------------------------------------------------- messages */

int xs_msg_check_progress_b(unsigned bindings, const void *m)
{
	const struct xs_bindings *b;
	const uint8_t *p = m;
	unsigned state, prog;
	int err = table(bindings, XS_MSG_PROGRESS, &b);

	if (err)
		return err;
	/* current_slot_progress: @40 in the 48-byte layout, @1 from VERSION 4 */
	state = p[0];
	prog = b->size[XS_MSG_PROGRESS] == 48 ? p[40] : p[1];
	if (XS_UNLIKELY(state > b->leader_state_max))
		return xs_seterr(-XS_EMSG_LEADER_STATE,
				 "progress: leader_state %u, bindings %s defines 0..%u", state, b->name,
				 b->leader_state_max);
	if (XS_UNLIKELY(prog > 100))
		return xs_seterr(-XS_EMSG_PROGRESS, "progress: current_slot_progress %u %%", prog);
	return 0;
}

int xs_msg_check_progress(const struct xs_progress *m, uint32_t hs_version)
{
	/* the 48-byte ProgressMessage exists in VERSION 1 - 3 only */
	static const unsigned ids[4] = { 0, XS_BIND_3_1, XS_BIND_V2, XS_BIND_V3 };

	if (hs_version < 1 || hs_version > 3)
		return xs_seterr(-XS_EMSG_VERSION,
				 "progress check: VERSION %u has no 48-byte ProgressMessage", hs_version);
	return xs_msg_check_progress_b(ids[hs_version], m);
}

int xs_msg_check_tpu_b(unsigned bindings, const struct xs_alloc *a, const struct xs_tpu_to_pack *m,
		       const uint8_t **tx)
{
	const struct xs_bindings *b;
	unsigned defined;
	void *p;
	int err = table(bindings, XS_MSG_TPU_TO_PACK, &b);

	if (err)
		return err;
	defined = set_bits(b, XS_M_TPU_FLAGS);
	if (XS_UNLIKELY(m->flags & ~defined))
		return xs_seterr(-XS_EMSG_FLAGS, "tpu_to_pack: flags 0x%02x, defined 0x%02x",
				 m->flags, defined);
	err = region(a, m->transaction.offset, m->transaction.length, "tpu_to_pack transaction", -1,
		     &p);
	if (err)
		return err;
	if (tx)
		*tx = p;
	return 0;
}

int xs_msg_check_tpu(const struct xs_alloc *a, const struct xs_tpu_to_pack *m,
		     const uint8_t **tx)
{
	return xs_msg_check_tpu_b(XS_BIND_V2, a, m, tx);
}

int xs_msg_check_request(unsigned bindings, unsigned type, const struct xs_alloc *a, const void *m,
			 struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH], unsigned *kind)
{
	const struct xs_bindings *b;
	const uint8_t *p = m;
	const char *name;
	uint64_t refs[MAX_REFS], toff;
	unsigned n, i, flags, allowed, k, boff;
	char what[64];
	void *arr;
	int err;

	if (type != XS_MSG_PACK_TO_WORKER && type != XS_MSG_PACK_TO_CHECK)
		return xs_seterr(-XS_EMSG_VERSION, "message type %u is not a request", type);
	err = table(bindings, type, &b);
	if (err)
		return err;
	name = msg_names[type];
	flags = rd16(p);
	k = req_kind(b, type, flags, &allowed);
	if (XS_UNLIKELY(flags & ~allowed))
		return xs_seterr(-XS_EMSG_FLAGS,
				 "%s: flags 0x%04x, a%s %s request of bindings %s allows 0x%04x", name,
				 flags, k == XS_REQ_EXECUTE ? "n" : "", kind_name(b, k), b->name,
				 allowed);
	boff = req_batch_off(b, type);
	n = p[boff];
	toff = rd64(p + boff + 8);
	err = batch_count(n, name);
	if (err)
		return err;
	snprintf(what, sizeof(what), "%s batch array", name);
	err = region(a, toff, (uint64_t)n * sizeof(struct xs_tx_region), what, -1, &arr);
	if (err)
		return err;
	/* Private copy first: the peer can rewrite the array at any time. */
	memcpy(txs, arr, n * sizeof(struct xs_tx_region));
	refs[0] = toff;
	snprintf(what, sizeof(what), "%s transaction", name);
	for (i = 0; i < n; i++) {
		err = region(a, txs[i].offset, txs[i].length, what, (int)i, NULL);
		if (err)
			return err;
		refs[1 + i] = txs[i].offset;
	}
	err = distinct(refs, 1 + n, name);
	if (err)
		return err;
	if (kind)
		*kind = k;
	return (int)n;
}

int xs_msg_check_pack_to_worker(const struct xs_alloc *a, const struct xs_pack_to_worker *m,
				struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH])
{
	return xs_msg_check_request(XS_BIND_V2, XS_MSG_PACK_TO_WORKER, a, m, txs, NULL);
}

/* What resp_core() found (filled as far as it got). */
struct resp_out {
	uint64_t batch_offset, responses_offset;
	uint32_t num, npk;
	uint8_t status, code, has_responses, kind;
	uint16_t elem_size;
	uint64_t *pk; /* [XS_MAX_TXS_PER_BATCH] pubkeys arrays to free */
};

/* One resolved_pubkeys reference at @p r + @p at of response @p i. */
static int pubkeys(const struct xs_alloc *a, const uint8_t *r, unsigned at, unsigned i,
		   const char *name, uint64_t *refs, size_t *nrefs, struct resp_out *o)
{
	uint64_t off = rd64(r + at);
	uint32_t cnt = rd32(r + at + 8);
	char what[64];
	int err;

	if (cnt == 0)
		return 0; /* nothing allocated, nothing to free */
	if (XS_UNLIKELY(cnt > XS_MAX_PUBKEYS))
		return xs_seterr(-XS_EMSG_PUBKEYS,
				 "%s response[%u]: %u resolved pubkeys, one allocation holds at most %u",
				 name, i, cnt, XS_MAX_PUBKEYS);
	snprintf(what, sizeof(what), "%s resolved_pubkeys", name);
	err = region(a, off, (uint64_t)cnt * 32u, what, (int)i, NULL);
	if (err)
		return err;
	refs[(*nrefs)++] = off;
	o->pk[o->npk++] = off;
	return 0;
}

/* The elements of a copied response array. */
static int check_elems(const struct xs_bindings *b, const struct xs_alloc *a, const char *name,
		       const uint8_t *copy, unsigned n, unsigned kind, unsigned esz, uint64_t *refs,
		       size_t *nrefs, struct resp_out *o)
{
	unsigned i, j;
	int err;

	for (i = 0; i < n; i++) {
		const uint8_t *r = copy + (size_t)i * esz;

		if (kind == XS_REQ_EXECUTE) {
			/* not_included_reason: @0 (24 bytes), @8 after execution_slot */
			unsigned reason = r[esz == 24 ? 0 : 8];

			if (XS_UNLIKELY(!xs_bindings_reason_known(b, reason)))
				return xs_seterr(-XS_EMSG_REASON,
						 "%s execution response[%u]: not_included_reason %u "
						 "(not defined by bindings %s)", name, i, reason, b->name);
			continue;
		}
		if (b->id == XS_BIND_3_1) {
			/* Resolved: success 0/1, keys @24 whenever num_pubkeys != 0 */
			if (XS_UNLIKELY(r[0] > XS_V1_RESOLVE_SUCCESS))
				return xs_seterr(-XS_EMSG_CHECK_FLAGS,
						 "%s resolved response[%u]: success %u (defined 0, 1)",
						 name, i, r[0]);
			err = pubkeys(a, r, 24, i, name, refs, nrefs, o);
			if (err)
				return err;
			continue;
		}
		/* CheckResponse: flag bytes 0..3 (and 4 in the 96-byte layout) */
		for (j = 0; j < 5; j++) {
			if (j == 4 && esz != 96)
				break;
			if (XS_UNLIKELY(r[j] & ~b->check_bits[j]))
				return xs_seterr(-XS_EMSG_CHECK_FLAGS,
						 "%s check response[%u]: flags %02x %02x %02x %02x %02x "
						 "(defined %02x %02x %02x %02x %02x)",
						 name, i, r[0], r[1], r[2], r[3], esz == 96 ? r[4] : 0,
						 b->check_bits[0], b->check_bits[1], b->check_bits[2],
						 b->check_bits[3], b->check_bits[4]);
		}
		/* resolved_pubkeys is defined only when resolution was performed */
		if (!(r[3] & XS_RESOLVE_PERFORMED))
			continue;
		err = pubkeys(a, r, esz == 96 ? 80 : 48, i, name, refs, nrefs, o);
		if (err)
			return err;
	}
	return 0;
}

/*
 * An answer of bindings @p b: WorkerToPack-shaped bytes @p m (batch @0,
 * code @16, response region @24), @p sent the request or NULL. The response
 * array is copied into @p copy (room for 64 elements of the version's size).
 */
static int resp_core(const struct xs_bindings *b, unsigned type, const struct xs_alloc *a,
		     const uint8_t *m, const uint8_t *sent, struct resp_out *o, uint8_t *copy)
{
	const char *name = msg_names[type];
	unsigned reqtype = type == XS_MSG_CHECK_TO_PACK ? XS_MSG_PACK_TO_CHECK : XS_MSG_PACK_TO_WORKER;
	unsigned n = m[0], code = m[16], status, k, cnt, esz, allowed;
	uint64_t refs[MAX_REFS], boff = rd64(m + 8), roff = rd64(m + 32);
	size_t nrefs = 0;
	char what[64];
	void *p;
	int err;

	o->num = 0;
	o->npk = 0;
	o->has_responses = 0;
	status = xs_bindings_status(b, code);
	if (XS_UNLIKELY(status == XS_RESP_ST_UNKNOWN))
		return xs_seterr(-XS_EMSG_PROCESSED, "%s: processed code %u unknown to bindings %s",
				 name, code, b->name);
	err = batch_count(n, name);
	if (err)
		return err;
	if (sent) {
		const uint8_t *sb = sent + req_batch_off(b, reqtype);

		if (sb[0] != n || rd64(sb + 8) != boff)
			return xs_seterr(-XS_EMSG_MISMATCH,
					 "%s: echoed batch {%u at %" PRIu64
					 "} is not the batch sent {%u at %" PRIu64 "}",
					 name, n, boff, sb[0], rd64(sb + 8));
	}
	snprintf(what, sizeof(what), "%s batch array", name);
	err = region(a, boff, (uint64_t)n * sizeof(struct xs_tx_region), what, -1, NULL);
	if (err)
		return err;
	refs[nrefs++] = boff;
	o->batch_offset = boff;
	o->status = (uint8_t)status;
	o->code = (uint8_t)code;
	o->num = n;
	if (status != XS_RESP_ST_PROCESSED)
		return 0; /* responses are undefined: nothing more to look at or free */

	if (b->tagged) {
		unsigned tag = m[24];

		cnt = m[25];
		if (tag == b->tag_exec)
			k = XS_REQ_EXECUTE;
		else if (tag == b->tag_check)
			k = XS_REQ_CHECK;
		else
			return xs_seterr(-XS_EMSG_TAG, "%s: response tag %u unknown to bindings %s",
					 name, tag, b->name);
		if (sent) {
			unsigned want = req_kind(b, reqtype, rd16(sent), &allowed);

			if (XS_UNLIKELY(k != want))
				return xs_seterr(-XS_EMSG_TAG, "%s: %s responses to a%s %s request",
						 name, k == XS_REQ_EXECUTE ? "execution" :
						 b->id == XS_BIND_3_1 ? "resolved" : "check",
						 want == XS_REQ_EXECUTE ? "n" : "", kind_name(b, want));
		}
	} else {
		cnt = m[24];
		k = type == XS_MSG_CHECK_TO_PACK ? XS_REQ_CHECK : XS_REQ_EXECUTE;
	}
	if (XS_UNLIKELY(cnt != n))
		return xs_seterr(-XS_EMSG_COUNT, "%s: %u responses for a batch of %u transactions",
				 name, cnt, n);
	esz = b->size[k == XS_REQ_EXECUTE ? XS_MSG_EXEC_RESPONSE : XS_MSG_CHECK_RESPONSE];
	snprintf(what, sizeof(what), "%s response array", name);
	err = region(a, roff, (uint64_t)n * esz, what, -1, &p);
	if (err)
		return err;
	/* Private copy first: the peer can rewrite the array at any time. */
	memcpy(copy, p, (size_t)n * esz);
	refs[nrefs++] = roff;
	err = check_elems(b, a, name, copy, n, k, esz, refs, &nrefs, o);
	if (err)
		return err;
	err = distinct(refs, nrefs, name);
	if (err)
		return err;
	o->kind = (uint8_t)k;
	o->elem_size = (uint16_t)esz;
	o->responses_offset = roff;
	o->has_responses = 1;
	return 0;
}

int xs_msg_check_worker_to_pack(const struct xs_alloc *a, const struct xs_worker_to_pack *m,
				const struct xs_pack_to_worker *sent, struct xs_w2p_view *out)
{
	uint64_t pk[XS_MAX_TXS_PER_BATCH];
	struct resp_out o = { .pk = pk };
	int err;

	/* VERSION 2: at most 64 x 64 bytes, the size of out->resp */
	err = resp_core(xs_bindings_get(XS_BIND_V2), XS_MSG_WORKER_TO_PACK, a, (const uint8_t *)m,
			(const uint8_t *)sent, &o, (uint8_t *)&out->resp);
	out->batch_offset = o.batch_offset;
	out->responses_offset = o.responses_offset;
	out->num = o.num;
	out->processed_code = o.code;
	out->has_responses = !err && o.has_responses;
	out->tag = o.kind == XS_REQ_CHECK ? XS_RESP_CHECK : XS_RESP_EXECUTION;
	out->num_pubkeys_arrays = (uint8_t)o.npk;
	if (err) {
		out->num = 0;
		out->num_pubkeys_arrays = 0;
	}
	return err;
}

int xs_msg_check_response(unsigned bindings, unsigned type, const struct xs_alloc *a, const void *m,
			  const void *sent, struct xs_resp_view *out)
{
	const struct xs_bindings *b;
	struct resp_out o = { .pk = out->pubkeys };
	int err;

	out->num = 0;
	out->has_responses = 0;
	out->num_pubkeys_arrays = 0;
	if (type != XS_MSG_WORKER_TO_PACK && type != XS_MSG_CHECK_TO_PACK)
		return xs_seterr(-XS_EMSG_VERSION, "message type %u is not an answer", type);
	err = table(bindings, type, &b);
	if (err)
		return err;
	err = resp_core(b, type, a, m, sent, &o, out->resp.raw);
	out->bindings = (uint8_t)bindings;
	out->type = (uint8_t)type;
	out->batch_offset = o.batch_offset;
	out->responses_offset = o.responses_offset;
	out->status = o.status;
	out->code = o.code;
	out->kind = o.kind;
	out->elem_size = o.elem_size;
	if (err)
		return err;
	out->num = o.num;
	out->has_responses = o.has_responses;
	out->num_pubkeys_arrays = o.npk;
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

/*
 * An answer hands back @p batch and hands over @p taken[0..nt) (response
 * array, pubkeys arrays): all or nothing, the message named @p name.
 */
static int accept_core(struct xs_ledger *l, uint64_t batch, const uint64_t *taken, unsigned nt,
		       const char *name)
{
	int prev[1 + XS_MAX_TXS_PER_BATCH];
	char msg[512];
	unsigned i;
	int err;

	err = xs_ledger_unlend(l, batch);
	if (err)
		return err;
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
	xs_ledger_lend(l, batch);
	return xs_seterr(err, "%s refused by the ledger: %s", name, msg);
}

int xs_guard_accept_w2p(struct xs_ledger *l, const struct xs_w2p_view *v)
{
	uint64_t taken[1 + XS_MAX_TXS_PER_BATCH];
	unsigned i, nt = 0;

	if (v->has_responses) {
		taken[nt++] = v->responses_offset;
		for (i = 0; v->tag == XS_RESP_CHECK && i < v->num && i < XS_MAX_TXS_PER_BATCH; i++) {
			const struct xs_check_resp *c = &v->resp.check[i];

			if ((c->resolve_flags & XS_RESOLVE_PERFORMED) && c->resolved_pubkeys.num_pubkeys)
				taken[nt++] = c->resolved_pubkeys.offset;
		}
	}
	return accept_core(l, v->batch_offset, taken, nt, "worker_to_pack");
}

int xs_guard_accept_resp(struct xs_ledger *l, const struct xs_resp_view *v)
{
	uint64_t taken[1 + XS_MAX_TXS_PER_BATCH];
	unsigned i, nt = 0;

	if (v->has_responses) {
		taken[nt++] = v->responses_offset;
		for (i = 0; i < v->num_pubkeys_arrays && i < XS_MAX_TXS_PER_BATCH; i++)
			taken[nt++] = v->pubkeys[i];
	}
	return accept_core(l, v->batch_offset, taken, nt,
			   v->type < XS_MSG_TYPES ? msg_names[v->type] : "answer");
}

int xs_guard_lend_request(struct xs_ledger *l, unsigned bindings, unsigned type, const void *m)
{
	const struct xs_bindings *b;
	int err;

	if (type != XS_MSG_PACK_TO_WORKER && type != XS_MSG_PACK_TO_CHECK)
		return xs_seterr(-XS_EMSG_VERSION, "message type %u is not a request", type);
	err = table(bindings, type, &b);
	if (err)
		return err;
	return xs_ledger_lend(l, rd64((const uint8_t *)m + req_batch_off(b, type) + 8));
}

int xs_guard_free(struct xs_ledger *l, struct xs_alloc *a, uint64_t off)
{
	int err = xs_ledger_release(l, off);

	if (err)
		return err;
	return xs_alloc_free_offset(a, off);
}
