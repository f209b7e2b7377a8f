"""Data-parallel training across processes started by ``torchrun``.

``torchrun --nproc-per-node N -m fgan train ...`` starts N copies of the command with ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and the rendezvous address in their environment; :func:`init_from_environment` joins them into one
process group (gloo on the CPU, NCCL on CUDA). The trainer then wraps both networks in
:class:`~torch.nn.parallel.DistributedDataParallel`, which broadcasts rank 0's weights at the start and averages
the gradients of every backward pass across the processes.

Sharding: every process draws the same *global* minibatch (the random generators are seeded alike) and keeps its
own slice (:func:`shard`), so N processes with ``--batch-size B`` take the same steps as one process with batch B,
up to the order of floating-point sums, and a checkpoint resumes under any number of processes.

Teardown: the process group must be freed, and its gloo threads joined, before interpreter shutdown. Freed by the
garbage collection of the shutdown instead, a gloo thread that then takes the GIL (to run a completion callback or
free a tensor Python also held) is ended inside C++ code and the rank aborts: ``terminate called without an active
exception``. Two things outlive :func:`shutdown`'s ``destroy_process_group``: the trainer's DistributedDataParallel
wrappers (a reference cycle, unreachable once ``fgan train`` returns) and torch functions whose default argument
``group=group.WORLD`` is evaluated at import (``torch.distributed.nn``, imported with torch._dynamo by the first
optimiser, after the group exists). :func:`init_from_environment` imports those first and frees the group at exit.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os

import torch
import torch.distributed as dist
from torch import Tensor

from fgan.errors import UsageError

#: Environment variables that torchrun sets in every process it starts.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def launched_by_torchrun() -> bool:
    """Whether this process was started by torchrun (or another launcher setting its environment variables)."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def init_from_environment(device: str = "auto") -> None:
    """Join the process group described by torchrun's environment, once; nothing when not launched by torchrun.

    The backend is NCCL when training on CUDA (each process takes GPU ``LOCAL_RANK``) and gloo otherwise.
    """
    if not launched_by_torchrun() or dist.is_initialized():
        return
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    importlib.import_module("torch.distributed.nn")  # binds its group=group.WORLD defaults to None, not the group
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    world = dist.group.WORLD
    assert world is not None, "init_process_group returned without a default process group"
    atexit.register(_free_process_group, [world])


def _free_process_group(held: list[dist.ProcessGroup]) -> None:
    """Free the process group at exit, before interpreter shutdown (see the module): collect the trainer's
    DistributedDataParallel wrappers, then drop ``held``, now the last reference. Its release runs the group's
    destructor with the GIL released; the last reference dropped by the wrappers' reducer would join the gloo threads
    holding the GIL, and a thread waiting for it would hang the exit."""
    gc.collect()
    held.clear()


def shutdown(wait: bool = True) -> None:
    """Leave the process group (at the end of a torchrun job; nothing otherwise).

    ``wait`` first waits for every process to get here (rank 0 writes plots after the others have finished
    training): a process that tears its connections down while a peer still holds them can abort. Pass False when
    leaving on an error, which the other processes may never reach.
    """
    if not dist.is_initialized():
        return
    if wait:
        dist.barrier()
    dist.destroy_process_group()


def world_size() -> int:
    """The number of processes training together (1 without a process group)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if dist.is_initialized() else 0


def is_main_process() -> bool:
    """Rank 0: the one process that writes the run folder and prints progress."""
    return rank() == 0


def local_device(device: torch.device) -> torch.device:
    """The device of this process: with several processes on CUDA, GPU ``LOCAL_RANK``."""
    if device.type == "cuda" and world_size() > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def check_batch_size(batch_size: int) -> None:
    """The global batch must split evenly across the processes."""
    size = world_size()
    if batch_size % size:
        raise UsageError(f"batch size {batch_size} does not split evenly across {size} processes")


def shard(batch: Tensor) -> Tensor:
    """This process's slice of a global minibatch (the whole batch in a single process)."""
    size = world_size()
    if size == 1:
        return batch
    local = len(batch) // size
    return batch[rank() * local : (rank() + 1) * local]


def all_reduce_mean(tensor: Tensor) -> Tensor:
    """Average ``tensor`` across the processes, in place (unchanged in a single process)."""
    if world_size() > 1:
        dist.all_reduce(tensor)
        tensor /= world_size()
    return tensor


def all_ranks_agree(flag: Tensor) -> bool:
    """True when ``flag`` (a boolean scalar) holds on every process: decisions that change what is communicated
    must be taken alike everywhere."""
    if world_size() == 1:
        return bool(flag)
    value = flag.to(torch.int32).reshape(1)
    dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return bool(value)
