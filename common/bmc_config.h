/* bmc_config.h — YAML configuration loaded with libyaml into a typed tree.
 *
 * Every node remembers file, line and column (1-based) so that every error can say
 * `file:line:col: ...`. Plain scalars are typed at load time with YAML 1.2's core schema
 * (null, bool, int, float, else string); quoted scalars are always strings. Typed getters
 * (scalars, and lists of numbers) check type and range; bmc_cfg_check_keys rejects unknown
 * keys and suggests the nearest known one. bmc_cfg_canonical gives a canonical text (sorted
 * keys) used for fingerprints.
 * Not here: what any key means (each stage owns its schema), anchors/aliases (rejected),
 * multi-document files (rejected).
 */
#ifndef BMC_CONFIG_H
#define BMC_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include "bmc_error.h"

typedef enum {
    BMC_CFG_NULL,   /* ~, null, empty value                  */
    BMC_CFG_BOOL,   /* true/false (also True/TRUE/False/...) */
    BMC_CFG_INT,    /* 42, -7, 0x1F, 0o17                    */
    BMC_CFG_FLOAT,  /* 1.5, 1e-3, .inf, -.inf, .nan          */
    BMC_CFG_STRING, /* anything else, and every quoted scalar */
    BMC_CFG_MAP,
    BMC_CFG_SEQ
} bmc_cfg_type;

typedef struct bmc_cfg_node bmc_cfg_node;
struct bmc_cfg_node {
    bmc_cfg_type type;
    const char *file;   /* shared by all nodes of one document; owned by the root */
    int line, col;      /* 1-based position of the node's first character         */
    char *text;         /* scalar text as written (all scalar types; NULL for map/seq) */
    union {
        int b;          /* BMC_CFG_BOOL  */
        long long i;    /* BMC_CFG_INT   */
        double f;       /* BMC_CFG_FLOAT */
    } v;
    size_t n;             /* number of children (map entries or sequence items)          */
    char **keys;          /* MAP: keys[k] (unique: a duplicate key is a load error)     */
    int *key_line, *key_col; /* MAP: position of each key                               */
    bmc_cfg_node **items; /* MAP: values[k]; SEQ: items[k]                               */
    int owns_file;        /* 1 on the root of a loaded document: frees `file`            */
};

/* Load a YAML file holding one document. On error returns NULL and records
 * "path:line:col: <what>" with a hint in err. Local (no MPI). */
bmc_cfg_node *bmc_cfg_load_file(const char *path, bmc_err *err);
/* Same from a string; `name` stands for the file in messages. */
bmc_cfg_node *bmc_cfg_load_string(const char *text, const char *name, bmc_err *err);
void bmc_cfg_free(bmc_cfg_node *root);

/* Map lookup; NULL when map is NULL, not a map, or lacks the key. */
const bmc_cfg_node *bmc_cfg_get(const bmc_cfg_node *map, const char *key);
/* Name of a type, "integer", "mapping", ... for messages. */
const char *bmc_cfg_type_name(bmc_cfg_type t);

/* Reject keys of `map` not in `known` (n_known entries): the error reads
 * "file:line:col: unknown key 'inptus' in <where>" with hint "did you mean 'inputs'?"
 * (nearest by edit distance when close enough, else the list of known keys).
 * Returns 0 or -1. */
int bmc_cfg_check_keys(const bmc_cfg_node *map, const char *const *known, size_t n_known,
                       const char *where, bmc_err *err);

/* The name in names[0..n) closest to word by edit distance when close enough to be a typo
 * (distance ≤ max(2, len/3) and < len), else NULL. For "did you mean" hints anywhere. */
const char *bmc_cfg_nearest(const char *word, const char *const *names, size_t n_names);

/* Typed getters. `map` must be a mapping (else error at its position). When the key is absent:
 * required → error "file:line:col: missing key 'x' in <where>" (position of the map);
 * optional → *out = def and return 0. A present value of the wrong type or out of range is an
 * error at the value's position naming the key and the allowed range. Return 0 or -1. */
int bmc_cfg_int(const bmc_cfg_node *map, const char *key, int required, long long def,
                long long min, long long max, long long *out, bmc_err *err);
/* Accepts ints too. */
int bmc_cfg_double(const bmc_cfg_node *map, const char *key, int required, double def,
                   double min, double max, double *out, bmc_err *err);
