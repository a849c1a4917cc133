/* proc_stat.h - the one reader of /proc/PID/stat and
 * /proc/PID/task/TID/stat: a process's (or thread's) state, parent and
 * start time. The name in parentheses may hold spaces and ')' (a program
 * may call itself anything), so the fields are counted from the last ')'.
 * Allocation-free, no stdio. */
#ifndef KILN_CAPTURE_PROC_STAT_H
#define KILN_CAPTURE_PROC_STAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_stat {
	pid_t pid;
	char comm[64];        /* the name between the parentheses, cut to fit */
	char state;           /* R running or runnable, S sleeping, D disk wait, T stopped,
	                       * t traced, Z zombie, X dead, I idle kernel thread */
	pid_t ppid;           /* the parent (0 for the first process of a namespace) */
	uint64_t start_ticks; /* when it started, in clock ticks after boot (field 22):
	                       * with the pid, it names one process even after the
	                       * pid is reused */
};

/* Parses the n bytes of text of a stat file into out. Returns 0, or
 * -EINVAL when the text is not that shape (no ')' after the name, or cut
 * short before the start time). */
int proc_stat_parse(const char *text, size_t n, struct proc_stat *out);

/* Reads /proc/PID/stat (tid 0) or /proc/PID/task/TID/stat. Returns 0,
 * -ENOENT when the process or thread is gone, -EINVAL when the text is
 * not a stat file's, or another -errno. A zombie still reads (state Z). */
int proc_stat_read(pid_t pid, pid_t tid, struct proc_stat *out);

#endif
