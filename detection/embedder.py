"""Fashion image embedder: garment photo -> L2-normalised float32 vector, near means "looks alike".

Pipeline (see detection/weights/EMBEDDER.md for data, metrics and how it was fitted):

1. preprocess: RGB, shorter side to IMAGE_SIZE, longer side centre-cropped to at most
   MAX_ASPECT x IMAGE_SIZE (keeps a whole portrait product shot instead of a square crop).
2. backbone: ImageNet EfficientNet-Lite0 (frozen, or with its top fine-tuned by
   ``train_embedder --tune-epochs``, see ``BackboneTop``), GeM-pooled features of its last
   conv layer and of two mid-level layers in one pass, run with ONNX Runtime when
   available, else torch (see ``detection.embedder_runtime``).
   The backbone sees the image in greyscale: colour variants of one product then look alike
   to it, and colour enters the vector only through its own part (the colour histogram of
   the full-colour image).
3. head (fitted by detection.embedder_training.embedder_train, stored in the checkpoint):
   the vector is a weighted concatenation of L2-normalised parts (see ``EmbedderHead``).

The checkpoint holds everything (backbone weights included), so nothing is downloaded.
No Django imports here: the Django side only calls ``get_embedder().embed(images)``.
"""

from __future__ import annotations

import math
import os
import threading
from collections import defaultdict
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
import timm
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from detection.embedder_runtime import CACHE_DIR, RUNTIME, backbone_runner
from detection.local_matching import quantised

# Defaults, overridable from the environment (to be merged into the project configuration).
IMAGE_SIZE = int(os.environ.get("EMBEDDER_IMAGE_SIZE", "224"))
MAX_ASPECT = float(os.environ.get("EMBEDDER_MAX_ASPECT", "1.5"))
BATCH_SIZE = int(os.environ.get("EMBEDDER_BATCH_SIZE", "32"))
NUM_THREADS = int(os.environ.get("EMBEDDER_NUM_THREADS", "0"))  # 0: leave torch's setting alone
WEIGHTS_PATH = Path(
    os.environ.get("EMBEDDER_WEIGHTS", Path(__file__).resolve().parent / "weights" / "embedder.pt")
)
# Length of every vector embed() returns: 320 instance + 128 semantic + 64 colour dimensions.
VECTOR_SIZE = 512

BACKBONE_NAME = "efficientnet_lite0"
FEATURE_NAME = "gem_mid"  # which pooling of the backbone feeds the head (see BackboneFeatures)
# Stages whose last block's depthwise activation is pooled too (``gem_mid``): mid-level
# features describe cut and texture, which tell a product's colour variants from look-alikes
# better than the head conv alone (hm family Recall@1, EMBEDDER.md).
MID_LEVEL_STAGES = (4, 6)
# ``train_embedder --tune-epochs`` fine-tunes the stages from here on (``BackboneTop``) and
# keeps the ones below frozen: stage 4 then still gives the instance part the ImageNet detail
# that fine-tuning on garment types washes out (EMBEDDER.md).
TUNED_FROM_STAGE = 5
# The stage whose depthwise activation also gives each photo a set of local descriptors, one
# per LOCAL_POOL x LOCAL_POOL cell (stride 32): similar items re-ranks its candidates by how
# well their local descriptors match the query's (detection/local_matching.py, EMBEDDER.md).
LOCAL_STAGE = 4
LOCAL_POOL = 2
# EfficientNet-Lite was trained on inputs scaled to [-1, 1].
PIXEL_MEAN = (0.5, 0.5, 0.5)
PIXEL_STD = (0.5, 0.5, 0.5)
GEM_POWER = 3.0
# Feed the backbone greyscale images: on hm, family Recall@1 of raw features rose from 0.316
# to 0.357, because a product's colour variants stop looking different (EMBEDDER.md).
GREY_INPUT = True
COLOUR_THUMBNAIL = 32  # side of the thumbnail the colour histogram is computed from
COLOUR_BINS = 8  # histogram bins per RGB channel (8**3 = 512 joint bins before projection)


# ---------------------------------------------------------------------------- preprocess


