"""Poses: one skeleton format for every source, the estimator that finds it in video, and `deepdance pose`.

    skeleton.py   the joint set (COCO-17 + hands + toes), PoseTrack, converters from every source, PCK
    estimator.py  the PoseEstimator interface and BlazePose full (MediaPipe, offline)
    track.py      track_video: every frame of a video -> .npz (AIST++ layout + our joints) + preview.mp4
"""

from .estimator import BlazePose, FramePose, PoseEstimator, mediapipe_solutions
from .skeleton import (COCO17_INDEX, DANCER_HEIGHT_M, JOINTS, PoseTrack, from_blazepose, from_coco17, from_dancer,
                       from_motion, pck)
from .track import draw_skeleton, preview_path, track_video

__all__ = ["BlazePose", "FramePose", "PoseEstimator", "mediapipe_solutions", "COCO17_INDEX", "DANCER_HEIGHT_M",
           "JOINTS", "PoseTrack", "from_blazepose", "from_coco17", "from_dancer", "from_motion", "pck",
           "draw_skeleton", "preview_path", "track_video"]
