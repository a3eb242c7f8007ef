/* The native CLI end to end: the ResNet50 on a photo, every method on a small
 * golden model (the .npy shapes, the pictures, the JSON summary, the
 * progress bar), and every kind of bad input giving exit status 1 and one
 * clear line on stderr naming the flag.  Also the label files it reads
 * (sal_labels_parse). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bytes/npy.h"
#include "check.h"
#include "saliency.h"

#define MODEL SAL_ASSETS_DIR "/resnet50/model.json"
#define CAT SAL_ASSETS_DIR "/photos/cat.jpg"

static char tmpdir[256];
static char out_text[1 << 16], err_text[1 << 14];

static void read_text(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
}

/* Runs the CLI with the given arguments; returns its exit status. */
static int run_cli(const char *args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s >%s/out.txt 2>%s/err.txt", SAL_CLI_PATH, args, tmpdir, tmpdir);
    int status = system(cmd);
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", tmpdir);
    read_text(path, out_text, sizeof out_text);
    snprintf(path, sizeof path, "%s/err.txt", tmpdir);
    read_text(path, err_text, sizeof err_text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void write_text(const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void expect_failure(const char *args, const char *needle) {
    int status = run_cli(args);
    CHECK(status == 1, "'%s' exited with %d", args, status);
    CHECK(count_lines(err_text) == 1, "'%s' wrote %d lines on stderr: %s", args, count_lines(err_text), err_text);
    CHECK(strstr(err_text, needle) != NULL, "'%s': stderr '%s' does not mention '%s'", args, err_text, needle);
}

static void test_classify(void) {
    int status = run_cli("classify --model " MODEL " --image " CAT " --top 3");
    CHECK(status == 0, "classify exited %d: %s", status, err_text);
    CHECK(out_text[0] == '[', "output is not a JSON list: %s", out_text);
    CHECK(strstr(out_text, "\"index\"") && strstr(out_text, "\"label\"") && strstr(out_text, "\"score\""),
          "missing fields: %s", out_text);
    /* ImageNet classes 281-285 are the domestic cats. */
    int index = -1;
    const char *p = strstr(out_text, "\"index\": ");
    if (p) index = atoi(p + 9);
    CHECK(index >= 281 && index <= 285, "top-1 class %d is not a cat: %s", index, out_text);
    int entries = 0;
    for (p = out_text; (p = strstr(p, "\"index\"")); p++) entries++;
    CHECK(entries == 3, "--top 3 gave %d entries", entries);

    /* --labels: names are printed as JSON strings; a class without a name as null. */
    write_text("cats.json", "{\"281\": \"tabby \\\"cat\\\"\", \"282\": \"tiger\\ncat\"}");
    char args[1024];
    snprintf(args, sizeof args, "classify --model " MODEL " --image " CAT " --top 3 --labels %s/cats.json", tmpdir);
    CHECK(run_cli(args) == 0, "classify --labels: %s", err_text);
    CHECK(strstr(out_text, "\"index\": 281, \"label\": \"tabby \\\"cat\\\"\"") &&
              strstr(out_text, "\"index\": 282, \"label\": \"tiger\\u000acat\"") &&
              strstr(out_text, "\"index\": 285, \"label\": null"),
          "labels from --labels: %s", out_text);
}

static void test_explain(void) {
    char args[1024], npy[512];
    snprintf(npy, sizeof npy, "%s/cat.npy", tmpdir);
    snprintf(args, sizeof args, "explain --model " MODEL " --image " CAT " --method vanilla --target 281 --npy %s --png %s/cat.png",
             npy, tmpdir);
    int status = run_cli(args);
    CHECK(status == 0, "explain exited %d: %s", status, err_text);
    float *mask = NULL;
    int shape[SAL_NPY_MAX_DIMS], ndim = 0;
    sal_error err;
    CHECK(sal_npy_read(npy, &mask, shape, &ndim, &err) == SAL_OK, "cannot read the .npy: %s", err.message);
    CHECK(ndim == 3 && shape[0] == 224 && shape[1] == 224 && shape[2] == 3, "mask shape is not (224, 224, 3)");
    double sum = 0;
    for (int i = 0; mask && i < 224 * 224 * 3; i++) sum += mask[i] < 0 ? -mask[i] : mask[i];
    CHECK(sum > 0, "the gradient is all zero");
    free(mask);
    char png[512];
    snprintf(png, sizeof png, "%s/cat.png", tmpdir);
    CHECK(access(png, R_OK) == 0, "no PNG written");
}

/* The caffe preset spelled out by hand gives the same ranking and scores. */
static void test_custom_preprocessing(void) {
    CHECK(run_cli("classify --model " MODEL " --image " CAT) == 0, "caffe: %s", err_text);
    char preset[sizeof out_text];
    memcpy(preset, out_text, sizeof preset);
    CHECK(run_cli("classify --model " MODEL " --image " CAT
                  " --preprocess none --channel-order bgr --mean 103.939,116.779,123.68 --std 1 --scale 1") == 0,
          "custom: %s", err_text);
    CHECK(strcmp(preset, out_text) == 0, "custom caffe differs:\n%s\nvs\n%s", preset, out_text);
    CHECK(run_cli("classify --model " MODEL " --image " CAT " --preprocess tf") == 0, "tf: %s", err_text);
    CHECK(strcmp(preset, out_text) != 0, "the tf preset gives the same scores as caffe");
}

static void test_labels(void) {
    sal_labels labels;
    sal_error err;
    const char *object = "{\"2\": \"caf\\u00e9 \\\"au lait\\\"\", \"0\": \"tench\\/fish\", \"0\": \"tench\"}";
    CHECK(sal_labels_parse(object, strlen(object), &labels, &err) == SAL_OK, "object: %s", err.message);
    CHECK(labels.count == 3, "object: %d labels", labels.count);
    if (labels.count == 3) {
        CHECK(strcmp(labels.names[0], "tench") == 0, "the last of a repeated key wins: '%s'", labels.names[0]);
        CHECK(labels.names[1] == NULL, "a missing index is NULL");
        CHECK(strcmp(labels.names[2], "caf\xc3\xa9 \"au lait\"") == 0, "escapes decoded: '%s'", labels.names[2]);
    }
    sal_labels_free(&labels);
    const char *array = "[\"a\\tb\", \"1\\/2\"]";
    CHECK(sal_labels_parse(array, strlen(array), &labels, &err) == SAL_OK, "array: %s", err.message);
    CHECK(labels.count == 2 && strcmp(labels.names[0], "a\tb") == 0 && strcmp(labels.names[1], "1/2") == 0,
          "array entries");
    sal_labels_free(&labels);

    const char *bad[][2] = {
        {"[\"a\", [\"b\"], \"c\"]", "entry 1"}, {"{\"x\": \"a\"}", "class index"},
        {"{\"1\": 5}", "entry 0"},                  {"\"tench\"", "object or array"},
        {"[\"a\"", "labels"},                         {"{\"-1\": \"a\"}", "class index"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int status = sal_labels_parse(bad[i][0], strlen(bad[i][0]), &labels, &err);
        CHECK(status == SAL_ERR_FORMAT && strstr(err.message, bad[i][1]) && labels.count == 0 && !labels.names,
              "'%s' gave %d: %s", bad[i][0], status, err.message);
    }
    write_text("bad-labels.json", "{\"0\": [1]}");
    char path[512];
    snprintf(path, sizeof path, "%s/bad-labels.json", tmpdir);
    CHECK(sal_labels_load(path, &labels, &err) == SAL_ERR_FORMAT && strstr(err.message, "bad-labels.json"),
          "file errors name the file: %s", err.message);
}

static void test_errors(void) {
    char args[1024];
    expect_failure("", "missing command");
    expect_failure("frobnicate --model x", "unknown command");
    expect_failure("classify --image " CAT, "--model");
    expect_failure("classify --model /nonexistent/model.json --image " CAT, "/nonexistent/model.json");
    expect_failure("classify --model " MODEL " --image /nonexistent.jpg", "/nonexistent.jpg");
    expect_failure("classify --model " MODEL " --image " CAT " --top zero", "--top");
    expect_failure("classify --model " MODEL " --image " CAT " --preprocess sepia", "sepia");
    expect_failure("classify --model " MODEL " --image " CAT " --bogus 1", "--bogus");
    expect_failure("classify --model " MODEL " --image " CAT " --std 1,0,1", "--std");
    expect_failure("classify --model " MODEL " --image " CAT " --mean 1,2", "--mean");
    expect_failure("classify --model " MODEL " --image " CAT " --scale 1,2", "one positive number");
    expect_failure("classify --model " MODEL " --image " CAT " --channel-order grb", "grb");
    expect_failure("explain --model " MODEL " --image " CAT " --method nope --npy x.npy", "nope");
    expect_failure("explain --model " MODEL " --image " CAT " --method vanilla", "--npy");
    snprintf(args, sizeof args, "explain --model " MODEL " --image " CAT " --target 5000 --npy %s/t.npy", tmpdir);
    expect_failure(args, "5000");

    write_text("broken.json", "{\"modelTopology\": {\"model_config\": [1, 2");
    snprintf(args, sizeof args, "classify --model %s/broken.json --image " CAT, tmpdir);
    expect_failure(args, "broken.json");
    write_text("not-a-photo.jpg", "this is not an image");
    snprintf(args, sizeof args, "classify --model " MODEL " --image %s/not-a-photo.jpg", tmpdir);
    expect_failure(args, "not-a-photo.jpg");
}

/* ------------------------------------------------- every method on a small model */

#define SMALL SAL_GOLDENS_DIR "/models/seq_small/model.json" /* 12 x 12 x 3 input, 5 classes */
#define SMALL_SIZE 12
#define EXPLAIN_SMALL "explain --model " SMALL " --image " CAT " --window 4 --stride 2 --steps 8 "

/* The number after "key": in the JSON on stdout (NAN when absent or null). */
static double json_number(const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": ", key);
    const char *p = strstr(out_text, pattern);
    if (!p) return NAN;
    char *end;
    double v = strtod(p + strlen(pattern), &end);
    return end == p + strlen(pattern) ? NAN : v;
}

static float *read_npy(const char *name, int *shape, int *ndim) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    float *data = NULL;
    sal_error err;
    CHECK(sal_npy_read(path, &data, shape, ndim, &err) == SAL_OK, "%s", err.message);
    return data;
}

static int read_png(const char *name, sal_image *out) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    sal_error err;
    int status = sal_image_load(path, out, &err);
    CHECK(status == SAL_OK, "%s", err.message);
    return status;
}

static const char *const methods[] = {"vanilla", "gradient-x-input", "guided-backprop", "deconvnet",
                                      "integrated-gradients", "occlusion", "grad-cam", "guided-grad-cam",
                                      "xrai", "blur-ig", "guided-ig"};

static int one_channel(const char *method) { return !strcmp(method, "grad-cam") || !strcmp(method, "xrai"); }
/* XRAI reports its integrated gradients' completeness, but its map is region averages */
static int has_completeness(const char *method) {
    return !strcmp(method, "integrated-gradients") || !strcmp(method, "blur-ig") || !strcmp(method, "guided-ig") ||
           !strcmp(method, "xrai");
}

static void check_method_outputs(const char *method) {
    int shape[SAL_NPY_MAX_DIMS], ndim = 0;
    float *mask = read_npy("m.npy", shape, &ndim);
    int channels = one_channel(method) ? 1 : 3;
    int right = mask && shape[0] == SMALL_SIZE && shape[1] == SMALL_SIZE &&
                (channels == 1 ? ndim == 2 : ndim == 3 && shape[2] == 3);
    CHECK(right, "%s: the .npy is not (12, 12%s)", method, channels == 1 ? "" : ", 3");
    sal_image png = {0};
    if (read_png("m.png", &png) == SAL_OK)
        CHECK(png.width == SMALL_SIZE && png.height == SMALL_SIZE, "%s: PNG is %d x %d", method, png.width, png.height);
    sal_image_free(&png);
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"method\": \"%s\"", method);
    CHECK(out_text[0] == '{' && strstr(out_text, quoted) && strstr(out_text, "\"target\": ") &&
              strstr(out_text, "\"label\": ") && isfinite(json_number("score")), "%s: stdout %s", method, out_text);
    if (has_completeness(method)) {
        double difference = json_number("score_difference"), gap = json_number("completeness_gap");
        CHECK(isfinite(difference) && isfinite(gap) && !isnan(json_number("completeness_gap_percent")),
              "%s: completeness fields missing: %s", method, out_text);
        /* the printed gap is F(x) - F(x') - sum of the attributions in the .npy */
        double sum = 0;
        for (int i = 0; right && channels == 3 && i < SMALL_SIZE * SMALL_SIZE * 3; i++) sum += mask[i];
        CHECK(channels == 1 || fabs(difference - gap - sum) <= 1e-4 * (1 + fabs(sum)),
              "%s: %g - %g != sum of the mask %g", method, difference, gap, sum);
    } else {
        CHECK(!strstr(out_text, "completeness_gap"), "%s prints completeness: %s", method, out_text);
    }
    if (right && !strcmp(method, "occlusion")) {
        int repeated = 1;
        for (int i = 0; i < SMALL_SIZE * SMALL_SIZE; i++)
            repeated &= mask[3 * i] == mask[3 * i + 1] && mask[3 * i] == mask[3 * i + 2];
        CHECK(repeated, "occlusion's map is not repeated over the 3 channels");
    }
    free(mask);
}

