/* The session: one config turned into validated settings, data, plugins, a
 * model spec and a network on a backend — shared by train, eval, predict and
 * lr-find. Nothing here writes files except cf_session_save_model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "observe/metrics.h"
#include "train/schedule.h"
#include "train/sagemaker.h"
#include "train/session.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/"

const cf_param_def cf_root_params[] = {
    {"name", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "run name (default: the config file's base name)"},
    {"seed", CF_PT_INT, "42", 0, 2147483647.0, NULL, "seed for init, split, shuffle, augmentation, dropout"},
    {"backend", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: compute backend (see backend.*)"},
    {"data", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: dataset (see data.*)"},
    {"model", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: the network (see model.*)"},
    {"train", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: training loop (see train.*)"},
    {"optimizer", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: { plugin = \"sgd\"; ...its parameters }"},
    {"regularizers", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "list of { plugin = \"l2\"; ... }"},
    {"augmentations", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "list of { plugin = \"hflip\"; ... }"},
    {"augmentation_type", CF_PT_STRING, "", CF_PARAM_NO_RANGE, "|crop|crop_color|crop_color_transform",
     "SageMaker preset expanded into augmentations (see docs/plugins.md)"},
    {"plugin_path", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL, "extra directories searched for plugins"},
    {"output", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: where runs are written (see output.*)"},
    {"tune", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: hyperparameter search (clforge tune)"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_backend_params[] = {
    {"name", CF_PT_STRING, "auto", CF_PARAM_NO_RANGE, NULL,
     "reference, cpu, opencl, or auto (a GPU if present, else the fastest CPU backend)"},
    {"device", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "device: index, name substring, or gpu/cpu/accelerator (opencl)"},
    {"threads", CF_PT_INT, "0", 0, 1024, NULL, "compute threads (0 = backend default)"},
    {"verbose", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL, "log kernel compiles and cache use"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_data_params[] = {
    {"dataset", CF_PT_STRING, "fashion-mnist", CF_PARAM_NO_RANGE, "fashion-mnist|idx",
     "fashion-mnist (Debian's dataset-fashion-mnist) or idx (give the four paths)"},
    {"train_images", CF_PT_STRING, FMNIST "train-images-idx3-ubyte.gz", CF_PARAM_NO_RANGE, NULL, "IDX images (gzip ok)"},
    {"train_labels", CF_PT_STRING, FMNIST "train-labels-idx1-ubyte.gz", CF_PARAM_NO_RANGE, NULL, "IDX labels"},
    {"test_images", CF_PT_STRING, FMNIST "t10k-images-idx3-ubyte.gz", CF_PARAM_NO_RANGE, NULL, "IDX test images"},
    {"test_labels", CF_PT_STRING, FMNIST "t10k-labels-idx1-ubyte.gz", CF_PARAM_NO_RANGE, NULL, "IDX test labels"},
    {"validation_split", CF_PT_FLOAT, "0.1", 0, 0.9, NULL, "fraction of each class held out for validation"},
    {"limit_train", CF_PT_INT, "0", 0, 1e9, NULL, "use only the first N training images (0 = all)"},
    {"limit_test", CF_PT_INT, "0", 0, 1e9, NULL, "use only the first N test images (0 = all)"},
    {"normalize", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL,
     "standardise with per-channel mean/std of the training split"},
    {"mean", CF_PT_FLOAT_LIST, "", CF_PARAM_NO_RANGE, NULL, "fixed per-channel mean (set by clforge in saved models)"},
    {"std", CF_PT_FLOAT_LIST, "", CF_PARAM_NO_RANGE, NULL, "fixed per-channel std"},
    {"expect_classes", CF_PT_INT, "0", 0, 1e6, NULL,
     "if > 0, the data must have this many classes (SageMaker num_classes)"},
    {"expect_training_samples", CF_PT_INT, "0", 0, 1e9, NULL,
     "if > 0, the training file must hold this many images (SageMaker num_training_samples)"},
    {"class_names", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL,
     "class names (set by clforge in saved models; default: the dataset's)"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_train_params[] = {
    {"epochs", CF_PT_INT, "5", 1, 100000, NULL, "passes over the training split"},
    {"mini_batch_size", CF_PT_INT, "64", 1, 65536, NULL, "samples per update"},
    {"batch_mode", CF_PT_STRING, "mini-batch", CF_PARAM_NO_RANGE, "mini-batch|full-batch|per-sample",
     "full-batch: one update per epoch; per-sample: batch of 1"},
    {"eval_batch_size", CF_PT_INT, "256", 1, 65536, NULL, "batch size for validation/test"},
    {"loss", CF_PT_STRING, "cross_entropy", CF_PARAM_NO_RANGE, "cross_entropy|mse|hinge", "loss function"},
    {"label_smoothing", CF_PT_FLOAT, "0", 0, 0.999, NULL, "cross-entropy target smoothing"},
    {"class_weights", CF_PT_FLOAT_LIST, "", 0, 1e6, NULL, "per-class loss weights"},
    {"top_k", CF_PT_INT, "0", 0, 1000, NULL, "also report top-k accuracy (0 = off)"},
    {"checkpoint_frequency", CF_PT_INT, "0", 0, 100000, NULL, "save a checkpoint every N epochs (0 = best and last only)"},
    {"lr_schedule", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: learning-rate schedule (see train.lr_schedule.*)"},
    {"early_stopping", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: early stopping (see train.early_stopping.*)"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_early_stop_params[] = {
    {"enabled", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "stop when validation stops improving"},
    {"metric", CF_PT_STRING, "validation:accuracy", CF_PARAM_NO_RANGE,
     "validation:accuracy|validation:loss", "what must improve"},
    {"min_epochs", CF_PT_INT, "10", 1, 100000, NULL, "never stop before this epoch"},
    {"patience", CF_PT_INT, "5", 1, 100000, NULL, "epochs without improvement before stopping"},
    {"tolerance", CF_PT_FLOAT, "0", 0, 1, NULL, "relative gain below this is no improvement"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_output_params[] = {
    {"dir", CF_PT_STRING, "runs", CF_PARAM_NO_RANGE, NULL, "parent directory of run directories"},
    {"report", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "write report.html"},
    CF_PARAM_TABLE_END};

/* ---- the session ------------------------------------------------------------------ */
void cf_session_init(cf_session *s, const cf_train_opts *o, FILE *out)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    s->out = out ? out : stdout;
    s->warn = o->warn ? o->warn : stderr;
}

