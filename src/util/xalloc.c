/* xalloc.c - allocation that aborts with a message on exhaustion. */
#include "util/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void out_of_memory(size_t n)
{
	/* stdio may itself need memory; write(2) does not. */
	static const char msg[] = "kiln: out of memory\n";
	(void)n;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing more we can do */
	}
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

#define HUGE_PAGE      ((size_t)2 << 20)
#define GROW_HUGE_FROM ((size_t)1 << 20) /* below, at most a huge page each would waste more than half */

/* A block of whole huge pages on their boundaries, asked to be backed by
 * them (advice: without THP, small pages). Freed with free(). */
static void *alloc_huge_pages(size_t n)
{
	size_t size = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	void *p = aligned_alloc(HUGE_PAGE, size);
	if (!p)
		out_of_memory(n);
	(void)madvise(p, size, MADV_HUGEPAGE);
	return p;
}

void *xmalloc_huge(size_t n)
{
	return n < HUGE_PAGE ? xmalloc(n) : alloc_huge_pages(n);
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n);
	return q;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		out_of_memory(SIZE_MAX);
	return xrealloc(p, n * size);
}

void *xgrowarray(void *p, size_t old_n, size_t new_n, size_t size)
{
	if (size && new_n > SIZE_MAX / size)
		out_of_memory(SIZE_MAX);
	if (new_n * size < GROW_HUGE_FROM)
		return xrealloc(p, new_n * size);
	void *q = alloc_huge_pages(new_n * size);
	if (p && old_n)
		memcpy(q, p, (old_n < new_n ? old_n : new_n) * size);
	free(p);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = xmalloc(len + 1);
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}
