/* test_xalloc.c - allocation helpers: xmalloc_huge() gives big blocks on
 * 2 MiB boundaries (for huge pages) and small ones as xmalloc() does, all
 * freed with free(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/xalloc.h"

static void test_malloc_huge(void **state)
{
	(void)state;
	size_t sizes[] = {1, 4096, (2u << 20) - 1, 2u << 20, (3u << 20) + 5};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		unsigned char *p = xmalloc_huge(sizes[i]);
		assert_non_null(p);
		if (sizes[i] >= (2u << 20))
			assert_int_equal((uintptr_t)p % (2u << 20), 0);
		memset(p, 0xa5, sizes[i]); /* all of it is ours (ASan checks the bounds) */
		assert_int_equal(p[sizes[i] - 1], 0xa5);
		free(p);
	}
	char *s = xstrndup("abcdef", 3);
	assert_string_equal(s, "abc");
	free(s);
}

/* xgrowarray() keeps the elements across every step, small pages to
 * huge ones (from 1 MiB, on 2 MiB boundaries) and back down. */
static void test_grow_array(void **state)
{
	(void)state;
	uint32_t *v = NULL;
	size_t cap = 0;
	for (size_t want = 8; want <= (1u << 20); want *= 2) {
		v = xgrowarray(v, cap, want, sizeof(*v));
		if (want * sizeof(*v) >= (1u << 20))
			assert_int_equal((uintptr_t)v % (2u << 20), 0);
		for (size_t i = cap; i < want; i++)
			v[i] = (uint32_t)(i * 2654435761u);
		cap = want;
	}
	for (size_t i = 0; i < cap; i++)
		assert_int_equal(v[i], (uint32_t)(i * 2654435761u));
	v = xgrowarray(v, cap, 100, sizeof(*v)); /* shrinking keeps the head */
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(v[i], (uint32_t)(i * 2654435761u));
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_malloc_huge),
	    cmocka_unit_test(test_grow_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
