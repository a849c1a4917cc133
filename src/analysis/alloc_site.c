/* alloc_site.c - which frame is an allocation site (alloc_site.h). */
#include "analysis/alloc_site.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "util/vec.h"
#include "util/xalloc.h"

enum match {
	FN_PREFIX,   /* the function name starts with it */
	FN_EXACT,    /* the function name is it */
	FILE_SUB,    /* the source file's path contains it */
	MODULE_PREF, /* the module (basename of the mapping) starts with it */
};

struct alloc_pattern {
	enum match how;
	const char *text;
	bool allocator; /* the allocator proper, not only its callers' plumbing */
};

/* The defaults: what is never the user's code. One table; issue 20 adds
 * more wrappers here. */
static const struct alloc_pattern defaults[] = {
    /* the C allocator and its family */
    {FN_EXACT, "malloc", true},
    {FN_EXACT, "calloc", true},
    {FN_EXACT, "realloc", true},
    {FN_EXACT, "reallocarray", true},
    {FN_EXACT, "posix_memalign", true},
    {FN_EXACT, "aligned_alloc", true},
    {FN_EXACT, "memalign", true},
    {FN_EXACT, "valloc", true},
    {FN_EXACT, "pvalloc", true},
    {FN_EXACT, "strdup", false},
    {FN_EXACT, "strndup", false},
    /* Rust's global allocator and its plumbing: Box, Vec (RawVec),
     * String, HashMap (hashbrown), the rest of std/core/alloc */
    {FN_PREFIX, "__rust", true},
    {FN_PREFIX, "__rdl", true},
    {FN_PREFIX, "alloc::", true},
    {FN_PREFIX, "<alloc::", true},
    {FN_PREFIX, "std::sys::alloc", true},
    {FN_PREFIX, "core::", true},
    {FN_PREFIX, "<core::", true},
    {FN_PREFIX, "hashbrown::", false},
    {FN_PREFIX, "<hashbrown::", false},
    {FN_PREFIX, "std::", false},
    {FN_PREFIX, "<std::", false},
    {FN_PREFIX, "<&", false},
    {FN_PREFIX, "<T as", false},
    {FILE_SUB, "/rustc/", false},
    {FILE_SUB, "/library/std/", false},
    {FILE_SUB, "/library/alloc/", false},
    {FILE_SUB, "/library/core/", false},
    /* C++: operator new and the standard library */
    {FN_PREFIX, "operator new", false},
    {MODULE_PREF, "libstdc++", false},
    /* libc's internals and the loader */
    {FN_PREFIX, "__GI_", false},
    {FN_PREFIX, "_IO_", false},
    {FN_PREFIX, "__libc_", false},
    {MODULE_PREF, "libc.so", false},
    {MODULE_PREF, "ld-linux", false},
};

/* Where a process or thread starts, below the user's main or thread
 * function: a stack with no user frame is shown down to these. */
static const struct alloc_pattern entries[] = {
    {FN_EXACT, "_start", false},       {FN_PREFIX, "__libc_start", false}, {FN_EXACT, "clone", false},
    {FN_EXACT, "clone3", false},       {FN_EXACT, "start_thread", false},  {FN_PREFIX, "__clone", false},
    {FN_EXACT, "thread_start", false},
};

struct alloc_rule {
	VEC(regex_t) user;
};

struct alloc_rule *alloc_rule_new(void)
{
	return xcalloc(1, sizeof(struct alloc_rule));
}

void alloc_rule_free(struct alloc_rule *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->user.n; i++)
		regfree(&r->user.v[i]);
	vec_free(&r->user);
	free(r);
}

int alloc_rule_add(struct alloc_rule *r, const char *regex, char *err, size_t errlen)
{
	/* the whole name, as massif's --alloc-fn: "xmalloc" is not "xmalloc_v2" */
	struct strbuf whole = STRBUF_INIT;
	strbuf_addf(&whole, "^(%s)$", regex);
	regex_t re;
	int rc = regcomp(&re, strbuf_str(&whole), REG_EXTENDED | REG_NOSUB);
	strbuf_release(&whole);
	if (rc) {
		if (err && errlen)
			regerror(rc, &re, err, errlen);
		return -EINVAL;
	}
	vec_push(&r->user, re);
	return 0;
}

static bool matches(const struct alloc_pattern *m, const char *fn, const char *file, const char *mod)
{
	switch (m->how) {
	case FN_PREFIX:
		return !strncmp(fn, m->text, strlen(m->text));
	case FN_EXACT:
		return !strcmp(fn, m->text);
	case FILE_SUB:
		return strstr(file, m->text) != NULL;
	case MODULE_PREF:
		return !strncmp(mod, m->text, strlen(m->text));
	}
	return false;
}

static bool user_matches(const struct alloc_rule *r, const char *fn)
{
	for (size_t i = 0; r && i < r->user.n; i++)
		if (!regexec(&r->user.v[i], fn, 0, NULL, 0))
			return true;
	return false;
}

bool alloc_rule_skips(const struct alloc_rule *r, const struct profile *p, const struct profile_frame *f)
{
	const char *fn = profile_str(p, f->function);
	const char *file = profile_str(p, f->file);
	const char *mod = profile_str(p, f->module);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (matches(&defaults[i], fn, file, mod))
			return true;
	/* the C main that rustc generates around the user's main has no lines */
	if (!f->file && (!strcmp(fn, "main") || !strcmp(fn, "_start")))
		return true;
	return user_matches(r, fn);
}

bool alloc_rule_is_allocator(const struct alloc_rule *r, const struct profile *p, const struct profile_frame *f)
{
	const char *fn = profile_str(p, f->function);
	for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		if (defaults[i].allocator && defaults[i].how != FILE_SUB && defaults[i].how != MODULE_PREF &&
		    matches(&defaults[i], fn, "", ""))
			return true;
	return user_matches(r, fn);
}

static bool is_entry(const struct profile *p, const struct profile_frame *f)
{
	const char *fn = profile_str(p, f->function);
	if (!f->file && !strcmp(fn, "main")) /* the C main rustc generates */
		return true;
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		if (matches(&entries[i], fn, "", ""))
			return true;
	return false;
}

bool alloc_rule_site(const struct alloc_rule *r, const struct profile *p, const struct profile_frame *fr, size_t n,
                     size_t *site, size_t *top, bool *runtime)
{
	*runtime = false;
	if (!n)
		return false;
	size_t i = n;
	while (i-- > 0 && alloc_rule_skips(r, p, &fr[i]))
		;
	if (i < n) {
		*site = i;
		size_t t = 0;
		while (t < i && alloc_rule_skips(r, p, &fr[t]))
			t++;
		*top = t;
		return true;
	}
	/* all library code: the first frame past the allocator itself,
	 * shown down to where its process or thread started */
	*runtime = true;
	*top = 0;
	while (*top + 1 < n && is_entry(p, &fr[*top]))
		(*top)++;
	for (i = n; i-- > 0;)
		if (!alloc_rule_is_allocator(r, p, &fr[i])) {
			*site = i;
			return true;
		}
	*site = n - 1;
	return true;
}
