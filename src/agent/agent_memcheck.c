/* agent_memcheck.c - the agent's memcheck mode: a guard-page allocator
 * that turns heap errors into reports (`kiln memcheck`).
 *
 * Every block gets pages of its own in one large reservation made at the
 * start (PROT_NONE, no memory behind it): the block ends at the end of its
 * last page, against a page left inaccessible (the guard), 16-byte aligned
 * (or as memalign and friends ask), so the slack between the size asked
 * for and the guard is under the alignment; that slack and the bytes
 * before the block in its first page hold a pattern checked at free. A
 * freed block's pages are emptied (MADV_DONTNEED: no memory) and made
 * inaccessible, and wait in a FIFO quarantine bounded by bytes before
 * their addresses serve another block of the same page count: a use after
 * free faults. A page table over the reservation names the block of any
 * address, so the SIGSEGV handler tells a fault on a guard page (heap
 * overflow) or a freed block (use after free) from the program's own
 * faults, which go to the handler the program installed (sigaction is
 * interposed: agent_cpu.c). Frees check for double and invalid frees.
 *
 * Each error is one KH_REC_MEM_ERROR with the access (or free) stack and
 * the block's allocation and free stacks. Then the process stops with
 * KH_ENV_MC_EXITCODE's status, or, with KH_ENV_MC_KEEP_GOING, goes on where
 * that is safe: a read fault's page is made readable (that block is no
 * longer guarded), a bad free is ignored, a realloc of freed memory
 * returns NULL; a write fault always stops (the program wrote memory it
 * does not own: what it did next is not to be trusted).
 *
 * When the reservation is full, or the kernel refuses another mapping
 * (vm.max_map_count), blocks come from the real allocator unguarded and
 * are counted (KH_REC_MEM_STATS); their frees go back to it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent/agent_maps.h"
#include "agent/agent_mode.h"
#include "agent/agent_unwind.h"
#include "agent/channel_format.h"

#define MC_PAGE         4096ull
#define MC_REGION       (256ull << 30) /* address space reserved for guarded blocks */
#define MC_MAX_SPANS    (16u << 20)    /* block records (they live as long as their addresses) */
#define MC_REUSE_LISTS  256            /* evicted spans by page count modulo this */
#define MC_REUSE_WALK   16             /* spans looked at for an exact page count */
#define MC_PATTERN      0xa5
#define MC_QUARANTINE   (256ull << 20)
#define MC_EXIT_DEFAULT 99

enum span_state {
	SPAN_LIVE = 1,
	SPAN_FREED = 2,   /* in the quarantine */
	SPAN_EVICTED = 3, /* out of it: its pages wait for a block of the same page count */
};

/* A block's pages [lo, lo + pages * MC_PAGE), the last one the guard. */
struct span {
	uint64_t lo;
	uint64_t user, size;
	uint32_t pages;
	uint32_t next; /* 1 + the next span in the quarantine or a reuse list; 0: none */
	uint8_t state;
	uint8_t n_alloc, n_free;
	uint8_t disarmed; /* keep-going made its pages readable */
	uint32_t alloc_tid, free_tid;
	uint64_t alloc_stack[KH_MEM_FRAMES], free_stack[KH_MEM_FRAMES];
};

static uintptr_t region;     /* 0: the mode is off */
static uint32_t *page_span;  /* per page of the region: 1 + its span's index, 0: none */
static struct span *spans;   /* MC_MAX_SPANS of them, touched as used */
static uint64_t region_used; /* bytes handed out from the region's start */
static uint32_t nspans;
static uint32_t reuse[MC_REUSE_LISTS]; /* 1 + first evicted span of that page count (modulo) */
static uint32_t q_head, q_tail;        /* the quarantine, oldest first (1 + index) */
static uint64_t q_bytes, q_limit = MC_QUARANTINE;
static pthread_mutex_t mc_lock = PTHREAD_MUTEX_INITIALIZER;
static bool keep_going;
static int exit_code = MC_EXIT_DEFAULT;
static uint64_t n_guarded, n_unguarded, n_evicted; /* atomics */

/* The program's SIGSEGV handler: gets every fault that is not ours. */
static struct sigaction chained;
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction;
static int (*real_posix_memalign)(void **, size_t, size_t);

/* The fault handler's unwinder state: one fault is reported at a time. */
static struct agent_unwind_thread fault_ut;
static int fault_busy;
static void *fault_ips[KH_MEM_FRAMES + 1];

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	uint64_t v = 0;
	if (!s || !*s)
		return def;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return *s ? def : v;
}

