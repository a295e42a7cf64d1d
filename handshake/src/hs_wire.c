/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Handshake codecs for every generation of the protocol table (hs_proto.c):
 * logon encode/parse with each generation's checks and texts, failure
 * frames, reply validation, the two kinds of version rejection and the
 * Rust-compatible error texts. Everything here is a pure function over
 * bytes (the fuzzers call it directly).
 */
#include "hs_pvt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xsched/shm.h"
#include "xsched/spsc.h"

uint64_t xs__hs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void xs__hs_errmsg(struct xs__hs_msg *m)
{
	snprintf(m->s, sizeof(m->s), "%s", xs_errmsg());
}

/* ------------------------------------------------------------ error text */

const char *xs_strerror_hs(int code)
{
	switch (code) {
	case XS_EHS_REJECTED: return "handshake rejected by the server";
	case XS_EHS_VERSION: return "handshake VERSION mismatch";
	case XS_EHS_PROTOCOL: return "handshake protocol violation";
	case XS_EHS_EOF: return "peer closed the connection during the handshake";
	case XS_EHS_WORKER_COUNT: return "logon worker_count out of range 1..=64";
	case XS_EHS_ALLOC_HANDLES: return "logon allocator_handles out of range 1..=128";
	case XS_EHS_ALLOC: return "session allocator create/join failed";
	case XS_EHS_QUEUE: return "session queue create/join failed";
	case XS_EHS_PEER: return "peer credentials not allowed";
	case XS_EHS_STOPPED: return "handshake server stopped";
	case XS_EHS_LOGON: return "logon cannot be expressed in that VERSION";
	case XS_EHS_IO: return "I/O error reading the logon";
	case XS_EHS_CHECK_WORKER_COUNT: return "logon check_worker_count out of range 1..=64";
	case XS_EHS_ALLOC_SIZE: return "logon allocator_size cannot be represented";
	case XS_EHS_CAPACITY: return "logon queue capacity cannot be represented";
	default: return NULL;
	}
}


int xs_hs_format_io(char *buf, size_t cap, int err)
{
	int e = err < 0 ? -err : err;

	/* Rust's Display of an OS error: "<strerror> (os error N)". */
	return snprintf(buf, cap, "Io; err=%s (os error %d)", strerror(e), e);
}

int xs__hs_io_debug(char *buf, size_t cap, int err)
{
	int e = err < 0 ? -err : err;

	return xs_rust_os_error(buf, cap, e);
}

/* -------------------------------------------------------------- logon */

