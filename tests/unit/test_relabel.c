// SPDX-License-Identifier: Apache-2.0
/* agent/relabel.c: relabeling rules. */
#include <errno.h>

#include "unit.h"
#include "../../agent/relabel.h"

static void test_relabel(void)
{
	static const char *const texts[] = {
		"drop k8s.namespace.name=~kube-.*",
		"replace service.name=~(.*)-v[0-9]+ => service.name=$1",
		"replace process.executable.name=~(.*) => app=exe:$1",
		"labeldrop process\\.executable\\.path",
		"keep service.name=~api|web",
	};
	struct relabel_rule rules[5], bad;
	struct label_set ls = {0};
	char err[256];

	for (int i = 0; i < 5; i++)
		CHECK(relabel_parse(texts[i], &rules[i], err, sizeof(err)) == 0);
	/* renamed, a label added from another, one dropped, kept */
	label_set_put(&ls, "service.name", "api-v2");
	label_set_put(&ls, "process.executable.name", "apisrv");
	label_set_put(&ls, "process.executable.path", "/usr/bin/apisrv");
	CHECK(relabel_apply(rules, 5, &ls));
	CHECK_STR(label_set_get(&ls, "service.name"), "api");
	CHECK_STR(label_set_get(&ls, "app"), "exe:apisrv");
	CHECK(label_set_get(&ls, "process.executable.path") == NULL);
	CHECK_EQ_U64(ls.n, 3);
	label_set_free(&ls);
	/* dropped by namespace; not kept for its service; a missing label is "" */
	label_set_put(&ls, "service.name", "api");
	label_set_put(&ls, "k8s.namespace.name", "kube-system");
	CHECK(!relabel_apply(rules, 5, &ls));
	label_set_free(&ls);
	label_set_put(&ls, "service.name", "batch");
	CHECK(!relabel_apply(rules, 5, &ls));
	label_set_free(&ls);
	CHECK(relabel_apply(rules, 4, &ls)); /* no labels at all: nothing matches drop */
	/* an empty value removes the target */
	CHECK(relabel_parse("replace service.name=~.* => service.name=", &bad, err, sizeof(err)) ==
	      0);
	label_set_put(&ls, "service.name", "x");
	CHECK(relabel_apply(&bad, 1, &ls));
	CHECK(label_set_get(&ls, "service.name") == NULL);
	relabel_free(&bad);
	label_set_free(&ls);
	/* errors name what is wrong */
	CHECK(relabel_parse("rename a=~b", &bad, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "not keep, drop") != NULL);
	CHECK(relabel_parse("drop service.name", &bad, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "LABEL=~REGEX") != NULL);
	CHECK(relabel_parse("drop service.name=~(", &bad, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "invalid regular expression") != NULL);
	CHECK(relabel_parse("replace a=~b", &bad, err, sizeof(err)) == -EINVAL);
	CHECK(relabel_parse("keep", &bad, err, sizeof(err)) == -EINVAL);
	for (int i = 0; i < 5; i++)
		relabel_free(&rules[i]);
}

int main(void)
{
	RUN(test_relabel);
	return unit_done();
}
