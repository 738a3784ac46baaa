/* ingest_svc.h -- svc-ingest's handlers (one file per concern: upload.c, datasets.c). */
#ifndef AIOPS_INGEST_SVC_H
#define AIOPS_INGEST_SVC_H

#include "rpc/svc.h"

void handle_upload(struct svc_call *c);
void handle_datasets_list(struct svc_call *c);
void handle_datasets_get(struct svc_call *c);
void handle_datasets_preview(struct svc_call *c);
void handle_datasets_profile(struct svc_call *c);
void handle_datasets_delete(struct svc_call *c);

#endif
