/* test_kernels_conv.c - GEMM, Conv2D, DepthwiseConv2D and Dense against
 * naive double-precision loops written here, input gradients also against
 * central finite differences of the forward pass, and pools of 2 and 3
 * threads against no pool (results must be bit-identical). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_random.h"
#include "kernels/gemm_internal.h"
#include "kernels/kernels.h"

/* ------------------------------------------------------------ helpers */

static test_rng rng = {0x9E3779B97F4A7C15ull};

/* New values in place: an op that borrows its weights must see them. */
static void redraw(float *p, size_t n) {
    for (size_t i = 0; p && i < n; i++) p[i] = test_uniform(&rng);
}

static size_t random_index(size_t n) {
    test_uniform(&rng);
    return (size_t)(rng.state % n);
}

/* Filled with NaN so that any output left unwritten fails the comparison. */
static float *poisoned(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

static size_t dims_count(sal_dims d) { return (size_t)d.n * d.h * d.w * d.c; }

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

static int same_bits(const float *a, const float *b, size_t n) {
    return memcmp(a, b, n * sizeof(float)) == 0;
}

/* Accumulated in double, summing |terms|: the tolerance for a float sum of
 * k products of values in [-1, 1] grows with k. */
static double sum_tolerance(int k) { return 2e-6 * (k > 0 ? k : 1); }

/* ------------------------------------------------------------ window arithmetic */

static void test_window_arithmetic(void) {
    CHECK(sal_window_out(224, 0, 7, 2, 1) == 109, "valid 224/7/2: %d", sal_window_out(224, 0, 7, 2, 1));
    CHECK(sal_window_out(224, 5, 7, 2, 1) == 112, "padded 224/7/2: %d", sal_window_out(224, 5, 7, 2, 1));
    CHECK(sal_window_out(10, 0, 3, 1, 2) == 6, "dilated 10/3/1/2: %d", sal_window_out(10, 0, 3, 1, 2));
    CHECK(sal_window_out(10, 0, 3, 3, 1) == 3, "10/3/3: %d", sal_window_out(10, 0, 3, 3, 1));
    CHECK(sal_window_out(5, 0, 7, 1, 1) == 0, "kernel larger than input: %d", sal_window_out(5, 0, 7, 1, 1));
    CHECK(sal_window_out(5, 2, 7, 1, 1) == 1, "5 + 2 pad / 7: %d", sal_window_out(5, 2, 7, 1, 1));

    struct { int in, k, s, d, total, first; } same[] = {
        {224, 7, 2, 1, 5, 2}, {56, 1, 2, 1, 0, 0}, {7, 3, 1, 2, 4, 2},
        {8, 3, 2, 1, 1, 0},   {9, 3, 2, 1, 2, 1}, {112, 3, 2, 1, 1, 0}, {5, 5, 1, 1, 4, 2}};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        int total = -1, first = -1;
        sal_same_padding(same[i].in, same[i].k, same[i].s, same[i].d, &total, &first);
        CHECK(total == same[i].total && first == same[i].first, "same padding in %d k %d s %d d %d: %d/%d, want %d/%d",
              same[i].in, same[i].k, same[i].s, same[i].d, total, first, same[i].total, same[i].first);
        int out = sal_window_out(same[i].in, total, same[i].k, same[i].s, same[i].d);
        CHECK(out == (same[i].in + same[i].s - 1) / same[i].s, "same output size for in %d: %d", same[i].in, out);
    }
}

/* ------------------------------------------------------------ GEMM */

static void naive_gemm(int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                       const float *bias, float *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = bias ? bias[j] : 0.0;
            for (int p = 0; p < k; p++) s += (double)a[(size_t)i * lda + p] * b[(size_t)p * ldb + j];
            c[(size_t)i * ldc + j] = (float)s;
        }
}

/* Columns past n in each row of C are guard cells that must stay untouched. */
static int guards_intact(const float *c, int m, int n, int ldc) {
    for (int i = 0; i < m; i++)
        for (int j = n; j < ldc; j++)
            if (c[(size_t)i * ldc + j] != -7.0f) return 0;
    return 1;
}

