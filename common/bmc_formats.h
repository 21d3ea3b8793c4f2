/* bmc_formats.h — the one table of brainmclip's file formats: the name each output carries in
 * its root attribute `format`, its current `format_version`, and a line on what it holds.
 * Writers stamp these and readers check them (bmc_h5_create_as / bmc_h5_open_as), so bumping
 * a version is one edit here, and every reader refuses a file newer than it knows.
 * Not here: the datasets of each format (docs/FORMATS.md), the HDF5 I/O (bmc_h5io.h).
 */
#ifndef BMC_FORMATS_H
#define BMC_FORMATS_H

typedef enum {
    BMC_FMT_STIMULI,     /* bmc-synth stimuli                                  */
    BMC_FMT_GROUNDTRUTH, /* bmc-synth brain (for tests)                        */
    BMC_FMT_CLIP,        /* bmc-extract-clip                                   */
    BMC_FMT_FMRI,        /* bmc-extract-fmri                                   */
    BMC_FMT_MODEL,       /* bmc-train                                          */
    BMC_FMT_EVAL,        /* bmc-evaluate: scores (HDF5 and the JSON summary)   */
    BMC_FMT_PREDICTIONS, /* bmc-evaluate: predicted features                   */
    BMC_FMT_COUNT
} bmc_format_id;

typedef struct bmc_format {
    const char *name; /* root attribute `format`, e.g. "bmc.clip"               */
    int version;      /* root attribute `format_version` written; the newest read */
    const char *what; /* one line: what the file holds, and who writes it        */
} bmc_format;

/* The table, indexed by bmc_format_id (common/bmc_formats.c). */
extern const bmc_format bmc_formats[BMC_FMT_COUNT];

#endif
