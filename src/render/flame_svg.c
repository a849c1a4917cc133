/* flame_svg.c - a flame tree as one self-contained, interactive SVG.
 *
 * Size matters (flame graphs of big profiles are shared and opened in
 * browsers): each frame is one <g> with a <rect> and, when it fits, a
 * truncated <text>; coordinates have at most one decimal; frames narrower
 * than min_width are merged into one "[N small frames]" frame per run of
 * siblings. Names, files and values are stored once, as JSON after the
 * frames, and the script builds tooltips, zoom and search from them.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/flame.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define XPAD      10
#define FRAME_H   16
#define CHAR_W    7.3 /* 12px monospace advance, rounded up so text never overflows */
#define MERGED    99  /* origin code of a merged run of narrow frames */
#define DIFF_NONE 0

int flame_palette_parse(const char *name)
{
	static const char *const names[] = {"lang", "hot", "mem", "io"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

/* Decodes one UTF-8 code point; returns its length, or 0 when the bytes
 * are not valid UTF-8 (or a code point XML does not allow). */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t n;
	if (c < 0x80) {
		*cp = c;
		return c >= 0x20 || c == '\t' ? 1 : 0; /* control characters are not XML */
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) || (c >= 0xd800 && c <= 0xdfff) ||
	    c == 0xfffe || c == 0xffff)
		return 0;
	*cp = c;
	return n;
}

/* Appends s escaped as XML character data or attribute value, at most
 * max_chars code points (then "…"); invalid bytes become U+FFFD. */
static void add_xml(struct strbuf *sb, const char *s, size_t max_chars)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t chars = 0, total = 0;
	for (const unsigned char *q = u; *q; total++) {
		uint32_t cp;
		size_t n = utf8_next(q, &cp);
		q += n ? n : 1;
	}
	bool cut = total > max_chars;
	size_t keep = cut ? (max_chars ? max_chars - 1 : 0) : total;
	while (*u && chars < keep) {
		uint32_t cp;
		size_t n = utf8_next(u, &cp);
		if (!n) {
			strbuf_addstr(sb, "\xef\xbf\xbd");
			u++;
		} else {
			switch (cp) {
			case '&':
				strbuf_addstr(sb, "&amp;");
				break;
			case '<':
				strbuf_addstr(sb, "&lt;");
				break;
			case '>':
				strbuf_addstr(sb, "&gt;");
				break;
			case '"':
				strbuf_addstr(sb, "&quot;");
				break;
			case '\'':
				strbuf_addstr(sb, "&#39;");
				break;
			default:
				strbuf_add(sb, u, n);
			}
			u += n;
		}
		chars++;
	}
	if (cut && max_chars)
		strbuf_addstr(sb, "\xe2\x80\xa6");
}

/* Appends s as a JSON string that is also safe inside a CDATA section and
 * an HTML script: <, >, & and line separators are \u escapes. */
static void add_json(struct strbuf *sb, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	strbuf_addch(sb, '"');
	while (*u) {
		uint32_t cp;
		size_t n = utf8_next(u, &cp);
		if (!n) {
			strbuf_addstr(sb, "\\ufffd");
			u++;
			continue;
		}
		if (cp == '"' || cp == '\\') {
			strbuf_addch(sb, '\\');
			strbuf_addch(sb, (char)cp);
		} else if (cp < 0x20 || cp == '<' || cp == '>' || cp == '&' || cp == 0x2028 || cp == 0x2029) {
			strbuf_addf(sb, "\\u%04x", cp);
		} else {
			strbuf_add(sb, u, n);
		}
		u += n;
	}
	strbuf_addch(sb, '"');
}

/* Adds v in decimal: written by hand because a big graph has hundreds of
 * thousands of numbers, and printf's parsing of its format dominated. */
