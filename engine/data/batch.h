/* clforge — host buffers of one batch and their assembly from a dataset. */
#ifndef CLFORGE_DATA_BATCH_H
#define CLFORGE_DATA_BATCH_H

#include <stdint.h>

#include "clforge/clforge.h"
#include "data/dataset.h"

struct cf_session;

/* Host buffers of one batch, with scratch for the augmentation chain. */
typedef struct cf_batch {
    float *x, *t, *w, *aug_a, *aug_b;
} cf_batch;
cf_status cf_batch_alloc(const struct cf_session *s, int max_batch, cf_batch *b, cf_error *err);
void cf_batch_free(cf_batch *b);
/* Assemble samples idx[0..n) of d: (augment) -> normalise; targets, weights. */
cf_status cf_session_batch_into(struct cf_session *s, const cf_dataset *d, const int *idx, int n,
                                int augment, uint64_t epoch, cf_batch *b, cf_error *err);
/* The same into the session's own buffers (s->bx, s->bt, s->bw). */
cf_status cf_session_batch(struct cf_session *s, const cf_dataset *d, const int *idx, int n,
                           int augment, uint64_t epoch, cf_error *err);

#endif
