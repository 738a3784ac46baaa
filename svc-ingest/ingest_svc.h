/* ingest_svc.h -- svc-ingest's handlers (one file per concern: upload.c, datasets.c,
 * descriptions.c, sessions.c). */
#ifndef AIOPS_INGEST_SVC_H
#define AIOPS_INGEST_SVC_H

#include "rpc/svc.h"

svc_handler_fn handle_upload, handle_datasets_list, handle_datasets_get, handle_datasets_preview,
    handle_datasets_profile, handle_datasets_delete, handle_datasets_descriptions,
    handle_datasets_descriptions_put;
/* sessions.c: counseling sessions (issue 10) */
svc_handler_fn handle_data_upload, handle_data_batch_upload, handle_data_get, handle_data_delete;

/* upload.c: 1 when a body of Content-Type ct (NULL or "": none) is taken as CSV text. */
int ingest_csv_content_type(const char *ct);
/* upload.c: answers an upload whose body (the form or the CSV) is len bytes at body. */
void upload_serve(struct svc_call *c, const char *body, size_t len);
/* upload.c: checks what can be known of an upload before its body (query, content type): 0,
 * or an error after replying. */
int upload_check(struct svc_call *c);
/* upload_session.c: one part of a streamed upload (proto/aiops.proto UploadPart). */
void upload_part(struct svc_call *c);
/* datasets.c: answers a failed dataset operation: 404 dataset_not_found naming id when rv
 * is AIOPS_ENOTFOUND, else what svc_reply_failure() makes of rv ("WHAT: ..."). */
void reply_dataset_failure(struct svc_call *c, int rv, const char *id, const char *what);

#endif
