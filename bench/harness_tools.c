/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmarks that drive the operator tools (e2e_latency, metrics_overhead):
 * start a tool with its output in files, read a number from its JSON summary.
 */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int bench_spawn_tool(char *const argv[], const char *out_path, pid_t *pid)
{
	char err_path[600];

	snprintf(err_path, sizeof(err_path), "%s.err", out_path);
	fflush(NULL); /* the child's freopen would write our buffered output again */
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	return 0;
}

double bench_json_num(const char *path, const char *key)
{
	char buf[65536], pat[64], *p;
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(buf, pat);
	return p ? strtod(p + strlen(pat), NULL) : -1;
}
