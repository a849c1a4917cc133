/* kiln_qemu.c - libkiln-qemu.so, kiln's TCG plugin for qemu-user: exact
 * instruction counts per translation block and call path, and (in cache
 * mode) simulated I1/D1/LL references and misses per instruction, written
 * to a file per process that src/capture/qemu_count.c reads (rewritten
 * every second and at exit).
 *
 * Arguments: dir=DIR (required; each process writes DIR/PID.qc),
 * feed=FIFO (optional: each new block's instructions as file offsets, so
 * that kiln symbolizes them while the program runs), and cache=1 with
 * i1=S:A:L, d1=S:A:L, ll=S:A:L for the cache simulation.
 *
 * How it counts: every translated block gets a descriptor, de-duplicated by
 * (address, instructions, bytes) because qemu retranslates the same code
 * many times. A callback at each block's start adds one execution to the
 * counter of (call path, block) with an atomic add, so counts stay exact
 * with any number of threads. The call path is a per-thread shadow stack
 * driven by call and ret instructions; the stack pointer is not readable in
 * QEMU 7.2, but the memory access of a call (the store of the return
 * address) and of a ret (its load) is, so every call and ret resynchronises
 * the shadow stack on the real one: frames whose return-address slot lies
 * at or below the access are dead (longjmp, unwinding, a tail-called
 * function's ret).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arch/x86_64/plt.h"
#include "capture/maps_line.h"
#include "capture/qemu_format.h"
#include "qemu/qemu_cache_sim.h"
#include "qemu/qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = KILN_QEMU_PLUGIN_VERSION;

enum insn_kind { INSN_OTHER = 0, INSN_CALL = 1, INSN_RET = 2 };

struct entry;

/* One simulated instruction fetch, its I1 line worked out at translation:
 * a fetch that hits its set's most recently used way (the common case)
 * is one load and compare at run time. */
struct fetch {
	uint64_t tag;     /* cache_sim_line_tag() of its one line; 0: it straddles two */
	uint32_t set_off; /* cache_sim_line_slot() of that line */
	uint32_t insn;    /* its index in the block */
};

#define TB_HINTS 16
struct tb_desc {
	uint32_t id;
	uint32_t ninsns;
	uint64_t vaddr;
	uint64_t last_insn; /* the address of its last instruction */
	uint32_t bytes;
	bool plt_stub;       /* only a PLT entry's jump: a call through it enters the
	                      * function it jumps to, which counts the call */
	uint64_t *insn_addr; /* ninsns */
	uint8_t *insn_size;  /* ninsns */
	struct fetch *fetch; /* cache mode: the instructions whose fetch is simulated */
	uint32_t nfetch;
	struct tb_desc *next;
	/* the counters this block last added to, in any thread, one per
	 * call path node modulo TB_HINTS: a loop stays in one call path, and
	 * a function called from several (a recursion's levels, a helper's
	 * callers) finds each path's counter here too, without hashing.
	 * Sixteen: the sort of bench/count_work.rs runs most of its blocks
	 * under 5 to 16 paths; with one hint a fifth of the executions
	 * hashed their way to the counter, with sixteen a fortieth */
	struct entry *_Atomic hint[TB_HINTS];
};

/* One instruction's memory callback data in cache mode. */
struct insn_ref {
	struct tb_desc *tb;
	uint32_t index;
	uint8_t kind;
};

struct entry {
	uint32_t node, tb;
	_Atomic uint64_t execs;
	_Atomic uint64_t calls;  /* executions that entered a function called
	                          * under node: callgrind's calls= */
	_Atomic uint64_t *cache; /* ninsns * KQ_CACHE_EVENTS, cache mode only */
	struct entry *next;
};

struct node {
	uint32_t id, parent;
	uint64_t site; /* address of the call instruction */
	struct node *next;
};

#define SHADOW_MAX 4096
struct frame {
	uint32_t node;
	uint64_t slot; /* where the call stored its return address */
};

struct thread_state {
	_Atomic uint64_t *last; /* this thread's slot in DIR/PID.last */
	uint32_t depth;
	uint32_t node; /* the top frame's call path node (0: the root), kept
	                * by the calls and rets, read by every block */
	bool entering; /* a call pushed node: the next block (past PLT
	                * stubs) is the callee's entry */
	struct frame stack[SHADOW_MAX];
	/* the block this thread runs (its memory callbacks check it) and,
	 * in cache mode, the counter it adds to (they charge it too) */
	struct entry *cur;
	struct tb_desc *cur_tb;
	/* direct-mapped caches of (node, tb) -> entry and of (parent, call
	 * site) -> child node, so that the shared tables (and their lock) are
	 * rarely reached */
	struct entry *cache[8192];
	struct node *node_cache[2048];
};

