/* svc-train: its routes are declared in lib/routes.c; until their issue lands they answer
 * 501 "not_implemented" through the service runtime (lib/svc.h), and "health" works. */
#include "svc.h"

int main(int argc, char **argv)
{
    static const struct svc_def def = {.id = SVC_TRAIN};
    return svc_main(&def, argc, argv);
}
