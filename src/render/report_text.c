/* report_text.c - `kiln report` for people: a header block with warnings,
 * then aligned tables (hottest functions, threads) or an indented call
 * tree. Long names are elided in the middle to fit the terminal width the
 * caller passes; colours only when the caller says so.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "render/report.h"
#include "render/lost_hint.h"
#include "render/symbols_hint.h"
#include "render/units.h"
#include "util/xalloc.h"

#define ELLIPSIS     "\xe2\x80\xa6" /* U+2026, one column wide */
#define MIN_NAME_COL 16
#define MAX_NAME_COL 60 /* without a terminal: longer names overflow instead */

/* ANSI SGR codes */
#define C_RESET  "\033[0m"
#define C_BOLD   "\033[1m"
#define C_DIM    "\033[2m"
#define C_RED    "\033[31m"
#define C_GREEN  "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN   "\033[36m"

static void color_on(const struct report_ctx *c, const char *code)
{
	if (c->o->color)
		strbuf_addstr(c->out, code);
}

static void color_off(const struct report_ctx *c)
{
	if (c->o->color)
		strbuf_addstr(c->out, C_RESET);
}

/* A cell that may or may not be coloured: no reset after no colour. */
static void color_off_if(const struct report_ctx *c, const char *code)
{
	if (*code)
		color_off(c);
}

/* Display columns of a UTF-8 string: one per code point. */
static size_t text_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Byte offset of the code point that starts column `col`. */
static size_t byte_at_col(const char *s, size_t col)
{
	size_t i = 0, w = 0;
	while (s[i]) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (w == col)
				return i;
			w++;
		}
		i++;
	}
	return i;
}

/* Appends s, elided in the middle to at most max columns (0 = no limit),
 * and returns the columns written. */
static size_t add_elided(struct strbuf *sb, const char *s, size_t max)
{
	/* a newline or escape in a symbol name must not break the table */
	for (const char *q = s; *q; q++) {
		if ((unsigned char)*q < 0x20 || *q == 0x7f) {
			char *clean = xstrdup(s);
			for (char *c = clean; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '?';
			size_t w = add_elided(sb, clean, max);
			free(clean);
			return w;
		}
	}
	size_t w = text_width(s);
	if (!max || w <= max) {
		strbuf_addstr(sb, s);
		return w;
	}
	if (max < 3) {
		strbuf_add(sb, s, byte_at_col(s, max));
		return max;
	}
	/* keep more of the tail: the last path component or function name matters most */
	size_t head = (max - 1) * 2 / 5, tail = max - 1 - head;
	strbuf_add(sb, s, byte_at_col(s, head));
	strbuf_addstr(sb, ELLIPSIS);
	strbuf_addstr(sb, s + byte_at_col(s, w - tail));
	return max;
}

static void add_spaces(struct strbuf *sb, size_t n)
{
	while (n--)
		strbuf_addch(sb, ' ');
}

/* Left-aligned cell of `width` columns; longer text is elided when elide,
 * else overflows. */
static void add_cell(struct strbuf *sb, const char *s, size_t width, bool elide)
{
	size_t w = add_elided(sb, s, elide ? width : 0);
	if (w < width)
		add_spaces(sb, width - w);
}

static void add_right(struct strbuf *sb, const char *s, size_t width)
{
	size_t w = text_width(s);
	if (w < width)
		add_spaces(sb, width - w);
	strbuf_addstr(sb, s);
}

/* 1234567 -> "1,234,567" */
static const char *fmt_count(char *buf, size_t size, uint64_t v)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%" PRIu64, v);
	size_t o = 0;
	for (int i = 0; i < n && o + 2 < size; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
}

static const char *fmt_bytes(char *buf, size_t size, uint64_t b)
{
	static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u)
		snprintf(buf, size, "%.1f %s", v, units[u]);
	else
		snprintf(buf, size, "%" PRIu64 " B", b);
	return buf;
}

