/* kallsyms.c - kernel symbols from /proc/kallsyms: read once, keep the
 * text symbols sorted, answer by binary search. */
#include "symbols/symbols_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Parses "ffffffff81000000 T name\t[module]"; false for other lines. */
static bool parse_line(char *line, uint64_t *addr, char *type, char **name, char **module)
{
	/* by hand: strtoull's locale and base handling cost more than the
	 * rest of reading the ~100k lines together */
	uint64_t a = 0;
	char *end = line;
	for (; end - line < 16; end++) {
		unsigned d;
		if (*end >= '0' && *end <= '9')
			d = (unsigned)(*end - '0');
		else if (*end >= 'a' && *end <= 'f')
			d = (unsigned)(*end - 'a' + 10);
		else if (*end >= 'A' && *end <= 'F')
			d = (unsigned)(*end - 'A' + 10);
		else
			break;
		a = a << 4 | d;
	}
	if (end == line || *end != ' ')
		return false;
	char *p = end + 1;
	if (!*p || p[1] != ' ')
		return false;
	*type = *p;
	p += 2;
	char *n = p;
	while (*p && *p != '\t' && *p != ' ' && *p != '\n')
		p++;
	if (p == n)
		return false;
	char sep = *p;
	*p = '\0';
	*module = NULL;
	if (sep == '\t' || sep == ' ') {
		char *m = p + 1;
		while (*m == ' ' || *m == '\t')
			m++;
		if (*m == '[') {
			char *close = strchr(m, ']');
			if (close) {
				close[1] = '\0';
				*module = m;
			}
		}
	}
	*addr = a;
	*name = n;
	return true;
}

int kallsyms_load(struct kallsyms *k, const char *path, struct strtab *strs)
{
	if (k->loaded)
		return k->err;
	k->loaded = true;
	FILE *f = fopen(path, "re");
	if (!f) {
		k->err = -errno;
		return k->err;
	}
	/* a large buffer: the kernel formats /proc/kallsyms a read() at a time,
	 * and restarts its walk of the table at each */
	char *buf = malloc(KALLSYMS_BUF);
	if (buf)
		setvbuf(f, buf, _IOFBF, KALLSYMS_BUF);
	uint32_t kernel = strtab_intern(strs, "[kernel.kallsyms]");
	bool sorted = true;
	char *line = NULL;
	size_t cap = 0;
	bool any_nonzero = false;
	size_t lines = 0;
	while (getline(&line, &cap, f) > 0) {
		uint64_t addr;
		char type;
		char *name, *module;
		if (!parse_line(line, &addr, &type, &name, &module))
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
		size_t len = strlen(name) + 1;
		s->name_off = (uint32_t)k->names.n;
		s->name = UINT32_MAX;
		vec_reserve(&k->names, k->names.n + len);
		memcpy(k->names.v + k->names.n, name, len);
		k->names.n += len;
		s->module = module ? strtab_intern(strs, module) : kernel;
	}
	free(line);
	fclose(f);
	free(buf);
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
	k->loaded = false;
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
