/* agent_exec_env.h - the agent follows an exec whose new environment
 * left it out: execve(2) with an environment of the program's own making
 * (env -i, a sandbox's clean environment) would start the new image
 * unchecked and unrecorded; the agent puts LD_PRELOAD and kiln's
 * variables back. */
#ifndef KILN_AGENT_AGENT_EXEC_ENV_H
#define KILN_AGENT_AGENT_EXEC_ENV_H

#include <stddef.h>

/* Keeps a copy of LD_PRELOAD and every KILN_* variable of the process's
 * environment at start (before the program changes it). */
void agent_exec_env_save(void);
/* envp itself (*len 0) when it has them all, else a new environment of
 * *len bytes from agent_map() (agent_unmap() it when the exec failed)
 * with envp's other variables, kiln's, and LD_PRELOAD with the agent
 * first. A NULL envp is an empty one. */
char *const *agent_exec_env(char *const *envp, size_t *len);

#endif
