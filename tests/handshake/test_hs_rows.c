/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: a handshake round trip for every generation of the protocol
 * table (VERSION 1 .. 5, sdk6, sdk7): xsched server on a thread, xsched
 * client on the test's thread, W = 1 and 2 workers and, where the row has
 * check queues, C = 1 and 2 check workers. Checks per session:
 *  - the row spoken on both sides, descriptor count nglobal + 2W;
 *  - every object's own header: the row's shaq format and kind (magic and
 *    version word for formats >= 2.0, version byte for 1.0, none for 0.2),
 *    the row's rts-alloc header word, num_workers (fixed formats 1 + W + H);
 *  - allocator slots numbered as upstream: server 0 (TPU), fixed 1 + i or
 *    claimed in creation order (SDK: check workers 1..C, then the
 *    execution workers), client first_slot + k;
 *  - roles: one message (the row's element size, a pattern) through every
 *    queue in its direction, both MPMC check queues through every check
 *    worker's own handles; bytes the client allocates read back by the
 *    server through the offset;
 *  - no descriptor left open on either side afterwards.
 * Argument: <case> = <row>_w<W>[_c<C>] (e.g. 4_w2, sdk7_w1_c2), or none for all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hs_test.h"
#include "xsched/alloc.h"
#include "xsched/mpmc.h"
#include "xsched/shaq.h"

struct rt_srv {
	const char *path;
	const struct xs_hs_proto *p;
	uint32_t C; /* VERSION 5: the server's own setting */
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	int rc;
};

static void *serve_thread(void *arg)
{
	struct rt_srv *r = arg;

	r->rc = xs_hs_server_serve(r->srv, t_now_ns() + 10000000000ull, &r->vs);
	return NULL;
}

/* A logon that every row accepts (capacities in items). */
static struct xs_logon rows_logon(const struct xs_hs_proto *p, uint32_t w, uint32_t c)
{
	struct xs_logon lg = th_logon_small(w);

	lg.allocator_handles = 2;
	if (p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT)
		lg.check_worker_count = c;
	if (p->field_off[XS_LF_PACK_TO_CHECK_WORKER] != XS_LF_ABSENT) {
		lg.pack_to_check_worker_capacity = 128;
		lg.check_worker_to_pack_capacity = 64;
	}
	return lg;
}

/* Element size of object @p obj (enum xs_hs_obj) in row @p p. */
static uint32_t elem_of(const struct xs_hs_proto *p, unsigned obj)
{
	for (unsigned i = 0; i < p->nglobal + 2u; i++)
		if (p->objects[i].obj == obj)
			return p->objects[i].elem_size;
	t_fail(__FILE__, __LINE__, "row %s has no object %u", p->name, obj);
}

static void pattern(uint8_t *m, uint32_t size, uint32_t seed)
{
	for (uint32_t i = 0; i < size; i++)
		m[i] = (uint8_t)(seed * 31 + i);
}

static void spsc_one(struct xs_spsc *prod, struct xs_spsc *cons, uint32_t size, uint32_t seed)
{
	uint8_t in[128], out[128];

	T_ASSERT(size <= sizeof(in), "element of %u bytes", size);
	T_EQ(prod->elem_size, size);
	T_EQ(cons->elem_size, size);
	pattern(in, size, seed);
	T_OK(xs_spsc_try_push(prod, in));
	memset(out, 0, sizeof(out));
	th_pop(cons, out, size, 2000);
	T_ASSERT(memcmp(in, out, size) == 0, "message %u changed on its way", seed);
}

static void mpmc_pop(struct xs_mpmc *q, void *out)
{
	uint64_t end = t_now_ns() + 2000000000ull;
	int rc;

	while ((rc = xs_mpmc_try_pop(q, out)) == -EAGAIN && t_now_ns() < end)
		usleep(100);
	T_OK(rc);
}

/* The header of one queue seen through its handle, against the row. */
static void check_queue(const struct xs_hs_proto *p, const struct xs_hs_object *o, int fmt,
			const uint8_t *base)
{
	const struct xs_shaq_fmt *f = xs_shaq_fmt_get((enum xs_shaq_format)p->shaq);
	uint64_t magic;
	uint32_t ver;

	T_EQ(fmt, p->shaq);
	T_ASSERT(f != NULL, "row %s: shaq format %u", p->name, p->shaq);
	memcpy(&magic, base, 8);
	memcpy(&ver, base + 8, 4);
	switch (f->version_kind) {
	case XS_SHAQ_VER_WORD:
		T_EQ(magic, o->kind == XS_SHAQ_MPMC ? XS_SHAQ_MAGIC_MPMC : XS_SHAQ_MAGIC_SPSC);
		T_EQ(ver, f->version);
		break;
	case XS_SHAQ_VER_BYTE:
		T_EQ(base[136], XS_SHAQ_VERSION_1_0);
		break;
	default:
		T_EQ(base[136], 0); /* 0.2.0: padding */
		break;
	}
}

static void check_alloc_header(const struct xs_hs_proto *p, const struct xs_alloc *a,
			       const struct xs_logon *lg)
{
	const struct xs_alloc_format_info *fi =
		xs_alloc_format_info((enum xs_alloc_format)p->alloc_format);
	uint32_t ver;

	memcpy(&ver, xs_alloc_base(a) + 8, 4);
	T_EQ(ver, fi->version);
	if (fi->layout == XS_ALLOC_LAYOUT_FIXED)
		T_EQ(xs_alloc_num_workers(a), xs_hs_alloc_min_workers(p, lg));
	else
		T_ASSERT(xs_alloc_num_workers(a) >= xs_hs_alloc_min_workers(p, lg),
			 "num_workers %u below %llu", xs_alloc_num_workers(a),
			 (unsigned long long)xs_hs_alloc_min_workers(p, lg));
}

static void round_trip(const char *row, uint32_t w, uint32_t c)
{
	const struct xs_hs_proto *p = xs_hs_proto_by_name(row);
	struct rt_srv r = { .path = th_sock_path(row), .p = p, .C = c };
	struct xs_hs_server_opts so;
	struct xs_hs_client_opts co;
	struct xs_hs_report rep;
	struct xs_session *s = NULL;
	struct xs_vsession *vs;
	struct xs_logon lg;
	uint8_t in[128], out[128];
	pthread_t th;
	uint32_t nw, ncw, tpu_sz, prog_sz;
	int fds0;
	void *ptr;
	uint64_t off;

	T_ASSERT(p != NULL, "row %s", row);
	T_ASSERT(p->sessions, "row %s: sessions not built", row);
	fds0 = t_fd_count();
	lg = rows_logon(p, w, c);
	memset(&so, 0, sizeof(so));
	so.path = r.path;
	so.version = p->version;
	so.check_workers = c;
	T_OK(xs_hs_server_listen(&so, &r.srv));
	T_OK(pthread_create(&th, NULL, serve_thread, &r));
	memset(&co, 0, sizeof(co));
	co.path = r.path;
	co.version = p->version;
	co.timeout_ns = 5000000000ull;
	co.report = &rep;
	T_OK(xs_hs_connect(&co, &lg, &s));
	T_OK(pthread_join(th, NULL));
	T_OK(r.rc);
	vs = r.vs;

	/* the row on both sides, descriptor counts */
	T_ASSERT(s->proto == p && vs->proto == p, "row %s on both sides", row);
	T_EQ(s->version, p->version);
	T_EQ(rep.version, p->version);
	T_EQ(s->num_objects, p->nglobal + 2 * w);
	T_EQ(vs->num_objects, p->nglobal + 2 * w);
	T_EQ(s->num_workers, w);
	T_EQ(s->has_check_queues, p->nglobal == 5);
	T_EQ(vs->has_check_queues, p->nglobal == 5);
	ncw = p->nglobal == 5 ? c : 0;
	T_EQ(vs->num_check_workers, ncw);
	T_EQ(s->num_check_workers, p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT ? c : 0);

	/* headers */
	check_alloc_header(p, s->allocs[0], &lg);
	check_alloc_header(p, vs->tpu_alloc, &lg);
	check_queue(p, &p->objects[1], s->tpu_to_pack.format, s->tpu_to_pack.base);
	check_queue(p, &p->objects[2], s->progress.format, s->progress.base);
	if (ncw) {
		check_queue(p, &p->objects[3], s->pack_to_check.format, s->pack_to_check.base);
		check_queue(p, &p->objects[4], s->check_to_pack.format, s->check_to_pack.base);
	}
	for (uint32_t i = 0; i < w; i++) {
		check_queue(p, &p->objects[p->nglobal], s->workers[i].pack_to_worker.format,
			    s->workers[i].pack_to_worker.base);
		check_queue(p, &p->objects[p->nglobal + 1], s->workers[i].worker_to_pack.format,
			    s->workers[i].worker_to_pack.base);
	}

	/* allocator slots as upstream numbers them */
	T_EQ(xs_alloc_worker(vs->tpu_alloc), 0);
	nw = p->alloc_check_slots ? c : 0;
	for (uint32_t k = 0; k < nw; k++)
		T_EQ(xs_alloc_worker(vs->check_allocs[k]), 1 + k);
	for (uint32_t i = 0; i < w; i++)
		T_EQ(xs_alloc_worker(vs->worker_allocs[i]), 1 + nw + i);
	for (uint32_t k = 0; k < s->num_allocs; k++)
		T_EQ(xs_alloc_worker(s->allocs[k]), xs_hs_client_first_slot(p, &lg) + k);
	T_EQ(s->num_allocs, lg.allocator_handles);
	if (ncw && !p->alloc_check_slots) /* VERSION 5: the top of the table */
		for (uint32_t k = 0; k < c; k++)
			T_EQ(xs_alloc_worker(vs->check_allocs[k]),
			     xs_alloc_num_workers(vs->tpu_alloc) - 1 - k);

	/* roles: a message through every queue */
	tpu_sz = elem_of(p, XS_HS_OBJ_TPU_TO_PACK);
	prog_sz = elem_of(p, XS_HS_OBJ_PROGRESS_TRACKER);
	spsc_one(&vs->tpu_to_pack, &s->tpu_to_pack, tpu_sz, 1);
	spsc_one(&vs->progress, &s->progress, prog_sz, 2);
	for (uint32_t i = 0; i < w; i++) {
		spsc_one(&s->workers[i].pack_to_worker, &vs->workers[i].pack_to_worker,
			 elem_of(p, XS_HS_OBJ_PACK_TO_WORKER), 10 + i);
		spsc_one(&vs->workers[i].worker_to_pack, &s->workers[i].worker_to_pack,
			 elem_of(p, XS_HS_OBJ_WORKER_TO_PACK), 20 + i);
	}
	for (uint32_t k = 0; k < ncw; k++) {
		uint32_t ps = elem_of(p, XS_HS_OBJ_PACK_TO_CHECK_WORKER);
		uint32_t cs = elem_of(p, XS_HS_OBJ_CHECK_WORKER_TO_PACK);

		T_EQ(s->pack_to_check.elem_size, ps);
		T_EQ(vs->check_workers[k].pack_to_check.elem_size, ps);
		pattern(in, ps, 40 + k);
		T_OK(xs_mpmc_try_push(&s->pack_to_check, in));
		mpmc_pop(&vs->check_workers[k].pack_to_check, out);
		T_ASSERT(memcmp(in, out, ps) == 0, "check request %u changed", k);
		pattern(in, cs, 50 + k);
		T_OK(xs_mpmc_try_push(&vs->check_workers[k].check_to_pack, in));
		mpmc_pop(&s->check_to_pack, out);
		T_ASSERT(memcmp(in, out, cs) == 0, "check answer %u changed", k);
		/* roles: the client cannot pop its request queue, the server not push it */
		T_ERR(xs_mpmc_try_pop(&s->pack_to_check, out), -XS_EQ_ROLE);
		T_ERR(xs_mpmc_try_push(&vs->check_workers[k].pack_to_check, in), -XS_EQ_ROLE);
	}

	/* the allocator is one file: bytes of the client read by the server */
	ptr = xs_alloc_alloc(s->allocs[s->num_allocs - 1], 300);
	T_ASSERT(ptr != NULL, "client allocation");
	memset(ptr, 0x5A, 300);
	off = xs_alloc_offset(s->allocs[s->num_allocs - 1], ptr);
	{
		void *seen = NULL;

		T_OK(xs_alloc_check(vs->tpu_alloc, off, 300, &seen));
		T_EQ(((uint8_t *)seen)[299], 0x5A);
	}
	T_OK(xs_alloc_free(vs->tpu_alloc, (uint8_t *)xs_alloc_base(vs->tpu_alloc) + off));

	xs_session_close(s);
	xs_vsession_close(vs);
	xs_hs_server_close(r.srv);
	T_EQ(t_fd_count(), fds0);
}

/* ------------------------------------------------------ auto negotiation */

/* Auto negotiation against an xsched server of row @p row: connects on it,
 * the newest generation first. */
static void auto_to(const char *row)
{
	const struct xs_hs_proto *p = xs_hs_proto_by_name(row), *top = xs_hs_proto_by_name("sdk7");
	struct rt_srv r = { .path = th_sock_path(row), .p = p, .C = 2 };
	struct xs_hs_server_opts so;
	struct xs_hs_client_opts co;
	struct xs_hs_report rep;
	struct xs_session *s = NULL;
	struct xs_logon lg = th_logon_small(2); /* a VERSION 2 style logon: no check fields */
	pthread_t th;
	int fds0 = t_fd_count();

	memset(&so, 0, sizeof(so));
	so.path = r.path;
	so.version = p->version;
	so.check_workers = 2;
	T_OK(xs_hs_server_listen(&so, &r.srv));
	T_OK(pthread_create(&th, NULL, serve_thread, &r));
	memset(&co, 0, sizeof(co));
	co.path = r.path;
	co.auto_negotiate = 1;
	co.timeout_ns = 5000000000ull;
	co.report = &rep;
	lg.flags = XS_LOGON_REROUTE_VOTES; /* only VERSION 2 keeps it */
	T_OK(xs_hs_connect(&co, &lg, &s));
	T_OK(pthread_join(th, NULL));
	T_OK(r.rc);
	T_ASSERT(s->proto == p && r.vs->proto == p && rep.proto == p, "auto chose %s, wanted %s",
		 rep.proto ? rep.proto->name : "-", row);
	T_EQ(rep.tried[0], top->version);
	T_EQ(rep.attempts, p == top ? 1 : 2);
	T_EQ(rep.retried, p != top);
	if (p != top) {
		T_EQ(rep.tried[1], p->version);
		T_ASSERT(rep.wants[0], "the server's wish is reported");
	}
	/* the converted logon: check fields only where the row has them */
	T_EQ(r.vs->logon.flags, p->gen == XS_HS_GEN_V2 ? XS_LOGON_REROUTE_VOTES : 0);
	if (p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT)
		T_EQ(r.vs->num_check_workers, 1);
	else if (p->nglobal == 5)
		T_EQ(r.vs->num_check_workers, 2); /* VERSION 5: the server's setting */
	T_EQ(s->num_objects, p->nglobal + 4);
	xs_session_close(s);
	xs_vsession_close(r.vs);
	xs_hs_server_close(r.srv);
	T_EQ(t_fd_count(), fds0);
}

static void t_auto_1(void) { auto_to("1"); }
static void t_auto_2(void) { auto_to("2"); }
static void t_auto_3(void) { auto_to("3"); }
static void t_auto_4(void) { auto_to("4"); }
static void t_auto_5(void) { auto_to("5"); }
static void t_auto_sdk6(void) { auto_to("sdk6"); }
static void t_auto_sdk7(void) { auto_to("sdk7"); }

/* A fake server: answers every connection (up to @c conns) with @c reason. */
struct fake {
	const char *path;
	const char *reason;
	int lfd, conns, served;
	uint8_t got[4][XS_HS_LOGON_BUF];
};

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	uint8_t frame[300];
	int len = xs_hs_encode_failure(f->reason, frame, sizeof(frame));

	for (int i = 0; i < f->conns; i++) {
		int c = accept(f->lfd, NULL, NULL);

		if (c < 0)
			break;
		th_read_exact(c, f->got[i < 4 ? i : 3], XS_HS_LOGON_BUF, 3000);
		T_OK(th_send(c, frame, (size_t)len));
		close(c);
		f->served++;
	}
	return NULL;
}

