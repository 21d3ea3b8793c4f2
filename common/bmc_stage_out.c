/* bmc_stage_out.c — the output side of the stage driver (bmc_stage.h): what may be replaced,
 * the `.fingerprint` sidecar stamp with its manifest, folder outputs built beside their
 * target and swapped in, and the checks that keep a stage from destroying its inputs.
 *
 * A sidecar is a text file PATH.fingerprint: the fingerprint on its first line ("none" when
 * the stage ran by hand, "pending" while a new output is being swapped in), then for a
 * folder one `dir REL` or `file REL` line per entry, sorted. A folder is ours when each of its
 * entries is in that manifest, so a file a user put into an output folder stops a rerun
 * instead of being deleted with it.
 * Not here: HDF5 commits (bmc_h5io.c), deciding what is up to date (workflows/engine).
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_fault.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "bmc_stage_internal.h"

#define PARTIAL_MARKER ".bmc-partial"
#define PARTIAL_TEXT "brainmclip output being written\n"

/* ---- entries of a folder ------------------------------------------------------------------ */

typedef struct entry_list {
    char **line; /* "dir REL" or "file REL" */
    size_t n, cap;
} entry_list;

static void entries_add(entry_list *l, char *line) {
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->line = xrealloc(l->line, bmc_mul_size(l->cap, sizeof *l->line));
    }
    l->line[l->n++] = line;
}

static void entries_free(entry_list *l) {
    for (size_t k = 0; k < l->n; k++) free(l->line[k]);
    free(l->line);
    memset(l, 0, sizeof *l);
}

static int cmp_line(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry below root/rel (links are not followed), depth-first. 0 or -1. */
static int walk(const char *root, const char *rel, entry_list *l, bmc_err *err) {
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
        char *child = bmc_xasprintf("%s/%s", dir, e->d_name);
        struct stat st;
        int is_dir = lstat(child, &st) == 0 && S_ISDIR(st.st_mode);
        entries_add(l, bmc_xasprintf("%s %s", is_dir ? "dir" : "file", child_rel));
        if (is_dir) rc = walk(root, child_rel, l, err);
        free(child);
        free(child_rel);
    }
    closedir(d);
    free(dir);
    return rc;
}

/* ---- sidecars --------------------------------------------------------------------------- */

static char *sidecar_path(const char *path) { return bmc_xasprintf("%s.fingerprint", path); }

int bmc_sidecar_write(const char *path, const char *fingerprint, bmc_err *err) {
    entry_list l = {0};
    if (bmc_is_dir(path) && walk(path, "", &l, err) != 0) {
        entries_free(&l);
        return -1;
    }
    if (l.n) qsort(l.line, l.n, sizeof *l.line, cmp_line);
    size_t len = strlen(fingerprint ? fingerprint : "none") + 2;
    for (size_t k = 0; k < l.n; k++) len += strlen(l.line[k]) + 1;
    char *text = xmalloc(len), *p = text;
    p += sprintf(p, "%s\n", fingerprint ? fingerprint : "none");
    for (size_t k = 0; k < l.n; k++) p += sprintf(p, "%s\n", l.line[k]);
    char *side = sidecar_path(path);
    int rc = bmc_write_file_atomic(side, text, (size_t)(p - text), err);
    free(side);
    free(text);
    entries_free(&l);
    return rc;
}

/* The sidecar's text (heap), or NULL when there is none. */
static char *sidecar_text(const char *path) {
    char *side = sidecar_path(path);
    bmc_err quiet = {0};
    char *text = bmc_path_exists(side) ? bmc_read_file(side, NULL, &quiet) : NULL;
    free(side);
    return text;
}

char *bmc_sidecar_fingerprint(const char *path) {
    char *text = sidecar_text(path);
    if (text) {
        size_t n = strcspn(text, "\r\n");
        while (n > 0 && text[n - 1] == ' ') n--;
        text[n] = '\0';
    }
    return text;
}

