"""A visible band for synthetic images (S C.3): a copy of the picture, taller by a dark band at the
bottom that carries the synthetic-media label («СИНТЕТИКАЛЫҚ СУРЕТ, ЖИ көмегімен жасалған: …») in
white. The picture's own pixels are untouched above the band; the band is added, never drawn over
the image, so nothing of the work is hidden.

The label is drawn with DejaVu Sans (Debian's ``fonts-dejavu-core``), which has every Kazakh
letter; a font that lacks a letter of the label is refused rather than drawing boxes. Pixels are
decoded by Pillow, so the decompression-bomb limit (``Limits.max_image_pixels``) is checked on the
header before any pixel is read. The copy is re-encoded losslessly where the format allows it
(PNG, WebP lossless, TIFF with LZW), so the original region equals the source pixel for pixel;
JPEG has no lossless re-encoding, so it is saved with the source's own quantisation tables and
chroma subsampling, which keeps it within a few levels of the source.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from attribution.provenance import (
    HostileFile,
    Limits,
    Provenance,
    StampError,
    UnsupportedFile,
    atomic_output,
    check_extension,
    sniff,
)

FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_PACKAGE = "fonts-dejavu-core"
#: Narrower than this, a line of the band holds a handful of letters at the smallest legible size
#: and the label becomes a column of fragments: such images are refused.
MIN_WIDTH = 128
MIN_FONT_SIZE = 10
MAX_FONT_SIZE = 72
PILLOW_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF"}
_SUFFIXES = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "tiff": ".tif"}
_MAX_SIDE = {"jpeg": 65_500, "webp": 16_383}  # what the encoders accept
_ABSENT = "\U0010fffd"  # a private-use code point no font maps: it renders the missing-glyph box


class FontMissing(StampError):
    """The band's font is not installed, or lacks a letter of the label."""


@dataclass(frozen=True)
class Layout:
    """How the label sits in a band ``width`` pixels wide."""

    width: int
    font_size: int
    padding: int
    line_height: int
    lines: tuple[str, ...]

    @property
    def height(self) -> int:
        return 2 * self.padding + len(self.lines) * self.line_height


def labelled_path(dest: Path) -> Path:
    """``poster.ai-stamped.png`` → ``poster.ai-stamped.labelled.png``, beside it."""
    dest = Path(dest)
    return dest.with_name(f"{dest.stem}.labelled{dest.suffix}" if dest.suffix else f"{dest.name}.labelled")


def load_font(size: int = MIN_FONT_SIZE, font_file: Path = FONT_FILE) -> Any:
    """The band's font at ``size`` px. Raises ``FontMissing`` naming the Debian package."""
    from PIL import ImageFont

    try:
        return ImageFont.truetype(str(font_file), size)
    except OSError:
        raise FontMissing(f"the font for the visible band is missing ({font_file}): "
                          f"apt-get install {FONT_PACKAGE}") from None


def check_font(text: str, font_file: Path = FONT_FILE) -> None:
    """Refuse a font that would draw the missing-glyph box for any letter of ``text``."""
    font = load_font(MIN_FONT_SIZE * 2, font_file)
    absent = font.getmask(_ABSENT)
    absent_key = (absent.size, bytes(absent))
    missing = sorted({char for char in text if not char.isspace()
                      and (font.getmask(char).size, bytes(font.getmask(char))) == absent_key})
    if missing:
        raise FontMissing(f"the font {font_file.name} has no glyph for {''.join(missing)!r}; "
                          f"the visible band needs {FONT_PACKAGE}")


