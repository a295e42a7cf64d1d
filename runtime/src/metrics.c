/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics in shared memory: the writer (one object per process, a publisher
 * thread sampling the runtime, the session's queues and allocator) and the
 * reader (validated read-only mapping, consistent private copies, liveness).
 * Layout, writers and the ordering contract (M1, S1, S2): xsched/metrics.h.
 *
 * Locks: g_mu (the process's object, the rt-destroy hook, close) is taken
 * before m->mu (one sample at a time; registration; detaching the runtime).
 */
#include "rt_pvt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "xsched/alloc.h"
#include "xsched/handshake.h"
#include "xsched/metrics.h"
#include "xsched/mpmc.h"
#include "xsched/spsc.h"

#define DEFAULT_INTERVAL_MS 100u
#define SNAP_RETRIES 1000
#define GC_MAX 4096 /* directory entries looked at when removing dead objects */

/* Single-writer stores of the publisher (S1): release, so each is ordered
 * after the odd sequence number (plain MOVs on x86-64). */
#define PUT(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELEASE)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void copy_name(char *dst, size_t n, const char *src)
{
	size_t l = 0;

	while (src && l < n - 1 && src[l])
		l++;
	if (l)
		memcpy(dst, src, l);
	memset(dst + l, 0, n - l);
}

/* ------------------------------------------------------------ /proc */

uint64_t xs_metrics_proc_start(pid_t pid, char *state)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	if (state)
		*state = '?';
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ppid ...": comm may hold spaces and parentheses, so
	 * the fields start after the last ')' (field 3 is the state) */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	if (state)
		*state = *p;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start) != 1)
		return 0;
	return start;
}

/* ------------------------------------------------------------ names */

static const char *const stage_names[XS_MSTAGE_COUNT] = {
	"arrival_dispatch", "dispatch_response", "arrival_response", "check_response",
};

const char *xs_mstage_name(unsigned stage)
{
	return stage < XS_MSTAGE_COUNT ? stage_names[stage] : "?";
}

const char *xs_metrics_live_name(enum xs_metrics_live l)
{
	static const char *const n[] = { "live", "stale", "stopped", "exited", "dead" };

	return (unsigned)l < 5 ? n[l] : "?";
}

const char *xs_metrics_dir(const char *dir)
{
	const char *e;

	if (dir && dir[0])
		return dir;
	e = getenv(XS_METRICS_DIR_ENV);
	return e && e[0] ? e : XS_METRICS_DEFAULT_DIR;
}

const char *xs__strerror_metrics(int code)
{
	switch (code) {
	case XS_EMET_MAGIC: return "not an xsched metrics object";
	case XS_EMET_LAYOUT: return "metrics layout version not supported";
	case XS_EMET_TRUNCATED: return "metrics object is truncated";
	case XS_EMET_CORRUPT: return "metrics object has an inconsistent table";
	case XS_EMET_PID: return "metrics object does not belong to that process";
	case XS_EMET_NONE: return "no metrics object for that process";
	default: return NULL;
	}
}

/* Record sizes of layout 1, by section. */
static const uint32_t rec_size[XS_MSECT_COUNT] = {
	sizeof(struct xs_metrics_reactor_shm), sizeof(struct xs_metrics_lthread_shm),
	sizeof(struct xs_metrics_queue_shm), sizeof(struct xs_metrics_alloc_shm),
	sizeof(struct xs_metrics_session_shm), sizeof(struct xs_mhist_shm),
};

/* ------------------------------------------------------------ writer */

struct mqueue {
	const struct xs_spsc *q;  /* SPSC queues (xs_metrics_queue_full_counter() finds them) */
	const uint64_t *wr, *rd;  /* the shared cursors: write / read (SPSC), producer_publication
	                             / consumer_release (MPMC); NULL when unmapped */
	const uint64_t *full; /* the producer's counter, or NULL */
};

