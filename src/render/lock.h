/* lock.h - the renderers of `kiln lock`: a table for people, JSON for
 * programs, both from one lock_report. They append to a strbuf the
 * caller owns and never print or exit. */
#ifndef KILN_RENDER_LOCK_H
#define KILN_RENDER_LOCK_H

#include <stddef.h>
#include <stdint.h>

#include "analysis/lock.h"
#include "util/strbuf.h"

struct lock_render_info {
	const char *engine;   /* "kernel" or "agent" */
	const char *sees;     /* how the engine sees waits, one phrase */
	const char *blind;    /* what the engine cannot see, one phrase */
	const char *command;  /* the command line, or "pid N" */
	uint64_t duration_ns; /* of the recording */
	size_t threads;
	size_t limit;      /* rows per section; 0: all */
	uint64_t unpaired; /* futex calls missing an entry or exit */
	uint64_t lost;     /* events the kernel dropped */
};

void render_lock_text(struct strbuf *out, const struct lock_report *r, const struct lock_render_info *info);
void render_lock_json(struct strbuf *out, const struct lock_report *r, const struct lock_render_info *info);

#endif
