/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the message bindings of xsched/msg.h against upstream.
 *  - layout_rust.json (rustc's size_of / align_of / offset_of!) is parsed with
 *    a small strict JSON reader; every struct, its size, alignment and every
 *    field offset must equal the C struct (offsetof), with no field missing
 *    on either side. ClientLogon belongs to the handshake tests and is skipped.
 *  - the shaq minimum_file_size examples and the constants listed there that
 *    msg.h / spsc.h define; every other key must be a known foreign one.
 *  - all six msg_*.bin vectors: a message built field by field in zeroed
 *    memory equals the vector byte for byte; built over garbage it equals the
 *    vector outside the padding ranges the vectors README lists (so our fields
 *    cover exactly the non-padding bytes); and decoding the vector gives the
 *    documented field values.
 *  - the same for every other bindings version: v1/layout_rust_v1.json and the
 *    twelve v1/msg_*.bin (3.1.x meanings: xs_v1_*), v4/layout4_rust.json and
 *    the seven v4/msg4_*.bin, current/layout6_rust.json and the eight
 *    current/msg6_*.bin; the JSON constants against the meaning tables of
 *    xs_bindings_get(), and the tables' own consistency (sizes = the C
 *    structs, reason bitmaps and flag masks = the named values).
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/msg.h"
#include "xsched/spsc.h"

/* ------------------------------------------------------ strict JSON reader */

enum j_type { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct j_val {
	enum j_type type;
	int is_int;      /* J_NUM without fraction/exponent that fits int64 */
	long long i;     /* J_NUM (is_int) or J_BOOL */
	char *str;       /* J_STR */
	size_t n;        /* J_ARR / J_OBJ: number of members */
	char **keys;     /* J_OBJ */
	struct j_val *v; /* J_ARR / J_OBJ members */
};

struct j_parser {
	const char *p, *end;
	int depth;
};

/* Set in the child that checks refusals: a refusal then ends it with code 3. */
static int j_refusal_probe;

static void j_die(const struct j_parser *jp, const char *what)
{
	if (j_refusal_probe)
		_exit(3);
	t_fail(__FILE__, __LINE__, "layout_rust.json: %s near \"%.20s\"", what, jp->p);
}

static void j_ws(struct j_parser *jp)
{
	while (jp->p < jp->end && (*jp->p == ' ' || *jp->p == '\t' || *jp->p == '\n' || *jp->p == '\r'))
		jp->p++;
}

static int j_peek(struct j_parser *jp)
{
	j_ws(jp);
	return jp->p < jp->end ? (unsigned char)*jp->p : -1;
}

static void j_expect(struct j_parser *jp, char c)
{
	if (j_peek(jp) != (unsigned char)c)
		j_die(jp, "unexpected character");
	jp->p++;
}

static void j_grow(void **buf, size_t n, size_t elem)
{
	/* grow in powers of two: called for n = 0, 1, 2, ... before storing n */
	if ((n & (n - 1)) == 0) {
		void *nb = realloc(*buf, (n ? 2 * n : 1) * elem);

		T_ASSERT(nb != NULL);
		*buf = nb;
	}
}

static char *j_string(struct j_parser *jp)
{
	char *out = NULL;
	size_t n = 0;

	j_expect(jp, '"');
	for (;;) {
		unsigned char c;

		if (jp->p >= jp->end)
			j_die(jp, "unterminated string");
		c = (unsigned char)*jp->p++;
		if (c == '"')
			break;
		if (c < 0x20)
			j_die(jp, "control character in string");
		if (c == '\\') {
			if (jp->p >= jp->end)
				j_die(jp, "bad escape");
			c = (unsigned char)*jp->p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned cp = 0;
				int k;

				for (k = 0; k < 4; k++) {
					if (jp->p >= jp->end || !isxdigit((unsigned char)*jp->p))
						j_die(jp, "bad \\u escape");
					cp = cp * 16 + (unsigned)(isdigit((unsigned char)*jp->p)
						? *jp->p - '0' : (tolower((unsigned char)*jp->p) - 'a' + 10));
					jp->p++;
				}
				/* the file is ASCII: only accept escapes that stay ASCII */
				if (cp == 0 || cp > 0x7f)
					j_die(jp, "non-ASCII \\u escape");
				c = (unsigned char)cp;
				break;
			}
			default:
				j_die(jp, "bad escape");
			}
		}
		j_grow((void **)&out, n, 1);
		out[n++] = (char)c;
	}
	j_grow((void **)&out, n, 1);
	out[n] = '\0';
	return out;
}

static void j_value(struct j_parser *jp, struct j_val *v);

static void j_number(struct j_parser *jp, struct j_val *v)
{
	const char *s = jp->p;
	int frac = 0;

	if (jp->p < jp->end && *jp->p == '-')
		jp->p++;
	if (jp->p >= jp->end || !isdigit((unsigned char)*jp->p))
		j_die(jp, "bad number");
	if (*jp->p == '0' && jp->p + 1 < jp->end && isdigit((unsigned char)jp->p[1]))
		j_die(jp, "leading zero");
	while (jp->p < jp->end && isdigit((unsigned char)*jp->p))
		jp->p++;
	if (jp->p < jp->end && *jp->p == '.') {
		frac = 1;
		jp->p++;
		if (jp->p >= jp->end || !isdigit((unsigned char)*jp->p))
			j_die(jp, "bad fraction");
		while (jp->p < jp->end && isdigit((unsigned char)*jp->p))
			jp->p++;
	}
	if (jp->p < jp->end && (*jp->p == 'e' || *jp->p == 'E')) {
		frac = 1;
		jp->p++;
		if (jp->p < jp->end && (*jp->p == '+' || *jp->p == '-'))
			jp->p++;
		if (jp->p >= jp->end || !isdigit((unsigned char)*jp->p))
			j_die(jp, "bad exponent");
		while (jp->p < jp->end && isdigit((unsigned char)*jp->p))
			jp->p++;
	}
	v->type = J_NUM;
	if (!frac) {
		char buf[32], *e;
		size_t len = (size_t)(jp->p - s);

		if (len < sizeof(buf)) {
			memcpy(buf, s, len);
			buf[len] = '\0';
			errno = 0;
			v->i = strtoll(buf, &e, 10);
			v->is_int = errno == 0 && *e == '\0';
		}
	}
}

static void j_literal(struct j_parser *jp, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(jp->end - jp->p) < n || memcmp(jp->p, lit, n))
		j_die(jp, "bad literal");
	jp->p += n;
}

static void j_value(struct j_parser *jp, struct j_val *v)
{
	int c = j_peek(jp);

	memset(v, 0, sizeof(*v));
	if (++jp->depth > 32)
		j_die(jp, "nesting too deep");
	if (c == '{') {
		jp->p++;
		v->type = J_OBJ;
		if (j_peek(jp) == '}') {
			jp->p++;
		} else {
			for (;;) {
				size_t k;

				j_grow((void **)&v->keys, v->n, sizeof(*v->keys));
				j_grow((void **)&v->v, v->n, sizeof(*v->v));
				if (j_peek(jp) != '"')
					j_die(jp, "object key must be a string");
				v->keys[v->n] = j_string(jp);
				for (k = 0; k < v->n; k++)
					if (!strcmp(v->keys[k], v->keys[v->n]))
						j_die(jp, "duplicate key");
				j_expect(jp, ':');
				j_value(jp, &v->v[v->n]);
				v->n++;
				c = j_peek(jp);
				jp->p++;
				if (c == '}')
					break;
				if (c != ',')
					j_die(jp, "expected , or }");
			}
		}
	} else if (c == '[') {
		jp->p++;
		v->type = J_ARR;
		if (j_peek(jp) == ']') {
			jp->p++;
		} else {
			for (;;) {
				j_grow((void **)&v->v, v->n, sizeof(*v->v));
				j_value(jp, &v->v[v->n++]);
				c = j_peek(jp);
				jp->p++;
				if (c == ']')
					break;
				if (c != ',')
					j_die(jp, "expected , or ]");
			}
		}
	} else if (c == '"') {
		v->type = J_STR;
		v->str = j_string(jp);
	} else if (c == 't') {
		j_literal(jp, "true");
		v->type = J_BOOL;
		v->i = 1;
	} else if (c == 'f') {
		j_literal(jp, "false");
		v->type = J_BOOL;
	} else if (c == 'n') {
		j_literal(jp, "null");
		v->type = J_NULL;
	} else {
		j_number(jp, v);
	}
	jp->depth--;
}

