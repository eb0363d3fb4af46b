"""The web UI: a Starlette server (`app.py`) over JSON payloads (`api.py`), and the
bundled single-page front end in `static/` (built from `frontend/` by `make ui`)."""
