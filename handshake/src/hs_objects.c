/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Server side objects of a session, created exactly as the upstream server
 * of the generation does (one code path driven by the protocol row):
 *   VERSION 1-3   allocator (fixed indices: own handles 0 and 1..W),
 *                 tpu_to_pack, progress_tracker, then per worker its
 *                 allocator handle 1 + i, pack_to_worker, worker_to_pack
 *                 (HANDSHAKE.md §5, AGAVE_4X.md §3);
 *   VERSION 4     the same order with claimed slots: the creator claims
 *                 slot 0, each worker claims the next right before its two
 *                 queues (AGAVE_4X.md §3, §7);
 *   VERSION 5     + pack_to_check_worker (MPMC consumer) and
 *                 check_worker_to_pack (MPMC producer) after
 *                 progress_tracker (LATER_VERSIONS.md §1.1); the check
 *                 workers' allocator slots are not in the spec: xsched
 *                 claims them from the top of the slot table after the
 *                 execution workers, so the slots the client claims are
 *                 1 + W + k as for VERSION 4;
 *   SDK           as VERSION 5, then C check-worker slots claimed (1..C)
 *                 before the execution workers' (HANDSHAKE_SDK.md §6).
 * Formats, element sizes, sizing and huge-page rules are the row's
 * (xs_hs_proto_get()). xsched changes that leave the bytes the client sees
 * unchanged:
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
	uint32_t C;     /* check workers (0: the row has no check queues) */
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

/* Page rounding of the row (none in VERSION 1). @return 0 on overflow. */
static size_t round_object(const struct hs_build *b, size_t sz, int huge)
{
	return b->p->round_pages ? xs_shm_round(sz, huge) : sz;
}

/* The logon value (size or capacity) of object @p o. */
static uint64_t field_value(const struct xs_logon *l, const struct xs_hs_object *o)
{
	switch (o->field) {
	case XS_LF_TPU_TO_PACK: return l->tpu_to_pack_capacity;
	case XS_LF_PROGRESS_TRACKER: return l->progress_tracker_capacity;
	case XS_LF_PACK_TO_WORKER: return l->pack_to_worker_capacity;
	case XS_LF_WORKER_TO_PACK: return l->worker_to_pack_capacity;
	case XS_LF_PACK_TO_CHECK_WORKER: return l->pack_to_check_worker_capacity;
	case XS_LF_CHECK_WORKER_TO_PACK: return l->check_worker_to_pack_capacity;
	default: return l->allocator_size;
	}
}

/*
 * File size of queue @p o for logon value @p value: bytes as given (a
 * logon in bytes, VERSION 1's unit), else the row's minimum_file_size
 * (VERSION 1 row with a logon in items: shaq's linear rule, as upstream
 * clients convert), then the row's page rounding.
 * @return 0 when the arithmetic overflows (upstream: InvalidBufferSize).
 */
static size_t queue_file_size(const struct hs_build *b, const struct xs_hs_object *o,
			      uint64_t value, int huge)
{
	uint64_t sz;

	if (b->logon->units == XS_LOGON_BYTES) {
		sz = value;
	} else if (b->p->sizing == XS_HS_SIZE_BYTES) {
		sz = xs_shaq_min_file_size(XS_SHAQ_1_0, XS_SHAQ_SPSC, value, o->elem_size,
					   XS__HS_ELEM_ALIGN);
		if (sz == 0)
			return 0;
	} else if (xs_hs_queue_min_size(b->p, o, value, &sz, NULL, 0) < 0) {
		return 0;
	}
	if (sz > SIZE_MAX)
		return 0;
	return round_object(b, (size_t)sz, huge);
}

/* rts_alloc::error::Error Debug text of an xs_alloc error in the row's
 * allocator format (upstream's "Rts alloc; err=<Debug>"). */