struct xs_metrics {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int th_running, stop, closed;
	pid_t pid;
	uint32_t interval_ms;
	/* what is sampled (NULL once detached) */
	struct xs_rt *rt;
	int nr, nl;
	uint64_t *last_rounds;           /* publisher: rounds at the previous sample */
	int nq;
	struct mqueue *q;
	const struct xs_alloc *alloc;    /* any handle on the session's allocator file */
	uint32_t nwork;
	struct xs_alloc_worker_stats *ws;
	pid_t peer;
	uint64_t peer_start;
	/* the object */
	uint8_t *map;
	size_t size;
	struct xs_metrics_hdr_shm *hdr;
	char path[PATH_MAX];
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct xs_metrics *g_self;  /* the process's object, under g_mu */
static int g_atexit;               /* atexit handler registered, under g_mu */

void xs_metrics_opts_init(struct xs_metrics_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->interval_ms = DEFAULT_INTERVAL_MS;
}

const char *xs_metrics_path(const struct xs_metrics *m)
{
	return m ? m->path : "";
}

static void *sect_rec(const struct xs_metrics *m, unsigned sect, unsigned i)
{
	const struct xs_metrics_sect_shm *t = &m->hdr->sect[sect];

	return i < t->count ? m->map + t->off + (size_t)t->size * i : NULL;
}

struct xs_mhist_shm *xs_metrics_hist(struct xs_metrics *m, unsigned stage, int lthread)
{
	if (!m || stage >= XS_MSTAGE_COUNT || lthread < 0 || lthread >= m->nl)
		return NULL;
	return sect_rec(m, XS_MSECT_HIST, stage * (unsigned)m->nl + (unsigned)lthread);
}

static int add_queue(struct xs_metrics *m, const struct xs_spsc *q, const char *name, unsigned role)
{
	struct xs_metrics_queue_shm *r = sect_rec(m, XS_MSECT_QUEUE, (unsigned)m->nq);

	if (!r)
		return -XS_E_INTERNAL;
	m->q[m->nq].q = q;
	m->q[m->nq].wr = q->wr;
	m->q[m->nq].rd = q->rd;
	m->q[m->nq].full = NULL;
	m->nq++;
	copy_name(r->name, sizeof(r->name), name);
	r->role = role;
	r->format = q->format;
	r->capacity = xs_spsc_capacity(q);
	r->write = r->read = r->full = XS_METRICS_NA;
	return 0;
}

/* An MPMC check queue: write = producer_publication, read = consumer_release
 * (the handle's role-neutral pointers: own publication/release and the peer's). */
static int add_mpmc(struct xs_metrics *m, const struct xs_mpmc *q, const char *name, unsigned role)
{
	struct xs_metrics_queue_shm *r = sect_rec(m, XS_MSECT_QUEUE, (unsigned)m->nq);
	int prod = q->role == XS_MPMC_PRODUCER;

	if (!r)
		return -XS_E_INTERNAL;
	m->q[m->nq].q = NULL;
	m->q[m->nq].wr = prod ? q->done : q->peer;
	m->q[m->nq].rd = prod ? q->peer : q->done;
	m->q[m->nq].full = NULL;
	m->nq++;
	copy_name(r->name, sizeof(r->name), name);
	r->role = role;
	r->format = q->format;
	r->capacity = xs_mpmc_capacity(q);
	r->write = r->read = r->full = XS_METRICS_NA;
	return 0;
}

/* Queues of the session, in a fixed order: tpu_to_pack, progress_tracker,
 * then pack_to_worker[i] and worker_to_pack[i] per worker. */
static int add_queues(struct xs_metrics *m, const struct xs_metrics_opts *o)
{
	const struct xs_hs_worker *w = o->session ? o->session->workers : o->vsession->workers;
	uint32_t nw = o->session ? o->session->num_workers : o->vsession->num_workers;
	unsigned in = o->session ? XS_MQ_CONSUMER : XS_MQ_PRODUCER;
	unsigned out = o->session ? XS_MQ_PRODUCER : XS_MQ_CONSUMER;
	char name[32];
	int r;

	if ((r = add_queue(m, o->session ? &o->session->tpu_to_pack : &o->vsession->tpu_to_pack,
			   "tpu_to_pack", in)) < 0 ||
	    (r = add_queue(m, o->session ? &o->session->progress : &o->vsession->progress,
			   "progress_tracker", in)) < 0)
		return r;
	for (uint32_t i = 0; i < nw; i++) {
		snprintf(name, sizeof(name), "pack_to_worker[%u]", i);
		if ((r = add_queue(m, &w[i].pack_to_worker, name, out)) < 0)
			return r;
		snprintf(name, sizeof(name), "worker_to_pack[%u]", i);
		if ((r = add_queue(m, &w[i].worker_to_pack, name, in)) < 0)
			return r;
	}
	/* the check queues (VERSION 5, SDK); the validator side samples them
	 * through check worker 0's handles (every handle sees the same cursors) */
	if (o->session && o->session->has_check_queues) {
		if ((r = add_mpmc(m, &o->session->pack_to_check, "pack_to_check_worker", out)) < 0 ||
		    (r = add_mpmc(m, &o->session->check_to_pack, "check_worker_to_pack", in)) < 0)
			return r;
	} else if (!o->session && o->vsession->has_check_queues && o->vsession->check_workers) {
		const struct xs_hs_check_worker *c = &o->vsession->check_workers[0];

		if ((r = add_mpmc(m, &c->pack_to_check, "pack_to_check_worker", out)) < 0 ||
		    (r = add_mpmc(m, &c->check_to_pack, "check_worker_to_pack", in)) < 0)
			return r;
	}
	return 0;
}

/* Queue records of a session: 2 + 2W, + 2 with check queues. */
static uint32_t nqueues(const struct xs_metrics_opts *o)
{
	uint32_t nw = o->session ? o->session->num_workers : o->vsession->num_workers;
	int chk = o->session ? o->session->has_check_queues
			     : o->vsession->has_check_queues && o->vsession->check_workers;

	return 2 + 2 * nw + (chk ? 2 : 0);
}

/* Which allocator worker indexes this process holds. */
static int alloc_ours(const struct xs_metrics_opts *o, uint32_t w)
{
	if (o->session) {
		for (uint32_t k = 0; k < o->session->num_allocs; k++)
			if (o->session->allocs[k] && xs_alloc_worker(o->session->allocs[k]) == w)
				return 1;
		return 0;
	}
	if (o->vsession->tpu_alloc && xs_alloc_worker(o->vsession->tpu_alloc) == w)
		return 1;
	for (uint32_t k = 0; o->vsession->worker_allocs && k < o->vsession->num_workers; k++)
		if (o->vsession->worker_allocs[k] && xs_alloc_worker(o->vsession->worker_allocs[k]) == w)
			return 1;
	return 0;
}

/* Static fields of the runtime's, the session's and the histograms' records. */
static void fill_static(struct xs_metrics *m, const struct xs_metrics_opts *o)
{
	struct xs_reactor_info ri;
	struct xs_lthread_stats ls;
	uint64_t now = mono_ns();

	for (int r = 0; r < m->nr; r++) {
		struct xs_metrics_reactor_shm *rec = sect_rec(m, XS_MSECT_REACTOR, (unsigned)r);

		xs_rt_reactor_info(m->rt, r, &ri);
		copy_name(rec->name, sizeof(rec->name), ri.name);
		copy_name(rec->idle, sizeof(rec->idle), xs_idle_name((enum xs_idle)ri.idle));
		rec->plan_cpu = ri.plan_cpu;
		rec->cpu = ri.cpu;
		rec->observed_cpu = ri.observed_cpu;
		rec->tid = ri.tid;
		rec->node = ri.node;
		rec->nlthreads = (uint64_t)ri.nlthreads;
		rec->heartbeat_ns = now;
	}
	for (int i = 0; i < m->nl; i++) {
		struct xs_metrics_lthread_shm *rec = sect_rec(m, XS_MSECT_LTHREAD, (unsigned)i);

		xs_rt_lthread_stats(m->rt, i, &ls);
		copy_name(rec->name, sizeof(rec->name), ls.name);
		rec->reactor = ls.reactor;
	}
	for (unsigned s = 0; s < XS_MSTAGE_COUNT; s++)
		for (int i = 0; i < m->nl; i++) {
			struct xs_mhist_shm *h = sect_rec(m, XS_MSECT_HIST, s * (unsigned)m->nl + (unsigned)i);

			h->stage = s;
			h->lthread = i;
			copy_name(h->name, sizeof(h->name), xs_mstage_name(s));
		}
	if (o->session || o->vsession) {
		struct xs_metrics_session_shm *ss = sect_rec(m, XS_MSECT_SESSION, 0);

		ss->version = (uint32_t)(o->session ? o->session->version : o->vsession->version);
		ss->role = o->session ? XS_MROLE_SCHEDULER : XS_MROLE_VALIDATOR;
		ss->num_workers = o->session ? o->session->num_workers : o->vsession->num_workers;
		ss->num_allocs = o->session ? o->session->num_allocs : o->vsession->num_allocs;
		ss->peer_pid = m->peer;
		ss->peer_start_ticks = m->peer_start;
		ss->peer_alive = m->peer_start != 0;
		if (m->alloc) {
			ss->alloc_file_size = xs_alloc_size(m->alloc);
			ss->alloc_num_slabs = xs_alloc_num_slabs(m->alloc);
			ss->alloc_slab_size = xs_alloc_slab_size(m->alloc);
		}
		for (uint32_t w = 0; w < m->nwork; w++) {
			struct xs_metrics_alloc_shm *a = sect_rec(m, XS_MSECT_ALLOC, w);

			a->worker = w;
			a->ours = (uint32_t)alloc_ours(o, w);
		}
	}
}

/* One sample (S1), under m->mu. */
static void sample_locked(struct xs_metrics *m)
{
	struct xs_metrics_hdr_shm *h = m->hdr;
	uint64_t t0 = mono_ns(), seq = __atomic_load_n(&h->seq, __ATOMIC_RELAXED);
	struct xs_reactor_info ri;
	struct xs_lthread_stats ls;
	struct xs_alloc_stats st;

	/* S1: odd first; every store below is a release, ordered after it */
	__atomic_store_n(&h->seq, seq + 1, __ATOMIC_RELAXED);
	for (int r = 0; m->rt && r < m->nr; r++) {
		struct xs_metrics_reactor_shm *rec = sect_rec(m, XS_MSECT_REACTOR, (unsigned)r);

		/* relaxed loads of the reactor's own counters (reactor.c C1) */
		xs_rt_reactor_info(m->rt, r, &ri);
		PUT(rec->cpu, ri.cpu);
		PUT(rec->observed_cpu, ri.observed_cpu);
		PUT(rec->tid, ri.tid);
		PUT(rec->running, (uint64_t)ri.running);
		PUT(rec->rounds, ri.rounds);
		PUT(rec->idle_rounds, ri.idle_rounds);
		PUT(rec->yields, ri.yields);
		PUT(rec->sleeps, ri.sleeps);
		if (ri.rounds != m->last_rounds[r]) {
			m->last_rounds[r] = ri.rounds;
			PUT(rec->heartbeat_ns, t0);
		}
	}
	for (int i = 0; m->rt && i < m->nl; i++) {
		struct xs_metrics_lthread_shm *rec = sect_rec(m, XS_MSECT_LTHREAD, (unsigned)i);

		xs_rt_lthread_stats(m->rt, i, &ls);
		PUT(rec->state, (uint64_t)ls.state);
		PUT(rec->err, ls.err);
		PUT(rec->polls, ls.polls);
		PUT(rec->busy_polls, ls.busy_polls);
		PUT(rec->items, ls.items);
	}
	for (int i = 0; m->q && i < m->nq; i++) {
		struct xs_metrics_queue_shm *rec = sect_rec(m, XS_MSECT_QUEUE, (unsigned)i);
		const struct mqueue *q = &m->q[i];

		/* the shared cursors in the queue file, each stored by its own
		 * side with a release; relaxed here: a depth is a gauge, nothing
		 * is read through it */
		if (q->wr && q->rd) {
			PUT(rec->write, __atomic_load_n(q->wr, __ATOMIC_RELAXED));
			PUT(rec->read, __atomic_load_n(q->rd, __ATOMIC_RELAXED));
		}
		if (m->q[i].full)
			PUT(rec->full, __atomic_load_n(m->q[i].full, __ATOMIC_RELAXED));
	}
	if (m->alloc) {
		struct xs_metrics_session_shm *ss = sect_rec(m, XS_MSECT_SESSION, 0);

		/* A bounded walk of the file's lists with atomic loads (other
		 * workers run meanwhile: a snapshot); the file-only variant does
		 * not touch the handle's plain counters, which its owner writes. */
		xs_alloc_stats_file(m->alloc, &st, m->ws, m->nwork);
		for (uint32_t w = 0; w < m->nwork; w++) {
			struct xs_metrics_alloc_shm *a = sect_rec(m, XS_MSECT_ALLOC, w);
			uint64_t remote = 0;

			for (unsigned c = 0; c < 5 && c < XS_ALLOC_NUM_CLASSES; c++) {
				const struct xs_alloc_class_stats *cs = &m->ws[w].cls[c];

				PUT(a->cls_slabs[c], (uint64_t)cs->partial_slabs + cs->full_slabs);
				PUT(a->cls_bytes[c], cs->slots_in_use * xs_alloc_class_size(c));
				PUT(a->cls_remote[c], (uint64_t)cs->remote_pending);
				remote += cs->remote_pending;
			}
			PUT(a->slabs, (uint64_t)m->ws[w].slabs_owned);
			PUT(a->bytes_in_use, m->ws[w].bytes_in_use);
			PUT(a->remote_pending, remote);
		}
		PUT(ss->alloc_global_free, (uint64_t)st.global_free_slabs);
		PUT(ss->alloc_never_assigned, (uint64_t)st.never_assigned);
		PUT(ss->alloc_bytes_in_use, st.bytes_in_use);
		PUT(ss->alloc_anomalies, (uint64_t)st.anomalies);
	}
	if (m->peer > 0) {
		struct xs_metrics_session_shm *ss = sect_rec(m, XS_MSECT_SESSION, 0);
		uint64_t st_now = xs_metrics_proc_start(m->peer, NULL);

		PUT(ss->peer_alive, (uint64_t)(st_now != 0 && st_now == m->peer_start));
	}
	PUT(h->heartbeat_ns, t0);
	PUT(h->samples, __atomic_load_n(&h->samples, __ATOMIC_RELAXED) + 1);
	PUT(h->sample_ns, mono_ns() - t0);
	/* S1: even again; release pairs with the reader's acquire (S2) */
	__atomic_store_n(&h->seq, seq + 2, __ATOMIC_RELEASE);
}

/* Stop reading the runtime and the session (their memory goes away). */
static void detach_locked(struct xs_metrics *m)
{
	m->rt = NULL;
	free(m->q);
	m->q = NULL;
	m->alloc = NULL;
}

static void *publisher_main(void *arg)
{
	struct xs_metrics *m = arg;
	struct timespec dl;
	uint64_t next = mono_ns();

	pthread_setname_np(pthread_self(), "xs-metrics");
	pthread_mutex_lock(&m->mu);
	while (!m->stop) {
		next += (uint64_t)m->interval_ms * 1000000ull;
		dl.tv_sec = (time_t)(next / 1000000000ull);
		dl.tv_nsec = (long)(next % 1000000000ull);
		while (!m->stop && pthread_cond_timedwait(&m->cv, &m->mu, &dl) != ETIMEDOUT)
			;
		if (m->stop)
			break;
		sample_locked(m);
		if (mono_ns() > next + 10ull * m->interval_ms * 1000000ull)
			next = mono_ns(); /* we were stopped or starved: no burst of catch-up samples */
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* Remove dead objects of our user from @p dir: the process gone, or its
 * pid reused (start time differs). Only regular files named like ours. */
static void gc_dead(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int seen = 0;

	if (!d)
		return;
	while ((e = readdir(d)) && seen++ < GC_MAX) {
		struct xs_metrics_hdr_shm h;
		struct stat st;
		char path[PATH_MAX], *end;
		long pid;
		int fd;

		if (strncmp(e->d_name, XS_METRICS_PREFIX, strlen(XS_METRICS_PREFIX)))
			continue;
		pid = strtol(e->d_name + strlen(XS_METRICS_PREFIX), &end, 10);
		if (pid <= 0 || pid == getpid() || strcmp(end, XS_METRICS_SUFFIX))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
			continue;
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
		    pread(fd, &h, sizeof(h), 0) == (ssize_t)sizeof(h) && h.magic == XS_METRICS_MAGIC &&
		    h.pid == (int32_t)pid) {
			uint64_t now = xs_metrics_proc_start((pid_t)pid, NULL);

			if (now == 0 || now != h.start_ticks)
				unlink(path);
		}
		close(fd);
	}
	closedir(d);
}

static void metrics_free(struct xs_metrics *m)
{
	if (m->map)
		munmap(m->map, m->size);
	free(m->last_rounds);
	free(m->q);
	free(m->ws);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m);
}

static void metrics_atexit(void)
{
	struct xs_metrics *m;

	pthread_mutex_lock(&g_mu);
	m = g_self;
	pthread_mutex_unlock(&g_mu);
	/* a forked child inherits the handler, not the object */
	if (m && m->pid == getpid())
		xs_metrics_close(m);
}

/* Create the file under a temporary name, size and map it. */
static int create_file(struct xs_metrics *m, const char *dir, char *tmp, size_t tmplen)
{
	int fd;

	if (snprintf(m->path, sizeof(m->path), "%s/" XS_METRICS_PREFIX "%d" XS_METRICS_SUFFIX, dir,
		     (int)m->pid) >= (int)sizeof(m->path) ||
	    snprintf(tmp, tmplen, "%s/." XS_METRICS_PREFIX "%d" XS_METRICS_SUFFIX ".tmp", dir,
		     (int)m->pid) >= (int)tmplen)
		return xs_seterr(-ENAMETOOLONG, "metrics directory name too long: %s", dir);
	/* a temporary of our pid can only be left by a dead process */
	unlink(tmp);
	fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return xs_seterr(-errno, "metrics object %s: %s", tmp, strerror(errno));
	/* blocks reserved now: a full tmpfs fails here, not with SIGBUS on a
	 * later store (posix_fallocate returns the error, errno untouched) */
	if (ftruncate(fd, (off_t)m->size) < 0 || (errno = posix_fallocate(fd, 0, (off_t)m->size)) != 0) {
		int e = errno;

		close(fd);
		unlink(tmp);
		return xs_seterr(-e, "metrics object %s: sizing to %zu bytes: %s", tmp, m->size, strerror(e));
	}
	m->map = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m->map == MAP_FAILED) {
		int e = errno;

		m->map = NULL;
		unlink(tmp);
		return xs_seterr(-e, "metrics object %s: mmap of %zu bytes: %s", tmp, m->size, strerror(e));
	}
	m->hdr = (struct xs_metrics_hdr_shm *)m->map;
	return 0;
}

