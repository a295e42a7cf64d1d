/* SPDX-License-Identifier: Apache-2.0 */
/* A program outside the xsched tree: creates a shared-memory queue of
 * TpuToPackMessage, moves messages through it with the typed wrappers, and
 * prints which libxsched it runs on. Exits 0 when everything worked. */
#include <stdio.h>
#include <string.h>

#include <xsched/common.h>
#include <xsched/msg.h>
#include <xsched/shm.h>
#include <xsched/spsc.h>

#define FAIL(...) do { fprintf(stderr, "consumer: " __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)

/* Path of the libxsched.so mapped into this process, or "static". */
static void which_lib(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];

	snprintf(out, len, "static");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, '/');

		if (p && strstr(p, "libxsched.so")) {
			p[strcspn(p, "\n")] = '\0';
			snprintf(out, len, "%s", p);
			break;
		}
	}
	fclose(f);
}

int main(void)
{
	size_t size = xs_shm_round(xs_spsc_min_file_size(64, sizeof(struct xs_tpu_to_pack),
							 _Alignof(struct xs_tpu_to_pack)), 0);
	struct xs_shm shm;
	struct xs_spsc prod, cons;
	char lib[512];
	unsigned k, got = 0;
	int rc;

	rc = xs_shm_create(&shm, "xsched-consumer", size, XS_SHM_NO_MAP);
	if (rc < 0)
		FAIL("xs_shm_create: %s (%s)", xs_strerror(rc), xs_errmsg());
	rc = xs_spsc_create(&prod, shm.fd, shm.size, sizeof(struct xs_tpu_to_pack),
			    _Alignof(struct xs_tpu_to_pack), XS_SHAQ_1_0, XS_SPSC_PRODUCER);
	if (rc < 0)
		FAIL("xs_spsc_create: %s (%s)", xs_strerror(rc), xs_errmsg());
	rc = xs_spsc_join(&cons, shm.fd, sizeof(struct xs_tpu_to_pack),
			  _Alignof(struct xs_tpu_to_pack), XS_SHAQ_1_0, XS_SPSC_CONSUMER);
	if (rc < 0)
		FAIL("xs_spsc_join: %s (%s)", xs_strerror(rc), xs_errmsg());
	if (xs_spsc_capacity(&cons) != 64)
		FAIL("capacity %llu", (unsigned long long)xs_spsc_capacity(&cons));

	for (k = 0; k < 1000; k++) {
		struct xs_tpu_to_pack *m = xs_tpu_to_pack_reserve(&prod);
		const struct xs_tpu_to_pack *r;

		if (!m)
			FAIL("queue full at %u", k);
		memset(m, 0, sizeof(*m));
		m->transaction.offset = 0x1000ull * k;
		m->transaction.length = k;
		m->flags = XS_TPU_FLAG_FORWARDED;
		xs_spsc_commit(&prod);
		while ((r = xs_tpu_to_pack_poll(&cons)) != NULL) {
			if (r->transaction.length != got || r->transaction.offset != 0x1000ull * got)
				FAIL("message %u out of order", got);
			got++;
		}
		xs_spsc_finalize(&cons);
	}
	if (got != 1000)
		FAIL("received %u of 1000", got);
	if (strstr(xs_strerror(-XS_EQ_VERSION), "unknown"))
		FAIL("no text for XS_EQ_VERSION");
	xs_spsc_close(&prod);
	xs_spsc_close(&cons);
	xs_shm_detach(&shm);
	which_lib(lib, sizeof(lib));
	printf("xsched %s consumer OK, library: %s\n", xs_version(), lib);
	return 0;
}
