"""The anything-else cut: MediaPipe's selfie segmenter (its model ships in the wheel, offline)."""

from __future__ import annotations

import cv2
import numpy as np

from ..pose.estimator import mediapipe_solutions, quiet_native_stderr
from .base import Cutter


class SegmentCutter(Cutter):
    """Person segmentation with mediapipe's selfie segmenter (the tflite model ships in its wheel)."""

    mode = "segment"

    def __init__(self, portrait: bool = False):
        # model 1 ("landscape", 256x144) is the faster one and suits wide frames; a portrait frame squeezed
        # into it loses the dancer's limbs, so it gets model 0 ("general", 256x256)
        self.portrait = bool(portrait)
        with quiet_native_stderr():
            self._seg = mediapipe_solutions().selfie_segmentation.SelfieSegmentation(
                model_selection=0 if portrait else 1)

    def score(self, rgb: np.ndarray) -> np.ndarray:
        with quiet_native_stderr():   # every call: the native side logs when it likes (10 us a frame)
            mask = self._seg.process(np.ascontiguousarray(rgb)).segmentation_mask
        return cv2.convertScaleAbs(mask, alpha=255.0)

    @property
    def params(self) -> dict:
        return {"model": f"mediapipe selfie_segmentation ({'general' if self.portrait else 'landscape'})"}
