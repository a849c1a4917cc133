/* test_stack_input.c - reading any stack input (profile/stack_input): the
 * format told from the first bytes, text streamed through the line limit
 * and the input limit, and binary input rejected without reading it. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analysis/flame_tree.h"
#include "profile/kiln_file.h"
#include "profile/stack_input.h"
#include "render/flame.h"

static void tmp_path(char *buf, size_t n, const char *name)
{
	const char *dir = getenv("KILN_TEST_TMP");
	snprintf(buf, n, "%s/test_stack_input.%d.%s", dir && *dir ? dir : "/tmp", (int)getpid(), name);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *out = fopen(path, "w");
	assert_non_null(out);
	assert_int_equal(fwrite(data, 1, len, out), len);
	assert_int_equal(fclose(out), 0);
}

static void add_to_tree(void *ctx, const char *stack, size_t len, int64_t count)
{
	flame_folded_add(ctx, stack, len, count);
}

static char *folded_of(const struct flame_tree *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(flame_render_folded(f, t), 0);
	fclose(f);
	return buf;
}

static char *fold_text(const char *text)
{
	struct profile *p = NULL;
	assert_int_equal(folded_read_mem(text, strlen(text), &p, NULL), 0);
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_options o = {0};
	assert_int_equal(flame_tree_build(&t, p, &o), 0);
	char *out = folded_of(&t);
	flame_tree_release(&t);
	profile_free(p);
	return out;
}

static void test_sniff(void **state)
{
	(void)state;
	assert_int_equal(stack_format_sniff("a;b 1\n", 6, true), STACK_FORMAT_FOLDED);
	assert_int_equal(stack_format_sniff("a;b 1\n", 6, false), -EAGAIN); /* less than the binary check's window */
	assert_int_equal(stack_format_sniff("KILNPROF\1\0", 10, true), STACK_FORMAT_KILN);
	assert_int_equal(stack_format_sniff("KILN", 4, true), STACK_FORMAT_KILN);
	assert_int_equal(stack_format_sniff("PERFILE2\0\0\0", 11, true), STACK_FORMAT_PERF_DATA);
	assert_int_equal(stack_format_sniff("a;b 1\n\0", 7, true), STACK_FORMAT_UNKNOWN);
	assert_int_equal(stack_format_sniff("a;b\x01\x02\x03 1\n", 10, true), STACK_FORMAT_UNKNOWN);
	assert_int_equal(stack_format_sniff("", 0, true), STACK_FORMAT_UNKNOWN);
	assert_int_equal(stack_format_sniff("hello world\n", 12, true), STACK_FORMAT_UNKNOWN);
	const char *ps = "prog 1/1 [000] 1.000: 1 cpu-clock:\n\t    1234 main+0x1 (/bin/prog)\n";
	assert_int_equal(stack_format_sniff(ps, strlen(ps), true), STACK_FORMAT_PERF_SCRIPT);
	assert_string_equal(stack_format_name(STACK_FORMAT_PERF_SCRIPT), "perf script");
}

/* Streams a file bigger than the read size, so lines straddle reads. */
static void test_stream_file(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "big.folded");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	for (int i = 0; i < 20000; i++)
		fprintf(f, "main;run_%d;leaf_%d;x%s %d\n", i % 97, i % 13, i % 5 ? "" : ";deeper", i % 7);
	fclose(f);
	write_file(path, text, len);

	struct stack_input_limits lim = {.read_size = 4093}; /* odd: cuts lines anywhere */
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_folded fb;
	flame_folded_init(&fb, &t);
	struct profile *p = (struct profile *)1;
	struct stack_input_info info;
	assert_int_equal(stack_input_read(path, &lim, add_to_tree, &fb, &p, &info), 0);
	flame_folded_finish(&fb);
	assert_null(p);
	assert_int_equal(info.format, STACK_FORMAT_FOLDED);
	assert_int_equal(info.records, 20000);
	assert_int_equal(info.skipped, 0);
	assert_int_equal(info.bytes, len);
	char *got = folded_of(&t), *want = fold_text(text);
	assert_string_equal(got, want);
	free(got);
	flame_tree_release(&t);

	/* the same into a profile */
	assert_int_equal(stack_input_read(path, &lim, NULL, NULL, &p, &info), 0);
	assert_non_null(p);
	assert_true(p->samples.n < 20000); /* one per distinct stack */
	int64_t sum = 0, want_sum = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		sum += p->samples.v[i].values[0];
	for (int i = 0; i < 20000; i++)
		want_sum += i % 7;
	assert_int_equal(sum, want_sum);
	profile_free(p);
	free(want);

	/* perf script text comes back as a profile, also with fn set */
	const char *ps = "prog 1/1 [000] 1.000: 1 cpu-clock:\n\t    1234 main+0x1 (/bin/prog)\n\t    zz bad line\n";
	write_file(path, ps, strlen(ps));
	flame_tree_init(&t);
	flame_folded_init(&fb, &t);
	assert_int_equal(stack_input_read(path, &lim, add_to_tree, &fb, &p, &info), 0);
	flame_folded_finish(&fb);
	assert_non_null(p);
	assert_int_equal(info.format, STACK_FORMAT_PERF_SCRIPT);
	assert_int_equal(info.records, 1);
	assert_int_equal(info.skipped, 1);
	assert_int_equal(info.first_skipped_line, 3);
	assert_string_equal(info.first_skipped, "?    zz bad line");
	profile_free(p);
	flame_tree_release(&t);
	assert_int_equal(stack_input_read("/nonexistent/x.folded", NULL, NULL, NULL, &p, NULL), -ENOENT);
	unlink(path);
	free(text);
}

