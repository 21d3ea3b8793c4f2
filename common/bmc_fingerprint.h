/* bmc_fingerprint.h — content fingerprints (SHA-256) of bytes, files, folders and parameters,
 * and the content-hash cache that makes an unchanged file cost a stat, not a read.
 *
 * Files are hashed by content (streamed, any size); a folder hashes the sorted list of its
 * regular files' relative paths and content hashes (symbolic links are followed, a link that
 * leads back into a folder being walked is an error, not a loop). Parameters are hashed
 * through their canonical YAML text (bmc_cfg_canonical), so key order and formatting do not
 * matter. Digests are lowercase hex strings of 64 characters (+ NUL).
 * Not here: deciding whether a stage is up to date (workflows/engine).
 */
#ifndef BMC_FINGERPRINT_H
#define BMC_FINGERPRINT_H

#include <stddef.h>
#include "bmc_config.h"
#include "bmc_error.h"

#define BMC_SHA256_HEX 65

/* Incremental SHA-256. */
typedef struct bmc_sha256 { void *ctx; } bmc_sha256;
void bmc_sha256_init(bmc_sha256 *h);
void bmc_sha256_update(bmc_sha256 *h, const void *data, size_t n);
void bmc_sha256_final(bmc_sha256 *h, char hex[BMC_SHA256_HEX]);

void bmc_sha256_bytes(const void *data, size_t n, char hex[BMC_SHA256_HEX]);
void bmc_sha256_str(const char *s, char hex[BMC_SHA256_HEX]);
/* Hash a regular file or a folder (recursively). Uses the hash cache when one is open.
 * Error names the path (a symbolic-link loop names the link). Returns 0 or -1. */
int bmc_sha256_path(const char *path, char hex[BMC_SHA256_HEX], bmc_err *err);
/* Hash of the canonical text of a config subtree. */
void bmc_sha256_cfg(const bmc_cfg_node *node, char hex[BMC_SHA256_HEX]);

/* ---- the content-hash cache (one per process; local, no MPI) ---------------------------
 *
 * An entry maps (absolute path, size, mtime, ctime, inode, device) to the file's SHA-256, so a
 * file whose stat is unchanged is not read again, while any write (which moves mtime and
 * ctime, or replaces the inode) makes it be read. A file modified in the last 2 seconds before
 * it was hashed is not remembered (timestamps may be too coarse to see a second write). The
 * cache is a text file, `bmc-hash-cache 1` then one `sha size mtime_ns ctime_ns ino dev path`
 * line per file; saving merges with what other processes saved meanwhile (under an flock of
 * PATH.lock) and replaces the file atomically. Losing it costs only re-reading. */

/* Use the cache file at path (read now when it exists; a damaged file counts as empty). */
void bmc_hash_cache_open(const char *path);
/* Merge this process's new entries into the file. `prune` also drops entries whose file no
 * longer matches its stat (deleted or changed). Creates the file's folder when needed.
 * No-op (nothing written) when nothing is new or no cache is open. 0, or -1 with err set. */
int bmc_hash_cache_save(int prune, bmc_err *err);
void bmc_hash_cache_close(void);
/* 1 and the digest when path's current stat has an entry, else 0. Reads nothing. */
int bmc_hash_cache_lookup(const char *path, char hex[BMC_SHA256_HEX]);

/* Counts since the process started: files and bytes read to hash them, and distinct files
 * whose hash came from the cache (a file asked for again, from the cache, is not counted
 * again: the figures are the tree's, not the number of questions). */
typedef struct bmc_hash_stats {
    long files_read, files_cached;
    double bytes_read, bytes_cached;
} bmc_hash_stats;
void bmc_hash_stats_get(bmc_hash_stats *out);

#endif
