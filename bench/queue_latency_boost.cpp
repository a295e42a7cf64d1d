// SPDX-License-Identifier: Apache-2.0
//
// Peer row: Boost.Lockfree spsc_queue<T> with a run-time capacity, T a
// trivially copyable message of the compiled size, push()/pop() by value
// (streaming: pop(T *, 64), one release per burst, as the xsched consumer),
// waiting with the same spin policy as every other spinning row (bench_spin).
// The only C++ translation unit of xsched; everything it exports is C.
#include "queue_latency.h"

#include <boost/lockfree/spsc_queue.hpp>
#include <new>
#include <stdio.h>
#include <stdlib.h>

namespace {

template <size_t N> struct msg {
	uint64_t w[N / 8];
};

template <size_t N> struct alignas(128) bchan {
	boost::lockfree::spsc_queue<msg<N>> q;
	explicit bchan(size_t cap) : q(cap) {}
};

template <size_t N> struct bpair {
	bchan<N> ab, ba;
	explicit bpair(size_t cap) : ab(cap), ba(cap) {}
};

template <size_t N> BENCH_INLINE bool bsend(bchan<N> *ch, const uint64_t *m)
{
	return ch->q.push(*reinterpret_cast<const msg<N> *>(m));
}

template <size_t N> BENCH_INLINE bool brecv(bchan<N> *ch, uint64_t *m)
{
	return ch->q.pop(*reinterpret_cast<msg<N> *>(m));
}

/* pop(T *, n): up to n messages, one release of the read index. */
template <size_t N> BENCH_INLINE size_t brecv_burst(bchan<N> *ch, uint64_t *buf, size_t max)
{
	return ch->q.pop(reinterpret_cast<msg<N> *>(buf), max);
}

#define B_SEND(ch, m, sz) QL_SPIN_UNTIL(bsend((ch), (m)))
#define B_RECV(ch, m, sz) QL_RECV_SPIN(brecv((ch), (m)))
#define B_RECV_BURST(ch, buf, max, sz) brecv_burst((ch), (buf), (max))
#define B_SIZE(N)                                                      \
	QL_DEFINE_LOOPS(b##N, bpair<N>, ab, ba, B_SEND, B_RECV, N)     \
	QL_DEFINE_BURST_CONSUMER(b##N, bpair<N>, ab, B_RECV_BURST, N)
QL_PEER_SIZES(B_SIZE)

struct b_loops {
	size_t size;
	void *(*pp_a)(void *), *(*pp_b)(void *), *(*st_a)(void *), *(*st_b)(void *);
	void *(*stb_b)(void *);
	void *(*make)(size_t cap);
	void (*drop)(void *);
};

template <size_t N> void *bmake(size_t cap)
{
	return new (std::nothrow) bpair<N>(cap);
}

template <size_t N> void bdrop(void *p)
{
	delete static_cast<bpair<N> *>(p);
}

const b_loops b_table[] = {
#define B_ENTRY(N) {N, b##N##_pp_a, b##N##_pp_b, b##N##_st_a, b##N##_st_b, b##N##_stb_b, bmake<N>, bdrop<N>},
	QL_PEER_SIZES(B_ENTRY)
#undef B_ENTRY
	{0, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr},
};

const b_loops *bfind(const ql_cfg *c, ql_result *r)
{
	const b_loops *l;

	for (l = b_table; l->size && l->size != c->msg_size; l++)
		;
	if (!l->size) {
		snprintf(r->note, sizeof(r->note),
			 "boost spsc_queue is compiled for 8..64, 128 and 256-byte messages, not %zu",
			 c->msg_size);
		return nullptr;
	}
	return l;
}

int b_pp(const ql_cfg *c, bench_hist *h, ql_result *r)
{
	const b_loops *l = bfind(c, r);
	void *p;
	int rc;

	if (!l)
		return -ENOTSUP;
	p = l->make(c->capacity);
	if (!p)
		return -ENOMEM;
	rc = ql_run_pingpong(c, p, l->pp_a, l->pp_b, h, r);
	l->drop(p);
	return rc;
}

int b_st(const ql_cfg *c, double *rate, ql_result *r)
{
	const b_loops *l = bfind(c, r);
	void *p;
	int rc;

	if (!l)
		return -ENOTSUP;
	p = l->make(c->capacity);
	if (!p)
		return -ENOMEM;
	r->consumer = ql_peer_burst ? "burst64" : "single";
	rc = ql_run_stream(c, p, l->st_a, ql_peer_burst ? l->stb_b : l->st_b, rate, r);
	l->drop(p);
	return rc;
}

} // namespace

extern "C" const ql_transport ql_boost = {
	"boost_spsc", "Boost.Lockfree spsc_queue<T>, run-time capacity, push/pop by value (stream: pop 64)", b_pp,
	b_st};
