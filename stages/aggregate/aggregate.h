/* aggregate.h — bmc-aggregate: the study's tables, figures and report page from every eval
 * output of a run, the models and pipeline_info/.
 *
 * Flow (main.c): plan (plan.c) → run info (runinfo.c) → inputs checked to belong together
 * (inputs.c, models.c, maps.c) → bootstrap over test images, resamples dealt over ranks
 * (stats.c; per-target metrics from the predictions, targets.c) → rows of the summary
 * (rows.c) → summary.{md,csv,json} (report.c), figures (figures*.c), index.html (html.c),
 * all as .partial and renamed at the end. Formats: docs/FORMATS.md (`bmc.summary`).
 * Not here: computing metrics (bmc-evaluate), the bootstrap engine (common/stats).
 */
#ifndef BMC_AGGREGATE_H
#define BMC_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "bmc_config.h"
#include "bmc_h5io.h"
#include "bmc_stage.h"

/* ---- metrics and decoders ------------------------------------------------------------- */

typedef enum { AG_PER_TARGET, AG_PER_IMAGE, AG_PER_DRAW } ag_kind;
enum {
    AG_PEARSON, AG_R2, AG_COS_GLOBAL, AG_COS_ALL, AG_TWO_WAY, AG_RET_B2I, AG_RET_I2B,
    AG_PIXCORR, AG_SSIM, AG_N_METRIC
};

typedef struct ag_metric_info {
    const char *key;     /* summary.csv `metric`                                         */
    const char *label;   /* table header                                                 */
    const char *unit;    /* figure axis label                                            */
    const char *dataset; /* bmc.eval dataset leaf under /<branch>/                        */
    const char *attr;    /* bmc.eval summary attribute of /<branch>                       */
    ag_kind kind;
    int higher_better;
    const char *note;    /* "" or e.g. "MindEye bwd"                                     */
} ag_metric_info;
extern const ag_metric_info ag_metric[AG_N_METRIC];

enum { AG_DETAIL = 0, AG_SEMANTIC = 1, AG_FUSED = 2, AG_N_BRANCH = 3 };
extern const char *const ag_branch_name[AG_N_BRANCH]; /* detail, semantic, fused */

/* ---- plan (plan.c) ----------------------------------------------------------------------- */

typedef struct ag_plan {
    const char **evals;       /* n_evals bmc.eval files                                   */
    size_t n_evals;
    const char **models;      /* n_models bmc.model files                                 */
    size_t n_models;
    const char **maps;        /* 0 or n_models folders: maps[i] of models[i]              */
    size_t n_maps;
    const char **predictions; /* 0 or n_evals bmc.predictions files (any order)           */
    size_t n_predictions;
    const char **montages;    /* 0 or more montage PNGs of the evaluate instances         */
    size_t n_montages;
    const char *features;     /* bmc.clip (needed with predictions), or NULL              */
    const char *out_md, *out_csv, *out_json, *out_html, *out_figures;
    long resamples;           /* B                                                        */
    uint64_t seed;
    double level;             /* 0.95                                                     */
    const char *pipeline_info;
    int svg, dpi;
} ag_plan;

/* Local: inputs, outputs, params with defaults; errors at the config's line. */
int ag_read_plan(const bmc_stage *s, ag_plan *p, bmc_err *err);
void ag_free_plan(ag_plan *p);

/* ---- the run's pipeline_info (runinfo.c: the one reader of that folder) ---------------- */

typedef struct ag_instance {
    char *name, *stage, *fingerprint;
    char **out_keys, **out_paths; /* n_outputs, paths normalised                           */
    size_t n_outputs;
    double wall_s;                /* NaN when no completed trace row has this fingerprint  */
    long ranks;                   /* 0 when unknown                                        */
    bmc_cfg_node *params;         /* resolved params (owned clone), may be NULL            */
} ag_instance;

typedef struct ag_runinfo {
    char *dir;
    char *workflow, *run;
    ag_instance *inst;
    size_t n_inst;
    bmc_cfg_node *software;       /* software_versions.yaml, or NULL                      */
} ag_runinfo;

