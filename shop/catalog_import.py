"""Import a catalog CSV: validate every row, upsert products by sku, store their images.

Rows are checked one by one and a bad row is reported with its line number and skipped,
so one broken image never blocks a catalog. Good rows are written in batches, each batch
in one transaction with a single upsert, so an interrupted import leaves whole products
only and a re-run picks up where it stopped: unchanged rows are recognised by their
values and image hash and cost one file read each.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from tqdm import tqdm

from shop.images import ImageRejected, content_sha256, image_decode, thumbnail_jpeg
from shop.models import Product
from shop.services import category_classes_ensure

REQUIRED_FIELDS = ("sku", "title", "image")
OPTIONAL_FIELDS = ("description", "category", "group", "colour", "price", "stock")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
# Product columns an import writes; compared to decide whether a row changed anything.
DATA_FIELDS = ("title", "description", "category", "group", "colour", "garment_class", "price",
               "stock", "attributes")
STORED_FIELDS = (*DATA_FIELDS, "image", "image_sha256", "image_width", "image_height", "thumbnail")

_UNDECODABLE = re.compile("[\udc80-\udcff]")


class CatalogFileError(Exception):
    """The file as a whole cannot be imported (unreadable, no header, missing columns)."""


@dataclass(frozen=True)
class RowError:
    """Why one row of the file was skipped."""

    line: int
    sku: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" (sku {self.sku})" if self.sku else "")
        return f"{where}: {self.message}"


@dataclass
class ImportReport:
    """What an import did, row by row counts and every error."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.errors)


@dataclass
class _Row:
    line: int
    sku: str
    values: dict
    image_path: Path


class _RowInvalid(Exception):
    pass


def column_mapping_parse(pairs: Iterable[str]) -> dict[str, str]:
    """Parse FIELD=COLUMN pairs naming the file's column for each product field."""
    mapping = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not column:
            raise ValueError(f"expected FIELD=COLUMN, got {pair!r}")
        if name not in FIELDS:
            raise ValueError(f"unknown field {name!r}; fields are {', '.join(FIELDS)}")
        mapping[name] = column
    return mapping


def catalog_import(
    *,
    path: Path,
    limit: int | None = None,
    columns: dict[str, str] | None = None,
    encoding: str = "utf-8-sig",
    batch_size: int = 500,
    progress: bool = False,
) -> ImportReport:
    """Import the catalog CSV at `path`, creating or updating one product per valid row."""
    path = Path(path)
    records = _records(path, encoding)
    header = _header(records, path)
    field_columns, extra_columns = _columns_resolve(header, columns or {})
    total = _data_row_count(path, encoding)
    if limit is not None:
        total = min(total, limit)

    report = ImportReport()
    seen_lines: dict[str, int] = {}
    batch: list[_Row] = []
    bar = tqdm(total=total, unit="row", desc="import", disable=not progress, dynamic_ncols=True)
    try:
        for line, cells in records:
            if limit is not None and report.rows >= limit:
                break
            if cells == []:
                continue  # blank line
            report.rows += 1
            try:
                row = _row_parse(line, cells, header, field_columns, extra_columns, path.parent)
                first_line = seen_lines.setdefault(row.sku, line)
                if first_line != line:
                    raise _RowInvalid(f"duplicate sku, first seen on line {first_line}")
                batch.append(row)
            except _RowInvalid as exc:
                report.errors.append(RowError(line, _sku_of(cells, field_columns), str(exc)))
                bar.update(1)
            if len(batch) >= batch_size:
                _batch_save(batch, report, bar)
                batch = []
        if batch:
            _batch_save(batch, report, bar)
    finally:
        bar.close()
    return report


