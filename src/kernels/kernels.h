/* kernels.h - the numeric operators, forward and input-gradient, over NHWC
 * float32 tensors.  Portable C; inner loops use GCC/Clang vector extensions
 * (simd.h), so one source compiles to wasm SIMD128 and to SSE/AVX.
 *
 * Operators that carry weights follow XNNPACK's pattern: *_create prepares
 * the weights once (depthwise packs them; conv2d and dense borrow the model's
 * Keras-layout arrays, which the GEMM copies slice by slice into a small
 * buffer as it goes), the run functions take shapes and pointers, *_destroy
 * frees.
 * Every run function overwrites its output (never accumulates) and uses only
 * the scratch memory it was given (its *_scratch_floats tells how much).
 * `pool` may be NULL: the work then runs on the calling thread.
 */
#ifndef SAL_KERNELS_H
#define SAL_KERNELS_H

#include <stddef.h>
#include "../executor/threadpool.h"

typedef struct { int n, h, w, c; } sal_dims;

/* A sliding window over H and W with explicit padding (resolved by the caller). */
typedef struct {
    int kh, kw;
    int stride_h, stride_w;
    int dilation_h, dilation_w;
    int pad_top, pad_left; /* bottom/right padding follows from the output size */
} sal_window;

/* Output size of a window along one axis: floor((in + pads - dil*(k-1) - 1) / stride) + 1. */
int sal_window_out(int in, int pad_total, int k, int stride, int dilation);
/* Keras 'same' padding along one axis: total padding and its first (top/left) part. */
void sal_same_padding(int in, int k, int stride, int dilation, int *pad_total, int *pad_first);

/* Activation kinds match sal_activation in model/graph.h (same values). */
typedef enum {
    SAL_K_LINEAR = 0, SAL_K_RELU, SAL_K_RELU6, SAL_K_SIGMOID, SAL_K_TANH,
    SAL_K_SOFTMAX, SAL_K_SWISH, SAL_K_HARD_SIGMOID
} sal_kernel_activation;

/* Convolutions can apply a ReLU or ReLU6 to their outputs as they store them
 * (`fused`; SAL_K_LINEAR: none), which saves the activation's pass over
 * memory.  The values are those of sal_activation_forward. */
static inline int sal_fusable_activation(sal_kernel_activation act) {
    return act == SAL_K_LINEAR || act == SAL_K_RELU || act == SAL_K_RELU6;
}

/* Matches sal_relu_rule in saliency.h (same values). */
typedef enum { SAL_K_RULE_STANDARD = 0, SAL_K_RULE_GUIDED, SAL_K_RULE_DECONVNET } sal_kernel_relu_rule;

/* The backward step of a ReLU or ReLU6 that a convolution's input gradient
 * takes as it stores dx, when that activation's output is the convolution's
 * input (`gate`; NULL: none): dx becomes the gradient at the activation's
 * input, the values of sal_activation_backward, without its pass over memory. */
typedef struct {
    sal_kernel_activation act; /* SAL_K_RELU or SAL_K_RELU6 */
    sal_kernel_relu_rule rule;
    const float *y;            /* the activation's output: the convolution's input, laid out like dx */
} sal_kernel_gate;

/* ------------------------------------------------------------ GEMM */
/* C[m x n] = A[m x k] * B[k x n] (+ bias[n] when bias != NULL), row-major with
 * leading dimensions lda, ldb, ldc. Threads over blocks of rows and columns of C. */
void sal_gemm(sal_threadpool *pool, int m, int n, int k,
              const float *a, int lda, const float *b, int ldb,
              const float *bias, float *c, int ldc);

/* ------------------------------------------------------------ Conv2D */
typedef struct {
    int kh, kw, cin, cout;
    const float *w;     /* borrowed [kh,kw,cin,cout]: the GEMM copies slivers as it runs */
    const float *bias;  /* borrowed [cout] or NULL */
    float *winograd;    /* owned [(m+2)^2][cin][cout] Winograd-domain kernel, or NULL (winograd.c) */
    float *winograd_backward; /* owned [(m+2)^2][cout][cin], flipped, for m = 4; or NULL */
    int winograd_tile;  /* m: 2 or 4 */
} sal_conv2d_op;

/* kernel: [kh,kw,cin,cout] (Keras layout); bias may be NULL.  The op borrows
 * both (no copy: they must outlive it, and it sees any change made to them).
 * Returns 0. */
int sal_conv2d_create(sal_conv2d_op *op, const float *kernel, const float *bias,
                      int kh, int kw, int cin, int cout);
void sal_conv2d_destroy(sal_conv2d_op *op);
/* A 3x3 op keeps its kernel transformed for Winograd's F(m x m, 3x3) too,
 * m = `tile` (copied now: later changes to the kernel are not seen), and from
 * then on runs every stride-1 undilated window with it, forward and backward.
 * m = 2: 2.25x fewer multiply-adds, 16/9 of the weights' memory more;
 * m = 4: 4x fewer, 2 x 36/9 of the weights' memory more.  Returns 0, or -1
 * when the kernel is not 3x3, tile is not 2 or 4, or memory runs out (the
 * op then stays as it was). */
int sal_conv2d_use_winograd(sal_conv2d_op *op, int tile);
size_t sal_conv2d_scratch_floats(const sal_conv2d_op *op, sal_dims x, sal_dims y, const sal_window *win);
/* x: [n,h,w,cin] -> y = fused(conv(x)): [n,oh,ow,cout] */
void sal_conv2d_forward(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                        const float *x, sal_dims xd, float *y, sal_dims yd, float *scratch,
                        sal_kernel_activation fused);