static bool in_region(uintptr_t a)
{
	return region && a >= region && a - region < region_used;
}

/* The span holding address a, or NULL. */
static struct span *span_of(uintptr_t a)
{
	if (!in_region(a))
		return NULL;
	uint32_t id = __atomic_load_n(&page_span[(a - region) / MC_PAGE], __ATOMIC_ACQUIRE);
	return id ? &spans[id - 1] : NULL;
}

static uint32_t span_id(const struct span *s)
{
	return (uint32_t)(s - spans) + 1;
}

/* ---- errors ---- */

static void stats_send(void);

static void stop_now(void)
{
	stats_send();
	agent_channel_finish();
	_exit(exit_code);
}

static void maps_piece(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	agent_channel_write(KH_REC_MAPS, text, (uint32_t)len, true);
}

/* Sends one error; frames: access (na of them), then the block's stacks.
 * Async-signal-safe: it waits for the agent's lock only by trying. */
static void error_send(struct kh_rec_mem_error *e, const uint64_t *access, const struct span *s)
{
	struct {
		struct kh_rec_mem_error e;
		uint64_t frames[3 * KH_MEM_FRAMES];
	} r;
	r.e = *e;
	uint32_t n = 0;
	for (uint32_t i = 0; i < e->n_access && n < KH_MEM_FRAMES; i++)
		r.frames[n++] = access[i];
	r.e.n_access = (uint16_t)n;
	r.e.n_alloc = r.e.n_free = 0;
	if (s) {
		r.e.flags |= KH_MEM_IN_BLOCK;
		r.e.block = s->user;
		r.e.block_size = s->size;
		r.e.alloc_tid = s->alloc_tid;
		r.e.free_tid = s->free_tid;
		for (uint32_t i = 0; i < s->n_alloc; i++)
			r.frames[n++] = s->alloc_stack[i];
		r.e.n_alloc = s->n_alloc;
		if (s->state != SPAN_LIVE) {
			for (uint32_t i = 0; i < s->n_free; i++)
				r.frames[n++] = s->free_stack[i];
			r.e.n_free = s->n_free;
		}
	}
	r.e.time = agent_now_ns();
	r.e.tid = agent_tid();
	uint32_t len = (uint32_t)(sizeof(r.e) - sizeof(r.e.h) + n * sizeof(uint64_t));
	for (int i = 0; i < 100000; i++) {
		if (agent_lock_try()) {
			agent_channel_write(KH_REC_MEM_ERROR, (char *)&r + sizeof(r.e.h), len, true);
			if (!(e->flags & KH_MEM_STOPPED)) {
				/* the maps now, so kiln can name the frames even if the
				 * process dies later without a word (the stop path sends
				 * them itself) */
				agent_maps_emit(maps_piece, NULL, 4000);
				agent_channel_write(KH_REC_MAPS_END, NULL, 0, true);
			}
			agent_lock_release();
			return;
		}
		__builtin_ia32_pause();
	}
}

/* An error found in an allocator call (not a fault): reports it and stops
 * unless keep_going. */
static void error_call(uint32_t kind, uintptr_t addr, const struct span *s, uint32_t flags,
                       const struct agent_caller *from)
{
	uint64_t stack[KH_MEM_FRAMES];
	struct kh_rec_mem_error e = {0};
	e.kind = kind;
	e.addr = addr;
	e.flags = flags | (keep_going ? 0 : KH_MEM_STOPPED);
	e.n_access = (uint16_t)agent_backtrace(from, stack, KH_MEM_FRAMES);
	error_send(&e, stack, s);
	if (!keep_going)
		stop_now();
}

/* ---- the allocator ---- */

static void pattern_fill(const struct span *s)
{
	uint64_t guard = s->lo + (uint64_t)(s->pages - 1) * MC_PAGE;
	memset((void *)(uintptr_t)s->lo, MC_PATTERN, s->user - s->lo);
	memset((void *)(uintptr_t)(s->user + s->size), MC_PATTERN, guard - s->user - s->size);
}

/* The first byte around the block that lost its pattern, or 0. */
static uintptr_t pattern_damage(const struct span *s)
{
	uint64_t guard = s->lo + (uint64_t)(s->pages - 1) * MC_PAGE;
	for (uint64_t a = s->user + s->size; a < guard; a++)
		if (*(const uint8_t *)(uintptr_t)a != MC_PATTERN)
			return (uintptr_t)a;
	/* before the block, nearest first: an underflow's first byte */
	for (uint64_t a = s->user; a-- > s->lo;)
		if (*(const uint8_t *)(uintptr_t)a != MC_PATTERN)
			return (uintptr_t)a;
	return 0;
}

