/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bindings table: per scheduler-bindings version, the size of every
 * message type and the meaning of every flag and code (xsched/msg.h,
 * struct xs_bindings). Data only; the validators and the handshake rows
 * read it. Facts from spec/MESSAGES.md (VERSION 2, section 7 = VERSION 1),
 * spec/AGAVE_4X.md section 4 (VERSION 3, 4, 5.x), spec/MESSAGES6.md
 * (bindings 6) and the layout JSON files of the golden vectors (v1/, v4/:
 * INSTRUCTIONS_SYSVAR_OVERFLOW = 102 at the 4.2 branch point).
 */
#include <stddef.h>

#include "xsched/msg.h"

#define N(a) ((uint8_t)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------- named values */

static const struct xs_msg_const tpu_flags[] = {
	{ 0x00, "NONE" }, { 0x01, "IS_SIMPLE_VOTE" }, { 0x02, "FORWARDED" },
	{ 0x04, "FROM_STAKED_NODE" },
};

static const struct xs_msg_const leader_v1[] = { { 0, "IS_NOT_LEADER" }, { 1, "IS_LEADER" } };
static const struct xs_msg_const leader_v3[] = {
	{ 0, "NOT_LEADER" }, { 1, "LEADER_STARTING" }, { 2, "LEADER_READY" },
};

/* VERSION 1: flags are exactly 0 (execute) or 2 (resolve) */
static const struct xs_msg_const exec_v1[] = { { XS_V1_PACK_NONE, "NONE" } };
static const struct xs_msg_const check_v1[] = { { XS_V1_PACK_RESOLVE, "RESOLVE" } };
/* VERSION 2 - 5: bit 0 selects the kind, the others depend on it */
static const struct xs_msg_const exec_v2[] = {
	{ XS_PACK_EXECUTE, "EXECUTE" },
	{ XS_EXEC_DROP_ON_FAILURE, "DROP_ON_FAILURE" },
	{ XS_EXEC_ALL_OR_NOTHING, "ALL_OR_NOTHING" },
};
static const struct xs_msg_const check_v2[] = {
	{ XS_PACK_CHECK, "CHECK" },
	{ XS_CHECK_STATUS_CHECKS, "STATUS_CHECKS" },
	{ XS_CHECK_LOAD_FEE_PAYER_BALANCE, "LOAD_FEE_PAYER_BALANCE" },
	{ XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES, "LOAD_ADDRESS_LOOKUP_TABLES" },
};
/* bindings 6: separate messages, separate flag sets */
static const struct xs_msg_const exec_v6[] = {
	{ XS_V6_EXEC_DROP_ON_FAILURE, "DROP_ON_FAILURE" },
	{ XS_V6_EXEC_ALL_OR_NOTHING, "ALL_OR_NOTHING" },
};
static const struct xs_msg_const check_v6[] = {
	{ XS_V6_CHECK_STATUS_CHECKS, "STATUS_CHECKS" },
	{ XS_V6_CHECK_LOAD_FEE_PAYER_BALANCE, "LOAD_FEE_PAYER_BALANCE" },
	{ XS_V6_CHECK_LOAD_ADDRESS_LOOKUP_TABLES, "LOAD_ADDRESS_LOOKUP_TABLES" },
	{ XS_V6_CHECK_CALCULATE_SCHEDULING_DETAILS, "CALCULATE_SCHEDULING_DETAILS" },
};

static const struct xs_msg_const processed_v1[] = {
	{ XS_V1_NOT_PROCESSED, "NOT_PROCESSED" }, { XS_V1_PROCESSED, "PROCESSED" },
};
static const struct xs_msg_const processed_v2[] = {
	{ XS_PROCESSED, "PROCESSED" },
	{ XS_PROCESSED_INVALID, "INVALID" },
	{ XS_MAX_WORKING_SLOT_EXCEEDED, "MAX_WORKING_SLOT_EXCEEDED" },
};

