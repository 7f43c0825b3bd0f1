/* clforge — multi-label targets: a dataset's label columns (a .lst's or
 * RecordIO headers' labels, data/reader.h) as multi-hot rows [N, K]. */
#ifndef CLFORGE_DATA_MULTILABEL_H
#define CLFORGE_DATA_MULTILABEL_H

#include "data/dataset.h"

/* Label columns as SageMaker's two formats say (data.label_format):
 * "multi-hot": K columns of 0/1, one per class; "class-id": each column is a
 * class index (a shorter list repeats one); "auto": multi-hot when there
 * are several columns and every value is 0 or 1, else class-id.
 * k: the classes expected (the training data's, the model's, num_classes;
 * 0: unknown). Fills d->multi (n x K), sets d->k = K, numbers the classes
 * "0".."K-1" (data.class_names names them) and d->y to each sample's first
 * label (for the stratified split). path names the data in errors. */
cf_status cf_dataset_multi_hot(cf_dataset *d, const char *label_format, int k, const char *path, cf_error *err);

#endif
