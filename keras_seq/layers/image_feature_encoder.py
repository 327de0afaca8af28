"""A CNN that turns images into a grid of annotation vectors (Xu et al.)."""

import inspect

import keras
from keras import ops

from keras_seq.validation import check_int


def _check_image_shape(image_shape):
    if (
        not isinstance(image_shape, (list, tuple))
        or len(image_shape) != 3
        or any(
            not isinstance(d, int) or isinstance(d, bool) or d <= 0
            for d in image_shape
        )
        or image_shape[-1] != 3
    ):
        raise ValueError(
            "`image_shape` must be (height, width, 3) with positive ints "
            f"(RGB images). Received: image_shape={image_shape!r}"
        )


def _check_filters(filters):
    if (
        not isinstance(filters, (list, tuple))
        or not filters
        or any(
            not isinstance(f, int) or isinstance(f, bool) or f <= 0
            for f in filters
        )
    ):
        raise ValueError(
            "`filters` must be a non-empty list of positive ints, one per "
            f"convolution block. Received: filters={filters!r}"
        )


def _check_patch_size(patch_size, image_shape, backbone, convolutions):
    """`patch_size` checked against the other arguments (None or an int)."""
    if patch_size is None:
        return None
    patch_size = check_int("patch_size", patch_size)
    if backbone is not None or convolutions is not None:
        raise ValueError(
            "`patch_size` chooses the patch encoder instead of the built-in "
            "CNN's blocks, so it cannot be combined with `backbone` or "
            f"`convolutions_per_block`. Received: patch_size={patch_size}, "
            f"backbone={backbone!r}, convolutions_per_block={convolutions!r}"
        )
    if image_shape[0] % patch_size or image_shape[1] % patch_size:
        raise ValueError(
            "`patch_size` must divide the image's height and width. "
            f"Received: patch_size={patch_size}, image_shape={image_shape}"
        )
    return patch_size


def _application(name):
    """The `keras.applications` constructor called `name`, or ValueError."""
    constructor = getattr(keras.applications, name, None)
    if not isinstance(name, str) or not callable(constructor):
        raise ValueError(
            "`backbone` must be None (the built-in CNN) or the name of a "
            "`keras.applications` model such as 'ResNet50', 'VGG16' or "
            f"'MobileNetV2'. Received: backbone={name!r}"
        )
    return constructor


def _preprocess_function(name):
    """The `preprocess_input` of the module defining application `name`."""
    module = inspect.getmodule(_application(name))
    preprocess = getattr(module, "preprocess_input", None)
    if preprocess is None:  # pragma: no cover - every application has one
        raise ValueError(
            f"No `preprocess_input` found for backbone={name!r}. "
            f"Received: backbone={name!r}"
        )
    return preprocess


