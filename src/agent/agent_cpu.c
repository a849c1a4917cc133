/* agent_cpu.c - the agent's cpu mode: CPU-time sampling from inside the
 * target, for `kiln record` where perf_event_open is refused (containers'
 * seccomp profiles, perf_event_paranoid=3) or with --engine agent.
 *
 * Every thread gets a timer on its own CPU-time clock
 * (CLOCK_THREAD_CPUTIME_ID) that signals that very thread
 * (SIGEV_THREAD_ID): threads that sleep or block are neither sampled nor
 * woken. The handler unwinds the interrupted registers with the agent's
 * own CFI unwinder (agent_unwind.c: no malloc, bounded, every read checked
 * against the thread's stack) and writes the program counters to the
 * channel (KH_REC_CPU_SAMPLE); kiln turns them into the samples a perf
 * recording gives.
 *
 * A guest's manners: a real-time signal the program does not handle (not
 * SIGPROF, which profilers and the program itself may use), SA_RESTART,
 * errno kept, the program's masks left alone (a thread that blocks the
 * signal is sampled when it unblocks it; the timer counts what it missed
 * as overruns), a handler the program installs for that signal later is
 * chained to, not replaced. A signal that comes while the thread is inside
 * the agent, or the ring is full or busy, is dropped and counted: kiln
 * reports those as lost samples.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent/agent_mode.h"
#include "agent/agent_unwind.h"
#include "agent/channel_format.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS    __thread __attribute__((tls_model("initial-exec")))

#define CPU_MAX_FRAMES KH_MAX_STACK
#define CPU_DEFAULT_HZ 997
#define CPU_LOCK_TRIES 256 /* tries for the channel's lock before the sample is dropped */
#define CPU_ENV_HZ     "KILN_AGENT_HZ"
#define CPU_ENV_SIGNAL "KILN_AGENT_SIGNAL"

/* A thread's sampling state, mapped when its timer is armed (not static
 * TLS, which glibc carves from every thread's stack); only its thread and
 * that thread's handler touch it. */
struct cpu_thread {
	struct agent_unwind_thread ut;
	timer_t timer;
	bool armed;
	char name[16]; /* as last told to kiln */
	void *ips[CPU_MAX_FRAMES + 1];
	struct {
		struct kh_rec_cpu_sample s;
		uint64_t frames[CPU_MAX_FRAMES + 1];
	} rec;
};

static TLS struct cpu_thread *me;
static int tick_sig;              /* 0: the cpu mode is off */
static uint64_t interval_ns;      /* 1e9 / Hz */
static char cookie;               /* sival_ptr of our timers: tells our signals from others */
static struct sigaction chained;  /* the program's handler for tick_sig, if any */
static uint64_t dropped, signals; /* atomics */
static pthread_key_t thread_key;
static bool thread_key_ok;

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);
static sigaction_fn real_sigaction;

static sigaction_fn sigaction_get(void)
{
	sigaction_fn fn = __atomic_load_n(&real_sigaction, __ATOMIC_ACQUIRE);
	if (!fn) {
		fn = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
		__atomic_store_n(&real_sigaction, fn, __ATOMIC_RELEASE);
	}
	return fn;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	uint64_t v = 0;
	if (!s || !*s)
		return def;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return *s || !v ? def : v;
}

/* Hands a signal that is not one of our timers' to the program's handler. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	if (chained.sa_flags & SA_SIGINFO) {
		if (chained.sa_sigaction)
			chained.sa_sigaction(sig, si, uc);
	} else if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN && chained.sa_handler) {
		chained.sa_handler(sig);
	}
}

static void name_check(struct cpu_thread *ct, uint64_t now, uint32_t tid)
{
	char name[16] = {0};
	if (prctl(PR_GET_NAME, name) != 0 || !memcmp(name, ct->name, sizeof(name)))
		return;
	struct kh_rec_thread r = {.time = now, .tid = tid};
	memcpy(r.name, name, sizeof(name));
	r.name[15] = '\0';
	if (agent_channel_write(KH_REC_THREAD, (char *)&r + sizeof(r.h), sizeof(r) - sizeof(r.h), false) == 0)
		memcpy(ct->name, name, sizeof(name));
}

static bool lock_take(void)
{
	for (int i = 0; i < CPU_LOCK_TRIES; i++) {
		if (agent_lock_try())
			return true;
		__builtin_ia32_pause();
	}
	return false;
}

static void on_tick(int sig, siginfo_t *si, void *ucv)
{
	int saved = errno;
	if (si->si_code != SI_TIMER || si->si_value.sival_ptr != &cookie) {
		chain(sig, si, ucv);
		goto out;
	}
	__atomic_fetch_add(&signals, 1, __ATOMIC_RELAXED);
	struct cpu_thread *ct = me;
	if (!ct)
		goto out; /* a thread going away */
	if (agent_guarded() || !agent_channel_on()) {
		__atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);
		goto out;
	}
	const ucontext_t *uc = ucv;
	uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	uintptr_t bp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
	bool whole = true;
	/* the unwinder takes a return address and looks up the row of the
	 * byte before it: pc + 1 names pc's own row */
	int n = agent_unwind_backtrace_from(&ct->ut, ct->ips, CPU_MAX_FRAMES, pc + 1, sp, bp, &whole);
	ct->rec.frames[0] = pc;
	for (int i = 1; i < n; i++)
		ct->rec.frames[i] = (uint64_t)(uintptr_t)ct->ips[i];
	uint64_t overrun = si->si_overrun > 0 ? (uint64_t)si->si_overrun : 0;
	struct kh_rec_cpu_sample *s = &ct->rec.s;
	s->time = agent_now_ns();
	s->period = interval_ns * (1 + overrun);
	s->tid = agent_tid();
	s->nframes = (uint16_t)n;
	s->flags = whole ? 0 : KH_CPU_CUT;
	if (!lock_take()) {
		__atomic_fetch_add(&dropped, 1, __ATOMIC_RELAXED);
		goto out;
	}
	name_check(ct, s->time, s->tid);
	s->lost = __atomic_exchange_n(&dropped, 0, __ATOMIC_RELAXED);
	uint32_t len = (uint32_t)(sizeof(*s) - sizeof(s->h) + (size_t)n * sizeof(uint64_t));
	if (agent_channel_write(KH_REC_CPU_SAMPLE, (char *)s + sizeof(s->h), len, false) != 0)
		__atomic_fetch_add(&dropped, 1 + s->lost, __ATOMIC_RELAXED);
	agent_lock_release();
