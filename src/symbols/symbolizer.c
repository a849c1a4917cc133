/* symbolizer.c - the symbolizer object: modules opened once and keyed by
 * build-id (symbols_int.h says how paths find them), results cached per
 * (module, file offset) and kept across runs in name cache files
 * (name_cache.c), kernel symbols loaded on first use, and a bound on the
 * modules held (least recently used go first). */
#include "symbols/symbols_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/xalloc.h"

struct symbolizer *symbolizer_new(void)
{
	struct symbolizer *s = xcalloc(1, sizeof(*s));
	strtab_init(&s->strs);
	keymap_init(&s->module_index);
	keymap_init(&s->path_index);
	return s;
}

static void module_release(struct sym_module *m)
{
	free(m->path);
	free(m->key);
	elf_module_free(m->elf);
	hashmap_release(&m->cache);
	vec_free(&m->runs);
	vec_free(&m->frames);
	vec_free(&m->run_keys);
	free(m->names_key);
	memset(m, 0, sizeof(*m));
}

void symbolizer_free(struct symbolizer *s)
{
	if (!s)
		return;
	symbolizer_save_names(s);
	for (size_t i = 0; i < s->modules.n; i++)
		module_release(&s->modules.v[i]);
	vec_free(&s->modules);
	keymap_release(&s->module_index);
	for (size_t i = 0; i < s->paths.n; i++)
		free(s->paths.v[i].path);
	vec_free(&s->paths);
	keymap_release(&s->path_index);
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

void symbolizer_get_stats(const struct symbolizer *s, struct symbolizer_stats *st)
{
	*st = s->stats;
	st->modules = s->live_modules;
}

void symbolizer_set_max_modules(struct symbolizer *s, size_t n)
{
	s->max_modules = n;
}

void symbolizer_save_names(struct symbolizer *s)
{
	for (size_t i = 0; i < s->modules.n; i++)
		if (s->modules.v[i].key)
			name_cache_store(s, (int)i); /* a file not written is only named again next time */
}

void symbolizer_begin_pass(struct symbolizer *s)
{
	s->epoch++;
}

static bool module_key_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct symbolizer *s = ctx;
	const char *k = s->modules.v[id].key;
	return k && strcmp(k, key) == 0;
}

static bool path_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct symbolizer *s = ctx;
	return strcmp(s->paths.v[id].path, key) == 0;
}

static int module_find(struct symbolizer *s, const char *key)
{
	uint32_t id = keymap_find(&s->module_index, hash_bytes(key, strlen(key)), module_key_eq, s, key);
	return id == KEYMAP_NONE ? -1 : (int)id;
}

/* A module found in the cache: counted and marked as just used. */
static int module_hit(struct symbolizer *s, int id)
{
	struct sym_module *m = &s->modules.v[id];
	m->used = ++s->clock;
	s->stats.hits++;
	return m->err ? m->err : id;
}

int symbolizer_module_by_build_id(struct symbolizer *s, const char *hex, const char *path)
{
	char key[160];
	if (!hex || !*hex || strlen(hex) > sizeof(key) - 3)
		return -ENOENT;
	snprintf(key, sizeof(key), "b:%s", hex);
	int id = module_find(s, key);
	if (id < 0)
		return -ENOENT;
	const struct sym_module *m = &s->modules.v[id];
	if (path && !(m->elf && elf_module_has_symbols(m->elf)))
		symbolizer_module(s, path); /* the module reads it if it is a twin with symbols */
	return module_hit(s, id);
}

/* Reads the file at path (stat st) into a new module keyed by key. */
static int module_load(struct symbolizer *s, const char *path, const char *key, int *id_out)
{
	size_t id = 0;
	while (id < s->modules.n && s->modules.v[id].key)
		id++; /* a slot the bound freed, else a new one */
	if (id == s->modules.n)
		vec_grow(&s->modules);
	struct sym_module *m = &s->modules.v[id];
	memset(m, 0, sizeof(*m));
	m->path = xstrdup(path);
	m->key = xstrdup(key);
	hashmap_init(&m->cache);
	m->err = elf_module_open(path, &m->elf);
	m->used = ++s->clock;
	keymap_add(&s->module_index, hash_bytes(key, strlen(key)), (uint32_t)id);
	s->live_modules++;
	s->stats.loads++;
	*id_out = (int)id; /* a module that failed to open is kept too, with its error */
	return m->err ? m->err : (int)id;
}

