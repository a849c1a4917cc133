/* flame_svg.c - a flame tree as one self-contained, interactive SVG.
 *
 * Size matters (flame graphs of big profiles are shared and opened in
 * browsers): each frame is one <g> with a <rect> and, when it fits, a
 * truncated <text>; coordinates have at most one decimal; frames narrower
 * than min_width are merged into one "[N small frames]" frame per run of
 * siblings. Names, files and values are stored once, as JSON after the
 * frames, and the script builds tooltips, zoom and search from them. What
 * the boxes stand for is kept too, compactly and within a budget, so that
 * a click opens them (see "the data of the boxes" below).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/flame_diff.h"
#include "render/flame.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define XPAD    10
#define FRAME_H 16
#define CHAR_W  7.3 /* 12px monospace advance, rounded up so text never overflows */
#define MERGED  99  /* origin code of a merged run of narrow frames */
#define INLINED 128 /* added to the origin code of an inlined frame */

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

static size_t utf8_count(const char *s)
{
	size_t n = 0;
	for (const unsigned char *q = (const unsigned char *)s; *q; n++) {
		uint32_t cp;
		size_t k = utf8_next(q, &cp);
		q += k ? k : 1;
	}
	return n;
}

/* Appends the label of a frame chars wide: the whole name when it fits,
 * else elided in the middle so that the last "::" segment (outside <...>)
 * stays, "<cpu::So…::score"; nothing when fewer than 4 characters fit, as
 * one letter and an ellipsis tell nobody anything. Returns false when
 * nothing was added. The same rule as fit() in flame.js. */
static bool add_label(struct strbuf *sb, const char *name, size_t chars)
{
	size_t total = utf8_count(name);
	if (total <= chars) {
		add_xml(sb, name, SIZE_MAX);
		return total > 0;
	}
	if (chars < 4)
		return false;
	int depth = 0;
	const char *seg = NULL;
	for (const char *q = name; q[0] && q[1]; q++) {
		if (*q == '<' || *q == '(' || *q == '[')
			depth++;
		else if ((*q == '>' || *q == ')' || *q == ']') && depth > 0)
			depth--;
		else if (q[0] == ':' && q[1] == ':' && !depth && q > name) {
			seg = q;
			q++;
		}
	}
	if (!seg) {
		add_xml(sb, name, chars);
		return true;
	}
	size_t tail = utf8_count(seg);
	if (tail + 3 <= chars) {
		add_xml(sb, name, chars - tail); /* chars - tail - 1 of the start and the ellipsis */
		add_xml(sb, seg, SIZE_MAX);
	} else {
		add_xml(sb, seg + 2, chars);
	}
	return true;
}

/* Bytes add_json() copies as they are: printable ASCII but the quote, the
 * backslash and markup (a table: names reach hundreds of thousands). */
static const bool json_plain[256] = {
    /* all of 0x20 to 0x7e but '"' (0x22), '&' (0x26), '<' (0x3c), '>' (0x3e), '\\' (0x5c) */
    [0x20 ... 0x21] = true, [0x23 ... 0x25] = true, [0x27 ... 0x3b] = true,
    [0x3d] = true,          [0x3f ... 0x5b] = true, [0x5d ... 0x7e] = true,
};

/* Appends s as a JSON string that is also safe inside a CDATA section and
 * an HTML script: <, >, & and line separators are \u escapes. */
