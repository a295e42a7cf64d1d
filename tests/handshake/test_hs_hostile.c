/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: hostile peers of every generation, at the handshake.
 *   srv_<row>     raw clients against a live xsched server of the row: a
 *                 logon cut short, garbage in the version (u64 VERSION or
 *                 the SDK ProtocolVersions), worker_count 0 / 65,
 *                 check_worker_count 0 / 65 (SDK), an allocator size and a
 *                 queue capacity that cannot be represented (sdk7: the SDK
 *                 texts exactly; the others fail at creation with upstream's
 *                 "Rts alloc; err=" / "Shaq; err=" texts); each refused
 *                 with its text, then a good client still gets a session;
 *                 the server leaks no descriptor.
 *   cnt_<row>     a fake server answering a client of the row with one
 *                 descriptor too few, one too many, fewer than the globals,
 *                 none: -XS_EHS_PROTOCOL; with claimed allocator slots the
 *                 client's claims are released again (probe of the file).
 *   fmt_*         a fake server sending objects of another generation: a
 *                 shaq format-3.0 queue to a VERSION 4 client, a format-2.0
 *                 queue to an sdk7 client, a 1.0 queue to a VERSION 1 client
 *                 (a newer format in disguise), an MPMC file where an SPSC
 *                 queue belongs, an rts-alloc format-4.0 allocator to a
 *                 VERSION 4 client, a claim-layout allocator to a VERSION 3
 *                 client, a fixed allocator whose num_workers is not 1 + W + H:
 *                 each an error naming both formats, nothing leaked or
 *                 claimed.
 *   mpmc_<row>    after a real join, each side moves a cursor of a check
 *                 queue out of its window: the other side's next operation
 *                 fails with the sticky -XS_EQ_CORRUPT, no crash.
 * Every case checks /proc/self/fd and the number of mappings before/after.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hs_test.h"
#include "xsched/alloc.h"
#include "xsched/mpmc.h"

