"""Train the embedder's semantic part ("same kind of garment"): its MLP, then the backbone's top.

Both steps train with one cosine-softmax classifier per labelled task (the FaceNet lesson:
classification is the practical route to an embedding), so data sets with different label
sets (myntra product types, street labels, CCP garment labels) train one shared embedding.

1. ``train_semantic_head``: the MLP on frozen backbone features.
2. ``fine_tune_top``: the backbone's last stages (``BackboneTop``, in place) and the MLP
   together, warm started from step 1. The stages below stay frozen, so the instance part
   keeps stage 4's ImageNet detail, which fine-tuning on garment types would wash out
   (EMBEDDER.md). The frozen stages are run once per training image and their output is
   cached on disk ("branch inputs"), so an epoch only runs the top (4.5 min for the 15,674
   training photos on two CPU cores, EMBEDDER.md).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from tqdm import tqdm

from detection.embedder import BackboneTop, EmbedderHead, FeatureExtractor, group_by_shape

LOGIT_SCALE = 16.0  # cosine softmax temperature; keeps classes spread on the sphere
TUNE_EPOCHS = 3
TOP_LEARNING_RATE = 1e-4  # the ImageNet stages: small steps keep what they know
HEAD_LEARNING_RATE = 5e-4  # the MLP and classifiers, already fitted once in step 1
TUNE_BATCH_SIZE = 48
TUNE_INPUT_DROPOUT = 0.1


def task_classifiers(embedding_size: int, task_labels: dict[str, torch.Tensor]) -> nn.ModuleDict:
    """Return one bias-free linear classifier per task, sized to its largest label."""
    return nn.ModuleDict(
        {
            task: nn.Linear(embedding_size, int(labels.max()) + 1, bias=False)
            for task, labels in task_labels.items()
        }
    )


def multi_task_loss(
    embedding: torch.Tensor,
    classifiers: nn.ModuleDict,
    task_labels: dict[str, torch.Tensor],
    rows: torch.Tensor,
) -> torch.Tensor:
    """Sum of the tasks' cosine-softmax losses over the batch rows each task labels (>= 0)."""
    loss = torch.zeros(())
    for task, classifier in classifiers.items():
        target = task_labels[task][rows]
        known = target >= 0
        if known.any():
            weight = F.normalize(classifier.weight, dim=1)
            logits = LOGIT_SCALE * embedding[known] @ weight.T
            loss = loss + F.cross_entropy(logits, target[known])
    return loss


