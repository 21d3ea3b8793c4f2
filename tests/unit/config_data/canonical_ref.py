"""Independent reference for bmc_cfg_canonical (tests/unit/test_config.c, test config.python).

Usage: canonical_ref.py json|canon FILE.yaml
  json  : json.dumps(yaml.safe_load(doc), sort_keys=True, separators=(',', ':'),
          ensure_ascii=False) -- the exact Python spelling, for documents without floats.
  canon : the same tree in bmc_cfg_canonical's spelling (floats "%.17g" plus ".0" when integral,
          .inf/-.inf/.nan), for documents with floats.
PyYAML reads YAML 1.1, so the documents avoid what 1.1 and 1.2 read differently (yes/no/on/off,
0o17, 1_000, floats without a dot). Writes UTF-8 to stdout, no newline.
"""
import json
import math
import sys

import yaml


def canon(x):
    if x is None:
        return "null"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return ".nan"
        if math.isinf(x):
            return ".inf" if x > 0 else "-.inf"
        s = "%.17g" % x
        return s if any(c in s for c in ".eni") else s + ".0"
    if isinstance(x, str):
        return json.dumps(x, ensure_ascii=False)
    if isinstance(x, list):
        return "[" + ",".join(canon(v) for v in x) + "]"
    if isinstance(x, dict):
        for k in x:
            if not isinstance(k, str):
                raise SystemExit("non-string key %r" % (k,))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canon(x[k])
                              for k in sorted(x)) + "}"
    raise SystemExit("unexpected type %r" % type(x))


def main():
    mode, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if mode == "json":
        out = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    else:
        out = canon(doc)
    sys.stdout.buffer.write(out.encode("utf-8"))


if __name__ == "__main__":
    main()