/* Lines of /proc/self/maps: mappings of this process. */
static int map_count(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;

	T_ASSERT(f != NULL, "/proc/self/maps");
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static const struct xs_hs_proto *row(const char *name)
{
	const struct xs_hs_proto *p = xs_hs_proto_by_name(name);

	T_ASSERT(p && p->sessions, "row %s", name);
	return p;
}

/* A logon every row accepts, W workers, C check workers where it has them. */
static struct xs_logon good_logon(const struct xs_hs_proto *p, uint32_t w, uint32_t c)
{
	struct xs_logon lg = th_logon_small(w);

	if (p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT)
		lg.check_worker_count = c;
	if (p->field_off[XS_LF_PACK_TO_CHECK_WORKER] != XS_LF_ABSENT) {
		lg.pack_to_check_worker_capacity = 64;
		lg.check_worker_to_pack_capacity = 64;
	}
	return lg;
}

static void put64(uint8_t *b, uint64_t v)
{
	memcpy(b, &v, 8);
}

/* ================================================================ server */

struct srv {
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	struct th_events ev;
	int rc;
};

static void *serve_thread(void *arg)
{
	struct srv *r = arg;

	r->rc = xs_hs_server_serve(r->srv, t_now_ns() + 20000000000ull, &r->vs);
	return NULL;
}

static int refusals; /* raw_expect() calls of the running case */

/* Send @p len bytes of @p buf (then shut the write side), expect the
 * failure frame carrying @p want ("...*": a prefix). */
static void raw_expect(const char *path, const uint8_t *buf, size_t len, const char *want)
{
	uint8_t reply[300];
	int fd = th_connect(path);
	size_t n;

	refusals++;
	T_OK(th_send(fd, buf, len));
	shutdown(fd, SHUT_WR);
	n = th_read_all(fd, reply, sizeof(reply), 5000);
	close(fd);
	T_ASSERT(n >= 2 && reply[0] == XS_HS_LOGON_FAILURE && n == 2u + reply[1],
		 "a failure frame for \"%s\" (%zu bytes)", want, n);
	reply[n] = '\0';
	T_ASSERT(!strcmp((char *)reply + 2, want) ||
		 (want[strlen(want) - 1] == '*' && !strncmp((char *)reply + 2, want, strlen(want) - 1)),
		 "server sent \"%s\", wanted \"%s\"", (char *)reply + 2, want);
}

/* A frame of row @p p with field @p f set to @p v. */
static void frame_with(const struct xs_hs_proto *p, unsigned f, uint64_t v, uint8_t *buf)
{
	struct xs_logon lg = good_logon(p, 2, 2);

	th_encode(p->version, &lg, buf);
	put64(buf + p->logon_off + p->field_off[f], v);
}

static void srv_case(const char *name)
{
	const struct xs_hs_proto *p = row(name);
	struct srv r;
	struct xs_hs_server_opts so;
	struct xs_hs_client_opts co;
	struct xs_session *s = NULL;
	struct xs_logon lg = good_logon(p, 2, 2);
	uint8_t buf[XS_HS_LOGON_BUF];
	char want[300];
	pthread_t th;
	int sdk = p->wire == XS_HS_WIRE_PV, validates = (p->checks & XS_HS_CHECK_ALLOC_SIZE) != 0;

	memset(&r, 0, sizeof(r));
	refusals = 0;
	th_events_init(&r.ev);
	memset(&so, 0, sizeof(so));
	so.path = th_sock_path(name);
	so.version = p->version;
	so.huge = XS_HS_HUGE_NEVER;
	so.on_event = th_on_event;
	so.event_arg = &r.ev;
	T_OK(xs_hs_server_listen(&so, &r.srv));
	T_OK(pthread_create(&th, NULL, serve_thread, &r));

	/* cut short */
	th_encode(p->version, &lg, buf);
	raw_expect(so.path, buf, 100, "Close during handshake");
	raw_expect(so.path, buf, 0, "Close during handshake");
	/* garbage version */
	memset(buf, 0xA5, sdk ? XS_HS_PV_SIZE : 8);
	if (sdk)
		snprintf(want, sizeof(want),
			 "Version; server=(handshake=%" PRIu64 ", scheduler-bindings=%" PRIu64
			 ", shaq=%" PRIu64 ", rts-alloc=%" PRIu64 "); client=(handshake=%" PRIu64
			 ", scheduler-bindings=%" PRIu64 ", shaq=%" PRIu64 ", rts-alloc=%" PRIu64 ")",
			 p->pv.handshake, p->pv.scheduler_bindings, p->pv.shaq, p->pv.rts_alloc,
			 (uint64_t)0xA5A5A5A5A5A5A5A5ull, (uint64_t)0xA5A5A5A5A5A5A5A5ull, (uint64_t)0xA5A5A5A5A5A5A5A5ull,
			 (uint64_t)0xA5A5A5A5A5A5A5A5ull);
	else
		snprintf(want, sizeof(want), "Version; server=%u; client=%" PRIu64, p->version,
			 (uint64_t)0xA5A5A5A5A5A5A5A5ull);
	raw_expect(so.path, buf, sizeof(buf), want);
	/* counts */
	for (int k = 0; k < 2; k++) {
		uint64_t v = k ? 65 : 0;

		frame_with(p, XS_LF_WORKER_COUNT, v, buf);
		snprintf(want, sizeof(want), "Worker count; count=%" PRIu64, v);
		raw_expect(so.path, buf, sizeof(buf), want);
		if (p->field_off[XS_LF_CHECK_WORKER_COUNT] != XS_LF_ABSENT) {
			frame_with(p, XS_LF_CHECK_WORKER_COUNT, v, buf);
			snprintf(want, sizeof(want), "Check worker count; count=%" PRIu64, v);
			raw_expect(so.path, buf, sizeof(buf), want);
		}
		frame_with(p, XS_LF_ALLOCATOR_HANDLES, k ? 129 : 0, buf);
		snprintf(want, sizeof(want), "Allocator handles; count=%u", k ? 129 : 0);
		raw_expect(so.path, buf, sizeof(buf), want);
	}
	/* sizes that cannot be represented */
	frame_with(p, XS_LF_ALLOCATOR_SIZE, UINT64_MAX, buf);
	raw_expect(so.path, buf, sizeof(buf),
		   validates ? "Allocator size cannot be represented; size=18446744073709551615"
			     : "Rts alloc; err=*");
	frame_with(p, XS_LF_TPU_TO_PACK, 1ull << 62, buf);
	raw_expect(so.path, buf, sizeof(buf),
		   validates ? "Queue capacity cannot be represented; field=tpu_to_pack_capacity, "
			       "capacity=4611686018427387904"
		   /* VERSION 1 takes byte sizes as given: a file that big fails as Io or Mmap */
		   : p->units == XS_LOGON_BYTES ? "Shaq; err=*"
		   : "Shaq; err=InvalidBufferSize");
	if (p->field_off[XS_LF_CHECK_WORKER_TO_PACK] != XS_LF_ABSENT) {
		frame_with(p, XS_LF_CHECK_WORKER_TO_PACK, UINT64_MAX, buf);
		raw_expect(so.path, buf, sizeof(buf),
			   validates ? "Queue capacity cannot be represented; "
				       "field=check_worker_to_pack_capacity, capacity=18446744073709551615"
				     : "Shaq; err=InvalidBufferSize");
	}

	/* and the server still serves */
	memset(&co, 0, sizeof(co));
	co.path = so.path;
	co.version = p->version;
	co.timeout_ns = 5000000000ull;
	T_OK(xs_hs_connect(&co, &lg, &s));
	T_OK(pthread_join(th, NULL));
	T_OK(r.rc);
	T_ASSERT(th_events_count(&r.ev) == refusals, "every refusal reported (%d of %d)",
		 th_events_count(&r.ev), refusals);
	xs_session_close(s);
	xs_vsession_close(r.vs);
	xs_hs_server_close(r.srv);
}

/* ================================================================ fake server */

/* The objects a fake server sends: made by the xsched server code of a row
 * for @p lg (as that row's server reads it), without a socket. */
struct objs {
	struct xs_vsession *vs;
	int fds[XS_HS_MAX_FDS];
	uint32_t n;
};

static void make_objs(struct objs *o, const struct xs_hs_proto *p, const struct xs_logon *lg)
{
	uint8_t buf[XS_HS_LOGON_BUF];
	struct xs_logon srv;
	char reason[256];

	th_encode(p->version, lg, buf);
	T_OK(xs_hs_parse_logon(buf, sizeof(buf), p->version, &srv, reason, sizeof(reason)));
	if (p->nglobal == 5 && !srv.check_worker_count)
		srv.check_worker_count = 1; /* VERSION 5: the server's own setting */
	T_OK(xs_hs_objects_create(p->version, &srv, XS_HS_HUGE_NEVER, 1, &o->vs, o->fds, reason,
				  sizeof(reason)));
	o->n = o->vs->num_objects;
}

static void free_objs(struct objs *o)
{
	for (uint32_t i = 0; i < o->n; i++)
		close(o->fds[i]);
	xs_vsession_close(o->vs);
}

struct fake {
	const char *path;
	int lfd;
	const int *fds;
	int n;
};

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	uint8_t logon[XS_HS_LOGON_BUF];
	int c = accept(f->lfd, NULL, NULL);

	T_ASSERT(c >= 0, "accept");
	th_read_exact(c, logon, sizeof(logon), 5000);
	T_EQ(th_send_fds(c, "\x01", 1, f->fds, f->n), 0);
	close(c);
	return NULL;
}

