/* clforge — gradient clipping by global norm (train.clip_grad_norm), as
 * torch.nn.utils.clip_grad_norm_: with ||g|| the L2 norm of all trainable
 * gradients together,
 *
 *   g = g * min(1, max_norm / (||g|| + 1e-6))
 *
 * It clips what the optimizer is about to read: the batch-mean gradient
 * (averaged over the ranks under MPI, so every rank clips alike) plus the
 * regularizers' terms (l2); decay an optimizer applies itself (weight_decay)
 * comes after, as in torch, where clipping sees .grad before optimizer.step(). */
#ifndef CF_GRAD_CLIP_H
#define CF_GRAD_CLIP_H

#include "clforge/clforge.h"

/* scratch: a 1-element tensor on the step's backend. *norm_out (may be NULL):
 * the norm before clipping. */
cf_status cf_clip_grad_norm(cf_backend *be, const cf_optim_step *os, double max_norm, cf_tensor *scratch,
                            double *norm_out, cf_error *err);

#endif
