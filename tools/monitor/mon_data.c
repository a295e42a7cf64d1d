/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-monitor: targets and samples. A sample is a private copy of the
 * metrics object (xs_metrics_snap) plus, per reactor thread, what
 * /proc/PID/task/TID says (state, last CPU, context switches, CPU time):
 * the writer pays nothing for those.
 */
#include "mon.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

uint64_t mon_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ SIGBUS guard */

/* A writer that shrinks its file under our mapping (it never should) makes
 * the copy fault: jump out and report the object as truncated. */
static sigjmp_buf copy_jb;
static volatile sig_atomic_t in_copy;

static void on_sigbus(int sig)
{
	if (in_copy)
		siglongjmp(copy_jb, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

static int guarded_snap(const struct xs_metrics_view *v, struct xs_metrics_snap *s)
{
	static int installed;
	int r;

	if (!installed) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sigbus;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
		installed = 1;
	}
	if (sigsetjmp(copy_jb, 1)) {
		in_copy = 0;
		memset(s, 0, sizeof(*s));
		return xs_seterr(-XS_EMET_TRUNCATED, "%s: the object shrank while being read", v->path);
	}
	in_copy = 1;
	r = xs_metrics_snap(v, s);
	in_copy = 0;
	return r;
}

/* ------------------------------------------------------------ /proc */

static int read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static void read_thr(pid_t pid, pid_t tid, struct mon_thr *t)
{
	char path[96], buf[4096], *p;
	unsigned long long utime = 0, stime = 0;
	int cpu = -1, field;

	memset(t, 0, sizeof(*t));
	t->last_cpu = -1;
	if (tid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	if (read_text(path, buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')) || p[1] != ' ')
		return;
	p += 2;
	t->state = *p;
	/* fields after the state: 4 ppid ... 14 utime 15 stime ... 39 processor */
	for (field = 3; p && field <= 39; field++) {
		if (field == 14)
			utime = strtoull(p, NULL, 10);
		else if (field == 15)
			stime = strtoull(p, NULL, 10);
		else if (field == 39)
			cpu = (int)strtol(p, NULL, 10);
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	t->cpu_ticks = utime + stime;
	t->last_cpu = cpu;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	if (read_text(path, buf, sizeof(buf)) == 0) {
		if ((p = strstr(buf, "\nvoluntary_ctxt_switches:")))
			t->vcsw = strtoull(p + 25, NULL, 10);
		if ((p = strstr(buf, "\nnonvoluntary_ctxt_switches:")))
			t->ivcsw = strtoull(p + 28, NULL, 10);
	}
	t->ok = 1;
}

/* ------------------------------------------------------------ targets */

static void sample_free(struct mon_sample *s)
{
	xs_metrics_snap_free(&s->snap);
	free(s->thr);
	memset(s, 0, sizeof(*s));
}

static struct mon_proc *add_proc(struct mon *m, pid_t pid, const struct xs_metrics_view *v)
{
	if (m->np == m->cap) {
		int cap = m->cap ? 2 * m->cap : 8;
		struct mon_proc *n = realloc(m->p, sizeof(*n) * (size_t)cap);

		if (!n)
			return NULL;
		m->p = n;
		m->cap = cap;
	}
	memset(&m->p[m->np], 0, sizeof(m->p[0]));
	m->p[m->np].pid = pid;
	m->p[m->np].view = *v;
	return &m->p[m->np++];
}

static void drop_proc(struct mon *m, int i)
{
	xs_metrics_view_close(&m->p[i].view);
	sample_free(&m->p[i].cur);
	sample_free(&m->p[i].prev);
	memmove(&m->p[i], &m->p[i + 1], sizeof(m->p[0]) * (size_t)(m->np - i - 1));
	m->np--;
}

static int have_pid(const struct mon *m, pid_t pid)
{
	for (int i = 0; i < m->np; i++)
		if (m->p[i].pid == pid)
			return 1;
	return 0;
}

/* Same socket: the same string, or the same file once resolved. */
static int same_socket(const char *a, const char *b)
{
	char ra[4096], rb[4096];

	if (!a[0] || !b[0])
		return 0;
	if (!strcmp(a, b))
		return 1;
	return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

int mon_targets(struct mon *m)
{
	pid_t pids[MON_MAX_PIDS];
	struct xs_metrics_view v;
	int n, r;

	m->clk_tck = sysconf(_SC_CLK_TCK);
	if (m->clk_tck <= 0)
		m->clk_tck = 100;
	if (m->npids) {
		m->explicit_targets = 1;
		for (int i = 0; i < m->npids; i++) {
			if (have_pid(m, m->pids[i]))
				continue;
			if ((r = xs_metrics_view_open_pid(&v, m->dir, m->pids[i])) < 0)
				return xs_tool_fail(r, "attach to pid %d", (int)m->pids[i]);
			if (!add_proc(m, m->pids[i], &v)) {
				xs_metrics_view_close(&v);
				return xs_tool_fail(-ENOMEM, "attach to pid %d", (int)m->pids[i]);
			}
		}
		return 0;
	}
	n = xs_metrics_list(m->dir, pids, MON_MAX_PIDS);
	if (n < 0)
		return xs_tool_fail(n, "list the metrics objects of %s", xs_metrics_dir(m->dir));
	if (n > MON_MAX_PIDS)
		n = MON_MAX_PIDS;
	if (m->socket)
		m->explicit_targets = 1;
	for (int i = 0; i < n; i++) {
		struct xs_metrics_snap s;
		int keep = 1;

		if ((r = xs_metrics_view_open_pid(&v, m->dir, pids[i])) < 0) {
			/* someone else's or a hostile object: say so, watch the others */
			if (!m->socket && r != -XS_EMET_NONE)
				xs_tool_note("skipping pid %d: %s: %s", (int)pids[i], xs_strerror(r),
					     xs_errmsg());
			continue;
		}
		if (m->socket) {
			keep = guarded_snap(&v, &s) == 0 && same_socket(s.hdr->socket, m->socket);
			xs_metrics_snap_free(&s);
		}
		if (!keep || !add_proc(m, pids[i], &v))
			xs_metrics_view_close(&v);
	}
	if (m->socket && m->np == 0) {
		xs_tool_note("no xsched process publishes metrics for socket %s (looked at %d object%s in "
			     "%s)",
			     m->socket, n, n == 1 ? "" : "s", xs_metrics_dir(m->dir));
		return XS_EXIT_FAIL;
	}
	return 0;
}

void mon_rescan(struct mon *m)
{
	pid_t pids[MON_MAX_PIDS];
	struct xs_metrics_view v;
	int n;

	if (m->explicit_targets)
		return;
	n = xs_metrics_list(m->dir, pids, MON_MAX_PIDS);
	if (n > MON_MAX_PIDS)
		n = MON_MAX_PIDS;
	for (int i = 0; i < n; i++)
		if (!have_pid(m, pids[i]) && xs_metrics_view_open_pid(&v, m->dir, pids[i]) == 0 &&
		    !add_proc(m, pids[i], &v))
			xs_metrics_view_close(&v);
	/* a process that ended was shown once with its final values */
	for (int i = 0; i < m->np; i++)
		if (!m->all && m->p[i].final_shown) {
			drop_proc(m, i);
			i--;
		}
}

static void sample_one(struct mon *m, struct mon_proc *p)
{
	struct mon_sample s;
	unsigned nr;
	int r;

	memset(&s, 0, sizeof(s));
	if ((r = guarded_snap(&p->view, &s.snap)) < 0) {
		if (!p->cur.ok || !m->all)
			xs_tool_note("pid %d: %s: %s", (int)p->pid, xs_strerror(r), xs_errmsg());
		return; /* keep the last good sample */
	}
	s.t_ns = mon_now_ns();
	s.live = xs_metrics_liveness(&s.snap, s.t_ns, &s.hb_age_ns);
	nr = xs_metrics_count(&s.snap, XS_MSECT_REACTOR);
	s.thr = calloc(nr + 1, sizeof(*s.thr));
	if (!s.thr) {
		xs_metrics_snap_free(&s.snap);
		return;
	}
	for (unsigned i = 0; i < nr; i++) {
		const struct xs_metrics_reactor_shm *rr = xs_metrics_rec(&s.snap, XS_MSECT_REACTOR, i);

		if (s.live != XS_MLIVE_DEAD && s.live != XS_MLIVE_EXITED)
			read_thr(p->pid, (pid_t)rr->tid, &s.thr[i]);
	}
	s.ok = 1;
	sample_free(&p->prev);
	p->prev = p->cur;
	p->cur = s;
}

void mon_sample_all(struct mon *m)
{
	for (int i = 0; i < m->np; i++) {
		struct mon_proc *p = &m->p[i];

		if (p->cur.ok && (p->cur.live == XS_MLIVE_EXITED || p->cur.live == XS_MLIVE_DEAD)) {
			p->final_shown = 1; /* nothing moves any more */
			continue;
		}
		sample_one(m, p);
	}
}

void mon_free(struct mon *m)
{
	while (m->np)
		drop_proc(m, m->np - 1);
	free(m->p);
	m->p = NULL;
	m->cap = 0;
}

/* ------------------------------------------------------------ rates */

double mon_dt_s(const struct mon_proc *p)
{
	if (!p->prev.ok || !p->cur.ok || p->cur.t_ns <= p->prev.t_ns)
		return 0;
	return (double)(p->cur.t_ns - p->prev.t_ns) * 1e-9;
}

uint64_t mon_delta(const struct mon_proc *p, unsigned sect, unsigned i, size_t off)
{
	const uint8_t *a, *b;
	uint64_t x, y;

	if (!p->prev.ok)
		return 0;
	a = xs_metrics_rec(&p->cur.snap, sect, i);
	b = xs_metrics_rec(&p->prev.snap, sect, i);
	if (!a || !b)
		return 0;
	memcpy(&x, a + off, 8);
	memcpy(&y, b + off, 8);
	return x >= y && x != XS_METRICS_NA && y != XS_METRICS_NA ? x - y : 0;
}

int mon_reactor_stale(const struct mon_proc *p, unsigned r)
{
	const struct xs_metrics_reactor_shm *rr = xs_metrics_rec(&p->cur.snap, XS_MSECT_REACTOR, r);
	const struct xs_metrics_hdr_shm *h = p->cur.snap.hdr;

	if (!rr)
		return 0;
	if (p->cur.live == XS_MLIVE_STALE || p->cur.live == XS_MLIVE_STOPPED)
		return rr->running != 0;
	/* asleep in its idle strategy (backoff, futex ...): idle, not stuck */
	if (p->cur.thr && p->cur.thr[r].ok && p->cur.thr[r].state == 'S' && strcmp(rr->idle, "spin"))
		return 0;
	/* against the object's own heartbeat: both come from the publisher */
	return rr->running && h->heartbeat_ns > rr->heartbeat_ns &&
	       h->heartbeat_ns - rr->heartbeat_ns > xs_metrics_stale_ns(&p->cur.snap);
}

double mon_stage_quantile_ns(const struct mon_proc *p, unsigned stage, int interval, double q,
			     uint64_t *count)
{
	uint64_t b[XS_MHIST_BUCKETS] = { 0 }, n = 0, rank, acc = 0;
	unsigned nh = xs_metrics_count(&p->cur.snap, XS_MSECT_HIST);

	for (unsigned i = 0; i < nh; i++) {
		const struct xs_mhist_shm *h = xs_metrics_rec(&p->cur.snap, XS_MSECT_HIST, i);
		const struct xs_mhist_shm *o = interval && p->prev.ok
						       ? xs_metrics_rec(&p->prev.snap, XS_MSECT_HIST, i)
						       : NULL;

		if (h->stage != stage)
			continue;
		for (unsigned k = 0; k < XS_MHIST_BUCKETS; k++) {
			uint64_t d = h->b[k] - (o && o->b[k] <= h->b[k] ? o->b[k] : 0);

			b[k] += d;
			n += d;
		}
	}
	if (count)
		*count = n;
	if (!n)
		return 0;
	rank = (uint64_t)(q * (double)(n - 1)) + 1;
	for (unsigned k = 0; k < XS_MHIST_BUCKETS; k++) {
		if (acc + b[k] >= rank) {
			double lo = k ? (double)(1ull << (k - 1)) : 0, hi = (double)(1ull << k);

			return lo + (hi - lo) * ((double)(rank - acc) / (double)b[k]);
		}
		acc += b[k];
	}
	return (double)(1ull << (XS_MHIST_BUCKETS - 1));
}