def to_rgb(image: Image.Image) -> Image.Image:
    """Return the image as RGB, compositing any transparency onto white like a product page."""
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")


def fit_image(
    image: Image.Image, size: int = IMAGE_SIZE, max_aspect: float = MAX_ASPECT
) -> Image.Image:
    """Resize the shorter side to ``size``; centre-crop the longer side to ``max_aspect * size``."""
    image = to_rgb(image)
    width, height = image.size
    scale = size / min(width, height)
    new_width = max(size, round(width * scale))
    new_height = max(size, round(height * scale))
    image = image.resize((new_width, new_height), Image.Resampling.BICUBIC, reducing_gap=3.0)
    longest = round(size * max_aspect)
    crop_width, crop_height = min(new_width, longest), min(new_height, longest)
    left, top = (new_width - crop_width) // 2, (new_height - crop_height) // 2
    return image.crop((left, top, left + crop_width, top + crop_height))


def image_to_array(image: Image.Image, grey: bool = False) -> np.ndarray:
    """Convert a fitted RGB image to a normalised CHW float32 array (luma in all three if grey)."""
    # numpy in HWC then one transposed copy: ~10x cheaper than the same steps on torch tensors.
    if grey:
        array = np.repeat(np.asarray(image.convert("L"), dtype=np.float32)[:, :, None], 3, axis=2)
    else:
        array = np.asarray(image, dtype=np.float32)
    scale = 1.0 / (255.0 * np.asarray(PIXEL_STD, dtype=np.float32))
    offset = np.asarray(PIXEL_MEAN, dtype=np.float32) / np.asarray(PIXEL_STD, dtype=np.float32)
    return np.ascontiguousarray((array * scale - offset).transpose(2, 0, 1))


def colour_thumbnail(image: Image.Image) -> np.ndarray:
    """Return a small uint8 RGB thumbnail (HxWx3) of the fitted image for colour statistics."""
    thumb = image.resize((COLOUR_THUMBNAIL, COLOUR_THUMBNAIL), Image.Resampling.BOX)
    return np.asarray(thumb, dtype=np.uint8)


def colour_histogram(
    thumbnails: np.ndarray,
    bins: int = COLOUR_BINS,
    background_weight: float = 0.05,
    background_distance: float = 30.0,
) -> np.ndarray:
    """Return square-rooted, L1-normalised joint RGB histograms (N x bins**3) of thumbnails.

    The background colour is estimated per image as the median of its border pixels; pixels
    close to it are down-weighted, and the centre counts more than the edges, so the histogram
    mostly describes the garment's colour rather than the studio or street around it.
    """
    count, side = len(thumbnails), thumbnails.shape[1]
    pixels = thumbnails.reshape(count, -1, 3).astype(np.float32)
    border = np.concatenate(
        [thumbnails[:, 0], thumbnails[:, -1], thumbnails[:, :, 0], thumbnails[:, :, -1]], axis=1
    ).astype(np.float32)
    background = np.median(border, axis=1)
    is_background = np.linalg.norm(pixels - background[:, None, :], axis=2) < background_distance
    grid = (np.arange(side) + 0.5) / side - 0.5
    centre_weight = np.exp(-(grid[:, None] ** 2 + grid[None, :] ** 2) / (2 * 0.3**2)).reshape(-1)
    weight = centre_weight[None, :] * np.where(is_background, background_weight, 1.0)
    quantised = np.minimum((pixels * (bins / 256.0)).astype(np.int64), bins - 1)
    index = (quantised[..., 0] * bins + quantised[..., 1]) * bins + quantised[..., 2]
    # One bincount over (image, bin) pairs: far faster than np.add.at.
    flat = (index + np.arange(count)[:, None] * bins**3).reshape(-1)
    histogram = np.bincount(flat, weights=weight.reshape(-1), minlength=count * bins**3)
    histogram = histogram.reshape(count, bins**3).astype(np.float32)
    histogram /= histogram.sum(axis=1, keepdims=True) + 1e-8
    return np.sqrt(histogram)


# ---------------------------------------------------------------------------- backbone


