/* tests/unit/test_time.c: the UTC calendar arithmetic (ufs/ufs_time.h) and
 * the gateway's date formats (gw_http_date, gw_iso_date) agree with glibc's
 * timegm, gmtime_r and strftime: every day from 1600 to 2400 at a second
 * that moves through the day, and the edges (the epoch, leap days, century
 * years, times before 1970). */
#include "daemon/gateway/gw_int.h"
#include "tests/unit/harness.h"
#include "ufs/ufs_time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const int64_t DAY = 86400;
static const int64_t FIRST = -11676096000LL; /* 1600-01-01 */
static const int64_t LAST = 13569465600LL;   /* 2400-01-01 */

/* a second of day D that walks through the day as D goes on */
static int64_t moment(int64_t d)
{
    return d * DAY + (d * 7919) % DAY;
}

TEST(civil_matches_gmtime)
{
    int bad = 0;
    for (int64_t d = FIRST / DAY; d <= LAST / DAY && bad < 5; d++) {
        int64_t t = moment(d);
        time_t tt = (time_t)t;
        struct tm tm;
        REQUIRE(gmtime_r(&tt, &tm) != NULL);
        struct ufs_civil c = ufs_utc_civil(t);
        if (c.year != tm.tm_year + 1900 || c.month != tm.tm_mon + 1 || c.day != tm.tm_mday ||
            c.hour != tm.tm_hour || c.minute != tm.tm_min || c.second != tm.tm_sec ||
            c.weekday != tm.tm_wday) {
            fprintf(stderr, "t=%lld: %lld-%d-%d %d:%d:%d wd %d\n", (long long)t, (long long)c.year,
                    c.month, c.day, c.hour, c.minute, c.second, c.weekday);
            bad++;
        }
    }
    CHECK(bad == 0);
}

TEST(seconds_match_timegm)
{
    int bad = 0;
    for (int64_t d = FIRST / DAY; d <= LAST / DAY && bad < 5; d++) {
        time_t tt = (time_t)moment(d);
        struct tm tm;
        REQUIRE(gmtime_r(&tt, &tm) != NULL);
        int64_t got = ufs_utc_seconds(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                      tm.tm_min, tm.tm_sec);
        if (got != (int64_t)timegm(&tm) || got != moment(d)) {
            fprintf(stderr, "day %lld: %lld\n", (long long)d, (long long)got);
            bad++;
        }
    }
    CHECK(bad == 0);
}

TEST(edges)
{
    CHECK(ufs_utc_seconds(1970, 1, 1, 0, 0, 0) == 0);
    CHECK(ufs_utc_seconds(1969, 12, 31, 23, 59, 59) == -1);
    CHECK(ufs_utc_seconds(2000, 2, 29, 0, 0, 0) == 951782400);
    CHECK(ufs_utc_seconds(2100, 3, 1, 0, 0, 0) == 4107542400LL);
    struct ufs_civil c = ufs_utc_civil(-1);
    CHECK(c.year == 1969 && c.month == 12 && c.day == 31 && c.hour == 23 && c.second == 59);
    CHECK(c.weekday == 3); /* a Wednesday */
    c = ufs_utc_civil(951782400 + DAY - 1);
    CHECK(c.month == 2 && c.day == 29 && c.hour == 23);
}

TEST(formats_match_strftime)
{
    int bad = 0;
    for (int64_t d = 0; d <= LAST / DAY && bad < 5; d += 3) {
        time_t tt = (time_t)moment(d);
        struct tm tm;
        char want[64], got[64];
        REQUIRE(gmtime_r(&tt, &tm) != NULL);
        strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        gw_http_date(moment(d), got, sizeof(got));
        if (strcmp(want, got) != 0) {
            fprintf(stderr, "\"%s\" != \"%s\"\n", got, want);
            bad++;
        }
        strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
        gw_iso_date(moment(d), got, sizeof(got));
        if (strcmp(want, got) != 0) {
            fprintf(stderr, "\"%s\" != \"%s\"\n", got, want);
            bad++;
        }
    }
    CHECK(bad == 0);
    char small[8];
    gw_http_date(0, small, sizeof(small));
    CHECK_STR(small, "Thu, 01"); /* cut to the buffer, still terminated */
}

TEST(http_date_parses_back)
{
    int64_t t = 0;
    CHECK(gw_parse_http_date("Wed, 25 Nov 2026 19:35:22 GMT", &t) == 0);
    CHECK(t == 1795635322);
    char buf[64];
    gw_http_date(t, buf, sizeof(buf));
    CHECK_STR(buf, "Wed, 25 Nov 2026 19:35:22 GMT");
}

int main(void)
{
    RUN(civil_matches_gmtime);
    RUN(seconds_match_timegm);
    RUN(edges);
    RUN(formats_match_strftime);
    RUN(http_date_parses_back);
    return harness_done();
}
