/* Before ranks work together: the same clforge and the same config on every
 * rank, or one message naming the rank that differs (a node with another
 * install, a stale copy of the config) instead of a run that diverges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dist/dist.h"

const char *cf_dist_device(const char *spec, char *buf, size_t cap)
{
    if (!spec || !strchr(spec, ',')) return spec;
    int n = 1;
    for (const char *c = spec; *c; c++) n += *c == ',';
    int want = cf_dist_local_rank() % n;
    const char *at = spec;
    for (int i = 0; i < want; i++) at = strchr(at, ',') + 1;
    size_t len = strcspn(at, ",");
    while (len && at[0] == ' ') at++, len--;
    snprintf(buf, cap, "%.*s", (int)len, at);
    return buf;
}

const char *cf_dist_version(void)
{
    const char *v = getenv("CLFORGE_TEST_VERSION"); /* tests/test_mpi_errors.sh: a rank on another version */
    return v && *v ? v : PACKAGE_VERSION;
}

typedef struct same_rec {
    char version[32];
    uint32_t crc;
    char host[64];
} same_rec;

cf_status cf_dist_same(const char *version, uint32_t crc, const char *what, cf_error *err)
{
    int n = cf_dist_size();
    if (n == 1) return CF_OK;
    same_rec me = {{0}, crc, {0}}, *all = calloc((size_t)n, sizeof *all);
    if (!all) return cf_dist_agree(cf_error_set(err, CF_ERR_NOMEM, "out of memory"), err);
    snprintf(me.version, sizeof me.version, "%s", version);
    snprintf(me.host, sizeof me.host, "%s", cf_dist_host());
    cf_status st = cf_dist_allgather(&me, all, sizeof me, err);
    for (int r = 1; r < n && !st; r++) {
        if (strcmp(all[r].version, all[0].version))
            st = cf_error_set(err, CF_ERR_INVALID,
                              "rank %d (%s) runs clforge %s, rank 0 (%s) runs %s: install the same version "
                              "on every node",
                              r, all[r].host, all[r].version, all[0].host, all[0].version);
        else if (all[r].crc != all[0].crc)
            st = cf_error_set(err, CF_ERR_INVALID,
                              "rank %d (%s) read a different %s than rank 0 (%s) (crc32c %08x vs %08x): every "
                              "rank must read the same file with the same options",
                              r, all[r].host, what, all[0].host, all[r].crc, all[0].crc);
    }
    free(all);
    /* every rank reached the same verdict; agreeing marks it shared (rank 0 says it) */
    return cf_dist_agree(st, err);
}
