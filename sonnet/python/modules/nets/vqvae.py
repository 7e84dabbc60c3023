"""Vector quantization layers of VQ-VAE (van den Oord et al. 2017).

"Neural Discrete Representation Learning", https://arxiv.org/abs/1711.00937.
Both layers snap each `embedding_dim`-sized input vector to its nearest code
(a column of the `embedding` matrix) and pass gradients straight through.
"""

from sonnet.python.modules import base
import tensorflow.compat.v1 as tf
from tensorflow.python.training import moving_averages


def _nearest_codes(inputs, w, embedding_dim, num_embeddings):
  """Returns `(flat_inputs, encodings, encoding_indices)` for codes `w`.

  `encoding_indices` has the shape of `inputs` without its last dimension;
  `encodings` is the one-hot `[num_vectors, num_embeddings]` float32 matrix.
  """
  input_shape = tf.shape(inputs)
  with tf.control_dependencies([
      tf.Assert(tf.equal(input_shape[-1], embedding_dim), [input_shape])]):
    flat_inputs = tf.reshape(inputs, [-1, embedding_dim])

  distances = (tf.reduce_sum(flat_inputs**2, 1, keepdims=True)
               - 2 * tf.matmul(flat_inputs, w)
               + tf.reduce_sum(w**2, 0, keepdims=True))
  encoding_indices = tf.argmax(-distances, 1)
  encodings = tf.one_hot(encoding_indices, num_embeddings)
  encoding_indices = tf.reshape(encoding_indices, tf.shape(inputs)[:-1])
  return flat_inputs, encodings, encoding_indices


def _initialized_value(variable):
  """`variable`'s value once initialized (TF1 `Variable.initialized_value()`).

  Resource variables on TF 2 no longer implement `initialized_value`; this
  is what it computed: the current value if initialized, else the initial
  value.
  """
  return tf.cond(tf.is_variable_initialized(variable),
                 variable.read_value,
                 lambda: variable.initial_value)


def _perplexity(encodings):
  avg_probs = tf.reduce_mean(encodings, 0)
  return tf.exp(-tf.reduce_sum(avg_probs * tf.log(avg_probs + 1e-10)))


class VectorQuantizer(base.AbstractModule):
  """Vector quantization trained through its loss (codebook and commitment).

  Returns a dict with:
    "quantize": the quantized inputs (same shape; straight-through gradient).
    "loss": `q_latent_loss + commitment_cost * e_latent_loss`, where
      `q_latent_loss = mean((quantized - sg(inputs))**2)` moves the codes and
      `e_latent_loss = mean((sg(quantized) - inputs)**2)` the encoder.
    "perplexity": `exp(entropy)` of the batch's average code usage.
    "encodings": one-hot `[num_vectors, num_embeddings]` assignments.
    "encoding_indices": code indices, shaped like the inputs minus the last
      dimension.
  """

  def __init__(self, embedding_dim, num_embeddings, commitment_cost,
               name="vq_layer"):
    """Creates the `[embedding_dim, num_embeddings]` variable `embedding`.

    Args:
      embedding_dim: size of each code vector (the inputs' last dimension).
      num_embeddings: number of codes.
      commitment_cost: weight of the commitment (encoder) loss.
      name: module name.
    """
    super(VectorQuantizer, self).__init__(name=name)
    self._embedding_dim = embedding_dim
    self._num_embeddings = num_embeddings
    self._commitment_cost = commitment_cost

    with self._enter_variable_scope():
      initializer = tf.uniform_unit_scaling_initializer()
      self._w = tf.get_variable("embedding", [embedding_dim, num_embeddings],
                                initializer=initializer, trainable=True)

  def _build(self, inputs, is_training):
    """Quantizes `inputs` (`[..., embedding_dim]`); see the class docstring.

    Args:
      inputs: float tensor whose last dimension is `embedding_dim` (checked
        at run time).
      is_training: unused; kept for the interface shared with
        `VectorQuantizerEMA`.

    Returns:
      Dict with keys "quantize", "loss", "perplexity", "encodings",
      "encoding_indices".
    """
    del is_training  # Unused.
    _, encodings, encoding_indices = _nearest_codes(
        inputs, self._w, self._embedding_dim, self._num_embeddings)
    quantized = self.quantize(encoding_indices)

    e_latent_loss = tf.reduce_mean((tf.stop_gradient(quantized) - inputs)**2)
    q_latent_loss = tf.reduce_mean((quantized - tf.stop_gradient(inputs))**2)
    loss = q_latent_loss + self._commitment_cost * e_latent_loss

    quantized = inputs + tf.stop_gradient(quantized - inputs)
    return {
        "quantize": quantized,
        "loss": loss,
        "perplexity": _perplexity(encodings),
        "encodings": encodings,
        "encoding_indices": encoding_indices,
    }

  @property
  def embeddings(self):
    """The `[embedding_dim, num_embeddings]` codes (one code per column)."""
    return self._w

  def quantize(self, encoding_indices):
    """Returns the codes of `encoding_indices` (shape `indices + [D]`)."""
    with tf.control_dependencies([encoding_indices]):
      w = tf.transpose(self.embeddings.read_value(), [1, 0])
    return tf.nn.embedding_lookup(w, encoding_indices, validate_indices=False)


