/* bmc_fs.c — folders, atomic small-file writes, durable renames, folder swaps, path joins
 * and path identity (bmc_fs.h).
 *
 * Atomic means: write NAME.partial, fsync it, rename over NAME, fsync the folder, so a
 * reader sees the old file or the complete new one, never a torn one. Local calls only.
 * Not here: HDF5 outputs (bmc_h5io.c has its own collective commit).
 */
#define _GNU_SOURCE /* renameat2 */
#include "bmc_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
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

int64_t bmc_file_size(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    return (int64_t)st.st_size;
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

int bmc_swap_in(const char *partial, const char *path, bmc_err *err) {
    struct stat st;
    if (lstat(path, &st) != 0) return bmc_rename_durable(partial, path, err);
    char *old = NULL;
    if (renameat2(AT_FDCWD, partial, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
        old = xstrdup(partial); /* now holds the previous folder */
    } else if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        old = bmc_xasprintf("%s.bmc-replaced-%ld", path, (long)getpid());
        if (rename(path, old) != 0) {
            bmc_err_set(err, "check the permissions of the output folder",
                        "cannot move '%s' aside to '%s': %s", path, old, strerror(errno));
            free(old);
            return -1;
        }
        if (rename(partial, path) != 0) {
            bmc_err_set(err, "the previous output is kept beside it; check the file system",
                        "cannot rename '%s' to '%s': %s (the previous folder is now '%s')",
                        partial, path, strerror(errno), old);
            free(old);
            return -1;
        }
    } else {
        return bmc_err_set(err, "check the permissions of the output folder",
                           "cannot swap '%s' into '%s': %s", partial, path, strerror(errno));
    }
    char *dir = bmc_dirname(path);
    bmc_fsync_path(dir);
    free(dir);
    int rc = bmc_remove_tree(old);
    if (rc != 0)
        bmc_err_set(err, "remove it by hand; the new output is in place",
                    "cannot remove the previous folder '%s': %s", old, strerror(errno));
    free(old);
    return rc ? -1 : 0;
}

/* Lexically resolve "." and ".." of an absolute path in place ("/.." stays "/"). */
static void resolve_dots(char *path) {
    char *out = path + 1, *p = path + 1;
    while (*p) {
        while (*p == '/') p++;
        if (!*p) break;
        size_t len = strcspn(p, "/");
        if (len == 1 && p[0] == '.') {
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (out > path + 1) {
                out--; /* drop the last component and its slash */
                while (out > path + 1 && out[-1] != '/') out--;
                if (out > path + 1) out--;
            }
        } else {
            if (out > path + 1) *out++ = '/';
            memmove(out, p, len);
            out += len;
        }
        p += len;
    }
    *out = '\0';
}

char *bmc_path_canonical(const char *path) {
    char *abs;
    if (path[0] == '/') {
        abs = xstrdup(path);
    } else {
        char cwd[PATH_MAX];
        abs = getcwd(cwd, sizeof cwd) ? bmc_path_join(cwd, path[0] ? path : ".") : xstrdup(path);
    }
    /* The longest existing prefix, resolved; the rest appended as written. */
    size_t cut = strlen(abs);
    for (;;) {
        char saved = abs[cut];
        abs[cut] = '\0';
        char *real = realpath(cut ? abs : "/", NULL);
        abs[cut] = saved;
        if (real) {
            char *out = bmc_xasprintf("%s%s%s", real, abs[cut] && abs[cut] != '/' ? "/" : "",
                                      abs + cut);
            free(real);
            free(abs);
            resolve_dots(out);
            return out;
        }
        if (cut == 0) break;
        while (cut > 0 && abs[cut - 1] != '/') cut--; /* drop the last component */
        while (cut > 1 && abs[cut - 1] == '/') cut--;
        if (cut == 1 && abs[0] == '/') cut = 0;
    }
    resolve_dots(abs);
    return abs;
}

int bmc_path_same(const char *a, const char *b) {
    struct stat sa, sb;
    int ea = stat(a, &sa) == 0, eb = stat(b, &sb) == 0;
    if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea != eb) return 0;
    char *ca = bmc_path_canonical(a), *cb = bmc_path_canonical(b);
    int same = strcmp(ca, cb) == 0;
    free(ca);
    free(cb);
    return same;
}

int bmc_path_below(const char *inner, const char *outer) {
    char *ci = bmc_path_canonical(inner), *co = bmc_path_canonical(outer);
    size_t n = strlen(co);
    int below = !strcmp(co, "/") ? strcmp(ci, "/") != 0
                                 : !strncmp(ci, co, n) && ci[n] == '/' && ci[n + 1];
    free(ci);
    free(co);
    return below;
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