class BackboneFeatures(nn.Module):
    """EfficientNet-Lite feature extractor returning several global poolings of its last layers."""

    def __init__(self, name: str = BACKBONE_NAME) -> None:
        super().__init__()
        # channels_last makes the depthwise convolutions ~2x faster on CPU.
        self.net = timm.create_model(name, pretrained=False, num_classes=0).to(
            memory_format=torch.channels_last
        )

    def load_reference_weights(self, state_dict: dict[str, torch.Tensor]) -> None:
        """Load a state dict of the original EfficientNet-Lite release (same order as timm)."""
        own = self.net.state_dict()
        source = [(key, value) for key, value in state_dict.items() if not key.startswith("_fc.")]
        if len(source) != len(own):
            raise ValueError(f"expected {len(own)} tensors, got {len(source)}")
        renamed = {}
        for (own_key, own_value), (_, value) in zip(own.items(), source, strict=True):
            if own_value.shape != value.shape:
                raise ValueError(f"shape mismatch at {own_key}: {own_value.shape} vs {value.shape}")
            renamed[own_key] = value
        self.net.load_state_dict(renamed)

    def top(self) -> BackboneTop:
        """Return the stages from ``TUNED_FROM_STAGE`` on as a module sharing this backbone's
        parameters: training it fine-tunes the backbone in place."""
        return BackboneTop(self.net)

    def stem(self, images: torch.Tensor) -> torch.Tensor:
        """Run the first convolution."""
        pixels = images.contiguous(memory_format=torch.channels_last)
        return self.net.bn1(self.net.conv_stem(pixels))

    def branch_input(self, images: torch.Tensor) -> torch.Tensor:
        """Return the activation the tuned top reads: the output of the stages before it."""
        return run_stages(self.net.blocks[:TUNED_FROM_STAGE], self.stem(images), 0)[0]

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return pooled features of one pass.

        ``avg``/``gem``: the head conv, average- or GeM-pooled; ``block``: the last block's
        output, averaged; ``gem_mid``: ``gem`` followed by the GeM of the depthwise activations
        of the last block of each stage in ``MID_LEVEL_STAGES`` (blocks in ``feature_blocks``).
        """
        net = self.net
        x, activations = run_stages(net.blocks, self.stem(images), 0)
        block = x.mean(dim=(2, 3))
        x = net.bn2(net.conv_head(x))
        gem = gem_pool(x)
        mid_level = [gem_pool(activations[stage]) for stage in MID_LEVEL_STAGES]
        return {
            "avg": x.mean(dim=(2, 3)),
            "gem": gem,
            "block": block,
            "gem_mid": torch.cat([gem, *mid_level], dim=1),
            "local": local_map(activations[LOCAL_STAGE]),
        }

    def feature_blocks(self, feature_name: str) -> tuple[int, ...]:
        """Sizes of the separately pooled blocks that make up feature ``feature_name``."""
        if feature_name != "gem_mid":
            return ()  # one block
        head = self.net.conv_head.out_channels
        return (head, *(self.net.blocks[i][-1].conv_dw.out_channels for i in MID_LEVEL_STAGES))


class BackboneTop(nn.Module):
    """A backbone's stages from ``TUNED_FROM_STAGE`` on and its head conv, not copied.

    It reads ``BackboneFeatures.branch_input``, so fine-tuning can run it alone on cached
    branch inputs, and it shares the backbone's parameters, so what it learns is what the
    backbone computes afterwards, at no extra inference cost.
    """

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.blocks = net.blocks[TUNED_FROM_STAGE:]  # a new Sequential of the same blocks
        self.conv_head = net.conv_head
        self.bn2 = net.bn2

    def forward(self, branch: torch.Tensor) -> torch.Tensor:
        """Return the GeM of the head conv and of the mid-level stages this top runs."""
        x, activations = run_stages(self.blocks, branch, TUNED_FROM_STAGE)
        mid_level = [gem_pool(activation) for activation in activations.values()]
        return torch.cat([gem_pool(self.bn2(self.conv_head(x))), *mid_level], dim=1)

    def gem_mid(self, branch: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Return ``gem_mid`` features: this top's poolings of ``branch`` in place of those in
        ``features`` (``gem_mid`` rows of the same images), whose lower stages' poolings stay."""
        pooled = self(branch)
        head = self.conv_head.out_channels
        lower = features.shape[1] - pooled.shape[1]
        return torch.cat([pooled[:, :head], features[:, head : head + lower], pooled[:, head:]], 1)


