/* Fuzz target: .lst image lists (data/lst.c: "index\tlabel...\tpath"
 * lines, multi-label, class names) with the images they name read and
 * decoded (reader_items.h: a.pgm and b.ppm are there to be named). */
#include "fuzz.h"
#include "reader_items.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    cf_fuzz_list_images();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cf_fuzz_read_list(data, size, "f.lst", "lst");
    return 0;
}
