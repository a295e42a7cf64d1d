/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Benchmark harness, plot: the latency percentiles of every row of a report
 * drawn by gnuplot (SVG or PNG). See harness.h for the contract.
 */
#include "harness.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int find_in_path(const char *prog);

bool bench_have_gnuplot(void)
{
	return find_in_path("gnuplot");
}

static int find_in_path(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *e = strchr(path, ':');
		size_t n = e ? (size_t)(e - path) : strlen(path);

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog);
		if (access(buf, X_OK) == 0)
			return 1;
		path += n + (e ? 1 : 0);
	}
	return 0;
}

static int run_gnuplot(const char *script)
{
	char *argv[] = {(char *)"gnuplot", (char *)script, NULL};
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, rc;

	posix_spawn_file_actions_init(&fa);
	/* gnuplot's chatter (font warnings) stays out of our stdout. */
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -rc;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static void gp_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f); /* gnuplot: '' inside single quotes */
		fputc(*s, f);
	}
	fputc('\'', f);
}

int bench_plot(const struct bench_report *rep, const char *file)
{
	const char *ext = strrchr(file, '.');
	char data[] = "/tmp/xsched-plot-data-XXXXXX";
	char script[] = "/tmp/xsched-plot-gp-XXXXXX";
	int fd, i, n = 0, multi = 0, rc, attempt;
	FILE *f;

	if (!ext || (strcmp(ext, ".svg") && strcmp(ext, ".png"))) {
		fprintf(stderr, "%s: --plot %s: the file name must end in .svg or .png\n",
			rep->program, file);
		return -1;
	}
	if (!find_in_path("gnuplot")) {
		fprintf(stderr,
			"%s: --plot needs gnuplot, which is not installed (Debian: apt-get install "
			"gnuplot-nox); the results above are complete, only the plot is missing\n",
			rep->program);
		return -1;
	}
	for (i = 1; i < rep->nrows; i++)
		if (strcmp(rep->rows[i].placement, rep->rows[0].placement))
			multi = 1;
	fd = mkstemp(data);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "%s: --plot: temporary file: %s\n", rep->program, strerror(errno));
		return -1;
	}
	for (i = 0; i < rep->nrows; i++) {
		const struct bench_row *r = &rep->rows[i];

		if (r->kind != BENCH_LATENCY || r->skipped || r->p50_ns <= 0)
			continue;
		fprintf(f, "\"%s%s%s\" %.1f %.1f %.1f %.1f\n", r->bench, multi ? "@" : "",
			multi ? r->placement : "", r->p50_ns, r->p90_ns > 0 ? r->p90_ns : 1,
			r->p99_ns > 0 ? r->p99_ns : 1, r->p999_ns > 0 ? r->p999_ns : 1);
		n++;
	}
	fclose(f);
	if (!n) {
		unlink(data);
		fprintf(stderr, "%s: --plot: no latency rows to plot\n", rep->program);
		return -1;
	}
	rc = -1;
	for (attempt = 0; attempt < 2 && rc < 0; attempt++) {
		const char *term = !strcmp(ext, ".svg") ? "svg size 1100,620 dynamic background rgb 'white'"
				   : attempt == 0 ? "pngcairo size 1100,620"
						  : "png size 1100,620";

		if (!strcmp(ext, ".svg") && attempt > 0)
			break;
		fd = mkstemp(script);
		if (fd < 0 || !(f = fdopen(fd, "w"))) {
			fprintf(stderr, "%s: --plot: temporary file: %s\n", rep->program,
				strerror(errno));
			break;
		}
		/* noenhanced: row names have underscores, not subscripts */
		fprintf(f, "set terminal %s\nset termoption noenhanced\nset output ", term);
		gp_quote(f, file);
		fprintf(f,
			"\nset title \"%s: latency percentiles per row (ns, log scale; %s, clock %s)\"\n"
			"set style data histograms\nset style histogram clustered gap 1\n"
			"set style fill solid 0.85 border -1\nset logscale y\nset ylabel 'ns'\n"
			"set grid ytics\nset key top left\nset xtics rotate by -30 scale 0\n"
			"set bmargin 9\n",
			rep->program, rep->machine.cpu_model, bench_clock.name);
		fputs("plot ", f);
		gp_quote(f, data);
		fputs(" using 2:xtic(1) title 'p50', '' using 3 title 'p90', '' using 4 title 'p99', "
		      "'' using 5 title 'p99.9'\n",
		      f);
		fclose(f);
		rc = run_gnuplot(script);
		unlink(script);
		memcpy(script + strlen(script) - 6, "XXXXXX", 6);
	}
	unlink(data);
	if (rc < 0) {
		fprintf(stderr, "%s: --plot %s: gnuplot failed (%s)\n", rep->program, file,
			strerror(-rc == EIO ? EIO : -rc));
		return -1;
	}
	if (rep->opts->format == BENCH_TABLE && !rep->opts->quiet)
		fprintf(rep->out, "plot: %s\n", file);
	else
		fprintf(stderr, "%s: plot written to %s\n", rep->program, file);
	return 0;
}
