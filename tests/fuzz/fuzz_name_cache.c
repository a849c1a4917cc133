/* fuzz_name_cache.c - hostile name cache files (symbols/name_cache.c:
 * <build-id>.names in the debug cache directory, which anyone who can
 * write there may plant) through name_cache_parse() with the key "fuzz".
 * The first byte's low bit makes the file's trailing checksum right, so
 * that the bytes past it are reached; every frame's strings are read back,
 * so ASan sees any bad index. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbols/symbols_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t ctl = data[0];
	data++;
	size--;
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	if ((ctl & 1) && size >= 8) {
		uint64_t sum = hash_bytes(buf, size - 8);
		memcpy(buf + size - 8, &sum, 8);
	}
	struct strtab strs;
	strtab_init(&strs);
	struct name_cache_file f = {0};
	if (name_cache_parse(buf, size, "fuzz", &strs, &f) == 0) {
		for (size_t i = 0; i < f.entries.n; i++) {
			const struct name_cache_entry *e = &f.entries.v[i];
			if (e->n > SYM_MAX_FRAMES || e->first + (size_t)e->n > f.frames.n)
				abort();
			for (uint32_t j = 0; j < e->n; j++) {
				const struct sym_frame *fr = &f.frames.v[e->first + j];
				if (fr->function >= strtab_count(&strs) || fr->file >= strtab_count(&strs) ||
				    fr->alias >= strtab_count(&strs))
					abort();
				(void)strlen(strtab_get(&strs, fr->function));
				(void)strlen(strtab_get(&strs, fr->file));
				(void)strlen(strtab_get(&strs, fr->alias));
			}
		}
	}
	name_cache_file_release(&f);
	strtab_release(&strs);
	free(buf);
	return 0;
}
