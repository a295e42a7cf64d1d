/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Agave scheduler-bindings messages (seed era: handshake VERSION 1 and 2),
 * byte-for-byte as upstream's #[repr(C)] structs on x86-64 (LP64, little
 * endian). Every size, alignment and offset is pinned by XS_STATIC_ASSERT below
 * and checked against upstream's layout_rust.json by tests/queues.
 *
 * Offsets ("*_offset" fields) are byte offsets from the start of the
 * session's allocator file (descriptor 0 of the handshake), never pointers.
 * Padding bytes are unspecified on the wire: readers ignore them, xsched
 * writers zero them (build messages in zeroed memory or with designated
 * initialisers of the whole struct).
 *
 * Upstream names are given beside each xsched name.
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

/** not_included_reasons (ExecutionResponse.not_included_reason). */
enum xs_not_included_reason {
	XS_NIR_NONE = 0,
	XS_NIR_BANK_NOT_AVAILABLE = 1,
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
	uint64_t max_working_slot; /**< max_execution_slot in 3.1.x */
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

/* ------------------------------------------------ typed protocol queues */
/*
 * Thin typed wrappers over struct xs_spsc for the four protocol queues, so a
 * scheduler cannot push a message into the wrong queue by mistake. Each
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
#undef XS__TYPED_QUEUE

#ifdef __cplusplus
}
#endif
#endif /* XS_MSG_H */
