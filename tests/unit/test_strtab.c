/* test_strtab.c - interned strings: ids in order, id 0 the empty string,
 * strings stored by the table or by the caller (strtab_append_stored(),
 * in blocks the table adopts and frees), found after strtab_reindex(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/strtab.h"

static void test_intern(void **state)
{
	(void)state;
	struct strtab t;
	strtab_init(&t);
	assert_int_equal(strtab_count(&t), 1);
	assert_string_equal(strtab_get(&t, 0), "");
	uint32_t a = strtab_intern(&t, "alpha");
	assert_int_equal(a, 1);
	assert_int_equal(strtab_intern(&t, "beta"), 2);
	assert_int_equal(strtab_intern(&t, "alpha"), a);
	assert_int_equal(strtab_intern_n(&t, "alphabet", 5), a);
	assert_int_equal(strtab_find(&t, "beta"), 2);
	assert_int_equal(strtab_find(&t, "gamma"), UINT32_MAX);
	assert_string_equal(strtab_get(&t, 99), "");
	strtab_release(&t);
	strtab_release(NULL);
}

/* Strings the caller stored are not copied: their bytes are the caller's
 * block, which the table frees (ASan and valgrind see it leak or freed
 * twice otherwise); they are found once indexed, mixed with copied ones. */
static void test_stored(void **state)
{
	(void)state;
	struct strtab t;
	strtab_init(&t);
	uint32_t own = strtab_append(&t, "copied", 6);
	char *block = malloc(64);
	assert_non_null(block);
	strtab_adopt(&t, block);
	memcpy(block, "stored\0second", 14);
	uint32_t s1 = strtab_append_stored(&t, block, 6);
	uint32_t s2 = strtab_append_stored(&t, block + 7, 6);
	assert_ptr_equal(strtab_get(&t, s1), block);
	assert_ptr_equal(strtab_get(&t, s2), block + 7);
	assert_int_equal(t.lens.v[s2], 6);
	/* the table's own chunk goes on after the adopted block */
	uint32_t after = strtab_append(&t, "after", 5);
	assert_string_equal(strtab_get(&t, after), "after");
	assert_string_equal(strtab_get(&t, own), "copied");
	strtab_reindex(&t);
	assert_int_equal(strtab_find(&t, "stored"), s1);
	assert_int_equal(strtab_find(&t, "second"), s2);
	assert_int_equal(strtab_find(&t, "after"), after);
	assert_int_equal(strtab_intern(&t, "second"), s2);
	strtab_release(&t);
}

/* Room made for n strings: appending up to n moves neither array. */
static void test_reserve(void **state)
{
	(void)state;
	struct strtab t;
	strtab_init(&t);
	uint32_t first = strtab_intern(&t, "first");
	strtab_reserve(&t, 1000);
	char *const *strs = t.strs.v;
	const uint32_t *lens = t.lens.v;
	char name[32];
	for (uint32_t i = strtab_count(&t); i < 1000; i++) {
		snprintf(name, sizeof(name), "name_%u", i);
		assert_int_equal(strtab_append(&t, name, strlen(name)), i);
	}
	assert_ptr_equal(t.strs.v, strs);
	assert_ptr_equal(t.lens.v, lens);
	assert_string_equal(strtab_get(&t, 999), "name_999");
	assert_string_equal(strtab_get(&t, first), "first");
	strtab_reserve(&t, 10); /* less than there is: nothing */
	assert_int_equal(strtab_count(&t), 1000);
	strtab_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_intern),
	    cmocka_unit_test(test_stored),
	    cmocka_unit_test(test_reserve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
