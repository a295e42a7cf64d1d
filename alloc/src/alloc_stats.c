/* SPDX-License-Identifier: Apache-2.0 */
/* Allocator statistics: a read-only, bounded walk of the file's lists.
 * Other workers keep running meanwhile, so their numbers are a snapshot
 * that may be slightly off; a walk never leaves the file and never loops. */
#include "alloc_pvt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const policy_name[] = {"upstream", "xsched"};

/* Walk worker w's list (class c, which) and account its slabs. */
static void walk_worker_list(const struct xs_alloc *a, uint32_t w, unsigned c, int which,
			     struct xs_alloc_class_stats *cs, struct xs_alloc_stats *st)
{
	const struct xs_alloc_heads_shm *we = xs__alloc_heads_of(a, w);
	const uint32_t *head = which == XS__PARTIAL ? &we->cls[c].partial : &we->cls[c].full;
	/* L1: Acquire loads pair with the owner's Release stores. */
	uint32_t s = __atomic_load_n(head, __ATOMIC_ACQUIRE), steps = 0;

	while (s != XS_ALLOC_NULL_U32) {
		const struct xs_alloc_fstack_shm *fs;
		uint32_t top, cap;

		if (s >= a->num_slabs || steps++ >= a->num_slabs) {
			st->anomalies++;
			return;
		}
		fs = xs__alloc_fstack(a, s);
		/* F1: relaxed, the owner may be changing them right now. */
		top = __atomic_load_n(&fs->top, __ATOMIC_RELAXED);
		cap = __atomic_load_n(&fs->capacity, __ATOMIC_RELAXED);
		if (top > cap || cap != a->cap[c])
			st->anomalies++;
		else
			cs->slots_in_use += cap - top;
		if (which == XS__PARTIAL)
			cs->partial_slabs++;
		else
			cs->full_slabs++;
		if (top == cap && which == XS__PARTIAL)
			cs->empty_slabs++;
		if (a->remote_kind == XS_ALLOC_REMOTE_SLAB_U16 &&
		    __atomic_load_n(&a->meta[s].remote_head, __ATOMIC_ACQUIRE) != XS_ALLOC_NULL_U16)
			cs->remote_pending++;
		st->slabs_listed++;
		s = __atomic_load_n(&a->nodes[s].local_next, __ATOMIC_ACQUIRE);
	}
}

/* The claim formats' per-entry fields of worker w (Acquire for claimed,
 * C1; Relaxed for the outstanding bytes, O1; Acquire for the remote head,
 * as a drain would). */
static void worker_fields(const struct xs_alloc *a, uint32_t w, struct xs_alloc_worker_stats *ws)
{
	const struct xs_alloc_format_info *fi = a->fi;
	const uint8_t *e = xs__alloc_entry(a, w);

	if (fi->claimed_off >= 0)
		ws->claimed = __atomic_load_n(e + fi->claimed_off, __ATOMIC_ACQUIRE);
	if (fi->outstanding_off >= 0)
		ws->outstanding_bytes = __atomic_load_n((const uint64_t *)(const void *)(e + fi->outstanding_off),
							__ATOMIC_RELAXED);
	if (fi->remote_head_off >= 0)
		ws->remote_pending = __atomic_load_n((const uint64_t *)(const void *)(e + fi->remote_head_off),
						     __ATOMIC_ACQUIRE) != XS_ALLOC_NULL_USIZE;
}

int xs_alloc_stats(const struct xs_alloc *a, struct xs_alloc_stats *st,
		   struct xs_alloc_worker_stats *per_worker, uint32_t n)
{
	xs_alloc_stats_file(a, st, per_worker, n);
	if (n < a->num_workers && n) { /* totals over every worker, as documented */
		struct xs_alloc_stats all;

		xs_alloc_stats_file(a, &all, NULL, 0);
		*st = all;
	}
	st->handle = a->cnt; /* plain counters: the handle's own thread only */
	return 0;
}

int xs_alloc_stats_file(const struct xs_alloc *a, struct xs_alloc_stats *st,
			struct xs_alloc_worker_stats *per_worker, uint32_t n)
{
	uint64_t word;
	uint32_t s, steps = 0, w;
	unsigned c;

	memset(st, 0, sizeof(*st));
	st->num_workers = a->num_workers;
	st->num_slabs = a->num_slabs;
	st->slab_size = a->slab_size;
	st->worker = a->worker;
	st->file_size = a->size;
	st->slabs_offset = a->slabs_off;
	st->keep = a->keep;
	st->policy = a->policy;
	st->tagged = a->tagged;
	st->format = (uint32_t)a->fi->format;
	st->handle_outstanding = __atomic_load_n(a->outstanding, __ATOMIC_RELAXED); /* O1 */

	/* Global list (G1 ordering for the head; a racing pop may cut the walk
	 * short, which only makes the count approximate). */
	word = __atomic_load_n(&a->hdr->global.word, __ATOMIC_ACQUIRE);
	st->global_head = (uint32_t)word;
	st->global_tag = (uint32_t)(word >> 32);
	for (s = st->global_head; s != XS_ALLOC_NULL_U32;
	     s = __atomic_load_n(&a->nodes[s].global_next, __ATOMIC_ACQUIRE)) {
		if (s >= a->num_slabs || steps++ >= a->num_slabs) {
			st->anomalies++;
			break;
		}
		st->global_free_slabs++;
	}
	st->slabs_listed = st->global_free_slabs;
	for (s = 0; s < a->num_slabs; s++)
		if (__atomic_load_n(&a->meta[s].assigned_worker, __ATOMIC_ACQUIRE) == XS_ALLOC_NULL_U32)
			st->never_assigned++;

