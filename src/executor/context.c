/* context.c - sal_context: packed operators, a thread pool, and the public
 * forward / backward entry points. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../bytes/error.h"
#include "executor.h"

/* 3x3 windows that move one pixel at a time, with enough channels to pay
 * for the transforms, run as Winograd F(m x m, 3x3): m = 4 where the kernel
 * is small (its transformed copies take 8x its memory; such layers tend to
 * run on large images), m = 2 up to 256 x 256 channels (16/9).  Larger
 * kernels stay direct: they tend to run on small maps, where the tiles
 * overhang and the transformed weights are read for few pixels (ResNet50's
 * 512 x 512 on 7 x 7: Winograd saved 2% of a gradient for 50 MB).  0: not at all. */
static int winograd_tile(const sal_node *node) {
    long pairs = (long)node->in_channels * node->filters;
    if (node->kh != 3 || node->kw != 3 || node->stride_h != 1 || node->stride_w != 1 || node->dilation_h != 1 ||
        node->dilation_w != 1 || node->in_channels < 16 || node->filters < 16 || pairs > 256 * 256)
        return 0;
    return pairs <= 128 * 128 ? 4 : 2;
}

static int create_op(sal_node_op *op, const sal_node *node) {
    switch (node->op) {
    case SAL_OP_CONV2D: {
        if (sal_conv2d_create(&op->conv, node->weights, node->bias, node->kh, node->kw, node->in_channels,
                              node->filters) != 0)
            return -1;
        int tile = winograd_tile(node);
        return tile ? sal_conv2d_use_winograd(&op->conv, tile) : 0;
    }
    case SAL_OP_DEPTHWISE_CONV2D:
        return sal_depthwise_create(&op->depthwise, node->weights, node->bias, node->kh, node->kw, node->in_channels,
                                    node->depth_multiplier);
    case SAL_OP_DENSE: return sal_dense_create(&op->dense, node->weights, node->bias, node->in_channels, node->filters);
    default: return 0;
    }
}

static void destroy_op(sal_node_op *op, const sal_node *node) {
#ifdef SAL_HAVE_XNNPACK
    if (op->on_xnn) return; /* sal_xnn_nodes_destroy's */
#endif
    switch (node->op) {
    case SAL_OP_CONV2D: sal_conv2d_destroy(&op->conv); break;
    case SAL_OP_DEPTHWISE_CONV2D: sal_depthwise_destroy(&op->depthwise); break;
    case SAL_OP_DENSE: sal_dense_destroy(&op->dense); break;
    default: break;
    }
}

static int check_graph(const sal_graph *g, int logits, sal_error *err) {
    if (g->n_nodes < 1 || g->nodes[0].op != SAL_OP_INPUT)
        return sal_fail(err, SAL_ERR_FORMAT, "model has no input layer");
    for (int i = 1; i < g->n_nodes; i++) {
        const sal_node *node = &g->nodes[i];
        if (node->op == SAL_OP_INPUT)
            return sal_fail(err, SAL_ERR_UNSUPPORTED, "layer '%s': a second input (only one is supported)", node->name);
        if (node->op == SAL_OP_CONCAT && node->n_inputs > SAL_MAX_CONCAT)
            return sal_fail(err, SAL_ERR_UNSUPPORTED, "layer '%s': Concatenate of %d inputs (at most %d)", node->name,
                            node->n_inputs, SAL_MAX_CONCAT);
    }
    if (logits < 1 || logits >= g->n_nodes) return sal_fail(err, SAL_ERR_FORMAT, "model has no output layer");
    return SAL_OK;
}

static int default_threads(void) {
#ifdef _SC_NPROCESSORS_ONLN
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#else
    return 1;
#endif
}

int sal_backend_available(sal_backend backend) {
    switch (backend) {
    case SAL_BACKEND_DEFAULT:
    case SAL_BACKEND_PORTABLE: return 1;
#ifdef SAL_HAVE_XNNPACK
    case SAL_BACKEND_XNNPACK: return 1;
#endif
    default: return 0;
    }
}