def train_semantic_head(
    head: nn.Module,
    features: torch.Tensor,
    task_labels: dict[str, np.ndarray],
    epochs: int = 30,
    batch_size: int = 256,
    learning_rate: float = 2e-3,
    input_dropout: float = 0.2,
    seed: int = 0,
) -> nn.Module:
    """Train ``head`` (features -> embedding) on the labelled tasks, in place; return it."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    labels = {task: torch.from_numpy(values) for task, values in task_labels.items()}
    classifiers = task_classifiers(head[-1].out_features, labels)
    parameters = list(head.parameters()) + list(classifiers.parameters())
    optimiser = torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=1e-4)
    steps = epochs * ((len(features) + batch_size - 1) // batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=learning_rate, total_steps=steps
    )
    dropout = nn.Dropout(input_dropout)
    head.train()
    for _ in tqdm(range(epochs), desc="semantic head", unit="epoch"):
        for batch in torch.randperm(len(features), generator=generator).split(batch_size):
            embedding = F.normalize(head(dropout(features[batch])), dim=1)
            loss = multi_task_loss(embedding, classifiers, labels, batch)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
    head.eval()
    return head


# ---------------------------------------------------------------------------- backbone top


@dataclass
class BranchInputs:
    """Cached branch inputs of one image set: channels-last float16 maps, concatenated."""

    flat: np.ndarray  # all maps' values, one after the other (memory-mapped from the cache)
    offsets: np.ndarray  # map i is flat[offsets[i] : offsets[i + 1]]
    shapes: np.ndarray  # (N, 3): height, width, channels of each map

    def __len__(self) -> int:
        return len(self.shapes)

    def batch(self, indices: Sequence[int]) -> torch.Tensor:
        """Return the maps of same-shaped images as an N x C x H x W float32 tensor."""
        maps = [
            np.asarray(self.flat[self.offsets[i] : self.offsets[i + 1]]).reshape(self.shapes[i])
            for i in indices
        ]
        stacked = torch.from_numpy(np.stack(maps).astype(np.float32))
        return stacked.permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)

    def batches(self, batch_size: int, generator: torch.Generator | None = None) -> list[list[int]]:
        """Split indices into batches of same-shaped maps; shuffled within shapes if generator."""
        by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
        for index, shape in enumerate(self.shapes):
            by_shape[tuple(shape)].append(index)
        result = []
        for indices in by_shape.values():
            if generator is not None:
                indices = [indices[i] for i in torch.randperm(len(indices), generator=generator)]
            result += [indices[s : s + batch_size] for s in range(0, len(indices), batch_size)]
        return result


def cache_branch_inputs(
    extractor: FeatureExtractor,
    image_batches: Iterable[list[Image.Image]],
    count: int,
    cache_dir: Path,
    name: str,
) -> BranchInputs:
    """Return the branch inputs of ``count`` images, computed once into ``cache_dir``."""
    flat_file = cache_dir / f"{name}_branch.npy"
    index_file = cache_dir / f"{name}_branch_index.npz"
    if flat_file.exists() and index_file.exists():
        offsets, shapes = (np.load(index_file)[key] for key in ("offsets", "shapes"))
        if len(shapes) == count:
            return BranchInputs(np.load(flat_file, mmap_mode="r"), offsets, shapes)
    maps: list[np.ndarray] = []
    with tqdm(total=count, desc=f"branch inputs: {name}", unit="img") as progress:
        for images in image_batches:
            arrays, _ = extractor.preprocess(images)
            batch_maps = [np.empty(0, np.float16)] * len(arrays)
            for indices in group_by_shape(arrays, len(arrays)):
                pixels = torch.from_numpy(np.stack([arrays[i] for i in indices]))
                with torch.inference_mode():
                    output = extractor.backbone.branch_input(pixels).permute(0, 2, 3, 1)
                for i, activation in zip(indices, output.numpy(), strict=True):
                    batch_maps[i] = activation.astype(np.float16)
            maps += batch_maps
            progress.update(len(images))
    shapes = np.array([m.shape for m in maps], dtype=np.int64).reshape(-1, 3)
    offsets = np.concatenate([[0], np.cumsum([m.size for m in maps])]).astype(np.int64)
    flat = np.concatenate([m.reshape(-1) for m in maps]) if maps else np.zeros(0, np.float16)
    # Written under temporary names, then renamed: an interrupted run leaves no half cache.
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(cache_dir / f"{name}_branch.tmp.npy", flat)
    np.savez(cache_dir / f"{name}_branch_index.tmp.npz", offsets=offsets, shapes=shapes)
    os.replace(cache_dir / f"{name}_branch.tmp.npy", flat_file)
    os.replace(cache_dir / f"{name}_branch_index.tmp.npz", index_file)
    return BranchInputs(np.load(flat_file, mmap_mode="r"), offsets, shapes)


def top_features(
    top: BackboneTop,
    inputs: Sequence[BranchInputs],
    frozen_features: torch.Tensor,
    batch_size: int = TUNE_BATCH_SIZE,
) -> torch.Tensor:
    """Return the ``gem_mid`` features the backbone computes with ``top``, rows in input order.

    ``frozen_features`` (rows following ``inputs``) give the poolings of the stages below it.
    """
    features = torch.empty_like(frozen_features)
    start = 0
    top.eval()
    with tqdm(total=len(features), desc="tuned top: features", unit="img") as progress:
        for set_inputs in inputs:
            for batch in set_inputs.batches(batch_size):
                rows = start + np.asarray(batch)
                with torch.no_grad():
                    features[rows] = top.gem_mid(set_inputs.batch(batch), frozen_features[rows])
                progress.update(len(batch))
            start += len(set_inputs)
    return features


def class_mean_classifiers(
    embeddings: torch.Tensor, task_labels: dict[str, torch.Tensor]
) -> nn.ModuleDict:
    """Return one classifier per task whose weights are its classes' mean embeddings."""
    classifiers = task_classifiers(embeddings.shape[1], task_labels)
    with torch.no_grad():
        for task, labels in task_labels.items():
            weight = classifiers[task].weight
            for label in range(weight.shape[0]):
                if (labels == label).any():
                    weight[label] = embeddings[labels == label].mean(dim=0)
    return classifiers


