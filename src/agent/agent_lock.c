/* agent_lock.c - the agent's lock mode: lock waits and hold times from
 * inside the target, for `kiln lock --engine agent` (no privileges).
 *
 * Interposed: pthread_mutex_lock/trylock/unlock, the pthread_rwlock
 * functions, sem_wait, pthread_cond_wait/timedwait, and syscall() for
 * SYS_futex, which is how Rust's std waits (its locks are atomics in the
 * program's own code, with a futex system call when they must sleep).
 *
 * A lock call first tries the lock: taken, it counts as uncontended and
 * costs two reads of the TSC; else the real call is timed and the wait goes
 * to the channel (KH_REC_LOCK_WAIT) with the stack of its caller, written
 * at the thread's next unlock, once the lock is no longer held. A futex
 * wait through syscall() is timed and sent the same way; wakes only add
 * up per word, sent at exit (KH_REC_LOCK_WAKE: kiln tells per-thread
 * parking words by who wakes them), so the unlocking thread, which the
 * waiters wait for, never takes the channel's lock. Hold times of pthread
 * locks (from taken to unlocked, per thread, a few nested at most) add up
 * and are sent at exit (KH_REC_LOCK_HOLD).
 *
 * The uncontended path is the one a program takes millions of times, so
 * it writes nothing another thread reads: each thread counts acquisitions,
 * hold times and wakes in a small table of its own (no atomics, no shared
 * cache line), and hold times are read from the TSC, not clock_gettime
 * (two vDSO clock reads per acquisition were a quarter of an 8-thread C
 * mutex run); ticks become nanoseconds at exit, by the ratio of both
 * clocks since start. A thread's table is handed over when it exits (a
 * thread-specific key's destructor adds it to the shared table and frees
 * it for the next thread); the tables of threads still running are added
 * at exit. A lock that does not fit a thread's table goes to the shared
 * one directly, with atomics, as before.
 *
 * (syscall() itself is agent_sandbox.c's, which hands futex calls here.)
 * In every other mode these functions only pass the call on. The agent's
 * own lock and everything it calls while inside the agent pass too (the
 * core's guard, and this mode's own while it writes).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "agent/agent_mode.h"
#include "agent/channel_format.h"
#include "capture/futex_op.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS    __thread __attribute__((tls_model("initial-exec")))

#define LOCK_FRAMES 64   /* frames kept per wait */
#define LOCK_HELD   16   /* locks one thread holds at once, tracked for hold times */
#define LOCK_TABLE  8192 /* distinct pthread locks with hold times (a power of two) */
#define LOCK_MINE   64   /* distinct locks in one thread's own table (a power of two) */
#define LOCK_PROBES 8    /* probes in a thread's table before the shared one */
#define LOCK_TRIES  1024 /* spins for the channel's lock before yielding */
#define LOCK_YIELDS 4096 /* yields before a wait is dropped */

/* Where a hook was called from, as agent.c's hooks find it: the agent
 * keeps frame pointers, so the hook's frame holds them. */
#define LOCK_CALLER()                                                                                                  \
	((struct agent_caller){(uintptr_t)__builtin_return_address(0), (uintptr_t)__builtin_frame_address(0) + 16,     \
	                       *(const uintptr_t *)__builtin_frame_address(0)})

struct mine_slot;

struct held {
	uintptr_t addr;
	uint64_t since;
	struct mine_slot *ms; /* its slot in this thread's table, or NULL: the shared one */
};

struct lock_slot {
	uintptr_t addr; /* 0: free; set once by compare and swap */
	uint32_t kind;
	uint32_t waker, several;                                  /* the first thread that woke it; others did too */
	uint64_t acquisitions, uncontended, hold_ns, hold_max_ns; /* hold times in ticks until exit */
	uint64_t wakes;
};

/* One thread's own counts: written by that thread only. */
struct mine_slot {
	uintptr_t addr; /* 0: free */
	uint32_t kind;
	uint64_t acquisitions, uncontended, hold_ticks, hold_max_ticks;
	uint64_t wakes;
};

struct lock_mine {
	struct lock_mine *next; /* the registry: never unlinked */
	int busy;               /* a running thread owns it (taken by compare and swap) */
	uint32_t tid;
	struct mine_slot slot[LOCK_MINE];
};