const char *sal_backend_name(sal_backend backend) {
    switch (backend) {
    case SAL_BACKEND_DEFAULT: return "default";
    case SAL_BACKEND_PORTABLE: return "portable";
    case SAL_BACKEND_XNNPACK: return "xnnpack";
    }
    return NULL;
}

sal_backend sal_context_backend(const sal_context *ctx) { return ctx ? ctx->backend : SAL_BACKEND_DEFAULT; }

/* DEFAULT: the SAL_BACKEND environment variable, else the fastest compiled in. */
static int resolve_backend(sal_backend asked, sal_backend *out, sal_error *err) {
    if (asked == SAL_BACKEND_DEFAULT) {
        const char *env = getenv("SAL_BACKEND");
        if (env && *env) {
            if (strcmp(env, "portable") == 0) asked = SAL_BACKEND_PORTABLE;
            else if (strcmp(env, "xnnpack") == 0) asked = SAL_BACKEND_XNNPACK;
            else
                return sal_fail(err, SAL_ERR_ARGUMENT,
                                "SAL_BACKEND='%s' names no backend (use 'portable' or 'xnnpack')", env);
        } else {
            asked = sal_backend_available(SAL_BACKEND_XNNPACK) ? SAL_BACKEND_XNNPACK : SAL_BACKEND_PORTABLE;
        }
    }
    if (asked != SAL_BACKEND_PORTABLE && asked != SAL_BACKEND_XNNPACK)
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown backend %d", (int)asked);
    if (!sal_backend_available(asked))
        return sal_fail(err, SAL_ERR_UNSUPPORTED,
                        "the XNNPACK backend is not compiled in (configure with -DSAL_XNNPACK=ON where Debian's "
                        "libxnnpack-dev and libpthreadpool-dev are installed)");
    *out = asked;
    return SAL_OK;
}

/* The operators of every node: XNNPACK's for the nodes it takes, the portable kernels' for the rest. */
static int create_ops(sal_context *ctx, int n_threads, sal_error *err) {
    const sal_graph *g = ctx->graph;
    int xnn = ctx->backend == SAL_BACKEND_XNNPACK;
    for (int i = 0; i < g->n_nodes; i++) {
#ifdef SAL_HAVE_XNNPACK
        if (xnn && sal_xnn_node_supported(&g->nodes[i])) continue;
#endif
        if (create_op(&ctx->ops[i], &g->nodes[i]) != 0)
            return sal_fail(err, SAL_ERR_MEMORY, "out of memory creating a context");
    }
#ifdef SAL_HAVE_XNNPACK
    if (xnn) return sal_xnn_nodes_create(ctx, n_threads, err);
#endif
    (void)xnn, (void)n_threads;
    return SAL_OK;
}

sal_context *sal_context_create(const sal_model *model, int n_threads, sal_error *err) {
    return sal_context_create_backend(model, n_threads, SAL_BACKEND_DEFAULT, err);
}