static void test_every_method(void) {
    for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
        char args[1024];
        snprintf(args, sizeof args, EXPLAIN_SMALL "--method %s --npy %s/m.npy --png %s/m.png", methods[m], tmpdir,
                 tmpdir);
        int status = run_cli(args);
        CHECK(status == 0, "%s exited %d: %s", methods[m], status, err_text);
        if (status == 0) check_method_outputs(methods[m]);
    }
}

/* --overlay with --alpha 0 is the photo as the model sees it; with --alpha 1
 * and the gray colormap it is the plain grayscale picture. */
static void test_pictures(void) {
    char args[1024];
    sal_image plain = {0}, photo = {0}, crop = {0}, overlay = {0}, coloured = {0};
    sal_error err;
    snprintf(args, sizeof args, EXPLAIN_SMALL "--png %s/plain.png", tmpdir);
    CHECK(run_cli(args) == 0, "plain: %s", err_text);
    snprintf(args, sizeof args, EXPLAIN_SMALL "--png %s/alpha0.png --overlay --alpha 0 --colormap jet", tmpdir);
    CHECK(run_cli(args) == 0, "alpha 0: %s", err_text);
    CHECK(sal_image_load(CAT, &photo, &err) == SAL_OK && sal_image_resize_crop(&photo, 12, 12, &crop, &err) == SAL_OK,
          "%s", err.message);
    if (read_png("alpha0.png", &overlay) == SAL_OK && crop.data) {
        double worst = 0;
        for (int i = 0; i < 12 * 12 * 3; i++) worst = fmax(worst, fabs(overlay.data[i] - crop.data[i]));
        CHECK(worst <= 0.5, "--alpha 0 differs from the resized photo by %g", worst);
    }
    sal_image_free(&overlay);
    snprintf(args, sizeof args, EXPLAIN_SMALL "--png %s/alpha1.png --overlay --alpha 1 --colormap gray", tmpdir);
    CHECK(run_cli(args) == 0, "alpha 1: %s", err_text);
    if (read_png("plain.png", &plain) == SAL_OK && read_png("alpha1.png", &overlay) == SAL_OK)
        CHECK(memcmp(plain.data, overlay.data, 12 * 12 * 3 * sizeof(float)) == 0,
              "--overlay --alpha 1 --colormap gray differs from the plain picture");
    snprintf(args, sizeof args, EXPLAIN_SMALL "--png %s/inferno.png --colormap inferno", tmpdir);
    CHECK(run_cli(args) == 0, "inferno: %s", err_text);
    if (read_png("inferno.png", &coloured) == SAL_OK) {
        int colourful = 0;
        for (int i = 0; i < 12 * 12; i++) colourful |= coloured.data[3 * i] != coloured.data[3 * i + 2];
        CHECK(colourful, "the inferno picture is gray");
    }
    sal_image_free(&plain);
    sal_image_free(&photo);
    sal_image_free(&crop);
    sal_image_free(&overlay);
    sal_image_free(&coloured);
}

