/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Server side objects of a session, created exactly as the upstream server
 * does (HANDSHAKE.md §5), with three xsched changes that leave the bytes
 * the client sees unchanged:
 *  - huge pages: upstream retries huge pages for every object and each
 *    failure costs a memfd, an ftruncate and a failed mmap. Under
 *    XS_HS_HUGE_AUTO the first failure of this process is remembered and
 *    later objects go straight to normal pages (xs_hs_huge_reset() forgets).
 *  - one allocator mapping: upstream maps the whole allocator file again for
 *    every worker handle; here the worker handles share the creator's
 *    mapping (xs_alloc_join_handle).
 *  - sealing: every memfd is created with MFD_ALLOW_SEALING and, once sized,
 *    sealed with F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, so that neither
 *    side can truncate an object under the other's mapping (SIGBUS).
 *    Clients see it with F_GET_SEALS; upstream clients ignore it.
 *  - NUMA placement (optional bind hook, struct xs_hs_server_opts.bind_fn):
 *    every object file is sized first, then handed to the hook, and only
 *    then mapped and initialised, so the policy the hook sets governs the
 *    first touch of every page, by this process or the client. A failing
 *    hook fails the object like any other creation error (huge-page
 *    attempts fall back to normal pages first).
 */
#include "hs_pvt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xsched/alloc.h"
#include "xsched/shm.h"

/* Set once a huge-page attempt failed in this process (XS_HS_HUGE_AUTO).
 * Relaxed: a hint only; a racing thread at worst makes one more attempt. */
static int hs_huge_failed;

void xs_hs_huge_reset(void)
{
	__atomic_store_n(&hs_huge_failed, 0, __ATOMIC_RELAXED);
}

struct hs_build {
	const struct xs_hs_proto *p;
	const struct xs_logon *logon;
	uint32_t huge;  /* enum xs_hs_huge */
	int seal;
	xs_hs_bind_fn bind_fn; /* NUMA placement hook, or NULL */
	void *bind_arg;
	char *reason;
	size_t reason_cap;
};

/* Whether to try huge pages for the next object. */
static int want_huge(const struct hs_build *b, int allowed)
{
	if (!allowed || !b->p->huge_first || b->huge == XS_HS_HUGE_NEVER)
		return 0;
	if (b->huge == XS_HS_HUGE_AUTO && __atomic_load_n(&hs_huge_failed, __ATOMIC_RELAXED))
		return 0;
	return 1;
}

static void huge_failed(const struct hs_build *b)
{
	if (b->huge == XS_HS_HUGE_AUTO)
		__atomic_store_n(&hs_huge_failed, 1, __ATOMIC_RELAXED);
}

static void set_reason(struct hs_build *b, const char *fmt, ...) XS_PRINTF(2, 3);
static void set_reason(struct hs_build *b, const char *fmt, ...)
{
	va_list ap;

	if (!b->reason || !b->reason_cap)
		return;
	va_start(ap, fmt);
	vsnprintf(b->reason, b->reason_cap, fmt, ap);
	va_end(ap);
}

/* Upstream's text for a failed memfd/seal: an Io error of the server. */
static int io_reason(struct hs_build *b, int err, int code, const char *what)
{
	char io[160];

	xs_hs_format_io(io, sizeof(io), err);
	set_reason(b, "%s", io);
	return xs_seterr(code, "%s: %s", what, strerror(-err));
}

/*
 * Hand a sized, never mapped object file to the bind hook. The detail
 * message is cleared first so that a hook failing without one does not
 * leave a stale text behind. @return 0 (also without a hook) or its error.
 */
static int bind_object(const struct hs_build *b, int fd, size_t size)
{
	int err;

	if (!b->bind_fn)
		return 0;
	xs_clearerr();
	err = b->bind_fn(fd, size, b->bind_arg);
	return err < 0 ? err : 0;
}

/* The bind hook failed for @p what on normal pages: reason and detail. The
 * client sees an Io rejection; the detail keeps the hook's own message. */
