/* lock.h - which lock costs the threads their time (kiln lock).
 *
 * Input, from either engine: the waits of threads on futex words (one
 * call each: thread, start, duration, address, waiting stack) and the
 * wakes of those words. A kernel-engine recording gives futex syscall
 * entries and exits, which lock_pairs_add() pairs per thread first.
 *
 * Lock identity and naming (documented in kiln-lock(1)):
 *  - the futex word's address is the lock (Rust std, glibc: the lock word
 *    is the futex), named by the static holding it when a data symbol
 *    covers the address (`app::CACHE`), else by its first waiting call
 *    site;
 *  - a word only one thread ever waits on while other threads wake it is
 *    a per-thread parking word (parking_lot style): such waits are one
 *    lock per waiting call site;
 *  - waits whose stack shows a condition variable, a thread join or a
 *    channel are waits for a signal, not contention: listed apart.
 * The call site is the first frame, from the leaf, that is not lock
 * machinery: not the kernel, libc, ld.so, std/core/alloc, parking_lot,
 * lock_api, and not a function named lock, lock_contended, wait, park,
 * read, write... (the caller of Mutex::lock, not futex_wait). */
#ifndef KILN_ANALYSIS_LOCK_H
#define KILN_ANALYSIS_LOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/keymap.h"
#include "util/vec.h"

/* One futex syscall half, as the kernel engine sees it. */
struct lock_syscall {
	uint64_t time;
	uint64_t uaddr; /* enter */
	uint32_t tid, pid;
	uint32_t stack; /* enter: the waiting stack */
	bool waits;     /* enter: an op that sleeps until woken (FUTEX_WAIT...) */
	bool wakes;     /* enter: an op that wakes waiters (FUTEX_WAKE...) */
	bool exit;
};

/* One finished wait. */
struct lock_wait {
	uint64_t start, ns;
	uint64_t uaddr;
	uint32_t tid, pid;
	uint32_t stack;
	uint32_t kind; /* enum lock_kind the waiting function named (the agent
	                * knows it), LOCK_KIND_FUTEX: the stack's frames say */
};

/* A lock's held time and uncontended acquisitions (the agent engine). */
struct lock_hold {
	uint64_t uaddr;
	uint32_t pid;
	uint64_t acquisitions, uncontended;
	uint64_t hold_ns, hold_max_ns;
};

/* The wakes of one futex word. */
struct lock_wake_word {
	uint64_t uaddr;
	uint32_t pid, first_tid;
	uint64_t wakes;
	bool other_threads; /* woken by more than one thread */
};

struct lock_input {
	VEC(struct lock_syscall) calls; /* unpaired halves, until lock_input_pair() */
	VEC(struct lock_wait) waits;
	VEC(struct lock_hold) holds;
	struct keymap wakes; /* (pid, uaddr) -> index into wake_v */
	VEC(struct lock_wake_word) wake_v;
	uint64_t unpaired; /* halves without their other half (lost, or cut by the end) */
};

void lock_input_init(struct lock_input *in);
void lock_input_release(struct lock_input *in);
/* A syscall half (kernel engine); waits are paired by lock_input_pair(). */
void lock_input_syscall(struct lock_input *in, const struct lock_syscall *c);
/* n wakes of uaddr by thread tid (several: and by other threads too). */
void lock_input_wake(struct lock_input *in, uint32_t pid, uint32_t tid, uint64_t uaddr, uint64_t n, bool several);
/* Pairs each thread's entries with their exits, in time order (the
 * halves come from per-cpu rings, not in order), into waits for the wait
 * ops and wakes for the wake ops. */
void lock_input_pair(struct lock_input *in);

enum lock_kind {
	LOCK_KIND_FUTEX, /* a bare futex word: no stack says more */
	LOCK_KIND_MUTEX,
	LOCK_KIND_RWLOCK,
	LOCK_KIND_SEMAPHORE,
	LOCK_KIND_PARKED, /* a per-thread parking word: named by its call site */
	LOCK_KIND_CONDVAR,
	LOCK_KIND_JOIN,
	LOCK_KIND_CHANNEL,
};
const char *lock_kind_name(enum lock_kind k);
/* Condition variables, joins and channels wait for a signal. */
bool lock_kind_is_signal(enum lock_kind k);

struct lock_stat {
	char *name; /* the static's symbol, else "<kind> at <site>" */
	char *site; /* the first waiting call site "function (file:line)" */
	enum lock_kind kind;
	uint64_t uaddr; /* the first word's address (0: several words) */
	uint32_t pid;
	uint32_t stack;   /* the first waiting stack */
	uint32_t threads; /* distinct waiting threads */
	uint64_t waits, total_ns, mean_ns, p99_ns, max_ns;
	uint64_t wakes;
	double share; /* total_ns over the run's thread time */
	bool has_hold;
	uint64_t acquisitions, uncontended, hold_ns, hold_mean_ns, hold_max_ns;
};

struct lock_report {
	VEC(struct lock_stat) locks; /* contention by total wait, then signal waits */
	VEC(uint32_t) of_wait;       /* the lock of each of the input's waits */
	uint64_t thread_ns;          /* the lifetimes of the run's threads, summed */
	uint64_t contention_ns, signal_ns;
	uint64_t waits;
};

/* Names an address of process pid by the data symbol covering it: writes
 * the demangled name to buf and returns true, or false. */
typedef bool (*lock_data_name_fn)(void *ctx, uint32_t pid, uint64_t addr, char *buf, size_t size);

/* Builds the report from in's waits over symbolized profile p (the
 * stacks' frames name the kinds and call sites); end is when the run
 * ended (threads still alive then count up to it). data_name may be
 * NULL. */
void lock_report_build(struct lock_report *r, const struct lock_input *in, const struct profile *p, uint64_t end,
                       lock_data_name_fn data_name, void *ctx);
void lock_report_release(struct lock_report *r);

/* Adds every wait of in to p as a sample of its waiting stack: values
 * wait_vi (ns) and count_vi (1) for contention, signal_vi (ns) for
 * signal waits (a negative index leaves a value out). */
void lock_report_samples(const struct lock_report *r, const struct lock_input *in, struct profile *p, int count_vi,
                         int wait_vi, int signal_vi);

#endif
