/* clforge — the prefetching data pipeline: N decode workers, a ring of batches. */
#ifndef CLFORGE_PREFETCH_H
#define CLFORGE_PREFETCH_H

#include "train/session.h"

/* Batch buffers in the ring: the caller holds one, the rest may be queued. */
#define CF_PREFETCH_DEPTH 4

typedef struct cf_prefetch cf_prefetch;

cf_status cf_prefetch_start(cf_prefetch **p, cf_session *s, int max_batch, cf_error *err);
/* Queue the assembly of one batch: at most CF_PREFETCH_DEPTH - 1 queued and
 * not yet waited for; idx must stay valid until its batch is waited for. */
void cf_prefetch_submit(cf_prefetch *p, const cf_dataset *d, const int *idx, int n, int augment,
                        uint64_t epoch);
/* Wait for the oldest queued batch; *b stays valid until CF_PREFETCH_DEPTH - 1
 * further submissions. */
cf_status cf_prefetch_wait(cf_prefetch *p, cf_batch **b, cf_error *err);
void cf_prefetch_stop(cf_prefetch *p);

#endif