static void test_progress_and_baseline(void) {
    char args[1024];
    snprintf(args, sizeof args, EXPLAIN_SMALL "--method integrated-gradients --npy %s/ig.npy --progress", tmpdir);
    CHECK(run_cli(args) == 0, "--progress: %s", err_text);
    CHECK(strchr(err_text, '\r') && strstr(err_text, "100%"), "no progress bar on stderr: '%s'", err_text);
    double black = json_number("score_difference");
    snprintf(args, sizeof args,
             EXPLAIN_SMALL "--method integrated-gradients --npy %s/ig.npy --baseline " SAL_ASSETS_DIR "/photos/chelsea.png",
             tmpdir);
    CHECK(run_cli(args) == 0, "--baseline PHOTO: %s", err_text);
    double photo = json_number("score_difference");
    CHECK(isfinite(photo) && photo != black, "a photo baseline gives the same F(x) - F(x') as black: %g", photo);
}

/* --smooth reaches SmoothGrad: the same seed gives the same mask, another seed another. */
static void test_smoothing_flags(void) {
    float *masks[3] = {NULL, NULL, NULL};
    const char *seeds[3] = {"3", "3", "4"};
    for (int k = 0; k < 3; k++) {
        char args[1024];
        snprintf(args, sizeof args, EXPLAIN_SMALL "--smooth 4 --noise 0.2 --aggregate vargrad --seed %s --npy %s/s.npy",
                 seeds[k], tmpdir);
        CHECK(run_cli(args) == 0, "--smooth: %s", err_text);
        int shape[SAL_NPY_MAX_DIMS], ndim = 0;
        masks[k] = read_npy("s.npy", shape, &ndim);
    }
    size_t bytes = SMALL_SIZE * SMALL_SIZE * 3 * sizeof(float);
    if (masks[0] && masks[1] && masks[2]) {
        CHECK(memcmp(masks[0], masks[1], bytes) == 0, "--seed 3 twice gave different masks");
        CHECK(memcmp(masks[0], masks[2], bytes) != 0, "--seed 3 and --seed 4 gave the same mask");
    }
    for (int k = 0; k < 3; k++) free(masks[k]);
}

