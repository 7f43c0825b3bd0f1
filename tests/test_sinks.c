/* Run events and sinks: dispatch order and failures, a full disk as an error,
 * and the TensorBoard encoding's parts (CRC-32C check value, protobuf wire
 * format, TFRecord framing). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "core/crc32c.h"
#include "core/protobuf.h"
#include "observe/sink.h"
#include "observe/tfevents.h"

/* ---- CRC-32C and protobuf ---- */

START_TEST(test_crc32c)
{
    ck_assert_uint_eq(cf_crc32c("123456789", 9), 0xE3069283u); /* the standard check value */
    ck_assert_uint_eq(cf_crc32c("", 0), 0);
    /* RFC 3720 B.4: 32 bytes of zeros, and of 0xff */
    unsigned char z[32] = {0}, f[32];
    memset(f, 0xff, sizeof f);
    ck_assert_uint_eq(cf_crc32c(z, 32), 0x8A9136AAu);
    ck_assert_uint_eq(cf_crc32c(f, 32), 0x62A8AB43u);
    /* extending = one pass */
    ck_assert_uint_eq(cf_crc32c_extend(cf_crc32c("1234", 4), "56789", 5), 0xE3069283u);
    uint32_t c = 0xE3069283u;
    ck_assert_uint_eq(cf_crc32c_mask(c), (((c >> 15) | (c << 17)) + 0xa282ead8u) & 0xffffffffu);
}
END_TEST

START_TEST(test_protobuf)
{
    cf_pb b = {0}, sub = {0};
    cf_pb_varint(&b, 1, 300); /* the protobuf docs' example: 08 ac 02 */
    cf_pb_str(&b, 2, "testing");
    cf_pb_double(&b, 3, 1.0);
    cf_pb_float(&b, 4, 0.5f);
    cf_pb_varint(&sub, 1, 150);
    cf_pb_msg(&b, 5, &sub);
    static const unsigned char want[] = {0x08, 0xac, 0x02, 0x12, 7, 't', 'e', 's', 't', 'i', 'n', 'g',
                                         0x19, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x25, 0, 0, 0, 0x3f,
                                         0x2a, 3, 0x08, 0x96, 0x01};
    ck_assert(!b.oom);
    ck_assert_uint_eq(b.len, sizeof want);
    ck_assert(memcmp(b.p, want, sizeof want) == 0);
    cf_pb_free(&b);
    cf_pb_free(&sub);
}
END_TEST

START_TEST(test_tfrecord)
{
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    cf_error err;
    ck_assert_int_eq(cf_tfrecord_write(f, "abc", 3, "tmp", &err), CF_OK);
    rewind(f);
    unsigned char r[64];
    ck_assert_uint_eq(fread(r, 1, sizeof r, f), 8 + 4 + 3 + 4);
    ck_assert(r[0] == 3 && !r[1] && !r[2] && !r[3] && !r[4] && !r[5] && !r[6] && !r[7]);
    uint32_t hc = r[8] | r[9] << 8 | r[10] << 16 | (uint32_t)r[11] << 24;
    uint32_t dc = r[15] | r[16] << 8 | r[17] << 16 | (uint32_t)r[18] << 24;
    ck_assert_uint_eq(hc, cf_crc32c_mask(cf_crc32c(r, 8)));
    ck_assert(memcmp(r + 12, "abc", 3) == 0);
    ck_assert_uint_eq(dc, cf_crc32c_mask(cf_crc32c("abc", 3)));
    fclose(f);
}
END_TEST

/* ---- the sink list ---- */

static char trace[256];

static cf_status ok_epoch(cf_sink *s, const cf_ev_epoch *ev, cf_error *err)
{
    size_t n = strlen(trace);
    snprintf(trace + n, sizeof trace - n, "%s%d ", s->name, ev->epoch);
    return CF_OK;
}

static cf_status bad_epoch(cf_sink *s, const cf_ev_epoch *ev, cf_error *err)
{
    ok_epoch(s, ev, err);
    return cf_error_set(err, CF_ERR_IO, "%s: disk full", s->name);
}

static cf_status bad_end(cf_sink *s, const cf_ev_end *ev, cf_error *err)
{
    return cf_error_set(err, CF_ERR_IO, "%s: cannot write", s->name);
}

