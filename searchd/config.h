/* config.h: every setting and limit of polysearchd in one struct, with its
 * default, its command-line flag and its --help text.
 */
#ifndef SEARCHD_CONFIG_H
#define SEARCHD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "polysearch.h"

#define SEARCHD_MAX_LISTEN 16
#define SEARCHD_MAX_SHARDS 64
/* Highest --max-add-docs. */
#define SEARCHD_MAX_ADD_DOCS 1000000u

typedef struct searchd_config {
    const char *db_path;        /* --db; default $POLYSEARCH_DB or ./polysearch.db */
    int create;                 /* --create: make an empty database at db_path
                                   when none is there (ps_db_create); not
                                   with --shard */
    const char *listen[SEARCHD_MAX_LISTEN]; /* --listen HOST:PORT, repeatable */
    unsigned nlisten;           /* 0 after parse only if --socket given alone */
    const char *socket_path;    /* --socket PATH or NULL */
    const char *port_file;      /* --port-file F or NULL */
    /* HTTP/JSON (docs/HTTP.md; searchd/http.c): off unless --http given. */
    const char *http[SEARCHD_MAX_LISTEN]; /* --http HOST:PORT, repeatable */
    unsigned nhttp;
    const char *http_port_file; /* --http-port-file F or NULL */
    uint64_t max_request;       /* --max-request bytes of an HTTP body: 413 */
    uint64_t max_headers;       /* --max-headers bytes of an HTTP request's
                                   line and headers: 400 */
    /* Access control (auth.h, access.h): NULL = none (everything
     * allowed; refused at start on a non-loopback address with writes). */
    const char *auth_token_file; /* --auth-token-file FILE */
    unsigned workers;           /* --workers; default online cores */
    int log_level;              /* ps_log_level; --quiet / --verbose */
    /* Limits (each reported by stats and shown by --help). */
    uint64_t max_frame;         /* --max-frame bytes: too_large, then close */
    unsigned max_depth;         /* --max-depth: bad_request */
    uint64_t deadline_ms;       /* --deadline: frame arrival and execution */
    uint64_t idle_ms;           /* --idle-timeout */
    unsigned max_clients;       /* --max-clients: error then close */
    uint64_t max_output;        /* --max-output bytes: reading pauses */
    unsigned queue;             /* --queue: busy */
    unsigned max_limit;         /* --max-limit: bad_request */
    unsigned max_window;        /* --max-window (offset+limit): bad_request */
    unsigned max_query;         /* --max-query bytes: too_large */
    unsigned max_wildcard;      /* --max-wildcard terms: too_many_terms */
    /* Writing (add/delete, the writer thread). */
    int read_only;              /* --read-only: add/delete refused */
    unsigned max_add_docs;      /* --max-add-docs per add/delete: too_large */
    uint64_t max_body;          /* --max-body bytes per document: rejected */
    unsigned write_queue;       /* --write-queue requests: busy */
    uint64_t commit_delay_ms;   /* --commit-delay: wait for more writers */
    uint64_t visible_wait_ms;   /* --visible-wait: ack once workers show it */
    uint64_t writer_idle_ms;    /* --writer-idle: release the write lock */
    /* The write-ahead log (docs/WAL.md; checkpoint.h), on unless --no-wal
     * (or a --shard list without --wal-dir): acknowledge after one
     * fdatasync of the log, commit to Xapian in checkpoints. */
    int no_wal;                 /* --no-wal: a Xapian commit per group */
    const char *wal_dir;        /* --wal-dir DIR: the log of a --shard list
                                   (--db DIR: always DIR/wal) */
    uint64_t checkpoint_docs;   /* --checkpoint-docs operations */
    uint64_t checkpoint_bytes;  /* --checkpoint-bytes held by the delta */
    uint64_t checkpoint_interval_ms; /* --checkpoint-interval: oldest op */
    uint64_t max_delta_bytes;   /* --max-delta: writers wait, then busy */
    /* Alerts (subscribe; searchd/alerts.h, searchd/subs.h). */
    unsigned max_subs;          /* --max-subscriptions in total: busy */
    unsigned max_subs_per_conn; /* --max-subscriptions-per-conn: busy */
    unsigned resume_max;        /* --resume-max: documents per catch-up */
    uint64_t max_notify_queue;  /* --max-notify-queue bytes of unsent output
                                   past which notifications are dropped
                                   (then "lagged") */
    /* Shards (docs/SCALING.md): --shard SPEC, repeatable, replaces --db. */
    const char *shards[SEARCHD_MAX_SHARDS];
    unsigned nshards;
    int no_partial;             /* --no-partial: fail searches while a
                                   shard is down instead of partial results */
    uint64_t shard_timeout_ms;  /* --shard-timeout: remote operation timeout */
    /* --write-shard SPEC, repeatable: where the writer sends add/delete,
     * shard i of the --shard list being written through write_shards[i]
     * (a `xapian-tcpsrv --writable` beside the read-only one serving the
     * same database).  0 = the writer opens the --shard list itself, which
     * works for local shards only. */
    const char *write_shards[SEARCHD_MAX_SHARDS];
    unsigned nwrite_shards;
    /* --config FILE (config_file.h): its path, and the storage the
     * strings above point into when they came from it (owned; freed by
     * searchd_config_free). */
    const char *config_path;
    struct config_args *config_args;
} searchd_config;

