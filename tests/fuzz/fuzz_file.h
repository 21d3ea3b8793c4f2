/* fuzz_file.h — the one helper the fuzz targets share: the fuzzer's bytes as a file.
 *
 * The parsers under test read paths (they mmap, gunzip or hand the path to a library), so
 * each input is written to one private temporary file per process, rewritten every run, and
 * removed at exit. Not here: any parsing (each fuzz_*.c calls the project's own reader).
 */
#ifndef BMC_FUZZ_FILE_H
#define BMC_FUZZ_FILE_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_path_[4096];

static inline void fuzz_remove_file_(void) {
    if (fuzz_path_[0]) unlink(fuzz_path_);
}

/* The path (ending in `suffix`, e.g. ".nii"; the readers pick formats by name) of a file that
 * now holds exactly data[0..size). Aborts when the temporary folder is unusable (a harness
 * problem, not a finding in the parser). */
static inline const char *fuzz_write_file(const uint8_t *data, size_t size, const char *suffix) {
    if (!fuzz_path_[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(fuzz_path_, sizeof fuzz_path_, "%s/bmc-fuzz-%ld%s", dir && *dir ? dir : "/tmp",
                 (long)getpid(), suffix);
        atexit(fuzz_remove_file_);
    }
    FILE *f = fopen(fuzz_path_, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
        perror(fuzz_path_);
        abort();
    }
    return fuzz_path_;
}

/* data as a NUL-terminated heap string (free() it). */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}
#endif
