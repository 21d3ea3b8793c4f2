/* brain_write.c — the non-HDF5 files of a synthetic NSD tree, in NSD's formats:
 * ROI and ncsnr volumes as NIfTI-1 .nii.gz (libnifti2's writer picks NIfTI-1 when the image
 * fits; ROIs int16, ncsnr float32; 1.8 mm voxels, identical qform and sform centring the grid
 * on the origin, RAS axes), FreeSurfer-style ctabs (`value name` lines from `0 Unknown`),
 * nsd_expdesign.mat (MATLAB v5 via matio), nsd_stim_info_merged.csv and a byte copy of the
 * stimuli. All functions are local and run on rank 0.
 * Not here: betas and ground truth (HDF5, brain_model.c), the design itself (brain.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <matio.h>
#include <nifti2_io.h>

#include "bmc_alloc.h"
#include "bmc_nifti.h"
#include "bmc_fs.h"
#include "brain.h"

/* Write a 3-D volume (x fastest) of NIfTI datatype `dt` (elem bytes per voxel) to path, then
 * read the header back to confirm it (libnifti2's writer reports failures only on stderr). */
static int write_nifti(const char *path, const int dims[3], int dt, const void *data, size_t elem,
                       bmc_err *err) {
    int64_t nd[8] = {3, dims[0], dims[1], dims[2], 1, 1, 1, 1};
    nifti_image *nim = nifti_make_new_nim(nd, dt, 1);
    if (!nim)
        return bmc_err_set(err, NULL, "%s: libnifti2 cannot make a %dx%dx%d image", path, dims[0],
                           dims[1], dims[2]);
    size_t nvox = (size_t)dims[0] * (size_t)dims[1] * (size_t)dims[2];
    memcpy(nim->data, data, nvox * elem);
    nim->nifti_type = NIFTI_FTYPE_NIFTI1_1; /* one .nii file; never NIFTI2_1 (hpc-env §3d) */
    bmc_nifti_centred_geometry(nim, dims, BRAIN_VOXEL_MM);
    snprintf(nim->descrip, sizeof nim->descrip, "bmc-synth brain (synthetic NSD)");
    int rc = 0;
    if (nifti_set_filenames(nim, path, 0, 1))
        rc = bmc_err_set(err, "name it NAME.nii.gz", "%s: not a NIfTI file name", path);
    else
        nifti_image_write(nim);
    nifti_image_free(nim);
    if (rc) return rc;
    nifti_image *chk = nifti_image_read(path, 0);
    if (!chk || chk->nx != dims[0] || chk->ny != dims[1] || chk->nz != dims[2] || chk->datatype != dt)
        rc = bmc_err_set(err, "check that the folder is writable and not full",
                         "%s: writing the NIfTI file failed", path);
    if (chk) nifti_image_free(chk);
    return rc;
}

static int write_ctab(const char *path, const brain_roi_file *rf, bmc_err *err) {
    FILE *f = fopen(path, "w");
    if (!f) return bmc_err_set(err, NULL, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "0 Unknown\n");
    for (int l = 0; l < rf->n_labels; l++) fprintf(f, "%d %s\n", l + 1, rf->labels[l]);
    if (fclose(f) != 0) return bmc_err_set(err, NULL, "%s: cannot write: %s", path, strerror(errno));
    return 0;
}

int brain_write_nifti_rois(const brain_subject *s, const char *dir, const char *label_dir,
                           bmc_err *err) {
    for (int r = 0; r < BRAIN_N_ROI_FILES; r++) {
        const brain_roi_file *rf = &brain_roi_files[r];
        char *name = bmc_xasprintf("%s/roi/%s.nii.gz", dir, rf->name);
        int rc = write_nifti(name, s->dims, DT_INT16, s->roi[r], sizeof(int16_t), err);
        free(name);
        if (rc) return -1;
        name = bmc_xasprintf("%s/%s.mgz.ctab", label_dir, rf->name);
        rc = write_ctab(name, rf, err);
        free(name);
        if (rc) return -1;
    }
    char *name = bmc_path_join(dir, "ncsnr.nii.gz");
    int rc = write_nifti(name, s->dims, DT_FLOAT32, s->ncsnr, sizeof(float), err);
    free(name);
    return rc;
}

/* Write a rows × cols double matrix (column-major, as MATLAB) named `name`. */
static int mat_put(mat_t *mat, const char *path, const char *name, size_t rows, size_t cols,
                   double *data, bmc_err *err) {
    size_t dims[2] = {rows, cols};
    matvar_t *v = Mat_VarCreate(name, MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, data, MAT_F_DONT_COPY_DATA);
    if (!v) return bmc_err_set(err, NULL, "%s: matio cannot make variable '%s'", path, name);
    int rc = Mat_VarWrite(mat, v, MAT_COMPRESSION_NONE);
    Mat_VarFree(v);
    if (rc) return bmc_err_set(err, "check that the folder is writable and not full",
                               "%s: matio cannot write variable '%s'", path, name);
    return 0;
}

