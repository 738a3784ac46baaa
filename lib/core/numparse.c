#include "core/numparse.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exactly representable powers of ten: the operands of Clinger's fast path. */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* The slow path: strtod in the C locale (the decimal point must be '.' whatever the
 * process locale). The syntax was validated before, so strtod consumes all of it. */
static double slow_strtod(const char *s, size_t len)
{
    char stackbuf[256];
    char *tmp = stackbuf;
    if (len >= sizeof stackbuf) {
        tmp = malloc(len + 1);
        if (tmp == NULL)
            return NAN; /* out of memory for a number this long: read as missing */
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    pthread_once(&c_locale_once, c_locale_init);
    double v = c_locale != (locale_t)0 ? strtod_l(tmp, NULL, c_locale) : strtod(tmp, NULL);
    if (tmp != stackbuf)
        free(tmp);
    return v;
}

static int lower_eq(const char *s, size_t len, const char *word)
{
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (word[i] == '\0' || c != word[i])
            return 0;
    }
    return word[len] == '\0';
}

/* 1 when the 8 bytes in v (little-endian) are all ASCII digits. */
static inline int all_digits8(uint64_t v)
{
    return ((v & 0xf0f0f0f0f0f0f0f0ull) |
            (((v + 0x0606060606060606ull) & 0xf0f0f0f0f0f0f0f0ull) >> 4)) == 0x3333333333333333ull;
}

/* The value of 8 ASCII digits (first digit in the lowest byte). */
static inline uint64_t digits8(uint64_t v)
{
    v -= 0x3030303030303030ull;
    v = (v * 10) + (v >> 8);
    v = (((v & 0x000000ff000000ffull) * (100 + (1000000ull << 32))) +
         (((v >> 16) & 0x000000ff000000ffull) * (1 + (10000ull << 32)))) >>
        32;
    return v;
}

/* Reads the run of digits at p into *m (m = m * 10^k + run; wraps when the run is long,
 * which the caller detects by counting digits). Returns the end of the run. */
static inline const char *digit_run(const char *p, const char *end, uint64_t *m)
{
    uint64_t x = *m;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        if (!all_digits8(v))
            break;
        x = x * 100000000ull + digits8(v);
        p += 8;
    }
    while (p < end && (unsigned)(*p - '0') < 10) {
        x = x * 10 + (uint64_t)(*p - '0');
        p++;
    }
    *m = x;
    return p;
}

static const uint64_t pow10_u64[9] = {1,      10,      100,      1000,     10000,
                                      100000, 1000000, 10000000, 100000000};

/* The value of 8 digit values 0-9 (first digit in the lowest byte). */
static inline uint64_t digits8_values(uint64_t v)
{
    v = (v * 10) + (v >> 8);
    return (((v & 0x000000ff000000ffull) * (100 + (1000000ull << 32))) +
            (((v >> 16) & 0x000000ff000000ffull) * (1 + (10000ull << 32)))) >>
           32;
}

/* digit_run() for input followed by at least 8 readable bytes: a run is read 8 bytes at a
 * time, its end found from a mask of the non-digit bytes; bytes at or past `end` count as
 * non-digits whatever they hold. */
static inline const char *digit_run_pad8(const char *p, const char *end, uint64_t *m)
{
    uint64_t x = *m;
    for (;;) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t t = v ^ 0x3030303030303030ull; /* digits become 0..9 */
        /* high bit of each byte that is not a digit; carries only run upward from such
         * bytes, so the lowest flagged byte is exact */
        uint64_t nd = ((t + 0x7676767676767676ull) | t) & 0x8080808080808080ull;
        size_t avail = (size_t)(end - p);
        if (avail < 8)
            nd |= ~(uint64_t)0 << (avail * 8) & 0x8080808080808080ull;
        if (nd == 0) {
            x = x * 100000000ull + digits8_values(t);
            p += 8;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctzll(nd) >> 3;
        if (k > 0) {
            x = x * pow10_u64[k] + digits8_values(t << (64 - 8 * k));
            p += k;
        }
        *m = x;
        return p;
    }
}

