/* The training loop: epochs over the session's data, per-epoch metrics,
 * checkpoints with resume, and the events every output is made from
 * (observe/sink.h). Everything the config asks for is validated (session.c)
 * before the run directory exists, so a bad config leaves nothing behind; a
 * run that fails later says so in summary.json ("status": "failed"). */
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "train/prefetch.h"
#include "train/aug_chain.h"
#include "dist/dist.h"
#include "dist/dp.h"
#include "core/crc32c.h"
#include "observe/diagnosis.h"
#include "observe/sink.h"
#include "train/checkpoint.h"
#include "train/early_stop.h"
#include "train/init_from.h"
#include "train/run_dir.h"
#include "train/sagemaker.h"
#include "train/session.h"

typedef struct run_state {
    const char *outcome;
    double wall;
    int epochs_run, best_epoch;
    cf_eval_result tr, va, te;
    int have_test;
    cf_confusion conf, va_conf; /* test; validation (the last epoch's; single-label) */
    cf_ml_report ml; /* multi-label: the test set's */
    char diag_code[64], diag_text[1024];
    long step;
} run_state;

/* stdout sinks, chosen by the command line; they exist before the config is
 * read, so even a config error ends with a --json "end" event. */
static cf_status stream_sinks(const cf_train_opts *o, FILE *out, cf_sinks *l, cf_error *err)
{
    if (o->json) CF_TRY(cf_sink_json_add(l, out, err));
    else if (!o->quiet) {
        if (isatty(fileno(out))) CF_TRY(cf_sink_progress_add(l, out, err));
        CF_TRY(cf_sink_console_add(l, out, err));
    }
    if (o->sagemaker_log) CF_TRY(cf_sink_sagemaker_add(l, out, err));
    return CF_OK;
}

/* Run-directory sinks, chosen by the config. They go before the stdout
 * sinks, so a file that cannot be written is what the console and --json
 * report at the end. */
static cf_status file_sinks(cf_session *s, cf_sinks *l, cf_error *err)
{
    cf_sinks f = {0};
    cf_status st = cf_sink_jsonl_add(&f, err);
    if (!st) st = cf_sink_csv_add(&f, err);
    if (!st && cf_params_bool(s->pout, "tensorboard")) st = cf_sink_tensorboard_add(&f, err);
    if (!st) st = cf_sink_summary_add(&f, err);
    if (!st && cf_params_bool(s->pout, "report")) st = cf_sink_report_add(&f, s->o->quiet ? NULL : s->warn, err);
    if (st) {
        cf_sinks_free(&f);
        return st;
    }
    return cf_sinks_prepend(l, &f, err);
}

