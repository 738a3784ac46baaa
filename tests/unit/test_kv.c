/* Unit tests for lib/store/kv.c's pipelining format: kv_format_argv writes exactly what
 * hiredis's own formatter writes (binary-safe: CR, LF and NUL inside an argument), appended
 * command after command. No Redis needed. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/kv.h"

static void check_like_hiredis(int argc, const char **argv, const size_t *lens)
{
    struct buf b = BUF_INIT;
    CHECK_INT(buf_append(&b, "x", 1), 0); /* appends after what is there */
    CHECK_INT(kv_format_argv(&b, argc, (const char *const *)argv, lens), 0);
    char *want = NULL;
    int n = redisFormatCommandArgv(&want, argc, argv, lens);
    CHECK(n > 0 && want != NULL);
    CHECK_MEM(b.data + 1, b.len - 1, want, (size_t)n);
    free(want);
    buf_free(&b);
}

static void test_format_is_the_wire_protocol(void)
{
    static const char blob[] = "model\0\x01\x02\r\n\r\n$3\r\n*";
    const char *set[5] = {"SET", "aiops:pred:default:0b2f", blob, "EX", "604800"};
    const size_t set_lens[5] = {3, strlen(set[1]), sizeof blob - 1, 2, 6};
    check_like_hiredis(5, set, set_lens);
    const char *empty[2] = {"GET", ""};
    const size_t empty_lens[2] = {3, 0};
    check_like_hiredis(2, empty, empty_lens);
    /* a long argument: a length of several digits */
    char *big = malloc(123457);
    CHECK(big != NULL);
    memset(big, 'a', 123457);
    const char *one[2] = {"ECHO", big};
    const size_t one_lens[2] = {4, 123457};
    check_like_hiredis(2, one, one_lens);
    free(big);
    struct buf b = BUF_INIT;
    const char *ping[1] = {"PING"};
    const size_t ping_len[1] = {4};
    CHECK_INT(kv_format_argv(&b, 1, (const char *const *)ping, ping_len), 0);
    CHECK_INT(kv_format_argv(&b, 2, (const char *const *)empty, empty_lens), 0);
    CHECK_MEM(b.data, b.len, "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n", 33);
    buf_free(&b);
}

UNIT_MAIN(UNIT(test_format_is_the_wire_protocol))
