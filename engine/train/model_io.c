/* Model files of a session: save the network with the resolved config (its
 * normalisation, input shape and class names set on the config tree), load
 * weights, and rebuild a saved model from the config embedded in it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/schema.h"
#include "train/session.h"

cf_status cf_session_save_model(cf_session *s, const char *path, cf_error *err)
{
    /* Store the resolved config with the normalisation used, so eval/predict
     * rebuild exactly this model. */
    double shape[3] = {s->c, s->h, s->w};
    cf_status st = cf_config_put_numbers(&s->cfg, "data", "mean", s->mean, s->c, err);
    if (!st) st = cf_config_put_numbers(&s->cfg, "data", "std", s->std, s->c, err);
    if (!st) st = cf_config_put_numbers(&s->cfg, "model", "input", shape, 3, err);
    cf_dataset *names = s->train.class_names ? &s->train : &s->test;
    if (!st && names->class_names) {
        config_setting_t *d = cf_session_member(s, "data");
        /* multi-label data numbers its classes: data.class_names names them
         * (copied first: the parsed list points into the setting replaced here) */
        char **nm = cf_calloc((size_t)names->k + 1, sizeof *nm);
        for (int c = 0; nm && c < names->k; c++)
            nm[c] = cf_strdup(s->multi ? cf_session_class_name(s, c) : names->class_names[c]);
        config_setting_t *old = config_setting_get_member(d, "class_names");
        if (old) config_setting_remove(d, "class_names");
        config_setting_t *a = config_setting_add(d, "class_names", CONFIG_TYPE_ARRAY);
        for (int c = 0; a && c < names->k; c++)
            config_setting_set_string(config_setting_add(a, NULL, CONFIG_TYPE_STRING),
                                      nm && nm[c] ? nm[c] : names->class_names[c]);
        for (int c = 0; nm && c < names->k; c++) free(nm[c]);
        free(nm);
    }
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
    /* The embedded config was checked when the model was trained: reload it
     * quietly and leniently (a run may have used strict_keys = false). */
    FILE *quiet = fopen("/dev/null", "w"), *warn = s->warn;
    s->warn = quiet ? quiet : warn;
    s->lenient_keys = 1;
    st = cf_session_config_text(s, bl.text, model_path, err);
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
    /* A hand-edited or damaged model file: the shape indexes the 4-entry
     * mean/std arrays, and std divides every pixel. */
    if (s->c < 1 || s->c > 4 || s->h < 1 || s->h > 65536 || s->w < 1 || s->w > 65536 || nin != s->c ||
        cf_params_list_len(s->pd, "std") != s->c) {
        st = cf_error_set(err, CF_ERR_INVALID,
                          "%s: model input [%d, %d, %d] with %d mean and %d std values: need 1 to 4 channels, "
                          "one mean and std per channel",
                          model_path, s->c, s->h, s->w, nin, cf_params_list_len(s->pd, "std"));
        goto out;
    }
    for (int c = 0; c < s->c; c++) {
        s->mean[c] = cf_params_list_num(s->pd, "mean", c);
        s->std[c] = cf_params_list_num(s->pd, "std", c);
        if (!isfinite(s->mean[c]) || !isfinite(s->std[c]) || !(s->std[c] > 0)) {
            st = cf_error_set(err, CF_ERR_INVALID, "%s: channel %d has mean %g and std %g: std must be a positive number",
                              model_path, c, s->mean[c], s->std[c]);
            goto out;
        }
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
