/* scan_regions.c - the mappings the leak scan reads as roots (scan_regions.h). */
#include "capture/scan_regions.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture/maps_line.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

struct map_line {
	uint64_t lo, hi;
	bool r, w, priv, none;
	bool anon;    /* no file: no inode, no name, or a [anon:NAME] from prctl */
	bool special; /* a kernel-named mapping: [heap], [stack], [vvar], ... */
	bool heap;    /* [heap]: the brk heap, glibc's main arena */
	const char *name;
	size_t name_len;
};

static bool line_parse(const char *s, size_t len, struct map_line *m)
{
	struct maps_line l;
	if (!maps_line_parse(s, len, &l) || l.end <= l.start)
		return false;
	const char *perm = l.perms;
	memset(m, 0, sizeof(*m));
	m->lo = l.start;
	m->hi = l.end;
	m->r = perm[0] == 'r';
	m->w = perm[1] == 'w';
	m->none = perm[0] == '-' && perm[1] == '-' && perm[2] == '-';
	m->priv = perm[3] == 'p';
	/* the name runs to the end of the line, spaces included */
	m->name = s + l.path_at;
	m->name_len = l.path_len;
	bool named = m->name_len > 0;
	m->special = named && m->name[0] == '[' && strncmp(m->name, "[anon:", 6);
	m->anon = l.inode == 0 && (!named || !strncmp(m->name, "[anon:", 6));
	m->heap = m->name_len == 6 && !memcmp(m->name, "[heap]", 6);
	return true;
}

/* The part of an anonymous line below a glibc arena heap, or all of it:
 * an arena heap is [X, X + 64 MiB) with X aligned to its size, read-write
 * up to some point and PROT_NONE above it, so its read-write part ends the
 * line and the next lines, none, reach X + 64 MiB. The line may begin
 * below X when another anonymous mapping lies right under the heap. */
static uint64_t below_arena(const struct map_line *l, const struct map_line *next, size_t nnext)
{
	uint64_t x = (l->hi - 1) & ~(SCAN_ARENA_HEAP_SIZE - 1);
	if (x < l->lo || l->hi == x + SCAN_ARENA_HEAP_SIZE)
		return l->hi; /* a full heap has no PROT_NONE part to tell it by */
	uint64_t end = l->hi;
	for (size_t i = 0; i < nnext && end < x + SCAN_ARENA_HEAP_SIZE; i++) {
		if (next[i].lo != end || !next[i].none || !next[i].anon)
			break;
		end = next[i].hi;
	}
	return end >= x + SCAN_ARENA_HEAP_SIZE ? x : l->hi;
}

static bool is_device(const struct map_line *l)
{
	return l->name_len >= 5 && !memcmp(l->name, "/dev/", 5) &&
	       !(l->name_len >= 9 && !memcmp(l->name, "/dev/zero", 9));
}

void scan_regions_pick(const char *text, size_t len, scan_region_vec *out)
{
	VEC(struct map_line) lines = {0};
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct map_line m;
		if (line_parse(p, n, &m))
			vec_push(&lines, m);
		p += n + 1;
	}
	for (size_t i = 0; i < lines.n; i++) {
		const struct map_line *l = &lines.v[i];
		if (!l->r || !l->w || !l->priv || l->special || is_device(l))
			continue;
		uint64_t hi = l->anon ? below_arena(l, lines.v + i + 1, lines.n - i - 1) : l->hi;
		if (hi <= l->lo)
			continue;
		struct scan_region *r = vec_grow(out);
		r->r.lo = l->lo;
		r->r.hi = hi;
		r->r.kind = l->anon ? KH_REGION_ANON : KH_REGION_FILE;
		if (!l->anon)
			r->name = xstrndup(l->name, l->name_len);
	}
	vec_free(&lines);
}

int scan_regions_read(unsigned pid, scan_region_vec *out)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct strbuf sb = STRBUF_INIT;
	char buf[16384];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(&sb, buf, (size_t)n);
	int rc = n < 0 ? -errno : 0;
	close(fd);
	if (!rc)
		scan_regions_pick(sb.buf ? sb.buf : "", sb.len, out);
	strbuf_release(&sb);
	return rc;
}

void scan_regions_release(scan_region_vec *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i].name);
	vec_free(v);
}
