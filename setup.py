"""Installs Sonnet 1 for TensorFlow 2.21 (`pip install .`).

TensorFlow is a prerequisite, as it was for Sonnet 1: it is not listed in
install_requires so that pip never replaces the TensorFlow distribution the
user already has (tensorflow, tensorflow-cpu, a local build, ...).
"""
import setuptools

setuptools.setup(
    name="sonnet-tf2compat",
    version="1.36",
    description="Sonnet 1 (DeepMind's TF1 module library) on TensorFlow 2.21's compat.v1 API.",
    packages=setuptools.find_packages(include=["sonnet", "sonnet.*"]),
    package_data={"sonnet.protos": ["*.proto"]},
    python_requires=">=3.9",
    install_requires=["numpy", "absl-py", "protobuf"],
    extras_require={
        "tensorflow": ["tensorflow-cpu==2.21.0"],
        "probability": ["tensorflow-probability"],
    },
)
