/* signals.c - how the commands that run until told stop are told: Ctrl-C,
 * kill and a closed terminal call the command's handler, a closed pipe is
 * an error from write() instead of a death. */
#include <signal.h>
#include <string.h>

#include "cmd/cmd.h"

void cmd_catch_stop_signals(void (*handler)(int))
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler; /* no SA_RESTART: a blocking read returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
