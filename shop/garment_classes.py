"""Map a shop's own product categories to the seven coarse garment classes the detector knows.

The default table covers every category of the two sample catalogs (myntra and H&M); it
only seeds `CategoryMapping` rows the first time a category is imported. From then on the
mapping is data that staff edit in the admin, and an edit re-labels the products at once.
Categories never seen before are guessed from keywords in the category, then in the group.
A category that is not a garment or accessory a shopper wears (underwear, swimwear,
cosmetics, sets, ...) maps to no class: such products are in the catalog and found by text
search, but shop-the-look never suggests them for a detected region.
"""

import re

from django.db import models


class GarmentClass(models.TextChoices):
    """The detector's classes, in the detector's order."""

    TOP = "top", "Top"
    OUTERWEAR = "outerwear", "Outerwear"
    BOTTOM = "bottom", "Bottom"
    DRESS = "dress", "Dress"
    FOOTWEAR = "footwear", "Footwear"
    BAG = "bag", "Bag"
    ACCESSORY = "accessory", "Accessory"


NO_CLASS = ""

_DEFAULT_CATEGORIES: dict[str, tuple[str, ...]] = {
    GarmentClass.TOP: (
        "Tshirts", "Shirts", "Tops", "Kurtas", "Kurtis", "Tunics", "Sweaters", "Sweatshirts",
        "Waistcoat", "T-shirt", "Top", "Blouse", "Shirt", "Sweater", "Hoodie", "Vest top",
        "Bodysuit", "Polo shirt", "Tailored Waistcoat",
    ),
    GarmentClass.OUTERWEAR: (
        "Jackets", "Shrug", "Blazers", "Jacket", "Cardigan", "Blazer", "Coat",
        "Outdoor Waistcoat", "Outdoor overall",
    ),
    GarmentClass.BOTTOM: (
        "Trousers", "Jeans", "Shorts", "Track Pants", "Capris", "Skirts", "Leggings",
        "Churidar", "Lounge Pants", "Lounge Shorts", "Tights", "Skirt", "Leggings/Tights",
        "Outdoor trousers", "Dungarees", "Sarong",
    ),
    GarmentClass.DRESS: ("Dresses", "Sarees", "Dress", "Jumpsuit/Playsuit"),
    GarmentClass.FOOTWEAR: (
        "Casual Shoes", "Sports Shoes", "Formal Shoes", "Heels", "Sandals", "Sports Sandals",
        "Flip Flops", "Flats", "Boots", "Sneakers", "Heeled sandals", "Ballerinas", "Flat shoe",
        "Flat shoes", "Wedge", "Pumps", "Other shoe", "Slippers", "Flip flop", "Bootie",
    ),
    GarmentClass.BAG: (
        "Handbags", "Wallets", "Backpacks", "Clutches", "Laptop Bag", "Duffel Bag",
        "Messenger Bag", "Mobile Pouch", "Waist Pouch", "Rucksacks", "Bag", "Wallet",
        "Cross-body bag", "Backpack", "Weekend/Gym bag", "Tote bag", "Shoulder bag",
    ),
    GarmentClass.ACCESSORY: (
        "Watches", "Sunglasses", "Belts", "Caps", "Ties", "Mufflers", "Scarves", "Stoles",
        "Dupatta", "Cufflinks", "Gloves", "Hat", "Headband", "Necklace and Chains", "Bracelet",
        "Accessory Gift Set", "Earring", "Earrings", "Necklace", "Belt", "Ring", "Scarf",
        "Hat/beanie", "Hat/brim", "Felt hat", "Straw hat", "Cap/peaked", "Beanie",
        "Hair/alice band", "Alice band", "Hairband", "Hair clip", "Hair string", "Hair ties",
        "Other accessories", "Accessories set", "Watch", "Tie", "Braces", "Eyeglasses",
        "Mobile case",
    ),
    NO_CLASS: (
        # Worn under or instead of clothes, not garments a street photo shows.
        "Socks", "Briefs", "Trunk", "Boxers", "Bra", "Innerwear Vests", "Stockings",
        "Underwear bottom", "Underwear Tights", "Underwear body", "Underwear set",
        "Kids Underwear top", "Long John", "Nipple covers", "Bra extender", "Underdress",
        "Bikini top", "Swimwear bottom", "Swimsuit", "Swimwear set",
        "Pyjama set", "Pyjama bottom", "Pyjama jumpsuit/playsuit", "Night gown", "Robe",
        # Sets span several classes; their parts are matched through the other classes.
        "Kurta Sets", "Tracksuits", "Garment Set", "Costumes",
        # Not clothing.
        "Perfume and Body Mist", "Deodorant", "Fragrance Gift Set", "Fine cosmetics",
        "Free Gifts", "Footballs", "Umbrellas", "Umbrella", "Travel Accessory", "Dog wear",
        "Baby Bib", "Wood balls", "Marker pen", "Waterbottle", "Wireless earphone case",
        "Unknown",
    ),
}

DEFAULT_CATEGORY_CLASSES: dict[str, str] = {
    category.casefold(): str(garment_class)
    for garment_class, categories in _DEFAULT_CATEGORIES.items()
    for category in categories
}

# Checked in order, so that "laptop bag" is a bag before "top" could match it and
# underwear words win over the garment words they contain ("bra top").
_KEYWORD_CLASSES: tuple[tuple[str, str], ...] = (
    (NO_CLASS, r"underwear|lingerie|bra|briefs?|boxers?|socks?|swim\w*|bikini|pyjamas?|"
               r"night\w*|perfume|deodorant|cosmetics?|fragrance"),
    (GarmentClass.BAG, r"bags?|handbags?|wallets?|purses?|backpacks?|rucksacks?|clutch(es)?|"
                       r"totes?"),
    (GarmentClass.FOOTWEAR, r"shoes?|footwear|sneakers?|trainers?|boots?|booties|sandals?|"
                            r"heels?|loafers?|pumps?|flats|slippers?|clogs?|wedges?|mules?"),
    (GarmentClass.DRESS, r"dress(es)?|gowns?|jumpsuits?|playsuits?|rompers?|sarees?|full body"),
    (GarmentClass.OUTERWEAR, r"jackets?|coats?|blazers?|cardigans?|parkas?|anoraks?|capes?|"
                             r"outerwear|gilets?"),
    (GarmentClass.BOTTOM, r"trousers?|jeans|pants|shorts|skirts?|leggings|joggers|chinos|"
                          r"lower body|bottomwear"),
    (GarmentClass.TOP, r"t-?shirts?|tees?|shirts?|tops?|blouses?|sweaters?|sweatshirts?|"
                       r"hoodies?|jumpers?|pullovers?|tunics?|upper body|topwear"),
    (GarmentClass.ACCESSORY, r"accessor(y|ies)|watch(es)?|sunglasses|glasses|belts?|hats?|"
                             r"caps?|beanies?|scarf|scarves|ties?|gloves?|jewell?ery|"
                             r"earrings?|necklaces?|bracelets?|rings?"),
)
_KEYWORD_PATTERNS = tuple(
    (garment_class, re.compile(rf"\b({pattern})\b", re.IGNORECASE))
    for garment_class, pattern in _KEYWORD_CLASSES
)


def garment_class_default(category: str, group: str = "") -> str:
    """Return the default garment class for a shop category ("" for none)."""
    known = DEFAULT_CATEGORY_CLASSES.get(category.strip().casefold())
    if known is not None:
        return known
    for text in (category, group):
        for garment_class, pattern in _KEYWORD_PATTERNS:
            if pattern.search(text):
                return str(garment_class)
    return NO_CLASS
