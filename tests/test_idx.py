"""Tests of fgan.idx: IDX round trips, hand-built files, every kind of damaged file, and property tests."""

from __future__ import annotations

import gzip
import struct
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fgan.errors import UsageError
from fgan.idx import MAX_DATA_BYTES, read_idx, write_idx

SUPPORTED = ["uint8", "int8", "int16", "int32", "float32", "float64"]
SHAPES = [(7,), (3, 5), (2, 3, 4)]

# A tiny MNIST-like image file: 2 images of 2 x 3 pixels, type 0x08 (uint8), 3 dimensions.
TINY_IMAGES = bytes.fromhex("00000803000000020000000200000003000102fdfeff0a141e28323c")
TINY_IMAGES_ARRAY = np.array([[[0, 1, 2], [253, 254, 255]], [[10, 20, 30], [40, 50, 60]]], dtype=np.uint8)


def _idx_bytes(code: int, shape: tuple[int, ...], data: bytes = b"") -> bytes:
    """An IDX file built by hand: the magic number, the dimension sizes, then ``data``."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + data


def _values(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Random values over the dtype's whole range, with the extremes (and nan, infinities, -0.0 for floats)."""
    rng = np.random.default_rng(0)
    size = int(np.prod(shape))
    if np.dtype(dtype).kind == "f":
        specials = np.array([np.nan, np.inf, -np.inf, -0.0, np.finfo(dtype).max, np.finfo(dtype).tiny], dtype=dtype)
        values = rng.normal(scale=1e3, size=size).astype(dtype)
    else:
        info = np.iinfo(dtype)
        specials = np.array([info.min, info.max, 0], dtype=dtype)
        values = rng.integers(info.min, info.max, size=size, endpoint=True, dtype=dtype)
    values[: len(specials)] = specials[:size]
    return values.reshape(shape)


