/* fuzz_kiln_file.c - libFuzzer target for the .kiln reader (kiln_read_mem).
 *
 * Two ways in. Most inputs go to the reader as they are, which exercises the
 * header, chunk framing, checksums and zstd limits. An input starting with
 * 0xa5 is a list of chunk payloads instead: the harness frames each one as a
 * raw chunk with valid checksums, so mutations reach the record decoders
 * rather than dying at the first CRC. Input layout after 0xa5, repeated:
 *   u8 type, u16 length (little-endian), length payload bytes
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile/kiln_file.h"
#include "profile/kiln_format.h"

#define STRUCTURED_MARK 0xa5

/* Reads every frame's strings, so a bad id the reader let through shows up. */
static int touch_frame(void *ctx, const struct profile_frame *f, uint32_t location)
{
	const struct profile *p = ctx;
	size_t n =
	    strlen(profile_str(p, f->function)) + strlen(profile_str(p, f->file)) + strlen(profile_str(p, f->module));
	return location >= p->locations.n || n == SIZE_MAX;
}

static void read_and_free(const uint8_t *data, size_t size)
{
	struct profile *p = NULL;
	struct kiln_read_info info;
	int rc = kiln_read_mem(data, size, &p, &info);
	(void)kiln_read_strerror(rc);
	if (rc)
		return;
	/* walk what a viewer would walk: the stacks of the first samples */
	for (size_t i = 0; i < p->samples.n && i < 256; i++)
		if (profile_walk_stack(p, p->samples.v[i].stack, touch_frame, p))
			abort(); /* a sample names a location that does not exist */
	profile_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size || data[0] != STRUCTURED_MARK) {
		read_and_free(data, size);
		return 0;
	}
	/* every chunk grows by at most its header: bounded by the input size */
	size_t cap = KILN_HEADER_SIZE + size * (1 + KILN_CHUNK_HEADER_SIZE);
	uint8_t *f = malloc(cap);
	if (!f)
		return 0;
	kiln_format_header(f);
	size_t n = KILN_HEADER_SIZE, pos = 1;
	uint32_t seq = 0;
	while (pos + 3 <= size) {
		uint8_t type = data[pos];
		size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
		pos += 3;
		if (len > size - pos)
			len = size - pos;
		kiln_format_chunk_header(f + n, type, KILN_CHUNK_RAW, seq++, (uint32_t)len, data + pos, (uint32_t)len);
		n += KILN_CHUNK_HEADER_SIZE;
		memcpy(f + n, data + pos, len);
		n += len;
		pos += len;
	}
	read_and_free(f, n);
	free(f);
	return 0;
}