int bmc_cfg_bool(const bmc_cfg_node *map, const char *key, int required, int def, int *out,
                 bmc_err *err);
/* *out points into the tree (do not free); any scalar except null is accepted as text. */
int bmc_cfg_string(const bmc_cfg_node *map, const char *key, int required, const char *def,
                   const char **out, bmc_err *err);
/* String that must be one of choices[0..n_choices); *out = index. The error lists choices. */
int bmc_cfg_enum(const bmc_cfg_node *map, const char *key, int required, int def,
                 const char *const *choices, size_t n_choices, int *out, bmc_err *err);

/* What bmc_cfg_double_list accepts of each entry beyond being a number (ints are read as
 * doubles; a quoted number is text and refused). */
typedef struct bmc_cfg_list_spec {
    double min, max;     /* every entry in [min, max] (NaN never; max = DBL_MAX: finite) */
    int above_min;       /* 1: every entry > min (min itself refused)                    */
    int increasing;      /* 1: entries strictly increasing                               */
    const char *what;    /* the list in messages, "invalid <what>: ..." (NULL: none)     */
    const char *example; /* hint for a list that is not one: "write a list such as ..."  */
} bmc_cfg_list_spec;

/* A non-empty list of numbers (a YAML sequence) under key. Absent or null: required → the
 * missing-key error; optional → *values = NULL, *n = 0 and 0. Otherwise every entry must
 * meet spec: *values (heap, the caller frees) holds the n entries. Errors are at the list
 * ("'key' must be a non-empty list of numbers") or at the first bad entry ("'key' entry 2
 * must be a finite number > 0, got ...", "'key' entry 2 (0.5) is not above entry 1 (1)"),
 * prefixed "invalid <what>: " when spec->what is set; *values is then NULL. Returns 0 or -1.
 * Local. */
int bmc_cfg_double_list(const bmc_cfg_node *map, const char *key, int required,
                        const bmc_cfg_list_spec *spec, double **values, size_t *n,
                        bmc_err *err);

/* A memory size: bytes (integer) or a string "512M", "2G", "64KiB" (K/M/G/T, powers of 1024).
 * Absent or null → def. 0 or -1 with an error at the value. */
int bmc_cfg_mem(const bmc_cfg_node *map, const char *key, size_t def, size_t *out, bmc_err *err);

/* Error at a node's position: "file:line:col: <msg>". Returns -1. */
int bmc_cfg_error_at(const bmc_cfg_node *node, bmc_err *err, const char *hint, const char *fmt, ...)
    BMC_PRINTF(4, 5);

/* Canonical text of a subtree (heap string, caller frees): flow style, map keys sorted
 * bytewise, scalars by type: null → null, bools → true/false, ints in decimal, floats with
 * "%.17g" (inf/-inf/nan spelled .inf/-.inf/.nan), strings as JSON strings. Two trees that
 * differ only in key order, formatting or comments give the same text. NULL node → "null". */
char *bmc_cfg_canonical(const bmc_cfg_node *node);

/* Write a subtree as block-style YAML (readable; used for resolved configs). Returns 0/-1. */
int bmc_cfg_emit(const bmc_cfg_node *node, FILE *out);

/* Build trees in code (for resolved configs written by the workflow engine).
 * Positions of built nodes are line 0, col 0 and file = NULL. */
bmc_cfg_node *bmc_cfg_new_map(void);
bmc_cfg_node *bmc_cfg_new_seq(void);
bmc_cfg_node *bmc_cfg_new_string(const char *s);
bmc_cfg_node *bmc_cfg_new_int(long long v);
bmc_cfg_node *bmc_cfg_new_double(double v);
bmc_cfg_node *bmc_cfg_new_bool(int v);
/* Deep copy (positions and file pointer kept; the copy does not own `file`). */
bmc_cfg_node *bmc_cfg_clone(const bmc_cfg_node *node);
/* Append to a map (key copied; replaces an existing key's value) or a sequence. The tree
 * takes ownership of child. */
void bmc_cfg_map_set(bmc_cfg_node *map, const char *key, bmc_cfg_node *child);
void bmc_cfg_seq_push(bmc_cfg_node *seq, bmc_cfg_node *child);
/* Free a node built or cloned in code (does not free `file`). */
void bmc_cfg_free_node(bmc_cfg_node *node);

#endif
