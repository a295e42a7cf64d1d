/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Handshake codecs: the version table, logon encode/parse, failure frames,
 * reply validation and the Rust-compatible error texts. Everything here is
 * a pure function over bytes (the fuzzers call it directly).
 */
#include "hs_pvt.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "xsched/shm.h"
#include "xsched/spsc.h"

/* ------------------------------------------------------------ the table */

/*
 * One row per VERSION. VERSION 1: agave-scheduling-utils 3.1.x, queue sizes
 * in bytes, shaq 0.2.0, no huge pages, object sizes taken as given.
 * VERSION 2: agave master from PRs #8879/#8888, capacities in messages plus
 * u16 flags, shaq 1.0.x, huge pages first with fallback, sizes rounded up to
 * the page size of the backing.
 */
static const struct xs_hs_proto hs_protos[] = {
	{
		.version = 1,
		.logon_size = 56,
		.units = XS_LOGON_BYTES,
		.has_flags = 0,
		.huge_first = 0,
		.round_pages = 0,
		.shaq = XS_SHAQ_0_2,
		.slab_size = XS_HS_SLAB_SIZE,
		.era = "agave-scheduling-utils 3.1.x (shaq 0.2.0)",
	},
	{
		.version = 2,
		.logon_size = 64,
		.units = XS_LOGON_ITEMS,
		.has_flags = 1,
		.huge_first = 1,
		.round_pages = 1,
		.shaq = XS_SHAQ_1_0,
		.slab_size = XS_HS_SLAB_SIZE,
		.era = "agave master Nov 2025 (shaq 1.0.x)",
	},
};

const struct xs_hs_proto *xs_hs_proto_get(uint64_t version)
{
	for (size_t i = 0; i < sizeof(hs_protos) / sizeof(hs_protos[0]); i++)
		if (hs_protos[i].version == version)
			return &hs_protos[i];
	return NULL;
}

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
	default: return NULL;
	}
}

