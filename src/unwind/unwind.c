/* unwind.c - DWARF CFI unwinding of captured user stacks.
 *
 * Runs in the recorder for every sample, so the hot path is: find the
 * mapping (once per mapping per sample), find our module by path (usually
 * one of the last few used), look up the compiled row for (module, vaddr) in a
 * direct-mapped front, then a hash map, and apply it. libdw is only asked on
 * the first sight of an address.
 */
#include "unwind/unwind.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unwind/cfi.h"
#include "util/hashmap.h"
#include "util/keymap.h"
#include "util/vec.h"
#include "util/xalloc.h"

/* Bounds on the per-address cache; past them it starts over (the working
 * set of a profile is far smaller, so this only guards memory). */
#define ROW_CAP  (1u << 18)
#define POOL_CAP (1u << 20)

/* A direct-mapped front for the row map: one multiply and one compare on
 * the hot path instead of a probe sequence. */
#define FRONT_BITS 12
#define FRONT_SIZE (1u << FRONT_BITS)

/* Bytes from an ELF entry point within which a return address means the
 * entry code called it: "mov %rsp, %rdi; call" is 8 on x86-64, a few
 * instructions of 4 bytes on aarch64. */
#define ENTRY_CODE 16

/* Recently used modules, searched before hashing the path. */
#define RECENT 4

#define BIT(r)    (1ULL << (r))
#define REGS_MASK ((1ULL << ARCH_DWARF_NREGS) - 1)

struct unwinder {
	VEC(struct cfi_module *) modules;  /* index == module id */
	struct keymap module_by_path;      /* path -> index */
	struct cfi_module *recent[RECENT]; /* most recently used first */
	VEC(struct cfi_row) rows;
	struct hashmap row_by_key; /* vaddr ^ id << 48 -> index into rows */
	struct cfi_op_pool pool;
	struct cfi_row scratch; /* for keys the cache cannot hold */
	struct {
		uint64_t key;
		uint32_t idx;
	} front[FRONT_SIZE];
	struct unwind_stats stats;
	uint64_t last_reach; /* see unwinder_last_reach() */
};

struct unwinder *unwinder_new(void)
{
	struct unwinder *u = xcalloc(1, sizeof(*u));

	elf_version(EV_CURRENT);
	keymap_init(&u->module_by_path);
	hashmap_init(&u->row_by_key);
	memset(u->front, 0xff, sizeof(u->front));
	return u;
}

void unwinder_free(struct unwinder *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->modules.n; i++) {
		cfi_module_close(u->modules.v[i]);
		free(u->modules.v[i]->path);
		free(u->modules.v[i]);
	}
	vec_free(&u->modules);
	keymap_release(&u->module_by_path);
	vec_free(&u->rows);
	hashmap_release(&u->row_by_key);
	vec_free(&u->pool.ops);
	free(u);
}

static void rows_clear(struct unwinder *u)
{
	vec_clear(&u->rows);
	hashmap_clear(&u->row_by_key);
	vec_clear(&u->pool.ops);
	memset(u->front, 0xff, sizeof(u->front));
}

static bool module_path_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct unwinder *u = ctx;
	return strcmp(u->modules.v[id]->path, key) == 0;
}

/* Finds or creates the module for path, without opening it. */
static struct cfi_module *module_recent(struct unwinder *u, struct cfi_module *m)
{
	int i;

	for (i = 0; i < RECENT - 1 && u->recent[i] != m; i++)
		;
	memmove(&u->recent[1], &u->recent[0], i * sizeof(u->recent[0]));
	u->recent[0] = m;
	return m;
}

static struct cfi_module *module_lookup(struct unwinder *u, const char *path)
{
	uint64_t h;
	uint32_t idx;
	struct cfi_module *m;

	for (int i = 0; i < RECENT && u->recent[i]; i++)
		if (strcmp(u->recent[i]->path, path) == 0)
			return i ? module_recent(u, u->recent[i]) : u->recent[0];
	h = hash_bytes(path, strlen(path));
	idx = keymap_find(&u->module_by_path, h, module_path_eq, u, path);
	if (idx != KEYMAP_NONE)
		return module_recent(u, u->modules.v[idx]);
	m = xcalloc(1, sizeof(*m));
	m->path = xstrdup(path);
	m->id = (uint32_t)u->modules.n;
	m->fd = -1;
	vec_push(&u->modules, m);
	keymap_add(&u->module_by_path, h, m->id);
	return module_recent(u, m);
}