static void add_json(struct strbuf *sb, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	strbuf_addch(sb, '"');
	while (*u) {
		/* most names are plain ASCII: copied a run at a time */
		const unsigned char *run = u;
		while (json_plain[*u])
			u++;
		if (u > run) {
			strbuf_add(sb, run, (size_t)(u - run));
			continue;
		}
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

/* Adds "12.34%" (two decimals). */
static void add_pct(struct strbuf *sb, double v)
{
	long long t = llround(v * 100);
	add_i64(sb, t / 100);
	strbuf_addch(sb, '.');
	strbuf_addch(sb, (char)('0' + t / 10 % 10));
	strbuf_addch(sb, (char)('0' + t % 10));
	strbuf_addch(sb, '%');
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
		case FLAME_ORIGIN_RUST_DEP: /* the crates it depends on: tan */
			c = (struct rgb){(int)(200 + 25 * v1), (int)(160 + 30 * v2), (int)(110 + 30 * v3)};
			break;
		case FLAME_ORIGIN_C: /* C: green */
			c = (struct rgb){(int)(90 + 60 * v1), (int)(185 + 45 * v2), (int)(90 + 50 * v3)};
			break;
		case FLAME_ORIGIN_CPP: /* C++: teal */
			c = (struct rgb){(int)(60 + 40 * v1), (int)(180 + 35 * v2), (int)(175 + 35 * v3)};
			break;
		case FLAME_ORIGIN_GO: /* Go: pink */
			c = (struct rgb){(int)(230 + 25 * v1), (int)(150 + 35 * v2), (int)(190 + 30 * v3)};
			break;
		case FLAME_ORIGIN_JAVA: /* Java and the JVM: lime */
			c = (struct rgb){(int)(185 + 30 * v1), (int)(215 + 30 * v2), (int)(70 + 40 * v3)};
			break;
		case FLAME_ORIGIN_PYTHON: /* Python: violet */
			c = (struct rgb){(int)(170 + 30 * v1), (int)(135 + 30 * v2), (int)(230 + 25 * v3)};
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

/* Neutral inside the 95% interval of sampling noise; outside it red for a
 * frame whose share grew, blue for one that shrank, deeper the larger the
 * change against scale (the largest significant change drawn). */
static struct rgb diff_color(const struct flame_change *c, double scale)
{
	if (!c->significant || c->delta == 0)
		return (struct rgb){228, 228, 224};
	double i = scale > 0 ? fabs(c->delta) / scale : 1;
	if (i > 1)
		i = 1;
	if (i < 0.2)
		i = 0.2; /* a significant change is never mistaken for a neutral one */
	int fade = (int)lround(235 - 190 * i);
	if (c->delta > 0)
		return (struct rgb){255, fade, fade};
	return (struct rgb){fade, fade, 255};
}

/* A box of frames not drawn one by one: a run of count siblings from first
 * (those with a value) too narrow to draw, or, in a box's data, all that a
 * frame at the depth limit calls. */
struct box {
	uint32_t first, count, depth;
	int64_t start, value;
	bool hidden;        /* itself in a box's data (K.H), not drawn */
	uint64_t index;     /* its frame in F, or its frame's ordinal in H when hidden */
	uint64_t off;       /* where its frames start in K.H (characters) */
	uint64_t first_ord; /* the ordinal in H of the first of them */
	uint64_t nkept;     /* how many: 0 when not kept (over the budget) */
};

/* A frame in H written before its origin was decided (flame_tree_origin()):
 * a folded frame's code is one digit, origin * 2 (no place, never inlined),
 * written as 0 until the box is kept. */
struct origin_patch {
	size_t at; /* in H */
	uint32_t node;
};
_Static_assert(FLAME_ORIGIN_SCOPED * 2 < 32, "an origin code is one digit of H");

/* A tree string's place in S and its length side by side: a box's dry
 * run (dry_frame()) reads both of a name met in no box before, and one
 * cache miss is cheaper than two (the string table's lengths are an
 * array of their own). */
struct str_slot {
	uint32_t ref; /* index in S, FLAME_NONE, or DRY_NEW during a dry run */
	uint32_t len; /* its bytes */
};

/* Working state of one flame_render_svg(). */
struct svg {
	struct flame_tree *t; /* not changed but for flame_tree_open() */
	const struct flame_svg_options *o;
	FILE *out;
	struct strbuf sb;           /* the frame being written */
	struct strbuf data;         /* F: the frames' data, JSON numbers */
	struct strbuf strs;         /* S: the strings, JSON */
	struct str_slot *str_index; /* per tree string id */
	VEC(uint32_t) dry_new;      /* the names a dry run counted as new (str_index DRY_NEW until it ends) */
	uint32_t nstrs;
	struct strtab extra;   /* names made here ("[3 small frames]") */
	uint32_t *extra_index; /* extra id -> index in S */
	size_t extra_cap;
	VEC(uint32_t) str_log;            /* strings added to S while keeping a box (EXTRA_BIT: extra's) */
	VEC(struct origin_patch) patches; /* frames of the box being kept whose origin is not decided */
	bool logging;
	double scale; /* px per value unit */
	unsigned width, height, pad_top, pad_bottom, max_depth;
	double max_delta;      /* the largest significant change drawn, at least one point */
	double zcrit;          /* a change is significant from this z on (see diff_threshold()) */
	uint32_t origins;      /* 1 << origin of every frame drawn */
	bool samples;          /* the values are samples */
	char unit_label[64];   /* else what they are, "cpu nanoseconds" */
	VEC(struct box) boxes; /* every box, drawn or in a box's data */
	struct strbuf hdata;   /* H: the frames kept for opening boxes, compactly */
	uint64_t hframes;
	uint64_t drawn_bytes;  /* of the frames drawn: shapes and data */
	uint64_t frames;       /* frames written, merged boxes included */
	uint64_t merged_boxes; /* of them, "[N small frames]" boxes */
	/* a flame chart on a time axis (t->spans): one lane per thread */
	bool timed;
	uint64_t t0, t1;   /* its time range (ns) */
	uint32_t *lane_of; /* per node, its thread's lane */
	double *lane_top;  /* per lane, the y of its thread's row */
	uint32_t nlanes;
	double lanes_h;      /* the height of all lanes */
	double y_cur;        /* the y of the frame being emitted */
	int64_t cur_samples; /* its samples */
	uint32_t cur_lane;   /* its lane */
};

#define EXTRA_BIT 0x80000000u

static uint32_t str_ref(struct svg *s, uint32_t id)
{
	if (s->str_index[id].ref == FLAME_NONE) {
		if (s->nstrs)
			strbuf_addch(&s->strs, ',');
		add_json(&s->strs, strtab_get(&s->t->strings, id));
		s->str_index[id].ref = s->nstrs++;
		if (s->logging)
			vec_push(&s->str_log, id);
	}
	return s->str_index[id].ref;
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
		if (s->logging)
			vec_push(&s->str_log, id | EXTRA_BIT);
	}
	return s->extra_index[id];
}

static double y_of(const struct svg *s, uint32_t depth)
{
	if (s->o->icicle)
		return s->pad_top + (double)depth * FRAME_H;
	return s->height - s->pad_bottom - (double)(depth + 1) * FRAME_H;
}

/* How frame n changed from BASE to NEW, in samples (see flame_diff.h). */
static void node_change(const struct svg *s, const struct flame_node *n, struct flame_change *c)
{
	const struct flame_tree *t = s->t;
	double total = (double)t->nodes.v[0].value, btotal = (double)t->base_total;
	double v = (double)n->value, b = (double)flame_tree_base(t, (uint32_t)(n - t->nodes.v));
	if (s->o->negate) { /* t is BASE, its base NEW */
		double tmp = v;
		v = b;
		b = tmp;
		tmp = total;
		total = btotal;
		btotal = tmp;
	}
	double per = s->o->samples > 0 && total > 0 ? s->o->samples / total : 1;
	double bper = s->o->base_samples > 0 && btotal > 0 ? s->o->base_samples / btotal : 1;
	flame_change_of(b * bper, btotal * bper, v * per, total * per, s->zcrit, c);
}

static struct rgb frame_color(const struct svg *s, const char *name, const struct flame_node *n, int origin)
{
	if (s->t->has_base && origin != MERGED && n) {
		struct flame_change ch;
		node_change(s, n, &ch);
		return diff_color(&ch, s->max_delta);
	}
	return palette_color(s->o->palette, origin, name);
}

/* The numbers of a frame, as K.F and K.H hold them: name, depth, start,
 * value, self, module, file, line, origin (+128 inlined), then base in a
 * differential graph, or samples and lane in a timed chart. Returns how
 * many. */
static int frame_fields(struct svg *s, uint32_t name_ref, uint32_t depth, int64_t start, int64_t value,
                        const struct flame_node *n, int origin, int64_t f[11])
{
	uint32_t id = n ? (uint32_t)(n - s->t->nodes.v) : FLAME_NONE;
	struct flame_src src = flame_tree_src(s->t, id);
	f[0] = name_ref;
	f[1] = depth;
	f[2] = start;
	f[3] = value;
	f[4] = n ? n->self : value;
	f[5] = n ? str_ref(s, src.module) : 0;
	f[6] = n ? str_ref(s, src.file) : 0;
	f[7] = src.line;
	f[8] = origin + (n && n->inlined ? INLINED : 0);
	if (s->timed) {
		f[9] = s->cur_samples;
		f[10] = s->cur_lane;
		return 11;
	}
	if (s->t->has_base) {
		f[9] = flame_tree_base(s->t, id);
		return 10;
	}
	return 9;
}

/* Writes one frame: its shapes to the file, its numbers to s->data. */
static void emit_frame(struct svg *s, uint32_t name_ref, const char *name, uint32_t depth, int64_t start, int64_t value,
                       const struct flame_node *n, int origin)
{
	double x = XPAD + start * s->scale, w = value * s->scale;
	double y = s->timed ? s->y_cur : y_of(s, depth);
	struct rgb c = frame_color(s, name, n, origin);
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
	if (fit >= 1) {
		size_t mark = sb->len;
		strbuf_addstr(sb, "<text x=\"");
		add_num(sb, x + 3);
		strbuf_addstr(sb, "\" y=\"");
		add_num(sb, y + 11.5);
		strbuf_addstr(sb, "\">");
		if (add_label(sb, name, (size_t)fit))
			strbuf_addstr(sb, "</text>");
		else
			sb->buf[sb->len = mark] = '\0';
	}
	/* for screen readers and viewers without script: name, value, share */
	strbuf_addstr(sb, "<title>");
	add_xml(sb, name, SIZE_MAX);
	strbuf_addstr(sb, ": ");
	int64_t amount = s->timed ? s->cur_samples : value;
	add_i64(sb, amount);
	if (s->samples)
		strbuf_addstr(sb, amount == 1 ? " sample, " : " samples, ");
	else
		strbuf_addf(sb, " %s, ", s->unit_label);
	int64_t total = s->t->nodes.v[0].value;
	add_pct(sb, total > 0 ? 100.0 * (double)amount / (double)total : 0);
	strbuf_addstr(sb, "</title></g>\n");
	fwrite(sb->buf, 1, sb->len, s->out);

	struct strbuf *d = &s->data;
	size_t mark = d->len;
	if (s->frames)
		strbuf_addch(d, ',');
	int64_t f[11];
	int nf = frame_fields(s, name_ref, depth, start, value, n, origin, f);
	for (int i = 0; i < nf; i++) {
		if (i)
			strbuf_addch(d, ',');
		add_i64(d, f[i]);
	}
	s->drawn_bytes += sb->len + d->len - mark;
	s->frames++;
}

struct pending {
	uint32_t node;
	int64_t start;
};

struct pending_stack {
	struct pending *v;
	size_t n, cap;
};

/* Emits a run of narrow siblings as one merged frame when it is wide enough. */
static void flush_run(struct svg *s, uint32_t first, uint32_t count, int64_t start, int64_t value, uint32_t depth)
{
	if (count < 2 || value * s->scale < s->o->min_width)
		return;
	char buf[64];
	snprintf(buf, sizeof(buf), "[%u small frames]", count);
	struct box *b = vec_grow(&s->boxes);
	*b = (struct box){
	    .first = first, .count = count, .depth = depth, .start = start, .value = value, .index = s->frames};
	s->merged_boxes++;
	emit_frame(s, extra_ref(s, buf), buf, depth, start, value, NULL, MERGED);
}

/* Pushes the children from first that are wide enough to draw, and
 * flushes the runs of the others as boxes. */
static void walk_children(struct svg *s, struct pending_stack *stack, uint32_t first, int64_t off, uint32_t depth)
{
	const struct flame_node *nv = s->t->nodes.v;
	int64_t run_start = 0, run_value = 0;
	uint32_t run = 0, run_first = 0;
	for (uint32_t c = first; c != FLAME_NONE; c = nv[c].next_sibling) {
		if (nv[c].value <= 0)
			continue;
		if (nv[c].value * s->scale >= s->o->min_width) {
			flush_run(s, run_first, run, run_start, run_value, depth);
			run = 0;
			struct pending p = {c, off};
			vec_push(stack, p);
		} else {
			if (!run) {
				run_start = off;
				run_value = 0;
				run_first = c;
			}
			run++;
			run_value += nv[c].value;
		}
		off += nv[c].value;
	}
	flush_run(s, run_first, run, run_start, run_value, depth);
}

/* Writes the frames from the stack's nodes down, and the boxes of what is
 * too narrow. */
static void walk(struct svg *s, struct pending_stack *stack)
{
	const struct flame_tree *t = s->t;
	while (stack->n) {
		struct pending cur = stack->v[--stack->n];
		flame_tree_origin(s->t, cur.node);
		const struct flame_node *n = &t->nodes.v[cur.node];
		emit_frame(s, str_ref(s, n->name), strtab_get(&t->strings, n->name), n->depth, cur.start, n->value, n,
		           n->origin);
		uint32_t depth = n->depth + 1;
		walk_children(s, stack, flame_tree_open(s->t, cur.node), cur.start, depth);
	}
}

/* --- the data of the boxes (K.H) ---------------------------------------
 * A click on a box draws what it stands for as zooming into it would: its
 * frames at the full width, what is still too narrow in boxes of their
 * own. Those frames are kept in K.H, compactly: each frame is a few
 * numbers in a variable-length base-32 code (the digits below: the first
 * 32 end a number, the others carry 5 more bits, lowest first), in the
 * order the script draws them (a parent before what it calls):
 *   name, depth - the box's depth, start - where the previous frame at that
 *   depth ended (0 unless a frame too narrow to draw is left out), value,
 *   value - self, origin code * 2 + 1 when module, file and line follow
 *   (else + 0), [module, file, line], [base in a differential graph]
 * Colours are computed by the script (the same palette). A box keeps at
 * most BOX_FRAMES frames: deeper levels become boxes again ("[N frames]"),
 * opened in turn; the largest boxes are kept first, until H and the names
 * it adds to S reach the budget. */
#define BOX_FRAMES  2048  /* the frames of one box's levels, the first level excepted */
#define BOX_FIRST   20000 /* a box whose first level alone has more is not kept */
#define BOX_SPLIT   16    /* an opened box of too many frames shows them in this many boxes */
#define HBUDGET_MIN (512u << 10)
#define HBUDGET_MAX (2u << 20)

static const char var_digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_.";

static void add_var(struct strbuf *sb, int64_t value)
{
	char buf[16];
	size_t n = 0;
	uint64_t v = value > 0 ? (uint64_t)value : 0;
	while (v >= 32) {
		buf[n++] = var_digits[32 + (v & 31)];
		v >>= 5;
	}
	buf[n++] = var_digits[v];
	strbuf_add(sb, buf, n);
}

/* One thing a box's data holds, in the order it is written. */
struct hitem {
	bool box; /* a box of count siblings from node, else the frame node */
	uint32_t node, count, depth;
	int64_t start, value;
};

typedef VEC(struct hitem) hitems;
typedef VEC(struct box) box_vec;
typedef VEC(uint32_t) box_heap;

/* Writes one frame of a box's data (see above); rel is its depth below the
 * box's, gap what was left out before it. Returns where its origin code is
 * in H. */
static size_t hide_frame(struct svg *s, uint32_t name_ref, uint32_t rel, int64_t gap, int64_t value,
                         const struct flame_node *n, int origin)
{
	int64_t f[11];
	int nf = frame_fields(s, name_ref, rel, 0, value, n, origin, f);
	struct strbuf *d = &s->hdata;
	bool src = f[5] || f[6] || f[7];
	add_var(d, f[0]);
	add_var(d, rel);
	add_var(d, gap);
	add_var(d, value);
	add_var(d, value - f[4]);
	size_t code = d->len;
	add_var(d, f[8] * 2 + src);
	if (src) {
		add_var(d, f[5]);
		add_var(d, f[6]);
		add_var(d, f[7]);
	}
	if (nf == 10)
		add_var(d, f[9]);
	s->hframes++;
	return code;
}

/* Ends a run of narrow siblings: a box when it has two or more wide enough
 * to see; in an opened box (all) whatever it is, one alone as its frame. */
static void end_run(const struct svg *s, hitems *out, struct hitem *run, double scale, bool all)
{
	if (all && run->count == 1) {
		struct hitem it = {.node = run->node, .depth = run->depth, .start = run->start, .value = run->value};
		vec_push(out, it);
	} else if (run->count >= 2 && (all || run->value * scale >= s->o->min_width)) {
		vec_push(out, *run);
	}
	run->count = 0;
}

/* Appends what the siblings from first (the first limit with a value, or
 * all when limit is 0) draw as at scale: each frame wide enough, and runs
 * of the others as boxes. With all (what fills an opened box) nothing is
 * left out: the frames are drawn one by one (merged again the narrow ones
 * would be the same box), unless there are more than BOX_FRAMES of them:
 * then they go in BOX_SPLIT boxes of consecutive frames, opened in turn,
 * not in one box whose data would be too big to keep. */
static void expand(const struct svg *s, hitems *out, double scale, uint32_t first, uint32_t limit, int64_t off,
                   uint32_t depth, bool all)
{
	const struct flame_node *nv = s->t->nodes.v;
	uint32_t seen = 0, chunk = UINT32_MAX;
	if (all) {
		for (uint32_t c = first; c != FLAME_NONE && (!limit || seen < limit); c = nv[c].next_sibling)
			seen += nv[c].value > 0;
		chunk = seen > BOX_FRAMES ? (seen + BOX_SPLIT - 1) / BOX_SPLIT : 1;
		seen = 0;
	}
	struct hitem run = {.box = true};
	for (uint32_t c = first; c != FLAME_NONE && (!limit || seen < limit); c = nv[c].next_sibling) {
		if (nv[c].value <= 0)
			continue;
		seen++;
		if (chunk == 1 || (chunk == UINT32_MAX && nv[c].value * scale >= s->o->min_width)) {
			end_run(s, out, &run, scale, all);
			struct hitem it = {.node = c, .depth = depth, .start = off, .value = nv[c].value};
			vec_push(out, it);
		} else {
			if (!run.count) {
				run.node = c;
				run.depth = depth;
				run.start = off;
				run.value = 0;
			}
			run.count++;
			run.value += nv[c].value;
			if (run.count == chunk)
				end_run(s, out, &run, scale, all);
		}
		off += nv[c].value;
	}
	end_run(s, out, &run, scale, all);
}

/* How many levels of box b to keep: all that fit in BOX_FRAMES frames
 * after the first; 0 when the first alone has more than BOX_FIRST. Adds
 * the frames looked at to *work. */
static uint32_t box_levels(const struct svg *s, const struct box *b, double scale, hitems *cur, hitems *next,
                           uint64_t *work, size_t *frames)
{
	vec_clear(cur);
	expand(s, cur, scale, b->first, b->count, 0, b->depth, true);
	*work += cur->n;
	*frames = cur->n;
	if (cur->n > BOX_FIRST)
		return 0;
	uint32_t levels = 1;
	size_t total = 0;
	for (;;) {
		vec_clear(next);
		for (size_t i = 0; i < cur->n && total + next->n <= BOX_FRAMES; i++)
			if (!cur->v[i].box)
				expand(s, next, scale, flame_tree_open(s->t, cur->v[i].node), 0, 0, cur->v[i].depth + 1,
				       cur->v[i].value >= b->value);
		*work += next->n;
		if (!next->n || total + next->n > BOX_FRAMES)
			return levels;
		total += next->n;
		*frames += next->n;
		levels++;
		hitems tmp = *cur;
		*cur = *next;
		*next = tmp;
	}
}

/* Pushes items onto stack in reverse, so that they come off in order,
 * and starts fetching their names' slots: each is a cache miss (names are
 * spread over the table), and fetched together they overlap. */
static void push_reversed(const struct svg *s, hitems *stack, const hitems *items)
{
	const struct flame_node *nv = s->t->nodes.v;
	for (size_t i = items->n; i-- > 0;) {
		if (!items->v[i].box)
			__builtin_prefetch(&s->str_index[nv[items->v[i].node].name]);
		vec_push(stack, items->v[i]);
	}
}

/* The digits of v in H's code (add_var()). */
static unsigned var_len(int64_t v)
{
	unsigned n = 1;
	for (uint64_t u = v > 0 ? (uint64_t)v : 0; u >= 32; u >>= 5)
		n++;
	return n;
}

/* What keeping a box would write, counted without writing it: the frames,
 * and at most as many bytes of H and S as it would add (a name's place in
 * S, the gaps and the values are exact; a new name is its bytes, quoted;
 * the rest one digit each). Most boxes tried do not fit the budget left:
 * this tells so without making their names' JSON. */
struct box_dry {
	uint64_t frames, bytes;
};

#define DRY_NEW (FLAME_NONE - 1) /* in str_index during a dry run: not in S, counted */

static void dry_frame(struct svg *s, struct box_dry *dry, uint32_t rel, int64_t gap, int64_t value,
                      const struct flame_node *n)
{
	dry->frames++;
	/* rel, gap, value and the origin code (one digit at least); base */
	dry->bytes += var_len(rel) + var_len(gap) + var_len(value) + 1 + (s->t->has_base ? 1 : 0);
	if (!n) { /* a box: its name's reference, its self of 0 */
		dry->bytes += 2;
		return;
	}
	dry->bytes += var_len(value - n->self);
	struct str_slot *slot = &s->str_index[n->name];
	uint32_t ref = slot->ref;
	if (ref != FLAME_NONE && ref != DRY_NEW) {
		dry->bytes += var_len(ref);
		return;
	}
	dry->bytes += var_len(s->nstrs); /* a new name's place is past the others */
	if (ref == FLAME_NONE) {         /* counted once: ",\"name\"", escapes aside */
		dry->bytes += slot->len + 3;
		slot->ref = DRY_NEW;
		vec_push(&s->dry_new, n->name);
	}
}

/* Writes the data of box b (levels deep) to H; the boxes in it go to
 * inner. With dry, writes nothing and counts what it would write. */
static void keep_box(struct svg *s, const struct box *b, uint32_t levels, hitems *stack, hitems *tmp, box_vec *inner,
                     struct box_dry *dry)
{
	const struct flame_node *nv = s->t->nodes.v;
	double scale = (s->width - 2.0 * XPAD) / (double)b->value;
	int64_t *end = xcalloc(levels + 2, sizeof(*end)); /* per depth, where its last frame ended */
	end[0] = b->start;
	vec_clear(tmp);
	expand(s, tmp, scale, b->first, b->count, b->start, b->depth, true);
	push_reversed(s, stack, tmp);
	while (stack->n) {
		struct hitem it = stack->v[--stack->n];
		uint32_t rel = it.depth - b->depth;
		int64_t gap = it.start - end[rel];
		end[rel] = it.start + it.value;
		end[rel + 1] = it.start;
		if (it.box && dry) {
			dry_frame(s, dry, rel, gap, it.value, NULL);
			continue;
		}
		if (it.box) {
			char buf[64];
			snprintf(buf, sizeof(buf), rel < levels ? "[%u small frames]" : "[%u frames]", it.count);
			struct box in = {.first = it.node,
			                 .count = it.count,
			                 .depth = it.depth,
			                 .start = it.start,
			                 .value = it.value,
			                 .hidden = true,
			                 .index = s->hframes};
			vec_push(inner, in);
			hide_frame(s, extra_ref(s, buf), rel, gap, it.value, NULL, MERGED);
			continue;
		}
		const struct flame_node *n = &s->t->nodes.v[it.node];
		if (dry) {
			dry_frame(s, dry, rel, gap, it.value, n);
		} else {
			size_t code = hide_frame(s, str_ref(s, n->name), rel, gap, it.value, n, n->origin);
			if (n->undecided) { /* decided only if the box is kept: one digit either way */
				struct origin_patch op = {code, it.node};
				vec_push(&s->patches, op);
			}
		}
		uint32_t first = flame_tree_open(s->t, it.node); /* may move the nodes */
		n = &s->t->nodes.v[it.node];
		nv = s->t->nodes.v;
		if (first == FLAME_NONE)
			continue;
		if (rel + 1 < levels) {
			vec_clear(tmp);
			expand(s, tmp, scale, first, 0, it.start, n->depth + 1, n->value >= b->value);
			push_reversed(s, stack, tmp);
			continue;
		}
		/* the depth limit: all it calls becomes one box, opened in turn */
		struct hitem cut = {.box = true, .node = first, .depth = n->depth + 1, .start = it.start};
		for (uint32_t c = first; c != FLAME_NONE; c = nv[c].next_sibling)
			if (nv[c].value > 0) {
				cut.count++;
				cut.value += nv[c].value;
			}
		if (cut.count && cut.value * scale >= s->o->min_width)
			vec_push(stack, cut);
	}
	free(end);
}

/* Forgets the strings added to S since the log began. */
static void unlog_strings(struct svg *s, size_t strs_len, uint32_t nstrs)
{
	for (size_t i = 0; i < s->str_log.n; i++) {
		uint32_t id = s->str_log.v[i];
		if (id & EXTRA_BIT)
			s->extra_index[id & ~EXTRA_BIT] = FLAME_NONE;
		else
			s->str_index[id].ref = FLAME_NONE;
	}
	s->strs.len = strs_len;
	if (s->strs.buf)
		s->strs.buf[strs_len] = '\0';
	s->nstrs = nstrs;
}

/* A max-heap of box indices by value: the largest box is kept first. */
static bool box_larger(const struct svg *s, uint32_t a, uint32_t b)
{
	return s->boxes.v[a].value > s->boxes.v[b].value;
}

static void heap_push(const struct svg *s, box_heap *h, uint32_t box)
{
	vec_push(h, box);
	for (size_t i = h->n - 1; i > 0 && box_larger(s, h->v[i], h->v[(i - 1) / 2]); i = (i - 1) / 2) {
		uint32_t tmp = h->v[i];
		h->v[i] = h->v[(i - 1) / 2];
		h->v[(i - 1) / 2] = tmp;
	}
}

static uint32_t heap_pop(const struct svg *s, box_heap *h)
{
	uint32_t top = h->v[0];
	h->v[0] = h->v[--h->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && box_larger(s, h->v[l], h->v[m]))
			m = l;
		if (r < h->n && box_larger(s, h->v[r], h->v[m]))
			m = r;
		if (m == i)
			break;
		uint32_t tmp = h->v[i];
		h->v[i] = h->v[m];
		h->v[m] = tmp;
		i = m;
	}
	return top;
}

/* Keeps the data of the boxes, the largest first, while H and the strings
 * it adds stay within the budget: a quarter of the bytes of the frames drawn, at
 * least 512 KiB, at most 2 MiB. The frames looked at are limited too, so
 * that a graph of many boxes too big to keep costs little time. */
static void keep_boxes(struct svg *s)
{
	uint64_t budget = s->drawn_bytes / 4;
	budget = budget < HBUDGET_MIN ? HBUDGET_MIN : budget > HBUDGET_MAX ? HBUDGET_MAX : budget;
	uint64_t used = 0, work = 0, work_max = budget; /* about a frame looked at per byte kept */
	box_heap heap = {0};
	box_vec inner = {0};
	hitems stack = {0}, tmp = {0}, next = {0};
	for (size_t i = 0; i < s->boxes.n; i++)
		heap_push(s, &heap, (uint32_t)i);
	s->logging = true;
	/* the packs a box opens, when it is not kept, are packed again: its
	 * nodes' memory goes to the next box (most boxes tried are not) */
	struct flame_open_mark mark;
	while (heap.n && budget - used >= 64 && work < work_max) {
		uint32_t bi = heap_pop(s, &heap);
		struct box b = s->boxes.v[bi];
		if (b.value <= 0)
			continue;
		flame_tree_mark_opens(s->t, &mark);
		double scale = (s->width - 2.0 * XPAD) / (double)b.value;
		size_t frames = 0;
		uint32_t levels = box_levels(s, &b, scale, &tmp, &next, &work, &frames);
		if (!levels || frames * 6 > budget - used) { /* 6 bytes a frame at the least */
			flame_tree_close_opens(s->t, &mark);
			continue;
		}
		/* over the budget left even by the least it could add: the same
		 * as writing it and taking it back, at a fraction of the cost */
		struct box_dry dry = {0};
		keep_box(s, &b, levels, &stack, &tmp, &inner, &dry);
		for (size_t k = 0; k < s->dry_new.n; k++)
			s->str_index[s->dry_new.v[k]].ref = FLAME_NONE;
		vec_clear(&s->dry_new);
		if (used + dry.bytes > budget) {
			work += dry.frames;
			flame_tree_close_opens(s->t, &mark);
			continue;
		}
		size_t hmark = s->hdata.len, smark = s->strs.len;
		uint32_t nstrs = s->nstrs;
		uint64_t fmark = s->hframes;
		vec_clear(&s->str_log);
		vec_clear(&s->patches);
		vec_clear(&inner);
		keep_box(s, &b, levels, &stack, &tmp, &inner, NULL);
		work += s->hframes - fmark;
		uint64_t grew = (s->hdata.len - hmark) + (s->strs.len - smark);
		assert(dry.frames == s->hframes - fmark && dry.bytes <= grew); /* else a box that fit was skipped */
		if (used + grew > budget) {                                    /* over: this box keeps nothing */
			s->hdata.len = hmark;
			if (s->hdata.buf)
				s->hdata.buf[hmark] = '\0';
			s->hframes = fmark;
			unlog_strings(s, smark, nstrs);
			flame_tree_close_opens(s->t, &mark);
			continue;
		}
		used += grew;
		for (size_t k = 0; k < s->patches.n; k++)
			s->hdata.buf[s->patches.v[k].at] =
			    var_digits[2 * flame_tree_origin(s->t, s->patches.v[k].node)];
		s->boxes.v[bi].off = hmark;
		s->boxes.v[bi].first_ord = fmark;
		s->boxes.v[bi].nkept = s->hframes - fmark;
		for (size_t k = 0; k < inner.n; k++) {
			vec_push(&s->boxes, inner.v[k]);
			heap_push(s, &heap, (uint32_t)(s->boxes.n - 1));
		}
	}
	s->logging = false;
	flame_tree_close_opens(s->t, NULL);
	vec_free(&heap);
	vec_free(&inner);
	vec_free(&stack);
	vec_free(&tmp);
	vec_free(&next);
}

static void emit_all(struct svg *s)
{
	struct pending_stack stack = {0};
	struct pending root = {0, 0};
	vec_push(&stack, root);
	walk(s, &stack);
	vec_free(&stack);
	keep_boxes(s);
}

#define AXIS_H   22 /* the time axis above a timed chart */
#define LANE_GAP 6

static uint64_t span_len(const struct flame_span *sp)
{
	return sp->end > sp->start ? sp->end - sp->start : 0;
}

/* A timed chart's lanes: the thread of every node, each lane as deep as
 * its deepest frame. */
static void measure_timed(struct svg *s)
{
	const struct flame_tree *t = s->t;
	size_t n = t->nodes.n;
	s->lane_of = xcalloc(n, sizeof(*s->lane_of));
	VEC(uint32_t) depth = {0};
	for (size_t i = 1; i < n; i++) {
		const struct flame_node *nd = &t->nodes.v[i];
		if (nd->depth == 1) {
			s->lane_of[i] = (uint32_t)depth.n;
			vec_push(&depth, 1);
		} else {
			s->lane_of[i] = s->lane_of[nd->parent];
		}
		if (nd->value > 0 && nd->depth > depth.v[s->lane_of[i]])
			depth.v[s->lane_of[i]] = nd->depth;
		if (nd->value > 0 && nd->origin < 32)
			s->origins |= 1u << nd->origin;
	}
	s->nlanes = (uint32_t)depth.n;
	s->lane_top = xcalloc(depth.n + 1, sizeof(*s->lane_top));
	double y = 0;
	for (size_t k = 0; k < depth.n; k++) {
		s->lane_top[k] = y; /* relative until the header's height is known */
		y += depth.v[k] * FRAME_H + LANE_GAP;
	}
	s->lanes_h = y;
	vec_free(&depth);
}

/* Writes a timed chart's frames: each where and as long as it ran, in its
 * thread's lane; a run of siblings too short to draw becomes one box. */
static void emit_timed(struct svg *s)
{
	const struct flame_tree *t = s->t;
	const struct flame_node *nv = t->nodes.v;
	const struct flame_span *sp = t->spans.v;
	VEC(uint32_t) stack = {0};
	vec_push(&stack, 0);
	while (stack.n) {
		uint32_t i = stack.v[--stack.n];
		const struct flame_node *n = &nv[i];
		s->cur_samples = n->value;
		s->cur_lane = i ? s->lane_of[i] : 0;
		s->y_cur = i ? s->lane_top[s->cur_lane] + (n->depth - 1) * FRAME_H : s->lane_top[s->nlanes];
		emit_frame(s, str_ref(s, n->name), strtab_get(&t->strings, n->name), n->depth,
		           (int64_t)(sp[i].start - s->t0), (int64_t)span_len(&sp[i]), n, n->origin);
		/* children in time order; pushed in reverse so they come out in order */
		size_t mark = stack.n;
		uint64_t run_start = 0, run_end = 0;
		uint32_t run = 0;
		int64_t run_samples = 0;
		for (uint32_t c = n->first_child;; c = nv[c].next_sibling) {
			bool wide = c != FLAME_NONE && span_len(&sp[c]) * s->scale >= s->o->min_width;
			if (run && (c == FLAME_NONE || wide)) {
				if (run > 1 && (run_end - run_start) * s->scale >= s->o->min_width) {
					char buf[64];
					snprintf(buf, sizeof(buf), "[%u small frames]", run);
					s->merged_boxes++;
					s->cur_samples = run_samples;
					s->cur_lane = i ? s->lane_of[i] : 0;
					s->y_cur = i ? s->lane_top[s->cur_lane] + n->depth * FRAME_H : s->lane_top[0];
					emit_frame(s, extra_ref(s, buf), buf, n->depth + 1,
					           (int64_t)(run_start - s->t0), (int64_t)(run_end - run_start), NULL,
					           MERGED);
				}
				run = 0;
			}
			if (c == FLAME_NONE)
				break;
			if (nv[c].value <= 0)
				continue;
			if (wide) {
				vec_push(&stack, c);
				continue;
			}
			if (!run) {
				run_start = sp[c].start;
				run_samples = 0;
			}
			run++;
			run_end = sp[c].end;
			run_samples += nv[c].value;
		}
		for (size_t a = mark, b = stack.n; b > a + 1; a++, b--) {
			uint32_t tmp = stack.v[a];
			stack.v[a] = stack.v[b - 1];
			stack.v[b - 1] = tmp;
		}
	}
	vec_free(&stack);
}

/* Adds the label of a time on the axis: "0", "250 ms", "1.5 s". */
static void add_time_label(struct strbuf *sb, double ns, double step)
{
	const char *unit = "ns";
	double div = 1;
	if (step >= 1e8) {
		unit = "s";
		div = 1e9;
	} else if (step >= 1e5) {
		unit = "ms";
		div = 1e6;
	} else if (step >= 1e2) {
		unit = "\xc2\xb5s";
		div = 1e3;
	}
	if (ns == 0)
		strbuf_addstr(sb, "0");
	else
		strbuf_addf(sb, "%g %s", ns / div, unit);
}

/* The time axis of a timed chart: ticks at 1, 2 or 5 times a power of ten,
 * about one per 100 px, labelled from the first sample (flame.js redraws
 * it for a zoomed range). */
static void draw_axis(struct svg *s, double y)
{
	double range = (double)(s->t1 - s->t0), room = s->width - 2.0 * XPAD;
	double want = range / (room / 100 > 1 ? room / 100 : 1), step = 1;
	while (step * 10 <= want)
		step *= 10;
	step = want > step * 5 ? step * 10 : want > step * 2 ? step * 5 : want > step ? step * 2 : step;
	fputs("<g id=\"axis\">\n", s->out);
	for (double at = 0; at <= range + step / 1e6; at += step) {
		double x = XPAD + at * s->scale;
		strbuf_reset(&s->sb);
		strbuf_addstr(&s->sb, "<line x1=\"");
		add_num(&s->sb, x);
		strbuf_addstr(&s->sb, "\" x2=\"");
		add_num(&s->sb, x);
		strbuf_addf(&s->sb, "\" y1=\"%.0f\" y2=\"%.0f\"/><text x=\"", y - 4, y + 4 + FRAME_H + s->lanes_h);
		bool last = x > s->width - XPAD - 50; /* the last label ends at its tick, inside */
		add_num(&s->sb, last ? x - 2 : x + 2);
		strbuf_addf(&s->sb, "\" y=\"%.0f\"%s>", y - 6, last ? " text-anchor=\"end\"" : "");
		add_time_label(&s->sb, at, step);
		strbuf_addstr(&s->sb, "</text>\n");
		fwrite(s->sb.buf, 1, s->sb.len, s->out);
	}
	fputs("</g>\n", s->out);
}

/* The z a change must exceed in this graph: every frame with samples on
 * either side is tested, so the threshold is corrected for all of them
 * (flame_diff_threshold()). */
static void diff_threshold(struct svg *s)
{
	const struct flame_tree *t = s->t;
	double *z = xmalloc((t->nodes.n + 1) * sizeof(*z));
	size_t m = 0;
	s->zcrit = FLAME_Z95;
	for (size_t i = 1; i < t->nodes.n; i++) {
		const struct flame_node *n = &t->nodes.v[i];
		if (n->value <= 0 && flame_tree_base(t, (uint32_t)i) <= 0)
			continue;
		struct flame_change c;
		node_change(s, n, &c);
		z[m++] = c.z;
	}
	s->zcrit = flame_diff_threshold(z, m);
	free(z);
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
	s->max_delta = 0.01; /* changes under a point are never drawn deep */
	vec_push(&shown, 0);
	while (shown.n) {
		uint32_t p = shown.v[--shown.n];
		uint32_t first = flame_tree_open(s->t, p); /* may move the nodes */
		nv = t->nodes.v;
		for (uint32_t c = first; c != FLAME_NONE; c = nv[c].next_sibling) {
			const struct flame_node *nd = &nv[c];
			if (nd->value <= 0)
				continue;
			if (nd->depth > s->max_depth)
				s->max_depth = nd->depth; /* also counts a merged run at this depth */
			if (nd->value * s->scale < s->o->min_width)
				continue;
			flame_tree_origin(s->t, c);
			vec_push(&shown, c);
			if (nd->origin < 32)
				s->origins |= 1u << nd->origin;
			if (t->has_base) {
				struct flame_change ch;
				node_change(s, nd, &ch);
				if (ch.significant && fabs(ch.delta) > s->max_delta)
					s->max_delta = fabs(ch.delta);
			}
		}
	}
	vec_free(&shown);
}

/* What the values of a profile are, as a title names them: "peak heap
 * (bytes)"; NULL for samples, which every flame graph counts unless told. */
static const char *value_label(const struct flame_tree *t, char *buf, size_t len)
{
	static const char *const names[][2] = {
	    {"peak_space", "peak heap"},
	    {"alloc_space", "allocated"},
	    {"alloc_objects", "allocations"},
	    {"leaked_space", "leaked"},
	    {"leaked_objects", "leaked allocations"},
	    {"temporary_objects", "temporary allocations"},
	    {"inuse_space", "in use"},
	    {"inuse_objects", "allocations in use"},
	};
	const char *type = strtab_get(&t->strings, t->value_type), *unit = strtab_get(&t->strings, t->value_unit);
	if (!*type || !strcmp(type, "samples"))
		return NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(type, names[i][0]))
			type = names[i][1];
	if (*unit)
		snprintf(buf, len, "%.60s (%.30s)", type, unit);
	else
		snprintf(buf, len, "%.60s", type);
	return buf;
}