/* A client of row @p p with logon @p lg against a fake server sending
 * fds[0..n): @return xs_hs_connect()'s result (the session must not exist). */
static int fake_connect(const struct xs_hs_proto *p, const struct xs_logon *lg, const int *fds,
			int n, struct xs_hs_report *rep)
{
	struct fake f = { .path = th_sock_path("fake"), .fds = fds, .n = n };
	struct xs_hs_client_opts co;
	struct xs_session *s = NULL;
	pthread_t th;
	int rc;

	f.lfd = th_listen_raw(f.path, 4);
	T_OK(pthread_create(&th, NULL, fake_thread, &f));
	memset(&co, 0, sizeof(co));
	co.path = f.path;
	co.version = p->version;
	co.timeout_ns = 5000000000ull;
	co.report = rep;
	rc = xs_hs_connect(&co, lg, &s);
	T_OK(pthread_join(th, NULL));
	close(f.lfd);
	unlink(f.path);
	if (rc == 0)
		xs_session_close(s);
	return rc;
}

/* Slots of the allocator file marked claimed right now. */
static uint32_t claimed(int fd)
{
	struct xs_alloc_info ai;

	T_OK(xs_alloc_probe_fd(fd, &ai));
	return ai.claimed;
}

static void cnt_case(const char *name)
{
	const struct xs_hs_proto *p = row(name);
	struct xs_logon lg = good_logon(p, 2, 2);
	struct xs_hs_report rep;
	struct objs o;
	uint32_t server_slots;
	int all[XS_HS_MAX_FDS + 1];
	const int counts[] = { -1, +1, 0, 0 };

	lg.allocator_handles = 3;
	make_objs(&o, p, &lg);
	T_EQ(o.n, p->nglobal + 4);
	server_slots = p->alloc_join == XS_HS_JOIN_CLAIM ? claimed(o.fds[0]) : 0;
	memcpy(all, o.fds, sizeof(int) * o.n);
	all[o.n] = o.fds[1]; /* one more: any descriptor */
	for (int k = 0; k < 4; k++) {
		int n = k < 2 ? (int)o.n + counts[k] : k == 2 ? (int)p->nglobal - 1 : 0;
		int rc = fake_connect(p, &lg, all, n, &rep);

		T_ASSERT(rc == -XS_EHS_PROTOCOL || (n == 0 && rc == -XS_EHS_PROTOCOL),
			 "%s with %d descriptors: %d (%s) [%s]", name, n, rc, xs_strerror(rc), xs_errmsg());
		if (p->alloc_join == XS_HS_JOIN_CLAIM) {
			/* claimed before the count check (n >= the globals), released again */
			T_EQ(claimed(o.fds[0]), server_slots);
			if (n >= (int)p->nglobal)
				T_ASSERT(strstr(xs_errmsg(), "released"), "%s", xs_errmsg());
		}
	}
	/* the objects were fine: the right count joins */
	T_OK(fake_connect(p, &lg, all, (int)o.n, &rep));
	if (p->alloc_join == XS_HS_JOIN_CLAIM)
		T_EQ(claimed(o.fds[0]), server_slots);
	free_objs(&o);
}

