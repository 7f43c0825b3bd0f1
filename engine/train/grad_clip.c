/* clforge — gradient clipping by global norm; the rule is in grad_clip.h. */
#include <math.h>

#include "train/grad_clip.h"

cf_status cf_clip_grad_norm(cf_backend *be, const cf_optim_step *os, double max_norm, cf_tensor *scratch,
                            double *norm_out, cf_error *err)
{
    /* sum of squares accumulated on the device: one download per step */
    for (int i = 0; i < os->n_params; i++)
        CF_TRY(cf_vec_op(os->cx, CF_OP_SUMSQ, scratch, os->params[i].grad, NULL, 1.0f, i ? 1.0f : 0.0f, 0, err));
    float ss = 0;
    if (os->n_params) CF_TRY(cf_tensor_download(be, scratch, &ss, err));
    double norm = sqrt((double)ss);
    if (norm_out) *norm_out = norm;
    if (!isfinite(norm))
        return cf_error_set(err, CF_ERR_NUMERIC, "train.clip_grad_norm: the gradient norm is %g", norm);
    double coef = max_norm / (norm + 1e-6);
    if (coef >= 1) return CF_OK;
    /* g = 0 p + coef g: an output never aliases an input (backend.h), so the
     * (finite) parameter stands in as the x the op reads */
    for (int i = 0; i < os->n_params; i++)
        CF_TRY(cf_vec_axpby(os->cx, os->params[i].grad, 0.0f, os->params[i].value, (float)coef, err));
    return CF_OK;
}
