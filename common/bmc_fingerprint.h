/* bmc_fingerprint.h — content fingerprints (SHA-256) of bytes, files, folders and parameters.
 *
 * Files are hashed by content (streamed, any size); a folder hashes the sorted list of its
 * regular files' relative paths and content hashes. Parameters are hashed through their
 * canonical YAML text (bmc_cfg_canonical), so key order and formatting do not matter.
 * Digests are lowercase hex strings of 64 characters (+ NUL).
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
/* Hash a regular file or a folder (recursively). Error names the path. Returns 0 or -1. */
int bmc_sha256_path(const char *path, char hex[BMC_SHA256_HEX], bmc_err *err);
/* Hash of the canonical text of a config subtree. */
void bmc_sha256_cfg(const bmc_cfg_node *node, char hex[BMC_SHA256_HEX]);

#endif
