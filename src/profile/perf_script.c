/* perf_script.c - `perf script` text into a profile (see perf_script.h).
 *
 * A small state machine: after a blank line the next line is an event
 * header, the indented lines after it its callchain. The header's comm may
 * hold spaces and be right-aligned, so it ends at the first token that
 * reads as pid or pid/tid.
 */
#include "profile/perf_script.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile/folded_read.h"
#include "util/hashmap.h"
#include "util/num.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* The n digits at s (all_digits), UINT32_MAX when they are more. */
static uint32_t parse_u32(const char *s, size_t n)
{
	uint64_t v = 0;
	if (!num_scan_u64(s, s + n, 10, &v) || v > UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)v;
}

struct header {
	const char *comm;
	size_t comm_len;
	uint32_t pid, tid;
	uint64_t time;
};

/* "SECONDS.FRACTION:" -> ns; false when the token is not a time, or one
 * past 64 bits of nanoseconds. */
static bool parse_time(const char *s, size_t n, uint64_t *out)
{
	if (n < 3 || s[n - 1] != ':')
		return false;
	const char *end = s + n - 1, *dot = memchr(s, '.', n - 1);
	uint64_t sec, frac = 0;
	if (!dot || num_scan_u64(s, dot, 10, &sec) != dot || !all_digits(dot + 1, (size_t)(end - dot - 1)))
		return false;
	/* nanoseconds: the fraction's first 9 digits, the rest cut off */
	const char *frac_end = end - (dot + 1) > 9 ? dot + 10 : end;
	num_scan_u64(dot + 1, frac_end, 10, &frac);
	for (ptrdiff_t digits = frac_end - dot - 1; digits < 9; digits++)
		frac *= 10;
	if (sec > (UINT64_MAX - frac) / 1000000000ull)
		return false;
	*out = sec * 1000000000ull + frac;
	return true;
}

static bool parse_header(const char *line, size_t len, struct header *h)
{
	memset(h, 0, sizeof(*h));
	size_t i = 0;
	while (i < len && is_space(line[i]))
		i++;
	size_t comm_start = i, comm_end = i;
	bool first = true, have_pid = false;
	while (i < len) {
		size_t s = i;
		while (i < len && !is_space(line[i]))
			i++;
		size_t n = i - s;
		const char *tok = line + s;
		if (!have_pid && !first) {
			const char *slash = memchr(tok, '/', n);
			size_t a = slash ? (size_t)(slash - tok) : n;
			if (all_digits(tok, a) && (!slash || all_digits(slash + 1, n - a - 1))) {
				have_pid = true;
				h->pid = parse_u32(tok, a);
				h->tid = slash ? parse_u32(slash + 1, n - a - 1) : h->pid;
			}
		}
		if (!have_pid)
			comm_end = i;
		else if (!h->time)
			parse_time(tok, n, &h->time);
		first = false;
		while (i < len && is_space(line[i]))
			i++;
	}
	h->comm = line + comm_start;
	h->comm_len = comm_end - comm_start;
	return h->comm_len > 0;
}

static const char *base_name(const char *s, size_t n, size_t *out_len)
{
	size_t b = n;
	while (b > 0 && s[b - 1] != '/')
		b--;
	*out_len = n - b;
	return s + b;
}

/* "  addr symbol+0xoff (module)" -> name and module; false when the line
 * is not a callchain entry. */