static void j_free(struct j_val *v)
{
	size_t k;

	for (k = 0; k < v->n; k++) {
		if (v->keys)
			free(v->keys[k]);
		j_free(&v->v[k]);
	}
	free(v->keys);
	free(v->v);
	free(v->str);
}

static const struct j_val *j_get(const struct j_val *obj, const char *key)
{
	size_t k;

	T_ASSERT(obj->type == J_OBJ, "(looking up %s)", key);
	for (k = 0; k < obj->n; k++)
		if (!strcmp(obj->keys[k], key))
			return &obj->v[k];
	return NULL;
}

static long long j_int(const struct j_val *v, const char *what)
{
	if (!v || v->type != J_NUM || !v->is_int)
		t_fail(__FILE__, __LINE__, "layout_rust.json: %s is not an integer", what);
	return v->i;
}

/* Parse a document; also self-checks the reader on inputs it must refuse. */
static void j_parse(const char *text, size_t len, struct j_val *out)
{
	struct j_parser jp = { text, text + len, 0 };

	j_value(&jp, out);
	j_ws(&jp);
	if (jp.p != jp.end)
		j_die(&jp, "trailing data");
}

/* A malformed document must be refused; refusals end the process, so each
 * is tried in a child. */
static void j_refuses(const char *text)
{
	int st;
	pid_t pid = fork();

	T_ASSERT(pid >= 0);
	if (pid == 0) {
		struct j_val v;

		j_refusal_probe = 1;
		j_parse(text, strlen(text), &v);
		_exit(0);
	}
	T_ASSERT(waitpid(pid, &st, 0) == pid);
	T_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 3, "(JSON reader accepted '%s')", text);
}

static void j_self_test(void)
{
	static const char *good = "{\"a\":[1,-2,{\"b\":\"x\\u0041\\n\"}],\"c\":true,\"d\":null,\"e\":1.5e3}";
	struct j_val v;
	const struct j_val *a;

	j_parse(good, strlen(good), &v);
	a = j_get(&v, "a");
	T_ASSERT(a && a->type == J_ARR && a->n == 3);
	T_EQ(j_int(&a->v[1], "a[1]"), (unsigned long long)-2);
	T_ASSERT(!strcmp(j_get(&a->v[2], "b")->str, "xA\n"));
	T_ASSERT(j_get(&v, "e")->type == J_NUM && !j_get(&v, "e")->is_int);
	j_free(&v);
	j_refuses("{\"a\":1,}");
	j_refuses("{\"a\":1,\"a\":2}");
	j_refuses("[1 2]");
	j_refuses("01");
	j_refuses("\"open");
	j_refuses("{} x");
	j_refuses("{\"a\":-}");
	j_refuses("tru");
	j_refuses("{\"a\":\"\\q\"}");
	j_refuses("{a:1}");
	j_refuses("");
}

/* ------------------------------------------------------- the C layout table */

struct c_field {
	const char *name;
	size_t off, size;
};

struct c_layout {
	const char *json;
	size_t size, align;
	const struct c_field *f;
	size_t nf;
};

#define F(T, m) { #m, offsetof(struct T, m), sizeof(((struct T *)0)->m) }
#define L(name, T, arr) { name, sizeof(struct T), _Alignof(struct T), arr, sizeof(arr) / sizeof(arr[0]) }

static const struct c_field f_txr[] = { F(xs_tx_region, offset), F(xs_tx_region, length) };
static const struct c_field f_pk[] = { F(xs_pubkeys, offset), F(xs_pubkeys, num_pubkeys) };
static const struct c_field f_batch[] = { F(xs_batch_region, num_transactions),
					  F(xs_batch_region, transactions_offset) };
static const struct c_field f_resp[] = { F(xs_resp_region, tag),
					 F(xs_resp_region, num_transaction_responses),
					 F(xs_resp_region, transaction_responses_offset) };
static const struct c_field f_tpu[] = { F(xs_tpu_to_pack, transaction), F(xs_tpu_to_pack, flags),
					F(xs_tpu_to_pack, src_addr) };
static const struct c_field f_prog[] = { F(xs_progress, leader_state), F(xs_progress, current_slot),
					 F(xs_progress, next_leader_slot),
					 F(xs_progress, leader_range_end),
					 F(xs_progress, remaining_cost_units),
					 F(xs_progress, current_slot_progress) };
static const struct c_field f_p2w[] = { F(xs_pack_to_worker, flags),
					F(xs_pack_to_worker, max_working_slot),
					F(xs_pack_to_worker, batch) };
static const struct c_field f_w2p[] = { F(xs_worker_to_pack, batch),
					F(xs_worker_to_pack, processed_code),
					F(xs_worker_to_pack, responses) };
static const struct c_field f_exec[] = { F(xs_exec_resp, not_included_reason),
					 F(xs_exec_resp, cost_units),
					 F(xs_exec_resp, fee_payer_balance) };
static const struct c_field f_check[] = {
	F(xs_check_resp, parsing_and_sanitization_flags), F(xs_check_resp, status_check_flags),
	F(xs_check_resp, fee_payer_balance_flags),        F(xs_check_resp, resolve_flags),
	F(xs_check_resp, included_slot),                  F(xs_check_resp, balance_slot),
	F(xs_check_resp, fee_payer_balance),              F(xs_check_resp, resolution_slot),
	F(xs_check_resp, min_alt_deactivation_slot),      F(xs_check_resp, resolved_pubkeys),
};

static const struct c_layout layouts[] = {
	L("SharableTransactionRegion", xs_tx_region, f_txr),
	L("SharablePubkeys", xs_pubkeys, f_pk),
	L("SharableTransactionBatchRegion", xs_batch_region, f_batch),
	L("TransactionResponseRegion", xs_resp_region, f_resp),
	L("TpuToPackMessage", xs_tpu_to_pack, f_tpu),
	L("ProgressMessage", xs_progress, f_prog),
	L("PackToWorkerMessage", xs_pack_to_worker, f_p2w),
	L("WorkerToPackMessage", xs_worker_to_pack, f_w2p),
	L("worker_message_types::ExecutionResponse", xs_exec_resp, f_exec),
	L("worker_message_types::CheckResponse", xs_check_resp, f_check),
};
#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

/* Keys of layout_rust.json that other parts of xsched check. */
static const char *const foreign_structs[] = { "handshake::ClientLogon" };
static const char *const foreign_constants[] = {
	"handshake_VERSION", "LOGON_SUCCESS", "LOGON_FAILURE", "MAX_WORKERS",
	"MAX_ALLOCATOR_HANDLES", "GLOBAL_ALLOCATORS", "GLOBAL_SHMEM", "HANDSHAKE_BUFFER_SIZE",
	"logon_flags::REROUTE_VOTES", "rts_alloc_MAGIC", "rts_alloc_VERSION",
	"rts_alloc_size_classes", "server_allocator_slab_size",
};

static int in_list(const char *const *list, size_t n, const char *s)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (!strcmp(list[k], s))
			return 1;
	return 0;
}

static void check_struct(const struct c_layout *l, const struct j_val *js)
{
	const struct j_val *fields = j_get(js, "fields") ? j_get(js, "fields") : j_get(js, "offsets");
	size_t k, j, end;

	T_ASSERT(js->n == 3 && j_get(js, "size") && j_get(js, "align") && fields,
		 "(%s: unexpected keys)", l->json);
	T_EQ(j_int(j_get(js, "size"), "size"), l->size);
	T_EQ(j_int(j_get(js, "align"), "align"), l->align);
	T_ASSERT(fields->type == J_OBJ);
	if (fields->n != l->nf)
		t_fail(__FILE__, __LINE__, "%s: json has %zu fields, C has %zu", l->json, fields->n,
		       l->nf);
	for (k = 0; k < l->nf; k++) {
		const struct j_val *o = j_get(fields, l->f[k].name);

		if (!o)
			t_fail(__FILE__, __LINE__, "%s.%s missing from layout_rust.json", l->json,
			       l->f[k].name);
		if ((size_t)j_int(o, l->f[k].name) != l->f[k].off)
			t_fail(__FILE__, __LINE__, "%s.%s: rustc offset %lld, C offset %zu", l->json,
			       l->f[k].name, o->i, l->f[k].off);
	}
	/* Fields are in declaration order, do not overlap and fit the struct. */
	for (k = 0, end = 0; k < l->nf; k++) {
		T_ASSERT(l->f[k].off >= end, "(%s.%s overlaps)", l->json, l->f[k].name);
		end = l->f[k].off + l->f[k].size;
		for (j = 0; j < k; j++)
			T_ASSERT(strcmp(l->f[j].name, l->f[k].name));
	}
	T_ASSERT(end <= l->size);
}