int brain_write_expdesign(const char *path, const brain_params *p, const brain_design *d,
                          bmc_err *err) {
    mat_t *mat = Mat_CreateVer(path, NULL, MAT_FT_MAT5);
    if (!mat) return bmc_err_set(err, NULL, "%s: matio cannot create the file", path);
    long ips = p->images_per_subject, nt = d->n_trials, ns = p->shared_images;
    double *mo = XNEW(mo, nt), *si = XNEW(si, BRAIN_MAX_SUBJECTS * ips), *sh = XNEW(sh, ns);
    for (long t = 0; t < nt; t++) mo[t] = d->masterordering[t];
    for (long r = 0; r < BRAIN_MAX_SUBJECTS; r++)
        for (long k = 0; k < ips; k++) {
            int64_t id = d->subjectim[r * ips + k];
            si[r + BRAIN_MAX_SUBJECTS * k] = id < 0 ? 0.0 : (double)(id + 1); /* column-major */
        }
    for (long k = 0; k < ns; k++) sh[k] = (double)(d->sharedix[k] + 1);
    int rc = mat_put(mat, path, "masterordering", 1, (size_t)nt, mo, err);
    if (!rc) rc = mat_put(mat, path, "subjectim", BRAIN_MAX_SUBJECTS, (size_t)ips, si, err);
    if (!rc) rc = mat_put(mat, path, "sharedix", 1, (size_t)ns, sh, err);
    if (Mat_Close(mat) && !rc) rc = bmc_err_set(err, NULL, "%s: cannot close the file", path);
    free(mo);
    free(si);
    free(sh);
    return rc;
}

/* Columns: the unnamed index, cocoId and cocoSplit (synthetic: the id and "synth"), nsdId
 * (0-based), shared1000 (True/False), subject1..8 (1 if shown), subjectK_repJ (1-based trial
 * number of the J-th showing, 0 when none), J < the most repeats of any image. */
int brain_write_stim_info(const char *path, const brain_params *p, const brain_design *d,
                          bmc_err *err) {
    long n = d->n_stimuli, ips = p->images_per_subject, rmax = d->max_repeats;
    /* trial_of[k·rmax + j]: 1-based trial of the j-th showing of subject image k */
    long *trial_of = xcalloc(bmc_mul_size((size_t)ips, (size_t)rmax), sizeof *trial_of);
    int *seen = xcalloc((size_t)ips, sizeof *seen);
    for (long t = 0; t < d->n_trials; t++) {
        long k = d->masterordering[t] - 1;
        BMC_CHECK(seen[k] < rmax);
        trial_of[k * rmax + seen[k]++] = t + 1;
    }
    /* image_of[s·n + id]: subject image index of stimulus id for subject s+1, or -1 */
    long *image_of = XNEW(image_of, bmc_mul_size(BRAIN_MAX_SUBJECTS, (size_t)n));
    for (long i = 0; i < BRAIN_MAX_SUBJECTS * n; i++) image_of[i] = -1;
    for (long s = 0; s < BRAIN_MAX_SUBJECTS; s++)
        for (long k = 0; k < ips; k++)
            if (d->subjectim[s * ips + k] >= 0) image_of[s * n + d->subjectim[s * ips + k]] = k;
    uint8_t *shared = xcalloc((size_t)n, 1);
    for (long k = 0; k < p->shared_images; k++) shared[d->sharedix[k]] = 1;

    FILE *f = fopen(path, "w");
    int rc = 0;
    if (!f) rc = bmc_err_set(err, NULL, "%s: cannot create: %s", path, strerror(errno));
    if (f) {
        fprintf(f, ",cocoId,cocoSplit,nsdId,shared1000");
        for (int s = 1; s <= BRAIN_MAX_SUBJECTS; s++) fprintf(f, ",subject%d", s);
        for (int s = 1; s <= BRAIN_MAX_SUBJECTS; s++)
            for (long j = 0; j < rmax; j++) fprintf(f, ",subject%d_rep%ld", s, j);
        fputc('\n', f);
        for (long i = 0; i < n; i++) {
            fprintf(f, "%ld,%ld,synth,%ld,%s", i, i, i, shared[i] ? "True" : "False");
            for (long s = 0; s < BRAIN_MAX_SUBJECTS; s++) fprintf(f, ",%d", image_of[s * n + i] >= 0);
            for (long s = 0; s < BRAIN_MAX_SUBJECTS; s++) {
                long k = image_of[s * n + i];
                for (long j = 0; j < rmax; j++) fprintf(f, ",%ld", k >= 0 ? trial_of[k * rmax + j] : 0);
            }
            fputc('\n', f);
        }
        if (ferror(f) | fclose(f))
            rc = bmc_err_set(err, "check that the folder is writable and not full",
                             "%s: cannot write: %s", path, strerror(errno));
    }
    free(trial_of);
    free(seen);
    free(image_of);
    free(shared);
    return rc;
}

int brain_copy_file(const char *from, const char *to, bmc_err *err) {
    FILE *in = fopen(from, "rb");
    if (!in) return bmc_err_set(err, NULL, "%s: cannot open: %s", from, strerror(errno));
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return bmc_err_set(err, NULL, "%s: cannot create: %s", to, strerror(errno));
    }
    size_t cap = (size_t)8 << 20, got;
    char *buf = xmalloc(cap);
    int rc = 0;
    while ((got = fread(buf, 1, cap, in)) > 0)
        if (fwrite(buf, 1, got, out) != got) {
            rc = bmc_err_set(err, "check that the folder is writable and not full",
                             "%s: cannot write: %s", to, strerror(errno));
            break;
        }
    if (!rc && ferror(in)) rc = bmc_err_set(err, NULL, "%s: cannot read: %s", from, strerror(errno));
    fclose(in);
    if (fclose(out) && !rc) rc = bmc_err_set(err, NULL, "%s: cannot write: %s", to, strerror(errno));
    free(buf);
    return rc;
}
