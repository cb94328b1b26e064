/* tests/unit/test_config_values.c: the value parsers and formatters of
 * shoald's configuration (sizes, durations, scalars). */
#include "tests/unit/config_util.h"

static int size_is(const char *s, uint64_t want)
{
    uint64_t v = 0;
    char why[SHD_CFG_WHY_MAX] = "";

    if (shd_parse_size(s, &v, why, sizeof(why)) != 0 || v != want) {
        fprintf(stderr, "    size \"%s\" -> %llu (%s)\n", s, (unsigned long long)v, why);
        return 0;
    }
    return 1;
}

static int size_fails(const char *s, const char *want)
{
    uint64_t v = 12345;
    char why[SHD_CFG_WHY_MAX] = "";

    if (shd_parse_size(s, &v, why, sizeof(why)) != SHD_ERR_INVAL || v != 12345 ||
        strcmp(why, want) != 0) {
        fprintf(stderr, "    size \"%s\": got \"%s\"\n", s, why);
        return 0;
    }
    return 1;
}

static int dur_is(const char *s, uint64_t want)
{
    uint64_t v = 0;
    char why[SHD_CFG_WHY_MAX] = "";

    if (shd_parse_duration(s, &v, why, sizeof(why)) != 0 || v != want) {
        fprintf(stderr, "    duration \"%s\" -> %llu (%s)\n", s, (unsigned long long)v, why);
        return 0;
    }
    return 1;
}

static int dur_fails(const char *s, const char *want)
{
    uint64_t v = 12345;
    char why[SHD_CFG_WHY_MAX] = "";

    if (shd_parse_duration(s, &v, why, sizeof(why)) != SHD_ERR_INVAL || v != 12345 ||
        strcmp(why, want) != 0) {
        fprintf(stderr, "    duration \"%s\": got \"%s\"\n", s, why);
        return 0;
    }
    return 1;
}

TEST(parse_size)
{
    CHECK(size_is("0", 0));
    CHECK(size_is("4096", 4096));
    CHECK(size_is("4MiB", 4 * MIB));
    CHECK(size_is("4 MiB", 4 * MIB));
    CHECK(size_is("4mib", 4 * MIB));
    CHECK(size_is("4  KIB", 4 * KIB));
    CHECK(size_is("1.5GiB", 3 * GIB / 2));
    CHECK(size_is("1.25KiB", 1280));
    CHECK(size_is("10GB", 10000000000ULL));
    CHECK(size_is("1TB", 1000000000000ULL));
    CHECK(size_is("1tib", TIB));
    CHECK(size_is("7B", 7));
    CHECK(size_is("0.001KB", 1));
    CHECK(size_is("0KiB", 0));
    CHECK(size_is("2.0MiB", 2 * MIB));
    CHECK(size_is("18446744073709551615", UINT64_MAX));
    CHECK(size_is("16777215TiB", 16777215ULL * TIB));
    CHECK(size_fails("18446744073709551616", "invalid size \"18446744073709551616\": too large"));
    CHECK(size_fails("16777216TiB", "invalid size \"16777216TiB\": too large"));
    CHECK(size_fails("16777215.9999999999TiB",
                     "invalid size \"16777215.9999999999TiB\": not a whole number of bytes"));
    CHECK(size_fails("0.5B", "invalid size \"0.5B\": not a whole number of bytes"));
    CHECK(size_fails("1.5", "invalid size \"1.5\": not a whole number of bytes"));
    CHECK(size_fails("1.0000000000001KB",
                     "invalid size \"1.0000000000001KB\": more than 12 digits after '.'"));
    CHECK(size_fails("-0", "invalid size \"-0\": negative values are not allowed"));
    CHECK(size_fails("-1.5GiB", "invalid size \"-1.5GiB\": negative values are not allowed"));
    CHECK(size_fails("1.", "invalid size \"1.\": expected digits after '.'"));
    CHECK(size_fails(".5KiB", "invalid size \".5KiB\": expected a number"));
    CHECK(size_fails("", "invalid size \"\": expected a number"));
    CHECK(size_fails(" 4", "invalid size \" 4\": expected a number"));
    CHECK(size_fails("+4", "invalid size \"+4\": expected a number"));
    CHECK(size_fails("4 ", "invalid size \"4 \": expected a unit after the space"));
    CHECK(size_fails("4MiBs", "invalid size \"4MiBs\": unknown unit \"MiBs\" (use B, KiB, MiB, "
                              "GiB, TiB, KB, MB, GB or TB)"));
    CHECK(size_fails("1e3", "invalid size \"1e3\": unknown unit \"e3\" (use B, KiB, MiB, GiB, "
                            "TiB, KB, MB, GB or TB)"));
    CHECK(size_fails("4k", "invalid size \"4k\": unknown unit \"k\" (use B, KiB, MiB, GiB, TiB, "
                           "KB, MB, GB or TB)"));
    /* the reason is optional */
    {
        uint64_t v;

        CHECK(shd_parse_size("x", &v, NULL, 0) == SHD_ERR_INVAL);
    }
}

