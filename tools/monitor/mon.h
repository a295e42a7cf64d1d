/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xsched-monitor internals: targets (the processes watched), samples (a
 * private copy of each metrics object plus what /proc says about each
 * reactor thread), rates between two samples, and the renderers (text
 * frame, JSON, Prometheus text format), the terminal view and the HTTP
 * endpoint.
 */
#ifndef XS_MON_H
#define XS_MON_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "xsched/metrics.h"

#define MON_MAX_PIDS 256

/* What /proc says about one reactor thread. */
struct mon_thr {
	int ok;              /* the task exists */
	char state;          /* R, S, D, T, ... */
	int last_cpu;        /* CPU it last ran on (stat field 39) */
	uint64_t vcsw, ivcsw; /* voluntary / nonvoluntary context switches */
	uint64_t cpu_ticks;  /* utime + stime */
};

/* One sample of one process. */
struct mon_sample {
	int ok;
	struct xs_metrics_snap snap;
	uint64_t t_ns;       /* CLOCK_MONOTONIC when taken */
	enum xs_metrics_live live;
	uint64_t hb_age_ns;
	struct mon_thr *thr; /* [reactors] */
};

/* A watched process. */
struct mon_proc {
	pid_t pid;
	struct xs_metrics_view view;
	struct mon_sample cur, prev; /* prev.ok: rates are available */
	int final_shown;     /* exited/dead and rendered once */
};

/* Options and state. */
struct mon {
	const char *dir;
	pid_t pids[MON_MAX_PIDS];
	int npids;
	const char *socket;
	int all;             /* keep dead / exited processes */
	int explicit_targets; /* --pid or --socket: refuse what cannot be opened */
	struct mon_proc *p;
	int np, cap;
	long clk_tck;
};

/* Line attributes of a text frame (the terminal view colours them). */
enum mon_attr { MA_NORMAL = 0, MA_HEAD, MA_WARN, MA_BAD, MA_DIM };

/* A rendered text frame: lines with one attribute each. */
struct mon_frame {
	char **line;
	int *attr;
	int n, cap;
};

/* ---- targets and samples (mon_data.c) */

/* Find the targets (--pid / --socket / every live object). @return 0, or
 * XS_EXIT_FAIL after printing why an explicit target cannot be watched. */
int mon_targets(struct mon *m);
/* Re-list the directory when no explicit target was given (new processes
 * appear, removed ones go once shown). */
void mon_rescan(struct mon *m);
/* Take a sample of every target (previous one kept for rates). */
void mon_sample_all(struct mon *m);
void mon_free(struct mon *m);
uint64_t mon_now_ns(void);

/* Rates between prev and cur; 0 when no previous sample. */
double mon_dt_s(const struct mon_proc *p);
/* Delta of a counter at byte offset @p off of record @p i of section @p sect. */
uint64_t mon_delta(const struct mon_proc *p, unsigned sect, unsigned i, size_t off);
/* 1 when reactor @p r looks stale (running, rounds not moving). */
int mon_reactor_stale(const struct mon_proc *p, unsigned r);
/* Quantile @p q of stage @p stage over every lthread: interval (delta
 * against prev) when @p interval, else since start. 0 when empty. */
double mon_stage_quantile_ns(const struct mon_proc *p, unsigned stage, int interval, double q,
			     uint64_t *count);

/* ---- renderers (mon_out.c) */

void mon_frame_add(struct mon_frame *f, int attr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mon_frame_free(struct mon_frame *f);
/* The text view of every target (also the --once table). */
void mon_render_text(struct mon *m, struct mon_frame *f);
void mon_render_json(struct mon *m, FILE *out);
void mon_render_prom(struct mon *m, FILE *out);
/* The list of processes (--list). */
void mon_render_list(struct mon *m, FILE *out, int json);

/* Set by SIGINT / SIGTERM: every loop ends. */
extern volatile sig_atomic_t mon_stop;
/* Guards struct mon between the HTTP thread and the main loop. */
extern pthread_mutex_t mon_mu;

/* ---- terminal view (mon_tui.c); @return exit code, -1 when unavailable */
int mon_tui(struct mon *m, double interval_s);

/* ---- HTTP (mon_http.c) */

/* Parse "[ADDR:]PORT" (usage error, exit 2, on a bad value), bind and
 * listen. @return the listening fd, or -1 after printing why. The bound
 * address is written to @p where ("127.0.0.1:9464"). */
int mon_http_listen(const char *spec, char *where, size_t where_len);
/* Start serving Prometheus text on @p fd (its own thread). @return a handle or NULL. */
void *mon_http_start(struct mon *m, int fd);
void mon_http_stop(void *h);

#endif
