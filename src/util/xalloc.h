/* xalloc.h - allocation that aborts with a message on exhaustion.
 *
 * For the CLI side only: a profile that cannot be allocated cannot be
 * written either, so failing loudly is the honest answer. Never used by
 * the agent, which must degrade instead of taking its host down.
 */
#ifndef KILN_UTIL_XALLOC_H
#define KILN_UTIL_XALLOC_H

#include <stddef.h>
#include <stdlib.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
/* As xmalloc(); a block of 2 MiB or more is placed on 2 MiB boundaries
 * and asked to be backed by huge pages (big random-access tables: fewer
 * page faults and TLB misses). Freed with free(). */
void *xmalloc_huge(size_t n);
/* For an array that grows geometrically to new_n elements of size bytes,
 * the first old_n of them in use: as xreallocarray(), except that from
 * 1 MiB on the new block is whole huge pages (as xmalloc_huge()'s) and
 * the elements in use are copied, not remapped (a remapped block's pages
 * are new to the cpu again, and a first touch costs ~40 times as much on
 * small pages as on huge ones under some hypervisors). */
void *xgrowarray(void *p, size_t old_n, size_t new_n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
