/* agent_env.c - finding libkiln-agent.so and preloading it into the
 * command kiln launches, for every command that uses the agent (heap;
 * record's agent engine). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/channel_format.h"
#include "cmd/cmd.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define AGENT_NAME   "libkiln-agent.so"
#define AGENT_ENV_HZ "KILN_AGENT_HZ" /* agent_cpu.c reads it */

char *cmd_lib_find(const char *env_name, const char *name)
{
	const char *env = getenv(env_name);
	if (env && *env)
		return access(env, R_OK) == 0 ? xstrdup(env) : NULL;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	const char *tries[] = {"/", "/../lib/kiln/", "/../lib64/kiln/"};
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct strbuf p = STRBUF_INIT;
		strbuf_addf(&p, "%s%s%s", exe, tries[i], name);
		char *real = realpath(strbuf_str(&p), NULL);
		strbuf_release(&p);
		if (real && access(real, R_OK) == 0)
			return real;
		free(real);
	}
	return NULL;
}

char *cmd_agent_find(void)
{
	return cmd_lib_find("KILN_AGENT", AGENT_NAME);
}

void cmd_agent_env(const char *agent, const char *dir, const char *mode, uint64_t hz)
{
	const char *old = getenv("LD_PRELOAD");
	struct strbuf pre = STRBUF_INIT;
	strbuf_addstr(&pre, agent);
	if (old && *old)
		strbuf_addf(&pre, ":%s", old);
	setenv("LD_PRELOAD", strbuf_str(&pre), 1);
	strbuf_release(&pre);
	setenv(KH_ENV_DIR, dir, 1);
	char num[32];
	snprintf(num, sizeof(num), "%d", (int)getpid());
	setenv(KH_ENV_KILN_PID, num, 1);
	setenv(KH_ENV_MODE, mode, 1);
	if (hz) {
		snprintf(num, sizeof(num), "%llu", (unsigned long long)hz);
		setenv(AGENT_ENV_HZ, num, 1);
	}
}