/* ================================================================ formats */

/*
 * A client of row @p client_row (W 1, H 1) receives the objects of a
 * session of that row, with descriptor @p idx replaced by descriptor
 * @p from_idx of a session of row @p from_row (@p from_h handles): the
 * error names both formats (@p want in xs_errmsg()).
 */
static void fmt_once(const char *client_row, const char *from_row, uint32_t idx,
		     uint32_t from_idx, uint64_t from_h, int want_rc, const char *want)
{
	const struct xs_hs_proto *p = row(client_row), *q = row(from_row);
	struct xs_logon lg = good_logon(p, 1, 1), lq = good_logon(q, 1, 1);
	struct xs_hs_report rep;
	struct objs a, b;
	int rc;
	uint32_t slots;
	int mix[XS_HS_MAX_FDS];

	lq.allocator_handles = from_h;
	make_objs(&a, p, &lg);
	make_objs(&b, q, &lq);
	memcpy(mix, a.fds, sizeof(int) * a.n);
	mix[idx] = b.fds[from_idx];
	slots = idx == 0 ? claimed(b.fds[0]) : p->alloc_join == XS_HS_JOIN_CLAIM ? claimed(a.fds[0]) : 0;
	rc = fake_connect(p, &lg, mix, (int)a.n, &rep);
	T_ASSERT(rc == want_rc && strstr(xs_errmsg(), want),
		 "client %s, descriptor %u from %s: %d (%s) [%s], wanted %d [%s]", client_row, idx,
		 from_row, rc, xs_strerror(rc), xs_errmsg(), want_rc, want);
	T_EQ(rep.fd_index, (int)idx);
	/* nothing claimed by the refused client */
	if (idx == 0 || p->alloc_join == XS_HS_JOIN_CLAIM)
		T_EQ(claimed(idx == 0 ? b.fds[0] : a.fds[0]), slots);
	free_objs(&a);
	free_objs(&b);
}

