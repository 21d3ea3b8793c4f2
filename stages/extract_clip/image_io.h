/* image_io.h — reading stimulus images from files: PNG (libpng) and JPEG (libjpeg) to 8-bit
 * RGB, HWC (row-major, RGB interleaved), and listing the images of a folder.
 *
 * Policy: only 3-channel 8-bit colour images are accepted, because CLIP's features of a
 * grayscale or transparent image depend on a conversion the user should choose. Grayscale
 * (1 channel), gray+alpha (2), RGBA (4), palette images with transparency, CMYK JPEGs and
 * 16-bit PNGs are rejected with an error that names the file, its channel count and how to
 * convert it. Palette PNGs without transparency are expanded to RGB. No gamma, ICC or EXIF
 * orientation is applied (like Pillow's Image.open + convert("RGB")). Damaged or truncated
 * files give an error, never a crash or a partly grey image.
 * Not here: resizing and normalisation (preprocess.h), HDF5 image stacks.
 */
#ifndef BMC_CLIP_IMAGE_IO_H
#define BMC_CLIP_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#include "bmc_error.h"

/* Largest accepted side and pixel count (a corrupt header cannot request gigabytes). */
#define IMAGE_MAX_SIDE 65536
#define IMAGE_MAX_PIXELS ((size_t)1 << 28)

/* Load path as 8-bit RGB. The format is recognised by the file's signature, not its name.
 * On success *pixels is a fresh [h][w][3] buffer (free() it), *w and *h ≥ 1, returns 0.
 * On failure returns -1, *pixels is NULL and err names the file and the reason. Local. */
int image_load_rgb(const char *path, uint8_t **pixels, int *w, int *h, bmc_err *err);

/* The *.png, *.jpg and *.jpeg files (extension case-insensitive, regular files only, names
 * starting with '.' skipped) of folder dir, as "dir/name" paths sorted by name (byte order).
 * On success *paths holds *n ≥ 1 heap strings (free with image_list_free) and returns 0.
 * Returns -1 with an error when dir cannot be read or holds no such file. Local. */
int image_list_folder(const char *dir, char ***paths, size_t *n, bmc_err *err);

/* Free what image_list_folder returned (paths may be NULL). */
void image_list_free(char **paths, size_t n);

#endif
