/* idset.h: a set of document ids (strings), used to find duplicates within
 * one run and, for --prune, the ids seen in this run.  Open addressing with
 * FNV-1a hashing.  One thread at a time per set.
 */
#ifndef PS_INDEXER_IDSET_H
#define PS_INDEXER_IDSET_H

#include <stddef.h>

typedef struct idset idset;

/* Returns a new empty set (caller owns; idset_free) or NULL on allocation
 * failure. */
idset *idset_new(void);

/* Frees the set and every id copy it holds (NULL is fine). */
void idset_free(idset *s);

/* Adds a copy of id.  Returns 1 when added, 0 when it was already there,
 * -1 on allocation failure (the set is unchanged). */
int idset_add(idset *s, const char *id);

/* 1 when id is in the set, 0 otherwise. */
int idset_has(const idset *s, const char *id);

/* Number of ids in the set. */
size_t idset_count(const idset *s);

#endif