#define HASH_BITS 16
enum { FLUSH_BEFORE, FLUSH_PENDING, FLUSH_DONE };
/* CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM */
#define CLONE_THREAD_FLAGS 0x00050f00u
static struct {
	pthread_mutex_t lock;
	char dir[4096];
	bool cache_mode;
	struct cache_sim sim;
	pthread_mutex_t sim_lock;
	/* set (for good) just before the process makes its second thread:
	 * from then on every counter update is atomic, before then a plain
	 * add, which is several times cheaper */
	_Atomic bool multi;
	/* QEMU 7.2 leaves a vCPU's pointer to the memory callbacks of the last
	 * instruction that ended its block through a helper (a ret, a call to
	 * another page) set after the block, and its atomic helpers call
	 * through it. When the process makes its first thread, QEMU flushes
	 * every translation and frees those callbacks: a thread that ran such
	 * an instruction between the clone and the flush then calls through
	 * freed memory at its next atomic instruction, and QEMU aborts
	 * ("qemu_plugin_vcpu_mem_cb: code should not be reached", fixed in
	 * QEMU 8.0). From the clone to the flush (flush_window), blocks are
	 * translated without memory callbacks; the flush throws them away. */
	_Atomic int flush_window; /* FLUSH_BEFORE, FLUSH_PENDING, FLUSH_DONE */
	/* descriptors, call-path nodes and counters: chained hash tables whose
	 * records never move; ids index the arrays */
	struct tb_desc *tb_hash[1 << HASH_BITS];
	struct tb_desc **tbs;
	uint32_t ntbs, cap_tbs;
	struct node *node_hash[1 << HASH_BITS];
	struct node **nodes;
	uint32_t nnodes, cap_nodes;
	/* read without the lock (a record is complete before its bucket
	 * points to it, and never changes or moves after), added to under it */
	struct entry *_Atomic entry_hash[1 << HASH_BITS];
	/* guest mappings holding translated code */
	struct kq_map {
		uint64_t start, end, pgoff;
		char *path;
	} * maps;
	uint32_t nmaps, cap_maps;
	char exec_path[4096];
	bool exec_pending;
	bool exited;
	/* DIR/PID.last, shared with kiln: the last instruction of the block
	 * each thread last translated, one 64-byte line per thread, so that
	 * when the process dies of SIGILL (no exit callback runs) kiln can
	 * name the instruction QEMU could not emulate. QEMU translates a block
	 * just before it first runs it, and a block holding an instruction it
	 * cannot decode dies on that first run, so the block last translated
	 * is the one; written at each execution instead, it cost count mode a
	 * twentieth of its time */
	_Atomic uint64_t *last;
	_Atomic uint32_t nslots;
	pthread_t flusher;
	bool flusher_running;
	/* feed=FIFO: "t" lines (qemu_format.h) gathered here and written a
	 * pipe buffer at a time, which a pipe takes whole or not at all */
	char feed[4096];
	bool feed_on;
	char feed_buf[KQ_FEED_CHUNK];
	size_t feed_len;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER, .sim_lock = PTHREAD_MUTEX_INITIALIZER};

/* initial-exec: no __tls_get_addr call per block (the pointer fits in the
 * static TLS that glibc keeps for libraries loaded later) */
static __thread struct thread_state *tls __attribute__((tls_model("initial-exec")));

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static void *grow(void *v, uint32_t *cap, size_t elem)
{
	uint32_t n = *cap ? *cap * 2 : 1024;
	void *r = realloc(v, (size_t)n * elem);
	if (!r)
		abort(); /* qemu itself cannot go on without memory either */
	*cap = n;
	return r;
}

static __attribute__((noinline)) struct thread_state *thread_state_new(void)
{
	static _Atomic uint64_t no_slot; /* threads past KQ_LAST_SLOTS */
	tls = calloc(1, sizeof(*tls));
	if (!tls)
		abort();
	uint32_t k = atomic_fetch_add(&g.nslots, 1);
	tls->last = g.last && k < KQ_LAST_SLOTS ? g.last + (size_t)k * 8 : &no_slot;
	return tls;
}

/* The calling thread's state, made at its first block. */
static inline struct thread_state *thread_state(void)
{
	if (__builtin_expect(tls != NULL, 1))
		return tls;
	return thread_state_new();
}

static void maps_path(char *buf, size_t n, const char *ext)
{
	snprintf(buf, n, "%s/%d.%s", g.dir, (int)getpid(), ext);
}

/* DIR/PID.maps, in the .qc format: what kiln reads when the process died
 * before its first flush. */
static void maps_append(const struct kq_map *m)
{
	char path[4200];
	maps_path(path, sizeof(path), "maps");
	FILE *f = fopen(path, "ae");
	if (!f)
		return;
	if (ftell(f) == 0)
		fprintf(f, "%s\npid %d\n", KQ_MAGIC, (int)getpid());
	fprintf(f, "map %llx %llx %llx %s\n", (unsigned long long)m->start, (unsigned long long)m->end,
	        (unsigned long long)m->pgoff, m->path);
	fclose(f);
}

static void last_open(void)
{
	char path[4200];
	maps_path(path, sizeof(path), "last");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	size_t size = (size_t)KQ_LAST_SLOTS * 64;
	void *p =
	    ftruncate(fd, (off_t)size) == 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
	close(fd);
	g.last = p == MAP_FAILED ? NULL : p;
}

