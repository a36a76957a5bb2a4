"""Search API views: parse the request, call one service, render its result."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from search.look import BoxInvalid, look_search
from search.results import hits_from_scores
from search.serializers import (
    KSerializer,
    LookSearchResponseSerializer,
    LookSearchSerializer,
    ProductHitSerializer,
    TextSearchSerializer,
)
from search.similar import ProductNotIndexed, similar_products
from search.text_search import text_search
from shop.images import ImageRejected, image_decode, image_upright
from shop.models import Product

ERROR = OpenApiResponse(description='{"error": {"code", "message", "fields"}}')


class LookSearchView(APIView):
    """Shop the look: upload an outfit photo, get the closest products for each garment."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=LookSearchSerializer, responses={200: LookSearchResponseSerializer,
                                                            400: ERROR})
    def post(self, request):
        params = LookSearchSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        try:
            image = image_upright(image_decode(params.validated_data["image"].read()).image)
        except ImageRejected as exc:
            raise ValidationError({"image": [str(exc)]}) from None
        try:
            regions = look_search(image, k=params.validated_data["k"], filters=params.filters(),
                                  box=params.validated_data.get("box"))
        except BoxInvalid as exc:
            raise ValidationError({"box": [str(exc)]}) from None
        return Response({"regions": [region.as_dict() for region in regions]})


class SimilarProductsView(APIView):
    """Visually similar products for a product page."""

    @extend_schema(parameters=[KSerializer],
                   responses={200: ProductHitSerializer(many=True), 400: ERROR, 404: ERROR})
    def get(self, request, sku: str):
        params = KSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        product = Product.objects.filter(sku=sku).first()
        if product is None:
            raise NotFound(f"no product with sku {sku!r}")
        try:
            hits = similar_products(product=product, k=params.validated_data["k"],
                                    filters=params.filters())
        except ProductNotIndexed as exc:
            raise NotFound(str(exc), code="not_indexed") from None
        return Response([hit.as_dict() for hit in hits])




class ResultsPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


class TextSearchView(APIView):
    """Text search over titles, categories, colours and descriptions."""

    pagination_class = ResultsPagination

    @extend_schema(parameters=[TextSearchSerializer],
                   responses={200: ProductHitSerializer(many=True), 400: ERROR})
    def get(self, request):
        params = TextSearchSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        ranked = text_search(query=params.validated_data["q"], filters=params.filters())
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(ranked, request, view=self)
        return paginator.get_paginated_response([hit.as_dict()
                                                 for hit in hits_from_scores(page)])
