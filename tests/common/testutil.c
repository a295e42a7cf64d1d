/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include <dirent.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void t_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(NULL);
	exit(1);
}

const char *t_vector_path(const char *name)
{
	static _Thread_local char path[4096];

	snprintf(path, sizeof(path), "%s/%s", XS_VECTORS_DIR, name);
	return path;
}

uint8_t *t_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

uint8_t *t_read_vector(const char *name, size_t *len)
{
	uint8_t *b = t_read_file(t_vector_path(name), len);

	if (!b)
		t_fail(__FILE__, __LINE__, "golden vector %s missing (expected at %s)", name,
		       t_vector_path(name));
	return b;
}

void t_expect_bytes(const char *file, int line, const char *what, const uint8_t *got,
		    const uint8_t *want, size_t len, const size_t *skip, size_t nskip)
{
	size_t i, k, bad = 0;

	for (i = 0; i < len; i++) {
		int masked = 0;

		for (k = 0; k < nskip; k++)
			if (i >= skip[2 * k] && i <= skip[2 * k + 1])
				masked = 1;
		if (masked || got[i] == want[i])
			continue;
		if (bad < 16)
			fprintf(stderr, "  %s: byte %zu: got %02x want %02x\n", what, i, got[i], want[i]);
		bad++;
	}
	if (bad)
		t_fail(file, line, "%s: %zu of %zu bytes differ", what, bad, len);
}

int t_fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own descriptor */
}

uint64_t t_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t t_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

int t_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}
