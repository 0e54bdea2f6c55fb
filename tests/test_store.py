import json
import multiprocessing as mp

import numpy as np
import pytest

from deepdance.errors import UserError
from deepdance.store import FrameStore, StoreWriter

from conftest import blob_frames


@pytest.mark.parametrize("packed", [False, True])
def test_round_trip_in_chunks(tmp_path, packed):
    frames = blob_frames(25)
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12, packed=packed,
                     source={"kind": "test"}) as w:
        for chunk in (frames[:7], frames[7:20], frames[20:]):
            w.append(chunk)
    store = FrameStore.open(tmp_path / "s")
    assert len(store) == 25 and (store.width, store.height, store.fps) == (80, 48, 12)
    back = store.frames()
    if packed:  # bits keep the shape, not the grey anti-aliased edge
        assert np.array_equal(back < 128, frames < 128)
    else:
        assert np.array_equal(back, frames)
    assert np.array_equal(store.frames(5, 9), back[5:9])
    assert np.array_equal(store[3:20:4], back[3:20:4])
    assert np.array_equal(store.take([24, 0, 3]), back[[24, 0, 3]])
    ink = store.ink([0])
    assert ink.dtype == np.float32 and np.allclose(ink, 1 - back[:1] / 255.0)  # 1 = dancer


def test_packed_is_eight_times_smaller(tmp_path):
    frames = blob_frames(16)
    for name, packed in (("u8", False), ("bits", True)):
        with StoreWriter(tmp_path / name, width=80, height=48, fps=12, packed=packed) as w:
            w.append(frames)
    assert (tmp_path / "u8" / "frames.bin").stat().st_size == 8 * (tmp_path / "bits" / "frames.bin").stat().st_size


def test_clips_are_recorded(tmp_path):
    frames = blob_frames(10)
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12) as w:
        w.append(frames[:4])
        w.end_clip()
        w.append(frames[4:])
    assert FrameStore.open(tmp_path / "s").clips == [(0, 4), (4, 10)]


def test_truncated_store_is_a_clear_error(tmp_path):
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12) as w:
        w.append(blob_frames(5))
    data = tmp_path / "s" / "frames.bin"
    data.write_bytes(data.read_bytes()[:-100])
    with pytest.raises(UserError, match="truncated"):
        FrameStore.open(tmp_path / "s")


def test_manifest_mismatch_and_missing(tmp_path):
    with pytest.raises(UserError, match="no frame store"):
        FrameStore.open(tmp_path / "nothing")
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12) as w:
        w.append(blob_frames(5))
    m = json.loads((tmp_path / "s" / "manifest.json").read_text())
    m["width"] = 81
    (tmp_path / "s" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(UserError, match="manifest says"):
        FrameStore.open(tmp_path / "s")
    (tmp_path / "s" / "manifest.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        FrameStore.open(tmp_path / "s")


def test_failed_write_leaves_old_store_intact(tmp_path):
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12) as w:
        w.append(blob_frames(5))
    with pytest.raises(UserError, match="already exists"):
        StoreWriter(tmp_path / "s", width=80, height=48, fps=12)
    with pytest.raises(RuntimeError):
        with StoreWriter(tmp_path / "s", width=80, height=48, fps=12, force=True) as w:
            w.append(blob_frames(3))
            raise RuntimeError("interrupted")
    assert len(FrameStore.open(tmp_path / "s")) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["s"]


def _sum_in_child(path, q):
    store = FrameStore.open(path)
    q.put(int(store.frames(0, len(store)).astype(np.int64).sum()))


def test_many_processes_read_one_store(tmp_path):
    frames = blob_frames(30)
    with StoreWriter(tmp_path / "s", width=80, height=48, fps=12) as w:
        w.append(frames)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_sum_in_child, args=(tmp_path / "s", q)) for _ in range(3)]
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join()
    assert results == [int(frames.astype(np.int64).sum())] * 3
