/* top_text.c - kiln top's snapshot as plain text, for a stdout that is no
 * terminal and for --once: the functions, then the threads. */
#include "render/top.h"

static void add_lines(struct strbuf *out, const struct top_lines *l, bool with_title)
{
	for (size_t i = 0; i < l->v.n; i++) {
		const struct top_line *ln = &l->v.v[i];
		if (!with_title && (ln->kind == TOP_LINE_TITLE || ln->kind == TOP_LINE_STATUS))
			continue;
		strbuf_add(out, l->text.buf + ln->off, ln->len);
		strbuf_addch(out, '\n');
	}
}

void render_top_text(struct strbuf *out, const struct top_screen *s, size_t entries)
{
	struct top_lines l = {0};
	top_lines_build(&l, s, TOP_MODE_FUNCTIONS, entries);
	add_lines(out, &l, true);
	strbuf_addch(out, '\n');
	top_lines_build(&l, s, TOP_MODE_THREADS, entries);
	add_lines(out, &l, false);
	top_lines_release(&l);
}
