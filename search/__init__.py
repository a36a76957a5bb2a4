"""Indexing, retrieval, ranking and experiments over product images."""
