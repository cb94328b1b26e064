/* daemon/node.h: a node's stable identity: a 128-bit id persisted in its
 * data directory, so a restarted node returns to the same ring positions
 * and its disk cache is immediately useful. */
#ifndef SHOAL_DAEMON_NODE_H
#define SHOAL_DAEMON_NODE_H

#include <stdint.h>

#define SHD_NODE_ID_LEN 16

/* Reads DATA_DIR/node.id, or creates the directory and a new random id
 * (written atomically) when there is none. Returns 0 with id set, or
 * SHD_ERR_IO (logged: what failed and what to do). */
int shd_node_id_load(const char *data_dir, uint8_t id[SHD_NODE_ID_LEN]);

/* mkdir -p with mode 0755. Returns 0 or -errno. */
int shd_mkdirs(const char *path);

#endif