static const struct xs_msg_const tag_v1[] = {
	{ XS_V1_RESP_EXECUTION, "EXECUTION_RESPONSE" }, { XS_V1_RESP_RESOLVED, "RESOLVED" },
};
static const struct xs_msg_const tag_v2[] = {
	{ XS_RESP_EXECUTION, "EXECUTION_RESPONSE" }, { XS_RESP_CHECK, "CHECK_RESPONSE" },
};

/* the translated transaction errors, 64 .. 101, in every version */
#define TX_ERRORS                                                                            \
	{ 64, "ACCOUNT_IN_USE" }, { 65, "ACCOUNT_LOADED_TWICE" }, { 66, "ACCOUNT_NOT_FOUND" },  \
	{ 67, "PROGRAM_ACCOUNT_NOT_FOUND" }, { 68, "INSUFFICIENT_FUNDS_FOR_FEE" },              \
	{ 69, "INVALID_ACCOUNT_FOR_FEE" }, { 70, "ALREADY_PROCESSED" },                         \
	{ 71, "BLOCKHASH_NOT_FOUND" }, { 72, "INSTRUCTION_ERROR" }, { 73, "CALL_CHAIN_TOO_DEEP" }, \
	{ 74, "MISSING_SIGNATURE_FOR_FEE" }, { 75, "INVALID_ACCOUNT_INDEX" },                   \
	{ 76, "SIGNATURE_FAILURE" }, { 77, "INVALID_PROGRAM_FOR_EXECUTION" },                   \
	{ 78, "SANITIZE_FAILURE" }, { 79, "CLUSTER_MAINTENANCE" },                              \
	{ 80, "ACCOUNT_BORROW_OUTSTANDING" }, { 81, "WOULD_EXCEED_MAX_BLOCK_COST_LIMIT" },      \
	{ 82, "UNSUPPORTED_VERSION" }, { 83, "INVALID_WRITABLE_ACCOUNT" },                      \
	{ 84, "WOULD_EXCEED_MAX_ACCOUNT_COST_LIMIT" },                                          \
	{ 85, "WOULD_EXCEED_ACCOUNT_DATA_BLOCK_LIMIT" }, { 86, "TOO_MANY_ACCOUNT_LOCKS" },      \
	{ 87, "ADDRESS_LOOKUP_TABLE_NOT_FOUND" }, { 88, "INVALID_ADDRESS_LOOKUP_TABLE_OWNER" }, \
	{ 89, "INVALID_ADDRESS_LOOKUP_TABLE_DATA" }, { 90, "INVALID_ADDRESS_LOOKUP_TABLE_INDEX" }, \
	{ 91, "INVALID_RENT_PAYING_ACCOUNT" }, { 92, "WOULD_EXCEED_MAX_VOTE_COST_LIMIT" },      \
	{ 93, "WOULD_EXCEED_ACCOUNT_DATA_TOTAL_LIMIT" }, { 94, "DUPLICATE_INSTRUCTION" },       \
	{ 95, "INSUFFICIENT_FUNDS_FOR_RENT" }, { 96, "MAX_LOADED_ACCOUNTS_DATA_SIZE_EXCEEDED" }, \
	{ 97, "INVALID_LOADED_ACCOUNTS_DATA_SIZE_LIMIT" }, { 98, "RESANITIZATION_NEEDED" },     \
	{ 99, "PROGRAM_EXECUTION_TEMPORARILY_RESTRICTED" }, { 100, "UNBALANCED_TRANSACTION" },  \
	{ 101, "PROGRAM_CACHE_HIT_MAX_LIMIT" }

