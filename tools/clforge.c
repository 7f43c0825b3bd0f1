/* clforge — the command line. The only place that prints errors and exits. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "data/dataset.h"
#include "train/trainer.h"
#include "train/data_bench.h"
#include "core/util.h"
#include "dist/dist.h"
#include "core/params.h"
#include "train/schema.h"
#include "model/model.h"
#include "onnx/onnx.h"
#include "model/modelfile.h"
#include "onnx/onnx_export.h"
#include "train/session.h"
#include "core/sanitizer_options.h" /* defines the sanitizer defaults: main files only */

/* tools/tune_cmd.c provides the real one; this weak fallback keeps the CLI
 * linkable in a build without the tuner and says so. */
__attribute__((weak)) int cf_cmd_tune(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "clforge: error: this build has no tuner (tools/tune_cmd.c not compiled in)\n");
    return 1;
}

int cf_cmd_im2rec(int argc, char **argv); /* tools/im2rec_cmd.c */

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) { (void)sig; g_stop = 1; }

static const char *const top_help =
    "usage: clforge COMMAND [options]\n"
    "\n"
    "Train and tune image classifiers on any OpenCL GPU or the CPU.\n"
    "\n"
    "commands:\n"
    "  train CONFIG        train a model described by a libconfig file\n"
    "  train --resume DIR  continue an interrupted run from its last checkpoint\n"
    "  eval MODEL          test metrics, confusion matrix and inference speed of a saved model\n"
    "  predict MODEL IMG.. top-k classes of JPEG/PNG/PGM/PPM images\n"
    "  export MODEL -o F   write a saved model as ONNX (opset 13) for ONNX Runtime etc.\n"
    "  data info PATH      a dataset's format, classes, counts, image sizes, unreadable files\n"
    "  data bench CONFIG   the input pipeline alone (decode + augment + batch): open time, img/s\n"
    "  lr-find CONFIG      learning-rate range test: sweep, plot, suggest a rate\n"
    "  tune CONFIG         hyperparameter search (grid, random, bayesian, hyperband, asha)\n"
    "  im2rec PREFIX ROOT  MXNet im2rec: image lists (--list) and RecordIO .rec/.idx\n"
    "  model CONFIG        print the expanded model: layers, shapes, parameter counts\n"
    "  import FILE.onnx    convert an ONNX classifier (e.g. a torchvision model) to a model file\n"
    "  backends            list the backend plugins found and their files\n"
    "  devices             list the devices of every backend (OpenCL platforms/devices)\n"
    "  plugins [NAME]      list plugins, or show one plugin's parameters\n"
    "  config-reference    print the config reference (markdown) from the schema\n"
    "  version             print the version\n"
    "\n"
    "Run 'clforge COMMAND --help' for a command's options. Plugins are searched in\n"
    "the config's plugin_path, $CLFORGE_PLUGIN_PATH, the build tree and " CF_PLUGINDIR ".\n";

static int fail(const cf_error *e)
{
    /* under mpirun: one message, from rank 0, for an error every rank shares */
    if (cf_dist_rank() == 0 || !cf_dist_error_shared()) fprintf(stderr, "clforge: error: %s\n", e->msg);
    return e->status == CF_ERR_INTERRUPTED ? 130 : 1;
}

