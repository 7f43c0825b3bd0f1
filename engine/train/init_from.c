/* Fine-tuning from a model: model.init_from's tensors matched to this
 * network layer by layer (name and shape), model.init_exclude's layers left
 * to the seeded init, then train.freeze and train.lr_mult, then the
 * optimizer's state. Everything is checked before the first tensor is
 * uploaded, and before the trainer writes anything. */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "train/init_from.h"

/* torchvision's module path of a ResNet preset layer ("stage2_b1_proj" ->
 * "layer2.0.downsample.0", "out" -> "fc"), so that a model imported with
 * torch's names fits the preset; 0 when the name has no such counterpart. */
static int torch_name(const char *layer, char *out, size_t cap)
{
    int st, b, k, n = 0;
    if (!strcmp(layer, "out")) return snprintf(out, cap, "fc") > 0;
    if (sscanf(layer, "stage%d_b%d_conv%d%n", &st, &b, &k, &n) == 3 && !layer[n])
        return snprintf(out, cap, "layer%d.%d.conv%d", st, b - 1, k) > 0;
    if (sscanf(layer, "stage%d_b%d_bn%d%n", &st, &b, &k, &n) == 3 && !layer[n])
        return snprintf(out, cap, "layer%d.%d.bn%d", st, b - 1, k) > 0;
    if (sscanf(layer, "stage%d_b%d_proj%n", &st, &b, &n) == 2 && !layer[n])
        return snprintf(out, cap, "layer%d.%d.downsample.0", st, b - 1) > 0;
    if (sscanf(layer, "stage%d_b%d_proj_bn%n", &st, &b, &n) == 2 && !layer[n])
        return snprintf(out, cap, "layer%d.%d.downsample.1", st, b - 1) > 0;
    return 0;
}

/* The file's tensor for parameter "layer.what": by its own name, else by
 * torchvision's layer name with clforge's or torch's suffix (gamma/beta are
 * torch's weight/bias). */
static const cf_blob_tensor *find_tensor(const cf_blob *bl, const char *layer, const char *what)
{
    char nm[256], tl[128];
    snprintf(nm, sizeof nm, "%s.%s", layer, what);
    const cf_blob_tensor *t = cf_blob_find(bl, nm);
    if (t || !torch_name(layer, tl, sizeof tl)) return t;
    snprintf(nm, sizeof nm, "%s.%s", tl, what);
    if ((t = cf_blob_find(bl, nm))) return t;
    const char *tw = !strcmp(what, "gamma") ? "weight" : !strcmp(what, "beta") ? "bias" : NULL;
    if (!tw) return NULL;
    snprintf(nm, sizeof nm, "%s.%s", tl, tw);
    return cf_blob_find(bl, nm);
}

static void shape_text(char *out, size_t cap, int ndim, const int *shape)
{
    size_t o = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < ndim && o < cap; d++) o += (size_t)snprintf(out + o, cap - o, "%s%d", d ? ", " : "", shape[d]);
    if (o < cap) snprintf(out + o, cap - o, "]");
}

static int matches_any(cf_params *p, const char *key, const char *name)
{
    for (int i = 0; i < cf_params_list_len(p, key); i++)
        if (!fnmatch(cf_params_list_str(p, key, i), name, 0)) return 1;
    return 0;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcasecmp(s + n - m, suf);
}

static cf_status read_source(const char *path, cf_blob *bl, cf_error *err)
{
    if (has_suffix(path, ".onnx")) {
        if (!cf_onnx_init_tensors)
            return cf_error_set(err, CF_ERR_UNSUPPORTED,
                                "%s: ONNX import is not built in; convert it first with "
                                "`clforge import %s -o model.clf` and set init_from to the .clf", path, path);
        return cf_onnx_init_tensors(path, bl, err);
    }
    return cf_blob_read(path, bl, err);
}

/* The normalisation the file's model was trained with (a model.clf holds
 * its config, data.mean/std included): the features it learnt expect it, so
 * it replaces this data's own statistics unless data.mean/std are given. */
static void take_normalisation(cf_session *s, const cf_blob *bl, const char *path, cf_sbuf *r)
{
    if (!bl->text || cf_params_is_set(s->pd, "mean") || cf_params_is_set(s->pd, "std") ||
        !cf_params_bool(s->pd, "normalize"))
        return;
    config_t c;
    config_init(&c);
    const config_setting_t *m, *sd;
    double mean[4], std[4];
    int ok = config_read_string(&c, bl->text) == CONFIG_TRUE && (m = config_lookup(&c, "data.mean")) &&
             (sd = config_lookup(&c, "data.std")) && config_setting_length(m) == s->c &&
             config_setting_length(sd) == s->c && s->c <= 4;
    for (int ch = 0; ok && ch < s->c; ch++) {
        mean[ch] = config_setting_get_float_elem(m, ch);
        std[ch] = config_setting_get_float_elem(sd, ch);
        ok = std[ch] > 0;
    }
    config_destroy(&c);
    if (!ok) return;
    cf_sbuf_printf(r, "  normalisation of %s: mean", path);
    for (int ch = 0; ch < s->c; ch++) cf_sbuf_printf(r, " %.4g", s->mean[ch] = mean[ch]);
    cf_sbuf_printf(r, ", std");
    for (int ch = 0; ch < s->c; ch++) cf_sbuf_printf(r, " %.4g", s->std[ch] = std[ch]);
    cf_sbuf_printf(r, " (set data.mean/std to use others)\n");
}

