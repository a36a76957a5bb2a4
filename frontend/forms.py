"""The catalog page's search and filter form."""

from django import forms

from search.filters import ProductFilters
from shop.garment_classes import GarmentClass


class CatalogFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search",
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": "Search products"}))
    garment_class = forms.ChoiceField(required=False, label="Type",
                                      choices=[("", "All types"), *GarmentClass.choices])
    category = forms.ChoiceField(required=False, choices=[])
    colour = forms.ChoiceField(required=False, choices=[])
    price_min = forms.DecimalField(required=False, min_value=0, decimal_places=2,
                                   label="Min price")
    price_max = forms.DecimalField(required=False, min_value=0, decimal_places=2,
                                   label="Max price")

    def __init__(self, *args, categories: list[str], colours: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "All categories")] + [(c, c) for c in categories]
        self.fields["colour"].choices = [("", "All colours")] + [(c, c) for c in colours]

    def filters(self) -> ProductFilters:
        data = self.cleaned_data
        return ProductFilters(garment_class=data.get("garment_class") or None,
                              category=data.get("category") or None,
                              colour=data.get("colour") or None,
                              price_min=data.get("price_min"), price_max=data.get("price_max"))
