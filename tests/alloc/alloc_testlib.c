/* SPDX-License-Identifier: Apache-2.0 */
#include "alloc_testlib.h"

#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* ------------------------------------------------------------------ audit */

static void audit_fail(struct t_audit *o, const char *fmt, ...) XS_PRINTF(2, 3);
static void audit_fail(struct t_audit *o, const char *fmt, ...)
{
	va_list ap;

	o->bad++;
	if (o->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(o->why, sizeof(o->why), fmt, ap);
	va_end(ap);
}

int t_alloc_audit(const struct xs_alloc *a, struct t_audit *o)
{
	uint32_t n = xs_alloc_num_slabs(a), s, steps, w, c, which;
	uint8_t *seen = calloc(n, 1);
	const uint8_t *base = xs_alloc_base(a);
	const struct xs_alloc_header_shm *h = (const void *)base;
	const struct xs_alloc_node_shm *nodes = (const void *)(base + h->free_list_elements_offset);
	const struct xs_alloc_slab_meta_shm *meta = (const void *)(base + h->slab_shared_meta_offset);

	memset(o, 0, sizeof(*o));
	T_ASSERT(seen != NULL);
	for (s = h->global.half.index, steps = 0; s != XS_ALLOC_NULL_U32; s = nodes[s].global_next) {
		if (s >= n || steps++ > n) {
			audit_fail(o, "global list reaches %u after %u steps", s, steps);
			break;
		}
		if (seen[s]++) {
			o->dups++;
			audit_fail(o, "slab %u twice on the global list", s);
			break;
		}
		o->global++;
	}
	for (w = 0; w < h->num_workers; w++) {
		const struct xs_alloc_format_info *fi = xs_alloc_format_info(xs_alloc_format_of(a));
		const struct xs_alloc_heads_shm *we =
			(const void *)(base + XS_ALLOC_HEADER_SIZE + (size_t)fi->entry_size * w + fi->heads_off);

		for (c = 0; c < XS_ALLOC_NUM_CLASSES; c++) {
			for (which = 0; which < 2; which++) {
				uint32_t prev = XS_ALLOC_NULL_U32;

				s = which ? we->cls[c].full : we->cls[c].partial;
				for (steps = 0; s != XS_ALLOC_NULL_U32; s = nodes[s].local_next) {
					if (s >= n || steps++ > n) {
						audit_fail(o, "worker %u class %u list reaches %u", w, c, s);
						break;
					}
					if (seen[s]++) {
						o->dups++;
						audit_fail(o, "slab %u on worker %u class %u %s list and elsewhere", s, w,
							   c, which ? "full" : "partial");
						break;
					}
					if (nodes[s].local_prev != prev)
						audit_fail(o, "slab %u prev %u, expected %u", s, nodes[s].local_prev, prev);
					if (meta[s].assigned_worker != w || meta[s].size_class_index != c)
						audit_fail(o, "slab %u on worker %u class %u list has owner %u class %u", s,
							   w, c, meta[s].assigned_worker,
							   (unsigned)meta[s].size_class_index);
					o->on_workers++;
					prev = s;
				}
			}
		}
	}
	for (s = 0; s < n; s++)
		if (!seen[s]) {
			o->missing++;
			audit_fail(o, "slab %u is on no list", s);
		}
	free(seen);
	return o->bad ? -1 : 0;
}

enum xs_alloc_format t_alloc_format_arg(int argc, char **argv)
{
	static const enum xs_alloc_format all[] = {XS_ALLOC_FMT_0_2, XS_ALLOC_FMT_2_0, XS_ALLOC_FMT_3_0,
						   XS_ALLOC_FMT_4_0};
	size_t i;

	if (argc < 2)
		return XS_ALLOC_FMT_0_2;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(argv[1], xs_alloc_format_info(all[i])->name) == 0)
			return all[i];
	t_fail(__FILE__, __LINE__, "unknown allocator format '%s'", argv[1]);
}

uint32_t t_alloc_worker_arg(enum xs_alloc_format f, uint32_t index)
{
	return xs_alloc_format_info(f)->join == XS_ALLOC_JOIN_CLAIM ? XS_ALLOC_CLAIM : index;
}

/* ----------------------------------------------------------- stress engine */