void cf_plugin_inst_free(cf_plugin_inst *pi, int kind)
{
    if (pi->state && pi->d) {
        if (kind == CF_PLUGIN_OPTIMIZER) ((const cf_optimizer_vtable *)pi->d->vtable)->destroy(pi->state);
        if (kind == CF_PLUGIN_REGULARIZER) ((const cf_regularizer_vtable *)pi->d->vtable)->destroy(pi->state);
        if (kind == CF_PLUGIN_AUGMENTATION) ((const cf_augmentation_vtable *)pi->d->vtable)->destroy(pi->state);
    }
    cf_params_free(pi->p);
    memset(pi, 0, sizeof *pi);
}

void cf_session_free(cf_session *s)
{
    cf_net_free(s->net);
    cf_backend_close(s->be);
    cf_plugin_inst_free(&s->opt, CF_PLUGIN_OPTIMIZER);
    for (int i = 0; i < s->n_regs; i++) cf_plugin_inst_free(&s->regs[i], CF_PLUGIN_REGULARIZER);
    for (int i = 0; i < s->n_augs; i++) cf_plugin_inst_free(&s->augs[i], CF_PLUGIN_AUGMENTATION);
    free(s->regs);
    free(s->augs);
    cf_model_spec_free(s->spec);
    cf_dataset_free(&s->train);
    cf_dataset_free(&s->test);
    free(s->tr);
    free(s->va);
    free(s->class_w);
    free(s->bx); free(s->bt); free(s->bw); free(s->bl); free(s->bp); free(s->bprob);
    free(s->aug_a); free(s->aug_b);
    cf_schedule_free(s->sched);
    cf_params_free(s->root); cf_params_free(s->pb); cf_params_free(s->pd); cf_params_free(s->pt);
    cf_params_free(s->pes); cf_params_free(s->pout); cf_params_free(s->psched);
    cf_registry_destroy(s->reg);
    if (s->cfg_loaded) cf_config_free(&s->cfg);
}

