/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The protocol table: one row per handshake generation (struct
 * xs_hs_proto), the lookups and argument parsers the tools share, and the
 * per-row rules that are pure arithmetic (descriptor order, queue file
 * sizes, allocator slots). The byte codecs that use the rows are in
 * hs_wire.c.
 *
 * Sources per row: spec/HANDSHAKE.md (VERSION 1, 2), spec/AGAVE_4X.md
 * (VERSION 3, 4), spec/LATER_VERSIONS.md section 1.1 (VERSION 5),
 * spec/HANDSHAKE_SDK.md (sdk6, sdk7); golden files in vectors/, vectors/v1/,
 * vectors/v4/ for VERSION 2, 1 and 4.
 */
#include "hs_pvt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "xsched/alloc.h"
#include "xsched/msg.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

/* ------------------------------------------------------------ the rows */

#define A XS_LF_ABSENT

/* ClientLogon offsets per layout, in enum xs_logon_field order:
 * worker_count, check_worker_count, allocator_size, allocator_handles,
 * tpu_to_pack, progress_tracker, pack_to_worker, worker_to_pack,
 * pack_to_check_worker, check_worker_to_pack, flags */
#define OFF_L56     { 0, A, 8, 16, 24, 32, 40, 48, A, A, A }
#define OFF_L64     { 0, A, 8, 16, 24, 32, 40, 48, A, A, 56 }
#define OFF_L80     { 0, A, 8, 16, 24, 32, 40, 48, 64, 72, 56 }
#define OFF_L88_F16 { 0, 8, 16, 24, 32, 40, 48, 56, 72, 80, 64 }
#define OFF_L88_F64 { 0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80 }

/* Objects. huge = "huge pages first" where the row has huge_first. */
#define O_ALLOC(h) { XS_HS_OBJ_ALLOCATOR, 0, 0, h, XS_LF_ALLOCATOR_SIZE, 0, 0, "allocator" }
#define O_SPSC(o, role, h, f, m, sz, n) { o, XS_SHAQ_SPSC, role, h, f, m, sz, n }
#define O_MPMC(o, role, f, m, sz, n) { o, XS_SHAQ_MPMC, role, 1, f, m, sz, n }
#define O_TPU(h)     O_SPSC(XS_HS_OBJ_TPU_TO_PACK, XS_SPSC_PRODUCER, h, XS_LF_TPU_TO_PACK, \
			    XS_MSG_TPU_TO_PACK, 40, "tpu_to_pack")
#define O_PROG(sz)   O_SPSC(XS_HS_OBJ_PROGRESS_TRACKER, XS_SPSC_PRODUCER, 0, XS_LF_PROGRESS_TRACKER, \
			    XS_MSG_PROGRESS, sz, "progress_tracker")
#define O_P2W(h)     O_SPSC(XS_HS_OBJ_PACK_TO_WORKER, XS_SPSC_CONSUMER, h, XS_LF_PACK_TO_WORKER, \
			    XS_MSG_PACK_TO_WORKER, 32, "pack_to_worker")
#define O_W2P(h)     O_SPSC(XS_HS_OBJ_WORKER_TO_PACK, XS_SPSC_PRODUCER, h, XS_LF_WORKER_TO_PACK, \
			    XS_MSG_WORKER_TO_PACK, 40, "worker_to_pack")
#define O_P2C(sz)    O_MPMC(XS_HS_OBJ_PACK_TO_CHECK_WORKER, XS_SPSC_CONSUMER, \
			    XS_LF_PACK_TO_CHECK_WORKER, XS_MSG_PACK_TO_CHECK, sz, "pack_to_check_worker")
#define O_C2P        O_MPMC(XS_HS_OBJ_CHECK_WORKER_TO_PACK, XS_SPSC_PRODUCER, \
			    XS_LF_CHECK_WORKER_TO_PACK, XS_MSG_CHECK_TO_PACK, 40, "check_worker_to_pack")

#define SDK_PV(h) { h, 6, 0x00030000u, 0x00040000u }