/* Local: read <dir>/config_resolved.yaml (instances, fingerprints, outputs, params), every
 * execution_trace_*.tsv[.partial] (the latest COMPLETED row whose fingerprint is the
 * instance's gives wall_s and ranks) and software_versions.yaml. Unknown keys and columns are
 * ignored. 0 or -1 with an error naming the file. */
int ag_runinfo_read(ag_runinfo *ri, const char *dir, bmc_err *err);
void ag_runinfo_free(ag_runinfo *ri);
/* The instance with an output at `path` (normalised compare); *key = its output name. */
const ag_instance *ag_runinfo_producer(const ag_runinfo *ri, const char *path,
                                       const char **key);
/* Path normalisation of the workflow engine: "./" stripped, "//" collapsed, trailing "/"
 * dropped. Heap string. */
char *ag_normpath(const char *path);
/* Path `to` relative to folder `from` (both relative to one working folder, or both absolute):
 * the common leading folders dropped, ".." for the rest of `from`. Heap string. */
char *ag_relpath(const char *from, const char *to);

/* ---- the eval files (inputs.c) ------------------------------------------------------------ */

typedef struct ag_branch {
    int has[AG_N_METRIC];
    double point[AG_N_METRIC];        /* the eval file's summary                          */
    double *per_image[AG_N_METRIC];   /* m, for AG_PER_IMAGE metrics                      */
    uint8_t *hits[AG_N_METRIC];       /* draws × way, for AG_PER_DRAW metrics             */
    char mapping[128], y_dataset[128];
    long long t;
} ag_branch;

typedef struct ag_eval {
    const char *path;
    long long train, test;
    int cross;
    char rescale[16];
    char fingerprint[72];
    char *models;                     /* the eval's `models` attribute (newline list)     */
    ag_branch br[AG_N_BRANCH];
    const char *predictions;          /* matched predictions file, or NULL                */
    const char *montage;              /* matched montage PNG, or NULL                     */
} ag_eval;

typedef struct ag_set {               /* what every eval file shares                      */
    long m, way, draws, n_align, n_gallery;
    long long *eval_ids;              /* m                                                */
    long long *align_ids, *gallery_ids; /* n_align, n_gallery (checked equal in every file) */
    long *draw_pos;                   /* draws × way: positions into eval_ids              */
    double fusion_weight;
    long long seed, align_seed;
    char gallery[32], ssim_mode[32];
    ag_eval *ev;                      /* n_eval, sorted by (rescale, train, test)          */
    size_t n_eval;
    long long *subjects;              /* n_subj, sorted                                   */
    int n_subj;
    int n_rescale;                    /* distinct rescale settings                         */
} ag_set;

/* Collective: open every eval file, check format, version, fingerprints against the run,
 * the evaluation image set, the cohort, the metric settings, duplicates and missing pairs,
 * and read the per-image / per-draw arrays on every rank. Matches predictions and montages.
 * Agreed status. */
int ag_evals_read(ag_set *set, const ag_plan *p, const ag_runinfo *ri, MPI_Comm comm,
                  bmc_err *err);
void ag_set_free(ag_set *set);
/* Index of the eval of (train, test, rescale), or -1. */
long ag_find_eval(const ag_set *set, long long train, long long test, const char *rescale);

/* ---- models (models.c) ---------------------------------------------------------------- */

/* Shape of a decoder's weights, for counting parameters. */
typedef struct ag_param_shape {
    long long p, t, n;  /* voxels, targets, training images                               */
    int dual;           /* stored as dual coefficients (n × t) + centred X (n × p)         */
    long long rank;     /* 0: full map; r > 0: reduced rank, factors A (p × r), B (r × t)  */
} ag_param_shape;

/* Parameters of a linear decoder with an intercept: full p·t + t (a dual model counts its
 * equivalent primal weights W = Xcᵀ·C); reduced rank r·(p + t) + t. how (≥ 160 bytes) says
 * which. Local, pure. */
long long ag_param_count(const ag_param_shape *s, char *how, size_t how_size);

typedef struct ag_mapping {
    long long subject;
    char name[128], x_group[128], y_dataset[128], cv[16];
    ag_param_shape shape;
    long long params;
    char params_how[160];
    int n_alpha;
    double *alphas;             /* n_alpha                                                  */
    double *curve;              /* n_alpha: mean validation score over targets              */
    double alpha_median, alpha_gmean, alpha_min, alpha_max, frac_low, frac_high;
    int model;                  /* index into ag_models.file                                */
} ag_mapping;

typedef struct ag_models {
    size_t n_file;
    const char **path;          /* plan's paths                                             */
    long long *subject;         /* per file                                                 */
    char (*fingerprint)[72];
    char **fmri;                /* per file: its `fmri` attribute (heap)                    */
    ag_mapping *map;            /* n_map (every mapping of every file)                      */
    size_t n_map;
} ag_models;

/* Collective: open every model file, check format, fingerprint against the run and that
 * every eval names only these models; read each mapping's shape, penalties and validation
 * curve. Agreed status. */
int ag_models_read(ag_models *md, const ag_plan *p, const ag_runinfo *ri, const ag_set *set,
                   MPI_Comm comm, bmc_err *err);
void ag_models_free(ag_models *md);
/* The mapping `name` of subject's models, or NULL. */
const ag_mapping *ag_find_mapping(const ag_models *md, long long subject, const char *name);

/* ---- encoding R² maps and ROIs (maps.c) ------------------------------------------------ */

typedef struct ag_map {
    long long subject;
    char name[128];             /* <dataset>_to_<group>                                    */
    char group[128];
    int dims[3];                /* X, Y, Z                                                 */
    float *r2;                  /* X·Y·Z, x fastest; NaN outside the group                 */
    int *roi;                   /* X·Y·Z: 1 + ROI file index of the voxel's first ROI entry, 0 */
    int *label;                 /* X·Y·Z: 1 + entry index in the group's ROI list, 0 none    */
    char **roi_files;           /* n_roi_files names (e.g. prf-visualrois)                  */
    int n_roi_files;
} ag_map;

typedef struct ag_maps {
    ag_map *map;
    size_t n;
} ag_maps;

/* Collective (rank 0 reads, everyone agrees): every encoding_r2_*.nii.gz of each maps
 * folder, checked against its model (sidecar fingerprint, grid of the bmc.fmri file), and
 * the ROI volumes of each map's group from the files bmc-extract-fmri read (paths and
 * SHA-256 from the bmc.fmri `inputs` attribute). Ranks other than 0 hold n = 0. */
int ag_maps_read(ag_maps *mp, const ag_plan *p, const ag_models *md, MPI_Comm comm,
                 bmc_err *err);
void ag_maps_free(ag_maps *mp);

/* ---- statistics (stats.c, targets.c) ---------------------------------------------------- */

/* Series s = (eval e, branch b, metric k) → s = (e·AG_N_BRANCH + b)·AG_N_METRIC + k. */
static inline size_t ag_series(size_t e, int b, int k) {
    return (e * AG_N_BRANCH + (size_t)b) * AG_N_METRIC + (size_t)k;
}

typedef struct ag_boot {
    long B;
    size_t n_series;
    double *theta;              /* rank 0: B × n_series, resample-major (NaN: no series)   */
} ag_boot;

/* Collective: every resample b of [0, B) (dealt over ranks in contiguous blocks; gathered on
 * rank 0 in resample order) of every per-image and per-draw series; then the per-target
 * series from the predictions (targets.c) when given. Rank 0 holds theta. Agreed status. */
int ag_bootstrap(ag_boot *bt, const ag_plan *p, const ag_set *set, const ag_models *md,
                 MPI_Comm comm, bmc_err *err);
void ag_boot_free(ag_boot *bt);
/* Statistic of resample weights w (m counts) for one per-image / per-draw series. Local. */
double ag_stat_image(const int *w, const double *v, long m);
double ag_stat_draws(const int *w, const uint8_t *hits, const long *pos, long draws, long way);

/* Collective: per-target Pearson r and R² (mean over targets) for every resample and every
 * eval with predictions, into bt->theta on rank 0 (targets.c). Agreed status. */
int ag_bootstrap_targets(ag_boot *bt, const ag_plan *p, const ag_set *set, const ag_models *md,
                         MPI_Comm comm, bmc_err *err);
/* Targets per block of the per-target bootstrap (fixed: results do not depend on ranks). */
enum { AG_TARGET_BLOCK = 512 };

