/* alloc_site.h - the one rule for "allocation site", used by the heap
 * summary (kiln heap, kiln report on a heap profile), its JSON and chart:
 * the first frame, leaf first, outside the allocator and the language's
 * allocation plumbing (malloc and its family, __rust_alloc, alloc::,
 * RawVec, hashbrown, operator new, libc and the Rust/C++ standard
 * libraries) and the common wrappers (xmalloc, g_malloc, sqlite3Malloc,
 * PyMem_Malloc, je_malloc, mi_malloc, ...). The defaults are one table in
 * alloc_site.c, listed in kiln-heap(1); users add their own wrappers with
 * --alloc-fn REGEX.
 *
 * The same rule trims the stacks the summary shows: from the site to the
 * outermost frame of the user's code (main, or a thread's start), without
 * allocator internals below it or runtime frames above it.
 */
#ifndef KILN_ANALYSIS_ALLOC_SITE_H
#define KILN_ANALYSIS_ALLOC_SITE_H

#include <stdbool.h>
#include <stddef.h>

#include "profile/profile.h"

/* The default table plus the user's regexes. NULL wherever a rule is
 * taken means the default table alone. */
struct alloc_rule;

struct alloc_rule *alloc_rule_new(void);
void alloc_rule_free(struct alloc_rule *r);

/* Adds a user's wrapper: a POSIX extended regex matched against the whole
 * demangled function name (as massif's --alloc-fn names a function).
 * Returns 0, or -EINVAL when it does not compile (err, errlen: why). */
int alloc_rule_add(struct alloc_rule *r, const char *regex, char *err, size_t errlen);

/* True when f is not the user's code: the allocator, its plumbing, a
 * standard library, the runtime, or a user's --alloc-fn. */
bool alloc_rule_skips(const struct alloc_rule *r, const struct profile *p, const struct profile_frame *f);

/* True when f is the allocator proper (malloc, __rust_alloc, alloc::...):
 * a stack with no user frame is named by the first frame past these. */
bool alloc_rule_is_allocator(const struct alloc_rule *r, const struct profile *p, const struct profile_frame *f);

/* Given a stack's frames root first (fr[0] outermost, fr[n-1] the leaf),
 * finds its site: *site is the index of the first frame, leaf first, the
 * rule does not skip; failing that (*runtime set) the first past the
 * allocator, else the leaf. *top is the index of the outermost frame to
 * show with it: the outermost user frame; in a stack with none, the
 * outermost frame above where the process or thread started (_start,
 * __libc_start_main, the C main rustc generates, clone, start_thread).
 * Returns false for an empty stack. */
bool alloc_rule_site(const struct alloc_rule *r, const struct profile *p, const struct profile_frame *fr, size_t n,
                     size_t *site, size_t *top, bool *runtime);

/* For views that draw whole stacks (kiln flame, kiln report's tables)
 * of a heap profile: moves every sample to its stack cut at its site, so
 * the allocator's frames leafward of it are gone and the site is the
 * leaf. Stacks with no user frame stay whole. Adds stack nodes and
 * locations (sharing frames) to p: for viewing, not for writing. */
void alloc_rule_trim_profile(const struct alloc_rule *r, struct profile *p);

#endif