sal_context *sal_context_create_backend(const sal_model *model, int n_threads, sal_backend backend,
                                        sal_error *err) {
    if (!model) {
        sal_fail(err, SAL_ERR_ARGUMENT, "no model given");
        return NULL;
    }
    sal_backend resolved;
    if (resolve_backend(backend, &resolved, err) != SAL_OK) return NULL;
    const sal_graph *g = &model->graph;
    int logits = sal_graph_logits_node(g);
    if (check_graph(g, logits, err) != SAL_OK) return NULL;
    sal_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        sal_fail(err, SAL_ERR_MEMORY, "out of memory creating a context");
        return NULL;
    }
    ctx->model = model;
    ctx->graph = g;
    ctx->logits = logits;
    ctx->backend = resolved;
    int threads = n_threads > 0 ? n_threads : default_threads();
    ctx->ops = calloc((size_t)g->n_nodes, sizeof *ctx->ops);
    /* With XNNPACK, only light kernels stay portable: one thread, so that no
     * idle worker of ours spins on a core XNNPACK's pool wants next. */
    ctx->pool = sal_threadpool_create(resolved == SAL_BACKEND_XNNPACK ? 1 : threads);
    ctx->apart_pool = resolved == SAL_BACKEND_XNNPACK ? sal_threadpool_create(threads) : ctx->pool;
    ctx->workers = sal_threadpool_size(ctx->apart_pool);
    ctx->plans = calloc((size_t)ctx->workers, sizeof *ctx->plans);
    for (int w = 0; ctx->plans && w < ctx->workers; w++)
        ctx->plans[w][SAL_PLAN_FORWARD].worker = ctx->plans[w][SAL_PLAN_BACKWARD].worker = w;
    int status = ctx->ops && ctx->plans && ctx->pool && ctx->apart_pool
                     ? create_ops(ctx, threads, err)
                     : sal_fail(err, SAL_ERR_MEMORY, "out of memory creating a context");
    if (status != SAL_OK) {
        sal_context_free(ctx);
        return NULL;
    }
    sal_ok(err);
    return ctx;
}

void sal_context_free(sal_context *ctx) {
    if (!ctx) return;
    if (ctx->ops)
        for (int i = 0; i < ctx->graph->n_nodes; i++) destroy_op(&ctx->ops[i], &ctx->graph->nodes[i]);
#ifdef SAL_HAVE_XNNPACK
    sal_xnn_nodes_destroy(ctx);
#endif
    free(ctx->ops);
    for (int w = 0; ctx->plans && w < ctx->workers; w++) {
        sal_plan_release(&ctx->plans[w][SAL_PLAN_FORWARD]);
        sal_plan_release(&ctx->plans[w][SAL_PLAN_BACKWARD]);
    }
    free(ctx->plans);
    if (ctx->apart_pool != ctx->pool) sal_threadpool_free(ctx->apart_pool);
    sal_threadpool_free(ctx->pool);
    free(ctx);
}

static int check_run_args(const sal_context *ctx, const float *input, int batch, int height, int width,
                          sal_error *err) {
    if (!ctx) return sal_fail(err, SAL_ERR_ARGUMENT, "no context given");
    if (!input) return sal_fail(err, SAL_ERR_ARGUMENT, "no input given");
    if (batch < 1 || height < 1 || width < 1)
        return sal_fail(err, SAL_ERR_ARGUMENT, "invalid input size %d x %d x %d", batch, height, width);
    if ((double)batch * height * width > (double)(1 << 29)) /* in double: size_t is 32 bits in wasm */
        return sal_fail(err, SAL_ERR_ARGUMENT, "input of %d x %d x %d is too large", batch, height, width);
    return SAL_OK;
}

static int check_finite_input(const float *input, int batch, size_t count, sal_error *err) {
    for (size_t k = 0; k < count; k++)
        if (!isfinite(input[k]))
            return sal_fail(err, SAL_ERR_NUMERIC, "input value %zu (image %zu) is %s", k, k / (count / (size_t)batch),
                            isnan(input[k]) ? "NaN" : "infinite");
    return SAL_OK;
}

/* The plan for this input shape, and the XNNPACK operators it needs. */
static int prepare_plan(sal_context *ctx, sal_plan *plan, sal_plan_kind kind, int batch, int height, int width,
                        sal_error *err) {
    int status = sal_plan_prepare(ctx, plan, kind, batch, height, width, err);
#ifdef SAL_HAVE_XNNPACK
    if (status == SAL_OK && ctx->backend == SAL_BACKEND_XNNPACK)
        status = sal_xnn_nodes_prepare(ctx, plan, kind == SAL_PLAN_BACKWARD, err);
#endif
    return status;
}