/* ---- rows of the summary (rows.c) ------------------------------------------------------- */

typedef enum { AG_SEC_METRIC, AG_SEC_DIFF, AG_SEC_PARAMS, AG_SEC_PENALTY } ag_section;
typedef enum { AG_SCOPE_PAIR, AG_SCOPE_WITHIN, AG_SCOPE_CROSS, AG_SCOPE_SUBJECT } ag_scope;
extern const char *const ag_section_name[4];
extern const char *const ag_scope_name[4];

typedef struct ag_row {
    ag_section section;
    ag_scope scope;
    long long train, test;      /* −1: not applicable                                       */
    char decoder[64];
    char rescale[16];
    char metric[48];            /* ag_metric[k].key, "parameters", "alpha_median", …         */
    int k;                      /* metric index, −1 for parameters / penalties              */
    int higher_better;          /* 1, 0, or −1 (not applicable)                             */
    long way, draws, n_images, n_subjects, resamples; /* −1: not applicable                  */
    double value, sd, lo, hi;   /* NaN: not applicable                                      */
    char verdict[24];
} ag_row;

typedef struct ag_rows {
    ag_row *row;
    size_t n, cap;
} ag_rows;

/* Local (rank 0): every row of summary.csv in its documented order. */
void ag_build_rows(ag_rows *rows, const ag_plan *p, const ag_set *set, const ag_boot *bt,
                   const ag_models *md);
void ag_rows_free(ag_rows *rows);

/* ---- outputs (report.c, html.c, figures*.c, published.c) -------------------------------- */

typedef struct ag_out {         /* everything the writers read (rank 0)                     */
    const ag_plan *plan;
    const ag_set *set;
    const ag_boot *boot;
    const ag_models *models;
    const ag_maps *maps;
    const ag_runinfo *run;
    const ag_rows *rows;
    const char *created_by;
    const char *params_sha256;
    char **figures;             /* n_figures file names written under figures/              */
    char **captions;            /* parallel: what each shows                                */
    size_t n_figures;
} ag_out;

/* A rendered table (tables.c): cells[(row)·ncol + col], row 0 = header; shared by the
 * Markdown and HTML writers so both show the same numbers. */
typedef struct ag_table {
    char id[64];
    char *title, *note;         /* heap; note may be NULL                                    */
    int ncol, nrow;             /* nrow counts the header                                    */
    char **cells;               /* heap strings (UTF-8, plain text)                          */
    unsigned char *bold;        /* nrow · ncol                                               */
} ag_table;

typedef struct ag_tables {
    ag_table *t;
    size_t n;
} ag_tables;

/* Local (rank 0): every table of the report, in order. */
void ag_tables_build(ag_tables *tt, const ag_out *o);
void ag_tables_free(ag_tables *tt);

/* Local (rank 0): write the CSV, JSON and Markdown summaries to the given paths (the
 * callers pass .partial names). 0 or -1 with err. */
int ag_write_csv(const ag_out *o, const char *path, bmc_err *err);
int ag_write_json(const ag_out *o, const char *path, bmc_err *err);
int ag_write_md(const ag_out *o, const char *path, bmc_err *err);
/* Local (rank 0): index.html at path, linking to every output relative to its folder. */
int ag_write_html(const ag_out *o, const char *path, bmc_err *err);
/* Local (rank 0): every figure into folder `dir` (exists); appends names and captions to o.
 * copies the montages. 0 or -1. */
int ag_write_figures(ag_out *o, const char *dir, bmc_err *err);

/* Published real-NSD numbers for orientation (published.c): never mixed with the run's. */
typedef struct ag_published {
    const char *method, *what, *value, *source;
} ag_published;
extern const ag_published ag_published_rows[];
extern const size_t ag_n_published;
extern const char *const ag_published_note;

/* Decoder label of a row: the branch, with "(rescale X)" when the run has several. */
void ag_decoder_label(char *buf, size_t n, const ag_set *set, int branch, const char *rescale);
/* Number formatting shared by the writers: "%.*f" with dec digits, "—" for NaN. */
void ag_fmt(char *buf, size_t n, double v, int dec);
/* 1.2M / 35.4K / 812 style parameter counts. */
void ag_fmt_count(char *buf, size_t n, long long v);

#endif
