"""How the platform runs: Airflow Assets (`assets`), cosmos settings (`cosmos_settings`), the
Airflow environment and one-shot pipeline (`runner`), which queue each task goes to (`queues`),
the celery profile's settings and components (`distributed`), the commands (`cli`,
`python -m citysafety.orchestrate`)."""
