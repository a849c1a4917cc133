/* agent_env.h - the agent's getenv, usable from the process's very first
 * allocation: a program's preinit_array functions run before libc has set
 * up environ, and what they allocate would otherwise find no channel (and
 * the agent would record nothing in the whole process). */
#ifndef KILN_AGENT_AGENT_ENV_H
#define KILN_AGENT_AGENT_ENV_H

/* The value of name in the environment, or NULL. Before libc sets environ
 * it reads the environment the kernel put on the initial stack. */
const char *agent_getenv(const char *name);

#endif