/* Lock held: an evicted span's pages wait for a block of their count. */
static void reuse_put(struct span *s)
{
	s->state = SPAN_EVICTED;
	s->next = reuse[s->pages % MC_REUSE_LISTS];
	reuse[s->pages % MC_REUSE_LISTS] = span_id(s);
}

/* Lock held: an evicted span of exactly that many pages, or NULL (a list
 * mixes counts that agree modulo MC_REUSE_LISTS: only its first few
 * spans are looked at). */
static struct span *reuse_take(uint32_t pages)
{
	uint32_t *link = &reuse[pages % MC_REUSE_LISTS];
	for (int i = 0; *link && i < MC_REUSE_WALK; i++) {
		struct span *s = &spans[*link - 1];
		if (s->pages == pages) {
			*link = s->next;
			return s;
		}
		link = &s->next;
	}
	return NULL;
}

/* A span of pages (the guard included), with the lock held: an evicted
 * one of that page count, or new pages at the region's end; NULL when the
 * region or the span table is full. Its data pages are made accessible. */
static struct span *span_take(uint32_t pages)
{
	struct span *s = reuse_take(pages);
	if (!s) {
		uint64_t bytes = (uint64_t)pages * MC_PAGE;
		if (nspans >= MC_MAX_SPANS || region_used + bytes > MC_REGION)
			return NULL;
		s = &spans[nspans++];
		s->lo = region + region_used;
		s->pages = pages;
		region_used += bytes;
		uint32_t id = span_id(s);
		for (uint32_t i = 0; i < pages; i++)
			__atomic_store_n(&page_span[(s->lo - region) / MC_PAGE + i], id, __ATOMIC_RELEASE);
	}
	if (mprotect((void *)(uintptr_t)s->lo, (uint64_t)(pages - 1) * MC_PAGE, PROT_READ | PROT_WRITE) != 0) {
		/* no mapping left (vm.max_map_count): keep it for later */
		reuse_put(s);
		return NULL;
	}
	if (s->disarmed &&
	    mprotect((void *)(uintptr_t)(s->lo + (uint64_t)(pages - 1) * MC_PAGE), MC_PAGE, PROT_NONE) == 0)
		s->disarmed = 0;
	s->next = 0;
	return s;
}

/* Lock held: the quarantine's oldest blocks leave it while it holds more
 * than its limit; their pages serve blocks of the same page count next. */
static void quarantine_trim(void)
{
	while (q_head && q_bytes > q_limit) {
		struct span *s = &spans[q_head - 1];
		q_head = s->next;
		if (!q_head)
			q_tail = 0;
		q_bytes -= (uint64_t)s->pages * MC_PAGE;
		reuse_put(s);
		__atomic_fetch_add(&n_evicted, 1, __ATOMIC_RELAXED);
	}
}

static void *unguarded(size_t size, size_t align, bool zero)
{
	void *p = NULL;
	__atomic_fetch_add(&n_unguarded, 1, __ATOMIC_RELAXED);
	if (!real_posix_memalign || real_posix_memalign(&p, align, size ? size : 1) != 0)
		return NULL;
	if (zero)
		memset(p, 0, size);
	return p;
}

static void *mc_alloc(size_t size, size_t align, bool zero, const struct agent_caller *from)
{
	if (size > MC_REGION / 2) {
		errno = ENOMEM;
		return NULL;
	}
	/* the block ends at its guard rounded down to align: at worst it
	 * starts size + align - 1 bytes before it */
	uint64_t need = ((uint64_t)size + align - 1) & ~((uint64_t)align - 1);
	if (align > MC_PAGE)
		need += align;
	uint32_t pages = (uint32_t)((need + MC_PAGE - 1) / MC_PAGE);
	if (!pages)
		pages = 1;
	pages++; /* the guard */
	pthread_mutex_lock(&mc_lock);
	struct span *s = span_take(pages);
	pthread_mutex_unlock(&mc_lock);
	if (!s)
		return unguarded(size, align, zero);
	uint64_t guard = s->lo + (uint64_t)(pages - 1) * MC_PAGE;
	s->user = (guard - size) & ~((uint64_t)align - 1);
	s->size = size;
	s->alloc_tid = agent_tid();
	s->free_tid = 0;
	s->n_free = 0;
	s->n_alloc = (uint8_t)agent_backtrace(from, s->alloc_stack, KH_MEM_FRAMES);
	/* fresh or emptied pages read as zeros: calloc's promise holds */
	(void)zero;
	pattern_fill(s);
	__atomic_store_n(&s->state, SPAN_LIVE, __ATOMIC_RELEASE);
	__atomic_fetch_add(&n_guarded, 1, __ATOMIC_RELAXED);
	return (void *)(uintptr_t)s->user;
}