/*
 * Allocator slots a session uses: claim formats lay out thousands (the
 * largest count that fits the metadata slabs) of which a session holds
 * 1 + W + C + H, numbered from 0 as upstream does; records and the periodic
 * walk cover those only. Client: up to its highest handle. Server: its own
 * handles (TPU, workers, SDK check workers) then the client's H. Check
 * workers of VERSION 5 hold slots from the top of the table (xsched's
 * choice, see handshake/README.md): they are not covered.
 */
static uint32_t session_slots(const struct xs_metrics_opts *o, uint32_t num_workers)
{
	uint32_t n = 0;

	if (o->session) {
		for (uint32_t k = 0; k < o->session->num_allocs; k++)
			if (o->session->allocs[k] && xs_alloc_worker(o->session->allocs[k]) + 1 > n)
				n = xs_alloc_worker(o->session->allocs[k]) + 1;
	} else {
		const struct xs_vsession *vs = o->vsession;

		n = xs_alloc_worker(vs->tpu_alloc) + 1;
		for (uint32_t i = 0; i < vs->num_workers; i++)
			if (vs->worker_allocs && vs->worker_allocs[i] &&
			    xs_alloc_worker(vs->worker_allocs[i]) + 1 > n)
				n = xs_alloc_worker(vs->worker_allocs[i]) + 1;
		/* SDK check workers sit below the execution workers: covered */
		n += vs->num_allocs;
	}
	return n && n < num_workers ? n : num_workers;
}

