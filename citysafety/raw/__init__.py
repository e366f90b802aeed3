"""The raw layer: delivered (and pulled) files from landing/ into the raw store, row by row
loaded or quarantined. `store` (folders, ledger, reconciliation), `readers` and `parsing` (one
reader per form, one parser per kind), `rows` (row loads), `columnar` (Parquet loads), `ingest`
(the dispatcher over both)."""