static void check_gemm_case(sal_threadpool *pool, int m, int n, int k, int pad, int with_bias) {
    int lda = k + pad, ldb = n + 2 * pad, ldc = n + pad;
    float *a = test_random_floats(&rng, (size_t)m * lda), *b = test_random_floats(&rng, (size_t)k * ldb);
    float *bias = with_bias ? test_random_floats(&rng, (size_t)n) : NULL;
    float *want = malloc(((size_t)m * ldc + 1) * sizeof(float));
    float *got = malloc(((size_t)m * ldc + 1) * sizeof(float));
    float *serial = malloc(((size_t)m * ldc + 1) * sizeof(float));
    for (size_t i = 0; i < (size_t)m * ldc; i++) got[i] = serial[i] = want[i] = -7.0f;
    naive_gemm(m, n, k, a, lda, b, ldb, bias, want, ldc);
    sal_gemm(pool, m, n, k, a, lda, b, ldb, bias, got, ldc);
    sal_gemm(NULL, m, n, k, a, lda, b, ldb, bias, serial, ldc);

    /* B handed over as its transpose (rows ldbt apart): what the input gradients run on. */
    int ldbt = k + pad;
    float *bt = test_random_floats(&rng, (size_t)n * ldbt); /* random past k: must not be read */
    for (int p = 0; p < k; p++)
        for (int j = 0; j < n; j++) bt[(size_t)j * ldbt + p] = b[(size_t)p * ldb + j];
    float *transposed_out = malloc(((size_t)m * ldc + 1) * sizeof(float));
    for (size_t i = 0; i < (size_t)m * ldc; i++) transposed_out[i] = -7.0f;
    sal_gemm_args args = {.m = m, .n = n, .k = k, .a = a, .a_rows = sal_gemm_plain_rows((size_t)lda),
                          .b = bt, .ldb = ldbt, .b_layout = SAL_GEMM_B_TRANSPOSED, .bias = bias,
                          .c = transposed_out, .c_rows = sal_gemm_plain_rows((size_t)ldc)};
    sal_gemm_run(pool, &args);

    char what[96];
    snprintf(what, sizeof what, "gemm m %d n %d k %d pad %d bias %d", m, n, k, pad, with_bias);
    CHECK_CLOSE(got, want, (size_t)m * ldc, sum_tolerance(k), 1e-5, what);
    CHECK_CLOSE(transposed_out, want, (size_t)m * ldc, sum_tolerance(k), 1e-5, what);
    CHECK(guards_intact(got, m, n, ldc) && guards_intact(transposed_out, m, n, ldc), "%s: wrote past n", what);
    CHECK(same_bits(got, serial, (size_t)m * ldc), "%s: pool and serial results differ", what);
    /* Every output is summed in one order, whichever way B arrives. */
    CHECK(same_bits(transposed_out, serial, (size_t)m * ldc), "%s: B layouts give different bits", what);
    free(a), free(b), free(bias), free(want), free(got), free(serial), free(bt), free(transposed_out);
}

static void test_gemm(sal_threadpool *pool) {
    int shapes[][3] = {
        {1, 1, 1},    {1, 1000, 70}, {2, 3, 4},     {5, 17, 9},    {6, 32, 256},  {7, 33, 257},
        {11, 48, 31}, {12, 17, 3},   {13, 64, 600}, {49, 70, 513}, {100, 31, 300}, {97, 130, 65},
        {250, 16, 8}, {3, 5, 0},
        /* around task blocks of 64, 96, 256 and 384 rows; panels of 8, 16 and 32 columns */
        {65, 9, 1},   {97, 41, 255}, {257, 23, 40},  {385, 57, 9},  {196, 520, 70}, {1, 40, 513},
        {769, 35, 20}, {4, 3, 512},   {2, 4, 511},   {9, 36, 1024},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int variant = 0; variant < 2; variant++)
            check_gemm_case(pool, shapes[s][0], shapes[s][1], shapes[s][2], variant * 3, variant);
}

/* ------------------------------------------------------------ convolution cases */

typedef struct {
    int n, h, w, cin, cout;   /* cout is the depth multiplier for depthwise */
    int kh, kw, sh, sw, dh, dw;
    int padding;              /* 0 valid, 1 same, 2 explicit */
    int pt, pb, pl, pr;       /* explicit padding */
} conv_case;

/* Resolves the window and output dims the way Keras would. */
static void case_geometry(const conv_case *cc, sal_window *win, sal_dims *yd, int cout) {
    int total_h = 0, total_w = 0;
    win->kh = cc->kh, win->kw = cc->kw;
    win->stride_h = cc->sh, win->stride_w = cc->sw;
    win->dilation_h = cc->dh, win->dilation_w = cc->dw;
    win->pad_top = win->pad_left = 0;
    if (cc->padding == 1) {
        int out_h = (cc->h + cc->sh - 1) / cc->sh, out_w = (cc->w + cc->sw - 1) / cc->sw;
        total_h = (out_h - 1) * cc->sh + (cc->kh - 1) * cc->dh + 1 - cc->h;
        total_w = (out_w - 1) * cc->sw + (cc->kw - 1) * cc->dw + 1 - cc->w;
        total_h = total_h > 0 ? total_h : 0, total_w = total_w > 0 ? total_w : 0;
        win->pad_top = total_h / 2, win->pad_left = total_w / 2;
    } else if (cc->padding == 2) {
        total_h = cc->pt + cc->pb, total_w = cc->pl + cc->pr;
        win->pad_top = cc->pt, win->pad_left = cc->pl;
    }
    yd->n = cc->n;
    yd->h = (cc->h + total_h - (cc->kh - 1) * cc->dh - 1) / cc->sh + 1;
    yd->w = (cc->w + total_w - (cc->kw - 1) * cc->dw - 1) / cc->sw + 1;
    yd->c = cout;
}