/* Auto negotiation against a server that wants what xsched lacks: one
 * attempt, -XS_EHS_VERSION, the message names the server's numbers. */
static void auto_unknown(const char *reason, const char *want_in_msg)
{
	struct fake f = { .path = th_sock_path("fake"), .reason = reason, .conns = 1 };
	struct xs_hs_client_opts co;
	struct xs_hs_report rep;
	struct xs_session *s = NULL;
	struct xs_logon lg = th_logon_small(1);
	pthread_t th;
	int fds0 = t_fd_count(), rc;
	uint64_t hs;

	f.lfd = th_listen_raw(f.path, 4);
	T_OK(pthread_create(&th, NULL, fake_thread, &f));
	memset(&co, 0, sizeof(co));
	co.path = f.path;
	co.auto_negotiate = 1;
	co.timeout_ns = 3000000000ull;
	co.report = &rep;
	rc = xs_hs_connect(&co, &lg, &s);
	T_ERR(rc, -XS_EHS_VERSION);
	T_ASSERT(s == NULL, "no session");
	T_ASSERT(strstr(xs_errmsg(), want_in_msg) && strstr(xs_errmsg(), "VERSION 1, 2, 3, 4, 5") &&
		 strstr(xs_errmsg(), "SDK handshake 6, 7"),
		 "message names the server's and xsched's versions: %s", xs_errmsg());
	T_ASSERT(strstr(rep.wants, want_in_msg), "report wants \"%s\"", rep.wants);
	if (getenv("XS_TEST_VERBOSE"))
		printf("%s\n", xs_errmsg());
	T_EQ(rep.attempts, 1);
	T_OK(pthread_join(th, NULL));
	T_EQ(f.served, 1);
	/* the first attempt is the newest generation: an SDK frame */
	memcpy(&hs, f.got[0], 8);
	T_EQ(hs, 7);
	close(f.lfd);
	unlink(f.path);
	T_EQ(t_fd_count(), fds0);
}

