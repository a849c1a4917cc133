/* agent_memcheck.c - the agent's memcheck mode: a guard-page allocator
 * that turns heap errors into reports (`kiln memcheck`).
 *
 * Every guarded block gets pages of its own in one large reservation made
 * at the start (no memory behind it): the block ends at the end of its
 * last data page, against a guard page (or, with KH_ENV_MC_UNDERFLOW,
 * starts right after one), 16-byte aligned (or as memalign and friends
 * ask); the slack between the block and its pages' end, and up to
 * MC_BEFORE bytes before it, hold a pattern checked at free. A freed
 * block's pages are emptied and made inaccessible in one call and wait in
 * a FIFO quarantine bounded by bytes; then they serve another block of
 * the same page count: a use after free faults. With guard markers
 * (agent_mc_pages.h) small spans are carved 32 at a time with one call
 * for their guards, and evicted spans are opened 64 at a time, so a
 * block costs about one system call (its free) and its first touch. A
 * page table over the reservation names the block of any address, so the
 * SIGSEGV handler tells a fault on a guard page (heap overflow) or a
 * freed block (use after free) from the program's own faults, which go to
 * the handler the program installed (sigaction is interposed:
 * agent_cpu.c). Frees check for double and invalid frees, and for a
 * block freed by another family than allocated it (new + free).
 *
 * Each error is one KH_REC_MEM_ERROR with the access (or free) stack and
 * the block's allocation and free stacks. Then the process stops with
 * KH_ENV_MC_EXITCODE's status, or, with KH_ENV_MC_KEEP_GOING, goes on where
 * that is safe: a read fault's page is made readable (that block is no
 * longer guarded), a bad free is ignored, a realloc of freed memory
 * returns NULL; a write fault always stops (the program wrote memory it
 * does not own: what it did next is not to be trusted).
 *
 * Blocks come from the real allocator, unguarded, when --sample passes
 * them over (a per-thread countdown: no lock, no system call), when
 * max_guarded blocks are live, or when the reservation is full or the
 * kernel refuses a mapping; the last two are counted (KH_REC_MEM_STATS).
 * Their frees go back to it: a pointer outside the reservation is not
 * ours, which an address compare tells. With --sample the core's entry
 * points make that compare and the countdown themselves
 * (agent_heap_bypass_set()): a block passed over costs malloc and free a
 * decrement or a compare on top of glibc's, and nothing tracks it (the
 * leak check sees the guarded blocks only, as GWP-ASan's would).
 *
 * With --sample, a guarded block of one page comes from a pool of slots
 * (GWP-ASan's way): each slot's data page is a mapping of its own that
 * mprotect closes at free and opens at reuse, keeping its memory, so a
 * reused slot costs no page fault, no zeroing and no guard marker (those
 * took most of a guarded block's time). The slot freed longest ago
 * serves once more than 256 freed ones wait (fewer with a smaller
 * --quarantine, whose part they play), else a new slot is made, up to
 * 2048 (8 MiB resident); when none is free, the block takes the path
 * above.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent/agent_maps.h"
#include "agent/agent_mc_pages.h"
#include "agent/agent_mode.h"
#include "agent/agent_unwind.h"
#include "agent/channel_format.h"

#define MC_REGION       (256ull << 30) /* address space reserved for guarded blocks */
#define MC_MAX_SPANS    (16u << 20)    /* block records (they live as long as their addresses) */
#define MC_REUSE_LISTS  256            /* evicted spans by page count modulo this */
#define MC_REUSE_WALK   16             /* spans looked at for an exact page count */
#define MC_CARVE        32             /* small spans carved at once (guard markers) */
#define MC_PENDING      64             /* evicted spans opened at once (guard markers) */
#define MC_BEFORE       256            /* pattern bytes before a block checked at free */
#define MC_PATTERN      0xa5
#define MC_QUARANTINE   (256ull << 20)
#define MC_EXIT_DEFAULT 99
/* --sample's pool of one-page slots: at most this many (8 MiB resident,
 * two mappings each); and the freed ones that stay closed before one is
 * reused (fewer with a smaller --quarantine): a new slot costs some 4 us
 * (its mapping, guard and first touch), a reused one about 1 */
#define MC_POOL_MAX  2048u
#define MC_POOL_KEEP 256u
/* live guarded blocks by default: each holds a page of memory at least
 * (and without guard markers two mappings: vm.max_map_count bounds it
 * lower, see max_guarded_default()) */
#define MC_MAX_GUARDED_DEFAULT 65536u

enum span_state {
	SPAN_LIVE = 1,
	SPAN_FREED = 2,   /* in the quarantine */
	SPAN_EVICTED = 3, /* out of it: its pages wait for a block of the same page count */
};