/* Visits every (output pixel, tap) pair whose input pixel is inside x. */
#define FOR_EACH_WINDOW_TAP(xd, yd, win)                                                   \
    for (int b_ = 0; b_ < (yd).n; b_++)                                                   \
        for (int oy_ = 0; oy_ < (yd).h; oy_++)                                            \
            for (int ox_ = 0; ox_ < (yd).w; ox_++)                                        \
                for (int ky_ = 0; ky_ < (win).kh; ky_++)                                  \
                    for (int kx_ = 0; kx_ < (win).kw; kx_++)                              \
                        for (int iy_ = oy_ * (win).stride_h - (win).pad_top + ky_ * (win).dilation_h, \
                                 ix_ = ox_ * (win).stride_w - (win).pad_left + kx_ * (win).dilation_w, \
                                 once_ = 1;                                               \
                             once_ && iy_ >= 0 && iy_ < (xd).h && ix_ >= 0 && ix_ < (xd).w; once_ = 0)

static size_t at(sal_dims d, int b, int y, int x, int c) {
    return (((size_t)b * d.h + y) * d.w + x) * d.c + c;
}

static void naive_conv_forward(const float *x, sal_dims xd, const float *kernel, const float *bias,
                               sal_window win, float *y, sal_dims yd) {
    size_t ny = dims_count(yd);
    double *acc = calloc(ny ? ny : 1, sizeof(double));
    FOR_EACH_WINDOW_TAP(xd, yd, win) {
        for (int co = 0; co < yd.c; co++)
            for (int ci = 0; ci < xd.c; ci++)
                acc[at(yd, b_, oy_, ox_, co)] += (double)x[at(xd, b_, iy_, ix_, ci)] *
                    kernel[(((size_t)ky_ * win.kw + kx_) * xd.c + ci) * yd.c + co];
    }
    for (size_t i = 0; i < ny; i++) y[i] = (float)(acc[i] + (bias ? bias[i % yd.c] : 0.0));
    free(acc);
}

/* Scatter form: independent of the gather the library uses. */
static void naive_conv_backward(const float *dy, sal_dims yd, const float *kernel, sal_window win,
                                float *dx, sal_dims xd) {
    size_t nx = dims_count(xd);
    double *acc = calloc(nx ? nx : 1, sizeof(double));
    FOR_EACH_WINDOW_TAP(xd, yd, win) {
        for (int co = 0; co < yd.c; co++)
            for (int ci = 0; ci < xd.c; ci++)
                acc[at(xd, b_, iy_, ix_, ci)] += (double)dy[at(yd, b_, oy_, ox_, co)] *
                    kernel[(((size_t)ky_ * win.kw + kx_) * xd.c + ci) * yd.c + co];
    }
    for (size_t i = 0; i < nx; i++) dx[i] = (float)acc[i];
    free(acc);
}

static void naive_depthwise_forward(const float *x, sal_dims xd, const float *kernel, const float *bias,
                                    int mult, sal_window win, float *y, sal_dims yd) {
    size_t ny = dims_count(yd);
    double *acc = calloc(ny ? ny : 1, sizeof(double));
    FOR_EACH_WINDOW_TAP(xd, yd, win) {
        for (int c = 0; c < xd.c; c++)
            for (int m = 0; m < mult; m++)
                acc[at(yd, b_, oy_, ox_, c * mult + m)] += (double)x[at(xd, b_, iy_, ix_, c)] *
                    kernel[(((size_t)ky_ * win.kw + kx_) * xd.c + c) * mult + m];
    }
    for (size_t i = 0; i < ny; i++) y[i] = (float)(acc[i] + (bias ? bias[i % yd.c] : 0.0));
    free(acc);
}

static void naive_depthwise_backward(const float *dy, sal_dims yd, const float *kernel, int mult,
                                     sal_window win, float *dx, sal_dims xd) {
    size_t nx = dims_count(xd);
    double *acc = calloc(nx ? nx : 1, sizeof(double));
    FOR_EACH_WINDOW_TAP(xd, yd, win) {
        for (int c = 0; c < xd.c; c++)
            for (int m = 0; m < mult; m++)
                acc[at(xd, b_, iy_, ix_, c)] += (double)dy[at(yd, b_, oy_, ox_, c * mult + m)] *
                    kernel[(((size_t)ky_ * win.kw + kx_) * xd.c + c) * mult + m];
    }
    for (size_t i = 0; i < nx; i++) dx[i] = (float)acc[i];
    free(acc);
}

/* ------------------------------------------------------------ a generic windowed op */

/* Conv2D and DepthwiseConv2D behind one interface, so the checks are shared. */
typedef struct {
    int depthwise;
    sal_conv2d_op conv;
    sal_depthwise_op dw;
    const float *kernel, *bias;
    int mult;
    sal_window win;
    sal_dims xd, yd;
    float *scratch;
} windowed_op;

static void op_forward_fused(const windowed_op *op, sal_threadpool *pool, const float *x, float *y,
                             sal_kernel_activation fused) {
    if (op->depthwise) sal_depthwise_forward(&op->dw, pool, &op->win, x, op->xd, y, op->yd, op->scratch, fused);
    else sal_conv2d_forward(&op->conv, pool, &op->win, x, op->xd, y, op->yd, op->scratch, fused);
}

static void op_forward(const windowed_op *op, sal_threadpool *pool, const float *x, float *y) {
    op_forward_fused(op, pool, x, y, SAL_K_LINEAR);
}

/* Outputs seen below 0 and above 6 by check_fused_activations, over all cases. */
static size_t fused_below, fused_above;

