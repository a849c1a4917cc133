/* test_qemu_count.c - the reader of libkiln-qemu.so's files on hand-written
 * ones: a block's executions become one sample per instruction under its
 * call path (call sites root first), mappings carry the path, cache events
 * land in the values asked for and in the totals, "end" and "exec" are
 * reported; malformed files (bad magic, undefined ids, impossible sizes)
 * are -EPROTO. Also the host cache geometry from a fake sysfs tree, the
 * callgrind writer, count --compare's matching, and the feed's "t" lines
 * (whole, cut short, malformed). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "analysis/count_compare.h"
#include "analysis/hotspots.h"
#include "capture/host_cache.h"
#include "capture/qemu_count.h"
#include "profile/profile.h"
#include "render/callgrind.h"

static char *tmp_path(const char *name)
{
	const char *dir = getenv("KILN_TEST_TMP");
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s/qemu_count_%d_%s", dir ? dir : "/tmp", (int)getpid(), name);
	return buf;
}

static const char *write_file(const char *name, const char *text)
{
	char *p = tmp_path(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* instructions in value 0, calls in value 1 */
static const int count_values[QEMU_COUNT_EVENTS] = {0, -1, -1, -1, -1, -1, -1, -1, -1, 1};

static const char good[] = "kiln-qemu 1\n"
                           "pid 42\n"
                           "ppid 1\n"
                           "map 1000 2000 0 /bin/prog\n"
                           "tb 0 1000 2 1 4\n" /* 0x1000 (1 byte), 0x1001 (4 bytes) */
                           "tb 1 1800 1 5\n"   /* 0x1800 */
                           "node 1 0 1001\n"   /* called from 0x1001 */
                           "node 2 1 1800\n"   /* and from there at 0x1800 */
                           "e 0 0 10\n"        /* tb 0 at the root, 10 times */
                           "c 0 0 4\n"         /* of which 4 entered it by a call */
                           "e 2 1 7\n"         /* tb 1 two calls deep, 7 times */
                           "c 2 1 3\n"         /* of which 3 entered it by a call */
                           "end\n";

static void test_read_counts(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add_value_type(p, "instructions", "count");
	profile_add_value_type(p, "calls", "count");
	struct qemu_count_info info;
	assert_int_equal(qemu_count_add(p, write_file("good", good), count_values, &info), 0);
	assert_int_equal(info.pid, 42);
	assert_int_equal(info.ppid, 1);
	assert_true(info.complete);
	assert_false(info.cache);
	assert_string_equal(info.exec_path, "");
	assert_int_equal(info.totals[0], 2 * 10 + 7);
	assert_int_equal(p->samples.n, 3);
	assert_int_equal(p->mappings.n, 1);
	assert_string_equal(profile_str(p, p->mappings.v[0].path), "/bin/prog");
	assert_int_equal(p->mappings.v[0].pid, 42);
	/* the sample of 0x1800: root -> 0x1001 -> 0x1800 (call site) -> 0x1800 (leaf) */
	const struct profile_sample *s = &p->samples.v[2];
	assert_int_equal(s->values[0], 7);
	/* the calls: on the block's first instruction only, in the totals */
	assert_int_equal(s->values[1], 3);
	assert_int_equal(p->samples.v[0].values[1], 4); /* 0x1000, tb 0's first */
	assert_int_equal(p->samples.v[1].values[1], 0); /* 0x1001, its second */
	assert_int_equal(info.totals[QEMU_COUNT_CALLS], 3 + 4);
	assert_int_equal(s->pid, 42);
	assert_int_equal(p->stacks.v[s->stack].depth, 3);
	const struct profile_location *leaf = &p->locations.v[p->stacks.v[s->stack].location];
	assert_int_equal(leaf->address, 0x1800);
	uint32_t up = p->stacks.v[s->stack].parent;
	assert_int_equal(p->locations.v[p->stacks.v[up].location].address, 0x1800);
	up = p->stacks.v[up].parent;
	assert_int_equal(p->locations.v[p->stacks.v[up].location].address, 0x1001);
	assert_int_equal(p->stacks.v[up].parent, 0);
	/* the root block's instructions: 0x1000 and 0x1001, at depth 1 */
	assert_int_equal(p->locations.v[p->stacks.v[p->samples.v[1].stack].location].address, 0x1001);
	assert_int_equal(p->stacks.v[p->samples.v[0].stack].depth, 1);
	profile_free(p);
	unlink(tmp_path("good"));
}

/* The numbers at the edges of what the reader takes: the largest count
 * and address, hex digits in either case, runs of spaces. */
