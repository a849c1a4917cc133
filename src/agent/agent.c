/* agent.c - libkiln-agent.so, preloaded into the target by `kiln heap`
 * and by `kiln record` where perf_event_open is refused: the core (the
 * channel, forks, execs, threads: agent_mode.h says what it offers a mode)
 * and the heap mode.
 *
 * The heap mode interposes the allocator's entry points, captures a call stack for every
 * allocation with its own CFI unwinder (agent_unwind.c; libunwind only as
 * KILN_AGENT_VERIFY's reference), deduplicates stacks here (the stream carries
 * stack ids) and writes events into a shared-memory ring that kiln reads
 * (channel_format.h). At exit it runs a conservative reachability scan of
 * the live blocks kiln sends back, memcheck's leak classes.
 *
 * It lives in someone else's process: no stdio, no allocation through the
 * interposed path (its own memory comes from mmap), only locks it owns, a
 * thread-local recursion guard, and a static arena for the calls dlsym makes
 * before the real allocator is known. It never takes the target down: when
 * something fails it stops recording and lets the calls through. Nor does
 * it change what the target sees: no file descriptor of its own stays
 * open, errno is kept, a hook uses a few hundred bytes of stack, nothing
 * is opened after start-up (agent_maps.c), signal handlers, fork, raw
 * clone and siglongjmp out of a handler never find its lock held.
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libunwind.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* rename() only: no stdio streams */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent/agent_env.h"
#include "agent/agent_exec_env.h"
#include "agent/agent_maps.h"
#include "agent/agent_mode.h"
#include "agent/agent_pool.h"
#include "agent/agent_rustshim.h"
#include "agent/agent_sandbox.h"
#include "agent/agent_unwind.h"
#include "agent/channel_format.h"
#include "agent/path_table.h"
#include "arch/arch.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS    __thread __attribute__((tls_model("initial-exec")))

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void *(*reallocarray_fn)(void *, size_t, size_t);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*aligned_alloc_fn)(size_t, size_t);
typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvp_fn)(const char *, char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);

typedef int (*unw_backtrace_fn)(void **, int);
typedef int (*unw_caching_fn)(unw_addr_space_t, unw_caching_policy_t);

static struct {
	malloc_fn malloc;
	free_fn free;
	calloc_fn calloc;
	realloc_fn realloc;
	reallocarray_fn reallocarray;
	posix_memalign_fn posix_memalign;
	aligned_alloc_fn aligned_alloc;
	aligned_alloc_fn memalign;
	malloc_fn valloc;
	malloc_fn pvalloc;
	execve_fn execve;
	execvp_fn execv;
	execvp_fn execvp;
	execvpe_fn execvpe;
	unw_backtrace_fn backtrace; /* libunwind, only for KILN_AGENT_VERIFY: see agent_init_locked() */
	size_t (*malloc_usable_size)(void *);
	int (*pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	void (*siglongjmp)(sigjmp_buf, int) __attribute__((noreturn));
	void (*longjmp)(jmp_buf, int) __attribute__((noreturn));
	void (*_longjmp)(jmp_buf, int) __attribute__((noreturn));
	void (*longjmp_chk)(jmp_buf, int) __attribute__((noreturn));
} real;

/* dlsym may allocate while the real allocator is being looked up: serve
 * it here, and nothing else (every other early call resolves first). Each
 * block is preceded by its size, for malloc_usable_size and realloc. */
static char boot_arena[64 * 1024] __attribute__((aligned(64)));
static size_t boot_used;
static int resolving;

/* The recursion guard: set while the agent itself runs, so a signal
 * handler's allocation inside the agent passes straight through and never
 * takes the agent's lock again (every path that takes it sets the guard;
 * the fork handlers too). */
static TLS int in_hook;
static TLS uint32_t my_tid;

/* The bypass of the mode's allocator (agent_mode.h): agent_heap_skip is
 * only ever above 1 when the mode set it; [bypass_lo, bypass_lo +
 * bypass_len) holds the mode's blocks, and with bypass_len at its
 * largest no pointer is outside it (off). */
TLS uint32_t agent_heap_skip;
static uintptr_t bypass_lo, bypass_len = UINTPTR_MAX;

/* The agent's lock. glibc keeps its holder's tid in __data.__owner from
 * the moment it is taken until it is let go, which tells a jump out of a
 * signal handler whether the interrupted thread held it. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kh_ring_header *ring; /* NULL: not recording */
static char *ring_data;
static int enabled; /* recording; cleared for good when anything fails */
static int initialized;
static pid_t kiln_pid;
static char ring_path[512];
static uint64_t untracked;
static uint32_t self_pid; /* the process the ring is for (a fork child's parent until it takes its own) */
/* A fork child of a sandboxed host that found no spare ring: it records
 * nothing and counts its calls in the pool (agent_pool.h). */
static bool counting;
static bool sandboxed; /* the host asked for a seccomp filter: open nothing from now on */

/* The modes, chosen by KH_ENV_MODE (agent_mode.h); heap when unset. */
static const struct agent_mode *const agent_modes[] = {&agent_mode_heap, &agent_mode_cpu, &agent_mode_memcheck,
                                                       &agent_mode_lock};
static const struct agent_mode *mode = &agent_mode_heap;

/* The agent's own text, skipped at the top of every stack. */
static uintptr_t self_lo, self_hi;

/* Stacks the own unwinder gave up on (libunwind took them). With
 * KILN_AGENT_VERIFY=1 every stack is taken both ways and compared, and a
 * summary goes to stderr at exit. */
static uint64_t fallbacks;
static int verify;
static struct {
	uint64_t stacks, mismatches, own_ns, libunwind_ns;
} verified;

/* Stacks are nodes of a trie (root = outermost caller), so stacks that
 * share callers share nodes and the stream carries each new frame once.
 * The trie is kept as one table from the hash of a node's whole path (its
 * frames from the root) to the node's id: a stack seen before costs one
 * lookup, a new one a binary search for its deepest known prefix. Two
 * paths with the same 64-bit hash would be merged; with a million distinct
 * paths the odds are about one in 10^7. */
static struct path_table ptab; /* agent/path_table.h */
static uint32_t next_node_id = 1;
#define RECENT_SLOTS 256 /* per thread: see struct tstate */

/* A page the kernel empties in every child process (MADV_WIPEONFORK):
 * a hook that finds it zero runs in a new process that no fork handler
 * told about (a raw clone), and starts that process's own ring. */
static volatile uint32_t *alive;

/* The main thread's stack, from the mapping table (agent_maps.h). */
static uintptr_t main_stack_lo, main_stack_hi;
/* A thread the agent started (thread_start) knows its stack: [lo, hi). */
static TLS uintptr_t t_stack_lo, t_stack_hi;

/* The agent's own anonymous mappings (its tables, the unwinder's): the
 * leak scan reads the process's anonymous memory, but not these. A slot
 * is claimed atomically (the unwinder maps under a lock of its own) and
 * emptied when unmapped; when all are taken a table is scanned, which
 * costs time only (they hold hashes, ids and code addresses). */
#define OWN_MAX 64
static struct {
	uint64_t lo, hi;
} own_maps[OWN_MAX];
static uint32_t own_n;

void agent_own_add(const void *p, size_t size)
{
	uint32_t i = __atomic_fetch_add(&own_n, 1, __ATOMIC_RELAXED);
	if (i < OWN_MAX) {
		own_maps[i].lo = (uint64_t)(uintptr_t)p;
		own_maps[i].hi = (uint64_t)(uintptr_t)p + size;
	}
}

static void sys_unmap(void *p, size_t size)
{
	uint32_t n = __atomic_load_n(&own_n, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < n && i < OWN_MAX; i++)
		if (own_maps[i].lo == (uint64_t)(uintptr_t)p)
			own_maps[i].lo = own_maps[i].hi = 0;
	munmap(p, size);
}

static void *sys_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	agent_own_add(p, size);
	/* big lookup tables are probed at random: spare the TLB */
	if (size >= (4u << 20))
		madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Event times: the coarse clock costs a few ns instead of ~25 and its
 * resolution (a jiffy) is plenty for a heap-over-time chart. */
static uint64_t event_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t tid_get(void)
{
	if (!my_tid)
		my_tid = (uint32_t)gettid();
	return my_tid;
}

static void nap(long ns)
{
	struct timespec ts = {0, ns};
	nanosleep(&ts, NULL);
}

static size_t str_len(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static char *put_str(char *p, char *end, const char *s)
{
	while (*s && p < end)
		*p++ = *s++;
	return p;
}

static char *put_u64(char *p, char *end, uint64_t v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n && p < end)
		*p++ = tmp[--n];
	return p;
}

static void *boot_alloc(size_t size, size_t align)
{
	if (align < 16)
		align = 16;
	size_t off = (boot_used + sizeof(size_t) + align - 1) & ~(align - 1);
	if (size > sizeof(boot_arena) || off + size > sizeof(boot_arena))
		return NULL;
	boot_used = off + size;
	memcpy(boot_arena + off - sizeof(size_t), &size, sizeof(size));
	return boot_arena + off;
}

static size_t boot_size(const void *p)
{
	size_t n;
	memcpy(&n, (const char *)p - sizeof(size_t), sizeof(n));
	return n;
}

static bool is_boot(const void *p)
{
	return (const char *)p >= boot_arena && (const char *)p < boot_arena + sizeof(boot_arena);
}

static void resolve(void)
{
	if (real.malloc || resolving)
		return;
	resolving = 1;
	in_hook++;
	real.malloc_usable_size = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
	real.pthread_create = dlsym(RTLD_NEXT, "pthread_create");
	real.siglongjmp = dlsym(RTLD_NEXT, "siglongjmp");
	real.longjmp = dlsym(RTLD_NEXT, "longjmp");
	real._longjmp = dlsym(RTLD_NEXT, "_longjmp");
	real.longjmp_chk = dlsym(RTLD_NEXT, "__longjmp_chk");
	real.calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
	real.free = (free_fn)dlsym(RTLD_NEXT, "free");
	real.realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
	real.reallocarray = (reallocarray_fn)dlsym(RTLD_NEXT, "reallocarray");
	real.posix_memalign = (posix_memalign_fn)dlsym(RTLD_NEXT, "posix_memalign");
	real.aligned_alloc = (aligned_alloc_fn)dlsym(RTLD_NEXT, "aligned_alloc");
	real.memalign = (aligned_alloc_fn)dlsym(RTLD_NEXT, "memalign");
	real.valloc = (malloc_fn)dlsym(RTLD_NEXT, "valloc");
	real.pvalloc = (malloc_fn)dlsym(RTLD_NEXT, "pvalloc");
	real.execve = (execve_fn)dlsym(RTLD_NEXT, "execve");
	real.execv = (execvp_fn)dlsym(RTLD_NEXT, "execv");
	real.execvp = (execvp_fn)dlsym(RTLD_NEXT, "execvp");
	real.execvpe = (execvpe_fn)dlsym(RTLD_NEXT, "execvpe");
	/* malloc last: it is the "resolved" flag the hooks test */
	malloc_fn m = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
	__atomic_store_n(&real.malloc, m, __ATOMIC_RELEASE);
	in_hook--;
	resolving = 0;
}

/* ---- the lock ---- */

static void agent_lock(void)
{
	pthread_mutex_lock(&lock);
}

static void agent_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

/* For the exit path, which must never hang on a lock some thread left
 * behind (a thread killed or jumped out of a handler mid-event): tries for
 * about a second, then gives up (false: not locked). */
static bool agent_lock_bounded(void)
{
	for (int i = 0; i < 1000; i++) {
		if (pthread_mutex_trylock(&lock) == 0)
			return true;
		nap(1000000);
	}
	return false;
}

/* ---- the ring ---- */

static bool kiln_alive(void)
{
	return kiln_pid <= 0 || kill(kiln_pid, 0) == 0 || errno != ESRCH;
}

static bool pending, pending_flushing;
static void pending_flush(void);

/* Reserves size bytes (a multiple of 8) in the ring, waiting while it is
 * full. Called with the lock held. NULL when recording stopped. A pending
 * stack goes first: nothing may come between it and its allocation. */
static void *ring_reserve(uint32_t size)
{
	if (pending && !pending_flushing)
		pending_flush();
	uint64_t head = ring->head, cap = KH_RING_SIZE;
	uint64_t off = head & (cap - 1);
	uint64_t need = size;
	if (off + size > cap)
		need += cap - off; /* pad to the end, then start over */
	unsigned spins = 0;
	while (cap - (head - __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE)) < need) {
		/* kiln stopped reading this ring: waiting would be forever */
		if (__atomic_load_n(&ring->reader_gone, __ATOMIC_ACQUIRE)) {
			enabled = 0;
			return NULL;
		}
		if (spins++ == 0)
			ring->waits++;
		nap(20000);
		if ((spins & 1023) == 0 && !kiln_alive()) {
			enabled = 0;
			return NULL;
		}
	}
	if (off + size > cap) {
		struct kh_rec_header *pad = (struct kh_rec_header *)(ring_data + off);
		pad->type = KH_REC_PAD;
		pad->size = (uint32_t)(cap - off);
		head += cap - off;
		__atomic_store_n(&ring->head, head, __ATOMIC_RELEASE);
		off = 0;
	}
	return ring_data + off;
}

