/* clforge — the training augmentation chain: per-image plugins taking the
 * training images' shape to the model's input, and the batch-level pass. */
#ifndef CLFORGE_TRAIN_AUG_CHAIN_H
#define CLFORGE_TRAIN_AUG_CHAIN_H

#include <stdint.h>

#include "clforge/clforge.h"
#include "data/dataset.h"

struct cf_session;
struct cf_batch;

/* With training data loaded: check that the per-image chain turns the
 * training images into the model's input; when it changes the shape (resize
 * -> random_crop), re-open image-format training data at its pre-crop shape
 * (data.resize on the shorter side, else the images' own) so the chain has
 * room to crop. Sets s->aug_px. The error names every step's shape. */
cf_status cf_aug_chain_check(struct cf_session *s, cf_error *err);
/* Sample si of d (pixels in a, d's shape) through the per-image plugins,
 * a and b (s->aug_px floats each) as ping-pong buffers; *out: the result,
 * of the model's input shape. */
cf_status cf_aug_chain_sample(struct cf_session *s, const cf_dataset *d, int si, uint64_t epoch, float *a,
                              float *b, const float **out, cf_error *err);
/* Evaluation of data larger than the model's input (the training images
 * of a shape-changing chain, validated as a split): its centre, as
 * torchvision's CenterCrop. */
void cf_aug_center_crop(const float *src, int c, int sh, int sw, float *dst, int h, int w);
/* Nonzero when the list holds a batch-level plugin (mixup, cutmix). */
int cf_aug_has_batch(const struct cf_session *s);
/* The batch-level plugins on the first n samples of b, keyed by (seed,
 * epoch, batch of the epoch): the same mix on a resumed run. */
cf_status cf_aug_batch(struct cf_session *s, struct cf_batch *b, int n, uint64_t epoch, long batch, cf_error *err);

/* Training accuracy against a target row: its largest entry's class (the
 * label itself for one-hot or smoothed rows; the dominant one when mixed). */
int cf_aug_target_class(const float *t, int k);

#endif
