/*
 * unit.h — the tiny harness behind every C unit test binary.
 *
 *   TEST(name) { CHECK(cond); CHECK_EQ_INT(a, b); CHECK_EQ_STR(a, b); }
 *   int main(void) { RUN(name); ...; return unit_report(); }
 *
 * A failed check prints file:line and the expression, marks the running test
 * failed, and carries on with the next check. unit_report() prints the final
 * line "N passed, N failed" and returns the exit status (non-zero on failure).
 */
#ifndef FERRY_UNIT_H
#define FERRY_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed, unit_cur_failed;
static const char *unit_cur_name;

#define TEST(name) static void test_##name(void)

#define RUN(name)                                                              \
    do {                                                                       \
        unit_cur_name = #name;                                                 \
        unit_cur_failed = 0;                                                   \
        test_##name();                                                         \
        if (unit_cur_failed) {                                                 \
            unit_failed++;                                                     \
            printf("FAIL %s\n", #name);                                        \
        } else {                                                               \
            unit_passed++;                                                     \
            printf("ok   %s\n", #name);                                        \
        }                                                                      \
        fflush(stdout);                                                        \
    } while (0)

#define UNIT_FAIL(...)                                                         \
    do {                                                                       \
        printf("  %s:%d: [%s] ", __FILE__, __LINE__, unit_cur_name);           \
        printf(__VA_ARGS__);                                                   \
        printf("\n");                                                          \
        unit_cur_failed = 1;                                                   \
    } while (0)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) UNIT_FAIL("check failed: %s", #cond);                     \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                     \
    do {                                                                       \
        long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);          \
        if (unit_a_ != unit_b_)                                                \
            UNIT_FAIL("%s == %s: %lld != %lld", #a, #b, unit_a_, unit_b_);     \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                     \
    do {                                                                       \
        const char *unit_a_ = (a), *unit_b_ = (b);                             \
        if (!unit_a_ || !unit_b_ || strcmp(unit_a_, unit_b_) != 0)             \
            UNIT_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,                    \
                      unit_a_ ? unit_a_ : "(null)", unit_b_ ? unit_b_ : "(null)"); \
    } while (0)

static inline int unit_report(void)
{
    printf("%d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}

#endif
