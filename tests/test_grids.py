"""Tests of fgan.grids: tiling images into a grid and saving it as a picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fgan.errors import UsageError
from fgan.grids import make_grid, save_image_grid


def _constant_tiles(n: int, channels: int = 1, height: int = 2, width: int = 3) -> torch.Tensor:
    """``n`` images where image ``k`` is filled with the value ``(k + 1) / 10``."""
    values = (torch.arange(n, dtype=torch.float32) + 1) / 10
    return values.view(n, 1, 1, 1).expand(n, channels, height, width).clone()


# --- make_grid ------------------------------------------------------------------------------------------------------


def test_make_grid_layout_is_row_major_with_padding() -> None:
    images = _constant_tiles(5)  # 2x3 tiles
    grid = make_grid(images, nrow=3, padding=1, pad_value=0.0)
    assert grid.shape == (1, 2 * 3 + 1, 3 * 4 + 1)
    expected = torch.zeros(1, 7, 13)
    for index in range(5):
        row, col = divmod(index, 3)
        expected[:, 1 + 3 * row : 3 + 3 * row, 1 + 4 * col : 4 + 4 * col] = (index + 1) / 10
    assert torch.equal(grid, expected)
    assert grid[0, 4, 9:12].eq(0).all()  # the missing sixth tile is left as padding


def test_make_grid_tile_pixels_keep_their_positions() -> None:
    images = torch.rand(3, 3, 4, 5)
    grid = make_grid(images, nrow=2, padding=2)
    assert grid.shape == (3, 2 * 6 + 2, 2 * 7 + 2)
    assert torch.equal(grid[:, 2:6, 2:7], images[0])
    assert torch.equal(grid[:, 2:6, 9:14], images[1])
    assert torch.equal(grid[:, 8:12, 2:7], images[2])
    padding = torch.ones_like(grid, dtype=torch.bool)
    for top, left in [(2, 2), (2, 9), (8, 2)]:
        padding[:, top : top + 4, left : left + 5] = False
    assert grid[padding].eq(1.0).all()  # default pad_value, also where the fourth tile would be


def test_make_grid_without_padding_concatenates() -> None:
    images = torch.rand(4, 1, 2, 2)
    grid = make_grid(images, nrow=4, padding=0)
    assert torch.equal(grid, torch.cat(list(images), dim=2))


@pytest.mark.parametrize(("n", "rows", "columns"), [(1, 1, 1), (4, 2, 2), (5, 2, 3), (10, 3, 4), (16, 4, 4)])
def test_make_grid_default_nrow_is_ceil_sqrt(n: int, rows: int, columns: int) -> None:
    grid = make_grid(torch.zeros(n, 1, 2, 3), padding=1)
    assert grid.shape == (1, rows * 3 + 1, columns * 4 + 1)


def test_make_grid_nrow_larger_than_batch_uses_one_row() -> None:
    assert make_grid(torch.zeros(3, 1, 2, 2), nrow=8, padding=1).shape == (1, 4, 10)


def test_make_grid_clamps_to_unit_interval() -> None:
    images = torch.tensor([-0.5, 0.25, 1.5]).view(3, 1, 1, 1)
    grid = make_grid(images, nrow=3, padding=0)
    assert grid.flatten().tolist() == [0.0, 0.25, 1.0]


@pytest.mark.parametrize(
    ("images", "options", "expected"),
    [
        (torch.zeros(4, 64), {}, "(4, 64)"),
        (torch.zeros(0, 1, 2, 2), {}, "(0, 1, 2, 2)"),
        (torch.zeros(2, 1, 2, 2), {"nrow": 0}, "nrow"),
        (torch.zeros(2, 1, 2, 2), {"padding": -1}, "padding"),
    ],
)
def test_make_grid_errors(images: torch.Tensor, options: dict, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        make_grid(images, **options)
    assert expected in str(info.value)


# --- save_image_grid ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channels", "mode"), [(1, "L"), (3, "RGB")])
def test_save_image_grid_writes_a_png(tmp_path: Path, channels: int, mode: str) -> None:
    images = torch.rand(4, channels, 5, 6)
    path = save_image_grid(images, tmp_path / "nested" / "folder" / "samples.png")
    assert path == tmp_path / "nested" / "folder" / "samples.png"
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        assert picture.mode == mode
        assert picture.size == (2 * 8 + 2, 2 * 7 + 2)  # (width, height)
        pixels = np.asarray(picture)
    expected = (make_grid(images) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    assert np.array_equal(pixels, expected.squeeze(-1) if channels == 1 else expected)
    assert sorted(p.name for p in path.parent.iterdir()) == ["samples.png"]  # no temporary file left


def test_save_image_grid_scales_with_nearest_neighbour(tmp_path: Path) -> None:
    images = torch.rand(3, 1, 8, 8)
    plain = np.asarray(Image.open(save_image_grid(images, tmp_path / "plain.png", nrow=3)))
    scaled = np.asarray(Image.open(save_image_grid(images, tmp_path / "scaled.png", nrow=3, scale=4)))
    assert scaled.shape == (plain.shape[0] * 4, plain.shape[1] * 4)
    assert np.array_equal(scaled, plain.repeat(4, axis=0).repeat(4, axis=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.png", "scaled.png"]


@pytest.mark.parametrize("suffix", [".jpg", ".JPEG"])
def test_save_image_grid_writes_jpeg(tmp_path: Path, suffix: str) -> None:
    path = save_image_grid(torch.rand(2, 3, 4, 4), tmp_path / f"samples{suffix}", nrow=2)
    with Image.open(path) as picture:
        assert (picture.format, picture.mode, picture.size) == ("JPEG", "RGB", (14, 8))


def test_save_image_grid_accepts_float64_and_tensors_with_gradients(tmp_path: Path) -> None:
    images = torch.rand(2, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    path = save_image_grid(images * 1, str(tmp_path / "grad.png"))
    assert isinstance(path, Path) and path.is_file()


@pytest.mark.parametrize(
    ("images", "name", "options", "expected"),
    [
        (torch.rand(2, 1, 4, 4), "samples.gif", {}, "samples.gif"),
        (torch.rand(2, 1, 4, 4), "samples", {}, ".png, .jpg, .jpeg"),
        (torch.rand(2, 16), "samples.png", {}, "(2, 16)"),
        (torch.rand(2, 2, 4, 4), "samples.png", {}, "(2, 2, 4, 4)"),
        (torch.rand(2, 1, 4, 4), "samples.png", {"scale": 0}, "scale"),
    ],
)
def test_save_image_grid_errors(tmp_path: Path, images: torch.Tensor, name: str, options: dict, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        save_image_grid(images, tmp_path / name, **options)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []
