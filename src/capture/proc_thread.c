/* proc_thread.c - a thread's state (capture/proc_stat.h) and wait
 * channel from /proc. */
#include "capture/proc_thread.h"

#include "capture/proc_stat.h"

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

int proc_thread_read(pid_t pid, pid_t tid, struct proc_thread_state *out)
{
	struct proc_stat st;
	int rc = proc_stat_read(pid, tid, &st);
	if (rc)
		return rc;
	out->state = st.state;
	out->wchan[0] = '\0';
	if (out->state == 'R')
		return 0;
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
	ssize_t n = read_small(path, out->wchan, sizeof(out->wchan));
	/* "0" when the kernel hides it (or it is not waiting anywhere) */
	if (n <= 0 || !strcmp(out->wchan, "0"))
		out->wchan[0] = '\0';
	return 0;
}