/* A ReLU or ReLU6 fused into the op gives the bits of the activation run after it. */
static void check_fused_activations(const windowed_op *op, sal_threadpool *pool, const float *x_in,
                                   const char *what) {
    size_t nx = dims_count(op->xd), ny = dims_count(op->yd);
    float *x = malloc(nx * sizeof(float)), *y = poisoned(ny), *apart = poisoned(ny), *fused = poisoned(ny);
    for (size_t i = 0; i < nx; i++) x[i] = 8.0f * x_in[i]; /* outputs past 6 too */
    op_forward(op, NULL, x, y);
    for (size_t i = 0; i < ny; i++) fused_below += y[i] < 0, fused_above += y[i] > 6;
    for (sal_kernel_activation act = SAL_K_RELU; act <= SAL_K_RELU6; act++) {
        sal_activation_forward(act, y, apart, ny, (int)ny);
        op_forward_fused(op, pool, x, fused, act);
        CHECK(same_bits(fused, apart, ny), "%s: %s fused differs from %s after", what,
              act == SAL_K_RELU ? "ReLU" : "ReLU6", act == SAL_K_RELU ? "ReLU" : "ReLU6");
    }
    free(x), free(y), free(apart), free(fused);
}

static void op_backward_gated(const windowed_op *op, sal_threadpool *pool, const float *dy, float *dx,
                              const sal_kernel_gate *gate) {
    if (op->depthwise)
        sal_depthwise_backward_input(&op->dw, pool, &op->win, dy, op->yd, dx, op->xd, op->scratch, gate);
    else sal_conv2d_backward_input(&op->conv, pool, &op->win, dy, op->yd, dx, op->xd, op->scratch, gate);
}

static void op_backward(const windowed_op *op, sal_threadpool *pool, const float *dy, float *dx) {
    op_backward_gated(op, pool, dy, dx, NULL);
}

/* Gradients kept and zeroed by check_gated_backward, over all cases. */
static size_t gate_kept, gate_zeroed;

/* The backward step of a ReLU or ReLU6 taken as the op stores dx gives the
 * bits of that step run after it, under every rule.  x plays the
 * activation's output y: 8 x x puts values below 0 and above 6; some are
 * set to the bounds themselves (0, -0 and 6), where the gates close. */
static void check_gated_backward(const windowed_op *op, sal_threadpool *pool, const float *x_in, const float *dy,
                                 const char *what) {
    size_t nx = dims_count(op->xd);
    float *y = malloc(nx * sizeof(float)), *dx = poisoned(nx), *apart = poisoned(nx), *gated = poisoned(nx);
    const float bounds[] = {0.0f, -0.0f, 6.0f};
    for (size_t i = 0; i < nx; i++) y[i] = i % 5 == 2 ? bounds[i / 5 % 3] : 8.0f * x_in[i];
    op_backward(op, NULL, dy, dx);
    const char *rules[] = {"standard", "guided", "deconvnet"};
    for (sal_kernel_activation act = SAL_K_RELU; act <= SAL_K_RELU6; act++)
        for (int rule = SAL_K_RULE_STANDARD; rule <= SAL_K_RULE_DECONVNET; rule++) {
            sal_kernel_gate gate = {act, (sal_kernel_relu_rule)rule, y};
            sal_activation_backward(act, gate.rule, NULL, y, dx, apart, nx, (int)nx);
            op_backward_gated(op, pool, dy, gated, &gate);
            CHECK(same_bits(gated, apart, nx), "%s: %s backward (%s) taken by the op differs from it run after",
                  what, act == SAL_K_RELU ? "ReLU" : "ReLU6", rules[rule]);
            for (size_t i = 0; i < nx; i++) gate_kept += apart[i] != 0, gate_zeroed += apart[i] == 0 && dx[i] != 0;
        }
    free(y), free(dx), free(apart), free(gated);
}

static void op_naive_forward(const windowed_op *op, const float *x, float *y) {
    if (op->depthwise) naive_depthwise_forward(x, op->xd, op->kernel, op->bias, op->mult, op->win, y, op->yd);
    else naive_conv_forward(x, op->xd, op->kernel, op->bias, op->win, y, op->yd);
}

static void op_naive_backward(const windowed_op *op, const float *dy, float *dx) {
    if (op->depthwise) naive_depthwise_backward(dy, op->yd, op->kernel, op->mult, op->win, dx, op->xd);
    else naive_conv_backward(dy, op->yd, op->kernel, op->win, dx, op->xd);
}

/* d/dx <r, f(x)> by central differences at `count` random coordinates
 * (always including the first and last), against backward(r). */
