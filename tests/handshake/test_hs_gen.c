/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the wire codecs of every handshake generation (VERSION 1 - 5,
 * sdk6, sdk7), byte for byte against upstream where golden files exist:
 *  - the protocol table: rows, lookups, --protocol / --agave parsers,
 *    descriptor order, allocator slots;
 *  - ClientLogon of every generation built from the spec tables as C
 *    structs (an _Static_assert on every offset) equals xs_hs_encode_logon(),
 *    and parses back; the row offsets equal those structs' offsets;
 *  - VERSION 1: the two logons of the real 3.1.x client, the five rejection
 *    frames of its server (the queue-size one from the creation rule), the
 *    ClientLogon of layout_rust_v1.json;
 *  - VERSION 4: the three logons of the real client (padding 66..71 masked)
 *    and the seven rejection frames (two of them from VERSION 3 / 5 frames
 *    this encoder built), layout4_rust.json's ClientLogon;
 *  - hostile logons per generation: short and garbage (ProtocolVersions
 *    included), worker_count 0 / 65, check_worker_count 0 / 65, handles,
 *    sdk7's allocator-size and queue-capacity texts at their boundaries, an
 *    older frame read by an SDK server;
 *  - queue file sizes per sizing rule against shaq2_sizes.json,
 *    shaq3_sizes.json and HANDSHAKE.md's examples;
 *  - replies: 5 + 2W descriptor counts, both rejection text kinds parsed into
 *    the server's numbers, and the mapping to a generation xsched speaks.
 * Run with a case name to run one case (CTest runs each as its own test).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

#include "hs_test.h"
#include "xsched/alloc.h"
#include "xsched/msg.h"
#include "xsched/spsc.h"

/* ----------------------------------------------- the spec tables as C */

/* HANDSHAKE.md s2.1: VERSION 1, 7 x u64, sizes in bytes */
struct spec_logon56 {
	uint64_t worker_count, allocator_size, allocator_handles;
	uint64_t tpu_to_pack_size, progress_tracker_size, pack_to_worker_size, worker_to_pack_size;
};
/* HANDSHAKE.md s2.2 / AGAVE_4X.md s3: VERSION 2 - 4 */
struct spec_logon64 {
	uint64_t worker_count, allocator_size, allocator_handles;
	uint64_t tpu_to_pack_capacity, progress_tracker_capacity, pack_to_worker_capacity,
		worker_to_pack_capacity;
	uint16_t flags;
};
/* LATER_VERSIONS.md s1.1: VERSION 5 */
struct spec_logon80 {
	uint64_t worker_count, allocator_size, allocator_handles;
	uint64_t tpu_to_pack_capacity, progress_tracker_capacity, pack_to_worker_capacity,
		worker_to_pack_capacity;
	uint16_t flags;
	uint64_t pack_to_check_worker_capacity, check_worker_to_pack_capacity;
};
/* HANDSHAKE_SDK.md s4, earlier layout (agave-sdk 4b28797b): sdk6 */
struct spec_logon88_f16 {
	uint64_t worker_count, check_worker_count, allocator_size, allocator_handles;
	uint64_t tpu_to_pack_capacity, progress_tracker_capacity, pack_to_worker_capacity,
		worker_to_pack_capacity;
	uint16_t flags;
	uint64_t pack_to_check_worker_capacity, check_worker_to_pack_capacity;
};
/* HANDSHAKE_SDK.md s4 (agave-sdk 1d705b20): sdk7 */
struct spec_logon88_f64 {
	uint64_t worker_count, check_worker_count, allocator_size, allocator_handles;
	uint64_t tpu_to_pack_capacity, progress_tracker_capacity, pack_to_worker_capacity,
		worker_to_pack_capacity, pack_to_check_worker_capacity,
		check_worker_to_pack_capacity, flags;
};
/* HANDSHAKE_SDK.md s3 */
struct spec_pv {
	uint64_t handshake, scheduler_bindings, shaq, rts_alloc;
};

#define SA(T, f, o) _Static_assert(offsetof(struct T, f) == (o), #T "." #f)
_Static_assert(sizeof(struct spec_logon56) == 56, "56");
SA(spec_logon56, allocator_size, 8);
SA(spec_logon56, allocator_handles, 16);
SA(spec_logon56, tpu_to_pack_size, 24);
SA(spec_logon56, progress_tracker_size, 32);
SA(spec_logon56, pack_to_worker_size, 40);
SA(spec_logon56, worker_to_pack_size, 48);
_Static_assert(sizeof(struct spec_logon64) == 64, "64");
SA(spec_logon64, tpu_to_pack_capacity, 24);
SA(spec_logon64, worker_to_pack_capacity, 48);
SA(spec_logon64, flags, 56);
_Static_assert(sizeof(struct spec_logon80) == 80, "80");
SA(spec_logon80, flags, 56);
SA(spec_logon80, pack_to_check_worker_capacity, 64);
SA(spec_logon80, check_worker_to_pack_capacity, 72);
_Static_assert(sizeof(struct spec_logon88_f16) == 88, "88 f16");
SA(spec_logon88_f16, check_worker_count, 8);
SA(spec_logon88_f16, allocator_size, 16);
SA(spec_logon88_f16, allocator_handles, 24);
SA(spec_logon88_f16, tpu_to_pack_capacity, 32);
SA(spec_logon88_f16, progress_tracker_capacity, 40);
SA(spec_logon88_f16, pack_to_worker_capacity, 48);
SA(spec_logon88_f16, worker_to_pack_capacity, 56);
SA(spec_logon88_f16, flags, 64);
SA(spec_logon88_f16, pack_to_check_worker_capacity, 72);
SA(spec_logon88_f16, check_worker_to_pack_capacity, 80);
_Static_assert(sizeof(struct spec_logon88_f64) == 88, "88 f64");
SA(spec_logon88_f64, check_worker_count, 8);
SA(spec_logon88_f64, tpu_to_pack_capacity, 32);
SA(spec_logon88_f64, worker_to_pack_capacity, 56);
SA(spec_logon88_f64, pack_to_check_worker_capacity, 64);
SA(spec_logon88_f64, check_worker_to_pack_capacity, 72);
SA(spec_logon88_f64, flags, 80);
_Static_assert(sizeof(struct spec_pv) == XS_HS_PV_SIZE, "pv");
SA(spec_pv, scheduler_bindings, 8);
SA(spec_pv, shaq, 16);
SA(spec_pv, rts_alloc, 24);
#undef SA

/* The row offsets must be these structs' offsets, field by field. */
#define OFFS(T, wc, cwc, as, ah, tpu, prog, p2w, w2p, p2c, c2p, fl)                           \
	{ offsetof(struct T, wc), cwc, offsetof(struct T, as), offsetof(struct T, ah),          \
	  offsetof(struct T, tpu), offsetof(struct T, prog), offsetof(struct T, p2w),             \
	  offsetof(struct T, w2p), p2c, c2p, fl }
static const unsigned spec_off[8][XS_LF_COUNT] = {
	[1] = OFFS(spec_logon56, worker_count, XS_LF_ABSENT, allocator_size, allocator_handles,
		   tpu_to_pack_size, progress_tracker_size, pack_to_worker_size, worker_to_pack_size,
		   XS_LF_ABSENT, XS_LF_ABSENT, XS_LF_ABSENT),
	[2] = OFFS(spec_logon64, worker_count, XS_LF_ABSENT, allocator_size, allocator_handles,
		   tpu_to_pack_capacity, progress_tracker_capacity, pack_to_worker_capacity,
		   worker_to_pack_capacity, XS_LF_ABSENT, XS_LF_ABSENT,
		   offsetof(struct spec_logon64, flags)),
	[5] = OFFS(spec_logon80, worker_count, XS_LF_ABSENT, allocator_size, allocator_handles,
		   tpu_to_pack_capacity, progress_tracker_capacity, pack_to_worker_capacity,
		   worker_to_pack_capacity, offsetof(struct spec_logon80, pack_to_check_worker_capacity),
		   offsetof(struct spec_logon80, check_worker_to_pack_capacity),
		   offsetof(struct spec_logon80, flags)),
	[6] = OFFS(spec_logon88_f16, worker_count,
		   offsetof(struct spec_logon88_f16, check_worker_count), allocator_size,
		   allocator_handles, tpu_to_pack_capacity, progress_tracker_capacity,
		   pack_to_worker_capacity, worker_to_pack_capacity,
		   offsetof(struct spec_logon88_f16, pack_to_check_worker_capacity),
		   offsetof(struct spec_logon88_f16, check_worker_to_pack_capacity),
		   offsetof(struct spec_logon88_f16, flags)),
	[7] = OFFS(spec_logon88_f64, worker_count,
		   offsetof(struct spec_logon88_f64, check_worker_count), allocator_size,
		   allocator_handles, tpu_to_pack_capacity, progress_tracker_capacity,
		   pack_to_worker_capacity, worker_to_pack_capacity,
		   offsetof(struct spec_logon88_f64, pack_to_check_worker_capacity),
		   offsetof(struct spec_logon88_f64, check_worker_to_pack_capacity),
		   offsetof(struct spec_logon88_f64, flags)),
};
#undef OFFS