static const struct xs_hs_proto hs_protos[] = {
	{
		/* agave-scheduling-utils 3.1.x: queue sizes in bytes taken as
		 * given, memfd without huge pages, shaq 0.2.0, rts-alloc 0.2.0
		 * (HANDSHAKE.md s2.1, s5; vectors/v1) */
		.version = 1, .gen = XS_HS_GEN_V1, .name = "1",
		.wire = XS_HS_WIRE_U64, .logon_off = 8,
		.logon_layout = XS_LOGON_L56, .logon_size = 56, .field_off = OFF_L56,
		.units = XS_LOGON_BYTES, .has_flags = 0, .flags_width = 0, .logon_flags = 0,
		.checks = XS_HS_CHECK_WORKERS | XS_HS_CHECK_HANDLES,
		.huge_first = 0, .round_pages = 0, .sizing = XS_HS_SIZE_BYTES,
		.shaq = XS_SHAQ_0_2, .nglobal = 3,
		.objects = { O_ALLOC(0), O_TPU(0), O_PROG(48), O_P2W(0), O_W2P(0) },
		.alloc_format = XS_ALLOC_FMT_0_2, .alloc_join = XS_HS_JOIN_INDEX,
		.slab_size = XS_HS_SLAB_SIZE, .bindings = XS_BIND_3_1,
		.confidence = XS_HS_READ, .sessions = 1,
		.era = "agave-scheduling-utils 3.1.x (shaq 0.2.0)",
		.lines = "3.1.x (3.1.1 .. 3.1.13; published crates: no stock 3.1.x validator runs the server)",
		.note = NULL,
	},
	{
		/* agave master dcd98dcb .. 3432d0bed2^: capacities + u16 flags,
		 * huge pages first, shaq 1.0.x, rts-alloc 1.0.0 (HANDSHAKE.md;
		 * vectors/) */
		.version = 2, .gen = XS_HS_GEN_V2, .name = "2",
		.wire = XS_HS_WIRE_U64, .logon_off = 8,
		.logon_layout = XS_LOGON_L64, .logon_size = 64, .field_off = OFF_L64,
		.units = XS_LOGON_ITEMS, .has_flags = 1, .flags_width = 2,
		.logon_flags = XS_LOGON_REROUTE_VOTES,
		.checks = XS_HS_CHECK_WORKERS | XS_HS_CHECK_HANDLES,
		.huge_first = 1, .round_pages = 1, .sizing = XS_HS_SIZE_LINEAR,
		.shaq = XS_SHAQ_1_0, .nglobal = 3,
		.objects = { O_ALLOC(1), O_TPU(1), O_PROG(48), O_P2W(1), O_W2P(1) },
		.alloc_format = XS_ALLOC_FMT_0_2, .alloc_join = XS_HS_JOIN_INDEX,
		.slab_size = XS_HS_SLAB_SIZE, .bindings = XS_BIND_V2,
		.confidence = XS_HS_INFERRED, .sessions = 1,
		.era = "agave master Nov 2025 (shaq 1.0.x)",
		.lines = "agave master 2025-11-05 .. 2026-01-27 (never released)",
		.note = "rts-alloc 1.0.0's file format is assumed equal to 0.2.0 (source not available)",
	},
	{
		/* the 4.0 line: VERSION 2's wire and objects, shaq 1.0.2,
		 * rts-alloc 2.0.0 with fixed indices (AGAVE_4X.md s1, s3) */
		.version = 3, .gen = XS_HS_GEN_V3, .name = "3",
		.wire = XS_HS_WIRE_U64, .logon_off = 8,
		.logon_layout = XS_LOGON_L64, .logon_size = 64, .field_off = OFF_L64,
		.units = XS_LOGON_ITEMS, .has_flags = 1, .flags_width = 2, .logon_flags = 0,
		.checks = XS_HS_CHECK_WORKERS | XS_HS_CHECK_HANDLES,
		.huge_first = 1, .round_pages = 1, .sizing = XS_HS_SIZE_LINEAR,
		.shaq = XS_SHAQ_1_0, .nglobal = 3,
		.objects = { O_ALLOC(1), O_TPU(1), O_PROG(48), O_P2W(1), O_W2P(1) },
		.alloc_format = XS_ALLOC_FMT_2_0, .alloc_join = XS_HS_JOIN_INDEX,
		.slab_size = XS_HS_SLAB_SIZE, .bindings = XS_BIND_V3,
		.confidence = XS_HS_INFERRED, .sessions = 1,
		.era = "agave 4.0.x (shaq 1.0.2, rts-alloc 2.0.0)",
		.lines = "4.0.x",
		.note = "VERSION 3 read in 4.0.0-beta.3 and at the 4.0 branch point, not in a final "
			"4.0.x release; rts-alloc 2.0.0's format is assumed equal to 0.2.0 (fixed "
			"indices, as its API); logon_flags assumed empty for the whole line",
	},
	{
		/* the 4.1 and 4.2 lines: same wire as VERSION 2/3, shaq 3.0.0
		 * (format 2.0) with next_pow2 sizing, rts-alloc 4.0.0 (format
		 * 3.0) with claimed slots (AGAVE_4X.md s3, s7; vectors/v4) */
		.version = 4, .gen = XS_HS_GEN_V4, .name = "4",
		.wire = XS_HS_WIRE_U64, .logon_off = 8,
		.logon_layout = XS_LOGON_L64, .logon_size = 64, .field_off = OFF_L64,
		.units = XS_LOGON_ITEMS, .has_flags = 1, .flags_width = 2, .logon_flags = 0,
		.checks = XS_HS_CHECK_WORKERS | XS_HS_CHECK_HANDLES,
		.huge_first = 1, .round_pages = 1, .sizing = XS_HS_SIZE_POW2,
		.shaq = XS_SHAQ_2_0, .nglobal = 3,
		.objects = { O_ALLOC(1), O_TPU(1), O_PROG(80), O_P2W(1), O_W2P(1) },
		.alloc_format = XS_ALLOC_FMT_3_0, .alloc_join = XS_HS_JOIN_CLAIM,
		.slab_size = XS_HS_SLAB_SIZE, .bindings = XS_BIND_5,
		.confidence = XS_HS_READ, .sessions = 1,
		.era = "agave 4.1.x, 4.2.x (shaq 3.0.0 = format 2.0, rts-alloc 4.0.0 = format 3.0)",
		.lines = "4.1.x, 4.2.x; default for 4.3.x (4 or 5 there, open)",
		.note = "messages validated with bindings 5.x (4.3: adds PARTIAL_BATCH_CANCELLED), "
			"a superset of what 4.1/4.2 send; no golden allocator files (rts-alloc 4.0.0 "
			"could not be rebuilt)",
	},
	{
		/* agave 091bee17: 80-byte logon with the check-worker queue
		 * capacities, 5 global descriptors, two MPMC queues
		 * (LATER_VERSIONS.md s1.1) */
		.version = 5, .gen = XS_HS_GEN_V5, .name = "5",
		.wire = XS_HS_WIRE_U64, .logon_off = 8,
		.logon_layout = XS_LOGON_L80, .logon_size = 80, .field_off = OFF_L80,
		.units = XS_LOGON_ITEMS, .has_flags = 1, .flags_width = 2, .logon_flags = 0,
		.checks = XS_HS_CHECK_WORKERS | XS_HS_CHECK_HANDLES,
		.huge_first = 1, .round_pages = 1, .sizing = XS_HS_SIZE_POW2,
		.shaq = XS_SHAQ_2_0, .nglobal = 5,
		.objects = { O_ALLOC(1), O_TPU(1), O_PROG(80), O_P2C(32), O_C2P, O_P2W(1), O_W2P(1) },
		.alloc_format = XS_ALLOC_FMT_3_0, .alloc_join = XS_HS_JOIN_CLAIM,
		.slab_size = XS_HS_SLAB_SIZE, .bindings = XS_BIND_5,
		.confidence = XS_HS_READ, .sessions = 1,
		.era = "agave 091bee17 (VERSION 5: check-worker MPMC queues)",
		.lines = "agave master after 2026-08-03 (undated); possibly 4.3.x",
		.note = "wire read in agave 091bee17 (no golden files); which release line ships it is "
			"open; allocator slots of Agave's check workers not read (xsched's server claims "
			"them from the top of the slot table, so the client's claims get 1 + W + k)",
	},
	{
		/* agave-sdk scheduler-handshake, earlier shared.rs (4b28797b):
		 * u16 flags at 64, no ClientLogon::validate (HANDSHAKE_SDK.md s4,
		 * s5). Number 6 = crate 6.x is INFERRED: to swap the two SDK
		 * rows, swap their .version / .pv.handshake / .gen / .name */
		.version = 6, .gen = XS_HS_GEN_SDK6, .name = "sdk6",
		.wire = XS_HS_WIRE_PV, .logon_off = 32, .pv = SDK_PV(6),
		.logon_layout = XS_LOGON_L88_F16, .logon_size = 88, .field_off = OFF_L88_F16,
		.units = XS_LOGON_ITEMS, .has_flags = 1, .flags_width = 2, .logon_flags = 0,
		.checks = XS_HS_CHECK_WORKERS | XS_HS_CHECK_CHECK_WORKERS | XS_HS_CHECK_HANDLES,
		.huge_first = 1, .round_pages = 1, .sizing = XS_HS_SIZE_POW2,
		.shaq = XS_SHAQ_3_0, .nglobal = 5,
		.objects = { O_ALLOC(1), O_TPU(1), O_PROG(96), O_P2C(24), O_C2P, O_P2W(1), O_W2P(1) },
		.alloc_format = XS_ALLOC_FMT_4_0, .alloc_join = XS_HS_JOIN_CLAIM,
		.alloc_check_slots = 1,
		.slab_size = XS_HS_SLAB_SIZE, .bindings = XS_BIND_6,
		.confidence = XS_HS_INFERRED, .sessions = 1,
		.era = "agave-scheduler-handshake 6.x, earlier layout (u16 flags)",
		.lines = "4.4.x candidate (the other one is sdk7)",
		.note = "inferred: this layout (u16 flags @64, no capacity validation, read at "
			"agave-sdk 4b28797b) is handshake number 6 (crate 6.x); shaq format 3.0 and "
			"rts-alloc format 4.0 assumed for the ProtocolVersions",
	},
	{
		/* agave-sdk scheduler-handshake at 1d705b20: u64 flags at 80,
		 * ClientLogon::validate with the capacity texts; tests at
		 * 59e24873 assert handshake 7 (HANDSHAKE_SDK.md s3 - s5) */
		.version = 7, .gen = XS_HS_GEN_SDK7, .name = "sdk7",
		.wire = XS_HS_WIRE_PV, .logon_off = 32, .pv = SDK_PV(7),
		.logon_layout = XS_LOGON_L88_F64, .logon_size = 88, .field_off = OFF_L88_F64,
		.units = XS_LOGON_ITEMS, .has_flags = 1, .flags_width = 8, .logon_flags = 0,
		.checks = XS_HS_CHECK_WORKERS | XS_HS_CHECK_CHECK_WORKERS | XS_HS_CHECK_HANDLES |
			  XS_HS_CHECK_ALLOC_SIZE | XS_HS_CHECK_CAPACITIES,
		.huge_first = 1, .round_pages = 1, .sizing = XS_HS_SIZE_POW2,
		.shaq = XS_SHAQ_3_0, .nglobal = 5,
		.objects = { O_ALLOC(1), O_TPU(1), O_PROG(96), O_P2C(24), O_C2P, O_P2W(1), O_W2P(1) },
		.alloc_format = XS_ALLOC_FMT_4_0, .alloc_join = XS_HS_JOIN_CLAIM,
		.alloc_check_slots = 1,
		.slab_size = XS_HS_SLAB_SIZE, .bindings = XS_BIND_6,
		.confidence = XS_HS_INFERRED, .sessions = 1,
		.era = "agave-scheduler-handshake (agave-sdk 1d705b20: u64 flags, validate)",
		.lines = "4.4.x (best inference; 4.4.1 released 2026-11-05) and master",
		.note = "inferred: this layout (u64 flags @80 with capacity validation) is handshake "
			"number 7 (tests at agave-sdk 59e24873 assert 7); try_minimum_file_size's "
			"failure cases and the shaq format patch (3.0) are inferred",
	},
};
#undef A

