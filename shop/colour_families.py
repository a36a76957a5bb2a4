"""Group a catalog's colour names ("Navy Blue", "Dark Blue", "Light Beige") into the eleven
colour families a shopper names a garment by ("blue", "brown").

Used to measure whether search results have the colour of a shopper's photo
(`search.look_evaluation`); names outside every family (multi-coloured, metallic,
transparent, turquoise between blue and green) have none.
"""

COLOUR_FAMILIES: dict[str, tuple[str, ...]] = {
    "black": ("black",),
    "white": ("white", "off white", "cream"),
    "grey": ("grey", "dark grey", "light grey", "charcoal", "grey melange", "steel", "silver"),
    "blue": ("blue", "navy blue", "dark blue", "light blue", "other blue"),
    "red": ("red", "dark red", "maroon", "burgundy", "light red", "other red"),
    "pink": ("pink", "light pink", "dark pink", "other pink", "magenta", "peach"),
    "brown": ("brown", "beige", "light beige", "dark beige", "yellowish brown", "tan", "khaki",
              "coffee brown", "taupe", "greyish beige", "nude", "skin"),
    "green": ("green", "dark green", "light green", "olive", "greenish khaki", "sea green",
              "fluorescent green", "other green"),
    "yellow": ("yellow", "light yellow", "dark yellow", "mustard", "other yellow", "gold"),
    "purple": ("purple", "light purple", "dark purple", "lavender", "other purple", "mauve"),
    "orange": ("orange", "light orange", "dark orange", "other orange", "rust", "copper",
               "bronze/copper", "bronze"),
}
_FAMILY_OF = {name: family for family, names in COLOUR_FAMILIES.items() for name in names}


def colour_family(colour: str) -> str | None:
    """Return the family of a catalog colour name (any case), or None."""
    return _FAMILY_OF.get(" ".join(colour.lower().split()))