config_setting_t *cf_session_member(cf_session *s, const char *path)
{
    return config_lookup(&s->cfg.cfg, path);
}

cf_status cf_session_group(cf_session *s, const char *path, const cf_param_def *defs,
                              const char *skip, cf_params **out, cf_error *err)
{
    config_setting_t *g = cf_session_member(s, path);
    char where[1100];
    if (g && config_setting_type(g) != CONFIG_TYPE_GROUP)
        return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' must be a group { ... }",
                            cf_config_where(&s->cfg, g, where, sizeof where), path);
    return cf_params_from_setting(defs, g, skip, path, s->warn, out, err);
}

/* Load the config, apply overrides, validate every top-level section. */
cf_status cf_session_config(cf_session *s, const char *path, cf_error *err)
{
    CF_TRY(cf_config_load(&s->cfg, path, err));
    s->cfg_loaded = 1;
    for (int i = 0; i < s->o->n_sets; i++) CF_TRY(cf_config_set(&s->cfg, s->o->sets[i], err));
    config_setting_t *root = config_root_setting(&s->cfg.cfg);
    CF_TRY(cf_params_from_setting(cf_root_params, root, NULL,
                                  "the config", s->warn, &s->root, err));
    CF_TRY(cf_session_group(s, "backend", cf_backend_params, NULL, &s->pb, err));
    CF_TRY(cf_session_group(s, "data", cf_data_params, NULL, &s->pd, err));
    CF_TRY(cf_session_group(s, "train", cf_train_params, "lr_schedule|early_stopping", &s->pt, err));
    CF_TRY(cf_session_group(s, "train.early_stopping", cf_early_stop_params, NULL, &s->pes, err));
    CF_TRY(cf_session_group(s, "train.lr_schedule", cf_schedule_params, NULL, &s->psched, err));
    CF_TRY(cf_session_group(s, "output", cf_output_params, NULL, &s->pout, err));
    s->seed = (uint64_t)cf_params_int(s->root, "seed");
    const char *nm = cf_params_str(s->root, "name");
    if (*nm) snprintf(s->name, sizeof s->name, "%s", nm);
    else {
        const char *b = strrchr(path, '/');
        snprintf(s->name, sizeof s->name, "%s", b ? b + 1 : path);
        char *dot = strrchr(s->name, '.');
        if (dot) *dot = '\0';
    }
    s->epochs = cf_params_int(s->pt, "epochs");
    s->batch = cf_params_int(s->pt, "mini_batch_size");
    s->eval_batch = cf_params_int(s->pt, "eval_batch_size");
    s->top_k = cf_params_int(s->pt, "top_k");
    s->smoothing = (float)cf_params_num(s->pt, "label_smoothing");
    const char *loss = cf_params_str(s->pt, "loss");
    s->loss = !strcmp(loss, "mse") ? CF_LOSS_MSE : !strcmp(loss, "hinge") ? CF_LOSS_HINGE : CF_LOSS_XENT;
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

cf_status cf_session_plugin(cf_session *s, cf_plugin_kind kind, const config_setting_t *g,
                             cf_plugin_inst *pi, cf_error *err)
{
    char where[1100];
    cf_config_where(&s->cfg, g, where, sizeof where);
    const char *name = NULL;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP || !config_setting_lookup_string(g, "plugin", &name))
        return cf_error_set(err, CF_ERR_INVALID, "%s: expected a group with plugin = \"name\"", where);
    if (cf_registry_find(s->reg, kind, name, &pi->d, err)) return cf_error_prefix(err, "%s", where);
    return cf_plugin_params(pi->d, g, s->warn, &pi->p, err);
}

