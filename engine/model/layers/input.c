/* "input": the model's input as a row of the summary; not a config layer
 * (no parse hook), so `type = "input"` is refused. */
#include "model/layer.h"

const cf_layer_type_def cf_layer_input = {.name = "input"};
