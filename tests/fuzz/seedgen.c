/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Seed corpora for the fuzz targets, derived from the golden vectors
 * (../shared/vectors) at test time, so nothing binary is committed:
 *
 *   seedgen VECTORS_DIR OUT_DIR
 *
 * writes OUT_DIR/<target>/<name> for every target (formats: fuzz_common.h).
 * Fails when a vector is missing (the suite never skips for lack of vectors).
 */
#include "fuzz_common.h"
#include "fuzz_fixture.h"

void fz_seeds_alloc4(fz_emit_fn emit); /* seeds_alloc4.c */

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>

static const char *g_vec;
static const char *g_out;
static int g_count;

static uint8_t *load(const char *name, size_t *len)
{
	char path[4096];
	FILE *f;
	uint8_t *buf;
	long n;

	snprintf(path, sizeof(path), "%s/%s", g_vec, name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "seedgen: golden vector %s missing: %s\n", path, strerror(errno));
		exit(1);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "seedgen: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

static void mkdirs(const char *target)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s", g_out);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "seedgen: mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s", g_out, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "seedgen: mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void emit(const char *target, const char *name, const void *data, size_t len)
{
	char path[4096];
	FILE *f;

	mkdirs(target);
	snprintf(path, sizeof(path), "%s/%s/%s", g_out, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "seedgen: cannot write %s\n", path);
		exit(1);
	}
	g_count++;
}

/* ------------------------------------------------------------- logon */

static void put64(uint8_t *b, uint64_t v)
{
	memcpy(b, &v, 8);
}

/* Logons of the other generations: the real VERSION 1 and 4 clients'
 * (vectors v1/, v4/), a VERSION 5 and the two SDK layouts built from the
 * spec tables, each also with its boundary values. */
static void seeds_logon_generations(void)
{
	static const char *files[] = {
		"v1/logon_v1_w2_16MiB_h1.bin", "v1/logon_v1_distinct_field_values.bin",
		"v4/logon4_L1_w4_64MiB_h1_cap1024.bin", "v4/logon4_L2_w1_16MiB_h2_mixed_caps.bin",
		"v4/logon4_L3_distinct_field_values.bin",
	};
	/* SDK: ProtocolVersions, then worker_count, check_worker_count,
	 * allocator_size, allocator_handles, 4 capacities; flags and the check
	 * capacities after them per layout (HANDSHAKE_SDK.md s3, s4) */
	const uint64_t pv[4] = { 7, 6, 196608, 262144 };
	const uint64_t f[8] = { 4, 2, 64ull << 20, 1, 1024, 256, 1024, 1024 };
	uint8_t buf[1024];
	size_t i, len;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		uint8_t *v = load(files[i], &len);

		emit("fuzz_logon", strchr(files[i], '/') + 1, v, len);
		free(v);
	}
	/* VERSION 5: the 64-byte logon plus the two check capacities */
	memset(buf, 0, sizeof(buf));
	put64(buf, 5);
	put64(buf + 8, 4);
	put64(buf + 16, 64ull << 20);
	put64(buf + 24, 1);
	for (i = 0; i < 4; i++)
		put64(buf + 32 + 8 * i, 1024);
	put64(buf + 8 + 64, 1u << 18);
	put64(buf + 8 + 72, 1u << 19);
	emit("fuzz_logon", "v5_logon", buf, sizeof(buf));
	/* sdk7: u64 flags at 80 */
	memset(buf, 0, sizeof(buf));
	for (i = 0; i < 4; i++)
		put64(buf + 8 * i, pv[i]);
	for (i = 0; i < 8; i++)
		put64(buf + 32 + 8 * i, f[i]);
	put64(buf + 32 + 64, 1u << 18);
	put64(buf + 32 + 72, 1u << 19);
	emit("fuzz_logon", "sdk7_logon", buf, sizeof(buf));
	put64(buf + 32 + 8, 65);
	emit("fuzz_logon", "sdk7_check_workers_65", buf, sizeof(buf));
	put64(buf + 32 + 8, 2);
	put64(buf + 32 + 16, UINT64_MAX - 5);
	emit("fuzz_logon", "sdk7_alloc_size", buf, sizeof(buf));
	put64(buf + 32 + 16, 64ull << 20);
	put64(buf + 32 + 64, (1ull << 58) + 1);
	emit("fuzz_logon", "sdk7_capacity", buf, sizeof(buf));
	put64(buf + 16, 196609);
	emit("fuzz_logon", "sdk7_shaq_3_1", buf, sizeof(buf));
	/* sdk6: u16 flags at 64, check capacities at 72 and 80 */
	memset(buf, 0, sizeof(buf));
	put64(buf, 6);
	for (i = 1; i < 4; i++)
		put64(buf + 8 * i, pv[i]);
	for (i = 0; i < 8; i++)
		put64(buf + 32 + 8 * i, f[i]);
	put64(buf + 32 + 72, 1u << 18);
	put64(buf + 32 + 80, 1u << 19);
	emit("fuzz_logon", "sdk6_logon", buf, sizeof(buf));
}