static cf_status seen_end(cf_sink *s, const cf_ev_end *ev, cf_error *err)
{
    snprintf(trace, sizeof trace, "%d %s %s", ev->status, ev->outcome, ev->message ? ev->message : "-");
    return CF_OK;
}

START_TEST(test_dispatch)
{
    cf_sinks l = {0};
    cf_error err;
    cf_sink a = {.name = "a", .epoch = ok_epoch}, b = {.name = "b", .epoch = bad_epoch, .end = bad_end},
            c = {.name = "c", .epoch = ok_epoch, .end = seen_end}, front = {.name = "f", .epoch = ok_epoch};
    ck_assert_int_eq(cf_sinks_add(&l, &a, &err), CF_OK);
    ck_assert_int_eq(cf_sinks_add(&l, &b, &err), CF_OK);
    ck_assert_int_eq(cf_sinks_add(&l, &c, &err), CF_OK);
    cf_sinks pre = {0};
    ck_assert_int_eq(cf_sinks_add(&pre, &front, &err), CF_OK);
    ck_assert_int_eq(cf_sinks_prepend(&l, &pre, &err), CF_OK);
    ck_assert_int_eq(pre.n, 0);
    trace[0] = '\0';
    cf_ev_epoch ev = {.epoch = 3};
    /* every sink sees the event; the failure is returned */
    ck_assert_int_eq(cf_sinks_epoch(&l, &ev, &err), CF_ERR_IO);
    ck_assert_str_eq(trace, "f3 a3 b3 c3 ");
    ck_assert_str_eq(err.msg, "b: disk full");
    ck_assert_int_eq(cf_sinks_note(&l, "nobody listens", &err), CF_OK);
    /* a failing end sink becomes the outcome of a run that had gone well */
    cf_ev_end end = {.status = CF_OK, .outcome = "completed"};
    ck_assert_int_eq(cf_sinks_end(&l, &end, &err), CF_ERR_IO);
    ck_assert_int_eq(end.status, CF_ERR_IO);
    ck_assert_str_eq(trace, "2 failed b: cannot write");
    /* ... but not of one that had already failed */
    cf_ev_end end2 = {.status = CF_ERR_NUMERIC, .outcome = "failed", .message = "NaN"};
    cf_sinks_end(&l, &end2, &err);
    ck_assert_str_eq(trace, "7 failed NaN");
    cf_sinks_free(&l);
}
END_TEST

/* ---- real sinks against a full disk ---- */

START_TEST(test_disk_full)
{
    cf_error err;
    /* /dev/full takes the open and refuses the data: what a full disk does */
    ck_assert_int_eq(cf_sink_append("/dev", "full", "x\n", 2, &err), CF_ERR_IO);
    ck_assert_msg(strstr(err.msg, "/dev/full") != NULL, "%s", err.msg);
    FILE *full = fopen("/dev/full", "w");
    ck_assert_ptr_nonnull(full);
    cf_sinks l = {0};
    ck_assert_int_eq(cf_sink_json_add(&l, full, &err), CF_OK);
    cf_ev_epoch ev = {.epoch = 1, .epochs = 2};
    ck_assert_int_eq(cf_sinks_epoch(&l, &ev, &err), CF_ERR_IO);
    ck_assert_msg(strstr(err.msg, "JSON output") != NULL, "%s", err.msg);
    cf_sinks_free(&l);
    fclose(full);
    /* metrics.jsonl in a run directory that cannot take it */
    char dir[] = "/tmp/cf_sinks_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    cf_sinks m = {0};
    ck_assert_int_eq(cf_sink_jsonl_add(&m, &err), CF_OK);
    ck_assert_int_eq(cf_sinks_open(&m, &(cf_ev_open){dir, 0, 0}, &err), CF_OK);
    char p[300];
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    remove(p);
    ck_assert_int_eq(cf_mkdir_p(p, &err), CF_OK); /* a directory where the file should be */
    ck_assert_int_eq(cf_sinks_epoch(&m, &ev, &err), CF_ERR_IO);
    ck_assert_msg(strstr(err.msg, "metrics.jsonl") != NULL, "%s", err.msg);
    cf_sinks_free(&m);
    cf_rm_rf(dir);
}
END_TEST

/* ---- the stdout formats, byte for byte (scripts parse them) ---- */

static char *slurp(FILE *f)
{
    static char buf[4096];
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    return buf;
}

