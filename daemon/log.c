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

void shd_log(enum shd_log_level level, const char *subsys, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
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
    r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    n += r > 0 ? (size_t)r : 0;
    if (n >= sizeof(line) - 1) { /* truncated: keep the line whole */
        n = sizeof(line) - 5;
        memcpy(line + n, "...", 3);
        n += 3;
    }
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, n); /* one write: lines never interleave */
    (void)w;
}

const char *shd_log_q(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    if (!s)
        return "\"\"";
    if (*s && !strpbrk(s, " \t\"\\=\n"))
        return s;
    if (len < 3)
        return "\"\"";
    buf[o++] = '"';
    for (; *s && o + 3 < len; s++) {
        if (*s == '"' || *s == '\\')
            buf[o++] = '\\';
        buf[o++] = *s == '\n' ? ' ' : *s;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}
