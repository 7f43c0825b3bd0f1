/* clforge — what the fuzz targets share (tests/fuzz/fuzz_*.c).
 *
 * Each target defines LLVMFuzzerInitialize and LLVMFuzzerTestOneInput. Built
 * with clang -fsanitize=fuzzer (`make fuzz`), libFuzzer calls them; built by
 * `make check` with driver.c instead, every file of the seed corpus is fed
 * once, so the corpus is a regression test under gcc too. Most parsers read
 * files, so inputs go through a scratch file in a private temp directory. */
#ifndef CF_FUZZ_H
#define CF_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "clforge/error.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The private scratch directory (made on first use, removed at exit). */
const char *cf_fuzz_dir(void);
/* Write data[0..size) to <dir>/name and return its path (static storage per
 * name slot: at most 4 live paths). NULL when it cannot be written. */
const char *cf_fuzz_file(const char *name, const void *data, size_t size);
/* Split an input at the first "\n====\n": *a gets the part before it, *b
 * the rest (b_len 0, b NULL when there is no separator). Lets one input
 * carry two files (IDX images + labels, a .rec + its .idx). */
void cf_fuzz_split(const uint8_t *data, size_t size, const uint8_t **b, size_t *a_len, size_t *b_len);
/* A clforge model/checkpoint file with its CRC-32 trailer recomputed, so
 * mutations reach the structure and not only the checksum check (malloc'd;
 * NULL when too short to have one). Every 16th input keeps its CRC as
 * mutated, to exercise the check itself. */
uint8_t *cf_fuzz_fix_blob_crc(const uint8_t *data, size_t size);
/* A session as eval/predict/train make one, quiet (warnings to /dev/null). */
struct cf_session;
void cf_fuzz_session(struct cf_session *s);
/* With CF_FUZZ_VERBOSE set, print what an input came to (st and err's
 * message) on stderr: to check that the seeds are valid inputs. */
void cf_fuzz_note(const char *what, cf_status st, const cf_error *err);
/* The source tree (tests/fuzz/corpus lives there). */
const char *cf_fuzz_srcdir(void);

#endif
