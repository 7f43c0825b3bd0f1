/* MXNet RecordIO: reading (.idx or a sequential scan, split parts joined) and
 * writing (dmlc's split rule), byte for byte as dmlc-core's recordio.cc. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/recordio.h"

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static const unsigned char magic_le[4] = {0x0A, 0x23, 0xD7, 0xCE};

void cf_recordio_idx_name(const char *rec, char *out, size_t n)
{
    size_t l = strlen(rec);
    if (l >= 4 && strcmp(rec + l - 4, ".rec") == 0)
        snprintf(out, n, "%.*s.idx", (int)(l - 4), rec);
    else
        snprintf(out, n, "%s.idx", rec);
}

/* pread all of n bytes (short only at end of file). */
static ssize_t pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -1;
        if (k == 0) break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

static cf_status grow(unsigned char **buf, size_t *cap, size_t need, cf_error *err)
{
    if (need <= *cap) return CF_OK;
    size_t c = *cap ? *cap : 4096;
    while (c < need) c *= 2;
    unsigned char *p = realloc(*buf, c);
    if (!p) return cf_error_set(err, CF_ERR_NOMEM, "out of memory for a %zu-byte record", need);
    *buf = p;
    *cap = c;
    return CF_OK;
}

/* Read the record at off; max > 0 stops once max payload bytes are in (the
 * remaining parts are still walked for *next only when next != NULL). */
static cf_status read_record(const cf_recordio *r, uint64_t off, size_t max, unsigned char **buf,
                             size_t *cap, size_t *len, uint64_t *next, cf_error *err)
{
    uint64_t start = off;
    size_t have = 0;
    for (int part = 0;; part++) {
        unsigned char h[8];
        if (off + 8 > r->size) {
            if (part == 0)
                return cf_error_set(err, CF_ERR_IO,
                                    "%s: truncated record at offset %" PRIu64
                                    ": %" PRIu64 " bytes left, a record header needs 8",
                                    r->path, off, r->size - off);
            return cf_error_set(err, CF_ERR_IO,
                                "%s: truncated split record at offset %" PRIu64
                                ": the file ends at %" PRIu64 " before its last part (cflag 3)",
                                r->path, start, r->size);
        }
        if (pread_full(r->fd, h, 8, off) != 8)
            return cf_error_set(err, CF_ERR_IO, "%s: read failed at offset %" PRIu64 ": %s",
                                r->path, off, strerror(errno));
        uint32_t m = rd32(h), lrec = rd32(h + 4);
        if (m != CF_RECORDIO_MAGIC) {
            if (off == 0)
                return cf_error_set(err, CF_ERR_IO,
                                    "%s: not RecordIO: it starts with 0x%08" PRIX32
                                    ", not the magic 0xCED7230A",
                                    r->path, m);
            return cf_error_set(err, CF_ERR_IO,
                                "%s: not RecordIO at offset %" PRIu64 ": 0x%08" PRIX32
                                " where a record's magic 0xCED7230A should be",
                                r->path, off, m);
        }
        uint32_t cflag = lrec >> 29, n = lrec & CF_RECORDIO_MAX_LEN;
        if (part == 0 && cflag != 0 && cflag != 1)
            return cf_error_set(err, CF_ERR_IO,
                                "%s: bad cflag sequence at offset %" PRIu64
                                ": a record starts with cflag %" PRIu32 " (expected 0 or 1)",
                                r->path, off, cflag);
        if (part > 0 && cflag != 2 && cflag != 3)
            return cf_error_set(err, CF_ERR_IO,
                                "%s: bad cflag sequence at offset %" PRIu64
                                ": cflag %" PRIu32 " inside the split record that starts at %" PRIu64
                                " (expected 2 or 3)",
                                r->path, off, cflag, start);
        uint64_t padded = ((uint64_t)n + 3u) & ~(uint64_t)3u;
        if (off + 8 + padded > r->size)
            return cf_error_set(err, CF_ERR_IO,
                                "%s: truncated record at offset %" PRIu64 ": its header says %" PRIu32
                                " bytes (%" PRIu64 " with padding), only %" PRIu64 " follow",
                                r->path, off, n, padded, r->size - off - 8);
        int last = cflag == 0 || cflag == 3;
        if (!max || have < max) {
            size_t want = n;
            if (max && have + want > max) want = max - have;
            CF_TRY(grow(buf, cap, have + want + 4, err));
            if (want && pread_full(r->fd, *buf + have, want, off + 8) != (ssize_t)want)
                return cf_error_set(err, CF_ERR_IO, "%s: read failed at offset %" PRIu64 ": %s",
                                    r->path, off + 8, strerror(errno));
            have += want;
            if (!last && (!max || have < max)) {
                memcpy(*buf + have, magic_le, 4); /* the magic the writer split at */
                have += 4;
            }
        }
        off += 8 + padded;
        if (last) break;
        if (max && have >= max && !next) break;
    }
    if (max && have > max) have = max;
    *len = have;
    if (next) *next = off;
    return CF_OK;
}