/* ------------------------------------------------- --original-size and --xrai-top */

#define CHELSEA SAL_ASSETS_DIR "/photos/chelsea.png" /* 451 x 300: the model (12 x 12) sees a centre square */
#define EXPLAIN_CHELSEA "explain --model " SMALL " --image " CHELSEA " --preprocess tf " /* caffe: all-zero maps */

/* The columns [*first, *last) of a photo_w x photo_h photo kept when it is
 * scaled so that its height is `size` and the middle `size` columns are
 * taken: the ends of that strip mapped back to the photo and rounded. */
static void kept_columns(int photo_w, int photo_h, int size, int *first, int *last) {
    int scaled_w = (int)floor((double)photo_w * size / photo_h + 0.5);
    double cut = (double)((scaled_w - size) / 2);
    *first = (int)floor(cut * photo_w / scaled_w + 0.5);
    *last = (int)floor((cut + size) * photo_w / scaled_w + 0.5);
}

/* torch's bilinear (align_corners=False) of an n x n map at output (x, y) of an out_w x out_h grid. */
static double naive_bilinear(const double *map, int n, int out_w, int out_h, int x, int y) {
    double u = fmax(0.0, (x + 0.5) * n / out_w - 0.5), v = fmax(0.0, (y + 0.5) * n / out_h - 0.5);
    int x0 = (int)u, y0 = (int)v, x1 = x0 + 1 < n ? x0 + 1 : x0, y1 = y0 + 1 < n ? y0 + 1 : y0;
    double tx = u - x0, ty = v - y0;
    double top = map[y0 * n + x0] * (1 - tx) + map[y0 * n + x1] * tx;
    double bottom = map[y1 * n + x0] * (1 - tx) + map[y1 * n + x1] * tx;
    return top * (1 - ty) + bottom * ty;
}