/* dy: [n,oh,ow,cout] -> dx: [n,h,w,cin], gated when gate != NULL */
void sal_conv2d_backward_input(const sal_conv2d_op *op, sal_threadpool *pool, const sal_window *win,
                               const float *dy, sal_dims yd, float *dx, sal_dims xd, float *scratch,
                               const sal_kernel_gate *gate);

/* --------------------------------------------------- DepthwiseConv2D */
typedef struct {
    int kh, kw, cin, mult;
    float *w;      /* packed */
    float *bias;   /* [cin*mult] or NULL */
} sal_depthwise_op;

/* kernel: [kh,kw,cin,mult] (Keras layout); output channel = c * mult + m. */
int sal_depthwise_create(sal_depthwise_op *op, const float *kernel, const float *bias,
                         int kh, int kw, int cin, int mult);
void sal_depthwise_destroy(sal_depthwise_op *op);
size_t sal_depthwise_scratch_floats(const sal_depthwise_op *op, sal_dims x, sal_dims y, const sal_window *win);
void sal_depthwise_forward(const sal_depthwise_op *op, sal_threadpool *pool, const sal_window *win,
                           const float *x, sal_dims xd, float *y, sal_dims yd, float *scratch,
                           sal_kernel_activation fused);
void sal_depthwise_backward_input(const sal_depthwise_op *op, sal_threadpool *pool, const sal_window *win,
                                  const float *dy, sal_dims yd, float *dx, sal_dims xd, float *scratch,
                                  const sal_kernel_gate *gate);

/* ------------------------------------------------------------- Dense */
typedef struct {
    int in, out;
    const float *w;     /* borrowed [in,out] */
    const float *bias;  /* borrowed [out] or NULL */
} sal_dense_op;

/* kernel: [in,out] (Keras layout), borrowed like conv2d's; returns 0.
 * x: [rows, in] -> y: [rows, out]. */
int sal_dense_create(sal_dense_op *op, const float *kernel, const float *bias, int in, int out);
void sal_dense_destroy(sal_dense_op *op);
void sal_dense_forward(const sal_dense_op *op, sal_threadpool *pool, const float *x, int rows, float *y);
void sal_dense_backward_input(const sal_dense_op *op, sal_threadpool *pool, const float *dy, int rows, float *dx);

/* ------------------------------------------------------------- Pools */
/* Max pooling ignores padded cells.  Backward routes dy to the first maximum
 * of each window (row-major scan), summing where windows overlap. */
void sal_max_pool_forward(sal_threadpool *pool, const sal_window *win,
                          const float *x, sal_dims xd, float *y, sal_dims yd);
void sal_max_pool_backward(sal_threadpool *pool, const sal_window *win, const float *x, sal_dims xd,
                           const float *dy, sal_dims yd, float *dx);
/* Average pooling divides by the number of valid (unpadded) cells. */
void sal_avg_pool_forward(sal_threadpool *pool, const sal_window *win,
                          const float *x, sal_dims xd, float *y, sal_dims yd);
void sal_avg_pool_backward(sal_threadpool *pool, const sal_window *win,
                           const float *dy, sal_dims yd, float *dx, sal_dims xd);
/* Global pools: x [n,h,w,c] -> y [n,c]. */
void sal_global_avg_pool_forward(const float *x, sal_dims xd, float *y);
void sal_global_avg_pool_backward(const float *dy, sal_dims xd, float *dx);
void sal_global_max_pool_forward(const float *x, sal_dims xd, float *y);
void sal_global_max_pool_backward(const float *x, sal_dims xd, const float *dy, float *dx);

/* -------------------------------------------------------- Activations */

/* x, y: `count` values; softmax works on rows of `channels` values. */
void sal_activation_forward(sal_kernel_activation act, const float *x, float *y, size_t count, int channels);
/* dx from dy, given the forward input x and output y.  The rule applies to
 * relu and relu6 only (guided: also zero where dy <= 0; deconvnet: ignore the
 * input's sign, keep dy > 0). */
void sal_activation_backward(sal_kernel_activation act, sal_kernel_relu_rule rule,
                             const float *x, const float *y, const float *dy, float *dx,
                             size_t count, int channels);

/* ------------------------------------------------------ Element-wise */
/* y = x * scale[c] + shift[c], channels innermost. */
void sal_affine_forward(const float *x, const float *scale, const float *shift, float *y, size_t count, int channels);
void sal_affine_backward(const float *dy, const float *scale, float *dx, size_t count, int channels);
void sal_add(const float *a, const float *b, float *y, size_t count);      /* y = a + b (y may alias a or b) */
void sal_accumulate(float *y, const float *x, size_t count);               /* y += x */
/* y = a * b where b is either full size (b_broadcast = 0) or [n,1,1,c] broadcast over h*w (b_broadcast = 1). */
void sal_multiply_forward(const float *a, const float *b, float *y, sal_dims ad, int b_broadcast);
/* da = dy * b  (same broadcasting); db = dy * a, reduced over space when b broadcasts. */
void sal_multiply_backward(const float *a, const float *b, const float *dy, sal_dims ad, int b_broadcast,
                           float *da, float *db);
/* Concatenate inputs along channels: xs[i] has dims [n,h,w,cs[i]]. */
void sal_concat_forward(const float *const *xs, const int *cs, int n_inputs, int n, int h, int w, float *y);
void sal_concat_backward(const float *dy, const int *cs, int n_inputs, int n, int h, int w, float *const *dxs);
/* Zero padding: x [n,h,w,c] -> y [n,h+pt+pb,w+pl+pr,c]; backward crops. */
void sal_zero_pad_forward(const float *x, sal_dims xd, int pt, int pl, float *y, sal_dims yd);
void sal_zero_pad_backward(const float *dy, sal_dims yd, int pt, int pl, float *dx, sal_dims xd);

#endif