cf_status cf_session_plugins(cf_session *s, cf_error *err)
{
    /* plugin_path entries resolve relative to the current directory. */
    int np = cf_params_list_len(s->root, "plugin_path");
    const char **paths = cf_calloc((size_t)np + 1, sizeof *paths);
    for (int i = 0; i < np; i++) paths[i] = cf_params_list_str(s->root, "plugin_path", i);
    cf_status st = cf_registry_create(&s->reg, paths, np, err);
    free(paths);
    CF_TRY(st);
    config_setting_t *og = cf_session_member(s, "optimizer");
    if (!og) {
        CF_TRY(cf_config_set(&s->cfg, "optimizer.plugin=sgd", err));
        og = cf_session_member(s, "optimizer");
    }
    CF_TRY(cf_session_plugin(s, CF_PLUGIN_OPTIMIZER, og, &s->opt, err));
    const cf_optimizer_vtable *ov = s->opt.d->vtable;
    CF_TRY(ov->create(s->opt.p, &s->opt.state, err) ? cf_error_prefix(err, "optimizer %s", s->opt.d->name) : CF_OK);
    const char *preset = cf_params_str(s->root, "augmentation_type");
    if (preset && *preset) CF_TRY(cf_augmentation_preset(&s->cfg.cfg, preset, s->c, s->warn, err));
    static const struct { const char *key; cf_plugin_kind kind; } lists[2] = {
        {"regularizers", CF_PLUGIN_REGULARIZER}, {"augmentations", CF_PLUGIN_AUGMENTATION}};
    for (int li = 0; li < 2; li++) {
        config_setting_t *l = cf_session_member(s, lists[li].key);
        if (!l) continue;
        char where[1100];
        if (config_setting_type(l) != CONFIG_TYPE_LIST)
            return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' must be a list ( {...}, {...} )",
                                cf_config_where(&s->cfg, l, where, sizeof where), lists[li].key);
        int n = config_setting_length(l);
        cf_plugin_inst *arr = cf_calloc((size_t)n, sizeof *arr);
        if (li == 0) { s->regs = arr; s->n_regs = 0; } else { s->augs = arr; s->n_augs = 0; }
        for (int i = 0; i < n; i++) {
            cf_plugin_inst *pi = &arr[i];
            CF_TRY(cf_session_plugin(s, lists[li].kind, config_setting_get_elem(l, (unsigned)i), pi, err));
            if (li == 0) s->n_regs++; else s->n_augs++;
            cf_status cs = lists[li].kind == CF_PLUGIN_REGULARIZER
                               ? ((const cf_regularizer_vtable *)pi->d->vtable)->create(pi->p, &pi->state, err)
                               : ((const cf_augmentation_vtable *)pi->d->vtable)->create(pi->p, &pi->state, err);
            if (cs) return cf_error_prefix(err, "%s %s", cf_plugin_kind_name(lists[li].kind), pi->d->name);
        }
    }
    return CF_OK;
}

