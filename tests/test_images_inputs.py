"""Start images as they come from phones, editors and other tools, checked and sent right."""

from __future__ import annotations

import base64
import io
import os

import numpy as np
import pytest
from conftest import make_image
from PIL import Image

from vidu_nb import Img2VideoRequest
from vidu_nb.client import ViduClient
from vidu_nb.errors import ImageError
from vidu_nb.request.images import fit_image, load_image
from vidu_nb.simulator import Simulator

RED, BLUE = (230, 20, 20), (20, 20, 230)


@pytest.fixture(scope="module")
def sim():
    with Simulator(host="127.0.0.1", speed=40.0, video_height=64, seed=5) as server:
        yield server


def _sideways_phone_photo() -> bytes:
    """A portrait photo as phones store it: landscape pixels plus "rotate 90 CW" (6) in EXIF.

    Stored 300x100 with a red left third; shown upright it is 100x300 with a red top third.
    """
    im = Image.new("RGB", (300, 100), BLUE)
    im.paste(RED, (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    im.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


def _sent_pixels(body: dict) -> Image.Image:
    """The start frame as a decoder that ignores EXIF (many servers) sees it."""
    data = base64.b64decode(body["images"][0].split(",", 1)[1])
    im = Image.open(io.BytesIO(data))
    im.load()
    return im.convert("RGB")


def _is_red(pixel) -> bool:
    return pixel[0] > 180 and pixel[2] < 80


def test_phone_photo_is_checked_and_sent_upright(sim, tmp_path):
    path = tmp_path / "IMG_0001.JPG"
    path.write_bytes(_sideways_phone_photo())
    request = Img2VideoRequest(image=path)
    assert (request.start_image.width, request.start_image.height) == (100, 300)
    sent = _sent_pixels(request.to_body())
    assert sent.size == (100, 300)
    assert _is_red(sent.getpixel((50, 20))) and not _is_red(sent.getpixel((50, 280)))
    with ViduClient.for_simulator(sim, timeout=(2, 5)) as client:
        assert client.submit(request).wait(timeout=30).state == "success"


def test_phone_photo_opened_with_pillow_is_sent_upright():
    with Image.open(io.BytesIO(_sideways_phone_photo())) as im:
        request = Img2VideoRequest(image=im)
    sent = _sent_pixels(request.to_body())
    assert sent.size == (100, 300) and _is_red(sent.getpixel((50, 20)))


def _grey16(width: int, height: int) -> Image.Image:
    """A mid-grey 16-bit greyscale image (values around 32768 of 65535), with some noise."""
    rng = np.random.default_rng(1)
    values = rng.integers(30000, 35000, size=(height, width), dtype=np.uint16)
    return Image.fromarray(values)


def test_16_bit_greyscale_is_not_sent_white():
    im = _grey16(200, 150)
    out = io.BytesIO()
    im.save(out, "PNG")
    img = load_image(out.getvalue())
    fitted, note = fit_image(img, img.encoded_length() - 1)  # forces a re-encode
    assert note is not None
    with Image.open(io.BytesIO(fitted.data or b"")) as sent:
        assert 100 < np.asarray(sent.convert("L")).mean() < 160  # mid grey, not 255
    with Image.open(io.BytesIO(img.thumbnail() or b"")) as thumb:
        assert np.asarray(thumb.convert("L")).mean() < 160
    from_pil = load_image(im)  # a PIL image in mode I;16
    with Image.open(io.BytesIO(from_pil.data or b"")) as sent:
        assert 100 < np.asarray(sent.convert("L")).mean() < 160


def test_wide_transparent_image_is_fitted_despite_webp_size_limit():
    im = Image.new("RGBA", (16400, 4100), (10, 200, 10, 128))
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=1)
    img = load_image(out.getvalue())
    fitted, note = fit_image(img, img.encoded_length() - 1)
    assert fitted.format == "webp" and max(fitted.width or 0, fitted.height or 0) <= 16383
    assert note is not None and "downscaled from 16400x4100" in note


def test_paths_with_home_and_folders(tmp_path, monkeypatch):
    (tmp_path / "frame.png").write_bytes(make_image())
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load_image("~/frame.png").width == 320
    assert load_image(" ~/frame.png\n").width == 320  # pasted with spaces
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)
    with pytest.raises(ImageError, match="folder"):
        load_image(str(tmp_path))


def test_urls_are_sent_in_a_form_servers_fetch():
    body = Img2VideoRequest(image="HTTPS://Example.com/my photos/a b.png?x=1 2").to_body()
    assert body["images"] == ["https://Example.com/my%20photos/a%20b.png?x=1%202"]
    kept = "https://example.com/a%20b.png?sig=a%2Bb&x=y"
    assert load_image(kept).url == kept  # already escaped: untouched
    with pytest.raises(ImageError, match="host"):
        load_image("https:///a.png")


def test_data_uris_as_other_tools_write_them(sim):
    jpeg = make_image(fmt="JPEG")
    while len(jpeg) % 3 == 0:  # so that the base64 text ends in "=" padding to leave out
        jpeg += b"\0"  # bytes after the JPEG end marker are ignored by decoders
    b64 = base64.b64encode(jpeg).decode()
    wrapped = "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    urlsafe = base64.urlsafe_b64encode(jpeg).decode()
    variants = [
        "DATA:IMAGE/JPEG;BASE64," + b64,
        "data:image/jpg;base64," + b64.rstrip("="),
        "data:image/jpeg;base64," + wrapped,
        "data:image/jpeg;name=frame.jpg;base64," + b64,
        "data:image/png;base64," + b64,  # declared png, really jpeg
        "data:image/jpeg;base64," + urlsafe,
    ]
    assert b64.endswith("=")
    for uri in variants:
        img = load_image(uri)
        assert img.data == jpeg and img.format == "jpeg", uri[:40]
    request = Img2VideoRequest(image=variants[4])
    assert request.to_body()["images"][0].startswith("data:image/jpeg;base64,")
    with ViduClient.for_simulator(sim, timeout=(2, 5)) as client:
        assert client.submit(request).wait(timeout=30).state == "success"
    with pytest.raises(ImageError, match="base64"):
        load_image("data:image/jpeg;base64,@@@@")


def test_directory_named_like_an_image(tmp_path):
    folder = tmp_path / "frame.png"
    os.mkdir(folder)
    with pytest.raises(ImageError):
        Img2VideoRequest(image=folder)


@pytest.mark.parametrize("size", [(4000, 1000), (1000, 4000)])
def test_downscaled_image_at_the_ratio_limit_stays_within_it(size):
    """Rounding both sides can step over 4:1 (4000x1000 -> 1090x272 is 4.007)."""
    img = load_image(make_image(*size))
    for budget in (8000, 5000):
        fitted, note = fit_image(img, budget)
        assert note is not None and "downscaled" in note
        sent = load_image(fitted.to_data_uri())  # the same check the service makes
        assert (sent.width, sent.height) == (fitted.width, fitted.height)
