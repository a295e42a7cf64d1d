/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark harness, clock: the invariant TSC calibrated against
 * CLOCK_MONOTONIC_RAW when the CPU has one, else CLOCK_MONOTONIC_RAW itself;
 * what one read costs and the clock's resolution (some virtual TSCs advance
 * in steps). See harness.h for the contract.
 */
#include "harness.h"

#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

struct bench_clock bench_clock = {0, 0, 0, 1.0, 0, 0, "monotonic_raw", "not initialised"};

#if defined(__x86_64__)
static int tsc_is_invariant(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
		return 0;
	__get_cpuid(0x80000007u, &a, &b, &c, &d);
	return (d >> 8) & 1; /* "TscInvariant" (AMD) / "Invariant TSC" (Intel) */
}

/* One (mono ns, tsc) pair with the tightest bracket out of a few tries. */
static void tsc_pair(uint64_t *ns, uint64_t *tsc)
{
	uint64_t best = UINT64_MAX;
	int k;

	for (k = 0; k < 7; k++) {
		uint64_t n0 = bench_mono_ns();
		uint64_t t = __builtin_ia32_rdtsc();
		uint64_t n1 = bench_mono_ns();

		if (n1 - n0 < best) {
			best = n1 - n0;
			*ns = n0 + (n1 - n0) / 2;
			*tsc = t;
		}
	}
}
#endif

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void measure_read_cost(void)
{
	enum { N = 2001 };
	static uint64_t d[N];
	int i;

	for (i = 0; i < N; i++) {
		uint64_t t0 = bench_ticks();
		uint64_t t1 = bench_ticks();

		d[i] = t1 - t0;
	}
	qsort(d, N, sizeof(d[0]), cmp_u64);
	bench_clock.read_cost_ns = bench_ticks_to_ns((double)d[N / 2]);
	/* Resolution: the typical step between two different readings (some
	 * virtual TSCs advance in steps of ~10 ns, not one cycle). */
	for (i = 0; i < N; i++) {
		uint64_t t0 = bench_ticks(), t1;

		while ((t1 = bench_ticks()) == t0)
			;
		d[i] = t1 - t0;
	}
	qsort(d, N, sizeof(d[0]), cmp_u64);
	bench_clock.resolution_ns = bench_ticks_to_ns((double)d[N / 2]);
}

void bench_clock_init(int force_monotonic)
{
	bench_clock.tsc = 0;
	bench_clock.tsc_hz = 0;
	bench_clock.ns_per_tick = 1.0;
	bench_clock.name = "monotonic_raw";
#if defined(__x86_64__)
	bench_clock.tsc_invariant = tsc_is_invariant();
	if (force_monotonic) {
		bench_clock.why = "forced by --clock monotonic";
	} else if (!bench_clock.tsc_invariant) {
		bench_clock.why = "TSC not invariant (cpuid 0x80000007 EDX[8] clear)";
	} else {
		uint64_t n0, t0, n1, t1;
		struct timespec nap = {0, 25 * 1000 * 1000};
		double hz;

		tsc_pair(&n0, &t0);
		nanosleep(&nap, NULL);
		tsc_pair(&n1, &t1);
		hz = (double)(t1 - t0) * 1e9 / (double)(n1 - n0);
		if (hz < 1e8 || hz > 2e10) {
			bench_clock.why = "TSC calibration gave an implausible frequency";
		} else {
			bench_clock.tsc = 1;
			bench_clock.tsc_hz = hz;
			bench_clock.ns_per_tick = 1e9 / hz;
			bench_clock.name = "tsc";
			bench_clock.why = "invariant TSC, calibrated against CLOCK_MONOTONIC_RAW";
		}
	}
#else
	(void)force_monotonic;
	bench_clock.why = "no TSC on this architecture";
#endif
	measure_read_cost();
}

uint64_t bench_deadline(double seconds)
{
	if (!(seconds > 0))
		return UINT64_MAX;
	return bench_ticks() + bench_ns_to_ticks(seconds * 1e9);
}
