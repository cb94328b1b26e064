/* daemon/log.c: the logger (see log.h). */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static enum shd_log_level log_level = SHD_LOG_INFO;
static int log_fd = 2;

void shd_log_set_level(enum shd_log_level level)
{
    log_level = level;
}

enum shd_log_level shd_log_level_get(void)
{
    return log_level;
}

void shd_log_set_fd(int fd)
{
    log_fd = fd;
}

static const char *level_name(enum shd_log_level l)
{
    switch (l) {
    case SHD_LOG_DEBUG:
        return "debug";
    case SHD_LOG_INFO:
        return "info";
    case SHD_LOG_WARN:
        return "warn";
    case SHD_LOG_ERROR:
        return "error";
    }
    return "?";
}

/* escape_controls: copies src (n bytes) to dst (cap bytes) with every
 * control byte written as \xNN, so one call is always one line whatever a
 * client put in a logged value; returns the bytes written (cut at cap). */
static size_t escape_controls(const char *src, size_t n, char *dst, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)src[i];
        if (ch >= 0x20 && ch != 0x7f) {
            if (o + 1 > cap)
                break;
            dst[o++] = (char)ch;
        } else {
            if (o + 4 > cap)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[ch >> 4];
            dst[o++] = hex[ch & 15];
        }
    }
    return o;
}

void shd_log(enum shd_log_level level, const char *subsys, const char *fmt, ...)
{
    char line[2048], msg[2048];
    struct timeval tv;
    struct tm tm;
    size_t n, m;
    int r;
    va_list ap;

    if (level < log_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    r = snprintf(line + n, sizeof(line) - n, ".%03dZ %s %s: ", (int)(tv.tv_usec / 1000),
                 level_name(level), subsys);
    n += r > 0 ? (size_t)r : 0;
    va_start(ap, fmt);
    r = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    m = r < 0 ? 0 : (size_t)r < sizeof(msg) ? (size_t)r : sizeof(msg) - 1;
    n += escape_controls(msg, m, line + n, sizeof(line) - 1 - n);
    if ((r > 0 && (size_t)r >= sizeof(msg)) || n >= sizeof(line) - 5) { /* cut: say so */
        n = n < sizeof(line) - 5 ? n : sizeof(line) - 5;
        memcpy(line + n, "...", 3);
        n += 3;
    }
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, n); /* one write: lines never interleave */
    (void)w;
}

const char *shd_log_q(const char *s, char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    int plain = s && *s;
    if (!s)
        return "\"\"";
    for (const unsigned char *p = (const unsigned char *)s; plain && *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '\\' || *p == '=')
            plain = 0;
    if (plain)
        return s;
    if (len < 3)
        return "\"\"";
    buf[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            if (o + 4 + 2 > len)
                break;
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 15];
        } else {
            int esc = *p == '"' || *p == '\\';
            if (o + 1 + esc + 2 > len)
                break;
            if (esc)
                buf[o++] = '\\';
            buf[o++] = (char)*p;
        }
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