static void seeds_logon(void)
{
	static const char *files[] = {
		"logon_L1_w4_64MiB_h1_cap1024.bin",
		"logon_L2_w1_16MiB_h2_reroute_votes.bin",
		"logon_L3_distinct_field_values.bin",
		"logon_L3_distinct_field_values.observed_uninit_padding.bin",
	};
	uint8_t buf[1024];
	size_t i, len;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		uint8_t *v = load(files[i], &len);

		emit("fuzz_logon", files[i], v, len);
		if (i == 0) {
			/* the same logon as VERSION 1 (56-byte struct), cut short,
			 * and with each range check's boundary values */
			memcpy(buf, v, sizeof(buf));
			buf[0] = 1;
			emit("fuzz_logon", "v1_logon", buf, sizeof(buf));
			emit("fuzz_logon", "cut_100", v, 100);
			memcpy(buf, v, sizeof(buf));
			buf[8] = 65;
			emit("fuzz_logon", "workers_65", buf, sizeof(buf));
			memcpy(buf, v, sizeof(buf));
			buf[24] = 0;
			emit("fuzz_logon", "handles_0", buf, sizeof(buf));
			memcpy(buf, v, sizeof(buf));
			buf[0] = 3;
			emit("fuzz_logon", "version_3", buf, sizeof(buf));
		}
		free(v);
	}
	seeds_logon_generations();
}

/* ------------------------------------------------------------- reply */

/* One reply input: header, data bytes, then an SCM_RIGHTS message with nfds
 * descriptors (nfds < 0: no control data). */
static void reply_seed(const char *name, uint8_t flags, uint8_t workers, const uint8_t *data,
		       size_t dlen, int nfds)
{
	uint8_t buf[4 + 1024 + CMSG_SPACE(sizeof(int) * 200)];
	size_t len = 0;

	memset(buf, 0, sizeof(buf));
	buf[len++] = flags;
	buf[len++] = workers;
	buf[len++] = (uint8_t)dlen;
	buf[len++] = (uint8_t)(dlen >> 8);
	memcpy(buf + len, data, dlen);
	len += dlen;
	if (nfds >= 0) {
		struct cmsghdr c = {
			.cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds),
			.cmsg_level = SOL_SOCKET,
			.cmsg_type = SCM_RIGHTS,
		};
		int i;

		memcpy(buf + len, &c, sizeof(c));
		for (i = 0; i < nfds; i++) {
			int fd = 100 + i;

			memcpy(buf + len + CMSG_LEN(0) + sizeof(int) * (size_t)i, &fd, sizeof(fd));
		}
		len += CMSG_SPACE(sizeof(int) * (size_t)nfds);
	}
	emit("fuzz_reply", name, buf, len);
}

/* "num_fds": N from a success_handshake JSON file (no JSON library needed). */
static int json_num_fds(const char *file)
{
	size_t len;
	uint8_t *j = load(file, &len);
	const char *p = strstr((const char *)j, "\"num_fds\":");
	int n;

	if (!p) {
		fprintf(stderr, "seedgen: %s has no num_fds\n", file);
		exit(1);
	}
	n = atoi(p + strlen("\"num_fds\":"));
	free(j);
	return n;
}

