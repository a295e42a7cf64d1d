/* SPDX-License-Identifier: Apache-2.0 */
/* shaq-compatible MPMC queue: the cold half (create, join, validation,
 * bounded in-order waits, recovery, blocking pop). */
#include "xsched/mpmc.h"
#include "xsched/shm.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *role_name(const struct xs_mpmc *q)
{
	return q->role == XS_MPMC_PRODUCER ? "producer" : "consumer";
}

/* Freeze the handle: sticky -XS_EQ_CORRUPT, nothing pending, nothing stored
 * from now on (every entry point checks q->err first). */
static int corrupt(struct xs_mpmc *q, const char *fmt, ...) XS_PRINTF(2, 3);
static int corrupt(struct xs_mpmc *q, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	q->err = -XS_EQ_CORRUPT;
	q->pend = XS_MPMC_PEND_NONE;
	return xs_seterr(-XS_EQ_CORRUPT, "mpmc %s: %s", role_name(q), msg);
}

/* ---------------------------------------------------- create / join */

/* Join: the four cursors must satisfy release <= c_res <= p_pub <= p_res <=
 * release + N. They are loaded in that order (Acquire each), so in a live,
 * sane queue every later one is at least the earlier one (all only grow);
 * only the span p_res - release may look too wide, when release moved
 * between the loads: then it is reloaded, and only a span that is too wide
 * while release stood still is corrupt. */
static int check_join_cursors(const struct xs_shaq_fmt *f, uint8_t *base, uint64_t cap)
{
	uint64_t *crel = (uint64_t *)(void *)(base + f->mpmc_cons_rel);
	uint64_t *cres = (uint64_t *)(void *)(base + f->mpmc_cons_res);
	uint64_t *ppub = (uint64_t *)(void *)(base + f->mpmc_prod_pub);
	uint64_t *pres = (uint64_t *)(void *)(base + f->mpmc_prod_res);

	for (int tries = 0; tries < 16; tries++) {
		uint64_t rel = __atomic_load_n(crel, __ATOMIC_ACQUIRE);
		uint64_t cr = __atomic_load_n(cres, __ATOMIC_ACQUIRE);
		uint64_t pp = __atomic_load_n(ppub, __ATOMIC_ACQUIRE);
		uint64_t pr = __atomic_load_n(pres, __ATOMIC_ACQUIRE);

		if ((int64_t)(cr - rel) < 0 || (int64_t)(pp - cr) < 0 || (int64_t)(pr - pp) < 0 ||
		    (pr - rel > cap && __atomic_load_n(crel, __ATOMIC_ACQUIRE) == rel)) {
			xs__shaq_fail(-XS_EQ_CORRUPT, (enum xs_shaq_format)f->format);
			return xs_seterr(-XS_EQ_CORRUPT,
					 "mpmc join: cursors consumer_release %" PRIu64
					 ", consumer_reservation %" PRIu64 ", producer_publication %" PRIu64
					 ", producer_reservation %" PRIu64 " are out of order or more "
					 "than the capacity %" PRIu64 " apart",
					 rel, cr, pp, pr, cap);
		}
		if (pr - rel <= cap)
			return 0;
	}
	return 0; /* release kept moving: a live queue */
}

int xs_mpmc_attach_mem(struct xs_mpmc *q, void *mem, size_t size, size_t elem_size,
		       size_t elem_align, enum xs_shaq_format format, enum xs_mpmc_role role,
		       int init)
{
	const struct xs_shaq_fmt *f;
	uint8_t *base = mem;
	uint64_t cap;
	int err;

	memset(q, 0, sizeof(*q));
	if (role != XS_MPMC_PRODUCER && role != XS_MPMC_CONSUMER) {
		xs__shaq_fail(-EINVAL, format);
		return xs_seterr(-EINVAL, "unknown queue role %d", (int)role);
	}
	err = xs__shaq_open(mem, size, elem_size, elem_align, &format, XS_SHAQ_MPMC, init, &cap, &f);
	if (err)
		return err;
	if (!init && (err = check_join_cursors(f, base, cap)))
		return err;
	if (role == XS_MPMC_PRODUCER) {
		q->res = (uint64_t *)(void *)(base + f->mpmc_prod_res);
		q->done = (uint64_t *)(void *)(base + f->mpmc_prod_pub);
		q->peer = (uint64_t *)(void *)(base + f->mpmc_cons_rel);
	} else {
		q->res = (uint64_t *)(void *)(base + f->mpmc_cons_res);
		q->done = (uint64_t *)(void *)(base + f->mpmc_cons_rel);
		q->peer = (uint64_t *)(void *)(base + f->mpmc_prod_pub);
	}
	q->waiters = f->waiters[XS_SHAQ_MPMC] ? (uint64_t *)(void *)(base + f->waiters[XS_SHAQ_MPMC])
					      : NULL;
	q->ring = base + xs_shaq_ring_offset(format, XS_SHAQ_MPMC, elem_align);
	q->mask = cap - 1;
	q->elem_size = (uint32_t)elem_size;
	q->role = (uint8_t)role;
	q->format = (uint8_t)format;
	q->stall_ns = XS_MPMC_STALL_NS_DEFAULT;
	q->base = base;
	q->file_size = size;
	q->fmt = f;
	return 0;
}