size_t t_stress_bytes(uint32_t nworkers, size_t file_size)
{
	size_t q = xs_spsc_min_file_size(T_STRESS_QCAP, sizeof(struct t_stress_msg), 8);

	q = (q + 63) & ~(size_t)63;
	return ((sizeof(struct t_stress) + 63) & ~(size_t)63) + q * nworkers + file_size / 256;
}

void t_stress_init(struct t_stress *st, uint32_t nworkers, size_t file_size, uint64_t ops,
		   uint64_t duration_ns)
{
	size_t q = xs_spsc_min_file_size(T_STRESS_QCAP, sizeof(struct t_stress_msg), 8);
	uint32_t w;

	T_ASSERT(nworkers >= 2 && nworkers <= T_STRESS_MAXW);
	st->nworkers = nworkers;
	st->granules = (uint32_t)(file_size / 256);
	st->ops = ops;
	st->deadline_ns = t_now_ns() + duration_ns;
	st->qbytes = (q + 63) & ~(size_t)63;
	st->queues = (uint8_t *)st + ((sizeof(struct t_stress) + 63) & ~(size_t)63);
	st->shadow = st->queues + st->qbytes * nworkers;
	for (w = 0; w < nworkers; w++) {
		struct xs_spsc p;

		T_OK(xs_spsc_attach_mem(&p, st->queues + st->qbytes * w, st->qbytes,
					sizeof(struct t_stress_msg), 8, XS_SHAQ_1_0, XS_SPSC_PRODUCER, 1));
		xs_spsc_close(&p);
	}
}

