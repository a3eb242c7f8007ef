/* The native CLI end to end: the ResNet50 on a photo, and every kind of bad
 * input giving exit status 1 and one clear line on stderr.  Also the label
 * files it reads (sal_labels_parse). */
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
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report();
}