cf_status cf_session_model(cf_session *s, cf_error *err)
{
    config_setting_t *mg = cf_session_member(s, "model");
    if (!mg) return cf_error_set(err, CF_ERR_INVALID, "%s: no 'model' group", s->cfg.path);
    CF_TRY(cf_model_spec_from_config(&s->cfg, mg, s->k, s->warn, &s->spec, err));
    if (!s->spec->in_c) {
        s->spec->in_c = s->c;
        s->spec->in_h = s->h;
        s->spec->in_w = s->w;
    } else if (s->spec->in_c != s->c || s->spec->in_h != s->h || s->spec->in_w != s->w)
        return cf_error_set(err, CF_ERR_INVALID, "model.input [%d, %d, %d] does not match the data [%d, %d, %d]",
                            s->spec->in_c, s->spec->in_h, s->spec->in_w, s->c, s->h, s->w);
    for (int i = 0; i < s->n_regs; i++) {
        const cf_regularizer_vtable *v = s->regs[i].d->vtable;
        if (v->rewrite_model && v->rewrite_model(s->regs[i].state, s->spec, err))
            return cf_error_prefix(err, "regularizer %s", s->regs[i].d->name);
    }
    /* Augmentations must keep the input shape (the model is fixed). */
    for (int i = 0; i < s->n_augs; i++) {
        const cf_augmentation_vtable *v = s->augs[i].d->vtable;
        int oc = s->c, oh = s->h, ow = s->w;
        if (v->out_shape) v->out_shape(s->augs[i].state, s->c, s->h, s->w, &oc, &oh, &ow);
        if (oc != s->c || oh != s->h || ow != s->w)
            return cf_error_set(err, CF_ERR_INVALID,
                                "augmentation %s changes the image shape to [%d, %d, %d]; training "
                                "augmentations must keep [%d, %d, %d]",
                                s->augs[i].d->name, oc, oh, ow, s->c, s->h, s->w);
    }
    return CF_OK;
}

cf_status cf_session_backend(cf_session *s, int max_batch, cf_error *err)
{
    cf_backend_config bc = {0};
    bc.device = cf_params_str(s->pb, "device");
    bc.threads = cf_params_int(s->pb, "threads");
    bc.verbose = cf_params_bool(s->pb, "verbose");
    const char *bn = cf_params_str(s->pb, "name");
    CF_TRY(cf_backend_open(s->reg, bn, &bc, &s->be, err));
    CF_TRY(cf_net_build(s->be, s->spec, max_batch, s->k, s->loss, &s->net, err));
    size_t px = (size_t)s->c * s->h * s->w;
    s->bx = malloc((size_t)max_batch * px * sizeof(float));
    s->bt = malloc((size_t)max_batch * s->k * sizeof(float));
    s->bw = malloc((size_t)max_batch * sizeof(float));
    s->bl = malloc((size_t)max_batch * sizeof(float));
    s->bp = malloc((size_t)max_batch * sizeof(float));
    s->bprob = malloc((size_t)max_batch * s->k * sizeof(float));
    s->aug_a = malloc(px * 4 * sizeof(float));
    s->aug_b = malloc(px * 4 * sizeof(float));
    if (!s->bx || !s->bt || !s->bw || !s->bl || !s->bp || !s->bprob || !s->aug_a || !s->aug_b)
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory for batch buffers");
    return CF_OK;
}

/* Assemble a batch: (augment) → normalise; targets (smoothed), weights. */
cf_status cf_session_batch_into(cf_session *s, const cf_dataset *d, const int *idx, int n,
                                int augment, uint64_t epoch, cf_batch *bt, cf_error *err)
{
    size_t px = (size_t)s->c * s->h * s->w, plane = (size_t)s->h * s->w;
    float off = s->smoothing / (float)s->k, on = 1.0f - s->smoothing + off;
    for (int i = 0; i < n; i++) {
        int si = idx[i];
        const float *src = d->x + (size_t)si * px;
        if (augment && s->n_augs) {
            memcpy(bt->aug_a, src, px * sizeof(float));
            cf_image a = {bt->aug_a, s->c, s->h, s->w}, b = {bt->aug_b, s->c, s->h, s->w};
            for (int k = 0; k < s->n_augs; k++) {
                cf_rng r = cf_rng_make(s->seed, CF_RNG_AUGMENT, epoch, ((uint64_t)si << 4) | (uint64_t)k);
                const cf_augmentation_vtable *v = s->augs[k].d->vtable;
                b.c = s->c; b.h = s->h; b.w = s->w;
                if (v->apply(s->augs[k].state, &a, &b, &r, err))
                    return cf_error_prefix(err, "augmentation %s (sample %d)", s->augs[k].d->name, si);
                cf_image t = a; a = b; b = t;
            }
            src = a.data;
        }
        float *dst = bt->x + (size_t)i * px;
        for (int c = 0; c < s->c; c++) {
            float m = (float)s->mean[c], is = (float)(1.0 / s->std[c]);
            for (size_t j = 0; j < plane; j++) dst[c * plane + j] = (src[c * plane + j] - m) * is;
        }
        int y = d->y[si];
        float *t = bt->t + (size_t)i * s->k;
        for (int k = 0; k < s->k; k++) t[k] = k == y ? on : off;
        bt->w[i] = s->class_w ? s->class_w[y] : 1.0f;
    }
    return CF_OK;
}

