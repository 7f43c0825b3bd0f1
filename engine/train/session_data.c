/* The session's data, as the data section says: data.train / data.validation
 * / data.test paths in any format (engine/data/reader.h), or the IDX keys of
 * old; the validation split; normalisation statistics and class weights. An
 * IDX path still goes through cf_idx_load, so IDX runs do not change a bit. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/multilabel.h"
#include "data/reader.h"
#include "train/session.h"

/* data.image_shape "C,H,W" (SageMaker's meaning); 0s when unset. */
static cf_status image_shape(cf_session *s, int *c, int *h, int *w, cf_error *err)
{
    const char *v = cf_params_str(s->pd, "image_shape");
    *c = *h = *w = 0;
    if (!*v) return CF_OK;
    if (sscanf(v, "%d,%d,%d", c, h, w) != 3 || (*c != 1 && *c != 3) || *h <= 0 || *w <= 0 || *h > 16384 || *w > 16384)
        return cf_error_set(err, CF_ERR_INVALID, "data.image_shape \"%s\" must be \"C,H,W\" with C = 1 or 3", v);
    return CF_OK;
}

/* Open one data path: IDX as before, anything else through a reader. */
static cf_status open_rooted(cf_session *s, const char *path, const char *part, const char *labels_key, int limit,
                             int c, int h, int w, const char *root, cf_dataset *d, cf_error *err)
{
    const cf_reader_vtable *v;
    CF_TRY(cf_reader_detect(path, cf_params_str(s->pd, "format"), &v, err));
    if (!strcmp(v->name, "idx")) {
        char lab[1024];
        if (cf_params_is_set(s->pd, labels_key)) snprintf(lab, sizeof lab, "%s", cf_params_str(s->pd, labels_key));
        else CF_TRY(cf_idx_labels_for(path, lab, sizeof lab, err));
        CF_TRY(cf_idx_load(path, lab, limit, d, err));
        return s->multi ? cf_dataset_multi_hot(d, "", 0, path, err) : CF_OK; /* an error: no label lists */
    }
    cf_source_opts o = {.format = v->name, .part = part, .limit = limit, .c = c, .h = h, .w = w,
                        .resize = cf_params_int(s->pd, "resize"), .workers = cf_params_int(s->pd, "workers"),
                        .cache_mb = cf_params_num(s->pd, "cache_mb"), .warn = s->warn,
                        .no_scan = !strcmp(cf_params_str(s->pd, "scan"), "none"),
                        .cifar_label = cf_params_str(s->pd, "cifar_label")};
    o.root = *root ? root : NULL;
    CF_TRY(cf_dataset_open(path, &o, d, err));
    if (!s->multi) return CF_OK;
    /* the classes expected: the training data's (or the model's), else num_classes */
    int k = s->k ? s->k : cf_params_int(s->pd, "expect_classes");
    return cf_dataset_multi_hot(d, cf_params_str(s->pd, "label_format"), k, path, err);
}

cf_status cf_session_open_data(cf_session *s, const char *path, const char *part, const char *labels_key,
                               int limit, int c, int h, int w, cf_dataset *d, cf_error *err)
{
    return open_rooted(s, path, part, labels_key, limit, c, h, w, cf_params_str(s->pd, "root"), d, err);
}

static int is_cifar_dir(cf_session *s, const char *path)
{
    const cf_reader_vtable *v;
    return !cf_reader_detect(path, cf_params_str(s->pd, "format"), &v, NULL) && !strcmp(v->name, "cifar") &&
           !strstr(path, ".bin");
}

static cf_status check_shape(const cf_session *s, const cf_dataset *d, const char *what, const char *path,
                             cf_error *err)
{
    if (d->c != s->c || d->h != s->h || d->w != s->w)
        return cf_error_set(err, CF_ERR_INVALID, "%s: %s images are [%d, %d, %d] but the training images [%d, %d, %d] "
                            "(set data.image_shape)", path, what, d->c, d->h, d->w, s->c, s->h, s->w);
    return CF_OK;
}

/* data.classes against the classes of d, the training data (or the test
 * data of eval): an index or a name, case-insensitive. s->keep maps each
 * class to its place in the list. */