static void seeds_reply(void)
{
	static const char *fails[] = {
		"fail_allocator_handles_0.bin", "fail_allocator_handles_129.bin",
		"fail_eof_after_100_bytes.bin", "fail_version_client1.bin",
		"fail_version_client3.bin",     "fail_worker_count_0.bin",
		"fail_worker_count_65.bin",
	};
	static const struct {
		const char *json;
		const char *name;
	} ok[] = {
		{"success_handshake_w2.json", "success_w2"},
		{"success_handshake_w1_nonpow2_caps.json", "success_w1"},
	};
	size_t i, len;
	uint8_t *payload = load("success_payload.bin", &len);
	size_t plen = len;

	for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
		uint8_t *v = load(fails[i], &len);

		reply_seed(fails[i], 0, 2, v, len, -1);
		if (i == 0)
			reply_seed("fail_cut", 0, 2, v, len / 2, -1);
		free(v);
	}
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int n = json_num_fds(ok[i].json), w = (n - 3) / 2;
		char name[64];

		reply_seed(ok[i].name, 0, (uint8_t)w, payload, plen, n);
		snprintf(name, sizeof(name), "%s_ctrunc", ok[i].name);
		reply_seed(name, 1, (uint8_t)w, payload, plen, n);
		snprintf(name, sizeof(name), "%s_short", ok[i].name);
		reply_seed(name, 0, (uint8_t)w, payload, plen, n - 1);
		snprintf(name, sizeof(name), "%s_nofds", ok[i].name);
		reply_seed(name, 0, (uint8_t)w, payload, plen, -1);
	}
	reply_seed("success_w64", 0, 64, payload, plen, 131);
	reply_seed("eof", 0, 1, payload, 0, -1);
	/* check-queue generations: 5 + 2W descriptors (flags bit 1) */
	reply_seed("success5_w2", 2, 2, payload, plen, 9);
	reply_seed("success5_w2_as3", 2, 2, payload, plen, 7);
	reply_seed("success5_w64", 2, 64, payload, plen, 133);
	/* the rejections of VERSION 1 and 4 servers, and both version texts */
	{
		static const char *more[] = {
			"v1/fail_v1_version_client2.bin", "v1/fail_v1_queue_size_too_small.bin",
			"v4/fail4_version_client5.bin", "v4/fail4_worker_count_65.bin",
		};
		/* (one literal per variable: clang warns about concatenation
		 * inside an array initializer) */
		static const char t0[] = "Version; server=(handshake=7, scheduler-bindings=6, "
					 "shaq=196608, rts-alloc=262144); client=(handshake=2, "
					 "scheduler-bindings=4, shaq=67108864, rts-alloc=1)";
		static const char t1[] = "Version; server=(handshake=8, scheduler-bindings=6, "
					 "shaq=196611, rts-alloc=262144); client=(handshake=7, "
					 "scheduler-bindings=6, shaq=196608, rts-alloc=262144)";
		static const char t3[] = "Queue capacity cannot be represented; "
					 "field=pack_to_check_worker_capacity, "
					 "capacity=18446744073709551615";
		static const char *texts[] = { t0, t1, "Check worker count; count=0", t3 };
		uint8_t f[2 + 255];

		for (i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
			uint8_t *v = load(more[i], &len);

			reply_seed(strchr(more[i], '/') + 1, 0, 2, v, len, -1);
			free(v);
		}
		for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
			size_t n = strlen(texts[i]);
			char name[32];

			f[0] = 2;
			f[1] = (uint8_t)n;
			memcpy(f + 2, texts[i], n);
			snprintf(name, sizeof(name), "fail_text_%zu", i);
			reply_seed(name, 2, 2, f, 2 + n, -1);
		}
	}
	free(payload);
}

/* -------------------------------------------------------------- spsc */

static void spsc_seed(const char *name, uint8_t mode, uint64_t w, uint64_t r, const uint8_t *img,
		      size_t len)
{
	uint8_t *buf = malloc(17 + len);

	buf[0] = mode;
	memcpy(buf + 1, &w, 8);
	memcpy(buf + 9, &r, 8);
	memcpy(buf + 17, img, len);
	emit("fuzz_spsc", name, buf, 17 + len);
	free(buf);
}

