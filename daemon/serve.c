/* daemon/serve.c: serve mode, a placeholder until the event loops, peer
 * server, gateway and admin HTTP are built (a later change replaces this
 * file). */
#include "daemon/serve.h"
#include "daemon/err.h"

#include <stdio.h>

int shd_serve(const struct shd_config *cfg)
{
    (void)cfg;
    fprintf(stderr, "shoald: serving is not built yet\n");
    return SHD_ERR_UNSUPPORTED;
}
