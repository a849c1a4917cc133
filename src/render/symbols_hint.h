/* symbols_hint.h - the one sentence that says which modules had no
 * symbols and how to get them, for record's summary and the report header. */
#ifndef KILN_RENDER_SYMBOLS_HINT_H
#define KILN_RENDER_SYMBOLS_HINT_H

#include "profile/profile.h"
#include "util/strbuf.h"

/* Appends the hint (no newline) from the profile's "unsymbolized_modules"
 * and "unsymbolized_packages"; appends nothing when every module had
 * symbols. */
void render_symbols_hint(const struct profile *p, struct strbuf *out);

#endif
