/* agent_rustshim.c - the Rust allocator shim diverted to the agent, so a
 * #[global_allocator] that is not System (jemalloc, mimalloc, one on
 * mmap) is seen like malloc (agent_rustshim.h).
 *
 * At start-up, in the constructor while the process is single-threaded,
 * the main executable's symbol table (read from /proc/self/exe, mapped,
 * nothing allocated) names the shim's four functions. When the global
 * allocator is System (the shim jumps to __rdl_alloc and friends, which
 * call malloc) the malloc hooks already see everything and nothing is
 * changed. Otherwise the shim and the global allocator's own GlobalAlloc
 * methods are diverted: rustc inlines the shim into the crate that
 * defines #[global_allocator] (and generic code instantiated there), so
 * those callers reach the allocator's methods without it; std's own code
 * calls the shim. Each function's first instructions are decoded
 * (src/arch/: only forms it knows), copied with their pc-relative
 * operands fixed into a page of the agent's near the executable, and
 * replaced by a jump to a stub that calls a hook here with the function's
 * descriptor (where its arguments are, its copy); the hook calls the
 * allocator through that copy. All or none:
 * a half-diverted allocator would record allocations without their
 * frees. The code pages are writable only around the write, never
 * writable and executable at once. A method inlined into every caller
 * has no function left to divert: those allocations are not seen, and
 * the record says so (methods 0) for kiln to warn.
 *
 * The hooks feed the same events as the malloc hooks, with the Layout's
 * size; while the allocator runs the agent's guard is set, so the malloc
 * calls a System wrapper makes are not counted twice. In the memcheck
 * mode the mode's guard-page allocator serves the shim's calls, with the
 * Layout's alignment. */
#include "agent/agent_rustshim.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_sandbox.h"
#include "agent/agent_unwind.h"
#include "agent/channel_format.h"
#include "arch/arch.h"

#define EXPORT      __attribute__((visibility("default")))
#define PAGE        4096u
#define TARGETS_MAX 16

/* What a diverted function is: one of the shim's four, or a GlobalAlloc
 * method one of them calls. The shim's arguments are fixed: (size,
 * align), (ptr, size, align), (ptr, old_size, align, new_size). A
 * method's are what rustc and LLVM made of (&self, ptr, Layout, size):
 * an internal function loses the arguments it does not use (&self of an
 * allocator without state, a Layout a free ignores), so they are read
 * off the shim's call to it (arch_patch_call_args()), never guessed. */
enum target_kind { SHIM_ALLOC, SHIM_DEALLOC, SHIM_REALLOC, SHIM_ZEROED, METHOD_ALLOC, TARGET_KINDS = 8 };

/* Where a hook finds what it needs among the diverted function's
 * arguments (-1: not passed), and the function's relocated entry. Kept
 * in the agent's page beside the copy; the stub passes its address. */
struct hook_desc {
	uintptr_t copy;
	int8_t size, align, ptr, old_size;
	uint8_t pad[4];
};

/* A call of the original function, its arguments as the hook got them. */
struct orig_call {
	uintptr_t fn; /* the relocated copy */
	uintptr_t a[5];
};

typedef uintptr_t (*orig5_fn)(uintptr_t, uintptr_t, uintptr_t, uintptr_t, uintptr_t);

static uintptr_t orig_run(const struct orig_call *c)
{
	return ((orig5_fn)c->fn)(c->a[0], c->a[1], c->a[2], c->a[3], c->a[4]);
}

/* The hook's caller, as agent.c's HOOK_CALLER: the hook is reached by
 * jumps from the diverted function's entry, so its frame is that
 * function's (the agent keeps frame pointers). */
#define SHIM_CALLER()                                                                                                  \
	((struct agent_caller){(uintptr_t)__builtin_return_address(0), (uintptr_t)__builtin_frame_address(0) + 16,     \
	                       *(const uintptr_t *)__builtin_frame_address(0)})

static uintptr_t arg(const struct orig_call *c, int8_t i, uintptr_t none)
{
	return i >= 0 && i < 5 ? c->a[i] : none;
}