/* Files of one build (one build-id) share a module, opened from the first
 * path seen. When that file is stripped and this one is not (a program
 * and its `strip -o` copy in one recording), the module reads this one
 * from now on: one build puts the same code at the same offsets, so its
 * symbols name both. What was named before stays. */
static void module_prefer_symbols(struct symbolizer *s, int id, const char *path)
{
	struct sym_module *m = &s->modules.v[id];
	if (!strcmp(m->path, path) || (m->elf && elf_module_has_symbols(m->elf)))
		return;
	struct elf_module *e;
	if (elf_module_open(path, &e) != 0)
		return;
	if (!elf_module_has_symbols(e)) {
		elf_module_free(e);
		return;
	}
	name_cache_store(s, id); /* under the first file's key */
	elf_module_free(m->elf);
	m->elf = e;
	m->err = 0;
	free(m->path);
	m->path = xstrdup(path);
	hashmap_clear(&m->cache);
	vec_clear(&m->runs);
	vec_clear(&m->frames);
	vec_clear(&m->run_keys);
	free(m->names_key);
	m->names_key = NULL;
	m->names = 0;
	m->names_added = 0;
}

int symbolizer_module(struct symbolizer *s, const char *path)
{
	uint64_t h = hash_bytes(path, strlen(path));
	uint32_t pid = keymap_find(&s->path_index, h, path_eq, s, path);
	struct sym_path *sp = pid == KEYMAP_NONE ? NULL : &s->paths.v[pid];
	if (sp && sp->checked == s->epoch)
		return module_hit(s, sp->module);
	struct stat st;
	if (stat(path, &st) < 0)
		return -errno;
	uint64_t mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec;
	if (sp && sp->dev == (uint64_t)st.st_dev && sp->ino == (uint64_t)st.st_ino &&
	    sp->size == (uint64_t)st.st_size && sp->mtime_ns == mtime) {
		sp->checked = s->epoch;
		return module_hit(s, sp->module);
	}
	/* new, or another file now: which content is it? */
	char hex[128], key[200];
	int rc = symbols_file_build_id(path, hex, sizeof(hex));
	if (rc == 1)
		snprintf(key, sizeof(key), "b:%s", hex);
	else if (rc == 0 || rc == -ENOEXEC)
		snprintf(key, sizeof(key), "f:%" PRIx64 ":%" PRIu64 ":%" PRIu64 ":%" PRIu64, (uint64_t)st.st_dev,
		         (uint64_t)st.st_ino, (uint64_t)st.st_size, mtime);
	else
		return rc;
	int id = module_find(s, key);
	if (id >= 0) {
		if (rc == 1)
			module_prefer_symbols(s, id, path);
		rc = module_hit(s, id);
	} else {
		rc = module_load(s, path, key, &id);
	}
	if (!sp) {
		sp = vec_grow(&s->paths);
		memset(sp, 0, sizeof(*sp));
		sp->path = xstrdup(path);
		keymap_add(&s->path_index, h, (uint32_t)(s->paths.n - 1));
	}
	sp->module = id;
	sp->dev = (uint64_t)st.st_dev;
	sp->ino = (uint64_t)st.st_ino;
	sp->size = (uint64_t)st.st_size;
	sp->mtime_ns = mtime;
	sp->checked = s->epoch;
	return rc;
}

int symbolizer_file_build_id(struct symbolizer *s, const char *path, char *hex, size_t n)
{
	if (n)
		hex[0] = '\0';
	int id = symbolizer_module(s, path);
	if (id < 0)
		return id;
	const char *key = s->modules.v[id].key;
	if (strncmp(key, "b:", 2) != 0)
		return 0;
	if (strlen(key + 2) >= n)
		return -ERANGE;
	memcpy(hex, key + 2, strlen(key + 2) + 1);
	return 1;
}

static int used_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

