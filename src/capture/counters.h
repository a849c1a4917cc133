/* counters.h - perf events in counting mode, for `kiln stat`.
 *
 * A counter_set is a list of events opened on one target: a launched
 * command (one fd per event, inherited by every thread and child it
 * starts, enabled at exec) or a running process (one fd per thread).
 * Events added with group=true join the group of the previous event, so
 * that ratios such as instructions per cycle are counted over the same
 * time when the PMU multiplexes. Each fd is read with
 * PERF_FORMAT_TOTAL_TIME_ENABLED/RUNNING so a multiplexed count can be
 * scaled to the whole run.
 *
 * A set is opened and closed once per run and keeps its event list; the
 * last read's values stay in the counters until the next open.
 */
#ifndef KILN_CAPTURE_COUNTERS_H
#define KILN_CAPTURE_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/events.h"
#include "util/vec.h"

/* One thread's fd of a counter (attach mode has one per thread). */
struct counter_fd {
	pid_t tid;
	int fd;
	uint64_t value, enabled, running; /* the last read */
};

struct counter {
	struct event_desc ev;
	char *name; /* owned copy of the name the user gave (tracepoints) */
	bool group; /* joins the previous counter's group */
	int err;    /* 0, or -errno from perf_event_open for every thread */
	VEC(struct counter_fd) fds;
	/* Sums over fds after counters_read(). */
	uint64_t value, enabled, running;
};

struct counter_set {
	VEC(struct counter) c;
};

/* The resource use of a reaped command, from wait4(2). */
struct counter_rusage {
	double user_s, sys_s;
	uint64_t maxrss_kib;
};

void counters_init(struct counter_set *s);
/* Closes every fd and frees the event list. */
void counters_release(struct counter_set *s);
/* Appends ev (its name is copied). group: count it in one group with the
 * previous event (hardware ratios). */
void counters_add(struct counter_set *s, const struct event_desc *ev, bool group);

/* Opens every counter on the threads tids[0..n): with inherit, threads and
 * children they start later are counted too; with enable_on_exec, counting
 * starts at the target's exec (else at once). An event the machine cannot
 * count keeps its -errno in ->err and is not an error. Returns 0, or -errno
 * when not a single event could be opened. */
int counters_open(struct counter_set *s, const pid_t *tids, size_t n, bool inherit, bool enable_on_exec);
/* Reads every open fd into the counters (sums over threads). Returns 0 or -errno. */
int counters_read(struct counter_set *s);
/* Turns every counter off (attach mode stops counting before the read). */
void counters_disable(struct counter_set *s);
/* Closes the fds; the event list and the last values stay. */
void counters_close(struct counter_set *s);

/* The count scaled to the whole time it was enabled: raw * enabled /
 * running. *share (may be NULL) gets running / enabled in 0..1 (1 when it
 * was never multiplexed). Returns -1 when it never ran (not counted). */
double counter_scale(uint64_t raw, uint64_t enabled, uint64_t running, double *share);

/* Lists the thread ids of a running process into *tids (caller frees).
 * Returns the count, or -errno (-ESRCH when it is gone). */
int counters_list_threads(pid_t pid, pid_t **tids);

/* wait4(2) on a launched command: 0 with *status and *ru filled, -EINTR
 * when a signal interrupted the wait (call again), or -errno. */
int counters_wait(pid_t pid, int *status, struct counter_rusage *ru);

#endif
