/* bmc_fingerprint.c — SHA-256 content fingerprints through OpenSSL's EVP interface, and the
 * content-hash cache (see bmc_fingerprint.h).
 *
 * A folder's digest hashes, in bytewise-sorted order of relative path, one line
 * "<relative path>\t<file sha256>\n" per regular file (links are followed, other entries
 * ignored), so it depends on names and content, not on mtimes or inode order. The folders
 * being walked are kept as (device, inode) pairs, so a link back into one of them is found
 * at once. The cache is an open-addressing table of entries keyed by canonical path.
 * Not here: deciding reruns (workflows/engine), hashing inside HDF5 files.
 */
#define _GNU_SOURCE /* struct stat's st_mtim/st_ctim */
#include "bmc_fingerprint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"

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

/* ---- the cache --------------------------------------------------------------------------- */

/* A file's identity as far as the cache is concerned. */
typedef struct file_key {
    long long size, mtime_ns, ctime_ns;
    unsigned long long ino, dev;
} file_key;

typedef struct cache_entry {
    char *path;      /* canonical                                   */
    file_key key;
    char sha[BMC_SHA256_HEX];
    int fresh;       /* added or changed by this process           */
    int counted;     /* already in this process's bmc_hash_stats   */
} cache_entry;

typedef struct hash_cache {
    char *file;               /* NULL: no cache open        */
    cache_entry *e;
    size_t n, cap;
    size_t *slot;             /* open addressing: index + 1, 0 = empty */
    size_t n_slots;
    int any_fresh;
} hash_cache;

static hash_cache g_cache;
static bmc_hash_stats g_stats;

/* Seconds before hashing during which a change makes an entry untrustworthy. */
#define RACY_SECONDS 2

static file_key key_of(const struct stat *st) {
    return (file_key){(long long)st->st_size,
                      (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec,
                      (long long)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec,
                      (unsigned long long)st->st_ino, (unsigned long long)st->st_dev};
}

static int key_equal(const file_key *a, const file_key *b) {
    return a->size == b->size && a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns &&
           a->ino == b->ino && a->dev == b->dev;
}

static uint64_t path_hash(const char *s) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Slot of path in c->slot (empty slot when absent). */
static size_t find_slot(const hash_cache *c, const char *path) {
    size_t mask = c->n_slots - 1, k = (size_t)path_hash(path) & mask;
    while (c->slot[k] && strcmp(c->e[c->slot[k] - 1].path, path)) k = (k + 1) & mask;
    return k;
}

static void rehash(hash_cache *c) {
    free(c->slot);
    c->n_slots = 64;
    while (c->n_slots < 2 * c->n + 2) c->n_slots *= 2;
    c->slot = xcalloc(c->n_slots, sizeof *c->slot);
    for (size_t i = 0; i < c->n; i++) c->slot[find_slot(c, c->e[i].path)] = i + 1;
}

static cache_entry *cache_get(const hash_cache *c, const char *path) {
    if (!c->n_slots) return NULL;
    size_t k = find_slot(c, path);
    return c->slot[k] ? &c->e[c->slot[k] - 1] : NULL;
}

/* Insert or replace path's entry (path copied). */
static void cache_put(hash_cache *c, const char *path, const file_key *key, const char *sha,
                      int fresh) {
    cache_entry *e = cache_get(c, path);
    if (!e) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 256;
            c->e = xrealloc(c->e, bmc_mul_size(c->cap, sizeof *c->e));
        }
        e = &c->e[c->n++];
        e->path = xstrdup(path);
        if (2 * c->n + 2 > c->n_slots) rehash(c);
        else c->slot[find_slot(c, path)] = c->n;
    }
    e->key = *key;
    memcpy(e->sha, sha, BMC_SHA256_HEX);
    e->fresh = fresh;
    e->counted = fresh; /* a fresh entry was just read and counted */
    c->any_fresh |= fresh;
}

static void cache_clear(hash_cache *c) {
    for (size_t i = 0; i < c->n; i++) free(c->e[i].path);
    free(c->e);
    free(c->slot);
    char *file = c->file;
    memset(c, 0, sizeof *c);
    c->file = file;
}

static int is_hex64(const char *s) {
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return 0;
    return 1;
}

/* Add the entries of a cache file's text to c (not fresh; existing entries win when
 * keep_existing). A damaged line is skipped, a damaged header ignores the file. */
static void cache_parse(hash_cache *c, char *text, int keep_existing) {
    char *line = text, *nl = strchr(line, '\n');
    if (!nl || strncmp(line, "bmc-hash-cache 1", 16) != 0) return;
    for (line = nl + 1; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl) break; /* a torn last line */
        *nl = '\0';
        char sha[BMC_SHA256_HEX];
        file_key k;
        int used = 0;
        if (strlen(line) > 65 && is_hex64(line) && line[64] == ' ' &&
            sscanf(line + 65, "%lld %lld %lld %llu %llu %n", &k.size, &k.mtime_ns, &k.ctime_ns,
                   &k.ino, &k.dev, &used) == 5 &&
            used > 0 && line[65 + used] == '/') {
            memcpy(sha, line, 64);
            sha[64] = '\0';
            const char *path = line + 65 + used;
            if (!(keep_existing && cache_get(c, path))) cache_put(c, path, &k, sha, 0);
        }
    }
}

