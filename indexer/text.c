/* text.c: binary detection (text.h).  UTF-8 checks are lib/wire/utf8.c's;
 * the repair of NUL bytes and invalid UTF-8 is ps_doc_text_repair(). */
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