cf_status cf_session_class_subset(cf_session *s, cf_dataset *d, const char *where, int lim, cf_error *err)
{
    int n = cf_params_list_len(s->pd, "classes"), k = d->k;
    if (d->multi) /* a sample may hold kept and dropped labels at once */
        return cf_error_set(err, CF_ERR_UNSUPPORTED, "data.classes: not with multi-label data (%s)", where);
    s->keep = malloc((size_t)k * sizeof *s->keep);
    s->all_names = cf_calloc((size_t)k, sizeof *s->all_names);
    if (!s->keep || !s->all_names) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    s->k_all = k;
    for (int c = 0; c < k; c++) {
        s->keep[c] = -1;
        s->all_names[c] = cf_strdup(d->class_names && d->class_names[c] ? d->class_names[c] : "?");
    }
    for (int i = 0; i < n; i++) {
        const char *v = cf_params_list_str(s->pd, "classes", i);
        char *end;
        long c = strtol(v, &end, 10);
        if (end == v || *end) /* a name */
            for (c = 0; c < k && strcasecmp(s->all_names[c], v); c++) {}
        if (c < 0 || c >= k)
            return cf_error_set(err, CF_ERR_INVALID, "data.classes: '%s' is not a class of %s (its %d classes: 0 to %d, "
                                "or their names)", v, where, k, k - 1);
        if (s->keep[c] >= 0)
            return cf_error_set(err, CF_ERR_INVALID, "data.classes: class '%s' is listed twice", v);
        s->keep[c] = i;
    }
    CF_TRY(cf_dataset_keep_classes(d, s->keep, n, lim, err));
    if (!d->n) return cf_error_set(err, CF_ERR_INVALID, "data.classes: %s has no images of these classes", where);
    return CF_OK;
}

/* A validation or test set: numbered as the training data's classes (all
 * of them, before data.classes), then the same subset. */
static cf_status match_subset(cf_session *s, cf_dataset *d, const char *path, int lim, cf_error *err)
{
    if (!s->keep)
        return cf_dataset_match_classes(d, path, (const char *const *)s->train.class_names, s->train.k, err);
    CF_TRY(cf_dataset_match_classes(d, path, (const char *const *)s->all_names, s->k_all, err));
    int *keep = malloc((size_t)(d->k > 0 ? d->k : 1) * sizeof *keep);
    if (!keep) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    for (int c = 0; c < d->k; c++) keep[c] = c < s->k_all ? s->keep[c] : -1;
    cf_status st = cf_dataset_keep_classes(d, keep, s->train.k, lim, err);
    free(keep);
    return st;
}

static cf_status load_train(cf_session *s, int c, int h, int w, cf_error *err)
{
    const char *tp = cf_params_str(s->pd, "train");
    int lim = cf_params_int(s->pd, "limit_train");
    int subset = cf_params_list_len(s->pd, "classes") > 0, lim_all = lim;
    if (subset) lim = 0; /* the limit counts the kept images */
    if (*tp) CF_TRY(cf_session_open_data(s, tp, "train", "train_labels", lim, c, h, w, &s->train, err));
    else CF_TRY(cf_idx_load(cf_params_str(s->pd, "train_images"), cf_params_str(s->pd, "train_labels"), lim,
                            &s->train, err));
    if (subset) CF_TRY(cf_session_class_subset(s, &s->train, *tp ? tp : cf_params_str(s->pd, "train_images"), lim_all, err));
    s->c = s->train.c;
    s->h = s->train.h;
    s->w = s->train.w;
    s->k = s->train.k;
    const char *vp = cf_params_str(s->pd, "validation");
    if (*vp) { /* a validation set of its own: all of train trains */
        const char *vr = cf_params_str(s->pd, "validation_root");
        CF_TRY(open_rooted(s, vp, "test", "test_labels", 0, s->c, s->h, s->w, *vr ? vr : cf_params_str(s->pd, "root"),
                           &s->valid, err));
        CF_TRY(check_shape(s, &s->valid, "validation", vp, err));
        CF_TRY(match_subset(s, &s->valid, vp, 0, err));
        if (s->valid.k > s->k) s->k = s->valid.k;
        s->tr = malloc((size_t)s->train.n * sizeof *s->tr);
        s->va = malloc((size_t)s->valid.n * sizeof *s->va);
        if (!s->tr || !s->va) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        for (int i = 0; i < s->train.n; i++) s->tr[i] = i;
        for (int i = 0; i < s->valid.n; i++) s->va[i] = i;
        s->n_tr = s->train.n;
        s->n_va = s->valid.n;
    } else
        CF_TRY(cf_dataset_split(&s->train, cf_params_num(s->pd, "validation_split"), s->seed, &s->tr, &s->n_tr,
                                &s->va, &s->n_va, err));
    int nf = cf_params_list_len(s->pd, "class_fraction");
    if (nf > 0) { /* the training split only: validation and test keep every class's share */
        double frac[256];
        if (nf > 256) return cf_error_set(err, CF_ERR_INVALID, "data.class_fraction: more than 256 entries");
        for (int c = 0; c < nf; c++) frac[c] = cf_params_list_num(s->pd, "class_fraction", c);
        CF_TRY(cf_dataset_class_fraction(&s->train, s->tr, &s->n_tr, frac, nf, s->seed, err));
    }
    if (s->n_tr == 0) return cf_error_set(err, CF_ERR_INVALID, "data: the training split is empty");
    const char *where = *tp ? tp : cf_params_str(s->pd, "train_labels");
    int ek = cf_params_int(s->pd, "expect_classes"), en = cf_params_int(s->pd, "expect_training_samples");
    if (ek && ek != s->k)
        return cf_error_set(err, CF_ERR_INVALID, "data: num_classes is %d but %s has %d classes", ek, where, s->k);
    long total = s->train.n + s->train.n_skipped;
    if (en && en != total)
        return cf_error_set(err, CF_ERR_INVALID, "data: num_training_samples is %d but %s holds %ld images", en,
                            *tp ? tp : cf_params_str(s->pd, "train_images"), total);
    return CF_OK;
}

