/* resolve.c - symbolizes a whole profile: each location through its
 * mapping (file offset = address - start + pgoff) into the symbolizer's
 * caches, kernel locations through kallsyms, JIT code through
 * /tmp/perf-<pid>.map, and whatever stays unknown as "module+0xoffset". */
#include "symbols/symbols_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/strbuf.h"
#include "util/vdso.h"
#include "util/xalloc.h"

/* One /tmp/perf-<pid>.map entry, as JIT compilers write them. */
struct jit_sym {
	uint64_t start, size;
	uint32_t name; /* symbolizer strtab id */
};

struct jit_map {
	VEC(struct jit_sym) syms;
};

struct resolve_ctx {
	struct profile *p;
	struct symbolizer *s;
	struct symbols_stats st;
	VEC(uint32_t) xlat;          /* symbolizer string id -> profile id + 1 */
	VEC(int32_t) mapping_module; /* mapping id -> module id, -errno, or 0 = not yet (ids stored + 1) */
	VEC(uint32_t) mapping_name;  /* mapping id -> profile id of its module name + 1 */
	VEC(uint8_t) mapping_kind;   /* mapping id -> enum mapping_kind, MAPPING_UNSEEN until looked at */
	struct hashmap missing;      /* profile path id -> 1 */
	struct strbuf missing_list;
	int first_error;         /* -errno of the first module that could not be used */
	uint64_t user_named;     /* user locations named by any means */
	struct hashmap stripped; /* symbolizer module id -> 1: listed as without symbols */
	struct strbuf stripped_list;
	struct hashmap jit_index; /* pid -> index into jit */
	VEC(struct jit_map) jit;
	bool kernel_hidden;
	int vdso_module; /* symbolizer module of our own vdso, -errno, or 0 = not yet (ids stored + 1) */
	int vdso_fd;
};

static uint32_t xlat(struct resolve_ctx *c, uint32_t sid)
{
	if (!sid)
		return 0;
	if (sid >= c->xlat.n) {
		size_t want = strtab_count(&c->s->strs);
		vec_reserve(&c->xlat, want);
		memset(c->xlat.v + c->xlat.n, 0, (want - c->xlat.n) * sizeof(*c->xlat.v));
		c->xlat.n = want;
	}
	if (!c->xlat.v[sid])
		c->xlat.v[sid] = profile_intern(c->p, strtab_get(&c->s->strs, sid)) + 1;
	return c->xlat.v[sid] - 1;
}

static int jit_cmp(const void *a, const void *b)
{
	const struct jit_sym *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* The perf map of pid, read on first use; NULL when there is none. */
static struct jit_map *jit_map_for(struct resolve_ctx *c, uint32_t pid)
{
	uint64_t id;
	if (hashmap_get(&c->jit_index, pid, &id))
		return &c->jit.v[id];
	struct jit_map *m = vec_grow(&c->jit);
	hashmap_put(&c->jit_index, pid, c->jit.n - 1);
	char path[64];
	snprintf(path, sizeof(path), "/tmp/perf-%" PRIu32 ".map", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return m;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		/* "START SIZE name with spaces", hex without 0x */
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		char *end1, *end2;
		uint64_t start = strtoull(line, &end1, 16);
		if (end1 == line || *end1 != ' ')
			continue;
		uint64_t size = strtoull(end1 + 1, &end2, 16);
		if (end2 == end1 + 1 || *end2 != ' ' || !end2[1])
			continue;
		struct jit_sym js = {start, size, sym_intern_name(&c->s->strs, end2 + 1)};
		vec_push(&m->syms, js);
	}
	free(line);
	fclose(f);
	if (m->syms.n)
		qsort(m->syms.v, m->syms.n, sizeof(*m->syms.v), jit_cmp);
	return m;
}

static uint32_t jit_lookup(struct resolve_ctx *c, uint32_t pid, uint64_t addr)
{
	struct jit_map *m = jit_map_for(c, pid);
	size_t lo = 0, hi = m->syms.n;
	if (!hi || addr < m->syms.v[0].start)
		return 0;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms.v[mid].start <= addr)
			lo = mid;
		else
			hi = mid;
	}
	const struct jit_sym *js = &m->syms.v[lo];
	return addr - js->start < js->size ? js->name : 0;
}

