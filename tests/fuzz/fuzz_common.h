/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the fuzz targets, their replay driver and the seed generator.
 * Each target defines LLVMFuzzerTestOneInput(); built with clang and
 * -fsanitize=fuzzer it is a libFuzzer binary, built with replay_main.c it
 * replays a corpus (plain, ASan and UBSan builds run it that way).
 *
 * Input formats (all integers little endian):
 *   fuzz_logon   the raw bytes a client sent (any length)
 *   fuzz_reply   u8 flags (bit 0: MSG_CTRUNC, bit 1: 5 + 2W descriptors
 *                expected, the check-queue generations), u8 worker_count,
 *                u16 data_len, data_len data bytes, then the control bytes
 *   fuzz_spsc    u8 mode (bit 0: shaq 1.0 format, bit 1: producer end,
 *                bits 2..4: element type, bits 5..6: 0 = format by bit 0,
 *                1 = 2.0, 2 = 3.0, 3 = detect), u64 write, u64 read (counters
 *                the "peer" stores after the join), then the queue file image
 *   fuzz_mpmc    u8 mode (bit 0: consumer end, bits 1..2: 0 = 2.0, 1 = 3.0,
 *                2/3 = detect, bits 3..5: element type), u8 ops seed,
 *                4 x u64 cursor values the "peer" stores (producer_reservation,
 *                producer_publication, consumer_reservation, consumer_release)
 *                and a u8 mask of which to store, then the queue file image
 *   fuzz_alloc   u8 worker index, u8 log2(file size in KiB), u16 meta_len,
 *                meta_len bytes placed at file offset 0, then patches
 *                {u32 offset, u8 len, len bytes}; then the operations use
 *                the remaining bytes of the last patch list entry as seeds
 *   fuzz_alloc4  u8 mode (bits 0..1: format 0.2 / 2.0 / 3.0 / 4.0, bit 2: join
 *                detecting, bit 3: claim, bit 4: walk mode (bit 0: 4.0 else
 *                3.0, bit 1: batched frees, bits 5..7: sizes)), u8 arg, u8 lg
 *                (file 256 KiB << lg % 4); join mode: patches {u32 offset,
 *                u8 len, len bytes} to the created file; walk mode: {u8
 *                target (bit 7: value names a slot), u64 value} link / head
 *                rewrites (fuzz_alloc4.c)
 *   fuzz_msg     u8 kind (enum fz_msg_kind), [generic kinds: u8 selector:
 *                bindings version, check queue, request kept], the message
 *                (40/48/32/40 bytes; generic kinds 96), then patches {u32
 *                offset, u8 len, len bytes} applied to the fixture allocator
 *                file, see fz_fixture_*.
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
