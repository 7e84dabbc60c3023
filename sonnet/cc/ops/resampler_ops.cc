// Registration of the Resampler and ResamplerGrad ops (Sonnet v1.3 op,
// see resampler.md §2). Shape problems that the kernels report with
// upstream's error classes (rank of data, last dimension of warp, batch
// mismatch) are deliberately left to run time here, as upstream did:
// callers build the op with such shapes and expect the error on `run`.
#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace sonnet {

using ::tensorflow::shape_inference::InferenceContext;
using ::tensorflow::shape_inference::ShapeHandle;

REGISTER_OP("Resampler")
    .Input("data: T")
    .Input("warp: T")
    .Output("output: T")
    .Attr("T: {half, bfloat16, float, double}")
    .SetShapeFn([](InferenceContext* c) {
      ShapeHandle data;
      ShapeHandle warp;
      TF_RETURN_IF_ERROR(c->WithRankAtLeast(c->input(0), 1, &data));
      TF_RETURN_IF_ERROR(c->WithRankAtLeast(c->input(1), 1, &warp));
      ShapeHandle points;
      TF_RETURN_IF_ERROR(c->Subshape(warp, 0, -1, &points));
      ShapeHandle output;
      TF_RETURN_IF_ERROR(c->Concatenate(
          points, c->Vector(c->Dim(data, -1)), &output));
      c->set_output(0, output);
      return absl::OkStatus();
    })
    .Doc(R"doc(
Resamples `data` at the 2-D points `warp` by bilinear interpolation.

data: [batch, height, width, channels].
warp: [batch, d0, ..., dn, 2]; warp[..., 0] is the column (x) and
  warp[..., 1] the row (y) coordinate, pixel centres at integers. Points
  outside the image zero-padded by one pixel sample 0.
output: [batch, d0, ..., dn, channels].
)doc");

REGISTER_OP("ResamplerGrad")
    .Input("data: T")
    .Input("warp: T")
    .Input("grad_output: T")
    .Output("grad_data: T")
    .Output("grad_warp: T")
    .Attr("T: {half, bfloat16, float, double}")
    .SetShapeFn([](InferenceContext* c) {
      c->set_output(0, c->input(0));
      c->set_output(1, c->input(1));
      return absl::OkStatus();
    })
    .Doc(R"doc(
Gradients of Resampler with respect to `data` and `warp`.
)doc");

}  // namespace sonnet