static inline __attribute__((always_inline)) int parse_f64(const char *s, size_t len, double *out,
                                                           unsigned *flags, int pad8)
{
    const char *p = s, *end = s + len;
    if (len == 0)
        return 0;
    if (*p == ' ' || *p == '\t' || end[-1] == ' ' || end[-1] == '\t') {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (p == end)
            return 0;
    }
    const char *start = p;
    int neg = 0;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    uint64_t m = 0;
    const char *i0 = p;
    p = pad8 ? digit_run_pad8(p, end, &m) : digit_run(p, end, &m);
    const char *i1 = p, *f0 = p, *f1 = p;
    int integer = 1;
    if (p < end && *p == '.') {
        integer = 0;
        f0 = ++p;
        p = f1 = pad8 ? digit_run_pad8(p, end, &m) : digit_run(p, end, &m);
    }
    size_t ndigits = (size_t)(i1 - i0) + (size_t)(f1 - f0);
    if (ndigits == 0) {
        /* no digits: only the infinity words remain */
        size_t n = (size_t)(end - p);
        if (p == i0 && (lower_eq(p, n, "inf") || lower_eq(p, n, "infinity"))) {
            *out = neg ? -INFINITY : INFINITY;
            if (flags)
                *flags = NUMPARSE_INF;
            return 1;
        }
        return 0;
    }
    int64_t e = -(int64_t)(f1 - f0);
    if (p < end) {
        if (*p != 'e' && *p != 'E')
            return 0;
        integer = 0;
        p++;
        int eneg = 0;
        if (p < end && (*p == '-' || *p == '+')) {
            eneg = *p == '-';
            p++;
        }
        if (p == end)
            return 0;
        int64_t x = 0;
        while (p < end && (unsigned)(*p - '0') < 10) {
            if (x < 1000000)
                x = x * 10 + (*p - '0');
            p++;
        }
        if (p != end || p[-1] == '+' || p[-1] == '-')
            return 0;
        e += eneg ? -x : x;
    }
    if (flags)
        *flags = integer ? NUMPARSE_INTEGER : 0;
    if (ndigits > 19) {
        /* m may have wrapped: count the significant digits (leading zeros are not) */
        size_t lead = 0;
        const char *q = i0;
        while (q < i1 && *q == '0')
            q++, lead++;
        if (q == i1)
            for (q = f0; q < f1 && *q == '0'; q++)
                lead++;
        if (ndigits - lead > 19)
            goto slow;
    }
    /* Clinger's fast path: m and 10^|e| are exact doubles, so one IEEE multiplication or
     * division rounds correctly. */
    if (m <= (1ull << 53)) {
        double v;
        if (m == 0) {
            v = 0.0;
        } else if (e >= 0 && e <= 22) {
            v = (double)m * pow10_exact[e];
        } else if (e < 0 && e >= -22) {
            v = (double)m / pow10_exact[-e];
        } else if (e > 22 && e <= 22 + 16) {
            /* move part of the exponent into the mantissa while it stays exact */
            uint64_t mm = m;
            int64_t k = e - 22;
            while (k > 0 && mm <= (1ull << 53) / 10) {
                mm *= 10;
                k--;
            }
            if (k != 0)
                goto slow;
            v = (double)mm * 1e22;
        } else {
            goto slow;
        }
        *out = neg ? -v : v;
        return 1;
    }
slow:
    *out = slow_strtod(start, (size_t)(end - start));
    return 1;
}

/* The lowest k bytes of a word, k = 0..8. */
static const uint64_t low_bytes[9] = {0,
                                      0xffull,
                                      0xffffull,
                                      0xffffffull,
                                      0xffffffffull,
                                      0xffffffffffull,
                                      0xffffffffffffull,
                                      0xffffffffffffffull,
                                      ~0ull};

static const uint64_t pow10_u64_15[15] = {
    1ull,         10ull,         100ull,         1000ull,         10000ull,
    100000ull,    1000000ull,    10000000ull,    100000000ull,    1000000000ull,
    10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull, 100000000000000ull};

/* The high bit of each byte of t (digits already xor '0') that is not a digit; 7-bit sums,
 * so no carry crosses a byte and every byte is flagged exactly. */
static inline uint64_t nondigit_bytes(uint64_t t)
{
    return (((t & 0x7f7f7f7f7f7f7f7full) + 0x7676767676767676ull) | t) & 0x8080808080808080ull;
}

/* A CSV number's usual form, read with no loop: an optional '-', then either up to 8 digits,
 * or 1-7 digits, '.', and digits, 16 bytes at most after the sign (so at most 15 digits:
 * Clinger's exact case, computed as parse_f64 computes it). Returns 0 for anything else,
 * which the general parser then reads. The 16 bytes after the sign are read. */