/* ---- the hooks ---- */

static void *do_alloc(const struct agent_caller *from, const struct orig_call *c, size_t size, size_t align, bool zero)
{
	const struct agent_heap *mh = agent_heap_enter();
	if (mh) {
		void *p = mh->alloc(size, align < 16 ? 16 : align, zero, from);
		agent_hook_leave();
		return p;
	}
	if (!agent_hook_enter())
		return (void *)orig_run(c);
	void *p = (void *)orig_run(c);
	if (p)
		agent_record_alloc(from, p, size);
	agent_hook_leave();
	return p;
}

/* size: the block's, or 0 when the function is not told it */
static void do_dealloc(const struct agent_caller *from, const struct orig_call *c, void *p, size_t size)
{
	const struct agent_heap *mh = agent_heap_enter();
	if (mh) {
		int r = mh->free(p, from);
		agent_hook_leave();
		if (r == AGENT_HEAP_NOT_MINE)
			orig_run(c);
		return;
	}
	if (!agent_hook_enter()) {
		orig_run(c);
		return;
	}
	agent_record_free(p);
	/* As the malloc hooks scrub: the leak scan reads the allocator's
	 * memory, and a freed block's old pointers would keep lost blocks
	 * reachable once it is handed out again. */
	memset(p, 0, size);
	orig_run(c);
	agent_hook_leave();
}

/* The memcheck mode's realloc with the Layout's alignment, which the
 * mode's realloc does not take: a move by hand above 16. */
static int mode_realloc(const struct agent_heap *mh, void *p, size_t align, size_t size,
                        const struct agent_caller *from, void **out)
{
	if (align <= 16)
		return mh->realloc(p, size, from, out);
	*out = NULL;
	size_t old_size = 0;
	if (mh->usable(p, &old_size) == AGENT_HEAP_NOT_MINE)
		return AGENT_HEAP_NOT_MINE;
	void *n = mh->alloc(size, align, false, from);
	if (!n)
		return 0;
	memcpy(n, p, old_size < size ? old_size : size);
	mh->free(p, from);
	*out = n;
	return 0;
}

static void *realloc_orig(void *p, size_t size, const void *ctx)
{
	(void)p, (void)size; /* they are in the call's arguments */
	return (void *)orig_run(ctx);
}

static void *do_realloc(const struct agent_caller *from, const struct orig_call *c, void *p, size_t align, size_t size)
{
	const struct agent_heap *mh = agent_heap_enter();
	if (mh) {
		void *n = NULL;
		int r = mode_realloc(mh, p, align, size, from, &n);
		agent_hook_leave();
		return r == AGENT_HEAP_NOT_MINE ? (void *)orig_run(c) : n;
	}
	if (!agent_hook_enter())
		return (void *)orig_run(c);
	void *n = agent_record_realloc(from, p, size, realloc_orig, c);
	agent_hook_leave();
	return n;
}

/* Each hook gets the diverted function's arguments, then (sixth) its
 * descriptor (arch_patch_hook_stub()). */
#define ORIG(d, a1, a2, a3, a4, a5)                                                                                    \
	{                                                                                                              \
		(d)->copy,                                                                                             \
		{                                                                                                      \
			(a1), (a2), (a3), (a4), (a5)                                                                   \
		}                                                                                                      \
	}

static uintptr_t hook_alloc(uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5,
                            const struct hook_desc *d)
{
	const struct agent_caller from = SHIM_CALLER();
	const struct orig_call c = ORIG(d, a1, a2, a3, a4, a5);
	return (uintptr_t)do_alloc(&from, &c, arg(&c, d->size, 0), arg(&c, d->align, 16), false);
}

static uintptr_t hook_zeroed(uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5,
                             const struct hook_desc *d)
{
	const struct agent_caller from = SHIM_CALLER();
	const struct orig_call c = ORIG(d, a1, a2, a3, a4, a5);
	return (uintptr_t)do_alloc(&from, &c, arg(&c, d->size, 0), arg(&c, d->align, 16), true);
}