static void ring_commit(uint32_t size)
{
	__atomic_store_n(&ring->head, ring->head + size, __ATOMIC_RELEASE);
}

static int ring_write(uint32_t type, const void *payload, uint32_t len)
{
	uint32_t size = (uint32_t)((sizeof(struct kh_rec_header) + len + 7) & ~7u);
	struct kh_rec_header *h = ring_reserve(size);
	if (!h)
		return -1;
	h->type = type;
	h->size = size;
	memcpy(h + 1, payload, len);
	/* the padding is zeros, not what the ring held before: kiln trims a
	 * text payload (maps) at its first NUL */
	memset((char *)(h + 1) + len, 0, size - sizeof(*h) - len);
	ring_commit(size);
	return 0;
}

static void maps_piece(void *ctx, const char *text, size_t len)
{
	(void)ctx;
	if (enabled)
		ring_write(KH_REC_MAPS, text, (uint32_t)len);
}

/* Sends the mappings so kiln can name addresses after the process is
 * gone: the table read at start-up and the modules loaded since, without
 * opening a file (the host may forbid it by now). */
static void send_maps(void)
{
	agent_maps_emit(maps_piece, NULL, 4000);
	ring_write(KH_REC_MAPS_END, NULL, 0);
}

/* Before the program's dlclose: the modules loaded since start-up, the one
 * that may be unmapped next among them, as a copy of the maps of their
 * own. The copy sent at exit no longer has an unloaded module, and its
 * leaked blocks' sites would be addresses of nothing. */
static void before_dlclose(void)
{
	if (in_hook)
		return;
	int saved = errno;
	in_hook++;
	agent_lock();
	if (enabled) {
		agent_maps_emit_since(maps_piece, NULL);
		ring_write(KH_REC_MAPS_END, NULL, 0);
	}
	agent_unlock();
	in_hook--;
	errno = saved;
}

static int find_self(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	uintptr_t me = (uintptr_t)ctx;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (me >= lo && me < hi) {
			self_lo = lo;
			self_hi = hi;
			return 1;
		}
	}
	return 0;
}

/* Names a new file of the channel: DIR/PID-NS-SEQ, then suffix in out
 * and ".tmp" in tmp (both 512 bytes). False when there is no channel. */
static bool channel_name(char *out, char *tmp, const char *suffix)
{
	const char *dir = agent_getenv(KH_ENV_DIR);
	if (!dir || !*dir)
		return false;
	static unsigned seq;
	char *p = out, *end = out + 512 - 16;
	p = put_str(p, end, dir);
	p = put_str(p, end, "/");
	p = put_u64(p, end, (uint64_t)getpid());
	p = put_str(p, end, "-");
	p = put_u64(p, end, now_ns());
	p = put_str(p, end, "-");
	p = put_u64(p, end, __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	size_t base = (size_t)(p - out);
	memcpy(tmp, out, base);
	memcpy(tmp + base, ".tmp", 5);
	memcpy(p, suffix, str_len(suffix) + 1);
	return true;
}

static void kiln_pid_read(void)
{
	const char *kp = agent_getenv(KH_ENV_KILN_PID);
	kiln_pid = 0;
	for (const char *s = kp; s && *s >= '0' && *s <= '9'; s++)
		kiln_pid = kiln_pid * 10 + (*s - '0');
}

/* Creates this process's ring. Called with the lock held. */
static void channel_open(void)
{
	char tmp[512];
	if (!channel_name(ring_path, tmp, ".ring"))
		return;
	kiln_pid_read();
	self_pid = (uint32_t)getpid();

	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	size_t total = KH_HEADER_SIZE + KH_RING_SIZE;
	if (ftruncate(fd, (off_t)total) < 0) {
		close(fd);
		unlink(tmp);
		return;
	}
	void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		unlink(tmp);
		return;
	}
	struct kh_ring_header *h = m;
	h->version = KH_VERSION;
	h->pid = (uint32_t)getpid();
	h->ppid = (uint32_t)getppid();
	h->data_size = KH_RING_SIZE;
	h->start_ns = now_ns();
	h->mode = mode->id;
	__atomic_store_n(&h->magic, KH_MAGIC, __ATOMIC_RELEASE);
	if (rename(tmp, ring_path) < 0) {
		munmap(m, total);
		unlink(tmp);
		return;
	}
	ring = h;
	ring_data = (char *)m + KH_HEADER_SIZE;
	enabled = 1;
	send_maps();
}

/* A fork child of a sandboxed host: takes a spare ring made before the
 * filter went in, with no system call but getpid, or counts only. Called
 * with the lock held; parent is the parent's pid. */
static void channel_take_spare(uint32_t parent)
{
	struct kh_ring_header *h;
	self_pid = (uint32_t)getpid();
	int rc = agent_pool_take(self_pid, &h);
	if (rc == -ENOSPC)
		counting = true;
	if (rc)
		return;
	h->version = KH_VERSION;
	h->pid = self_pid;
	h->ppid = parent;
	h->data_size = KH_RING_SIZE;
	h->start_ns = now_ns();
	h->mode = mode->id;
	__atomic_store_n(&h->magic, KH_MAGIC, __ATOMIC_RELEASE);
	ring = h;
	ring_data = (char *)h + KH_HEADER_SIZE;
	enabled = 1;
	send_maps();
}

bool agent_sandboxed(void)
{
	return __atomic_load_n(&sandboxed, __ATOMIC_ACQUIRE);
}

/* The host is about to install a seccomp filter: the last moment to open
 * a file. The spare rings of its later fork children are made now. */
void agent_before_sandbox(void)
{
	if (in_hook || agent_sandboxed())
		return;
	int saved = errno;
	in_hook++;
	agent_lock();
	if (enabled && ring && !agent_pool_ready()) {
		char path[512], tmp[512];
		const char *env = agent_getenv(KH_ENV_SPARES);
		uint32_t slots = KH_POOL_SLOTS_DEF;
		if (env && *env >= '0' && *env <= '9') {
			slots = 0;
			for (const char *c = env; *c >= '0' && *c <= '9' && slots <= KH_POOL_SLOTS_MAX; c++)
				slots = slots * 10 + (uint32_t)(*c - '0');
		}
		if (slots && channel_name(path, tmp, KH_POOL_NAME_SUFFIX))
			agent_pool_make(tmp, path, slots, self_pid);
	}
	__atomic_store_n(&sandboxed, true, __ATOMIC_RELEASE);
	agent_unlock();
	in_hook--;
	errno = saved;
}

static void stab_reset(void);
static pthread_key_t tstate_key;
static bool tstate_key_ok;
static void tstate_release(void *p);

/* The loader's records (struct link_map) of the libraries the agent
 * itself loads: malloc'ed while the agent's guard is set, so they are no
 * blocks of the program's, yet the loader chains the program's later
 * dlopens to them (l_next). The leak scan reads them as roots, as the
 * chain is read under valgrind, where they do not exist. */
#define OWN_LINK_MAX 8
static struct link_map *own_links[OWN_LINK_MAX];
static uint32_t own_link_n;

static struct link_map *own_maps_tail(void)
{
	struct link_map *l = _r_debug.r_map;
	while (l && l->l_next)
		l = l->l_next;
	return l;
}

static void own_maps_since(struct link_map *last)
{
	for (struct link_map *l = last ? last->l_next : NULL; l && own_link_n < OWN_LINK_MAX; l = l->l_next)
		own_links[own_link_n++] = l;
}

/* Everything the agent learns about the process once, at start-up: before
 * the host could forbid a system call, no later system call of a new kind
 * (the mapping table, the thread id, a page mapped). */
static void agent_init_locked(void)
{
	if (initialized)
		return;
	initialized = 1;
	const char *mname = getenv(KH_ENV_MODE);
	for (size_t i = 0; mname && i < sizeof(agent_modes) / sizeof(agent_modes[0]); i++)
		if (!strcmp(mname, agent_modes[i]->name))
			mode = agent_modes[i];
	dl_iterate_phdr(find_self, (void *)(uintptr_t)&agent_init_locked);
	agent_unwind_init();
	agent_unwind_on_dlclose(before_dlclose);
	if (agent_maps_snapshot() == 0) {
		extern void *__libc_stack_end;
		uintptr_t lo, hi, gap_lo;
		if (agent_maps_find((uintptr_t)__libc_stack_end, &lo, &hi, &gap_lo)) {
			main_stack_lo = gap_lo; /* it grows down into the gap */
			main_stack_hi = hi;
		}
	}
	void *page = sys_map(4096);
	if (page && madvise(page, 4096, MADV_WIPEONFORK) == 0) {
		alive = page;
		*alive = 1;
	}
	tstate_key_ok = pthread_key_create(&tstate_key, tstate_release) == 0;
	tid_get();
	const char *v = agent_getenv("KILN_AGENT_VERIFY");
	verify = v && v[0] == '1';
	/* libunwind is only the reference KILN_AGENT_VERIFY compares with:
	 * its set-up opens a pipe that the host would see as its own fds.
	 * Opened locally, not linked: libunwind.so.8 also defines _Unwind_*,
	 * which must not replace libgcc_s's for the target's panics and
	 * exceptions. */
	struct link_map *last = own_maps_tail();
	void *h = verify ? dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL) : NULL;
	own_maps_since(last);
	if (h) {
		unw_caching_fn cache = (unw_caching_fn)dlsym(h, ARCH_LIBUNWIND_PREFIX "set_caching_policy");
		unw_addr_space_t *as = (unw_addr_space_t *)dlsym(h, ARCH_LIBUNWIND_PREFIX "local_addr_space");
		if (cache && as)
			cache(*as, UNW_CACHE_PER_THREAD);
		real.backtrace = (unw_backtrace_fn)dlsym(h, "unw_backtrace");
	}
	channel_open();
}

/* The thread is inside the agent from prepare to parent (or child): a
 * signal handler that allocates meanwhile passes through. The agent's
 * lock, then the mode's (agent_mode.h: the order every path keeps). */
static void atfork_prepare(void)
{
	in_hook++;
	agent_lock();
	if (mode->fork_prepare)
		mode->fork_prepare();
}