/* The test set: data.test, else a CIFAR directory's test part, else (no
 * data.train) the IDX keys; with data.train elsewhere and no test: none. */
static cf_status load_test(cf_session *s, int need_train, int c, int h, int w, cf_error *err)
{
    const char *tp = cf_params_str(s->pd, "test"), *trp = cf_params_str(s->pd, "train");
    int lim = cf_params_int(s->pd, "limit_test"), lim_all = lim;
    if (need_train) c = s->c, h = s->h, w = s->w;
    int subset = cf_params_list_len(s->pd, "classes") > 0;
    if (subset) lim = 0; /* data.classes: the limit counts the kept images */
    if (*tp) CF_TRY(cf_session_open_data(s, tp, "test", "test_labels", lim, c, h, w, &s->test, err));
    else if (*trp && is_cifar_dir(s, trp)) CF_TRY(cf_session_open_data(s, trp, "test", "test_labels", lim, c, h, w, &s->test, err));
    else if (*trp) return CF_OK;
    else CF_TRY(cf_idx_load(cf_params_str(s->pd, "test_images"), cf_params_str(s->pd, "test_labels"), lim, &s->test, err));
    if (need_train) CF_TRY(match_subset(s, &s->test, *tp ? tp : trp, lim_all, err));
    else if (subset) /* eval of a model trained on a subset: the same classes of the test data */
        CF_TRY(cf_session_class_subset(s, &s->test, *tp ? tp : cf_params_str(s->pd, "test_images"), lim_all, err));
    if (!need_train) {
        s->c = s->test.c; s->h = s->test.h; s->w = s->test.w; s->k = s->test.k;
    } else if (s->test.h != s->h || s->test.w != s->w)
        return cf_error_set(err, CF_ERR_INVALID, "data: test images are %dx%d but training images %dx%d",
                            s->test.h, s->test.w, s->h, s->w);
    if (s->test.k > s->k) s->k = s->test.k;
    return CF_OK;
}