static void add_i64(struct strbuf *sb, int64_t v)
{
	char buf[24], *e = buf + sizeof(buf), *q = e;
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	do {
		*--q = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--q = '-';
	strbuf_add(sb, q, (size_t)(e - q));
}

/* Adds "12.3" or "12" (one decimal at most, no trailing ".0"). */
static void add_num(struct strbuf *sb, double v)
{
	long long t = llround(v * 10);
	if (t < 0) {
		strbuf_addch(sb, '-');
		t = -t;
	}
	add_i64(sb, t / 10);
	if (t % 10) {
		strbuf_addch(sb, '.');
		strbuf_addch(sb, (char)('0' + t % 10));
	}
}

/* Adds c as two lower-case hex digits. */
static void add_hex2(struct strbuf *sb, int c)
{
	static const char hex[] = "0123456789abcdef";
	strbuf_addch(sb, hex[(c >> 4) & 15]);
	strbuf_addch(sb, hex[c & 15]);
}

static uint32_t fnv(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct rgb {
	int r, g, b;
};

/* A stable colour per name: the same function is the same colour in every
 * graph, so two graphs can be compared at a glance. */
static struct rgb palette_color(enum flame_palette pal, int origin, const char *name)
{
	uint32_t h = fnv(name);
	double v1 = (h & 0xff) / 255.0, v2 = ((h >> 8) & 0xff) / 255.0, v3 = ((h >> 16) & 0xff) / 255.0;
	struct rgb c;
	if (origin == MERGED)
		return (struct rgb){200, 200, 200};
	if (origin == FLAME_ORIGIN_THREAD)
		return (struct rgb){(int)(190 + 30 * v1), (int)(170 + 30 * v1), (int)(225 + 25 * v2)};
	switch (pal) {
	case FLAME_PALETTE_HOT:
		c = (struct rgb){(int)(205 + 50 * v3), (int)(230 * v1), (int)(55 * v2)};
		break;
	case FLAME_PALETTE_MEM:
		c = (struct rgb){0, (int)(190 + 50 * v2), (int)(210 * v1)};
		break;
	case FLAME_PALETTE_IO:
		c = (struct rgb){(int)(80 + 60 * v1), (int)(80 + 60 * v1), (int)(190 + 55 * v2)};
		break;
	default:
		switch (origin) {
		case FLAME_ORIGIN_RUST: /* the user's own code: warm orange */
			c = (struct rgb){(int)(235 + 20 * v1), (int)(110 + 60 * v2), (int)(30 + 40 * v3)};
			break;
		case FLAME_ORIGIN_RUST_STD: /* std/core/alloc: pale yellow */
			c = (struct rgb){(int)(215 + 30 * v1), (int)(200 + 35 * v2), (int)(90 + 50 * v3)};
			break;
		case FLAME_ORIGIN_C: /* C and C++: green */
			c = (struct rgb){(int)(90 + 60 * v1), (int)(185 + 45 * v2), (int)(90 + 50 * v3)};
			break;
		case FLAME_ORIGIN_KERNEL: /* kernel: blue */
			c = (struct rgb){(int)(110 + 50 * v1), (int)(150 + 50 * v2), (int)(225 + 30 * v3)};
			break;
		default: /* unknown: grey */
			c = (struct rgb){(int)(170 + 30 * v1), (int)(170 + 30 * v1), (int)(170 + 30 * v1)};
		}
	}
	return c;
}

/* Red for a frame whose share grew, blue for one that shrank, paler the
 * smaller the change relative to the largest one. */
static struct rgb diff_color(double delta, double max_delta)
{
	double i = max_delta > 0 ? fabs(delta) / max_delta : 0;
	if (i > 1)
		i = 1;
	int fade = (int)lround(235 - 190 * i);
	if (delta > 0)
		return (struct rgb){255, fade, fade};
	if (delta < 0)
		return (struct rgb){fade, fade, 255};
	return (struct rgb){235, 235, 235};
}

/* Working state of one flame_render_svg(). */
struct svg {
	const struct flame_tree *t;
	const struct flame_svg_options *o;
	FILE *out;
	struct strbuf sb;    /* the frame being written */
	struct strbuf data;  /* F: the frames' data, JSON numbers */
	struct strbuf strs;  /* S: the strings, JSON */
	uint32_t *str_index; /* tree string id -> index in S, or FLAME_NONE */
	uint32_t nstrs;
	struct strtab extra;   /* names made here ("[3 small frames]") */
	uint32_t *extra_index; /* extra id -> index in S */
	size_t extra_cap;
	double scale; /* px per value unit */
	unsigned width, height, pad_top, pad_bottom, max_depth;
	double max_delta;
	uint64_t frames;
};

static uint32_t str_ref(struct svg *s, uint32_t id)
{
	if (s->str_index[id] == FLAME_NONE) {
		if (s->nstrs)
			strbuf_addch(&s->strs, ',');
		add_json(&s->strs, strtab_get(&s->t->strings, id));
		s->str_index[id] = s->nstrs++;
	}
	return s->str_index[id];
}

static uint32_t extra_ref(struct svg *s, const char *name)
{
	uint32_t id = strtab_intern(&s->extra, name);
	if (id >= s->extra_cap) {
		size_t cap = s->extra_cap ? s->extra_cap * 2 : 16;
		while (cap <= id)
			cap *= 2;
		s->extra_index = xreallocarray(s->extra_index, cap, sizeof(*s->extra_index));
		memset(s->extra_index + s->extra_cap, 0xff, (cap - s->extra_cap) * sizeof(*s->extra_index));
		s->extra_cap = cap;
	}
	if (s->extra_index[id] == FLAME_NONE) {
		if (s->nstrs)
			strbuf_addch(&s->strs, ',');
		add_json(&s->strs, name);
		s->extra_index[id] = s->nstrs++;
	}
	return s->extra_index[id];
}

static double y_of(const struct svg *s, uint32_t depth)
{
	if (s->o->icicle)
		return s->pad_top + (double)depth * FRAME_H;
	return s->height - s->pad_bottom - (double)(depth + 1) * FRAME_H;
}

static double share_delta(const struct svg *s, const struct flame_node *n)
{
	const struct flame_tree *t = s->t;
	double total = (double)t->nodes.v[0].value, base = (double)t->base_total;
	double now = total > 0 ? n->value / total : 0;
	double before = base > 0 ? flame_tree_base(t, (uint32_t)(n - t->nodes.v)) / base : 0;
	return now - before;
}

/* Writes one frame: its shapes to the file, its numbers to s->data. */
static void emit_frame(struct svg *s, uint32_t name_ref, const char *name, uint32_t depth, int64_t start, int64_t value,
                       const struct flame_node *n, int origin)
{
	double x = XPAD + start * s->scale, w = value * s->scale;
	double y = y_of(s, depth);
	struct rgb c;
	if (s->t->has_base && origin != MERGED)
		c = diff_color(share_delta(s, n), s->max_delta);
	else
		c = palette_color(s->o->palette, origin, name);
	struct strbuf *sb = &s->sb;
	strbuf_reset(sb);
	strbuf_addstr(sb, "<g><rect x=\"");
	add_num(sb, x);
	strbuf_addstr(sb, "\" y=\"");
	add_num(sb, y);
	strbuf_addstr(sb, "\" width=\"");
	add_num(sb, w);
	strbuf_addstr(sb, "\" height=\"");
	add_i64(sb, FRAME_H - 1);
	strbuf_addstr(sb, "\" fill=\"#");
	add_hex2(sb, c.r);
	add_hex2(sb, c.g);
	add_hex2(sb, c.b);
	strbuf_addstr(sb, "\"/>");
	double fit = (w - 6) / CHAR_W;
	if (fit >= 2) {
		strbuf_addstr(sb, "<text x=\"");
		add_num(sb, x + 3);
		strbuf_addstr(sb, "\" y=\"");
		add_num(sb, y + 11.5);
		strbuf_addstr(sb, "\">");
		add_xml(sb, name, (size_t)fit);
		strbuf_addstr(sb, "</text>");
	}
	strbuf_addstr(sb, "</g>\n");
	fwrite(sb->buf, 1, sb->len, s->out);

	/* F: name, depth, start, value, self, module, file, line, origin[, base] */
	struct strbuf *d = &s->data;
	if (s->frames)
		strbuf_addch(d, ',');
	uint32_t id = n ? (uint32_t)(n - s->t->nodes.v) : FLAME_NONE;
	struct flame_src src = flame_tree_src(s->t, id);
	uint32_t module = n ? str_ref(s, src.module) : 0, file = n ? str_ref(s, src.file) : 0;
	int64_t fields[10] = {name_ref, depth, start,    value,  n ? n->self : value,
	                      module,   file,  src.line, origin, flame_tree_base(s->t, id)};
	for (int i = 0; i < (s->t->has_base ? 10 : 9); i++) {
		if (i)
			strbuf_addch(d, ',');
		add_i64(d, fields[i]);
	}
	s->frames++;
}

struct pending {
	uint32_t node;
	int64_t start;
};

/* Emits a run of narrow siblings as one merged frame when it is wide enough. */
static void flush_run(struct svg *s, uint32_t count, int64_t start, int64_t value, uint32_t depth)
{
	if (count < 2 || value * s->scale < s->o->min_width)
		return;
	char buf[64];
	snprintf(buf, sizeof(buf), "[%u small frames]", count);
	emit_frame(s, extra_ref(s, buf), buf, depth, start, value, NULL, MERGED);
}

static void emit_all(struct svg *s)
{
	const struct flame_tree *t = s->t;
	const struct flame_node *nv = t->nodes.v;
	VEC(struct pending) stack = {0};
	struct pending root = {0, 0};
	vec_push(&stack, root);
	while (stack.n) {
		struct pending cur = stack.v[--stack.n];
		const struct flame_node *n = &nv[cur.node];
		emit_frame(s, str_ref(s, n->name), strtab_get(&t->strings, n->name), n->depth, cur.start, n->value, n,
		           n->origin);
		int64_t off = cur.start, run_start = 0, run_value = 0;
		uint32_t run = 0;
		for (uint32_t c = n->first_child; c != FLAME_NONE; c = nv[c].next_sibling) {
			if (nv[c].value <= 0)
				continue;
			if (nv[c].value * s->scale >= s->o->min_width) {
				flush_run(s, run, run_start, run_value, n->depth + 1);
				run = 0;
				struct pending p = {c, off};
				vec_push(&stack, p);
			} else {
				if (!run) {
					run_start = off;
					run_value = 0;
				}
				run++;
				run_value += nv[c].value;
			}
			off += nv[c].value;
		}
		flush_run(s, run, run_start, run_value, n->depth + 1);
	}
	vec_free(&stack);
}

/* Sizes the picture: the deepest frame that will be drawn, the largest
 * share change of a differential graph. Only the children of frames wide
 * enough to be drawn are visited: of a tree of millions of nodes, few. */
static void measure(struct svg *s)
{
	const struct flame_tree *t = s->t;
	const struct flame_node *nv = t->nodes.v;
	VEC(uint32_t) shown = {0};
	s->max_depth = 0;
	s->max_delta = 0;
	vec_push(&shown, 0);
	while (shown.n) {
		uint32_t p = shown.v[--shown.n];
		for (uint32_t c = nv[p].first_child; c != FLAME_NONE; c = nv[c].next_sibling) {
			const struct flame_node *nd = &nv[c];
			if (nd->value <= 0)
				continue;
			if (nd->depth > s->max_depth)
				s->max_depth = nd->depth; /* also counts a merged run at this depth */
			if (nd->value * s->scale < s->o->min_width)
				continue;
			vec_push(&shown, c);
			if (t->has_base) {
				double d = fabs(share_delta(s, nd));
				if (d > s->max_delta)
					s->max_delta = d;
			}
		}
	}
	vec_free(&shown);
}

static const char *default_title(const struct flame_tree *t, const struct flame_svg_options *o)
{
	if (t->has_base)
		return "Differential Flame Graph";
	if (t->chart)
		return "Flame Chart";
	return o->icicle ? "Icicle Graph" : "Flame Graph";
}

static void header_text(struct svg *s, const char *id, double x, double y, const char *anchor, const char *text)
{
	struct strbuf *sb = &s->sb;
	strbuf_reset(sb);
	strbuf_addf(sb, "<text id=\"%s\" x=\"", id);
	add_num(sb, x);
	strbuf_addstr(sb, "\" y=\"");
	add_num(sb, y);
	strbuf_addf(sb, "\"%s%s%s>", anchor ? " text-anchor=\"" : "", anchor ? anchor : "", anchor ? "\"" : "");
	add_xml(sb, text, SIZE_MAX);
	strbuf_addstr(sb, "</text>\n");
	fwrite(sb->buf, 1, sb->len, s->out);
}

static const struct {
	int origin;
	const char *label;
} legend[] = {
    {FLAME_ORIGIN_RUST, "Rust (yours)"}, {FLAME_ORIGIN_RUST_STD, "Rust std/core/alloc"},
    {FLAME_ORIGIN_C, "C/C++"},           {FLAME_ORIGIN_KERNEL, "kernel"},
    {FLAME_ORIGIN_UNKNOWN, "unknown"},
};

int flame_render_svg(FILE *out, const struct flame_tree *t, const struct flame_svg_options *opt)
{
	struct flame_svg_options o = *opt;
	if (!o.width)
		o.width = 1200;
	if (o.width < 200)
		o.width = 200;
	if (o.min_width < 0)
		o.min_width = 0.1;
	struct svg s = {.t = t, .o = &o, .out = out, .width = o.width};
	strtab_init(&s.extra);
	uint32_t nstr = strtab_count(&t->strings);
	s.str_index = xmalloc((nstr + 1) * sizeof(*s.str_index));
	memset(s.str_index, 0xff, (nstr + 1) * sizeof(*s.str_index));
	int64_t total = t->nodes.v[0].value;
	s.scale = total > 0 ? (double)(o.width - 2 * XPAD) / (double)total : 0;
	measure(&s);
	bool legend_line = o.palette == FLAME_PALETTE_LANG && !t->has_base;
	s.pad_top = 40 + (o.subtitle ? 20 : 0) + (o.notes ? 18 : 0);
	s.pad_bottom = legend_line ? 52 : 34;
	s.height = s.pad_top + (s.max_depth + 1) * FRAME_H + s.pad_bottom;
	str_ref(&s, 0); /* S[0] is "" */

	fprintf(out,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
	        "<svg version=\"1.1\" width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" "
	        "xmlns=\"http://www.w3.org/2000/svg\" class=\"kiln-flame\">\n",
	        s.width, s.height, s.width, s.height);
	const char *title = o.title ? o.title : default_title(t, &o);
	strbuf_reset(&s.sb);
	strbuf_addstr(&s.sb, "<title>");
	add_xml(&s.sb, title, SIZE_MAX);
	strbuf_addstr(&s.sb, "</title>\n");
	if (o.notes) {
		strbuf_addstr(&s.sb, "<desc>");
		add_xml(&s.sb, o.notes, SIZE_MAX);
		strbuf_addstr(&s.sb, "</desc>\n");
	}
	fwrite(s.sb.buf, 1, s.sb.len, out);
	fprintf(out, "<style><![CDATA[\n%s]]></style>\n", flame_asset_css);
	fprintf(out, "<rect id=\"bg\" width=\"100%%\" height=\"100%%\"/>\n");
	header_text(&s, "title", s.width / 2.0, 24, "middle", title);
	double y = 24;
	if (o.subtitle)
		header_text(&s, "subtitle", s.width / 2.0, y += 20, "middle", o.subtitle);
	if (o.notes)
		header_text(&s, "notes", s.width / 2.0, y += 18, "middle", o.notes);
	fprintf(out,
	        "<text id=\"unzoom\" class=\"ctl hide\" x=\"%d\" y=\"24\">Reset Zoom</text>\n"
	        "<text id=\"search\" class=\"ctl\" x=\"%u\" y=\"24\" text-anchor=\"end\">Search</text>\n"
	        "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n"
	        "<text id=\"matched\" x=\"%u\" y=\"%u\" text-anchor=\"end\"> </text>\n",
	        XPAD, s.width - XPAD, XPAD, s.height - s.pad_bottom + 22, s.width - XPAD, s.height - s.pad_bottom + 22);
	if (legend_line) {
		double lx = XPAD;
		for (size_t i = 0; i < sizeof(legend) / sizeof(legend[0]); i++) {
			struct rgb c = palette_color(FLAME_PALETTE_LANG, legend[i].origin, "");
			fprintf(out,
			        "<rect class=\"key\" x=\"%.0f\" y=\"%u\" width=\"10\" height=\"10\" "
			        "fill=\"#%02x%02x%02x\"/>"
			        "<text class=\"key\" x=\"%.0f\" y=\"%u\">%s</text>\n",
			        lx, s.height - 18, c.r, c.g, c.b, lx + 14, s.height - 9, legend[i].label);
			lx += 14 + CHAR_W * (double)strlen(legend[i].label) + 18;
		}
	}
	fputs("<g id=\"frames\">\n", out);
	emit_all(&s);
	fputs("</g>\n", out);

	/* the data the script needs; JSON escaping keeps "]]>" out of it */
	fprintf(out,
	        "<script type=\"text/ecmascript\"><![CDATA[\nvar K={w:%u,h:%u,xpad:%d,fh:%d,cw:%.1f,icicle:%d,"
	        "ptop:%u,pbot:%u,diff:%d,chart:%d,total:%" PRId64 ",btotal:%" PRId64 ",maxdelta:%.6g,stride:%d,type:",
	        s.width, s.height, XPAD, FRAME_H, CHAR_W, o.icicle ? 1 : 0, s.pad_top, s.pad_bottom,
	        t->has_base ? 1 : 0, t->chart ? 1 : 0, total, t->base_total, s.max_delta, t->has_base ? 10 : 9);
	strbuf_reset(&s.sb);
	add_json(&s.sb, strtab_get(&t->strings, t->value_type));
	strbuf_addstr(&s.sb, ",unit:");
	add_json(&s.sb, strtab_get(&t->strings, t->value_unit));
	fwrite(s.sb.buf, 1, s.sb.len, out);
	fputs(",\nS:[", out);
	fwrite(strbuf_str(&s.strs), 1, s.strs.len, out);
	fputs("],\nF:[", out);
	fwrite(strbuf_str(&s.data), 1, s.data.len, out);
	fputs("]};\n]]></script>\n<script type=\"text/ecmascript\"><![CDATA[\n", out);
	fputs(flame_asset_js, out);
	fputs("\n]]></script>\n</svg>\n", out);

	strbuf_release(&s.sb);
	strbuf_release(&s.data);
	strbuf_release(&s.strs);
	strtab_release(&s.extra);
	free(s.extra_index);
	free(s.str_index);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}