/* Append lines naming the layers of list (a '\n'-separated cf_sbuf). */
static void list_line(cf_sbuf *r, const char *what, const cf_sbuf *names, int n)
{
    if (n) cf_sbuf_printf(r, "  %s (%d): %s\n", what, n, names->s);
}

static void add_name(cf_sbuf *b, int *n, const char *name)
{
    cf_sbuf_printf(b, "%s%s", *n ? ", " : "", name);
    (*n)++;
}

static cf_status init_from(cf_session *s, cf_params *pm, cf_sbuf *r, cf_error *err)
{
    const char *path = cf_params_str(pm, "init_from");
    cf_net *net = s->net;
    int np = cf_net_n_params(net);
    /* Every init_exclude pattern must name a layer: a typo would quietly keep the old head. */
    for (int k = 0; k < cf_params_list_len(pm, "init_exclude"); k++) {
        const char *pat = cf_params_list_str(pm, "init_exclude", k);
        int hit = 0;
        for (int i = 0; i < cf_model_spec_count(s->spec) && !hit; i++) hit = !fnmatch(pat, cf_model_spec_name(s->spec, i), 0);
        if (!hit) return cf_error_set(err, CF_ERR_INVALID, "model.init_exclude: pattern '%s' matches no layer of the model", pat);
    }
    if (!*path) return CF_OK;
    cf_blob bl = {0};
    cf_status st = read_source(path, &bl, err);
    if (st) return cf_error_prefix(err, "model.init_from");
    /* Per layer: loaded when every tensor of it is in the file with its shape. */
    const cf_blob_tensor **src = cf_calloc((size_t)np + 1, sizeof *src);
    char *used = cf_calloc((size_t)bl.n + 1, 1);
    cf_sbuf excl = {0}, diff = {0}, missing = {0}, extra = {0};
    int n_excl = 0, n_diff = 0, n_missing = 0, n_extra = 0, n_loaded = 0, n_layers = 0, n_tensors = 0, n_stats = 0;
    if (!src || !used) st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < np && !st;) {
        char layer[CF_NAME_MAX];
        cf_net_param_layer(net, i, layer, sizeof layer);
        int j = i, ok = 1, absent = 0;
        char why[256] = "";
        for (; j < np; j++) {
            char lj[CF_NAME_MAX];
            cf_net_param_layer(net, j, lj, sizeof lj);
            if (strcmp(lj, layer)) break;
            cf_net_param *p = cf_net_param_at(net, j);
            const char *what = p->name + strlen(layer) + 1;
            const cf_blob_tensor *t = find_tensor(&bl, layer, what);
            src[j] = t;
            if (!t) { ok = 0; absent = 1; continue; }
            used[t - bl.t] = 1;
            if (t->ndim != p->value.ndim || memcmp(t->shape, p->value.shape, (size_t)t->ndim * sizeof(int))) {
                if (ok) {
                    char a[64], b[64];
                    shape_text(a, sizeof a, p->value.ndim, p->value.shape);
                    shape_text(b, sizeof b, t->ndim, t->shape);
                    snprintf(why, sizeof why, "%s %s here, %s in the file", what, a, b);
                }
                ok = 0;
            }
        }
        n_layers++;
        if (matches_any(pm, "init_exclude", layer)) {
            add_name(&excl, &n_excl, layer);
            ok = 0;
        } else if (*why) {
            char item[400];
            snprintf(item, sizeof item, "%s (%s)", layer, why);
            add_name(&diff, &n_diff, item);
        } else if (absent) add_name(&missing, &n_missing, layer);
        if (!ok)
            for (int q = i; q < j; q++) src[q] = NULL;
        else {
            n_loaded++;
            n_tensors += j - i;
            for (int q = i; q < j; q++) n_stats += has_suffix(cf_net_param_at(net, q)->name, ".running_mean");
        }
        i = j;
    }
    /* The file's layers this model lacks (optimizer slots of a checkpoint aside). */
    for (int t = 0; t < bl.n && !st; t++) {
        if (used[t] || !strncmp(bl.t[t].name, "slot", 4)) continue;
        char layer[128];
        const char *dot = strrchr(bl.t[t].name, '.');
        snprintf(layer, sizeof layer, "%.*s", dot ? (int)(dot - bl.t[t].name) : (int)strlen(bl.t[t].name), bl.t[t].name);
        int seen = 0; /* one name per layer */
        for (int u = 0; u < t && !seen; u++) {
            if (used[u] == 2 && !strncmp(bl.t[u].name, layer, strlen(layer)) && bl.t[u].name[strlen(layer)] == '.')
                seen = 1;
        }
        used[t] = 2;
        if (!seen) add_name(&extra, &n_extra, layer);
    }
    if (!st && n_loaded == 0)
        st = cf_error_set(err, CF_ERR_INVALID,
                          "model.init_from = \"%s\": no layer of the file fits this model by name and shape "
                          "(%d of its layers re-initialised, %d not in the file); is it the right model?",
                          path, n_diff + n_excl, n_missing);
    for (int i = 0; i < np && !st; i++) /* only now: a refused file leaves the seeded init intact */
        if (src[i]) st = cf_tensor_upload(cf_net_backend(net), &cf_net_param_at(net, i)->value, src[i]->data, err);
    if (!st) {
        cf_net_params_changed(net);
        cf_sbuf_printf(r, "init_from %s: %d of %d layers loaded (%d tensors", path, n_loaded, n_layers, n_tensors);
        if (n_stats) cf_sbuf_printf(r, "; running statistics of %d batch norms", n_stats);
        cf_sbuf_printf(r, ")\n");
        list_line(r, "re-initialised, shape differs", &diff, n_diff);
        list_line(r, "re-initialised, model.init_exclude", &excl, n_excl);
        list_line(r, "not in the file, seeded init", &missing, n_missing);
        list_line(r, "in the file, not in this model (ignored)", &extra, n_extra);
        take_normalisation(s, &bl, path, r);
    }
    cf_sbuf_free(&excl);
    cf_sbuf_free(&diff);
    cf_sbuf_free(&missing);
    cf_sbuf_free(&extra);
    free(src);
    free(used);
    cf_blob_free(&bl);
    return st;
}

