/* agent_sandbox.c - the host's requests for a seccomp sandbox, seen
 * before they reach the kernel (agent_sandbox.h). The real functions are
 * looked up on first use; glibc's syscall() and prctl() take their
 * arguments as longs, which is how they are passed on. */
#include "agent/agent_sandbox.h"

#include <stddef.h>
#include <stdint.h>

#include "agent/agent_mode.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#define EXPORT __attribute__((visibility("default")))

typedef long (*syscall_fn)(long, ...);
typedef int (*prctl_fn)(int, ...);

static syscall_fn real_syscall;
static prctl_fn real_prctl;

EXPORT long syscall(long nr, ...)
{
	/* the caller's frame, for the lock mode's stacks (agent_lock.c) */
	const struct agent_caller from = {(uintptr_t)__builtin_return_address(0),
	                                  (uintptr_t)__builtin_frame_address(0) + 16,
	                                  *(const uintptr_t *)__builtin_frame_address(0)};
	va_list ap;
	va_start(ap, nr);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	syscall_fn fn = __atomic_load_n(&real_syscall, __ATOMIC_ACQUIRE);
	if (!fn) {
		fn = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
		__atomic_store_n(&real_syscall, fn, __ATOMIC_RELEASE);
		if (!fn) {
			errno = ENOSYS;
			return -1;
		}
	}
	if (nr == SYS_futex && agent_lock_on())
		return agent_lock_futex(&from, fn, a, b, c, d, e, f);
	if (nr == SYS_seccomp && (a == SECCOMP_SET_MODE_FILTER || a == SECCOMP_SET_MODE_STRICT))
		agent_before_sandbox();
	return fn(nr, a, b, c, d, e, f);
}

EXPORT int prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a = va_arg(ap, unsigned long), b = va_arg(ap, unsigned long);
	unsigned long c = va_arg(ap, unsigned long), d = va_arg(ap, unsigned long);
	va_end(ap);
	prctl_fn fn = __atomic_load_n(&real_prctl, __ATOMIC_ACQUIRE);
	if (!fn) {
		fn = (prctl_fn)dlsym(RTLD_NEXT, "prctl");
		__atomic_store_n(&real_prctl, fn, __ATOMIC_RELEASE);
		if (!fn) {
			errno = ENOSYS;
			return -1;
		}
	}
	if (option == PR_SET_SECCOMP)
		agent_before_sandbox();
	return fn(option, a, b, c, d);
}