static void check_finite_differences(const windowed_op *op, const float *x_in, const float *r,
                                     const float *grad, int count, const char *what) {
    size_t nx = dims_count(op->xd), ny = dims_count(op->yd);
    float *x = malloc(nx * sizeof(float)), *y = malloc(ny * sizeof(float));
    memcpy(x, x_in, nx * sizeof(float));
    float *numeric = malloc((size_t)count * sizeof(float)), *analytic = malloc((size_t)count * sizeof(float));
    const float eps = 0.5f; /* the ops are linear in x: no truncation error, and rounding noise / eps stays small */
    for (int t = 0; t < count; t++) {
        size_t i = t == 0 ? 0 : t == count - 1 ? nx - 1 : random_index(nx);
        float saved = x[i];
        x[i] = saved + eps;
        op_forward(op, NULL, x, y);
        double plus = dot(r, y, ny);
        x[i] = saved - eps;
        op_forward(op, NULL, x, y);
        double minus = dot(r, y, ny);
        x[i] = saved;
        numeric[t] = (float)((plus - minus) / (2.0 * eps));
        analytic[t] = grad[i];
    }
    char label[160];
    snprintf(label, sizeof label, "%s: finite differences", what);
    CHECK_CLOSE(analytic, numeric, (size_t)count, 2e-3, 1e-2, label);
    free(x), free(y), free(numeric), free(analytic);
}

static void check_windowed_op(windowed_op *op, sal_threadpool *pool, int fd_points, const char *what) {
    size_t nx = dims_count(op->xd), ny = dims_count(op->yd);
    int k = op->win.kh * op->win.kw * (op->depthwise ? 1 : op->xd.c);
    float *x = test_random_floats(&rng, nx), *r = test_random_floats(&rng, ny);
    float *want_y = malloc((ny + 1) * sizeof(float)), *want_dx = malloc((nx + 1) * sizeof(float));
    float *y = poisoned(ny), *y_pool = poisoned(ny), *dx = poisoned(nx), *dx_pool = poisoned(nx);
    op_naive_forward(op, x, want_y);
    op_naive_backward(op, r, want_dx);

    op_forward(op, NULL, x, y);
    op_forward(op, pool, x, y_pool);
    op_backward(op, NULL, r, dx);
    op_backward(op, pool, r, dx_pool);

    char label[160];
    snprintf(label, sizeof label, "%s: forward", what);
    CHECK_CLOSE(y, want_y, ny, sum_tolerance(k), 1e-5, label);
    snprintf(label, sizeof label, "%s: backward_input", what);
    CHECK_CLOSE(dx, want_dx, nx, sum_tolerance(k * (op->depthwise ? op->mult : op->yd.c)), 1e-5, label);
    CHECK(same_bits(y, y_pool, ny), "%s: forward differs between no pool and a pool", what);
    CHECK(same_bits(dx, dx_pool, nx), "%s: backward differs between no pool and a pool", what);
    check_finite_differences(op, x, r, dx, fd_points, what);
    check_fused_activations(op, pool, x, what);
    check_gated_backward(op, pool, x, r, what);
    free(x), free(r), free(want_y), free(want_dx), free(y), free(y_pool), free(dx), free(dx_pool);
}

static void describe(char *buf, size_t size, const char *kind, const conv_case *cc, const windowed_op *op) {
    snprintf(buf, size, "%s n%d %dx%dx%d -> %dx%dx%d k%dx%d s%d,%d d%d,%d pad %d (top %d left %d)", kind, cc->n,
             cc->h, cc->w, cc->cin, op->yd.h, op->yd.w, op->yd.c, cc->kh, cc->kw, cc->sh, cc->sw, cc->dh, cc->dw,
             cc->padding, op->win.pad_top, op->win.pad_left);
}

static size_t alloc_scratch(windowed_op *op, size_t floats) {
    op->scratch = floats ? malloc(floats * sizeof(float)) : NULL; /* exact size: ASan catches overruns */
    return floats;
}

/* winograd: 0 (direct) or the Winograd tile size. */
static const char *conv_kind(int winograd) {
    return winograd == 2 ? "conv2d winograd F(2x2)" : winograd == 4 ? "conv2d winograd F(4x4)" : "conv2d";
}

static int winograd_suits(const conv_case *cc) {
    return cc->kh == 3 && cc->kw == 3 && cc->sh == 1 && cc->sw == 1 && cc->dh == 1 && cc->dw == 1;
}

static void run_conv_case(const conv_case *cc, sal_threadpool *pool, int with_bias, int winograd) {
    windowed_op op = {0};
    op.xd = (sal_dims){cc->n, cc->h, cc->w, cc->cin};
    case_geometry(cc, &op.win, &op.yd, cc->cout);
    float *kernel = test_random_floats(&rng, (size_t)cc->kh * cc->kw * cc->cin * cc->cout);
    float *bias = with_bias ? test_random_floats(&rng, (size_t)cc->cout) : NULL;
    op.kernel = kernel, op.bias = bias;
    CHECK(sal_conv2d_create(&op.conv, kernel, bias, cc->kh, cc->kw, cc->cin, cc->cout) == 0, "conv2d_create");
    redraw(kernel, (size_t)cc->kh * cc->kw * cc->cin * cc->cout);
    redraw(bias, (size_t)cc->cout);
    if (winograd) CHECK(sal_conv2d_use_winograd(&op.conv, winograd) == 0, "conv2d_use_winograd");
    alloc_scratch(&op, sal_conv2d_scratch_floats(&op.conv, op.xd, op.yd, &op.win));
    char what[200];
    describe(what, sizeof what, conv_kind(winograd), cc, &op);
    int big = dims_count(op.xd) > 100000;
    check_windowed_op(&op, pool, big ? 6 : 24, what);
    sal_conv2d_destroy(&op.conv);
    free(op.scratch), free(kernel), free(bias);
}

