/* SPDX-License-Identifier: Apache-2.0 */
/* The generation a session tool speaks: see tool_gen.h. */
#include "tool_gen.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tool.h"

void xs_tool_gen_set(struct xs_tool_gen *g, const struct xs_hs_proto *p)
{
	unsigned id = p->bindings;

	/* an --agave line can be finer than its row (4.1, 4.2: VERSION 4
	 * without bindings 5.x's PARTIAL_BATCH_CANCELLED) */
	if (g->agave && g->agave->proto == p)
		id = g->agave->bindings;
	g->proto = p;
	g->bindings = id;
	g->b = xs_bindings_get(id);
}

static void need_sessions(const char *opt, const char *arg, const struct xs_hs_proto *p)
{
	if (!p->sessions)
		xs_tool_usage_error("%s: %s: generation %s is known on the wire only: this build "
				    "cannot make its sessions yet", opt, arg, p->name);
}

void xs_tool_gen_resolve(struct xs_tool_gen *g, const char *protocol, const char *agave,
			 bool allow_auto)
{
	const struct xs_hs_proto *p;

	memset(g, 0, sizeof(*g));
	if (protocol && agave)
		xs_tool_usage_error("--agave: give either --protocol or --agave, not both");
	if (agave) {
		if (xs_hs_parse_agave(agave, &g->agave) < 0)
			xs_tool_usage_error("--agave: %s", xs_errmsg());
		need_sessions("--agave", agave, g->agave->proto);
		xs_tool_gen_set(g, g->agave->proto);
		if (g->agave->alt && g->agave->note)
			xs_tool_note("--agave %s: %s", agave, g->agave->note);
		return;
	}
	if (protocol && !strcasecmp(protocol, "auto")) {
		if (!allow_auto)
			xs_tool_usage_error("--protocol: auto is for schedulers (a validator serves "
					    "one generation): give 1, 2, 3, 4, 5, sdk6 or sdk7");
		g->is_auto = true;
		return;
	}
	if (xs_hs_parse_protocol(protocol ? protocol : "2", &p) < 0)
		xs_tool_usage_error("--protocol: %s%s", xs_errmsg(),
				    allow_auto ? ", or auto (the server's generation)" : "");
	need_sessions("--protocol", protocol ? protocol : "2", p);
	xs_tool_gen_set(g, p);
}

const char *xs_tool_gen_label(const struct xs_tool_gen *g)
{
	static char buf[32];

	if (!g->proto)
		return "auto";
	if (g->proto->wire == XS_HS_WIRE_PV)
		snprintf(buf, sizeof(buf), "%s", g->proto->name);
	else
		snprintf(buf, sizeof(buf), "VERSION %u", g->proto->version);
	return buf;
}

const char *xs_tool_gen_spoken(void)
{
	static char buf[128];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < xs_hs_proto_count(); i++) {
		const struct xs_hs_proto *p = xs_hs_proto_at(i);

		if (p->sessions && len < sizeof(buf))
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? ", " : "",
						p->name);
	}
	return buf;
}

/* ------------------------------------------------------------ progress */

void xs_tool_progress_decode(const struct xs_bindings *b, const void *m, struct xs_tool_progress *p)
{
	memset(p, 0, sizeof(*p));
	switch (b->size[XS_MSG_PROGRESS]) {
	case sizeof(struct xs_progress): {
		const struct xs_progress *v = m;

		p->leader_state = v->leader_state;
		p->current_slot_progress = v->current_slot_progress;
		p->current_slot = v->current_slot;
		p->next_leader_slot = v->next_leader_slot;
		p->leader_range_end = v->leader_range_end;
		p->remaining_cost_units = v->remaining_cost_units;
		break;
	}
	case sizeof(struct xs_v4_progress): {
		const struct xs_v4_progress *v = m;

		p->leader_state = v->leader_state;
		p->current_slot_progress = v->current_slot_progress;
		p->epoch = v->epoch;
		p->current_slot = v->current_slot;
		p->next_leader_slot = v->next_leader_slot;
		p->leader_range_end = v->leader_range_end;
		p->remaining_cost_units = v->remaining_cost_units;
		memcpy(p->blockhash, v->latest_blockhash, sizeof(p->blockhash));
		break;
	}
	default: {
		const struct xs_v6_progress *v = m;

		p->leader_state = v->leader_state;
		p->current_slot_progress = v->current_slot_progress;
		p->epoch = v->epoch;
		p->current_slot = v->current_slot;
		p->next_leader_slot = v->next_leader_slot;
		p->leader_range_end = v->leader_range_end;
		p->remaining_cost_units = v->remaining_cost_units;
		p->remaining_data = v->remaining_allocated_accounts_data_size;
		memcpy(p->blockhash, v->latest_blockhash, sizeof(p->blockhash));
		p->target_bank_time_ms = v->target_bank_time_ms;
		break;
	}
	}
}