/* ---------------------------------------------------------------- helpers */

static const struct xs_hs_proto *row(unsigned gen)
{
	const struct xs_hs_proto *p = xs_hs_proto_gen(gen);

	T_ASSERT(p != NULL, "(generation %u missing)", gen);
	return p;
}

static void put64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

/* A logon with every field distinct (items; flags and check fields only
 * where the generation has them). */
static struct xs_logon distinct(const struct xs_hs_proto *p)
{
	struct xs_logon lg = {
		.worker_count = 3, .allocator_size = 64ull << 20, .allocator_handles = 2,
		.tpu_to_pack_capacity = 4096, .progress_tracker_capacity = 128,
		.pack_to_worker_capacity = 512, .worker_to_pack_capacity = 1024,
		.units = XS_LOGON_ITEMS,
	};

	if (p->field_off[XS_LF_FLAGS] != XS_LF_ABSENT)
		lg.flags = 0x0102;
	if (p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT)
		lg.check_worker_count = 5;
	if (p->field_off[XS_LF_PACK_TO_CHECK_WORKER] != XS_LF_ABSENT) {
		lg.pack_to_check_worker_capacity = 1u << 18;
		lg.check_worker_to_pack_capacity = 1u << 19;
	}
	return lg;
}

static void expect_frame(const char *vector, const char *reason)
{
	size_t vlen;
	uint8_t *v = t_read_vector(vector, &vlen);
	uint8_t frame[2 + XS_HS_MAX_REASON];
	int n = xs_hs_encode_failure(reason, frame, sizeof(frame));

	T_EQ(n, vlen);
	T_BYTES(vector, frame, v, vlen);
	free(v);
}

/* Parse @p buf with server @p gen: refused with @p want and exactly @p text. */
static void expect_reject(const uint8_t *buf, size_t len, unsigned gen, int want, const char *text)
{
	struct xs_logon lg;
	char reason[XS_HS_MAX_REASON + 64];

	T_ERR(xs_hs_parse_logon(buf, len, row(gen)->version, &lg, reason, sizeof(reason)), want);
	T_ASSERT(strcmp(reason, text) == 0, "(gen %u: reason \"%s\" want \"%s\")", gen, reason, text);
}

/* The raw client of the vectors READMEs: u64 version, then @p n u64 fields,
 * zeros to 1024. */
static void raw_u64(uint8_t *b, uint64_t version, const uint64_t *f, int n)
{
	memset(b, 0, XS_HS_LOGON_BUF);
	put64(b, version);
	for (int i = 0; i < n; i++)
		put64(b + 8 + 8 * i, f[i]);
}

/* --------------------------------------------------------------- table */

static void t_table(void)
{
	static const unsigned gens[] = { 1, 2, 3, 4, 5, 6, 7 };
	const struct xs_hs_proto *p;
	const struct xs_hs_agave *ag;
	struct xs_logon lg;

	T_EQ(xs_hs_proto_count(), 7);
	T_ASSERT(!xs_hs_proto_at(7) && !xs_hs_proto_gen(0) && !xs_hs_proto_gen(8));
	for (size_t i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) {
		unsigned nobj, end = 0;

		p = xs_hs_proto_at(i);
		T_ASSERT(p && p->gen == gens[i] && xs_hs_proto_gen(gens[i]) == p);
		T_ASSERT(xs_hs_proto_get(p->version) == p);
		T_ASSERT(xs_hs_proto_by_name(p->name) == p && p->era && p->lines);
		T_ASSERT(xs_bindings_get(p->bindings) != NULL);
		T_ASSERT(p->confidence == XS_HS_READ || p->note != NULL);
		T_EQ(p->slab_size, 2u << 20);
		T_EQ(p->logon_off, p->wire == XS_HS_WIRE_PV ? 32 : 8);
		T_EQ(p->version, p->wire == XS_HS_WIRE_PV ? p->pv.handshake : p->gen);
		/* fields: 8 bytes each (flags: its width), inside the struct, in
		 * the order of the spec struct, no overlap */
		for (unsigned f = 0; f < XS_LF_COUNT; f++) {
			unsigned w = f == XS_LF_FLAGS ? p->flags_width : 8;

			if (p->field_off[f] == XS_LF_ABSENT) {
				T_ASSERT(f != XS_LF_WORKER_COUNT && f != XS_LF_ALLOCATOR_SIZE);
				T_ASSERT(!xs_hs_logon_field_name(p, f));
				continue;
			}
			T_ASSERT(p->field_off[f] + w <= p->logon_size);
			T_ASSERT(xs_hs_logon_field_name(p, f) != NULL);
			end += w;
		}
		T_ASSERT(end <= p->logon_size);
		T_EQ(p->has_flags, p->flags_width != 0);
		/* objects: the allocator, then queues in descriptor order */
		nobj = p->nglobal + 2;
		T_ASSERT(p->nglobal == 3 || p->nglobal == 5);
		T_EQ(p->objects[0].obj, XS_HS_OBJ_ALLOCATOR);
		T_EQ(p->objects[1].obj, XS_HS_OBJ_TPU_TO_PACK);
		T_EQ(p->objects[2].obj, XS_HS_OBJ_PROGRESS_TRACKER);
		T_EQ(p->objects[2].huge, 0); /* progress_tracker never huge */
		T_EQ(p->objects[nobj - 2].obj, XS_HS_OBJ_PACK_TO_WORKER);
		T_EQ(p->objects[nobj - 1].obj, XS_HS_OBJ_WORKER_TO_PACK);
		T_EQ(p->objects[nobj - 2].server_role, XS_SPSC_CONSUMER);
		for (unsigned o = 1; o < nobj; o++) {
			const struct xs_hs_object *ob = &p->objects[o];

			/* element sizes are the bindings table's */
			T_EQ(ob->elem_size, xs_bindings_get(p->bindings)->size[ob->msg]);
			T_ASSERT(p->field_off[ob->field] != XS_LF_ABSENT);
			T_EQ(ob->kind, ob->obj == XS_HS_OBJ_PACK_TO_CHECK_WORKER ||
					       ob->obj == XS_HS_OBJ_CHECK_WORKER_TO_PACK
				       ? XS_SHAQ_MPMC : XS_SHAQ_SPSC);
		}
		if (p->nglobal == 5) {
			T_EQ(p->objects[3].obj, XS_HS_OBJ_PACK_TO_CHECK_WORKER);
			T_EQ(p->objects[3].server_role, XS_SPSC_CONSUMER);
			T_EQ(p->objects[4].obj, XS_HS_OBJ_CHECK_WORKER_TO_PACK);
			T_EQ(p->objects[4].server_role, XS_SPSC_PRODUCER);
		}
		/* descriptor order and counts */
		T_EQ(xs_hs_proto_fds(p, 0), 0);
		T_EQ(xs_hs_proto_fds(p, 65), 0);
		T_EQ(xs_hs_proto_fds(p, 1), p->nglobal + 2u);
		T_ASSERT(xs_hs_proto_fds(p, 64) <= XS_HS_MAX_FDS);
		T_ASSERT(xs_hs_proto_object(p, p->nglobal + 2 * 63 + 1)->obj == XS_HS_OBJ_WORKER_TO_PACK);
		T_ASSERT(xs_hs_proto_object(p, p->nglobal + 4)->obj == XS_HS_OBJ_PACK_TO_WORKER);
		T_ASSERT(!xs_hs_proto_object(p, p->nglobal + 128));
	}
	T_EQ(xs_hs_proto_fds(row(5), 64), XS_HS_MAX_FDS);
	T_EQ(XS_HS_MAX_FDS, 133);
	T_EQ(xs_hs_proto_fds(row(4), 64), 131);

	/* what each row says (the README table) */
	p = row(1);
	T_ASSERT(p->units == XS_LOGON_BYTES && p->sizing == XS_HS_SIZE_BYTES && !p->huge_first &&
		 !p->round_pages && p->shaq == XS_SHAQ_0_2 && p->alloc_format == XS_ALLOC_FMT_0_2 &&
		 p->alloc_join == XS_HS_JOIN_INDEX && p->bindings == XS_BIND_3_1 &&
		 p->logon_layout == XS_LOGON_L56);
	p = row(2);
	T_ASSERT(p->sizing == XS_HS_SIZE_LINEAR && p->shaq == XS_SHAQ_1_0 &&
		 p->logon_flags == XS_LOGON_REROUTE_VOTES && p->bindings == XS_BIND_V2);
	p = row(3);
	T_ASSERT(p->sizing == XS_HS_SIZE_LINEAR && p->shaq == XS_SHAQ_1_0 && !p->logon_flags &&
		 p->alloc_format == XS_ALLOC_FMT_2_0 && p->alloc_join == XS_HS_JOIN_INDEX &&
		 p->bindings == XS_BIND_V3);
	p = row(4);
	T_ASSERT(p->sizing == XS_HS_SIZE_POW2 && p->shaq == XS_SHAQ_2_0 &&
		 p->alloc_format == XS_ALLOC_FMT_3_0 && p->alloc_join == XS_HS_JOIN_CLAIM &&
		 p->nglobal == 3 && p->logon_layout == XS_LOGON_L64);
	p = row(5);
	T_ASSERT(p->nglobal == 5 && p->logon_layout == XS_LOGON_L80 && p->shaq == XS_SHAQ_2_0 &&
		 p->checks == (XS_HS_CHECK_WORKERS | XS_HS_CHECK_HANDLES) && !p->alloc_check_slots);
	p = row(6);
	T_ASSERT(p->wire == XS_HS_WIRE_PV && p->logon_layout == XS_LOGON_L88_F16 &&
		 p->flags_width == 2 && p->pv.handshake == 6 && p->pv.scheduler_bindings == 6 &&
		 p->pv.shaq == 196608 && p->pv.rts_alloc == 262144 &&
		 p->checks == (XS_HS_CHECK_WORKERS | XS_HS_CHECK_CHECK_WORKERS | XS_HS_CHECK_HANDLES) &&
		 p->confidence == XS_HS_INFERRED && p->shaq == XS_SHAQ_3_0 &&
		 p->alloc_format == XS_ALLOC_FMT_4_0 && p->bindings == XS_BIND_6);
	p = row(7);
	T_ASSERT(p->wire == XS_HS_WIRE_PV && p->logon_layout == XS_LOGON_L88_F64 &&
		 p->flags_width == 8 && p->pv.handshake == 7 &&
		 (p->checks & XS_HS_CHECK_CAPACITIES) && (p->checks & XS_HS_CHECK_ALLOC_SIZE) &&
		 p->confidence == XS_HS_INFERRED);
	/* every row has sessions in this build (test_hs_rows) */
	for (unsigned g = 1; g <= 7; g++)
		T_EQ(row(g)->sessions, 1);

	/* allocator slots */
	lg = distinct(row(7));
	T_EQ(xs_hs_alloc_min_workers(row(7), &lg), 1 + 3 + 5 + 2);
	T_EQ(xs_hs_client_first_slot(row(7), &lg), 1 + 5 + 3);
	T_EQ(xs_hs_alloc_min_workers(row(4), &lg), 1 + 3 + 2);
	T_EQ(xs_hs_client_first_slot(row(2), &lg), 1 + 3);

	/* lookups and the tools' parsers */
	T_ASSERT(xs_hs_proto_by_name("v3") == row(3) && xs_hs_proto_by_name("SDK7") == row(7));
	T_ASSERT(!xs_hs_proto_by_name("6") && !xs_hs_proto_by_name("vsdk6") &&
		 !xs_hs_proto_by_name("") && !xs_hs_proto_by_name(NULL));
	T_OK(xs_hs_parse_protocol("sdk6", &p));
	T_ASSERT(p == row(6));
	T_OK(xs_hs_parse_protocol("5", &p));
	T_ASSERT(p == row(5));
	T_ERR(xs_hs_parse_protocol("sdk8", &p), -EINVAL);
	T_ASSERT(strstr(xs_errmsg(), "sdk7") != NULL);
	T_ERR(xs_hs_parse_protocol("0", &p), -EINVAL);
	{
		static const struct {
			const char *line;
			unsigned gen, alt, bindings;
		} lines[] = {
			{ "3.1", 1, 0, XS_BIND_3_1 },    { "4.0", 3, 0, XS_BIND_V3 },
			{ "4.1", 4, 0, XS_BIND_V4 },     { "4.2", 4, 0, XS_BIND_V4 },
			{ "4.3", 4, 5, XS_BIND_5 },      { "4.4", 7, 6, XS_BIND_6 },
			{ "v4.2.2", 4, 0, XS_BIND_V4 },  { "4.3.1", 4, 5, XS_BIND_5 },
			{ "4.4.x", 7, 6, XS_BIND_6 },    { "3.1.13", 1, 0, XS_BIND_3_1 },
		};

		for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			T_OK(xs_hs_parse_agave(lines[i].line, &ag));
			T_ASSERT(ag->proto == row(lines[i].gen), "(%s)", lines[i].line);
			T_ASSERT(lines[i].alt ? ag->alt == row(lines[i].alt) : ag->alt == NULL);
			/* a note exactly where the spec leaves the line open */
			T_ASSERT(lines[i].alt ? ag->note != NULL : 1);
			T_EQ(ag->bindings, lines[i].bindings);
			T_EQ(ag->shaq, ag->proto->shaq);
			T_EQ(ag->alloc_format, ag->proto->alloc_format);
			T_ASSERT(ag->verified && ag->releases);
		}
		T_ASSERT(strstr(row(7)->note, "inferred") && strstr(row(6)->note, "inferred"));
		T_ERR(xs_hs_parse_agave("4.5", &ag), -EINVAL);
		T_ERR(xs_hs_parse_agave("4.", &ag), -EINVAL);
		T_ERR(xs_hs_parse_agave("4.31", &ag), -EINVAL);
		T_ERR(xs_hs_parse_agave(NULL, &ag), -EINVAL);
	}
}