/* The folded text of the tree of the file at path, read with lim; checks
 * that all of its len bytes were read. */
static char *read_folded(const char *path, const struct stack_input_limits *lim, size_t len)
{
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_folded fb;
	flame_folded_init(&fb, &t);
	struct profile *p = NULL;
	struct stack_input_info info;
	assert_int_equal(stack_input_read(path, lim, add_to_tree, &fb, &p, &info), 0);
	flame_folded_finish(&fb);
	assert_null(p);
	assert_int_equal(info.bytes, len);
	char *out = folded_of(&t);
	flame_tree_release(&t);
	return out;
}

static void count_line(void *ctx, const char *stack, size_t len, int64_t count)
{
	(void)ctx;
	(void)stack;
	(void)len;
	(void)count;
}

/* A regular file read with the default read size is mapped a window at a
 * time: lines cut by the windows' ends (a long one too), the limits, and
 * a descriptor not at the file's start (stdin redirected from a file that
 * was partly read) read as they do through read(2). */
static void test_mapped_file(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "mapped.folded");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	for (int i = 0; i < 40000; i++) {
		fprintf(f, "main;worker_%d;step_%d", i % 7, i % 1013);
		for (int d = 0; d < i % 24; d++)
			fprintf(f, ";some_crate::module_%d::function_%d", d, (i * 31 + d) % 4999);
		if (i == 17000) /* longer than a read, across the first window's end */
			for (int d = 0; d < 20000; d++)
				fprintf(f, ";g_%d", d);
		fprintf(f, " %d\n", 1 + i % 5);
	}
	fclose(f);
	assert_true(len > (9u << 20)); /* three windows of 4 MiB */
	write_file(path, text, len);
	struct stack_input_limits by_read = {.read_size = 4093};
	char *want = read_folded(path, &by_read, len);

	for (int pass = 0; pass < 2; pass++) {
		/* the default read size maps; a chosen one reads */
		struct stack_input_limits lim = {.read_size = pass ? 4093 : 0};
		char *got = read_folded(path, &lim, len);
		assert_string_equal(got, want);
		free(got);
		struct profile *p = NULL;
		struct stack_input_info info;

		lim.max_input_bytes = len - 1;
		assert_int_equal(stack_input_read(path, &lim, count_line, NULL, &p, &info), -EFBIG);
		lim.max_input_bytes = len;
		assert_int_equal(stack_input_read(path, &lim, count_line, NULL, &p, &info), 0);
		lim.max_input_bytes = 0;
		lim.max_line_bytes = 100000;
		assert_int_equal(stack_input_read(path, &lim, count_line, NULL, &p, &info), -E2BIG);
		assert_int_equal(info.error_line, 17001);
	}

	/* a descriptor already past the first lines reads the rest */
	const char *rest = strchr(text + (1u << 20) + 12345, '\n') + 1;
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(lseek(fd, rest - text, SEEK_SET), rest - text);
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_folded fb;
	flame_folded_init(&fb, &t);
	struct profile *p = NULL;
	struct stack_input_info info;
	assert_int_equal(stack_input_read_fd(fd, NULL, add_to_tree, &fb, &p, &info), 0);
	flame_folded_finish(&fb);
	close(fd);
	assert_int_equal(info.bytes, len - (size_t)(rest - text));
	char *got = folded_of(&t);
	write_file(path, rest, len - (size_t)(rest - text));
	char *want_rest = read_folded(path, &by_read, len - (size_t)(rest - text));
	assert_string_equal(got, want_rest);
	free(got);
	free(want_rest);
	flame_tree_release(&t);
	unlink(path);
	free(want);
	free(text);
}

