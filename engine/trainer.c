/* The training session. Everything the config asks for is validated before
 * the run directory exists, so a bad config leaves nothing behind; a run that
 * fails later says so in summary.json ("status": "failed"). */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"
#include "diagnosis.h"
#include "early_stop.h"
#include "metrics.h"
#include "report.h"
#include "schedule.h"
#include "trainer.h"

#define FMNIST "/usr/share/datasets/fashion-mnist/"

const cf_param_def cf_root_params[] = {
    {"name", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "run name (default: the config file's base name)"},
    {"seed", CF_PT_INT, "42", 0, 2147483647.0, NULL, "seed for init, split, shuffle, augmentation, dropout"},
    {"backend", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "group: compute backend (see backend.*)"},
    {"data", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "group: dataset (see data.*)"},
    {"model", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "group: the network (see model.*)"},
    {"train", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "group: training loop (see train.*)"},
    {"optimizer", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "group: { plugin = \"sgd\"; ...its parameters }"},
    {"regularizers", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "list of { plugin = \"l2\"; ... }"},
    {"augmentations", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "list of { plugin = \"hflip\"; ... }"},
    {"plugin_path", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL, "extra directories searched for plugins"},
    {"output", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "group: where runs are written (see output.*)"},
    {"tune", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "group: hyperparameter search (clforge tune)"},
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
    {"lr_schedule", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "group: learning-rate schedule (see train.lr_schedule.*)"},
    {"early_stopping", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "group: early stopping (see train.early_stopping.*)"},
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
typedef struct plugin_inst {
    const cf_plugin_desc *d;
    cf_params *p;
    void *state;
} plugin_inst;

typedef struct session {
    const cf_train_opts *o;
    cf_config cfg;
    int cfg_loaded;
    FILE *warn, *out;
    cf_params *root, *pb, *pd, *pt, *pes, *pout, *psched;
    cf_registry *reg;
    cf_backend *be;
    cf_dataset train, test;
    int *tr, n_tr, *va, n_va;
    int c, h, w, k;
    double mean[4], std[4];
    cf_model_spec *spec;
    cf_net *net;
    plugin_inst opt;
    plugin_inst *regs, *augs;
    int n_regs, n_augs;
    cf_loss_kind loss;
    float smoothing;
    float *class_w;
    uint64_t seed;
    int batch, eval_batch, epochs, top_k;
    char name[256], run_dir[1024];
    float *bx, *bt, *bw, *bl, *bp, *bprob, *aug_a, *aug_b;
    cf_schedule *sched;
} session;

static void plugin_inst_free(plugin_inst *pi, int kind)
{
    if (pi->state && pi->d) {
        if (kind == CF_PLUGIN_OPTIMIZER) ((const cf_optimizer_vtable *)pi->d->vtable)->destroy(pi->state);
        if (kind == CF_PLUGIN_REGULARIZER) ((const cf_regularizer_vtable *)pi->d->vtable)->destroy(pi->state);
        if (kind == CF_PLUGIN_AUGMENTATION) ((const cf_augmentation_vtable *)pi->d->vtable)->destroy(pi->state);
    }
    cf_params_free(pi->p);
    memset(pi, 0, sizeof *pi);
}

static void session_free(session *s)
{
    cf_net_free(s->net);
    cf_backend_close(s->be);
    plugin_inst_free(&s->opt, CF_PLUGIN_OPTIMIZER);
    for (int i = 0; i < s->n_regs; i++) plugin_inst_free(&s->regs[i], CF_PLUGIN_REGULARIZER);
    for (int i = 0; i < s->n_augs; i++) plugin_inst_free(&s->augs[i], CF_PLUGIN_AUGMENTATION);
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

static config_setting_t *member(session *s, const char *path)
{
    return config_lookup(&s->cfg.cfg, path);
}

static cf_status group_params(session *s, const char *path, const cf_param_def *defs,
                              const char *skip, cf_params **out, cf_error *err)
{
    config_setting_t *g = member(s, path);
    char where[1100];
    if (g && config_setting_type(g) != CONFIG_TYPE_GROUP)
        return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' must be a group { ... }",
                            cf_config_where(&s->cfg, g, where, sizeof where), path);
    return cf_params_from_setting(defs, g, skip, path, s->warn, out, err);
}

/* Load the config, apply overrides, validate every top-level section. */
static cf_status setup_config(session *s, const char *path, cf_error *err)
{
    CF_TRY(cf_config_load(&s->cfg, path, err));
    s->cfg_loaded = 1;
    for (int i = 0; i < s->o->n_sets; i++) CF_TRY(cf_config_set(&s->cfg, s->o->sets[i], err));
    config_setting_t *root = config_root_setting(&s->cfg.cfg);
    CF_TRY(cf_params_from_setting(cf_root_params, root,
                                  "backend|data|model|train|optimizer|regularizers|augmentations|output|tune",
                                  "the config", s->warn, &s->root, err));
    CF_TRY(group_params(s, "backend", cf_backend_params, NULL, &s->pb, err));
    CF_TRY(group_params(s, "data", cf_data_params, NULL, &s->pd, err));
    CF_TRY(group_params(s, "train", cf_train_params, "lr_schedule|early_stopping", &s->pt, err));
    CF_TRY(group_params(s, "train.early_stopping", cf_early_stop_params, NULL, &s->pes, err));
    CF_TRY(group_params(s, "train.lr_schedule", cf_schedule_params, NULL, &s->psched, err));
    CF_TRY(group_params(s, "output", cf_output_params, NULL, &s->pout, err));
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

static cf_status setup_data(session *s, int need_train, int need_test, cf_error *err)
{
    const char *ds = cf_params_str(s->pd, "dataset");
    (void)ds;
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

static cf_status find_plugin(session *s, cf_plugin_kind kind, const config_setting_t *g,
                             plugin_inst *pi, cf_error *err)
{
    char where[1100];
    cf_config_where(&s->cfg, g, where, sizeof where);
    const char *name = NULL;
    if (config_setting_type(g) != CONFIG_TYPE_GROUP || !config_setting_lookup_string(g, "plugin", &name))
        return cf_error_set(err, CF_ERR_INVALID, "%s: expected a group with plugin = \"name\"", where);
    if (cf_registry_find(s->reg, kind, name, &pi->d, err)) return cf_error_prefix(err, "%s", where);
    return cf_plugin_params(pi->d, &s->cfg, g, s->warn, &pi->p, err);
}

static cf_status setup_plugins(session *s, cf_error *err)
{
    /* plugin_path entries resolve relative to the current directory. */
    int np = cf_params_list_len(s->root, "plugin_path");
    const char **paths = cf_calloc((size_t)np + 1, sizeof *paths);
    for (int i = 0; i < np; i++) paths[i] = cf_params_list_str(s->root, "plugin_path", i);
    cf_status st = cf_registry_create(&s->reg, paths, np, err);
    free(paths);
    CF_TRY(st);
    config_setting_t *og = member(s, "optimizer");
    if (!og) {
        CF_TRY(cf_config_set(&s->cfg, "optimizer.plugin=sgd", err));
        og = member(s, "optimizer");
    }
    CF_TRY(find_plugin(s, CF_PLUGIN_OPTIMIZER, og, &s->opt, err));
    const cf_optimizer_vtable *ov = s->opt.d->vtable;
    CF_TRY(ov->create(s->opt.p, &s->opt.state, err) ? cf_error_prefix(err, "optimizer %s", s->opt.d->name) : CF_OK);
    static const struct { const char *key; cf_plugin_kind kind; } lists[2] = {
        {"regularizers", CF_PLUGIN_REGULARIZER}, {"augmentations", CF_PLUGIN_AUGMENTATION}};
    for (int li = 0; li < 2; li++) {
        config_setting_t *l = member(s, lists[li].key);
        if (!l) continue;
        char where[1100];
        if (config_setting_type(l) != CONFIG_TYPE_LIST)
            return cf_error_set(err, CF_ERR_INVALID, "%s: '%s' must be a list ( {...}, {...} )",
                                cf_config_where(&s->cfg, l, where, sizeof where), lists[li].key);
        int n = config_setting_length(l);
        plugin_inst *arr = cf_calloc((size_t)n, sizeof *arr);
        if (li == 0) { s->regs = arr; s->n_regs = 0; } else { s->augs = arr; s->n_augs = 0; }
        for (int i = 0; i < n; i++) {
            plugin_inst *pi = &arr[i];
            CF_TRY(find_plugin(s, lists[li].kind, config_setting_get_elem(l, (unsigned)i), pi, err));
            if (li == 0) s->n_regs++; else s->n_augs++;
            cf_status cs = lists[li].kind == CF_PLUGIN_REGULARIZER
                               ? ((const cf_regularizer_vtable *)pi->d->vtable)->create(pi->p, &pi->state, err)
                               : ((const cf_augmentation_vtable *)pi->d->vtable)->create(pi->p, &pi->state, err);
            if (cs) return cf_error_prefix(err, "%s %s", cf_plugin_kind_name(lists[li].kind), pi->d->name);
        }
    }
    return CF_OK;
}

static cf_status setup_model(session *s, cf_error *err)
{
    config_setting_t *mg = member(s, "model");
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

static cf_status setup_backend(session *s, int max_batch, cf_error *err)
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
static cf_status fill_batch(session *s, const cf_dataset *d, const int *idx, int n, int augment,
                            uint64_t epoch, cf_error *err)
{
    size_t px = (size_t)s->c * s->h * s->w, plane = (size_t)s->h * s->w;
    float off = s->smoothing / (float)s->k, on = 1.0f - s->smoothing + off;
    for (int i = 0; i < n; i++) {
        int si = idx[i];
        const float *src = d->x + (size_t)si * px;
        if (augment && s->n_augs) {
            memcpy(s->aug_a, src, px * sizeof(float));
            cf_image a = {s->aug_a, s->c, s->h, s->w}, b = {s->aug_b, s->c, s->h, s->w};
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
        float *dst = s->bx + (size_t)i * px;
        for (int c = 0; c < s->c; c++) {
            float m = (float)s->mean[c], is = (float)(1.0 / s->std[c]);
            for (size_t j = 0; j < plane; j++) dst[c * plane + j] = (src[c * plane + j] - m) * is;
        }
        int y = d->y[si];
        float *t = s->bt + (size_t)i * s->k;
        for (int k = 0; k < s->k; k++) t[k] = k == y ? on : off;
        s->bw[i] = s->class_w ? s->class_w[y] : 1.0f;
    }
    return CF_OK;
}

typedef struct eval_result {
    double loss, acc, topk;
    long n;
} eval_result;

static cf_status evaluate(session *s, const cf_dataset *d, const int *idx, int n, cf_confusion *conf,
                          eval_result *r, cf_error *err)
{
    double lsum = 0, wsum = 0;
    long correct = 0, topk = 0;
    int *all = NULL;
    if (!idx) {
        all = malloc((size_t)n * sizeof *all);
        if (!all) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        for (int i = 0; i < n; i++) all[i] = i;
        idx = all;
    }
    cf_status st = CF_OK;
    for (int b0 = 0; b0 < n && !st; b0 += s->eval_batch) {
        int m = n - b0 < s->eval_batch ? n - b0 : s->eval_batch;
        if ((st = fill_batch(s, d, idx + b0, m, 0, 0, err))) break;
        if ((st = cf_net_run(s->net, s->bx, s->bt, s->bw, m, 0, s->seed, 0, s->bl, s->bp,
                             s->top_k ? s->bprob : NULL, err)))
            break;
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
    return CF_OK;
}

static cf_status optimizer_step(session *s, long step, double lr, int batch, cf_error *err)
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
static cf_status save_model(session *s, const char *path, cf_error *err)
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

static cf_status load_weights(session *s, const cf_blob *bl, const char *path, cf_error *err)
{
    int n = cf_net_n_params(s->net);
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

static void env_json(cf_sbuf *b, session *s)
{
    struct utsname u;
    uname(&u);
    cf_sbuf_printf(b, "{\"host\":");
    cf_json_str(b, u.nodename);
    cf_sbuf_printf(b, ",\"os\":");
    char os[300];
    snprintf(os, sizeof os, "%s %s %s", u.sysname, u.release, u.machine);
    cf_json_str(b, os);
    cf_sbuf_printf(b, ",\"cpus\":%ld,\"backend\":", sysconf(_SC_NPROCESSORS_ONLN));
    cf_json_str(b, s->be ? s->be->name : "");
    cf_sbuf_printf(b, ",\"device\":");
    cf_json_str(b, s->be ? s->be->info.name : "");
    cf_sbuf_printf(b, ",\"device_version\":");
    cf_json_str(b, s->be ? s->be->info.version : "");
    cf_sbuf_printf(b, ",\"optimizer\":");
    cf_json_str(b, s->opt.d ? s->opt.d->name : "");
    cf_sbuf_printf(b, ",\"clforge\":\"%s\"}", PACKAGE_VERSION);
}

static void class_fields(cf_sbuf *b, const cf_class_metrics *m)
{
    cf_sbuf_printf(b, "\"precision\":");
    cf_json_num(b, m->precision);
    cf_sbuf_printf(b, ",\"recall\":");
    cf_json_num(b, m->recall);
    cf_sbuf_printf(b, ",\"f1\":");
    cf_json_num(b, m->f1);
    cf_sbuf_printf(b, ",\"specificity\":");
    cf_json_num(b, m->specificity);
    cf_sbuf_printf(b, ",\"support\":%ld", m->support);
}

static void class_json(cf_sbuf *b, const char *key, const cf_class_metrics *m)
{
    cf_sbuf_printf(b, "\"%s\":{", key);
    class_fields(b, m);
    cf_sbuf_printf(b, "}");
}

typedef struct run_state {
    const char *status, *message;
    double wall;
    int epochs_run, best_epoch;
    eval_result tr, va, te;
    int have_test;
    cf_confusion conf;
    char diag_code[64], diag_text[1024];
    long step;
} run_state;

static cf_status write_summary(session *s, run_state *rs, cf_error *err)
{
    cf_sbuf b = {0};
    cf_sbuf_printf(&b, "{\"name\":");
    cf_json_str(&b, s->name);
    cf_sbuf_printf(&b, ",\"status\":");
    cf_json_str(&b, rs->status);
    if (rs->message) {
        cf_sbuf_printf(&b, ",\"message\":");
        cf_json_str(&b, rs->message);
    }
    cf_sbuf_printf(&b, ",\"backend\":");
    cf_json_str(&b, s->be ? s->be->name : "");
    cf_sbuf_printf(&b, ",\"device\":");
    cf_json_str(&b, s->be ? s->be->info.name : "");
    cf_sbuf_printf(&b, ",\"version\":\"%s\",\"seed\":%llu,\"wall_seconds\":", PACKAGE_VERSION,
                   (unsigned long long)s->seed);
    cf_json_num(&b, rs->wall);
    cf_sbuf_printf(&b, ",\"epochs_run\":%d,\"best_epoch\":%d,\"steps\":%ld,\"parameters\":%ld",
                   rs->epochs_run, rs->best_epoch, rs->step, s->net ? cf_net_param_count(s->net) : 0L);
    cf_sbuf_printf(&b, ",\"train\":{\"loss\":");
    cf_json_num(&b, rs->tr.loss);
    cf_sbuf_printf(&b, ",\"accuracy\":");
    cf_json_num(&b, rs->tr.acc);
    cf_sbuf_printf(&b, ",\"samples\":%d},\"validation\":{\"loss\":", s->n_tr);
    cf_json_num(&b, rs->va.loss);
    cf_sbuf_printf(&b, ",\"accuracy\":");
    cf_json_num(&b, rs->va.acc);
    cf_sbuf_printf(&b, ",\"samples\":%d}", s->n_va);
    if (rs->have_test) {
        cf_metrics_report mr;
        cf_error e2;
        cf_sbuf_printf(&b, ",\"test\":{\"loss\":");
        cf_json_num(&b, rs->te.loss);
        cf_sbuf_printf(&b, ",\"accuracy\":");
        cf_json_num(&b, rs->te.acc);
        if (s->top_k) {
            cf_sbuf_printf(&b, ",\"top%d\":", s->top_k);
            cf_json_num(&b, rs->te.topk);
        }
        cf_sbuf_printf(&b, ",\"samples\":%ld,\"classes\":[", rs->te.n);
        for (int c = 0; c < s->k; c++) {
            if (c) cf_sbuf_printf(&b, ",");
            cf_json_str(&b, c < s->test.k ? s->test.class_names[c] : "?");
        }
        cf_sbuf_printf(&b, "],\"confusion\":[");
        for (int i = 0; i < s->k; i++) {
            cf_sbuf_printf(&b, "%s[", i ? "," : "");
            for (int j = 0; j < s->k; j++) cf_sbuf_printf(&b, "%s%ld", j ? "," : "", rs->conf.m[i * s->k + j]);
            cf_sbuf_printf(&b, "]");
        }
        cf_sbuf_printf(&b, "]");
        if (cf_metrics_compute(&rs->conf, &mr, &e2) == CF_OK) {
            cf_sbuf_printf(&b, ",\"per_class\":[");
            for (int c = 0; c < s->k; c++) {
                cf_sbuf_printf(&b, "%s{\"class\":", c ? "," : "");
                cf_json_str(&b, c < s->test.k ? s->test.class_names[c] : "?");
                cf_sbuf_printf(&b, ",");
                class_fields(&b, &mr.per_class[c]);
                cf_sbuf_printf(&b, "}");
            }
            cf_sbuf_printf(&b, "],");
            class_json(&b, "macro", &mr.macro);
            cf_sbuf_printf(&b, ",");
            class_json(&b, "micro", &mr.micro);
            cf_sbuf_printf(&b, ",");
            class_json(&b, "weighted", &mr.weighted);
            cf_metrics_report_free(&mr);
        }
        cf_sbuf_printf(&b, "}");
    }
    cf_sbuf_printf(&b, ",\"diagnosis\":{\"code\":");
    cf_json_str(&b, rs->diag_code);
    cf_sbuf_printf(&b, ",\"text\":");
    cf_json_str(&b, rs->diag_text);
    cf_sbuf_printf(&b, "},\"environment\":");
    env_json(&b, s);
    char *cfg_text = cf_config_to_string(&s->cfg);
    cf_sbuf_printf(&b, ",\"config\":");
    cf_json_str(&b, cfg_text);
    free(cfg_text);
    cf_sbuf_printf(&b, "}\n");
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", s->run_dir);
    cf_status st = b.s ? cf_write_file_atomic(path, b.s, b.len, err) : cf_error_set(err, CF_ERR_NOMEM, "oom");
    cf_sbuf_free(&b);
    return st;
}

/* ---- checkpoints ------------------------------------------------------------------ */
static cf_status save_checkpoint(session *s, const char *path, int epoch, long step,
                                 const cf_early_stop *es, cf_error *err)
{
    int np = cf_net_n_params(s->net), ns = cf_net_slots(s->net);
    cf_blob bl = {0};
    cf_sbuf meta = {0};
    double st[64];
    cf_sbuf_printf(&meta, "epoch=%d\nstep=%ld\n", epoch, step);
    int n = cf_schedule_state(s->sched, st, 64);
    cf_sbuf_printf(&meta, "schedule=");
    for (int i = 0; i < n; i++) cf_sbuf_printf(&meta, "%s%.17g", i ? "," : "", st[i]);
    n = cf_early_stop_state(es, st, 64);
    cf_sbuf_printf(&meta, "\nearly_stop=");
    for (int i = 0; i < n; i++) cf_sbuf_printf(&meta, "%s%.17g", i ? "," : "", st[i]);
    cf_sbuf_printf(&meta, "\n");
    bl.text = meta.s;
    bl.t = cf_calloc((size_t)np * (size_t)(1 + ns), sizeof *bl.t);
    cf_status rc = bl.t ? CF_OK : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < np && !rc; i++) {
        cf_net_param *p = cf_net_param_at(s->net, i);
        for (int k = -1; k < (p->trainable ? ns : 0) && !rc; k++) {
            cf_tensor *t = k < 0 ? &p->value : &p->slots[k];
            cf_blob_tensor *bt = &bl.t[bl.n++];
            if (k < 0) snprintf(bt->name, sizeof bt->name, "%s", p->name);
            else snprintf(bt->name, sizeof bt->name, "slot%d:%s", k, p->name);
            bt->ndim = t->ndim;
            memcpy(bt->shape, t->shape, sizeof bt->shape);
            bt->data = malloc(cf_tensor_numel(t) * sizeof(float));
            rc = bt->data ? cf_tensor_download(s->be, t, bt->data, err)
                          : cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        }
    }
    if (!rc) rc = cf_blob_write(path, &bl, err);
    cf_blob_free(&bl);
    return rc;
}

static int parse_doubles(const char *text, const char *key, double *out, int cap)
{
    const char *p = strstr(text, key);
    if (!p) return 0;
    p += strlen(key);
    int n = 0;
    while (*p && *p != '\n' && n < cap) {
        char *end;
        out[n++] = strtod(p, &end);
        if (end == p) return n - 1;
        p = *end == ',' ? end + 1 : end;
    }
    return n;
}

static cf_status load_checkpoint(session *s, const char *path, int *epoch, long *step,
                                 cf_early_stop *es, cf_error *err)
{
    cf_blob bl;
    CF_TRY(cf_blob_read(path, &bl, err));
    cf_status rc = CF_OK;
    double st[64];
    const char *e = strstr(bl.text, "epoch="), *sp = strstr(bl.text, "step=");
    if (!e || !sp) {
        rc = cf_error_set(err, CF_ERR_IO, "%s: checkpoint metadata missing", path);
        goto out;
    }
    *epoch = atoi(e + 6);
    *step = atol(sp + 5);
    int n = parse_doubles(bl.text, "schedule=", st, 64);
    if ((rc = cf_schedule_restore(s->sched, st, n, err))) goto out;
    n = parse_doubles(bl.text, "early_stop=", st, 64);
    if ((rc = cf_early_stop_restore(es, st, n, err))) goto out;
    if ((rc = load_weights(s, &bl, path, err))) goto out;
    for (int i = 0; i < cf_net_n_params(s->net) && !rc; i++) {
        cf_net_param *p = cf_net_param_at(s->net, i);
        for (int k = 0; p->trainable && k < cf_net_slots(s->net) && !rc; k++) {
            char nm[128];
            snprintf(nm, sizeof nm, "slot%d:%s", k, p->name);
            const cf_blob_tensor *t = cf_blob_find(&bl, nm);
            if (!t || cf_tensor_numel(&p->slots[k]) != (size_t)t->shape[0] * (t->ndim > 1 ? (size_t)t->shape[1] : 1) * (t->ndim > 2 ? (size_t)t->shape[2] : 1) * (t->ndim > 3 ? (size_t)t->shape[3] : 1))
                rc = cf_error_set(err, CF_ERR_IO, "%s: optimizer state '%s' missing or mis-shaped (different optimizer?)", path, nm);
            else
                rc = cf_tensor_upload(s->be, &p->slots[k], t->data, err);
        }
    }
out:
    cf_blob_free(&bl);
    return rc;
}

/* ---- the run ---------------------------------------------------------------------- */
static cf_status make_run_dir(session *s, cf_error *err)
{
    if (s->o->run_dir) {
        snprintf(s->run_dir, sizeof s->run_dir, "%s", s->o->run_dir);
        return cf_mkdir_p(s->run_dir, err);
    }
    const char *parent = cf_params_str(s->pout, "dir");
    for (int k = 1; k < 10000; k++) {
        if (k == 1) snprintf(s->run_dir, sizeof s->run_dir, "%s/%s", parent, s->name);
        else snprintf(s->run_dir, sizeof s->run_dir, "%s/%s-%d", parent, s->name, k);
        if (!cf_file_exists(s->run_dir)) return cf_mkdir_p(s->run_dir, err);
    }
    return cf_error_set(err, CF_ERR_IO, "%s: too many runs named %s", parent, s->name);
}

static void append_file(const char *dir, const char *name, const char *line)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "a");
    if (!f) return;
    fputs(line, f);
    fflush(f);
    fsync(fileno(f));
    fclose(f);
}

static void progress(session *s, int epoch, int b, int nb, double loss, double ips, double eta)
{
    if (s->o->quiet || s->o->json || !isatty(fileno(s->out))) return;
    int width = 24, done = nb ? b * width / nb : 0;
    char bar[32];
    for (int i = 0; i < width; i++) bar[i] = i < done ? '=' : (i == done ? '>' : ' ');
    bar[width] = '\0';
    fprintf(s->out, "\repoch %d/%d [%s] %d/%d  loss %.4f  %.0f img/s  ETA %.0fs   ", epoch,
            s->epochs, bar, b, nb, loss, ips, eta);
    fflush(s->out);
}

cf_status cf_train_run(const cf_train_opts *o, cf_error *err)
{
    session s;
    memset(&s, 0, sizeof s);
    s.o = o;
    s.out = o->out ? o->out : stdout;
    s.warn = o->warn ? o->warn : stderr;
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.status = "failed";
    cf_early_stop es;
    int resume_epoch = 0;
    int dir_made = 0;
    double t_start = cf_now();
    cf_status st;
    /* 1. Everything that can be wrong with the config is found here, before
     *    any file is written. */
    const char *cfg_path = o->config_path;
    char resume_cfg[1200];
    int resuming = o->run_dir && !cfg_path;
    if (resuming) {
        snprintf(resume_cfg, sizeof resume_cfg, "%s/config.cfg", o->run_dir);
        cfg_path = resume_cfg;
    }
    if ((st = setup_config(&s, cfg_path, err))) goto done;
    const char *bm = cf_params_str(s.pt, "batch_mode");
    if ((st = setup_data(&s, 1, !o->no_test, err))) goto done;
    if (!strcmp(bm, "full-batch")) s.batch = s.n_tr;
    else if (!strcmp(bm, "per-sample")) s.batch = 1;
    if ((st = setup_plugins(&s, err))) goto done;
    if ((st = setup_model(&s, err))) goto done;
    int max_batch = s.batch > s.eval_batch ? s.batch : s.eval_batch;
    if ((st = setup_backend(&s, max_batch, err))) goto done;
    if ((st = cf_net_init_params(s.net, s.seed, err))) goto done;
    const cf_optimizer_vtable *ov = s.opt.d->vtable;
    if ((st = cf_net_alloc_slots(s.net, ov->n_slots(s.opt.state), err))) goto done;
    double base_lr = cf_params_num(s.opt.p, "learning_rate");
    if (!(base_lr == base_lr)) base_lr = 0.01; /* optimizer without a rate parameter */
    if ((st = cf_schedule_create(s.psched, base_lr, s.epochs, &s.sched, err))) goto done;
    int es_on = member(&s, "train.early_stopping") && cf_params_bool(s.pes, "enabled");
    int es_max = !strcmp(cf_params_str(s.pes, "metric"), "validation:accuracy");
    cf_early_stop_init(&es, es_on ? cf_params_int(s.pes, "min_epochs") : 1 << 30,
                       cf_params_int(s.pes, "patience"), cf_params_num(s.pes, "tolerance"), es_max);
    if (es_on && s.n_va == 0) {
        st = cf_error_set(err, CF_ERR_INVALID, "train.early_stopping needs a validation split (data.validation_split > 0)");
        goto done;
    }
    /* 2. The run directory. */
    if (resuming) {
        snprintf(s.run_dir, sizeof s.run_dir, "%s", o->run_dir);
        char ck[1300];
        snprintf(ck, sizeof ck, "%s/checkpoints/last.ckpt", s.run_dir);
        if ((st = load_checkpoint(&s, ck, &resume_epoch, &rs.step, &es, err))) goto done;
        dir_made = 1;
        /* metrics.jsonl may hold epochs after the checkpoint (killed between
         * the two writes): keep only the first resume_epoch lines. */
        char mp[1300], *txt;
        size_t len;
        snprintf(mp, sizeof mp, "%s/metrics.jsonl", s.run_dir);
        if (cf_read_file(mp, &txt, &len, NULL) == CF_OK) {
            char *p = txt;
            for (int i = 0; i < resume_epoch && p; i++) {
                p = strchr(p, '\n');
                if (p) p++;
            }
            cf_write_file_atomic(mp, txt, p ? (size_t)(p - txt) : len, NULL);
            free(txt);
        }
    } else {
        if ((st = make_run_dir(&s, err))) goto done;
        dir_made = 1;
        char *txt = cf_config_to_string(&s.cfg), path[1300];
        snprintf(path, sizeof path, "%s/config.cfg", s.run_dir);
        st = cf_write_file_atomic(path, txt, strlen(txt), err);
        free(txt);
        if (st) goto done;
        snprintf(path, sizeof path, "%s/metrics.jsonl", s.run_dir);
        cf_write_file_atomic(path, "", 0, NULL);
        snprintf(path, sizeof path, "%s/metrics.csv", s.run_dir);
        const char *hdr = "epoch,lr,train_loss,train_accuracy,validation_loss,validation_accuracy,seconds,images_per_sec\n";
        cf_write_file_atomic(path, hdr, strlen(hdr), NULL);
    }
    char ckdir[1300];
    snprintf(ckdir, sizeof ckdir, "%s/checkpoints", s.run_dir);
    if ((st = cf_mkdir_p(ckdir, err))) goto done;
    if (o->json) {
        cf_sbuf b = {0};
        cf_sbuf_printf(&b, "{\"event\":\"start\",\"name\":");
        cf_json_str(&b, s.name);
        cf_sbuf_printf(&b, ",\"run_dir\":");
        cf_json_str(&b, s.run_dir);
        cf_sbuf_printf(&b, ",\"backend\":");
        cf_json_str(&b, s.be->name);
        cf_sbuf_printf(&b, ",\"train_samples\":%d,\"validation_samples\":%d,\"parameters\":%ld,\"epochs\":%d}\n",
                       s.n_tr, s.n_va, cf_net_param_count(s.net), s.epochs);
        fputs(b.s, s.out);
        fflush(s.out);
        cf_sbuf_free(&b);
    } else if (!o->quiet) {
        fprintf(s.out, "clforge %s: run %s on backend %s (%s); %d train / %d validation samples; %ld parameters\n",
                PACKAGE_VERSION, s.run_dir, s.be->name, s.be->info.name, s.n_tr, s.n_va, cf_net_param_count(s.net));
        if (resuming) fprintf(s.out, "resuming after epoch %d (step %ld)\n", resume_epoch, rs.step);
        fflush(s.out);
    }
    /* 3. Epochs. */
    int *order = malloc((size_t)s.n_tr * sizeof *order);
    cf_epoch_record *hist = cf_calloc((size_t)s.epochs + 1, sizeof *hist);
    if (!order || !hist) {
        free(order);
        free(hist);
        st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* History for the diagnosis comes from metrics.jsonl when resuming. */
    int nh = 0;
    rs.epochs_run = resume_epoch;
    for (int epoch = resume_epoch + 1; epoch <= s.epochs && !st; epoch++) {
        double t0 = cf_now(), lsum = 0, wsum = 0, lr = cf_schedule_lr(s.sched, epoch - 1, 0);
        long correct = 0, seen = 0;
        memcpy(order, s.tr, (size_t)s.n_tr * sizeof *order);
        cf_shuffle(order, s.n_tr, s.seed, (uint64_t)epoch);
        int nb = (s.n_tr + s.batch - 1) / s.batch;
        double last_prog = 0;
        for (int b = 0; b < nb && !st; b++) {
            int m = s.n_tr - b * s.batch < s.batch ? s.n_tr - b * s.batch : s.batch;
            lr = cf_schedule_lr(s.sched, epoch - 1, (double)b / nb);
            if ((st = fill_batch(&s, &s.train, order + (size_t)b * s.batch, m, 1, (uint64_t)epoch, err))) break;
            rs.step++;
            if ((st = cf_net_run(s.net, s.bx, s.bt, s.bw, m, 1, s.seed, (uint64_t)rs.step, s.bl, s.bp, NULL, err))) break;
            double bl = 0;
            for (int i = 0; i < m; i++) {
                bl += s.bl[i];
                wsum += s.bw[i];
                correct += (int)s.bp[i] == s.train.y[order[(size_t)b * s.batch + i]];
            }
            if (!isfinite(bl)) {
                st = cf_error_set(err, CF_ERR_NUMERIC,
                                  "epoch %d, batch %d: the loss is %s (learning rate %g); lower "
                                  "optimizer.learning_rate or check the data",
                                  epoch, b + 1, isnan(bl) ? "NaN" : "infinite", lr);
                break;
            }
            lsum += bl;
            seen += m;
            if ((st = optimizer_step(&s, rs.step, lr, m, err))) break;
            double now = cf_now();
            if (now - last_prog > 0.25 || b == nb - 1) {
                double ips = seen / (now - t0);
                progress(&s, epoch, b + 1, nb, lsum / (wsum > 0 ? wsum : 1), ips, (s.n_tr - seen) / (ips > 0 ? ips : 1));
                last_prog = now;
            }
            if (o->stop && *o->stop) {
                st = cf_error_set(err, CF_ERR_INTERRUPTED, "interrupted in epoch %d", epoch);
                break;
            }
        }
        if (st) break;
        double t_train = cf_now() - t0;
        eval_result tr = {lsum / (wsum > 0 ? wsum : 1), (double)correct / (seen ? seen : 1), 0, seen}, va = {0};
        if (s.n_va && (st = evaluate(&s, &s.train, s.va, s.n_va, NULL, &va, err))) break;
        double secs = cf_now() - t0;
        rs.tr = tr;
        rs.va = va;
        rs.epochs_run = epoch;
        cf_epoch_record *hr = &hist[nh++];
        *hr = (cf_epoch_record){epoch, lr, tr.loss, tr.acc, va.loss, va.acc, secs};
        /* metrics.jsonl holds only values that a seeded run reproduces exactly. */
        cf_sbuf line = {0};
        cf_sbuf_printf(&line, "{\"epoch\":%d,\"lr\":", epoch);
        cf_json_num(&line, lr);
        cf_sbuf_printf(&line, ",\"train_loss\":");
        cf_json_num(&line, tr.loss);
        cf_sbuf_printf(&line, ",\"train_accuracy\":");
        cf_json_num(&line, tr.acc);
        if (s.n_va) {
            cf_sbuf_printf(&line, ",\"validation_loss\":");
            cf_json_num(&line, va.loss);
            cf_sbuf_printf(&line, ",\"validation_accuracy\":");
            cf_json_num(&line, va.acc);
            if (s.top_k) {
                cf_sbuf_printf(&line, ",\"validation_top%d\":", s.top_k);
                cf_json_num(&line, va.topk);
            }
        }
        cf_sbuf_printf(&line, "}\n");
        append_file(s.run_dir, "metrics.jsonl", line.s);
        char csv[512];
        snprintf(csv, sizeof csv, "%d,%.8g,%.8g,%.8g,%.8g,%.8g,%.3f,%.1f\n", epoch, lr, tr.loss, tr.acc,
                 va.loss, va.acc, secs, seen / t_train);
        append_file(s.run_dir, "metrics.csv", csv);
        if (o->json) {
            line.s[line.len - 2] = '\0'; /* drop "}\n" and extend */
            fprintf(s.out, "{\"event\":\"epoch\",%s,\"seconds\":%.3f,\"images_per_sec\":%.1f}\n",
                    line.s + 1, secs, seen / t_train);
            fflush(s.out);
        } else if (!o->quiet) {
            if (isatty(fileno(s.out))) fprintf(s.out, "\r%*s\r", 100, "");
            fprintf(s.out, "epoch %d/%d  train loss %.4f acc %.4f", epoch, s.epochs, tr.loss, tr.acc);
            if (s.n_va) fprintf(s.out, "  val loss %.4f acc %.4f", va.loss, va.acc);
            fprintf(s.out, "  lr %.3g  %.1fs  %.0f img/s\n", lr, secs, seen / t_train);
            fflush(s.out);
        }
        if (o->sagemaker_log) {
            fprintf(s.out, "Epoch[%d] Train-accuracy=%f\nEpoch[%d] Validation-accuracy=%f\nEpoch[%d] Time cost=%.3f\n",
                    epoch - 1, tr.acc, epoch - 1, va.acc, epoch - 1, secs);
            fflush(s.out);
        }
        line.len = 0;
        cf_sbuf_free(&line);
        cf_schedule_observe(s.sched, epoch - 1, s.n_va ? va.loss : tr.loss);
        int stop = cf_early_stop_update(&es, epoch, s.n_va ? (es_max ? va.acc : va.loss) : (es_max ? tr.acc : tr.loss));
        char ck[1400];
        if (es.is_best) {
            snprintf(ck, sizeof ck, "%s/best.ckpt", ckdir);
            if ((st = save_checkpoint(&s, ck, epoch, rs.step, &es, err))) break;
        }
        int freq = cf_params_int(s.pt, "checkpoint_frequency");
        if (freq && epoch % freq == 0) {
            snprintf(ck, sizeof ck, "%s/epoch-%d.ckpt", ckdir, epoch);
            if ((st = save_checkpoint(&s, ck, epoch, rs.step, &es, err))) break;
        }
        snprintf(ck, sizeof ck, "%s/last.ckpt", ckdir);
        if ((st = save_checkpoint(&s, ck, epoch, rs.step, &es, err))) break;
        /* Test hook: die as abruptly as a SIGKILL'ed run would (tests/test_resume.sh). */
        const char *kill_at = getenv("CLFORGE_TEST_KILL_AFTER_EPOCH");
        if (kill_at && atoi(kill_at) == epoch) raise(SIGKILL);
        if (es_on && stop) {
            char why[256];
            cf_early_stop_reason(&es, why, sizeof why);
            if (!o->quiet && !o->json) fprintf(s.out, "early stopping: %s\n", why);
            break;
        }
    }
    free(order);
    rs.best_epoch = es.best_epoch;
    if (!st && nh)
        cf_diagnose(hist, nh, rs.diag_text, sizeof rs.diag_text, rs.diag_code, sizeof rs.diag_code);
    free(hist);
    if (st) goto done;
    /* Restore the best-validation weights when early stopping chose them. */
    if (es_on && es.best_epoch && es.best_epoch != rs.epochs_run) {
        char ck[1400];
        cf_blob bl;
        snprintf(ck, sizeof ck, "%s/best.ckpt", ckdir);
        if ((st = cf_blob_read(ck, &bl, err))) goto done;
        st = load_weights(&s, &bl, ck, err);
        cf_blob_free(&bl);
        if (st) goto done;
        if (!o->quiet && !o->json) fprintf(s.out, "restored the weights of epoch %d (best validation)\n", es.best_epoch);
    }
    /* 4. The test set, once, at the end. */
    if (!o->no_test) {
        if ((st = cf_confusion_init(&rs.conf, s.k, err))) goto done;
        if ((st = evaluate(&s, &s.test, NULL, s.test.n, &rs.conf, &rs.te, err))) goto done;
        rs.have_test = 1;
    }
    {
        char mp[1300];
        snprintf(mp, sizeof mp, "%s/model.clf", s.run_dir);
        if ((st = save_model(&s, mp, err))) goto done;
    }
    rs.status = "completed";
done:
    rs.wall = cf_now() - t_start;
    if (st == CF_ERR_INTERRUPTED) rs.status = "interrupted";
    if (st) rs.message = err->msg;
    if (dir_made) {
        cf_error e2;
        if (write_summary(&s, &rs, &e2) && !st) st = cf_error_set(err, e2.status, "%s", e2.msg);
        if (cf_params_bool(s.pout, "report") && cf_report_write(s.run_dir, &e2) && !o->quiet)
            fprintf(s.warn, "warning: report.html not written: %s\n", e2.msg);
    }
    if (!st && !o->quiet && !o->json) {
        if (rs.have_test) fprintf(s.out, "test accuracy %.4f (loss %.4f, %ld images)\n", rs.te.acc, rs.te.loss, rs.te.n);
        if (rs.diag_text[0]) fprintf(s.out, "diagnosis: %s\n", rs.diag_text);
        fprintf(s.out, "wrote %s (summary.json, metrics.jsonl, model.clf, report.html)\n", s.run_dir);
    }
    if (o->json) {
        cf_sbuf b = {0};
        cf_sbuf_printf(&b, "{\"event\":\"end\",\"status\":");
        cf_json_str(&b, st ? (st == CF_ERR_INTERRUPTED ? "interrupted" : "error") : "ok");
        if (st) {
            cf_sbuf_printf(&b, ",\"message\":");
            cf_json_str(&b, err->msg);
        }
        cf_sbuf_printf(&b, ",\"run_dir\":");
        cf_json_str(&b, s.run_dir);
        cf_sbuf_printf(&b, ",\"epochs_run\":%d,\"validation_accuracy\":", rs.epochs_run);
        cf_json_num(&b, rs.va.acc);
        cf_sbuf_printf(&b, ",\"validation_loss\":");
        cf_json_num(&b, rs.va.loss);
        if (rs.have_test) {
            cf_sbuf_printf(&b, ",\"test_accuracy\":");
            cf_json_num(&b, rs.te.acc);
        }
        cf_sbuf_printf(&b, ",\"wall_seconds\":%.3f}\n", rs.wall);
        fputs(b.s, s.out);
        fflush(s.out);
        cf_sbuf_free(&b);
    }
    if (rs.conf.m) cf_confusion_free(&rs.conf);
    session_free(&s);
    return st;
}

/* ---- eval and model printing ------------------------------------------------------ */
cf_status cf_eval_model(const char *model_path, const char *images, const char *labels,
                        const char *backend, int json, FILE *out, cf_error *err)
{
    cf_blob bl;
    CF_TRY(cf_blob_read(model_path, &bl, err));
    session s;
    memset(&s, 0, sizeof s);
    cf_train_opts o = {0};
    s.o = &o;
    s.out = out;
    s.warn = stderr;
    cf_status st;
    run_state rs;
    memset(&rs, 0, sizeof rs);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/clforge-model-%d.cfg", (int)getpid());
    if ((st = cf_write_file_atomic(tmp, bl.text, strlen(bl.text), err))) goto out;
    s.warn = fopen("/dev/null", "w");
    st = setup_config(&s, tmp, err);
    unlink(tmp);
    fclose(s.warn);
    s.warn = stderr;
    if (st) goto out;
    if (images && (st = cf_config_set(&s.cfg, "data.test_images=x", err))) goto out;
    if (images) {
        config_setting_set_string(config_lookup(&s.cfg.cfg, "data.test_images"), images);
        if (!config_lookup(&s.cfg.cfg, "data.test_labels") && (st = cf_config_set(&s.cfg, "data.test_labels=x", err))) goto out;
        config_setting_set_string(config_lookup(&s.cfg.cfg, "data.test_labels"), labels ? labels : "");
        cf_params_free(s.pd);
        s.pd = NULL;
        if ((st = group_params(&s, "data", cf_data_params, NULL, &s.pd, err))) goto out;
    }
    if (backend && (st = cf_config_set(&s.cfg, "backend.name=x", err))) goto out;
    if (backend) {
        config_setting_set_string(config_lookup(&s.cfg.cfg, "backend.name"), backend);
        cf_params_free(s.pb);
        s.pb = NULL;
        if ((st = group_params(&s, "backend", cf_backend_params, NULL, &s.pb, err))) goto out;
    }
    if ((st = setup_data(&s, 0, 1, err))) goto out;
    /* The model's class count is that of its last layer (a test subset may lack classes). */
    if ((st = cf_registry_create(&s.reg, NULL, 0, err))) goto out;
    config_setting_t *og = member(&s, "optimizer");
    (void)og;
    {
        const char *pp[16];
        int np = cf_params_list_len(s.root, "plugin_path");
        for (int i = 0; i < np && i < 16; i++) pp[i] = cf_params_list_str(s.root, "plugin_path", i);
        cf_registry_destroy(s.reg);
        if ((st = cf_registry_create(&s.reg, pp, np < 16 ? np : 16, err))) goto out;
    }
    const cf_blob_tensor *lastw = NULL;
    for (int i = 0; i < bl.n; i++)
        if (strstr(bl.t[i].name, ".weight")) lastw = &bl.t[i];
    if (lastw && lastw->ndim == 2) s.k = lastw->shape[0];
    config_setting_t *rl = member(&s, "regularizers");
    if (rl) { /* regularizers that rewrite the model must rewrite it again */
        int n = config_setting_length(rl);
        s.regs = cf_calloc((size_t)n, sizeof *s.regs);
        for (int i = 0; i < n; i++) {
            plugin_inst *pi = &s.regs[i];
            if ((st = find_plugin(&s, CF_PLUGIN_REGULARIZER, config_setting_get_elem(rl, (unsigned)i), pi, err))) goto out;
            s.n_regs++;
            if ((st = ((const cf_regularizer_vtable *)pi->d->vtable)->create(pi->p, &pi->state, err))) goto out;
        }
    }
    if ((st = setup_model(&s, err))) goto out;
    if ((st = setup_backend(&s, s.eval_batch, err))) goto out;
    if ((st = load_weights(&s, &bl, model_path, err))) goto out;
    if ((st = cf_confusion_init(&rs.conf, s.k, err))) goto out;
    if ((st = evaluate(&s, &s.test, NULL, s.test.n, &rs.conf, &rs.te, err))) goto out;
    cf_metrics_report mr;
    if ((st = cf_metrics_compute(&rs.conf, &mr, err))) goto out;
    if (json) {
        fprintf(out, "{\"accuracy\":%.6f,\"loss\":%.6f,\"samples\":%ld,\"macro_f1\":%.6f,\"per_class\":[", rs.te.acc,
                rs.te.loss, rs.te.n, mr.macro.f1);
        for (int c = 0; c < s.k; c++)
            fprintf(out, "%s{\"class\":\"%s\",\"precision\":%.6f,\"recall\":%.6f,\"f1\":%.6f,\"support\":%ld}",
                    c ? "," : "", c < s.test.k ? s.test.class_names[c] : "?", mr.per_class[c].precision,
                    mr.per_class[c].recall, mr.per_class[c].f1, mr.per_class[c].support);
        fprintf(out, "],\"confusion\":[");
        for (int i = 0; i < s.k; i++) {
            fprintf(out, "%s[", i ? "," : "");
            for (int j = 0; j < s.k; j++) fprintf(out, "%s%ld", j ? "," : "", rs.conf.m[i * s.k + j]);
            fprintf(out, "]");
        }
        fprintf(out, "]}\n");
    } else {
        fprintf(out, "test accuracy %.4f  loss %.4f  (%ld images, backend %s)\n\n", rs.te.acc, rs.te.loss,
                rs.te.n, s.be->name);
        fprintf(out, "%-14s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
        for (int c = 0; c < s.k; c++)
            fprintf(out, "%-14s %9.4f %9.4f %9.4f %8ld\n", c < s.test.k ? s.test.class_names[c] : "?",
                    mr.per_class[c].precision, mr.per_class[c].recall, mr.per_class[c].f1, mr.per_class[c].support);
        fprintf(out, "%-14s %9.4f %9.4f %9.4f %8ld\n", "macro avg", mr.macro.precision, mr.macro.recall, mr.macro.f1, mr.macro.support);
        fprintf(out, "%-14s %9.4f %9.4f %9.4f %8ld\n", "weighted avg", mr.weighted.precision, mr.weighted.recall, mr.weighted.f1, mr.weighted.support);
        fprintf(out, "\nconfusion matrix (rows = true class, columns = predicted):\n");
        for (int i = 0; i < s.k; i++) {
            fprintf(out, "%-14s", i < s.test.k ? s.test.class_names[i] : "?");
            for (int j = 0; j < s.k; j++) fprintf(out, " %5ld", rs.conf.m[i * s.k + j]);
            fprintf(out, "\n");
        }
    }
    cf_metrics_report_free(&mr);
out:
    if (rs.conf.m) cf_confusion_free(&rs.conf);
    cf_blob_free(&bl);
    session_free(&s);
    return st;
}

cf_status cf_print_model(const char *config_path, const char *const *sets, int n_sets, FILE *out,
                         cf_error *err)
{
    session s;
    memset(&s, 0, sizeof s);
    cf_train_opts o = {0};
    o.sets = sets;
    o.n_sets = n_sets;
    s.o = &o;
    s.out = out;
    s.warn = stderr;
    cf_status st = setup_config(&s, config_path, err);
    if (!st) {
        /* Shapes come from the data files' headers; fall back to 1x28x28x10. */
        s.c = 1; s.h = 28; s.w = 28; s.k = 10;
        cf_dataset d;
        if (cf_idx_load(cf_params_str(s.pd, "test_images"), cf_params_str(s.pd, "test_labels"), 1, &d, NULL) == CF_OK) {
            s.c = d.c; s.h = d.h; s.w = d.w;
            cf_dataset_free(&d);
        }
    }
    if (!st) st = setup_plugins(&s, err);
    if (!st) st = setup_model(&s, err);
    long np;
    if (!st) st = cf_model_summary(s.spec, out, &np, err);
    session_free(&s);
    return st;
}
