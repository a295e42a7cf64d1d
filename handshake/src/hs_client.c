/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Handshake client (the scheduler side): connect, log on, validate the
 * reply, join the objects. One code path for every VERSION; what differs is
 * read from the version's row (xs_hs_proto_get()).
 */
#include "hs_pvt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xsched/alloc.h"
#include "xsched/shm.h"

/* Room for the largest legal answer: one SCM_RIGHTS of 131 descriptors.
 * Anything bigger is cut by the kernel (MSG_CTRUNC), which we refuse. */
#define HS_CTL_SIZE CMSG_SPACE(sizeof(int) * XS_HS_MAX_FDS)

void xs_session_close(struct xs_session *s)
{
	if (!s)
		return;
	xs__hs_workers_free(s->workers, s->num_workers);
	xs_mpmc_close(&s->pack_to_check);
	xs_mpmc_close(&s->check_to_pack);
	xs_spsc_close(&s->tpu_to_pack);
	xs_spsc_close(&s->progress);
	if (s->allocs) {
		/* handles made with join_handle first, the one that mapped last */
		for (uint32_t k = s->num_allocs; k-- > 0;)
			if (s->allocs[k])
				xs_alloc_close(s->allocs[k]);
		free(s->allocs);
	}
	free(s->object_state);
	if (s->peer_pidfd >= 0)
		close(s->peer_pidfd);
	free(s);
}

static const char *obj_name(const struct xs_hs_proto *p, uint32_t i)
{
	const struct xs_hs_object *o = xs_hs_proto_object(p, i);

	return o ? o->name : "?";
}

/* "generation 4", "generation sdk7": how messages name a row. */
static const char *gen_name(const struct xs_hs_proto *p)
{
	return p->name;
}

/*
 * Check each received descriptor with one fstat and one F_GET_SEALS: a
 * regular file (memfd), its size (kept for mapping), sealed against
 * resizing or not, huge pages or not (hugetlbfs reports its page size as
 * st_blksize).
 */
