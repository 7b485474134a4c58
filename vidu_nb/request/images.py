"""The start frame: read from a path, bytes, PIL image, URL or data URI, checked and fitted.

Local images are checked before any network call: the real format is sniffed from the bytes
(a ``.png`` name on a JPEG file is fine; a GIF is not), the aspect ratio must lie within 1:4 and
4:1 and the file must be at most 50 MB. When the base64 image would push the JSON body over the
20 MB limit it is re-encoded, then downscaled, just enough to fit, and the change is reported.
A photo whose EXIF orientation says "rotate" (portrait phone photos) is checked and sent upright:
its pixels are turned once, so every decoder on the service side sees what the user saw.
URLs are sent with their scheme lower-cased and spaces percent-encoded; the service fetches and
checks them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import quote, urlsplit, urlunsplit

from ..errors import ImageError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_BODY_BYTES = 20 * 1024 * 1024
MIN_RATIO = 1 / 4
MAX_RATIO = 4.0
FORMATS = ("png", "jpeg", "webp")

ImageSource = Union[str, bytes, bytearray, "os.PathLike[str]", "StartImage", Any]

# RFC 2397: case-insensitive names, optional parameters (``;name=x.png``); the real format is
# sniffed from the bytes, so the declared type (``image/jpg``, a wrong one) only has to be there.
_DATA_URI = re.compile(
    r"^data:(?P<type>[a-z0-9.+-]+/[a-z0-9.+-]+)?(?:;[^;,]*=[^;,]*)*;base64,(?P<data>.*)$",
    re.S | re.I,
)
_SCHEME = re.compile(r"^(?P<scheme>[a-z][a-z0-9+.-]*):", re.I)
_ORIENTATION = 0x0112  # the EXIF tag
_WEBP_MAX_SIDE = 16383


def sniff_format(data: bytes) -> str | None:
    """The image format from its magic bytes, or ``None`` for anything not accepted."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _describe_unknown(data: bytes) -> str:
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:2] == b"BM":
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if not data:
        return "empty data"
    return "not a recognised image"


