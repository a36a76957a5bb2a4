"""The backbone's mid-level poolings and the head's feature blocks."""

import torch

from detection.embedder import (
    MID_LEVEL_STAGES,
    BackboneFeatures,
    EmbedderHead,
    gem_pool,
    inverted_residual_with_activation,
    power_normalise,
)


def test_a_block_run_for_its_activation_computes_what_timm_computes():
    torch.manual_seed(0)
    backbone = BackboneFeatures().eval()
    stage_input = torch.randn(2, 80, 14, 10)  # what stage 4 of lite0 receives
    with torch.no_grad():
        for block in backbone.net.blocks[4]:  # the first changes width, the others add a skip
            expected = block(stage_input)
            output, activation = inverted_residual_with_activation(block, stage_input)
            assert torch.allclose(output, expected, atol=1e-6)
            assert activation.shape[1] == block.conv_dw.out_channels
            assert activation.min() >= 0  # ReLU6: GeM needs non-negative values
            stage_input = output


def test_gem_mid_appends_the_mid_level_stages_to_the_head_gem():
    torch.manual_seed(0)
    backbone = BackboneFeatures().eval()
    pixels = torch.randn(2, 3, 224, 320)
    with torch.no_grad():
        pooled = backbone(pixels)
        net = backbone.net
        head_map = net.bn2(net.conv_head(net.blocks(net.bn1(net.conv_stem(pixels)))))

    blocks = backbone.feature_blocks("gem_mid")
    assert len(blocks) == 1 + len(MID_LEVEL_STAGES)
    assert pooled["gem_mid"].shape == (2, sum(blocks))
    assert torch.allclose(pooled["gem_mid"][:, : blocks[0]], pooled["gem"])
    assert torch.allclose(pooled["gem"], gem_pool(head_map), atol=1e-5)
    assert backbone.feature_blocks("gem") == ()


def head(feature_blocks=(), instance_blocks=(0,), feature_size=9) -> EmbedderHead:
    return EmbedderHead(feature_size, 3, 2, 4, 2, 8, feature_blocks, instance_blocks)


def test_head_without_blocks_normalises_all_features_together():
    features = torch.rand(3, 9)
    one_block = head()
    expected = power_normalise(features)
    assert torch.allclose(one_block.instance_input(features), expected)
    assert torch.allclose(one_block.semantic_input(features), expected)


def test_head_reads_each_part_from_its_own_blocks():
    blocked = head(feature_blocks=(4, 3, 2), instance_blocks=(1, 2))
    features = torch.rand(3, 9)
    changed_first_block = features.clone()
    changed_first_block[:, :4] += 1.0
    changed_other_blocks = features.clone()
    changed_other_blocks[:, 4:] += 1.0

    instance = blocked.instance_input(features)
    assert instance.shape == (3, 5)
    assert torch.allclose(instance[:, :3], power_normalise(features[:, 4:7]))  # each block alone
    assert torch.allclose(blocked.instance_input(changed_first_block), instance)
    assert not torch.allclose(blocked.instance_input(changed_other_blocks), instance)
    semantic = blocked.semantic_input(features)
    assert torch.allclose(blocked.semantic_input(changed_other_blocks), semantic)
    assert not torch.allclose(blocked.semantic_input(changed_first_block), semantic)


def test_semantic_part_may_read_several_blocks_and_stays_unit_length():
    blocked = EmbedderHead(9, 3, 2, 4, 2, 8, (4, 3, 2), (1, 2), (0, 2))
    features = torch.rand(3, 9)
    changed_middle_block = features.clone()
    changed_middle_block[:, 4:7] += 1.0

    semantic = blocked.semantic_input(features)
    assert semantic.shape == (3, 6)
    assert torch.allclose(semantic.norm(dim=1), torch.ones(3))
    assert torch.allclose(blocked.semantic_input(changed_middle_block), semantic)
    assert blocked.semantic[0].in_features == 6
