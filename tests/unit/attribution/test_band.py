"""The visible band on synthetic images (S C.3): the picture untouched above a band that carries the
label in letters Kazakh readers can read, the metadata stamped into the copy, bad images refused."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from attribution.band import (
    FONT_FILE,
    MIN_WIDTH,
    FontMissing,
    band_mask,
    check_font,
    draw_band,
    labelled_path,
    layout,
    load_font,
    stamp_band_copy,
)
from attribution.media import CONFIG_FILE, ExifTool, synthetic_label
from attribution.provenance import TRAINED_ALGORITHMIC_MEDIA, HostileFile, Limits, Provenance, StampError
from attribution.stamping import inspect_file
from tests.unit.attribution.media_samples import IMAGE_FORMATS, SUFFIX

PROVENANCE = Provenance(service="ChatGPT", model="GPT-4o", model_version="2024-08-06",
                        generation_date=dt.date(2026, 11, 20), responsible="Айгүл Сәрсенова",
                        tasks=("иллюстрация",))
LABEL = synthetic_label(PROVENANCE, "kk", "image")
BACKGROUND_RGB = (32, 32, 32)


@pytest.fixture(scope="module")
def session() -> Iterator[ExifTool]:
    with ExifTool() as tool:
        yield tool


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Temporary files go to a directory of their own, which must be empty after every test."""
    directory = tmp_path / "tmpdir"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory
    assert list(directory.iterdir()) == []


