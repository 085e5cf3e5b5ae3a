/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one logger: logfmt lines on stderr, `ts=... level=... msg="..." key=value...`.
 * Library code (symbolizer/, common/) never logs above debug; callers log once with context.
 */
#ifndef SONDE_LOG_H
#define SONDE_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error|warn|info|debug". Returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *ret_level);

/*
 * Writes one line: msg is quoted, fields (printf format, may be "") follow as written, so callers
 * pass them already in key=value form.
 */
void log_msg(enum log_level level, const char *msg, const char *fields, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *msg, const char *fields, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define log_error(msg, ...) log_msg(LOG_ERROR, msg, "" __VA_ARGS__)
#define log_warn(msg, ...) log_msg(LOG_WARN, msg, "" __VA_ARGS__)
#define log_info(msg, ...) log_msg(LOG_INFO, msg, "" __VA_ARGS__)
#define log_debug(msg, ...)                                      \
	do {                                                     \
		if (log_get_level() >= LOG_DEBUG)                \
			log_msg(LOG_DEBUG, msg, "" __VA_ARGS__); \
	} while (0)

#endif