@keras.saving.register_keras_serializable(package="keras_seq")
class ImageFeatureEncoder(keras.layers.Layer):
    """Images -> `L` annotation vectors `a_1 .. a_L` (Xu et al. 2015).

    "We use a convolutional neural network in order to extract a set of
    feature vectors which we refer to as annotation vectors. The extractor
    produces L vectors, each of which is a D-dimensional representation
    corresponding to a part of the image", `a = {a_1, ..., a_L}`. The
    feature map of a convolutional layer `(h, w, D)` is read row by row
    as `L = h * w` vectors, so region `i` covers the cell
    `(i // w, i % w)` of the grid (`grid_shape = (h, w)`).

    Three kinds of encoder:

    - `backbone=None`: a small CNN built here: for each entry of `filters`
      a block of `convolutions_per_block` (two by default) 3x3 ReLU
      convolutions ("same" padding) and a 2x2 max pooling, so a 64x64
      image with three blocks gives an 8x8 grid. Fewer convolutions per
      block give each region a smaller receptive field (one per block:
      about 22 pixels at the 8x8 grid of a 64x64 image; two: about 36),
      i.e. features that describe their own cell more than its
      neighbours.
    - `backbone="ResNet50"` (any `keras.applications` model name): the
      model without its classifier (`include_top=False`), with
      `backbone_weights` (`None` for random weights, `"imagenet"` or a
      weights file). The grid is the output of the last convolutional
      stage, or of the layer named `feature_layer` (the paper reads VGG's
      `conv5_4`, i.e. `feature_layer="block5_conv4"` of `VGG19`, a 14x14
      grid from 224x224 images). The images are passed through the
      application's own `preprocess_input` first.

    - `patch_size=p` (with `backbone=None`): the image is cut into
      non-overlapping `p x p` patches, each embedded by one linear map of
      its pixels (a convolution with kernel and stride `p`, the patch
      embedding of Dosovitskiy et al. 2021) and a ReLU, then by a 1x1
      ReLU convolution for each further entry of `filters`. Region `i` is
      then computed from the pixels of its own cell only (its receptive
      field is the cell), so attending to a region means reading that
      part of the image and nothing next to it.

    With `coordinate_channels=True` the built-in CNN also reads two extra
    input channels holding each pixel's row and column, scaled to
    `[-1, 1]` (CoordConv, Liu et al. 2018). A convolutional feature is
    otherwise (nearly) translation-invariant, so the context `z_t` the
    decoder reads says what it attended to but not where; relations such
    as "left of" need the where.

    Images are float `(batch_size, height, width, 3)` RGB with values in
    `[0, 1]` (what `keras_seq.datasets` readers return); a backbone gets
    them scaled to `[0, 255]` before its `preprocess_input`.

    `freeze_backbone=True` makes the CNN's weights non-trainable and runs
    it in inference mode (batch-norm statistics frozen), the usual
    setting with pretrained weights (the paper does not fine-tune its
    encoder).

    Args:
        image_shape: `(height, width, 3)`, the size every image is given at.
        backbone: `None` or the name of a `keras.applications` model.
        backbone_weights: weights of the backbone, `None`, `"imagenet"` or a
            file path. Only with a backbone. They are loaded when the layer
            is built, except for a layer made by `from_config` (as when a
            `.keras` file is loaded, whose saved weights then replace
            them): nothing is downloaded or read again, and the config
            still reports the argument.
        feature_layer: optional name of the backbone layer whose output is
            the grid (defaults to the backbone's output).
        filters: list of ints, filters of each block of the built-in CNN.
        freeze_backbone: bool, see above.
        coordinate_channels: bool, CoordConv inputs for the built-in CNN.
        convolutions_per_block: int >= 1, 3x3 convolutions in each block of
            the built-in CNN (default 2). Not with `patch_size`.
        patch_size: `None`, or an int >= 1 dividing the image's height and
            width: the patch encoder described above (`filters[0]` is the
            patch embedding's size).
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        images: float `(batch_size, height, width, 3)` in `[0, 1]`.
        training: bool.

    Returns:
        `(batch_size, L, D)` annotation vectors.

    Example:
    >>> encoder = ImageFeatureEncoder((64, 64, 3), filters=[16, 32, 64])
    >>> encoder(np.zeros((2, 64, 64, 3), "float32")).shape  # (2, 64, 64)
    >>> encoder.grid_shape  # (8, 8)

    References:
        Dosovitskiy et al. (2021). An Image is Worth 16x16 Words:
        Transformers for Image Recognition at Scale. ICLR.
        https://arxiv.org/abs/2010.11929
        Xu et al. (2015). Show, Attend and Tell: Neural Image Caption
        Generation with Visual Attention. ICML.
        https://arxiv.org/abs/1502.03044
    """

    def __init__(
        self,
        image_shape,
        backbone=None,
        backbone_weights=None,
        feature_layer=None,
        filters=(32, 64, 128),
        freeze_backbone=False,
        coordinate_channels=False,
        convolutions_per_block=None,
        patch_size=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(image_shape, list):
            image_shape = tuple(image_shape)
        _check_image_shape(image_shape)
        if backbone is not None:
            _application(backbone)
        elif backbone_weights is not None or feature_layer is not None:
            raise ValueError(
                "`backbone_weights` and `feature_layer` only apply to a "
                "`keras.applications` backbone. Received: backbone=None, "
                f"backbone_weights={backbone_weights!r}, "
                f"feature_layer={feature_layer!r}"
            )
        if isinstance(filters, tuple):
            filters = list(filters)
        _check_filters(filters)
        if not isinstance(freeze_backbone, bool):
            raise ValueError(
                "`freeze_backbone` must be a bool. "
                f"Received: freeze_backbone={freeze_backbone!r}"
            )
        if not isinstance(coordinate_channels, bool):
            raise ValueError(
                "`coordinate_channels` must be a bool. "
                f"Received: coordinate_channels={coordinate_channels!r}"
            )
        patch_size = _check_patch_size(
            patch_size, image_shape, backbone, convolutions_per_block
        )
        if patch_size is None:
            convolutions_per_block = check_int(
                "convolutions_per_block",
                2 if convolutions_per_block is None else convolutions_per_block,
            )
        if coordinate_channels and backbone is not None:
            raise ValueError(
                "`coordinate_channels` adds input channels, which a "
                "`keras.applications` backbone cannot take; use it with "
                f"backbone=None. Received: backbone={backbone!r}, "
                "coordinate_channels=True"
            )
        self.image_shape = image_shape
        self.coordinate_channels = coordinate_channels
        self.convolutions_per_block = convolutions_per_block
        self.patch_size = patch_size
        self.backbone = backbone
        self.backbone_weights = backbone_weights
        self.feature_layer = feature_layer
        self.filters = filters
        self.freeze_backbone = freeze_backbone
        # Set by `from_config`: a deserialized layer gets its weights from
        # the saved file, so the backbone is created without loading any.
        self._restoring = False

    # ------------------------------------------------------------------

    def _build_backbone(self):
        weights = None if self._restoring else self.backbone_weights
        model = _application(self.backbone)(
            include_top=False,
            weights=weights,
            input_shape=self.image_shape,
        )
        if self.feature_layer is not None:
            try:
                output = model.get_layer(self.feature_layer).output
            except ValueError as error:
                raise ValueError(
                    f"`feature_layer` is not a layer of {self.backbone}. "
                    f"Received: feature_layer={self.feature_layer!r}"
                ) from error
            model = keras.Model(model.input, output, name=self.backbone)
        return model

    def _build_cnn(self):
        # Built functionally so the grid size is known from `image_shape`.
        channels = self.image_shape[-1] + (2 if self.coordinate_channels else 0)
        inputs = keras.Input(self.image_shape[:2] + (channels,), name="images")
        if self.patch_size is not None:
            return self._build_patch_encoder(inputs)
        x = inputs
        for i, filters in enumerate(self.filters):
            for j in range(self.convolutions_per_block):
                x = keras.layers.Conv2D(
                    filters,
                    3,
                    padding="same",
                    activation="relu",
                    dtype=self.dtype_policy,
                    name=f"block{i}_conv{j}",
                )(x)
            x = keras.layers.MaxPooling2D(
                2, dtype=self.dtype_policy, name=f"block{i}_pool"
            )(x)
        return keras.Model(inputs, x, name="cnn")

    def _build_patch_encoder(self, inputs):
        # Kernel = stride = patch: each output cell sees its own patch only.
        x = keras.layers.Conv2D(
            self.filters[0],
            self.patch_size,
            strides=self.patch_size,
            activation="relu",
            dtype=self.dtype_policy,
            name="patch_embedding",
        )(inputs)
        for i, filters in enumerate(self.filters[1:]):
            x = keras.layers.Conv2D(
                filters,
                1,
                activation="relu",
                dtype=self.dtype_policy,
                name=f"patch_dense{i}",
            )(x)
        return keras.Model(inputs, x, name="patch_encoder")

    def build(self, images_shape=None):
        if self.backbone is None:
            self.cnn = self._build_cnn()
        else:
            self.cnn = self._build_backbone()
        if self.freeze_backbone:
            self.cnn.trainable = False
        grid = self.cnn.output.shape  # (None, h, w, D)
        if len(grid) != 4 or None in tuple(grid[1:]):
            raise ValueError(
                "The CNN must output a (batch, height, width, channels) "
                f"feature map. Received: output shape {tuple(grid)} from "
                f"backbone={self.backbone!r}, "
                f"feature_layer={self.feature_layer!r}"
            )
        self.grid_shape = (int(grid[1]), int(grid[2]))
        self.feature_dim = int(grid[3])
        self.built = True

    @property
    def num_regions(self):
        """L, the number of annotation vectors per image."""
        if not self.built:
            self.build()
        return self.grid_shape[0] * self.grid_shape[1]

    def _check_images(self, images):
        shape = tuple(images.shape)
        if len(shape) != 4 or shape[1:] != tuple(self.image_shape):
            raise ValueError(
                "`images` must have shape (batch_size,) + image_shape = "
                f"(batch_size, {', '.join(map(str, self.image_shape))}) "
                f"(resize them first). Received: images.shape={shape}"
            )

    def call(self, images, training=None):
        self._check_images(images)
        x = ops.cast(images, self.compute_dtype)
        if self.backbone is not None:
            preprocess = _preprocess_function(self.backbone)
            x = preprocess(x * ops.cast(255.0, x.dtype))
        if self.coordinate_channels:
            x = ops.concatenate([x, self._coordinates(x)], axis=-1)
        if self.freeze_backbone:
            training = False
        x = self.cnn(x, training=training)  # (B, h, w, D)
        h, w = self.grid_shape
        # a_i for i = row * w + column (Xu et al. 2015 sec. 3.1.1).
        return ops.reshape(x, (-1, h * w, self.feature_dim))  # (B, L, D)

    def _coordinates(self, images):
        """Row and column channels in [-1, 1], `(B, height, width, 2)`."""
        height, width = self.image_shape[:2]
        rows = ops.linspace(-1.0, 1.0, height)
        columns = ops.linspace(-1.0, 1.0, width)
        grid = ops.stack(
            [
                ops.broadcast_to(rows[:, None], (height, width)),
                ops.broadcast_to(columns[None, :], (height, width)),
            ],
            axis=-1,
        )
        grid = ops.cast(grid, images.dtype)[None]  # (1, H, W, 2)
        return ops.broadcast_to(grid, (ops.shape(images)[0], height, width, 2))

    def compute_output_shape(self, images_shape):
        if not self.built:
            self.build(images_shape)
        return (images_shape[0], self.num_regions, self.feature_dim)

    def region_boxes(self):
        """Pixel box `(y0, x0, y1, x1)` of each region, `(L, 4)` floats.

        Region `i` is grid cell `(i // w, i % w)`, a `height / h` by
        `width / w` rectangle of the input image (its receptive field is
        larger; this is the cell the paper's figures upsample it to).
        """
        import numpy as np

        h, w = self.grid_shape
        height, width = self.image_shape[:2]
        rows, cols = np.divmod(np.arange(h * w), w)
        cell_h, cell_w = height / h, width / w
        return np.stack(
            [
                rows * cell_h,
                cols * cell_w,
                (rows + 1) * cell_h,
                (cols + 1) * cell_w,
            ],
            axis=1,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_shape": list(self.image_shape),
                "backbone": self.backbone,
                "backbone_weights": self.backbone_weights,
                "feature_layer": self.feature_layer,
                "filters": list(self.filters),
                "freeze_backbone": self.freeze_backbone,
                "coordinate_channels": self.coordinate_channels,
                "convolutions_per_block": self.convolutions_per_block,
                "patch_size": self.patch_size,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        layer = cls(**config)
        layer._restoring = True
        return layer
