/* test_units.c - durations read the same in every table: each unit's
 * boundary, the minutes form, and the padded variant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "render/units.h"
#include "util/strbuf.h"

static void expect(uint64_t ns, const char *want)
{
	char buf[48];
	assert_string_equal(render_duration_str(buf, sizeof(buf), ns), want);
	struct strbuf sb = STRBUF_INIT;
	render_duration(&sb, ns);
	assert_string_equal(strbuf_str(&sb), want);
	strbuf_release(&sb);
}

static void test_each_unit(void **state)
{
	(void)state;
	expect(0, "0 ns");
	expect(999, "999 ns");
	expect(1000, "1.0 us");
	expect(3400, "3.4 us");
	expect(999999, "1000.0 us");
	expect(1000000, "1.0 ms");
	expect(5600000, "5.6 ms");
	expect(1000000000ull, "1.00 s");
	expect(7890000000ull, "7.89 s");
	expect(59990000000ull, "59.99 s");
	expect(60000000000ull, "1m 0.0 s");
	expect(123400000000ull, "2m 3.4 s");
}

static void test_padded(void **state)
{
	(void)state;
	struct strbuf sb = STRBUF_INIT;
	render_duration_w(&sb, 3400, 10);
	assert_string_equal(strbuf_str(&sb), "    3.4 us");
	strbuf_reset(&sb);
	render_duration_w(&sb, 3400, 0);
	assert_string_equal(strbuf_str(&sb), "3.4 us");
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_each_unit),
	    cmocka_unit_test(test_padded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
