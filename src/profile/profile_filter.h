/* profile_filter.h - the samples of some processes, threads or commands:
 * the --pid, --tid and --comm filters `kiln report`, `kiln flame` and
 * `kiln annotate` share (comma lists, as perf's), and the split of a
 * profile by command for `kiln report --processes`.
 *
 * A sample's command is its process's name: the name of the thread whose
 * tid is the sample's pid (what the program exec'd), else the sample's own
 * thread's name. --comm NAME keeps a sample whose command or whose own
 * thread's name is NAME, so it picks a program (cc1, as) or a named thread.
 * Kinds combine with AND (--comm x --tid 5: thread 5 if it is x's), the
 * entries of one list with OR.
 */
#ifndef KILN_PROFILE_PROFILE_FILTER_H
#define KILN_PROFILE_PROFILE_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"
#include "util/strbuf.h"
#include "util/vec.h"

struct profile_filter {
	VEC(uint32_t) pids;
	VEC(uint32_t) tids;
	VEC(char *) comms; /* owned copies */
};

void profile_filter_init(struct profile_filter *f);
void profile_filter_release(struct profile_filter *f);
/* True when any list is non-empty. */
bool profile_filter_active(const struct profile_filter *f);

/* Add the entries of a comma-separated list ("12,34"; names for comms).
 * Return 0, or -EINVAL (nothing added) for an empty entry or a number that
 * is not a whole decimal below 2^32. */
int profile_filter_add_pids(struct profile_filter *f, const char *list);
int profile_filter_add_tids(struct profile_filter *f, const char *list);
int profile_filter_add_comms(struct profile_filter *f, const char *list);

/* The string id of the command of sample s (see above); 0 when unknown. */
uint32_t profile_sample_command(const struct profile *p, const struct profile_sample *s);
/* Whether f keeps sample s of p. */
bool profile_filter_match(const struct profile *p, const struct profile_filter *f, const struct profile_sample *s);
/* Drops the samples f does not keep (the rest of the profile stays, so
 * names and threads still resolve) and returns how many are left. */
size_t profile_filter_apply(struct profile *p, const struct profile_filter *f);
/* Describes f for a report header: "comm cc1, pid 12,13" (appended to sb). */
void profile_filter_describe(const struct profile_filter *f, struct strbuf *sb);

/* One command of a profile and the processes that ran it. */
struct profile_command {
	uint32_t name;      /* string id; 0 for samples of no known command */
	VEC(uint32_t) pids; /* ascending */
	uint64_t samples;
};

struct profile_commands {
	VEC(struct profile_command) v; /* most samples first, then by name */
};

/* Drops every sample whose command is not the string id command (one
 * entry of profile_commands_build()); returns how many are left. */
size_t profile_keep_command(struct profile *p, uint32_t command);

/* Splits p's samples by command (*out is overwritten; release it with
 * profile_commands_release()). */
void profile_commands_build(const struct profile *p, struct profile_commands *out);
void profile_commands_release(struct profile_commands *c);

#endif