#define NPROTOS (sizeof(hs_protos) / sizeof(hs_protos[0]))

const struct xs_hs_proto *xs_hs_proto_get(uint64_t version)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (hs_protos[i].version == version)
			return &hs_protos[i];
	return NULL;
}

const struct xs_hs_proto *xs_hs_proto_gen(unsigned gen)
{
	for (size_t i = 0; i < NPROTOS; i++)
		if (hs_protos[i].gen == gen)
			return &hs_protos[i];
	return NULL;
}

const struct xs_hs_proto *xs_hs_proto_by_name(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < NPROTOS; i++) {
		const char *n = hs_protos[i].name;

		if (!strcasecmp(name, n))
			return &hs_protos[i];
		/* "v1" .. "v5" for the numbered rows */
		if ((name[0] == 'v' || name[0] == 'V') && n[0] >= '0' && n[0] <= '9' &&
		    !strcasecmp(name + 1, n))
			return &hs_protos[i];
	}
	return NULL;
}

const struct xs_hs_proto *xs_hs_proto_sdk(const struct xs_hs_pv *pv)
{
	for (size_t i = 0; i < NPROTOS; i++) {
		const struct xs_hs_pv *r = &hs_protos[i].pv;

		if (hs_protos[i].wire == XS_HS_WIRE_PV && r->handshake == pv->handshake &&
		    r->scheduler_bindings == pv->scheduler_bindings && r->shaq == pv->shaq &&
		    r->rts_alloc == pv->rts_alloc)
			return &hs_protos[i];
	}
	return NULL;
}

