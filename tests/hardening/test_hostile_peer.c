/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Hostile peers against a real session: an xsched server and an xsched
 * client in two processes (handshake, sealed memfds, shaq queues, rts-alloc
 * file), one of them scripted to misbehave step by step, the other (the
 * victim, this process) checking that each misbehaviour is reported with
 * its own error, that it does not crash, and that the rest of its traffic
 * keeps flowing. Run under ASan in the sanitizer pass.
 *
 *   client_victim  the server writes: TpuToPack outside the file, not at a
 *                  slot, past its slot, the same transaction twice; a bad
 *                  leader_state; responses with a wrong count, a forged
 *                  batch, a replay; counters backwards and past capacity.
 *                  The client also catches its own double free.
 *   server_victim  the client writes: batches of 65, a batch array outside
 *                  the file, a region not at a slot, undefined flags; frees
 *                  a transaction twice and one never allocated; moves
 *                  counters backwards and past its producer's write.
 *
 * Every generation: "<case>_<row>" (row 1 .. 5, sdk6, sdk7; the bare names
 * are VERSION 2) runs the same script in that generation's session (its
 * shaq format, allocator format and claims, message layouts and codes),
 * checked with the bindings-generic validators of xsched/guard.h.
 */
#include "peer_util.h"
#include "xsched/alloc.h"
#include "xsched/guard.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define W 2

/* The generation of the run: its row, bindings and message layout. */
static struct {
	const struct xs_hs_proto *p;
	const struct xs_bindings *b;
	unsigned bid;           /* enum xs_bindings_id */
	uint32_t slot_off;      /* ProgressMessage.current_slot: 8 (48-byte layouts) or 16 */
	uint32_t resp_size;     /* ExecutionResponse */
} G;

static void gen_init(const char *row)
{
	G.p = xs_hs_proto_by_name(row);
	T_ASSERT(G.p && G.p->sessions, "row %s", row);
	G.bid = G.p->bindings;
	G.b = xs_bindings_get(G.bid);
	T_ASSERT(G.b != NULL, "bindings %u", G.bid);
	G.slot_off = G.b->size[XS_MSG_PROGRESS] == 48 ? 8 : 16;
	G.resp_size = G.b->size[XS_MSG_EXEC_RESPONSE];
	pu_use_version(G.p->version);
}

/* Raw messages of the generation: every queue element fits 128 bytes. */
struct raw {
	_Alignas(8) uint8_t b[128];
};

static struct raw progress_msg(uint8_t leader_state, uint64_t slot)
{
	struct raw m;

	memset(&m, 0, sizeof(m));
	m.b[0] = leader_state; /* @0 in every layout */
	memcpy(m.b + G.slot_off, &slot, 8);
	return m;
}

static uint64_t progress_slot(const struct raw *m)
{
	uint64_t v;

	memcpy(&v, m->b + G.slot_off, 8);
	return v;
}

/* An execution request: flags @0 (the execute kind: VERSION 1 NONE = 0,
 * VERSION 2-5 EXECUTE = 1, bindings 6 none) plus @p extra_flags, the slot
 * @8, the batch @16. */
static struct raw req_msg(uint16_t extra_flags, uint64_t slot, struct xs_batch_region b)
{
	struct raw m;
	uint16_t flags = (uint16_t)(G.b->kind_exec | extra_flags);

	memset(&m, 0, sizeof(m));
	memcpy(m.b, &flags, 2);
	memcpy(m.b + 8, &slot, 8);
	memcpy(m.b + 16, &b, sizeof(b));
	return m;
}

static struct xs_batch_region req_batch(const struct raw *m)
{
	struct xs_batch_region b;

	memcpy(&b, m->b + 16, sizeof(b));
	return b;
}

/* An execution answer: batch @0, code @16, responses @24 (tagged: tag,
 * count, offset @32; bindings 6: count, offset @32). */
static struct raw w2p_msg(struct xs_batch_region b, uint8_t code, uint8_t n, uint64_t resp)
{
	struct raw m;

