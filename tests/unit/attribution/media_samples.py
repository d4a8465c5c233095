"""Media files generated at test time (no binary fixtures). Images come from Pillow (already in
the environment); MP4/MOV and MP3 are built byte by byte: a minimal ISO BMFF file with one track
whose chunk offset points into ``mdat``, and a few silent MPEG-1 Layer III frames."""

from __future__ import annotations

import io
import struct

from PIL import Image

IMAGE_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "tiff": "TIFF"}
SUFFIX = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "tiff": ".tif", "mp4": ".mp4", "mov": ".mov",
          "mp3": ".mp3"}
MDAT_PAYLOAD = b"ADAL-MDAT-PAYLOAD-" * 8


def image(kind: str) -> bytes:
    """A small gradient picture in ``kind`` ('jpeg', 'png', 'webp', 'tiff')."""
    picture = Image.new("RGB", (16, 8))
    picture.putdata([(x * 16, y * 32, (x + y) * 8) for y in range(8) for x in range(16)])
    buffer = io.BytesIO()
    options = {"lossless": True} if kind == "webp" else {}
    picture.save(buffer, IMAGE_FORMATS[kind], **options)
    return buffer.getvalue()


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as picture:
        return picture.convert("RGB").tobytes()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def full_box(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def video(kind: str = "mp4") -> bytes:
    """ftyp, moov (mvhd, one trak with stco -> the mdat payload), mdat."""
    brand = b"qt  " if kind == "mov" else b"isom"
    ftyp = box(b"ftyp", brand + struct.pack(">I", 0x200) + brand + (b"" if kind == "mov" else b"mp41"))
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    mvhd = full_box(b"mvhd", struct.pack(">IIII", 0, 0, 1000, 1000) + struct.pack(">IH", 0x10000, 0x100)
                    + bytes(10) + matrix + bytes(24) + struct.pack(">I", 2))
    tkhd = full_box(b"tkhd", struct.pack(">IIIII", 0, 0, 1, 0, 1000) + bytes(8) + struct.pack(">hhhH", 0, 0, 0, 0)
                    + matrix + struct.pack(">II", 0, 0), flags=3)
    mdhd = full_box(b"mdhd", struct.pack(">IIII", 0, 0, 1000, 1000) + struct.pack(">HH", 0x55C4, 0))
    hdlr = full_box(b"hdlr", struct.pack(">I", 0) + b"vide" + bytes(12) + b"video\x00")
    visual = (bytes(6) + struct.pack(">H", 1) + bytes(16) + struct.pack(">HHIII", 16, 8, 0x480000, 0x480000, 0)
              + struct.pack(">H", 1) + bytes(32) + struct.pack(">Hh", 0x18, -1))
    stsd = full_box(b"stsd", struct.pack(">I", 1) + box(b"mp4v", visual))
    stts = full_box(b"stts", struct.pack(">III", 1, 1, 1000))
    stsc = full_box(b"stsc", struct.pack(">IIII", 1, 1, 1, 1))
    stsz = full_box(b"stsz", struct.pack(">III", len(MDAT_PAYLOAD), 0, 1)[:8] + struct.pack(">I", 1))

    def build(offset: int) -> bytes:
        stco = full_box(b"stco", struct.pack(">II", 1, offset))
        stbl = box(b"stbl", stsd + stts + stsc + stsz + stco)
        dref = full_box(b"dref", struct.pack(">I", 1) + full_box(b"url ", b"", flags=1))
        minf = box(b"minf", full_box(b"vmhd", bytes(8), flags=1) + box(b"dinf", dref) + stbl)
        trak = box(b"trak", tkhd + box(b"mdia", mdhd + hdlr + minf))
        return box(b"moov", mvhd + trak)

    moov = build(0)
    offset = len(ftyp) + len(moov) + 8
    return ftyp + build(offset) + box(b"mdat", MDAT_PAYLOAD)


def chunk_offset(data: bytes) -> int:
    """The single stco entry of a file made by ``video`` (after stamping, wherever moov went)."""
    at = data.index(b"stco")
    return struct.unpack(">I", data[at + 12:at + 16])[0]


def broken_video() -> bytes:
    """An MP4 whose moov claims to be far longer than the file."""
    data = bytearray(video())
    at = data.index(b"moov") - 4
    data[at:at + 4] = struct.pack(">I", 0x7FFFFFF0)
    return bytes(data)


def mp3(frames: int = 6) -> bytes:
    """Silent MPEG-1 Layer III frames, 128 kbit/s, 44.1 kHz, no CRC: 417 bytes each, side info
    all zero (no granule data), no ID3 tag."""
    header = b"\xff\xfb\x90\x44"  # sync, MPEG-1, Layer III, no CRC; 128k, 44.1k, no padding; joint stereo
    return (header + bytes(417 - 4)) * frames
