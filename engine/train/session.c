/* The session: one config turned into validated settings, a model spec and
 * a network on a backend — shared by train, eval, predict and lr-find. Data
 * (session_data.c), plugins (plugins.c), batches (data/batch.c), evaluation
 * (session_eval.c) and model files (model_io.c) live beside it. Nothing here
 * writes files. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/schema.h"
#include "dist/dist.h"
#include "train/sagemaker.h"
#include "data/reader.h"
#include "train/grad_clip.h"
#include "train/session.h"
#include "train/aug_chain.h"

void cf_session_init(cf_session *s, const cf_train_opts *o, FILE *out)
{
    memset(s, 0, sizeof *s);
    s->o = o;
    s->out = out ? out : stdout;
    s->warn = o->warn ? o->warn : stderr;
}

void cf_session_free(cf_session *s)
{
    cf_ema_free(&s->ema, s->be);
    if (s->clip_t.buf) cf_tensor_free(s->be, &s->clip_t);
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
    cf_dataset_free(&s->valid);
    if (s->item) cf_item_free(s->item);
    free(s->item);
    free(s->tr);
    free(s->va);
    free(s->class_w);
    free(s->pos_w);
    cf_ml_free(&s->ml);
    for (int c = 0; s->all_names && c < s->k_all; c++) free(s->all_names[c]);
    free(s->all_names);
    free(s->keep);
    free(s->bx); free(s->bt); free(s->bw); free(s->bl); free(s->bp); free(s->bprob);
    free(s->aug_a); free(s->aug_b);
    cf_schedule_free(s->sched);
    cf_params_free(s->root); cf_params_free(s->pb); cf_params_free(s->pd); cf_params_free(s->pt);
    cf_params_free(s->pes); cf_params_free(s->pout); cf_params_free(s->psched); cf_params_free(s->pema);
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

/* How many of o->sets lead with the SageMaker JSON's overrides (the trainer
 * puts them first), so that a refused key names the JSON file, not --set. */
static int json_prefix(const cf_train_opts *o)
{
    if (!o->hyperparameters) return 0;
    char **hp = NULL;
    int n = 0;
    cf_error e = {0};
    if (cf_sagemaker_overrides(o->hyperparameters, &hp, &n, &e)) return 0;
    int same = n <= o->n_sets;
    for (int i = 0; i < n; i++) {
        same = same && !strcmp(hp[i], o->sets[i]);
        free(hp[i]);
    }
    free(hp);
    return same ? n : 0;
}

/* Overrides, then the schema: unknown keys anywhere (file:line or --set) are
 * errors unless strict_keys = false or --allow-unknown; then every section's
 * values are validated. The registry is opened here because plugin groups
 * are checked against the chosen plugin's table. */