cf_status cf_session_batch(cf_session *s, const cf_dataset *d, const int *idx, int n, int augment,
                           uint64_t epoch, cf_error *err)
{
    cf_batch b = {s->bx, s->bt, s->bw, s->aug_a, s->aug_b};
    return cf_session_batch_into(s, d, idx, n, augment, epoch, &b, err);
}

cf_status cf_batch_alloc(const cf_session *s, int max_batch, cf_batch *b, cf_error *err)
{
    size_t px = (size_t)s->c * s->h * s->w;
    b->x = malloc((size_t)max_batch * px * sizeof(float));
    b->t = malloc((size_t)max_batch * s->k * sizeof(float));
    b->w = malloc((size_t)max_batch * sizeof(float));
    /* Augmentations may pass through larger intermediate images. */
    b->aug_a = malloc(px * 4 * sizeof(float));
    b->aug_b = malloc(px * 4 * sizeof(float));
    if (!b->x || !b->t || !b->w || !b->aug_a || !b->aug_b) {
        cf_batch_free(b);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory for batch buffers (%d samples)", max_batch);
    }
    return CF_OK;
}

void cf_batch_free(cf_batch *b)
{
    free(b->x);
    free(b->t);
    free(b->w);
    free(b->aug_a);
    free(b->aug_b);
    memset(b, 0, sizeof *b);
}



cf_status cf_session_evaluate(cf_session *s, const cf_dataset *d, const int *idx, int n, cf_confusion *conf,
                          cf_eval_result *r, cf_error *err)
{
    double lsum = 0, wsum = 0, fwd = 0, fwd_all = 0;
    long correct = 0, topk = 0, fwd_n = 0;
    int *all = NULL;
    cf_net_params_changed(s->net); /* whoever wrote them, evaluate today's weights */
    if (!idx) {
        all = malloc((size_t)n * sizeof *all);
        if (!all) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        for (int i = 0; i < n; i++) all[i] = i;
        idx = all;
    }
    cf_status st = CF_OK;
    for (int b0 = 0; b0 < n && !st; b0 += s->eval_batch) {
        int m = n - b0 < s->eval_batch ? n - b0 : s->eval_batch;
        if ((st = cf_session_batch(s, d, idx + b0, m, 0, 0, err))) break;
        double t0 = cf_now();
        if ((st = cf_net_run(s->net, s->bx, s->bt, s->bw, m, 0, s->seed, 0, s->bl, s->bp,
                             s->top_k ? s->bprob : NULL, err)))
            break;
        double dt = cf_now() - t0;
        fwd_all += dt;
        if (b0 > 0 && m == s->eval_batch) {
            fwd += dt;
            fwd_n += m;
        }
        for (int i = 0; i < m; i++) {
            int y = d->y[idx[b0 + i]], p = (int)s->bp[i];
            lsum += s->bl[i];
            wsum += s->bw[i];
            correct += p == y;
            if (conf) cf_confusion_add(conf, y, p);
            if (s->top_k) topk += cf_topk_hit(s->bprob + (size_t)i * s->k, s->k, y, s->top_k);
        }
    }
    free(all);
    if (st) return st;
    r->n = n;
    r->loss = wsum > 0 ? lsum / wsum : 0;
    r->acc = n ? (double)correct / n : 0;
    r->topk = n ? (double)topk / n : 0;
    r->forward_s = fwd_n ? fwd : fwd_all; /* too few batches: all of them */
    r->forward_n = fwd_n ? fwd_n : n;
    return CF_OK;
}