static int bind_failed(struct hs_build *b, int err, int code, const char *what, size_t size)
{
	struct xs__hs_msg m;

	xs__hs_errmsg(&m);
	if (-err < XS_E_BASE && b->reason && b->reason_cap)
		xs_hs_format_io(b->reason, b->reason_cap, err); /* upstream's Io text */
	else
		set_reason(b, "Io; err=%s", xs_strerror(err));
	return xs_seterr(code, "placing the %s (%zu bytes) on its NUMA node: %s", what, size,
			 m.s[0] ? m.s : xs_strerror(err));
}

static int new_memfd(const struct hs_build *b, int huge)
{
	return xs_memfd_create(XS_SHM_NAME, (huge ? XS_SHM_HUGE : 0) | (b->seal ? XS_SHM_ALLOW_SEAL : 0));
}

/* Size of an object file: value in bytes or items, rounded as the VERSION says.
 * @return 0 when it does not fit in size_t. */
static size_t object_size(const struct hs_build *b, uint64_t value, int items, uint32_t elem,
			  int huge)
{
	size_t sz;

	if (items) {
		sz = xs_spsc_min_file_size(value, elem, XS__HS_ELEM_ALIGN);
		if (sz == 0)
			return 0;
	} else {
		if (value > SIZE_MAX)
			return 0;
		sz = (size_t)value;
	}
	return b->p->round_pages ? xs_shm_round(sz, huge) : sz;
}

/* rts_alloc::error::Error Debug name of an xs_alloc error (upstream's text). */
static void alloc_reason(struct hs_build *b, int err, int fd, size_t size)
{
	const char *name = NULL;
	char io[200], text[240];
	struct stat st;

	switch (-err) {
	case XS_EA_SLAB_SIZE: name = "InvalidSlabSize"; break;
	case XS_EA_NUM_WORKERS: name = "InvalidNumWorkers"; break;
	case XS_EA_WORKER_INDEX: name = "InvalidWorkerIndex"; break;
	case XS_EA_FILE_SIZE: name = "InvalidFileSize"; break;
	case XS_EA_ALREADY_INIT: name = "AlreadyInitialized"; break;
	default:
		if (err < 0 && -err < XS_E_BASE) {
			/* The file already has its size when ftruncate worked:
			 * then the mapping failed (MMapError), else IoError. */
			int sized = fd >= 0 && fstat(fd, &st) == 0 && (size_t)st.st_size == size;

			xs__hs_io_debug(io, sizeof(io), err);
			snprintf(text, sizeof(text), "%s(%s)", sized ? "MMapError" : "IoError", io);
			set_reason(b, "Rts alloc; err=%s", text);
			return;
		}
		name = "InvalidHeader";
	}
	set_reason(b, "Rts alloc; err=%s", name);
}

/*
 * Allocator: huge first (fallback), size rounded, num_workers = 1 + W + H,
 * 2 MiB slabs, own handle 0. With a bind hook the file is sized and bound
 * before xs_alloc_create_sized() maps and writes it; parameters the layout
 * rejects skip that and fail in xs_alloc_create() with upstream's error.
 */
