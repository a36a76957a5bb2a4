"""The web site: settings, URLs and the pages shoppers and staff see."""
