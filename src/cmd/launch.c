/* launch.c - what every command that runs a program says and stamps the
 * same way: why the program could not be run (the shell's 127 and 126),
 * and the metadata of a run that every profile carries. */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "kiln_version.h"
#include "profile/profile.h"

int cmd_exec_error(const char *command, int err, const char *fix)
{
	const char *why = err == -ENOENT   ? "no such file or command"
	                  : err == -EACCES ? "permission denied (not executable, or on a noexec mount)"
	                                   : strerror(-err);
	if (fix)
		kiln_error("cannot run '%s': %s; %s", command, why, fix);
	else if (err == -ENOENT)
		kiln_error("cannot run '%s': %s (check the name and PATH)", command, why);
	else
		kiln_error("cannot run '%s': %s", command, why);
	/* as a shell says it: not found, or found and not executable */
	return err == -ENOENT ? 127 : 126;
}

uint64_t cmd_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void cmd_set_run_meta(struct profile *p, const char *command, uint64_t start_time)
{
	profile_set_meta(p, "command", command);
	profile_set_meta(p, "kiln_version", KILN_VERSION);
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	profile_set_meta(p, "hostname", host);
	struct utsname u;
	if (uname(&u) == 0)
		profile_set_meta(p, "kernel", u.release);
	profile_set_meta_u64(p, "start_time", start_time);
}
