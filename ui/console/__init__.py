"""The Streamlit console: `investigator console` starts it (launch.py), app.py is the page."""
