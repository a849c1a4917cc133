/* memcheck_profile.h - a memcheck report kept in a profile, so that
 * `kiln report FILE` shows again what `kiln memcheck -o FILE` found
 * (docs/file-format.md, "Memcheck profiles"): every stack is in the trie
 * with its frames, each error and loss record is a sample (for the views
 * every profile has) and a metadata entry with the facts the sample
 * cannot hold. */
#ifndef KILN_ANALYSIS_MEMCHECK_PROFILE_H
#define KILN_ANALYSIS_MEMCHECK_PROFILE_H

#include <stdbool.h>

#include "analysis/memcheck_report.h"
#include "profile/profile.h"

/* Whether p is a memcheck profile (metadata event=memcheck). */
bool mc_profile_is(const struct profile *p);
/* Writes r (finished) into p, a new profile: its value types, stacks,
 * samples and metadata. */
void mc_report_to_profile(const struct mc_report *r, struct profile *p);
/* Builds the report a memcheck profile holds: 0, or -EINVAL when p is not
 * one or its memcheck entries are malformed (a file is untrusted). *out
 * is the caller's (mc_report_free). */
int mc_report_from_profile(const struct profile *p, struct mc_report **out);

#endif