cf_status cf_recordio_read_at(const cf_recordio *r, uint64_t off, unsigned char **buf,
                              size_t *cap, size_t *len, uint64_t *next, cf_error *err)
{
    return read_record(r, off, 0, buf, cap, len, next, err);
}

cf_status cf_recordio_read(const cf_recordio *r, long i, unsigned char **buf, size_t *cap,
                           size_t *len, cf_error *err)
{
    if (i < 0 || i >= r->n)
        return cf_error_set(err, CF_ERR_INVALID, "%s: record %ld of %ld", r->path, i, r->n);
    return read_record(r, r->offset[i], 0, buf, cap, len, NULL, err);
}

cf_status cf_recordio_read_head(const cf_recordio *r, long i, size_t max, unsigned char **buf,
                                size_t *cap, size_t *len, cf_error *err)
{
    if (i < 0 || i >= r->n)
        return cf_error_set(err, CF_ERR_INVALID, "%s: record %ld of %ld", r->path, i, r->n);
    return read_record(r, r->offset[i], max ? max : 1, buf, cap, len, NULL, err);
}

static cf_status push(cf_recordio *r, long *cap, int64_t key, uint64_t off, cf_error *err)
{
    if (r->n == *cap) {
        long c = *cap ? *cap * 2 : 1024;
        uint64_t *o = realloc(r->offset, (size_t)c * sizeof *o);
        if (o) r->offset = o;
        int64_t *k = realloc(r->key, (size_t)c * sizeof *k);
        if (k) r->key = k;
        if (!o || !k) return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory for the index", r->path);
        *cap = c;
    }
    r->offset[r->n] = off;
    r->key[r->n] = key;
    r->n++;
    return CF_OK;
}

/* No .idx: walk the file record by record. */
static cf_status scan(cf_recordio *r, cf_error *err)
{
    long cap = 0;
    uint64_t off = 0;
    unsigned char *buf = NULL;
    size_t bcap = 0, len;
    cf_status s = CF_OK;
    while (off < r->size && s == CF_OK) {
        uint64_t next;
        s = read_record(r, off, 1, &buf, &bcap, &len, &next, err);
        if (s == CF_OK) s = push(r, &cap, r->n, off, err);
        off = next;
    }
    free(buf);
    return s;
}

/* "key\toffset" lines; each offset must start a record (magic, cflag 0 or 1). */
static cf_status load_idx(cf_recordio *r, const char *idx, cf_error *err)
{
    FILE *f = fopen(idx, "r");
    if (!f) return cf_error_set(err, CF_ERR_IO, "%s: cannot open: %s", idx, strerror(errno));
    char line[256];
    long cap = 0, lineno = 0;
    cf_status s = CF_OK;
    unsigned char *buf = NULL;
    size_t bcap = 0, len;
    while (s == CF_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line, *end;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '\n' || *p == '\r' || !*p) continue;
        errno = 0;
        long long key = strtoll(p, &end, 10);
        if (end == p || *end != '\t' || errno) {
            s = cf_error_set(err, CF_ERR_IO, "%s:%ld: expected 'key<TAB>offset', got '%.*s'", idx,
                             lineno, (int)strcspn(line, "\r\n"), line);
            break;
        }
        p = end + 1;
        unsigned long long off = strtoull(p, &end, 10);
        while (*end == ' ' || *end == '\r' || *end == '\n') end++;
        if (end == p || *end || *p == '-' || errno) {
            s = cf_error_set(err, CF_ERR_IO, "%s:%ld: expected 'key<TAB>offset', got '%.*s'", idx,
                             lineno, (int)strcspn(line, "\r\n"), line);
            break;
        }
        if (off >= r->size) {
            s = cf_error_set(err, CF_ERR_IO, "%s:%ld: offset %llu is past the end of %s (%" PRIu64 " bytes)",
                             idx, lineno, off, r->path, r->size);
            break;
        }
        s = read_record(r, off, 1, &buf, &bcap, &len, NULL, err);
        if (s != CF_OK) {
            cf_error_prefix(err, "%s:%ld", idx, lineno);
            break;
        }
        s = push(r, &cap, key, off, err);
    }
    if (s == CF_OK && ferror(f)) s = cf_error_set(err, CF_ERR_IO, "%s: read error", idx);
    fclose(f);
    free(buf);
    return s;
}

