/* ufs/ufs_time.h: seconds since the epoch of a UTC calendar time, for the
 * date parsers of sigv4.c and s3_parse.c (glibc's timegm does the calendar). */
#ifndef SHOAL_UFS_TIME_H
#define SHOAL_UFS_TIME_H

#include <stdint.h>
#include <string.h>
#include <time.h>

static inline int64_t ufs_utc_seconds(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

#endif