static inline int short_decimal(const char *s, size_t len, double *out, unsigned *flags)
{
    size_t neg = s[0] == '-'; /* len >= 1 */
    const char *p = s + neg;
    size_t n = len - neg;
    if (n - 1 >= 16)
        return 0;
    uint64_t lo, hi;
    memcpy(&lo, p, 8);
    memcpy(&hi, p + 8, 8);
    lo ^= 0x3030303030303030ull; /* digits become 0..9 */
    hi ^= 0x3030303030303030ull;
    uint64_t ndlo = nondigit_bytes(lo) & low_bytes[n < 8 ? n : 8];
    uint64_t ndhi = nondigit_bytes(hi) & low_bytes[n > 8 ? n - 8 : 0];
    double v;
    if ((ndlo | ndhi) == 0) {
        if (n > 8)
            return 0;
        /* the digits to the top bytes: zero digits before them */
        v = (double)digits8_values(lo << (64 - 8 * n));
        if (flags)
            *flags = NUMPARSE_INTEGER;
    } else {
        if (ndhi != 0 || (ndlo & (ndlo - 1)) != 0)
            return 0;
        unsigned dot = (unsigned)__builtin_ctzll(ndlo) >> 3;
        if (((lo >> (8 * dot)) & 0xff) != ('.' ^ '0') || dot == 0 || dot == n - 1)
            return 0;
        size_t frac = n - 1 - dot; /* 1..14 */
        uint64_t ip = digits8_values(lo << (64 - 8 * dot));
        /* the fraction's first 8 bytes, then the rest (shifts split: never by 64) */
        uint64_t f0 = (lo >> 8 >> (8 * dot)) | (hi << (56 - 8 * dot));
        uint64_t fv;
        if (frac <= 8) {
            fv = digits8_values(f0 << (64 - 8 * frac));
        } else {
            uint64_t f1 = hi >> 8 >> (8 * dot);
            fv = digits8_values(f0) * pow10_u64_15[frac - 8] +
                 digits8_values(f1 << (64 - 8 * (frac - 8)));
        }
        v = (double)(ip * pow10_u64_15[frac] + fv) / pow10_exact[frac];
        if (flags)
            *flags = 0;
    }
    *out = neg ? -v : v;
    return 1;
}

int numparse_f64_pad16(const char *s, size_t len, double *out, unsigned *flags)
{
    /* the general parser out of line: this function stays a leaf with no registers to save */
    if (len > 0 && short_decimal(s, len, out, flags))
        return 1;
    return numparse_f64_pad8(s, len, out, flags);
}

int numparse_f64(const char *s, size_t len, double *out, unsigned *flags)
{
    return parse_f64(s, len, out, flags, 0);
}

int numparse_f64_pad8(const char *s, size_t len, double *out, unsigned *flags)
{
    return parse_f64(s, len, out, flags, 1);
}

int numparse_is_na(const char *s, size_t len)
{
    switch (len) {
    case 0:
        return 1;
    case 2:
        return memcmp(s, "NA", 2) == 0;
    case 3:
        return memcmp(s, "#NA", 3) == 0 || memcmp(s, "N/A", 3) == 0 || memcmp(s, "NaN", 3) == 0 ||
               memcmp(s, "n/a", 3) == 0 || memcmp(s, "nan", 3) == 0;
    case 4:
        return memcmp(s, "#N/A", 4) == 0 || memcmp(s, "-NaN", 4) == 0 ||
               memcmp(s, "-nan", 4) == 0 || memcmp(s, "<NA>", 4) == 0 ||
               memcmp(s, "NULL", 4) == 0 || memcmp(s, "None", 4) == 0 || memcmp(s, "null", 4) == 0;
    case 6:
        return memcmp(s, "1.#IND", 6) == 0;
    case 7:
        return memcmp(s, "-1.#IND", 7) == 0 || memcmp(s, "1.#QNAN", 7) == 0;
    case 8:
        return memcmp(s, "#N/A N/A", 8) == 0 || memcmp(s, "-1.#QNAN", 8) == 0;
    default:
        return 0;
    }
}

int numparse_bool(const char *s, size_t len)
{
    switch (len) {
    case 1:
        switch (s[0]) {
        case 't':
        case 'T':
        case 'y':
        case 'Y':
            return 1;
        case 'f':
        case 'F':
        case 'n':
        case 'N':
            return 0;
        default:
            return -1;
        }
    case 2:
        return lower_eq(s, 2, "no") ? 0 : -1;
    case 3:
        return lower_eq(s, 3, "yes") ? 1 : -1;
    case 4:
        return lower_eq(s, 4, "true") ? 1 : -1;
    case 5:
        return lower_eq(s, 5, "false") ? 0 : -1;
    default:
        return -1;
    }
}