static void t_auto_unknown_version(void)
{
	auto_unknown("Version; server=9; client=7", "VERSION 9");
}

static void t_auto_unknown_sdk(void)
{
	auto_unknown("Version; server=(handshake=8, scheduler-bindings=6, shaq=196608, "
		     "rts-alloc=262144); client=(handshake=7, scheduler-bindings=6, shaq=196608, "
		     "rts-alloc=262144)",
		     "(handshake=8, scheduler-bindings=6, shaq=196608, rts-alloc=262144)");
}

/* A server that keeps answering with a generation it then refuses: bounded
 * attempts, then an error. */
static void t_auto_bounded(void)
{
	struct fake f = { .path = th_sock_path("fickle"), .conns = 2 };
	struct xs_hs_client_opts co;
	struct xs_hs_report rep;
	struct xs_session *s = NULL;
	struct xs_logon lg = th_logon_small(1);
	pthread_t th;
	int fds0 = t_fd_count();

	/* every attempt answered with "server=4", whatever was sent: the
	 * second attempt (VERSION 4) is refused naming the version it sent */
	f.reason = "Version; server=4; client=7";
	f.lfd = th_listen_raw(f.path, 8);
	T_OK(pthread_create(&th, NULL, fake_thread, &f));
	memset(&co, 0, sizeof(co));
	co.path = f.path;
	co.auto_negotiate = 1;
	co.timeout_ns = 3000000000ull;
	co.report = &rep;
	T_ERR(xs_hs_connect(&co, &lg, &s), -XS_EHS_VERSION);
	T_EQ(rep.attempts, 2);
	T_EQ(rep.tried[0], 7);
	T_EQ(rep.tried[1], 4);
	T_ASSERT(strstr(xs_errmsg(), "refused before"), "%s", xs_errmsg());
	T_OK(pthread_join(th, NULL));
	T_EQ(f.served, 2);
	close(f.lfd);
	unlink(f.path);
	T_EQ(t_fd_count(), fds0);
}

