"""Streamlit dashboards of the city-safety platform (entry point: ``streamlit run dashboards/app.py``)."""