static void hook_dealloc(uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5,
                         const struct hook_desc *d)
{
	const struct agent_caller from = SHIM_CALLER();
	const struct orig_call c = ORIG(d, a1, a2, a3, a4, a5);
	do_dealloc(&from, &c, (void *)arg(&c, d->ptr, 0), arg(&c, d->size, 0));
}

static uintptr_t hook_realloc(uintptr_t a1, uintptr_t a2, uintptr_t a3, uintptr_t a4, uintptr_t a5,
                              const struct hook_desc *d)
{
	const struct agent_caller from = SHIM_CALLER();
	const struct orig_call c = ORIG(d, a1, a2, a3, a4, a5);
	return (uintptr_t)do_realloc(&from, &c, (void *)arg(&c, d->ptr, 0), arg(&c, d->align, 16), arg(&c, d->size, 0));
}

/* by kind % 4: alloc, dealloc, realloc, alloc_zeroed */
static void *const hooks[4] = {(void *)hook_alloc, (void *)hook_dealloc, (void *)hook_realloc, (void *)hook_zeroed};

/* The shim's own arguments: where size, align, ptr and old_size are. */
static const struct hook_desc shim_args[4] = {
    {0, 0, 1, -1, -1, {0}}, /* alloc(size, align) */
    {0, 1, 2, 0, -1, {0}},  /* dealloc(ptr, size, align) */
    {0, 3, 2, 0, 1, {0}},   /* realloc(ptr, old_size, align, new_size) */
    {0, 0, 1, -1, -1, {0}}, /* alloc_zeroed(size, align) */
};

/* ---- the executable's symbols ---- */

/* Each shim function's name in the three manglings rustc has used: v0
 * (the __rustc crate's: "_RNv" ... this suffix), legacy (this prefix,
 * then the hash) and plain (older toolchains). */
static const struct {
	const char *v0_suffix, *legacy_prefix, *plain;
} shim_names[4] = {
    {"7___rustc12___rust_alloc", "_ZN7__rustc12__rust_alloc", "__rust_alloc"},
    {"7___rustc14___rust_dealloc", "_ZN7__rustc14__rust_dealloc", "__rust_dealloc"},
    {"7___rustc14___rust_realloc", "_ZN7__rustc14__rust_realloc", "__rust_realloc"},
    {"7___rustc19___rust_alloc_zeroed", "_ZN7__rustc19__rust_alloc_zeroed", "__rust_alloc_zeroed"},
};

/* A GlobalAlloc method's name ends in its length-prefixed name: legacy
 * names then have the hash (17h...E). */
static const char *const method_names[4] = {"5alloc", "7dealloc", "7realloc", "12alloc_zeroed"};

static bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);
	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* A legacy name: the prefix, then the hash's length (17h...E). */
static bool legacy_is(const char *s, const char *prefix)
{
	size_t k = strlen(prefix);
	return strncmp(s, prefix, k) == 0 && s[k] >= '0' && s[k] <= '9';
}

static bool contains(const char *s, const char *needle)
{
	return strstr(s, needle) != NULL;
}

/* A legacy name's last path element before the hash: "...5alloc17h<16>E". */
static bool legacy_method_is(const char *s, size_t n, const char *method)
{
	size_t k = strlen(method);
	return n > k + 20 && s[n - 1] == 'E' && memcmp(s + n - 20, "17h", 3) == 0 &&
	       memcmp(s + n - 20 - k, method, k) == 0;
}

/* The kind a symbol names, or -1: a shim function, a GlobalAlloc method
 * of a type (not System's: that one calls malloc), or a GlobalAlloc
 * default method instantiated for one (realloc, alloc_zeroed). */
