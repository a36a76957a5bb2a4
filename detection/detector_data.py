"""Build the garment detector's YOLO data set from CCP street photos, myntra product shots
and, optionally, single-garment shopper photos (`street`) with photos of no garment at all.

Layout written under `out_dir` (Ultralytics finds a label by swapping `images` for `labels`):

    images/{train,val}/*.jpg   CCP and street photos are symlinks (never copies); composites
                               (myntra products pasted onto CCP training photos) and
                               backgrounds (photos of no garment) are files
    labels/{train,val}/*.txt   one `class cx cy w h` line per box, normalised to the image;
                               empty for a background
    dataset.yaml               the file `YOLO.train(data=...)` reads

The held-out split is decided by a hash of the CCP image name, not by a shuffle, so that it
is the same on every machine and stays put when photos are added to or removed from the set.
"""

import csv
import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from tqdm import tqdm

from detection.config import GARMENT_CLASSES
from detection.regions import box_area, intersection_area
from shop.garment_classes import garment_class_default

HOLDOUT_FRACTION = 0.2
TRAIN, VAL = "train", "val"
# # Single-garment photos: GrabCut runs on a copy this long, from a rectangle this far inside
# the border, and a subject smaller than this share of the photo counts as not found.
PSEUDO_BOX_SIDE = 200
PSEUDO_BOX_MARGIN = 0.04
PSEUDO_BOX_MIN_AREA = 0.05
# Backgrounds: a street photo's floor counts when the strip beside its garment's box, this far
# from the box, spans this share of the photo; at most this many of them, plus this many
# generated plain photos in the sizes shoppers' photos come in.
BACKGROUND_MARGIN = 0.05
BACKGROUND_MIN_SHARE = 0.2
STREET_BACKGROUNDS = 300
PLAIN_BACKGROUNDS = 150
PLAIN_SIZES = ((320, 480), (480, 320), (400, 400), (200, 300), (600, 800), (1200, 900))
# Product shots are JPEGs on white: anything this bright, connected to the border, is studio.
WHITE_THRESHOLD = 235


@dataclass(frozen=True)
class Box:
    """One labelled box in pixel coordinates."""

    class_id: int
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def corners(self) -> tuple[float, float, float, float]:
        """The box as (x1, y1, x2, y2), the form detection.regions measures."""
        return (self.x1, self.y1, self.x2, self.y2)


def is_holdout(image_name: str, fraction: float = HOLDOUT_FRACTION) -> bool:
    """Return whether a CCP image belongs to the held-out split."""
    digest = hashlib.sha1(image_name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def ccp_records(boxes_file: Path) -> list[dict]:
    """Load the image records of a CCP `boxes.json`."""
    with open(boxes_file, encoding="utf-8") as handle:
        return json.load(handle)["images"]


def ccp_boxes(record: dict) -> list[Box]:
    """Return the boxes of one CCP image record."""
    return [
        Box(GARMENT_CLASSES.index(item["class"]), *item["box"])
        for item in record["boxes"]
        if item["class"] in GARMENT_CLASSES
    ]


def yolo_label_text(boxes: Iterable[Box], width: int, height: int) -> str:
    """Format boxes as a YOLO label file (normalised centre, width, height)."""
    lines = []
    for box in boxes:
        x1, x2 = max(0.0, box.x1), min(float(width), box.x2)
        y1, y2 = max(0.0, box.y1), min(float(height), box.y2)
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        lines.append(
            f"{box.class_id} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
            f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}"
        )
    return "\n".join(lines) + "\n" if lines else ""


def _write_sample(out_dir: Path, split: str, name: str, labels: str) -> Path:
    """Write one label file and return the matching image path to fill."""
    (out_dir / "labels" / split).mkdir(parents=True, exist_ok=True)
    (out_dir / "images" / split).mkdir(parents=True, exist_ok=True)
    (out_dir / "labels" / split / f"{name}.txt").write_text(labels, encoding="utf-8")
    return out_dir / "images" / split / f"{name}.jpg"


def ccp_export(boxes_file: Path, out_dir: Path) -> dict[str, int]:
    """Link CCP photos into the data set with YOLO labels; return image counts per split."""
    counts = {TRAIN: 0, VAL: 0}
    for record in ccp_records(boxes_file):
        split = VAL if is_holdout(record["image"]) else TRAIN
        name = "ccp_" + Path(record["image"]).stem
        labels = yolo_label_text(ccp_boxes(record), record["width"], record["height"])
        image_path = _write_sample(out_dir, split, name, labels)
        image_path.unlink(missing_ok=True)
        image_path.symlink_to((boxes_file.parent / record["image"]).resolve())
        counts[split] += 1
    return counts


