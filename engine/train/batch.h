/* clforge — host buffers of one batch and their assembly from a dataset. */
#ifndef CLFORGE_DATA_BATCH_H
#define CLFORGE_DATA_BATCH_H

#include <stdint.h>

#include "clforge/clforge.h"
#include "data/dataset.h"

struct cf_session;
struct cf_item;

/* Host buffers of one batch, with scratch for decoding (it) and the
 * augmentation chain (aug_a, aug_b). */
typedef struct cf_batch {
    float *x, *t, *w, *aug_a, *aug_b;
    struct cf_item *it;
} cf_batch;
cf_status cf_batch_alloc(const struct cf_session *s, int max_batch, cf_batch *b, cf_error *err);
/* Only the per-thread scratch (aug_a, aug_b, it) of a decode worker. */
cf_status cf_batch_alloc_scratch(const struct cf_session *s, cf_batch *b, cf_error *err);
void cf_batch_free(cf_batch *b);
/* Assemble samples idx[0..n) of d: (decode) -> (augment) -> normalise; targets, weights. */
cf_status cf_session_batch_into(struct cf_session *s, const cf_dataset *d, const int *idx, int n,
                                int augment, uint64_t epoch, cf_batch *b, cf_error *err);
/* The samples first, first + step, ... of the same into out, with scratch's
 * buffers: one decode worker's share. A sample's result depends only on
 * (seed, epoch, sample index), never on which worker made it. */
cf_status cf_session_batch_part(struct cf_session *s, const cf_dataset *d, const int *idx, int n, int augment,
                                uint64_t epoch, cf_batch *out, cf_batch *scratch, int first, int step,
                                cf_error *err);
/* The same into the session's own buffers (s->bx, s->bt, s->bw). */
cf_status cf_session_batch(struct cf_session *s, const cf_dataset *d, const int *idx, int n,
                           int augment, uint64_t epoch, cf_error *err);

#endif