static int inspect_objects(const struct xs_hs_proto *p, struct xs_session *s, const int *fds,
			   size_t *sizes, int require_sealed, struct xs_hs_report *rep)
{
	for (uint32_t i = 0; i < s->num_objects; i++) {
		struct stat st;
		int seals, state = 0;

		if (fstat(fds[i], &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
		    (uint64_t)st.st_size > SIZE_MAX) {
			rep->fd_index = (int)i;
			rep->cause = -EBADF;
			return xs_seterr(i == 0 ? -XS_EHS_ALLOC : -XS_EHS_QUEUE,
					 "descriptor %u (%s) is not a shared-memory file (mode 0%o, %lld bytes)",
					 i, obj_name(p, i), (unsigned)st.st_mode, (long long)st.st_size);
		}
		sizes[i] = (size_t)st.st_size;
		seals = fcntl(fds[i], F_GET_SEALS);
		if (seals > 0 && (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SHRINK | F_SEAL_GROW))
			state |= XS_SHM_STATE_SEALED;
		if ((unsigned long)st.st_blksize >= XS_SHM_HUGE_PAGE)
			state |= XS_SHM_STATE_HUGE;
		s->object_state[i] = (uint8_t)state;
		if (state & XS_SHM_STATE_SEALED)
			s->num_sealed++;
		if (state & XS_SHM_STATE_HUGE)
			s->num_huge++;
		if (require_sealed && !(state & XS_SHM_STATE_SEALED)) {
			rep->fd_index = (int)i;
			rep->cause = -XS_ESHM_UNSEALED;
			return xs_seterr(-XS_ESHM_UNSEALED,
					 "descriptor %u (%s) is not sealed against resizing and "
					 "require_sealed is set",
					 i, obj_name(p, i));
		}
	}
	return 0;
}

/* "format 2.0 SPSC" of a shaq probe, for messages. */
static void shaq_desc(char *buf, size_t cap, const struct xs_shaq_info *qi, int rc)
{
	if (rc == 0)
		snprintf(buf, cap, "shaq format %s %s", xs_shaq_format_name(qi->format),
			 qi->kind == XS_SHAQ_MPMC ? "MPMC" : "SPSC");
	else if (qi->magic == XS_SHAQ_MAGIC_SPSC || qi->magic == XS_SHAQ_MAGIC_MPMC)
		snprintf(buf, cap, "shaq %s header of unknown format %u.%u (version word 0x%08" PRIx32 ")",
			 qi->kind == XS_SHAQ_MPMC ? "MPMC" : "SPSC", qi->version >> 16,
			 qi->version & 0xFFFFu, qi->version);
	else
		snprintf(buf, cap, "no shaq header (u64 at 0: 0x%016" PRIx64 ", byte 136: %u)",
			 qi->magic, qi->version);
}

/*
 * The header of every object against the generation, before anything is
 * joined or claimed (AGAVE_4X.md s6.3: the VERSION number alone is no
 * proof): each queue must be the row's shaq format and kind (formats >= 2.0
 * by their magic and version word; 0.2 / 1.0 files by the absence of a
 * magic and their version byte, so that a newer file in disguise is
 * refused); the allocator must carry the row's rts-alloc header word, and
 * in the fixed-index formats num_workers must be 1 + W + H (AGAVE_4X.md
 * s5.2: a claim-layout file says its slack-derived maximum there).
 */
static int check_formats(const struct xs_hs_proto *p, const struct xs_logon *lg, const int *fds,
			 uint32_t nobj, struct xs_hs_report *rep)
{
	enum xs_alloc_format afmt = (enum xs_alloc_format)p->alloc_format;
	const struct xs_alloc_format_info *want = xs_alloc_format_info(afmt);
	const struct xs_alloc_format_info *found = NULL;
	struct xs_alloc_header_shm h;
	char desc[160];
	uint64_t need;
	ssize_t got;
	int rc;

	/* the allocator's header: magic, version word, num_workers (pread: the
	 * join maps the file and checks the rest, layout included) */
	memset(&h, 0, sizeof(h));
	do
		got = pread(fds[0], &h, sizeof(h), 0);
	while (got < 0 && errno == EINTR);
	rep->fd_index = 0;
	if (got < 0) {
		rep->cause = -errno;
		return xs_seterr(-XS_EHS_ALLOC, "descriptor 0 (allocator): reading its header: %s",
				 strerror(errno));
	}
	if ((size_t)got == sizeof(h) && h.magic == XS_ALLOC_MAGIC &&
	    xs_alloc_format_from_version(h.version) != XS_ALLOC_FMT_ANY)
		found = xs_alloc_format_info(xs_alloc_format_from_version(h.version));
	if (!want || !found || found->version != want->version) {
		rep->cause = (size_t)got == sizeof(h) && h.magic == XS_ALLOC_MAGIC ? -XS_EA_VERSION
										   : -XS_EA_MAGIC;
		if ((size_t)got < sizeof(h))
			snprintf(desc, sizeof(desc), "a file of %zd bytes, shorter than an rts-alloc "
				 "header", got);
		else if (h.magic != XS_ALLOC_MAGIC)
			snprintf(desc, sizeof(desc), "no rts-alloc header (magic 0x%016" PRIx64 ")",
				 h.magic);
		else if (!found)
			snprintf(desc, sizeof(desc), "rts-alloc header of unknown version 0x%08" PRIx32,
				 h.version);
		else
			snprintf(desc, sizeof(desc), "rts-alloc format %s (header version 0x%08" PRIx32 ")",
				 found->name, h.version);
		return xs_seterr(-XS_EHS_ALLOC,
				 "descriptor 0 (allocator): %s, generation %s expects rts-alloc format %s "
				 "(header version 0x%08" PRIx32 ")",
				 desc, gen_name(p), want ? want->name : "?", want ? want->version : 0);
	}
	need = xs_hs_alloc_min_workers(p, lg);
	if (want->layout == XS_ALLOC_LAYOUT_FIXED ? h.num_workers != need : h.num_workers < need) {
		rep->cause = -XS_EA_LAYOUT;
		return xs_seterr(-XS_EHS_ALLOC,
				 "descriptor 0 (allocator): header num_workers %" PRIu32 ", generation %s "
				 "expects %s%" PRIu64 " (1 + W + %sH) for rts-alloc format %s%s",
				 h.num_workers, gen_name(p),
				 want->layout == XS_ALLOC_LAYOUT_FIXED ? "" : "at least ", need,
				 p->alloc_check_slots ? "C + " : "", want->name,
				 want->layout == XS_ALLOC_LAYOUT_FIXED && h.num_workers > need
					 ? " (a claim-layout file, whose num_workers is its maximum?)" : "");
	}
	for (uint32_t i = 1; i < nobj; i++) {
		const struct xs_hs_object *o = xs_hs_proto_object(p, i);
		struct xs_shaq_info qi;

		rc = xs_shaq_probe_fd(fds[i], &qi);
		if (rc == 0 && qi.format == (enum xs_shaq_format)p->shaq && qi.kind == o->kind)
			continue;
		rep->fd_index = (int)i;
		rep->cause = rc < 0 ? rc : qi.kind != o->kind ? -XS_EQ_MAGIC : -XS_EQ_VERSION;
		shaq_desc(desc, sizeof(desc), &qi, rc);
		return xs_seterr(-XS_EHS_QUEUE, "descriptor %u (%s): %s, generation %s expects format %s %s",
				 i, o->name, desc, gen_name(p),
				 xs_shaq_format_name((enum xs_shaq_format)p->shaq),
				 o->kind == XS_SHAQ_MPMC ? "MPMC" : "SPSC");
	}
	rep->fd_index = -1;
	return 0;
}

/* Map descriptor @p i whole (size from the fstat above) and open the
 * client's end of queue object @p o on it; the handle owns the mapping. */
static int join_queue(const struct xs_hs_proto *p, const struct xs_hs_object *o, void *q,
		      const int *fds, const size_t *sizes, uint32_t i, struct xs_hs_report *rep)
{
	enum xs_shaq_format fmt = (enum xs_shaq_format)p->shaq;
	int role = o->server_role == XS_SPSC_PRODUCER ? XS_SPSC_CONSUMER : XS_SPSC_PRODUCER;
	size_t ring = xs_shaq_ring_offset(fmt, (enum xs_shaq_kind)o->kind, XS__HS_ELEM_ALIGN);
	struct xs__hs_msg m;
	uint8_t *base = NULL;
	int err;

	if (sizes[i] < ring + o->elem_size)
		err = xs_seterr(-XS_EQ_TOO_SMALL, "queue file of %zu bytes is too small", sizes[i]);
	else
		err = xs_shm_map(fds[i], sizes[i], &base);
	if (!err) {
		if (o->kind == XS_SHAQ_MPMC)
			err = xs_mpmc_attach_mem(q, base, sizes[i], o->elem_size, XS__HS_ELEM_ALIGN, fmt,
						 (enum xs_mpmc_role)role, 0);
		else
			err = xs_spsc_attach_mem(q, base, sizes[i], o->elem_size, XS__HS_ELEM_ALIGN, fmt,
						 (enum xs_spsc_role)role, 0);
		if (err)
			munmap(base, sizes[i]);
		else if (o->kind == XS_SHAQ_MPMC)
			((struct xs_mpmc *)q)->owns_map = 1; /* xs_mpmc_close() unmaps it */
		else
			((struct xs_spsc *)q)->owns_map = 1; /* xs_spsc_close() unmaps it */
	}
	if (!err)
		return 0;
	rep->fd_index = (int)i;
	rep->cause = err;
	xs__hs_errmsg(&m);
	return xs_seterr(-XS_EHS_QUEUE, "joining descriptor %u (%s) as %s failed: %s (%s)", i,
			 o->name, role == XS_SPSC_PRODUCER ? "producer" : "consumer",
			 xs_strerror(err), m.s);
}

/*
 * The client's H allocator handles on descriptor @p fd: fixed formats the
 * indices first_slot + k, claim formats H claims (the first with a join
 * that maps the file, the others on its mapping: join_from_existing).
 * On error the handles made so far stay in @p allocs (*made of them).
 */
static int join_allocs(const struct xs_hs_proto *p, const struct xs_logon *lg, int fd,
		       struct xs_alloc **allocs, uint32_t h, uint32_t *made, struct xs_hs_report *rep)
{
	enum xs_alloc_format fmt = (enum xs_alloc_format)p->alloc_format;
	int claim = p->alloc_join == XS_HS_JOIN_CLAIM;
	uint64_t first = xs_hs_client_first_slot(p, lg);

	*made = 0;
	for (uint32_t k = 0; k < h; k++) {
		uint32_t id = claim ? XS_ALLOC_CLAIM : (uint32_t)(first + k);
		int err = k == 0 ? xs_alloc_join_fmt(&allocs[0], fd, fmt, id)
				 : xs_alloc_join_handle(&allocs[k], allocs[0], id);

		if (err) {
			struct xs__hs_msg m;

			xs__hs_errmsg(&m);
			rep->fd_index = 0;
			rep->cause = err;
			if (claim)
				return xs_seterr(-XS_EHS_ALLOC, "allocator claim %u of %u failed: %s (%s)",
						 k + 1, h, xs_strerror(err), m.s);
			return xs_seterr(-XS_EHS_ALLOC, "allocator join as worker %u failed: %s (%s)", id,
					 xs_strerror(err), m.s);
		}
		*made = k + 1;
	}
	return 0;
}

/* Join every object of a validated success reply. Descriptors are not closed. */
static int join_session(const struct xs_hs_proto *p, const struct xs_logon *logon,
			const int *fds, int require_sealed, struct xs_hs_report *rep,
			struct xs_session **out)
{
	uint32_t w = (uint32_t)logon->worker_count, h = (uint32_t)logon->allocator_handles;
	size_t sizes[XS_HS_MAX_FDS];
	struct xs_session *s;
	uint32_t made = 0;
	int err;

	/* The server validates both counts; a success for a logon it had to
	 * refuse is a broken peer, not a session. */
	if (logon->allocator_handles < 1 || logon->allocator_handles > XS_HS_MAX_ALLOC_HANDLES)
		return xs_seterr(-XS_EHS_PROTOCOL,
				 "server accepted allocator_handles %" PRIu64 " (outside 1..=128)",
				 logon->allocator_handles);
	if ((p->checks & XS_HS_CHECK_CHECK_WORKERS) &&
	    (logon->check_worker_count < 1 || logon->check_worker_count > XS_HS_MAX_CHECK_WORKERS))
		return xs_seterr(-XS_EHS_PROTOCOL,
				 "server accepted check_worker_count %" PRIu64 " (outside 1..=64)",
				 logon->check_worker_count);
	s = xs__hs_zalloc_aligned(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->peer_pidfd = -1;
	s->proto = p;
	s->version = (int)p->version;
	s->num_workers = w;
	s->num_objects = p->nglobal + 2 * w;
	s->has_check_queues = p->nglobal == XS_HS_GLOBAL_SHMEM_CHECK;
	s->num_check_workers = p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT
				       ? (uint32_t)logon->check_worker_count : 0;
	s->object_state = calloc(s->num_objects, 1);
	s->allocs = calloc(h, sizeof(*s->allocs));
	s->workers = xs__hs_zalloc_aligned(sizeof(*s->workers) * w);
	if (!s->object_state || !s->allocs || !s->workers) {
		err = -ENOMEM;
		goto fail;
	}
	err = inspect_objects(p, s, fds, sizes, require_sealed, rep);
	if (!err)
		err = check_formats(p, logon, fds, s->num_objects, rep);
	if (err)
		goto fail;

	/* Allocator handles first (as upstream). */
	err = join_allocs(p, logon, fds[0], s->allocs, h, &made, rep);
	s->num_allocs = made;
	if (err)
		goto fail;
	s->allocator_size = xs_alloc_size(s->allocs[0]);

	err = join_queue(p, &p->objects[1], &s->tpu_to_pack, fds, sizes, 1, rep);
	if (!err)
		err = join_queue(p, &p->objects[2], &s->progress, fds, sizes, 2, rep);
	if (!err && s->has_check_queues) {
		err = join_queue(p, &p->objects[3], &s->pack_to_check, fds, sizes, 3, rep);
		if (!err)
			err = join_queue(p, &p->objects[4], &s->check_to_pack, fds, sizes, 4, rep);
	}
	for (uint32_t i = 0; !err && i < w; i++) {
		uint32_t d = p->nglobal + 2 * i;

		err = join_queue(p, &p->objects[p->nglobal], &s->workers[i].pack_to_worker, fds, sizes,
				 d, rep);
		if (!err)
			err = join_queue(p, &p->objects[p->nglobal + 1], &s->workers[i].worker_to_pack,
					 fds, sizes, d + 1, rep);
	}
	if (err)
		goto fail;
	*out = s;
	return 0;
fail:
	xs_session_close(s);
	return err;
}

struct hs_attempt {
	struct xs__hs_io *io;
	const struct xs_hs_client_opts *opts;
	const struct xs_logon *logon;
	const struct xs_hs_proto *proto;
	uint64_t deadline;
	struct xs_hs_report *rep;
	pid_t pid;
	uid_t uid;
	gid_t gid;
	/* the last version rejection: the generation it names */
	uint8_t named;                      /* a version text came */
	const struct xs_hs_proto *srv_gen;  /* its row, NULL when xsched has none */
};

/* Copy a rejection into the report; for a version text, also which row it
 * names (xs_hs_reply_generation(), without touching the detail message). */
static void note_reason(struct hs_attempt *a, const struct xs_hs_reply *r)
{
	struct xs_hs_report *rep = a->rep;
	struct xs__hs_msg m;

	rep->reason_len = r->reason_len;
	memcpy(rep->reason, r->reason, r->reason_len);
	rep->reason[r->reason_len] = '\0';
	rep->server_version = r->server_version;
	if (r->server_version || r->sdk_version) {
		xs__hs_errmsg(&m);
		a->named = xs_hs_reply_generation(r, &a->srv_gen, rep->wants, sizeof(rep->wants)) >= 0;
		xs_seterr(0, "%s", m.s);
	}
}

/*
 * A success reply whose descriptor count is wrong, in a generation with
 * claimed allocator slots: upstream's client claims its H slots on the
 * first descriptor before it checks the worker descriptors, and drops them
 * (releasing the slots) on the ProtocolViolation (AGAVE_4X.md s7). Done the
 * same here so that the error a peer sees, and the error this client
 * returns for a broken allocator, are upstream's: an allocator claim that
 * fails is reported as such (-XS_EHS_ALLOC), else the protocol error stays.
 * The descriptors are left to the caller.
 */
static int claim_then_refuse(struct hs_attempt *a, const struct xs_hs_reply *r)
{
	const struct xs_hs_proto *p = a->proto;
	uint64_t h = a->logon->allocator_handles;
	struct xs_alloc *allocs[XS_HS_MAX_ALLOC_HANDLES];
	struct xs__hs_msg m;
	uint32_t made = 0;
	int err;

	/* fewer than the globals (or not one SCM_RIGHTS): refused before any claim */
	if (p->alloc_join != XS_HS_JOIN_CLAIM || r->nfds < p->nglobal || r->ncmsg != 1 ||
	    r->nrights != 1 || r->nfds != r->nfds_seen || h < 1 || h > XS_HS_MAX_ALLOC_HANDLES)
		return -XS_EHS_PROTOCOL;
	xs__hs_errmsg(&m);
	err = join_allocs(p, a->logon, r->fds[0], allocs, (uint32_t)h, &made, a->rep);
	for (uint32_t k = made; k-- > 0;)
		xs_alloc_close(allocs[k]);
	if (err)
		return err;
	a->rep->fd_index = -1;
	a->rep->cause = 0;
	return xs_seterr(-XS_EHS_PROTOCOL, "%s (the %" PRIu64 " allocator slot%s claimed first "
			 "were released)", m.s, h, h == 1 ? "" : "s");
}

/*
 * Receive and validate the reply. On success @p fds holds the expected
 * descriptors (owned by the caller); on every error all received
 * descriptors are closed.
 */
static int recv_reply(struct hs_attempt *a, int sock, uint32_t expected, int *fds)
{
	union {
		struct cmsghdr align;
		uint8_t b[HS_CTL_SIZE];
	} ctl;
	uint8_t data[XS_HS_LOGON_BUF];
	struct xs_hs_reply *r;
	size_t have = 0;
	int rc;

	r = malloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (;;) {
		struct iovec iov = { .iov_base = data + have, .iov_len = sizeof(data) - have };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = ctl.b,
			.msg_controllen = sizeof(ctl.b),
		};
		long n = xs__hs_io_recvmsg(a->io, sock, &msg, a->deadline);

		if (n < 0 && have == 0) {
			rc = n == -ETIMEDOUT ? xs_seterr(-ETIMEDOUT, "no reply from the server before the deadline")
					     : xs_seterr((int)n, "receiving the reply: %s", strerror((int)-n));
			a->rep->cause = (int)n;
			break;
		}
		if (n < 0) {
			/* a rejection frame was cut short and nothing more came
			 * (deadline or error): report what we have */
			rc = xs_hs_parse_reply(data, have, 0, NULL, 0, expected, r);
			note_reason(a, r);
			break;
		}
		if (have == 0) {
			rc = xs_hs_parse_reply(data, (size_t)n, msg.msg_flags, ctl.b, msg.msg_controllen,
					       expected, r);
		} else {
			/* continuation of a failure frame: it must carry no
			 * descriptors; close any, then parse the whole frame */
			rc = xs_hs_parse_reply(data + have, (size_t)n, msg.msg_flags, ctl.b,
					       msg.msg_controllen, expected, r);
			xs__hs_close_fds(r->fds, r->nfds);
			r->nfds = 0;
			rc = xs_hs_parse_reply(data, have + (size_t)n, 0, NULL, 0, expected, r);
			if (n == 0)
				have = sizeof(data); /* EOF: stop reading */
		}
		if (rc == 0) {
			memcpy(fds, r->fds, sizeof(int) * expected);
			break;
		}
		if (rc == -XS_EHS_PROTOCOL && have == 0 && n > 0 && data[0] == XS_HS_LOGON_SUCCESS)
			rc = claim_then_refuse(a, r);
		xs__hs_close_fds(r->fds, r->nfds);
		if ((rc == -XS_EHS_REJECTED || rc == -XS_EHS_VERSION) && !r->complete &&
		    have + (size_t)n < sizeof(data)) {
			/* the length byte promises more: read on until EOF or the deadline */
			have += (size_t)n;
			note_reason(a, r);
			continue;
		}
		if (rc == -XS_EHS_REJECTED || rc == -XS_EHS_VERSION)
			note_reason(a, r);
		break;
	}
	free(r);
	return rc;
}

static int attempt(struct hs_attempt *a, struct xs_session **out)
{
	const struct xs_logon *lg = a->logon;
	struct xs_hs_report *rep = a->rep;
	struct sockaddr_un sa;
	uint8_t buf[XS_HS_LOGON_BUF];
	int fds[XS_HS_MAX_FDS];
	uint32_t expected;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	uint64_t t0, t1, boot = 0;
	int sock, len, err, pidfd = -1;

	rep->version = a->proto->version;
	len = xs__hs_sockaddr(&sa, a->opts->path);
	if (len < 0)
		return len;
	err = xs_hs_encode_logon(a->proto->version, lg, buf);
	if (err < 0)
		return err;
	/* The reply we accept carries 3 + 2W (5 + 2W) descriptors; a logon the server
	 * must refuse (W outside 1..=64) is still sent: the server decides,
	 * and no success reply can match it. */
	expected = xs_hs_proto_fds(a->proto, lg->worker_count);

	sock = xs__hs_io_socket(a->io);
	if (sock < 0)
		return sock;
	t0 = xs__hs_now();
	err = xs__hs_io_connect(a->io, sock, &sa, (socklen_t)len, a->deadline);
	t1 = xs__hs_now();
	rep->connect_ns = t1 - t0;
	if (err) {
		rep->cause = err;
		err = err == -ETIMEDOUT
			      ? xs_seterr(-ETIMEDOUT, "connect to %s not done before the deadline", a->opts->path)
			      : xs_seterr(err, "connect to %s: %s", a->opts->path, strerror(-err));
		goto out;
	}
	boot = xs__hs_boot_ns();
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		a->pid = cred.pid;
		a->uid = cred.uid;
		a->gid = cred.gid;
	}
	err = xs__hs_io_send_all(a->io, sock, buf, sizeof(buf), a->deadline);
	t0 = xs__hs_now();
	rep->logon_ns = t0 - t1;
	if (err) {
		rep->cause = err;
		err = err == -ETIMEDOUT
			      ? xs_seterr(-ETIMEDOUT, "logon not sent before the deadline")
			      : xs_seterr(err, "sending the logon: %s", strerror(-err));
		goto out;
	}
	err = recv_reply(a, sock, expected, fds);
	t1 = xs__hs_now();
	rep->reply_ns = t1 - t0;
	/* The server process, for peer-death watching: taken from the socket
	 * while it is open (a pid read now could be reused once it closes). */
	if (!err) {
		pidfd = xs__hs_peer_pidfd(sock, a->pid, boot, 0);
		if (pidfd == -ENOSYS) {
			pidfd = -1; /* no pidfd on this kernel: peer_pid only */
		} else if (pidfd < 0) {
			struct xs__hs_msg m;

			xs__hs_errmsg(&m);
			err = xs_seterr(pidfd, "the server process exited during the handshake: %s",
					m.s);
			rep->cause = pidfd;
			pidfd = -1;
			xs__hs_close_fds(fds, expected);
		}
	}
	/* The socket only carries the handshake: both sides close it now. */
	close(sock);
	sock = -1;
	if (err)
		goto out;
	err = join_session(a->proto, lg, fds, a->opts->require_sealed, rep, out);
	/* the mappings keep the objects alive */
	xs__hs_close_fds(fds, expected);
	rep->join_ns = xs__hs_now() - t1;
	if (err && pidfd >= 0)
		close(pidfd);
	if (!err) {
		(*out)->peer_pidfd = pidfd;
		(*out)->peer_pid = a->pid;
		(*out)->peer_uid = a->uid;
		(*out)->peer_gid = a->gid;
		(*out)->backend = a->io->backend;
	}
out:
	if (sock >= 0)
		close(sock);
	return err;
}

