/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the handshake codecs, byte for byte against upstream.
 *  - the VERSION table, ClientLogon offsets and constants of layout_rust.json;
 *  - logon buffers equal logon_L1/L2/L3.bin (bytes 66..71 masked, README (a));
 *    VERSION 1 encoding (56-byte struct, queue sizes in bytes);
 *  - server-side logon validation: each bad input gives upstream's reason,
 *    and its failure frame equals fail_*.bin;
 *  - client-side reply validation: each malformed reply (0 bytes, failure
 *    length past the data, no/too few/too many descriptors, MSG_CTRUNC,
 *    foreign or several control messages, malformed control data, ...) is
 *    refused and every descriptor in it is reported for closing;
 *  - random bytes through both parsers (no crash, no leak under ASan).
 * Run with a case name to run one case (CTest runs each as its own test).
 */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "hs_test.h"
#include "xsched/spsc.h"

static const size_t pad_mask[] = { 66, 71 };

static void expect_frame(const char *vector, const char *reason)
{
	size_t vlen;
	uint8_t *v = t_read_vector(vector, &vlen);
	uint8_t frame[2 + XS_HS_MAX_REASON];
	int n = xs_hs_encode_failure(reason, frame, sizeof(frame));

	T_EQ(n, vlen);
	T_BYTES(vector, frame, v, vlen);
	free(v);
}

/* ----------------------------------------------------------- table, JSON */

static void t_proto_table(void)
{
	const struct xs_hs_proto *v1 = xs_hs_proto_get(1), *v2 = xs_hs_proto_get(2);

	T_ASSERT(v1 && v2);
	T_ASSERT(!xs_hs_proto_get(0) && !xs_hs_proto_get(8) && !xs_hs_proto_get(1ull << 32 | 2));
	/* every generation has sessions (test_hs_rows) */
	for (uint64_t v = XS_HS_VERSION_MIN; v <= XS_HS_VERSION_MAX; v++)
		T_ASSERT(xs_hs_proto_get(v) && xs_hs_proto_get(v)->sessions);
	T_ASSERT(v1->sessions && v2->sessions);
	T_EQ(v1->logon_size, 56);
	T_EQ(v2->logon_size, 64);
	T_EQ(v1->units, XS_LOGON_BYTES);
	T_EQ(v2->units, XS_LOGON_ITEMS);
	T_EQ(v1->has_flags, 0);
	T_EQ(v2->has_flags, 1);
	T_EQ(v1->shaq, XS_SHAQ_0_2);
	T_EQ(v2->shaq, XS_SHAQ_1_0);
	T_EQ(v1->huge_first, 0);
	T_EQ(v2->huge_first, 1);
	T_EQ(v2->slab_size, 2u << 20);
}

static void t_layout_json(void)
{
	size_t len;
	char *j = (char *)t_read_vector("layout_rust.json", &len);
	struct xs_logon lg = {
		.worker_count = 0x1111, .allocator_size = 0x2222, .allocator_handles = 0x3333,
		.tpu_to_pack_capacity = 0x4444, .progress_tracker_capacity = 0x5555,
		.pack_to_worker_capacity = 0x6666, .worker_to_pack_capacity = 0x7777, .flags = 0x8888,
	};
	static const char *fields[] = { "worker_count", "allocator_size", "allocator_handles",
		"tpu_to_pack_capacity", "progress_tracker_capacity", "pack_to_worker_capacity",
		"worker_to_pack_capacity" };
	uint8_t buf[XS_HS_LOGON_BUF];
	char *z = realloc(j, len + 1);

	T_ASSERT(z);
	j = z;
	j[len] = '\0';
	th_encode(2, &lg, buf);
	T_EQ(th_json_num(j, "\"handshake::ClientLogon\"", "size", 0), xs_hs_proto_get(2)->logon_size);
	for (int i = 0; i < 7; i++) {
		long long off = th_json_num(j, "\"handshake::ClientLogon\"", fields[i], 0);
		uint64_t v = 0;

		for (int k = 7; k >= 0; k--)
			v = (v << 8) | buf[8 + off + k];
		T_EQ(v, 0x1111ull * (uint64_t)(i + 1));
	}
	T_EQ(buf[8 + th_json_num(j, "\"handshake::ClientLogon\"", "flags", 0)], 0x88);
	T_EQ(th_json_num(j, "\"constants\"", "handshake_VERSION", 0), XS_HS_VERSION_DEFAULT);
	T_EQ(th_json_num(j, "\"constants\"", "LOGON_SUCCESS", 0), XS_HS_LOGON_SUCCESS);
	T_EQ(th_json_num(j, "\"constants\"", "LOGON_FAILURE", 0), XS_HS_LOGON_FAILURE);
	T_EQ(th_json_num(j, "\"constants\"", "MAX_WORKERS", 0), XS_HS_MAX_WORKERS);
	T_EQ(th_json_num(j, "\"constants\"", "MAX_ALLOCATOR_HANDLES", 0), XS_HS_MAX_ALLOC_HANDLES);
	T_EQ(th_json_num(j, "\"constants\"", "GLOBAL_ALLOCATORS", 0), XS_HS_GLOBAL_ALLOCATORS);
	T_EQ(th_json_num(j, "\"constants\"", "GLOBAL_SHMEM", 0), XS_HS_GLOBAL_SHMEM);
	T_EQ(th_json_num(j, "\"constants\"", "HANDSHAKE_BUFFER_SIZE", 0), XS_HS_LOGON_BUF);
	T_EQ(th_json_num(j, "\"constants\"", "logon_flags::REROUTE_VOTES", 0), XS_LOGON_REROUTE_VOTES);
	T_EQ(th_json_num(j, "\"constants\"", "server_allocator_slab_size", 0), XS_HS_SLAB_SIZE);
	free(j);
}