static void alloc_reason(struct hs_build *b, int err, int fd, size_t size)
{
	enum xs_alloc_format fmt = (enum xs_alloc_format)b->p->alloc_format;
	const struct xs_alloc_format_info *fi = xs_alloc_format_info(fmt);
	char io[200], text[240];
	struct stat st;

	if (err < 0 && -err < XS_E_BASE) {
		/* The file already has its size when ftruncate worked: then the
		 * mapping failed (MMapError / 4.0.0's MmapError), else IoError. */
		int sized = fd >= 0 && fstat(fd, &st) == 0 && (size_t)st.st_size == size;

		xs__hs_io_debug(io, sizeof(io), err);
		snprintf(text, sizeof(text), "%s(%s)",
			 sized ? (fi && fi->rust_errors ? "MmapError" : "MMapError") : "IoError", io);
		set_reason(b, "Rts alloc; err=%s", text);
		return;
	}
	if (xs_alloc_error_debug(err, fmt, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "InvalidHeader");
	set_reason(b, "Rts alloc; err=%s", text);
}

/*
 * Allocator: huge first (fallback), size rounded, the row's format:
 * fixed formats num_workers = 1 + W + H and own handle 0; claim formats
 * min_workers = 1 + W (+ C) + H and the creator claims the first slot (0).
 * 2 MiB slabs. With a bind hook the file is sized and bound before
 * creation maps and writes it; parameters the layout rejects skip that and
 * fail in the creation with upstream's error.
 */
static int create_allocator(struct hs_build *b, struct xs_vsession *vs, int *fd_out)
{
	enum xs_alloc_format fmt = (enum xs_alloc_format)b->p->alloc_format;
	uint64_t nw64 = xs_hs_alloc_min_workers(b->p, b->logon);
	uint32_t nw = nw64 > UINT32_MAX ? UINT32_MAX : (uint32_t)nw64;
	uint32_t wid = b->p->alloc_join == XS_HS_JOIN_CLAIM ? XS_ALLOC_CLAIM : 0;
	int huge = want_huge(b, b->p->objects[0].huge), err = 0;
	struct xs_alloc_layout lay;

	for (;; huge = 0) {
		size_t size = b->logon->allocator_size > SIZE_MAX
				      ? 0 : round_object(b, (size_t)b->logon->allocator_size, huge);
		int fd = new_memfd(b, huge);

		if (fd < 0) {
			if (huge) {
				huge_failed(b);
				continue;
			}
			return io_reason(b, fd, -XS_EHS_ALLOC, "allocator memfd_create");
		}
		if (size == 0) {
			err = xs_seterr(-XS_EA_FILE_SIZE, "allocator size %" PRIu64 " cannot be a file size",
					b->logon->allocator_size);
		} else if (b->bind_fn &&
			   xs_alloc_compute_layout_fmt(fmt, size, b->p->slab_size, nw, &lay) == 0) {
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
				err = xs_alloc_create_fmt_sized(&vs->tpu_alloc, fd, size, nw,
								b->p->slab_size, fmt, wid);
			}
		} else {
			err = xs_alloc_create_fmt(&vs->tpu_alloc, fd, size, nw, b->p->slab_size, fmt, wid);
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
			return xs_seterr(-XS_EHS_ALLOC,
					 "allocator (rts-alloc format %s) of %zu bytes for %u workers: %s (%s)",
					 xs_alloc_format_info(fmt) ? xs_alloc_format_info(fmt)->name : "?",
					 size, nw, xs_strerror(err), m.s);
		}
		close(fd);
		/* only a failure of the system (no huge pages) disables them; a
		 * bad logon value fails the same on normal pages */
		if (err < 0 && -err < XS_E_BASE)
			huge_failed(b);
	}
}

/* One more allocator handle on the server's mapping (slot @p id, or the
 * first free one with XS_ALLOC_CLAIM); @p who names it in messages. */
static int join_alloc(struct hs_build *b, struct xs_vsession *vs, struct xs_alloc **out,
		      uint32_t id, const char *who)
{
	int err = xs_alloc_join_handle(out, vs->tpu_alloc, id);

	if (!err)
		return 0;
	alloc_reason(b, err, -1, 0);
	return xs_seterr(-XS_EHS_ALLOC, "allocator handle for %s: %s", who, xs_strerror(err));
}

/* Where a queue of the session lives: an SPSC or an MPMC handle. */
struct hs_qref {
	struct xs_spsc *spsc;
	struct xs_mpmc *mpmc;
};

/*
 * One queue (object @p o of the row): memfd, ftruncate, capacity, bind
 * hook, mmap, header init (the row's shaq format and kind, the server's
 * role), seal. The steps are done here rather than in xs_spsc_create() /
 * xs_mpmc_create() so that each failure gets upstream's own error (Io /
 * InvalidBufferSize / Mmap).
 */
