/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark harness, histogram: log-linear buckets (128 per power of two),
 * merge, and percentiles that stay right with a clock that ticks in steps.
 * See harness.h for the contract.
 */
#include "harness.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int bench_hist_init(struct bench_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->b = calloc(BENCH_HIST_BUCKETS, sizeof(uint64_t));
	if (!h->b)
		return -ENOMEM;
	h->min = UINT64_MAX;
	return 0;
}

void bench_hist_free(struct bench_hist *h)
{
	free(h->b);
	memset(h, 0, sizeof(*h));
}

void bench_hist_reset(struct bench_hist *h)
{
	memset(h->b, 0, BENCH_HIST_BUCKETS * sizeof(uint64_t));
	h->count = 0;
	h->sum = 0;
	h->max = 0;
	h->min = UINT64_MAX;
}

void bench_hist_merge(struct bench_hist *dst, const struct bench_hist *src)
{
	unsigned i;

	for (i = 0; i < BENCH_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->count && src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* Representative value of bucket @p i: exact below 128, else its midpoint. */
static double bucket_value(unsigned i)
{
	unsigned m, off;

	if (i < BENCH_HIST_SUB)
		return i;
	m = i / BENCH_HIST_SUB + BENCH_HIST_SUB_BITS - 1;
	off = i % BENCH_HIST_SUB;
	return ldexp((double)(BENCH_HIST_SUB + off), (int)(m - BENCH_HIST_SUB_BITS)) +
	       (ldexp(1.0, (int)(m - BENCH_HIST_SUB_BITS)) - 1) / 2;
}

/* Width of bucket @p i in ticks (1 below 128). */
static double bucket_width(unsigned i)
{
	if (i < BENCH_HIST_SUB)
		return 1;
	return ldexp(1.0, (int)(i / BENCH_HIST_SUB) - 1);
}

/*
 * Percentiles: the nearest-rank sample's bucket, except that between two
 * occupied buckets at most one clock step (or one bucket) apart the CDF is
 * interpolated, each bucket's count sitting at its value (its cumulative
 * count taken at the middle of its mass). With a clock that advances in
 * steps (some virtual TSCs tick every ~10 ns) the samples fall on a grid and
 * the plain median snaps to a grid point; interpolating between neighbouring
 * grid points recovers the value the (unbiased, randomly phased) steps
 * average to. Across a wider empty span nothing is interpolated: a sparse
 * tail (p99.9 of a few thousand samples) must report a value that was
 * measured, not one invented between a typical sample and an outlier.
 */
double bench_hist_percentile(const struct bench_hist *h, double pct)
{
	double rank, need, step, prev_mid = 0, prev_v = 0, seen = 0, v;
	unsigned i;
	int have_prev = 0;

	if (!h->count)
		return 0;
	if (pct >= 100)
		return (double)h->max;
	if (pct < 0)
		pct = 0;
	rank = pct / 100.0 * (double)h->count;
	/* nearest rank, 1-based; the epsilon absorbs 99.9 / 100 * 1000 = 999.0000000000001 */
	need = ceil(rank - 1e-9);
	if (need < 1)
		need = 1;
	/* the clock's step in ticks (resolution_ns is 0 before bench_clock_init) */
	step = bench_clock.resolution_ns > 0 ? bench_clock.resolution_ns / bench_clock.ns_per_tick : 1;
	for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
		double mid, start, gap;

		if (!h->b[i])
			continue;
		start = seen;
		mid = seen + (double)h->b[i] / 2;
		seen += (double)h->b[i];
		v = bucket_value(i);
		if (mid >= rank) {
			gap = 1.5 * (step > bucket_width(i) ? step : bucket_width(i));
			if (have_prev && mid > prev_mid && v - prev_v <= gap)
				v = prev_v + (v - prev_v) * (rank - prev_mid) / (mid - prev_mid);
			else if (have_prev && need <= start)
				v = prev_v; /* the nearest-rank sample is in the previous bucket */
			if (v < (double)h->min)
				v = (double)h->min;
			if (v > (double)h->max)
				v = (double)h->max;
			return v;
		}
		prev_mid = mid;
		prev_v = v;
		have_prev = 1;
	}
	return (double)h->max;
}