/* ---------------------------------------------------------------- logons */

static void check_logon_vector(const char *name, const struct xs_logon *lg)
{
	size_t len;
	uint8_t *v = t_read_vector(name, &len);
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon back;
	char reason[64];

	T_EQ(len, XS_HS_LOGON_BUF);
	th_encode(2, lg, buf);
	T_BYTES_MASKED(name, buf, v, len, pad_mask, 1);
	/* xsched writes the struct padding as zeros */
	for (int i = 66; i <= 71; i++)
		T_EQ(buf[i], 0);
	/* and parsing the upstream bytes gives the fields back (padding ignored) */
	if (lg->worker_count >= 1 && lg->worker_count <= 64 && lg->allocator_handles >= 1 &&
	    lg->allocator_handles <= 128) {
		T_OK(xs_hs_parse_logon(v, len, 2, &back, reason, sizeof(reason)));
		T_EQ(back.worker_count, lg->worker_count);
		T_EQ(back.allocator_size, lg->allocator_size);
		T_EQ(back.allocator_handles, lg->allocator_handles);
		T_EQ(back.tpu_to_pack_capacity, lg->tpu_to_pack_capacity);
		T_EQ(back.progress_tracker_capacity, lg->progress_tracker_capacity);
		T_EQ(back.pack_to_worker_capacity, lg->pack_to_worker_capacity);
		T_EQ(back.worker_to_pack_capacity, lg->worker_to_pack_capacity);
		T_EQ(back.flags, lg->flags);
		T_EQ(back.units, XS_LOGON_ITEMS);
		T_EQ(reason[0], 0);
	}
	free(v);
}

static void t_logon_L1(void)
{
	struct xs_logon lg = { 4, 67108864, 1, 1024, 1024, 1024, 1024, 0, XS_LOGON_ITEMS, { 0 }, 0, 0, 0 };

	check_logon_vector("logon_L1_w4_64MiB_h1_cap1024.bin", &lg);
}

static void t_logon_L2(void)
{
	struct xs_logon lg = { 1, 16777216, 2, 65536, 256, 128, 256, XS_LOGON_REROUTE_VOTES,
			       XS_LOGON_ITEMS, { 0 }, 0, 0, 0 };

	check_logon_vector("logon_L2_w1_16MiB_h2_reroute_votes.bin", &lg);
}

static void t_logon_L3(void)
{
	struct xs_logon lg = { 0x11, 0x0102030405060708ull, 0x21, 0x31323334, 0x41, 0x51, 0x61,
			       0x7172, XS_LOGON_ITEMS, { 0 }, 0, 0, 0 };

	check_logon_vector("logon_L3_distinct_field_values.bin", &lg);
	check_logon_vector("logon_L3_distinct_field_values.observed_uninit_padding.bin", &lg);
}