static int target_of(const char *name)
{
	size_t n = strlen(name);
	for (int f = 0; f < 4; f++)
		if ((n > 4 && memcmp(name, "_RNv", 4) == 0 && ends_with(name, n, shim_names[f].v0_suffix)) ||
		    legacy_is(name, shim_names[f].legacy_prefix) || strcmp(name, shim_names[f].plain) == 0)
			return SHIM_ALLOC + f;
	bool legacy_impl =
	    strncmp(name, "_ZN", 3) == 0 && (contains(name, "$u20$as$u20$core..alloc..global..GlobalAlloc$GT$") ||
	                                     strncmp(name, "_ZN4core5alloc6global11GlobalAlloc", 34) == 0);
	bool v0_impl = strncmp(name, "_R", 2) == 0 && contains(name, "4core5alloc6global11GlobalAlloc");
	if (!legacy_impl && !v0_impl)
		return -1;
	if (contains(name, "std..alloc..System") || contains(name, "3std5alloc6System"))
		return -1;
	for (int f = 0; f < 4; f++) {
		if (legacy_impl && legacy_method_is(name, n, method_names[f]))
			return METHOD_ALLOC + f;
		if (v0_impl && ((strncmp(name, "_RNvX", 5) == 0 && ends_with(name, n, method_names[f])) ||
		                (strncmp(name, "_RINv", 5) == 0 && contains(name, method_names[f]))))
			return METHOD_ALLOC + f;
	}
	return -1;
}

struct target {
	uint64_t value, size;
	int kind;
	struct hook_desc desc; /* where its arguments are */
};

struct exe_scan {
	bool symtab, rust;
	struct target shim[4];           /* by kind; value 0 when not found */
	struct target cand[TARGETS_MAX]; /* GlobalAlloc methods */
	uint32_t ncand;
	bool system; /* std's System shim (__rdl_alloc) is linked */
	bool jemalloc, mimalloc;
};

static void scan_symbol(struct exe_scan *x, const Elf64_Sym *sym, const char *name)
{
	int k = target_of(name);
	if (k >= 0) {
		x->rust = true;
		if (sym->st_shndx == SHN_UNDEF || ELF64_ST_TYPE(sym->st_info) != STT_FUNC || !sym->st_value)
			return;
		struct target t = {sym->st_value, sym->st_size, k, {0}};
		if (k < METHOD_ALLOC) {
			x->shim[k] = t;
			return;
		}
		for (uint32_t i = 0; i < x->ncand; i++)
			if (x->cand[i].value == sym->st_value)
				return;     /* an alias */
		if (x->ncand < TARGETS_MAX) /* more: the first are the likely ones */
			x->cand[x->ncand++] = t;
		return;
	}
	if (contains(name, "__rdl_alloc"))
		x->system = true;
	else if (contains(name, "_rjem_") || contains(name, "jemalloc") || strncmp(name, "je_malloc", 9) == 0)
		x->jemalloc = true;
	else if (strncmp(name, "mi_malloc", 9) == 0 || contains(name, "mimalloc"))
		x->mimalloc = true;
}

/* The executable file's sections, as mapped (size bytes): its symbol
 * table into x, and whether rustc built it (.comment says so, else its
 * panic paths into core). Every offset is checked against size. */
static void scan_elf(const uint8_t *m, size_t size, struct exe_scan *x)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)m;
	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > size ||
	    (size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
		return;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(m + eh->e_shoff);
	const Elf64_Shdr *names = eh->e_shstrndx < eh->e_shnum ? &sh[eh->e_shstrndx] : NULL;
	if (names && (names->sh_offset > size || names->sh_size > size - names->sh_offset))
		names = NULL;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *s = &sh[i];
		if (s->sh_type == SHT_NOBITS || s->sh_offset > size || s->sh_size > size - s->sh_offset)
			continue;
		if (names && s->sh_type == SHT_PROGBITS && s->sh_name < names->sh_size) {
			const char *nm = (const char *)m + names->sh_offset + s->sh_name;
			if (strnlen(nm, names->sh_size - s->sh_name) == 8 && memcmp(nm, ".comment", 8) == 0 &&
			    memmem(m + s->sh_offset, s->sh_size, "rustc version", 13))
				x->rust = true;
		}
		if (s->sh_type != SHT_SYMTAB || s->sh_link >= eh->e_shnum)
			continue;
		const Elf64_Shdr *st = &sh[s->sh_link];
		if (st->sh_offset > size || st->sh_size > size - st->sh_offset || !st->sh_size)
			continue;
		const char *strtab = (const char *)m + st->sh_offset;
		if (strtab[st->sh_size - 1])
			continue; /* each name must end inside */
		x->symtab = true;
		const Elf64_Sym *sym = (const Elf64_Sym *)(m + s->sh_offset);
		size_t n = s->sh_size / sizeof(Elf64_Sym);
		for (size_t k = 0; k < n; k++)
			if (sym[k].st_name && sym[k].st_name < st->sh_size)
				scan_symbol(x, &sym[k], strtab + sym[k].st_name);
	}
	if (!x->rust && memmem(m, size, "library/core/src", 16))
		x->rust = true;
}

