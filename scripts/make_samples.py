"""Regenerate ``samples/``: small, synthetic, redistributable inputs for demos and tests.

Every file is made here from nothing but code: speech comes from the ``espeak-ng``
synthesiser, music from numpy oscillators, pictures from Pillow, and PyAV (bundled
FFmpeg) encodes the audio and video. Seeds are fixed and the muxers run in bit-exact
mode, so a rerun with the same tool versions gives the same bytes.

The spoken and written texts below double as ground truth for analyzers: the
interview names people (Daniel Brooks, Amara Okafor), places (Lisbon, Nairobi) and
organisations (the Northwind Institute, the United Nations), and carries a sponsor
read (Brightleaf Coffee, promo code SIGNAL20, brightleaf.com/signal).

Usage::

    python scripts/make_samples.py [--out samples]

Needs ``espeak-ng`` on PATH (``apt-get install espeak-ng``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SEED = 20240611
MAX_TOTAL_BYTES = 2_500_000
SUBDIRS = ("speech", "music", "video", "images", "text")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
ESPEAK_RATE = 22050
BITEXACT = {"fflags": "+bitexact"}

# (speaker, espeak-ng voice, pitch 0-99, words per minute, line)
HOST = ("Daniel Brooks", "en-us", 40, 172)
GUEST = ("Amara Okafor", "en-gb+f3", 62, 165)
INTERVIEW = [
    (
        HOST,
        "Welcome back to The Signal Hour. I'm Daniel Brooks, and today I'm joined by "
        "Doctor Amara Okafor from the Northwind Institute in Lisbon.",
    ),
    (GUEST, "Thanks, Daniel. It's lovely to be here."),
    (
        HOST,
        "First, a word from our sponsor, Brightleaf Coffee. Use the promo code "
        "SIGNAL20 at brightleaf dot com slash signal for twenty percent off.",
    ),
    (
        GUEST,
        "This year our team recorded river sounds in Nairobi, together with the United Nations.",
    ),
    (HOST, "Fascinating. Stay with us after the break."),
]
NARRATOR = ("en-gb-x-rp", 45, 165)
AUDIOBOOK = (
    "Chapter one. The lighthouse at Carrow Point had been dark for eleven years, "
    "yet every evening Eliza Hartley climbed its hundred steps with a lantern, "
    "and watched the grey sea for a ship. The villagers said she was waiting for "
    "someone who had promised to come home."
)
VIDEO_LINE = ("en-us", 45, 160, "Welcome to the cintel demo. This is episode forty two.")

ARTICLE_MD = """\
# Harbour City Turns Its Old Tram Depot Into a Solar Library

*By Lena Marsh, Harbour City Courier — 14 March 2024*

Harbour City opened the doors of its long-abandoned tram depot on Saturday, unveiling
a public library that runs entirely on solar power. More than three thousand residents
queued along Quay Street for the ribbon cutting, and by noon the children's section
had run out of library cards.

## From rust to reading rooms

The depot, built in 1911, housed the city's trams until the network closed in 1978.
For decades it stood empty, its glass roof broken and its rails buried under weeds.
In 2019 the city council launched a design competition, which was won by Okafor &
Lindqvist Architects, a small firm from Bergen.

"We wanted to keep the bones of the building," said lead architect Ingrid Lindqvist.
"The rails are still in the floor. The old repair pits are now sunken reading rooms,
and the roof that once let in the rain now carries the panels that power the lights."

## Numbers behind the project

The roof holds 1,240 solar panels with a peak output of 480 kilowatts. A battery bank
in the former ticket hall stores enough energy to keep the building open for two
cloudy days. According to the Harbour City Energy Office, the library will feed a
surplus back into the grid for about seven months of the year.

- Total cost: 18.5 million euros
- Books on opening day: 112,000
- Seats: 640, including 90 in the children's wing
- Opening hours: 8 a.m. to 10 p.m., seven days a week

## Mixed reactions

Not everyone is convinced. Councillor Peter Vance, who voted against the budget,
called the project "a beautiful building at a painful price" and argued that the
money should have gone to the city's ageing ferry fleet. Local shop owners, on the
other hand, report that footfall on Quay Street has already doubled.