/* A block's pages [lo, lo + pages * MC_PAGE): its guard page last (first
 * with --underflow), its data pages the others. */
struct span {
	uint64_t lo;
	uint64_t user, size;
	uint32_t pages;
	uint32_t next; /* 1 + the next span in the quarantine or a reuse list; 0: none */
	uint8_t state;
	uint8_t n_alloc, n_free;
	uint8_t disarmed; /* keep-going made its pages readable */
	uint8_t open;     /* its data pages are accessible */
	uint8_t family;   /* enum kh_mem_family of the block's allocation */
	uint8_t pooled;   /* a slot of --sample's pool: never in the quarantine */
	uint32_t alloc_tid, free_tid;
	uint64_t alloc_stack[KH_MEM_FRAMES], free_stack[KH_MEM_FRAMES];
};

static uintptr_t region;     /* 0: the mode is off */
static uint32_t *page_span;  /* per page of the region: 1 + its span's index, 0: none */
static struct span *spans;   /* MC_MAX_SPANS of them, touched as used */
static uint64_t region_used; /* bytes handed out from the region's start */
static uint32_t nspans;
static uint32_t reuse[MC_REUSE_LISTS]; /* 1 + first evicted span of that page count (modulo) */
static uint32_t pending[MC_PENDING];   /* evicted spans still closed (guard markers) */
static uint32_t n_pending;
static uint32_t q_head, q_tail; /* the quarantine, oldest first (1 + index) */
static uint64_t q_bytes, q_limit = MC_QUARANTINE;
/* --sample's pool: the slots freed, oldest first (1 + index); the oldest
 * is reused once more than pool_keep wait (or pool_max slots exist), so a
 * freed one stays closed while at least pool_keep others are freed */
static uint32_t pool_fifo[MC_POOL_MAX];
static uint32_t pool_head, pool_count, pool_n, pool_max, pool_keep;
static bool keep_going, underflow;
static int exit_code = MC_EXIT_DEFAULT;
static uint32_t sample_every; /* guard about one allocation in this many; 0, 1: all */
static uint64_t max_guarded = MC_MAX_GUARDED_DEFAULT;
/* atomics */
static uint64_t n_guarded, n_unguarded, n_evicted, n_over_limit, n_no_room, n_live, n_foreign;

/* The mode's lock: guards the span table's lists and counts above (the
 * reuse lists, the pending spans, the quarantine, the pool's FIFO,
 * nspans and region_used); a span's own fields belong to the thread that
 * took it off a list or moved it out of SPAN_LIVE. Its word is 0 when
 * free, else its holder's thread id, MC_WAITERS set while another thread
 * sleeps on it (a futex): the holder is known the moment it takes it, so
 * a signal handler that forks can tell that its own thread holds it.
 *
 * Lock order: the rust shim's lock, then the agent's (agent.c), then
 * this one; a fork takes all three in that order in its prepare handlers
 * (the shim's, registered last, runs first) and the child finds the
 * state each guards whole. Paths that hold this lock call no allocator,
 * no loader and no lock of anyone else's: only mmap, mprotect and
 * madvise (agent_mc_pages.c), so its holder never waits for a thread
 * that is forking. The paths that take them the other way round only
 * try: error_send() and stats_send() try the agent's lock in a bounded
 * loop and hold this one never at the same time anyway; mc_live_send()
 * takes the agent's first, in order. The unwinder's insert lock
 * (agent_unwind.c) is not taken at fork: its table is read without a
 * lock, every entry published whole (key last), so the child may reset
 * it. The spare rings' pool (agent_pool.c) has no lock: atomics only. */
#define MC_WAITERS 0x80000000u /* above any thread id (pid_max is at most 2^22) */
static uint32_t mc_lock_word;
static __thread __attribute__((tls_model("initial-exec"))) uint32_t mc_tid; /* 0: not asked yet */
static bool fork_took; /* the fork's prepare handler holds the lock (the agent's lock held) */

static uint32_t mc_self(void)
{
	if (!mc_tid)
		mc_tid = agent_tid();
	return mc_tid;
}

