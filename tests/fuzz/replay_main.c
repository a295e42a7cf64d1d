/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Corpus replay driver: the main() of a fuzz target in builds without
 * libFuzzer (gcc, plain or sanitizers). Arguments are files or directories
 * (one level); every file is read into a buffer of exactly its size (so
 * ASan sees any over-read) and passed to LLVMFuzzerTestOneInput() in name
 * order. Fails when no input was found: a missing corpus is an error.
 */
#include "fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	size_t total = 0;
	int i;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(argv[i]);
			struct dirent *e;
			char **names = NULL;
			size_t n = 0, cap = 0, k;

			if (!d)
				return 1;
			while ((e = readdir(d))) {
				if (e->d_name[0] == '.')
					continue;
				if (n == cap) {
					cap = cap ? 2 * cap : 64;
					names = realloc(names, cap * sizeof(*names));
					if (!names)
						return 1;
				}
				names[n++] = strdup(e->d_name);
			}
			closedir(d);
			qsort(names, n, sizeof(*names), cmp_names);
			for (k = 0; k < n; k++) {
				char path[4096];

				snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]);
				if (run_file(path) < 0)
					return 1;
				total++;
				free(names[k]);
			}
			free(names);
		} else {
			if (run_file(argv[i]) < 0)
				return 1;
			total++;
		}
	}
	if (total == 0) {
		fprintf(stderr, "replay: no input found (corpus missing?)\n");
		return 1;
	}
	printf("replayed %zu inputs\n", total);
	return 0;
}