	for (w = 0; w < (n && n < a->num_workers ? n : a->num_workers); w++) {
		struct xs_alloc_worker_stats tmp, *ws = w < n && per_worker ? &per_worker[w] : &tmp;

		memset(ws, 0, sizeof(*ws));
		worker_fields(a, w, ws);
		st->outstanding_bytes += ws->outstanding_bytes;
		st->claimed_slots += ws->claimed != 0;
		st->remote_pending_workers += ws->remote_pending;
		for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++) {
			walk_worker_list(a, w, c, XS__PARTIAL, &ws->cls[c], st);
			walk_worker_list(a, w, c, XS__FULL, &ws->cls[c], st);
			ws->slabs_owned += ws->cls[c].partial_slabs + ws->cls[c].full_slabs;
			ws->bytes_in_use += ws->cls[c].slots_in_use * xs_alloc_class_size(c);
		}
		st->bytes_in_use += ws->bytes_in_use;
	}
	return 0;
}

void xs_alloc_stats_print(const struct xs_alloc *a, void *file)
{
	FILE *f = file;
	struct xs_alloc_worker_stats ws;
	struct xs_alloc_stats st;
	uint32_t w;
	unsigned c;

	xs_alloc_stats(a, &st, NULL, 0);
	fprintf(f, "rts-alloc file (format %s%s): %" PRIu64 " bytes, %" PRIu32 " slabs of %" PRIu32
		" bytes at offset %" PRIu64 ", %" PRIu32 " workers\n", a->fi->name,
		a->fi->verified ? "" : ", unverified", st.file_size, st.num_slabs, st.slab_size,
		st.slabs_offset, st.num_workers);
	if (a->fi->join == XS_ALLOC_JOIN_CLAIM)
		fprintf(f, "claimed slots: %" PRIu32 ", outstanding bytes: %" PRIu64 " (this handle: %" PRIu64
			")%s\n", st.claimed_slots, st.outstanding_bytes, st.handle_outstanding,
			st.remote_pending_workers ? ", remote frees pending" : "");
	fprintf(f, "global free list: %" PRIu32 " slabs (head %" PRId32 ", tag %" PRIu32 "), %" PRIu32
		" never assigned, %" PRIu32 " listed in all, %" PRIu32 " anomalies\n",
		st.global_free_slabs, (int32_t)st.global_head, st.global_tag, st.never_assigned,
		st.slabs_listed, st.anomalies);
	fprintf(f, "%6s %6s %8s %6s %6s %7s %12s %12s\n", "worker", "class", "partial", "full", "empty",
		"remote", "slots_used", "bytes_used");
	for (w = 0; w < st.num_workers; w++) {
		struct xs_alloc_stats tmp;

		memset(&tmp, 0, sizeof(tmp));
		memset(&ws, 0, sizeof(ws));
		worker_fields(a, w, &ws);
		if (ws.claimed || ws.outstanding_bytes || ws.remote_pending)
			fprintf(f, "worker %" PRIu32 ": claimed %" PRIu32 ", outstanding %" PRIu64 " bytes%s\n", w,
				ws.claimed, ws.outstanding_bytes, ws.remote_pending ? ", remote frees pending" : "");
		for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++) {
			walk_worker_list(a, w, c, XS__PARTIAL, &ws.cls[c], &tmp);
			walk_worker_list(a, w, c, XS__FULL, &ws.cls[c], &tmp);
			if (!ws.cls[c].partial_slabs && !ws.cls[c].full_slabs)
				continue;
			fprintf(f, "%6" PRIu32 " %6u %8" PRIu32 " %6" PRIu32 " %6" PRIu32 " %7" PRIu32 " %12" PRIu64
				" %12" PRIu64 "\n", w, xs_alloc_class_size(c), ws.cls[c].partial_slabs,
				ws.cls[c].full_slabs, ws.cls[c].empty_slabs, ws.cls[c].remote_pending,
				ws.cls[c].slots_in_use, ws.cls[c].slots_in_use * xs_alloc_class_size(c));
		}
	}
	fprintf(f, "bytes in use: %" PRIu64 "\n", st.bytes_in_use);
	fprintf(f, "handle worker %" PRIu32 ": policy %s keep %" PRIu32 " aba-tag %s\n", st.worker,
		policy_name[st.policy & 1], st.keep, st.tagged ? "on" : "off");
	fprintf(f, "  allocs %" PRIu64 " (fails %" PRIu64 ", from kept slabs %" PRIu64 "), frees local %"
		PRIu64 " remote %" PRIu64 " (%" PRIu64 " pushes)\n", st.handle.allocs, st.handle.alloc_fails,
		st.handle.kept_reuses, st.handle.frees_local, st.handle.frees_remote, st.handle.remote_pushes);
	fprintf(f, "  cleans %" PRIu64 " (%" PRIu64 " slots back), slabs taken %" PRIu64 " returned %" PRIu64
		", CAS retries %" PRIu64 ", errors %" PRIu64 "\n", st.handle.cleans, st.handle.cleaned,
		st.handle.slab_takes, st.handle.slab_returns, st.handle.cas_retries, st.handle.errors);
}