static int create_queue(struct hs_build *b, const struct xs_hs_object *o, const char *what,
			struct hs_qref q, int *fd_out, uint8_t *state)
{
	enum xs_shaq_format fmt = (enum xs_shaq_format)b->p->shaq;
	uint64_t value = field_value(b->logon, o);
	int huge = want_huge(b, o->huge);
	char io[200], text[240];

	for (;; huge = 0) {
		size_t size = queue_file_size(b, o, value, huge);
		struct xs_shaq_error se;
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
			if (huge)
				continue;
			set_reason(b, "Shaq; err=InvalidBufferSize");
			return xs_seterr(-XS_EHS_QUEUE, "%s: %s %" PRIu64 " of %u-byte items overflows",
					 what, b->logon->units == XS_LOGON_BYTES ? "size" : "capacity",
					 value, o->elem_size);
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
			return xs_seterr(-XS_EHS_QUEUE, "%s ftruncate(%zu): %s", what, size, strerror(-err));
		}
		err = xs_shaq_capacity_for(fmt, (enum xs_shaq_kind)o->kind, size, o->elem_size,
					   XS__HS_ELEM_ALIGN, &cap);
		if (err) {
			/* same arithmetic on normal pages: no fallback needed, but
			 * upstream retries, and the normal-page error is reported */
			close(fd);
			if (huge)
				continue;
			xs__hs_errmsg(&m);
			set_reason(b, "Shaq; err=InvalidBufferSize");
			return xs_seterr(-XS_EHS_QUEUE, "%s file of %zu bytes: %s", what, size, m.s);
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
			return xs_seterr(-XS_EHS_QUEUE, "%s mmap(%zu): %s", what, size, strerror(-err));
		}
		if (q.spsc)
			err = xs_spsc_attach_mem(q.spsc, base, size, o->elem_size, XS__HS_ELEM_ALIGN, fmt,
						 (enum xs_spsc_role)o->server_role, 1);
		else
			err = xs_mpmc_attach_mem(q.mpmc, base, size, o->elem_size, XS__HS_ELEM_ALIGN, fmt,
						 (enum xs_mpmc_role)o->server_role, 1);
		if (err) {
			xs__hs_errmsg(&m);
			xs_shaq_last_error(&se);
			xs_shaq_error_text(&se, 1, text, sizeof(text));
			munmap(base, size);
			close(fd);
			if (q.spsc)
				memset(q.spsc, 0, sizeof(*q.spsc));
			else
				memset(q.mpmc, 0, sizeof(*q.mpmc));
			set_reason(b, "Shaq; err=%s", text);
			return xs_seterr(-XS_EHS_QUEUE, "%s initialisation: %s", what, m.s);
		}
		/* the handle owns the whole mapping from here (close unmaps it) */
		if (q.spsc)
			q.spsc->owns_map = 1;
		else
			q.mpmc->owns_map = 1;
		if (b->seal && (err = xs_shm_seal(fd)) < 0) {
			close(fd);
			return io_reason(b, err, -XS_EHS_QUEUE, "sealing a queue");
		}
		*fd_out = fd;
		*state = (uint8_t)((huge ? XS_SHM_STATE_HUGE : 0) | (b->seal ? XS_SHM_STATE_SEALED : 0));
		return 0;
	}
}

/*
 * The other check workers' handles on the two check queues: the same
 * mapping as check worker 0's (which owns it), validated as a join.
 */
