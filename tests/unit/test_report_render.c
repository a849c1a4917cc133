/* test_report_render.c - the text and JSON renderers of `kiln report`:
 * aligned rows, tree glyphs and pruning, warnings, eliding, and JSON that
 * parses (checked with python3) with the expected numbers and escapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "analysis/hotspots.h"
#include "profile/profile.h"
#include "render/report.h"
#include "util/strbuf.h"

#define WEIRD_NAME "we\"ird\\na\nme\t\x01<\xff>"

static uint64_t next_addr = 0x1000;

static uint32_t loc(struct profile *p, const char *name, const char *file, unsigned line)
{
	struct profile_frame fr = {
	    .function = profile_intern(p, name),
	    .file = profile_intern(p, file),
	    .line = line,
	    .module = profile_intern(p, "prog"),
	};
	uint32_t l = profile_location(p, PROFILE_NO_MAPPING, next_addr++, PROFILE_LOC_USER);
	profile_set_location_frames(p, l, &fr, 1);
	return l;
}

static void add(struct profile *p, uint32_t tid, int count, uint32_t n, const uint32_t *root_first)
{
	uint32_t leaf_first[16];
	for (uint32_t i = 0; i < n; i++)
		leaf_first[n - 1 - i] = root_first[i];
	uint32_t node = profile_stack_from_leaf(p, leaf_first, n);
	for (int i = 0; i < count; i++) {
		struct profile_sample s = {.stack = node, .tid = tid, .pid = 1};
		s.values[0] = 1;
		s.values[1] = 1000;
		profile_add_sample(p, &s);
	}
}

/* main->a->leaf1 x100, main->a->leaf2 x200, main->b x100,
 * main->rec->rec->rec->leaf x50, main->WEIRD_NAME x50 */
static struct profile *build(void)
{
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	profile_add_value_type(p, "cpu", "nanoseconds");
	profile_set_meta(p, "command", "./prog --fast");
	profile_set_meta(p, "event", "cpu-clock");
	profile_set_meta(p, "frequency", "997");
	profile_set_meta(p, "call_graph", "dwarf");
	profile_set_meta(p, "stack_size", "65528");
	profile_set_meta(p, "duration_ns", "2500000000");
	profile_set_meta(p, "lost_samples", "0");
	profile_set_meta(p, "truncated_stacks", "0");
	uint32_t m = loc(p, "main", "/src/main.c", 5), a = loc(p, "a", "/src/a.c", 1);
	uint32_t l1 = loc(p, "leaf1", "/src/leaf.c", 10), l2 = loc(p, "leaf2", "/src/leaf.c", 20);
	uint32_t b = loc(p, "b", "", 0), rec = loc(p, "rec", "/src/rec.c", 7), leaf = loc(p, "leaf", "/src/rec.c", 2);
	uint32_t weird = loc(p, WEIRD_NAME, "/src/w.c", 9);
	add(p, 1, 100, 3, (uint32_t[]){m, a, l1});
	add(p, 2, 200, 3, (uint32_t[]){m, a, l2});
	add(p, 1, 100, 2, (uint32_t[]){m, b});
	add(p, 2, 50, 5, (uint32_t[]){m, rec, rec, rec, leaf});
	add(p, 3, 50, 2, (uint32_t[]){m, weird});
	uint32_t name = profile_intern(p, "worker-2");
	profile_thread(p, 2, 1)->name = name;
	name = profile_intern(p, "main-thread");
	profile_thread(p, 1, 1)->name = name;
	return p;
}

static char *render(struct profile *p, const struct report_ops *ops, struct report_options *o)
{
	struct hotspots h;
	assert_int_equal(hotspots_build(&h, p, hotspots_value_index(p, NULL)), 0);
	struct strbuf sb = STRBUF_INIT;
	if (!o->file)
		o->file = "prog.kiln";
	report_render(&sb, ops, p, &h, o);
	hotspots_release(&h);
	return strbuf_detach(&sb);
}

/* The line of text that contains needle, as a new string; fails when none. */
static char *line_with(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	if (!at)
		fail_msg("no line with '%s' in:\n%s", needle, text);
	const char *start = at;
	while (start > text && start[-1] != '\n')
		start--;
	const char *end = strchr(at, '\n');
	return strndup(start, end ? (size_t)(end - start) : strlen(start));
}