static void write_logits_and_probs(const sal_plan *plan, int logits, float *out_logits, float *out_probs) {
    sal_shape s = plan->shapes[logits];
    size_t count = sal_shape_count(s);
    const float *values = sal_plan_value(plan, logits);
    if (out_logits) memcpy(out_logits, values, count * sizeof *values);
    if (out_probs) sal_activation_forward(SAL_K_SOFTMAX, values, out_probs, count, (int)(count / (size_t)s.n));
}

/* The node behind a layer name; *before_fold when the name is a convolution
 * whose batch norm was folded into the node (see model/graph.h). */
static int find_layer(const sal_context *ctx, const char *name, int *node, int *before_fold, sal_error *err) {
    *node = sal_graph_find_layer(ctx->graph, name, before_fold);
    if (*node < 0) return sal_fail(err, SAL_ERR_ARGUMENT, "no layer named '%s' in the model", name);
    if (*node > ctx->logits)
        return sal_fail(err, SAL_ERR_ARGUMENT, "layer '%s' comes after the class scores; choose an earlier layer",
                        name);
    return SAL_OK;
}

static int check_unfoldable(const sal_node *node, int channels, const char *name, sal_error *err) {
    for (int c = 0; c < channels; c++)
        if (node->fold_scale[c] == 0.0f)
            return sal_fail(err, SAL_ERR_UNSUPPORTED,
                            "layer '%s': its batch normalization '%s' zeroes channel %d, so the layer's own output "
                            "cannot be recovered; ask for '%s'",
                            name, node->name, c, node->name);
    return SAL_OK;
}

/* Turns the folded node's output and gradient into those of the convolution
 * before the batch norm: out = pre * scale + shift. */
static void unfold_layer(const sal_node *node, size_t count, int channels, float *activation, float *gradient) {
    for (size_t k = 0; k < count; k++) {
        int c = (int)(k % (size_t)channels);
        if (activation) activation[k] = (activation[k] - node->fold_shift[c]) / node->fold_scale[c];
        if (gradient) gradient[k] *= node->fold_scale[c];
    }
}

/* Fills targets[b]: the requested class, or the top class when none is given. */
static int choose_targets(const sal_context *ctx, const sal_plan *plan, const int *requested, int *targets,
                          sal_error *err) {
    sal_shape s = plan->shapes[ctx->logits];
    int classes = (int)(sal_shape_count(s) / (size_t)s.n);
    const float *logits = sal_plan_value(plan, ctx->logits);
    for (int b = 0; b < s.n; b++) {
        int t = requested ? requested[b] : -1;
        if (t >= classes)
            return sal_fail(err, SAL_ERR_ARGUMENT, "target class %d is out of range (the model has %d classes)", t,
                            classes);
        if (t < 0) {
            const float *row = logits + (size_t)b * classes;
            t = 0;
            for (int k = 1; k < classes; k++)
                if (row[k] > row[t]) t = k;
        }
        targets[b] = t;
    }
    return SAL_OK;
}

/* ------------------------------------------------------------ runs */

/* One sal_forward or sal_backward call. */
typedef struct {
    sal_context *ctx;
    sal_plan_kind kind;
    const float *input;
    int batch, height, width;
    float *logits, *probs;            /* forward */
    const sal_backward_request *req;  /* backward */
    int layer, before_fold;
} run_job;

/* Its inputs and outputs from image `first` on, for a plan of plan->batch images. */
typedef struct {
    const float *input;
    const int *requested;
    int *chosen;
    float *logits, *probs, *layer_activation, *layer_gradient, *input_gradient;
} run_io;

static size_t per_image(const sal_plan *plan, int node) {
    return sal_shape_count(plan->shapes[node]) / (size_t)plan->batch;
}

#define AT(p, floats) ((p) ? (p) + (size_t)first * (floats) : NULL)

