/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-monitor renderers: the text frame (terminal view, plain output,
 * --once table), JSON ("xsched.monitor/1") and the Prometheus text
 * exposition format (version 0.0.4).
 */
#include "mon.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"
#include "xsched/runtime.h"

#define NS 1e-9

static long clk_tck = 100; /* from struct mon at each render */

/* ------------------------------------------------------------ frames */

void mon_frame_add(struct mon_frame *f, int attr, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (f->n == f->cap) {
		int cap = f->cap ? 2 * f->cap : 64;
		char **l = realloc(f->line, sizeof(*l) * (size_t)cap);
		int *a = l ? realloc(f->attr, sizeof(*a) * (size_t)cap) : NULL;

		if (l)
			f->line = l;
		if (!l || !a)
			return;
		f->attr = a;
		f->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	f->line[f->n] = s;
	f->attr[f->n++] = attr;
}

void mon_frame_free(struct mon_frame *f)
{
	for (int i = 0; i < f->n; i++)
		free(f->line[i]);
	free(f->line);
	free(f->attr);
	memset(f, 0, sizeof(*f));
}

/* "12.3M", "950", "-" */
static const char *si(char *buf, size_t n, double v)
{
	static const char *const suf[] = { "", "k", "M", "G", "T" };
	int k = 0;

	if (v < 0 || !isfinite(v))
		return "-";
	while (v >= 999.5 && k < 4) {
		v /= 1000;
		k++;
	}
	snprintf(buf, n, k ? "%.3g%s" : "%.0f%s", v, suf[k]);
	return buf;
}

static const char *bytes_h(char *buf, size_t n, double v)
{
	static const char *const suf[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int k = 0;

	while (v >= 1024 && k < 4) {
		v /= 1024;
		k++;
	}
	snprintf(buf, n, k ? "%.1f %s" : "%.0f %s", v, suf[k]);
	return buf;
}

static const char *dur_h(char *buf, size_t n, double ns)
{
	if (ns < 1e3)
		snprintf(buf, n, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(buf, n, "%.1fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, n, "%.1fms", ns / 1e6);
	else
		snprintf(buf, n, "%.1fs", ns / 1e9);
	return buf;
}

static const char *pct(char *buf, size_t n, double num, double den)
{
	if (den <= 0)
		return "-";
	snprintf(buf, n, "%.1f%%", 100.0 * num / den);
	return buf;
}

static const char *live_label(enum xs_metrics_live l)
{
	switch (l) {
	case XS_MLIVE_LIVE: return "LIVE";
	case XS_MLIVE_STALE: return "STALE";
	case XS_MLIVE_STOPPED: return "STALE (stopped)";
	case XS_MLIVE_EXITED: return "EXITED (final values)";
	case XS_MLIVE_DEAD: return "DEAD";
	}
	return "?";
}

static const char *lt_state(uint64_t s)
{
	switch (s) {
	case XS_LT_NEW: return "new";
	case XS_LT_RUNNING: return "running";
	case XS_LT_DONE: return "done";
	case XS_LT_FAILED: return "failed";
	case XS_LT_STOPPED: return "stopped";
	}
	return "?";
}

#define D(p, sect, i, type, field) mon_delta(p, sect, i, offsetof(type, field))

static void render_proc(struct mon_proc *p, struct mon_frame *f)
{
	const struct xs_metrics_snap *s = &p->cur.snap;
	const struct xs_metrics_hdr_shm *h = s->hdr;
	double dt = mon_dt_s(p);
	char a[32], b[32], c[32], d[32], e[32], g[32], k[32];
	int bad = p->cur.live != XS_MLIVE_LIVE && p->cur.live != XS_MLIVE_EXITED;

	mon_frame_add(f, bad ? MA_BAD : MA_HEAD,
		      "pid %d  %s%s%s  %s%s  %s  heartbeat %s ago  up %.1fs  samples %llu", (int)h->pid,
		      h->program, h->role[0] ? "  " : "", h->role, h->socket[0] ? "socket " : "",
		      h->socket, live_label(p->cur.live), dur_h(a, sizeof(a), (double)p->cur.hb_age_ns),
		      (double)(h->heartbeat_ns - h->created_mono_ns) * NS, (unsigned long long)h->samples);
	if (xs_metrics_count(s, XS_MSECT_SESSION)) {
		const struct xs_metrics_session_shm *ss = xs_metrics_rec(s, XS_MSECT_SESSION, 0);

		mon_frame_add(f, ss->peer_alive ? MA_NORMAL : MA_BAD,
			      "  session: protocol %u, %u workers, %u allocator handles, peer pid %lld %s",
			      ss->version, ss->num_workers, ss->num_allocs, (long long)ss->peer_pid,
			      ss->peer_alive ? "alive" : "GONE");
		if (ss->alloc_file_size)
			mon_frame_add(f, ss->alloc_anomalies ? MA_WARN : MA_NORMAL,
				      "  allocator: %s file, %llu slabs of %s, %llu free, %llu never used, %s "
				      "in use%s",
				      bytes_h(a, sizeof(a), (double)ss->alloc_file_size),
				      (unsigned long long)ss->alloc_num_slabs,
				      bytes_h(b, sizeof(b), (double)ss->alloc_slab_size),
				      (unsigned long long)ss->alloc_global_free,
				      (unsigned long long)ss->alloc_never_assigned,
				      bytes_h(c, sizeof(c), (double)ss->alloc_bytes_in_use),
				      ss->alloc_anomalies ? " (list anomalies seen)" : "");
	}

	/* reactors */
	mon_frame_add(f, MA_HEAD, "  %-15s %4s %4s %4s %8s %-8s %9s %6s %6s %7s %7s %7s  %s", "reactor",
		      "cpu", "plan", "last", "tid", "idle", dt ? "rounds/s" : "rounds", "busy", "cpu",
		      "vcsw/s", "ivcsw/s", "hb", "state");
	for (unsigned r = 0; r < xs_metrics_count(s, XS_MSECT_REACTOR); r++) {
		const struct xs_metrics_reactor_shm *rr = xs_metrics_rec(s, XS_MSECT_REACTOR, r);
		const struct mon_thr *t = p->cur.thr ? &p->cur.thr[r] : NULL;
		const struct mon_thr *t0 = p->prev.ok && p->prev.thr &&
						   r < xs_metrics_count(&p->prev.snap, XS_MSECT_REACTOR)
					   ? &p->prev.thr[r]
					   : NULL;
		uint64_t dr = D(p, XS_MSECT_REACTOR, r, struct xs_metrics_reactor_shm, rounds);
		uint64_t di = D(p, XS_MSECT_REACTOR, r, struct xs_metrics_reactor_shm, idle_rounds);
		int stale = mon_reactor_stale(p, r);
		int moved = t && t->ok && rr->cpu >= 0 && t->last_cpu >= 0 && t->last_cpu != rr->cpu;
		uint64_t dv = t && t0 && t->ok && t0->ok ? t->vcsw - t0->vcsw : 0;
		uint64_t dn = t && t0 && t->ok && t0->ok ? t->ivcsw - t0->ivcsw : 0;
		/* preempted while it should own its core (a busy-poll reactor) */
		int desched = dn && !strcmp(rr->idle, "spin");
		char flags[64];

		snprintf(flags, sizeof(flags), "%c%s%s%s%s", t && t->ok ? t->state : '-',
			 stale ? " STALE" : "", desched ? " DESCHEDULED" : "", moved ? " MOVED" : "",
			 rr->running ? "" : " not running");
		if (dt > 0 && t && t0 && t->ok && t0->ok)
			snprintf(e, sizeof(e), "%.0f%%",
				 100.0 * (double)(t->cpu_ticks - t0->cpu_ticks) / (dt * (double)clk_tck));
		else
			snprintf(e, sizeof(e), "-");
		mon_frame_add(f, stale ? MA_BAD : (desched || moved) ? MA_WARN : rr->running ? MA_NORMAL : MA_DIM,
			      "  %-15s %4lld %4lld %4d %8lld %-8s %9s %6s %6s %7s %7s %7s  %s", rr->name,
			      (long long)rr->cpu, (long long)rr->plan_cpu, t && t->ok ? t->last_cpu : -1,
			      (long long)rr->tid, rr->idle,
			      dt ? si(a, sizeof(a), (double)dr / dt) : si(a, sizeof(a), (double)rr->rounds),
			      dt ? pct(b, sizeof(b), (double)(dr - di), (double)dr)
				 : pct(b, sizeof(b), (double)(rr->rounds - rr->idle_rounds), (double)rr->rounds),
			      e, dt ? si(c, sizeof(c), (double)dv / dt) : "-",
			      dt ? si(d, sizeof(d), (double)dn / dt) : "-",
			      dur_h(g, sizeof(g), (double)(h->heartbeat_ns - rr->heartbeat_ns) +
						  (double)p->cur.hb_age_ns),
			      flags);
	}

	/* lightweight threads */
	if (xs_metrics_count(s, XS_MSECT_LTHREAD)) {
		mon_frame_add(f, MA_HEAD, "  %-15s %-15s %9s %9s %6s %12s  %s", "lthread", "reactor",
			      dt ? "polls/s" : "polls", dt ? "items/s" : "items", "busy", "items", "state");
		for (unsigned i = 0; i < xs_metrics_count(s, XS_MSECT_LTHREAD); i++) {
			const struct xs_metrics_lthread_shm *l = xs_metrics_rec(s, XS_MSECT_LTHREAD, i);
			const struct xs_metrics_reactor_shm *rr =
				xs_metrics_rec(s, XS_MSECT_REACTOR, (unsigned)l->reactor);
			uint64_t dp = D(p, XS_MSECT_LTHREAD, i, struct xs_metrics_lthread_shm, polls);
			uint64_t db = D(p, XS_MSECT_LTHREAD, i, struct xs_metrics_lthread_shm, busy_polls);
			uint64_t dI = D(p, XS_MSECT_LTHREAD, i, struct xs_metrics_lthread_shm, items);

			mon_frame_add(f, l->state == XS_LT_FAILED ? MA_BAD : MA_NORMAL,
				      "  %-15s %-15s %9s %9s %6s %12llu  %s", l->name, rr ? rr->name : "?",
				      si(a, sizeof(a), dt ? (double)dp / dt : (double)l->polls),
				      si(b, sizeof(b), dt ? (double)dI / dt : (double)l->items),
				      dt ? pct(c, sizeof(c), (double)db, (double)dp)
					 : pct(c, sizeof(c), (double)l->busy_polls, (double)l->polls),
				      (unsigned long long)l->items, lt_state(l->state));
		}
	}

	/* queues */
	if (xs_metrics_count(s, XS_MSECT_QUEUE)) {
		mon_frame_add(f, MA_HEAD, "  %-19s %-4s %17s %9s %9s %12s %12s %10s", "queue", "end",
			      "depth/capacity", dt ? "items/s" : "items", dt ? "full/s" : "full", "produced",
			      "consumed", "full");
		for (unsigned i = 0; i < xs_metrics_count(s, XS_MSECT_QUEUE); i++) {
			const struct xs_metrics_queue_shm *q = xs_metrics_rec(s, XS_MSECT_QUEUE, i);
			uint64_t dc = D(p, XS_MSECT_QUEUE, i, struct xs_metrics_queue_shm, read);
			uint64_t df = D(p, XS_MSECT_QUEUE, i, struct xs_metrics_queue_shm, full);
			int known = q->write != XS_METRICS_NA && q->read != XS_METRICS_NA;
			uint64_t depth = known ? q->write - q->read : 0;
			char dep[48];

			if (known)
				snprintf(dep, sizeof(dep), "%llu/%llu", (unsigned long long)depth,
					 (unsigned long long)q->capacity);
			else
				snprintf(dep, sizeof(dep), "-/%llu", (unsigned long long)q->capacity);
			snprintf(e, sizeof(e), "%llu", (unsigned long long)q->full);
			snprintf(g, sizeof(g), "%llu", (unsigned long long)q->write);
			snprintf(k, sizeof(k), "%llu", (unsigned long long)q->read);
			mon_frame_add(f, known && depth > q->capacity ? MA_BAD
					 : known && depth == q->capacity ? MA_WARN
									 : MA_NORMAL,
				      "  %-19s %-4s %17s %9s %9s %12s %12s %10s", q->name,
				      q->role == XS_MQ_PRODUCER ? "prod" : "cons", dep,
				      known ? si(a, sizeof(a), dt ? (double)dc / dt : (double)q->read) : "-",
				      q->full == XS_METRICS_NA ? "-"
				      : dt ? si(b, sizeof(b), (double)df / dt) : si(b, sizeof(b), (double)q->full),
				      known ? g : "-", known ? k : "-", q->full == XS_METRICS_NA ? "-" : e);
		}
	}

	/* latency */
	{
		int any = 0;

		for (unsigned st = 0; st < XS_MSTAGE_COUNT; st++) {
			uint64_t n_all, n_int;
			double p50 = mon_stage_quantile_ns(p, st, 0, 0.5, &n_all);
			double p99 = mon_stage_quantile_ns(p, st, 0, 0.99, NULL);
			double i50 = mon_stage_quantile_ns(p, st, 1, 0.5, &n_int);
			double i99 = mon_stage_quantile_ns(p, st, 1, 0.99, NULL);

			if (!n_all)
				continue;
			if (!any)
				mon_frame_add(f, MA_HEAD, "  %-19s %9s %9s %9s | %12s %9s %9s", "latency",
					      "n/s", "p50", "p99", "total n", "p50", "p99");
			any = 1;
			if (dt > 0 && n_int)
				mon_frame_add(f, MA_NORMAL, "  %-19s %9s %9s %9s | %12llu %9s %9s",
					      xs_mstage_name(st), si(a, sizeof(a), (double)n_int / dt),
					      dur_h(b, sizeof(b), i50), dur_h(c, sizeof(c), i99),
					      (unsigned long long)n_all, dur_h(d, sizeof(d), p50),
					      dur_h(e, sizeof(e), p99));
			else
				mon_frame_add(f, MA_NORMAL, "  %-19s %9s %9s %9s | %12llu %9s %9s",
					      xs_mstage_name(st), "-", "-", "-", (unsigned long long)n_all,
					      dur_h(d, sizeof(d), p50), dur_h(e, sizeof(e), p99));
		}
	}

	/* allocator handles with something in use */
	{
		int any = 0;

		for (unsigned w = 0; w < xs_metrics_count(s, XS_MSECT_ALLOC); w++) {
			const struct xs_metrics_alloc_shm *al = xs_metrics_rec(s, XS_MSECT_ALLOC, w);
			char cls[96];
			size_t used = 0;

			if (!al->slabs && !al->ours)
				continue;
			if (!any)
				mon_frame_add(f, MA_HEAD, "  %-8s %-4s %6s %11s %7s  %s", "alloc", "ours",
					      "slabs", "in use", "remote", "slabs per class 256/512/1k/2k/4k");
			any = 1;
			cls[0] = '\0';
			for (unsigned c2 = 0; c2 < 5; c2++)
				used += (size_t)snprintf(cls + used, sizeof(cls) - used, "%s%llu", c2 ? "/" : "",
							 (unsigned long long)al->cls_slabs[c2]);
			mon_frame_add(f, MA_NORMAL, "  %-8u %-4s %6llu %11s %7llu  %s", al->worker,
				      al->ours ? "yes" : "", (unsigned long long)al->slabs,
				      bytes_h(a, sizeof(a), (double)al->bytes_in_use),
				      (unsigned long long)al->remote_pending, cls);
		}
	}
}

void mon_render_text(struct mon *m, struct mon_frame *f)
{
	int shown = 0;

	clk_tck = m->clk_tck;
	for (int i = 0; i < m->np; i++) {
		struct mon_proc *p = &m->p[i];

		if (!p->cur.ok)
			continue;
		if (!m->all && !m->explicit_targets && p->cur.live == XS_MLIVE_DEAD)
			continue;
		if (shown++)
			mon_frame_add(f, MA_NORMAL, "%s", "");
		render_proc(p, f);
	}
	if (!shown)
		mon_frame_add(f, MA_DIM, "no xsched process publishes metrics in %s",
			      xs_metrics_dir(m->dir));
}

/* ------------------------------------------------------------ JSON */

static int json_skip(const struct mon *m, const struct mon_proc *p)
{
	return !p->cur.ok || (!m->all && !m->explicit_targets && p->cur.live == XS_MLIVE_DEAD);
}

static void json_proc(struct xs_json *j, struct mon_proc *p)
{
	const struct xs_metrics_snap *s = &p->cur.snap;
	const struct xs_metrics_hdr_shm *h = s->hdr;
	double dt = mon_dt_s(p);

	xs_json_obj_begin(j, NULL);
	xs_json_i64(j, "pid", h->pid);
	xs_json_str(j, "program", h->program);
	xs_json_str(j, "role", h->role);
	xs_json_str(j, "socket", h->socket);
	xs_json_str(j, "state", xs_metrics_live_name(p->cur.live));
	xs_json_num(j, "heartbeat_age_s", (double)p->cur.hb_age_ns * NS, 3);
	xs_json_num(j, "uptime_s", (double)(h->heartbeat_ns - h->created_mono_ns) * NS, 3);
	xs_json_u64(j, "interval_ms", h->interval_ms);
	xs_json_u64(j, "samples", h->samples);
	xs_json_u64(j, "sample_ns", h->sample_ns);
	xs_json_bool(j, "torn", s->torn);
	if (dt > 0)
		xs_json_num(j, "rate_interval_s", dt, 3);
	else
		xs_json_null(j, "rate_interval_s");
	if (xs_metrics_count(s, XS_MSECT_SESSION)) {
		const struct xs_metrics_session_shm *ss = xs_metrics_rec(s, XS_MSECT_SESSION, 0);

		xs_json_obj_begin(j, "session");
		xs_json_u64(j, "protocol", ss->version);
		xs_json_str(j, "role", ss->role == XS_MROLE_VALIDATOR ? "validator" : "scheduler");
		xs_json_u64(j, "workers", ss->num_workers);
		xs_json_u64(j, "allocator_handles", ss->num_allocs);
		xs_json_i64(j, "peer_pid", ss->peer_pid);
		xs_json_bool(j, "peer_alive", (int)ss->peer_alive);
		xs_json_u64(j, "alloc_file_bytes", ss->alloc_file_size);
		xs_json_u64(j, "alloc_slabs", ss->alloc_num_slabs);
		xs_json_u64(j, "alloc_slab_bytes", ss->alloc_slab_size);
		xs_json_u64(j, "alloc_global_free_slabs", ss->alloc_global_free);
		xs_json_u64(j, "alloc_never_assigned_slabs", ss->alloc_never_assigned);
		xs_json_u64(j, "alloc_bytes_in_use", ss->alloc_bytes_in_use);
		xs_json_u64(j, "alloc_anomalies", ss->alloc_anomalies);
		xs_json_obj_end(j);
	}
	xs_json_arr_begin(j, "reactors");
	for (unsigned r = 0; r < xs_metrics_count(s, XS_MSECT_REACTOR); r++) {
		const struct xs_metrics_reactor_shm *rr = xs_metrics_rec(s, XS_MSECT_REACTOR, r);
		const struct mon_thr *t = &p->cur.thr[r];
		uint64_t dr = D(p, XS_MSECT_REACTOR, r, struct xs_metrics_reactor_shm, rounds);
		uint64_t di = D(p, XS_MSECT_REACTOR, r, struct xs_metrics_reactor_shm, idle_rounds);

		xs_json_obj_begin(j, NULL);
		xs_json_str(j, "name", rr->name);
		xs_json_i64(j, "cpu", rr->cpu);
		xs_json_i64(j, "plan_cpu", rr->plan_cpu);
		xs_json_i64(j, "observed_cpu", rr->observed_cpu);
		xs_json_i64(j, "last_cpu", t->ok ? t->last_cpu : -1);
		xs_json_i64(j, "tid", rr->tid);
		xs_json_i64(j, "node", rr->node);
		xs_json_str(j, "idle", rr->idle);
		xs_json_bool(j, "running", (int)rr->running);
		xs_json_bool(j, "stale", mon_reactor_stale(p, r));
		xs_json_u64(j, "rounds", rr->rounds);
		xs_json_u64(j, "idle_rounds", rr->idle_rounds);
		xs_json_u64(j, "yields", rr->yields);
		xs_json_u64(j, "sleeps", rr->sleeps);
		xs_json_num(j, "heartbeat_age_s",
			    (double)(h->heartbeat_ns - rr->heartbeat_ns) * NS + (double)p->cur.hb_age_ns * NS, 3);
		if (t->ok) {
			char st[2] = { t->state, 0 };

			xs_json_str(j, "thread_state", st);
			xs_json_u64(j, "voluntary_ctxt_switches", t->vcsw);
			xs_json_u64(j, "nonvoluntary_ctxt_switches", t->ivcsw);
			xs_json_num(j, "cpu_seconds", (double)t->cpu_ticks / (double)clk_tck, 2);
		}
		if (dt > 0) {
			xs_json_num(j, "rounds_per_s", (double)dr / dt, 1);
			xs_json_num(j, "busy_share", dr ? (double)(dr - di) / (double)dr : 0, 4);
		}
		xs_json_obj_end(j);
	}
	xs_json_arr_end(j);
	xs_json_arr_begin(j, "lthreads");
	for (unsigned i = 0; i < xs_metrics_count(s, XS_MSECT_LTHREAD); i++) {
		const struct xs_metrics_lthread_shm *l = xs_metrics_rec(s, XS_MSECT_LTHREAD, i);
		uint64_t dp = D(p, XS_MSECT_LTHREAD, i, struct xs_metrics_lthread_shm, polls);
		uint64_t db = D(p, XS_MSECT_LTHREAD, i, struct xs_metrics_lthread_shm, busy_polls);
		uint64_t dI = D(p, XS_MSECT_LTHREAD, i, struct xs_metrics_lthread_shm, items);

		xs_json_obj_begin(j, NULL);
		xs_json_str(j, "name", l->name);
		xs_json_i64(j, "reactor", l->reactor);
		xs_json_str(j, "state", lt_state(l->state));
		xs_json_i64(j, "err", l->err);
		xs_json_u64(j, "polls", l->polls);
		xs_json_u64(j, "busy_polls", l->busy_polls);
		xs_json_u64(j, "items", l->items);
		if (dt > 0) {
			xs_json_num(j, "polls_per_s", (double)dp / dt, 1);
			xs_json_num(j, "items_per_s", (double)dI / dt, 1);
			xs_json_num(j, "busy_share", dp ? (double)db / (double)dp : 0, 4);
		}
		xs_json_obj_end(j);
	}
	xs_json_arr_end(j);
	xs_json_arr_begin(j, "queues");
	for (unsigned i = 0; i < xs_metrics_count(s, XS_MSECT_QUEUE); i++) {
		const struct xs_metrics_queue_shm *q = xs_metrics_rec(s, XS_MSECT_QUEUE, i);
		int known = q->write != XS_METRICS_NA && q->read != XS_METRICS_NA;

		xs_json_obj_begin(j, NULL);
		xs_json_str(j, "name", q->name);
		xs_json_str(j, "end", q->role == XS_MQ_PRODUCER ? "producer" : "consumer");
		xs_json_u64(j, "format", q->format);
		xs_json_u64(j, "capacity", q->capacity);
		if (known) {
			xs_json_u64(j, "produced", q->write);
			xs_json_u64(j, "consumed", q->read);
			xs_json_u64(j, "depth", q->write - q->read);
		} else {
			xs_json_null(j, "produced");
			xs_json_null(j, "consumed");
			xs_json_null(j, "depth");
		}
		if (q->full != XS_METRICS_NA)
			xs_json_u64(j, "full", q->full);
		else
			xs_json_null(j, "full");
		if (dt > 0 && known)
			xs_json_num(j, "items_per_s",
				    (double)D(p, XS_MSECT_QUEUE, i, struct xs_metrics_queue_shm, read) / dt, 1);
		xs_json_obj_end(j);
	}
	xs_json_arr_end(j);
	xs_json_arr_begin(j, "alloc");
	for (unsigned w = 0; w < xs_metrics_count(s, XS_MSECT_ALLOC); w++) {
		const struct xs_metrics_alloc_shm *al = xs_metrics_rec(s, XS_MSECT_ALLOC, w);

		xs_json_obj_begin(j, NULL);
		xs_json_u64(j, "worker", al->worker);
		xs_json_bool(j, "ours", (int)al->ours);
		xs_json_u64(j, "slabs", al->slabs);
		xs_json_u64(j, "bytes_in_use", al->bytes_in_use);
		xs_json_u64(j, "remote_pending_slabs", al->remote_pending);
		xs_json_arr_begin_inline(j, "class_slabs");
		for (unsigned c = 0; c < 5; c++)
			xs_json_u64(j, NULL, al->cls_slabs[c]);
		xs_json_arr_end(j);
		xs_json_arr_begin_inline(j, "class_bytes");
		for (unsigned c = 0; c < 5; c++)
			xs_json_u64(j, NULL, al->cls_bytes[c]);
		xs_json_arr_end(j);
		xs_json_obj_end(j);
	}
	xs_json_arr_end(j);
	xs_json_arr_begin(j, "latency");
	for (unsigned st = 0; st < XS_MSTAGE_COUNT; st++) {
		uint64_t n, sum = 0, max = 0, b[XS_MHIST_BUCKETS] = { 0 };

		mon_stage_quantile_ns(p, st, 0, 0.5, &n);
		if (!n)
			continue;
		for (unsigned i = 0; i < xs_metrics_count(s, XS_MSECT_HIST); i++) {
			const struct xs_mhist_shm *hh = xs_metrics_rec(s, XS_MSECT_HIST, i);

			if (hh->stage != st)
				continue;
			sum += hh->sum_ns;
			if (hh->max_ns > max)
				max = hh->max_ns;
			for (unsigned k = 0; k < XS_MHIST_BUCKETS; k++)
				b[k] += hh->b[k];
		}
		xs_json_obj_begin(j, NULL);
		xs_json_str(j, "stage", xs_mstage_name(st));
		xs_json_u64(j, "count", n);
		xs_json_u64(j, "sum_ns", sum);
		xs_json_u64(j, "max_ns", max);
		xs_json_num(j, "p50_ns", mon_stage_quantile_ns(p, st, 0, 0.5, NULL), 0);
		xs_json_num(j, "p99_ns", mon_stage_quantile_ns(p, st, 0, 0.99, NULL), 0);
		xs_json_arr_begin_inline(j, "buckets_log2_ns");
		for (unsigned k = 0; k < XS_MHIST_BUCKETS; k++)
			xs_json_u64(j, NULL, b[k]);
		xs_json_arr_end(j);
		xs_json_obj_end(j);
	}
	xs_json_arr_end(j);
	xs_json_obj_end(j);
}

void mon_render_json(struct mon *m, FILE *out)
{
	struct xs_json j;

	clk_tck = m->clk_tck;
	xs_json_init(&j, out);
	xs_json_obj_begin(&j, NULL);
	xs_json_str(&j, "schema", "xsched.monitor/1");
	xs_json_str(&j, "dir", xs_metrics_dir(m->dir));
	xs_json_arr_begin(&j, "processes");
	for (int i = 0; i < m->np; i++)
		if (!json_skip(m, &m->p[i]))
			json_proc(&j, &m->p[i]);
	xs_json_arr_end(&j);
	xs_json_obj_end(&j);
	xs_json_finish(&j);
}

void mon_render_list(struct mon *m, FILE *out, int json)
{
	struct xs_json j;

	if (json) {
		xs_json_init(&j, out);
		xs_json_obj_begin(&j, NULL);
		xs_json_str(&j, "schema", "xsched.monitor.list/1");
		xs_json_arr_begin(&j, "processes");
	} else {
		fprintf(out, "%8s  %-20s %-10s %-8s %10s  %s\n", "pid", "program", "role", "state",
			"heartbeat", "socket");
	}
	for (int i = 0; i < m->np; i++) {
		struct mon_proc *p = &m->p[i];
		const struct xs_metrics_hdr_shm *h = p->cur.snap.hdr;
		char a[32];

		if (json_skip(m, p))
			continue;
		if (json) {
			xs_json_obj_begin(&j, NULL);
			xs_json_i64(&j, "pid", h->pid);
			xs_json_str(&j, "program", h->program);
			xs_json_str(&j, "role", h->role);
			xs_json_str(&j, "state", xs_metrics_live_name(p->cur.live));
			xs_json_num(&j, "heartbeat_age_s", (double)p->cur.hb_age_ns * NS, 3);
			xs_json_str(&j, "socket", h->socket);
			xs_json_str(&j, "path", p->view.path);
			xs_json_obj_end(&j);
		} else {
			fprintf(out, "%8d  %-20s %-10s %-8s %10s  %s\n", (int)h->pid, h->program,
				h->role[0] ? h->role : "-", xs_metrics_live_name(p->cur.live),
				dur_h(a, sizeof(a), (double)p->cur.hb_age_ns), h->socket[0] ? h->socket : "-");
		}
	}
	if (json) {
		xs_json_arr_end(&j);
		xs_json_obj_end(&j);
		xs_json_finish(&j);
	}
}

/* ------------------------------------------------------------ Prometheus */

static void esc(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f), fputc(*v, f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{pid="..",program=".."  (the caller adds its labels and the value) */
static void series(FILE *f, const char *name, const struct mon_proc *p)
{
	fprintf(f, "%s{pid=\"%d\",program=\"", name, (int)p->cur.snap.hdr->pid);
	esc(f, p->cur.snap.hdr->program);
	fputc('"', f);
}

static int prom_skip(const struct mon *m, const struct mon_proc *p)
{
	return !p->cur.ok || (!m->all && p->cur.live == XS_MLIVE_DEAD);
}

#define FOR_PROCS(m, p)                                                  \
	for (int pi_ = 0; pi_ < (m)->np; pi_++)                          \
		for (struct mon_proc *p = &(m)->p[pi_]; p && !prom_skip(m, p); p = NULL)

static void prom_reactor_counter(struct mon *m, FILE *f, const char *name, const char *help,
				 size_t off)
{
	family(f, name, "counter", help);
	FOR_PROCS(m, p)
	for (unsigned r = 0; r < xs_metrics_count(&p->cur.snap, XS_MSECT_REACTOR); r++) {
		const uint8_t *rec = xs_metrics_rec(&p->cur.snap, XS_MSECT_REACTOR, r);
		uint64_t v;

		memcpy(&v, rec + off, 8);
		series(f, name, p);
		fputs(",reactor=\"", f);
		esc(f, ((const struct xs_metrics_reactor_shm *)rec)->name);
		fprintf(f, "\"} %llu\n", (unsigned long long)v);
	}
}

static void prom_lthread_counter(struct mon *m, FILE *f, const char *name, const char *help,
				 size_t off)
{
	family(f, name, "counter", help);
	FOR_PROCS(m, p)
	for (unsigned i = 0; i < xs_metrics_count(&p->cur.snap, XS_MSECT_LTHREAD); i++) {
		const struct xs_metrics_lthread_shm *l = xs_metrics_rec(&p->cur.snap, XS_MSECT_LTHREAD, i);
		const struct xs_metrics_reactor_shm *rr =
			xs_metrics_rec(&p->cur.snap, XS_MSECT_REACTOR, (unsigned)l->reactor);
		uint64_t v;

		memcpy(&v, (const uint8_t *)l + off, 8);
		series(f, name, p);
		fputs(",lthread=\"", f);
		esc(f, l->name);
		fputs("\",reactor=\"", f);
		esc(f, rr ? rr->name : "?");
		fprintf(f, "\"} %llu\n", (unsigned long long)v);
	}
}

/* Queue values: which 0 produced, 1 consumed, 2 full, 3 depth, 4 capacity. */
static void prom_queue(struct mon *m, FILE *f, const char *name, const char *type, const char *help,
		       int which)
{
	family(f, name, type, help);
	FOR_PROCS(m, p)
	for (unsigned i = 0; i < xs_metrics_count(&p->cur.snap, XS_MSECT_QUEUE); i++) {
		const struct xs_metrics_queue_shm *q = xs_metrics_rec(&p->cur.snap, XS_MSECT_QUEUE, i);
		int known = q->write != XS_METRICS_NA && q->read != XS_METRICS_NA;
		uint64_t v;

		switch (which) {
		case 0: v = q->write; break;
		case 1: v = q->read; break;
		case 2: v = q->full; break;
		case 3: v = known ? q->write - q->read : XS_METRICS_NA; break;
		default: v = q->capacity; break;
		}
		if (v == XS_METRICS_NA || (which <= 1 && !known))
			continue;
		series(f, name, p);
		fputs(",queue=\"", f);
		esc(f, q->name);
		fprintf(f, "\",end=\"%s\"} %llu\n", q->role == XS_MQ_PRODUCER ? "producer" : "consumer",
			(unsigned long long)v);
	}
}

/* Allocator values per worker and class: which 0 bytes, 1 slabs, 2 remote pending. */
static void prom_alloc(struct mon *m, FILE *f, const char *name, const char *help, int which)
{
	static const char *const cls[] = { "256", "512", "1024", "2048", "4096" };

	family(f, name, "gauge", help);
	FOR_PROCS(m, p)
	for (unsigned w = 0; w < xs_metrics_count(&p->cur.snap, XS_MSECT_ALLOC); w++) {
		const struct xs_metrics_alloc_shm *al = xs_metrics_rec(&p->cur.snap, XS_MSECT_ALLOC, w);

		for (unsigned c = 0; c < 5; c++) {
			uint64_t v = which == 0 ? al->cls_bytes[c] : which == 1 ? al->cls_slabs[c]
										: al->cls_remote[c];

			series(f, name, p);
			fprintf(f, ",worker=\"%u\",ours=\"%u\",class=\"%s\"} %llu\n", al->worker, al->ours,
				cls[c], (unsigned long long)v);
		}
	}
}

void mon_render_prom(struct mon *m, FILE *f)
{
	family(f, "xsched_up", "gauge", "1 when the process is alive and its metrics heartbeat is fresh.");
	FOR_PROCS(m, p)
	{
		series(f, "xsched_up", p);
		fprintf(f, "} %d\n", p->cur.live == XS_MLIVE_LIVE);
	}
	family(f, "xsched_process_info", "gauge",
	       "Process publishing xsched metrics (labels: role, socket, state); always 1.");
	FOR_PROCS(m, p)
	{
		series(f, "xsched_process_info", p);
		fputs(",role=\"", f);
		esc(f, p->cur.snap.hdr->role);
		fputs("\",socket=\"", f);
		esc(f, p->cur.snap.hdr->socket);
		fprintf(f, "\",state=\"%s\"} 1\n", xs_metrics_live_name(p->cur.live));
	}
	family(f, "xsched_start_time_seconds", "gauge", "When the metrics object was created (Unix time).");
	FOR_PROCS(m, p)
	{
		series(f, "xsched_start_time_seconds", p);
		fprintf(f, "} %.3f\n", (double)p->cur.snap.hdr->created_ns * NS);
	}
	family(f, "xsched_heartbeat_age_seconds", "gauge", "Age of the publisher's last sample.");
	FOR_PROCS(m, p)
	{
		series(f, "xsched_heartbeat_age_seconds", p);
		fprintf(f, "} %.6f\n", (double)p->cur.hb_age_ns * NS);
	}
	family(f, "xsched_metrics_samples_total", "counter", "Samples taken by the metrics publisher.");
	FOR_PROCS(m, p)
	{
		series(f, "xsched_metrics_samples_total", p);
		fprintf(f, "} %llu\n", (unsigned long long)p->cur.snap.hdr->samples);
	}

	family(f, "xsched_reactor_info", "gauge",
	       "Reactor thread (labels: tid, pinned cpu, planned cpu, idle strategy); always 1.");
	FOR_PROCS(m, p)
	for (unsigned r = 0; r < xs_metrics_count(&p->cur.snap, XS_MSECT_REACTOR); r++) {
		const struct xs_metrics_reactor_shm *rr = xs_metrics_rec(&p->cur.snap, XS_MSECT_REACTOR, r);

		series(f, "xsched_reactor_info", p);
		fputs(",reactor=\"", f);
		esc(f, rr->name);
		fprintf(f, "\",tid=\"%lld\",cpu=\"%lld\",plan_cpu=\"%lld\",idle=\"", (long long)rr->tid,
			(long long)rr->cpu, (long long)rr->plan_cpu);
		esc(f, rr->idle);
		fputs("\"} 1\n", f);
	}
	family(f, "xsched_reactor_running", "gauge", "1 while the reactor thread runs its loop.");
	FOR_PROCS(m, p)
	for (unsigned r = 0; r < xs_metrics_count(&p->cur.snap, XS_MSECT_REACTOR); r++) {
		const struct xs_metrics_reactor_shm *rr = xs_metrics_rec(&p->cur.snap, XS_MSECT_REACTOR, r);

		series(f, "xsched_reactor_running", p);
		fputs(",reactor=\"", f);
		esc(f, rr->name);
		fprintf(f, "\"} %llu\n", (unsigned long long)rr->running);
	}
	family(f, "xsched_reactor_last_cpu", "gauge", "CPU the reactor thread last ran on (/proc).");
	FOR_PROCS(m, p)
	for (unsigned r = 0; r < xs_metrics_count(&p->cur.snap, XS_MSECT_REACTOR); r++) {
		const struct xs_metrics_reactor_shm *rr = xs_metrics_rec(&p->cur.snap, XS_MSECT_REACTOR, r);

		if (!p->cur.thr[r].ok)
			continue;
		series(f, "xsched_reactor_last_cpu", p);
		fputs(",reactor=\"", f);
		esc(f, rr->name);
		fprintf(f, "\"} %d\n", p->cur.thr[r].last_cpu);
	}
	prom_reactor_counter(m, f, "xsched_reactor_rounds_total", "Reactor loop rounds.",
			     offsetof(struct xs_metrics_reactor_shm, rounds));
	prom_reactor_counter(m, f, "xsched_reactor_idle_rounds_total",
			     "Reactor rounds in which no lightweight thread found work.",
			     offsetof(struct xs_metrics_reactor_shm, idle_rounds));
	prom_reactor_counter(m, f, "xsched_reactor_yields_total", "sched_yield() calls of the idle strategy.",
			     offsetof(struct xs_metrics_reactor_shm, yields));
	prom_reactor_counter(m, f, "xsched_reactor_sleeps_total", "Sleeps of the idle strategy.",
			     offsetof(struct xs_metrics_reactor_shm, sleeps));
	family(f, "xsched_reactor_heartbeat_age_seconds", "gauge",
	       "Time since the reactor's rounds counter last moved.");
	FOR_PROCS(m, p)
	for (unsigned r = 0; r < xs_metrics_count(&p->cur.snap, XS_MSECT_REACTOR); r++) {
		const struct xs_metrics_reactor_shm *rr = xs_metrics_rec(&p->cur.snap, XS_MSECT_REACTOR, r);

		series(f, "xsched_reactor_heartbeat_age_seconds", p);
		fputs(",reactor=\"", f);
		esc(f, rr->name);
		fprintf(f, "\"} %.6f\n",
			(double)(p->cur.snap.hdr->heartbeat_ns - rr->heartbeat_ns) * NS +
				(double)p->cur.hb_age_ns * NS);
	}
	family(f, "xsched_reactor_context_switches_total", "counter",
	       "Context switches of the reactor thread (/proc), by kind.");
	FOR_PROCS(m, p)
	for (unsigned r = 0; r < xs_metrics_count(&p->cur.snap, XS_MSECT_REACTOR); r++) {
		const struct xs_metrics_reactor_shm *rr = xs_metrics_rec(&p->cur.snap, XS_MSECT_REACTOR, r);

		if (!p->cur.thr[r].ok)
			continue;
		for (int k = 0; k < 2; k++) {
			series(f, "xsched_reactor_context_switches_total", p);
			fputs(",reactor=\"", f);
			esc(f, rr->name);
			fprintf(f, "\",kind=\"%s\"} %llu\n", k ? "involuntary" : "voluntary",
				(unsigned long long)(k ? p->cur.thr[r].ivcsw : p->cur.thr[r].vcsw));
		}
	}
	family(f, "xsched_reactor_cpu_seconds_total", "counter", "CPU time of the reactor thread (/proc).");
	FOR_PROCS(m, p)
	for (unsigned r = 0; r < xs_metrics_count(&p->cur.snap, XS_MSECT_REACTOR); r++) {
		const struct xs_metrics_reactor_shm *rr = xs_metrics_rec(&p->cur.snap, XS_MSECT_REACTOR, r);

		if (!p->cur.thr[r].ok)
			continue;
		series(f, "xsched_reactor_cpu_seconds_total", p);
		fputs(",reactor=\"", f);
		esc(f, rr->name);
		fprintf(f, "\"} %.2f\n", (double)p->cur.thr[r].cpu_ticks / (double)m->clk_tck);
	}

	prom_lthread_counter(m, f, "xsched_lthread_polls_total", "Calls of the lightweight thread's poll function.",
			     offsetof(struct xs_metrics_lthread_shm, polls));
	prom_lthread_counter(m, f, "xsched_lthread_busy_polls_total", "Poll calls that found work.",
			     offsetof(struct xs_metrics_lthread_shm, busy_polls));
	prom_lthread_counter(m, f, "xsched_lthread_items_total", "Items of work done (sum of poll results).",
			     offsetof(struct xs_metrics_lthread_shm, items));

	prom_queue(m, f, "xsched_queue_produced_total", "counter", "Items the producer committed (queue header).", 0);
	prom_queue(m, f, "xsched_queue_consumed_total", "counter", "Items the consumer released (queue header).", 1);
	prom_queue(m, f, "xsched_queue_full_total", "counter", "Times the producer found the queue full (backpressure).", 2);
	prom_queue(m, f, "xsched_queue_depth", "gauge", "Items in the queue (produced - consumed).", 3);
	prom_queue(m, f, "xsched_queue_capacity", "gauge", "Slots of the queue.", 4);

	prom_alloc(m, f, "xsched_alloc_in_use_bytes",
		   "Allocator bytes in use per worker index (handle) and size class.", 0);
	prom_alloc(m, f, "xsched_alloc_slabs", "Allocator slabs owned per worker index and size class.", 1);
	prom_alloc(m, f, "xsched_alloc_remote_pending_slabs",
		   "Slabs with remote frees waiting for their owner, per worker index and size class.", 2);

	family(f, "xsched_session_info", "gauge",
	       "The session (labels: protocol version, role, peer pid); always 1.");
	FOR_PROCS(m, p)
	if (xs_metrics_count(&p->cur.snap, XS_MSECT_SESSION)) {
		const struct xs_metrics_session_shm *ss = xs_metrics_rec(&p->cur.snap, XS_MSECT_SESSION, 0);

		series(f, "xsched_session_info", p);
		fprintf(f, ",protocol=\"%u\",role=\"%s\",peer_pid=\"%lld\",workers=\"%u\"} 1\n", ss->version,
			ss->role == XS_MROLE_VALIDATOR ? "validator" : "scheduler", (long long)ss->peer_pid,
			ss->num_workers);
	}
	family(f, "xsched_session_peer_alive", "gauge", "1 while the session's peer process is alive.");
	FOR_PROCS(m, p)
	if (xs_metrics_count(&p->cur.snap, XS_MSECT_SESSION)) {
		const struct xs_metrics_session_shm *ss = xs_metrics_rec(&p->cur.snap, XS_MSECT_SESSION, 0);

		series(f, "xsched_session_peer_alive", p);
		fprintf(f, "} %llu\n", (unsigned long long)ss->peer_alive);
	}
	family(f, "xsched_alloc_free_slabs", "gauge", "Slabs on the allocator's global free list.");
	FOR_PROCS(m, p)
	if (xs_metrics_count(&p->cur.snap, XS_MSECT_SESSION)) {
		const struct xs_metrics_session_shm *ss = xs_metrics_rec(&p->cur.snap, XS_MSECT_SESSION, 0);

		series(f, "xsched_alloc_free_slabs", p);
		fprintf(f, "} %llu\n", (unsigned long long)ss->alloc_global_free);
	}

	family(f, "xsched_stage_latency_seconds", "histogram",
	       "Latency per stage of a transaction (log2 buckets).");
	FOR_PROCS(m, p)
	for (unsigned st = 0; st < XS_MSTAGE_COUNT; st++) {
		uint64_t b[XS_MHIST_BUCKETS] = { 0 }, total = 0, acc = 0, sum = 0;

		for (unsigned i = 0; i < xs_metrics_count(&p->cur.snap, XS_MSECT_HIST); i++) {
			const struct xs_mhist_shm *hh = xs_metrics_rec(&p->cur.snap, XS_MSECT_HIST, i);

			if (hh->stage != st)
				continue;
			sum += hh->sum_ns;
			for (unsigned k = 0; k < XS_MHIST_BUCKETS; k++)
				b[k] += hh->b[k];
		}
		for (unsigned k = 0; k < XS_MHIST_BUCKETS; k++)
			total += b[k];
		if (!total)
			continue;
		/* bucket k holds (2^(k-1), 2^k] ns: le = 2^k ns, from 128 ns to ~68.7 s */
		for (unsigned k = 0; k <= 36; k++) {
			acc += b[k];
			if (k < 7)
				continue;
			series(f, "xsched_stage_latency_seconds_bucket", p);
			fprintf(f, ",stage=\"%s\",le=\"%.9g\"} %llu\n", xs_mstage_name(st),
				(double)(1ull << k) * NS, (unsigned long long)acc);
		}
		series(f, "xsched_stage_latency_seconds_bucket", p);
		fprintf(f, ",stage=\"%s\",le=\"+Inf\"} %llu\n", xs_mstage_name(st), (unsigned long long)total);
		series(f, "xsched_stage_latency_seconds_sum", p);
		fprintf(f, ",stage=\"%s\"} %.9f\n", xs_mstage_name(st), (double)sum * NS);
		series(f, "xsched_stage_latency_seconds_count", p);
		fprintf(f, ",stage=\"%s\"} %llu\n", xs_mstage_name(st), (unsigned long long)total);
	}
}