static const struct xs_msg_const reasons_v1[] = {
	{ 0, "NONE" }, { 1, "BANK_NOT_AVAILABLE" }, { 2, "SLOT_MISMATCH" },
	{ 3, "ALL_OR_NOTHING_BATCH_FAILURE" }, TX_ERRORS,
};
static const struct xs_msg_const reasons_v2[] = {
	{ 0, "NONE" }, { 1, "BANK_NOT_AVAILABLE" }, { 3, "ALL_OR_NOTHING_BATCH_FAILURE" }, TX_ERRORS,
};
static const struct xs_msg_const reasons_v4[] = {
	{ 0, "NONE" }, { 1, "BANK_NOT_AVAILABLE" }, { 3, "ALL_OR_NOTHING_BATCH_FAILURE" }, TX_ERRORS,
	{ 102, "INSTRUCTIONS_SYSVAR_OVERFLOW" },
};
static const struct xs_msg_const reasons_5[] = {
	{ 0, "NONE" }, { 1, "BANK_NOT_AVAILABLE" }, { 2, "PARTIAL_BATCH_CANCELLED" },
	{ 3, "ALL_OR_NOTHING_BATCH_FAILURE" }, TX_ERRORS, { 102, "INSTRUCTIONS_SYSVAR_OVERFLOW" },
};
static const struct xs_msg_const reasons_6[] = {
	{ 0, "NONE" }, { 1, "BANK_NOT_AVAILABLE" }, { 2, "PARTIAL_BATCH_CANCELLED" },
	{ 3, "ALL_OR_NOTHING_BATCH_FAILURE" }, TX_ERRORS,
};

/* reason bitmaps: word 0 = values 0..63, word 1 = 64..127 */
#define R_TX      ((1ull << 38) - 1) /* 64 .. 101 */
#define R_TX102   ((1ull << 39) - 1) /* 64 .. 102 */

static const struct xs_msg_const parse_flags[] = { { XS_PARSE_FAILED, "FAILED" } };
static const struct xs_msg_const status_v2[] = {
	{ XS_STATUS_REQUESTED, "REQUESTED" }, { XS_STATUS_PERFORMED, "PERFORMED" },
	{ XS_STATUS_TOO_OLD, "TOO_OLD" }, { XS_STATUS_ALREADY_PROCESSED, "ALREADY_PROCESSED" },
	{ XS_STATUS_INVALID_NONCE, "INVALID_NONCE" },
};
static const struct xs_msg_const status_v4[] = {
	{ XS_STATUS_REQUESTED, "REQUESTED" }, { XS_STATUS_PERFORMED, "PERFORMED" },
	{ XS_STATUS_TOO_OLD, "TOO_OLD" }, { XS_STATUS_ALREADY_PROCESSED, "ALREADY_PROCESSED" },
	{ XS_STATUS_INVALID_NONCE, "INVALID_NONCE" },
	{ XS_STATUS_UNSUPPORTED_VERSION, "UNSUPPORTED_VERSION" },
};
static const struct xs_msg_const balance_flags[] = {
	{ XS_BALANCE_REQUESTED, "REQUESTED" }, { XS_BALANCE_PERFORMED, "PERFORMED" },
};
static const struct xs_msg_const resolve_flags[] = {
	{ XS_RESOLVE_REQUESTED, "REQUESTED" }, { XS_RESOLVE_PERFORMED, "PERFORMED" },
	{ XS_RESOLVE_FAILED, "FAILED" },
};
static const struct xs_msg_const sched_flags[] = {
	{ XS_SCHED_REQUESTED, "REQUESTED" }, { XS_SCHED_PERFORMED, "PERFORMED" },
	{ XS_SCHED_FAILED, "FAILED" },
};
static const struct xs_msg_const resolved_v1[] = {
	{ XS_V1_RESOLVE_FAILURE, "RESOLVE_FAILURE" }, { XS_V1_RESOLVE_SUCCESS, "RESOLVE_SUCCESS" },
};

/* ------------------------------------------------------------ the rows */

#define M(set, arr) .meaning[set] = arr, .nmeaning[set] = N(arr)

/* CheckResponse flag bytes 0..4 (parse, status, balance, resolve, scheduling) */
#define CHECK_BITS_V2 { 0x01, 0x1F, 0x03, 0x07, 0x00 }
#define CHECK_BITS_V4 { 0x01, 0x3F, 0x03, 0x07, 0x00 }
#define CHECK_BITS_V6 { 0x01, 0x3F, 0x03, 0x07, 0x07 }

