/* published.c — published real-NSD numbers quoted for orientation in a separate, labelled
 * table; never mixed with a run's own numbers. Every value names the source it was read from
 * (repository, commit, file, line, or paper section). Numbers that could not be verified from
 * a source actually read are left out, not guessed (Brain-Diffuser, the papers' tables).
 * Retrieval directions are ours (docs/FORMATS.md): MindEye's "fwd" is image → brain.
 * Not here: anything computed.
 */
#include <stddef.h>

#include "aggregate.h"

#define ME1 "MedARC-AI/fMRI-reconstruction-NSD @6b30ea5"
#define ME2 "MedARC-AI/MindEyeV2 @c184718"

const ag_published ag_published_rows[] = {
    {"MindEye (Scotti et al., NeurIPS 2023, arXiv 2305.18274)",
     "retrieval image→brain (their fwd), 300-way, 30 draws, subject 1",
     "97.18 % [96.98, 97.37]", ME1 " src/Retrievals.py l. 473 (recorded output of the code)"},
    {"MindEye", "retrieval brain→image (their bwd), subject 1", "94.68 % [94.35, 95.00]",
     ME1 " src/Retrievals.py l. 474"},
    {"MindEye", "retrieval image→brain (fwd), subject 2", "97.10 % [96.93, 97.27]",
     ME1 " src/Retrievals.py l. 477"},
    {"MindEye", "retrieval brain→image (bwd), subject 2", "93.86 % [93.31, 94.40]",
     ME1 " src/Retrievals.py l. 478"},
    {"MindEye", "retrieval image→brain (fwd), subject 5", "90.67 % [90.10, 91.23]",
     ME1 " src/Retrievals.py l. 481"},
    {"MindEye", "retrieval brain→image (bwd), subject 5", "85.73 % [84.96, 86.51]",
     ME1 " src/Retrievals.py l. 482"},
    {"MindEye", "retrieval image→brain (fwd), subject 7", "89.41 % [88.87, 89.95]",
     ME1 " src/Retrievals.py l. 485"},
    {"MindEye", "retrieval brain→image (bwd), subject 7", "85.82 % [85.29, 86.36]",
     ME1 " src/Retrievals.py l. 486"},
    {"MindEye", "parameters: voxel2clip (MLP backbone + projector), subject 1, 15,724 voxels "
     "→ 257 × 768", "947,579,904", ME1 " src/Train_MindEye.ipynb l. 376 (printed count)"},
    {"MindEye", "parameters: voxel2clip + diffusion prior (high-level pipeline), subject 1",
     "1,003,635,088", ME1 " src/Train_MindEye.ipynb l. 381 (printed count)"},
    {"MindEye2 (Scotti et al., ICML 2024, arXiv 2403.11207)",
     "retrieval image→brain (fwd), subject 1, 40 sessions, 300-way, 30 draws",
     "99.96 % [99.92, 100.00]", ME2 " src/final_evaluations.ipynb l. 380 (recorded output)"},
    {"MindEye2", "retrieval brain→image (bwd), subject 1, 40 sessions", "99.87 % [99.81, 99.93]",
     ME2 " src/final_evaluations.ipynb l. 381"},
    {"BrainMCLIP (arXiv 2510.19332v1)", "parameters relative to the top VAE-based methods",
     "71.7 % fewer", "the paper's abstract (citing its Table 1)"},
};
const size_t ag_n_published = sizeof ag_published_rows / sizeof *ag_published_rows;

const char *const ag_published_note =
    "Real NSD (7 T, shared 1000 test images), not the synthetic data of a demo run: for "
    "orientation only. Values as recorded by the authors' own evaluation code (the same code "
    "as the papers' numbers) with their 95 % intervals over draws; the papers' tables "
    "(e.g. the 4-subject means) and Brain-Diffuser's numbers are not quoted because no copy of "
    "them could be read and verified here.";
