"""`ConvNet2D` and `ConvNet2DTranspose`: stacks of 2D (transposed) convs."""

import collections.abc
import functools

from sonnet.python.modules import base
from sonnet.python.modules import batch_norm
from sonnet.python.modules import batch_norm_v2
from sonnet.python.modules import conv
from sonnet.python.modules import util
import tensorflow.compat.v1 as tf

DATA_FORMAT_NCHW = "NCHW"
DATA_FORMAT_NHWC = "NHWC"
SUPPORTED_2D_DATA_FORMATS = {DATA_FORMAT_NCHW, DATA_FORMAT_NHWC}


def _replicate_elements(input_iterable, num_times):
  """Repeats a length-1 sequence `num_times` times, else returns a tuple."""
  if len(input_iterable) == 1:
    return (input_iterable[0],) * num_times
  return tuple(input_iterable)


def _evaluate(value):
  return value() if callable(value) else value


class ConvNet2D(base.AbstractModule, base.Transposable):
  """A stack of `Conv2D` layers, each optionally normalized and activated.

  Layers are created in the constructor (`<name>/conv_2d_<i>/w`, `.../b`).
  A normalization module (e.g. `snt.BatchNorm`, `snt.LayerNorm`) is created
  on each connection after every layer but the last (and after the last one
  too if `normalize_final`) under the name `batch_norm_<i>` -- whatever its
  type, so that old checkpoints keep restoring.
  """

  POSSIBLE_INITIALIZER_KEYS = {"w", "b"}
  # Old name, kept for backwards compatibility.
  POSSIBLE_KEYS = POSSIBLE_INITIALIZER_KEYS

  def __init__(self,
               output_channels,
               kernel_shapes,
               strides,
               paddings,
               rates=(1,),
               activation=tf.nn.relu,
               activate_final=False,
               normalization_ctor=None,
               normalization_kwargs=None,
               normalize_final=None,
               initializers=None,
               partitioners=None,
               regularizers=None,
               use_batch_norm=None,
               use_bias=True,
               batch_norm_config=None,
               data_format=DATA_FORMAT_NHWC,
               custom_getter=None,
               name="conv_net_2d"):
    """Constructs a `ConvNet2D`.

    Args:
      output_channels: iterable of output channel counts (ints or
        zero-argument callables), one per layer.
      kernel_shapes: iterable of kernel shapes, of length 1 (shared by all
        layers) or `len(output_channels)`.
      strides: iterable of strides, length 1 or `len(output_channels)`.
      paddings: iterable of paddings (`snt.SAME`, ... or per-dimension
        pairs), length 1 or `len(output_channels)`.
      rates: iterable of dilation rates, length 1 or `len(output_channels)`.
      activation: callable applied after every layer but the last.
      activate_final: whether to also activate the last layer's output.
      normalization_ctor: normalization module constructor, or a string
        naming one (e.g. "snt.LayerNorm"); None for no normalization.
      normalization_kwargs: kwargs for `normalization_ctor`.
      normalize_final: whether to normalize the last layer's output; None
        (deprecated) means the value of `activate_final`.
      initializers: optional dict with keys "w", "b" for every layer.
      partitioners: optional dict with keys "w", "b".
      regularizers: optional dict with keys "w", "b".
      use_batch_norm: deprecated; True means `normalization_ctor=BatchNorm`
        with `batch_norm_config` as kwargs.
      use_bias: bool, or iterable of bools of length 1 or
        `len(output_channels)`.
      batch_norm_config: deprecated kwargs for `BatchNorm`.
      data_format: "NHWC" or "NCHW".
      custom_getter: custom getter (or dict of them) for the variables.
      name: module name.

    Raises:
      TypeError: an argument that must be iterable is not, `use_batch_norm`
        is iterable, `activation` is not callable, or a dict entry is not
        callable.
      ValueError: empty `output_channels`, a per-layer argument of the wrong
        length, an unknown data format, or inconsistent normalization
        arguments.
      KeyError: an initializers/partitioners/regularizers key is not allowed.
    """
    for arg_name, arg in (("output_channels", output_channels),
                          ("kernel_shapes", kernel_shapes),
                          ("strides", strides),
                          ("paddings", paddings),
                          ("rates", rates)):
      if not isinstance(arg, collections.abc.Iterable):
        raise TypeError("{} must be iterable".format(arg_name))
    if isinstance(use_batch_norm, collections.abc.Iterable):
      raise TypeError("use_batch_norm must be a boolean. Per-layer use of "
                      "batch normalization is not supported.")

    super(ConvNet2D, self).__init__(custom_getter=custom_getter, name=name)

    output_channels = tuple(output_channels)
    if not output_channels:
      raise ValueError("output_channels must not be empty")
    self._output_channels = output_channels
    self._num_layers = len(self._output_channels)
    self._input_shape = None

    if data_format not in SUPPORTED_2D_DATA_FORMATS:
      raise ValueError("Invalid data_format {}. Allowed formats {}".format(
          data_format, sorted(SUPPORTED_2D_DATA_FORMATS)))
    self._data_format = data_format

    self._initializers = util.check_initializers(
        initializers, self.POSSIBLE_INITIALIZER_KEYS)
    self._partitioners = util.check_partitioners(
        partitioners, self.POSSIBLE_INITIALIZER_KEYS)
    self._regularizers = util.check_regularizers(
        regularizers, self.POSSIBLE_INITIALIZER_KEYS)

    if not callable(activation):
      raise TypeError("Input 'activation' must be callable")
    self._activation = activation
    self._activate_final = activate_final

    self._kernel_shapes = self._per_layer(kernel_shapes, "kernel_shapes")
    self._strides = self._per_layer(strides, "strides")
    self._paddings = self._per_layer(paddings, "paddings")
    self._rates = self._per_layer(rates, "rates")

    self._parse_normalization_kwargs(use_batch_norm, batch_norm_config,
                                     normalization_ctor, normalization_kwargs)

    if normalize_final is None:
      util.deprecation_warning(
          "normalize_final is not specified, so using the value of "
          "activate_final = {}. Change your code to set this kwarg "
          "explicitly. In the future, normalize_final will default to "
          "True.".format(activate_final))
      self._normalize_final = activate_final
    else:
      self._normalize_final = normalize_final

    if isinstance(use_bias, bool):
      use_bias = (use_bias,)
    elif not isinstance(use_bias, collections.abc.Iterable):
      raise TypeError("use_bias must be either a bool or an iterable")
    use_bias = tuple(use_bias)
    self._use_bias = _replicate_elements(use_bias, self._num_layers)
    if len(self._use_bias) != self._num_layers:
      raise ValueError(
          "use_bias must be either a boolean or of length 1 or "
          "len(output_channels)")

    self._instantiate_layers()

  def _per_layer(self, values, arg_name):
    values = _replicate_elements(tuple(values), self._num_layers)
    if len(values) != self._num_layers:
      raise ValueError(
          "{} must be of length 1 or len(output_channels)".format(arg_name))
    return values

  def _check_and_assign_normalization_members(self, normalization_ctor,
                                              normalization_kwargs):
    """Resolves a string constructor and stores the normalization setup."""
    if isinstance(normalization_ctor, str):
      normalization_ctor = util.parse_string_to_constructor(normalization_ctor)
    if normalization_ctor is not None and not callable(normalization_ctor):
      raise ValueError(
          "normalization_ctor must be a callable or a string that specifies "
          "a callable, got {}.".format(normalization_ctor))
    self._normalization_ctor = normalization_ctor
    self._normalization_kwargs = normalization_kwargs

  def _parse_normalization_kwargs(self, use_batch_norm, batch_norm_config,
                                  normalization_ctor, normalization_kwargs):
    """Maps the deprecated batch-norm arguments onto the normalization ones."""
    if use_batch_norm is not None:
      util.deprecation_warning(
          "`use_batch_norm` kwarg is deprecated. Change your code to instead "
          "specify `normalization_ctor` and `normalization_kwargs`.")
      if not use_batch_norm:
        # Explicitly False: the normalization_* arguments decide.
        self._check_and_assign_normalization_members(
            normalization_ctor, normalization_kwargs or {})
      else:
        if normalization_ctor is not None or normalization_kwargs is not None:
          raise ValueError(
              "if use_batch_norm is specified, normalization_ctor and "
              "normalization_kwargs must not be.")
        self._check_and_assign_normalization_members(
            batch_norm.BatchNorm, batch_norm_config or {})
    else:
      self._check_and_assign_normalization_members(
          normalization_ctor, normalization_kwargs or {})

  def _instantiate_layers(self):
    """Creates the convolution layers inside this module's variable scope."""
    with self._enter_variable_scope(check_same_graph=False):
      self._layers = tuple(
          conv.Conv2D(name="conv_2d_{}".format(i),
                      output_channels=self._output_channels[i],
                      kernel_shape=self._kernel_shapes[i],
                      stride=self._strides[i],
                      rate=self._rates[i],
                      padding=self._paddings[i],
                      use_bias=self._use_bias[i],
                      initializers=self._initializers,
                      partitioners=self._partitioners,
                      regularizers=self._regularizers,
                      data_format=self._data_format)
          for i in range(self._num_layers))

  def _build(self, inputs, **normalization_build_kwargs):
    """Applies the layers (with normalization and activation) to `inputs`.

    Args:
      inputs: 4-D tensor in this module's data format.
      **normalization_build_kwargs: passed to every normalization module
        call, dropping those its signature does not accept (e.g.
        `is_training=...` for `snt.BatchNorm`).

    Returns:
      4-D output tensor.

    Raises:
      ValueError: batch normalization is used but no `is_training` is given.
    """
    if (self._normalization_ctor in {batch_norm.BatchNorm,
                                     batch_norm_v2.BatchNormV2} and
        "is_training" not in normalization_build_kwargs):
      raise ValueError("Boolean is_training flag must be explicitly specified "
                       "when using batch normalization.")

    self._input_shape = tuple(inputs.get_shape().as_list())
    net = inputs
    final_index = len(self._layers) - 1
    for i, layer in enumerate(self._layers):
      net = layer(net)
      if i != final_index or self._normalize_final:
        if self._normalization_ctor is not None:
          # Named "batch_norm_*" whatever the normalizer, to keep checkpoints.
          normalizer = self._normalization_ctor(
              name="batch_norm_{}".format(i), **self._normalization_kwargs)
          net = normalizer(
              net, **util.remove_unsupported_kwargs(
                  normalizer, normalization_build_kwargs))
        elif normalization_build_kwargs:
          tf.logging.warning(
              "No normalization configured, but extra kwargs provided: "
              "{}".format(normalization_build_kwargs))
      if i != final_index or self._activate_final:
        net = self._activation(net)
    return net

  @property
  def layers(self):
    """Tuple of the convolution modules (created at construction)."""
    return self._layers

  @property
  def initializers(self):
    return self._initializers

  @property
  def partitioners(self):
    return self._partitioners

  @property
  def regularizers(self):
    return self._regularizers

  @property
  def strides(self):
    return self._strides

  @property
  def paddings(self):
    return self._paddings

  @property
  def rates(self):
    return self._rates

  @property
  def kernel_shapes(self):
    return self._kernel_shapes

  @property
  def output_channels(self):
    """Tuple of output channel counts (callables are evaluated)."""
    return tuple(_evaluate(c) for c in self._output_channels)

  @property
  def use_bias(self):
    return self._use_bias

  @property
  def use_batch_norm(self):
    util.deprecation_warning(
        "The `.use_batch_norm` property is deprecated. Check "
        "`.normalization_ctor` instead.")
    return self._normalization_ctor == batch_norm.BatchNorm

  @property
  def batch_norm_config(self):
    util.deprecation_warning(
        "The `.batch_norm_config` property is deprecated. Check "
        "`.normalization_kwargs` instead.")
    return self._normalization_kwargs

  @property
  def normalization_ctor(self):
    return self._normalization_ctor

  @property
  def normalization_kwargs(self):
    return self._normalization_kwargs

  @property
  def normalize_final(self):
    return self._normalize_final

  @property
  def activation(self):
    return self._activation

  @property
  def activate_final(self):
    return self._activate_final

  @property
  def data_format(self):
    return self._data_format

  @property
  def input_shape(self):
    """The static input shape of the last connection (a tuple)."""
    self._ensure_is_connected()
    return self._input_shape

  def _warn_if_custom_getter_dropped(self, custom_getter):
    if custom_getter is None and self._custom_getter is not None:
      tf.logging.warning(
          "This convnet was constructed with a custom getter, but the "
          "`transpose` method was not given any. The transposed ConvNet will "
          "not be using any custom_getter.")

  def _transpose(self,
                 transpose_constructor,
                 name=None,
                 output_channels=None,
                 kernel_shapes=None,
                 strides=None,
                 paddings=None,
                 activation=None,
                 activate_final=None,
                 normalization_ctor=None,
                 normalization_kwargs=None,
                 normalize_final=None,
                 initializers=None,
                 partitioners=None,
                 regularizers=None,
                 use_bias=None,
                 data_format=None):
    """Builds the transposed network; unset arguments mirror this network."""
    if data_format is None:
      data_format = self._data_format
    if data_format not in SUPPORTED_2D_DATA_FORMATS:
      raise ValueError("Invalid data_format {}. Allowed formats {}".format(
          data_format, sorted(SUPPORTED_2D_DATA_FORMATS)))

    if output_channels is None:
      # The layers' input shapes are in this network's own data format.
      channel_dim = -1 if self._data_format == DATA_FORMAT_NHWC else 1
      output_channels = [
          lambda layer=layer: layer.input_shape[channel_dim]
          for layer in reversed(self._layers)]
    else:
      output_channels = tuple(output_channels)
      if len(output_channels) != len(self._layers):
        raise ValueError(
            "Iterable output_channels length must match the number of "
            "layers ({}), but is {} instead.".format(
                len(self._layers), len(output_channels)))

    def _default(value, own):
      return own if value is None else value

    return transpose_constructor(
        output_channels=output_channels,
        kernel_shapes=_default(kernel_shapes,
                               tuple(reversed(self.kernel_shapes))),
        strides=_default(strides, tuple(reversed(self.strides))),
        paddings=_default(paddings, tuple(reversed(self.paddings))),
        activation=_default(activation, self.activation),
        activate_final=_default(activate_final, self.activate_final),
        normalization_ctor=_default(normalization_ctor,
                                    self.normalization_ctor),
        normalization_kwargs=_default(normalization_kwargs,
                                      self.normalization_kwargs),
        normalize_final=_default(normalize_final, self.normalize_final),
        initializers=_default(initializers, self.initializers),
        partitioners=_default(partitioners, self.partitioners),
        regularizers=_default(regularizers, self.regularizers),
        use_bias=_default(use_bias, tuple(reversed(self.use_bias))),
        data_format=data_format,
        name=_default(name, self.module_name + "_transpose"))

  # pylint: disable=unused-argument
  def transpose(self,
                name=None,
                output_channels=None,
                kernel_shapes=None,
                strides=None,
                paddings=None,
                activation=None,
                activate_final=None,
                normalization_ctor=None,
                normalization_kwargs=None,
                normalize_final=None,
                initializers=None,
                partitioners=None,
                regularizers=None,
                use_batch_norm=None,
                use_bias=None,
                batch_norm_config=None,
                data_format=None,
                custom_getter=None):
    """Returns a `ConvNet2DTranspose` mapping this net's outputs to its inputs.

    Unset arguments mirror this network (per-layer lists reversed); output
    shapes and channels are read lazily from this network's layers, so it
    must be connected before the transpose. `use_batch_norm` and
    `batch_norm_config` are accepted but ignored. Variables are not shared,
    and only an explicitly given `custom_getter` is used.

    Raises:
      NotImplementedError: some layer has a rate other than 1.
      ValueError: bad `data_format` or `output_channels` length.
    """
    for rate in self._rates:
      rate_values = (tuple(rate) if isinstance(rate, collections.abc.Iterable)
                     else (rate,))
      if any(r != 1 for r in rate_values):
        raise NotImplementedError(
            "Transpose dilated convolutions are not supported")
    if data_format is None:
      data_format = self._data_format
    if data_format not in SUPPORTED_2D_DATA_FORMATS:
      raise ValueError("Invalid data_format {}. Allowed formats {}".format(
          data_format, sorted(SUPPORTED_2D_DATA_FORMATS)))
    self._warn_if_custom_getter_dropped(custom_getter)

    # Spatial dims of the layers' inputs, in this network's own data format.
    if self._data_format == DATA_FORMAT_NHWC:
      start_dim, end_dim = 1, -1
    else:
      start_dim, end_dim = 2, 4
    output_shapes = [
        lambda layer=layer: layer.input_shape[start_dim:end_dim]
        for layer in reversed(self._layers)]

    transpose_constructor = functools.partial(
        ConvNet2DTranspose, output_shapes=output_shapes,
        custom_getter=custom_getter)
    return self._transpose(
        transpose_constructor=transpose_constructor,
        name=name,
        output_channels=output_channels,
        kernel_shapes=kernel_shapes,
        strides=strides,
        paddings=paddings,
        activation=activation,
        activate_final=activate_final,
        normalization_ctor=normalization_ctor,
        normalization_kwargs=normalization_kwargs,
        normalize_final=normalize_final,
        initializers=initializers,
        partitioners=partitioners,
        regularizers=regularizers,
        use_bias=use_bias,
        data_format=data_format)
  # pylint: enable=unused-argument


