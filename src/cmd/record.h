/* record.h - the recording path of `kiln record`, shared with the one-shot
 * `kiln flame [record options] -- CMD` so both record the same way. */
#ifndef KILN_CMD_RECORD_H
#define KILN_CMD_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/recorder.h"

#define RECORD_MIN_STACK_SIZE 64u /* --call-graph dwarf,SIZE: fewer bytes reach no caller */

struct record_args {
	const char *output;
	bool force; /* -f: replace an output that is not a kiln profile */
	const char *event;
	uint64_t freq, count;
	enum call_graph_mode call_graph;
	uint32_t stack_size;
	bool inherit, kernel, quiet;
	pid_t pid;
	double duration;
	const char *debug_dirs; /* --debug-dir, colon-joined; NULL for the default places */
	char **argv;
};

/* Fills a with kiln record's defaults (output "profile.kiln"). */
void record_args_init(struct record_args *a);

/* Parses `kiln record` options (argv[0] is the command name). Returns -1
 * when recording should go ahead, else the exit status (0 after --help,
 * 2 after a usage error, which it has printed). */
int record_parse_args(int argc, char **argv, struct record_args *a);

/* Parses --call-graph's value: fp, dwarf or dwarf,SIZE with SIZE a multiple
 * of 8 from RECORD_MIN_STACK_SIZE to RECORDER_MAX_STACK_SIZE (as perf).
 * Returns 0 (setting *mode and, for dwarf, *stack_size) or -1. */
int record_parse_call_graph(const char *s, enum call_graph_mode *mode, uint32_t *stack_size);
/* Says what --call-graph takes, having got value. */
void record_call_graph_error(const char *value);

/* Installs the signal handlers, records into a->output and symbolizes.
 * Returns the exit status: the command's, 1 when recording failed (2 for
 * an unknown event), 127/126 when the command could not be run. *wrote
 * (may be NULL) says whether this run left a profile at a->output; when
 * not, a file that was there before is still there, unchanged. */
int record_run(const struct record_args *a, bool *wrote);

#endif
