/* bmc_fs.c — folders, atomic small-file writes, durable renames, path joins (bmc_fs.h).
 *
 * Atomic means: write NAME.partial, fsync it, rename over NAME, fsync the folder, so a
 * reader sees the old file or the complete new one, never a torn one. Local calls only.
 * Not here: HDF5 outputs (bmc_h5io.c has its own collective commit).
 */
#define _XOPEN_SOURCE 700
#include "bmc_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmc_alloc.h"

int bmc_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int bmc_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int bmc_mkdir_p(const char *path, bmc_err *err) {
    char *p = xstrdup(path);
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    for (char *s = p + 1; ; s++) {
        char c = *s;
        if (c == '/' || c == '\0') {
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                bmc_err_set(err, "check the path and its permissions",
                            "cannot create folder '%s': %s", p, strerror(errno));
                free(p);
                return -1;
            }
            if (!bmc_is_dir(p)) {
                bmc_err_set(err, "remove or rename the file that stands in the way",
                            "cannot create folder '%s': a file of that name exists", p);
                free(p);
                return -1;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    return 0;
}

int bmc_fsync_path(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int bmc_rename_durable(const char *from, const char *to, bmc_err *err) {
    if (rename(from, to) != 0)
        return bmc_err_set(err, "check free space and permissions of the output folder",
                           "cannot rename '%s' to '%s': %s", from, to, strerror(errno));
    char *dir = bmc_dirname(to);
    bmc_fsync_path(dir); /* best effort: some file systems refuse fsync on folders */
    free(dir);
    return 0;
}

int bmc_write_file_atomic(const char *path, const void *data, size_t len, bmc_err *err) {
    char *tmp = bmc_xasprintf("%s.partial", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        bmc_err_set(err, "check that the folder exists and is writable",
                    "cannot write '%s': %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            bmc_err_set(err, "check free space", "cannot write '%s': %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return -1;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        bmc_err_set(err, "check free space", "cannot flush '%s': %s", tmp, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    int rc = bmc_rename_durable(tmp, path, err);
    if (rc != 0) unlink(tmp);
    free(tmp);
    return rc;
}

char *bmc_read_file(const char *path, size_t *len, bmc_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        bmc_err_set(err, "check the path", "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        bmc_err_set(err, NULL, "error reading '%s'", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int bmc_remove_tree(const char *path) {
    if (!bmc_path_exists(path)) return 0;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *bmc_path_join(const char *a, const char *b) {
    if (b[0] == '/' || a[0] == '\0') return xstrdup(b);
    size_t la = strlen(a);
    return bmc_xasprintf("%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
}

char *bmc_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    if (slash == path) return xstrdup("/");
    size_t n = (size_t)(slash - path);
    char *d = xmalloc(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}
