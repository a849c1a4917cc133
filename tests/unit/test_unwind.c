/* test_unwind.c - unwinds this test program's own captured stacks: a chain
 * of functions with different frame shapes (no frame pointer, frame
 * pointer, variable-length array, realigned stack) captured in the main
 * thread and in a pthread, then symbolized against our own symbol table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <dwarf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "unwind/cfi.h"
#include "unwind/unwind.h"

/* gcc can pin the frame shapes per function; clang keeps its defaults. */
#ifdef __clang__
#define NOCLONE
#define WITH_FRAME_POINTER
#else
#define NOCLONE            noclone
#define WITH_FRAME_POINTER optimize("no-omit-frame-pointer")
#endif

#define MAX_FRAMES 128
#define STACK_COPY (64 * 1024)

/* ---- /proc/self/maps as a find callback ---- */

struct map_ent {
	uint64_t start, end, pgoff;
	char path[256];
};

struct maps {
	struct map_ent v[512];
	int n;
	int calls;
};

static void maps_load(struct maps *m)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	assert_non_null(f);
	m->n = 0;
	m->calls = 0;
	while (fgets(line, sizeof(line), f) && m->n < 512) {
		struct map_ent *e = &m->v[m->n];
		char perms[8];
		int pos = 0;
		unsigned long long s, en, off;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &s, &en, perms, &off, &pos) < 4)
			continue;
		e->start = s;
		e->end = en;
		e->pgoff = off;
		const char *p = line + pos;
		while (*p == ' ')
			p++;
		snprintf(e->path, sizeof(e->path), "%s", p);
		e->path[strcspn(e->path, "\n")] = '\0';
		m->n++;
	}
	fclose(f);
}

static int maps_find(void *ctx, uint64_t pc, struct unwind_module *out)
{
	struct maps *m = ctx;

	m->calls++;
	for (int i = 0; i < m->n; i++) {
		if (pc >= m->v[i].start && pc < m->v[i].end) {
			out->path = m->v[i].path[0] ? m->v[i].path : NULL;
			out->start = m->v[i].start;
			out->end = m->v[i].end;
			out->pgoff = m->v[i].pgoff;
			return 0;
		}
	}
	return -1;
}

/* ---- symbolizing our own executable ---- */

struct syms {
	Elf *elf;
	int fd;
	uint64_t bias;
};

