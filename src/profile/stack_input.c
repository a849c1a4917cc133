/* stack_input.c - reading any stack input with bounded memory (see
 * stack_input.h).
 *
 * The first 64 KiB decide binary or not; text then needs its first whole
 * lines (a folded line, or a perf script header and the start of its first
 * frame), so the head grows until they are there, up to the line limit:
 * a 1 MB frame name on the first line is as good as anywhere else. After
 * that, text goes through one line splitter whose only buffer is the line
 * being cut (at most max_line_bytes) and one read buffer.
 */
#include "profile/stack_input.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "profile/perf_script.h"
#include "util/strbuf.h"
#include "util/xalloc.h"

#define SNIFF_BYTES  (64u << 10) /* looked at for binary content */
#define SNIFF_EXTRA  (1u << 20)  /* room for blank and '#' lines before the first stack */
#define DEFAULT_READ (1u << 20)
#define MAP_WINDOW   (4u << 20) /* bytes of a regular file mapped at a time */

/* Whether the start of an input is binary: text has no NUL byte and only
 * the odd control byte (tabs, line breaks and terminal escapes aside). */
static bool looks_binary(const char *d, size_t n)
{
	if (memchr(d, '\0', n))
		return true;
	size_t ctl = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' && c != 0x1b) ||
		    c == 0x7f)
			ctl++;
	}
	return ctl * 64 > n;
}

static bool is_perf_data(const char *d, size_t n)
{
	return n >= 8 && (!memcmp(d, "PERFILE2", 8) || !memcmp(d, "2ELIFREP", 8) || !memcmp(d, "PERFFILE", 8));
}

int stack_format_sniff(const char *data, size_t size, bool eof)
{
	if (size < SNIFF_BYTES && !eof)
		return -EAGAIN;
	if (size >= 8 ? !memcmp(data, "KILNPROF", 8) : size && !memcmp(data, "KILNPROF", size))
		return STACK_FORMAT_KILN; /* a cut one too: its reader says what is wrong */
	if (is_perf_data(data, size))
		return STACK_FORMAT_PERF_DATA;
	if (looks_binary(data, size < SNIFF_BYTES ? size : SNIFF_BYTES))
		return STACK_FORMAT_UNKNOWN;
	int f = folded_sniff(data, size, eof);
	if (f)
		return f < 0 ? f : STACK_FORMAT_FOLDED;
	f = perf_script_sniff(data, size, eof);
	if (f)
		return f < 0 ? f : STACK_FORMAT_PERF_SCRIPT;
	return STACK_FORMAT_UNKNOWN;
}

const char *stack_format_name(enum stack_format f)
{
	switch (f) {
	case STACK_FORMAT_KILN:
		return "kiln";
	case STACK_FORMAT_FOLDED:
		return "folded";
	case STACK_FORMAT_PERF_SCRIPT:
		return "perf script";
	case STACK_FORMAT_PERF_DATA:
		return "perf.data";
	default:
		return "unknown";
	}
}

struct text_in {
	int fd;
	bool eof;
	uint64_t bytes;     /* read so far */
	uint64_t max_input; /* 0: no limit */
};

/* Reads up to n bytes, fewer only at the end of the input. Returns how
 * many, -errno, or -EFBIG past the input limit. */
static ssize_t in_read(struct text_in *in, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n && !in->eof) {
		ssize_t r = read(in->fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			in->eof = true;
			break;
		}
		got += (size_t)r;
		in->bytes += (uint64_t)r;
		if (in->max_input && in->bytes > in->max_input)
			return -EFBIG;
	}
	return (ssize_t)got;
}

/* Cuts text into lines for a reader, holding at most one partial line. */
struct splitter {
	struct strbuf carry; /* the start of a line cut by the end of a read */
	uint64_t line;       /* lines passed on */
	uint64_t max_line;
	int (*fn)(void *ctx, const char *line, size_t len);
	void *ctx;
};

static int split_emit(struct splitter *s, const char *line, size_t len)
{
	s->line++;
	return s->fn(s->ctx, line, len);
}

/* Passes the whole lines of data on; with final, the last partial one
 * too. Returns 0, -E2BIG for a line over the limit (s->line + 1), or the
 * reader's error. */
static int split_feed(struct splitter *s, const char *data, size_t size, bool final)
{
	size_t i = 0;
	int rc;
	if (s->carry.len) {
		const char *nl = memchr(data, '\n', size);
		size_t take = nl ? (size_t)(nl - data) : size;
		if (s->carry.len + take > s->max_line)
			return -E2BIG;
		strbuf_add(&s->carry, data, take);
		if (!nl && !final)
			return 0;
		rc = split_emit(s, s->carry.buf, s->carry.len);
		strbuf_reset(&s->carry);
		if (rc)
			return rc;
		i = nl ? take + 1 : size;
	}
	while (i < size) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - data) - i : size - i;
		if (len > s->max_line)
			return -E2BIG;
		if (!nl && !final) {
			strbuf_add(&s->carry, data + i, len);
			return 0;
		}
		rc = split_emit(s, data + i, len);
		if (rc)
			return rc;
		i += len + 1;
	}
	return 0;
}

