/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Agave scheduler-bindings messages of every handshake generation,
 * byte-for-byte as upstream's #[repr(C)] structs on x86-64 (LP64, little
 * endian). Every size, alignment and offset is pinned by XS_STATIC_ASSERT
 * and checked against upstream's layout JSON files by tests/queues.
 *
 * Sections (one per bindings version; a later version names only what it
 * changes and otherwise reuses the earlier types):
 *   common          reference types shared by every version
 *   VERSION 2       agave master Nov 2025 - Jan 2026: the unprefixed names
 *                   (struct xs_progress, xs_pack_to_worker, ...), kept as
 *                   they were; VERSION 1, 3, 4, 5 reuse them where the bytes
 *                   and meanings agree
 *   VERSION 1       agave 3.1.x (xs_v1_*): same layouts, other meanings
 *                   (NONE/RESOLVE flags, processed 1 = PROCESSED, Resolved)
 *   VERSION 3       agave 4.0 (xs_v3_*): leader_state 0/1/2, 32-byte
 *                   ExecutionResponse
 *   VERSION 4, 5.x  agave 4.1 - 4.3 and handshake VERSION 5 (xs_v4_*):
 *                   80-byte ProgressMessage, UNSUPPORTED_VERSION status,
 *                   PARTIAL_BATCH_CANCELLED (5.x)
 *   bindings 6      agave-scheduler-bindings 6.x, SDK handshake (xs_v6_*):
 *                   split execution / check messages, untagged regions
 *   table           struct xs_bindings: sizes and meaning tables per
 *                   version (xs_bindings_get()), what a handshake row points to
 *
 * Offsets ("*_offset" fields) are byte offsets from the start of the
 * session's allocator file (descriptor 0 of the handshake), never pointers.
 * Padding bytes are unspecified on the wire: readers ignore them, xsched
 * writers zero them (build messages in zeroed memory or with designated
 * initialisers of the whole struct).
 *
 * Upstream names are given beside each xsched name. Sources:
 * spec/MESSAGES.md (VERSION 2; section 7 = VERSION 1), spec/AGAVE_4X.md
 * section 4 (VERSION 3, 4, 5.x), spec/MESSAGES6.md (bindings 6).
 */
#ifndef XS_MSG_H
#define XS_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "xsched/common.h"
#include "xsched/spsc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every declaration up to the matching pop is public: exported from
 * libxsched.so, which is built with -fvisibility=hidden (README "ABI"). */
#pragma GCC visibility push(default)

/* ================================================ VERSION 2 (and common) */

/* ---------------------------------------------------------------- constants */

/** MAX_TRANSACTIONS_PER_MESSAGE: a batch holds at most 64 transactions. */
#define XS_MAX_TXS_PER_BATCH 64

/** tpu_message_flags (TpuToPackMessage.flags). */
#define XS_TPU_FLAG_NONE             0x00
#define XS_TPU_FLAG_IS_SIMPLE_VOTE   0x01
#define XS_TPU_FLAG_FORWARDED        0x02
#define XS_TPU_FLAG_FROM_STAKED_NODE 0x04

/** ProgressMessage.leader_state (VERSION 1 and 2; other values are invalid). */
#define XS_LEADER_IS_NOT_LEADER 0
#define XS_LEADER_IS_LEADER     1

/** pack_message_flags (PackToWorkerMessage.flags): bit 0 selects the kind. */
#define XS_PACK_CHECK   0x0000
#define XS_PACK_EXECUTE 0x0001
/** execution_flags (with XS_PACK_EXECUTE). */
#define XS_EXEC_DROP_ON_FAILURE 0x0002
#define XS_EXEC_ALL_OR_NOTHING  0x0004
/** check_flags (with XS_PACK_CHECK). */
#define XS_CHECK_STATUS_CHECKS              0x0002
#define XS_CHECK_LOAD_FEE_PAYER_BALANCE     0x0004
#define XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES 0x0008

/** processed_codes (WorkerToPackMessage.processed_code). */
#define XS_PROCESSED                 0
#define XS_PROCESSED_INVALID         1
#define XS_MAX_WORKING_SLOT_EXCEEDED 2

/** worker_message_types tags (TransactionResponseRegion.tag). */
#define XS_RESP_EXECUTION 0
#define XS_RESP_CHECK     1

/**
 * not_included_reasons (ExecutionResponse.not_included_reason). Value 2 is
 * version dependent: SLOT_MISMATCH in VERSION 1, unused in VERSION 2 - 4,
 * PARTIAL_BATCH_CANCELLED in bindings 5.x and 6; 102 exists in VERSION 4
 * and 5.x only. xs_bindings_reason_known() says what a version defines.
 */