static int attach_check_handles(struct hs_build *b, struct xs_vsession *vs)
{
	struct xs_hs_check_worker *c0 = &vs->check_workers[0];
	const struct xs_hs_object *op = &b->p->objects[XS_HS_OBJ_PACK_TO_CHECK_WORKER];
	const struct xs_hs_object *oc = &b->p->objects[XS_HS_OBJ_CHECK_WORKER_TO_PACK];
	enum xs_shaq_format fmt = (enum xs_shaq_format)b->p->shaq;
	int err;

	for (uint32_t k = 1; k < b->C; k++) {
		struct xs_hs_check_worker *c = &vs->check_workers[k];

		err = xs_mpmc_attach_mem(&c->pack_to_check, c0->pack_to_check.base,
					 c0->pack_to_check.file_size, op->elem_size, XS__HS_ELEM_ALIGN,
					 fmt, XS_MPMC_CONSUMER, 0);
		if (!err)
			err = xs_mpmc_attach_mem(&c->check_to_pack, c0->check_to_pack.base,
						 c0->check_to_pack.file_size, oc->elem_size,
						 XS__HS_ELEM_ALIGN, fmt, XS_MPMC_PRODUCER, 0);
		if (err) {
			set_reason(b, "Shaq; err=InvalidBufferSize");
			return xs_seterr(-XS_EHS_QUEUE, "check worker %u's handles on the check queues: %s",
					 k, xs_strerror(err));
		}
	}
	return 0;
}