static bool parse_frame(struct profile *p, const char *line, size_t len, uint32_t *name, uint32_t *module, bool *kernel)
{
	size_t i = 0;
	while (i < len && is_space(line[i]))
		i++;
	size_t a = i;
	while (i < len && is_hex(line[i]))
		i++;
	if (i == a || (i < len && !is_space(line[i])))
		return false;
	while (i < len && is_space(line[i]))
		i++;
	size_t e = len;
	while (e > i && is_space(line[e - 1]))
		e--;
	const char *mod = "";
	size_t mod_len = 0;
	if (e > i && line[e - 1] == ')') {
		/* the module is in the last parentheses */
		size_t o = e - 1;
		while (o > i && line[o] != '(')
			o--;
		if (line[o] == '(' && (o == i || is_space(line[o - 1]))) {
			mod = line + o + 1;
			mod_len = e - 1 - (o + 1);
			e = o;
			while (e > i && is_space(line[e - 1]))
				e--;
		}
	}
	const char *sym = line + i;
	size_t sym_len = e - i;
	/* drop "+0xOFFSET" */
	for (size_t k = sym_len; k-- > 0;) {
		if (is_hex(sym[k]))
			continue;
		if (sym[k] == 'x' && k >= 2 && sym[k - 1] == '0' && sym[k - 2] == '+' && k + 1 < sym_len)
			sym_len = k - 2;
		break;
	}
	*kernel = mod_len >= 7 && !memcmp(mod, "[kernel", 7);
	size_t blen;
	const char *base = base_name(mod, mod_len, &blen);
	*module = strtab_intern_n(&p->strings, base, blen);
	if (sym_len == 0 || (sym_len == 9 && !memcmp(sym, "[unknown]", 9))) {
		if (blen && base[0] == '[') {
			*name = strtab_intern_n(&p->strings, base, blen);
		} else if (blen) {
			char buf[300];
			int n = snprintf(buf, sizeof(buf), "[%.*s]", (int)(blen > 256 ? 256 : blen), base);
			*name = strtab_intern_n(&p->strings, buf, (size_t)n);
		} else {
			*name = strtab_intern(&p->strings, "[unknown]");
		}
	} else {
		*name = strtab_intern_n(&p->strings, sym, sym_len);
	}
	return true;
}

int perf_script_sniff(const char *data, size_t size, bool eof)
{
	size_t i = 0;
	/* skip blank and comment lines ("# ========" headers of perf script --header) */
	for (;;) {
		const char *nl = i < size ? memchr(data + i, '\n', size - i) : NULL;
		if (!nl)
			return eof ? 0 : -EAGAIN;
		const char *line = data + i;
		size_t len = (size_t)(nl - line);
		size_t k = 0;
		while (k < len && is_space(line[k]))
			k++;
		if (k < len && line[k] != '#')
			break;
		i += len + 1;
	}
	const char *nl = memchr(data + i, '\n', size - i);
	struct header h;
	if (!parse_header(data + i, (size_t)(nl - (data + i)), &h) || !h.tid)
		return 0;
	size_t j = (size_t)(nl - data) + 1;
	if (j >= size)
		return eof ? 0 : -EAGAIN;
	if (!is_space(data[j]))
		return 0;
	while (j < size && is_space(data[j]))
		j++;
	if (j >= size)
		return eof ? 0 : -EAGAIN;
	return is_hex(data[j]);
}

struct perf_script_reader {
	struct profile *p;
	struct frame_namer namer;
	struct perf_script_stats st;
	VEC(uint32_t) locs; /* the event's callchain, leaf first */
	struct strbuf comm; /* the event's process name (the header line is gone by its end) */
	struct header h;    /* the event's header (h.comm unused) */
	bool in_event;
	bool time_order;
	uint64_t lineno;
	struct keymap sample_of; /* (stack, tid, pid) -> sample */
	struct hashmap last_of;  /* with time_order: tid -> its last sample */
};

struct perf_script_reader *perf_script_reader_new(bool time_order)
{
	struct perf_script_reader *r = xcalloc(1, sizeof(*r));
	r->time_order = time_order;
	keymap_init(&r->sample_of);
	hashmap_init(&r->last_of);
	r->p = profile_new();
	profile_add_value_type(r->p, "samples", "count");
	frame_namer_init(&r->namer, r->p);
	return r;
}

static bool sample_eq(const void *ctx, const void *key, uint32_t id)
{
	const struct profile_sample *o = &((const struct profile *)ctx)->samples.v[id], *k = key;
	return o->stack == k->stack && o->tid == k->tid && o->pid == k->pid;
}

