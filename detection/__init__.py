"""Garment detection and visual embedding: the only package that imports torch and ultralytics."""
