/* clforge — the dataset reader interface: one format per file in engine/data/
 * (idx.c, folder.c, lst.c, cifar.c, reader_recordio.c), chosen by detection or by
 * data.format. A reader lists its items and their labels at open; reading an
 * item gives its encoded bytes (JPEG/PNG/PNM, decoded by data/image.c) or its
 * pixels (IDX, CIFAR). Reads must be safe from several threads at once (each
 * caller passes its own cf_item), so the decode workers share one reader. */
#ifndef CLFORGE_DATA_READER_H
#define CLFORGE_DATA_READER_H

#include <stddef.h>
#include <stdint.h>

#include "clforge/clforge.h"

/* Options from the data section (all may be NULL/0). */
typedef struct cf_reader_opts {
    const char *root;         /* data.root: where a .lst's paths start (NULL: the .lst's folder) */
    const char *part;         /* "train" or "test": which half of a CIFAR directory */
    const char *cifar_label;  /* CIFAR-100: "fine" (default) or "coarse" */
    const char *labels_path;  /* IDX: the labels file that goes with the images file */
    long limit;               /* read at most this many items (0: all) */
} cf_reader_opts;

/* What a reader knows after open. Arrays are owned by the reader. */
typedef struct cf_reader_info {
    long n;                /* items */
    int k;                 /* classes (largest label + 1, or the class folders) */
    char **class_names;    /* k names; NULL: "0", "1", ... */
    int label_width;       /* labels per item: 1, or more (multi-label .lst / RecordIO) */
    float *labels;         /* n * label_width labels (class indices as floats, as MXNet) */
    int c, h, w;           /* pixel formats: every item's shape; 0 for encoded formats */
} cf_reader_info;

typedef enum cf_item_kind {
    CF_ITEM_ENCODED = 1, /* data[0..len): a JPEG, PNG or PGM/PPM file's bytes */
    CF_ITEM_PIXELS = 2   /* data: h*w*c 8-bit pixels, interleaved (HWC), c = 1 or 3 */
} cf_item_kind;

/* One item read. The reader fills data (usually into buf, which it may grow
 * with realloc and the caller frees with cf_item_free) and name. */
typedef struct cf_item {
    cf_item_kind kind;
    const unsigned char *data;
    size_t len;
    int c, h, w;           /* CF_ITEM_PIXELS */
    char name[1024];       /* for messages: a file path, or "file#record" */
    unsigned char *buf;    /* scratch owned by the caller, reused between reads */
    size_t cap;
} cf_item;

typedef struct cf_reader_vtable {
    const char *name;      /* data.format: "idx", "folder", "lst", "cifar", "recordio" */
    /* How sure (0 = not this format, 100 = certain) that path is this format.
     * head: the first bytes of a regular file (n may be 0; NULL for a folder). */
    int (*detect)(const char *path, int is_dir, const unsigned char *head, size_t n);
    cf_status (*open)(const char *path, const cf_reader_opts *o, void **state, cf_reader_info *info,
                      cf_error *err);
    /* Item i (0 <= i < n). Thread-safe. */
    cf_status (*read)(void *state, long i, cf_item *it, cf_error *err);
    void (*close)(void *state);
} cf_reader_vtable;

typedef struct cf_reader {
    const cf_reader_vtable *v;
    void *state;
    cf_reader_info info;
    char path[1024];
} cf_reader;

/* The built-in readers. */
extern const cf_reader_vtable cf_reader_idx, cf_reader_folder, cf_reader_lst, cf_reader_cifar;
/* SageMaker augmented manifests (engine/data/manifest.c). */
extern const cf_reader_vtable cf_reader_manifest;
/* MXNet RecordIO (engine/data/reader_recordio.c): a weak reference, so the registry
 * holds it exactly when that file is linked in. */
extern const cf_reader_vtable cf_reader_recordio __attribute__((weak));

/* Add a format at run time (tests, plugins); later registrations win ties. */
cf_status cf_reader_register(const cf_reader_vtable *v, cf_error *err);
/* The format called name, or NULL. */
const cf_reader_vtable *cf_reader_find(const char *name);
/* The format of path: format if given and not "auto", else the most confident detector. */
cf_status cf_reader_detect(const char *path, const char *format, const cf_reader_vtable **out,
                           cf_error *err);
cf_status cf_reader_open(const char *path, const char *format, const cf_reader_opts *o,
                         cf_reader **out, cf_error *err);
cf_status cf_reader_read(cf_reader *r, long i, cf_item *it, cf_error *err);
/* Item i's labels (info.label_width of them). */
static inline const float *cf_reader_labels(const cf_reader *r, long i)
{
    return r->info.labels + (size_t)i * (size_t)r->info.label_width;
}
void cf_reader_close(cf_reader *r);
void cf_item_free(cf_item *it);
/* Grow it->buf to at least n bytes. */
cf_status cf_item_reserve(cf_item *it, size_t n, cf_error *err);

/* Helpers the readers share (reader.c). */
/* Class names sorted as strcmp orders bytes (ImageFolder / im2rec numbering). */
void cf_sort_names(char **names, int n);
/* Where a list file's relative image paths start: root when given, else
 * the list's folder (.lst, augmented manifests). */
void cf_list_root(const char *list_path, const char *root, char *out, size_t n);
/* An image path of a list: absolute as it is, else under root. A copy (NULL: out of memory). */
char *cf_list_image_path(const char *root, const char *rel);
/* Read a whole file into it->buf (data/len point at it). */
cf_status cf_item_read_file(cf_item *it, const char *path, cf_error *err);
/* A path has an image extension (.jpg .jpeg .png .pgm .ppm, any case). */
int cf_is_image_name(const char *name);

#endif
