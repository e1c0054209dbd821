"""Pure stage functions over polars frames and DuckDB relations: no Prefect, no file writing."""