void symbolizer_trim(struct symbolizer *s)
{
	if (!s->max_modules || s->live_modules <= s->max_modules)
		return;
	/* the use time below which modules go: the (live - max)-th oldest */
	size_t n = 0, drop = s->live_modules - s->max_modules;
	uint64_t *used = xmalloc(s->live_modules * sizeof(*used));
	for (size_t i = 0; i < s->modules.n; i++)
		if (s->modules.v[i].key)
			used[n++] = s->modules.v[i].used;
	qsort(used, n, sizeof(*used), used_cmp);
	uint64_t cut = used[drop - 1];
	free(used);
	keymap_clear(&s->module_index);
	for (size_t i = 0; i < s->modules.n; i++) {
		struct sym_module *m = &s->modules.v[i];
		if (!m->key)
			continue;
		if (m->used <= cut) {
			name_cache_store(s, (int)i);
			module_release(m);
			s->live_modules--;
			s->stats.evictions++;
		} else {
			keymap_add(&s->module_index, hash_bytes(m->key, strlen(m->key)), (uint32_t)i);
		}
	}
	/* the paths of freed modules go too */
	size_t k = 0;
	for (size_t i = 0; i < s->paths.n; i++) {
		struct sym_path *sp = &s->paths.v[i];
		if (s->modules.v[sp->module].key)
			s->paths.v[k++] = *sp;
		else
			free(sp->path);
	}
	s->paths.n = k;
	keymap_clear(&s->path_index);
	for (size_t i = 0; i < k; i++)
		keymap_add(&s->path_index, hash_bytes(s->paths.v[i].path, strlen(s->paths.v[i].path)), (uint32_t)i);
}

/* The run holding file_offset in m, made when absent. */
static struct sym_cache_run *module_run(struct sym_module *m, uint64_t file_offset)
{
	uint64_t run;
	if (!hashmap_get(&m->cache, file_offset / SYM_CACHE_RUN, &run)) {
		run = m->runs.n;
		struct sym_cache_run *r = vec_grow(&m->runs);
		for (int i = 0; i < SYM_CACHE_RUN; i++)
			r->v[i] = SYM_CACHE_NONE;
		vec_push(&m->run_keys, file_offset / SYM_CACHE_RUN);
		hashmap_put(&m->cache, file_offset / SYM_CACHE_RUN, run);
	}
	return &m->runs.v[run];
}

/* Keeps n frames f as the result of the offset whose run slot is *slot. */
static bool module_keep(struct sym_module *m, uint32_t *slot, const struct sym_frame *f, int n)
{
	if (m->frames.n > SYM_CACHE_FIRST_MAX)
		return false; /* no room in the run's 32 bits */
	*slot = ((uint32_t)m->frames.n << SYM_CACHE_FRAME_BITS) | (uint32_t)n;
	for (int i = 0; i < n; i++)
		vec_push(&m->frames, f[i]);
	return true;
}

bool symbolizer_cache_put(struct symbolizer *s, int module, uint64_t file_offset, const struct sym_frame *f, int n)
{
	struct sym_module *m = &s->modules.v[module];
	uint32_t *slot = &module_run(m, file_offset)->v[file_offset % SYM_CACHE_RUN];
	return *slot != SYM_CACHE_NONE || module_keep(m, slot, f, n);
}

int symbolizer_lookup_ids(struct symbolizer *s, int module, uint64_t file_offset, const struct sym_frame **frames)
{
	struct sym_module *m = &s->modules.v[module];
	*frames = NULL;
	if (!m->elf)
		return 0;
	if (!m->names)
		name_cache_load(s, module);
	uint32_t *slot = &module_run(m, file_offset)->v[file_offset % SYM_CACHE_RUN];
	uint32_t v = *slot;
	if (v == SYM_CACHE_NONE) {
		struct sym_frame tmp[SYM_MAX_FRAMES];
		int n = elf_module_lookup(m->elf, file_offset, &s->strs, tmp, SYM_MAX_FRAMES);
		if (n < 0)
			n = 0;
		if (!module_keep(m, slot, tmp, n)) {
			/* named again on each lookup */
			memcpy(s->unkept, tmp, (size_t)n * sizeof(*tmp));
			*frames = n ? s->unkept : NULL;
			return n;
		}
		m->names_added++;
		v = *slot;
	}
	uint32_t n;
	*frames = sym_cache_frames(m, v, &n);
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
