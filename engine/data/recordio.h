/* clforge — MXNet RecordIO (.rec/.idx): dmlc-core's record framing and
 * MXNet's image-record header (IRHeader).
 *
 * A record on disk: magic 0xCED7230A (little-endian u32), lrec = cflag << 29 |
 * length (u32), length bytes, zero padding to 4 bytes. A payload that holds the
 * magic at a 4-aligned offset is split there: parts with cflag 1 (first), 2
 * (middle), 3 (last); the magic itself is not stored and the reader puts it
 * back between parts. cflag 0 is a whole record. The .idx is text, one
 * "key\toffset" line per record (mx.recordio.MXIndexedRecordIO).
 *
 * An image record's payload: IRHeader {u32 flag; f32 label; u64 id; u64 id2}
 * (24 bytes, 'IfQQ'), then, when flag > 0, flag f32 labels (header.label is
 * then unused), then the encoded image (JPEG/PNG). */
#ifndef CLFORGE_DATA_RECORDIO_H
#define CLFORGE_DATA_RECORDIO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clforge/clforge.h"

#define CF_RECORDIO_MAGIC 0xCED7230Au
#define CF_RECORDIO_MAX_LEN ((1u << 29) - 1u) /* one part's length field */
#define CF_IRHEADER_SIZE 24

/* ---- reading ------------------------------------------------------------- */
typedef struct cf_recordio {
    char path[1024];
    int fd;
    uint64_t size;     /* bytes in the .rec */
    long n;            /* records */
    uint64_t *offset;  /* record i's first byte (its first part's magic) */
    int64_t *key;      /* .idx key of record i; without an .idx, i */
    int indexed;       /* 1: offsets came from an .idx */
} cf_recordio;

/* Open path. idx: the index to use; NULL looks for path with .rec → .idx
 * (none found: a sequential scan builds the index in memory); "" forces the
 * scan. Every record the scan passes or the .idx names is checked: the file
 * is RecordIO, no record is truncated, every cflag sequence is 0 or 1 2* 3.
 * Errors name the file and the byte offset. */
cf_status cf_recordio_open(const char *path, const char *idx, cf_recordio *r, cf_error *err);
/* Record i, parts joined, into *buf (grown with realloc; the caller frees).
 * Thread-safe (pread). */
cf_status cf_recordio_read(const cf_recordio *r, long i, unsigned char **buf, size_t *cap,
                           size_t *len, cf_error *err);
/* The first max bytes of record i (fewer when it is shorter). */
cf_status cf_recordio_read_head(const cf_recordio *r, long i, size_t max, unsigned char **buf,
                                size_t *cap, size_t *len, cf_error *err);
/* The record starting at byte off; *next gets the offset after it. */
cf_status cf_recordio_read_at(const cf_recordio *r, uint64_t off, unsigned char **buf,
                              size_t *cap, size_t *len, uint64_t *next, cf_error *err);
void cf_recordio_close(cf_recordio *r);

/* ---- image records ------------------------------------------------------- */
typedef struct cf_irecord {
    uint32_t flag;                /* > 0: number of labels that follow the header */
    float label;                  /* the label when flag == 0 */
    uint64_t id, id2;
    int n_labels;                 /* max(1, flag) */
    const unsigned char *labels;  /* flag little-endian f32s inside the record, or NULL */
    const unsigned char *image;   /* the encoded image inside the record */
    size_t image_len;
} cf_irecord;

/* Parse an image record; where names it in errors ("file.rec: record at offset N"). */
cf_status cf_irecord_parse(const unsigned char *rec, size_t len, const char *where,
                           cf_irecord *out, cf_error *err);
/* Label j (0 <= j < n_labels). */
float cf_irecord_label(const cf_irecord *r, int j);
/* mx.recordio.pack: header (flag = n_labels when labels, else 0 and label),
 * labels, image, into a malloc'd *out. */
cf_status cf_irecord_pack(float label, const float *labels, int n_labels, uint64_t id,
                          uint64_t id2, const void *image, size_t image_len, unsigned char **out,
                          size_t *out_len, cf_error *err);

/* ---- writing ------------------------------------------------------------- */
typedef struct cf_recordio_writer {
    char path[1024], idx_path[1024];
    FILE *rec, *idx;
    uint64_t pos;   /* bytes written to the .rec */
    long n;         /* records */
    long splits;    /* magics met in payloads (dmlc's except_counter) */
} cf_recordio_writer;

/* Create path (and idx_path, unless NULL). */
cf_status cf_recordio_writer_open(const char *path, const char *idx_path, cf_recordio_writer *w,
                                  cf_error *err);
/* Append one record, split exactly as dmlc::RecordIOWriter::WriteRecord does;
 * the .idx line is "key\toffset". */
cf_status cf_recordio_write(cf_recordio_writer *w, int64_t key, const void *data, size_t len,
                            cf_error *err);
/* Flush and close; an error (disk full) is reported here too. */
cf_status cf_recordio_writer_close(cf_recordio_writer *w, cf_error *err);

/* "x.rec" → "x.idx" (any other name: name + ".idx"). */
void cf_recordio_idx_name(const char *rec, char *out, size_t n);

#endif
