/* libFuzzer target for lib/http/multipart.c. The input's first line (up to LF) is the
 * Content-Type value; when it does not start with "multipart" a fixed boundary is used and
 * the whole input is the body. Checks that every part lies inside the body, in order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/encode.h"
#include "core/err.h"
#include "http/multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char ct[256] = "multipart/form-data; boundary=B";
    const uint8_t *body = data;
    size_t len = size;
    const uint8_t *lf = memchr(data, '\n', size < 255 ? size : 255);
    if (lf != NULL && size >= 9 && memcmp(data, "multipart", 9) == 0) {
        size_t n = (size_t)(lf - data);
        memcpy(ct, data, n);
        ct[n] = '\0';
        body = lf + 1;
        len = size - n - 1;
    }
    /* a private copy, so that ASan sees any read past the body */
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, body, len);

    struct multipart_form f;
    struct aiops_error e;
    int rv = multipart_parse(ct, copy, len, &f, &e);
    if (rv == 0) {
        size_t prev_end = 0;
        if (f.nparts == 0 || f.nparts > MULTIPART_MAX_PARTS)
            abort();
        for (size_t i = 0; i < f.nparts; i++) {
            const struct multipart_part *p = &f.parts[i];
            if (p->data != copy + p->offset || p->offset < prev_end || p->offset > len ||
                p->len > len - p->offset)
                abort();
            prev_end = p->offset + p->len;
            if (p->name == NULL || strlen(p->name) > MULTIPART_MAX_NAME ||
                !utf8_valid(p->name, strlen(p->name), NULL))
                abort();
            if (p->filename != NULL && (strlen(p->filename) > MULTIPART_MAX_NAME ||
                                        !utf8_valid(p->filename, strlen(p->filename), NULL)))
                abort();
            if (multipart_find(&f, p->name) == NULL)
                abort();
        }
        multipart_form_free(&f);
    } else {
        if ((rv != AIOPS_EPARSE && rv != AIOPS_ETOOBIG && rv != AIOPS_ENOMEM) ||
            (rv != AIOPS_ENOMEM && e.code == NULL) || f.nparts != 0 || f.strings != NULL)
            abort();
        if (rv != AIOPS_ENOMEM &&
            (e.offset < 0 || (size_t)e.offset > (len > strlen(ct) ? len : strlen(ct))))
            abort();
    }
    free(copy);
    return 0;
}
