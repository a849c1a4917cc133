/* thread_regs.c - another thread's registers through ptrace (thread_regs.h). */
#include "capture/thread_regs.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "arch/arch.h"

int thread_regs_take(uint32_t tid, uint64_t *regs, uint32_t cap, uint32_t *n, uint64_t *sp)
{
	pid_t t = (pid_t)tid;
	int sig = 0, st, rc = 0;
	if (ptrace(PTRACE_SEIZE, t, 0, 0) < 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, t, 0, 0) < 0) {
		rc = -errno;
		goto out_detach;
	}
	for (;;) {
		if (waitpid(t, &st, __WALL) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out_detach;
		}
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return -ESRCH; /* gone: nothing to detach from */
		if (!WIFSTOPPED(st))
			continue;
		/* A signal that arrived meanwhile stops the thread first: it is
		 * stopped all the same, and the signal goes back with the detach. */
		if (st >> 16 != PTRACE_EVENT_STOP)
			sig = WSTOPSIG(st);
		break;
	}
	struct iovec iov = {regs, (size_t)cap * sizeof(uint64_t)};
	if (ptrace(PTRACE_GETREGSET, t, (void *)(uintptr_t)NT_PRSTATUS, &iov) < 0) {
		rc = -errno;
		goto out_detach;
	}
	*n = (uint32_t)(iov.iov_len / sizeof(uint64_t));
	*sp = *n > ARCH_PTRACE_REG_SP ? regs[ARCH_PTRACE_REG_SP] : 0;
out_detach:
	if (ptrace(PTRACE_DETACH, t, 0, (void *)(uintptr_t)sig) < 0 && !rc)
		rc = errno == ESRCH ? -ESRCH : -errno;
	return rc;
}
