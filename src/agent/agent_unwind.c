/* agent_unwind.c - the agent's own stack unwinder (see agent_unwind.h).
 *
 * Rust release builds have no frame pointers, so every frame is unwound
 * with the DWARF CFI of its module's .eh_frame, found through the
 * PT_GNU_EH_FRAME search table. Nearly every x86_64 frame follows one
 * shape: CFA = rsp or rbp + offset, the return address at CFA-8, the
 * caller's rbp saved at a fixed offset from the CFA or left alone. The row
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

#include "arch/x86_64/regs.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS    __thread __attribute__((tls_model("initial-exec")))

/* ---- rules ---- */

enum rule_kind {
	RULE_RSP,         /* the usual shape, CFA = rsp + cfa_off: step to the caller */
	RULE_RBP,         /* the same with CFA = rbp + cfa_off */
	RULE_END,         /* the return address is undefined: the outermost frame (_start, clone) */
	RULE_NO_INFO,     /* in no module, or no FDE covers the address */
	RULE_UNSUPPORTED, /* CFI that needs a real unwinder */
	RULE_SIGNAL,      /* a signal frame (__restore_rt): the registers are in the ucontext at sp */
};

/* The caller's registers, from a frame at some address (struct
 * agent_rule, agent_unwind.h): CFA = rsp or rbp (by kind) + cfa_off; the
 * return address at CFA-8; the caller's rbp at CFA+rbp_off, or unchanged
 * when rbp_off is 0 (never a save slot: CFA+0 is the caller's frame). rsp
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

static uintptr_t thread_pointer(void)
{
	uintptr_t tp;
	__asm__("movq %%fs:0, %0" : "=r"(tp));
	return tp;
}

/* Only misses and unloads take it, for microseconds: spinning is fine.
 * The word holds its holder's thread pointer (see agent_unwind_abandon). */
static void insert_lock_take(void)
{
	uintptr_t me = thread_pointer(), free_word = 0;
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

/* Bytes [p, end) that may be read; bad once a read would pass end. */
struct reader {
	const uint8_t *p, *end;
	bool bad;
};

static bool reader_at(struct reader *r, const struct module *m, uintptr_t addr)
{
	uintptr_t end = module_seg_end(m, addr);
	r->p = (const uint8_t *)addr;
	r->end = (const uint8_t *)end;
	r->bad = !end;
	return !r->bad;
}

static bool rd_have(struct reader *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n)
		r->bad = true;
	return !r->bad;
}

/* An unsigned little-endian value of n bytes (1, 2, 4 or 8). */
static uint64_t rd_fixed(struct reader *r, size_t n)
{
	uint64_t v = 0;
	if (!rd_have(r, n))
		return 0;
	memcpy(&v, r->p, n);
	r->p += n;
	return v;
}