int xs_metrics_create(struct xs_metrics **out, struct xs_rt *rt, const struct xs_metrics_opts *o_in)
{
	struct xs_metrics_opts o;
	struct xs_metrics *m;
	uint32_t count[XS_MSECT_COUNT] = { 0 };
	char tmp[PATH_MAX];
	const char *dir;
	size_t off;
	int r;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (o_in)
		o = *o_in;
	else
		xs_metrics_opts_init(&o);
	if (!o.interval_ms)
		o.interval_ms = DEFAULT_INTERVAL_MS;
	if (o.interval_ms < 10 || o.interval_ms > 60000 || (o.session && o.vsession))
		return xs_seterr(-EINVAL, "metrics: interval %u ms (10..60000) or two sessions given",
				 o.interval_ms);
	if ((o.session && o.session->num_workers && !o.session->workers) ||
	    (o.vsession && o.vsession->num_workers && !o.vsession->workers))
		return xs_seterr(-EINVAL, "metrics: session without its worker queues");
	dir = xs_metrics_dir(o.dir);

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&m->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	m->pid = getpid();
	m->interval_ms = o.interval_ms;
	m->rt = rt;
	if (rt) {
		m->nr = xs_rt_nreactors(rt);
		m->nl = xs_rt_nlthreads(rt);
	}
	count[XS_MSECT_REACTOR] = (uint32_t)m->nr;
	count[XS_MSECT_LTHREAD] = (uint32_t)m->nl;
	count[XS_MSECT_HIST] = XS_MSTAGE_COUNT * (uint32_t)m->nl;
	if (o.session || o.vsession) {
		count[XS_MSECT_SESSION] = 1;
		count[XS_MSECT_QUEUE] = nqueues(&o);
		m->alloc = o.session ? (o.session->num_allocs && o.session->allocs ? o.session->allocs[0] : NULL)
				     : o.vsession->tpu_alloc;
		m->peer = o.session ? o.session->peer_pid : o.vsession->peer_pid;
		m->peer_start = xs_metrics_proc_start(m->peer, NULL);
		if (m->alloc) {
			m->nwork = session_slots(&o, xs_alloc_num_workers(m->alloc));
			count[XS_MSECT_ALLOC] = m->nwork;
		}
	}
	m->last_rounds = calloc((size_t)m->nr + 1, sizeof(*m->last_rounds));
	m->q = calloc((size_t)count[XS_MSECT_QUEUE] + 1, sizeof(*m->q));
	m->ws = calloc((size_t)m->nwork + 1, sizeof(*m->ws));
	if (!m->last_rounds || !m->q || !m->ws) {
		metrics_free(m);
		return -ENOMEM;
	}
	off = sizeof(struct xs_metrics_hdr_shm);
	for (unsigned s = 0; s < XS_MSECT_COUNT; s++) {
		off = (off + XS_CACHE_LINE - 1) / XS_CACHE_LINE * XS_CACHE_LINE;
		off += (size_t)count[s] * rec_size[s];
	}
	m->size = xs__page_round(off);
	if (m->size > XS_METRICS_MAX_SIZE) {
		metrics_free(m);
		return xs_seterr(-EINVAL, "metrics object would take %zu bytes (at most %u)", m->size,
				 XS_METRICS_MAX_SIZE);
	}

	pthread_mutex_lock(&g_mu);
	if (g_self) {
		pthread_mutex_unlock(&g_mu);
		metrics_free(m);
		return xs_seterr(-XS_ERT_STATE, "this process already publishes metrics (%s)",
				 g_self->path);
	}
	gc_dead(dir);
	if ((r = create_file(m, dir, tmp, sizeof(tmp))) < 0) {
		pthread_mutex_unlock(&g_mu);
		metrics_free(m);
		return r;
	}
	/* static part (M1: all before the magic) */
	{
		struct xs_metrics_hdr_shm *h = m->hdr;

		h->layout = XS_METRICS_LAYOUT;
		h->hdr_size = sizeof(*h);
		h->file_size = m->size;
		h->pid = m->pid;
		h->uid = (uint32_t)geteuid();
		h->start_ticks = xs_metrics_proc_start(m->pid, NULL);
		h->created_ns = real_ns();
		h->created_mono_ns = mono_ns();
		h->interval_ms = m->interval_ms;
		off = sizeof(*h);
		for (unsigned s = 0; s < XS_MSECT_COUNT; s++) {
			off = (off + XS_CACHE_LINE - 1) / XS_CACHE_LINE * XS_CACHE_LINE;
			h->sect[s].off = (uint32_t)off;
			h->sect[s].count = count[s];
			h->sect[s].size = rec_size[s];
			off += (size_t)count[s] * rec_size[s];
		}
		copy_name(h->program, sizeof(h->program),
			  o.program ? o.program : program_invocation_short_name);
		copy_name(h->role, sizeof(h->role),
			  o.session ? "scheduler" : o.vsession ? "validator" : "");
		copy_name(h->socket, sizeof(h->socket), o.socket);
		h->heartbeat_ns = h->created_mono_ns;
		h->state = XS_MSTATE_STARTING;
	}
	if ((o.session || o.vsession) && (r = add_queues(m, &o)) < 0) {
		pthread_mutex_unlock(&g_mu);
		unlink(tmp);
		metrics_free(m);
		return r;
	}
	fill_static(m, &o);
	/* M1: the magic last; then the name appears, complete */
	__atomic_store_n(&m->hdr->magic, XS_METRICS_MAGIC, __ATOMIC_RELEASE);
	if (rename(tmp, m->path) < 0) {
		int e = errno;

		pthread_mutex_unlock(&g_mu);
		unlink(tmp);
		metrics_free(m);
		return xs_seterr(-e, "metrics object %s: rename into place: %s", m->path, strerror(e));
	}
	g_self = m;
	if (!o.no_atexit && !g_atexit && atexit(metrics_atexit) == 0)
		g_atexit = 1;
	pthread_mutex_unlock(&g_mu);
	*out = m;
	return 0;
}