static void atfork_parent(void)
{
	if (mode->fork_parent)
		mode->fork_parent();
	agent_unlock();
	in_hook--;
}

/* A new process (a fork, or a raw clone no handler saw): it gets its own
 * ring and stack table; the parent's ring mapping stays the parent's (it
 * is shared memory: never write to it here). The guard is set. */
static void process_restart(void)
{
	int saved = errno;
	my_tid = 0;
	pthread_mutex_init(&lock, NULL);
	pending = false; /* the parent's event: its ring gets it */
	agent_unwind_atfork_child();
	fallbacks = 0; /* the counts are each process's own */
	memset(&verified, 0, sizeof(verified));
	if (alive)
		*alive = 1;
	if (ring || counting) {
		/* a spare ring is part of the pool's mapping, which stays */
		if (ring && !agent_pool_holds(ring))
			munmap(ring, KH_HEADER_SIZE + KH_RING_SIZE);
		ring = NULL;
		enabled = 0;
		counting = false;
		stab_reset(); /* the old table's pages are private copies: leaking them is harmless */
		uint32_t parent = self_pid;
		agent_lock();
		/* under a filter, opening the ring file could kill the child */
		if (agent_sandboxed())
			channel_take_spare(parent);
		else
			channel_open();
		agent_unlock();
	}
	if (mode->process_start)
		mode->process_start();
	errno = saved;
}

static void atfork_child(void)
{
	process_restart();
	in_hook--; /* set by atfork_prepare */
}

static void agent_at_exit(void *unused);
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

__attribute__((constructor)) static void agent_ctor(void)
{
	int saved = errno;
	in_hook++;
	resolve();
	agent_lock();
	agent_init_locked();
	agent_unlock();
	agent_exec_env_save();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	/* The exit path must run after everything of the host's: libc's
	 * freeres clears the environment and the locale, frees tzname and
	 * closes stdio. exit() runs its handlers last registered first, and
	 * the loader's _dl_fini (every library's destructors, C++ statics
	 * among them) is registered by __libc_start_main, after all
	 * constructors ran: a handler registered now runs after it. A
	 * destructor would run before those of the libraries initialised
	 * ahead of the agent. No DSO handle, so that __cxa_finalize of the
	 * agent's own image does not run it early. */
	__cxa_atexit(agent_at_exit, NULL, NULL);
	if (mode->alloc_hooks || mode->heap)
		agent_rustshim_install();
	if (mode->start)
		mode->start();
	in_hook--;
	errno = saved;
}

/* ---- stacks ---- */

static inline uint64_t path_mix(uint64_t h, uint64_t ip)
{
	h = (h ^ ip) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 32);
}

static bool ptab_grow(void)
{
	size_t ncap = ptab.cap ? ptab.cap * 2 : 1u << 15;
	struct path_slot *n = sys_map(ncap * sizeof(*n));
	if (!n)
		return false;
	struct path_table old = ptab, grown;
	path_table_move(&old, &grown, n, ncap);
	__atomic_store_n(&ptab.slot, grown.slot, __ATOMIC_RELAXED);
	__atomic_store_n(&ptab.cap, grown.cap, __ATOMIC_RELAXED);
	ptab.n = grown.n;
	if (old.slot)
		sys_unmap(old.slot, old.cap * sizeof(*old.slot));
	return true;
}

/* The whole stack's fingerprint, in four independent lanes so the
 * multiplies overlap (the path hashes are one dependent chain). */
static uint64_t stack_print(const uint64_t *f, int n)
{
	uint64_t a = 0x9e3779b97f4a7c15ull, b = 0xc2b2ae3d27d4eb4full, c = 0x165667b19e3779f9ull, d = (uint64_t)n;
	int k = 0;
	for (; k + 4 <= n; k += 4) {
		a = (a ^ f[k]) * 0xff51afd7ed558ccdull;
		b = (b ^ f[k + 1]) * 0xc4ceb9fe1a85ec53ull;
		c = (c ^ f[k + 2]) * 0xff51afd7ed558ccdull;
		d = (d ^ f[k + 3]) * 0xc4ceb9fe1a85ec53ull;
		a ^= a >> 29;
		b ^= b >> 31;
		c ^= c >> 27;
		d ^= d >> 33;
	}
	for (; k < n; k++)
		a = (a ^ f[k] ^ ((uint64_t)k << 56)) * 0x9e3779b97f4a7c15ull;
	uint64_t h = a ^ (b * 0x94d049bb133111ebull) ^ ((c ^ (c >> 32)) * 0xbf58476d1ce4e5b9ull) ^ (d >> 7);
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	return h | 1; /* 0 marks an empty slot */
}

/* Fills ph[k], the hash of the path from the root down to f[k], for
 * k < n. Needs no lock: done before taking it, and the table slots of the
 * last paths are prefetched so their cache misses overlap with the rest of
 * the event's work. The table pointer may be stale here: a prefetch never
 * faults. */
static void stack_hash(const uint64_t *f, int n, uint64_t *ph)
{
	ph[n] = 0x9e3779b97f4a7c15ull;
	for (int k = n - 1; k >= 0; k--)
		ph[k] = path_mix(ph[k + 1], f[k]) | 1; /* 0 marks an empty slot */
	for (int k = 0; k <= 2 && k < n; k++)
		path_table_prefetch(&ptab, ph[k]);
}

/* Returns the stack's leaf node (f[0] is the innermost frame), adding and
 * sending the nodes that are new (always a chain ending at the leaf) in
 * one record. Lock held. 0 (the root) for an empty stack or no memory. */
static uint32_t stack_intern(const uint64_t *f, int n, const uint64_t *ph)
{
	if (!n)
		return 0;
	/* filled to 70%: linear probing still finds a miss within a cache
	 * line or two, and the table and its regrowths take 40% less memory */
	if (path_table_needs(&ptab, (size_t)n + 1) && !ptab_grow())
		return 0;
	uint32_t known = path_table_find(&ptab, ph[0]);
	if (known)
		return known;
	/* Prefixes are known from the root down to some depth: find it. A new
	 * stack usually differs from known ones in its last frame or two, so
	 * look there first, then search. */
	int lo = 0, hi = n; /* ph[lo] unknown, ph[hi] known (the root) */
	for (int k = 1; k <= 2 && k < n; k++) {
		if (path_table_find(&ptab, ph[k])) {
			hi = k;
			break;
		}
		lo = k;
	}
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;
		if (path_table_find(&ptab, ph[mid]))
			hi = mid;
		else
			lo = mid;
	}
	uint32_t parent = hi == n ? 0 : path_table_find(&ptab, ph[hi]);
	uint32_t cnt = (uint32_t)hi, first = next_node_id;
	uint32_t size = (uint32_t)(sizeof(struct kh_rec_stack) + cnt * sizeof(uint64_t));
	struct kh_rec_stack *r = ring_reserve(size);
	if (!r)
		return 0;
	r->h.type = KH_REC_STACK;
	r->h.size = size;
	r->first = first;
	r->parent = parent;
	r->nframes = cnt;
	r->pad = 0;
	uint64_t *dst = (uint64_t *)(r + 1);
	for (uint32_t i = 0; i < cnt; i++) {
		int k = hi - 1 - (int)i;
		dst[i] = f[k];
		path_table_add(&ptab, ph[k], next_node_id++);
	}
	ring_commit(size);
	return next_node_id - 1;
}

/* The agent's own frames dropped, wherever they are: its hooks at the top
 * and its thread_start under a thread's function (a tail call in an
 * optimised build, a frame of its own in a debug one); return addresses
 * minus one so they name the call, not the next line. */
static int trim_stack(void *const *ips, int n, uint64_t *out)
{
	int k = 0;
	for (int i = 0; i < n && k < KH_MAX_STACK; i++) {
		uintptr_t ip = (uintptr_t)ips[i];
		if (ip < self_lo || ip >= self_hi)
			out[k++] = (uint64_t)ip - 1;
	}
	return k;
}

/* The whole stack through libunwind: the reference, and the fallback. */
static int backtrace_libunwind(void **ips, int max)
{
	return real.backtrace ? real.backtrace(ips, max) : 0;
}

static char *put_hex(char *p, char *end, uint64_t v)
{
	char tmp[16];
	int n = 0;
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	p = put_str(p, end, "0x");
	while (n && p < end)
		*p++ = tmp[--n];
	return p;
}

/* The first few mismatches, to stderr: where the two stacks part. */
static void verify_report_mismatch(const uint64_t *own, int n_own, const uint64_t *ref, int n_ref)
{
	int i = 0;
	while (i < n_own && i < n_ref && own[i] == ref[i])
		i++;
	char buf[200], *p = buf, *end = buf + sizeof(buf) - 1;
	p = put_str(p, end, "kiln-agent: verify: mismatch: own ");
	p = put_u64(p, end, (uint64_t)n_own);
	p = put_str(p, end, " frames, libunwind ");
	p = put_u64(p, end, (uint64_t)n_ref);
	p = put_str(p, end, "; frame ");
	p = put_u64(p, end, (uint64_t)i);
	p = put_str(p, end, ": own ");
	p = put_hex(p, end, i < n_own ? own[i] : 0);
	p = put_str(p, end, ", libunwind ");
	p = put_hex(p, end, i < n_ref ? ref[i] : 0);
	*p++ = '\n';
	if (write(2, buf, (size_t)(p - buf)) < 0)
		return;
}

/* Both unwinders on the same stack: libunwind's answer is kept, the own
 * one is compared to it (when it did not give up) and both are timed. */
/* Where a hook was called from: the return address into the program, the
 * caller's stack pointer once the hook returns, and the caller's rbp. The
 * agent keeps frame pointers (see CMakeLists.txt), so a hook's own frame
 * holds them at fixed places, and the stack is unwound from the caller on:
 * the agent's own frames cost nothing. Read it first thing in the
 * exported hook itself. */
struct caller {
	uintptr_t ra, cfa, bp;
};
#define HOOK_CALLER()                                                                                                  \
	((struct caller){(uintptr_t)__builtin_return_address(0), (uintptr_t)__builtin_frame_address(0) + 16,           \
	                 *(const uintptr_t *)__builtin_frame_address(0)})

/* A captured stack on its way to an id: known already from this thread's
 * recent stacks, or hashed (outside the lock) for stack_intern. */
struct cstack {
	uint64_t frames[KH_MAX_STACK];
	uint64_t ph[KH_MAX_STACK + 1];
	struct path_slot *recent;
	uint64_t print;
	int n;
	uint32_t id; /* 0: not known yet */
};

/* What each thread needs to capture a stack: big, so neither on the stack
 * (a hook costs a few hundred bytes of it: small thread stacks and
 * alternate signal stacks must fit) nor in static TLS (which glibc carves
 * from every thread's stack too). Mapped on the thread's first event,
 * unmapped when it exits (a thread-specific key's destructor). Only its
 * thread touches it, with the guard set. */
struct tstate {
	struct agent_unwind_thread ut;
	/* The thread's stacks seen lately, direct-mapped by a fingerprint that
	 * is cheaper than the path hashes: loops allocate from the same few
	 * stacks over and over, and those cost neither the path hashes nor the
	 * lock's share of the table. Node ids never change, so entries never
	 * go stale (but a new process starts a new table: stab_reset). */
	struct path_slot recent[RECENT_SLOTS];
	struct cstack cs;
	void *ips[KH_MAX_STACK + 8];
	uint64_t own[KH_MAX_STACK]; /* KILN_AGENT_VERIFY's own stack */
};
static TLS struct tstate *ts;

static void tstate_release(void *p)
{
	if (ts == p)
		ts = NULL;
	munmap(p, sizeof(struct tstate));
}