void xs_tool_progress_encode(const struct xs_bindings *b, const struct xs_tool_progress *p, void *m)
{
	memset(m, 0, b->size[XS_MSG_PROGRESS]);
	switch (b->size[XS_MSG_PROGRESS]) {
	case sizeof(struct xs_progress): {
		struct xs_progress *v = m;

		v->leader_state = p->leader_state;
		v->current_slot_progress = p->current_slot_progress;
		v->current_slot = p->current_slot;
		v->next_leader_slot = p->next_leader_slot;
		v->leader_range_end = p->leader_range_end;
		v->remaining_cost_units = p->remaining_cost_units;
		break;
	}
	case sizeof(struct xs_v4_progress): {
		struct xs_v4_progress *v = m;

		v->leader_state = p->leader_state;
		v->current_slot_progress = p->current_slot_progress;
		v->epoch = p->epoch;
		v->current_slot = p->current_slot;
		v->next_leader_slot = p->next_leader_slot;
		v->leader_range_end = p->leader_range_end;
		v->remaining_cost_units = p->remaining_cost_units;
		memcpy(v->latest_blockhash, p->blockhash, sizeof(v->latest_blockhash));
		break;
	}
	default: {
		struct xs_v6_progress *v = m;

		v->leader_state = p->leader_state;
		v->current_slot_progress = p->current_slot_progress;
		v->epoch = p->epoch;
		v->current_slot = p->current_slot;
		v->next_leader_slot = p->next_leader_slot;
		v->leader_range_end = p->leader_range_end;
		v->remaining_cost_units = p->remaining_cost_units;
		v->remaining_allocated_accounts_data_size = p->remaining_data;
		memcpy(v->latest_blockhash, p->blockhash, sizeof(v->latest_blockhash));
		v->target_bank_time_ms = p->target_bank_time_ms;
		break;
	}
	}
}

/* ----------------------------------------------------- flags and checks */

uint16_t xs_tool_check_flag(const struct xs_bindings *b, enum xs_tool_check k)
{
	static const uint16_t v2[XS_TOOL_CHECK_KINDS] = {
		XS_CHECK_STATUS_CHECKS, XS_CHECK_LOAD_FEE_PAYER_BALANCE,
		XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES, 0,
	};
	static const uint16_t v6[XS_TOOL_CHECK_KINDS] = {
		XS_V6_CHECK_STATUS_CHECKS, XS_V6_CHECK_LOAD_FEE_PAYER_BALANCE,
		XS_V6_CHECK_LOAD_ADDRESS_LOOKUP_TABLES, XS_V6_CHECK_CALCULATE_SCHEDULING_DETAILS,
	};

	if (b->id == XS_BIND_3_1 || (unsigned)k >= XS_TOOL_CHECK_KINDS)
		return 0;
	return b->split ? v6[k] : v2[k];
}

uint16_t xs_tool_check_all(const struct xs_bindings *b)
{
	uint16_t f = 0;

	for (unsigned k = 0; k < XS_TOOL_CHECK_KINDS; k++)
		f |= xs_tool_check_flag(b, (enum xs_tool_check)k);
	return f;
}

uint16_t xs_tool_exec_flags(const struct xs_bindings *b, bool drop_on_failure, bool all_or_nothing)
{
	if (b->id == XS_BIND_3_1)
		return XS_V1_PACK_NONE;
	if (b->split)
		return (uint16_t)((drop_on_failure ? XS_V6_EXEC_DROP_ON_FAILURE : 0) |
				  (all_or_nothing ? XS_V6_EXEC_ALL_OR_NOTHING : 0));
	return (uint16_t)(XS_PACK_EXECUTE | (drop_on_failure ? XS_EXEC_DROP_ON_FAILURE : 0) |
			  (all_or_nothing ? XS_EXEC_ALL_OR_NOTHING : 0));
}

bool xs_tool_exec_drop(const struct xs_bindings *b, uint16_t flags)
{
	if (b->id == XS_BIND_3_1)
		return false;
	return flags & (b->split ? XS_V6_EXEC_DROP_ON_FAILURE : XS_EXEC_DROP_ON_FAILURE);
}

bool xs_tool_exec_all(const struct xs_bindings *b, uint16_t flags)
{
	if (b->id == XS_BIND_3_1)
		return false;
	return flags & (b->split ? XS_V6_EXEC_ALL_OR_NOTHING : XS_EXEC_ALL_OR_NOTHING);
}

int xs_tool_check_passed(const struct xs_bindings *b, const void *resp)
{
	/* the first four flag bytes are at the same offsets in both layouts */
	const uint8_t *f = resp;
	uint64_t balance;
	uint8_t sched = 0;

	if (b->split) {
		const struct xs_v6_check_resp *r = resp;

		balance = r->fee_payer_balance;
		sched = r->scheduling_details_flags;
	} else {
		balance = ((const struct xs_check_resp *)resp)->fee_payer_balance;
	}
	if (f[0] & XS_PARSE_FAILED)
		return 0;
	if ((f[1] & XS_STATUS_REQUESTED) &&
	    (!(f[1] & XS_STATUS_PERFORMED) ||
	     (f[1] & (XS_STATUS_TOO_OLD | XS_STATUS_ALREADY_PROCESSED | XS_STATUS_INVALID_NONCE |
		      XS_STATUS_UNSUPPORTED_VERSION))))
		return 0;
	if ((f[2] & XS_BALANCE_REQUESTED) &&
	    (!(f[2] & XS_BALANCE_PERFORMED) || balance < XS_TOOL_MIN_BALANCE))
		return 0;
	if (f[3] & XS_RESOLVE_FAILED)
		return 0;
	if (sched & XS_SCHED_FAILED)
		return 0;
	return 1;
}