/* ------------------------------------------------- logons from the spec */

/* The frame of generation @p gen for @p lg, from the spec structs. */
static void spec_frame(unsigned gen, const struct xs_logon *lg, uint8_t *b)
{
	const struct xs_hs_proto *p = row(gen);

	memset(b, 0, XS_HS_LOGON_BUF);
	if (p->wire == XS_HS_WIRE_PV) {
		struct spec_pv pv = { p->pv.handshake, 6, 196608, 262144 };

		memcpy(b, &pv, sizeof(pv));
	} else {
		put64(b, gen);
	}
	switch (gen) {
	case 1: {
		struct spec_logon56 s = {
			lg->worker_count, lg->allocator_size, lg->allocator_handles,
			xs_spsc_min_file_size(lg->tpu_to_pack_capacity, 40, 8),
			xs_spsc_min_file_size(lg->progress_tracker_capacity, 48, 8),
			xs_spsc_min_file_size(lg->pack_to_worker_capacity, 32, 8),
			xs_spsc_min_file_size(lg->worker_to_pack_capacity, 40, 8),
		};

		memcpy(b + 8, &s, sizeof(s));
		break;
	}
	case 2: case 3: case 4: {
		struct spec_logon64 s;

		memset(&s, 0, sizeof(s));
		s.worker_count = lg->worker_count;
		s.allocator_size = lg->allocator_size;
		s.allocator_handles = lg->allocator_handles;
		s.tpu_to_pack_capacity = lg->tpu_to_pack_capacity;
		s.progress_tracker_capacity = lg->progress_tracker_capacity;
		s.pack_to_worker_capacity = lg->pack_to_worker_capacity;
		s.worker_to_pack_capacity = lg->worker_to_pack_capacity;
		s.flags = (uint16_t)lg->flags;
		memcpy(b + 8, &s, sizeof(s));
		break;
	}
	case 5: {
		struct spec_logon80 s;

		memset(&s, 0, sizeof(s));
		s.worker_count = lg->worker_count;
		s.allocator_size = lg->allocator_size;
		s.allocator_handles = lg->allocator_handles;
		s.tpu_to_pack_capacity = lg->tpu_to_pack_capacity;
		s.progress_tracker_capacity = lg->progress_tracker_capacity;
		s.pack_to_worker_capacity = lg->pack_to_worker_capacity;
		s.worker_to_pack_capacity = lg->worker_to_pack_capacity;
		s.flags = (uint16_t)lg->flags;
		s.pack_to_check_worker_capacity = lg->pack_to_check_worker_capacity;
		s.check_worker_to_pack_capacity = lg->check_worker_to_pack_capacity;
		memcpy(b + 8, &s, sizeof(s));
		break;
	}
	case 6: {
		struct spec_logon88_f16 s;

		memset(&s, 0, sizeof(s));
		s.worker_count = lg->worker_count;
		s.check_worker_count = lg->check_worker_count;
		s.allocator_size = lg->allocator_size;
		s.allocator_handles = lg->allocator_handles;
		s.tpu_to_pack_capacity = lg->tpu_to_pack_capacity;
		s.progress_tracker_capacity = lg->progress_tracker_capacity;
		s.pack_to_worker_capacity = lg->pack_to_worker_capacity;
		s.worker_to_pack_capacity = lg->worker_to_pack_capacity;
		s.flags = (uint16_t)lg->flags;
		s.pack_to_check_worker_capacity = lg->pack_to_check_worker_capacity;
		s.check_worker_to_pack_capacity = lg->check_worker_to_pack_capacity;
		memcpy(b + 32, &s, sizeof(s));
		break;
	}
	default: {
		struct spec_logon88_f64 s = {
			lg->worker_count, lg->check_worker_count, lg->allocator_size,
			lg->allocator_handles, lg->tpu_to_pack_capacity, lg->progress_tracker_capacity,
			lg->pack_to_worker_capacity, lg->worker_to_pack_capacity,
			lg->pack_to_check_worker_capacity, lg->check_worker_to_pack_capacity, lg->flags,
		};

		memcpy(b + 32, &s, sizeof(s));
		break;
	}
	}
}

