/* agent_sandbox.h - noticing that the host sandboxes itself: the agent
 * interposes prctl(PR_SET_SECCOMP) and syscall(SYS_seccomp) (what
 * libseccomp and hand-written filters call) and prepares, before the
 * filter goes in, what it could not do under it (agent_pool.h). */
#ifndef KILN_AGENT_AGENT_SANDBOX_H
#define KILN_AGENT_AGENT_SANDBOX_H

#include <stdbool.h>

/* Called (by agent_sandbox.c) just before the host asks for a seccomp
 * filter or strict mode, whether or not the kernel then grants it. */
void agent_before_sandbox(void);

/* True once the host asked for a sandbox: from then on the agent opens no
 * file and makes no system call of a new kind, in this process and its
 * fork children. */
bool agent_sandboxed(void);

#endif