/* An explicit generation with allow_version_retry against an SDK server of
 * the other number: one retry on the SDK text. */
static void t_retry_sdk(void)
{
	const struct xs_hs_proto *p = xs_hs_proto_by_name("sdk6");
	struct rt_srv r = { .path = th_sock_path("rsdk"), .p = p, .C = 1 };
	struct xs_hs_server_opts so;
	struct xs_hs_client_opts co;
	struct xs_hs_report rep;
	struct xs_session *s = NULL;
	struct xs_logon lg = rows_logon(xs_hs_proto_by_name("sdk7"), 1, 2);
	pthread_t th;

	memset(&so, 0, sizeof(so));
	so.path = r.path;
	so.version = p->version;
	T_OK(xs_hs_server_listen(&so, &r.srv));
	T_OK(pthread_create(&th, NULL, serve_thread, &r));
	memset(&co, 0, sizeof(co));
	co.path = r.path;
	co.version = 7;
	co.allow_version_retry = 1;
	co.timeout_ns = 5000000000ull;
	co.report = &rep;
	T_OK(xs_hs_connect(&co, &lg, &s));
	T_OK(pthread_join(th, NULL));
	T_OK(r.rc);
	T_ASSERT(s->proto == p && rep.retried && rep.attempts == 2, "retried on sdk6");
	T_EQ(s->num_check_workers, 2);
	xs_session_close(s);
	xs_vsession_close(r.vs);
	xs_hs_server_close(r.srv);
}

