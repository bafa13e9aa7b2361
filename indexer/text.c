/* text.c: binary detection and NUL repair (text.h).  UTF-8 checks and
 * repair are lib/wire/utf8.c's. */
#include "text.h"

#include <string.h>

#include "utf8.h"

int text_looks_binary(const char *buf, size_t len)
{
    /* The first 8 KiB, not counting a sequence cut by the window as
     * invalid. */
    size_t head = ps_utf8_cut(buf, len, 8192);
    if (len == 0)
        return 0;
    if (memchr(buf, '\0', len < 8192 ? len : 8192) != NULL)
        return 1;
    size_t bad = ps_utf8_invalid_bytes(buf, head);
    return bad * 10 >= head * 3 && bad > 0;
}

size_t text_replace_nul(char *buf, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\0') {
            buf[i] = ' ';
            n++;
        }
    }
    return n;
}

char *text_utf8_repair(const char *buf, size_t len, size_t *nbad)
{
    return ps_utf8_repair(buf, len, 0, NULL, nbad);
}
