/* run_cmd.h - the unit tests' one way to build a fixture with the shell:
 * run(fmt, ...) formats a command, runs it with system() and returns its
 * exit status (-1 when it did not exit). */
#ifndef KILN_TESTS_RUN_CMD_H
#define KILN_TESTS_RUN_CMD_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static int run(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

#endif