class VectorQuantizerEMA(base.AbstractModule):
  """Vector quantization whose codes follow exponential moving averages.

  When training, each code becomes the (Laplace-smoothed) moving average of
  the inputs assigned to it, instead of being learned through a loss:
    ema_cluster_size <- EMA(count of inputs per code)
    ema_dw <- EMA(sum of inputs per code)
    embedding <- ema_dw / smoothed(ema_cluster_size)
  The moving averages are zero-debiased (TensorFlow's `assign_moving_average`
  default). The loss is only the commitment term. Returns the same dict as
  `VectorQuantizer`.
  """

  def __init__(self, embedding_dim, num_embeddings, commitment_cost, decay,
               epsilon=1e-5, name="VectorQuantizerEMA"):
    """Creates the variables `embedding`, `ema_cluster_size` and `ema_dw`.

    Args:
      embedding_dim: size of each code vector (the inputs' last dimension).
      num_embeddings: number of codes.
      commitment_cost: weight of the commitment loss.
      decay: moving-average decay, in [0, 1].
      epsilon: Laplace smoothing constant for the cluster sizes.
      name: module name.
    """
    super(VectorQuantizerEMA, self).__init__(name=name)
    self._commitment_cost = commitment_cost
    self._embedding_dim = embedding_dim
    self._num_embeddings = num_embeddings
    self._decay = decay
    self._epsilon = epsilon

    with self._enter_variable_scope():
      initializer = tf.random_normal_initializer()
      # One code per column; when training each becomes the average of the
      # inputs assigned to it.
      self._w = tf.get_variable(
          "embedding", [embedding_dim, num_embeddings],
          initializer=initializer, use_resource=True)
      self._ema_cluster_size = tf.get_variable(
          "ema_cluster_size", [num_embeddings],
          initializer=tf.constant_initializer(0), use_resource=True)
      self._ema_w = tf.get_variable(
          "ema_dw", initializer=_initialized_value(self._w), use_resource=True)

  def _build(self, inputs, is_training):
    """Quantizes `inputs` and, when training, updates the codes.

    Args:
      inputs: float tensor whose last dimension is `embedding_dim` (checked
        at run time).
      is_training: Python bool; if True the moving averages and codes are
        updated when "loss" is evaluated.

    Returns:
      Dict with keys "quantize", "loss", "perplexity", "encodings",
      "encoding_indices".

    Raises:
      TypeError: `is_training` is a tensor.
    """
    if isinstance(is_training, (tf.Tensor, tf.Variable)):
      raise TypeError(
          "{}: is_training must be a Python bool (it decides whether update "
          "ops are built), not the tensor {}.".format(self.scope_name,
                                                      is_training))
    # Read the codes after `inputs` is computed, so that in a recurrent
    # setting each step sees the previous step's update.
    with tf.control_dependencies([inputs]):
      w = self._w.read_value()
    flat_inputs, encodings, encoding_indices = _nearest_codes(
        inputs, w, self._embedding_dim, self._num_embeddings)
    quantized = self.quantize(encoding_indices)
    e_latent_loss = tf.reduce_mean((tf.stop_gradient(quantized) - inputs)**2)

    if is_training:
      updated_ema_cluster_size = moving_averages.assign_moving_average(
          self._ema_cluster_size, tf.reduce_sum(encodings, 0), self._decay)
      dw = tf.matmul(flat_inputs, encodings, transpose_a=True)
      updated_ema_w = moving_averages.assign_moving_average(
          self._ema_w, dw, self._decay)
      n = tf.reduce_sum(updated_ema_cluster_size)
      updated_ema_cluster_size = (
          (updated_ema_cluster_size + self._epsilon)
          / (n + self._num_embeddings * self._epsilon) * n)
      normalised_updated_ema_w = (
          updated_ema_w / tf.reshape(updated_ema_cluster_size, [1, -1]))
      with tf.control_dependencies([e_latent_loss]):
        update_w = tf.assign(self._w, normalised_updated_ema_w)
        with tf.control_dependencies([update_w]):
          loss = self._commitment_cost * e_latent_loss
    else:
      loss = self._commitment_cost * e_latent_loss

    quantized = inputs + tf.stop_gradient(quantized - inputs)
    return {
        "quantize": quantized,
        "loss": loss,
        "perplexity": _perplexity(encodings),
        "encodings": encodings,
        "encoding_indices": encoding_indices,
    }

  @property
  def embeddings(self):
    """The `[embedding_dim, num_embeddings]` codes (one code per column)."""
    return self._w

  def quantize(self, encoding_indices):
    """Returns the codes of `encoding_indices` (shape `indices + [D]`)."""
    with tf.control_dependencies([encoding_indices]):
      w = tf.transpose(self.embeddings.read_value(), [1, 0])
    return tf.nn.embedding_lookup(w, encoding_indices, validate_indices=False)