static void t_logon_v1(void)
{
	struct xs_logon lg = th_logon_upstream(4), back;
	uint8_t buf[XS_HS_LOGON_BUF];
	char reason[80];

	th_encode(1, &lg, buf);
	T_EQ(buf[0], 1);
	for (int i = 1; i < 8; i++)
		T_EQ(buf[i], 0);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), 1, &back, reason, sizeof(reason)));
	T_EQ(back.units, XS_LOGON_BYTES);
	T_EQ(back.worker_count, 4);
	T_EQ(back.allocator_size, 1ull << 30);
	T_EQ(back.allocator_handles, 3);
	/* items -> shaq minimum_file_size, as upstream 3.1.x clients fill them */
	T_EQ(back.tpu_to_pack_capacity, xs_spsc_min_file_size(65536, 40, 8));
	T_EQ(back.progress_tracker_capacity, xs_spsc_min_file_size(256, 48, 8));
	T_EQ(back.pack_to_worker_capacity, xs_spsc_min_file_size(1024, 32, 8));
	T_EQ(back.worker_to_pack_capacity, xs_spsc_min_file_size(1024, 40, 8));
	T_EQ(back.tpu_to_pack_capacity, 192 + 65536ull * 40);
	/* the 56-byte struct ends at 64; nothing after it */
	for (int i = 64; i < (int)sizeof(buf); i++)
		T_EQ(buf[i], 0);
	/* flags do not exist in VERSION 1 */
	lg.flags = XS_LOGON_REROUTE_VOTES;
	T_ERR(xs_hs_encode_logon(1, &lg, buf), -XS_EHS_LOGON);
	/* bytes given, VERSION 2 sent: converted to the capacity that fits */
	back.flags = 0;
	th_encode(2, &back, buf);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), 2, &lg, reason, sizeof(reason)));
	T_EQ(lg.tpu_to_pack_capacity, 65536);
	T_EQ(lg.pack_to_worker_capacity, 1024);
	T_ERR(xs_hs_encode_logon(8, &lg, buf), -EINVAL);
	T_ERR(xs_hs_parse_logon(buf, sizeof(buf), 9, &lg, reason, sizeof(reason)), -EINVAL);
}

static void check_bad_logon(uint64_t version, uint64_t wc, uint64_t ah, int want,
			    const char *text, const char *vector)
{
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon lg;
	char reason[XS_HS_MAX_REASON + 1];

	th_raw_logon(buf, version, wc, ah);
	T_ERR(xs_hs_parse_logon(buf, sizeof(buf), 2, &lg, reason, sizeof(reason)), want);
	T_ASSERT(strcmp(reason, text) == 0, "reason \"%s\" want \"%s\"", reason, text);
	expect_frame(vector, reason);
}

static void t_bad_version1(void)
{
	check_bad_logon(1, 4, 1, -XS_EHS_VERSION, "Version; server=2; client=1",
			"fail_version_client1.bin");
}

static void t_bad_version3(void)
{
	check_bad_logon(3, 4, 1, -XS_EHS_VERSION, "Version; server=2; client=3",
			"fail_version_client3.bin");
}

static void t_bad_workers0(void)
{
	check_bad_logon(2, 0, 1, -XS_EHS_WORKER_COUNT, "Worker count; count=0",
			"fail_worker_count_0.bin");
}

static void t_bad_workers65(void)
{
	check_bad_logon(2, 65, 1, -XS_EHS_WORKER_COUNT, "Worker count; count=65",
			"fail_worker_count_65.bin");
}

static void t_bad_handles0(void)
{
	check_bad_logon(2, 4, 0, -XS_EHS_ALLOC_HANDLES, "Allocator handles; count=0",
			"fail_allocator_handles_0.bin");
}

static void t_bad_handles129(void)
{
	check_bad_logon(2, 4, 129, -XS_EHS_ALLOC_HANDLES, "Allocator handles; count=129",
			"fail_allocator_handles_129.bin");
}

