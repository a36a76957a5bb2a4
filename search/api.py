"""Search API views: parse the request, call one service, render its result."""

from dataclasses import asdict

from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from frontend.api_errors import error_response
from frontend.db_router import replica_reads
from frontend.throttling import SharedRateThrottle
from search.experiments import events_record
from search.look import BoxInvalid
from search.models import Experiment
from search.query_photos import query_photo_keep
from search.serializers import (
    ErrorSerializer,
    EventBatchSerializer,
    EventsReportSerializer,
    KSerializer,
    LookSearchResponseSerializer,
    LookSearchSerializer,
    ProductHitSerializer,
    TextSearchResponseSerializer,
    TextSearchSerializer,
)
from search.serving import Visitor, look_serve, similar_serve, text_serve
from search.similar import ProductNotIndexed
from search.statistics import experiment_results
from shop.images import ImageRejected, shopper_photo_decode
from shop.models import Product

ERROR = ErrorSerializer
REQUEST_ID_HEADER = "X-Request-ID"


def visitor_of(request) -> Visitor:
    """Describe the requesting visitor for experiment assignment."""
    return Visitor(id=request.visitor_id, is_staff=request.user.is_staff,
                   user_agent=request.META.get("HTTP_USER_AGENT", ""))


class LookSearchView(APIView):
    """Shop the look: upload an outfit photo, get the closest products for each garment."""

    # An upload needs multipart; other bodies get a 415 rather than "image is not a file".
    parser_classes = [MultiPartParser]
    throttle_classes = [SharedRateThrottle]
    throttle_scope = "look"

    @extend_schema(request=LookSearchSerializer, responses={200: LookSearchResponseSerializer,
                                                            400: ERROR, 415: ERROR})
    @replica_reads()
    def post(self, request):
        params = LookSearchSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            image = shopper_photo_decode(params.validated_data["image"].read())
        except ImageRejected as exc:
            raise ValidationError({"image": [str(exc)]}) from None
        try:
            regions = look_serve(image=image, k=params.validated_data["k"],
                                 filters=params.filters(), box=params.validated_data.get("box"),
                                 visitor=visitor_of(request))
        except BoxInvalid as exc:
            raise ValidationError({"box": [str(exc)]}) from None
        query_photo_keep(image=image, impression_ids=[request_id for _, request_id in regions])
        return Response({"regions": [region.as_dict() | {"request_id": request_id}
                                     for region, request_id in regions]})


class SimilarProductsView(APIView):
    """Visually similar products for a product page (request id in the X-Request-ID header)."""

    throttle_classes = [SharedRateThrottle]
    throttle_scope = "search"

    @extend_schema(parameters=[KSerializer, OpenApiParameter(
                       "sku", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=r"^[^/]+$")],
                   responses={200: ProductHitSerializer(many=True), 400: ERROR, 404: ERROR})
    @replica_reads()
    def get(self, request, sku: str):
        params = KSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise NotFound(f"no product with sku {sku!r}")
        try:
            result, request_id = similar_serve(product=product, k=params.validated_data["k"],
                                               filters=params.filters(),
                                               visitor=visitor_of(request))
        except ProductNotIndexed as exc:
            raise NotFound(str(exc), code="not_indexed") from None
        response = Response([hit.as_dict() for hit in result.hits])
        if request_id:
            response[REQUEST_ID_HEADER] = str(request_id)
        return response


class TextSearchView(APIView):
    """Text search over titles, categories, colours and descriptions."""

    throttle_classes = [SharedRateThrottle]
    throttle_scope = "search"

    @extend_schema(parameters=[TextSearchSerializer],
                   responses={200: TextSearchResponseSerializer, 400: ERROR})
    @replica_reads()
    def get(self, request):
        params = TextSearchSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        page = text_serve(query=data["q"], filters=params.filters(), visitor=visitor_of(request),
                          page=data["page"], page_size=data["page_size"])
        return Response({"count": page.total, "page": data["page"],
                         "request_id": page.request_id,
                         "results": [hit.as_dict() for hit in page.hits]})


class EventsView(APIView):
    """Clicks and add-to-carts on shown products, in batches; retried events count once."""

    parser_classes = [JSONParser]
    throttle_classes = [SharedRateThrottle]
    throttle_scope = "events"
    # Sent by navigator.sendBeacon from any page: no session, so no CSRF token either.
    authentication_classes: list = []

    @extend_schema(request=EventBatchSerializer,
                   responses={200: EventsReportSerializer, 400: ERROR, 415: ERROR})
    def post(self, request):
        params = EventBatchSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        report = events_record(visitor_id=request.visitor_id,
                               events=params.validated_data["events"])
        return Response({"accepted": report.accepted, "duplicates": report.duplicates,
                         "rejected": [{"index": index, "reason": reason}
                                      for index, reason in report.rejected]})


class ExperimentResultsView(APIView):
    """Per-variant statistics of an experiment (staff only)."""

    permission_classes = [IsAdminUser]

    @extend_schema(parameters=[OpenApiParameter("key", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                pattern=r"^[-a-zA-Z0-9_]+$")],
                   responses={200: OpenApiTypes.OBJECT, 403: ERROR, 404: ERROR})
    def get(self, request, key: str):
        experiment = Experiment.objects.prefetch_related("variants").filter(key=key).first()
        if experiment is None:
            raise NotFound(f"no experiment {key!r}")
        return Response(asdict(experiment_results(experiment)))


def api_not_found(request) -> JsonResponse:
    """Answer an unknown API path in the API's error shape, not Django's HTML page."""
    return error_response("not_found", f"no API endpoint at {request.path}", 404)
