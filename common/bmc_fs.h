/* bmc_fs.h — small file-system helpers shared by the stages and the workflow engine.
 *
 * Creating folders (mkdir -p), writing small text files atomically (temp file, fsync,
 * rename), removing trees, and path joins. Local (no MPI).
 * Not here: HDF5 outputs (bmc_h5io.h commits those atomically itself).
 */
#ifndef BMC_FS_H
#define BMC_FS_H

#include <stddef.h>
#include "bmc_error.h"

/* mkdir -p. Returns 0 or -1 with an error naming the folder. */
int bmc_mkdir_p(const char *path, bmc_err *err);
/* 1 if path exists (any type), 0 if not. */
int bmc_path_exists(const char *path);
/* 1 if path is a directory. */
int bmc_is_dir(const char *path);
/* Write `len` bytes to path atomically: path.partial, fsync, rename, fsync the folder. */
int bmc_write_file_atomic(const char *path, const void *data, size_t len, bmc_err *err);
/* fsync a file by name (0 or -1). */
int bmc_fsync_path(const char *path);
/* Rename `from` → `to` and fsync the destination folder. */
int bmc_rename_durable(const char *from, const char *to, bmc_err *err);
/* Read a whole file into a heap buffer (NUL-terminated); *len may be NULL. */
char *bmc_read_file(const char *path, size_t *len, bmc_err *err);
/* rm -rf (best effort; 0 or -1). */
int bmc_remove_tree(const char *path);
/* Heap string "a/b" (no doubled slash); b absolute → copy of b. */
char *bmc_path_join(const char *a, const char *b);
/* Heap copy of the directory part of path ("." when none). */
char *bmc_dirname(const char *path);

#endif
