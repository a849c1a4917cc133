/* folded_read.c - folded stacks into a profile (see folded_read.h).
 *
 * Folded files are usually sorted, so consecutive lines share long
 * prefixes: the stack nodes of the previous line are kept and reused up to
 * the last whole frame both lines share, which makes a million-line file
 * cost little more than reading it.
 */
#include "profile/folded_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile/kiln_file.h"
#include "profile/perf_script.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define MAX_TOTAL (1LL << 62) /* keeps every sum of counts far from overflow */

static uint64_t nokey(uint64_t k)
{
	return k & ~(1ULL << 63);
}

void frame_namer_init(struct frame_namer *n, struct profile *p)
{
	n->p = p;
	hashmap_init(&n->index);
}

void frame_namer_release(struct frame_namer *n)
{
	hashmap_release(&n->index);
}

uint32_t frame_namer_location(struct frame_namer *n, uint32_t name, uint32_t module, bool kernel)
{
	struct profile *p = n->p;
	uint8_t kind = kernel ? PROFILE_LOC_KERNEL : PROFILE_LOC_USER;
	uint64_t key = nokey(hash_mix(hash_mix(name, module), kind)), id;
	while (hashmap_get(&n->index, key, &id)) {
		const struct profile_location *l = &p->locations.v[id];
		const struct profile_frame *f = &p->frames.v[l->first_frame];
		if (f->function == name && f->module == module && l->kind == kind)
			return (uint32_t)id;
		key = nokey(hash_u64(key + 1));
	}
	/* the address only has to be unique: the location's index will do */
	uint32_t loc = profile_location(p, PROFILE_NO_MAPPING, p->locations.n, kind);
	struct profile_frame f = {.function = name, .module = module};
	profile_set_location_frames(p, loc, &f, 1);
	hashmap_put(&n->index, key, loc);
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

/* Parses the count at the end of a line: digits, optionally a fraction
 * (flamegraph.pl accepts them; it is rounded). Returns where it starts or
 * NULL when the line does not end in a count. */
static const char *parse_count(const char *line, size_t len, int64_t *out)
{
	size_t e = len;
	while (e > 0 && (line[e - 1] == ' ' || line[e - 1] == '\t' || line[e - 1] == '\r'))
		e--;
	size_t s = e;
	while (s > 0 && line[s - 1] != ' ' && line[s - 1] != '\t')
		s--;
	if (s == e)
		return NULL;
	int64_t v = 0;
	size_t i = s;
	for (; i < e && line[i] >= '0' && line[i] <= '9'; i++) {
		if (v > MAX_TOTAL / 10)
			v = MAX_TOTAL;
		else
			v = v * 10 + (line[i] - '0');
	}
	if (i == s)
		return NULL;
	if (i < e && line[i] == '.') {
		size_t f = ++i;
		for (; i < e && line[i] >= '0' && line[i] <= '9'; i++)
			;
		if (i == f)
			return NULL;
		if (line[f] >= '5' && v < MAX_TOTAL)
			v++;
	}
	if (i != e)
		return NULL;
	*out = v;
	return line + s;
}

bool folded_sniff(const char *data, size_t size)
{
	size_t i = 0;
	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - data) - i : size - i;
		const char *line = data + i;
		i += len + 1;
		size_t k = 0;
		while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
			k++;
		if (k == len)
			continue;
		int64_t v;
		return k == 0 && parse_count(line, len, &v) != NULL;
	}
	return false;
}

struct prev_frame {
	uint32_t end;  /* offset after the frame's last byte in the previous stack */
	uint32_t node; /* stack node ending with this frame */
};

/* An incremental parser: input arrives in chunks (files are streamed, not
 * read whole, so a big file costs the profile's memory, not its own). */
struct folded_parser {
	struct profile *p;
	struct frame_namer namer;
	struct folded_stats *st;
	VEC(struct prev_frame) prev;
	struct strbuf prev_stack; /* the previous line's stack */
	struct strbuf carry;      /* an incomplete last line */
	int64_t total;
	folded_line_fn fn; /* when set, lines go here instead of into a profile */
	void *ctx;
};

static void parser_init(struct folded_parser *fp, struct folded_stats *st, folded_line_fn fn, void *ctx)
{
	memset(fp, 0, sizeof(*fp));
	memset(st, 0, sizeof(*st));
	fp->st = st;
	fp->fn = fn;
	fp->ctx = ctx;
	if (fn)
		return;
	fp->p = profile_new();
	profile_add_value_type(fp->p, "samples", "count");
	frame_namer_init(&fp->namer, fp->p);
}

