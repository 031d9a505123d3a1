import json
import os

import pytest

from grasp_core.files import atomic_write, atomic_write_bytes, atomic_write_json


def test_crash_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "ckpt.bin"
    atomic_write_bytes(path, b"old")

    def crash(fh):
        fh.write(b"half of the new")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write(path, crash)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.bin"]


def test_json_and_mode(tmp_path):
    import numpy as np

    path = atomic_write_json(tmp_path / "sub" / "r.json", {"b": np.float32(1.5), "a": np.arange(2)})
    assert json.loads(path.read_text()) == {"a": [0, 1], "b": 1.5}
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask
