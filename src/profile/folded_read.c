/* folded_read.c - folded stacks into a profile (see folded_read.h).
 *
 * Folded files are usually sorted, so consecutive lines share long
 * prefixes: the stack nodes of the previous line are kept and reused up to
 * the last whole frame both lines share, which makes a million-line file
 * cost little more than reading it. Lines come one at a time, so the
 * reader never holds more of its input than the line before.
 */
#include "profile/folded_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/num.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

void frame_namer_init(struct frame_namer *n, struct profile *p)
{
	n->p = p;
	keymap_init(&n->index);
}

void frame_namer_release(struct frame_namer *n)
{
	keymap_release(&n->index);
}

/* The key frame_namer_location() looks for. */
struct namer_key {
	uint32_t name, module;
	uint8_t kind;
};

static bool namer_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct profile *p = ctx;
	const struct namer_key *k = key;
	const struct profile_location *l = &p->locations.v[id];
	const struct profile_frame *f = &p->frames.v[l->first_frame];
	return f->function == k->name && f->module == k->module && l->kind == k->kind;
}

uint32_t frame_namer_location(struct frame_namer *n, uint32_t name, uint32_t module, bool kernel)
{
	struct profile *p = n->p;
	struct namer_key k = {name, module, kernel ? PROFILE_LOC_KERNEL : PROFILE_LOC_USER};
	uint64_t h = hash_mix(hash_mix(name, module), k.kind);
	uint32_t loc = keymap_find(&n->index, h, namer_eq, p, &k);
	if (loc != KEYMAP_NONE)
		return loc;
	/* the address only has to be unique: the location's index will do */
	loc = profile_location(p, PROFILE_NO_MAPPING, p->locations.n, k.kind);
	struct profile_frame f = {.function = name, .module = module};
	profile_set_location_frames(p, loc, &f, 1);
	keymap_add(&n->index, h, loc);
	return loc;
}

/* Truncates sb to len bytes (len <= sb->len). */
static void strbuf_setlen_keep(struct strbuf *sb, size_t len)
{
	if (sb->buf) {
		sb->len = len;
		sb->buf[len] = '\0';
	}
}