static void t_bad_order(void)
{
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon lg;
	char reason[80];

	/* version first, then workers, then handles (upstream's order) */
	th_raw_logon(buf, 9, 0, 0);
	T_ERR(xs_hs_parse_logon(buf, sizeof(buf), 2, &lg, reason, sizeof(reason)), -XS_EHS_VERSION);
	th_raw_logon(buf, 2, 100, 0);
	T_ERR(xs_hs_parse_logon(buf, sizeof(buf), 2, &lg, reason, sizeof(reason)),
	      -XS_EHS_WORKER_COUNT);
	T_ASSERT(strcmp(reason, "Worker count; count=100") == 0);
	th_raw_logon(buf, 2, 64, 128);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), 2, &lg, reason, sizeof(reason)));
	th_raw_logon(buf, 2, 1, 1);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), 2, &lg, reason, sizeof(reason)));
	/* VERSION 1 server: 2 is the mismatch */
	T_ERR(xs_hs_parse_logon(buf, sizeof(buf), 1, &lg, reason, sizeof(reason)), -XS_EHS_VERSION);
	T_ASSERT(strcmp(reason, "Version; server=1; client=2") == 0);
	/* the unused tail is ignored */
	memset(buf + 72, 0xee, sizeof(buf) - 72);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), 2, &lg, reason, sizeof(reason)));
	th_raw_logon(buf, UINT64_MAX, 4, 1);
	T_ERR(xs_hs_parse_logon(buf, sizeof(buf), 2, &lg, reason, sizeof(reason)), -XS_EHS_VERSION);
	T_ASSERT(strcmp(reason, "Version; server=2; client=18446744073709551615") == 0);
}

static void t_bad_short(void)
{
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon lg;
	char reason[80];

	th_raw_logon(buf, 2, 4, 1);
	T_ERR(xs_hs_parse_logon(buf, 100, 2, &lg, reason, sizeof(reason)), -XS_EHS_EOF);
	T_ASSERT(strcmp(reason, "Close during handshake") == 0);
	expect_frame("fail_eof_after_100_bytes.bin", reason);
	T_ERR(xs_hs_parse_logon(buf, 1023, 2, &lg, reason, sizeof(reason)), -XS_EHS_EOF);
	T_ERR(xs_hs_parse_logon(NULL, 0, 2, &lg, NULL, 0), -XS_EHS_EOF);
}

static void t_failure_frame(void)
{
	char reason[400];
	uint8_t frame[300];

	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	/* cut to 255 bytes, as upstream */
	T_EQ(xs_hs_encode_failure(reason, frame, sizeof(frame)), 257);
	T_EQ(frame[0], 2);
	T_EQ(frame[1], 255);
	T_ERR(xs_hs_encode_failure(reason, frame, 100), -ENOSPC);
	T_EQ(xs_hs_encode_failure("", frame, sizeof(frame)), 2);
	T_EQ(frame[1], 0);
}

static void t_io_text(void)
{
	char buf[200];
	const char *want = "Io; err=Resource temporarily unavailable (os error 11)";

	xs_hs_format_io(buf, sizeof(buf), -EAGAIN);
	T_ASSERT(strcmp(buf, want) == 0, "%s", buf);
	T_EQ(strlen(buf), 54);
	xs_hs_format_io(buf, sizeof(buf), -ECONNRESET);
	T_ASSERT(strcmp(buf, "Io; err=Connection reset by peer (os error 104)") == 0, "%s", buf);
	T_ASSERT(xs_strerror(-XS_EHS_PROTOCOL)[0] && strcmp(xs_strerror(-XS_EHS_IO), "") != 0);
	T_ASSERT(xs_strerror_hs(XS_EHS_REJECTED) != NULL && xs_strerror_hs(XS_E_HS_BASE + 99) == NULL);
}

/* ---------------------------------------------------------------- replies */

/* Control data with @p nmsg SCM_RIGHTS messages of the given descriptor counts. */
static size_t build_ctl(uint8_t *ctl, size_t cap, const int *counts, int nmsg, int first_fd,
			int level, int type)
{
	size_t off = 0;
	int fd = first_fd;

	memset(ctl, 0, cap);
	for (int m = 0; m < nmsg; m++) {
		struct cmsghdr h;

		h.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)counts[m]);
		h.cmsg_level = level;
		h.cmsg_type = type;
		T_ASSERT(off + CMSG_SPACE(sizeof(int) * (size_t)counts[m]) <= cap);
		memcpy(ctl + off, &h, sizeof(h));
		for (int i = 0; i < counts[m]; i++, fd++)
			memcpy(ctl + off + CMSG_LEN(0) + sizeof(int) * (size_t)i, &fd, sizeof(fd));
		off += CMSG_SPACE(sizeof(int) * (size_t)counts[m]);
	}
	return off;
}