int xs_metrics_queue_full_counter(struct xs_metrics *m, const struct xs_spsc *q,
				  const uint64_t *counter)
{
	int r = -EINVAL;

	if (!m || !q)
		return -EINVAL;
	pthread_mutex_lock(&m->mu);
	if (m->closed || !m->q)
		r = xs_seterr(-XS_ERT_STATE, "metrics closed or detached");
	for (int i = 0; m->q && i < m->nq; i++)
		if (m->q[i].q == q) {
			m->q[i].full = counter;
			r = 0;
		}
	pthread_mutex_unlock(&m->mu);
	if (r == -EINVAL)
		xs_seterr(r, "metrics: queue %p is not one of the session's", (const void *)q);
	return r;
}

int xs_metrics_start(struct xs_metrics *m)
{
	int r;

	if (!m)
		return -EINVAL;
	pthread_mutex_lock(&m->mu);
	if (m->th_running || m->closed) {
		pthread_mutex_unlock(&m->mu);
		return xs_seterr(-XS_ERT_STATE, "metrics publisher already started or closed");
	}
	sample_locked(m); /* a first sample right away */
	PUT(m->hdr->state, (uint64_t)XS_MSTATE_RUNNING);
	r = pthread_create(&m->th, NULL, publisher_main, m);
	if (r == 0)
		m->th_running = 1;
	pthread_mutex_unlock(&m->mu);
	return r ? xs_seterr(-r, "metrics publisher thread: %s", strerror(r)) : 0;
}