static void t_spec_layouts(void)
{
	static uint8_t want[XS_HS_LOGON_BUF], got[XS_HS_LOGON_BUF];

	for (unsigned gen = 1; gen <= 7; gen++) {
		const struct xs_hs_proto *p = row(gen);
		const unsigned *so = spec_off[gen == 3 || gen == 4 ? 2 : gen];
		struct xs_logon lg = distinct(p), back;
		char reason[80], what[40];

		for (unsigned f = 0; f < XS_LF_COUNT; f++)
			T_EQ(p->field_off[f], so[f]);
		if (gen == 7)
			lg.flags = 0x0102030405060708ull; /* all 8 bytes on the wire */
		spec_frame(gen, &lg, want);
		T_EQ(xs_hs_encode_logon(p->version, &lg, got), XS_HS_LOGON_BUF);
		snprintf(what, sizeof(what), "logon of generation %s", p->name);
		T_BYTES(what, got, want, XS_HS_LOGON_BUF);
		T_OK(xs_hs_parse_logon(got, sizeof(got), p->version, &back, reason, sizeof(reason)));
		T_EQ(reason[0], 0);
		T_EQ(back.units, p->units);
		T_EQ(back.worker_count, lg.worker_count);
		T_EQ(back.allocator_handles, lg.allocator_handles);
		T_EQ(back.check_worker_count, lg.check_worker_count);
		T_EQ(back.flags, lg.flags);
		T_EQ(back.pack_to_check_worker_capacity, lg.pack_to_check_worker_capacity);
		T_EQ(back.check_worker_to_pack_capacity, lg.check_worker_to_pack_capacity);
		if (p->units == XS_LOGON_ITEMS)
			T_EQ(back.tpu_to_pack_capacity, lg.tpu_to_pack_capacity);
		else
			T_EQ(back.tpu_to_pack_capacity, 192 + 4096ull * 40);
		/* the field that does not exist here is refused, never dropped */
		if (p->field_off[XS_LF_CHECK_WORKER_COUNT] == XS_LF_ABSENT) {
			lg.check_worker_count = 1;
			T_ERR(xs_hs_encode_logon(p->version, &lg, got), -XS_EHS_LOGON);
			lg.check_worker_count = 0;
		}
		if (p->field_off[XS_LF_PACK_TO_CHECK_WORKER] == XS_LF_ABSENT) {
			lg.check_worker_to_pack_capacity = 8;
			T_ERR(xs_hs_encode_logon(p->version, &lg, got), -XS_EHS_LOGON);
			lg.check_worker_to_pack_capacity = 0;
		}
		if (p->flags_width == 2) {
			lg.flags = 0x10000;
			T_ERR(xs_hs_encode_logon(p->version, &lg, got), -XS_EHS_LOGON);
		}
	}
}

/* ----------------------------------------------------------- VERSION 1 */

static void t_v1_logons(void)
{
	struct xs_logon sizes = { .worker_count = 2, .allocator_size = 16777216,
				  .allocator_handles = 1, .tpu_to_pack_capacity = 512,
				  .progress_tracker_capacity = 384, .pack_to_worker_capacity = 320,
				  .worker_to_pack_capacity = 352, .units = XS_LOGON_BYTES };
	struct xs_logon items = sizes, distinct_v1 = {
		.worker_count = 0x11, .allocator_size = 0x0102030405060708ull,
		.allocator_handles = 0x21, .tpu_to_pack_capacity = 0x31323334,
		.progress_tracker_capacity = 0x41, .pack_to_worker_capacity = 0x51,
		.worker_to_pack_capacity = 0x61, .units = XS_LOGON_BYTES };
	uint8_t buf[XS_HS_LOGON_BUF];
	size_t len, jlen;
	uint8_t *v;
	char *j;

	/* byte sizes as given */
	v = t_read_vector("v1/logon_v1_w2_16MiB_h1.bin", &len);
	T_EQ(len, XS_HS_LOGON_BUF);
	th_encode(1, &sizes, buf);
	T_BYTES("logon_v1_w2_16MiB_h1.bin", buf, v, len);
	/* capacities 8/4/4/4 become those sizes (shaq 0.2.0 minimum_file_size) */
	items.units = XS_LOGON_ITEMS;
	items.tpu_to_pack_capacity = 8;
	items.progress_tracker_capacity = 4;
	items.pack_to_worker_capacity = 4;
	items.worker_to_pack_capacity = 4;
	th_encode(1, &items, buf);
	T_BYTES("logon_v1_w2_16MiB_h1.bin (from capacities)", buf, v, len);
	free(v);
	v = t_read_vector("v1/logon_v1_distinct_field_values.bin", &len);
	th_encode(1, &distinct_v1, buf);
	T_BYTES("logon_v1_distinct_field_values.bin", buf, v, len);
	free(v);

	/* the ClientLogon of layout_rust_v1.json */
	j = (char *)t_read_vector("v1/layout_rust_v1.json", &jlen);
	j = realloc(j, jlen + 1);
	T_ASSERT(j);
	j[jlen] = '\0';
	T_EQ(th_json_num(j, "\"ClientLogon\"", "size", 0), row(1)->logon_size);
	for (unsigned f = 0; f < XS_LF_COUNT; f++) {
		const char *name = xs_hs_logon_field_name(row(1), f);

		if (name)
			T_EQ(th_json_num(j, "\"ClientLogon\"", name, 0), row(1)->field_off[f]);
	}
	free(j);
}

static void t_v1_rejections(void)
{
	const uint64_t base[7] = { 2, 16ull << 20, 1, 512, 384, 320, 352 };
	uint64_t f[7];
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon lg;
	char reason[XS_HS_MAX_REASON + 1];

	raw_u64(buf, 2, base, 7);
	expect_reject(buf, sizeof(buf), 1, -XS_EHS_VERSION, "Version; server=1; client=2");
	expect_frame("v1/fail_v1_version_client2.bin", "Version; server=1; client=2");

	memcpy(f, base, sizeof(f));
	f[0] = 0;
	raw_u64(buf, 1, f, 7);
	expect_reject(buf, sizeof(buf), 1, -XS_EHS_WORKER_COUNT, "Worker count; count=0");
	expect_frame("v1/fail_v1_worker_count_0.bin", "Worker count; count=0");

	memcpy(f, base, sizeof(f));
	f[2] = 129;
	raw_u64(buf, 1, f, 7);
	expect_reject(buf, sizeof(buf), 1, -XS_EHS_ALLOC_HANDLES, "Allocator handles; count=129");
	expect_frame("v1/fail_v1_allocator_handles_129.bin", "Allocator handles; count=129");

	/* accepted by the checks, refused by queue creation (shaq 0.2.0: 100
	 * bytes is less than the 192-byte header) */
	memcpy(f, base, sizeof(f));
	f[0] = 1;
	f[3] = 100;
	raw_u64(buf, 1, f, 7);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), 1, &lg, reason, sizeof(reason)));
	T_EQ(lg.tpu_to_pack_capacity, 100);
	T_ERR(xs_hs_logon_check_queues(row(1), &lg, reason, sizeof(reason)), -XS_EHS_QUEUE);
	T_ASSERT(!strcmp(reason, "Shaq; err=InvalidBufferSize"), "(%s)", reason);
	expect_frame("v1/fail_v1_queue_size_too_small.bin", reason);
	/* the same rule: header + one item is the smallest queue; an item short fails */
	lg.tpu_to_pack_capacity = 192 + 40;
	T_OK(xs_hs_logon_check_queues(row(1), &lg, reason, sizeof(reason)));
	lg.worker_to_pack_capacity = 192 + 39;
	T_ERR(xs_hs_logon_check_queues(row(1), &lg, reason, sizeof(reason)), -XS_EHS_QUEUE);

	memcpy(f, base, sizeof(f));
	f[0] = 1;
	raw_u64(buf, 1, f, 7);
	expect_reject(buf, 100, 1, -XS_EHS_EOF, "Close during handshake");
	expect_frame("v1/fail_v1_eof_after_100_bytes.bin", "Close during handshake");
}

/* ----------------------------------------------------------- VERSION 4 */

static void check_v4_logon(const char *name, const struct xs_logon *lg)
{
	static const size_t mask[] = { 66, 71 };
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon back;
	size_t len;
	uint8_t *v = t_read_vector(name, &len);
	char reason[80];

	T_EQ(len, XS_HS_LOGON_BUF);
	th_encode(4, lg, buf);
	T_BYTES_MASKED(name, buf, v, len, mask, 1);
	for (int i = 66; i <= 71; i++)
		T_EQ(buf[i], 0);
	if (lg->worker_count <= 64) {
		T_OK(xs_hs_parse_logon(v, len, 4, &back, reason, sizeof(reason)));
		T_EQ(back.flags, lg->flags);
		T_EQ(back.worker_to_pack_capacity, lg->worker_to_pack_capacity);
	}
	free(v);
}

