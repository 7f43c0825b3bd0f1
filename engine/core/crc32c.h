/* clforge — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of TFRecord framing. Debian 12 packages no C CRC-32C library
 * (libcrc32c-dev is not in bookworm), so this is the classic byte-wise table
 * version; check value crc32c("123456789") = 0xE3069283. */
#ifndef CF_CRC32C_H
#define CF_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* crc of data continuing from crc (0 to start). */
uint32_t cf_crc32c_extend(uint32_t crc, const void *data, size_t n);
uint32_t cf_crc32c(const void *data, size_t n);
/* TFRecord's masked form: rotate right by 15, add 0xa282ead8 (a CRC of data
 * that itself holds CRCs stays well distributed). */
uint32_t cf_crc32c_mask(uint32_t crc);

#endif