/* The default title says which view it is, and what the values are:
 * "Flame Graph (reversed)", "Flame Graph: peak heap (bytes)". */
static void default_title(struct strbuf *sb, const struct flame_tree *t, const struct flame_svg_options *o)
{
	if (t->has_base)
		strbuf_addstr(sb, o->negate ? "Differential Flame Graph (negated: BASE's shape)"
		                            : "Differential Flame Graph");
	else if (t->chart)
		strbuf_addstr(sb, "Flame Chart");
	else
		strbuf_addstr(sb, o->icicle ? "Icicle Graph" : "Flame Graph");
	if (o->view)
		strbuf_addf(sb, " (%s)", o->view);
	char buf[128];
	const char *what = value_label(t, buf, sizeof(buf));
	if (what)
		strbuf_addf(sb, ": %s", what);
}

/* Writes one line of the header, elided to max_chars. */
static void header_text(struct svg *s, const char *id, double x, double y, const char *anchor, const char *text,
                        size_t max_chars)
{
	struct strbuf *sb = &s->sb;
	strbuf_reset(sb);
	strbuf_addf(sb, "<text id=\"%s\" x=\"", id);
	add_num(sb, x);
	strbuf_addstr(sb, "\" y=\"");
	add_num(sb, y);
	strbuf_addf(sb, "\"%s%s%s>", anchor ? " text-anchor=\"" : "", anchor ? anchor : "", anchor ? "\"" : "");
	add_xml(sb, text, max_chars);
	strbuf_addstr(sb, "</text>\n");
	fwrite(sb->buf, 1, sb->len, s->out);
}