static run_io io_from(const run_job *job, const sal_plan *plan, int first) {
    size_t in = per_image(plan, 0), classes = per_image(plan, job->ctx->logits);
    size_t layer = job->layer >= 0 ? per_image(plan, job->layer) : 0;
    const sal_backward_request *r = job->req;
    run_io io = {.input = AT(job->input, in), .logits = AT(job->logits, classes), .probs = AT(job->probs, classes)};
    if (!r) return io;
    io.requested = AT(r->targets, 1);
    io.chosen = AT(r->chosen_targets, 1);
    io.logits = AT(r->logits, classes);
    io.layer_activation = AT(r->layer_activation, layer);
    io.layer_gradient = AT(r->layer_gradient, layer);
    io.input_gradient = AT(r->input_gradient, in);
    return io;
}

#undef AT

static int backward_on_plan(const run_job *job, sal_plan *plan, const run_io *io, int *targets, sal_error *err) {
    sal_context *ctx = job->ctx;
    const sal_node *layer = job->layer >= 0 ? &ctx->graph->nodes[job->layer] : NULL;
    int status = SAL_OK;
    if (job->before_fold && io->layer_activation)
        status = check_unfoldable(layer, plan->shapes[job->layer].c, job->req->layer, err);
    if (status == SAL_OK) status = sal_run_forward(ctx, plan, io->input, job->layer, io->layer_activation, err);
    if (status == SAL_OK) status = choose_targets(ctx, plan, io->requested, targets, err);
    if (status != SAL_OK) return status;
    write_logits_and_probs(plan, ctx->logits, io->logits, NULL);
    if (io->chosen) memcpy(io->chosen, targets, (size_t)plan->batch * sizeof *targets);
    status = sal_run_backward(ctx, plan, targets, job->req->relu_rule, job->layer, io->layer_gradient,
                              io->input_gradient, err);
    if (status == SAL_OK && job->before_fold)
        unfold_layer(layer, sal_shape_count(plan->shapes[job->layer]), plan->shapes[job->layer].c,
                     io->layer_activation, io->layer_gradient);
    return status;
}

/* The job's images first .. first + plan->batch - 1 on the plan. */
static int run_on_plan(const run_job *job, sal_plan *plan, int first, sal_error *err) {
    run_io io = io_from(job, plan, first);
    if (job->kind == SAL_PLAN_FORWARD) {
        int status = sal_run_forward(job->ctx, plan, io.input, -1, NULL, err);
        if (status == SAL_OK) write_logits_and_probs(plan, job->ctx->logits, io.logits, io.probs);
        return status;
    }
    int one, *targets = plan->batch == 1 ? &one : malloc((size_t)plan->batch * sizeof *targets);
    if (!targets) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    int status = backward_on_plan(job, plan, &io, targets, err);
    if (targets != &one) free(targets);
    return status;
}

/* Worker w takes images w, w + workers, ... below `spread`, on its own plan. */
typedef struct {
    const run_job *job;
    int workers, spread;
    int *status;
    sal_error *errors;
} spread_job;

static void run_worker(void *user, int w) {
    spread_job *s = user;
    sal_plan *plan = &s->job->ctx->plans[w][s->job->kind];
    for (int b = w; b < s->spread && s->status[w] == SAL_OK; b += s->workers)
        s->status[w] = run_on_plan(s->job, plan, b, &s->errors[w]);
}

/* The first `spread` images over the workers, serial kernels on each. */
static int spread_images(const run_job *job, int workers, int spread, sal_error *err) {
    spread_job s = {job, workers, spread, calloc((size_t)workers, sizeof *s.status),
                    calloc((size_t)workers, sizeof *s.errors)};
    int status = s.status && s.errors ? SAL_OK : sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    if (status == SAL_OK) {
        for (int w = 0; w < workers; w++) job->ctx->plans[w][job->kind].pool = NULL;
        sal_parallel_for(job->ctx->apart_pool, workers, run_worker, &s);
        for (int w = 0; w < workers && status == SAL_OK; w++)
            if (s.status[w] != SAL_OK) {
                if (err) *err = s.errors[w];
                status = s.status[w];
            }
    }
    free(s.status);
    free(s.errors);
    return status;
}

