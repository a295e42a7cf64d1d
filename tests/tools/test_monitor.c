/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: xsched-monitor against real processes.
 *
 *   e2e      xsched-mockval + xsched-sched (100 000 transactions, rate-limited
 *            so the run lasts ~2.5 s; the two CPUs split between them): while
 *            they run, `--once --format json` on each shows reactors,
 *            lightweight threads and every queue of the session, and its
 *            counters move between two samples; `--wait-exit` holds each
 *            object to the end and prints the final values, which equal
 *            what the tools' own summaries report.
 *   prom     the same pair: `--once --format prometheus` and the HTTP
 *            endpoint (scraped with curl) pass `promtool check metrics`;
 *            --textfile writes xsched.prom atomically; a bad port is a usage
 *            error, a port in use a clear failure.
 *   tui      the full-screen view in a real terminal (tmux): header, one row
 *            per reactor, a stopped (SIGSTOP) process shown as stale, 'q'
 *            quits.
 *   hostile  objects that are truncated, carry a bad magic or a newer
 *            layout, or name a pid that is not the xsched process that wrote
 *            them are refused with a message (exit 1, no crash); a pid with
 *            no object is "not an xsched process"; listing skips them; the
 *            CLI conventions (--help, --version, usage errors exit 2).
 *
 * Usage: test_monitor MODE MONITOR MOCKVAL SCHED DEMO
 * Exit 77 (CTest skip) when a program the mode needs (curl, promtool,
 * tmux) is not installed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "tooltest.h"
#include "xsched/metrics.h"

#define SKIP 77

static const char *monitor, *mockval, *sched_bin, *demo;
static char *dir;   /* XS_METRICS_DIR of every process of the test */
static char *work;  /* sockets, outputs */

/* A whole file, NUL-terminated (malloc), or NULL. */
static char *slurp(const char *path)
{
	size_t n;
	uint8_t *b = t_read_file(path, &n);
	char *s = b ? malloc(n + 1) : NULL;

	if (s) {
		memcpy(s, b, n);
		s[n] = '\0';
	}
	free(b);
	return s;
}

static int have(const char *prog)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

static uint64_t num(const char *json, const char *name, const char *key)
{
	const char *v = name ? tt_json_in(json, name, key) : tt_json_get(json, key);

	if (!v || !strcmp(v, "null"))
		t_fail(__FILE__, __LINE__, "%s.%s missing from:\n%s", name ? name : "", key, json);
	return strtoull(v, NULL, 10);
}

static void wait_path(const char *path, struct tt_proc *owner)
{
	uint64_t deadline = t_now_ns() + 30ull * 1000000000ull;
	struct stat st;

	while (stat(path, &st) != 0) {
		if (t_now_ns() > deadline) {
			struct tt_run r;

			kill(owner->pid, SIGTERM);
			tt_wait(owner, &r, 10);
			t_fail(__FILE__, __LINE__, "%s never appeared; stderr:\n%s", path, r.err);
		}
		usleep(2000);
	}
}

static void object_of(char *buf, size_t n, int pid)
{
	snprintf(buf, n, "%s/xsched-%d.metrics", dir, pid);
}

/* `xsched-monitor --dir DIR ARGS...` with at most 12 arguments. */
static void mon(struct tt_run *r, int timeout_s, const char *a0, const char *a1, const char *a2,
		const char *a3, const char *a4, const char *a5)
{
	const char *v[] = { a0, a1, a2, a3, a4, a5 };
	char *argv[16];
	int k = 0;

	argv[k++] = (char *)monitor;
	argv[k++] = (char *)"--dir";
	argv[k++] = dir;
	for (int i = 0; i < 6 && v[i]; i++)
		argv[k++] = (char *)v[i];
	argv[k] = NULL;
	tt_run(r, argv, timeout_s);
}

/* Two CPUs of our affinity mask (the README's split), or none. */
static int two_cpus(char *a, char *b, size_t n)
{
	cpu_set_t cs;
	int found = 0;

	if (sched_getaffinity(0, sizeof(cs), &cs) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && found < 2; c++)
		if (CPU_ISSET(c, &cs))
			snprintf(found++ ? b : a, n, "%d", c);
	return found == 2;
}