/* Grad-CAM's picture is its map divided by its largest value. */
static int read_gradcam_display(double *map) {
    int shape[SAL_NPY_MAX_DIMS], ndim = 0;
    float *mask = read_npy("g.npy", shape, &ndim);
    int ok = mask && ndim == 2 && shape[0] == SMALL_SIZE && shape[1] == SMALL_SIZE;
    CHECK(ok, "--original-size: the .npy is not (12, 12) at the input size");
    double top = 0;
    for (int i = 0; ok && i < SMALL_SIZE * SMALL_SIZE; i++) top = fmax(top, mask[i]);
    for (int i = 0; ok && i < SMALL_SIZE * SMALL_SIZE; i++) map[i] = top > 0 ? fmin(1.0, fmax(0.0, mask[i] / top)) : 0;
    free(mask);
    CHECK(!ok || top > 0, "--original-size: Grad-CAM's map is all zero, nothing to compare");
    return ok && top > 0;
}

static void check_original_size_picture(const sal_image *png, const double *map) {
    int first = 0, last = 0;
    kept_columns(png->width, png->height, SMALL_SIZE, &first, &last);
    CHECK(first > 0 && last < png->width, "the crop [%d, %d) is not inside the photo", first, last);
    double outside = 0, inside = 0, worst = 0;
    for (int y = 0; y < png->height; y++) {
        for (int x = 0; x < png->width; x++) {
            double v = png->data[3 * ((size_t)y * png->width + x)];
            if (x < first || x >= last) outside = fmax(outside, v);
            else inside = fmax(inside, v);
        }
    }
    CHECK(outside == 0, "outside the crop the picture is %g, not black", outside);
    CHECK(inside > 0, "the picture is black inside the crop too");
    int width = last - first;
    for (int y = 0; y < png->height; y += 37) {
        for (int x = first; x < last; x += 23) {
            double want = 255.0 * naive_bilinear(map, SMALL_SIZE, width, png->height, x - first, y);
            worst = fmax(worst, fabs(png->data[3 * ((size_t)y * png->width + x)] - want));
        }
    }
    CHECK(worst <= 0.51, "inside the crop the picture differs from the bilinear map by %g levels", worst);
}