class ConvNet2DTranspose(ConvNet2D):
  """A stack of `Conv2DTranspose` layers, each optionally normalized/activated.

  Variables are `<name>/conv_2d_transpose_<i>/w` and `.../b`.
  """

  def __init__(self,
               output_channels,
               output_shapes,
               kernel_shapes,
               strides,
               paddings,
               activation=tf.nn.relu,
               activate_final=False,
               normalization_ctor=None,
               normalization_kwargs=None,
               normalize_final=None,
               initializers=None,
               partitioners=None,
               regularizers=None,
               use_batch_norm=False,
               use_bias=True,
               batch_norm_config=None,
               data_format=DATA_FORMAT_NHWC,
               custom_getter=None,
               name="conv_net_2d_transpose"):
    """Constructs a `ConvNet2DTranspose`.

    Args:
      output_channels: iterable of output channel counts (ints or callables).
      output_shapes: iterable of spatial output shapes `(height, width)` (or
        callables returning them), length 1 or `len(output_channels)`.
      kernel_shapes, strides, paddings, activation, activate_final,
      normalization_ctor, normalization_kwargs, normalize_final,
      initializers, partitioners, regularizers, use_batch_norm, use_bias,
      batch_norm_config, data_format, custom_getter, name: as for
        `ConvNet2D` (paddings must be SAME or VALID; no rates).

    Raises:
      TypeError: `output_channels` or `output_shapes` not iterable, and the
        errors of `ConvNet2D`.
      ValueError: `output_shapes` of the wrong length, and the errors of
        `ConvNet2D`.
    """
    if not isinstance(output_channels, collections.abc.Iterable):
      raise TypeError("output_channels must be iterable")
    output_channels = tuple(output_channels)
    num_layers = len(output_channels)

    if not isinstance(output_shapes, collections.abc.Iterable):
      raise TypeError("output_shapes must be iterable")
    self._output_shapes = _replicate_elements(tuple(output_shapes), num_layers)
    if len(self._output_shapes) != num_layers:
      raise ValueError(
          "output_shapes must be of length 1 or len(output_channels)")

    super(ConvNet2DTranspose, self).__init__(
        output_channels,
        kernel_shapes,
        strides,
        paddings,
        activation=activation,
        activate_final=activate_final,
        normalization_ctor=normalization_ctor,
        normalization_kwargs=normalization_kwargs,
        normalize_final=normalize_final,
        initializers=initializers,
        partitioners=partitioners,
        regularizers=regularizers,
        use_batch_norm=use_batch_norm,
        use_bias=use_bias,
        batch_norm_config=batch_norm_config,
        data_format=data_format,
        custom_getter=custom_getter,
        name=name)

  def _instantiate_layers(self):
    """Creates the transposed convolutions inside this module's scope."""
    with self._enter_variable_scope(check_same_graph=False):
      self._layers = tuple(
          conv.Conv2DTranspose(name="conv_2d_transpose_{}".format(i),
                               output_channels=self._output_channels[i],
                               output_shape=self._output_shapes[i],
                               kernel_shape=self._kernel_shapes[i],
                               stride=self._strides[i],
                               padding=self._paddings[i],
                               initializers=self._initializers,
                               partitioners=self._partitioners,
                               regularizers=self._regularizers,
                               data_format=self._data_format,
                               use_bias=self._use_bias[i])
          for i in range(self._num_layers))

  @property
  def output_shapes(self):
    """Tuple of spatial output shapes (callables are evaluated)."""
    return tuple(_evaluate(s) for s in self._output_shapes)

  def transpose(self,
                name=None,
                output_channels=None,
                kernel_shapes=None,
                strides=None,
                paddings=None,
                activation=None,
                activate_final=None,
                normalization_ctor=None,
                normalization_kwargs=None,
                normalize_final=None,
                initializers=None,
                partitioners=None,
                regularizers=None,
                use_batch_norm=None,
                use_bias=None,
                batch_norm_config=None,
                data_format=None,
                custom_getter=None):
    """Returns a `ConvNet2D` mapping this net's outputs back to its inputs.

    As `ConvNet2D.transpose`, except that `use_batch_norm` is honoured:
    True means `snt.BatchNorm` (with `batch_norm_config`), False means no
    normalization.

    Raises:
      ValueError: `use_batch_norm` given together with `normalization_ctor`
        or `normalization_kwargs`; bad `data_format` or `output_channels`.
    """
    no_normalization = False
    if use_batch_norm is not None:
      if normalization_ctor is not None or normalization_kwargs is not None:
        raise ValueError(
            "If use_batch_norm is specified, normalization_ctor and "
            "normalization_kwargs must not be.")
      if use_batch_norm:
        normalization_ctor = batch_norm.BatchNorm
      else:
        no_normalization = True
      normalization_kwargs = batch_norm_config or {}
    self._warn_if_custom_getter_dropped(custom_getter)

    transpose_constructor = functools.partial(
        ConvNet2D, custom_getter=custom_getter)
    if no_normalization:
      # `normalization_ctor=None` would mean "same as this network" in
      # `_transpose`, so it is forced to None here instead.
      transpose_constructor = _without_normalization_ctor(
          transpose_constructor)
    return self._transpose(
        transpose_constructor=transpose_constructor,
        name=name,
        output_channels=output_channels,
        kernel_shapes=kernel_shapes,
        strides=strides,
        paddings=paddings,
        activation=activation,
        activate_final=activate_final,
        normalization_ctor=normalization_ctor,
        normalization_kwargs=normalization_kwargs,
        normalize_final=normalize_final,
        initializers=initializers,
        partitioners=partitioners,
        regularizers=regularizers,
        use_bias=use_bias,
        data_format=data_format)


def _without_normalization_ctor(constructor):
  """Wraps `constructor` so that it builds a network without normalization."""
  def wrapped(**kwargs):
    kwargs["normalization_ctor"] = None
    return constructor(**kwargs)
  return wrapped