static struct xs_hs_reply rep;
static uint8_t ctlbuf[4096 + 8];

static void t_reply_success(void)
{
	const uint8_t one = 1;
	int c = 7;
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 100, SOL_SOCKET, SCM_RIGHTS);

	T_OK(xs_hs_parse_reply(&one, 1, 0, ctlbuf, n, 7, &rep));
	T_EQ(rep.nfds, 7);
	for (int i = 0; i < 7; i++)
		T_EQ(rep.fds[i], 100 + i);
	/* the largest answer: 131 descriptors */
	c = 131;
	n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 100, SOL_SOCKET, SCM_RIGHTS);
	T_OK(xs_hs_parse_reply(&one, 1, 0, ctlbuf, n, 131, &rep));
	T_EQ(rep.nfds, 131);
}

static void t_reply_zero_bytes(void)
{
	T_ERR(xs_hs_parse_reply((const uint8_t *)"", 0, 0, NULL, 0, 5, &rep), -XS_EHS_EOF);
}

static void t_reply_failure(void)
{
	const uint8_t f[] = { 2, 5, 'h', 'e', 'l', 'l', 'o', 'x', 'y' };

	T_ERR(xs_hs_parse_reply(f, sizeof(f), 0, NULL, 0, 5, &rep), -XS_EHS_REJECTED);
	T_ASSERT(rep.complete && rep.reason_len == 5 && strcmp(rep.reason, "hello") == 0);
	/* any bytes accepted, NULs and invalid UTF-8 included */
	{
		const uint8_t g[] = { 2, 4, 0xff, 0, 0xc3, 'a' };

		T_ERR(xs_hs_parse_reply(g, sizeof(g), 0, NULL, 0, 5, &rep), -XS_EHS_REJECTED);
		T_EQ(rep.reason_len, 4);
		T_ASSERT(memcmp(rep.reason, g + 2, 4) == 0);
	}
}

static void t_reply_failure_past_data(void)
{
	const uint8_t f[] = { 2, 200, 'a', 'b', 'c' };
	const uint8_t g[] = { 2 };

	T_ERR(xs_hs_parse_reply(f, sizeof(f), 0, NULL, 0, 5, &rep), -XS_EHS_REJECTED);
	T_ASSERT(!rep.complete && rep.reason_len == 3 && rep.reason_declared == 200);
	T_ASSERT(strcmp(rep.reason, "abc") == 0);
	T_ERR(xs_hs_parse_reply(g, sizeof(g), 0, NULL, 0, 5, &rep), -XS_EHS_REJECTED);
	T_ASSERT(!rep.complete && rep.reason_len == 0);
}

static void t_reply_version(void)
{
	static const struct {
		const char *text;
		int want;
		uint32_t sv;
	} cases[] = {
		{ "Version; server=1; client=2", -XS_EHS_VERSION, 1 },
		{ "Version; server=3; client=2", -XS_EHS_VERSION, 3 },
		{ "Version; server=; client=2", -XS_EHS_REJECTED, 0 },
		{ "Version; server=1; client=", -XS_EHS_REJECTED, 0 },
		{ "Version; server=1x; client=2", -XS_EHS_REJECTED, 0 },
		{ "Version; server=1; client=2 ", -XS_EHS_REJECTED, 0 },
		{ "Version; server=0; client=2", -XS_EHS_REJECTED, 0 },
		{ "Version; server=99999999999; client=2", -XS_EHS_REJECTED, 0 },
		{ "Worker count; count=0", -XS_EHS_REJECTED, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t f[300];
		int n = xs_hs_encode_failure(cases[i].text, f, sizeof(f));

		T_ERR(xs_hs_parse_reply(f, (size_t)n, 0, NULL, 0, 5, &rep), cases[i].want);
		T_EQ(rep.server_version, cases[i].sv);
	}
}

static void t_reply_no_fds(void)
{
	const uint8_t one = 1;

	T_ERR(xs_hs_parse_reply(&one, 1, 0, NULL, 0, 5, &rep), -XS_EHS_PROTOCOL);
	T_ERR(xs_hs_parse_reply(&one, 1, 0, ctlbuf, 0, 5, &rep), -XS_EHS_PROTOCOL);
	T_EQ(rep.nfds, 0);
	/* an empty SCM_RIGHTS never matches, not even a client that expects no
	 * descriptors (it sent a worker_count no server may accept) */
	{
		int c = 0;
		size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 50, SOL_SOCKET, SCM_RIGHTS);

		T_ERR(xs_hs_parse_reply(&one, 1, 0, ctlbuf, n, 0, &rep), -XS_EHS_PROTOCOL);
		T_EQ(rep.nrights, 1);
	}
}