static int create_allocator(struct hs_build *b, struct xs_vsession *vs, int *fd_out)
{
	uint32_t nw = XS_HS_GLOBAL_ALLOCATORS + (uint32_t)b->logon->worker_count +
		      (uint32_t)b->logon->allocator_handles;
	int huge = want_huge(b, 1), err = 0;
	struct xs_alloc_layout lay;

	for (;; huge = 0) {
		size_t size = object_size(b, b->logon->allocator_size, 0, 0, huge);
		int fd = new_memfd(b, huge);

		if (fd < 0) {
			if (huge) {
				huge_failed(b);
				continue;
			}
			return io_reason(b, fd, -XS_EHS_ALLOC, "allocator memfd_create");
		}
		if (size == 0) {
			err = -XS_EA_FILE_SIZE;
		} else if (b->bind_fn && xs_alloc_compute_layout(size, b->p->slab_size, nw, &lay) == 0) {
			if (ftruncate(fd, (off_t)size) < 0) {
				/* reported below as upstream's IoError */
				err = -errno;
				xs_seterr(err, "ftruncate of the allocator file to %zu failed: %s", size,
					  strerror(-err));
			} else if ((err = bind_object(b, fd, size)) < 0) {
				close(fd);
				if (huge) {
					if (-err < XS_E_BASE)
						huge_failed(b);
					continue;
				}
				return bind_failed(b, err, -XS_EHS_ALLOC, "allocator", size);
			} else {
				err = xs_alloc_create_sized(&vs->tpu_alloc, fd, size, nw, b->p->slab_size, 0);
			}
		} else {
			err = xs_alloc_create(&vs->tpu_alloc, fd, size, nw, b->p->slab_size, 0);
		}
		if (err == 0) {
			if (b->seal && (err = xs_shm_seal(fd)) < 0) {
				xs_alloc_close(vs->tpu_alloc);
				vs->tpu_alloc = NULL;
				close(fd);
				return io_reason(b, err, -XS_EHS_ALLOC, "sealing the allocator");
			}
			*fd_out = fd;
			vs->allocator_size = size;
			vs->object_state[0] = (uint8_t)((huge ? XS_SHM_STATE_HUGE : 0) |
							(b->seal ? XS_SHM_STATE_SEALED : 0));
			return 0;
		}
		if (!huge) {
			struct xs__hs_msg m;

			xs__hs_errmsg(&m);
			alloc_reason(b, err, fd, size);
			close(fd);
			return xs_seterr(-XS_EHS_ALLOC, "allocator of %zu bytes for %u workers: %s (%s)",
					 size, nw, xs_strerror(err), m.s);
		}
		close(fd);
		/* only a failure of the system (no huge pages) disables them; a
		 * bad logon value fails the same on normal pages */
		if (err < 0 && -err < XS_E_BASE)
			huge_failed(b);
	}
}

/*
 * One queue: memfd, ftruncate, capacity, bind hook, mmap, header init, seal. The steps
 * are done here rather than in xs_spsc_create() so that each failure gets
 * upstream's own error (Io / InvalidBufferSize / Mmap).
 */
