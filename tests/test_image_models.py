"""Tests of fgan.image_models: the f-GAN MNIST pair, DCGAN at 32/64/96 px and the by-name builder."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from fgan.errors import UsageError
from fgan.image_models import (
    DCGAN_SIZES,
    IMAGE_MODELS,
    DCGANCritic,
    DCGANGenerator,
    MNISTCritic,
    MNISTGenerator,
    build_image_models,
)

DIGITS_SHAPE = (1, 8, 8)
MNIST_SHAPE = (1, 28, 28)


def _weights(module: nn.Module, kind: type[nn.Module] | tuple[type[nn.Module], ...]) -> torch.Tensor:
    """All weights of the layers of ``kind`` in ``module``, flattened into one tensor."""
    return torch.cat([layer.weight.detach().flatten() for layer in module.modules() if isinstance(layer, kind)])


def _biases(module: nn.Module) -> list[torch.Tensor]:
    """Every bias parameter of ``module``."""
    return [parameter.detach() for name, parameter in module.named_parameters() if name.endswith("bias")]


def _assert_gradients_flow(generator: nn.Module, critic: nn.Module, n: int = 3) -> None:
    """A backward pass through critic(generator(z)) gives every parameter of both a finite gradient."""
    critic(generator(generator.sample_latent(n, "cpu"))).sum().backward()
    for module in (generator, critic):
        for name, parameter in module.named_parameters():
            assert parameter.grad is not None, name
            assert torch.isfinite(parameter.grad).all(), name


# --- the MNIST pair -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [MNIST_SHAPE, DIGITS_SHAPE])
def test_mnist_pair_shapes_and_ranges(shape: tuple[int, int, int]) -> None:
    torch.manual_seed(0)
    generator, critic = MNISTGenerator(image_shape=shape, hidden=32), MNISTCritic(shape, hidden=16)
    assert generator.latent_dim == 100
    images = generator(generator.sample_latent(4, "cpu"))
    assert images.shape == (4, *shape)
    assert images.dtype == torch.float32
    assert ((images >= 0) & (images <= 1)).all()
    assert critic(images).shape == (4,)


def test_mnist_default_layer_sizes() -> None:
    generator, critic = MNISTGenerator(), MNISTCritic()
    linear = [tuple(layer.weight.shape) for layer in generator.modules() if isinstance(layer, nn.Linear)]
    assert linear == [(1200, 100), (1200, 1200), (784, 1200)]
    assert sum(isinstance(layer, nn.BatchNorm1d) for layer in generator.modules()) == 2
    linear = [tuple(layer.weight.shape) for layer in critic.modules() if isinstance(layer, nn.Linear)]
    assert linear == [(240, 784), (240, 240), (1, 240)]
    assert sum(isinstance(layer, nn.ELU) for layer in critic.modules()) == 2


def test_mnist_latent_is_uniform_on_the_cube() -> None:
    torch.manual_seed(1)
    generator = MNISTGenerator(latent_dim=10, hidden=8)
    z = generator.sample_latent(5000, "cpu")
    assert z.shape == (5000, 10)
    assert z.min() >= -1 and z.max() <= 1
    assert abs(z.mean().item()) < 0.02
    assert abs(z.var().item() - 1 / 3) < 0.02  # variance of U(-1, 1)
    assert (z < -0.9).float().mean().item() == pytest.approx(0.05, abs=0.01)


def test_mnist_initialisation() -> None:
    torch.manual_seed(2)
    generator, critic = MNISTGenerator(), MNISTCritic()
    assert _weights(generator, nn.Linear).std().item() == pytest.approx(0.05, rel=0.02)
    assert _weights(critic, nn.Linear).std().item() == pytest.approx(0.005, rel=0.02)
    linear_biases = [
        layer.bias for module in (generator, critic) for layer in module.modules() if isinstance(layer, nn.Linear)
    ]
    assert all((bias == 0).all() for bias in linear_biases)


def test_mnist_gradients_flow() -> None:
    torch.manual_seed(3)
    _assert_gradients_flow(MNISTGenerator(latent_dim=6, hidden=12), MNISTCritic(MNIST_SHAPE, hidden=10))


# --- DCGAN ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", DCGAN_SIZES)
def test_dcgan_shapes_and_ranges(size: int, channels: int) -> None:
    torch.manual_seed(4)
    generator = DCGANGenerator(size, channels, latent_dim=5, width=4)
    critic = DCGANCritic(size, channels, width=4)
    assert generator.latent_dim == 5
    images = generator(generator.sample_latent(2, "cpu"))
    assert images.shape == (2, channels, size, size)
    assert ((images >= 0) & (images <= 1)).all()
    assert critic(images).shape == (2,)


@pytest.mark.parametrize(
    ("size", "maps"), [(32, [4, 8, 16, 32]), (64, [4, 8, 16, 32, 64]), (96, [3, 6, 12, 24, 48, 96])]
)
def test_dcgan_feature_map_sizes(size: int, maps: list[int]) -> None:
    generator = DCGANGenerator(size, 1, latent_dim=3, width=2)
    critic = DCGANCritic(size, 1, width=2)
    seen: list[int] = []
    hooks = [
        layer.register_forward_hook(lambda _module, _input, output: seen.append(output.shape[-1]))
        for layer in (*generator.modules(), *critic.modules())
        if isinstance(layer, nn.ConvTranspose2d | nn.Conv2d)
    ]
    critic(generator(torch.randn(2, 3)))
    for hook in hooks:
        hook.remove()
    assert seen == [*maps, *reversed(maps[:-1]), 1]


def test_dcgan_default_widths_at_32_px() -> None:
    generator, critic = DCGANGenerator(32), DCGANCritic(32)
    assert generator.latent_dim == 100
    shapes = [tuple(layer.weight.shape) for layer in generator.modules() if isinstance(layer, nn.ConvTranspose2d)]
    assert shapes == [(100, 256, 4, 4), (256, 128, 4, 4), (128, 64, 4, 4), (64, 3, 4, 4)]
    shapes = [tuple(layer.weight.shape) for layer in critic.modules() if isinstance(layer, nn.Conv2d)]
    assert shapes == [(64, 3, 4, 4), (128, 64, 4, 4), (256, 128, 4, 4), (1, 256, 4, 4)]
    assert [layer.num_features for layer in critic.modules() if isinstance(layer, nn.BatchNorm2d)] == [128, 256]
    assert [layer.num_features for layer in generator.modules() if isinstance(layer, nn.BatchNorm2d)] == [256, 128, 64]


def test_dcgan_initialisation() -> None:
    torch.manual_seed(5)
    generator, critic = DCGANGenerator(32), DCGANCritic(32)
    for module in (generator, critic):
        assert _weights(module, (nn.Conv2d, nn.ConvTranspose2d)).std().item() == pytest.approx(0.02, rel=0.05)
        norm = _weights(module, nn.BatchNorm2d)
        assert norm.mean().item() == pytest.approx(1.0, abs=0.01)
        assert norm.std().item() == pytest.approx(0.02, rel=0.3)
        assert all((bias == 0).all() for bias in _biases(module))


def test_dcgan_critic_without_batch_norm() -> None:
    critic = DCGANCritic(64, 3, width=4, batch_norm=False)
    assert not any(isinstance(layer, nn.BatchNorm2d) for layer in critic.modules())
    assert critic(torch.rand(2, 3, 64, 64)).shape == (2,)


def test_dcgan_critic_maps_images_to_minus_one_one() -> None:
    critic = DCGANCritic(32, 1, width=2)
    seen: list[torch.Tensor] = []
    critic.net[0].register_forward_pre_hook(lambda _module, inputs: seen.append(inputs[0]))
    critic(torch.stack([torch.zeros(1, 32, 32), torch.ones(1, 32, 32)]))
    assert seen[0].unique().tolist() == [-1.0, 1.0]


@pytest.mark.parametrize("size", DCGAN_SIZES)
def test_dcgan_gradients_flow(size: int) -> None:
    torch.manual_seed(6)
    _assert_gradients_flow(DCGANGenerator(size, 3, latent_dim=4, width=2), DCGANCritic(size, 3, width=2), n=2)


def _layout_copy(module: nn.Module) -> nn.Module:
    """A copy of ``module`` with every parameter and buffer in the ordinary contiguous (NCHW) layout."""
    ordinary = copy.deepcopy(module)
    for tensor in (*ordinary.parameters(), *ordinary.buffers()):
        tensor.data = tensor.data.contiguous()
    return ordinary


def test_dcgan_weights_are_channels_last_and_the_results_those_of_the_ordinary_layout() -> None:
    torch.manual_seed(7)
    generator, critic = DCGANGenerator(32, 3, latent_dim=4, width=4), DCGANCritic(32, 3, width=4)
    for module in (generator, critic):
        weights = [layer.weight for layer in module.modules() if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d)]
        assert all(w.is_contiguous(memory_format=torch.channels_last) and not w.is_contiguous() for w in weights[:-1])
        moved = copy.deepcopy(module).double()  # a change of dtype (or device) keeps the layout
        assert next(moved.net[0].parameters()).is_contiguous(memory_format=torch.channels_last)
    z = generator.sample_latent(5, "cpu")
    images = generator(z)
    assert images.is_contiguous()  # an ordinary tensor: .view works on it
    ordinary_generator, ordinary_critic = _layout_copy(generator), _layout_copy(critic)
    torch.testing.assert_close(images, ordinary_generator(z), rtol=1e-5, atol=1e-6)
    for layout in (torch.contiguous_format, torch.channels_last):
        torch.testing.assert_close(
            critic(images.contiguous(memory_format=layout)), ordinary_critic(images), rtol=1e-4, atol=1e-6
        )
    state = critic.state_dict()  # a checkpoint loads into either layout
    ordinary_critic.load_state_dict(state)
    critic.load_state_dict(ordinary_critic.state_dict())
    assert critic.net[0].weight.is_contiguous(memory_format=torch.channels_last)


# --- float64 --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: (MNISTGenerator(latent_dim=4, hidden=8, image_shape=DIGITS_SHAPE), MNISTCritic(DIGITS_SHAPE, 8)),
        lambda: (DCGANGenerator(32, 1, latent_dim=4, width=2), DCGANCritic(32, 1, width=2)),
        lambda: (DCGANGenerator(32, 3, latent_dim=4, width=2), DCGANCritic(32, 3, width=2, batch_norm=False)),
    ],
)
def test_float64(make) -> None:
    generator, critic = (module.double() for module in make())
    z = generator.sample_latent(3, "cpu")
    assert z.dtype == torch.float64
    images = generator(z)
    output = critic(images)
    assert images.dtype == output.dtype == torch.float64
    assert output.shape == (3,)
    output.sum().backward()


# --- errors and the builder -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: DCGANGenerator(48), "DCGAN supports image sizes 32, 64 and 96, got 48"),
        (lambda: DCGANCritic(48), "DCGAN supports image sizes 32, 64 and 96, got 48"),
        (lambda: DCGANGenerator(32, channels=2), "got 2"),
        (lambda: DCGANCritic(32, channels=2), "got 2"),
        (lambda: build_image_models("vae", (1, 28, 28)), "mnist-mlp, dcgan, dcgan-nobn"),
        (lambda: build_image_models("dcgan", (1, 28, 28)), "--image-size 32/64/96"),
        (lambda: build_image_models("dcgan-nobn", (3, 32, 64)), "--image-size 32/64/96"),
        (lambda: build_image_models("dcgan", (2, 32, 32)), "got 2"),
        (lambda: build_image_models("mnist-mlp", (28, 28)), "(28, 28)"),
    ],
)
def test_errors_are_one_line_usage_errors(make, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        make()
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("name", "shape", "classes", "batch_norm"),
    [
        ("mnist-mlp", MNIST_SHAPE, (MNISTGenerator, MNISTCritic), False),
        ("mnist-mlp", DIGITS_SHAPE, (MNISTGenerator, MNISTCritic), False),
        ("dcgan", (3, 32, 32), (DCGANGenerator, DCGANCritic), True),
        ("dcgan-nobn", (1, 32, 32), (DCGANGenerator, DCGANCritic), False),
    ],
)
def test_build_image_models(
    name: str, shape: tuple[int, int, int], classes: tuple[type, type], batch_norm: bool
) -> None:
    assert name in IMAGE_MODELS
    generator, critic = build_image_models(name, shape, latent_dim=7)
    assert (type(generator), type(critic)) == classes
    assert generator.latent_dim == 7
    assert any(isinstance(layer, nn.BatchNorm2d) for layer in critic.modules()) == batch_norm
    critic.eval()
    generator.eval()
    with torch.no_grad():
        images = generator(generator.sample_latent(2, "cpu"))
        assert images.shape == (2, *shape)
        assert critic(images).shape == (2,)


def test_build_image_models_default_latent_dim() -> None:
    generator, _ = build_image_models("mnist-mlp", DIGITS_SHAPE)
    assert generator.latent_dim == 100