int folded_parse_line(const char *line, size_t len, size_t *stack_len, int64_t *count)
{
	size_t k = 0;
	while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
		k++;
	if (k == len)
		return 0;
	int64_t v;
	const char *cnt = parse_count(line, len, &v);
	if (!cnt || memchr(line, '\0', len) || len > UINT32_MAX / 2)
		return -EINVAL;
	/* the stack is everything before the separator of the count */
	size_t slen = (size_t)(cnt - line);
	while (slen > 0 && (line[slen - 1] == ' ' || line[slen - 1] == '\t'))
		slen--;
	*stack_len = slen;
	*count = v;
	return 1;
}

static void parse_line(struct folded_parser *fp, const char *line, size_t len)
{
	struct profile *p = fp->p;
	size_t slen;
	int64_t v;
	int rc = folded_parse_line(line, len, &slen, &v);
	if (rc <= 0) {
		if (rc < 0)
			fp->st->skipped++;
		return;
	}
	if (v > MAX_TOTAL - fp->total)
		v = MAX_TOTAL - fp->total;
	fp->total += v;
	fp->st->lines++;
	if (fp->fn) {
		fp->fn(fp->ctx, line, slen, v);
		return;
	}

	/* reuse the frames this stack shares with the previous one */
	const char *prev_stack = fp->prev_stack.buf;
	size_t common = 0, lim = slen < fp->prev_stack.len ? slen : fp->prev_stack.len;
	while (common < lim && line[common] == prev_stack[common])
		common++;
	size_t keep = 0; /* none for an empty stack: its samples are the root's */
	while (slen > 0 && keep < fp->prev.n &&
	       (fp->prev.v[keep].end < common ||
	        (fp->prev.v[keep].end == common && (common == slen || line[common] == ';'))))
		keep++;
	uint32_t node = keep ? fp->prev.v[keep - 1].node : 0;
	size_t pos = keep ? fp->prev.v[keep - 1].end + 1 : 0;
	fp->prev.n = keep;
	if (slen > 0) {
		while (pos <= slen) {
			const char *semi = memchr(line + pos, ';', slen - pos);
			size_t end = semi ? (size_t)(semi - line) : slen;
			const char *name = line + pos;
			size_t nlen = end - pos;
			bool kernel = nlen >= 4 && !memcmp(name + nlen - 4, "_[k]", 4);
			uint32_t sid = strtab_intern_n(&p->strings, name, nlen);
			node = profile_stack_child(p, node, frame_namer_location(&fp->namer, sid, 0, kernel));
			struct prev_frame pf = {(uint32_t)end, node};
			vec_push(&fp->prev, pf);
			pos = end + 1;
		}
	}
	/* keep the shared prefix, copy only the rest */
	strbuf_setlen_keep(&fp->prev_stack, common);
	strbuf_add(&fp->prev_stack, line + common, slen - common);
	struct profile_sample smp = {.stack = node};
	smp.values[0] = v;
	profile_add_sample(p, &smp);
}

/* Parses the whole lines of data; with final, the last partial one too. */
static void parser_feed(struct folded_parser *fp, const char *data, size_t size, bool final)
{
	size_t i = 0;
	if (fp->carry.len) {
		const char *nl = memchr(data, '\n', size);
		size_t take = nl ? (size_t)(nl - data) : size;
		strbuf_add(&fp->carry, data, take);
		if (!nl && !final)
			return;
		parse_line(fp, fp->carry.buf, fp->carry.len);
		strbuf_reset(&fp->carry);
		i = nl ? take + 1 : size;
	}
	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		if (!nl && !final) {
			strbuf_add(&fp->carry, data + i, size - i);
			return;
		}
		size_t len = nl ? (size_t)(nl - data) - i : size - i;
		parse_line(fp, data + i, len);
		i += len + 1;
	}
}

static int parser_finish(struct folded_parser *fp, struct profile **out)
{
	if (fp->carry.len)
		parse_line(fp, fp->carry.buf, fp->carry.len);
	vec_free(&fp->prev);
	strbuf_release(&fp->prev_stack);
	strbuf_release(&fp->carry);
	if (fp->fn)
		return fp->st->lines ? 0 : -ENOMSG;
	frame_namer_release(&fp->namer);
	if (!fp->st->lines) {
		profile_free(fp->p);
		return -ENOMSG;
	}
	profile_set_meta(fp->p, "source", "folded");
	*out = fp->p;
	return 0;
}