static void seeds_spsc(void)
{
	static const struct {
		const char *file;
		uint8_t elem; /* index in fuzz_spsc.c's elem_sizes */
	} q[] = {
		{"shaq_elem16_cap8_s0_created.bin", 0},
		{"shaq_elem16_cap8_s1_push3.bin", 0},
		{"shaq_elem16_cap8_s2_pop2.bin", 0},
		{"shaq_elem16_cap8_s3_push7_full.bin", 0},
		{"shaq_elem16_cap8_s4_pop8_empty.bin", 0},
		{"shaq_elem16_cap8_s5_push1.bin", 0},
		{"shaq_tpu_to_pack_cap8_s0_created.bin", 1},
		{"shaq_tpu_to_pack_cap8_s1_push3.bin", 1},
		{"shaq_tpu_to_pack_cap8_s2_pop1.bin", 1},
	};
	size_t i, len;
	char name[128];

	for (i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		uint8_t *v = load(q[i].file, &len);
		uint64_t w = fz_le64(v), r = fz_le64(v + 64);
		uint8_t m = (uint8_t)(q[i].elem << 2);

		/* 1.0 format, consumer: the peer moves write forward, then back */
		snprintf(name, sizeof(name), "%s.cons", q[i].file);
		spsc_seed(name, m | 1, w + 2, w - 1, v, len);
		/* 1.0 format, producer: the peer moves read forward, then past write */
		snprintf(name, sizeof(name), "%s.prod", q[i].file);
		spsc_seed(name, m | 3, r + 1, w + 9, v, len);
		/* the same file joined as 0.2.0 (version byte ignored) */
		snprintf(name, sizeof(name), "%s.v02", q[i].file);
		spsc_seed(name, m, w + 8, r, v, len);
		free(v);
	}
	/* formats 2.0 and 3.0 (write @64, read @128): own format, and detected */
	for (int f = 0; f < 2; f++) {
		static const char *const files[] = {
			"spsc_elem16_cap8_s0_created.bin", "spsc_elem16_cap8_s1_push3.bin",
			"spsc_elem16_cap8_s3_push7_full.bin", "spsc_elem16_cap8_s5_push1.bin",
		};

		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			char file[128];
			uint8_t *v;
			uint64_t w, r;
			uint8_t m = (uint8_t)((f + 1) << 5); /* 1: 2.0, 2: 3.0 */

			snprintf(file, sizeof(file), "%s_%s", f ? "current/shaq3" : "v4/shaq2", files[i]);
			v = load(file, &len);
			w = fz_le64(v + 64);
			r = fz_le64(v + 128);
			snprintf(name, sizeof(name), "%s.cons", file + (f ? 8 : 3));
			spsc_seed(name, m, w + 2, w - 1, v, len);
			snprintf(name, sizeof(name), "%s.prod", file + (f ? 8 : 3));
			spsc_seed(name, m | 2, r + 1, w + 9, v, len);
			snprintf(name, sizeof(name), "%s.any", file + (f ? 8 : 3));
			spsc_seed(name, (uint8_t)(3 << 5), w + 1, r, v, len);
			free(v);
		}
	}
}

/* -------------------------------------------------------------- mpmc */

static void mpmc_seed(const char *name, uint8_t mode, uint8_t ops, const uint64_t *cur,
		      uint8_t which, const uint8_t *img, size_t len)
{
	uint8_t *buf = malloc(35 + len);

	buf[0] = mode;
	buf[1] = ops;
	memcpy(buf + 2, cur, 32);
	buf[34] = which;
	memcpy(buf + 35, img, len);
	emit("fuzz_mpmc", name, buf, 35 + len);
	free(buf);
}

static void seeds_mpmc(void)
{
	static const char *const files[] = {
		"mpmc_elem16_cap8_s0_created.bin", "mpmc_elem16_cap8_s1_push3_two_producers.bin",
		"mpmc_elem16_cap8_s3_push7_full.bin", "mpmc_elem16_cap8_s5_push_slice2.bin",
	};
	char name[160], file[128];
	size_t len;

	for (int f = 0; f < 2; f++)
		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			uint8_t *v;
			uint64_t c[4];

			snprintf(file, sizeof(file), "%s_%s", f ? "current/shaq3" : "v4/shaq2", files[i]);
			v = load(file, &len);
			for (int k = 0; k < 4; k++) /* p_res, p_pub, c_res, c_rel */
				c[k] = fz_le64(v + 64 + 64 * k);
			/* producer and consumer of the file's own format, the peer
			 * moving on legally (a consumer released 2, a producer published 2) */
			{
				uint64_t legal[4] = { c[0] + 2, c[1] + 2, c[2], c[3] };

				snprintf(name, sizeof(name), "%s.prod", file + (f ? 8 : 3));
				mpmc_seed(name, (uint8_t)(f << 1), 0x35, legal, 0x3, v, len);
				snprintf(name, sizeof(name), "%s.cons", file + (f ? 8 : 3));
				mpmc_seed(name, (uint8_t)(1 | f << 1), 0x9a, legal, 0x3, v, len);
			}
			/* detected, with impossible cursors: release past the publication */
			{
				uint64_t bad[4] = { c[0], c[1], c[1] + 3, c[1] + 5 };

				snprintf(name, sizeof(name), "%s.any.bad", file + (f ? 8 : 3));
				mpmc_seed(name, (uint8_t)(2 << 1), 0xf0, bad, 0xc, v, len);
				snprintf(name, sizeof(name), "%s.any.badc", file + (f ? 8 : 3));
				mpmc_seed(name, (uint8_t)(1 | 2 << 1), 0x0f, bad, 0xc, v, len);
			}
			free(v);
		}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s VECTORS_DIR OUT_DIR\n", argv[0]);
		return 2;
	}
	g_vec = argv[1];
	g_out = argv[2];
	seeds_logon();
	seeds_reply();
	seeds_spsc();
	seeds_mpmc();
	fz_seeds_alloc(load, emit);
	fz_seeds_alloc4(emit);
	fz_seeds_msg(load, emit);
	printf("seedgen: %d seeds written to %s\n", g_count, g_out);
	return 0;
}
