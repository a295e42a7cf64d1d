/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Peer row: DPDK rte_ring in single-producer / single-consumer mode
 * (RING_F_SP_ENQ | RING_F_SC_DEQ), element API with the message size as a
 * compile-time esize; the stream consumer dequeues bursts of up to 64 (one
 * release per burst, as the xsched consumer). No EAL: rte_ring_create needs EAL memzones, so the
 * ring lives in memory we allocate, sized by rte_ring_get_memsize_elem and
 * set up by rte_ring_init, which need no EAL.
 */
#include "queue_latency.h"

#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <stdio.h>
#include <stdlib.h>

struct dp_chan {
	struct rte_ring *r;
} __attribute__((aligned(128)));

struct dp_pair {
	struct dp_chan ab, ba;
};

#define DP_SIZE(N)                                                                   \
	BENCH_INLINE bool dp_send##N(struct dp_chan *ch, const uint64_t *m)          \
	{                                                                            \
		return rte_ring_sp_enqueue_elem(ch->r, (void *)(uintptr_t)m, N) == 0; \
	}                                                                            \
	BENCH_INLINE bool dp_recv##N(struct dp_chan *ch, uint64_t *m)                \
	{                                                                            \
		return rte_ring_sc_dequeue_elem(ch->r, m, N) == 0;                   \
	}                                                                            \
	BENCH_INLINE size_t dp_recv_burst##N(struct dp_chan *ch, uint64_t *buf, size_t max) \
	{                                                                            \
		return rte_ring_sc_dequeue_burst_elem(ch->r, buf, N, (unsigned)max, NULL); \
	}                                                                            \
	QL_DEFINE_LOOPS(dp##N, struct dp_pair, ab, ba, DP_SEND##N, DP_RECV##N, N)     \
	QL_DEFINE_BURST_CONSUMER(dp##N, struct dp_pair, ab, DP_RECV_BURST##N, N)

#define DP_RECV_BURST8(ch, b, m, sz) dp_recv_burst8((ch), (b), (m))
#define DP_RECV_BURST16(ch, b, m, sz) dp_recv_burst16((ch), (b), (m))
#define DP_RECV_BURST24(ch, b, m, sz) dp_recv_burst24((ch), (b), (m))
#define DP_RECV_BURST32(ch, b, m, sz) dp_recv_burst32((ch), (b), (m))
#define DP_RECV_BURST40(ch, b, m, sz) dp_recv_burst40((ch), (b), (m))
#define DP_RECV_BURST48(ch, b, m, sz) dp_recv_burst48((ch), (b), (m))
#define DP_RECV_BURST56(ch, b, m, sz) dp_recv_burst56((ch), (b), (m))
#define DP_RECV_BURST64(ch, b, m, sz) dp_recv_burst64((ch), (b), (m))
#define DP_RECV_BURST128(ch, b, m, sz) dp_recv_burst128((ch), (b), (m))
#define DP_RECV_BURST256(ch, b, m, sz) dp_recv_burst256((ch), (b), (m))
#define DP_SEND8(ch, m, sz) QL_SPIN_UNTIL(dp_send8((ch), (m)))
#define DP_RECV8(ch, m, sz) QL_RECV_SPIN(dp_recv8((ch), (m)))
#define DP_SEND16(ch, m, sz) QL_SPIN_UNTIL(dp_send16((ch), (m)))
#define DP_RECV16(ch, m, sz) QL_RECV_SPIN(dp_recv16((ch), (m)))
#define DP_SEND24(ch, m, sz) QL_SPIN_UNTIL(dp_send24((ch), (m)))
#define DP_RECV24(ch, m, sz) QL_RECV_SPIN(dp_recv24((ch), (m)))
#define DP_SEND32(ch, m, sz) QL_SPIN_UNTIL(dp_send32((ch), (m)))
#define DP_RECV32(ch, m, sz) QL_RECV_SPIN(dp_recv32((ch), (m)))
#define DP_SEND40(ch, m, sz) QL_SPIN_UNTIL(dp_send40((ch), (m)))
#define DP_RECV40(ch, m, sz) QL_RECV_SPIN(dp_recv40((ch), (m)))
#define DP_SEND48(ch, m, sz) QL_SPIN_UNTIL(dp_send48((ch), (m)))
#define DP_RECV48(ch, m, sz) QL_RECV_SPIN(dp_recv48((ch), (m)))
#define DP_SEND56(ch, m, sz) QL_SPIN_UNTIL(dp_send56((ch), (m)))
#define DP_RECV56(ch, m, sz) QL_RECV_SPIN(dp_recv56((ch), (m)))
#define DP_SEND64(ch, m, sz) QL_SPIN_UNTIL(dp_send64((ch), (m)))
#define DP_RECV64(ch, m, sz) QL_RECV_SPIN(dp_recv64((ch), (m)))
#define DP_SEND128(ch, m, sz) QL_SPIN_UNTIL(dp_send128((ch), (m)))
#define DP_RECV128(ch, m, sz) QL_RECV_SPIN(dp_recv128((ch), (m)))
#define DP_SEND256(ch, m, sz) QL_SPIN_UNTIL(dp_send256((ch), (m)))
#define DP_RECV256(ch, m, sz) QL_RECV_SPIN(dp_recv256((ch), (m)))

QL_PEER_SIZES(DP_SIZE)

static const struct ql_loops dp_table[] = {
#define DP_ENTRY(N) {N, dp##N##_pp_a, dp##N##_pp_b, dp##N##_st_a, dp##N##_st_b, dp##N##_stb_b},
	QL_PEER_SIZES(DP_ENTRY)
#undef DP_ENTRY
	{0, NULL, NULL, NULL, NULL, NULL},
};

static void dp_close(struct dp_pair *p)
{
	if (!p)
		return;
	free(p->ab.r);
	free(p->ba.r);
	free(p);
}

static int dp_ring(struct rte_ring **out, const char *name, size_t msg, uint32_t cap)
{
	ssize_t sz = rte_ring_get_memsize_elem((unsigned)msg, cap);
	void *mem;
	int rc;

	if (sz < 0)
		return (int)sz;
	if (posix_memalign(&mem, 128, ((size_t)sz + 127) / 128 * 128))
		return -ENOMEM;
	memset(mem, 0, (size_t)sz);
	rc = rte_ring_init((struct rte_ring *)mem, name, cap, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (rc < 0) {
		free(mem);
		return rc;
	}
	*out = (struct rte_ring *)mem;
	return 0;
}

static int dp_open(const struct ql_cfg *c, struct dp_pair **out, const struct ql_loops **lp,
		   struct ql_result *r)
{
	const struct ql_loops *l = ql_find_loops(dp_table, c, "rte_ring", r);
	struct dp_pair *p;
	int rc;

	if (!l)
		return -ENOTSUP;
	if (posix_memalign((void **)&p, 128, sizeof(*p)))
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	rc = dp_ring(&p->ab.r, "ql_ab", c->msg_size, c->capacity);
	if (!rc)
		rc = dp_ring(&p->ba.r, "ql_ba", c->msg_size, c->capacity);
	if (rc < 0) {
		snprintf(r->note, sizeof(r->note), "rte_ring_init failed: %s", strerror(-rc));
		dp_close(p);
		return rc;
	}
	*out = p;
	*lp = l;
	return 0;
}

QL_DEFINE_PEER_RUNNERS(dp, struct dp_pair, dp_open, dp_close)

const struct ql_transport ql_dpdk = {
	"dpdk_ring", "DPDK rte_ring, SP/SC, element API, stream: dequeue_burst 64 (no EAL)",
	dp_pp, dp_st};