/* Called with g.lock held. */
static void maps_note(uint64_t addr)
{
	for (uint32_t i = 0; i < g.nmaps; i++)
		if (addr >= g.maps[i].start && addr < g.maps[i].end)
			return;
	FILE *f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	char line[4608];
	while (fgets(line, sizeof(line), f)) {
		struct maps_line l;
		if (!maps_line_parse(line, strlen(line), &l) || addr < l.start || addr >= l.end)
			continue;
		line[l.path_at + l.path_len] = 0; /* l.path_at is 0 without a path: "" */
		if (g.nmaps == g.cap_maps)
			g.maps = grow(g.maps, &g.cap_maps, sizeof(*g.maps));
		g.maps[g.nmaps++] = (struct kq_map){l.start, l.end, l.pgoff, strdup(line + l.path_at)};
		maps_append(&g.maps[g.nmaps - 1]);
		break;
	}
	fclose(f);
}

static enum insn_kind insn_classify(const uint8_t *b, size_t n)
{
	size_t i = 0;
	/* legacy prefixes (bnd F2, notrack 3E, operand size 66, rep F3), REX */
	while (i < n && (b[i] == 0xf2 || b[i] == 0xf3 || b[i] == 0x3e || b[i] == 0x66 || b[i] == 0x2e))
		i++;
	if (i < n && (b[i] & 0xf0) == 0x40)
		i++;
	if (i >= n)
		return INSN_OTHER;
	if (b[i] == 0xe8)
		return INSN_CALL;
	if (b[i] == 0xff && i + 1 < n && ((b[i + 1] >> 3) & 7) == 2)
		return INSN_CALL;
	if (b[i] == 0xc3 || b[i] == 0xc2)
		return INSN_RET;
	return INSN_OTHER;
}

/* Writes the gathered "t" lines to the FIFO, never waiting: a full pipe
 * drops them (kiln then names those addresses after the run, as it would
 * anyway), and a FIFO kiln no longer reads turns the feed off. Called
 * with g.lock held. */
static void feed_flush(void)
{
	if (!g.feed_len)
		return;
	int fd = open(g.feed, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		g.feed_on = errno != ENXIO && errno != ENOENT;
	} else {
		ssize_t n = write(fd, g.feed_buf, g.feed_len);
		(void)n;
		close(fd);
	}
	g.feed_len = 0;
}

