/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared-memory segments: anonymous memfd objects, created (huge pages first
 * when asked, falling back to normal pages), sized, optionally sealed, and
 * mapped whole; or attached from a descriptor received from a peer.
 *
 * Every descriptor xsched creates is close-on-exec. The mapping is always
 * unmapped whole (base, size): upstream shaq 0.2.0/1.0.0 unmapped from the
 * ring start instead, which leaks the first page and may unmap a neighbour.
 */
#ifndef XS_SHM_H
#define XS_SHM_H

#include <stddef.h>
#include <stdint.h>

#include "xsched/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every declaration up to the matching pop is public: exported from
 * libxsched.so, which is built with -fvisibility=hidden (README "ABI"). */
#pragma GCC visibility push(default)

/** Name upstream gives every memfd of a session (visible in /proc/PID/fd). */
#define XS_SHM_NAME "/agave-scheduler-bindings"

#define XS_SHM_PAGE      4096u
#define XS_SHM_HUGE_PAGE (2u * 1024 * 1024)

/* Flags for xs_memfd_create() / xs_shm_create() / xs_shm_attach(). */
#define XS_SHM_HUGE         (1u << 0) /**< back with 2 MiB huge pages (MFD_HUGETLB|MFD_HUGE_2MB) */
#define XS_SHM_ALLOW_SEAL   (1u << 1) /**< create with MFD_ALLOW_SEALING */
#define XS_SHM_SEAL         (1u << 2) /**< create: seal against grow/shrink (+seal) once sized */
#define XS_SHM_REQUIRE_SEAL (1u << 3) /**< attach: refuse an object not sealed against resize */
#define XS_SHM_NO_MAP       (1u << 4) /**< create/attach: size only, do not map */

/* Flags reported in struct xs_shm.state. */
#define XS_SHM_STATE_HUGE   (1u << 0) /**< the object is hugetlbfs-backed */
#define XS_SHM_STATE_SEALED (1u << 1) /**< F_SEAL_GROW and F_SEAL_SHRINK are set */

/** A mapped shared-memory object. Plain data; zero-initialise before use. */
struct xs_shm {
	uint8_t *base; /**< mapping of the whole object, or NULL (XS_SHM_NO_MAP) */
	size_t size;   /**< object size in bytes (== mapping length) */
	int fd;        /**< owned descriptor, -1 when none */
	unsigned state; /**< XS_SHM_STATE_* */
};

/** Round @p size up to the page size of the backing: 2 MiB when @p huge, else 4 KiB.
 *  Returns 0 on overflow. */
size_t xs_shm_round(size_t size, int huge);

/**
 * memfd_create(name, MFD_CLOEXEC [| MFD_HUGETLB | MFD_HUGE_2MB] [| MFD_ALLOW_SEALING]).
 * @return the descriptor, or -errno.
 */
int xs_memfd_create(const char *name, unsigned flags);

/**
 * Create an object of at least @p size bytes: memfd, size rounded for its
 * page size, ftruncate, optional seals, mmap whole (unless XS_SHM_NO_MAP).
 * With XS_SHM_HUGE the object is huge-page backed or the call fails
 * (-ENOMEM / -EINVAL, or -XS_ESHM_HUGE); the caller decides on fallback.
 * @return 0 or a negative error; on error nothing is left open or mapped.
 */
int xs_shm_create(struct xs_shm *shm, const char *name, size_t size, unsigned flags);

/**
 * Attach an object received from a peer. Takes ownership of @p fd (it is
 * closed by xs_shm_detach, and on failure). Size comes from fstat; an object
 * of size 0 is refused (-XS_ESHM_SIZE). Sets FD_CLOEXEC.
 * @return 0 or a negative error.
 */
int xs_shm_attach(struct xs_shm *shm, int fd, unsigned flags);

/** Map an already-sized descriptor whole (read/write, shared). */
int xs_shm_map(int fd, size_t size, uint8_t **out);

/** Unmap (whole) and close. Safe on a zeroed, failed (create/attach returned
 *  an error) or already-detached object: those have size 0 and are left alone. */
void xs_shm_detach(struct xs_shm *shm);

/** Seal @p fd against shrinking and growing, then seal the seals. */
int xs_shm_seal(int fd);

/** Return XS_SHM_STATE_* bits describing @p fd (sealed? huge?), or -errno. */
int xs_shm_inspect(int fd);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* XS_SHM_H */