/* fmt_once() twice; the second run must leave descriptors and mappings as
 * it found them. */
static void fmt_case(const char *client_row, const char *from_row, uint32_t idx,
		     uint32_t from_idx, uint64_t from_h, int want_rc, const char *want)
{
	int fds0, maps0;

	fmt_once(client_row, from_row, idx, from_idx, from_h, want_rc, want);
	fds0 = t_fd_count();
	maps0 = map_count();
	fmt_once(client_row, from_row, idx, from_idx, from_h, want_rc, want);
	T_EQ(t_fd_count(), fds0);
	T_EQ(map_count(), maps0);
}

static void t_fmt_v4_gets_shaq3(void)
{
	fmt_case("4", "sdk7", 1, 1, 1, -XS_EHS_QUEUE,
		 "descriptor 1 (tpu_to_pack): shaq format 3.0 SPSC, generation 4 expects format 2.0 SPSC");
}

static void t_fmt_sdk7_gets_shaq2(void)
{
	/* a VERSION 4 worker_to_pack (format 2.0) where sdk7's worker_to_pack belongs */
	fmt_case("sdk7", "4", 6, 4, 1, -XS_EHS_QUEUE,
		 "descriptor 6 (worker_to_pack): shaq format 2.0 SPSC, generation sdk7 expects "
		 "format 3.0 SPSC");
}

static void t_fmt_v1_gets_shaq10(void)
{
	/* a 1.0 file (version byte 1) is not a 0.2 file */
	fmt_case("1", "2", 3, 3, 1, -XS_EHS_QUEUE,
		 "descriptor 3 (pack_to_worker): shaq format 1.0 SPSC, generation 1 expects format "
		 "0.2 SPSC");
}

static void t_fmt_v2_gets_shaq2(void)
{
	/* a format-2.0 file has a magic: no 1.0 file in disguise */
	fmt_case("2", "4", 2, 2, 1, -XS_EHS_QUEUE,
		 "descriptor 2 (progress_tracker): shaq format 2.0 SPSC, generation 2 expects format "
		 "1.0 SPSC");
}

static void t_fmt_mpmc_for_spsc(void)
{
	fmt_case("sdk7", "sdk7", 1, 3, 1, -XS_EHS_QUEUE,
		 "descriptor 1 (tpu_to_pack): shaq format 3.0 MPMC, generation sdk7 expects format "
		 "3.0 SPSC");
}

static void t_fmt_spsc_for_mpmc(void)
{
	fmt_case("5", "5", 4, 1, 1, -XS_EHS_QUEUE,
		 "descriptor 4 (check_worker_to_pack): shaq format 2.0 SPSC, generation 5 expects "
		 "format 2.0 MPMC");
}

