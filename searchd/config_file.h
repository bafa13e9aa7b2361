/* config_file.h: polysearchd --config FILE, a settings file read before
 * the command line.
 *
 * Format: one setting per line, the long option without its dashes and
 * its value, separated by blanks or '=':
 *
 *     # polysearchd.conf
 *     db /var/lib/polysearch/db
 *     listen 127.0.0.1:7117
 *     shard tcp:10.0.0.11:7200
 *     write-shard tcp:10.0.0.11:7201
 *     read-only
 *
 * Blank lines and lines starting with '#' are ignored; leading "--" is
 * accepted; a value runs to the end of the line (trailing blanks cut).
 * The file's settings are placed before the command line's, so for a
 * single-valued setting the command line wins and repeatable ones
 * (listen, shard, write-shard) add up.
 */
#ifndef SEARCHD_CONFIG_FILE_H
#define SEARCHD_CONFIG_FILE_H

#include <getopt.h>

#define CONFIG_FILE_MAX_BYTES (1024 * 1024)
#define CONFIG_FILE_MAX_SETTINGS 4096

typedef struct config_args {
    int argc;
    char **argv;        /* argv[0], the file's settings as "--name" [value],
                           then the command line without --config FILE */
    int *line;          /* line[i]: line of argv[i] in the file, 0 = command
                           line */
    char *text;         /* the file's text; the file's argv strings point
                           into it */
    const char *path;   /* the FILE of --config (points into the caller's
                           argv) */
} config_args;

/* Looks for --config FILE or --config=FILE in argv (before "--"; at most
 * once).  Without it, returns -1 and leaves *out zeroed (argv is used as
 * is).  With it, reads FILE (at most CONFIG_FILE_MAX_BYTES, at most
 * CONFIG_FILE_MAX_SETTINGS settings), checks every name against opts
 * (unknown names, a missing or unexpected value, "config", "help" and
 * "version" are refused) and fills *out: returns -1.  On error writes
 * "polysearchd: FILE:LINE: why" to stderr and returns EX_NOINPUT (cannot
 * read FILE), EX_CONFIG (bad content) or EX_USAGE (--config given twice
 * or without a value); *out then holds nothing to free.  The caller frees
 * a filled *out with config_args_free().  Main thread. */
int config_file_expand(int argc, char **argv, const struct option *opts,
                       config_args *out);

/* Frees what config_file_expand() filled and zeroes *a.  NULL or a zeroed
 * struct is fine.  Main thread. */
void config_args_free(config_args *a);

#endif
