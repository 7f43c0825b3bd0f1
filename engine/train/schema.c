/* The schema: every engine config key declared once — type, range, default,
 * choices, doc — and the checks that make an undeclared key an error (with a
 * "did you mean" suggestion) wherever keys enter: files, --set, SageMaker
 * JSON (sagemaker.c), tune spaces (tune_config.c). Plugin keys come from the
 * chosen plugin's own table, found through the registry. */
#include <stdlib.h>
#include <string.h>

#include "train/schema.h"
#include "core/util.h"
#include "core/params.h"
#include "model/model.h"
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
     "SageMaker preset, expanded into augmentations once (the saved config holds the list)"},
    {"strict_keys", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL,
     "unknown keys are errors; false: warnings (as --allow-unknown)"},
    {"plugin_path", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL, "extra directories searched for plugins"},
    {"output", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: where runs are written (see output.*)"},
    {"tune", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: hyperparameter search (clforge tune)"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_backend_params[] = {
    {"name", CF_PT_STRING, "auto", CF_PARAM_NO_RANGE, NULL,
     "reference, cpu, opencl, or auto (a GPU if present, else the fastest CPU backend)"},
    {"device", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "device: index, name substring, or gpu/cpu/accelerator (opencl); a comma-separated list "
     "(\"0,1,2,3\") gives each MPI rank on a node its own (entry local rank mod count)"},
    {"threads", CF_PT_INT, "0", 0, 1024, NULL, "compute threads (0 = backend default)"},
    {"verbose", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL, "log kernel compiles and cache use (opencl: also launch, host-sync and byte counters at close)"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_data_params[] = {
    {"dataset", CF_PT_STRING, "fashion-mnist", CF_PARAM_NO_RANGE, "fashion-mnist|idx",
     "fashion-mnist (Debian's dataset-fashion-mnist) or idx (give the four paths)"},
    {"train_images", CF_PT_STRING, FMNIST "train-images-idx3-ubyte.gz", CF_PARAM_NO_RANGE, NULL, "IDX images (gzip ok)"},
    {"train_labels", CF_PT_STRING, FMNIST "train-labels-idx1-ubyte.gz", CF_PARAM_NO_RANGE, NULL, "IDX labels"},
    {"test_images", CF_PT_STRING, FMNIST "t10k-images-idx3-ubyte.gz", CF_PARAM_NO_RANGE, NULL, "IDX test images"},
    {"test_labels", CF_PT_STRING, FMNIST "t10k-labels-idx1-ubyte.gz", CF_PARAM_NO_RANGE, NULL, "IDX test labels"},
    {"train", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "training data: a folder of class folders, a .lst, a .rec, CIFAR binaries (a directory or a .bin) or IDX "
     "images; empty: the IDX keys"},
    {"validation", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "validation data (any format); empty: validation_split of the training data"},
    {"test", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "test data (any format); empty: a CIFAR directory's test part, else the IDX keys when data.train is empty, "
     "else none"},
    {"format", CF_PT_STRING, "auto", CF_PARAM_NO_RANGE, "auto|idx|folder|lst|cifar|recordio|manifest",
     "format of data.train/validation/test (auto: detected)"},
    {"root", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "where a .lst's image paths start (empty: the .lst's folder)"},
    {"validation_root", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "the same for data.validation (empty: data.root; SageMaker: the validation channel)"},
    {"image_shape", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL,
     "\"C,H,W\" input of image formats (SageMaker's meaning; C = 1 or 3, gray/RGB converted); empty: the first image's"},
    {"resize", CF_PT_INT, "0", 0, 16384, NULL,
     "scale each image's shorter side to this first, then centre-crop to image_shape (0: no scaling; a smaller "
     "image is an error)"},
    {"cifar_label", CF_PT_STRING, "fine", CF_PARAM_NO_RANGE, "fine|coarse", "CIFAR-100: which label byte"},
    {"workers", CF_PT_INT, "0", 0, 64, NULL, "decode threads for image formats (0: one per core, at most 8)"},
    {"cache_mb", CF_PT_FLOAT, "1024", 0, 1e7, NULL,
     "keep decoded images in memory when they fit in this many MiB; else decode on each use (0: always stream)"},
    {"scan", CF_PT_STRING, "decode", CF_PARAM_NO_RANGE, "decode|none",
     "opening image data: decode every file once to skip the unreadable ones (decode), or only list the files "
     "(none: opens in no time, streams, and an unreadable file is an error when training reaches it)"},
    {"validation_split", CF_PT_FLOAT, "0.1", 0, 0.9, NULL, "fraction of each class held out for validation"},
    {"limit_train", CF_PT_INT, "0", 0, 1e9, NULL, "use only N training images: IDX the first N, other formats N evenly spaced (0 = all)"},
    {"classes", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL,
     "keep only these classes (indices or names, [\"5\", \"6\"] or [\"sandal\"]) in every split, numbered 0.. in "
     "this order; limit_train/limit_test then count the kept images (the first N)"},
    {"limit_test", CF_PT_INT, "0", 0, 1e9, NULL, "use only N test images: IDX the first N, other formats N evenly spaced (0 = all)"},
    {"class_fraction", CF_PT_FLOAT_LIST, "", 0, 1, NULL,
     "keep this fraction of each class's training-split images, class by index ([1.0, 1.0, 1.0, 0.02]: class 3 cut to "
     "2 %; missing entries keep all); validation and test are not cut"},
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
    {"multi_label", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "several labels per image (SageMaker multi_label): the label columns of a .lst or RecordIO headers become "
     "multi-hot targets, the loss is sigmoid + binary cross-entropy (train.loss = bce), metrics are per label"},
    {"label_format", CF_PT_STRING, "auto", CF_PARAM_NO_RANGE, "auto|multi-hot|class-id",
     "multi_label: multi-hot = one 0/1 column per class, class-id = each column a class index (repeat one to "
     "pad); auto = multi-hot when every label is 0 or 1 and there is a column per class"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_train_params[] = {
    {"epochs", CF_PT_INT, "5", 1, 100000, NULL, "passes over the training split"},
    {"mini_batch_size", CF_PT_INT, "64", 1, 65536, NULL, "samples per update"},
    {"batch_mode", CF_PT_STRING, "mini-batch", CF_PARAM_NO_RANGE, "mini-batch|full-batch|per-sample",
     "full-batch: one update per epoch; per-sample: batch of 1"},
    {"eval_batch_size", CF_PT_INT, "256", 1, 65536, NULL, "batch size for validation/test"},
    {"loss", CF_PT_STRING, "cross_entropy", CF_PARAM_NO_RANGE, "cross_entropy|mse|hinge|bce",
     "loss function; bce = sigmoid + binary cross-entropy per output (implied by data.multi_label)"},
    {"label_smoothing", CF_PT_FLOAT, "0", 0, 0.999, NULL, "cross-entropy target smoothing"},
    {"class_weights", CF_PT_FLOAT_LIST, "", 0, 1e6, NULL, "per-class loss weights"},
    {"weighted_loss", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "weight each class's loss by N / (K x its count) in the training split (SageMaker use_weighted_loss)"},
    {"top_k", CF_PT_INT, "0", 0, 1000, NULL, "also report top-k accuracy (0 = off)"},
    {"pos_weight", CF_PT_FLOAT_LIST, "", 0, 1e6, NULL,
     "bce: per-class weight of the positive term (torch BCEWithLogitsLoss pos_weight; default 1; with "
     "weighted_loss and multi_label: negatives / positives of each class in the training split)"},
    {"threshold", CF_PT_FLOAT, "0.5", 0, 1, NULL,
     "multi_label: a label is predicted when its probability exceeds this (metrics, eval, predict)"},
    {"checkpoint_frequency", CF_PT_INT, "0", 0, 100000, NULL, "save a checkpoint every N epochs (0 = best and last only)"},
    {"kv_store", CF_PT_STRING, "auto", CF_PARAM_NO_RANGE, "auto|local|dist_sync|dist_async",
     "several processes (SageMaker's name): dist_sync = data parallel under mpirun, mini_batch_size "
     "per rank; auto = dist_sync when mpirun started several ranks (docs/distributed.md)"},
    {"allreduce_overlap", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL,
     "data parallel: start each gradient bucket's allreduce during backward, as soon as its layers "
     "are done (same buckets, same result bit for bit as false)"},
    {"bucket_mb", CF_PT_FLOAT, "25", 0.0001, 1024, NULL,
     "data parallel: gradient bucket size in MiB (torch DDP's bucket_cap_mb); buckets follow reverse "
     "layer order and never split a parameter"},
    {"batchnorm_stats", CF_PT_STRING, "per_rank", CF_PARAM_NO_RANGE, "per_rank|average",
     "data parallel: average = the ranks average their batch-norm running statistics after each "
     "epoch, before validation and checkpoints (batch statistics in training stay per rank)"},
    {"freeze", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL,
     "layer names or globs (fnmatch: [\"conv1\", \"s1_*\"]) that do not train: no updates, no optimizer state, "
     "no weight decay, batch norms normalise with their running statistics and keep them; a pattern "
     "matching no layer is an error"},
    {"lr_mult", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL,
     "per-layer learning-rate multipliers as \"PATTERN:MULT\" strings ([\"out:10\", \"s1_*:0.1\"]; PATTERN a "
     "layer name or glob); a layer takes the first pattern it matches; the rest train at 1x"},
    {"lr_schedule", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: learning-rate schedule (see train.lr_schedule.*)"},
    {"early_stopping", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: early stopping (see train.early_stopping.*)"},
    {"clip_grad_norm", CF_PT_FLOAT, "0", 0, 1e9, NULL,
     "scale the gradient to at most this global L2 norm before the optimizer, after the regularizers' terms "
     "(torch clip_grad_norm_; under MPI the averaged gradient's norm); 0 = off"},
    {"ema", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL,
     "group: exponential moving average of the weights (see train.ema.*)"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_ema_params[] = {
    {"enabled", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "keep the average (the group alone turns it on)"},
    {"decay", CF_PT_FLOAT, "0.999", 0, 1, NULL, "shadow = decay shadow + (1 - decay) weights after every step"},
    {"warmup", CF_PT_BOOL, "false", CF_PARAM_NO_RANGE, NULL,
     "use min(decay, (1 + t) / (10 + t)) at step t, so early averages forget the initial weights (timm)"},
    {"evaluate", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL,
     "validate the averaged weights each epoch (validation metrics, early stopping, plateau, tuning)"},
    {"save", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL,
     "test and save (model.clf) the averaged weights; false: the trained weights"},
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
    {"tensorboard", CF_PT_BOOL, "true", CF_PARAM_NO_RANGE, NULL, "write TensorBoard event files to tb/"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_tune_params[] = {
    {"strategy", CF_PT_STRING, NULL, CF_PARAM_NO_RANGE, "grid|random|bayesian|hyperband|asha", "search strategy"},
    {"objective", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "group: what to optimise (see tune.objective.*)"},
    {"parameters", CF_PT_GROUP, "", CF_PARAM_NO_RANGE, NULL, "list of search-space entries (see tune.parameters[])"},
    {"name", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "study name (default: the config file's base name)"},
    {"max_trials", CF_PT_INT, "20", 1, 1e9, NULL, "trials to run (grid: all combinations)"},
    {"max_parallel", CF_PT_INT, "1", 1, 256, NULL, "trials running at once"},
    {"seed", CF_PT_INT, "0", 0, 2147483647.0, NULL, "seed of the search"},
    {"max_wall_seconds", CF_PT_FLOAT, "0", 0, 1e12, NULL, "stop the study after this long (0 = no limit)"},
    {"target", CF_PT_FLOAT, "", CF_PARAM_NO_RANGE, NULL, "stop when the objective reaches this value"},
    {"max_total_epochs", CF_PT_INT, "0", 0, 1e12, NULL, "epoch budget of the whole study (0 = none)"},
    {"no_improvement_trials", CF_PT_INT, "0", 0, 1e9, NULL, "stop after N trials without a 1% gain (0 = off)"},
    {"trial_timeout", CF_PT_FLOAT, "0", 0, 1e12, NULL, "seconds before a trial is killed (0 = none)"},
    {"early_stopping", CF_PT_STRING, "off", CF_PARAM_NO_RANGE, "auto|off", "auto: median stopping rule"},
    {"early_stopping_min_epochs", CF_PT_INT, "1", 1, 1e9, NULL, "median rule: never stop before this epoch"},
    {"early_stopping_min_trials", CF_PT_INT, "3", 1, 1e9, NULL, "median rule: trials needed before it acts"},
    {"epochs", CF_PT_INT, "0", 0, 1e9, NULL, "epochs per trial (default: train.epochs)"},
    {"min_epochs", CF_PT_INT, "1", 1, 1e9, NULL, "hyperband/asha: smallest resource"},
    {"max_epochs", CF_PT_INT, "0", 0, 1e9, NULL, "hyperband/asha: largest resource (default: epochs)"},
    {"eta", CF_PT_INT, "3", 2, 1e9, NULL, "hyperband/asha: reduction factor"},
    {"brackets", CF_PT_INT, "0", 0, 1e9, NULL, "hyperband: brackets (0 = all)"},
    {"promotion", CF_PT_STRING, "auto", CF_PARAM_NO_RANGE, "auto|continue|restart", "how a promoted trial gets more epochs"},
    {"initial_trials", CF_PT_INT, "0", 0, 1e9, NULL, "bayesian: space-filling trials first (default 2 per dimension, >= 5)"},
    {"acquisition", CF_PT_STRING, "log_ei", CF_PARAM_NO_RANGE, "ei|log_ei", "bayesian: acquisition function"},
    {"restart_period", CF_PT_INT, "0", 0, 1e9, NULL, "bayesian: N >= 2: once the best basin has converged, N-1 of every N proposals come from a fresh GP outside converged basins (0 = off)"},
    {"restart_tol", CF_PT_FLOAT, "0.003", 0, 1, NULL, "bayesian: a basin is converged when its last 3 trials improved it by less than this fraction of the range of values"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_tune_objective_params[] = {
    {"metric", CF_PT_STRING, "", CF_PARAM_NO_RANGE, NULL, "<split>:<metric>, e.g. validation:accuracy"},
    {"goal", CF_PT_STRING, "", CF_PARAM_NO_RANGE, "maximize|minimize", "direction (required with metric)"},
    {"function", CF_PT_STRING, "", CF_PARAM_NO_RANGE, "|branin|hartmann6", "synthetic objective instead of training"},
    {"noise", CF_PT_FLOAT, "0", CF_PARAM_NO_RANGE, NULL, "synthetic: noise added to f(x)"},
    {"curve", CF_PT_FLOAT, "0", CF_PARAM_NO_RANGE, NULL, "synthetic: learning-curve shape"},
    {"epoch_seconds", CF_PT_FLOAT, "0", CF_PARAM_NO_RANGE, NULL, "synthetic: seconds per epoch"},
    {"fail_crash", CF_PT_FLOAT, "0", CF_PARAM_NO_RANGE, NULL, "synthetic: probability a trial crashes"},
    {"fail_nan", CF_PT_FLOAT, "0", CF_PARAM_NO_RANGE, NULL, "synthetic: probability a trial reports NaN"},
    {"fail_hang", CF_PT_FLOAT, "0", CF_PARAM_NO_RANGE, NULL, "synthetic: probability a trial hangs"},
    CF_PARAM_TABLE_END};

const cf_param_def cf_tune_param_params[] = {
    {"key", CF_PT_STRING, NULL, CF_PARAM_NO_RANGE, NULL, "config key to search (checked against this schema)"},
    {"type", CF_PT_STRING, NULL, CF_PARAM_NO_RANGE, "continuous|integer|categorical", "kind of range"},
    {"min", CF_PT_FLOAT, "", CF_PARAM_NO_RANGE, NULL, "lower end (continuous, integer)"},
    {"max", CF_PT_FLOAT, "", CF_PARAM_NO_RANGE, NULL, "upper end (continuous, integer)"},
    {"scale", CF_PT_STRING, "auto", CF_PARAM_NO_RANGE, "auto|linear|log|reverse-log", "scaling of the range"},
    {"steps", CF_PT_INT, "0", 1, 1e9, NULL, "grid: points of a continuous range"},
    {"values", CF_PT_STRING_LIST, "", CF_PARAM_NO_RANGE, NULL, "categorical: the values"},
    CF_PARAM_TABLE_END};

const cf_schema_section cf_schema_sections[] = {
    {"top level", cf_root_params},
    {"backend", cf_backend_params},
    {"data", cf_data_params},
    {"model", cf_model_params},
    {"model.layers[]", cf_layer_params},
    {"train", cf_train_params},
    {"train.early_stopping", cf_early_stop_params},
    {"train.lr_schedule", cf_schedule_params},
    {"train.ema", cf_ema_params},
    {"output", cf_output_params},
    {"tune", cf_tune_params},
    {"tune.objective", cf_tune_objective_params},
    {"tune.parameters[]", cf_tune_param_params},
    {NULL, NULL}};

/* ---- suggestions ------------------------------------------------------------ */
static int edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 63 || m > 63) return 99;
    int row[64];
    for (size_t j = 0; j <= m; j++) row[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m];
}

/* "learning_rate" -> "lr" */
static int initials_match(const char *name, const char *key)
{
    char ini[32];
    size_t k = 0;
    for (const char *c = name; *c && k + 1 < sizeof ini; c++)
        if (c == name || c[-1] == '_') ini[k++] = *c;
    ini[k] = '\0';
    return k > 1 && !strcmp(ini, key);
}

const char *cf_schema_suggest_names(const char *const *names, int n, const char *key)
{
    const char *best = NULL;
    int bd = 99, lim = (int)strlen(key) / 3;
    if (lim < 1) lim = 1;
    for (int i = 0; i < n; i++) {
        int d = edit_distance(names[i], key);
        size_t kl = strlen(key);
        if (d > lim && kl >= 3 && !strncmp(names[i], key, kl)) d = lim; /* a prefix: "momen" */
        if (d > lim && initials_match(names[i], key)) d = lim;
        if (d <= lim && d < bd) {
            bd = d;
            best = names[i];
        }
    }
    return best;
}

const char *cf_schema_suggest(const cf_param_def *defs, const char *key)
{
    const char *names[256];
    int n = 0;
    for (const cf_param_def *d = defs; d && d->name && n < 256; d++) names[n++] = d->name;
    return cf_schema_suggest_names(names, n, key);
}

void cf_schema_hint(const cf_param_def *defs, const char *key, char *buf, size_t cap)
{
    const char *s = cf_schema_suggest(defs, key);
    if (s) {
        snprintf(buf, cap, "; did you mean '%s'?", s);
        return;
    }
    size_t o = (size_t)snprintf(buf, cap, " (known:");
    for (const cf_param_def *d = defs; d && d->name && o < cap; d++)
        o += (size_t)snprintf(buf + o, cap - o, "%s %s", d == defs ? "" : ",", d->name);
    if (o < cap) snprintf(buf + o, cap - o, ")");
}

/* ---- the tree ----------------------------------------------------------------- */
typedef struct walk {
    const cf_config *c;
    const cf_schema_opts *o;
    cf_error *err;
} walk;

static cf_status unknown_at(walk *w, const config_setting_t *s, const char *section,
                            const cf_param_def *defs)
{
    char hint[1024], where[1100];
    const char *name = config_setting_name(s);
    cf_schema_hint(defs, name, hint, sizeof hint);
    cf_config_where(w->c, s, where, sizeof where);
    if (!w->o->strict) {
        if (w->o->warn)
            fprintf(w->o->warn, "warning: %s: unknown key '%s' in %s%s; ignored (strict_keys is off)\n",
                    where, name, section, hint);
        return CF_OK;
    }
    return cf_error_set(w->err, CF_ERR_INVALID, "%s: unknown key '%s' in %s%s", where, name, section, hint);
}

static const cf_param_def *plugin_table(const cf_registry *reg, cf_plugin_kind kind, const char *name)
{
    const cf_plugin_desc *d = NULL;
    cf_error e = {0};
    if (!reg || !name || cf_registry_find(reg, kind, name, &d, &e)) return NULL;
    return d->params;
}

/* Keys of group g against defs; settings made by --set (no line) are the
 * --set check's business. `skip` is a key the caller handles ("plugin"). */
static cf_status check_group(walk *w, const config_setting_t *g, const char *section,
                             const cf_param_def *defs, const char *skip)
{
    if (!g || !config_setting_is_group(g)) return CF_OK;
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(s);
        if (!name || !config_setting_source_line(s)) continue;
        if (skip && !strcmp(skip, name)) continue;
        if (!cf_param_find(defs, name)) CF_TRY(unknown_at(w, s, section, defs));
    }
    return CF_OK;
}

/* A knob in the parameter table of the backend that backend.name names (for
 * "auto", of any backend: which one runs is decided when it opens, and its
 * own table then checks the group again). */
static int backend_knob(const config_t *cfg, const cf_registry *reg, const char *key)
{
    const char *name = NULL;
    if (!cfg || !config_lookup_string(cfg, "backend.name", &name) || !*name || !strcmp(name, "auto"))
        name = NULL;
    for (int i = 0; i < cf_registry_count(reg); i++) {
        const cf_plugin_desc *d = cf_registry_desc(reg, i);
        if (d->kind != CF_PLUGIN_BACKEND || (name && strcmp(d->name, name))) continue;
        if (cf_param_find(d->params, key)) return 1;
    }
    return 0;
}

/* backend = { ... }: the engine's keys and the chosen backend's knobs. */
static cf_status check_backend_group(walk *w, const config_setting_t *g)
{
    if (!g || !config_setting_is_group(g)) return CF_OK;
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(s);
        if (!name || !config_setting_source_line(s)) continue;
        if (!cf_param_find(cf_backend_params, name) && !backend_knob(&w->c->cfg, w->o->reg, name))
            CF_TRY(unknown_at(w, s, "backend", cf_backend_params));
    }
    return CF_OK;
}

static cf_status check_plugin_group(walk *w, const config_setting_t *g, cf_plugin_kind kind,
                                    const char *section)
{
    const char *name = NULL;
    if (!g || !config_setting_is_group(g) || !config_setting_lookup_string(g, "plugin", &name))
        return CF_OK; /* the session reports the malformed group */
    const cf_param_def *defs = plugin_table(w->o->reg, kind, name);
    if (!defs) return CF_OK; /* unknown plugin: reported with the known ones later */
    char sec[256];
    snprintf(sec, sizeof sec, "%s (plugin %s)", section, name);
    static const cf_param_def none[] = {CF_PARAM_TABLE_END};
    return check_group(w, g, sec, defs[0].name ? defs : none, "plugin");
}

static cf_status check_list(walk *w, const config_setting_t *l, const char *section,
                            cf_status (*each)(walk *, const config_setting_t *, const char *))
{
    if (!l || !config_setting_is_list(l)) return CF_OK;
    for (int i = 0; i < config_setting_length(l); i++) {
        char sec[128];
        snprintf(sec, sizeof sec, "%s[%d]", section, i);
        CF_TRY(each(w, config_setting_get_elem(l, (unsigned)i), sec));
    }
    return CF_OK;
}

static cf_status each_reg(walk *w, const config_setting_t *g, const char *sec)
{
    return check_plugin_group(w, g, CF_PLUGIN_REGULARIZER, sec);
}
static cf_status each_aug(walk *w, const config_setting_t *g, const char *sec)
{
    return check_plugin_group(w, g, CF_PLUGIN_AUGMENTATION, sec);
}
static cf_status each_layer(walk *w, const config_setting_t *g, const char *sec)
{
    return check_group(w, g, sec, cf_layer_params, NULL);
}
static cf_status each_tune_param(walk *w, const config_setting_t *g, const char *sec)
{
    return check_group(w, g, sec, cf_tune_param_params, NULL);
}

static const char *key_of(const char *assignment, char *buf, size_t cap)
{
    const char *eq = strchr(assignment, '=');
    snprintf(buf, cap, "%.*s", eq ? (int)(eq - assignment) : (int)strlen(assignment), assignment);
    return buf;
}

cf_status cf_schema_check_config(const cf_config *c, const cf_schema_opts *o, cf_error *err)
{
    walk w = {c, o, err};
    const config_t *cfg = &c->cfg;
    CF_TRY(check_group(&w, config_root_setting(cfg), "the config", cf_root_params, NULL));
    CF_TRY(check_backend_group(&w, config_lookup(cfg, "backend")));
    static const struct { const char *path; const cf_param_def *defs; } g[] = {
        {"data", cf_data_params},
        {"train", cf_train_params},
        {"train.early_stopping", cf_early_stop_params},
        {"train.lr_schedule", cf_schedule_params},
        {"train.ema", cf_ema_params},
        {"output", cf_output_params},
        {"model", cf_model_params},
        {"tune", cf_tune_params},
        {"tune.objective", cf_tune_objective_params}};
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        CF_TRY(check_group(&w, config_lookup(cfg, g[i].path), g[i].path, g[i].defs, NULL));
    CF_TRY(check_list(&w, config_lookup(cfg, "model.layers"), "model.layers", each_layer));
    CF_TRY(check_list(&w, config_lookup(cfg, "tune.parameters"), "tune.parameters", each_tune_param));
    if (o->reg) {
        CF_TRY(check_plugin_group(&w, config_lookup(cfg, "optimizer"), CF_PLUGIN_OPTIMIZER, "optimizer"));
        CF_TRY(check_list(&w, config_lookup(cfg, "regularizers"), "regularizers", each_reg));
        CF_TRY(check_list(&w, config_lookup(cfg, "augmentations"), "augmentations", each_aug));
    }
    for (int i = 0; i < o->n_sets; i++) {
        char key[512];
        key_of(o->sets[i], key, sizeof key);
        cf_status st = cf_schema_check_key(cfg, o->reg, key, NULL, err);
        if (!st) continue;
        char src[1200];
        if (i < o->n_json)
            snprintf(src, sizeof src, "%s: SageMaker hyperparameter as %s", o->json, o->sets[i]);
        else
            snprintf(src, sizeof src, "--set %s", o->sets[i]);
        if (!o->strict) {
            if (o->warn) fprintf(o->warn, "warning: %s: %s; ignored (strict_keys is off)\n", src, err->msg);
            continue;
        }
        return cf_error_prefix(err, "%s", src);
    }
    return CF_OK;
}

/* ---- one dotted key ------------------------------------------------------------- */
static cf_status unknown_key(cf_error *err, const char *part, const char *section,
                             const cf_param_def *defs)
{
    char hint[1024];
    cf_schema_hint(defs, part, hint, sizeof hint);
    return cf_error_set(err, CF_ERR_INVALID, "unknown key '%s' in %s%s", part, section, hint);
}

/* Element `sel` (index or plugin/name value) of list `path` in base. */
static const config_setting_t *list_elem(const config_t *base, const char *path, const char *sel)
{
    const config_setting_t *l = base ? config_lookup(base, path) : NULL;
    if (!l || !config_setting_is_list(l)) return NULL;
    char *end;
    long idx = strtol(sel, &end, 10);
    if (end != sel && !*end) return config_setting_get_elem(l, (unsigned)idx);
    for (int i = 0; i < config_setting_length(l); i++) {
        const config_setting_t *e = config_setting_get_elem(l, (unsigned)i);
        const char *v;
        static const char *const keys[] = {"plugin", "name", "key"};
        for (int k = 0; k < 3; k++)
            if (config_setting_lookup_string(e, keys[k], &v) && !strcmp(v, sel)) return e;
    }
    return NULL;
}

static int has_key_in_any(const cf_registry *reg, cf_plugin_kind kind, const char *alts, const char *key)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", alts ? alts : "");
    char *save = NULL;
    for (char *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
        const cf_param_def *d = plugin_table(reg, kind, t);
        if (d && cf_param_find(d, key)) return 1;
    }
    return 0;
}

static cf_status check_plugin_key(const cf_registry *reg, cf_plugin_kind kind, const char *plugin,
                                  const char *key, const char *section, const char *alts, cf_error *err)
{
    if (!strcmp(key, "plugin") || !reg) return CF_OK;
    const cf_param_def *defs = plugin_table(reg, kind, plugin);
    if (!defs) return CF_OK; /* unknown plugin: reported with the known ones later */
    if (cf_param_find(defs, key) || has_key_in_any(reg, kind, alts, key)) return CF_OK;
    char sec[256];
    snprintf(sec, sizeof sec, "%s (plugin %s)", section, plugin);
    static const cf_param_def none[] = {CF_PARAM_TABLE_END};
    return unknown_key(err, key, sec, defs[0].name ? defs : none);
}

cf_status cf_schema_check_key(const config_t *base, const cf_registry *reg, const char *key,
                              const char *alt_plugins, cf_error *err)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", key);
    char *p[8];
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ".", &save); t && n < 8; t = strtok_r(NULL, ".", &save)) p[n++] = t;
    if (!n) return cf_error_set(err, CF_ERR_INVALID, "empty key");
    if (!cf_param_find(cf_root_params, p[0])) return unknown_key(err, p[0], "the config", cf_root_params);
    const cf_param_def *d = cf_param_find(cf_root_params, p[0]);
    if (n == 1) return CF_OK;
    if (d->type != CF_PT_GROUP)
        return cf_error_set(err, CF_ERR_INVALID, "'%s' is a value, not a group", p[0]);
    static const struct { const char *path; const cf_param_def *defs; } flat[] = {
        {"backend", cf_backend_params}, {"data", cf_data_params}, {"output", cf_output_params},
        {"train", cf_train_params},     {"model", cf_model_params}, {"tune", cf_tune_params},
        {"train.early_stopping", cf_early_stop_params}, {"train.lr_schedule", cf_schedule_params},
        {"train.ema", cf_ema_params},
        {"tune.objective", cf_tune_objective_params}};
    const char *plugin = NULL;
    if (!strcmp(p[0], "optimizer")) {
        if (!base || !config_lookup_string(base, "optimizer.plugin", &plugin)) plugin = "sgd";
        if (n > 2) return cf_error_set(err, CF_ERR_INVALID, "optimizer.%s is a value, not a group", p[1]);
        return check_plugin_key(reg, CF_PLUGIN_OPTIMIZER, plugin, p[1], "optimizer", alt_plugins, err);
    }
    if (!strcmp(p[0], "regularizers") || !strcmp(p[0], "augmentations")) {
        cf_plugin_kind kind = p[0][0] == 'r' ? CF_PLUGIN_REGULARIZER : CF_PLUGIN_AUGMENTATION;
        if (n < 3) return CF_OK; /* a whole element: cf_config_set refuses it */
        const config_setting_t *e = list_elem(base, p[0], p[1]);
        if (!e || !config_setting_lookup_string(e, "plugin", &plugin)) plugin = p[1];
        if (n > 3) return cf_error_set(err, CF_ERR_INVALID, "%s.%s.%s is a value, not a group", p[0], p[1], p[2]);
        return check_plugin_key(reg, kind, plugin, p[2], p[0], alt_plugins, err);
    }
    /* Engine groups, nested as the tables say; list elements by index or name. */
    char path[512];
    snprintf(path, sizeof path, "%s", p[0]);
    for (int i = 1; i < n; i++) {
        const cf_param_def *defs = NULL;
        for (size_t k = 0; k < sizeof flat / sizeof flat[0]; k++)
            if (!strcmp(flat[k].path, path)) defs = flat[k].defs;
        if (!strcmp(path, "model.layers")) defs = cf_layer_params;
        else if (!strcmp(path, "tune.parameters")) defs = cf_tune_param_params;
        if (!defs) return cf_error_set(err, CF_ERR_INVALID, "'%s' is a value, not a group", path);
        int is_list = !strcmp(path, "model.layers") || !strcmp(path, "tune.parameters");
        if (is_list) { /* p[i] selects the element; the next part is its key */
            if (i + 1 >= n) return CF_OK;
            i++;
        }
        if (!strcmp(path, "backend") && !cf_param_find(defs, p[i]) && backend_knob(base, reg, p[i]))
            return i + 1 < n ? cf_error_set(err, CF_ERR_INVALID, "'backend.%s' is a value, not a group", p[i])
                             : CF_OK;
        if (!cf_param_find(defs, p[i])) return unknown_key(err, p[i], path, defs);
        if (i + 1 < n && cf_param_find(defs, p[i])->type != CF_PT_GROUP)
            return cf_error_set(err, CF_ERR_INVALID, "'%s.%s' is a value, not a group", path, p[i]);
        size_t len = strlen(path);
        snprintf(path + len, sizeof path - len, ".%s", p[i]);
    }
    return CF_OK;
}

/* ---- the reference ---------------------------------------------------------------- */
void cf_schema_print_reference(const cf_registry *reg, FILE *f)
{
    fputs("# clforge configuration reference\n\nGenerated by `clforge config-reference` from the schema "
          "(engine/train/schema.c and each plugin's parameter table), the same tables the engine "
          "validates against, so it cannot drift from the code.\n\n"
          "Unknown keys are errors: in config files (named file:line), in `--set` (named `--set k=v`), "
          "in SageMaker hyperparameters JSON (named file and key) and in tune search spaces — each with "
          "a \"did you mean\" suggestion. Plugin keys are checked against the chosen plugin's table, layer keys against what the layer's type reads (`kernel` on a dense layer is an error). "
          "To turn them into warnings (and carry on ignoring them), put `strict_keys = false;` at the "
          "top level of the config or pass `--allow-unknown` to `clforge train` / `clforge tune`.\n\n",
          f);
    for (const cf_schema_section *s = cf_schema_sections; s->path; s++) {
        fprintf(f, "## %s\n\n", s->path);
        cf_params_print_markdown(s->defs, f);
        fputs("\n", f);
    }
    static const cf_plugin_kind kinds[] = {CF_PLUGIN_OPTIMIZER, CF_PLUGIN_REGULARIZER, CF_PLUGIN_AUGMENTATION};
    static const char *const where[] = {"optimizer", "regularizers[]", "augmentations[]"};
    for (int k = 0; reg && k < 3; k++) {
        for (int i = 0; i < cf_registry_count(reg); i++) {
            const cf_plugin_desc *d = cf_registry_desc(reg, i);
            if (d->kind != kinds[k]) continue;
            fprintf(f, "## %s: plugin = \"%s\"\n\n%s.\n\n", where[k], d->name, d->doc);
            if (d->params && d->params[0].name) cf_params_print_markdown(d->params, f);
            else fputs("(no parameters)\n", f);
            fputs("\n", f);
        }
    }
}
