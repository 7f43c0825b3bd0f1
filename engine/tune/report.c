/* Study outputs: trials.csv, best.cfg (the base config with the winning
 * overrides, written by libconfig so it loads back exactly) and
 * tune_report.html (one self-contained file, inline SVG, no scripts, no
 * network). Files are written to a temporary name and renamed, so a reader
 * never sees half a file. */
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe/svg.h"
#include "tune/tune.h"

static cf_status commit(FILE *f, const char *tmp, const char *path, cf_error *err)
{
    int bad = ferror(f), e = errno;
    if (fclose(f) != 0 || bad) {
        if (!bad) e = errno;
        remove(tmp);
        return cf_error_set(err, CF_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        remove(tmp);
        return cf_error_set(err, CF_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
    }
    return CF_OK;
}

static void csv_str(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

cf_status cf_tune_write_csv(const cf_study *s, const char *path, cf_error *err)
{
    const cf_tune_config *c = cf_study_config(s);
    char tmp[CF_TUNE_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return cf_error_set(err, CF_ERR_IO, "%s: %s", tmp, strerror(errno));
    fprintf(f, "trial,state,%s,epochs,epochs_run,bracket,rung,parent,seconds", c->objective.metric);
    for (int i = 0; i < c->space.n; i++) {
        fputc(',', f);
        csv_str(f, c->space.p[i].key);
    }
    fputs(",reason,worker\n", f);
    for (int i = 0; i < cf_study_count(s); i++) {
        const cf_trial *t = cf_study_trial(s, i);
        char v[40];
        if (isfinite(t->value) && (t->state == CF_TRIAL_DONE || t->state == CF_TRIAL_PRUNED))
            snprintf(v, sizeof v, "%.10g", t->value);
        else
            v[0] = 0;
        fprintf(f, "%d,%s,%s,%d,%d,%d,%d,%d,%.3f", t->id, cf_trial_state_name(t->state), v, t->epochs,
                cf_trial_epochs_run(t), t->bracket, t->rung, t->parent,
                t->state == CF_TRIAL_RUNNING || t->state == CF_TRIAL_PENDING ? 0.0 : t->seconds);
        for (int k = 0; k < c->space.n; k++) {
            char b[160];
            cf_tune_format_value(&c->space.p[k], t->x[k], b, sizeof b);
            fputc(',', f);
            csv_str(f, b);
        }
        fputc(',', f);
        csv_str(f, t->reason);
        fputc(',', f);
        csv_str(f, t->worker);
        fputc('\n', f);
    }
    return commit(f, tmp, path, err);
}

/* ---- best.cfg ------------------------------------------------------------- */

/* Set a dotted path (groups created as needed; numeric parts index lists). */
static int set_path(config_t *conf, const char *key, const cf_tune_param *p, double x)
{
    char buf[CF_TUNE_KEY_MAX];
    snprintf(buf, sizeof buf, "%s", key);
    config_setting_t *g = config_root_setting(conf);
    char *save = NULL, *part = strtok_r(buf, ".", &save);
    while (part) {
        char *next = strtok_r(NULL, ".", &save);
        char *idx = part;
        if (*idx == '[') idx++;
        config_setting_t *child = NULL;
        if ((config_setting_is_list(g) || config_setting_is_array(g)) && isdigit((unsigned char)*idx)) {
            child = config_setting_get_elem(g, (unsigned)atoi(idx));
            if (!child) return -1;
        } else if (config_setting_is_list(g)) {
            /* as `train --set` does: a list element named by its plugin/name/key value */
            static const char *const ids[] = {"plugin", "name", "key"};
            for (int i = 0; i < config_setting_length(g) && !child; i++) {
                config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
                const char *v;
                for (int k = 0; k < 3 && !child; k++)
                    if (config_setting_is_group(e) && config_setting_lookup_string(e, ids[k], &v) &&
                        !strcmp(v, part))
                        child = e;
            }
            if (!child) return -1;
        } else {
            if (!config_setting_is_group(g)) return -1;
            child = config_setting_get_member(g, part);
        }
        if (!next) {
            char text[160];
            cf_tune_format_value(p, x, text, sizeof text);
            int type;
            /* plain int where it fits: libconfig writes int64 with an L suffix */
            int small = fabs(x) < 2147483647.0;
            if (p->type == CF_TP_INTEGER) type = small ? CONFIG_TYPE_INT : CONFIG_TYPE_INT64;
            else if (p->type == CF_TP_CONTINUOUS) type = CONFIG_TYPE_FLOAT;
            else if (!strcmp(text, "true") || !strcmp(text, "false")) type = CONFIG_TYPE_BOOL;
            else if (p->values_are_numbers) type = strpbrk(text, ".eE") ? CONFIG_TYPE_FLOAT : CONFIG_TYPE_INT;
            else type = CONFIG_TYPE_STRING;
            if (child && config_setting_type(child) != type) {
                /* a list element keeps its place; a group member is replaced */
                if (!config_setting_is_group(g)) return -1;
                config_setting_remove(g, part);
                child = NULL;
            }
            if (!child) child = config_setting_add(g, part, type);
            if (!child) return -1;
            switch (type) {
            case CONFIG_TYPE_INT: return config_setting_set_int(child, (int)strtol(text, NULL, 10)) == CONFIG_TRUE ? 0 : -1;
            case CONFIG_TYPE_INT64: return config_setting_set_int64(child, llround(x)) == CONFIG_TRUE ? 0 : -1;
            case CONFIG_TYPE_FLOAT: return config_setting_set_float(child, strtod(text, NULL)) == CONFIG_TRUE ? 0 : -1;
            case CONFIG_TYPE_BOOL: return config_setting_set_bool(child, text[0] == 't') == CONFIG_TRUE ? 0 : -1;
            default: return config_setting_set_string(child, text) == CONFIG_TRUE ? 0 : -1;
            }
        }
        if (!child) child = config_setting_add(g, part, CONFIG_TYPE_GROUP);
        if (!child) return -1;
        g = child;
        part = next;
    }
    return -1;
}

cf_status cf_tune_write_best_cfg(const cf_study *s, const char *path, cf_error *err)
{
    const cf_tune_config *c = cf_study_config(s);
    int b = cf_study_best(s);
    if (b < 0) return cf_error_set(err, CF_ERR_INVALID, "%s: no finished trial yet", path);
    const cf_trial *t = cf_study_trial(s, b);
    config_t conf;
    config_init(&conf);
    if (config_read_file(&conf, c->config_path) != CONFIG_TRUE) {
        cf_status st = cf_error_set(err, CF_ERR_IO, "%s:%d: %s", c->config_path, config_error_line(&conf),
                                    config_error_text(&conf));
        config_destroy(&conf);
        return st;
    }
    /* the result is a training config: the study settings are left out */
    config_setting_remove(config_root_setting(&conf), "tune");
    for (int i = 0; i < c->space.n; i++) {
        if (set_path(&conf, c->space.p[i].key, &c->space.p[i], t->x[i]) != 0) {
            config_destroy(&conf);
            return cf_error_set(err, CF_ERR_INVALID,
                                "%s: cannot set '%s' in a copy of %s (a part of the path is not a group)",
                                path, c->space.p[i].key, c->config_path);
        }
    }
    /* a multi-fidelity winner is reproduced with the budget it was judged on */
    if ((c->strategy == CF_STRAT_HYPERBAND || c->strategy == CF_STRAT_ASHA) && t->epochs > 0 &&
        !c->objective.function) {
        cf_tune_param ep = {.type = CF_TP_INTEGER};
        set_path(&conf, "train.epochs", &ep, t->epochs);
    }
    char tmp[CF_TUNE_PATH_MAX + 8], body[CF_TUNE_PATH_MAX + 8];
    snprintf(body, sizeof body, "%s.body", path);
    int ok = config_write_file(&conf, body) == CONFIG_TRUE;
    config_destroy(&conf);
    if (!ok) return cf_error_set(err, CF_ERR_IO, "%s: cannot write", body);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w"), *in = fopen(body, "r");
    if (!f || !in) {
        if (f) fclose(f);
        if (in) fclose(in);
        remove(body);
        return cf_error_set(err, CF_ERR_IO, "%s: %s", tmp, strerror(errno));
    }
    char v[40];
    snprintf(v, sizeof v, "%.10g", t->value);
    fprintf(f, "# Written by clforge tune: study '%s' (%s), best trial %d, %s = %s.\n", c->name,
            cf_tune_strategy_name(c->strategy), t->id, c->objective.metric, v);
    fprintf(f, "# Base config: %s with these values:\n", c->config_path);
    for (int i = 0; i < c->space.n; i++) {
        char tx[160];
        cf_tune_format_value(&c->space.p[i], t->x[i], tx, sizeof tx);
        fprintf(f, "#   %s = %s\n", c->space.p[i].key, tx);
    }
    fputc('\n', f);
    char buf[8192];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, r, f);
    fclose(in);
    remove(body);
    return commit(f, tmp, path, err);
}

/* ---- tune_report.html ------------------------------------------------------- */

static const char *state_color(cf_trial_state st)
{
    return st == CF_TRIAL_DONE ? "#1f77b4" : st == CF_TRIAL_PRUNED ? "#d62728" : "#7f7f7f";
}

cf_status cf_tune_write_html(const cf_study *s, const char *path, cf_error *err)
{
    const cf_tune_config *c = cf_study_config(s);
    char tmp[CF_TUNE_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return cf_error_set(err, CF_ERR_IO, "%s: %s", tmp, strerror(errno));
    int n = cf_study_count(s), best = cf_study_best(s);
    int nd = 0, np = 0, nf = 0;
    double vmin = INFINITY, vmax = -INFINITY;
    int emax = 1;
    for (int i = 0; i < n; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        nd += t->state == CF_TRIAL_DONE;
        np += t->state == CF_TRIAL_PRUNED;
        nf += t->state == CF_TRIAL_FAILED;
        for (int e = 0; e < t->n_curve; e++)
            if (isfinite(t->curve[e])) {
                if (t->curve[e] < vmin) vmin = t->curve[e];
                if (t->curve[e] > vmax) vmax = t->curve[e];
            }
        if (isfinite(t->value) && t->state != CF_TRIAL_FAILED) {
            if (t->value < vmin) vmin = t->value;
            if (t->value > vmax) vmax = t->value;
        }
        if (t->n_curve > emax) emax = t->n_curve;
    }
    if (!isfinite(vmin)) vmin = 0, vmax = 1;
    fputs("<!DOCTYPE html><html><head><meta charset='utf-8'><title>clforge tune: ", f);
    cf_svg_esc_file(f, c->name);
    fputs("</title><style>body{font-family:sans-serif;margin:20px;color:#222}"
          "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
          "th{background:#eee}.plot{margin:6px;vertical-align:top}.pruned{color:#d62728}.failed{color:#7f7f7f}"
          ".best{background:#e6f4e6}</style></head><body>",
          f);
    fputs("<h1>Tuning study: ", f);
    cf_svg_esc_file(f, c->name);
    fprintf(f, "</h1><p>Strategy <b>%s</b>, objective <b>", cf_tune_strategy_name(c->strategy));
    cf_svg_esc_file(f, c->objective.metric);
    fprintf(f, "</b> (%s)%s%s. %d trials: %d finished, %d pruned, %d failed; %d epochs in all; %.1f s. Stopped: ",
            c->objective.maximize ? "maximize" : "minimize", c->objective.function ? ", synthetic function " : "",
            c->objective.function ? cf_tune_synthetic_name(c->objective.function) : "", n, nd, np, nf,
            cf_study_total_epochs(s), cf_study_elapsed(s));
    cf_svg_esc_file(f, cf_study_stop_reason(s)[0] ? cf_study_stop_reason(s) : "running");
    fputs(".</p>", f);
    if (best >= 0) {
        const cf_trial *t = cf_study_trial(s, best);
        fprintf(f, "<p>Best: trial %d, %s = <b>%.6g</b> with ", t->id, c->objective.metric, t->value);
        for (int k = 0; k < c->space.n; k++) {
            char b[160];
            cf_tune_format_value(&c->space.p[k], t->x[k], b, sizeof b);
            fputs(k ? ", " : "", f);
            cf_svg_esc_file(f, c->space.p[k].key);
            fputs(" = ", f);
            cf_svg_esc_file(f, b);
        }
        fputs(" (best.cfg).</p>", f);
    }

    /* One bad trial must not flatten the rest: log axis when values span > 100x. */
    int logy = vmin > 0 && isfinite(vmax) && vmax > 100 * vmin;
    int any_curve = 0;
    for (int i = 0; i < n; i++) any_curve |= cf_study_trial(s, i)->n_curve > 1;

    /* 1. objective per trial and best so far */
    cf_svg_plot p = {f, 0, n > 1 ? n - 1 : 1, vmin, vmax, 0, 560, 300, 60, 15, 24, 30, logy};
    cf_svg_plot_begin(&p, f, "Objective per trial and best so far", "trial", c->objective.metric);
    double bs = NAN;
    fputs("<polyline fill='none' stroke='#2ca02c' stroke-width='2' points='", f);
    for (int i = 0; i < n; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        if (t->state == CF_TRIAL_DONE && cf_tune_better(c, t->value, bs)) bs = t->value;
        if (isfinite(bs)) fprintf(f, "%.1f,%.1f ", cf_svg_plot_x(&p, i), cf_svg_plot_y(&p, bs));
    }
    fputs("'/>", f);
    for (int i = 0; i < n; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        if (!isfinite(t->value) || t->state == CF_TRIAL_FAILED) continue;
        fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'><title>trial %d: %.6g (%s)</title></circle>",
                cf_svg_plot_x(&p, i), cf_svg_plot_y(&p, t->value), state_color(t->state), t->id, t->value,
                cf_trial_state_name(t->state));
    }
    fputs("</svg>", f);

    /* 2. learning curves, pruned trials marked where they were stopped (only
     *    when some trial ran more than one epoch) */
    cf_svg_plot lc = {f, 1, emax > 1 ? emax : 2, vmin, vmax, 0, 560, 300, 60, 15, 24, 30, logy};
    if (any_curve) cf_svg_plot_begin(&lc, f, "Learning curves (red: pruned, x = where)", "epoch", c->objective.metric);
    for (int i = 0; any_curve && i < n; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        if (t->n_curve < 1) continue;
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-opacity='%s' stroke-width='%s' points='",
                i == best ? "#2ca02c" : state_color(t->state), i == best ? "1" : "0.5", i == best ? "2.5" : "1");
        for (int e = 0; e < t->n_curve; e++)
            if (isfinite(t->curve[e])) fprintf(f, "%.1f,%.1f ", cf_svg_plot_x(&lc, e + 1), cf_svg_plot_y(&lc, t->curve[e]));
        fprintf(f, "'><title>trial %d</title></polyline>", t->id);
        if (t->state == CF_TRIAL_PRUNED && t->pruned_epoch >= 1 && t->pruned_epoch <= t->n_curve) {
            double x = cf_svg_plot_x(&lc, t->pruned_epoch), y = cf_svg_plot_y(&lc, t->curve[t->pruned_epoch - 1]);
            fprintf(f, "<path d='M%.1f %.1fl6 6m0 -6l-6 6' stroke='#d62728' stroke-width='2'/>", x - 3, y - 3);
        }
    }
    if (any_curve) fputs("</svg>", f);

    /* 3. objective against each parameter */
    fputs("<h2>Objective against each parameter</h2>", f);
    for (int k = 0; k < c->space.n; k++) {
        const cf_tune_param *q = &c->space.p[k];
        int cat = q->type == CF_TP_CATEGORICAL;
        cf_svg_plot pp = {f, cat ? -0.5 : q->min, cat ? q->n_values - 0.5 : q->max, vmin, vmax,
                   q->scale == CF_TS_LOG && !cat, 360, 240, 60, 15, 24, 30, logy, cat};
        cf_svg_plot_begin(&pp, f, q->key, cat ? "" : q->scale == CF_TS_LOG ? "log scale" : "", c->objective.metric);
        if (cat)
            for (int v = 0; v < q->n_values; v++) {
                fprintf(f, "<text x='%.1f' y='%d' font-size='10' text-anchor='middle'>", cf_svg_plot_x(&pp, v), pp.H - pp.B + 12);
                cf_svg_esc_file(f, q->values[v]);
                fputs("</text>", f);
            }
        for (int i = 0; i < n; i++) {
            const cf_trial *t = cf_study_trial(s, i);
            if (!isfinite(t->value) || t->state == CF_TRIAL_FAILED) continue;
            double xv = t->x[k];
            if (cat) xv += 0.3 * (((t->id * 37) % 11) / 10.0 - 0.5); /* jitter */
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s' fill-opacity='0.7'/>", cf_svg_plot_x(&pp, xv),
                    cf_svg_plot_y(&pp, t->value), i == best ? "#2ca02c" : state_color(t->state));
        }
        fputs("</svg>", f);
    }

    /* 4. the trials */
    fputs("<h2>Trials</h2><table><tr><th>trial</th><th>state</th><th>", f);
    cf_svg_esc_file(f, c->objective.metric);
    /* multi-fidelity: where each run sits in the brackets, and whom it continues */
    int mf = c->strategy == CF_STRAT_HYPERBAND || c->strategy == CF_STRAT_ASHA;
    fputs("</th><th title='budget'>epochs</th><th title='epochs this trial trained itself'>run</th>", f);
    if (mf) fputs("<th>bracket</th><th>rung</th><th title='promoted from trial'>from</th>", f);
    fputs("<th>seconds</th>", f);
    for (int k = 0; k < c->space.n; k++) {
        fputs("<th>", f);
        cf_svg_esc_file(f, c->space.p[k].key);
        fputs("</th>", f);
    }
    fputs("<th>reason</th></tr>", f);
    for (int i = 0; i < n; i++) {
        const cf_trial *t = cf_study_trial(s, i);
        fprintf(f, "<tr class='%s'><td>%d</td><td>%s</td><td>", i == best ? "best" : cf_trial_state_name(t->state),
                t->id, cf_trial_state_name(t->state));
        if (isfinite(t->value) && t->state != CF_TRIAL_FAILED) fprintf(f, "%.6g", t->value);
        fprintf(f, "</td><td>%d</td><td>%d</td>", t->epochs, cf_trial_epochs_run(t));
        if (mf) {
            fprintf(f, "<td>%d</td><td>%d</td><td>", t->bracket, t->rung);
            if (t->parent >= 0) fprintf(f, "%d", t->parent);
            fputs("</td>", f);
        }
        fprintf(f, "<td>%.1f</td>", t->seconds);
        for (int k = 0; k < c->space.n; k++) {
            char b[160];
            cf_tune_format_value(&c->space.p[k], t->x[k], b, sizeof b);
            fputs("<td>", f);
            cf_svg_esc_file(f, b);
            fputs("</td>", f);
        }
        fputs("<td style='text-align:left'>", f);
        cf_svg_esc_file(f, t->reason);
        fputs("</td></tr>", f);
    }
    fputs("</table></body></html>\n", f);
    return commit(f, tmp, path, err);
}