int xs_metrics_publish(struct xs_metrics **out, struct xs_rt *rt, const struct xs_metrics_opts *o)
{
	int r = xs_metrics_create(out, rt, o);

	if (r < 0)
		return r;
	if ((r = xs_metrics_start(*out)) < 0) {
		xs_metrics_close(*out);
		*out = NULL;
	}
	return r;
}

void xs_metrics_update(struct xs_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	if (!m->closed)
		sample_locked(m);
	pthread_mutex_unlock(&m->mu);
}

void xs__metrics_rt_gone(struct xs_rt *rt)
{
	pthread_mutex_lock(&g_mu);
	if (g_self && g_self->rt == rt && rt) {
		struct xs_metrics *m = g_self;

		pthread_mutex_lock(&m->mu);
		sample_locked(m); /* the reactors are joined: final counts */
		detach_locked(m);
		pthread_mutex_unlock(&m->mu);
	}
	pthread_mutex_unlock(&g_mu);
}

void xs_metrics_close(struct xs_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&g_mu);
	if (g_self == m)
		g_self = NULL;
	pthread_mutex_unlock(&g_mu);
	pthread_mutex_lock(&m->mu);
	m->stop = 1;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	if (m->th_running)
		pthread_join(m->th, NULL);
	pthread_mutex_lock(&m->mu);
	if (!m->closed) {
		sample_locked(m);
		m->closed = 1;
		detach_locked(m);
		/* after the last sample: a reader seeing EXITED has the final values */
		__atomic_store_n(&m->hdr->state, (uint64_t)XS_MSTATE_EXITED, __ATOMIC_RELEASE);
		unlink(m->path);
	}
	pthread_mutex_unlock(&m->mu);
	metrics_free(m);
}

/* ------------------------------------------------------------ reader */

/* Validate a header and table against @p size; @p name_pid the pid of the
 * file name (0: not of the standard form). */
static int validate(const struct xs_metrics_hdr_shm *h, size_t size, pid_t name_pid, const char *what)
{
	if (size < sizeof(*h))
		return xs_seterr(-XS_EMET_TRUNCATED, "%s: %zu bytes, shorter than the %zu-byte header",
				 what, size, sizeof(*h));
	if (h->magic != XS_METRICS_MAGIC)
		return xs_seterr(-XS_EMET_MAGIC, "%s: magic 0x%016llx, not 0x%016llx (\"XSMETRIC\")", what,
				 (unsigned long long)h->magic, XS_METRICS_MAGIC);
	if (h->layout != XS_METRICS_LAYOUT)
		return xs_seterr(-XS_EMET_LAYOUT, "%s: layout version %u, this reader knows %u%s", what,
				 h->layout, XS_METRICS_LAYOUT,
				 h->layout > XS_METRICS_LAYOUT ? " (newer writer: update the monitor)" : "");
	if (h->hdr_size != sizeof(*h))
		return xs_seterr(-XS_EMET_CORRUPT, "%s: header size %u, layout 1 has %zu", what,
				 h->hdr_size, sizeof(*h));
	if (h->file_size > size)
		return xs_seterr(-XS_EMET_TRUNCATED, "%s: %zu bytes, header says %llu", what, size,
				 (unsigned long long)h->file_size);
	if (h->file_size < size || h->file_size > XS_METRICS_MAX_SIZE)
		return xs_seterr(-XS_EMET_CORRUPT, "%s: %zu bytes, header says %llu (at most %u)", what,
				 size, (unsigned long long)h->file_size, XS_METRICS_MAX_SIZE);
	if (h->pid <= 0 || (name_pid > 0 && h->pid != name_pid))
		return xs_seterr(-XS_EMET_PID, "%s: header names pid %d, the file name pid %d", what,
				 (int)h->pid, (int)name_pid);
	if (h->interval_ms < 1 || h->interval_ms > 60000)
		return xs_seterr(-XS_EMET_CORRUPT, "%s: interval %u ms", what, h->interval_ms);
	for (unsigned s = 0; s < XS_MSECT_COUNT; s++) {
		const struct xs_metrics_sect_shm *t = &h->sect[s];

		if (t->size != rec_size[s] || t->count > XS_METRICS_MAX_RECORDS ||
		    t->off < sizeof(*h) || t->off % XS_CACHE_LINE ||
		    (uint64_t)t->off + (uint64_t)t->count * t->size > h->file_size ||
		    (s == XS_MSECT_SESSION && t->count > 1))
			return xs_seterr(-XS_EMET_CORRUPT,
					 "%s: section %u: %u records of %u bytes at offset %u (file %llu bytes, "
					 "records of %u bytes expected)",
					 what, s, t->count, t->size, t->off,
					 (unsigned long long)h->file_size, rec_size[s]);
	}
	if (h->sect[XS_MSECT_HIST].count != XS_MSTAGE_COUNT * h->sect[XS_MSECT_LTHREAD].count)
		return xs_seterr(-XS_EMET_CORRUPT, "%s: %u histograms for %u lthreads", what,
				 h->sect[XS_MSECT_HIST].count, h->sect[XS_MSECT_LTHREAD].count);
	return 0;
}