/* A callback that adds each line to a flame tree and, at one line, cuts
 * the file it comes from: another process truncating it, made
 * deterministic. */
struct cutter {
	struct flame_folded *fb;
	const char *path;
	uint64_t line, at; /* lines seen; cut when this one comes */
	off_t to;          /* to this size */
};

static void cut_line(void *ctx, const char *stack, size_t len, int64_t count)
{
	struct cutter *c = ctx;
	flame_folded_add(c->fb, stack, len, count);
	if (++c->line == c->at)
		assert_int_equal(truncate(c->path, c->to), 0);
}

/* Reads path through the map with the file cut to to at line at; returns
 * stack_input_read()'s result. The builder is finished and freed as kiln
 * flame does after an error (ASan checks it was left whole). */
static int read_cut(const char *path, uint64_t at, off_t to)
{
	struct flame_tree t;
	flame_tree_init(&t);
	struct flame_folded fb;
	flame_folded_init(&fb, &t);
	struct cutter c = {.fb = &fb, .path = path, .at = at, .to = to};
	struct profile *p = NULL;
	struct stack_input_info info;
	int rc = stack_input_read(path, NULL, cut_line, &c, &p, &info);
	assert_int_equal(c.line >= at, 1);
	flame_folded_finish(&fb);
	flame_tree_release(&t);
	assert_null(p);
	return rc;
}

/* A regular file cut shorter while kiln maps it (another process truncates
 * it) is an error, -ESTALE, not a SIGBUS: cut under the window being read,
 * cut past it (seen before the next window is mapped), and cut within the
 * last page (whose end then reads as zeros, no fault at all). The SIGBUS
 * action is the one before afterwards. */
static void test_truncated_file(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "cut.folded");
	struct sigaction before;
	assert_int_equal(sigaction(SIGBUS, NULL, &before), 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	VEC(size_t) starts = {0}; /* of each line */
	for (int i = 0;; i++) {
		fflush(f); /* len is the stream's size as of a flush */
		if (len >= (10u << 20))
			break;
		vec_push(&starts, len);
		fprintf(f, "main;worker_%d;step_%d", i % 7, i % 1013);
		for (int d = 0; d < i % 24; d++)
			fprintf(f, ";some_crate::module_%d::function_%d", d, (i * 31 + d) % 4999);
		fprintf(f, " %d\n", 1 + i % 5);
	}
	fclose(f);
	assert_true((len - 1) % 4096 != 0); /* its last byte is not alone on a page */
	/* the first line at or after byte off, 1-based */
	uint64_t line_at[3];
	size_t offs[3] = {1u << 20, 1u << 20, len - (1u << 20)};
	for (int k = 0; k < 3; k++) {
		size_t i = 0;
		while (starts.v[i] < offs[k])
			i++;
		line_at[k] = i + 1;
	}
	off_t to[3] = {(2 << 20) + 100, 6 << 20, (off_t)len - 1};
	for (int k = 0; k < 3; k++) {
		write_file(path, text, len);
		assert_int_equal(read_cut(path, line_at[k], to[k]), -ESTALE);
	}
	struct sigaction now;
	assert_int_equal(sigaction(SIGBUS, NULL, &now), 0);
	assert_true(now.sa_handler == before.sa_handler); /* cmocka's own */
	/* the same file, not cut, reads to its end */
	write_file(path, text, len);
	assert_int_equal(read_cut(path, 0, 0), 0); /* line 0 never comes */
	unlink(path);
	vec_free(&starts);
	free(text);
}

/* A frame name longer than the first read, on the first line, is as good
 * as anywhere else; a line over the limit is an error naming it. */
