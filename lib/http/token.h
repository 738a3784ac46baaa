/* token.h -- HTTP token characters (RFC 9110 section 5.6.2), for header names and methods. */
#ifndef AIOPS_HTTP_TOKEN_H
#define AIOPS_HTTP_TOKEN_H

#include <string.h>

/* 1 for a character of an HTTP token (tchar). */
static inline int http_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c > 0 && c < 0x80 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

#endif
