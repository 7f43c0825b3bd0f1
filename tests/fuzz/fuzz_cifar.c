/* Fuzz target: CIFAR binaries (data/cifar.c): the same bytes as a
 * CIFAR-10 batch (3073-byte records) and as CIFAR-100's train.bin (3074,
 * coarse and fine labels). Input: the .bin, optionally "\n====\n" and the
 * class-names file written beside it under each name the reader looks for. */
#include <stdio.h>
#include <unistd.h>

#include "fuzz.h"
#include "reader_items.h"

static const char *const name_files[] = {"batches.meta.txt", "fine_label_names.txt", "coarse_label_names.txt"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const bins[] = {"data_batch_1.bin", "train.bin"};
    const uint8_t *b;
    size_t al, bl;
    cf_fuzz_split(data, size, &b, &al, &bl);
    for (int i = 0; i < 3; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", cf_fuzz_dir(), name_files[i]);
        if (b) cf_fuzz_file(name_files[i], b, bl);
        else unlink(p);
    }
    for (int i = 0; i < 2; i++) {
        const char *p = cf_fuzz_file(bins[i], data, al);
        if (!p) continue;
        cf_reader_opts o = {0};
        o.cifar_label = i ? "coarse" : "fine";
        cf_fuzz_read_items(p, "cifar", &o);
    }
    return 0;
}