/* The main executable: its load bias and its executable segments' span. */
struct exe_image {
	uintptr_t base, text_lo, text_hi;
	bool found;
};

static int exe_find(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	struct exe_image *e = ctx;
	e->base = info->dlpi_addr;
	e->text_lo = UINTPTR_MAX;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (lo < e->text_lo)
			e->text_lo = lo;
		if (hi > e->text_hi)
			e->text_hi = hi;
	}
	e->found = e->text_lo < e->text_hi;
	return 1; /* the first module is the executable */
}

/* ---- diverting ---- */

/* A page within reach of a rel32 jump from [lo, hi) (and of the
 * executable's data from the copies' rip-relative operands): tried below
 * the executable first, then above, at most 1 GiB away. */
static uint8_t *near_page(uintptr_t lo, uintptr_t hi)
{
	const uintptr_t step = 1u << 20, reach = 1u << 30;
	for (int side = 0; side < 2; side++) {
		for (uintptr_t d = step; d < reach; d += step) {
			uintptr_t at;
			if (side == 0) {
				if (lo < d + step)
					break;
				at = (lo - d) & ~(uintptr_t)(PAGE - 1);
			} else {
				at = ((hi + d) + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
			}
			void *p = mmap((void *)at, PAGE, PROT_READ | PROT_WRITE,
			               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
			if (p == MAP_FAILED)
				continue;
			if ((uintptr_t)p == at)
				return p;
			munmap(p, PAGE); /* a kernel that ignores the flag put it elsewhere */
		}
	}
	return NULL;
}

static int text_protect(uintptr_t at, size_t len, int prot)
{
	uintptr_t lo = at & ~(uintptr_t)(PAGE - 1), hi = (at + len + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
	return mprotect((void *)lo, hi - lo, prot) == 0 ? 0 : -errno;
}

/* Where each function's entry goes and where its copy is. */
struct divert {
	uintptr_t at;      /* the function */
	uintptr_t stub_pc; /* its entry jump's target: a stub in the page */
	uintptr_t copy_pc; /* the relocated entry, then the jump back */
	uint8_t jump[ARCH_PATCH_JUMP_LEN];
};

/* Diverts the n functions of t (at base + value); 0, or a negative errno
 * with nothing changed. */
static int divert_all(const struct target *t, uint32_t n, uintptr_t base, uintptr_t text_lo, uintptr_t text_hi)
{
	struct divert d[TARGETS_MAX];
	const size_t slot = PAGE / TARGETS_MAX; /* a stub and a copy each */
	uint8_t *page = near_page(text_lo, text_hi);
	if (!page)
		return -ENOMEM;
	agent_own_add(page, PAGE);
	int rc = 0;
	for (uint32_t i = 0; i < n; i++) {
		uintptr_t at = base + t[i].value;
		if (at < text_lo || at >= text_hi) {
			rc = -EFAULT;
			goto out_unmap;
		}
		const uint8_t *code = (const uint8_t *)at;
		size_t len = t[i].size ? t[i].size : 64;
		if (len > text_hi - at)
			len = text_hi - at;
		uint8_t *w = page + i * slot;
		d[i].at = at;
		/* the slot: the stub, the descriptor, the copy */
		const size_t head = ARCH_PATCH_STUB_LEN + sizeof(struct hook_desc);
		struct hook_desc *desc = (struct hook_desc *)(w + ARCH_PATCH_STUB_LEN);
		d[i].stub_pc = (uintptr_t)w;
		d[i].copy_pc = (uintptr_t)w + head;
		*desc = t[i].desc;
		desc->copy = d[i].copy_pc;
		size_t covered = 0;
		int k = arch_patch_relocate(code, len, at, w + head, d[i].copy_pc, slot - head, &covered);
		if (k < 0) {
			rc = k;
			goto out_unmap;
		}
		arch_patch_hook_stub(w, (uint64_t)(uintptr_t)desc, (uint64_t)(uintptr_t)hooks[t[i].kind % 4]);
		if ((rc = arch_patch_check_body(code, len, at, covered)) < 0 ||
		    (rc = arch_patch_jump(d[i].jump, at, d[i].stub_pc)) < 0)
			goto out_unmap;
	}
	if (mprotect(page, PAGE, PROT_READ | PROT_EXEC) < 0) {
		rc = -errno;
		goto out_unmap;
	}
	/* every page writable first, so a refusal leaves the code as it was */
	uint32_t ready = 0;
	for (; ready < n; ready++)
		if ((rc = text_protect(d[ready].at, ARCH_PATCH_JUMP_LEN, PROT_READ | PROT_WRITE)) < 0)
			break;
	if (ready == n)
		for (uint32_t i = 0; i < n; i++)
			memcpy((void *)d[i].at, d[i].jump, ARCH_PATCH_JUMP_LEN);
	for (uint32_t i = 0; i < ready; i++)
		text_protect(d[i].at, ARCH_PATCH_JUMP_LEN, PROT_READ | PROT_EXEC);
	if (ready < n)
		goto out_unmap;
	return 0;
out_unmap:
	munmap(page, PAGE);
	return rc ? rc : -ENOTSUP;
}

static void send_record(const struct kh_rec_allocator *r)
{
	if (!agent_lock_try())
		return;
	agent_channel_write(KH_REC_ALLOCATOR, (const char *)r + sizeof(r->h), sizeof(*r) - sizeof(r->h), true);
	agent_lock_release();
}

/* The method kind calls from the shim of its kind, with its arguments
 * read off that call into m->desc; false when the shim does not call it
 * in straight-line code or what a hook needs is not passed. */
static bool method_verify(const struct target *shim, struct target *m, uintptr_t base, uintptr_t text_hi)
{
	uintptr_t at = base + shim->value;
	if (at >= text_hi)
		return false;
	size_t len = shim->size ? shim->size : 64;
	if (len > text_hi - at)
		len = text_hi - at;
	int8_t map[6];
	if (arch_patch_call_args((const uint8_t *)at, len, at, base + m->value, map) < 0)
		return false;
	const struct hook_desc *sa = &shim_args[shim->kind];
	int8_t *const field[4] = {&m->desc.size, &m->desc.align, &m->desc.ptr, &m->desc.old_size};
	const int8_t want[4] = {sa->size, sa->align, sa->ptr, sa->old_size};
	for (int f = 0; f < 4; f++) {
		*field[f] = -1;
		for (int i = 0; i < 5 && want[f] >= 0; i++)
			if (map[i] == want[f])
				*field[f] = (int8_t)i;
	}
	if (shim->kind == SHIM_DEALLOC) {
		/* A dealloc that never reads its Layout (free(ptr) underneath)
		 * has callers that pass anything there: LLVM drops dead
		 * arguments of local functions at their call sites (seen: an
		 * Arc's drop jumping to it with stale rdx/rcx), so its size
		 * is never taken, nor the block scrubbed by it. */
		m->desc.size = -1;
		return m->desc.ptr >= 0;
	}
	if (shim->kind == SHIM_REALLOC)
		return m->desc.ptr >= 0 && m->desc.size >= 0;
	return m->desc.size >= 0;
}

/* What to divert: the four shim functions, and the methods they call
 * whose arguments are known. The methods count only as a pair at least:
 * an alloc seen without its dealloc would make every block a leak. */
static uint32_t targets_pick(struct exe_scan *x, uintptr_t base, uintptr_t text_hi, struct target *out,
                             uint32_t *methods)
{
	uint32_t n = 0, verified = 0;
	for (int k = 0; k < 4; k++) {
		out[n] = x->shim[k];
		out[n++].desc = shim_args[k];
	}
	struct target m[TARGETS_MAX];
	uint32_t nm = 0;
	for (uint32_t i = 0; i < x->ncand; i++) {
		struct target *c = &x->cand[i];
		if (method_verify(&x->shim[c->kind - METHOD_ALLOC], c, base, text_hi)) {
			m[nm++] = *c;
			verified |= 1u << (c->kind - METHOD_ALLOC);
		}
	}
	*methods = 0;
	if ((verified & 3) != 3)
		return n;
	for (uint32_t i = 0; i < nm && n < TARGETS_MAX; i++)
		out[n++] = m[i];
	*methods = n - 4;
	return n;
}

/* Diverts the shim of the module e whose file is path into r (path,
 * global, counts); false when the module is not Rust. The caller holds
 * shim_lock. */
static bool module_divert(const char *path, const struct exe_image *e, struct kh_rec_allocator *r)
{
	static struct exe_scan x; /* static: big; shim_lock held */
	static struct target t[TARGETS_MAX];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (!e->found || fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return false;
	memset(&x, 0, sizeof(x));
	scan_elf(m, (size_t)st.st_size, &x);
	munmap(m, (size_t)st.st_size);
	if (!x.rust)
		return false;
	if (x.system) { /* the shim calls malloc: the malloc hooks see it all */
		r->global = KH_GA_SYSTEM;
		return true;
	}
	r->global = !x.symtab    ? KH_GA_UNKNOWN
	            : x.jemalloc ? KH_GA_JEMALLOC
	            : x.mimalloc ? KH_GA_MIMALLOC
	                         : KH_GA_CUSTOM;
	if (!x.symtab) {
		r->path = KH_PATH_SHIM_MISSING;
		return true;
	}
	r->path = KH_PATH_SHIM_REFUSED;
	r->reason = -ENOENT;
	for (int k = 0; k < 4; k++)
		if (!x.shim[k].value || x.shim[k].kind != k)
			return true;
	uint32_t methods = 0;
	uint32_t n = targets_pick(&x, e->base, e->text_hi, t, &methods);
	int rc = divert_all(t, n, e->base, e->text_lo, e->text_hi);
	if (rc < 0) {
		r->reason = rc;
		return true;
	}
	r->path = KH_PATH_SHIM;
	r->reason = 0;
	r->shim = 4;
	r->methods = methods;
	r->candidates = x.ncand;
	return true;
}

/* One diversion at a time: the constructor's, then each dlopen's; the
 * modules already looked at (load biases), each once: an entry diverted
 * twice would jump to its own hook forever. */
static pthread_mutex_t shim_lock = PTHREAD_MUTEX_INITIALIZER;
#define SEEN_MAX 256
static uintptr_t seen[SEEN_MAX];
static uint32_t seen_n;

/* Whether base is new (and remembers it); shim_lock held. A full list
 * answers no: nothing more is diverted. */
static bool seen_first(uintptr_t base)
{
	for (uint32_t i = 0; i < seen_n; i++)
		if (seen[i] == base)
			return false;
	if (seen_n == SEEN_MAX)
		return false;
	seen[seen_n++] = base;
	return true;
}

static uint64_t start_rss_kb(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_SELF, &ru) == 0 ? (uint64_t)ru.ru_maxrss : 0;
}

/* The libraries loaded before the constructor ran: looked at as not Rust
 * programs' (their shims, if any, are left alone). */
static int old_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size, (void)ctx;
	seen_first(info->dlpi_addr);
	return 0;
}

static bool installed; /* by the constructor, in a mode that sees the heap */

/* A fork while another thread diverts a library: the child's lock is free. */
static void shim_atfork_prepare(void)
{
	pthread_mutex_lock(&shim_lock);
}

static void shim_atfork_parent(void)
{
	pthread_mutex_unlock(&shim_lock);
}

static void shim_atfork_child(void)
{
	pthread_mutex_init(&shim_lock, NULL);
}

void agent_rustshim_install(void)
{
	struct kh_rec_allocator r = {.path = KH_PATH_LIBC, .global = KH_GA_NONE, .start_rss_kb = start_rss_kb()};
	struct exe_image e = {0};
	dl_iterate_phdr(exe_find, &e);
	pthread_mutex_lock(&shim_lock);
	dl_iterate_phdr(old_module, NULL); /* the executable among them */
	module_divert("/proc/self/exe", &e, &r);
	installed = true;
	pthread_mutex_unlock(&shim_lock);
	pthread_atfork(shim_atfork_prepare, shim_atfork_parent, shim_atfork_child);
	send_record(&r);
}

/* ---- Rust libraries loaded later ---- */

/* A module dlopen added (every module not looked at yet): its shim
 * diverted, and a record when it is Rust. shim_lock held. */
static int new_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)ctx;
	if (!info->dlpi_name || !info->dlpi_name[0])
		return 0; /* the executable: no path to read (it is not new anyway) */
	if (!seen_first(info->dlpi_addr))
		return 0;
	struct exe_image e = {0};
	exe_find(info, size, &e);
	struct kh_rec_allocator r = {.path = KH_PATH_LIBC, .global = KH_GA_NONE, .start_rss_kb = start_rss_kb()};
	if (module_divert(info->dlpi_name, &e, &r))
		send_record(&r);
	return 0;
}