	memset(&m, 0, sizeof(m));
	memcpy(m.b, &b, sizeof(b));
	m.b[16] = code;
	if (G.b->tagged) {
		m.b[24] = G.b->tag_exec;
		m.b[25] = n;
	} else {
		m.b[24] = n;
	}
	memcpy(m.b + 32, &resp, 8);
	return m;
}

static uint8_t w2p_code(const struct raw *m)
{
	return m->b[16];
}

/* The answer to a request, checked as pack does (generic validator). */
static int check_answer(const struct xs_alloc *a, const struct raw *r, const struct raw *sent,
			struct xs_resp_view *v)
{
	return xs_msg_check_response(G.bid, XS_MSG_WORKER_TO_PACK, a, r->b, sent ? sent->b : NULL, v);
}

struct ctx {
	const char *path;
	int ch; /* this process's end of the step channel */
};

static void expect_err(int got, int want, const char *what)
{
	T_ASSERT(got == want, "%s: got %d (%s), wanted %d (%s) [%s]", what, got, xs_strerror(got),
		 want, xs_strerror(want), xs_errmsg());
	T_ASSERT(xs_errmsg()[0] != '\0', "%s: no detail recorded", what);
}

static struct xs_tpu_to_pack tpu_msg(uint64_t off, uint32_t len)
{
	struct xs_tpu_to_pack m;

	memset(&m, 0, sizeof(m));
	m.transaction.offset = off;
	m.transaction.length = len;
	m.src_addr[10] = m.src_addr[11] = 0xff;
	return m;
}

/* =================================================== the client is the victim */

enum {
	C_READY = 1, C_GOOD_TX, C_OUTSIDE, C_NOT_SLOT, C_PAST_SLOT, C_TWICE, C_PROGRESS,
	C_TXS, C_P2W, C_BAD_COUNT, C_FORGED, C_GOOD_RESP, C_COUNTERS, C_ALIVE,
	C_P2W2, C_DONE,
	ACK = 1000,
};