struct key {
	struct rgb c;
	const char *label;
};

static const struct {
	int origin;
	const char *label;
} legend[] = {
    {FLAME_ORIGIN_RUST, "Rust (yours)"},
    {FLAME_ORIGIN_RUST_DEP, "Rust crates"},
    {FLAME_ORIGIN_RUST_STD, "Rust std/core/alloc"},
    {FLAME_ORIGIN_C, "C"},
    {FLAME_ORIGIN_CPP, "C++"},
    {FLAME_ORIGIN_GO, "Go"},
    {FLAME_ORIGIN_JAVA, "Java/JVM"},
    {FLAME_ORIGIN_PYTHON, "Python"},
    {FLAME_ORIGIN_KERNEL, "kernel"},
    {FLAME_ORIGIN_UNKNOWN, "unknown"},
};

#define KEY_ROW 16

/* Lays out the legend keys in rows that fit the width; returns the rows
 * (draws them when y >= 0, the first row's top at y). */
static unsigned draw_keys(struct svg *s, const struct key *keys, size_t n, double y)
{
	double lx = XPAD;
	unsigned rows = n ? 1 : 0;
	for (size_t i = 0; i < n; i++) {
		double w = 14 + 6.6 * (double)strlen(keys[i].label) + 14;
		if (lx > XPAD && lx + w - 14 > s->width - XPAD) {
			lx = XPAD;
			rows++;
		}
		if (y >= 0) {
			double ky = y + (rows - 1) * KEY_ROW;
			fprintf(s->out,
			        "<rect class=\"key\" x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" "
			        "fill=\"#%02x%02x%02x\"/>"
			        "<text class=\"key\" x=\"%.0f\" y=\"%.0f\">",
			        lx, ky, keys[i].c.r, keys[i].c.g, keys[i].c.b, lx + 14, ky + 9);
			strbuf_reset(&s->sb);
			add_xml(&s->sb, keys[i].label, SIZE_MAX);
			fwrite(s->sb.buf, 1, s->sb.len, s->out);
			fputs("</text>\n", s->out);
		}
		lx += w;
	}
	return rows;
}