void xs_hs_logon_for(const struct xs_hs_proto *p, const struct xs_logon *in, struct xs_logon *out)
{
	*out = *in;
	if (!p)
		return;
	if (p->field_off[XS_LF_FLAGS] == XS_LF_ABSENT)
		out->flags = 0;
	else
		out->flags &= p->logon_flags;
	if (p->field_off[XS_LF_CHECK_WORKER_COUNT] == XS_LF_ABSENT)
		out->check_worker_count = 0;
	else if (!out->check_worker_count)
		out->check_worker_count = 1;
	if (p->field_off[XS_LF_PACK_TO_CHECK_WORKER] == XS_LF_ABSENT)
		out->pack_to_check_worker_capacity = 0;
	else if (!out->pack_to_check_worker_capacity)
		out->pack_to_check_worker_capacity = out->pack_to_worker_capacity;
	if (p->field_off[XS_LF_CHECK_WORKER_TO_PACK] == XS_LF_ABSENT)
		out->check_worker_to_pack_capacity = 0;
	else if (!out->check_worker_to_pack_capacity)
		out->check_worker_to_pack_capacity = out->worker_to_pack_capacity;
}

/* The generations this build has sessions for, for messages:
 * "VERSION 1, 2, 3, 4, 5 and the SDK handshake 6, 7 (scheduler-bindings=6,
 * shaq=196608, rts-alloc=262144)" (SDK rows differing in more than the
 * handshake number are listed with all four numbers). */