/* Attacker: a server that writes garbage into what it produces. */
static void evil_server(void *arg)
{
	struct ctx *c = arg;
	struct xs_hs_server *srv = pu_listen(c->path);
	struct xs_vsession *vs;
	struct xs_alloc *t, *w0;
	struct xs_tpu_to_pack m;
	struct raw pr, req, good, bad;
	struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH];
	uint64_t tx, resp, resp2;
	int i;

	pu_send(c->ch, C_READY);
	vs = pu_serve(srv);
	t = vs->tpu_alloc;
	w0 = vs->worker_allocs[0];

	tx = pu_alloc(t, 300, 0xa1);
	m = tpu_msg(tx, 300);
	pu_push(&vs->tpu_to_pack, &m);
	pu_send(c->ch, C_GOOD_TX);
	pu_expect(c->ch, ACK + C_GOOD_TX);

	m = tpu_msg(vs->allocator_size + 4096, 100);
	pu_push(&vs->tpu_to_pack, &m);
	pu_send(c->ch, C_OUTSIDE);
	pu_expect(c->ch, ACK + C_OUTSIDE);

	tx = pu_alloc(t, 300, 0xa2);
	m = tpu_msg(tx + 8, 100);
	pu_push(&vs->tpu_to_pack, &m);
	pu_send(c->ch, C_NOT_SLOT);
	pu_expect(c->ch, ACK + C_NOT_SLOT);

	m = tpu_msg(tx, 4000); /* a 512-byte slot */
	pu_push(&vs->tpu_to_pack, &m);
	pu_send(c->ch, C_PAST_SLOT);
	pu_expect(c->ch, ACK + C_PAST_SLOT);

	tx = pu_alloc(t, 300, 0xa3);
	m = tpu_msg(tx, 300);
	pu_push(&vs->tpu_to_pack, &m);
	pu_push(&vs->tpu_to_pack, &m);
	pu_send(c->ch, C_TWICE);
	pu_expect(c->ch, ACK + C_TWICE);

	pr = progress_msg(7, 0);
	pu_push(&vs->progress, &pr);
	pr = progress_msg(1, 1000); /* IS_LEADER (VERSION 1, 2), LEADER_STARTING (3 and later) */
	pu_push(&vs->progress, &pr);
	pu_send(c->ch, C_PROGRESS);
	pu_expect(c->ch, ACK + C_PROGRESS);

	for (i = 0; i < 3; i++) {
		m = tpu_msg(pu_alloc(t, 300, 0xb0 + i), 300);
		pu_push(&vs->tpu_to_pack, &m);
	}
	pu_send(c->ch, C_TXS);
	pu_expect(c->ch, C_P2W);

	/* the request is fine (checked as a validator would) ... */
	pu_pop(&vs->workers[0].pack_to_worker, &req);
	T_EQ(xs_msg_check_request(G.bid, XS_MSG_PACK_TO_WORKER, w0, req.b, txs, NULL), 2);
	resp = pu_alloc(w0, 2 * G.resp_size, 0);
	resp2 = pu_alloc(w0, 2 * G.resp_size, 0);
	/* ... the responses are not */
	bad = w2p_msg(req_batch(&req), G.b->code_processed, 3, resp);
	pu_push(&vs->workers[0].worker_to_pack, &bad);
	pu_send(c->ch, C_BAD_COUNT);
	pu_expect(c->ch, ACK + C_BAD_COUNT);

	bad = w2p_msg((struct xs_batch_region){.num_transactions = 2, .transactions_offset = resp2},
		      G.b->code_processed, 2, resp);
	pu_push(&vs->workers[0].worker_to_pack, &bad);
	pu_send(c->ch, C_FORGED);
	pu_expect(c->ch, ACK + C_FORGED);

	/* the real response, then the same response again (a replay) */
	good = w2p_msg(req_batch(&req), G.b->code_processed, 2, resp);
	pu_push(&vs->workers[0].worker_to_pack, &good);
	pu_push(&vs->workers[0].worker_to_pack, &good);
	pu_send(c->ch, C_GOOD_RESP);
	pu_expect(c->ch, ACK + C_GOOD_RESP);

	/* counters: tpu_to_pack's write moves backwards, worker 1's
	 * worker_to_pack write jumps past the capacity */
	__atomic_store_n(vs->tpu_to_pack.wr, vs->tpu_to_pack.published - 2,
			 __ATOMIC_RELEASE);
	__atomic_store_n(vs->workers[1].worker_to_pack.wr,
			 xs_spsc_capacity(&vs->workers[1].worker_to_pack) + 5, __ATOMIC_RELEASE);
	pu_send(c->ch, C_COUNTERS);
	pu_expect(c->ch, ACK + C_COUNTERS);

	/* the rest of the session still works */
	pr = progress_msg(1, 1001);
	pu_push(&vs->progress, &pr);
	pu_send(c->ch, C_ALIVE);
	pu_expect(c->ch, C_P2W2);
	pu_pop(&vs->workers[0].pack_to_worker, &req);
	T_EQ(xs_msg_check_request(G.bid, XS_MSG_PACK_TO_WORKER, w0, req.b, txs, NULL), 1);
	resp = pu_alloc(w0, G.resp_size, 0);
	good = w2p_msg(req_batch(&req), G.b->code_processed, 1, resp);
	pu_push(&vs->workers[0].worker_to_pack, &good);
	pu_send(c->ch, C_P2W2);
	pu_expect(c->ch, C_DONE);
	/* the client freed what it owned: take those slots back */
	T_ASSERT(xs_alloc_clean_remote(t) >= 0, "%s", xs_errmsg());
	xs_vsession_close(vs);
	xs_hs_server_close(srv);
}

