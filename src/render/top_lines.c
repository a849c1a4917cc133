/* top_lines.c - the lines of kiln top's views, shared by the terminal
 * view and the text snapshots, and the screen's filter. */
#include <stdio.h>
#include <string.h>

#include "render/top.h"

void top_screen_init(struct top_screen *s)
{
	memset(s, 0, sizeof(*s));
	s->mode = TOP_MODE_FUNCTIONS;
	s->sort = HOTSPOT_SORT_SELF;
}

void top_screen_release(struct top_screen *s)
{
	if (s && s->has_filter) {
		regfree(&s->filter);
		s->has_filter = false;
	}
}

int top_screen_set_filter(struct top_screen *s, const char *regex)
{
	regex_t re;
	if (!*regex) {
		top_screen_release(s);
		s->filter_text[0] = '\0';
		return 0;
	}
	int rc = regcomp(&re, regex, REG_EXTENDED | REG_ICASE | REG_NOSUB);
	if (rc) {
		char why[96];
		regerror(rc, &re, why, sizeof(why));
		snprintf(s->message, sizeof(s->message), "not a regular expression: '%s': %s", regex, why);
		return rc;
	}
	top_screen_release(s);
	s->filter = re;
	s->has_filter = true;
	snprintf(s->filter_text, sizeof(s->filter_text), "%s", regex);
	return 0;
}

static bool passes(const struct top_screen *s, uint32_t name)
{
	if (!s->has_filter)
		return true;
	return regexec(&s->filter, profile_str(s->h->profile, name), 0, NULL, 0) == 0;
}

size_t top_screen_nrows(const struct top_screen *s, enum top_mode mode)
{
	if (!s->h)
		return 0;
	size_t n = 0;
	if (mode == TOP_MODE_FUNCTIONS) {
		for (size_t i = 0; i < s->h->funcs.n; i++)
			n += passes(s, s->h->funcs.v[i].name);
	} else if (mode == TOP_MODE_THREADS) {
		for (size_t i = 0; i < s->nthreads; i++)
			n += passes(s, s->threads[i].name);
	} else if (s->tree) {
		n = s->tree->callers.n + s->tree->lines.n;
	}
	return n;
}

const struct hotspot_func *top_screen_function(const struct top_screen *s, size_t row)
{
	if (!s->h)
		return NULL;
	for (size_t i = 0; i < s->h->funcs.n; i++)
		if (passes(s, s->h->funcs.v[i].name) && row-- == 0)
			return &s->h->funcs.v[i];
	return NULL;
}

static void add_line(struct top_lines *l, enum top_line_kind kind, size_t row, size_t start)
{
	vec_push(&l->v, ((struct top_line){kind, row, start, l->text.len - start}));
}

static double pct(const struct top_screen *s, uint64_t v)
{
	return s->h && s->h->samples ? 100.0 * (double)v / (double)s->h->samples : 0.0;
}

static const char *state_name(char state)
{
	switch (state) {
	case 'R':
		return "running";
	case 'S':
		return "sleeping";
	case 'D':
		return "disk wait";
	case 'T':
		return "stopped";
	case 't':
		return "traced";
	case 'Z':
		return "zombie";
	case 'X':
		return "exited";
	case 'I':
		return "idle";
	case 0:
		return "exited";
	default:
		return "unknown";
	}
}

static const char *mode_name(const struct top_screen *s, enum top_mode mode)
{
	if (mode == TOP_MODE_THREADS)
		return "threads by samples";
	if (mode == TOP_MODE_CALLTREE)
		return "call tree";
	return s->sort == HOTSPOT_SORT_TOTAL ? "functions by total" : "functions by self";
}

static void title(struct top_lines *l, const struct top_screen *s, enum top_mode mode)
{
	size_t start = l->text.len;
	strbuf_addf(&l->text, "kiln top: %s | %s", s->st.target ? s->st.target : "?", mode_name(s, mode));
	if (mode == TOP_MODE_CALLTREE && s->h && s->sel_name)
		strbuf_addf(&l->text, " of %s", profile_str(s->h->profile, s->sel_name));
	if (s->has_filter)
		strbuf_addf(&l->text, " | filter /%s/", s->filter_text);
	if (s->paused)
		strbuf_addstr(&l->text, " | PAUSED");
	add_line(l, TOP_LINE_TITLE, 0, start);
	start = l->text.len;
	const struct top_status *st = &s->st;
	strbuf_addf(&l->text, "%.0f samples/s | lost %llu (%llu in all) | window %.1f s | %s", st->samples_per_s,
	            (unsigned long long)st->lost, (unsigned long long)st->lost_total, st->window_s,
	            st->event ? st->event : "?");
	if (st->freq)
		strbuf_addf(&l->text, " at %llu Hz", (unsigned long long)st->freq);
	else
		strbuf_addf(&l->text, " every %llu", (unsigned long long)st->period);
	strbuf_addf(&l->text, " | %llu samples", s->h ? (unsigned long long)s->h->samples : 0ull);
	if (!st->kernel)
		strbuf_addstr(&l->text, " | user stacks only");
	add_line(l, TOP_LINE_STATUS, 0, start);
}

