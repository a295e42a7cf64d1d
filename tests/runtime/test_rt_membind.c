/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: binding shared-memory objects to a NUMA node before their
 * first touch, on the creating side.
 *  - xs_mem_bind_fd() on a memfd sets the object's shared policy: a fresh
 *    mapping, in this process and in a child, reports MPOL_BIND to node 0
 *    (raw get_mempolicy(MPOL_F_ADDR)), an unbound memfd does not, and the
 *    pages touched afterwards are on node 0 (xs_mem_nodes). Binding before
 *    the file is sized works too (shmem keeps the policy by offset).
 *  - Refusals with a clear message: a node that does not exist (7, -1), a
 *    synthetic topology, an object already touched, something that is not
 *    shared memory, bad arguments.
 *  - "huge" (its own CTest test): hugetlbfs refuses an unsized file, then
 *    places its pages, or fails cleanly where there is no huge page; that
 *    case is a CTest skip (exit 77), never a silent pass.
 *  - xs_alloc_create_sized() accepts exactly the pre-sized empty file.
 *  - A handshake server with a bind hook calls it exactly 3 + 2W times and
 *    every object of the session is bound (validator-side and client-side
 *    mappings); under the huge-page policy the extra calls are the hugetlbfs
 *    attempts. A failing hook rejects the logon with the object named in the
 *    detail, at the first object and in the middle of the workers.
 *  - The descriptor count is unchanged after every failure.
 */
#include <errno.h>
#include <linux/mempolicy.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/alloc.h"
#include "xsched/handshake.h"
#include "xsched/runtime.h"
#include "xsched/shm.h"

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

#define W 3u
#define MASK_BITS 1024ul

static size_t page;
static unsigned long node0_bit; /* bit of node 0's OS number in a nodemask word */

/* Policy of the page at @p addr (raw syscall, no libnuma): mode and the
 * first word of the node mask. */
static void policy_at(const void *addr, int *mode, unsigned long *mask0)
{
	unsigned long mask[MASK_BITS / (8 * sizeof(unsigned long))];

	memset(mask, 0, sizeof(mask));
	*mode = -1;
	T_OK((int)syscall(SYS_get_mempolicy, mode, mask, MASK_BITS, addr, (unsigned long)MPOL_F_ADDR));
	*mask0 = mask[0];
}

/* Every page of [base, base+len) sampled (first, middle, last) is MPOL_BIND
 * to node 0 only. */
static void expect_bound(const void *base, size_t len, const char *what)
{
	const uint8_t *b = base;
	size_t offs[3] = { 0, len / 2 / page * page, (len - 1) / page * page };
	unsigned long m0;
	int mode;

	for (int i = 0; i < 3; i++) {
		policy_at(b + offs[i], &mode, &m0);
		T_ASSERT(mode == MPOL_BIND, "%s +%zu: mode %d, want MPOL_BIND", what, offs[i], mode);
		T_ASSERT(m0 == node0_bit, "%s +%zu: nodes 0x%lx, want 0x%lx", what, offs[i], m0,
			 node0_bit);
	}
}

static void *map_fd(int fd, size_t len)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	T_ASSERT(m != MAP_FAILED, "mmap: %s", strerror(errno));
	return m;
}

/* ------------------------------------------------------------ memfds */