def run_stages(
    stages: nn.Sequential, x: torch.Tensor, first_index: int
) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
    """Run consecutive stages, numbered from ``first_index``; return the output and, by stage
    number, the depthwise activation of the last block of each stage in ``MID_LEVEL_STAGES``."""
    activations = {}
    for index, stage in enumerate(stages, start=first_index):
        if index in MID_LEVEL_STAGES:
            x = stage[:-1](x)
            x, activations[index] = inverted_residual_with_activation(stage[-1], x)
        else:
            x = stage(x)
    return x, activations


def gem_pool(activation: torch.Tensor) -> torch.Tensor:
    """GeM-pool a non-negative (ReLU6) N x C x H x W activation to N x C."""
    # clamp avoids 0 ** (1/p), whose gradient is infinite.
    return activation.clamp(min=1e-6).pow(GEM_POWER).mean(dim=(2, 3)).pow(1.0 / GEM_POWER)


def local_map(activation: torch.Tensor) -> torch.Tensor:
    """Square-root a non-negative activation and average it over LOCAL_POOL-sided cells.

    Each cell's channels are one local descriptor (before projection). Square-rooting tames
    the few strong channels, as for the pooled features; cells at the border may be partial.
    """
    return F.avg_pool2d(activation.clamp(min=0).sqrt(), LOCAL_POOL, ceil_mode=True)