void text_excerpt(char *out, size_t cap, const char *s, size_t len)
{
	if (!cap)
		return;
	size_t n = len < cap - 1 ? len : cap - 1;
	bool cut = n < len;
	if (cut)
		n = cap > 4 ? cap - 4 : 0; /* room for "..." */
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (cut && cap > 4) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* The end of the decimal digits of line that start at i, at most e. */
static size_t skip_digits(const char *line, size_t i, size_t e)
{
	while (i < e && line[i] >= '0' && line[i] <= '9')
		i++;
	return i;
}

/* Parses the count at the end of a line: digits, optionally a fraction
 * (flamegraph.pl accepts them; it is rounded). Returns 1 with the count
 * and where it starts, 0 when the line does not end in a count, or
 * -EOVERFLOW when the count is above FOLDED_MAX_COUNT. */
static int parse_count(const char *line, size_t len, int64_t *out, size_t *start)
{
	size_t e = len;
	while (e > 0 && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r'))
		e--;
	size_t s = e;
	while (s > 0 && line[s - 1] != ' ' && line[s - 1] != '\t')
		s--;
	if (s == e)
		return 0;
	uint64_t v = 0;
	const char *digits_end = num_scan_u64(line + s, line + e, 10, &v);
	size_t i = digits_end ? (size_t)(digits_end - line) : skip_digits(line, s, e);
	if (i == s)
		return 0;
	/* past 64 bits too: still a count (too large) if the rest is one */
	bool over = !digits_end || v > (uint64_t)FOLDED_MAX_COUNT;
	if (i < e && line[i] == '.') {
		size_t f = ++i;
		i = skip_digits(line, i, e);
		if (i == f)
			return 0;
		if (line[f] >= '5' && !over)
			over = ++v > (uint64_t)FOLDED_MAX_COUNT;
	}
	if (i != e)
		return 0;
	*start = s;
	if (over)
		return -EOVERFLOW;
	*out = (int64_t)v;
	return 1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

int folded_sniff(const char *data, size_t size, bool eof)
{
	size_t i = 0;
	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - data) - i : size - i;
		const char *line = data + i;
		i += len + 1;
		size_t k = 0;
		while (k < len && is_blank(line[k]))
			k++;
		if (!nl && !eof)
			return -EAGAIN; /* the line, blank or not, may go on */
		if (k == len)
			continue;
		if (k)
			return 0;
		int64_t v;
		size_t at;
		return parse_count(line, len, &v, &at) != 0;
	}
	return eof ? 0 : -EAGAIN;
}

struct prev_frame {
	uint32_t end;  /* offset after the frame's last byte in the previous stack */
	uint32_t node; /* stack node ending with this frame */
};

struct folded_reader {
	struct profile *p;
	struct frame_namer namer;
	struct folded_stats st;
	VEC(struct prev_frame) prev;
	struct strbuf prev_stack; /* the previous line's stack */
	VEC(uint32_t) sample_of;  /* stack node -> 1 + its sample, 0 when none yet */
	uint64_t lineno;          /* lines given so far */
	int64_t total;            /* the sum of the counts so far */
	int error;                /* after an error, lines are ignored */
	bool time_order;          /* merge a line only into the line before */
	folded_line_fn fn;        /* when set, lines go here instead of into a profile */
	void *ctx;
};

struct folded_reader *folded_reader_new(folded_line_fn fn, void *ctx, bool time_order)
{
	struct folded_reader *r = xcalloc(1, sizeof(*r));
	r->time_order = time_order;
	r->fn = fn;
	r->ctx = ctx;
	if (fn)
		return r;
	r->p = profile_new();
	profile_add_value_type(r->p, "samples", "count");
	frame_namer_init(&r->namer, r->p);
	return r;
}

int folded_parse_line(const char *line, size_t len, size_t *stack_len, int64_t *count)
{
	size_t k = 0;
	while (k < len && is_blank(line[k]))
		k++;
	if (k == len)
		return 0;
	int64_t v = 0;
	size_t at;
	int rc = parse_count(line, len, &v, &at);
	if (rc == 0 || memchr(line, '\0', len) || len > UINT32_MAX / 2)
		return -EINVAL;
	if (rc < 0)
		return rc;
	/* the stack is everything before the separator of the count */
	size_t slen = at;
	while (slen > 0 && (line[slen - 1] == ' ' || line[slen - 1] == '\t'))
		slen--;
	*stack_len = slen;
	*count = v;
	return 1;
}

/* Records an error about the current line (its count starts the token at
 * the end of the line). */
static int reader_fail(struct folded_reader *r, int err, const char *line, size_t len)
{
	size_t e = len, s;
	while (e > 0 && is_blank(line[e - 1]))
		e--;
	for (s = e; s > 0 && line[s - 1] != ' ' && line[s - 1] != '\t'; s--)
		;
	r->st.error_line = r->lineno;
	text_excerpt(r->st.error_count, sizeof(r->st.error_count), line + s, e - s);
	r->error = err;
	return err;
}

int folded_reader_line(struct folded_reader *r, const char *line, size_t len)
{
	if (r->error)
		return r->error;
	r->lineno++;
	struct profile *p = r->p;
	size_t slen;
	int64_t v;
	int rc = folded_parse_line(line, len, &slen, &v);
	if (rc == -EOVERFLOW)
		return reader_fail(r, rc, line, len);
	if (rc <= 0) {
		if (rc < 0 && !r->st.skipped++) {
			r->st.first_skipped_line = r->lineno;
			text_excerpt(r->st.first_skipped, sizeof(r->st.first_skipped), line, len);
		}
		return 0;
	}
	if (v > FOLDED_MAX_COUNT - r->total)
		return reader_fail(r, -ERANGE, line, len);
	r->total += v;
	r->st.lines++;
	if (r->fn) {
		r->fn(r->ctx, line, slen, v);
		return 0;
	}

	/* reuse the frames this stack shares with the previous one */
	const char *prev_stack = r->prev_stack.buf;
	size_t common = 0, lim = slen < r->prev_stack.len ? slen : r->prev_stack.len;
	while (common < lim && line[common] == prev_stack[common])
		common++;
	size_t keep = 0; /* none for an empty stack: its samples are the root's */
	while (slen > 0 && keep < r->prev.n &&
	       (r->prev.v[keep].end < common ||
	        (r->prev.v[keep].end == common && (common == slen || line[common] == ';'))))
		keep++;
	uint32_t node = keep ? r->prev.v[keep - 1].node : 0;
	size_t pos = keep ? r->prev.v[keep - 1].end + 1 : 0;
	r->prev.n = keep;
	if (slen > 0) {
		while (pos <= slen) {
			const char *semi = memchr(line + pos, ';', slen - pos);
			size_t end = semi ? (size_t)(semi - line) : slen;
			const char *name = line + pos;
			size_t nlen = end - pos;
			bool kernel = nlen >= 4 && !memcmp(name + nlen - 4, "_[k]", 4);
			uint32_t sid = strtab_intern_n(&p->strings, name, nlen);
			node = profile_stack_child(p, node, frame_namer_location(&r->namer, sid, 0, kernel));
			struct prev_frame pf = {(uint32_t)end, node};
			vec_push(&r->prev, pf);
			pos = end + 1;
		}
	}
	/* keep the shared prefix, copy only the rest */
	strbuf_setlen_keep(&r->prev_stack, common);
	strbuf_add(&r->prev_stack, line + common, slen - common);
	/* one sample per distinct stack (lines have no time or thread to
	 * keep apart): memory grows with the stacks, not with the lines; in
	 * time order (flame charts), only repeats of the line before merge */
	size_t last = p->samples.n;
	if (r->time_order) {
		if (last && p->samples.v[last - 1].stack == node) {
			p->samples.v[last - 1].values[FOLDED_VALUE_SAMPLES] += v; /* the total is checked above */
			return 0;
		}
	} else {
		while (r->sample_of.n <= node)
			vec_push(&r->sample_of, 0);
		if (r->sample_of.v[node]) {
			p->samples.v[r->sample_of.v[node] - 1].values[FOLDED_VALUE_SAMPLES] += v;
			return 0;
		}
		r->sample_of.v[node] = (uint32_t)last + 1;
	}
	struct profile_sample smp = {.stack = node};
	smp.values[FOLDED_VALUE_SAMPLES] = v;
	profile_add_sample(p, &smp);
	return 0;
}

void folded_reader_free(struct folded_reader *r, struct folded_stats *st)
{
	if (!r)
		return;
	if (st)
		*st = r->st;
	vec_free(&r->prev);
	vec_free(&r->sample_of);
	strbuf_release(&r->prev_stack);
	if (r->p) {
		frame_namer_release(&r->namer);
		profile_free(r->p);
	}
	free(r);
}

int folded_reader_finish(struct folded_reader *r, struct profile **out, struct folded_stats *st)
{
	if (out)
		*out = NULL;
	int rc = r->error ? r->error : r->st.lines ? 0 : -ENOMSG;
	if (!rc && r->p) {
		frame_namer_release(&r->namer);
		profile_set_meta(r->p, "source", "folded");
		*out = r->p;
		r->p = NULL;
	}
	folded_reader_free(r, st);
	return rc;
}

/* Feeds every line of data to r, stopping at the first error. */
static int reader_feed_mem(struct folded_reader *r, const char *data, size_t size)
{
	size_t i = 0;
	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - data) - i : size - i;
		int rc = folded_reader_line(r, data + i, len);
		if (rc)
			return rc;
		i += len + 1;
	}
	return 0;
}

int folded_read_mem(const char *data, size_t size, struct profile **out, struct folded_stats *st)
{
	struct folded_reader *r = folded_reader_new(NULL, NULL, false);
	reader_feed_mem(r, data, size);
	return folded_reader_finish(r, out, st);
}

int folded_scan_mem(const char *data, size_t size, folded_line_fn fn, void *ctx, struct folded_stats *st)
{
	struct folded_reader *r = folded_reader_new(fn, ctx, false);
	reader_feed_mem(r, data, size);
	return folded_reader_finish(r, NULL, st);
}
