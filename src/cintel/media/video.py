"""Decode video frames with PyAV: only the frames an analyzer needs, at the size it needs.

Two ways in:

- ``scan_frames`` decodes every frame once, in order, scaled down by FFmpeg's
  scaler to a small analysis size (shot detection, black and frozen frames).
  Memory is one small frame at a time, whatever the length.
- ``frames_at`` decodes the frames nearest to chosen times at a bounded size
  (keyframes). It decodes forward between close targets and seeks to the
  preceding keyframe for distant ones, so a 10-hour video with a few hundred
  shots is not decoded end to end.

Both raise ``BadInputError`` naming the file and what went wrong: no video
stream (an audio-only file), no frames, corrupt data, over the duration limit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from cintel.config import Limits
from cintel.errors import BadInputError


@dataclass(frozen=True)
class VideoInfo:
    """The first video stream of a file, as its headers describe it."""

    width: int
    height: int
    fps: float
    duration_s: float
    codec: str
    frames: int
    """Frame count from the header, or estimated from duration and rate; 0 when unknown."""


MAX_DAMAGED_PACKETS = 1000
"""Undecodable packets after which a video counts as corrupt rather than damaged."""
TIME_SLACK_S = 1.0
"""How far past the declared duration, or back in time, a frame's timestamp may be
before it counts as damaged."""
TRUNCATION_S = 0.5
TRUNCATION_SHARE = 0.02
"""Frames ending this long (or this share of the duration) before the header's duration
mean the rest of the data could not be read: a damaged stretch to the end."""


@dataclass
class Damage:
    """What a scan had to skip: packets FFmpeg could not decode, the stretches of time
    they left without frames (from the last good frame before to the first good one
    after), and where the readable data ended if the demuxer gave up early."""

    packets: int = 0
    stretches: list[tuple[float, float]] = field(default_factory=list)
    ended_at: float | None = None

    def hit(self, at: float) -> None:
        """A packet failed to decode; the last good frame was at ``at`` seconds."""
        self.packets += 1
        if self.open:
            return
        self.stretches.append((at, -1.0))

    def resume(self, at: float) -> None:
        """A frame decoded again at ``at`` seconds: close the open stretch."""
        if self.open:
            start = self.stretches[-1][0]
            self.stretches[-1] = (start, max(start, at))

    @property
    def open(self) -> bool:
        """Whether the last stretch has not seen a good frame since."""
        return bool(self.stretches) and self.stretches[-1][1] < 0

    def close(self, at: float) -> None:
        """The scan ended at ``at`` seconds: a stretch still open ends there."""
        self.resume(at)

    def merged(self, gap: float = 0.1) -> list[tuple[float, float]]:
        """The stretches with those less than ``gap`` apart joined, rounded to ms."""
        out: list[tuple[float, float]] = []
        for start, end in sorted(self.stretches):
            if out and start - out[-1][1] < gap:
                out[-1] = (out[-1][0], max(out[-1][1], end))
            else:
                out.append((start, end))
        return [(round(a, 3), round(max(a, b), 3)) for a, b in out]

    @property
    def seconds(self) -> float:
        """Seconds of the video without decodable frames."""
        return sum(end - start for start, end in self.merged())


def analysis_size(width: int, height: int, target_width: int) -> tuple[int, int]:
    """An even width x height of about ``target_width`` wide with the source's aspect ratio."""
    target_width = min(target_width, width) if width > 0 else target_width
    w = max(2, target_width - target_width % 2)
    h = max(2, round(w * height / max(width, 1)))
    return w, h - h % 2


def _open(path: str | Path, label: str) -> Any:
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise BadInputError(
            f"cannot be opened as a video ({exc}); re-encode it to a common format (H.264 MP4)",
            source=label,
        ) from exc


def _video_stream(container: Any, label: str) -> Any:
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    raise BadInputError(
        "has no video stream (it is audio only, or its only picture is cover art); "
        "analyse it with an audio pipeline such as 'podcast' or 'audio'",
        source=label,
    )


def _stream_info(container: Any, stream: Any, label: str, limits: Limits) -> VideoInfo:
    ctx = stream.codec_context
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration:
        duration = container.duration / 1_000_000
    else:
        duration = 0.0
    if duration > limits.max_duration_s:
        raise BadInputError(
            f"lasts {duration:.0f} s, over the limit of {limits.max_duration_s:.0f} s "
            "(CINTEL_LIMIT_MAX_DURATION_S)",
            source=label,
        )
    width, height = ctx.width or 0, ctx.height or 0
    if width <= 0 or height <= 0:
        raise BadInputError(
            f"declares a {width} x {height} video stream; the header is broken: re-encode it",
            source=label,
        )
    if width * height > limits.max_image_pixels:
        raise BadInputError(
            f"has {width} x {height} frames, over the pixel limit of "
            f"{limits.max_image_pixels:,} (CINTEL_LIMIT_MAX_IMAGE_PIXELS)",
            source=label,
        )
    frames = stream.frames or (round(duration * fps) if fps and duration else 0)
    return VideoInfo(
        width=width,
        height=height,
        fps=fps,
        duration_s=duration,
        codec=ctx.codec.canonical_name if ctx.codec else "unknown",
        frames=int(frames),
    )