cf_status cf_session_step(cf_session *s, long step, double lr, int batch, cf_error *err)
{
    cf_compute cx = cf_backend_compute(s->be);
    cf_optim_step os;
    cf_net_optim_step(s->net, &os, &cx, step, lr);
    for (int i = 0; i < s->n_regs; i++) {
        const cf_regularizer_vtable *v = s->regs[i].d->vtable;
        if (v->apply_grads && v->apply_grads(s->regs[i].state, &os, batch, err))
            return cf_error_prefix(err, "regularizer %s", s->regs[i].d->name);
    }
    const cf_optimizer_vtable *ov = s->opt.d->vtable;
    if (ov->step(s->opt.state, &os, err)) return cf_error_prefix(err, "optimizer %s", s->opt.d->name);
    return CF_OK;
}

/* ---- outputs -------------------------------------------------------------------- */
cf_status cf_session_save_model(cf_session *s, const char *path, cf_error *err)
{
    /* Store the resolved config with the normalisation used, so eval/predict
     * rebuild exactly this model. */
    char buf[256];
    cf_sbuf m = {0}, sd = {0};
    for (int c = 0; c < s->c; c++) {
        cf_sbuf_printf(&m, "%s%.9g", c ? "," : "", s->mean[c]);
        cf_sbuf_printf(&sd, "%s%.9g", c ? "," : "", s->std[c]);
    }
    snprintf(buf, sizeof buf, "data.mean=[%s]", m.s);
    cf_status st = cf_config_set(&s->cfg, buf, err);
    snprintf(buf, sizeof buf, "data.std=[%s]", sd.s);
    if (!st) st = cf_config_set(&s->cfg, buf, err);
    snprintf(buf, sizeof buf, "model.input=[%d,%d,%d]", s->c, s->h, s->w);
    if (!st) st = cf_config_set(&s->cfg, buf, err);
    cf_dataset *names = s->train.class_names ? &s->train : &s->test;
    if (!st && names->class_names) {
        config_setting_t *d = cf_session_member(s, "data");
        config_setting_t *old = config_setting_get_member(d, "class_names");
        if (old) config_setting_remove(d, "class_names");
        config_setting_t *a = config_setting_add(d, "class_names", CONFIG_TYPE_ARRAY);
        for (int c = 0; a && c < names->k; c++)
            config_setting_set_string(config_setting_add(a, NULL, CONFIG_TYPE_STRING), names->class_names[c]);
    }
    cf_sbuf_free(&m);
    cf_sbuf_free(&sd);
    CF_TRY(st);
    int n = cf_net_n_params(s->net);
    cf_blob bl = {0};
    bl.text = cf_config_to_string(&s->cfg);
    bl.t = cf_calloc((size_t)n, sizeof *bl.t);
    if (!bl.text || !bl.t) {
        cf_blob_free(&bl);
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory saving model");
    }
    for (int i = 0; i < n && !st; i++) {
        cf_net_param *p = cf_net_param_at(s->net, i);
        cf_blob_tensor *t = &bl.t[bl.n++];
        snprintf(t->name, sizeof t->name, "%s", p->name);
        t->ndim = p->value.ndim;
        memcpy(t->shape, p->value.shape, sizeof t->shape);
        t->data = malloc(cf_tensor_numel(&p->value) * sizeof(float));
        if (!t->data) st = cf_error_set(err, CF_ERR_NOMEM, "out of memory saving model");
        else st = cf_tensor_download(s->be, &p->value, t->data, err);
    }
    if (!st) st = cf_blob_write(path, &bl, err);
    cf_blob_free(&bl);
    return st;
}