/* Whether process @p pid maps the file (@p dev, @p ino): a live writer
 * keeps its object mapped. @return 1 yes, 0 no, -1 cannot tell (maps not
 * readable). */
static int maps_file(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64], line[4096];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned maj, mnr;
		unsigned long long inode;

		/* "start-end perms offset maj:min inode path" */
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &mnr, &inode) == 3 && inode == (unsigned long long)ino &&
		    maj == major(dev) && mnr == minor(dev))
			found = 1;
		/* a line longer than the buffer: skip its tail */
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			;
	}
	fclose(f);
	return found;
}

/* The pid in a standard file name (".../xsched-123.metrics"), else 0. */
static pid_t name_pid(const char *path)
{
	const char *b = strrchr(path, '/');
	char *end;
	long pid;

	b = b ? b + 1 : path;
	if (strncmp(b, XS_METRICS_PREFIX, strlen(XS_METRICS_PREFIX)))
		return 0;
	pid = strtol(b + strlen(XS_METRICS_PREFIX), &end, 10);
	return pid > 0 && pid <= INT32_MAX && !strcmp(end, XS_METRICS_SUFFIX) ? (pid_t)pid : 0;
}

int xs_metrics_view_open(struct xs_metrics_view *v, const char *path)
{
	struct xs_metrics_hdr_shm h;
	struct stat st, pst;
	char proc[64];
	void *map;
	int fd, r;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	if (!path || strlen(path) >= sizeof(v->path))
		return xs_seterr(-ENAMETOOLONG, "metrics object path too long");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return xs_seterr(-errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return xs_seterr(-EINVAL, "%s: not a regular file", path);
	}
	if ((size_t)st.st_size < sizeof(h)) {
		close(fd);
		return xs_seterr(-XS_EMET_TRUNCATED, "%s: %lld bytes, shorter than the %zu-byte header",
				 path, (long long)st.st_size, sizeof(h));
	}
	if ((size_t)st.st_size > XS_METRICS_MAX_SIZE) {
		close(fd);
		return xs_seterr(-XS_EMET_CORRUPT, "%s: %lld bytes (at most %u)", path,
				 (long long)st.st_size, XS_METRICS_MAX_SIZE);
	}
	/* the header through read() first: a lying header never reaches mmap */
	if (pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		close(fd);
		return xs_seterr(-XS_EMET_TRUNCATED, "%s: header unreadable", path);
	}
	if ((r = validate(&h, (size_t)st.st_size, name_pid(path), path)) < 0) {
		close(fd);
		return r;
	}
	if (h.uid != (uint32_t)st.st_uid) {
		close(fd);
		return xs_seterr(-XS_EMET_PID, "%s: owned by uid %u, header says uid %u", path,
				 (unsigned)st.st_uid, h.uid);
	}
	/* a running process with that pid must be the writer: same user, same
	 * start time (else the pid was reused by another program) */
	snprintf(proc, sizeof(proc), "/proc/%d", (int)h.pid);
	if (stat(proc, &pst) == 0) {
		uint64_t start = xs_metrics_proc_start(h.pid, NULL);

		if ((uint32_t)pst.st_uid != h.uid) {
			close(fd);
			return xs_seterr(-XS_EMET_PID, "%s: process %d runs as uid %u, the object says uid %u",
					 path, (int)h.pid, (unsigned)pst.st_uid, h.uid);
		}
		if (start && start != h.start_ticks) {
			close(fd);
			return xs_seterr(-XS_EMET_PID,
					 "%s: process %d started at tick %llu, the object's writer at tick "
					 "%llu: pid %d is now another process, the object is stale",
					 path, (int)h.pid, (unsigned long long)start,
					 (unsigned long long)h.start_ticks, (int)h.pid);
		}
		/* and it must have the object mapped (unless it has closed it) */
		if (h.state != XS_MSTATE_EXITED && maps_file(h.pid, st.st_dev, st.st_ino) == 0) {
			close(fd);
			return xs_seterr(-XS_EMET_PID,
					 "%s: process %d does not map this object: not the xsched process "
					 "that wrote it",
					 path, (int)h.pid);
		}
	}
	map = mmap(NULL, (size_t)h.file_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		r = -errno;
		close(fd);
		return xs_seterr(r, "%s: mmap: %s", path, strerror(-r));
	}
	v->fd = fd;
	v->map = map;
	v->size = (size_t)h.file_size;
	v->pid = h.pid;
	snprintf(v->path, sizeof(v->path), "%s", path);
	return 0;
}

int xs_metrics_view_open_pid(struct xs_metrics_view *v, const char *dir, pid_t pid)
{
	char path[PATH_MAX];
	struct stat st;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	dir = xs_metrics_dir(dir);
	if (snprintf(path, sizeof(path), "%s/" XS_METRICS_PREFIX "%d" XS_METRICS_SUFFIX, dir,
		     (int)pid) >= (int)sizeof(path))
		return xs_seterr(-ENAMETOOLONG, "metrics directory name too long: %s", dir);
	if (lstat(path, &st) < 0 && errno == ENOENT)
		return xs_seterr(-XS_EMET_NONE, "pid %d has no metrics object (%s): %s", (int)pid, path,
				 xs_metrics_proc_start(pid, NULL)
					 ? "not an xsched process, or its metrics are off"
					 : "no such process");
	return xs_metrics_view_open(v, path);
}

