/* clforge — In-memory datasets: IDX loading, stratified split, statistics, shuffling. */
#ifndef CLFORGE_DATA_DATASET_H
#define CLFORGE_DATA_DATASET_H

#include <stdint.h>
#include <stdio.h>
#include "clforge/clforge.h"

/* ---- idx.c ------------------------------------------------------------------- */
struct cf_reader;
struct cf_item;
typedef struct cf_dataset {
    int n, c, h, w, k; /* samples, shape, classes */
    float *x;          /* n * c*h*w, raw [0,1]; NULL: decoded from src on demand */
    int *y;
    float *multi;      /* multi-label: n x k multi-hot targets (data/multilabel.h); else NULL */
    char **class_names;/* k names */
    /* Image formats (source.c): the reader, its item behind each sample (the
     * skipped files left out), the resize, and what was skipped. */
    struct cf_reader *src;
    long *map;
    int resize;
    long n_skipped;
    char **skipped;    /* the first CF_SKIPPED_NAMED names */
    int n_named;
    int unscanned;     /* opened without decoding (data.scan = "none") */
} cf_dataset;
#define CF_SKIPPED_NAMED 20

cf_status cf_idx_load(const char *images, const char *labels, int limit, cf_dataset *out,
                      cf_error *err);
void cf_dataset_free(cf_dataset *d);
/* The labels file that goes with an IDX images file by the MNIST naming. */
cf_status cf_idx_labels_for(const char *images, char *out, size_t n, cf_error *err);

/* ---- source.c: any reader as a dataset ----------------------------------------- */
typedef struct cf_source_opts {
    const char *format;       /* data.format ("auto": detect) */
    const char *root, *part, *cifar_label, *labels_path;
    long limit;
    int c, h, w;              /* the input shape wanted (0: from the data) */
    int resize;               /* shorter side first (0: none) */
    int workers;              /* decode threads (0: one per core, at most 8) */
    double cache_mb;          /* keep decoded pixels when they fit in this (0: always stream) */
    FILE *warn;               /* skipped files are named here (NULL: quiet) */
    int no_scan;              /* data.scan = "none": list the items, decode none (no cache, no skips) */
} cf_source_opts;
/* Open path as a dataset: every item decoded once (in parallel) to find the
 * unreadable ones, which are skipped, counted and named; pixels kept when
 * they fit in cache_mb, else decoded again on each use. */
cf_status cf_dataset_open(const char *path, const cf_source_opts *o, cf_dataset *out, cf_error *err);
/* Sample i's c*h*w floats in [0, 1]: a pointer into d->x, or decoded into
 * scratch (c*h*w floats) with it (the caller's, one per thread). */
cf_status cf_dataset_sample(const cf_dataset *d, int i, float *scratch, struct cf_item *it, const float **px,
                            cf_error *err);
/* Per-channel mean/std over at most max evenly spaced samples of idx. */
cf_status cf_dataset_stats_sample(const cf_dataset *d, const int *idx, int n, int max, double *mean, double *std,
                                  cf_error *err);
/* info.c: print what path holds (format, classes and counts, sizes, unreadable files). */
cf_status cf_data_info(const char *path, const char *format, const char *root, const char *part, int json,
                       FILE *out, cf_error *err);
/* Decode threads for o->workers = 0. */
int cf_data_workers_default(void);
/* Stratified split: indices into val (ratio of each class) and train. */
cf_status cf_dataset_split(const cf_dataset *d, double ratio, uint64_t seed, int **train_idx,
                           int *n_train, int **val_idx, int *n_val, cf_error *err);
/* class_fraction.c: keep frac[c] of class c's entries of idx (a seeded
 * choice, at least one when frac > 0; classes past n_frac keep all). */
cf_status cf_dataset_class_fraction(const cf_dataset *d, int *idx, int *n, const double *frac, int n_frac,
                                    uint64_t seed, cf_error *err);
/* subset.c: keep the samples of class c where keep[c] >= 0 (keep has d->k
 * entries), relabelled keep[c] in 0..k_new-1, at most the first limit of
 * them (0: all); class names follow. */
cf_status cf_dataset_keep_classes(cf_dataset *d, const int *keep, int k_new, long limit, cf_error *err);
/* Per-channel mean/std over the given samples. */
void cf_dataset_stats(const cf_dataset *d, const int *idx, int n, double *mean, double *std);
/* Seeded Fisher-Yates of idx for an epoch. */
void cf_shuffle(int *idx, int n, uint64_t seed, uint64_t epoch);
const char *const *cf_fashion_mnist_classes(void);

#endif
