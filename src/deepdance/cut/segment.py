"""The anything-else cut: MediaPipe's selfie segmenter (its model ships in the wheel, offline)."""

from __future__ import annotations

import cv2
import numpy as np

from ..pose.estimator import mediapipe_solutions
from .base import Cutter


class SegmentCutter(Cutter):
    """Person segmentation with mediapipe's selfie segmenter (the tflite model ships in its wheel)."""

    mode = "segment"

    def __init__(self):
        # model 1 ("landscape") is the faster one and suits wide dance frames
        self._seg = mediapipe_solutions().selfie_segmentation.SelfieSegmentation(model_selection=1)

    def score(self, rgb: np.ndarray) -> np.ndarray:
        mask = self._seg.process(np.ascontiguousarray(rgb)).segmentation_mask
        return cv2.convertScaleAbs(mask, alpha=255.0)

    @property
    def params(self) -> dict:
        return {"model": "mediapipe selfie_segmentation (landscape)"}