static void test_read_numbers(void **state)
{
	(void)state;
	const char *text = "kiln-qemu 1\npid  0042\nmap fffffffffffff000 FFFFFFFFFFFFFFFF 0 /x\n"
	                   "tb 0 FfffffffffffF000 1 15\ne 0 0 18446744073709551615\nend\n";
	struct profile *p = profile_new();
	profile_add_value_type(p, "instructions", "count");
	struct qemu_count_info info;
	assert_int_equal(qemu_count_add(p, write_file("numbers", text), count_values, &info), 0);
	assert_int_equal(info.pid, 42);
	assert_true(info.complete);
	assert_true(info.totals[0] == UINT64_MAX);
	assert_true(p->mappings.v[0].end == UINT64_MAX);
	assert_true(p->locations.v[p->stacks.v[p->samples.v[0].stack].location].address == 0xfffffffffffff000ull);
	profile_free(p);
	unlink(tmp_path("numbers"));
}

static void test_read_cache(void **state)
{
	(void)state;
	const char *text = "kiln-qemu 1\npid 7\ncache 32768 8 64 32768 8 64 1048576 16 64\n"
	                   "tb 0 1000 2 2 2\n"
	                   /* per instruction: I1mr ILmr Dr Dw D1mr D1mw DLmr DLmw */
	                   "e 0 0 5 1 1 5 0 2 0 1 0 0 0 0 5 0 3 0 2\n"
	                   "exec /bin/true\n";
	/* Ir, I1mr, ILmr, Dr, Dw, D1mr, D1mw, DLmr, DLmw: LL reads are
	 * instruction and data reads together, DLmw is not kept */
	int values[QEMU_COUNT_EVENTS] = {0, 3, 4, -1, -1, 1, 2, 4, -1, -1};
	struct profile *p = profile_new();
	for (int i = 0; i < 5; i++)
		profile_add_value_type(p, i ? "v" : "instructions", "count");
	struct qemu_count_info info;
	assert_int_equal(qemu_count_add(p, write_file("cache", text), values, &info), 0);
	assert_true(info.cache);
	assert_false(info.complete);
	assert_string_equal(info.exec_path, "/bin/true");
	assert_int_equal(info.geometry[6], 1048576);
	assert_int_equal(info.totals[0], 10);
	assert_int_equal(info.totals[1 + KQ_DR], 5);
	assert_int_equal(info.totals[1 + KQ_DW], 5);
	assert_int_equal(info.totals[1 + KQ_D1MR], 2);
	assert_int_equal(info.totals[1 + KQ_D1MW], 3);
	assert_int_equal(p->samples.n, 2);
	assert_int_equal(p->samples.v[0].values[0], 5);
	assert_int_equal(p->samples.v[0].values[3], 1); /* I1mr */
	assert_int_equal(p->samples.v[0].values[1], 2); /* D1mr */
	assert_int_equal(p->samples.v[0].values[4], 2); /* ILmr + DLmr */
	assert_int_equal(p->samples.v[1].values[2], 3); /* D1mw */
	assert_int_equal(p->samples.v[1].values[4], 0); /* its DLmw is not kept */
	assert_int_equal(info.totals[1 + KQ_DLMW], 2);  /* but is in the totals */
	profile_free(p);
	unlink(tmp_path("cache"));
}

static void test_malformed(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "",
	    "kiln-qemu 2\n",
	    "kiln-qemu 1\ntb 1 1000 1 1\n",                                       /* ids must come in order */
	    "kiln-qemu 1\ntb 0 1000 0\n",                                         /* no instructions */
	    "kiln-qemu 1\ntb 0 1000 1 16\n",                                      /* no x86 instruction is 16 bytes */
	    "kiln-qemu 1\ntb 0 1000 2 1\n",                                       /* sizes missing */
	    "kiln-qemu 1\nnode 1 1 1000\n",                                       /* a node its own parent */
	    "kiln-qemu 1\ne 0 0 1\n",                                             /* an undefined block */
	    "kiln-qemu 1\ntb 0 1000 1 1\ne 3 0 1\n",                              /* an undefined call path */
	    "kiln-qemu 1\ntb 0 1000 1 1\ne 0 0 -1\n",                             /* a negative count */
	    "kiln-qemu 1\nmap 2000 1000 0 /x\n",                                  /* an empty range */
	    "kiln-qemu 1\nfrobnicate\n",                                          /* an unknown line */
	    "kiln-qemu 1\ncache 1 2 3\n",                                         /* a short geometry */
	    "kiln-qemu 1\ncache 1 1 1 1 1 1 1 1 1\ntb 0 1000 1 1\ne 0 0 1 1 2\n", /* short counters */
	    "kiln-qemu 1\ntb 0 1000 1 1\ne 0 0 18446744073709551616\n",           /* a count past 64 bits */
	    "kiln-qemu 1\ntb 0 10000000000000000 1 1\n",                          /* an address past 64 bits */
	    "kiln-qemu 1\ntb 0 1000 1 a\n",                                       /* hex in a decimal field */
	    "kiln-qemu 1\npid +7\n",                                              /* a sign */
	    "kiln-qemu 1\nmap 0x1000 2000 0 /x\n",                                /* a 0x prefix */
	    "kiln-qemu 1\ntb 0 1000 1 1\nc 0 0 1\n",                              /* calls before their block's line */
	    "kiln-qemu 1\ntb 0 1000 1 1\ntb 1 1001 1 1\ne 0 0 1\nc 0 1 1\n",      /* calls of another block */
	    "kiln-qemu 1\ntb 0 1000 1 1\ne 0 0 1\nc 0 0\n",                       /* no count */
	    "kiln-qemu 1\ntb 0 1000 1 1\ne 0 0 1\nc 0 0 9223372036854775808\n",   /* past a value */
	    "kiln-qemu 1\ntb 0 1000 1 1\ne 0 0 2\nc 0 0 1\nc 0 0 1\n",            /* the block's calls twice */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct profile *p = profile_new();
		profile_add_value_type(p, "instructions", "count");
		struct qemu_count_info info;
		int rc = qemu_count_add(p, write_file("bad", bad[i]), count_values, &info);
		if (rc != -EPROTO)
			fail_msg("case %zu: %d, not -EPROTO", i, rc);
		profile_free(p);
	}
	unlink(tmp_path("bad"));
	struct profile *p = profile_new();
	struct qemu_count_info info;
	assert_int_equal(qemu_count_add(p, tmp_path("missing"), count_values, &info), -ENOENT);
	profile_free(p);
}

