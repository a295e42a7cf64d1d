/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Allocator fixtures of the fuzz targets, built the same way by the targets
 * and by the seed generator so that seeds can name real allocations.
 *
 * The message fixture is a 256 KiB rts-alloc file with 16 KiB slabs and
 * three workers (0: Agave TPU, 1: Agave banking worker, 2: pack), created
 * in a memfd, with:
 *   8 transactions of 300 bytes allocated by worker 0,
 *   2 batch arrays of 4 regions (pack, worker 2): an execute and a check batch,
 *   1 execution response array of 4 responses (worker 1),
 *   1 check response array of 4 responses (worker 1), two of them with
 *     resolved pubkeys arrays of 5 keys (worker 1).
 * fz_fixture_reset() puts back the exact bytes after an input patched them.
 */
#ifndef XS_FUZZ_FIXTURE_H
#define XS_FUZZ_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "xsched/msg.h"

struct xs_alloc;

#define FZ_FIX_SIZE  (256u * 1024)
#define FZ_FIX_SLAB  16384u
#define FZ_FIX_NTX   8
#define FZ_FIX_BATCH 4

/** Message kinds of the fuzz_msg input (first byte modulo FZ_MSG_KINDS). */
enum fz_msg_kind {
	FZ_MSG_TPU = 0,      /**< TpuToPack: checked, taken, released */
	FZ_MSG_PROGRESS = 1, /**< ProgressMessage for VERSION 1, 2, 3 */
	FZ_MSG_P2W = 2,      /**< PackToWorker: checked on the worker side */
	FZ_MSG_W2P = 3,      /**< WorkerToPack against the execute request */
	FZ_MSG_W2P_CHECK = 4, /**< WorkerToPack against the check request */
	FZ_MSG_W2P_BLIND = 5, /**< WorkerToPack with no request kept */
	/* the generic validators: the byte after the kind selects the bindings
	 * version (XS_BIND_MIN + low bits % 6), bit 7 the check queue, bit 6
	 * (answers) a kept request; then up to 96 message bytes */
	FZ_MSG_GEN_PROGRESS = 6, /**< xs_msg_check_progress_b */
	FZ_MSG_GEN_REQUEST = 7,  /**< xs_msg_check_request */
	FZ_MSG_GEN_RESPONSE = 8, /**< xs_msg_check_response + xs_guard_accept_resp */
	FZ_MSG_KINDS = 9,
};

/** Length of the message part of a generic fuzz_msg input. */
#define FZ_GEN_MSG_LEN 96

struct fz_fixture {
	int fd;
	struct xs_alloc *tpu, *worker, *pack; /**< worker ids 0, 1, 2 on one mapping */
	uint8_t *base;
	size_t size;
	uint8_t *pristine; /**< copy of the file after setup */
	uint64_t tx[FZ_FIX_NTX];
	uint64_t batch_exec, batch_check;
	uint64_t resp_exec, resp_check;
	uint64_t pubkeys[2];
	struct xs_pack_to_worker sent_exec, sent_check;
	struct xs_worker_to_pack done_exec, done_check; /**< valid responses to them */
};

/** Build the fixture (aborts on failure: a broken fixture is a harness bug). */
void fz_fixture_open(struct fz_fixture *f);
/** Restore the file bytes of the fixture. */
void fz_fixture_reset(struct fz_fixture *f);
void fz_fixture_close(struct fz_fixture *f);

/** Seed writers used by seedgen (emit(target, name, data, len)). */
typedef uint8_t *(*fz_load_fn)(const char *name, size_t *len);
typedef void (*fz_emit_fn)(const char *target, const char *name, const void *data, size_t len);
void fz_seeds_alloc(fz_load_fn load, fz_emit_fn emit);
void fz_seeds_msg(fz_load_fn load, fz_emit_fn emit);

#endif