static bool on;                 /* the lock mode runs */
static struct lock_slot *table; /* LOCK_TABLE slots, mapped at start; hold times in ticks */
static struct lock_mine *registry;
static pthread_key_t mine_key;
static bool have_key;
static uint64_t lost, table_full;
static uint64_t start_ticks, start_ns; /* both clocks at start, to turn ticks into ns */
static TLS int inside;                 /* this mode is writing: pass everything on */
static TLS struct held held[LOCK_HELD];
static TLS int nheld;
static TLS struct lock_mine *mine; /* this thread's table; NULL until its first lock */
static TLS bool mine_failed;       /* no table could be had: use the shared one */

typedef int (*sem_fn)(sem_t *);
typedef int (*cond_wait_fn)(pthread_cond_t *, pthread_mutex_t *);
typedef int (*cond_timedwait_fn)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
static sem_fn real_sem_wait, real_sem_trywait;
static cond_wait_fn real_cond_wait;
static cond_timedwait_fn real_cond_timedwait;

/* glibc's own names of the pthread lock functions: no dlsym needed */
extern int __pthread_mutex_lock(pthread_mutex_t *);
extern int __pthread_mutex_trylock(pthread_mutex_t *);
extern int __pthread_mutex_unlock(pthread_mutex_t *);
extern int __pthread_rwlock_rdlock(pthread_rwlock_t *);
extern int __pthread_rwlock_wrlock(pthread_rwlock_t *);
extern int __pthread_rwlock_tryrdlock(pthread_rwlock_t *);
extern int __pthread_rwlock_trywrlock(pthread_rwlock_t *);
extern int __pthread_rwlock_unlock(pthread_rwlock_t *);

static void *next_sym(void *volatile *slot, const char *name)
{
	void *fn = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!fn) {
		fn = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, fn, __ATOMIC_RELEASE);
	}
	return fn;
}

#define REAL(var, name) ((__typeof__(var))next_sym((void *volatile *)&(var), name))

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The cheap clock for hold times: the TSC where there is one (constant
 * rate on every x86-64 Linux supports for its clocksource), else the
 * monotonic clock, in which case a tick is a nanosecond. */
static inline uint64_t ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	return now();
#endif
}

/* Whether a call is to be watched: the mode runs, and neither the core nor
 * this mode is inside the agent. */
static inline bool watched(void)
{
	return __builtin_expect(on, 0) && !inside && !agent_guarded();
}

/* ---- the channel ---- */

static bool channel_take(void)
{
	for (int y = 0; y < LOCK_YIELDS; y++) {
		for (int i = 0; i < LOCK_TRIES; i++) {
			if (agent_lock_try())
				return true;
			__builtin_ia32_pause();
		}
		sched_yield();
	}
	return false;
}

static void send(uint32_t type, const void *payload, uint32_t len)
{
	if (!agent_channel_on())
		return;
	if (!channel_take()) {
		__atomic_add_fetch(&lost, 1, __ATOMIC_RELAXED);
		return;
	}
	if (agent_channel_write(type, payload, len, true))
		__atomic_add_fetch(&lost, 1, __ATOMIC_RELAXED);
	agent_lock_release();
}

struct wait_rec {
	struct kh_rec_lock_wait r;
	uint64_t frames[LOCK_FRAMES];
};

/* A wait that ended in taking a pthread lock, kept until the thread's
 * next unlock: written then, it is not written while the program holds
 * the lock (the channel's lock and the write made every other waiter
 * wait longer, and an 8-thread C mutex run wait more often). */
static TLS struct wait_rec pending;
static TLS bool have_pending;

static void wait_fill(struct wait_rec *rec, const struct agent_caller *from, uintptr_t addr, uint64_t t0, uint64_t t1,
                      uint16_t kind)
{
	memset(&rec->r, 0, sizeof(rec->r));
	rec->r.time = t0;
	rec->r.ns = t1 - t0;
	rec->r.addr = addr;
	rec->r.tid = agent_tid();
	rec->r.kind = kind;
	int n = agent_backtrace(from, rec->frames, LOCK_FRAMES);
	rec->r.nframes = (uint16_t)(n > 0 ? n : 0);
}