static int st_fail(struct t_stress *st, uint32_t w, const char *fmt, ...) XS_PRINTF(3, 4);
static int st_fail(struct t_stress *st, uint32_t w, const char *fmt, ...)
{
	va_list ap;
	uint32_t zero = 0;

	if (__atomic_compare_exchange_n(&st->failed, &zero, w + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		va_start(ap, fmt);
		vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

struct held {
	uint64_t off;
	uint32_t size, tag;
};

/* Claim (holder != 0) or release (holder == 0) every granule of a slot. */
static int st_mark(struct t_stress *st, uint32_t w, uint64_t off, uint32_t csize, uint8_t holder)
{
	uint64_t g = off / 256, k;

	for (k = 0; k < csize / 256; k++) {
		uint8_t *cell = &st->shadow[g + k];

		if (holder) {
			uint8_t zero = 0;

			if (!__atomic_compare_exchange_n(cell, &zero, holder, 0, __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE))
				return st_fail(st, w, "worker %u got offset %llu (granule %llu) held by worker %d",
					       w, (unsigned long long)off, (unsigned long long)(g + k), zero - 1);
		} else {
			__atomic_store_n(cell, 0, __ATOMIC_RELEASE);
		}
	}
	return 0;
}

static void st_fill(uint8_t *p, uint32_t csize, uint32_t tag)
{
	uint64_t v = ((uint64_t)tag << 32) | (tag ^ 0xA5A5A5A5u);

	memcpy(p, &v, 8);
	memcpy(p + csize - 8, &v, 8);
}

static int st_verify(struct t_stress *st, uint32_t w, const uint8_t *p, uint32_t csize, uint32_t tag)
{
	uint64_t v = ((uint64_t)tag << 32) | (tag ^ 0xA5A5A5A5u), x, y;

	memcpy(&x, p, 8);
	memcpy(&y, p + csize - 8, 8);
	if (x != v || y != v)
		return st_fail(st, w, "worker %u: slot with tag %08x overwritten (%016llx %016llx)", w, tag,
			       (unsigned long long)x, (unsigned long long)y);
	return 0;
}

static uint32_t csize_of(uint32_t size)
{
	return xs_alloc_class_size(xs_alloc_size_class(size));
}

/* Release a held slot (shadow, pattern) before it is freed. */
static int st_release(struct t_stress *st, uint32_t w, struct xs_alloc *a, const struct held *h)
{
	uint32_t cs = csize_of(h->size);

	if (st_verify(st, w, xs_alloc_ptr(a, h->off), cs, h->tag) < 0)
		return -1;
	return st_mark(st, w, h->off, cs, 0);
}

static int st_drain(struct t_stress *st, uint32_t w, struct xs_alloc *a, struct xs_spsc *in)
{
	uint64_t offs[64];
	size_t n = 0;
	const struct t_stress_msg *m;
	int rc;

	while (n < 64 && (m = xs_spsc_poll(in)) != NULL) {
		struct held h = {m->off, m->size, m->tag};
		void *p;

		/* a peer's offset: check it like a scheduler would */
		rc = xs_alloc_check(a, h.off, h.size, &p);
		if (rc < 0)
			return st_fail(st, w, "worker %u: check of received offset %llu: %s", w,
				       (unsigned long long)h.off, xs_errmsg());
		if (st_release(st, w, a, &h) < 0)
			return -1;
		offs[n++] = h.off;
	}
	xs_spsc_finalize(in);
	if (xs_spsc_error(in))
		return st_fail(st, w, "worker %u: queue error %d", w, xs_spsc_error(in));
	if (!n)
		return 0;
	__atomic_fetch_add(&st->received[w], n, __ATOMIC_RELEASE);
	st->remote[w] += n;
	if (n & 1) { /* alternate the single and the batched remote free */
		size_t k;

		for (k = 0; k < n; k++)
			if ((rc = xs_alloc_free_offset(a, offs[k])) < 0)
				return st_fail(st, w, "worker %u: remote free: %s", w, xs_errmsg());
	} else if ((rc = xs_alloc_free_offsets(a, offs, n)) < 0) {
		return st_fail(st, w, "worker %u: batch free: %s", w, xs_errmsg());
	}
	return (int)n;
}

static int wait_all(struct t_stress *st, uint32_t *counter, uint32_t w, const char *what)
{
	uint64_t limit = st->deadline_ns + 20ull * 1000000000ull;

	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < st->nworkers) {
		if (__atomic_load_n(&st->failed, __ATOMIC_ACQUIRE))
			return -1;
		if (t_now_ns() > limit)
			return st_fail(st, w, "worker %u: timed out waiting for %s", w, what);
		sched_yield();
	}
	return 0;
}

int t_stress_worker(struct t_stress *st, uint32_t w, struct xs_alloc *a)
{
	uint32_t nw = st->nworkers, prev = (w + nw - 1) % nw, next = (w + 1) % nw;
	struct xs_spsc out, in;
	struct held held[64];
	uint32_t nheld = 0, seq = 0;
	uint64_t rng = 0x9E3779B97F4A7C15ull * (w + 1), op;
	int rc;

	T_OK(xs_spsc_attach_mem(&out, st->queues + st->qbytes * w, st->qbytes, sizeof(struct t_stress_msg), 8,
				XS_SHAQ_1_0, XS_SPSC_PRODUCER, 0));
	T_OK(xs_spsc_attach_mem(&in, st->queues + st->qbytes * prev, st->qbytes,
				sizeof(struct t_stress_msg), 8, XS_SHAQ_1_0, XS_SPSC_CONSUMER, 0));

	for (op = 0; op < st->ops && !__atomic_load_n(&st->failed, __ATOMIC_RELAXED); op++) {
		uint64_t r = t_rand(&rng);

		if ((op & 255) == 0 && t_now_ns() > st->deadline_ns)
			break;
		if (nheld < 64 && (r & 3) != 0) {
			/* sizes 0..4096, a third of them small */
			uint32_t size = (r >> 8) % 3 ? (uint32_t)((r >> 16) % 4097) : (uint32_t)((r >> 16) % 300);
			uint64_t off;

			rc = xs_alloc_alloc_offset(a, size, &off);
			if (rc == -XS_EA_ZERO_SIZE && size == 0 && xs_alloc_format_of(a) == XS_ALLOC_FMT_4_0)
				continue; /* format 4.0 serves no 0-byte request */
			if (rc == -ENOMEM) {
				st->enomem[w]++;
				if (xs_alloc_clean_remote(a) < 0)
					return st_fail(st, w, "worker %u: clean: %s", w, xs_errmsg());
				if (st_drain(st, w, a, &in) < 0)
					return -1;
				continue;
			}
			if (rc < 0)
				return st_fail(st, w, "worker %u: alloc(%u): %s", w, size, xs_errmsg());
			if (st_mark(st, w, off, csize_of(size), (uint8_t)(w + 1)) < 0)
				return -1;
			held[nheld].off = off;
			held[nheld].size = size;
			held[nheld].tag = (w << 24) | (seq++ & 0xFFFFFF);
			st_fill(xs_alloc_ptr(a, off), csize_of(size), held[nheld].tag);
			nheld++;
			st->allocs[w]++;
		} else if (nheld) {
			uint32_t k = (uint32_t)((r >> 8) % nheld);
			struct held h = held[k];
			struct t_stress_msg *m;

			held[k] = held[--nheld];
			if ((r >> 40) & 1 && (m = xs_spsc_reserve(&out)) != NULL) {
				/* hand it to the next worker, who frees it remotely */
				m->off = h.off;
				m->size = h.size;
				m->tag = h.tag;
				xs_spsc_commit(&out);
				__atomic_fetch_add(&st->sent[w], 1, __ATOMIC_RELEASE);
			} else {
				if (st_release(st, w, a, &h) < 0)
					return -1;
				if (xs_alloc_free_offset(a, h.off) < 0)
					return st_fail(st, w, "worker %u: local free: %s", w, xs_errmsg());
			}
		}
		if ((op & 7) == 0 && st_drain(st, w, a, &in) < 0)
			return -1;
		if ((op & 127) == 0) {
			if (xs_alloc_clean_remote(a) < 0)
				return st_fail(st, w, "worker %u: clean: %s", w, xs_errmsg());
			st->cleans[w]++;
		}
	}
	/* Wind down: free what we hold, stop sending, drain until the previous
	 * worker has stopped and everything it sent has been freed. */
	while (nheld) {
		struct held h = held[--nheld];

		if (st_release(st, w, a, &h) < 0 || xs_alloc_free_offset(a, h.off) < 0)
			return st_fail(st, w, "worker %u: final free: %s", w, xs_errmsg());
	}
	__atomic_fetch_add(&st->done_sending, 1, __ATOMIC_ACQ_REL);
	for (;;) {
		int stopped = __atomic_load_n(&st->done_sending, __ATOMIC_ACQUIRE) == nw;

		if (st_drain(st, w, a, &in) < 0)
			return -1;
		if (stopped && __atomic_load_n(&st->received[w], __ATOMIC_ACQUIRE) ==
				       __atomic_load_n(&st->sent[prev], __ATOMIC_ACQUIRE))
			break;
		if (wait_all(st, &st->done_sending, w, "senders") < 0)
			return -1;
		sched_yield();
	}
	__atomic_fetch_add(&st->done_freeing, 1, __ATOMIC_ACQ_REL);
	/* After every worker freed everything, one clean takes back all remote
	 * frees; then no slot of ours is held and trim gives back the rest. */
	if (wait_all(st, &st->done_freeing, w, "frees") < 0)
		return -1;
	if ((rc = xs_alloc_clean_remote(a)) < 0)
		return st_fail(st, w, "worker %u: final clean: %s", w, xs_errmsg());
	if ((rc = xs_alloc_trim(a)) < 0)
		return st_fail(st, w, "worker %u: trim: %s", w, xs_errmsg());
	{
		struct xs_alloc_worker_stats ws[T_STRESS_MAXW];
		struct xs_alloc_stats s;

		uint32_t me = xs_alloc_worker(a); /* = w, or the slot a claim gave */

		if (me >= T_STRESS_MAXW)
			return st_fail(st, w, "worker %u has allocator index %u", w, me);
		xs_alloc_stats(a, &s, ws, T_STRESS_MAXW);
		if (ws[me].slabs_owned || ws[me].bytes_in_use)
			return st_fail(st, w, "worker %u still owns %u slabs, %llu bytes in use after clean + trim",
				       w, ws[me].slabs_owned, (unsigned long long)ws[me].bytes_in_use);
		if (s.handle_outstanding || ws[me].outstanding_bytes)
			return st_fail(st, w, "worker %u: %llu outstanding bytes (entry: %llu) after clean + trim",
				       w, (unsigned long long)s.handle_outstanding,
				       (unsigned long long)ws[me].outstanding_bytes);
		if (s.handle.errors)
			return st_fail(st, w, "worker %u: %llu allocator errors", w,
				       (unsigned long long)s.handle.errors);
	}
	(void)next;
	xs_spsc_close(&out);
	xs_spsc_close(&in);
	xs_alloc_close(a);
	__atomic_fetch_add(&st->done_closing, 1, __ATOMIC_ACQ_REL);
	return 0;
}
