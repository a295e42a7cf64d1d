/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Description: the error model (xsched/common.h).
 *  - every queue (41xx) and common/shm (40xx) error code has its own text,
 *    for the negative and the positive number, and the same text from
 *    xs_strerror_queues(); the code tables have no holes;
 *  - errno values pass through to strerror();
 *  - 0 is "success"; unknown numbers (inside and outside the xsched range,
 *    INT_MIN, INT_MAX) give a readable "unknown" text, never NULL;
 *  - xs_seterr() returns its code and records a detail message per thread,
 *    truncated safely; xs_clearerr() empties it; xs_version() is set.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "testutil.h"
#include "xsched/shm.h"
#include "xsched/spsc.h"

#define MAXCODES 200

static void expect_distinct(const int *codes, int n)
{
	int a, b;

	for (a = 0; a < n; a++) {
		const char *s = xs_strerror(-codes[a]);

		T_ASSERT(s && s[0], "(code %d has no text)", codes[a]);
		T_ASSERT(!strstr(s, "unknown"), "(code %d: '%s')", codes[a], s);
		T_ASSERT(!strcmp(s, xs_strerror(codes[a])), "(code %d: sign matters)", codes[a]);
		for (b = 0; b < a; b++)
			T_ASSERT(strcmp(s, xs_strerror(-codes[b])), "(codes %d and %d share '%s')",
				 codes[a], codes[b], s);
		/* and none reads like a system error */
		for (b = 1; b < 134; b++)
			T_ASSERT(strcmp(s, strerror(b)), "(code %d reads like errno %d)", codes[a], b);
	}
}

static void check_codes(void)
{
	int codes[MAXCODES], n = 0, c, nq;

	/* common / shm block: contiguous from XS_E_BASE */
	for (c = XS_E_BASE; c < XS_E_QUEUES_BASE; c++) {
		const char *s = xs_strerror(-c);

		if (strstr(s, "unknown"))
			break;
		codes[n++] = c;
	}
	T_EQ(n, XS_ESHM_UNSEALED - XS_E_BASE + 1);
	/* queues block: contiguous from XS_E_QUEUES_BASE, every one in the table */
	for (c = XS_E_QUEUES_BASE; c < XS_E_ALLOC_BASE && xs_strerror_queues(c); c++) {
		T_ASSERT(!strcmp(xs_strerror_queues(c), xs_strerror(-c)));
		codes[n++] = c;
	}
	nq = c - XS_E_QUEUES_BASE;
	T_EQ(nq, XS_EQ_STALLED - XS_E_QUEUES_BASE + 1);
	for (; c < XS_E_ALLOC_BASE; c++)
		T_ASSERT(xs_strerror_queues(c) == NULL, "(hole in the queue table at %d)", c);
	T_ASSERT(xs_strerror_queues(XS_E_QUEUES_BASE - 1) == NULL);
	T_ASSERT(xs_strerror_queues(0) == NULL);
	expect_distinct(codes, n);
	printf("test_errors: %d common/shm and %d queue codes, all distinct\n", n - nq, nq);
}

static void check_errno(void)
{
	static const int errs[] = { EINVAL, ENOMEM, EAGAIN, EPROTO, EBADMSG, ETIMEDOUT,
				    EPERM, ENOSYS, EBADF, EIO, ENOSPC, EOVERFLOW };
	size_t i;

	for (i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		char want[256];

		snprintf(want, sizeof(want), "%s", strerror(errs[i]));
		T_ASSERT(!strcmp(xs_strerror(-errs[i]), want), "(errno %d)", errs[i]);
		T_ASSERT(!strcmp(xs_strerror(errs[i]), want), "(errno %d)", errs[i]);
	}
	T_ASSERT(!strcmp(xs_strerror(0), "success"));
}

static void check_unknown(void)
{
	static const int odd[] = { XS_ESHM_UNSEALED + 1, XS_E_QUEUES_BASE - 1, XS_EQ_STALLED + 1,
				   XS_E_QUEUES_BASE + 99, XS_E_END, XS_E_END + 1, 100000,
				   INT_MAX, INT_MIN, INT_MIN + 1 };
	size_t i;

	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		const char *s = xs_strerror(odd[i]);

		T_ASSERT(s != NULL && s[0]);
		T_ASSERT(strstr(s, "nknown") != NULL, "(%d gave '%s')", odd[i], s);
		if (odd[i] != INT_MIN)
			T_ASSERT(!strcmp(xs_strerror(-odd[i]), xs_strerror(odd[i])) ||
				 odd[i] < XS_E_BASE);
	}
}

static void *other_thread(void *arg)
{
	T_EQ(xs_errmsg()[0], 0); /* a new thread starts clean */
	T_ERR(xs_seterr(-EIO, "thread detail %d", 7), -EIO);
	T_ASSERT(!strcmp(xs_errmsg(), "thread detail 7"));
	return arg;
}

static void check_detail(void)
{
	char big[2000];
	pthread_t t;

	xs_clearerr();
	T_EQ(xs_errmsg()[0], 0);
	T_ERR(xs_seterr(-XS_EQ_VERSION, "version byte %u, want %u", 2u, 1u), -XS_EQ_VERSION);
	T_ASSERT(!strcmp(xs_errmsg(), "version byte 2, want 1"));
	T_ASSERT(pthread_create(&t, NULL, other_thread, NULL) == 0);
	T_ASSERT(pthread_join(t, NULL) == 0);
	T_ASSERT(!strcmp(xs_errmsg(), "version byte 2, want 1")); /* per thread */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	T_ERR(xs_seterr(-EINVAL, "%s", big), -EINVAL);
	T_ASSERT(strlen(xs_errmsg()) > 100 && strlen(xs_errmsg()) < sizeof(big));
	xs_clearerr();
	T_EQ(xs_errmsg()[0], 0);
	T_ASSERT(xs_version() && !strcmp(xs_version(), XS_VERSION_STRING));
}

int main(void)
{
	check_codes();
	check_errno();
	check_unknown();
	check_detail();
	return 0;
}