static void spoken(char *buf, size_t cap)
{
	const struct xs_hs_proto *sdk0 = NULL;
	size_t used = 0;
	int same = 1, n;

	buf[0] = '\0';
	for (size_t i = 0; i < xs_hs_proto_count(); i++) {
		const struct xs_hs_proto *p = xs_hs_proto_at(i);

		if (!p->sessions || p->wire != XS_HS_WIRE_PV)
			continue;
		if (!sdk0)
			sdk0 = p;
		else if (p->pv.scheduler_bindings != sdk0->pv.scheduler_bindings ||
			 p->pv.shaq != sdk0->pv.shaq || p->pv.rts_alloc != sdk0->pv.rts_alloc)
			same = 0;
	}
	for (size_t i = 0; i < xs_hs_proto_count() && used < cap; i++) {
		const struct xs_hs_proto *p = xs_hs_proto_at(i);

		if (!p->sessions || p->wire != XS_HS_WIRE_U64)
			continue;
		n = snprintf(buf + used, cap - used, "%s%u", used ? ", " : "VERSION ", p->version);
		if (n < 0)
			return;
		used += (size_t)n;
	}
	for (size_t i = 0, k = 0; sdk0 && i < xs_hs_proto_count() && used < cap; i++) {
		const struct xs_hs_proto *p = xs_hs_proto_at(i);

		if (!p->sessions || p->wire != XS_HS_WIRE_PV)
			continue;
		if (same)
			n = snprintf(buf + used, cap - used, "%s%" PRIu64,
				     k++ ? ", " : used ? " and the SDK handshake " : "the SDK handshake ",
				     p->pv.handshake);
		else
			n = snprintf(buf + used, cap - used, "%s(handshake=%" PRIu64
				     ", scheduler-bindings=%" PRIu64 ", shaq=%" PRIu64 ", rts-alloc=%" PRIu64 ")",
				     k++ ? ", " : used ? " and the SDK handshake " : "the SDK handshake ",
				     p->pv.handshake, p->pv.scheduler_bindings, p->pv.shaq, p->pv.rts_alloc);
		if (n < 0)
			return;
		used += (size_t)n;
	}
	if (sdk0 && same && used < cap)
		snprintf(buf + used, cap - used, " (scheduler-bindings=%" PRIu64 ", shaq=%" PRIu64
			 ", rts-alloc=%" PRIu64 ")", sdk0->pv.scheduler_bindings, sdk0->pv.shaq,
			 sdk0->pv.rts_alloc);
}

