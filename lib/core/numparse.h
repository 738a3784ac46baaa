/* numparse.h -- recognising and parsing the values of CSV fields: numbers (correctly
 * rounded), booleans, ISO-8601 datetimes and pandas' missing-value words; and the reverse,
 * a double in its shortest exact text.
 *
 * Every function takes a pointer and a length (fields are not NUL-terminated), reads only
 * those bytes, allocates nothing and is safe to call from any thread. */
#ifndef AIOPS_NUMPARSE_H
#define AIOPS_NUMPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Flags reported by numparse_f64(). */
#define NUMPARSE_INTEGER 1u /* integer syntax: optional sign and digits, no '.', no exponent */
#define NUMPARSE_INF 2u     /* an infinity word ("inf", "-Infinity", ...) */

/* Parses s[0..len) as a number the way pandas.read_csv does: optional surrounding spaces or
 * tabs, optional sign, digits with an optional '.' (at least one digit on either side), an
 * optional exponent ('e' or 'E', optional sign, at least one digit); also "inf" and
 * "infinity" in any case with an optional sign. Thousands separators, hex, "nan" and
 * anything else are not numbers. Returns 1 with the correctly rounded double in *out (an
 * out-of-range exponent gives +-inf or +-0, as strtod) and flags in *flags (may be NULL),
 * or 0 when s is not a number (*out is then untouched). */
int numparse_f64(const char *s, size_t len, double *out, unsigned *flags);

/* numparse_f64() for a field followed by at least 8 readable bytes (any content): reads
 * digits 8 at a time. */
int numparse_f64_pad8(const char *s, size_t len, double *out, unsigned *flags);

/* numparse_f64() for a field followed by at least 16 readable bytes (any content): the
 * usual CSV forms ("-0.00110855", "42": an optional '-', up to 8 digits or 1-7 digits, '.'
 * and digits, 16 bytes at most after the sign) are read without a loop, anything else as
 * numparse_f64_pad8(). The same results as numparse_f64(), bit for bit. */
int numparse_f64_pad16(const char *s, size_t len, double *out, unsigned *flags);

/* 1 when s[0..len) is empty or one of pandas' default missing-value words ("#N/A",
 * "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
 * "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"; case-sensitive, no trimming). */
int numparse_is_na(const char *s, size_t len);

/* Boolean words in any case: true/false, yes/no, t/f, y/n. Returns 1 for a true word,
 * 0 for a false word, -1 for anything else. */
int numparse_bool(const char *s, size_t len);

/* Parses an ISO-8601 date or timestamp: YYYY-MM-DD or YYYY/MM/DD (month and day may have
 * one digit), optionally followed by 'T' or one space and HH:MM[:SS[.fraction]], then
 * optionally 'Z' or an offset +hh:mm / -hh:mm / +hhmm / +hh. Fields are range-checked
 * (real calendar days, hour < 24, minute < 60, second <= 60, offset < 24h). Returns 1 with
 * Unix seconds UTC in *out (fractions kept to double precision), 0 when s is not one. */
int numparse_datetime(const char *s, size_t len, double *out);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31). */
int64_t numparse_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Writes t (Unix seconds UTC) as "YYYY-MM-DDTHH:MM:SSZ", with ".mmm" before the Z when t
 * has a fractional millisecond part, into out (at least 32 bytes). Years outside
 * 0000..9999 and non-finite t give "" . */
void numparse_format_datetime(char *out, size_t outsz, double t);

/* The shortest of v's %.15g, %.16g and %.17g forms that reads back as exactly v (finite v;
 * "nan"/"inf" otherwise, as printf writes them). out needs 32 bytes. */
void fmt_double_shortest(char *out, size_t cap, double v);

#endif
