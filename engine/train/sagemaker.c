/* SageMaker image-classification compatibility: a hyperparameters JSON file
 * (shared/reference/sagemaker-ic.md names and semantics) becomes config
 * overrides, and augmentation_type presets expand into augmentation plugins.
 * Names whose feature clforge lacks are refused by name, never ignored. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_parse.h"
#include "train/sagemaker.h"
#include "core/util.h"
#include "train/schema.h"

typedef struct sm_map {
    const char *name;
    const char *key; /* config key, NULL = handled specially */
} sm_map;

static const sm_map direct[] = {
    {"epochs", "train.epochs"},
    {"mini_batch_size", "train.mini_batch_size"},
    {"learning_rate", "optimizer.learning_rate"},
    {"top_k", "train.top_k"},
    {"checkpoint_frequency", "train.checkpoint_frequency"},
    {"kv_store", "train.kv_store"}, /* dist_sync: mpirun -np N (docs/distributed.md) */
    {"early_stopping_min_epochs", "train.early_stopping.min_epochs"},
    {"early_stopping_patience", "train.early_stopping.patience"},
    {"early_stopping_tolerance", "train.early_stopping.tolerance"},
    {"num_layers", "model.num_layers"},
    {"augmentation_type", "augmentation_type"},
    {"resize", "data.resize"},
    {NULL, NULL}};

/* Names refused by name, with the reason (none left today: the table stays for the next one). */
static const struct { const char *name, *why; } unsupported[] = {
    {NULL, NULL}};

/* Optimizer-specific names and the optimizers SageMaker applies them to;
 * for any other optimizer SageMaker ignores them, and so does clforge. */
static const struct { const char *name, *optimizers; } per_optimizer[] = {
    {"momentum", "|sgd|nag|"}, {"weight_decay", "|sgd|nag|"}, {"beta_1", "|adam|"},
    {"beta_2", "|adam|"},      {"eps", "|adam|rmsprop|"},     {"gamma", "|rmsprop|"},
    {NULL, NULL}};

static int applies(const char *optimizers, const char *opt)
{
    char w[64];
    snprintf(w, sizeof w, "|%s|", opt);
    return strstr(optimizers, w) != NULL;
}

/* Every name this file accepts, for "did you mean". */
static const char *const special[] = {"optimizer", "image_shape", "lr_scheduler_step", "lr_scheduler_factor",
                                      "early_stopping", "precision_dtype", "num_classes", "multi_label",
                                      "num_training_samples", "use_pretrained_model", "pretrained_model"};

static const char *suggest_name(const char *k)
{
    const char *names[64];
    int n = 0;
    for (const sm_map *m = direct; m->name; m++) names[n++] = m->name;
    for (int i = 0; unsupported[i].name; i++) names[n++] = unsupported[i].name;
    for (int i = 0; per_optimizer[i].name; i++) names[n++] = per_optimizer[i].name;
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) names[n++] = special[i];
    return cf_schema_suggest_names(names, n, k);
}

static const char *per_opt(const char *k)
{
    for (int i = 0; per_optimizer[i].name; i++)
        if (!strcmp(per_optimizer[i].name, k)) return per_optimizer[i].optimizers;
    return NULL;
}

static void add(cf_sbuf *list, int *n, const char *key, const char *val)
{
    cf_sbuf_printf(list, "%s=%s%c", key, val, '\0');
    (*n)++;
}

/* The first file in dir whose name ends in ext, into out. */
static int find_ext(const char *dir, const char *ext, char *out, size_t n)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    char best[512] = "";
    size_t el = strlen(ext);
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > el && !strcmp(e->d_name + l - el, ext) && (!best[0] || strcmp(e->d_name, best) < 0))
            snprintf(best, sizeof best, "%s", e->d_name);
    }
    closedir(d);
    if (best[0]) snprintf(out, n, "%s/%s", dir, best);
    return best[0] != 0;
}

