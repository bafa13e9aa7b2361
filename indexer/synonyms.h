/* synonyms.h: the synonym file of polysearch-index --synonyms FILE: one
 * group per line, members separated by '=' ("PME = KMU = SME"), words or
 * phrases; '#' starts a comment line; blank lines ignored.  Checked line
 * by line (UTF-8 with the one validator of lib/wire/utf8.c, limits,
 * members that normalise alike) before anything is written; the groups
 * then replace the database's synonym table (ps_db_set_synonyms).
 */
#ifndef PS_INDEXER_SYNONYMS_H
#define PS_INDEXER_SYNONYMS_H

#include <stddef.h>

#include "polysearch.h"

/* Limits of a synonym file; syn_limits_init() gives the defaults. */
typedef struct syn_limits {
    size_t max_file;        /* bytes of the file (default 4 MiB) */
    size_t max_groups;      /* groups (PS_SYN_MAX_GROUPS) */
    size_t max_members;     /* members of a group (PS_SYN_MAX_GROUP) */
    size_t max_member;      /* bytes of a member, as written and once
                               normalised (PS_SYN_MAX_MEMBER_BYTES) */
} syn_limits;

void syn_limits_init(syn_limits *l);

/* A parsed file: groups[0..n) for ps_db_set_synonyms(), owning its
 * strings.  Free with syn_file_free(). */
typedef struct syn_file {
    ps_synonym_group *groups;
    size_t n;
    size_t nmembers;        /* members of all groups */
} syn_file;

void syn_file_free(syn_file *f);

/* Parses text[0..len) (name: for messages) into *out.  Returns 0, or a
 * <sysexits.h> code with a message "NAME:LINE: why" in err[0..errlen):
 * EX_DATAERR for bad content (invalid UTF-8 or a NUL byte, a line with
 * fewer than 2 members, an empty member or one without a word, a member
 * over max_member bytes or PS_SYN_MAX_MEMBER_WORDS words, a group over
 * max_members, more than max_groups groups, a member already in this or
 * an earlier group once normalised, a file over max_file bytes),
 * EX_SOFTWARE when out of memory.  Pure; any thread. */
int syn_parse(const char *name, const char *text, size_t len,
              const syn_limits *lim, syn_file *out, char *err, size_t errlen);

/* Reads and parses the file at path as syn_parse() does.  EX_NOINPUT
 * when it cannot be read (message names it). */
int syn_load(const char *path, const syn_limits *lim, syn_file *out,
             char *err, size_t errlen);

#endif
