/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: in the steady state a busy-polling reactor makes no system
 * call and no heap allocation.
 *
 * The test runs itself under `strace -f` (strace must be installed: the test
 * fails without it). The traced child starts two pinned reactors (one busy
 * lthread, one idle one, spin strategy), waits until they poll, marks the start
 * of a one-second window with a distinctive system call from the main thread
 * (getpgid(424241)), sleeps, marks the end (getpgid(424242)) and stops. The
 * parent then counts the reactor threads' lines between the two markers in the
 * trace: there must be none. Inside the child a counting allocator (malloc
 * interposition, or the sanitizer allocator hooks in sanitizer builds) counts
 * allocations made on the reactor threads during the window: none either.
 * The child also measures the runtime's own memory per reactor: the node-local
 * block plus the heap the runtime allocates for it (its stack excluded).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/metrics.h"
#include "xsched/runtime.h"

#define MARK_START 424241
#define MARK_END   424242

/* ---------------------------------------------------- counting allocator */

static _Thread_local int on_reactor;      /* set by the lthread init on reactor threads */
static _Atomic int counting;              /* inside the steady-state window */
static _Atomic uint64_t reactor_allocs;   /* allocations by reactor threads in the window */
static _Atomic int measuring;             /* main thread: measuring the runtime's heap */
static _Thread_local int on_main;
static _Atomic uint64_t main_bytes, main_allocs;

static void count_alloc(size_t size)
{
	if (on_reactor && atomic_load_explicit(&counting, memory_order_relaxed))
		atomic_fetch_add_explicit(&reactor_allocs, 1, memory_order_relaxed);
	if (on_main && atomic_load_explicit(&measuring, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&main_bytes, size, memory_order_relaxed);
		atomic_fetch_add_explicit(&main_allocs, 1, memory_order_relaxed);
	}
}

#if defined(XS_SANITIZER)
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
					      void (*f)(const volatile void *));

static void san_malloc_hook(const volatile void *p, size_t size)
{
	(void)p;
	count_alloc(size);
}

static void san_free_hook(const volatile void *p)
{
	(void)p;
}

static void install_counter(void)
{
	T_ASSERT(__sanitizer_install_malloc_and_free_hooks(san_malloc_hook, san_free_hook));
}
#else
/* glibc's own entry points, under the names it exports for interposers */
void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void *aligned_alloc(size_t align, size_t size);
int posix_memalign(void **out, size_t align, size_t size);