/* Adds block d's "t" line to the feed. Called with g.lock held. */
static void feed_add(const struct tb_desc *d)
{
	const struct kq_map *m = NULL;
	for (uint32_t i = 0; i < g.nmaps && !m; i++)
		if (d->vaddr >= g.maps[i].start && d->vaddr < g.maps[i].end)
			m = &g.maps[i];
	if (!m || !m->path[0] || m->path[0] == '[')
		return; /* nothing kiln could look up in a file */
	char line[KQ_FEED_CHUNK];
	int n =
	    snprintf(line, sizeof(line), "t %llx %u", (unsigned long long)(d->vaddr - m->start + m->pgoff), d->ninsns);
	for (uint32_t k = 0; k < d->ninsns && n > 0 && (size_t)n < sizeof(line); k++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %u", d->insn_size[k]);
	if (n > 0 && (size_t)n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %s\n", m->path);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return; /* longer than a pipe takes at once */
	if (g.feed_len + (size_t)n > sizeof(g.feed_buf))
		feed_flush();
	memcpy(g.feed_buf + g.feed_len, line, (size_t)n);
	g.feed_len += (size_t)n;
}

/* A block that is only a PLT entry's jump through its GOT slot (what
 * arch_plt_decode() reads: maybe an endbr64, then jmp *disp32(%rip)): a
 * call through the PLT enters the function this jumps to. The jump ends
 * the block, so the block's bytes are the entry's. Once per translation. */
static bool block_is_plt_stub(struct qemu_plugin_tb *tb, size_t n)
{
	uint8_t bytes[ARCH_PLT_ENTRY_SIZE];
	size_t len = 0;
	if (n == 0 || n > 2)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		size_t size = qemu_plugin_insn_size(insn);
		if (size > sizeof(bytes) - len)
			return false;
		memcpy(bytes + len, qemu_plugin_insn_data(insn), size);
		len += size;
	}
	uint64_t got;
	uint32_t reloc;
	/* the jump is the entry's last instruction: nothing after it */
	return arch_plt_decode(bytes, len, 0, &got, &reloc) == 1 && bytes[len - 6] == 0xff && bytes[len - 5] == 0x25;
}

/* Called with g.lock held. */
static struct tb_desc *tb_intern(struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	uint64_t va = qemu_plugin_tb_vaddr(tb);
	uint32_t bytes = 0;
	uint8_t sizes[512];
	if (n > 512)
		n = 512;
	for (size_t i = 0; i < n; i++) {
		sizes[i] = (uint8_t)qemu_plugin_insn_size(qemu_plugin_tb_get_insn(tb, i));
		bytes += sizes[i];
	}
	uint64_t h = hash64(va ^ ((uint64_t)n << 48) ^ ((uint64_t)bytes << 32)) & ((1 << HASH_BITS) - 1);
	for (struct tb_desc *d = g.tb_hash[h]; d; d = d->next)
		if (d->vaddr == va && d->ninsns == n && d->bytes == bytes)
			return d;
	struct tb_desc *d = calloc(1, sizeof(*d));
	if (!d)
		abort();
	d->vaddr = va;
	d->ninsns = (uint32_t)n;
	d->bytes = bytes;
	d->insn_addr = malloc(n * sizeof(uint64_t) + 1);
	d->insn_size = malloc(n + 1);
	if (!d->insn_addr || !d->insn_size)
		abort();
	for (size_t i = 0; i < n; i++) {
		d->insn_addr[i] = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
		d->insn_size[i] = sizes[i];
	}
	d->last_insn = n ? d->insn_addr[n - 1] : va;
	d->plt_stub = block_is_plt_stub(tb, n);
	if (g.cache_mode) {
		d->fetch = malloc(n * sizeof(*d->fetch) + 1);
		if (!d->fetch)
			abort();
		unsigned bits = g.sim.i1.line_bits;
		uint64_t prev_last = UINT64_MAX;
		for (size_t i = 0; i < n; i++) {
			uint64_t first = d->insn_addr[i] >> bits,
			         last = (d->insn_addr[i] + d->insn_size[i] - 1) >> bits;
			if (first != prev_last || last != prev_last)
				d->fetch[d->nfetch++] = (struct fetch){
				    .tag = first == last ? cache_sim_line_tag(&g.sim.i1, d->insn_addr[i]) : 0,
				    .set_off = first == last ? cache_sim_line_slot(&g.sim.i1, d->insn_addr[i]) : 0,
				    .insn = (uint32_t)i};
			prev_last = last;
		}
	}
	if (g.ntbs == g.cap_tbs)
		g.tbs = grow(g.tbs, &g.cap_tbs, sizeof(*g.tbs));
	d->id = g.ntbs;
	g.tbs[g.ntbs++] = d;
	d->next = g.tb_hash[h];
	g.tb_hash[h] = d;
	maps_note(va);
	if (g.feed_on)
		feed_add(d);
	return d;
}

static uint32_t node_child(struct thread_state *ts, uint32_t parent, uint64_t site)
{
	uint64_t hh = hash64(site ^ ((uint64_t)parent << 40));
	struct node **slot = &ts->node_cache[hh & 2047];
	if (*slot && (*slot)->parent == parent && (*slot)->site == site)
		return (*slot)->id;
	uint64_t h = hh & ((1 << HASH_BITS) - 1);
	pthread_mutex_lock(&g.lock);
	struct node *nd;
	for (nd = g.node_hash[h]; nd; nd = nd->next)
		if (nd->parent == parent && nd->site == site)
			break;
	uint32_t id = 0;
	if (!nd) {
		nd = calloc(1, sizeof(*nd));
		if (!nd)
			abort();
		nd->parent = parent;
		nd->site = site;
		nd->id = g.nnodes ? g.nnodes : 1;
		if (g.nnodes == 0) {
			/* node 0 is the root */
			g.nodes = grow(g.nodes, &g.cap_nodes, sizeof(*g.nodes));
			g.nodes[g.nnodes++] = NULL;
		}
		if (g.nnodes == g.cap_nodes)
			g.nodes = grow(g.nodes, &g.cap_nodes, sizeof(*g.nodes));
		g.nodes[g.nnodes++] = nd;
		nd->next = g.node_hash[h];
		g.node_hash[h] = nd;
	}
	id = nd->id;
	pthread_mutex_unlock(&g.lock);
	*slot = nd;
	return id;
}

/* entry_get()'s way when the block's hint is another path's counter. */
static __attribute__((noinline)) struct entry *entry_find(struct thread_state *ts, uint32_t node, struct tb_desc *tb,
                                                          _Atomic(struct entry *) *hint_slot)
{
	uint64_t key = ((uint64_t)node << 32) | tb->id;
	uint64_t hh = hash64(key);
	struct entry **slot = &ts->cache[hh & 8191];
	struct entry *e = *slot;
	if (e && e->node == node && e->tb == tb->id) {
		atomic_store_explicit(hint_slot, e, memory_order_relaxed);
		return e;
	}
	uint64_t h = hh & ((1 << HASH_BITS) - 1);
	for (e = atomic_load_explicit(&g.entry_hash[h], memory_order_acquire); e; e = e->next)
		if (e->node == node && e->tb == tb->id)
			goto found;
	pthread_mutex_lock(&g.lock);
	for (e = atomic_load_explicit(&g.entry_hash[h], memory_order_relaxed); e; e = e->next)
		if (e->node == node && e->tb == tb->id)
			break;
	if (!e) {
		/* in cache mode the counters follow the entry: the block's
		 * start touched its line, so its accesses find them warm */
		size_t extra = g.cache_mode ? (size_t)tb->ninsns * KQ_CACHE_EVENTS * sizeof(uint64_t) : 0;
		e = calloc(1, sizeof(*e) + extra);
		if (!e)
			abort();
		e->node = node;
		e->tb = tb->id;
		if (g.cache_mode)
			e->cache = (_Atomic uint64_t *)(e + 1);
		e->next = atomic_load_explicit(&g.entry_hash[h], memory_order_relaxed);
		atomic_store_explicit(&g.entry_hash[h], e, memory_order_release);
	}
	pthread_mutex_unlock(&g.lock);
found:
	*slot = e;
	atomic_store_explicit(hint_slot, e, memory_order_relaxed);
	return e;
}

/* The counter of (call path node, block): every block execution's lookup,
 * kept small enough to inline into the callbacks. */
static inline struct entry *entry_get(struct thread_state *ts, uint32_t node, struct tb_desc *tb)
{
	_Atomic(struct entry *) *hint_slot = &tb->hint[node % TB_HINTS];
	struct entry *hint = atomic_load_explicit(hint_slot, memory_order_relaxed);
	if (__builtin_expect(hint && hint->node == node, 1))
		return hint;
	return entry_find(ts, node, tb, hint_slot);
}

static inline bool multi_threaded(void)
{
	return atomic_load_explicit(&g.multi, memory_order_relaxed);
}

static inline void counter_add(_Atomic uint64_t *c, uint64_t n, bool multi)
{
	if (multi)
		atomic_fetch_add_explicit(c, n, memory_order_relaxed);
	else
		atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline void cache_add(struct entry *e, uint32_t insn, int ev, bool multi)
{
	counter_add(&e->cache[(size_t)insn * KQ_CACHE_EVENTS + ev], 1, multi);
}

/* One execution of a block: its counter under the thread's call path.
 * Returns that counter, for cache mode. */
static inline struct entry *tb_count(struct tb_desc *tb, struct thread_state *ts, bool multi)
{
	struct entry *e = entry_get(ts, ts->node, tb);
	counter_add(&e->execs, 1, multi);
	return e;
}

/* The first block after a call, past any PLT stub: the callee's entry,
 * charged one call under the path the call made (not every execution of
 * that block: a function may loop back to its first instruction). */
static inline void call_entered(struct thread_state *ts, const struct tb_desc *tb, struct entry *e, bool multi)
{
	if (tb->plt_stub)
		return;
	ts->entering = false;
	counter_add(&e->calls, 1, multi);
}

/* Count mode's callback at each block's start: the plugin's hottest code,
 * so it tests nothing it does not need (cache mode has its own). */
static void tb_exec(unsigned int vcpu, void *udata)
{
	(void)vcpu;
	struct thread_state *ts = thread_state();
	bool multi = multi_threaded();
	ts->cur_tb = udata;
	struct entry *e = tb_count(udata, ts, multi);
	if (__builtin_expect(ts->entering, 0))
		call_entered(ts, udata, e, multi);
}

static void tb_exec_cache(unsigned int vcpu, void *udata)
{
	(void)vcpu;
	struct tb_desc *tb = udata;
	struct thread_state *ts = thread_state();
	bool multi = multi_threaded();
	struct entry *e = tb_count(tb, ts, multi);
	if (__builtin_expect(ts->entering, 0))
		call_entered(ts, tb, e, multi);
	ts->cur = e;
	ts->cur_tb = tb;
	/* instruction fetches, one reference per instruction as cachegrind
	 * counts them; only the instructions that reach a line the one before
	 * did not end in are looked up: the others hit the most recently used
	 * line, which changes nothing */
	if (multi)
		pthread_mutex_lock(&g.sim_lock);
	const uint64_t *i1 = g.sim.i1.tags;
	for (uint32_t k = 0; k < tb->nfetch; k++) {
		const struct fetch *f = &tb->fetch[k];
		if (f->tag && i1[f->set_off] == f->tag)
			continue;
		uint32_t i = f->insn;
		int r = cache_sim_ref(&g.sim, &g.sim.i1, tb->insn_addr[i], tb->insn_size[i]);
		if (r >= 1)
			cache_add(e, i, KQ_I1MR, multi);
		if (r >= 2)
			cache_add(e, i, KQ_ILMR, multi);
	}
	if (multi)
		pthread_mutex_unlock(&g.sim_lock);
}

static void stack_resync(struct thread_state *ts, uint64_t slot)
{
	/* frames whose slot is at or below slot are dead: the real stack is
	 * above them now */
	while (ts->depth && ts->stack[ts->depth - 1].slot <= slot)
		ts->depth--;
	ts->node = ts->depth ? ts->stack[ts->depth - 1].node : 0;
}

static void on_call_ret(struct thread_state *ts, const struct insn_ref *r, bool store, uint64_t va)
{
	if (r->kind == INSN_CALL && store) {
		stack_resync(ts, va);
		uint64_t site = r->tb->insn_addr[r->index];
		uint32_t child = node_child(ts, ts->node, site);
		if (ts->depth < SHADOW_MAX) {
			ts->stack[ts->depth++] = (struct frame){child, va};
			ts->node = child;
			ts->entering = true;
		}
	} else if (r->kind == INSN_RET && !store) {
		stack_resync(ts, va);
	}
}

/* QEMU 7.2 packs a meminfo as its MemOpIdx (MemOp << 4 | MMU index, the
 * access size's log2 in MemOp's low three bits) | (read/write << 16).
 * Decoding it here spares two calls through the PLT per access, a tenth of
 * cache mode's time. That layout is QEMU's, not the API's: until
 * MEMINFO_CHECKS accesses (loads and stores both) decoded both ways agree,
 * the API decides, and one disagreement leaves it deciding for good. */
#define MEMINFO_CHECKS 4096
static _Atomic bool meminfo_inline, meminfo_api_only;
static _Atomic uint32_t meminfo_agreed;
static _Atomic uint8_t meminfo_seen; /* 1: a load agreed, 2: a store did */

static inline bool meminfo_store(qemu_plugin_meminfo_t info)
{
	return (info >> 16) & QEMU_PLUGIN_MEM_W;
}

static inline unsigned meminfo_shift(qemu_plugin_meminfo_t info)
{
	return (info >> 4) & 7;
}

static __attribute__((noinline)) void meminfo_check(qemu_plugin_meminfo_t info, bool *store, unsigned *shift)
{
	*store = qemu_plugin_mem_is_store(info);
	*shift = qemu_plugin_mem_size_shift(info);
	if (atomic_load_explicit(&meminfo_api_only, memory_order_relaxed))
		return;
	if (meminfo_store(info) != *store || meminfo_shift(info) != *shift) {
		atomic_store(&meminfo_api_only, true);
		return;
	}
	uint8_t seen = atomic_fetch_or(&meminfo_seen, (uint8_t)(*store ? 2 : 1)) | (*store ? 2 : 1);
	if (atomic_fetch_add(&meminfo_agreed, 1) + 1 >= MEMINFO_CHECKS && seen == 3 && !atomic_load(&meminfo_api_only))
		atomic_store(&meminfo_inline, true);
}

static inline void meminfo_decode(qemu_plugin_meminfo_t info, bool *store, unsigned *shift)
{
	if (__builtin_expect(atomic_load_explicit(&meminfo_inline, memory_order_relaxed), 1)) {
		*store = meminfo_store(info);
		*shift = meminfo_shift(info);
		return;
	}
	meminfo_check(info, store, shift);
}

static void mem_access(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t va, void *udata)
{
	(void)vcpu;
	const struct insn_ref *r = udata;
	struct thread_state *ts = thread_state();
	/* An access of an instruction of the block this thread runs; any
	 * other comes through the pointer QEMU 7.2 leaves set (flush_window):
	 * an atomic instruction's helper calling the callbacks of the last
	 * ret or call, which would push or pop a frame that is not there */
	if (__builtin_expect(r->tb != ts->cur_tb, 0))
		return;
	bool store;
	unsigned shift;
	meminfo_decode(info, &store, &shift);
	if (g.cache_mode && ts->cur) {
		unsigned size = 1u << shift;
		bool multi = multi_threaded();
		if (multi)
			pthread_mutex_lock(&g.sim_lock);
		int m = cache_sim_data(&g.sim, va, size);
		if (multi)
			pthread_mutex_unlock(&g.sim_lock);
		cache_add(ts->cur, r->index, store ? KQ_DW : KQ_DR, multi);
		if (m >= 1)
			cache_add(ts->cur, r->index, store ? KQ_D1MW : KQ_D1MR, multi);
		if (m >= 2)
			cache_add(ts->cur, r->index, store ? KQ_DLMW : KQ_DLMR, multi);
	}
	if (r->kind != INSN_OTHER)
		on_call_ret(ts, r, store, va);
}

/* QEMU's flush of every translation (see flush_window). */
static void on_flush(qemu_plugin_id_t id)
{
	(void)id;
	int pending = FLUSH_PENDING;
	atomic_compare_exchange_strong(&g.flush_window, &pending, FLUSH_DONE);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	pthread_mutex_lock(&g.lock);
	struct tb_desc *d = tb_intern(tb);
	pthread_mutex_unlock(&g.lock);
	atomic_store_explicit(thread_state()->last, d->last_insn, memory_order_relaxed);
	qemu_plugin_register_vcpu_tb_exec_cb(tb, g.cache_mode ? tb_exec_cache : tb_exec, QEMU_PLUGIN_CB_NO_REGS, d);
	if (atomic_load(&g.flush_window) == FLUSH_PENDING)
		return; /* no memory callbacks in a block the flush will drop */
	size_t n = qemu_plugin_tb_n_insns(tb);
	for (size_t i = 0; i < n && i < d->ninsns; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		enum insn_kind k = insn_classify(qemu_plugin_insn_data(insn), qemu_plugin_insn_size(insn));
		if (k == INSN_OTHER && !g.cache_mode)
			continue;
		/* one small record per translation: qemu keeps the pointer for as
		 * long as the translated code lives, so it is never freed */
		struct insn_ref *r = malloc(sizeof(*r));
		if (!r)
			abort();
		*r = (struct insn_ref){d, (uint32_t)i, (uint8_t)k};
		/* read+write and mem_is_store: the read-only and write-only
		 * registrations fire on the wrong accesses in QEMU 7.2 */
		qemu_plugin_register_vcpu_mem_cb(insn, mem_access, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, r);
	}
}

/* " N": stdio's formatting would be most of a flush in cache mode, where
 * each instruction has eight counters, mostly zero */
static void put_num(FILE *f, uint64_t v)
{
	char b[24];
	int i = sizeof(b);
	do
		b[--i] = (char)('0' + v % 10);
	while ((v /= 10));
	b[--i] = ' ';
	fwrite_unlocked(b + i, 1, sizeof(b) - (size_t)i, f);
}

/* Writes DIR/PID.qc whole (through a temporary file and rename, so a reader
 * never sees half of one). Called with g.lock held. */
static void flush_locked(bool final)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof(path), "%s/%d.qc", g.dir, (int)getpid());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	if (!f)
		return;
	setvbuf(f, NULL, _IOFBF, 1 << 16);
	fprintf(f, "%s\npid %d\nppid %d\n", KQ_MAGIC, (int)getpid(), (int)getppid());
	if (g.cache_mode)
		fprintf(f, "cache %u %u %u %u %u %u %u %u %u\n", g.sim.i1.geo.size, g.sim.i1.geo.assoc,
		        g.sim.i1.geo.line, g.sim.d1.geo.size, g.sim.d1.geo.assoc, g.sim.d1.geo.line, g.sim.ll.geo.size,
		        g.sim.ll.geo.assoc, g.sim.ll.geo.line);
	for (uint32_t i = 0; i < g.nmaps; i++)
		fprintf(f, "map %llx %llx %llx %s\n", (unsigned long long)g.maps[i].start,
		        (unsigned long long)g.maps[i].end, (unsigned long long)g.maps[i].pgoff, g.maps[i].path);
	for (uint32_t i = 0; i < g.ntbs; i++) {
		struct tb_desc *d = g.tbs[i];
		fprintf(f, "tb %u %llx %u", d->id, (unsigned long long)d->vaddr, d->ninsns);
		for (uint32_t k = 0; k < d->ninsns; k++)
			put_num(f, d->insn_size[k]);
		fputc('\n', f);
	}
	for (uint32_t i = 1; i < g.nnodes; i++)
		fprintf(f, "node %u %u %llx\n", i, g.nodes[i]->parent, (unsigned long long)g.nodes[i]->site);
	for (uint32_t h = 0; h < (1u << HASH_BITS); h++)
		for (struct entry *e = g.entry_hash[h]; e; e = e->next) {
			uint64_t n = atomic_load_explicit(&e->execs, memory_order_relaxed);
			if (!n)
				continue;
			fprintf(f, "e %u %u %llu", e->node, e->tb, (unsigned long long)n);
			if (e->cache) {
				uint32_t ni = g.tbs[e->tb]->ninsns;
				for (uint32_t k = 0; k < ni * KQ_CACHE_EVENTS; k++)
					put_num(f, atomic_load_explicit(&e->cache[k], memory_order_relaxed));
			}
			fputc('\n', f);
			uint64_t calls = atomic_load_explicit(&e->calls, memory_order_relaxed);
			if (calls)
				fprintf(f, "c %u %u %llu\n", e->node, e->tb, (unsigned long long)calls);
		}
	if (g.exec_pending)
		fprintf(f, "exec %s\n", g.exec_path);
	if (final)
		fprintf(f, "end\n");
	if (fclose(f) == 0)
		rename(tmp, path);
	else
		unlink(tmp);
}

