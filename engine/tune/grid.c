/* Grid search: every combination, in mixed-radix order (the first parameter
 * varies slowest). Trial k is grid point k, so the order never depends on
 * which trial finishes first. */
#include <stdlib.h>

#include "tune/tune.h"

typedef struct grid {
    const cf_tune_config *cfg;
    long *size;
    long total;
} grid;

static cf_next_result grid_next(void *ctx, const cf_study *s, cf_proposal *p, cf_error *err)
{
    grid *g = ctx;
    long k = cf_study_count(s);
    if (k >= g->total) return CF_NEXT_DONE;
    const cf_tune_space *sp = &g->cfg->space;
    for (int i = sp->n - 1; i >= 0; i--) {
        p->x[i] = cf_tune_grid_value(&sp->p[i], k % g->size[i]);
        k /= g->size[i];
    }
    p->epochs = g->cfg->epochs;
    return CF_NEXT_LAUNCH;
}

static void grid_destroy(void *ctx)
{
    grid *g = ctx;
    free(g->size);
    free(g);
}

cf_status cf_strategy_grid(cf_tune_strategy *out, const cf_tune_config *cfg, cf_error *err)
{
    grid *g = calloc(1, sizeof *g);
    if (!g || !(g->size = calloc((size_t)cfg->space.n, sizeof(long)))) {
        free(g);
        return cf_error_set(err, CF_ERR_NOMEM, "grid: out of memory");
    }
    g->cfg = cfg;
    g->total = 1;
    for (int i = 0; i < cfg->space.n; i++) {
        cf_status st = cf_tune_grid_size(&cfg->space.p[i], &g->size[i], err);
        if (st != CF_OK) {
            grid_destroy(g);
            return cf_error_prefix(err, "%s", cfg->config_path);
        }
        if (g->total > 100000000L / g->size[i]) {
            grid_destroy(g);
            return cf_error_set(err, CF_ERR_INVALID, "%s: the grid has more than 1e8 points",
                                cfg->config_path);
        }
        g->total *= g->size[i];
    }
    out->ctx = g;
    out->next = grid_next;
    out->destroy = grid_destroy;
    return CF_OK;
}