static void check_layout_json(void)
{
	size_t len, k, a;
	uint8_t *text = t_read_vector("layout_rust.json", &len);
	struct j_val doc;
	const struct j_val *mfs, *cst;

	j_parse((const char *)text, len, &doc);
	T_ASSERT(doc.type == J_OBJ);
	/* Every top-level key is a known struct, a foreign struct or a section. */
	for (k = 0; k < doc.n; k++) {
		const char *key = doc.keys[k];
		size_t i;
		int found = 0;

		if (!strcmp(key, "shaq_minimum_file_size") || !strcmp(key, "constants") ||
		    in_list(foreign_structs, sizeof(foreign_structs) / sizeof(*foreign_structs), key))
			continue;
		for (i = 0; i < NLAYOUTS; i++)
			if (!strcmp(layouts[i].json, key)) {
				check_struct(&layouts[i], &doc.v[k]);
				found = 1;
			}
		if (!found)
			t_fail(__FILE__, __LINE__, "layout_rust.json has struct %s unknown to msg.h", key);
	}
	for (k = 0; k < NLAYOUTS; k++)
		T_ASSERT(j_get(&doc, layouts[k].json), "(%s missing from json)", layouts[k].json);

	/* shaq minimum_file_size examples (capacity 1) and the header size. */
	mfs = j_get(&doc, "shaq_minimum_file_size");
	T_ASSERT(mfs && mfs->type == J_OBJ && mfs->n == 6);
	T_EQ(j_int(j_get(mfs, "TpuToPackMessage_cap1"), "tpu"),
	     xs_spsc_min_file_size(1, sizeof(struct xs_tpu_to_pack), _Alignof(struct xs_tpu_to_pack)));
	T_EQ(j_int(j_get(mfs, "ProgressMessage_cap1"), "progress"),
	     xs_spsc_min_file_size(1, sizeof(struct xs_progress), _Alignof(struct xs_progress)));
	T_EQ(j_int(j_get(mfs, "PackToWorkerMessage_cap1"), "p2w"),
	     xs_spsc_min_file_size(1, sizeof(struct xs_pack_to_worker),
				   _Alignof(struct xs_pack_to_worker)));
	T_EQ(j_int(j_get(mfs, "WorkerToPackMessage_cap1"), "w2p"),
	     xs_spsc_min_file_size(1, sizeof(struct xs_worker_to_pack),
				   _Alignof(struct xs_worker_to_pack)));
	T_EQ(j_int(j_get(mfs, "u64_cap1"), "u64"), xs_spsc_min_file_size(1, 8, 8));
	T_EQ(j_int(j_get(mfs, "header_bytes_for_align_le_64"), "hdr"), XS_SPSC_HEADER_SIZE);
	T_EQ(sizeof(struct xs_spsc_shm), XS_SPSC_HEADER_SIZE);
	for (a = 1; a <= 64; a *= 2)
		T_EQ(xs_spsc_buffer_offset(a), XS_SPSC_HEADER_SIZE);

	/* Constants defined by msg.h / spsc.h; the rest belong to other parts. */
	cst = j_get(&doc, "constants");
	T_ASSERT(cst && cst->type == J_OBJ);
	for (k = 0; k < cst->n; k++) {
		const char *key = cst->keys[k];
		long long want;

		if (in_list(foreign_constants, sizeof(foreign_constants) / sizeof(*foreign_constants),
			    key))
			continue;
		if (!strcmp(key, "MAX_TRANSACTIONS_PER_MESSAGE"))
			want = XS_MAX_TXS_PER_BATCH;
		else if (!strcmp(key, "IS_NOT_LEADER"))
			want = XS_LEADER_IS_NOT_LEADER;
		else if (!strcmp(key, "IS_LEADER"))
			want = XS_LEADER_IS_LEADER;
		else if (!strcmp(key, "shaq_VERSION"))
			want = XS_SHAQ_VERSION_1_0;
		else
			t_fail(__FILE__, __LINE__, "layout_rust.json constant %s is unknown", key);
		if (j_int(&cst->v[k], key) != want)
			t_fail(__FILE__, __LINE__, "constant %s: json %lld, C %lld", key, cst->v[k].i, want);
	}
	j_free(&doc);
	free(text);
}

/* ---------------------------------------------------------- msg_*.bin */

/* Padding ranges (inclusive) from the vectors README, section (e). */
static const size_t pad_tpu[] = { 12, 15, 33, 39 };
static const size_t pad_prog[] = { 1, 7, 41, 47 };
static const size_t pad_p2w[] = { 2, 7, 17, 23 };
static const size_t pad_w2p[] = { 1, 7, 17, 23, 26, 31 };
static const size_t pad_exec[] = { 1, 7 };
static const size_t pad_check[] = { 4, 7, 60, 63 };

/* The message bodies, written field by field into *m (which the caller
 * either zeroed or filled with garbage). */
static void build_tpu(struct xs_tpu_to_pack *t)
{
	static const uint8_t addr[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 };

	t->transaction.offset = 0x1000;
	t->transaction.length = 101;
	t->flags = 1;
	memcpy(t->src_addr, addr, sizeof(addr));
}

static void build_progress(struct xs_progress *p)
{
	p->leader_state = XS_LEADER_IS_LEADER;
	p->current_slot = 0x0102030405060708ull;
	p->next_leader_slot = 0x1112131415161718ull;
	p->leader_range_end = 0x2122232425262728ull;
	p->remaining_cost_units = 48000000;
	p->current_slot_progress = 42;
}

static void build_p2w(struct xs_pack_to_worker *m)
{
	m->flags = XS_PACK_EXECUTE;
	m->max_working_slot = 0x0A0B0C0D0E0F1011ull;
	m->batch.num_transactions = XS_MAX_TXS_PER_BATCH;
	m->batch.transactions_offset = 0x00200040;
}

static void build_w2p(struct xs_worker_to_pack *m)
{
	m->batch.num_transactions = 64;
	m->batch.transactions_offset = 0x00200040;
	m->processed_code = XS_PROCESSED;
	m->responses.tag = XS_RESP_EXECUTION;
	m->responses.num_transaction_responses = 64;
	m->responses.transaction_responses_offset = 0x00400080;
}

static void build_exec(struct xs_exec_resp *m)
{
	m->not_included_reason = XS_NIR_ALREADY_PROCESSED;
	m->cost_units = 0x1234;
	m->fee_payer_balance = 0x0102030405060708ull;
}

static void build_check(struct xs_check_resp *m)
{
	m->parsing_and_sanitization_flags = XS_PARSE_FAILED;
	m->status_check_flags = XS_STATUS_REQUESTED | XS_STATUS_PERFORMED;
	m->fee_payer_balance_flags = XS_BALANCE_REQUESTED | XS_BALANCE_PERFORMED;
	m->resolve_flags = XS_RESOLVE_REQUESTED | XS_RESOLVE_PERFORMED;
	m->included_slot = 0x11;
	m->balance_slot = 0x22;
	m->fee_payer_balance = 0x33;
	m->resolution_slot = 0x44;
	m->min_alt_deactivation_slot = UINT64_MAX;
	m->resolved_pubkeys.offset = 0x00300000;
	m->resolved_pubkeys.num_pubkeys = 5;
}

/* Zeroed build == vector; garbage build == vector outside padding; and the
 * mask is exactly the complement of the fields (garbage survives only there). */
