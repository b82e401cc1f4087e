"""Delivery: a dataset handed to a model team with the record of what it is.

* `staging`: directory outputs staged beside their target and renamed into place; safe
  file names from item keys.
* `splits`: `--split subset` or a seeded ratio, stable per item key.
* `manifest`: `manifest.json` (SHA-256 of every file) and `verify`.
* `datasheet`: `datasheet.md` (counts per class and split, annotators, sources, losses, QA).
* `bundle`: `export_bundle`, what `bridge export` runs.

Submodules are imported where used: importing `bridge.export` costs nothing.
"""
