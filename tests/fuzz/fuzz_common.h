/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the fuzz targets, their replay driver and the seed generator.
 * Each target defines LLVMFuzzerTestOneInput(); built with clang and
 * -fsanitize=fuzzer it is a libFuzzer binary, built with replay_main.c it
 * replays a corpus (plain, ASan and UBSan builds run it that way).
 *
 * Input formats (all integers little endian):
 *   fuzz_logon   the raw bytes a client sent (any length)
 *   fuzz_reply   u8 flags (bit 0: MSG_CTRUNC), u8 worker_count, u16 data_len,
 *                data_len data bytes, then the control bytes
 *   fuzz_spsc    u8 mode (bit 0: shaq 1.0 format, bit 1: producer end,
 *                bits 2..4: element type), u64 write, u64 read (counters the
 *                "peer" stores after the join), then the queue file image
 *   fuzz_alloc   u8 worker index, u8 log2(file size in KiB), u16 meta_len,
 *                meta_len bytes placed at file offset 0, then patches
 *                {u32 offset, u8 len, len bytes}; then the operations use
 *                the remaining bytes of the last patch list entry as seeds
 *   fuzz_msg     u8 kind (enum fz_msg_kind), the message (40/48/32/40 bytes),
 *                then patches {u32 offset, u8 len, len bytes} applied to the
 *                fixture allocator file, see fz_fixture_*.
 */
#ifndef XS_FUZZ_COMMON_H
#define XS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken invariant is a finding: abort so that libFuzzer (or the replay
 * driver's exit status) reports it, with the condition on stderr. */
#define FZ_ASSERT(c)                                                              \
	do {                                                                      \
		if (!(c)) {                                                       \
			fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #c, \
				__FILE__, __LINE__);                              \
			abort();                                                  \
		}                                                                 \
	} while (0)

static inline uint64_t fz_le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t fz_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint16_t fz_le16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