/* The calling thread's state, mapped on first use; NULL when out of memory. */
static struct tstate *tstate_get(void)
{
	if (__builtin_expect(ts != NULL, 1))
		return ts;
	struct tstate *t = sys_map(sizeof(*t));
	if (!t)
		return NULL;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	if (t_stack_hi) {
		t->ut.stack_lo = t_stack_lo;
		t->ut.stack_hi = t_stack_hi;
	} else if (here >= main_stack_lo && here < main_stack_hi) {
		t->ut.stack_lo = main_stack_lo;
		t->ut.stack_hi = main_stack_hi;
	} /* else a thread the agent did not start: its stacks are cut to one frame */
	ts = t;
	if (tstate_key_ok)
		pthread_setspecific(tstate_key, t);
	return t;
}

static void stab_reset(void)
{
	memset(&ptab, 0, sizeof(ptab));
	next_node_id = 1;
	if (ts) /* the calling thread's: the new process's only one */
		memset(ts->recent, 0, sizeof(ts->recent));
}

static __attribute__((noinline, cold)) int capture_verify(struct tstate *t, uint64_t *out, const struct caller *c)
{
	void **ips = t->ips;
	uint64_t *own = t->own;
	bool whole;
	uint64_t t0 = now_ns();
	int n = agent_unwind_backtrace_from(&t->ut, ips, KH_MAX_STACK + 8, c->ra, c->cfa, c->bp, &whole);
	uint64_t t1 = now_ns();
	int n_own = !whole ? -1 : trim_stack(ips, n, own);
	n = backtrace_libunwind(ips, KH_MAX_STACK + 8);
	uint64_t t2 = now_ns();
	int k = trim_stack(ips, n, out);
	__atomic_fetch_add(&verified.stacks, 1, __ATOMIC_RELAXED);
	if (n_own < 0) {
		__atomic_fetch_add(&fallbacks, 1, __ATOMIC_RELAXED);
		return k;
	}
	__atomic_fetch_add(&verified.own_ns, t1 - t0, __ATOMIC_RELAXED);
	__atomic_fetch_add(&verified.libunwind_ns, t2 - t1, __ATOMIC_RELAXED);
	if (n_own != k || memcmp(own, out, (size_t)k * sizeof(*out))) {
		if (__atomic_fetch_add(&verified.mismatches, 1, __ATOMIC_RELAXED) < 3)
			verify_report_mismatch(own, n_own, out, k);
	}
	return k;
}

/* Captures the stack of the hook's caller c (innermost frame first) into
 * out, walking at most max frames (the agent's own are dropped after: a
 * few more than kept is enough). A stack the own unwinder cut short is
 * kept as far as it got (and counted): libunwind is never called outside
 * KILN_AGENT_VERIFY. */
static int capture_max(struct tstate *t, uint64_t *out, const struct caller *c, int max)
{
	if (__builtin_expect(verify, 0))
		return capture_verify(t, out, c);
	bool whole;
	int n = agent_unwind_backtrace_from(&t->ut, t->ips, max, c->ra, c->cfa, c->bp, &whole);
	if (__builtin_expect(!whole, 0))
		__atomic_fetch_add(&fallbacks, 1, __ATOMIC_RELAXED);
	return trim_stack(t->ips, n, out);
}

static int capture(struct tstate *t, uint64_t *out, const struct caller *c)
{
	return capture_max(t, out, c, KH_MAX_STACK + 8);
}

/* KILN_AGENT_VERIFY's summary line; the times are means over the stacks
 * both unwinders took. */
static void verify_summary(void)
{
	struct agent_unwind_stats st;
	agent_unwind_get_stats(&st);
	uint64_t both = verified.stacks - fallbacks;
	char buf[400], *p = buf, *end = buf + sizeof(buf) - 1;
	p = put_str(p, end, "kiln-agent: verify: ");
	p = put_u64(p, end, verified.stacks);
	p = put_str(p, end, " stacks, ");
	p = put_u64(p, end, verified.mismatches);
	p = put_str(p, end, " mismatches, ");
	p = put_u64(p, end, fallbacks);
	p = put_str(p, end, " fallbacks (no info ");
	p = put_u64(p, end, st.no_info);
	p = put_str(p, end, ", unsupported ");
	p = put_u64(p, end, st.unsupported);
	p = put_str(p, end, ", off stack ");
	p = put_u64(p, end, st.bounds);
	p = put_str(p, end, "); ");
	p = put_u64(p, end, st.misses);
	p = put_str(p, end, " cache misses, ");
	p = put_u64(p, end, st.resets);
	p = put_str(p, end, " resets; own ");
	p = put_u64(p, end, both ? verified.own_ns / both : 0);
	p = put_str(p, end, " ns, libunwind ");
	p = put_u64(p, end, both ? verified.libunwind_ns / both : 0);
	p = put_str(p, end, " ns per stack");
	*p++ = '\n';
	if (write(2, buf, (size_t)(p - buf)) < 0)
		return;
}

/* ---- events ---- */

static void cstack_capture(struct tstate *t, const struct caller *from)
{
	struct cstack *c = &t->cs;
	c->n = capture(t, c->frames, from);
	c->print = stack_print(c->frames, c->n);
	c->recent = &t->recent[(c->print >> 1) & (RECENT_SLOTS - 1)]; /* bit 0 is always set */
	c->id = c->recent->hash == c->print ? c->recent->id : 0;
	if (!c->id)
		stack_hash(c->frames, c->n, c->ph);
}

/* A stack new to its thread is looked up one event late: its path-table
 * slots, prefetched when it was hashed, are far in memory, and by the
 * next event (of any thread) the program's own work has hidden the
 * misses. Its allocation's record carries KH_STACK_PENDING; the stack is
 * copied here, its frames into the ring's first page (if the process dies
 * before they are named, kiln takes them from there), and named by the
 * first records of the next ring_reserve(). Lock held for all of it. */
static struct {
	int n;
	uint64_t print;
	uintptr_t recent; /* the capturing thread's cache slot */
	uint64_t ph[KH_MAX_STACK + 1];
} pend;

/* The id an event's record carries: the stack's, or KH_STACK_PENDING when
 * the caller must call pending_set() right after writing the record. */
static uint32_t cstack_id(const struct cstack *c)
{
	return c->id || !c->n ? c->id : KH_STACK_PENDING;
}

static void pending_set(const struct cstack *c)
{
	pend.n = c->n;
	pend.print = c->print;
	pend.recent = (uintptr_t)c->recent;
	memcpy(pend.ph, c->ph, ((size_t)c->n + 1) * sizeof(uint64_t));
	struct kh_pending *shared = kh_pending_of(ring);
	memcpy(shared->frames, c->frames, (size_t)c->n * sizeof(uint64_t));
	__atomic_store_n(&shared->nframes, (uint32_t)c->n, __ATOMIC_RELEASE);
	pending = true;
}

static void pending_flush(void)
{
	pending_flushing = true;
	struct kh_pending *shared = kh_pending_of(ring);
	uint32_t id = stack_intern(shared->frames, pend.n, pend.ph);
	/* The capturing thread's cache learns the id only from that thread:
	 * another thread's cache may be read meanwhile, without the lock. */
	uintptr_t mine = ts ? (uintptr_t)ts->recent : 0;
	if (id && mine && pend.recent >= mine && pend.recent < mine + sizeof(ts->recent)) {
		struct path_slot *slot = (struct path_slot *)pend.recent;
		slot->hash = pend.print;
		slot->id = id;
	}
	struct kh_rec_stack_of *r = enabled ? ring_reserve(sizeof(*r)) : NULL;
	if (r) {
		r->h.type = KH_REC_STACK_OF;
		r->h.size = sizeof(*r);
		r->stack = id;
		r->pad = 0;
		ring_commit(sizeof(*r));
	}
	__atomic_store_n(&shared->nframes, 0, __ATOMIC_RELEASE);
	pending = pending_flushing = false;
}

/* Records an allocation; errno is left as it was. */
static void record_alloc(const struct caller *from, void *ptr, size_t size)
{
	if (counting) {
		agent_pool_count_alloc(size);
		return;
	}
	int saved = errno;
	struct tstate *ts_ = tstate_get();
	if (!ts_) {
		__atomic_fetch_add(&untracked, 1, __ATOMIC_RELAXED);
		errno = saved;
		return;
	}
	const struct cstack *cs = &ts_->cs;
	cstack_capture(ts_, from);
	uint64_t t = event_ns();
	uint32_t tid = tid_get();
	agent_lock();
	if (!enabled)
		goto out_unlock;
	uint32_t id = cstack_id(cs);
	struct kh_rec_alloc *r = ring_reserve(sizeof(*r));
	if (!r)
		goto out_unlock;
	r->h.type = KH_REC_ALLOC;
	r->h.size = sizeof(*r);
	r->time = t;
	r->addr = (uint64_t)(uintptr_t)ptr;
	r->size = size;
	r->tid = tid;
	r->stack = id;
	ring_commit(sizeof(*r));
	if (id == KH_STACK_PENDING)
		pending_set(cs);
out_unlock:
	agent_unlock();
	errno = saved;
}

/* Sent before the block goes back to the allocator, so another thread that
 * gets the same address records its allocation after this free. */
static void record_free(void *ptr)
{
	if (counting) {
		agent_pool_count_free();
		return;
	}
	int saved = errno;
	uint64_t t = event_ns();
	uint32_t tid = tid_get();
	agent_lock();
	if (enabled) {
		struct kh_rec_free *r = ring_reserve(sizeof(*r));
		if (r) {
			r->h.type = KH_REC_FREE;
			r->h.size = sizeof(*r);
			r->time = t;
			r->addr = (uint64_t)(uintptr_t)ptr;
			r->tid = tid;
			r->pad = 0;
			ring_commit(sizeof(*r));
		}
	}
	agent_unlock();
	errno = saved;
}

/* The first event, or the first in a process no fork handler told about. */
static __attribute__((noinline)) void hook_setup(void)
{
	int saved = errno;
	if (!initialized) {
		resolve();
		agent_lock();
		agent_init_locked();
		agent_unlock();
	} else {
		process_restart();
	}
	errno = saved;
}

/* True when this call should be recorded; sets the guard. */
static inline bool hook_enter(void)
{
	if (in_hook)
		return false;
	in_hook++;
	if (__builtin_expect(!initialized || (alive && !*alive), 0))
		hook_setup();
	if ((!enabled && !counting) || !mode->alloc_hooks) {
		in_hook--;
		return false;
	}
	return true;
}

static inline void hook_leave(void)
{
	in_hook--;
}

/* The mode's own allocator for this call (agent_mode.h), with the guard
 * set (hook_leave() after it), or NULL: the heap mode, or the agent's own
 * call. */
static inline const struct agent_heap *mode_heap(void)
{
	if (in_hook)
		return NULL;
	if (__builtin_expect(!initialized || (alive && !*alive), 0)) {
		in_hook++;
		hook_setup();
		in_hook--;
	}
	if (__builtin_expect(!mode->heap, 1))
		return NULL;
	in_hook++;
	return mode->heap;
}

#define MODE_CALLER(c) ((struct agent_caller){(c).ra, (c).cfa, (c).bp})

/* Whether this thread's next allocation goes straight to the real
 * allocator (agent_mode.h): one TLS decrement. */
static inline bool bypass_alloc(void)
{
	uint32_t n = agent_heap_skip;
	if (n > 1) { /* no hint: never in the heap mode, nearly always sampled */
		agent_heap_skip = n - 1;
		return true;
	}
	return false;
}

/* Whether p is not the mode's (nor the boot arena's): one subtraction
 * and compare for a pointer of the real allocator's. len is read first:
 * agent_heap_bypass_set() stores lo before it. */
