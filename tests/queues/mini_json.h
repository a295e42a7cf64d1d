/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny JSON reader for the golden *.json files (objects, arrays, strings
 * without escapes beyond \" and \\, integers, true/false/null). Test code
 * only: a malformed file fails the test. */
#ifndef XS_TEST_MINI_JSON_H
#define XS_TEST_MINI_JSON_H

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

enum mj_type { MJ_NULL, MJ_NUM, MJ_STR, MJ_OBJ, MJ_ARR };

struct mj {
	enum mj_type t;
	long long num;
	char *str;        /* MJ_STR */
	int n;            /* children (MJ_OBJ, MJ_ARR) */
	char **keys;      /* MJ_OBJ */
	struct mj *v;     /* children */
};

static void mj_ws(const char **p)
{
	while (isspace((unsigned char)**p))
		(*p)++;
}

static char *mj_string(const char **p)
{
	const char *s = ++*p;
	char *out, *o;

	while (**p && **p != '"')
		*p += (**p == '\\' && (*p)[1]) ? 2 : 1;
	T_ASSERT(**p == '"', "(unterminated JSON string)");
	out = o = malloc((size_t)(*p - s) + 1);
	T_ASSERT(out != NULL);
	for (; s < *p; s++) {
		if (*s == '\\')
			s++;
		*o++ = *s;
	}
	*o = '\0';
	(*p)++;
	return out;
}

static void mj_parse(const char **p, struct mj *out)
{
	memset(out, 0, sizeof(*out));
	mj_ws(p);
	if (**p == '{' || **p == '[') {
		char close = **p == '{' ? '}' : ']';

		out->t = close == '}' ? MJ_OBJ : MJ_ARR;
		(*p)++;
		mj_ws(p);
		while (**p != close) {
			out->v = realloc(out->v, sizeof(*out->v) * (size_t)(out->n + 1));
			out->keys = realloc(out->keys, sizeof(*out->keys) * (size_t)(out->n + 1));
			T_ASSERT(out->v && out->keys);
			out->keys[out->n] = NULL;
			if (out->t == MJ_OBJ) {
				T_ASSERT(**p == '"', "(JSON key expected at '%.20s')", *p);
				out->keys[out->n] = mj_string(p);
				mj_ws(p);
				T_ASSERT(**p == ':');
				(*p)++;
			}
			mj_parse(p, &out->v[out->n++]);
			mj_ws(p);
			if (**p == ',') {
				(*p)++;
				mj_ws(p);
			} else {
				T_ASSERT(**p == close, "(JSON: ',' or '%c' expected at '%.20s')", close, *p);
			}
		}
		(*p)++;
	} else if (**p == '"') {
		out->t = MJ_STR;
		out->str = mj_string(p);
	} else if (**p == '-' || isdigit((unsigned char)**p)) {
		char *end;

		out->t = MJ_NUM;
		out->num = strtoll(*p, &end, 10);
		*p = end;
	} else {
		static const char *const words[] = { "true", "false", "null" };

		for (int i = 0; i < 3; i++)
			if (!strncmp(*p, words[i], strlen(words[i]))) {
				out->t = i < 2 ? MJ_NUM : MJ_NULL;
				out->num = i == 0;
				*p += strlen(words[i]);
				return;
			}
		t_fail(__FILE__, __LINE__, "JSON: unexpected '%.20s'", *p);
	}
}

/* Member @p key of object @p o, or NULL. */
static const struct mj *mj_get(const struct mj *o, const char *key)
{
	if (o->t != MJ_OBJ)
		return NULL;
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->keys[i], key))
			return &o->v[i];
	return NULL;
}

/* Number member @p key (fails the test when absent). */
static long long mj_num(const struct mj *o, const char *key)
{
	const struct mj *v = mj_get(o, key);

	T_ASSERT(v && v->t == MJ_NUM, "(JSON number '%s' missing)", key);
	return v->num;
}

/* Free what mj_parse() allocated under @p v. */
static void mj_free(struct mj *v)
{
	for (int i = 0; i < v->n; i++) {
		mj_free(&v->v[i]);
		free(v->keys[i]);
	}
	free(v->v);
	free(v->keys);
	free(v->str);
	memset(v, 0, sizeof(*v));
}

/* Read and parse golden file @p name (fails when missing); mj_free() it. */
static struct mj mj_load(const char *name)
{
	size_t len;
	char *text = (char *)t_read_vector(name, &len), *z = malloc(len + 1);
	const char *p = z;
	struct mj root;

	T_ASSERT(z != NULL);
	memcpy(z, text, len);
	z[len] = '\0';
	free(text);
	mj_parse(&p, &root);
	free(z);
	return root;
}

#endif
