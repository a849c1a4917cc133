/* fuzz_qemu_count.c - libFuzzer target: arbitrary bytes as a file of
 * libkiln-qemu.so (capture/qemu_format.h) through the reader into a
 * profile, in count and in cache mode, and each of their lines as a line
 * of the feed (qemu_feed_parse). The plugin runs inside the profiled
 * process, which could scribble over its file: nothing here may crash,
 * loop or read out of bounds whatever the bytes say. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/qemu_count.h"
#include "profile/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* count mode: instructions and calls; cache mode: all seven */
	static const int values[2][QEMU_COUNT_EVENTS] = {{0, -1, -1, -1, -1, -1, -1, -1, -1, 1},
	                                                 {0, 3, 4, -1, -1, 1, 2, 4, 5, 6}};
	for (int mode = 0; mode < 2; mode++) {
		FILE *f = fmemopen((void *)data, size, "r");
		if (!f)
			return 0;
		struct profile *p = profile_new();
		for (int i = 0; i <= 1 + 5 * mode; i++)
			profile_add_value_type(p, "v", "count");
		struct qemu_count_info info;
		qemu_count_add_stream(p, f, values[mode], &info);
		fclose(f);
		profile_free(p);
	}
	static struct qemu_feed_block b;
	const char *line = (const char *)data, *end = line + size;
	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		size_t len = (size_t)((nl ? nl : end) - line);
		/* a copy of exactly len bytes: the parser must not read past it */
		char *copy = malloc(len ? len : 1);
		if (!copy)
			return 0;
		memcpy(copy, line, len);
		qemu_feed_parse(copy, len, &b);
		free(copy);
		line += len + 1;
	}
	return 0;
}
