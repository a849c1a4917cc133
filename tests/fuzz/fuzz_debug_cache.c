/* fuzz_debug_cache.c - a hostile separate debug file through the debug
 * cache's copy: the input becomes a file (a memfd), is judged worth a
 * copy or not, and is copied (compressed sections' Elf_Chdr read, their
 * zlib streams inflated by libdeflate, the copy written and checked) into
 * a private cache directory under the input's own build-id, as a first
 * read does; the copy is then removed. Nothing may crash or leak. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "symbols/symbols_int.h"

static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fd < 0) {
		char dir[64];
		snprintf(dir, sizeof(dir), "/tmp/fuzz-debug-cache-%d", (int)getpid());
		symbols_set_debug_cache(dir);
		elf_version(EV_CURRENT);
		fd = memfd_create("fuzz-debug", MFD_CLOEXEC);
		if (fd < 0)
			return 0;
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		return 0;
	char path[64], hex[130];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	/* the input's own build-id, so that a good copy is also opened */
	unsigned char bits[64];
	int n = 0;
	if (symbols_file_build_id(path, hex, sizeof(hex)) == 1)
		for (; n < 64 && hex[2 * n] && hex[2 * n + 1]; n++)
			sscanf(hex + 2 * n, "%2hhx", &bits[n]);
	else
		memset(bits, 0xab, (size_t)(n = 20));
	(void)debug_cache_wanted(fd);
	char *copy = NULL;
	int cfd = debug_cache_build(fd, bits, n, &copy);
	if (cfd >= 0) {
		unlink(copy);
		close(cfd);
		free(copy);
	}
	return 0;
}
