/* source.h — where bmc-extract-clip's images come from: an HDF5 uint8 [N,H,W,3] dataset
 * (NSD's nsd_stimuli.hdf5 /imgBrick, or bmc-synth's) or a folder of PNG/JPEG files, and
 * which of them (all, a list of ids, or a range). Ids are 0-based positions in the dataset
 * or in the folder's sorted file list.
 * Not here: preprocessing (preprocess.h) or the model (vit.h).
 */
#ifndef BMC_CLIP_SOURCE_H
#define BMC_CLIP_SOURCE_H

#include <stdint.h>

#include "bmc_config.h"
#include "bmc_h5io.h"

typedef struct clip_source {
    int is_folder;
    char *path;
    /* HDF5 */
    bmc_h5 h5;
    char *dataset;
    long long n_total;    /* images in the dataset or folder                     */
    int height, width;    /* HDF5: every image's size                            */
    /* folder */
    char **files;
    size_t n_files;
    /* selection */
    long long *ids;       /* [n] ids in output order                             */
    long n;
    int contiguous;       /* ids[i] == ids[0] + i: batches read in one call      */
} clip_source;

/* Collective over comm. Open `path` (a folder when it is one, else an HDF5 file), check the
 * dataset (`dataset` name; uint8, 4-D, last dimension 3) and the selection `ids_node` (NULL
 * or null = all; a sequence of ids; or a mapping {start, stop} with stop exclusive). Errors
 * (agreed) name the file, dataset or YAML position. Returns 0 or -1. */
int clip_source_open(clip_source *s, MPI_Comm comm, const char *path, const char *dataset,
                     const bmc_cfg_node *ids_node, bmc_err *err);

/* Read selected image k into *pixels (a buffer grown as needed, [h][w][3]), setting w, h.
 * HDF5 sources: COLLECTIVE — every rank calls it the same number of times; a rank with
 * nothing to read passes k = -1. Folders: local (k = -1 does nothing). Returns an agreed
 * status for HDF5 and a local one for folders (the caller agrees). */
int clip_source_read(clip_source *s, long k, uint8_t **pixels, size_t *cap, int *w, int *h,
                     bmc_err *err);

/* HDF5 sources with a contiguous selection: read selected images k0 .. k0+count-1 into
 * pixels ([count][h][w][3], grown as needed) with ONE collective call (count may be 0). */
int clip_source_read_run(clip_source *s, long k0, long count, uint8_t **pixels, size_t *cap,
                         bmc_err *err);

void clip_source_close(clip_source *s);

#endif
