"""Fine-tuning the backbone's top for the semantic part: wiring, cached inputs, resuming."""

import numpy as np
import pytest
import torch

from detection.embedder import (
    FEATURE_NAME,
    TUNED_FROM_STAGE,
    BackboneFeatures,
    EmbedderHead,
    FeatureExtractor,
)
from detection.semantic_training import cache_branch_inputs, fine_tune_top, top_features
from tests.detection.test_embedder_training import COLOURS, garment


def test_the_top_is_the_backbone_own_and_recomputes_its_features():
    torch.manual_seed(0)
    backbone = BackboneFeatures().eval()
    top = backbone.top()
    images = torch.randn(2, 3, 224, 160)
    with torch.no_grad():
        features = backbone(images)[FEATURE_NAME]
        again = top.gem_mid(backbone.branch_input(images), features)

    assert torch.allclose(again, features, atol=1e-5)
    # Not a copy: training the top trains the backbone.
    assert top.conv_head.weight is backbone.net.conv_head.weight
    assert all(p is q for p, q in zip(top.blocks.parameters(),
                                       backbone.net.blocks[TUNED_FROM_STAGE:].parameters(),
                                       strict=True))
    # The stages below it are not part of it.
    first_below = next(backbone.net.blocks[TUNED_FROM_STAGE - 1].parameters())
    assert all(p is not first_below for p in top.parameters())


def photos(count: int) -> list:
    """Generated garments in two photo shapes (portrait and square)."""
    shapes, colours = ("box", "legs"), list(COLOURS.values())
    return [
        garment(shapes[i % 2], colours[i // 2 % 2], i, size=(72, 96) if i % 3 else (80, 80))
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def extractor():
    torch.manual_seed(0)
    return FeatureExtractor(BackboneFeatures(), runtime="torch")


def test_branch_inputs_are_computed_once_and_keep_each_photo_shape(extractor, tmp_path):
    images = photos(7)
    inputs = cache_branch_inputs(extractor, [images[:4], images[4:]], 7, tmp_path, "set")

    assert len(inputs) == 7
    # 72 x 96 photos fit to 224 x 299, 80 x 80 ones to 224 x 224: stride 16, 112 channels.
    assert {tuple(shape) for shape in inputs.shapes} == {(19, 14, 112), (14, 14, 112)}
    pixels = torch.from_numpy(extractor.preprocess(images[:1])[0][0][None])
    with torch.no_grad():
        expected = extractor.backbone.branch_input(pixels)
    assert torch.allclose(inputs.batch([0]), expected, atol=1e-2)  # stored as float16
    # A second run reads the cache: it gets no images at all.
    again = cache_branch_inputs(extractor, [], 7, tmp_path, "set")
    assert np.array_equal(np.asarray(again.flat), np.asarray(inputs.flat))
    assert not list(tmp_path.glob("*.tmp*"))


def tuning_setup(folder):
    """A fresh backbone's top, a head, branch inputs of two sets and their frozen features."""
    torch.manual_seed(0)  # the same backbone and starting MLP in every run
    extractor = FeatureExtractor(BackboneFeatures(), runtime="torch")
    blocks = extractor.backbone.feature_blocks(FEATURE_NAME)
    head = EmbedderHead(sum(blocks), 4, 8, 8, 2, 16, blocks, (1, 2), (0, 1, 2))
    sets = [photos(6), photos(9)[3:]]
    inputs = [
        cache_branch_inputs(extractor, [images], len(images), folder, f"set{k}")
        for k, images in enumerate(sets)
    ]
    with torch.no_grad():
        frozen = extractor.extract([image for images in sets for image in images])[0]
    labels = {"class": np.array([0, 1] * 6), "fine": np.array([0, 1, 2, -1] * 3)}
    return extractor.backbone, head, inputs, frozen, labels


def fine_tuned(tmp_path, interrupt_after_calls=None):
    """Fine-tune a fresh backbone's top; return the backbone, head, inputs and frozen features."""
    backbone, head, inputs, frozen, labels = tuning_setup(tmp_path / "inputs")
    top, state_file = backbone.top(), tmp_path / "state.pt"
    if interrupt_after_calls is not None:
        forward, calls = top.forward, []

        def interrupted_forward(branch):
            calls.append(1)
            if len(calls) > interrupt_after_calls:
                raise KeyboardInterrupt
            return forward(branch)

        top.forward = interrupted_forward
        with pytest.raises(KeyboardInterrupt):
            fine_tune_top(top, head, inputs, frozen, labels, 3, 4, state_file=state_file)
        backbone, head, inputs, frozen, labels = tuning_setup(tmp_path / "inputs")
        top = backbone.top()
    fine_tune_top(top, head, inputs, frozen, labels, 3, 4, state_file=state_file)
    return backbone, head, inputs, frozen


def test_an_interrupted_fine_tuning_resumes_where_it_stopped(tmp_path):
    backbone, head, _, _ = fine_tuned(tmp_path / "unbroken")
    # Interrupted in the second epoch: each epoch makes 4 calls.
    resumed, resumed_head, _, _ = fine_tuned(tmp_path / "resumed", interrupt_after_calls=4 + 2)

    def weights(net, mlp):
        return [p.detach() for p in [*net.parameters(), *mlp.parameters()]]

    unbroken = weights(backbone.net, head.semantic)
    assert all(
        torch.equal(a, b)
        for a, b in zip(unbroken, weights(resumed.net, resumed_head.semantic), strict=True)
    )
    torch.manual_seed(0)
    start = BackboneFeatures().net
    below = slice(0, TUNED_FROM_STAGE)
    # Training moved the top in place and left the stages below it as they were.
    assert not torch.allclose(backbone.net.conv_head.weight, start.conv_head.weight)
    assert all(
        torch.equal(p, q)
        for p, q in zip(backbone.net.blocks[below].parameters(), start.blocks[below].parameters(),
                        strict=True)
    )


def test_tuned_features_are_what_the_tuned_backbone_computes(tmp_path):
    backbone, _, inputs, frozen = fine_tuned(tmp_path)
    tuned = top_features(backbone.top(), inputs, frozen, batch_size=4)

    extractor = FeatureExtractor(backbone, runtime="torch")
    sets = [photos(6), photos(9)[3:]]
    with torch.no_grad():
        direct = extractor.extract([image for images in sets for image in images])[0]
    # Branch inputs are cached as float16, hence the tolerance.
    assert torch.allclose(tuned, direct, atol=2e-2, rtol=1e-2)
    assert not torch.allclose(tuned, frozen, atol=2e-2, rtol=1e-2)
