/* proc_stat.c - /proc/PID/stat and /proc/PID/task/TID/stat, decoded once
 * for every part of kiln that asks whether a process is there, what it
 * does, who its parent is and when it started. */
#include "capture/proc_stat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/num.h"

#define PROC_STAT_PPID  4  /* the fields, numbered as proc(5) does */
#define PROC_STAT_START 22 /* starttime */

/* The decimal number that is all of [p, stop); false when it is empty,
 * holds anything but digits or does not fit. */
static bool parse_u64(const char *p, const char *stop, uint64_t *out)
{
	return p < stop && num_scan_u64(p, stop, 10, out) == stop;
}

int proc_stat_parse(const char *text, size_t n, struct proc_stat *out)
{
	const char *end = text + n;
	const char *open = memchr(text, '(', n);
	const char *close = NULL;
	/* the name may hold ')' itself: the last one ends it */
	for (const char *c = open ? open : end; c < end; c++)
		if (*c == ')')
			close = c;
	uint64_t v;
	if (!open || !close || open == text || open[-1] != ' ' || !parse_u64(text, open - 1, &v) || v > INT_MAX)
		return -EINVAL;
	out->pid = (pid_t)v;
	size_t len = (size_t)(close - open - 1);
	if (len >= sizeof(out->comm))
		len = sizeof(out->comm) - 1;
	memcpy(out->comm, open + 1, len);
	out->comm[len] = '\0';
	/* ") S ": the state, then the numbered fields from 4 on */
	const char *p = close + 1;
	if (end - p < 4 || p[0] != ' ' || p[2] != ' ')
		return -EINVAL;
	out->state = p[1];
	p += 3;
	for (int field = PROC_STAT_PPID; field <= PROC_STAT_START; field++) {
		/* every field up to the start time is followed by another: a
		 * text without the space after it was cut short */
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp)
			return -EINVAL;
		if (field == PROC_STAT_PPID) {
			if (!parse_u64(p, sp, &v) || v > INT_MAX)
				return -EINVAL;
			out->ppid = (pid_t)v;
		} else if (field == PROC_STAT_START) {
			if (!parse_u64(p, sp, &out->start_ticks))
				return -EINVAL;
		}
		p = sp + 1;
	}
	return 0;
}

int proc_stat_read(pid_t pid, pid_t tid, struct proc_stat *out)
{
	char path[96];
	/* 52 fields of at most 20 digits and a name of 64 fit */
	char buf[1280];
	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = 0;
	int rc = 0;
	while (n < sizeof(buf)) {
		ssize_t r = read(fd, buf + n, sizeof(buf) - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			/* a task that went between open and read */
			rc = errno == ESRCH ? -ENOENT : -errno;
			goto out_close;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	rc = n ? proc_stat_parse(buf, n, out) : -ENOENT;
out_close:
	close(fd);
	return rc;
}
