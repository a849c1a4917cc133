/* test_demangle.c - symbols_demangle on literal Rust (legacy, v0) and C++
 * names, and on names that must be left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "symbols/symbols.h"

static void expect_demangled(const char *mangled, const char *want)
{
	char *got = symbols_demangle(mangled);
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_rust_legacy(void **state)
{
	(void)state;
	expect_demangled("_ZN2fx4work4leaf17h123d6fdddc7f14c2E", "fx::work::leaf");
	expect_demangled("_ZN37_$LT$fx..Foo$u20$as$u20$fx..Trait$GT$6method17h95e3e0ce1b5708ceE",
	                 "<fx::Foo as fx::Trait>::method");
	expect_demangled(
	    "_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$"
	    "$GT$17h0f6ad4e7c5a1b2d3E",
	    "core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>");
	/* ThinLTO's local-symbol suffix */
	expect_demangled("_ZN2fx4work4leaf17h123d6fdddc7f14c2E.llvm.12345678901234567", "fx::work::leaf");
}

static void test_rust_v0(void **state)
{
	(void)state;
	expect_demangled("_RNvNtCslsDZ0BHrDfJ_2fx4work4leaf", "fx::work::leaf");
	expect_demangled("_RNvXCslsDZ0BHrDfJ_2fxNtB2_3FooNtB2_5Trait6method", "<fx::Foo as fx::Trait>::method");
	expect_demangled("_RNvCslsDZ0BHrDfJ_2fx3run", "fx::run");
}

static void test_cplusplus(void **state)
{
	(void)state;
	expect_demangled("_ZN3foo3barEi", "foo::bar(int)");
	expect_demangled("_Z3bazv", "baz()");
	expect_demangled("_ZNSt6vectorIiSaIiEE9push_backERKi",
	                 "std::vector<int, std::allocator<int> >::push_back(int const&)");
	expect_demangled("_Z3fooi.constprop.0", "foo(int) [clone .constprop.0]");
}

static void test_not_mangled(void **state)
{
	(void)state;
	expect_demangled("main", NULL);
	expect_demangled("outer_work", NULL);
	expect_demangled("_start", NULL);
	expect_demangled("_Z", NULL);
	expect_demangled("_R", NULL);
	expect_demangled("", NULL);
	expect_demangled("_ZZZ!!garbage", NULL);
	expect_demangled("_RNvXgarbage", NULL);
	assert_null(symbols_demangle(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rust_legacy),
	    cmocka_unit_test(test_rust_v0),
	    cmocka_unit_test(test_cplusplus),
	    cmocka_unit_test(test_not_mangled),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