#define ROW(name, row, w, c) \
	static void t_##name(void) { round_trip(row, w, c); }
ROW(1_w1, "1", 1, 0)
ROW(1_w2, "1", 2, 0)
ROW(2_w1, "2", 1, 0)
ROW(2_w2, "2", 2, 0)
ROW(3_w1, "3", 1, 0)
ROW(3_w2, "3", 2, 0)
ROW(4_w1, "4", 1, 0)
ROW(4_w2, "4", 2, 0)
ROW(5_w1_c1, "5", 1, 1)
ROW(5_w2_c2, "5", 2, 2)
ROW(5_w2_c1, "5", 2, 1)
ROW(sdk7_w1_c1, "sdk7", 1, 1)
ROW(sdk7_w2_c2, "sdk7", 2, 2)
ROW(sdk7_w1_c2, "sdk7", 1, 2)
ROW(sdk6_w1_c1, "sdk6", 1, 1)
ROW(sdk6_w2_c2, "sdk6", 2, 2)
#undef ROW

static const struct th_case cases[] = {
	{ "1_w1", t_1_w1 },
	{ "1_w2", t_1_w2 },
	{ "2_w1", t_2_w1 },
	{ "2_w2", t_2_w2 },
	{ "3_w1", t_3_w1 },
	{ "3_w2", t_3_w2 },
	{ "4_w1", t_4_w1 },
	{ "4_w2", t_4_w2 },
	{ "5_w1_c1", t_5_w1_c1 },
	{ "5_w2_c2", t_5_w2_c2 },
	{ "5_w2_c1", t_5_w2_c1 },
	{ "sdk7_w1_c1", t_sdk7_w1_c1 },
	{ "sdk7_w2_c2", t_sdk7_w2_c2 },
	{ "sdk7_w1_c2", t_sdk7_w1_c2 },
	{ "sdk6_w1_c1", t_sdk6_w1_c1 },
	{ "sdk6_w2_c2", t_sdk6_w2_c2 },
	{ "auto_1", t_auto_1 },
	{ "auto_2", t_auto_2 },
	{ "auto_3", t_auto_3 },
	{ "auto_4", t_auto_4 },
	{ "auto_5", t_auto_5 },
	{ "auto_sdk6", t_auto_sdk6 },
	{ "auto_sdk7", t_auto_sdk7 },
	{ "auto_unknown_version", t_auto_unknown_version },
	{ "auto_unknown_sdk", t_auto_unknown_sdk },
	{ "auto_bounded", t_auto_bounded },
	{ "retry_sdk", t_retry_sdk },
};

int main(int argc, char **argv)
{
	return th_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
