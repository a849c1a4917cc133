/* qemu_run.h - what kiln count and kiln cache share: running a command
 * under qemu-user with libkiln-qemu.so, reading every process's counts
 * into one profile, symbolizing it and writing it out (a .kiln profile,
 * or callgrind's format for a name ending in .callgrind).
 */
#ifndef KILN_CMD_QEMU_RUN_H
#define KILN_CMD_QEMU_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/qemu_count.h"

struct profile;

struct qemu_run_args {
	char **argv; /* the command */
	const char *output;
	const char *verb; /* "count" or "cache": messages and the profile's event */
	bool force, quiet;
	bool cache;
	/* "SIZE,ASSOC,LINE" or NULL for the host's geometry */
	const char *i1, *d1, *ll;
};

struct qemu_run_result {
	struct profile *p;
	uint64_t totals[QEMU_COUNT_EVENTS]; /* summed over every process */
	unsigned geometry[9];
	int exit_code;
	unsigned processes;
};

/* Runs the command and writes the profile; says what went wrong and
 * returns the exit status, or -1 after success with r filled (the caller
 * frees r->p). */
int cmd_qemu_run(const struct qemu_run_args *a, struct qemu_run_result *r);

#endif