size_t xs_hs_proto_count(void)
{
	return NPROTOS;
}

const struct xs_hs_proto *xs_hs_proto_at(size_t i)
{
	return i < NPROTOS ? &hs_protos[i] : NULL;
}

uint32_t xs_hs_proto_fds(const struct xs_hs_proto *p, uint64_t worker_count)
{
	if (!p || worker_count < 1 || worker_count > XS_HS_MAX_WORKERS)
		return 0;
	return p->nglobal + 2u * (uint32_t)worker_count;
}

const struct xs_hs_object *xs_hs_proto_object(const struct xs_hs_proto *p, uint32_t index)
{
	if (!p || index >= p->nglobal + 2u * XS_HS_MAX_WORKERS)
		return NULL;
	if (index < p->nglobal)
		return &p->objects[index];
	return &p->objects[p->nglobal + (index - p->nglobal) % 2];
}

const char *xs_hs_logon_field_name(const struct xs_hs_proto *p, unsigned f)
{
	static const char *const cap[XS_LF_COUNT] = {
		"worker_count", "check_worker_count", "allocator_size", "allocator_handles",
		"tpu_to_pack_capacity", "progress_tracker_capacity", "pack_to_worker_capacity",
		"worker_to_pack_capacity", "pack_to_check_worker_capacity",
		"check_worker_to_pack_capacity", "flags",
	};
	static const char *const bytes[4] = {
		"tpu_to_pack_size", "progress_tracker_size", "pack_to_worker_size",
		"worker_to_pack_size",
	};

	if (!p || f >= XS_LF_COUNT || p->field_off[f] == XS_LF_ABSENT)
		return NULL;
	if (p->units == XS_LOGON_BYTES && f >= XS_LF_TPU_TO_PACK && f <= XS_LF_WORKER_TO_PACK)
		return bytes[f - XS_LF_TPU_TO_PACK];
	return cap[f];
}

