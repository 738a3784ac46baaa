/* svc-ingest: CSV upload, validation, storage, listing, preview and profiling of datasets. */
#include "ingest_svc.h"

static const struct svc_handler handlers[] = {
    {"upload", handle_upload},
    {"datasets.list", handle_datasets_list},
    {"datasets.get", handle_datasets_get},
    {"datasets.preview", handle_datasets_preview},
    {"datasets.profile", handle_datasets_profile},
    {"datasets.delete", handle_datasets_delete},
    {"datasets.descriptions", handle_datasets_descriptions},
    {"datasets.descriptions_put", handle_datasets_descriptions_put},
    {"data.upload", handle_data_upload},
    {"data.batch_upload", handle_data_batch_upload},
    {"data.get", handle_data_get},
    {"data.delete", handle_data_delete},
};

SVC_MAIN(SVC_INGEST, handlers)