#define CHECK_MSG(file, T, build, pad)                                                  \
	do {                                                                            \
		size_t len_, i_, k_;                                                    \
		uint8_t *want_ = t_read_vector(file, &len_);                            \
		T m_;                                                                   \
		const uint8_t *b_ = (const uint8_t *)&m_;                               \
									                \
		T_EQ(len_, sizeof(T));                                                  \
		memset(&m_, 0, sizeof(m_));                                             \
		build(&m_);                                                             \
		T_BYTES(file, b_, want_, sizeof(T));                                    \
		memset(&m_, 0xA5, sizeof(m_));                                          \
		build(&m_);                                                             \
		T_BYTES_MASKED(file " (garbage padding)", b_, want_, sizeof(T), pad,    \
			       sizeof(pad) / sizeof(pad[0]) / 2);                       \
		for (i_ = 0; i_ < sizeof(T); i_++) {                                    \
			int in_pad_ = 0;                                                \
			for (k_ = 0; k_ < sizeof(pad) / sizeof(pad[0]); k_ += 2)        \
				in_pad_ |= i_ >= pad[k_] && i_ <= pad[k_ + 1];          \
			if (in_pad_)                                                    \
				T_ASSERT(b_[i_] == 0xA5 && want_[i_] == 0,              \
					 "(%s byte %zu is padding)", file, i_);          \
		}                                                                       \
		free(want_);                                                            \
	} while (0)

static void check_messages(void)
{
	CHECK_MSG("msg_tpu_to_pack_k1.bin", struct xs_tpu_to_pack, build_tpu, pad_tpu);
	CHECK_MSG("msg_progress.bin", struct xs_progress, build_progress, pad_prog);
	CHECK_MSG("msg_pack_to_worker.bin", struct xs_pack_to_worker, build_p2w, pad_p2w);
	CHECK_MSG("msg_worker_to_pack.bin", struct xs_worker_to_pack, build_w2p, pad_w2p);
	CHECK_MSG("msg_execution_response.bin", struct xs_exec_resp, build_exec, pad_exec);
	CHECK_MSG("msg_check_response.bin", struct xs_check_resp, build_check, pad_check);
}

/* Decoding direction: the vector's bytes read through the C struct. */
static void check_decode(void)
{
	size_t len;
	uint8_t *b;
	struct xs_tpu_to_pack t;
	struct xs_check_resp c;
	struct xs_worker_to_pack w;

	b = t_read_vector("msg_tpu_to_pack_k1.bin", &len);
	memcpy(&t, b, sizeof(t));
	T_EQ(t.transaction.offset, 0x1000);
	T_EQ(t.transaction.length, 101);
	T_EQ(t.flags, XS_TPU_FLAG_IS_SIMPLE_VOTE);
	T_EQ(t.src_addr[10], 0xff);
	T_EQ(t.src_addr[11], 0xff);
	T_EQ(t.src_addr[12], 10);
	T_EQ(t.src_addr[15], 1);
	free(b);

	b = t_read_vector("msg_check_response.bin", &len);
	memcpy(&c, b, sizeof(c));
	T_EQ(c.status_check_flags, 0x03);
	T_EQ(c.min_alt_deactivation_slot, UINT64_MAX);
	T_EQ(c.resolved_pubkeys.offset, 0x00300000);
	T_EQ(c.resolved_pubkeys.num_pubkeys, 5);
	free(b);

	b = t_read_vector("msg_worker_to_pack.bin", &len);
	memcpy(&w, b, sizeof(w));
	T_EQ(w.batch.num_transactions, 64);
	T_EQ(w.responses.transaction_responses_offset, 0x00400080);
	T_EQ(w.responses.num_transaction_responses, 64);
	free(b);
}


/* =================================================== every bindings version */
/*
 * The same checks for the layouts of VERSION 1 (v1/layout_rust_v1.json),
 * VERSION 4 (v4/layout4_rust.json) and bindings 6
 * (current/layout6_rust.json), their constants against the meaning tables
 * of xs_bindings_get(), and every single-message vector of those folders.
 */

static const struct c_field f_p2w_v1[] = { F(xs_v1_pack_to_worker, flags),
					   F(xs_v1_pack_to_worker, max_execution_slot),
					   F(xs_v1_pack_to_worker, batch) };
static const struct c_field f_w2p_v1[] = { F(xs_v1_worker_to_pack, batch),
					   F(xs_v1_worker_to_pack, processed),
					   F(xs_v1_worker_to_pack, responses) };
static const struct c_field f_resolved[] = {
	F(xs_v1_resolved, success), F(xs_v1_resolved, slot),
	F(xs_v1_resolved, min_alt_deactivation_slot), F(xs_v1_resolved, resolved_pubkeys),
};
static const struct c_field f_exec3[] = { F(xs_v3_exec_resp, execution_slot),
					  F(xs_v3_exec_resp, not_included_reason),
					  F(xs_v3_exec_resp, cost_units),
					  F(xs_v3_exec_resp, fee_payer_balance) };
static const struct c_field f_prog4[] = {
	F(xs_v4_progress, leader_state),     F(xs_v4_progress, current_slot_progress),
	F(xs_v4_progress, epoch),            F(xs_v4_progress, current_slot),
	F(xs_v4_progress, next_leader_slot), F(xs_v4_progress, leader_range_end),
	F(xs_v4_progress, remaining_cost_units), F(xs_v4_progress, latest_blockhash),
};
static const struct c_field f_region6[] = { F(xs_v6_resp_region, num_transaction_responses),
					    F(xs_v6_resp_region, transaction_responses_offset) };
static const struct c_field f_prog6[] = {
	F(xs_v6_progress, leader_state),     F(xs_v6_progress, current_slot_progress),
	F(xs_v6_progress, epoch),            F(xs_v6_progress, current_slot),
	F(xs_v6_progress, next_leader_slot), F(xs_v6_progress, leader_range_end),
	F(xs_v6_progress, remaining_cost_units),
	F(xs_v6_progress, remaining_allocated_accounts_data_size),
	F(xs_v6_progress, latest_blockhash), F(xs_v6_progress, target_bank_time_ms),
};
static const struct c_field f_p2e6[] = { F(xs_v6_pack_to_exec, flags),
					 F(xs_v6_pack_to_exec, max_working_slot),
					 F(xs_v6_pack_to_exec, batch) };
static const struct c_field f_p2c6[] = { F(xs_v6_pack_to_check, flags), F(xs_v6_pack_to_check, batch) };
static const struct c_field f_e2p6[] = { F(xs_v6_exec_to_pack, batch),
					 F(xs_v6_exec_to_pack, processed_code),
					 F(xs_v6_exec_to_pack, responses) };
static const struct c_field f_c2p6[] = { F(xs_v6_check_to_pack, batch),
					 F(xs_v6_check_to_pack, processed_code),
					 F(xs_v6_check_to_pack, responses) };
static const struct c_field f_check6[] = {
	F(xs_v6_check_resp, parsing_and_sanitization_flags), F(xs_v6_check_resp, status_check_flags),
	F(xs_v6_check_resp, fee_payer_balance_flags),        F(xs_v6_check_resp, resolve_flags),
	F(xs_v6_check_resp, scheduling_details_flags),       F(xs_v6_check_resp, included_slot),
	F(xs_v6_check_resp, transaction_fee),                F(xs_v6_check_resp, prioritization_fee),
	F(xs_v6_check_resp, estimated_cost_units),
	F(xs_v6_check_resp, allocated_accounts_data_size),  F(xs_v6_check_resp, balance_slot),
	F(xs_v6_check_resp, fee_payer_balance),              F(xs_v6_check_resp, resolution_slot),
	F(xs_v6_check_resp, min_alt_deactivation_slot),      F(xs_v6_check_resp, resolved_pubkeys),
};

static const struct c_layout layouts_v1[] = {
	L("SharableTransactionRegion", xs_tx_region, f_txr),
	L("SharablePubkeys", xs_pubkeys, f_pk),
	L("SharableTransactionBatchRegion", xs_batch_region, f_batch),
	L("TransactionResponseRegion", xs_resp_region, f_resp),
	L("TpuToPackMessage", xs_tpu_to_pack, f_tpu),
	L("ProgressMessage", xs_progress, f_prog),
	L("PackToWorkerMessage", xs_v1_pack_to_worker, f_p2w_v1),
	L("WorkerToPackMessage", xs_v1_worker_to_pack, f_w2p_v1),
	L("ExecutionResponse", xs_exec_resp, f_exec),
	L("Resolved", xs_v1_resolved, f_resolved),
};