static void wait_send(const struct wait_rec *rec)
{
	send(KH_REC_LOCK_WAIT, (const char *)rec + sizeof(rec->r.h),
	     (uint32_t)(sizeof(rec->r) - sizeof(rec->r.h) + (size_t)rec->r.nframes * 8));
}

static void send_wait(const struct agent_caller *from, uintptr_t addr, uint64_t t0, uint64_t t1, uint16_t kind)
{
	int saved = errno;
	inside++;
	struct wait_rec rec;
	wait_fill(&rec, from, addr, t0, t1, kind);
	wait_send(&rec);
	inside--;
	errno = saved;
}

/* The stack is taken now (the caller's frames are still there), the
 * record written at the next unlock. */
static void defer_wait(const struct agent_caller *from, uintptr_t addr, uint64_t t0, uint64_t t1, uint16_t kind)
{
	int saved = errno;
	inside++;
	if (have_pending)
		wait_send(&pending);
	wait_fill(&pending, from, addr, t0, t1, kind);
	have_pending = true;
	inside--;
	errno = saved;
}

static void flush_pending(void)
{
	if (!have_pending || inside || agent_guarded())
		return;
	int saved = errno;
	inside++;
	have_pending = false;
	wait_send(&pending);
	inside--;
	errno = saved;
}

/* ---- hold times ---- */

