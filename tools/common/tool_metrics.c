/* SPDX-License-Identifier: Apache-2.0 */
/* Metrics for the session tools: see tool_metrics.h. */
#include "tool_metrics.h"

#include "tool.h"

struct xs_metrics *xs_tool_metrics_create(struct xs_rt *rt, const char *socket,
					  const struct xs_session *s, const struct xs_vsession *vs)
{
	struct xs_metrics_opts o;
	struct xs_metrics *m;
	int rc;

	xs_metrics_opts_init(&o);
	o.program = xs_tool_name();
	o.socket = socket;
	o.session = s;
	o.vsession = vs;
	if ((rc = xs_metrics_create(&m, rt, &o)) < 0) {
		xs_tool_note("metrics not published (running without them): %s: %s", xs_strerror(rc),
			     xs_errmsg());
		return NULL;
	}
	return m;
}

void xs_tool_metrics_start(struct xs_metrics *m)
{
	int rc;

	if (m && (rc = xs_metrics_start(m)) < 0)
		xs_tool_note("metrics publisher not started: %s: %s", xs_strerror(rc), xs_errmsg());
}