/* std::io::ErrorKind names Rust gives OS errors (its decode_error_kind). */
static const char *rust_kind(int e)
{
	switch (e) {
	case E2BIG: return "ArgumentListTooLong";
	case EADDRINUSE: return "AddrInUse";
	case EADDRNOTAVAIL: return "AddrNotAvailable";
	case EBUSY: return "ResourceBusy";
	case ECONNABORTED: return "ConnectionAborted";
	case ECONNREFUSED: return "ConnectionRefused";
	case ECONNRESET: return "ConnectionReset";
	case EDEADLK: return "Deadlock";
	case EDQUOT: return "FilesystemQuotaExceeded";
	case EEXIST: return "AlreadyExists";
	case EFBIG: return "FileTooLarge";
	case EHOSTUNREACH: return "HostUnreachable";
	case EINTR: return "Interrupted";
	case EINVAL: return "InvalidInput";
	case EISDIR: return "IsADirectory";
	case ELOOP: return "FilesystemLoop";
	case ENOENT: return "NotFound";
	case ENOMEM: return "OutOfMemory";
	case ENOSPC: return "StorageFull";
	case ENOSYS: return "Unsupported";
	case EMLINK: return "TooManyLinks";
	case ENAMETOOLONG: return "InvalidFilename";
	case ENETDOWN: return "NetworkDown";
	case ENETUNREACH: return "NetworkUnreachable";
	case ENOTCONN: return "NotConnected";
	case ENOTDIR: return "NotADirectory";
	case ENOTEMPTY: return "DirectoryNotEmpty";
	case EPIPE: return "BrokenPipe";
	case EROFS: return "ReadOnlyFilesystem";
	case ESPIPE: return "NotSeekable";
	case ESTALE: return "StaleNetworkFileHandle";
	case ETIMEDOUT: return "TimedOut";
	case ETXTBSY: return "ExecutableFileBusy";
	case EXDEV: return "CrossesDevices";
	case EACCES:
	case EPERM: return "PermissionDenied";
	case EAGAIN: return "WouldBlock";
	default: return "Uncategorized";
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

	return snprintf(buf, cap, "Os { code: %d, kind: %s, message: \"%s\" }", e, rust_kind(e),
			strerror(e));
}

/* -------------------------------------------------------------- logon */

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static const uint32_t hs_queue_elem[4] = {
	XS__HS_ELEM_TPU, XS__HS_ELEM_PROGRESS, XS__HS_ELEM_P2W, XS__HS_ELEM_W2P,
};

/* Convert one queue field from @p from units to @p to units. */
static int convert_units(uint64_t v, unsigned from, unsigned to, uint32_t elem, uint64_t *out)
{
	if (from == to) {
		*out = v;
		return 0;
	}
	if (from == XS_LOGON_ITEMS) {
		/* as upstream clients: shaq minimum_file_size::<T>(capacity) */
		size_t sz = xs_spsc_min_file_size(v, elem, XS__HS_ELEM_ALIGN);

		if (sz == 0)
			return xs_seterr(-XS_EHS_LOGON,
					 "capacity %" PRIu64 " x %u-byte messages overflows a file size",
					 v, elem);
		*out = sz;
		return 0;
	}
	/* bytes -> the number of messages that fit after the header */
	*out = v > XS_SPSC_HEADER_SIZE ? (v - XS_SPSC_HEADER_SIZE) / elem : 0;
	return 0;
}

int xs_hs_encode_logon(uint64_t version, const struct xs_logon *logon,
		       uint8_t buf[XS_HS_LOGON_BUF])
{
	const struct xs_hs_proto *p = xs_hs_proto_get(version);
	const uint64_t q[4] = {
		logon->tpu_to_pack_capacity, logon->progress_tracker_capacity,
		logon->pack_to_worker_capacity, logon->worker_to_pack_capacity,
	};
	int err;

	if (!p)
		return xs_seterr(-EINVAL, "handshake VERSION %" PRIu64 " is not spoken", version);
	if (logon->units != XS_LOGON_ITEMS && logon->units != XS_LOGON_BYTES)
		return xs_seterr(-XS_EHS_LOGON, "logon units %u unknown", logon->units);
	if (logon->flags && !p->has_flags)
		return xs_seterr(-XS_EHS_LOGON,
				 "logon flags 0x%x cannot be sent: VERSION %u has no flags field",
				 logon->flags, p->version);

	memset(buf, 0, XS_HS_LOGON_BUF);
	put_le64(buf, p->version);
	put_le64(buf + 8, logon->worker_count);
	put_le64(buf + 16, logon->allocator_size);
	put_le64(buf + 24, logon->allocator_handles);
	for (int i = 0; i < 4; i++) {
		uint64_t v = 0;

		err = convert_units(q[i], logon->units, p->units, hs_queue_elem[i], &v);
		if (err)
			return err;
		put_le64(buf + 32 + 8 * i, v);
	}
	if (p->has_flags) {
		/* u16 LE at struct offset 56; struct padding 58..63 stays zero */
		buf[64] = (uint8_t)logon->flags;
		buf[65] = (uint8_t)(logon->flags >> 8);
	}
	return (int)XS_HS_LOGON_BUF;
}

int xs_hs_parse_logon(const uint8_t *buf, size_t len, uint64_t server_version,
		      struct xs_logon *out, char *reason, size_t reason_cap)
{
	const struct xs_hs_proto *p = xs_hs_proto_get(server_version);
	char tmp[128];
	uint64_t v;
	int err;

	memset(out, 0, sizeof(*out));
	if (!p)
		return xs_seterr(-EINVAL, "handshake VERSION %" PRIu64 " is not spoken",
				 server_version);
	/* Upstream order: whole buffer, VERSION, worker_count, allocator_handles. */
	if (!buf || len < XS_HS_LOGON_BUF) {
		snprintf(tmp, sizeof(tmp), "Close during handshake");
		err = xs_seterr(-XS_EHS_EOF, "logon cut short: %zu of %u bytes", buf ? len : 0,
				XS_HS_LOGON_BUF);
		goto reject;
	}
	v = get_le64(buf);
	if (v != p->version) {
		snprintf(tmp, sizeof(tmp), "Version; server=%u; client=%" PRIu64, p->version, v);
		err = xs_seterr(-XS_EHS_VERSION, "%s", tmp);
		goto reject;
	}
	out->worker_count = get_le64(buf + 8);
	out->allocator_size = get_le64(buf + 16);
	out->allocator_handles = get_le64(buf + 24);
	out->tpu_to_pack_capacity = get_le64(buf + 32);
	out->progress_tracker_capacity = get_le64(buf + 40);
	out->pack_to_worker_capacity = get_le64(buf + 48);
	out->worker_to_pack_capacity = get_le64(buf + 56);
	out->flags = p->has_flags ? (uint16_t)(buf[64] | (buf[65] << 8)) : 0;
	out->units = p->units;

	if (out->worker_count < 1 || out->worker_count > XS_HS_MAX_WORKERS) {
		snprintf(tmp, sizeof(tmp), "Worker count; count=%" PRIu64, out->worker_count);
		err = xs_seterr(-XS_EHS_WORKER_COUNT, "%s", tmp);
		goto reject;
	}
	if (out->allocator_handles < 1 || out->allocator_handles > XS_HS_MAX_ALLOC_HANDLES) {
		snprintf(tmp, sizeof(tmp), "Allocator handles; count=%" PRIu64,
			 out->allocator_handles);
		err = xs_seterr(-XS_EHS_ALLOC_HANDLES, "%s", tmp);
		goto reject;
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

/* "Version; server=S; client=C", exactly; returns S or 0. */
static uint32_t version_reason(const char *r, size_t len)
{
	static const char pre[] = "Version; server=", mid[] = "; client=";
	uint64_t s = 0;
	size_t i = sizeof(pre) - 1, digits = 0;

	if (len < i || memcmp(r, pre, i))
		return 0;
	for (; i < len && r[i] >= '0' && r[i] <= '9' && digits < 10; i++, digits++)
		s = s * 10 + (uint64_t)(r[i] - '0');
	if (!digits || s == 0 || s > UINT32_MAX)
		return 0;
	if (len - i < sizeof(mid) - 1 || memcmp(r + i, mid, sizeof(mid) - 1))
		return 0;
	i += sizeof(mid) - 1;
	for (digits = 0; i < len && r[i] >= '0' && r[i] <= '9'; i++)
		digits++;
	return digits && i == len ? (uint32_t)s : 0;
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
	if (expected_fds < XS_HS_GLOBAL_SHMEM || out->nfds_seen != expected_fds)
		return xs_seterr(-XS_EHS_PROTOCOL,
				 "success reply carries %u descriptors, want 3 + 2 x workers = %u",
				 out->nfds_seen, expected_fds);
	return 0;
}