/* Fills *c with the defaults (reads $POLYSEARCH_DB and the core count).
 * Main thread, before any other thread starts. */
void searchd_config_defaults(searchd_config *c);

/* Parses argv into *c (after searchd_config_defaults), reading --config
 * FILE first when given.  Strings point into argv or into storage owned
 * by *c (release it with searchd_config_free once *c is no longer used).
 * Returns -1 when the caller should go on, otherwise an exit status: 0
 * after --help/--version (text written to stdout), EX_USAGE after a
 * message on stderr (--create with --shard, --wal-dir without --shard
 * included), EX_NOINPUT when the --config file cannot be read,
 * EX_CONFIG for a bad setting in it (message names FILE:LINE).  Main
 * thread. */
int searchd_config_parse(searchd_config *c, int argc, char **argv);

/* Frees the storage searchd_config_parse allocated for a --config file
 * (the strings from it become invalid).  Safe on a config without one and
 * to call twice.  Main thread. */
void searchd_config_free(searchd_config *c);

/* Opens the database the config names: the --shard list when given (with
 * --no-partial and --shard-timeout), else --db (a plain database or a
 * shard set with a SHARDS file: ps_db_open_dir).  With PS_DB_WRITE and a
 * --write-shard list, opens that list instead; with PS_DB_WRITE, remote
 * --shard specs and no --write-shard list, opens nothing and returns
 * PS_ERR_INVALID with a message naming the missing flag (a read-only
 * xapian-tcpsrv cannot take writes).  Returns what ps_db_open() returns
 * (*out, *errmsg malloc'd, caller frees).  Any thread. */
ps_status searchd_config_open_db(const searchd_config *c, ps_db_mode mode,
                                 ps_db **out, char **errmsg);

/* Where the write-ahead log of the config's database lives (docs/WAL.md,
 * docs/SCALING.md): DB/wal for --db (one database or a shard set with a
 * SHARDS file), --wal-dir for a --shard list.  Writes the path to buf
 * and returns 1; returns 0 (buf "") for a --shard list without --wal-dir
 * (no log: commit mode), -1 when the path does not fit.  Whether the log
 * is used (--no-wal, --read-only) is the caller's business.  Any
 * thread. */
int searchd_config_wal_dir(const searchd_config *c, char *buf, size_t len);

/* Name of what the config opens, for logs: --db or the first --shard.
 * Any thread. */
const char *searchd_config_db_name(const searchd_config *c);

/* 1 when the writer can open something writable: --db, local --shard
 * specs only, or a --write-shard list; 0 when a --shard spec is remote
 * and no --write-shard list was given.  Any thread. */
int searchd_config_can_write(const searchd_config *c);

/* Writes the --help text, with every default, to f.  Any thread. */
void searchd_config_usage(FILE *f);

#endif