/* ------------------------------------------------------ argument parsers */

int xs_hs_parse_protocol(const char *arg, const struct xs_hs_proto **out)
{
	const struct xs_hs_proto *p = xs_hs_proto_by_name(arg);

	if (!p)
		return xs_seterr(-EINVAL,
				 "protocol \"%s\" unknown: give 1, 2, 3, 4, 5 (in-agave VERSION), "
				 "sdk6 or sdk7 (agave-scheduler-handshake)", arg ? arg : "");
	*out = p;
	return 0;
}

static const struct xs_hs_agave hs_lines[] = {
	{
		.line = "3.1", .releases = "3.1.1 .. 3.1.13", .proto = &hs_protos[0],
		.bindings = XS_BIND_3_1, .shaq = XS_SHAQ_0_2, .alloc_format = XS_ALLOC_FMT_0_2,
		.confidence = XS_HS_READ,
		.verified = "golden files from upstream 3.1.x code (vectors/v1)",
		.note = NULL,
	},
	{
		.line = "4.0", .releases = "4.0.0-rc.0 (2026-04-24) and later", .proto = &hs_protos[2],
		.bindings = XS_BIND_V3, .shaq = XS_SHAQ_1_0, .alloc_format = XS_ALLOC_FMT_2_0,
		.confidence = XS_HS_INFERRED,
		.verified = "spec only (VERSION 2's wire is golden; VERSION 3 changes messages only)",
		.note = "agave 4.0.x: VERSION 3 was read in 4.0.0-beta.3; rts-alloc 2.0.0's format "
			"is assumed to be 0.2.0's",
	},
	{
		.line = "4.1", .releases = "4.1.x (4.1.2 2026-07-10)", .proto = &hs_protos[3],
		.bindings = XS_BIND_V4, .shaq = XS_SHAQ_2_0, .alloc_format = XS_ALLOC_FMT_3_0,
		.confidence = XS_HS_READ,
		.verified = "golden files of the 4.2 branch point (same VERSION 4 as the 4.1 branch point)",
		.note = NULL,
	},
	{
		.line = "4.2", .releases = "4.2.0 .. 4.2.2", .proto = &hs_protos[3],
		.bindings = XS_BIND_V4, .shaq = XS_SHAQ_2_0, .alloc_format = XS_ALLOC_FMT_3_0,
		.confidence = XS_HS_READ,
		.verified = "golden files from upstream code at the 4.2 branch point (vectors/v4)",
		.note = NULL,
	},
	{
		.line = "4.3", .releases = "4.3.0-beta and later (4.3.1 yanked)", .proto = &hs_protos[3],
		.alt = &hs_protos[4],
		.bindings = XS_BIND_5, .shaq = XS_SHAQ_2_0, .alloc_format = XS_ALLOC_FMT_3_0,
		.confidence = XS_HS_INFERRED,
		.verified = "spec only (VERSION 4 wire golden; VERSION 5 read in source only)",
		.note = "agave 4.3.x speaks handshake VERSION 4 or 5 (not known; master was still 4 "
			"on 2026-08-03): using VERSION 4. If the validator answers "
			"\"Version; server=5; ...\", use --protocol 5",
	},
	{
		.line = "4.4", .releases = "4.4.1 (2026-11-05) and later", .proto = &hs_protos[6],
		.alt = &hs_protos[5],
		.bindings = XS_BIND_6, .shaq = XS_SHAQ_3_0, .alloc_format = XS_ALLOC_FMT_4_0,
		.confidence = XS_HS_INFERRED,
		.verified = "spec only (bindings 6 structs and shaq format 3.0 queues golden)",
		.note = "agave 4.4.x uses agave-scheduler-handshake whose handshake number (6 or 7, "
			"and with it the logon's flags field) is not known: using sdk7. If the "
			"validator answers with handshake=6, use --protocol sdk6",
	},
};

