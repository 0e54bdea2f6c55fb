import numpy as np
import pytest
import soundfile as sf

from deepdance.errors import UserError
from deepdance.video import probe, read_audio, read_frames, write_video

from conftest import blob_frames


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
