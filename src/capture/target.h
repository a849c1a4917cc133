/* target.h - the program being profiled: started by kiln, or a running pid.
 *
 * target_launch() forks a child that waits until target_start() lets it
 * exec, so events can be opened on it first (enable_on_exec). A failed
 * exec is reported back through a close-on-exec pipe, so "no such command"
 * is an error kiln can print, not a silent empty profile.
 */
#ifndef KILN_CAPTURE_TARGET_H
#define KILN_CAPTURE_TARGET_H

#include <stdbool.h>
#include <sys/types.h>

struct target {
	pid_t pid;
	bool launched; /* we forked it (else attached) */
	bool exited;
	int status; /* waitpid status once exited */
	int go_fd;  /* write end: closing it lets the child exec */
	int err_fd; /* read end: the child's exec errno, EOF on success */
};

/* An empty target: nothing launched or attached, no descriptors, so that
 * target_release() is safe on it. target_launch() and target_attach()
 * start with it; a command calls it before its first way out. */
void target_init(struct target *t);
/* Forks argv[0] (searched in PATH), stopped before exec. Returns 0 or -errno. */
int target_launch(struct target *t, char *const argv[]);
/* Lets the launched child exec. Returns 0, or the exec's -errno. */
int target_start(struct target *t);
/* Attaches to a running process (checks it exists). Returns 0 or -errno. */
int target_attach(struct target *t, pid_t pid);
/* Non-blocking: returns true once the target has exited (launched: reaped;
 * attached: /proc/PID is gone). */
bool target_poll_exit(struct target *t);
/* Sends sig to a launched target. */
void target_signal(struct target *t, int sig);
/* The shell's view of the exit: code, or 128 + signal. */
int target_exit_code(const struct target *t);
/* Reaps a launched target that has not exited, killing it. */
void target_release(struct target *t);

#endif