static void t_v4_logons(void)
{
	struct xs_logon l1 = { .worker_count = 4, .allocator_size = 64ull << 20,
			       .allocator_handles = 1, .tpu_to_pack_capacity = 1024,
			       .progress_tracker_capacity = 1024, .pack_to_worker_capacity = 1024,
			       .worker_to_pack_capacity = 1024, .units = XS_LOGON_ITEMS };
	struct xs_logon l2 = { .worker_count = 1, .allocator_size = 16ull << 20,
			       .allocator_handles = 2, .tpu_to_pack_capacity = 65536,
			       .progress_tracker_capacity = 256, .pack_to_worker_capacity = 128,
			       .worker_to_pack_capacity = 256, .units = XS_LOGON_ITEMS };
	struct xs_logon l3 = { .worker_count = 0x11, .allocator_size = 0x0102030405060708ull,
			       .allocator_handles = 0x21, .tpu_to_pack_capacity = 0x31323334,
			       .progress_tracker_capacity = 0x41, .pack_to_worker_capacity = 0x51,
			       .worker_to_pack_capacity = 0x61, .flags = 0x7172,
			       .units = XS_LOGON_ITEMS };
	size_t jlen;
	char *j;

	check_v4_logon("v4/logon4_L1_w4_64MiB_h1_cap1024.bin", &l1);
	check_v4_logon("v4/logon4_L2_w1_16MiB_h2_mixed_caps.bin", &l2);
	check_v4_logon("v4/logon4_L3_distinct_field_values.bin", &l3);

	j = (char *)t_read_vector("v4/layout4_rust.json", &jlen);
	j = realloc(j, jlen + 1);
	T_ASSERT(j);
	j[jlen] = '\0';
	T_EQ(th_json_num(j, "\"ClientLogon\"", "size", 0), row(4)->logon_size);
	for (unsigned f = 0; f < XS_LF_COUNT; f++) {
		const char *name = xs_hs_logon_field_name(row(4), f);

		if (name)
			T_EQ(th_json_num(j, "\"ClientLogon\"", name, 0), row(4)->field_off[f]);
	}
	T_EQ(th_json_num(j, "\"constants\"", "handshake::MAX_WORKERS", 0), XS_HS_MAX_WORKERS);
	free(j);
}