def myntra_products(myntra_dir: Path) -> dict[int, list[Path]]:
    """Group myntra product photos by detector class id, skipping products without one."""
    products: dict[int, list[Path]] = {index: [] for index in range(len(GARMENT_CLASSES))}
    with open(myntra_dir / "catalog.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            garment_class = garment_class_default(row["category"], row["group"])
            if garment_class:
                products[GARMENT_CLASSES.index(garment_class)].append(myntra_dir / row["image"])
    return products


def _alpha_bbox(image: Image.Image) -> tuple[int, int, int, int] | None:
    """Return the bounding box of an RGBA image's mostly opaque pixels."""
    return image.getchannel("A").point(lambda value: 255 if value > 128 else 0).getbbox()


def product_cutout(path: Path) -> Image.Image | None:
    """Cut a product out of its white studio background; None if nothing is left."""
    rgb = np.asarray(Image.open(path).convert("RGB"))
    bright = (rgb.min(axis=2) >= WHITE_THRESHOLD).astype(np.uint8)
    # Only white regions touching the border are background: a white shirt must stay opaque.
    _, components = cv2.connectedComponents(bright, connectivity=4)
    border = np.unique(np.concatenate([
        components[0], components[-1], components[:, 0], components[:, -1],
    ]))
    background = np.isin(components, border[border > 0]) & (bright > 0)
    alpha = np.where(background, 0, 255).astype(np.uint8)
    # Erode then blur so the JPEG halo around the product does not become a white outline.
    alpha = cv2.GaussianBlur(cv2.erode(alpha, np.ones((3, 3), np.uint8)), (3, 3), 0)
    cutout = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    bbox = _alpha_bbox(cutout)
    return cutout.crop(bbox) if bbox else None


# Myntra shots of clothes are mostly worn by a model, so a cutout would be a whole person
# labelled as one garment; footwear, bags and accessories are shot alone. They are also the
# small, rare objects the detector finds hardest, so they are the ones worth synthesising.
PASTED_CLASSES = ("footwear", "bag", "accessory")
# Where a pasted product may go: vertical centre range as a fraction of the photo height and
# width range as a fraction of its width, near the 10th-90th percentiles of CCP boxes. Pasted
# accessories are smaller than CCP's, whose one box spans e.g. both earrings, not one watch.
_PLACEMENT: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "footwear": ((0.7, 0.97), (0.12, 0.3)),
    "bag": ((0.25, 0.75), (0.08, 0.28)),
    "accessory": ((0.05, 0.8), (0.04, 0.14)),
}


def _scaled_turned(cutout: Image.Image, scale: float, degrees: float) -> Image.Image:
    """Return the cutout scaled (at least 1 px a side), then turned with its corners kept."""
    size = (max(1, round(cutout.width * scale)), max(1, round(cutout.height * scale)))
    return cutout.resize(size).rotate(degrees, resample=Image.Resampling.BILINEAR, expand=True)


def _laid(canvas: Image.Image, item: Image.Image, left: int, top: int, class_id: int) -> Box:
    """Paste an RGBA item onto the canvas at (left, top) and return its box.

    The box is the item's visible alpha after any turning, so it is exact.
    """
    canvas.paste(item, (left, top), item)
    x1, y1, x2, y2 = _alpha_bbox(item) or (0, 0, item.width, item.height)
    return Box(class_id, left + x1, top + y1, left + x2, top + y2)


def _paste(canvas: Image.Image, cutout: Image.Image, garment: str, rng: random.Random) -> Box:
    """Paste a scaled, slightly rotated cutout where its class plausibly is; return its box."""
    (cy_lo, cy_hi), (w_lo, w_hi) = _PLACEMENT[garment]
    width, height = canvas.size
    scale = rng.uniform(w_lo, w_hi) * width / cutout.width
    item = _scaled_turned(cutout, scale, rng.uniform(-15, 15))
    if rng.random() < 0.5:
        item = item.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    left = round(rng.uniform(0.05, 0.95) * width - item.width / 2)
    top = round(rng.uniform(cy_lo, cy_hi) * height - item.height / 2)
    return _laid(canvas, item, left, top, GARMENT_CLASSES.index(garment))


