/* SPDX-License-Identifier: Apache-2.0 */
#include "xsched/shm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21u << 26)
#endif
#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

size_t xs_shm_round(size_t size, int huge)
{
	size_t pg = huge ? XS_SHM_HUGE_PAGE : XS_SHM_PAGE;

	if (size > SIZE_MAX - (pg - 1))
		return 0;
	return (size + pg - 1) & ~(pg - 1);
}

int xs_memfd_create(const char *name, unsigned flags)
{
	unsigned mfd = MFD_CLOEXEC;
	int fd;

	if (flags & XS_SHM_HUGE)
		mfd |= MFD_HUGETLB | MFD_HUGE_2MB;
	if (flags & (XS_SHM_ALLOW_SEAL | XS_SHM_SEAL))
		mfd |= MFD_ALLOW_SEALING;
	fd = memfd_create(name ? name : XS_SHM_NAME, mfd);
	return fd < 0 ? -errno : fd;
}

int xs_shm_map(int fd, size_t size, uint8_t **out)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return xs_seterr(-errno, "mmap of %zu bytes failed: %s", size, strerror(errno));
	*out = p;
	return 0;
}

int xs_shm_seal(int fd)
{
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0)
		return xs_seterr(-errno, "sealing memfd failed: %s", strerror(errno));
	return 0;
}

int xs_shm_inspect(int fd)
{
	struct statfs sfs;
	int seals, state = 0;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals > 0 && (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SHRINK | F_SEAL_GROW))
		state |= XS_SHM_STATE_SEALED;
	if (fstatfs(fd, &sfs) < 0)
		return -errno;
	if ((unsigned long)sfs.f_type == (unsigned long)HUGETLBFS_MAGIC)
		state |= XS_SHM_STATE_HUGE;
	return state;
}

int xs_shm_create(struct xs_shm *shm, const char *name, size_t size, unsigned flags)
{
	int huge = !!(flags & XS_SHM_HUGE);
	size_t rounded = xs_shm_round(size, huge);
	int fd, err;

	memset(shm, 0, sizeof(*shm));
	shm->fd = -1;
	if (size == 0 || rounded == 0)
		return xs_seterr(-XS_ESHM_SIZE, "cannot create a shared-memory object of %zu bytes",
				 size);
	fd = xs_memfd_create(name, flags);
	if (fd < 0)
		return xs_seterr(fd, "memfd_create(%s) failed: %s", huge ? "huge" : "normal",
				 xs_strerror(fd));
	if (ftruncate(fd, (off_t)rounded) < 0) {
		err = -errno;
		close(fd);
		return xs_seterr(err, "ftruncate(%zu) failed: %s", rounded, strerror(-err));
	}
	if ((flags & XS_SHM_SEAL) && (err = xs_shm_seal(fd)) < 0) {
		close(fd);
		return err;
	}
	if (!(flags & XS_SHM_NO_MAP)) {
		err = xs_shm_map(fd, rounded, &shm->base);
		if (err < 0) {
			close(fd);
			return err;
		}
	}
	shm->fd = fd;
	shm->size = rounded;
	shm->state = (huge ? XS_SHM_STATE_HUGE : 0) | ((flags & XS_SHM_SEAL) ? XS_SHM_STATE_SEALED : 0);
	return 0;
}

int xs_shm_attach(struct xs_shm *shm, int fd, unsigned flags)
{
	struct stat st;
	int err, state;

	memset(shm, 0, sizeof(*shm));
	shm->fd = -1;
	if (fd < 0)
		return xs_seterr(-EBADF, "cannot attach shared memory: no descriptor (%d)", fd);
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fstat(fd, &st) < 0) {
		err = xs_seterr(-errno, "shared-memory fd %d: %s", fd, strerror(errno));
		goto fail;
	}
	if (st.st_size <= 0 || (uint64_t)st.st_size > (uint64_t)SIZE_MAX) {
		err = xs_seterr(-XS_ESHM_SIZE, "shared-memory object has size %lld",
				(long long)st.st_size);
		goto fail;
	}
	state = xs_shm_inspect(fd);
	if (state < 0) {
		err = state;
		goto fail;
	}
	if ((flags & XS_SHM_REQUIRE_SEAL) && !(state & XS_SHM_STATE_SEALED)) {
		err = xs_seterr(-XS_ESHM_UNSEALED,
				"peer object is not sealed against resizing (fd %d)", fd);
		goto fail;
	}
	if (!(flags & XS_SHM_NO_MAP) && (err = xs_shm_map(fd, (size_t)st.st_size, &shm->base)) < 0)
		goto fail;
	shm->fd = fd;
	shm->size = (size_t)st.st_size;
	shm->state = (unsigned)state;
	return 0;
fail:
	close(fd);
	return err;
}

void xs_shm_detach(struct xs_shm *shm)
{
	/* A live object always has size > 0 (create and attach refuse 0). A
	 * zeroed struct has fd 0, which is not ours: leave it alone. */
	if (shm->size) {
		if (shm->base)
			munmap(shm->base, shm->size);
		if (shm->fd >= 0)
			close(shm->fd);
	}
	shm->base = NULL;
	shm->size = 0;
	shm->fd = -1;
}