Mayor Sofia Reyes defended the spending in her opening speech. "A library is the one
place in a city where nobody has to buy anything to belong," she said. "This one
also pays its own electricity bill."

## What comes next

The council plans to open a café and a repair workshop in the east wing next spring,
and the Northwind Institute will run free coding classes for teenagers on weekends.
Library cards are free for all residents and can be requested online or at the
front desk.
"""

NOTES_TXT = """\
Notes de réunion — comité de quartier, mardi 12 mars

Présents : Hélène, François, Zoé, Loïc et Maëlle.

1. Fête de la musique : la scène sera installée place de l'Église, près du café.
   François s'occupe des réservations ; Zoé prépare les affiches.
2. Le marché du jeudi déménage rue des Écoles à partir d'avril.
3. Budget : il reste 1 250 € pour l'été. Priorité aux bancs et à l'éclairage.

Prochaine réunion : le 9 avril à 18 h 30, à la bibliothèque. N'oubliez pas les clés !
"""

PAGE_HTML = """\
<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Night Ferries Return to Harbour City</title>
  <meta name="description" content="The night ferry service resumes after six years.">
  <meta name="author" content="Tomas Weber">
</head>
<body>
  <header>
    <nav><a href="/">Harbour City Courier</a> &rsaquo; <a href="/transport">Transport</a></nav>
  </header>
  <article>
    <h1>Night Ferries Return to Harbour City</h1>
    <p class="byline">By Tomas Weber · <time datetime="2024-05-02">2 May 2024</time></p>
    <p>After six years without a late service, night ferries will again cross the bay
       between Harbour City and Gull Island from 1 June, the Harbour Transport Authority
       announced on Thursday.</p>
    <h2>Every forty minutes until 2 a.m.</h2>
    <p>Two refitted electric vessels, the <em>Marlin</em> and the <em>Petrel</em>, will
       run every forty minutes. Single tickets cost 3.20 euros; monthly passes remain
       valid.</p>
    <blockquote>"People on Gull Island have waited a long time for this," said ferry
       captain Ana Duarte.</blockquote>
    <p>Timetables are available at <a href="https://example.org/ferries">example.org/ferries</a>.</p>
  </article>
  <footer><p>&copy; 2024 Harbour City Courier</p></footer>
</body>
</html>
"""

README_MD = """\
# Samples

Small synthetic inputs for trying cintel end to end: speech (`speech/interview.mp3`,
`speech/audiobook_excerpt.ogg`, made with the espeak-ng synthesiser), music
(`music/loop.flac`, synthesised), a short H.264/AAC video (`video/clip.mp4`), images
(`images/cover_art.png`, `images/photo.jpg` with an EXIF rotation tag) and text
(`text/`: Markdown, French plain text, HTML). Everything here is generated, not
recorded, and free to redistribute; `python scripts/make_samples.py` deletes and
regenerates it deterministically (it needs `espeak-ng`: `apt-get install espeak-ng`).
"""


# --- helpers ---------------------------------------------------------------------------------


def require_espeak() -> str:
    """The path of espeak-ng, or exit with a message saying how to install it."""
    path = shutil.which("espeak-ng")
    if path is None:
        sys.exit(
            "make_samples: the speech synthesiser espeak-ng was not found on PATH.\n"
            "Install it first, e.g. `sudo apt-get install espeak-ng`, then rerun."
        )
    return path


def speak(espeak: str, text: str, voice: str, pitch: int, speed: int, workdir: Path) -> np.ndarray:
    """Synthesise ``text`` with espeak-ng; mono float32 samples at ``ESPEAK_RATE``."""
    wav_path = workdir / "speech.wav"
    subprocess.run(
        [espeak, "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(wav_path), text],
        check=True,
    )
    with wave.open(str(wav_path), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            raise RuntimeError(f"unexpected espeak-ng WAV layout from {wav_path}")
        if wav.getframerate() != ESPEAK_RATE:
            raise RuntimeError(f"espeak-ng wrote {wav.getframerate()} Hz, expected {ESPEAK_RATE}")
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return trim_silence(pcm.astype(np.float32) / 32768.0)


def trim_silence(samples: np.ndarray, threshold: float = 0.003) -> np.ndarray:
    """Cut leading and trailing near-silence so pauses between lines are ours to choose."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return samples
    return samples[loud[0] : loud[-1] + 1]


