/* perm.c - the reason behind a refused perf_event_open (perm.h). */
#include "capture/perm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

long perm_paranoid_needed(const struct perm_query *q)
{
	if (q->raw)
		return -1;
	if (q->cpu_wide)
		return 0;
	if (q->kernel)
		return 1;
	return 2;
}

enum perm_cause perm_explain(const struct perm_query *q)
{
	if (q->own_uid == 0)
		return PERM_ELSEWHERE; /* root passes both checks below */
	if (q->target_uid >= 0 && (uid_t)q->target_uid != q->own_uid)
		return PERM_OTHER_USER;
	if (q->paranoid > perm_paranoid_needed(q))
		return PERM_PARANOID;
	return PERM_ELSEWHERE;
}

long perm_process_uid(pid_t pid)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	if (stat(path, &st))
		return -1;
	return (long)st.st_uid;
}

bool perm_seccomp_filtered(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return false;
	char line[256];
	bool filtered = false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Seccomp:", 8)) {
			filtered = atoi(line + 8) == 2; /* SECCOMP_MODE_FILTER */
			break;
		}
	fclose(f);
	return filtered;
}