/* The module for a mapping, opened; NULL when it can have no CFI. */
static struct cfi_module *module_for(struct unwinder *u, const char *path)
{
	struct cfi_module *m;

	if (!path || (path[0] == '[' && strcmp(path, "[vdso]") != 0))
		return NULL;
	m = module_lookup(u, path);
	if (!m->opened) {
		cfi_module_open(m);
		u->stats.modules++;
	}
	return m->elf ? m : NULL;
}

int unwinder_add_memory_module(struct unwinder *u, const char *path, const void *image, size_t size)
{
	struct cfi_module *m = module_lookup(u, path);

	cfi_module_close(m);
	rows_clear(u); /* rows of the old image must not be reused */
	u->stats.modules++;
	return cfi_module_open_memory(m, image, size);
}

static const struct cfi_row *row_get(struct unwinder *u, struct cfi_module *m, uint64_t vaddr)
{
	/* Injective while vaddr < 2^48 and ids < 2^16; rows carry their own
	 * (module, vaddr), checked on every hit, so collisions beyond that
	 * cost a lookup, never a wrong answer. */
	uint64_t key = vaddr ^ ((uint64_t)m->id << 48), idx;
	uint32_t slot = (uint32_t)((key * 0x9e3779b97f4a7c15ULL) >> (64 - FRONT_BITS));
	struct cfi_row *row;

	if (u->front[slot].key == key && key != UINT64_MAX) {
		row = &u->rows.v[u->front[slot].idx];
		if (row->vaddr == vaddr && row->module == m->id) {
			u->stats.cache_hits++;
			return row;
		}
	}
	if (hashmap_get(&u->row_by_key, key, &idx)) {
		row = &u->rows.v[idx];
		if (row->vaddr == vaddr && row->module == m->id) {
			u->stats.cache_hits++;
			u->front[slot].key = key;
			u->front[slot].idx = (uint32_t)idx;
			return row;
		}
		key = UINT64_MAX;
	}
	u->stats.cfi_lookups++;
	if (u->rows.n >= ROW_CAP || u->pool.ops.n >= POOL_CAP)
		rows_clear(u);
	if (key == UINT64_MAX) {
		cfi_module_compile(m, vaddr, &u->scratch, &u->pool);
		return &u->scratch;
	}
	row = vec_grow(&u->rows);
	cfi_module_compile(m, vaddr, row, &u->pool);
	hashmap_put(&u->row_by_key, key, u->rows.n - 1);
	u->front[slot].key = key;
	u->front[slot].idx = (uint32_t)(u->rows.n - 1);
	return row;
}

