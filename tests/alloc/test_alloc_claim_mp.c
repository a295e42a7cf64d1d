/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: claims and remote frees between processes, formats 3.0 and
 * 4.0 (each process its own mapping of one memfd).
 *  - claim race: the creator holds slot 0; eight processes join with
 *    XS_ALLOC_CLAIM at once: each gets its own slot, together exactly
 *    1 .. 8; then each releases and reclaims 25 times while the others do
 *    the same: a shared counter per slot proves no slot ever has two
 *    holders; at the end only the creator's slot is claimed;
 *  - remote frees from several processes, drained by the owner: the owner
 *    allocates 3000 slots of every class, four processes claim slots and
 *    free a quarter each (one by one and in batches of up to 64: 4.0's
 *    per-owner chains, 3.0's per-slab runs) while the owner drains
 *    concurrently; every slot comes back exactly once (cleaned count),
 *    nothing stays in use, no outstanding bytes, every slab on the global
 *    list after a trim.
 * Bounded: a process that hangs is killed after 30 s.
 */
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc_testlib.h"
#include "testutil.h"
#include "xsched/shm.h"

#define MiB (1024u * 1024u)
#define NP 8
#define ROUNDS 25
#define NFREERS 4
#define K 3000

struct shared {
	uint32_t arrived;            /* barrier: children that claimed their first slot */
	uint32_t violations;         /* a slot with two holders */
	uint32_t failed;
	uint32_t slot1[NP];          /* first claims */
	uint32_t holders[4096];      /* current holders per slot */
	uint64_t offs[K];
	char msg[200];
};

static void fail(struct shared *sh, const char *what)
{
	if (!__atomic_exchange_n(&sh->failed, 1, __ATOMIC_ACQ_REL))
		snprintf(sh->msg, sizeof(sh->msg), "%s: %s", what, xs_errmsg());
}

/* Wait for every child, killing them all after a deadline. */
static void reap(pid_t *pid, int n, const struct shared *sh)
{
	uint64_t limit = t_now_ns() + 30ull * 1000000000ull;
	int alive = n, failed = 0, i;

	while (alive) {
		int status;
		pid_t r = waitpid(-1, &status, WNOHANG);

		if (r > 0) {
			alive--;
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "process %d ended with status 0x%x\n", (int)r, status);
				failed = 1;
			}
			continue;
		}
		if (t_now_ns() > limit) {
			for (i = 0; i < n; i++)
				kill(pid[i], SIGKILL);
			while (waitpid(-1, NULL, 0) > 0)
				;
			t_fail(__FILE__, __LINE__, "processes hung (killed)");
		}
		usleep(1000);
	}
	T_ASSERT(!failed, "%s (slot violations: %u)", sh->msg, sh->violations);
}

/* Hold slot w: count it, and fail if somebody else holds it too. */
static int hold(struct shared *sh, uint32_t w)
{
	if (w >= 4096 || __atomic_add_fetch(&sh->holders[w], 1, __ATOMIC_ACQ_REL) != 1) {
		__atomic_fetch_add(&sh->violations, 1, __ATOMIC_ACQ_REL);
		return -1;
	}
	return 0;
}

static void unhold(struct shared *sh, uint32_t w)
{
	__atomic_fetch_sub(&sh->holders[w], 1, __ATOMIC_ACQ_REL);
}

static int claimer(struct shared *sh, int fd, enum xs_alloc_format f, int i)
{
	struct xs_alloc *a;
	uint64_t limit = t_now_ns() + 20ull * 1000000000ull;
	int r;

	if (xs_alloc_join_fmt(&a, fd, f, XS_ALLOC_CLAIM) < 0)
		return fail(sh, "first claim"), 1;
	sh->slot1[i] = xs_alloc_worker(a);
	if (hold(sh, xs_alloc_worker(a)) < 0)
		return 1;
	__atomic_fetch_add(&sh->arrived, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&sh->arrived, __ATOMIC_ACQUIRE) < NP) {
		if (t_now_ns() > limit || __atomic_load_n(&sh->failed, __ATOMIC_ACQUIRE))
			return fail(sh, "barrier"), 1;
		sched_yield();
	}
	for (r = 0; r < ROUNDS; r++) {
		unhold(sh, xs_alloc_worker(a)); /* before the release: the next holder may come at once */
		xs_alloc_close(a);
		if (xs_alloc_join_fmt(&a, fd, f, XS_ALLOC_CLAIM) < 0)
			return fail(sh, "reclaim"), 1;
		/* at most 1 + NP slots are ever held: the first free is below that */
		if (xs_alloc_worker(a) > NP || hold(sh, xs_alloc_worker(a)) < 0)
			return fail(sh, "slot"), 1;
		if (r & 1)
			sched_yield();
	}
	unhold(sh, xs_alloc_worker(a));
	xs_alloc_close(a);
	return 0;
}

