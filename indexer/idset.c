/* idset.c: open-addressing string set (idset.h). */
#include "idset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct idset {
    char **slots;       /* NULL = empty slot */
    size_t cap;         /* power of two */
    size_t count;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

idset *idset_new(void)
{
    idset *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->cap = 64;
    s->slots = calloc(s->cap, sizeof *s->slots);
    if (s->slots == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void idset_free(idset *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    free(s);
}

/* Index of the slot holding id, or of the empty slot where it belongs. */
static size_t find_slot(char *const *slots, size_t cap, const char *id)
{
    size_t i = (size_t)fnv1a(id) & (cap - 1);
    while (slots[i] != NULL && strcmp(slots[i], id) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

static int grow(idset *s)
{
    if (s->cap > SIZE_MAX / 2 / sizeof *s->slots)
        return -1;
    size_t ncap = s->cap * 2;
    char **ns = calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        if (s->slots[i] != NULL)
            ns[find_slot(ns, ncap, s->slots[i])] = s->slots[i];
    }
    free(s->slots);
    s->slots = ns;
    s->cap = ncap;
    return 0;
}

int idset_add(idset *s, const char *id)
{
    size_t i = find_slot(s->slots, s->cap, id);
    if (s->slots[i] != NULL)
        return 0;
    if ((s->count + 1) * 4 > s->cap * 3) {     /* keep load <= 3/4 */
        if (grow(s) != 0)
            return -1;
        i = find_slot(s->slots, s->cap, id);
    }
    char *copy = strdup(id);
    if (copy == NULL)
        return -1;
    s->slots[i] = copy;
    s->count++;
    return 1;
}

int idset_has(const idset *s, const char *id)
{
    return s->slots[find_slot(s->slots, s->cap, id)] != NULL;
}

size_t idset_count(const idset *s)
{
    return s->count;
}
