"""Request validation and response shapes of the search API."""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from search.filters import ProductFilters
from shop.garment_classes import GarmentClass

MAX_K = 50


@extend_schema_field({"type": "string", "pattern": r"^\d{1,10}(\.\d{1,2})?$",
                      "example": "49.90"})
class PriceField(serializers.DecimalField):
    """A non-negative amount with at most 2 decimals, documented as exactly what it accepts."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=2, min_value=0, **kwargs)


class FiltersSerializer(serializers.Serializer):
    """The filters every search accepts."""

    garment_class = serializers.ChoiceField(choices=GarmentClass.choices, required=False,
                                            source="class_", help_text="garment class")
    category = serializers.CharField(required=False, max_length=100)
    colour = serializers.CharField(required=False, max_length=64)
    price_min = PriceField(required=False)
    price_max = PriceField(required=False, help_text="not below price_min")
    in_stock = serializers.BooleanField(required=False, allow_null=True, default=None)

    def get_fields(self):
        fields = super().get_fields()
        # "class" is the public name but a Python keyword.
        fields["class"] = fields.pop("garment_class")
        return fields

    def validate(self, attrs):
        low, high = attrs.get("price_min"), attrs.get("price_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"price_max": "must not be below price_min"})
        return attrs

    def filters(self) -> ProductFilters:
        data = self.validated_data
        return ProductFilters(
            garment_class=data.get("class_"), category=data.get("category"),
            colour=data.get("colour"), price_min=data.get("price_min"),
            price_max=data.get("price_max"), in_stock=data.get("in_stock"),
        )


class KSerializer(FiltersSerializer):
    k = serializers.IntegerField(required=False, default=10, min_value=1, max_value=MAX_K)


class TextSearchSerializer(FiltersSerializer):
    q = serializers.CharField(max_length=200, trim_whitespace=True,
                              help_text="words to search for, e.g. 'red linen shirt'")
    page = serializers.IntegerField(required=False, default=1, min_value=1, max_value=1000)
    page_size = serializers.IntegerField(required=False, default=20, min_value=1,
                                         max_value=100)


class TextSearchResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    request_id = serializers.UUIDField(allow_null=True,
                                       help_text="quote it in events about this page")
    results = serializers.ListField(child=serializers.DictField())


class EventSerializer(serializers.Serializer):
    event_id = serializers.UUIDField(help_text="made by the client; a retry reuses it")
    kind = serializers.ChoiceField(choices=["click", "add_to_cart"])
    request_id = serializers.UUIDField(help_text="the impression the product was shown in")
    sku = serializers.CharField(max_length=64)
    position = serializers.IntegerField(min_value=0, max_value=1000)


class EventBatchSerializer(serializers.Serializer):
    # A ListField documents its length limits (minItems, maxItems); many=True does not.
    events = serializers.ListField(child=EventSerializer(), min_length=1, max_length=100)


class EventRejectionSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="position of the event in the batch")
    reason = serializers.CharField()


class EventsReportSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text="events seen before, counted once")
    rejected = EventRejectionSerializer(many=True)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields_ = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                    required=False, help_text="messages per request field")

    def get_fields(self):
        fields = super().get_fields()
        # "fields" is the public name but a Serializer attribute.
        fields["fields"] = fields.pop("fields_")
        return fields


class ErrorSerializer(serializers.Serializer):
    """The one shape of every API error (see frontend/api_errors.py)."""

    error = ErrorDetailSerializer()


class LookSearchSerializer(KSerializer):
    image = serializers.FileField(
        help_text=f"outfit photo (JPEG, PNG, WebP, GIF, BMP or TIFF), at most "
        f"{settings.UPLOAD_MAX_BYTES // 2**20} MB and {settings.MAX_IMAGE_PIXELS:,} pixels")
    box = serializers.CharField(required=False, help_text="x1,y1,x2,y2 in pixels: search only "
                                "this part of the photo")

    def validate_image(self, upload):
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise serializers.ValidationError(
                f"the file is {upload.size:,} bytes; the limit is {settings.UPLOAD_MAX_BYTES:,}")
        return upload

    def validate_box(self, text: str) -> tuple[float, float, float, float]:
        try:
            values = tuple(float(part) for part in text.split(","))
        except ValueError:
            values = ()
        if len(values) != 4 or not all(v == v and abs(v) < 1e6 for v in values):
            raise serializers.ValidationError("expected four numbers: x1,y1,x2,y2")
        if values[2] <= values[0] or values[3] <= values[1]:
            raise serializers.ValidationError("x2 must exceed x1 and y2 must exceed y1")
        return values


class ProductHitSerializer(serializers.Serializer):
    sku = serializers.CharField()
    title = serializers.CharField()
    score = serializers.FloatField(help_text="similarity, 1 = identical")
    image_url = serializers.CharField()


class LookRegionSerializer(serializers.Serializer):
    class_ = serializers.CharField(
        allow_null=True,
        help_text="garment class the region was searched in: the detector's, unless the "
        "catalog's nearest products clearly agree on another; null: every class",
    )
    request_id = serializers.UUIDField(allow_null=True)
    box = serializers.ListField(child=serializers.FloatField(), min_length=4, max_length=4)
    score = serializers.FloatField(
        help_text="the detector's confidence; 1 for a whole photo or a box with no garment found"
    )
    results = ProductHitSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["class"] = fields.pop("class_")
        return fields


class LookSearchResponseSerializer(serializers.Serializer):
    regions = LookRegionSerializer(many=True)
