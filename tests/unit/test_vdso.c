/* test_vdso.c - util/vdso.c: the one way kiln finds its vDSO image (for
 * unwind/cfi.c's CFI and symbols/resolve.c's symbols). */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include <cmocka.h>

#include "capture/maps_line.h"
#include "util/vdso.h"

static void test_image(void **state)
{
	(void)state;
	const void *image;
	size_t size;
	if (!getauxval(AT_SYSINFO_EHDR)) {
		assert_int_equal(vdso_image(&image, &size), -ENOENT);
		skip(); /* a kernel or emulator without a vDSO (qemu-user) */
	}
	assert_int_equal(vdso_image(&image, &size), 0);
	assert_ptr_equal(image, (const void *)getauxval(AT_SYSINFO_EHDR));
	assert_memory_equal(image, ELFMAG, SELFMAG);
	/* the image lies within the [vdso] mapping the kernel lists */
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[512];
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		struct maps_line l;
		if (maps_line_parse(line, strlen(line), &l) && l.path_at &&
		    strncmp(line + l.path_at, "[vdso]", 6) == 0) {
			assert_int_equal(l.start, (uint64_t)(uintptr_t)image);
			assert_true(size > sizeof(Elf64_Ehdr) && size <= l.end - l.start);
			found = true;
		}
	}
	fclose(f);
	assert_true(found);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_image),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