static void client_victim(void)
{
	static struct xs_resp_view v, v2;
	struct ctx c = {.path = pu_sock_path("cv")};
	struct xs_logon lg = pu_logon(W);
	struct xs_session *s;
	struct xs_alloc *a;
	struct xs_ledger l;
	struct xs_tpu_to_pack m;
	struct raw pr, r, req, req2;
	struct xs_tx_region *batch;
	const uint8_t *bytes;
	uint64_t held[3], boff, b2;
	int ch[2], fds = t_fd_count(), i;
	pid_t pid;

	pu_chan(ch);
	c.ch = ch[1];
	pid = pu_fork(evil_server, &c);
	close(ch[1]);
	c.ch = ch[0];
	pu_expect(c.ch, C_READY);
	s = pu_connect(c.path, &lg);
	T_EQ(s->peer_pid, pid);
	a = s->allocs[0];
	T_OK(xs_ledger_init_alloc(&l, a));

	/* a good transaction: checked, owned, read, freed */
	pu_expect(c.ch, C_GOOD_TX);
	pu_pop(&s->tpu_to_pack, &m);
	T_OK(xs_msg_check_tpu_b(G.bid, a, &m, &bytes));
	T_EQ(bytes[0], 0xa1);
	T_EQ(bytes[299], 0xa1);
	T_OK(xs_guard_accept_tpu(&l, &m));
	T_OK(xs_guard_free(&l, a, m.transaction.offset));
	pu_send(c.ch, ACK + C_GOOD_TX);

	pu_expect(c.ch, C_OUTSIDE);
	pu_pop(&s->tpu_to_pack, &m);
	expect_err(xs_msg_check_tpu_b(G.bid, a, &m, &bytes), -XS_EA_OFFSET, "offset outside the file");
	pu_send(c.ch, ACK + C_OUTSIDE);

	pu_expect(c.ch, C_NOT_SLOT);
	pu_pop(&s->tpu_to_pack, &m);
	expect_err(xs_msg_check_tpu_b(G.bid, a, &m, &bytes), -XS_EA_NOT_SLOT, "offset not at a slot");
	pu_send(c.ch, ACK + C_NOT_SLOT);

	pu_expect(c.ch, C_PAST_SLOT);
	pu_pop(&s->tpu_to_pack, &m);
	expect_err(xs_msg_check_tpu_b(G.bid, a, &m, &bytes), -XS_EA_LENGTH, "length past the slot");
	pu_send(c.ch, ACK + C_PAST_SLOT);

	/* the same transaction handed over twice; then our own double free */
	pu_expect(c.ch, C_TWICE);
	pu_pop(&s->tpu_to_pack, &m);
	T_OK(xs_msg_check_tpu_b(G.bid, a, &m, NULL));
	T_OK(xs_guard_accept_tpu(&l, &m));
	pu_pop(&s->tpu_to_pack, &m);
	T_OK(xs_msg_check_tpu_b(G.bid, a, &m, NULL));
	expect_err(xs_guard_accept_tpu(&l, &m), -XS_EMSG_OWNED_TWICE, "transaction sent twice");
	T_OK(xs_guard_free(&l, a, m.transaction.offset));
	expect_err(xs_guard_free(&l, a, m.transaction.offset), -XS_EMSG_DOUBLE_FREE, "double free");
	pu_send(c.ch, ACK + C_TWICE);

	pu_expect(c.ch, C_PROGRESS);
	pu_pop(&s->progress, &pr);
	expect_err(xs_msg_check_progress_b(G.bid, pr.b), -XS_EMSG_LEADER_STATE,
		   "leader_state 7");
	pu_pop(&s->progress, &pr);
	T_OK(xs_msg_check_progress_b(G.bid, pr.b));
	T_EQ(progress_slot(&pr), 1000);
	pu_send(c.ch, ACK + C_PROGRESS);

	/* three transactions; a batch of two goes to worker 0 */
	pu_expect(c.ch, C_TXS);
	for (i = 0; i < 3; i++) {
		pu_pop(&s->tpu_to_pack, &m);
		T_OK(xs_msg_check_tpu_b(G.bid, a, &m, NULL));
		T_OK(xs_guard_accept_tpu(&l, &m));
		held[i] = m.transaction.offset;
	}
	boff = pu_alloc(a, 2 * sizeof(struct xs_tx_region), 0);
	batch = xs_alloc_ptr(a, boff);
	batch[0] = (struct xs_tx_region){.offset = held[0], .length = 300};
	batch[1] = (struct xs_tx_region){.offset = held[1], .length = 300};
	req = req_msg(0, 2000, (struct xs_batch_region){.num_transactions = 2, .transactions_offset = boff});
	T_OK(xs_guard_allocated(&l, boff));
	T_OK(xs_guard_lend_request(&l, G.bid, XS_MSG_PACK_TO_WORKER, req.b));
	pu_push(&s->workers[0].pack_to_worker, &req);
	pu_send(c.ch, C_P2W);

	pu_expect(c.ch, C_BAD_COUNT);
	pu_pop(&s->workers[0].worker_to_pack, &r);
	expect_err(check_answer(a, &r, &req, &v), -XS_EMSG_COUNT, "3 responses for 2");
	pu_send(c.ch, ACK + C_BAD_COUNT);

	/* a response naming a batch we never sent */
	pu_expect(c.ch, C_FORGED);
	pu_pop(&s->workers[0].worker_to_pack, &r);
	expect_err(check_answer(a, &r, &req, &v), -XS_EMSG_MISMATCH, "forged batch");
	T_OK(check_answer(a, &r, NULL, &v)); /* well formed on its own ... */
	expect_err(xs_guard_accept_resp(&l, &v), -XS_EMSG_NOT_LENT, "forged batch (ledger)");
	pu_send(c.ch, ACK + C_FORGED);

	/* the real response: batch back, responses owned; its replay refused;
	 * then everything freed once */
	pu_expect(c.ch, C_GOOD_RESP);
	pu_pop(&s->workers[0].worker_to_pack, &r);
	T_OK(check_answer(a, &r, &req, &v));
	T_OK(xs_guard_accept_resp(&l, &v));
	pu_pop(&s->workers[0].worker_to_pack, &r);
	T_OK(check_answer(a, &r, &req, &v2));
	expect_err(xs_guard_accept_resp(&l, &v2), -XS_EMSG_NOT_LENT, "replayed response");
	expect_err(xs_guard_free(&l, a, v.responses_offset + 256), -XS_EMSG_NOT_OWNED,
		   "free of an offset never held");
	T_OK(xs_guard_free(&l, a, held[0]));
	T_OK(xs_guard_free(&l, a, held[1]));
	T_OK(xs_guard_free(&l, a, v.responses_offset));
	T_OK(xs_guard_free(&l, a, v.batch_offset));
	pu_send(c.ch, ACK + C_GOOD_RESP);

	pu_expect(c.ch, C_COUNTERS);
	expect_err(pu_pop_or_err(&s->tpu_to_pack, &m), -XS_EQ_CORRUPT, "write counter backwards");
	T_ASSERT(strstr(xs_errmsg(), "backwards") != NULL, "%s", xs_errmsg());
	expect_err(pu_pop_or_err(&s->workers[1].worker_to_pack, &r), -XS_EQ_CORRUPT,
		   "write counter past capacity");
	T_ASSERT(xs_spsc_poll(&s->tpu_to_pack) == NULL); /* sticky */
	pu_send(c.ch, ACK + C_COUNTERS);

	/* the rest of the traffic still flows */
	pu_expect(c.ch, C_ALIVE);
	pu_pop(&s->progress, &pr);
	T_OK(xs_msg_check_progress_b(G.bid, pr.b));
	T_EQ(progress_slot(&pr), 1001);
	b2 = pu_alloc(a, sizeof(struct xs_tx_region), 0);
	batch = xs_alloc_ptr(a, b2);
	batch[0] = (struct xs_tx_region){.offset = held[2], .length = 300};
	req2 = req_msg(0, 2000, (struct xs_batch_region){.num_transactions = 1, .transactions_offset = b2});
	T_OK(xs_guard_allocated(&l, b2));
	T_OK(xs_guard_lend_request(&l, G.bid, XS_MSG_PACK_TO_WORKER, req2.b));
	pu_push(&s->workers[0].pack_to_worker, &req2);
	pu_send(c.ch, C_P2W2);
	pu_expect(c.ch, C_P2W2);
	pu_pop(&s->workers[0].worker_to_pack, &r);
	T_OK(check_answer(a, &r, &req2, &v));
	T_OK(xs_guard_accept_resp(&l, &v));
	T_OK(xs_guard_free(&l, a, held[2]));
	T_OK(xs_guard_free(&l, a, v.responses_offset));
	T_OK(xs_guard_free(&l, a, v.batch_offset));
	T_EQ(xs_ledger_count(&l, XS_LEDGER_HELD), 0);
	T_EQ(xs_ledger_count(&l, XS_LEDGER_LENT), 0);
	pu_send(c.ch, C_DONE);

	pu_wait_ok(pid);
	xs_ledger_fini(&l);
	xs_session_close(s);
	close(c.ch);
	T_EQ(t_fd_count(), fds);
}