static int map_and_attach(struct xs_mpmc *q, int fd, size_t size, size_t elem_size,
			  size_t elem_align, enum xs_shaq_format format, enum xs_mpmc_role role,
			  int init)
{
	uint8_t *base;
	int err;

	memset(q, 0, sizeof(*q));
	err = xs__shaq_map(fd, &size, init, format, XS_SHAQ_MPMC, elem_size, elem_align, &base);
	if (err)
		return err;
	err = xs_mpmc_attach_mem(q, base, size, elem_size, elem_align, format, role, init);
	if (err) {
		munmap(base, size); /* a failed join leaves nothing mapped */
		return err;
	}
	q->owns_map = 1;
	return 0;
}

int xs_mpmc_create(struct xs_mpmc *q, int fd, size_t file_size, size_t elem_size,
		   size_t elem_align, enum xs_shaq_format format, enum xs_mpmc_role role)
{
	return map_and_attach(q, fd, file_size, elem_size, elem_align, format, role, 1);
}

int xs_mpmc_join(struct xs_mpmc *q, int fd, size_t elem_size, size_t elem_align,
		 enum xs_shaq_format format, enum xs_mpmc_role role)
{
	return map_and_attach(q, fd, 0, elem_size, elem_align, format, role, 0);
}

void xs_mpmc_close(struct xs_mpmc *q)
{
	if (q->owns_map && q->base)
		munmap(q->base, q->file_size);
	memset(q, 0, sizeof(*q));
}

void xs_mpmc_set_stall_timeout(struct xs_mpmc *q, uint64_t ns)
{
	q->stall_ns = ns ? ns : XS_MPMC_STALL_NS_DEFAULT;
}

/* ------------------------------------------------- cold halves of the hot path */

int xs__mpmc_window(struct xs_mpmc *q, uint64_t first, uint64_t second, unsigned tries)
{
	/* `first` was loaded before `second`; reload it. */
	uint64_t *firstp = q->role == XS_MPMC_PRODUCER ? q->peer : q->res;
	uint64_t again = __atomic_load_n(firstp, __ATOMIC_ACQUIRE);
	uint64_t cap = q->mask + 1;

	if (again == first) {
		if (q->role == XS_MPMC_PRODUCER)
			return corrupt(q,
				       "producer_reservation %" PRIu64 " is outside [consumer_release %" PRIu64
				       ", consumer_release + capacity %" PRIu64 "] while consumer_release "
				       "stood still",
				       second, first, cap);
		return corrupt(q,
			       "producer_publication %" PRIu64 " is outside [consumer_reservation %" PRIu64
			       ", consumer_reservation + capacity %" PRIu64 "] while "
			       "consumer_reservation stood still",
			       second, first, cap);
	}
	/* a stale view: the first cursor moved on meanwhile; retry, and after
	 * a few report full/empty as upstream does */
	return tries + 1 >= XS_MPMC_RETRY_MAX ? -EAGAIN : 0;
}

