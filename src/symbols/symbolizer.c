/* symbolizer.c - the symbolizer object: modules opened once and keyed by
 * path, results cached per (module, file offset), kernel symbols loaded on
 * first use. */
#include "symbols/symbols_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

struct symbolizer *symbolizer_new(void)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));
	strtab_init(&s->strs);
	keymap_init(&s->module_index);
	return s;
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->modules.n; i++) {
		struct sym_module *m = &s->modules.v[i];
		free(m->path);
		elf_module_free(m->elf);
		hashmap_release(&m->cache);
	}
	vec_free(&s->modules);
	keymap_release(&s->module_index);
	vec_free(&s->frames);
	kallsyms_release(&s->kernel);
	free(s->kallsyms_path);
	strtab_release(&s->strs);
	free(s);
}

void symbolizer_set_kallsyms_path(struct symbolizer *s, const char *path)
{
	free(s->kallsyms_path);
	s->kallsyms_path = path ? xstrdup(path) : NULL;
	kallsyms_release(&s->kernel);
}

static bool module_path_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct symbolizer *s = ctx;
	return strcmp(s->modules.v[id].path, key) == 0;
}

int symbolizer_module(struct symbolizer *s, const char *path)
{
	uint64_t h = hash_bytes(path, strlen(path));
	uint32_t id = keymap_find(&s->module_index, h, module_path_eq, s, path);
	if (id != KEYMAP_NONE) {
		struct sym_module *m = &s->modules.v[id];
		return m->err ? m->err : (int)id;
	}
	struct sym_module *m = vec_grow(&s->modules);
	m->path = xstrdup(path);
	hashmap_init(&m->cache);
	m->err = elf_module_open(path, &m->elf);
	id = (uint32_t)s->modules.n - 1;
	keymap_add(&s->module_index, h, id);
	return m->err ? m->err : (int)id;
}

int symbolizer_lookup_ids(struct symbolizer *s, int module, uint64_t file_offset, const struct sym_frame **frames)
{
	struct sym_module *m = &s->modules.v[module];
	uint64_t v;
	*frames = NULL;
	/* UINT64_MAX is the hashmap's empty key; that offset is never real. */
	if (file_offset == UINT64_MAX || !m->elf)
		return 0;
	if (!hashmap_get(&m->cache, file_offset, &v)) {
		struct sym_frame tmp[SYM_MAX_FRAMES];
		int n = elf_module_lookup(m->elf, file_offset, &s->strs, tmp, SYM_MAX_FRAMES);
		if (n < 0)
			n = 0;
		v = ((uint64_t)s->frames.n << 8) | (uint64_t)n;
		for (int i = 0; i < n; i++)
			vec_push(&s->frames, tmp[i]);
		hashmap_put(&m->cache, file_offset, v);
	}
	uint32_t n = (uint32_t)(v & 0xff);
	*frames = n ? &s->frames.v[v >> 8] : NULL;
	return (int)n;
}

int symbolizer_lookup_file(struct symbolizer *s, const char *path, uint64_t file_offset, struct symbol_frame *out,
                           int max)
{
	int id = symbolizer_module(s, path);
	if (id < 0)
		return id;
	const struct sym_frame *f;
	int n = symbolizer_lookup_ids(s, id, file_offset, &f);
	if (n > max)
		n = max;
	for (int i = 0; i < n; i++) {
		out[i].function = f[i].function ? strtab_get(&s->strs, f[i].function) : NULL;
		out[i].file = f[i].file ? strtab_get(&s->strs, f[i].file) : NULL;
		out[i].line = f[i].line;
	}
	return n < 0 ? 0 : n;
}

static const char *kallsyms_path(const struct symbolizer *s)
{
	return s->kallsyms_path ? s->kallsyms_path : "/proc/kallsyms";
}

void symbolizer_prepare_kernel(struct symbolizer *s, const uint64_t *addrs, size_t n)
{
	if (!s->kernel.loaded && n)
		kallsyms_load_for(&s->kernel, kallsyms_path(s), &s->strs, addrs, n);
}

int symbolizer_lookup_kernel(struct symbolizer *s, uint64_t address, struct symbol_frame *out)
{
	if (s->kernel.loaded && !kallsyms_covers(&s->kernel, address))
		kallsyms_release(&s->kernel); /* loaded for other addresses: the whole table now */
	int rc = kallsyms_load(&s->kernel, kallsyms_path(s), &s->strs);
	if (rc < 0)
		return rc;
	struct ksym *k = kallsyms_find(&s->kernel, address);
	if (!k)
		return 0;
	out->function = strtab_get(&s->strs, kallsyms_name(&s->kernel, k, &s->strs));
	out->file = NULL;
	out->line = 0;
	return 1;
}
