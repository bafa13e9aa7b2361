/* idlist.h: a growable list of document id copies, filled while a
 * database lists its ids (ps_db_foreach_id) and used once the listing is
 * over: --prune's unseen ids, --watch's ids under a removed directory.
 */
#ifndef PS_INDEXER_IDLIST_H
#define PS_INDEXER_IDLIST_H

#include <stddef.h>

/* Zero-initialise ({0}) for an empty list.  nomem: a push failed. */
typedef struct idlist {
    char **ids;
    size_t n, cap;
    int nomem;
} idlist;

/* Appends a copy of id.  Returns 0, or -1 on allocation failure (then
 * nomem is set and the list is otherwise unchanged). */
int idlist_push(idlist *l, const char *id);

/* Frees every copy and the array; l is an empty list again. */
void idlist_clear(idlist *l);

#endif