int xs__mpmc_finish(struct xs_mpmc *q)
{
	uint64_t pos = q->pend_pos, cap = q->mask + 1, t0 = 0;
	uint64_t last = __atomic_load_n(q->done, __ATOMIC_ACQUIRE);
	uint32_t n = q->pend_n, spins = 0;
	const char *cursor = q->role == XS_MPMC_PRODUCER ? "producer_publication" : "consumer_release";

	for (;;) {
		/* Acquire: pairs with the Release store of the handle whose
		 * reservation precedes ours (see xs__mpmc_publish_at()). */
		uint64_t d = __atomic_load_n(q->done, __ATOMIC_ACQUIRE);

		if (d == pos)
			break;
		/* It must stay within [pos - N, pos]: nobody publishes/releases
		 * past a reservation that is still ours. */
		if (pos - d > cap)
			return corrupt(q,
				       "%s %" PRIu64 " is outside [%" PRIu64 ", %" PRIu64
				       "] while our reservation of %u slots at %" PRIu64 " waits for it",
				       cursor, d, pos - cap, pos, n, pos);
		if (d != last) { /* progress: the peers before us are moving */
			last = d;
			t0 = 0;
			spins = 0;
		}
		if (spins < XS_MPMC_SPINS) {
			spins++;
			xs_cpu_relax();
			continue;
		}
		uint64_t now = mono_ns();

		if (!t0) {
			t0 = now;
		} else if (now - t0 >= q->stall_ns) {
			q->stalls++;
			return xs_seterr(-XS_EQ_STALLED,
					 "mpmc %s: %s stuck at %" PRIu64 " for %" PRIu64
					 " ms; our %u slots at %" PRIu64 " wait behind a reservation "
					 "that was never %s (dead peer? see xs_mpmc_recover)",
					 role_name(q), cursor, d, (now - t0) / 1000000, n, pos,
					 q->role == XS_MPMC_PRODUCER ? "published" : "released");
		}
		/* on 2 cores the peer we wait for may need our CPU */
		sched_yield();
	}
	/* Release: as in xs__mpmc_publish_at() / xs__mpmc_release_at() */
	__atomic_store_n(q->done, pos + n, __ATOMIC_RELEASE);
	if (q->role == XS_MPMC_PRODUCER && q->waiters)
		xs__shaq_wake_check(q->waiters, q->done, n);
	q->pend = XS_MPMC_PEND_NONE;
	return 0;
}

int xs__mpmc_state(struct xs_mpmc *q, enum xs_mpmc_role want)
{
	if (!q->ring)
		return xs_seterr(-EINVAL, "mpmc: handle is not open");
	if (q->role != want)
		return xs_seterr(-XS_EQ_ROLE, "mpmc: %s operation on a %s handle",
				 want == XS_MPMC_PRODUCER ? "producer" : "consumer", role_name(q));
	if (q->err)
		return q->err;
	if (q->pend == XS_MPMC_PEND_OPEN)
		return xs_seterr(-EBUSY,
				 "mpmc %s: a reservation of %u slots at %" PRIu64
				 " is open; %s it first",
				 role_name(q), q->pend_n, q->pend_pos,
				 want == XS_MPMC_PRODUCER ? "publish" : "release");
	if (q->pend == XS_MPMC_PEND_OUT)
		return xs__mpmc_finish(q);
	return 0;
}

/* ------------------------------------------------------------ the rest */

int xs_mpmc_flush(struct xs_mpmc *q)
{
	if (!q->ring)
		return xs_seterr(-EINVAL, "mpmc: handle is not open");
	if (q->err)
		return q->err;
	return q->pend == XS_MPMC_PEND_OUT ? xs__mpmc_finish(q) : 0;
}

int64_t xs_mpmc_recover(struct xs_mpmc *q)
{
	uint64_t d, r;

	if (!q->ring)
		return xs_seterr(-EINVAL, "mpmc: handle is not open");
	if (q->err)
		return q->err;
	q->pend = XS_MPMC_PEND_NONE;
	/* reservation := publication (producer) / release (consumer); the
	 * caller is the only live handle of its side, so nothing races. */
	d = __atomic_load_n(q->done, __ATOMIC_ACQUIRE);
	r = __atomic_load_n(q->res, __ATOMIC_ACQUIRE);
	if (r - d > q->mask + 1)
		return corrupt(q, "recovery: %s %" PRIu64 " is outside [%s %" PRIu64
			       ", + capacity %" PRIu64 "]",
			       q->role == XS_MPMC_PRODUCER ? "producer_reservation" : "consumer_reservation",
			       r, q->role == XS_MPMC_PRODUCER ? "producer_publication" : "consumer_release",
			       d, q->mask + 1);
	__atomic_store_n(q->res, d, __ATOMIC_RELEASE);
	return (int64_t)(r - d);
}