/* the parts VERSION 2 - 5 share: kind bit 0, codes 0/1/2, tags 0/1 */
#define V2_FLAGS                                                                             \
	.tagged = 1, .kind_mask = XS_PACK_EXECUTE, .kind_exec = XS_PACK_EXECUTE,            \
	.exec_allowed = XS_PACK_EXECUTE | XS_EXEC_DROP_ON_FAILURE | XS_EXEC_ALL_OR_NOTHING,  \
	.check_allowed = XS_CHECK_STATUS_CHECKS | XS_CHECK_LOAD_FEE_PAYER_BALANCE |          \
			 XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES,                                \
	.code_processed = XS_PROCESSED, .code_invalid = XS_PROCESSED_INVALID,                \
	.code_slot = XS_MAX_WORKING_SLOT_EXCEEDED, .tag_exec = XS_RESP_EXECUTION,            \
	.tag_check = XS_RESP_CHECK, M(XS_M_TPU_FLAGS, tpu_flags), M(XS_M_EXEC_FLAGS, exec_v2), \
	M(XS_M_CHECK_FLAGS, check_v2), M(XS_M_PROCESSED, processed_v2), M(XS_M_TAG, tag_v2),  \
	M(XS_M_PARSE_FLAGS, parse_flags), M(XS_M_BALANCE_FLAGS, balance_flags),              \
	M(XS_M_RESOLVE_FLAGS, resolve_flags)