struct pair {
	struct tt_proc mv, sc;
	char sock[512];
};

/* Start mockval (rate-limited) and sched on one session. */
static void start_pair(struct pair *p, const char *txs, const char *rate)
{
	char c0[16], c1[16];
	int split = two_cpus(c0, c1, sizeof(c0));

	snprintf(p->sock, sizeof(p->sock), "%s/validator.sock", work);
	unlink(p->sock);
	char *mv_argv[] = { (char *)mockval, (char *)"--socket", p->sock, (char *)"--txs", (char *)txs,
			    (char *)"--rate", (char *)rate, (char *)"--tx-size", (char *)"256",
			    (char *)"--placement", (char *)"packed", (char *)"--accept-timeout",
			    (char *)"60000", (char *)"--timeout", (char *)"90000", (char *)"--format",
			    (char *)"json", split ? (char *)"--cpus" : NULL, c0, (char *)"--use-housekeeping",
			    NULL };
	char *sc_argv[] = { (char *)sched_bin, (char *)"--socket", p->sock, (char *)"--workers",
			    (char *)"2", (char *)"--placement", (char *)"packed", (char *)"--run-timeout",
			    (char *)"90000", (char *)"--format", (char *)"json",
			    split ? (char *)"--cpus" : NULL, c1, (char *)"--use-housekeeping", NULL };
	char path[600];

	tt_spawn(&p->mv, mv_argv);
	wait_path(p->sock, &p->mv);
	tt_spawn(&p->sc, sc_argv);
	object_of(path, sizeof(path), p->mv.pid);
	wait_path(path, &p->mv);
	object_of(path, sizeof(path), p->sc.pid);
	wait_path(path, &p->sc);
}

static void wait_pair(struct pair *p, struct tt_run *rm, struct tt_run *rs)
{
	tt_wait(&p->sc, rs, 100);
	tt_wait(&p->mv, rm, 100);
	T_ASSERT(rs->status == 0, "sched exit %d:\n%s", rs->status, rs->err);
	T_ASSERT(rm->status == 0, "mockval exit %d:\n%s", rm->status, rm->err);
}

static char *pidstr(int pid)
{
	static char b[4][16];
	static int k;
	char *s = b[k++ & 3];

	snprintf(s, 16, "%d", pid);
	return s;
}

/* ------------------------------------------------------------ e2e */

static void check_shape(const char *j, int validator)
{
	static const char *const q[] = { "tpu_to_pack", "progress_tracker", "pack_to_worker[0]",
					 "worker_to_pack[0]", "pack_to_worker[1]", "worker_to_pack[1]" };

	T_ASSERT(strstr(j, "\"schema\": \"xsched.monitor/1\""), "%s", j);
	/* live; stale only if the machine starved the publisher for a while */
	T_ASSERT(strstr(j, "\"state\": \"live\"") || strstr(j, "\"state\": \"stale\""), "%s", j);
	T_ASSERT(strstr(j, validator ? "\"role\": \"validator\"" : "\"role\": \"scheduler\""), "%s", j);
	T_ASSERT(strstr(j, "\"reactors\": [\n") && strstr(j, "\"name\": \"xs-"), "no reactor:\n%s", j);
	T_ASSERT(tt_json_in(j, "tpu", "polls") && tt_json_in(j, "w0", "polls") && tt_json_in(j, "w1", "polls"),
		 "lthreads missing:\n%s", j);
	if (validator)
		T_ASSERT(tt_json_in(j, "progress", "polls"), "%s", j);
	for (unsigned i = 0; i < sizeof(q) / sizeof(q[0]); i++)
		T_ASSERT(tt_json_in(j, q[i], "capacity"), "queue %s missing:\n%s", q[i], j);
	T_ASSERT(strstr(j, "\"alloc\": [\n"), "%s", j);
	T_ASSERT(strstr(j, "\"peer_alive\": true"), "%s", j);
}

