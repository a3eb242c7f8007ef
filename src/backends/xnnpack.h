/* xnnpack.h - the heavy operators of kernels.h run by XNNPACK (Debian's
 * libxnnpack-dev, its 2022 operator API) on a pthreadpool.  Compiled only
 * when CMake found XNNPACK (SAL_HAVE_XNNPACK).
 *
 * Like the portable kernels: *_create keeps the layer's shape and borrows its
 * Keras-layout weights, the run functions take shapes and pointers, *_destroy
 * frees.  XNNPACK fixes an operator's padding when it creates it (and packs
 * the weights then), so every operator that slides a window keeps a few
 * XNNPACK operators keyed by their geometry: *_prepare makes the one a shape
 * needs (packing weights only for a geometry not seen before), the run
 * functions find it.  Inputs may be read up to 16 bytes past their end
 * (XNN_EXTRA_BYTES), as XNNPACK's kernels do.
 *
 * Every function returns SAL_OK or fills err with a message naming the
 * operator and XNNPACK's complaint.
 */
#ifndef SAL_BACKENDS_XNNPACK_H
#define SAL_BACKENDS_XNNPACK_H

#include <stdint.h>

#include "../kernels/kernels.h"
#include "../saliency.h"

struct xnn_operator;
struct pthreadpool;
typedef struct pthreadpool *sal_xnn_pool; /* NULL runs on the calling thread */

/* Initializes XNNPACK (idempotent, reference-counted by XNNPACK) and makes a
 * pool of n_threads (counting the caller; none for 1). */
int sal_xnn_start(int n_threads, sal_xnn_pool *pool, sal_error *err);
void sal_xnn_stop(sal_xnn_pool pool);

/* Padding, stride and dilation: what an operator is keyed by. */
typedef struct {
    int top, right, bottom, left;
    int stride_h, stride_w, dilation_h, dilation_w;
} sal_xnn_geometry;

#define SAL_XNN_SLOTS 4 /* geometries kept per operator: input sizes of different parity, say */

typedef struct {
    sal_xnn_geometry key[SAL_XNN_SLOTS];
    struct xnn_operator *op[SAL_XNN_SLOTS];
    int next; /* slot to reuse when all are taken */
} sal_xnn_cache;

/* ------------------------------------------------------------ Conv2D */
typedef struct {
    const float *kernel, *bias; /* [kh,kw,cin,cout], [cout] or NULL; borrowed */
    int kh, kw, cin, cout;
    sal_xnn_cache forward;   /* convolution */
    sal_xnn_cache backward;  /* deconvolution with the channel axes swapped */
} sal_xnn_conv2d_op;

void sal_xnn_conv2d_create(sal_xnn_conv2d_op *op, const float *kernel, const float *bias,
                           int kh, int kw, int cin, int cout);
void sal_xnn_conv2d_destroy(sal_xnn_conv2d_op *op);
/* backward: also make the input-gradient operator. */
int sal_xnn_conv2d_prepare(sal_xnn_conv2d_op *op, const sal_window *win, sal_dims xd, sal_dims yd, int backward,
                           sal_error *err);
int sal_xnn_conv2d_forward(const sal_xnn_conv2d_op *op, sal_xnn_pool pool, const sal_window *win,
                           const float *x, sal_dims xd, float *y, sal_dims yd, sal_error *err);
int sal_xnn_conv2d_backward_input(const sal_xnn_conv2d_op *op, sal_xnn_pool pool, const sal_window *win,
                                  const float *dy, sal_dims yd, float *dx, sal_dims xd, sal_error *err);

/* --------------------------------------------------- DepthwiseConv2D */
typedef struct {
    const float *kernel, *bias; /* [kh,kw,cin,mult], [cin*mult] or NULL; borrowed */
    int kh, kw, cin, mult;
    sal_xnn_cache forward;
    /* multiplier 1: a depthwise convolution with the flipped kernel over dy,
     * spread out with zeros when strided; otherwise a grouped deconvolution. */
    sal_xnn_cache backward;
    float *spread;           /* the zero-spread dy */
    size_t spread_floats;
} sal_xnn_depthwise_op;

void sal_xnn_depthwise_create(sal_xnn_depthwise_op *op, const float *kernel, const float *bias,
                              int kh, int kw, int cin, int mult);
