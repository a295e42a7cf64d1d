/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Peer row: Concurrency Kit ck_ring in SPSC mode, messages stored by value
 * (CK_RING_PROTOTYPE, one struct type per compiled message size), waiting
 * with the same spin policy as every other spinning row (bench_spin).
 */
#include "queue_latency.h"

#include <ck_ring.h>
#include <stdio.h>
#include <stdlib.h>

struct ck_chan {
	struct ck_ring ring; /* ck pads c_head and p_tail onto their own lines */
	void *buf;
} __attribute__((aligned(128)));

struct ck_pair {
	struct ck_chan ab, ba;
};

/* One message type, ring prototype and loop set per size. */
#define CK_SIZE(N)                                                                   \
	struct ql_ck_msg##N {                                                        \
		uint64_t w[N / 8];                                                   \
	};                                                                           \
	CK_RING_PROTOTYPE(m##N, ql_ck_msg##N)                                        \
	/* ck copies with memcpy(sizeof(struct)): the message words are passed  \
	 * in place, as a caller holding that struct would. */                   \
	BENCH_INLINE bool ck_send##N(struct ck_chan *ch, const uint64_t *m)          \
	{                                                                            \
		return ck_ring_enqueue_spsc_m##N(&ch->ring,                          \
				(struct ql_ck_msg##N *)ch->buf,                      \
				(struct ql_ck_msg##N *)(uintptr_t)m);                \
	}                                                                            \
	BENCH_INLINE bool ck_recv##N(struct ck_chan *ch, uint64_t *m)                \
	{                                                                            \
		return ck_ring_dequeue_spsc_m##N(&ch->ring,                          \
				(struct ql_ck_msg##N *)ch->buf,                      \
				(struct ql_ck_msg##N *)m);                           \
	}                                                                            \
	QL_DEFINE_LOOPS(ck##N, struct ck_pair, ab, ba, CK_SEND##N, CK_RECV##N, N)

#define CK_SEND8(ch, m, sz) QL_SPIN_UNTIL(ck_send8((ch), (m)))
#define CK_RECV8(ch, m, sz) QL_RECV_SPIN(ck_recv8((ch), (m)))
#define CK_SEND16(ch, m, sz) QL_SPIN_UNTIL(ck_send16((ch), (m)))
#define CK_RECV16(ch, m, sz) QL_RECV_SPIN(ck_recv16((ch), (m)))
#define CK_SEND24(ch, m, sz) QL_SPIN_UNTIL(ck_send24((ch), (m)))
#define CK_RECV24(ch, m, sz) QL_RECV_SPIN(ck_recv24((ch), (m)))
#define CK_SEND32(ch, m, sz) QL_SPIN_UNTIL(ck_send32((ch), (m)))
#define CK_RECV32(ch, m, sz) QL_RECV_SPIN(ck_recv32((ch), (m)))
#define CK_SEND40(ch, m, sz) QL_SPIN_UNTIL(ck_send40((ch), (m)))
#define CK_RECV40(ch, m, sz) QL_RECV_SPIN(ck_recv40((ch), (m)))
#define CK_SEND48(ch, m, sz) QL_SPIN_UNTIL(ck_send48((ch), (m)))
#define CK_RECV48(ch, m, sz) QL_RECV_SPIN(ck_recv48((ch), (m)))
#define CK_SEND56(ch, m, sz) QL_SPIN_UNTIL(ck_send56((ch), (m)))
#define CK_RECV56(ch, m, sz) QL_RECV_SPIN(ck_recv56((ch), (m)))
#define CK_SEND64(ch, m, sz) QL_SPIN_UNTIL(ck_send64((ch), (m)))
#define CK_RECV64(ch, m, sz) QL_RECV_SPIN(ck_recv64((ch), (m)))
#define CK_SEND128(ch, m, sz) QL_SPIN_UNTIL(ck_send128((ch), (m)))
#define CK_RECV128(ch, m, sz) QL_RECV_SPIN(ck_recv128((ch), (m)))
#define CK_SEND256(ch, m, sz) QL_SPIN_UNTIL(ck_send256((ch), (m)))
#define CK_RECV256(ch, m, sz) QL_RECV_SPIN(ck_recv256((ch), (m)))

QL_PEER_SIZES(CK_SIZE)

static const struct ql_loops ck_table[] = {
#define CK_ENTRY(N) {N, ck##N##_pp_a, ck##N##_pp_b, ck##N##_st_a, ck##N##_st_b, NULL},
	QL_PEER_SIZES(CK_ENTRY)
#undef CK_ENTRY
	{0, NULL, NULL, NULL, NULL, NULL}, /* ck_ring has no SPSC burst dequeue */
};

static void ck_close(struct ck_pair *p)
{
	if (!p)
		return;
	free(p->ab.buf);
	free(p->ba.buf);
	free(p);
}

static int ck_open(const struct ql_cfg *c, struct ck_pair **out, const struct ql_loops **lp,
		   struct ql_result *r)
{
	const struct ql_loops *l = ql_find_loops(ck_table, c, "ck_ring", r);
	struct ck_pair *p;

	if (!l)
		return -ENOTSUP;
	if (posix_memalign((void **)&p, 128, sizeof(*p)))
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	if (posix_memalign(&p->ab.buf, 64, (size_t)c->capacity * c->msg_size) ||
	    posix_memalign(&p->ba.buf, 64, (size_t)c->capacity * c->msg_size)) {
		ck_close(p);
		return -ENOMEM;
	}
	memset(p->ab.buf, 0, (size_t)c->capacity * c->msg_size);
	memset(p->ba.buf, 0, (size_t)c->capacity * c->msg_size);
	ck_ring_init(&p->ab.ring, c->capacity);
	ck_ring_init(&p->ba.ring, c->capacity);
	*out = p;
	*lp = l;
	return 0;
}

QL_DEFINE_PEER_RUNNERS(ck, struct ck_pair, ck_open, ck_close)

const struct ql_transport ql_ck = {
	"ck_ring", "Concurrency Kit ck_ring, SPSC, messages by value (CK_RING_PROTOTYPE)", ck_pp,
	ck_st};