enum xs_not_included_reason {
	XS_NIR_NONE = 0,
	XS_NIR_BANK_NOT_AVAILABLE = 1,
	XS_NIR_SLOT_MISMATCH_V1 = 2,          /**< VERSION 1: bank past max_execution_slot */
	XS_NIR_PARTIAL_BATCH_CANCELLED = 2,   /**< bindings 5.x, 6: remainder of a batch cancelled */
	XS_NIR_ALL_OR_NOTHING_BATCH_FAILURE = 3,
	XS_NIR_ACCOUNT_IN_USE = 64,
	XS_NIR_ACCOUNT_LOADED_TWICE = 65,
	XS_NIR_ACCOUNT_NOT_FOUND = 66,
	XS_NIR_PROGRAM_ACCOUNT_NOT_FOUND = 67,
	XS_NIR_INSUFFICIENT_FUNDS_FOR_FEE = 68,
	XS_NIR_INVALID_ACCOUNT_FOR_FEE = 69,
	XS_NIR_ALREADY_PROCESSED = 70,
	XS_NIR_BLOCKHASH_NOT_FOUND = 71,
	XS_NIR_INSTRUCTION_ERROR = 72,
	XS_NIR_CALL_CHAIN_TOO_DEEP = 73,
	XS_NIR_MISSING_SIGNATURE_FOR_FEE = 74,
	XS_NIR_INVALID_ACCOUNT_INDEX = 75,
	XS_NIR_SIGNATURE_FAILURE = 76,
	XS_NIR_INVALID_PROGRAM_FOR_EXECUTION = 77,
	XS_NIR_SANITIZE_FAILURE = 78,
	XS_NIR_CLUSTER_MAINTENANCE = 79,
	XS_NIR_ACCOUNT_BORROW_OUTSTANDING = 80,
	XS_NIR_WOULD_EXCEED_MAX_BLOCK_COST_LIMIT = 81,
	XS_NIR_UNSUPPORTED_VERSION = 82,
	XS_NIR_INVALID_WRITABLE_ACCOUNT = 83,
	XS_NIR_WOULD_EXCEED_MAX_ACCOUNT_COST_LIMIT = 84,
	XS_NIR_WOULD_EXCEED_ACCOUNT_DATA_BLOCK_LIMIT = 85,
	XS_NIR_TOO_MANY_ACCOUNT_LOCKS = 86,
	XS_NIR_ADDRESS_LOOKUP_TABLE_NOT_FOUND = 87,
	XS_NIR_INVALID_ADDRESS_LOOKUP_TABLE_OWNER = 88,
	XS_NIR_INVALID_ADDRESS_LOOKUP_TABLE_DATA = 89,
	XS_NIR_INVALID_ADDRESS_LOOKUP_TABLE_INDEX = 90,
	XS_NIR_INVALID_RENT_PAYING_ACCOUNT = 91,
	XS_NIR_WOULD_EXCEED_MAX_VOTE_COST_LIMIT = 92,
	XS_NIR_WOULD_EXCEED_ACCOUNT_DATA_TOTAL_LIMIT = 93,
	XS_NIR_DUPLICATE_INSTRUCTION = 94,
	XS_NIR_INSUFFICIENT_FUNDS_FOR_RENT = 95,
	XS_NIR_MAX_LOADED_ACCOUNTS_DATA_SIZE_EXCEEDED = 96,
	XS_NIR_INVALID_LOADED_ACCOUNTS_DATA_SIZE_LIMIT = 97,
	XS_NIR_RESANITIZATION_NEEDED = 98,
	XS_NIR_PROGRAM_EXECUTION_TEMPORARILY_RESTRICTED = 99,
	XS_NIR_UNBALANCED_TRANSACTION = 100,
	XS_NIR_PROGRAM_CACHE_HIT_MAX_LIMIT = 101,
	XS_NIR_INSTRUCTIONS_SYSVAR_OVERFLOW = 102, /**< VERSION 4 (4.2 branch point), 5.x */
};

/** CheckResponse flag bytes. */
#define XS_PARSE_FAILED            0x01
#define XS_STATUS_REQUESTED        0x01
#define XS_STATUS_PERFORMED        0x02
#define XS_STATUS_TOO_OLD          0x04
#define XS_STATUS_ALREADY_PROCESSED 0x08
#define XS_STATUS_INVALID_NONCE    0x10
#define XS_BALANCE_REQUESTED       0x01
#define XS_BALANCE_PERFORMED       0x02
#define XS_RESOLVE_REQUESTED       0x01
#define XS_RESOLVE_PERFORMED       0x02
#define XS_RESOLVE_FAILED          0x04

/* -------------------------------------------------------- reference types */

/** SharableTransactionRegion: a serialized transaction in the allocator file. */
struct xs_tx_region {
	uint64_t offset; /**< allocator offset of the transaction bytes */
	uint32_t length; /**< length in bytes */
	uint8_t pad_[4];
};

/** SharablePubkeys: num_pubkeys x 32-byte keys; 0 means no keys and nothing to free. */
struct xs_pubkeys {
	uint64_t offset;
	uint32_t num_pubkeys;
	uint8_t pad_[4];
};

/** SharableTransactionBatchRegion: num_transactions consecutive xs_tx_region. */
struct xs_batch_region {
	uint8_t num_transactions;
	uint8_t pad_[7];
	uint64_t transactions_offset;
};

/** TransactionResponseRegion: back-to-back inner responses of type @c tag. */
struct xs_resp_region {
	uint8_t tag;                       /**< XS_RESP_EXECUTION or XS_RESP_CHECK */
	uint8_t num_transaction_responses; /**< equals the batch's num_transactions */
	uint8_t pad_[6];
	uint64_t transaction_responses_offset;
};

/* ---------------------------------------------------------- queue messages */

/** TpuToPackMessage (tpu_to_pack, Agave -> pack). Ownership of the transaction passes to pack. */
struct xs_tpu_to_pack {
	struct xs_tx_region transaction;
	uint8_t flags;        /**< XS_TPU_FLAG_* */
	uint8_t src_addr[16]; /**< IPv6 (IPv4 mapped as ::ffff:a.b.c.d), network order */
	uint8_t pad_[7];
};

