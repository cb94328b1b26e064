/* ufs/ufs_int.h: what the backends share inside ufs/: the operations table
 * each backend fills in and the common head of struct ufs and struct
 * ufs_req. Not for use outside ufs/. */
#ifndef SHOAL_UFS_INT_H
#define SHOAL_UFS_INT_H

#include "ufs/ufs.h"

struct ufs_ops {
    const char *name; /* "s3", "dir" */
    void (*close)(struct ufs *u);
    void (*cancel)(struct ufs_req *req);
    struct ufs_req *(*stat)(struct ufs *u, const char *key, ufs_stat_cb cb, void *arg);
    struct ufs_req *(*read)(struct ufs *u, const char *key, uint64_t off, uint64_t len,
                            const char *if_match, const struct ufs_read_cbs *cbs, void *arg);
    void (*read_resume)(struct ufs_req *req);
    struct ufs_req *(*write_open)(struct ufs *u, const char *key, uint64_t size,
                                  const struct ufs_put_opts *opts, const struct ufs_write_cbs *cbs,
                                  void *arg);
    int (*write)(struct ufs_req *w, const void *buf, size_t len);
    int (*write_close)(struct ufs_req *w);
    struct ufs_req *(*mpu_create)(struct ufs *u, const char *key, const struct ufs_put_opts *opts,
                                  ufs_mpu_create_cb cb, void *arg);
    struct ufs_req *(*mpu_part)(struct ufs *u, const char *key, const char *upload_id,
                                unsigned part, uint64_t size, const struct ufs_write_cbs *cbs,
                                void *arg);
    struct ufs_req *(*mpu_complete)(struct ufs *u, const char *key, const char *upload_id,
                                    const struct ufs_part *parts, size_t nparts, ufs_etag_cb cb,
                                    void *arg);
    struct ufs_req *(*mpu_abort)(struct ufs *u, const char *key, const char *upload_id,
                                 ufs_done_cb cb, void *arg);
    struct ufs_req *(*del)(struct ufs *u, const char *key, ufs_done_cb cb, void *arg);
    struct ufs_req *(*list)(struct ufs *u, const struct ufs_list_opts *opts, ufs_list_cb cb,
                            void *arg);
    struct ufs_req *(*list_buckets)(struct ufs *u, ufs_buckets_cb cb, void *arg);
    struct ufs_req *(*create_bucket)(struct ufs *u, const char *bucket, ufs_done_cb cb, void *arg);
    struct ufs_req *(*delete_bucket)(struct ufs *u, const char *bucket, ufs_done_cb cb, void *arg);
    struct ufs_req *(*copy)(struct ufs *u, const char *dst_key, const struct ufs *src,
                            const char *src_key, const struct ufs_copy_opts *opts, ufs_copy_cb cb,
                            void *arg);
    struct ufs_req *(*mpu_part_copy)(struct ufs *u, const char *key, const char *upload_id,
                                     unsigned part, const struct ufs *src, const char *src_key,
                                     uint64_t first, uint64_t last,
                                     const struct ufs_part_copy_opts *opts, ufs_copy_cb cb,
                                     void *arg);
    uint64_t (*write_memory)(const struct ufs *u, uint64_t size, int part); /* NULL: 0 */
    struct ufs_req *(*get_tagging)(struct ufs *u, const char *key, ufs_body_cb cb, void *arg);
    struct ufs_req *(*list_parts)(struct ufs *u, const char *key, const char *upload_id,
                                  unsigned max_parts, unsigned marker, ufs_parts_cb cb, void *arg);
    struct ufs_req *(*list_uploads)(struct ufs *u, const struct ufs_uploads_opts *o,
                                    ufs_uploads_cb cb, void *arg);
};

/* Every backend's struct ufs starts with this head; so does every request. */
struct ufs {
    const struct ufs_ops *ops;
    struct event_base *base;
    struct ufs_counters counters;
};

struct ufs_req {
    struct ufs *u;
};

/* Sets (NULL: clears) what ufs_error_detail returns on this thread, around
 * a callback that reports a failure. */
void ufs_error_detail_set(const struct ufs_error_detail *d);

#endif
