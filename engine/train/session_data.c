/* The session's data: the training/test IDX files, the validation split,
 * normalisation statistics and class weights, as the data section says. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/session.h"

cf_status cf_session_data(cf_session *s, int need_train, int need_test, cf_error *err)
{
    /* "idx" means the user's own files: defaults pointing at Fashion-MNIST would mislead. */
    if (!strcmp(cf_params_str(s->pd, "dataset"), "idx")) {
        static const char *const keys[] = {"train_images", "train_labels", "test_images", "test_labels"};
        for (int i = 0; i < 4; i++)
            if ((i < 2 ? need_train : need_test) && !cf_params_is_set(s->pd, keys[i]))
                return cf_error_set(err, CF_ERR_INVALID, "%s: data.dataset = \"idx\" needs data.%s",
                                    s->cfg.path, keys[i]);
    }
    if (need_train) {
        CF_TRY(cf_idx_load(cf_params_str(s->pd, "train_images"), cf_params_str(s->pd, "train_labels"),
                           cf_params_int(s->pd, "limit_train"), &s->train, err));
        s->c = s->train.c;
        s->h = s->train.h;
        s->w = s->train.w;
        s->k = s->train.k;
        CF_TRY(cf_dataset_split(&s->train, cf_params_num(s->pd, "validation_split"), s->seed, &s->tr,
                                &s->n_tr, &s->va, &s->n_va, err));
        if (s->n_tr == 0)
            return cf_error_set(err, CF_ERR_INVALID, "data: the training split is empty");
        int ek = cf_params_int(s->pd, "expect_classes"), en = cf_params_int(s->pd, "expect_training_samples");
        if (ek && ek != s->k)
            return cf_error_set(err, CF_ERR_INVALID, "data: num_classes is %d but %s has %d classes", ek,
                                cf_params_str(s->pd, "train_labels"), s->k);
        if (en && en != s->train.n)
            return cf_error_set(err, CF_ERR_INVALID, "data: num_training_samples is %d but %s holds %d images", en,
                                cf_params_str(s->pd, "train_images"), s->train.n);
    }
    if (need_test) {
        CF_TRY(cf_idx_load(cf_params_str(s->pd, "test_images"), cf_params_str(s->pd, "test_labels"),
                           cf_params_int(s->pd, "limit_test"), &s->test, err));
        if (!need_train) {
            s->c = s->test.c; s->h = s->test.h; s->w = s->test.w; s->k = s->test.k;
        } else if (s->test.h != s->h || s->test.w != s->w)
            return cf_error_set(err, CF_ERR_INVALID, "data: test images are %dx%d but training images %dx%d",
                                s->test.h, s->test.w, s->h, s->w);
        if (s->test.k > s->k) s->k = s->test.k;
    }
    for (int c = 0; c < 4; c++) { s->mean[c] = 0; s->std[c] = 1; }
    int nm = cf_params_list_len(s->pd, "mean"), ns = cf_params_list_len(s->pd, "std");
    if (nm || ns) {
        if (nm != s->c || ns != s->c)
            return cf_error_set(err, CF_ERR_INVALID, "data: mean/std need %d value(s) each", s->c);
        for (int c = 0; c < s->c; c++) {
            s->mean[c] = cf_params_list_num(s->pd, "mean", c);
            s->std[c] = cf_params_list_num(s->pd, "std", c);
            if (!(s->std[c] > 0)) return cf_error_set(err, CF_ERR_INVALID, "data: std must be > 0");
        }
    } else if (cf_params_bool(s->pd, "normalize") && need_train) {
        cf_dataset_stats(&s->train, s->tr, s->n_tr, s->mean, s->std); /* training split only */
    }
    int ncw = cf_params_list_len(s->pt, "class_weights");
    if (ncw) {
        if (ncw != s->k)
            return cf_error_set(err, CF_ERR_INVALID, "train.class_weights has %d values for %d classes", ncw, s->k);
        s->class_w = malloc((size_t)ncw * sizeof *s->class_w);
        for (int i = 0; i < ncw; i++) s->class_w[i] = (float)cf_params_list_num(s->pt, "class_weights", i);
    }
    return CF_OK;
}