static void memfd_binding(const struct xs_topo *t)
{
	size_t len = 1u << 20;
	struct xs_mem_loc loc;
	unsigned long m0;
	int fd, fd2, mode, status, before = t_fd_count();
	uint8_t *m;
	pid_t pid;

	/* sized, bound, then mapped afresh: the shared policy is in the object */
	fd = memfd_create("xs-membind", MFD_CLOEXEC);
	T_ASSERT(fd >= 0);
	T_OK(ftruncate(fd, (off_t)len));
	T_OK(xs_mem_bind_fd(t, fd, len, 0));
	m = map_fd(fd, len);
	expect_bound(m, len, "memfd");
	/* ... for any process: a child maps it on its own */
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		void *c = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		unsigned long mask[MASK_BITS / (8 * sizeof(unsigned long))] = { 0 };
		int cm = -1;

		if (c == MAP_FAILED ||
		    syscall(SYS_get_mempolicy, &cm, mask, MASK_BITS, (char *)c + len - page,
			    (unsigned long)MPOL_F_ADDR) < 0)
			_exit(2);
		_exit(cm == MPOL_BIND && mask[0] == node0_bit ? 0 : 1);
	}
	T_ASSERT(waitpid(pid, &status, 0) == pid);
	T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child saw another policy (%d)",
		 status);
	/* touched now: every page on node 0 */
	T_ERR(xs_mem_nodes(t, m, len, 0, &loc), -XS_ERT_UNPOPULATED);
	memset(m, 0x5a, len);
	T_EQ(xs_mem_nodes(t, m, len, XS_MEM_COUNT, &loc), 1);
	T_EQ(loc.node, 0);
	T_EQ(loc.populated, len / page);
	T_EQ(loc.on_node[0], len / page);
	/* once touched, binding again is refused: it could not move those pages */
	T_ERR(xs_mem_bind_fd(t, fd, len, 0), -EBUSY);
	T_ASSERT(strstr(xs_errmsg(), "before its first touch"), "%s", xs_errmsg());
	munmap(m, len);
	close(fd);

	/* control: an unbound memfd follows the default policy */
	fd = memfd_create("xs-membind-none", MFD_CLOEXEC);
	T_ASSERT(fd >= 0);
	T_OK(ftruncate(fd, (off_t)len));
	m = map_fd(fd, len);
	policy_at(m, &mode, &m0);
	T_EQ(mode, MPOL_DEFAULT);
	munmap(m, len);
	/* the adapter with node -1 leaves it so */
	{
		struct xs_mem_bind_ctx none = { .topo = t, .node = -1 };

		T_OK(xs_mem_bind_fd_cb(fd, len, &none));
		m = map_fd(fd, len);
		policy_at(m + page, &mode, &m0);
		T_EQ(mode, MPOL_DEFAULT);
		munmap(m, len);
	}
	close(fd);

	/* shmem keeps the policy by offset: binding before sizing works */
	fd2 = memfd_create("xs-membind-early", MFD_CLOEXEC);
	T_ASSERT(fd2 >= 0);
	{
		struct xs_mem_bind_ctx ctx = { .topo = t, .node = 0 };

		T_OK(xs_mem_bind_fd_cb(fd2, len, &ctx));
	}
	T_OK(ftruncate(fd2, (off_t)len));
	m = map_fd(fd2, len);
	expect_bound(m, len, "memfd bound before sizing");
	memset(m, 1, len);
	T_EQ(xs_mem_nodes(t, m, len, XS_MEM_COUNT, &loc), 1);
	T_EQ(loc.node, 0);
	munmap(m, len);
	close(fd2);
	T_EQ(t_fd_count(), before);
}

static void refusals(const struct xs_topo *t)
{
	struct xs_topo *syn;
	size_t len = 64 * 1024;
	int fd, p[2], before = t_fd_count();
	uint8_t *m;
	unsigned long m0;
	int mode;

	fd = memfd_create("xs-membind-bad", MFD_CLOEXEC);
	T_ASSERT(fd >= 0);
	T_OK(ftruncate(fd, (off_t)len));
	/* a node that does not exist: clear error, nothing set */
	T_ERR(xs_mem_bind_fd(t, fd, len, 7), -XS_ERT_NODE);
	T_ASSERT(strstr(xs_errmsg(), "node 7") && strstr(xs_errmsg(), "the machine has"), "%s",
		 xs_errmsg());
	printf("node 7: %s (%s)\n", xs_strerror(-XS_ERT_NODE), xs_errmsg());
	T_ERR(xs_mem_bind_fd(t, fd, len, -1), -XS_ERT_NODE);
	{
		struct xs_mem_bind_ctx ctx = { .topo = t, .node = 7 };

		T_ERR(xs_mem_bind_fd_cb(fd, len, &ctx), -XS_ERT_NODE);
		T_ERR(xs_mem_bind_fd_cb(fd, len, NULL), -EINVAL);
	}
	m = map_fd(fd, len);
	policy_at(m, &mode, &m0);
	T_EQ(mode, MPOL_DEFAULT);
	munmap(m, len);
	/* bad arguments */
	T_ERR(xs_mem_bind_fd(t, -1, len, 0), -EINVAL);
	T_ERR(xs_mem_bind_fd(t, fd, 0, 0), -EINVAL);
	T_ERR(xs_mem_bind_fd(NULL, fd, len, 0), -XS_ERT_NOT_SYSTEM);
	/* a synthetic machine cannot bind anything */
	T_OK(xs_topo_load(&syn, "pack:2 numa:2 core:2 pu:1"));
	T_ERR(xs_mem_bind_fd(syn, fd, len, 1), -XS_ERT_NOT_SYSTEM);
	xs_topo_destroy(syn);
	close(fd);
	/* not shared memory: a pipe */
	T_OK(pipe(p));
	T_ERR(xs_mem_bind_fd(t, p[0], len, 0), -EOPNOTSUPP);
	T_ASSERT(strstr(xs_errmsg(), "not shared memory"), "%s", xs_errmsg());
	close(p[0]);
	close(p[1]);
	T_EQ(t_fd_count(), before);
}

