/* kallsyms_index.c - the text symbols of a kallsyms file, as (address,
 * line offset) pairs sorted by address, kept in the debug cache as
 * kallsyms-<hash of the path>.idx. Naming a profile's kernel frames then
 * takes a bisection per address in the mapped index instead of a pass
 * over the file's ~120,000 lines (which was a quarter of a later read of
 * a small perf.data file). Only for plain files: perf's copy under its
 * build-id never changes; /proc/kallsyms is read each time.
 *
 * An index names the file it was made from (device, inode, size, mtime
 * and path) and is used only for that file; a damaged or foreign one is
 * ignored and written again. Written under a temporary name, renamed.
 */
#include "symbols/symbols_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/strbuf.h"

#define INDEX_MAGIC "KLNKIX01"

struct index_header {
	char magic[8];
	uint64_t dev, ino, size, mtime_sec, mtime_nsec;
	uint64_t count;
	uint64_t path_len; /* the source's path follows the header, then the entries (8-aligned) */
};

static size_t entries_offset(size_t path_len)
{
	return (sizeof(struct index_header) + path_len + 7) & ~(size_t)7;
}

/* The index's file name for path into sb; false when the cache is off. */
static bool index_path(const char *path, struct strbuf *sb)
{
	const char *dir = symbols_debug_cache_dir();
	if (!dir)
		return false;
	strbuf_addf(sb, "%s/kallsyms-%016llx.idx", dir, (unsigned long long)hash_bytes(path, strlen(path)));
	return true;
}

static void header_of(struct index_header *h, const char *path, const struct stat *st, size_t n)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, INDEX_MAGIC, sizeof(h->magic));
	h->dev = (uint64_t)st->st_dev;
	h->ino = (uint64_t)st->st_ino;
	h->size = (uint64_t)st->st_size;
	h->mtime_sec = (uint64_t)st->st_mtim.tv_sec;
	h->mtime_nsec = (uint64_t)st->st_mtim.tv_nsec;
	h->count = n;
	h->path_len = strlen(path);
}

const struct ksym_ix *kallsyms_index_map(const char *path, const struct stat *st, size_t *n, void **map,
                                         size_t *map_len)
{
	struct strbuf ip = STRBUF_INIT;
	const struct ksym_ix *out = NULL;
	*n = *map_len = 0;
	*map = NULL;
	if (!index_path(path, &ip))
		goto out_free;
	int fd = open(strbuf_str(&ip), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out_free;
	struct stat ist;
	if (fstat(fd, &ist) != 0 || (size_t)ist.st_size < sizeof(struct index_header)) {
		close(fd);
		goto out_free;
	}
	size_t len = (size_t)ist.st_size;
	uint8_t *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		goto out_free;
	struct index_header want, have;
	memcpy(&have, m, sizeof(have));
	header_of(&want, path, st, (size_t)have.count);
	size_t plen = want.path_len, off = entries_offset(plen);
	/* the file it was made from, and every entry present */
	if (memcmp(&have, &want, sizeof(want)) != 0 || off > len || memcmp(m + sizeof(have), path, plen) != 0 ||
	    have.count > (len - off) / sizeof(struct ksym_ix) || have.count * sizeof(struct ksym_ix) != len - off) {
		munmap(m, len);
		goto out_free;
	}
	*n = (size_t)have.count;
	*map = m;
	*map_len = len;
	out = (const struct ksym_ix *)(m + off);
out_free:
	strbuf_release(&ip);
	return out;
}

static int ix_cmp(const void *a, const void *b)
{
	const struct ksym_ix *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

void kallsyms_index_store(const char *path, const struct stat *st, struct ksym_ix *e, size_t n)
{
	struct strbuf ip = STRBUF_INIT, tmp = STRBUF_INIT;
	if (!index_path(path, &ip) || debug_cache_mkdir() < 0)
		goto out_free;
	bool sorted = true;
	for (size_t i = 1; i < n && sorted; i++)
		sorted = ix_cmp(&e[i - 1], &e[i]) <= 0;
	if (!sorted)
		qsort(e, n, sizeof(*e), ix_cmp);
	struct index_header h;
	header_of(&h, path, st, n);
	size_t off = entries_offset(h.path_len);
	uint8_t pad[8] = {0};
	strbuf_addf(&tmp, "%s.tmp.%d", strbuf_str(&ip), (int)getpid());
	FILE *f = fopen(strbuf_str(&tmp), "we");
	if (!f)
		goto out_free;
	bool ok = fwrite(&h, sizeof(h), 1, f) == 1 && fwrite(path, 1, h.path_len, f) == h.path_len &&
	          fwrite(pad, 1, off - sizeof(h) - h.path_len, f) == off - sizeof(h) - h.path_len &&
	          fwrite(e, sizeof(*e), n, f) == n;
	ok = fclose(f) == 0 && ok;
	if (!ok || rename(strbuf_str(&tmp), strbuf_str(&ip)) != 0)
		unlink(strbuf_str(&tmp));
out_free:
	strbuf_release(&ip);
	strbuf_release(&tmp);
}
