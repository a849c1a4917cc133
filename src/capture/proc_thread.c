/* proc_thread.c - a thread's state and wait channel from /proc. */
#include "capture/proc_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Reads a small /proc file into buf (NUL-terminated); its length or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, size - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return -err;
	buf[n] = '\0';
	return n;
}

char proc_thread_parse_state(const char *stat, size_t n)
{
	/* "tid (comm) S ...": the name may hold ") ", so take the last ')' */
	const char *close = NULL;
	for (size_t i = 0; i < n; i++)
		if (stat[i] == ')')
			close = stat + i;
	if (!close || (size_t)(close - stat) + 2 >= n || close[1] != ' ')
		return '?';
	return close[2];
}

int proc_thread_read(pid_t pid, pid_t tid, struct proc_thread_state *out)
{
	char path[96], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	ssize_t n = read_small(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	out->state = proc_thread_parse_state(buf, (size_t)n);
	out->wchan[0] = '\0';
	if (out->state == 'R')
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
	n = read_small(path, out->wchan, sizeof(out->wchan));
	/* "0" when the kernel hides it (or it is not waiting anywhere) */
	if (n <= 0 || !strcmp(out->wchan, "0"))
		out->wchan[0] = '\0';
	return 0;
}