static bool is_anonymous(const char *path)
{
	return !*path || strncmp(path, "//anon", 6) == 0 || strncmp(path, "[anon", 5) == 0 ||
	       strncmp(path, "/memfd:", 7) == 0 || strncmp(path, "anon_inode:", 11) == 0 ||
	       strcmp(path, "[heap]") == 0 || strncmp(path, "[stack", 6) == 0;
}

enum mapping_kind { MAPPING_UNSEEN, MAPPING_VDSO, MAPPING_ANON, MAPPING_SPECIAL, MAPPING_FILE };

/* What mapping mid's path names, once per mapping: every location asks,
 * and the comparisons were 1.6% of kiln count's own instructions. */
static enum mapping_kind mapping_kind(struct resolve_ctx *c, uint32_t mid, const char *path)
{
	uint8_t *k = &c->mapping_kind.v[mid];
	if (*k == MAPPING_UNSEEN)
		*k = strcmp(path, "[vdso]") == 0 ? MAPPING_VDSO
		     : is_anonymous(path)        ? MAPPING_ANON
		     : path[0] == '['            ? MAPPING_SPECIAL
		                                 : MAPPING_FILE;
	return (enum mapping_kind)c->mapping_kind.v[mid];
}

static void note_missing(struct resolve_ctx *c, uint32_t path_id, const char *path)
{
	if (hashmap_get(&c->missing, path_id, NULL))
		return;
	hashmap_put(&c->missing, path_id, 1);
	c->st.missing_modules++;
	if (c->missing_list.len)
		strbuf_addch(&c->missing_list, ',');
	strbuf_addstr(&c->missing_list, path);
}

/* The symbolizer module for a mapping (cached per mapping), or -errno. */
static int mapping_module(struct resolve_ctx *c, uint32_t mid)
{
	if (c->mapping_module.v[mid])
		return c->mapping_module.v[mid] > 0 ? c->mapping_module.v[mid] - 1 : c->mapping_module.v[mid];
	const struct profile_mapping *m = &c->p->mappings.v[mid];
	const char *path = profile_str(c->p, m->path);
	/* the content the process ran, when it is held: no file is read, and
	 * a binary rebuilt under its path since still names the old code */
	int id = m->build_id ? symbolizer_module_by_build_id(c->s, profile_str(c->p, m->build_id), path) : -ENOENT;
	if (id >= 0) {
		c->mapping_module.v[mid] = id + 1;
		return id;
	}
	id = symbolizer_module(c->s, path);
	size_t len = strlen(path);
	static const char deleted[] = " (deleted)";
	if (id == -ENOENT && len > sizeof(deleted) - 1 && strcmp(path + len - (sizeof(deleted) - 1), deleted) == 0) {
		/* unlinked since it was mapped, perhaps replaced by a rebuild:
		 * the build-id check below tells */
		char *plain = xstrndup(path, len - (sizeof(deleted) - 1));
		id = symbolizer_module(c->s, plain);
		free(plain);
	}
	if (id == -ENOENT && m->pid) {
		/* a process in another mount namespace (a container) */
		char alt[4096];
		snprintf(alt, sizeof(alt), "/proc/%" PRIu32 "/root%s", m->pid, path);
		id = symbolizer_module(c->s, alt);
		if (id < 0)
			id = -ENOENT;
	}
	if (id >= 0 && m->build_id) {
		/* the file was replaced since it was mapped: its symbols would lie */
		const char *want = profile_str(c->p, m->build_id);
		const char *have = elf_module_build_id(c->s->modules.v[id].elf);
		if (*want && *have && strcmp(want, have) != 0)
			id = -ESTALE;
	}
	if (id < 0) {
		note_missing(c, m->path, path);
		if (!c->first_error)
			c->first_error = id;
	}
	c->mapping_module.v[mid] = id >= 0 ? id + 1 : id;
	return id;
}