static void run_depthwise_case(const conv_case *cc, sal_threadpool *pool, int with_bias) {
    windowed_op op = {.depthwise = 1, .mult = cc->cout};
    op.xd = (sal_dims){cc->n, cc->h, cc->w, cc->cin};
    case_geometry(cc, &op.win, &op.yd, cc->cin * cc->cout);
    float *kernel = test_random_floats(&rng, (size_t)cc->kh * cc->kw * cc->cin * cc->cout);
    float *bias = with_bias ? test_random_floats(&rng, (size_t)cc->cin * cc->cout) : NULL;
    op.kernel = kernel, op.bias = bias;
    CHECK(sal_depthwise_create(&op.dw, kernel, bias, cc->kh, cc->kw, cc->cin, cc->cout) == 0, "depthwise_create");
    alloc_scratch(&op, sal_depthwise_scratch_floats(&op.dw, op.xd, op.yd, &op.win));
    char what[200];
    describe(what, sizeof what, "depthwise", cc, &op);
    check_windowed_op(&op, pool, 24, what);
    sal_depthwise_destroy(&op.dw);
    free(op.scratch), free(kernel), free(bias);
}

static const conv_case conv_cases[] = {
    /* n  h   w  cin cout kh kw sh sw dh dw pad  pt pb pl pr */
    {1, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1, 0},
    {3, 7, 6, 5, 9, 1, 1, 1, 1, 1, 1, 0},               /* pointwise: plain GEMM */
    {1, 8, 8, 16, 33, 1, 1, 2, 2, 1, 1, 0},             /* strided 1x1 (ResNet shortcut) */
    {3, 9, 7, 5, 11, 1, 1, 2, 2, 1, 1, 0},              /* strided 1x1, batch 3, odd sizes */
    {2, 10, 11, 7, 6, 1, 1, 3, 2, 1, 1, 1},             /* strided 1x1 'same', strides 3/2 */
    {2, 7, 8, 4, 9, 1, 1, 2, 2, 1, 1, 2, 0, 1, 0, 2},   /* 1x1 s2, bottom/right padding */
    {4, 14, 14, 24, 40, 1, 1, 2, 2, 1, 1, 0},           /* strided 1x1, rows past one task block */
    {1, 4, 4, 3, 5, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1},   /* padded 1x1 */
    {1, 9, 8, 3, 7, 3, 3, 1, 1, 1, 1, 1},
    {3, 11, 10, 6, 13, 3, 3, 2, 2, 1, 1, 1},            /* same, stride 2: asymmetric padding */
    {1, 12, 12, 4, 5, 5, 5, 2, 2, 1, 1, 1},
    {1, 15, 13, 3, 8, 7, 7, 2, 2, 1, 1, 1},             /* ResNet conv1 style */
    {2, 10, 9, 5, 6, 3, 3, 1, 1, 2, 2, 1},              /* dilation 2 */
    {1, 13, 11, 7, 3, 3, 5, 3, 2, 1, 2, 0},             /* strides 3/2, dilation 1/2 */
    {1, 10, 10, 3, 4, 3, 3, 3, 3, 1, 1, 0},             /* last row and column uncovered */
    {1, 9, 7, 3, 5, 3, 3, 1, 2, 1, 1, 2, 0, 2, 2, 1},   /* explicit asymmetric padding */
    {3, 6, 5, 2, 4, 5, 3, 1, 1, 1, 1, 1},               /* kernel as large as the input */
    {2, 9, 9, 40, 70, 3, 3, 1, 1, 1, 1, 1},             /* K > one K slice, partial panel */
    {1, 20, 20, 32, 40, 3, 3, 1, 1, 1, 1, 1},           /* many tiles */
    {2, 6, 5, 300, 260, 1, 1, 1, 1, 1, 1, 0},           /* pointwise, K > one slice both ways */
    {2, 7, 7, 264, 20, 1, 1, 2, 2, 1, 1, 0},            /* strided 1x1, batch 2, K > one slice */
    {1, 6, 6, 60, 9, 3, 3, 1, 1, 1, 1, 1},              /* K = 540: three slices */
    {2, 8, 7, 5, 6, 3, 3, 1, 1, 1, 1, 0},               /* valid: dx larger than dy */
    {1, 7, 9, 6, 5, 3, 3, 1, 1, 1, 1, 2, 2, 0, 1, 2},   /* explicit asymmetric padding, 2 at the top */
    {1, 5, 6, 4, 3, 3, 3, 1, 1, 1, 1, 2, 3, 1, 0, 4},   /* padding past the kernel: rows of zeros only */
    {2, 1, 2, 9, 17, 3, 3, 1, 1, 1, 1, 1},              /* smaller than one tile */
    {1, 15, 14, 300, 20, 3, 3, 1, 1, 1, 1, 1},          /* winograd K > one slice, forward */
    {1, 14, 15, 20, 300, 3, 3, 1, 1, 1, 1, 1},          /* ... and backward */
};

