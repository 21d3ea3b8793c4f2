/* report.c — summary.csv (one row per statistic, the columns of docs/FORMATS.md), summary.json
 * (the same rows plus the run, the settings, the matrices, the figures and the published
 * table) and summary.md (the tables of tables.c). Doubles are written with 17 significant
 * digits, so a reader recomputes them exactly; missing values are empty (CSV) or null (JSON).
 * Nothing time-dependent is written: the files are identical for any rank count and rerun.
 * Not here: computing rows (rows.c), the page (html.c).
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_fs.h"

/* ---- a growing text buffer -------------------------------------------------------------- */

typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->n + (size_t)need + 1 > b->cap) {
        b->cap = (b->n + (size_t)need + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

static int sb_write(sbuf *b, const char *path, bmc_err *err) {
    int rc = bmc_write_file_atomic(path, b->s ? b->s : "", b->n, err);
    free(b->s);
    memset(b, 0, sizeof *b);
    return rc;
}

/* ---- CSV -------------------------------------------------------------------------------- */

static const char *const columns[] = {
    "section", "scope", "train_subject", "test_subject", "decoder", "rescale", "metric",
    "higher_is_better", "way", "draws", "n_images", "n_subjects", "resamples", "value", "sd",
    "ci_lo", "ci_hi", "verdict"};
enum { N_COLUMNS = sizeof columns / sizeof *columns };

static void csv_num(sbuf *b, double v) {
    if (isnan(v)) sb_printf(b, ",");
    else sb_printf(b, ",%.17g", v);
}

static void csv_int(sbuf *b, long long v) {
    if (v < 0) sb_printf(b, ",");
    else sb_printf(b, ",%lld", v);
}

int ag_write_csv(const ag_out *o, const char *path, bmc_err *err) {
    sbuf b = {0};
    for (int c = 0; c < N_COLUMNS; c++) sb_printf(&b, "%s%s", c ? "," : "", columns[c]);
    sb_printf(&b, "\n");
    for (size_t i = 0; i < o->rows->n; i++) {
        const ag_row *r = &o->rows->row[i];
        sb_printf(&b, "%s,%s", ag_section_name[r->section], ag_scope_name[r->scope]);
        csv_int(&b, r->train);
        csv_int(&b, r->test);
        sb_printf(&b, ",%s,%s,%s", r->decoder, r->rescale, r->metric);
        csv_int(&b, r->higher_better);
        csv_int(&b, r->way);
        csv_int(&b, r->draws);
        csv_int(&b, r->n_images);
        csv_int(&b, r->n_subjects);
        csv_int(&b, r->resamples);
        csv_num(&b, r->value);
        csv_num(&b, r->sd);
        csv_num(&b, r->lo);
        csv_num(&b, r->hi);
        sb_printf(&b, ",%s\n", r->verdict);
    }
    return sb_write(&b, path, err);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void add_num(cJSON *o, const char *k, double v) {
    if (isnan(v)) cJSON_AddNullToObject(o, k);
    else cJSON_AddNumberToObject(o, k, v);
}

static void add_int(cJSON *o, const char *k, long long v) {
    if (v < 0) cJSON_AddNullToObject(o, k);
    else cJSON_AddNumberToObject(o, k, (double)v);
}

static void add_str(cJSON *o, const char *k, const char *v) {
    if (!v || !*v) cJSON_AddNullToObject(o, k);
    else cJSON_AddStringToObject(o, k, v);
}

/* A config subtree (software_versions.yaml, params) as JSON. */
static cJSON *cfg_json(const bmc_cfg_node *n) {
    if (!n) return cJSON_CreateNull();
    switch (n->type) {
    case BMC_CFG_MAP: {
        cJSON *o = cJSON_CreateObject();
        for (size_t i = 0; i < n->n; i++) cJSON_AddItemToObject(o, n->keys[i], cfg_json(n->items[i]));
        return o;
    }
    case BMC_CFG_SEQ: {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < n->n; i++) cJSON_AddItemToArray(a, cfg_json(n->items[i]));
        return a;
    }
    case BMC_CFG_NULL: return cJSON_CreateNull();
    case BMC_CFG_BOOL: return cJSON_CreateBool(n->v.b);
    case BMC_CFG_INT: return cJSON_CreateNumber((double)n->v.i);
    case BMC_CFG_FLOAT: return cJSON_CreateNumber(n->v.f);
    default: return cJSON_CreateString(n->text ? n->text : "");
    }
}

static cJSON *row_json(const ag_row *r) {
    cJSON *o = cJSON_CreateObject();
    add_str(o, "section", ag_section_name[r->section]);
    add_str(o, "scope", ag_scope_name[r->scope]);
    add_int(o, "train_subject", r->train);
    add_int(o, "test_subject", r->test);
    add_str(o, "decoder", r->decoder);
    add_str(o, "rescale", r->rescale);
    add_str(o, "metric", r->metric);
    add_int(o, "higher_is_better", r->higher_better);
    add_int(o, "way", r->way);
    add_int(o, "draws", r->draws);
    add_int(o, "n_images", r->n_images);
    add_int(o, "n_subjects", r->n_subjects);
    add_int(o, "resamples", r->resamples);
    add_num(o, "value", r->value);
    add_num(o, "sd", r->sd);
    add_num(o, "ci_lo", r->lo);
    add_num(o, "ci_hi", r->hi);
    add_str(o, "verdict", r->verdict);
    return o;
}

static cJSON *run_json(const ag_out *o) {
    const ag_runinfo *ri = o->run;
    cJSON *run = cJSON_CreateObject();
    add_str(run, "workflow", ri->workflow);
    add_str(run, "run", ri->run);
    add_str(run, "pipeline_info", ri->dir);
    cJSON *st = cJSON_AddArrayToObject(run, "instances");
    for (size_t i = 0; i < ri->n_inst; i++) {
        const ag_instance *in = &ri->inst[i];
        cJSON *x = cJSON_CreateObject();
        add_str(x, "instance", in->name);
        add_str(x, "stage", in->stage);
        add_str(x, "fingerprint", in->fingerprint);
        add_num(x, "wall_s", in->wall_s);
        add_int(x, "ranks", in->ranks > 0 ? in->ranks : -1);
        cJSON_AddItemToObject(x, "params", cfg_json(in->params));
        cJSON_AddItemToArray(st, x);
    }
    cJSON_AddItemToObject(run, "software", cfg_json(ri->software));
    return run;
}

static cJSON *settings_json(const ag_out *o) {
    const ag_set *s = o->set;
    cJSON *x = cJSON_CreateObject();
    add_int(x, "n_images", s->m);
    add_int(x, "n_align", s->n_align);
    add_int(x, "n_gallery", s->n_gallery);
    add_int(x, "way", s->way);
    add_int(x, "draws", s->draws);
    add_int(x, "retrieval_seed", s->seed);
    add_num(x, "fusion_weight", s->fusion_weight);
    add_str(x, "gallery", s->gallery);
    add_str(x, "ssim_mode", s->ssim_mode);
    add_int(x, "resamples", o->plan->resamples);
    add_int(x, "bootstrap_seed", (long long)o->plan->seed);
    add_num(x, "ci_level", o->plan->level);
    add_int(x, "target_block", AG_TARGET_BLOCK);
    return x;
}

static cJSON *matrices_json(const ag_out *o) {
    const ag_set *set = o->set;
    cJSON *all = cJSON_CreateArray();
    for (size_t e0 = 0; e0 < set->n_eval; e0++) {
        if (e0 && !strcmp(set->ev[e0].rescale, set->ev[e0 - 1].rescale)) continue;
        const char *rs = set->ev[e0].rescale;
        for (int b = 0; b < AG_N_BRANCH; b++)
            for (int k = 0; k < AG_N_METRIC; k++) {
                int any = 0;
                for (size_t e = 0; e < set->n_eval; e++)
                    any |= !strcmp(set->ev[e].rescale, rs) && set->ev[e].br[b].has[k];
                if (!any) continue;
                cJSON *m = cJSON_CreateObject();
                add_str(m, "metric", ag_metric[k].key);
                add_str(m, "decoder", ag_branch_name[b]);
                add_str(m, "rescale", rs);
                cJSON *rows = cJSON_AddArrayToObject(m, "values");
                for (int r = 0; r < set->n_subj; r++) {
                    cJSON *row = cJSON_CreateArray();
                    for (int c = 0; c < set->n_subj; c++) {
                        long e = ag_find_eval(set, set->subjects[r], set->subjects[c], rs);
                        cJSON_AddItemToArray(row, e >= 0 && set->ev[e].br[b].has[k]
                                                      ? cJSON_CreateNumber(set->ev[e].br[b].point[k])
                                                      : cJSON_CreateNull());
                    }
                    cJSON_AddItemToArray(rows, row);
                }
                cJSON_AddItemToArray(all, m);
            }
    }
    return all;
}

int ag_write_json(const ag_out *o, const char *path, bmc_err *err) {
    const ag_set *set = o->set;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "format", "bmc.summary");
    cJSON_AddNumberToObject(root, "format_version", 1);
    add_str(root, "created_by", o->created_by);
    add_str(root, "config_sha256", o->params_sha256);
    cJSON_AddItemToObject(root, "run", run_json(o));
    cJSON_AddItemToObject(root, "settings", settings_json(o));
    cJSON *subj = cJSON_AddArrayToObject(root, "subjects");
    for (int i = 0; i < set->n_subj; i++)
        cJSON_AddItemToArray(subj, cJSON_CreateNumber((double)set->subjects[i]));
    cJSON *ev = cJSON_AddArrayToObject(root, "evals");
    for (size_t e = 0; e < set->n_eval; e++) {
        cJSON *x = cJSON_CreateObject();
        add_str(x, "path", set->ev[e].path);
        add_int(x, "train_subject", set->ev[e].train);
        add_int(x, "test_subject", set->ev[e].test);
        add_str(x, "rescale", set->ev[e].rescale);
        add_str(x, "fingerprint", set->ev[e].fingerprint);
        add_str(x, "predictions", set->ev[e].predictions);
        add_str(x, "montage", set->ev[e].montage);
        for (int b = 0; b < 2; b++) add_str(x, b ? "semantic_mapping" : "detail_mapping",
                                            set->ev[e].br[b].mapping);
        cJSON_AddItemToArray(ev, x);
    }
    cJSON *mets = cJSON_AddArrayToObject(root, "metrics");
    for (int k = 0; k < AG_N_METRIC; k++) {
        const ag_metric_info *mi = &ag_metric[k];
        cJSON *x = cJSON_CreateObject();
        add_str(x, "key", mi->key);
        add_str(x, "label", mi->label);
        add_str(x, "unit", mi->unit);
        add_str(x, "kind", mi->kind == AG_PER_TARGET ? "per_target"
                           : mi->kind == AG_PER_IMAGE ? "per_image" : "per_draw");
        cJSON_AddBoolToObject(x, "higher_is_better", mi->higher_better);
        add_str(x, "note", mi->note);
        if (mi->kind == AG_PER_DRAW) {
            add_str(x, "direction", k == AG_RET_B2I ? "brain_to_image" : "image_to_brain");
            add_int(x, "way", set->way);
            add_int(x, "draws", set->draws);
        }
        cJSON_AddItemToArray(mets, x);
    }
    cJSON *cols = cJSON_AddArrayToObject(root, "columns");
    for (int c = 0; c < N_COLUMNS; c++) cJSON_AddItemToArray(cols, cJSON_CreateString(columns[c]));
    cJSON *rows = cJSON_AddArrayToObject(root, "rows");
    for (size_t i = 0; i < o->rows->n; i++) cJSON_AddItemToArray(rows, row_json(&o->rows->row[i]));
    cJSON_AddItemToObject(root, "matrices", matrices_json(o));
    cJSON *figs = cJSON_AddArrayToObject(root, "figures");
    for (size_t i = 0; i < o->n_figures; i++) {
        cJSON *x = cJSON_CreateObject();
        add_str(x, "file", o->figures[i]);
        add_str(x, "caption", o->captions[i]);
        cJSON_AddItemToArray(figs, x);
    }
    cJSON *pub = cJSON_AddObjectToObject(root, "published_real_nsd");
    add_str(pub, "note", ag_published_note);
    cJSON *prow = cJSON_AddArrayToObject(pub, "rows");
    for (size_t i = 0; i < ag_n_published; i++) {
        cJSON *x = cJSON_CreateObject();
        add_str(x, "method", ag_published_rows[i].method);
        add_str(x, "what", ag_published_rows[i].what);
        add_str(x, "value", ag_published_rows[i].value);
        add_str(x, "source", ag_published_rows[i].source);
        cJSON_AddItemToArray(prow, x);
    }
    char *text = cJSON_Print(root);
    sbuf b = {0};
    sb_printf(&b, "%s\n", text);
    cJSON_free(text);
    cJSON_Delete(root);
    return sb_write(&b, path, err);
}

/* ---- Markdown --------------------------------------------------------------------------- */

/* A table cell for Markdown: '|' escaped. */
static void md_cell(sbuf *b, const char *s, int bold) {
    sb_printf(b, " %s", bold ? "**" : "");
    for (const char *c = s; *c; c++) sb_printf(b, *c == '|' ? "\\|" : "%c", *c);
    sb_printf(b, "%s |", bold ? "**" : "");
}

static void md_table(sbuf *b, const ag_table *t) {
    sb_printf(b, "\n### %s\n\n", t->title);
    if (t->note) sb_printf(b, "%s\n\n", t->note);
    for (int r = 0; r < t->nrow; r++) {
        sb_printf(b, "|");
        for (int c = 0; c < t->ncol; c++) {
            size_t i = (size_t)r * (size_t)t->ncol + (size_t)c;
            md_cell(b, t->cells[i], t->bold[i]);
        }
        sb_printf(b, "\n");
        if (r == 0) {
            sb_printf(b, "|");
            for (int c = 0; c < t->ncol; c++) sb_printf(b, "%s", c < 1 ? "---|" : "---:|");
            sb_printf(b, "\n");
        }
    }
}

int ag_write_md(const ag_out *o, const char *path, bmc_err *err) {
    const ag_set *set = o->set;
    ag_tables tt;
    ag_tables_build(&tt, o);
    sbuf b = {0};
    sb_printf(&b, "# Study summary: run `%s` (workflow `%s`)\n\n", o->run->run ? o->run->run : "?",
              o->run->workflow ? o->run->workflow : "?");
    sb_printf(&b, "Made by %s from %zu eval files: %d subjects, %ld evaluation images (the "
              "same for every pair), retrieval %ld-way over %ld draws, fusion weight %g on "
              "detail, %ld bootstrap resamples of the test images (seed %llu), %g %% intervals. "
              "Every number in the tables below is this run's; published real-NSD results are "
              "quoted separately at the end. The machine-readable rows are in summary.csv / "
              "summary.json (docs/FORMATS.md, bmc.summary).\n",
              o->created_by, set->n_eval, set->n_subj, set->m, set->way, set->draws,
              set->fusion_weight, o->plan->resamples, (unsigned long long)o->plan->seed,
              100 * o->plan->level);
    sb_printf(&b, "\nRetrieval directions (checked against MindEye's evaluation code, "
              "docs/FORMATS.md): **brain→image** = each prediction picks its image among the "
              "drawn images (MindEye's `bwd`); **image→brain** = each image picks its "
              "prediction (MindEye's `fwd`, the number its code prints first).\n");
    for (size_t i = 0; i < tt.n; i++) {
        if (!strcmp(tt.t[i].id, "published")) {
            sb_printf(&b, "\n## Published results (not this run)\n");
        } else if (i == 0) {
            sb_printf(&b, "\n## This run\n");
        }
        md_table(&b, &tt.t[i]);
    }
    if (o->n_figures) {
        char *dir = bmc_dirname(path), *fig = ag_relpath(dir, o->plan->out_figures);
        sb_printf(&b, "\n## Figures\n\n");
        for (size_t i = 0; i < o->n_figures; i++)
            sb_printf(&b, "* [%s](%s/%s): %s\n", o->figures[i], fig, o->figures[i], o->captions[i]);
        free(dir), free(fig);
    }
    ag_tables_free(&tt);
    return sb_write(&b, path, err);
}
