"""The start frame: read from a path, bytes, PIL image, URL or data URI, checked and fitted.

Local images are checked before any network call: the real format is sniffed from the bytes
(a ``.png`` name on a JPEG file is fine; a GIF is not), the aspect ratio must lie within 1:4 and
4:1 and the file must be at most 50 MB. When the base64 image would push the JSON body over the
20 MB limit it is re-encoded, then downscaled, just enough to fit, and the change is reported.
URLs are sent as they are: the service fetches and checks them.
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

from .errors import ImageError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_BODY_BYTES = 20 * 1024 * 1024
MIN_RATIO = 1 / 4
MAX_RATIO = 4.0
FORMATS = ("png", "jpeg", "webp")

ImageSource = Union[str, bytes, bytearray, "os.PathLike[str]", "StartImage", Any]

_DATA_URI = re.compile(r"^data:image/(?P<fmt>[a-zA-Z0-9.+-]+);base64,(?P<data>.*)$", re.S)


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
            rgb = im.convert("RGB")
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
        low = text[:8].lower()
        if low.startswith(("http://", "https://")):
            return StartImage(source=text, url=text)
        if low.startswith("data:"):
            return from_data_uri(text, field_name)
        return from_path(text, field_name)
    if _is_pil_image(source):
        return from_pil(source, field_name)
    raise ImageError(
        field_name,
        type(source).__name__,
        "must be a file path, bytes, a PIL image, an http(s) URL or a data: URI",
    )


def from_path(path: str, field_name: str = "image") -> StartImage:
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ImageError(field_name, path, f"cannot read file: {exc.strerror or exc}") from None
    if size > MAX_IMAGE_BYTES:
        raise ImageError(field_name, path, f"file is {size:,} bytes; the limit is 50 MB")
    with open(path, "rb") as fh:
        data = fh.read()
    return from_bytes(data, os.path.basename(path), field_name)


def from_data_uri(uri: str, field_name: str = "image") -> StartImage:
    match = _DATA_URI.match(uri)
    if not match:
        raise ImageError(field_name, uri, "a data URI must look like data:image/<fmt>;base64,...")
    try:
        data = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(field_name, uri, "the data URI is not valid base64") from None
    return from_bytes(data, "data URI", field_name)


def from_pil(image: PILImage, field_name: str = "image") -> StartImage:
    fmt = "PNG" if image.mode in ("RGBA", "LA", "P", "1", "L") else "JPEG"
    out = io.BytesIO()
    im = image if fmt == "PNG" or image.mode == "RGB" else image.convert("RGB")
    im.save(out, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return from_bytes(out.getvalue(), "PIL image", field_name)


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
        has_alpha = src.mode in ("RGBA", "LA") or "transparency" in src.info
        work = src.convert("RGBA" if has_alpha else "RGB")
    out_fmt = "webp" if has_alpha else "jpeg"
    scale = 1.0
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
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        im = im.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    im.save(out, fmt.upper(), quality=quality)
    return out.getvalue()


def _b64_len(data: bytes, fmt: str) -> int:
    return len(f"data:image/{fmt};base64,") + 4 * ((len(data) + 2) // 3)


def _fitted(
    original: StartImage, data: bytes, fmt: str, size: tuple[int, int], scale: float, quality: int
) -> tuple[StartImage, str]:
    width, height = (max(1, round(size[0] * scale)), max(1, round(size[1] * scale)))
    fitted = StartImage(source=original.source, data=data, format=fmt, width=width, height=height)
    what = f"re-encoded as {fmt.upper()} (quality {quality})"
    if scale < 1.0:
        what += f" and downscaled from {size[0]}x{size[1]} to {width}x{height}"
    note = (
        f"image {original.source!r} ({original.size_bytes:,} bytes) would push the request body "
        f"over the 20 MB limit; {what}, now {len(data):,} bytes"
    )
    return fitted, note
