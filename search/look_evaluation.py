"""How often shop the look searches a garment in the right class, measured offline.

Shop the look searches each region within one class (search.look), so its results are only
as right as that class. This replays the decision with the shipped models and exact
search over the catalogs' whole photos, for three policies:

- ``embedding``: the whole photo, every class (what `evaluate_embedder --street` measures);
- ``detector``: the most confident garment's crop, in the detector's class (the whole
  photo, every class, when nothing is detected): shop the look before the class vote;
- ``vote``: as shop the look runs it now: the detector's class checked against the crop's
  nearest catalog products (search.garment_vote), and the whole photo in its neighbours'
  class when nothing is detected.

Queries are the held-out `street` photos (one garment each, macro over their ten labels)
and, optionally, the garments found in the held-out CCP outfit photos (each detected
region that overlaps a labelled box by IoU >= 0.5, with that box's class). On those outfit
photos it also counts, for the ``detector`` and ``vote`` policies, the sections shop the look
shows (one per garment searched, a garment found twice in one class shown once) and the
share of labelled garments that one of them finds in the right class.
"""

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from detection.api import Region, colour_boosted, detect_many
from detection.detector_data import ccp_records, is_holdout
from detection.embedder import get_embedder
from detection.embedder_training import (
    TOP_K,
    ImageItem,
    embed_items,
    load_image,
    normalise_rows,
    read_catalog,
    read_street,
)
from detection.regions import box_iou
from search.garment_vote import VOTE_NEIGHBOURS, region_class
from search.look import COLOUR_BOOST, garments_shown
from shop.colour_families import colour_family

POLICIES = ("embedding", "detector", "vote")
# The catalog categories (myntra's and H&M's) that are each street label's kind of garment.
STREET_LABEL_CATEGORIES = {
    "t-shirt": ("Tshirts", "T-shirt"),
    "shirt": ("Shirts", "Shirt", "Blouse"),
    "longsleeve": ("Sweater", "Sweaters", "Sweatshirts", "Hoodie"),
    "pants": ("Trousers", "Jeans", "Track Pants", "Leggings/Tights"),
    "shorts": ("Shorts",),
    "skirt": ("Skirt", "Skirts"),
    "dress": ("Dress", "Dresses"),
    "outwear": ("Jacket", "Jackets", "Coat", "Blazer", "Cardigan"),
    "shoes": ("Casual Shoes", "Sports Shoes", "Formal Shoes", "Heels", "Flats", "Sandals",
              "Flip Flops", "Boots", "Sneakers", "Heeled sandals", "Ballerinas"),
    "hat": ("Caps", "Hat/beanie", "Hat/brim", "Cap/peaked"),
}
# A detected garment stands for a labelled CCP box when they overlap this much.
MATCH_IOU = 0.5


@dataclass(frozen=True)
class Outfit:
    """A held-out CCP photo, its labelled garments and the garments detected in it."""

    photo: ImageItem
    labelled: list[dict]  # boxes.json's boxes: {"label", "class", "box"}
    regions: list[Region]


@dataclass(frozen=True)
class LookQuery:
    """A photo (or one garment of it) to search, with the class its results should have."""

    photo: ImageItem
    truth: str
    label: str  # what the macro average is over: the street label, or the CCP class
    region: Region | None  # the garment searched; None when nothing was detected


class Gallery:
    """The catalogs' whole photos, embedded, with their garment classes, categories and
    colour families."""

    def __init__(self, items: Sequence[ImageItem], vectors: np.ndarray):
        self.vectors = normalise_rows(vectors)
        self.classes = np.array([item.garment_class or "" for item in items])
        self.categories = np.array([item.category for item in items])
        self.colours = np.array([colour_family(item.colour) or "" for item in items])

    def similarity(self, query: np.ndarray) -> np.ndarray:
        """Return the cosine similarity of every gallery photo to a normalised query."""
        return self.vectors @ query

    def top(self, similarity: np.ndarray, garment_class: str | None) -> np.ndarray:
        """Return the indices of the 10 photos most similar within `garment_class` (None:
        any), best first."""
        if garment_class:
            similarity = np.where(self.classes == garment_class, similarity, -np.inf)
        top = np.argsort(-similarity, kind="stable")[:TOP_K]
        return top[np.isfinite(similarity[top])]

    def class_precision(
        self, similarity: np.ndarray, garment_class: str | None, truth: str
    ) -> float:
        """Return the share of the top 10 by `similarity` within `garment_class` (None: any)
        that is of class `truth`."""
        top = self.top(similarity, garment_class)
        return float((self.classes[top] == truth).mean()) if len(top) else 0.0

    def neighbours(self, similarity: np.ndarray) -> list[tuple[str, float]]:
        """Return (class, similarity) of the photos nearest by `similarity`, as the vote
        reads them."""
        top = np.argsort(-similarity, kind="stable")[:VOTE_NEIGHBOURS]
        return [(self.classes[i], float(similarity[i])) for i in top]


