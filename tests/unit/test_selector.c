// SPDX-License-Identifier: Apache-2.0
/* collector/selector: parsing with positioned errors, matching, and how stored keys are named. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "collector_fixture.h"
#include "../../collector/selector.h"
#include "../../common/util.h"

static void test_selectors(void)
{
	struct selector s;
	char err[256];

	CHECK(selector_parse("{}", &s, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.m.len, 0);
	selector_free(&s);
	CHECK(selector_parse("", &s, err, sizeof(err)) == 0);
	selector_free(&s);
	CHECK(selector_parse(" { service_name = \"api\" , k8s_pod_name=~'p[0-9]+', x!=\"a\\\"b\", "
			     "y !~ \"\" } ",
			     &s, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.m.len, 4);
	CHECK_STR(s.m.v[0].name, "service_name");
	CHECK(s.m.v[1].op == MATCH_RE);
	CHECK_STR(s.m.v[2].value, "a\"b");
	CHECK(s.m.v[3].op == MATCH_NRE);
	CHECK(selector_has(&s, "k8s_pod_name"));
	selector_free(&s);
	/* unquoted, unterminated, bad operators, bad regex, junk after: position and reason */
	CHECK(selector_parse("{a=b}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "position 4") && strstr(err, "quoted"));
	CHECK(selector_parse("{a=\"b\"", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "missing '}'") != NULL);
	CHECK(selector_parse("{a==\"b\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(selector_parse("{a<\"b\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "expected =, !=") != NULL);
	CHECK(selector_parse("{a=~\"(\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "regular expression") != NULL);
	CHECK(selector_parse("{a=~\"(x)\\\\1\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "back-reference") != NULL);
	CHECK(selector_parse("{a=~\"x++\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "repeats a repetition") != NULL);
	CHECK(selector_parse("{a=~\"(x{100}){200}\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "over 10000") != NULL);
	CHECK(selector_parse("{a=~\"[+*]+x{2,5}(a|b)*c?\"}", &s, err, sizeof(err)) == 0);
	selector_free(&s);
	CHECK(selector_parse("{a=\"b\"} x", &s, err, sizeof(err)) == -EINVAL);
	CHECK(selector_parse("{1a=\"b\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(selector_parse("{a=\"b\" b=\"c\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "expected ',' or '}'") != NULL);
}

/* The limits on what a selector may ask for: matchers, regex length, and "}" without "{". */
static void test_limits(void)
{
	struct selector s;
	struct buf text = {0};
	char err[256], re[1100];

	for (int i = 0; i < SELECTOR_MAX_MATCHERS; i++)
		buf_printf(&text, "%sl%d=\"v\"", i ? "," : "{", i);
	buf_puts(&text, "}");
	CHECK(selector_parse(buf_cstr(&text), &s, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.m.len, SELECTOR_MAX_MATCHERS);
	selector_free(&s);
	text.len--; /* one more matcher is one too many */
	buf_puts(&text, ",x=\"y\"}");
	CHECK(selector_parse(buf_cstr(&text), &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "too many matchers") != NULL);
	buf_free(&text);

	memset(re, 'a', sizeof(re));
	memcpy(re, "{a=~\"", 5);
	memcpy(re + 5 + 1025, "\"}", 3);
	CHECK(selector_parse(re, &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "too long") != NULL);
	CHECK(selector_parse("a=\"b\"}", &s, err, sizeof(err)) == -EINVAL);
	CHECK(strstr(err, "unexpected '}'") != NULL);
	/* without braces is fine; so is a trailing comma */
	CHECK(selector_parse("a=\"b\", c!=\"d\"", &s, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.m.len, 2);
	selector_free(&s);
	CHECK(selector_parse("{a=\"b\",}", &s, err, sizeof(err)) == 0);
	CHECK_EQ_U64(s.m.len, 1);
	selector_free(&s);
}

/* The four operators, anchored regular expressions, and a missing label as "" (Prometheus). */
static void test_match(void)
{
	struct selector s;
	char err[256];

	CHECK(selector_parse("{a=\"x\", b!=\"x\", c=~\"p[0-9]\", d!~\"p.*\"}", &s, err,
			     sizeof(err)) == 0);
	CHECK(selector_match(&s.m.v[0], "x") && !selector_match(&s.m.v[0], "xy"));
	CHECK(!selector_match(&s.m.v[0], NULL));
	CHECK(!selector_match(&s.m.v[1], "x") && selector_match(&s.m.v[1], NULL));
	/* anchored at both ends: p1 matches, xp1 and p12 do not */
	CHECK(selector_match(&s.m.v[2], "p1"));
	CHECK(!selector_match(&s.m.v[2], "xp1") && !selector_match(&s.m.v[2], "p12"));
	CHECK(!selector_match(&s.m.v[2], NULL));
	CHECK(!selector_match(&s.m.v[3], "p") && selector_match(&s.m.v[3], "q"));
	CHECK(selector_match(&s.m.v[3], NULL));
	selector_free(&s);
	/* "" matches a missing label, as =~".*" does */
	CHECK(selector_parse("{a=\"\", b=~\".*\"}", &s, err, sizeof(err)) == 0);
	CHECK(selector_match(&s.m.v[0], NULL) && selector_match(&s.m.v[1], NULL));
	selector_free(&s);

	CHECK(selector_service(&s, "check\"out") == 0);
	CHECK_EQ_U64(s.m.len, 1);
	CHECK_STR(s.m.v[0].name, "service_name");
	CHECK(s.m.v[0].op == MATCH_EQ);
	CHECK(selector_match(&s.m.v[0], "check\"out") && !selector_match(&s.m.v[0], "check"));
	CHECK(selector_has(&s, "service_name") && !selector_has(&s, "service"));
	selector_free(&s);
}

/* Stored keys as selectors name them: '.', '/' and '-' are '_'; service_name is the service. */
static void test_label_names(void)
{
	struct svcdata *api, *db;
	struct buf b = {0};

	fixture_services(&api, &db);
	CHECK_STR(selector_label(api, 1, "process_executable_name"), "api");
	CHECK_STR(selector_label(api, 1, "k8s_pod_name"), "p1");
	CHECK_STR(selector_label(api, 1, "k8s_pod_label_app_kubernetes_io_part_of"), "shop");
	CHECK_STR(selector_label(api, 1, "service_name"), "api");
	CHECK_STR(selector_label(db, 1, "service_name"), "db");
	/* the stored spelling is not a selector name; a prefix is not the name */
	CHECK(selector_label(api, 1, "process.executable.name") == NULL);
	CHECK(selector_label(api, 1, "k8s_pod") == NULL);
	CHECK(selector_label(api, 1, "k8s_pod_name_x") == NULL);
	selector_put_name(&b, "k8s.pod.label.app.kubernetes.io/part-of");
	CHECK_STR(buf_cstr(&b), "k8s_pod_label_app_kubernetes_io_part_of");
	buf_reset(&b);
	selector_put_name(&b, "plain_name9");
	CHECK_STR(buf_cstr(&b), "plain_name9");
	buf_free(&b);
	svcdata__free(api);
	svcdata__free(db);
}

int main(void)
{
	RUN(test_selectors);
	RUN(test_limits);
	RUN(test_match);
	RUN(test_label_names);
	return unit_done();
}