/* The keys of the legend: languages, or the colour scale of a diff. */
static size_t legend_keys(struct svg *s, struct key *keys, char *lo, char *hi, size_t len)
{
	if (s->t->has_base) {
		struct flame_change up = {.delta = s->max_delta, .significant = true};
		struct flame_change down = {.delta = -s->max_delta, .significant = true};
		struct flame_change up_small = {.delta = s->max_delta * 0.2, .significant = true};
		struct flame_change down_small = {.delta = -s->max_delta * 0.2, .significant = true};
		struct flame_change none = {0};
		snprintf(lo, len, "\xe2\x88\x92%.1f points", s->max_delta * 100);
		snprintf(hi, len, "+%.1f points", s->max_delta * 100);
		keys[0] = (struct key){diff_color(&down, s->max_delta), lo};
		keys[1] = (struct key){diff_color(&down_small, s->max_delta), "shrank"};
		keys[2] = (struct key){diff_color(&none, s->max_delta), "not significant (95%, Benjamini-Hochberg)"};
		keys[3] = (struct key){diff_color(&up_small, s->max_delta), "grew"};
		keys[4] = (struct key){diff_color(&up, s->max_delta), hi};
		return 5;
	}
	if (s->o->palette != FLAME_PALETTE_LANG)
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < sizeof(legend) / sizeof(legend[0]); i++)
		if (s->origins & (1u << legend[i].origin)) /* only the languages drawn */
			keys[n++] =
			    (struct key){palette_color(FLAME_PALETTE_LANG, legend[i].origin, ""), legend[i].label};
	return n;
}

