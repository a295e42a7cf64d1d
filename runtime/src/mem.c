/* SPDX-License-Identifier: Apache-2.0 */
/* Memory locality: which NUMA node holds a mapping, binding a mapping or a
 * shared-memory object to a node before its first touch, node-local
 * allocations. */
#include "rt_pvt.h"

#include <errno.h>
#include <linux/magic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "xsched/handshake.h"
#include "xsched/shm.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 uapi value; older kernels answer EINVAL */
#endif

/* The ready-made hook must stay usable as the handshake server's bind hook. */
_Static_assert(__builtin_types_compatible_p(__typeof__(&xs_mem_bind_fd_cb), xs_hs_bind_fn),
	       "xs_mem_bind_fd_cb must match xs_hs_bind_fn");

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);

	return p > 0 ? (size_t)p : 4096;
}

/* Page-align [addr, addr+len) outwards. */
static void align_range(const void *addr, size_t len, uintptr_t *start, size_t *alen)
{
	uintptr_t pg = page_size(), a = (uintptr_t)addr & ~(pg - 1);

	*start = a;
	*alen = ((uintptr_t)addr + len - a + pg - 1) & ~(pg - 1);
}

static int need_system(const struct xs_topo *t, const char *what)
{
	if (!t || !t->is_system)
		return xs_seterr(-XS_ERT_NOT_SYSTEM, "%s needs the real machine's topology, not %s",
				 what, t ? t->source : "none");
	return 0;
}

/* Count pages per node with move_pages(2) in query mode (nodes == NULL):
 * status[i] is the page's node, or -ENOENT when not present. */
static int count_pages(const struct xs_topo *t, uintptr_t start, size_t npages,
		       struct xs_mem_loc *loc)
{
	enum { CHUNK = 512 };
	void *pages[CHUNK];
	int status[CHUNK];
	size_t pg = page_size();

	for (size_t done = 0; done < npages;) {
		size_t n = npages - done < CHUNK ? npages - done : CHUNK;

		for (size_t i = 0; i < n; i++)
			pages[i] = (void *)(start + (done + i) * pg);
		if (syscall(SYS_move_pages, 0, (unsigned long)n, pages, NULL, status, 0) < 0)
			return -errno;
		for (size_t i = 0; i < n; i++) {
			int node;

			if (status[i] < 0)
				continue; /* -ENOENT: not populated; -EFAULT: hole */
			loc->populated++;
			node = xs_topo_node_by_os(t, status[i]);
			if (node >= 0 && node < XS_MEM_MAX_NODES)
				loc->on_node[node]++;
		}
		done += n;
	}
	return 0;
}

/*
 * Make the pages of [start, start+alen) that are already in memory visible
 * to the page query, without placing any other page. move_pages() (and
 * hwloc's area query on top of it) sees only pages mapped in this process's
 * page tables; a shared mapping's pages faulted in by the peer are in the
 * object but not mapped here. mincore() reports the object's resident pages
 * whoever faulted them; a read of such a page maps the page already there,
 * whereas a read of a hole would allocate a page on this thread's node, the
 * very placement this must not make. (A page swapped out between the two
 * calls would be read back in: shared session memory is not expected to
 * swap.) @return 0 or -errno from mincore.
 */
static int map_resident(uintptr_t start, size_t alen)
{
	enum { CHUNK = 4096 };
	unsigned char vec[CHUNK];
	size_t pg = page_size(), npages = alen / pg;

	for (size_t done = 0; done < npages;) {
		size_t n = npages - done < CHUNK ? npages - done : CHUNK;
		uintptr_t a = start + done * pg;

		if (mincore((void *)a, n * pg, vec) < 0)
			return -errno;
		for (size_t i = 0; i < n; i++)
			if (vec[i] & 1)
				(void)*(volatile const char *)(a + i * pg);
		done += n;
	}
	return 0;
}

int xs_mem_nodes(const struct xs_topo *t, const void *addr, size_t len, unsigned flags,
		 struct xs_mem_loc *loc)
{
	hwloc_bitmap_t set;
	uintptr_t start;
	size_t alen, pg = page_size();
	int r, os;