static void t_fmt_v4_gets_alloc4(void)
{
	fmt_case("4", "sdk7", 0, 0, 1, -XS_EHS_ALLOC,
		 "descriptor 0 (allocator): rts-alloc format 4.0 (header version 0x00040000), "
		 "generation 4 expects rts-alloc format 3.0");
}

static void t_fmt_v3_gets_claim_alloc(void)
{
	fmt_case("3", "4", 0, 0, 1, -XS_EHS_ALLOC,
		 "descriptor 0 (allocator): rts-alloc format 3.0 (header version 0x00030000), "
		 "generation 3 expects rts-alloc format 2.0");
}

static void t_fmt_v2_alloc_workers(void)
{
	/* the right format, but laid out for 1 + 1 + 3 workers, not 1 + W + H = 3 */
	fmt_case("2", "2", 0, 0, 3, -XS_EHS_ALLOC,
		 "descriptor 0 (allocator): header num_workers 5, generation 2 expects 3");
}

static void t_fmt_queue_as_alloc(void)
{
	fmt_case("5", "5", 0, 1, 1, -XS_EHS_ALLOC, "descriptor 0 (allocator): no rts-alloc header");
}

/* ================================================================ MPMC cursors */

static void *serve_once(void *arg)
{
	struct srv *r = arg;

	r->rc = xs_hs_server_serve(r->srv, t_now_ns() + 10000000000ull, &r->vs);
	return NULL;
}

static void mpmc_case(const char *name)
{
	const struct xs_hs_proto *p = row(name);
	struct srv r;
	struct xs_hs_server_opts so;
	struct xs_hs_client_opts co;
	struct xs_session *s = NULL;
	struct xs_logon lg = good_logon(p, 1, 2);
	uint8_t m[64];
	pthread_t th;
	struct xs_mpmc *srv_req, *srv_ans;

	memset(&r, 0, sizeof(r));
	memset(&so, 0, sizeof(so));
	so.path = th_sock_path(name);
	so.version = p->version;
	so.check_workers = 2;
	so.huge = XS_HS_HUGE_NEVER;
	T_OK(xs_hs_server_listen(&so, &r.srv));
	T_OK(pthread_create(&th, NULL, serve_once, &r));
	memset(&co, 0, sizeof(co));
	co.path = so.path;
	co.version = p->version;
	co.timeout_ns = 5000000000ull;
	T_OK(xs_hs_connect(&co, &lg, &s));
	T_OK(pthread_join(th, NULL));
	T_OK(r.rc);
	srv_req = &r.vs->check_workers[1].pack_to_check;
	srv_ans = &r.vs->check_workers[0].check_to_pack;
	memset(m, 0, sizeof(m));

	/* traffic first: one request, one answer */
	T_OK(xs_mpmc_try_push(&s->pack_to_check, m));
	T_OK(xs_mpmc_try_pop(srv_req, m));
	T_OK(xs_mpmc_try_push(srv_ans, m));
	T_OK(xs_mpmc_try_pop(&s->check_to_pack, m));

	/* the server publishes far past what it reserved: the client's pop
	 * sees more than the capacity (corrupt, sticky) */
	__atomic_store_n(srv_ans->done, *srv_ans->done + (1ull << 40), __ATOMIC_RELEASE);
	T_ERR(xs_mpmc_try_pop(&s->check_to_pack, m), -XS_EQ_CORRUPT);
	T_ERR(xs_mpmc_try_pop(&s->check_to_pack, m), -XS_EQ_CORRUPT);
	T_ASSERT(xs_errmsg()[0], "detail recorded");
	/* the server's consumers release past the producer: the client's push */
	__atomic_store_n(srv_req->done, *srv_req->done + (1ull << 40), __ATOMIC_RELEASE);
	__atomic_store_n(srv_req->res, *srv_req->res + (1ull << 40), __ATOMIC_RELEASE);
	T_ERR(xs_mpmc_try_push(&s->pack_to_check, m), -XS_EQ_CORRUPT);
	/* and a client that publishes requests it never reserved: the server's
	 * check worker (another handle) refuses */
	{
		struct xs_mpmc *other = &r.vs->check_workers[0].pack_to_check;
		int rc;

		__atomic_store_n(s->pack_to_check.done, *s->pack_to_check.done + (1ull << 41),
				 __ATOMIC_RELEASE);
		rc = xs_mpmc_try_pop(other, m);
		T_ASSERT(rc == -XS_EQ_CORRUPT, "server check worker: %d (%s)", rc, xs_strerror(rc));
	}
	xs_session_close(s);
	xs_vsession_close(r.vs);
	xs_hs_server_close(r.srv);
}