static inline bool bypass_ptr(const void *p)
{
	uintptr_t len = __atomic_load_n(&bypass_len, __ATOMIC_ACQUIRE);
	return (uintptr_t)p - __atomic_load_n(&bypass_lo, __ATOMIC_RELAXED) >= len && !is_boot(p);
}

void agent_heap_bypass_set(uintptr_t lo, uintptr_t len)
{
	__atomic_store_n(&bypass_lo, lo, __ATOMIC_RELAXED);
	__atomic_store_n(&bypass_len, len, __ATOMIC_RELEASE);
}

bool agent_heap_bypassed(const void *p)
{
	return bypass_ptr(p);
}

/* aligned_alloc's and memalign's: a power of two */
static inline bool align_ok(size_t align)
{
	return align && !(align & (align - 1));
}

/* The entry points below are a thin wrapper, whose bypass needs no
 * registers saved, and the hooked path, told the program's caller. */
static __attribute__((noinline)) void *malloc_hooked(size_t size, const struct caller from)
{
	if (__builtin_expect(!real.malloc, 0)) {
		resolve();
		if (!real.malloc)
			return boot_alloc(size, 16);
	}
	const struct agent_heap *mh = mode_heap();
	if (mh) {
		void *p = mh->alloc(size, 16, false, &MODE_CALLER(from));
		hook_leave();
		return p;
	}
	if (!hook_enter())
		return real.malloc(size);
	void *p = real.malloc(size);
	if (p)
		record_alloc(&from, p, size);
	hook_leave();
	return p;
}

EXPORT void *malloc(size_t size)
{
	if (bypass_alloc())
		return real.malloc(size);
	return malloc_hooked(size, HOOK_CALLER());
}

/* memcheck counts only the words the program wrote since a block was
 * allocated (its malloc never hands out memory freed recently); glibc's
 * hands a freed chunk back with its old bytes (a tcache chunk even under
 * MALLOC_PERTURB_), and the leak scan reads every word: an old pointer in
 * reused memory would keep a block reachable that memcheck calls lost.
 * Clearing [from, usable size) as it is given back leaves reused memory
 * holding what the program wrote since and malloc's own list words only.
 * A mapped chunk (glibc's flag in the word before it) goes back to the
 * kernel; a large block we cannot tell that of is left alone. */
static void scrub(void *ptr, size_t from)
{
	size_t n = real.malloc_usable_size ? real.malloc_usable_size(ptr) : 0;
	if (n <= from)
		return;
	bool mapped;
	if (((uintptr_t)ptr & 4095) >= sizeof(size_t))
		mapped = ((const size_t *)ptr)[-1] & 2; /* the word shares ptr's page */
	else
		mapped = n >= 128 * 1024; /* page-aligned: maybe mmap'ed, header unreadable */
	if (!mapped)
		memset((char *)ptr + from, 0, n - from);
}

/* A block being freed: its first two words are left alone, as free
 * writes its list words there anyway, and the second is the key by
 * which glibc tells a double free (the program must still abort). */
#define SCRUB_FREED (2 * sizeof(void *))

static __attribute__((noinline)) void free_hooked(void *ptr, const struct caller from)
{
	if (!ptr || is_boot(ptr))
		return;
	if (__builtin_expect(!real.free, 0)) {
		resolve();
		if (!real.free)
			return; /* nothing could have been allocated by it yet */
	}
	const struct agent_heap *mh = mode_heap();
	if (mh) {
		int r = mh->free(ptr, &MODE_CALLER(from));
		hook_leave();
		if (r == AGENT_HEAP_NOT_MINE)
			real.free(ptr);
		return;
	}
	if (!hook_enter()) {
		real.free(ptr);
		return;
	}
	record_free(ptr);
	scrub(ptr, SCRUB_FREED);
	real.free(ptr);
	hook_leave();
}

EXPORT void free(void *ptr)
{
	if (bypass_ptr(ptr)) {
		real.free(ptr);
		return;
	}
	free_hooked(ptr, HOOK_CALLER());
}

EXPORT void cfree(void *ptr)
{
	free(ptr);
}

static __attribute__((noinline)) void *calloc_hooked(size_t n, size_t size, const struct caller from)
{
	if (__builtin_expect(!real.calloc || resolving, 0)) {
		/* dlsym's own calloc lands here while we resolve: the arena is
		 * zeroed. Anyone else's (a library constructor that runs before
		 * ours) gets the real allocator. */
		if (!resolving)
			resolve();
		if (!real.calloc || resolving) {
			size_t total;
			if (__builtin_mul_overflow(n, size, &total)) {
				errno = ENOMEM;
				return NULL;
			}
			return boot_alloc(total, 16);
		}
	}
	const struct agent_heap *mh = mode_heap();
	if (mh) {
		size_t total;
		void *p = NULL;
		if (__builtin_mul_overflow(n, size, &total))
			errno = ENOMEM;
		else
			p = mh->alloc(total, 16, true, &MODE_CALLER(from));
		hook_leave();
		return p;
	}
	if (!hook_enter())
		return real.calloc(n, size);
	void *p = real.calloc(n, size);
	if (p)
		record_alloc(&from, p, n * size);
	hook_leave();
	return p;
}

EXPORT void *calloc(size_t n, size_t size)
{
	if (bypass_alloc())
		return real.calloc(n, size);
	return calloc_hooked(n, size, HOOK_CALLER());
}

static void *libc_realloc(void *ptr, size_t size, const void *ctx)
{
	(void)ctx;
	return real.realloc(ptr, size);
}

/* Moves a block through fn and records the realloc. The old address is
 * free once fn returns: the lock is held across it so no other thread's
 * event for that address comes before ours. The stack is captured first,
 * outside the lock. A libc block's shrunk tail is scrubbed (see scrub()). */
static void *realloc_recorded(const struct caller *from, void *ptr, size_t size, agent_realloc_fn fn, const void *ctx)
{
	struct tstate *t = tstate_get();
	if (t)
		cstack_capture(t, from);
	uint32_t tid = tid_get();
	agent_lock();
	if (fn == libc_realloc)
		scrub(ptr, size); /* what a shrink gives back; nothing when it grows */
	void *p = fn(ptr, size, ctx);
	int saved = errno;
	if (p && enabled && t) {
		uint32_t id = cstack_id(&t->cs);
		struct kh_rec_realloc *r = ring_reserve(sizeof(*r));
		if (r) {
			r->h.type = KH_REC_REALLOC;
			r->h.size = sizeof(*r);
			r->time = event_ns();
			r->old_addr = (uint64_t)(uintptr_t)ptr;
			r->addr = (uint64_t)(uintptr_t)p;
			r->size = size;
			r->tid = tid;
			r->stack = id;
			ring_commit(sizeof(*r));
			if (id == KH_STACK_PENDING)
				pending_set(&t->cs);
		}
	} else if (p && counting) {
		agent_pool_count_free();
		agent_pool_count_alloc(size);
	} else if (p && enabled) {
		__atomic_fetch_add(&untracked, 1, __ATOMIC_RELAXED); /* no thread state: no memory */
	}
	agent_unlock();
	errno = saved;
	return p;
}

static __attribute__((noinline)) void *realloc_hooked(void *ptr, size_t size, const struct caller from)
{
	if (__builtin_expect(is_boot(ptr) || !real.realloc, 0)) {
		if (!real.realloc)
			resolve();
		void *n = real.malloc ? malloc(size) : boot_alloc(size, 16);
		if (n && ptr) {
			size_t old = boot_size(ptr);
			memcpy(n, ptr, old < size ? old : size);
		}
		return n;
	}
	const struct agent_heap *mh = mode_heap();
	if (mh) {
		void *p = NULL;
		int r = mh->realloc(ptr, size, &MODE_CALLER(from), &p);
		hook_leave();
		return r == AGENT_HEAP_NOT_MINE ? real.realloc(ptr, size) : p;
	}
	if (!hook_enter())
		return real.realloc(ptr, size);
	void *p;
	if (!ptr) {
		p = real.realloc(NULL, size);
		if (p)
			record_alloc(&from, p, size);
	} else if (!size) {
		record_free(ptr);
		scrub(ptr, SCRUB_FREED);
		p = real.realloc(ptr, 0);
	} else {
		p = realloc_recorded(&from, ptr, size, libc_realloc, NULL);
	}
	hook_leave();
	return p;
}

EXPORT void *realloc(void *ptr, size_t size)
{
	/* realloc(NULL, n) allocates: the mode samples it */
	if (ptr && bypass_ptr(ptr))
		return real.realloc(ptr, size);
	return realloc_hooked(ptr, size, HOOK_CALLER());
}

EXPORT size_t malloc_usable_size(void *ptr)
{
	if (!ptr)
		return 0;
	if (bypass_ptr(ptr))
		return real.malloc_usable_size ? real.malloc_usable_size(ptr) : 0;
	if (is_boot(ptr))
		return boot_size(ptr);
	resolve();
	const struct agent_heap *mh = mode_heap();
	if (mh) {
		size_t n = 0;
		int r = mh->usable(ptr, &n);
		hook_leave();
		if (r != AGENT_HEAP_NOT_MINE)
			return n;
	}
	return real.malloc_usable_size ? real.malloc_usable_size(ptr) : 0;
}

EXPORT void *reallocarray(void *ptr, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(ptr, total);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	const struct caller from = HOOK_CALLER();
	if (__builtin_expect(!real.posix_memalign, 0)) {
		resolve();
		if (!real.posix_memalign) {
			*out = boot_alloc(size, align);
			return *out ? 0 : ENOMEM;
		}
	}
	const struct agent_heap *mh = mode_heap();
	if (mh) {
		int rc = 0;
		if (!align_ok(align) || align % sizeof(void *))
			rc = EINVAL;
		else if (!(*out = mh->alloc(size, align < 16 ? 16 : align, false, &MODE_CALLER(from))))
			rc = ENOMEM;
		hook_leave();
		return rc;
	}
	if (!hook_enter())
		return real.posix_memalign(out, align, size);
	int rc = real.posix_memalign(out, align, size);
	if (!rc)
		record_alloc(&from, *out, size);
	hook_leave();
	return rc;
}

static void *aligned_common(const struct caller *hook, aligned_alloc_fn fn, size_t align, size_t size)
{
	const struct caller from = *hook;
	if (__builtin_expect(!fn, 0))
		return boot_alloc(size, align);
	const struct agent_heap *mh = mode_heap();
	if (mh) {
		void *p = NULL;
		if (!align_ok(align))
			errno = EINVAL;
		else
			p = mh->alloc(size, align < 16 ? 16 : align, false, &MODE_CALLER(from));
		hook_leave();
		return p;
	}
	if (!hook_enter())
		return fn(align, size);
	void *p = fn(align, size);
	if (p)
		record_alloc(&from, p, size);
	hook_leave();
	return p;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
	const struct caller from = HOOK_CALLER();
	resolve();
	return aligned_common(&from, real.aligned_alloc, align, size);
}

EXPORT void *memalign(size_t align, size_t size)
{
	const struct caller from = HOOK_CALLER();
	resolve();
	return aligned_common(&from, real.memalign, align, size);
}

EXPORT void *valloc(size_t size)
{
	const struct caller from = HOOK_CALLER();
	resolve();
	if (!real.valloc)
		return boot_alloc(size, 4096);
	const struct agent_heap *mh = mode_heap();
	if (mh) {
		void *p = mh->alloc(size, 4096, false, &MODE_CALLER(from));
		hook_leave();
		return p;
	}
	if (!hook_enter())
		return real.valloc(size);
	void *p = real.valloc(size);
	if (p)
		record_alloc(&from, p, size);
	hook_leave();
	return p;
}

