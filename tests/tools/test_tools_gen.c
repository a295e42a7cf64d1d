/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: how xsched-mockval and xsched-sched name a generation.
 *  - option errors of --protocol / --agave and the options that depend on
 *    the generation, in the tools' format ("<tool>: --option: what is
 *    wrong", exit 2), before any socket exists;
 *  - --agave on a line whose generation the spec leaves open prints the
 *    table's note (which generation, why);
 *  - xsched-sched --protocol auto against a server of a generation xsched
 *    lacks (a small fake server sending "Version; server=9; client=7", then
 *    the SDK text with handshake=8) fails with exit 1 and the server's
 *    numbers in the message.
 *
 * Usage: test_tools_gen MOCKVAL SCHED
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "tooltest.h"

static const char *mockval, *sched;
static char *dir, sock[512];

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Run @p argv; it must exit 2 with stderr starting "<tool>: <want>". */
static void usage_fails(char *const argv[], const char *tool, const char *want)
{
	struct tt_run r;
	char head[512];

	tt_run(&r, argv, 30);
	snprintf(head, sizeof(head), "%s: %s", tool, want);
	T_ASSERT(r.status == 2, "%s ... %s: exit %d, stderr:\n%s", argv[0], want, r.status, r.err);
	T_ASSERT(!strncmp(r.err, head, strlen(head)), "wanted \"%s\", stderr:\n%s", head, r.err);
	T_ASSERT(!exists(sock), "%s exists after a refused command line", sock);
	tt_free(&r);
}

#define SCHED(...) ((char *[]){(char *)sched, (char *)"--socket", sock, __VA_ARGS__, NULL})
#define MOCKVAL(...) ((char *[]){(char *)mockval, (char *)"--socket", sock, __VA_ARGS__, NULL})

static void options(void)
{
	const char *S = "xsched-sched", *M = "xsched-mockval";

	usage_fails(SCHED("--protocol", "9"), S, "--protocol: protocol \"9\" unknown");
	usage_fails(MOCKVAL("--protocol", "sdk8"), M, "--protocol: protocol \"sdk8\" unknown");
	usage_fails(MOCKVAL("--protocol", "auto"), M, "--protocol: auto is for schedulers");
	usage_fails(SCHED("--agave", "5.0"), S, "--agave: agave line \"5.0\" unknown");
	usage_fails(MOCKVAL("--agave", "3.0"), M, "--agave: agave line \"3.0\" unknown");
	usage_fails(SCHED("--protocol", "2", "--agave", "4.2"), S,
		    "--agave: give either --protocol or --agave, not both");
	usage_fails(SCHED("--protocol", "5", "--check-workers", "2"), S,
		    "--check-workers: VERSION 5 has no check_worker_count in its logon");
	usage_fails(SCHED("--protocol", "3", "--check-workers", "2"), S,
		    "--check-workers: VERSION 3 has no check workers");
	usage_fails(SCHED("--protocol", "sdk7", "--check-workers", "65"), S,
		    "--check-workers: 65 is outside [1, 64]");
	usage_fails(MOCKVAL("--protocol", "sdk7", "--check-workers", "2"), M,
		    "--check-workers: sdk7 takes the check-worker count from the scheduler's logon");
	usage_fails(MOCKVAL("--agave", "4.2", "--check-workers", "2"), M,
		    "--check-workers: VERSION 4 has no check workers");
	usage_fails(SCHED("--protocol", "1", "--drop-on-failure"), S,
		    "--drop-on-failure: VERSION 1 (bindings 3.1.x) has no such execution flag");
	usage_fails(SCHED("--agave", "3.1", "--all-or-nothing"), S,
		    "--all-or-nothing: VERSION 1 (bindings 3.1.x) has no such execution flag");
	usage_fails(MOCKVAL("--protocol", "3", "--partial-cancel", "5%"), M,
		    "--partial-cancel: bindings VERSION 3 (4.0) (VERSION 3) have no "
		    "PARTIAL_BATCH_CANCELLED");
	usage_fails(MOCKVAL("--agave", "4.2", "--partial-cancel", "5%"), M,
		    "--partial-cancel: bindings VERSION 4 (4.1, 4.2) (VERSION 4) have no");
	usage_fails(SCHED("--protocol", "sdk7", "--check-batch", "64"), S,
		    "--check-batch: 64 check responses of 96 bytes exceed one 4096-byte allocation "
		    "in sdk7 (at most 42)");
	usage_fails(SCHED("--protocol", "sdk6", "--workers", "2", "--allocator-handles", "2"), S,
		    "--allocator-handles: 2 is fewer than the 2 workers plus the check stage");
	usage_fails(MOCKVAL("--starting-ms", "500"), M,
		    "--starting-ms: 500 ms is not shorter than the 400 ms slot");
}

