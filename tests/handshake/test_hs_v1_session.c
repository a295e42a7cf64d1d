/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the recorded VERSION 1 session of vectors/v1/ README (d),
 * replayed with the xsched server (the "Agave" side) and the xsched client
 * (pack) of one process, step by step, and every queue file compared byte
 * for byte with session_s<k>_*.bin after each step; the allocator header
 * against session_w1.json and every allocation's bytes and offset against
 * session_s2_alloc_*.bin and the json's "offsets".
 *   s0  handshake: W 1, 16 MiB allocator, 1 handle, queue byte sizes
 *       512 / 384 / 320 / 352 (shaq 0.2.0: capacities 8 / 4 / 4 / 4)
 *   s1  Agave TPU (handle 0) allocates tx0 (5 bytes) and tx1 (300 x 0x5A),
 *       writes two TpuToPack messages and a progress message; pack reads
 *       them, allocates the batch array (handle 2) and sends RESOLVE and a
 *       flags-1 request on pack_to_worker[0]
 *   s2  Agave worker 0 (handle 1): resolves the first (keys + Resolved[2]),
 *       answers the second NOT_PROCESSED (flags 1 is invalid in VERSION 1)
 *   s3  pack reads both answers and frees everything; both sides clean
 *       their remote frees
 * Fails (never skips) when a vector is missing.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hs_test.h"
#include "xsched/alloc.h"

struct v1_srv {
	struct xs_hs_server *srv;
	struct xs_vsession *vs;
	int rc;
};

static void *serve_thread(void *arg)
{
	struct v1_srv *r = arg;

	r->rc = xs_hs_server_serve(r->srv, t_now_ns() + 10000000000ull, &r->vs);
	return NULL;
}

static const char *const qnames[4] = { "tpu_to_pack", "progress_tracker", "pack_to_worker_0",
				       "worker_to_pack_0" };

/* Every queue file (through the server's mappings) against step @p step. */
static void compare_step(struct xs_vsession *vs, const char *step)
{
	const struct xs_spsc *q[4] = { &vs->tpu_to_pack, &vs->progress,
				       &vs->workers[0].pack_to_worker, &vs->workers[0].worker_to_pack };
	char name[96], what[128];

	for (int i = 0; i < 4; i++) {
		size_t len;
		uint8_t *want;

		snprintf(name, sizeof(name), "v1/session_%s_%s.bin", step, qnames[i]);
		want = t_read_vector(name, &len);
		T_EQ(q[i]->file_size, len);
		snprintf(what, sizeof(what), "%s after %s", qnames[i], step);
		T_BYTES(what, q[i]->base, want, len);
		free(want);
	}
}

/* Allocation bytes at @p off against session_s2_alloc_<name>.bin. */
static void compare_alloc(const struct xs_alloc *a, const char *json, const char *name,
			  uint64_t off)
{
	char path[96];
	size_t len;
	uint8_t *want;
	void *p;

	T_EQ(off, (uint64_t)th_json_num(json, "\"offsets\"", name, 0));
	snprintf(path, sizeof(path), "v1/session_s2_alloc_%s.bin", name);
	want = t_read_vector(path, &len);
	T_OK(xs_alloc_check_within(a, off, len, &p));
	T_BYTES(name, p, want, len);
	free(want);
}

static void alloc_at(struct xs_alloc *a, size_t size, uint64_t *off, void **ptr)
{
	*ptr = xs_alloc_alloc(a, size);
	T_ASSERT(*ptr != NULL, "allocation of %zu bytes", size);
	*off = xs_alloc_offset(a, *ptr);
}