/* The event is complete: comm outermost, then the chain. */
static void end_event(struct perf_script_reader *r)
{
	struct profile *p = r->p;
	uint32_t comm = strtab_intern_n(&p->strings, r->comm.buf ? r->comm.buf : "", r->comm.len);
	vec_push(&r->locs, frame_namer_location(&r->namer, comm, 0, false));
	struct profile_sample s = {.tid = r->h.tid, .pid = r->h.pid, .time = r->h.time};
	s.stack = profile_stack_from_leaf(p, r->locs.v, (uint32_t)r->locs.n);
	s.values[FOLDED_VALUE_SAMPLES] = 1;
	struct profile_thread *t = profile_thread(p, r->h.tid, r->h.pid);
	t->name = comm;
	r->in_event = false;
	/* events of one stack in one thread are one sample (keeping the first
	 * time), so memory grows with stacks, not events; in time order (flame
	 * charts) every event keeps its time, as a chart draws when each ran:
	 * only a thread's repeats of its last event at the same time merge */
	uint32_t id = KEYMAP_NONE;
	uint64_t h = hash_mix(hash_mix(s.stack, s.tid), s.pid), last;
	if (r->time_order && hashmap_get(&r->last_of, s.tid, &last))
		id = sample_eq(p, &s, (uint32_t)last) && p->samples.v[last].time == s.time ? (uint32_t)last
		                                                                           : KEYMAP_NONE;
	else if (!r->time_order)
		id = keymap_find(&r->sample_of, h, sample_eq, p, &s);
	if (id != KEYMAP_NONE) {
		p->samples.v[id].values[FOLDED_VALUE_SAMPLES]++; /* 2^63 events are out of reach */
		return;
	}
	if (r->time_order)
		hashmap_put(&r->last_of, s.tid, p->samples.n); /* the thread's last event differs: a new sample */
	else
		keymap_add(&r->sample_of, h, (uint32_t)p->samples.n);
	profile_add_sample(p, &s);
}

static void skip_line(struct perf_script_reader *r, const char *line, size_t len)
{
	if (!r->st.skipped++) {
		r->st.first_skipped_line = r->lineno;
		text_excerpt(r->st.first_skipped, sizeof(r->st.first_skipped), line, len);
	}
}

void perf_script_reader_line(struct perf_script_reader *r, const char *line, size_t len)
{
	r->lineno++;
	size_t k = 0;
	while (k < len && is_space(line[k]))
		k++;
	bool blank = k == len;
	if (blank && r->in_event)
		end_event(r);
	if (blank || line[k] == '#')
		return;
	if (memchr(line, '\0', len)) {
		skip_line(r, line, len);
		return;
	}
	if (!r->in_event) {
		if (parse_header(line, len, &r->h)) {
			r->in_event = true;
			vec_clear(&r->locs);
			strbuf_reset(&r->comm);
			strbuf_add(&r->comm, r->h.comm, r->h.comm_len);
			r->h.comm = NULL;
			r->st.events++;
		} else {
			skip_line(r, line, len);
		}
		return;
	}
	uint32_t name, module;
	bool kernel;
	if (parse_frame(r->p, line, len, &name, &module, &kernel))
		vec_push(&r->locs, frame_namer_location(&r->namer, name, module, kernel));
	else
		skip_line(r, line, len);
}

int perf_script_reader_finish(struct perf_script_reader *r, struct profile **out, struct perf_script_stats *st)
{
	int rc = 0;
	*out = NULL;
	if (r->in_event)
		end_event(r);
	vec_free(&r->locs);
	keymap_release(&r->sample_of);
	hashmap_release(&r->last_of);
	strbuf_release(&r->comm);
	frame_namer_release(&r->namer);
	if (!r->st.events) {
		profile_free(r->p);
		rc = -ENOMSG;
	} else {
		profile_set_meta(r->p, "source", "perf script");
		*out = r->p;
	}
	if (st)
		*st = r->st;
	free(r);
	return rc;
}

int perf_script_read_mem(const char *data, size_t size, struct profile **out, struct perf_script_stats *st)
{
	struct perf_script_reader *r = perf_script_reader_new(false);
	size_t i = 0;
	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - data) - i : size - i;
		perf_script_reader_line(r, data + i, len);
		i += len + 1;
	}
	return perf_script_reader_finish(r, out, st);
}
