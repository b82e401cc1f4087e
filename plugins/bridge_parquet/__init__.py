"""Parquet for label-bridge: one row per region, for DuckDB, Spark and pandas."""
