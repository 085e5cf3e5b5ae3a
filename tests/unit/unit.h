/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal unit-test harness.
 *   CHECK(cond)    records a failure and goes on;
 *   REQUIRE(cond)  records a failure and returns from the test function (for preconditions
 *                  that later checks depend on; the function must own nothing it would leak,
 *                  or use REQUIRE before acquiring it);
 *   SKIP(fmt, ...) says why a test (or part of one) cannot run here and returns from it.
 * unit_done() prints the counts and returns main's exit code: 1 if anything failed, 77 (the
 * test runner's "skipped") if every test was skipped, else 0.
 */
#ifndef SONDE_UNIT_H
#define SONDE_UNIT_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int unit_failures;
static int unit_checks;
static int unit_tests;
static int unit_skipped; /* tests that skipped wholly */
static int unit_skips;	 /* SKIP calls, whole tests or parts of one */
static int unit_test_skipped;
static char unit_skip_reason[200]; /* the first, for the runner's one-line summary */

#define UNIT_FAIL_(...)                                         \
	do {                                                    \
		unit_failures++;                                \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
		fprintf(stderr, __VA_ARGS__);                   \
		fputc('\n', stderr);                            \
	} while (0)

#define CHECK(cond)                                            \
	do {                                                   \
		unit_checks++;                                 \
		if (!(cond))                                   \
			UNIT_FAIL_("CHECK failed: %s", #cond); \
	} while (0)

#define REQUIRE(cond)                                                         \
	do {                                                                  \
		unit_checks++;                                                \
		if (!(cond)) {                                                \
			UNIT_FAIL_("REQUIRE failed (test stops): %s", #cond); \
			return;                                               \
		}                                                             \
	} while (0)

/* Reports a part that cannot run here (and why) without failing or counting as passed. */
#define SKIP_PART(...)                                                                     \
	do {                                                                               \
		unit_skips++;                                                              \
		if (!unit_skip_reason[0])                                                  \
			snprintf(unit_skip_reason, sizeof(unit_skip_reason), __VA_ARGS__); \
		printf("skipped: ");                                                       \
		printf(__VA_ARGS__);                                                       \
		putchar('\n');                                                             \
	} while (0)

/* The whole test cannot run here: say why and return. */
#define SKIP(...)                       \
	do {                            \
		SKIP_PART(__VA_ARGS__); \
		unit_test_skipped = 1;  \
		return;                 \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                                      \
	do {                                                                                    \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                \
		unit_checks++;                                                                  \
		if (a_ != b_)                                                                   \
			UNIT_FAIL_("%s == %s failed: %" PRIu64 " != %" PRIu64, #a, #b, a_, b_); \
	} while (0)

#define CHECK_STR(a, b)                                                         \
	do {                                                                    \
		const char *a_ = (a), *b_ = (b);                                \
		unit_checks++;                                                  \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                          \
			UNIT_FAIL_("%s == %s failed: \"%s\" != \"%s\"", #a, #b, \
				   a_ ? a_ : "(null)", b_ ? b_ : "(null)");     \
	} while (0)

#define RUN(test)                                                   \
	do {                                                        \
		int before_ = unit_failures;                        \
		unit_test_skipped = 0;                              \
		unit_tests++;                                       \
		test();                                             \
		if (unit_failures != before_)                       \
			printf("FAIL %s\n", #test);                 \
		else if (unit_test_skipped)                         \
			printf("skip %s\n", #test), unit_skipped++; \
		else                                                \
			printf("ok   %s\n", #test);                 \
	} while (0)

static inline int unit_done(void)
{
	printf("%d tests, %d checks, %d failed, %d skipped (%d tests wholly)\n", unit_tests,
	       unit_checks, unit_failures, unit_skips, unit_skipped);
	if (unit_failures)
		return 1;
	if (unit_tests > 0 && unit_skipped == unit_tests) {
		printf("skipped: every test in this file (%s)\n", unit_skip_reason);
		return 77;
	}
	return 0;
}

#endif