struct where {
	uintptr_t addr;
	bool found;
};

static int in_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	struct where *w = ctx;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && w->addr >= lo && w->addr < lo + ph->p_memsz) {
			w->found = true;
			return 1;
		}
	}
	return 0;
}

/* A pointer outside the region: a stack or a module's image never came
 * from malloc; anything else may be a block of the real allocator's (made
 * before the mode started, or unguarded). */
static int foreign_free(void *p, const struct agent_caller *from)
{
	uintptr_t a = (uintptr_t)p, lo, hi;
	uint32_t flags = 0;
	struct where w = {a, false};
	if (agent_thread_stack_at(a, &lo, &hi))
		flags = KH_MEM_ON_STACK;
	else if (dl_iterate_phdr(in_module, &w), w.found)
		flags = KH_MEM_STATIC;
	else if (region && a >= region && a < region + MC_REGION)
		flags = 0; /* the region's unused part */
	else
		return AGENT_HEAP_NOT_MINE;
	error_call(KH_MEM_INVALID_FREE, a, NULL, flags, from);
	return 0;
}

/* Checks p as the block a free or realloc names: 0 when it is a live
 * block's start, else reports the error (kind for a freed block). */
static int free_check(void *p, struct span *s, uint32_t freed_kind, const struct agent_caller *from)
{
	uintptr_t a = (uintptr_t)p;
	uint8_t st = s ? __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) : 0;
	if (!s || (st == SPAN_LIVE && a != s->user)) {
		error_call(KH_MEM_INVALID_FREE, a, s, 0, from);
		return -1;
	}
	/* the block is this call's from here on: of two threads freeing it
	 * at once, the second sees a double free */
	if (st != SPAN_LIVE ||
	    !__atomic_compare_exchange_n(&s->state, &st, SPAN_FREED, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		error_call(a == s->user ? freed_kind : KH_MEM_INVALID_FREE, a, s, 0, from);
		return -1;
	}
	return 0;
}

static void span_release(struct span *s, const struct agent_caller *from)
{
	uintptr_t bad = pattern_damage(s);
	if (bad)
		error_call(KH_MEM_SLACK_DAMAGE, bad, s, 0, from);
	s->free_tid = agent_tid();
	s->n_free = (uint8_t)agent_backtrace(from, s->free_stack, KH_MEM_FRAMES);
	uint64_t data = (uint64_t)(s->pages - 1) * MC_PAGE;
	madvise((void *)(uintptr_t)s->lo, data, MADV_DONTNEED);
	mprotect((void *)(uintptr_t)s->lo, data, PROT_NONE);
	pthread_mutex_lock(&mc_lock);
	s->next = 0;
	if (q_tail)
		spans[q_tail - 1].next = span_id(s);
	else
		q_head = span_id(s);
	q_tail = span_id(s);
	q_bytes += (uint64_t)s->pages * MC_PAGE;
	quarantine_trim();
	pthread_mutex_unlock(&mc_lock);
}

static int mc_free(void *p, const struct agent_caller *from)
{
	uintptr_t a = (uintptr_t)p;
	if (!in_region(a))
		return foreign_free(p, from);
	struct span *s = span_of(a);
	if (free_check(p, s, KH_MEM_DOUBLE_FREE, from))
		return 0;
	span_release(s, from);
	return 0;
}

static int mc_realloc(void *p, size_t size, const struct agent_caller *from, void **out)
{
	uintptr_t a = (uintptr_t)p;
	if (!p) {
		*out = mc_alloc(size, 16, false, from);
		return 0;
	}
	if (!in_region(a)) {
		int r = foreign_free(p, from);
		if (r == AGENT_HEAP_NOT_MINE)
			return r;
		*out = NULL;
		errno = ENOMEM;
		return 0;
	}
	struct span *s = span_of(a);
	if (free_check(p, s, KH_MEM_REALLOC_FREED, from)) {
		*out = NULL;
		errno = ENOMEM;
		return 0;
	}
	if (!size) {
		span_release(s, from);
		*out = NULL;
		return 0;
	}
	void *n = mc_alloc(size, 16, false, from);
	if (!n) {
		*out = NULL;
		return 0;
	}
	memcpy(n, p, s->size < size ? s->size : size);
	span_release(s, from);
	*out = n;
	return 0;
}

