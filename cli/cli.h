/* SPDX-License-Identifier: Apache-2.0 */
/* The sonde command line: one function per subcommand, each given its own argv. */
#ifndef SONDE_CLI_H
#define SONDE_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes scripts can rely on. */
enum cli_exit {
	CLI_OK = 0,
	CLI_NOT_FOUND = 1, /* ran, but (some of) what was asked for does not exist */
	CLI_USAGE = 2,	   /* bad command line */
	CLI_ERROR = 3,	   /* could not do it: I/O, server, data errors */
};

/*
 * `sonde export`'s output rules, for both its paths (a storage, the API): binary data (pprof)
 * without --output is refused only when standard output is a terminal, as curl does; a pipe or
 * a redirection is what it is for. True (after saying so on stderr) when it must be refused.
 */
bool cli_binary_to_terminal(const char *cmd, bool binary, const char *output);
/* data to output (atomically) or, without one, to standard output. CLI_OK, or CLI_ERROR said. */
int cli_write_output(const char *cmd, const char *output, const void *data, size_t len);

/* A collector to talk to: --url, --tenant, --token, --ca-file (cli/http.c). */
struct cli_conn {
	const char *cmd; /* for messages: "sonde CMD: ..." */
	const char *url, *tenant, *token, *ca_file;
};
struct buf;
/*
 * method url (whole, with its query) with body[0..len) (NULL: none), the answer's body appended
 * to out and its status in *ret_status. CLI_OK, or CLI_ERROR after saying the collector could
 * not be reached.
 */
int cli_http(const struct cli_conn *c, const char *method, const char *url, const void *body,
	     size_t len, long *ret_status, struct buf *out);
/* Says a failed answer: its JSON "error" (or the body) with the status. */
void cli_http_error(const struct cli_conn *c, long status, const struct buf *body);

int cmd_symbolize(int argc, char **argv);
int cmd_debuginfo(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_delete(int argc, char **argv);
/* top, flamegraph, diff, series, labels, export --url: the collector's query API */
int cmd_query(const char *cmd, int argc, char **argv);

#endif