out:
	errno = saved;
}

static void thread_release(void *p)
{
	struct cpu_thread *ct = p;
	me = NULL; /* a signal still pending finds nothing to sample */
	if (ct->armed)
		timer_delete(ct->timer);
	agent_unmap(ct, sizeof(*ct));
}

/* Arms the calling thread's timer, with state of its own (ct: reuse the
 * state a forked child copied from its parent). */
static void thread_arm(struct cpu_thread *ct)
{
	if (!tick_sig)
		return;
	if (!ct) {
		ct = agent_map(sizeof(*ct));
		if (!ct)
			return;
	}
	memset(&ct->ut, 0, sizeof(ct->ut));
	agent_thread_stack(&ct->ut.stack_lo, &ct->ut.stack_hi);
	ct->armed = false;
	memset(ct->name, 0, sizeof(ct->name));
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = tick_sig;
	sev.sigev_value.sival_ptr = &cookie;
	sev._sigev_un._tid = (pid_t)agent_tid();
	me = ct;
	if (thread_key_ok)
		pthread_setspecific(thread_key, ct);
	if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &ct->timer) != 0)
		return;
	ct->armed = true;
	struct itimerspec its = {
	    .it_interval = {(time_t)(interval_ns / 1000000000u), (long)(interval_ns % 1000000000u)},
	    .it_value = {(time_t)(interval_ns / 1000000000u), (long)(interval_ns % 1000000000u)},
	};
	timer_settime(ct->timer, 0, &its, NULL);
}

/* A real-time signal nobody handles, from the top down (libraries that
 * take one usually take SIGRTMIN + n); KILN_AGENT_SIGNAL picks another. */
static int signal_pick(void)
{
	int forced = (int)env_u64(CPU_ENV_SIGNAL, 0);
	if (forced >= SIGRTMIN && forced <= SIGRTMAX)
		return forced;
	for (int s = SIGRTMAX - 2; s > SIGRTMIN + 4; s--) {
		struct sigaction old;
		if (sigaction_get()(s, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL)
			return s;
	}
	return SIGRTMAX - 2;
}

static void cpu_start(void)
{
	if (!agent_channel_on() || !sigaction_get())
		return;
	uint64_t hz = env_u64(CPU_ENV_HZ, CPU_DEFAULT_HZ);
	interval_ns = 1000000000ull / hz;
	if (!interval_ns)
		interval_ns = 1;
	thread_key_ok = pthread_key_create(&thread_key, thread_release) == 0;
	int sig = signal_pick();
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_tick;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction_get()(sig, &sa, &chained) != 0)
		return;
	__atomic_store_n(&tick_sig, sig, __ATOMIC_RELEASE);
	thread_arm(NULL);
}

static void cpu_thread_start(void)
{
	thread_arm(NULL);
}

/* A forked child: the kernel gave it no timers; its thread's state is a
 * copy of the parent thread's. */
static void cpu_process_start(void)
{
	__atomic_store_n(&dropped, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&signals, 0, __ATOMIC_RELAXED);
	thread_arm(me);
}

/* At exit: this thread stops sampling; the drops not told yet go out. */
static void cpu_exit(void)
{
	struct cpu_thread *ct = me;
	if (ct && ct->armed) {
		me = NULL;
		timer_delete(ct->timer);
		ct->armed = false;
	}
	if (!tick_sig || !agent_lock_try())
		return;
	struct kh_rec_cpu_lost r = {0};
	r.lost = __atomic_exchange_n(&dropped, 0, __ATOMIC_RELAXED);
	r.signals = __atomic_load_n(&signals, __ATOMIC_RELAXED);
	agent_channel_write(KH_REC_CPU_LOST, (char *)&r + sizeof(r.h), sizeof(r) - sizeof(r.h), true);
	agent_lock_release();
}

/* The program installs a handler for our signal: it is chained to (it
 * gets every signal that is not our timers'), and ours stays. */
EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	sigaction_fn fn = sigaction_get();
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	int ts = __atomic_load_n(&tick_sig, __ATOMIC_ACQUIRE);
	if (!ts || sig != ts)
		return fn(sig, act, old);
	if (old)
		*old = chained;
	if (act)
		chained = *act;
	return 0;
}

const struct agent_mode agent_mode_cpu = {
    .name = "cpu",
    .id = KH_MODE_CPU,
    .alloc_hooks = false,
    .start = cpu_start,
    .thread_start = cpu_thread_start,
    .process_start = cpu_process_start,
    .exit = cpu_exit,
};
