/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: start / stop / join / destroy under load, 1000 times (or until
 * 20 s have passed, for slow sanitizer builds): two pinned reactors with two
 * busy lthreads each; stop alternately from the main thread, from a signal
 * handler and from inside a poll function. Every join returns, no descriptor,
 * thread or mapping is left behind, and a monitor thread reads the counters
 * all along (TSan checks those reads). Prints the stop-to-joined latencies.
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/runtime.h"

#define ITERATIONS 1000
#define TIME_BUDGET_NS (20ull * 1000000000ull)
#define HANG_NS (10ull * 1000000000ull) /* a join slower than this is a hang */

struct load {
	_Atomic uint64_t calls;
	struct xs_rt *stop_rt; /* stop from inside after 2000 calls */
	uint64_t sink;
};

static int load_poll(void *arg)
{
	struct load *l = arg;
	uint64_t n = atomic_fetch_add_explicit(&l->calls, 1, memory_order_relaxed) + 1;

	for (int i = 0; i < 64; i++) /* some work per call */
		l->sink = l->sink * 6364136223846793005ull + (uint64_t)i;
	if (l->stop_rt && n == 2000)
		xs_rt_stop(l->stop_rt);
	return 1;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	T_ASSERT(d != NULL);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	T_ASSERT(f != NULL);
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/* The runtime being exercised, for the monitor thread. */
static struct xs_rt *_Atomic current;
static pthread_mutex_t current_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int monitor_quit;
static _Atomic uint64_t monitor_reads;

static void *monitor(void *arg)
{
	(void)arg;
	while (!atomic_load(&monitor_quit)) {
		pthread_mutex_lock(&current_mu);
		struct xs_rt *rt = atomic_load(&current);

		if (rt) {
			struct xs_lthread_stats ls;
			struct xs_reactor_info ri;

			for (int i = 0; i < xs_rt_nlthreads(rt); i++)
				T_OK(xs_rt_lthread_stats(rt, i, &ls));
			for (int i = 0; i < xs_rt_nreactors(rt); i++)
				T_OK(xs_rt_reactor_info(rt, i, &ri));
			atomic_fetch_add(&monitor_reads, 1);
		}
		pthread_mutex_unlock(&current_mu);
		usleep(200);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	static uint64_t lat[ITERATIONS];
	int fds0 = t_fd_count(), tasks_warm = 0, maps_warm = 0, it;
	uint64_t t0 = t_now_ns();
	pthread_t mon;

	T_ASSERT(pthread_create(&mon, NULL, monitor, NULL) == 0);
	for (it = 0; it < ITERATIONS && t_now_ns() - t0 < TIME_BUDGET_NS; it++) {
		struct load l[4];
		struct xs_rt *rt;
		struct xs_rt_params prm;
		int how = it % 3;
		uint64_t ts, te;

		memset(l, 0, sizeof(l));
		xs_rt_params_init(&prm);
		T_OK(xs_rt_create(&rt, &prm));
		for (int r = 0; r < 2; r++) {
			T_OK(xs_rt_add_reactor(rt, r ? "xs-w0" : "xs-tpu", r, XS_IDLE_SPIN));
			for (int k = 0; k < 2; k++) {
				struct xs_lthread_spec s = { .poll = load_poll, .arg = &l[r * 2 + k] };

				T_OK(xs_rt_add_lthread(rt, r, &s));
			}
		}
		if (how == 2)
			l[3].stop_rt = rt;
		if (how == 1)
			T_OK(xs_rt_stop_on_signal(rt, SIGUSR2));
		T_OK(xs_rt_start(rt));
		pthread_mutex_lock(&current_mu);
		atomic_store(&current, rt);
		pthread_mutex_unlock(&current_mu);
		/* under load: every lthread has run (unless an lthread already stopped it) */
		for (int k = 0; k < 4; k++)
			while (atomic_load_explicit(&l[k].calls, memory_order_relaxed) == 0 &&
			       !xs_rt_stopping(rt)) {
				T_ASSERT(t_now_ns() - t0 < TIME_BUDGET_NS + HANG_NS, "lthread %d never ran", k);
				sched_yield();
			}
		ts = t_now_ns();
		if (how == 0)
			xs_rt_stop(rt);
		else if (how == 1)
			T_OK(raise(SIGUSR2));
		T_OK(xs_rt_join(rt));
		te = t_now_ns();
		lat[it] = te - ts;
		T_ASSERT(lat[it] < HANG_NS, "join took %llu ns", (unsigned long long)lat[it]);
		pthread_mutex_lock(&current_mu);
		atomic_store(&current, NULL);
		pthread_mutex_unlock(&current_mu);
		xs_rt_destroy(rt);
		if (it == 9) {
			/* after glibc's stack cache filled and sanitizer threads started */
			maps_warm = count_maps();
			tasks_warm = count_dir("/proc/self/task");
		}
	}
	/* every reactor thread is gone: main + monitor (+ a sanitizer's own thread) */
	T_EQ(count_dir("/proc/self/task"), tasks_warm);
	atomic_store(&monitor_quit, 1);
	pthread_join(mon, NULL);
	signal(SIGUSR2, SIG_DFL);

	T_ASSERT(it >= 10, "only %d iterations", it);
	T_EQ(t_fd_count(), fds0);
	/* a leaked reactor block or stack would add one mapping per cycle; allow
	 * the allocator (and the sanitizers' allocators) a few regions of growth */
	T_ASSERT(count_maps() <= maps_warm + 32, "mappings grew from %d to %d", maps_warm, count_maps());
	qsort(lat, (size_t)it, sizeof(lat[0]), cmp_u64);
	printf("%d start/stop/join cycles in %.2f s (budget %d cycles or %llu s); stop->joined: "
	       "median %.1f us, p99 %.1f us, max %.1f us; %llu monitor passes\n",
	       it, (double)(t_now_ns() - t0) / 1e9, ITERATIONS,
	       (unsigned long long)(TIME_BUDGET_NS / 1000000000ull), (double)lat[it / 2] / 1e3,
	       (double)lat[it * 99 / 100] / 1e3, (double)lat[it - 1] / 1e3,
	       (unsigned long long)atomic_load(&monitor_reads));
	printf("ok\n");
	return 0;
}
