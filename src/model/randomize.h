/* randomize.h - cascading randomization of a model's weights, the model
 * parameter test of Adebayo et al. 2018, "Sanity Checks for Saliency Maps":
 * a saliency method that explains the model should give different maps once
 * the layers nearest the logits no longer hold what the model learnt.
 *
 * Call on a loaded model before creating a context from it: some operators
 * (depthwise, and every XNNPACK operator) pack the weights a context is
 * created with. */
#ifndef SAL_MODEL_RANDOMIZE_H
#define SAL_MODEL_RANDOMIZE_H

#include <stdint.h>

#include "../saliency.h"

/* Weighted layers (convolutions, depthwise convolutions, dense layers) that
 * feed the logits, counted from the logits down. */
int sal_model_num_weighted_layers(const sal_model *model);
/* Name of the index-th of them (0: the one nearest the logits), or NULL. */
const char *sal_model_weighted_layer_name(const sal_model *model, int index);

/* Re-draws the weights and biases of the `count` weighted layers nearest the
 * logits: each array gets fresh Gaussian draws with its own former mean and
 * standard deviation (the layer keeps its scale, loses what it learnt).  A
 * folded batch norm stays.  Reproducible from `seed`. */
int sal_model_randomize_top_layers(sal_model *model, int count, uint64_t seed, sal_error *err);

#endif
