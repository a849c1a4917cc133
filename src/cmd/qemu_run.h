/* qemu_run.h - what kiln count and kiln cache share: running a command
 * under qemu-user with libkiln-qemu.so, reading every process's counts
 * into one profile, symbolizing it and writing it out (a .kiln profile,
 * or callgrind's format for a name ending in .callgrind).
 */
#ifndef KILN_CMD_QEMU_RUN_H
#define KILN_CMD_QEMU_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/qemu_count.h"

struct profile;
struct symbolizer;

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
	struct symbolizer *sym;             /* what named p's addresses, its modules still open */
	uint64_t totals[QEMU_COUNT_EVENTS]; /* summed over every process */
	unsigned geometry[9];
	int exit_code;
	unsigned processes;
};

/* The options kiln count and kiln cache share, for their getopt_long
 * tables and short option string; a command numbers its own long-only
 * options from QEMU_OPT_OWN. */
enum { QEMU_OPT_FORCE = 256, QEMU_OPT_OWN };
#define QEMU_RUN_SHORT_OPTIONS "+:o:n:qh"
#define QEMU_RUN_LONG_OPTIONS                                                                                          \
	{"output", required_argument, NULL, 'o'}, {"force", no_argument, NULL, QEMU_OPT_FORCE},                        \
	    {"top", required_argument, NULL, 'n'}, {"quiet", no_argument, NULL, 'q'},                                  \
	    {"help", no_argument, NULL, 'h'},

/* Takes getopt's c (with optarg) when it is a shared option: returns 1
 * when it was (a or *top set), 0 when it is the command's own, or the
 * exit status 2 after saying what is wrong with its argument. */
int cmd_qemu_option(struct qemu_run_args *a, int c, uint64_t *top);

/* v with thousands separators ("1,234,567"), right-aligned in width
 * columns (0: as long as it is), as cachegrind prints counts. */
void cmd_qemu_put_count(FILE *f, int width, uint64_t v);

/* Runs the command and writes the profile; says what went wrong and
 * returns the exit status, or -1 after success with r filled (the caller
 * gives r to cmd_qemu_leave()), having said how many processes went into
 * which file unless quiet. */
int cmd_qemu_run(const struct qemu_run_args *a, struct qemu_run_result *r);

/* Leaves r's profile and symbolizer to the process's exit, which the
 * caller is about to return to: freeing them (the symbolizer's libdw
 * state and mapped debug files, the profile's tables) cost kiln count
 * about 2% of its own CPU, the kernel takes the pages back anyway. They
 * stay reachable from here, so leak checkers see no leak. Returns r's
 * exit status, the caller's to return. */
int cmd_qemu_leave(struct qemu_run_result *r);

#endif
