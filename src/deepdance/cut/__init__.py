"""Frame -> silhouette: the cut modes, the automatic choice between them, mask cleaning, the skeleton check.

Every cutter works on RGB uint8 frames at working resolution and returns a *score* picture
(uint8, >= 128 means dancer) rather than a hard mask, so that scores of neighbouring frames can be
averaged before thresholding (less flicker). `clean` then turns a hard mask into one dancer.

    base.py        the Cutter interface, picture helpers (Otsu, border pixels)
    threshold.py   shadow dance: Otsu threshold on grey, polarity from the border
    chroma.py      green or blue screen: colour-difference key, key colour from the border
    background.py  static (or slowly drifting) camera: background learnt from the clip, shadow-aware
    segment.py     person segmentation with mediapipe's selfie segmenter (in the normal install)
    clean.py       a hard mask -> one dancer (Limits, clean, dancer_share)
    check.py       how well a silhouette holds the skeleton (joints inside, silhouette near the bones)
    choose.py      the mode asked for, or `auto`: picks one from sample frames and says why
"""

from .background import BackgroundCutter
from .base import Cutter, border_pixels, otsu
from .chroma import ChromaCutter
from .check import Tally, describe, frame_fit
from .choose import MODES, POLARITIES, choose_cut, make_cutter, sample_figures
from .clean import Limits, clean, dancer_share
from .segment import SegmentCutter
from .threshold import ThresholdCutter

__all__ = ["BackgroundCutter", "ChromaCutter", "Cutter", "Limits", "MODES", "POLARITIES", "SegmentCutter",
           "ThresholdCutter", "Tally", "border_pixels", "choose_cut", "clean", "dancer_share", "describe", "frame_fit",
           "make_cutter", "otsu", "sample_figures"]