static void mc_lock(void)
{
	uint32_t me = mc_self(), w = 0;
	if (__atomic_compare_exchange_n(&mc_lock_word, &w, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	for (;;) {
		if (!w) {
			/* others may still sleep: they are woken at the release */
			if (__atomic_compare_exchange_n(&mc_lock_word, &w, me | MC_WAITERS, false, __ATOMIC_ACQUIRE,
			                                __ATOMIC_RELAXED))
				return;
			continue;
		}
		if (!(w & MC_WAITERS) && !__atomic_compare_exchange_n(&mc_lock_word, &w, w | MC_WAITERS, false,
		                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			continue;
		syscall(SYS_futex, &mc_lock_word, FUTEX_WAIT_PRIVATE, w | MC_WAITERS, NULL, NULL, 0);
		w = __atomic_load_n(&mc_lock_word, __ATOMIC_RELAXED);
	}
}

static void mc_unlock(void)
{
	if (__atomic_exchange_n(&mc_lock_word, 0, __ATOMIC_RELEASE) & MC_WAITERS)
		syscall(SYS_futex, &mc_lock_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Whether the calling thread holds the lock. */
static bool mc_lock_mine(void)
{
	return (__atomic_load_n(&mc_lock_word, __ATOMIC_RELAXED) & ~MC_WAITERS) == mc_self();
}

/* --sample: a countdown per thread (agent_heap_skip, the core's: its
 * malloc and calloc count it down without calling the mode), reloaded
 * with a pseudo-random count of mean sample_every, so the decision is a
 * decrement and a branch */
static __thread __attribute__((tls_model("initial-exec"))) uint32_t sample_rng;

/* The real allocator, for the blocks that are not guarded. */
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);

/* The program's SIGSEGV handler: gets every fault that is not ours. */
static struct sigaction chained;
typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction;
static int (*real_posix_memalign)(void **, size_t, size_t);

/* The fault handler's unwinder state: one fault is reported at a time. */
static struct agent_unwind_thread fault_ut;
static int fault_busy;
static void *fault_ips[KH_MEM_FRAMES + 1];

/* A whole decimal number, up to the end or a newline (a /proc file's
 * last), else def. */
static uint64_t dec_u64(const char *s, uint64_t def)
{
	uint64_t v = 0;
	if (!s || !*s)
		return def;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return *s && *s != '\n' ? def : v;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	return dec_u64(getenv(name), def);
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

static uint64_t span_guard(const struct span *s)
{
	return underflow ? s->lo : s->lo + (uint64_t)(s->pages - 1) * MC_PAGE;
}

/* The data pages [lo, lo + len). */
static struct mc_range span_data(const struct span *s)
{
	struct mc_range r = {(uintptr_t)(underflow ? s->lo + MC_PAGE : s->lo), (size_t)(s->pages - 1) * MC_PAGE};
	return r;
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

/* The pattern around a block: the bytes up to MC_BEFORE before it in its
 * data pages, and all from its end to the guard (or the pages' end). */
static void pattern_fill(const struct span *s)
{
	struct mc_range d = span_data(s);
	uint64_t before = s->user - d.lo < MC_BEFORE ? s->user - d.lo : MC_BEFORE;
	memset((void *)(uintptr_t)(s->user - before), MC_PATTERN, before);
	memset((void *)(uintptr_t)(s->user + s->size), MC_PATTERN, d.lo + d.len - s->user - s->size);
}

/* Whether [lo, hi) holds the pattern: eight bytes at a time where aligned. */
static bool pattern_intact(uintptr_t lo, uintptr_t hi)
{
	const uint64_t word = 0x0101010101010101ull * MC_PATTERN;
	for (; lo < hi && (lo & 7); lo++)
		if (*(const uint8_t *)lo != MC_PATTERN)
			return false;
	for (; lo + 8 <= hi; lo += 8) {
		uint64_t w;
		memcpy(&w, (const void *)lo, 8);
		if (w != word)
			return false;
	}
	for (; lo < hi; lo++)
		if (*(const uint8_t *)lo != MC_PATTERN)
			return false;
	return true;
}

/* The first byte around the block that lost its pattern, or 0. */
static uintptr_t pattern_damage(const struct span *s)
{
	struct mc_range d = span_data(s);
	uint64_t before = s->user - d.lo < MC_BEFORE ? s->user - d.lo : MC_BEFORE;
	if (pattern_intact(s->user + s->size, d.lo + d.len) && pattern_intact(s->user - before, s->user))
		return 0;
	for (uint64_t a = s->user + s->size; a < d.lo + d.len; a++)
		if (*(const uint8_t *)(uintptr_t)a != MC_PATTERN)
			return (uintptr_t)a;
	/* before the block, nearest first: an underflow's first byte */
	for (uint64_t a = s->user; a-- > s->user - before;)
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

/* Lock held: the evicted spans still closed are opened, all in one call,
 * and join the reuse lists (a span that would not open is opened again
 * when it is taken). */
static void pending_flush(void)
{
	struct mc_range r[MC_PENDING];
	for (uint32_t i = 0; i < n_pending; i++)
		r[i] = span_data(&spans[pending[i] - 1]);
	bool ok = mc_pages_open(r, (int)n_pending) == 0;
	for (uint32_t i = 0; i < n_pending; i++) {
		struct span *s = &spans[pending[i] - 1];
		s->open = ok;
		reuse_put(s);
	}
	n_pending = 0;
}

/* Lock held: an evicted span leaves the quarantine. With guard markers it
 * waits to be opened with others; else it is opened when taken. */
static void evict(struct span *s)
{
	s->state = SPAN_EVICTED;
	__atomic_fetch_add(&n_evicted, 1, __ATOMIC_RELAXED);
	if (!mc_pages_markers()) {
		reuse_put(s);
		return;
	}
	if (n_pending == MC_PENDING)
		pending_flush();
	pending[n_pending++] = span_id(s);
}

/* Lock held: new spans of pages at the region's end, the first returned,
 * the others (small spans with guard markers: their guards are installed
 * in one call) in the reuse lists. NULL when the region or the span table
 * is full, or the kernel refuses (vm.max_map_count). */
static struct span *span_carve(uint32_t pages)
{
	uint64_t bytes = (uint64_t)pages * MC_PAGE;
	uint32_t k = mc_pages_markers() && pages <= 4 ? MC_CARVE : 1;
	if (nspans + k > MC_MAX_SPANS || region_used + k * bytes > MC_REGION)
		k = 1;
	if (nspans + k > MC_MAX_SPANS || region_used + k * bytes > MC_REGION)
		return NULL;
	struct mc_range g[MC_CARVE];
	for (uint32_t i = 0; i < k; i++) {
		struct span *s = &spans[nspans + i];
		s->lo = region + region_used + i * bytes;
		s->pages = pages;
		s->open = 1;
		g[i].lo = (uintptr_t)span_guard(s);
		g[i].len = MC_PAGE;
	}
	if (mc_pages_guard_fresh(g, (int)k) != 0)
		return NULL;
	struct span *first = &spans[nspans];
	struct mc_range d = span_data(first);
	if (mc_pages_data_fresh(d.lo, d.len) != 0)
		return NULL;
	for (uint32_t i = 0; i < k; i++) {
		uint32_t id = nspans + i + 1;
		uint64_t page0 = (region_used + i * bytes) / MC_PAGE;
		for (uint32_t p = 0; p < pages; p++)
			__atomic_store_n(&page_span[page0 + p], id, __ATOMIC_RELEASE);
	}
	nspans += k;
	region_used += k * bytes;
	for (uint32_t i = 1; i < k; i++)
		reuse_put(first + i);
	return first;
}

/* A span of pages (the guard included), with the lock held: an evicted
 * one of that page count, or new pages at the region's end; NULL when
 * there is none. Its data pages are accessible. */
static struct span *span_take(uint32_t pages)
{
	struct span *s = reuse_take(pages);
	if (!s && n_pending) {
		pending_flush();
		s = reuse_take(pages);
	}
	if (!s)
		s = span_carve(pages);
	if (!s)
		return NULL;
	struct mc_range d = span_data(s);
	if (s->disarmed) {
		/* keep-going made it readable: guard and data pages as they were */
		if (mc_pages_rearm(span_guard(s), MC_PAGE, true) != 0 || mc_pages_rearm(d.lo, d.len, false) != 0) {
			reuse_put(s);
			return NULL;
		}
		s->disarmed = 0;
		s->open = 1;
	}
	if (!s->open) {
		if (mc_pages_open(&d, 1) != 0) {
			/* no mapping left (vm.max_map_count): keep it for later */
			reuse_put(s);
			return NULL;
		}
		s->open = 1;
	}
	s->next = 0;
	return s;
}

/* Lock held: a new slot of the pool at the region's end, its data page a
 * mapping of its own; NULL when there is no room. */
static struct span *pool_carve(void)
{
	if (nspans + 1 > MC_MAX_SPANS || region_used + 2 * MC_PAGE > MC_REGION)
		return NULL;
	struct span *s = &spans[nspans];
	s->lo = region + region_used;
	s->pages = 2;
	struct mc_range g = {(uintptr_t)span_guard(s), MC_PAGE}, d = span_data(s);
	if (mc_pages_slot_fresh(d.lo, d.len) != 0 || mc_pages_guard_fresh(&g, 1) != 0)
		return NULL;
	s->open = 1;
	s->pooled = 1;
	uint64_t page0 = region_used / MC_PAGE;
	for (uint32_t p = 0; p < 2; p++)
		__atomic_store_n(&page_span[page0 + p], nspans + 1, __ATOMIC_RELEASE);
	nspans++;
	region_used += 2 * MC_PAGE;
	pool_n++;
	return s;
}

/* Lock held: a slot for a one-page block with --sample: the one freed
 * longest ago when more than pool_keep wait, opened again (its page kept
 * its memory: no fault, no zeroing), else a new one while fewer than
 * pool_max exist, else the oldest freed; NULL when none is free. A slot
 * that --keep-going made readable is dropped. */
static struct span *pool_take(void)
{
	if (pool_count <= pool_keep && pool_n < pool_max) {
		struct span *s = pool_carve();
		if (s)
			return s;
		pool_max = pool_n; /* no room for more: reuse what there is */
	}
	while (pool_count) {
		struct span *s = &spans[pool_fifo[pool_head] - 1];
		pool_head = (pool_head + 1) % MC_POOL_MAX;
		pool_count--;
		if (s->disarmed)
			continue;
		struct mc_range d = span_data(s);
		if (!s->open && mc_pages_slot_open(d.lo, d.len) != 0) {
			pool_fifo[(pool_head + pool_count++) % MC_POOL_MAX] = span_id(s);
			return NULL;
		}
		s->open = 1;
		return s;
	}
	return NULL;
}

/* A freed slot closes (its memory stays) and joins the pool's free ones. */
static void pool_put(struct span *s)
{
	struct mc_range d = span_data(s);
	if (mc_pages_slot_close(d.lo, d.len) == 0)
		s->open = 0;
	mc_lock();
	pool_fifo[(pool_head + pool_count++) % MC_POOL_MAX] = span_id(s);
	mc_unlock();
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
		evict(s);
	}
}

/* A block of the real allocator's. */
static inline __attribute__((always_inline)) void *plain(size_t size, size_t align, bool zero)
{
	void *p = NULL;
	if (align <= 16 && real_malloc && real_calloc)
		return zero ? real_calloc(1, size) : real_malloc(size);
	if (!real_posix_memalign || real_posix_memalign(&p, align, size ? size : 1) != 0)
		return NULL;
	if (zero)
		memset(p, 0, size);
	return p;
}

static void *unguarded(size_t size, size_t align, bool zero, uint64_t *why)
{
	__atomic_fetch_add(&n_unguarded, 1, __ATOMIC_RELAXED);
	if (why)
		__atomic_fetch_add(why, 1, __ATOMIC_RELAXED);
	return plain(size, align, zero);
}

static void *mc_alloc(size_t size, size_t align, bool zero, int family, const struct agent_caller *from)
{
	if (size > MC_REGION / 2) {
		errno = ENOMEM;
		return NULL;
	}
	/* the block ends at its guard rounded down to align (or starts at
	 * its first data page rounded up): at worst size + align - 1 bytes */
	uint64_t need = ((uint64_t)size + align - 1) & ~((uint64_t)align - 1);
	if (align > MC_PAGE)
		need += align;
	uint32_t pages = (uint32_t)((need + MC_PAGE - 1) / MC_PAGE);
	if (!pages)
		pages = 1;
	pages++; /* the guard */
	mc_lock();
	struct span *s = pages == 2 && pool_max ? pool_take() : NULL;
	if (!s)
		s = span_take(pages);
	mc_unlock();
	if (!s)
		return unguarded(size, align, zero, &n_no_room);
	struct mc_range d = span_data(s);
	if (underflow)
		s->user = (d.lo + align - 1) & ~((uint64_t)align - 1);
	else
		s->user = (d.lo + d.len - size) & ~((uint64_t)align - 1);
	s->size = size;
	s->family = (uint8_t)family;
	s->alloc_tid = agent_tid();
	s->free_tid = 0;
	s->n_free = 0;
	s->n_alloc = (uint8_t)agent_backtrace(from, s->alloc_stack, KH_MEM_FRAMES);
	/* fresh or emptied pages read as zeros: calloc's promise holds; a
	 * pool slot's page keeps its last block's bytes */
	if (zero && s->pooled)
		memset((void *)(uintptr_t)s->user, 0, size);
	pattern_fill(s);
	__atomic_store_n(&s->state, SPAN_LIVE, __ATOMIC_RELEASE);
	__atomic_fetch_add(&n_guarded, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&n_live, 1, __ATOMIC_RELAXED);
	return (void *)(uintptr_t)s->user;
}

/* --sample: whether this allocation is guarded. */
static inline bool sample_take(void)
{
	uint32_t n = agent_heap_skip;
	if (__builtin_expect(n > 1, 1)) {
		agent_heap_skip = n - 1;
		return false;
	}
	/* xorshift32, seeded by the thread's own address: no system call */
	uint32_t x = sample_rng ? sample_rng : (uint32_t)((uintptr_t)&sample_rng >> 4) * 2654435761u | 1u;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	sample_rng = x;
	agent_heap_skip = 1 + x % (2 * sample_every - 1); /* mean sample_every */
	return n == 1;
}

/* The module ranges (PT_LOAD segments) an invalid free is checked
 * against, taken once: a pointer into a module loaded later is left to
 * the real allocator, which aborts on it. */
#define MC_MODULE_RANGES 128
static struct mc_range module_ranges[MC_MODULE_RANGES];
static int n_module_ranges;
static int modules_state; /* 0 not taken, 1 being taken, 2 taken */
static __thread __attribute__((tls_model("initial-exec"))) uintptr_t gap_lo, gap_len;

static int module_collect(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	(void)ctx;
	for (int i = 0; i < info->dlpi_phnum && n_module_ranges < MC_MODULE_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD)
			module_ranges[n_module_ranges++] =
			    (struct mc_range){(uintptr_t)(info->dlpi_addr + ph->p_vaddr), (size_t)ph->p_memsz};
	}
	return 0;
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

/* Whether a lies in a module's image. The first caller takes the ranges
 * (no lock of ours is held around dl_iterate_phdr: the loader's lock and
 * ours must never nest); until they are taken, the modules are walked. */
static bool module_holds(uintptr_t a)
{
	int st = __atomic_load_n(&modules_state, __ATOMIC_ACQUIRE);
	if (st == 0 && __atomic_compare_exchange_n(&modules_state, &st, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		dl_iterate_phdr(module_collect, NULL);
		/* sorted by start, for a binary search on every free */
		for (int i = 1; i < n_module_ranges; i++) {
			struct mc_range r = module_ranges[i];
			int j = i;
			for (; j > 0 && module_ranges[j - 1].lo > r.lo; j--)
				module_ranges[j] = module_ranges[j - 1];
			module_ranges[j] = r;
		}
		__atomic_store_n(&modules_state, 2, __ATOMIC_RELEASE);
		st = 2;
	}
	if (st != 2) {
		struct where w = {a, false};
		dl_iterate_phdr(in_module, &w);
		return w.found;
	}
	/* the gap between modules the last such pointer was in (the
	 * allocator's heap, most often): two compares for the next */
	if (a - gap_lo < gap_len)
		return false;
	int lo = 0, hi = n_module_ranges; /* the last range starting at or before a */
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (module_ranges[mid].lo <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ranges may nest (a module's segments overlap none, but look back a few) */
	uintptr_t from = 0;
	for (int i = lo - 1; i >= 0 && i >= lo - 4; i--) {
		if (a - module_ranges[i].lo < module_ranges[i].len)
			return true;
		if (module_ranges[i].lo + module_ranges[i].len > from)
			from = module_ranges[i].lo + module_ranges[i].len;
	}
	gap_lo = from;
	gap_len = (lo < n_module_ranges ? module_ranges[lo].lo : UINTPTR_MAX) - from;
	return false;
}

/* A pointer outside the region: a stack or a module's image never came
 * from malloc; anything else may be a block of the real allocator's (made
 * before the mode started, or unguarded). */
static int foreign_free(void *p, const struct agent_caller *from)
{
	uintptr_t a = (uintptr_t)p, lo, hi;
	uint32_t flags = 0;
	__atomic_fetch_add(&n_foreign, 1, __ATOMIC_RELAXED);
	if (agent_thread_stack_at(a, &lo, &hi))
		flags = KH_MEM_ON_STACK;
	else if (module_holds(a))
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

/* A block freed by a call of another family than allocated it: reported
 * (the free goes on when the program does). */
static void family_check(struct span *s, int family, const struct agent_caller *from)
{
	if (s->family == family)
		return;
	/* (its free stack is not taken yet: the report shows it live) */
	uint32_t flags = (uint32_t)s->family << 8 | (uint32_t)family << 10;
	error_call(KH_MEM_MISMATCHED_FREE, s->user, s, flags, from);
}

static void span_release(struct span *s, const struct agent_caller *from)
{
	uintptr_t bad = pattern_damage(s);
	if (bad)
		error_call(KH_MEM_SLACK_DAMAGE, bad, s, 0, from);
	s->free_tid = agent_tid();
	s->n_free = (uint8_t)agent_backtrace(from, s->free_stack, KH_MEM_FRAMES);
	__atomic_fetch_sub(&n_live, 1, __ATOMIC_RELAXED);
	if (s->pooled) {
		pool_put(s);
		return;
	}
	struct mc_range d = span_data(s);
	if (mc_pages_close(d.lo, d.len) == 0)
		s->open = 0;
	mc_lock();
	s->next = 0;
	if (q_tail)
		spans[q_tail - 1].next = span_id(s);
	else
		q_head = span_id(s);
	q_tail = span_id(s);
	q_bytes += (uint64_t)s->pages * MC_PAGE;
	quarantine_trim();
	mc_unlock();
}

static inline __attribute__((always_inline)) int mc_free_as(void *p, int family, const struct agent_caller *from)
{
	uintptr_t a = (uintptr_t)p;
	if (!in_region(a))
		return foreign_free(p, from);
	struct span *s = span_of(a);
	if (free_check(p, s, KH_MEM_DOUBLE_FREE, from))
		return 0;
	family_check(s, family, from);
	span_release(s, from);
	return 0;
}

static int mc_free(void *p, const struct agent_caller *from)
{
	return mc_free_as(p, KH_MEM_FAMILY_MALLOC, from);
}

static inline __attribute__((always_inline)) void *mc_alloc_entry(size_t size, size_t align, bool zero, int family,
                                                                  const struct agent_caller *from);

static int mc_realloc(void *p, size_t size, const struct agent_caller *from, void **out)
{
	uintptr_t a = (uintptr_t)p;
	if (!p) {
		*out = mc_alloc_entry(size, 16, false, KH_MEM_FAMILY_MALLOC, from);
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
	family_check(s, KH_MEM_FAMILY_MALLOC, from);
	if (!size) {
		span_release(s, from);
		*out = NULL;
		return 0;
	}
	void *n = mc_alloc_entry(size, 16, false, KH_MEM_FAMILY_MALLOC, from);
	if (!n) {
		/* the old block stays the program's, as realloc(3) says */
		__atomic_store_n(&s->state, SPAN_LIVE, __ATOMIC_RELEASE);
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
	/* an inaccessible page is SEGV_ACCERR, a guard marker SEGV_MAPERR */
	bool prot = si->si_code == SEGV_ACCERR || si->si_code == SEGV_MAPERR;
	struct span *s = prot ? span_of(a) : NULL;
	struct span *owner = s; /* the span whose page faulted */
	uint8_t st = s ? __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) : 0;
	uint64_t guard = s ? span_guard(s) : 0;
	bool on_guard = s && a >= guard && a < guard + MC_PAGE;
	if (underflow && on_guard && guard > region) {
		/* the guard before a block is also after the one before it:
		 * the access is told against the nearer of the two */
		struct span *p = span_of((uintptr_t)guard - 1);
		if (p && p != s && __atomic_load_n(&p->state, __ATOMIC_ACQUIRE) == SPAN_LIVE &&
		    (st != SPAN_LIVE || a - (p->user + p->size) < s->user - a)) {
			s = p;
			st = SPAN_LIVE;
		}
	}
	bool overflow = st == SPAN_LIVE && on_guard;
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
	owner->disarmed = 1;
	mc_pages_disarm(a & ~(uintptr_t)(MC_PAGE - 1), MC_PAGE);
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

/* Without guard markers each live guarded block costs two mappings (its
 * data pages and its guard, where neighbours do not merge): the default
 * leaves room under vm.max_map_count for the program's own and for
 * --sample's pool of slots (pool_max, set first). */
static uint64_t max_guarded_default(void)
{
	if (mc_pages_markers())
		return MC_MAX_GUARDED_DEFAULT;
	uint64_t count = 65530; /* the kernel's default */
	char buf[32];
	int fd = open("/proc/sys/vm/max_map_count", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = 0;
		uint64_t v = dec_u64(buf, 0);
		if (v)
			count = v;
	}
	/* the program keeps 8192 for its own; --sample's pool takes two a slot */
	uint64_t keep = 8192 + 2 * (uint64_t)pool_max;
	uint64_t room = count > keep ? (count - keep) / 2 : count / 4;
	return room < MC_MAX_GUARDED_DEFAULT ? room : MC_MAX_GUARDED_DEFAULT;
}

/* Once, at the first allocation or at the start, whichever comes first
 * (the program's first blocks come before the agent's constructor). */
static void mc_init(void)
{
	real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
	real_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	if (!real_sigaction || !real_posix_memalign)
		return;
	/* syscall(3) is the agent's (agent_sandbox.c), which looks libc's up
	 * at its first call: made now, so no dlsym (the loader's lock, which a
	 * constructor that allocates holds) ever runs with the mode's lock held */
	syscall(SYS_getpid);
	q_limit = env_u64(KH_ENV_MC_QUARANTINE, MC_QUARANTINE);
	const char *k = getenv(KH_ENV_MC_KEEP_GOING);
	keep_going = k && k[0] == '1';
	k = getenv(KH_ENV_MC_UNDERFLOW);
	underflow = k && k[0] == '1';
	exit_code = (int)env_u64(KH_ENV_MC_EXITCODE, MC_EXIT_DEFAULT);
	uint64_t n = env_u64(KH_ENV_MC_SAMPLE, 0);
	sample_every = n > 1 ? (n < (1u << 30) ? (uint32_t)n : 1u << 30) : 0;
	/* the pool's freed slots are --sample's quarantine: as many as it holds */
	uint64_t slots = q_limit / (2 * MC_PAGE);
	pool_keep = slots < MC_POOL_KEEP ? (uint32_t)slots : MC_POOL_KEEP;
	pool_max = sample_every ? MC_POOL_MAX : 0;
	k = getenv(KH_ENV_MC_MPROTECT);
	void *r = mc_pages_reserve(MC_REGION, k && k[0] == '1');
	page_span = agent_map(MC_REGION / MC_PAGE * sizeof(uint32_t));
	spans = agent_map((size_t)MC_MAX_SPANS * sizeof(struct span));
	if (!r || !page_span || !spans)
		return; /* blocks come from the real allocator: the summary says so */
	/* not a root of the leak scan (its live blocks are the scan's blocks),
	 * and with guard markers a read-write mapping it must not read */
	agent_own_add(r, MC_REGION);
	max_guarded = env_u64(KH_ENV_MC_MAX_GUARDED, 0);
	if (!max_guarded)
		max_guarded = max_guarded_default();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (real_sigaction(SIGSEGV, &sa, &chained) != 0) {
		munmap(r, MC_REGION);
		return;
	}
	/* sampled: the blocks passed over, and every pointer outside the
	 * region, go to the real allocator without entering the mode (so an
	 * invalid free of a stack or static address is glibc's to catch, as
	 * under GWP-ASan); before region is set, which lets blocks in it */
	if (sample_every)
		agent_heap_bypass_set((uintptr_t)r, MC_REGION);
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

/* A fork's prepare handler, with the agent's lock held (the order above):
 * waits for the thread inside the allocator's lists to leave them, so
 * the child gets them whole. A signal handler that forks while its own
 * thread holds the lock must not wait for itself: the thread finishes
 * its update in both processes when the handler returns. */
static void mc_fork_prepare(void)
{
	fork_took = false;
	if (mc_lock_mine())
		return;
	mc_lock();
	fork_took = true;
}

static void mc_fork_parent(void)
{
	if (fork_took)
		mc_unlock();
	fork_took = false;
}

/* The child (the calling thread is its only one): the lock is free again,
 * unless the fork came from a signal handler whose thread holds it and
 * will let it go. Without the fork handlers (a raw clone), a thread of
 * the parent's may have held it: the lists may then be half updated, as
 * the parent left them. */
static void mc_process_start(void)
{
	bool mine = !fork_took && mc_lock_mine();
	mc_tid = 0;
	fork_took = false;
	if (!mine)
		__atomic_store_n(&mc_lock_word, 0, __ATOMIC_RELEASE);
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
	mc_lock();
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
	mc_unlock();
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
	st.over_limit = __atomic_load_n(&n_over_limit, __ATOMIC_RELAXED);
	st.no_room = __atomic_load_n(&n_no_room, __ATOMIC_RELAXED);
	st.quarantine = q_limit;
	st.max_guarded = max_guarded;
	st.sample = sample_every;
	st.markers = mc_pages_markers();
	st.foreign_frees = __atomic_load_n(&n_foreign, __ATOMIC_RELAXED);
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

static inline __attribute__((always_inline)) void *mc_alloc_entry(size_t size, size_t align, bool zero, int family,
                                                                  const struct agent_caller *from)
{
	if (__builtin_expect(__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2, 0)) {
		mc_start();
		if (__atomic_load_n(&init_state, __ATOMIC_ACQUIRE) != 2)
			return plain(size, align, zero); /* another thread sets the mode up: not counted */
	}
	if (!__atomic_load_n(&region, __ATOMIC_ACQUIRE))
		return unguarded(size, align, zero, &n_no_room);
	if (sample_every && !sample_take())
		return plain(size, align, zero);
	if (__atomic_load_n(&n_live, __ATOMIC_RELAXED) >= max_guarded)
		return unguarded(size, align, zero, &n_over_limit);
	return mc_alloc(size, align, zero, family, from);
}

static void *mc_heap_alloc(size_t size, size_t align, bool zero, const struct agent_caller *from)
{
	return mc_alloc_entry(size, align, zero, KH_MEM_FAMILY_MALLOC, from);
}

static void *mc_heap_alloc_as(size_t size, size_t align, int family, const struct agent_caller *from)
{
	return mc_alloc_entry(size, align, false, family, from);
}

static const struct agent_heap mc_heap = {
    .alloc = mc_heap_alloc,
    .free = mc_free,
    .realloc = mc_realloc,
    .usable = mc_usable,
    .alloc_as = mc_heap_alloc_as,
    .free_as = mc_free_as,
};

const struct agent_mode agent_mode_memcheck = {
    .name = "memcheck",
    .id = KH_MODE_MEMCHECK,
    .alloc_hooks = false,
    .heap = &mc_heap,
    .start = mc_start,
    .process_start = mc_process_start,
    .fork_prepare = mc_fork_prepare,
    .fork_parent = mc_fork_parent,
    .exit = mc_exit,
    .live_send = mc_live_send,
};
