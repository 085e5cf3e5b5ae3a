// SPDX-License-Identifier: Apache-2.0
/* sonde: the command-line client. */
#include <stdio.h>
#include <string.h>

#ifndef SONDE_VERSION
#define SONDE_VERSION "dev"
#endif

static const char usage[] = "Usage: sonde COMMAND [ARGS]\n"
			    "\n"
			    "Commands:\n"
			    "  version     print the version\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("sonde %s\n", SONDE_VERSION);
		return 0;
	}
	fprintf(stderr, "sonde: unknown command '%s' (see sonde --help)\n", argv[1]);
	return 2;
}
