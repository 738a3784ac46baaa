/* monitor_svc.h -- svc-monitor: drift of every served model against the reference it was
 * trained with (drift.c), over the window svc-train feeds into Redis (svc-train/window.c). */
#ifndef AIOPS_MONITOR_SVC_H
#define AIOPS_MONITOR_SVC_H

#include "rpc/svc.h"

/* drift.c */
int drift_start(struct svc *s);
void drift_stop(struct svc *s);
void handle_models_drift(struct svc_call *c);
void handle_drift_status(struct svc_call *c);
void handle_drift_summary(struct svc_call *c);
void handle_drift_reset(struct svc_call *c);

#endif
