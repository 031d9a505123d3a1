"""One shared set of boundary checks, so every message says the same thing the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grasp_core.errors import ValidationError


def as_array(
    name: str,
    value: object,
    shape: Sequence[int | None] | None = None,
    dtype: type | np.dtype | None = np.float64,
    finite: bool = True,
) -> np.ndarray:
    """Convert ``value`` to an array and check its shape and finiteness.

    ``shape`` entries of ``None`` accept any size on that axis. Raises
    :class:`ValidationError` naming ``name`` and what was expected.
    """
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name}: cannot convert to an array of {dtype}: {exc}") from exc
    if shape is not None:
        ok = arr.ndim == len(shape) and all(
            want is None or want == got for want, got in zip(shape, arr.shape, strict=False)
        )
        if not ok:
            want_txt = "x".join("N" if s is None else str(s) for s in shape)
            raise ValidationError(f"{name}: expected shape {want_txt}, got {arr.shape}")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise ValidationError(f"{name}: contains NaN or infinite values")
    return arr


def require_finite_scalar(name: str, value: object) -> float:
    """Return ``value`` as a finite float or raise :class:`ValidationError`."""
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name}: expected a number, got {value!r}") from exc
    if not np.isfinite(out):
        raise ValidationError(f"{name}: expected a finite number, got {out}")
    return out


def require_range(
    name: str,
    value: object,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float inside ``[low, high]`` (bounds optional)."""
    out = require_finite_scalar(name, value)
    too_low = low is not None and (out < low if low_inclusive else out <= low)
    too_high = high is not None and (out > high if high_inclusive else out >= high)
    if too_low or too_high:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        brackets = ("[" if low_inclusive else "(", "]" if high_inclusive else ")")
        raise ValidationError(
            f"{name}: {out:g} is outside the valid range {brackets[0]}{lo}, {hi}{brackets[1]}"
        )
    return out


def require_choice(name: str, value: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``; the error lists the valid ones."""
    if value not in choices:
        raise ValidationError(f"{name}: {value!r} is not one of {', '.join(map(repr, choices))}")
    return value


def readonly(arr: np.ndarray) -> np.ndarray:
    """Return a read-only copy of ``arr`` (for frozen value types)."""
    out = np.array(arr, copy=True)
    out.setflags(write=False)
    return out