def look_evaluate(
    street_dir: Path,
    catalog_csvs: Sequence[Path],
    boxes_file: Path | None = None,
    batch_size: int = 32,
    colours_csv: Path | None = None,
) -> dict[str, float | int]:
    """Return class Precision@10 of each policy on the held-out street photos (macro over
    labels) and, with `boxes_file`, on the garments of the held-out CCP photos; and how
    many queries each set had. With `colours_csv`, also `colour_score` of its photos."""
    embedder = get_embedder()
    items = [item for catalog_csv in catalog_csvs for item in read_catalog(catalog_csv)]
    gallery = Gallery(items, embed_items(embedder, items, batch_size))
    street = street_queries(street_dir, batch_size)
    metrics = {"street/queries": len(street)}
    metrics |= {f"street/{name}": value
                for name, value in policies_score(gallery, street, batch_size).items()}
    if boxes_file is not None:
        outfits = ccp_outfits(Path(boxes_file), batch_size)
        garments = ccp_queries(outfits)
        scores = policies_score(gallery, garments, batch_size, policies=("detector", "vote"))
        metrics["ccp/queries"] = len(garments)
        metrics |= {f"ccp/{name}": value for name, value in scores.items()}
        metrics |= {f"ccp/{name}": value
                    for name, value in sections_score(gallery, outfits, batch_size).items()}
    if colours_csv is not None:
        metrics |= {f"colour/{name}": value for name, value in
                    colour_score(gallery, street, Path(colours_csv), batch_size).items()}
    return metrics


def street_queries(street_dir: Path, batch_size: int) -> list[LookQuery]:
    """Return the held-out street photos with the most confident garment in each."""
    photos = read_street(street_dir, test=True)
    found = detect_items(photos, batch_size)
    return [
        LookQuery(photo, photo.garment_class or "", photo.category, regions[0] if regions else None)
        for photo, regions in zip(photos, found, strict=True)
    ]


def ccp_outfits(boxes_file: Path, batch_size: int) -> list[Outfit]:
    """Return the held-out CCP photos with their labelled and detected garments."""
    records = [record for record in ccp_records(boxes_file) if is_holdout(record["image"])]
    photos = [ImageItem(path=boxes_file.parent / record["image"]) for record in records]
    return [Outfit(photo, record["boxes"], regions)
            for photo, record, regions in zip(photos, records, detect_items(photos, batch_size),
                                              strict=True)]


def ccp_queries(outfits: Sequence[Outfit]) -> list[LookQuery]:
    """Return every detected garment of the outfits that matches a labelled box."""
    queries = []
    for outfit in outfits:
        for region in outfit.regions:
            best = max(outfit.labelled, key=lambda box: box_iou(region.box, box["box"]),
                       default=None)
            if best is not None and box_iou(region.box, best["box"]) >= MATCH_IOU:
                queries.append(LookQuery(outfit.photo, best["class"], best["class"], region))
    return queries


def detect_items(items: Sequence[ImageItem], batch_size: int) -> list[list[Region]]:
    """Detect the garments of each item's photo, in order, with a progress bar."""
    found: list[list[Region]] = []
    with tqdm(total=len(items), desc="detect", unit="img") as progress:
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            images = [load_image(item) for item in batch]  # the detector converts to RGB
            found += detect_many(images)
            progress.update(len(batch))
    return found


def policies_score(
    gallery: Gallery,
    queries: Sequence[LookQuery],
    batch_size: int,
    policies: Sequence[str] = POLICIES,
) -> dict[str, float]:
    """Return each policy's class Precision@10, macro over the queries' labels, and per label
    (nothing without queries)."""
    if not queries:
        return {}
    searched = searched_vectors(queries, batch_size)
    whole = (normalise_rows(embed_items(get_embedder(), [query.photo for query in queries],
                                        batch_size))
             if "embedding" in policies else searched)
    per_label: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in policies}
    for query, whole_vector, searched_vector in zip(queries, whole, searched, strict=True):
        searched_similarity = gallery.similarity(searched_vector)
        for name in policies:
            if name == "embedding":
                similarity, garment_class = gallery.similarity(whole_vector), None
            else:
                similarity = searched_similarity
                garment_class = _searched_class(name, query.region, similarity, gallery)
            precision = gallery.class_precision(similarity, garment_class, query.truth)
            per_label[name][query.label].append(precision)
    scores = {}
    for name, by_label in per_label.items():
        scores[name] = float(np.mean([np.mean(values) for values in by_label.values()]))
        for label, values in sorted(by_label.items()):
            scores[f"{name}/{label}"] = float(np.mean(values))
    return scores