static void *flusher_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct timespec ts = {.tv_sec = 1, .tv_nsec = 0};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&g.lock);
		bool done = g.exited;
		if (!done) {
			flush_locked(false);
			if (g.feed_on)
				feed_flush();
		}
		pthread_mutex_unlock(&g.lock);
		if (done)
			return NULL;
	}
}

static void flusher_start(void)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	g.flusher_running = pthread_create(&g.flusher, &a, flusher_main, NULL) == 0;
	pthread_attr_destroy(&a);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
	(void)id;
	(void)p;
	pthread_mutex_lock(&g.lock);
	flush_locked(true);
	g.exited = true;
	pthread_mutex_unlock(&g.lock);
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&g.lock);
	pthread_mutex_lock(&g.sim_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&g.sim_lock);
	pthread_mutex_unlock(&g.lock);
}

/* The child inherits every table: it keeps the descriptors and call paths
 * but starts its counts from zero, and writes its own file. */
static void fork_child(void)
{
	for (uint32_t h = 0; h < (1u << HASH_BITS); h++)
		for (struct entry *e = g.entry_hash[h]; e; e = e->next) {
			atomic_store(&e->execs, 0);
			atomic_store(&e->calls, 0);
			if (e->cache)
				memset((void *)e->cache, 0,
				       (size_t)g.tbs[e->tb]->ninsns * KQ_CACHE_EVENTS * sizeof(uint64_t));
		}
	g.exec_pending = false;
	g.feed_len = 0; /* the parent writes those */
	atomic_store(&g.multi, false);
	/* its own DIR/PID.last and .maps; this thread keeps slot 0 */
	_Atomic uint64_t *old = g.last;
	last_open();
	if (!g.last) /* no file of its own: it goes on writing the parent's slots, never unmapped memory */
		g.last = old;
	else if (old)
		munmap((void *)old, (size_t)KQ_LAST_SLOTS * 64);
	atomic_store(&g.nslots, 1);
	if (tls)
		tls->last = g.last ? g.last : tls->last;
	for (uint32_t i = 0; i < g.nmaps; i++)
		maps_append(&g.maps[i]);
	pthread_mutex_unlock(&g.sim_lock);
	pthread_mutex_unlock(&g.lock);
	flusher_start();
}

