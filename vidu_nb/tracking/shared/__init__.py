"""A shared video store: one place (a shared folder or an S3-compatible bucket, through
fsspec) that every kernel of a team uploads its downloaded videos to once and reads them from,
so a video is fetched from the service once per team, not once per machine, and outlives the
service's 24 h URLs. The local cache stays the working copy: everything here is a second home
for its files, and being offline costs nothing but a delayed upload.

``store.py`` (``VideoStore``: configuration, names, put/get/sign, credentials kept out of every
text) and ``pending.py`` (``Uploads``: the background uploader and the files it still owes the
store, remembered in the cache folder).
"""

from __future__ import annotations

from .pending import Uploads, uploads_for
from .store import MAX_EXPIRES, STORE_ENV, STORE_OPTIONS_ENV, StoreError, VideoStore

__all__ = [
    "MAX_EXPIRES",
    "STORE_ENV",
    "STORE_OPTIONS_ENV",
    "StoreError",
    "Uploads",
    "VideoStore",
    "uploads_for",
]