static struct lock_slot *slot_of(uintptr_t addr, uint32_t kind)
{
	if (!table)
		return NULL;
	size_t i = (size_t)((addr >> 4) * 0x9e3779b97f4a7c15ull >> 51) & (LOCK_TABLE - 1);
	for (size_t probe = 0; probe < 64; probe++, i = (i + 1) & (LOCK_TABLE - 1)) {
		uintptr_t cur = __atomic_load_n(&table[i].addr, __ATOMIC_ACQUIRE);
		if (cur == addr)
			return &table[i];
		if (cur == 0) {
			uintptr_t zero = 0;
			if (__atomic_compare_exchange_n(&table[i].addr, &zero, addr, false, __ATOMIC_ACQ_REL,
			                                __ATOMIC_ACQUIRE)) {
				table[i].kind = kind;
				return &table[i];
			}
			if (zero == addr)
				return &table[i];
		}
	}
	__atomic_add_fetch(&table_full, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void shared_max(uint64_t *at, uint64_t d)
{
	uint64_t max = __atomic_load_n(at, __ATOMIC_RELAXED);
	while (d > max && !__atomic_compare_exchange_n(at, &max, d, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Wakes of a word by thread tid: the first waker is kept, and whether
 * others woke it too. */
static void shared_woken(struct lock_slot *s, uint32_t tid, uint64_t wakes)
{
	uint32_t none = 0;
	if (!__atomic_compare_exchange_n(&s->waker, &none, tid, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
	    none != tid)
		__atomic_store_n(&s->several, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->wakes, wakes, __ATOMIC_RELAXED);
}

/* A thread's table into the shared one, and emptied (at its exit, or at
 * the process's). */
static void mine_merge(struct lock_mine *m)
{
	for (size_t i = 0; i < LOCK_MINE; i++) {
		struct mine_slot *ms = &m->slot[i];
		if (!ms->addr)
			continue;
		struct lock_slot *s = slot_of(ms->addr, ms->kind);
		if (s) {
			__atomic_add_fetch(&s->acquisitions, ms->acquisitions, __ATOMIC_RELAXED);
			__atomic_add_fetch(&s->uncontended, ms->uncontended, __ATOMIC_RELAXED);
			__atomic_add_fetch(&s->hold_ns, ms->hold_ticks, __ATOMIC_RELAXED);
			shared_max(&s->hold_max_ns, ms->hold_max_ticks);
			if (ms->wakes)
				shared_woken(s, m->tid, ms->wakes);
		}
		memset(ms, 0, sizeof(*ms));
	}
}

/* The thread-specific key's destructor: the thread ends, its counts go to
 * the shared table and its table to the next thread. */
static void mine_handover(void *p)
{
	struct lock_mine *m = p;
	flush_pending();
	inside++;
	mine_merge(m);
	mine = NULL;
	nheld = 0; /* their slots go with the table */
	__atomic_store_n(&m->busy, 0, __ATOMIC_RELEASE);
	inside--;
}

/* This thread's table: a free one from the registry, else a new one. */
static struct lock_mine *mine_get(void)
{
	if (__builtin_expect(mine != NULL, 1))
		return mine;
	if (mine_failed || !have_key)
		return NULL;
	inside++;
	struct lock_mine *m;
	for (m = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); m; m = m->next) {
		int idle = 0;
		if (__atomic_compare_exchange_n(&m->busy, &idle, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
	}
	if (!m) {
		m = agent_map(sizeof(*m));
		if (m) {
			m->busy = 1;
			m->next = __atomic_load_n(&registry, __ATOMIC_RELAXED);
			while (!__atomic_compare_exchange_n(&registry, &m->next, m, true, __ATOMIC_RELEASE,
			                                    __ATOMIC_RELAXED))
				;
		}
	}
	if (m && pthread_setspecific(mine_key, m) != 0) {
		__atomic_store_n(&m->busy, 0, __ATOMIC_RELEASE);
		m = NULL;
	}
	if (m)
		m->tid = agent_tid();
	else
		mine_failed = true;
	mine = m;
	inside--;
	return m;
}

/* The slot of a lock in this thread's table, or NULL (no table, or full
 * around the lock's place: the shared table takes it). */
static inline struct mine_slot *mine_slot(uintptr_t addr, uint32_t kind)
{
	struct lock_mine *m = mine_get();
	if (!m)
		return NULL;
	size_t i = (size_t)((addr >> 4) * 0x9e3779b97f4a7c15ull >> 58) & (LOCK_MINE - 1);
	for (size_t probe = 0; probe < LOCK_PROBES; probe++, i = (i + 1) & (LOCK_MINE - 1)) {
		struct mine_slot *ms = &m->slot[i];
		if (ms->addr == addr)
			return ms;
		if (!ms->addr) {
			ms->addr = addr;
			ms->kind = kind;
			return ms;
		}
	}
	return NULL;
}

static void taken(void *lock, uint32_t kind, bool uncontended, uint64_t t)
{
	struct mine_slot *ms = mine_slot((uintptr_t)lock, kind);
	if (ms) {
		ms->acquisitions++;
		ms->uncontended += uncontended;
	} else {
		struct lock_slot *s = slot_of((uintptr_t)lock, kind);
		if (s) {
			__atomic_add_fetch(&s->acquisitions, 1, __ATOMIC_RELAXED);
			if (uncontended)
				__atomic_add_fetch(&s->uncontended, 1, __ATOMIC_RELAXED);
		}
	}
	if (nheld < LOCK_HELD) {
		held[nheld].addr = (uintptr_t)lock;
		held[nheld].since = t;
		held[nheld].ms = ms;
		nheld++;
	}
}

static void woken(uintptr_t addr)
{
	struct mine_slot *ms = mine_slot(addr, KH_LOCK_FUTEX);
	if (ms) {
		ms->wakes++;
		return;
	}
	struct lock_slot *s = slot_of(addr, KH_LOCK_FUTEX);
	if (s)
		shared_woken(s, agent_tid(), 1);
}

static void released(void *lock)
{
	for (int i = nheld; i-- > 0;) {
		if (held[i].addr != (uintptr_t)lock)
			continue;
		uint64_t d = ticks() - held[i].since;
		struct mine_slot *ms = held[i].ms;
		held[i] = held[--nheld];
		if (ms) {
			ms->hold_ticks += d;
			if (d > ms->hold_max_ticks)
				ms->hold_max_ticks = d;
			return;
		}
		struct lock_slot *s = slot_of((uintptr_t)lock, KH_LOCK_MUTEX);
		if (!s)
			return;
		__atomic_add_fetch(&s->hold_ns, d, __ATOMIC_RELAXED);
		shared_max(&s->hold_max_ns, d);
		return;
	}
}

/* ---- the interposed functions ---- */

/* A lock taken by trying first: uncontended when the try takes it, else
 * a timed wait in the real call. */
#define TIMED_LOCK(lock, try_fn, lock_fn, kind)                                                                        \
	do {                                                                                                           \
		const struct agent_caller from = LOCK_CALLER();                                                        \
		if (!watched())                                                                                        \
			return lock_fn(lock);                                                                          \
		int rc_ = try_fn(lock);                                                                                \
		if (rc_ == 0) {                                                                                        \
			taken(lock, kind, true, ticks());                                                              \
			return 0;                                                                                      \
		}                                                                                                      \
		if (rc_ != EBUSY)                                                                                      \
			return lock_fn(lock);                                                                          \
		uint64_t t0_ = now();                                                                                  \
		rc_ = lock_fn(lock);                                                                                   \
		uint64_t t1_ = now();                                                                                  \
		if (rc_ != 0) {                                                                                        \
			send_wait(&from, (uintptr_t)(lock), t0_, t1_, kind);                                           \
			return rc_;                                                                                    \
		}                                                                                                      \
		taken(lock, kind, false, ticks());                                                                     \
		defer_wait(&from, (uintptr_t)(lock), t0_, t1_, kind);                                                  \
		return 0;                                                                                              \
	} while (0)

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	TIMED_LOCK(m, __pthread_mutex_trylock, __pthread_mutex_lock, KH_LOCK_MUTEX);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	int rc = __pthread_mutex_trylock(m);
	if (rc == 0 && watched())
		taken(m, KH_LOCK_MUTEX, true, ticks());
	return rc;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (watched() && nheld)
		released(m);
	int rc = __pthread_mutex_unlock(m);
	if (__builtin_expect(have_pending, 0))
		flush_pending();
	return rc;
}

EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	TIMED_LOCK(l, __pthread_rwlock_tryrdlock, __pthread_rwlock_rdlock, KH_LOCK_RWLOCK);
}

EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	TIMED_LOCK(l, __pthread_rwlock_trywrlock, __pthread_rwlock_wrlock, KH_LOCK_RWLOCK);
}

EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
	int rc = __pthread_rwlock_tryrdlock(l);
	if (rc == 0 && watched())
		taken(l, KH_LOCK_RWLOCK, true, ticks());
	return rc;
}

EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	int rc = __pthread_rwlock_trywrlock(l);
	if (rc == 0 && watched())
		taken(l, KH_LOCK_RWLOCK, true, ticks());
	return rc;
}

EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	if (watched() && nheld)
		released(l);
	int rc = __pthread_rwlock_unlock(l);
	if (__builtin_expect(have_pending, 0))
		flush_pending();
	return rc;
}

EXPORT int sem_wait(sem_t *s)
{
	const struct agent_caller from = LOCK_CALLER();
	sem_fn wait_fn = REAL(real_sem_wait, "sem_wait");
	if (!watched())
		return wait_fn(s);
	int saved = errno;
	if (REAL(real_sem_trywait, "sem_trywait")(s) == 0)
		return 0;
	errno = saved;
	uint64_t t0 = now();
	int rc = wait_fn(s);
	send_wait(&from, (uintptr_t)s, t0, now(), KH_LOCK_SEMAPHORE);
	return rc;
}

/* A condition wait: the mutex is not held while it waits, so its hold
 * ends here and starts again when the wait returns with it. */
EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	const struct agent_caller from = LOCK_CALLER();
	cond_wait_fn fn = REAL(real_cond_wait, "pthread_cond_wait");
	if (!watched())
		return fn(c, m);
	released(m);
	uint64_t t0 = now();
	int rc = fn(c, m);
	uint64_t t1 = now();
	taken(m, KH_LOCK_MUTEX, false, ticks());
	send_wait(&from, (uintptr_t)c, t0, t1, KH_LOCK_CONDVAR);
	return rc;
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime)
{
	const struct agent_caller from = LOCK_CALLER();
	cond_timedwait_fn fn = REAL(real_cond_timedwait, "pthread_cond_timedwait");
	if (!watched())
		return fn(c, m, abstime);
	released(m);
	uint64_t t0 = now();
	int rc = fn(c, m, abstime);
	uint64_t t1 = now();
	taken(m, KH_LOCK_MUTEX, false, ticks());
	send_wait(&from, (uintptr_t)c, t0, t1, KH_LOCK_CONDVAR);
	return rc;
}