	if (!addr || !len || !loc)
		return -EINVAL;
	if ((r = need_system(t, "locating memory")) < 0)
		return r;
	memset(loc, 0, sizeof(*loc));
	loc->node = -1;
	align_range(addr, len, &start, &alen);
	loc->pages = alen / pg;
	if (flags & XS_MEM_TOUCH)
		for (uintptr_t p = start; p < start + alen; p += pg)
			(void)*(volatile const char *)p; /* read fault: places the page */
	else if ((flags & XS_MEM_RESIDENT) && (r = map_resident(start, alen)) < 0)
		return xs_seterr(r, "mincore(%p, %zu) failed: %s", addr, len, strerror(-r));
	set = hwloc_bitmap_alloc();
	if (!set)
		return -ENOMEM;
	if (hwloc_get_area_memlocation(t->h, (const void *)start, alen, set,
				       HWLOC_MEMBIND_BYNODESET)) {
		r = -errno;
		hwloc_bitmap_free(set);
		return xs_seterr(r, "hwloc_get_area_memlocation(%p, %zu) failed", addr, len);
	}
	hwloc_bitmap_foreach_begin(os, set) {
		int node = xs_topo_node_by_os(t, os);

		if (node < 0)
			continue;
		loc->nnodes++;
		if (node < 64)
			loc->nodes |= 1ull << node;
		if (loc->node < 0)
			loc->node = node;
	}
	hwloc_bitmap_foreach_end();
	hwloc_bitmap_free(set);
	if ((flags & XS_MEM_COUNT) && (r = count_pages(t, start, loc->pages, loc)) < 0)
		return xs_seterr(r, "move_pages query of %zu pages failed", loc->pages);
	if (loc->nnodes == 0)
		return xs_seterr(-XS_ERT_UNPOPULATED,
				 "none of the %zu pages at %p is in memory: not placed yet",
				 loc->pages, addr);
	if (loc->nnodes > 1) {
		char list[256];
		size_t n = 0;

		list[0] = '\0';
		for (int i = 0; i < XS_MEM_MAX_NODES && n < sizeof(list) - 32; i++) {
			if (!(loc->nodes >> i & 1))
				continue;
			if (flags & XS_MEM_COUNT)
				n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%d (%zu pages)",
						      n ? ", " : "", i, loc->on_node[i]);
			else
				n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%d", n ? ", " : "", i);
		}
		if ((flags & XS_MEM_COUNT) && loc->node < XS_MEM_MAX_NODES)
			/* the node holding most pages represents the range */
			for (int i = 0; i < XS_MEM_MAX_NODES; i++)
				if (loc->on_node[i] > loc->on_node[loc->node])
					loc->node = i;
		xs_seterr(0, "mixed placement: %zu pages at %p spread over nodes %s", loc->pages, addr,
			  list);
	}
	return loc->nnodes;
}

int xs_mem_bind(const struct xs_topo *t, void *addr, size_t len, int node, unsigned flags)
{
	hwloc_bitmap_t set;
	uintptr_t start;
	size_t alen;
	int r, hf = HWLOC_MEMBIND_BYNODESET;

	if (!addr || !len)
		return -EINVAL;
	if ((r = need_system(t, "binding memory")) < 0)
		return r;
	if (node < 0 || node >= t->nnode)
		return xs_seterr(-XS_ERT_NODE, "node %d is not one of the %d nodes", node, t->nnode);
	if (flags & XS_MEM_STRICT)
		hf |= HWLOC_MEMBIND_STRICT;
	if (flags & XS_MEM_MIGRATE)
		hf |= HWLOC_MEMBIND_MIGRATE;
	align_range(addr, len, &start, &alen);
	set = hwloc_bitmap_alloc();
	if (!set)
		return -ENOMEM;
	hwloc_bitmap_only(set, (unsigned)t->nodes[node].os_index);
	r = hwloc_set_area_membind(t->h, (const void *)start, alen, set, HWLOC_MEMBIND_BIND, hf);
	if (r)
		r = xs_seterr(-errno, "binding %zu bytes at %p to node %d failed: %s", len, addr, node,
			      strerror(errno));
	hwloc_bitmap_free(set);
	return r;
}

/*
 * Bind a memory object through a temporary shared mapping. For shmem the
 * mbind lands in the object's shared policy (shmem's vm_ops->set_policy,
 * stored in the inode by page offset), so it outlives the munmap and rules
 * every later fault from any process; nothing is allocated here. hugetlbfs
 * has no set_policy: the policy is the temporary VMA's own and dies with
 * it, so the pages are faulted in here, through that VMA.
 */
