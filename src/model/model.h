/* model.h - what a loaded model is inside: its graph and what the importer
 * learned about its input. */
#ifndef SAL_MODEL_MODEL_H
#define SAL_MODEL_MODEL_H

#include "graph.h"

struct sal_model {
    sal_graph graph;   /* simplified: BN folded, identities removed */
    int in_h, in_w, in_c; /* declared input size; 0 where free */
    int n_classes;     /* channels of the logits node */
    const char **layer_names; /* every name a layer answers to, in graph order (points into graph) */
    int n_layer_names;
};

#endif
