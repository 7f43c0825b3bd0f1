/* `clforge data bench`: the input pipeline alone (decode + augment + batch,
 * no model), so it can be timed against other frameworks' loaders. The same
 * session, shuffling and prefetch ring as training, without the network. */
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "train/aug_chain.h"
#include "train/data_bench.h"
#include "train/prefetch.h"

cf_status cf_data_bench(const cf_data_bench_opts *bo, cf_error *err)
{
    cf_session s;
    cf_train_opts o = {0};
    o.sets = bo->sets;
    o.n_sets = bo->n_sets;
    cf_session_init(&s, &o, bo->out);
    cf_prefetch *pf = NULL;
    int *order = NULL;
    double t0 = cf_now(), t_open = 0, t_run = 0;
    long seen = 0;
    int nb = 0;
    cf_status st = cf_session_config(&s, bo->config_path, err);
    if (!st) st = cf_session_data(&s, 1, 0, err); /* the test set is never read */
    t_open = cf_now() - t0;
    if (!st) st = cf_session_plugins(&s, err);
    if (!st) st = cf_session_model(&s, err); /* the shapes the augmentations must reach */
    if (!st && !(order = malloc((size_t)(s.n_tr ? s.n_tr : 1) * sizeof *order)))
        st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    if (!st) st = cf_prefetch_start(&pf, &s, s.batch, err);
    if (!st) {
        nb = (s.n_tr + s.batch - 1) / s.batch;
        if (bo->batches > 0 && bo->batches < nb) nb = bo->batches;
        memcpy(order, s.tr, (size_t)s.n_tr * sizeof *order);
        cf_shuffle(order, s.n_tr, s.seed, 1);
        const int ahead = CF_PREFETCH_DEPTH - 1, mixing = cf_aug_has_batch(&s);
        double t1 = cf_now();
        for (int q = 0; q < ahead && q < nb; q++) {
            int off = q * s.batch, m = s.n_tr - off < s.batch ? s.n_tr - off : s.batch;
            cf_prefetch_submit(pf, &s.train, order + off, m, 1, 1);
        }
        for (int b = 0; b < nb && !st; b++) {
            cf_batch *cur;
            if ((st = cf_prefetch_wait(pf, &cur, err))) break;
            if (b + ahead < nb) {
                int off = (b + ahead) * s.batch, m = s.n_tr - off < s.batch ? s.n_tr - off : s.batch;
                cf_prefetch_submit(pf, &s.train, order + off, m, 1, 1);
            }
            int m = s.n_tr - b * s.batch < s.batch ? s.n_tr - b * s.batch : s.batch;
            if (mixing && (st = cf_aug_batch(&s, cur, m, 1, b, err))) break;
            seen += m;
        }
        t_run = cf_now() - t1;
    }
    cf_prefetch_stop(pf);
    if (!st) {
        double ips = t_run > 0 ? seen / t_run : 0;
        if (bo->json)
            fprintf(s.out, "{\"open_s\":%.3f,\"images\":%ld,\"batches\":%d,\"batch\":%d,\"seconds\":%.3f,"
                           "\"images_per_s\":%.1f,\"shape\":[%d,%d,%d]}\n",
                    t_open, seen, nb, s.batch, t_run, ips, s.c, s.h, s.w);
        else
            fprintf(s.out, "open %.3f s; %ld images (%d batches of %d, %dx%dx%d) in %.3f s: %.1f img/s\n", t_open,
                    seen, nb, s.batch, s.c, s.h, s.w, t_run, ips);
    }
    free(order);
    cf_session_free(&s);
    return st;
}