/* A value in its unit: durations, byte sizes, else a plain count. */
static const char *fmt_value(char *buf, size_t size, const char *unit, int64_t v)
{
	uint64_t u = v < 0 ? 0 : (uint64_t)v;
	if (!strcmp(unit, "nanoseconds"))
		return render_duration_str(buf, size, u);
	if (!strcmp(unit, "bytes"))
		return fmt_bytes(buf, size, u);
	return fmt_count(buf, size, u);
}

static const char *fmt_pct(char *buf, size_t size, double pct)
{
	snprintf(buf, size, "%.1f%%", pct);
	return buf;
}

/* perf's heat: red from 5%, green from 0.5% */
static void add_pct_cell(const struct report_ctx *c, double pct, size_t width)
{
	char buf[16];
	fmt_pct(buf, sizeof(buf), pct);
	const char *code = pct >= 5.0 ? C_RED : pct >= 0.5 ? C_GREEN : "";
	color_on(c, code);
	add_right(c->out, buf, width);
	color_off_if(c, code);
}

static void header_key(const struct report_ctx *c, const char *key)
{
	color_on(c, C_BOLD);
	strbuf_addf(c->out, "%-12s", key);
	color_off(c);
}

static void warning(const struct report_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warning(const struct report_ctx *c, const char *fmt, ...)
{
	color_on(c, C_YELLOW C_BOLD);
	strbuf_addstr(c->out, "warning:");
	color_off(c);
	strbuf_addch(c->out, ' ');
	va_list ap;
	va_start(ap, fmt);
	strbuf_vaddf(c->out, fmt, ap);
	va_end(ap);
	strbuf_addch(c->out, '\n');
}

static void text_header(const struct report_ctx *c)
{
	const struct profile *p = c->p;
	const struct hotspots *h = c->h;
	struct strbuf *out = c->out;
	char a[64], b[64];
	const char *s;

	header_key(c, "file");
	strbuf_addstr(out, c->o->file ? c->o->file : "");
	if (!c->o->complete) {
		color_on(c, C_YELLOW);
		strbuf_addstr(out, " (cut short)");
		color_off(c);
	}
	strbuf_addch(out, '\n');
	if ((s = profile_get_meta(p, "command")) && *s) {
		header_key(c, "command");
		strbuf_addf(out, "%s\n", s);
	}
	if ((s = profile_get_meta(p, "filter")) && *s) {
		header_key(c, "filter");
		strbuf_addf(out, "%s\n", s);
	}
	const char *host = profile_get_meta(p, "hostname"), *kernel = profile_get_meta(p, "kernel");
	uint64_t start = profile_get_meta_u64(p, "start_time", 0);
	if ((host && *host) || start) {
		header_key(c, "recorded");
		if (start) {
			time_t t = (time_t)(start / 1000000000ull);
			struct tm tm;
			if (localtime_r(&t, &tm) && strftime(a, sizeof(a), "%Y-%m-%d %H:%M:%S", &tm))
				strbuf_addstr(out, a);
		}
		if (host && *host)
			strbuf_addf(out, "%son %s", start ? " " : "", host);
		if (kernel && *kernel)
			strbuf_addf(out, " (linux %s)", kernel);
		strbuf_addch(out, '\n');
	}
	s = profile_get_meta(p, "event");
	uint64_t freq = profile_get_meta_u64(p, "frequency", 0);
	const char *time = profile_get_meta(p, "time");
	if ((s && *s) || freq) {
		/* off-CPU recordings take every switch: -F is not theirs */
		bool every = time && !strcmp(time, "offcpu"), wall = time && !strcmp(time, "wall");
		header_key(c, "event");
		strbuf_addstr(out, s && *s ? s : "?");
		if (every)
			strbuf_addstr(out, ", every switch");
		else if (freq)
			strbuf_addf(out, " at %s Hz", fmt_count(a, sizeof(a), freq));
		if (wall) {
			const char *off = profile_get_meta(p, "offcpu_event");
			strbuf_addf(out, ", and %s at every switch", off && *off ? off : "sched:sched_switch");
		}
		strbuf_addch(out, '\n');
	}
	s = profile_get_meta(p, "engine");
	if (s && *s) {
		/* the agent engine samples from inside the target: say what it misses */
		const char *blind = profile_get_meta(p, "engine_blind");
		header_key(c, "engine");
		if (!strcmp(s, "agent"))
			strbuf_addf(out, "agent (CPU-time timers in the target; cannot see %s)\n",
			            blind && *blind ? blind : "kernel frames, time spent blocked");
		else
			strbuf_addf(out, "%s\n", !strcmp(s, "perf") ? "perf_event_open" : s);
	}
	s = profile_get_meta(p, "call_graph");
	if (s && *s) {
		header_key(c, "call graph");
		strbuf_addstr(out, s);
		uint64_t size = profile_get_meta_u64(p, "stack_size", 0);
		if (!strcmp(s, "dwarf") && size)
			strbuf_addf(out, ", %s-byte stack copy", fmt_count(a, sizeof(a), size));
		s = profile_get_meta(p, "kernel_stacks");
		if (s && !strcmp(s, "no"))
			strbuf_addstr(out, ", user space only");
		strbuf_addch(out, '\n');
	}

	header_key(c, "samples");
	strbuf_addstr(out, fmt_count(a, sizeof(a), h->samples));
	uint64_t dur = profile_get_meta_u64(p, "duration_ns", 0);
	if (dur)
		strbuf_addf(out, " in %s", render_duration_str(b, sizeof(b), dur));
	size_t nthreads = h->threads.n > p->threads.n ? h->threads.n : p->threads.n;
	strbuf_addf(out, ", %s thread%s", fmt_count(a, sizeof(a), nthreads), nthreads == 1 ? "" : "s");
	if (h->threads.n != nthreads)
		strbuf_addf(out, " (%zu with samples)", h->threads.n);
	strbuf_addch(out, '\n');
	header_key(c, "value");
	strbuf_addf(out, "%s (%s), total %s\n", h->value_type, h->value_unit,
	            fmt_value(a, sizeof(a), h->value_unit, h->total));
	/* CPU-time timers fire at most once per kernel tick, so the agent
	 * engine may take fewer samples than asked: say so with the rate it
	 * reached (each sample carries the CPU time it stands for) */
	s = profile_get_meta(p, "engine");
	if (s && !strcmp(s, "agent") && freq && h->samples && h->total && !strcmp(h->value_unit, "nanoseconds")) {
		double rate = (double)h->samples / ((double)h->total / 1e9);
		if (rate < 0.9 * (double)freq) {
			header_key(c, "rate");
			strbuf_addf(out,
			            "%.0f samples per CPU-second of the %s Hz asked (CPU-time timers fire at most once "
			            "per kernel tick; each sample is weighted by the CPU time it stands for)\n",
			            rate, fmt_count(a, sizeof(a), freq));
		}
	}

	uint64_t lost = profile_get_meta_u64(p, "lost_samples", 0);
	uint64_t trunc = profile_get_meta_u64(p, "truncated_stacks", 0);
	if (lost) {
		struct strbuf sb = STRBUF_INIT;
		render_lost_hint(p, h->samples, &sb);
		warning(c, "%s", strbuf_str(&sb));
		strbuf_release(&sb);
	}
	if (trunc) {
		uint64_t all = h->samples ? h->samples : trunc;
		const char *mode = profile_get_meta(p, "call_graph");
		char pct[16];
		snprintf(pct, sizeof(pct), "%.1f%%", 100.0 * (double)trunc / (double)all);
		uint64_t copy = profile_get_meta_u64(p, "stack_size", 65528);
		if (mode && !strcmp(mode, "fp"))
			warning(c,
			        "%s of %s samples (%s) had stacks deeper than the kernel's limit; raise it with "
			        "sysctl kernel.perf_event_max_stack=1024",
			        fmt_count(a, sizeof(a), trunc), fmt_count(b, sizeof(b), all), pct);
		else if (copy < 65528)
			warning(c,
			        "%s of %s samples (%s) had stacks cut short by the %" PRIu64
			        "-byte stack copy (shown under [truncated]); raise it with --call-graph dwarf,65528",
			        fmt_count(a, sizeof(a), trunc), fmt_count(b, sizeof(b), all), pct, copy);
		else
			warning(c,
			        "%s of %s samples (%s) had stacks deeper than the largest stack copy the kernel allows "
			        "(65,528 bytes); they are shown under [truncated]",
			        fmt_count(a, sizeof(a), trunc), fmt_count(b, sizeof(b), all), pct);
	}
	uint64_t uncopied = profile_get_meta_u64(p, "stack_not_copied", 0);
	uint64_t exec_cut = profile_get_meta_u64(p, "exec_cut_stacks", 0);
	uint64_t unwind_errors = profile_get_meta_u64(p, "unwind_errors", 0);
	uint64_t all = h->samples ? h->samples : uncopied + exec_cut + unwind_errors;
	if (uncopied)
		warning(c,
		        "%s of %s samples (%.1f%%) had no user stack copied (its page was not present); they stop "
		        "after what the registers give, under [stack not copied]",
		        fmt_count(a, sizeof(a), uncopied), fmt_count(b, sizeof(b), all),
		        100.0 * (double)uncopied / (double)all);
	if (exec_cut)
		warning(c, "%s of %s samples (%.1f%%) were taken inside execve; their stacks stop under [cut by exec]",
		        fmt_count(a, sizeof(a), exec_cut), fmt_count(b, sizeof(b), all),
		        100.0 * (double)exec_cut / (double)all);
	if (unwind_errors)
		warning(c,
		        "%s of %s stacks (%.1f%%) stop early at code that could not be unwound (no module or call "
		        "frame information there); see kiln-record(1)",
		        fmt_count(a, sizeof(a), unwind_errors), fmt_count(b, sizeof(b), all),
		        100.0 * (double)unwind_errors / (double)all);
	s = profile_get_meta(p, "missing_modules");
	if (s && *s) {
		size_t n = 1;
		for (const char *q = s; *q; q++)
			n += *q == ',';
		warning(c, "no binary found for %zu module%s (%s); their frames show as module+offset", n,
		        n == 1 ? "" : "s", s);
	}
	struct strbuf hint = STRBUF_INIT;
	render_symbols_hint(p, &hint);
	if (hint.len)
		warning(c, "%s", strbuf_str(&hint));
	strbuf_release(&hint);
	strbuf_addch(out, '\n');
	if (!h->samples)
		strbuf_addf(out, "no samples in '%s'\n", c->o->file ? c->o->file : "");
}

/* Where a function is, for people: file:line (shortened), else its module. */
static void location_text(struct strbuf *sb, const struct profile *p, const struct hotspot_func *f)
{
	const char *file = profile_str(p, f->file);
	if (!*file) {
		strbuf_addstr(sb, profile_str(p, f->module));
		return;
	}
	/* Rust's standard library paths start /rustc/<commit hash>/: drop that */
	if (!strncmp(file, "/rustc/", 7)) {
		const char *q = strchr(file + 7, '/');
		if (q)
			file = q + 1;
	}
	char cwd[4096];
	if (getcwd(cwd, sizeof(cwd))) {
		size_t n = strlen(cwd);
		if (n > 1 && !strncmp(file, cwd, n) && file[n] == '/')
			file += n + 1;
	}
	strbuf_addstr(sb, file);
	if (f->line)
		strbuf_addf(sb, ":%u", f->line);
}

static const char *func_name(const struct profile *p, uint32_t id)
{
	const char *s = profile_str(p, id);
	return *s ? s : "[unknown]";
}

static void text_functions(const struct report_ctx *c)
{
	const struct profile *p = c->p;
	const struct hotspots *h = c->h;
	struct strbuf *out = c->out;
	size_t n = h->funcs.n;
	if (c->o->limit && c->o->limit < n)
		n = c->o->limit;
	if (!n)
		return;

	/* measure the columns */
	char buf[64];
	struct strbuf loc = STRBUF_INIT;
	size_t sampw = strlen("Samples"), namew = strlen("Function"), locw = 0;
	for (size_t i = 0; i < n; i++) {
		const struct hotspot_func *f = &h->funcs.v[i];
		size_t w = strlen(fmt_count(buf, sizeof(buf), f->self_samples));
		if (w > sampw)
			sampw = w;
		w = text_width(func_name(p, f->name));
		if (w > namew)
			namew = w;
		strbuf_reset(&loc);
		location_text(&loc, p, f);
		w = text_width(strbuf_str(&loc));
		if (w > locw)
			locw = w;
	}
	const size_t pctw = 7; /* "100.0%" and a space */
	size_t fixed = pctw + 1 + pctw + 2 + sampw + 2;
	bool elide = c->o->width > 0;
	size_t lw = locw;
	if (elide) {
		size_t rest = (size_t)c->o->width > fixed ? (size_t)c->o->width - fixed : 0;
		if (namew + 2 + locw > rest) {
			/* names matter more than locations: they get 3/5 of the room, more
			 * when the locations are short */
			size_t share = rest * 3 / 5;
			if (rest > locw + 2 && rest - 2 - locw > share)
				share = rest - 2 - locw;
			if (namew > share)
				namew = share;
			if (namew < MIN_NAME_COL)
				namew = MIN_NAME_COL;
			lw = rest > namew + 2 + 8 ? rest - namew - 2 : 8;
		}
	} else if (namew > MAX_NAME_COL) {
		namew = MAX_NAME_COL;
	}

	color_on(c, C_BOLD);
	add_right(out, "Self%", pctw);
	strbuf_addch(out, ' ');
	add_right(out, "Total%", pctw);
	strbuf_addstr(out, "  ");
	add_right(out, "Samples", sampw);
	strbuf_addstr(out, "  ");
	add_cell(out, "Function", namew, false);
	strbuf_addstr(out, "  Location");
	color_off(c);
	strbuf_addch(out, '\n');

	for (size_t i = 0; i < n; i++) {
		const struct hotspot_func *f = &h->funcs.v[i];
		add_pct_cell(c, hotspots_pct(h, f->self), pctw);
		strbuf_addch(out, ' ');
		add_pct_cell(c, hotspots_pct(h, f->total), pctw);
		strbuf_addstr(out, "  ");
		add_right(out, fmt_count(buf, sizeof(buf), f->self_samples), sampw);
		strbuf_addstr(out, "  ");
		add_cell(out, func_name(p, f->name), namew, elide);
		strbuf_addstr(out, "  ");
		strbuf_reset(&loc);
		location_text(&loc, p, f);
		color_on(c, C_DIM);
		add_elided(out, strbuf_str(&loc), elide ? lw : 0);
		color_off(c);
		/* no trailing blanks when the location is empty */
		while (out->len && out->buf[out->len - 1] == ' ')
			out->buf[--out->len] = '\0';
		strbuf_addch(out, '\n');
	}
	if (n < h->funcs.n) {
		char all[32];
		color_on(c, C_DIM);
		strbuf_addf(out, "(%s of %s functions; --limit 0 shows all)", fmt_count(buf, sizeof(buf), n),
		            fmt_count(all, sizeof(all), h->funcs.n));
		color_off(c);
		strbuf_addch(out, '\n');
	}
	strbuf_release(&loc);
}

struct tree_walk {
	const struct report_ctx *c;
	struct strbuf prefix; /* the glyphs of the ancestors' columns */
	size_t prefix_width;
};

static void tree_row(struct tree_walk *t, const struct hotspot_node *n, const char *glyph, const char *name)
{
	const struct report_ctx *c = t->c;
	struct strbuf *out = c->out;
	add_pct_cell(c, hotspots_pct(c->h, n->total), 7);
	strbuf_addch(out, ' ');
	add_pct_cell(c, hotspots_pct(c->h, n->self), 7);
	strbuf_addstr(out, "  ");
	color_on(c, C_DIM);
	strbuf_addstr(out, strbuf_str(&t->prefix));
	strbuf_addstr(out, glyph);
	color_off(c);
	size_t max = 0;
	if (c->o->width > 0) {
		size_t used = 7 + 1 + 7 + 2 + t->prefix_width + text_width(glyph);
		max = (size_t)c->o->width > used + 10 ? (size_t)c->o->width - used : 10;
	}
	add_elided(out, name, max);
	strbuf_addch(out, '\n');
}

static void tree_children(struct tree_walk *t, uint32_t node)
{
	const struct report_ctx *c = t->c;
	const struct hotspots *h = c->h;
	const struct hotspot_node *n = &h->tree.v[node];
	double min = c->o->min_percent;

	uint32_t shown = 0, hidden = 0;
	int64_t hidden_total = 0;
	for (uint32_t i = 0; i < n->nchildren; i++) {
		const struct hotspot_node *k = &h->tree.v[h->tree_children.v[n->first_child + i]];
		if (hotspots_pct(h, k->total) >= min && k->total > 0) {
			shown++;
		} else {
			hidden++;
			hidden_total += k->total;
		}
	}
	/* A lone child continues its parent's line of calls, as perf draws it:
	 * same column, no glyph, so long chains of wrappers do not push the
	 * interesting branches off the screen. */
	if (shown == 1 && !hidden && node != 0) {
		for (uint32_t i = 0; i < n->nchildren; i++) {
			uint32_t kid = h->tree_children.v[n->first_child + i];
			const struct hotspot_node *k = &h->tree.v[kid];
			if (hotspots_pct(h, k->total) >= min && k->total > 0) {
				tree_row(t, k, "", func_name(c->p, k->name));
				tree_children(t, kid);
			}
		}
		return;
	}
	uint32_t done = 0;
	for (uint32_t i = 0; i < n->nchildren; i++) {
		uint32_t kid = h->tree_children.v[n->first_child + i];
		const struct hotspot_node *k = &h->tree.v[kid];
		if (!(hotspots_pct(h, k->total) >= min && k->total > 0))
			continue;
		bool last = ++done == shown && !hidden;
		tree_row(t, k, last ? "└─ " : "├─ ", func_name(c->p, k->name));
		size_t len = t->prefix.len, width = t->prefix_width;
		strbuf_addstr(&t->prefix, last ? "   " : "│  ");
		t->prefix_width += 3;
		tree_children(t, kid);
		t->prefix.len = len;
		t->prefix.buf[len] = '\0';
		t->prefix_width = width;
	}
	if (hidden) {
		char label[96], pct[16];
		snprintf(label, sizeof(label), "%u more below %.1f%% (%s together)", hidden, min,
		         fmt_pct(pct, sizeof(pct), hotspots_pct(h, hidden_total)));
		struct strbuf *out = c->out;
		add_spaces(out, 7 + 1 + 7 + 2);
		color_on(c, C_DIM);
		strbuf_addstr(out, strbuf_str(&t->prefix));
		strbuf_addstr(out, "└─ ");
		strbuf_addstr(out, label);
		color_off(c);
		strbuf_addch(out, '\n');
	}
}

/* One blank line between the header and each section. */
static void section_gap(const struct report_ctx *c)
{
	const struct strbuf *out = c->out;
	if (out->len >= 2 && !(out->buf[out->len - 1] == '\n' && out->buf[out->len - 2] == '\n'))
		strbuf_addch(c->out, '\n');
}

static void text_tree(const struct report_ctx *c)
{
	struct strbuf *out = c->out;
	if (!c->h->samples)
		return;
	section_gap(c);
	color_on(c, C_BOLD);
	add_right(out, "Total%", 7);
	strbuf_addch(out, ' ');
	add_right(out, "Self%", 7);
	strbuf_addf(out, "  Call tree (callers above callees, hiding nodes below %.1f%%)", c->o->min_percent);
	color_off(c);
	strbuf_addch(out, '\n');
	struct tree_walk t = {.c = c};
	tree_row(&t, &c->h->tree.v[0], "", "all");
	tree_children(&t, 0);
	strbuf_release(&t.prefix);
}

static void text_threads(const struct report_ctx *c)
{
	const struct profile *p = c->p;
	const struct hotspots *h = c->h;
	struct strbuf *out = c->out;
	if (!h->threads.n)
		return;
	section_gap(c);
	char buf[64], pidbuf[16];
	size_t tidw = 3, pidw = 3, namew = 4, sampw = 7, valw = 0;
	bool many_pids = false;
	for (size_t i = 0; i < h->threads.n; i++) {
		const struct hotspot_thread *t = &h->threads.v[i];
		size_t w = (size_t)snprintf(buf, sizeof(buf), "%u", t->tid);
		tidw = w > tidw ? w : tidw;
		w = (size_t)snprintf(buf, sizeof(buf), "%u", t->pid);
		pidw = w > pidw ? w : pidw;
		many_pids |= t->pid != h->threads.v[0].pid;
		w = text_width(profile_str(p, t->name));
		namew = w > namew ? w : namew;
		w = strlen(fmt_count(buf, sizeof(buf), t->samples));
		sampw = w > sampw ? w : sampw;
		w = text_width(fmt_value(buf, sizeof(buf), h->value_unit, t->value));
		valw = w > valw ? w : valw;
	}
	bool show_value = strcmp(h->value_unit, "count") != 0;
	const char *value_label = !strcmp(h->value_type, "cpu") ? "CPU time" : h->value_type;
	valw = valw > text_width(value_label) ? valw : text_width(value_label);
	if (namew > 32)
		namew = 32; /* thread names are 15 bytes on Linux; anything longer is unusual */

	color_on(c, C_BOLD);
	add_right(out, "TID", tidw);
	if (many_pids) {
		strbuf_addstr(out, "  ");
		add_right(out, "PID", pidw);
	}
	strbuf_addstr(out, "  ");
	add_cell(out, "Name", namew, false);
	strbuf_addstr(out, "  ");
	add_right(out, "Samples", sampw);
	if (show_value) {
		strbuf_addstr(out, "  ");
		add_right(out, value_label, valw);
	}
	strbuf_addstr(out, "   Share");
	color_off(c);
	strbuf_addch(out, '\n');
	for (size_t i = 0; i < h->threads.n; i++) {
		const struct hotspot_thread *t = &h->threads.v[i];
		snprintf(pidbuf, sizeof(pidbuf), "%u", t->tid);
		add_right(out, pidbuf, tidw);
		if (many_pids) {
			strbuf_addstr(out, "  ");
			snprintf(pidbuf, sizeof(pidbuf), "%u", t->pid);
			add_right(out, pidbuf, pidw);
		}
		strbuf_addstr(out, "  ");
		const char *name = profile_str(p, t->name);
		add_cell(out, *name ? name : "?", namew, true);
		strbuf_addstr(out, "  ");
		add_right(out, fmt_count(buf, sizeof(buf), t->samples), sampw);
		if (show_value) {
			strbuf_addstr(out, "  ");
			add_right(out, fmt_value(buf, sizeof(buf), h->value_unit, t->value), valw);
		}
		strbuf_addstr(out, "  ");
		add_pct_cell(c, hotspots_pct(h, t->value), 6);
		strbuf_addch(out, '\n');
	}
}

const struct report_ops report_text_ops = {
    .name = "text",
    .header = text_header,
    .functions = text_functions,
    .tree = text_tree,
    .threads = text_threads,
};