/** ProgressMessage (progress_tracker, Agave -> pack). */
struct xs_progress {
	uint8_t leader_state; /**< XS_LEADER_* */
	uint8_t pad0_[7];
	uint64_t current_slot;
	uint64_t next_leader_slot;     /**< UINT64_MAX if unknown */
	uint64_t leader_range_end;     /**< inclusive; UINT64_MAX if unknown */
	uint64_t remaining_cost_units; /**< valid while leader */
	uint8_t current_slot_progress; /**< percent */
	uint8_t pad1_[7];
};

/** PackToWorkerMessage (pack_to_worker[i], pack -> Agave). No ownership transfer. */
struct xs_pack_to_worker {
	uint16_t flags; /**< XS_PACK_* | XS_EXEC_* or XS_CHECK_* */
	uint8_t pad_[6];
	uint64_t max_working_slot; /**< VERSION 1 has max_execution_slot here: struct xs_v1_pack_to_worker */
	struct xs_batch_region batch;
};

/** WorkerToPackMessage (worker_to_pack[i], Agave -> pack). Pack owns batch and responses. */
struct xs_worker_to_pack {
	struct xs_batch_region batch;
	uint8_t processed_code; /**< XS_PROCESSED, XS_PROCESSED_INVALID, XS_MAX_WORKING_SLOT_EXCEEDED */
	uint8_t pad_[7];
	struct xs_resp_region responses; /**< meaningful only when processed_code == XS_PROCESSED */
};

/* --------------------------------------------------------- inner responses */

/** worker_message_types::ExecutionResponse (tag 0). */
struct xs_exec_resp {
	uint8_t not_included_reason; /**< enum xs_not_included_reason */
	uint8_t pad_[7];
	uint64_t cost_units;
	uint64_t fee_payer_balance;
};

/** worker_message_types::CheckResponse (tag 1). */
struct xs_check_resp {
	uint8_t parsing_and_sanitization_flags;
	uint8_t status_check_flags;
	uint8_t fee_payer_balance_flags;
	uint8_t resolve_flags;
	uint8_t pad_[4];
	uint64_t included_slot;
	uint64_t balance_slot;
	uint64_t fee_payer_balance;
	uint64_t resolution_slot;
	uint64_t min_alt_deactivation_slot;
	struct xs_pubkeys resolved_pubkeys; /**< pack frees it unless num_pubkeys is 0 */
};

