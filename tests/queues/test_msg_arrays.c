/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: VERSION 1 (agave 3.1.x) response arrays, byte for byte
 * against vectors/v1 section (b). The upstream generator created a
 * 128 KiB rts-alloc 0.2.0 file (2 workers, 16 KiB slabs), joined worker 1,
 * allocated 64 bytes of resolved keys (32 x 0x11 writable, 32 x 0x22
 * read-only), then let the 3.1.x helpers build a Resolved[3] and an
 * ExecutionResponse[3] array with worker 1 (one allocation of n x size
 * each, items written in order). The same steps with xsched's allocator (0.2
 * format, upstream policy, no ABA tag) and the VERSION 1 structs of msg.h
 * must give the same offsets (responses_regions.json), the same two region
 * structs (region_*3.bin), the same array bytes (array_*3.bin) and the same
 * whole allocator file (rtsalloc_128KiB_slab16KiB_w2_responses.bin).
 */
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "xsched/alloc.h"
#include "xsched/msg.h"
#include "xsched/shm.h"

#define FILE_SIZE 131072u

/* "key": value of the first occurrence of @p key after @p from in @p json. */
static unsigned long long json_num(const char *json, const char *from, const char *key)
{
	const char *p = from ? strstr(json, from) : json;
	char pat[64];

	T_ASSERT(p != NULL, "(%s missing)", from);
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(p, pat);
	T_ASSERT(p != NULL, "(%s missing)", key);
	return strtoull(p + strlen(pat), NULL, 10);
}

static void expect_vector(const char *name, const void *got, size_t len)
{
	size_t vlen;
	uint8_t *want = t_read_vector(name, &vlen);

	T_EQ(vlen, len);
	T_BYTES(name, (const uint8_t *)got, want, len);
	free(want);
}

int main(void)
{
	struct xs_alloc *w0, *w1;
	struct xs_resp_region resolved_region, exec_region;
	struct xs_v1_resolved *res;
	struct xs_exec_resp *ex;
	uint64_t keys, ares, aexec;
	uint8_t *k, *file;
	size_t jlen;
	char *json;
	int fd = xs_memfd_create("xs-msg-arrays", 0);

	T_OK(fd);
	T_OK(xs_alloc_create(&w0, fd, FILE_SIZE, 2, 16384, 0));
	T_OK(xs_alloc_join(&w1, fd, 1));
	/* exactly the 0.2.0 algorithms: upstream policy, untagged global list */
	T_OK(xs_alloc_set_policy(w0, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_OK(xs_alloc_set_policy(w1, XS_ALLOC_POLICY_UPSTREAM, 0));
	T_OK(xs_alloc_set_aba_tag(w0, 0));
	T_OK(xs_alloc_set_aba_tag(w1, 0));

	/* the resolved keys: writable ones first, then read-only */
	T_OK(xs_alloc_alloc_offset(w1, 64, &keys));
	k = xs_alloc_ptr(w1, keys);
	memset(k, 0x11, 32);
	memset(k + 32, 0x22, 32);

	/* resolve_responses_from_iter: one allocation of 3 x 40 bytes */
	T_OK(xs_alloc_alloc_offset(w1, 3 * sizeof(*res), &ares));
	res = xs_alloc_ptr(w1, ares);
	memset(res, 0, 3 * sizeof(*res));
	res[0] = (struct xs_v1_resolved){ .success = XS_V1_RESOLVE_FAILURE, .slot = 7,
					  .min_alt_deactivation_slot = UINT64_MAX };
	res[1] = (struct xs_v1_resolved){ .success = XS_V1_RESOLVE_SUCCESS, .slot = 7,
					  .min_alt_deactivation_slot = UINT64_MAX };
	res[2] = (struct xs_v1_resolved){ .success = XS_V1_RESOLVE_SUCCESS, .slot = 7,
					  .min_alt_deactivation_slot = 1000,
					  .resolved_pubkeys = { .offset = keys, .num_pubkeys = 2 } };
	memset(&resolved_region, 0, sizeof(resolved_region));
	resolved_region.tag = XS_V1_RESP_RESOLVED;
	resolved_region.num_transaction_responses = 3;
	resolved_region.transaction_responses_offset = ares;

	/* execution_responses_from_iter: one allocation of 3 x 24 bytes */
	T_OK(xs_alloc_alloc_offset(w1, 3 * sizeof(*ex), &aexec));
	ex = xs_alloc_ptr(w1, aexec);
	memset(ex, 0, 3 * sizeof(*ex));
	ex[0] = (struct xs_exec_resp){ .not_included_reason = XS_NIR_NONE, .cost_units = 0x1234,
				       .fee_payer_balance = 0x0102030405060708ull };
	ex[1] = (struct xs_exec_resp){ .not_included_reason = XS_NIR_SLOT_MISMATCH_V1 };
	ex[2] = (struct xs_exec_resp){ .not_included_reason = XS_NIR_ALREADY_PROCESSED };
	memset(&exec_region, 0, sizeof(exec_region));
	exec_region.tag = XS_V1_RESP_EXECUTION;
	exec_region.num_transaction_responses = 3;
	exec_region.transaction_responses_offset = aexec;

	/* the offsets upstream got */
	json = (char *)t_read_vector("v1/responses_regions.json", &jlen);
	json = realloc(json, jlen + 1);
	T_ASSERT(json);
	json[jlen] = '\0';
	T_EQ(keys, json_num(json, NULL, "keys_offset"));
	T_EQ(ares, json_num(json, "resolved_region", "offset"));
	T_EQ(aexec, json_num(json, "execution_region", "offset"));
	T_EQ(XS_V1_RESP_RESOLVED, json_num(json, "resolved_region", "tag"));
	T_EQ(XS_V1_RESP_EXECUTION, json_num(json, "execution_region", "tag"));
	free(json);

	expect_vector("v1/region_resolved3.bin", &resolved_region, sizeof(resolved_region));
	expect_vector("v1/region_execution3.bin", &exec_region, sizeof(exec_region));
	expect_vector("v1/array_resolved3.bin", res, 3 * sizeof(*res));
	expect_vector("v1/array_execution3.bin", ex, 3 * sizeof(*ex));
	file = malloc(FILE_SIZE);
	T_ASSERT(file);
	T_EQ(pread(fd, file, FILE_SIZE, 0), FILE_SIZE);
	expect_vector("v1/rtsalloc_128KiB_slab16KiB_w2_responses.bin", file, FILE_SIZE);
	free(file);

	xs_alloc_close(w1);
	xs_alloc_close(w0);
	close(fd);
	printf("test_msg_arrays: VERSION 1 response arrays, regions and allocator file OK\n");
	return 0;
}