static int by_value_desc(const void *x, const void *y, void *ctx)
{
	const struct flame_tree *g = ctx;
	int64_t a = g->nodes.v[*(const uint32_t *)x].value, b = g->nodes.v[*(const uint32_t *)y].value;
	return a > b ? -1 : a < b;
}

#define GONE_SHOWN 4

/* "gone from NEW: f (12.00% of BASE), ..." for the outermost frames of
 * BASE that NEW does not have, the largest first; those whose loss is
 * within sampling noise are only counted. False when none. */
static bool gone_line(const struct flame_tree *g, const struct flame_svg_options *o, double zcrit, struct strbuf *sb)
{
	if (!g || !g->has_base || g->nodes.n < 2 || g->nodes.v[0].value <= 0)
		return false;
	VEC(uint32_t) gone = {0};
	size_t noise = 0;
	double total = (double)g->nodes.v[0].value, ntotal = (double)g->base_total;
	double per = o->base_samples > 0 ? o->base_samples / total : 1;
	double nper = o->samples > 0 && ntotal > 0 ? o->samples / ntotal : 1;
	for (size_t i = 1; i < g->nodes.n; i++) {
		const struct flame_node *n = &g->nodes.v[i];
		if (n->value <= 0 || flame_tree_base(g, (uint32_t)i) > 0 ||
		    (n->parent != 0 && flame_tree_base(g, n->parent) <= 0))
			continue;
		struct flame_change c;
		flame_change_of((double)n->value * per, total * per, 0, ntotal * nper, zcrit, &c);
		if (c.significant)
			vec_push(&gone, (uint32_t)i);
		else
			noise++;
	}
	if (gone.n)
		qsort_r(gone.v, gone.n, sizeof(*gone.v), by_value_desc, (void *)g);
	strbuf_addstr(sb, "gone from NEW: ");
	for (size_t i = 0; i < gone.n && i < GONE_SHOWN; i++) {
		const struct flame_node *n = &g->nodes.v[gone.v[i]];
		strbuf_addf(sb, "%s%s (%.2f%% of BASE)", i ? ", " : "", strtab_get(&g->strings, n->name),
		            100.0 * (double)n->value / total);
	}
	if (gone.n > GONE_SHOWN)
		strbuf_addf(sb, " and %zu more", gone.n - GONE_SHOWN);
	if (noise)
		strbuf_addf(sb, "%s%zu frame%s within sampling noise", gone.n ? "; " : "", noise,
		            noise == 1 ? "" : "s");
	strbuf_addstr(sb, " (--negate draws them)");
	bool any = gone.n || noise;
	vec_free(&gone);
	return any;
}