static const conv_case depthwise_cases[] = {
    /* n  h   w  cin mult kh kw sh sw dh dw pad  pt pb pl pr */
    {1, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1, 0},
    {1, 9, 8, 19, 1, 3, 3, 1, 1, 1, 1, 1},              /* channels: vectors + remainder */
    {3, 11, 10, 5, 2, 3, 3, 2, 2, 1, 1, 1},             /* multiplier 2, batch 3 */
    {1, 12, 11, 33, 1, 5, 5, 2, 2, 1, 1, 1},
    {2, 10, 9, 6, 1, 3, 3, 1, 1, 2, 2, 1},              /* dilation 2 */
    {1, 13, 11, 4, 3, 3, 5, 3, 2, 1, 2, 0},             /* strides 3/2, dilation 1/2, mult 3 */
    {1, 9, 7, 7, 2, 3, 3, 1, 2, 1, 1, 2, 0, 2, 2, 1},   /* explicit asymmetric padding */
    {1, 15, 13, 16, 1, 7, 7, 2, 2, 1, 1, 1},
    {1, 10, 10, 3, 1, 3, 3, 3, 3, 1, 1, 0},             /* last row and column uncovered */
};

static void test_convolutions(sal_threadpool *pool) {
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        run_conv_case(&conv_cases[i], pool, (int)i % 2, 0);
        for (int tile = 2; tile <= 4 && winograd_suits(&conv_cases[i]); tile += 2)
            run_conv_case(&conv_cases[i], pool, (int)i % 2, tile);
    }
    for (size_t i = 0; i < sizeof depthwise_cases / sizeof depthwise_cases[0]; i++)
        run_depthwise_case(&depthwise_cases[i], pool, (int)(i + 1) % 2);
    sal_conv2d_op other;
    static const float one = 1.0f;
    sal_conv2d_create(&other, &one, NULL, 1, 1, 1, 1);
    CHECK(sal_conv2d_use_winograd(&other, 2) == -1 && !other.winograd, "winograd accepted a 1x1 kernel");
    static const float nine[9] = {0};
    sal_conv2d_create(&other, nine, NULL, 3, 3, 1, 1);
    CHECK(sal_conv2d_use_winograd(&other, 3) == -1 && !other.winograd, "winograd accepted tiles of 3");
    sal_conv2d_destroy(&other);
    CHECK(gate_kept > 0 && gate_zeroed > 0, "the gated gradients kept %zu values and zeroed %zu", gate_kept,
          gate_zeroed);
    CHECK(fused_below > 0 && fused_above > 0, "the fused activations saw %zu outputs below 0 and %zu above 6",
          fused_below, fused_above);
}

/* Column buffers larger than the library's budget go through in chunks of
 * images; Winograd's transformed tiles in chunks of tile rows. */
static void test_conv_in_chunks(sal_threadpool *pool, int winograd) {
    conv_case cc = {3, 64, 64, 64, 8, 3, 3, 1, 1, 1, 1, 1};
    windowed_op op = {0};
    op.xd = (sal_dims){cc.n, cc.h, cc.w, cc.cin};
    case_geometry(&cc, &op.win, &op.yd, cc.cout);
    size_t one_image = (size_t)op.yd.h * op.yd.w * 9 * cc.cin;
    float *kernel = test_random_floats(&rng, (size_t)9 * cc.cin * cc.cout), *bias = test_random_floats(&rng, (size_t)cc.cout);
    op.kernel = kernel, op.bias = bias;
    sal_conv2d_create(&op.conv, kernel, bias, 3, 3, cc.cin, cc.cout);
    if (winograd) {
        CHECK(sal_conv2d_use_winograd(&op.conv, winograd) == 0, "conv2d_use_winograd");
        one_image = (size_t)(winograd + 2) * (winograd + 2) * (op.yd.h / winograd) * (op.yd.w / winograd) *
                    (cc.cin + cc.cout);
    }
    size_t scratch = alloc_scratch(&op, sal_conv2d_scratch_floats(&op.conv, op.xd, op.yd, &op.win));
    CHECK(winograd ? scratch < (size_t)cc.n * one_image : scratch >= one_image && scratch < 3 * one_image,
          "chunked conv scratch %zu floats, one image needs %zu", scratch, one_image);
    char what[120];
    snprintf(what, sizeof what, "%s in chunks 3x64x64x64 -> 8", conv_kind(winograd));
    check_windowed_op(&op, pool, 6, what);
    sal_conv2d_destroy(&op.conv);
    free(op.scratch), free(kernel), free(bias);
}

/* ------------------------------------------------------------ dense */

/* The GEMM the dense op would run without its shortcuts. */
static void gemm_dense_forward(const sal_dense_op *op, const float *x, int rows, float *y) {
    sal_gemm(NULL, rows, op->out, op->in, x, op->in, op->w, op->out, op->bias, y, op->out);
}

static void gemm_dense_backward(const sal_dense_op *op, const float *dy, int rows, float *dx) {
    sal_gemm_args g = {.m = rows, .n = op->in, .k = op->out, .a = dy, .a_rows = sal_gemm_plain_rows((size_t)op->out),
                       .b = op->w, .ldb = op->out, .b_layout = SAL_GEMM_B_TRANSPOSED, .c = dx,
                       .c_rows = sal_gemm_plain_rows((size_t)op->in)};
    sal_gemm_run(NULL, &g);
}

