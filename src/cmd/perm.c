/* perm.c - the one message for a refused perf_event_open, shared by
 * record and stat: the rule lives in capture/perm. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "capture/events.h"
#include "capture/perm.h"
#include "cmd/cmd.h"

int cmd_perm_error(const char *verb, pid_t pid, bool kernel)
{
	struct perm_query q = {
	    .paranoid = event_read_sysctl("/proc/sys/kernel/perf_event_paranoid", 2),
	    .own_uid = geteuid(),
	    .target_uid = pid > 0 ? perm_process_uid(pid) : -1,
	    .kernel = kernel,
	};
	long needed = perm_paranoid_needed(&q);
	switch (perm_explain(&q)) {
	case PERM_OTHER_USER:
		kiln_error("not allowed to %s process %d (owned by uid %ld); run as its owner or root (or give kiln "
		           "CAP_SYS_PTRACE and CAP_PERFMON)",
		           verb, (int)pid, q.target_uid);
		break;
	case PERM_PARANOID:
		kiln_error("perf_event_open refused (perf_event_paranoid=%ld; to %s %s needs %ld or lower); run: "
		           "sysctl kernel.perf_event_paranoid=%ld (or give kiln CAP_PERFMON: setcap cap_perfmon+ep "
		           "$(which kiln))",
		           q.paranoid, verb, kernel ? "kernel events" : "a process", needed, needed);
		break;
	case PERM_ELSEWHERE:
		kiln_error("perf_event_open refused%s although perf_event_paranoid=%ld allows it: a seccomp filter "
		           "(as in containers) or a security module forbids it; run outside the container, or allow "
		           "perf_event_open in its seccomp profile",
		           q.own_uid == 0 ? " to root" : "", q.paranoid);
		break;
	}
	return 1;
}

void cmd_perm_fallback_note(int err)
{
	struct perm_query q = {
	    .paranoid = event_read_sysctl("/proc/sys/kernel/perf_event_paranoid", 2),
	    .own_uid = geteuid(),
	    .target_uid = -1,
	};
	if (perm_seccomp_filtered())
		kiln_warn("perf_event_open refused by a seccomp filter (%s, as in containers); sampling CPU time with "
		          "the agent engine instead (no kernel frames, no time spent blocked)",
		          err == -ENOSYS ? "ENOSYS" : strerror(-err));
	else if (err == -ENOSYS)
		kiln_warn("perf_event_open is not available (ENOSYS: a kernel without perf events, or a filter); "
		          "sampling CPU time with the agent engine instead (no kernel frames, no time spent blocked)");
	else if (perm_explain(&q) == PERM_PARANOID)
		kiln_warn(
		    "perf_event_open refused (perf_event_paranoid=%ld and no CAP_PERFMON); sampling CPU time with "
		    "the agent engine instead (no kernel frames, no time spent blocked); for the perf engine run: "
		    "sysctl kernel.perf_event_paranoid=2",
		    q.paranoid);
	else
		kiln_warn("perf_event_open refused (%s: a security module or a missing capability); sampling CPU time "
		          "with the agent engine instead (no kernel frames, no time spent blocked)",
		          strerror(-err));
}
