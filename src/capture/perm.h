/* perm.h - why perf_event_open refused (EACCES/EPERM), and which
 * kernel.perf_event_paranoid level would allow what was asked: one rule
 * for every command that opens events (record, stat, flame, cargo). */
#ifndef KILN_CAPTURE_PERM_H
#define KILN_CAPTURE_PERM_H

#include <stdbool.h>
#include <sys/types.h>

enum perm_cause {
	PERM_OTHER_USER, /* the process belongs to another user */
	PERM_PARANOID,   /* perf_event_paranoid is above the level needed */
	PERM_ELSEWHERE,  /* the level allows it: a seccomp filter, a security module... */
};

struct perm_query {
	long paranoid;   /* kernel.perf_event_paranoid */
	uid_t own_uid;   /* kiln's effective uid */
	long target_uid; /* the owner of an attached process; -1 for a command kiln starts */
	bool kernel;     /* kernel samples are needed (tracepoints; kernel stacks) */
	bool cpu_wide;   /* events on whole CPUs, not one process */
	bool raw;        /* raw tracepoint data */
};

/* The highest perf_event_paranoid that lets an unprivileged user open the
 * events q describes: 2 for user space of own processes, 1 with kernel
 * samples, 0 for whole CPUs, -1 for raw tracepoint data. */
long perm_paranoid_needed(const struct perm_query *q);

/* What refused: another user's process (the ptrace rule, whatever the
 * paranoid level), a paranoid level above the one needed, or something
 * else (root is refused, or the level already allows it). */
enum perm_cause perm_explain(const struct perm_query *q);

/* Whether kiln runs under a seccomp filter (containers' default profiles
 * deny perf_event_open): /proc/self/status says "Seccomp: 2". */
bool perm_seccomp_filtered(void);

/* The owner of process pid (the uid of /proc/PID), or -1. */
long perm_process_uid(pid_t pid);

#endif
