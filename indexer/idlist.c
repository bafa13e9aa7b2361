/* idlist.c: growable list of id copies (idlist.h). */
#include "idlist.h"

#include <stdlib.h>
#include <string.h>

int idlist_push(idlist *l, const char *id)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 64;
        char **ni = realloc(l->ids, ncap * sizeof *ni);
        if (ni == NULL) {
            l->nomem = 1;
            return -1;
        }
        l->ids = ni;
        l->cap = ncap;
    }
    if ((l->ids[l->n] = strdup(id)) == NULL) {
        l->nomem = 1;
        return -1;
    }
    l->n++;
    return 0;
}

void idlist_clear(idlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->ids[i]);
    free(l->ids);
    memset(l, 0, sizeof *l);
}
