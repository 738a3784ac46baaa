/* array.h -- the element count of a fixed-size array. */
#ifndef AIOPS_ARRAY_H
#define AIOPS_ARRAY_H

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