/* Exit status CTest counts as a skip (SKIP_RETURN_CODE in CMakeLists.txt). */
#define SKIP 77

/* hugetlbfs: no shared policy, so the pages are placed by the bind itself.
 * @return 0 when the binding path ran, SKIP when this machine has no huge
 * pages to place (the clean refusal is still checked). */
static int hugetlb(const struct xs_topo *t)
{
	size_t hp = XS_SHM_HUGE_PAGE;
	struct xs_mem_loc loc;
	struct stat st;
	int fd, r, before = t_fd_count();
	uint8_t *m;

	fd = memfd_create("xs-membind-huge", MFD_CLOEXEC | MFD_HUGETLB);
	if (fd < 0) {
		printf("SKIP: memfd_create(MFD_HUGETLB): %s: hugetlbfs binding not tested\n",
		       strerror(errno));
		return SKIP;
	}
	/* unsized: its pages could not be placed now */
	T_ERR(xs_mem_bind_fd(t, fd, hp, 0), -EINVAL);
	T_ASSERT(strstr(xs_errmsg(), "size it first"), "%s", xs_errmsg());
	T_OK(ftruncate(fd, (off_t)hp));
	r = xs_mem_bind_fd(t, fd, hp, 0);
	printf("hugetlb: bind of one huge page: %d %s\n", r, r ? xs_errmsg() : "placed");
	if (r == 0) {
		T_OK(fstat(fd, &st));
		T_ASSERT(st.st_blocks > 0, "huge page not placed by the bind");
		m = map_fd(fd, hp);
		T_EQ(xs_mem_nodes(t, m, hp, XS_MEM_COUNT, &loc), 1);
		T_EQ(loc.node, 0);
		T_ERR(xs_mem_bind_fd(t, fd, hp, 0), -EBUSY);
		munmap(m, hp);
	} else {
		/* no huge pages on this machine: a clean error, never SIGBUS */
		T_ASSERT(r == -ENOMEM || r == -EINVAL || r == -EPERM, "%d", r);
		T_ASSERT(strstr(xs_errmsg(), "hugetlbfs"), "%s", xs_errmsg());
		printf("SKIP: no free 2 MiB huge page: the hugetlbfs binding path was not exercised "
		       "(its clean refusal was)\n");
	}
	close(fd);
	T_EQ(t_fd_count(), before);
	return r == 0 ? 0 : SKIP;
}

/* The allocator variant the server uses with a bind hook. */
static void alloc_presized(void)
{
	size_t sz = 8u << 20;
	struct xs_alloc *a;
	int fd, before = t_fd_count();

	fd = memfd_create("xs-membind-alloc", MFD_CLOEXEC);
	T_ASSERT(fd >= 0);
	T_OK(ftruncate(fd, (off_t)sz));
	T_ERR(xs_alloc_create(&a, fd, sz, 4, XS_HS_SLAB_SIZE, 0), -XS_EA_ALREADY_INIT);
	T_ERR(xs_alloc_create_sized(&a, fd, sz - (2u << 20), 4, XS_HS_SLAB_SIZE, 0),
	      -XS_EA_ALREADY_INIT);
	T_OK(xs_alloc_create_sized(&a, fd, sz, 4, XS_HS_SLAB_SIZE, 0));
	T_EQ(xs_alloc_size(a), sz);
	xs_alloc_close(a);
	T_OK(xs_alloc_join(&a, fd, 1));
	xs_alloc_close(a);
	close(fd);
	T_EQ(t_fd_count(), before);
}

