// SPDX-License-Identifier: Apache-2.0
/* sonde: the command-line client. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../common/util.h"

#ifndef SONDE_VERSION
#define SONDE_VERSION "dev"
#endif

static const char usage[] =
	"Usage: sonde COMMAND [ARGS]   (sonde COMMAND --help for each)\n"
	"\n"
	"Queries (a collector's API: --url URL [SELECTOR] --from T --to T):\n"
	"  top         top functions by self or total time\n"
	"  flamegraph  the merged flame graph, as a tree in the terminal or an SVG\n"
	"  diff        two selections or time ranges, node by node\n"
	"  series      samples over time, optionally grouped by a label\n"
	"  labels      label names, or the values of one\n"
	"  export      the selected profile as pprof or folded stacks (with --url), or a "
	"service's\n"
	"              profile read from a storage directly (sonde export STORAGE --service S)\n"
	"\n"
	"Storage and binaries:\n"
	"  symbolize   turn addresses of a binary (or a build ID) into functions, files, lines\n"
	"  debuginfo   upload, list and remove the debug files a collector names frames with\n"
	"  inspect     list and check the blocks in a collector's storage\n"
	"  compact     run a compaction pass over a collector's storage\n"
	"  delete      delete a tenant's (or a service's) samples from before a time\n"
	"  import      store OTLP profiles files in a collector's storage\n"
	"  version     print the version\n"
	"\n"
	"Exit codes: 0 ok, 1 not found, 2 usage error, 3 other error.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{"symbolize", cmd_symbolize}, {"inspect", cmd_inspect}, {"export", cmd_export},
	{"debuginfo", cmd_debuginfo}, {"compact", cmd_compact}, {"import", cmd_import},
	{"delete", cmd_delete},
};

static const char *const query_commands[] = {"top", "flamegraph", "diff", "series", "labels"};

bool cli_binary_to_terminal(const char *cmd, bool binary, const char *output)
{
	if (!binary || output || !isatty(STDOUT_FILENO))
		return false;
	fprintf(stderr,
		"sonde %s: the output is binary and standard output is a terminal: give --output "
		"FILE, or redirect or pipe it\n",
		cmd);
	return true;
}

int cli_write_output(const char *cmd, const char *output, const void *data, size_t len)
{
	int e;

	if (output) {
		e = write_file_atomic(output, data, len);
		if (e)
			fprintf(stderr, "sonde %s: cannot write %s: %s\n", cmd, output,
				strerror(-e));
		return e ? CLI_ERROR : CLI_OK;
	}
	if ((len && fwrite(data, 1, len, stdout) != len) || fflush(stdout)) {
		fprintf(stderr, "sonde %s: cannot write to standard output: %s\n", cmd,
			strerror(errno));
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* export with --url goes to the API; without, it reads a storage */
static bool has_url(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--url") == 0 || strcmp(argv[i], "-u") == 0 ||
		    strncmp(argv[i], "--url=", 6) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("sonde %s\n", SONDE_VERSION);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(query_commands) / sizeof(query_commands[0]); i++)
		if (strcmp(argv[1], query_commands[i]) == 0)
			return cmd_query(argv[1], argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0 && has_url(argc - 1, argv + 1))
		return cmd_query("export", argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "sonde: unknown command '%s' (see sonde --help)\n", argv[1]);
	return CLI_USAGE;
}