EXPORT void *pvalloc(size_t size)
{
	const struct caller from = HOOK_CALLER();
	resolve();
	if (!real.pvalloc)
		return boot_alloc(size, 4096);
	const struct agent_heap *mh = mode_heap();
	if (mh) {
		void *p = mh->alloc(size ? (size + 4095) & ~(size_t)4095 : 4096, 4096, false, &MODE_CALLER(from));
		hook_leave();
		return p;
	}
	if (!hook_enter())
		return real.pvalloc(size);
	void *p = real.pvalloc(size);
	if (p) {
		size_t page = 4096;
		record_alloc(&from, p, size ? (size + page - 1) & ~(page - 1) : page);
	}
	hook_leave();
	return p;
}

/* ---- threads: each learns its stack at its start ---- */

struct thread_start {
	void *(*fn)(void *);
	void *arg;
	size_t stack_size;
};

/* glibc puts a thread's descriptor, its thread pointer, at the top of the
 * thread's stack block, under it the static TLS, then the stack: the
 * frames lie in [tp - stack size, tp). */
static void *thread_start(void *p)
{
	struct thread_start st = *(struct thread_start *)p;
	real.free(p);
	uintptr_t tp = arch_thread_pointer();
	t_stack_lo = tp > st.stack_size ? tp - st.stack_size : 0;
	t_stack_hi = tp;
	if (mode->thread_start) {
		int saved = errno;
		in_hook++;
		mode->thread_start();
		in_hook--;
		errno = saved;
	}
	return st.fn(st.arg);
}

EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	resolve();
	if (!real.pthread_create)
		return EAGAIN;
	int saved = errno;
	struct thread_start *st = real.malloc ? real.malloc(sizeof(*st)) : NULL;
	pthread_attr_t def;
	size_t size = 0;
	if (st && !attr && pthread_attr_init(&def) == 0) {
		pthread_attr_getstacksize(&def, &size); /* the default */
		pthread_attr_destroy(&def);
	} else if (st) {
		pthread_attr_getstacksize(attr, &size);
	}
	errno = saved;
	if (!st || !size) {
		if (st)
			real.free(st);
		return real.pthread_create(thread, attr, fn, arg);
	}
	*st = (struct thread_start){fn, arg, size};
	int rc = real.pthread_create(thread, attr, thread_start, st);
	if (rc)
		real.free(st);
	return rc;
}

/* ---- jumps out of a signal handler that interrupted the agent ---- */

/* The hook the handler interrupted will never finish: what it held is
 * let go. An event half written under the lock cannot be finished either,
 * so then recording stops (the calls are let through, as after any
 * failure); the thread's later events are recorded again otherwise. */
static void jump_out_of_agent(void)
{
	if (!in_hook)
		return;
	if (__atomic_load_n(&lock.__data.__owner, __ATOMIC_RELAXED) == (int)tid_get()) {
		enabled = 0;
		agent_unlock();
	}
	agent_unwind_abandon();
	in_hook = 0;
}

EXPORT void siglongjmp(sigjmp_buf env, int val)
{
	jump_out_of_agent();
	resolve();
	real.siglongjmp(env, val);
}

EXPORT void longjmp(jmp_buf env, int val)
{
	jump_out_of_agent();
	resolve();
	real.longjmp(env, val);
}

EXPORT void _longjmp(jmp_buf env, int val)
{
	jump_out_of_agent();
	resolve();
	real._longjmp(env, val);
}

EXPORT void __longjmp_chk(jmp_buf env, int val)
{
	jump_out_of_agent();
	resolve();
	real.longjmp_chk(env, val);
}

/* ---- exec: the new image starts its own ring; send this one's maps ---- */

/* An environment agent_exec_env() made, after a failed exec (errno kept). */
static void exec_env_drop(char *const *env, size_t len)
{
	int saved = errno;
	agent_unmap((void *)env, len);
	errno = saved;
}

static void before_exec(void)
{
	if (in_hook)
		return;
	int saved = errno;
	in_hook++;
	agent_lock();
	if (enabled) {
		send_maps();
		ring_write(KH_REC_EXEC, NULL, 0);
	}
	agent_unlock();
	in_hook--;
	errno = saved;
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	resolve();
	before_exec();
	size_t len;
	char *const *env = agent_exec_env(envp, &len);
	int rc = real.execve(path, argv, env);
	if (len)
		exec_env_drop(env, len);
	return rc;
}

EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	resolve();
	before_exec();
	size_t len;
	char *const *env = agent_exec_env(envp, &len);
	int rc = real.execvpe(file, argv, env);
	if (len)
		exec_env_drop(env, len);
	return rc;
}

/* ---- the leak scan at exit ---- */

struct scan {
	const struct kh_live_block *b;
	uint8_t *cls;
	uint64_t n;
	struct kh_live_region *reg; /* kiln's regions (channel_format.h) */
	uint64_t nreg;
	uint64_t lo, hi; /* lowest start, highest end */
	uint32_t *stack;
	uint64_t sp, cap;
	uint32_t leader;
};

/* memcheck's order: unreached < possibly < reachable */
static int rank(uint8_t c)
{
	return c == KH_LEAK_REACHABLE ? 2 : c == KH_LEAK_POSSIBLE ? 1 : 0;
}

/* The block holding address v, or -1; *interior when v is not its start. */
static int64_t scan_find(const struct scan *s, uint64_t v, bool *interior)
{
	if (v < s->lo || v >= s->hi)
		return -1;
	uint64_t l = 0, r = s->n;
	while (r - l > 1) {
		uint64_t m = (l + r) / 2;
		if (s->b[m].addr <= v)
			l = m;
		else
			r = m;
	}
	const struct kh_live_block *b = &s->b[l];
	if (v < b->addr)
		return -1;
	if (v == b->addr) {
		*interior = false;
		return (int64_t)l;
	}
	if (v < b->addr + b->size) {
		*interior = true;
		return (int64_t)l;
	}
	return -1;
}

static void scan_push(struct scan *s, uint32_t i)
{
	if (s->sp < s->cap)
		s->stack[s->sp++] = i;
}

/* The loaded modules' segments, for the multiple-inheritance heuristic:
 * where vtables (read-only file data) and code may be. Sorted, static
 * (the stack is a root). */
#define SEG_MAX 2048
static struct {
	uint64_t lo, hi;
	bool x;
} seg[SEG_MAX];
static uint32_t seg_n;

static int seg_collect(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	(void)ctx;
	for (int i = 0; i < info->dlpi_phnum && seg_n < SEG_MAX; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_R) || !ph->p_filesz)
			continue;
		uint64_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_filesz; /* the file's part: no bss */
		uint32_t k = seg_n++;
		for (; k > 0 && seg[k - 1].lo > lo; k--)
			seg[k] = seg[k - 1];
		seg[k].lo = lo & ~4095ull;
		seg[k].hi = hi;
		seg[k].x = ph->p_flags & PF_X;
	}
	return 0;
}

static int64_t seg_of(uint64_t a)
{
	uint32_t l = 0, r = seg_n;
	while (l < r) {
		uint32_t m = (l + r) / 2;
		if (seg[m].hi <= a)
			l = m + 1;
		else
			r = m;
	}
	return l < seg_n && seg[l].lo <= a ? (int64_t)l : -1;
}

/* memcheck's test for a vtable: in a module's file data, and its first
 * non-null words (two within twenty) point into code. */
static bool is_vtable(uint64_t p)
{
	int64_t k = seg_of(p);
	if (p < 4096 || (p & 7) || k < 0)
		return false;
	uint64_t end = p + 20 * 8, found = 0;
	if (end > seg[k].hi - 8)
		end = seg[k].hi - 8;
	for (uint64_t a = p; a <= end; a += 8) {
		uint64_t fn = *(const uint64_t *)(uintptr_t)a;
		if (!fn)
			continue;
		int64_t f = seg_of(fn);
		if (f < 0 || !seg[f].x)
			return false;
		if (++found == 2)
			return true;
	}
	return false;
}

/* memcheck's leak-check heuristics (all on by default since valgrind
 * 3.11): an interior pointer that one of them explains counts as a
 * pointer to the block's start. v points into block j, not at its start. */
static bool scan_heuristic(const struct scan *s, uint64_t j, uint64_t v)
{
	const struct kh_live_block *b = &s->b[j];
	const uint64_t *w = (const uint64_t *)(uintptr_t)b->addr;
	uint64_t off = v - b->addr;
	/* stdstring: a copy-on-write std::string's characters after
	 * {length, capacity, refcount} */
	if (off == 24 && 24 + w[1] + 1 == b->size && w[0] <= w[1])
		return true;
	/* newarray: new[]'s element count before the elements; length64 (a
	 * size before the data, sqlite's) is the case count = size - 8 */
	if (off == 8 && w[0] && (b->size - 8) % w[0] == 0)
		return true;
	/* multipleinheritance: a pointer to a base's vtable pointer inside an
	 * object that starts with a vtable pointer */
	if (!(v & 7) && off + 8 <= b->size) {
		uint64_t inner = *(const uint64_t *)(uintptr_t)v;
		return is_vtable(inner) && is_vtable(w[0]);
	}
	return false;
}

/* Scans words in [lo, hi) found from a block (or root) in state `from`.
 * In the clique phase (leader set) unreached blocks become indirect. */
static void scan_range(struct scan *s, uint64_t lo, uint64_t hi, uint8_t from, bool starts_only)
{
	lo = (lo + 7) & ~7ull;
	for (uint64_t a = lo; a + 8 <= hi; a += 8) {
		uint64_t v = *(const volatile uint64_t *)(uintptr_t)a;
		bool interior;
		int64_t j = scan_find(s, v, &interior);
		if (j < 0 || (interior && starts_only))
			continue;
		if (s->leader != UINT32_MAX) {
			uint8_t c = s->cls[j];
			if ((uint32_t)j != s->leader && (c == 0 || c == KH_LEAK_DEFINITE)) {
				s->cls[j] = KH_LEAK_INDIRECT;
				scan_push(s, (uint32_t)j);
			}
			continue;
		}
		uint8_t want = KH_LEAK_POSSIBLE;
		if (from == KH_LEAK_REACHABLE &&
		    (!interior || (s->cls[j] != KH_LEAK_REACHABLE && scan_heuristic(s, (uint64_t)j, v))))
			want = KH_LEAK_REACHABLE;
		if (rank(want) > rank(s->cls[j])) {
			s->cls[j] = want;
			scan_push(s, (uint32_t)j);
		}
	}
}

static void scan_drain(struct scan *s)
{
	while (s->sp) {
		uint32_t i = s->stack[--s->sp];
		uint8_t from = s->leader != UINT32_MAX ? KH_LEAK_INDIRECT : s->cls[i];
		scan_range(s, s->b[i].addr, s->b[i].addr + s->b[i].size, from, false);
	}
}

static int scan_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	struct scan *s = ctx;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	/* glibc's arena keeps pointers to chunk headers, which land inside
	 * neighbouring blocks; memcheck never sees them. Only exact block
	 * starts count from libc's own data. */
	size_t nl = str_len(name);
	bool is_libc = nl >= 9 && !memcmp(name + nl - 9, "libc.so.6", 9);
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_W)) {
			if (self_lo >= info->dlpi_addr && self_lo < lo)
				continue; /* the agent's own data */
			scan_range(s, lo, lo + ph->p_memsz, KH_LEAK_REACHABLE, is_libc);
		} else if (ph->p_type == PT_TLS && info->dlpi_tls_data) {
			uint64_t t = (uint64_t)(uintptr_t)info->dlpi_tls_data;
			scan_range(s, t, t + ph->p_memsz, KH_LEAK_REACHABLE, false);
		}
	}
	return 0;
}

extern void *__libc_stack_end;