/* ------------------------------------------------------------ server */

/* Counting hook around xs_mem_bind_fd_cb(); can fail call number fail_at. */
struct hook {
	struct xs_mem_bind_ctx ctx;
	int calls, huge_calls, ok, huge_ok;
	int fail_at;    /* 1-based call to fail with -ENOMEM, 0 = never */
	size_t sizes[64];
};

static int hook_fn(int fd, size_t size, void *arg)
{
	struct hook *h = arg;
	struct statfs sfs;
	int huge, r;

	T_OK(fstatfs(fd, &sfs));
	huge = (unsigned long)sfs.f_type == (unsigned long)HUGETLBFS_MAGIC;
	h->calls++;
	h->huge_calls += huge;
	if (h->calls <= 64)
		h->sizes[h->calls - 1] = size;
	if (h->calls == h->fail_at)
		return xs_seterr(-ENOMEM, "test hook refuses call %d", h->calls);
	r = xs_mem_bind_fd_cb(fd, size, &h->ctx);
	if (r == 0) {
		h->ok++;
		h->huge_ok += huge;
	}
	return r;
}

struct server {
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	int rc;
	int ev_err;
	char ev_reason[XS_HS_MAX_REASON + 1];
	char ev_detail[512];
};

static void on_event(void *arg, const struct xs_hs_event *ev)
{
	struct server *sv = arg;

	sv->ev_err = ev->err;
	snprintf(sv->ev_reason, sizeof(sv->ev_reason), "%s", ev->reason);
	/* object failures leave their detail in the serving thread's message */
	snprintf(sv->ev_detail, sizeof(sv->ev_detail), "%s", xs_errmsg());
}

static void *serve(void *arg)
{
	struct server *sv = arg;

	sv->rc = xs_hs_server_serve(sv->srv, t_now_ns() + 10000000000ull, &sv->vs);
	return NULL;
}

static const struct xs_logon logon = {
	.worker_count = W,
	.allocator_size = 8ull * 1024 * 1024,
	.allocator_handles = 1,
	.tpu_to_pack_capacity = 1024,
	.progress_tracker_capacity = 64,
	.pack_to_worker_capacity = 256,
	.worker_to_pack_capacity = 256,
	.units = XS_LOGON_ITEMS,
};

/* One handshake with @p h as hook. @return the client's result; sv->vs and *s are
 * set on success. */
static int handshake(const char *path, uint32_t huge, struct hook *h, struct server *sv,
		     struct xs_session **s)
{
	struct xs_hs_server_opts so;
	struct xs_hs_client_opts co;
	pthread_t th;
	int rc;

	memset(sv, 0, sizeof(*sv));
	memset(&so, 0, sizeof(so));
	so.path = path;
	so.replace_stale = 1;
	so.huge = huge;
	so.on_event = on_event;
	so.event_arg = sv;
	so.bind_fn = hook_fn;
	so.bind_arg = h;
	T_OK(xs_hs_server_listen(&so, &sv->srv));
	T_ASSERT(pthread_create(&th, NULL, serve, sv) == 0);
	memset(&co, 0, sizeof(co));
	co.path = path;
	co.timeout_ns = 5000000000ull;
	*s = NULL;
	rc = xs_hs_connect(&co, &logon, s);
	if (rc < 0)
		xs_hs_server_stop(sv->srv); /* rejected: the server keeps listening */
	pthread_join(th, NULL);
	xs_hs_server_close(sv->srv);
	return rc;
}

