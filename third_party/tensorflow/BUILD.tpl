# The installed TensorFlow (a pip package directory), as a Bazel repository:
# its C++ headers and the framework library custom ops link against.
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "tf_headers",
    hdrs = glob(
        ["include/**"],
        exclude = ["include/**/*.py", "include/**/__pycache__/**"],
    ),
    includes = ["include"],
)

cc_library(
    name = "libtensorflow_framework",
    srcs = ["libtensorflow_framework.so.2"],
)