/* Threads still running at exit hold roots too. kiln takes each one's
 * registers and stack range with ptrace (KH_REC_PEERS in channel_format.h):
 * a signal of ours would make their sleeping system calls return EINTR.
 * They run on meanwhile (freezing them could deadlock on a lock we need),
 * so this is conservative: it can only make blocks more reachable. */
#define PEER_MAX 256
static struct kh_peer peers[PEER_MAX];
static uint32_t peer_n;

/* Waits while kiln works on a handshake (the state stays `asked`); the
 * state kiln answered with. */
static uint32_t handshake_wait(uint32_t *state, uint32_t asked)
{
	unsigned spins = 0;
	uint32_t st;
	while ((st = __atomic_load_n(state, __ATOMIC_ACQUIRE)) == asked) {
		nap(100000);
		/* kiln answers in milliseconds; never hold an exiting program
		 * for long, whatever happened to kiln (60 s) */
		if (((++spins & 255) == 0 && !kiln_alive()) || spins > 600000)
			break;
	}
	return st;
}

/* Asks kiln for the other threads' roots and copies them out of the ring.
 * Returns how many other threads the process has, -1 if unknown. Lock held. */
static int64_t peers_fetch(void)
{
	peer_n = 0;
	__atomic_store_n(&ring->peer_state, KH_SCAN_REQUESTED, __ATOMIC_RELEASE);
	struct kh_rec_peers q = {.tid = tid_get(), .cap = PEER_MAX};
	if (ring_write(KH_REC_PEERS, (char *)&q + sizeof(q.h), sizeof(q) - sizeof(q.h)) ||
	    handshake_wait(&ring->peer_state, KH_SCAN_REQUESTED) != KH_SCAN_READY)
		return -1;
	uint32_t n = ring->peer_n < PEER_MAX ? ring->peer_n : PEER_MAX;
	memcpy(peers, ring_data, n * sizeof(*peers));
	peer_n = n;
	return ring->peer_threads;
}

/* Scans the registers and stacks of the process's other threads. */
static void scan_peers(struct scan *s, uint64_t my_sp)
{
	for (uint32_t i = 0; i < peer_n; i++) {
		const struct kh_peer *pe = &peers[i];
		if (pe->flags & KH_PEER_HAS_REGS)
			scan_range(s, (uint64_t)(uintptr_t)pe->regs, (uint64_t)(uintptr_t)(pe->regs + KH_PEER_REGS),
			           KH_LEAK_REACHABLE, false);
		if (my_sp >= pe->lo && my_sp < pe->hi)
			continue; /* the exiting thread's own stack, scanned from its sp */
		if (pe->hi > pe->lo)
			scan_range(s, pe->lo, pe->hi, KH_LEAK_REACHABLE, false);
	}
}

/* What the region scan leaves out, sorted: the modules' writable
 * segments (scan_module reads them, libc's by its own rule) and the
 * agent's own mappings. Static: the stack is a root. */
#define SKIP_MAX 2048
static struct {
	uint64_t lo, hi;
} skip[SKIP_MAX];
static uint32_t skip_n;

static void skip_add(uint64_t lo, uint64_t hi)
{
	if (hi <= lo || skip_n >= SKIP_MAX)
		return;
	uint32_t i = skip_n++;
	for (; i > 0 && skip[i - 1].lo > lo; i--)
		skip[i] = skip[i - 1];
	skip[i].lo = lo;
	skip[i].hi = hi;
}

static int skip_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	(void)ctx;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
			continue;
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		skip_add(lo & ~4095ull, (lo + ph->p_memsz + 4095) & ~4095ull);
	}
	return 0;
}

static bool overlaps(uint64_t lo, uint64_t hi, uint64_t a, uint64_t b)
{
	return lo < b && a < hi;
}

/* Scans [lo, hi) but what skip[] and the live blocks cover; the bytes read. */
static uint64_t scan_region(struct scan *s, uint64_t lo, uint64_t hi)
{
	uint64_t done = 0, cur = lo, b = 0, r = s->n;
	while (b < r) { /* the first block ending above lo: blocks do not overlap */
		uint64_t m = (b + r) / 2;
		if (s->b[m].addr + s->b[m].size <= lo)
			b = m + 1;
		else
			r = m;
	}
	uint32_t e = 0;
	while (cur < hi) {
		while (e < skip_n && skip[e].hi <= cur)
			e++;
		while (b < s->n && s->b[b].addr + s->b[b].size <= cur)
			b++;
		uint64_t stop = hi, next = hi;
		if (e < skip_n && skip[e].lo < stop) {
			stop = skip[e].lo;
			next = skip[e].hi;
		}
		if (b < s->n && s->b[b].addr < stop) {
			stop = s->b[b].addr;
			next = s->b[b].addr + s->b[b].size;
		}
		if (stop > cur) {
			scan_range(s, cur, stop, KH_LEAK_REACHABLE, false);
			done += stop - cur;
		}
		cur = next > cur ? next : cur + 1;
	}
	return done;
}

/* The other writable mappings kiln found (anonymous memory, private
 * files), as memcheck scans them. A mapping holding a thread's stack is
 * that stack: scanned from its stack pointer only, above. */
static void scan_regions(struct scan *s, uint64_t my_sp, uint64_t my_top)
{
	skip_n = 0;
	dl_iterate_phdr(skip_module, NULL);
	uint32_t own = __atomic_load_n(&own_n, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < own && i < OWN_MAX; i++)
		skip_add(own_maps[i].lo, own_maps[i].hi);
	for (uint64_t i = 0; i < s->nreg; i++) {
		struct kh_live_region *g = &s->reg[i];
		bool stack = overlaps(g->lo, g->hi, my_sp, my_top);
		for (uint32_t k = 0; k < peer_n && !stack; k++)
			stack = overlaps(g->lo, g->hi, peers[k].lo, peers[k].hi);
		g->flags = stack ? KH_REGION_STACK : 0;
		g->scanned = stack || g->hi <= g->lo ? 0 : scan_region(s, g->lo, g->hi);
	}
}

/* The exiting thread's stack is scanned from where the exit handler was
 * called, as memcheck scans it from the stack pointer at exit: the
 * agent's own frames below that hold leftovers of the calls made since
 * (freeres, the handshakes) that are no pointers of the program's. The
 * callee-saved registers the program had then are kept here. */
static jmp_buf exit_regs;
static uint64_t exit_sp;

static __attribute__((noinline)) void scan_run(struct scan *s)
{
	uint64_t sp = exit_sp;
	uint64_t top = 0;
	if (tid_get() == (uint32_t)getpid()) {
		top = (uint64_t)(uintptr_t)__libc_stack_end;
	} else {
		pthread_attr_t a;
		void *addr;
		size_t sz;
		if (pthread_getattr_np(pthread_self(), &a) == 0) {
			if (pthread_attr_getstack(&a, &addr, &sz) == 0)
				top = (uint64_t)(uintptr_t)addr + sz;
			pthread_attr_destroy(&a);
		}
	}
	s->leader = UINT32_MAX;
	seg_n = 0;
	dl_iterate_phdr(seg_collect, NULL);
	scan_range(s, (uint64_t)(uintptr_t)&exit_regs, (uint64_t)(uintptr_t)(&exit_regs + 1), KH_LEAK_REACHABLE, false);
	for (uint32_t i = 0; i < own_link_n; i++) {
		uint64_t l = (uint64_t)(uintptr_t)own_links[i];
		scan_range(s, l, l + malloc_usable_size(own_links[i]), KH_LEAK_REACHABLE, false);
	}
	if (top > sp)
		scan_range(s, sp, top, KH_LEAK_REACHABLE, false);
	scan_peers(s, sp);
	dl_iterate_phdr(scan_module, s);
	scan_regions(s, sp, top > sp ? top : sp + 1);
	scan_drain(s);
	/* What no root reaches: each unreached block leads a clique; what it
	 * reaches is indirectly lost. */
	for (uint64_t i = 0; i < s->n; i++) {
		if (s->cls[i])
			continue;
		s->cls[i] = KH_LEAK_DEFINITE;
		s->leader = (uint32_t)i;
		scan_push(s, (uint32_t)i);
		scan_drain(s);
	}
	s->leader = UINT32_MAX;
}

/* Takes the live image from kiln through the ring, piece by piece
 * (channel_format.h), into memory of the agent's own: no file is opened
 * at exit. Returns it (live_size bytes) or NULL. Lock held. */
static char *live_receive(uint64_t *size)
{
	char *img = NULL;
	uint64_t total = 0, got = 0;
	for (;;) {
		if (handshake_wait(&ring->scan_state, KH_SCAN_REQUESTED) != KH_SCAN_READY)
			goto out_fail;
		uint64_t off = ring->xfer_off, len = ring->xfer_len;
		if (!img) {
			total = ring->live_size;
			if (total < sizeof(struct kh_live_header) || !(img = sys_map(total)))
				goto out_fail;
		}
		if (off != got || len > KH_RING_SIZE || len > total - got || (!len && got < total))
			goto out_fail;
		memcpy(img + off, ring_data, len);
		got += len;
		if (got == total)
			break;
		__atomic_store_n(&ring->scan_state, KH_SCAN_REQUESTED, __ATOMIC_RELEASE);
	}
	*size = total;
	return img;
out_fail:
	if (img)
		sys_unmap(img, total);
	return NULL;
}

/* Sends bytes [from, size) of the scanned image back to kiln through the
 * ring; true when kiln took every piece. Lock held. */
static bool live_send(const char *img, uint64_t from, uint64_t size)
{
	for (uint64_t off = from; off < size;) {
		uint64_t len = size - off < KH_RING_SIZE ? size - off : KH_RING_SIZE;
		memcpy(ring_data, img + off, len);
		ring->xfer_off = off;
		ring->xfer_len = len;
		__atomic_store_n(&ring->scan_state, KH_SCAN_PART, __ATOMIC_RELEASE);
		if (handshake_wait(&ring->scan_state, KH_SCAN_PART) != KH_SCAN_TAKEN)
			return false;
		off += len;
	}
	return true;
}

/* Takes kiln's live image, scans, fills in the classes, sends them back. Lock held. */
static void leak_scan(void)
{
	uint64_t size = 0;
	char *m = live_receive(&size);
	if (!m)
		goto out_fail;
	struct kh_live_header *lh = (struct kh_live_header *)m;
	/* Static, not on the stack: the stack is a root, and this holds block
	 * addresses (the agent's own data is not scanned). */
	static struct scan s;
	memset(&s, 0, sizeof(s));
	s.n = lh->count;
	s.nreg = lh->regions;
	if (s.n > size || s.nreg > size || kh_live_regions_at(s.n) + s.nreg * sizeof(struct kh_live_region) > size) {
		sys_unmap(m, size);
		goto out_fail;
	}
	s.b = (const struct kh_live_block *)(lh + 1);
	s.cls = (uint8_t *)(s.b + s.n);
	s.reg = (struct kh_live_region *)(m + kh_live_regions_at(s.n));
	s.cap = s.n * 4 + 16;
	s.stack = sys_map(s.cap * sizeof(uint32_t));
	if (s.n && s.stack) {
		s.lo = s.b[0].addr;
		for (uint64_t i = 0; i < s.n; i++)
			if (s.b[i].addr + s.b[i].size + 1 > s.hi)
				s.hi = s.b[i].addr + s.b[i].size + 1;
		scan_run(&s);
	}
	if (s.stack)
		sys_unmap(s.stack, s.cap * sizeof(uint32_t));
	bool sent = live_send(m, (uint64_t)((char *)s.cls - m), size);
	sys_unmap(m, size);
	if (!sent)
		goto out_fail;
	__atomic_store_n(&ring->scan_state, KH_SCAN_DONE, __ATOMIC_RELEASE);
	return;
out_fail:
	__atomic_store_n(&ring->scan_state, KH_SCAN_FAILED, __ATOMIC_RELEASE);
}