/* use_pretrained_model=1: the model comes from the hyperparameter
 * pretrained_model (a path; clforge's own name), else the "pretrained"
 * channel (SM_CHANNEL_PRETRAINED, by default /opt/ml/input/data/pretrained):
 * its model.clf, else its first .clf, .ckpt or .onnx. Nothing is
 * downloaded; without one, the error says how to supply it. */
static cf_status pretrained(const char *json, const char *given, char *out, size_t n, cf_error *err)
{
    if (given && *given) {
        snprintf(out, n, "%s", given);
        return CF_OK;
    }
    const char *env = getenv("SM_CHANNEL_PRETRAINED");
    const char *dir = env && *env ? env : "/opt/ml/input/data/pretrained";
    char p[1200];
    snprintf(p, sizeof p, "%s/model.clf", dir);
    if (cf_file_exists(p)) {
        snprintf(out, n, "%s", p);
        return CF_OK;
    }
    static const char *const exts[] = {".clf", ".ckpt", ".onnx"};
    for (int i = 0; i < 3; i++)
        if (find_ext(dir, exts[i], out, n)) return CF_OK;
    return cf_error_set(err, CF_ERR_INVALID,
                        "%s: use_pretrained_model = 1 needs the pretrained model, and no model hub is reachable "
                        "(clforge downloads nothing): put a model.clf, .ckpt or .onnx in the \"pretrained\" channel "
                        "(%s%s), or name the file with the hyperparameter pretrained_model", json, dir,
                        env && *env ? ", SM_CHANNEL_PRETRAINED" : "; SM_CHANNEL_PRETRAINED sets another directory");
}

/* SageMaker's data channels (SM_CHANNEL_TRAIN=/opt/ml/input/data/train, ...)
 * onto data.train / data.validation: a channel holding a .rec is that file;
 * with a *_lst channel, its .lst with the images channel as the root; else
 * the channel's folder (class folders). */
static cf_status channels(cf_sbuf *list, int *n, cf_error *err)
{
    static const struct { const char *img, *lst, *key, *root; } ch[] = {
        {"SM_CHANNEL_TRAIN", "SM_CHANNEL_TRAIN_LST", "data.train", "data.root"},
        {"SM_CHANNEL_VALIDATION", "SM_CHANNEL_VALIDATION_LST", "data.validation", "data.validation_root"}};
    for (int i = 0; i < 2; i++) {
        const char *img = getenv(ch[i].img), *lst = getenv(ch[i].lst);
        char path[1200], q[1300];
        if (!img || !*img) continue;
        if (lst && *lst) {
            if (!find_ext(lst, ".lst", path, sizeof path))
                return cf_error_set(err, CF_ERR_INVALID, "%s=%s holds no .lst file", ch[i].lst, lst);
            snprintf(q, sizeof q, "\"%s\"", img);
            add(list, n, ch[i].root, q);
        } else if (!find_ext(img, ".rec", path, sizeof path))
            snprintf(path, sizeof path, "%s", img);
        snprintf(q, sizeof q, "\"%s\"", path);
        add(list, n, ch[i].key, q);
    }
    return CF_OK;
}