static void test_original_size(void) {
    char args[1024];
    snprintf(args, sizeof args, EXPLAIN_CHELSEA "--method grad-cam --npy %s/g.npy --png %s/g.png --original-size",
             tmpdir, tmpdir);
    CHECK(run_cli(args) == 0, "--original-size: %s", err_text);
    sal_image png = {0}, photo = {0};
    double map[SMALL_SIZE * SMALL_SIZE];
    if (read_gradcam_display(map) && read_png("g.png", &png) == SAL_OK) {
        CHECK(png.width == 451 && png.height == 300, "--original-size: the PNG is %d x %d, not 451 x 300", png.width,
              png.height);
        if (png.width == 451 && png.height == 300) check_original_size_picture(&png, map);
    }
    sal_image_free(&png);
    /* --overlay --alpha 0 is then the original photo itself */
    snprintf(args, sizeof args, EXPLAIN_CHELSEA "--png %s/o.png --original-size --overlay --alpha 0 --colormap jet",
             tmpdir);
    CHECK(run_cli(args) == 0, "--original-size --overlay: %s", err_text);
    sal_error err;
    CHECK(sal_image_load(CHELSEA, &photo, &err) == SAL_OK, "%s", err.message);
    if (read_png("o.png", &png) == SAL_OK && photo.data) {
        int same_size = png.width == photo.width && png.height == photo.height;
        CHECK(same_size, "--overlay: %d x %d over a %d x %d photo", png.width, png.height, photo.width, photo.height);
        double worst = 0;
        for (size_t i = 0; same_size && i < (size_t)photo.width * photo.height * 3; i++)
            worst = fmax(worst, fabs(png.data[i] - photo.data[i]));
        CHECK(worst <= 0.5, "--original-size --overlay --alpha 0 differs from the photo by %g", worst);
    }
    sal_image_free(&png);
    sal_image_free(&photo);
}

/* XRAI's .npy gives every pixel its region's value, higher for higher ranked
 * regions: the top P % are the pixels of the highest values, taken whole
 * region by region until P % of the area is covered. */
