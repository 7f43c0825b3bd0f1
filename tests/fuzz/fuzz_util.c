/* Scratch files and input helpers for the fuzz targets (fuzz.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/util.h"
#include "fuzz.h"
#include "train/session.h"

static char dir[256];

static void remove_dir(void)
{
    if (dir[0]) cf_rm_rf(dir);
}

const char *cf_fuzz_dir(void)
{
    if (!dir[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/cf_fuzz_XXXXXX", base);
        if (!mkdtemp(dir)) {
            perror("mkdtemp");
            abort();
        }
        atexit(remove_dir);
    }
    return dir;
}

const char *cf_fuzz_file(const char *name, const void *data, size_t size)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, sizeof paths[0], "%s/%s", cf_fuzz_dir(), name);
    FILE *f = fopen(p, "wb");
    if (!f) return NULL;
    int ok = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0) ok = 0;
    return ok ? p : NULL;
}

void cf_fuzz_split(const uint8_t *data, size_t size, const uint8_t **b, size_t *a_len, size_t *b_len)
{
    static const char sep[] = "\n====\n";
    const size_t sl = sizeof sep - 1;
    *b = NULL;
    *a_len = size;
    *b_len = 0;
    for (size_t i = 0; i + sl <= size; i++)
        if (!memcmp(data + i, sep, sl)) {
            *a_len = i;
            *b = data + i + sl;
            *b_len = size - i - sl;
            return;
        }
}

uint8_t *cf_fuzz_fix_blob_crc(const uint8_t *data, size_t size)
{
    if (size < 16) return NULL;
    uint8_t *c = malloc(size);
    if (!c) return NULL;
    memcpy(c, data, size);
    if (size % 16 != 7) {
        uint32_t crc = (uint32_t)crc32(0L, c + 8, (uInt)(size - 12));
        memcpy(c + size - 4, &crc, 4);
    }
    return c;
}

const char *cf_fuzz_srcdir(void)
{
    const char *s = getenv("CF_TEST_SRCDIR");
    return s && *s ? s : CF_FUZZ_SRCDIR;
}

void cf_fuzz_note(const char *what, cf_status st, const cf_error *err)
{
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("CF_FUZZ_VERBOSE") != NULL;
    if (verbose) fprintf(stderr, "%s: %s\n", what, st == CF_OK ? "ok" : err->msg);
}

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

void cf_fuzz_session(cf_session *s)
{
    static FILE *devnull;
    static cf_train_opts o;
    if (!devnull) {
        devnull = fopen("/dev/null", "w");
        o.quiet = 1;
        o.out = o.warn = devnull;
    }
    cf_session_init(s, &o, devnull);
}
