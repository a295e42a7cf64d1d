/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers for the tools tests: run a tool binary, capture its output, build
 * fake file trees, and look values up in the tools' (deterministic) JSON. */
#ifndef XS_TOOLTEST_H
#define XS_TOOLTEST_H

#include <stddef.h>

struct tt_run {
	int status;   /**< exit status, or 128 + signal */
	char *out;    /**< stdout, NUL-terminated (malloc) */
	char *err;    /**< stderr, NUL-terminated (malloc) */
};

/** A process started by tt_spawn(); its output goes to files until tt_wait(). */
struct tt_proc {
	int pid;
	char out_path[256], err_path[256];
};

/** Start argv[0] with argv (NULL-terminated); stdout and stderr to temporary files. */
void tt_spawn(struct tt_proc *p, char *const argv[]);
/**
 * Wait for @p p at most @p timeout_s seconds (then SIGKILL and fail the
 * test), fill @p r with its exit status and output, remove the files.
 */
void tt_wait(struct tt_proc *p, struct tt_run *r, int timeout_s);

/**
 * Run argv[0] with argv (NULL-terminated), capture stdout and stderr, wait
 * at most @p timeout_s seconds (then SIGKILL and fail the test).
 */
void tt_run(struct tt_run *r, char *const argv[], int timeout_s);
void tt_free(struct tt_run *r);

/** Write @p text into root/rel, creating the directories on the way. */
void tt_write(const char *root, const char *rel, const char *text);
/** printf-style tt_write. */
void tt_writef(const char *root, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/** Remove root/rel (a file). */
void tt_unlink(const char *root, const char *rel);
/** Make a fresh temporary directory (under $TMPDIR or /tmp); caller removes it with tt_rmtree. */
char *tt_mkdtemp(const char *tag);
/** rm -r. */
void tt_rmtree(const char *path);

/**
 * Value of "key": inside the object that also has "name": "<name>" — enough
 * for the tools' own pretty JSON, where each object's members follow each
 * other. Returns a static copy of the raw value (strings without quotes),
 * or NULL.
 */
const char *tt_json_in(const char *json, const char *name, const char *key);
/** First top-level-or-nested "key": value in the text, raw (static copy), or NULL. */
const char *tt_json_get(const char *json, const char *key);

#endif