@dataclass(frozen=True)
class StartImage:
    """A checked start frame: either a remote ``url`` or local ``data`` with its facts."""

    source: str
    url: str | None = None
    data: bytes | None = field(default=None, repr=False)
    format: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def is_remote(self) -> bool:
        return self.url is not None

    @property
    def size_bytes(self) -> int:
        return len(self.data) if self.data is not None else 0

    @property
    def sha256(self) -> str:
        payload = self.data if self.data is not None else (self.url or "").encode()
        return hashlib.sha256(payload).hexdigest()

    @property
    def aspect_ratio(self) -> float | None:
        if self.width and self.height:
            return self.width / self.height
        return None

    def to_data_uri(self) -> str:
        if self.url is not None:
            return self.url
        assert self.data is not None and self.format is not None
        return f"data:image/{self.format};base64," + base64.b64encode(self.data).decode("ascii")

    def encoded_length(self) -> int:
        """Characters this image takes in the JSON body."""
        if self.url is not None:
            return len(self.url)
        return len(f"data:image/{self.format};base64,") + 4 * ((self.size_bytes + 2) // 3)

    def thumbnail(self, max_side: int = 160) -> bytes | None:
        """A small JPEG of the frame (for logs and previews); ``None`` for remote images."""
        if self.data is None:
            return None
        from PIL import Image

        with Image.open(io.BytesIO(self.data)) as im:
            rgb = _to_8bit(im).convert("RGB")
            rgb.thumbnail((max_side, max_side))
            out = io.BytesIO()
            rgb.save(out, "JPEG", quality=80)
            return out.getvalue()


def load_image(source: ImageSource, *, field_name: str = "image") -> StartImage:
    """Read and check a start frame from any accepted source; raises ``ImageError``."""
    if isinstance(source, StartImage):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return from_bytes(bytes(source), "bytes", field_name)
    if isinstance(source, os.PathLike):
        return from_path(os.fspath(source), field_name)
    if isinstance(source, str):
        text = source.strip()
        match = _SCHEME.match(text)
        scheme = match["scheme"].lower() if match else ""
        if scheme in ("http", "https"):
            return from_url(text, field_name)
        if scheme == "data":
            return from_data_uri(text, field_name)
        return from_path(text, field_name)
    if _is_pil_image(source):
        return from_pil(source, field_name)
    raise ImageError(
        field_name,
        type(source).__name__,
        "must be a file path, bytes, a PIL image, an http(s) URL or a data: URI",
    )


def from_url(url: str, field_name: str = "image") -> StartImage:
    """A remote start frame: scheme lower-cased, a host required, unsafe characters escaped."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        raise ImageError(field_name, url, f"is not a valid URL ({exc})") from None
    if not host:
        raise ImageError(field_name, url, "an image URL needs a host, as in https://host/a.png")
    safe = "!#$%&'()*+,/:;=?@[]~"  # existing %-escapes and reserved characters stay as they are
    text = urlunsplit(
        (
            parts.scheme.lower(),
            parts.netloc,
            quote(parts.path, safe=safe),
            quote(parts.query, safe=safe),
            quote(parts.fragment, safe=safe),
        )
    )
    return StartImage(source=text, url=text)


def from_path(path: str, field_name: str = "image") -> StartImage:
    path = os.path.expanduser(path)
    if os.path.isdir(path):
        raise ImageError(field_name, path, "is a folder; give the path of an image file")
    try:
        size = os.path.getsize(path)
        if size > MAX_IMAGE_BYTES:
            raise ImageError(field_name, path, f"file is {size:,} bytes; the limit is 50 MB")
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ImageError(field_name, path, f"cannot read file: {exc.strerror or exc}") from None
    return from_bytes(data, os.path.basename(path), field_name)


def from_data_uri(uri: str, field_name: str = "image") -> StartImage:
    match = _DATA_URI.match(uri)
    if not match:
        raise ImageError(field_name, uri, "a data URI must look like data:image/<fmt>;base64,...")
    # Tolerated as encoders write them: line breaks (MIME wraps at 76), missing "=" padding,
    # the URL-safe alphabet.
    text = re.sub(r"\s+", "", match["data"]).replace("-", "+").replace("_", "/")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(field_name, uri, "the data URI is not valid base64") from None
    return from_bytes(data, "data URI", field_name)


def from_pil(image: PILImage, field_name: str = "image") -> StartImage:
    from PIL import ImageOps

    im = _to_8bit(ImageOps.exif_transpose(image))  # upright, as a viewer shows the photo
    if im.mode in ("RGBA", "LA", "P", "1", "L"):
        fmt = "PNG"
    elif _has_alpha(im):  # PA, RGBa, La
        fmt, im = "PNG", im.convert("RGBA")
    else:
        fmt, im = "JPEG", im.convert("RGB")
    out = io.BytesIO()
    im.save(out, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return from_bytes(out.getvalue(), "PIL image", field_name)


def _has_alpha(im: Any) -> bool:
    return any(band in ("A", "a") for band in im.getbands()) or "transparency" in im.info


def _to_8bit(im: Any) -> Any:
    """16-bit and float greyscale as 8-bit ``L``, scaled: a plain ``convert`` clips them white."""
    if im.mode == "F":
        high = im.getextrema()[1]
        return (im.point(lambda v: v * 255) if high <= 1.0 else im).convert("L")
    if im.mode.startswith("I"):
        im = im.convert("I") if im.mode != "I" else im
        if im.getextrema()[1] > 255:
            im = im.point(lambda v: v / 256)
        return im.convert("L")
    return im


def _upright(im: Any, data: bytes, fmt: str) -> tuple[Any, bytes]:
    """Pixels turned as the EXIF orientation says, re-encoded without the tag."""
    from PIL import ImageOps

    turned = ImageOps.exif_transpose(im)
    out = io.BytesIO()
    options: dict[str, Any] = {"quality": 95}
    if im.info.get("icc_profile"):
        options["icc_profile"] = im.info["icc_profile"]  # keep the colours
    turned.save(out, fmt.upper(), **options)
    return turned, out.getvalue()


def from_bytes(data: bytes, source: str = "bytes", field_name: str = "image") -> StartImage:
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(field_name, source, f"image is {len(data):,} bytes; the limit is 50 MB")
    fmt = sniff_format(data)
    if fmt is None:
        raise ImageError(
            field_name,
            source,
            f"format is {_describe_unknown(data)}; accepted formats are png, jpeg, webp",
        )
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            im.load()  # decodes fully: truncated files fail here, not on the server
            if im.getexif().get(_ORIENTATION, 1) in range(2, 9):  # shown turned or mirrored
                turned, data = _upright(im, data, fmt)
                width, height = turned.size
    except Image.DecompressionBombError as exc:  # a few KB can claim billions of pixels
        raise ImageError(field_name, source, f"too many pixels ({exc})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(field_name, source, f"corrupt or truncated {fmt} file ({exc})") from None
    check_ratio(width, height, source, field_name)
    return StartImage(source=source, data=data, format=fmt, width=width, height=height)


def check_ratio(width: int, height: int, source: str = "image", field_name: str = "image") -> None:
    ratio = width / height if height else 0
    if not (MIN_RATIO <= ratio <= MAX_RATIO):
        raise ImageError(
            field_name,
            source,
            f"aspect ratio {width}x{height} ({ratio:.2f}) is outside 1:4 to 4:1",
        )


def _is_pil_image(obj: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is a dependency
        return False
    return isinstance(obj, Image.Image)


def fit_image(image: StartImage, max_chars: int) -> tuple[StartImage, str | None]:
    """Shrink a local image until its data URI takes at most ``max_chars`` characters.

    Tries re-encoding first (lossless formats to high-quality JPEG/WebP), then steps the size
    down by factors of about 0.85 so the result stays as close to the original as fits.
    Returns the image and a sentence saying what was done (``None`` when nothing was).
    """
    if image.is_remote or image.encoded_length() <= max_chars:
        return image, None
    from PIL import Image

    with Image.open(io.BytesIO(image.data or b"")) as src:
        src.load()
        has_alpha = _has_alpha(src)
        work = _to_8bit(src).convert("RGBA" if has_alpha else "RGB")
    out_fmt = "webp" if has_alpha else "jpeg"
    # WebP stops at 16383 pixels a side: a wider image must be downscaled to be encoded at all.
    scale = min(1.0, _WEBP_MAX_SIDE / max(work.size)) if out_fmt == "webp" else 1.0
    for quality in (92, 85):
        candidate = _encode(work, out_fmt, quality, scale)
        if _b64_len(candidate, out_fmt) <= max_chars:
            return _fitted(image, candidate, out_fmt, work.size, scale, quality)
    while scale > 0.02:
        scale *= 0.85
        candidate = _encode(work, out_fmt, 85, scale)
        if _b64_len(candidate, out_fmt) <= max_chars:
            return _fitted(image, candidate, out_fmt, work.size, scale, 85)
    raise ImageError("image", image.source, f"cannot be fitted into {max_chars:,} characters")


def _encode(im: Any, fmt: str, quality: int, scale: float) -> bytes:
    from PIL import Image

    if scale < 1.0:
        im = im.resize(_scaled_size(im.size, scale), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, fmt.upper(), quality=quality)
    return out.getvalue()


def _scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """``size`` times ``scale``, rounded without leaving 1:4 to 4:1 (4000x1000 at 0.2725 would
    round to 1090x272, a ratio of 4.007 the service refuses)."""
    width, height = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    most = int(MAX_RATIO)
    return min(width, most * height), min(height, most * width)


def _b64_len(data: bytes, fmt: str) -> int:
    return len(f"data:image/{fmt};base64,") + 4 * ((len(data) + 2) // 3)


def _fitted(
    original: StartImage, data: bytes, fmt: str, size: tuple[int, int], scale: float, quality: int
) -> tuple[StartImage, str]:
    width, height = _scaled_size(size, scale) if scale < 1.0 else size
    fitted = StartImage(source=original.source, data=data, format=fmt, width=width, height=height)
    what = f"re-encoded as {fmt.upper()} (quality {quality})"
    if scale < 1.0:
        what += f" and downscaled from {size[0]}x{size[1]} to {width}x{height}"
    note = (
        f"image {original.source!r} ({original.size_bytes:,} bytes) would push the request body "
        f"over the 20 MB limit; {what}, now {len(data):,} bytes"
    )
    return fitted, note