static void session_bound(const struct xs_topo *t, const char *path, uint32_t huge)
{
	struct hook h = { .ctx = { .topo = t, .node = 0 } };
	struct xs_session *s;
	struct xs_vsession *vs;
	struct xs_mem_loc loc;
	struct server sv;
	int before = t_fd_count();

	xs_hs_huge_reset();
	T_OK(handshake(path, huge, &h, &sv, &s));
	T_OK(sv.rc);
	vs = sv.vs;
	printf("huge policy %u: %d hook calls (%d hugetlbfs, %d of them placed), %u objects, "
	       "%u on huge pages\n", huge, h.calls, h.huge_calls, h.huge_ok, vs->num_objects,
	       vs->num_huge);
	/* one successful call per object; the others are failed huge attempts */
	T_EQ(h.ok, XS_HS_GLOBAL_SHMEM + 2 * W);
	T_EQ(h.calls - h.huge_calls, XS_HS_GLOBAL_SHMEM + 2 * W - vs->num_huge);
	T_EQ(h.huge_ok, vs->num_huge);
	if (huge == XS_HS_HUGE_NEVER) {
		T_EQ(h.calls, XS_HS_GLOBAL_SHMEM + 2 * W);
		T_EQ(h.huge_calls, 0);
		T_EQ(h.sizes[0], vs->allocator_size);
		T_EQ(h.sizes[1], vs->tpu_to_pack.file_size);
		T_EQ(h.sizes[2], vs->progress.file_size);
		T_EQ(h.sizes[3], vs->workers[0].pack_to_worker.file_size);
		T_EQ(h.sizes[4], vs->workers[0].worker_to_pack.file_size);
	}

	/* validator side: every object's mapping has node 0's binding */
	expect_bound(xs_alloc_base(vs->tpu_alloc), xs_alloc_size(vs->tpu_alloc), "allocator");
	expect_bound(vs->tpu_to_pack.base, vs->tpu_to_pack.file_size, "tpu_to_pack");
	expect_bound(vs->progress.base, vs->progress.file_size, "progress_tracker");
	for (uint32_t i = 0; i < W; i++) {
		expect_bound(vs->workers[i].pack_to_worker.base,
			     vs->workers[i].pack_to_worker.file_size, "pack_to_worker");
		expect_bound(vs->workers[i].worker_to_pack.base,
			     vs->workers[i].worker_to_pack.file_size, "worker_to_pack");
	}
	/* client side: its own mappings of the same objects too */
	expect_bound(xs_alloc_base(s->allocs[0]), xs_alloc_size(s->allocs[0]), "client allocator");
	expect_bound(s->tpu_to_pack.base, s->tpu_to_pack.file_size, "client tpu_to_pack");
	for (uint32_t i = 0; i < W; i++)
		expect_bound(s->workers[i].worker_to_pack.base,
			     s->workers[i].worker_to_pack.file_size, "client worker_to_pack");
	/* and the pages, once touched, are there */
	T_EQ(xs_rt_vsession_node(t, vs, &loc), 1);
	T_EQ(loc.node, 0);
	T_EQ(xs_mem_nodes(t, xs_alloc_base(vs->tpu_alloc), xs_alloc_size(vs->tpu_alloc),
			  XS_MEM_TOUCH | XS_MEM_COUNT, &loc), 1);
	T_EQ(loc.node, 0);
	T_EQ(loc.populated, xs_alloc_size(vs->tpu_alloc) / page);
	xs_session_close(s);
	xs_vsession_close(vs);
	T_EQ(t_fd_count(), before);
}