static void t_v4_rejections(void)
{
	const uint64_t base[8] = { 4, 64ull << 20, 1, 1024, 1024, 1024, 1024, 0 };
	uint64_t f[8];
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon lg = { .worker_count = 4, .allocator_size = 64ull << 20,
			       .allocator_handles = 1, .tpu_to_pack_capacity = 1024,
			       .progress_tracker_capacity = 1024, .pack_to_worker_capacity = 1024,
			       .worker_to_pack_capacity = 1024, .units = XS_LOGON_ITEMS };
	static const struct {
		int field;
		uint64_t value;
		int want;
		const char *text, *vector;
	} cases[] = {
		{ 0, 0, -XS_EHS_WORKER_COUNT, "Worker count; count=0", "v4/fail4_worker_count_0.bin" },
		{ 0, 65, -XS_EHS_WORKER_COUNT, "Worker count; count=65", "v4/fail4_worker_count_65.bin" },
		{ 2, 0, -XS_EHS_ALLOC_HANDLES, "Allocator handles; count=0",
		  "v4/fail4_allocator_handles_0.bin" },
		{ 2, 129, -XS_EHS_ALLOC_HANDLES, "Allocator handles; count=129",
		  "v4/fail4_allocator_handles_129.bin" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(f, base, sizeof(f));
		f[cases[i].field] = cases[i].value;
		raw_u64(buf, 4, f, 8);
		expect_reject(buf, sizeof(buf), 4, cases[i].want, cases[i].text);
		expect_frame(cases[i].vector, cases[i].text);
	}
	/* a VERSION 3 and a VERSION 5 client as this encoder builds them */
	th_encode(3, &lg, buf);
	expect_reject(buf, sizeof(buf), 4, -XS_EHS_VERSION, "Version; server=4; client=3");
	expect_frame("v4/fail4_version_client3.bin", "Version; server=4; client=3");
	lg.pack_to_check_worker_capacity = 256;
	lg.check_worker_to_pack_capacity = 256;
	th_encode(5, &lg, buf);
	expect_reject(buf, sizeof(buf), 4, -XS_EHS_VERSION, "Version; server=4; client=5");
	expect_frame("v4/fail4_version_client5.bin", "Version; server=4; client=5");
	raw_u64(buf, 4, base, 8);
	expect_reject(buf, 100, 4, -XS_EHS_EOF, "Close during handshake");
	expect_frame("v4/fail4_eof_after_100_bytes.bin", "Close during handshake");
	/* and the other way round: VERSION 4 to a VERSION 5 server */
	lg.pack_to_check_worker_capacity = 0;
	lg.check_worker_to_pack_capacity = 0;
	th_encode(4, &lg, buf);
	expect_reject(buf, sizeof(buf), 5, -XS_EHS_VERSION, "Version; server=5; client=4");
}

/* ----------------------------------------------------- hostile, per row */

/* A valid frame of @p gen with @p lg's values, then one u64 field set. */
static void frame_with(unsigned gen, unsigned field, uint64_t value, uint8_t *buf)
{
	const struct xs_hs_proto *p = row(gen);
	struct xs_logon lg = distinct(p);

	th_encode(p->version, &lg, buf);
	put64(buf + p->logon_off + p->field_off[field], value);
}

static void t_hostile_counts(void)
{
	uint8_t buf[XS_HS_LOGON_BUF];
	char text[96];

	for (unsigned gen = 1; gen <= 7; gen++) {
		const struct xs_hs_proto *p = row(gen);
		struct xs_logon lg;
		char reason[80];

		/* short frames, whatever their content */
		frame_with(gen, XS_LF_WORKER_COUNT, 3, buf);
		expect_reject(buf, 0, gen, -XS_EHS_EOF, "Close during handshake");
		expect_reject(buf, p->logon_off + p->logon_size, gen, -XS_EHS_EOF,
			      "Close during handshake");
		expect_reject(buf, XS_HS_LOGON_BUF - 1, gen, -XS_EHS_EOF, "Close during handshake");
		T_ERR(xs_hs_parse_logon(NULL, 5, p->version, &lg, NULL, 0), -XS_EHS_EOF);
		/* the unused tail is ignored */
		memset(buf + p->logon_off + p->logon_size, 0xee,
		       XS_HS_LOGON_BUF - p->logon_off - p->logon_size);
		T_OK(xs_hs_parse_logon(buf, sizeof(buf), p->version, &lg, reason, sizeof(reason)));

		for (unsigned k = 0; k < 2; k++) {
			uint64_t v = k ? 65 : 0;

			frame_with(gen, XS_LF_WORKER_COUNT, v, buf);
			snprintf(text, sizeof(text), "Worker count; count=%llu", (unsigned long long)v);
			expect_reject(buf, sizeof(buf), gen, -XS_EHS_WORKER_COUNT, text);
			frame_with(gen, XS_LF_ALLOCATOR_HANDLES, k ? 129 : 0, buf);
			snprintf(text, sizeof(text), "Allocator handles; count=%u", k ? 129 : 0);
			expect_reject(buf, sizeof(buf), gen, -XS_EHS_ALLOC_HANDLES, text);
			if (p->field_off[XS_LF_CHECK_WORKER_COUNT] == XS_LF_ABSENT)
				continue;
			frame_with(gen, XS_LF_CHECK_WORKER_COUNT, v, buf);
			snprintf(text, sizeof(text), "Check worker count; count=%llu",
				 (unsigned long long)v);
			expect_reject(buf, sizeof(buf), gen, -XS_EHS_CHECK_WORKER_COUNT, text);
		}
		/* the upper bounds are accepted */
		frame_with(gen, XS_LF_WORKER_COUNT, 64, buf);
		put64(buf + p->logon_off + p->field_off[XS_LF_ALLOCATOR_HANDLES], 128);
		if (p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT)
			put64(buf + p->logon_off + p->field_off[XS_LF_CHECK_WORKER_COUNT], 64);
		T_OK(xs_hs_parse_logon(buf, sizeof(buf), p->version, &lg, reason, sizeof(reason)));
		/* order: workers before check workers before handles */
		frame_with(gen, XS_LF_WORKER_COUNT, 0, buf);
		put64(buf + p->logon_off + p->field_off[XS_LF_ALLOCATOR_HANDLES], 0);
		expect_reject(buf, sizeof(buf), gen, -XS_EHS_WORKER_COUNT, "Worker count; count=0");
		if (p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT) {
			frame_with(gen, XS_LF_CHECK_WORKER_COUNT, 0, buf);
			put64(buf + p->logon_off + p->field_off[XS_LF_ALLOCATOR_HANDLES], 0);
			expect_reject(buf, sizeof(buf), gen, -XS_EHS_CHECK_WORKER_COUNT,
				      "Check worker count; count=0");
		}
	}
}

static void t_hostile_versions(void)
{
	const struct xs_hs_proto *p7 = row(7);
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon lg = distinct(row(2));

	/* garbage ProtocolVersions: every number reported as read */
	frame_with(7, XS_LF_WORKER_COUNT, 3, buf);
	put64(buf + 16, 196609); /* shaq format 3.1 */
	expect_reject(buf, sizeof(buf), 7, -XS_EHS_VERSION,
		      "Version; server=(handshake=7, scheduler-bindings=6, shaq=196608, "
		      "rts-alloc=262144); client=(handshake=7, scheduler-bindings=6, shaq=196609, "
		      "rts-alloc=262144)");
	memset(buf, 0xff, 32);
	expect_reject(buf, sizeof(buf), 6, -XS_EHS_VERSION,
		      "Version; server=(handshake=6, scheduler-bindings=6, shaq=196608, "
		      "rts-alloc=262144); client=(handshake=18446744073709551615, "
		      "scheduler-bindings=18446744073709551615, shaq=18446744073709551615, "
		      "rts-alloc=18446744073709551615)");
	/* version first: a bad ProtocolVersions hides bad counts */
	put64(buf + 32, 0);
	expect_reject(buf, sizeof(buf), 7, -XS_EHS_VERSION,
		      "Version; server=(handshake=7, scheduler-bindings=6, shaq=196608, "
		      "rts-alloc=262144); client=(handshake=18446744073709551615, "
		      "scheduler-bindings=18446744073709551615, shaq=18446744073709551615, "
		      "rts-alloc=18446744073709551615)");
	/* sdk6 and sdk7 refuse each other */
	frame_with(6, XS_LF_WORKER_COUNT, 3, buf);
	expect_reject(buf, sizeof(buf), 7, -XS_EHS_VERSION,
		      "Version; server=(handshake=7, scheduler-bindings=6, shaq=196608, "
		      "rts-alloc=262144); client=(handshake=6, scheduler-bindings=6, shaq=196608, "
		      "rts-alloc=262144)");
	/* an older frame to an SDK server: its u64 VERSION is the handshake
	 * number and its first logon fields (worker_count, allocator_size,
	 * allocator_handles) are read as the other three numbers */
	th_encode(2, &lg, buf);
	expect_reject(buf, sizeof(buf), 7, -XS_EHS_VERSION,
		      "Version; server=(handshake=7, scheduler-bindings=6, shaq=196608, "
		      "rts-alloc=262144); client=(handshake=2, scheduler-bindings=3, shaq=67108864, "
		      "rts-alloc=2)");
	/* an SDK frame to an older server: "client" is its handshake number */
	frame_with(7, XS_LF_WORKER_COUNT, 3, buf);
	expect_reject(buf, sizeof(buf), 4, -XS_EHS_VERSION, "Version; server=4; client=7");
	frame_with(6, XS_LF_WORKER_COUNT, 3, buf);
	expect_reject(buf, sizeof(buf), 1, -XS_EHS_VERSION, "Version; server=1; client=6");
	/* a server that is not in the table */
	T_ERR(xs_hs_parse_logon(buf, sizeof(buf), 8, &lg, NULL, 0), -EINVAL);
	(void)p7;
}

static void t_hostile_sizes(void)
{
	/* sdk7 only (sdk6 has no ClientLogon::validate) */
	static const struct {
		unsigned field;
		uint64_t ok, bad; /* largest accepted capacity, smallest refused */
	} caps[] = {
		/* next_pow2(c) x size + header, rounded to 2 MiB (4 KiB for
		 * progress), must fit isize: 40-byte messages to 2^57 items,
		 * 96-byte progress to 2^56, 24-byte check requests to 2^58 */
		{ XS_LF_TPU_TO_PACK, 1ull << 57, (1ull << 57) + 1 },
		{ XS_LF_PROGRESS_TRACKER, 1ull << 56, (1ull << 56) + 1 },
		{ XS_LF_PACK_TO_WORKER, 1ull << 57, (1ull << 57) + 1 },
		{ XS_LF_WORKER_TO_PACK, 1ull << 57, (1ull << 57) + 1 },
		{ XS_LF_PACK_TO_CHECK_WORKER, 1ull << 58, (1ull << 58) + 1 },
		{ XS_LF_CHECK_WORKER_TO_PACK, 1ull << 57, (1ull << 57) + 1 },
	};
	const struct xs_hs_proto *p = row(7);
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon lg;
	char text[160], reason[160];
	const uint64_t amax = 0x7FFFFFFFFFE00000ull; /* isize::MAX rounded down to 2 MiB */

	frame_with(7, XS_LF_ALLOCATOR_SIZE, amax, buf);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), 7, &lg, reason, sizeof(reason)));
	frame_with(7, XS_LF_ALLOCATOR_SIZE, amax + 1, buf);
	expect_reject(buf, sizeof(buf), 7, -XS_EHS_ALLOC_SIZE,
		      "Allocator size cannot be represented; size=9223372036852678657");
	frame_with(7, XS_LF_ALLOCATOR_SIZE, UINT64_MAX, buf);
	expect_reject(buf, sizeof(buf), 7, -XS_EHS_ALLOC_SIZE,
		      "Allocator size cannot be represented; size=18446744073709551615");
	/* sdk6 and VERSION 5 do not check it (creation fails later) */
	frame_with(6, XS_LF_ALLOCATOR_SIZE, UINT64_MAX, buf);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), 6, &lg, reason, sizeof(reason)));
	frame_with(5, XS_LF_TPU_TO_PACK, UINT64_MAX, buf);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), 5, &lg, reason, sizeof(reason)));

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		const char *name = xs_hs_logon_field_name(p, caps[i].field);

		frame_with(7, caps[i].field, caps[i].ok, buf);
		T_OK(xs_hs_parse_logon(buf, sizeof(buf), 7, &lg, reason, sizeof(reason)));
		frame_with(7, caps[i].field, 0, buf); /* 0 passes validation */
		T_OK(xs_hs_parse_logon(buf, sizeof(buf), 7, &lg, reason, sizeof(reason)));
		frame_with(7, caps[i].field, caps[i].bad, buf);
		snprintf(text, sizeof(text),
			 "Queue capacity cannot be represented; field=%s, capacity=%llu", name,
			 (unsigned long long)caps[i].bad);
		expect_reject(buf, sizeof(buf), 7, -XS_EHS_CAPACITY, text);
		frame_with(7, caps[i].field, UINT64_MAX, buf);
		snprintf(text, sizeof(text),
			 "Queue capacity cannot be represented; field=%s, capacity=18446744073709551615",
			 name);
		expect_reject(buf, sizeof(buf), 7, -XS_EHS_CAPACITY, text);
	}
	/* the first bad queue in upstream's order is the one named; the
	 * allocator size comes before the queues, handles before both */
	frame_with(7, XS_LF_CHECK_WORKER_TO_PACK, UINT64_MAX, buf);
	put64(buf + 32 + p->field_off[XS_LF_WORKER_TO_PACK], UINT64_MAX);
	expect_reject(buf, sizeof(buf), 7, -XS_EHS_CAPACITY,
		      "Queue capacity cannot be represented; field=worker_to_pack_capacity, "
		      "capacity=18446744073709551615");
	put64(buf + 32 + p->field_off[XS_LF_ALLOCATOR_SIZE], UINT64_MAX);
	expect_reject(buf, sizeof(buf), 7, -XS_EHS_ALLOC_SIZE,
		      "Allocator size cannot be represented; size=18446744073709551615");
	put64(buf + 32 + p->field_off[XS_LF_ALLOCATOR_HANDLES], 200);
	expect_reject(buf, sizeof(buf), 7, -XS_EHS_ALLOC_HANDLES, "Allocator handles; count=200");
	/* sdk6 reads flags as u16: the padding after it is not a field */
	frame_with(6, XS_LF_WORKER_COUNT, 3, buf);
	memset(buf + 32 + 66, 0xab, 6);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), 6, &lg, reason, sizeof(reason)));
	T_EQ(lg.flags, 0x0102);
}

/* ----------------------------------------------------------- queue sizes */

static uint64_t json_u64(const char *j, const char *from, const char *key)
{
	return (uint64_t)th_json_num(j, from, key, 0);
}

static char *read_json(const char *name)
{
	size_t len;
	char *j = (char *)t_read_vector(name, &len);

	j = realloc(j, len + 1);
	T_ASSERT(j);
	j[len] = '\0';
	return j;
}

