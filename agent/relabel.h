/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Relabeling, after Prometheus' relabel_configs: rules applied in order to a process's labels
 * before anything is exported (docs/agent.md):
 *
 *   keep LABEL=~REGEX                       only processes whose LABEL matches are profiled
 *   drop LABEL=~REGEX                       processes whose LABEL matches are not
 *   replace LABEL=~REGEX => TARGET=VALUE    where LABEL matches, TARGET is set to VALUE, with
 *                                           $1..$9 the regex's groups (an empty VALUE removes it)
 *   labeldrop REGEX                         labels whose name matches are removed
 *
 * Regexes are POSIX extended and match the whole value; a missing label is "".
 */
#ifndef SONDE_RELABEL_H
#define SONDE_RELABEL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum relabel_action { RELABEL_KEEP, RELABEL_DROP, RELABEL_REPLACE, RELABEL_LABELDROP };

struct relabel_rule {
	enum relabel_action action;
	char *source;		    /* label name (not for labeldrop) */
	char *target, *replacement; /* replace */
	regex_t re;
};

/* Parses one rule. 0, or -EINVAL with a reason in err. */
int relabel_parse(const char *text, struct relabel_rule *ret, char *err, size_t err_size);
void relabel_free(struct relabel_rule *r);

#define RELABEL_MAX_LABELS 64

/* Labels being relabeled: heap strings, owned. */
struct label_set {
	uint32_t n;
	char *key[RELABEL_MAX_LABELS];
	char *value[RELABEL_MAX_LABELS];
};

/* Sets key to value (a copy), replacing it or appending. 0 or -ENOMEM/-E2BIG. */
int label_set_put(struct label_set *ls, const char *key, const char *value);
const char *label_set_get(const struct label_set *ls, const char *key);
void label_set_free(struct label_set *ls);

/* Applies rules in order. Returns true to keep the process, false to drop it. */
bool relabel_apply(const struct relabel_rule *rules, size_t n, struct label_set *ls);

#endif
