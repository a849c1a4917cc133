/* reader_sched.h - keeps the thread that reads the perf rings scheduled.
 *
 * A target with more busy threads than cpus leaves a reader at the default
 * priority one runnable thread among hundreds: it wakes late, the rings
 * fill and the kernel drops samples. Where allowed (root, CAP_SYS_NICE or
 * RLIMIT_RTPRIO/RLIMIT_NICE) the reader runs SCHED_FIFO at the lowest
 * real-time priority, else at a raised nice level; where neither is
 * allowed (a normal user) it asks the kernel for a short time slice,
 * which EEVDF (Linux 6.12 on) serves first on wake-up. Its work is bounded by
 * the samples the target makes, and a governor lowers it back to normal
 * for a while whenever it used more than half a cpu, so it never starves
 * the target (the kernel's real-time throttling is a second guard).
 * Children forked later never inherit it (SCHED_RESET_ON_FORK).
 */
#ifndef KILN_CAPTURE_READER_SCHED_H
#define KILN_CAPTURE_READER_SCHED_H

#include <stdbool.h>
#include <stdint.h>

enum reader_prio {
	READER_PRIO_NORMAL, /* not permitted, or not asked */
	READER_PRIO_NICE,   /* a negative nice level */
	READER_PRIO_FIFO,   /* SCHED_FIFO, priority 1 */
	READER_PRIO_SLICE,  /* the normal policy with a 0.1 ms time slice */
};

struct reader_sched {
	enum reader_prio level; /* what was obtained */
	bool lowered;           /* the governor put it back to normal for now */
	int old_nice;
	uint64_t win_wall, win_cpu; /* the governor's window start */
	uint64_t lowered_windows;   /* windows spent lowered */
};

/* Raises the calling thread's priority as far as permitted; with
 * want_fifo false only the nice level is tried. Returns the level. */
enum reader_prio reader_sched_raise(struct reader_sched *s, bool want_fifo);
/* Called after each read round: every 250 ms, lowers the thread to normal
 * for the next window when it used over half a cpu in the last one, and
 * raises it again once it did not. */
void reader_sched_govern(struct reader_sched *s);
/* Back to the policy and nice level the thread had. Idempotent. */
void reader_sched_restore(struct reader_sched *s);
/* "real-time (SCHED_FIFO)", "nice -N", "short time slice" or "normal". */
const char *reader_prio_name(enum reader_prio p);

#endif
