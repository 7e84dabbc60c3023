"""NumPy reference of the Resampler op (resampler.md §4-5), for the tests."""
import numpy as np


def _flat(data, warp):
  data = np.asarray(data, np.float64)
  warp = np.asarray(warp, np.float64)
  batch = warp.shape[0]
  return data, warp.reshape(batch, -1, 2)


def forward(data, warp):
  """Spec §4 reference: pad by one zero pixel, bilinear in padded coords."""
  data, flat = _flat(data, warp)
  batch, height, width, channels = data.shape
  padded = np.zeros((batch, height + 2, width + 2, channels))
  padded[:, 1:-1, 1:-1, :] = data
  out = np.zeros((batch, flat.shape[1], channels))
  for b in range(batch):
    for p in range(flat.shape[1]):
      x, y = flat[b, p]
      if not (x > -1 and y > -1 and x < width and y < height):
        continue
      x, y = x + 1, y + 1
      x0 = int(np.clip(np.floor(x), 0, width + 1))
      y0 = int(np.clip(np.floor(y), 0, height + 1))
      x1 = min(x0 + 1, width + 1)
      y1 = min(y0 + 1, height + 1)
      img = padded[b]
      out[b, p] = ((x1 - x) * (y1 - y) * img[y0, x0] +
                   (x1 - x) * (y - y0) * img[y1, x0] +
                   (x - x0) * (y1 - y) * img[y0, x1] +
                   (x - x0) * (y - y0) * img[y1, x1])
  return out.reshape(np.asarray(warp).shape[:-1] + (channels,))


def gradients(data, warp, grad_output):
  """Spec §5 reference: (grad_data, grad_warp)."""
  data, flat = _flat(data, warp)
  batch, height, width, channels = data.shape
  grad_output = np.asarray(grad_output, np.float64).reshape(
      batch, -1, channels)
  grad_data = np.zeros_like(data)
  grad_warp = np.zeros_like(flat)

  def value(b, xi, yi):
    if 0 <= xi < width and 0 <= yi < height:
      return data[b, yi, xi]
    return np.zeros(channels)

  def add(b, xi, yi, v):
    if 0 <= xi < width and 0 <= yi < height:
      grad_data[b, yi, xi] += v

  for b in range(batch):
    for p in range(flat.shape[1]):
      x, y = flat[b, p]
      if not (x > -1 and y > -1 and x < width and y < height):
        continue
      fx, fy = int(np.floor(x)), int(np.floor(y))
      cx, cy = fx + 1, fy + 1
      dx, dy = cx - x, cy - y
      g = grad_output[b, p]
      dff, dcc = value(b, fx, fy), value(b, cx, cy)
      dfc, dcf = value(b, fx, cy), value(b, cx, fy)
      grad_warp[b, p, 0] = np.sum(
          g * ((1 - dy) * (dcc - dfc) + dy * (dcf - dff)))
      grad_warp[b, p, 1] = np.sum(
          g * ((1 - dx) * (dcc - dcf) + dx * (dfc - dff)))
      add(b, fx, fy, g * dx * dy)
      add(b, cx, cy, g * (1 - dx) * (1 - dy))
      add(b, fx, cy, g * dx * (1 - dy))
      add(b, cx, fy, g * (1 - dx) * dy)
  return grad_data, grad_warp.reshape(np.asarray(warp).shape)


def random_warp(rng, shape, height, width, margin=1.5):
  """Coordinates inside, on pixel centres, on the border and outside."""
  warp = np.empty(shape)
  warp[..., 0] = rng.uniform(-1 - margin, width + margin, shape[:-1])
  warp[..., 1] = rng.uniform(-1 - margin, height + margin, shape[:-1])
  # Some exact integers (pixel centres, borders -1 / W, H) and near-borders.
  special_x = np.array([-1.0, -0.5, 0.0, width - 1.0, width - 0.5, width,
                        width + 0.25, 0.999, -0.999])
  special_y = np.array([-1.0, -0.5, 0.0, height - 1.0, height - 0.5, height,
                        height + 0.25, 0.999, -0.999])
  mask = rng.uniform(size=shape[:-1]) < 0.25
  warp[..., 0] = np.where(
      mask, rng.choice(special_x, size=shape[:-1]), warp[..., 0])
  mask = rng.uniform(size=shape[:-1]) < 0.25
  warp[..., 1] = np.where(
      mask, rng.choice(special_y, size=shape[:-1]), warp[..., 1])
  return warp