static int mc_usable(void *p, size_t *out)
{
	uintptr_t a = (uintptr_t)p;
	if (!in_region(a))
		return AGENT_HEAP_NOT_MINE;
	struct span *s = span_of(a);
	/* what the program may use: the size it asked for, not the slack */
	*out = s && s->state == SPAN_LIVE && s->user == a ? s->size : 0;
	return 0;
}

/* ---- faults ---- */

static void chain(int sig, siginfo_t *si, void *uc)
{
	if (chained.sa_flags & SA_SIGINFO) {
		if (chained.sa_sigaction) {
			chained.sa_sigaction(sig, si, uc);
			return;
		}
	} else if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN && chained.sa_handler) {
		chained.sa_handler(sig);
		return;
	}
	/* the default action: the instruction faults again, and kills */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	real_sigaction(sig, &dfl, NULL);
}

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
	int saved = errno;
	uintptr_t a = (uintptr_t)si->si_addr;
	struct span *s = si->si_code == SEGV_ACCERR ? span_of(a) : NULL;
	uint8_t st = s ? __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) : 0;
	uint64_t guard = s ? s->lo + (uint64_t)(s->pages - 1) * MC_PAGE : 0;
	bool overflow = st == SPAN_LIVE && a >= guard;
	if (!overflow && st != SPAN_FREED && st != SPAN_EVICTED) {
		chain(sig, si, ucv);
		goto out;
	}
	const ucontext_t *uc = ucv;
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	uintptr_t bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
	/* x86-64's page fault error code: bit 1 set for a write */
	bool write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
	struct kh_rec_mem_error e = {0};
	e.kind = overflow ? KH_MEM_OVERFLOW : KH_MEM_USE_AFTER_FREE;
	e.addr = a;
	e.flags = write ? KH_MEM_WRITE : KH_MEM_READ;
	bool go_on = keep_going && !write;
	if (!go_on)
		e.flags |= KH_MEM_STOPPED;
	uint64_t frames[KH_MEM_FRAMES];
	uint32_t n = 1;
	frames[0] = pc;
	if (!__atomic_exchange_n(&fault_busy, 1, __ATOMIC_ACQUIRE)) {
		uintptr_t lo = 0, hi = 0;
		if (agent_thread_stack_at(sp, &lo, &hi)) {
			fault_ut.stack_lo = lo;
			fault_ut.stack_hi = hi;
		} else {
			fault_ut.stack_lo = fault_ut.stack_hi = 0;
		}
		bool whole;
		/* pc + 1: the unwinder looks up the row of the byte before a return address */
		int k = agent_unwind_backtrace_from(&fault_ut, fault_ips, KH_MEM_FRAMES, pc + 1, sp, bp, &whole);
		for (int i = 1; i < k && n < KH_MEM_FRAMES; i++)
			frames[n++] = (uint64_t)(uintptr_t)fault_ips[i] - 1; /* the call, not what follows it */
		__atomic_store_n(&fault_busy, 0, __ATOMIC_RELEASE);
	}
	e.n_access = (uint16_t)n;
	error_send(&e, frames, s);
	if (!go_on)
		stop_now();
	/* keep going after a read: the page answers reads from now on */
	s->disarmed = 1;
	if (overflow)
		mprotect((void *)(uintptr_t)guard, MC_PAGE, PROT_READ);
	else
		mprotect((void *)(uintptr_t)s->lo, (uint64_t)(s->pages - 1) * MC_PAGE, PROT_READ);
out:
	errno = saved;
}

bool agent_memcheck_sigaction(int sig, const void *act, void *old, int *rc)
{
	if (sig != SIGSEGV || !__atomic_load_n(&region, __ATOMIC_ACQUIRE))
		return false;
	if (old)
		*(struct sigaction *)old = chained;
	if (act)
		chained = *(const struct sigaction *)act;
	*rc = 0;
	return true;
}

/* ---- the mode ---- */

/* Once, at the first allocation or at the start, whichever comes first
 * (the program's first blocks come before the agent's constructor). */
