/* main.c — bmc-train: one subject's decoders (fMRI group → CLIP features, ridge with a penalty
 * per target/token/group) and encoding models (CLIP features → fMRI voxels, held-out R² maps),
 * on a 2-D process grid. Reads the config (train_read_plan), validates every input before any
 * output exists, then fits and writes model_subjXX.h5 (.partial, renamed at the end) and the
 * NIfTI R² maps (<maps>.partial/, renamed). Any agreed error leaves neither.
 * Not here: the config (plan.c), the solver (common/ridge), inputs (mapping.c), encoding
 * (encoding.c), output (model_io.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc_alloc.h"
#include "bmc_fs.h"
#include "bmc_grid.h"
#include "bmc_log.h"
#include "bmc_stage.h"
#include "train.h"

static const char usage[] =
    "usage: bmc-train --config STAGE.yaml\n"
    "\n"
    "BrainMCLIP's linear decoders (fMRI-Detail -> CLIP-Detail, fMRI-Semantic -> CLIP-Semantic,\n"
    "and any mapping named in the config) and encoding models (CLIP -> fMRI, self and cross)\n"
    "of one subject, solved as distributed ridge regressions with ScaLAPACK.\n"
    "\n"
    "inputs:\n"
    "  fmri           the subject's bmc.fmri file (bmc-extract-fmri)\n"
    "  features       the bmc.clip file of the same images (bmc-extract-clip)\n"
    "  reference      optional NIfTI on the subject grid whose geometry the R² maps copy\n"
    "outputs:\n"
    "  model          model_subjXX.h5 (format bmc.model, docs/FORMATS.md)\n"
    "  maps           optional folder for encoding_r2_<map>.nii.gz\n"
    "params:\n"
    "  mappings       name -> {x: fMRI group, y: CLIP dataset, tokens: [i, ...] |\n"
    "                 {start, stop}} (default detail: {x: detail, y: detail},\n"
    "                 semantic: {x: semantic, y: semantic})\n"
    "  only           list of mapping names to run (default all)\n"
    "  alphas         strictly increasing penalties > 0 (default 17 values 10^-1 .. 10^7)\n"
    "  cv             loo | gcv | kfold (default loo: exact leave-one-out)\n"
    "  score_precision  mixed | double (default mixed): loo's per-penalty GEMMs in float32,\n"
    "                 near ties (scores within 1e-5) rescored in float64, so the chosen\n"
    "                 penalties are float64's; model always float64 (double: all float64)\n"
    "  folds          k for kfold (default 5)\n"
    "  granularity    target | token | group (default target); group: CLS/pooled vs patches\n"
    "  global_weight, fine_weight   weights of the group criterion (default 1, 1)\n"
    "  mem_per_rank   bytes or \"512M\" / \"2G\" (default 1G)\n"
    "  grid           [nprow, npcol] (default: the squarest grid)\n"
    "  encoding       fit the encoding maps and write R² (default true)\n"
    "  voxel_weighting  none | weight | select (default none), with r2_threshold (default 0)\n"
    "  dtype          float32 | float64 for W, dual_coef, X_train_centred (default float32)\n";

/* One encoding map: CLIP dataset (with the token choice of its mapping) → fMRI group. */
typedef struct enc_spec {
    char name[200];
    const char *dataset, *group;
    const bmc_cfg_node *tokens;
    int gi; /* index of the group */
} enc_spec;

typedef struct run_state {
    train_plan plan;
    bmc_grid grid;
    train_inputs in;
    const char **gname; /* loaded groups */
    train_group *grp;
    int n_grp;
    enc_spec *enc;
    int n_enc;
    double **self_r2; /* per group: R² of its self map (NULL until fitted) */
} run_state;

static int group_index(run_state *r, const char *name) {
    for (int i = 0; i < r->n_grp; i++)
        if (!strcmp(r->gname[i], name)) return i;
    r->gname[r->n_grp] = name;
    return r->n_grp++;
}

