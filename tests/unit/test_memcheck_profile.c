/* test_memcheck_profile.c - a memcheck report kept in a profile
 * (analysis/memcheck_profile.c): written, through the .kiln file and
 * back, it renders the same text and JSON; inlined frames and a direct
 * recursion (two frames at one address) keep their shape; malformed
 * memcheck entries (a file is untrusted) are refused, not read past. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analysis/memcheck_profile.h"
#include "profile/kiln_file.h"
#include "render/memcheck.h"

/* Every frame known at 0x1000..0x1fff, two inlined at 0x1100. */
static int resolve(void *ctx, const char *path, uint64_t offset, struct mc_sframe *out, int max)
{
	(void)ctx;
	(void)max;
	if (strcmp(path, "/bin/prog"))
		return 0;
	static char names[4][32];
	int n = offset == 0x100 ? 2 : 1;
	for (int i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "fn_%llx_%d", (unsigned long long)offset, i);
		out[i].function = names[i];
		out[i].file = "/src/prog.c";
		out[i].line = (uint32_t)(offset + (uint64_t)i);
	}
	return n;
}

static struct mc_report *sample_report(void)
{
	struct mc_report *r = mc_report_new();
	struct mc_place f[] = {
	    {0x1100, "/bin/prog", 0x100}, /* access: inlined */
	    {0x1200, "/bin/prog", 0x200},
	    {0x1200, "/bin/prog", 0x200}, /* a recursion */
	    {0x9000, NULL, 0},            /* nowhere */
	    {0x1300, "/bin/prog", 0x300}, /* alloc */
	    {0x1400, "/bin/prog", 0x400}, /* free */
	};
	struct mc_error_info e = {
	    .kind = MC_USE_AFTER_FREE,
	    .flags = MC_READ | MC_IN_BLOCK | MC_STOPPED,
	    .addr = 0x7008,
	    .block = 0x7000,
	    .block_size = 32,
	    .tid = 11,
	    .alloc_tid = 11,
	    .free_tid = 12,
	    .n_free = 1,
	};
	mc_report_add_error(r, &e, 10, f, 4, 1);
	mc_report_add_leak(r, HEAP_LEAK_DEFINITE, 40, 10, f + 4, 1);
	mc_report_add_leak(r, HEAP_LEAK_DEFINITE, 24, 10, f + 4, 1);
	mc_report_add_leak(r, HEAP_LEAK_REACHABLE, 100, 10, f + 5, 1);
	mc_report_add_leak(r, HEAP_LEAK_UNKNOWN, 5, 10, f + 5, 1); /* not scanned: left out */
	struct mc_counts c = {.guarded = 7, .unguarded = 1, .processes = 2, .scanned = 1};
	mc_report_finish(r, NULL, &c, resolve, NULL);
	r->show_leaks = 1u << HEAP_LEAK_DEFINITE;
	r->error_leaks = 1u << HEAP_LEAK_DEFINITE;
	r->exitcode = 7;
	return r;
}

static void render(const struct mc_report *r, struct strbuf *text, struct strbuf *json)
{
	struct mc_render_opts o = {.show_leaks = r->show_leaks, .error_leaks = r->error_leaks, .exitcode = r->exitcode};
	mc_render_text(text, r, &o);
	mc_render_json(json, r, &o);
}