extern void __libc_freeres(void);

/* A symbol looked up in the loaded modules' dynamic symbol tables, in
 * the order of the link map (the executable first), as the loader binds
 * a reference: by hand, because a dlsym that fails allocates its error
 * message, and at exit nothing may be allocated that the scan would see. */
struct sym_query {
	const char *name;
	uint32_t gnu;   /* its GNU hash */
	uint32_t sysv;  /* its SysV hash */
	uintptr_t addr; /* 0 until found */
};

static uint32_t hash_gnu(const char *s)
{
	uint32_t h = 5381;
	for (; *s; s++)
		h = h * 33 + (uint8_t)*s;
	return h;
}

static uint32_t hash_sysv(const char *s)
{
	uint32_t h = 0;
	for (; *s; s++) {
		h = (h << 4) + (uint8_t)*s;
		h ^= (h >> 24) & 0xf0;
	}
	return h & 0x0fffffff;
}

static bool sym_is(const struct sym_query *q, const ElfW(Sym) * sym, const char *strtab)
{
	return sym->st_shndx != SHN_UNDEF && sym->st_value && ELF64_ST_TYPE(sym->st_info) == STT_FUNC &&
	       !strcmp(strtab + sym->st_name, q->name);
}

static int sym_find(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	struct sym_query *q = ctx;
	uintptr_t base = info->dlpi_addr;
	const ElfW(Dyn) *dyn = NULL;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(base + info->dlpi_phdr[i].p_vaddr);
	if (!dyn)
		return 0;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const uint32_t *gnu = NULL, *sysv = NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		/* the loader relocates these in place, but not in every module (the vDSO's) */
		uintptr_t v = dyn->d_un.d_ptr < base ? base + dyn->d_un.d_ptr : dyn->d_un.d_ptr;
		if (dyn->d_tag == DT_SYMTAB)
			symtab = (const ElfW(Sym) *)v;
		else if (dyn->d_tag == DT_STRTAB)
			strtab = (const char *)v;
		else if (dyn->d_tag == DT_GNU_HASH)
			gnu = (const uint32_t *)v;
		else if (dyn->d_tag == DT_HASH)
			sysv = (const uint32_t *)v;
	}
	if (!symtab || !strtab)
		return 0;
	const ElfW(Sym) *hit = NULL;
	if (gnu && gnu[0]) {
		uint32_t nbuckets = gnu[0], symoffset = gnu[1], bloom_size = gnu[2];
		const uint32_t *buckets = (const uint32_t *)((const ElfW(Addr) *)(gnu + 4) + bloom_size);
		const uint32_t *chain = buckets + nbuckets;
		uint32_t i = buckets[q->gnu % nbuckets];
		for (; i >= symoffset && !hit; i++) {
			uint32_t h = chain[i - symoffset];
			if ((h | 1) == (q->gnu | 1) && sym_is(q, &symtab[i], strtab))
				hit = &symtab[i];
			if (h & 1)
				break;
		}
	} else if (sysv && sysv[0]) {
		const uint32_t *bucket = sysv + 2, *chain = bucket + sysv[0];
		for (uint32_t i = bucket[q->sysv % sysv[0]]; i && !hit; i = chain[i])
			if (sym_is(q, &symtab[i], strtab))
				hit = &symtab[i];
	}
	if (!hit)
		return 0;
	q->addr = base + hit->st_value;
	return 1;
}

/* The first definition of a function among the modules' exported symbols. */
static uintptr_t sym_lookup(const char *name)
{
	struct sym_query q = {name, hash_gnu(name), hash_sysv(name), 0};
	dl_iterate_phdr(sym_find, &q);
	return q.addr;
}

/* Runs after main's atexit handlers and every library's destructors (see
 * agent_ctor): what is live now is what the program leaves behind. Like
 * valgrind, first let glibc free its own caches (thread stacks and their
 * TLS, locale data), so they are neither reported nor mistaken for lost
 * blocks; only when no other thread could still be using them. */
static __attribute__((noinline)) void agent_exit_work(void)
{
	int64_t others = -1;
	in_hook++;
	if (agent_lock_bounded()) { /* never wait forever at exit */
		if (enabled && ring)
			others = peers_fetch();
		agent_unlock();
	}
	in_hook--;
	if (enabled && ring && others == 0) {
		const char *no = getenv("KILN_HEAP_NO_FREERES");
		if (!no || *no != '1') {
			/* libstdc++'s exception pool too, as valgrind does: where the
			 * loader would bind a reference to it, in libstdc++.so or in
			 * a program that links libstdc++ statically and exports it
			 * (cc1); one that does not export it keeps its pool, as
			 * under valgrind */
			void (*cxx_freeres)(void) = (void (*)(void))sym_lookup("_ZN9__gnu_cxx9__freeresEv");
			in_hook++;
			if (agent_lock_bounded()) {
				if (enabled)
					ring_write(KH_REC_FREERES, NULL, 0);
				agent_unlock();
			}
			in_hook--;
			if (cxx_freeres)
				cxx_freeres();
			__libc_freeres(); /* its frees are recorded: the hooks are still on */
		}
	}
	in_hook++;
	bool locked = agent_lock_bounded(); /* never wait forever at exit */
	if (locked && enabled && ring) {
		struct kh_rec_exit e = {0};
		struct rusage ru;
		if (getrusage(RUSAGE_SELF, &ru) == 0)
			e.max_rss_kb = (uint64_t)ru.ru_maxrss;
		e.bootstrap_bytes = boot_used;
		e.untracked = untracked;
		if (mode->live_send)
			mode->live_send();
		send_maps();
		e.time = now_ns();
		/* before the record: kiln answers as soon as it reads it */
		__atomic_store_n(&ring->scan_state, KH_SCAN_REQUESTED, __ATOMIC_RELEASE);
		ring_write(KH_REC_SCAN_REQUEST, (char *)&e + sizeof(e.h), sizeof(e) - sizeof(e.h));
		if (enabled)
			leak_scan();
		e.time = now_ns();
		ring_write(KH_REC_EXIT, (char *)&e + sizeof(e.h), sizeof(e) - sizeof(e.h));
		__atomic_store_n(&ring->closed, 1, __ATOMIC_RELEASE);
		enabled = 0; /* what libc frees after this is not the program's */
	}
	if (locked)
		agent_unlock();
	in_hook--;
	if (verify && ring) /* a traced process */
		verify_summary();
}

/* The exit of a mode that keeps no blocks: the maps (modules loaded
 * since the start among them) and the last record, no leak scan. */
static void agent_exit_plain(void)
{
	in_hook++;
	bool locked = agent_lock_bounded(); /* never wait forever at exit */
	if (locked && enabled && ring) {
		struct kh_rec_exit e = {0};
		struct rusage ru;
		if (getrusage(RUSAGE_SELF, &ru) == 0)
			e.max_rss_kb = (uint64_t)ru.ru_maxrss;
		send_maps();
		e.time = now_ns();
		ring_write(KH_REC_EXIT, (char *)&e + sizeof(e.h), sizeof(e) - sizeof(e.h));
		__atomic_store_n(&ring->closed, 1, __ATOMIC_RELEASE);
		enabled = 0;
	}
	if (locked)
		agent_unlock();
	in_hook--;
}

/* The exit handler: notes where the program's stack begins and the
 * registers it had (nothing before the setjmp changes them: the prologue
 * only saves them), then does the work in frames below that. */
static void agent_at_exit(void *unused)
{
	(void)unused;
	setjmp(exit_regs);
	/* the caller's frame: above this one's saved frame pointer and
	 * return address (the agent keeps frame pointers) */
	exit_sp = (uint64_t)(uintptr_t)__builtin_frame_address(0) + 16;
	if (mode->exit) {
		in_hook++;
		mode->exit();
		in_hook--;
	}
	if (mode->alloc_hooks || mode->live_send)
		agent_exit_work();
	else
		agent_exit_plain();
}

const struct agent_mode agent_mode_heap = {
    .name = "heap",
    .id = KH_MODE_HEAP,
    .alloc_hooks = true,
};

/* ---- what the core offers a mode (agent_mode.h) ---- */

bool agent_guarded(void)
{
	return in_hook != 0;
}

bool agent_lock_try(void)
{
	return pthread_mutex_trylock(&lock) == 0;
}

void agent_lock_release(void)
{
	agent_unlock();
}

int agent_channel_write(uint32_t type, const void *payload, uint32_t len, bool wait)
{
	if (!enabled || !ring)
		return -1;
	uint32_t size = (uint32_t)((sizeof(struct kh_rec_header) + len + 7) & ~7u);
	if (!wait) {
		uint64_t head = ring->head, cap = KH_RING_SIZE, off = head & (cap - 1);
		uint64_t need = off + size > cap ? size + (cap - off) : size;
		if (cap - (head - __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE)) < need)
			return -1;
	}
	return ring_write(type, payload, len);
}

bool agent_channel_on(void)
{
	return enabled && ring;
}

bool agent_thread_stack(uintptr_t *lo, uintptr_t *hi)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	if (t_stack_hi) {
		*lo = t_stack_lo;
		*hi = t_stack_hi;
		return true;
	}
	if (here >= main_stack_lo && here < main_stack_hi) {
		*lo = main_stack_lo;
		*hi = main_stack_hi;
		return true;
	}
	return false;
}

bool agent_thread_stack_at(uintptr_t sp, uintptr_t *lo, uintptr_t *hi)
{
	if (t_stack_hi && sp >= t_stack_lo && sp < t_stack_hi) {
		*lo = t_stack_lo;
		*hi = t_stack_hi;
		return true;
	}
	if (sp >= main_stack_lo && sp < main_stack_hi) {
		*lo = main_stack_lo;
		*hi = main_stack_hi;
		return true;
	}
	return false;
}

int agent_backtrace(const struct agent_caller *from, uint64_t *out, int max)
{
	struct tstate *t = tstate_get();
	if (!t)
		return 0;
	struct caller c = {from->ra, from->cfa, from->bp};
	uint64_t all[KH_MAX_STACK];
	/* a deep stack is walked no further than what is kept needs */
	int n = capture_max(t, all, &c, (max < KH_MAX_STACK ? max : KH_MAX_STACK) + 8);
	if (n > max)
		n = max;
	memcpy(out, all, (size_t)n * sizeof(*out));
	return n;
}

void agent_channel_finish(void)
{
	agent_exit_plain();
}

uint64_t agent_now_ns(void)
{
	return now_ns();
}

uint32_t agent_tid(void)
{
	return tid_get();
}

const struct agent_heap *agent_heap_enter(void)
{
	if (__builtin_expect(!real.malloc, 0))
		resolve();
	return mode_heap();
}

void agent_heap_leave(void)
{
	hook_leave();
}

void *agent_map(size_t size)
{
	return sys_map(size);
}

void agent_unmap(void *p, size_t size)
{
	sys_unmap(p, size);
}

/* ---- what the core offers the Rust allocator shim's hooks (agent_rustshim.h) ---- */

bool agent_hook_enter(void)
{
	return hook_enter();
}

void agent_hook_leave(void)
{
	hook_leave();
}

void agent_record_alloc(const struct agent_caller *from, void *ptr, size_t size)
{
	const struct caller c = {from->ra, from->cfa, from->bp};
	record_alloc(&c, ptr, size);
}

void agent_record_free(void *ptr)
{
	record_free(ptr);
}

void *agent_record_realloc(const struct agent_caller *from, void *ptr, size_t size, agent_realloc_fn fn,
                           const void *ctx)
{
	const struct caller c = {from->ra, from->cfa, from->bp};
	return realloc_recorded(&c, ptr, size, fn, ctx);
}