int xs_hs_parse_agave(const char *line, const struct xs_hs_agave **out)
{
	const char *s = line;
	size_t i;

	if (s && (*s == 'v' || *s == 'V'))
		s++;
	for (i = 0; s && i < sizeof(hs_lines) / sizeof(hs_lines[0]); i++) {
		size_t n = strlen(hs_lines[i].line);

		/* "4.3", or "4.3." followed by a patch part ("4.3.1", "4.3.x") */
		if (!strncmp(s, hs_lines[i].line, n) && (s[n] == '\0' || (s[n] == '.' && s[n + 1]))) {
			*out = &hs_lines[i];
			return 0;
		}
	}
	return xs_seterr(-EINVAL, "agave line \"%s\" unknown: give 3.1, 4.0, 4.1, 4.2, 4.3 or 4.4",
			 line ? line : "");
}

/* ---------------------------------------------------------- object rules */

uint64_t xs_hs_alloc_min_workers(const struct xs_hs_proto *p, const struct xs_logon *l)
{
	return 1 + l->worker_count + l->allocator_handles +
	       (p->alloc_check_slots ? l->check_worker_count : 0);
}

uint64_t xs_hs_client_first_slot(const struct xs_hs_proto *p, const struct xs_logon *l)
{
	return 1 + l->worker_count + (p->alloc_check_slots ? l->check_worker_count : 0);
}

