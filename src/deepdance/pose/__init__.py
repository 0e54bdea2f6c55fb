"""Poses: one skeleton format for every source (skeleton.py) and the estimator that finds it in video (estimator.py)."""

from .estimator import BlazePose, FramePose, PoseEstimator, mediapipe_solutions
from .skeleton import (COCO17_INDEX, DANCER_HEIGHT_M, JOINTS, PoseTrack, from_blazepose, from_coco17, from_dancer,
                       from_motion, pck)

__all__ = ["BlazePose", "FramePose", "PoseEstimator", "mediapipe_solutions", "COCO17_INDEX", "DANCER_HEIGHT_M",
           "JOINTS", "PoseTrack", "from_blazepose", "from_coco17", "from_dancer", "from_motion", "pck"]
