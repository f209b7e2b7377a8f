"""Image grids: tile a batch of images ``(n, C, H, W)`` in [0, 1] into one picture and save it (PNG or JPEG)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from fgan.errors import UsageError
from fgan.runs import atomic_write

IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
_MODES = {1: "L", 3: "RGB"}


def _check_batch(images: Tensor) -> None:
    """Raise UsageError unless ``images`` is a non-empty ``(n, C, H, W)`` batch."""
    if images.dim() != 4 or images.shape[0] == 0:
        raise UsageError(f"images must be a non-empty (n, C, H, W) batch, got shape {tuple(images.shape)}")


def make_grid(images: Tensor, nrow: int | None = None, padding: int = 2, pad_value: float = 1.0) -> Tensor:
    """Tile ``images`` ``(n, C, H, W)`` (clamped to [0, 1]) row-major into one ``(C, H', W')`` tensor.

    Each row holds ``nrow`` images (default ``ceil(sqrt(n))``, at most ``n``); ``padding`` pixels of ``pad_value``
    separate the tiles and surround the grid, so tile ``(row, col)`` starts at
    ``(padding + row * (H + padding), padding + col * (W + padding))``.

    Raises:
        UsageError: for a batch that is not 4-D or is empty, ``nrow < 1`` or ``padding < 0``.
    """
    _check_batch(images)
    n, channels, height, width = images.shape
    columns = min(n, math.ceil(math.sqrt(n)) if nrow is None else nrow)
    if columns < 1 or padding < 0:
        raise UsageError(f"nrow must be at least 1 and padding at least 0, got nrow={nrow}, padding={padding}")
    rows = math.ceil(n / columns)
    step_y, step_x = height + padding, width + padding
    grid = images.new_full((channels, rows * step_y + padding, columns * step_x + padding), pad_value)
    for index, image in enumerate(images.clamp(0, 1)):
        top, left = padding + (index // columns) * step_y, padding + (index % columns) * step_x
        grid[:, top : top + height, left : left + width] = image
    return grid


def save_image_grid(images: Tensor, path: str | Path, nrow: int | None = None, scale: int = 1) -> Path:
    """Save ``images`` ``(n, C, H, W)`` in [0, 1] as one grid picture (see :func:`make_grid`) at ``path``.

    The suffix picks the format (.png, .jpg or .jpeg); C = 1 gives a grayscale (L) and C = 3 an RGB picture, each
    pixel enlarged to ``scale`` x ``scale`` (nearest neighbour, for tiny images such as 8x8 digits). The file is
    written atomically and missing parent folders are created.

    Returns:
        The path written.

    Raises:
        UsageError: for an unknown suffix, a batch that is not 4-D with 1 or 3 channels, or ``scale < 1``.
    """
    path = Path(path)
    image_format = IMAGE_FORMATS.get(path.suffix.lower())
    if image_format is None:
        raise UsageError(f"cannot save images as {path.name!r}; use a suffix of {', '.join(IMAGE_FORMATS)}")
    _check_batch(images)
    if images.shape[1] not in _MODES:
        raise UsageError(f"images need 1 or 3 channels, got shape {tuple(images.shape)}")
    if not isinstance(scale, int) or scale < 1:
        raise UsageError(f"scale must be a positive integer, got {scale!r}")
    grid = make_grid(images.detach().to("cpu", torch.float32), nrow=nrow)
    pixels = (grid.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    picture = Image.fromarray(np.ascontiguousarray(pixels.squeeze(-1) if grid.shape[0] == 1 else pixels))
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    atomic_write(path, lambda file: picture.save(file, format=image_format))
    return path