int bmc_sidecar_mark_pending(const char *path, bmc_err *err) {
    char *text = sidecar_text(path);
    if (!text) return 0;
    char *rest = strchr(text, '\n');
    char *pending = bmc_xasprintf("pending\n%s", rest ? rest + 1 : "");
    char *side = sidecar_path(path);
    int rc = bmc_write_file_atomic(side, pending, strlen(pending), err);
    free(side);
    free(pending);
    free(text);
    return rc;
}

/* ---- what may be replaced ---------------------------------------------------------------- */

/* 1 when path is an HDF5 file whose root attribute `format` starts with "bmc.". */
static int is_bmc_hdf5(const char *path) {
    if (!bmc_h5_is_hdf5(path)) return 0;
    char *format = NULL;
    int ours = bmc_h5_peek_root_str(path, "format", &format) == 0 && !strncmp(format, "bmc.", 4);
    free(format);
    return ours;
}

/* 1 when every entry of folder path is in its sidecar's manifest (a sidecar without a
 * manifest, from before manifests existed, vouches for the whole folder). */
static int folder_matches_manifest(const char *path, char *sidecar, char *why, size_t why_len) {
    entry_list listed = {0}, found = {0};
    char *line = strchr(sidecar, '\n');
    while (line && line[1]) {
        char *next = strchr(line + 1, '\n');
        if (next) *next = '\0';
        if (!strncmp(line + 1, "dir ", 4) || !strncmp(line + 1, "file ", 5))
            entries_add(&listed, xstrdup(line + 1));
        line = next;
    }
    int ok = 1;
    bmc_err err = {0};
    if (listed.n > 0) {
        if (listed.n) qsort(listed.line, listed.n, sizeof *listed.line, cmp_line);
        if (walk(path, "", &found, &err) != 0) {
            snprintf(why, why_len, "%s", err.msg);
            ok = 0;
        }
        for (size_t k = 0; k < found.n && ok; k++)
            if (strcmp(found.line[k], "file " PARTIAL_MARKER) != 0 && /* a commit cut short */
                !bsearch(&found.line[k], listed.line, listed.n, sizeof *listed.line, cmp_line)) {
                const char *rel = strchr(found.line[k], ' ') + 1;
                snprintf(why, why_len, "holds '%s/%s', which brainmclip did not write there",
                         path, rel);
                ok = 0;
            }
    }
    entries_free(&listed);
    entries_free(&found);
    return ok;
}

int bmc_output_owned(const char *path, char *why, size_t why_len) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return 1;
        snprintf(why, why_len, "cannot be examined: %s", strerror(errno));
        return 0;
    }
    if (S_ISLNK(st.st_mode)) {
        snprintf(why, why_len, "is a symbolic link (outputs are written as plain files and "
                               "folders, never through links)");
        return 0;
    }
    if (S_ISREG(st.st_mode) && is_bmc_hdf5(path)) return 1;
    char *sidecar = sidecar_text(path);
    if (!sidecar) {
        snprintf(why, why_len, "exists and carries no brainmclip stamp (neither an HDF5 "
                               "'format: bmc.*' attribute nor a %s.fingerprint file)",
                 path);
        return 0;
    }
    int ok = S_ISDIR(st.st_mode) ? folder_matches_manifest(path, sidecar, why, why_len) : 1;
    free(sidecar);
    return ok;
}

int bmc_partial_owned(const char *path, char *why, size_t why_len) {
    char *partial = bmc_xasprintf("%s.partial", path);
    struct stat st;
    int ok = 1;
    if (lstat(partial, &st) == 0) {
        char *marker = bmc_path_join(partial, PARTIAL_MARKER);
        ok = (S_ISREG(st.st_mode) && is_bmc_hdf5(partial)) ||
             (S_ISDIR(st.st_mode) && bmc_path_exists(marker));
        if (!ok)
            snprintf(why, why_len, "'%s' exists and was not started by brainmclip (no HDF5 "
                                   "'format: bmc.*', no %s marker); if it is left over from an "
                                   "interrupted run, remove it",
                     partial, PARTIAL_MARKER);
        free(marker);
    }
    free(partial);
    return ok;
}

