/* test_fs_cache.c — path identity (canonical paths, same file under another spelling, below),
 * the folder swap, the content-hash cache (a hit costs no read, a changed byte with the same
 * size and mtime is seen, two processes saving at once both keep their entries, a damaged
 * file is ignored) and link-loop detection in folder hashes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fingerprint.h"
#include "bmc_fs.h"
#include "bmc_test.h"

static void put(const char *path, const char *text) {
    bmc_err err = {0};
    TEST_CHECK(bmc_write_file_atomic(path, text, strlen(text), &err) == 0, "%s", err.msg);
}

static void put_in(const char *dir, const char *name, const char *text) {
    char *path = bmc_path_join(dir, name);
    put(path, text);
    free(path);
}

/* Canonical form of dir + rel (heap). */
static char *canonical_in(const char *dir, const char *rel) {
    char *path = bmc_xasprintf("%s/%s", dir, rel), *c = bmc_path_canonical(path);
    free(path);
    return c;
}

static void test_paths(const char *dir) {
    char *a = bmc_xasprintf("%s/a.txt", dir), *sub = bmc_xasprintf("%s/sub", dir);
    bmc_err err = {0};
    TEST_CHECK(bmc_mkdir_p(sub, &err) == 0, "%s", err.msg);
    put(a, "a\n");
    char *real = realpath(dir, NULL);
    char *canon = canonical_in(dir, "sub/../sub/./x/../../a.txt");
    char *want = bmc_xasprintf("%s/a.txt", real);
    TEST_STREQ(canon, want);
    free(canon);
    canon = canonical_in(dir, "sub/new/../later.h5");
    free(want);
    want = bmc_xasprintf("%s/sub/later.h5", real);
    TEST_STREQ(canon, want); /* the part that does not exist is folded as written */
    free(canon);
    char *slink = bmc_xasprintf("%s/sub/link.txt", dir), *hard = bmc_xasprintf("%s/hard.txt", dir);
    TEST_CHECK(symlink("../a.txt", slink) == 0 && link(a, hard) == 0, "links");
    TEST_CHECK(bmc_path_same(a, slink), "a symbolic link is the same file");
    TEST_CHECK(bmc_path_same(a, hard), "a hard link is the same file");
    TEST_CHECK(!bmc_path_same(a, sub), "a different file");
    char *n1 = bmc_xasprintf("%s/sub/../none.h5", dir), *n2 = bmc_xasprintf("%s//none.h5", dir);
    TEST_CHECK(bmc_path_same(n1, n2), "two spellings of a file that does not exist");
    TEST_CHECK(bmc_path_below(slink, dir) && bmc_path_below(a, dir) && !bmc_path_below(dir, dir) &&
               !bmc_path_below(dir, sub), "below");
    char *cwd = getcwd(NULL, 0);
    TEST_CHECK(chdir(dir) == 0, "chdir");
    TEST_CHECK(bmc_path_same("a.txt", a) && bmc_path_same("./sub/../a.txt", a),
               "relative paths start at the current folder");
    TEST_CHECK(chdir(cwd) == 0, "chdir back");
    free(cwd);
    free(real), free(want), free(a), free(sub), free(slink), free(hard), free(n1), free(n2);
}

static void test_swap(const char *dir) {
    char *path = bmc_xasprintf("%s/out", dir), *partial = bmc_xasprintf("%s/out.partial", dir);
    bmc_err err = {0};
    TEST_CHECK(bmc_mkdir_p(partial, &err) == 0, "%s", err.msg);
    put_in(partial, "new.txt", "new\n");
    TEST_CHECK(bmc_swap_in(partial, path, &err) == 0, "%s", err.msg);
    TEST_CHECK(bmc_is_dir(path) && !bmc_path_exists(partial), "first swap is a rename");
    TEST_CHECK(bmc_mkdir_p(partial, &err) == 0, "%s", err.msg);
    put_in(partial, "newer.txt", "newer\n");
    TEST_CHECK(bmc_swap_in(partial, path, &err) == 0, "%s", err.msg);
    char *newer = bmc_xasprintf("%s/newer.txt", path), *old = bmc_xasprintf("%s/new.txt", path);
    TEST_CHECK(bmc_path_exists(newer) && !bmc_path_exists(old) && !bmc_path_exists(partial),
               "second swap: the new folder in, the old one gone");
    free(path), free(partial), free(newer), free(old);
}

/* Hash path with a fresh view of the cache file; returns files read. */
static long hash_reads(const char *cache, const char *path, char hex[BMC_SHA256_HEX]) {
    bmc_hash_cache_open(cache);
    bmc_hash_stats before, after;
    bmc_hash_stats_get(&before);
    bmc_err err = {0};
    TEST_CHECK(bmc_sha256_path(path, hex, &err) == 0, "%s", err.msg);
    bmc_hash_stats_get(&after);
    TEST_CHECK(bmc_hash_cache_save(0, &err) == 0, "%s", err.msg);
    bmc_hash_cache_close();
    return after.files_read - before.files_read;
}

