/* daemon/log.h: shoald's one logger.
 *
 * One line per event, key=value fields, for operators:
 *   2026-11-25T14:50:01.123Z warn store: disk write failed path=/d1/ab/cd err="No space left on
 * device" what="serving from memory; free space on /d1" Messages say what happened and what to do.
 * Values with spaces or quotes are quoted. Thread-safe: each line is written with one write(2). */
#ifndef SHOAL_DAEMON_LOG_H
#define SHOAL_DAEMON_LOG_H

#include "daemon/config/config.h"

/* Sets the minimum level written (default info) and the node name that
 * prefixes nothing but is kept for later remote logging. */
void shd_log_set_level(enum shd_log_level level);
enum shd_log_level shd_log_level_get(void);
/* Where lines go (default stderr, fd 2). */
void shd_log_set_fd(int fd);

/* shd_log(level, subsystem, fmt, ...): fmt is the message and its fields,
 * e.g. shd_log(SHD_LOG_WARN, "store", "disk write failed path=%s err=%s", p, q).
 * Quote every value a client or a file supplied with shd_log_q(). A call is
 * one line: control bytes in the message are written as \xNN. */
void shd_log(enum shd_log_level level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* shd_log_q: S quoted for a log value ("..." with \" and \\ escaped, control
 * bytes as \xNN) when it is empty or holds a space, quote, backslash, '='
 * or control byte, else S itself; the result lives in BUF (LEN bytes, cut
 * to fit, still quoted). */
const char *shd_log_q(const char *s, char *buf, size_t len);

#define shd_debug(sub, ...) shd_log(SHD_LOG_DEBUG, sub, __VA_ARGS__)
#define shd_info(sub, ...) shd_log(SHD_LOG_INFO, sub, __VA_ARGS__)
#define shd_warn(sub, ...) shd_log(SHD_LOG_WARN, sub, __VA_ARGS__)
#define shd_error(sub, ...) shd_log(SHD_LOG_ERROR, sub, __VA_ARGS__)

#endif