def picture(width: int = 240, height: int = 160, mode: str = "RGB") -> Image.Image:
    """A smooth picture with some detail (a photo more than noise), in ``mode``."""
    base = Image.new("RGB", (width, height))
    base.putdata([((x * 255) // width, (y * 255) // height, ((x + y) * 3) % 256 if (x // 20 + y // 20) % 2 else 90)
                  for y in range(height) for x in range(width)])
    return base.convert(mode) if mode != "RGB" else base


def save(image: Image.Image, path: Path, fmt: str, **options: object) -> Path:
    image.save(path, fmt, **options)
    return path


def exiftool_json(path: Path) -> dict[str, str]:
    done = subprocess.run(["exiftool", "-config", str(CONFIG_FILE), "-j", "-G1", "-a", str(path)],
                          capture_output=True, check=True)
    assert b"Warning" not in done.stderr
    return json.loads(done.stdout)[0]


def band_of(labelled: Path, source_height: int) -> Image.Image:
    with Image.open(labelled) as copy:
        return copy.convert("RGB").crop((0, source_height, copy.width, copy.height))


def ink(band: Image.Image) -> float:
    """The share of the band's pixels that are not its background: the drawn letters."""
    background = Image.new("RGB", band.size, BACKGROUND_RGB)
    differing = ImageChops.difference(band, background).convert("L").point(lambda v: 255 if v > 40 else 0)
    return ImageStat.Stat(differing).mean[0] / 255


# -- the copy -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(IMAGE_FORMATS))
def test_band_copy_round_trip(tmp_path: Path, session: ExifTool, kind: str) -> None:
    options = {"lossless": True} if kind == "webp" else {"quality": 90} if kind == "jpeg" else {}
    src = save(picture(), tmp_path / f"poster{SUFFIX[kind]}", IMAGE_FORMATS[kind], **options)
    before = src.read_bytes()
    dest = tmp_path / f"poster.labelled{SUFFIX[kind]}"
    assert stamp_band_copy(src, dest, PROVENANCE, exiftool=session) == kind
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, dest.name, "tmpdir"])

    expected_band = layout(LABEL, 240).height
    with Image.open(src) as original, Image.open(dest) as copy:
        assert copy.format == IMAGE_FORMATS[kind]
        assert copy.size == (240, 160 + expected_band), "taller by the band, as wide as the picture"
        region = copy.convert("RGB").crop((0, 0, 240, 160))
        source = original.convert("RGB")
        if kind == "jpeg":  # no lossless re-encoding: the source's tables keep it within a few levels
            difference = ImageChops.difference(region, source)
            assert max(ImageStat.Stat(difference).mean) < 4.0  # blue: the fine stripes lose most
            # brightness, above the last row (whose colour the decoder blends with the band's)
            brightness = ImageChops.difference(region.convert("L"), source.convert("L")).crop((0, 0, 240, 159))
            assert brightness.getextrema()[1] <= 12
        else:
            assert region.tobytes() == source.tobytes(), "the picture's own pixels are untouched"
    assert ink(band_of(dest, 160)) > 0.03, "letters are drawn in the band"

    shown = exiftool_json(dest)  # an independent exiftool process
    assert shown["XMP-adal:SyntheticLabel"] == LABEL
    assert shown["XMP-adal:Model"] == "GPT-4o" and shown["XMP-adal:ResponsibleContact"] == "Айгүл Сәрсенова"
    assert shown["XMP-iptcExt:DigitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert shown["IFD0:Software"] == PROVENANCE.creator_tool
    report = inspect_file(dest)
    assert report.fields == {**PROVENANCE.fields(), "SyntheticLabel": LABEL}


@pytest.mark.parametrize(("mode", "fmt", "options"), [
    ("P", "PNG", {"transparency": 0}),
    ("L", "PNG", {}),
    ("LA", "PNG", {}),
    ("I;16", "PNG", {}),
    ("1", "TIFF", {}),
    ("CMYK", "TIFF", {}),
    ("RGBA", "WEBP", {"lossless": True}),
    ("CMYK", "JPEG", {"quality": 95}),
    ("L", "JPEG", {"quality": 95}),
])
def test_pixel_formats(tmp_path: Path, mode: str, fmt: str, options: dict[str, object]) -> None:
    if mode == "I;16":
        source_image = Image.new("I;16", (160, 48))
        source_image.putdata([x * 400 + y for y in range(48) for x in range(160)])
    else:
        source_image = picture(160, 48, mode if mode != "P" else "RGB")
        if mode == "P":
            source_image = source_image.quantize(64)
    suffix = {"PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "JPEG": ".jpg"}[fmt]
    src = save(source_image, tmp_path / f"in{suffix}", fmt, **options)
    out = io.BytesIO()
    draw_band(src, out, LABEL)
    with Image.open(src) as original, Image.open(io.BytesIO(out.getvalue())) as copy:
        assert copy.format == fmt and copy.width == 160 and copy.height > 48
        region = copy.crop((0, 0, 160, 48))
        source = original.convert(copy.mode) if original.mode != copy.mode else original
        if fmt == "JPEG":
            difference = ImageChops.difference(region.convert("RGB"), source.convert("RGB"))
            assert max(ImageStat.Stat(difference).mean) < 1.0
        else:
            assert region.tobytes() == source.tobytes()
        if mode == "I;16":
            assert copy.mode == "I;16", "16-bit stays 16-bit"
        band = copy.crop((0, 48, 160, copy.height))
        low, high = band.getextrema() if mode == "I;16" else band.convert("L").getextrema()
        assert high - low > (100 * 257 if mode == "I;16" else 100), "letters stand out from the band"


def test_kazakh_letters_are_drawn_not_boxes() -> None:
    """Every letter of the kk label has a glyph in the band's font, and the Kazakh-only letters
    look different from one another (the missing-glyph box would make them identical)."""
    check_font(LABEL)
    font = load_font(20)
    masks = {letter: bytes(font.getmask(letter)) for letter in "ҚқЫҒғӘәҮүҰұӨөІіҢңҺһ"}
    assert len(set(masks.values())) == len(masks)
    assert all(any(mask) for mask in masks.values())
    mask = band_mask(LABEL, 400)
    assert mask.getextrema() == (0, 255)


def test_a_font_without_kazakh_letters_is_refused(tmp_path: Path) -> None:
    math_font = FONT_FILE.with_name("DejaVuMathTeXGyre.ttf")
    if not math_font.exists():
        pytest.skip("DejaVuMathTeXGyre.ttf (fonts-dejavu-core) is not installed")
    with pytest.raises(FontMissing, match="no glyph for") as refused:
        check_font(LABEL, math_font)
    assert "Қ" in str(refused.value)
    src = save(picture(), tmp_path / "a.png", "PNG")
    out = io.BytesIO()
    with pytest.raises(FontMissing):
        draw_band(src, out, LABEL, font_file=math_font)
    assert out.getvalue() == b""


def test_a_missing_font_names_the_package(tmp_path: Path) -> None:
    src = save(picture(), tmp_path / "a.png", "PNG")
    with pytest.raises(FontMissing, match="apt-get install fonts-dejavu-core"):
        stamp_band_copy(src, tmp_path / "a.labelled.png", PROVENANCE, font_file=tmp_path / "no-such-font.ttf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "tmpdir"]


# -- sizes --------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [MIN_WIDTH, 200, 640, 1920, 4000])
@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_text_wraps_to_the_width(width: int, lang: str) -> None:
    text = synthetic_label(PROVENANCE, lang, "image")
    plan = layout(text, width)
    font = load_font(plan.font_size)
    assert all(font.getlength(line) <= width - 2 * plan.padding for line in plan.lines)
    assert " ".join(plan.lines) == text, "nothing is lost in wrapping"
    assert plan.font_size >= 10


def test_a_long_word_is_broken_to_fit() -> None:
    plan = layout("Сөз" * 40, MIN_WIDTH)
    assert "".join(plan.lines) == "Сөз" * 40 and len(plan.lines) > 1


def test_a_tiny_image_is_refused_and_the_minimum_width_works(tmp_path: Path, session: ExifTool) -> None:
    tiny = save(picture(32, 32), tmp_path / "icon.png", "PNG")
    with pytest.raises(StampError, match=f"32 px wide; a visible band needs at least {MIN_WIDTH} px"):
        stamp_band_copy(tiny, tmp_path / "icon.labelled.png", PROVENANCE, exiftool=session)
    assert not (tmp_path / "icon.labelled.png").exists()
    narrow = save(picture(MIN_WIDTH, 32), tmp_path / "narrow.png", "PNG")
    stamp_band_copy(narrow, tmp_path / "narrow.labelled.png", PROVENANCE, lang="ru", exiftool=session)
    with Image.open(tmp_path / "narrow.labelled.png") as copy:
        assert copy.size == (MIN_WIDTH, 32 + layout(synthetic_label(PROVENANCE, "ru", "image"), MIN_WIDTH).height)
    assert ink(band_of(tmp_path / "narrow.labelled.png", 32)) > 0.03


def test_exif_orientation_puts_the_band_under_what_people_see(tmp_path: Path) -> None:
    stored = picture(160, 240)  # shown rotated by 90°: 240 wide, 160 tall
    exif = Image.Exif()
    exif[0x0112] = 6
    src = save(stored, tmp_path / "phone.jpg", "JPEG", exif=exif, quality=95)
    out = io.BytesIO()
    draw_band(src, out, LABEL)
    with Image.open(io.BytesIO(out.getvalue())) as copy:
        assert copy.size == (240, 160 + layout(LABEL, 240).height)
        assert copy.getexif().get(0x0112, 1) == 1


# -- refusals -------------------------------------------------------------------------------------
def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` × ``height`` with a token of data: a decompression bomb's header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize(("width", "height"), [(9000, 9000), (9500, 9500), (30000, 30000)])
def test_decompression_bombs_are_refused_before_decoding(tmp_path: Path, width: int, height: int) -> None:
    """Over Adal's limit only (81 MP), where Pillow would only warn (90 MP), and where Pillow
    refuses by itself (900 MP): one refusal, no pixel decoded."""
    src = tmp_path / "bomb.png"
    src.write_bytes(_png_header_only(width, height))
    out = io.BytesIO()
    with pytest.raises(HostileFile, match="MP"):
        draw_band(src, out, LABEL)
    assert out.getvalue() == b""


def test_the_band_counts_towards_the_pixel_limit(tmp_path: Path) -> None:
    src = save(picture(200, 100), tmp_path / "a.png", "PNG")
    with pytest.raises(HostileFile, match="with its band"):
        draw_band(src, io.BytesIO(), LABEL, Limits(max_image_pixels=200 * 110))


@pytest.mark.parametrize(("fmt", "suffix"), [("PNG", ".png"), ("WEBP", ".webp"), ("TIFF", ".tif")])
def test_animations_and_multipage_images_are_refused(tmp_path: Path, fmt: str, suffix: str) -> None:
    frames = [picture(), picture().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    src = tmp_path / f"anim{suffix}"
    frames[0].save(src, fmt, save_all=True, append_images=frames[1:])
    with pytest.raises(StampError, match="2 frames; a visible band is drawn on still images only"):
        draw_band(src, io.BytesIO(), LABEL)


def test_a_camera_mpo_jpeg_gets_its_main_picture_banded(tmp_path: Path) -> None:
    main, preview = picture(), picture(120, 80)
    src = tmp_path / "camera.jpg"
    main.save(src, "MPO", save_all=True, append_images=[preview], quality=95)
    with Image.open(src) as opened:
        assert getattr(opened, "n_frames", 1) == 2
    out = io.BytesIO()
    draw_band(src, out, LABEL)
    with Image.open(io.BytesIO(out.getvalue())) as copy:
        assert copy.format == "JPEG" and getattr(copy, "n_frames", 1) == 1
        assert copy.size == (240, 160 + layout(LABEL, 240).height)


def _cut_png(path: Path) -> None:
    buffer = io.BytesIO()
    picture().save(buffer, "PNG")
    path.write_bytes(buffer.getvalue()[:400])


@pytest.mark.parametrize(("name", "make", "message"), [
    ("cut.png", _cut_png, "cannot read its pixels"),
    ("text.png", lambda p: p.write_text("not a picture"), "not a PDF, DOCX"),
    ("essay.pdf", lambda p: p.write_bytes(b"%PDF-1.7\n%%EOF\n"), "JPEG, PNG, WebP and TIFF images only"),
])
def test_bad_inputs_get_one_line_and_no_output(tmp_path: Path, name: str, make, message: str) -> None:
    src = tmp_path / name
    make(src)
    with pytest.raises(StampError, match=message):
        stamp_band_copy(src, tmp_path / "out.png", PROVENANCE)
    assert not (tmp_path / "out.png").exists()


def test_the_copy_never_overwrites_its_source(tmp_path: Path) -> None:
    src = save(picture(), tmp_path / "a.png", "PNG")
    before = src.read_bytes()
    with pytest.raises(StampError, match="overwrite the original"):
        stamp_band_copy(src, src, PROVENANCE)
    assert src.read_bytes() == before


def test_odd_names_keep_working(tmp_path: Path, session: ExifTool) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    src = save(picture(), folder / "-o", "PNG")  # no extension, and read as an option by many tools
    stamp_band_copy(src, folder / "-@.png", PROVENANCE, exiftool=session)
    assert sorted(p.name for p in folder.iterdir()) == ["-@.png", "-o"]
    assert exiftool_json(folder / "-@.png")["XMP-adal:SyntheticLabel"] == LABEL


def test_labelled_path() -> None:
    assert labelled_path(Path("out/poster.ai-stamped.png")) == Path("out/poster.ai-stamped.labelled.png")
    assert labelled_path(Path("scan")) == Path("scan.labelled")
