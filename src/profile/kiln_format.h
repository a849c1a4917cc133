/* kiln_format.h - the on-disk constants of the .kiln container
 * (docs/file-format.md), private to src/profile and to the tests and the
 * fuzzer that craft files by hand. Everything else uses kiln_file.h.
 */
#ifndef KILN_PROFILE_KILN_FORMAT_H
#define KILN_PROFILE_KILN_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define KILN_MAGIC          "KILNPROF" /* 8 bytes at offset 0 */
#define KILN_MAGIC_SIZE     8
#define KILN_FORMAT_VERSION 3 /* what this kiln writes */
#define KILN_READER_VERSION 3 /* the newest min_reader_version this kiln reads */
/* Format 1 readers take at most four value types, format 2 readers six: a
 * file with more says min_reader_version 2 or 3, any other keeps 1 so that
 * older kilns read it. */
#define KILN_V1_MAX_VALUES 4
#define KILN_V2_MAX_VALUES 6
#define KILN_HEADER_SIZE   32
#define KILN_HEADER_MAX    4096        /* larger header_size values are corrupt */
#define KILN_ENDIAN_MARK   0x01020304u /* stored little-endian: 04 03 02 01 */

/* Feature bits. A reader ignores compat bits it does not know and refuses
 * a file with incompat bits it does not know (-ENOTSUP). None defined yet. */
#define KILN_COMPAT_KNOWN   0u
#define KILN_INCOMPAT_KNOWN 0u

#define KILN_CHUNK_MAGIC       0x4b48434bu /* "KCHK" little-endian */
#define KILN_CHUNK_HEADER_SIZE 28

enum kiln_chunk_type {
	KILN_CHUNK_DATA = 1, /* sections of profile records */
	KILN_CHUNK_END = 2,  /* the file is complete; empty payload */
};

/* Chunk flags: the low 4 bits name the payload compression. */
#define KILN_CHUNK_COMPRESSION_MASK 0x000fu
#define KILN_CHUNK_RAW              0u
#define KILN_CHUNK_ZSTD             1u

/* Limits the reader enforces against hostile files. */
#define KILN_CHUNK_MAX_USIZE (64u << 20) /* uncompressed bytes per chunk */
#define KILN_CHUNK_MAX_CSIZE (64u << 20)

/* Sections inside a DATA chunk's payload: u8 kind, varint length, body. */
enum kiln_section {
	KILN_SEC_STRINGS = 1,
	KILN_SEC_VALUE_TYPES = 2,
	KILN_SEC_MAPPINGS = 3,
	KILN_SEC_THREADS = 4,
	KILN_SEC_LOCATIONS = 5,
	KILN_SEC_STACKS = 6,
	KILN_SEC_SAMPLES = 7,
	KILN_SEC_META = 8,
	KILN_SEC_FRAMES = 9,
	KILN_SEC_SERIES = 10,
	KILN_SEC_SYMBOL_INFO = 11, /* version 2: ELF virtual addresses and aliases */
};

/* Fills the file header for this kiln's format (out has KILN_HEADER_SIZE
 * bytes), with min_reader_version 1. */
void kiln_format_header(uint8_t *out);
/* The same with another min_reader_version. */
void kiln_format_header_min(uint8_t *out, uint16_t min_reader);
/* Fills a chunk header (out has KILN_CHUNK_HEADER_SIZE bytes) for a payload
 * of csize bytes stored at payload, usize bytes once decompressed. */
void kiln_format_chunk_header(uint8_t *out, uint16_t type, uint16_t flags, uint32_t seq, uint32_t usize,
                              const void *payload, uint32_t csize);

#endif
