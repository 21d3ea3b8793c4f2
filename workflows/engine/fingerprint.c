/* fingerprint.c — what each instance depends on, hashed: its fingerprint.
 *
 * An instance's fingerprint is the SHA-256 of the canonical text of its fingerprint tree:
 * stage name, resolved run words, the content hash of the program and of every run word
 * that names a file (a script), the program's --version output, the params without the keys
 * its stage declared speed-only, the output paths, and per input the upstream instance's
 * fingerprint or the content hash of the external file; for an external folder, only the
 * files the stage declared it reads are hashed ("rel<TAB>sha" lines, sorted), else the whole
 * folder. Content hashes go through the results folder's hash cache, so unchanged files cost
 * a stat. The tree is kept for the instance's record, so a later plan can say what changed.
 * Not here: deciding what runs (decide.c), the cache itself (common/bmc_fingerprint.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_log.h"
#include "workflow.h"

/* Progress over the bytes that are not in the cache (only when there are many). */
typedef struct hash_progress {
    bmc_progress p;
    double total_mib, done_mib;
    int on;
} hash_progress;

#define PROGRESS_MIB 1024.0

/* Hash one file or folder, counting its bytes into the progress. */
static int hash_logged(hash_progress *hp, const char *path, char hex[BMC_SHA256_HEX],
                       bmc_err *err) {
    bmc_hash_stats before, after;
    bmc_hash_stats_get(&before);
    int rc = bmc_sha256_path(path, hex, err);
    bmc_hash_stats_get(&after);
    if (hp->on) {
        hp->done_mib += (after.bytes_read - before.bytes_read) / 1048576.0;
        bmc_progress_update(&hp->p, (long)hp->done_mib);
    }
    return rc;
}

/* A file planning will read: its identity and size. */
typedef struct file_id {
    unsigned long long dev, ino;
    double mib;
} file_id;

typedef struct file_ids {
    file_id *v;
    size_t n, cap;
} file_ids;

/* Add path when it is a regular file the cache does not know (folders count as they go). */
static void add_uncached(file_ids *l, const char *path) {
    struct stat st;
    char hex[BMC_SHA256_HEX];
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || bmc_hash_cache_lookup(path, hex)) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = xrealloc(l->v, bmc_mul_size(l->cap, sizeof *l->v));
    }
    l->v[l->n++] = (file_id){(unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                             (double)st.st_size / 1048576.0};
}

static int cmp_file_id(const void *a, const void *b) {
    const file_id *x = a, *y = b;
    return x->dev != y->dev ? (x->dev < y->dev ? -1 : 1)
           : x->ino != y->ino ? (x->ino < y->ino ? -1 : 1) : 0;
}

/* Sum what planning will read, each file once however many instances read it, and start a
 * progress line when it is a lot. */