/* ---- checks at the start of a stage -------------------------------------------------------- */

/* The stage file's path nodes of a section, list entries flattened. *n = count. */
static const bmc_cfg_node **path_nodes(const bmc_cfg_node *map, const char ***names, size_t *n) {
    size_t cap = 0;
    for (size_t k = 0; k < map->n; k++)
        cap += map->items[k]->type == BMC_CFG_SEQ ? map->items[k]->n : 1;
    const bmc_cfg_node **out = XNEW(out, cap ? cap : 1);
    *names = XNEW(*names, cap ? cap : 1);
    *n = 0;
    for (size_t k = 0; k < map->n; k++) {
        const bmc_cfg_node *v = map->items[k];
        size_t m = v->type == BMC_CFG_SEQ ? v->n : 1;
        for (size_t j = 0; j < m; j++) {
            const bmc_cfg_node *e = v->type == BMC_CFG_SEQ ? v->items[j] : v;
            if (e->type != BMC_CFG_STRING || !e->text[0]) continue;
            (*names)[*n] = map->keys[k];
            out[(*n)++] = e;
        }
    }
    return out;
}

/* Error at output o's position (or the stage file's start). Returns -1. */
static int output_error(const bmc_stage *s, const bmc_cfg_node *o, bmc_err *err,
                        const char *hint, const char *msg) {
    if (o->line > 0) return bmc_cfg_error_at(o, err, hint, "%s", msg);
    return bmc_err_set(err, hint, "%s: %s", s->config_path, msg);
}

/* How output o stands to path q (of what): same, holds it, or inside it. 0 when apart. */
static int clash(const bmc_stage *s, const char *oname, const bmc_cfg_node *o, const char *what,
                 const char *q, bmc_err *err) {
    char msg[BMC_ERR_MSG_MAX];
    const char *how = bmc_path_same(o->text, q)     ? "is"
                      : bmc_path_below(q, o->text) ? "would replace a folder that holds"
                      : bmc_path_below(o->text, q) ? "lies inside"
                                                   : NULL;
    if (!how) return 0;
    snprintf(msg, sizeof msg, "output '%s' (%s) %s %s (%s)", oname, o->text, how, what, q);
    return output_error(s, o, err,
                        "give the output its own path: a stage never writes over or into "
                        "what it reads",
                        msg);
}

void bmc_stage_check_outputs(const bmc_stage *s, bmc_err *err) {
    const char **in_names, **out_names;
    size_t n_in, n_out;
    const bmc_cfg_node **in = path_nodes(s->inputs, &in_names, &n_in);
    const bmc_cfg_node **out = path_nodes(s->outputs, &out_names, &n_out);
    char what[BMC_ERR_MSG_MAX], why[BMC_ERR_MSG_MAX / 2];
    for (size_t o = 0; o < n_out && !err->failed; o++) {
        for (size_t i = 0; i < n_in && !err->failed; i++) {
            snprintf(what, sizeof what, "input '%s'", in_names[i]);
            clash(s, out_names[o], out[o], what, in[i]->text, err);
        }
        if (!err->failed) clash(s, out_names[o], out[o], "the stage file", s->config_path, err);
        for (size_t p = o + 1; p < n_out && !err->failed; p++) {
            snprintf(what, sizeof what, "output '%s'", out_names[p]);
            clash(s, out_names[o], out[o], what, out[p]->text, err);
        }
        if (err->failed) break;
        if (!bmc_output_owned(out[o]->text, why, sizeof why)) {
            snprintf(what, sizeof what, "output '%s' (%s) %s", out_names[o], out[o]->text, why);
            output_error(s, out[o], err,
                         "brainmclip replaces only what it wrote: move it away, or choose "
                         "another output path",
                         what);
        } else if (!bmc_partial_owned(out[o]->text, why, sizeof why)) {
            snprintf(what, sizeof what, "output '%s': %s", out_names[o], why);
            output_error(s, out[o], err, "brainmclip replaces only what it wrote", what);
        }
    }
    free(in);
    free(out);
    free(in_names);
    free(out_names);
}

