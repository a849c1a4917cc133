/* test_num.c - num_scan_u64(): decimal and hex in either case, where the
 * digits stop (a bound, a NUL, a non-digit), the largest values and one
 * past them, and text with no digits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/num.h"

static void test_bases(void **state)
{
	(void)state;
	uint64_t v = 0;
	const char *t = "1234 x";
	assert_ptr_equal(num_scan_u64(t, NULL, 10, &v), t + 4);
	assert_true(v == 1234);
	t = "7fFe/";
	assert_ptr_equal(num_scan_u64(t, NULL, 16, &v), t + 4);
	assert_true(v == 0x7ffe);
	/* a hex digit ends a decimal number */
	t = "12ab";
	assert_ptr_equal(num_scan_u64(t, NULL, 10, &v), t + 2);
	assert_true(v == 12);
	/* the bound ends it too */
	t = "98765";
	assert_ptr_equal(num_scan_u64(t, t + 3, 10, &v), t + 3);
	assert_true(v == 987);
}

static void test_limits(void **state)
{
	(void)state;
	uint64_t v = 0;
	const char *t = "18446744073709551615";
	assert_ptr_equal(num_scan_u64(t, NULL, 10, &v), t + strlen(t));
	assert_true(v == UINT64_MAX);
	assert_null(num_scan_u64("18446744073709551616", NULL, 10, &v));  /* the last add overflows */
	assert_null(num_scan_u64("184467440737095516150", NULL, 10, &v)); /* the last multiply does */
	t = "ffffffffffffffff";
	assert_ptr_equal(num_scan_u64(t, NULL, 16, &v), t + 16);
	assert_true(v == UINT64_MAX);
	assert_null(num_scan_u64("10000000000000000", NULL, 16, &v));
	/* leading zeros are digits like any other */
	t = "000000000000000000001";
	assert_ptr_equal(num_scan_u64(t, NULL, 10, &v), t + strlen(t));
	assert_true(v == 1);
}

static void test_none(void **state)
{
	(void)state;
	uint64_t v = 42;
	static const char *const none[] = {"", " 1", "-1", "+1", "x", "g"};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		assert_null(num_scan_u64(none[i], NULL, 16, &v));
	const char *t = "123";
	assert_null(num_scan_u64(t, t, 10, &v)); /* an empty range */
	assert_true(v == 42);                    /* untouched when there is no number */
}

/* Bytes as hex: every digit, both nibbles in order, the NUL after. */
static void test_hex_bytes(void **state)
{
	(void)state;
	const unsigned char bits[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xf0, 0x0f};
	char out[2 * sizeof(bits) + 2];
	memset(out, 'x', sizeof(out));
	num_hex_bytes(bits, sizeof(bits), out);
	assert_string_equal(out, "0123456789abcdeff00f");
	assert_int_equal(out[sizeof(out) - 1], 'x'); /* nothing past the NUL */
	num_hex_bytes(bits, 0, out);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bases),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_none),
	    cmocka_unit_test(test_hex_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