/* ------------------------------------------------------------ layout pins */
#define XS__PIN(T, sz) \
	XS_STATIC_ASSERT(sizeof(struct T) == (sz), #T " size"); \
	XS_STATIC_ASSERT(XS_ALIGNOF(struct T) == 8, #T " align")
XS__PIN(xs_tx_region, 16);
XS__PIN(xs_pubkeys, 16);
XS__PIN(xs_batch_region, 16);
XS__PIN(xs_resp_region, 16);
XS__PIN(xs_tpu_to_pack, 40);
XS__PIN(xs_progress, 48);
XS__PIN(xs_pack_to_worker, 32);
XS__PIN(xs_worker_to_pack, 40);
XS__PIN(xs_exec_resp, 24);
XS__PIN(xs_check_resp, 64);
#undef XS__PIN
XS_STATIC_ASSERT(offsetof(struct xs_tx_region, length) == 8, "tx_region.length");
XS_STATIC_ASSERT(offsetof(struct xs_pubkeys, num_pubkeys) == 8, "pubkeys.num_pubkeys");
XS_STATIC_ASSERT(offsetof(struct xs_batch_region, transactions_offset) == 8, "batch.transactions_offset");
XS_STATIC_ASSERT(offsetof(struct xs_resp_region, num_transaction_responses) == 1, "resp.num");
XS_STATIC_ASSERT(offsetof(struct xs_resp_region, transaction_responses_offset) == 8, "resp.offset");
XS_STATIC_ASSERT(offsetof(struct xs_tpu_to_pack, flags) == 16, "tpu.flags");
XS_STATIC_ASSERT(offsetof(struct xs_tpu_to_pack, src_addr) == 17, "tpu.src_addr");
XS_STATIC_ASSERT(offsetof(struct xs_progress, current_slot) == 8, "progress.current_slot");
XS_STATIC_ASSERT(offsetof(struct xs_progress, next_leader_slot) == 16, "progress.next_leader_slot");
XS_STATIC_ASSERT(offsetof(struct xs_progress, leader_range_end) == 24, "progress.leader_range_end");
XS_STATIC_ASSERT(offsetof(struct xs_progress, remaining_cost_units) == 32, "progress.remaining");
XS_STATIC_ASSERT(offsetof(struct xs_progress, current_slot_progress) == 40, "progress.progress");
XS_STATIC_ASSERT(offsetof(struct xs_pack_to_worker, max_working_slot) == 8, "p2w.max_working_slot");
XS_STATIC_ASSERT(offsetof(struct xs_pack_to_worker, batch) == 16, "p2w.batch");
XS_STATIC_ASSERT(offsetof(struct xs_worker_to_pack, processed_code) == 16, "w2p.processed_code");
XS_STATIC_ASSERT(offsetof(struct xs_worker_to_pack, responses) == 24, "w2p.responses");
XS_STATIC_ASSERT(offsetof(struct xs_exec_resp, cost_units) == 8, "exec.cost_units");
XS_STATIC_ASSERT(offsetof(struct xs_exec_resp, fee_payer_balance) == 16, "exec.fee_payer_balance");
XS_STATIC_ASSERT(offsetof(struct xs_check_resp, status_check_flags) == 1, "check.status");
XS_STATIC_ASSERT(offsetof(struct xs_check_resp, fee_payer_balance_flags) == 2, "check.balance");
XS_STATIC_ASSERT(offsetof(struct xs_check_resp, resolve_flags) == 3, "check.resolve");
XS_STATIC_ASSERT(offsetof(struct xs_check_resp, included_slot) == 8, "check.included_slot");
XS_STATIC_ASSERT(offsetof(struct xs_check_resp, balance_slot) == 16, "check.balance_slot");
XS_STATIC_ASSERT(offsetof(struct xs_check_resp, fee_payer_balance) == 24, "check.fee_payer_balance");
XS_STATIC_ASSERT(offsetof(struct xs_check_resp, resolution_slot) == 32, "check.resolution_slot");
XS_STATIC_ASSERT(offsetof(struct xs_check_resp, min_alt_deactivation_slot) == 40, "check.min_alt");
XS_STATIC_ASSERT(offsetof(struct xs_check_resp, resolved_pubkeys) == 48, "check.resolved_pubkeys");

/* ======================================================= VERSION 1 (3.1.x) */
/*
 * agave-scheduler-bindings of agave 3.1.x (handshake VERSION 1), MESSAGES.md
 * section 7. Byte layouts equal VERSION 2's; the meanings do not. Types that
 * agree in bytes and meaning are shared: struct xs_tpu_to_pack (same
 * tpu_message_flags), struct xs_progress (leader_state XS_LEADER_IS_NOT_LEADER
 * / XS_LEADER_IS_LEADER), struct xs_exec_resp (tag 0; reason 2 is
 * XS_NIR_SLOT_MISMATCH_V1 here), struct xs_resp_region (tag 1 is
 * XS_V1_RESP_RESOLVED). The two request/answer messages and the tag-1
 * response have their own types because field names and codes differ.
 */

/** pack_message_flags (VERSION 1): exactly 0 or 2; nothing else is valid. */
#define XS_V1_PACK_NONE    0x0000 /**< NONE: execute, include no later than max_execution_slot */
#define XS_V1_PACK_RESOLVE 0x0002 /**< RESOLVE: resolve lookup-table keys only (Resolved answers) */

/** WorkerToPackMessage.processed (VERSION 1; top-level constants upstream). */
#define XS_V1_NOT_PROCESSED 0 /**< NOT_PROCESSED: the request was invalid, responses undefined */
#define XS_V1_PROCESSED     1 /**< PROCESSED: responses valid */

/** worker_message_types tags (VERSION 1). */
#define XS_V1_RESP_EXECUTION 0 /**< EXECUTION_RESPONSE: struct xs_exec_resp */
#define XS_V1_RESP_RESOLVED  1 /**< RESOLVED: struct xs_v1_resolved */

/** Resolved.success (RESOLVE_FAILURE / RESOLVE_SUCCESS; other values invalid). */
#define XS_V1_RESOLVE_FAILURE 0
#define XS_V1_RESOLVE_SUCCESS 1

/** PackToWorkerMessage (VERSION 1). */
struct xs_v1_pack_to_worker {
	uint16_t flags;              /**< flags: XS_V1_PACK_NONE or XS_V1_PACK_RESOLVE */
	uint8_t pad_[6];
	uint64_t max_execution_slot; /**< max_execution_slot (ignored by RESOLVE) */
	struct xs_batch_region batch; /**< batch: no ownership transfer */
};

/** WorkerToPackMessage (VERSION 1). */
struct xs_v1_worker_to_pack {
	struct xs_batch_region batch;    /**< batch: echoed; pack owns it again */
	uint8_t processed;               /**< processed: XS_V1_NOT_PROCESSED / XS_V1_PROCESSED */
	uint8_t pad_[7];
	struct xs_resp_region responses; /**< responses: tag XS_V1_RESP_*, valid when PROCESSED */
};

/** worker_message_types::Resolved (VERSION 1, tag 1). */
struct xs_v1_resolved {
	uint8_t success;                    /**< success: XS_V1_RESOLVE_SUCCESS / _FAILURE */
	uint8_t pad_[7];
	uint64_t slot;                      /**< slot: root bank used to resolve (also on failure) */
	uint64_t min_alt_deactivation_slot; /**< min_alt_deactivation_slot: UINT64_MAX if none */
	struct xs_pubkeys resolved_pubkeys; /**< resolved_pubkeys: pack frees it when num_pubkeys != 0 */
};

/* ====================================================== VERSION 3 (4.0.x) */
/*
 * Changes from VERSION 2 (AGAVE_4X.md section 4.1): leader_state has three
 * values, ExecutionResponse grew to 32 bytes with execution_slot first.
 * Everything else (struct xs_pack_to_worker, xs_worker_to_pack,
 * xs_check_resp, flags, codes) is VERSION 2's.
 */

/** ProgressMessage.leader_state (VERSION 3 and later; IS_LEADER is gone). */
#define XS_LEADER_NOT_LEADER      0 /**< NOT_LEADER */
#define XS_LEADER_STARTING        1 /**< LEADER_STARTING: leader slot, bank not ready */
#define XS_LEADER_READY           2 /**< LEADER_READY: bank ready */

/** worker_message_types::ExecutionResponse (VERSION 3, 4, 5; bindings 6). */
struct xs_v3_exec_resp {
	uint64_t execution_slot;     /**< execution_slot: last bank slot tried, 0 if none */
	uint8_t not_included_reason; /**< not_included_reason: enum xs_not_included_reason */
	uint8_t pad_[7];
	uint64_t cost_units;         /**< cost_units */
	uint64_t fee_payer_balance;  /**< fee_payer_balance */
};

/* ============================= VERSION 4 (4.1, 4.2), bindings 5.x (4.3), V5 */
/*
 * Changes from VERSION 3 (AGAVE_4X.md section 4.2, 4.3): an 80-byte
 * ProgressMessage, status flag UNSUPPORTED_VERSION, not_included_reasons
 * INSTRUCTIONS_SYSVAR_OVERFLOW (102, layout4_rust.json: the 4.2 branch
 * point) and, in agave-scheduler-bindings 5.x (agave 4.3 line, handshake
 * VERSION 4 or 5), PARTIAL_BATCH_CANCELLED (2). Handshake VERSION 5's check
 * queues carry struct xs_pack_to_worker / struct xs_worker_to_pack too.
 */

/** status_check_flags::UNSUPPORTED_VERSION (VERSION 4 and later). */
#define XS_STATUS_UNSUPPORTED_VERSION 0x20

/** ProgressMessage (VERSION 4 and 5; bindings 5.x). */
struct xs_v4_progress {
	uint8_t leader_state;          /**< leader_state: XS_LEADER_NOT_LEADER/_STARTING/_READY */
	uint8_t current_slot_progress; /**< current_slot_progress: percent */
	uint8_t pad_[6];
	uint64_t epoch;                /**< epoch */
	uint64_t current_slot;         /**< current_slot */
	uint64_t next_leader_slot;     /**< next_leader_slot: UINT64_MAX if unknown */
	uint64_t leader_range_end;     /**< leader_range_end: inclusive, UINT64_MAX if unknown */
	uint64_t remaining_cost_units; /**< remaining_cost_units */
	uint8_t latest_blockhash[32];  /**< latest_blockhash */
};

/* ====================================================== bindings 6 (SDK) */
/*
 * agave-scheduler-bindings 6.x (MESSAGES6.md), the SDK handshake
 * (HANDSHAKE_SDK.md): execution and check requests/answers are separate
 * messages on separate queues, response regions carry no tag, CheckResponse
 * is 96 bytes. TpuToPackMessage is struct xs_tpu_to_pack and
 * ExecutionResponse struct xs_v3_exec_resp (same bytes).
 */

/** check_message_flags (PackToCheckWorkerMessage.flags, bindings 6). */
#define XS_V6_CHECK_STATUS_CHECKS                0x0001 /**< STATUS_CHECKS */
#define XS_V6_CHECK_LOAD_FEE_PAYER_BALANCE       0x0002 /**< LOAD_FEE_PAYER_BALANCE */
#define XS_V6_CHECK_LOAD_ADDRESS_LOOKUP_TABLES   0x0004 /**< LOAD_ADDRESS_LOOKUP_TABLES */
#define XS_V6_CHECK_CALCULATE_SCHEDULING_DETAILS 0x0008 /**< CALCULATE_SCHEDULING_DETAILS */
/** execution_message_flags (PackToExecutionWorkerMessage.flags, bindings 6). */
#define XS_V6_EXEC_DROP_ON_FAILURE 0x0001 /**< DROP_ON_FAILURE */
#define XS_V6_EXEC_ALL_OR_NOTHING  0x0002 /**< ALL_OR_NOTHING */
/** scheduling_details_flags (CheckResponse byte 4, bindings 6). */
#define XS_SCHED_REQUESTED 0x01
#define XS_SCHED_PERFORMED 0x02
#define XS_SCHED_FAILED    0x04

/** ExecutionResponseRegion / CheckResponseRegion (no tag: the queue says the type). */
struct xs_v6_resp_region {
	uint8_t num_transaction_responses;     /**< num_transaction_responses */
	uint8_t pad_[7];
	uint64_t transaction_responses_offset; /**< transaction_responses_offset */
};

/** ProgressMessage (bindings 6). */
struct xs_v6_progress {
	uint8_t leader_state;          /**< leader_state: XS_LEADER_NOT_LEADER/_STARTING/_READY */
	uint8_t current_slot_progress; /**< current_slot_progress: percent */
	uint8_t pad0_[6];
	uint64_t epoch;                /**< epoch (LEADER_READY only) */
	uint64_t current_slot;         /**< current_slot */
	uint64_t next_leader_slot;     /**< next_leader_slot: UINT64_MAX if unknown */
	uint64_t leader_range_end;     /**< leader_range_end: UINT64_MAX if unknown */
	uint64_t remaining_cost_units; /**< remaining_cost_units */
	uint64_t remaining_allocated_accounts_data_size; /**< remaining_allocated_accounts_data_size */
	uint8_t latest_blockhash[32];  /**< latest_blockhash (LEADER_READY only) */
	uint16_t target_bank_time_ms;  /**< target_bank_time_ms (LEADER_READY only) */
	uint8_t pad1_[6];
};

/** PackToExecutionWorkerMessage (pack_to_worker[i], bindings 6). */
struct xs_v6_pack_to_exec {
	uint16_t flags;            /**< flags: XS_V6_EXEC_* */
	uint8_t pad_[6];
	uint64_t max_working_slot; /**< max_working_slot */
	struct xs_batch_region batch; /**< batch: no ownership transfer */
};

/** PackToCheckWorkerMessage (pack_to_check_worker, MPMC, bindings 6). */
struct xs_v6_pack_to_check {
	uint16_t flags; /**< flags: XS_V6_CHECK_* */
	uint8_t pad_[6];
	struct xs_batch_region batch; /**< batch: no ownership transfer */
};

/** ExecutionWorkerToPackMessage (worker_to_pack[i], bindings 6). */
struct xs_v6_exec_to_pack {
	struct xs_batch_region batch;       /**< batch: echoed */
	uint8_t processed_code;             /**< processed_code: XS_PROCESSED ... */
	uint8_t pad_[7];
	struct xs_v6_resp_region responses; /**< responses: struct xs_v3_exec_resp[] */
};

/** CheckWorkerToPackMessage (check_worker_to_pack, MPMC, bindings 6). */
struct xs_v6_check_to_pack {
	struct xs_batch_region batch;       /**< batch: echoed */
	uint8_t processed_code;             /**< processed_code: XS_PROCESSED ... */
	uint8_t pad_[7];
	struct xs_v6_resp_region responses; /**< responses: struct xs_v6_check_resp[] */
};

/** worker_message_types::CheckResponse (bindings 6). */
struct xs_v6_check_resp {
	uint8_t parsing_and_sanitization_flags; /**< XS_PARSE_* */
	uint8_t status_check_flags;             /**< XS_STATUS_* */
	uint8_t fee_payer_balance_flags;        /**< XS_BALANCE_* */
	uint8_t resolve_flags;                  /**< XS_RESOLVE_* */
	uint8_t scheduling_details_flags;       /**< XS_SCHED_* */
	uint8_t pad_[3];
	uint64_t included_slot;
	uint64_t transaction_fee;
	uint64_t prioritization_fee;
	uint64_t estimated_cost_units;
	uint64_t allocated_accounts_data_size;
	uint64_t balance_slot;
	uint64_t fee_payer_balance;
	uint64_t resolution_slot;
	uint64_t min_alt_deactivation_slot;
	struct xs_pubkeys resolved_pubkeys; /**< pack frees it when resolve PERFORMED and num_pubkeys != 0 */
};

/* ------------------------------------------------------------ layout pins */
#define XS__PIN(T, sz) \
	XS_STATIC_ASSERT(sizeof(struct T) == (sz), #T " size"); \
	XS_STATIC_ASSERT(XS_ALIGNOF(struct T) == 8, #T " align")
#define XS__OFF(T, f, o) XS_STATIC_ASSERT(offsetof(struct T, f) == (o), #T "." #f)
XS__PIN(xs_v1_pack_to_worker, 32);
XS__OFF(xs_v1_pack_to_worker, max_execution_slot, 8);
XS__OFF(xs_v1_pack_to_worker, batch, 16);
XS__PIN(xs_v1_worker_to_pack, 40);
XS__OFF(xs_v1_worker_to_pack, processed, 16);
XS__OFF(xs_v1_worker_to_pack, responses, 24);
XS__PIN(xs_v1_resolved, 40);
XS__OFF(xs_v1_resolved, slot, 8);
XS__OFF(xs_v1_resolved, min_alt_deactivation_slot, 16);
XS__OFF(xs_v1_resolved, resolved_pubkeys, 24);
XS__PIN(xs_v3_exec_resp, 32);
XS__OFF(xs_v3_exec_resp, not_included_reason, 8);
XS__OFF(xs_v3_exec_resp, cost_units, 16);
XS__OFF(xs_v3_exec_resp, fee_payer_balance, 24);
XS__PIN(xs_v4_progress, 80);
XS__OFF(xs_v4_progress, current_slot_progress, 1);
XS__OFF(xs_v4_progress, epoch, 8);
XS__OFF(xs_v4_progress, current_slot, 16);
XS__OFF(xs_v4_progress, next_leader_slot, 24);
XS__OFF(xs_v4_progress, leader_range_end, 32);
XS__OFF(xs_v4_progress, remaining_cost_units, 40);
XS__OFF(xs_v4_progress, latest_blockhash, 48);
XS__PIN(xs_v6_resp_region, 16);
XS__OFF(xs_v6_resp_region, transaction_responses_offset, 8);
XS__PIN(xs_v6_progress, 96);
XS__OFF(xs_v6_progress, current_slot_progress, 1);
XS__OFF(xs_v6_progress, epoch, 8);
XS__OFF(xs_v6_progress, current_slot, 16);
XS__OFF(xs_v6_progress, next_leader_slot, 24);
XS__OFF(xs_v6_progress, leader_range_end, 32);
XS__OFF(xs_v6_progress, remaining_cost_units, 40);
XS__OFF(xs_v6_progress, remaining_allocated_accounts_data_size, 48);
XS__OFF(xs_v6_progress, latest_blockhash, 56);
XS__OFF(xs_v6_progress, target_bank_time_ms, 88);
XS__PIN(xs_v6_pack_to_exec, 32);
XS__OFF(xs_v6_pack_to_exec, max_working_slot, 8);
XS__OFF(xs_v6_pack_to_exec, batch, 16);
XS__PIN(xs_v6_pack_to_check, 24);
XS__OFF(xs_v6_pack_to_check, batch, 8);
XS__PIN(xs_v6_exec_to_pack, 40);
XS__OFF(xs_v6_exec_to_pack, processed_code, 16);
XS__OFF(xs_v6_exec_to_pack, responses, 24);
XS__PIN(xs_v6_check_to_pack, 40);
XS__OFF(xs_v6_check_to_pack, processed_code, 16);
XS__OFF(xs_v6_check_to_pack, responses, 24);
XS__PIN(xs_v6_check_resp, 96);
XS__OFF(xs_v6_check_resp, status_check_flags, 1);
XS__OFF(xs_v6_check_resp, fee_payer_balance_flags, 2);
XS__OFF(xs_v6_check_resp, resolve_flags, 3);
XS__OFF(xs_v6_check_resp, scheduling_details_flags, 4);
XS__OFF(xs_v6_check_resp, included_slot, 8);
XS__OFF(xs_v6_check_resp, transaction_fee, 16);
XS__OFF(xs_v6_check_resp, prioritization_fee, 24);
XS__OFF(xs_v6_check_resp, estimated_cost_units, 32);
XS__OFF(xs_v6_check_resp, allocated_accounts_data_size, 40);
XS__OFF(xs_v6_check_resp, balance_slot, 48);
XS__OFF(xs_v6_check_resp, fee_payer_balance, 56);
XS__OFF(xs_v6_check_resp, resolution_slot, 64);
XS__OFF(xs_v6_check_resp, min_alt_deactivation_slot, 72);
XS__OFF(xs_v6_check_resp, resolved_pubkeys, 80);
#undef XS__OFF
#undef XS__PIN

/* ========================================================= the table */
/*
 * One struct xs_bindings per bindings version: the size of every message
 * type (0: the version has no such message) and the meaning of every flag
 * and code, as data. The validators (xsched/guard.h) and the handshake rows
 * (xsched/handshake.h, xs_hs_proto.bindings) use it; tools print names with
 * xs_bindings_name().
 */

/** Bindings versions (the value is what xs_hs_proto.bindings holds). */
enum xs_bindings_id {
	XS_BIND_3_1 = 1, /**< agave 3.1.x (handshake VERSION 1) */
	XS_BIND_V2 = 2,  /**< agave master 2025-11-05 .. 2026-01-27 (VERSION 2) */
	XS_BIND_V3 = 3,  /**< agave 4.0 line (VERSION 3) */
	XS_BIND_V4 = 4,  /**< agave 4.1, 4.2 lines (VERSION 4), as the 4.2 branch point has it */
	XS_BIND_5 = 5,   /**< agave-scheduler-bindings 5.x: agave 4.3 line, handshake VERSION 4/5 */
	XS_BIND_6 = 6,   /**< agave-scheduler-bindings 6.x: SDK handshake (agave 4.4.x) */
};
#define XS_BIND_MIN XS_BIND_3_1
#define XS_BIND_MAX XS_BIND_6

/** Message types; sizes per version in struct xs_bindings.size[]. */
enum xs_msg_type {
	XS_MSG_TPU_TO_PACK = 0,       /**< TpuToPackMessage (tpu_to_pack) */
	XS_MSG_PROGRESS = 1,          /**< ProgressMessage (progress_tracker) */
	XS_MSG_PACK_TO_WORKER = 2,    /**< PackToWorkerMessage / PackToExecutionWorkerMessage */
	XS_MSG_WORKER_TO_PACK = 3,    /**< WorkerToPackMessage / ExecutionWorkerToPackMessage */
	XS_MSG_PACK_TO_CHECK = 4,     /**< pack_to_check_worker element (V5: PackToWorkerMessage) */
	XS_MSG_CHECK_TO_PACK = 5,     /**< check_worker_to_pack element (V5: WorkerToPackMessage) */
	XS_MSG_EXEC_RESPONSE = 6,     /**< ExecutionResponse (array element) */
	XS_MSG_CHECK_RESPONSE = 7,    /**< CheckResponse; VERSION 1: Resolved (tag 1) */
	XS_MSG_TYPES = 8,
};

/** Sets of named values (struct xs_bindings.meaning[]). */
enum xs_meaning {
	XS_M_TPU_FLAGS = 0,   /**< tpu_message_flags (bits) */
	XS_M_LEADER_STATE,    /**< leader_state (values) */
	XS_M_EXEC_FLAGS,      /**< flag bits of an execute request (incl. the kind bit) */
	XS_M_CHECK_FLAGS,     /**< flag bits of a check (VERSION 1: resolve) request */
	XS_M_PROCESSED,       /**< processed / processed_code (values) */
	XS_M_TAG,             /**< response region tags (values; none in bindings 6) */
	XS_M_REASON,          /**< not_included_reasons (values) */
	XS_M_PARSE_FLAGS,     /**< CheckResponse parsing_and_sanitization_flags (bits) */
	XS_M_STATUS_FLAGS,    /**< status_check_flags (bits) */
	XS_M_BALANCE_FLAGS,   /**< fee_payer_balance_flags (bits) */
	XS_M_RESOLVE_FLAGS,   /**< resolve_flags (bits) */
	XS_M_SCHED_FLAGS,     /**< scheduling_details_flags (bits, bindings 6) */
	XS_M_RESOLVED,        /**< Resolved.success (values, VERSION 1) */
	XS_M_COUNT,
};

/** One named value: @c value and upstream's @c name. */
struct xs_msg_const {
	uint32_t value;
	const char *name;
};

/** Normalised answer status (what a processed code means). */
enum xs_resp_status {
	XS_RESP_ST_PROCESSED = 0,     /**< responses valid, one per transaction */
	XS_RESP_ST_INVALID = 1,       /**< the request was refused (V1 NOT_PROCESSED, INVALID) */
	XS_RESP_ST_SLOT_EXCEEDED = 2, /**< MAX_WORKING_SLOT_EXCEEDED (VERSION 2 and later) */
	XS_RESP_ST_UNKNOWN = 0xFF,    /**< a code the version does not define */
};

/** Request kinds. */
enum xs_req_kind {
	XS_REQ_EXECUTE = 0, /**< execution (answers: ExecutionResponse) */
	XS_REQ_CHECK = 1,   /**< check; VERSION 1: RESOLVE (answers: CheckResponse / Resolved) */
};

/** Everything that differs between bindings versions. */
struct xs_bindings {
	uint8_t id;              /**< enum xs_bindings_id */
	uint8_t tagged;          /**< response regions carry a tag byte (1..5; not 6) */
	uint8_t leader_state_max; /**< largest valid leader_state: 1 (V1, V2) or 2 */
	uint8_t split;           /**< execution and check requests are separate types (6) */
	uint16_t size[XS_MSG_TYPES]; /**< sizeof each message type, 0 = absent */
	/* request flags: kind = (flags & kind_mask) == kind_exec ? execute : check
	 * (split: the queue decides); then only the kind's allowed bits */
	uint16_t kind_mask;      /**< bits that select the kind (V1 0x2, V2-5 0x1, 6: 0) */
	uint16_t kind_exec;      /**< value of those bits for execute (V1 0, V2-5 1) */
	uint16_t exec_allowed;   /**< bits an execute request may carry (kind bit included) */
	uint16_t check_allowed;  /**< bits a check / resolve request may carry */
	/* answers */
	uint8_t code_processed;  /**< code meaning PROCESSED (V1 1, else 0) */
	uint8_t code_invalid;    /**< code meaning refused (V1 NOT_PROCESSED 0, else INVALID 1) */
	uint8_t code_slot;       /**< MAX_WORKING_SLOT_EXCEEDED (2), 0xFF when absent (V1) */
	uint8_t tag_exec;        /**< tag of execution responses (0) */
	uint8_t tag_check;       /**< tag of check (V1: Resolved) responses (1) */
	uint8_t check_bits[5];   /**< defined bits of CheckResponse bytes 0..4 (0: no byte 4) */
	uint8_t pad_[4];
	uint64_t reasons[2];     /**< bitmap of defined not_included_reason values 0..127 */
	const char *name;        /**< "3.1.x", "VERSION 2", ..., "6.x" */
	const char *upstream;    /**< where the facts were read */
	const struct xs_msg_const *meaning[XS_M_COUNT]; /**< named values per set */
	uint8_t nmeaning[XS_M_COUNT];                   /**< entries of each set */
};

/** The table of @p id, or NULL when unknown. */
const struct xs_bindings *xs_bindings_get(unsigned id);

/** Upstream's name of @p value in set @p m of @p b, or NULL. For bit sets
 *  give one bit. */
const char *xs_bindings_name(const struct xs_bindings *b, enum xs_meaning m, unsigned value);

/** Whether not_included_reason @p r is defined by @p b. */
XS_INLINE int xs_bindings_reason_known(const struct xs_bindings *b, unsigned r)
{
	return r < 128 && ((b->reasons[r >> 6] >> (r & 63)) & 1u);
}

/** enum xs_resp_status of processed code @p code in @p b. */
XS_INLINE unsigned xs_bindings_status(const struct xs_bindings *b, unsigned code)
{
	if (code == b->code_processed)
		return XS_RESP_ST_PROCESSED;
	if (code == b->code_invalid)
		return XS_RESP_ST_INVALID;
	if (code == b->code_slot)
		return XS_RESP_ST_SLOT_EXCEEDED;
	return XS_RESP_ST_UNKNOWN;
}

/* ------------------------------------------------ typed protocol queues */
/*
 * Thin typed wrappers over struct xs_spsc for the SPSC protocol queues of
 * each version (the MPMC check queues of VERSION 5 / bindings 6 are not
 * struct xs_spsc), so a scheduler cannot push a message into the wrong
 * queue by mistake. Each
 * generates:
 *   T *xs_<q>_reserve(struct xs_spsc *)          producer, NULL when full
 *   int xs_<q>_try_push(struct xs_spsc *, const T *)   reserve+copy+commit
 *   const T *xs_<q>_try_read(struct xs_spsc *)   consumer, NULL when empty
 *   const T *xs_<q>_poll(struct xs_spsc *)       try_read, syncing once when empty
 */
#define XS__TYPED_QUEUE(q, T)                                                   \
	XS_INLINE T *xs_##q##_reserve(struct xs_spsc *s)                        \
	{                                                                       \
		return (T *)xs_spsc_reserve(s);                                 \
	}                                                                       \
	XS_INLINE int xs_##q##_try_push(struct xs_spsc *s, const T *m)         \
	{                                                                       \
		return xs_spsc_try_push_sized(s, m, sizeof(T)); /* inlined copy */ \
	}                                                                       \
	XS_INLINE const T *xs_##q##_try_read(struct xs_spsc *s)                 \
	{                                                                       \
		return (const T *)xs_spsc_try_read(s);                          \
	}                                                                       \
	XS_INLINE const T *xs_##q##_poll(struct xs_spsc *s)                     \
	{                                                                       \
		return (const T *)xs_spsc_poll(s);                              \
	}

XS__TYPED_QUEUE(tpu_to_pack, struct xs_tpu_to_pack)
XS__TYPED_QUEUE(progress, struct xs_progress)
XS__TYPED_QUEUE(pack_to_worker, struct xs_pack_to_worker)
XS__TYPED_QUEUE(worker_to_pack, struct xs_worker_to_pack)
XS__TYPED_QUEUE(v1_pack_to_worker, struct xs_v1_pack_to_worker)
XS__TYPED_QUEUE(v1_worker_to_pack, struct xs_v1_worker_to_pack)
XS__TYPED_QUEUE(v4_progress, struct xs_v4_progress)
XS__TYPED_QUEUE(v6_progress, struct xs_v6_progress)
XS__TYPED_QUEUE(v6_pack_to_exec, struct xs_v6_pack_to_exec)
XS__TYPED_QUEUE(v6_exec_to_pack, struct xs_v6_exec_to_pack)
#undef XS__TYPED_QUEUE

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_MSG_H */