def colour_score(
    gallery: Gallery, street: Sequence[LookQuery], colours_csv: Path, batch_size: int
) -> dict[str, float | int]:
    """Return how often shop the look's results have the colour of a street test photo's
    garment, with the photo's colour weighed as in the index (``plain``) and boosted as
    shop the look does (``boosted``, search.look.COLOUR_BOOST).

    `colours_csv` (columns image, colour) names the garment's colour family
    (shop.colour_families) in some of the held-out photos, of which `street` holds the
    queries (`street_queries`). Each photo's most confident
    garment is searched in the class the vote gives it. Returns, per variant, colour
    Precision@10 over the photos (``colour``) and macro over the colour families
    (``colour_macro``), and ``label``: the share of results whose category is one of the
    photo's street label (STREET_LABEL_CATEGORIES), which a colour boost must not cost.
    """
    with colours_csv.open(newline="", encoding="utf-8") as file:
        colours = {row["image"]: row["colour"] for row in csv.DictReader(file)}
    queries = [query for query in street if f"images/{query.photo.path.name}" in colours]
    vectors = searched_vectors(queries, batch_size)
    boosted, _ = colour_boosted(vectors, COLOUR_BOOST)  # a rescale would not reorder
    hits: dict[str, list[float]] = defaultdict(list)
    by_family: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for query, plain_vector, boosted_vector in zip(queries, vectors, boosted, strict=True):
        colour = colours[f"images/{query.photo.path.name}"]
        plain_similarity = gallery.similarity(plain_vector)
        searched = _searched_class("vote", query.region, plain_similarity, gallery)
        for variant, similarity in (("plain", plain_similarity),
                                    ("boosted", gallery.similarity(boosted_vector))):
            top = gallery.top(similarity, searched)
            share = float((gallery.colours[top] == colour).mean()) if len(top) else 0.0
            hits[f"{variant}/colour"].append(share)
            by_family[variant][colour].append(share)
            categories = STREET_LABEL_CATEGORIES.get(query.label, ())
            hits[f"{variant}/label"].append(
                float(np.isin(gallery.categories[top], categories).mean()) if len(top) else 0.0)
    scores: dict[str, float | int] = {"queries": len(queries)}
    for variant in ("plain", "boosted"):
        scores[f"{variant}/colour"] = float(np.mean(hits[f"{variant}/colour"] or [0.0]))
        scores[f"{variant}/colour_macro"] = float(np.mean(
            [np.mean(shares) for shares in by_family[variant].values()] or [0.0]))
        scores[f"{variant}/label"] = float(np.mean(hits[f"{variant}/label"] or [0.0]))
    return scores


def sections_score(
    gallery: Gallery, outfits: Sequence[Outfit], batch_size: int
) -> dict[str, float]:
    """Return, for the ``detector`` and ``vote`` policies, the sections shop the look shows
    per outfit photo and the share of labelled garments that one of them finds: a section
    over the garment's box (IoU >= 0.5) searched in the garment's class."""
    garments = [_region_item(outfit.photo, region)
                for outfit in outfits for region in outfit.regions]
    vectors = iter(normalise_rows(embed_items(get_embedder(), garments, batch_size)))
    sections, found = defaultdict(int), defaultdict(int)
    for outfit in outfits:
        similarities = [gallery.similarity(next(vectors)) for _ in outfit.regions]
        for policy in ("detector", "vote"):
            classes = [_searched_class(policy, region, similarity, gallery)
                       for region, similarity in zip(outfit.regions, similarities, strict=True)]
            shown = garments_shown(outfit.regions, {policy: classes})
            sections[policy] += len(shown) or 1  # nothing found: the whole photo
            found[policy] += sum(
                any(classes[i] == box["class"]
                    and box_iou(outfit.regions[i].box, box["box"]) >= MATCH_IOU for i in shown)
                for box in outfit.labelled)
    labelled = sum(len(outfit.labelled) for outfit in outfits)
    scores = {}
    for policy in ("detector", "vote"):
        scores[f"{policy}/sections_per_photo"] = sections[policy] / max(len(outfits), 1)
        scores[f"{policy}/garments_found"] = found[policy] / max(labelled, 1)
    return scores


def _searched_class(
    policy: str, region: Region | None, similarity: np.ndarray, gallery: Gallery
) -> str | None:
    """Return the class the ``detector`` or ``vote`` policy searches a garment in (None:
    nothing detected), given the garment's `similarity` to the gallery."""
    detected = region.garment_class if region is not None else ""
    if policy == "detector":
        return detected or None
    return region_class(detected, gallery.neighbours(similarity))


def searched_vectors(queries: Sequence[LookQuery], batch_size: int) -> np.ndarray:
    """Return the normalised vectors of the queries' searched parts, in order."""
    return normalise_rows(embed_items(get_embedder(), [_searched_item(query) for query in queries],
                                      batch_size))


def _searched_item(query: LookQuery) -> ImageItem:
    """Return the query's searched part as an item: its garment's box, or the whole photo."""
    if query.region is None:
        return query.photo
    return _region_item(query.photo, query.region)


def _region_item(photo: ImageItem, region: Region) -> ImageItem:
    """Return a detected region of a photo as an item to embed (its box in whole pixels)."""
    return ImageItem(path=photo.path, box=tuple(round(value) for value in region.box))