/* Local: the encoding maps of the mappings that run (self, then cross), without repeats. */
static void plan_encoding(run_state *r) {
    const train_plan *p = &r->plan;
    r->enc = xcalloc((size_t)p->n_map * (size_t)p->n_map + 1, sizeof *r->enc);
    for (int i = 0; i < p->n_map; i++) {
        if (!p->map[i].run) continue;
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j < p->n_map; j++) {
                const train_mapping *a = &p->map[i], *b = &p->map[j];
                if ((pass == 0) != (i == j)) continue;
                if (pass == 1 && !strcmp(a->y_dataset, b->y_dataset)) continue;
                enc_spec e = {.dataset = b->y_dataset, .group = a->x_group,
                              .tokens = b->tokens, .gi = group_index(r, a->x_group)};
                snprintf(e.name, sizeof e.name, "%s_to_%s", e.dataset, e.group);
                int dup = 0;
                for (int k = 0; k < r->n_enc; k++) dup |= !strcmp(r->enc[k].name, e.name);
                if (!dup) r->enc[r->n_enc++] = e;
            }
    }
}

/* Local: the ridge problem of a decoder from p voxels to the reader's columns, with the plan's
 * penalty choice; group granularity: group_of (the reader's columns) and the two weights gw. */
static ridge_problem decoder_problem(const run_state *r, int p, const feat_reader *fr,
                                     const int *group_of, const double *gw, size_t budget) {
    const train_plan *pl = &r->plan;
    return (ridge_problem){
        .grid = &r->grid,
        .n = (int)r->in.n_train,
        .p = p,
        .t = feat_reader_cols(fr),
        .n_alpha = pl->n_alpha,
        .alphas = pl->alphas,
        .mode = pl->mode,
        .kfold = pl->kfold,
        .grain = pl->grain,
        .token_size = fr->W,
        .n_groups = 2,
        .group_of = group_of,
        .group_weight = gw,
        .mem_budget = budget,
        .precision = pl->precision,
    };
}

