/* The network's parameter list: accessors, seeded initialisation, and the
 * optimizer's view (state slots, the step's parameter array). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "model/net_impl.h"

cf_backend *cf_net_backend(cf_net *n) { return n->b; }
int cf_net_classes(const cf_net *n) { return n->classes; }
int cf_net_n_params(const cf_net *n) { return n->n_params; }
cf_net_param *cf_net_param_at(cf_net *n, int i) { return &n->params[i]; }
int cf_net_slots(const cf_net *n) { return n->n_slots; }

long cf_net_param_count(const cf_net *n)
{
    long c = 0;
    for (int i = 0; i < n->n_params; i++)
        if (n->params[i].trainable) c += (long)cf_tensor_numel(&n->params[i].value);
    return c;
}

cf_status cf_net_init_params(cf_net *net, uint64_t seed, cf_error *err)
{
    net->fold_ok = 0;
    int xavier = !strcmp(net->init, "xavier");
    for (int i = 0; i < net->n_params; i++) {
        cf_net_param *p = &net->params[i];
        size_t n = cf_tensor_numel(&p->value);
        float *h = malloc(n * sizeof *h);
        if (!h) return cf_error_set(err, CF_ERR_NOMEM, "out of memory initialising %s", p->name);
        cf_rng r = cf_rng_make(seed, CF_RNG_INIT, (uint64_t)i, 0);
        const char *suffix = strrchr(p->name, '.');
        float fill = suffix && (!strcmp(suffix, ".gamma") || !strcmp(suffix, ".running_var")) ? 1.0f : 0.0f;
        for (size_t k = 0; k < n; k++) {
            if (!p->is_weight) h[k] = fill;
            else if (xavier) {
                double a = sqrt(6.0 / (p->fan_in + p->fan_out));
                h[k] = (float)cf_rng_range(&r, -a, a);
            } else
                h[k] = (float)(cf_rng_normal(&r) * sqrt(2.0 / p->fan_in));
        }
        cf_status s = cf_tensor_upload(net->b, &p->value, h, err);
        free(h);
        if (s) return cf_error_prefix(err, "initialising %s", p->name);
    }
    return CF_OK;
}

cf_status cf_net_alloc_slots(cf_net *net, int n_slots, cf_error *err)
{
    net->n_slots = n_slots;
    net->n_optim = 0;
    free(net->optim);
    net->optim = cf_calloc((size_t)net->n_params, sizeof *net->optim);
    free(net->slot_ptrs);
    net->slot_ptrs = cf_calloc((size_t)net->n_params * (size_t)(n_slots ? n_slots : 1), sizeof *net->slot_ptrs);
    if (!net->optim || !net->slot_ptrs) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    cf_compute cx = cf_backend_compute(net->b);
    /* Parameters of one lr_mult together, groups in order of first use (one
     * group, the parameters in net order, without train.lr_mult). */
    double mults[64];
    int n_groups = 0;
    net->group_at[0] = 0;
    for (int g = 0; g < (n_groups ? n_groups : 1); g++) {
        for (int i = 0; i < net->n_params; i++) {
            cf_net_param *p = &net->params[i];
            if (!p->trainable || p->frozen) continue; /* frozen: no state */
            int pg = 0;
            while (pg < n_groups && mults[pg] != p->lr_mult) pg++;
            if (pg == n_groups) {
                if (n_groups == 64) return cf_error_set(err, CF_ERR_INVALID, "train.lr_mult: more than 64 different multipliers");
                mults[n_groups++] = p->lr_mult;
            }
            if (pg != g) continue;
            if (n_slots > 0) {
                p->slots = cf_calloc((size_t)n_slots, sizeof *p->slots);
                if (!p->slots) return cf_error_set(err, CF_ERR_NOMEM, "out of memory");
                for (int k = 0; k < n_slots; k++) {
                    CF_TRY(cf_tensor_alloc(net->b, &p->slots[k], p->value.ndim, p->value.shape, p->name, err));
                    CF_TRY(cf_vec_fill(&cx, &p->slots[k], 0.0f, err));
                }
            }
            cf_optim_param *o = &net->optim[net->n_optim++];
            o->value = &p->value;
            o->grad = &p->grad;
            cf_tensor **sp = &net->slot_ptrs[(size_t)i * (size_t)(n_slots ? n_slots : 1)];
            for (int k = 0; k < n_slots; k++) sp[k] = &p->slots[k];
            o->slots = sp;
            o->name = p->name;
            o->is_weight = p->is_weight;
        }
        net->group_at[g + 1] = net->n_optim;
        if (g < n_groups) net->group_mult[g] = mults[g];
    }
    net->n_groups = n_groups;
    return CF_OK;
}

void cf_net_optim_step(cf_net *net, cf_optim_step *s, const cf_compute *cx, long step, double lr)
{
    s->cx = cx;
    s->step = step;
    s->lr = lr;
    s->n_params = net->n_optim;
    s->params = net->optim;
}

int cf_net_optim_groups(const cf_net *net) { return net->n_groups; }

void cf_net_optim_group(cf_net *net, int g, cf_optim_step *s, const cf_compute *cx, long step, double lr)
{
    s->cx = cx;
    s->step = step;
    s->lr = lr * net->group_mult[g];
    s->n_params = net->group_at[g + 1] - net->group_at[g];
    s->params = net->optim + net->group_at[g];
}
