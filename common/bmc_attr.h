/* bmc_attr.h — the compiler attributes brainmclip uses, spelled once: BMC_PRINTF(fmt, args)
 * on every printf-like function (so -Wformat checks its callers) and BMC_NORETURN.
 * Empty on compilers without GNU attributes.
 * Not here: anything else (no includes, no code).
 */
#ifndef BMC_ATTR_H
#define BMC_ATTR_H

#if defined(__GNUC__)
#define BMC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define BMC_NORETURN __attribute__((noreturn))
#else
#define BMC_PRINTF(a, b)
#define BMC_NORETURN
#endif

#endif