static void syms_open(struct syms *s)
{
	GElf_Ehdr eh;
	Dl_info info;

	elf_version(EV_CURRENT);
	s->fd = open("/proc/self/exe", O_RDONLY);
	assert_true(s->fd >= 0);
	s->elf = elf_begin(s->fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(s->elf);
	assert_non_null(gelf_getehdr(s->elf, &eh));
	assert_true(dladdr((void *)syms_open, &info) != 0);
	s->bias = eh.e_type == ET_DYN ? (uint64_t)(uintptr_t)info.dli_fbase : 0;
}

static void syms_close(struct syms *s)
{
	elf_end(s->elf);
	close(s->fd);
}

/* Name of the function in our executable containing addr, or "". */
static const char *syms_name(struct syms *s, uint64_t addr)
{
	Elf_Scn *scn = NULL;
	uint64_t v = addr - s->bias;

	while ((scn = elf_nextscn(s->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
				continue;
			if (v >= sym.st_value && v < sym.st_value + sym.st_size)
				return elf_strptr(s->elf, sh.sh_link, sym.st_name);
		}
	}
	return "";
}

static bool in_libc(uint64_t addr)
{
	Dl_info info;
	return dladdr((void *)(uintptr_t)addr, &info) && info.dli_fname && strstr(info.dli_fname, "libc.so");
}

/* ---- capturing our own stack ---- */

struct capture {
	uint64_t regs[ARCH_DWARF_NREGS];
	uint64_t valid;
	uint64_t limit; /* end of this thread's stack */
	uint64_t *stack;
	size_t size;
	int tag;
};

static uint64_t stack_end(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	assert_int_equal(pthread_getattr_np(pthread_self(), &attr), 0);
	assert_int_equal(pthread_attr_getstack(&attr, &addr, &size), 0);
	pthread_attr_destroy(&attr);
	return (uint64_t)(uintptr_t)addr + size;
}

/* Copies live stack words; not memcpy, which sanitizers would flag for
 * crossing other frames' redzones. */
__attribute__((noinline, no_sanitize_address)) static void copy_stack(uint64_t *dst, uint64_t src, size_t size)
{
	const volatile uint64_t *p = (const volatile uint64_t *)(uintptr_t)src;
	for (size_t i = 0; i < size / 8; i++)
		dst[i] = p[i];
}

__attribute__((noinline, NOCLONE)) static void capture(struct capture *cap)
{
	uint64_t *r = cap->regs;

	/* The captured ip is label 1, where every captured register still
	 * holds the value the CFI at that address describes. */
#if defined(__x86_64__)
	__asm__ volatile("movq %%rbx, 24(%0)\n\t"
	                 "movq %%rbp, 48(%0)\n\t"
	                 "movq %%rsp, 56(%0)\n\t"
	                 "movq %%r12, 96(%0)\n\t"
	                 "movq %%r13, 104(%0)\n\t"
	                 "movq %%r14, 112(%0)\n\t"
	                 "movq %%r15, 120(%0)\n\t"
	                 "leaq 1f(%%rip), %%rax\n\t"
	                 "movq %%rax, 128(%0)\n\t"
	                 "1:\n\t"
	                 :
	                 : "r"(r)
	                 : "rax", "memory");
	cap->valid = (1u << ARCH_DWARF_RBX) | (1u << ARCH_DWARF_RBP) | (1ULL << ARCH_DWARF_SP) | (0xfu << 12) |
	             (1ULL << ARCH_DWARF_IP);
#elif defined(__aarch64__)
	/* x19-x28 callee-saved, x29 fp, x30 lr; sp at 31, pc at 32 */
	__asm__ volatile("stp x19, x20, [%0, #152]\n\t"
	                 "stp x21, x22, [%0, #168]\n\t"
	                 "stp x23, x24, [%0, #184]\n\t"
	                 "stp x25, x26, [%0, #200]\n\t"
	                 "stp x27, x28, [%0, #216]\n\t"
	                 "stp x29, x30, [%0, #232]\n\t"
	                 "mov x9, sp\n\t"
	                 "str x9, [%0, #248]\n\t"
	                 "adr x9, 1f\n\t"
	                 "str x9, [%0, #256]\n\t"
	                 "1:\n\t"
	                 :
	                 : "r"(r)
	                 : "x9", "memory");
	cap->valid = (0xfffULL << 19) | (1ULL << ARCH_DWARF_SP) | (1ULL << ARCH_DWARF_IP);
#endif
	size_t avail = cap->limit - r[ARCH_DWARF_SP];
	cap->size = avail < STACK_COPY ? avail & ~(size_t)7 : STACK_COPY;
	copy_stack(cap->stack, r[ARCH_DWARF_SP], cap->size);
}

/* With a frame pointer: CFA = rbp + 16. */
__attribute__((noinline, NOCLONE, WITH_FRAME_POINTER)) static int func_c(struct capture *cap)
{
	capture(cap);
	__asm__ volatile("" ::: "memory");
	return cap->tag + 1;
}

/* A variable-length array: rbp-based frame chosen by the compiler. */
__attribute__((noinline, NOCLONE)) static int func_b(struct capture *cap, int n)
{
	volatile char buf[n];
	buf[n - 1] = (char)n;
	int r = func_c(cap);
	return r + buf[n - 1];
}

/* An over-aligned local: the stack is realigned, CFA becomes an expression. */
__attribute__((noinline, NOCLONE)) static int func_a(struct capture *cap, int n)
{
	volatile char al[64] __attribute__((aligned(64)));
	al[0] = (char)n;
	int r = func_b(cap, n);
	return r + al[0];
}

static void input_from(struct unwind_input *in, const struct capture *cap)
{
	memset(in, 0, sizeof(*in));
	memcpy(in->regs, cap->regs, sizeof(in->regs));
	in->regs_valid = cap->valid;
	in->stack = (const uint8_t *)cap->stack;
	in->stack_size = cap->size;
}

static void capture_chain(struct capture *cap)
{
	memset(cap, 0, sizeof(*cap));
	cap->stack = malloc(STACK_COPY);
	assert_non_null(cap->stack);
	cap->limit = stack_end();
	assert_true(func_a(cap, 37) > 0);
}

/* Checks pcs starts capture, c, b, a, `caller`, `caller2`. */
static void check_prefix(struct syms *s, const uint64_t *pcs, int n, const char *caller, const char *caller2)
{
	const char *want[] = {"capture", "func_c", "func_b", "func_a", caller, caller2};
	int k = caller2 ? 6 : 5;

	assert_true(n >= k);
	for (int i = 0; i < k; i++) {
		/* Return addresses point after the call; pc - 1 is inside it. */
		const char *got = syms_name(s, i == 0 ? pcs[i] : pcs[i] - 1);
		if (strcmp(got, want[i]) != 0)
			fail_msg("frame %d: want %s, got '%s' (%#lx)", i, want[i], got, (unsigned long)pcs[i]);
	}
}

static void test_main_thread(void **state)
{
	(void)state;
	struct capture cap;
	struct unwind_input in;
	struct maps *maps = malloc(sizeof(*maps));
	struct syms s;
	uint64_t pcs[MAX_FRAMES];
	enum unwind_status st;
	int main_at = -1;

	capture_chain(&cap);
	maps_load(maps);
	syms_open(&s);
	struct unwinder *u = unwinder_new();
	input_from(&in, &cap);
	int n = unwinder_unwind(u, &in, maps_find, maps, pcs, MAX_FRAMES, &st);
	assert_int_equal(st, UNWIND_COMPLETE);
	check_prefix(&s, pcs, n, "capture_chain", "test_main_thread");
	for (int i = 6; i < n; i++)
		if (strcmp(syms_name(&s, pcs[i] - 1), "main") == 0)
			main_at = i;
	assert_true(main_at > 6);                                      /* cmocka's runner lies between */
	assert_true(main_at + 1 < n && in_libc(pcs[main_at + 1] - 1)); /* __libc_start_call_main */
	assert_string_equal(syms_name(&s, pcs[n - 1] - 1), "_start");

	/* It says how much of the copy it used: that much does, and on
	 * x86-64 (the return address just below each cfa) a word less cuts
	 * the outermost frame; aarch64 saves its frame record at the frame's
	 * bottom, so there the reach is an upper bound. */
	uint64_t reach = unwinder_last_reach(u), copied = in.stack_size;
	assert_true(reach > 0 && reach <= copied);
	uint64_t pcs3[MAX_FRAMES];
	in.stack_size = reach;
	assert_int_equal(unwinder_unwind(u, &in, maps_find, maps, pcs3, MAX_FRAMES, &st), n);
	assert_int_equal(st, UNWIND_COMPLETE);
	assert_int_equal(unwinder_last_reach(u), reach);
#if defined(__x86_64__)
	in.stack_size = reach - 8;
	unwinder_unwind(u, &in, maps_find, maps, pcs3, MAX_FRAMES, &st);
	assert_int_equal(st, UNWIND_TRUNCATED);
#endif
	in.stack_size = copied;

	/* The second unwind of the same stack is answered from the cache. */
	struct unwind_stats a, b;
	uint64_t pcs2[MAX_FRAMES];
	unwinder_get_stats(u, &a);
	assert_true(a.cfi_lookups >= (uint64_t)n - 1);
	assert_true(a.modules >= 2);
	int n2 = unwinder_unwind(u, &in, maps_find, maps, pcs2, MAX_FRAMES, &st);
	unwinder_get_stats(u, &b);
	assert_int_equal(n2, n);
	assert_memory_equal(pcs, pcs2, n * sizeof(*pcs));
	assert_int_equal(b.cfi_lookups, a.cfi_lookups);
	assert_int_equal(b.cache_hits - a.cache_hits, (uint64_t)n); /* every frame, the outermost too */
	assert_int_equal(b.modules, a.modules);

	/* A depth limit stops early with a prefix. */
	n2 = unwinder_unwind(u, &in, maps_find, maps, pcs2, 3, &st);
	assert_int_equal(n2, 3);
	assert_int_equal(st, UNWIND_MAX_DEPTH);
	assert_memory_equal(pcs, pcs2, 3 * sizeof(*pcs));

	/* After a flush with no file changed, the cache still answers. */
	unwinder_flush(u, NULL);
	n2 = unwinder_unwind(u, &in, maps_find, maps, pcs2, MAX_FRAMES, &st);
	assert_int_equal(n2, n);
	assert_int_equal(st, UNWIND_COMPLETE);

	unwinder_free(u);
	syms_close(&s);
	free(maps);
	free(cap.stack);
}

/* Cutting the copy shorter never gives a wrong frame: only a prefix of
 * the full unwind and UNWIND_TRUNCATED, until the copy is long enough. */
static void test_truncated(void **state)
{
	(void)state;
	struct capture cap;
	struct unwind_input in;
	struct maps *maps = malloc(sizeof(*maps));
	uint64_t full[MAX_FRAMES], pcs[MAX_FRAMES];
	enum unwind_status st;
	int best = 0;

	capture_chain(&cap);
	maps_load(maps);
	struct unwinder *u = unwinder_new();
	input_from(&in, &cap);
	int nfull = unwinder_unwind(u, &in, maps_find, maps, full, MAX_FRAMES, &st);
	assert_int_equal(st, UNWIND_COMPLETE);
	for (uint64_t size = 0; size <= cap.size; size += 8) {
		in.stack_size = size;
		int n = unwinder_unwind(u, &in, maps_find, maps, pcs, MAX_FRAMES, &st);
		assert_true(n >= 1 && n <= nfull);
		assert_memory_equal(pcs, full, n * sizeof(*pcs));
		if (st == UNWIND_COMPLETE) {
			assert_int_equal(n, nfull);
			break;
		}
		assert_int_equal(st, UNWIND_TRUNCATED);
		assert_true(n >= best);
		best = n;
	}
	assert_true(best >= 5); /* some cut kept c, b, a and the test */
	in.stack_size = 64;
	unwinder_unwind(u, &in, maps_find, maps, pcs, MAX_FRAMES, &st);
	assert_int_equal(st, UNWIND_TRUNCATED);

	unwinder_free(u);
	free(maps);
	free(cap.stack);
}

static void *thread_main(void *arg)
{
	struct capture *cap = arg;
	cap->limit = stack_end();
	if (func_a(cap, 11) <= 0)
		return NULL;
	return cap;
}

static void test_thread(void **state)
{
	(void)state;
	struct capture cap;
	struct unwind_input in;
	struct maps *maps = malloc(sizeof(*maps));
	struct syms s;
	uint64_t pcs[MAX_FRAMES];
	enum unwind_status st;
	pthread_t t;
	void *ret;

	memset(&cap, 0, sizeof(cap));
	cap.stack = malloc(STACK_COPY);
	assert_int_equal(pthread_create(&t, NULL, thread_main, &cap), 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_ptr_equal(ret, &cap);
	/* The thread's code is all still mapped; its stack need not be. */
	maps_load(maps);
	syms_open(&s);
	struct unwinder *u = unwinder_new();
	input_from(&in, &cap);
	int n = unwinder_unwind(u, &in, maps_find, maps, pcs, MAX_FRAMES, &st);
	assert_int_equal(st, UNWIND_COMPLETE);
	check_prefix(&s, pcs, n, "thread_main", NULL);
	/* start_thread, then clone3, which marks the outermost frame. */
	assert_int_equal(n, 7);
	assert_true(in_libc(pcs[5] - 1));
	assert_true(in_libc(pcs[6] - 1));

	unwinder_free(u);
	syms_close(&s);
	free(maps);
	free(cap.stack);
}

/* No mapping for the pc, and a mapping without a file. */
static int find_none(void *ctx, uint64_t pc, struct unwind_module *out)
{
	(void)ctx;
	(void)pc;
	(void)out;
	return -1;
}

static int find_anon(void *ctx, uint64_t pc, struct unwind_module *out)
{
	(void)ctx;
	out->path = NULL;
	out->start = pc & ~0xfffull;
	out->end = out->start + 0x1000;
	out->pgoff = 0;
	return 0;
}

static void test_no_module(void **state)
{
	(void)state;
	struct unwind_input in;
	uint64_t pcs[4], stack[4] = {0};
	enum unwind_status st;
	struct unwinder *u = unwinder_new();

	memset(&in, 0, sizeof(in));
	in.regs[ARCH_DWARF_IP] = 0x1234;
	in.regs[ARCH_DWARF_SP] = 0x7000;
	in.regs_valid = (1ULL << ARCH_DWARF_IP) | (1ULL << ARCH_DWARF_SP);
	in.stack = (const uint8_t *)stack;
	in.stack_size = sizeof(stack);
	assert_int_equal(unwinder_unwind(u, &in, find_none, NULL, pcs, 4, &st), 1);
	assert_int_equal(st, UNWIND_NO_MODULE);
	assert_int_equal(pcs[0], 0x1234);
	assert_int_equal(unwinder_unwind(u, &in, find_anon, NULL, pcs, 4, &st), 1);
	assert_int_equal(st, UNWIND_NO_CFI);
	assert_int_equal(unwinder_unwind(u, &in, find_anon, NULL, pcs, 0, &st), 0);
	assert_int_equal(st, UNWIND_MAX_DEPTH);
	in.regs_valid = 0;
	assert_int_equal(unwinder_unwind(u, &in, find_anon, NULL, pcs, 4, &st), 0);
	assert_int_equal(st, UNWIND_BAD_FRAME);
	unwinder_free(u);
}

/* x86-64 only: ld's .plt CFI, the vdso's image and the fuzz seeds are x86-64
 * code. The aarch64 build (make cross-aarch64) runs the tests above. */
#if defined(__x86_64__)
/* The expression ld puts in .eh_frame for .plt entries: CFA is rsp + 8,
 * or rsp + 16 once the entry has pushed its relocation index. */
static void test_plt_expression(void **state)
{
	(void)state;
	Dwarf_Op ops[] = {
	    {.atom = DW_OP_breg7, .number = 8},
	    {.atom = DW_OP_breg16, .number = 0},
	    {.atom = DW_OP_lit15},
	    {.atom = DW_OP_and},
	    {.atom = DW_OP_lit11},
	    {.atom = DW_OP_ge},
	    {.atom = DW_OP_lit3},
	    {.atom = DW_OP_shl},
	    {.atom = DW_OP_plus},
	};
	struct cfi_regs regs = {.valid = (1ULL << ARCH_DWARF_SP) | (1ULL << ARCH_DWARF_IP)};
	struct cfi_stack st = {0};
	uint64_t v;
	bool is_value;

	regs.r[ARCH_DWARF_SP] = 0x1000;
	regs.r[ARCH_DWARF_IP] = 0x5020 + 6; /* before the push */
	assert_int_equal(cfi_eval(ops, 9, &regs, false, 0, &st, &v, &is_value), 0);
	assert_int_equal(v, 0x1008);
	regs.r[ARCH_DWARF_IP] = 0x5020 + 11; /* after it */
	assert_int_equal(cfi_eval(ops, 9, &regs, false, 0, &st, &v, &is_value), 0);
	assert_int_equal(v, 0x1010);
	assert_false(is_value);

	/* Registers not captured, a stack underflow, and reads outside the copy. */
	regs.valid = 1u << ARCH_DWARF_SP;
	assert_int_equal(cfi_eval(ops, 9, &regs, false, 0, &st, &v, &is_value), UNWIND_BAD_FRAME);
	assert_int_equal(cfi_eval(&ops[3], 1, &regs, false, 0, &st, &v, &is_value), UNWIND_BAD_FRAME);
	uint64_t words[2] = {0x1122, 0x3344};
	st.bytes = (const uint8_t *)words;
	st.addr = 0x1000;
	st.size = sizeof(words);
	Dwarf_Op deref[] = {{.atom = DW_OP_breg7, .number = 8}, {.atom = DW_OP_deref}};
	assert_int_equal(cfi_eval(deref, 2, &regs, false, 0, &st, &v, &is_value), 0);
	assert_int_equal(v, 0x3344);
	deref[0].number = 16;
	assert_int_equal(cfi_eval(deref, 2, &regs, false, 0, &st, &v, &is_value), UNWIND_TRUNCATED);
	deref[0].number = (uint64_t)-8;
	assert_int_equal(cfi_eval(deref, 2, &regs, false, 0, &st, &v, &is_value), UNWIND_BAD_FRAME);
	Dwarf_Op cfa_val[] = {
	    {.atom = DW_OP_call_frame_cfa}, {.atom = DW_OP_plus_uconst, .number = 16}, {.atom = DW_OP_stack_value}};
	assert_int_equal(cfi_eval(cfa_val, 3, &regs, true, 0x2000, &st, &v, &is_value), 0);
	assert_int_equal(v, 0x2010);
	assert_true(is_value);
	assert_int_equal(cfi_eval(cfa_val, 3, &regs, false, 0x2000, &st, &v, &is_value), UNWIND_BAD_FRAME);
}

/* A real .plt entry of this executable, through its .eh_frame FDE. */
static void test_plt_entry(void **state)
{
	(void)state;
	struct syms s;
	struct maps *maps = malloc(sizeof(*maps));
	Elf_Scn *scn = NULL;
	uint64_t plt = 0, plt_size = 0;
	size_t shstrndx;

	syms_open(&s);
	assert_int_equal(elf_getshdrstrndx(s.elf, &shstrndx), 0);
	while ((scn = elf_nextscn(s.elf, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && strcmp(elf_strptr(s.elf, shstrndx, sh.sh_name), ".plt") == 0) {
			plt = sh.sh_addr + s.bias;
			plt_size = sh.sh_size;
		}
	}
	if (plt_size < 32) {
		syms_close(&s);
		free(maps);
		skip();
	}
	maps_load(maps);
	struct unwinder *u = unwinder_new();
	uint64_t stack[4] = {0x1111, 0x2222, 0, 0}, pcs[4];
	struct unwind_input in = {0};
	enum unwind_status st;
	in.regs[ARCH_DWARF_SP] = 0x7ff000;
	in.regs_valid = (1ULL << ARCH_DWARF_IP) | (1ULL << ARCH_DWARF_SP);
	in.stack = (const uint8_t *)stack;
	in.stack_size = sizeof(stack);
	/* Entry 1, before its push: the return address is at rsp. */
	in.regs[ARCH_DWARF_IP] = plt + 16;
	assert_int_equal(unwinder_unwind(u, &in, maps_find, maps, pcs, 2, &st), 2);
	assert_int_equal(st, UNWIND_NO_MODULE); /* the fake return address maps nowhere */
	assert_int_equal(pcs[1], 0x1111);
	/* After the push (offset 11): it is one word further up. */
	in.regs[ARCH_DWARF_IP] = plt + 16 + 11;
	assert_int_equal(unwinder_unwind(u, &in, maps_find, maps, pcs, 2, &st), 2);
	assert_int_equal(pcs[1], 0x2222);
	unwinder_free(u);
	syms_close(&s);
	free(maps);
}

/* The vdso is read from our own process's copy. */
static void test_vdso(void **state)
{
	(void)state;
	uint64_t base = getauxval(AT_SYSINFO_EHDR), fn = 0, pcs[4];
	struct maps *maps = malloc(sizeof(*maps));
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	enum unwind_status st;

	if (!base) {
		free(maps);
		skip();
	}
	elf_version(EV_CURRENT);
	/* Only headers and tables are read; a page bound is enough for libelf here. */
	Elf *elf = elf_memory((char *)(uintptr_t)base, 8192);
	assert_non_null(elf);
	assert_non_null(gelf_getehdr(elf, &eh));
	uint64_t load_vaddr = 0;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
			load_vaddr = ph.p_vaddr - ph.p_offset;
			break;
		}
	}
	while ((scn = elf_nextscn(elf, scn)) && !fn) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			if (gelf_getsym(d, (int)i, &sym) && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
			    strcmp(elf_strptr(elf, sh.sh_link, sym.st_name), "__vdso_clock_gettime") == 0)
				fn = base + sym.st_value - load_vaddr;
		}
	}
	elf_end(elf);
	assert_true(fn != 0);

	maps_load(maps);
	struct unwinder *u = unwinder_new();
	uint64_t stack[2] = {0xabcdef, 0};
	struct unwind_input in = {0};
	in.regs[ARCH_DWARF_IP] = fn; /* at entry: return address at rsp */
	in.regs[ARCH_DWARF_SP] = 0x7ff000;
	in.regs_valid = (1ULL << ARCH_DWARF_IP) | (1ULL << ARCH_DWARF_SP);
	in.stack = (const uint8_t *)stack;
	in.stack_size = sizeof(stack);
	assert_int_equal(unwinder_unwind(u, &in, maps_find, maps, pcs, 2, &st), 2);
	assert_int_equal(st, UNWIND_NO_MODULE);
	assert_int_equal(pcs[1], 0xabcdef);
	unwinder_free(u);
	free(maps);
}