static const struct c_layout layouts_v4[] = {
	L("SharableTransactionRegion", xs_tx_region, f_txr),
	L("SharablePubkeys", xs_pubkeys, f_pk),
	L("SharableTransactionBatchRegion", xs_batch_region, f_batch),
	L("TransactionResponseRegion", xs_resp_region, f_resp),
	L("TpuToPackMessage", xs_tpu_to_pack, f_tpu),
	L("ProgressMessage", xs_v4_progress, f_prog4),
	L("PackToWorkerMessage", xs_pack_to_worker, f_p2w),
	L("WorkerToPackMessage", xs_worker_to_pack, f_w2p),
	L("ExecutionResponse", xs_v3_exec_resp, f_exec3),
	L("CheckResponse", xs_check_resp, f_check),
};

static const struct c_layout layouts_v6[] = {
	L("SharableTransactionRegion", xs_tx_region, f_txr),
	L("SharablePubkeys", xs_pubkeys, f_pk),
	L("SharableTransactionBatchRegion", xs_batch_region, f_batch),
	L("ExecutionResponseRegion", xs_v6_resp_region, f_region6),
	L("CheckResponseRegion", xs_v6_resp_region, f_region6),
	L("TpuToPackMessage", xs_tpu_to_pack, f_tpu),
	L("ProgressMessage", xs_v6_progress, f_prog6),
	L("PackToExecutionWorkerMessage", xs_v6_pack_to_exec, f_p2e6),
	L("PackToCheckWorkerMessage", xs_v6_pack_to_check, f_p2c6),
	L("ExecutionWorkerToPackMessage", xs_v6_exec_to_pack, f_e2p6),
	L("CheckWorkerToPackMessage", xs_v6_check_to_pack, f_c2p6),
	L("ExecutionResponse", xs_v3_exec_resp, f_exec3),
	L("CheckResponse", xs_v6_check_resp, f_check6),
};

/* Every struct of @p doc (an object of name -> {size, align, fields|offsets})
 * is in @p ls (or skipped: @p skip), and every entry of @p ls is in @p doc. */
static void check_structs(const char *file, const struct j_val *doc, const struct c_layout *ls,
			  size_t n, const char *const *skip, size_t nskip)
{
	size_t k, i;

	T_ASSERT(doc && doc->type == J_OBJ, "(%s: no struct table)", file);
	for (k = 0; k < doc->n; k++) {
		const char *key = doc->keys[k];
		int found = 0;

		if (in_list(skip, nskip, key))
			continue;
		for (i = 0; i < n; i++)
			if (!strcmp(ls[i].json, key)) {
				check_struct(&ls[i], &doc->v[k]);
				found = 1;
			}
		if (!found)
			t_fail(__FILE__, __LINE__, "%s has struct %s unknown to msg.h", file, key);
	}
	for (i = 0; i < n; i++)
		T_ASSERT(j_get(doc, ls[i].json), "(%s missing from %s)", ls[i].json, file);
}

/* The meaning set(s) a JSON constant prefix names. */
static int const_sets(const char *prefix, enum xs_meaning sets[3])
{
	static const struct {
		const char *prefix;
		enum xs_meaning a, b, c;
		int n;
	} map[] = {
		{ "", XS_M_PROCESSED, XS_M_LEADER_STATE, XS_M_RESOLVED, 3 },
		{ "pack_message_flags", XS_M_EXEC_FLAGS, XS_M_CHECK_FLAGS, 0, 2 },
		{ "pack_message_flags::execution_flags", XS_M_EXEC_FLAGS, 0, 0, 1 },
		{ "pack_message_flags::check_flags", XS_M_CHECK_FLAGS, 0, 0, 1 },
		{ "processed_codes", XS_M_PROCESSED, 0, 0, 1 },
		{ "worker_message_types", XS_M_TAG, 0, 0, 1 },
		{ "not_included_reasons", XS_M_REASON, 0, 0, 1 },
		{ "tpu_message_flags", XS_M_TPU_FLAGS, 0, 0, 1 },
		{ "parsing_and_sanitization_flags", XS_M_PARSE_FLAGS, 0, 0, 1 },
		{ "status_check_flags", XS_M_STATUS_FLAGS, 0, 0, 1 },
		{ "fee_payer_balance_flags", XS_M_BALANCE_FLAGS, 0, 0, 1 },
		{ "resolve_flags", XS_M_RESOLVE_FLAGS, 0, 0, 1 },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].prefix, prefix)) {
			sets[0] = map[i].a;
			sets[1] = map[i].b;
			sets[2] = map[i].c;
			return map[i].n;
		}
	return 0;
}

/* Each constant of @p cst is the value of the same name in table @p id
 * (or one of the listed special keys). @return how many were compared. */
static int check_constants(const char *file, const struct j_val *cst, unsigned id)
{
	const struct xs_bindings *b = xs_bindings_get(id);
	int compared = 0;

	T_ASSERT(b && cst && cst->type == J_OBJ);
	for (size_t k = 0; k < cst->n; k++) {
		const char *key = cst->keys[k], *name = strrchr(key, ':');
		long long want = j_int(&cst->v[k], key);
		enum xs_meaning sets[3];
		char prefix[96];
		int nsets, found = 0;

		if (!strcmp(key, "MAX_TRANSACTIONS_PER_MESSAGE")) {
			T_EQ(want, XS_MAX_TXS_PER_BATCH);
			continue;
		}
		if (!strcmp(key, "handshake::MAX_WORKERS")) {
			T_EQ(want, 64); /* the handshake tests own it */
			continue;
		}
		if (!strncmp(key, "shaq_0_2_0::minimum_file_size::<TpuToPackMessage>(8)", 60)) {
			T_EQ(want, xs_spsc_min_file_size(8, sizeof(struct xs_tpu_to_pack), 8));
			continue;
		}
		if (!strcmp(key, "shaq_0_2_0::minimum_file_size::<WorkerToPackMessage>(4)")) {
			T_EQ(want, xs_spsc_min_file_size(4, sizeof(struct xs_worker_to_pack), 8));
			continue;
		}
		name = name ? name + 1 : key;
		snprintf(prefix, sizeof(prefix), "%.*s", name > key + 2 ? (int)(name - key - 2) : 0, key);
		nsets = const_sets(prefix, sets);
		T_ASSERT(nsets > 0, "(%s: constant %s has an unknown prefix)", file, key);
		for (int s = 0; s < nsets; s++)
			for (unsigned i = 0; i < b->nmeaning[sets[s]]; i++)
				if (!strcmp(b->meaning[sets[s]][i].name, name)) {
					if ((long long)b->meaning[sets[s]][i].value != want)
						t_fail(__FILE__, __LINE__, "%s: %s = %lld, bindings %s has %u",
						       file, key, want, b->name, b->meaning[sets[s]][i].value);
					found = 1;
				}
		if (!found)
			t_fail(__FILE__, __LINE__, "%s: constant %s missing from bindings %s", file, key,
			       b->name);
		compared++;
	}
	return compared;
}

/* The table itself: sizes equal the C structs, bitmaps and masks agree
 * with the named values, codes and tags are named. */
