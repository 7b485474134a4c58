"""Shared fixtures: real image files made with Pillow, in a temporary folder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image


def make_image(width: int = 320, height: int = 240, fmt: str = "PNG", color=(200, 80, 40)) -> bytes:
    im = Image.new("RGB", (width, height), color)
    # A gradient so encoders and pan/zoom have something to show.
    px = im.load()
    for x in range(0, width, max(1, width // 32)):
        for y in range(0, height, max(1, height // 32)):
            px[x, y] = (x * 255 // width, y * 255 // height, 128)
    out = io.BytesIO()
    im.save(out, fmt)
    return out.getvalue()


@pytest.fixture
def png_bytes() -> bytes:
    return make_image()


@pytest.fixture
def png_path(tmp_path: Path, png_bytes: bytes) -> Path:
    path = tmp_path / "frame.png"
    path.write_bytes(png_bytes)
    return path
