// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config.h"
#include "util.h"

static const struct option *find_option(const struct option *opts, const char *name)
{
	for (const struct option *opt = opts; opt->name; opt++) {
		if (strcmp(opt->name, name) == 0)
			return opt;
	}
	return NULL;
}

struct argv_builder {
	char **v;
	int n, cap;
};

static int push_arg(struct argv_builder *b, char *arg)
{
	if (!arg)
		return -ENOMEM;
	if (b->n + 2 > b->cap) {
		char **nv = realloc(b->v, (size_t)(b->cap ? b->cap * 2 : 32) * sizeof(char *));

		if (!nv) {
			free(arg);
			return -ENOMEM;
		}
		b->v = nv;
		b->cap = b->cap ? b->cap * 2 : 32;
	}
	b->v[b->n++] = arg;
	b->v[b->n] = NULL;
	return 0;
}

/* key: value (or a list of values) as "--key=value" arguments; a boolean flag as "--key". */
static int config_arg(struct argv_builder *b, const char *prog, const struct option *opts,
		      const char *path, const char *key, const char *value)
{
	const struct option *opt = find_option(opts, key);
	char *arg;

	if (!opt || strcmp(key, "config") == 0 || strcmp(key, "help") == 0 ||
	    strcmp(key, "version") == 0) {
		fprintf(stderr, "%s: %s: unknown key '%s' (keys are the long option names)\n", prog,
			path, key);
		return -EINVAL;
	}
	if (opt->has_arg == no_argument) {
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0) {
			if (asprintf(&arg, "--%s", key) < 0)
				return -ENOMEM;
			return push_arg(b, arg);
		}
		if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
			return 0;
		fprintf(stderr, "%s: %s: '%s' takes true or false, not '%s'\n", prog, path, key,
			value);
		return -EINVAL;
	}
	if (asprintf(&arg, "--%s=%s", key, value) < 0)
		return -ENOMEM;
	return push_arg(b, arg);
}

int config_load_argv(const char *prog, const char *path, const struct option *opts, int *ret_argc,
		     char ***ret_argv)
{
	struct argv_builder b = {0};
	yaml_parser_t parser;
	yaml_event_t ev;
	char *data = NULL, key[128] = "";
	size_t len;
	int depth = 0, err, in_seq = 0;
	bool have_key = false, done = false;

	err = read_file(-1, path, CONFIG_MAX_BYTES, &data, &len);
	if (err) {
		fprintf(stderr, "%s: cannot read config file %s: %s\n", prog, path,
			err == -EFBIG ? "larger than 1 MiB" : strerror(-err));
		return -EINVAL;
	}
	if (push_arg(&b, strdup(prog))) {
		free(data);
		return -ENOMEM;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	while (!done && !err) {
		if (!yaml_parser_parse(&parser, &ev)) {
			fprintf(stderr, "%s: %s:%zu: YAML error: %s\n", prog, path,
				parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "?");
			err = -EINVAL;
			break;
		}
		switch (ev.type) {
		case YAML_MAPPING_START_EVENT:
			if (++depth > 1) {
				fprintf(stderr, "%s: %s:%zu: '%s': expected a value or a list\n",
					prog, path, ev.start_mark.line + 1, key);
				err = -EINVAL;
			}
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_SEQUENCE_START_EVENT:
			if (!have_key || in_seq) {
				fprintf(stderr, "%s: %s:%zu: unexpected list\n", prog, path,
					ev.start_mark.line + 1);
				err = -EINVAL;
			}
			in_seq = 1;
			break;
		case YAML_SEQUENCE_END_EVENT:
			in_seq = 0;
			have_key = false;
			break;
		case YAML_SCALAR_EVENT: {
			const char *v = (const char *)ev.data.scalar.value;

			if (depth != 1) {
				fprintf(stderr, "%s: %s: the file must be a mapping of options\n",
					prog, path);
				err = -EINVAL;
			} else if (!have_key) {
				str_copy(key, v, sizeof(key));
				have_key = true;
			} else {
				err = config_arg(&b, prog, opts, path, key, v);
				if (!in_seq)
					have_key = false;
			}
			break;
		}
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	free(data);
	if (err) {
		config_free_argv(b.n, b.v);
		return err;
	}
	*ret_argc = b.n;
	*ret_argv = b.v;
	return 0;
}

void config_free_argv(int argc, char **argv)
{
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

const char *config_path_in_argv(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-c") == 0) &&
		    i + 1 < argc)
			return argv[i + 1];
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
	}
	return NULL;
}
