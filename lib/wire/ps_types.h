/* ps_types.h: plain C types shared by the core library, the daemon and the
 * client library.  Nothing here depends on Xapian, so the client library
 * (which links only ps_wire, lib/wire/) can use the same result layout as
 * the in-process API.
 */
#ifndef PS_TYPES_H
#define PS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status of every core API call.  PS_OK is 0; everything else is an error.
 * Keep in sync with ps_status_str() and ps_status_code() in lib/wire/results.c. */
typedef enum ps_status {
    PS_OK = 0,
    PS_ERR_NOT_FOUND,       /* document id not in the database */
    PS_ERR_QUERY,           /* query string could not be parsed */
    PS_ERR_LOCKED,          /* another writer holds the database lock */
    PS_ERR_MODIFIED,        /* DatabaseModifiedError after the retry */
    PS_ERR_TOO_MANY_TERMS,  /* wildcard expanded past the limit */
    PS_ERR_NOMEM,           /* std::bad_alloc or malloc failure */
    PS_ERR_IO,              /* I/O error, including ENOSPC */
    PS_ERR_CORRUPT,         /* database corrupt */
    PS_ERR_INVALID,         /* bad argument (too long id, bad date, ...) */
    PS_ERR_NO_DB,           /* database does not exist / cannot be opened */
    PS_ERR_INTERNAL,        /* anything else */
    PS_ERR_TOO_LARGE,       /* an input over its configured size limit */
    PS_STATUS_COUNT
} ps_status;

/* Human-readable text of a status.  Returns a static string; any thread. */
const char *ps_status_str(ps_status st);

/* Protocol error code word of a status ("not_found", "query_syntax",
 * "too_many_terms", "internal", ...).  Returns a static string; any thread. */
const char *ps_status_code(ps_status st);

/* Sort orders for ps_search(). */
typedef enum ps_sort {
    PS_SORT_RELEVANCE = 0,
    PS_SORT_DATE = 1        /* newest first, then relevance */
} ps_sort;

/* A span of bytes inside a snippet that matched the query. */
typedef struct ps_span {
    uint32_t off;
    uint32_t len;
} ps_span;

/* One search hit.  All strings are NUL-terminated UTF-8 inside the owning
 * ps_results block; optional fields are NULL when absent. */
typedef struct ps_hit {
    const char *id;
    const char *title;
    const char *lang;       /* ISO 639-1 code or "und" */
    const char *date;       /* ISO 8601 as given at index time, or NULL */
    const char *url;        /* or NULL */
    const char *snippet;    /* plain text (no markup), "" when not asked */
    double score;           /* Xapian weight (0 when sorted by date only) */
    uint32_t rank;          /* 1-based rank including offset */
    uint32_t nhighlights;
    const ps_span *highlights; /* byte spans of matched words in snippet */
    /* Synonyms (docs/PROTOCOL.md, "Synonyms"): the members of the groups
     * the query was expanded with, other than what the query said, whose
     * words the document holds (folded, as in the synonym table); synonyms
     * is NULL when nsynonyms is 0. */
    uint32_t nsynonyms;
    const char *const *synonyms;
} ps_hit;

/* One synonym expansion a search applied: the query's words `from`
 * (folded) were searched as themselves OR any of to[0..nto). */
typedef struct ps_expansion {
    const char *from;
    uint32_t nto;
    const char *const *to;
} ps_expansion;

/* A facet value with its count (language code -> documents). */
typedef struct ps_facet {
    const char *value;
    uint64_t count;
} ps_facet;

/* Search results: ONE malloc'd block holding the struct, the arrays and all
 * strings.  Free with ps_results_free().  Nothing points into Xapian. */
typedef struct ps_results {
    uint64_t total;         /* Xapian's estimate of matching documents */
    uint32_t nhits;
    ps_hit *hits;
    uint32_t nfacets;
    ps_facet *facets;       /* language facet; NULL when not asked */
    const char *suggestion; /* spelling suggestion, or NULL */
    uint64_t took_us;       /* time spent in the search call */
    /* Sharded databases (docs/SCALING.md): the specs of the shards that did
     * not answer.  nfailed > 0 means the results are partial (protocol:
     * "partial": true, "failed_shards": [...]); failed is NULL when 0. */
    uint32_t nfailed;
    const char *const *failed;
    /* The synonym expansions applied to the query, in query order
     * (protocol: "expanded"); expanded is NULL when nexpanded is 0. */
    uint32_t nexpanded;
    const ps_expansion *expanded;
} ps_results;

/* Frees a ps_results block (NULL is fine).  Any thread. */
void ps_results_free(ps_results *r);

/* A document to add (ps_db_put(); the client library's psc_doc is the same
 * type).  Strings are borrowed for the duration of the call.  id and body
 * are required; title NULL/"" -> derived from the body's first short
 * non-boilerplate line; lang NULL/"" -> detected (restricted to languages
 * with a Xapian stemmer, "und" when unknown); date (ISO 8601) and url are
 * optional. */
