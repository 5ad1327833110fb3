"""The ``device`` parameter: ``auto`` picks CUDA only when torch sees a GPU; a wrong name is an error."""

from __future__ import annotations

import pytest
import torch

from hermes_core.device import device_name, resolve_device


@pytest.mark.parametrize(("gpu_visible", "expected"), [(False, "cpu"), (True, "cuda")])
def test_auto_follows_what_torch_sees(monkeypatch: pytest.MonkeyPatch, gpu_visible: bool, expected: str) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: gpu_visible)
    assert resolve_device("auto") == torch.device(expected)
    assert resolve_device(" AUTO ") == torch.device(expected)


def test_explicit_names_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_cuda_without_a_gpu_is_refused_rather_than_run_slowly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_an_unknown_device_names_the_allowed_ones() -> None:
    with pytest.raises(ValueError, match="'auto', 'cpu' or 'cuda\\[:n\\]', got 'gpu'"):
        resolve_device("gpu")


def test_the_cpu_is_named_cpu() -> None:
    assert device_name(torch.device("cpu")) == "cpu"