def inverted_residual_with_activation(
    block: nn.Module, x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a timm ``InvertedResidual`` block; also return its depthwise activation (ReLU6)."""
    shortcut = x
    activation = block.bn2(block.conv_dw(block.bn1(block.conv_pw(x))))
    x = block.bn3(block.conv_pwl(block.se(block.aa(activation))))
    if block.has_skip:
        x = block.drop_path(x) + shortcut
    return x, activation


def group_by_shape(arrays: Sequence[np.ndarray], batch_size: int) -> list[list[int]]:
    """Split indices into batches of equal-shaped arrays (images keep their aspect ratio)."""
    by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for index, array in enumerate(arrays):
        by_shape[tuple(array.shape)].append(index)
    return [
        indices[start : start + batch_size]
        for indices in by_shape.values()
        for start in range(0, len(indices), batch_size)
    ]


# ---------------------------------------------------------------------------- head


def power_normalise(features: torch.Tensor, power: float = 0.5) -> torch.Tensor:
    """Apply signed power ("square-root") normalisation then L2 normalisation to feature rows."""
    features = features.sign() * features.abs().pow(power)
    return F.normalize(features, dim=1)


class EmbedderHead(nn.Module):
    """Turn backbone features and colour histograms into the final vector.

    The vector concatenates three L2-normalised parts, each scaled by a fixed weight:
    ``instance`` (PCA-whitened square-rooted mid-level features: "same product"), ``semantic``
    (a small MLP trained on garment type: "same kind of product") and ``colour`` (the
    garment's PCA-whitened colour histogram). Cosine similarity is then a weighted sum of
    the three parts' similarities.
    """

    def __init__(
        self,
        feature_size: int,
        instance_size: int,
        semantic_size: int,
        histogram_size: int,
        colour_size: int,
        hidden_size: int = 512,
        feature_blocks: Sequence[int] = (),
        instance_blocks: Sequence[int] = (0,),
        semantic_blocks: Sequence[int] = (0,),
        local_width: int = 0,
        local_size: int = 0,
    ) -> None:
        super().__init__()
        # The features are consecutive blocks, each pooled from its own layer (one block if
        # empty); the instance and semantic parts each read their own choice of blocks.
        self.feature_blocks = tuple(feature_blocks) or (feature_size,)
        self.instance_blocks = tuple(instance_blocks)
        self.semantic_blocks = tuple(semantic_blocks)
        if sum(self.feature_blocks) != feature_size:
            raise ValueError(f"blocks {self.feature_blocks} do not add up to {feature_size}")
        instance_width = sum(self.feature_blocks[index] for index in self.instance_blocks)
        semantic_width = sum(self.feature_blocks[index] for index in self.semantic_blocks)
        self.register_buffer("instance_mean", torch.zeros(instance_width))
        self.register_buffer("instance_matrix", torch.zeros(instance_width, instance_size))
        self.semantic = nn.Sequential(
            nn.Linear(semantic_width, hidden_size),
            nn.GELU(),
            nn.Linear(hidden_size, semantic_size),
        )
        self.register_buffer("colour_mean", torch.zeros(histogram_size))
        self.register_buffer("colour_matrix", torch.zeros(histogram_size, colour_size))
        self.register_buffer("part_weights", torch.ones(3))
        # Checkpoints fitted before local descriptors existed have no local projection.
        if local_size:
            self.register_buffer("local_mean", torch.zeros(local_width))
            self.register_buffer("local_matrix", torch.zeros(local_width, local_size))

    def normalised_blocks(self, features: torch.Tensor) -> list[torch.Tensor]:
        """Split features into their blocks, each square-rooted and L2-normalised."""
        return [power_normalise(block) for block in features.split(self.feature_blocks, dim=1)]

    def instance_input(self, features: torch.Tensor) -> torch.Tensor:
        """Return what the instance whitening is applied to (and fitted on)."""
        blocks = self.normalised_blocks(features)
        return torch.cat([blocks[index] for index in self.instance_blocks], dim=1)

    def semantic_input(self, features: torch.Tensor) -> torch.Tensor:
        """Return what the semantic MLP reads (and is trained on), of unit length."""
        blocks = self.normalised_blocks(features)
        selected = torch.cat([blocks[index] for index in self.semantic_blocks], dim=1)
        return selected / math.sqrt(len(self.semantic_blocks))

    @property
    def vector_size(self) -> int:
        """Length of the vectors this head produces."""
        return (
            self.instance_matrix.shape[1]
            + self.semantic[-1].out_features
            + self.colour_matrix.shape[1]
        )

    @property
    def part_sizes(self) -> tuple[int, int, int]:
        """Widths of the instance, semantic and colour parts, in vector order."""
        return (self.instance_matrix.shape[1], self.semantic[-1].out_features,
                self.colour_matrix.shape[1])

    @property
    def has_local(self) -> bool:
        """True when the head projects local descriptors (``local_descriptors``)."""
        return hasattr(self, "local_matrix")

    def local_descriptors(self, maps: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Project each photo's local map (locations x channels) to L2-normalised descriptors
        (locations x local size), stored as int8 (``detection.local_matching.quantised``)."""
        if not self.has_local:
            raise ValueError(
                "this checkpoint has no local projection (train_embedder --local-only)")
        mean = self.local_mean.numpy()
        matrix = self.local_matrix.numpy()
        descriptors = []
        for locations in maps:
            projected = (locations - mean) @ matrix
            projected /= np.linalg.norm(projected, axis=1, keepdims=True) + 1e-12
            descriptors.append(quantised(projected))
        return descriptors

    def parts(self, features: torch.Tensor, histograms: torch.Tensor) -> list[torch.Tensor]:
        """Return the unweighted, L2-normalised instance, semantic and colour parts."""
        instance = (self.instance_input(features) - self.instance_mean) @ self.instance_matrix
        semantic = self.semantic(self.semantic_input(features))
        colour = (histograms - self.colour_mean) @ self.colour_matrix
        return [F.normalize(part, dim=1) for part in (instance, semantic, colour)]

    def forward(self, features: torch.Tensor, histograms: torch.Tensor) -> torch.Tensor:
        """Return L2-normalised vectors for pooled backbone features and colour histograms."""
        parts = self.parts(features, histograms)
        weighted = [weight * part for weight, part in zip(self.part_weights, parts, strict=True)]
        return F.normalize(torch.cat(weighted, dim=1), dim=1)


# ---------------------------------------------------------------------------- inference


class FeatureExtractor:
    """Preprocessing + frozen backbone: images -> (pooled features, colour histograms)."""

    def __init__(
        self,
        backbone: BackboneFeatures,
        feature_name: str = FEATURE_NAME,
        image_size: int = IMAGE_SIZE,
        max_aspect: float = MAX_ASPECT,
        colour_bins: int = COLOUR_BINS,
        runtime: str = RUNTIME,
        cache_dir: Path = CACHE_DIR,
        grey_input: bool = GREY_INPUT,
    ) -> None:
        self.backbone = backbone.eval()
        self.colour_bins = colour_bins
        self.grey_input = grey_input
        self.feature_name = feature_name
        self.image_size = image_size
        self.max_aspect = max_aspect
        self.run_backbone = backbone_runner(self.backbone, feature_name, runtime, cache_dir)
        # Inference itself is re-entrant, but the intra-op thread pool is shared: serialise
        # forward passes so concurrent requests queue instead of oversubscribing the CPU.
        self._lock = threading.Lock()

    def preprocess(self, images: Sequence[Image.Image]) -> tuple[list[np.ndarray], np.ndarray]:
        """Return per-image CHW input arrays (aspect kept) and their colour histograms."""
        fitted = [fit_image(image, self.image_size, self.max_aspect) for image in images]
        thumbnails = np.stack([colour_thumbnail(image) for image in fitted])
        arrays = [image_to_array(image, self.grey_input) for image in fitted]
        return arrays, colour_histogram(thumbnails, self.colour_bins)

    def backbone_outputs(
        self, arrays: Sequence[np.ndarray], batch_size: int = BATCH_SIZE
    ) -> tuple[torch.Tensor, list[np.ndarray]]:
        """Run the backbone over same-shaped batches; return, in input order, the pooled
        features and each image's local map as a (locations x channels) array."""
        features: np.ndarray | None = None
        local: list[np.ndarray] = [np.empty(0)] * len(arrays)
        with self._lock:
            for indices in group_by_shape(arrays, batch_size):
                pooled, maps = self.run_backbone(np.stack([arrays[i] for i in indices]))
                if features is None:
                    features = np.empty((len(arrays), pooled.shape[1]), dtype=np.float32)
                features[indices] = pooled
                locations = maps.reshape(maps.shape[0], maps.shape[1], -1).transpose(0, 2, 1)
                for index, image_locations in zip(indices, locations, strict=True):
                    local[index] = image_locations
        if features is None:
            raise ValueError("no images given")
        return torch.from_numpy(features), local

    def backbone_features(
        self, arrays: Sequence[np.ndarray], batch_size: int = BATCH_SIZE
    ) -> torch.Tensor:
        """Run the backbone over same-shaped batches and return pooled features in input order."""
        return self.backbone_outputs(arrays, batch_size)[0]

    def extract(
        self, images: Sequence[Image.Image], batch_size: int = BATCH_SIZE
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Return pooled backbone features and colour histograms of images."""
        tensors, colour = self.preprocess(images)
        return self.backbone_features(tensors, batch_size), colour

    def extract_with_local(
        self, images: Sequence[Image.Image], batch_size: int = BATCH_SIZE
    ) -> tuple[torch.Tensor, np.ndarray, list[np.ndarray]]:
        """Return pooled backbone features, colour histograms and local maps of images."""
        tensors, colour = self.preprocess(images)
        features, local = self.backbone_outputs(tensors, batch_size)
        return features, colour, local


class Embedder:
    """Feature extractor + fitted head, loaded once from a checkpoint; ``embed`` is thread-safe."""

    def __init__(
        self, checkpoint: dict, runtime: str = RUNTIME, cache_dir: Path = CACHE_DIR
    ) -> None:
        backbone = BackboneFeatures(checkpoint["backbone_name"])
        backbone.net.load_state_dict(
            {k: v.float() for k, v in checkpoint["backbone_state"].items()}
        )
        self.extractor = FeatureExtractor(
            backbone,
            checkpoint["feature_name"],
            int(checkpoint["image_size"]),
            float(checkpoint["max_aspect"]),
            int(checkpoint["colour_bins"]),
            runtime,
            cache_dir,
            # Checkpoints written before greyscale input fed the backbone colour images.
            bool(checkpoint.get("grey_input", False)),
        )
        self.head = EmbedderHead(**checkpoint["head_config"])
        self.head.load_state_dict({k: v.float() for k, v in checkpoint["head_state"].items()})
        self.head.eval()
        self.vector_size = self.head.vector_size
        if self.vector_size != VECTOR_SIZE:  # the database column has a fixed size
            raise ValueError(f"checkpoint makes {self.vector_size}-d vectors, not {VECTOR_SIZE}")

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH, runtime: str = RUNTIME) -> Embedder:
        """Load an embedder from a checkpoint written by ``embedder_train``."""
        return cls(torch.load(path, map_location="cpu", weights_only=True), runtime)

    def postprocess(self, features: torch.Tensor, colour: np.ndarray) -> np.ndarray:
        """Apply the fitted head and return float32 L2-normalised vectors."""
        with torch.inference_mode():
            vectors = self.head(features, torch.from_numpy(colour))
        return vectors.numpy().astype(np.float32)

    def embed(self, images: Sequence[Image.Image], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """Embed images into an (N x vector_size) float32 array of L2-normalised rows."""
        if not images:
            return np.zeros((0, self.vector_size), dtype=np.float32)
        return self.postprocess(*self.extractor.extract(images, batch_size))

    def embed_with_local(
        self,
        images: Sequence[Image.Image],
        batch_size: int = BATCH_SIZE,
        local_for: Collection[int] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray | None] | None]:
        """Embed images; also return each image's local descriptors (locations x local size,
        int8 rows of unit length, see ``detection.local_matching.quantised``) for re-ranking,
        or None when the checkpoint has no local projection.

        ``local_for`` names the positions of the images whose descriptors are wanted (all
        when None); the others get None, sparing their projection.
        """
        if not images:
            return np.zeros((0, self.vector_size), dtype=np.float32), []
        features, colour, local = self.extractor.extract_with_local(images, batch_size)
        vectors = self.postprocess(features, colour)
        if not self.head.has_local:
            return vectors, None
        wanted = range(len(images)) if local_for is None else sorted(set(local_for))
        descriptors: list[np.ndarray | None] = [None] * len(images)
        for index, found in zip(wanted, self.head.local_descriptors([local[i] for i in wanted]),
                                strict=True):
            descriptors[index] = found
        return vectors, descriptors

    def parts_boosted(
        self, vectors: np.ndarray, boosts: tuple[float, float, float]
    ) -> np.ndarray:
        """Return vectors with their instance, semantic and colour parts multiplied by
        ``boosts``, re-normalised.

        A vector's cosine similarity to another is a weighted sum of the parts'
        similarities, so boosting a query's part weighs that part more for this query
        alone: the indexed vectors stay as they are.
        """
        boosted = np.array(vectors, dtype=np.float32, copy=True)
        start = 0
        for size, boost in zip(self.head.part_sizes, boosts, strict=True):
            boosted[:, start : start + size] *= boost
            start += size
        norms = np.linalg.norm(boosted, axis=1, keepdims=True)
        return boosted / np.maximum(norms, 1e-12)

    def boosted_self_similarity(self, boosts: tuple[float, float, float]) -> float:
        """Return the cosine similarity of any vector, its parts boosted, to the vector
        itself: what an identical photo scores against a boosted query (1 unboosted).

        Every part is of unit length before weighting, so this depends on the weights alone.
        """
        weights = self.head.part_weights.double().numpy()
        boosted = weights * np.asarray(boosts, dtype=np.float64)
        return float(weights @ boosted / (np.linalg.norm(weights) * np.linalg.norm(boosted)))


_embedder: Embedder | None = None
_embedder_lock = threading.Lock()


def get_embedder() -> Embedder:
    """Return the process-wide embedder, loading the shipped checkpoint on first use."""
    global _embedder
    with _embedder_lock:
        if _embedder is None:
            if NUM_THREADS > 0:
                torch.set_num_threads(NUM_THREADS)
            _embedder = Embedder.load(WEIGHTS_PATH)
        return _embedder


def embed(images: Sequence[Image.Image]) -> np.ndarray:
    """Embed images with the shipped model (float32, L2-normalised, VECTOR_SIZE columns)."""
    return get_embedder().embed(images)
