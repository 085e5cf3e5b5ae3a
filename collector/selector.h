/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Selectors: Prometheus-style label matchers ({a="x", b!="y", c=~"re", d!~"re"}) and how a
 * series' labels are named in them: the stored attribute keys with anything but letters, digits
 * and '_' written '_' (process.executable.name is process_executable_name, a pod label
 * k8s.pod.label.app.kubernetes.io/name is k8s_pod_label_app_kubernetes_io_name); service_name is
 * the service. Every series also has the labels of its profile type (selector_type_label()).
 */
#ifndef SONDE_SELECTOR_H
#define SONDE_SELECTOR_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../profile/svcdata.h"
#include "../common/buf.h"
#include "../common/util.h"

#define SELECTOR_MAX_MATCHERS 64 /* in one selector */

enum match_op { MATCH_EQ, MATCH_NE, MATCH_RE, MATCH_NRE };

struct matcher {
	char *name;
	enum match_op op;
	char *value;
	regex_t re; /* MATCH_RE, MATCH_NRE: anchored at both ends */
};

struct selector {
	VEC(struct matcher) m;
};

/* Parses "{a="x", b!="y", c=~"re", d!~"re"}" (braces optional, "" or "{}" selects all). */
int selector_parse(const char *text, struct selector *ret, char *err, size_t err_size);
void selector_free(struct selector *sel);
/* A selector of one service: {service_name="name"}. 0 or -ENOMEM. */
int selector_service(struct selector *ret, const char *service);
/* Whether the selector names the label (as written in selectors). */
bool selector_has(const struct selector *sel, const char *name);
/* Whether a label's value v matches m; a missing label (NULL) is "", as in Prometheus. */
bool selector_match(const struct matcher *m, const char *v);
/* The value of the label that selectors call name on series of sd, or NULL when it has none. */
const char *selector_label(const struct svcdata *sd, uint32_t series, const char *name);
/*
 * The labels every series has from its profile type (profile/ptype.h): __profile_type__,
 * __name__, __type__, __unit__, __period_type__, __period_unit__; NULL for another name. The
 * string lives until the thread's next call.
 */
const char *selector_type_label(const struct svcdata *sd, uint32_t series, const char *name);
#define SELECTOR_TYPE_LABELS \
	"__name__", "__period_type__", "__period_unit__", "__profile_type__", "__type__", "__unit__"
/* Appends the name selectors give the stored label key. */
void selector_put_name(struct buf *b, const char *key);

#endif