/* A row streamed through W (forward, also without a bias) and a dy of a few
 * values, the first and last of the row among them (backward), give the
 * GEMM's bits, and the naive sums. */
static void check_dense_shortcuts(sal_dense_op *op, sal_threadpool *pool, const float *x, int rows,
                                  const float *kernel_t) {
    char what[64];
    snprintf(what, sizeof what, "dense rows %d in %d out %d", rows, op->in, op->out);
    size_t ny = (size_t)rows * op->out, nx = (size_t)rows * op->in;
    float *y = poisoned(ny), *want = poisoned(ny), *dy = calloc(ny, sizeof(float));
    float *dx = poisoned(nx), *want_dx = poisoned(nx), *naive_dx = malloc(nx * sizeof(float));
    const float *bias = op->bias;
    for (int with_bias = 1; with_bias >= 0; with_bias--) {
        op->bias = with_bias ? bias : NULL;
        sal_dense_forward(op, pool, x, rows, y);
        gemm_dense_forward(op, x, rows, want);
        CHECK(same_bits(y, want, ny), "%s (bias %d): forward differs from the GEMM's bits", what, with_bias);
    }
    op->bias = bias;
    for (int r = 0; r < rows; r++) {
        float *row = dy + (size_t)r * op->out;
        row[0] = -1.5f, row[op->out - 1] = 0.75f, row[op->out / 2] = -0.25f * (float)(r + 1);
    }
    sal_dense_backward_input(op, pool, dy, rows, dx);
    gemm_dense_backward(op, dy, rows, want_dx);
    CHECK(same_bits(dx, want_dx, nx), "%s, sparse dy: backward differs from the GEMM's bits", what);
    naive_gemm(rows, op->in, op->out, dy, op->out, kernel_t, op->in, NULL, naive_dx, op->in);
    CHECK_CLOSE(dx, naive_dx, nx, 1e-6, 1e-5, what);
    free(y), free(want), free(dy), free(dx), free(want_dx), free(naive_dx);
}

static void test_dense(sal_threadpool *pool) {
    int shapes[][3] = {{1, 7, 5}, {3, 300, 70}, {13, 33, 1000}, {1, 2048, 10}, {70, 9, 300}, {5, 1000, 33},
                       {258, 40, 17}, {1, 300, 2500}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int rows = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
        float *kernel = test_random_floats(&rng, (size_t)in * out), *bias = test_random_floats(&rng, (size_t)out);
        sal_dense_op op;
        CHECK(sal_dense_create(&op, kernel, bias, in, out) == 0, "dense_create");
        redraw(kernel, (size_t)in * out);
        redraw(bias, (size_t)out);

        float *x = test_random_floats(&rng, (size_t)rows * in), *dy = test_random_floats(&rng, (size_t)rows * out);
        float *want_y = malloc((size_t)rows * out * sizeof(float)), *want_dx = malloc((size_t)rows * in * sizeof(float));
        float *y = poisoned((size_t)rows * out), *y_pool = poisoned((size_t)rows * out);
        float *dx = poisoned((size_t)rows * in), *dx_pool = poisoned((size_t)rows * in);
        float *kernel_t = malloc((size_t)in * out * sizeof(float));
        for (int i = 0; i < in; i++)
            for (int o = 0; o < out; o++) kernel_t[(size_t)o * in + i] = kernel[(size_t)i * out + o];
        naive_gemm(rows, out, in, x, in, kernel, out, bias, want_y, out);
        naive_gemm(rows, in, out, dy, out, kernel_t, in, NULL, want_dx, in);

        sal_dense_forward(&op, NULL, x, rows, y);
        sal_dense_forward(&op, pool, x, rows, y_pool);
        sal_dense_backward_input(&op, NULL, dy, rows, dx);
        sal_dense_backward_input(&op, pool, dy, rows, dx_pool);
        char what[96];
        snprintf(what, sizeof what, "dense rows %d in %d out %d: forward", rows, in, out);
        CHECK_CLOSE(y, want_y, (size_t)rows * out, sum_tolerance(in), 1e-5, what);
        CHECK(same_bits(y, y_pool, (size_t)rows * out), "%s differs between no pool and a pool", what);
        snprintf(what, sizeof what, "dense rows %d in %d out %d: backward_input", rows, in, out);
        CHECK_CLOSE(dx, want_dx, (size_t)rows * in, sum_tolerance(out), 1e-5, what);
        CHECK(same_bits(dx, dx_pool, (size_t)rows * in), "%s differs between no pool and a pool", what);
        check_dense_shortcuts(&op, pool, x, rows, kernel_t);
        sal_dense_destroy(&op);
        free(kernel), free(bias), free(x), free(dy), free(want_y), free(want_dx), free(y), free(y_pool), free(dx),
            free(dx_pool), free(kernel_t);
    }
}

int main(void) {
    test_window_arithmetic();
    for (int threads = 2; threads <= 3; threads++) {
        sal_threadpool *pool = sal_threadpool_create(threads);
        test_gemm(pool);
        test_convolutions(pool);
        test_conv_in_chunks(pool, 0);
        test_conv_in_chunks(pool, 2);
        test_conv_in_chunks(pool, 4);
        test_dense(pool);
        sal_threadpool_free(pool);
    }
    return check_report();
}
