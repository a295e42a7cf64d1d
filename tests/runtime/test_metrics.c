/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the metrics object of a running runtime (xsched/metrics.h).
 * A runtime with two reactors publishes; a reader in the same process (as a
 * monitor would from outside) finds it by pid, maps it read-only, sees the
 * static description, counters that move between two samples, a latency
 * histogram written by its lightweight thread, a live heartbeat. After join
 * the last sample equals the runtime's own counters exactly; after
 * xs_rt_destroy() the object keeps them; after close it is marked EXITED
 * (seen through the held mapping) and unlinked. Hostile objects (truncated,
 * bad magic, newer layout, a table pointing outside the file, a pid that is
 * not the one named, a reused pid) are refused with their own error; a dead
 * process's object is reported dead and removed by the next writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/metrics.h"
#include "xsched/runtime.h"

struct ctx {
	struct xs_mhist_shm *h; /* written by this lthread only */
	uint64_t n;
};

static int work_poll(void *arg)
{
	struct ctx *c = arg;

	if (++c->n % 64)
		return 0;
	xs_mhist_add(c->h, 1000); /* bucket 10: (512, 1024] ns */
	return 1;
}

static char dir[256];

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

/* A plausible layout-1 header for @p pid (every section empty). */
static void craft(struct xs_metrics_hdr_shm *h, pid_t pid, uint64_t start)
{
	static const uint32_t sz[XS_MSECT_COUNT] = {
		sizeof(struct xs_metrics_reactor_shm), sizeof(struct xs_metrics_lthread_shm),
		sizeof(struct xs_metrics_queue_shm), sizeof(struct xs_metrics_alloc_shm),
		sizeof(struct xs_metrics_session_shm), sizeof(struct xs_mhist_shm),
	};

	memset(h, 0, sizeof(*h));
	h->magic = XS_METRICS_MAGIC;
	h->layout = XS_METRICS_LAYOUT;
	h->hdr_size = sizeof(*h);
	h->file_size = 4096;
	h->pid = pid;
	h->uid = (uint32_t)geteuid();
	h->start_ticks = start;
	h->interval_ms = 100;
	for (unsigned s = 0; s < XS_MSECT_COUNT; s++) {
		h->sect[s].off = 512;
		h->sect[s].size = sz[s];
	}
	snprintf(h->program, sizeof(h->program), "crafted");
	h->state = XS_MSTATE_RUNNING;
}

static void put(const char *name, const void *data, size_t len, size_t file_size)
{
	char p[512];
	int fd;

	path_of(p, sizeof(p), name);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, data, len) == (ssize_t)len);
	T_OK(ftruncate(fd, (off_t)file_size));
	close(fd);
}

static int open_named(const char *name, struct xs_metrics_view *v)
{
	char p[512];

	path_of(p, sizeof(p), name);
	return xs_metrics_view_open(v, p);
}

static pid_t dead_pid(void)
{
	pid_t p = fork();

	T_ASSERT(p >= 0);
	if (p == 0)
		_exit(0);
	T_ASSERT(waitpid(p, NULL, 0) == p);
	return p;
}