/* Collective: the decoder of mapping m, fitted and written into f. */
static int run_decoder(run_state *r, const train_mapping *m, bmc_h5 *f, bmc_err *err) {
    const train_plan *p = &r->plan;
    const train_group *g = &r->grp[group_index(r, m->x_group)];
    const double *r2 = r->self_r2[group_index(r, m->x_group)];
    /* Voxels and their scale. */
    int *vidx = XNEW(vidx, g->p);
    double *vscale = XNEW(vscale, g->p);
    int pk = 0;
    for (int j = 0; j < g->p; j++) {
        double w = 1.0;
        if (p->voxel_weighting == VOXW_WEIGHT) w = r2 && r2[j] > 0 ? r2[j] : 0.0;
        if (p->voxel_weighting == VOXW_SELECT && !(r2 && r2[j] > p->r2_threshold)) w = 0.0;
        if (w > 0) {
            vidx[pk] = j;
            vscale[pk++] = w;
        }
    }
    if (pk == 0) {
        free(vidx);
        free(vscale);
        return bmc_err_set(err, "lower r2_threshold or use voxel_weighting: none",
                           "mapping '%s': no voxel of group '%s' is left after voxel_weighting "
                           "(encoding R² above %g)", m->name, g->name,
                           p->voxel_weighting == VOXW_SELECT ? p->r2_threshold : 0.0);
    }
    double *x = XNEW(x, (size_t)g->nloc * (size_t)pk + 1);
    for (long i = 0; i < g->nloc; i++)
        for (int j = 0; j < pk; j++)
            x[(size_t)i * (size_t)pk + (size_t)j] = g->x[(size_t)i * (size_t)g->p + (size_t)vidx[j]] * vscale[j];

    size_t reader_mem = p->mem_per_rank / 8;
    feat_reader fr;
    int rc = feat_reader_open(&fr, &r->in, m->y_dataset, m->tokens, g->nloc,
                              r->in.train_frow + g->row0, r->in.train_ids + g->row0, reader_mem, err);
    ridge_result rr;
    ridge_model md;
    int *group_of = NULL;
    double gw[2] = {p->global_weight, p->fine_weight};
    decoder_out o;
    memset(&o, 0, sizeof o);
    if (!rc) {
        int t = feat_reader_cols(&fr);
        group_of = XNEW(group_of, t);
        for (int c = 0; c < t; c++) group_of[c] = fr.ndims == 3 && fr.tok[c / fr.W] != 0;
        o = (decoder_out){.m = m, .fr = &fr, .n = (int)r->in.n_train, .p = pk, .t = t,
                          .voxel_index = vidx, .voxel_scale = vscale,
                          .train_ids = r->in.train_ids};
        int dual = o.n <= pk;
        long gvox = 0;
        for (int i = 0; i < r->n_grp; i++) gvox += r->grp[i].p;
        train_stage_shape sh = {.n_train = r->in.n_train, .n_test = r->in.n_test,
                                .group_voxels = gvox, .with_test = p->encoding, .group_p = g->p,
                                .p = pk, .t = t, .reader_bytes = fr.cap * sizeof(float)};
        size_t sink_col = 0, sink_setup = 0;
        size_t used = train_stage_bytes(&r->grid, &sh, &sink_col, &sink_setup);
        unsigned long mine = used, most = 0;
        BMC_MPI(MPI_Allreduce(&mine, &most, 1, MPI_UNSIGNED_LONG, MPI_MAX, r->grid.comm));
        used = most;
        if (used >= p->mem_per_rank) {
            bmc_err_set(err, "raise mem_per_rank or use more ranks",
                        "mem_per_rank (%.1f MiB) does not cover the stage's own arrays beside "
                        "the solver (%.1f MiB per rank)",
                        (double)p->mem_per_rank / 1048576.0, (double)used / 1048576.0);
            rc = -1;
        }
        ridge_problem pb = decoder_problem(r, pk, &fr, group_of, gw,
                                           p->mem_per_rank > used ? p->mem_per_rank - used : 1);
        pb.sink_col_bytes = sink_col;
        pb.sink_setup_bytes = sink_setup;
        bmc_log_info("mapping %s: fMRI group %s (%d voxels) -> %s (%d tokens x %d = %d targets), "
                     "%ld training images, %s form", m->name, g->name, pk, m->y_dataset,
                     fr.n_tok, fr.W, t, r->in.n_train, dual ? "dual" : "primal");
        o.y_train_mean = XNEW(o.y_train_mean, (size_t)t);
        o.y_train_std = XNEW(o.y_train_std, (size_t)t);
        o.pred_train_mean = XNEW(o.pred_train_mean, (size_t)t);
        o.pred_train_std = XNEW(o.pred_train_std, (size_t)t);
        decoder_sink ds = {.f = f, .p = p, .o = &o, .fr = &fr, .x_rows = x};
        if (!rc) rc = model_decoder_create(f, p, &o, dual, err);
        if (!rc) rc = ridge_fit_stream(&pb, x, feat_reader_fill, &fr, decoder_sink_block, &ds, &rr,
                                       &md, err);
        decoder_sink_free(&ds);
        if (rc) bmc_err_prefix(err, "mapping '%s'", m->name);
        if (!rc) {
            bmc_log_info("mapping %s: %d target columns per block, solver memory peak %.1f MiB "
                         "(predicted %.1f MiB), stage arrays %.1f MiB", m->name, rr.block_cols,
                         (double)rr.mem_peak / 1048576.0, (double)rr.mem_predicted / 1048576.0,
                         (double)used / 1048576.0);
            rc = model_write_decoder(f, p, &o, &rr, &md, err);
            ridge_result_free(&rr);
            ridge_model_free(&md);
        }
        free(o.y_train_mean);
        free(o.y_train_std);
        free(o.pred_train_mean);
        free(o.pred_train_std);
        feat_reader_close(&fr);
    }
    free(group_of);
    free(x);
    free(vidx);
    free(vscale);
    return rc;
}