int unwinder_unwind(struct unwinder *u, const struct unwind_input *in, unwind_find_module_fn find, void *ctx,
                    uint64_t *pcs, int max, enum unwind_status *status)
{
	struct cfi_regs cur;
	struct cfi_stack st;
	struct unwind_module map = {0};
	struct cfi_module *mod = NULL;
	bool have_map = false, exact = true;
	int n = 0, err;
	enum unwind_status s;

	memcpy(cur.r, in->regs, sizeof(cur.r));
	cur.valid = in->regs_valid & REGS_MASK;
	cur.truncated = 0;
	st.bytes = in->stack;
	st.addr = in->regs[ARCH_DWARF_SP];
	st.size = (cur.valid & BIT(ARCH_DWARF_SP)) && in->stack ? in->stack_size : 0;

	if (max <= 0) {
		s = UNWIND_MAX_DEPTH;
		goto out;
	}
	if (!(cur.valid & BIT(ARCH_DWARF_IP))) {
		s = UNWIND_BAD_FRAME;
		goto out;
	}
	pcs[n++] = cur.r[ARCH_DWARF_IP];
	for (;;) {
		/* A return address may be just past a noreturn call at the
		 * end of a function; pc - 1 is still inside the call. */
		uint64_t pc = cur.r[ARCH_DWARF_IP], look = exact ? pc : pc - 1, vaddr, cfa;
		uint64_t sp = cur.r[ARCH_DWARF_SP];
		bool sp_valid = cur.valid & BIT(ARCH_DWARF_SP);
		const struct cfi_row *row;

		if (!have_map || look < map.start || look >= map.end) {
			if (find(ctx, look, &map) != 0 || look < map.start || look >= map.end) {
				s = UNWIND_NO_MODULE;
				break;
			}
			have_map = true;
			mod = module_for(u, map.path);
		}
		if (!mod || !cfi_module_vaddr(mod, look - map.start + map.pgoff, &vaddr)) {
			s = UNWIND_NO_CFI;
			break;
		}
		row = row_get(u, mod, vaddr);
		if (!(row->flags & CFI_ROW_FOUND)) {
			/* The entry point has no caller, and the dynamic
			 * loader's (mov, call: a few bytes) no CFI to say so. */
			bool at_entry = mod->entry && !exact && vaddr >= mod->entry && vaddr - mod->entry < ENTRY_CODE;
			s = at_entry ? UNWIND_COMPLETE : UNWIND_NO_CFI;
			break;
		}
		if (row->regs[ARCH_DWARF_RA].kind == CFI_UNDEF) {
			s = UNWIND_COMPLETE; /* _start and thread entry say so */
			break;
		}
		/* Where a call leaves the return address in a register (aarch64's
		 * lr), a leaf sampled before or without its prologue has the
		 * caller's sp: allowed once, at the sampled frame. */
		bool leaf_in_reg = ARCH_ENTRY_RA_IN_REG && n == 1 && row->regs[ARCH_DWARF_RA].kind == CFI_SAME;
		err = cfi_row_apply(row, &u->pool, &cur, &st, &cfa);
		if (err) {
			s = (enum unwind_status)err;
			break;
		}
		if ((cur.valid & (BIT(ARCH_DWARF_IP) | BIT(ARCH_DWARF_SP))) !=
		        (BIT(ARCH_DWARF_IP) | BIT(ARCH_DWARF_SP)) ||
		    !sp_valid || cur.r[ARCH_DWARF_SP] < sp || (cur.r[ARCH_DWARF_SP] == sp && !leaf_in_reg)) {
			s = UNWIND_BAD_FRAME; /* no progress up the stack: a loop */
			break;
		}
		if (cur.r[ARCH_DWARF_IP] == 0) {
			s = UNWIND_COMPLETE;
			break;
		}
		if (n >= max) {
			s = UNWIND_MAX_DEPTH;
			break;
		}
		pcs[n++] = cur.r[ARCH_DWARF_IP];
		exact = row->flags & CFI_ROW_SIGNAL;
	}
out:
	/* the frames unwound lie below the last cfa (the sp it restored) */
	u->last_reach =
	    (cur.valid & BIT(ARCH_DWARF_SP)) && cur.r[ARCH_DWARF_SP] > st.addr ? cur.r[ARCH_DWARF_SP] - st.addr : 0;
	*status = s;
	return n;
}

uint64_t unwinder_last_reach(const struct unwinder *u)
{
	return u->last_reach;
}

void unwinder_flush(struct unwinder *u, const char *path)
{
	bool dropped = false;

	for (size_t i = 0; i < u->modules.n; i++) {
		struct cfi_module *m = u->modules.v[i];
		if (path && strcmp(m->path, path) != 0)
			continue;
		/* Reopen replaced files, and retry ones that failed to open. */
		if (m->opened && (cfi_module_changed(m) || (!m->elf && m->path[0] == '/'))) {
			cfi_module_close(m);
			dropped = true;
		}
	}
	if (dropped)
		rows_clear(u);
}

void unwinder_get_stats(const struct unwinder *u, struct unwind_stats *st)
{
	*st = u->stats;
}

void unwinder_refused(const struct unwinder *u, struct strbuf *out)
{
	for (size_t i = 0; i < u->modules.n; i++)
		if (u->modules.v[i]->refused)
			strbuf_addf(out, "%s%s", out->len ? ", " : "", u->modules.v[i]->path);
}
