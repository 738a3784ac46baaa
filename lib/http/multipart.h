/* multipart.h -- multipart/form-data bodies (RFC 7578 over the RFC 2046 framing).
 *
 * The whole body is parsed in memory and nothing is copied: each part's data points into
 * the caller's body. Only names, filenames and content types are decoded into storage the
 * form owns (one allocation for all of them).
 *
 * Framing is strict: a delimiter is CRLF "--" boundary followed by optional transport
 * padding (SP/HTAB) and CRLF, or by "--" for the close delimiter; the first delimiter may
 * start the body. Part header lines must end in CRLF. The preamble, the epilogue and a
 * missing CRLF after the close delimiter are tolerated. A "--boundary" in the data that is
 * not followed by padding+CRLF or "--" is data, not a delimiter. */
#ifndef AIOPS_MULTIPART_H
#define AIOPS_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define MULTIPART_MAX_PARTS 64
#define MULTIPART_MAX_HEADER_BYTES 8192 /* per part, up to and including the blank line */
#define MULTIPART_MAX_NAME 1024         /* bytes of a decoded name or filename */
#define MULTIPART_MAX_BOUNDARY 70       /* RFC 2046 */

struct multipart_part {
    const char *name;         /* decoded field name, NUL-terminated UTF-8 (may be "") */
    const char *filename;     /* decoded filename (filename*=, else filename=), or NULL.
                                 Untrusted: may contain '/', '\\' or "..". */
    const char *content_type; /* the part's Content-Type value, trimmed, or NULL */
    const uint8_t *data;      /* into the body passed to multipart_parse */
    size_t len;               /* bytes of data */
    size_t offset;            /* offset of data within the body */
};

/* A parsed form. name/filename/content_type strings live in `strings`, owned by the form
 * and released by multipart_form_free(); data pointers borrow the caller's body, which must
 * outlive the form. A zeroed struct is an empty form. */
struct multipart_form {
    size_t nparts;
    struct multipart_part parts[MULTIPART_MAX_PARTS];
    char *strings;
};

/* Parses body (len bytes) announced by the Content-Type header value content_type.
 * Returns 0 with *out filled; AIOPS_EPARSE for malformed input, AIOPS_ETOOBIG for a limit,
 * AIOPS_ENOMEM. On failure *out is an empty form (nothing to free) and err (may be NULL)
 * says what and where:
 *   err->code     static: "bad_content_type", "missing_boundary", "bad_boundary",
 *                 "no_parts", "unterminated_part", "bad_part_header",
 *                 "missing_content_disposition", "bad_content_disposition" (AIOPS_EPARSE);
 *                 "header_too_large", "name_too_long", "too_many_parts" (AIOPS_ETOOBIG)
 *   err->message  names the problem
 *   err->offset   byte offset of the problem in the body (for "bad_content_type",
 *                 "missing_boundary" and "bad_boundary": in the content_type value)
 * The caller frees a successful form with multipart_form_free(). */
int multipart_parse(const char *content_type, const void *body, size_t len,
                    struct multipart_form *out, struct aiops_error *err);

/* The first part whose name equals name, or NULL. Borrowed from form. */
const struct multipart_part *multipart_find(const struct multipart_form *form, const char *name);

/* Releases the decoded strings and empties the form. Safe on an empty or freed form. */
void multipart_form_free(struct multipart_form *form);

#endif