void xs_vsession_close(struct xs_vsession *vs)
{
	if (!vs)
		return;
	xs__hs_workers_free(vs->workers, vs->num_workers);
	if (vs->check_workers) {
		/* worker 0's handles own the mappings: close them last */
		for (uint32_t k = vs->num_check_workers; k-- > 0;) {
			xs_mpmc_close(&vs->check_workers[k].pack_to_check);
			xs_mpmc_close(&vs->check_workers[k].check_to_pack);
		}
		free(vs->check_workers);
	}
	xs_spsc_close(&vs->tpu_to_pack);
	xs_spsc_close(&vs->progress);
	if (vs->check_allocs) {
		for (uint32_t k = vs->num_check_workers; k-- > 0;)
			if (vs->check_allocs[k])
				xs_alloc_close(vs->check_allocs[k]);
		free(vs->check_allocs);
	}
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

/* Check workers of a session of row @p p for @p logon (see the header). */
static uint32_t check_workers_of(const struct xs_hs_proto *p, const struct xs_logon *logon)
{
	if (p->nglobal < XS_HS_GLOBAL_SHMEM_CHECK)
		return 0;
	return logon->check_worker_count ? (uint32_t)logon->check_worker_count : 1;
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
	const struct xs_hs_proto *p = b.p;
	struct xs_vsession *vs;
	char what[48];
	uint32_t w, nobj, n = 0;
	int claim, err;

	*out = NULL;
	if (reason && reason_cap)
		reason[0] = '\0';
	if (!p || !p->sessions)
		return xs_seterr(-EINVAL, "handshake VERSION %" PRIu64 " is not spoken%s", version,
				 p ? " by the server yet (wire codecs only)" : "");
	if (logon->worker_count < 1 || logon->worker_count > XS_HS_MAX_WORKERS ||
	    logon->allocator_handles < 1 || logon->allocator_handles > XS_HS_MAX_ALLOC_HANDLES ||
	    logon->check_worker_count > XS_HS_MAX_CHECK_WORKERS ||
	    ((p->checks & XS_HS_CHECK_CHECK_WORKERS) && logon->check_worker_count < 1))
		return xs_seterr(-EINVAL, "logon counts not validated (workers %" PRIu64
				 ", check workers %" PRIu64 ", handles %" PRIu64 ")",
				 logon->worker_count, logon->check_worker_count,
				 logon->allocator_handles);
	w = (uint32_t)logon->worker_count;
	b.C = check_workers_of(p, logon);
	nobj = p->nglobal + 2 * w;
	claim = p->alloc_join == XS_HS_JOIN_CLAIM;

	vs = xs__hs_zalloc_aligned(sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	vs->peer_pidfd = -1; /* the server sets it; none for a socketless session */
	vs->proto = p;
	vs->version = (int)p->version;
	vs->num_workers = w;
	vs->num_allocs = (uint32_t)logon->allocator_handles;
	vs->logon = *logon;
	vs->num_objects = nobj;
	vs->object_state = calloc(nobj, 1);
	vs->worker_allocs = calloc(w, sizeof(*vs->worker_allocs));
	vs->workers = xs__hs_zalloc_aligned(sizeof(*vs->workers) * w);
	if (b.C) {
		vs->logon.check_worker_count = b.C;
		vs->check_workers = xs__hs_zalloc_aligned(sizeof(*vs->check_workers) * b.C);
		vs->check_allocs = calloc(b.C, sizeof(*vs->check_allocs));
	}
	if (!vs->object_state || !vs->worker_allocs || !vs->workers ||
	    (b.C && (!vs->check_workers || !vs->check_allocs))) {
		err = -ENOMEM;
		goto fail;
	}
	/* from here xs_vsession_close() closes the check workers' handles */
	vs->num_check_workers = b.C;
	vs->has_check_queues = b.C > 0;

	/* Globals in descriptor order: allocator, tpu_to_pack,
	 * progress_tracker (never huge), [pack_to_check_worker,
	 * check_worker_to_pack] */
	err = create_allocator(&b, vs, &fds[0]);
	if (err)
		goto fail;
	n = 1;
	err = create_queue(&b, &p->objects[1], "tpu_to_pack queue",
			   (struct hs_qref){ .spsc = &vs->tpu_to_pack }, &fds[1], &vs->object_state[1]);
	if (err)
		goto fail;
	n = 2;
	err = create_queue(&b, &p->objects[2], "progress_tracker queue",
			   (struct hs_qref){ .spsc = &vs->progress }, &fds[2], &vs->object_state[2]);
	if (err)
		goto fail;
	n = 3;
	if (b.C) {
		err = create_queue(&b, &p->objects[3], "pack_to_check_worker queue",
				   (struct hs_qref){ .mpmc = &vs->check_workers[0].pack_to_check },
				   &fds[3], &vs->object_state[3]);
		if (err)
			goto fail;
		n = 4;
		err = create_queue(&b, &p->objects[4], "check_worker_to_pack queue",
				   (struct hs_qref){ .mpmc = &vs->check_workers[0].check_to_pack },
				   &fds[4], &vs->object_state[4]);
		if (err)
			goto fail;
		n = 5;
		err = attach_check_handles(&b, vs);
		if (err)
			goto fail;
		/* SDK: the check workers claim slots 1..C before the execution
		 * workers (HANDSHAKE_SDK.md s6 step 6) */
		for (uint32_t k = 0; p->alloc_check_slots && k < b.C; k++) {
			snprintf(what, sizeof(what), "check worker %u", k);
			err = join_alloc(&b, vs, &vs->check_allocs[k], XS_ALLOC_CLAIM, what);
			if (err)
				goto fail;
		}
	}
	/* Per worker: its allocator handle (fixed 1 + i, or the next claim)
	 * first, then pack_to_worker, worker_to_pack. */
	for (uint32_t i = 0; i < w; i++) {
		snprintf(what, sizeof(what), "worker %u", i);
		err = join_alloc(&b, vs, &vs->worker_allocs[i],
				 claim ? XS_ALLOC_CLAIM : XS_HS_GLOBAL_ALLOCATORS + i, what);
		if (err)
			goto fail;
		snprintf(what, sizeof(what), "pack_to_worker queue %u", i);
		err = create_queue(&b, &p->objects[p->nglobal], what,
				   (struct hs_qref){ .spsc = &vs->workers[i].pack_to_worker }, &fds[n],
				   &vs->object_state[n]);
		if (err)
			goto fail;
		n++;
		snprintf(what, sizeof(what), "worker_to_pack queue %u", i);
		err = create_queue(&b, &p->objects[p->nglobal + 1], what,
				   (struct hs_qref){ .spsc = &vs->workers[i].worker_to_pack }, &fds[n],
				   &vs->object_state[n]);
		if (err)
			goto fail;
		n++;
	}
	/* VERSION 5: the check workers' slots are not in the spec; taken from
	 * the top of the table so that the client's claims get 1 + W + k */
	if (b.C && !p->alloc_check_slots) {
		uint32_t top = xs_alloc_num_workers(vs->tpu_alloc);

		for (uint32_t k = 0; k < b.C; k++) {
			snprintf(what, sizeof(what), "check worker %u", k);
			if (top < 1 + w + vs->num_allocs + b.C) {
				/* no room above the client's slots: refuse as a claim would */
				alloc_reason(&b, -XS_EA_NO_WORKERS, -1, 0);
				err = xs_seterr(-XS_EHS_ALLOC, "allocator handle for %s: %u slots leave "
						"none above the client's %u", what, top, vs->num_allocs);
				goto fail;
			}
			err = join_alloc(&b, vs, &vs->check_allocs[k], top - 1 - k, what);
			if (err)
				goto fail;
		}
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