int64_t xs_mpmc_recover_lossy(struct xs_mpmc *q)
{
	uint64_t d, r;

	if (!q->ring)
		return xs_seterr(-EINVAL, "mpmc: handle is not open");
	if (q->role != XS_MPMC_CONSUMER)
		return xs_seterr(-XS_EQ_ROLE, "mpmc: lossy recovery is for consumers");
	if (q->err)
		return q->err;
	q->pend = XS_MPMC_PEND_NONE;
	/* release := reservation: the reserved slots are skipped. Release:
	 * producers may overwrite them once they see it. */
	r = __atomic_load_n(q->res, __ATOMIC_ACQUIRE);
	d = __atomic_load_n(q->done, __ATOMIC_ACQUIRE);
	if (r - d > q->mask + 1)
		return corrupt(q, "lossy recovery: consumer_reservation %" PRIu64
			       " is outside [consumer_release %" PRIu64 ", + capacity %" PRIu64 "]",
			       r, d, q->mask + 1);
	__atomic_store_n(q->done, r, __ATOMIC_RELEASE);
	return (int64_t)(r - d);
}

int xs_mpmc_waitref(const struct xs_mpmc *q, struct xs_shaq_waitref *out)
{
	if (q->role != XS_MPMC_CONSUMER)
		return xs_seterr(-XS_EQ_ROLE, "only a consumer waits on a queue");
	if (!q->waiters)
		return xs_seterr(-EOPNOTSUPP, "shaq format %s has no waiters line (futex waiting "
				 "needs format 3.0)", xs_shaq_format_name((enum xs_shaq_format)q->format));
	out->waiters = q->waiters;
	out->cursor = q->peer; /* producer_publication */
	return 0;
}

struct pop_arg {
	struct xs_mpmc *q;
	void *out;
};

/* xs_shaq_wait() check: one try_pop. 1 = got an item, 0 = empty, < 0 error. */
static int pop_ready(void *arg)
{
	struct pop_arg *a = arg;
	int rc = xs_mpmc_try_pop(a->q, a->out);

	return rc == 0 ? 1 : rc == -EAGAIN ? 0 : rc;
}

int xs_mpmc_pop_block(struct xs_mpmc *q, void *out, uint64_t timeout_ns)
{
	struct pop_arg a = { q, out };
	struct xs_shaq_waitref w = { q->waiters, q->peer };
	int rc = xs__mpmc_enter(q, XS_MPMC_CONSUMER);

	if (rc)
		return rc;
	rc = xs_shaq_wait(&w, pop_ready, &a, xs_shaq_deadline(timeout_ns));
	return rc > 0 ? 0 : rc;
}

void xs_mpmc_dump(const struct xs_mpmc *q, void *file)
{
	FILE *f = file ? file : stderr;
	const struct xs_shaq_fmt *r = q->fmt;

	if (!q->base || !r) {
		fprintf(f, "mpmc: (closed)\n");
		return;
	}
#define XS_LD(off) __atomic_load_n((const uint64_t *)(const void *)(q->base + (off)), __ATOMIC_RELAXED)
	fprintf(f,
		"mpmc %s fmt=%s file=%zu cap=%" PRIu64 " elem=%u | shm p_res=%" PRIu64
		" p_pub=%" PRIu64 " c_res=%" PRIu64 " c_rel=%" PRIu64 " waiters=%" PRIu64
		" | pend=%u %u@%" PRIu64 " stalls=%" PRIu64 " err=%d\n",
		role_name(q), r->name, q->file_size, q->mask + 1, q->elem_size,
		XS_LD(r->mpmc_prod_res), XS_LD(r->mpmc_prod_pub), XS_LD(r->mpmc_cons_res),
		XS_LD(r->mpmc_cons_rel), q->waiters ? XS_LD(r->waiters[XS_SHAQ_MPMC]) : 0,
		q->pend, q->pend_n, q->pend_pos, q->stalls, q->err);
#undef XS_LD
}