static void check_table(void)
{
	static const size_t sizes[][XS_MSG_TYPES] = {
		[XS_BIND_3_1] = { sizeof(struct xs_tpu_to_pack), sizeof(struct xs_progress),
				  sizeof(struct xs_v1_pack_to_worker), sizeof(struct xs_v1_worker_to_pack),
				  0, 0, sizeof(struct xs_exec_resp), sizeof(struct xs_v1_resolved) },
		[XS_BIND_V2] = { sizeof(struct xs_tpu_to_pack), sizeof(struct xs_progress),
				 sizeof(struct xs_pack_to_worker), sizeof(struct xs_worker_to_pack),
				 0, 0, sizeof(struct xs_exec_resp), sizeof(struct xs_check_resp) },
		[XS_BIND_V3] = { sizeof(struct xs_tpu_to_pack), sizeof(struct xs_progress),
				 sizeof(struct xs_pack_to_worker), sizeof(struct xs_worker_to_pack),
				 0, 0, sizeof(struct xs_v3_exec_resp), sizeof(struct xs_check_resp) },
		[XS_BIND_V4] = { sizeof(struct xs_tpu_to_pack), sizeof(struct xs_v4_progress),
				 sizeof(struct xs_pack_to_worker), sizeof(struct xs_worker_to_pack),
				 0, 0, sizeof(struct xs_v3_exec_resp), sizeof(struct xs_check_resp) },
		[XS_BIND_5] = { sizeof(struct xs_tpu_to_pack), sizeof(struct xs_v4_progress),
				sizeof(struct xs_pack_to_worker), sizeof(struct xs_worker_to_pack),
				sizeof(struct xs_pack_to_worker), sizeof(struct xs_worker_to_pack),
				sizeof(struct xs_v3_exec_resp), sizeof(struct xs_check_resp) },
		[XS_BIND_6] = { sizeof(struct xs_tpu_to_pack), sizeof(struct xs_v6_progress),
				sizeof(struct xs_v6_pack_to_exec), sizeof(struct xs_v6_exec_to_pack),
				sizeof(struct xs_v6_pack_to_check), sizeof(struct xs_v6_check_to_pack),
				sizeof(struct xs_v3_exec_resp), sizeof(struct xs_v6_check_resp) },
	};

	T_ASSERT(!xs_bindings_get(0) && !xs_bindings_get(XS_BIND_MAX + 1));
	for (unsigned id = XS_BIND_MIN; id <= XS_BIND_MAX; id++) {
		const struct xs_bindings *b = xs_bindings_get(id);
		uint64_t bits[2] = { 0, 0 };
		unsigned exec = 0, check = 0, i, m;

		T_ASSERT(b && b->id == id && b->name && b->upstream);
		for (m = 0; m < XS_MSG_TYPES; m++)
			T_EQ(b->size[m], sizes[id][m]);
		for (i = 0; i < b->nmeaning[XS_M_REASON]; i++) {
			unsigned r = b->meaning[XS_M_REASON][i].value;

			T_ASSERT(r < 128);
			bits[r >> 6] |= 1ull << (r & 63);
			T_ASSERT(xs_bindings_reason_known(b, r));
			T_ASSERT(!strcmp(xs_bindings_name(b, XS_M_REASON, r),
					 b->meaning[XS_M_REASON][i].name));
		}
		T_EQ(bits[0], b->reasons[0]);
		T_EQ(bits[1], b->reasons[1]);
		for (i = 0; i < b->nmeaning[XS_M_EXEC_FLAGS]; i++)
			exec |= b->meaning[XS_M_EXEC_FLAGS][i].value;
		for (i = 0; i < b->nmeaning[XS_M_CHECK_FLAGS]; i++)
			check |= b->meaning[XS_M_CHECK_FLAGS][i].value;
		T_EQ(exec, b->exec_allowed);
		T_EQ(check, b->check_allowed);
		/* the processed codes: every defined value has a name and a status */
		T_EQ(b->nmeaning[XS_M_PROCESSED], b->code_slot == 0xFF ? 2 : 3);
		T_EQ(xs_bindings_status(b, b->code_processed), XS_RESP_ST_PROCESSED);
		T_ASSERT(xs_bindings_name(b, XS_M_PROCESSED, b->code_processed) &&
			 !strcmp(xs_bindings_name(b, XS_M_PROCESSED, b->code_processed), "PROCESSED"));
		T_EQ(xs_bindings_status(b, 7), XS_RESP_ST_UNKNOWN);
		T_EQ(b->nmeaning[XS_M_LEADER_STATE], b->leader_state_max + 1u);
		T_EQ(b->nmeaning[XS_M_TAG], b->tagged ? 2 : 0);
		if (b->size[XS_MSG_CHECK_RESPONSE] != 40) {
			unsigned st = 0;

			for (i = 0; i < b->nmeaning[XS_M_STATUS_FLAGS]; i++)
				st |= b->meaning[XS_M_STATUS_FLAGS][i].value;
			T_EQ(st, b->check_bits[1]);
		}
	}
	/* version-specific meanings of the same numbers */
	T_ASSERT(!strcmp(xs_bindings_name(xs_bindings_get(XS_BIND_3_1), XS_M_REASON, 2), "SLOT_MISMATCH"));
	T_ASSERT(!xs_bindings_name(xs_bindings_get(XS_BIND_V2), XS_M_REASON, 2));
	T_ASSERT(!strcmp(xs_bindings_name(xs_bindings_get(XS_BIND_5), XS_M_REASON, 2),
			 "PARTIAL_BATCH_CANCELLED"));
	T_ASSERT(!strcmp(xs_bindings_name(xs_bindings_get(XS_BIND_3_1), XS_M_PROCESSED, 1), "PROCESSED"));
	T_ASSERT(!strcmp(xs_bindings_name(xs_bindings_get(XS_BIND_V2), XS_M_PROCESSED, 1), "INVALID"));
	T_ASSERT(!strcmp(xs_bindings_name(xs_bindings_get(XS_BIND_3_1), XS_M_TAG, 1), "RESOLVED"));
	T_ASSERT(!strcmp(xs_bindings_name(xs_bindings_get(XS_BIND_V3), XS_M_LEADER_STATE, 1),
			 "LEADER_STARTING"));
	T_ASSERT(!strcmp(xs_bindings_name(xs_bindings_get(XS_BIND_V4), XS_M_STATUS_FLAGS, 0x20),
			 "UNSUPPORTED_VERSION"));
	T_ASSERT(!xs_bindings_name(xs_bindings_get(XS_BIND_V3), XS_M_STATUS_FLAGS, 0x20));
	T_ASSERT(!strcmp(xs_bindings_name(xs_bindings_get(XS_BIND_6), XS_M_CHECK_FLAGS, 8),
			 "CALCULATE_SCHEDULING_DETAILS"));
	T_ASSERT(!xs_bindings_name(NULL, XS_M_TAG, 0) &&
		 !xs_bindings_name(xs_bindings_get(XS_BIND_6), XS_M_COUNT, 0));
}

static struct j_val *load(const char *file, struct j_val *doc)
{
	size_t len;
	uint8_t *text = t_read_vector(file, &len);

	j_parse((const char *)text, len, doc);
	free(text);
	T_ASSERT(doc->type == J_OBJ);
	return doc;
}

static void check_json_v1(void)
{
	static const char *const skip[] = { "ClientLogon" };
	struct j_val doc;

	load("v1/layout_rust_v1.json", &doc);
	T_EQ(doc.n, 2);
	check_structs("layout_rust_v1.json", j_get(&doc, "structs"), layouts_v1,
		      sizeof(layouts_v1) / sizeof(layouts_v1[0]), skip, 1);
	T_ASSERT(check_constants("layout_rust_v1.json", j_get(&doc, "constants"), XS_BIND_3_1) >= 18);
	j_free(&doc);
}

static void check_json_v4(void)
{
	static const char *const skip[] = { "ClientLogon", "constants" };
	struct j_val doc;

	load("v4/layout4_rust.json", &doc);
	check_structs("layout4_rust.json", &doc, layouts_v4, sizeof(layouts_v4) / sizeof(layouts_v4[0]),
		      skip, 2);
	/* the constants of the 4.2 branch point: VERSION 4's table (and 5.x
	 * keeps every one of them) */
	T_ASSERT(check_constants("layout4_rust.json", j_get(&doc, "constants"), XS_BIND_V4) >= 35);
	T_ASSERT(check_constants("layout4_rust.json", j_get(&doc, "constants"), XS_BIND_5) >= 35);
	j_free(&doc);
}

static void check_json_v6(void)
{
	static const char *const skip[] = { "bindings_crate", "version_fn",
					    "MAX_TRANSACTIONS_PER_MESSAGE" };
	struct j_val doc;

	load("current/layout6_rust.json", &doc);
	check_structs("layout6_rust.json", &doc, layouts_v6, sizeof(layouts_v6) / sizeof(layouts_v6[0]),
		      skip, 3);
	T_EQ(j_int(j_get(&doc, "version_fn"), "version_fn"), XS_BIND_6);
	T_EQ(j_int(j_get(&doc, "MAX_TRANSACTIONS_PER_MESSAGE"), "max"), XS_MAX_TXS_PER_BATCH);
	j_free(&doc);
}

/* ------------------------------------------------ message vectors, v1 */

static const size_t pad_v1_resolved[] = { 1, 7, 36, 39 };

static void set_addr(uint8_t *a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3)
{
	memset(a, 0, 16);
	a[10] = a[11] = 0xff;
	a[12] = b0;
	a[13] = b1;
	a[14] = b2;
	a[15] = b3;
}