def video_info(
    path: str | Path, limits: Limits | None = None, source: str | None = None
) -> VideoInfo:
    """The first video stream's size, rate, duration and codec, from the headers."""
    label = source or str(path)
    container = _open(path, label)
    with container:
        return _stream_info(container, _video_stream(container, label), label, limits or Limits())


MAX_FPS = 240
"""Frames a second at most: a file whose timestamps pack more is refused (its frame count,
not its duration, would set the cost)."""


def _origin(container: Any) -> float:
    """When the file's timeline starts, seconds; times are reported from there (an MPEG-TS
    file often starts at 1.4 s or later), the same origin as its decoded audio."""
    return container.start_time / 1_000_000 if container.start_time else 0.0


def _frame_time(frame: Any, index: int, fps: float, origin: float) -> float:
    if frame.time is not None:
        return max(0.0, float(frame.time) - origin)
    return index / fps if fps else float(index)


def scan_frames(
    path: str | Path,
    width: int = 128,
    pixel_format: str = "rgb24",
    limits: Limits | None = None,
    source: str | None = None,
    threads: int = 0,
    damage: Damage | None = None,
) -> tuple[VideoInfo, Iterator[tuple[float, np.ndarray]]]:
    """Every frame in presentation order as ``(seconds, array)``, scaled to about ``width``.

    Arrays are ``height x width x 3`` uint8 for ``rgb24`` or ``height x width`` for
    ``gray``. The info comes first so callers can size their buffers; the iterator
    owns the open file and closes it when exhausted or garbage-collected.
    ``threads`` is FFmpeg's decoding thread count (0: as many as it likes).

    Damaged packets are skipped and counted in ``damage`` (with the stretches of time
    they cost), as is data the demuxer cannot read past; only a video with no
    decodable frame, or more than ``MAX_DAMAGED_PACKETS`` undecodable packets, is
    ``bad_input``.
    """
    import av

    label = source or str(path)
    limits = limits or Limits()
    container = _open(path, label)
    try:
        stream = _video_stream(container, label)
        info = _stream_info(container, stream, label, limits)
    except BaseException:
        container.close()
        raise
    stream.thread_type = "AUTO"
    if threads:
        stream.codec_context.thread_count = threads
    out_w, out_h = analysis_size(info.width, info.height, width)

    from av.video.reformatter import VideoReformatter

    # One reformatter for the whole scan keeps FFmpeg's scaler set up between frames
    # (a fresh one per frame costs several times the scaling itself).
    scaler = VideoReformatter()

    origin = _origin(container)
    most_frames = int(limits.max_duration_s * MAX_FPS)

    found = damage if damage is not None else Damage()

    def decoded() -> Iterator[Any]:
        """The stream's frames, packet by packet, skipping packets that fail to decode
        and stopping (not failing) where the demuxer cannot read on."""
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except (av.FFmpegError, IndexError):  # IndexError: PyAV on a stream that appears
                found.ended_at = last_good[0]  # mid-file in damaged data
                return
            try:
                frames = packet.decode()
            except av.FFmpegError:
                found.hit(last_good[0])
                if found.packets > MAX_DAMAGED_PACKETS:
                    raise BadInputError(
                        f"has more than {MAX_DAMAGED_PACKETS} undecodable video packets; it "
                        "is corrupt: re-download or re-encode it",
                        source=label,
                    ) from None
                continue
            yield from frames

    last_good = [0.0]

    def frames() -> Iterator[tuple[float, np.ndarray]]:
        index = 0
        last = 0.0
        try:
            for frame in decoded():
                seconds = _frame_time(frame, index, info.fps, origin)
                if info.duration_s > 0 and (
                    seconds > info.duration_s + TIME_SLACK_S or seconds < last - TIME_SLACK_S
                ):
                    # A timestamp damage made up (far past the end, or back in time): the
                    # frame is dropped as damaged rather than placed there.
                    found.hit(last)
                    continue
                found.resume(seconds)
                last_good[0] = seconds
                if seconds > limits.max_duration_s:
                    raise BadInputError(
                        f"plays past {limits.max_duration_s:.0f} s, over the duration limit "
                        "(CINTEL_LIMIT_MAX_DURATION_S)",
                        source=label,
                    )
                if index >= most_frames:
                    raise BadInputError(
                        f"holds over {most_frames:,} frames, more than {MAX_FPS} a second for "
                        "the duration limit (CINTEL_LIMIT_MAX_DURATION_S); its timestamps "
                        "are broken or hostile: re-encode it",
                        source=label,
                    )
                array = scaler.reformat(
                    frame, width=out_w, height=out_h, format=pixel_format, interpolation="AREA"
                ).to_ndarray()
                last = seconds
                index += 1
                yield seconds, array
        except av.FFmpegError as exc:
            raise BadInputError(
                f"is corrupt after {last:.2f} s of video ({exc}); re-download or re-encode it",
                source=label,
            ) from exc
        finally:
            container.close()
        if index == 0:
            raise BadInputError(
                "has a video stream with no decodable frames; re-encode it", source=label
            )
        end = max(last, info.duration_s)
        short = end - last > max(TRUNCATION_S, TRUNCATION_SHARE * info.duration_s)
        lost = found.ended_at is not None and end - last > 1.5 / (info.fps or 25.0)
        if not found.open and (short or lost):
            found.stretches.append((last, end))  # the data stopped before the duration
            found.ended_at = last
        found.close(end)

    return info, frames()