void *malloc(size_t size)
{
	count_alloc(size);
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	count_alloc(n * size);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	count_alloc(size);
	return __libc_realloc(p, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	count_alloc(size);
	return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	count_alloc(size);
	p = __libc_memalign(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

static void install_counter(void)
{
}
#endif

/* ---------------------------------------------------- child */

static int mark_init(void *arg)
{
	(void)arg;
	on_reactor = 1;
	return 0;
}

static int busy_poll(void *arg)
{
	uint64_t *n = arg;

	return (int)(++*n & 1); /* busy every other call */
}

static int idle_poll(void *arg)
{
	(void)arg;
	return 0;
}

static int child(const char *result_path)
{
	struct xs_topo *sys;
	struct xs_rt_params prm;
	struct xs_rt *rt;
	struct xs_reactor_info ri[2];
	struct xs_lthread_stats ls;
	uint64_t ctr[2] = { 0, 0 }, polls0;
	FILE *out;

	install_counter();
	on_main = 1;
	T_OK(xs_topo_load(&sys, "system"));
	xs_rt_params_init(&prm);
	prm.topo = sys;
	prm.idle = XS_IDLE_SPIN;
	atomic_store(&measuring, 1);
	T_OK(xs_rt_create(&rt, &prm));
	for (int r = 0; r < 2; r++) {
		struct xs_lthread_spec busy = { .name = "busy", .poll = busy_poll, .arg = &ctr[r],
						.init = mark_init };
		struct xs_lthread_spec idle = { .name = "idle", .poll = idle_poll };

		T_OK(xs_rt_add_reactor(rt, r ? "xs-w0" : "xs-tpu", r, -1));
		T_OK(xs_rt_add_lthread(rt, r, &busy));
		T_OK(xs_rt_add_lthread(rt, r, &idle));
	}
	T_OK(xs_rt_start(rt));
	atomic_store(&measuring, 0);
	/* --metrics: the same window with the metrics object published and
	 * sampled every 10 ms by its publisher thread (not a reactor) */
	const char *mdir = getenv("XS_NOSYS_METRICS_DIR");
	struct xs_metrics *metrics = NULL;

	if (mdir) {
		struct xs_metrics_opts mo;

		xs_metrics_opts_init(&mo);
		mo.dir = mdir;
		mo.interval_ms = 10;
		mo.no_atexit = 1;
		T_OK(xs_metrics_publish(&metrics, rt, &mo));
	}
	/* steady state: both reactors are polling */
	for (int i = 0; i < 4; i += 2)
		do {
			T_OK(xs_rt_lthread_stats(rt, i, &ls));
		} while (ls.polls < 100000);
	T_OK(xs_rt_lthread_stats(rt, 0, &ls));
	polls0 = ls.polls;

	atomic_store(&counting, 1);
	syscall(SYS_getpgid, MARK_START);
	usleep(1000000);
	syscall(SYS_getpgid, MARK_END);
	atomic_store(&counting, 0);
	if (metrics) { /* it was sampling all along, and saw the reactors work */
		struct xs_metrics_view v;
		struct xs_metrics_snap s;

		T_OK(xs_metrics_view_open_pid(&v, mdir, getpid()));
		T_OK(xs_metrics_snap(&v, &s));
		T_ASSERT(s.hdr->samples >= 20, "%llu metrics samples", (unsigned long long)s.hdr->samples);
		T_ASSERT(((const struct xs_metrics_lthread_shm *)xs_metrics_rec(&s, XS_MSECT_LTHREAD, 0))->polls > 0);
		xs_metrics_snap_free(&s);
		xs_metrics_view_close(&v);
	}

	T_OK(xs_rt_lthread_stats(rt, 0, &ls));
	for (int r = 0; r < 2; r++)
		T_OK(xs_rt_reactor_info(rt, r, &ri[r]));
	xs_rt_stop(rt);
	T_OK(xs_rt_join(rt));
	out = fopen(result_path, "w");
	T_ASSERT(out != NULL);
	fprintf(out, "tids %d %d\nallocs %llu\npolls %llu\nfootprint %zu\nheap %llu %llu\n",
		(int)ri[0].tid, (int)ri[1].tid, (unsigned long long)atomic_load(&reactor_allocs),
		(unsigned long long)(ls.polls - polls0), ri[0].mem_bytes,
		(unsigned long long)atomic_load(&main_bytes),
		(unsigned long long)atomic_load(&main_allocs));
	fclose(out);
	xs_rt_destroy(rt);
	xs_metrics_close(metrics);
	xs_topo_destroy(sys);
	return 0;
}

/* ---------------------------------------------------- parent */

int main(int argc, char **argv)
{
	char trace[] = "/tmp/xs-nosys-trace-XXXXXX", result[] = "/tmp/xs-nosys-res-XXXXXX";
	char line[4096], self[4096];
	int fd, status, tid[2], in_window = 0, seen_start = 0, seen_end = 0, reactor_lines = 0;
	int window_lines = 0, reactor_total = 0;
	unsigned long long allocs, polls, footprint, heap, heap_n;
	ssize_t n;
	pid_t pid;
	FILE *f;

	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child(argv[2]);
	char mdir[] = "/tmp/xs-nosys-met-XXXXXX";
	int with_metrics = argc == 2 && !strcmp(argv[1], "--metrics");

	if (with_metrics) { /* the child publishes metrics there (see child()) */
		T_ASSERT(mkdtemp(mdir) != NULL);
		setenv("XS_NOSYS_METRICS_DIR", mdir, 1);
	}

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	T_ASSERT(n > 0);
	self[n] = '\0';
	T_ASSERT((fd = mkstemp(trace)) >= 0);
	close(fd);
	T_ASSERT((fd = mkstemp(result)) >= 0);
	close(fd);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		/* LeakSanitizer cannot run under ptrace */
		const char *asan = getenv("ASAN_OPTIONS");
		char opts[1024];

		snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", asan ? asan : "", asan ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
		execlp("strace", "strace", "-f", "-qq", "-o", trace, self, "--child", result, (char *)NULL);
		fprintf(stderr, "FAIL: cannot run strace (%s): this test needs strace installed\n",
			strerror(errno));
		_exit(127);
	}
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "traced child failed (status %#x)%s",
		 status, WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ": strace missing" : "");

	f = fopen(result, "r");
	T_ASSERT(f != NULL);
	T_EQ(fscanf(f, "tids %d %d allocs %llu polls %llu footprint %llu heap %llu %llu", &tid[0],
		    &tid[1], &allocs, &polls, &footprint, &heap, &heap_n), 7);
	fclose(f);

	f = fopen(trace, "r");
	T_ASSERT(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		int who = atoi(line);

		if (strstr(line, "getpgid(424241")) {
			seen_start = in_window = 1;
			continue;
		}
		if (strstr(line, "getpgid(424242")) {
			seen_end = 1;
			in_window = 0;
			continue;
		}
		if (who == tid[0] || who == tid[1]) {
			reactor_total++;
			if (in_window) {
				reactor_lines++;
				fprintf(stderr, "reactor syscall in steady state: %s", line);
			}
		}
		if (in_window)
			window_lines++;
	}
	fclose(f);
	T_ASSERT(seen_start && seen_end, "window markers missing from the trace %s", trace);
	/* the parse is right: the reactors' start-up calls were seen */
	T_ASSERT(reactor_total > 0, "no line from reactor threads %d/%d in the trace", tid[0], tid[1]);
	printf("steady state: %llu polls of the busy lthread in ~1 s under strace; reactor syscalls "
	       "in the window: %d (other threads: %d lines); reactor heap allocations: %llu\n",
	       polls, reactor_lines, window_lines - reactor_lines, allocs);
	printf("footprint per reactor (besides its stack): %llu bytes (node-local block + "
	       "descriptors); heap allocated while creating and starting 2 reactors (transient "
	       "included): %llu bytes in %llu allocations\n",
	       footprint, heap, heap_n);
	T_EQ(reactor_lines, 0);
	T_EQ(allocs, 0);
	T_ASSERT(polls > 0);
	T_ASSERT(footprint < 64 * 1024);
	unlink(trace);
	unlink(result);
	if (with_metrics) /* empty again: the object was unlinked at close */
		T_ASSERT(rmdir(mdir) == 0, "%s: %s", mdir, strerror(errno));
	printf("ok\n");
	return 0;
}
