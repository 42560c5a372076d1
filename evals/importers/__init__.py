"""Importers that turn public incident datasets into recorded-incident bundles (format v1)."""