/* minimum_file_size of queue @p o of @p p for @p cap (no page rounding). */
static uint64_t min_size(const struct xs_hs_proto *p, const struct xs_hs_object *o, uint64_t cap)
{
	uint64_t size = 0;

	T_OK(xs_hs_queue_min_size(p, o, cap, &size, NULL, 0));
	return size;
}

static void t_queue_sizes(void)
{
	static const char *const v4names[4] = { "TpuToPackMessage", "ProgressMessage",
						"PackToWorkerMessage", "WorkerToPackMessage" };
	static const uint64_t caps4[] = { 1, 1000, 1024, 65536, 262144 };
	static const char *const v6keys[6] = {
		"spsc_tpu_to_pack", "spsc_progress", "mpmc_pack_to_check_worker",
		"mpmc_check_worker_to_pack", "spsc_pack_to_execution_worker",
		"spsc_execution_worker_to_pack",
	};
	const struct xs_hs_proto *p;
	struct xs_hs_object elem16;
	uint64_t size, cap;
	char key[96], from[64], reason[64];
	char *j;

	/* VERSION 4 (shaq format 2.0): shaq2_sizes.json */
	j = read_json("v4/shaq2_sizes.json");
	p = row(4);
	for (unsigned q = 0; q < 4; q++) {
		const struct xs_hs_object *o = &p->objects[1 + q];

		for (size_t c = 0; c < sizeof(caps4) / sizeof(caps4[0]); c++) {
			snprintf(key, sizeof(key), "spsc_minimum_file_size_%s_cap%llu", v4names[q],
				 (unsigned long long)caps4[c]);
			T_EQ(min_size(p, o, caps4[c]), json_u64(j, NULL, key));
		}
		/* capacity 0: a 4096-byte file, whose capacity the vectors give */
		T_OK(xs_hs_queue_size(p, o, 0, 0, &size, &cap, NULL, 0));
		T_EQ(size, 4096);
		snprintf(key, sizeof(key), "spsc_capacity_in_4096_byte_file_%s", v4names[q]);
		T_EQ(cap, json_u64(j, NULL, key));
	}
	/* format 2.0 headers, with a 16-byte element */
	elem16 = p->objects[1];
	elem16.elem_size = 16;
	T_EQ(min_size(p, &elem16, 9), json_u64(j, NULL, "spsc_minimum_file_size_Elem16_cap9"));
	elem16.kind = XS_SHAQ_MPMC;
	T_EQ(min_size(p, &elem16, 9), json_u64(j, NULL, "mpmc_minimum_file_size_Elem16_cap9"));
	T_EQ(min_size(p, &elem16, 1), json_u64(j, NULL, "mpmc_minimum_file_size_Elem16_cap1"));
	free(j);

	/* bindings 6 / shaq format 3.0: shaq3_sizes.json, objects of sdk7
	 * (globals 1..4, then the execution pair) */
	j = read_json("current/shaq3_sizes.json");
	p = row(7);
	for (size_t c = 0; c < 5; c++) {
		uint64_t capv = caps4[c];

		snprintf(from, sizeof(from), "{\"capacity\": %llu,", (unsigned long long)capv);
		for (unsigned q = 0; q < 6; q++)
			T_EQ(min_size(p, &p->objects[1 + q], capv), json_u64(j, from, v6keys[q]));
	}
	elem16 = p->objects[1];
	elem16.elem_size = 16;
	T_EQ(min_size(p, &elem16, 0), 256);
	T_EQ(min_size(p, &elem16, 9), 512);
	elem16.kind = XS_SHAQ_MPMC;
	T_EQ(min_size(p, &elem16, 8), 512);
	T_EQ(json_u64(j, NULL, "shaq_VERSION"), p->pv.shaq);
	free(j);

	/* VERSION 2 / 3 (shaq 1.0, no power-of-two rounding): HANDSHAKE.md s5 */
	p = row(2);
	T_OK(xs_hs_queue_size(p, &p->objects[3], 1000, 0, &size, &cap, NULL, 0));
	T_EQ(size, 32768);
	T_EQ(cap, 512); /* the request shrinks */
	T_OK(xs_hs_queue_size(p, &p->objects[3], 1024, 1, &size, &cap, NULL, 0));
	T_EQ(size, 2u << 20);
	T_EQ(cap, 32768);
	T_OK(xs_hs_queue_size(p, &p->objects[2], 256, 1, &size, &cap, NULL, 0));
	T_EQ(size, 16384); /* progress: 12 480 bytes, never huge */
	T_EQ(cap, 256);
	T_OK(xs_hs_queue_size(p, &p->objects[1], 65536, 0, &size, &cap, NULL, 0));
	T_EQ(size, 2625536);
	T_EQ(cap, 65536);
	T_ERR(xs_hs_queue_size(p, &p->objects[1], UINT64_MAX / 8, 0, &size, &cap, reason,
			       sizeof(reason)), -XS_EHS_QUEUE);
	T_ASSERT(!strcmp(reason, "Shaq; err=InvalidBufferSize"));
	/* VERSION 4: beyond 2^32 items the u32 mask cannot hold it */
	p = row(4);
	T_OK(xs_hs_queue_size(p, &p->objects[3], 1ull << 32, 1, &size, &cap, NULL, 0));
	T_EQ(cap, 1ull << 32);
	T_ERR(xs_hs_queue_size(p, &p->objects[3], (1ull << 32) + 1, 1, &size, &cap, NULL, 0),
	      -XS_EHS_QUEUE);
	/* VERSION 1: exactly the byte size given */
	p = row(1);
	T_OK(xs_hs_queue_size(p, &p->objects[1], 512, 1, &size, &cap, NULL, 0));
	T_EQ(size, 512);
	T_EQ(cap, 8);
	T_ERR(xs_hs_queue_size(p, &p->objects[0], 512, 0, &size, &cap, NULL, 0), -EINVAL);
}

/* --------------------------------------------------------------- replies */

static struct xs_hs_reply rep;

static int parse_text(const char *text)
{
	uint8_t f[2 + XS_HS_MAX_REASON];
	int n = xs_hs_encode_failure(text, f, sizeof(f));

	T_ASSERT(n >= 2);
	return xs_hs_parse_reply(f, (size_t)n, 0, NULL, 0, 9, &rep);
}

