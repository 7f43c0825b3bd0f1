/* clforge — SageMaker image-classification compatibility. */
#ifndef CLFORGE_SAGEMAKER_H
#define CLFORGE_SAGEMAKER_H

#include <libconfig.h>

#include "clforge/clforge.h"
#include "core/config_file.h"

/* hyperparameters JSON → "key=value" overrides (malloc'ed array of strings). */
cf_status cf_sagemaker_overrides(const char *path, char ***sets, int *n_sets, cf_error *err);
/* SageMaker's defaults for the names the JSON at path leaves out, on keys
 * the config leaves unset (precedence and the list: sagemaker.c, docs/guide.md). */
cf_status cf_sagemaker_defaults(cf_config *c, const char *path, cf_error *err);
/* Expand augmentation_type into an augmentations list in cfg. */
cf_status cf_augmentation_preset(config_t *cfg, const char *preset, int channels, FILE *warn,
                                 cf_error *err);

#endif