static void put_le(uint8_t *p, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned width)
{
	uint64_t v = 0;

	for (int i = (int)width - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static const char *const lf_names[XS_LF_COUNT] = {
	"worker_count", "check_worker_count", "allocator_size", "allocator_handles",
	"tpu_to_pack_capacity", "progress_tracker_capacity", "pack_to_worker_capacity",
	"worker_to_pack_capacity", "pack_to_check_worker_capacity", "check_worker_to_pack_capacity",
	"flags",
};

/* Logon fields in enum xs_logon_field order, as pointers into @p l. */
static void logon_fields(struct xs_logon *l, uint64_t *f[XS_LF_COUNT])
{
	f[XS_LF_WORKER_COUNT] = &l->worker_count;
	f[XS_LF_CHECK_WORKER_COUNT] = &l->check_worker_count;
	f[XS_LF_ALLOCATOR_SIZE] = &l->allocator_size;
	f[XS_LF_ALLOCATOR_HANDLES] = &l->allocator_handles;
	f[XS_LF_TPU_TO_PACK] = &l->tpu_to_pack_capacity;
	f[XS_LF_PROGRESS_TRACKER] = &l->progress_tracker_capacity;
	f[XS_LF_PACK_TO_WORKER] = &l->pack_to_worker_capacity;
	f[XS_LF_WORKER_TO_PACK] = &l->worker_to_pack_capacity;
	f[XS_LF_PACK_TO_CHECK_WORKER] = &l->pack_to_check_worker_capacity;
	f[XS_LF_CHECK_WORKER_TO_PACK] = &l->check_worker_to_pack_capacity;
	f[XS_LF_FLAGS] = &l->flags;
}

/* The queue object whose size or capacity logon field @p f holds. */
static const struct xs_hs_object *field_object(const struct xs_hs_proto *p, unsigned f)
{
	for (unsigned i = 1; i < p->nglobal + 2u; i++)
		if (p->objects[i].field == f)
			return &p->objects[i];
	return NULL;
}

/* Convert one queue field from @p from units to the row's units. */
static int convert_units(const struct xs_hs_proto *p, const struct xs_hs_object *o, uint64_t v,
			 unsigned from, uint64_t *out)
{
	uint64_t start;

	if (from == p->units) {
		*out = v;
		return 0;
	}
	start = xs__hs_ring_start(p->shaq, o->kind);
	if (from == XS_LOGON_ITEMS) {
		/* as upstream clients: shaq minimum_file_size::<T>(capacity) */
		if (v > (UINT64_MAX - start) / o->elem_size)
			return xs_seterr(-XS_EHS_LOGON,
					 "%s capacity %" PRIu64 " x %u-byte messages overflows a file size",
					 o->name, v, o->elem_size);
		*out = start + v * o->elem_size;
		return 0;
	}
	/* bytes -> the number of messages that fit after the header */
	*out = v > start ? (v - start) / o->elem_size : 0;
	return 0;
}

int xs_hs_encode_logon(uint64_t version, const struct xs_logon *logon,
		       uint8_t buf[XS_HS_LOGON_BUF])
{
	const struct xs_hs_proto *p = xs_hs_proto_get(version);
	struct xs_logon copy;
	uint64_t *f[XS_LF_COUNT];
	uint8_t *lb;
	int err;

	if (!p)
		return xs_seterr(-EINVAL, "handshake VERSION %" PRIu64 " is not spoken", version);
	if (logon->units != XS_LOGON_ITEMS && logon->units != XS_LOGON_BYTES)
		return xs_seterr(-XS_EHS_LOGON, "logon units %u unknown", logon->units);
	copy = *logon;
	logon_fields(&copy, f);
	for (unsigned i = 0; i < XS_LF_COUNT; i++) {
		if (p->field_off[i] == XS_LF_ABSENT && *f[i])
			return xs_seterr(-XS_EHS_LOGON,
					 "logon %s %" PRIu64 " cannot be sent: protocol %s has no "
					 "such field", lf_names[i], *f[i], p->name);
	}
	if (p->flags_width && p->flags_width < 8 && logon->flags >> (8 * p->flags_width))
		return xs_seterr(-XS_EHS_LOGON,
				 "logon flags 0x%" PRIx64 " do not fit the %u-byte flags of protocol %s",
				 logon->flags, p->flags_width, p->name);

	memset(buf, 0, XS_HS_LOGON_BUF);
	if (p->wire == XS_HS_WIRE_PV) {
		put_le(buf, p->pv.handshake, 8);
		put_le(buf + 8, p->pv.scheduler_bindings, 8);
		put_le(buf + 16, p->pv.shaq, 8);
		put_le(buf + 24, p->pv.rts_alloc, 8);
	} else {
		put_le(buf, p->version, 8);
	}
	lb = buf + p->logon_off;
	for (unsigned i = 0; i < XS_LF_COUNT; i++) {
		const struct xs_hs_object *o;
		uint64_t v = *f[i];

		if (p->field_off[i] == XS_LF_ABSENT)
			continue;
		if (i == XS_LF_FLAGS) {
			/* struct padding after a u16 flags stays zero */
			put_le(lb + p->field_off[i], v, p->flags_width);
			continue;
		}
		o = field_object(p, i);
		if (o) {
			err = convert_units(p, o, v, logon->units, &v);
			if (err)
				return err;
		}
		put_le(lb + p->field_off[i], v, 8);
	}
	return (int)XS_HS_LOGON_BUF;
}

static void pv_text(char *buf, size_t cap, const struct xs_hs_pv *v)
{
	snprintf(buf, cap,
		 "(handshake=%" PRIu64 ", scheduler-bindings=%" PRIu64 ", shaq=%" PRIu64
		 ", rts-alloc=%" PRIu64 ")",
		 v->handshake, v->scheduler_bindings, v->shaq, v->rts_alloc);
}

/* sdk7: allocator_size rounded up to 2 MiB must not overflow nor pass isize::MAX. */
static int alloc_size_ok(uint64_t size)
{
	uint64_t page = XS_HS_SLAB_SIZE;

	return size <= UINT64_MAX - (page - 1) &&
	       ((size + page - 1) & ~(page - 1)) <= (uint64_t)INT64_MAX;
}

int xs_hs_parse_logon(const uint8_t *buf, size_t len, uint64_t server_version,
		      struct xs_logon *out, char *reason, size_t reason_cap)
{
	static const unsigned queue_order[] = {
		XS_LF_TPU_TO_PACK, XS_LF_PROGRESS_TRACKER, XS_LF_PACK_TO_WORKER,
		XS_LF_WORKER_TO_PACK, XS_LF_PACK_TO_CHECK_WORKER, XS_LF_CHECK_WORKER_TO_PACK,
	};
	const struct xs_hs_proto *p = xs_hs_proto_get(server_version);
	uint64_t *f[XS_LF_COUNT];
	char tmp[320];
	const uint8_t *lb;
	uint64_t v;
	int err;

	memset(out, 0, sizeof(*out));
	if (!p)
		return xs_seterr(-EINVAL, "handshake VERSION %" PRIu64 " is not spoken",
				 server_version);
	/* Upstream order: whole buffer, version, then the row's checks. */
	if (!buf || len < XS_HS_LOGON_BUF) {
		snprintf(tmp, sizeof(tmp), "Close during handshake");
		err = xs_seterr(-XS_EHS_EOF, "logon cut short: %zu of %u bytes", buf ? len : 0,
				XS_HS_LOGON_BUF);
		goto reject;
	}
	if (p->wire == XS_HS_WIRE_PV) {
		/* whatever the client sent, its first 32 bytes are read as its
		 * four numbers (an older frame's logon fields included) */
		struct xs_hs_pv c = {
			get_le(buf, 8), get_le(buf + 8, 8), get_le(buf + 16, 8), get_le(buf + 24, 8),
		};
		char s[140], cl[140];

		if (c.handshake != p->pv.handshake || c.scheduler_bindings != p->pv.scheduler_bindings ||
		    c.shaq != p->pv.shaq || c.rts_alloc != p->pv.rts_alloc) {
			pv_text(s, sizeof(s), &p->pv);
			pv_text(cl, sizeof(cl), &c);
			snprintf(tmp, sizeof(tmp), "Version; server=%s; client=%s", s, cl);
			err = xs_seterr(-XS_EHS_VERSION, "%s", tmp);
			goto reject;
		}
	} else {
		v = get_le(buf, 8);
		if (v != p->version) {
			snprintf(tmp, sizeof(tmp), "Version; server=%u; client=%" PRIu64, p->version, v);
			err = xs_seterr(-XS_EHS_VERSION, "%s", tmp);
			goto reject;
		}
	}
	lb = buf + p->logon_off;
	logon_fields(out, f);
	for (unsigned i = 0; i < XS_LF_COUNT; i++)
		if (p->field_off[i] != XS_LF_ABSENT)
			*f[i] = get_le(lb + p->field_off[i], i == XS_LF_FLAGS ? p->flags_width : 8);
	out->units = p->units;

	if ((p->checks & XS_HS_CHECK_WORKERS) &&
	    (out->worker_count < 1 || out->worker_count > XS_HS_MAX_WORKERS)) {
		snprintf(tmp, sizeof(tmp), "Worker count; count=%" PRIu64, out->worker_count);
		err = xs_seterr(-XS_EHS_WORKER_COUNT, "%s", tmp);
		goto reject;
	}
	if ((p->checks & XS_HS_CHECK_CHECK_WORKERS) &&
	    (out->check_worker_count < 1 || out->check_worker_count > XS_HS_MAX_CHECK_WORKERS)) {
		snprintf(tmp, sizeof(tmp), "Check worker count; count=%" PRIu64,
			 out->check_worker_count);
		err = xs_seterr(-XS_EHS_CHECK_WORKER_COUNT, "%s", tmp);
		goto reject;
	}
	if ((p->checks & XS_HS_CHECK_HANDLES) &&
	    (out->allocator_handles < 1 || out->allocator_handles > XS_HS_MAX_ALLOC_HANDLES)) {
		snprintf(tmp, sizeof(tmp), "Allocator handles; count=%" PRIu64,
			 out->allocator_handles);
		err = xs_seterr(-XS_EHS_ALLOC_HANDLES, "%s", tmp);
		goto reject;
	}
	if ((p->checks & XS_HS_CHECK_ALLOC_SIZE) && !alloc_size_ok(out->allocator_size)) {
		snprintf(tmp, sizeof(tmp), "Allocator size cannot be represented; size=%" PRIu64,
			 out->allocator_size);
		err = xs_seterr(-XS_EHS_ALLOC_SIZE, "%s", tmp);
		goto reject;
	}
	if (p->checks & XS_HS_CHECK_CAPACITIES) {
		for (unsigned k = 0; k < sizeof(queue_order) / sizeof(queue_order[0]); k++) {
			const struct xs_hs_object *o = field_object(p, queue_order[k]);
			uint64_t cap = *f[queue_order[k]];

			if (!o || xs__hs_sdk_queue_ok(p, o, cap))
				continue;
			snprintf(tmp, sizeof(tmp),
				 "Queue capacity cannot be represented; field=%s, capacity=%" PRIu64,
				 xs_hs_logon_field_name(p, queue_order[k]), cap);
			err = xs_seterr(-XS_EHS_CAPACITY, "%s", tmp);
			goto reject;
		}
	}
	if (reason && reason_cap)
		reason[0] = '\0';
	return 0;
reject:
	if (reason && reason_cap)
		snprintf(reason, reason_cap, "%s", tmp);
	return err;
}

/* -------------------------------------------------------------- replies */

int xs_hs_encode_failure(const char *reason, uint8_t *frame, size_t cap)
{
	size_t n = strlen(reason);

	/* upstream: len = min(reason bytes, 255); a multi-byte character may be cut */
	if (n > XS_HS_MAX_REASON)
		n = XS_HS_MAX_REASON;
	if (cap < 2 + n)
		return -ENOSPC;
	frame[0] = XS_HS_LOGON_FAILURE;
	frame[1] = (uint8_t)n;
	memcpy(frame + 2, reason, n);
	return (int)(2 + n);
}

/* A tiny cursor over a reason text. */
struct cur {
	const char *s;
	size_t i, n;
};

static int lit(struct cur *c, const char *t)
{
	size_t k = strlen(t);

	if (c->n - c->i < k || memcmp(c->s + c->i, t, k))
		return 0;
	c->i += k;
	return 1;
}

/* Decimal u64 (1..20 digits, no sign, no overflow). */
static int num(struct cur *c, uint64_t *v)
{
	size_t digits = 0;

	*v = 0;
	for (; c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9'; c->i++, digits++) {
		unsigned d = (unsigned)(c->s[c->i] - '0');

		if (*v > (UINT64_MAX - d) / 10)
			return 0;
		*v = *v * 10 + d;
	}
	return digits > 0;
}

/* "(handshake=H, scheduler-bindings=B, shaq=S, rts-alloc=R)" */
static int pv_parse(struct cur *c, struct xs_hs_pv *v)
{
	return lit(c, "(handshake=") && num(c, &v->handshake) && lit(c, ", scheduler-bindings=") &&
	       num(c, &v->scheduler_bindings) && lit(c, ", shaq=") && num(c, &v->shaq) &&
	       lit(c, ", rts-alloc=") && num(c, &v->rts_alloc) && lit(c, ")");
}

/* "Version; server=S; client=C", exactly; returns S (1..2^32-1) or 0. */
static uint32_t version_reason(const char *r, size_t len)
{
	struct cur c = { r, 0, len };
	uint64_t s, cl;

	if (!lit(&c, "Version; server=") || !num(&c, &s) || s == 0 || s > UINT32_MAX)
		return 0;
	if (!lit(&c, "; client=") || !num(&c, &cl) || c.i != len)
		return 0;
	return (uint32_t)s;
}

/*
 * The SDK text "Version; server=(...); client=(...)". The server part must
 * parse; the client part may be missing only when the server cut the text
 * at 255 bytes. @return 1 when the server part parsed.
 */
static int sdk_version_reason(struct xs_hs_reply *out)
{
	struct cur c = { out->reason, 0, out->reason_len };

	if (!lit(&c, "Version; server=") || !pv_parse(&c, &out->server_pv))
		return 0;
	if (lit(&c, "; client=") && pv_parse(&c, &out->client_pv) && c.i == c.n) {
		out->client_pv_valid = 1;
		return 1;
	}
	memset(&out->client_pv, 0, sizeof(out->client_pv));
	return out->reason_len == XS_HS_MAX_REASON;
}

/*
 * Walk control data without assuming its alignment (the fuzzers pass any
 * buffer): headers and descriptors are copied out with memcpy. The walk
 * follows the kernel's layout: header, data, padding to CMSG_ALIGN.
 * @return 0, or -XS_EHS_PROTOCOL for a header that does not fit.
 */
static int walk_control(const uint8_t *c, size_t clen, struct xs_hs_reply *out)
{
	size_t off = 0;

	while (c && clen - off >= sizeof(struct cmsghdr)) {
		struct cmsghdr h;
		size_t dlen, step;

		memcpy(&h, c + off, sizeof(h));
		if (h.cmsg_len < CMSG_LEN(0) || h.cmsg_len > clen - off)
			return xs_seterr(-XS_EHS_PROTOCOL,
					 "control message %u has length %zu at offset %zu of %zu",
					 out->ncmsg, (size_t)h.cmsg_len, off, clen);
		out->ncmsg++;
		dlen = h.cmsg_len - CMSG_LEN(0);
		if (h.cmsg_level == SOL_SOCKET && h.cmsg_type == SCM_RIGHTS) {
			out->nrights++;
			for (size_t i = 0; i + sizeof(int) <= dlen; i += sizeof(int)) {
				int fd;

				memcpy(&fd, c + off + CMSG_LEN(0) + i, sizeof(fd));
				if (out->nfds < XS_HS_REPLY_FDS)
					out->fds[out->nfds++] = fd;
				out->nfds_seen++;
			}
		}
		step = CMSG_ALIGN(h.cmsg_len);
		if (step > clen - off)
			break;
		off += step;
	}
	return 0;
}

int xs_hs_parse_reply(const uint8_t *data, size_t len, int msg_flags, const void *control,
		      size_t controllen, uint32_t expected_fds, struct xs_hs_reply *out)
{
	int cerr;

	memset(out, 0, sizeof(*out));
	/* Collect every descriptor first, whatever the verdict, so that the
	 * caller can close them all. */
	cerr = walk_control(control, control ? controllen : 0, out);

	if (len == 0 || !data)
		return xs_seterr(-XS_EHS_EOF, "server closed the connection without a reply");

	if (data[0] == XS_HS_LOGON_FAILURE) {
		/* Reason bounded by what was received; any bytes accepted. */
		size_t have = len >= 2 ? len - 2 : 0;

		out->reason_declared = len >= 2 ? data[1] : 0;
		out->complete = len >= 2 && have >= out->reason_declared;
		out->reason_len = (uint32_t)(have < out->reason_declared ? have : out->reason_declared);
		memcpy(out->reason, data + 2, out->reason_len);
		out->reason[out->reason_len] = '\0';
		if (out->complete) {
			out->server_version = version_reason(out->reason, out->reason_len);
			if (out->server_version)
				return xs_seterr(-XS_EHS_VERSION, "server rejected the VERSION: %s",
						 out->reason);
			out->sdk_version = (uint8_t)sdk_version_reason(out);
			if (out->sdk_version)
				return xs_seterr(-XS_EHS_VERSION,
						 "server rejected the protocol versions: %s", out->reason);
			memset(&out->server_pv, 0, sizeof(out->server_pv));
		}
		return xs_seterr(-XS_EHS_REJECTED, "server rejected the logon: %.*s%s",
				 (int)out->reason_len, out->reason, out->complete ? "" : " (cut short)");
	}
	if (data[0] != XS_HS_LOGON_SUCCESS)
		return xs_seterr(-XS_EHS_PROTOCOL, "reply starts with byte 0x%02x (want 0x01 or 0x02)",
				 data[0]);
	if (len != 1)
		return xs_seterr(-XS_EHS_PROTOCOL, "success reply has %zu data bytes (want 1)", len);
	if (cerr)
		return cerr;
	if (msg_flags & MSG_CTRUNC)
		return xs_seterr(-XS_EHS_PROTOCOL,
				 "control data truncated (MSG_CTRUNC): more descriptors than the %u expected",
				 expected_fds);
	if (out->ncmsg != 1 || out->nrights != 1)
		return xs_seterr(-XS_EHS_PROTOCOL,
				 "success reply has %u control messages, %u of them SCM_RIGHTS (want exactly one SCM_RIGHTS)",
				 out->ncmsg, out->nrights);
	/* expected_fds below 3 means the caller sent a logon no server may
	 * accept (worker_count outside 1..=64): no descriptor count matches */
	if (expected_fds < XS_HS_GLOBAL_SHMEM || expected_fds > XS_HS_MAX_FDS ||
	    out->nfds_seen != expected_fds)
		return xs_seterr(-XS_EHS_PROTOCOL,
				 "success reply carries %u descriptors, want %u (3 or 5 + 2 x workers, "
				 "at most %u)", out->nfds_seen, expected_fds, XS_HS_MAX_FDS);
	return 0;
}

int xs_hs_reply_generation(const struct xs_hs_reply *r, const struct xs_hs_proto **gen,
			   char *wants, size_t wants_cap)
{
	const struct xs_hs_proto *p = NULL;
	char tmp[140];

	*gen = NULL;
	if (wants && wants_cap)
		wants[0] = '\0';
	if (r->server_version) {
		p = xs_hs_proto_get(r->server_version);
		/* only rows that send a u64 VERSION answer with this text */
		if (p && p->wire != XS_HS_WIRE_U64)
			p = NULL;
		snprintf(tmp, sizeof(tmp), "VERSION %u", r->server_version);
	} else if (r->sdk_version) {
		p = xs_hs_proto_sdk(&r->server_pv);
		pv_text(tmp, sizeof(tmp), &r->server_pv);
	} else {
		return xs_seterr(-XS_EHS_REJECTED, "not a version rejection: %.*s",
				 (int)r->reason_len, r->reason);
	}
	if (wants && wants_cap)
		snprintf(wants, wants_cap, "%s", tmp);
	*gen = p;
	if (!p) {
		xs_seterr(0, "the server wants %s, which xsched does not speak", tmp);
		return 0;
	}
	return 1;
}
