/* test_fingerprint.c — SHA-256 of bytes, files and folders against Python's hashlib (run
 * as an independent reference through /usr/bin/python3), plus the folder rule (sorted
 * relative paths) and canonical-parameter hashing (key order and formatting do not matter).
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bmc_alloc.h"
#include "bmc_config.h"
#include "bmc_fingerprint.h"
#include "bmc_fs.h"
#include "bmc_test.h"

/* Run a Python one-liner and return its first output line (heap). */
static char *python_line(const char *code) {
    const char *py = getenv("BMC_PYTHON3");
    char *cmd = bmc_xasprintf("%s -c '%s'", py && py[0] ? py : "/usr/bin/python3", code);
    FILE *p = popen(cmd, "r");
    free(cmd);
    if (!p) return xstrdup("");
    char buf[256] = "";
    if (!fgets(buf, sizeof buf, p)) buf[0] = '\0';
    pclose(p);
    buf[strcspn(buf, "\n")] = '\0';
    return xstrdup(buf);
}

int main(void) {
    char hex[BMC_SHA256_HEX];
    bmc_err err = {0};

    /* FIPS 180-2 test vectors. */
    bmc_sha256_str("abc", hex);
    TEST_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    bmc_sha256_str("", hex);
    TEST_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* Incremental equals one-shot. */
    bmc_sha256 h;
    bmc_sha256_init(&h);
    bmc_sha256_update(&h, "ab", 2);
    bmc_sha256_update(&h, "c", 1);
    bmc_sha256_final(&h, hex);
    TEST_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* A 3 MiB file (several read chunks) against hashlib. */
    char dir[] = "/tmp/bmc-fp-XXXXXX";
    TEST_CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char *file = bmc_xasprintf("%s/a.bin", dir);
    size_t n = 3u << 20;
    unsigned char *data = xmalloc(n);
    for (size_t i = 0; i < n; i++) data[i] = (unsigned char)((i * 2654435761u) >> 13);
    TEST_CHECK(bmc_write_file_atomic(file, data, n, &err) == 0, "%s", err.msg);
    TEST_CHECK(bmc_sha256_path(file, hex, &err) == 0, "%s", err.msg);
    char *code = bmc_xasprintf("import hashlib;print(hashlib.sha256(open(\"%s\",\"rb\").read()).hexdigest())", file);
    char *ref = python_line(code);
    TEST_STREQ(hex, ref);
    free(code);
    free(ref);

    /* Folder: hash of "relpath\tsha\n" lines in sorted order, as computed by Python. */
    char *sub = bmc_xasprintf("%s/sub", dir);
    TEST_CHECK(bmc_mkdir_p(sub, &err) == 0, "%s", err.msg);
    char *f2 = bmc_xasprintf("%s/sub/b.txt", dir), *f3 = bmc_xasprintf("%s/B.txt", dir);
    TEST_CHECK(bmc_write_file_atomic(f2, "hello\n", 6, &err) == 0, "%s", err.msg);
    TEST_CHECK(bmc_write_file_atomic(f3, "world\n", 6, &err) == 0, "%s", err.msg);
    TEST_CHECK(bmc_sha256_path(dir, hex, &err) == 0, "%s", err.msg);
    code = bmc_xasprintf(
        "import hashlib,os;r=\"%s\";fs=sorted(os.path.relpath(os.path.join(d,f),r) for d,_,ff in os.walk(r) for f in ff);"
        "print(hashlib.sha256(\"\".join(f+\"\\t\"+hashlib.sha256(open(os.path.join(r,f),\"rb\").read()).hexdigest()+\"\\n\" for f in fs).encode()).hexdigest())",
        dir);
    ref = python_line(code);
    TEST_STREQ(hex, ref);
    free(code);
    free(ref);

    /* Missing path: an error that names it. */
    bmc_err e2 = {0};
    char *missing = bmc_xasprintf("%s/nope", dir);
    TEST_CHECK(bmc_sha256_path(missing, hex, &e2) == -1 && strstr(e2.msg, missing) != NULL,
               "message: %s", e2.msg);

    /* Parameters: same canonical hash for reordered keys and other formatting. */
    bmc_cfg_node *a = bmc_cfg_load_string("b: [1, 2]\na: {x: 1.5, y: text}\n", "a.yaml", &err);
    bmc_cfg_node *b = bmc_cfg_load_string("# comment\na:\n  y: \"text\"\n  x: 1.50\nb:\n  - 1\n  - 2\n", "b.yaml", &err);
    bmc_cfg_node *c = bmc_cfg_load_string("a: {x: 1.5, y: text}\nb: [1, 3]\n", "c.yaml", &err);
    TEST_CHECK(a && b && c, "load: %s", err.msg);
    if (a && b && c) {
        char ha[BMC_SHA256_HEX], hb[BMC_SHA256_HEX], hc[BMC_SHA256_HEX];
        bmc_sha256_cfg(a, ha);
        bmc_sha256_cfg(b, hb);
        bmc_sha256_cfg(c, hc);
        TEST_STREQ(ha, hb);
        TEST_CHECK(strcmp(ha, hc) != 0, "a changed value must change the hash");
    }
    bmc_cfg_free(a);
    bmc_cfg_free(b);
    bmc_cfg_free(c);

    bmc_remove_tree(dir);
    TEST_CHECK(!bmc_path_exists(dir), "cleanup");
    free(file);
    free(data);
    free(sub);
    free(f2);
    free(f3);
    free(missing);
    return test_summary();
}
