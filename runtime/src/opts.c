/* SPDX-License-Identifier: Apache-2.0 */
/* The standard options of every xsched program, and the runtime's error texts. */
#include "rt_pvt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void xs_rt_opts_init(struct xs_rt_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->placement = XS_PLACE_DEDICATED;
	o->idle = XS_IDLE_SPIN;
	o->pace_max = XS_RT_PACE_DEFAULT;
}

int xs_rt_opts_parse(struct xs_rt_opts *o, int opt, const char *arg)
{
	int r;

	switch (opt) {
	case XS_RT_OPT_CPUS:
		if (!arg || (r = xs_cpuset_parse(&o->cpus, arg)) < 0)
			return xs_seterr(-XS_ERT_OPTION, "--cpus: '%s' is not a CPU list (e.g. 0-3,8,10-11)",
					 arg ? arg : "");
		if (xs_cpuset_empty(&o->cpus))
			return xs_seterr(-XS_ERT_OPTION, "--cpus: the list '%s' holds no CPU", arg);
		o->has_cpus = 1;
		return 1;
	case XS_RT_OPT_PLACEMENT:
		if ((r = xs_place_policy_parse(arg)) < 0)
			return xs_seterr(-XS_ERT_OPTION, "--placement: '%s' is not one of dedicated, spill, packed",
					 arg ? arg : "");
		o->placement = (enum xs_place_policy)r;
		return 1;
	case XS_RT_OPT_IDLE:
		if ((r = xs_idle_parse(arg)) < 0)
			return xs_seterr(-XS_ERT_OPTION, "--idle: '%s' is not one of spin, yield, backoff, futex",
					 arg ? arg : "");
		o->idle = (enum xs_idle)r;
		return 1;
	case XS_RT_OPT_TOPOLOGY:
		if (!arg || !arg[0])
			return xs_seterr(-XS_ERT_OPTION,
					 "--topology: empty (want a synthetic string or an XML file)");
		o->topology = arg;
		return 1;
	case XS_RT_OPT_ALLOW_SMT:
		o->place_flags |= XS_PLACE_ALLOW_SMT;
		return 1;
	case XS_RT_OPT_USE_HOUSEKEEPING:
		o->place_flags |= XS_PLACE_USE_HOUSEKEEPING;
		return 1;
	case XS_RT_OPT_PACE: {
		char *end = NULL;
		unsigned long v;

		errno = 0;
		v = arg && *arg >= '0' && *arg <= '9' ? strtoul(arg, &end, 10) : 0;
		if (!end || *end || errno || v > 4096)
			return xs_seterr(-XS_ERT_OPTION, "--pace: '%s' is not a pause count in 0..4096",
					 arg ? arg : "");
		o->pace_max = (uint32_t)v;
		return 1;
	}
	default:
		return 0;
	}
}

void xs_rt_opts_usage(FILE *f)
{
	fputs("Runtime options (every xsched program):\n"
	      "  --cpus LIST             CPUs for the busy threads, e.g. 1 or 0-3,8,10-11; the\n"
	      "                          housekeeping CPU is another allowed one (or shares these\n"
	      "                          when there is none); CPUs that do not exist are an error\n"
	      "                          (default: the allowed set: affinity mask and cgroup\n"
	      "                          cpuset, less one housekeeping core)\n"
	      "  --placement POLICY      when the memory's NUMA node has too few cores:\n"
	      "                          dedicated (fail, default), spill (use the nearest node),\n"
	      "                          packed (several lightweight threads per core)\n"
	      "  --idle STRATEGY         what a reactor does when idle: spin (default), yield\n"
	      "                          (spin, then sched_yield), backoff (spin, then sleep <= 1 ms),\n"
	      "                          futex (spin, then sleep until a registered queue is written)\n"
	      "  --topology SPEC         plan for a synthetic topology (\"pack:2 numa:2 core:8 pu:2\")\n"
	      "                          or an XML file (default: $" XS_TOPOLOGY_ENV ", else this machine)\n"
	      "  --allow-smt             busy threads may use SMT siblings of each other\n"
	      "  --use-housekeeping      do not keep a housekeeping core free\n"
	      "  --pace N                idle pacing: after k items of work, the first idle round\n"
	      "                          pauses min(k, N) times (default 64; 0: one pause, no pacing)\n",
	      f);
}

int xs_rt_opts_topo(const struct xs_rt_opts *o, struct xs_topo **out)
{
	return xs_topo_load(out, o->topology);
}

void xs_rt_opts_plan(const struct xs_rt_opts *o, struct xs_plan_opts *po)
{
	po->policy = o->placement;
	po->flags |= o->place_flags;
	if (o->has_cpus)
		po->cpus = &o->cpus;
}

void xs_rt_opts_params(const struct xs_rt_opts *o, struct xs_rt_params *p)
{
	p->idle = o->idle;
	p->pace_max = o->pace_max;
}

const char *xs_strerror_rt(int code)
{
	switch (code) {
	case XS_ERT_NO_CORES: return "not enough usable cores for the placement";
	case XS_ERT_TOPOLOGY: return "topology could not be loaded";
	case XS_ERT_NOT_SYSTEM: return "needs the real machine's topology";
	case XS_ERT_CPUS: return "bad or empty CPU set";
	case XS_ERT_PIN: return "reactor could not be pinned to its CPU";
	case XS_ERT_STATE: return "not valid in the runtime's current state";
	case XS_ERT_OVERSUB: return "two busy reactors on one CPU";
	case XS_ERT_UNPOPULATED: return "memory range has no populated page";
	case XS_ERT_OPTION: return "bad runtime option value";
	case XS_ERT_DONE: return "lightweight thread finished";
	case XS_ERT_NODE: return "no such NUMA node";
	case XS_ERT_SESSION: return "session not usable by the runtime";
	case XS_ERT_PEER_GONE: return "the session's peer process exited";
	default: return xs__strerror_metrics(code); /* XS_EMET_*, else NULL */
	}
}
