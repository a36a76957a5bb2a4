"""Fine-tuning the backbone's top for the semantic part: wiring, cached inputs, resuming."""

import numpy as np
import pytest
import torch

from detection.embedder import (
    MID_LEVEL_STAGES,
    TUNED_FEATURE_NAME,
    BackboneFeatures,
    EmbedderHead,
    FeatureExtractor,
)
from detection.semantic_training import cache_branch_inputs, fine_tune_top
from tests.detection.test_embedder_training import COLOURS, garment


def test_a_fresh_tuned_top_repeats_the_frozen_poolings():
    torch.manual_seed(0)
    backbone = BackboneFeatures().eval()
    backbone.add_tuned_top()
    with torch.no_grad():
        pooled = backbone(torch.randn(2, 3, 224, 160))

    blocks = backbone.feature_blocks(TUNED_FEATURE_NAME)
    frozen = backbone.feature_blocks("gem_mid")
    assert blocks[: len(frozen)] == frozen
    assert pooled[TUNED_FEATURE_NAME].shape == (2, sum(blocks))
    _, *mid_level = pooled[TUNED_FEATURE_NAME].split(blocks, dim=1)
    # An untrained copy computes what the stages it copies compute.
    assert torch.allclose(mid_level[len(frozen) - 1], pooled["gem"], atol=1e-5)
    assert torch.allclose(mid_level[-1], mid_level[len(MID_LEVEL_STAGES) - 1], atol=1e-5)


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


def tuning_setup(extractor, folder):
    """A tuned top, a head reading it, branch inputs of two sets and their frozen features."""
    backbone = extractor.backbone
    backbone.add_tuned_top()
    blocks = backbone.feature_blocks(TUNED_FEATURE_NAME)
    head = EmbedderHead(sum(blocks), 4, 8, 8, 2, 16, blocks, (1, 2), (3, 1, 4))
    sets = [photos(6), photos(9)[3:]]
    inputs = [
        cache_branch_inputs(extractor, [images], len(images), folder, f"set{k}")
        for k, images in enumerate(sets)
    ]
    with torch.no_grad():
        frozen = extractor.extract([image for images in sets for image in images])[0]
    labels = {"class": np.array([0, 1] * 6), "fine": np.array([0, 1, 2, -1] * 3)}
    return backbone.top, head, inputs, frozen, labels


def trained_weights(extractor, tmp_path, interrupt_after_calls=None):
    torch.manual_seed(0)  # the same starting MLP in every run
    top, head, inputs, frozen, labels = tuning_setup(extractor, tmp_path / "inputs")
    state_file = tmp_path / "state.pt"
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
        torch.manual_seed(0)
        top, head, inputs, frozen, labels = tuning_setup(extractor, tmp_path / "inputs")
    fine_tune_top(top, head, inputs, frozen, labels, 3, 4, state_file=state_file)
    return [p.detach().clone() for p in [*top.parameters(), *head.semantic.parameters()]]


def test_an_interrupted_fine_tuning_resumes_where_it_stopped(extractor, tmp_path):
    start_top = extractor.backbone.net.conv_head.weight.detach().clone()
    unbroken = trained_weights(extractor, tmp_path / "unbroken")
    # Interrupted in the second epoch: the first pass over the inputs and each epoch make 4 calls.
    resumed = trained_weights(extractor, tmp_path / "resumed", interrupt_after_calls=4 + 4 + 2)

    assert all(torch.equal(a, b) for a, b in zip(unbroken, resumed, strict=True))
    tuned_conv_head = extractor.backbone.top.conv_head.weight
    assert not torch.allclose(tuned_conv_head, start_top)  # training moved the copy
    assert torch.equal(extractor.backbone.net.conv_head.weight, start_top)  # not the original