static int mode_e2e(void)
{
	struct pair p;
	struct tt_proc wm, ws;
	struct tt_run r1, r2, rm, rs, fm, fs;
	uint64_t a, b;

	start_pair(&p, "100000", "40000");
	/* held to the end: the final values survive the object's unlink */
	{
		char *wm_argv[] = { (char *)monitor, (char *)"--dir", dir, (char *)"--pid", pidstr(p.mv.pid),
				    (char *)"--wait-exit", (char *)"--format", (char *)"json", NULL };
		char *ws_argv[] = { (char *)monitor, (char *)"--dir", dir, (char *)"--pid", pidstr(p.sc.pid),
				    (char *)"--wait-exit", (char *)"--format", (char *)"json", NULL };

		tt_spawn(&wm, wm_argv);
		tt_spawn(&ws, ws_argv);
	}
	/* two samples of each while they run */
	mon(&r1, 30, "--pid", pidstr(p.mv.pid), "--once", "--format", "json", NULL);
	T_ASSERT(r1.status == 0, "%s", r1.err);
	check_shape(r1.out, 1);
	a = num(r1.out, "tpu_to_pack", "produced");
	mon(&r2, 30, "--pid", pidstr(p.sc.pid), "--once", "--format", "json", NULL);
	T_ASSERT(r2.status == 0, "%s", r2.err);
	check_shape(r2.out, 0);
	b = num(r2.out, "tpu", "polls");
	tt_free(&r1);
	tt_free(&r2);
	usleep(400000);
	mon(&r1, 30, "--pid", pidstr(p.mv.pid), "--once", "--format", "json", NULL);
	mon(&r2, 30, "--pid", pidstr(p.sc.pid), "--once", "--format", "json", NULL);
	T_ASSERT(r1.status == 0 && r2.status == 0, "%s%s", r1.err, r2.err);
	T_ASSERT(num(r1.out, "tpu_to_pack", "produced") > a, "mockval's tpu_to_pack did not move (%llu)",
		 (unsigned long long)a);
	T_ASSERT(num(r2.out, "tpu", "polls") > b, "sched's tpu lthread did not move (%llu)",
		 (unsigned long long)b);
	tt_free(&r1);
	tt_free(&r2);
	/* the session by its socket: both ends */
	mon(&r1, 30, "--socket", p.sock, "--once", "--format", "json", NULL);
	T_ASSERT(r1.status == 0, "%s", r1.err);
	T_ASSERT(strstr(r1.out, "\"role\": \"validator\"") && strstr(r1.out, "\"role\": \"scheduler\""),
		 "%s", r1.out);
	tt_free(&r1);

	wait_pair(&p, &rm, &rs);
	tt_wait(&wm, &fm, 60);
	tt_wait(&ws, &fs, 60);
	T_ASSERT(fm.status == 0 && fs.status == 0, "%s%s", fm.err, fs.err);
	T_ASSERT(strstr(fm.out, "\"state\": \"exited\"") && strstr(fs.out, "\"state\": \"exited\""),
		 "final samples not marked exited:\n%s\n%s", fm.out, fs.out);
	/* validator side */
	T_EQ(num(fm.out, "tpu", "items"), num(rm.out, NULL, "sent"));
	T_EQ(num(fm.out, "tpu_to_pack", "produced"), num(rm.out, NULL, "sent"));
	T_EQ(num(fm.out, "tpu_to_pack", "full"), num(rm.out, NULL, "tpu_queue_full"));
	T_EQ(num(fm.out, "progress_tracker", "produced"), num(rm.out, NULL, "progress_messages"));
	T_EQ(num(fm.out, "w0", "items") + num(fm.out, "w1", "items"), num(rm.out, NULL, "batches"));
	T_EQ(num(rm.out, NULL, "sent"), 100000);
	/* scheduler side */
	T_EQ(num(fs.out, "tpu_to_pack", "consumed"), num(rs.out, NULL, "received"));
	T_EQ(num(fs.out, "progress_tracker", "consumed"), num(rs.out, NULL, "progress_messages"));
	T_EQ(num(fs.out, "tpu", "items"),
	     num(rs.out, NULL, "received") + num(rs.out, NULL, "progress_messages"));
	T_EQ(num(fs.out, "pack_to_worker[0]", "produced") + num(fs.out, "pack_to_worker[1]", "produced"),
	     num(rs.out, NULL, "batches"));
	T_EQ(num(fs.out, "worker_to_pack[0]", "consumed") + num(fs.out, "worker_to_pack[1]", "consumed"),
	     num(rs.out, NULL, "batches_answered"));
	T_EQ(num(fs.out, "w0", "items") + num(fs.out, "w1", "items"),
	     num(rs.out, NULL, "batches") + num(rs.out, NULL, "batches_answered"));
	/* every transaction answered went through the end-to-end histogram */
	{
		const char *s = strstr(fs.out, "\"stage\": \"arrival_response\"");

		T_ASSERT(s, "no arrival_response histogram:\n%s", fs.out);
		T_EQ(num(s, NULL, "count"), num(rs.out, NULL, "included") + num(rs.out, NULL, "not_included"));
	}
	/* both objects are gone */
	{
		char path[600];
		struct stat st;

		object_of(path, sizeof(path), p.mv.pid);
		T_ASSERT(stat(path, &st) < 0, "%s left behind", path);
		object_of(path, sizeof(path), p.sc.pid);
		T_ASSERT(stat(path, &st) < 0, "%s left behind", path);
	}
	printf("final: mockval sent %llu, sched received %llu; the monitor's final samples agree\n",
	       (unsigned long long)num(rm.out, NULL, "sent"), (unsigned long long)num(rs.out, NULL, "received"));
	tt_free(&rm);
	tt_free(&rs);
	tt_free(&fm);
	tt_free(&fs);
	return 0;
}