def font_size_for(width: int) -> int:
    return max(MIN_FONT_SIZE, min(MAX_FONT_SIZE, width // 40))


def layout(text: str, width: int, font_file: Path = FONT_FILE) -> Layout:
    """Wrap ``text`` to ``width``: whole words where they fit, a word longer than a line split
    between letters."""
    size = font_size_for(width)
    font = load_font(size, font_file)
    padding = max(4, size // 2)
    room = width - 2 * padding
    ascent, descent = font.getmetrics()
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= room:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:  # a word wider than a whole line is broken where it must be
            if line and font.getlength(line + char) > room:
                lines.append(line)
                line = ""
            line += char
    if line:
        lines.append(line)
    return Layout(width=width, font_size=size, padding=padding, line_height=ascent + descent + max(1, size // 5),
                  lines=tuple(lines))


def band_mask(text: str, width: int, font_file: Path = FONT_FILE) -> Any:
    """The band as an 'L' image: 0 where the background goes, up to 255 where the letters are."""
    from PIL import Image, ImageDraw

    plan = layout(text, width, font_file)
    mask = Image.new("L", (width, plan.height), 0)
    draw = ImageDraw.Draw(mask)
    font = load_font(plan.font_size, font_file)
    for number, line in enumerate(plan.lines):
        draw.text((plan.padding, plan.padding + number * plan.line_height), line, font=font, fill=255)
    return mask


# The band's background (a near-black, so that the band stands apart from any picture) and the
# letters' colour (white), in the pixel format the copy is drawn in.
_COLOURS: dict[str, tuple[Any, Any]] = {
    "L": (32, 255),
    "LA": ((32, 255), (255, 255)),
    "RGB": ((32, 32, 32), (255, 255, 255)),
    "RGBA": ((32, 32, 32, 255), (255, 255, 255, 255)),
    "CMYK": ((0, 0, 0, 223), (0, 0, 0, 0)),
    "I;16": (32 * 257, 65535),
    "I;16B": (32 * 257, 65535),
    "I;16L": (32 * 257, 65535),
}


def _drawable(picture: Any, name: str) -> tuple[Any, str | None]:
    """``picture`` in a pixel format the band can be drawn in, and the format to save it in
    (None: as drawn). Palettes become RGB(A): re-quantising would change the picture's pixels."""
    mode = picture.mode
    if mode in _COLOURS:
        return picture, None
    if mode == "1":
        return picture.convert("L"), "1"
    if mode in ("P", "PA"):
        return picture.convert("RGBA" if mode == "PA" or "transparency" in picture.info else "RGB"), None
    raise UnsupportedFile(f"{name}: its pixel format ({mode}) is not one a visible band is drawn on")


def _open(src: Path, kind: str, limits: Limits) -> Any:
    from PIL import Image

    name = src.name
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its two bomb thresholds; here that is a refusal too
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(src, formats=[PILLOW_FORMATS[kind]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise HostileFile(f"{name} declares more pixels than the limit of "
                          f"{limits.max_image_pixels // 1_000_000} MP for drawing a band") from None
    except Exception as exc:  # Pillow's parsers raise many kinds of exception on damaged input
        raise UnsupportedFile(f"{name}: cannot read its pixels ({_one_line(exc)})") from None
    return picture


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:120]


def draw_band(src: Path, out: BinaryIO, text: str, limits: Limits | None = None, *,
              font_file: Path = FONT_FILE) -> str:
    """Write into ``out`` a copy of the image ``src`` (same format) with ``text`` in a band added
    at its bottom; returns the kind. Raises ``StampError`` before writing anything when the image
    is not a still JPEG/PNG/WebP/TIFF, is damaged, too big to decode, or narrower than
    ``MIN_WIDTH``."""
    from PIL import ImageOps, JpegImagePlugin

    limits = limits or Limits()
    src = Path(src)
    name = src.name
    kind = sniff(src, limits)
    if kind not in PILLOW_FORMATS:
        raise UnsupportedFile(f"{name}: a visible band is drawn on JPEG, PNG, WebP and TIFF images only")
    check_extension(src, kind)
    if src.stat().st_size > limits.max_file_bytes:
        raise HostileFile(f"{name} is {src.stat().st_size // (1024 * 1024)} MB; the limit is "
                          f"{limits.max_file_bytes // (1024 * 1024)} MB (ADAL_STAMP_MAX_FILE_MB)")
    check_font(text, font_file)
    with _open(src, kind, limits) as source:
        width, height = source.size
        if width * height > limits.max_image_pixels:
            raise HostileFile(f"{name} has {width}×{height} pixels; the limit for drawing a band is "
                              f"{limits.max_image_pixels // 1_000_000} MP")
        try:
            frames = getattr(source, "n_frames", 1)
            if frames > 1 and kind != "jpeg":  # a camera's MPO JPEG adds a preview or depth map: kept out
                raise UnsupportedFile(f"{name} has {frames} frames; a visible band is drawn on still images only")
            source.load()
            # a photo shown rotated by its EXIF orientation gets the band under what people see
            picture = ImageOps.exif_transpose(source) if source.getexif().get(0x0112, 1) != 1 else source
        except StampError:
            raise
        except Exception as exc:  # truncated data, a bad IFD, a broken chunk: Pillow's own exceptions
            raise UnsupportedFile(f"{name}: cannot read its pixels ({_one_line(exc)})") from None
        width, height = picture.size
        if width < MIN_WIDTH:
            raise UnsupportedFile(f"{name} is {width} px wide; a visible band needs at least {MIN_WIDTH} px "
                                  "to be readable")
        mask = band_mask(text, width, font_file)
        total = height + mask.height
        if width * total > limits.max_image_pixels:
            raise HostileFile(f"{name} with its band would have {width}×{total} pixels; the limit for drawing "
                              f"a band is {limits.max_image_pixels // 1_000_000} MP")
        if max(width, total) > _MAX_SIDE.get(kind, 1 << 31):
            raise UnsupportedFile(f"{name} with its band would be {total} px tall; {kind.upper()} allows "
                                  f"{_MAX_SIDE[kind]} px")
        work, save_mode = _drawable(picture, name)
        from PIL import Image

        background, ink = _COLOURS[work.mode]
        copy = Image.new(work.mode, (width, total), background)
        copy.paste(work, (0, 0))
        copy.paste(ink, (0, height, width, total), mask)
        if save_mode is not None:
            copy = copy.convert(save_mode, dither=Image.Dither.NONE)
        options: dict[str, Any] = {key: source.info[key] for key in ("icc_profile", "dpi") if key in source.info}
        if kind == "jpeg":
            options["qtables"] = source.quantization
            sampling = JpegImagePlugin.get_sampling(source)
            if sampling >= 0:
                options["subsampling"] = sampling
        elif kind == "png" and "transparency" in source.info and copy.mode in ("L", "RGB", "I;16"):
            options["transparency"] = source.info["transparency"]
        elif kind == "webp":
            options.update(lossless=True, exact=True)  # exact: keep the colour of transparent pixels
        elif kind == "tiff":
            options["compression"] = "tiff_lzw"
        copy.save(out, PILLOW_FORMATS[kind], **options)
    return kind


def stamp_band_copy(src: Path, dest: Path, provenance: Provenance, *, lang: str = "kk", limits: Limits | None = None,
                    exiftool: Any = None, font_file: Path = FONT_FILE, **stamp_options: Any) -> str:
    """Write to ``dest`` a copy of the image ``src`` with the synthetic-media label in a visible
    band, stamped with ``provenance`` exactly as ``stamp_file(..., synthetic=True)`` stamps the
    plain copy (``stamp_options`` are passed on to it). Returns the kind. The band and the stamp
    are made in a private directory; ``dest`` appears whole or not at all. Raises ``StampError``."""
    from attribution.media import synthetic_label
    from attribution.stamping import stamp_file

    limits = limits or Limits()
    src, dest = Path(src), Path(dest)
    if not src.exists():
        raise StampError(f"{src.name}: no such file")
    if dest.exists() and os.path.samefile(src, dest):
        raise StampError(f"{src.name}: the labelled copy would overwrite the original; choose another name")
    if dest.is_dir():
        raise StampError(f"{dest}: is a directory")
    label = synthetic_label(provenance, lang, "image")
    with tempfile.TemporaryDirectory(prefix="adal-band-") as private:  # mode 0700
        kind = sniff(src, limits)
        # the drawn copy keeps the source's name, so that a refusal by the stamp names the user's file
        usable = "\n" not in src.name and "\r" not in src.name and len(src.name.encode()) < 200
        drawn_name = src.name if usable else "image"
        if not check_suffix(Path(drawn_name), kind):
            drawn_name += _SUFFIXES[kind]
        drawn = Path(private) / drawn_name
        with open(drawn, "wb") as handle:
            draw_band(src, handle, label, limits, font_file=font_file)
        stamped = Path(private) / f"stamped{_SUFFIXES[kind]}"
        stamp_file(drawn, stamped, provenance, lang=lang, limits=limits, synthetic=True, exiftool=exiftool,
                   **stamp_options)
        with atomic_output(dest) as out, open(stamped, "rb") as handle:
            shutil.copyfileobj(handle, out, 1024 * 1024)
    return kind


def check_suffix(path: Path, kind: str) -> bool:
    """Whether ``path``'s extension is one of ``kind``'s (``.jpeg`` for a JPEG, ``.tiff`` ...)."""
    from attribution.provenance import EXTENSIONS

    return EXTENSIONS.get(path.suffix.lower()) == kind