void sal_xnn_depthwise_destroy(sal_xnn_depthwise_op *op);
int sal_xnn_depthwise_prepare(sal_xnn_depthwise_op *op, const sal_window *win, sal_dims xd, sal_dims yd,
                              int backward, sal_error *err);
int sal_xnn_depthwise_forward(const sal_xnn_depthwise_op *op, sal_xnn_pool pool, const sal_window *win,
                              const float *x, sal_dims xd, float *y, sal_dims yd, sal_error *err);
int sal_xnn_depthwise_backward_input(const sal_xnn_depthwise_op *op, sal_xnn_pool pool, const sal_window *win,
                                     const float *dy, sal_dims yd, float *dx, sal_dims xd, sal_error *err);

/* ------------------------------------------------------------- Dense */
typedef struct {
    int in, out;
    struct xnn_operator *forward, *backward;
} sal_xnn_dense_op;

/* kernel: [in,out]; packed here (no geometry to wait for). */
int sal_xnn_dense_create(sal_xnn_dense_op *op, const float *kernel, const float *bias, int in, int out,
                         sal_error *err);
void sal_xnn_dense_destroy(sal_xnn_dense_op *op);
int sal_xnn_dense_forward(const sal_xnn_dense_op *op, sal_xnn_pool pool, const float *x, int rows, float *y,
                          sal_error *err);
int sal_xnn_dense_backward_input(const sal_xnn_dense_op *op, sal_xnn_pool pool, const float *dy, int rows,
                                 float *dx, sal_error *err);

/* ------------------------------------------------------------- Pools */
/* Pools take their channel count from the first shape they are prepared for. */
typedef struct {
    int channels;
    sal_xnn_cache forward;
    sal_xnn_cache argmax, unpool; /* backward, when windows tile the input (stride = pool size) */
    float *pooled;                /* argmax's values (unused) and indices */
    uint32_t *index;
    size_t scratch_count;
} sal_xnn_max_pool_op;

void sal_xnn_max_pool_create(sal_xnn_max_pool_op *op);
void sal_xnn_max_pool_destroy(sal_xnn_max_pool_op *op);
/* Can the backward pass run on XNNPACK?  When the windows tile the padded
 * input exactly (stride = pool size, no dilation, no rows or columns left over). */
int sal_xnn_max_pool_backward_supported(const sal_window *win, sal_dims xd, sal_dims yd);
int sal_xnn_max_pool_prepare(sal_xnn_max_pool_op *op, const sal_window *win, sal_dims xd, sal_dims yd,
                             int backward, sal_error *err);
int sal_xnn_max_pool_forward(const sal_xnn_max_pool_op *op, sal_xnn_pool pool, const sal_window *win,
                             const float *x, sal_dims xd, float *y, sal_dims yd, sal_error *err);
int sal_xnn_max_pool_backward(const sal_xnn_max_pool_op *op, sal_xnn_pool pool, const sal_window *win,
                              const float *x, sal_dims xd, const float *dy, sal_dims yd, float *dx,
                              sal_error *err);

typedef struct {
    int channels;
    sal_xnn_cache forward;
} sal_xnn_avg_pool_op;

void sal_xnn_avg_pool_create(sal_xnn_avg_pool_op *op);
void sal_xnn_avg_pool_destroy(sal_xnn_avg_pool_op *op);
int sal_xnn_avg_pool_prepare(sal_xnn_avg_pool_op *op, const sal_window *win, sal_dims xd, sal_dims yd,
                             sal_error *err);
int sal_xnn_avg_pool_forward(const sal_xnn_avg_pool_op *op, sal_xnn_pool pool, const sal_window *win,
                             const float *x, sal_dims xd, float *y, sal_dims yd, sal_error *err);

/* x [n,h,w,c] -> y [n,c] */
typedef struct {
    int channels;
    struct xnn_operator *forward;
} sal_xnn_global_avg_pool_op;

void sal_xnn_global_avg_pool_create(sal_xnn_global_avg_pool_op *op);
int sal_xnn_global_avg_pool_prepare(sal_xnn_global_avg_pool_op *op, int channels, sal_error *err);
void sal_xnn_global_avg_pool_destroy(sal_xnn_global_avg_pool_op *op);
int sal_xnn_global_avg_pool_forward(const sal_xnn_global_avg_pool_op *op, sal_xnn_pool pool, const float *x,
                                    sal_dims xd, float *y, sal_error *err);

#endif
