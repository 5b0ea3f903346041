"""The thumbnail chooser on numpy frames: black, blurred, flat and mid-cut frames never become posters."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from media.thumbnails import (
    ThumbnailPicker,
    encode_jpeg,
    laplacian_variance,
    rejection,
    save_thumbnail,
    score_frame,
)

RNG = np.random.default_rng(7)


def textured(h: int = 180, w: int = 320, seed: int = 0) -> np.ndarray:
    """A detailed picture: broad shading (survives a blur) plus stripes, checks and noise (do not)."""
    y, x = np.mgrid[0:h, 0:w]
    broad = 60 + 120 * x / w + 30 * np.sin(y / 25 + seed)
    img = broad + 35 * np.sin(x / (3 + seed)) * np.cos(y / 5) + 30 * (((x // 8) + (y // 8)) % 2 - 0.5)
    return np.clip(img + RNG.normal(0, 6, (h, w)), 0, 255).astype(np.float32)


def box_blur(img: np.ndarray, radius: int = 6) -> np.ndarray:
    """Separable box blur via cumulative sums: what an out-of-focus phone camera gives."""
    k = 2 * radius + 1
    p = np.pad(img, radius, mode="edge")
    c = np.cumsum(np.cumsum(p, 0), 1)
    c = np.pad(c, ((1, 0), (1, 0)))
    return ((c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)).astype(np.float32)


def test_a_sharp_detailed_frame_is_accepted() -> None:
    assert rejection(score_frame(textured(), None)) is None


def test_black_and_near_black_frames_are_rejected() -> None:
    assert rejection(score_frame(np.full((180, 320), 16, np.float32), None)) == "black"
    dark = np.clip(textured() * 0.1, 0, 255)  # detail, but far too dark to be a poster
    assert rejection(score_frame(dark, None)) == "black"


def test_blurred_frames_are_rejected_by_the_variance_of_the_laplacian() -> None:
    sharp = textured()
    blurred = box_blur(sharp)
    assert laplacian_variance(blurred) < laplacian_variance(sharp) / 20
    assert rejection(score_frame(blurred, None)) == "blurred"


def test_a_flat_card_and_a_washed_out_frame_are_rejected() -> None:
    assert rejection(score_frame(np.full((180, 320), 128, np.float32), None)) == "flat"
    assert rejection(score_frame(np.full((180, 320), 250, np.float32), None)) == "washed_out"


def test_a_frame_at_a_scene_cut_is_rejected_but_the_next_one_is_fine() -> None:
    before, after = textured(seed=0), 255 - textured(seed=4)
    assert rejection(score_frame(after, before)) == "scene_cut"
    assert rejection(score_frame(after, after + RNG.normal(0, 2, after.shape).astype(np.float32))) is None


def _frame(luma: np.ndarray) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(np.repeat(luma.astype(np.uint8)[..., None], 3, axis=2), format="rgb24")


def test_the_picker_keeps_the_sharpest_acceptable_candidate(tmp_path: Path) -> None:
    picker = ThumbnailPicker(interval_s=10, first_after_s=1.0, sample_every_s=0.25)
    sharp, black = textured(), np.full((180, 320), 0, np.float32)
    softer = box_blur(sharp, 1)  # acceptable, but less sharp than ``sharp``
    offers = [
        (0.0, black, None),
        (0.25, box_blur(sharp), box_blur(sharp)),
        (0.5, sharp, sharp),
        (0.75, softer, softer),
        (0.8, textured(seed=9), textured(seed=9)),  # too soon: not sampled
        (1.0, 255 - sharp, sharp),
    ]  # a cut
    for at, luma, previous in offers:
        picker.offer(at, _frame(luma), luma, previous)
    assert picker.take_due(0.9) is None  # not due before first_after_s
    chosen = picker.take_due(1.0)
    assert chosen is not None and chosen.at_s == 0.5
    assert picker.rejected == {"black": 1, "blurred": 1, "scene_cut": 1}
    path, size = save_thumbnail(chosen, tmp_path, 0)
    assert path.read_bytes()[:3] == b"\xff\xd8\xff" and size == path.stat().st_size
    assert (tmp_path / "poster.jpg").read_bytes() == path.read_bytes()
    decoded = next(av.open(str(path)).decode(video=0))
    assert (decoded.width, decoded.height) == (320, 180)


def test_jpeg_of_a_portrait_frame_keeps_its_shape() -> None:
    frame = _frame(textured(320, 180)).reformat(format="yuvj420p")
    assert encode_jpeg(frame)[:2] == b"\xff\xd8"