cf_status cf_recordio_open(const char *path, const char *idx, cf_recordio *r, cf_error *err)
{
    memset(r, 0, sizeof *r);
    r->fd = -1;
    snprintf(r->path, sizeof r->path, "%s", path);
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) return cf_error_set(err, CF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(r->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cf_recordio_close(r);
        return cf_error_set(err, CF_ERR_IO, "%s: not a regular file", path);
    }
    r->size = (uint64_t)st.st_size;
    if (r->size == 0) {
        cf_recordio_close(r);
        return cf_error_set(err, CF_ERR_IO, "%s: empty file (no RecordIO records)", path);
    }
    char ipath[1024];
    if (!idx) {
        cf_recordio_idx_name(path, ipath, sizeof ipath);
        idx = access(ipath, R_OK) == 0 ? ipath : "";
    }
    cf_status s;
    if (*idx) {
        r->indexed = 1;
        s = load_idx(r, idx, err);
    } else {
        s = scan(r, err);
    }
    if (s == CF_OK && r->n == 0) s = cf_error_set(err, CF_ERR_IO, "%s: no records (empty index %s)", path, idx);
    if (s != CF_OK) cf_recordio_close(r);
    return s;
}

void cf_recordio_close(cf_recordio *r)
{
    if (r->fd >= 0) close(r->fd);
    r->fd = -1;
    free(r->offset);
    free(r->key);
    r->offset = NULL;
    r->key = NULL;
    r->n = 0;
}

/* ---- image records ------------------------------------------------------- */
cf_status cf_irecord_parse(const unsigned char *rec, size_t len, const char *where,
                           cf_irecord *out, cf_error *err)
{
    memset(out, 0, sizeof *out);
    if (len < CF_IRHEADER_SIZE)
        return cf_error_set(err, CF_ERR_IO, "%s: %zu bytes, shorter than an image record header (24)",
                            where, len);
    out->flag = rd32(rec);
    uint32_t lb = rd32(rec + 4);
    memcpy(&out->label, &lb, 4);
    out->id = (uint64_t)rd32(rec + 8) | (uint64_t)rd32(rec + 12) << 32;
    out->id2 = (uint64_t)rd32(rec + 16) | (uint64_t)rd32(rec + 20) << 32;
    size_t body = len - CF_IRHEADER_SIZE;
    if (out->flag > 0) {
        if ((uint64_t)out->flag * 4u > body)
            return cf_error_set(err, CF_ERR_IO,
                                "%s: header flag %" PRIu32 " says %" PRIu32
                                " labels follow, but only %zu bytes do",
                                where, out->flag, out->flag, body);
        out->labels = rec + CF_IRHEADER_SIZE;
        out->n_labels = (int)out->flag;
        body -= (size_t)out->flag * 4u;
    } else {
        out->n_labels = 1;
    }
    out->image = rec + (len - body);
    out->image_len = body;
    return CF_OK;
}

