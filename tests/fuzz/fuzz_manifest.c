/* Fuzz target: SageMaker augmented manifests (data/manifest.c: JSON Lines,
 * the "-ref" image member, numeric, string and list labels, padding) with
 * the images they name read and decoded; the scratch directory holds a.pgm
 * and b.ppm for them to name. */
#include "fuzz.h"
#include "reader_items.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const char pgm[] = "P5 2 2 255\n\x01\x02\x03\x04";
    static const char ppm[] = "P3 1 1 255\n1 2 3\n";
    cf_fuzz_file("a.pgm", pgm, sizeof pgm - 1);
    cf_fuzz_file("b.ppm", ppm, sizeof ppm - 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = cf_fuzz_file("f.manifest", data, size);
    if (!p) return 0;
    cf_reader_opts o = {0};
    cf_fuzz_read_items(p, "manifest", &o);
    o.limit = 2;
    o.root = cf_fuzz_dir();
    cf_fuzz_read_items(p, "manifest", &o);
    return 0;
}
