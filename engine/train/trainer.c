/* The training loop: epochs over the session's data, per-epoch metrics,
 * checkpoints with resume, the run directory and its summary. Everything the
 * config asks for is validated (session.c) before the run directory exists,
 * so a bad config leaves nothing behind; a run that fails later says so in
 * summary.json ("status": "failed"). */
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"
#include "observe/diagnosis.h"
#include "train/early_stop.h"
#include "observe/report.h"
#include "train/sagemaker.h"
#include "data/prefetch.h"
#include "train/session.h"

static void env_json(cf_sbuf *b, cf_session *s)
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
    cf_eval_result tr, va, te;
    int have_test;
    cf_confusion conf;
    char diag_code[64], diag_text[1024];
    long step;
} run_state;

static cf_status write_summary(cf_session *s, run_state *rs, cf_error *err)
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
static cf_status save_checkpoint(cf_session *s, const char *path, int epoch, long step,
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

static cf_status load_checkpoint(cf_session *s, const char *path, int *epoch, long *step,
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
    if ((rc = cf_session_load_weights(s, &bl, path, err))) goto out;
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
static cf_status make_run_dir(cf_session *s, cf_error *err)
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

static void progress(cf_session *s, int epoch, int b, int nb, double loss, double ips, double eta)
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
    cf_session s;
    cf_session_init(&s, o, o->out);
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.status = "failed";
    cf_early_stop es;
    int resume_epoch = 0;
    int dir_made = 0;
    cf_prefetch *pf = NULL;
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
    /* SageMaker hyperparameters come first; explicit --set overrides win. */
    char **hp = NULL;
    int n_hp = 0;
    cf_train_opts merged = *o;
    if (o->hyperparameters) {
        if ((st = cf_sagemaker_overrides(o->hyperparameters, &hp, &n_hp, err))) goto done;
        const char **all = cf_calloc((size_t)(n_hp + o->n_sets) + 1, sizeof *all);
        for (int i = 0; i < n_hp; i++) all[i] = hp[i];
        for (int i = 0; i < o->n_sets; i++) all[n_hp + i] = o->sets[i];
        merged.sets = all;
        merged.n_sets = n_hp + o->n_sets;
        s.o = &merged;
    }
    st = cf_session_config(&s, cfg_path, err);
    if (o->hyperparameters) {
        free((void *)merged.sets);
        for (int i = 0; i < n_hp; i++) free(hp[i]);
        free(hp);
        s.o = o;
    }
    if (st) goto done;
    /* --epochs: train.epochs of a new run, or the new length of a resumed one. */
    int cfg_epochs = s.epochs;
    if (o->epochs > 0 && o->epochs != s.epochs) {
        char kv[48];
        snprintf(kv, sizeof kv, "train.epochs=%d", o->epochs);
        if ((st = cf_config_set(&s.cfg, kv, err))) goto done;
        s.epochs = o->epochs;
    }
    const char *bm = cf_params_str(s.pt, "batch_mode");
    if ((st = cf_session_data(&s, 1, !o->no_test, err))) goto done;
    if (!strcmp(bm, "full-batch")) s.batch = s.n_tr;
    else if (!strcmp(bm, "per-sample")) s.batch = 1;
    if ((st = cf_session_plugins(&s, err))) goto done;
    if ((st = cf_session_model(&s, err))) goto done;
    int max_batch = s.batch > s.eval_batch ? s.batch : s.eval_batch;
    if ((st = cf_session_backend(&s, max_batch, err))) goto done;
    if ((st = cf_net_init_params(s.net, s.seed, err))) goto done;
    const cf_optimizer_vtable *ov = s.opt.d->vtable;
    if ((st = cf_net_alloc_slots(s.net, ov->n_slots(s.opt.state), err))) goto done;
    double base_lr = cf_params_num(s.opt.p, "learning_rate");
    if (!(base_lr == base_lr)) base_lr = 0.01; /* optimizer without a rate parameter */
    if ((st = cf_schedule_create(s.psched, base_lr, s.epochs, &s.sched, err))) goto done;
    if (resuming && s.epochs != cfg_epochs && cf_schedule_spans_total(s.sched)) {
        st = cf_error_set(err, CF_ERR_INVALID,
                          "%s: cannot change the run from %d to %d epochs: its cosine lr_schedule spans "
                          "train.epochs, so the epochs already trained would have had other rates (set "
                          "lr_schedule.t_max, or start a new run)",
                          o->run_dir, cfg_epochs, s.epochs);
        goto done;
    }
    int es_on = cf_session_member(&s, "train.early_stopping") && cf_params_bool(s.pes, "enabled");
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
        if (!cf_file_exists(ck)) {
            /* Stopped before any epoch completed: there is nothing to keep. */
            if (!o->quiet && !o->json)
                fprintf(s.out, "%s: no completed epoch to resume from; starting at epoch 1\n", s.run_dir);
        } else if ((st = load_checkpoint(&s, ck, &resume_epoch, &rs.step, &es, err))) goto done;
        if (resume_epoch > s.epochs) {
            st = cf_error_set(err, CF_ERR_INVALID, "%s: the run has trained %d epochs already; --epochs %d would shorten it",
                              s.run_dir, resume_epoch, s.epochs);
            goto done;
        }
        if (s.epochs != cfg_epochs) { /* a later --resume continues to the new length */
            char *txt = cf_config_to_string(&s.cfg), path[1300];
            snprintf(path, sizeof path, "%s/config.cfg", s.run_dir);
            st = cf_write_file_atomic(path, txt, strlen(txt), err);
            free(txt);
            if (st) goto done;
        }
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
        if (resuming && resume_epoch) fprintf(s.out, "resuming after epoch %d (step %ld)\n", resume_epoch, rs.step);
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
    if ((st = cf_prefetch_start(&pf, &s, s.batch, err))) {
        free(order);
        free(hist);
        goto done;
    }
    int nh = 0;
    rs.epochs_run = resume_epoch;
    for (int epoch = resume_epoch + 1; epoch <= s.epochs && !st; epoch++) {
        double t0 = cf_now(), lsum = 0, wsum = 0, lr = cf_schedule_lr(s.sched, epoch - 1, 0);
        long correct = 0, seen = 0;
        memcpy(order, s.tr, (size_t)s.n_tr * sizeof *order);
        cf_shuffle(order, s.n_tr, s.seed, (uint64_t)epoch);
        int nb = (s.n_tr + s.batch - 1) / s.batch;
        double last_prog = 0;
#define BATCH_LEN(b) (s.n_tr - (b) * s.batch < s.batch ? s.n_tr - (b) * s.batch : s.batch)
        cf_prefetch_submit(pf, &s.train, order, BATCH_LEN(0), 1, (uint64_t)epoch);
        for (int b = 0; b < nb && !st; b++) {
            int m = BATCH_LEN(b);
            cf_batch *cur;
            lr = cf_schedule_lr(s.sched, epoch - 1, (double)b / nb);
            if ((st = cf_prefetch_wait(pf, &cur, err))) break;
            if (b + 1 < nb) /* the next batch is assembled while this one trains */
                cf_prefetch_submit(pf, &s.train, order + (size_t)(b + 1) * s.batch, BATCH_LEN(b + 1), 1, (uint64_t)epoch);
            rs.step++;
            if ((st = cf_net_run(s.net, cur->x, cur->t, cur->w, m, 1, s.seed, (uint64_t)rs.step, s.bl, s.bp, NULL, err))) break;
            double bl = 0;
            for (int i = 0; i < m; i++) {
                bl += s.bl[i];
                wsum += cur->w[i];
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
            if ((st = cf_session_step(&s, rs.step, lr, m, err))) break;
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
        cf_eval_result tr = {lsum / (wsum > 0 ? wsum : 1), (double)correct / (seen ? seen : 1), 0, seen}, va = {0};
        if (s.n_va && (st = cf_session_evaluate(&s, &s.train, s.va, s.n_va, NULL, &va, err))) break;
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
        if (es_on && stop && epoch < s.epochs) { /* only news when it cuts training short */
            char why[256];
            cf_early_stop_reason(&es, why, sizeof why);
            if (!o->quiet && !o->json) fprintf(s.out, "early stopping: %s\n", why);
            break;
        }
    }
    cf_prefetch_stop(pf); /* waits for a batch still being assembled */
    pf = NULL;
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
        st = cf_session_load_weights(&s, &bl, ck, err);
        cf_blob_free(&bl);
        if (st) goto done;
        if (!o->quiet && !o->json) fprintf(s.out, "restored the weights of epoch %d (best validation)\n", es.best_epoch);
    }
    /* 4. The test set, once, at the end. */
    if (!o->no_test) {
        if ((st = cf_confusion_init(&rs.conf, s.k, err))) goto done;
        if ((st = cf_session_evaluate(&s, &s.test, NULL, s.test.n, &rs.conf, &rs.te, err))) goto done;
        rs.have_test = 1;
    }
    {
        char mp[1300];
        snprintf(mp, sizeof mp, "%s/model.clf", s.run_dir);
        if ((st = cf_session_save_model(&s, mp, err))) goto done;
    }
    rs.status = "completed";
done:
    cf_prefetch_stop(pf);
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
    cf_session_free(&s);
    return st;
}

/* ---- eval and model printing ------------------------------------------------------ */
