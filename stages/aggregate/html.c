/* html.c — index.html: one static, self-contained page (inline CSS, no script, no network) with
 * the report's tables, the figures, the run's stage instances with their parameters, the
 * software versions and a link to every output of the run, all relative to the page's folder.
 * Not here: the tables' contents (tables.c), the figures (figures*.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregate.h"
#include "bmc_alloc.h"
#include "bmc_fs.h"

typedef struct hbuf {
    char *s;
    size_t n, cap;
} hbuf;

static void hb_raw(hbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hb_raw(hbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (b->n + (size_t)need + 1 > b->cap) b->s = xrealloc(b->s, b->cap = 2 * (b->n + (size_t)need + 1));
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, (size_t)need + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

/* Text with &, <, >, " escaped. */
static void hb_text(hbuf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': hb_raw(b, "&amp;"); break;
        case '<': hb_raw(b, "&lt;"); break;
        case '>': hb_raw(b, "&gt;"); break;
        case '"': hb_raw(b, "&quot;"); break;
        default: hb_raw(b, "%c", *s);
        }
    }
}

static void table_html(hbuf *b, const ag_table *t) {
    hb_raw(b, "<h3 id=\"%s\">", t->id);
    hb_text(b, t->title);
    hb_raw(b, "</h3>\n");
    if (t->note) {
        hb_raw(b, "<p class=\"note\">");
        hb_text(b, t->note);
        hb_raw(b, "</p>\n");
    }
    hb_raw(b, "<div class=\"scroll\"><table>\n");
    for (int r = 0; r < t->nrow; r++) {
        hb_raw(b, "<tr>");
        for (int c = 0; c < t->ncol; c++) {
            size_t i = (size_t)r * (size_t)t->ncol + (size_t)c;
            const char *tag = r == 0 ? "th" : "td";
            hb_raw(b, "<%s>%s", tag, t->bold[i] ? "<b>" : "");
            hb_text(b, t->cells[i]);
            hb_raw(b, "%s</%s>", t->bold[i] ? "</b>" : "", tag);
        }
        hb_raw(b, "</tr>\n");
    }
    hb_raw(b, "</table></div>\n");
}

/* Software versions: one line per scalar, keys joined by " / ". */
static void software_html(hbuf *b, const bmc_cfg_node *n, const char *prefix) {
    if (!n) return;
    if (n->type == BMC_CFG_MAP || n->type == BMC_CFG_SEQ) {
        for (size_t i = 0; i < n->n; i++) {
            char *p = n->type == BMC_CFG_MAP
                          ? bmc_xasprintf("%s%s%s", prefix, *prefix ? " / " : "", n->keys[i])
                          : bmc_xasprintf("%s[%zu]", prefix, i);
            software_html(b, n->items[i], p);
            free(p);
        }
        return;
    }
    hb_raw(b, "<tr><td>");
    hb_text(b, prefix);
    hb_raw(b, "</td><td><code>");
    hb_text(b, n->text ? n->text : "");
    hb_raw(b, "</code></td></tr>\n");
}

