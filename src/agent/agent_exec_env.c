/* agent_exec_env.c - kiln's variables put back into an exec's environment
 * (agent_exec_env.h). No malloc: a static copy, and mmap for the new
 * environment. */
#include "agent/agent_exec_env.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "agent/agent_mode.h"

#define SAVED_BYTES 16384
#define SAVED_MAX   64

extern char **environ;

static char saved[SAVED_BYTES];
static const char *saved_var[SAVED_MAX]; /* "NAME=value" in saved */
static int n_saved;
static const char *preload; /* LD_PRELOAD's value in saved, or NULL */

static size_t name_len(const char *e)
{
	const char *eq = strchr(e, '=');
	return eq ? (size_t)(eq - e) : strlen(e);
}

void agent_exec_env_save(void)
{
	char **env = environ;
	size_t used = 0;
	if (!env || n_saved)
		return;
	for (; *env && n_saved < SAVED_MAX; env++) {
		const char *e = *env;
		bool ours = !strncmp(e, "KILN_", 5);
		bool pre = !strncmp(e, "LD_PRELOAD=", 11);
		size_t len = strlen(e) + 1;
		if ((!ours && !pre) || used + len > sizeof(saved))
			continue;
		memcpy(saved + used, e, len);
		if (pre)
			preload = saved + used + 11;
		saved_var[n_saved++] = saved + used;
		used += len;
	}
}

/* The agent's own path: LD_PRELOAD's first entry as kiln set it. */
static size_t agent_path_len(void)
{
	size_t n = 0;
	while (preload[n] && preload[n] != ':' && preload[n] != ' ')
		n++;
	return n;
}

static const char *find(char *const *envp, const char *var, size_t n)
{
	for (; envp && *envp; envp++)
		if (!strncmp(*envp, var, n) && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/* Whether envp's LD_PRELOAD (v) names the agent. */
static bool has_agent(const char *v, const char *path, size_t n)
{
	for (const char *p = v; p && *p;) {
		if (!strncmp(p, path, n) && (p[n] == 0 || p[n] == ':' || p[n] == ' '))
			return true;
		p = strpbrk(p, ": ");
		if (p)
			p++;
	}
	return false;
}

char *const *agent_exec_env(char *const *envp, size_t *len)
{
	*len = 0;
	if (!preload || !n_saved)
		return envp;
	size_t plen = agent_path_len();
	const char *their_pre = find(envp, "LD_PRELOAD", 10);
	bool complete = has_agent(their_pre, preload, plen);
	for (int i = 0; complete && i < n_saved; i++)
		if (!find(envp, saved_var[i], name_len(saved_var[i])))
			complete = false;
	if (complete)
		return envp;
	size_t count = 0, bytes = 0;
	for (char *const *e = envp; e && *e; e++)
		count++;
	/* LD_PRELOAD=agent:theirs */
	bytes = 11 + plen + 1 + (their_pre ? strlen(their_pre) : 0) + 1;
	size_t total = (count + (size_t)n_saved + 1) * sizeof(char *) + bytes;
	char **out = agent_map(total);
	if (!out)
		return envp;
	*len = total;
	char *text = (char *)(out + count + (size_t)n_saved + 1);
	size_t k = 0;
	memcpy(text, "LD_PRELOAD=", 11);
	memcpy(text + 11, preload, plen);
	size_t t = 11 + plen;
	if (their_pre && *their_pre) {
		text[t++] = ':';
		memcpy(text + t, their_pre, strlen(their_pre));
		t += strlen(their_pre);
	}
	text[t] = 0;
	out[k++] = text;
	for (int i = 0; i < n_saved; i++)
		if (strncmp(saved_var[i], "LD_PRELOAD=", 11) != 0)
			out[k++] = (char *)saved_var[i];
	for (char *const *e = envp; e && *e; e++) {
		/* theirs, but for what was put first */
		bool replaced = !strncmp(*e, "LD_PRELOAD=", 11);
		for (int i = 0; !replaced && i < n_saved; i++) {
			size_t n = name_len(saved_var[i]);
			replaced = !strncmp(*e, saved_var[i], n) && (*e)[n] == '=';
		}
		if (!replaced)
			out[k++] = *e;
	}
	out[k] = NULL;
	return out;
}