static uint64_t rd_uleb(struct reader *r)
{
	uint64_t v = 0;
	for (unsigned shift = 0;; shift += 7) {
		if (!rd_have(r, 1))
			return 0;
		uint8_t b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
}

static int64_t rd_sleb(struct reader *r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;
	do {
		if (!rd_have(r, 1))
			return 0;
		b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~0ull << shift;
	return (int64_t)v;
}

static void rd_skip_block(struct reader *r)
{
	uint64_t n = rd_uleb(r);
	if (rd_have(r, n))
		r->p += n;
}

/* DW_EH_PE_* pointer encodings (LSB Core, .eh_frame) */
enum {
	PE_ABSPTR = 0x00,
	PE_ULEB128 = 0x01,
	PE_UDATA2 = 0x02,
	PE_UDATA4 = 0x03,
	PE_UDATA8 = 0x04,
	PE_SLEB128 = 0x09,
	PE_SDATA2 = 0x0a,
	PE_SDATA4 = 0x0b,
	PE_SDATA8 = 0x0c,
	PE_PCREL = 0x10,
	PE_DATAREL = 0x30,
	PE_ALIGNED = 0x50,
	PE_INDIRECT = 0x80,
	PE_OMIT = 0xff,
};

/* The value part of an encoded pointer, before its base is applied. */
static uint64_t rd_ptr_value(struct reader *r, uint8_t enc)
{
	switch (enc & 0x0f) {
	case PE_ABSPTR:
	case PE_UDATA8:
	case PE_SDATA8:
		return rd_fixed(r, 8);
	case PE_ULEB128:
		return rd_uleb(r);
	case PE_UDATA2:
		return rd_fixed(r, 2);
	case PE_UDATA4:
		return rd_fixed(r, 4);
	case PE_SLEB128:
		return (uint64_t)rd_sleb(r);
	case PE_SDATA2:
		return (uint64_t)(int64_t)(int16_t)rd_fixed(r, 2);
	case PE_SDATA4:
		return (uint64_t)(int64_t)(int32_t)rd_fixed(r, 4);
	}
	r->bad = true;
	return 0;
}

/* An encoded pointer: pc-relative, relative to datarel (the start of
 * .eh_frame_hdr; 0 where that base is not allowed) or absolute, and
 * followed when indirect, if the word lies in the module. */
static uintptr_t rd_ptr(struct reader *r, uint8_t enc, const struct module *m, uintptr_t datarel)
{
	uintptr_t at = (uintptr_t)r->p;
	uintptr_t v = rd_ptr_value(r, enc);
	switch (enc & 0x70) {
	case 0:
		break;
	case PE_PCREL:
		v += at;
		break;
	case PE_DATAREL:
		if (!datarel)
			r->bad = true;
		v += datarel;
		break;
	default: /* textrel, funcrel, aligned: not used on x86_64 Linux */
		r->bad = true;
	}
	if (!r->bad && (enc & PE_INDIRECT)) {
		uintptr_t end = module_seg_end(m, v);
		if (!end || end - v < sizeof(v))
			r->bad = true;
		else
			memcpy(&v, (const void *)v, sizeof(v));
	}
	return r->bad ? 0 : v;
}

static int32_t table_word(const uint8_t *tab, uint64_t i)
{
	int32_t v;
	memcpy(&v, tab + i * 4, sizeof(v));
	return v;
}

/* The FDE that may cover pc, by binary search in .eh_frame_hdr's table of
 * (initial location, FDE) pairs; 0 when there is none. Every linker emits
 * the table as datarel sdata4: other encodings are left to libunwind. */
static uintptr_t hdr_find_fde(const struct module *m, uintptr_t hdr, uintptr_t pc)
{
	struct reader r;
	if (!reader_at(&r, m, hdr))
		return 0;
	uint8_t version = (uint8_t)rd_fixed(&r, 1);
	uint8_t frame_enc = (uint8_t)rd_fixed(&r, 1);
	uint8_t count_enc = (uint8_t)rd_fixed(&r, 1);
	uint8_t table_enc = (uint8_t)rd_fixed(&r, 1);
	if (r.bad || version != 1 || frame_enc == PE_OMIT || count_enc == PE_OMIT ||
	    table_enc != (PE_DATAREL | PE_SDATA4))
		return 0;
	rd_ptr(&r, frame_enc, m, hdr);
	uint64_t count = rd_ptr(&r, count_enc, m, hdr);
	if (r.bad || !count || count > (uint64_t)(r.end - r.p) / 8)
		return 0;
	const uint8_t *tab = r.p;
	if (pc < hdr + (uintptr_t)(intptr_t)table_word(tab, 0))
		return 0;
	uint64_t lo = 0, hi = count; /* entry lo starts at or below pc; entry hi (if any) above */
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (hdr + (uintptr_t)(intptr_t)table_word(tab, 2 * mid) <= pc)
			lo = mid;
		else
			hi = mid;
	}
	return hdr + (uintptr_t)(intptr_t)table_word(tab, 2 * lo + 1);
}

struct cie {
	uint64_t code_align;
	int64_t data_align;
	uint8_t fde_enc;
	bool has_z;  /* augmentation data present (and its length) */
	bool signal; /* "S": the frame of a signal handler's return */
	const uint8_t *insns, *insns_end;
};

struct fde {
	uintptr_t start, end; /* the code it covers */
	const uint8_t *insns, *insns_end;
};

/* Reads a CIE's or FDE's length at r, which then ends with the entry.
 * A zero length ends .eh_frame: no entry. */
static bool rd_entry_start(struct reader *r, bool *is64)
{
	uint64_t len = rd_fixed(r, 4);
	*is64 = len == 0xffffffffu;
	if (*is64)
		len = rd_fixed(r, 8);
	if (r->bad || !len || len > (uint64_t)(r->end - r->p))
		return false;
	r->end = r->p + len;
	return true;
}

/* The CIE's augmentation data: the FDE pointer encoding and the signal
 * flag; a personality routine and LSDA are skipped. */
static bool cie_augmentation(struct reader *r, const char *aug, struct cie *c)
{
	uint64_t n = rd_uleb(r);
	if (!rd_have(r, n))
		return false;
	const uint8_t *data_end = r->p + n;
	for (const char *a = aug + 1; *a; a++) {
		switch (*a) {
		case 'R':
			c->fde_enc = (uint8_t)rd_fixed(r, 1);
			break;
		case 'P': { /* the personality routine: skipped (aligned would need padding) */
			uint8_t enc = (uint8_t)rd_fixed(r, 1);
			if ((enc & 0x70) == PE_ALIGNED)
				return false;
			rd_ptr_value(r, enc);
			break;
		}
		case 'L':
			rd_fixed(r, 1);
			break;
		case 'S':
			c->signal = true;
			break;
		default: /* unknown: may change what the FDE means */
			return false;
		}
	}
	if (r->bad || r->p > data_end)
		return false;
	r->p = data_end;
	return true;
}

static bool cie_parse(const struct module *m, uintptr_t at, struct cie *c)
{
	struct reader r;
	bool is64;
	if (!reader_at(&r, m, at) || !rd_entry_start(&r, &is64))
		return false;
	uint64_t id = rd_fixed(&r, is64 ? 8 : 4);
	uint8_t version = (uint8_t)rd_fixed(&r, 1);
	if (r.bad || id != 0 || (version != 1 && version != 3))
		return false;
	const char *aug = (const char *)r.p;
	while (rd_have(&r, 1) && *r.p)
		r.p++;
	if (!rd_have(&r, 1))
		return false;
	r.p++;
	c->code_align = rd_uleb(&r);
	c->data_align = rd_sleb(&r);
	uint64_t ra = version == 1 ? rd_fixed(&r, 1) : rd_uleb(&r);
	if (r.bad || ra != ARCH_DWARF_RIP)
		return false;
	c->fde_enc = PE_ABSPTR;
	c->has_z = aug[0] == 'z';
	c->signal = false;
	if (c->has_z ? !cie_augmentation(&r, aug, c) : aug[0] != '\0')
		return false;
	c->insns = r.p;
	c->insns_end = r.end;
	return true;
}

static bool fde_parse(const struct module *m, uintptr_t at, struct cie *c, struct fde *f)
{
	struct reader r;
	bool is64;
	if (!reader_at(&r, m, at) || !rd_entry_start(&r, &is64))
		return false;
	uintptr_t id_at = (uintptr_t)r.p;
	uint64_t id = rd_fixed(&r, is64 ? 8 : 4); /* back to the CIE; 0 would make this a CIE */
	if (r.bad || !id || id > id_at || !cie_parse(m, id_at - id, c))
		return false;
	f->start = rd_ptr(&r, c->fde_enc, m, 0);
	f->end = f->start + rd_ptr_value(&r, c->fde_enc);
	if (c->has_z)
		rd_skip_block(&r);
	f->insns = r.p;
	f->insns_end = r.end;
	return !r.bad;
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

/* The only registers a rule needs: rbp, rsp and the return address. */
enum { COL_RBP, COL_RSP, COL_RA, NCOLS };

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
	const struct cie *cie;
	const struct module *m;
	uintptr_t loc, pc;
};

static int column(uint64_t reg)
{
	switch (reg) {
	case ARCH_DWARF_RBP:
		return COL_RBP;
	case ARCH_DWARF_RSP:
		return COL_RSP;
	case ARCH_DWARF_RIP:
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
static int64_t vm_scaled(struct cfa_vm *vm, struct reader *r, int64_t v)
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
static bool vm_step_extended(struct cfa_vm *vm, struct reader *r, uint8_t op)
{
	uint64_t reg;
	switch (op) {
	case CFA_NOP:
		return true;
	case CFA_GNU_ARGS_SIZE: /* only matters to landing pads */
		rd_uleb(r);
		return true;
	case CFA_SET_LOC: {
		uintptr_t loc = rd_ptr(r, vm->cie->fde_enc, vm->m, 0);
		if (loc < vm->loc)
			return false; /* rows go forwards */
		vm_move(vm, loc);
		return true;
	}
	case CFA_ADVANCE_LOC1:
		vm_advance(vm, rd_fixed(r, 1));
		return true;
	case CFA_ADVANCE_LOC2:
		vm_advance(vm, rd_fixed(r, 2));
		return true;
	case CFA_ADVANCE_LOC4:
		vm_advance(vm, rd_fixed(r, 4));
		return true;
	case CFA_OFFSET_EXTENDED:
		reg = rd_uleb(r);
		vm_set(vm, reg, HOW_OFFSET, vm_scaled(vm, r, (int64_t)rd_uleb(r)));
		return true;
	case CFA_OFFSET_EXTENDED_SF:
		reg = rd_uleb(r);
		vm_set(vm, reg, HOW_OFFSET, vm_scaled(vm, r, rd_sleb(r)));
		return true;
	case CFA_GNU_NEGATIVE_OFFSET_EXTENDED:
		reg = rd_uleb(r);
		vm_set(vm, reg, HOW_OFFSET, -vm_scaled(vm, r, (int64_t)rd_uleb(r)));
		return true;
	case CFA_VAL_OFFSET:
		reg = rd_uleb(r);
		vm_set(vm, reg, HOW_VAL_OFFSET, vm_scaled(vm, r, (int64_t)rd_uleb(r)));
		return true;
	case CFA_VAL_OFFSET_SF:
		reg = rd_uleb(r);
		vm_set(vm, reg, HOW_VAL_OFFSET, vm_scaled(vm, r, rd_sleb(r)));
		return true;
	case CFA_RESTORE_EXTENDED:
		return vm_restore(vm, rd_uleb(r));
	case CFA_UNDEFINED:
		vm_set(vm, rd_uleb(r), HOW_UNDEF, 0);
		return true;
	case CFA_SAME_VALUE:
		vm_set(vm, rd_uleb(r), HOW_SAME, 0);
		return true;
	case CFA_REGISTER:
		reg = rd_uleb(r);
		rd_uleb(r);
		vm_set(vm, reg, HOW_OTHER, 0);
		return true;
	case CFA_EXPRESSION:
	case CFA_VAL_EXPRESSION:
		reg = rd_uleb(r);
		rd_skip_block(r);
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
		reg = rd_uleb(r);
		vm_def_cfa(vm, reg, (int64_t)rd_uleb(r));
		return true;
	case CFA_DEF_CFA_SF:
		reg = rd_uleb(r);
		vm_def_cfa(vm, reg, vm_scaled(vm, r, rd_sleb(r)));
		return true;
	case CFA_DEF_CFA_REGISTER:
		vm->row.cfa_reg = rd_uleb(r);
		return !vm->row.cfa_expr; /* only valid after a register + offset CFA */
	case CFA_DEF_CFA_OFFSET:
		vm->row.cfa_off = (int64_t)rd_uleb(r);
		return !vm->row.cfa_expr;
	case CFA_DEF_CFA_OFFSET_SF:
		vm->row.cfa_off = vm_scaled(vm, r, rd_sleb(r));
		return !vm->row.cfa_expr;
	case CFA_DEF_CFA_EXPRESSION:
		rd_skip_block(r);
		vm->row.cfa_expr = true;
		return true;
	}
	return false;
}

/* Runs instructions [p, end) until they end or the location passes pc.
 * False when one is malformed or unknown. */
static bool vm_run(struct cfa_vm *vm, const uint8_t *p, const uint8_t *end)
{
	struct reader r = {p, end, false};
	while (!vm->done && r.p < r.end) {
		uint8_t op = (uint8_t)rd_fixed(&r, 1);
		switch (op & 0xc0) {
		case CFA_ADVANCE_LOC:
			vm_advance(vm, op & 0x3f);
			break;
		case CFA_OFFSET:
			vm_set(vm, op & 0x3f, HOW_OFFSET, vm_scaled(vm, &r, (int64_t)rd_uleb(&r)));
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
	const struct reg_rule *ra = &row->col[COL_RA], *bp = &row->col[COL_RBP], *sp = &row->col[COL_RSP];
	if (ra->how == HOW_UNDEF) {
		ru.kind = RULE_END;
		return ru;
	}
	if (row->cfa_expr || (row->cfa_reg != ARCH_DWARF_RSP && row->cfa_reg != ARCH_DWARF_RBP) ||
	    row->cfa_off < INT32_MIN || row->cfa_off > INT32_MAX)
		return ru;
	if (ra->how != HOW_OFFSET || ra->off != -8)
		return ru;
	if (sp->how != HOW_SAME && !(sp->how == HOW_VAL_OFFSET && sp->off == 0))
		return ru;
	if (bp->how == HOW_OFFSET && bp->off != 0 && bp->off >= INT16_MIN && bp->off <= INT16_MAX)
		ru.rbp_off = (int16_t)bp->off;
	else if (bp->how != HOW_SAME)
		return ru;
	ru.cfa_off = (int32_t)row->cfa_off;
	ru.kind = row->cfa_reg == ARCH_DWARF_RBP ? RULE_RBP : RULE_RSP;
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
	struct cie c;
	struct fde f;
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
 * stack (measured: tests/e2e/test_agent_stacks.sh). With less room left
 * below the frame that unwinds, the stack is cut short instead. */
#define MISS_ROOM 6144

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
#define UC_REG(uc, r) ((uc) + offsetof(ucontext_t, uc_mcontext.gregs) + (uintptr_t)(r) * sizeof(greg_t))

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
		case RULE_RSP:
			break;
		case RULE_RBP:
			base = bp;
			break;
		case RULE_END:
			return n;
		case RULE_SIGNAL: {
			/* sp is the ucontext the kernel saved; the interrupted frame
			 * goes on at its exact pc, maybe on the other stack */
			if (UC_REG(sp, REG_RIP) + sizeof(greg_t) > hi)
				goto out_bounds;
			ra = stack_word(UC_REG(sp, REG_RIP));
			uintptr_t nsp = stack_word(UC_REG(sp, REG_RSP));
			bp = stack_word(UC_REG(sp, REG_RBP));
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
		ra = stack_word(cfa - 8);
		if (step->rule.rbp_off) {
			uintptr_t at = cfa + (uintptr_t)(intptr_t)step->rule.rbp_off;
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
	/* this frame lies on the same stack as the hook's caller's */
	uintptr_t room = here > lo && here - lo < hi - lo ? here - lo : 0;
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
	uintptr_t me = thread_pointer();
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
