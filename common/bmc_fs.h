/* bmc_fs.h — small file-system helpers shared by the stages and the workflow engine.
 *
 * Creating folders (mkdir -p), writing small text files atomically (temp file, fsync,
 * rename), swapping a finished folder in place of an old one, removing trees, path joins,
 * and path identity: two spellings of one file (`a/../b`, a symbolic link, a hard link) are
 * recognised by resolving links and comparing device and inode numbers. Local (no MPI).
 * Not here: HDF5 outputs (bmc_h5io.h commits those atomically itself), deciding whether an
 * existing output may be replaced (bmc_stage.h).
 */
#ifndef BMC_FS_H
#define BMC_FS_H

#include <stddef.h>
#include <stdint.h>
#include "bmc_error.h"

/* mkdir -p. Returns 0 or -1 with an error naming the folder. */
int bmc_mkdir_p(const char *path, bmc_err *err);
/* 1 if path exists (any type), 0 if not. */
int bmc_path_exists(const char *path);
/* 1 if path is a directory. */
int bmc_is_dir(const char *path);
/* Size in bytes of the file at path (what a size read from inside it is checked against),
 * or -1 when it cannot be stat'ed or is not a regular file. */
int64_t bmc_file_size(const char *path);
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
/* Put the finished folder `partial` in place of `path`. When path does not exist: rename.
 * Otherwise the two are exchanged atomically (renameat2 RENAME_EXCHANGE; where the file
 * system cannot, path is first renamed aside to path.bmc-replaced-<pid> and partial renamed
 * in), so a reader sees the old folder or the new one, never a mix; the old one is removed
 * only after the new one is in place. Returns 0 or -1 (err names both paths). */
int bmc_swap_in(const char *partial, const char *path, bmc_err *err);

/* Absolute form of path with symbolic links resolved in its longest existing prefix and
 * `.`/`..` resolved in the rest (which does not exist yet). Heap string; never NULL. */
char *bmc_path_canonical(const char *path);
/* 1 when a and b name the same file or folder: the same device and inode when both exist,
 * else the same canonical path. */
int bmc_path_same(const char *a, const char *b);
/* 1 when `inner` lies strictly below the folder `outer` (canonical paths compared). */
int bmc_path_below(const char *inner, const char *outer);

/* Heap string "a/b" (no doubled slash); b absolute → copy of b. */
char *bmc_path_join(const char *a, const char *b);
/* Heap copy of the directory part of path ("." when none). */
char *bmc_dirname(const char *path);

#endif