int xs_mem_bind_fd(const struct xs_topo *t, int fd, size_t size, int node)
{
	struct statfs sfs;
	struct stat st;
	size_t pg, alen;
	const char *kind;
	void *m;
	int r, huge;

	if (fd < 0 || size == 0)
		return xs_seterr(-EINVAL, "cannot bind fd %d, %zu bytes", fd, size);
	if ((r = need_system(t, "binding a memory object")) < 0)
		return r;
	if (node < 0 || node >= t->nnode)
		return xs_seterr(-XS_ERT_NODE, "cannot bind fd %d to node %d: the machine has %d node%s "
				 "(0..%d)", fd, node, t->nnode, t->nnode == 1 ? "" : "s", t->nnode - 1);
	if (fstatfs(fd, &sfs) < 0 || fstat(fd, &st) < 0)
		return xs_seterr(-errno, "fd %d: %s", fd, strerror(errno));
	if ((unsigned long)sfs.f_type == (unsigned long)HUGETLBFS_MAGIC) {
		huge = 1;
		kind = "hugetlbfs";
		pg = sfs.f_bsize > 0 ? (size_t)sfs.f_bsize : XS_SHM_HUGE_PAGE;
	} else if ((unsigned long)sfs.f_type == (unsigned long)TMPFS_MAGIC) {
		huge = 0;
		kind = "shmem";
		pg = (size_t)sysconf(_SC_PAGESIZE);
	} else {
		return xs_seterr(-EOPNOTSUPP, "fd %d is not shared memory (filesystem type 0x%lx): only "
				 "shmem (memfd, tmpfs) and hugetlbfs objects can be bound",
				 fd, (unsigned long)sfs.f_type);
	}
	if (size > SIZE_MAX - pg)
		return xs_seterr(-EINVAL, "cannot bind %zu bytes", size);
	alen = (size + pg - 1) / pg * pg;
	/* A policy only steers the allocations to come: pages already there
	 * (st_blocks counts them, for shmem and hugetlbfs alike, whoever
	 * faulted them) would stay where they are, so refuse to pretend. */
	if (st.st_blocks != 0)
		return xs_seterr(-EBUSY, "%s fd %d already has %lld KiB in memory: bind it before "
				 "its first touch", kind, fd, (long long)st.st_blocks / 2);
	if (huge && (uint64_t)st.st_size < (uint64_t)alen)
		return xs_seterr(-EINVAL, "hugetlbfs fd %d has %lld bytes, fewer than the %zu to bind: "
				 "size it first (its pages are placed now)", fd,
				 (long long)st.st_size, alen);
	m = mmap(NULL, alen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return xs_seterr(-errno, "mapping %s fd %d (%zu bytes) to bind it to node %d: %s", kind,
				 fd, alen, node, strerror(errno));
	if ((r = xs_mem_bind(t, m, alen, node, XS_MEM_STRICT)) < 0) {
		r = xs_seterr(r, "binding %s fd %d (%zu bytes) to node %d: %s", kind, fd, alen, node,
			      strerror(-r));
	} else if (huge && madvise(m, alen, MADV_POPULATE_WRITE) < 0) {
		r = -errno;
		if (r == -EINVAL)
			r = xs_seterr(r, "placing hugetlbfs fd %d on node %d needs MADV_POPULATE_WRITE "
				      "(Linux 5.14)", fd, node);
		else if (r == -ENOMEM || r == -EFAULT)
			r = xs_seterr(-ENOMEM, "node %d has too few free huge pages for %zu bytes "
				      "(hugetlbfs fd %d)", node, alen, fd);
		else
			r = xs_seterr(r, "faulting in hugetlbfs fd %d on node %d: %s", fd, node,
				      strerror(-r));
	}
	munmap(m, alen);
	return r;
}

int xs_mem_bind_fd_cb(int fd, size_t size, void *ctx)
{
	const struct xs_mem_bind_ctx *c = ctx;

	if (!c)
		return xs_seterr(-EINVAL, "bind hook without its struct xs_mem_bind_ctx");
	if (c->node < 0)
		return 0;
	return xs_mem_bind_fd(c->topo, fd, size, c->node);
}

void *xs_mem_alloc_node(const struct xs_topo *t, size_t len, int node)
{
	size_t alen = xs__page_round(len ? len : 1);
	void *p = mmap(NULL, alen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Bind before the first touch; a failure leaves first-touch placement,
	 * which the caller can still check with xs_mem_nodes(). */
	if (node >= 0 && t && t->is_system && node < t->nnode)
		(void)xs_mem_bind(t, p, alen, node, 0);
	return p;
}

void xs_mem_free(void *addr, size_t len)
{
	if (addr)
		munmap(addr, xs__page_round(len ? len : 1));
}