void xs_metrics_view_close(struct xs_metrics_view *v)
{
	if (!v)
		return;
	if (v->map)
		munmap((void *)v->map, v->size);
	if (v->fd >= 0)
		close(v->fd);
	v->map = NULL;
	v->fd = -1;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int xs_metrics_list(const char *dir, pid_t *pids, int max)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	dir = xs_metrics_dir(dir);
	d = opendir(dir);
	if (!d)
		return xs_seterr(-errno, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		char name[PATH_MAX];
		pid_t pid;

		snprintf(name, sizeof(name), "%s", e->d_name);
		pid = name_pid(name);
		if (pid <= 0)
			continue;
		if (n < max && pids)
			pids[n] = pid;
		n++;
	}
	closedir(d);
	if (pids)
		qsort(pids, (size_t)(n < max ? n : max), sizeof(*pids), cmp_pid);
	return n;
}

static void terminate(char *s, size_t n)
{
	s[n - 1] = '\0';
}

int xs_metrics_snap(const struct xs_metrics_view *v, struct xs_metrics_snap *s)
{
	const struct xs_metrics_hdr_shm *src = (const struct xs_metrics_hdr_shm *)v->map;
	size_t words = v->size / 8;
	struct stat st;
	uint64_t *dst;
	int r, ok = 0;

	memset(s, 0, sizeof(*s));
	/* the writer never shrinks its object; a file that shrank would fault */
	if (fstat(v->fd, &st) < 0 || (size_t)st.st_size < v->size)
		return xs_seterr(-XS_EMET_TRUNCATED, "%s: shrank to %lld bytes from %zu", v->path,
				 (long long)st.st_size, v->size);
	dst = malloc(v->size);
	if (!dst)
		return -ENOMEM;
	for (int attempt = 0; attempt < SNAP_RETRIES && !ok; attempt++) {
		/* S2: acquire pairs with the publisher's release of an even seq */
		uint64_t s1 = __atomic_load_n(&src->seq, __ATOMIC_ACQUIRE), s2;

		if (s1 & 1) {
			sched_yield();
			continue;
		}
		/* acquire loads: a value stored after the odd seq makes the
		 * reload below see that seq or a later one */
		for (size_t i = 0; i < words; i++)
			dst[i] = __atomic_load_n((const uint64_t *)v->map + i, __ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&src->seq, __ATOMIC_RELAXED);
		ok = s1 == s2;
	}
	if (!ok) /* keep the last copy: each word is still exact */
		for (size_t i = 0; i < words; i++)
			dst[i] = __atomic_load_n((const uint64_t *)v->map + i, __ATOMIC_RELAXED);
	s->buf = (uint8_t *)dst;
	s->size = v->size;
	s->hdr = (const struct xs_metrics_hdr_shm *)dst;
	s->torn = !ok;
	/* the table again, on the copy we will use (the writer could lie now) */
	if ((r = validate(s->hdr, s->size, v->pid, v->path)) < 0) {
		xs_metrics_snap_free(s);
		return r;
	}
	{
		struct xs_metrics_hdr_shm *h = (struct xs_metrics_hdr_shm *)dst;

		terminate(h->program, sizeof(h->program));
		terminate(h->role, sizeof(h->role));
		terminate(h->socket, sizeof(h->socket));
	}
	for (unsigned i = 0; i < xs_metrics_count(s, XS_MSECT_REACTOR); i++) {
		struct xs_metrics_reactor_shm *x = (void *)xs_metrics_rec(s, XS_MSECT_REACTOR, i);

		terminate(x->name, sizeof(x->name));
		terminate(x->idle, sizeof(x->idle));
	}
	for (unsigned i = 0; i < xs_metrics_count(s, XS_MSECT_LTHREAD); i++)
		terminate(((struct xs_metrics_lthread_shm *)xs_metrics_rec(s, XS_MSECT_LTHREAD, i))->name,
			  16);
	for (unsigned i = 0; i < xs_metrics_count(s, XS_MSECT_QUEUE); i++)
		terminate(((struct xs_metrics_queue_shm *)xs_metrics_rec(s, XS_MSECT_QUEUE, i))->name, 24);
	for (unsigned i = 0; i < xs_metrics_count(s, XS_MSECT_HIST); i++)
		terminate(((struct xs_mhist_shm *)xs_metrics_rec(s, XS_MSECT_HIST, i))->name, 24);
	return 0;
}

void xs_metrics_snap_free(struct xs_metrics_snap *s)
{
	if (!s)
		return;
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

unsigned xs_metrics_count(const struct xs_metrics_snap *s, unsigned sect)
{
	return s && s->hdr && sect < XS_MSECT_COUNT ? s->hdr->sect[sect].count : 0;
}

const void *xs_metrics_rec(const struct xs_metrics_snap *s, unsigned sect, unsigned i)
{
	const struct xs_metrics_sect_shm *t;

	if (!s || !s->hdr || sect >= XS_MSECT_COUNT)
		return NULL;
	t = &s->hdr->sect[sect];
	return i < t->count ? s->buf + t->off + (size_t)t->size * i : NULL;
}

uint64_t xs_metrics_stale_ns(const struct xs_metrics_snap *s)
{
	return 3ull * s->hdr->interval_ms * 1000000ull + 500000000ull;
}

enum xs_metrics_live xs_metrics_liveness(const struct xs_metrics_snap *s, uint64_t now_ns,
					 uint64_t *hb_age_ns)
{
	const struct xs_metrics_hdr_shm *h = s->hdr;
	uint64_t start, age;
	char state;

	age = now_ns > h->heartbeat_ns ? now_ns - h->heartbeat_ns : 0;
	if (hb_age_ns)
		*hb_age_ns = age;
	if (h->state == XS_MSTATE_EXITED)
		return XS_MLIVE_EXITED;
	start = xs_metrics_proc_start(h->pid, &state);
	if (!start || start != h->start_ticks)
		return XS_MLIVE_DEAD;
	if (state == 'T' || state == 't')
		return XS_MLIVE_STOPPED;
	if (age > xs_metrics_stale_ns(s))
		return XS_MLIVE_STALE;
	return XS_MLIVE_LIVE;
}
