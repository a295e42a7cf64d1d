/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-monitor: watch running xsched processes from outside, through the
 * metrics objects they publish in shared memory (xsched/metrics.h), like
 * Aeron's AeronStat or Firedancer's `fdctl monitor`. Reads only: the
 * processes watched pay nothing for it.
 *
 *   xsched-monitor                       live view of every xsched process
 *   xsched-monitor --pid 4242            one process
 *   xsched-monitor --socket /tmp/v.sock  both ends of a session
 *   xsched-monitor --list                which processes publish metrics
 *   xsched-monitor --pid 4242 --once --format json
 *   xsched-monitor --prometheus 9464     HTTP endpoint for Prometheus
 *   xsched-monitor --textfile /var/lib/node_exporter/textfile
 */
#include "mon.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

volatile sig_atomic_t mon_stop;
pthread_mutex_t mon_mu = PTHREAD_MUTEX_INITIALIZER;

enum fmt { F_TABLE, F_JSON, F_PROM };

struct opts {
	int once, list, wait_exit, plain;
	long count;
	double interval_s;
	enum fmt fmt;
	const char *prometheus, *textfile;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Watch running xsched processes (xsched-mockval, xsched-sched, programs on the\n"
		"xsched runtime) through the metrics they publish in shared memory: reactors,\n"
		"lightweight threads, session queues, allocator, latency per stage; context\n"
		"switches of each reactor thread from /proc. Reads only.\n"
		"\n"
		"Targets (default: every process that publishes metrics):\n"
		"  -p, --pid PID             the process PID (repeatable)\n"
		"  -s, --socket PATH         the processes of the session at socket PATH\n"
		"                            (validator and scheduler)\n"
		"  -l, --list                list the processes publishing metrics and exit\n"
		"      --dir DIR             where metrics objects live (default $%s, else %s)\n"
		"      --all                 also show dead and exited objects\n"
		"Output:\n"
		"      --once                one sample, then exit\n"
		"  -f, --format FMT          table (default), json or prometheus\n"
		"  -i, --interval SECONDS    refresh period (default 1; 0.1..3600)\n"
		"  -n, --count N             stop after N refreshes\n"
		"      --plain               plain text even on a terminal (no full-screen view)\n"
		"      --wait-exit           wait until the targets end, then print their final values\n"
		"Prometheus:\n"
		"      --prometheus [ADDR:]PORT  serve the text exposition format over HTTP at\n"
		"                            /metrics (ADDR default 127.0.0.1; PORT 0: any free port)\n"
		"      --textfile DIR        write DIR/xsched.prom atomically every interval (with\n"
		"                            --once: once), for node_exporter's textfile collector\n"
		"  -h, --help                show this help and exit\n"
		"  -V, --version             show the version and exit\n"
		"\n"
		"On a terminal the view is full screen (q quits); stale or stopped processes and\n"
		"reactors are shown in red, descheduled or moved reactor threads in yellow.\n"
		"\n"
		"Exit status: 0 ok; 1 a target has no metrics object, refused one (truncated, bad\n"
		"magic, newer layout, not the process it names), or the port cannot be served;\n"
		"2 usage error.\n",
		xs_tool_name(), XS_METRICS_DIR_ENV, XS_METRICS_DEFAULT_DIR);
}

enum {
	OPT_DIR = 0x100, OPT_ALL, OPT_ONCE, OPT_PLAIN, OPT_WAIT_EXIT, OPT_PROM, OPT_TEXTFILE,
};

