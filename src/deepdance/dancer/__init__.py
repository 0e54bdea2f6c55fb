"""The built-in dancer: a procedural figure, its choreography and its music, and outside motion on its body.

    body.py        skeleton joints, body proportions, camera, pose -> silhouette (`draw_poses`)
    kinematics.py  pose parameters -> joints (`forward_kinematics`), the figure at rest (`rest_pose`)
    choreo.py      the move library and the seeded, beat-timed choreography (poses for any frame range)
    music.py       the drum track on the same beat, rendered in chunks (a medley of tempos for clips)

Outside motion on the same body (`from deepdance.dancer.motion import load_motion`):
    motion.py      `Motion` and `load_motion`, by file suffix; `motion_frames` renders it
    bvh.py         BVH motion capture: parse, forward kinematics, joints found by name
    keypoints.py   COCO-17 2-D keypoints: one camera view, unsure joints filled over time
    staging.py     what both share: the built-in figure as yardstick, the dance stood on the stage
"""

from .body import HAIR_STYLES, JOINTS, Body, Camera, draw_pose, draw_poses, project, rotate_y
from .choreo import MOVES, Choreography, Segment, tempo_from_seed
from .kinematics import PARAMS, forward_kinematics, rest_pose
from .music import SAMPLE_RATE, DrumTrack, write_medley, write_music

__all__ = ["HAIR_STYLES", "JOINTS", "Body", "Camera", "draw_pose", "draw_poses", "project", "rotate_y",
           "MOVES", "Choreography", "Segment", "tempo_from_seed",
           "PARAMS", "forward_kinematics", "rest_pose",
           "SAMPLE_RATE", "DrumTrack", "write_medley", "write_music"]