static int cmd_train(int argc, char **argv)
{
    static const char *const help =
        "usage: clforge train CONFIG [options]\n"
        "       clforge train --resume RUNDIR [--epochs N]\n"
        "\n"
        "Trains the model of CONFIG; prints one line per epoch and writes a run\n"
        "directory (output.dir/NAME) with config.cfg, metrics.jsonl, metrics.csv,\n"
        "summary.json, model.clf, checkpoints/ and report.html.\n"
        "\n"
        "options:\n"
        "  --set KEY=VALUE     override any config key (repeatable), e.g.\n"
        "                      --set train.epochs=2 --set backend.name=reference\n"
        "  --run-dir DIR       write the run here instead of output.dir/NAME\n"
        "  --resume DIR        continue the run in DIR from checkpoints/last.ckpt\n"
        "  --epochs N          train.epochs; with --resume, extend the run to N epochs\n"
        "                      (not with a cosine, onecycle, poly or linear schedule\n"
        "                      that spans train.epochs: without t_max)\n"
        "  --no-test           never evaluate the test set (used by tuning)\n"
        "  --json              one JSON object per event on stdout\n"
        "  --sagemaker-log     also print Epoch[N] Train-accuracy=... lines\n"
        "  --hyperparameters F SageMaker image-classification hyperparameters (JSON);\n"
        "                      unsupported names are refused by name; SageMaker's defaults\n"
        "                      fill names it leaves out that the config does not set\n"
        "  --allow-unknown     unknown config keys (file, --set) are warnings, not errors\n"
        "                      (as strict_keys = false; in the config)\n"
        "  --quiet             only errors\n"
        "  -h, --help          this help\n"
        "\n"
        "mpirun -np N clforge train CONFIG trains data-parallel (train.kv_store =\n"
        "dist_sync): train.mini_batch_size is per rank, gradients are averaged every\n"
        "step, rank 0 writes the run directory (docs/distributed.md).\n";
    static const struct option opts[] = {{"set", required_argument, 0, 's'},
                                         {"run-dir", required_argument, 0, 'r'},
                                         {"resume", required_argument, 0, 'R'},
                                         {"epochs", required_argument, 0, 'e'},
                                         {"no-test", no_argument, 0, 'n'},
                                         {"json", no_argument, 0, 'j'},
                                         {"sagemaker-log", no_argument, 0, 'S'},
                                         {"hyperparameters", required_argument, 0, 'H'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"allow-unknown", no_argument, 0, 'U'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) {
        fputs("clforge: error: out of memory\n", stderr);
        return 1;
    }
    cf_train_opts o = {0};
    int c;
    while ((c = getopt_long(argc, argv, "s:r:R:e:njSH:qUh", opts, NULL)) != -1) {
        switch (c) {
        case 's': sets[o.n_sets++] = optarg; break;
        case 'r': o.run_dir = optarg; break;
        case 'R': o.run_dir = optarg; o.config_path = NULL; break;
        case 'e': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (!*optarg || *end || v < 1 || v > 100000) {
                fprintf(stderr, "clforge: --epochs %s: expected a whole number from 1 to 100000\n", optarg);
                free(sets);
                return 2;
            }
            o.epochs = (int)v;
            break;
        }
        case 'n': o.no_test = 1; break;
        case 'j': o.json = 1; break;
        case 'S': o.sagemaker_log = 1; break;
        case 'H': o.hyperparameters = optarg; break;
        case 'q': o.quiet = 1; break;
        case 'U': o.allow_unknown = 1; break;
        case 'h': fputs(help, stdout); free(sets); return 0;
        default: fputs(help, stderr); free(sets); return 2;
        }
    }
    int resume = 0;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--resume") || !strncmp(argv[i], "--resume=", 9)) resume = 1;
    if (!resume) {
        if (optind != argc - 1) {
            fputs(help, stderr);
            free(sets);
            return 2;
        }
        o.config_path = argv[optind];
    } else if (optind != argc || o.n_sets) {
        fprintf(stderr, "clforge: error: --resume takes only the run directory (the run's config.cfg is used as it was; --epochs N extends it)\n");
        free(sets);
        return 2;
    }
    o.sets = sets;
    o.stop = &g_stop;
    o.out = stdout;
    o.warn = stderr;
    FILE *devnull = NULL;
    if (cf_dist_rank() > 0) { /* rank 0 speaks for the data-parallel run */
        o.quiet = 1;
        o.json = 0;
        o.sagemaker_log = 0;
        if ((devnull = fopen("/dev/null", "w"))) o.warn = devnull;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    cf_error e = {0};
    cf_status s = cf_train_run(&o, &e);
    free(sets);
    if (devnull) fclose(devnull);
    return s ? fail(&e) : 0;
}

/* --threads N: 1..1024, or a clear complaint naming the option. */
static int parse_threads(const char *arg, int *out)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (*arg == 0 || *end != 0 || v < 1 || v > 1024) {
        fprintf(stderr, "clforge: --threads %s: expected a whole number from 1 to 1024\n", arg);
        return 1;
    }
    *out = (int)v;
    return 0;
}