static void t_reply_too_few(void)
{
	const uint8_t one = 1;
	int c = 5;
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 50, SOL_SOCKET, SCM_RIGHTS);

	T_ERR(xs_hs_parse_reply(&one, 1, 0, ctlbuf, n, 7, &rep), -XS_EHS_PROTOCOL);
	T_EQ(rep.nfds, 5);
	T_EQ(rep.fds[4], 54);
}

static void t_reply_too_many(void)
{
	const uint8_t one = 1;
	int c = 9;
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 50, SOL_SOCKET, SCM_RIGHTS);

	T_ERR(xs_hs_parse_reply(&one, 1, 0, ctlbuf, n, 7, &rep), -XS_EHS_PROTOCOL);
	T_EQ(rep.nfds, 9);
}

static void t_reply_ctrunc(void)
{
	const uint8_t one = 1;
	int c = 7;
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 50, SOL_SOCKET, SCM_RIGHTS);

	T_ERR(xs_hs_parse_reply(&one, 1, MSG_CTRUNC, ctlbuf, n, 7, &rep), -XS_EHS_PROTOCOL);
	T_EQ(rep.nfds, 7); /* what did arrive is still reported for closing */
}

static void t_reply_two_rights(void)
{
	const uint8_t one = 1;
	int c[2] = { 3, 4 };
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), c, 2, 10, SOL_SOCKET, SCM_RIGHTS);

	T_ERR(xs_hs_parse_reply(&one, 1, 0, ctlbuf, n, 7, &rep), -XS_EHS_PROTOCOL);
	T_EQ(rep.nfds, 7);
	T_EQ(rep.nrights, 2);
}

static void t_reply_foreign_cmsg(void)
{
	const uint8_t one = 1;
	int c = 7;
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 10, SOL_SOCKET, SCM_CREDENTIALS);

	T_ERR(xs_hs_parse_reply(&one, 1, 0, ctlbuf, n, 7, &rep), -XS_EHS_PROTOCOL);
	T_EQ(rep.nfds, 0); /* not descriptors */
	n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 10, IPPROTO_IP, SCM_RIGHTS);
	T_ERR(xs_hs_parse_reply(&one, 1, 0, ctlbuf, n, 7, &rep), -XS_EHS_PROTOCOL);
}

static void t_reply_bad_byte(void)
{
	const uint8_t b[] = { 0, 7, 0xff };
	int c = 7;
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 10, SOL_SOCKET, SCM_RIGHTS);

	for (size_t i = 0; i < sizeof(b); i++) {
		T_ERR(xs_hs_parse_reply(&b[i], 1, 0, ctlbuf, n, 7, &rep), -XS_EHS_PROTOCOL);
		T_EQ(rep.nfds, 7);
	}
}

static void t_reply_extra_data(void)
{
	const uint8_t d[] = { 1, 1 };
	int c = 7;
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 10, SOL_SOCKET, SCM_RIGHTS);

	T_ERR(xs_hs_parse_reply(d, 2, 0, ctlbuf, n, 7, &rep), -XS_EHS_PROTOCOL);
	T_EQ(rep.nfds, 7);
}

static void t_reply_malformed_cmsg(void)
{
	const uint8_t one = 1;
	int c = 7;
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 10, SOL_SOCKET, SCM_RIGHTS);
	struct cmsghdr h;

	/* length past the buffer */
	memcpy(&h, ctlbuf, sizeof(h));
	h.cmsg_len = n + 64;
	memcpy(ctlbuf, &h, sizeof(h));
	T_ERR(xs_hs_parse_reply(&one, 1, 0, ctlbuf, n, 7, &rep), -XS_EHS_PROTOCOL);
	T_EQ(rep.nfds, 0);
	/* length below a header */
	h.cmsg_len = 3;
	memcpy(ctlbuf, &h, sizeof(h));
	T_ERR(xs_hs_parse_reply(&one, 1, 0, ctlbuf, n, 7, &rep), -XS_EHS_PROTOCOL);
	/* a header cut off: ignored, like CMSG_NXTHDR, and nothing counted */
	T_ERR(xs_hs_parse_reply(&one, 1, 0, ctlbuf, sizeof(h) - 1, 7, &rep), -XS_EHS_PROTOCOL);
	T_EQ(rep.ncmsg, 0);
}

