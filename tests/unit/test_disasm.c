/* test_disasm.c - symbols_disasm() loads Capstone only when first asked
 * (not at every start of kiln), and then decodes a function of this very
 * test program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <unistd.h>

#include "symbols/symbols.h"

static bool capstone_loaded(void)
{
	char name[64];
	snprintf(name, sizeof(name), "libcapstone.so.%d", CS_API_MAJOR);
	void *h = dlopen(name, RTLD_LAZY | RTLD_NOLOAD);
	if (h)
		dlclose(h);
	return h != NULL;
}

/* A function to decode, with a body of some size. */
__attribute__((noinline)) int test_disasm_target(int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += i * i ^ (s >> 3);
	return s;
}

/* The ELF virtual address of symbol name in path (nm's value). */
static uint64_t nm_value(const char *path, const char *name)
{
	char cmd[4400], line[256];
	snprintf(cmd, sizeof(cmd), "nm '%s' | awk '$3 == \"%s\" { print $1 }'", path, name);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	uint64_t v = 0;
	if (fgets(line, sizeof(line), f))
		v = strtoull(line, NULL, 16);
	pclose(f);
	return v;
}

static void test_loaded_when_asked(void **state)
{
	(void)state;
	/* kiln_core is linked in whole: nothing loaded Capstone at start */
	assert_false(capstone_loaded());
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	uint64_t at = nm_value(self, "test_disasm_target");
	assert_true(at != 0);
	struct disasm d;
	int rc = symbols_disasm(self, NULL, &at, 1, &d);
	assert_int_equal(rc, 0);
	assert_true(d.insns.n > 3);
	assert_non_null(disasm_find(&d, at));
	disasm_release(&d);
	assert_true(capstone_loaded());
	assert_true(test_disasm_target(3) >= 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loaded_when_asked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
