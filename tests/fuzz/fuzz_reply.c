/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the client's reply parsing (xs_hs_parse_reply) over any data
 * and control bytes a server can send (format: fuzz_common.h). The parser
 * never touches a descriptor, so the control data can name any numbers.
 * Invariants: only documented codes; success means exactly 3 + 2W (flags
 * bit 1: 5 + 2W, the check-queue generations) descriptors, a well-formed
 * single SCM_RIGHTS message, no truncation; the reason never claims more
 * bytes than were received and is NUL-terminated; every descriptor
 * reported was present in the control bytes; a version rejection of either
 * kind carries the server's numbers and maps to a generation consistently.
 */
#include "fuzz_common.h"
#include "xsched/handshake.h"

#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xs_hs_reply *r;
	uint8_t *d, *c;
	size_t dlen, clen;
	uint32_t workers, expected;
	int flags, err;

	if (size < 4)
		return 0;
	flags = data[0] & 1 ? MSG_CTRUNC : 0;
	workers = data[1];
	expected = (data[0] & 2 ? XS_HS_GLOBAL_SHMEM_CHECK : XS_HS_GLOBAL_SHMEM) + 2 * workers;
	dlen = fz_le16(data + 2);
	if (dlen > size - 4)
		dlen = size - 4;
	clen = size - 4 - dlen;
	/* separate exact-size buffers: ASan sees any over-read of either */
	d = malloc(dlen ? dlen : 1);
	c = malloc(clen ? clen : 1);
	r = malloc(sizeof(*r));
	if (!d || !c || !r)
		abort();
	memcpy(d, data + 4, dlen);
	memcpy(c, data + 4 + dlen, clen);
	memset(r, 0x5a, sizeof(*r));

	err = xs_hs_parse_reply(d, dlen, flags, clen ? c : NULL, clen, expected, r);
	FZ_ASSERT(r->nfds <= XS_HS_REPLY_FDS);
	FZ_ASSERT(r->nfds <= r->nfds_seen);
	FZ_ASSERT((size_t)r->nfds * sizeof(int) <= clen);
	switch (err) {
	case 0:
		FZ_ASSERT(dlen >= 1 && d[0] == XS_HS_LOGON_SUCCESS);
		FZ_ASSERT(r->nfds == expected && r->nfds_seen == expected);
		FZ_ASSERT(r->nrights == 1 && r->ncmsg == 1);
		FZ_ASSERT(!(flags & MSG_CTRUNC));
		break;
	case -XS_EHS_REJECTED:
	case -XS_EHS_VERSION:
		FZ_ASSERT(dlen >= 1 && d[0] == XS_HS_LOGON_FAILURE);
		FZ_ASSERT(r->reason_len <= r->reason_declared);
		FZ_ASSERT(r->reason_len <= XS_HS_MAX_REASON);
		FZ_ASSERT(r->reason_len == 0 || dlen >= 2 + (size_t)r->reason_len);
		FZ_ASSERT(r->reason[r->reason_len] == '\0');
		FZ_ASSERT(!r->complete || r->reason_len == r->reason_declared);
		if (err == -XS_EHS_VERSION) {
			const struct xs_hs_proto *g = NULL;
			char wants[160];
			int v;

			FZ_ASSERT((r->server_version != 0) != (r->sdk_version != 0));
			v = xs_hs_reply_generation(r, &g, wants, sizeof(wants));
			FZ_ASSERT(v == 0 || v == 1);
			FZ_ASSERT(memchr(wants, '\0', sizeof(wants)) && wants[0]);
			FZ_ASSERT((v == 1) == (g != NULL));
			if (g && r->server_version)
				FZ_ASSERT(g->version == r->server_version && g->wire == XS_HS_WIRE_U64);
			if (g && r->sdk_version)
				FZ_ASSERT(g->pv.handshake == r->server_pv.handshake &&
					  g->pv.shaq == r->server_pv.shaq);
		} else {
			const struct xs_hs_proto *g = (const struct xs_hs_proto *)1;

			FZ_ASSERT(!r->server_version && !r->sdk_version);
			FZ_ASSERT(xs_hs_reply_generation(r, &g, NULL, 0) == -XS_EHS_REJECTED && !g);
		}
		break;
	case -XS_EHS_EOF:
		FZ_ASSERT(dlen == 0);
		break;
	case -XS_EHS_PROTOCOL:
		break;
	default:
		FZ_ASSERT(!"undocumented error code");
	}
	free(d);
	free(c);
	free(r);
	return 0;
}