def silence(seconds: float, rate: int = ESPEAK_RATE) -> np.ndarray:
    """``seconds`` of digital silence."""
    return np.zeros(round(seconds * rate), dtype=np.float32)


def normalise(samples: np.ndarray, peak: float) -> np.ndarray:
    """Scale so the loudest sample is ``peak`` (full scale is 1.0)."""
    top = float(np.max(np.abs(samples)))
    return samples if top == 0 else (samples * (peak / top)).astype(np.float32)


def audio_frames(samples: np.ndarray, rate: int, chunk: int = 4096) -> Iterable[av.AudioFrame]:
    """Float samples shaped (channels, n) as planar PyAV frames with timestamps."""
    samples = np.atleast_2d(samples).astype(np.float32)
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    for start in range(0, samples.shape[1], chunk):
        block = np.ascontiguousarray(samples[:, start : start + chunk])
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        yield frame


def encode_audio_stream(container, stream, samples: np.ndarray, rate: int) -> None:
    """Encode ``samples`` into ``stream`` (PyAV resamples to the codec's format and rate)."""
    for frame in audio_frames(samples, rate):
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def write_audio(
    path: Path,
    samples: np.ndarray,
    rate: int,
    *,
    codec: str,
    out_rate: int,
    fmt: str,
    bit_rate: int | None = None,
    options: dict[str, str] | None = None,
) -> None:
    """Encode mono or stereo float samples into a single-stream audio file."""
    layout = "mono" if np.atleast_2d(samples).shape[0] == 1 else "stereo"
    with av.open(str(path), "w", format=fmt, container_options=BITEXACT) as container:
        stream = container.add_stream(codec, rate=out_rate, layout=layout, options=options or {})
        if bit_rate:
            stream.bit_rate = bit_rate
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        encode_audio_stream(container, stream, samples, rate)


def load_font(size: int, bold: bool = False) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """DejaVu Sans at ``size`` px when installed, else Pillow's built-in scalable font."""
    path = FONT_DIR / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


def vertical_gradient(width: int, height: int, top: tuple, bottom: tuple) -> np.ndarray:
    """An RGB float array fading from ``top`` to ``bottom`` colour."""
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    colours = (1 - t) * np.array(top, np.float32) + t * np.array(bottom, np.float32)
    return np.broadcast_to(colours, (height, width, 3)).copy()


def draw_centred(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, font, **kw) -> None:
    """Draw ``text`` centred on ``xy``."""
    draw.text(xy, text, font=font, anchor="mm", **kw)


# --- speech ----------------------------------------------------------------------------------


def make_interview(espeak: str, path: Path, workdir: Path) -> None:
    """Two alternating voices with short pauses, MP3 mono 22.05 kHz ~64 kbit/s."""
    parts = [silence(0.3)]
    for (_name, voice, pitch, speed), line in INTERVIEW:
        parts += [speak(espeak, line, voice, pitch, speed, workdir), silence(0.45)]
    speech = normalise(np.concatenate(parts), 0.8)
    write_audio(
        path,
        speech,
        ESPEAK_RATE,
        codec="libmp3lame",
        out_rate=ESPEAK_RATE,
        fmt="mp3",
        bit_rate=64_000,
    )


def make_audiobook(espeak: str, path: Path, workdir: Path) -> None:
    """One narrator reading a paragraph, Opus in Ogg, 48 kHz mono."""
    voice, pitch, speed = NARRATOR
    speech = np.concatenate(
        [silence(0.3), speak(espeak, AUDIOBOOK, voice, pitch, speed, workdir), silence(0.5)]
    )
    write_audio(
        path,
        normalise(speech, 0.8),
        ESPEAK_RATE,
        codec="libopus",
        out_rate=48_000,
        fmt="ogg",
        bit_rate=32_000,
    )


