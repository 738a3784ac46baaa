/* svc-explain: its routes are declared in lib/rpc/routes.c; until their issue lands they answer
 * 501 "not_implemented" through the service runtime (lib/rpc/svc.h), and "health" works. */
#include "rpc/svc.h"

int main(int argc, char **argv)
{
    static const struct svc_def def = {.id = SVC_EXPLAIN};
    return svc_main(&def, argc, argv);
}