/* --agave on an open line: the note says which generation and why. */
static void agave_note(void)
{
	struct tt_run r;
	char *argv[] = {(char *)mockval, (char *)"--socket", sock, (char *)"--agave", (char *)"4.3",
			(char *)"--placement", (char *)"packed", (char *)"--accept-timeout",
			(char *)"200", NULL};
	char *argv2[] = {(char *)mockval, (char *)"--socket", sock, (char *)"--agave", (char *)"4.4",
			 (char *)"--placement", (char *)"packed", (char *)"--accept-timeout",
			 (char *)"200", NULL};

	tt_run(&r, argv, 30);
	T_EQ(r.status, 1); /* nobody came */
	T_ASSERT(strstr(r.err, "xsched-mockval: --agave 4.3: ") && strstr(r.err, "VERSION 4"),
		 "%s", r.err);
	T_ASSERT(strstr(r.err, "(protocol 4, bindings 5.x"), "%s", r.err);
	tt_free(&r);
	tt_run(&r, argv2, 30);
	T_EQ(r.status, 1);
	T_ASSERT(strstr(r.err, "xsched-mockval: --agave 4.4: ") && strstr(r.err, "sdk7"), "%s",
		 r.err);
	T_ASSERT(strstr(r.err, "(protocol sdk7, bindings 6.x"), "%s", r.err);
	tt_free(&r);
}

/*
 * A fake server in a child process: up to @p conns connections, each: read
 * the 1024-byte logon, answer the failure frame with @p reason, close.
 */
static pid_t fake_server(const char *reason, int conns)
{
	struct sockaddr_un sa;
	int ls;
	pid_t pid;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	T_ASSERT(strlen(sock) < sizeof(sa.sun_path), "socket path too long: %s", sock);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	T_ASSERT(ls >= 0);
	T_ASSERT(bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s: %s", sock,
		 strerror(errno));
	T_ASSERT(listen(ls, 8) == 0);
	fflush(NULL);
	pid = fork();
	T_ASSERT(pid >= 0);
	if (pid == 0) {
		alarm(20);
		for (int i = 0; i < conns; i++) {
			uint8_t buf[1024], frame[2 + 255];
			size_t got = 0, len = strlen(reason);
			int c = accept(ls, NULL, NULL);

			if (c < 0)
				_exit(1);
			while (got < sizeof(buf)) {
				ssize_t n = read(c, buf + got, sizeof(buf) - got);

				if (n <= 0)
					break;
				got += (size_t)n;
			}
			frame[0] = 0x02;
			frame[1] = (uint8_t)len;
			memcpy(frame + 2, reason, len);
			if (write(c, frame, 2 + len) < 0)
				_exit(1);
			close(c);
		}
		_exit(0);
	}
	close(ls);
	return pid;
}

static void auto_unknown(const char *reason, const char *want1, const char *want2)
{
	struct tt_run r;
	pid_t pid;
	int st;
	char *argv[] = {(char *)sched, (char *)"--socket", sock, (char *)"--protocol",
			(char *)"auto", (char *)"--placement", (char *)"packed", (char *)"--timeout",
			(char *)"5000", NULL};

	pid = fake_server(reason, 3);
	tt_run(&r, argv, 30);
	fprintf(stderr, "--- sched (exit %d) against \"%s\"\n%s", r.status, reason, r.err);
	T_EQ(r.status, 1);
	T_ASSERT(r.out[0] == '\0', "%s", r.out);
	T_ASSERT(strstr(r.err, "xsched-sched: handshake with ") != NULL, "%s", r.err);
	T_ASSERT(strstr(r.err, want1) != NULL, "wanted \"%s\" in:\n%s", want1, r.err);
	T_ASSERT(strstr(r.err, want2) != NULL, "wanted \"%s\" in:\n%s", want2, r.err);
	/* what xsched speaks is named too */
	T_ASSERT(strstr(r.err, "sdk7") != NULL, "%s", r.err);
	tt_free(&r);
	kill(pid, SIGTERM);
	T_ASSERT(waitpid(pid, &st, 0) == pid);
	unlink(sock);
}

int main(int argc, char **argv)
{
	T_ASSERT(argc == 3, "usage: test_tools_gen MOCKVAL SCHED");
	mockval = argv[1];
	sched = argv[2];
	dir = tt_mkdtemp("toolgen");
	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
	options();
	agave_note();
	auto_unknown("Version; server=9; client=7", "server=9", "VERSION 9");
	auto_unknown("Version; server=(handshake=8, scheduler-bindings=6, shaq=196608, "
		     "rts-alloc=262144); client=(handshake=7, scheduler-bindings=6, shaq=196608, "
		     "rts-alloc=262144)",
		     "handshake=8", "the server wants");
	tt_rmtree(dir);
	free(dir);
	return 0;
}