def _visible(box: Box, covers: Sequence[Box], min_visible: float = 0.5) -> bool:
    """Return whether a box is still mostly visible under any one of the boxes on top of it."""
    area = box_area(box.corners)
    covered = max((intersection_area(box.corners, cover.corners) for cover in covers),
                  default=0.0)
    return area > 0 and covered / area <= 1 - min_visible


def synthetic_generate(
    myntra_dir: Path,
    out_dir: Path,
    photos: Sequence[tuple[Path, list[Box]]],
    count: int,
    seed: int = 0,
) -> int:
    """Write `count` training photos with myntra products pasted onto labelled street photos."""
    rng = random.Random(seed)
    products = myntra_products(myntra_dir)
    for index in tqdm(range(count), desc="composites", unit="img"):
        photo_path, photo_boxes = rng.choice(photos)
        canvas = Image.open(photo_path).convert("RGB")
        pasted: list[Box] = []
        for garment in rng.choices(PASTED_CLASSES, k=rng.randint(1, 3)):
            cutout = product_cutout(rng.choice(products[GARMENT_CLASSES.index(garment)]))
            if cutout is not None:
                pasted.append(_paste(canvas, cutout, garment, rng))
        # A garment hidden under a pasted product must not stay labelled as visible.
        kept = [box for box in photo_boxes if _visible(box, pasted)]
        kept += [box for i, box in enumerate(pasted) if _visible(box, pasted[i + 1:])]
        labels = yolo_label_text(kept, *canvas.size)
        canvas.save(_write_sample(out_dir, TRAIN, f"syn_{seed}_{index:05d}", labels), quality=92)
    return count


def garment_pseudo_box(image: np.ndarray) -> tuple[float, float, float, float] | None:
    """Return the box (pixels) of the one garment a BGR photo shows, or None if not found.

    A shopper's photo of one garment (on a bed, a floor, a hanger) has it as its subject, so
    GrabCut, started from a rectangle just inside the border, separates it from what it lies
    on; the box is that of the largest foreground component.
    """
    height, width = image.shape[:2]
    scale = PSEUDO_BOX_SIDE / max(height, width)
    small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    small_height, small_width = small.shape[:2]
    margin_x = max(1, round(small_width * PSEUDO_BOX_MARGIN))
    margin_y = max(1, round(small_height * PSEUDO_BOX_MARGIN))
    rectangle = (margin_x, margin_y, small_width - 2 * margin_x, small_height - 2 * margin_y)
    if rectangle[2] < 2 or rectangle[3] < 2:
        return None
    mask = np.zeros((small_height, small_width), np.uint8)
    background_model, foreground_model = np.zeros((1, 65)), np.zeros((1, 65))
    # GrabCut starts its colour models from OpenCV's global random state: seeding it gives a
    # photo the same box whatever ran before, so a resumed export matches an unbroken one.
    cv2.setRNGSeed(0)
    cv2.grabCut(small, mask, rectangle, background_model, foreground_model, 4,
                cv2.GC_INIT_WITH_RECT)
    foreground = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(foreground)
    if count <= 1:
        return None
    x, y, box_width, box_height, area = stats[1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))]
    if area < PSEUDO_BOX_MIN_AREA * small_height * small_width:
        return None
    return x / scale, y / scale, (x + box_width) / scale, (y + box_height) / scale


def street_export(street_dir: Path, out_dir: Path) -> int:
    """Add the street photos' training split, each labelled with its garment's pseudo-box.

    The split is the embedder's (`is_street_test`), so no test query of either model is ever
    trained on. Photos already exported are skipped, so an interrupted build resumes.
    """
    # Imported here: detection at serving time imports this module (through
    # detector_training), and the embedder's training module takes seconds to import.
    from detection.embedder_training import read_street

    exported = 0
    for item in tqdm(read_street(street_dir, test=False), desc="street pseudo-boxes",
                     unit="img"):
        name = "street_" + item.path.stem
        if (out_dir / "labels" / TRAIN / f"{name}.txt").exists():
            exported += 1
            continue
        image = cv2.imread(str(item.path))
        box = garment_pseudo_box(image) if image is not None else None
        if box is None:
            continue
        labels = yolo_label_text([Box(GARMENT_CLASSES.index(item.garment_class), *box)],
                                 image.shape[1], image.shape[0])
        image_path = _write_sample(out_dir, TRAIN, name, labels)
        image_path.unlink(missing_ok=True)
        image_path.symlink_to(item.path.resolve())
        exported += 1
    return exported