/* Where the ring starts in a queue file of @p fmt / @p kind (elements of
 * the bindings are all 8-aligned, below every header size). */
uint64_t xs__hs_ring_start(unsigned fmt, unsigned kind)
{
	switch (fmt) {
	case XS_SHAQ_2_0:
		return kind == XS_SHAQ_MPMC ? 320 : 192;
	case XS_SHAQ_3_0:
		return kind == XS_SHAQ_MPMC ? 384 : 256;
	default: /* 0.2.0 and 1.0.x: one 192-byte SPSC header */
		return XS_SPSC_HEADER_SIZE;
	}
}

/* Smallest power of two >= v (0 stays 0). @return 0 on overflow (v > 2^63). */
static int next_pow2(uint64_t v, uint64_t *out)
{
	uint64_t p = 1;

	if (v == 0) {
		*out = 0;
		return 1;
	}
	if (v > (1ull << 63))
		return 0;
	while (p < v)
		p <<= 1;
	*out = p;
	return 1;
}

/* Round @p v up to a multiple of @p page (a power of two). @return 0 on overflow. */
static int round_up(uint64_t v, uint64_t page, uint64_t *out)
{
	if (v > UINT64_MAX - (page - 1))
		return 0;
	*out = (v + page - 1) & ~(page - 1);
	return 1;
}

int xs__hs_sdk_queue_ok(const struct xs_hs_proto *p, const struct xs_hs_object *o, uint64_t cap)
{
	uint64_t start = xs__hs_ring_start(p->shaq, o->kind), n, sz, rounded;

	/* try_minimum_file_size: next_pow2, multiplication and addition all
	 * checked (inferred), then the page rounding the server will apply:
	 * 2 MiB, 4 KiB for progress_tracker; the result must fit isize */
	if (!next_pow2(cap, &n) || (n && o->elem_size > UINT64_MAX / n))
		return 0;
	sz = n * o->elem_size;
	if (sz > UINT64_MAX - start)
		return 0;
	sz += start;
	if (!round_up(sz, o->huge ? XS_SHM_HUGE_PAGE : XS_SHM_PAGE, &rounded))
		return 0;
	return rounded <= (uint64_t)INT64_MAX;
}

