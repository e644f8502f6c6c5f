"""WSGI entry point for Gunicorn (`web` in the Procfile)."""

from service import create_app

app = create_app()