/* =================================================== the server is the victim */

enum {
	S_READY = 1, S_TXS, S_GOOD, S_BIG, S_OUTSIDE, S_NOT_SLOT, S_FLAGS, S_DOUBLE_FREE,
	S_NEVER_ALLOC, S_W1, S_COUNTERS, S_ALIVE, S_DONE,
};

/* Attacker: a client that writes garbage into what it produces and frees. */
static void evil_client(void *arg)
{
	struct ctx *c = arg;
	struct xs_logon lg = pu_logon(W);
	struct xs_session *s;
	struct xs_alloc *a;
	struct xs_tpu_to_pack m;
	struct raw req, r, pr;
	struct xs_tx_region *b;
	struct xs_batch_region good;
	uint64_t tx[4], boff, bad;
	int i;

	pu_expect(c->ch, S_READY);
	s = pu_connect(c->path, &lg);
	a = s->allocs[0];
	pu_expect(c->ch, S_TXS);
	for (i = 0; i < 4; i++) {
		pu_pop(&s->tpu_to_pack, &m);
		tx[i] = m.transaction.offset;
	}
	boff = pu_alloc(a, 2 * sizeof(*b), 0);
	b = xs_alloc_ptr(a, boff);
	b[0] = (struct xs_tx_region){.offset = tx[0], .length = 300};
	b[1] = (struct xs_tx_region){.offset = tx[1], .length = 300};
	good = (struct xs_batch_region){.num_transactions = 2, .transactions_offset = boff};
	req = req_msg(0, 0, good);
	pu_push(&s->workers[0].pack_to_worker, &req);
	pu_send(c->ch, S_GOOD);
	pu_pop(&s->workers[0].worker_to_pack, &r);
	T_EQ(w2p_code(&r), G.b->code_processed);

	req = req_msg(0, 0, (struct xs_batch_region){.num_transactions = 65, .transactions_offset = boff});
	pu_push(&s->workers[0].pack_to_worker, &req);
	pu_send(c->ch, S_BIG);
	pu_pop(&s->workers[0].worker_to_pack, &r);
	T_EQ(w2p_code(&r), G.b->code_invalid);

	req = req_msg(0, 0, (struct xs_batch_region){.num_transactions = 2,
						    .transactions_offset = s->allocator_size + 4096});
	pu_push(&s->workers[0].pack_to_worker, &req);
	pu_send(c->ch, S_OUTSIDE);
	pu_pop(&s->workers[0].worker_to_pack, &r);
	T_EQ(w2p_code(&r), G.b->code_invalid);

	req = req_msg(0, 0, good);
	b[1].offset = tx[1] + 8;
	pu_push(&s->workers[0].pack_to_worker, &req);
	pu_send(c->ch, S_NOT_SLOT);
	pu_pop(&s->workers[0].worker_to_pack, &r);
	T_EQ(w2p_code(&r), G.b->code_invalid);
	b[1].offset = tx[1];

	req = req_msg(0x8000, 0, good); /* a bit no generation defines */
	pu_push(&s->workers[0].pack_to_worker, &req);
	pu_send(c->ch, S_FLAGS);
	pu_pop(&s->workers[0].worker_to_pack, &r);
	T_EQ(w2p_code(&r), G.b->code_invalid);

	/* frees behind the allocator owner's back: one twice, one never allocated */
	T_OK(xs_alloc_free_offset(a, tx[2]));
	T_OK(xs_alloc_free_offset(a, tx[2])); /* a remote free cannot be checked here */
	pu_send(c->ch, S_DOUBLE_FREE);
	pu_pop(&s->tpu_to_pack, &m); /* the server still sends */
	bad = tx[3] + 100 * 512;     /* slot 100 of the TPU's 512-byte slab: never allocated */
	T_OK(xs_alloc_free_offset(a, bad));
	pu_send(c->ch, S_NEVER_ALLOC);
	pu_pop(&s->tpu_to_pack, &m);

	/* counters: one good request on worker 1, then its write moves backwards;
	 * tpu_to_pack's read runs past the server's write */
	req = req_msg(0, 0, good);
	pu_push(&s->workers[1].pack_to_worker, &req);
	pu_send(c->ch, S_W1);
	pu_pop(&s->workers[1].worker_to_pack, &r);
	T_EQ(w2p_code(&r), G.b->code_processed);
	__atomic_store_n(s->workers[1].pack_to_worker.wr,
			 s->workers[1].pack_to_worker.published - 1, __ATOMIC_RELEASE);
	__atomic_store_n(s->tpu_to_pack.rd, s->tpu_to_pack.published + 5,
			 __ATOMIC_RELEASE);
	pu_send(c->ch, S_COUNTERS);

	/* the rest still works */
	pu_expect(c->ch, S_ALIVE);
	pu_pop(&s->progress, &pr);
	T_EQ(progress_slot(&pr), 77);
	pu_push(&s->workers[0].pack_to_worker, &req);
	pu_send(c->ch, S_ALIVE);
	pu_pop(&s->workers[0].worker_to_pack, &r);
	T_EQ(w2p_code(&r), G.b->code_processed);
	pu_send(c->ch, S_DONE);
	xs_session_close(s);
}