void bmc_stage_stamp_outputs(const bmc_stage *s, bmc_err *err) {
    for (size_t k = 0; k < s->outputs->n; k++) {
        const bmc_cfg_node *o = s->outputs->items[k];
        if (o->type != BMC_CFG_STRING || !bmc_path_exists(o->text) || bmc_h5_is_hdf5(o->text))
            continue;
        if (bmc_sidecar_write(o->text, s->fingerprint, err) != 0) return;
    }
}

/* ---- folder outputs ---------------------------------------------------------------------- */

/* Rank 0: write the marker that says folder `dir` is brainmclip's work in progress. */
static int write_partial_marker(const char *dir, bmc_err *err) {
    char *marker = bmc_path_join(dir, PARTIAL_MARKER);
    int rc = bmc_write_file_atomic(marker, PARTIAL_TEXT, strlen(PARTIAL_TEXT), err);
    free(marker);
    return rc;
}

int bmc_stage_folder_begin(bmc_stage *s, const char *path, char **partial, bmc_err *err) {
    *partial = bmc_xasprintf("%s.partial", path);
    if (s->rank == 0) {
        char why[BMC_ERR_MSG_MAX];
        if (!bmc_partial_owned(path, why, sizeof why))
            bmc_err_set(err, "brainmclip replaces only what it wrote", "%s", why);
        else if (bmc_path_exists(*partial) && bmc_remove_tree(*partial) != 0)
            bmc_err_set(err, "remove it by hand", "cannot remove the stale partial folder '%s'",
                        *partial);
        if (!err->failed && bmc_mkdir_p(*partial, err) == 0) write_partial_marker(*partial, err);
    }
    return bmc_err_agree(s->comm, err) ? -1 : 0;
}

int bmc_stage_folder_commit(bmc_stage *s, const char *path, const char *partial, bmc_err *err) {
    /* The marker stays in the new folder through the swap, and the previous folder gets one
     * before it: a process killed anywhere in here leaves only folders that a rerun
     * recognises as brainmclip's (a marker, or the manifest of a pending sidecar). */
    if (s->rank == 0) {
        char why[BMC_ERR_MSG_MAX];
        char *marker = bmc_path_join(path, PARTIAL_MARKER);
        if (!bmc_output_owned(path, why, sizeof why))
            bmc_err_set(err, "move it away; the new output stays in the partial folder",
                        "%s %s", path, why);
        else /* keep the stamp, drop the fingerprint: a crash in the swap reruns the stage */
            bmc_sidecar_mark_pending(path, err);
        if (!err->failed && bmc_is_dir(path)) write_partial_marker(path, err);
        bmc_fault_point("swap");
        if (!err->failed && bmc_swap_in(partial, path, err) == 0) {
            if (unlink(marker) != 0)
                bmc_err_set(err, "check the folder's permissions", "cannot remove '%s': %s",
                            marker, strerror(errno));
            else
                bmc_sidecar_write(path, s->fingerprint, err);
        }
        free(marker);
    }
    return bmc_err_agree(s->comm, err) ? -1 : 0;
}

void bmc_stage_folder_discard(const bmc_stage *s, const char *partial) {
    if (s->rank != 0 || !partial) return;
    char *marker = bmc_path_join(partial, PARTIAL_MARKER);
    if (bmc_path_exists(marker)) bmc_remove_tree(partial);
    free(marker);
}
