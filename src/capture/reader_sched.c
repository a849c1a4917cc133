/* reader_sched.c - the ring reader's scheduling priority and its governor. */
#include "capture/reader_sched.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WINDOW_NS     250000000ull
#define READER_NICE   (-10)
#define MAX_CPU_SHARE 2         /* lowered above 1/MAX_CPU_SHARE of a cpu */
#define READER_SLICE  100000ull /* ns: the shortest slice the kernel grants */

/* sched_setattr(2)'s argument (glibc has no wrapper nor type) */
struct reader_sched_attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* setpriority(PRIO_PROCESS, 0, ...) names the calling thread on Linux. */
static int set_fifo(bool on)
{
	struct sched_param sp = {.sched_priority = on ? 1 : 0};
	return sched_setscheduler(0, (on ? SCHED_FIFO : SCHED_OTHER) | SCHED_RESET_ON_FORK, &sp);
}

/* A time slice for the calling thread under the normal policy: with
 * EEVDF (Linux 6.12 on) a task asking for a short slice gets an early
 * deadline and runs as soon as it wakes, before threads that have had
 * their share; it needs no privilege and does not raise the thread's
 * share of the cpu. slice 0 is the default. True when the kernel holds
 * it (older kernels accept and ignore it: read back to tell). */
static bool set_slice(uint64_t slice)
{
	struct reader_sched_attr a = {.size = sizeof(a), .policy = SCHED_OTHER, .runtime = slice};
	errno = 0;
	a.nice = getpriority(PRIO_PROCESS, 0);
	if (errno || syscall(SYS_sched_setattr, 0, &a, 0) != 0)
		return false;
	struct reader_sched_attr got = {0};
	if (syscall(SYS_sched_getattr, 0, &got, (unsigned)sizeof(got), 0) != 0)
		return false;
	return !slice || got.runtime == slice;
}

enum reader_prio reader_sched_raise(struct reader_sched *s, bool want_fifo)
{
	memset(s, 0, sizeof(*s));
	errno = 0;
	s->old_nice = getpriority(PRIO_PROCESS, 0);
	if (errno)
		s->old_nice = 0;
	if (want_fifo && set_fifo(true) == 0)
		s->level = READER_PRIO_FIFO;
	else if (s->old_nice > READER_NICE && setpriority(PRIO_PROCESS, 0, READER_NICE) == 0)
		s->level = READER_PRIO_NICE;
	else if (set_slice(READER_SLICE))
		s->level = READER_PRIO_SLICE;
	s->win_wall = clock_ns(CLOCK_MONOTONIC);
	s->win_cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	return s->level;
}

void reader_sched_govern(struct reader_sched *s)
{
	if (s->level == READER_PRIO_NORMAL)
		return;
	uint64_t wall = clock_ns(CLOCK_MONOTONIC);
	if (wall - s->win_wall < WINDOW_NS)
		return;
	uint64_t cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	bool busy = (cpu - s->win_cpu) * MAX_CPU_SHARE > wall - s->win_wall;
	if (busy != s->lowered) {
		if (s->level == READER_PRIO_FIFO)
			set_fifo(!busy);
		else if (s->level == READER_PRIO_SLICE)
			set_slice(busy ? 0 : READER_SLICE);
		else
			setpriority(PRIO_PROCESS, 0, busy ? s->old_nice : READER_NICE);
		s->lowered = busy;
	}
	s->lowered_windows += s->lowered;
	s->win_wall = wall;
	s->win_cpu = cpu;
}

void reader_sched_restore(struct reader_sched *s)
{
	if (s->level == READER_PRIO_FIFO)
		set_fifo(false);
	if (s->level == READER_PRIO_SLICE)
		set_slice(0);
	else if (s->level != READER_PRIO_NORMAL)
		setpriority(PRIO_PROCESS, 0, s->old_nice);
	s->level = READER_PRIO_NORMAL;
	s->lowered = false;
}

const char *reader_prio_name(enum reader_prio p)
{
	switch (p) {
	case READER_PRIO_FIFO:
		return "real-time (SCHED_FIFO)";
	case READER_PRIO_NICE:
		return "nice -10";
	case READER_PRIO_SLICE:
		return "short time slice";
	default:
		return "normal";
	}
}
