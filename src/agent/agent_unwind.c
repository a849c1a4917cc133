/* agent_unwind.c - the agent's own stack unwinder (see agent_unwind.h).
 *
 * Rust release builds have no frame pointers, so every frame is unwound
 * with the DWARF CFI of its module's .eh_frame, found through the
 * PT_GNU_EH_FRAME search table (decoded by capture/eh_frame.c, shared
 * with kiln). Nearly every x86_64 frame follows one shape: CFA = sp or fp
 * + offset, the return address at CFA + ARCH_CFA_RA_OFFSET, the caller's
 * fp saved at a fixed offset from the CFA or left alone. The row
 * for an address is compiled once into that shape (a struct agent_rule) and
 * cached; a signal frame continues from the context the kernel saved
 * (on the thread's stack or its alternate signal stack); anything else
 * (expressions, no CFI) cuts the stack short there.
 *
 * The cache is one process-wide open-addressing table read without a
 * lock; only inserting takes one. Each thread also keeps the rules of its
 * previous stack by stack address (struct agent_trace_step), which answers most
 * lookups: consecutive stacks share most of their frames.
 *
 * A cached rule outlives its module when that module is unloaded, and an
 * address could later belong to another module: dlclose is interposed
 * here, and every miss compares glibc's unload count (dlpi_subs); either
 * empties the table. Stale rules could only produce a wrong stack, never a
 * fault: every stack read is checked against the thread's stack bounds.
 */
#include "agent/agent_unwind.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <ucontext.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/arch.h"
#include "capture/eh_frame.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS    __thread __attribute__((tls_model("initial-exec")))

/* ---- rules ---- */

enum rule_kind {
	RULE_SP,          /* the usual shape, CFA = sp + cfa_off: step to the caller */
	RULE_FP,          /* the same with CFA = fp + cfa_off */
	RULE_END,         /* the return address is undefined: the outermost frame (_start, clone) */
	RULE_NO_INFO,     /* in no module, or no FDE covers the address */
	RULE_UNSUPPORTED, /* CFI that needs a real unwinder */
	RULE_SIGNAL,      /* a signal frame (__restore_rt): the registers are in the ucontext at sp */
};

/* The caller's registers, from a frame at some address (struct
 * agent_rule, agent_unwind.h): CFA = sp or fp (by kind) + cfa_off; the
 * return address at CFA + ARCH_CFA_RA_OFFSET; the caller's fp at
 * CFA+fp_off, or unchanged when fp_off is 0 (never a save slot: CFA+0 is
 * the caller's frame). sp
 * is the CFA, by definition. The rule holds for the whole CFI row around
 * the address: from lo_back bytes before it, len bytes long (one byte when
 * it is not a row's). A signal frame's registers are in the ucontext the
 * kernel left at its stack pointer. */

/* Open addressing, linear probing, at most half full. A slot's words are
 * each written atomically: the rule's, then the key that publishes them.
 * Emptying (after an unload) clears keys in place, so a reader checks the
 * key again after reading the rule: a rule read between the two is the
 * key's, before or after the emptying. */
struct rule_slot {
	uint64_t key; /* the pc; 0 = empty */
	uint64_t rule[2];
	uint64_t pad; /* a slot per half cache line */
};

struct rule_table {
	unsigned shift; /* 64 - log2(slots): the hash's top bits pick the slot */
	uint64_t mask;
	uint64_t used;
	struct rule_slot slot[];
};

#define TABLE_FIRST_SLOTS (1u << 10)

static struct rule_table *table;        /* published with release; read without a lock */
static uintptr_t insert_lock;           /* guards inserting, growing, emptying; its holder's thread pointer */
static uint64_t table_gen;              /* times the table was emptied */
static unsigned long long table_subs;   /* dlpi_subs the table's rules were computed under (written locked) */
static struct agent_unwind_stats stats; /* updated with relaxed atomics */

typedef int (*dlclose_fn)(void *);
static dlclose_fn real_dlclose;
static void (*before_dlclose)(void); /* agent_unwind_on_dlclose */