def _records(path: Path, encoding: str) -> Iterator[tuple[int, list[str] | csv.Error]]:
    """Yield (first line number, cells) per CSV record; a malformed record yields its error."""
    try:
        handle = open(path, encoding=encoding, errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as exc:
        raise CatalogFileError(f"cannot open {path}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        start = 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                cells = exc
            yield start, cells
            start = reader.line_num + 1


def _data_row_count(path: Path, encoding: str) -> int:
    with open(path, encoding=encoding, errors="surrogateescape", newline="") as handle:
        count = 0
        reader = csv.reader(handle)
        while True:
            try:
                count += next(reader) != []
            except StopIteration:
                return max(count - 1, 0)
            except csv.Error:
                count += 1


def _header(records: Iterator, path: Path) -> list[str]:
    for _, cells in records:
        if isinstance(cells, csv.Error):
            raise CatalogFileError(f"the header row of {path} is malformed: {cells}")
        if cells:
            if any(_UNDECODABLE.search(cell) for cell in cells):
                raise CatalogFileError("the header row is not valid text (see --encoding)")
            # Extra column names become JSON keys, which PostgreSQL cannot store with a NUL.
            if any("\x00" in cell for cell in cells):
                raise CatalogFileError("the header row contains a NUL byte")
            return [cell.strip() for cell in cells]
    raise CatalogFileError(
        f"{path} is empty: expected a header row with {', '.join(REQUIRED_FIELDS)}"
    )


def _columns_resolve(
    header: list[str], columns: dict[str, str]
) -> tuple[dict[str, int], dict[str, int]]:
    """Find each product field's column index; the other columns become attributes."""
    positions = {name.casefold(): index for index, name in reversed(list(enumerate(header)))}
    field_columns = {}
    for name in FIELDS:
        index = positions.get(columns.get(name, name).casefold())
        if index is not None:
            field_columns[name] = index
        elif name in columns:
            raise CatalogFileError(
                f"column {columns[name]!r} (mapped to {name}) is not in the header"
            )
    missing = [name for name in REQUIRED_FIELDS if name not in field_columns]
    if missing:
        raise CatalogFileError(
            f"missing required column(s): {', '.join(missing)} "
            f"(the header has: {', '.join(header)}; map others with --column FIELD=COLUMN)"
        )
    used = set(field_columns.values())
    extra_columns = {name: index for index, name in enumerate(header) if index not in used and name}
    return field_columns, extra_columns


def _row_parse(line, cells, header, field_columns, extra_columns, base_dir: Path) -> _Row:
    if isinstance(cells, csv.Error):
        raise _RowInvalid(f"malformed CSV: {cells}")
    if len(cells) != len(header):
        raise _RowInvalid(f"has {len(cells)} fields, the header has {len(header)}")
    for cell in cells:
        if _UNDECODABLE.search(cell):
            raise _RowInvalid("contains bytes that are not valid text in the file's encoding "
                              "(see --encoding)")
        if "\x00" in cell:
            raise _RowInvalid("contains a NUL byte")
    raw = {name: cells[index].strip() for name, index in field_columns.items()}
    for name in REQUIRED_FIELDS:
        if not raw[name]:
            raise _RowInvalid(f"missing {name}")
    values = {name: raw.get(name, "") for name in ("title", "description", "category", "group",
                                                  "colour")}
    values["price"] = _price_parse(raw.get("price", ""))
    values["stock"] = _stock_parse(raw.get("stock", ""))
    values["attributes"] = {name: cells[index] for name, index in extra_columns.items()
                            if cells[index] != ""}
    for name in ("sku", *tuple(values)):
        max_length = getattr(Product._meta.get_field(name), "max_length", None)
        value = raw["sku"] if name == "sku" else values[name]
        if max_length and isinstance(value, str) and len(value) > max_length:
            raise _RowInvalid(f"{name} is longer than {max_length} characters")
    image_path = Path(raw["image"])
    return _Row(line=line, sku=raw["sku"], values=values,
                image_path=image_path if image_path.is_absolute() else base_dir / image_path)


def _price_parse(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise _RowInvalid(f"price {text!r} is not a number") from None
    # Bounded before quantize, which cannot represent huge values ("1e30") in 2 decimals.
    if not price.is_finite() or price < 0 or price >= Decimal(10) ** 10 \
            or price != price.quantize(Decimal("0.01")):
        raise _RowInvalid(f"price {text!r} is not an amount with at most 2 decimals")
    return price


def _stock_parse(text: str) -> int | None:
    if not text:
        return None
    # isdigit() alone admits digits int() refuses ("²") and lengths it refuses to parse.
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > 2**31 - 1:
        raise _RowInvalid(f"stock {text!r} is not a whole number of items")
    return int(text)


def _batch_save(rows: list[_Row], report: ImportReport, bar: tqdm) -> None:
    """Validate the batch's images and upsert its new and changed products in one transaction."""
    existing = Product.objects.in_bulk([row.sku for row in rows], field_name="sku")
    classes = category_classes_ensure(
        groups_by_category={row.values["category"]: row.values["group"]
                            for row in rows if row.values["category"]}
    )
    to_save = []
    for row in rows:
        try:
            product = _product_build(row, classes, existing.get(row.sku))
        except _RowInvalid as exc:
            report.errors.append(RowError(row.line, row.sku, str(exc)))
        else:
            if product is None:
                report.unchanged += 1
            else:
                to_save.append(product)
                if row.sku in existing:
                    report.updated += 1
                else:
                    report.created += 1
        bar.update(1)
    if to_save:
        with transaction.atomic():
            Product.objects.bulk_create(
                to_save,
                update_conflicts=True,
                unique_fields=["sku"],
                update_fields=[*list(STORED_FIELDS), "updated_at"],
            )
    bar.set_postfix(created=report.created, updated=report.updated,
                    unchanged=report.unchanged, failed=report.failed, refresh=False)


def _product_build(row: _Row, classes: dict[str, str], current: Product | None) -> Product | None:
    """Return the product to store for a row, or None when the stored one is already equal."""
    try:
        data = row.image_path.read_bytes()
    except FileNotFoundError:
        raise _RowInvalid(f"image not found: {row.image_path}") from None
    except OSError as exc:
        raise _RowInvalid(f"cannot read image {row.image_path}: {exc.strerror}") from None
    values = dict(row.values, garment_class=classes.get(row.values["category"], ""))
    if (
        current is not None
        and all(getattr(current, name) == values[name] for name in DATA_FIELDS)
        and content_sha256(data) == current.image_sha256
    ):
        return None
    try:
        decoded = image_decode(data)
    except ImageRejected as exc:
        raise _RowInvalid(f"image {row.image_path.name}: {exc}") from None
    stem = f"{decoded.sha256[:2]}/{decoded.sha256}"
    image_name = _store(f"products/{stem}{decoded.extension}", lambda: data)
    thumb = thumbnail_jpeg(decoded.image, size=settings.THUMBNAIL_SIZE)
    thumb_name = _store(f"thumbnails/{stem}.jpg", lambda: thumb) if thumb else ""
    values.update(image_sha256=decoded.sha256, image=image_name, thumbnail=thumb_name,
                  image_width=decoded.image.width, image_height=decoded.image.height)
    return Product(sku=row.sku, **values)


def _store(name: str, content) -> str:
    # Content-addressed names: an existing file already holds exactly these bytes.
    if default_storage.exists(name):
        return name
    return default_storage.save(name, ContentFile(content()))


def _sku_of(cells, field_columns: dict[str, int]) -> str:
    index = field_columns["sku"]
    if isinstance(cells, list) and index < len(cells):
        return _UNDECODABLE.sub("\ufffd", cells[index].strip())
    return ""