static void v1_tpu(struct xs_tpu_to_pack *t)
{
	t->transaction.offset = 0x200100;
	t->transaction.length = 0x1F3;
	t->flags = XS_TPU_FLAG_IS_SIMPLE_VOTE | XS_TPU_FLAG_FROM_STAKED_NODE;
	set_addr(t->src_addr, 192, 168, 1, 1);
}

static void v1_prog_leader(struct xs_progress *p)
{
	build_progress(p); /* the seed-era values are the same */
}

static void v1_prog_not_leader(struct xs_progress *p)
{
	p->leader_state = XS_LEADER_IS_NOT_LEADER;
	p->current_slot = 0x31;
	p->next_leader_slot = UINT64_MAX;
	p->leader_range_end = UINT64_MAX;
	p->remaining_cost_units = 0;
	p->current_slot_progress = 99;
}

static void v1_p2w_none(struct xs_v1_pack_to_worker *m)
{
	m->flags = XS_V1_PACK_NONE;
	m->max_execution_slot = 0x0A0B0C0D0E0F1011ull;
	m->batch.num_transactions = 64;
	m->batch.transactions_offset = 0x200040;
}

static void v1_p2w_resolve(struct xs_v1_pack_to_worker *m)
{
	m->flags = XS_V1_PACK_RESOLVE;
	m->max_execution_slot = 0x1A1B1C1D1E1F2021ull;
	m->batch.num_transactions = 3;
	m->batch.transactions_offset = 0x200080;
}

static void v1_w2p_exec(struct xs_v1_worker_to_pack *m)
{
	m->batch.num_transactions = 64;
	m->batch.transactions_offset = 0x200040;
	m->processed = XS_V1_PROCESSED;
	m->responses.tag = XS_V1_RESP_EXECUTION;
	m->responses.num_transaction_responses = 64;
	m->responses.transaction_responses_offset = 0x400080;
}

static void v1_w2p_resolved(struct xs_v1_worker_to_pack *m)
{
	m->batch.num_transactions = 3;
	m->batch.transactions_offset = 0x200080;
	m->processed = XS_V1_PROCESSED;
	m->responses.tag = XS_V1_RESP_RESOLVED;
	m->responses.num_transaction_responses = 3;
	m->responses.transaction_responses_offset = 0x400100;
}

static void v1_w2p_not(struct xs_v1_worker_to_pack *m)
{
	m->batch.num_transactions = 64;
	m->batch.transactions_offset = 0x200040;
	m->processed = XS_V1_NOT_PROCESSED;
	m->responses.tag = 0;
	m->responses.num_transaction_responses = 0;
	m->responses.transaction_responses_offset = 0;
}

static void v1_exec_included(struct xs_exec_resp *m)
{
	m->not_included_reason = XS_NIR_NONE;
	m->cost_units = 0x1234;
	m->fee_payer_balance = 0x0102030405060708ull;
}

static void v1_exec_mismatch(struct xs_exec_resp *m)
{
	m->not_included_reason = XS_NIR_SLOT_MISMATCH_V1;
	m->cost_units = 0;
	m->fee_payer_balance = 0;
}

static void v1_resolved_ok(struct xs_v1_resolved *m)
{
	m->success = XS_V1_RESOLVE_SUCCESS;
	m->slot = 0x0102030405060708ull;
	m->min_alt_deactivation_slot = 0x1112131415161718ull;
	m->resolved_pubkeys.offset = 0x300000;
	m->resolved_pubkeys.num_pubkeys = 5;
}

static void v1_resolved_fail(struct xs_v1_resolved *m)
{
	m->success = XS_V1_RESOLVE_FAILURE;
	m->slot = 0x22;
	m->min_alt_deactivation_slot = UINT64_MAX;
	m->resolved_pubkeys.offset = 0;
	m->resolved_pubkeys.num_pubkeys = 0;
}

static void check_messages_v1(void)
{
	CHECK_MSG("v1/msg_tpu_to_pack.bin", struct xs_tpu_to_pack, v1_tpu, pad_tpu);
	CHECK_MSG("v1/msg_progress_leader.bin", struct xs_progress, v1_prog_leader, pad_prog);
	CHECK_MSG("v1/msg_progress_not_leader.bin", struct xs_progress, v1_prog_not_leader, pad_prog);
	CHECK_MSG("v1/msg_pack_to_worker_execute_none.bin", struct xs_v1_pack_to_worker, v1_p2w_none,
		  pad_p2w);
	CHECK_MSG("v1/msg_pack_to_worker_resolve.bin", struct xs_v1_pack_to_worker, v1_p2w_resolve,
		  pad_p2w);
	CHECK_MSG("v1/msg_worker_to_pack_processed_execution.bin", struct xs_v1_worker_to_pack,
		  v1_w2p_exec, pad_w2p);
	CHECK_MSG("v1/msg_worker_to_pack_processed_resolved.bin", struct xs_v1_worker_to_pack,
		  v1_w2p_resolved, pad_w2p);
	CHECK_MSG("v1/msg_worker_to_pack_not_processed.bin", struct xs_v1_worker_to_pack, v1_w2p_not,
		  pad_w2p);
	CHECK_MSG("v1/msg_execution_response_included.bin", struct xs_exec_resp, v1_exec_included,
		  pad_exec);
	CHECK_MSG("v1/msg_execution_response_slot_mismatch.bin", struct xs_exec_resp,
		  v1_exec_mismatch, pad_exec);
	CHECK_MSG("v1/msg_resolved_success.bin", struct xs_v1_resolved, v1_resolved_ok,
		  pad_v1_resolved);
	CHECK_MSG("v1/msg_resolved_failure.bin", struct xs_v1_resolved, v1_resolved_fail,
		  pad_v1_resolved);
}

/* ------------------------------------------------ message vectors, v4 */

static const size_t pad_v4_prog[] = { 2, 7 };
static const size_t pad_v3_exec[] = { 9, 15 };

static void v4_tpu(struct xs_tpu_to_pack *t)
{
	/* message k = 0x21 of the README: offset 0x1000 k, length 100 + k, flags k */
	t->transaction.offset = 0x1000 * 0x21;
	t->transaction.length = 100 + 0x21;
	t->flags = 0x21;
	set_addr(t->src_addr, 10, 0, 0, 0x21);
}

static void v4_prog(struct xs_v4_progress *p)
{
	p->leader_state = XS_LEADER_READY;
	p->current_slot_progress = 0x42;
	p->epoch = 0x1111111111111101ull;
	p->current_slot = 0x2222222222222202ull;
	p->next_leader_slot = 0x3333333333333303ull;
	p->leader_range_end = 0x4444444444444404ull;
	p->remaining_cost_units = 0x5555555555555505ull;
	for (int i = 0; i < 32; i++)
		p->latest_blockhash[i] = (uint8_t)(0x80 + i);
}

static void v4_p2w_exec(struct xs_pack_to_worker *m)
{
	m->flags = XS_PACK_EXECUTE | XS_EXEC_DROP_ON_FAILURE | XS_EXEC_ALL_OR_NOTHING;
	m->max_working_slot = 0x0102030405060708ull;
	m->batch.num_transactions = 0x21;
	m->batch.transactions_offset = 0x1112131415161718ull;
}

static void v4_p2w_check(struct xs_pack_to_worker *m)
{
	m->flags = XS_PACK_CHECK | XS_CHECK_STATUS_CHECKS | XS_CHECK_LOAD_FEE_PAYER_BALANCE |
		   XS_CHECK_LOAD_ADDRESS_LOOKUP_TABLES;
	m->max_working_slot = 0x2122232425262728ull;
	m->batch.num_transactions = 0x31;
	m->batch.transactions_offset = 0x3132333435363738ull;
}

static void v4_w2p(struct xs_worker_to_pack *m)
{
	m->batch.num_transactions = 0x41;
	m->batch.transactions_offset = 0x4142434445464748ull;
	m->processed_code = XS_MAX_WORKING_SLOT_EXCEEDED;
	m->responses.tag = XS_RESP_CHECK;
	m->responses.num_transaction_responses = 0x42;
	m->responses.transaction_responses_offset = 0x5152535455565758ull;
}

static void v3_exec(struct xs_v3_exec_resp *m)
{
	m->execution_slot = 0x7172737475767778ull;
	m->not_included_reason = XS_NIR_PROGRAM_CACHE_HIT_MAX_LIMIT;
	m->cost_units = 0x8182838485868788ull;
	m->fee_payer_balance = 0x9192939495969798ull;
}

