"""Dashboard pages. Each page is a script run by ``st.navigation`` (see ``dashboards/app.py``)."""