def _assert_identical(result: np.ndarray, expected: np.ndarray) -> None:
    """Same native dtype, shape and bits (nan payloads and the sign of zero included)."""
    native = expected.dtype.newbyteorder("=")
    assert isinstance(result, np.ndarray)
    assert result.dtype == native and result.dtype.isnative
    assert result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)
    assert result.tobytes() == expected.astype(native).tobytes()


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", SUPPORTED)
def test_round_trip_preserves_values_and_dtype(
    tmp_path: Path, dtype: str, shape: tuple[int, ...], compress: bool
) -> None:
    array = _values(dtype, shape)
    path = tmp_path / "data.idx"
    write_idx(path, array, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    _assert_identical(read_idx(path), array)


@pytest.mark.parametrize("shape", [(0,), (3, 0, 2)])
def test_round_trip_of_an_empty_array(tmp_path: Path, shape: tuple[int, ...]) -> None:
    array = np.zeros(shape, dtype=np.float32)
    write_idx(tmp_path / "empty.idx", array)
    _assert_identical(read_idx(tmp_path / "empty.idx"), array)


@pytest.mark.parametrize("dtype", [">i2", "<i2", ">i4", "<i4", ">f4", "<f8"])
def test_either_byte_order_is_written_and_read_back_native(tmp_path: Path, dtype: str) -> None:
    array = np.array([[1, -2, 300], [-300, 5, 0]], dtype=dtype)
    write_idx(tmp_path / "a.idx", array)
    _assert_identical(read_idx(tmp_path / "a.idx"), array)


def test_written_bytes_are_the_big_endian_format(tmp_path: Path) -> None:
    write_idx(tmp_path / "images.idx", TINY_IMAGES_ARRAY)
    assert (tmp_path / "images.idx").read_bytes() == TINY_IMAGES
    write_idx(tmp_path / "short.idx", np.array([1, -2], dtype="<i2"))
    assert (tmp_path / "short.idx").read_bytes() == _idx_bytes(0x0B, (2,), b"\x00\x01\xff\xfe")
    write_idx(tmp_path / "double.idx", np.array([1.5]))
    assert (tmp_path / "double.idx").read_bytes() == _idx_bytes(0x0E, (1,), b"\x3f\xf8" + bytes(6))


def test_compression_follows_the_name_unless_given(tmp_path: Path) -> None:
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    cases = [("a.gz", None, True), ("a.idx", None, False), ("b.gz", False, False), ("b.idx", True, True)]
    for name, compress, gzipped in cases:
        write_idx(tmp_path / name, array, compress=compress)
        content = (tmp_path / name).read_bytes()
        assert (content[:2] == b"\x1f\x8b") == gzipped, name
        assert (gzip.decompress(content) if gzipped else content) == _idx_bytes(0x08, (3, 4), array.tobytes())


@pytest.mark.parametrize("compress", [False, True])
def test_hand_built_mnist_like_file_is_read(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "images"  # no .gz suffix: compression is recognised by content
    path.write_bytes(gzip.compress(TINY_IMAGES) if compress else TINY_IMAGES)
    _assert_identical(read_idx(str(path)), TINY_IMAGES_ARRAY)


def test_hand_built_labels_and_floats_are_read(tmp_path: Path) -> None:
    (tmp_path / "labels").write_bytes(_idx_bytes(0x08, (4,), bytes([7, 2, 1, 0])))
    _assert_identical(read_idx(tmp_path / "labels"), np.array([7, 2, 1, 0], dtype=np.uint8))
    (tmp_path / "floats").write_bytes(_idx_bytes(0x0D, (2,), bytes.fromhex("3fc00000c0200000")))
    _assert_identical(read_idx(tmp_path / "floats"), np.array([1.5, -2.5], dtype=np.float32))


def test_write_replaces_atomically_and_leaves_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "data.gz"
    write_idx(path, np.zeros((2, 2), dtype=np.uint8))
    write_idx(path, np.ones((3,), dtype=np.int32))
    _assert_identical(read_idx(path), np.ones((3,), dtype=np.int32))
    old = path.read_bytes()

    def failing_write(self: gzip.GzipFile, data: bytes) -> int:
        raise OSError("disk full")

    monkeypatch.setattr(gzip.GzipFile, "write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        write_idx(path, np.zeros((5,), dtype=np.uint8))
    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["data.gz"]


@pytest.mark.parametrize(
    "array",
    [
        np.zeros(3, dtype=np.int64),
        np.zeros(3, dtype=np.uint16),
        np.zeros(3, dtype=np.float16),
        np.zeros(3, dtype=bool),
        np.zeros(3, dtype=np.complex64),
        np.array(["a"]),
        np.array(5, dtype=np.uint8),
        np.broadcast_to(np.zeros(1, dtype=np.uint8), (2**32,)),  # a zero-stride view: no memory
    ],
    ids=["int64", "uint16", "float16", "bool", "complex64", "str", "0-d", "dimension-too-long"],
)
def test_write_refuses_what_idx_cannot_hold(tmp_path: Path, array: np.ndarray) -> None:
    path = tmp_path / "bad.idx"
    with pytest.raises(UsageError) as info:
        write_idx(path, array)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert not path.exists()


def _valid() -> bytes:
    """A valid uint8 file of shape (20, 50) with incompressible data."""
    return _idx_bytes(0x08, (20, 50), np.random.default_rng(1).integers(0, 256, 1000, dtype=np.uint8).tobytes())


def _first_half(content: bytes) -> bytes:
    return content[: len(content) // 2]


def _flip_middle(content: bytes) -> bytes:
    middle = len(content) // 2
    return content[:middle] + bytes(b ^ 0xFF for b in content[middle : middle + 4]) + content[middle + 4 :]


def _bad_crc() -> bytes:
    """A gzip stream whose data is intact but whose CRC-32 trailer is wrong."""
    content = gzip.compress(_valid())
    return content[:-8] + bytes(b ^ 0x01 for b in content[-8:-4]) + content[-4:]


CORRUPTIONS: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty file": (lambda: b"", "empty file"),
    "fewer than 4 bytes": (lambda: b"\x00\x00\x08", "truncated IDX header"),
    "nonzero magic": (lambda: b"\x01\x00" + _valid()[2:], "not an IDX file"),
    "nonzero second magic byte": (lambda: b"\x00\x10" + _valid()[2:], "not an IDX file"),
    "unknown type code": (lambda: _idx_bytes(0x0A, (2,), b"ab"), "unknown IDX type code 0x0A"),
    "ndim 0": (lambda: b"\x00\x00\x08\x00", "0 dimensions"),
    # issue 19, item 11: 255 dimensions of size 1 was numpy's "maximum supported dimension" without the file name
    "ndim 255": (lambda: _idx_bytes(0x08, (1,) * 255, b"\x00"), "255 dimensions; an IDX file needs 1 to 32"),
    "header shorter than its dims": (lambda: _idx_bytes(0x08, (2, 3, 4))[:13], "3 dimension sizes need 12 bytes"),
    "truncated data": (lambda: _valid()[:-1], "truncated IDX file: expected 1000 data bytes, found 999"),
    "truncated int32 data": (lambda: _idx_bytes(0x0C, (3,), bytes(11)), "expected 12 data bytes, found 11"),
    "trailing data": (lambda: _valid() + b"\x00", "trailing bytes"),
    "truncated gzip": (lambda: _first_half(gzip.compress(_valid())), "gzip"),
    "corrupt gzip": (lambda: _flip_middle(gzip.compress(_valid())), "gzip"),
    "gzip with a bad checksum": (_bad_crc, "CRC check failed"),
    "gzip followed by garbage": (lambda: gzip.compress(_valid()) + b"garbage", "gzip"),
    "gzip of truncated data": (lambda: gzip.compress(_valid()[:-5]), "truncated IDX file"),
    "gzip of trailing data": (lambda: gzip.compress(_valid() + b"x"), "trailing bytes"),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corrupt_file_is_a_one_line_usage_error_naming_the_file(tmp_path: Path, case: str) -> None:
    build, expected = CORRUPTIONS[case]
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(build())
    with pytest.raises(UsageError, match=expected) as info:
        read_idx(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message


def test_missing_file_and_directory_are_usage_errors(tmp_path: Path) -> None:
    for path, expected in [(tmp_path / "missing.gz", "No such file"), (tmp_path, "Is a directory")]:
        with pytest.raises(UsageError, match=expected) as info:
            read_idx(path)
        assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def _read_with_peak_memory(path: Path) -> tuple[UsageError, int, float]:
    """The UsageError reading ``path`` raises, with the peak of traced memory and the seconds the read took."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(UsageError) as info:
            read_idx(path)
        return info.value, tracemalloc.get_traced_memory()[1], time.perf_counter() - start
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("compress", [False, True])
def test_huge_header_with_tiny_body_fails_fast_without_allocating(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "huge.gz"
    content = _idx_bytes(0x0E, (2**32 - 1, 2**32 - 1), bytes(16))
    path.write_bytes(gzip.compress(content) if compress else content)
    error, peak, seconds = _read_with_peak_memory(path)
    assert str(path) in str(error) and str(MAX_DATA_BYTES) in str(error) and "\n" not in str(error)
    assert peak < 4 << 20 and seconds < 1.0


@pytest.mark.parametrize("compress", [False, True])
def test_header_under_the_limit_with_tiny_body_reads_only_what_is_there(tmp_path: Path, compress: bool) -> None:
    path = tmp_path / "big.gz"
    claimed = MAX_DATA_BYTES // 2
    content = _idx_bytes(0x08, (claimed,), bytes(100))
    path.write_bytes(gzip.compress(content) if compress else content)
    error, peak, seconds = _read_with_peak_memory(path)
    assert f"expected {claimed} data bytes, found 100" in str(error) and "\n" not in str(error)
    assert peak < 4 << 20 and seconds < 1.0


def _read_or_usage_error(content: bytes) -> np.ndarray | None:
    """read_idx of a file holding ``content``: the array, or None after a one-line UsageError naming the file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data"
        path.write_bytes(content)
        try:
            result = read_idx(path)
        except UsageError as err:
            assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
            return None
    assert isinstance(result, np.ndarray)
    return result


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=512), compress=st.booleans())
def test_arbitrary_bytes_give_an_array_or_a_usage_error(content: bytes, compress: bool) -> None:
    _read_or_usage_error(gzip.compress(content) if compress else content)


_dtypes = st.sampled_from(["u1", "i1", "<i2", ">i2", "<i4", ">i4", "<f4", ">f4", "<f8", ">f8"])
_small_arrays = hnp.arrays(_dtypes, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))


@settings(max_examples=200, deadline=None)
@given(array=_small_arrays, compress=st.booleans(), data=st.data())
def test_mutated_valid_file_gives_an_array_or_a_usage_error(
    array: np.ndarray, compress: bool, data: st.DataObject
) -> None:
    code = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}[array.dtype.str[1:]]
    content = _idx_bytes(code, array.shape, array.astype(array.dtype.newbyteorder(">")).tobytes())
    if compress:
        content = gzip.compress(content)
    position = data.draw(st.integers(0, len(content) - 1), label="position")
    if data.draw(st.booleans(), label="truncate"):
        assert _read_or_usage_error(content[:position]) is None  # any cut loses data or the gzip trailer
    else:
        flip = data.draw(st.integers(1, 255), label="xor")
        mutated = content[:position] + bytes([content[position] ^ flip]) + content[position + 1 :]
        _read_or_usage_error(mutated)


@settings(max_examples=200, deadline=None)
@given(array=_small_arrays, compress=st.booleans())
def test_round_trip_of_random_arrays(array: np.ndarray, compress: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data"
        write_idx(path, array, compress=compress)
        _assert_identical(read_idx(path), array)