#endif

/* Garbage images are refused, and the module simply has no CFI. */
static void test_memory_module(void **state)
{
	(void)state;
	struct unwinder *u = unwinder_new();
	char junk[64];
	uint64_t pcs[4];
	enum unwind_status st;
	struct unwind_input in = {0};

	memset(junk, 0x5a, sizeof(junk));
	assert_true(unwinder_add_memory_module(u, "junk", junk, sizeof(junk)) < 0);
	in.regs[ARCH_DWARF_IP] = 0x1000;
	in.regs_valid = 1ULL << ARCH_DWARF_IP;
	assert_int_equal(unwinder_unwind(u, &in, find_anon, NULL, pcs, 4, &st), 1);
	assert_int_equal(st, UNWIND_NO_CFI);
	unwinder_free(u);
}

#if defined(__x86_64__)
/* The fuzz seeds are small shared objects (one with only .eh_frame, one with
 * only .debug_frame) with ip at a function entry and the return address
 * 0x400010 on top of the stack, as the fuzz target lays them out. */
static int find_seed(void *ctx, uint64_t pc, struct unwind_module *out)
{
	(void)ctx;
	if (pc < 0x400000 || pc >= 0x1400000)
		return -1;
	out->path = "seed";
	out->start = 0x400000;
	out->end = 0x1400000;
	out->pgoff = 0;
	return 0;
}