TEST(parse_duration)
{
    CHECK(dur_is("500ms", 500));
    CHECK(dur_is("90s", 90000));
    CHECK(dur_is("90 s", 90000));
    CHECK(dur_is("2m", 120000));
    CHECK(dur_is("1h", 3600000));
    CHECK(dur_is("1.5h", 5400000));
    CHECK(dur_is("1d", 86400000));
    CHECK(dur_is("0s", 0));
    CHECK(dur_is("0ms", 0));
    CHECK(dur_is("1.5s", 1500));
    CHECK(dur_is("0.001s", 1));
    CHECK(dur_is("213503982334d", 213503982334ULL * 86400000ULL));
    CHECK(dur_fails("0", "invalid duration \"0\": missing unit (ms, s, m, h or d, e.g. 90s)"));
    CHECK(dur_fails("90", "invalid duration \"90\": missing unit (ms, s, m, h or d, e.g. 90s)"));
    CHECK(dur_fails("1.5ms", "invalid duration \"1.5ms\": not a whole number of milliseconds"));
    CHECK(dur_fails("0.0001s", "invalid duration \"0.0001s\": not a whole number of "
                               "milliseconds"));
    CHECK(dur_fails("1H", "invalid duration \"1H\": unknown unit \"H\" (use ms, s, m, h or d)"));
    CHECK(dur_fails("1h30m", "invalid duration \"1h30m\": unknown unit \"h30m\" (use ms, s, m, h "
                             "or d)"));
    CHECK(dur_fails("-1s", "invalid duration \"-1s\": negative values are not allowed"));
    CHECK(dur_fails("213503982335d", "invalid duration \"213503982335d\": too large"));
    CHECK(dur_fails("s", "invalid duration \"s\": expected a number"));
}

TEST(format_values)
{
    char buf[32];

    CHECK_STR(shd_format_size(0, buf, sizeof(buf)), "0");
    CHECK_STR(shd_format_size(65536, buf, sizeof(buf)), "64KiB");
    CHECK_STR(shd_format_size(4 * MIB, buf, sizeof(buf)), "4MiB");
    CHECK_STR(shd_format_size(TIB, buf, sizeof(buf)), "1TiB");
    CHECK_STR(shd_format_size(1024 * TIB, buf, sizeof(buf)), "1024TiB");
    CHECK_STR(shd_format_size(1000, buf, sizeof(buf)), "1000B");
    CHECK_STR(shd_format_size(1536, buf, sizeof(buf)), "1536B");
    CHECK_STR(shd_format_duration(0, buf, sizeof(buf)), "0s");
    CHECK_STR(shd_format_duration(1500, buf, sizeof(buf)), "1500ms");
    CHECK_STR(shd_format_duration(90000, buf, sizeof(buf)), "90s");
    CHECK_STR(shd_format_duration(3600000, buf, sizeof(buf)), "1h");
    CHECK_STR(shd_format_duration(86400000, buf, sizeof(buf)), "1d");
}

TEST(parse_scalars)
{
    uint64_t v = 0;
    bool b = false;
    char why[SHD_CFG_WHY_MAX];
    struct shd_addr a;

    CHECK(shd_cfg_parse_uint("007", 1, 10, &v, why, sizeof(why)) == 0 && v == 7);
    CHECK(shd_cfg_parse_uint("+1", 0, 10, &v, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK_STR(why, "expected a whole number, got \"+1\"");
    CHECK(shd_cfg_parse_uint("18446744073709551616", 0, UINT64_MAX, &v, why, sizeof(why)) ==
          SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_uint("18446744073709551615", 0, UINT64_MAX, &v, why, sizeof(why)) == 0 &&
          v == UINT64_MAX);
    CHECK(shd_cfg_parse_bool("TRUE", &b, why, sizeof(why)) == 0 && b);
    CHECK(shd_cfg_parse_bool("No", &b, why, sizeof(why)) == 0 && !b);
    CHECK(shd_cfg_parse_bool("Yes", &b, why, sizeof(why)) == 0 && b);
    CHECK(shd_cfg_parse_bool("off", &b, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_addr("[::]:0", 0, &a, why, sizeof(why)) == 0);
    CHECK_STR(a.host, "::");
    CHECK(a.port == 0);
    free(a.host);
    CHECK(shd_cfg_parse_addr("h-1.example_x:65535", 1, &a, why, sizeof(why)) == 0);
    CHECK(a.port == 65535);
    free(a.host);
    CHECK(shd_cfg_parse_addr("h:65536", 0, &a, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_addr("h:000001", 0, &a, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_addr("[::1", 0, &a, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_addr("[]:1", 0, &a, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_parse_addr("-h:1", 0, &a, why, sizeof(why)) == SHD_ERR_INVAL);
    CHECK(shd_cfg_edit_distance("weight", 6, "wieght", 6) == 2);
    CHECK(shd_cfg_edit_distance("s3", 2, "sr", 2) == 1);
    CHECK(shd_cfg_edit_distance("", 0, "abc", 3) == 3);
    CHECK(shd_cfg_edit_distance("NODE", 4, "node", 4) == 0);
}

/* ---- the fuzz corpus ------------------------------------------------------------ */

int main(void)
{
    RUN(parse_size);
    RUN(parse_duration);
    RUN(format_values);
    RUN(parse_scalars);
    return harness_done();
}