def fine_tune_top(
    top: BackboneTop,
    head: EmbedderHead,
    inputs: Sequence[BranchInputs],
    frozen_features: torch.Tensor,
    task_labels: dict[str, np.ndarray],
    epochs: int = TUNE_EPOCHS,
    batch_size: int = TUNE_BATCH_SIZE,
    seed: int = 0,
    state_file: Path | None = None,
) -> None:
    """Train ``top`` and ``head.semantic`` together on the labelled tasks, in place.

    ``inputs`` are the branch inputs of the training sets, whose rows follow one another in
    ``frozen_features`` (the frozen backbone's ``gem_mid`` features) and in ``task_labels``;
    the MLP reads the features the backbone computes with the top (``BackboneTop.gem_mid``).
    With ``state_file``, the state after each epoch is saved there and a rerun resumes from it.
    """
    labels = {task: torch.from_numpy(values) for task, values in task_labels.items()}
    starts = np.cumsum([0] + [len(set_inputs) for set_inputs in inputs])
    if starts[-1] != len(frozen_features):
        raise ValueError(f"{starts[-1]} branch inputs for {len(frozen_features)} feature rows")

    def embed(features: torch.Tensor, dropout: float = 0.0) -> torch.Tensor:
        semantic_input = F.dropout(head.semantic_input(features), dropout, dropout > 0)
        return F.normalize(head.semantic(semantic_input), dim=1)

    resuming = state_file is not None and state_file.exists()
    if resuming:  # the classifiers come from the saved state
        classifiers = task_classifiers(head.semantic[-1].out_features, labels)
    else:  # the untrained top computes the frozen features: start from the fitted MLP's classes
        with torch.no_grad():
            classifiers = class_mean_classifiers(embed(frozen_features), labels)
    optimiser = torch.optim.AdamW(
        [
            {"params": top.parameters(), "lr": TOP_LEARNING_RATE},
            {
                "params": [*head.semantic.parameters(), *classifiers.parameters()],
                "lr": HEAD_LEARNING_RATE,
            },
        ],
        weight_decay=1e-4,
    )
    steps_per_epoch = sum(len(set_inputs.batches(batch_size)) for set_inputs in inputs)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser,
        max_lr=[TOP_LEARNING_RATE, HEAD_LEARNING_RATE],
        total_steps=max(1, epochs * steps_per_epoch),
        pct_start=0.15,
    )
    generator = torch.Generator().manual_seed(seed)
    trained = {"top": top, "semantic": head.semantic, "classifiers": classifiers}
    first_epoch = 0
    if resuming:
        state = torch.load(state_file, map_location="cpu", weights_only=False)
        for key, module in trained.items():
            module.load_state_dict(state[key])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        first_epoch = state["epoch"] + 1

    for epoch in range(first_epoch, epochs):
        torch.manual_seed(seed + epoch)  # dropout: a resumed run draws what an unbroken one would
        top.train()
        head.semantic.train()
        # Batch-norm statistics stay ImageNet's: a batch holds one image shape of one data
        # set, so batch statistics would swing from batch to batch.
        for module in top.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        batches = [
            (k, batch)
            for k, set_inputs in enumerate(inputs)
            for batch in set_inputs.batches(batch_size, generator)
        ]
        shuffled = [batches[i] for i in torch.randperm(len(batches), generator=generator)]
        progress = tqdm(shuffled, desc=f"tune top, epoch {epoch + 1}/{epochs}", unit="batch")
        for k, batch in progress:
            branch = inputs[k].batch(batch)
            if torch.rand(1, generator=generator).item() < 0.5:
                branch = branch.flip(3)  # a mirrored garment is the same garment
            rows = torch.from_numpy(starts[k] + np.asarray(batch))
            features = top.gem_mid(branch, frozen_features[rows])
            loss = multi_task_loss(embed(features, TUNE_INPUT_DROPOUT), classifiers, labels, rows)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            scheduler.step()
            progress.set_postfix(loss=f"{loss.item():.3f}")
        if state_file is not None:
            state = {key: module.state_dict() for key, module in trained.items()}
            state |= {
                "epoch": epoch,
                "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
            }
            torch.save(state, state_file.with_suffix(".tmp"))
            os.replace(state_file.with_suffix(".tmp"), state_file)
    top.eval()
    head.semantic.eval()