cf_status cf_sagemaker_overrides(const char *path, char ***sets, int *n_sets, cf_error *err)
{
    cf_jval *j;
    CF_TRY(cf_jval_parse_file(path, &j, err));
    cf_status st = CF_OK;
    cf_sbuf list = {0};
    int n = 0;
    if (j->type != CF_JVAL_OBJECT) {
        st = cf_error_set(err, CF_ERR_INVALID, "%s: hyperparameters must be a JSON object", path);
        goto out;
    }
    const char *opt = NULL;
    const char *pre = NULL;
    for (int i = 0; i < j->n; i++) {
        if (!strcmp(j->keys[i], "optimizer")) opt = cf_jval_str(j->items[i], NULL);
        if (!strcmp(j->keys[i], "pretrained_model")) pre = cf_jval_str(j->items[i], NULL);
    }
    for (int i = 0; i < j->n && !st; i++) {
        const char *k = j->keys[i];
        const cf_jval *v = j->items[i];
        char val[512];
        /* SageMaker passes every value as a string; numbers and bools are accepted too. */
        if (v->type == CF_JVAL_STRING) snprintf(val, sizeof val, "%s", v->str);
        else if (v->type == CF_JVAL_NUMBER) snprintf(val, sizeof val, "%.17g", v->num);
        else if (v->type == CF_JVAL_BOOL) snprintf(val, sizeof val, "%s", v->num ? "true" : "false");
        else {
            st = cf_error_set(err, CF_ERR_INVALID, "%s: '%s' must be a string or number", path, k);
            break;
        }
        int done = 0;
        for (const sm_map *m = direct; m->name && !done; m++)
            if (!strcmp(k, m->name)) {
                add(&list, &n, m->key, val);
                if (!strcmp(k, "num_layers")) add(&list, &n, "model.preset", "resnet");
                done = 1;
            }
        for (int u = 0; unsupported[u].name && !done; u++)
            if (!strcmp(k, unsupported[u].name)) {
                int harmless = !strcmp(val, "0") || !strcmp(val, "false") || !strcmp(val, "none");
                if (!harmless) {
                    st = cf_error_set(err, CF_ERR_UNSUPPORTED, "%s: hyperparameter '%s' = %s is not supported yet (%s)",
                                      path, k, val, unsupported[u].why);
                }
                done = 1;
            }
        if (done) continue;
        if (!strcmp(k, "optimizer")) {
            if (strcmp(val, "sgd") && strcmp(val, "adam") && strcmp(val, "rmsprop") && strcmp(val, "nag"))
                st = cf_error_set(err, CF_ERR_INVALID, "%s: optimizer '%s' (allowed: sgd, adam, rmsprop, nag)", path, val);
            else add(&list, &n, "optimizer.plugin", val);
        } else if (per_opt(k)) {
            /* SageMaker applies these to some optimizers only (per_optimizer). */
            if (!opt || applies(per_opt(k), opt)) {
                char key[64];
                snprintf(key, sizeof key, "optimizer.%s", k);
                add(&list, &n, key, val);
            }
        } else if (!strcmp(k, "image_shape")) {
            int c, h, w;
            if (sscanf(val, "%d,%d,%d", &c, &h, &w) != 3 || c <= 0 || h <= 0 || w <= 0) {
                st = cf_error_set(err, CF_ERR_INVALID, "%s: image_shape '%s' must be \"C,H,W\"", path, val);
            } else {
                char a[64];
                snprintf(a, sizeof a, "[%d,%d,%d]", c, h, w);
                add(&list, &n, "model.input", a);
                snprintf(a, sizeof a, "\"%d,%d,%d\"", c, h, w);
                add(&list, &n, "data.image_shape", a);
            }
        } else if (!strcmp(k, "lr_scheduler_step")) {
            add(&list, &n, "train.lr_schedule.type", "step");
            char q[520];
            snprintf(q, sizeof q, "\"%s\"", val);
            add(&list, &n, "train.lr_schedule.steps", q);
        } else if (!strcmp(k, "lr_scheduler_factor")) {
            add(&list, &n, "train.lr_schedule.factor", val);
        } else if (!strcmp(k, "use_pretrained_model")) {
            if (!strcmp(val, "1") || !strcmp(val, "true") || !strcmp(val, "True")) {
                char mp[1200], q[1300];
                if (!(st = pretrained(path, pre, mp, sizeof mp, err))) {
                    snprintf(q, sizeof q, "\"%s\"", mp);
                    add(&list, &n, "model.init_from", q);
                    add(&list, &n, "model.init_exclude", "[\"out\"]"); /* SageMaker: the last layer starts afresh */
                }
            }
        } else if (!strcmp(k, "pretrained_model")) { /* read with use_pretrained_model */
        } else if (!strcmp(k, "use_weighted_loss")) { /* SageMaker: multi-label only; here any labels */
            add(&list, &n, "train.weighted_loss", !strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "True") ? "true" : "false");
        } else if (!strcmp(k, "multi_label")) { /* label lists from .lst columns / RecordIO headers */
            add(&list, &n, "data.multi_label", !strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "True") ? "true" : "false");
        } else if (!strcmp(k, "early_stopping")) {
            add(&list, &n, "train.early_stopping.enabled", !strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "True") ? "true" : "false");
        } else if (!strcmp(k, "precision_dtype")) {
            if (strcmp(val, "float32"))
                st = cf_error_set(err, CF_ERR_UNSUPPORTED, "%s: precision_dtype '%s' is not supported yet (float32 only)", path, val);
        } else if (!strcmp(k, "num_classes") || !strcmp(k, "num_training_samples")) {
            char key[64];
            snprintf(key, sizeof key, "data.expect_%s", k + 4);
            add(&list, &n, key, val); /* checked against the data */
        } else {
            const char *sug = suggest_name(k);
            char hint[128] = "";
            if (sug) snprintf(hint, sizeof hint, "; did you mean '%s'?", sug);
            st = cf_error_set(err, CF_ERR_INVALID,
                              "%s: unknown SageMaker hyperparameter '%s'%s (see shared/reference/sagemaker-ic.md)",
                              path, k, hint);
        }
    }
    if (!st) st = channels(&list, &n, err);
    if (!st && list.oom) st = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
    if (!st) {
        char **arr = cf_calloc((size_t)n + 1, sizeof *arr);
        const char *p = list.s;
        for (int i = 0; arr && i < n; i++) {
            if (!(arr[i] = cf_strdup(p))) {
                for (int k = 0; k < i; k++) free(arr[k]);
                free(arr);
                arr = NULL;
                break;
            }
            p += strlen(p) + 1;
        }
        if (!arr && n) st = cf_error_set(err, CF_ERR_NOMEM, "%s: out of memory", path);
        else {
            *sets = arr;
            *n_sets = n;
        }
    }
