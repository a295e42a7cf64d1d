/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics for the session tools (xsched-mockval, xsched-sched): publish the
 * process's metrics object (xsched/metrics.h) unless --no-metrics. Metrics
 * are an observer's aid: when they cannot be published the tool says so on
 * stderr and runs on without them (every call below accepts NULL).
 */
#ifndef XS_TOOL_METRICS_H
#define XS_TOOL_METRICS_H

#include "xsched/metrics.h"

struct xs_rt;
struct xs_session;
struct xs_vsession;

/** getopt_long entry and help line of --no-metrics (value XS_TOOL_OPT_NO_METRICS). */
#define XS_TOOL_OPT_NO_METRICS 0x4480
#define XS_TOOL_LONGOPT_NO_METRICS {"no-metrics", no_argument, NULL, XS_TOOL_OPT_NO_METRICS}
#define XS_TOOL_NO_METRICS_HELP                                                                 \
	"      --no-metrics            do not publish metrics in shared memory for\n"             \
	"                              xsched-monitor (default: published, see $XS_METRICS_DIR)\n"

/**
 * Create the object for runtime @p rt (built, not yet started) and the
 * session (@p s client side or @p vs validator side) at @p socket, named
 * after the tool. Histograms and full counters can be wired before the
 * runtime starts. @return the object, or NULL (a note was printed).
 */
struct xs_metrics *xs_tool_metrics_create(struct xs_rt *rt, const char *socket,
					  const struct xs_session *s, const struct xs_vsession *vs);

/** After xs_rt_start(): start sampling (a note on failure). */
void xs_tool_metrics_start(struct xs_metrics *m);

#endif