void bmc_hash_cache_open(const char *path) {
    bmc_hash_cache_close();
    g_cache.file = bmc_path_canonical(path);
    bmc_err quiet = {0};
    char *text = bmc_path_exists(g_cache.file) ? bmc_read_file(g_cache.file, NULL, &quiet) : NULL;
    if (text) cache_parse(&g_cache, text, 0);
    free(text);
}

void bmc_hash_cache_close(void) {
    cache_clear(&g_cache);
    free(g_cache.file);
    g_cache.file = NULL;
}

int bmc_hash_cache_lookup(const char *path, char hex[BMC_SHA256_HEX]) {
    struct stat st;
    if (!g_cache.file || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    char *canon = bmc_path_canonical(path);
    cache_entry *e = cache_get(&g_cache, canon);
    file_key k = key_of(&st);
    free(canon);
    if (!e || !key_equal(&e->key, &k)) return 0;
    memcpy(hex, e->sha, BMC_SHA256_HEX);
    return 1;
}

/* Write c to its file atomically (a temporary name of this process, then rename). */
static int cache_write(const hash_cache *c, int prune, bmc_err *err) {
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    len += (size_t)snprintf(buf, cap, "bmc-hash-cache 1\n");
    for (size_t i = 0; i < c->n; i++) {
        const cache_entry *e = &c->e[i];
        if (prune) {
            struct stat st;
            file_key k;
            if (stat(e->path, &st) != 0 || (k = key_of(&st), !key_equal(&k, &e->key))) continue;
        }
        size_t need = strlen(e->path) + 160;
        if (len + need > cap) {
            while (len + need > cap) cap *= 2;
            buf = xrealloc(buf, cap);
        }
        len += (size_t)snprintf(buf + len, cap - len, "%s %lld %lld %lld %llu %llu %s\n", e->sha,
                                e->key.size, e->key.mtime_ns, e->key.ctime_ns, e->key.ino,
                                e->key.dev, e->path);
    }
    char *tmp = bmc_xasprintf("%s.%ld", c->file, (long)getpid());
    int rc = bmc_write_file_atomic(tmp, buf, len, err);
    if (rc == 0) rc = bmc_rename_durable(tmp, c->file, err);
    if (rc != 0) unlink(tmp);
    free(tmp);
    free(buf);
    return rc;
}

int bmc_hash_cache_save(int prune, bmc_err *err) {
    if (!g_cache.file || !g_cache.any_fresh) return 0;
    char *dir = bmc_dirname(g_cache.file);
    int rc = bmc_mkdir_p(dir, err);
    free(dir);
    if (rc) return -1;
    char *lock = bmc_xasprintf("%s.lock", g_cache.file);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    free(lock);
    if (fd >= 0) flock(fd, LOCK_EX); /* without a lock (unsupported), the rename still keeps it whole */
    /* Merge: what the file holds now, with this process's fresh entries on top. */
    hash_cache merged = {0};
    merged.file = g_cache.file;
    for (size_t i = 0; i < g_cache.n; i++)
        if (g_cache.e[i].fresh) cache_put(&merged, g_cache.e[i].path, &g_cache.e[i].key,
                                          g_cache.e[i].sha, 0);
    bmc_err quiet = {0};
    char *text = bmc_path_exists(g_cache.file) ? bmc_read_file(g_cache.file, NULL, &quiet) : NULL;
    if (text) cache_parse(&merged, text, 1);
    free(text);
    rc = cache_write(&merged, prune, err);
    if (fd >= 0) close(fd); /* releases the flock */
    merged.file = NULL;
    cache_clear(&merged);
    if (rc == 0)
        for (size_t i = 0; i < g_cache.n; i++) g_cache.e[i].fresh = 0;
    if (rc == 0) g_cache.any_fresh = 0;
    return rc;
}

void bmc_hash_stats_get(bmc_hash_stats *out) { *out = g_stats; }

/* ---- files and folders ------------------------------------------------------------------- */

static int sha256_read(const char *path, char hex[BMC_SHA256_HEX], double *bytes, bmc_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return bmc_err_set(err, "check that the file exists and is readable",
                           "cannot read '%s': %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = xmalloc(CHUNK);
    bmc_sha256 h;
    bmc_sha256_init(&h);
    size_t n;
    *bytes = 0;
    while ((n = fread(buf, 1, CHUNK, f)) > 0) {
        bmc_sha256_update(&h, buf, n);
        *bytes += (double)n;
    }
    int bad = ferror(f);
    fclose(f);
    free(buf);
    bmc_sha256_final(&h, hex);
    if (bad) return bmc_err_set(err, NULL, "error while reading '%s'", path);
    return 0;
}

/* One regular file: from the cache when its stat matches, else read (and remembered unless
 * it changed within RACY_SECONDS before the read started). */
static int sha256_file(const char *path, const struct stat *st, char hex[BMC_SHA256_HEX],
                       bmc_err *err) {
    if (!g_cache.file) {
        double bytes;
        int rc = sha256_read(path, hex, &bytes, err);
        g_stats.files_read++, g_stats.bytes_read += bytes;
        return rc;
    }
    char *canon = bmc_path_canonical(path);
    file_key k = key_of(st);
    cache_entry *e = cache_get(&g_cache, canon);
    if (e && key_equal(&e->key, &k)) {
        memcpy(hex, e->sha, BMC_SHA256_HEX);
        if (!e->counted) g_stats.files_cached++, g_stats.bytes_cached += (double)k.size;
        e->counted = 1;
        free(canon);
        return 0;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long start_ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
    double bytes;
    int rc = sha256_read(path, hex, &bytes, err);
    g_stats.files_read++, g_stats.bytes_read += bytes;
    struct stat after;
    long long margin = (long long)RACY_SECONDS * 1000000000LL;
    if (rc == 0 && stat(path, &after) == 0) {
        file_key k2 = key_of(&after);
        if (key_equal(&k, &k2) && k.mtime_ns < start_ns - margin &&
            k.ctime_ns < start_ns - margin && !strchr(canon, '\n'))
            cache_put(&g_cache, canon, &k, hex, 1);
    }
    free(canon);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folders being walked, outermost first (for loop detection). */
typedef struct dir_stack {
    dev_t dev[64];
    ino_t ino[64];
    const char *path[64];
    int n;
} dir_stack;

typedef struct file_list {
    char **rel;
    size_t n, cap;
} file_list;

/* Append the relative paths of all regular files below root/rel to list. */
static int list_files(const char *root, const char *rel, const struct stat *dir_st,
                      dir_stack *stack, file_list *list, bmc_err *err) {
    char *dir = rel[0] ? bmc_xasprintf("%s/%s", root, rel) : xstrdup(root);
    for (int k = 0; k < stack->n; k++)
        if (stack->dev[k] == dir_st->st_dev && stack->ino[k] == dir_st->st_ino) {
            bmc_err_set(err, "remove or retarget the link: a folder input is hashed file by file, "
                             "and this link makes the walk endless",
                        "symbolic link loop: '%s' leads back to '%s'", dir, stack->path[k]);
            free(dir);
            return -1;
        }
    if (stack->n == 64) {
        bmc_err_set(err, "flatten the folder or name the files the stage reads",
                    "'%s' is nested more than 64 folders deep", dir);
        free(dir);
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        bmc_err_set(err, "check the folder's permissions", "cannot list '%s': %s", dir,
                    strerror(errno));
        free(dir);
        return -1;
    }
    stack->dev[stack->n] = dir_st->st_dev;
    stack->ino[stack->n] = dir_st->st_ino;
    stack->path[stack->n++] = dir;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *child_rel = rel[0] ? bmc_xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
        char *child = bmc_xasprintf("%s/%s", root, child_rel);
        struct stat st;
        if (stat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = list_files(root, child_rel, &st, stack, list, err);
            free(child_rel);
        } else if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
            if (list->n == list->cap)
                list->rel = xrealloc(list->rel, (list->cap = list->cap ? 2 * list->cap : 64) *
                                                    sizeof *list->rel);
            list->rel[list->n++] = child_rel;
        } else {
            free(child_rel);
        }
        free(child);
    }
    closedir(d);
    stack->n--;
    free(dir);
    return rc;
}

int bmc_sha256_path(const char *path, char hex[BMC_SHA256_HEX], bmc_err *err) {
    struct stat st;
    if (stat(path, &st) != 0)
        return bmc_err_set(err, "check the path", "cannot read '%s': %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return sha256_file(path, &st, hex, err);
    file_list files = {0};
    dir_stack stack = {.n = 0};
    int rc = list_files(path, "", &st, &stack, &files, err);
    if (rc == 0 && files.n) qsort(files.rel, files.n, sizeof *files.rel, cmp_str);
    bmc_sha256 h;
    bmc_sha256_init(&h);
    for (size_t i = 0; i < files.n && rc == 0; i++) {
        char *full = bmc_xasprintf("%s/%s", path, files.rel[i]);
        char fh[BMC_SHA256_HEX];
        struct stat fst;
        rc = stat(full, &fst) == 0 ? sha256_file(full, &fst, fh, err)
                                   : bmc_err_set(err, "check the path", "cannot read '%s': %s",
                                                 full, strerror(errno));
        free(full);
        bmc_sha256_update(&h, files.rel[i], strlen(files.rel[i]));
        bmc_sha256_update(&h, "\t", 1);
        bmc_sha256_update(&h, fh, 64);
        bmc_sha256_update(&h, "\n", 1);
    }
    bmc_sha256_final(&h, hex);
    for (size_t i = 0; i < files.n; i++) free(files.rel[i]);
    free(files.rel);
    return rc;
}