typedef void *(*dlopen_fn)(const char *, int);
static dlopen_fn real_dlopen;

/* The loader's search for a name without a slash, and a "$ORIGIN" in a
 * name, depend on who calls dlopen (its RUNPATH, its namespace): such a
 * call is passed on as a tail call, so the loader still sees the
 * program's code as the caller, and its module is not diverted. */
static bool caller_free(const char *file)
{
	return file && strchr(file, '/') && !strchr(file, '$');
}

/* A path's dlopen, and then its new modules diverted (their constructors
 * ran: what they allocated is not seen, and their frees count as frees of
 * blocks allocated before tracking began). Not under the host's sandbox:
 * each module's file is read. The lock is not held across the call: a
 * library's constructor may dlopen too. */
static __attribute__((noinline)) void *dlopen_divert(const char *file, int mode)
{
	void *h = real_dlopen(file, mode);
	if (!h || agent_guarded() || agent_sandboxed() || !agent_channel_on())
		return h;
	int saved = errno;
	pthread_mutex_lock(&shim_lock);
	if (installed)
		dl_iterate_phdr(new_module, NULL);
	pthread_mutex_unlock(&shim_lock);
	errno = saved;
	return h;
}

/* The call on to the real dlopen must be a tail call whatever the build
 * (-O0, as the sanitizers' builds, makes none): clang says so with
 * musttail, gcc (before 15) by optimising this one function. */
#if defined(__clang__)
#define DLOPEN_OPTIMISED
#define DLOPEN_TAIL __attribute__((musttail))
#else
#define DLOPEN_OPTIMISED __attribute__((optimize("O2", "optimize-sibling-calls")))
#define DLOPEN_TAIL
#endif

/* A Rust library loaded later has its shim diverted once loaded. */
EXPORT DLOPEN_OPTIMISED void *dlopen(const char *file, int mode)
{
	if (!real_dlopen)
		real_dlopen = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
	if (!real_dlopen)
		return NULL;
	if (!installed || !caller_free(file))
		DLOPEN_TAIL return real_dlopen(file, mode); /* a tail call: see caller_free() */
	return dlopen_divert(file, mode);
}