static int create_queue(struct hs_build *b, const char *what, struct xs_spsc *q, uint64_t value,
			uint32_t elem, enum xs_spsc_role role, int huge_allowed, int *fd_out,
			uint8_t *state)
{
	int huge = want_huge(b, huge_allowed);
	char io[200], text[240];

	for (;; huge = 0) {
		size_t size = object_size(b, value, b->logon->units == XS_LOGON_ITEMS, elem, huge);
		struct xs__hs_msg m;
		uint8_t *base = NULL;
		uint64_t cap;
		int fd, err;

		fd = new_memfd(b, huge);
		if (fd < 0) {
			if (huge) {
				huge_failed(b);
				continue;
			}
			return io_reason(b, fd, -XS_EHS_QUEUE, "queue memfd_create");
		}
		if (size == 0 && value != 0) {
			/* the size does not fit in a file size: shaq's arithmetic fails */
			close(fd);
			set_reason(b, "Shaq; err=InvalidBufferSize");
			return xs_seterr(-XS_EHS_QUEUE, "queue of %" PRIu64 " x %u bytes overflows", value,
					 elem);
		}
		if (ftruncate(fd, (off_t)size) < 0) {
			err = -errno;
			close(fd);
			if (huge) {
				huge_failed(b);
				continue;
			}
			xs__hs_io_debug(io, sizeof(io), err);
			snprintf(text, sizeof(text), "Io(%s)", io);
			set_reason(b, "Shaq; err=%s", text);
			return xs_seterr(-XS_EHS_QUEUE, "queue ftruncate(%zu): %s", size, strerror(-err));
		}
		err = xs_spsc_capacity_for(size, elem, XS__HS_ELEM_ALIGN, &cap);
		if (err) {
			/* same arithmetic on normal pages: no fallback needed, but
			 * upstream retries, and the normal-page error is reported */
			close(fd);
			if (huge)
				continue;
			xs__hs_errmsg(&m);
			set_reason(b, "Shaq; err=InvalidBufferSize");
			return xs_seterr(-XS_EHS_QUEUE, "queue file of %zu bytes: %s", size, m.s);
		}
		err = bind_object(b, fd, size);
		if (err) {
			close(fd);
			if (huge) {
				if (-err < XS_E_BASE)
					huge_failed(b);
				continue;
			}
			return bind_failed(b, err, -XS_EHS_QUEUE, what, size);
		}
		err = xs_shm_map(fd, size, &base);
		if (err) {
			close(fd);
			if (huge) {
				huge_failed(b);
				continue;
			}
			xs__hs_io_debug(io, sizeof(io), err);
			snprintf(text, sizeof(text), "Mmap(%s)", io);
			set_reason(b, "Shaq; err=%s", text);
			return xs_seterr(-XS_EHS_QUEUE, "queue mmap(%zu): %s", size, strerror(-err));
		}
		err = xs_spsc_attach_mem(q, base, size, elem, XS__HS_ELEM_ALIGN,
					 (enum xs_shaq_format)b->p->shaq, role, 1);
		if (!err && b->seal)
			err = xs_shm_seal(fd);
		if (err) {
			munmap(base, size);
			close(fd);
			memset(q, 0, sizeof(*q));
			return io_reason(b, err < 0 && -err < XS_E_BASE ? err : -EINVAL, -XS_EHS_QUEUE,
					 "queue initialisation/sealing");
		}
		/* the handle owns the whole mapping from here (xs_spsc_close unmaps it) */
		q->owns_map = 1;
		*fd_out = fd;
		*state = (uint8_t)((huge ? XS_SHM_STATE_HUGE : 0) | (b->seal ? XS_SHM_STATE_SEALED : 0));
		return 0;
	}
}

void xs_vsession_close(struct xs_vsession *vs)
{
	if (!vs)
		return;
	xs__hs_workers_free(vs->workers, vs->num_workers);
	xs_spsc_close(&vs->tpu_to_pack);
	xs_spsc_close(&vs->progress);
	if (vs->worker_allocs) {
		for (uint32_t i = vs->num_workers; i-- > 0;)
			if (vs->worker_allocs[i])
				xs_alloc_close(vs->worker_allocs[i]);
		free(vs->worker_allocs);
	}
	if (vs->tpu_alloc)
		xs_alloc_close(vs->tpu_alloc);
	free(vs->object_state);
	if (vs->peer_pidfd >= 0)
		close(vs->peer_pidfd);
	free(vs);
}

int xs_hs_objects_create(uint64_t version, const struct xs_logon *logon, uint32_t huge,
			 int seal, struct xs_vsession **out, int *fds, char *reason,
			 size_t reason_cap)
{
	return xs_hs_objects_create_bound(version, logon, huge, seal, NULL, NULL, out, fds, reason,
					  reason_cap);
}

int xs_hs_objects_create_bound(uint64_t version, const struct xs_logon *logon, uint32_t huge,
			       int seal, xs_hs_bind_fn bind_fn, void *bind_arg,
			       struct xs_vsession **out, int *fds, char *reason, size_t reason_cap)
{
	struct hs_build b = {
		.p = xs_hs_proto_get(version),
		.logon = logon,
		.huge = huge,
		.seal = seal,
		.bind_fn = bind_fn,
		.bind_arg = bind_arg,
		.reason = reason,
		.reason_cap = reason_cap,
	};
	struct xs_vsession *vs;
	char what[40];
	uint32_t w, nobj, n = 0;
	int err;