/* train.lr_mult entries "PATTERN:MULT" (the last ':' splits: a pattern may hold one). */
static cf_status lr_mults(cf_session *s, cf_sbuf *r, cf_error *err)
{
    int n = cf_params_list_len(s->pt, "lr_mult");
    for (int i = 0; i < n; i++) {
        const char *e = cf_params_list_str(s->pt, "lr_mult", i), *colon = strrchr(e, ':');
        char pat[256], *end;
        double m = colon ? strtod(colon + 1, &end) : 0;
        if (!colon || colon == e || end == colon + 1 || *end || !(m >= 0) || m > 1e6)
            return cf_error_set(err, CF_ERR_INVALID,
                                "train.lr_mult: '%s' must be \"PATTERN:MULT\" with MULT a number from 0 to 1e6 "
                                "(e.g. \"out:10\")", e);
        snprintf(pat, sizeof pat, "%.*s", (int)(colon - e), e);
        CF_TRY(cf_net_set_lr_mult(s->net, pat, m, err));
        cf_sbuf_printf(r, "%slr_mult %s x%g", i ? ", " : "", pat, m);
    }
    if (n) cf_sbuf_printf(r, "\n");
    return CF_OK;
}

cf_status cf_session_init_params(cf_session *s, int skip_init_from, cf_sbuf *r, cf_error *err)
{
    CF_TRY(cf_net_init_params(s->net, s->seed, err));
    cf_params *pm = NULL;
    CF_TRY(cf_session_group(s, "model", cf_model_params, NULL, &pm, err));
    cf_status st = CF_OK;
    if (skip_init_from && *cf_params_str(pm, "init_from"))
        cf_sbuf_printf(r, "init_from %s: not read, the run resumes from its checkpoint\n", cf_params_str(pm, "init_from"));
    else st = init_from(s, pm, r, err);
    cf_params_free(pm);
    CF_TRY(st);
    int nf = cf_params_list_len(s->pt, "freeze");
    if (nf) {
        const char **pats = cf_calloc((size_t)nf, sizeof *pats);
        if (!pats) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
        for (int i = 0; i < nf; i++) pats[i] = cf_params_list_str(s->pt, "freeze", i);
        st = cf_net_freeze(s->net, pats, nf, err);
        free(pats);
        CF_TRY(st);
        long frozen = 0;
        int layers = 0;
        char last[CF_NAME_MAX] = "";
        for (int i = 0; i < cf_net_n_params(s->net); i++) {
            cf_net_param *p = cf_net_param_at(s->net, i);
            if (!p->frozen) continue;
            char layer[CF_NAME_MAX];
            cf_net_param_layer(s->net, i, layer, sizeof layer);
            if (strcmp(layer, last)) layers++;
            snprintf(last, sizeof last, "%s", layer);
            if (p->trainable) frozen += (long)cf_tensor_numel(&p->value);
        }
        cf_sbuf_printf(r, "freeze: %d layers with parameters frozen (%ld of %ld trainable parameters)\n", layers,
                       frozen, cf_net_param_count(s->net));
    }
    CF_TRY(lr_mults(s, r, err));
    const cf_optimizer_vtable *ov = s->opt.d->vtable;
    return cf_net_alloc_slots(s->net, ov->n_slots ? ov->n_slots(s->opt.state) : 0, err);
}
