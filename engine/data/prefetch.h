/* clforge — the prefetching data pipeline (one batch ahead). */
#ifndef CLFORGE_PREFETCH_H
#define CLFORGE_PREFETCH_H

#include "train/session.h"

typedef struct cf_prefetch cf_prefetch;

cf_status cf_prefetch_start(cf_prefetch **p, cf_session *s, int max_batch, cf_error *err);
/* Queue the assembly of one batch (at most one outstanding; idx must stay valid). */
void cf_prefetch_submit(cf_prefetch *p, const cf_dataset *d, const int *idx, int n, int augment,
                        uint64_t epoch);
/* Wait for the queued batch; *b stays valid until the submission after next. */
cf_status cf_prefetch_wait(cf_prefetch *p, cf_batch **b, cf_error *err);
void cf_prefetch_stop(cf_prefetch *p);

#endif