static void parse(struct mon *m, struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pid", required_argument, NULL, 'p'},
		{"socket", required_argument, NULL, 's'},
		{"list", no_argument, NULL, 'l'},
		{"dir", required_argument, NULL, OPT_DIR},
		{"all", no_argument, NULL, OPT_ALL},
		{"once", no_argument, NULL, OPT_ONCE},
		{"interval", required_argument, NULL, 'i'},
		{"count", required_argument, NULL, 'n'},
		{"plain", no_argument, NULL, OPT_PLAIN},
		{"wait-exit", no_argument, NULL, OPT_WAIT_EXIT},
		{"prometheus", required_argument, NULL, OPT_PROM},
		{"textfile", required_argument, NULL, OPT_TEXTFILE},
		XS_TOOL_LONGOPT_FORMAT,
		XS_TOOL_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	uint64_t v;
	char *end;
	struct stat st;
	int c;

	memset(o, 0, sizeof(*o));
	o->interval_s = 1.0;
	while ((c = getopt_long(argc, argv, "p:s:li:n:f:hV", longopts, NULL)) != -1) {
		if (c == 'f') {
			if (!strcmp(optarg, "table"))
				o->fmt = F_TABLE;
			else if (!strcmp(optarg, "json"))
				o->fmt = F_JSON;
			else if (!strcmp(optarg, "prometheus"))
				o->fmt = F_PROM;
			else
				xs_tool_usage_error("--format: '%s' is not table, json or prometheus", optarg);
			continue;
		}
		if (xs_tool_common_opt(c, optarg, NULL))
			continue;
		switch (c) {
		case 'p':
			if (xs_tool_parse_u64(optarg, 1, 0x7fffffff, &v) < 0)
				xs_tool_usage_error("--pid: '%s' is not a process id", optarg);
			if (m->npids == MON_MAX_PIDS)
				xs_tool_usage_error("--pid: at most %d processes", MON_MAX_PIDS);
			m->pids[m->npids++] = (pid_t)v;
			break;
		case 's':
			if (!optarg[0])
				xs_tool_usage_error("--socket: empty path");
			m->socket = optarg;
			break;
		case 'l': o->list = 1; break;
		case OPT_DIR:
			if (stat(optarg, &st) < 0 || !S_ISDIR(st.st_mode))
				xs_tool_usage_error("--dir: '%s' is not a directory", optarg);
			m->dir = optarg;
			break;
		case OPT_ALL: m->all = 1; break;
		case OPT_ONCE: o->once = 1; break;
		case 'i':
			errno = 0;
			o->interval_s = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(o->interval_s >= 0.1 && o->interval_s <= 3600))
				xs_tool_usage_error("--interval: '%s' is not a number of seconds in 0.1..3600",
						    optarg);
			break;
		case 'n':
			if (xs_tool_parse_u64(optarg, 1, 1000000000, &v) < 0)
				xs_tool_usage_error("--count: '%s' is not a count in 1..1000000000", optarg);
			o->count = (long)v;
			break;
		case OPT_PLAIN: o->plain = 1; break;
		case OPT_WAIT_EXIT: o->wait_exit = 1; break;
		case OPT_PROM: o->prometheus = optarg; break;
		case OPT_TEXTFILE:
			if (stat(optarg, &st) < 0 || !S_ISDIR(st.st_mode))
				xs_tool_usage_error("--textfile: '%s' is not a directory", optarg);
			o->textfile = optarg;
			break;
		default: xs_tool_usage_error("unexpected option");
		}
	}
	if (optind < argc)
		xs_tool_usage_error("unexpected argument '%s'", argv[optind]);
	if (m->npids && m->socket)
		xs_tool_usage_error("--pid and --socket: give one kind of target");
	if (o->wait_exit && !m->npids && !m->socket)
		xs_tool_usage_error("--wait-exit: needs --pid or --socket");
	if (o->prometheus && (o->once || o->list || o->wait_exit))
		xs_tool_usage_error("--prometheus serves until stopped: not with --once, --list or --wait-exit "
				    "(--once --format prometheus prints one sample)");
	if (o->list && (o->once || o->wait_exit || o->textfile))
		xs_tool_usage_error("--list: not with --once, --wait-exit or --textfile");
	if (o->list && o->fmt == F_PROM)
		xs_tool_usage_error("--list: --format table or json");
}

static void on_signal(int sig)
{
	(void)sig;
	mon_stop = 1;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - floor(s)) * 1e9) };

	nanosleep(&ts, NULL); /* a signal ends it early: the loops test mon_stop */
}