/* One image at a time.  Whole rounds of images go to the workers side by
 * side; the images left over (fewer than the workers) run one by one with
 * every thread on each kernel. */
static int run_images_apart(const run_job *job, sal_error *err) {
    sal_context *ctx = job->ctx;
    int workers = ctx->workers < job->batch ? ctx->workers : job->batch;
    int status = SAL_OK;
    for (int w = 0; w < workers && status == SAL_OK; w++)
        status = prepare_plan(ctx, &ctx->plans[w][job->kind], job->kind, 1, job->height, job->width, err);
    int spread = workers > 1 ? job->batch - job->batch % workers : 0;
    if (status == SAL_OK && spread > 0) status = spread_images(job, workers, spread, err);
    sal_plan *plan = &ctx->plans[0][job->kind];
    plan->pool = ctx->pool;
    for (int b = spread; b < job->batch && status == SAL_OK; b++) status = run_on_plan(job, plan, b, err);
    return status;
}

static int run(const run_job *job, sal_error *err) {
    int channels = 0;
    sal_model_input_size(job->ctx->model, NULL, NULL, &channels);
    size_t count = (size_t)job->batch * job->height * job->width * channels;
    int status = check_finite_input(job->input, job->batch, count, err);
    if (status == SAL_OK)
        status = run_images_apart(job, err);
    if (status == SAL_OK) sal_ok(err);
    return status;
}

int sal_forward(sal_context *ctx, const float *input, int batch, int height, int width, float *logits, float *probs,
                sal_error *err) {
    int status = check_run_args(ctx, input, batch, height, width, err);
    if (status != SAL_OK) return status;
    run_job job = {.ctx = ctx, .kind = SAL_PLAN_FORWARD, .input = input, .batch = batch, .height = height,
                   .width = width, .logits = logits, .probs = probs, .layer = -1};
    return run(&job, err);
}

int sal_backward(sal_context *ctx, const float *input, int batch, int height, int width,
                 const sal_backward_request *req, sal_error *err) {
    int status = check_run_args(ctx, input, batch, height, width, err);
    if (status != SAL_OK) return status;
    if (!req) return sal_fail(err, SAL_ERR_ARGUMENT, "no backward request given");
    if ((unsigned)req->relu_rule > SAL_RELU_DECONVNET)
        return sal_fail(err, SAL_ERR_ARGUMENT, "unknown ReLU rule %d", (int)req->relu_rule);
    run_job job = {.ctx = ctx, .kind = SAL_PLAN_BACKWARD, .input = input, .batch = batch, .height = height,
                   .width = width, .req = req, .layer = -1};
    if (req->layer) status = find_layer(ctx, req->layer, &job.layer, &job.before_fold, err);
    else if (req->layer_activation || req->layer_gradient)
        status = sal_fail(err, SAL_ERR_ARGUMENT, "a layer's activation or gradient was asked for without a layer name");
    return status == SAL_OK ? run(&job, err) : status;
}

int sal_layer_shape(sal_context *ctx, const char *layer, int height, int width, int shape[4], sal_error *err) {
    if (!ctx || !layer || !shape) return sal_fail(err, SAL_ERR_ARGUMENT, "missing argument");
    int node = sal_graph_find(ctx->graph, layer);
    if (node < 0) return sal_fail(err, SAL_ERR_ARGUMENT, "no layer named '%s' in the model", layer);
    sal_shape *shapes = calloc((size_t)ctx->graph->n_nodes, sizeof *shapes);
    if (!shapes) return sal_fail(err, SAL_ERR_MEMORY, "out of memory");
    int status = sal_graph_infer_shapes(ctx->graph, 1, height, width, shapes, err);
    if (status == SAL_OK) {
        shape[0] = shapes[node].n;
        shape[1] = shapes[node].h;
        shape[2] = shapes[node].w;
        shape[3] = shapes[node].c;
        sal_ok(err);
    }
    free(shapes);
    return status;
}
