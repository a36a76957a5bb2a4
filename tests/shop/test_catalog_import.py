"""Catalog import: every kind of bad row is reported and skipped, good rows always land."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from shop.catalog_import import CatalogFileError, catalog_import, column_mapping_parse
from shop.models import CategoryMapping, Product
from tests.factories import catalog_row, catalog_write, image_bytes

pytestmark = pytest.mark.django_db


def test_import_creates_products_with_images_and_classes(tmp_path):
    rows = [catalog_row(1), catalog_row(2, category="Casual Shoes", group="Footwear")]
    report = catalog_import(path=catalog_write(tmp_path, rows))

    assert (report.rows, report.created, report.failed) == (2, 2, 0)
    shirt, shoe = Product.objects.order_by("sku")
    assert (shirt.sku, shirt.title, shirt.garment_class) == ("SKU-00001", "Cotton shirt 1", "top")
    assert shoe.garment_class == "footwear"
    assert shirt.image.read() == (tmp_path / "images/1.jpg").read_bytes()
    assert (shirt.image_width, shirt.image_height) == (32, 48)
    assert shirt.image.name.startswith(f"products/{shirt.image_sha256[:2]}/")


def test_reimport_changes_nothing_then_updates_only_changed_rows(tmp_path):
    rows = [catalog_row(index) for index in range(5)]
    path = catalog_write(tmp_path, rows)
    catalog_import(path=path)
    before = {p.sku: p.updated_at for p in Product.objects.all()}

    again = catalog_import(path=path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert {p.sku: p.updated_at for p in Product.objects.all()} == before

    rows[1]["title"] = "Linen shirt"
    (tmp_path / "images/3.jpg").write_bytes(image_bytes(colour=(0, 0, 255)))
    catalog_write(tmp_path, rows)
    changed = catalog_import(path=path)

    assert (changed.created, changed.updated, changed.unchanged) == (0, 2, 3)
    assert Product.objects.count() == 5
    assert Product.objects.get(sku="SKU-00001").title == "Linen shirt"
    blue = Product.objects.get(sku="SKU-00003")
    assert blue.image.read() == image_bytes(colour=(0, 0, 255))


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_land(tmp_path):
    rows = [
        catalog_row(1),
        catalog_row(2, sku=""),
        catalog_row(3, image="images/missing.jpg"),
        catalog_row(4, image="images/not-an-image.jpg"),
        catalog_row(1, title="Duplicate of line 2"),
        catalog_row(6, title=""),
        catalog_row(7),
    ]
    catalog_write(tmp_path, rows, images=False)
    for index in (1, 2, 6, 7):
        (tmp_path / f"images/{index}.jpg").write_bytes(image_bytes())
    (tmp_path / "images/not-an-image.jpg").write_bytes(b"%PDF-1.4 definitely not a photo")

    report = catalog_import(path=tmp_path / "catalog.csv")

    messages = {error.line: error.message for error in report.errors}
    assert messages[3] == "missing sku"
    assert messages[4].startswith("image not found:")
    assert "not a recognised image" in messages[5]
    assert messages[6] == "duplicate sku, first seen on line 2"
    assert messages[7] == "missing title"
    assert sorted(messages) == [3, 4, 5, 6, 7]
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["SKU-00001", "SKU-00007"]
    assert Product.objects.get(sku="SKU-00001").title == "Cotton shirt 1"


def test_truncated_image_is_rejected(tmp_path):
    path = catalog_write(tmp_path, [catalog_row(1)])
    full = image_bytes(size=(300, 300))
    (tmp_path / "images/1.jpg").write_bytes(full[: len(full) // 2])

    report = catalog_import(path=path)

    assert report.failed == 1
    assert "damaged or truncated" in report.errors[0].message
    assert not Product.objects.exists()


def test_heic_catalog_photos_are_refused_because_browsers_cannot_show_them(tmp_path):
    """Shoppers may upload HEIC (tests/search/test_look_search.py); a catalog photo is
    served to every browser, and most cannot show HEIC."""
    from PIL import Image

    from shop.images import PHOTO_FORMATS, image_decode
    from tests.search.catalog import heic

    path = catalog_write(tmp_path, [catalog_row(1)], images=False)
    photo = heic(Image.new("RGB", (120, 160), (200, 30, 30)))
    (tmp_path / "images/1.jpg").write_bytes(photo)

    report = catalog_import(path=path)

    assert report.failed == 1
    assert "not a recognised image" in report.errors[0].message
    assert "HEIF" not in report.errors[0].message
    decoded = image_decode(photo, formats=PHOTO_FORMATS)  # the same bytes, as a shopper's
    assert (decoded.format, decoded.image.size) == ("HEIF", (120, 160))


def test_decompression_bomb_is_rejected_before_decoding(tmp_path, settings):
    settings.MAX_IMAGE_PIXELS = 10_000
    path = catalog_write(tmp_path, [catalog_row(1)], images=False)
    (tmp_path / "images/1.jpg").write_bytes(image_bytes(size=(200, 200)))

    report = catalog_import(path=path)

    assert "more than the limit of 10,000" in report.errors[0].message


def test_non_utf8_row_is_skipped_and_others_land(tmp_path):
    path = catalog_write(tmp_path, [catalog_row(1), catalog_row(2)])
    text = path.read_bytes().replace(b"Cotton shirt 2", b"Cr\xe8me shirt")
    path.write_bytes(text)

    report = catalog_import(path=path)

    assert [(e.line, e.sku) for e in report.errors] == [(3, "SKU-00002")]
    assert "not valid text" in report.errors[0].message
    assert list(Product.objects.values_list("sku", flat=True)) == ["SKU-00001"]


def test_other_encodings_import_when_named(tmp_path):
    path = catalog_write(tmp_path, [catalog_row(1, title="Crème shirt")])
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))

    report = catalog_import(path=path, encoding="latin-1")

    assert report.failed == 0
    assert Product.objects.get().title == "Crème shirt"


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = catalog_write(tmp_path, [catalog_row(1)])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())

    assert catalog_import(path=path).created == 1


def test_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(b"")

    with pytest.raises(CatalogFileError, match="is empty"):
        catalog_import(path=path)


def test_header_only_file_imports_nothing(tmp_path):
    path = catalog_write(tmp_path, [])

    report = catalog_import(path=path)

    assert (report.rows, report.failed) == (0, 0)


def test_missing_required_columns_are_named(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text("sku,name\nA-1,Shirt\n")

    with pytest.raises(CatalogFileError, match=r"missing required column\(s\): title, image"):
        catalog_import(path=path)
    assert not Product.objects.exists()


def test_column_mapping_reads_differently_shaped_catalogs(tmp_path):
    rows = [{"article_id": "X-1", "name": "Wool coat", "type": "Coat", "photo": "images/1.jpg",
             "cost": "89.90", "qty": "3", "season": "winter"}]
    path = catalog_write(tmp_path, rows, image_column="photo")
    columns = column_mapping_parse(["sku=article_id", "title=name", "category=type",
                                    "image=photo", "price=cost", "stock=qty"])

    report = catalog_import(path=path, columns=columns)

    assert report.created == 1
    coat = Product.objects.get()
    assert (coat.sku, coat.title, coat.category, coat.garment_class) == (
        "X-1", "Wool coat", "Coat", "outerwear")
    assert (coat.price, coat.stock) == (Decimal("89.90"), 3)
    assert coat.attributes == {"season": "winter"}


def test_column_mapping_rejects_unknown_fields():
    with pytest.raises(ValueError, match="unknown field 'colour_code'"):
        column_mapping_parse(["colour_code=c"])


def test_bad_price_stock_and_field_counts_are_row_errors(tmp_path):
    header = ["sku", "title", "image", "price", "stock"]
    rows = [
        {"sku": "A", "title": "Ok", "image": "images/0.jpg", "price": "12.5", "stock": "4"},
        {"sku": "B", "title": "Bad price", "image": "images/1.jpg", "price": "cheap", "stock": ""},
        {"sku": "C", "title": "Negative", "image": "images/2.jpg", "price": "-1", "stock": ""},
        {"sku": "D", "title": "Bad stock", "image": "images/3.jpg", "price": "", "stock": "2.5"},
    ]
    path = catalog_write(tmp_path, rows, header=header)
    with open(path, "a") as handle:
        handle.write("E,Too,many,fields,here,now\n")

    report = catalog_import(path=path)

    assert [e.line for e in report.errors] == [3, 4, 5, 6]
    assert "has 6 fields, the header has 5" in report.errors[-1].message
    assert Product.objects.get().price == Decimal("12.5")


def test_absolute_image_paths_are_accepted(tmp_path):
    absolute = tmp_path / "elsewhere.png"
    absolute.write_bytes(image_bytes(format="PNG"))
    path = catalog_write(tmp_path, [catalog_row(1, image=str(absolute))])

    catalog_import(path=path)

    assert Product.objects.get().image.name.endswith(".png")


def test_large_images_get_a_thumbnail(tmp_path, settings):
    settings.THUMBNAIL_SIZE = 100
    path = catalog_write(tmp_path, [catalog_row(1), catalog_row(2)], images=False)
    (tmp_path / "images/1.jpg").write_bytes(image_bytes(size=(400, 600)))
    (tmp_path / "images/2.jpg").write_bytes(image_bytes(size=(80, 80)))

    catalog_import(path=path)

    large, small = Product.objects.order_by("sku")
    assert large.thumbnail.name
    assert large.thumbnail_url != large.image.url
    assert max(__import__("PIL.Image").Image.open(large.thumbnail).size) == 100
    assert not small.thumbnail
    assert small.thumbnail_url == small.image.url


def test_new_categories_get_editable_default_mappings(tmp_path):
    rows = [catalog_row(1, category="Ankle Boots", group="Shoes"),
            catalog_row(2, category="Gift card", group="Other")]
    catalog_import(path=catalog_write(tmp_path, rows))

    mappings = dict(CategoryMapping.objects.values_list("category", "garment_class"))
    assert mappings == {"Ankle Boots": "footwear", "Gift card": ""}


def test_staff_edited_mapping_wins_over_the_default(tmp_path):
    CategoryMapping.objects.create(category="Shirts", garment_class="outerwear")

    catalog_import(path=catalog_write(tmp_path, [catalog_row(1)]))

    assert Product.objects.get().garment_class == "outerwear"


def test_limit_imports_only_the_first_rows(tmp_path):
    path = catalog_write(tmp_path, [catalog_row(index) for index in range(10)])

    report = catalog_import(path=path, limit=3)

    assert report.rows == 3
    assert sorted(Product.objects.values_list("sku", flat=True)) == [
        "SKU-00000", "SKU-00001", "SKU-00002"]


def test_thousand_row_import_in_batches(tmp_path):
    path = catalog_write(tmp_path, [catalog_row(index) for index in range(1000)])

    report = catalog_import(path=path, batch_size=128)

    assert (report.created, report.failed) == (1000, 0)
    assert Product.objects.count() == 1000
    assert len({p.image_sha256 for p in Product.objects.all()}) == 1000


def test_command_exit_status_reports_failed_rows(tmp_path, capsys):
    path = catalog_write(tmp_path, [catalog_row(1), catalog_row(2, sku="")])

    with pytest.raises(CommandError, match="1 of 2 rows were skipped"):
        call_command("import_catalog", str(path), verbosity=0)

    captured = capsys.readouterr()
    assert "line 3: missing sku" in captured.err
    assert "2 rows: 1 created, 0 updated, 0 unchanged, 1 failed" in captured.out


def test_command_succeeds_when_every_row_lands(tmp_path, capsys):
    path = catalog_write(tmp_path, [catalog_row(1)])

    call_command("import_catalog", str(path), verbosity=0)

    assert "1 rows: 1 created" in capsys.readouterr().out


def test_command_reports_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="cannot open"):
        call_command("import_catalog", str(tmp_path / "nope.csv"), verbosity=0)


@pytest.mark.parametrize(("price", "stock"), [("1e30", ""), ("1E+12", ""), ("", "²"),
                                              ("", "9" * 5000), ("", "٣")])
def test_out_of_range_price_and_odd_digits_are_row_errors_not_crashes(tmp_path, price, stock):
    # Found by tests/shop/test_catalog_import_properties.py: these raised out of the import.
    header = ["sku", "title", "image", "price", "stock"]
    rows = [{"sku": "A", "title": "Ok", "image": "images/0.jpg", "price": "1", "stock": "1"},
            {"sku": "B", "title": "Odd", "image": "images/1.jpg", "price": price,
             "stock": stock}]

    report = catalog_import(path=catalog_write(tmp_path, rows, header=header))

    assert (report.created, report.failed) == (1, 1)
    assert report.errors[0].line == 3
    assert "price" in report.errors[0].message or "stock" in report.errors[0].message


def test_header_with_a_nul_byte_is_a_file_error(tmp_path):
    # Found by the property tests: the column name reached a PostgreSQL JSON key and the
    # whole batch failed with a database error.
    rows = [catalog_row(1) | {"size\x00": "M"}]
    with pytest.raises(CatalogFileError, match="NUL"):
        catalog_import(path=catalog_write(tmp_path, rows))
    assert not Product.objects.exists()
