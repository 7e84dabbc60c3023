"""NumPy reference convolutions for the conv tests (channels-last layout).

Written directly from the definitions (explicit loops over output and kernel
positions), independent of TensorFlow.
"""

import math

import numpy as np


def same_pads(in_sizes, kernel, stride, rate):
  """[before, after] padding of the SAME conv op (TensorFlow semantics)."""
  pads = []
  for size, k, s, r in zip(in_sizes, kernel, stride, rate):
    k_eff = (k - 1) * r + 1
    out = int(math.ceil(size / s))
    total = max((out - 1) * s + k_eff - size, 0)
    pads.append((total // 2, total - total // 2))
  return pads


def module_pads(padding, kernel, rate):
  """[before, after] explicit padding Sonnet uses for each padding type."""
  pads = []
  for p, k, r in zip(padding, kernel, rate):
    k_eff = (k - 1) * r + 1
    pads.append({
        "FULL": (k_eff - 1, k_eff - 1),
        "CAUSAL": (k_eff - 1, 0),
        "REVERSE_CAUSAL": (0, k_eff - 1),
        "SAME": ((k_eff - 1) // 2, k_eff // 2),
        "VALID": (0, 0),
    }[p])
  return pads


def conv(x, w, stride, rate, pads, mode="constant"):
  """Cross-correlation of x [B, *S, Cin] with w [*K, Cin, Cout]."""
  n = x.ndim - 2
  x = np.pad(x, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)], mode=mode)
  kernel = w.shape[:n]
  k_eff = [(k - 1) * r + 1 for k, r in zip(kernel, rate)]
  out_sizes = [(x.shape[1 + i] - k_eff[i]) // stride[i] + 1 for i in range(n)]
  out = np.zeros([x.shape[0]] + out_sizes + [w.shape[-1]], dtype=np.float64)
  for idx in np.ndindex(*out_sizes):
    for kidx in np.ndindex(*kernel):
      pos = tuple(idx[i] * stride[i] + kidx[i] * rate[i] for i in range(n))
      out[(slice(None),) + idx] += x[(slice(None),) + pos].dot(w[kidx])
  return out


def module_conv(x, w, stride, rate, padding, padding_value="CONSTANT"):
  """What a Sonnet ConvND computes (channels-last, no bias)."""
  n = x.ndim - 2
  kernel = w.shape[:n]
  if all(p == "SAME" for p in padding) and padding_value == "CONSTANT":
    pads = same_pads(x.shape[1:-1], kernel, stride, rate)
  else:
    pads = module_pads(padding, kernel, rate)
  return conv(x, w, stride, rate, pads, mode=padding_value.lower())


def depthwise_conv(x, w, stride, rate, pads, mode="constant"):
  """Depthwise conv: w [*K, Cin, M] -> output channel c * M + m."""
  cin, mult = w.shape[-2:]
  outs = []
  for c in range(cin):
    outs.append(conv(x[..., c:c + 1], w[..., c:c + 1, :], stride, rate, pads,
                     mode))
  return np.concatenate(outs, axis=-1)


def conv_transpose(x, w, stride, out_sizes, padding):
  """Transposed conv of x [B, *S, Cin] with w [*K, Cout, Cin] (TF semantics).

  The adjoint of a conv from `out_sizes` to the input sizes of `x`.
  """
  n = x.ndim - 2
  kernel = w.shape[:n]
  if padding == "SAME":
    before = [same_pads([o], [k], [s], [1])[0][0]
              for o, k, s in zip(out_sizes, kernel, stride)]
  else:
    before = [0] * n
  out = np.zeros([x.shape[0]] + list(out_sizes) + [w.shape[-2]],
                 dtype=np.float64)
  for idx in np.ndindex(*x.shape[1:-1]):
    for kidx in np.ndindex(*kernel):
      pos = tuple(idx[i] * stride[i] + kidx[i] - before[i] for i in range(n))
      if all(0 <= p < o for p, o in zip(pos, out_sizes)):
        out[(slice(None),) + pos] += x[(slice(None),) + idx].dot(w[kidx].T)
  return out


def to_channels_first(x):
  return np.moveaxis(x, -1, 1)


def to_channels_last(x):
  return np.moveaxis(x, 1, -1)
