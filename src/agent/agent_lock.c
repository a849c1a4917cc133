/* agent_lock.c - the agent's lock mode: lock waits and hold times from
 * inside the target, for `kiln lock --engine agent` (no privileges).
 *
 * Interposed: pthread_mutex_lock/trylock/unlock, the pthread_rwlock
 * functions, sem_wait, pthread_cond_wait/timedwait, and syscall() for
 * SYS_futex, which is how Rust's std waits (its locks are atomics in the
 * program's own code, with a futex system call when they must sleep).
 *
 * A lock call first tries the lock: taken, it counts as uncontended and
 * costs two clock reads; else the real call is timed and the wait goes to
 * the channel (KH_REC_LOCK_WAIT) with the stack of its caller. A futex
 * wait through syscall() is timed and sent the same way; wakes only add
 * up per word, sent at exit (KH_REC_LOCK_WAKE: kiln tells per-thread
 * parking words by who wakes them), so the unlocking thread, which the
 * waiters wait for, never takes the channel's lock. Hold times of pthread locks (from taken to
 * unlocked, per thread, a few nested at most) add up in a table of the
 * mode's own, sent at exit (KH_REC_LOCK_HOLD).
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

#include "agent/agent_mode.h"
#include "agent/channel_format.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS    __thread __attribute__((tls_model("initial-exec")))

#define LOCK_FRAMES    64   /* frames kept per wait */
#define LOCK_HELD      16   /* locks one thread holds at once, tracked for hold times */
#define LOCK_TABLE     8192 /* distinct pthread locks with hold times (a power of two) */
#define LOCK_TRIES     1024 /* spins for the channel's lock before yielding */
#define LOCK_YIELDS    4096 /* yields before a wait is dropped */
#define FUTEX_CMD_MASK 0x7f /* the op without PRIVATE and CLOCK_REALTIME */

/* Where a hook was called from, as agent.c's hooks find it: the agent
 * keeps frame pointers, so the hook's frame holds them. */
#define LOCK_CALLER()                                                                                                  \
	((struct agent_caller){(uintptr_t)__builtin_return_address(0), (uintptr_t)__builtin_frame_address(0) + 16,     \
	                       *(const uintptr_t *)__builtin_frame_address(0)})

struct held {
	uintptr_t addr;
	uint64_t since;
};

struct lock_slot {
	uintptr_t addr; /* 0: free; set once by compare and swap */
	uint32_t kind;
	uint32_t waker, several; /* the first thread that woke it; others did too */
	uint64_t acquisitions, uncontended, hold_ns, hold_max_ns;
	uint64_t wakes;
};

static bool on;                 /* the lock mode runs */
static struct lock_slot *table; /* LOCK_TABLE slots, mapped at start */
static uint64_t lost, table_full;
static TLS int inside; /* this mode is writing: pass everything on */
static TLS struct held held[LOCK_HELD];
static TLS int nheld;

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