static size_t col_of(const char *line, const char *needle)
{
	const char *at = strstr(line, needle);
	assert_non_null(at);
	size_t col = 0;
	for (const char *q = line; q < at; q++)
		col += ((unsigned char)*q & 0xc0) != 0x80;
	return col;
}

static void test_ops_table(void **state)
{
	(void)state;
	assert_ptr_equal(report_ops_find("text"), &report_text_ops);
	assert_ptr_equal(report_ops_find("json"), &report_json_ops);
	assert_null(report_ops_find("svg"));
}

static void test_text_functions(void **state)
{
	(void)state;
	struct profile *p = build();
	struct report_options o = {.complete = true, .sections = REPORT_FUNCTIONS, .limit = 3};
	char *out = render(p, &report_text_ops, &o);

	/* header block */
	assert_non_null(strstr(out, "./prog --fast"));
	assert_non_null(strstr(out, "cpu-clock at 997 Hz"));
	assert_non_null(strstr(out, "dwarf, 65,528-byte stack copy"));
	assert_non_null(strstr(out, "500 in 2.50 s, 3 threads"));
	assert_null(strstr(out, "warning"));
	assert_null(strstr(out, "\033[")); /* no colour unless asked */

	/* rows: exact numbers, columns aligned under the header */
	char *head = line_with(out, "Self%");
	char *row1 = line_with(out, "leaf2");
	char *row2 = line_with(out, "  b  ");
	assert_string_equal(row1, "  40.0%   40.0%      200  leaf2     /src/leaf.c:20");
	assert_int_equal(col_of(head, "Function"), col_of(row1, "leaf2"));
	assert_int_equal(col_of(head, "Location"), col_of(row1, "/src/leaf.c"));
	assert_int_equal(col_of(head, "Location"), col_of(row2, "prog")); /* no file: the module */
	assert_true(strstr(head, "Self%  Total%  Samples  Function") != NULL);
	assert_non_null(strstr(out, "(3 of 8 functions; --limit 0 shows all)"));
	free(head);
	free(row1);
	free(row2);
	free(out);

	/* sorted by total, every row */
	o.sort = HOTSPOT_SORT_TOTAL;
	o.limit = 0;
	out = render(p, &report_text_ops, &o);
	char *first = line_with(out, "main");
	assert_non_null(strstr(first, " 100.0%      "));
	assert_true(strstr(out, "main") < strstr(out, "  a  "));
	assert_null(strstr(out, "functions; --limit"));
	free(first);
	free(out);
	profile_free(p);
}

static void test_text_warnings(void **state)
{
	(void)state;
	struct profile *p = build();
	profile_set_meta(p, "truncated_stacks", "12");
	profile_set_meta(p, "lost_samples", "7");
	profile_set_meta(p, "missing_modules", "libfoo.so,libbar.so");
	struct report_options o = {.complete = false, .sections = REPORT_FUNCTIONS};
	char *out = render(p, &report_text_ops, &o);
	assert_non_null(strstr(out, "warning: 12 of 500 samples (2.4%) had stacks deeper than the largest stack copy "
	                            "the kernel allows (65,528 bytes); they are shown under [truncated]\n"));
	free(out);

	/* a smaller copy than the kernel allows: say how to raise it */
	profile_set_meta(p, "stack_size", "8192");
	out = render(p, &report_text_ops, &o);
	assert_non_null(strstr(out, "warning: 12 of 500 samples (2.4%) had stacks cut short by the 8192-byte stack "
	                            "copy (shown under [truncated]); raise it with --call-graph dwarf,65528\n"));
	assert_non_null(strstr(out, "warning: 7 of 507 samples (1.4%) were lost"));
	free(out);
	/* where and on which threads: the ring's cpu, the interval, the names */
	profile_set_meta(p, "lost_intervals", "1:210000000:350000000:5,0:1000000000:1020000000:2");
	profile_set_meta(p, "lost_threads", "42:6");
	profile_thread(p, 42, 40)->name = profile_intern(p, "worker-3");
	profile_set_meta(p, "reader_priority", "normal");
	out = render(p, &report_text_ops, &o);
	assert_non_null(strstr(out, "warning: 7 of 507 samples (1.4%) were lost because a ring buffer was full: cpu 1 "
	                            "from 0.21 s to 0.35 s (5), cpu 0 from 1.00 s to 1.02 s (2); the profile "
	                            "under-counts what ran on those cpus then; by thread (estimated from what each "
	                            "one's counters counted): worker-3 tid 42 (6). kiln's reader ran at normal "
	                            "priority: run kiln as root"));
	assert_non_null(strstr(out, "warning: no binary found for 2 modules (libfoo.so,libbar.so)"));
	assert_non_null(strstr(out, "prog.kiln (cut short)"));
	free(out);
	/* threads whose exit counts went with the samples are under-estimated */
	profile_set_meta(p, "lost_threads_unreported", "3");
	out = render(p, &report_text_ops, &o);
	assert_non_null(strstr(out, "worker-3 tid 42 (6); 3 threads' exit counts were lost with the samples, so their "
	                            "losses may be under-estimated. kiln's reader"));
	free(out);

	/* colour: warnings and hot percentages stand out */
	o.color = true;
	out = render(p, &report_text_ops, &o);
	assert_non_null(strstr(out, "\033[33m\033[1mwarning:\033[0m"));
	assert_non_null(strstr(out, "\033[31m  40.0%\033[0m"));
	free(out);
	profile_free(p);
}