static cf_status note(cf_sinks *l, cf_error *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static cf_status note(cf_sinks *l, cf_error *err, const char *fmt, ...)
{
    char text[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return cf_sinks_note(l, text, err);
}

cf_status cf_train_run(const cf_train_opts *o, cf_error *err)
{
    cf_session s;
    cf_session_init(&s, o, o->out);
    run_state rs;
    memset(&rs, 0, sizeof rs);
    rs.outcome = "failed";
    cf_early_stop es;
    int resume_epoch = 0;
    cf_prefetch *pf = NULL;
    double t_start = cf_now();
    cf_sinks sinks = {0};
    const char **class_names = NULL, **va_names = NULL;
    char ckdir[1100];
    /* Data parallel under mpirun (dist/dp.h): rank 0 alone writes the run
     * directory. dp_met: this rank has no meeting with the others ahead (a
     * rank that fails before one must still attend, or they wait forever). */
    cf_dp dp;
    cf_dp_init(&dp);
    int lead = dp.rank == 0, dp_met = 0;
    char *hosts = NULL;
    cf_status st = stream_sinks(o, s.out, &sinks, err);
    if (st) goto done;
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
    if (s.n_va && !s.multi) { /* per-class validation metrics every epoch (multi-label: its own) */
        if ((st = cf_confusion_init(&rs.va_conf, s.k, err))) goto done;
        if (!(va_names = cf_calloc((size_t)s.k, sizeof *va_names))) {
            st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (int c = 0; c < s.k; c++) va_names[c] = cf_session_class_name(&s, c);
    }
    int max_batch = s.batch > s.eval_batch ? s.batch : s.eval_batch;
    if ((st = cf_session_backend(&s, max_batch, err))) goto done;
    {   /* seeded init, model.init_from (unless a checkpoint is resumed: it wins), freeze, lr_mult */
        char ck[1300];
        snprintf(ck, sizeof ck, "%s/checkpoints/last.ckpt", o->run_dir ? o->run_dir : "");
        cf_sbuf rep = {0};
        st = cf_session_init_params(&s, resuming && cf_file_exists(ck), &rep, err);
        for (char *line = rep.s, *nl; !st && line && *line; line = nl + 1) {
            if (!(nl = strchr(line, '\n'))) break;
            *nl = '\0';
            st = note(&sinks, err, "%s", line);
        }
        cf_sbuf_free(&rep);
        if (st) goto done;
    }
    /* the average starts at the initial weights (a resumed run loads its own) */
    int ema_eval = 0, ema_save = 0;
    if (cf_session_member(&s, "train.ema") && cf_params_bool(s.pema, "enabled")) {
        if ((st = cf_ema_init(&s.ema, s.net, cf_params_num(s.pema, "decay"), cf_params_bool(s.pema, "warmup"), err)))
            goto done;
        ema_eval = cf_params_bool(s.pema, "evaluate");
        ema_save = cf_params_bool(s.pema, "save");
    }
    double base_lr = cf_params_num(s.opt.p, "learning_rate");
    if (!(base_lr == base_lr)) base_lr = 0.01; /* optimizer without a rate parameter */
    if ((st = cf_schedule_create(s.psched, base_lr, s.epochs, &s.sched, err))) goto done;
    cf_schedule_set_steps(s.sched, cf_dp_batches(&dp, s.n_tr, s.batch));
    if (resuming && s.epochs != cfg_epochs && cf_schedule_spans_total(s.sched)) {
        st = cf_error_set(err, CF_ERR_INVALID,
                          "%s: cannot change the run from %d to %d epochs: its %s lr_schedule spans "
                          "train.epochs, so the epochs already trained would have had other rates (set "
                          "lr_schedule.t_max, or start a new run)",
                          o->run_dir, cfg_epochs, s.epochs, cf_params_str(s.psched, "type"));
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
    if ((st = cf_dp_check_mode(&dp, cf_params_str(s.pt, "kv_store"), err))) goto done;
    {   /* every rank must run the same thing: checked before anything is written */
        char *ct = cf_config_to_string(&s.cfg);
        cf_dp_fingerprint fp = {"", ct ? cf_crc32c(ct, strlen(ct)) : 0, s.n_tr, s.n_va,
                                s.test.n, s.k, s.c, s.h, s.w, cf_net_param_count(s.net)};
        free(ct);
        snprintf(fp.version, sizeof fp.version, "%s", cf_dist_version());
        if ((st = cf_dp_check(&dp, CF_OK, &fp, err))) {
            dp_met = 1; /* every rank knows */
            goto done;
        }
    }
    if (lead && (st = file_sinks(&s, &sinks, err))) goto done;
    /* 2. The run directory. */
    if (resuming) {
        snprintf(s.run_dir, sizeof s.run_dir, "%s", o->run_dir);
        char ck[1300];
        snprintf(ck, sizeof ck, "%s/checkpoints/last.ckpt", s.run_dir);
        if (!cf_file_exists(ck)) {
            /* Stopped before any epoch completed: there is nothing to keep. */
            if ((st = note(&sinks, err, "%s: no completed epoch to resume from; starting at epoch 1", s.run_dir)))
                goto done;
        } else if ((st = cf_checkpoint_load(&s, ck, &resume_epoch, &rs.step, &es, err))) goto done;
        if (resume_epoch > s.epochs) {
            st = cf_error_set(err, CF_ERR_INVALID, "%s: the run has trained %d epochs already; --epochs %d would shorten it",
                              s.run_dir, resume_epoch, s.epochs);
            goto done;
        }
        /* a later --resume continues to the new length */
        if (lead && s.epochs != cfg_epochs && (st = cf_run_dir_write_config(&s, err))) goto done;
        if ((st = cf_sinks_open(&sinks, &(cf_ev_open){s.run_dir, 1, resume_epoch}, err))) goto done;
    } else if (lead) {
        if ((st = cf_run_dir_create(&s, err))) goto done;
        if ((st = cf_sinks_open(&sinks, &(cf_ev_open){s.run_dir, 0, 0}, err))) goto done;
        if ((st = cf_run_dir_write_config(&s, err))) goto done;
    }
    if (lead && (st = cf_run_dir_checkpoints(&s, ckdir, sizeof ckdir, err))) goto done;
    dp_met = 1;
    dp.overlap = cf_params_bool(s.pt, "allreduce_overlap");
    dp.bucket_mb = cf_params_num(s.pt, "bucket_mb");
    if ((st = cf_dp_start(&dp, s.net, CF_OK, err))) goto done; /* rank 0's weights everywhere */
    hosts = cf_dist_hosts();
    cf_ev_start start = {s.name, s.run_dir, s.be->name, s.be->info.name, PACKAGE_VERSION, s.n_tr, s.n_va,
                         s.epochs, resume_epoch, cf_net_param_count(s.net), rs.step, o->sets, o->n_sets};
    if ((st = cf_sinks_start(&sinks, &start, err))) goto done;
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
    if (resume_epoch > 0) { /* the diagnosis reads the whole curve, not only this process's part */
        char mp[1300];
        snprintf(mp, sizeof mp, "%s/metrics.jsonl", s.run_dir);
        cf_epoch_records_read(mp, resume_epoch, hist, &nh, NULL);
    }
    rs.epochs_run = resume_epoch;
    const int mixing = cf_aug_has_batch(&s);
    for (int epoch = resume_epoch + 1; epoch <= s.epochs && !st; epoch++) {
        double t0 = cf_now(), lsum = 0, wsum = 0, lr = cf_schedule_lr(s.sched, epoch - 1, 0);
        long correct = 0, seen = 0;
        memcpy(order, s.tr, (size_t)s.n_tr * sizeof *order);
        cf_shuffle(order, s.n_tr, s.seed, (uint64_t)epoch);
        /* batches of the global batch (mini_batch_size x ranks); this rank trains its shard */
        int nb = cf_dp_batches(&dp, s.n_tr, s.batch), off, m;
        double last_prog = 0;
        const int ahead = CF_PREFETCH_DEPTH - 1; /* batches assembled while one trains */
        for (int q = 0; q < ahead && q < nb; q++) {
            cf_dp_shard(&dp, s.n_tr, s.batch, q, &off, &m);
            cf_prefetch_submit(pf, &s.train, order + off, m, 1, (uint64_t)epoch);
        }
        for (int b = 0; b < nb && !st; b++) {
            cf_batch *cur;
            lr = cf_schedule_lr(s.sched, epoch - 1, (double)b / nb);
            if ((st = cf_prefetch_wait(pf, &cur, err))) break;
            if (b + ahead < nb) {
                cf_dp_shard(&dp, s.n_tr, s.batch, b + ahead, &off, &m);
                cf_prefetch_submit(pf, &s.train, order + off, m, 1, (uint64_t)epoch);
            }
            cf_dp_shard(&dp, s.n_tr, s.batch, b, &off, &m); /* this batch's share */
            if (m && mixing && (st = cf_aug_batch(&s, cur, m, (uint64_t)epoch, b, err))) break;
            rs.step++;
            double bl = 0, bw = 0, bw0 = 0;
            for (int i = 0; i < m; i++) bw0 += cur->w[i];
            cf_dp_begin(&dp, bw0); /* backward may start the gradient allreduces */
            /* rank 0 keeps the run's dropout seed: one rank trains as before */
            if (m) st = cf_net_run(s.net, cur->x, cur->t, cur->w, m, 1, s.seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)dp.rank),
                                   (uint64_t)rs.step, s.bl, s.bp, s.multi ? s.bprob : NULL, err);
            for (int i = 0; i < m && !st; i++) {
                bl += s.bl[i];
                bw += cur->w[i];
                if (s.multi) /* exact match: every label of the sample right */
                    correct += cf_ml_exact(s.bprob + (size_t)i * s.k, cur->t + (size_t)i * s.k, s.k, s.threshold);
                else { /* mixed targets: the class of the largest target (as timm counts it) */
                    int y = mixing ? cf_aug_target_class(cur->t + (size_t)i * s.k, s.k) : s.train.y[order[(size_t)off + i]];
                    correct += (int)s.bp[i] == y;
                }
            }
            wsum += bw;
            if (!st && !isfinite(bl)) {
                st = cf_error_set(err, CF_ERR_NUMERIC,
                                  "epoch %d, batch %d: the loss is %s (learning rate %g); lower "
                                  "optimizer.learning_rate or check the data",
                                  epoch, b + 1, isnan(bl) ? "NaN" : "infinite", lr);
            }
            /* every rank, also one that failed: the others wait for it here */
            if ((st = cf_dp_grads(&dp, s.net, bw, st, o->stop && *o->stop, err))) break;
            lsum += bl;
            seen += m;
            if ((st = cf_session_step(&s, rs.step, lr, cf_dp_global_len(&dp, s.n_tr, s.batch, b), err))) break;
            double now = cf_now();
            if (now - last_prog > 0.25 || b == nb - 1) { /* a few a second: the bar, not the data */
                double ips = seen / (now - t0);
                cf_ev_batch ev = {epoch, s.epochs, b + 1, nb, lsum / (wsum > 0 ? wsum : 1), ips,
                                  (s.n_tr - seen) / (ips > 0 ? ips : 1)};
                if ((st = cf_sinks_batch(&sinks, &ev, err))) break;
                last_prog = now;
            }
            if (dp.size == 1 && o->stop && *o->stop) { /* several ranks: cf_dp_grads stops them together */
                st = cf_error_set(err, CF_ERR_INTERRUPTED, "interrupted in epoch %d", epoch);
                break;
            }
        }
        if (st) break;
        double t_train = cf_now() - t0, sums[4] = {lsum, wsum, (double)correct, (double)seen};
        if ((st = cf_dp_sum(&dp, sums, 4, err))) break;
        if (!strcmp(cf_params_str(s.pt, "batchnorm_stats"), "average") && (st = cf_dp_average_stats(&dp, s.net, err)))
            break;
        lsum = sums[0], wsum = sums[1], correct = (long)sums[2], seen = (long)sums[3];
        cf_eval_result tr = {lsum / (wsum > 0 ? wsum : 1), (double)correct / (seen ? seen : 1), 0, seen}, va = {0};
        /* rank 0 validates (its batch-norm statistics) and tells the others, so
         * that schedules and early stopping decide alike everywhere */
        if (s.n_va && lead && ema_eval) st = cf_ema_swap_in(&s.ema, s.net, err);
        if (rs.va_conf.m) cf_confusion_reset(&rs.va_conf);
        if (!st && s.n_va && lead)
            st = cf_session_evaluate(&s, s.valid.n ? &s.valid : &s.train, s.va, s.n_va, rs.va_conf.m ? &rs.va_conf : NULL, &va, err);
        if (!st && s.n_va && lead && ema_eval) st = cf_ema_swap_out(&s.ema, s.net, err);
        if (dp.size > 1 && !(st = cf_dist_agree(st, err))) st = cf_dist_bcast(&va, sizeof va, 0, err);
        if (st) break;
        double secs = cf_now() - t0;
        rs.tr = tr;
        rs.va = va;
        rs.epochs_run = epoch;
        hist[nh++] = (cf_epoch_record){epoch, lr, tr.loss, tr.acc, va.loss, va.acc, secs};
        cf_metrics_report vm = {0};
        int have_vm = rs.va_conf.m && lead && cf_metrics_compute(&rs.va_conf, &vm, NULL) == CF_OK;
        cf_ev_epoch ev = {epoch, s.epochs, rs.step, lr, tr.loss, tr.acc, s.n_va > 0, va.loss, va.acc, va.topk,
                          s.top_k, secs, seen / t_train, s.multi, va.micro_f1, va.macro_f1, va.hamming,
                          have_vm ? &vm : NULL, va_names};
        st = cf_sinks_epoch(&sinks, &ev, err);
        if (have_vm) cf_metrics_report_free(&vm);
        if (st) break;
        cf_schedule_observe(s.sched, epoch - 1, s.n_va ? va.loss : tr.loss);
        int stop = cf_early_stop_update(&es, epoch, s.n_va ? (es_max ? va.acc : va.loss) : (es_max ? tr.acc : tr.loss));
        /* best, every checkpoint_frequency epochs, last (what --resume reads) */
        int freq = cf_params_int(s.pt, "checkpoint_frequency");
        for (int kind = 0; kind < 3 && !st && lead; kind++) {
            static const char *const kinds[3] = {"best", "epoch", "last"};
            char ck[1400];
            if (kind == 0 && !es.is_best) continue;
            if (kind == 1 && !(freq && epoch % freq == 0)) continue;
            if (kind == 1) snprintf(ck, sizeof ck, "%s/epoch-%d.ckpt", ckdir, epoch);
            else snprintf(ck, sizeof ck, "%s/%s.ckpt", ckdir, kinds[kind]);
            if (!(st = cf_checkpoint_save(&s, ck, epoch, rs.step, &es, err)))
                st = cf_sinks_checkpoint(&sinks, &(cf_ev_checkpoint){ck, kinds[kind], epoch, rs.step}, err);
        }
        if (dp.size > 1) st = cf_dist_agree(st, err);
        if (st) break;
        /* Test hook: die as abruptly as a SIGKILL'ed run would (tests/test_resume.sh). */
        const char *kill_at = getenv("CLFORGE_TEST_KILL_AFTER_EPOCH");
        if (kill_at && atoi(kill_at) == epoch) raise(SIGKILL);
        if (es_on && stop && epoch < s.epochs) { /* only news when it cuts training short */
            char why[256];
            cf_early_stop_reason(&es, why, sizeof why);
            st = note(&sinks, err, "early stopping: %s", why);
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
    if (!lead) { /* the rest is rank 0's: the test set, model.clf, the report */
        rs.outcome = "completed";
        goto done;
    }
    /* Restore the best-validation weights when early stopping chose them. */
    if (es_on && es.best_epoch && es.best_epoch != rs.epochs_run) {
        char ck[1400];
        cf_blob bl;
        snprintf(ck, sizeof ck, "%s/best.ckpt", ckdir);
        if ((st = cf_blob_read(ck, &bl, err))) goto done;
        st = cf_session_load_weights(&s, &bl, ck, err);
        if (!st) st = cf_ema_load(&s.ema, s.net, &bl, ck, err);
        cf_blob_free(&bl);
        if (st) goto done;
        if ((st = note(&sinks, err, "restored the weights of epoch %d (best validation)", es.best_epoch))) goto done;
    }
    if (ema_save && (st = cf_ema_swap_in(&s.ema, s.net, err))) goto done;
    /* 4. The test set, once, at the end. */
    if (!o->no_test && s.test.n) { /* no test set: data.train given without data.test */
        if ((st = cf_confusion_init(&rs.conf, s.k, err))) goto done;
        if ((st = cf_session_evaluate(&s, &s.test, NULL, s.test.n, s.multi ? NULL : &rs.conf, &rs.te, err))) goto done;
        if (s.multi && (st = cf_ml_compute(&s.ml, &rs.ml, err))) goto done;
        rs.have_test = 1;
        cf_ev_eval ev = {"test", rs.epochs_run, rs.te.loss, rs.te.acc, rs.te.topk, s.top_k, rs.te.n,
                         s.multi ? &rs.ml : NULL, NULL};
        if ((st = cf_sinks_eval(&sinks, &ev, err))) goto done;
    }
    {
        char mp[1300];
        snprintf(mp, sizeof mp, "%s/model.clf", s.run_dir);
        if ((st = cf_session_save_model(&s, mp, err))) goto done;
    }
    rs.outcome = "completed";
done:
    if (!dp_met && dp.size > 1) cf_dist_agree(st ? st : CF_ERR_INVALID, err);
    cf_prefetch_stop(pf);
    rs.wall = cf_now() - t_start;
    if (st == CF_ERR_INTERRUPTED) rs.outcome = "interrupted";
    if (rs.have_test && (class_names = cf_calloc((size_t)s.k, sizeof *class_names)))
        for (int c = 0; c < s.k; c++)
            class_names[c] = s.multi ? cf_session_class_name(&s, c) : c < s.test.k ? s.test.class_names[c] : "?";
    char *cfg_text = s.cfg_loaded ? cf_config_to_string(&s.cfg) : NULL;
    const char *skipped[CF_SKIPPED_NAMED];
    int n_skipped = 0;
    const cf_dataset *sets[3] = {&s.train, &s.valid, &s.test};
    for (int d = 0; d < 3; d++)
        for (int i = 0; i < sets[d]->n_named && n_skipped < CF_SKIPPED_NAMED; i++) skipped[n_skipped++] = sets[d]->skipped[i];
    cf_ev_end end = {
        .status = st, .message = st ? err->msg : NULL, .outcome = rs.outcome, .name = s.name,
        .run_dir = s.run_dir, .backend = s.be ? s.be->name : "", .device = s.be ? s.be->info.name : "",
        .device_version = s.be ? s.be->info.version : "", .optimizer = s.opt.d ? s.opt.d->name : "",
        .version = PACKAGE_VERSION, .config_text = cfg_text, .seed = s.seed, .wall_seconds = rs.wall,
        .epochs_run = rs.epochs_run, .best_epoch = rs.best_epoch, .steps = rs.step,
        .parameters = s.net ? cf_net_param_count(s.net) : 0L, .train_loss = rs.tr.loss,
        .train_accuracy = rs.tr.acc, .validation_loss = rs.va.loss, .validation_accuracy = rs.va.acc,
        .train_samples = s.n_tr, .validation_samples = s.n_va, .have_test = rs.have_test && class_names,
        .test_loss = rs.te.loss, .test_accuracy = rs.te.acc, .test_topk = rs.te.topk, .top_k = s.top_k,
        .test_samples = rs.te.n, .k = s.k, .class_names = class_names ? class_names : va_names, .confusion = &rs.conf,
        .validation_confusion = rs.va_conf.m && rs.epochs_run > resume_epoch && lead ? &rs.va_conf : NULL,
        .diagnosis_code = rs.diag_code, .diagnosis_text = rs.diag_text,
        .skipped = s.train.n_skipped + s.valid.n_skipped + s.test.n_skipped, .skipped_files = skipped,
        .n_skipped_files = n_skipped, .world_size = dp.size, .hosts = hosts,
        .allreduce_seconds = dp.allreduce_s, .allreduce_steps = dp.steps,
        .test_ml = rs.ml.per_label ? &rs.ml : NULL, .threshold = s.threshold, .multi_label = s.multi,
        .validation_micro_f1 = rs.va.micro_f1, .validation_macro_f1 = rs.va.macro_f1,
        .validation_hamming = rs.va.hamming};
    cf_sinks_end(&sinks, &end, err);
    st = end.status;
    free(cfg_text);
    free(class_names);
    cf_sinks_free(&sinks);
    free(hosts);
    cf_dp_free(&dp);
    if (rs.conf.m) cf_confusion_free(&rs.conf);
    cf_ml_report_free(&rs.ml);
    if (rs.va_conf.m) cf_confusion_free(&rs.va_conf);
    free(va_names);
    cf_session_free(&s);
    return st;
}