cf_status cf_session_load_weights(cf_session *s, const cf_blob *bl, const char *path, cf_error *err)
{
    int n = cf_net_n_params(s->net);
    cf_net_params_changed(s->net);
    for (int i = 0; i < n; i++) {
        cf_net_param *p = cf_net_param_at(s->net, i);
        const cf_blob_tensor *t = cf_blob_find(bl, p->name);
        if (!t) return cf_error_set(err, CF_ERR_IO, "%s: tensor '%s' missing", path, p->name);
        if (t->ndim != p->value.ndim || memcmp(t->shape, p->value.shape, (size_t)t->ndim * sizeof(int)))
            return cf_error_set(err, CF_ERR_IO, "%s: tensor '%s' has the wrong shape", path, p->name);
        CF_TRY(cf_tensor_upload(s->be, &p->value, t->data, err));
    }
    return CF_OK;
}

cf_status cf_session_open_model(cf_session *s, const char *model_path, const char *backend,
                                int threads, int max_batch, cf_error *err)
{
    cf_blob bl;
    CF_TRY(cf_blob_read(model_path, &bl, err));
    cf_status st;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/clforge-model-%d.cfg", (int)getpid());
    if ((st = cf_write_file_atomic(tmp, bl.text, strlen(bl.text), err))) goto out;
    FILE *quiet = fopen("/dev/null", "w"), *warn = s->warn;
    s->warn = quiet ? quiet : warn;
    st = cf_session_config(s, tmp, err);
    unlink(tmp);
    s->warn = warn;
    if (quiet) fclose(quiet);
    if (st) {
        cf_error_prefix(err, "%s: embedded config", model_path);
        goto out;
    }
    snprintf(s->cfg.path, sizeof s->cfg.path, "%s", model_path);
    if (backend || threads > 0) {
        if (backend) {
            if ((st = cf_config_set(&s->cfg, "backend.name=x", err))) goto out;
            config_setting_set_string(config_lookup(&s->cfg.cfg, "backend.name"), backend);
        }
        char set[64];
        snprintf(set, sizeof set, "backend.threads=%d", threads);
        if (threads > 0 && (st = cf_config_set(&s->cfg, set, err))) goto out;
        cf_params_free(s->pb);
        s->pb = NULL;
        if ((st = cf_session_group(s, "backend", cf_backend_params, NULL, &s->pb, err))) goto out;
    }
    int nin = cf_params_list_len(s->pd, "mean");
    config_setting_t *in = config_lookup(&s->cfg.cfg, "model.input");
    if (!in || config_setting_length(in) != 3 || nin < 1) {
        st = cf_error_set(err, CF_ERR_IO, "%s: model file lacks input shape or normalisation", model_path);
        goto out;
    }
    s->c = config_setting_get_int_elem(in, 0);
    s->h = config_setting_get_int_elem(in, 1);
    s->w = config_setting_get_int_elem(in, 2);
    for (int c = 0; c < s->c && c < 4; c++) {
        s->mean[c] = cf_params_list_num(s->pd, "mean", c);
        s->std[c] = cf_params_list_num(s->pd, "std", c);
    }
    s->k = cf_params_list_len(s->pd, "class_names");
    if (s->k <= 0) {
        st = cf_error_set(err, CF_ERR_IO, "%s: model file lacks class names", model_path);
        goto out;
    }
    /* Regularizers that rewrote the model (dropout, batchnorm) must do it again. */
    if ((st = cf_session_plugins(s, err))) goto out;
    if ((st = cf_session_model(s, err))) goto out;
    if ((st = cf_session_backend(s, max_batch, err))) goto out;
    st = cf_session_load_weights(s, &bl, model_path, err);
out:
    cf_blob_free(&bl);
    return st;
}

const char *cf_session_class_name(const cf_session *s, int c)
{
    const char *n = cf_params_list_str(s->pd, "class_names", c);
    if (n) return n;
    if (s->test.class_names && c < s->test.k) return s->test.class_names[c];
    if (s->train.class_names && c < s->train.k) return s->train.class_names[c];
    return "?";
}