static void put(const char *dir, const char *idx, const char *name, const char *value)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, idx);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, idx, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", value);
	fclose(f);
}

static void test_host_cache(void **state)
{
	(void)state;
	char *dir = tmp_path("sysfs");
	mkdir(dir, 0755);
	const char *rows[][5] = {{"index0", "1", "Data", "48K", "12"},
	                         {"index1", "1", "Instruction", "32K", "8"},
	                         {"index2", "2", "Unified", "2048K", "16"},
	                         {"index3", "3", "Unified", "32768K", "16"}};
	for (int i = 0; i < 4; i++) {
		put(dir, rows[i][0], "level", rows[i][1]);
		put(dir, rows[i][0], "type", rows[i][2]);
		put(dir, rows[i][0], "size", rows[i][3]);
		put(dir, rows[i][0], "ways_of_associativity", rows[i][4]);
		put(dir, rows[i][0], "coherency_line_size", "64");
	}
	struct host_cache_level i1, d1, ll;
	assert_int_equal(host_cache_read(dir, &i1, &d1, &ll), 0);
	assert_int_equal(i1.size, 32768);
	assert_int_equal(i1.assoc, 8);
	assert_int_equal(d1.size, 48 * 1024);
	assert_int_equal(d1.assoc, 12);
	assert_int_equal(ll.size, 32768 * 1024);
	assert_int_equal(ll.line, 64);
	char missing[4200];
	snprintf(missing, sizeof(missing), "%s/none", dir);
	assert_int_equal(host_cache_read(missing, &i1, &d1, &ll), -ENOENT);
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A profile of main -> work with names, as symbolization leaves it. */
static struct profile *named_profile(int64_t work, int64_t helper)
{
	struct profile *p = profile_new();
	profile_add_value_type(p, "instructions", "count");
	const char *names[] = {"main", "work", "helper"};
	uint32_t loc[3];
	for (int i = 0; i < 3; i++) {
		loc[i] = profile_location(p, PROFILE_NO_MAPPING, 0x1000 + (uint64_t)i * 0x100, PROFILE_LOC_USER);
		struct profile_frame f = {.function = profile_intern(p, names[i]),
		                          .file = profile_intern(p, "prog.c"),
		                          .line = 10u * (unsigned)(i + 1),
		                          .module = profile_intern(p, "prog")};
		profile_set_location_frames(p, loc[i], &f, 1);
	}
	uint32_t m = profile_stack_child(p, 0, loc[0]);
	uint32_t w = profile_stack_child(p, m, loc[1]);
	uint32_t h = profile_stack_child(p, w, loc[2]);
	struct profile_sample s = {.stack = m, .values = {5}};
	profile_add_sample(p, &s);
	s.stack = w;
	s.values[0] = work;
	profile_add_sample(p, &s);
	s.stack = h;
	s.values[0] = helper;
	profile_add_sample(p, &s);
	return p;
}

/* p in callgrind's format, checked against the call counts main -> work
 * and work -> helper it must show (the costs are the same either way):
 * work's own line, then its call to helper with helper's inclusive cost;
 * main's call of work with work and helper inclusive. */
static void check_callgrind(struct profile *p, unsigned main_work, unsigned work_helper)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	assert_int_equal(callgrind_write(f, p), 0);
	fclose(f);
	char want[64];
	assert_non_null(strstr(buf, "events: Ir\n")); /* calls is no event */
	assert_non_null(strstr(buf, "fn=("));         /* compressed names */
	const char *w = strstr(buf, " work\n");
	assert_non_null(w);
	assert_non_null(strstr(w, "20 100\n"));
	snprintf(want, sizeof(want), " helper\ncalls=%u 0\n20 20\n", work_helper);
	assert_non_null(strstr(w, want));
	snprintf(want, sizeof(want), "calls=%u 0\n10 120\n", main_work);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "totals: 125\n"));
	free(buf);
}