static void test_claim_race(enum xs_alloc_format f, struct shared *sh)
{
	struct xs_alloc *a;
	struct xs_alloc_info info;
	pid_t pid[NP];
	uint32_t seen = 0;
	int fd = xs_memfd_create("xs-alloc-claim-mp", 0), i;

	T_OK(fd);
	memset(sh, 0, sizeof(*sh));
	T_OK(xs_alloc_create_fmt(&a, fd, 4 * MiB, 1, 16384, f, XS_ALLOC_CLAIM));
	T_EQ(xs_alloc_worker(a), 0);
	T_OK(hold(sh, 0));
	fflush(NULL);
	for (i = 0; i < NP; i++) {
		pid[i] = fork();
		T_ASSERT(pid[i] >= 0);
		if (pid[i] == 0)
			_exit(claimer(sh, fd, f, i));
	}
	reap(pid, NP, sh);
	T_ASSERT(!sh->failed, "%s", sh->msg);
	T_EQ(sh->violations, 0);
	for (i = 0; i < NP; i++) {
		T_ASSERT(sh->slot1[i] >= 1 && sh->slot1[i] <= NP, "slot %u", sh->slot1[i]);
		T_ASSERT(!(seen & (1u << sh->slot1[i])), "slot %u claimed twice", sh->slot1[i]);
		seen |= 1u << sh->slot1[i];
	}
	T_OK(xs_alloc_probe_fd(fd, &info));
	T_EQ(info.claimed, 1);
	T_EQ(info.first_free, 1);
	xs_alloc_close(a);
	T_OK(xs_alloc_probe_fd(fd, &info));
	T_EQ(info.claimed, 0);
	close(fd);
}

static int freer(struct shared *sh, int fd, enum xs_alloc_format f, int i)
{
	struct xs_alloc *b;
	uint64_t batch[64];
	size_t n = 0, k;
	int single = 1;

	if (xs_alloc_join_fmt(&b, fd, f, XS_ALLOC_CLAIM) < 0)
		return fail(sh, "freer claim"), 1;
	for (k = (size_t)i; k < K; k += NFREERS) {
		if (single) {
			if (xs_alloc_free_offset(b, sh->offs[k]) < 0)
				return fail(sh, "single remote free"), 1;
		} else {
			batch[n++] = sh->offs[k];
			if (n == 64 || k + NFREERS >= K) {
				if (xs_alloc_free_offsets(b, batch, n) < 0)
					return fail(sh, "batched remote free"), 1;
				n = 0;
			}
		}
		if ((k / NFREERS) % 97 == 0) {
			if (n && xs_alloc_free_offsets(b, batch, n) < 0)
				return fail(sh, "batched remote free"), 1;
			n = 0;
			single = !single;
		}
	}
	if (n && xs_alloc_free_offsets(b, batch, n) < 0)
		return fail(sh, "batched remote free"), 1;
	if (xs_alloc_counters(b)->frees_remote != (K - (size_t)i + NFREERS - 1) / NFREERS)
		return fail(sh, "count"), 1;
	xs_alloc_close(b);
	return 0;
}

static void test_remote_drain(enum xs_alloc_format f, struct shared *sh)
{
	struct xs_alloc *a;
	struct xs_alloc_stats st;
	struct t_audit au;
	pid_t pid[NFREERS];
	uint64_t rng = 99, cleaned = 0;
	int fd = xs_memfd_create("xs-alloc-claim-mp", 0), i, alive, rc;

	T_OK(fd);
	memset(sh, 0, sizeof(*sh));
	T_OK(xs_alloc_create_fmt(&a, fd, 16 * MiB, NFREERS + 1, 16384, f, XS_ALLOC_CLAIM));
	for (i = 0; i < K; i++) {
		T_OK(xs_alloc_alloc_offset(a, 1 + t_rand(&rng) % 4096, &sh->offs[i]));
		memset(xs_alloc_ptr(a, sh->offs[i]), 0x77, 16);
	}
	fflush(NULL);
	for (i = 0; i < NFREERS; i++) {
		pid[i] = fork();
		T_ASSERT(pid[i] >= 0);
		if (pid[i] == 0)
			_exit(freer(sh, fd, f, i));
	}
	/* drain while they free */
	for (alive = NFREERS; alive;) {
		int status;
		pid_t r = waitpid(-1, &status, WNOHANG);

		if (r > 0) {
			T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", sh->msg);
			alive--;
		}
		rc = xs_alloc_clean_remote(a);
		T_OK(rc);
		cleaned += (uint64_t)rc;
		sched_yield();
	}
	T_ASSERT(!sh->failed, "%s", sh->msg);
	rc = xs_alloc_clean_remote(a);
	T_OK(rc);
	cleaned += (uint64_t)rc;
	T_EQ(cleaned, K);
	T_EQ(xs_alloc_counters(a)->cleaned, K);
	T_OK(xs_alloc_stats(a, &st, NULL, 0));
	T_EQ(st.bytes_in_use, 0);
	T_EQ(st.outstanding_bytes, 0);
	T_EQ(st.handle_outstanding, 0);
	T_EQ(st.claimed_slots, 1);
	T_EQ(st.remote_pending_workers, 0);
	T_OK(xs_alloc_trim(a));
	T_OK(t_alloc_audit(a, &au));
	T_EQ(au.global, xs_alloc_num_slabs(a));
	xs_alloc_close(a);
	close(fd);
}

int main(void)
{
	struct shared *sh = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	T_ASSERT(sh != MAP_FAILED);
	test_claim_race(XS_ALLOC_FMT_4_0, sh);
	test_claim_race(XS_ALLOC_FMT_3_0, sh);
	test_remote_drain(XS_ALLOC_FMT_4_0, sh);
	test_remote_drain(XS_ALLOC_FMT_3_0, sh);
	munmap(sh, sizeof(struct shared));
	return 0;
}
