/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small program on the xsched runtime that publishes metrics, for the
 * monitor's tests: N reactors (unpinned, backoff idle: cheap on a shared
 * machine), one lightweight thread each doing a little work and recording
 * a latency, until SIGTERM / SIGINT or --seconds.
 *
 * Usage: metrics_demo [REACTORS [SECONDS]]   prints "ready PID" once published
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xsched/metrics.h"
#include "xsched/runtime.h"

struct ctx {
	struct xs_mhist_shm *h;
	uint64_t n;
};

static int work(void *arg)
{
	struct ctx *c = arg;

	if (++c->n % 256)
		return 0;
	xs_mhist_add(c->h, 500 + (c->n / 256 % 64) * 100);
	return 1;
}

static volatile sig_atomic_t stop;

static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

int main(int argc, char **argv)
{
	int nr = argc > 1 ? atoi(argv[1]) : 2;
	double secs = argc > 2 ? atof(argv[2]) : 60;
	struct xs_rt_params prm;
	struct xs_metrics_opts o;
	struct xs_metrics *m;
	struct xs_rt *rt;
	struct ctx *c;
	int r;

	if (nr < 1 || nr > 16)
		return 2;
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	c = calloc((size_t)nr, sizeof(*c));
	xs_rt_params_init(&prm);
	prm.pin = XS_RT_PIN_NONE;
	prm.idle = XS_IDLE_BACKOFF;
	prm.spin_rounds = 16;
	prm.backoff_max_us = 500;
	if (!c || xs_rt_create(&rt, &prm) < 0)
		return 1;
	for (int i = 0; i < nr; i++) {
		char rn[32], ln[32];
		struct xs_lthread_spec sp = { .name = ln, .poll = work, .arg = &c[i] };

		snprintf(rn, sizeof(rn), "xs-demo%d", i);
		snprintf(ln, sizeof(ln), "lt%d", i);
		if (xs_rt_add_reactor(rt, rn, -1, -1) < 0 || xs_rt_add_lthread(rt, i, &sp) < 0)
			return 1;
	}
	xs_metrics_opts_init(&o);
	o.program = "metrics_demo";
	if ((r = xs_metrics_create(&m, rt, &o)) < 0) {
		fprintf(stderr, "metrics_demo: %s: %s\n", xs_strerror(r), xs_errmsg());
		return 1;
	}
	for (int i = 0; i < nr; i++)
		c[i].h = xs_metrics_hist(m, XS_MSTAGE_ARRIVAL_RESPONSE, i);
	if (xs_rt_start(rt) < 0 || xs_metrics_start(m) < 0)
		return 1;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	for (double t = 0; !stop && t < secs; t += 0.05)
		usleep(50000);
	xs_rt_stop(rt);
	xs_rt_join(rt);
	xs_rt_destroy(rt);
	xs_metrics_close(m);
	free(c);
	return 0;
}
