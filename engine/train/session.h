/* clforge — the session shared by train, eval, predict and lr-find. */
#ifndef CLFORGE_SESSION_H
#define CLFORGE_SESSION_H

#include "observe/metrics.h"
#include "observe/metrics_multilabel.h"
#include "train/schedule.h"
#include "train/train_opts.h"
#include "core/util.h"
#include "core/params.h"
#include "core/plugin_params.h"
#include "core/config_file.h"
#include "model/net.h"
#include "model/modelfile.h"
#include "data/dataset.h"
#include "train/batch.h"
#include "train/ema.h"

typedef struct cf_plugin_inst {
    const cf_plugin_desc *d;
    cf_params *p;
    void *state;
} cf_plugin_inst;

typedef struct cf_session {
    const cf_train_opts *o;
    cf_config cfg;
    int cfg_loaded;
    int lenient_keys; /* a saved model's config: keys were checked when it was trained */
    FILE *warn, *out;
    cf_params *root, *pb, *pd, *pt, *pes, *pout, *psched;
    cf_registry *reg;
    cf_backend *be;
    cf_dataset train, test, valid; /* valid: data.validation (else a split of train) */
    struct cf_item *item;          /* decode scratch of cf_session_batch */
    int *tr, n_tr, *va, n_va;
    int c, h, w, k;
    double mean[4], std[4];
    cf_model_spec *spec;
    cf_net *net;
    cf_plugin_inst opt;
    cf_plugin_inst *regs, *augs;
    int n_regs, n_augs;
    cf_loss_kind loss;
    float smoothing;
    float *class_w;
    /* data.multi_label: multi-hot targets, BCE, per-label metrics of the
     * last cf_session_evaluate in ml (probability > threshold predicts) */
    int multi;
    float threshold;
    float *pos_w;      /* BCE pos_weight (K), or NULL */
    cf_ml_counts ml;
    uint64_t seed;
    int batch, eval_batch, epochs, top_k;
    char name[256], run_dir[1024];
    float *bx, *bt, *bw, *bl, *bp, *bprob, *aug_a, *aug_b;
    size_t aug_px; /* floats of each augmentation scratch buffer (0: 4 x the input's) */
    cf_schedule *sched;
    cf_params *pema;
    cf_ema ema;           /* train.ema: on after cf_ema_init (the trainer's) */
    double clip_norm;     /* train.clip_grad_norm (0 = off) */
    cf_tensor clip_t;     /* its 1-element scratch */
    double grad_norm;     /* the last step's norm before clipping */
    /* data.classes: the training data's class names before the subset
     * (validation and test folders are matched against them) and where
     * each of those classes went (-1: left out). */
    char **all_names;
    int k_all, *keep;
} cf_session;

typedef struct cf_eval_result {
    double loss, acc, topk; /* multi-label: acc = exact match (subset accuracy) */
    long n;
    double micro_f1, macro_f1, hamming; /* multi-label only */
    /* Seconds in the network's forward passes (upload, ops, download of the
     * outputs) over forward_n images, without decoding or assembling batches:
     * what "inference images/s" means next to a framework timing model(x).
     * The first batch, and a last partial one, are left out when there are
     * other full batches (they pay one-time JIT compilation of kernels for
     * their shapes and first-touch page faults). */
    double forward_s;
    long forward_n;
} cf_eval_result;

/* An empty session reading options o, printing to out (NULL: stdout). */
void cf_session_init(cf_session *s, const cf_train_opts *o, FILE *out);
void cf_plugin_inst_free(cf_plugin_inst *pi, int kind);
void cf_session_free(cf_session *s);
config_setting_t *cf_session_member(cf_session *s, const char *path);
cf_status cf_session_group(cf_session *s, const char *path, const cf_param_def *defs,
                              const char *skip, cf_params **out, cf_error *err);
/* Load a config file (or text, for a saved model), apply o->sets (after the
 * SageMaker defaults of o->hyperparameters), check every key against the
 * schema and validate the engine sections. */
cf_status cf_session_config(cf_session *s, const char *path, cf_error *err);
cf_status cf_session_config_text(cf_session *s, const char *text, const char *name, cf_error *err);
cf_status cf_session_data(cf_session *s, int need_train, int need_test, cf_error *err);
/* One data path in any format (IDX through cf_idx_load, else a reader) as a
 * dataset of c x h x w images (0s: the data's own shape); part: "train" or
 * "test" (a CIFAR directory's half); labels_key: IDX's labels key. */
cf_status cf_session_open_data(cf_session *s, const char *path, const char *part, const char *labels_key,
                               int limit, int c, int h, int w, cf_dataset *d, cf_error *err);
/* Number a class-folder dataset's classes as names[0..k) does (a test tree
 * may hold a subset, in any order); a folder that is not a class is an error. */
cf_status cf_dataset_match_classes(cf_dataset *d, const char *path, const char *const *names, int k,
                                   cf_error *err);
/* data.classes applied to d (the training data, or the test data of a model
 * trained on a subset): the listed classes only, numbered in the list's
 * order, at most the first lim (0: all). */
cf_status cf_session_class_subset(cf_session *s, cf_dataset *d, const char *where, int lim, cf_error *err);
cf_status cf_session_plugin(cf_session *s, cf_plugin_kind kind, const config_setting_t *g,
                             cf_plugin_inst *pi, cf_error *err);
cf_status cf_session_plugins(cf_session *s, cf_error *err);
cf_status cf_session_model(cf_session *s, cf_error *err);
cf_status cf_session_backend(cf_session *s, int max_batch, cf_error *err);
cf_status cf_session_evaluate(cf_session *s, const cf_dataset *d, const int *idx, int n, cf_confusion *conf,
                          cf_eval_result *r, cf_error *err);
cf_status cf_session_step(cf_session *s, long step, double lr, int batch, cf_error *err);
cf_status cf_session_save_model(cf_session *s, const char *path, cf_error *err);
cf_status cf_session_load_weights(cf_session *s, const cf_blob *bl, const char *path, cf_error *err);
/* Rebuild a saved model (config, normalisation, classes, weights) on a backend
 * (NULL = the one it was trained with) with `threads` compute threads (0 = as
 * trained). Loads no data. */
cf_status cf_session_open_model(cf_session *s, const char *model_path, const char *backend,
                                int threads, int max_batch, cf_error *err);
const char *cf_session_class_name(const cf_session *s, int c);

#endif
