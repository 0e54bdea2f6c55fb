import numpy as np
import pytest
import soundfile as sf

from deepdance.errors import UserError
from deepdance.video import probe, read_audio, read_frames, write_video

from conftest import blob_frames


def phone_clip(path, frames: np.ndarray, *, rotation: int, fps: float = 12):
    """Write RGB `frames` as a phone stores them: coded turned by -`rotation` degrees, with a display matrix
    that turns them back by `rotation` (counter-clockwise) to show them."""
    import av

    with av.open(str(path), "w") as c:
        coded = [np.ascontiguousarray(np.rot90(f, -(rotation // 90))) for f in frames]
        vs = c.add_stream("libx264", rate=fps)
        vs.height, vs.width = coded[0].shape[:2]
        vs.pix_fmt = "yuv420p"
        vs.set_display_rotation(rotation)
        for f in coded:
            c.mux(vs.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(vs.encode())


def test_mp4_with_audio_decodes_back(tmp_path):
    sr = 22050
    t = np.arange(sr * 4) / sr
    sf.write(tmp_path / "a.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sr)
    frames = blob_frames(24)
    n = write_video(tmp_path / "v.mp4", [frames[:10], frames[10:]], fps=12, audio=tmp_path / "a.wav")
    info = probe(tmp_path / "v.mp4")
    assert n == 24 and info["codec"] == "h264" and info["has_audio"]
    decoded = [f for _, f in read_frames(tmp_path / "v.mp4", fmt="gray")]
    assert len(decoded) == 24
    assert np.abs(decoded[5][:48, :80].astype(int) - frames[5]).mean() < 10
    # the sound is cut to the dance: 2 s of video, not the 4 s of the WAV
    assert abs(len(read_audio(tmp_path / "v.mp4")) / 22050 - 2.0) < 0.1


def test_sampling_rate_and_odd_sizes(tmp_path):
    frames = (np.arange(36)[:, None, None] * 7 % 255).astype(np.uint8) * np.ones((1, 31, 45), np.uint8)
    write_video(tmp_path / "v.mp4", frames, fps=12)
    assert len(list(read_frames(tmp_path / "v.mp4", fps=3))) == 9
    assert probe(tmp_path / "v.mp4")["width"] == 46  # padded to even for yuv420p


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_a_phone_clip_is_read_the_way_up_it_was_filmed(tmp_path, rotation):
    # a tall picture with a mark at its top left: coded sideways or upside down, shown upright
    frames = np.full((6, 64, 32, 3), 255, np.uint8)
    frames[:, :16, :8] = 0
    phone_clip(tmp_path / "p.mp4", frames, rotation=rotation)
    info = probe(tmp_path / "p.mp4")
    assert (info["width"], info["height"], info["rotation"]) == (32, 64, rotation % 360)
    decoded = [f for _, f in read_frames(tmp_path / "p.mp4")]
    assert len(decoded) == 6 and decoded[0].shape == (64, 32, 3)
    assert np.abs(decoded[3].astype(int) - frames[3]).mean() < 6


def test_gif(tmp_path):
    write_video(tmp_path / "v.gif", blob_frames(12), fps=10)
    assert len(list(read_frames(tmp_path / "v.gif"))) == 12


def test_bad_files(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("hello, not a video")
    for name, msg in (("missing.mp4", "no such file"), ("empty.mp4", "empty"), ("text.mp4", "not a readable video")):
        with pytest.raises(UserError, match=msg):
            probe(tmp_path / name)


def test_write_video_raises_what_the_frame_source_raises(tmp_path):
    def frames():
        yield np.full((4, 16, 16), 255, np.uint8)
        raise UserError("the source broke")

    with pytest.raises(UserError, match="the source broke"):
        write_video(tmp_path / "x.mp4", frames(), fps=12)
    assert not (tmp_path / "x.mp4").exists()


def test_same_frames_same_bytes(tmp_path):
    # x264's macroblock tree gave a different file nearly every time for the same frames on this CPU
    from test_cut import room_clip

    frames = room_clip()[0]
    digests = set()
    for i in range(4):
        write_video(tmp_path / f"{i}.mp4", frames, fps=12)
        digests.add((tmp_path / f"{i}.mp4").read_bytes())
    assert len(digests) == 1