/* The agent engine's CPU-time timers fire at most once per kernel tick:
 * the header gives the rate reached when it is well below the one asked,
 * and says nothing of it for perf's engine or a rate that was met. */
static void test_text_agent_rate(void **state)
{
	(void)state;
	struct profile *p = build(); /* 500 samples of 1 us each */
	struct report_options o = {.complete = false, .sections = REPORT_FUNCTIONS};
	profile_set_meta(p, "engine", "agent");
	char *out = render(p, &report_text_ops, &o);
	assert_null(strstr(out, "samples per CPU-second"));
	free(out);
	/* one more sample that stands for 2 s of CPU: 501 in 2.0005 s */
	struct profile_sample big = {.stack = p->samples.v[0].stack, .tid = 1, .pid = 1};
	big.values[0] = 1;
	big.values[1] = 2000000000;
	profile_add_sample(p, &big);
	out = render(p, &report_text_ops, &o);
	char *line = line_with(out, "samples per CPU-second");
	assert_non_null(strstr(line, "rate"));
	assert_non_null(strstr(line, "250 samples per CPU-second of the 997 Hz asked"));
	free(line);
	free(out);
	profile_set_meta(p, "engine", "perf");
	out = render(p, &report_text_ops, &o);
	assert_null(strstr(out, "samples per CPU-second"));
	free(out);
	profile_free(p);
}

static void test_text_counts_and_eliding(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	profile_add_value_type(p, "samples", "count");
	const char *longname = "core::iter::adapters::map::Map<I,F>::fold::h0123456789::very_long_tail_part";
	uint32_t l = loc(p, longname, "/some/very/long/path/to/a/source/file/that/goes/on.rs", 1234);
	add(p, 1, 1234, 1, &l);
	struct report_options o = {.complete = true, .sections = REPORT_FUNCTIONS};
	char *out = render(p, &report_text_ops, &o);
	assert_non_null(strstr(out, "    1,234  "));
	assert_non_null(strstr(out, "samples     1,234"));
	assert_non_null(strstr(out, longname)); /* not a terminal: whole names */
	free(out);

	o.width = 60;
	out = render(p, &report_text_ops, &o);
	char *row = line_with(out, "1,234  ");
	assert_non_null(strstr(row, "\xe2\x80\xa6"));
	assert_non_null(strstr(row, "tail_part")); /* the tail survives */
	assert_non_null(strstr(row, ":1234"));
	free(row);
	/* every table line fits the width */
	for (const char *q = strstr(out, "  Self%"); q && *q;) {
		const char *end = strchr(q, '\n');
		char *ln = strndup(q, end ? (size_t)(end - q) : strlen(q));
		size_t w = 0;
		for (const char *c = ln; *c; c++)
			w += ((unsigned char)*c & 0xc0) != 0x80;
		assert_true(w <= 60);
		free(ln);
		q = end ? end + 1 : NULL;
	}
	free(out);
	profile_free(p);
}

