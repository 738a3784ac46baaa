/* ingest_svc.h -- svc-ingest's handlers (one file per concern: upload.c, datasets.c). */
#ifndef AIOPS_INGEST_SVC_H
#define AIOPS_INGEST_SVC_H

#include "rpc/svc.h"

svc_handler_fn handle_upload, handle_datasets_list, handle_datasets_get, handle_datasets_preview,
    handle_datasets_profile, handle_datasets_delete;

#endif
