/* SPDX-License-Identifier: Apache-2.0 */
/* The sonde command line: one function per subcommand, each given its own argv. */
#ifndef SONDE_CLI_H
#define SONDE_CLI_H

/* Exit codes scripts can rely on. */
enum cli_exit {
	CLI_OK = 0,
	CLI_NOT_FOUND = 1, /* ran, but (some of) what was asked for does not exist */
	CLI_USAGE = 2,	   /* bad command line */
	CLI_ERROR = 3,	   /* could not do it: I/O, server, data errors */
};

int cmd_symbolize(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_import(int argc, char **argv);
/* top, flamegraph, diff, series, labels, export --url: the collector's query API */
int cmd_query(const char *cmd, int argc, char **argv);

#endif