/* ------------------------------------------------------------ prom */

static void promtool_check(const char *file)
{
	char cmd[1024];
	int st;

	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' > '%s.lint' 2>&1", file, file);
	st = system(cmd);
	if (st != 0) {
		snprintf(cmd, sizeof(cmd), "%s.lint", file);
		t_fail(__FILE__, __LINE__, "promtool check metrics failed on %s (status %d):\n%s", file, st,
		       slurp(cmd));
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	T_ASSERT(f != NULL);
	fputs(text, f);
	fclose(f);
}

static int mode_prom(void)
{
	struct pair p;
	struct tt_run r, rm, rs;
	struct tt_proc srv;
	char file[1024], tdir[512], cmd[2600], url[256];
	int port = 0;

	if (!have("promtool") || !have("curl")) {
		printf("SKIP: promtool (Debian package prometheus) or curl not installed\n");
		return SKIP;
	}
	start_pair(&p, "40000", "10000");
	/* one sample on stdout */
	mon(&r, 30, "--socket", p.sock, "--once", "--format", "prometheus", NULL);
	T_ASSERT(r.status == 0, "%s", r.err);
	for (const char *const *f = (const char *const[]){ "xsched_up{", "xsched_reactor_rounds_total{",
							    "xsched_lthread_items_total{",
							    "xsched_queue_consumed_total{", "xsched_queue_depth{",
							    "xsched_queue_full_total{", "xsched_alloc_in_use_bytes{",
							    "xsched_session_peer_alive{",
							    "xsched_reactor_context_switches_total{",
							    "# TYPE xsched_stage_latency_seconds histogram", NULL };
	     *f; f++)
		T_ASSERT(strstr(r.out, *f), "%s missing from:\n%s", *f, r.out);
	snprintf(file, sizeof(file), "%s/once.prom", work);
	write_file(file, r.out);
	promtool_check(file);
	tt_free(&r);

	/* textfile: written whole, renamed into place */
	snprintf(tdir, sizeof(tdir), "%s/textfile", work);
	T_OK(mkdir(tdir, 0700));
	mon(&r, 30, "--socket", p.sock, "--once", "--textfile", tdir, NULL);
	T_ASSERT(r.status == 0, "%s", r.err);
	tt_free(&r);
	snprintf(file, sizeof(file), "%s/xsched.prom", tdir);
	promtool_check(file);
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 2", tdir); /* xsched.prom + our .lint */
	T_ASSERT(system(cmd) == 0, "temporary files left in %s", tdir);

	/* HTTP on a free port, scraped with curl */
	if (!getenv("XS_MONITOR_NO_HTTP")) {
		char *argv[] = { (char *)monitor, (char *)"--dir", dir, (char *)"--socket", p.sock,
				 (char *)"--prometheus", (char *)"127.0.0.1:0", NULL };
		uint64_t deadline = t_now_ns() + 20ull * 1000000000ull;

		tt_spawn(&srv, argv);
		while (!port && t_now_ns() < deadline) {
			char *err = slurp(srv.err_path);
			const char *at = err ? strstr(err, "http://127.0.0.1:") : NULL;

			if (at)
				port = atoi(at + strlen("http://127.0.0.1:"));
			free(err);
			if (!port)
				usleep(20000);
		}
		T_ASSERT(port > 0, "the monitor never said where it serves");
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", port);
		snprintf(file, sizeof(file), "%s/scrape.prom", work);
		snprintf(cmd, sizeof(cmd), "curl -sSf -o '%s' '%s'", file, url);
		T_ASSERT(system(cmd) == 0, "%s failed", cmd);
		promtool_check(file);
		{
			char *body = slurp(file);

			T_ASSERT(strstr(body, "xsched_queue_produced_total{") &&
					 strstr(body, "program=\"xsched-sched\"") &&
					 strstr(body, "program=\"xsched-mockval\""),
				 "scrape misses a process:\n%s", body);
			free(body);
		}
		snprintf(cmd, sizeof(cmd), "curl -s -o /dev/null -w '%%{http_code}' 'http://127.0.0.1:%d/nope' "
					   "| grep -q 404", port);
		T_ASSERT(system(cmd) == 0, "an unknown path is not a 404");

		/* the same port again: in use */
		snprintf(url, sizeof(url), "127.0.0.1:%d", port);
		mon(&r, 30, "--prometheus", url, NULL, NULL, NULL, NULL);
		T_EQ(r.status, 1);
		T_ASSERT(strstr(r.err, "--prometheus") && strstr(r.err, "Address already in use"), "%s", r.err);
		tt_free(&r);
		kill(srv.pid, SIGTERM);
		tt_wait(&srv, &r, 20);
		T_ASSERT(r.status == 0, "the server did not stop cleanly on SIGTERM: %d %s", r.status, r.err);
		tt_free(&r);
	}
	/* bad values are usage errors */
	mon(&r, 30, "--prometheus", "70000", NULL, NULL, NULL, NULL);
	T_EQ(r.status, 2);
	T_ASSERT(strstr(r.err, "xsched-monitor: --prometheus: port '70000'"), "%s", r.err);
	tt_free(&r);
	mon(&r, 30, "--prometheus", "localhost:http", NULL, NULL, NULL, NULL);
	T_EQ(r.status, 2);
	tt_free(&r);
	mon(&r, 30, "--prometheus", "300.1.1.1:9000", NULL, NULL, NULL, NULL);
	T_EQ(r.status, 2);
	T_ASSERT(strstr(r.err, "not an IPv4 or IPv6 address"), "%s", r.err);
	tt_free(&r);
	wait_pair(&p, &rm, &rs);
	tt_free(&rm);
	tt_free(&rs);
	return 0;
}

/* ------------------------------------------------------------ tui */

static char tmux_sock[64];

static char *tmux_capture(void)
{
	char cmd[1024], path[600];

	snprintf(path, sizeof(path), "%s/pane.txt", work);
	snprintf(cmd, sizeof(cmd), "tmux -L %s capture-pane -p -t xsmon > '%s' 2>/dev/null", tmux_sock, path);
	if (system(cmd) != 0)
		return NULL;
	return slurp(path);
}

/* Wait until the pane shows @p what (or until 15 s). @return the pane text. */
static char *tmux_wait(const char *what)
{
	uint64_t deadline = t_now_ns() + 15ull * 1000000000ull;
	char *pane = NULL;

	for (;;) {
		free(pane);
		pane = tmux_capture();
		if (pane && strstr(pane, what))
			return pane;
		if (t_now_ns() > deadline)
			t_fail(__FILE__, __LINE__, "the terminal never showed \"%s\"; pane:\n%s", what,
			       pane ? pane : "(none)");
		usleep(100000);
	}
}

static int count_rows(const char *pane, const char *name)
{
	int n = 0;

	for (const char *l = pane; l && *l;) {
		const char *e = strchr(l, '\n');

		if (!strncmp(l, "  ", 2) && !strncmp(l + 2, name, strlen(name)) && l[2 + strlen(name)] == ' ')
			n++;
		l = e ? e + 1 : NULL;
	}
	return n;
}

static int mode_tui(void)
{
	struct tt_proc d;
	struct tt_run r;
	char cmd[2048], *pane;
	char *argv[] = { (char *)demo, (char *)"3", (char *)"60", NULL };

	if (!have("tmux")) {
		printf("SKIP: tmux not installed\n");
		return SKIP;
	}
	snprintf(tmux_sock, sizeof(tmux_sock), "xs-mon-%d", (int)getpid());
	tt_spawn(&d, argv);
	snprintf(cmd, sizeof(cmd), "%s/xsched-%d.metrics", dir, d.pid);
	wait_path(cmd, &d);
	snprintf(cmd, sizeof(cmd),
		 "tmux -L %s -f /dev/null new-session -d -s xsmon -x 150 -y 45 "
		 "\"env TERM=tmux-256color '%s' --dir '%s' --pid %d --interval 0.3; "
		 "echo MONITOR-EXIT \\$?; sleep 30\"",
		 tmux_sock, monitor, dir, d.pid);
	T_ASSERT(system(cmd) == 0, "%s", cmd);
	pane = tmux_wait("LIVE");
	T_ASSERT(strstr(pane, "xsched-monitor") && strstr(pane, "(q quits)"), "no header:\n%s", pane);
	for (int i = 0; i < 3; i++) {
		char name[32];

		snprintf(name, sizeof(name), "xs-demo%d", i);
		T_EQ(count_rows(pane, name), 1);
	}
	free(pane);
	/* rates after the second refresh */
	free(tmux_wait("rounds/s"));
	kill(d.pid, SIGSTOP);
	pane = tmux_wait("STALE");
	T_ASSERT(strstr(pane, "stopped"), "a stopped process is not said to be stopped:\n%s", pane);
	free(pane);
	kill(d.pid, SIGCONT);
	free(tmux_wait("LIVE"));
	snprintf(cmd, sizeof(cmd), "tmux -L %s send-keys -t xsmon q", tmux_sock);
	T_ASSERT(system(cmd) == 0);
	free(tmux_wait("MONITOR-EXIT 0"));
	snprintf(cmd, sizeof(cmd), "tmux -L %s kill-server >/dev/null 2>&1", tmux_sock);
	if (system(cmd)) {
		/* already gone */
	}
	kill(d.pid, SIGTERM);
	tt_wait(&d, &r, 20);
	T_EQ(r.status, 0);
	tt_free(&r);
	return 0;
}

/* ------------------------------------------------------------ hostile */

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
	h->state = XS_MSTATE_RUNNING;
}