static void t_reply_unaligned(void)
{
	const uint8_t one = 1;
	int c = 7;
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf) - 8, &c, 1, 10, SOL_SOCKET, SCM_RIGHTS);

	memmove(ctlbuf + 3, ctlbuf, n);
	T_OK(xs_hs_parse_reply(&one, 1, 0, ctlbuf + 3, n, 7, &rep));
	T_EQ(rep.fds[6], 16);
}

static void t_reply_failure_with_fds(void)
{
	const uint8_t f[] = { 2, 2, 'n', 'o' };
	int c = 3;
	size_t n = build_ctl(ctlbuf, sizeof(ctlbuf), &c, 1, 10, SOL_SOCKET, SCM_RIGHTS);

	T_ERR(xs_hs_parse_reply(f, sizeof(f), 0, ctlbuf, n, 7, &rep), -XS_EHS_REJECTED);
	T_EQ(rep.nfds, 3);
}

static void t_random_bytes(void)
{
	uint64_t seed = 0x5eedf00dull;
	uint8_t *buf = malloc(XS_HS_LOGON_BUF + 600);
	uint64_t end = t_now_ns() + 1500000000ull;

	T_ASSERT(buf);
	for (int it = 0; it < 200000 && t_now_ns() < end; it++) {
		size_t len = t_rand(&seed) % (XS_HS_LOGON_BUF + 600), clen;
		struct xs_logon lg;
		char reason[64];

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)t_rand(&seed);
		if (it & 1) {
			/* plausible headers so that the parsers go deeper */
			buf[0] = (uint8_t)(1 + (it & 2));
			buf[1] = 0;
		}
		(void)xs_hs_parse_logon(buf, len, 2, &lg, reason, sizeof(reason));
		clen = len > 1 ? t_rand(&seed) % len : 0;
		(void)xs_hs_parse_reply(buf, len > 4 ? 4 : len, (int)t_rand(&seed), buf + (len - clen),
					clen, 7, &rep);
		T_ASSERT(rep.nfds <= XS_HS_REPLY_FDS && rep.reason_len <= XS_HS_MAX_REASON);
	}
	free(buf);
}

static const struct th_case cases[] = {
	{ "proto_table", t_proto_table },
	{ "layout_json", t_layout_json },
	{ "logon_L1", t_logon_L1 },
	{ "logon_L2", t_logon_L2 },
	{ "logon_L3", t_logon_L3 },
	{ "logon_v1", t_logon_v1 },
	{ "bad_version1", t_bad_version1 },
	{ "bad_version3", t_bad_version3 },
	{ "bad_workers0", t_bad_workers0 },
	{ "bad_workers65", t_bad_workers65 },
	{ "bad_handles0", t_bad_handles0 },
	{ "bad_handles129", t_bad_handles129 },
	{ "bad_order", t_bad_order },
	{ "bad_short", t_bad_short },
	{ "failure_frame", t_failure_frame },
	{ "io_text", t_io_text },
	{ "reply_success", t_reply_success },
	{ "reply_zero_bytes", t_reply_zero_bytes },
	{ "reply_failure", t_reply_failure },
	{ "reply_failure_past_data", t_reply_failure_past_data },
	{ "reply_version", t_reply_version },
	{ "reply_no_fds", t_reply_no_fds },
	{ "reply_too_few", t_reply_too_few },
	{ "reply_too_many", t_reply_too_many },
	{ "reply_ctrunc", t_reply_ctrunc },
	{ "reply_two_rights", t_reply_two_rights },
	{ "reply_foreign_cmsg", t_reply_foreign_cmsg },
	{ "reply_bad_byte", t_reply_bad_byte },
	{ "reply_extra_data", t_reply_extra_data },
	{ "reply_malformed_cmsg", t_reply_malformed_cmsg },
	{ "reply_unaligned", t_reply_unaligned },
	{ "reply_failure_with_fds", t_reply_failure_with_fds },
	{ "random_bytes", t_random_bytes },
};

int main(int argc, char **argv)
{
	return th_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