static void t_recorded(void)
{
	struct v1_srv r = { 0 };
	struct xs_hs_server_opts so = { .path = th_sock_path("v1rec"), .version = 1 };
	struct xs_hs_client_opts co = { .path = so.path, .version = 1, .timeout_ns = 5000000000ull };
	struct xs_logon lg = {
		.worker_count = 1, .allocator_size = 16u << 20, .allocator_handles = 1,
		.tpu_to_pack_capacity = 512, .progress_tracker_capacity = 384,
		.pack_to_worker_capacity = 320, .worker_to_pack_capacity = 352,
		.units = XS_LOGON_BYTES,
	};
	struct xs_session *s = NULL;
	struct xs_vsession *vs;
	struct xs_alloc *tpu, *wk, *pk;
	uint64_t tx0, tx1, batch, keys, arr;
	uint8_t *p0, *p1, *pb, *pkeys, *parr;
	struct xs_tx_region *regions;
	struct xs_v1_resolved *res;
	const struct xs_tpu_to_pack *tin[2];
	const struct xs_progress *pin;
	const struct xs_v1_pack_to_worker *req[2];
	const struct xs_v1_worker_to_pack *ans[2];
	char *json;
	size_t jlen;
	pthread_t th;
	int fds0 = t_fd_count();

	json = (char *)t_read_vector("v1/session_w1.json", &jlen);
	json = realloc(json, jlen + 1);
	json[jlen] = '\0';

	/* s0: handshake */
	T_OK(xs_hs_server_listen(&so, &r.srv));
	T_OK(pthread_create(&th, NULL, serve_thread, &r));
	T_OK(xs_hs_connect(&co, &lg, &s));
	T_OK(pthread_join(th, NULL));
	T_OK(r.rc);
	vs = r.vs;
	tpu = vs->tpu_alloc;
	wk = vs->worker_allocs[0];
	pk = s->allocs[0];
	T_EQ(xs_alloc_worker(tpu), 0);
	T_EQ(xs_alloc_worker(wk), 1);
	T_EQ(xs_alloc_worker(pk), 2);
	/* upstream's allocator policy: the recorded offsets are its choices */
	T_OK(xs_alloc_set_policy(tpu, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_OK(xs_alloc_set_policy(wk, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_OK(xs_alloc_set_policy(pk, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_EQ(xs_alloc_size(tpu), th_json_num(json, "\"s0_created\"", "st_size", 0));
	T_EQ(xs_alloc_num_workers(tpu), th_json_num(json, "\"s0_created\"", "num_workers", 0));
	T_EQ(xs_alloc_num_slabs(tpu), th_json_num(json, "\"s0_created\"", "num_slabs", 0));
	T_EQ(xs_alloc_slab_size(tpu), th_json_num(json, "\"s0_created\"", "slab_size", 0));
	T_EQ(xs_alloc_slabs_offset(tpu), th_json_num(json, "\"s0_created\"", "slabs_offset", 0));
	T_EQ(((const uint32_t *)xs_alloc_base(tpu))[2], 1); /* header VERSION 1 */
	compare_step(vs, "s0_created");

	/* s1: Agave TPU, then pack */
	alloc_at(tpu, 5, &tx0, (void **)&p0);
	memcpy(p0, "\x01\x02\x03\x04\x05", 5);
	alloc_at(tpu, 300, &tx1, (void **)&p1);
	memset(p1, 0x5A, 300);
	{
		struct xs_tpu_to_pack *m = xs_spsc_reserve(&vs->tpu_to_pack);

		T_ASSERT(m != NULL, "tpu slot");
		memset(m, 0, sizeof(*m));
		m->transaction = (struct xs_tx_region){ .offset = tx0, .length = 5 };
		m->flags = 0;
		memcpy(m->src_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x7f\0\0\x01", 16);
		m = xs_spsc_reserve(&vs->tpu_to_pack);
		T_ASSERT(m != NULL, "tpu slot");
		memset(m, 0, sizeof(*m));
		m->transaction = (struct xs_tx_region){ .offset = tx1, .length = 300 };
		m->flags = 2;
		memcpy(m->src_addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\x01\x02\x03", 16);
		xs_spsc_commit(&vs->tpu_to_pack);
	}
	{
		struct xs_progress *m = xs_spsc_reserve(&vs->progress);

		T_ASSERT(m != NULL, "progress slot");
		memset(m, 0, sizeof(*m));
		m->leader_state = 0;
		m->current_slot = 7;
		m->next_leader_slot = 12;
		m->leader_range_end = 15;
		m->remaining_cost_units = 0;
		m->current_slot_progress = 25;
		xs_spsc_commit(&vs->progress);
	}
	T_OK(xs_spsc_cons_sync(&s->tpu_to_pack));
	tin[0] = xs_spsc_try_read(&s->tpu_to_pack);
	tin[1] = xs_spsc_try_read(&s->tpu_to_pack);
	T_ASSERT(tin[0] && tin[1] && tin[0]->transaction.offset == tx0 &&
		 tin[1]->transaction.length == 300, "both TPU messages");
	T_OK(xs_spsc_cons_sync(&s->progress));
	pin = xs_spsc_try_read(&s->progress);
	T_ASSERT(pin && pin->current_slot == 7 && pin->current_slot_progress == 25, "progress");
	xs_spsc_finalize(&s->tpu_to_pack);
	xs_spsc_finalize(&s->progress);
	alloc_at(pk, 32, &batch, (void **)&pb);
	regions = (struct xs_tx_region *)pb;
	memset(regions, 0, 32);
	regions[0] = (struct xs_tx_region){ .offset = tx0, .length = 5 };
	regions[1] = (struct xs_tx_region){ .offset = tx1, .length = 300 };
	{
		struct xs_v1_pack_to_worker *m = xs_spsc_reserve(&s->workers[0].pack_to_worker);

		T_ASSERT(m != NULL, "request slot");
		memset(m, 0, sizeof(*m));
		m->flags = XS_V1_PACK_RESOLVE;
		m->max_execution_slot = 0;
		m->batch = (struct xs_batch_region){ .num_transactions = 2, .transactions_offset = batch };
		m = xs_spsc_reserve(&s->workers[0].pack_to_worker);
		T_ASSERT(m != NULL, "request slot");
		memset(m, 0, sizeof(*m));
		m->flags = 1; /* VERSION 2's EXECUTE: not a VERSION 1 flag */
		m->max_execution_slot = 9;
		m->batch = (struct xs_batch_region){ .num_transactions = 2, .transactions_offset = batch };
		xs_spsc_commit(&s->workers[0].pack_to_worker);
	}
	compare_step(vs, "s1_requests");

	/* s2: Agave worker 0 */
	T_ASSERT(xs_alloc_clean_remote(wk) >= 0, "clean");
	T_OK(xs_spsc_cons_sync(&vs->workers[0].pack_to_worker));
	req[0] = xs_spsc_try_read(&vs->workers[0].pack_to_worker);
	req[1] = xs_spsc_try_read(&vs->workers[0].pack_to_worker);
	T_ASSERT(req[0] && req[1], "both requests");
	/* the 3.1.x rule: 1 <= n <= 64, flags in {0, 2} */
	T_ASSERT(req[0]->flags == XS_V1_PACK_RESOLVE && req[0]->batch.num_transactions == 2,
		 "first request valid");
	T_ASSERT(req[1]->flags != XS_V1_PACK_NONE && req[1]->flags != XS_V1_PACK_RESOLVE,
		 "second request invalid");
	alloc_at(wk, 64, &keys, (void **)&pkeys);
	memset(pkeys, 0x11, 32);
	memset(pkeys + 32, 0x22, 32);
	alloc_at(wk, 2 * sizeof(*res), &arr, (void **)&parr);
	res = (struct xs_v1_resolved *)parr;
	memset(res, 0, 2 * sizeof(*res));
	res[0] = (struct xs_v1_resolved){ .success = XS_V1_RESOLVE_SUCCESS, .slot = 6,
					  .min_alt_deactivation_slot = UINT64_MAX };
	res[1] = (struct xs_v1_resolved){ .success = XS_V1_RESOLVE_SUCCESS, .slot = 6,
					  .min_alt_deactivation_slot = 1000,
					  .resolved_pubkeys = { .offset = keys, .num_pubkeys = 2 } };
	{
		struct xs_v1_worker_to_pack *m = xs_spsc_reserve(&vs->workers[0].worker_to_pack);

		T_ASSERT(m != NULL, "answer slot");
		memset(m, 0, sizeof(*m));
		m->batch = req[0]->batch;
		m->processed = XS_V1_PROCESSED;
		m->responses = (struct xs_resp_region){ .tag = XS_V1_RESP_RESOLVED,
							.num_transaction_responses = 2,
							.transaction_responses_offset = arr };
		m = xs_spsc_reserve(&vs->workers[0].worker_to_pack);
		T_ASSERT(m != NULL, "answer slot");
		memset(m, 0, sizeof(*m));
		m->batch = req[1]->batch;
		m->processed = XS_V1_NOT_PROCESSED;
		xs_spsc_commit(&vs->workers[0].worker_to_pack);
	}
	xs_spsc_finalize(&vs->workers[0].pack_to_worker);
	compare_step(vs, "s2_responses");
	compare_alloc(tpu, json, "tx0", tx0);
	compare_alloc(tpu, json, "tx1", tx1);
	compare_alloc(tpu, json, "batch_array", batch);
	compare_alloc(tpu, json, "resolved_array", arr);
	compare_alloc(tpu, json, "pubkeys", keys);

	/* s3: pack reads the answers, frees everything; both sides clean */
	T_OK(xs_spsc_cons_sync(&s->workers[0].worker_to_pack));
	ans[0] = xs_spsc_try_read(&s->workers[0].worker_to_pack);
	ans[1] = xs_spsc_try_read(&s->workers[0].worker_to_pack);
	T_ASSERT(ans[0] && ans[1] && ans[0]->processed == XS_V1_PROCESSED &&
		 ans[0]->responses.transaction_responses_offset == arr &&
		 ans[1]->processed == XS_V1_NOT_PROCESSED, "both answers");
	xs_spsc_finalize(&s->workers[0].worker_to_pack);
	T_OK(xs_alloc_free_offset(pk, keys));
	T_OK(xs_alloc_free_offset(pk, arr));
	T_OK(xs_alloc_free_offset(pk, tx0));
	T_OK(xs_alloc_free_offset(pk, tx1));
	T_OK(xs_alloc_free_offset(pk, batch));
	T_ASSERT(xs_alloc_clean_remote(tpu) >= 0, "clean");
	T_ASSERT(xs_alloc_clean_remote(wk) >= 0, "clean");
	T_ASSERT(xs_alloc_clean_remote(pk) >= 0, "clean");
	compare_step(vs, "s3_freed");

	xs_session_close(s);
	xs_vsession_close(vs);
	xs_hs_server_close(r.srv);
	free(json);
	T_EQ(t_fd_count(), fds0);
}

static const struct th_case cases[] = {
	{ "recorded", t_recorded },
};

int main(int argc, char **argv)
{
	return th_run_cases(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);
}
