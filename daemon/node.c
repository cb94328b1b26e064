/* daemon/node.c: the persisted node id (see node.h). */
#include "daemon/node.h"

#include "daemon/err.h"
#include "daemon/log.h"
#include "ring/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int shd_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(buf))
        return -ENAMETOOLONG;
    memcpy(buf, path, len + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int read_id(const char *file, uint8_t id[SHD_NODE_ID_LEN])
{
    char hex[2 * RING_ID_LEN + 2];
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    ssize_t n;
    if (fd < 0)
        return -errno;
    n = read(fd, hex, sizeof(hex) - 1);
    close(fd);
    if (n < 2 * RING_ID_LEN)
        return -EINVAL;
    hex[2 * RING_ID_LEN] = '\0';
    return ring_id_parse(hex, id) == RING_OK ? 0 : -EINVAL;
}

int shd_node_id_load(const char *data_dir, uint8_t id[SHD_NODE_ID_LEN])
{
    char file[PATH_MAX], tmp[PATH_MAX], hex[2 * RING_ID_LEN + 1];
    uint8_t fresh[SHD_NODE_ID_LEN];
    int r, fd;

    r = shd_mkdirs(data_dir);
    if (r) {
        shd_error("node",
                  "cannot create data directory path=%s err=\"%s\" what=\"fix node.data_dir "
                  "or its permissions\"",
                  data_dir, strerror(-r));
        return SHD_ERR_IO;
    }
    snprintf(file, sizeof(file), "%s/node.id", data_dir);
    r = read_id(file, id);
    if (r == 0)
        return SHD_OK;
    if (r != -ENOENT) {
        shd_error("node",
                  "unreadable node id path=%s err=\"%s\" what=\"remove it to give this "
                  "node a new identity\"",
                  file, strerror(-r));
        return SHD_ERR_IO;
    }
    if (RAND_bytes(fresh, sizeof(fresh)) != 1) {
        shd_error("node", "no randomness for a new node id (OpenSSL RAND_bytes failed)");
        return SHD_ERR_IO;
    }
    ring_id_hex(fresh, hex);
    snprintf(tmp, sizeof(tmp), "%s/node.id.tmp", data_dir);
    hex[2 * RING_ID_LEN] = '\n'; /* the file holds the id and a newline */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    r = fd < 0 ? -1 : 0;
    if (r == 0 && (write(fd, hex, sizeof(hex)) != (ssize_t)sizeof(hex) || fsync(fd) != 0))
        r = -1;
    if (fd >= 0 && close(fd) != 0)
        r = -1;
    if (r == 0 && rename(tmp, file) != 0)
        r = -1;
    if (r) {
        shd_error("node", "cannot write node id path=%s err=\"%s\"", file, strerror(errno));
        return SHD_ERR_IO;
    }
    hex[2 * RING_ID_LEN] = '\0';
    memcpy(id, fresh, SHD_NODE_ID_LEN);
    shd_info("node", "new node identity id=%s path=%s", hex, file);
    return SHD_OK;
}