static cf_status settle(cf_session *s, const char *path, cf_error *err)
{
    if (s->o->hyperparameters) CF_TRY(cf_sagemaker_defaults(&s->cfg, s->o->hyperparameters, err));
    for (int i = 0; i < s->o->n_sets; i++) CF_TRY(cf_config_set(&s->cfg, s->o->sets[i], err));
    config_setting_t *root = config_root_setting(&s->cfg.cfg);
    CF_TRY(cf_params_from_setting(cf_root_params, root, NULL, "the config", s->warn, &s->root, err));
    if (!s->reg) {
        /* plugin_path entries resolve relative to the current directory. */
        int np = cf_params_list_len(s->root, "plugin_path");
        const char **paths = cf_calloc((size_t)np + 1, sizeof *paths);
        for (int i = 0; i < np; i++) paths[i] = cf_params_list_str(s->root, "plugin_path", i);
        cf_status st = cf_registry_create(&s->reg, paths, np, err);
        free(paths);
        CF_TRY(st);
        const char *sh = cf_registry_shadowed(s->reg);
        if (*sh && s->warn) fprintf(s->warn, "note: %s", sh); /* one line per hidden plugin */
    }
    cf_schema_opts so = {s->reg, cf_params_bool(s->root, "strict_keys") && !s->o->allow_unknown && !s->lenient_keys,
                         s->warn, s->o->sets, s->o->n_sets, s->o->hyperparameters,
                         json_prefix(s->o)};
    s->cfg.lenient = !so.strict;
    CF_TRY(cf_schema_check_config(&s->cfg, &so, err));
    CF_TRY(cf_session_group(s, "backend", cf_backend_params, NULL, &s->pb, err));
    CF_TRY(cf_session_group(s, "data", cf_data_params, NULL, &s->pd, err));
    CF_TRY(cf_session_group(s, "train", cf_train_params, "lr_schedule|early_stopping|ema", &s->pt, err));
    CF_TRY(cf_session_group(s, "train.ema", cf_ema_params, NULL, &s->pema, err));
    CF_TRY(cf_session_group(s, "train.early_stopping", cf_early_stop_params, NULL, &s->pes, err));
    CF_TRY(cf_session_group(s, "train.lr_schedule", cf_schedule_params, NULL, &s->psched, err));
    CF_TRY(cf_session_group(s, "output", cf_output_params, NULL, &s->pout, err));
    s->seed = (uint64_t)cf_params_int(s->root, "seed");
    const char *nm = cf_params_str(s->root, "name");
    /* The name becomes output.dir/NAME: one plain path component, so a run
     * never writes outside output.dir. */
    if (*nm && (strchr(nm, '/') || !strcmp(nm, ".") || !strcmp(nm, "..") || strlen(nm) >= sizeof s->name)) {
        char where[1100];
        return cf_error_set(err, CF_ERR_INVALID,
                            "%s: name '%s' must be a plain name (no '/', not '.' or '..', under %zu characters): "
                            "the run directory is output.dir/NAME",
                            cf_config_where(&s->cfg, config_lookup(&s->cfg.cfg, "name"), where, sizeof where), nm,
                            sizeof s->name);
    }
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
    s->clip_norm = cf_params_num(s->pt, "clip_grad_norm");
    const char *loss = cf_params_str(s->pt, "loss");
    s->loss = !strcmp(loss, "mse") ? CF_LOSS_MSE : !strcmp(loss, "hinge") ? CF_LOSS_HINGE
            : !strcmp(loss, "bce") ? CF_LOSS_BCE : CF_LOSS_XENT;
    s->multi = cf_params_bool(s->pd, "multi_label");
    s->threshold = (float)cf_params_num(s->pt, "threshold");
    if (s->multi) { /* sets of labels: a softmax would make them compete */
        if (cf_params_is_set(s->pt, "loss") && s->loss != CF_LOSS_BCE)
            return cf_error_set(err, CF_ERR_INVALID, "%s: data.multi_label needs train.loss = \"bce\" (not \"%s\")",
                                s->cfg.path, loss);
        s->loss = CF_LOSS_BCE;
        if (s->smoothing > 0)
            return cf_error_set(err, CF_ERR_INVALID, "%s: train.label_smoothing smooths one-hot targets; it does not "
                                "apply to data.multi_label", s->cfg.path);
    }
    return CF_OK;
}

cf_status cf_session_config(cf_session *s, const char *path, cf_error *err)
{
    CF_TRY(cf_config_load(&s->cfg, path, err));
    s->cfg_loaded = 1;
    return settle(s, path, err);
}

cf_status cf_session_config_text(cf_session *s, const char *text, const char *name, cf_error *err)
{
    CF_TRY(cf_config_load_string(&s->cfg, text, name, err));
    s->cfg_loaded = 1;
    return settle(s, name, err);
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
    /* The chain must end at the model's input (it may change the shape on the way). */
    return cf_aug_chain_check(s, err);
}