out:
    cf_sbuf_free(&list);
    cf_jval_free(j);
    return st;
}

/* SageMaker's documented defaults (shared/reference/sagemaker-ic.md) for
 * names the JSON leaves out. Precedence, lowest first: clforge's defaults,
 * these, the config file, the JSON, --set — so a default fills only a key the
 * config file leaves unset. Names that describe the data (image_shape,
 * num_classes, num_training_samples) or the model (num_layers) are not
 * defaulted: the data and the config's model say them. */
static const struct { const char *name, *key, *value, *optimizers; } defaults[] = {
    {"epochs", "train.epochs", "30", NULL},
    {"mini_batch_size", "train.mini_batch_size", "32", NULL},
    {"learning_rate", "optimizer.learning_rate", "0.1", NULL},
    {"momentum", "optimizer.momentum", "0.9", "|sgd|nag|"},
    {"weight_decay", "optimizer.weight_decay", "0.0001", "|sgd|nag|"}, /* L2, as sgd's weight_decay */
    {"beta_1", "optimizer.beta_1", "0.9", "|adam|"},
    {"beta_2", "optimizer.beta_2", "0.999", "|adam|"},
    {"eps", "optimizer.eps", "1e-8", "|adam|rmsprop|"},
    {"gamma", "optimizer.gamma", "0.9", "|rmsprop|"},
    {NULL, NULL, NULL, NULL}};

