/* fuzz_symbols_elf.c - hostile ELF/DWARF through the symbolizer: the input
 * becomes a file (a memfd, named through /proc/self/fd), a few offsets are
 * looked up, and nothing may crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symbols/symbols.h"

static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fd < 0) {
		fd = memfd_create("fuzz-elf", MFD_CLOEXEC);
		if (fd < 0)
			return 0;
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	struct symbolizer *s = symbolizer_new();
	struct symbol_frame f[16];
	/* offsets from the input's tail steer the lookups into the text */
	uint64_t offs[8] = {0, 0x40, 0x1000, size / 2, size ? size - 1 : 0, 0, 0, 0};
	if (size >= 24) {
		memcpy(&offs[5], data + size - 8, 8);
		offs[5] %= size + 0x2000;
		uint32_t a, b;
		memcpy(&a, data + size - 12, 4);
		memcpy(&b, data + size - 16, 4);
		offs[6] = a % (size + 1);
		offs[7] = b;
	}
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		int n = symbolizer_lookup_file(s, path, offs[i], f, 16);
		for (int j = 0; j < n; j++) {
			/* touch every string so ASan sees bad pointers */
			if (f[j].function)
				(void)strlen(f[j].function);
			if (f[j].file)
				(void)strlen(f[j].file);
		}
		if (n < 0)
			break;
	}
	symbolizer_free(s);
	return 0;
}
