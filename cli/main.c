// SPDX-License-Identifier: Apache-2.0
/* sonde: the command-line client. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef SONDE_VERSION
#define SONDE_VERSION "dev"
#endif

static const char usage[] =
	"Usage: sonde COMMAND [ARGS]   (sonde COMMAND --help for each)\n"
	"\n"
	"Commands:\n"
	"  symbolize   turn addresses of a binary (or a build ID) into functions, files, lines\n"
	"  version     print the version\n"
	"\n"
	"Exit codes: 0 ok, 1 not found, 2 usage error, 3 other error.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "symbolize", cmd_symbolize },
};

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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	}
	fprintf(stderr, "sonde: unknown command '%s' (see sonde --help)\n", argv[1]);
	return CLI_USAGE;
}