cf_status cf_session_backend(cf_session *s, int max_batch, cf_error *err)
{
    cf_backend_config bc = {0};
    char dev[256]; /* "0,1,2,3": one device per rank on the node (docs/distributed.md) */
    bc.device = cf_dist_device(cf_params_str(s->pb, "device"), dev, sizeof dev);
    bc.threads = cf_params_int(s->pb, "threads");
    bc.verbose = cf_params_bool(s->pb, "verbose");
    const char *bn = cf_params_str(s->pb, "name");
    CF_TRY(cf_backend_open_group(s->reg, bn, &bc, cf_session_member(s, "backend"), cf_backend_params,
                                 s->warn, &s->be, err));
    CF_TRY(cf_net_build(s->be, s->spec, max_batch, s->k, s->loss, &s->net, err));
    int npw = cf_params_list_len(s->pt, "pos_weight");
    if (npw && s->loss != CF_LOSS_BCE)
        return cf_error_set(err, CF_ERR_INVALID, "train.pos_weight needs train.loss = \"bce\" (or data.multi_label)");
    if (npw && !s->pos_w) {
        if (npw != s->k)
            return cf_error_set(err, CF_ERR_INVALID, "train.pos_weight has %d values for %d classes", npw, s->k);
        if (!(s->pos_w = malloc((size_t)npw * sizeof *s->pos_w))) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        for (int i = 0; i < npw; i++) s->pos_w[i] = (float)cf_params_list_num(s->pt, "pos_weight", i);
    }
    if (s->pos_w && s->loss == CF_LOSS_BCE) CF_TRY(cf_net_set_pos_weight(s->net, s->pos_w, err));
    if (s->multi) CF_TRY(cf_ml_init(&s->ml, s->k, err));
    size_t px = (size_t)s->c * s->h * s->w;
    s->bx = malloc((size_t)max_batch * px * sizeof(float));
    s->bt = malloc((size_t)max_batch * s->k * sizeof(float));
    s->bw = malloc((size_t)max_batch * sizeof(float));
    s->bl = malloc((size_t)max_batch * sizeof(float));
    s->bp = malloc((size_t)max_batch * sizeof(float));
    s->bprob = malloc((size_t)max_batch * s->k * sizeof(float));
    size_t apx = s->aug_px ? s->aug_px : px * 4;
    s->aug_a = malloc(apx * sizeof(float));
    s->aug_b = malloc(apx * sizeof(float));
    if (!s->bx || !s->bt || !s->bw || !s->bl || !s->bp || !s->bprob || !s->aug_a || !s->aug_b)
        return cf_error_set(err, CF_ERR_NOMEM, "out of memory for batch buffers");
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
    /* after the regularizers' terms, before the optimizer: grad_clip.h */
    if (s->clip_norm > 0) {
        int one = 1;
        if (!s->clip_t.buf) CF_TRY(cf_tensor_alloc(s->be, &s->clip_t, 1, &one, "clip_grad_norm", err));
        CF_TRY(cf_clip_grad_norm(s->be, &os, s->clip_norm, &s->clip_t, &s->grad_norm, err));
    }
    /* train.lr_mult: one step call per group of equal multiplier (plugins
     * treat parameters independently, docs/plugins.md), so every optimizer
     * plugin, old or new, honours it. */
    const cf_optimizer_vtable *ov = s->opt.d->vtable;
    for (int g = 0; g < cf_net_optim_groups(s->net); g++) {
        cf_net_optim_group(s->net, g, &os, &cx, step, lr);
        if (ov->step(s->opt.state, &os, err)) return cf_error_prefix(err, "optimizer %s", s->opt.d->name);
    }
    return cf_ema_update(&s->ema, s->net, step, err);
}


const char *cf_session_class_name(const cf_session *s, int c)
{
    const char *n = cf_params_list_str(s->pd, "class_names", c);
    if (n) return n;
    if (s->test.class_names && c < s->test.k) return s->test.class_names[c];
    if (s->train.class_names && c < s->train.k) return s->train.class_names[c];
    return "?";
}