def floor_photo(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:
    """Return a photo of the floor a garment lies on, or None if too little of it shows.

    The widest strip of `image` clear of the garment's `box` is mirrored out to the photo's
    full size, so the result has the floor's texture and light but no garment.
    """
    height, width = image.shape[:2]
    x1, y1, x2, y2 = box
    margin_x, margin_y = BACKGROUND_MARGIN * width, BACKGROUND_MARGIN * height
    strips = {  # (share of the photo, top, bottom, left, right)
        "left": ((x1 - margin_x) / width, 0, height, 0, round(x1 - margin_x)),
        "right": ((width - x2 - margin_x) / width, 0, height, round(x2 + margin_x), width),
        "above": ((y1 - margin_y) / height, 0, round(y1 - margin_y), 0, width),
        "below": ((height - y2 - margin_y) / height, round(y2 + margin_y), height, 0, width),
    }
    share, top, bottom, left, right = max(strips.values())
    if share < BACKGROUND_MIN_SHARE:
        return None
    strip = image[top:bottom, left:right]
    # The strip keeps its place in the frame; its mirror image fills where the garment was.
    pad_y = (height - strip.shape[0], 0) if top > 0 else (0, height - strip.shape[0])
    pad_x = (width - strip.shape[1], 0) if left > 0 else (0, width - strip.shape[1])
    return np.pad(strip, (pad_y, pad_x, (0, 0)), mode="symmetric")


def plain_photo(rng: np.random.Generator) -> np.ndarray:
    """Return a generated RGB photo of nothing: one colour, a gradient or a blurred texture."""
    width, height = PLAIN_SIZES[rng.integers(len(PLAIN_SIZES))]
    base = rng.uniform(0, 255, 3)
    kind = rng.integers(3)
    if kind == 0:
        pixels = np.broadcast_to(base, (height, width, 3))
    elif kind == 1:
        ramp = np.linspace(0, 1, height)[:, None, None]
        if rng.random() < 0.5:
            ramp = np.linspace(0, 1, width)[None, :, None]
        pixels = base + ramp * (rng.uniform(0, 255, 3) - base)
    else:
        texture = rng.normal(0, rng.uniform(10, 40), (height, width, 3))
        pixels = base + cv2.GaussianBlur(texture, (0, 0), rng.uniform(1, 6))
    # Sensor noise, as in any real photo of a blank wall.
    pixels = pixels + rng.normal(0, 2, (height, width, 3))
    return pixels.clip(0, 255).astype(np.uint8)


# Shoppers photograph a cap or a hat on its own, filling much of the frame; CCP's accessory
# boxes are mostly jewellery and straps, so the detector had never seen one (0% of held-out
# hat photos found as accessories). These myntra categories are shot alone on white.
HEADWEAR_CATEGORIES = ("Caps", "Hat")
HEADWEAR_SHARE = 0.7
OTHER_SINGLE_CATEGORIES = ("Sunglasses", "Watches", "Belts", "Ties", "Scarves", "Mufflers")


def myntra_category_photos(myntra_dir: Path, categories: Sequence[str]) -> list[Path]:
    """Return the photos of the myntra products in `categories`, in catalog order."""
    with open(myntra_dir / "catalog.csv", encoding="utf-8", newline="") as handle:
        return [myntra_dir / row["image"] for row in csv.DictReader(handle)
                if row["category"] in categories]


def single_accessories_generate(myntra_dir: Path, out_dir: Path, count: int,
                                seed: int = 0) -> int:
    """Write up to `count` photos of one large accessory (mostly caps and hats) lying on a
    background photo of the data set; return how many were written.

    Needs the photos of no garment (`backgrounds_export`) as the floors to lay them on.
    """
    backgrounds = sorted((out_dir / "images" / TRAIN).glob("background_*.jpg"))
    if not backgrounds:
        raise ValueError("single accessories are laid on the backgrounds: build with street "
                         "photos")
    headwear = myntra_category_photos(myntra_dir, HEADWEAR_CATEGORIES)
    others = myntra_category_photos(myntra_dir, OTHER_SINGLE_CATEGORIES)
    accessory = GARMENT_CLASSES.index("accessory")
    rng = random.Random(seed)
    written = 0
    for index in tqdm(range(count), desc="single accessories", unit="img"):
        photos = headwear if rng.random() < HEADWEAR_SHARE else others
        cutout = product_cutout(rng.choice(photos))
        if cutout is None:
            continue
        canvas = Image.open(rng.choice(backgrounds)).convert("RGB")
        width, height = canvas.size
        scale = rng.uniform(0.4, 0.85) * min(width, height) / max(cutout.size)
        item = _scaled_turned(cutout, scale, rng.uniform(-30, 30))
        left = round(rng.uniform(0.2, 0.8) * width - item.width / 2)
        top = round(rng.uniform(0.25, 0.75) * height - item.height / 2)
        left = min(max(left, 0), max(0, width - item.width))
        top = min(max(top, 0), max(0, height - item.height))
        labels = yolo_label_text([_laid(canvas, item, left, top, accessory)], width, height)
        canvas.save(_write_sample(out_dir, TRAIN, f"single_{seed}_{index:04d}", labels),
                    quality=92)
        written += 1
    return written


def backgrounds_export(out_dir: Path, seed: int = 0) -> int:
    """Add training photos of no garment (empty labels); return how many the data set has.

    Without them the street photos, whose garment fills most of the frame, teach the
    detector that any frame is a garment: it found a top in a blank white photo. The floors
    of street training photos (already exported) and generated plain photos fill the set.
    Photos already written are kept, so an interrupted build resumes.
    """
    labels_dir = out_dir / "labels" / TRAIN
    floors = 0
    for label in tqdm(sorted(labels_dir.glob("street_*.txt")), desc="backgrounds", unit="img"):
        if floors == STREET_BACKGROUNDS:
            break
        name = "background_" + label.stem
        if (labels_dir / f"{name}.txt").exists():
            floors += 1
            continue
        image = cv2.imread(str(out_dir / "images" / TRAIN / f"{label.stem}.jpg"))
        if image is None:  # the street photo was moved since it was linked
            continue
        height, width = image.shape[:2]
        _, cx, cy, box_width, box_height = map(float, label.read_text().split())
        box = ((cx - box_width / 2) * width, (cy - box_height / 2) * height,
               (cx + box_width / 2) * width, (cy + box_height / 2) * height)
        floor = floor_photo(image, box)
        if floor is not None:
            cv2.imwrite(str(_write_sample(out_dir, TRAIN, name, "")), floor)
            floors += 1
    for index in range(PLAIN_BACKGROUNDS):
        name = f"background_plain_{seed}_{index:04d}"
        if not (labels_dir / f"{name}.txt").exists():
            photo = plain_photo(np.random.default_rng([seed, index]))
            Image.fromarray(photo).save(_write_sample(out_dir, TRAIN, name, ""), quality=92)
    return floors + PLAIN_BACKGROUNDS


def dataset_yaml_write(out_dir: Path) -> Path:
    """Write the Ultralytics data set description and return its path."""
    names = "\n".join(f"  {index}: {name}" for index, name in enumerate(GARMENT_CLASSES))
    path = out_dir / "dataset.yaml"
    path.write_text(
        f"path: {out_dir.resolve()}\ntrain: images/{TRAIN}\nval: images/{VAL}\nnames:\n{names}\n",
        encoding="utf-8",
    )
    return path


def dataset_build(
    boxes_file: Path,
    out_dir: Path,
    myntra_dir: Path | None = None,
    synthetic: int = 0,
    seed: int = 0,
    street_dir: Path | None = None,
    single_accessories: int = 0,
) -> Path:
    """Build the whole YOLO data set (CCP split, composites, street) and return its YAML path.

    Street photos come with backgrounds (`backgrounds_export`), their counterweight, on
    which `single_accessories` photos of one large accessory are laid.
    """
    counts = ccp_export(boxes_file, out_dir)
    print(f"CCP: {counts[TRAIN]} train, {counts[VAL]} held-out photos")
    if synthetic and myntra_dir is not None:
        # Only training photos are pasted on, so no held-out pixel is ever trained on.
        photos = [
            (boxes_file.parent / record["image"], ccp_boxes(record))
            for record in ccp_records(boxes_file)
            if not is_holdout(record["image"])
        ]
        synthetic_generate(myntra_dir, out_dir, photos, synthetic, seed)
    if street_dir is not None:
        print(f"street: {street_export(street_dir, out_dir)} training photos")
        print(f"backgrounds: {backgrounds_export(out_dir, seed)} training photos")
    if single_accessories and myntra_dir is not None:
        written = single_accessories_generate(myntra_dir, out_dir, single_accessories, seed)
        print(f"single accessories: {written} training photos")
    return dataset_yaml_write(out_dir)