static const char style[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:2em auto;max-width:1180px;"
    "padding:0 1em;color:#222;line-height:1.4}h1{font-size:1.6em}h2{margin-top:2em;border-bottom:"
    "1px solid #ccc}h3{font-size:1.05em;margin-top:1.6em}table{border-collapse:collapse;"
    "font-size:.82em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right;"
    "white-space:nowrap}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
    ".scroll{overflow-x:auto}.note{font-size:.85em;color:#555}figure{margin:1.2em 0}"
    "figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.85em;color:#444}"
    "code,pre{font-size:.85em}pre{background:#f7f7f7;padding:.5em;overflow-x:auto}"
    ".published{background:#fff8e6;padding:.2em 1em;border-left:4px solid #e69f00}";

int ag_write_html(const ag_out *o, const char *path, bmc_err *err) {
    ag_tables tt;
    ag_tables_build(&tt, o);
    const ag_runinfo *ri = o->run;
    char *page_dir = bmc_dirname(path);
    hbuf b = {0};
    hb_raw(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    hb_raw(&b, "<meta name=\"generator\" content=\"");
    hb_text(&b, o->created_by);
    hb_raw(&b, "\">\n<link rel=\"icon\" href=\"data:,\">\n<title>brainmclip run ");
    hb_text(&b, ri->run);
    hb_raw(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>brainmclip: run <code>", style);
    hb_text(&b, ri->run);
    hb_raw(&b, "</code> (workflow <code>");
    hb_text(&b, ri->workflow);
    hb_raw(&b, "</code>)</h1>\n<p>");
    hb_text(&b, o->created_by);
    hb_raw(&b, " aggregated %zu eval files: %d subjects, %ld evaluation images, retrieval "
           "%ld-way over %ld draws, %ld bootstrap resamples of the test images (seed %llu), "
           "%g %% intervals. <b>Every number in the tables of this run's section is the run's "
           "own</b>; published real-NSD results are in a separate, labelled section.</p>\n",
           o->set->n_eval, o->set->n_subj, o->set->m, o->set->way, o->set->draws,
           o->plan->resamples, (unsigned long long)o->plan->seed, 100 * o->plan->level);
    hb_raw(&b, "<p>Retrieval directions (checked against MindEye's evaluation code): "
           "<b>brain→image</b> = each prediction picks its image among the drawn images "
           "(MindEye's <code>bwd</code>); <b>image→brain</b> = each image picks its prediction "
           "(MindEye's <code>fwd</code>).</p>\n");
    hb_raw(&b, "<p>Contents: <a href=\"#tables\">tables</a> · <a href=\"#figures\">figures</a> · "
           "<a href=\"#run\">run</a> · <a href=\"#outputs\">outputs</a> · <a href=\"#published\">"
           "published results</a></p>\n<h2 id=\"tables\">This run: tables</h2>\n");
    for (size_t i = 0; i < tt.n; i++)
        if (strcmp(tt.t[i].id, "published") && strcmp(tt.t[i].id, "stages")) table_html(&b, &tt.t[i]);
    hb_raw(&b, "<h2 id=\"figures\">This run: figures</h2>\n");
    char *figdir = ag_relpath(page_dir, o->plan->out_figures);
    for (size_t i = 0; i < o->n_figures; i++) {
        hb_raw(&b, "<figure><img src=\"");
        hb_text(&b, figdir);
        hb_raw(&b, "/");
        hb_text(&b, o->figures[i]);
        hb_raw(&b, "\" alt=\"");
        hb_text(&b, o->figures[i]);
        hb_raw(&b, "\"><figcaption><b>");
        hb_text(&b, o->figures[i]);
        hb_raw(&b, "</b>: ");
        hb_text(&b, o->captions[i]);
        hb_raw(&b, "</figcaption></figure>\n");
    }
    hb_raw(&b, "<h2 id=\"run\">The run</h2>\n");
    for (size_t i = 0; i < tt.n; i++)
        if (!strcmp(tt.t[i].id, "stages")) table_html(&b, &tt.t[i]);
    hb_raw(&b, "<h3>Parameters of every stage instance</h3>\n");
    for (size_t i = 0; i < ri->n_inst; i++) {
        hb_raw(&b, "<details><summary>");
        hb_text(&b, ri->inst[i].name);
        hb_raw(&b, "</summary><pre>");
        char *txt = bmc_cfg_canonical(ri->inst[i].params);
        hb_text(&b, txt);
        free(txt);
        hb_raw(&b, "</pre></details>\n");
    }
    hb_raw(&b, "<h3>Software versions</h3>\n<table>\n");
    software_html(&b, ri->software, "");
    hb_raw(&b, "</table>\n<h2 id=\"outputs\">Every output of the run</h2>\n<ul>\n");
    for (size_t i = 0; i < ri->n_inst; i++)
        for (size_t k = 0; k < ri->inst[i].n_outputs; k++) {
            char *rel = ag_relpath(page_dir, ri->inst[i].out_paths[k]);
            hb_raw(&b, "<li><a href=\"");
            hb_text(&b, rel);
            hb_raw(&b, "\">");
            hb_text(&b, rel);
            hb_raw(&b, "</a> <span class=\"note\">(");
            hb_text(&b, ri->inst[i].name);
            hb_raw(&b, ": ");
            hb_text(&b, ri->inst[i].out_keys[k]);
            hb_raw(&b, ")</span></li>\n");
            free(rel);
        }
    hb_raw(&b, "</ul>\n<h2 id=\"published\">Published results (not this run)</h2>\n"
           "<div class=\"published\">\n");
    for (size_t i = 0; i < tt.n; i++)
        if (!strcmp(tt.t[i].id, "published")) table_html(&b, &tt.t[i]);
    hb_raw(&b, "</div>\n</body>\n</html>\n");
    free(figdir);
    free(page_dir);
    ag_tables_free(&tt);
    int rc = bmc_write_file_atomic(path, b.s, b.n, err);
    free(b.s);
    return rc;
}
