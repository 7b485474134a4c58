"""Start-frame input: every accepted source, every rejected one, and fitting under 20 MB."""

from __future__ import annotations

import base64
import io
import json
import os

import pytest
from conftest import make_image
from PIL import Image

from vidu_nb import ImageError, Img2VideoRequest, load_image
from vidu_nb.request.images import MAX_BODY_BYTES, fit_image, sniff_format
from vidu_nb.request.spec import ImageFittedWarning


@pytest.mark.parametrize("fmt,name", [("PNG", "png"), ("JPEG", "jpeg"), ("WEBP", "webp")])
def test_formats_sniffed_from_bytes_not_names(tmp_path, fmt, name):
    path = tmp_path / "misnamed.gif"  # the extension lies; the bytes decide
    path.write_bytes(make_image(fmt=fmt))
    img = load_image(path)
    assert img.format == name
    assert (img.width, img.height) == (320, 240)
    assert img.to_data_uri().startswith(f"data:image/{name};base64,")


def test_every_source_kind(tmp_path, png_bytes, png_path):
    from_path = load_image(str(png_path))
    assert load_image(png_path).sha256 == from_path.sha256
    assert load_image(png_bytes).sha256 == from_path.sha256
    assert load_image(bytearray(png_bytes)).format == "png"
    uri = "data:image/png;base64," + base64.b64encode(png_bytes).decode()
    assert load_image(uri).sha256 == from_path.sha256
    pil = load_image(Image.new("RGB", (100, 50), "blue"))
    assert (pil.width, pil.height) == (100, 50)
    remote = load_image("https://example.org/frame.png")
    assert remote.is_remote and remote.to_data_uri() == "https://example.org/frame.png"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (make_image(fmt="GIF"), "GIF"),
        (make_image(fmt="BMP"), "BMP"),
        (b"", "empty"),
        (b"hello world, not an image", "not a recognised image"),
    ],
)
def test_unsupported_formats_are_named(data, message):
    with pytest.raises(ImageError) as exc:
        load_image(data)
    assert exc.value.field == "image"
    assert message in str(exc.value)
    assert "png, jpeg, webp" in str(exc.value)


@pytest.mark.parametrize("size", [(1000, 249), (249, 1000)])
def test_aspect_ratio_outside_limits(size):
    with pytest.raises(ImageError, match="1:4 to 4:1"):
        load_image(make_image(*size))


@pytest.mark.parametrize("size", [(1000, 250), (250, 1000)])
def test_aspect_ratio_at_limits(size):
    assert load_image(make_image(*size)).width == size[0]


def test_truncated_and_corrupt_files():
    good = make_image(fmt="JPEG")
    with pytest.raises(ImageError, match="corrupt or truncated jpeg"):
        load_image(good[: len(good) // 2])
    png = make_image()
    with pytest.raises(ImageError, match="corrupt or truncated png"):
        load_image(png[:40])
    with pytest.raises(ImageError, match="base64"):
        load_image("data:image/png;base64,@@@not base64@@@")


def test_missing_file_names_path(tmp_path):
    with pytest.raises(ImageError, match="cannot read file"):
        load_image(tmp_path / "nope.png")


def test_over_50_mb_rejected_before_reading(tmp_path):
    path = tmp_path / "huge.png"
    with open(path, "wb") as fh:
        fh.write(make_image())
        fh.truncate(50 * 1024 * 1024 + 1)
    with pytest.raises(ImageError, match="50 MB"):
        load_image(path)


def test_unsupported_source_type():
    with pytest.raises(ImageError, match="file path, bytes"):
        load_image(12345)


def _noisy_png(width: int, height: int) -> bytes:
    """Random pixels: PNG cannot compress them, so the file is about 3 bytes per pixel."""
    im = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=0)
    return out.getvalue()


def test_body_over_20_mb_is_fitted_and_reported():
    data = _noisy_png(3000, 2000)  # ~18 MB raw -> ~24 MB in base64
    assert len(data) * 4 / 3 > MAX_BODY_BYTES
    request = Img2VideoRequest(image=data, prompt="noise")
    with pytest.warns(ImageFittedWarning, match="20 MB"):
        body = request.to_body()
    encoded = json.dumps(body).encode()
    assert len(encoded) <= MAX_BODY_BYTES
    fitted = load_image(body["images"][0])  # still a valid image of the same shape
    assert abs(fitted.width / fitted.height - 1.5) < 0.01
    assert fitted.width >= 1000  # shrunk only as much as needed, not to a thumbnail


def test_fit_reports_downscale_when_reencoding_is_not_enough():
    img = load_image(make_image(800, 600))
    fitted, note = fit_image(img, 3000)
    assert fitted.encoded_length() <= 3000
    assert fitted.width < 800 and "downscaled from 800x600" in note


def test_small_images_untouched():
    img = load_image(make_image())
    fitted, note = fit_image(img, MAX_BODY_BYTES)
    assert fitted is img and note is None


def test_sniff_format_table():
    assert sniff_format(b"\x89PNG\r\n\x1a\nxxxx") == "png"
    assert sniff_format(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff_format(b"GIF89a") is None