static void test_text_tree(void **state)
{
	(void)state;
	struct profile *p = build();
	struct report_options o = {.complete = true, .sections = REPORT_TREE, .min_percent = 0.5};
	char *out = render(p, &report_text_ops, &o);
	assert_non_null(strstr(out, " 100.0%    0.0%  all\n"));
	assert_non_null(strstr(out, " 100.0%    0.0%  └─ main\n"));
	assert_non_null(strstr(out, "  60.0%    0.0%     ├─ a\n"));
	assert_non_null(strstr(out, "  40.0%   40.0%     │  ├─ leaf2\n"));
	assert_non_null(strstr(out, "  20.0%   20.0%     │  └─ leaf1\n"));
	/* a chain of lone children continues in the same column */
	assert_non_null(strstr(out, "  10.0%    0.0%     ├─ rec\n"
	                            "  10.0%    0.0%     │  rec\n"
	                            "  10.0%    0.0%     │  rec\n"
	                            "  10.0%   10.0%     │  leaf\n"));
	/* control characters in names cannot break the layout */
	assert_non_null(strstr(out, "  10.0%   10.0%     └─ we\"ird\\na?me?"
	                            "?<\xff>\n"));
	assert_null(strstr(out, "Self%  Total%  Samples")); /* the tree alone */
	free(out);

	/* pruning: below 15% only a summary line is left */
	o.min_percent = 15;
	out = render(p, &report_text_ops, &o);
	assert_null(strstr(out, "─ rec"));
	assert_non_null(strstr(out, "└─ 2 more below 15.0% (20.0% together)"));
	assert_non_null(strstr(out, "├─ b\n"));
	free(out);
	profile_free(p);
}

static void test_text_threads(void **state)
{
	(void)state;
	struct profile *p = build();
	struct report_options o = {.complete = true, .sections = REPORT_THREADS};
	char *out = render(p, &report_text_ops, &o);
	char *head = line_with(out, "TID");
	char *r2 = line_with(out, "worker-2");
	char *r1 = line_with(out, "main-thread");
	char *r3 = line_with(out, "  ?  ");
	assert_non_null(strstr(head, "Name"));
	assert_non_null(strstr(head, "Samples"));
	assert_non_null(strstr(head, "CPU time"));
	assert_non_null(strstr(r2, "250"));
	assert_non_null(strstr(r2, "50.0%"));
	assert_non_null(strstr(r1, "40.0%"));
	assert_non_null(strstr(r3, "10.0%"));
	assert_true(strstr(out, "worker-2") < strstr(out, "main-thread")); /* by share */
	assert_int_equal(col_of(head, "Name"), col_of(r2, "worker-2"));
	assert_int_equal(strlen(r1), strlen(r2));
	assert_int_equal(strlen(head), strlen(r2));
	free(head);
	free(r1);
	free(r2);
	free(r3);
	free(out);

	/* two sections: a blank line between them */
	o.sections = REPORT_THREADS | REPORT_TREE;
	out = render(p, &report_text_ops, &o);
	assert_non_null(strstr(out, "10.0%\n\n Total%   Self%  Call tree"));
	free(out);
	profile_free(p);
}