typedef struct ps_doc_in {
    const char *id;
    const char *title;
    const char *body;
    const char *lang;
    const char *date;
    const char *url;
} ps_doc_in;

/* A stored document as returned by ps_db_get(): ONE malloc'd block; free
 * with ps_document_free().  Optional fields are NULL when absent. */
typedef struct ps_document {
    const char *id;
    const char *title;
    const char *body;
    const char *lang;
    const char *date;
    const char *url;
    const char *hash;       /* hex content hash */
} ps_document;

/* Frees a ps_document block (NULL is fine).  Any thread. */
void ps_document_free(ps_document *d);

/* A notification pushed by polysearchd on a connection that subscribed
 * (docs/PROTOCOL.md, "subscribe"): one entry of [2, "match", [...]] or
 * [2, "lagged", [...]].  ONE malloc'd block; free with
 * ps_notification_free().  Strings are NUL-terminated UTF-8 inside it. */
typedef enum ps_notification_kind {
    PS_NOTIFY_MATCH = 1,    /* a new or replaced document matched */
    PS_NOTIFY_LAGGED = 2    /* `dropped` matches were not sent */
} ps_notification_kind;

typedef struct ps_notification {
    ps_notification_kind kind;
    uint64_t subscription;  /* the daemon's id; 0 in a lagged notification
                               made by the client library itself (its own
                               queue was full) */
    /* PS_NOTIFY_MATCH only (NULL / 0 otherwise): */
    const char *name;       /* the subscription's name */
    const char *id;
    const char *title;
    const char *lang;
    const char *date;       /* or NULL */
    const char *url;        /* or NULL */
    const char *snippet;
    uint64_t seq;           /* the change's sequence number (commit order) */
    int replaced;           /* 1 when the id existed before */
    /* PS_NOTIFY_LAGGED only: */
    uint64_t dropped;
    int has_resume_from;    /* 1: subscribing again with resume_from =
                               resume_from gets the dropped matches (and
                               what followed them), in order */
    uint64_t resume_from;
} ps_notification;

/* Frees a ps_notification block (NULL is fine).  Any thread. */
void ps_notification_free(ps_notification *n);

/* ---- Builder used by lib/core/ (read.cc, search.cc) and the client decoder - */

/* Opaque builder that accumulates hits/facets and then packs everything
 * into one flat ps_results block.  One thread at a time. */
typedef struct ps_results_builder ps_results_builder;

/* Returns a new builder or NULL on allocation failure.  Caller owns it and
 * must call ps_results_builder_finish() or ps_results_builder_free(). */
ps_results_builder *ps_results_builder_new(void);

/* Adds a hit.  Strings are copied (NULL allowed for optional ones; title,
 * snippet NULL are stored as "").  hl may be NULL when nhl == 0.  Returns
 * PS_OK or PS_ERR_NOMEM. */
ps_status ps_results_builder_add_hit(ps_results_builder *b, const char *id,
                                     const char *title, const char *lang,
                                     const char *date, const char *url,
                                     const char *snippet, double score,
                                     uint32_t rank, const ps_span *hl,
                                     uint32_t nhl);

/* Adds a matched synonym (copied) to the hit added last.  Returns PS_OK,
 * PS_ERR_INVALID (no hit yet, NULL argument) or PS_ERR_NOMEM. */
ps_status ps_results_builder_add_hit_synonym(ps_results_builder *b,
                                             const char *member);

/* Records a synonym expansion: from and to[0..nto) are copied.  Returns
 * PS_OK, PS_ERR_INVALID (NULL argument) or PS_ERR_NOMEM. */
ps_status ps_results_builder_add_expansion(ps_results_builder *b,
                                           const char *from,
                                           const char *const *to,
                                           uint32_t nto);

/* Adds a facet value/count (copied).  Returns PS_OK or PS_ERR_NOMEM. */
ps_status ps_results_builder_add_facet(ps_results_builder *b,
                                       const char *value, uint64_t count);

/* Records a shard that did not answer (spec copied; see ps_results
 * nfailed).  Returns PS_OK, PS_ERR_INVALID (NULL argument) or
 * PS_ERR_NOMEM. */
ps_status ps_results_builder_add_failed(ps_results_builder *b,
                                        const char *spec);

/* Packs everything into one block; frees the builder in all cases.  Returns
 * the block (caller owns; ps_results_free) or NULL on allocation failure.
 * suggestion may be NULL. */
ps_results *ps_results_builder_finish(ps_results_builder *b, uint64_t total,
                                      const char *suggestion,
                                      uint64_t took_us);

/* Frees an unfinished builder (NULL is fine). */
void ps_results_builder_free(ps_results_builder *b);

/* Builds a ps_document block from field strings (copied; NULL allowed for
 * optional fields).  Returns NULL on allocation failure.  Any thread. */
ps_document *ps_document_new(const char *id, const char *title,
                             const char *body, const char *lang,
                             const char *date, const char *url,
                             const char *hash);

#ifdef __cplusplus
}
#endif
#endif
