/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: shared-memory segments (xsched/shm.h).
 *  - page rounding (4 KiB / 2 MiB, overflow -> 0);
 *  - create: normal (rounded, mapped, zero-filled), without mapping, sealed
 *    (ftruncate then fails with EPERM, xs_shm_inspect reports the seal),
 *    sealable then sealed later, size 0 refused;
 *  - huge pages: succeeds (hugetlbfs-backed, 2 MiB multiple) when the machine
 *    has a free 2 MiB page, else fails cleanly with an error and leaves no
 *    descriptor or mapping, and the caller's fallback to normal pages works;
 *  - attach from a descriptor: size from fstat, FD_CLOEXEC set on a
 *    descriptor that lacked it, same bytes as another mapping, NO_MAP,
 *    regular files, size 0 / bad fd refused, XS_SHM_REQUIRE_SEAL refuses an
 *    unsealed object and accepts a sealed one; on failure the fd is closed;
 *  - every descriptor xsched creates is close-on-exec;
 *  - detach unmaps the whole mapping (every page, /proc/self/maps) and closes
 *    the descriptor; detaching a zeroed or failed object touches nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/shm.h"

#define NAME "xs-test-shm"

static int maps_named(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	T_ASSERT(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "memfd:" NAME))
			n++;
	fclose(f);
	return n;
}

static int cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	T_ASSERT(fl >= 0);
	return !!(fl & FD_CLOEXEC);
}

/* Every page of [base, base + size) is unmapped. */
static void expect_unmapped(uint8_t *base, size_t size)
{
	unsigned char vec;
	size_t off;

	for (off = 0; off < size; off += 4096) {
		errno = 0;
		T_ASSERT(mincore(base + off, 4096, &vec) == -1 && errno == ENOMEM,
			 "(page at +%zu still mapped)", off);
	}
}

static long free_huge_pages(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");
	long n = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}

static void check_round(void)
{
	T_EQ(xs_shm_round(0, 0), 0);
	T_EQ(xs_shm_round(1, 0), 4096);
	T_EQ(xs_shm_round(4096, 0), 4096);
	T_EQ(xs_shm_round(4097, 0), 8192);
	T_EQ(xs_shm_round(2621632, 0), 2625536);
	T_EQ(xs_shm_round(1, 1), 2097152);
	T_EQ(xs_shm_round(2097152, 1), 2097152);
	T_EQ(xs_shm_round(2621632, 1), 4194304);
	T_EQ(xs_shm_round(SIZE_MAX, 0), 0);
	T_EQ(xs_shm_round(SIZE_MAX - 4094, 0), 0);
	T_EQ(xs_shm_round(SIZE_MAX - 4095 - 4095, 0), SIZE_MAX - 4095);
}

