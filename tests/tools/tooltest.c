/* SPDX-License-Identifier: Apache-2.0 */
#include "tooltest.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static char *slurp(const char *path)
{
	size_t len;
	char *p = (char *)t_read_file(path, &len);
	char *s;

	if (!p)
		t_fail(__FILE__, __LINE__, "read %s: %s", path, strerror(errno));
	s = realloc(p, len + 1);
	T_ASSERT(s != NULL);
	s[len] = '\0';
	return s;
}

void tt_spawn(struct tt_proc *p, char *const argv[])
{
	const char *tmp = getenv("TMPDIR");
	int fo, fe;
	pid_t pid;

	snprintf(p->out_path, sizeof(p->out_path), "%s/xs-out-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	snprintf(p->err_path, sizeof(p->err_path), "%s/xs-err-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fo = mkostemp(p->out_path, O_CLOEXEC);
	fe = mkostemp(p->err_path, O_CLOEXEC);
	T_ASSERT(fo >= 0 && fe >= 0);
	fflush(NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		dup2(fo, 1);
		dup2(fe, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fo);
	close(fe);
	p->pid = pid;
}

void tt_wait(struct tt_proc *p, struct tt_run *r, int timeout_s)
{
	uint64_t deadline = t_now_ns() + (uint64_t)timeout_s * 1000000000ull;
	int st = 0;
	pid_t got;

	while ((got = waitpid(p->pid, &st, WNOHANG)) == 0) {
		struct timespec ts = {0, 2000000};

		if (t_now_ns() > deadline) {
			char *err;

			kill(p->pid, SIGKILL);
			waitpid(p->pid, &st, 0);
			err = slurp(p->err_path);
			t_fail(__FILE__, __LINE__, "process %d did not finish within %d s; stderr:\n%s",
			       p->pid, timeout_s, err);
		}
		nanosleep(&ts, NULL);
	}
	T_ASSERT(got == p->pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = slurp(p->out_path);
	r->err = slurp(p->err_path);
	unlink(p->out_path);
	unlink(p->err_path);
}

void tt_run(struct tt_run *r, char *const argv[], int timeout_s)
{
	struct tt_proc p;

	tt_spawn(&p, argv);
	tt_wait(&p, r, timeout_s);
}

void tt_free(struct tt_run *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
}

static void mkdirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			t_fail(__FILE__, __LINE__, "mkdir %s: %s", path, strerror(errno));
		*p = '/';
	}
}

void tt_write(const char *root, const char *rel, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	mkdirs(path);
	f = fopen(path, "w");
	if (!f)
		t_fail(__FILE__, __LINE__, "create %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

void tt_writef(const char *root, const char *rel, const char *fmt, ...)
{
	char text[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	tt_write(root, rel, text);
}

void tt_unlink(const char *root, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	unlink(path);
}

char *tt_mkdtemp(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char *p = malloc(4096);

	T_ASSERT(p != NULL);
	snprintf(p, 4096, "%s/xs-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag);
	if (!mkdtemp(p))
		t_fail(__FILE__, __LINE__, "mkdtemp %s: %s", p, strerror(errno));
	return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void tt_rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *raw_value(const char *p)
{
	static char val[1024];
	size_t n = 0;

	while (*p == ' ')
		p++;
	if (*p == '"') {
		p++;
		while (*p && *p != '"' && n < sizeof(val) - 1) {
			if (*p == '\\' && p[1])
				p++;
			val[n++] = *p++;
		}
	} else {
		int depth = 0;

		while (*p && n < sizeof(val) - 1) {
			if (*p == '[' || *p == '{')
				depth++;
			if ((*p == ']' || *p == '}') && depth-- == 0)
				break;
			if (*p == ',' && depth == 0)
				break;
			if (*p == '\n' && depth == 0)
				break;
			val[n++] = *p++;
		}
	}
	val[n] = '\0';
	return val;
}

const char *tt_json_get(const char *json, const char *key)
{
	char pat[256];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(json, pat);
	return p ? raw_value(p + strlen(pat)) : NULL;
}

const char *tt_json_in(const char *json, const char *name, const char *key)
{
	char pat[256];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"name\": \"%s\"", name);
	p = strstr(json, pat);
	if (!p)
		return NULL;
	/* the object ends at the first line that closes it */
	end = strstr(p, "\n    }");
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(p, pat);
	if (!p || (end && p > end))
		return NULL;
	return raw_value(p + strlen(pat));
}