static void hostile(void)
{
	struct xs_metrics_hdr_shm h;
	struct xs_metrics_view v;
	struct xs_metrics_snap s;
	uint64_t me = xs_metrics_proc_start(getpid(), NULL);
	char name[64], p[512];
	pid_t gone = dead_pid();

	T_ASSERT(me != 0);
	/* truncated: shorter than the header */
	craft(&h, getpid(), me);
	put("xsched-1.metrics.trunc", &h, 100, 100);
	T_ERR(open_named("xsched-1.metrics.trunc", &v), -XS_EMET_TRUNCATED);
	/* bad magic */
	h.magic = 0x4242424242424242ull;
	put("bad-magic", &h, sizeof(h), 4096);
	T_ERR(open_named("bad-magic", &v), -XS_EMET_MAGIC);
	/* newer layout */
	craft(&h, getpid(), me);
	h.layout = 2;
	put("future", &h, sizeof(h), 4096);
	T_ERR(open_named("future", &v), -XS_EMET_LAYOUT);
	T_ASSERT(strstr(xs_errmsg(), "newer") != NULL, "%s", xs_errmsg());
	/* header says more bytes than the file has */
	craft(&h, getpid(), me);
	h.file_size = 8192;
	put("short", &h, sizeof(h), 4096);
	T_ERR(open_named("short", &v), -XS_EMET_TRUNCATED);
	/* a section past the end of the file */
	craft(&h, getpid(), me);
	h.sect[XS_MSECT_REACTOR].count = 1000;
	put("table", &h, sizeof(h), 4096);
	T_ERR(open_named("table", &v), -XS_EMET_CORRUPT);
	/* an absurd record count */
	craft(&h, getpid(), me);
	h.sect[XS_MSECT_QUEUE].count = 0xffffffffu;
	put("count", &h, sizeof(h), 4096);
	T_ERR(open_named("count", &v), -XS_EMET_CORRUPT);
	/* the header names another pid than the file name */
	craft(&h, 1, me);
	snprintf(name, sizeof(name), "xsched-%d.metrics", (int)getpid());
	put(name, &h, sizeof(h), 4096);
	T_ERR(open_named(name, &v), -XS_EMET_PID);
	/* our pid, but another start time: the pid was reused, the object is stale */
	craft(&h, getpid(), me + 12345);
	put(name, &h, sizeof(h), 4096);
	T_ERR(open_named(name, &v), -XS_EMET_PID);
	T_ASSERT(strstr(xs_errmsg(), "stale") != NULL, "%s", xs_errmsg());
	path_of(p, sizeof(p), name);
	unlink(p);
	/* a process with no object at all */
	T_ERR(xs_metrics_view_open_pid(&v, dir, gone), -XS_EMET_NONE);
	T_ERR(xs_metrics_view_open_pid(&v, dir, 1), -XS_EMET_NONE);
	T_ASSERT(strstr(xs_errmsg(), "not an xsched process") != NULL, "%s", xs_errmsg());
	/* a dead process's object: readable, reported dead */
	craft(&h, gone, 777);
	snprintf(name, sizeof(name), "xsched-%d.metrics", (int)gone);
	put(name, &h, sizeof(h), 4096);
	T_OK(xs_metrics_view_open_pid(&v, dir, gone));
	T_OK(xs_metrics_snap(&v, &s));
	T_EQ(xs_metrics_liveness(&s, t_now_ns(), NULL), XS_MLIVE_DEAD);
	xs_metrics_snap_free(&s);
	xs_metrics_view_close(&v);
	for (const char *const *n = (const char *const[]){ "xsched-1.metrics.trunc", "bad-magic", "future",
							    "short", "table", "count", NULL };
	     *n; n++) {
		path_of(p, sizeof(p), *n);
		unlink(p);
	}
}

static uint64_t rounds_of(struct xs_metrics_view *v, unsigned r, struct xs_metrics_snap *keep)
{
	struct xs_metrics_snap s;
	const struct xs_metrics_reactor_shm *rr;
	uint64_t x;

	T_OK(xs_metrics_snap(v, &s));
	rr = xs_metrics_rec(&s, XS_MSECT_REACTOR, r);
	T_ASSERT(rr != NULL);
	x = rr->rounds;
	if (keep)
		*keep = s;
	else
		xs_metrics_snap_free(&s);
	return x;
}