static int folded_line(void *ctx, const char *line, size_t len)
{
	return folded_reader_line(ctx, line, len);
}

static int perf_script_line(void *ctx, const char *line, size_t len)
{
	perf_script_reader_line(ctx, line, len);
	return 0;
}

/* A regular file is read through a map, and a map of a file that another
 * process cuts shorter raises SIGBUS on the first touch of a page past
 * the new end, wherever the bytes are being read (the line splitter, the
 * reader, the flame builder: nothing is copied). While a window is fed,
 * a handler takes such a fault back to feed_window() (the thread's own
 * window only; any other SIGBUS gets the action there was before), and
 * the read ends with -ESTALE. The readers keep their state whole between
 * any two reads of the input's bytes, so they are freed as after any
 * other error. One thread at a time maps an input: the handler is
 * installed for the read and the previous action put back after it. */
static _Thread_local sigjmp_buf *bus_jump; /* the window being fed, NULL when none */
static _Thread_local const char *bus_lo, *bus_hi;
static struct sigaction bus_old;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	const char *at = si->si_addr;
	if (bus_jump && si->si_code > 0 && at >= bus_lo && at < bus_hi)
		siglongjmp(*bus_jump, 1);
	/* not a window's: as if this handler were not there (a fault comes
	 * again when the instruction runs again, a signal sent is raised) */
	sigaction(sig, &bus_old, NULL);
	if (si->si_code <= 0)
		raise(sig);
}

/* Feeds the bytes of a mapped window m (len bytes) from skip on to s.
 * Returns split_feed()'s result, or -ESTALE when the file got shorter
 * under the window (a SIGBUS reading it). */
static int feed_window(struct splitter *s, const char *m, size_t len, size_t skip)
{
	sigjmp_buf jump;
	if (sigsetjmp(jump, 1)) {
		bus_jump = NULL;
		return -ESTALE;
	}
	bus_lo = m;
	bus_hi = m + len;
	bus_jump = &jump;
	int rc = split_feed(s, m + skip, len - skip, false);
	bus_jump = NULL;
	return rc;
}

/* Feeds the rest of a regular file, up to the size it has now, to s
 * through windows of MAP_WINDOW bytes mapped one at a time: no copy into
 * a read buffer (a tenth of kiln flame's time on large folded files), and
 * at most a window of the file resident at once. Leaves the file offset
 * after what it fed, for reads of what was appended since. Returns 0 (also
 * when the file cannot be mapped: the reads do it), split_feed()'s error,
 * or -ESTALE when the file got shorter than it was (another process
 * truncated it): under a window, or between two, or before the end of the
 * last. */