static void v4_check(struct xs_check_resp *m)
{
	m->parsing_and_sanitization_flags = XS_PARSE_FAILED;
	m->status_check_flags = XS_STATUS_REQUESTED | XS_STATUS_PERFORMED |
				XS_STATUS_UNSUPPORTED_VERSION;
	m->fee_payer_balance_flags = XS_BALANCE_REQUESTED | XS_BALANCE_PERFORMED;
	m->resolve_flags = XS_RESOLVE_REQUESTED | XS_RESOLVE_FAILED;
	m->included_slot = 0x0101010101010108ull;
	m->balance_slot = 0x0202020202020210ull;
	m->fee_payer_balance = 0x0303030303030318ull;
	m->resolution_slot = 0x0404040404040420ull;
	m->min_alt_deactivation_slot = 0x0505050505050528ull;
	m->resolved_pubkeys.offset = 0x0606060606060630ull;
	m->resolved_pubkeys.num_pubkeys = 0x07070738;
}

static void check_messages_v4(void)
{
	CHECK_MSG("v4/msg4_tpu_to_pack.bin", struct xs_tpu_to_pack, v4_tpu, pad_tpu);
	CHECK_MSG("v4/msg4_progress.bin", struct xs_v4_progress, v4_prog, pad_v4_prog);
	CHECK_MSG("v4/msg4_pack_to_worker_execute.bin", struct xs_pack_to_worker, v4_p2w_exec, pad_p2w);
	CHECK_MSG("v4/msg4_pack_to_worker_check.bin", struct xs_pack_to_worker, v4_p2w_check, pad_p2w);
	CHECK_MSG("v4/msg4_worker_to_pack.bin", struct xs_worker_to_pack, v4_w2p, pad_w2p);
	CHECK_MSG("v4/msg4_execution_response.bin", struct xs_v3_exec_resp, v3_exec, pad_v3_exec);
	CHECK_MSG("v4/msg4_check_response.bin", struct xs_check_resp, v4_check, pad_check);
}

/* ------------------------------------------------ message vectors, v6 */

/* padding of the bindings 6 structs (from the layout: MESSAGES6.md) */
static const size_t pad_v6_prog[] = { 2, 7, 90, 95 };
static const size_t pad_v6_p2e[] = { 2, 7, 17, 23 };
static const size_t pad_v6_p2c[] = { 2, 7, 9, 15 };
static const size_t pad_v6_w2p[] = { 1, 7, 17, 23, 25, 31 };
static const size_t pad_v6_check[] = { 5, 7, 92, 95 };

static void v6_prog(struct xs_v6_progress *p)
{
	p->leader_state = XS_LEADER_READY;
	p->current_slot_progress = 0x42;
	p->epoch = 0x1111111111111101ull;
	p->current_slot = 0x2222222222222202ull;
	p->next_leader_slot = 0x3333333333333303ull;
	p->leader_range_end = 0x4444444444444404ull;
	p->remaining_cost_units = 0x5555555555555505ull;
	p->remaining_allocated_accounts_data_size = 0x6666666666666606ull;
	for (int i = 0; i < 32; i++)
		p->latest_blockhash[i] = (uint8_t)(0x80 + i);
	p->target_bank_time_ms = 0x7788;
}

static void v6_p2e(struct xs_v6_pack_to_exec *m)
{
	m->flags = XS_V6_EXEC_DROP_ON_FAILURE | XS_V6_EXEC_ALL_OR_NOTHING;
	m->max_working_slot = 0x0102030405060708ull;
	m->batch.num_transactions = 0x21;
	m->batch.transactions_offset = 0x1112131415161718ull;
}

static void v6_p2c(struct xs_v6_pack_to_check *m)
{
	m->flags = XS_V6_CHECK_STATUS_CHECKS | XS_V6_CHECK_LOAD_FEE_PAYER_BALANCE |
		   XS_V6_CHECK_LOAD_ADDRESS_LOOKUP_TABLES | XS_V6_CHECK_CALCULATE_SCHEDULING_DETAILS;
	m->batch.num_transactions = 0x31;
	m->batch.transactions_offset = 0x2122232425262728ull;
}

static void v6_e2p(struct xs_v6_exec_to_pack *m)
{
	m->batch.num_transactions = 0x41;
	m->batch.transactions_offset = 0x3132333435363738ull;
	m->processed_code = XS_MAX_WORKING_SLOT_EXCEEDED;
	m->responses.num_transaction_responses = 0x42;
	m->responses.transaction_responses_offset = 0x4142434445464748ull;
}

static void v6_c2p(struct xs_v6_check_to_pack *m)
{
	m->batch.num_transactions = 0x51;
	m->batch.transactions_offset = 0x5152535455565758ull;
	m->processed_code = XS_PROCESSED_INVALID;
	m->responses.num_transaction_responses = 0x52;
	m->responses.transaction_responses_offset = 0x6162636465666768ull;
}

static void v6_check(struct xs_v6_check_resp *m)
{
	m->parsing_and_sanitization_flags = XS_PARSE_FAILED;
	m->status_check_flags = XS_STATUS_REQUESTED | XS_STATUS_PERFORMED |
				XS_STATUS_UNSUPPORTED_VERSION;
	m->fee_payer_balance_flags = XS_BALANCE_REQUESTED | XS_BALANCE_PERFORMED;
	m->resolve_flags = XS_RESOLVE_REQUESTED | XS_RESOLVE_FAILED;
	m->scheduling_details_flags = XS_SCHED_REQUESTED | XS_SCHED_PERFORMED;
	m->included_slot = 0x0101010101010108ull;
	m->transaction_fee = 0x0202020202020210ull;
	m->prioritization_fee = 0x0303030303030318ull;
	m->estimated_cost_units = 0x0404040404040420ull;
	m->allocated_accounts_data_size = 0x0505050505050528ull;
	m->balance_slot = 0x0606060606060630ull;
	m->fee_payer_balance = 0x0707070707070738ull;
	m->resolution_slot = 0x0808080808080840ull;
	m->min_alt_deactivation_slot = 0x0909090909090948ull;
	m->resolved_pubkeys.offset = 0x0a0a0a0a0a0a0a50ull;
	m->resolved_pubkeys.num_pubkeys = 0x0b0b0b58;
}

static void check_messages_v6(void)
{
	CHECK_MSG("current/msg6_tpu_to_pack.bin", struct xs_tpu_to_pack, v4_tpu, pad_tpu);
	CHECK_MSG("current/msg6_progress.bin", struct xs_v6_progress, v6_prog, pad_v6_prog);
	CHECK_MSG("current/msg6_pack_to_execution_worker.bin", struct xs_v6_pack_to_exec, v6_p2e,
		  pad_v6_p2e);
	CHECK_MSG("current/msg6_pack_to_check_worker.bin", struct xs_v6_pack_to_check, v6_p2c,
		  pad_v6_p2c);
	CHECK_MSG("current/msg6_execution_worker_to_pack.bin", struct xs_v6_exec_to_pack, v6_e2p,
		  pad_v6_w2p);
	CHECK_MSG("current/msg6_check_worker_to_pack.bin", struct xs_v6_check_to_pack, v6_c2p,
		  pad_v6_w2p);
	CHECK_MSG("current/msg6_execution_response.bin", struct xs_v3_exec_resp, v3_exec, pad_v3_exec);
	CHECK_MSG("current/msg6_check_response.bin", struct xs_v6_check_resp, v6_check, pad_v6_check);
}

int main(void)
{
	j_self_test();
	check_layout_json();
	check_messages();
	check_decode();
	check_table();
	check_json_v1();
	check_json_v4();
	check_json_v6();
	check_messages_v1();
	check_messages_v4();
	check_messages_v6();
	printf("test_msg_layout: VERSION 2 (%zu structs, 6 messages), VERSION 1 (%zu, 12), "
	       "VERSION 4 (%zu, 7), bindings 6 (%zu, 8), %d bindings tables OK\n", NLAYOUTS,
	       sizeof(layouts_v1) / sizeof(layouts_v1[0]), sizeof(layouts_v4) / sizeof(layouts_v4[0]),
	       sizeof(layouts_v6) / sizeof(layouts_v6[0]), XS_BIND_MAX - XS_BIND_MIN + 1);
	return 0;
}
