/* counters.c - counting-mode perf events for `kiln stat`: open on a
 * launched command or every thread of a running process, read with the
 * enabled/running times, scale, and reap the command with its rusage. */
#include "capture/counters.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/xalloc.h"

void counters_init(struct counter_set *s)
{
	memset(s, 0, sizeof(*s));
}

void counters_release(struct counter_set *s)
{
	if (!s)
		return;
	counters_close(s);
	for (size_t i = 0; i < s->c.n; i++) {
		free(s->c.v[i].name);
		vec_free(&s->c.v[i].fds);
	}
	vec_free(&s->c);
}

void counters_add(struct counter_set *s, const struct event_desc *ev, bool group)
{
	struct counter *c = vec_grow(&s->c);
	c->ev = *ev;
	c->name = xstrdup(ev->name);
	c->ev.name = c->name;
	c->group = group && s->c.n > 1;
}

/* Opens one event on one thread; falls back to user-space-only counting
 * when perf_event_paranoid forbids counting the kernel, as perf stat does. */
static int open_one(const struct counter *c, pid_t tid, int group_fd, bool inherit, bool enable_on_exec)
{
	struct perf_event_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = c->ev.type;
	attr.config = c->ev.config;
	attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
	attr.inherit = inherit;
	/* A group member follows its leader's enable state; it must start enabled. */
	attr.disabled = enable_on_exec && group_fd < 0;
	attr.enable_on_exec = enable_on_exec && group_fd < 0;
	int fd = event_open(&attr, tid, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM) && c->ev.type != PERF_TYPE_TRACEPOINT) {
		attr.exclude_kernel = 1;
		attr.exclude_hv = 1;
		fd = event_open(&attr, tid, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
	}
	return fd < 0 ? -errno : fd;
}

int counters_open(struct counter_set *s, const pid_t *tids, size_t n, bool inherit, bool enable_on_exec)
{
	size_t opened = 0;
	int first_err = -ENOENT;
	counters_close(s);
	for (size_t t = 0; t < n; t++) {
		int leader_fd = -1;
		for (size_t i = 0; i < s->c.n; i++) {
			struct counter *c = &s->c.v[i];
			if (t == 0)
				c->err = 0;
			int group_fd = c->group ? leader_fd : -1;
			int fd = open_one(c, tids[t], group_fd, inherit, enable_on_exec);
			if (fd < 0 && group_fd >= 0) /* the PMU may take it alone */
				fd = open_one(c, tids[t], -1, inherit, enable_on_exec);
			if (!c->group)
				leader_fd = fd;
			if (fd < 0) {
				/* A thread that exited meanwhile is not an error of the event. */
				if (fd != -ESRCH && !c->fds.n)
					c->err = fd;
				if (first_err == -ENOENT || fd == -EACCES || fd == -EPERM)
					first_err = fd;
				continue;
			}
			c->err = 0;
			struct counter_fd *cf = vec_grow(&c->fds);
			cf->tid = tids[t];
			cf->fd = fd;
			opened++;
		}
	}
	return opened ? 0 : first_err;
}

int counters_read(struct counter_set *s)
{
	for (size_t i = 0; i < s->c.n; i++) {
		struct counter *c = &s->c.v[i];
		c->value = c->enabled = c->running = 0;
		for (size_t j = 0; j < c->fds.n; j++) {
			struct counter_fd *cf = &c->fds.v[j];
			uint64_t buf[3];
			ssize_t r = read(cf->fd, buf, sizeof(buf));
			if (r != (ssize_t)sizeof(buf))
				return r < 0 ? -errno : -EIO;
			cf->value = buf[0];
			cf->enabled = buf[1];
			cf->running = buf[2];
			c->value += buf[0];
			c->enabled += buf[1];
			c->running += buf[2];
		}
	}
	return 0;
}

void counters_disable(struct counter_set *s)
{
	for (size_t i = 0; i < s->c.n; i++)
		for (size_t j = 0; j < s->c.v[i].fds.n; j++)
			ioctl(s->c.v[i].fds.v[j].fd, PERF_EVENT_IOC_DISABLE, 0);
}

void counters_close(struct counter_set *s)
{
	for (size_t i = 0; i < s->c.n; i++) {
		struct counter *c = &s->c.v[i];
		for (size_t j = 0; j < c->fds.n; j++)
			close(c->fds.v[j].fd);
		vec_clear(&c->fds);
	}
}

double counter_scale(uint64_t raw, uint64_t enabled, uint64_t running, double *share)
{
	if (share)
		*share = 1.0;
	if (running == 0)
		return enabled ? -1.0 : (double)raw;
	if (running >= enabled)
		return (double)raw;
	if (share)
		*share = (double)running / (double)enabled;
	return (double)raw * ((double)enabled / (double)running);
}

int counters_list_threads(pid_t pid, pid_t **tids)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	VEC(pid_t) v = {0};
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		if (*end || tid <= 0)
			continue;
		vec_push(&v, (pid_t)tid);
	}
	closedir(d);
	if (!v.n) {
		vec_free(&v);
		return -ESRCH;
	}
	*tids = v.v;
	return (int)v.n;
}

int counters_wait(pid_t pid, int *status, struct counter_rusage *ru)
{
	struct rusage r;
	memset(&r, 0, sizeof(r));
	pid_t got = wait4(pid, status, 0, &r);
	if (got < 0)
		return -errno;
	ru->user_s = (double)r.ru_utime.tv_sec + (double)r.ru_utime.tv_usec / 1e6;
	ru->sys_s = (double)r.ru_stime.tv_sec + (double)r.ru_stime.tv_usec / 1e6;
	ru->maxrss_kib = (uint64_t)r.ru_maxrss; /* Linux reports KiB */
	return 0;
}
