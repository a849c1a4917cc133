/* reader_sched.c - the ring reader's scheduling priority and its governor. */
#include "capture/reader_sched.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define WINDOW_NS     250000000ull
#define READER_NICE   (-10)
#define MAX_CPU_SHARE 2 /* lowered above 1/MAX_CPU_SHARE of a cpu */

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
	if (s->level != READER_PRIO_NORMAL)
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
	default:
		return "normal";
	}
}
