/* target.c - launching and attaching to the profiled program. */
#include "capture/target.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void target_init(struct target *t)
{
	memset(t, 0, sizeof(*t));
	t->go_fd = t->err_fd = -1;
}

int target_launch(struct target *t, char *const argv[])
{
	int go[2], err[2];
	target_init(t);
	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		int e = -errno;
		close(go[0]);
		close(go[1]);
		return e;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(go[0]);
		close(go[1]);
		close(err[0]);
		close(err[1]);
		return e;
	}
	if (pid == 0) {
		close(go[1]);
		close(err[0]);
		/* The target must not inherit kiln's signal setup. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		char c;
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		execvp(argv[0], argv);
		int e = errno;
		if (write(err[1], &e, sizeof(e)) < 0) {
			/* the parent will see EOF and a 127 exit */
		}
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	t->pid = pid;
	t->launched = true;
	t->go_fd = go[1];
	t->err_fd = err[0];
	return 0;
}

int target_start(struct target *t)
{
	close(t->go_fd);
	t->go_fd = -1;
	int e = 0;
	ssize_t n;
	while ((n = read(t->err_fd, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(t->err_fd);
	t->err_fd = -1;
	if (n == (ssize_t)sizeof(e)) {
		waitpid(t->pid, &t->status, 0);
		t->exited = true;
		return -e;
	}
	return 0;
}

int target_attach(struct target *t, pid_t pid)
{
	target_init(t);
	if (pid <= 0)
		return -ESRCH;
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return -ESRCH;
	t->pid = pid;
	return 0;
}

bool target_poll_exit(struct target *t)
{
	if (t->exited)
		return true;
	if (t->launched) {
		pid_t r = waitpid(t->pid, &t->status, WNOHANG);
		if (r == t->pid && (WIFEXITED(t->status) || WIFSIGNALED(t->status)))
			t->exited = true;
		else if (r < 0 && errno == ECHILD)
			t->exited = true;
	} else {
		char path[64];
		struct stat st;
		snprintf(path, sizeof(path), "/proc/%d", (int)t->pid);
		if (stat(path, &st) < 0)
			t->exited = true;
	}
	return t->exited;
}

void target_signal(struct target *t, int sig)
{
	if (t->launched && !t->exited)
		kill(t->pid, sig);
}

int target_exit_code(const struct target *t)
{
	if (!t->launched || !t->exited)
		return 0;
	if (WIFEXITED(t->status))
		return WEXITSTATUS(t->status);
	if (WIFSIGNALED(t->status))
		return 128 + WTERMSIG(t->status);
	return 1;
}

void target_release(struct target *t)
{
	if (t->go_fd >= 0)
		close(t->go_fd);
	if (t->err_fd >= 0)
		close(t->err_fd);
	t->go_fd = t->err_fd = -1;
	if (t->launched && !t->exited) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, &t->status, 0);
		t->exited = true;
	}
}
