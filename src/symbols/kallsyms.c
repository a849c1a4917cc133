/* kallsyms.c - kernel symbols from /proc/kallsyms: read once, keep the
 * text symbols sorted, answer by binary search. When the addresses to name
 * are known beforehand (a whole profile), one pass over the text keeps
 * only the symbols that name them: a few hundred of the ~120,000, without
 * copying, sorting or storing the rest. */
#include "symbols/symbols_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/num.h"
#include "util/xalloc.h"

#define KALLSYMS_BUF (256u << 10)

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool is_text(char type)
{
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

/* The fields of one kallsyms line [line, eol): "ffffffff81000000 T
 * name\t[module]". The name and module (with its brackets; NULL when
 * none) are pointed at, not copied: the text stays as it is (a mapped
 * file). False for other lines. */
static bool parse_fields(const char *line, const char *eol, uint64_t *addr, char *type, const char **name,
                         size_t *name_len, const char **module, size_t *module_len)
{
	/* not strtoull: its locale and base handling cost more than the
	 * rest of reading the ~100k lines together */
	uint64_t a = 0;
	const char *end = num_scan_u64(line, eol, 16, &a);
	if (!end || end >= eol || *end != ' ')
		return false;
	const char *p = end + 1;
	if (eol - p < 2 || !*p || p[1] != ' ')
		return false;
	*type = *p;
	p += 2;
	const char *n = p;
	while (p < eol && *p && *p != '\t' && *p != ' ' && *p != '\n')
		p++;
	if (p == n)
		return false;
	*name = n;
	*name_len = (size_t)(p - n);
	*module = NULL;
	*module_len = 0;
	if (p < eol && (*p == '\t' || *p == ' ')) {
		const char *m = p + 1;
		while (m < eol && (*m == ' ' || *m == '\t'))
			m++;
		if (m < eol && *m == '[') {
			const char *close = memchr(m, ']', (size_t)(eol - m));
			if (close) {
				*module = m;
				*module_len = (size_t)(close + 1 - m);
			}
		}
	}
	*addr = a;
	return true;
}

/* The same for a NUL-terminated line, cutting the name and module out of
 * it with NULs. */
static bool parse_line(char *line, uint64_t *addr, char *type, char **name, char **module)
{
	const char *n, *m;
	size_t nlen, mlen;
	if (!parse_fields(line, line + strlen(line), addr, type, &n, &nlen, &m, &mlen))
		return false;
	*name = (char *)n;
	(*name)[nlen] = '\0';
	*module = (char *)m;
	if (m)
		(*module)[mlen] = '\0';
	return true;
}

/* Reads the whole file into text (NUL-terminated): 0 or -errno. */
static int read_all(const char *path, struct kallsyms *k)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	/* /proc/kallsyms says size 0; perf's copy is a plain file read at once */
	size_t want = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : KALLSYMS_BUF;
	int rc = 0;
	for (;;) {
		/* large reads: the kernel formats /proc/kallsyms a read() at a
		 * time, and restarts its walk of the table at each */
		vec_reserve(&k->names, k->names.n + want);
		ssize_t n = read(fd, k->names.v + k->names.n, k->names.cap - k->names.n - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		k->names.n += (size_t)n;
		want = KALLSYMS_BUF;
	}
	close(fd);
	if (rc == 0) {
		vec_reserve(&k->names, k->names.n + 1);
		k->names.v[k->names.n] = '\0';
	}
	return rc;
}

int kallsyms_load(struct kallsyms *k, const char *path, struct strtab *strs)
{
	if (k->loaded)
		return k->err;
	k->loaded = true;
	/* parsed in place: names stay in the file's text, cut by NULs */
	int rc = read_all(path, k);
	if (rc == 0 && k->names.n > UINT32_MAX)
		rc = -EFBIG; /* names are 32-bit offsets; no kernel has such a table */
	if (rc < 0) {
		vec_free(&k->names);
		k->err = rc;
		return k->err;
	}
	uint32_t kernel = strtab_intern(strs, "[kernel.kallsyms]");
	bool sorted = true;
	bool any_nonzero = false;
	size_t lines = 0;
	char *text = k->names.v, *end = text + k->names.n;
	for (char *line = text; line < end;) {
		char *nl = memchr(line, '\n', (size_t)(end - line));
		char *next = nl ? nl + 1 : end;
		if (nl)
			*nl = '\0';
		uint64_t addr;
		char type;
		char *name, *module;
		bool ok = parse_line(line, &addr, &type, &name, &module);
		line = next;
		if (!ok)
			continue;
		lines++;
		if (addr)
			any_nonzero = true;
		if (!is_text(type))
			continue;
		if (k->syms.n && addr < k->syms.v[k->syms.n - 1].addr)
			sorted = false;
		struct ksym *s = vec_grow(&k->syms);
		s->addr = addr;
		s->name_off = (uint32_t)(name - text);
		s->name = UINT32_MAX;
		s->module = module ? strtab_intern(strs, module) : kernel;
	}
	if (lines && !any_nonzero) {
		/* kptr_restrict hides the addresses: names without addresses are useless. */
		vec_free(&k->syms);
		k->err = -EACCES;
		return k->err;
	}
	/* the kernel lists its symbols by address: sorting is rarely needed */
	if (k->syms.n && !sorted)
		qsort(k->syms.v, k->syms.n, sizeof(*k->syms.v), ksym_cmp);
	k->err = k->syms.n ? 0 : -ENODATA;
	return k->err;
}

/* The file's text: mapped when it is a plain file (perf's copy), else
 * read into k->names (/proc/kallsyms, whose size reads as 0). *map_len is
 * the mapping's length, 0 when read. */
static int load_text(const char *path, struct kallsyms *k, const char **text, size_t *len, size_t *map_len,
                     struct stat *st)
{
	*map_len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) == 0 && S_ISREG(st->st_mode) && st->st_size > 0) {
		void *m = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		close(fd);
		if (m == MAP_FAILED)
			return -errno;
		*text = m;
		*len = *map_len = (size_t)st->st_size;
		return 0;
	}
	close(fd);
	int rc = read_all(path, k);
	*text = k->names.v;
	*len = k->names.n;
	return rc;
}

