/* ufs/ufs_time.h: UTC calendar arithmetic for the date parsers of sigv4.c
 * and s3_parse.c and the gateway's date headers. glibc's timegm and gmtime_r
 * take the process-wide time-zone lock on every call even for UTC; these run
 * on every request of every loop, so they are plain arithmetic (the
 * days-from-civil algorithm of the proleptic Gregorian calendar). */
#ifndef SHOAL_UFS_TIME_H
#define SHOAL_UFS_TIME_H

#include <stdint.h>

/* ufs_utc_days: days since 1970-01-01 of Y-MO-D (MO 1..12, D 1..31). */
static inline int64_t ufs_utc_days(int64_t y, int mo, int d)
{
    y -= mo <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                      /* [0, 399] */
    int64_t doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;              /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

/* ufs_utc_seconds: seconds since the epoch of a checked UTC calendar time. */
static inline int64_t ufs_utc_seconds(int y, int mo, int d, int h, int mi, int s)
{
    return ufs_utc_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* The calendar fields of a time: month 1..12, weekday 0 (Sunday)..6. */
struct ufs_civil {
    int64_t year;
    int month, day, hour, minute, second, weekday;
};

static inline struct ufs_civil ufs_utc_civil(int64_t t)
{
    struct ufs_civil c;
    int64_t days = (t >= 0 ? t : t - 86399) / 86400, secs = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                      /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
    c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c.year = yoe + era * 400 + (c.month <= 2);
    c.hour = (int)(secs / 3600);
    c.minute = (int)(secs / 60 % 60);
    c.second = (int)(secs % 60);
    c.weekday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    return c;
}

#endif