static void unwind_seed(const char *name, uint64_t gap_ip)
{
	const char *dir = getenv("KILN_TEST_DATA");
	char path[1024];
	static uint8_t buf[32768];
	uint32_t len;
	uint64_t pcs[8];
	enum unwind_status st;
	struct unwind_input in = {0};

	if (!dir)
		skip();
	snprintf(path, sizeof(path), "%s/fuzz/corpus/fuzz_unwind_cfi/%s", dir, name);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t size = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	memcpy(&len, buf, 4);
	assert_true(4 + len + 17 * 8 + 4 < size);
	struct unwinder *u = unwinder_new();
	assert_int_equal(unwinder_add_memory_module(u, "seed", buf + 4, len), 0);
	memcpy(in.regs, buf + 4 + len, sizeof(in.regs));
	in.regs[ARCH_DWARF_IP] += 0x400000;
	in.regs[ARCH_DWARF_SP] = 0x7ff00000;
	in.regs_valid = 0xffff | (1ULL << ARCH_DWARF_IP);
	in.stack = buf + 4 + len + 17 * 8 + 4;
	in.stack_size = size - (4 + len + 17 * 8 + 4);
	int n = unwinder_unwind(u, &in, find_seed, NULL, pcs, 2, &st);
	assert_int_equal(n, 2);
	assert_int_equal(pcs[1], 0x400010);
	/* Padding between functions has no FDE. */
	in.regs[ARCH_DWARF_IP] = 0x400000 + gap_ip;
	n = unwinder_unwind(u, &in, find_seed, NULL, pcs, 2, &st);
	assert_int_equal(n, 1);
	assert_int_equal(st, UNWIND_NO_CFI);
	unwinder_free(u);
}