/* x86-64 execve and execveat: the new image runs natively, outside qemu;
 * the file says so, and kiln reports it. */
static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2, uint64_t a3,
                       uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
	(void)id, (void)vcpu, (void)a3, (void)a4, (void)a5, (void)a6, (void)a7, (void)a8;
	/* clone with CLONE_VM (0x100), clone3 (its flags are in the struct a1
	 * points to; any clone3 counts): a second thread is coming, so
	 * counting turns atomic before it can run */
	if ((num == 56 && (a1 & 0x100)) || num == 435) {
		atomic_store(&g.multi, true);
		/* QEMU 7.2 flushes at a clone with all of a thread's flags (not
		 * CLONE_VFORK, which it runs as a fork; clone3 it does not have) */
		int before = FLUSH_BEFORE;
		if (num == 56 && (a1 & CLONE_THREAD_FLAGS) == CLONE_THREAD_FLAGS && !(a1 & 0x4000))
			atomic_compare_exchange_strong(&g.flush_window, &before, FLUSH_PENDING);
		return;
	}
	if (num != 59 && num != 322)
		return;
	/* qemu-user on x86-64 maps the guest at guest_base 0: a guest pointer
	 * is a host pointer */
	const char *p = (const char *)(uintptr_t)(num == 59 ? a1 : a2);
	pthread_mutex_lock(&g.lock);
	snprintf(g.exec_path, sizeof(g.exec_path), "%s", p ? p : "?");
	g.exec_path[strcspn(g.exec_path, "\n")] = 0;
	g.exec_pending = true;
	flush_locked(true);
	pthread_mutex_unlock(&g.lock);
}