int main(void)
{
	struct xs_rt_params prm;
	struct xs_rt *rt;
	struct xs_metrics *m, *m2;
	struct xs_metrics_opts o;
	struct xs_metrics_view v;
	struct xs_metrics_snap s;
	struct xs_lthread_stats ls;
	struct ctx c[2];
	struct stat st;
	char gone_name[512];
	pid_t pids[16], gone;
	uint64_t r0, r1, deadline;
	int n, found = 0;

	snprintf(dir, sizeof(dir), "/tmp/xs-metrics-XXXXXX");
	T_ASSERT(mkdtemp(dir) != NULL);
	setenv(XS_METRICS_DIR_ENV, dir, 1);

	hostile();
	/* a dead object the next writer removes */
	{
		struct xs_metrics_hdr_shm h;
		char name[64];

		gone = dead_pid();
		craft(&h, gone, 777);
		snprintf(name, sizeof(name), "xsched-%d.metrics", (int)gone);
		put(name, &h, sizeof(h), 4096);
		path_of(gone_name, sizeof(gone_name), name);
	}

	xs_rt_params_init(&prm);
	prm.pin = XS_RT_PIN_NONE;
	prm.idle = XS_IDLE_BACKOFF;
	prm.spin_rounds = 16;
	prm.backoff_max_us = 200;
	T_OK(xs_rt_create(&rt, &prm));
	memset(c, 0, sizeof(c));
	for (int r = 0; r < 2; r++) {
		struct xs_lthread_spec sp = { .name = r ? "work1" : "work0", .poll = work_poll, .arg = &c[r] };

		T_OK(xs_rt_add_reactor(rt, r ? "xs-m1" : "xs-m0", -1, -1));
		T_OK(xs_rt_add_lthread(rt, r, &sp));
	}
	xs_metrics_opts_init(&o);
	o.interval_ms = 20;
	o.program = "test_metrics";
	o.socket = "/nonexistent/test.sock";
	o.no_atexit = 1;
	T_OK(xs_metrics_create(&m, rt, &o));
	T_ERR(xs_metrics_create(&m2, rt, &o), -XS_ERT_STATE);
	T_ASSERT(stat(gone_name, &st) < 0 && errno == ENOENT, "dead object %s not removed", gone_name);
	T_ASSERT(xs_metrics_hist(m, XS_MSTAGE_COUNT, 0) == NULL);
	T_ASSERT(xs_metrics_hist(m, 0, 2) == NULL);
	/* the histogram pointers are given before start: no race on them */
	c[0].h = xs_metrics_hist(m, XS_MSTAGE_ARRIVAL_RESPONSE, 0);
	T_ASSERT(c[0].h != NULL);
	T_OK(stat(xs_metrics_path(m), &st));
	T_EQ(st.st_mode & 0777, 0600);
	T_OK(xs_rt_start(rt));
	T_OK(xs_metrics_start(m));
	T_ERR(xs_metrics_start(m), -XS_ERT_STATE);

	/* a reader finds it */
	n = xs_metrics_list(NULL, pids, 16);
	T_ASSERT(n >= 1);
	for (int i = 0; i < n && i < 16; i++)
		found |= pids[i] == getpid();
	T_ASSERT(found, "own pid not listed");
	T_OK(xs_metrics_view_open_pid(&v, NULL, getpid()));
	T_OK(xs_metrics_snap(&v, &s));
	T_EQ(s.hdr->pid, getpid());
	T_EQ(s.hdr->layout, XS_METRICS_LAYOUT);
	T_ASSERT(!strcmp(s.hdr->program, "test_metrics"));
	T_ASSERT(!strcmp(s.hdr->socket, "/nonexistent/test.sock"));
	T_EQ(xs_metrics_count(&s, XS_MSECT_REACTOR), 2);
	T_EQ(xs_metrics_count(&s, XS_MSECT_LTHREAD), 2);
	T_EQ(xs_metrics_count(&s, XS_MSECT_QUEUE), 0);
	T_EQ(xs_metrics_count(&s, XS_MSECT_SESSION), 0);
	T_EQ(xs_metrics_count(&s, XS_MSECT_HIST), 2 * XS_MSTAGE_COUNT);
	T_ASSERT(!strcmp(((const struct xs_metrics_reactor_shm *)xs_metrics_rec(&s, XS_MSECT_REACTOR, 1))->name,
			 "xs-m1"));
	T_ASSERT(!strcmp(((const struct xs_metrics_reactor_shm *)xs_metrics_rec(&s, XS_MSECT_REACTOR, 0))->idle,
			 "backoff"));
	T_ASSERT(!strcmp(((const struct xs_metrics_lthread_shm *)xs_metrics_rec(&s, XS_MSECT_LTHREAD, 1))->name,
			 "work1"));
	T_ASSERT(xs_metrics_rec(&s, XS_MSECT_REACTOR, 2) == NULL);
	T_EQ(s.hdr->state, XS_MSTATE_RUNNING);
	{
		uint64_t age;
		enum xs_metrics_live l = xs_metrics_liveness(&s, t_now_ns(), &age);

		/* stale only if this busy machine kept the publisher off a CPU */
		T_ASSERT(l == XS_MLIVE_LIVE || (l == XS_MLIVE_STALE && age < 60ull * 1000000000ull),
			 "liveness %s, heartbeat %llu ns old", xs_metrics_live_name(l), (unsigned long long)age);
	}
	xs_metrics_snap_free(&s);

	/* counters move between two samples (the publisher samples every 20 ms) */
	r0 = rounds_of(&v, 0, NULL);
	deadline = t_now_ns() + 20ull * 1000000000ull;
	do {
		usleep(30000);
		r1 = rounds_of(&v, 0, NULL);
	} while (r1 <= r0 && t_now_ns() < deadline);
	T_ASSERT(r1 > r0, "rounds did not move: %llu", (unsigned long long)r1);
	/* the histogram fills */
	deadline = t_now_ns() + 20ull * 1000000000ull;
	for (;;) {
		const struct xs_mhist_shm *h;

		T_OK(xs_metrics_snap(&v, &s));
		h = xs_metrics_rec(&s, XS_MSECT_HIST, XS_MSTAGE_ARRIVAL_RESPONSE * 2 + 0);
		T_EQ(h->stage, XS_MSTAGE_ARRIVAL_RESPONSE);
		T_EQ(h->lthread, 0);
		if (h->count >= 10 || t_now_ns() > deadline) {
			T_ASSERT(h->count >= 10);
			T_EQ(h->b[10] >= h->count, 1);
			T_EQ(h->max_ns, 1000);
			T_EQ(xs_mhist_bucket(1000), 10);
			T_EQ(xs_mhist_bucket(1024), 10);
			T_EQ(xs_mhist_bucket(1025), 11);
			T_EQ(xs_mhist_bucket(1), 0);
			T_EQ(xs_mhist_bucket(~0ull), XS_MHIST_BUCKETS - 1);
			xs_metrics_snap_free(&s);
			break;
		}
		xs_metrics_snap_free(&s);
		usleep(20000);
	}

	/* after join: the last sample is exact */
	xs_rt_stop(rt);
	T_OK(xs_rt_join(rt));
	xs_metrics_update(m);
	T_OK(xs_metrics_snap(&v, &s));
	for (int i = 0; i < 2; i++) {
		const struct xs_metrics_lthread_shm *l = xs_metrics_rec(&s, XS_MSECT_LTHREAD, (unsigned)i);

		T_OK(xs_rt_lthread_stats(rt, i, &ls));
		T_EQ(l->polls, ls.polls);
		T_EQ(l->items, ls.items);
		T_EQ(l->busy_polls, ls.busy_polls);
		T_EQ(l->state, XS_LT_STOPPED);
	}
	T_EQ(((const struct xs_metrics_reactor_shm *)xs_metrics_rec(&s, XS_MSECT_REACTOR, 0))->running, 0);
	xs_metrics_snap_free(&s);
	/* destroy detaches: the values stay */
	xs_rt_destroy(rt);
	usleep(60000);
	T_OK(xs_metrics_snap(&v, &s));
	T_EQ(((const struct xs_metrics_lthread_shm *)xs_metrics_rec(&s, XS_MSECT_LTHREAD, 1))->polls, ls.polls);
	xs_metrics_snap_free(&s);

	/* close: EXITED through the mapping we hold, the name gone */
	{
		char path[512];

		snprintf(path, sizeof(path), "%s", xs_metrics_path(m));
		xs_metrics_close(m);
		T_ASSERT(stat(path, &st) < 0 && errno == ENOENT, "%s still there", path);
	}
	T_OK(xs_metrics_snap(&v, &s));
	T_EQ(s.hdr->state, XS_MSTATE_EXITED);
	T_EQ(xs_metrics_liveness(&s, t_now_ns(), NULL), XS_MLIVE_EXITED);
	xs_metrics_snap_free(&s);
	xs_metrics_view_close(&v);
	T_ERR(xs_metrics_view_open_pid(&v, NULL, getpid()), -XS_EMET_NONE);

	/* one call: create + start on a runtime never started is refused nowhere,
	 * and a second object is possible once the first is closed */
	T_OK(xs_metrics_publish(&m, NULL, &o));
	T_OK(xs_metrics_view_open_pid(&v, NULL, getpid()));
	xs_metrics_view_close(&v);
	xs_metrics_close(m);
	T_ASSERT(rmdir(dir) == 0, "%s not empty: %s", dir, strerror(errno));
	printf("ok\n");
	return 0;
}
