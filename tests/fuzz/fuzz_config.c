/* tests/fuzz/fuzz_config.c: libFuzzer target for shoald's configuration
 * loader (daemon/config*.c), which reads untrusted bytes.
 *
 * Each input goes through shd_config_load_buffer() whole, and its first
 * bytes through the size and duration parsers. Invariants (abort() when
 * broken): a load that succeeds reports no error, one that fails says why.
 *
 * fuzz-args: -max_len=4096
 * The seed corpus is tests/fuzz/corpus/config/; test_fuzz_config replays it
 * (tests/fuzz/replay.c). Build and run: docs/testing.md, "Fuzz targets". */
#include "daemon/config/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct shd_config *cfg = NULL;
    struct shd_diag diag;
    char text[128], why[256];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    uint64_t v;

    shd_diag_init(&diag);
    if (shd_config_load_buffer("fuzz.yaml", (const char *)data, size, &cfg, &diag) == 0) {
        if (diag.count != 0)
            abort(); /* success never comes with errors */
        shd_config_free(cfg);
    } else if (shd_diag_errors(&diag) == 0) {
        abort(); /* a failure always says why */
    }
    shd_diag_free(&diag);

    memcpy(text, data, n);
    text[n] = '\0';
    shd_parse_size(text, &v, why, sizeof(why));
    shd_parse_duration(text, &v, why, sizeof(why));
    return 0;
}