/* ---- a module rebuilt at the same path ---- */

static const char *rebuilt_path;

static int find_rebuilt(void *ctx, uint64_t pc, struct unwind_module *out)
{
	(void)ctx;
	if (pc < 0x400000 || pc >= 0x1400000)
		return -1;
	out->path = rebuilt_path;
	out->start = 0x400000;
	out->end = 0x1400000;
	out->pgoff = 0;
	return 0;
}

/* Writes the ELF image of fuzz seed `name` to path, through a rename as a
 * linker does, so the old file stays whole for whoever has it open. */
static void seed_to_file(const char *name, const char *path)
{
	const char *dir = getenv("KILN_TEST_DATA");
	char src[1024], tmp[1100];
	static uint8_t buf[32768];
	uint32_t len;

	snprintf(src, sizeof(src), "%s/fuzz/corpus/fuzz_unwind_cfi/%s", dir, name);
	FILE *f = fopen(src, "rb");
	assert_non_null(f);
	size_t size = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	memcpy(&len, buf, 4);
	assert_true(4 + (size_t)len <= size);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf + 4, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
}

/* File A at a path, unwound; the path replaced by B with other CFI and
 * mapped again (the recorder flushes that path on the new mapping): the
 * unwinder must use B's rules, not A's cached ones. At 0x2b8 A's rules end
 * the unwind at the sampled frame; B's say CFA = rsp + 32, return address
 * at CFA - 8. */
