/* explain.c - the explain command: checks the flags, loads the model and
 * the photo (and a baseline photo), runs sal_explain with an optional
 * progress bar on stderr, then writes the .npy, the .png and the JSON summary. */
#include "explain.h"

#include <stdio.h>
#include <string.h>

#include "../bytes/error.h"
#include "common.h"
#include "explain_settings.h"
#include "outputs.h"
#include "pipeline.h"

enum { BAR_WIDTH = 30 };

typedef struct {
    int last_percent; /* -1 until drawn */
} progress_bar;

/* Redraws the bar in place (carriage return) when the whole percent changes. */
static int draw_progress(void *user, double fraction) {
    progress_bar *bar = user;
    int percent = (int)(fraction * 100.0 + 1e-9);
    percent = percent < 0 ? 0 : (percent > 100 ? 100 : percent);
    if (percent == bar->last_percent) return 0;
    bar->last_percent = percent;
    static const char hashes[] = "##############################", dashes[] = "------------------------------";
    int filled = percent * BAR_WIDTH / 100;
    fprintf(stderr, "\rexplaining [%.*s%.*s] %3d%%", filled, hashes, BAR_WIDTH - filled, dashes, percent);
    fflush(stderr);
    return 0;
}

static int check_target(const cli_pipeline *p, int target, sal_error *err) {
    int classes = sal_model_num_classes(p->model);
    if (target >= classes)
        return sal_fail(err, SAL_ERR_ARGUMENT, "--target %d is not a class of this model (it has %d classes)", target,
                        classes);
    return SAL_OK;
}

/* --baseline PHOTO: resized and cropped like the photo; sal_explain preprocesses it. */
static int load_baseline(const cli_pipeline *p, cli_explain_settings *s, sal_image *baseline, sal_error *err) {
    sal_error why = {0};
    int status = cli_load_photo(p, s->baseline_photo, baseline, &why);
    if (status)
        return sal_fail(err, status, "--baseline is black, white, noise, blur or a photo: %s", why.message);
    s->explain.baseline_pixels = baseline->data;
    return SAL_OK;
}

static int run_method(cli_pipeline *p, cli_explain_settings *s, sal_explanation *e, sal_error *err) {
    progress_bar bar = {-1};
    if (s->progress) s->explain.progress = (sal_progress){draw_progress, &bar};
    int status = sal_explain(p->ctx, &p->preprocess, &p->pixels, &s->explain, e, err);
    if (bar.last_percent >= 0) fputc('\n', stderr);
    return status;
}

int cli_explain(const cli_options *opt, sal_error *err) {
    cli_explain_settings s;
    int status = cli_explain_settings_parse(opt, &s, err);
    if (status) return status;
    cli_pipeline p;
    sal_image baseline = {0};
    sal_labels labels = {0};
    sal_explanation e;
    memset(&e, 0, sizeof e);
    status = cli_pipeline_open(&p, opt, err);
    if (!status) status = check_target(&p, s.explain.target, err);
    if (!status && s.baseline_photo) status = load_baseline(&p, &s, &baseline, err);
    if (!status) status = cli_load_labels(opt, &labels, err);
    if (!status) status = run_method(&p, &s, &e, err);
    if (!status && s.npy) status = cli_write_npy(s.npy, &e, err);
    if (!status && s.png) status = cli_write_png(s.png, &e, &s, &p, err);
    if (!status) cli_print_summary(&e, s.explain.method, &labels);
    sal_explanation_free(&e);
    sal_labels_free(&labels);
    sal_image_free(&baseline);
    cli_pipeline_close(&p);
    return status;
}