float cf_irecord_label(const cf_irecord *r, int j)
{
    if (!r->labels) return r->label;
    uint32_t u = rd32(r->labels + 4 * (size_t)j);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

cf_status cf_irecord_pack(float label, const float *labels, int n_labels, uint64_t id,
                          uint64_t id2, const void *image, size_t image_len, unsigned char **out,
                          size_t *out_len, cf_error *err)
{
    if (!labels) n_labels = 0;
    size_t n = CF_IRHEADER_SIZE + (size_t)n_labels * 4 + image_len;
    unsigned char *p = malloc(n ? n : 1);
    if (!p) return cf_error_set(err, CF_ERR_NOMEM, "out of memory packing a %zu-byte record", n);
    uint32_t u;
    float l = n_labels ? 0.0f : label; /* pack(): label becomes 0 when an array is given */
    wr32(p, (uint32_t)n_labels);
    memcpy(&u, &l, 4);
    wr32(p + 4, u);
    wr32(p + 8, (uint32_t)id);
    wr32(p + 12, (uint32_t)(id >> 32));
    wr32(p + 16, (uint32_t)id2);
    wr32(p + 20, (uint32_t)(id2 >> 32));
    for (int j = 0; j < n_labels; j++) {
        memcpy(&u, &labels[j], 4);
        wr32(p + CF_IRHEADER_SIZE + 4 * (size_t)j, u);
    }
    if (image_len) memcpy(p + CF_IRHEADER_SIZE + (size_t)n_labels * 4, image, image_len);
    *out = p;
    *out_len = n;
    return CF_OK;
}

/* ---- writing ------------------------------------------------------------- */
cf_status cf_recordio_writer_open(const char *path, const char *idx_path, cf_recordio_writer *w,
                                  cf_error *err)
{
    memset(w, 0, sizeof *w);
    snprintf(w->path, sizeof w->path, "%s", path);
    w->rec = fopen(path, "wb");
    if (!w->rec) return cf_error_set(err, CF_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    if (idx_path) {
        snprintf(w->idx_path, sizeof w->idx_path, "%s", idx_path);
        w->idx = fopen(idx_path, "w");
        if (!w->idx) {
            fclose(w->rec);
            w->rec = NULL;
            return cf_error_set(err, CF_ERR_IO, "%s: cannot create: %s", idx_path, strerror(errno));
        }
    }
    return CF_OK;
}

static cf_status put(cf_recordio_writer *w, const void *p, size_t n, cf_error *err)
{
    if (n && fwrite(p, 1, n, w->rec) != n)
        return cf_error_set(err, CF_ERR_IO, "%s: write failed at offset %" PRIu64 ": %s", w->path,
                            w->pos, strerror(errno));
    w->pos += n;
    return CF_OK;
}

static cf_status part(cf_recordio_writer *w, uint32_t cflag, const unsigned char *p, uint32_t n,
                      cf_error *err)
{
    unsigned char h[8];
    memcpy(h, magic_le, 4);
    wr32(h + 4, cflag << 29 | n);
    CF_TRY(put(w, h, 8, err));
    return put(w, p, n, err);
}

cf_status cf_recordio_write(cf_recordio_writer *w, int64_t key, const void *data, size_t size,
                            cf_error *err)
{
    if (size > CF_RECORDIO_MAX_LEN)
        return cf_error_set(err, CF_ERR_INVALID,
                            "%s: a %zu-byte record (RecordIO takes less than 2^29 bytes)", w->path,
                            size);
    uint64_t start = w->pos;
    const unsigned char *b = data;
    uint32_t len = (uint32_t)size, lower = len >> 2 << 2, upper = (len + 3u) >> 2 << 2, dptr = 0;
    for (uint32_t i = 0; i < lower; i += 4) {
        if (memcmp(b + i, magic_le, 4) == 0) { /* split here; the magic is not stored */
            CF_TRY(part(w, dptr == 0 ? 1u : 2u, b + dptr, i - dptr, err));
            dptr = i + 4;
            w->splits++;
        }
    }
    CF_TRY(part(w, dptr != 0 ? 3u : 0u, b + dptr, len - dptr, err));
    static const unsigned char zero[4];
    CF_TRY(put(w, zero, upper - len, err));
    if (w->idx && fprintf(w->idx, "%" PRId64 "\t%" PRIu64 "\n", key, start) < 0)
        return cf_error_set(err, CF_ERR_IO, "%s: write failed: %s", w->idx_path, strerror(errno));
    w->n++;
    return CF_OK;
}

cf_status cf_recordio_writer_close(cf_recordio_writer *w, cf_error *err)
{
    cf_status s = CF_OK;
    if (w->rec && fclose(w->rec) != 0)
        s = cf_error_set(err, CF_ERR_IO, "%s: write failed: %s", w->path, strerror(errno));
    if (w->idx && fclose(w->idx) != 0 && s == CF_OK)
        s = cf_error_set(err, CF_ERR_IO, "%s: write failed: %s", w->idx_path, strerror(errno));
    w->rec = w->idx = NULL;
    return s;
}
