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

/* The defaults: what is never the user's code. One table; kiln-heap(1)
 * lists it (keep the two in step). */
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
    /* C++: operator new (every variant: [], nothrow, align_val_t; mangled
     * too, for a binary kiln could not demangle) */
    {FN_PREFIX, "operator new", true},
    {FN_PREFIX, "_Znwm", true},
    {FN_PREFIX, "_Znam", true},
    /* The common wrappers, so that the site is their caller: GNU
     * libiberty's and git's xmalloc family */
    {FN_EXACT, "xmalloc", true},
    {FN_EXACT, "xcalloc", true},
    {FN_EXACT, "xrealloc", true},
    {FN_EXACT, "xreallocarray", true},
    {FN_EXACT, "xstrdup", true},
    {FN_EXACT, "xstrndup", true},
    {FN_EXACT, "xmemdup", true},
    {FN_EXACT, "xmallocz", true},
    {FN_EXACT, "xmallocz_gently", true},
    {FN_EXACT, "xmemdupz", true},
    {FN_EXACT, "do_xmalloc", true},
    {FN_EXACT, "xzalloc", true},
    /* GLib: g_new, g_new0, g_renew and g_try_new expand to these */
    {FN_EXACT, "g_malloc", true},
    {FN_EXACT, "g_malloc0", true},
    {FN_EXACT, "g_realloc", true},
    {FN_EXACT, "g_malloc_n", true},
    {FN_EXACT, "g_malloc0_n", true},
    {FN_EXACT, "g_realloc_n", true},
    {FN_EXACT, "g_try_malloc", true},
    {FN_EXACT, "g_try_malloc0", true},
    {FN_EXACT, "g_try_realloc", true},
    {FN_EXACT, "g_try_malloc_n", true},
    {FN_EXACT, "g_try_malloc0_n", true},
    {FN_EXACT, "g_try_realloc_n", true},
    {FN_EXACT, "g_aligned_alloc", true},
    {FN_EXACT, "g_aligned_alloc0", true},
    {FN_EXACT, "g_slice_alloc", true},
    {FN_EXACT, "g_slice_alloc0", true},
    {FN_EXACT, "g_slice_copy", true},
    {FN_EXACT, "g_strdup", true},
    {FN_EXACT, "g_strndup", true},
    {FN_EXACT, "g_memdup", true},
    {FN_EXACT, "g_memdup2", true},
    /* SQLite's allocator layers, sqlite3_malloc down to sqlite3MemMalloc */
    {FN_EXACT, "sqlite3_malloc", true},
    {FN_EXACT, "sqlite3_malloc64", true},
    {FN_EXACT, "sqlite3_realloc", true},
    {FN_EXACT, "sqlite3_realloc64", true},
    {FN_EXACT, "sqlite3Malloc", true},
    {FN_EXACT, "sqlite3MallocZero", true},
    {FN_EXACT, "sqlite3Realloc", true},
    {FN_EXACT, "sqlite3MemMalloc", true},
    {FN_EXACT, "sqlite3MemRealloc", true},
    {FN_EXACT, "sqlite3DbMallocRaw", true},
    {FN_EXACT, "sqlite3DbMallocRawNN", true},
    {FN_EXACT, "sqlite3DbMallocZero", true},
    {FN_EXACT, "sqlite3DbRealloc", true},
    {FN_EXACT, "sqlite3DbReallocOrFree", true},
    {FN_EXACT, "sqlite3DbStrDup", true},
    {FN_EXACT, "sqlite3DbStrNDup", true},
    {FN_EXACT, "dbMallocRawFinish", true},
    {FN_EXACT, "dbReallocFinish", true},
    {FN_EXACT, "mallocWithAlarm", true},
    /* CPython's allocators: the PyMem_ family, pymalloc and the object
     * allocators under every new object (python3.11's names) */
    {FN_PREFIX, "PyMem_", true},
    {FN_PREFIX, "_PyMem_", true},
    {FN_PREFIX, "pymalloc_", true},
    {FN_EXACT, "PyObject_Malloc", true},
    {FN_EXACT, "PyObject_Calloc", true},
    {FN_EXACT, "PyObject_Realloc", true},
    {FN_EXACT, "_PyObject_Malloc", true},
    {FN_EXACT, "_PyObject_Calloc", true},
    {FN_EXACT, "_PyObject_Realloc", true},
    {FN_EXACT, "_PyObject_New", true},
    {FN_EXACT, "_PyObject_NewVar", true},
    {FN_EXACT, "_PyObject_GC_New", true},
    {FN_EXACT, "_PyObject_GC_NewVar", true},
    {FN_EXACT, "_PyObject_GC_Resize", true},
    {FN_EXACT, "_PyObject_GC_Malloc", true},
    {FN_EXACT, "_PyObject_GC_Calloc", true},
    {FN_EXACT, "gc_alloc", true},
    {FN_EXACT, "PyType_GenericAlloc", true},
    {FN_EXACT, "_PyType_AllocNoTrack", true},
    /* jemalloc (je_, Rust's tikv-jemallocator _rjem_, the unprefixed
     * extended API) and mimalloc entry points */
    {FN_PREFIX, "je_", true},
    {FN_PREFIX, "_rjem_", true},
    {FN_EXACT, "mallocx", true},
    {FN_EXACT, "rallocx", true},
    {FN_EXACT, "xallocx", true},
    {FN_PREFIX, "mi_", true},
    {FN_PREFIX, "_mi_", true},
    /* the C++ standard library */
    {MODULE_PREF, "libstdc++", false},
    /* libc's internals and the loader */
    {FN_PREFIX, "__GI_", false},
    {FN_PREFIX, "_IO_", false},
    {FN_PREFIX, "__libc_", false},
    {MODULE_PREF, "libc.so", false},
    {MODULE_PREF, "ld-linux", false},
    /* kiln's own agent: its pthread_create (which learns the new thread's
     * stack) stands between the program and libc's */
    {MODULE_PREF, "libkiln-agent", false},
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