bool agent_lock_on(void)
{
	return watched();
}

long agent_lock_futex(const struct agent_caller *from, long (*fn)(long, ...), long uaddr, long op, long a3, long a4,
                      long a5, long a6)
{
	if (futex_op_waits((uint32_t)op)) {
		uint64_t t0 = now();
		long rc = fn(SYS_futex, uaddr, op, a3, a4, a5, a6);
		uint64_t t1 = now();
		send_wait(from, (uintptr_t)uaddr, t0, t1, KH_LOCK_FUTEX);
		return rc;
	}
	long rc = fn(SYS_futex, uaddr, op, a3, a4, a5, a6);
	if (futex_op_wakes((uint32_t)op))
		woken((uintptr_t)uaddr);
	return rc;
}

/* ---- the mode ---- */

static void lock_start(void)
{
	table = agent_map(sizeof(struct lock_slot) * LOCK_TABLE);
	have_key = pthread_key_create(&mine_key, mine_handover) == 0;
	start_ns = now();
	start_ticks = ticks();
	REAL(real_sem_wait, "sem_wait");
	REAL(real_sem_trywait, "sem_trywait");
	REAL(real_cond_wait, "pthread_cond_wait");
	REAL(real_cond_timedwait, "pthread_cond_timedwait");
	__atomic_store_n(&on, true, __ATOMIC_RELEASE);
}