static void check_create(void)
{
	struct xs_shm s, z;
	struct stat st;
	uint8_t *base;
	size_t i;
	int fd;

	/* normal: rounded, mapped whole, zero-filled, close-on-exec */
	T_OK(xs_shm_create(&s, NAME, 10000, 0));
	T_EQ(s.size, 12288);
	T_ASSERT(s.base != NULL && s.fd >= 0);
	T_ASSERT(cloexec(s.fd));
	T_ASSERT(fstat(s.fd, &st) == 0);
	T_EQ(st.st_size, 12288);
	T_EQ(s.state, 0);
	T_EQ(xs_shm_inspect(s.fd), 0);
	for (i = 0; i < s.size; i++)
		T_ASSERT(s.base[i] == 0);
	memset(s.base, 0x5c, s.size); /* writable, every page */
	T_EQ(maps_named(), 1);
	base = s.base;
	fd = s.fd;
	xs_shm_detach(&s);
	T_ASSERT(s.base == NULL && s.size == 0 && s.fd == -1);
	T_EQ(maps_named(), 0);
	expect_unmapped(base, 12288);
	T_ASSERT(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
	xs_shm_detach(&s); /* twice is harmless */

	/* a zeroed object (fd 0!) is left alone (main made sure fd 0 is open) */
	memset(&z, 0, sizeof(z));
	xs_shm_detach(&z);
	T_ASSERT(fcntl(0, F_GETFD) >= 0, "(detaching a zeroed object closed fd 0)");

	/* size 0 refused, nothing left */
	xs_clearerr();
	T_ERR(xs_shm_create(&s, NAME, 0, 0), -XS_ESHM_SIZE);
	T_ASSERT(xs_errmsg()[0] != '\0');
	T_ASSERT(s.fd == -1 && s.base == NULL);
	xs_shm_detach(&s);
	T_ERR(xs_shm_create(&s, NAME, SIZE_MAX, 0), -XS_ESHM_SIZE);

	/* NO_MAP: sized descriptor only */
	T_OK(xs_shm_create(&s, NAME, 5000, XS_SHM_NO_MAP));
	T_ASSERT(s.base == NULL && s.fd >= 0 && cloexec(s.fd));
	T_EQ(s.size, 8192);
	T_EQ(maps_named(), 0);
	xs_shm_detach(&s);

	/* sealed at creation: resize refused with EPERM, seals sealed */
	T_OK(xs_shm_create(&s, NAME, 4096, XS_SHM_SEAL));
	T_EQ(s.state, XS_SHM_STATE_SEALED);
	T_EQ(xs_shm_inspect(s.fd), XS_SHM_STATE_SEALED);
	errno = 0;
	T_ASSERT(ftruncate(s.fd, 8192) == -1 && errno == EPERM);
	errno = 0;
	T_ASSERT(ftruncate(s.fd, 0) == -1 && errno == EPERM);
	errno = 0;
	T_ASSERT(fcntl(s.fd, F_ADD_SEALS, F_SEAL_WRITE) == -1 && errno == EPERM);
	T_ERR(xs_shm_seal(s.fd), -EPERM); /* F_SEAL_SEAL is set */
	s.base[4095] = 1;                  /* still writable */
	xs_shm_detach(&s);

	/* sealable, sealed later */
	T_OK(xs_shm_create(&s, NAME, 4096, XS_SHM_ALLOW_SEAL));
	T_EQ(xs_shm_inspect(s.fd), 0);
	T_ASSERT(ftruncate(s.fd, 8192) == 0); /* not sealed yet */
	T_OK(xs_shm_seal(s.fd));
	T_EQ(xs_shm_inspect(s.fd), XS_SHM_STATE_SEALED);
	errno = 0;
	T_ASSERT(ftruncate(s.fd, 4096) == -1 && errno == EPERM);
	xs_shm_detach(&s);

	/* not sealable: xs_shm_seal fails (EPERM from F_SEAL_SEAL of a plain memfd) */
	fd = xs_memfd_create(NAME, 0);
	T_OK(fd);
	T_ASSERT(cloexec(fd));
	T_ASSERT(xs_shm_seal(fd) < 0);
	T_EQ(xs_shm_inspect(fd), 0);
	close(fd);
}

static void check_huge(void)
{
	struct xs_shm s;
	int fds = t_fd_count(), rc;
	long avail = free_huge_pages();

	xs_clearerr();
	rc = xs_shm_create(&s, NAME, 3u << 20, XS_SHM_HUGE);
	if (avail >= 2) {
		T_OK(rc);
		T_EQ(s.size, 4u << 20);
		T_ASSERT(s.state & XS_SHM_STATE_HUGE);
		T_ASSERT(xs_shm_inspect(s.fd) & XS_SHM_STATE_HUGE);
		T_ASSERT(cloexec(s.fd));
		s.base[0] = s.base[s.size - 1] = 1;
		xs_shm_detach(&s);
		printf("test_shm: huge pages available (%ld free): huge create succeeded\n", avail);
	} else if (rc == 0) {
		/* a page may have been freed meanwhile; the object must really be huge */
		T_ASSERT(xs_shm_inspect(s.fd) & XS_SHM_STATE_HUGE);
		xs_shm_detach(&s);
	} else {
		T_ASSERT(rc < 0);
		T_ASSERT(xs_errmsg()[0] != '\0');
		T_ASSERT(s.fd == -1 && s.base == NULL && s.size == 0);
		printf("test_shm: no huge pages: huge create failed cleanly: %s (%s)\n",
		       xs_strerror(rc), xs_errmsg());
		/* the caller's fallback: the same request on normal pages */
		T_OK(xs_shm_create(&s, NAME, 3u << 20, 0));
		T_EQ(s.size, 3u << 20);
		T_EQ(s.state & XS_SHM_STATE_HUGE, 0);
		xs_shm_detach(&s);
	}
	T_EQ(maps_named(), 0);
	T_EQ(t_fd_count(), fds);
}

static void check_attach(void)
{
	struct xs_shm s, c;
	uint8_t *base;
	int fd, fds = t_fd_count();
	uint64_t v = 0x1122334455667788ull;

	/* a peer's descriptor without FD_CLOEXEC: attach sets it; size from fstat */
	fd = memfd_create(NAME, 0);
	T_ASSERT(fd >= 0 && !cloexec(fd));
	T_ASSERT(ftruncate(fd, 3 * 4096 + 100) == 0);
	T_EQ(pwrite(fd, &v, 8, 3 * 4096), 8);
	T_OK(xs_shm_attach(&s, fd, 0));
	T_ASSERT(cloexec(fd));
	T_EQ(s.fd, fd);
	T_EQ(s.size, 3 * 4096 + 100);
	T_ASSERT(memcmp(s.base + 3 * 4096, &v, 8) == 0);
	s.base[3 * 4096 + 99] = 0xee; /* the last byte is mapped */
	base = s.base;
	xs_shm_detach(&s);
	T_EQ(maps_named(), 0);
	expect_unmapped(base, 4 * 4096);
	T_EQ(t_fd_count(), fds); /* detach closed the adopted descriptor */

	/* two mappings of one object share bytes */
	T_OK(xs_shm_create(&c, NAME, 4096, 0));
	fd = dup(c.fd);
	T_ASSERT(fd >= 0);
	T_OK(xs_shm_attach(&s, fd, 0));
	T_ASSERT(s.base != c.base);
	c.base[17] = 42;
	T_EQ(s.base[17], 42);
	T_EQ(maps_named(), 2);
	xs_shm_detach(&s);
	T_EQ(c.base[17], 42);
	T_EQ(maps_named(), 1);

	/* NO_MAP */
	fd = dup(c.fd);
	T_OK(xs_shm_attach(&s, fd, XS_SHM_NO_MAP));
	T_ASSERT(s.base == NULL && s.size == 4096);
	xs_shm_detach(&s);

	/* REQUIRE_SEAL refuses the unsealed object and closes the fd */
	fd = dup(c.fd);
	xs_clearerr();
	T_ERR(xs_shm_attach(&s, fd, XS_SHM_REQUIRE_SEAL), -XS_ESHM_UNSEALED);
	T_ASSERT(xs_errmsg()[0] != '\0');
	T_ASSERT(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
	T_ASSERT(s.fd == -1 && s.base == NULL);
	xs_shm_detach(&s);
	xs_shm_detach(&c);
	T_EQ(maps_named(), 0);

	/* ... and accepts a sealed one */
	T_OK(xs_shm_create(&c, NAME, 8192, XS_SHM_SEAL | XS_SHM_NO_MAP));
	fd = dup(c.fd);
	T_OK(xs_shm_attach(&s, fd, XS_SHM_REQUIRE_SEAL));
	T_EQ(s.state, XS_SHM_STATE_SEALED);
	T_EQ(s.size, 8192);
	xs_shm_detach(&s);
	xs_shm_detach(&c);

	/* size 0: refused, fd closed */
	fd = memfd_create(NAME, 0);
	T_ASSERT(fd >= 0);
	T_ERR(xs_shm_attach(&s, fd, 0), -XS_ESHM_SIZE);
	T_ASSERT(fcntl(fd, F_GETFD) == -1 && errno == EBADF);

	/* bad descriptors */
	T_ERR(xs_shm_attach(&s, -1, 0), -EBADF);
	fd = open("/dev/null", O_RDONLY);
	T_ASSERT(fd >= 0);
	T_ASSERT(close(fd) == 0);
	T_ERR(xs_shm_attach(&s, fd, 0), -EBADF); /* closed just now */

	/* a regular file works too (no seals possible: REQUIRE_SEAL refuses) */
	fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	if (fd >= 0) {
		int fd2;

		T_ASSERT(ftruncate(fd, 8192) == 0);
		fd2 = dup(fd);
		T_OK(xs_shm_attach(&s, fd, 0));
		T_EQ(s.size, 8192);
		T_EQ(s.state, 0);
		xs_shm_detach(&s);
		T_ERR(xs_shm_attach(&s, fd2, XS_SHM_REQUIRE_SEAL), -XS_ESHM_UNSEALED);
	}

	/* xs_shm_map maps an already-sized descriptor whole */
	fd = xs_memfd_create(NAME, 0);
	T_ASSERT(ftruncate(fd, 8192) == 0);
	T_OK(xs_shm_map(fd, 8192, &base));
	base[8191] = 1;
	T_EQ(maps_named(), 1);
	T_ASSERT(munmap(base, 8192) == 0);
	T_ERR(xs_shm_map(fd, 0, &base), -EINVAL);
	close(fd);

	T_EQ(maps_named(), 0);
	T_EQ(t_fd_count(), fds);
}

int main(void)
{
	int fds;

	if (fcntl(0, F_GETFD) < 0) /* fd 0 must be open for the zeroed-detach check */
		T_EQ(open("/dev/null", O_RDONLY), 0);
	fds = t_fd_count();

	check_round();
	check_create();
	check_huge();
	check_attach();
	T_EQ(t_fd_count(), fds);
	T_EQ(maps_named(), 0);
	printf("test_shm: OK\n");
	return 0;
}
