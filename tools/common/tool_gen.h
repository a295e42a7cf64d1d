/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The generation a session tool speaks (xsched-mockval, xsched-sched): the
 * row of the handshake table (struct xs_hs_proto) and the bindings version
 * whose messages it reads and writes (struct xs_bindings), chosen with
 * --protocol N (1 .. 5, sdk6, sdk7; xsched-sched also "auto") or
 * --agave LINE (3.1, 4.0 .. 4.4). Plus the few helpers both tools need to
 * handle every generation's messages with one code path: the progress
 * message in its three layouts (48, 80 and 96 bytes), the execution and
 * check flags of each bindings version, and the example's rule for "this
 * check response failed" that mockval injects and sched applies.
 * Not part of libxsched.
 */
#ifndef XS_TOOL_GEN_H
#define XS_TOOL_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "xsched/handshake.h"
#include "xsched/msg.h"

/** What a tool speaks. */
struct xs_tool_gen {
	const struct xs_hs_proto *proto; /**< the row; NULL with auto until connected */
	const struct xs_hs_agave *agave; /**< the --agave line, else NULL */
	const struct xs_bindings *b;     /**< message meanings (NULL with auto until connected) */
	unsigned bindings;               /**< enum xs_bindings_id of b */
	bool is_auto;                    /**< --protocol auto (xsched-sched) */
};

/**
 * Resolve --protocol / --agave (either may be NULL; neither: VERSION 2, the
 * default). Problems are usage errors in the tools' format, exit 2:
 * "--protocol: ...", "--agave: ..." (unknown value, both given, "auto"
 * where @p allow_auto is false, a generation this build has no sessions
 * for). Where --agave names a line whose generation the spec leaves open,
 * the table's note is printed on stderr (which generation, and why).
 */
void xs_tool_gen_resolve(struct xs_tool_gen *g, const char *protocol, const char *agave,
			 bool allow_auto);

/** Set @p g to row @p p with its own bindings (after an auto negotiation;
 *  an --agave line's finer bindings are kept when the row is the line's). */
void xs_tool_gen_set(struct xs_tool_gen *g, const struct xs_hs_proto *p);

/** "VERSION 4" / "sdk7" style name of the row for humans ("auto" before). */
const char *xs_tool_gen_label(const struct xs_tool_gen *g);

/** The generations this build makes sessions for, for humans: "1, 2, 3, 4,
 *  5, sdk6, sdk7" (static storage). */
const char *xs_tool_gen_spoken(void);

/** The generation has check-worker queues (VERSION 5, SDK). */
static inline bool xs_tool_gen_has_check(const struct xs_tool_gen *g)
{
	return g->proto && g->proto->nglobal == XS_HS_GLOBAL_SHMEM_CHECK;
}

/** The logon carries check_worker_count (SDK rows). */
static inline bool xs_tool_gen_logon_check_count(const struct xs_tool_gen *g)
{
	return g->proto && g->proto->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT;
}

/* ------------------------------------------------------------ progress */

/** A ProgressMessage of any layout, decoded. Fields a layout lacks are 0. */
struct xs_tool_progress {
	uint8_t leader_state;
	uint8_t current_slot_progress;
	uint16_t target_bank_time_ms;  /**< bindings 6 */
	uint64_t epoch;                /**< 80- and 96-byte layouts */
	uint64_t current_slot;
	uint64_t next_leader_slot;
	uint64_t leader_range_end;
	uint64_t remaining_cost_units;
	uint64_t remaining_data;       /**< remaining_allocated_accounts_data_size (bindings 6) */
	uint8_t blockhash[32];         /**< latest_blockhash (80- and 96-byte layouts) */
};

/** Decode progress message bytes @p m of bindings @p b (b->size[XS_MSG_PROGRESS] bytes). */
void xs_tool_progress_decode(const struct xs_bindings *b, const void *m, struct xs_tool_progress *p);

/** Encode @p p as a progress message of bindings @p b into @p m (zeroed first,
 *  padding stays zero). */
void xs_tool_progress_encode(const struct xs_bindings *b, const struct xs_tool_progress *p, void *m);

/** The leader can execute now: IS_LEADER (VERSION 1, 2) or LEADER_READY (later). */
static inline bool xs_tool_leader_ready(const struct xs_bindings *b, unsigned leader_state)
{
	return b->leader_state_max == 1 ? leader_state == XS_LEADER_IS_LEADER
					: leader_state == XS_LEADER_READY;
}

/* ----------------------------------------------------- flags and checks */

/** Check kinds, in the order of the request flag bits they stand for. */
enum xs_tool_check {
	XS_TOOL_CHECK_STATUS = 0,  /**< STATUS_CHECKS */
	XS_TOOL_CHECK_BALANCE,     /**< LOAD_FEE_PAYER_BALANCE */
	XS_TOOL_CHECK_ALT,         /**< LOAD_ADDRESS_LOOKUP_TABLES */
	XS_TOOL_CHECK_DETAILS,     /**< CALCULATE_SCHEDULING_DETAILS (bindings 6) */
	XS_TOOL_CHECK_KINDS,
};

/** Request flag bit of check @p k in bindings @p b, 0 when it has none. */
uint16_t xs_tool_check_flag(const struct xs_bindings *b, enum xs_tool_check k);

/** Flags of a check request asking for every check bindings @p b has
 *  (V2 - V5: the CHECK kind, bit 0 clear). 0 for VERSION 1. */
uint16_t xs_tool_check_all(const struct xs_bindings *b);

/** Flags of an execute request of bindings @p b with the options asked
 *  (ignored where the version has no such flag). */
uint16_t xs_tool_exec_flags(const struct xs_bindings *b, bool drop_on_failure, bool all_or_nothing);

/** The version has DROP_ON_FAILURE / ALL_OR_NOTHING execution flags (not 3.1.x). */
static inline bool xs_tool_has_exec_options(const struct xs_bindings *b)
{
	return b->id != XS_BIND_3_1;
}

/** Whether execute request @p flags of @p b carry DROP_ON_FAILURE, ALL_OR_NOTHING. */
bool xs_tool_exec_drop(const struct xs_bindings *b, uint16_t flags);
bool xs_tool_exec_all(const struct xs_bindings *b, uint16_t flags);

/** Smallest fee-payer balance a check accepts (lamports: one signature's fee). */
#define XS_TOOL_MIN_BALANCE 5000u

/**
 * The examples' rule for one check response (64-byte CheckResponse of
 * VERSION 2 - 5 or 96-byte one of bindings 6, @p resp): it fails when
 * parsing failed; a requested status check was not performed or found the
 * transaction too old, already processed, with an invalid nonce or an
 * unsupported version; a requested balance was not performed or is below
 * XS_TOOL_MIN_BALANCE; lookup-table resolution failed; scheduling details
 * failed. xsched-mockval injects its --check-fail share so that exactly
 * these fail; xsched-sched drops what fails.
 * @return 1 passed, 0 failed.
 */
int xs_tool_check_passed(const struct xs_bindings *b, const void *resp);

/** not_included_reason of execution response @p k of array @p arr (24- or
 *  32-byte elements by @p b). */
static inline uint8_t xs_tool_exec_reason(const struct xs_bindings *b, const void *arr, unsigned k)
{
	const uint8_t *e = (const uint8_t *)arr + (uint64_t)k * b->size[XS_MSG_EXEC_RESPONSE];

	return b->size[XS_MSG_EXEC_RESPONSE] == sizeof(struct xs_exec_resp) ? e[0] : e[8];
}

#endif