/* A forked child counts its own acquisitions from zero. */
static void lock_process_start(void)
{
	if (table)
		memset(table, 0, sizeof(struct lock_slot) * LOCK_TABLE);
	__atomic_store_n(&lost, 0, __ATOMIC_RELAXED);
	nheld = 0;
	have_pending = false; /* the parent writes it */
	/* only this thread was copied: the others' tables are free again */
	for (struct lock_mine *m = registry; m; m = m->next) {
		memset(m->slot, 0, sizeof(m->slot));
		if (m != mine)
			m->busy = 0;
	}
	if (mine)
		mine->tid = agent_tid();
}

static void lock_exit(void)
{
	flush_pending();
	inside++;
	__atomic_store_n(&on, false, __ATOMIC_RELEASE);
	/* the threads still running (their last counts may race this: a
	 * miscount of the final few at most) */
	for (struct lock_mine *m = __atomic_load_n(&registry, __ATOMIC_ACQUIRE); m; m = m->next)
		if (__atomic_load_n(&m->busy, __ATOMIC_ACQUIRE))
			mine_merge(m);
	uint64_t dt = ticks() - start_ticks, dns = now() - start_ns;
	double ns_per_tick = dt && dns ? (double)dns / (double)dt : 1.0;
	for (size_t i = 0; table && i < LOCK_TABLE; i++) {
		if (table[i].addr && table[i].wakes) {
			struct kh_rec_lock_wake w = {
			    .wakes = table[i].wakes,
			    .addr = table[i].addr,
			    .tid = table[i].waker,
			    .flags = table[i].several ? KH_WAKE_SEVERAL : 0,
			};
			send(KH_REC_LOCK_WAKE, (char *)&w + sizeof(w.h), sizeof(w) - sizeof(w.h));
		}
		if (!table[i].addr || !table[i].acquisitions)
			continue;
		struct kh_rec_lock_hold r = {
		    .addr = table[i].addr,
		    .acquisitions = table[i].acquisitions,
		    .uncontended = table[i].uncontended,
		    .hold_ns = (uint64_t)((double)table[i].hold_ns * ns_per_tick),
		    .hold_max_ns = (uint64_t)((double)table[i].hold_max_ns * ns_per_tick),
		    .kind = table[i].kind,
		};
		send(KH_REC_LOCK_HOLD, (char *)&r + sizeof(r.h), sizeof(r) - sizeof(r.h));
	}
	struct kh_rec_lock_hold last = {.lost = __atomic_load_n(&lost, __ATOMIC_RELAXED)};
	send(KH_REC_LOCK_HOLD, (char *)&last + sizeof(last.h), sizeof(last) - sizeof(last.h));
	inside--;
}

const struct agent_mode agent_mode_lock = {
    .name = "lock",
    .id = KH_MODE_LOCK,
    .alloc_hooks = false,
    .start = lock_start,
    .process_start = lock_process_start,
    .exit = lock_exit,
};
