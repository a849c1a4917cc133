/* proc_thread.h - what a thread is doing right now, from /proc: its
 * scheduler state and, when it sleeps, the kernel function it waits in. */
#ifndef KILN_CAPTURE_PROC_THREAD_H
#define KILN_CAPTURE_PROC_THREAD_H

#include <stddef.h>
#include <sys/types.h>

struct proc_thread_state {
	char state;     /* /proc's letter: R running or runnable, S sleeping, D in
	                 * uninterruptible wait (disk), T stopped, t traced, Z zombie,
	                 * X dead, I idle kernel thread */
	char wchan[64]; /* the kernel function it sleeps in, "" when unknown or running */
};

/* Reads the state of thread tid of process pid. Returns 0, or -errno
 * (-ENOENT: the thread is gone; -EINVAL: its stat file is not that shape). */
int proc_thread_read(pid_t pid, pid_t tid, struct proc_thread_state *out);

#endif