static const struct xs_bindings bindings[] = {
	{
		.id = XS_BIND_3_1,
		.name = "3.1.x",
		.upstream = "agave v3.1 branch 8887656f / bb4800e3 scheduler-bindings (MESSAGES.md s7; vectors/v1)",
		.tagged = 1,
		.leader_state_max = 1,
		.size = { 40, 48, 32, 40, 0, 0, 24, 40 },
		.kind_mask = XS_V1_PACK_RESOLVE,
		.kind_exec = XS_V1_PACK_NONE,
		.exec_allowed = XS_V1_PACK_NONE,
		.check_allowed = XS_V1_PACK_RESOLVE,
		.code_processed = XS_V1_PROCESSED,
		.code_invalid = XS_V1_NOT_PROCESSED,
		.code_slot = 0xFF,
		.tag_exec = XS_V1_RESP_EXECUTION,
		.tag_check = XS_V1_RESP_RESOLVED,
		.check_bits = { 0 },
		.reasons = { 0xF, R_TX },
		M(XS_M_TPU_FLAGS, tpu_flags),
		M(XS_M_LEADER_STATE, leader_v1),
		M(XS_M_EXEC_FLAGS, exec_v1),
		M(XS_M_CHECK_FLAGS, check_v1),
		M(XS_M_PROCESSED, processed_v1),
		M(XS_M_TAG, tag_v1),
		M(XS_M_REASON, reasons_v1),
		M(XS_M_RESOLVED, resolved_v1),
	},
	{
		.id = XS_BIND_V2,
		.name = "VERSION 2",
		.upstream = "agave dcd98dcb scheduler-bindings, index id 584267533 (MESSAGES.md s1-s3; vectors/)",
		.leader_state_max = 1,
		.size = { 40, 48, 32, 40, 0, 0, 24, 64 },
		.check_bits = CHECK_BITS_V2,
		.reasons = { 0xB, R_TX },
		V2_FLAGS,
		M(XS_M_LEADER_STATE, leader_v1),
		M(XS_M_REASON, reasons_v2),
		M(XS_M_STATUS_FLAGS, status_v2),
	},
	{
		.id = XS_BIND_V3,
		.name = "VERSION 3 (4.0)",
		.upstream = "agave 3432d0bed2 / 221c5c65 scheduler-bindings (AGAVE_4X.md s4.1)",
		.leader_state_max = 2,
		.size = { 40, 48, 32, 40, 0, 0, 32, 64 },
		.check_bits = CHECK_BITS_V2,
		.reasons = { 0xB, R_TX },
		V2_FLAGS,
		M(XS_M_LEADER_STATE, leader_v3),
		M(XS_M_REASON, reasons_v2),
		M(XS_M_STATUS_FLAGS, status_v2),
	},
	{
		.id = XS_BIND_V4,
		.name = "VERSION 4 (4.1, 4.2)",
		.upstream = "agave 529f96ce (4.2 branch point) scheduler-bindings (AGAVE_4X.md s4.2; vectors/v4)",
		.leader_state_max = 2,
		.size = { 40, 80, 32, 40, 0, 0, 32, 64 },
		.check_bits = CHECK_BITS_V4,
		.reasons = { 0xB, R_TX102 },
		V2_FLAGS,
		M(XS_M_LEADER_STATE, leader_v3),
		M(XS_M_REASON, reasons_v4),
		M(XS_M_STATUS_FLAGS, status_v4),
	},
	{
		.id = XS_BIND_5,
		.name = "5.x (4.3)",
		.upstream = "agave-sdk 904cb8a scheduler-bindings 5.0.0 = agave master 2026-08-03 (AGAVE_4X.md s4.3)",
		.leader_state_max = 2,
		.size = { 40, 80, 32, 40, 32, 40, 32, 64 },
		.check_bits = CHECK_BITS_V4,
		.reasons = { 0xF, R_TX102 },
		V2_FLAGS,
		M(XS_M_LEADER_STATE, leader_v3),
		M(XS_M_REASON, reasons_5),
		M(XS_M_STATUS_FLAGS, status_v4),
	},
	{
		.id = XS_BIND_6,
		.name = "6.x",
		.upstream = "agave-sdk 218e45d9 scheduler-bindings 6.0.0 (MESSAGES6.md; vectors/current)",
		.tagged = 0,
		.leader_state_max = 2,
		.split = 1,
		.size = { 40, 96, 32, 40, 24, 40, 32, 96 },
		.kind_mask = 0,
		.kind_exec = 0,
		.exec_allowed = XS_V6_EXEC_DROP_ON_FAILURE | XS_V6_EXEC_ALL_OR_NOTHING,
		.check_allowed = XS_V6_CHECK_STATUS_CHECKS | XS_V6_CHECK_LOAD_FEE_PAYER_BALANCE |
				 XS_V6_CHECK_LOAD_ADDRESS_LOOKUP_TABLES |
				 XS_V6_CHECK_CALCULATE_SCHEDULING_DETAILS,
		.code_processed = XS_PROCESSED,
		.code_invalid = XS_PROCESSED_INVALID,
		.code_slot = XS_MAX_WORKING_SLOT_EXCEEDED,
		.tag_exec = 0xFF,
		.tag_check = 0xFF,
		.check_bits = CHECK_BITS_V6,
		.reasons = { 0xF, R_TX },
		M(XS_M_TPU_FLAGS, tpu_flags),
		M(XS_M_LEADER_STATE, leader_v3),
		M(XS_M_EXEC_FLAGS, exec_v6),
		M(XS_M_CHECK_FLAGS, check_v6),
		M(XS_M_PROCESSED, processed_v2),
		M(XS_M_REASON, reasons_6),
		M(XS_M_PARSE_FLAGS, parse_flags),
		M(XS_M_STATUS_FLAGS, status_v4),
		M(XS_M_BALANCE_FLAGS, balance_flags),
		M(XS_M_RESOLVE_FLAGS, resolve_flags),
		M(XS_M_SCHED_FLAGS, sched_flags),
	},
};

const struct xs_bindings *xs_bindings_get(unsigned id)
{
	size_t i;

	for (i = 0; i < sizeof(bindings) / sizeof(bindings[0]); i++)
		if (bindings[i].id == id)
			return &bindings[i];
	return NULL;
}

const char *xs_bindings_name(const struct xs_bindings *b, enum xs_meaning m, unsigned value)
{
	unsigned i;

	if (!b || (unsigned)m >= XS_M_COUNT)
		return NULL;
	for (i = 0; i < b->nmeaning[m]; i++)
		if (b->meaning[m][i].value == value)
			return b->meaning[m][i].name;
	return NULL;
}