static int map_feed(struct text_in *in, struct splitter *s)
{
	struct stat st;
	off_t pos = lseek(in->fd, 0, SEEK_CUR);
	long page = sysconf(_SC_PAGESIZE);
	if (pos < 0 || page <= 0 || fstat(in->fd, &st) || !S_ISREG(st.st_mode))
		return 0;
	off_t size = st.st_size;
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (pos >= size || sigaction(SIGBUS, &sa, &bus_old))
		return 0;
	int rc = 0;
	while (!rc && pos < size) {
		if (fstat(in->fd, &st) == 0 && st.st_size < size) {
			rc = -ESTALE; /* cut between two windows */
			break;
		}
		off_t base = pos - pos % page; /* mappings start on a page */
		size_t skip = (size_t)(pos - base);
		size_t len = (size_t)(size - base) < MAP_WINDOW ? (size_t)(size - base) : MAP_WINDOW;
		char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, in->fd, base);
		if (m == MAP_FAILED)
			break;
		size_t n = len - skip;
		if (in->max_input && in->bytes + n > in->max_input)
			rc = -EFBIG;
		else
			rc = feed_window(s, m, len, skip);
		munmap(m, len);
		in->bytes += n;
		pos += (off_t)n;
	}
	/* cut within the last page read: its end read as zeros, no SIGBUS */
	if (!rc && fstat(in->fd, &st) == 0 && st.st_size < size)
		rc = -ESTALE;
	sigaction(SIGBUS, &bus_old, NULL);
	if (lseek(in->fd, pos, SEEK_SET) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* Streams text (head, then the rest of in) through a reader of format f. */
static int read_text(struct text_in *in, enum stack_format f, char *head, size_t nhead, size_t read_size, bool map,
                     uint64_t max_line, bool time_order, folded_line_fn fn, void *ctx, struct profile **out,
                     struct stack_input_info *info)
{
	struct folded_reader *fr = NULL;
	struct perf_script_reader *pr = NULL;
	struct splitter s = {.max_line = max_line};
	if (f == STACK_FORMAT_FOLDED) {
		fr = folded_reader_new(fn, ctx, time_order);
		s.fn = folded_line;
		s.ctx = fr;
	} else {
		pr = perf_script_reader_new(time_order);
		s.fn = perf_script_line;
		s.ctx = pr;
	}
	int rc = split_feed(&s, head, nhead, in->eof);
	if (!rc && !in->eof && map)
		rc = map_feed(in, &s);
	char *buf = NULL;
	if (!rc && !in->eof)
		buf = xmalloc(read_size);
	while (!rc && !in->eof) {
		ssize_t n = in_read(in, buf, read_size);
		if (n < 0)
			rc = (int)n;
		else
			rc = split_feed(&s, buf, (size_t)n, in->eof);
	}
	free(buf);
	if (rc == -E2BIG)
		info->error_line = s.line + 1;
	strbuf_release(&s.carry);
	if (fr) {
		struct folded_stats st;
		if (rc)
			folded_reader_free(fr, &st);
		else
			rc = folded_reader_finish(fr, fn ? NULL : out, &st);
		info->records = st.lines;
		info->skipped = st.skipped;
		info->first_skipped_line = st.first_skipped_line;
		memcpy(info->first_skipped, st.first_skipped, sizeof(info->first_skipped));
		if (st.error_line) {
			info->error_line = st.error_line;
			memcpy(info->error_count, st.error_count, sizeof(info->error_count));
		}
	} else {
		struct perf_script_stats st;
		struct profile *p = NULL;
		int frc = perf_script_reader_finish(pr, &p, &st);
		if (!rc) {
			rc = frc;
			*out = p;
		} else {
			profile_free(p);
		}
		info->records = st.events;
		info->skipped = st.skipped;
		info->first_skipped_line = st.first_skipped_line;
		memcpy(info->first_skipped, st.first_skipped, sizeof(info->first_skipped));
	}
	return rc;
}

int stack_input_read_fd(int fd, const struct stack_input_limits *lim, folded_line_fn fn, void *ctx,
                        struct profile **out, struct stack_input_info *info)
{
	struct stack_input_info local;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	*out = NULL;
	uint64_t max_line = lim && lim->max_line_bytes ? lim->max_line_bytes : STACK_INPUT_DEFAULT_MAX_LINE;
	size_t read_size = lim && lim->read_size ? lim->read_size : DEFAULT_READ;
	struct text_in in = {.fd = fd};
	/* the head grows until the format is known: never past one line of
	 * max_line bytes and SNIFF_EXTRA of blank and comment lines */
	uint64_t head_max = max_line + SNIFF_EXTRA;
	size_t cap = SNIFF_BYTES, n = 0;
	char *head = xmalloc(cap);
	int rc, f;
	for (;;) {
		ssize_t r = in_read(&in, head + n, cap - n);
		if (r < 0) {
			rc = (int)r;
			goto out;
		}
		n += (size_t)r;
		f = stack_format_sniff(head, n, in.eof);
		if (f != -EAGAIN)
			break;
		const char *nl = memrchr(head, '\n', n);
		size_t start = nl ? (size_t)(nl - head) + 1 : 0;
		if (n - start > max_line) {
			uint64_t lines = 0;
			for (const char *c = head; (c = memchr(c, '\n', (size_t)(head + start - c))) != NULL; c++)
				lines++;
			info->error_line = lines + 1;
			rc = -E2BIG;
			goto out;
		}
		if (n >= head_max) {
			f = STACK_FORMAT_UNKNOWN;
			break;
		}
		cap = (uint64_t)cap * 2 > head_max ? (size_t)head_max : cap * 2;
		head = xrealloc(head, cap);
	}
	info->format = (enum stack_format)f;
	switch (f) {
	case STACK_FORMAT_KILN:
		rc = kiln_read_fd(fd, head, n, out, &info->kiln);
		break;
	case STACK_FORMAT_PERF_DATA:
		rc = -EPROTONOSUPPORT;
		break;
	case STACK_FORMAT_FOLDED:
	case STACK_FORMAT_PERF_SCRIPT:
		in.max_input = lim ? lim->max_input_bytes : 0;
		if (in.max_input && in.bytes > in.max_input) {
			rc = -EFBIG;
			break;
		}
		/* a chosen read size is for tests of lines cut anywhere: reads then */
		rc = read_text(&in, (enum stack_format)f, head, n, read_size, !(lim && lim->read_size), max_line,
		               lim && lim->time_order, fn, ctx, out, info);
		break;
	default:
		rc = -ENOMSG;
		break;
	}
out:
	info->bytes = in.bytes;
	free(head);
	return rc;
}

int stack_input_read(const char *path, const struct stack_input_limits *lim, folded_line_fn fn, void *ctx,
                     struct profile **out, struct stack_input_info *info)
{
	*out = NULL;
	if (info)
		memset(info, 0, sizeof(*info));
	bool std_in = !strcmp(path, "-");
	int fd = std_in ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else
		rc = stack_input_read_fd(fd, lim, fn, ctx, out, info);
	if (!std_in)
		close(fd);
	return rc;
}
