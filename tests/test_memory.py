"""The data loader streams frames from the memory map: it never materialises the whole store."""

import numpy as np
import pytest

from deepdance.store import FrameStore, StoreWriter
from deepdance.datasets import FrameData


def anon_rss_mb() -> float:
    """Private (anonymous) resident memory: what a copy of the store would add. Pages of the memory-mapped
    file are page cache shared with every process and are not counted here."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no RssAnon in /proc/self/status")


@pytest.mark.slow
def test_loader_does_not_materialise_a_1gb_store(tmp_path):
    h, w, n = 480, 800, 2700  # 2700 * 384,000 bytes ~ 1 GB
    chunk = np.full((100, h, w), 255, np.uint8)
    chunk[:, 100:400, 350:450] = 0
    with StoreWriter(tmp_path / "big", width=w, height=h, fps=12) as writer:
        for _ in range(n // 100):
            writer.append(chunk)
    store = FrameStore.open(tmp_path / "big")
    assert (tmp_path / "big" / "frames.bin").stat().st_size > 1_000_000_000
    data = FrameData(store, batch_size=32, val_fraction=0.1)
    before = anon_rss_mb()
    peak, seen = 0.0, 0
    for batch in data.train_dataloader():
        seen += len(batch)
        peak = max(peak, anon_rss_mb() - before)
    assert seen >= 0.85 * n
    assert peak < 150, f"loading grew private memory by {peak:.0f} MB for a 1 GB store"
