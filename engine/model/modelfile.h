/* clforge — Tensors + text in one checksummed file (models and checkpoints). */
#ifndef CLFORGE_MODEL_MODELFILE_H
#define CLFORGE_MODEL_MODELFILE_H

#include "clforge/clforge.h"

/* ---- modelfile.c: tensors + text in one checksummed file ------------------------- */
typedef struct cf_blob_tensor {
    char name[96];
    int ndim, shape[CF_MAX_DIMS];
    float *data;
} cf_blob_tensor;

typedef struct cf_blob {
    char *text; /* metadata / config text */
    int n;
    cf_blob_tensor *t;
} cf_blob;

cf_status cf_blob_write(const char *path, const cf_blob *b, cf_error *err);
cf_status cf_blob_read(const char *path, cf_blob *b, cf_error *err);
void cf_blob_free(cf_blob *b);
const cf_blob_tensor *cf_blob_find(const cf_blob *b, const char *name);

#endif
