/* clforge — the input pipeline timed alone (`clforge data bench`). */
#ifndef CLFORGE_DATA_BENCH_H
#define CLFORGE_DATA_BENCH_H

#include <stdio.h>
#include "clforge/clforge.h"

typedef struct cf_data_bench_opts {
    const char *config_path;
    const char *const *sets;
    int n_sets;
    int batches; /* > 0: stop after this many training batches (else one epoch) */
    int json;
    FILE *out;
} cf_data_bench_opts;
/* Open the config's training data, then assemble its batches of epoch 1
 * (decode, augment, normalise) through the prefetch ring, without a model;
 * print the open time and the images/s. */
cf_status cf_data_bench(const cf_data_bench_opts *o, cf_error *err);

#endif
