/* bmc_fingerprint.c — SHA-256 content fingerprints through OpenSSL's EVP interface.
 *
 * A folder's digest hashes, in bytewise-sorted order of relative path, one line
 * "<relative path>\t<file sha256>\n" per regular file (links are followed, other entries
 * ignored), so it depends on names and content, not on mtimes or inode order.
 * Not here: deciding reruns (workflows/engine), hashing inside HDF5 files.
 */
#define _XOPEN_SOURCE 700
#include "bmc_fingerprint.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmc_alloc.h"

void bmc_sha256_init(bmc_sha256 *h) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    BMC_CHECK(ctx != NULL);
    BMC_CHECK(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1);
    h->ctx = ctx;
}

void bmc_sha256_update(bmc_sha256 *h, const void *data, size_t n) {
    BMC_CHECK(EVP_DigestUpdate((EVP_MD_CTX *)h->ctx, data, n) == 1);
}

void bmc_sha256_final(bmc_sha256 *h, char hex[BMC_SHA256_HEX]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    BMC_CHECK(EVP_DigestFinal_ex((EVP_MD_CTX *)h->ctx, md, &len) == 1 && len == 32);
    EVP_MD_CTX_free((EVP_MD_CTX *)h->ctx);
    h->ctx = NULL;
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

void bmc_sha256_bytes(const void *data, size_t n, char hex[BMC_SHA256_HEX]) {
    bmc_sha256 h;
    bmc_sha256_init(&h);
    bmc_sha256_update(&h, data, n);
    bmc_sha256_final(&h, hex);
}

void bmc_sha256_str(const char *s, char hex[BMC_SHA256_HEX]) { bmc_sha256_bytes(s, strlen(s), hex); }

void bmc_sha256_cfg(const bmc_cfg_node *node, char hex[BMC_SHA256_HEX]) {
    char *text = bmc_cfg_canonical(node);
    bmc_sha256_str(text, hex);
    free(text);
}

static int sha256_file(const char *path, char hex[BMC_SHA256_HEX], bmc_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return bmc_err_set(err, "check that the file exists and is readable",
                           "cannot read '%s': %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = xmalloc(CHUNK);
    bmc_sha256 h;
    bmc_sha256_init(&h);
    size_t n;
    while ((n = fread(buf, 1, CHUNK, f)) > 0) bmc_sha256_update(&h, buf, n);
    int bad = ferror(f);
    fclose(f);
    free(buf);
    bmc_sha256_final(&h, hex);
    if (bad) return bmc_err_set(err, NULL, "error while reading '%s'", path);
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append the relative paths of all regular files below root/rel to *list. */
static int list_files(const char *root, const char *rel, char ***list, size_t *n, size_t *cap,
                      bmc_err *err) {
    char *dir = rel[0] ? bmc_xasprintf("%s/%s", root, rel) : xstrdup(root);
    DIR *d = opendir(dir);
    if (!d) {
        bmc_err_set(err, "check the folder's permissions", "cannot list '%s': %s", dir,
                    strerror(errno));
        free(dir);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *child_rel = rel[0] ? bmc_xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        char *child = bmc_xasprintf("%s/%s", root, child_rel);
        struct stat st;
        if (stat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = list_files(root, child_rel, list, n, cap, err);
            free(child_rel);
        } else if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
            if (*n == *cap) *list = xrealloc(*list, (*cap = *cap ? 2 * *cap : 64) * sizeof **list);
            (*list)[(*n)++] = child_rel;
        } else {
            free(child_rel);
        }
        free(child);
    }
    closedir(d);
    free(dir);
    return rc;
}

int bmc_sha256_path(const char *path, char hex[BMC_SHA256_HEX], bmc_err *err) {
    struct stat st;
    if (stat(path, &st) != 0)
        return bmc_err_set(err, "check the path", "cannot read '%s': %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return sha256_file(path, hex, err);
    char **files = NULL;
    size_t n = 0, cap = 0;
    int rc = list_files(path, "", &files, &n, &cap, err);
    if (rc == 0) qsort(files, n, sizeof *files, cmp_str);
    bmc_sha256 h;
    bmc_sha256_init(&h);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *full = bmc_xasprintf("%s/%s", path, files[i]);
        char fh[BMC_SHA256_HEX];
        rc = sha256_file(full, fh, err);
        free(full);
        bmc_sha256_update(&h, files[i], strlen(files[i]));
        bmc_sha256_update(&h, "\t", 1);
        bmc_sha256_update(&h, fh, 64);
        bmc_sha256_update(&h, "\n", 1);
    }
    bmc_sha256_final(&h, hex);
    for (size_t i = 0; i < n; i++) free(files[i]);
    free(files);
    return rc;
}