static void send_wait(const struct agent_caller *from, uintptr_t addr, uint64_t t0, uint64_t t1, uint16_t kind)
{
	int saved = errno;
	inside++;
	struct {
		struct kh_rec_lock_wait r;
		uint64_t frames[LOCK_FRAMES];
	} rec;
	memset(&rec.r, 0, sizeof(rec.r));
	rec.r.time = t0;
	rec.r.ns = t1 - t0;
	rec.r.addr = addr;
	rec.r.tid = agent_tid();
	rec.r.kind = kind;
	int n = agent_backtrace(from, rec.frames, LOCK_FRAMES);
	rec.r.nframes = (uint16_t)(n > 0 ? n : 0);
	send(KH_REC_LOCK_WAIT, (char *)&rec + sizeof(rec.r.h),
	     (uint32_t)(sizeof(rec.r) - sizeof(rec.r.h) + (size_t)rec.r.nframes * 8));
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

static void taken(void *lock, uint32_t kind, bool uncontended, uint64_t t)
{
	struct lock_slot *s = slot_of((uintptr_t)lock, kind);
	if (s) {
		__atomic_add_fetch(&s->acquisitions, 1, __ATOMIC_RELAXED);
		if (uncontended)
			__atomic_add_fetch(&s->uncontended, 1, __ATOMIC_RELAXED);
	}
	if (nheld < LOCK_HELD) {
		held[nheld].addr = (uintptr_t)lock;
		held[nheld].since = t;
		nheld++;
	}
}

static void woken(uintptr_t addr)
{
	struct lock_slot *s = slot_of(addr, KH_LOCK_FUTEX);
	if (!s)
		return;
	uint32_t tid = agent_tid(), none = 0;
	if (!__atomic_compare_exchange_n(&s->waker, &none, tid, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED) &&
	    none != tid)
		__atomic_store_n(&s->several, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->wakes, 1, __ATOMIC_RELAXED);
}

static void released(void *lock)
{
	for (int i = nheld; i-- > 0;) {
		if (held[i].addr != (uintptr_t)lock)
			continue;
		uint64_t d = now() - held[i].since;
		held[i] = held[--nheld];
		struct lock_slot *s = slot_of((uintptr_t)lock, KH_LOCK_MUTEX);
		if (!s)
			return;
		__atomic_add_fetch(&s->hold_ns, d, __ATOMIC_RELAXED);
		uint64_t max = __atomic_load_n(&s->hold_max_ns, __ATOMIC_RELAXED);
		while (d > max &&
		       !__atomic_compare_exchange_n(&s->hold_max_ns, &max, d, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			;
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
			taken(lock, kind, true, now());                                                                \
			return 0;                                                                                      \
		}                                                                                                      \
		if (rc_ != EBUSY)                                                                                      \
			return lock_fn(lock);                                                                          \
		uint64_t t0_ = now();                                                                                  \
		rc_ = lock_fn(lock);                                                                                   \
		uint64_t t1_ = now();                                                                                  \
		if (rc_ == 0)                                                                                          \
			taken(lock, kind, false, t1_);                                                                 \
		send_wait(&from, (uintptr_t)(lock), t0_, t1_, kind);                                                   \
		return rc_;                                                                                            \
	} while (0)

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	TIMED_LOCK(m, __pthread_mutex_trylock, __pthread_mutex_lock, KH_LOCK_MUTEX);
}

EXPORT int pthread_mutex_trylock(pthread_mutex_t *m)
{
	int rc = __pthread_mutex_trylock(m);
	if (rc == 0 && watched())
		taken(m, KH_LOCK_MUTEX, true, now());
	return rc;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (watched() && nheld)
		released(m);
	return __pthread_mutex_unlock(m);
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
		taken(l, KH_LOCK_RWLOCK, true, now());
	return rc;
}

EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	int rc = __pthread_rwlock_trywrlock(l);
	if (rc == 0 && watched())
		taken(l, KH_LOCK_RWLOCK, true, now());
	return rc;
}

EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	if (watched() && nheld)
		released(l);
	return __pthread_rwlock_unlock(l);
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
	taken(m, KH_LOCK_MUTEX, false, t1);
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
	taken(m, KH_LOCK_MUTEX, false, t1);
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
	int cmd = (int)op & FUTEX_CMD_MASK;
	/* FUTEX_WAIT, LOCK_PI, WAIT_BITSET, WAIT_REQUEUE_PI, LOCK_PI2 */
	if (cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13) {
		uint64_t t0 = now();
		long rc = fn(SYS_futex, uaddr, op, a3, a4, a5, a6);
		uint64_t t1 = now();
		send_wait(from, (uintptr_t)uaddr, t0, t1, KH_LOCK_FUTEX);
		return rc;
	}
	long rc = fn(SYS_futex, uaddr, op, a3, a4, a5, a6);
	/* WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, UNLOCK_PI, WAKE_BITSET */
	if (cmd == 1 || cmd == 3 || cmd == 4 || cmd == 5 || cmd == 7 || cmd == 10)
		woken((uintptr_t)uaddr);
	return rc;
}

/* ---- the mode ---- */

static void lock_start(void)
{
	table = agent_map(sizeof(struct lock_slot) * LOCK_TABLE);
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
}

static void lock_exit(void)
{
	inside++;
	__atomic_store_n(&on, false, __ATOMIC_RELEASE);
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
		    .hold_ns = table[i].hold_ns,
		    .hold_max_ns = table[i].hold_max_ns,
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