void alloc_rule_trim_profile(const struct alloc_rule *r, struct profile *p)
{
	size_t nloc = p->locations.n, nst = p->stacks.n;
	/* per location: the stored index (innermost first) of its innermost
	 * user frame, or -1; and its cut copy, made on first use */
	int64_t *user = xmalloc((nloc + 1) * sizeof(*user));
	uint32_t *cut = xmalloc((nloc + 1) * sizeof(*cut));
	for (size_t l = 0; l < nloc; l++) {
		const struct profile_location *loc = &p->locations.v[l];
		user[l] = -1;
		cut[l] = UINT32_MAX;
		for (uint32_t k = 0; k < loc->nframes; k++)
			if (!alloc_rule_skips(r, p, &p->frames.v[loc->first_frame + k])) {
				user[l] = k;
				break;
			}
	}
	/* up[node]: the stack cut at its site, the innermost user frame at or
	 * above node; UINT32_MAX when there is none (the stack stays whole).
	 * Parents come before their children. */
	uint32_t *up = xmalloc((nst + 1) * sizeof(*up));
	up[0] = UINT32_MAX;
	for (size_t i = 1; i < nst; i++) {
		const struct profile_stack_node nd = p->stacks.v[i];
		uint32_t parent = nd.parent < i ? nd.parent : 0;
		if (nd.location >= nloc || user[nd.location] < 0) {
			up[i] = up[parent];
			continue;
		}
		if (user[nd.location] == 0) {
			up[i] = (uint32_t)i;
			continue;
		}
		if (cut[nd.location] == UINT32_MAX) {
			/* the same address without the inlined frames below the
			 * site: a location of its own, sharing the frames */
			struct profile_location c = p->locations.v[nd.location];
			c.first_frame += (uint32_t)user[nd.location];
			c.nframes -= (uint32_t)user[nd.location];
			vec_push(&p->locations, c);
			cut[nd.location] = (uint32_t)(p->locations.n - 1);
		}
		up[i] = profile_stack_child(p, parent, cut[nd.location]);
	}
	for (size_t s = 0; s < p->samples.n; s++) {
		uint32_t st = p->samples.v[s].stack;
		if (st < nst && up[st] != UINT32_MAX)
			p->samples.v[s].stack = up[st];
	}
	free(up);
	free(cut);
	free(user);
}
