"""What ingest does to footage, piece by piece (blocks: no stage imported).

    inputs.py   one video or image folder: facts, frames decoded once, truncation
    poses.py    the estimator over every source frame (full-rate track), sample poses
    framing.py  crop / pad / tracked box, joints mapped alike, the framing defaults
    sink.py     cut frames + poses -> the store: clips, gaps, the skeleton check, previews
"""