def _seek(container: Any, stream: Any, seconds: float) -> Iterator[Any]:
    """Seek to the keyframe at or before ``seconds`` of the file's clock; a new decoder."""
    offset = max(0.0, seconds) / float(stream.time_base) if stream.time_base else 0
    container.seek(int(offset), stream=stream, backward=True, any_frame=False)
    decoded: Iterator[Any] = container.decode(stream)
    return decoded


def _to_image(frame: Any, max_side: int) -> Image.Image:
    width, height = frame.width, frame.height
    scale = min(1.0, max_side / max(width, height))
    if scale < 1.0:
        w = max(2, round(width * scale))
        h = max(2, round(height * scale))
        image: Image.Image = frame.to_image(width=w - w % 2, height=h - h % 2, interpolation="AREA")
    else:
        image = frame.to_image()
    return image


def frames_at(
    path: str | Path,
    times: Sequence[float],
    max_side: int = 1280,
    limits: Limits | None = None,
    source: str | None = None,
    seek_gap_s: float = 8.0,
) -> list[tuple[float, Image.Image]]:
    """The frame shown at each of ``times`` (seconds), as RGB images at most ``max_side``.

    Targets are visited in time order. When the next target is more than
    ``seek_gap_s`` ahead, the decoder seeks to the keyframe before it instead of
    decoding everything in between. Returns ``(actual frame time, image)`` pairs in
    the order of ``times``; a target past the last frame gets the last frame.
    """
    import av

    label = source or str(path)
    limits = limits or Limits()
    if not times:
        return []
    order = sorted(range(len(times)), key=lambda i: times[i])
    found: dict[int, tuple[float, Image.Image]] = {}
    container = _open(path, label)
    with container:
        stream = _video_stream(container, label)
        info = _stream_info(container, stream, label, limits)
        stream.thread_type = "AUTO"
        origin = _origin(container)
        half_frame = 0.5 / info.fps if info.fps else 0.0
        decoder: Iterator[Any] | None = None
        position = -1.0  # time of the last frame decoded
        chosen: tuple[float, Image.Image] | None = None  # the last frame handed out
        previous: tuple[float, Any] | None = None
        index = 0
        try:
            for slot in order:
                target = max(0.0, float(times[slot]))
                if chosen is not None and abs(target - chosen[0]) <= half_frame:
                    found[slot] = chosen  # the same frame again
                    continue
                if decoder is None and target <= seek_gap_s:
                    decoder = container.decode(stream)  # near the start: no seek needed
                elif decoder is None or target - position > seek_gap_s or target < position:
                    decoder = _seek(container, stream, target + origin)
                    previous = None
                hit = None
                for attempt, frame in enumerate(decoder):
                    seconds = _frame_time(frame, index, info.fps, origin)
                    index += 1
                    position = seconds
                    if attempt == 0 and previous is None and seconds > target + half_frame > 0:
                        # The demuxer landed past the target (MPEG-TS seeks by bytes):
                        # start again well before it, once.
                        decoder = _seek(container, stream, target + origin - 4 * seek_gap_s)
                        for again in decoder:
                            seconds = _frame_time(again, index, info.fps, origin)
                            position = seconds
                            if seconds + half_frame >= target:
                                hit = (seconds, again)
                                break
                            previous = (seconds, again)
                        break
                    if seconds + half_frame >= target:
                        hit = (seconds, frame)
                        break
                    previous = (seconds, frame)
                if hit is None:
                    if previous is None:
                        raise BadInputError(
                            f"has no decodable frame at or before {target:.2f} s", source=label
                        )
                    hit = previous
                    decoder = None
                chosen = (hit[0], _to_image(hit[1], max_side))
                found[slot] = chosen
        except av.FFmpegError as exc:
            raise BadInputError(
                f"cannot be decoded near {position:.2f} s ({exc}); re-download or re-encode it",
                source=label,
            ) from exc
    return [found[i] for i in range(len(times))]
