/* SPDX-License-Identifier: Apache-2.0 */
/* Error text: one table per module, found through weak references so that a
 * program links only the modules it uses. */
#include "xsched/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#pragma weak xs_strerror_queues
#pragma weak xs_strerror_alloc
#pragma weak xs_strerror_hs
#pragma weak xs_strerror_rt
#pragma weak xs_strerror_msg
#pragma weak xs_strerror_tools

static _Thread_local char xs_tls_msg[512];
static _Thread_local char xs_tls_unknown[64];

static const char *common_text(int code)
{
	switch (code) {
	case XS_E_INTERNAL: return "internal error";
	case XS_ESHM_SIZE: return "shared-memory object has an unusable size";
	case XS_ESHM_HUGE: return "huge pages required but not available";
	case XS_ESHM_UNSEALED: return "shared-memory object is not sealed";
	default: return NULL;
	}
}

const char *xs_strerror(int err)
{
	/* -(long) so that INT_MIN does not overflow; it is no known code. */
	long lcode = err < 0 ? -(long)err : err;
	int code = lcode < XS_E_END ? (int)lcode : XS_E_END;
	const char *(*fn)(int) = NULL;
	const char *s = NULL;

	if (code == 0)
		return "success";
	if (code < XS_E_BASE)
		return strerror(code);
	if (code < XS_E_QUEUES_BASE)
		s = common_text(code);
	else if (code < XS_E_ALLOC_BASE)
		fn = xs_strerror_queues;
	else if (code < XS_E_HS_BASE)
		fn = xs_strerror_alloc;
	else if (code < XS_E_RT_BASE)
		fn = xs_strerror_hs;
	else if (code < XS_E_MSG_BASE)
		fn = xs_strerror_rt;
	else if (code < XS_E_TOOLS_BASE)
		fn = xs_strerror_msg;
	else if (code < XS_E_END)
		fn = xs_strerror_tools;
	if (fn)
		s = fn(code);
	if (s)
		return s;
	snprintf(xs_tls_unknown, sizeof(xs_tls_unknown), "unknown xsched error %ld", lcode);
	return xs_tls_unknown;
}

const char *xs_errmsg(void)
{
	return xs_tls_msg;
}

int xs_seterr(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(xs_tls_msg, sizeof(xs_tls_msg), fmt, ap);
	va_end(ap);
	return err;
}

void xs_clearerr(void)
{
	xs_tls_msg[0] = '\0';
}

const char *xs_version(void)
{
	return XS_VERSION_STRING;
}

/* Rust's std::io::ErrorKind for an errno (std's decode_error_kind on Unix,
 * names as of Rust 1.8x: QuotaExceeded, InProgress). */
static const char *rust_io_kind(int e)
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
	case EDQUOT: return "QuotaExceeded";
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
	case EINPROGRESS: return "InProgress";
	case EACCES:
	case EPERM: return "PermissionDenied";
	case EAGAIN: return "WouldBlock";
	default: return "Uncategorized";
	}
}

int xs_rust_os_error(char *buf, size_t cap, int err)
{
	int e = err < 0 ? -err : err;

	return snprintf(buf, cap, "Os { code: %d, kind: %s, message: \"%s\" }", e, rust_io_kind(e),
			strerror(e));
}
