/* crc32c.h - CRC-32C (Castagnoli), the checksum of .kiln headers and chunks.
 *
 * Private to src/profile (and the tests and fuzzer that craft .kiln files).
 * Same polynomial as iSCSI/ext4: crc32c("123456789") == 0xe3069283.
 */
#ifndef KILN_PROFILE_CRC32C_H
#define KILN_PROFILE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: crc32c_update(crc32c_update(0, a, n), b, m) equals the
 * CRC of a followed by b. Start with 0. Thread-safe. */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t n);

static inline uint32_t crc32c(const void *data, size_t n)
{
	return crc32c_update(0, data, n);
}

#endif
