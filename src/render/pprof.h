/* pprof.h - a profile as pprof's profile.proto (github.com/google/pprof,
 * proto/profile.proto), the format go tool pprof, Parca, Pyroscope and
 * Grafana read.
 *
 * What is written: every value type as a sample_type (a profile without
 * value types gets "samples"/"count", one per sample); one Sample per
 * distinct (stack, thread), its location ids leaf first, labelled with
 * the thread's name ("thread"), "thread_id" and "pid" where known; one
 * Location per location, its Lines innermost (most inlined) first; one
 * Function per distinct (name, file); the Mappings; time_nanos and
 * duration_nanos from the run's start_time and duration_ns; period_type
 * and period from its sampling frequency or period; default_sample_type
 * the value kiln report shows first (hotspots_value_index()); the command as a comment.
 */
#ifndef KILN_RENDER_PPROF_H
#define KILN_RENDER_PPROF_H

#include "profile/profile.h"

struct strbuf;

/* Appends p as an uncompressed profile.proto message to out. */
void pprof_encode(const struct profile *p, struct strbuf *out);
/* Appends p gzip-compressed (a .pb.gz file, what /debug/pprof/profile
 * serves) to out. Returns 0, or -ENOMEM when zlib fails. */
int pprof_write(const struct profile *p, struct strbuf *out);

#endif