static void stat_add(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static void *map_pages(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	agent_own_add(p, size); /* not a root of the leak scan */
	return p;
}

/* Only misses and unloads take it, for microseconds: spinning is fine.
 * The word holds its holder's thread pointer (see agent_unwind_abandon). */
static void insert_lock_take(void)
{
	uintptr_t me = arch_thread_pointer(), free_word = 0;
	while (!__atomic_compare_exchange_n(&insert_lock, &free_word, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		free_word = 0;
		sched_yield();
	}
}

static void insert_lock_drop(void)
{
	__atomic_store_n(&insert_lock, 0, __ATOMIC_RELEASE);
}

static inline uint64_t table_hash(uint64_t pc)
{
	return pc * 0x9e3779b97f4a7c15ull;
}

/* The cached rule for pc, without a lock. */
static inline bool table_find(const struct rule_table *t, uint64_t pc, struct agent_rule *out)
{
	uint64_t i = table_hash(pc) >> t->shift;
	for (uint64_t probes = 0; probes <= t->mask; probes++) {
		const struct rule_slot *s = &t->slot[i];
		uint64_t key = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
		if (!key)
			return false;
		if (key == pc) {
			uint64_t bits[2] = {__atomic_load_n(&s->rule[0], __ATOMIC_ACQUIRE),
			                    __atomic_load_n(&s->rule[1], __ATOMIC_ACQUIRE)};
			if (__atomic_load_n(&s->key, __ATOMIC_RELAXED) != pc)
				return false; /* emptied meanwhile */
			memcpy(out, bits, sizeof(*out));
			return true;
		}
		i = (i + 1) & t->mask;
	}
	return false;
}

static struct rule_table *table_new(uint64_t slots)
{
	struct rule_table *t = map_pages(sizeof(*t) + slots * sizeof(struct rule_slot));
	if (!t)
		return NULL;
	t->shift = (unsigned)(64 - __builtin_ctzll(slots));
	t->mask = slots - 1;
	return t;
}

static void table_put_locked(struct rule_table *t, uint64_t pc, const uint64_t rule[2])
{
	uint64_t i = table_hash(pc) >> t->shift;
	for (;;) {
		uint64_t key = t->slot[i].key;
		if (!key)
			break;
		if (key == pc)
			return; /* another thread got there first */
		i = (i + 1) & t->mask;
	}
	__atomic_store_n(&t->slot[i].rule[0], rule[0], __ATOMIC_RELAXED);
	__atomic_store_n(&t->slot[i].rule[1], rule[1], __ATOMIC_RELAXED);
	__atomic_store_n(&t->slot[i].key, pc, __ATOMIC_RELEASE);
	t->used++;
}

/* A table four times the size with the same entries, published. The old
 * one is never unmapped: a reader may still be probing it. Each is a
 * quarter of the next, so all of them together cost a third more. */
static struct rule_table *table_grow_locked(void)
{
	struct rule_table *old = table;
	struct rule_table *t = table_new(old ? (old->mask + 1) * 4 : TABLE_FIRST_SLOTS);
	if (!t)
		return NULL;
	for (uint64_t i = 0; old && i <= old->mask; i++)
		if (old->slot[i].key)
			table_put_locked(t, old->slot[i].key, old->slot[i].rule);
	__atomic_store_n(&table, t, __ATOMIC_RELEASE);
	return t;
}

/* Empties the table in place; the threads' traces hold the table's rules
 * too, and drop them when they see table_gen move. */
static void table_clear_locked(void)
{
	struct rule_table *t = table;
	if (!t || !t->used)
		return;
	for (uint64_t i = 0; i <= t->mask; i++)
		__atomic_store_n(&t->slot[i].key, 0, __ATOMIC_RELAXED);
	t->used = 0;
	__atomic_fetch_add(&table_gen, 1, __ATOMIC_RELEASE);
	stat_add(&stats.resets);
}

/* Empties the table when a module was unloaded since its rules were
 * computed (glibc counts unloads in dlpi_subs). Lock held. */
static void table_check_subs_locked(unsigned long long subs)
{
	if (subs == table_subs)
		return;
	table_clear_locked();
	__atomic_store_n(&table_subs, subs, __ATOMIC_RELAXED);
}

/* Caches pc's rule, computed when glibc's unload count was subs. */
static void rule_publish(uint64_t pc, struct agent_rule r, unsigned long long subs)
{
	if (!pc)
		return;
	insert_lock_take();
	/* computed before an unload the table has already seen: it may be stale */
	if (subs < table_subs)
		goto out_unlock;
	table_check_subs_locked(subs);
	struct rule_table *t = table;
	if (!t || (t->used + 1) * 2 > t->mask + 1)
		t = table_grow_locked();
	if (t) {
		uint64_t bits[2];
		memcpy(bits, &r, sizeof(bits));
		table_put_locked(t, pc, bits);
	}
out_unlock:
	insert_lock_drop();
}

/* ---- reading a loaded module's .eh_frame_hdr and .eh_frame ---- */

/* A module as dl_iterate_phdr shows it; valid during the callback, which
 * holds the loader's lock, so the module cannot be unmapped meanwhile. */
struct module {
	uintptr_t base;
	const ElfW(Phdr) * phdr;
	int phnum;
};

/* The end of the module's PT_LOAD segment holding addr, or 0: the bytes
 * from addr up to it are mapped. */
static uintptr_t module_seg_end(const struct module *m, uintptr_t addr)
{
	for (int i = 0; i < m->phnum; i++) {
		const ElfW(Phdr) *ph = &m->phdr[i];
		uintptr_t lo = m->base + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && addr - lo < ph->p_memsz)
			return lo + ph->p_memsz;
	}
	return 0;
}

/* A reader of the module's bytes from addr to the end of the segment
 * holding it (capture/eh_frame.h decodes them). */
static bool reader_at(struct ehf_reader *r, const struct module *m, uintptr_t addr)
{
	uintptr_t end = module_seg_end(m, addr);
	ehf_reader_init(r, (const void *)addr, end ? end - addr : 0, 0);
	r->bad = !end;
	return !r->bad;
}

/* An encoded pointer: pc-relative, relative to datarel (the start of
 * .eh_frame_hdr; 0 where that base is not allowed) or absolute, and
 * followed when indirect, if the word lies in the module. */
static uintptr_t rd_ptr(struct ehf_reader *r, uint8_t enc, const struct module *m, uintptr_t datarel)
{
	struct ehf_bases b = {.has_datarel = datarel != 0, .datarel = datarel};
	bool indirect;
	uintptr_t v = ehf_pe_read(r, enc, &b, &indirect);
	if (!r->bad && indirect) {
		uintptr_t end = module_seg_end(m, v);
		if (!end || end - v < sizeof(v))
			r->bad = true;
		else
			memcpy(&v, (const void *)v, sizeof(v));
	}
	return r->bad ? 0 : v;
}

/* The FDE that may cover pc, by binary search in .eh_frame_hdr's table;
 * 0 when there is none. Tables of other encodings than datarel sdata4
 * (every linker's) are left to libunwind. */
static uintptr_t hdr_find_fde(const struct module *m, uintptr_t hdr, uintptr_t pc)
{
	struct ehf_reader r;
	struct ehf_hdr h;
	if (!reader_at(&r, m, hdr) || !ehf_hdr_parse(&r, hdr, &h))
		return 0;
	return (uintptr_t)ehf_hdr_search(&h, hdr, pc);
}

/* The FDE at `at` and its CIE, whose return address column must be the
 * one a rule knows. */
static bool fde_parse(const struct module *m, uintptr_t at, struct ehf_cie *c, struct ehf_fde *f)
{
	struct ehf_reader r, cr;
	const uint8_t *cie_at;
	if (!reader_at(&r, m, at) || !ehf_fde_start(&r, &cie_at))
		return false;
	if (!reader_at(&cr, m, (uintptr_t)cie_at) || !ehf_cie_parse(&cr, c) || c->ra_reg != ARCH_DWARF_RA)
		return false;
	return ehf_fde_finish(&r, c, f);
}

/* ---- the CFA program ---- */

/* DW_CFA_* (DWARF 5, 6.4.2, and the GNU extensions) */
enum {
	CFA_ADVANCE_LOC = 0x40,
	CFA_OFFSET = 0x80,
	CFA_RESTORE = 0xc0,
	CFA_NOP = 0x00,
	CFA_SET_LOC = 0x01,
	CFA_ADVANCE_LOC1 = 0x02,
	CFA_ADVANCE_LOC2 = 0x03,
	CFA_ADVANCE_LOC4 = 0x04,
	CFA_OFFSET_EXTENDED = 0x05,
	CFA_RESTORE_EXTENDED = 0x06,
	CFA_UNDEFINED = 0x07,
	CFA_SAME_VALUE = 0x08,
	CFA_REGISTER = 0x09,
	CFA_REMEMBER_STATE = 0x0a,
	CFA_RESTORE_STATE = 0x0b,
	CFA_DEF_CFA = 0x0c,
	CFA_DEF_CFA_REGISTER = 0x0d,
	CFA_DEF_CFA_OFFSET = 0x0e,
	CFA_DEF_CFA_EXPRESSION = 0x0f,
	CFA_EXPRESSION = 0x10,
	CFA_OFFSET_EXTENDED_SF = 0x11,
	CFA_DEF_CFA_SF = 0x12,
	CFA_DEF_CFA_OFFSET_SF = 0x13,
	CFA_VAL_OFFSET = 0x14,
	CFA_VAL_OFFSET_SF = 0x15,
	CFA_VAL_EXPRESSION = 0x16,
	CFA_GNU_ARGS_SIZE = 0x2e,
	CFA_GNU_NEGATIVE_OFFSET_EXTENDED = 0x2f,
};

enum reg_how {
	HOW_SAME,       /* unchanged (also: no rule given) */
	HOW_UNDEF,      /* undefined */
	HOW_OFFSET,     /* saved at CFA + off */
	HOW_VAL_OFFSET, /* is CFA + off */
	HOW_OTHER,      /* in another register, or an expression */
};

/* The only registers a rule needs: fp, sp and the return address. */
enum { COL_FP, COL_SP, COL_RA, NCOLS };

struct reg_rule {
	int64_t off;
	uint8_t how; /* enum reg_how */
};

struct cfa_row {
	int64_t cfa_off;
	uint64_t cfa_reg;
	bool cfa_expr;
	struct reg_rule col[NCOLS];
};

#define STATE_DEPTH 8 /* remember_state nesting; compilers use one or two */

/* Runs a CIE's then an FDE's instructions up to pc. */
struct cfa_vm {
	struct cfa_row row;
	struct cfa_row initial; /* after the CIE's instructions, for restore */
	struct cfa_row saved[STATE_DEPTH];
	int nsaved;
	bool in_fde;
	bool done;         /* the location passed pc: the row is pc's */
	uintptr_t row_end; /* when done: where the next row starts */
	const struct ehf_cie *cie;
	const struct module *m;
	uintptr_t loc, pc;
};

static int column(uint64_t reg)
{
	switch (reg) {
	case ARCH_DWARF_FP:
		return COL_FP;
	case ARCH_DWARF_SP:
		return COL_SP;
	case ARCH_DWARF_RA:
		return COL_RA;
	}
	return -1;
}

/* Other registers' rules are read and dropped: no rule needs them. */
static void vm_set(struct cfa_vm *vm, uint64_t reg, enum reg_how how, int64_t off)
{
	int c = column(reg);
	if (c >= 0) {
		vm->row.col[c].how = (uint8_t)how;
		vm->row.col[c].off = off;
	}
}

static bool vm_restore(struct cfa_vm *vm, uint64_t reg)
{
	int c = column(reg);
	if (!vm->in_fde)
		return false; /* nothing to restore to inside the CIE */
	if (c >= 0)
		vm->row.col[c] = vm->initial.col[c];
	return true;
}

/* A new row starts at loc: pc's row ends there when it lies past pc. */
static void vm_move(struct cfa_vm *vm, uintptr_t loc)
{
	if (loc > vm->pc) {
		vm->done = true;
		vm->row_end = loc;
	} else {
		vm->loc = loc;
	}
}

static void vm_advance(struct cfa_vm *vm, uint64_t delta)
{
	uint64_t step, loc;
	if (__builtin_mul_overflow(delta, vm->cie->code_align, &step) || __builtin_add_overflow(vm->loc, step, &loc))
		loc = UINTPTR_MAX;
	vm_move(vm, loc);
}

/* Offsets scaled by the data alignment factor; an overflow makes the
 * row unusable, like any malformed instruction. */
static int64_t vm_scaled(struct cfa_vm *vm, struct ehf_reader *r, int64_t v)
{
	int64_t out;
	if (__builtin_mul_overflow(v, vm->cie->data_align, &out))
		r->bad = true;
	return out;
}

static void vm_def_cfa(struct cfa_vm *vm, uint64_t reg, int64_t off)
{
	vm->row.cfa_reg = reg;
	vm->row.cfa_off = off;
	vm->row.cfa_expr = false;
}

/* One instruction with an extended opcode; false when unknown or invalid. */
static bool vm_step_extended(struct cfa_vm *vm, struct ehf_reader *r, uint8_t op)
{
	uint64_t reg;
	switch (op) {
	case CFA_NOP:
		return true;
	case CFA_GNU_ARGS_SIZE: /* only matters to landing pads */
		ehf_uleb(r);
		return true;
	case CFA_SET_LOC: {
		uintptr_t loc = rd_ptr(r, vm->cie->fde_enc, vm->m, 0);
		if (loc < vm->loc)
			return false; /* rows go forwards */
		vm_move(vm, loc);
		return true;
	}
	case CFA_ADVANCE_LOC1:
		vm_advance(vm, ehf_fixed(r, 1));
		return true;
	case CFA_ADVANCE_LOC2:
		vm_advance(vm, ehf_fixed(r, 2));
		return true;
	case CFA_ADVANCE_LOC4:
		vm_advance(vm, ehf_fixed(r, 4));
		return true;
	case CFA_OFFSET_EXTENDED:
		reg = ehf_uleb(r);
		vm_set(vm, reg, HOW_OFFSET, vm_scaled(vm, r, (int64_t)ehf_uleb(r)));
		return true;
	case CFA_OFFSET_EXTENDED_SF:
		reg = ehf_uleb(r);
		vm_set(vm, reg, HOW_OFFSET, vm_scaled(vm, r, ehf_sleb(r)));
		return true;
	case CFA_GNU_NEGATIVE_OFFSET_EXTENDED:
		reg = ehf_uleb(r);
		vm_set(vm, reg, HOW_OFFSET, -vm_scaled(vm, r, (int64_t)ehf_uleb(r)));
		return true;
	case CFA_VAL_OFFSET:
		reg = ehf_uleb(r);
		vm_set(vm, reg, HOW_VAL_OFFSET, vm_scaled(vm, r, (int64_t)ehf_uleb(r)));
		return true;
	case CFA_VAL_OFFSET_SF:
		reg = ehf_uleb(r);
		vm_set(vm, reg, HOW_VAL_OFFSET, vm_scaled(vm, r, ehf_sleb(r)));
		return true;
	case CFA_RESTORE_EXTENDED:
		return vm_restore(vm, ehf_uleb(r));
	case CFA_UNDEFINED:
		vm_set(vm, ehf_uleb(r), HOW_UNDEF, 0);
		return true;
	case CFA_SAME_VALUE:
		vm_set(vm, ehf_uleb(r), HOW_SAME, 0);
		return true;
	case CFA_REGISTER:
		reg = ehf_uleb(r);
		ehf_uleb(r);
		vm_set(vm, reg, HOW_OTHER, 0);
		return true;
	case CFA_EXPRESSION:
	case CFA_VAL_EXPRESSION:
		reg = ehf_uleb(r);
		ehf_skip_block(r);
		vm_set(vm, reg, HOW_OTHER, 0);
		return true;
	case CFA_REMEMBER_STATE: /* the CFA too, as GCC's and libunwind's unwinders do */
		if (vm->nsaved == STATE_DEPTH)
			return false;
		vm->saved[vm->nsaved++] = vm->row;
		return true;
	case CFA_RESTORE_STATE:
		if (!vm->nsaved)
			return false;
		vm->row = vm->saved[--vm->nsaved];
		return true;
	case CFA_DEF_CFA:
		reg = ehf_uleb(r);
		vm_def_cfa(vm, reg, (int64_t)ehf_uleb(r));
		return true;
	case CFA_DEF_CFA_SF:
		reg = ehf_uleb(r);
		vm_def_cfa(vm, reg, vm_scaled(vm, r, ehf_sleb(r)));
		return true;
	case CFA_DEF_CFA_REGISTER:
		vm->row.cfa_reg = ehf_uleb(r);
		return !vm->row.cfa_expr; /* only valid after a register + offset CFA */
	case CFA_DEF_CFA_OFFSET:
		vm->row.cfa_off = (int64_t)ehf_uleb(r);
		return !vm->row.cfa_expr;
	case CFA_DEF_CFA_OFFSET_SF:
		vm->row.cfa_off = vm_scaled(vm, r, ehf_sleb(r));
		return !vm->row.cfa_expr;
	case CFA_DEF_CFA_EXPRESSION:
		ehf_skip_block(r);
		vm->row.cfa_expr = true;
		return true;
	}
	return false;
}

/* Runs instructions [p, end) until they end or the location passes pc.
 * False when one is malformed or unknown. */
static bool vm_run(struct cfa_vm *vm, const uint8_t *p, const uint8_t *end)
{
	struct ehf_reader r;
	ehf_reader_init(&r, p, (size_t)(end - p), 0);
	while (!vm->done && r.p < r.end) {
		uint8_t op = (uint8_t)ehf_fixed(&r, 1);
		switch (op & 0xc0) {
		case CFA_ADVANCE_LOC:
			vm_advance(vm, op & 0x3f);
			break;
		case CFA_OFFSET:
			vm_set(vm, op & 0x3f, HOW_OFFSET, vm_scaled(vm, &r, (int64_t)ehf_uleb(&r)));
			break;
		case CFA_RESTORE:
			if (!vm_restore(vm, op & 0x3f))
				return false;
			break;
		default:
			if (!vm_step_extended(vm, &r, op))
				return false;
		}
		if (r.bad)
			return false;
	}
	return true;
}

/* Compiles pc's row into a rule, when it has the usual shape. */
static struct agent_rule rule_from_row(const struct cfa_row *row)
{
	struct agent_rule ru = {.kind = RULE_UNSUPPORTED};
	const struct reg_rule *ra = &row->col[COL_RA], *bp = &row->col[COL_FP], *sp = &row->col[COL_SP];
	if (ra->how == HOW_UNDEF) {
		ru.kind = RULE_END;
		return ru;
	}
	if (row->cfa_expr || (row->cfa_reg != ARCH_DWARF_SP && row->cfa_reg != ARCH_DWARF_FP) ||
	    row->cfa_off < INT32_MIN || row->cfa_off > INT32_MAX)
		return ru;
	if (ra->how != HOW_OFFSET || ra->off != ARCH_CFA_RA_OFFSET)
		return ru;
	if (sp->how != HOW_SAME && !(sp->how == HOW_VAL_OFFSET && sp->off == 0))
		return ru;
	if (bp->how == HOW_OFFSET && bp->off != 0 && bp->off >= INT16_MIN && bp->off <= INT16_MAX)
		ru.fp_off = (int16_t)bp->off;
	else if (bp->how != HOW_SAME)
		return ru;
	ru.cfa_off = (int32_t)row->cfa_off;
	ru.kind = row->cfa_reg == ARCH_DWARF_FP ? RULE_FP : RULE_SP;
	return ru;
}

/* pc's rule from the module's CFI. */
static struct agent_rule rule_in_module(const struct module *m, uintptr_t hdr, uintptr_t pc)
{
	struct agent_rule no_info = {.kind = RULE_NO_INFO, .len = 1},
	                  unsupported = {.kind = RULE_UNSUPPORTED, .len = 1};
	uintptr_t at = hdr_find_fde(m, hdr, pc);
	if (!at)
		return no_info;
	struct ehf_cie c;
	struct ehf_fde f;
	if (!fde_parse(m, at, &c, &f))
		return unsupported;
	if (pc < f.start || pc >= f.end)
		return no_info;
	if (c.signal) { /* a signal frame: the kernel's saved context is read instead */
		struct agent_rule sig = {.kind = RULE_SIGNAL, .len = 1};
		return sig;
	}
	struct cfa_vm vm = {.cie = &c, .m = m, .loc = f.start, .pc = pc};
	vm.row.cfa_reg = UINT64_MAX; /* none until the CIE says */
	if (!vm_run(&vm, c.insns, c.insns_end))
		return unsupported;
	vm.initial = vm.row;
	vm.in_fde = true;
	if (!vm_run(&vm, f.insns, f.insns_end))
		return unsupported;
	struct agent_rule ru = rule_from_row(&vm.row);
	uintptr_t end = vm.done && vm.row_end < f.end ? vm.row_end : f.end;
	ru.lo_back = (uint32_t)(pc - vm.loc);
	ru.len = end - vm.loc > UINT32_MAX ? UINT32_MAX : (uint32_t)(end - vm.loc);
	if (pc - vm.loc >= ru.len) { /* a row too long to describe: this address only */
		ru.lo_back = 0;
		ru.len = 1;
	}
	return ru;
}

/* ---- finding the module on a miss ---- */

struct miss {
	uintptr_t pc;
	struct agent_rule rule;
	unsigned long long subs; /* glibc's unload count, at the time of the lookup */
};

static bool info_has_subs(size_t size)
{
	return size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(unsigned long long);
}

static int miss_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct miss *ms = arg;
	if (info_has_subs(size))
		ms->subs = info->dlpi_subs;
	struct module m = {info->dlpi_addr, info->dlpi_phdr, info->dlpi_phnum};
	const ElfW(Phdr) *eh = NULL;
	bool inside = false;
	for (int i = 0; i < m.phnum; i++) {
		const ElfW(Phdr) *ph = &m.phdr[i];
		if (ph->p_type == PT_LOAD && ms->pc - (m.base + ph->p_vaddr) < ph->p_memsz)
			inside = true;
		else if (ph->p_type == PT_GNU_EH_FRAME)
			eh = ph;
	}
	if (!inside)
		return 0;
	if (eh)
		ms->rule = rule_in_module(&m, m.base + eh->p_vaddr, ms->pc);
	return 1;
}