/* Runs python3 on the JSON with a script that asserts; returns its status. */
static int python_check(const char *json, const char *script)
{
	const char *tmp = getenv("KILN_TEST_TMP");
	char path[4096], cmd[8192];
	snprintf(path, sizeof(path), "%s/report_check_%d.py", tmp ? tmp : "/tmp", (int)getpid());
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("import json, sys\nd = json.load(sys.stdin)\n", f);
	fputs(script, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "python3 %s", path);
	FILE *py = popen(cmd, "w");
	assert_non_null(py);
	fputs(json, py);
	int st = pclose(py);
	unlink(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void test_json(void **state)
{
	(void)state;
	struct profile *p = build();
	profile_set_meta(p, "truncated_stacks", "3");
	struct report_options o = {
	    .complete = true,
	    .sections = REPORT_FUNCTIONS | REPORT_THREADS | REPORT_STACKS,
	    .limit = 5,
	    .min_percent = 0.5,
	};
	char *out = render(p, &report_json_ops, &o);
	/* a structural check that needs no python */
	assert_int_equal(out[0], '{');
	assert_non_null(strstr(out, "\"value\": {\"type\": \"cpu\", \"unit\": \"nanoseconds\"}"));
	assert_non_null(strstr(out,
	                       "{\"name\": \"leaf2\", \"module\": \"prog\", \"file\": \"/src/leaf.c\", \"line\": 20, "
	                       "\"self\": 200000, \"total\": 200000, \"self_pct\": 40.0, \"total_pct\": 40.0}"));
	assert_non_null(strstr(out, "\"we\\\"ird\\\\na\\nme\\t\\u0001<\\ufffd>\""));
	assert_null(strstr(out, "\"tree\""));

	int rc =
	    python_check(out, "assert d['file'] == 'prog.kiln'\n"
	                      "assert d['complete'] is True\n"
	                      "assert d['meta']['command'] == './prog --fast'\n"
	                      "assert d['samples'] == 500 and d['total'] == 500000\n"
	                      "assert d['lost'] == 0 and d['truncated'] == 3\n"
	                      "f = d['functions']\n"
	                      "assert len(f) == 5, f\n"
	                      "assert [x['name'] for x in f[:2]] == ['leaf2', 'b'], f\n"
	                      "assert f[0]['self'] == 200000 and f[0]['self_pct'] == 40.0\n"
	                      "names = [x['name'] for x in f]\n"
	                      "assert 'we\"ird\\\\na\\nme\\t\\x01<\\ufffd>' in names, names\n"
	                      "t = d['threads']\n"
	                      "assert [x['tid'] for x in t] == [2, 1, 3], t\n"
	                      "assert t[0]['name'] == 'worker-2' and t[0]['samples'] == 250 and t[0]['pct'] == 50.0\n"
	                      "assert t[0]['value'] == 250000 and t[0]['pid'] == 1\n"
	                      "s = d['stacks']\n"
	                      "assert len(s) == 5 and sum(x['samples'] for x in s) == 500\n"
	                      "assert [fr['name'] for fr in s[0]['frames']] == ['main', 'a', 'leaf2']\n"
	                      "assert s[0]['value'] == 200000 and s[0]['threads'] == [2]\n"
	                      "r = [x for x in s if len(x['frames']) == 5][0]\n"
	                      "assert [fr['name'] for fr in r['frames']] == ['main', 'rec', 'rec', 'rec', 'leaf']\n"
	                      "assert r['frames'][0] == {'name': 'main', 'module': 'prog', 'file': '/src/main.c', "
	                      "'line': 5, 'inlined': False}\n"
	                      "assert 'tree' not in d\n");
	assert_int_equal(rc, 0);
	free(out);

	/* with the tree, pruned like the text one */
	o.sections |= REPORT_TREE;
	o.min_percent = 15;
	o.complete = false;
	out = render(p, &report_json_ops, &o);
	rc = python_check(out, "assert d['complete'] is False\n"
	                       "t = d['tree']\n"
	                       "assert t['name'] == 'all' and t['total'] == 500000 and t['self'] == 0\n"
	                       "m = t['children'][0]\n"
	                       "assert m['name'] == 'main' and m['module'] == 'prog' and m['total'] == 500000\n"
	                       "assert [c['name'] for c in m['children']] == ['a', 'b'], m\n"
	                       "a = m['children'][0]\n"
	                       "assert a['total'] == 300000 and a['self'] == 0\n"
	                       "assert [(c['name'], c['self']) for c in a['children']] == "
	                       "[('leaf2', 200000), ('leaf1', 100000)]\n");
	assert_int_equal(rc, 0);
	free(out);
	profile_free(p);
}

static void test_json_empty(void **state)
{
	(void)state;
	struct profile *p = profile_new();
	struct report_options o = {
	    .complete = true,
	    .sections = REPORT_FUNCTIONS | REPORT_THREADS | REPORT_STACKS | REPORT_TREE,
	};
	char *out = render(p, &report_json_ops, &o);
	int rc = python_check(out, "assert d['samples'] == 0 and d['total'] == 0\n"
	                           "assert d['functions'] == [] and d['threads'] == [] and d['stacks'] == []\n"
	                           "assert d['meta'] == {} and d['value'] == {'type': 'samples', 'unit': 'count'}\n"
	                           "assert d['tree']['children'] == []\n");
	assert_int_equal(rc, 0);
	free(out);

	out = render(p, &report_text_ops, &o);
	assert_non_null(strstr(out, "no samples in 'prog.kiln'"));
	free(out);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ops_table),
	    cmocka_unit_test(test_text_functions),
	    cmocka_unit_test(test_text_warnings),
	    cmocka_unit_test(test_text_agent_rate),
	    cmocka_unit_test(test_text_counts_and_eliding),
	    cmocka_unit_test(test_text_tree),
	    cmocka_unit_test(test_text_threads),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_json_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