/* The newest row with sessions (where auto negotiation starts). */
static const struct xs_hs_proto *newest(void)
{
	for (size_t i = xs_hs_proto_count(); i-- > 0;)
		if (xs_hs_proto_at(i)->sessions)
			return xs_hs_proto_at(i);
	return NULL;
}

int xs_hs_connect(const struct xs_hs_client_opts *opts, const struct xs_logon *logon,
		  struct xs_session **out)
{
	struct xs_hs_report local;
	struct xs__hs_io io;
	struct hs_attempt a;
	struct xs_logon conv;
	const struct xs_hs_proto *next;
	char list[320];
	uint64_t version;
	uint32_t max;
	int err, negotiate;

	if (!out)
		return xs_seterr(-EINVAL, "xs_hs_connect: out is NULL");
	*out = NULL;
	if (!opts || !logon || !opts->path)
		return xs_seterr(-EINVAL, "xs_hs_connect: options, logon and path are required");
	memset(&a, 0, sizeof(a));
	a.rep = opts->report ? opts->report : &local;
	memset(a.rep, 0, sizeof(*a.rep));
	a.rep->fd_index = -1;
	a.opts = opts;
	if (opts->deadline_ns)
		a.deadline = opts->deadline_ns;
	else
		a.deadline = xs__hs_now() + (opts->timeout_ns ? opts->timeout_ns : XS_HS_CLIENT_TIMEOUT_NS);
	negotiate = opts->auto_negotiate != 0;
	if (opts->version)
		version = opts->version;
	else if (negotiate && newest())
		version = newest()->version;
	else
		version = XS_HS_VERSION_DEFAULT;
	a.proto = xs_hs_proto_get(version);
	if (!a.proto || !a.proto->sessions)
		return xs_seterr(-EINVAL, "handshake VERSION %" PRIu64 " is not spoken%s", version,
				 a.proto ? " by the client yet (wire codecs only)" : "");
	max = negotiate ? XS_HS_AUTO_ATTEMPTS : opts->allow_version_retry ? 2 : 1;