/* pc's rule, computed from its module's CFI and cached. With signals
 * blocked: a handler that jumped out of here (siglongjmp) would leave the
 * loader's lock or the insert lock held for good. Misses are rare. */
static __attribute__((noinline)) struct agent_rule rule_slow(uintptr_t pc)
{
	struct miss ms = {.pc = pc, .rule = {.kind = RULE_NO_INFO, .len = 1}};
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ms.subs = __atomic_load_n(&table_subs, __ATOMIC_RELAXED); /* unless dl_iterate_phdr tells */
	stat_add(&stats.misses);
	dl_iterate_phdr(miss_module, &ms);
	rule_publish(pc, ms.rule, ms.subs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ms.rule;
}

static int read_subs(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (info_has_subs(size))
		*(unsigned long long *)arg = info->dlpi_subs;
	return 1;
}

/* Called after every dlclose: its module's addresses may be reused. */
static void forget_unloaded(void)
{
	unsigned long long subs = __atomic_load_n(&table_subs, __ATOMIC_RELAXED);
	dl_iterate_phdr(read_subs, &subs);
	insert_lock_take();
	table_check_subs_locked(subs);
	insert_lock_drop();
}

EXPORT int dlclose(void *handle)
{
	dlclose_fn fn = __atomic_load_n(&real_dlclose, __ATOMIC_ACQUIRE);
	if (!fn) {
		fn = (dlclose_fn)dlsym(RTLD_NEXT, "dlclose");
		if (!fn)
			return -1;
		__atomic_store_n(&real_dlclose, fn, __ATOMIC_RELEASE);
	}
	void (*before)(void) = __atomic_load_n(&before_dlclose, __ATOMIC_ACQUIRE);
	if (before)
		before();
	int rc = fn(handle);
	forget_unloaded();
	return rc;
}

/* ---- the stack ---- */

/* The calling thread's alternate signal stack, as its last successful
 * sigaltstack() call set it (interposed below): the only other stack a
 * hook's frames may lie on. */
static TLS uintptr_t alt_lo, alt_hi;

typedef int (*sigaltstack_fn)(const stack_t *, stack_t *);
static sigaltstack_fn real_sigaltstack;

EXPORT int sigaltstack(const stack_t *ss, stack_t *old)
{
	sigaltstack_fn fn = __atomic_load_n(&real_sigaltstack, __ATOMIC_ACQUIRE);
	if (!fn) {
		fn = (sigaltstack_fn)dlsym(RTLD_NEXT, "sigaltstack");
		if (!fn) {
			errno = ENOSYS;
			return -1;
		}
		__atomic_store_n(&real_sigaltstack, fn, __ATOMIC_RELEASE);
	}
	int rc = fn(ss, old);
	if (rc == 0 && ss) {
		bool off = ss->ss_flags & SS_DISABLE;
		alt_lo = off ? 0 : (uintptr_t)ss->ss_sp;
		alt_hi = off ? 0 : (uintptr_t)ss->ss_sp + ss->ss_size;
	}
	return rc;
}

/* The stack holding sp, [*lo, *hi): the thread's own, or its alternate
 * signal stack; false when neither (a coroutine's, or not known). */
static bool stack_region(const struct agent_unwind_thread *ut, uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
	if (sp >= ut->stack_lo && sp < ut->stack_hi) {
		*lo = ut->stack_lo;
		*hi = ut->stack_hi;
		return true;
	}
	if (sp >= alt_lo && sp < alt_hi) {
		*lo = alt_lo;
		*hi = alt_hi;
		return true;
	}
	return false;
}

static inline uintptr_t stack_word(uintptr_t at)
{
	uintptr_t v;
	memcpy(&v, (const void *)at, sizeof(v));
	return v;
}

struct regs {
	uintptr_t pc, sp, bp;
};

/* A cache miss reads .eh_frame through dl_iterate_phdr: about 2 KiB of
 * stack (measured: tests/e2e/test_agent_stacks.sh; 1,856 bytes from the
 * lookup to the deepest frame of the CFA program's, December 2026). With
 * less room left below the frame that unwinds, the stack is cut short
 * instead. Twice that, not more: a fault handler on Rust's 8 KiB
 * alternate signal stack has 4.7 KiB left under a CPU with AVX-512 (its
 * signal frame holds the larger register state), and its access stack
 * must unwind through frames no allocation stack showed. */
#define MISS_ROOM 4096

/* Each thread's previous stack, step by step (struct agent_trace_step):
 * consecutive stacks of a thread share most frames at the same stack
 * addresses, in the same functions if not at the same call, so the rule
 * for a frame is usually found there instead of in the table: no hashing,
 * and the loads of successive return addresses no longer wait on each
 * other's lookups. Two buffers: the previous stack is read while the
 * current one is written; each ends with a sentinel step above every stack
 * address. */

/* The rule for key, or false when it is not cached and room (bytes of
 * stack left) is too little to look it up. */
static inline bool rule_lookup(uintptr_t key, uintptr_t room, struct agent_rule *ru)
{
	const struct rule_table *t = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
	if (t && table_find(t, key, ru))
		return true;
	if (room < MISS_ROOM)
		return false;
	*ru = rule_slow(key);
	return true;
}

/* Where a signal frame's ucontext keeps the interrupted registers. */
#define UC_REG(uc, off) ((uc) + (uintptr_t)(off))

/* Steps from frame r outwards within the stack [lo, hi) holding it, and
 * from a signal frame on into the interrupted frame, recording the steps
 * on the thread's own stack in cur (*len of them). Returns the frames;
 * *whole false when it gave up on one. */
static int unwind_steps(const struct agent_unwind_thread *ut, struct regs r, uintptr_t hi, uintptr_t room, void **ips,
                        int max, const struct agent_trace_step *prev, struct agent_trace_step *cur, int *len,
                        bool *whole)
{
	uintptr_t lo = r.sp, sp = r.sp, bp = r.bp, key = r.pc;
	int n = 0;
	bool tracing = true; /* until a signal frame: the steps after it may lie elsewhere */
	*len = 0;
	for (;;) {
		const struct agent_trace_step *step = NULL;
		struct agent_trace_step fresh;
		if (tracing) {
			while (prev->sp < sp)
				prev++;
			if (prev->sp == sp && key - prev->row_lo < prev->rule.len)
				step = prev;
		}
		if (!step) {
			if (!rule_lookup(key, room, &fresh.rule)) {
				stat_add(&stats.no_room);
				goto out_cut;
			}
			fresh.sp = sp;
			fresh.row_lo = key - fresh.rule.lo_back;
			step = &fresh;
		}
		if (tracing && *len < AGENT_TRACE_MAX)
			cur[(*len)++] = *step;
		uintptr_t base = sp, ra;
		switch (step->rule.kind) {
		case RULE_SP:
			break;
		case RULE_FP:
			base = bp;
			break;
		case RULE_END:
			return n;
		case RULE_SIGNAL: {
			/* sp is the ucontext the kernel saved; the interrupted frame
			 * goes on at its exact pc, maybe on the other stack */
			if (UC_REG(sp, ARCH_UC_PC_OFFSET) + sizeof(uintptr_t) > hi)
				goto out_bounds;
			ra = stack_word(UC_REG(sp, ARCH_UC_PC_OFFSET));
			uintptr_t nsp = stack_word(UC_REG(sp, ARCH_UC_SP_OFFSET));
			bp = stack_word(UC_REG(sp, ARCH_UC_FP_OFFSET));
			if (!stack_region(ut, nsp, &lo, &hi))
				goto out_bounds;
			lo = sp = nsp;
			tracing = false;
			if (ra < 0x4000)
				return n;
			ips[n++] = (void *)ra;
			key = ra;
			if (n == max)
				return n;
			continue;
		}
		default:
			stat_add(step->rule.kind == RULE_NO_INFO ? &stats.no_info : &stats.unsupported);
			goto out_cut;
		}
		uintptr_t cfa = base + (uintptr_t)(intptr_t)step->rule.cfa_off;
		/* the CFA strictly grows and the return address lies on the stack */
		if (__builtin_expect(cfa < sp + 8 || cfa > hi, 0))
			goto out_bounds;
		ra = stack_word(cfa + (uintptr_t)(intptr_t)ARCH_CFA_RA_OFFSET);
		if (step->rule.fp_off) {
			uintptr_t at = cfa + (uintptr_t)(intptr_t)step->rule.fp_off;
			if (at < lo || at > hi - 8)
				goto out_bounds;
			bp = stack_word(at);
		}
		sp = cfa;
		if (__builtin_expect(ra < 0x4000, 0))
			return n; /* libunwind's test for a bogus return address: stop as it does */
		ips[n++] = (void *)ra;
		key = ra - 1; /* the call instruction: the return address may start another function's row */
		if (n == max)
			return n;
	}
out_bounds:
	stat_add(&stats.bounds);
out_cut:
	*whole = false;
	return n;
}

int agent_unwind_backtrace_from(struct agent_unwind_thread *ut, void **ips, int max, uintptr_t ra, uintptr_t cfa,
                                uintptr_t bp, bool *whole)
{
	*whole = true;
	if (max <= 0)
		return 0;
	ips[0] = (void *)ra;
	uintptr_t lo, hi, here = (uintptr_t)__builtin_frame_address(0);
	if (!stack_region(ut, cfa, &lo, &hi)) {
		stat_add(&stats.bounds);
		*whole = false;
		return 1;
	}
	/* the room left below this frame: on the stack of the hook's caller,
	 * or on the alternate signal stack a fault handler runs on (the frame
	 * it unwinds is on the thread's own) */
	uintptr_t here_lo, here_hi;
	uintptr_t room = stack_region(ut, here, &here_lo, &here_hi) ? here - here_lo : 0;
	/* a rule is the table's of the time: a table emptied since drops the trace */
	uint64_t gen = __atomic_load_n(&table_gen, __ATOMIC_ACQUIRE) + 1;
	if (gen != ut->trace_gen) {
		ut->trace[ut->trace_prev][0].sp = UINTPTR_MAX;
		ut->trace_gen = gen;
	}
	struct agent_trace_step *cur = ut->trace[ut->trace_prev ^ 1];
	int len = 0;
	/* the call instruction names the row, as for every return address */
	struct regs r = {ra - 1, cfa, bp};
	int n = unwind_steps(ut, r, hi, room, ips + 1, max - 1, ut->trace[ut->trace_prev], cur, &len, whole);
	cur[len].sp = UINTPTR_MAX; /* the rules met are right even when the stack was cut short */
	ut->trace_prev ^= 1;
	return n + 1;
}

void agent_unwind_init(void)
{
	if (!real_dlclose)
		__atomic_store_n(&real_dlclose, (dlclose_fn)dlsym(RTLD_NEXT, "dlclose"), __ATOMIC_RELEASE);
	unsigned long long subs = 0;
	dl_iterate_phdr(read_subs, &subs);
	insert_lock_take();
	__atomic_store_n(&table_subs, subs, __ATOMIC_RELAXED);
	insert_lock_drop();
}

void agent_unwind_abandon(void)
{
	uintptr_t me = arch_thread_pointer();
	__atomic_compare_exchange_n(&insert_lock, &me, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

void agent_unwind_atfork_child(void)
{
	insert_lock = 0;
	memset(&stats, 0, sizeof(stats)); /* the child counts its own stacks */
}

void agent_unwind_on_dlclose(void (*fn)(void))
{
	__atomic_store_n(&before_dlclose, fn, __ATOMIC_RELEASE);
}

void agent_unwind_get_stats(struct agent_unwind_stats *st)
{
	st->misses = __atomic_load_n(&stats.misses, __ATOMIC_RELAXED);
	st->no_info = __atomic_load_n(&stats.no_info, __ATOMIC_RELAXED);
	st->unsupported = __atomic_load_n(&stats.unsupported, __ATOMIC_RELAXED);
	st->bounds = __atomic_load_n(&stats.bounds, __ATOMIC_RELAXED);
	st->resets = __atomic_load_n(&stats.resets, __ATOMIC_RELAXED);
	st->no_room = __atomic_load_n(&stats.no_room, __ATOMIC_RELAXED);
}
