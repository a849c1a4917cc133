/* agent_env.c - the environment before libc's own initialisation
 * (agent_env.h). */
#include "agent/agent_env.h"

#include <stddef.h>

extern char **environ;
/* Set by the dynamic loader before any code of the program runs: the
 * initial stack pointer, where the kernel put argc, then argv and its
 * NULL, then the environment and its NULL (the ELF ABI's process stack). */
extern void *__libc_stack_end;

static char **initial_env(void)
{
	const long *sp = __libc_stack_end;
	if (!sp || sp[0] < 0)
		return NULL;
	return (char **)(sp + 1 + sp[0] + 1);
}

const char *agent_getenv(const char *name)
{
	char **env = environ ? environ : initial_env();
	if (!env)
		return NULL;
	size_t n = 0;
	while (name[n])
		n++;
	for (; *env; env++) {
		const char *e = *env;
		size_t i = 0;
		while (i < n && e[i] == name[i])
			i++;
		if (i == n && e[n] == '=')
			return e + n + 1;
	}
	return NULL;
}
