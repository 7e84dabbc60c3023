"""Writes a wheel of Sonnet from a bazel runfiles tree (stdlib only).

Usage: build_wheel.py --root RUNFILES_ROOT --out DIR

Packs sonnet/**/*.py, sonnet/**/*.proto and the bazel-built
sonnet/python/ops/_resampler.so with the metadata setup.py declares (name,
version from sonnet/__init__.py, requirements; TensorFlow is a prerequisite,
not a requirement). The wheel is tagged for the running interpreter and
platform, since it contains a compiled library.
"""
import argparse
import base64
import hashlib
import os
import re
import sys
import sysconfig
import zipfile

NAME = "sonnet_tf2compat"
DIST_NAME = "sonnet-tf2compat"
SUMMARY = ("Sonnet 1 (DeepMind's TF1 module library) on TensorFlow 2.21's "
           "compat.v1 API.")
REQUIRES = ["numpy", "absl-py", "protobuf"]
LIBRARY = "sonnet/python/ops/_resampler.so"


def _version(root):
  with open(os.path.join(root, "sonnet", "__init__.py")) as f:
    match = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M)
  return match.group(1)


def _files(root):
  found = []
  for dirpath, _, filenames in os.walk(os.path.join(root, "sonnet"),
                                       followlinks=True):
    for filename in filenames:
      if filename.endswith((".py", ".proto")) or filename == "_resampler.so":
        path = os.path.join(dirpath, filename)
        found.append(os.path.relpath(path, root))
  if LIBRARY not in found:
    raise SystemExit("build_wheel: {} missing from {}".format(LIBRARY, root))
  return sorted(found)


def _tag():
  impl = "cp{}{}".format(*sys.version_info[:2])
  platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
  return "{0}-{0}-{1}".format(impl, platform)


def _record_line(name, data):
  digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
  return "{},sha256={},{}".format(name, digest.decode(), len(data))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--root", required=True)
  parser.add_argument("--out", required=True)
  args = parser.parse_args()
  version = _version(args.root)
  tag = _tag()
  dist_info = "{}-{}.dist-info".format(NAME, version)
  metadata = "".join(
      ["Metadata-Version: 2.1\n", "Name: {}\n".format(DIST_NAME),
       "Version: {}\n".format(version), "Summary: {}\n".format(SUMMARY),
       "Requires-Python: >=3.9\n"] +
      ["Requires-Dist: {}\n".format(r) for r in REQUIRES])
  wheel = ("Wheel-Version: 1.0\nGenerator: sonnet-bazel-build_wheel\n"
           "Root-Is-Purelib: false\nTag: {}\n".format(tag))
  path = os.path.join(args.out, "{}-{}-{}.whl".format(NAME, version, tag))
  records = []
  with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as whl:
    for name in _files(args.root):
      with open(os.path.join(args.root, name), "rb") as f:
        data = f.read()
      info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
      info.external_attr = (0o755 if name.endswith(".so") else 0o644) << 16
      info.compress_type = zipfile.ZIP_DEFLATED
      whl.writestr(info, data)
      records.append(_record_line(name, data))
    for name, text in (("METADATA", metadata), ("WHEEL", wheel),
                       ("top_level.txt", "sonnet\n")):
      data = text.encode()
      whl.writestr("{}/{}".format(dist_info, name), data)
      records.append(_record_line("{}/{}".format(dist_info, name), data))
    records.append("{}/RECORD,,".format(dist_info))
    whl.writestr("{}/RECORD".format(dist_info), "\n".join(records) + "\n")
  print(path)


if __name__ == "__main__":
  main()