static void test_cache(const char *dir) {
    char *cache = bmc_xasprintf("%s/results/.bmc-hash-cache", dir);
    char *f1 = bmc_xasprintf("%s/f1.bin", dir), *f2 = bmc_xasprintf("%s/f2.bin", dir);
    char *f3 = bmc_xasprintf("%s/f3.bin", dir);
    put(f1, "one one one\n");
    put(f2, "two\n");
    put(f3, "three\n");
    char plain[BMC_SHA256_HEX], hex[BMC_SHA256_HEX];
    bmc_err err = {0};
    TEST_CHECK(bmc_sha256_path(f1, plain, &err) == 0, "%s", err.msg);
    TEST_CHECK(hash_reads(cache, f1, hex) == 1 && !bmc_path_exists(cache),
               "a file changed in the last 2 s is read and not remembered");
    TEST_STREQ(hex, plain);
    sleep(3);
    TEST_CHECK(hash_reads(cache, f1, hex) == 1 && bmc_path_exists(cache), "then remembered");
    TEST_CHECK(hash_reads(cache, f1, hex) == 0, "a second hash reads nothing");
    TEST_STREQ(hex, plain);
    {   /* one file asked for three times is one cached file in the stats */
        bmc_hash_cache_open(cache);
        bmc_hash_stats before, after;
        bmc_hash_stats_get(&before);
        for (int rep = 0; rep < 3; rep++)
            TEST_CHECK(bmc_sha256_path(f1, hex, &err) == 0, "%s", err.msg);
        bmc_hash_stats_get(&after);
        bmc_hash_cache_close();
        TEST_CHECK(after.files_cached - before.files_cached == 1 &&
                   after.bytes_cached - before.bytes_cached == 12.0 &&
                   after.files_read == before.files_read,
                   "a file hashed three times from the cache counts once: %ld files, %.0f bytes",
                   after.files_cached - before.files_cached,
                   after.bytes_cached - before.bytes_cached);
    }
    /* Same size, same mtime, one byte different: ctime moved, so it is read again. */
    struct stat st;
    stat(f1, &st);
    int fd = open(f1, O_WRONLY);
    TEST_CHECK(fd >= 0 && pwrite(fd, "O", 1, 0) == 1, "overwrite a byte");
    close(fd);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    utimensat(AT_FDCWD, f1, times, 0);
    TEST_CHECK(hash_reads(cache, f1, hex) == 1 && strcmp(hex, plain) != 0,
               "a changed byte with the same size and mtime is seen");
    /* Two processes save at once: both entries survive. */
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            char h[BMC_SHA256_HEX];
            for (int rep = 0; rep < 20; rep++) hash_reads(cache, k ? f3 : f2, h);
            _exit(test_failed_ ? 1 : 0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int status = 0;
        waitpid(kids[k], &status, 0);
        TEST_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d", k);
    }
    bmc_hash_cache_open(cache);
    TEST_CHECK(bmc_hash_cache_lookup(f2, hex) && bmc_hash_cache_lookup(f3, hex),
               "entries saved by two processes at once are both kept");
    bmc_hash_cache_close();
    /* A damaged cache file costs only re-reading. */
    put(cache, "not a cache\n");
    TEST_CHECK(hash_reads(cache, f2, hex) == 1, "a damaged cache is ignored");
    TEST_CHECK(hash_reads(cache, f2, hex) == 0, "and rewritten");
    free(cache), free(f1), free(f2), free(f3);
}

static void test_loop(const char *dir) {
    char *root = bmc_xasprintf("%s/tree", dir), *sub = bmc_xasprintf("%s/tree/a/b", dir);
    bmc_err err = {0};
    TEST_CHECK(bmc_mkdir_p(sub, &err) == 0, "%s", err.msg);
    put_in(sub, "x.txt", "x\n");
    char *loop = bmc_xasprintf("%s/up", sub);
    TEST_CHECK(symlink("../..", loop) == 0, "symlink");
    char hex[BMC_SHA256_HEX];
    TEST_CHECK(bmc_sha256_path(root, hex, &err) != 0 && strstr(err.msg, "symbolic link loop") &&
               strstr(err.msg, "tree/a/b/up"), "loop found: %s", err.msg);
    free(root), free(sub), free(loop);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    char *base = bmc_xasprintf("%s/bmc-fs-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    TEST_CHECK(mkdtemp(base) != NULL, "mkdtemp");
    test_paths(base);
    test_swap(base);
    test_loop(base);
    test_cache(base);
    bmc_remove_tree(base);
    free(base);
    return test_summary();
}
