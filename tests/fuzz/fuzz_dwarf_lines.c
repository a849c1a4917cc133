/* fuzz_dwarf_lines.c - hostile .debug_line bytes through kiln's own line
 * table decoder (symbols/dwarf_lines.c): the first byte picks the CU's
 * address size and whether the rest is split into .debug_line and a
 * string section (for version 5's line_strp and strp forms); every
 * address a table holds, and a few beside them, is looked up and its file
 * name read, so ASan sees any bad pointer. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "symbols/dwarf_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint8_t ctl = data[0];
	data++;
	size--;
	size_t split = (ctl & 2) ? size / 2 : size;
	struct dwarf_line_sections sec = {data, data + split, data + split, split, size - split, size - split};
	struct dwarf_lines *t = NULL;
	if (dwarf_lines_new(&sec, 0, (ctl & 1) ? 8 : 4, (ctl & 4) ? "/comp" : NULL, &t) != 0)
		return 0;
	size_t nfiles = dwarf_lines_file_count(t);
	for (size_t i = 0; i <= nfiles; i++) {
		const char *f = dwarf_lines_file(t, i);
		if (f)
			(void)strlen(f);
	}
	/* addresses steered by the input's bytes */
	for (size_t i = 0; i + 8 <= size && i < 256; i += 8) {
		uint64_t a;
		memcpy(&a, data + i, 8);
		for (int d = -1; d <= 1; d++) {
			uint32_t file, line;
			if (dwarf_lines_find(t, a + (uint64_t)d, &file, &line)) {
				const char *f = dwarf_lines_file(t, file);
				if (f)
					(void)strlen(f);
			}
		}
	}
	dwarf_lines_free(t);
	return 0;
}
