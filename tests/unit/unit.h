/* SPDX-License-Identifier: Apache-2.0 */
/* A minimal unit-test harness: CHECK records a failure and goes on; main returns non-zero. */
#ifndef SONDE_UNIT_H
#define SONDE_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_failures;
static int unit_checks;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		unit_checks++;                                                                   \
		if (!(cond)) {                                                                   \
			unit_failures++;                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                                      \
	do {                                                                                    \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                \
		unit_checks++;                                                                  \
		if (a_ != b_) {                                                                 \
			unit_failures++;                                                        \
			fprintf(stderr, "%s:%d: %s == %s failed: %" PRIu64 " != %" PRIu64 "\n", \
				__FILE__, __LINE__, #a, #b, a_, b_);                            \
		}                                                                               \
	} while (0)

#define CHECK_STR(a, b)                                                                         \
	do {                                                                                    \
		const char *a_ = (a), *b_ = (b);                                                \
		unit_checks++;                                                                  \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                        \
			unit_failures++;                                                        \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, \
				__LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");      \
		}                                                                               \
	} while (0)

#define RUN(test)                                                                     \
	do {                                                                          \
		int before_ = unit_failures;                                          \
		test();                                                               \
		printf("%s %s\n", unit_failures == before_ ? "ok  " : "FAIL", #test); \
	} while (0)

static inline int unit_done(void)
{
	printf("%d checks, %d failed\n", unit_checks, unit_failures);
	return unit_failures ? 1 : 0;
}

#endif