cf_status cf_dataset_match_classes(cf_dataset *d, const char *path, const char *const *names, int k, cf_error *err)
{
    if (!d->src || strcmp(d->src->v->name, "folder") || !d->class_names) return CF_OK;
    int *to = malloc((size_t)d->k * sizeof *to), same = d->k == k;
    if (!to) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    for (int c = 0; c < d->k; c++) {
        to[c] = -1;
        for (int j = 0; j < k && to[c] < 0; j++)
            if (names[j] && !strcmp(names[j], d->class_names[c])) to[c] = j;
        if (to[c] < 0) {
            free(to);
            return cf_error_set(err, CF_ERR_INVALID, "%s: class folder \"%s\" is not a class of the model", path,
                                d->class_names[c]);
        }
        same = same && to[c] == c;
    }
    if (!same) { /* a subset or another order: number by the model's classes */
        for (int i = 0; i < d->n; i++) d->y[i] = to[d->y[i]];
        for (int c = 0; c < d->k; c++) free(d->class_names[c]);
        free(d->class_names);
        d->class_names = cf_calloc((size_t)k, sizeof *d->class_names);
        d->k = d->class_names ? k : 0;
        int oom = !d->class_names;
        for (int c = 0; d->class_names && c < k; c++)
            oom |= !(d->class_names[c] = cf_strdup(names[c] ? names[c] : "?"));
        if (oom) {
            free(to);
            return cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
        }
    }
    free(to);
    return CF_OK;
}

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
    int c, h, w;
    CF_TRY(image_shape(s, &c, &h, &w, err));
    if (need_train) CF_TRY(load_train(s, c, h, w, err));
    if (need_test) CF_TRY(load_test(s, need_train, c, h, w, err));
    for (int ch = 0; ch < 4; ch++) { s->mean[ch] = 0; s->std[ch] = 1; }
    int nm = cf_params_list_len(s->pd, "mean"), ns = cf_params_list_len(s->pd, "std");
    if (nm || ns) {
        if (nm != s->c || ns != s->c)
            return cf_error_set(err, CF_ERR_INVALID, "data: mean/std need %d value(s) each", s->c);
        for (int ch = 0; ch < s->c; ch++) {
            s->mean[ch] = cf_params_list_num(s->pd, "mean", ch);
            s->std[ch] = cf_params_list_num(s->pd, "std", ch);
            if (!(s->std[ch] > 0)) return cf_error_set(err, CF_ERR_INVALID, "data: std must be > 0");
        }
    } else if (cf_params_bool(s->pd, "normalize") && need_train) {
        if (s->train.src) /* image formats: a sample of the training split, cached or not */
            CF_TRY(cf_dataset_stats_sample(&s->train, s->tr, s->n_tr, 5000, s->mean, s->std, err));
        else
            cf_dataset_stats(&s->train, s->tr, s->n_tr, s->mean, s->std); /* training split only */
    }
    int ncw = cf_params_list_len(s->pt, "class_weights");
    if (s->multi && ncw)
        return cf_error_set(err, CF_ERR_INVALID, "train.class_weights: with data.multi_label weight the classes "
                                                 "with train.pos_weight (or train.weighted_loss)");
    if (s->multi && cf_params_bool(s->pt, "weighted_loss") && need_train) {
        /* SageMaker's use_weighted_loss for multi-label: each class's positives
         * weighted by its negatives / positives (torch's pos_weight advice). */
        if (cf_params_list_len(s->pt, "pos_weight"))
            return cf_error_set(err, CF_ERR_INVALID, "train.weighted_loss and train.pos_weight: choose one");
        long *pos = cf_calloc((size_t)s->k, sizeof *pos);
        s->pos_w = malloc((size_t)s->k * sizeof *s->pos_w);
        if (!pos || !s->pos_w) {
            free(pos);
            return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < s->n_tr; i++)
            for (int c = 0; c < s->k; c++) pos[c] += s->train.multi[(size_t)s->tr[i] * s->k + c] != 0.0f;
        for (int c = 0; c < s->k; c++) s->pos_w[c] = pos[c] ? (float)((double)(s->n_tr - pos[c]) / (double)pos[c]) : 1.0f;
        free(pos);
    } else if (cf_params_bool(s->pt, "weighted_loss") && need_train) {
        /* Inverse class frequency, mean weight 1 over the training split: a
         * rare class counts as much as a common one. */
        if (ncw) return cf_error_set(err, CF_ERR_INVALID, "train.weighted_loss and train.class_weights: choose one");
        long *cnt = cf_calloc((size_t)s->k, sizeof *cnt);
        s->class_w = malloc((size_t)s->k * sizeof *s->class_w);
        if (!cnt || !s->class_w) {
            free(cnt);
            return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < s->n_tr; i++) cnt[s->train.y[s->tr[i]]]++;
        for (int c = 0; c < s->k; c++)
            s->class_w[c] = cnt[c] ? (float)((double)s->n_tr / ((double)s->k * (double)cnt[c])) : 0.0f;
        free(cnt);
    } else if (ncw) {
        if (ncw != s->k)
            return cf_error_set(err, CF_ERR_INVALID, "train.class_weights has %d values for %d classes", ncw, s->k);
        s->class_w = malloc((size_t)ncw * sizeof *s->class_w);
        for (int i = 0; i < ncw; i++) s->class_w[i] = (float)cf_params_list_num(s->pt, "class_weights", i);
    }
    return CF_OK;
}
