/* serve_page.h - kiln serve's front page: what is being profiled, the
 * flame graph of the window (the SVG of /flame.svg, kept a separate
 * document so its script runs) and links to the other endpoints. Every
 * string from outside (process names) is escaped for HTML.
 */
#ifndef KILN_RENDER_SERVE_PAGE_H
#define KILN_RENDER_SERVE_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

struct serve_page_process {
	uint32_t pid;
	const char *comm;
	uint64_t samples; /* in the window */
	double cpu_seconds;
	int exited;
};

struct serve_page_info {
	const char *host;
	uint64_t hz;
	unsigned seconds; /* the flame graph's window */
	uint64_t samples; /* in it */
	const struct serve_page_process *procs;
	size_t nprocs;
	uint64_t segments, segment_bytes;
	const char *dir;
};

/* Appends the page to out. */
void serve_page_render(struct strbuf *out, const struct serve_page_info *info);

#endif
