"""Installs Sonnet 1 for TensorFlow 2.21 (`pip install .`).

TensorFlow is a prerequisite, as it was for Sonnet 1: it is not listed in
install_requires so that pip never replaces the TensorFlow distribution the
user already has (tensorflow, tensorflow-cpu, a local build, ...).

The package ships one compiled part, the `Resampler` custom op
(`sonnet/python/ops/_resampler.so`, sources in sonnet/cc/). It is compiled
here with g++ against the *installed* TensorFlow's headers and framework
library (`tf.sysconfig` flags), so TensorFlow must be installed before
`pip install .`. pip builds in an isolated environment that hides the target
environment's packages; the flags are then read by running the target
interpreter without that isolation. Set SONNET_TF_PYTHON to use another
interpreter's TensorFlow, and CXX to use another compiler.
"""
import json
import os
import shlex
import subprocess
import sys

import setuptools
from setuptools.command import build_ext

_RESAMPLER_SOURCES = [
    "sonnet/cc/ops/resampler_ops.cc",
    "sonnet/cc/kernels/resampler_op.cc",
]
_RESAMPLER_HEADERS = [
    "sonnet/cc/kernels/resampler_cpu.h",
    "sonnet/cc/kernels/resampler_math.h",
    "sonnet/cc/kernels/resampler_op.h",
]

_TF_QUERY = (
    "import json, tensorflow as tf; print(json.dumps({"
    "'version': tf.__version__, "
    "'cflags': tf.sysconfig.get_compile_flags(), "
    "'lflags': tf.sysconfig.get_link_flags()}))")


def _tensorflow_build_info():
  """Returns TF's version and compile/link flags, from the target env."""
  python = os.environ.get("SONNET_TF_PYTHON")
  if not python:
    try:
      import tensorflow as tf  # pylint: disable=g-import-not-at-top
      return {"version": tf.__version__,
              "cflags": tf.sysconfig.get_compile_flags(),
              "lflags": tf.sysconfig.get_link_flags()}
    except ImportError:
      python = sys.executable
  # Undo pip's build isolation (PYTHONPATH + sitecustomize, no user site).
  env = {k: v for k, v in os.environ.items()
         if k not in ("PYTHONPATH", "PYTHONNOUSERSITE", "PYTHONHOME")}
  env["TF_CPP_MIN_LOG_LEVEL"] = "3"
  proc = subprocess.run([python, "-c", _TF_QUERY], env=env,
                        capture_output=True, text=True, check=False)
  if proc.returncode != 0:
    raise RuntimeError(
        "Building Sonnet's Resampler op needs TensorFlow installed in the "
        "target environment ({}), but importing it failed:\n{}\nInstall "
        "TensorFlow first, e.g. `pip install tensorflow-cpu==2.21.0`.".format(
            python, proc.stderr.strip()[-2000:]))
  return json.loads(proc.stdout.strip().splitlines()[-1])


class BuildResampler(build_ext.build_ext):
  """Compiles the Resampler op library with g++ and TensorFlow's flags."""

  def get_ext_filename(self, fullname):
    # `_resampler.so`, the name resampler.py loads (no ABI tag: the library
    # depends on the TensorFlow version, which the loader checks).
    return os.path.join(*fullname.split(".")) + ".so"

  def build_extension(self, ext):
    info = _tensorflow_build_info()
    target = self.get_ext_fullpath(ext.name)
    os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
    cxx = shlex.split(os.environ.get("CXX", "g++"))
    root = os.path.dirname(os.path.abspath(__file__))
    cmd = (cxx + ["-shared", "-fPIC", "-O3", "-ffp-contract=off", "-std=c++17",
                  "-Wno-deprecated-declarations", "-Wno-interference-size",
                  "-I" + root]
           + info["cflags"]
           + ['-DSONNET_TF_VERSION="{}"'.format(info["version"])]
           + [os.path.join(root, s) for s in ext.sources]
           + ["-o", target] + info["lflags"])
    print("building Resampler op against TensorFlow {}: {}".format(
        info["version"], " ".join(shlex.quote(c) for c in cmd)))
    subprocess.check_call(cmd)


setuptools.setup(
    name="sonnet-tf2compat",
    version="1.36",
    description="Sonnet 1 (DeepMind's TF1 module library) on TensorFlow 2.21's compat.v1 API.",
    packages=setuptools.find_packages(include=["sonnet", "sonnet.*"]),
    package_data={"sonnet.protos": ["*.proto"]},
    ext_modules=[setuptools.Extension(
        "sonnet.python.ops._resampler", sources=_RESAMPLER_SOURCES,
        depends=_RESAMPLER_HEADERS)],
    cmdclass={"build_ext": BuildResampler},
    python_requires=">=3.9",
    install_requires=["numpy", "absl-py", "protobuf"],
    extras_require={
        "tensorflow": ["tensorflow-cpu==2.21.0"],
        "probability": ["tensorflow-probability"],
    },
)
