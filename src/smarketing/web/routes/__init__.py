"""URL maps of the larger page areas, included into the `web` namespace by `web/urls.py`."""
