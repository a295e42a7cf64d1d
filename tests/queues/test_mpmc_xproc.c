/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: cross-process stress of the MPMC queue: 3 producer and 2
 * consumer processes (more than the machine's 2 cores: waiting sides yield
 * or sleep) move 1 M elements through one memfd queue that each process maps
 * itself, in format 3.0 (consumers also sleep on the futex, woken by the
 * producer processes) and format 2.0 (polling). Every API at random
 * (mpmc_stress.h). Every element must arrive exactly once (a one-byte counter
 * per element in a MAP_SHARED table), untorn, each producer's elements in
 * order at each consumer. A process that hangs is killed at a hard deadline
 * and the test fails; no timing is asserted.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mpmc_stress.h"
#include "xsched/shm.h"

#define NPROD 3
#define NCONS 2
#define ITEMS 1000000
#define HARD_S 90

struct result {
	uint64_t items, calls, waits, stalls, blocks;
	int done;
};

static void run(enum xs_shaq_format fmt, uint64_t cap, size_t esz, uint64_t items)
{
	size_t size = xs_shaq_min_file_size(fmt, XS_SHAQ_MPMC, cap, esz, 8), shsz;
	int fd = xs_memfd_create("xs-test-mpmc-xproc", 0);
	uint64_t per[NPROD], t0 = t_now_ns(), got = 0, sent = 0, stalls = 0, blocks = 0;
	struct ms_shared *sh;
	struct result *res;
	struct xs_mpmc q;
	pid_t pids[NPROD + NCONS];
	char name[128];

	T_OK(fd);
	for (int p = 0; p < NPROD; p++)
		per[p] = items / NPROD + (p < (int)(items % NPROD));
	shsz = ms_shared_size(NPROD, per);
	sh = mmap(NULL, shsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	res = mmap(NULL, sizeof(*res) * (NPROD + NCONS), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T_ASSERT(sh != MAP_FAILED && res != MAP_FAILED);
	ms_shared_init(sh, NPROD, per);
	memset(res, 0, sizeof(*res) * (NPROD + NCONS));
	snprintf(name, sizeof(name), "format %s, %dP/%dC processes, cap %llu, elem %zu",
		 xs_shaq_format_name(fmt), NPROD, NCONS, (unsigned long long)cap, esz);
	/* the consumer side creates (as the agave server does for pack_to_check_worker) */
	T_OK(xs_mpmc_create(&q, fd, size, esz, 8, fmt, XS_MPMC_CONSUMER));
	xs_mpmc_close(&q);
	fflush(NULL);
	for (int i = 0; i < NPROD + NCONS; i++) {
		pids[i] = fork();
		T_ASSERT(pids[i] >= 0);
		if (pids[i] == 0) {
			struct ms_run r;
			int prod = i < NPROD;

			memset(&r, 0, sizeof(r));
			T_OK(xs_mpmc_join(&q, fd, esz, 8, (i & 1) ? XS_SHAQ_ANY : fmt,
					  prod ? XS_MPMC_PRODUCER : XS_MPMC_CONSUMER));
			r.q = &q;
			r.sh = sh;
			r.esz = esz;
			r.id = i;
			r.nprod = NPROD;
			r.block_every = 64; /* a sleep costs the 2 cores a lot: keep it to some */
			r.salt = se_mix(0xabcdefull + (uint64_t)fmt);
			r.seed = (uint64_t)i * 7777 + 3;
			r.hard_ns = t_now_ns() + (uint64_t)HARD_S * 1000000000ull;
			r.name = name;
			if (prod)
				ms_producer(&r);
			else
				ms_consumer(&r);
			if (xs_mpmc_error(&q))
				_exit(3);
			res[i] = (struct result){ r.items, r.calls, r.waits, r.stalls, r.blocks, 1 };
			xs_mpmc_close(&q);
			_exit(0);
		}
	}
	for (int i = 0; i < NPROD + NCONS; i++) {
		uint64_t deadline = t_now_ns() + (uint64_t)HARD_S * 1000000000ull;
		int st;

		for (;;) {
			pid_t w = waitpid(pids[i], &st, WNOHANG);

			T_ASSERT(w >= 0);
			if (w == pids[i])
				break;
			if (t_now_ns() > deadline) {
				for (int j = 0; j < NPROD + NCONS; j++)
					kill(pids[j], SIGKILL);
				t_fail(__FILE__, __LINE__, "%s: process %d hung (consumed %llu of %llu)",
				       name, i, (unsigned long long)sh->consumed,
				       (unsigned long long)sh->total);
			}
			usleep(2000);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !res[i].done)
			t_fail(__FILE__, __LINE__, "%s: process %d failed (status 0x%x)", name, i, st);
		if (i < NPROD)
			sent += res[i].items;
		else
			got += res[i].items;
		stalls += res[i].stalls;
		blocks += res[i].blocks;
	}
	T_EQ(sent, items);
	T_EQ(got, items);
	ms_shared_check(sh, name);
	if (fmt == XS_SHAQ_3_0) { /* every sleeper unregistered */
		uint64_t w;

		T_EQ(pread(fd, &w, 8, 320), 8);
		T_EQ(w, 0);
	}
	printf("%s: %llu elements exactly once in %.2f s (%llu blocking pops, %llu stalled waits)\n",
	       name, (unsigned long long)items, (double)(t_now_ns() - t0) / 1e9,
	       (unsigned long long)blocks, (unsigned long long)stalls);
	munmap(sh, shsz);
	munmap(res, sizeof(*res) * (NPROD + NCONS));
	close(fd);
}

int main(void)
{
	int fds = t_fd_count();

	run(XS_SHAQ_3_0, 256, 24, ITEMS);
	run(XS_SHAQ_2_0, 64, 40, ITEMS / 4);
	T_EQ(t_fd_count(), fds);
	return 0;
}