/* A sampled profile cannot know its calls: one each. */
static void test_callgrind(void **state)
{
	(void)state;
	struct profile *p = named_profile(100, 20);
	check_callgrind(p, 1, 1);
	profile_free(p);
}

/* With kiln count's "calls" value: each call line carries the calls that
 * entered the callee (at its entry, under the caller's path). */
static void test_callgrind_calls(void **state)
{
	(void)state;
	struct profile *p = named_profile(100, 20);
	profile_add_value_type(p, "calls", "count");
	/* main entered work 3 times, work entered helper 7 times */
	p->samples.v[1].values[1] = 3;
	p->samples.v[2].values[1] = 7;
	check_callgrind(p, 3, 7);
	profile_free(p);
}

static void test_compare(void **state)
{
	(void)state;
	struct profile *a = named_profile(100, 20), *b = named_profile(103, 20);
	struct hotspots ha, hb;
	assert_int_equal(hotspots_build(&ha, a, 0), 0);
	assert_int_equal(hotspots_build(&hb, b, 0), 0);
	struct count_compare c;
	assert_int_equal(count_compare_build(&c, &ha, &hb), 0);
	assert_int_equal(c.base_total, 125);
	assert_int_equal(c.now_total, 128);
	assert_true(c.total_pct > 2.39 && c.total_pct < 2.41);
	const struct count_change *r = count_compare_find(&c, "work");
	assert_non_null(r);
	assert_int_equal(r->base, 100);
	assert_int_equal(r->now, 103);
	assert_true(r->pct > 2.99 && r->pct < 3.01);
	assert_string_equal(c.rows.v[0].name, "work"); /* the largest change first */
	assert_int_equal(count_compare_find(&c, "helper")->pct, 0);
	assert_null(count_compare_find(&c, "nothing"));
	count_compare_release(&c);
	hotspots_release(&ha);
	hotspots_release(&hb);
	profile_free(a);
	profile_free(b);
}

static int parse(const char *line, struct qemu_feed_block *b)
{
	return qemu_feed_parse(line, strlen(line), b);
}

static void test_feed(void **state)
{
	(void)state;
	static struct qemu_feed_block b;
	assert_int_equal(parse("t 1a0 3 1 4 15 /usr/lib/x86_64-linux-gnu/libc.so.6", &b), 0);
	assert_int_equal(b.n, 3);
	assert_true(b.offset[0] == 0x1a0 && b.offset[1] == 0x1a1 && b.offset[2] == 0x1a5);
	assert_int_equal(b.path_len, strlen("/usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_memory_equal(b.path, "/usr/lib/x86_64-linux-gnu/libc.so.6", b.path_len);
	/* a path with spaces is the rest of the line */
	assert_int_equal(parse("t 0 1 2 /tmp/a b", &b), 0);
	assert_int_equal(b.path_len, 8);
	/* the length is the caller's: the line may sit in a larger buffer */
	assert_int_equal(qemu_feed_parse("t 10 1 1 /p\nt 20", 11, &b), 0);
	assert_int_equal(b.path_len, 2);
	static const char *bad[] = {
	    "",
	    "t",
	    "x 10 1 1 /p",
	    "t 10 1 1",                   /* no path */
	    "t 10 1 1 ",                  /* empty path */
	    "t 10 2 1 /p",                /* fewer sizes than said */
	    "t 10 0 /p",                  /* no instructions */
	    "t 10 513 1 /p",              /* more than a block has */
	    "t 10 1 16 /p",               /* no x86 instruction is 16 bytes */
	    "t 10 1 0 /p",                /* nor 0 */
	    "t 1G 1 1 /p",                /* not hex */
	    "t 10 1x 1 /p",               /* not decimal */
	    "t 10000000000000000 1 1 /p", /* past 64 bits */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &b), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_read_counts),
	    cmocka_unit_test(test_read_numbers),
	    cmocka_unit_test(test_read_cache),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_host_cache),
	    cmocka_unit_test(test_callgrind),
	    cmocka_unit_test(test_callgrind_calls),
	    cmocka_unit_test(test_compare),
	    cmocka_unit_test(test_feed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
