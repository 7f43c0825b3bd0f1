/* clforge — In-memory datasets: IDX loading, stratified split, statistics, shuffling. */
#ifndef CLFORGE_DATA_DATASET_H
#define CLFORGE_DATA_DATASET_H

#include <stdint.h>
#include "clforge/clforge.h"

/* ---- idx.c ------------------------------------------------------------------- */
typedef struct cf_dataset {
    int n, c, h, w, k; /* samples, shape, classes */
    float *x;          /* n * c*h*w, raw [0,1] */
    int *y;
    char **class_names;/* k names */
} cf_dataset;

cf_status cf_idx_load(const char *images, const char *labels, int limit, cf_dataset *out,
                      cf_error *err);
void cf_dataset_free(cf_dataset *d);
/* Stratified split: indices into val (ratio of each class) and train. */
cf_status cf_dataset_split(const cf_dataset *d, double ratio, uint64_t seed, int **train_idx,
                           int *n_train, int **val_idx, int *n_val, cf_error *err);
/* Per-channel mean/std over the given samples. */
void cf_dataset_stats(const cf_dataset *d, const int *idx, int n, double *mean, double *std);
/* Seeded Fisher-Yates of idx for an epoch. */
void cf_shuffle(int *idx, int n, uint64_t seed, uint64_t epoch);
const char *const *cf_fashion_mnist_classes(void);

#endif