	err = xs__hs_io_init(&io, opts->force_poll);
	if (err)
		return err;
	a.io = &io;
	a.rep->backend = io.backend;
	a.rep->uring_err = io.uring_err;

	for (;;) {
		/* the caller's logon as given for an explicit first attempt (the
		 * encoder refuses what the generation lacks); converted for the
		 * generations negotiation picks */
		a.logon = logon;
		if (negotiate || a.rep->attempts) {
			xs_hs_logon_for(a.proto, logon, &conv);
			a.logon = &conv;
		}
		a.named = 0;
		a.srv_gen = NULL;
		a.rep->proto = a.proto;
		a.rep->tried[a.rep->attempts++] = a.proto->version;
		err = attempt(&a, out);
		if (err != -XS_EHS_VERSION || !a.named || max == 1)
			break;
		spoken(list, sizeof(list));
		next = a.srv_gen;
		if (!next || !next->sessions) {
			err = xs_seterr(-XS_EHS_VERSION,
					"the server wants %s, which xsched does not speak; xsched speaks %s "
					"(sent %s%s)",
					a.rep->wants, list, a.proto->wire == XS_HS_WIRE_PV ? "" : "VERSION ",
					a.proto->name);
			break;
		}
		for (uint32_t i = 0; i < a.rep->attempts; i++)
			if (a.rep->tried[i] == next->version)
				next = NULL;
		if (!next || a.rep->attempts >= max) {
			err = xs_seterr(-XS_EHS_VERSION,
					"the server refused generation %s and wants %s%s (%u attempt%s)",
					a.proto->name, a.rep->wants,
					next ? ": no attempt left" : ", which it refused before",
					a.rep->attempts, a.rep->attempts == 1 ? "" : "s");
			break;
		}
		/* again with the server's generation, under the same deadline */
		a.proto = next;
		a.rep->retried = 1;
		a.rep->reason_len = 0;
		a.rep->reason[0] = '\0';
		a.rep->cause = 0;
		a.rep->fd_index = -1;
	}
	xs__hs_io_fini(&io);
	return err;
}
