/* test_profile_filter.c - the --pid/--tid/--comm filter and the split by
 * command: list parsing (and refusals that add nothing), a sample's command
 * from its process's main thread, AND across kinds and OR within a list,
 * and commands ordered by samples with their pids. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "profile/profile.h"
#include "profile/profile_filter.h"

/* A driver (pid 10, "gcc") whose children are cc1 (pid 11, with a worker
 * thread 12 named "cc1-worker") and as (pids 13 and 14): samples per tid
 * 10:1, 11:3, 12:2, 13:1, 14:1. */
static struct profile *tree_profile(void)
{
	struct profile *p = profile_new();
	static const struct {
		uint32_t tid, pid;
		const char *name;
		int samples;
	} th[] = {
	    {10, 10, "gcc", 1}, {11, 11, "cc1", 3}, {12, 11, "cc1-worker", 2}, {13, 13, "as", 1}, {14, 14, "as", 1}};
	for (size_t i = 0; i < sizeof(th) / sizeof(th[0]); i++) {
		profile_thread(p, th[i].tid, th[i].pid)->name = profile_intern(p, th[i].name);
		for (int k = 0; k < th[i].samples; k++) {
			struct profile_sample s = {.tid = th[i].tid, .pid = th[i].pid, .time = i * 10 + (uint64_t)k};
			profile_add_sample(p, &s);
		}
	}
	return p;
}

static size_t kept_with(const char *pids, const char *tids, const char *comms)
{
	struct profile *p = tree_profile();
	struct profile_filter f;
	profile_filter_init(&f);
	if (pids)
		assert_int_equal(profile_filter_add_pids(&f, pids), 0);
	if (tids)
		assert_int_equal(profile_filter_add_tids(&f, tids), 0);
	if (comms)
		assert_int_equal(profile_filter_add_comms(&f, comms), 0);
	size_t n = profile_filter_apply(p, &f);
	assert_int_equal(n, p->samples.n);
	profile_filter_release(&f);
	profile_free(p);
	return n;
}

static void test_parse(void **state)
{
	(void)state;
	struct profile_filter f;
	profile_filter_init(&f);
	assert_false(profile_filter_active(&f));
	assert_int_equal(profile_filter_add_pids(&f, "1,22,4294967295"), 0);
	assert_int_equal(f.pids.n, 3);
	assert_int_equal(f.pids.v[2], 4294967295u);
	/* leading zeros are digits like others (the old 10-character limit refused these) */
	struct profile_filter z;
	profile_filter_init(&z);
	assert_int_equal(profile_filter_add_pids(&z, "000000000007,0004294967295"), 0);
	assert_int_equal(z.pids.n, 2);
	assert_int_equal(z.pids.v[0], 7);
	assert_int_equal(z.pids.v[1], 4294967295u);
	profile_filter_release(&z);
	const char *bad[] = {
	    "",   ",",    "1,", ",1",         "1,,2",
	    "x",  "1,2x", "-1", "4294967296", "12345678901",
	    "+1", " 1",   "1 ", "0x10",       "99999999999999999999999"}; /* past 64 bits: refused, not wrapped */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(profile_filter_add_tids(&f, bad[i]), -EINVAL);
		assert_int_equal(f.tids.n, 0); /* nothing added */
	}
	assert_int_equal(profile_filter_add_comms(&f, "cc1,as"), 0);
	assert_int_equal(profile_filter_add_comms(&f, "a,,b"), -EINVAL);
	assert_int_equal(profile_filter_add_comms(&f, ""), -EINVAL);
	assert_int_equal(profile_filter_add_comms(&f, "x,"), -EINVAL);
	assert_int_equal(f.comms.n, 2);
	assert_string_equal(f.comms.v[1], "as");
	assert_true(profile_filter_active(&f));
	struct strbuf sb = STRBUF_INIT;
	profile_filter_describe(&f, &sb);
	assert_string_equal(strbuf_str(&sb), "comm cc1,as, pid 1,22,4294967295");
	strbuf_release(&sb);
	profile_filter_release(&f);
	profile_filter_release(NULL);
}

static void test_command_is_the_process(void **state)
{
	(void)state;
	struct profile *p = tree_profile();
	/* the worker thread's samples belong to cc1, its process */
	struct profile_sample s = {.tid = 12, .pid = 11};
	assert_string_equal(profile_str(p, profile_sample_command(p, &s)), "cc1");
	/* a thread whose process's main thread is unknown: its own name */
	profile_thread(p, 31, 30)->name = profile_intern(p, "orphan");
	s = (struct profile_sample){.tid = 31, .pid = 30};
	assert_string_equal(profile_str(p, profile_sample_command(p, &s)), "orphan");
	s = (struct profile_sample){.tid = 99, .pid = 98};
	assert_int_equal(profile_sample_command(p, &s), 0);
	profile_free(p);
}

static void test_apply(void **state)
{
	(void)state;
	assert_int_equal(kept_with(NULL, NULL, NULL), 8);
	assert_int_equal(kept_with(NULL, NULL, "cc1"), 5);        /* the process, both threads */
	assert_int_equal(kept_with(NULL, NULL, "cc1-worker"), 2); /* a thread by its name */
	assert_int_equal(kept_with(NULL, NULL, "as"), 2);         /* both processes named as */
	assert_int_equal(kept_with(NULL, NULL, "cc1,as"), 7);
	assert_int_equal(kept_with(NULL, NULL, "ld"), 0);
	assert_int_equal(kept_with("11", NULL, NULL), 5);
	assert_int_equal(kept_with("10,13", NULL, NULL), 2);
	assert_int_equal(kept_with(NULL, "12", NULL), 2);
	assert_int_equal(kept_with("11", "12", NULL), 2);  /* AND */
	assert_int_equal(kept_with("13", NULL, "cc1"), 0); /* AND */
	assert_int_equal(kept_with(NULL, "11,13", "as,cc1"), 4);
}

static void test_commands(void **state)
{
	(void)state;
	struct profile *p = tree_profile();
	struct profile_commands c;
	profile_commands_build(p, &c);
	assert_int_equal(c.v.n, 3);
	assert_string_equal(profile_str(p, c.v.v[0].name), "cc1");
	assert_int_equal(c.v.v[0].samples, 5);
	assert_int_equal(c.v.v[0].pids.n, 1);
	/* then as (2 samples in two processes), then gcc (1) */
	assert_string_equal(profile_str(p, c.v.v[1].name), "as");
	assert_int_equal(c.v.v[1].samples, 2);
	assert_int_equal(c.v.v[1].pids.n, 2);
	assert_int_equal(c.v.v[1].pids.v[0], 13);
	assert_int_equal(c.v.v[1].pids.v[1], 14);
	assert_string_equal(profile_str(p, c.v.v[2].name), "gcc");
	assert_int_equal(profile_keep_command(p, c.v.v[1].name), 2);
	for (size_t i = 0; i < p->samples.n; i++)
		assert_true(p->samples.v[i].pid == 13 || p->samples.v[i].pid == 14);
	profile_commands_release(&c);
	profile_commands_release(NULL);
	profile_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_command_is_the_process),
	    cmocka_unit_test(test_apply),
	    cmocka_unit_test(test_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