static void t_reply_texts(void)
{
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon lg = distinct(row(2));
	const struct xs_hs_proto *g;
	char reason[XS_HS_MAX_REASON + 64], wants[160];

	/* the text an sdk7 server gives a VERSION 2 client: the client learns
	 * the server's generation */
	th_encode(2, &lg, buf);
	T_ERR(xs_hs_parse_logon(buf, sizeof(buf), 7, &lg, reason, sizeof(reason)), -XS_EHS_VERSION);
	T_ERR(parse_text(reason), -XS_EHS_VERSION);
	T_ASSERT(rep.sdk_version && rep.client_pv_valid && rep.server_version == 0);
	T_EQ(rep.server_pv.handshake, 7);
	T_EQ(rep.server_pv.scheduler_bindings, 6);
	T_EQ(rep.server_pv.shaq, 196608);
	T_EQ(rep.server_pv.rts_alloc, 262144);
	T_EQ(rep.client_pv.handshake, 2);
	T_EQ(rep.client_pv.scheduler_bindings, 3);
	T_EQ(rep.client_pv.shaq, 64ull << 20);
	T_EQ(rep.client_pv.rts_alloc, 2);
	T_EQ(xs_hs_reply_generation(&rep, &g, wants, sizeof(wants)), 1);
	T_ASSERT(g == row(7));
	T_ASSERT(!strcmp(wants, "(handshake=7, scheduler-bindings=6, shaq=196608, rts-alloc=262144)"));
	/* sdk6 server */
	T_ERR(xs_hs_parse_logon(buf, sizeof(buf), 6, &lg, reason, sizeof(reason)), -XS_EHS_VERSION);
	T_ERR(parse_text(reason), -XS_EHS_VERSION);
	T_EQ(xs_hs_reply_generation(&rep, &g, NULL, 0), 1);
	T_ASSERT(g == row(6));
	/* numbers xsched does not know: none, and what the server wants */
	T_ERR(parse_text("Version; server=(handshake=8, scheduler-bindings=6, shaq=196611, "
			 "rts-alloc=262144); client=(handshake=7, scheduler-bindings=6, "
			 "shaq=196608, rts-alloc=262144)"), -XS_EHS_VERSION);
	T_EQ(xs_hs_reply_generation(&rep, &g, wants, sizeof(wants)), 0);
	T_ASSERT(g == NULL);
	T_ASSERT(!strcmp(wants, "(handshake=8, scheduler-bindings=6, shaq=196611, rts-alloc=262144)"));

	/* the numeric kind: every VERSION 1-5 server text from the encoder */
	for (unsigned s = 1; s <= 5; s++) {
		struct xs_logon l7 = distinct(row(7));

		th_encode(7, &l7, buf);
		T_ERR(xs_hs_parse_logon(buf, sizeof(buf), s, &lg, reason, sizeof(reason)),
		      -XS_EHS_VERSION);
		T_ERR(parse_text(reason), -XS_EHS_VERSION);
		T_EQ(rep.server_version, s);
		T_EQ(xs_hs_reply_generation(&rep, &g, wants, sizeof(wants)), 1);
		T_ASSERT(g == row(s));
		snprintf(reason, sizeof(reason), "VERSION %u", s);
		T_ASSERT(!strcmp(wants, reason));
	}
	T_ERR(parse_text("Version; server=9; client=4"), -XS_EHS_VERSION);
	T_EQ(xs_hs_reply_generation(&rep, &g, wants, sizeof(wants)), 0);
	T_ASSERT(!g && !strcmp(wants, "VERSION 9"));
	/* a u64 VERSION 7 is not the SDK row of handshake 7 */
	T_ERR(parse_text("Version; server=7; client=4"), -XS_EHS_VERSION);
	T_EQ(xs_hs_reply_generation(&rep, &g, wants, sizeof(wants)), 0);
	/* not a version rejection */
	T_ERR(parse_text("Worker count; count=0"), -XS_EHS_REJECTED);
	T_ERR(xs_hs_reply_generation(&rep, &g, wants, sizeof(wants)), -XS_EHS_REJECTED);
	T_ASSERT(g == NULL && wants[0] == '\0');

	/* malformed SDK texts are plain rejections */
	{
		static const char *const bad[] = {
			"Version; server=(handshake=7, scheduler-bindings=6, shaq=196608); "
			"client=(handshake=2, scheduler-bindings=3, shaq=1, rts-alloc=2)",
			"Version; server=(handshake=7, scheduler-bindings=6, shaq=196608, "
			"rts-alloc=262144); client=(handshake=2)",
			"Version; server=(handshake=7, scheduler-bindings=6, shaq=196608, "
			"rts-alloc=262144); client=(handshake=2, scheduler-bindings=3, shaq=1, "
			"rts-alloc=2) ",
			"Version; server=(handshake=7, scheduler-bindings=6, shaq=196608, "
			"rts-alloc=262144)",
			"Version; server=(handshake=99999999999999999999, scheduler-bindings=6, "
			"shaq=196608, rts-alloc=262144); client=(handshake=2, scheduler-bindings=3, "
			"shaq=1, rts-alloc=2)",
			"Version; server=(handshake=, scheduler-bindings=6, shaq=196608, "
			"rts-alloc=262144); client=(handshake=2, scheduler-bindings=3, shaq=1, "
			"rts-alloc=2)",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			T_ERR(parse_text(bad[i]), -XS_EHS_REJECTED);
			T_ASSERT(!rep.sdk_version && !rep.server_version);
			T_EQ(rep.server_pv.handshake, 0);
		}
	}
	/* a text the server cut at 255 bytes keeps the server's numbers */
	{
		char big[400];

		snprintf(big, sizeof(big),
			 "Version; server=(handshake=18446744073709551615, "
			 "scheduler-bindings=18446744073709551615, shaq=18446744073709551615, "
			 "rts-alloc=18446744073709551615); client=(handshake=18446744073709551615, "
			 "scheduler-bindings=18446744073709551615, shaq=18446744073709551615, "
			 "rts-alloc=18446744073709551615)");
		T_ASSERT(strlen(big) > XS_HS_MAX_REASON);
		T_ERR(parse_text(big), -XS_EHS_VERSION);
		T_ASSERT(rep.sdk_version && !rep.client_pv_valid);
		T_EQ(rep.server_pv.rts_alloc, UINT64_MAX);
		T_EQ(xs_hs_reply_generation(&rep, &g, wants, sizeof(wants)), 0);
	}
}

/* Control data with one SCM_RIGHTS message of @p n descriptors. */
static size_t ctl_with(uint8_t *ctl, size_t cap, int n)
{
	struct cmsghdr h;

	memset(ctl, 0, cap);
	h.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	h.cmsg_level = SOL_SOCKET;
	h.cmsg_type = SCM_RIGHTS;
	T_ASSERT(CMSG_SPACE(sizeof(int) * (size_t)n) <= cap);
	memcpy(ctl, &h, sizeof(h));
	for (int i = 0; i < n; i++) {
		int fd = 100 + i;

		memcpy(ctl + CMSG_LEN(0) + sizeof(int) * (size_t)i, &fd, sizeof(fd));
	}
	return CMSG_SPACE(sizeof(int) * (size_t)n);
}

static void t_reply_fds(void)
{
	static uint8_t ctl[CMSG_SPACE(sizeof(int) * 200)];
	const uint8_t one = 1;
	const struct xs_hs_proto *p5 = row(5), *p7 = row(7), *p4 = row(4);

	for (uint64_t w = 1; w <= 64; w *= 4) {
		uint32_t want = xs_hs_proto_fds(p7, w);
		size_t n;

		T_EQ(want, 5 + 2 * w);
		T_EQ(xs_hs_proto_fds(p5, w), want);
		n = ctl_with(ctl, sizeof(ctl), (int)want);
		T_OK(xs_hs_parse_reply(&one, 1, 0, ctl, n, want, &rep));
		T_EQ(rep.nfds, want);
		/* the 3 + 2W of an older server, one pair too many or too few,
		 * an odd count: all refused, every descriptor reported */
		n = ctl_with(ctl, sizeof(ctl), (int)xs_hs_proto_fds(p4, w));
		T_ERR(xs_hs_parse_reply(&one, 1, 0, ctl, n, want, &rep), -XS_EHS_PROTOCOL);
		T_EQ(rep.nfds, 3 + 2 * w);
		n = ctl_with(ctl, sizeof(ctl), (int)want + 2);
		T_ERR(xs_hs_parse_reply(&one, 1, 0, ctl, n, want, &rep), -XS_EHS_PROTOCOL);
		n = ctl_with(ctl, sizeof(ctl), (int)want - 1);
		T_ERR(xs_hs_parse_reply(&one, 1, 0, ctl, n, want, &rep), -XS_EHS_PROTOCOL);
		n = ctl_with(ctl, sizeof(ctl), 4);
		T_ERR(xs_hs_parse_reply(&one, 1, 0, ctl, n, want, &rep), -XS_EHS_PROTOCOL);
		T_EQ(rep.nfds, 4);
	}
	/* at most 133: a larger expectation never matches */
	{
		size_t n = ctl_with(ctl, sizeof(ctl), 135);

		T_ERR(xs_hs_parse_reply(&one, 1, 0, ctl, n, 135, &rep), -XS_EHS_PROTOCOL);
		T_EQ(rep.nfds, 135);
	}
}

/* Random frames for every server: documented codes only, texts that fit. */
static void t_random_logons(void)
{
	uint64_t seed = 0xfeedbeefull;
	uint8_t *buf = malloc(XS_HS_LOGON_BUF);
	uint64_t end = t_now_ns() + 1000000000ull;

	T_ASSERT(buf);
	for (int it = 0; it < 40000 && t_now_ns() < end; it++) {
		unsigned gen = 1 + (unsigned)(it % 7);
		const struct xs_hs_proto *p = row(gen);
		struct xs_logon lg = distinct(p);
		char reason[64];
		int err;

		th_encode(p->version, &lg, buf);
		/* damage a few bytes of the header and logon */
		for (int k = 0; k < 3; k++)
			buf[t_rand(&seed) % (p->logon_off + p->logon_size)] = (uint8_t)t_rand(&seed);
		err = xs_hs_parse_logon(buf, t_rand(&seed) % 8 ? XS_HS_LOGON_BUF : t_rand(&seed) % 1024,
					p->version, &lg, reason, sizeof(reason));
		T_ASSERT(err == 0 || err == -XS_EHS_EOF || err == -XS_EHS_VERSION ||
			 err == -XS_EHS_WORKER_COUNT || err == -XS_EHS_CHECK_WORKER_COUNT ||
			 err == -XS_EHS_ALLOC_HANDLES || err == -XS_EHS_ALLOC_SIZE ||
			 err == -XS_EHS_CAPACITY, "(%d)", err);
		T_ASSERT(memchr(reason, '\0', sizeof(reason)) != NULL);
		T_ASSERT(err != 0 || reason[0] == '\0');
	}
	free(buf);
}

static const struct th_case cases[] = {
	{ "table", t_table },
	{ "spec_layouts", t_spec_layouts },
	{ "v1_logons", t_v1_logons },
	{ "v1_rejections", t_v1_rejections },
	{ "v4_logons", t_v4_logons },
	{ "v4_rejections", t_v4_rejections },
	{ "hostile_counts", t_hostile_counts },
	{ "hostile_versions", t_hostile_versions },
	{ "hostile_sizes", t_hostile_sizes },
	{ "queue_sizes", t_queue_sizes },
	{ "reply_texts", t_reply_texts },
	{ "reply_fds", t_reply_fds },
	{ "random_logons", t_random_logons },
};

int main(int argc, char **argv)
{
	return th_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
