/* clforge — a training session's starting parameters: the seeded init, then
 * model.init_from (fine-tuning), train.freeze and train.lr_mult, then the
 * optimizer's state (docs/transfer.md). */
#ifndef CLFORGE_TRAIN_INIT_FROM_H
#define CLFORGE_TRAIN_INIT_FROM_H

#include "core/util.h"
#include "train/session.h"

/* Initialise s->net for training. With skip_init_from (a resumed run whose
 * checkpoint is loaded next: it wins) model.init_from is not read. What
 * init_from loaded, re-initialised and left unmatched, and what is frozen,
 * is appended to report as lines for the console. Errors before anything is
 * written: a missing or corrupt file, a file none of whose layers fits, a
 * pattern of init_exclude / freeze / lr_mult that matches no layer. */
cf_status cf_session_init_params(cf_session *s, int skip_init_from, cf_sbuf *report, cf_error *err);

/* The tensors of an ONNX file named as clforge names parameters
 * ("conv1.weight", "bn1.running_mean"), for model.init_from = "x.onnx".
 * Defined by the ONNX importer (engine/onnx/) when it is built in; a weak
 * reference, so without it an .onnx init_from is refused with a message. */
cf_status cf_onnx_init_tensors(const char *path, cf_blob *out, cf_error *err) __attribute__((weak));

#endif