static void round_trip(void **state)
{
	(void)state;
	struct mc_report *r = sample_report();
	assert_int_equal(r->n_errors, 1);
	assert_int_equal(r->n_losses, 2);
	assert_int_equal(r->leaks[HEAP_LEAK_DEFINITE].blocks, 2);
	assert_int_equal(r->errors[0].access.n, 5); /* 2 inlined + 2 recursion + nowhere */
	struct profile *p = profile_new();
	mc_report_to_profile(r, p);
	assert_true(mc_profile_is(p));

	char path[] = "/tmp/test_memcheck_profile_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	struct kiln_writer *w = NULL;
	assert_int_equal(kiln_writer_open(&w, path), 0);
	assert_int_equal(kiln_writer_finish(w, p), 0);
	kiln_writer_free(w);
	struct profile *back = NULL;
	assert_int_equal(kiln_read(path, &back, NULL), 0);
	unlink(path);
	close(fd);

	struct mc_report *r2 = NULL;
	assert_int_equal(mc_report_from_profile(back, &r2), 0);
	assert_int_equal(r2->exitcode, 7);
	assert_int_equal(r2->errors[0].access.n, 5);
	assert_true(r2->errors[0].access.f[0].inlined);
	assert_false(r2->errors[0].access.f[2].inlined);
	assert_int_equal(r2->errors[0].access.f[2].addr, r2->errors[0].access.f[3].addr);
	assert_null(r2->errors[0].access.f[4].function);
	struct strbuf t1 = STRBUF_INIT, j1 = STRBUF_INIT, t2 = STRBUF_INIT, j2 = STRBUF_INIT;
	render(r, &t1, &j1);
	render(r2, &t2, &j2);
	assert_string_equal(strbuf_str(&t1), strbuf_str(&t2));
	assert_string_equal(strbuf_str(&j1), strbuf_str(&j2));
	assert_non_null(strstr(strbuf_str(&t1), "kiln memcheck: 3 errors (1 use after free, 2 leaked blocks)"));
	assert_non_null(strstr(strbuf_str(&t1), "in fn_100_0 /src/prog.c:256\n"));
	strbuf_release(&t1);
	strbuf_release(&j1);
	strbuf_release(&t2);
	strbuf_release(&j2);
	mc_report_free(r2);
	profile_free(back);
	profile_free(p);
	mc_report_free(r);
}

/* The profile of sample_report() with one metadata entry replaced. */
static void refused(const char *key, const char *value)
{
	struct mc_report *r = sample_report();
	struct profile *p = profile_new();
	mc_report_to_profile(r, p);
	profile_set_meta(p, key, value);
	struct mc_report *out = (struct mc_report *)1;
	assert_int_equal(mc_report_from_profile(p, &out), -EINVAL);
	assert_null(out);
	profile_free(p);
	mc_report_free(r);
}

static void malformed(void **state)
{
	(void)state;
	refused("memcheck_error_0", "kind=2 flags=9 addr=1 block=1 size=1 tid=1 alloc_tid=1 free_tid=1 pid=1 "
	                            "access=999999 alloc=0 free=0");
	refused("memcheck_error_0", "kind=2");
	refused("memcheck_error_0", "kind=x flags=9 addr=1 block=1 size=1 tid=1 alloc_tid=1 free_tid=1 pid=1 "
	                            "access=0 alloc=0 free=0");
	refused("memcheck_error_0", "kind=99999999999 flags=9 addr=1 block=1 size=1 tid=1 alloc_tid=1 free_tid=1 "
	                            "pid=1 access=0 alloc=0 free=0");
	refused("memcheck_loss_1", "class=9 bytes=1 blocks=1 pid=1 stack=0");
	refused("memcheck_loss_1", "class=4 bytes=1 blocks=1 pid=1 stack=-1");
	refused("memcheck_errors", "5"); /* more than there are */
	refused("memcheck_losses", "18446744073709551615");
	refused("memcheck_settings", "show=1");
	refused("memcheck_settings", "show=1 errors_for=1 exitcode=300");
	refused("memcheck_counts", "");
	refused("event", "heap");
	/* a suppression name runs to the end, spaces and all */
	struct mc_report *r = sample_report();
	struct profile *p = profile_new();
	mc_report_to_profile(r, p);
	profile_set_meta(p, "memcheck_loss_0", "class=4 bytes=64 blocks=1 pid=1 stack=0 suppressed=a name = x");
	struct mc_report *out = NULL;
	assert_int_equal(mc_report_from_profile(p, &out), 0);
	assert_string_equal(out->losses[0].suppressed, "a name = x");
	assert_int_equal(out->leaks[HEAP_LEAK_DEFINITE].suppressed_bytes, 64);
	mc_report_free(out);
	profile_free(p);
	mc_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