static void test_rebuilt_module(void **state)
{
	(void)state;
	const char *dir = getenv("KILN_TEST_DATA"), *tmpdir = getenv("KILN_TEST_TMP");
	char path[1024];
	uint64_t pcs[4], stack[4] = {0, 0, 0, 0x400123};
	enum unwind_status st;
	struct unwind_input in = {0};

	if (!dir)
		skip();
	snprintf(path, sizeof(path), "%s/test_unwind.%d.rebuilt", tmpdir && *tmpdir ? tmpdir : "/tmp", (int)getpid());
	rebuilt_path = path;
	seed_to_file("eh_frame_f", path);
	struct unwinder *u = unwinder_new();
	in.regs[ARCH_DWARF_IP] = 0x4002b8;
	in.regs[ARCH_DWARF_SP] = 0x7ff00000;
	in.regs_valid = (1ULL << ARCH_DWARF_IP) | (1ULL << ARCH_DWARF_SP);
	in.stack = (const uint8_t *)stack;
	in.stack_size = sizeof(stack);
	assert_int_equal(unwinder_unwind(u, &in, find_rebuilt, NULL, pcs, 4, &st), 1);

	seed_to_file("debug_frame", path);
	/* a mapping of another file leaves this one's rules alone */
	unwinder_flush(u, "/nonexistent/other");
	assert_int_equal(unwinder_unwind(u, &in, find_rebuilt, NULL, pcs, 4, &st), 1);
	unwinder_flush(u, path); /* the new mmap record */
	assert_int_equal(unwinder_unwind(u, &in, find_rebuilt, NULL, pcs, 2, &st), 2);
	assert_int_equal(pcs[1], 0x400123);
	unwinder_free(u);
	unlink(path);
}

static void test_seed_eh_frame(void **state)
{
	(void)state;
	unwind_seed("eh_frame_f", 0x2e8);
}

static void test_seed_debug_frame(void **state)
{
	(void)state;
	unwind_seed("debug_frame", 0x2a5);
}

#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_main_thread),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_thread),
		cmocka_unit_test(test_no_module),
		cmocka_unit_test(test_memory_module),
#if defined(__x86_64__)
		cmocka_unit_test(test_plt_expression),
		cmocka_unit_test(test_plt_entry),
		cmocka_unit_test(test_vdso),
		cmocka_unit_test(test_seed_eh_frame),
		cmocka_unit_test(test_seed_debug_frame),
		cmocka_unit_test(test_rebuilt_module),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