/* DIR/xsched.prom, written under a temporary name and renamed. */
static int write_textfile(struct mon *m, const char *dir)
{
	char tmp[4096], path[4096];
	FILE *f;
	int e = 0;

	snprintf(path, sizeof(path), "%s/xsched.prom", dir);
	snprintf(tmp, sizeof(tmp), "%s/.xsched.prom.%d.tmp", dir, (int)getpid());
	f = fopen(tmp, "w");
	if (!f)
		return xs_tool_fail(-errno, "write %s", tmp);
	mon_render_prom(m, f);
	if (fflush(f) || fsync(fileno(f)))
		e = -errno;
	if (fclose(f) && !e)
		e = -errno;
	if (!e && rename(tmp, path) < 0)
		e = -errno;
	if (e) {
		unlink(tmp);
		return xs_tool_fail(e, "write %s", path);
	}
	return 0;
}

static void print_sample(struct mon *m, const struct opts *o, int separator)
{
	if (o->fmt == F_JSON) {
		mon_render_json(m, stdout);
	} else if (o->fmt == F_PROM) {
		mon_render_prom(m, stdout);
	} else {
		struct mon_frame f;

		memset(&f, 0, sizeof(f));
		mon_render_text(m, &f);
		if (separator) {
			char when[64];
			time_t now = time(NULL);
			struct tm tm;

			localtime_r(&now, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
			printf("---- xsched-monitor %s\n", when);
		}
		for (int i = 0; i < f.n; i++)
			puts(f.line[i]);
		mon_frame_free(&f);
	}
	fflush(stdout);
}

/* 1 when every target has ended (exited or dead). */
static int all_ended(const struct mon *m)
{
	for (int i = 0; i < m->np; i++)
		if (!m->p[i].cur.ok ||
		    (m->p[i].cur.live != XS_MLIVE_EXITED && m->p[i].cur.live != XS_MLIVE_DEAD))
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	static struct mon m;
	struct opts o;
	struct sigaction sa;
	int rc = XS_EXIT_OK;

	xs_tool_init("xsched-monitor", usage);
	parse(&m, &o, argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((rc = mon_targets(&m)) != 0) {
		mon_free(&m);
		return rc;
	}

	if (o.list) {
		mon_sample_all(&m);
		mon_render_list(&m, stdout, o.fmt == F_JSON);
	} else if (o.wait_exit) {
		/* hold the mappings: a process that closes its object leaves its
		 * final values in them after the name is gone */
		while (!mon_stop) {
			mon_sample_all(&m);
			if (all_ended(&m))
				break;
			sleep_s(0.05);
		}
		print_sample(&m, &o, 0);
	} else if (o.once) {
		mon_sample_all(&m);
		for (int i = 0; i < m.np; i++)
			if (!m.p[i].cur.ok && m.explicit_targets)
				rc = XS_EXIT_FAIL;
		if (o.textfile)
			rc = write_textfile(&m, o.textfile) ? XS_EXIT_FAIL : rc;
		else
			print_sample(&m, &o, 0);
	} else if (o.prometheus || o.textfile) {
		void *http = NULL;
		long n = 0;

		if (o.prometheus) {
			char where[160];
			int fd = mon_http_listen(o.prometheus, where, sizeof(where));

			if (fd < 0 || !(http = mon_http_start(&m, fd))) {
				if (fd >= 0)
					close(fd);
				mon_free(&m);
				return XS_EXIT_FAIL;
			}
			xs_tool_note("serving Prometheus metrics on http://%s/metrics", where);
		}
		while (!mon_stop && (!o.count || n < o.count)) {
			if (o.textfile) {
				pthread_mutex_lock(&mon_mu);
				mon_rescan(&m);
				mon_sample_all(&m);
				if (write_textfile(&m, o.textfile))
					rc = XS_EXIT_FAIL;
				pthread_mutex_unlock(&mon_mu);
				if (rc)
					break;
			}
			n++;
			sleep_s(o.interval_s);
		}
		mon_http_stop(http);
	} else if (o.fmt == F_TABLE && !o.plain && !o.count && isatty(STDOUT_FILENO) &&
		   mon_tui(&m, o.interval_s) == 0) {
		/* the terminal view ran */
	} else {
		for (long n = 0; !mon_stop && (!o.count || n < o.count); n++) {
			if (n)
				sleep_s(o.interval_s);
			if (mon_stop)
				break;
			mon_rescan(&m);
			mon_sample_all(&m);
			print_sample(&m, &o, o.fmt == F_TABLE);
			if (o.fmt == F_TABLE)
				putchar('\n');
		}
	}
	mon_free(&m);
	return rc;
}