/* The vdso is the kernel's, the same in every 64-bit process, so the
 * recorder's own copy names the target's: copy it into a memfd the
 * symbolizer can open like any file. Returns the module id or -errno. */
static int vdso_module(struct resolve_ctx *c)
{
	if (c->vdso_module)
		return c->vdso_module > 0 ? c->vdso_module - 1 : c->vdso_module;
	const void *image;
	size_t size;
	int id = vdso_image(&image, &size);
	if (id == 0) {
		id = -EIO;
		c->vdso_fd = memfd_create("kiln-vdso", MFD_CLOEXEC);
		if (c->vdso_fd >= 0 && write(c->vdso_fd, image, size) == (ssize_t)size) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%d", c->vdso_fd);
			id = symbolizer_module(c->s, path);
		}
	}
	c->vdso_module = id >= 0 ? id + 1 : id;
	return id;
}

static uint32_t mapping_name(struct resolve_ctx *c, uint32_t mid)
{
	if (!c->mapping_name.v[mid]) {
		const char *path = profile_str(c->p, c->p->mappings.v[mid].path);
		c->mapping_name.v[mid] = profile_intern(c->p, profile_module_name(path)) + 1;
	}
	return c->mapping_name.v[mid] - 1;
}

static void set_single(struct resolve_ctx *c, uint32_t loc, uint32_t function, uint32_t module)
{
	struct profile_frame f = {.function = function, .module = module};
	profile_set_location_frames(c->p, loc, &f, 1);
}

/* Lists a module whose code had to be named after FDE starts or addresses
 * because the file has no symbol table or debug info, once. */
static void note_stripped(struct resolve_ctx *c, int id)
{
	if (hashmap_get(&c->stripped, (uint64_t)id, NULL) || elf_module_has_symbols(c->s->modules.v[id].elf))
		return;
	hashmap_put(&c->stripped, (uint64_t)id, 1);
	c->st.unsymbolized_modules++;
	if (c->stripped_list.len)
		strbuf_addch(&c->stripped_list, ',');
	strbuf_addstr(&c->stripped_list, c->s->modules.v[id].path);
}

static void set_unknown(struct resolve_ctx *c, uint32_t loc, const char *module_text, uint32_t module, uint64_t off)
{
	char buf[512];
	set_single(c, loc, profile_intern(c->p, profile_addr_name(buf, sizeof(buf), module_text, off)), module);
	c->st.unknown++;
}

static void resolve_kernel(struct resolve_ctx *c, uint32_t loc, uint64_t addr)
{
	struct symbol_frame sf;
	int rc = symbolizer_lookup_kernel(c->s, addr, &sf);
	if (rc == -EACCES)
		c->kernel_hidden = true;
	uint32_t kmod = profile_intern(c->p, "[kernel.kallsyms]");
	if (rc != 1) {
		set_unknown(c, loc, "[kernel.kallsyms]", kmod, addr);
		return;
	}
	const struct ksym *k = kallsyms_find(&c->s->kernel, addr);
	set_single(c, loc, profile_intern(c->p, sf.function), k ? xlat(c, k->module) : kmod);
	c->st.named++;
}

