"""Choosing the torch device of any stage that trains or encodes (the `device` key of its block)."""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → ``cuda`` when a GPU is visible, else ``cpu``; ``"cpu"``/``"cuda[:n]"`` as given.

    Raises ``ValueError`` for any other name and ``RuntimeError`` when CUDA is asked for but
    torch sees no GPU (so that a run meant for a GPU never silently takes hours on a CPU).
    """
    if isinstance(device, torch.device):
        name = str(device)
    else:
        name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RuntimeError(f"device={device!r} was asked for, but torch sees no CUDA GPU")
        return torch.device(name)
    raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:n]', got {device!r}")


def device_name(device: torch.device) -> str:
    """A human-readable name: the GPU model for CUDA, ``"cpu"`` otherwise."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "cpu"
