/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: multi-process stress. The parent creates a 4 MiB allocator
 * memfd (16 KiB slabs, 4 workers) and a MAP_SHARED block holding the ring
 * of SPSC queues and the shadow map, then forks four processes; each joins
 * the inherited memfd as its own worker (its own mapping) and runs the same
 * engine as the multi-thread stress: random sizes, local frees, offsets
 * handed to the next process and freed there remotely (checked with
 * xs_alloc_check first), periodic cleans, two processes on the xsched
 * policy and two on the upstream one. The shared shadow map proves no
 * granule is ever held by two processes. At the end each process owns no
 * slab; the parent joins the file and the audit finds every slab on the
 * global free list exactly once, with nothing in use. Bounded: 1.5 s or
 * 3M operations per process (1 s for the other formats); a process that
 * hangs is killed. argv[1] names the format ("0.2" by default): for 3.0
 * and 4.0 each process claims a slot (the one it gets is whatever the race
 * gives), and every slot ends released with no outstanding bytes.
 */
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc_testlib.h"
#include "testutil.h"
#include "xsched/shm.h"

#define NW 4
#define FILE_SIZE (4u << 20)

int main(int argc, char **argv)
{
	enum xs_alloc_format fmt = t_alloc_format_arg(argc, argv);
	size_t bytes = t_stress_bytes(NW, FILE_SIZE);
	struct t_stress *st = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct xs_alloc *a;
	struct xs_alloc_stats s;
	struct t_audit au;
	pid_t pid[NW];
	uint64_t limit, allocs = 0, remote = 0;
	uint32_t w, alive = NW;
	int fd = xs_memfd_create("xs-alloc-stress-mp", 0), failed = 0;

	T_ASSERT(st != MAP_FAILED);
	T_OK(fd);
	T_OK(xs_alloc_create_fmt(&a, fd, FILE_SIZE, NW, 16384, fmt, t_alloc_worker_arg(fmt, 0)));
	xs_alloc_close(a); /* the creator steps back: workers 0..3 are the children */
	t_stress_init(st, NW, FILE_SIZE, 3000000, (fmt == XS_ALLOC_FMT_0_2 ? 1500ull : 1000ull) * 1000000);
	fflush(NULL);
	for (w = 0; w < NW; w++) {
		pid[w] = fork();
		T_ASSERT(pid[w] >= 0);
		if (pid[w] == 0) {
			struct xs_alloc *me;

			if (xs_alloc_join_fmt(&me, fd, fmt, t_alloc_worker_arg(fmt, w)) < 0)
				_exit(2);
			if (w & 1)
				xs_alloc_set_policy(me, XS_ALLOC_POLICY_UPSTREAM, 0);
			_exit(t_stress_worker(st, w, me) == 0 ? 0 : 1);
		}
	}
	limit = t_now_ns() + 40ull * 1000000000ull;
	while (alive) {
		int status;
		pid_t r = waitpid(-1, &status, WNOHANG);

		if (r > 0) {
			alive--;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "worker process %d ended with status 0x%x\n", (int)r, status);
				failed = 1;
			}
			continue;
		}
		if (t_now_ns() > limit) {
			for (w = 0; w < NW; w++)
				kill(pid[w], SIGKILL);
			while (waitpid(-1, NULL, 0) > 0)
				;
			t_fail(__FILE__, __LINE__, "worker processes hung (killed)");
		}
		usleep(2000);
	}
	T_ASSERT(!st->failed, "%s", st->msg);
	T_ASSERT(!failed);
	for (w = 0; w < NW; w++) {
		allocs += st->allocs[w];
		remote += st->remote[w];
	}
	printf("allocs %llu, remote frees %llu\n", (unsigned long long)allocs, (unsigned long long)remote);
	T_ASSERT(allocs > 1000 && remote > 100);
	T_EQ(st->done_closing, NW);

	T_OK(xs_alloc_join_fmt(&a, fd, fmt, t_alloc_worker_arg(fmt, 0)));
	T_OK(t_alloc_audit(a, &au));
	T_EQ(au.global, xs_alloc_num_slabs(a));
	T_EQ(au.on_workers, 0);
	T_OK(xs_alloc_stats(a, &s, NULL, 0));
	T_EQ(s.bytes_in_use, 0);
	T_EQ(s.outstanding_bytes, 0);
	T_EQ(s.claimed_slots, fmt == XS_ALLOC_FMT_3_0 || fmt == XS_ALLOC_FMT_4_0 ? 1 : 0);
	for (w = 0; w < st->granules; w++)
		T_EQ(st->shadow[w], 0);
	xs_alloc_close(a);
	close(fd);
	munmap(st, bytes);
	return 0;
}