static void function_rows(struct top_lines *l, const struct top_screen *s, size_t max_rows)
{
	size_t start = l->text.len;
	strbuf_addf(&l->text, "%7s %7s  %-18s %s", s->sort == HOTSPOT_SORT_SELF ? "*SELF%" : "SELF%",
	            s->sort == HOTSPOT_SORT_TOTAL ? "*TOTAL%" : "TOTAL%", "MODULE", "FUNCTION");
	add_line(l, TOP_LINE_HEADER, 0, start);
	size_t row = 0;
	for (size_t i = 0; s->h && i < s->h->funcs.n && (!max_rows || row < max_rows); i++) {
		const struct hotspot_func *f = &s->h->funcs.v[i];
		if (!passes(s, f->name))
			continue;
		start = l->text.len;
		strbuf_addf(&l->text, "%6.2f%% %6.2f%%  %-18.18s %s", pct(s, f->self_samples), pct(s, f->total_samples),
		            profile_str(s->h->profile, f->module), profile_str(s->h->profile, f->name));
		add_line(l, TOP_LINE_ROW, row++, start);
	}
}

static void thread_rows(struct top_lines *l, const struct top_screen *s, size_t max_rows)
{
	size_t start = l->text.len;
	strbuf_addf(&l->text, "%8s %7s %6s  %-28s %s", "TID", "SAMPLE%", "CPU%", "STATE", "NAME");
	add_line(l, TOP_LINE_HEADER, 0, start);
	size_t row = 0;
	for (size_t i = 0; i < s->nthreads && (!max_rows || row < max_rows); i++) {
		const struct top_thread *t = &s->threads[i];
		if (!s->h || !passes(s, t->name))
			continue;
		start = l->text.len;
		char cpu[16] = "-", state[80];
		/* at a frequency, the kernel aims at freq samples per second
		 * a thread runs: samples over freq are its seconds of CPU */
		if (s->st.freq && s->st.window_s > 0)
			snprintf(cpu, sizeof(cpu), "%.1f",
			         100.0 * (double)t->samples / ((double)s->st.freq * s->st.window_s));
		if (t->wchan[0])
			snprintf(state, sizeof(state), "%s (%s)", state_name(t->state), t->wchan);
		else
			snprintf(state, sizeof(state), "%s", state_name(t->state));
		strbuf_addf(&l->text, "%8u %6.2f%% %6s  %-28.28s %s", t->tid, pct(s, t->samples), cpu, state,
		            t->name ? profile_str(s->h->profile, t->name) : "?");
		add_line(l, TOP_LINE_ROW, row++, start);
	}
}

static void calltree_rows(struct top_lines *l, const struct top_screen *s, size_t max_rows)
{
	const struct profile *p = s->h ? s->h->profile : NULL;
	size_t start = l->text.len;
	strbuf_addf(&l->text, "%7s %7s  %s", "TOTAL%", "SELF%", "CALLERS, THEN THE CALL TREE OF THE FUNCTION");
	add_line(l, TOP_LINE_HEADER, 0, start);
	if (!p || !s->tree || !s->tree->lines.n) {
		start = l->text.len;
		strbuf_addf(&l->text, "  (%s has no samples in the window)",
		            p && s->sel_name ? profile_str(p, s->sel_name) : "the function");
		add_line(l, TOP_LINE_TEXT, 0, start);
		return;
	}
	size_t row = 0;
	for (size_t i = 0; i < s->tree->callers.n && (!max_rows || row < max_rows); i++) {
		const struct top_caller *c = &s->tree->callers.v[i];
		start = l->text.len;
		strbuf_addf(&l->text, "%6.2f%% %7s  from %s", pct(s, (uint64_t)c->total), "",
		            c->name ? profile_str(p, c->name) : "[thread start]");
		add_line(l, TOP_LINE_ROW, row++, start);
	}
	for (size_t i = 0; i < s->tree->lines.n && (!max_rows || row < max_rows); i++) {
		const struct top_call_line *c = &s->tree->lines.v[i];
		start = l->text.len;
		strbuf_addf(&l->text, "%6.2f%% %6.2f%%  %*s%s%s", pct(s, (uint64_t)c->total), pct(s, (uint64_t)c->self),
		            (int)(2 * c->depth), "", c->depth ? "" : "> ", profile_str(p, c->name));
		add_line(l, TOP_LINE_ROW, row++, start);
	}
}

void top_lines_build(struct top_lines *l, const struct top_screen *s, enum top_mode mode, size_t max_rows)
{
	strbuf_reset(&l->text);
	vec_clear(&l->v);
	title(l, s, mode);
	if (mode == TOP_MODE_THREADS)
		thread_rows(l, s, max_rows);
	else if (mode == TOP_MODE_CALLTREE)
		calltree_rows(l, s, max_rows);
	else
		function_rows(l, s, max_rows);
}

void top_lines_release(struct top_lines *l)
{
	strbuf_release(&l->text);
	vec_free(&l->v);
}
