"""The built-in dancer: a procedural figure, its choreography and its music.

    body.py    skeleton joints, body proportions, camera, pose -> silhouette (`draw_poses`)
    choreo.py  the move library and the seeded, beat-timed choreography (poses for any frame range)
    music.py   the drum track on the same beat, rendered in chunks (a medley of tempos for clips)
"""

from .body import HAIR_STYLES, JOINTS, Body, Camera, draw_pose, draw_poses, project, rotate_y
from .choreo import MOVES, PARAMS, Choreography, Segment, forward_kinematics, rest_pose, tempo_from_seed
from .music import SAMPLE_RATE, DrumTrack, write_medley, write_music

__all__ = ["HAIR_STYLES", "JOINTS", "Body", "Camera", "draw_pose", "draw_poses", "project", "rotate_y",
           "MOVES", "PARAMS", "Choreography", "Segment", "forward_kinematics", "rest_pose", "tempo_from_seed",
           "SAMPLE_RATE", "DrumTrack", "write_medley", "write_music"]