/* Collective: validate every input (before any output), then fit and write. */
static int run(bmc_stage *s, run_state *r, bmc_err *err) {
    train_plan *p = &r->plan;
    if (bmc_grid_init(&r->grid, s->comm, p->nprow, p->npcol, err)) return -1;
    if (train_inputs_open(&r->in, s->comm, p->fmri, p->features, p->encoding, err)) return -1;
    r->gname = XNEW(r->gname, p->n_map + 1);
    r->grp = xcalloc((size_t)p->n_map + 1, sizeof *r->grp);
    for (int i = 0; i < p->n_map; i++)
        if (p->map[i].run) group_index(r, p->map[i].x_group);
    if (p->encoding) plan_encoding(r);
    r->self_r2 = xcalloc((size_t)r->n_grp + 1, sizeof *r->self_r2);
    int loaded = 0, rc = 0;
    for (; loaded < r->n_grp && !rc; loaded++)
        rc = train_group_load(&r->in, r->gname[loaded], p->encoding, &r->grp[loaded], err);
    if (rc) loaded--;
    /* Datasets and token choices of every mapping that runs or feeds an encoding map. */
    for (int i = 0; i < p->n_map && !rc; i++) {
        feat_reader fr;
        rc = feat_reader_open(&fr, &r->in, p->map[i].y_dataset, p->map[i].tokens, 0, NULL, NULL,
                              1, err);
        if (!rc) {
            int *gof = xcalloc((size_t)feat_reader_cols(&fr), sizeof *gof);
            double gw[2] = {p->global_weight, p->fine_weight};
            ridge_problem pb = decoder_problem(r, 1, &fr, gof, gw, 0); /* its grain and grid */
            ridge_check_problem(&pb, err);
            free(gof);
            if (err->failed) bmc_err_prefix(err, "mapping '%s'", p->map[i].name);
            rc = bmc_err_agree(s->comm, err) ? -1 : 0;
            feat_reader_close(&fr);
        }
    }
    char *maps_partial = NULL;
    bmc_h5 f;
    int created = 0;
    if (!rc) {
        rc = bmc_h5_create_as(&f, s->comm, p->model, BMC_FMT_MODEL, err);
        created = !rc;
    }
    if (!rc) rc = bmc_stage_provenance(s, &f, err);
    if (!rc) rc = model_write_root(&f, p, &r->in, err);
    if (!rc && p->maps) rc = bmc_stage_folder_begin(s, p->maps, &maps_partial, err);
    for (int e = 0; e < r->n_enc && !rc; e++) {
        enc_spec *es = &r->enc[e];
        encoding_result er;
        const train_group *g = &r->grp[es->gi];
        rc = encoding_fit(p, &r->grid, &r->in, g, es->dataset, es->tokens, &er, err);
        if (rc) {
            bmc_err_prefix(err, "encoding map '%s'", es->name);
            break;
        }
        er.name = xstrdup(es->name);
        bmc_log_info("encoding %s: mean held-out R² %.4f over %d voxels", es->name, er.mean_r2,
                     er.p_vox);
        rc = model_write_encoding(&f, &er, err);
        if (!rc && maps_partial) {
            char *path = bmc_xasprintf("%s/encoding_r2_%s.nii.gz", maps_partial, es->name);
            rc = encoding_write_nifti(path, &r->in, g, &er, p->reference, s->comm, err);
            free(path);
        }
        if (!rc && !strcmp(es->dataset, es->group) && !r->self_r2[es->gi]) {
            r->self_r2[es->gi] = er.r2; /* keep it for voxel weighting */
            er.r2 = NULL;
        }
        encoding_result_free(&er);
    }
    for (int i = 0; i < p->n_map && !rc; i++) {
        if (!p->map[i].run) continue;
        if (p->voxel_weighting != VOXW_NONE && !r->self_r2[group_index(r, p->map[i].x_group)]) {
            bmc_err_set(err, "name a mapping whose y dataset has the group's name, or use "
                        "voxel_weighting: none",
                        "mapping '%s': voxel_weighting needs the self encoding map %s_to_%s",
                        p->map[i].name, p->map[i].x_group, p->map[i].x_group);
            rc = bmc_err_agree(s->comm, err) ? -1 : 0;
            break;
        }
        rc = run_decoder(r, &p->map[i], &f, err);
        if (bmc_err_agree(s->comm, err)) rc = -1;
    }
    if (!rc && maps_partial) rc = bmc_stage_folder_commit(s, p->maps, maps_partial, err);
    if (!rc) rc = bmc_h5_commit(&f, err);
    if (rc) {
        if (created) bmc_h5_discard(&f);
        bmc_stage_folder_discard(s, maps_partial);
    }
    free(maps_partial);
    for (int i = 0; i < loaded; i++) train_group_free(&r->grp[i]);
    return rc;
}

int main(int argc, char **argv) {
    bmc_stage s;
    bmc_stage_begin(&s, argc - 1, argv + 1, "bmc-train", usage);
    bmc_err err = {0};
    run_state r;
    memset(&r, 0, sizeof r);
    r.in.fmri.fid = r.in.feat.fid = H5I_INVALID_HID;
    train_read_plan(&s, &r.plan, &err);
    bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_checked(&s);
    int grid_up = 0;
    int rc = run(&s, &r, &err);
    grid_up = r.grid.size > 0;
    train_inputs_close(&r.in);
    if (grid_up) bmc_grid_free(&r.grid);
    for (int i = 0; i < r.n_grp; i++) free(r.self_r2 ? r.self_r2[i] : NULL);
    free(r.self_r2);
    free(r.grp);
    free(r.gname);
    free(r.enc);
    train_free_plan(&r.plan);
    if (rc) bmc_err_exit_if_any(s.comm, &err);
    bmc_stage_end(&s);
    return 0;
}
