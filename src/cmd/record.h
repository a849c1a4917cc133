/* record.h - the recording path of `kiln record`, shared with the one-shot
 * `kiln flame [record options] -- CMD` so both record the same way. */
#ifndef KILN_CMD_RECORD_H
#define KILN_CMD_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/recorder.h"

struct record_args {
	const char *output;
	const char *event;
	uint64_t freq, count;
	enum call_graph_mode call_graph;
	uint32_t stack_size;
	bool inherit, kernel, quiet;
	pid_t pid;
	double duration;
	char **argv;
};

/* Fills a with kiln record's defaults (output "profile.kiln"). */
void record_args_init(struct record_args *a);

/* Parses `kiln record` options (argv[0] is the command name). Returns -1
 * when recording should go ahead, else the exit status (0 after --help,
 * 2 after a usage error, which it has printed). */
int record_parse_args(int argc, char **argv, struct record_args *a);

/* Installs the signal handlers, records into a->output and symbolizes.
 * Returns the exit status: the command's, or 1 when recording failed. */
int record_run(const struct record_args *a);

#endif