static void mc_init(void)
{
	real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
	real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	if (!real_sigaction || !real_posix_memalign)
		return;
	q_limit = env_u64(KH_ENV_MC_QUARANTINE, MC_QUARANTINE);
	const char *k = getenv(KH_ENV_MC_KEEP_GOING);
	keep_going = k && k[0] == '1';
	exit_code = (int)env_u64(KH_ENV_MC_EXITCODE, MC_EXIT_DEFAULT);
	void *r = mmap(NULL, MC_REGION, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	page_span = agent_map(MC_REGION / MC_PAGE * sizeof(uint32_t));
	spans = agent_map((size_t)MC_MAX_SPANS * sizeof(struct span));
	if (r == MAP_FAILED || !page_span || !spans)
		return; /* blocks come from the real allocator: the summary says so */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (real_sigaction(SIGSEGV, &sa, &chained) != 0) {
		munmap(r, MC_REGION);
		return;
	}
	__atomic_store_n(&region, (uintptr_t)r, __ATOMIC_RELEASE);
}

static int init_state; /* 0 not yet, 1 under way, 2 done */

static void mc_start(void)
{
	int expect = 0;
	if (__atomic_compare_exchange_n(&init_state, &expect, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		mc_init();
		__atomic_store_n(&init_state, 2, __ATOMIC_RELEASE);
	}
}

static void mc_process_start(void)
{
	pthread_mutex_init(&mc_lock, NULL);
	fault_busy = 0;
}

static void mc_exit(void)
{
	stats_send();
}

/* The live blocks for the leak scan (agent_mode.h: the agent's lock is
 * held, the program's code has run). Blocks the real allocator served
 * (unguarded) are not known here: the summary counts them. */
static void mc_live_send(void)
{
	struct {
		struct kh_rec_mem_live l;
		uint64_t frames[KH_MEM_FRAMES];
	} r;
	pthread_mutex_lock(&mc_lock);
	for (uint32_t i = 0; i < nspans; i++) {
		const struct span *s = &spans[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != SPAN_LIVE)
			continue;
		memset(&r.l, 0, sizeof(r.l));
		r.l.addr = s->user;
		r.l.size = s->size;
		r.l.tid = s->alloc_tid;
		r.l.n_frames = s->n_alloc;
		memcpy(r.frames, s->alloc_stack, s->n_alloc * sizeof(uint64_t));
		uint32_t len = (uint32_t)(sizeof(r.l) - sizeof(r.l.h) + s->n_alloc * sizeof(uint64_t));
		if (agent_channel_write(KH_REC_MEM_LIVE, (char *)&r + sizeof(r.l.h), len, true))
			break;
	}
	pthread_mutex_unlock(&mc_lock);
}

/* The counts, once: at exit, or when an error stops the process. */
static void stats_send(void)
{
	static int sent;
	if (__atomic_exchange_n(&sent, 1, __ATOMIC_ACQ_REL))
		return;
	struct kh_rec_mem_stats st = {0};
	st.guarded = __atomic_load_n(&n_guarded, __ATOMIC_RELAXED);
	st.unguarded = __atomic_load_n(&n_unguarded, __ATOMIC_RELAXED);
	st.evicted = __atomic_load_n(&n_evicted, __ATOMIC_RELAXED);
	st.quarantine = q_limit;
	for (int i = 0; i < 1000; i++) {
		if (agent_lock_try()) {
			agent_channel_write(KH_REC_MEM_STATS, (char *)&st + sizeof(st.h), sizeof(st) - sizeof(st.h),
			                    true);
			agent_lock_release();
			return;
		}
		usleep(1000);
	}
}

static void *mc_alloc_entry(size_t size, size_t align, bool zero, const struct agent_caller *from)
{
	if (__builtin_expect(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2, 0)) {
		mc_start();
		if (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2) {
			/* another thread sets the mode up: not counted */
			void *p = NULL;
			if (real_posix_memalign && real_posix_memalign(&p, align, size ? size : 1) == 0 && zero)
				memset(p, 0, size);
			return p;
		}
	}
	if (!__atomic_load_n(&region, __ATOMIC_ACQUIRE))
		return unguarded(size, align, zero);
	return mc_alloc(size, align, zero, from);
}

static const struct agent_heap mc_heap = {
    .alloc = mc_alloc_entry,
    .free = mc_free,
    .realloc = mc_realloc,
    .usable = mc_usable,
};

const struct agent_mode agent_mode_memcheck = {
    .name = "memcheck",
    .id = KH_MODE_MEMCHECK,
    .alloc_hooks = false,
    .heap = &mc_heap,
    .start = mc_start,
    .process_start = mc_process_start,
    .exit = mc_exit,
    .live_send = mc_live_send,
};