START_TEST(test_stdout_formats)
{
    cf_error err;
    FILE *f = tmpfile();
    cf_sinks l = {0};
    ck_assert_int_eq(cf_sink_console_add(&l, f, &err), CF_OK);
    ck_assert_int_eq(cf_sink_sagemaker_add(&l, f, &err), CF_OK);
    cf_ev_start st = {"n", "runs/n", "reference", "dev", "0.1.0", 240, 60, 2, 1, 12730, 8};
    cf_ev_epoch ep = {2, 2, 16, 0.002, 1.5678, 0.4125, 1, 1.5136, 0.41666, 0.7, 3, 0.0123, 51000.4};
    cf_ev_end end = {.status = CF_OK, .outcome = "completed", .run_dir = "runs/n", .have_test = 1,
                     .test_accuracy = 0.44, .test_loss = 1.5268, .test_samples = 100, .diagnosis_text = "fine"};
    ck_assert_int_eq(cf_sinks_start(&l, &st, &err), CF_OK);
    ck_assert_int_eq(cf_sinks_epoch(&l, &ep, &err), CF_OK);
    ck_assert_int_eq(cf_sinks_note(&l, "early stopping: why", &err), CF_OK);
    ck_assert_int_eq(cf_sinks_end(&l, &end, &err), CF_OK);
    ck_assert_str_eq(slurp(f),
                     "clforge 0.1.0: run runs/n on backend reference (dev); 240 train / 60 validation samples; 12730 parameters\n"
                     "resuming after epoch 1 (step 8)\n"
                     "epoch 2/2  train loss 1.5678 acc 0.4125  val loss 1.5136 acc 0.4167  lr 0.002  0.0s  51000 img/s\n"
                     "Epoch[1] Train-accuracy=0.412500\nEpoch[1] Validation-accuracy=0.416660\nEpoch[1] Time cost=0.012\n"
                     "early stopping: why\n"
                     "test accuracy 0.4400 (loss 1.5268, 100 images)\ndiagnosis: fine\n"
                     "wrote runs/n (summary.json, metrics.jsonl, model.clf)\n" /* no runs/n/report.html here */);
    cf_sinks_free(&l);
    fclose(f);
    f = tmpfile();
    ck_assert_int_eq(cf_sink_json_add(&l, f, &err), CF_OK);
    ck_assert_int_eq(cf_sinks_start(&l, &st, &err), CF_OK);
    ck_assert_int_eq(cf_sinks_epoch(&l, &ep, &err), CF_OK);
    end.status = CF_ERR_INTERRUPTED;
    end.message = "interrupted in epoch 3";
    end.epochs_run = 2;
    end.wall_seconds = 1.23456;
    ck_assert_int_eq(cf_sinks_end(&l, &end, &err), CF_OK);
    ck_assert_str_eq(slurp(f),
                     "{\"event\":\"start\",\"name\":\"n\",\"run_dir\":\"runs/n\",\"backend\":\"reference\","
                     "\"train_samples\":240,\"validation_samples\":60,\"parameters\":12730,\"epochs\":2}\n"
                     "{\"event\":\"epoch\",\"epoch\":2,\"lr\":0.002,\"train_loss\":1.5678,\"train_accuracy\":0.4125,"
                     "\"validation_loss\":1.5136,\"validation_accuracy\":0.41666,\"validation_top3\":0.7,"
                     "\"seconds\":0.012,\"images_per_sec\":51000.4}\n"
                     "{\"event\":\"end\",\"status\":\"interrupted\",\"message\":\"interrupted in epoch 3\","
                     "\"run_dir\":\"runs/n\",\"epochs_run\":2,\"validation_accuracy\":0,\"validation_loss\":0,"
                     "\"test_accuracy\":0.44,\"wall_seconds\":1.235}\n");
    cf_sinks_free(&l);
    fclose(f);
}
END_TEST

Suite *cf_test_suite(void)
{
    Suite *s = suite_create("sinks");
    TCase *t = tcase_create("encoding");
    tcase_add_test(t, test_crc32c);
    tcase_add_test(t, test_protobuf);
    tcase_add_test(t, test_tfrecord);
    suite_add_tcase(s, t);
    TCase *d = tcase_create("sinks");
    tcase_add_test(d, test_dispatch);
    tcase_add_test(d, test_disk_full);
    tcase_add_test(d, test_stdout_formats);
    suite_add_tcase(s, d);
    return s;
}
