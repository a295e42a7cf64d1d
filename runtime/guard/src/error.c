/* SPDX-License-Identifier: Apache-2.0 */
/* Text of the guard / message-validation error block (4500). */
#include "xsched/guard.h"

const char *xs_strerror_msg(int code)
{
	switch (code) {
	case XS_EMSG_BATCH_EMPTY: return "batch holds no transaction";
	case XS_EMSG_BATCH_SIZE: return "batch holds more than 64 transactions";
	case XS_EMSG_FLAGS: return "message flags hold undefined bits";
	case XS_EMSG_LEADER_STATE: return "progress leader_state is not a defined value";
	case XS_EMSG_PROGRESS: return "progress current_slot_progress above 100 percent";
	case XS_EMSG_PROCESSED: return "unknown worker processed_code";
	case XS_EMSG_TAG: return "response tag unknown or not the kind of the request";
	case XS_EMSG_COUNT: return "response count differs from the batch";
	case XS_EMSG_REASON: return "unknown not_included_reason in an execution response";
	case XS_EMSG_CHECK_FLAGS: return "check response flags hold undefined bits";
	case XS_EMSG_PUBKEYS: return "resolved_pubkeys count cannot fit one allocation";
	case XS_EMSG_DUP: return "one allocation referenced twice by a message";
	case XS_EMSG_MISMATCH: return "echoed batch differs from the request sent";
	case XS_EMSG_VERSION: return "protocol VERSION unknown to the message validator";
	case XS_EMSG_NOT_SLOT: return "offset names no allocation unit of the allocator file";
	case XS_EMSG_OWNED_TWICE: return "peer handed over an allocation already held";
	case XS_EMSG_DOUBLE_FREE: return "double free of an allocation";
	case XS_EMSG_NOT_OWNED: return "free of an allocation never held";
	case XS_EMSG_LENT: return "allocation is still lent to the peer";
	case XS_EMSG_NOT_LENT: return "peer returned an allocation that was not lent to it";
	case XS_EMSG_NO_PIDFD: return "pidfd_open unavailable and polling fallback refused";
	case XS_EMSG_PEER_BUSY: return "peer handle already watched";
	case XS_EMSG_PEER_UNKNOWN: return "peer handle not watched";
	default: return NULL;
	}
}
