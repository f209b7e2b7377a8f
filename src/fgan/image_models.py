"""Generators and critics for images: the f-GAN paper's MNIST pair and DCGAN at 32, 64 and 96 pixels.

Images are float32 (or float64) in [0, 1] with shape ``(n, C, H, W)``. As in :mod:`fgan.models`, every generator
has an integer ``latent_dim`` and a ``sample_latent(n, device)`` (in the dtype of its parameters, so ``.double()``
models get float64 codes), and every critic returns one raw output per sample, shape ``(n,)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from fgan.errors import UsageError
from fgan.memory import check_fits
from fgan.models import TRAINING_COPIES

DCGAN_SIZES = (32, 64, 96)
IMAGE_MODELS = ("mnist-mlp", "dcgan", "dcgan-nobn")


def _parameter_dtype(module: nn.Module) -> torch.dtype:
    """The dtype of ``module``'s first parameter: latent codes follow it so ``.double()`` models just work."""
    return next(module.parameters()).dtype


def _init_normal(module: nn.Module, std: float) -> None:
    """Draw the weights of every linear and convolutional layer from N(0, std²); zero their biases."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


# --- the f-GAN paper's MNIST pair ---------------------------------------------------------------------------------


class MNISTGenerator(nn.Module):
    """The f-GAN MNIST generator (paper Section 4.2): ``z ~ U(-1, 1)^latent_dim``, two hidden layers of ``hidden``
    units with batch norm and ReLU, a sigmoid output reshaped to ``image_shape``; weights N(0, 0.05²), biases 0."""

    def __init__(
        self, latent_dim: int = 100, hidden: int = 1200, image_shape: tuple[int, int, int] = (1, 28, 28)
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Linear(hidden, math.prod(self.image_shape)),
        )
        _init_normal(self, 0.05)

    def sample_latent(self, n: int, device: torch.device | str) -> Tensor:
        """``n`` codes drawn uniformly from [-1, 1]^latent_dim."""
        return torch.rand(n, self.latent_dim, device=device, dtype=_parameter_dtype(self)) * 2 - 1

    def forward(self, z: Tensor) -> Tensor:
        return torch.sigmoid(self.net(z)).view(z.shape[0], *self.image_shape)


class MNISTCritic(nn.Module):
    """The f-GAN MNIST critic: flattened image, two hidden layers of ``hidden`` ELU units, one linear output;
    weights N(0, 0.005²), biases 0."""

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), hidden: int = 240) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(image_shape), hidden),
            nn.ELU(),
            nn.Linear(hidden, hidden),
            nn.ELU(),
            nn.Linear(hidden, 1),
        )
        _init_normal(self, 0.005)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(-1)


# --- DCGAN ----------------------------------------------------------------------------------------------------------


def _dcgan_geometry(image_size: int, channels: int) -> tuple[int, int]:
    """``(base, stages)`` of a DCGAN for square ``image_size`` images: the smallest feature map is ``base`` pixels
    wide (4, or 3 for 96 px) and ``stages`` stride-2 layers double it to ``image_size`` (32 -> 4, 8, 16, 32;
    64 -> 4, ..., 64; 96 -> 3, 6, 12, 24, 48, 96).

    Raises:
        UsageError: for a size outside :data:`DCGAN_SIZES` or ``channels`` other than 1 or 3.
    """
    if image_size not in DCGAN_SIZES:
        raise UsageError(f"DCGAN supports image sizes 32, 64 and 96, got {image_size}")
    if channels not in (1, 3):
        raise UsageError(f"DCGAN supports 1 (grayscale) or 3 (RGB) channels, got {channels}")
    base = 3 if image_size % 3 == 0 else 4
    return base, (image_size // base).bit_length() - 1


def _channels_last(module: nn.Module) -> None:
    """Store ``module``'s 4-D weights channels-last (NHWC), the layout oneDNN's CPU convolutions (and cuDNN's under
    autocast) run fastest in: a dcgan-32 forward and backward took 1-8 % less time on the 2-core CPU in fp32 and 0-6 %
    in bf16 (``benchmarks/channels_last.py``, seven runs). Moving the module to another device or dtype keeps the
    layout."""
    module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch's stub omits memory_format


def _init_dcgan(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02²), batch-norm weights N(1, 0.02²), all biases 0."""
    _init_normal(module, 0.02)
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            nn.init.normal_(layer.weight, 1.0, 0.02)
            nn.init.zeros_(layer.bias)


