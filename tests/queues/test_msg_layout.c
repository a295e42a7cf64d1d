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
	const struct j_val *fields = j_get(js, "fields");
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

int main(void)
{
	j_self_test();
	check_layout_json();
	check_messages();
	check_decode();
	printf("test_msg_layout: %zu structs, 6 messages OK\n", NLAYOUTS);
	return 0;
}
