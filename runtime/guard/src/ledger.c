/* SPDX-License-Identifier: Apache-2.0 */
/* Ownership ledger: the cold half (setup, scans, error messages). */
#include "xsched/guard.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

XS_LINK_ERROR_TEXTS(xs_strerror_msg);

/* Static links: pull the error texts of this module in with this object
 * (xs_strerror() only refers to them weakly). */
static const void *const keep_strerror_ __attribute__((used)) = (const void *)xs_strerror_msg;

int xs_ledger_init(struct xs_ledger *l, uint64_t base, uint64_t end)
{
	uint64_t units;

	memset(l, 0, sizeof(*l));
	if (base % XS_LEDGER_UNIT || end <= base)
		return xs_seterr(-EINVAL, "ledger: range [%" PRIu64 ", %" PRIu64 ") unusable", base,
				 end);
	units = (end - base + XS_LEDGER_UNIT - 1) / XS_LEDGER_UNIT;
	if (units / 32 + 1 > SIZE_MAX / sizeof(uint64_t))
		return xs_seterr(-EINVAL, "ledger: range of %" PRIu64 " units too large", units);
	l->nwords = (size_t)((units + 31) / 32);
	/* large ledgers come from mmap inside calloc: untouched pages cost nothing */
	l->words = calloc(l->nwords, sizeof(uint64_t));
	if (!l->words) {
		l->nwords = 0;
		return xs_seterr(-ENOMEM, "ledger: no memory for %zu words", (size_t)((units + 31) / 32));
	}
	l->base = base;
	l->end = end;
	return 0;
}

void xs_ledger_fini(struct xs_ledger *l)
{
	free(l->words);
	memset(l, 0, sizeof(*l));
}

int xs_ledger_state(const struct xs_ledger *l, uint64_t off)
{
	uint64_t rel = off - l->base, w;

	if (off < l->base || off >= l->end || (rel % XS_LEDGER_UNIT))
		return -XS_EMSG_NOT_SLOT;
	rel /= XS_LEDGER_UNIT;
	/* Ordering: Relaxed, a snapshot of one entry (see xs__ledger_move). */
	w = __atomic_load_n(&l->words[rel / 32], __ATOMIC_RELAXED);
	return (int)((w >> ((rel % 32) * 2)) & 3u);
}

size_t xs_ledger_count(const struct xs_ledger *l, enum xs_ledger_state state)
{
	size_t i, n = 0;
	uint64_t units = l->words ? (l->end - l->base + XS_LEDGER_UNIT - 1) / XS_LEDGER_UNIT : 0;

	for (i = 0; i < l->nwords; i++) {
		uint64_t w = __atomic_load_n(&l->words[i], __ATOMIC_RELAXED);
		unsigned k, lim = (unsigned)((units - (uint64_t)i * 32) < 32 ? units - (uint64_t)i * 32 : 32);

		if (state == XS_LEDGER_NEVER && w == 0) {
			n += lim;
			continue;
		}
		for (k = 0; k < lim; k++)
			n += ((w >> (2 * k)) & 3u) == (unsigned)state;
	}
	return n;
}

static const char *state_name(int st)
{
	switch (st) {
	case XS_LEDGER_NEVER: return "never held";
	case XS_LEDGER_HELD: return "held";
	case XS_LEDGER_LENT: return "lent to the peer";
	case XS_LEDGER_RELEASED: return "already released";
	default: return "?";
	}
}

static const char *op_name(enum xs_ledger_op op)
{
	switch (op) {
	case XS_LEDGER_TAKE: return "take";
	case XS_LEDGER_RELEASE: return "free";
	case XS_LEDGER_LEND: return "lend";
	case XS_LEDGER_UNLEND: return "return from the peer";
	default: return "?";
	}
}

int xs__ledger_fail(const struct xs_ledger *l, uint64_t off, int st, enum xs_ledger_op op)
{
	int err;

	if (st < 0)
		return xs_seterr(-XS_EMSG_NOT_SLOT,
				 "ledger %s: offset %" PRIu64 " is not a 256-byte unit of the "
				 "allocator range [%" PRIu64 ", %" PRIu64 ")",
				 op_name(op), off, l->base, l->end);
	switch (op) {
	case XS_LEDGER_TAKE:
		err = -XS_EMSG_OWNED_TWICE;
		break;
	case XS_LEDGER_UNLEND:
		err = -XS_EMSG_NOT_LENT;
		break;
	default: /* release, lend: from HELD only */
		err = st == XS_LEDGER_RELEASED ? -XS_EMSG_DOUBLE_FREE
		      : st == XS_LEDGER_LENT   ? -XS_EMSG_LENT
						 : -XS_EMSG_NOT_OWNED;
		break;
	}
	return xs_seterr(err, "ledger %s of offset %" PRIu64 " refused: the allocation is %s",
			 op_name(op), off, state_name(st));
}