static void session_refused(const struct xs_topo *t, const char *path)
{
	struct hook h = { .ctx = { .topo = t, .node = 7 } };
	struct xs_session *s;
	struct server sv;
	int before = t_fd_count();

	/* a node that does not exist: the first object (allocator) fails */
	T_ERR(handshake(path, XS_HS_HUGE_NEVER, &h, &sv, &s), -XS_EHS_REJECTED);
	T_ASSERT(s == NULL);
	T_ERR(sv.rc, -XS_EHS_STOPPED);
	T_EQ(h.calls, 1);
	T_EQ(sv.ev_err, -XS_EHS_ALLOC);
	T_ASSERT(!strncmp(sv.ev_reason, "Io; err=", 8), "%s", sv.ev_reason);
	T_ASSERT(strstr(sv.ev_detail, "allocator") && strstr(sv.ev_detail, "node 7"), "%s",
		 sv.ev_detail);
	printf("node 7: client got \"%s\"; server detail: %s\n", sv.ev_reason, sv.ev_detail);
	T_EQ(t_fd_count(), before);

	/* a hook failing in the middle (worker 1's pack_to_worker, call 6) */
	memset(&h, 0, sizeof(h));
	h.ctx.topo = t;
	h.ctx.node = 0;
	h.fail_at = 6;
	T_ERR(handshake(path, XS_HS_HUGE_NEVER, &h, &sv, &s), -XS_EHS_REJECTED);
	T_EQ(h.calls, 6);
	T_EQ(sv.ev_err, -XS_EHS_QUEUE);
	T_ASSERT(!strcmp(sv.ev_reason, "Io; err=Cannot allocate memory (os error 12)"), "%s",
		 sv.ev_reason);
	T_ASSERT(strstr(sv.ev_detail, "pack_to_worker queue 1") &&
		 strstr(sv.ev_detail, "test hook refuses call 6"), "%s", sv.ev_detail);
	T_EQ(t_fd_count(), before);
}

/* The same through xs_hs_objects_create_bound(), failing at every object. */
static void objects_direct(const struct xs_topo *t)
{
	int fds[XS_HS_MAX_FDS], before = t_fd_count();
	uint32_t nobj = XS_HS_GLOBAL_SHMEM + 2 * W;
	char reason[XS_HS_MAX_REASON + 1];
	struct xs_vsession *vs;

	for (uint32_t k = 1; k <= nobj; k++) {
		struct hook h = { .ctx = { .topo = t, .node = 0 }, .fail_at = (int)k };
		int rc = xs_hs_objects_create_bound(2, &logon, XS_HS_HUGE_NEVER, 1, hook_fn, &h, &vs,
						    fds, reason, sizeof(reason));

		T_ERR(rc, k == 1 ? -XS_EHS_ALLOC : -XS_EHS_QUEUE);
		T_ASSERT(vs == NULL);
		T_EQ(h.calls, k);
		T_ASSERT(!strncmp(reason, "Io; err=", 8), "%s", reason);
		T_EQ(t_fd_count(), before);
	}
	/* no hook: identical to xs_hs_objects_create() */
	T_OK(xs_hs_objects_create_bound(2, &logon, XS_HS_HUGE_NEVER, 1, NULL, NULL, &vs, fds, reason,
					sizeof(reason)));
	T_EQ(vs->num_objects, nobj);
	for (uint32_t i = 0; i < nobj; i++)
		close(fds[i]);
	xs_vsession_close(vs);
	T_EQ(t_fd_count(), before);
}

/* No argument: everything but hugetlbfs. "huge": the hugetlbfs case alone,
 * a CTest skip on a machine without huge pages. */
int main(int argc, char **argv)
{
	struct xs_topo *t;
	char path[64];
	int rc;

	page = (size_t)sysconf(_SC_PAGESIZE);
	T_OK(xs_topo_load(&t, "system"));
	T_ASSERT(xs_topo_count(t, XS_TOPO_NODE) >= 1);
	node0_bit = 1ul << xs_topo_node(t, 0)->os_index;
	printf("machine: %d NUMA node(s), node 0 is OS node %d\n", xs_topo_count(t, XS_TOPO_NODE),
	       xs_topo_node(t, 0)->os_index);

	if (argc > 1 && !strcmp(argv[1], "huge")) {
		rc = hugetlb(t);
		xs_topo_destroy(t);
		return rc;
	}
	memfd_binding(t);
	refusals(t);
	alloc_presized();
	snprintf(path, sizeof(path), "/tmp/xs-membind-%d.sock", (int)getpid());
	session_bound(t, path, XS_HS_HUGE_NEVER);
	session_bound(t, path, XS_HS_HUGE_AUTO);
	session_refused(t, path);
	objects_direct(t);
	xs_topo_destroy(t);
	printf("test_rt_membind: ok\n");
	return 0;
}