# --- music -----------------------------------------------------------------------------------


MUSIC_RATE = 22050
BPM = 120
# C major, G major, A minor, F major: root-position triads as MIDI notes, one bar each.
PROGRESSION = [(48, 60, 64, 67), (43, 59, 62, 67), (45, 60, 64, 69), (41, 60, 65, 69)]


def midi_hz(note: int) -> float:
    """Frequency of a MIDI note number (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((note - 69) / 12)


def triangle(freq: float, t: np.ndarray) -> np.ndarray:
    """A band-friendly triangle wave in -1..1."""
    return (2 / np.pi) * np.arcsin(np.sin(2 * np.pi * freq * t))


def kick(rate: int) -> np.ndarray:
    """A kick-drum hit: a sine sweeping from 110 Hz down to 45 Hz with a fast decay."""
    t = np.arange(int(0.35 * rate)) / rate
    freq = 45 + 65 * np.exp(-t * 30)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    return np.sin(phase) * np.exp(-t * 9)


def hihat(rate: int, rng: np.random.Generator) -> np.ndarray:
    """A closed hi-hat: high-passed noise with a very short decay."""
    n = int(0.06 * rate)
    noise = rng.standard_normal(n)
    noise = np.diff(noise, prepend=0.0)  # crude high-pass
    return noise * np.exp(-np.arange(n) / rate * 70) * 0.25


def chord_bar(notes: tuple[int, ...], rate: int, bar_s: float) -> np.ndarray:
    """One bar of a chord (pad plus bass root) with an attack-decay envelope, stereo."""
    t = np.arange(int(bar_s * rate)) / rate
    envelope = np.minimum(t / 0.03, 1.0) * np.exp(-t * 1.1)
    bass = triangle(midi_hz(notes[0]), t) * 0.5
    pad_l = sum(triangle(midi_hz(n), t) for n in notes[1:]) / 3
    pad_r = sum(triangle(midi_hz(n) * 1.003, t) for n in notes[1:]) / 3  # slight detune
    return np.stack([bass + 0.45 * pad_l, bass + 0.45 * pad_r]) * envelope


def make_loop(path: Path, seconds: float = 12.0) -> None:
    """A 120 BPM chord progression with kick and hi-hat, stereo FLAC at 22.05 kHz."""
    rate, rng = MUSIC_RATE, np.random.default_rng(SEED)
    beat_s = 60 / BPM
    bar_s = 4 * beat_s
    total = int(seconds * rate)
    mix = np.zeros((2, total + rate), dtype=np.float64)
    for bar in range(round(seconds / bar_s)):
        start = int(bar * bar_s * rate)
        chord = chord_bar(PROGRESSION[bar % len(PROGRESSION)], rate, bar_s)
        mix[:, start : start + chord.shape[1]] += 0.35 * chord
    hit = kick(rate)
    for beat in range(round(seconds / beat_s)):
        start = int(beat * beat_s * rate)
        mix[:, start : start + hit.size] += 0.6 * hit
        hat = hihat(rate, rng)
        off = start + int(beat_s / 2 * rate)
        mix[0, off : off + hat.size] += 0.6 * hat
        mix[1, off : off + hat.size] += 1.0 * hat
    mix = normalise(mix[:, :total], 0.5)
    # 12-bit amplitude resolution: plenty for a test loop, and FLAC packs it tighter.
    mix = np.round(mix * 2048) / 2048
    write_audio(
        path,
        mix,
        rate,
        codec="flac",
        out_rate=rate,
        fmt="flac",
        options={"compression_level": "8"},
    )


# --- video -----------------------------------------------------------------------------------


VIDEO_SIZE = (640, 360)
VIDEO_FPS = 25
VIDEO_SECONDS = 6
# One background per shot; hard cuts at 2.0 s and 4.0 s.
SHOTS = [
    ((20, 60, 140), "CINTEL DEMO", "shot 1"),
    ((170, 40, 50), "Episode 42", "shot 2"),
    ((30, 120, 70), "The Signal Hour", "shot 3"),
]


def video_frame(index: int, fonts: tuple) -> Image.Image:
    """Frame ``index``: the shot's colour and title, a clock line and a moving marker."""
    big, small = fonts
    seconds = index / VIDEO_FPS
    colour, title, label = SHOTS[min(int(seconds // 2), len(SHOTS) - 1)]
    image = Image.new("RGB", VIDEO_SIZE, colour)
    draw = ImageDraw.Draw(image)
    width, height = VIDEO_SIZE
    draw_centred(draw, (width // 2, height // 2 - 20), title, big, fill="white")
    draw_centred(
        draw, (width // 2, height // 2 + 50), f"{label} · {seconds:4.2f} s", small, fill="white"
    )
    x = int((seconds % 2) / 2 * (width - 40)) + 20
    draw.rectangle([x - 10, height - 40, x + 10, height - 20], fill=(255, 220, 0))
    return image


def make_clip(espeak: str, path: Path, workdir: Path) -> None:
    """6 s of 640x360 H.264 at 25 fps with two hard cuts and a spoken AAC soundtrack."""
    voice, pitch, speed, line = VIDEO_LINE
    speech = np.concatenate([silence(0.4), speak(espeak, line, voice, pitch, speed, workdir)])
    speech = normalise(speech, 0.8)[: VIDEO_SECONDS * ESPEAK_RATE]
    speech = np.pad(speech, (0, VIDEO_SECONDS * ESPEAK_RATE - speech.size))
    fonts = (load_font(64, bold=True), load_font(28))
    with av.open(str(path), "w", format="mp4", container_options=BITEXACT) as container:
        video = container.add_stream(
            "libx264", rate=VIDEO_FPS, options={"crf": "30", "preset": "fast"}
        )
        video.width, video.height = VIDEO_SIZE
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = Fraction(1, VIDEO_FPS)
        audio = container.add_stream("aac", rate=44_100, layout="mono")
        audio.bit_rate = 64_000
        audio.codec_context.flags |= av.codec.context.Flags.bitexact
        for index in range(VIDEO_SECONDS * VIDEO_FPS):
            frame = av.VideoFrame.from_image(video_frame(index, fonts)).reformat(format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, VIDEO_FPS)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        encode_audio_stream(container, audio, speech, ESPEAK_RATE)


# --- images ----------------------------------------------------------------------------------


def make_cover_art(path: Path, size: int = 1400) -> None:
    """A square podcast cover: gradient, radio rings and a bold title, as a palette PNG."""
    pixels = vertical_gradient(size, size, (40, 20, 90), (240, 110, 60))
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    centre = (size // 2, int(size * 0.33))
    for radius in range(60, 420, 60):
        box = [centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius]
        draw.ellipse(box, outline=(255, 255, 255), width=8)
    draw.ellipse([centre[0] - 30, centre[1] - 30, centre[0] + 30, centre[1] + 30], fill="white")
    title = load_font(150, bold=True)
    draw_centred(draw, (size // 2, int(size * 0.70)), "The Signal", title, fill="white")
    draw_centred(draw, (size // 2, int(size * 0.81)), "Hour", title, fill="white")
    draw_centred(
        draw,
        (size // 2, int(size * 0.92)),
        "stories from the edge of data",
        load_font(54),
        fill=(255, 235, 210),
    )
    palette = image.quantize(colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette.save(path, optimize=True)


def photo_scene(width: int, height: int, rng: np.random.Generator) -> Image.Image:
    """An upright landscape-ish scene: sky, sun, hills, lake, trees, soft focus and grain."""
    sky = vertical_gradient(width, height, (70, 130, 210), (250, 200, 150))
    image = Image.fromarray(sky.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse(
        [width * 0.55, height * 0.18, width * 0.80, height * 0.18 + width * 0.25],
        fill=(255, 236, 170),
    )
    far = [
        (0, height * 0.55),
        (width * 0.3, height * 0.42),
        (width * 0.6, height * 0.52),
        (width * 0.85, height * 0.40),
        (width, height * 0.48),
        (width, height),
        (0, height),
    ]
    draw.polygon(far, fill=(90, 110, 140))
    near = [
        (0, height * 0.62),
        (width * 0.4, height * 0.56),
        (width, height * 0.64),
        (width, height),
        (0, height),
    ]
    draw.polygon(near, fill=(60, 110, 60))
    draw.rectangle([0, height * 0.78, width, height], fill=(50, 90, 130))
    for x in rng.uniform(0.05, 0.95, size=7) * width:
        base = height * 0.64
        draw.polygon([(x, base - 160), (x - 45, base + 10), (x + 45, base + 10)], fill=(30, 70, 40))
    image = image.filter(ImageFilter.GaussianBlur(3))
    grain = rng.normal(0.0, 3.0, size=(height, width, 1))
    noisy = np.clip(np.asarray(image, np.float32) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(noisy, "RGB")


def make_photo(path: Path) -> None:
    """A 1024x768 JPEG whose EXIF orientation (6) tells viewers to turn it upright.

    The scene is drawn upright as 768x1024 and stored turned 90° anticlockwise, so a
    viewer that honours orientation 6 (rotate 90° clockwise) shows it the right way up.
    """
    rng = np.random.default_rng(SEED + 1)
    stored = photo_scene(768, 1024, rng).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° CW to display
    exif[0x0131] = "cintel make_samples.py"  # Software
    stored.save(path, "JPEG", quality=85, exif=exif.tobytes())


# --- text ------------------------------------------------------------------------------------


def write_text(path: Path, text: str) -> None:
    """UTF-8 with LF line endings, whatever the platform."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def make_texts(out: Path) -> None:
    """The Markdown article, the French notes and the HTML page."""
    write_text(out / "text" / "article.md", ARTICLE_MD)
    write_text(out / "text" / "notes.txt", NOTES_TXT)
    write_text(out / "text" / "page.html", PAGE_HTML)


# --- driver ----------------------------------------------------------------------------------


def reset_output(out: Path) -> None:
    """Delete what an earlier run generated and recreate the empty folders."""
    for name in SUBDIRS:
        shutil.rmtree(out / name, ignore_errors=True)
        (out / name).mkdir(parents=True)
    (out / "README.md").unlink(missing_ok=True)


def print_table(out: Path) -> int:
    """Print every file under ``out`` with its size; return the total in bytes."""
    files = sorted(p for p in out.rglob("*") if p.is_file())
    width = max(len(str(p.relative_to(out))) for p in files)
    total = 0
    print(f"{'file':<{width}}  {'bytes':>10}")
    print(f"{'-' * width}  {'-' * 10}")
    for p in files:
        size = p.stat().st_size
        total += size
        print(f"{p.relative_to(out)!s:<{width}}  {size:>10,}")
    print(f"{'-' * width}  {'-' * 10}")
    print(
        f"{'total':<{width}}  {total:>10,}  ({total / 1e6:.2f} MB, budget "
        f"{MAX_TOTAL_BYTES / 1e6:.1f} MB)"
    )
    return total


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path("samples"), help="output folder (default: samples)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    espeak = require_espeak()
    out: Path = args.out
    reset_output(out)
    with tempfile.TemporaryDirectory(prefix="make_samples_") as tmp:
        workdir = Path(tmp)
        make_interview(espeak, out / "speech" / "interview.mp3", workdir)
        make_audiobook(espeak, out / "speech" / "audiobook_excerpt.ogg", workdir)
        make_clip(espeak, out / "video" / "clip.mp4", workdir)
    make_loop(out / "music" / "loop.flac")
    make_cover_art(out / "images" / "cover_art.png")
    make_photo(out / "images" / "photo.jpg")
    make_texts(out)
    write_text(out / "README.md", README_MD)
    total = print_table(out)
    if total > MAX_TOTAL_BYTES:
        print(
            f"error: samples total {total:,} bytes, over the {MAX_TOTAL_BYTES:,} budget",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
