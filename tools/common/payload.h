/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Self-checking transaction payloads (xsched-mockval writes them, its
 * workers check them; any tool or test may use them).
 *
 * A payload is at least 9 bytes: bytes 0..7 hold the transaction id (u64
 * little-endian); every later byte i is
 *
 *     (uint8_t)(mix >> ((i % 8) * 8)) ^ (uint8_t)i,  mix = id * 0x9E3779B97F4A7C15 (wrapping)
 *
 * so one flipped bit anywhere, a truncation, a swap of two transactions or a
 * stale slot is caught, and the id says which transaction it was.
 *
 * Word form used by the fast paths: for an aligned group of 8 bytes starting
 * at i (i % 8 == 0), the 8 bytes read as a little-endian u64 equal
 * mix ^ (0x0706050403020100 + (i & 0xff) * 0x0101010101010101): the index
 * bytes i..i+7 never carry out of their byte because i & 0xff <= 248.
 */
#ifndef XS_TOOL_PAYLOAD_H
#define XS_TOOL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xsched/common.h"

#define XS_PAYLOAD_MIN 9u /**< the id plus at least one checked byte */
#define XS_PAYLOAD_MUL 0x9E3779B97F4A7C15ull

/** Expected byte @p i (>= 8) of the payload of @p id (the definition). */
XS_INLINE uint8_t xs_payload_byte(uint64_t id, size_t i)
{
	uint64_t mix = id * XS_PAYLOAD_MUL;

	return (uint8_t)((uint8_t)(mix >> ((i % 8) * 8)) ^ (uint8_t)i);
}

XS_INLINE uint64_t xs__payload_word(uint64_t mix, size_t i)
{
	return mix ^ (0x0706050403020100ull + (uint64_t)(i & 0xff) * 0x0101010101010101ull);
}

/** Write the payload of transaction @p id into @p p (@p len >= XS_PAYLOAD_MIN). */
XS_INLINE void xs_payload_fill(uint8_t *p, size_t len, uint64_t id)
{
	uint64_t mix = id * XS_PAYLOAD_MUL, w;
	size_t i = 8;

	memcpy(p, &id, 8); /* little-endian host (x86-64, as the whole protocol) */
	for (; i + 8 <= len; i += 8) {
		w = xs__payload_word(mix, i);
		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] = xs_payload_byte(id, i);
}

/** The id stored in bytes 0..7 (@p len must be >= 8). */
XS_INLINE uint64_t xs_payload_id(const uint8_t *p)
{
	uint64_t id;

	memcpy(&id, p, 8);
	return id;
}

/**
 * Check a payload against its own id.
 * @return -1 when every byte matches, else the index of the first wrong
 *         byte (8 or more; 0 when @p len < XS_PAYLOAD_MIN).
 */
XS_INLINE long xs_payload_check(const uint8_t *p, size_t len)
{
	uint64_t id, mix, w;
	size_t i = 8;

	if (XS_UNLIKELY(len < XS_PAYLOAD_MIN))
		return 0;
	id = xs_payload_id(p);
	mix = id * XS_PAYLOAD_MUL;
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		if (XS_UNLIKELY(w != xs__payload_word(mix, i)))
			break;
	}
	for (; i < len; i++)
		if (p[i] != xs_payload_byte(id, i))
			return (long)i;
	return -1;
}

/** A 64-bit mixer (splitmix64 finaliser) for deterministic per-id choices. */
XS_INLINE uint64_t xs_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xBF58476D1CE4E5B9ull;
	x ^= x >> 27;
	x *= 0x94D049BB133111EBull;
	x ^= x >> 31;
	return x;
}

/** Deterministic "draw" for id @p id and purpose @p salt: 1 with probability @p share. */
XS_INLINE int xs_draw(uint64_t id, uint64_t salt, double share)
{
	if (share <= 0.0)
		return 0;
	if (share >= 1.0)
		return 1;
	return (double)(xs_mix64(id ^ (salt * 0xD6E8FEB86659FD93ull)) >> 11) * 0x1.0p-53 < share;
}

#endif /* XS_TOOL_PAYLOAD_H */