cf_status cf_sagemaker_defaults(cf_config *c, const char *path, cf_error *err)
{
    cf_jval *j;
    CF_TRY(cf_jval_parse_file(path, &j, err));
    if (j->type != CF_JVAL_OBJECT) {
        cf_jval_free(j);
        return CF_OK; /* cf_sagemaker_overrides names the problem */
    }
    const char *opt = NULL;
    for (int i = 0; i < j->n; i++)
        if (!strcmp(j->keys[i], "optimizer")) opt = cf_jval_str(j->items[i], NULL);
    const char *cfg_opt = NULL;
    config_lookup_string(&c->cfg, "optimizer.plugin", &cfg_opt);
    if (opt && config_lookup(&c->cfg, "optimizer") && (!cfg_opt || strcmp(cfg_opt, opt))) {
        /* The JSON picks another optimizer: the config's optimizer group (its
         * rate, momentum...) belongs to the old one, so SageMaker's values and
         * defaults replace it whole. */
        config_setting_remove(config_root_setting(&c->cfg), "optimizer");
    }
    if (!opt) opt = cfg_opt ? cfg_opt : "sgd";
    char optname[64];
    snprintf(optname, sizeof optname, "%s", opt ? opt : "sgd");
    cf_status st = CF_OK;
    if (!config_lookup(&c->cfg, "optimizer.plugin")) {
        char kv[96];
        snprintf(kv, sizeof kv, "optimizer.plugin=%s", optname);
        st = cf_config_set(c, kv, err);
    }
    for (int d = 0; defaults[d].name && !st; d++) {
        int given = 0;
        for (int i = 0; i < j->n; i++) given |= !strcmp(j->keys[i], defaults[d].name);
        if (given || config_lookup(&c->cfg, defaults[d].key)) continue;
        if (defaults[d].optimizers && !applies(defaults[d].optimizers, optname)) continue;
        char kv[128];
        snprintf(kv, sizeof kv, "%s=%s", defaults[d].key, defaults[d].value);
        st = cf_config_set(c, kv, err);
    }
    cf_jval_free(j);
    return st;
}

static config_setting_t *add_plugin(config_setting_t *list, const char *name)
{
    config_setting_t *g = config_setting_add(list, NULL, CONFIG_TYPE_GROUP);
    config_setting_set_string(config_setting_add(g, "plugin", CONFIG_TYPE_STRING), name);
    return g;
}

static void set_f(config_setting_t *g, const char *k, double v)
{
    config_setting_set_float(config_setting_add(g, k, CONFIG_TYPE_FLOAT), v);
}

cf_status cf_augmentation_preset(config_t *cfg, const char *preset, int channels, FILE *warn,
                                 cf_error *err)
{
    config_setting_t *root = config_root_setting(cfg);
    if (config_setting_get_member(root, "augmentations"))
        return cf_error_set(err, CF_ERR_INVALID,
                            "augmentation_type = \"%s\" and an augmentations list: choose one", preset);
    int color = !strcmp(preset, "crop_color") || !strcmp(preset, "crop_color_transform");
    int transform = !strcmp(preset, "crop_color_transform");
    if (strcmp(preset, "crop") && !color)
        return cf_error_set(err, CF_ERR_INVALID, "augmentation_type '%s' (allowed: crop, crop_color, crop_color_transform)", preset);
    config_setting_t *l = config_setting_add(root, "augmentations", CONFIG_TYPE_LIST);
    /* A real crop of same-size images: pad 4, crop back (torchvision's CIFAR recipe). */
    config_setting_t *g = add_plugin(l, "random_crop");
    config_setting_set_int(config_setting_add(g, "padding", CONFIG_TYPE_INT), 4);
    add_plugin(l, "hflip");
    if (color) {
        if (channels == 3) {
            set_f(add_plugin(l, "hue"), "delta", 0.1);         /* ±36 degrees */
            set_f(add_plugin(l, "saturation"), "factor", 0.2); /* ±50 of 255 */
        } else if (warn) {
            fprintf(warn, "warning: augmentation_type %s: hue and saturation skipped for %d-channel images\n",
                    preset, channels);
        }
        set_f(add_plugin(l, "brightness"), "factor", 0.2);
    }
    if (transform) {
        set_f(add_plugin(l, "rotate"), "degrees", 10);
        set_f(add_plugin(l, "shear"), "degrees", 5.71); /* shear ratio 0.1 */
        g = add_plugin(l, "scale");
        set_f(g, "min", 1);
        set_f(g, "max", 1);
        set_f(g, "aspect", 0.25);
    }
    /* Expanded once: the saved config holds the list, not the preset, so it
     * reloads (eval, predict, resume, retrain) without "choose one". */
    config_setting_remove(root, "augmentation_type");
    return CF_OK;
}