static void put_obj(int pid, const void *data, size_t len, size_t size)
{
	char path[600];
	int fd;

	object_of(path, sizeof(path), pid);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	T_ASSERT(fd >= 0);
	T_ASSERT(write(fd, data, len) == (ssize_t)len);
	T_OK(ftruncate(fd, (off_t)size));
	close(fd);
}

/* The monitor refuses the object of @p pid: exit 1 (not a signal), @p what said. */
static void refused(int pid, const char *what)
{
	struct tt_run r;

	mon(&r, 30, "--pid", pidstr(pid), "--once", "--format", "json", NULL);
	T_ASSERT(r.status == 1, "status %d for \"%s\":\n%s%s", r.status, what, r.out, r.err);
	T_ASSERT(strstr(r.err, what), "\"%s\" not in:\n%s", what, r.err);
	T_ASSERT(strstr(r.err, "xsched-monitor: attach to pid"), "%s", r.err);
	tt_free(&r);
}

static int mode_hostile(void)
{
	struct xs_metrics_hdr_shm h;
	struct tt_run r;
	struct tt_proc sl;
	char *sleeper[] = { (char *)"/bin/sleep", (char *)"30", NULL };
	uint64_t me;
	int target;

	/* a live process that is not xsched: the object's pid */
	tt_spawn(&sl, sleeper);
	target = sl.pid;
	while (!(me = xs_metrics_proc_start(target, NULL)))
		usleep(1000);
	/* truncated */
	craft(&h, target, me);
	put_obj(target, &h, 64, 64);
	refused(target, "truncated");
	/* bad magic */
	h.magic = 0x5858585858585858ull;
	put_obj(target, &h, sizeof(h), 4096);
	refused(target, "not an xsched metrics object");
	/* newer layout */
	craft(&h, target, me);
	h.layout = 9;
	put_obj(target, &h, sizeof(h), 4096);
	refused(target, "layout version 9");
	/* a table pointing out of the file */
	craft(&h, target, me);
	h.sect[XS_MSECT_HIST].off = 1u << 30;
	put_obj(target, &h, sizeof(h), 4096);
	refused(target, "inconsistent");
	/* well formed, left by an earlier process whose pid /bin/sleep now has */
	craft(&h, target, 1);
	put_obj(target, &h, sizeof(h), 4096);
	refused(target, "is now another process");
	/* well formed, forged to name /bin/sleep with its real start time:
	 * sleep does not map the object, so it did not write it */
	craft(&h, target, xs_metrics_proc_start(target, NULL));
	put_obj(target, &h, sizeof(h), 4096);
	refused(target, "does not map this object");
	/* no object at all: pid 1 is not an xsched process */
	{
		char path[600];

		object_of(path, sizeof(path), 1);
		unlink(path);
	}
	mon(&r, 30, "--pid", "1", "--once", NULL, NULL, NULL);
	T_EQ(r.status, 1);
	T_ASSERT(strstr(r.err, "not an xsched process"), "%s", r.err);
	tt_free(&r);
	/* a list with a hostile object in it: skipped with a note, exit 0 */
	mon(&r, 30, "--list", NULL, NULL, NULL, NULL, NULL);
	T_EQ(r.status, 0);
	T_ASSERT(strstr(r.err, "skipping pid"), "%s", r.err);
	tt_free(&r);
	mon(&r, 30, "--once", "--format", "prometheus", NULL, NULL, NULL);
	T_EQ(r.status, 0);
	tt_free(&r);
	kill(sl.pid, SIGTERM);
	tt_wait(&sl, &r, 10);
	tt_free(&r);

	/* CLI conventions */
	mon(&r, 10, "--help", NULL, NULL, NULL, NULL, NULL);
	T_ASSERT(r.status == 0 && strstr(r.out, "Usage: xsched-monitor"), "%s", r.out);
	tt_free(&r);
	mon(&r, 10, "--version", NULL, NULL, NULL, NULL, NULL);
	T_ASSERT(r.status == 0 && strstr(r.out, "xsched-monitor"), "%s", r.out);
	tt_free(&r);
	mon(&r, 10, "--format", "xml", NULL, NULL, NULL, NULL);
	T_EQ(r.status, 2);
	T_ASSERT(strstr(r.err, "xsched-monitor: --format: 'xml'"), "%s", r.err);
	tt_free(&r);
	mon(&r, 10, "--pid", "abc", NULL, NULL, NULL, NULL);
	T_EQ(r.status, 2);
	T_ASSERT(strstr(r.err, "xsched-monitor: --pid: 'abc'"), "%s", r.err);
	tt_free(&r);
	mon(&r, 10, "--interval", "0", NULL, NULL, NULL, NULL);
	T_EQ(r.status, 2);
	tt_free(&r);
	mon(&r, 10, "--wait-exit", NULL, NULL, NULL, NULL, NULL);
	T_EQ(r.status, 2);
	tt_free(&r);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode;
	int rc;

	T_ASSERT(argc == 6, "usage: test_monitor e2e|prom|tui|hostile MONITOR MOCKVAL SCHED DEMO");
	mode = argv[1];
	monitor = argv[2];
	mockval = argv[3];
	sched_bin = argv[4];
	demo = argv[5];
	dir = tt_mkdtemp("mon-objs");
	work = tt_mkdtemp("mon-work");
	setenv(XS_METRICS_DIR_ENV, dir, 1);
	if (!strcmp(mode, "e2e"))
		rc = mode_e2e();
	else if (!strcmp(mode, "prom"))
		rc = mode_prom();
	else if (!strcmp(mode, "tui"))
		rc = mode_tui();
	else if (!strcmp(mode, "hostile"))
		rc = mode_hostile();
	else
		t_fail(__FILE__, __LINE__, "unknown mode %s", mode);
	tt_rmtree(dir);
	tt_rmtree(work);
	if (rc == 0)
		printf("ok\n");
	return rc;
}