static void resolve_user(struct resolve_ctx *c, uint32_t loc, const struct profile_location *l)
{
	static const char unknown[] = "[unknown]";
	if (l->mapping == PROFILE_NO_MAPPING || l->mapping >= c->p->mappings.n) {
		set_unknown(c, loc, unknown, profile_intern(c->p, unknown), l->address);
		return;
	}
	const struct profile_mapping *m = &c->p->mappings.v[l->mapping];
	const char *path = profile_str(c->p, m->path);
	uint64_t off = l->address - m->start + m->pgoff;
	enum mapping_kind kind = mapping_kind(c, l->mapping, path);
	if (kind == MAPPING_VDSO) {
		uint32_t v = profile_intern(c->p, "[vdso]");
		int id = vdso_module(c);
		const struct sym_frame *sf = NULL;
		if (id >= 0 && symbolizer_lookup_ids(c->s, id, off, &sf) > 0 && sf[0].function) {
			set_single(c, loc, xlat(c, sf[0].function), v);
			c->st.named++;
			c->user_named++;
			return;
		}
		set_single(c, loc, v, v);
		c->st.unknown++;
		return;
	}
	if (kind != MAPPING_FILE) {
		uint32_t name = jit_lookup(c, m->pid, l->address);
		uint32_t mod = profile_intern(c->p, kind == MAPPING_SPECIAL ? path : unknown);
		if (name) {
			set_single(c, loc, xlat(c, name), mod);
			c->st.named++;
			c->user_named++;
		} else {
			set_unknown(c, loc, unknown, mod, l->address);
		}
		return;
	}
	uint32_t modname = mapping_name(c, l->mapping);
	int id = mapping_module(c, l->mapping);
	const struct sym_frame *sf = NULL;
	/* what nm and objdump call the address: the link-time address, which
	 * only equals the file offset in some files; without the file, the
	 * offset is all there is */
	uint64_t vaddr = off;
	if (id >= 0 && elf_module_vaddr(c->s->modules.v[id].elf, off, &vaddr)) {
		c->p->locations.v[loc].vaddr = vaddr;
		c->p->locations.v[loc].has_vaddr = true;
	}
	int n = id >= 0 ? symbolizer_lookup_ids(c->s, id, off, &sf) : 0;
	if (n <= 0) {
		if (id >= 0)
			note_stripped(c, id);
		set_unknown(c, loc, profile_str(c->p, modname), modname, vaddr);
		return;
	}
	struct profile_frame out[SYM_MAX_FRAMES];
	for (int i = 0; i < n; i++) {
		struct profile_frame *f = &out[i];
		memset(f, 0, sizeof(*f));
		f->module = modname;
		f->inlined = i < n - 1;
		if (sf[i].function) {
			f->function = xlat(c, sf[i].function);
			f->file = xlat(c, sf[i].file);
			f->line = sf[i].line;
			f->alias = xlat(c, sf[i].alias);
		} else {
			/* unnamed: the address is the only honest name, and a
			 * file without a function would mislead */
			char buf[512];
			f->function = profile_intern(
			    c->p, profile_addr_name(buf, sizeof(buf), profile_str(c->p, modname), vaddr));
		}
	}
	profile_set_location_frames(c->p, loc, out, (uint32_t)n);
	if (sf[n - 1].function && !(sf[n - 1].flags & SYM_FRAME_UNNAMED)) {
		c->st.named++;
		c->user_named++;
	} else {
		c->st.unknown++;
		note_stripped(c, id);
	}
	if (sf[0].function && sf[0].line)
		c->st.with_lines++;
	c->st.inlined += (uint64_t)(n - 1);
}

static int addr_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Loads only the kernel symbols the profile's kernel locations need, in
 * one pass over kallsyms, instead of the whole sorted table. */
static void prepare_kernel(const struct profile *p, struct symbolizer *s)
{
	VEC(uint64_t) addrs = {0};
	for (size_t i = 0; i < p->locations.n; i++) {
		const struct profile_location *l = &p->locations.v[i];
		if (!l->nframes && l->kind == PROFILE_LOC_KERNEL)
			vec_push(&addrs, l->address);
	}
	if (addrs.n) {
		qsort(addrs.v, addrs.n, sizeof(*addrs.v), addr_cmp);
		size_t n = 1;
		for (size_t i = 1; i < addrs.n; i++)
			if (addrs.v[i] != addrs.v[n - 1])
				addrs.v[n++] = addrs.v[i];
		symbolizer_prepare_kernel(s, addrs.v, n);
	}
	vec_free(&addrs);
}

