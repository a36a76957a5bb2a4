"""The shop's catalog: products, their garment classes and catalog import."""