static void check_top_regions(const float *xrai, const sal_image *png, double percent) {
    int n = 224 * 224, white = 0, binary = 1;
    float lowest_white = INFINITY, highest_black = -INFINITY;
    for (int i = 0; i < n; i++) {
        float v = png->data[3 * i];
        binary &= v == 0 || v == 255;
        if (v == 255) white++, lowest_white = fminf(lowest_white, xrai[i]);
        else highest_black = fmaxf(highest_black, xrai[i]);
    }
    CHECK(binary, "--xrai-top %g: the picture is not black and white", percent);
    CHECK(white == n || lowest_white > highest_black,
          "--xrai-top %g: a white pixel (%g) is below a black one (%g)", percent, lowest_white, highest_black);
    int last_region = 0; /* white pixels of the lowest white value: the region that crossed the bound */
    for (int i = 0; i < n; i++) last_region += png->data[3 * i] == 255 && xrai[i] == lowest_white;
    double bound = percent / 100.0 * n;
    CHECK(white >= bound && white - last_region < bound,
          "--xrai-top %g: %d white pixels (last region %d) for a bound of %g", percent, white, last_region, bound);
}

/* On the ResNet50: the small models' 12 x 12 pictures make one XRAI region. */
static void test_xrai_top(void) {
    const double percents[] = {30, 55};
    for (int k = 0; k < 2; k++) {
        char args[1024];
        snprintf(args, sizeof args,
                 "explain --model " MODEL " --image " CHELSEA " --method xrai --steps 2 --npy %s/x.npy --png %s/x.png "
                 "--xrai-top %g", tmpdir, tmpdir, percents[k]);
        CHECK(run_cli(args) == 0, "--xrai-top: %s", err_text);
        int shape[SAL_NPY_MAX_DIMS], ndim = 0;
        float *xrai = read_npy("x.npy", shape, &ndim);
        sal_image png = {0};
        if (xrai && read_png("x.png", &png) == SAL_OK) {
            int right = ndim == 2 && shape[0] == 224 && shape[1] == 224 && png.width == 224 && png.height == 224;
            CHECK(right, "--xrai-top: PNG %d x %d", png.width, png.height);
            if (right) check_top_regions(xrai, &png, percents[k]);
        }
        sal_image_free(&png);
        free(xrai);
    }
}

static void test_explain_flag_errors(void) {
    static const char *const cases[][2] = {
        {"--steps 0", "--steps"},           {"--smooth many", "--smooth"},
        {"--noise -1", "--noise"},          {"--aggregate median", "--aggregate"},
        {"--seed -3", "--seed"},            {"--quadrature simpson", "--quadrature"},
        {"--window 0", "--window"},         {"--stride x", "--stride"},
        {"--baseline-value 300", "--baseline-value"}, {"--colormap magma", "--colormap"},
        {"--alpha 2", "--alpha"},           {"--memory-budget 0", "--memory-budget"},
        {"--percentile 101", "--percentile"}, {"--method nope", "--method"},
        {"--target 5", "--target"},         {"--target -2", "--target"},
        {"--method grad-cam --layer nosuchlayer", "nosuchlayer"},
        {"--baseline /nonexistent.png", "/nonexistent.png"},
        {"--overlay 1", "'--overlay' takes no value"},             {"--threads", "needs a value"},
        {"--npy --png x.png", "--npy"},
        {"--xrai-top 30", "--xrai-top needs --method xrai"},
        {"--method grad-cam --xrai-top 30", "--xrai-top needs --method xrai"},
        {"--method xrai --xrai-top 101", "--xrai-top needs a number from 0 to 100"},
        {"--method xrai --xrai-top -1", "--xrai-top needs a number from 0 to 100"},
        {"--method xrai --xrai-top ten", "--xrai-top needs a number from 0 to 100"},
        {"--original-size 1", "'--original-size' takes no value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[1024];
        snprintf(args, sizeof args, EXPLAIN_SMALL "--npy %s/e.npy %s", tmpdir, cases[i][0]);
        expect_failure(args, cases[i][1]);
    }
    expect_failure(EXPLAIN_SMALL, "--npy");
    expect_failure(EXPLAIN_SMALL "--npy /nonexistent/dir/m.npy", "/nonexistent/dir/m.npy");
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sal_test_cli_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_labels();
    test_errors();
    test_classify();
    test_custom_preprocessing();
    test_explain();
    test_every_method();
    test_pictures();
    test_original_size();
    test_xrai_top();
    test_progress_and_baseline();
    test_smoothing_flags();
    test_explain_flag_errors();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report();
}