class DCGANGenerator(nn.Module):
    """The DCGAN generator: ``z ~ N(0, I)`` seen as a 1x1 map, a transposed conv to a ``base``x``base`` map of
    ``width * 2**(stages - 1)`` channels, then stride-2 transposed convs (kernel 4, padding 1) doubling the size and
    halving the channels, batch norm and ReLU after each but the last, which outputs ``channels`` maps through
    ``(tanh + 1) / 2`` so images lie in [0, 1]. See :func:`_dcgan_geometry` for the sizes.

    Like the critic, it keeps its convolution weights channels-last (see :func:`_channels_last`); its output is an
    ordinary contiguous ``(n, C, H, W)`` tensor."""

    def __init__(self, image_size: int, channels: int = 3, latent_dim: int = 100, width: int = 64) -> None:
        super().__init__()
        base, stages = _dcgan_geometry(image_size, channels)
        self.latent_dim = latent_dim
        widths = [width * 2**k for k in reversed(range(stages))]
        layers: list[nn.Module] = [nn.ConvTranspose2d(latent_dim, widths[0], base, bias=False)]
        for index, (fan_in, fan_out) in enumerate(itertools.pairwise([*widths, channels])):
            last = index == stages - 1
            layers += [nn.BatchNorm2d(fan_in), nn.ReLU(), nn.ConvTranspose2d(fan_in, fan_out, 4, 2, 1, bias=last)]
        self.net = nn.Sequential(*layers)
        _init_dcgan(self)
        _channels_last(self)

    def sample_latent(self, n: int, device: torch.device | str) -> Tensor:
        """``n`` standard normal codes."""
        return torch.randn(n, self.latent_dim, device=device, dtype=_parameter_dtype(self))

    def forward(self, z: Tensor) -> Tensor:
        maps = self.net(z.reshape(z.shape[0], self.latent_dim, 1, 1))
        return (0.5 * (torch.tanh(maps) + 1)).contiguous()


class DCGANCritic(nn.Module):
    """The DCGAN critic: ``x`` in [0, 1] mapped to ``2x - 1``, stride-2 convs (kernel 4, padding 1) halving the size
    and doubling the channels from ``width``, LeakyReLU(0.2) after each and batch norm after all but the first (none
    when ``batch_norm`` is off), and a final conv over the remaining ``base``x``base`` map to one raw output. Its
    convolution weights are channels-last (see :func:`_channels_last`), and it takes images in either layout."""

    def __init__(self, image_size: int, channels: int = 3, width: int = 64, batch_norm: bool = True) -> None:
        super().__init__()
        base, stages = _dcgan_geometry(image_size, channels)
        widths = [channels] + [width * 2**k for k in range(stages)]
        layers: list[nn.Module] = []
        for index, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
            norm = batch_norm and index > 0
            layers.append(nn.Conv2d(fan_in, fan_out, 4, 2, 1, bias=not norm))
            layers += [nn.BatchNorm2d(fan_out)] if norm else []
            layers.append(nn.LeakyReLU(0.2))
        layers.append(nn.Conv2d(widths[-1], 1, base))
        self.net = nn.Sequential(*layers)
        _init_dcgan(self)
        _channels_last(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(2 * x.contiguous(memory_format=torch.channels_last) - 1).view(x.shape[0])


# --- by name --------------------------------------------------------------------------------------------------------


def build_image_models(
    name: str, image_shape: Sequence[int], latent_dim: int | None = None
) -> tuple[nn.Module, nn.Module]:
    """The generator and critic ``name`` (one of :data:`IMAGE_MODELS`) for images of shape ``(C, H, W)``.

    ``mnist-mlp`` is the f-GAN MNIST pair (any shape), ``dcgan`` the DCGAN pair and ``dcgan-nobn`` the DCGAN
    generator with a critic without batch norm (square 32, 64 or 96 px images, 1 or 3 channels). ``latent_dim``
    defaults to 100.

    Raises:
        UsageError: for an unknown name, a malformed shape, or a shape the DCGAN models do not support.
    """
    if name not in IMAGE_MODELS:
        raise UsageError(f"unknown image model {name!r}; valid: {', '.join(IMAGE_MODELS)}")
    if len(image_shape) != 3 or not all(isinstance(size, int) and size > 0 for size in image_shape):
        raise UsageError(f"image shape must be three positive integers (C, H, W), got {tuple(image_shape)}")
    latent_dim = 100 if latent_dim is None else latent_dim
    channels, height, width = image_shape
    if name != "mnist-mlp" and (height != width or height not in DCGAN_SIZES):
        raise UsageError(
            f"{name} needs square images of 32, 64 or 96 pixels, got {height}x{width}; "
            "resize them with --image-size 32/64/96"
        )

    def build() -> tuple[nn.Module, nn.Module]:
        if name == "mnist-mlp":
            shape = (channels, height, width)
            return MNISTGenerator(latent_dim, image_shape=shape), MNISTCritic(shape)
        generator = DCGANGenerator(height, channels, latent_dim=latent_dim)
        return generator, DCGANCritic(height, channels, batch_norm=name == "dcgan")

    with torch.device("meta"):  # the weights counted, not allocated
        weights = sum(p.numel() for network in build() for p in network.parameters())
    check_fits(
        TRAINING_COPIES * 4 * weights,
        f"{name} for images {channels}x{height}x{width} with latent dimension {latent_dim} ({weights:,} weights)",
    )
    return build()