static void progress_start(const wf_workflow *wf, hash_progress *hp) {
    memset(hp, 0, sizeof *hp);
    file_ids l = {0};
    for (size_t k = 0; k < wf->n_inst; k++) {
        const wf_instance *in = &wf->inst[k];
        add_uncached(&l, in->exe);
        for (size_t i = 0; i < in->n_inputs; i++) {
            const wf_path *p = &in->inputs[i];
            if (p->producer != WF_NONE) continue;
            for (size_t r = 0; r < p->n_reads; r++) {
                char *f = bmc_path_join(p->path, p->reads[r]);
                add_uncached(&l, f);
                free(f);
            }
            if (!p->declared) add_uncached(&l, p->path);
        }
    }
    if (l.n) qsort(l.v, l.n, sizeof *l.v, cmp_file_id);
    for (size_t j = 0; j < l.n; j++)
        if (j == 0 || cmp_file_id(&l.v[j], &l.v[j - 1])) hp->total_mib += l.v[j].mib;
    free(l.v);
    hp->on = hp->total_mib >= PROGRESS_MIB;
    if (hp->on) bmc_progress_start(&hp->p, "fingerprints", "MiB", (long)hp->total_mib + 1);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The fingerprint of an external folder input from the files the stage declared it reads;
 * *files = {rel: sha}. Missing declared files are an error at the input's position. */
static int hash_declared(hash_progress *hp, const wf_instance *in, wf_path *p,
                         bmc_cfg_node **files, bmc_err *err) {
    if (p->n_missing > 0)
        return bmc_cfg_error_at(p->node, err,
                                "check the folder (and the params that choose the files, such "
                                "as the subject or the sessions)",
                                "input '%s' of '%s' is the folder %s, which lacks '%s' that the "
                                "stage reads%s",
                                p->name, in->name, p->path, p->missing[0],
                                p->n_missing > 1 ? " (and more)" : "");
    if (p->n_reads) qsort(p->reads, p->n_reads, sizeof *p->reads, cmp_str);
    *files = bmc_cfg_new_map();
    bmc_sha256 h;
    bmc_sha256_init(&h);
    int rc = 0;
    for (size_t r = 0; r < p->n_reads && !rc; r++) {
        char *full = bmc_path_join(p->path, p->reads[r]);
        char hex[BMC_SHA256_HEX];
        rc = hash_logged(hp, full, hex, err);
        free(full);
        if (rc) break;
        bmc_cfg_map_set(*files, p->reads[r], bmc_cfg_new_string(hex));
        bmc_sha256_update(&h, p->reads[r], strlen(p->reads[r]));
        bmc_sha256_update(&h, "\t", 1);
        bmc_sha256_update(&h, hex, 64);
        bmc_sha256_update(&h, "\n", 1);
    }
    bmc_sha256_final(&h, p->fingerprint);
    return rc;
}

/* Fingerprint of every input of in: upstream fingerprints, or content hashes. */
static int hash_inputs(wf_workflow *wf, hash_progress *hp, wf_instance *in, bmc_err *err) {
    for (size_t i = 0; i < in->n_inputs; i++) {
        wf_path *p = &in->inputs[i];
        if (p->producer != WF_NONE) {
            memcpy(p->fingerprint, wf->inst[p->producer].fingerprint, BMC_SHA256_HEX);
            continue;
        }
        int rc;
        if (p->declared && bmc_is_dir(p->path)) {
            bmc_cfg_node *files = NULL;
            rc = hash_declared(hp, in, p, &files, err);
            if (files) {
                if (!in->input_files) in->input_files = bmc_cfg_new_map();
                bmc_cfg_map_set(in->input_files, p->name, files);
            }
        } else {
            rc = hash_logged(hp, p->path, p->fingerprint, err);
        }
        if (rc) {
            if (strncmp(err->msg, p->node->file, strlen(p->node->file)) != 0) /* not placed yet */
                bmc_err_prefix(err, "%s:%d:%d: input '%s' of '%s'", p->node->file, p->node->line,
                               p->node->col, p->name, in->name);
            return -1;
        }
    }
    return 0;
}

/* {word: sha} of the program (run word 0, as written) and of run words naming files. */
static int hash_programs(hash_progress *hp, const wf_instance *in, bmc_cfg_node **out,
                         bmc_err *err) {
    *out = bmc_cfg_new_map();
    for (size_t w = 0; w < in->n_run_words; w++) {
        const char *path = w == 0 ? in->exe : in->run_words[w];
        struct stat st;
        if (w > 0 && (stat(path, &st) != 0 || !S_ISREG(st.st_mode))) continue;
        char hex[BMC_SHA256_HEX];
        if (hash_logged(hp, path, hex, err)) return -1;
        bmc_cfg_map_set(*out, in->run_words[w], bmc_cfg_new_string(hex));
    }
    return 0;
}

/* params without the stage's speed-only keys. */
static bmc_cfg_node *result_params(const wf_instance *in) {
    bmc_cfg_node *out = bmc_cfg_new_map();
    for (size_t k = 0; k < in->params->n; k++) {
        int speed = 0;
        for (size_t j = 0; j < in->n_speed_only && !speed; j++)
            speed = !strcmp(in->params->keys[k], in->speed_only[j]);
        if (!speed) bmc_cfg_map_set(out, in->params->keys[k], bmc_cfg_clone(in->params->items[k]));
    }
    return out;
}

int wf_fingerprints(wf_workflow *wf, bmc_err *err) {
    bmc_hash_cache_open(wf->hash_cache);
    hash_progress hp;
    progress_start(wf, &hp);
    double t0 = bmc_now();
    int rc = 0;
    for (size_t o = 0; o < wf->n_inst && !rc; o++) {
        wf_instance *in = &wf->inst[wf->order[o]];
        bmc_cfg_node *programs = NULL;
        rc = hash_inputs(wf, &hp, in, err);
        if (!rc) rc = hash_programs(&hp, in, &programs, err);
        if (rc) {
            if (programs) bmc_cfg_free_node(programs);
            break;
        }
        bmc_cfg_node *t = bmc_cfg_new_map();
        bmc_cfg_map_set(t, "stage", bmc_cfg_new_string(wf->stages[in->stage].name));
        bmc_cfg_node *run = bmc_cfg_new_seq();
        for (size_t w = 0; w < in->n_run_words; w++)
            bmc_cfg_seq_push(run, bmc_cfg_new_string(in->run_words[w]));
        bmc_cfg_map_set(t, "run", run);
        bmc_cfg_map_set(t, "programs", programs);
        bmc_cfg_map_set(t, "version", bmc_cfg_new_string(wf->versions[in->version].output));
        bmc_cfg_map_set(t, "params", result_params(in));
        bmc_cfg_map_set(t, "outputs", wf_paths_tree(in->outputs, in->n_outputs, 0));
        bmc_cfg_map_set(t, "inputs", wf_paths_tree(in->inputs, in->n_inputs, 1));
        bmc_sha256_cfg(t, in->fingerprint);
        in->fp_tree = t;
    }
    if (hp.on) bmc_progress_finish(&hp.p, (long)hp.done_mib);
    bmc_hash_stats st;
    bmc_hash_stats_get(&st);
    bmc_log_info("fingerprints: %ld file%s read (%.1f MB in %.3f s), %ld unchanged file%s "
                 "(%.1f MB) from the hash cache",
                 st.files_read, st.files_read == 1 ? "" : "s", st.bytes_read / 1e6,
                 bmc_now() - t0, st.files_cached, st.files_cached == 1 ? "" : "s",
                 st.bytes_cached / 1e6);
    bmc_err cache_err = {0};
    if (bmc_hash_cache_save(1, &cache_err) != 0)
        bmc_log_warn("hash cache %s not saved: %s", wf->hash_cache, cache_err.msg);
    bmc_hash_cache_close();
    return rc ? -1 : 0;
}

/* ---- what changed ------------------------------------------------------------------------ */

typedef struct diff_text {
    char buf[1024];
    size_t len;
    int n;
} diff_text;

static void say(diff_text *d, const char *fmt, ...) BMC_PRINTF(2, 3);
static void say(diff_text *d, const char *fmt, ...) {
    if (d->n++ >= 4 || d->len >= sizeof d->buf - 8) {
        if (d->n == 5) d->len += (size_t)snprintf(d->buf + d->len, sizeof d->buf - d->len, "; …");
        return;
    }
    if (d->len) d->len += (size_t)snprintf(d->buf + d->len, sizeof d->buf - d->len, "; ");
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(d->buf + d->len, sizeof d->buf - d->len, fmt, ap);
    va_end(ap);
    if (w > 0) d->len += (size_t)w;
    if (d->len >= sizeof d->buf) d->len = sizeof d->buf - 1;
}

/* Canonical text of a node, cut to 40 characters (heap). */
static char *brief(const bmc_cfg_node *n) {
    char *t = bmc_cfg_canonical(n);
    if (strlen(t) > 40) strcpy(t + 37, "...");
    return t;
}

static int node_equal(const bmc_cfg_node *a, const bmc_cfg_node *b) {
    char *x = bmc_cfg_canonical(a), *y = bmc_cfg_canonical(b);
    int eq = !strcmp(x, y);
    free(x);
    free(y);
    return eq;
}

/* Keys of map a that differ in b (changed, added, removed), said as "<what> KEY ...". */
static void diff_maps(diff_text *d, const char *what, const bmc_cfg_node *old,
                      const bmc_cfg_node *cur, int show_values) {
    for (size_t k = 0; cur && k < cur->n; k++) {
        const bmc_cfg_node *was = bmc_cfg_get(old, cur->keys[k]);
        if (was && node_equal(was, cur->items[k])) continue;
        if (!was) {
            say(d, "%s %s added", what, cur->keys[k]);
        } else if (show_values) {
            char *a = brief(was), *b = brief(cur->items[k]);
            say(d, "%s %s: %s → %s", what, cur->keys[k], a, b);
            free(a);
            free(b);
        } else {
            say(d, "%s %s changed", what, cur->keys[k]);
        }
    }
    for (size_t k = 0; old && old->type == BMC_CFG_MAP && k < old->n; k++)
        if (!bmc_cfg_get(cur, old->keys[k])) say(d, "%s %s removed", what, old->keys[k]);
}

/* Inputs that changed: which files of a folder, or which upstream instance. */
static void diff_inputs(diff_text *d, const wf_instance *in, const bmc_cfg_node *old,
                        const bmc_cfg_node *old_files) {
    const bmc_cfg_node *cur = bmc_cfg_get(in->fp_tree, "inputs");
    for (size_t k = 0; k < cur->n; k++) {
        const char *name = cur->keys[k];
        const bmc_cfg_node *was = bmc_cfg_get(old, name);
        if (was && node_equal(was, cur->items[k])) continue;
        const bmc_cfg_node *f_old = bmc_cfg_get(old_files, name);
        const bmc_cfg_node *f_cur = bmc_cfg_get(in->input_files, name);
        const wf_path *p = NULL;
        for (size_t i = 0; i < in->n_inputs && !p; i++)
            if (!strcmp(in->inputs[i].name, name)) p = &in->inputs[i];
        if (!was) {
            say(d, "input %s added", name);
        } else if (f_old && f_cur) {
            char what[300];
            snprintf(what, sizeof what, "input %s: file", name);
            diff_maps(d, what, f_old, f_cur, 0);
        } else if (p && p->producer != WF_NONE) {
            say(d, "input %s (from upstream)", name);
        } else {
            say(d, "input %s (content)", name);
        }
    }
    for (size_t k = 0; old && old->type == BMC_CFG_MAP && k < old->n; k++)
        if (!bmc_cfg_get(cur, old->keys[k])) say(d, "input %s removed", old->keys[k]);
}

char *wf_fingerprint_diff(const wf_instance *in, const bmc_cfg_node *old_tree,
                          const bmc_cfg_node *old_files) {
    diff_text d = {{0}, 0, 0};
    const bmc_cfg_node *t = in->fp_tree;
    if (!node_equal(bmc_cfg_get(old_tree, "run"), bmc_cfg_get(t, "run"))) say(&d, "run command");
    diff_maps(&d, "program", bmc_cfg_get(old_tree, "programs"), bmc_cfg_get(t, "programs"), 0);
    if (!node_equal(bmc_cfg_get(old_tree, "version"), bmc_cfg_get(t, "version")))
        say(&d, "program version");
    diff_maps(&d, "param", bmc_cfg_get(old_tree, "params"), bmc_cfg_get(t, "params"), 1);
    if (!node_equal(bmc_cfg_get(old_tree, "outputs"), bmc_cfg_get(t, "outputs")))
        say(&d, "output paths");
    diff_inputs(&d, in, bmc_cfg_get(old_tree, "inputs"), old_files);
    if (!node_equal(bmc_cfg_get(old_tree, "stage"), bmc_cfg_get(t, "stage"))) say(&d, "stage name");
    return d.len ? xstrdup(d.buf) : NULL;
}
