/* daemon/serve.h: shoald's serve mode: run the node described by a valid
 * configuration until it is told to stop. */
#ifndef SHOAL_DAEMON_SERVE_H
#define SHOAL_DAEMON_SERVE_H

#include "daemon/config/config.h"

/* shd_serve: run the node with CFG (borrowed; valid for the whole call).
 * Returns 0 after a clean shutdown, or a negative shd_err code, after
 * logging why. */
int shd_serve(const struct shd_config *cfg);

#endif