int symbols_resolve_profile(struct profile *p, struct symbols_stats *st)
{
	struct symbolizer *s = symbolizer_new();
	int rc = symbols_resolve_profile_with(p, s, st);
	symbolizer_free(s);
	return rc;
}

int symbols_resolve_profile_with(struct profile *p, struct symbolizer *s, struct symbols_stats *st)
{
	struct resolve_ctx c = {.p = p, .s = s, .vdso_fd = -1};
	hashmap_init(&c.missing);
	hashmap_init(&c.stripped);
	hashmap_init(&c.jit_index);
	size_t nmap = p->mappings.n;
	c.mapping_module.v = xcalloc(nmap + 1, sizeof(*c.mapping_module.v));
	c.mapping_module.n = c.mapping_module.cap = nmap + 1;
	c.mapping_name.v = xcalloc(nmap + 1, sizeof(*c.mapping_name.v));
	c.mapping_name.n = c.mapping_name.cap = nmap + 1;
	c.mapping_kind.v = xcalloc(nmap + 1, sizeof(*c.mapping_kind.v));
	c.mapping_kind.n = c.mapping_kind.cap = nmap + 1;
	/* setting frames never adds locations: the count is fixed here */
	size_t nloc = p->locations.n;
	symbolizer_begin_pass(s);
	prepare_kernel(p, s);
	for (size_t i = 0; i < nloc; i++) {
		struct profile_location l = p->locations.v[i];
		if (l.nframes || l.kind == PROFILE_LOC_TRUNCATED) /* the cut marker is named by the model */
			continue;
		c.st.locations++;
		if (l.kind == PROFILE_LOC_KERNEL)
			resolve_kernel(&c, (uint32_t)i, l.address);
		else
			resolve_user(&c, (uint32_t)i, &l);
	}
	if (c.missing_list.len) {
		const char *old = profile_get_meta(p, "missing_modules");
		if (old && *old) {
			/* keep what an earlier pass already reported */
			struct strbuf all = STRBUF_INIT;
			strbuf_addf(&all, "%s,%s", old, strbuf_str(&c.missing_list));
			profile_set_meta(p, "missing_modules", strbuf_str(&all));
			strbuf_release(&all);
		} else {
			profile_set_meta(p, "missing_modules", strbuf_str(&c.missing_list));
		}
	}
	if (c.stripped_list.len) {
		const char *old = profile_get_meta(p, "unsymbolized_modules");
		struct strbuf all = STRBUF_INIT;
		strbuf_addf(&all, "%s%s%s", old && *old ? old : "", old && *old ? "," : "",
		            strbuf_str(&c.stripped_list));
		profile_set_meta(p, "unsymbolized_modules", strbuf_str(&all));
		strbuf_release(&all);
	}
	if (c.kernel_hidden)
		profile_set_meta(p, "kernel_symbols", "hidden (kernel.kptr_restrict)");
	if (st)
		*st = c.st;
	for (size_t i = 0; i < c.jit.n; i++)
		vec_free(&c.jit.v[i].syms);
	vec_free(&c.jit);
	hashmap_release(&c.jit_index);
	hashmap_release(&c.missing);
	strbuf_release(&c.missing_list);
	hashmap_release(&c.stripped);
	strbuf_release(&c.stripped_list);
	vec_free(&c.xlat);
	vec_free(&c.mapping_module);
	vec_free(&c.mapping_name);
	vec_free(&c.mapping_kind);
	if (c.vdso_fd >= 0)
		close(c.vdso_fd);
	symbolizer_trim(s); /* module ids of this pass are not used past here */
	/* nothing of the program could be named: every file it ran was gone
	 * or unreadable, which the caller says plainly */
	return !c.user_named && c.first_error ? c.first_error : 0;
}