static int invalid_buffer(char *reason, size_t cap, const char *fmt, ...) XS_PRINTF(3, 4);
static int invalid_buffer(char *reason, size_t cap, const char *fmt, ...)
{
	char detail[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (reason && cap)
		snprintf(reason, cap, "Shaq; err=InvalidBufferSize");
	return xs_seterr(-XS_EHS_QUEUE, "%s", detail);
}

int xs_hs_queue_min_size(const struct xs_hs_proto *p, const struct xs_hs_object *o,
			 uint64_t value, uint64_t *size, char *reason, size_t reason_cap)
{
	uint64_t start, n;

	if (reason && reason_cap)
		reason[0] = '\0';
	if (!p || !o || o->obj == XS_HS_OBJ_ALLOCATOR || !o->elem_size)
		return xs_seterr(-EINVAL, "not a queue object");
	start = xs__hs_ring_start(p->shaq, o->kind);
	switch (p->sizing) {
	case XS_HS_SIZE_BYTES:
		*size = value; /* shaq 0.2.0 create(file, size): the file gets exactly this */
		return 0;
	case XS_HS_SIZE_LINEAR:
		/* shaq 1.0 minimum_file_size: no rounding of the capacity */
		if (value > (UINT64_MAX - start) / o->elem_size)
			return invalid_buffer(reason, reason_cap,
					      "%s: capacity %" PRIu64 " x %u bytes overflows", o->name,
					      value, o->elem_size);
		*size = start + value * o->elem_size;
		return 0;
	default: /* XS_HS_SIZE_POW2: minimum_file_size rounds the capacity up */
		if (!next_pow2(value, &n) || (n && o->elem_size > (UINT64_MAX - start) / n))
			return invalid_buffer(reason, reason_cap,
					      "%s: capacity %" PRIu64 " rounded to a power of two "
					      "overflows", o->name, value);
		*size = start + n * o->elem_size;
		return 0;
	}
}

int xs_hs_queue_size(const struct xs_hs_proto *p, const struct xs_hs_object *o, uint64_t value,
		     int huge, uint64_t *size, uint64_t *capacity, char *reason, size_t reason_cap)
{
	uint64_t start, sz, items, n;
	int err;

	err = xs_hs_queue_min_size(p, o, value, &sz, reason, reason_cap);
	if (err)
		return err;
	start = xs__hs_ring_start(p->shaq, o->kind);
	huge = huge && p->huge_first && o->huge;
	if (p->round_pages && !round_up(sz, huge ? XS_SHM_HUGE_PAGE : XS_SHM_PAGE, &sz))
		return invalid_buffer(reason, reason_cap, "%s: file size overflows the page rounding",
				      o->name);
	/* the capacity shaq derives from the file size (SHAQ.md s4, SHAQ3.md s3) */
	if (sz < start)
		return invalid_buffer(reason, reason_cap, "%s: file of %" PRIu64
				      " bytes is smaller than the %" PRIu64 "-byte header",
				      o->name, sz, start);
	items = (sz - start) / o->elem_size;
	n = 1;
	while (n <= items / 2)
		n <<= 1;
	if (items == 0)
		return invalid_buffer(reason, reason_cap, "%s: file of %" PRIu64
				      " bytes holds no %u-byte item after the header", o->name, sz,
				      o->elem_size);
	if ((p->shaq == XS_SHAQ_2_0 || p->shaq == XS_SHAQ_3_0) && n > (1ull << 32))
		return invalid_buffer(reason, reason_cap, "%s: capacity %" PRIu64
				      " exceeds 2^32 (u32 buffer_mask)", o->name, n);
	if (size)
		*size = sz;
	if (capacity)
		*capacity = n;
	return 0;
}

int xs_hs_logon_check_queues(const struct xs_hs_proto *p, const struct xs_logon *logon,
			     char *reason, size_t reason_cap)
{
	uint32_t i;
	int err;

	if (reason && reason_cap)
		reason[0] = '\0';
	if (!p)
		return xs_seterr(-EINVAL, "no protocol row");
	/* creation order = descriptor order; one worker pair stands for all */
	for (i = 1; i < p->nglobal + 2u; i++) {
		const struct xs_hs_object *o = &p->objects[i];
		uint64_t value;

		switch (o->field) {
		case XS_LF_TPU_TO_PACK: value = logon->tpu_to_pack_capacity; break;
		case XS_LF_PROGRESS_TRACKER: value = logon->progress_tracker_capacity; break;
		case XS_LF_PACK_TO_WORKER: value = logon->pack_to_worker_capacity; break;
		case XS_LF_WORKER_TO_PACK: value = logon->worker_to_pack_capacity; break;
		case XS_LF_PACK_TO_CHECK_WORKER: value = logon->pack_to_check_worker_capacity; break;
		case XS_LF_CHECK_WORKER_TO_PACK: value = logon->check_worker_to_pack_capacity; break;
		default: continue;
		}
		err = xs_hs_queue_size(p, o, value, 0, NULL, NULL, reason, reason_cap);
		if (err)
			return err;
	}
	return 0;
}