static void test_long_lines(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "long.folded");
	size_t name = 1 << 20;
	char *text = malloc(name + 64);
	assert_non_null(text);
	memset(text, 'x', name);
	size_t len = name + (size_t)snprintf(text + name, 64, " 3\nmain;a 2\n");
	write_file(path, text, len);
	struct profile *p = NULL;
	struct stack_input_info info;
	assert_int_equal(stack_input_read(path, NULL, NULL, NULL, &p, &info), 0);
	assert_int_equal(info.format, STACK_FORMAT_FOLDED);
	assert_int_equal(p->samples.n, 2);
	profile_free(p);

	struct stack_input_limits lim = {.max_line_bytes = 1000, .read_size = 512};
	assert_int_equal(stack_input_read(path, &lim, NULL, NULL, &p, &info), -E2BIG);
	assert_null(p);
	assert_int_equal(info.error_line, 1);
	/* the long line later on: caught while streaming */
	len = (size_t)snprintf(text, 64, "main;a 2\n\nmain;b 1\n");
	memset(text + len, 'y', 5000);
	len += 5000;
	len += (size_t)snprintf(text + len, 64, " 1\n");
	write_file(path, text, len);
	assert_int_equal(stack_input_read(path, &lim, NULL, NULL, &p, &info), -E2BIG);
	assert_int_equal(info.error_line, 4);
	lim.max_line_bytes = 0;
	assert_int_equal(stack_input_read(path, &lim, NULL, NULL, &p, &info), 0);
	profile_free(p);

	/* the input limit counts bytes of text */
	lim.max_input_bytes = 4000;
	assert_int_equal(stack_input_read(path, &lim, NULL, NULL, &p, &info), -EFBIG);
	assert_null(p);
	lim.max_input_bytes = len;
	assert_int_equal(stack_input_read(path, &lim, NULL, NULL, &p, &info), 0);
	profile_free(p);
	unlink(path);
	free(text);
}

/* Binary input is rejected from its first bytes, whatever its size. */
static void test_binary(void **state)
{
	(void)state;
	struct profile *p = NULL;
	struct stack_input_info info;
	assert_int_equal(stack_input_read("/dev/zero", NULL, NULL, NULL, &p, &info), -ENOMSG);
	assert_int_equal(info.bytes, 64 << 10);
	assert_int_equal(stack_input_read("/dev/urandom", NULL, NULL, NULL, &p, &info), -ENOMSG);
	assert_true(info.bytes <= 64 << 10);

	char path[512];
	tmp_path(path, sizeof(path), "perf.data");
	char head[4096] = "PERFILE2";
	write_file(path, head, sizeof(head));
	assert_int_equal(stack_input_read(path, NULL, NULL, NULL, &p, &info), -EPROTONOSUPPORT);
	assert_int_equal(info.format, STACK_FORMAT_PERF_DATA);
	/* kiln_read tells it apart too */
	assert_int_equal(kiln_read(path, &p, NULL), -EPROTONOSUPPORT);
	assert_non_null(strstr(kiln_read_strerror(-EPROTONOSUPPORT), "perf script -i FILE | kiln collapse"));

	/* text that never gets to a stack line: given up on after the line
	 * limit and a little more, not read to its end */
	FILE *f = fopen(path, "w");
	for (int i = 0; i < 200000; i++)
		fputs("# comment\n", f);
	fclose(f);
	struct stack_input_limits lim = {.max_line_bytes = 1000};
	assert_int_equal(stack_input_read(path, &lim, NULL, NULL, &p, &info), -ENOMSG);
	assert_true(info.bytes < 2000000);
	unlink(path);
}

/* A .kiln profile read through the sniffer: the head already read is
 * handed to the chunk reader. */
static void test_kiln(void **state)
{
	(void)state;
	char path[512];
	tmp_path(path, sizeof(path), "p.kiln");
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	uint32_t loc = profile_location(p, PROFILE_NO_MAPPING, 0x1000, PROFILE_LOC_USER);
	uint32_t node = profile_stack_child(p, 0, loc);
	for (int i = 0; i < 1000; i++) {
		struct profile_sample s = {.stack = node, .tid = 1, .time = (uint64_t)i};
		s.values[0] = 1;
		profile_add_sample(p, &s);
	}
	struct kiln_writer *w;
	assert_int_equal(kiln_writer_open(&w, path), 0);
	assert_int_equal(kiln_writer_finish(w, p), 0);
	kiln_writer_free(w);
	profile_free(p);

	struct stack_input_info info;
	assert_int_equal(stack_input_read(path, NULL, NULL, NULL, &p, &info), 0);
	assert_int_equal(info.format, STACK_FORMAT_KILN);
	assert_true(info.kiln.complete);
	assert_int_equal(p->samples.n, 1000);
	profile_free(p);

	/* through a pipe, as stdin would be */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	if (!pid) {
		close(fds[0]);
		int in = open(path, O_RDONLY);
		char buf[777];
		ssize_t n;
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(fds[1], buf, (size_t)n) != n)
				_exit(1);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(stack_input_read_fd(fds[0], NULL, NULL, NULL, &p, &info), 0);
	close(fds[0]);
	assert_int_equal(info.format, STACK_FORMAT_KILN);
	assert_true(info.kiln.complete);
	assert_int_equal(p->samples.n, 1000);
	profile_free(p);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sniff),          cmocka_unit_test(test_stream_file),
	    cmocka_unit_test(test_mapped_file),    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_truncated_file), cmocka_unit_test(test_binary),
	    cmocka_unit_test(test_kiln),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
