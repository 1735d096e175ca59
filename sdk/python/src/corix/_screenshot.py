"""Screenshot bytes with helpers."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:  # pragma: no cover
    from PIL.Image import Image


class Screenshot(bytes):
    """The encoded screenshot (PNG by default): a ``bytes`` with ``save()`` and ``to_image()``.

    Attributes:
        media_type: ``image/png`` or ``image/jpeg``.
    """

    media_type: str

    def __new__(cls, data: bytes, media_type: str = "image/png") -> "Screenshot":
        obj = super().__new__(cls, data)
        obj.media_type = media_type
        return obj

    def __reduce__(self) -> Any:
        return (Screenshot, (bytes(self), self.media_type))

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the image to a local file."""
        with open(os.fspath(path), "wb") as f:
            f.write(self)

    def to_image(self) -> "Image":
        """The image as a ``PIL.Image.Image`` (needs Pillow: ``pip install corix-sdk[pil]``)."""
        try:
            from PIL import Image as _Image
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("Screenshot.to_image() needs Pillow: pip install 'corix-sdk[pil]'") from e
        image = _Image.open(io.BytesIO(self))
        image.load()
        return image

    @property
    def size_bytes(self) -> int:
        """The encoded size in bytes."""
        return len(self)