/* hex digit values plus one, 0 for other bytes */
static const uint8_t hex_value[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
    ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The address and type of a line in the usual layout ("16 hex digits,
 * space, type, space, name"), without looking at the rest: the pass over
 * the whole table needs no more for the lines that name nothing. False
 * for any other layout, which parse_fields() then reads. */
static bool parse_head(const char *line, const char *eol, uint64_t *addr, char *type)
{
	if (eol - line < 20 || line[16] != ' ' || line[18] != ' ' || !line[17] || line[19] == ' ' || line[19] == '\t' ||
	    !line[19])
		return false;
	uint64_t a = 0;
	bool ok = true;
	for (int i = 0; i < 16; i++) {
		unsigned d = hex_value[(unsigned char)line[i]];
		ok &= d != 0;
		a = a << 4 | ((d - 1) & 15);
	}
	if (!ok)
		return false;
	*addr = a;
	*type = line[17];
	return true;
}

/* The first of the n sorted addresses at or above addr: n when none. */
static size_t lower_bound(const uint64_t *addrs, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (addrs[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Bucket j of kallsyms_load_for(): the highest text symbol in
 * (addrs[j-1], addrs[j]] (the later line of equals, as the full table's
 * search finds); the symbol of addrs[i] is then the highest of buckets
 * 0..i. */
struct bucket {
	uint64_t addr;
	uint32_t line; /* its line's offset in the text */
	bool has;
};

/* What the pass over the text saw. */
struct text_census {
	size_t lines, text_syms;
	bool any_nonzero;
};

/* Fills the buckets from an index of this very file (stored only for a
 * usable table): each address's symbol is the last entry at or below it. */
static void buckets_from_index(const struct ksym_ix *ix, size_t nix, size_t len, const uint64_t *addrs, size_t n,
                               struct bucket *b)
{
	for (size_t j = 0; j < n; j++) {
		size_t lo = 0, hi = nix;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (ix[mid].addr <= addrs[j])
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo && ix[lo - 1].line < len)
			b[j] = (struct bucket){ix[lo - 1].addr, ix[lo - 1].line, true};
	}
}

/* Fills the buckets in one pass over the text; with keep, also stores
 * every text symbol as the file's index. */
static void buckets_from_text(const char *path, const struct stat *st, const char *text, size_t len, bool keep,
                              const uint64_t *addrs, size_t n, struct bucket *b, struct text_census *c)
{
	VEC(struct ksym_ix) all = {0};
	for (const char *line = text, *end = text + len; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *eol = nl ? nl : end;
		uint64_t addr;
		char type;
		const char *name, *module;
		size_t nlen, mlen;
		bool ok = parse_head(line, eol, &addr, &type) ||
		          parse_fields(line, eol, &addr, &type, &name, &nlen, &module, &mlen);
		uint32_t at = (uint32_t)(line - text);
		line = nl ? nl + 1 : end;
		if (!ok)
			continue;
		c->lines++;
		c->any_nonzero |= addr != 0;
		if (!is_text(type))
			continue;
		c->text_syms++;
		if (keep) {
			struct ksym_ix e = {addr, at, 0};
			vec_push(&all, e);
		}
		size_t j = lower_bound(addrs, n, addr);
		if (j < n && (!b[j].has || addr >= b[j].addr))
			b[j] = (struct bucket){addr, at, true};
	}
	if (keep && c->any_nonzero && all.n)
		kallsyms_index_store(path, st, all.v, all.n);
	vec_free(&all);
}

/* The symbols the buckets name, each once, into k (their names copied
 * out of text into k->names). */
static void keep_named(struct kallsyms *k, struct strtab *strs, const char *text, size_t len, const struct bucket *b,
                       size_t n)
{
	uint32_t kernel = strtab_intern(strs, "[kernel.kallsyms]");
	VEC(char) names = {0};
	struct bucket run = {0};
	for (size_t j = 0; j < n; j++) {
		if (b[j].has && (!run.has || b[j].addr >= run.addr))
			run = b[j];
		if (!run.has || (k->syms.n && k->syms.v[k->syms.n - 1].name == run.line))
			continue;
		const char *line = text + run.line, *end = text + len;
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		uint64_t addr;
		char type;
		const char *name, *module;
		size_t nlen, mlen;
		if (!parse_fields(line, nl ? nl : end, &addr, &type, &name, &nlen, &module, &mlen))
			continue; /* (a damaged index) */
		struct ksym *s = vec_grow(&k->syms);
		s->addr = addr;
		s->name_off = (uint32_t)names.n;
		s->name = run.line; /* while building: which line, for the check above */
		s->module = module ? strtab_intern_n(strs, module, mlen) : kernel;
		vec_reserve(&names, names.n + nlen + 1);
		memcpy(names.v + names.n, name, nlen);
		names.n += nlen;
		names.v[names.n++] = '\0';
	}
	for (size_t i = 0; i < k->syms.n; i++)
		k->syms.v[i].name = UINT32_MAX;
	vec_free(&k->names);
	k->names.v = names.v;
	k->names.n = names.n;
	k->names.cap = names.cap;
}

int kallsyms_load_for(struct kallsyms *k, const char *path, struct strtab *strs, const uint64_t *addrs, size_t n)
{
	if (k->loaded)
		return k->err;
	k->loaded = true;
	k->partial = true;
	for (size_t i = 0; i < n; i++)
		vec_push(&k->asked, addrs[i]);
	const char *text = NULL;
	size_t len = 0, map_len = 0, nix = 0, ix_len = 0;
	void *ix_map = NULL;
	struct stat st;
	int rc = load_text(path, k, &text, &len, &map_len, &st);
	if (rc < 0 || len > UINT32_MAX) {
		k->err = rc < 0 ? rc : -EFBIG; /* line offsets are 32-bit */
		goto out_unmap;
	}
	struct bucket *b = xcalloc(n ? n : 1, sizeof(*b));
	struct text_census c = {0};
	const struct ksym_ix *ix = map_len ? kallsyms_index_map(path, &st, &nix, &ix_map, &ix_len) : NULL;
	if (ix) {
		c = (struct text_census){nix, nix, true};
		buckets_from_index(ix, nix, len, addrs, n, b);
	} else {
		/* every text symbol too, for the index, when the file can have one */
		bool keep = map_len && symbols_debug_cache_dir();
		buckets_from_text(path, &st, text, len, keep, addrs, n, b, &c);
	}
	if (c.lines && !c.any_nonzero) {
		/* kptr_restrict hides the addresses: names without addresses are useless. */
		k->err = -EACCES;
	} else if (!c.text_syms) {
		k->err = -ENODATA;
	} else {
		keep_named(k, strs, text, len, b, n);
		k->err = 0;
	}
	free(b);
out_unmap:
	if (ix_map)
		munmap(ix_map, ix_len);
	if (map_len)
		munmap((void *)text, map_len);
	else if (k->err < 0)
		vec_free(&k->names);
	return k->err;
}

bool kallsyms_covers(const struct kallsyms *k, uint64_t addr)
{
	if (!k->partial)
		return true;
	size_t i = lower_bound(k->asked.v, k->asked.n, addr);
	return i < k->asked.n && k->asked.v[i] == addr;
}

uint32_t kallsyms_name(struct kallsyms *k, struct ksym *s, struct strtab *strs)
{
	if (s->name == UINT32_MAX)
		s->name = sym_intern_name(strs, k->names.v + s->name_off);
	return s->name;
}

struct ksym *kallsyms_find(const struct kallsyms *k, uint64_t addr)
{
	size_t lo = 0, hi = k->syms.n;
	if (!hi || addr < k->syms.v[0].addr)
		return NULL;
	/* the last symbol at or below addr */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->syms.v[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return &k->syms.v[lo];
}

void kallsyms_release(struct kallsyms *k)
{
	if (!k)
		return;
	vec_free(&k->syms);
	vec_free(&k->names);
	vec_free(&k->asked);
	k->loaded = false;
	k->partial = false;
	k->err = 0;
}

int symbols_kernel_text(uint64_t *addr)
{
	*addr = 0;
	FILE *f = fopen("/proc/kallsyms", "re");
	if (!f)
		return -errno;
	/* _text is among the first lines (sorted by address): no need to
	 * read the whole table for it */
	char line[512];
	int rc = -ENOENT;
	for (int i = 0; i < 256 && fgets(line, sizeof(line), f); i++) {
		uint64_t a;
		char type, *name, *module;
		if (parse_line(line, &a, &type, &name, &module) && !strcmp(name, "_text")) {
			*addr = a;
			rc = a ? 0 : -EACCES;
			break;
		}
	}
	fclose(f);
	return rc;
}