int64_t numparse_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* H. Hinnant's days_from_civil: eras of 400 years, March-based years */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Reads between min and max digits at *p (bounded by end) into *v. */
static int read_digits(const char **p, const char *end, int min, int max, unsigned *v)
{
    const char *q = *p;
    unsigned x = 0;
    int n = 0;
    while (q < end && n < max && (unsigned)(*q - '0') < 10) {
        x = x * 10 + (unsigned)(*q - '0');
        q++;
        n++;
    }
    if (n < min)
        return 0;
    *p = q;
    *v = x;
    return 1;
}

static int days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

int numparse_datetime(const char *s, size_t len, double *out)
{
    const char *p = s, *end = s + len;
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    double frac = 0;
    if (len < 8 || !read_digits(&p, end, 4, 4, &y))
        return 0;
    if (p == end || (*p != '-' && *p != '/'))
        return 0;
    char sep = *p++;
    if (!read_digits(&p, end, 1, 2, &mo) || p == end || *p++ != sep ||
        !read_digits(&p, end, 1, 2, &d))
        return 0;
    if (mo < 1 || mo > 12 || d < 1 || (int)d > days_in_month(y, mo))
        return 0;
    int64_t offset = 0;
    if (p < end) {
        if (*p != 'T' && *p != ' ')
            return 0;
        p++;
        if (!read_digits(&p, end, 2, 2, &h) || p == end || *p++ != ':' ||
            !read_digits(&p, end, 2, 2, &mi))
            return 0;
        if (p < end && *p == ':') {
            p++;
            if (!read_digits(&p, end, 2, 2, &sec))
                return 0;
            if (p < end && (*p == '.' || *p == ',')) {
                p++;
                const char *f0 = p;
                uint64_t fm = 0;
                int fd = 0;
                while (p < end && (unsigned)(*p - '0') < 10) {
                    if (fd < 18) {
                        fm = fm * 10 + (uint64_t)(*p - '0');
                        fd++;
                    }
                    p++;
                }
                if (p == f0)
                    return 0;
                frac = fd <= 22 ? (double)fm / pow10_exact[fd] : 0;
            }
        }
        if (h > 23 || mi > 59 || sec > 60)
            return 0;
        if (p < end) {
            if (*p == 'Z') {
                p++;
            } else if (*p == '+' || *p == '-') {
                int neg = *p++ == '-';
                unsigned oh, om = 0;
                if (!read_digits(&p, end, 2, 2, &oh))
                    return 0;
                if (p < end && *p == ':') {
                    p++;
                    if (!read_digits(&p, end, 2, 2, &om))
                        return 0;
                } else if (p < end) {
                    if (!read_digits(&p, end, 2, 2, &om))
                        return 0;
                }
                if (oh > 23 || om > 59)
                    return 0;
                offset = (int64_t)(oh * 3600 + om * 60);
                if (neg)
                    offset = -offset;
            }
        }
        if (p != end)
            return 0;
    }
    int64_t days = numparse_days_from_civil((int64_t)y, mo, d);
    int64_t secs = days * 86400 + (int64_t)(h * 3600 + mi * 60 + sec) - offset;
    *out = (double)secs + frac;
    return 1;
}

void numparse_format_datetime(char *out, size_t outsz, double t)
{
    if (outsz == 0)
        return;
    out[0] = '\0';
    if (!isfinite(t) || t < -62167219200.0 || t >= 253402300800.0)
        return;
    double fl = floor(t);
    int64_t secs = (int64_t)fl;
    long ms = lround((t - fl) * 1000.0);
    if (ms >= 1000) {
        secs++;
        ms = 0;
    }
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y > 9999) {
        return;
    }
    unsigned hh = (unsigned)(rem / 3600), mm = (unsigned)(rem % 3600 / 60),
             ss = (unsigned)(rem % 60);
    if (ms != 0)
        snprintf(out, outsz, "%04d-%02u-%02uT%02u:%02u:%02u.%03ldZ", (int)y, m, d, hh, mm, ss, ms);
    else
        snprintf(out, outsz, "%04d-%02u-%02uT%02u:%02u:%02uZ", (int)y, m, d, hh, mm, ss);
}

void fmt_double_shortest(char *out, size_t cap, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (prec == 17 || !isfinite(v) || strtod(out, NULL) == v)
            return;
    }
}
