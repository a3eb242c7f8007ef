/* visualization.h - what the visualization files share inside the library. */
#ifndef SAL_VISUALIZATION_H
#define SAL_VISUALIZATION_H

#include <stddef.h>

/* NumPy's default ('linear') percentile of v[0..n-1], n > 0: interpolates
 * between the order statistics around rank p/100 * (n - 1).  Reorders v. */
double sal_percentile_linear(float *v, size_t n, double p);

/* Matplotlib's 256-entry colour tables (RGB in [0, 1]), written by
 * tools/make_goldens_visualization.py into colormap_tables.c. */
extern const float sal_inferno_table[256][3];
extern const float sal_viridis_table[256][3];
extern const float sal_jet_table[256][3];

#endif