	*out = NULL;
	if (reason && reason_cap)
		reason[0] = '\0';
	if (!b.p || !b.p->sessions)
		return xs_seterr(-EINVAL, "handshake VERSION %" PRIu64 " is not spoken%s", version,
				 b.p ? " by the server yet (wire codecs only)" : "");
	if (logon->worker_count < 1 || logon->worker_count > XS_HS_MAX_WORKERS ||
	    logon->allocator_handles < 1 || logon->allocator_handles > XS_HS_MAX_ALLOC_HANDLES)
		return xs_seterr(-EINVAL, "logon counts not validated (workers %" PRIu64
				 ", handles %" PRIu64 ")", logon->worker_count, logon->allocator_handles);
	w = (uint32_t)logon->worker_count;
	nobj = XS_HS_GLOBAL_SHMEM + 2 * w;

	vs = xs__hs_zalloc_aligned(sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	vs->peer_pidfd = -1; /* the server sets it; none for a socketless session */
	vs->version = (int)b.p->version;
	vs->num_workers = w;
	vs->num_allocs = (uint32_t)logon->allocator_handles;
	vs->logon = *logon;
	vs->num_objects = nobj;
	vs->object_state = calloc(nobj, 1);
	vs->worker_allocs = calloc(w, sizeof(*vs->worker_allocs));
	vs->workers = xs__hs_zalloc_aligned(sizeof(*vs->workers) * w);
	if (!vs->object_state || !vs->worker_allocs || !vs->workers) {
		err = -ENOMEM;
		goto fail;
	}

	/* Upstream order: allocator, tpu_to_pack, progress_tracker, then per
	 * worker: allocator handle 1 + i, pack_to_worker, worker_to_pack. */
	err = create_allocator(&b, vs, &fds[0]);
	if (err)
		goto fail;
	n = 1;
	err = create_queue(&b, "tpu_to_pack queue", &vs->tpu_to_pack, logon->tpu_to_pack_capacity,
			   XS__HS_ELEM_TPU, XS_SPSC_PRODUCER, 1, &fds[1], &vs->object_state[1]);
	if (err)
		goto fail;
	n = 2;
	/* progress_tracker never uses huge pages */
	err = create_queue(&b, "progress_tracker queue", &vs->progress,
			   logon->progress_tracker_capacity, XS__HS_ELEM_PROGRESS, XS_SPSC_PRODUCER, 0,
			   &fds[2], &vs->object_state[2]);
	if (err)
		goto fail;
	n = 3;
	for (uint32_t i = 0; i < w; i++) {
		err = xs_alloc_join_handle(&vs->worker_allocs[i], vs->tpu_alloc,
					   XS_HS_GLOBAL_ALLOCATORS + i);
		if (err) {
			alloc_reason(&b, err, -1, 0);
			err = xs_seterr(-XS_EHS_ALLOC, "allocator handle for worker %u: %s", i,
					xs_strerror(err));
			goto fail;
		}
		snprintf(what, sizeof(what), "pack_to_worker queue %u", i);
		err = create_queue(&b, what, &vs->workers[i].pack_to_worker,
				   logon->pack_to_worker_capacity, XS__HS_ELEM_P2W, XS_SPSC_CONSUMER, 1,
				   &fds[n], &vs->object_state[n]);
		if (err)
			goto fail;
		n++;
		snprintf(what, sizeof(what), "worker_to_pack queue %u", i);
		err = create_queue(&b, what, &vs->workers[i].worker_to_pack,
				   logon->worker_to_pack_capacity, XS__HS_ELEM_W2P, XS_SPSC_PRODUCER, 1,
				   &fds[n], &vs->object_state[n]);
		if (err)
			goto fail;
		n++;
	}
	for (uint32_t i = 0; i < nobj; i++) {
		if (vs->object_state[i] & XS_SHM_STATE_HUGE)
			vs->num_huge++;
		if (vs->object_state[i] & XS_SHM_STATE_SEALED)
			vs->num_sealed++;
	}
	*out = vs;
	return 0;
fail:
	xs__hs_close_fds(fds, n);
	xs_vsession_close(vs);
	return err;
}
