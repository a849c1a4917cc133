/* mc_suppress.h - kiln memcheck's suppression files: which errors and
 * leaks not to report, by kind and stack frames with wildcards. The
 * format (docs/man/kiln-memcheck.1) is valgrind's, read with kiln's kind
 * names besides valgrind's Memcheck ones:
 *
 *     # a comment
 *     {
 *        a name
 *        kiln:leak                      (or Memcheck:Leak, kiln:heap-overflow, ...)
 *        match-leak-kinds: definite     (leaks only; optional)
 *        fun:make_*                     (function, demangled; * and ? wildcards)
 *        src:parser.c:4?                (file basename:line)
 *        obj:*libfoo.so*                (the module's path)
 *        ...                            (any number of frames)
 *     }
 *
 * Frames match the stack from its innermost frame (for an error the
 * access or free stack, for a leak the allocation stack); frames past the
 * last line are not looked at.
 */
#ifndef KILN_ANALYSIS_MC_SUPPRESS_H
#define KILN_ANALYSIS_MC_SUPPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/memcheck_report.h"
#include "util/strbuf.h"

struct mc_suppressions;

/* Parses text[0, len) and appends its suppressions to *s (made when
 * NULL). Returns 0, or -EINVAL with *line the 1-based line at fault and
 * *why what is wrong there (a static string). */
int mc_suppressions_parse(struct mc_suppressions **s, const char *text, size_t len, unsigned *line, const char **why);
/* Accepts NULL. */
void mc_suppressions_free(struct mc_suppressions *s);
/* How many were read. */
size_t mc_suppressions_count(const struct mc_suppressions *s);
/* The name of the first suppression that matches an error of kind
 * (enum mc_kind) or, kind 0, a leak of class cls, with stack st; NULL when
 * none does (or s is NULL). The name lives as long as s. */
const char *mc_suppressions_match(const struct mc_suppressions *s, uint32_t kind, uint8_t cls,
                                  const struct mc_stack *st);
/* Appends a suppression that matches exactly this error or leak (every
 * frame by function, or by module where the function is unknown). */
void mc_suppression_format(struct strbuf *out, uint32_t kind, uint8_t cls, const struct mc_stack *st);

#endif