static int cmd_data_bench(int argc, char **argv)
{
    static const char *const help =
        "usage: clforge data bench CONFIG [--set KEY=VALUE]... [--batches N] [--json]\n"
        "\n"
        "Times the input pipeline alone: opens the config's training data (data.train)\n"
        "and assembles the batches of epoch 1 as training would (decode, augmentations,\n"
        "normalisation, data.workers threads, the prefetch ring), without a model.\n"
        "Prints the time to open the data and the images/s of the batches.\n"
        "  --batches N   stop after N batches (default: the whole epoch)\n";
    static const struct option opts[] = {{"set", required_argument, 0, 's'},
                                         {"batches", required_argument, 0, 'n'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char **sets = calloc((size_t)argc, sizeof *sets);
    cf_data_bench_opts o = {0};
    o.sets = sets;
    o.out = stdout;
    int c;
    optind = 2; /* after "data bench" */
    while ((c = getopt_long(argc, argv, "s:n:jh", opts, NULL)) != -1) {
        switch (c) {
        case 's': sets[o.n_sets++] = optarg; break;
        case 'n': o.batches = atoi(optarg); break;
        case 'j': o.json = 1; break;
        case 'h': fputs(help, stdout); free(sets); return 0;
        default: fputs(help, stderr); free(sets); return 2;
        }
    }
    if (!sets || optind != argc - 1 || o.batches < 0) {
        fputs(help, stderr);
        free(sets);
        return 2;
    }
    o.config_path = argv[optind];
    cf_error e = {0};
    int rc = cf_data_bench(&o, &e) ? fail(&e) : 0;
    free(sets);
    return rc;
}

static int cmd_data(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "bench")) return cmd_data_bench(argc, argv);
    static const char *const help =
        "usage: clforge data info PATH [--format F] [--root DIR] [--test] [--json]\n"
        "       clforge data bench CONFIG [--set KEY=VALUE]... [--batches N] [--json]\n"
        "\n"
        "What a dataset holds as clforge reads it: the format (detected, or --format:\n"
        "folder, lst, cifar, idx, recordio), the classes and their image counts, the\n"
        "image sizes and channels, and the files that cannot be read (training skips\n"
        "them). Every image is decoded once.\n"
        "  --root DIR   where a .lst's paths start (default: the .lst's folder)\n"
        "  --test       a CIFAR directory's test half (default: the training half)\n";
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {"root", required_argument, 0, 'r'},
                                         {"test", no_argument, 0, 'T'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *format = NULL, *root = NULL, *part = "train";
    int json = 0, c;
    while ((c = getopt_long(argc, argv, "f:r:Tjh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'r': root = optarg; break;
        case 'T': part = "test"; break;
        case 'j': json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return 2;
        }
    }
    if (optind != argc - 2 || strcmp(argv[optind], "info")) {
        fputs(help, stderr);
        return 2;
    }
    cf_error e = {0};
    return cf_data_info(argv[optind + 1], format, root, part, json, stdout, &e) ? fail(&e) : 0;
}

static int cmd_eval(int argc, char **argv)
{
    static const char *const help =
        "usage: clforge eval MODEL [--data PATH | --images IDX --labels IDX] [--backend NAME] [--threads N] [--json]\n"
        "\n"
        "Recomputes the test metrics of a saved model (runs/NAME/model.clf): accuracy,\n"
        "per-class precision/recall/F1/support, averages and the confusion matrix, and\n"
        "the inference speed (images/s in the forward passes, batch 256). A multi-label\n"
        "model (data.multi_label): per-label precision/recall/F1, micro and macro F1,\n"
        "exact-match accuracy and Hamming loss (train.threshold decides a label).\n"
        "  --data PATH      evaluate on PATH instead: a folder of class folders, a .lst,\n"
        "                   a .rec, CIFAR binaries or IDX images (format detected)\n"
        "  --backend NAME   run on this backend instead of the one it was trained on\n"
        "  --threads N      compute threads (default: as trained)\n";
    static const struct option opts[] = {{"images", required_argument, 0, 'i'},
                                         {"data", required_argument, 0, 'd'},
                                         {"labels", required_argument, 0, 'l'},
                                         {"backend", required_argument, 0, 'b'},
                                         {"threads", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *images = NULL, *labels = NULL, *backend = NULL, *data = NULL;
    int json = 0, threads = 0, c;
    while ((c = getopt_long(argc, argv, "i:l:d:b:t:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'i': images = optarg; break;
        case 'l': labels = optarg; break;
        case 'b': backend = optarg; break;
        case 't':
            if (parse_threads(optarg, &threads)) return 2;
            break;
        case 'j': json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return 2;
        }
    }
    if (optind != argc - 1 || (!images) != (!labels) || (data && images)) {
        fputs(help, stderr);
        return 2;
    }
    cf_error e = {0};
    return cf_eval_model(argv[optind], images, labels, data, backend, threads, json, stdout, &e) ? fail(&e)
                                                                                          : 0;
}

static int cmd_predict(int argc, char **argv)
{
    static const char *const help =
        "usage: clforge predict MODEL IMAGE... [--top-k K] [--backend NAME] [--threads N] [--json]\n"
        "\n"
        "Classifies JPEG, PGM or PPM images with a saved model (runs/NAME/model.clf):\n"
        "each image is resized to the model's input (bilinear), converted to its\n"
        "channels, normalised as in training, and its top-k classes are printed with\n"
        "probabilities. Fashion-MNIST models expect light garments on a dark background.\n"
        "A multi-label model also names the labels whose probability exceeds train.threshold.\n";
    static const struct option opts[] = {{"top-k", required_argument, 0, 'k'},
                                         {"backend", required_argument, 0, 'b'},
                                         {"threads", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int k = 3, json = 0, threads = 0, c;
    const char *backend = NULL;
    while ((c = getopt_long(argc, argv, "k:b:t:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'k': k = atoi(optarg); break;
        case 'b': backend = optarg; break;
        case 't':
            if (parse_threads(optarg, &threads)) return 2;
            break;
        case 'j': json = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return 2;
        }
    }
    if (argc - optind < 2 || k < 1) {
        fputs(help, stderr);
        return 2;
    }
    cf_error e = {0};
    return cf_predict(argv[optind], (const char *const *)argv + optind + 1, argc - optind - 1, k,
                      backend, threads, json, stdout, &e) ? fail(&e) : 0;
}

/* A saved model (its embedded config gives shapes, normalisation and class
 * names) as ONNX; the network is built on the reference backend, which only
 * holds the weights here. */
static cf_status export_onnx(const char *model, const char *out, cf_error *err)
{
    cf_blob bl;
    CF_TRY(cf_blob_read(model, &bl, err));
    int ckpt = bl.text && !strncmp(bl.text, "epoch=", 6);
    cf_blob_free(&bl);
    if (ckpt)
        return cf_error_set(err, CF_ERR_INVALID, "%s is a training checkpoint (weights and optimizer state, no "
                            "model config): export the run's model.clf, or resume the run to write one", model);
    cf_session s;
    cf_train_opts o = {0};
    cf_session_init(&s, &o, stderr);
    cf_status st = cf_session_open_model(&s, model, "reference", 1, 1, err);
    const char **names = st ? NULL : calloc((size_t)s.k, sizeof *names);
    if (!st && !names) st = cf_error_set(err, CF_ERR_NOMEM, "out of memory");
    for (int c = 0; !st && c < s.k; c++) names[c] = cf_session_class_name(&s, c);
    if (!st) {
        static const char *const losses[] = {[CF_LOSS_XENT] = "xent", [CF_LOSS_MSE] = "mse",
                                             [CF_LOSS_HINGE] = "hinge", [CF_LOSS_BCE] = "bce"};
        cf_onnx_export_info info = {.c = s.c, .h = s.h, .w = s.w, .k = s.k, .mean = s.mean, .std = s.std,
                                    .class_names = names, .loss = losses[s.loss], .sigmoid = s.loss == CF_LOSS_BCE,
                                    .version = PACKAGE_VERSION};
        st = cf_onnx_export(s.net, &info, out, err);
        if (st) cf_error_prefix(err, "%s -> %s", model, out);
    }
    free(names);
    cf_session_free(&s);
    return st;
}

static int cmd_export(int argc, char **argv)
{
    static const char *const help =
        "usage: clforge export MODEL -o FILE.onnx\n"
        "\n"
        "Writes a saved model (runs/NAME/model.clf) as an ONNX model (opset 13) for\n"
        "ONNX Runtime, OpenVINO, TensorRT etc.: input \"input\" [N, C, H, W] float pixels\n"
        "in [0, 1] (N dynamic; images already fitted to the model's input shape), the\n"
        "model's normalisation (data.mean/std) as its first nodes, output \"probs\" [N, K]\n"
        "class probabilities as `clforge predict` shows them (the softmax of the last\n"
        "layer; a multi-label bce model: each output's sigmoid); class names, mean, std\n"
        "and the clforge version in the metadata.\n"
        "The file is written to a temporary name and renamed: never half-written.\n"
        "  -o, --output FILE  the .onnx file to write (required)\n";
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return 2;
        }
    }
    if (optind != argc - 1 || !out) {
        fputs(help, stderr);
        return 2;
    }
    cf_error e = {0};
    if (export_onnx(argv[optind], out, &e)) return fail(&e);
    printf("wrote %s\n", out);
    return 0;
}

static int cmd_lr_find(int argc, char **argv)
{
    static const char *const help =
        "usage: clforge lr-find CONFIG [--min LR] [--max LR] [--steps N] [--out FILE] [--set K=V]... [--json]\n"
        "\n"
        "Learning-rate range test: trains for N steps (default 200) while the rate grows\n"
        "exponentially from --min (1e-7) to --max (10), stops when the loss explodes,\n"
        "writes a plot of loss against rate (--out, default runs/NAME-lr-find.html) and\n"
        "suggests the rate where the smoothed loss falls fastest. Uses only the training split.\n";
    static const struct option opts[] = {{"min", required_argument, 0, 'm'},
                                         {"max", required_argument, 0, 'M'},
                                         {"steps", required_argument, 0, 'n'},
                                         {"out", required_argument, 0, 'o'},
                                         {"set", required_argument, 0, 's'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    cf_lr_find_opts o = {0};
    const char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) {
        fputs("clforge: error: out of memory\n", stderr);
        return 1;
    }
    o.min_lr = 1e-7;
    o.max_lr = 10;
    o.steps = 200;
    o.out = stdout;
    int c;
    while ((c = getopt_long(argc, argv, "m:M:n:o:s:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': o.min_lr = atof(optarg); break;
        case 'M': o.max_lr = atof(optarg); break;
        case 'n': o.steps = atoi(optarg); break;
        case 'o': o.report_path = optarg; break;
        case 's': sets[o.n_sets++] = optarg; break;
        case 'j': o.json = 1; break;
        case 'h': fputs(help, stdout); free(sets); return 0;
        default: fputs(help, stderr); free(sets); return 2;
        }
    }
    if (optind != argc - 1) {
        fputs(help, stderr);
        free(sets);
        return 2;
    }
    o.config_path = argv[optind];
    o.sets = sets;
    char def[1024];
    if (!o.report_path) {
        const char *b = strrchr(o.config_path, '/');
        snprintf(def, sizeof def, "runs/%s", b ? b + 1 : o.config_path);
        char *dot = strrchr(def, '.');
        if (dot) *dot = '\0';
        strncat(def, "-lr-find.html", sizeof def - strlen(def) - 1);
        cf_mkdir_p("runs", NULL);
        o.report_path = def;
    }
    cf_error e = {0};
    cf_status s = cf_lr_find(&o, &e);
    free(sets);
    return s ? fail(&e) : 0;
}

static int cmd_model(int argc, char **argv)
{
    const char **sets = calloc((size_t)argc, sizeof *sets);
    if (!sets) {
        fputs("clforge: error: out of memory\n", stderr);
        return 1;
    }
    int n = 0;
    const char *cfg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") && i + 1 < argc) sets[n++] = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            puts("usage: clforge model CONFIG [--set KEY=VALUE ...]\n\nPrints the expanded model "
                 "(presets included): every layer, its inputs, output shape and parameter count.");
            free(sets);
            return 0;
        } else cfg = argv[i];
    }
    if (!cfg) {
        fputs("usage: clforge model CONFIG [--set KEY=VALUE ...]\n", stderr);
        free(sets);
        return 2;
    }
    cf_error e = {0};
    cf_status s = cf_print_model(cfg, sets, n, stdout, &e);
    free(sets);
    return s ? fail(&e) : 0;
}

/* "0.485,0.456,0.406" -> values; the count is checked against the model. */
static int parse_list(const char *opt, const char *s, double *v, int *n)
{
    *n = 0;
    while (*s && *n < 4) {
        char *e;
        v[(*n)++] = strtod(s, &e);
        if (e == s || (*e && *e != ',')) break;
        s = *e ? e + 1 : e;
        if (!*s) return 0;
    }
    if (*s) {
        fprintf(stderr, "clforge: error: %s: expected 1 to 4 comma-separated numbers\n", opt);
        return 1;
    }
    return 0;
}

static int cmd_import(int argc, char **argv)
{
    static const char *const help =
        "usage: clforge import FILE.onnx -o MODEL.clf [--mean M,M,M --std S,S,S] [--classes FILE]\n"
        "                      [--config FILE] [--quiet]\n"
        "\n"
        "Converts an ONNX image classifier (torch.onnx.export of a torchvision model,\n"
        "or clforge export) into a clforge model file for predict, eval and train\n"
        "(model.init_from). Operators: Conv, BatchNormalization, Relu, MaxPool,\n"
        "AveragePool, GlobalAveragePool, Add, Concat, Flatten, Reshape (flatten),\n"
        "Gemm, MatMul, Dropout, Softmax, Identity, Constant (docs/transfer.md).\n"
        "  -o, --output FILE  the model file to write (written only when all went well)\n"
        "  --mean, --std      the normalisation the model was trained with, per channel,\n"
        "                     on pixels in [0, 1] (torchvision: 0.485,0.456,0.406 and\n"
        "                     0.229,0.224,0.225); default: none (0 and 1)\n"
        "  --classes FILE     class names, one a line (default: 0 .. K-1)\n"
        "  --config FILE      also write the model section (model = { input; layers })\n"
        "                     for a training config: @include it and set\n"
        "                     model.init_from to MODEL.clf to fine-tune the import\n"
        "  --quiet            no summary\n";
    static const struct option opts[] = {{"output", required_argument, 0, 'o'},
                                         {"mean", required_argument, 0, 'm'},
                                         {"std", required_argument, 0, 's'},
                                         {"classes", required_argument, 0, 'c'},
                                         {"config", required_argument, 0, 'C'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL, *classes = NULL, *config = NULL;
    double mean[4], std[4];
    int n_mean = 0, n_std = 0, quiet = 0, c;
    while ((c = getopt_long(argc, argv, "o:m:s:c:C:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'm':
            if (parse_list("--mean", optarg, mean, &n_mean)) return 2;
            break;
        case 's':
            if (parse_list("--std", optarg, std, &n_std)) return 2;
            break;
        case 'c': classes = optarg; break;
        case 'C': config = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return 2;
        }
    }
    if (optind != argc - 1 || !out) {
        fputs(help, stderr);
        return 2;
    }
    const char *in = argv[optind];
    cf_error e = {0};
    cf_onnx_import_opts io = {.log = quiet ? NULL : stderr};
    cf_onnx_model m;
    if (cf_onnx_import(in, &io, &m, &e)) return fail(&e);
    char *text = NULL, **names = NULL;
    int n_names = 0, rc = 0;
    int ch = m.spec->in_c;
    if ((n_mean && n_mean != ch) || (n_std && n_std != ch)) {
        fprintf(stderr, "clforge: error: %s takes %d channels: --mean and --std need %d values each\n", in, ch, ch);
        rc = 1;
    } else if ((n_mean || n_std) && m.has_norm) {
        fprintf(stderr, "clforge: error: %s normalises its input itself (Sub/Div at its start, now data.mean/std): "
                        "--mean/--std would apply a second normalisation\n", in);
        rc = 1;
    }
    if (!rc && classes) {
        size_t len;
        if (cf_read_file(classes, &text, &len, &e)) rc = fail(&e);
        for (char *line = text ? strtok(text, "\r\n") : NULL; !rc && line; line = strtok(NULL, "\r\n")) {
            char **nn = realloc(names, (size_t)(n_names + 1) * sizeof *nn);
            if (!nn) {
                fprintf(stderr, "clforge: error: out of memory\n");
                rc = 1;
                break;
            }
            names = nn;
            names[n_names++] = line;
        }
        if (!rc && n_names != m.n_classes) {
            fprintf(stderr, "clforge: error: %s: %d class names, the model has %d outputs\n", classes, n_names,
                    m.n_classes);
            rc = 1;
        }
    }
    if (!rc && cf_onnx_write_model(&m, out, n_mean ? mean : NULL, n_std ? std : NULL, (const char *const *)names,
                                   classes ? n_names : 0, &e))
        rc = fail(&e);
    if (!rc && config) {
        cf_sbuf b = {0};
        cf_sbuf_printf(&b, "# the model of %s (clforge import); its weights: %s\n", in, out);
        cf_model_spec_write(m.spec, &b);
        if (!b.s || cf_write_file_atomic(config, b.s, b.len, &e)) rc = b.s ? fail(&e) : 1;
        cf_sbuf_free(&b);
    }
    long n_params = 0;
    if (!rc && !quiet && !cf_model_summary(m.spec, NULL, &n_params, &e))
        printf("%s: %d layers, %ld parameters, input [%d, %d, %d], %d classes -> %s\n", in, m.spec->n, n_params,
               m.spec->in_c, m.spec->in_h, m.spec->in_w, m.n_classes, out);
    free(names);
    free(text);
    cf_onnx_model_free(&m);
    return rc;
}

static int open_registry(cf_registry **r)
{
    cf_error e = {0};
    if (cf_registry_create(r, NULL, 0, &e)) return fail(&e);
    const char *w = cf_registry_warnings(*r);
    if (*w) fprintf(stderr, "warning: some files were refused:\n%s", w);
    return 0;
}

static int cmd_backends(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        puts("usage: clforge backends\n\nLists the backend plugins found, their version, the file each came from,\n"
             "and the score used by backend.name = \"auto\" (highest wins).");
        return 0;
    }
    cf_registry *r;
    if (open_registry(&r)) return 1;
    int n = 0;
    for (int i = 0; i < cf_registry_count(r); i++) {
        const cf_plugin_desc *d = cf_registry_desc(r, i);
        if (d->kind != CF_PLUGIN_BACKEND) continue;
        const cf_backend_vtable *vt = d->vtable;
        int score = vt->auto_score ? vt->auto_score() : 1;
        printf("%-10s %-8s auto-score %-4d %s\n           %s\n", d->name, d->version, score,
               cf_registry_path(r, i), d->doc);
        n++;
    }
    if (!n) printf("no backends found (set CLFORGE_PLUGIN_PATH?)\n");
    cf_registry_destroy(r);
    return n ? 0 : 1;
}

static void mem(char *buf, size_t cap, uint64_t b)
{
    if (b >= (1ull << 30)) snprintf(buf, cap, "%.1f GiB", b / 1073741824.0);
    else if (b >= (1ull << 20)) snprintf(buf, cap, "%.1f MiB", b / 1048576.0);
    else snprintf(buf, cap, "%.0f KiB", b / 1024.0);
}

static int cmd_devices(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        puts("usage: clforge devices\n\nLists every device of every backend: for OpenCL each platform/device with\n"
             "name, vendor, type, OpenCL C version, compute units, memory and fp16/fp64 support.\n"
             "The index shown is what backend.device accepts.");
        return 0;
    }
    cf_registry *r;
    if (open_registry(&r)) return 1;
    for (int i = 0; i < cf_registry_count(r); i++) {
        const cf_plugin_desc *d = cf_registry_desc(r, i);
        if (d->kind != CF_PLUGIN_BACKEND) continue;
        const cf_backend_vtable *vt = d->vtable;
        cf_device_info info[32];
        int n = 0;
        cf_error e = {0};
        printf("backend %s:\n", d->name);
        if (!vt->list_devices) {
            printf("  (one implicit device)\n");
            continue;
        }
        if (vt->list_devices(info, 32, &n, &e)) {
            printf("  no devices: %s\n", e.msg);
            continue;
        }
        if (!n) printf("  no devices\n");
        for (int k = 0; k < n; k++) {
            char g[32], l[32], a[32];
            mem(g, sizeof g, info[k].global_mem);
            mem(l, sizeof l, info[k].local_mem);
            mem(a, sizeof a, info[k].max_alloc);
            printf("  [%d] %s\n      vendor %s, type %s, %s\n      platform %s\n      compute units %d, "
                   "global memory %s, local memory %s, max allocation %s, fp16 %s, fp64 %s\n",
                   k, info[k].name, info[k].vendor, info[k].type, info[k].version,
                   info[k].platform[0] ? info[k].platform : "-", info[k].compute_units, g, l, a,
                   info[k].fp16 ? "yes" : "no", info[k].fp64 ? "yes" : "no");
        }
    }
    cf_registry_destroy(r);
    return 0;
}

static int cmd_plugins(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        puts("usage: clforge plugins [NAME]\n\nWithout NAME: every plugin (kind, name, version, file, doc).\n"
             "With NAME: that plugin's parameters (name, type, default, range, doc).");
        return 0;
    }
    cf_registry *r;
    if (open_registry(&r)) return 1;
    int found = 0;
    for (int i = 0; i < cf_registry_count(r); i++) {
        const cf_plugin_desc *d = cf_registry_desc(r, i);
        if (argc > 1) {
            int match = !strcmp(d->name, argv[1]);
            if (!match && d->aliases) {
                char a[256];
                snprintf(a, sizeof a, "|%s|", d->aliases);
                char w[128];
                snprintf(w, sizeof w, "|%s|", argv[1]);
                match = strstr(a, w) != NULL;
            }
            if (!match) continue;
            printf("%s %s %s — %s\n  file: %s\n", cf_plugin_kind_name(d->kind), d->name, d->version,
                   d->doc, cf_registry_path(r, i));
            if (d->aliases) printf("  aliases: %s\n", d->aliases);
            printf("  ABI: %u.%u%s\n", d->abi_major, d->abi_minor,
                   d->abi_minor > CF_ABI_MINOR ? " (newer minor: members this clforge does not know are ignored)" : "");
            if (d->params && d->params[0].name) cf_params_print_table(d->params, stdout);
            else printf("  (no parameters)\n");
            found++;
            continue;
        }
        printf("%-13s %-20s %-7s %s\n%-13s %-20s %-7s   %s\n", cf_plugin_kind_name(d->kind), d->name,
               d->version, d->doc, "", "", "", cf_registry_path(r, i));
        found++;
    }
    cf_registry_destroy(r);
    if (argc > 1 && !found) {
        fprintf(stderr, "clforge: error: no plugin named '%s' (run 'clforge plugins' for the list)\n", argv[1]);
        return 1;
    }
    return 0;
}

static int cmd_config_reference(void)
{
    cf_registry *r;
    if (open_registry(&r)) return 1;
    cf_schema_print_reference(r, stdout);
    cf_registry_destroy(r);
    return 0;
}

/* OpenBLAS is loaded before main (through LAPACK) and starts one thread per
 * core that spins in sched_yield for ~0.1 s, competing with the cpu
 * backend's own pool (which runs OpenBLAS single-threaded anyway: docs/
 * cpu-backend.md). It reads OPENBLAS_NUM_THREADS only at load, so when the
 * user has not set it, set it to 1 and start over once. */
static void single_threaded_openblas(char **argv)
{
    if (getenv("OPENBLAS_NUM_THREADS")) return;
    if (setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0) return;
    execv("/proc/self/exe", argv); /* returns only on failure: carry on as we are */
}

/* train and tune join mpirun's world (dist/dist.h) when it started them. */
static int in_world(int (*cmd)(int, char **), int argc, char **argv)
{
    cf_error e = {0};
    if (cf_dist_init(&argc, &argv, &e)) {
        if (cf_dist_rank() == 0) fprintf(stderr, "clforge: error: %s\n", e.msg);
        return 1;
    }
    int rc = cmd(argc, argv);
    /* A rank that failed alone (its error not shared with the others) would
     * leave them waiting in the next collective: end the job. */
    if (rc && cf_dist_size() > 1 && !cf_dist_error_shared()) cf_dist_abort(rc);
    cf_dist_finalize();
    return rc;
}

int main(int argc, char **argv)
{
    single_threaded_openblas(argv);
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(top_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    argv[1] = argv[0];
    argc--;
    argv++;
    if (!strcmp(cmd, "train")) return in_world(cmd_train, argc, argv);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc, argv);
    if (!strcmp(cmd, "data")) return cmd_data(argc, argv);
    if (!strcmp(cmd, "tune")) return in_world(cf_cmd_tune, argc, argv);
    if (!strcmp(cmd, "im2rec")) return cf_cmd_im2rec(argc, argv);
    if (!strcmp(cmd, "model")) return cmd_model(argc, argv);
    if (!strcmp(cmd, "import")) return cmd_import(argc, argv);
    if (!strcmp(cmd, "predict")) return cmd_predict(argc, argv);
    if (!strcmp(cmd, "export")) return cmd_export(argc, argv);
    if (!strcmp(cmd, "lr-find")) return cmd_lr_find(argc, argv);
    if (!strcmp(cmd, "backends")) return cmd_backends(argc, argv);
    if (!strcmp(cmd, "devices")) return cmd_devices(argc, argv);
    if (!strcmp(cmd, "plugins")) return cmd_plugins(argc, argv);
    if (!strcmp(cmd, "config-reference")) return cmd_config_reference();
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("clforge %s\n", PACKAGE_VERSION);
        return 0;
    }
    fprintf(stderr, "clforge: unknown command '%s'\n\n%s", cmd, top_help);
    return 2;
}