static void on_syscall_ret(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, int64_t ret)
{
	(void)id, (void)vcpu;
	if (num == 56 && ret < 0) {
		/* a clone that failed may not have flushed: callbacks again
		 * (its only thread ran nothing before a flush that did come) */
		int pending = FLUSH_PENDING;
		atomic_compare_exchange_strong(&g.flush_window, &pending, FLUSH_DONE);
		return;
	}
	if (num != 59 && num != 322)
		return;
	/* the exec failed (on success nothing returns here) */
	pthread_mutex_lock(&g.lock);
	g.exec_pending = false;
	pthread_mutex_unlock(&g.lock);
}

static bool parse_geometry(const char *s, struct cache_geometry *c)
{
	unsigned size, assoc, line;
	if (sscanf(s, "%u:%u:%u", &size, &assoc, &line) != 3)
		return false;
	return cache_geometry_set(c, size, assoc, line) == 0;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
	(void)info;
	struct cache_geometry i1 = {0}, d1 = {0}, ll = {0};
	bool have_dir = false;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strncmp(a, "dir=", 4)) {
			snprintf(g.dir, sizeof(g.dir), "%s", a + 4);
			have_dir = true;
		} else if (!strncmp(a, "feed=", 5)) {
			snprintf(g.feed, sizeof(g.feed), "%s", a + 5);
			g.feed_on = g.feed[0] != 0;
		} else if (!strcmp(a, "cache=1")) {
			g.cache_mode = true;
		} else if (!strncmp(a, "i1=", 3)) {
			if (!parse_geometry(a + 3, &i1))
				return -1;
		} else if (!strncmp(a, "d1=", 3)) {
			if (!parse_geometry(a + 3, &d1))
				return -1;
		} else if (!strncmp(a, "ll=", 3)) {
			if (!parse_geometry(a + 3, &ll))
				return -1;
		} else {
			return -1;
		}
	}
	if (!have_dir)
		return -1;
	if (g.cache_mode && cache_sim_init(&g.sim, &i1, &d1, &ll) < 0)
		return -1;
	last_open();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
	qemu_plugin_register_vcpu_syscall_ret_cb(id, on_syscall_ret);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	qemu_plugin_register_flush_cb(id, on_flush);
	flusher_start();
	return 0;
}