/* ================================================================ cases */

/*
 * Run @p fn twice and check that the second run leaves the descriptors and
 * the mappings as it found them (the first run warms up what the C library
 * keeps on purpose: thread stacks, malloc arenas).
 */
static void twice(void (*fn)(const char *), const char *arg)
{
	int fds0, maps0;

	fn(arg);
	fds0 = t_fd_count();
	maps0 = map_count();
	fn(arg);
	T_EQ(t_fd_count(), fds0);
	T_EQ(map_count(), maps0);
}

#define ROWCASES(r, tag)                                                      \
	static void t_srv_##tag(void) { twice(srv_case, r); }                \
	static void t_cnt_##tag(void) { twice(cnt_case, r); }
ROWCASES("1", 1)
ROWCASES("2", 2)
ROWCASES("3", 3)
ROWCASES("4", 4)
ROWCASES("5", 5)
ROWCASES("sdk6", sdk6)
ROWCASES("sdk7", sdk7)
#undef ROWCASES
static void t_mpmc_5(void) { twice(mpmc_case, "5"); }
static void t_mpmc_sdk6(void) { twice(mpmc_case, "sdk6"); }
static void t_mpmc_sdk7(void) { twice(mpmc_case, "sdk7"); }

static const struct th_case cases[] = {
	{ "srv_1", t_srv_1 }, { "srv_2", t_srv_2 }, { "srv_3", t_srv_3 }, { "srv_4", t_srv_4 },
	{ "srv_5", t_srv_5 }, { "srv_sdk6", t_srv_sdk6 }, { "srv_sdk7", t_srv_sdk7 },
	{ "cnt_1", t_cnt_1 }, { "cnt_2", t_cnt_2 }, { "cnt_3", t_cnt_3 }, { "cnt_4", t_cnt_4 },
	{ "cnt_5", t_cnt_5 }, { "cnt_sdk6", t_cnt_sdk6 }, { "cnt_sdk7", t_cnt_sdk7 },
	{ "fmt_v4_gets_shaq3", t_fmt_v4_gets_shaq3 },
	{ "fmt_sdk7_gets_shaq2", t_fmt_sdk7_gets_shaq2 },
	{ "fmt_v1_gets_shaq10", t_fmt_v1_gets_shaq10 },
	{ "fmt_v2_gets_shaq2", t_fmt_v2_gets_shaq2 },
	{ "fmt_mpmc_for_spsc", t_fmt_mpmc_for_spsc },
	{ "fmt_spsc_for_mpmc", t_fmt_spsc_for_mpmc },
	{ "fmt_v4_gets_alloc4", t_fmt_v4_gets_alloc4 },
	{ "fmt_v3_gets_claim_alloc", t_fmt_v3_gets_claim_alloc },
	{ "fmt_v2_alloc_workers", t_fmt_v2_alloc_workers },
	{ "fmt_queue_as_alloc", t_fmt_queue_as_alloc },
	{ "mpmc_5", t_mpmc_5 }, { "mpmc_sdk6", t_mpmc_sdk6 }, { "mpmc_sdk7", t_mpmc_sdk7 },
};

int main(int argc, char **argv)
{
	return th_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