/* Victim worker loop step: take one request, validate, answer (INVALID when
 * refused, as Agave does); return the validation result. */
static int serve_request(struct xs_vsession *vs, unsigned w)
{
	struct xs_tx_region txs[XS_MAX_TXS_PER_BATCH];
	struct raw req, r;
	struct xs_alloc *wa = vs->worker_allocs[w];
	int n;

	pu_pop(&vs->workers[w].pack_to_worker, &req);
	n = xs_msg_check_request(G.bid, XS_MSG_PACK_TO_WORKER, wa, req.b, txs, NULL);
	if (n > 0) {
		uint64_t resp = pu_alloc(wa, (size_t)n * G.resp_size, 0);

		for (int i = 0; i < n; i++) /* read each transaction: they were checked */
			T_EQ(((const uint8_t *)xs_alloc_ptr(wa, txs[i].offset))[0], 0xc0);
		r = w2p_msg(req_batch(&req), G.b->code_processed, (uint8_t)n, resp);
	} else {
		r = w2p_msg(req_batch(&req), G.b->code_invalid, 0, 0);
	}
	pu_push(&vs->workers[w].worker_to_pack, &r);
	return n;
}

static void server_victim(void)
{
	struct ctx c = {.path = pu_sock_path("sv")};
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	struct xs_tpu_to_pack m;
	struct raw pr;
	struct xs_alloc *t;
	int ch[2], fds = t_fd_count(), i, rc;
	pid_t pid;

	pu_chan(ch);
	c.ch = ch[1];
	pid = pu_fork(evil_client, &c);
	close(ch[1]);
	c.ch = ch[0];
	srv = pu_listen(c.path);
	pu_send(c.ch, S_READY);
	vs = pu_serve(srv);
	T_EQ(vs->peer_pid, pid);
	t = vs->tpu_alloc;

	for (i = 0; i < 4; i++) {
		m = tpu_msg(pu_alloc(t, 300, 0xc0), 300);
		pu_push(&vs->tpu_to_pack, &m);
	}
	pu_send(c.ch, S_TXS);

	pu_expect(c.ch, S_GOOD);
	T_EQ(serve_request(vs, 0), 2);
	pu_expect(c.ch, S_BIG);
	expect_err(serve_request(vs, 0), -XS_EMSG_BATCH_SIZE, "batch of 65");
	pu_expect(c.ch, S_OUTSIDE);
	expect_err(serve_request(vs, 0), -XS_EA_OFFSET, "batch array outside the file");
	pu_expect(c.ch, S_NOT_SLOT);
	expect_err(serve_request(vs, 0), -XS_EA_NOT_SLOT, "transaction not at a slot");
	T_ASSERT(strstr(xs_errmsg(), "transaction[1]") != NULL, "%s", xs_errmsg());
	pu_expect(c.ch, S_FLAGS);
	expect_err(serve_request(vs, 0), -XS_EMSG_FLAGS, "flags 0x8001");

	/* the owner's clean finds the double free, stops that chain, goes on */
	pu_expect(c.ch, S_DOUBLE_FREE);
	rc = xs_alloc_clean_remote(t);
	T_ASSERT(rc == -XS_EA_REMOTE_CORRUPT || rc == -XS_EA_DOUBLE_FREE,
		 "double remote free: clean returned %d (%s) %s", rc, xs_strerror(rc), xs_errmsg());
	m = tpu_msg(pu_alloc(t, 300, 0xc0), 300);
	pu_push(&vs->tpu_to_pack, &m);

	pu_expect(c.ch, S_NEVER_ALLOC);
	rc = xs_alloc_clean_remote(t);
	T_ASSERT(rc == -XS_EA_DOUBLE_FREE || rc == -XS_EA_REMOTE_CORRUPT,
		 "free of a never-allocated slot: clean returned %d (%s) %s", rc, xs_strerror(rc),
		 xs_errmsg());
	m = tpu_msg(pu_alloc(t, 300, 0xc0), 300);
	pu_push(&vs->tpu_to_pack, &m);

	pu_expect(c.ch, S_W1);
	T_EQ(serve_request(vs, 1), 2);
	pu_expect(c.ch, S_COUNTERS);
	expect_err(pu_pop_or_err(&vs->workers[1].pack_to_worker, &m), -XS_EQ_CORRUPT,
		   "write counter backwards");
	expect_err(xs_spsc_prod_sync(&vs->tpu_to_pack), -XS_EQ_CORRUPT, "read past the write");
	expect_err(xs_spsc_try_push(&vs->tpu_to_pack, &m), -XS_EQ_CORRUPT, "sticky");

	/* the rest of the session still works */
	pr = progress_msg(0, 77);
	pu_push(&vs->progress, &pr);
	pu_send(c.ch, S_ALIVE);
	pu_expect(c.ch, S_ALIVE);
	T_EQ(serve_request(vs, 0), 2);
	pu_expect(c.ch, S_DONE);

	pu_wait_ok(pid);
	xs_vsession_close(vs);
	xs_hs_server_close(srv);
	close(c.ch);
	T_EQ(t_fd_count(), fds);
}

int main(int argc, char **argv)
{
	const char *row = "2";
	char name[32];
	char *us;

	if (argc != 2) {
		fprintf(stderr, "usage: %s client_victim|server_victim[_<row>]\n", argv[0]);
		return 2;
	}
	/* "<case>_<row>": the generation; the bare case is VERSION 2 */
	snprintf(name, sizeof(name), "%s", argv[1]);
	us = strrchr(name, '_');
	if (us && strcmp(us, "_victim")) {
		*us = '\0';
		row = us + 1;
	}
	gen_init(row);
	if (!strcmp(name, "client_victim"))
		client_victim();
	else if (!strcmp(name, "server_victim"))
		server_victim();
	else
		t_fail(__FILE__, __LINE__, "no case %s", argv[1]);
	printf("test_hostile_peer %s: ok\n", argv[1]);
	return 0;
}
