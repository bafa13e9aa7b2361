/* utf8.h: UTF-8 validation.  Pure C, reentrant, any thread. */
#ifndef PS_UTF8_H
#define PS_UTF8_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns 1 when s[0..len) is valid UTF-8 without NUL bytes, else 0. */
int ps_utf8_valid(const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
