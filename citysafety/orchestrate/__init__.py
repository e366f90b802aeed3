"""How the platform runs: Airflow Assets (`assets`), cosmos settings (`cosmos_settings`), the
Airflow environment and one-shot pipeline (`runner`), the commands (`cli`, `python -m
citysafety.orchestrate`)."""
