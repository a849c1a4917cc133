/* folded.c - folded stacks out of a flame tree ("a;b;c 123" per line), the
 * format flamegraph.pl, inferno and speedscope read. Kernel frames end in
 * "_[k]", as stackcollapse-perf.pl writes them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "render/flame.h"
#include "util/strbuf.h"

/* Appends a name, keeping the line format intact: ';' separates frames
 * and a line break would end the stack. */
static void add_name(struct strbuf *sb, const char *s)
{
	if (!strpbrk(s, ";\n\r")) { /* the usual case: as it is */
		strbuf_addstr(sb, s);
		return;
	}
	for (; *s; s++) {
		char c = *s;
		if (c == ';')
			c = ':';
		else if (c == '\n' || c == '\r')
			c = ' ';
		strbuf_addch(sb, c);
	}
}

/* Writes the line so far and its count: fwrite, not fprintf, as big trees
 * have millions of lines. */
static void put_line(FILE *out, struct strbuf *line, int64_t v)
{
	size_t len = line->len;
	char buf[24], *e = buf + sizeof(buf), *q = e;
	uint64_t u = (uint64_t)v; /* only positive values are written */
	*--q = '\n';
	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	*--q = ' ';
	strbuf_add(line, q, (size_t)(e - q));
	fwrite(line->buf, 1, line->len, out);
	line->len = len;
	line->buf[len] = '\0';
}

int flame_render_folded(FILE *out, const struct flame_tree *t)
{
	struct strbuf line = STRBUF_INIT;
	VEC(size_t) lens = {0}; /* line length before each depth's name */
	const struct flame_node *nv = t->nodes.v;
	if (nv[0].self > 0)
		fprintf(out, " %" PRId64 "\n", nv[0].self); /* samples with an empty stack */
	/* iterative depth-first walk in child order */
	uint32_t at = nv[0].first_child;
	while (at != FLAME_NONE) {
		const struct flame_node *n = &nv[at];
		uint32_t d = n->depth;
		if (lens.n < d)
			vec_reserve(&lens, d);
		while (lens.n < d)
			vec_push(&lens, 0);
		lens.v[d - 1] = line.len;
		if (d > 1)
			strbuf_addch(&line, ';');
		const char *name = strtab_get(&t->strings, n->name);
		add_name(&line, name);
		/* perf's kernel mark, which flamegraph.pl colours by (a tree
		 * built from folded lines leaves origins undecided, see
		 * flame_tree_origin(), but its kernel frames have the mark) */
		size_t len = strlen(name);
		if (n->origin == FLAME_ORIGIN_KERNEL && (len < 4 || memcmp(name + len - 4, "_[k]", 4)))
			strbuf_addstr(&line, "_[k]");
		if (n->self > 0)
			put_line(out, &line, n->self);
		if (n->first_child != FLAME_NONE) {
			at = n->first_child;
			continue;
		}
		/* up until a node has a next sibling */
		while (at != FLAME_NONE && nv[at].next_sibling == FLAME_NONE) {
			at = nv[at].parent;
			if (at == 0)
				at = FLAME_NONE;
		}
		if (at == FLAME_NONE)
			break;
		line.len = lens.v[nv[at].depth - 1];
		if (line.buf)
			line.buf[line.len] = '\0';
		at = nv[at].next_sibling;
	}
	strbuf_release(&line);
	vec_free(&lens);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}