/* o with the defaults filled in. */
static struct flame_svg_options svg_defaults(const struct flame_svg_options *opt)
{
	struct flame_svg_options o = *opt;
	if (!o.width)
		o.width = 1200;
	if (o.width < 200)
		o.width = 200;
	if (o.min_width < 0)
		o.min_width = 0.1;
	return o;
}

double flame_svg_narrowest(const struct flame_svg_options *opt)
{
	struct flame_svg_options o = svg_defaults(opt);
	return o.min_width / (o.width - 2.0 * XPAD);
}

int flame_render_svg(FILE *out, struct flame_tree *t, const struct flame_svg_options *opt)
{
	struct flame_svg_options o = svg_defaults(opt);
	struct svg s = {.t = t, .o = &o, .out = out, .width = o.width, .zcrit = FLAME_Z95};
	strtab_init(&s.extra);
	uint32_t nstr = strtab_count(&t->strings);
	s.str_index = xmalloc((nstr + 1) * sizeof(*s.str_index));
	for (uint32_t i = 0; i < nstr; i++)
		s.str_index[i] = (struct str_slot){FLAME_NONE, t->strings.lens.v[i]};
	s.str_index[nstr] = (struct str_slot){FLAME_NONE, 0};
	int64_t total = t->nodes.v[0].value;
	s.scale = total > 0 ? (double)(o.width - 2 * XPAD) / (double)total : 0;
	s.timed = t->chart && t->period && t->spans.n == t->nodes.n && t->nodes.n > 1 && !t->has_base;
	if (s.timed) {
		s.t0 = t->spans.v[0].start;
		s.t1 = t->spans.v[0].end > s.t0 ? t->spans.v[0].end : s.t0 + 1;
		s.scale = (double)(o.width - 2 * XPAD) / (double)(s.t1 - s.t0);
		measure_timed(&s);
	} else {
		if (t->has_base)
			diff_threshold(&s);
		measure(&s);
	}
	const char *vtype = strtab_get(&t->strings, t->value_type), *vunit = strtab_get(&t->strings, t->value_unit);
	s.samples = !*vtype || !strcmp(vtype, "samples");
	snprintf(s.unit_label, sizeof(s.unit_label), "%.30s%s%.30s", vtype, strcmp(vunit, "count") ? " " : "",
	         strcmp(vunit, "count") ? vunit : "");

	struct strbuf title = STRBUF_INIT, gone = STRBUF_INIT;
	if (o.title)
		strbuf_addstr(&title, o.title);
	else
		default_title(&title, t, &o);
	bool has_gone = t->has_base && gone_line(o.gone, &o, s.zcrit, &gone);
	const char *lines[5][2] = {{"subtitle", o.subtitle},
	                           {"info", o.info},
	                           {"base", t->has_base ? o.base_info : NULL},
	                           {"new", t->has_base ? o.new_info : NULL},
	                           {"gone", has_gone ? strbuf_str(&gone) : NULL}};
	unsigned nlines = 0;
	for (int i = 0; i < 5; i++)
		nlines += lines[i][1] != NULL;
	struct key keys[16];
	char lo[48], hi[48];
	size_t nkeys = legend_keys(&s, keys, lo, hi, sizeof(lo));
	unsigned key_rows = draw_keys(&s, keys, nkeys, -1);
	s.pad_top = 40 + 18 * nlines + (o.notes ? 18 : 0);
	s.pad_bottom = 34 + (key_rows ? 2 + KEY_ROW * key_rows : 0);
	s.height = s.pad_top + (s.max_depth + 1) * FRAME_H + s.pad_bottom;
	if (s.timed) { /* the axis, the row of all threads, then the lanes */
		double top = s.pad_top + AXIS_H + FRAME_H + LANE_GAP;
		for (uint32_t k = 0; k < s.nlanes; k++)
			s.lane_top[k] += top;
		s.lane_top[s.nlanes] = s.pad_top + AXIS_H; /* the root's row */
		s.height = (unsigned)(top + s.lanes_h) + s.pad_bottom;
	}
	str_ref(&s, 0); /* S[0] is "" */

	fprintf(out,
	        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
	        "<svg version=\"1.1\" width=\"%u\" height=\"%u\" viewBox=\"0 0 %u %u\" "
	        "xmlns=\"http://www.w3.org/2000/svg\" class=\"kiln-flame\">\n",
	        s.width, s.height, s.width, s.height);
	strbuf_reset(&s.sb);
	strbuf_addstr(&s.sb, "<title>");
	add_xml(&s.sb, strbuf_str(&title), SIZE_MAX);
	strbuf_addstr(&s.sb, "</title>\n");
	if (o.notes) {
		strbuf_addstr(&s.sb, "<desc>");
		add_xml(&s.sb, o.notes, SIZE_MAX);
		strbuf_addstr(&s.sb, "</desc>\n");
	}
	fwrite(s.sb.buf, 1, s.sb.len, out);
	fprintf(out, "<style><![CDATA[\n%s]]></style>\n", flame_asset_css);
	fprintf(out, "<rect id=\"bg\" width=\"100%%\" height=\"100%%\"/>\n");
	/* the title leaves room for the controls beside it; every line stays
	 * inside the canvas however long it is */
	double room = s.width - 2.0 * XPAD;
	double title_room = (room - 2 * 200) / 10.3; /* Search and the case toggle on the right */
	size_t title_chars = title_room > 8 ? (size_t)title_room : 8, line_chars = (size_t)(room / CHAR_W);
	header_text(&s, "title", s.width / 2.0, 24, "middle", strbuf_str(&title), title_chars);
	double y = 24;
	for (int i = 0; i < 5; i++)
		if (lines[i][1])
			header_text(&s, lines[i][0], s.width / 2.0, y += 18, "middle", lines[i][1], line_chars);
	if (o.notes)
		header_text(&s, "notes", s.width / 2.0, y += 18, "middle", o.notes, line_chars);
	/* the controls show once the script runs: an <img> has no use for them */
	fprintf(out,
	        "<text id=\"unzoom\" class=\"ctl hide\" x=\"%d\" y=\"24\" tabindex=\"0\">Reset Zoom</text>\n"
	        "<text id=\"search\" class=\"ctl hide\" x=\"%u\" y=\"24\" text-anchor=\"end\" "
	        "tabindex=\"0\">Search</text>\n"
	        "<text id=\"case\" class=\"ctl hide\" x=\"%u\" y=\"24\" text-anchor=\"end\" "
	        "tabindex=\"0\">case: exact</text>\n"
	        "<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n"
	        "<text id=\"matched\" x=\"%u\" y=\"%u\" text-anchor=\"end\"> </text>\n",
	        XPAD, s.width - XPAD, s.width - XPAD - 104, XPAD, s.height - s.pad_bottom + 22, s.width - XPAD,
	        s.height - s.pad_bottom + 22);
	if (total <= 0) /* an empty input is not an empty picture */
		fprintf(out, "<text id=\"empty\" x=\"%u\" y=\"%u\" text-anchor=\"middle\">no samples</text>\n",
		        s.width / 2, s.pad_top + FRAME_H + 12);
	draw_keys(&s, keys, nkeys, s.height - s.pad_bottom + 32);
	if (s.timed)
		draw_axis(&s, s.pad_top + AXIS_H - 4);
	fputs("<g id=\"frames\">\n", out);
	if (s.timed)
		emit_timed(&s);
	else
		emit_all(&s);
	fputs("</g>\n", out);

	/* the data the script needs; JSON escaping keeps "]]>" out of it */
	fprintf(out,
	        "<script type=\"text/ecmascript\"><![CDATA[\nvar K={w:%u,h:%u,xpad:%d,fh:%d,cw:%.1f,icicle:%d,"
	        "ptop:%u,pbot:%u,diff:%d,negate:%d,chart:%d,total:%" PRId64 ",btotal:%" PRId64
	        ",maxdelta:%.17g,zcrit:%.17g,palette:%d,ns:%.17g,bs:%.17g,time:%d,span:%" PRIu64 ",period:%" PRIu64
	        ",axisy:%u,lanesh:%.0f,"
	        "stride:%d,type:",
	        s.width, s.height, XPAD, FRAME_H, CHAR_W, o.icicle || s.timed ? 1 : 0, s.pad_top, s.pad_bottom,
	        t->has_base ? 1 : 0, o.negate ? 1 : 0, t->chart ? 1 : 0, total, t->base_total, s.max_delta, s.zcrit,
	        (int)o.palette, o.samples > 0 ? o.samples : 0, o.base_samples > 0 ? o.base_samples : 0, s.timed ? 1 : 0,
	        s.timed ? s.t1 - s.t0 : 0, s.timed ? t->period : 0, s.pad_top + AXIS_H - 4, s.lanes_h,
	        s.timed       ? 11
	        : t->has_base ? 10
	                      : 9);
	strbuf_reset(&s.sb);
	add_json(&s.sb, strtab_get(&t->strings, t->value_type));
	strbuf_addstr(&s.sb, ",unit:");
	add_json(&s.sb, strtab_get(&t->strings, t->value_unit));
	fwrite(s.sb.buf, 1, s.sb.len, out);
	fputs(",\nS:[", out);
	fwrite(strbuf_str(&s.strs), 1, s.strs.len, out);
	fputs("],\nF:[", out);
	fwrite(strbuf_str(&s.data), 1, s.data.len, out);
	/* the frames in the boxes, and which box holds which: hidden, index, where, how many, first ordinal */
	fputs("],\nH:\"", out);
	fwrite(strbuf_str(&s.hdata), 1, s.hdata.len, out);
	fputs("\",\nM:[", out);
	bool first_box = true;
	for (size_t i = 0; i < s.boxes.n; i++) {
		const struct box *b = &s.boxes.v[i];
		if (!b->nkept)
			continue;
		fprintf(out, "%s%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64, first_box ? "" : ",",
		        b->hidden ? 1 : 0, b->index, b->off, b->nkept, b->first_ord);
		first_box = false;
	}
	fprintf(out, "],depth:%u};\n]]></script>\n<script type=\"text/ecmascript\"><![CDATA[\n", s.max_depth);
	fputs(flame_asset_js, out);
	fputs("\n]]></script>\n</svg>\n", out);

	if (o.stats) {
		uint64_t nonempty = 0;
		for (size_t i = 0; i < t->nodes.n; i++)
			nonempty += i == 0 || t->nodes.v[i].value > 0;
		nonempty += t->npacked; /* every packed node has a value */
		o.stats->frames = s.frames - s.merged_boxes;
		o.stats->merged_boxes = s.merged_boxes;
		o.stats->hidden = nonempty - o.stats->frames;
	}
	strbuf_release(&s.sb);
	strbuf_release(&s.data);
	strbuf_release(&s.hdata);
	vec_free(&s.boxes);
	vec_free(&s.str_log);
	vec_free(&s.patches);
	strbuf_release(&s.strs);
	strtab_release(&s.extra);
	strbuf_release(&title);
	strbuf_release(&gone);
	free(s.lane_of);
	free(s.lane_top);
	free(s.extra_index);
	free(s.str_index);
	vec_free(&s.dry_new);
	fflush(out);
	return ferror(out) ? -EIO : 0;
}
