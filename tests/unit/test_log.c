/* tests/unit/test_log.c: the logger. A logged value that a client chose
 * (an object key with %0A in it) can never start a line of its own; quoted
 * values escape quotes, backslashes and control bytes. */
#include "daemon/log.h"
#include "tests/unit/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Logs one message through a pipe and returns what was written. */
static char *capture(const char *key)
{
    static char out[4096];
    int fds[2];
    ssize_t n;
    if (pipe(fds) != 0)
        return NULL;
    shd_log_set_fd(fds[1]);
    shd_info("gateway", "request failed key=%s status=404", key);
    shd_log_set_fd(2);
    close(fds[1]);
    n = read(fds[0], out, sizeof(out) - 1);
    close(fds[0]);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

TEST(log_one_call_is_one_line)
{
    char *out = capture("a\nfake 2026-01-01T00:00:00.000Z error serve: forged\r\x7f");
    REQUIRE(out);
    CHECK(lines(out) == 1);
    CHECK(out[strlen(out) - 1] == '\n');
    CHECK(strstr(out, "key=a\\x0afake 2026") != NULL);
    CHECK(strstr(out, "forged\\x0d\\x7f status=404\n") != NULL);
}

TEST(log_long_message_is_cut_and_marked)
{
    static char big[5000];
    memset(big, '\n', sizeof(big) - 1);
    char *out = capture(big);
    REQUIRE(out);
    CHECK(lines(out) == 1);
    CHECK(strlen(out) <= 2048);
    CHECK(strstr(out, "...\n") != NULL);
}

TEST(log_q_quotes_what_needs_it)
{
    char buf[64];
    CHECK_STR(shd_log_q("plain/key.bin", buf, sizeof(buf)), "plain/key.bin");
    CHECK_STR(shd_log_q("", buf, sizeof(buf)), "\"\"");
    CHECK_STR(shd_log_q(NULL, buf, sizeof(buf)), "\"\"");
    CHECK_STR(shd_log_q("a b", buf, sizeof(buf)), "\"a b\"");
    CHECK_STR(shd_log_q("k=v", buf, sizeof(buf)), "\"k=v\"");
    CHECK_STR(shd_log_q("say \"hi\"\\", buf, sizeof(buf)), "\"say \\\"hi\\\"\\\\\"");
    CHECK_STR(shd_log_q("a\nb\tc", buf, sizeof(buf)), "\"a\\x0ab\\x09c\"");
}

TEST(log_q_cuts_to_the_buffer_and_stays_quoted)
{
    char buf[8];
    const char *q = shd_log_q("a\nbcdefghij", buf, sizeof(buf));
    CHECK(strlen(q) < sizeof(buf));
    CHECK(q[0] == '"' && q[strlen(q) - 1] == '"');
    CHECK(strchr(q, '\n') == NULL);
}

int main(void)
{
    RUN(log_one_call_is_one_line);
    RUN(log_long_message_is_cut_and_marked);
    RUN(log_q_quotes_what_needs_it);
    RUN(log_q_cuts_to_the_buffer_and_stays_quoted);
    return harness_done();
}