int folded_read_mem(const char *data, size_t size, struct profile **out, struct folded_stats *st)
{
	struct folded_stats local;
	struct folded_parser fp;
	parser_init(&fp, st ? st : &local, NULL, NULL);
	parser_feed(&fp, data, size, true);
	return parser_finish(&fp, out);
}

int folded_slurp(const char *path, char **data, size_t *size)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		return -errno;
	size_t cap = 1 << 16, n = 0;
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0)
		cap = (size_t)sb.st_size + 1;
	char *buf = xmalloc(cap);
	int rc = 0;
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (fd != 0)
		close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*data = buf;
	*size = n;
	return 0;
}

#define CHUNK (1 << 20)

/* Reads up to n bytes (fewer only at the end of the input). */
static ssize_t read_full(int fd, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Streams the rest of fd through a folded parser that has seen head. */
static int stream_folded(int fd, const char *head, size_t nhead, bool eof, struct profile **out,
                         struct folded_stats *st, folded_line_fn fn, void *ctx)
{
	struct folded_stats local;
	struct folded_parser fp;
	parser_init(&fp, st ? st : &local, fn, ctx);
	parser_feed(&fp, head, nhead, eof);
	int rc = 0;
	if (!eof) {
		char *buf = xmalloc(CHUNK);
		for (;;) {
			ssize_t r = read_full(fd, buf, CHUNK);
			if (r < 0) {
				rc = (int)r;
				break;
			}
			parser_feed(&fp, buf, (size_t)r, r < CHUNK);
			if (r < CHUNK)
				break;
		}
		free(buf);
	}
	int prc = parser_finish(&fp, out);
	if (rc && !prc && !fn) {
		profile_free(*out);
		*out = NULL;
	}
	return rc ? rc : prc;
}

int folded_read_file(const char *path, struct profile **out, struct folded_stats *st)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		return -errno;
	int rc = stream_folded(fd, "", 0, false, out, st, NULL, NULL);
	if (fd != 0)
		close(fd);
	return rc;
}

int folded_scan_mem(const char *data, size_t size, folded_line_fn fn, void *ctx, struct folded_stats *st)
{
	struct folded_stats local;
	struct folded_parser fp;
	parser_init(&fp, st ? st : &local, fn, ctx);
	parser_feed(&fp, data, size, true);
	return parser_finish(&fp, NULL);
}

int folded_read_any(const char *path, struct profile **out, const char **format)
{
	return folded_scan_any(path, NULL, NULL, out, format, NULL);
}

int folded_scan_any(const char *path, folded_line_fn fn, void *ctx, struct profile **out, const char **format,
                    struct folded_stats *st)
{
	*out = NULL;
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		return -errno;
	/* the first chunk tells the formats apart */
	char *head = xmalloc(CHUNK);
	ssize_t n = read_full(fd, head, CHUNK);
	int rc;
	if (n < 0) {
		rc = (int)n;
		goto out;
	}
	bool eof = n < CHUNK;
	if (folded_sniff(head, (size_t)n) && !(n >= 8 && !memcmp(head, "KILNPROF", 8))) {
		if (format)
			*format = "folded";
		rc = stream_folded(fd, head, (size_t)n, eof, out, st, fn, ctx);
		goto out;
	}
	/* the others are read whole */
	size_t size = (size_t)n, cap = CHUNK;
	while (!eof) {
		cap *= 2;
		head = xrealloc(head, cap);
		n = read_full(fd, head + size, cap - size);
		if (n < 0) {
			rc = (int)n;
			goto out;
		}
		size += (size_t)n;
		eof = size < cap;
	}
	if (size >= 8 && !memcmp(head, "KILNPROF", 8)) {
		if (format)
			*format = "kiln";
		rc = kiln_read_mem(head, size, out, NULL);
	} else if (perf_script_sniff(head, size)) {
		if (format)
			*format = "perf script";
		rc = perf_script_read_mem(head, size, out, NULL);
	} else {
		rc = -ENOMSG;
	}
out:
	free(head);
	if (fd != 0)
		close(fd);
	return rc;
}
