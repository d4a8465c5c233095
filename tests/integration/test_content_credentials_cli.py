"""`adal stamp` and `adal inspect` with Content Credentials, as an administrator configures them:
a certificate chain, its key and the trust anchors in ``<instance>/c2pa/`` (made by the tests'
own CA). Stamping signs what c2pa can sign, says what it cannot, refuses an unusable certificate
before writing anything, and warns when a stamp breaks the manifest a file came with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.unit.attribution.c2pa_pki import ORGANIZATION, SIGNER_NAME, make_pki
from tests.unit.attribution.media_samples import image
from tests.unit.attribution.opc_samples import make_docx

ADAL = str(Path(sys.executable).parent / "adal")
ARGS = ["--service", "ChatGPT", "--model", "GPT-4o", "--model-version", "2024-08-06", "--date", "2026-11-20",
        "--responsible", "А. Тестова"]


def _run(cwd: Path, *args: str, instance: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADAL_")}
    env.update(ADAL_LANG="en", ADAL_INSTANCE_PATH=str(instance), **env_vars)
    return subprocess.run([ADAL, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _tree(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def _inputs(folder: Path) -> None:
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(image("jpeg"))
    (folder / "drawing.png").write_bytes(image("png"))
    make_docx(folder / "essay.docx")


def test_stamp_signs_and_inspect_validates(tmp_path: Path) -> None:
    instance, work = tmp_path / "instance", tmp_path / "work"
    make_pki().write(instance / "c2pa")
    _inputs(work)
    (work / "out").mkdir()
    before = _tree(instance)
    done = _run(work, "stamp", *ARGS, "--out-dir", "out", "photo.jpg", "drawing.png", "essay.docx", instance=instance)
    assert done.returncode == 0, done.stderr
    assert f"Content Credentials (C2PA) signed as {SIGNER_NAME}: 2 files." in done.stdout
    assert "Content Credentials are not available for DOCX files: 1 file was stamped without them." in done.stdout
    assert _tree(instance) == before, "stamping creates nothing in the instance folder"
    assert sorted(p.name for p in (work / "out").iterdir()) == ["drawing.png", "essay.docx", "photo.jpg"]

    shown = _run(work, "inspect", "--json", "out/photo.jpg", instance=instance)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    found = report["content_credentials"]
    assert found["state"] == "trusted" and found["ai"] is True and found["errors"] == []
    assert found["signer"] == SIGNER_NAME and found["organization"] == ORGANIZATION
    assert found["action"] == "c2pa.created"
    assert found["digital_source_type"].endswith("/compositeWithTrainedAlgorithmicMedia")
    assert found["adal"]["Model"] == "GPT-4o" and found["adal"]["ResponsibleContact"] == "А. Тестова"
    assert report["c2pa_manifest"] is True and report["has_ai_provenance"] is True
    assert json.loads(_run(work, "inspect", "--json", "out/essay.docx", instance=instance).stdout)[
        "content_credentials"] is None

    text = _run(work, "inspect", "out/drawing.png", instance=instance).stdout
    assert (f"Content Credentials (C2PA): valid and trusted, signed by {SIGNER_NAME} ({ORGANIZATION})" in text)
    assert "AI: c2pa.created, digital source type compositeWithTrainedAlgorithmicMedia" in text

    photo = bytearray((work / "out" / "photo.jpg").read_bytes())
    photo[(photo.rindex(b"\xff\xda") + len(photo)) // 2] ^= 0x01  # one byte of the picture
    (work / "out" / "photo.jpg").write_bytes(bytes(photo))
    text = _run(work, "inspect", "out/photo.jpg", instance=instance).stdout
    assert "Content Credentials (C2PA): INVALID" in text
    assert "problem: assertion.dataHash.mismatch" in text
    assert json.loads(_run(work, "inspect", "--json", "out/photo.jpg", instance=instance).stdout)[
        "content_credentials"]["state"] == "invalid"


def test_without_trust_anchors_inspect_says_the_signer_is_not_checked(tmp_path: Path) -> None:
    instance, work = tmp_path / "instance", tmp_path / "work"
    make_pki().write(instance / "c2pa")
    (instance / "c2pa" / "trust-anchors.pem").unlink()
    _inputs(work)
    assert _run(work, "stamp", *ARGS, "photo.jpg", instance=instance).returncode == 0
    text = _run(work, "inspect", "photo.ai-stamped.jpg", instance=instance).stdout
    assert "no trust list is configured (ADAL_C2PA_TRUST_ANCHORS), so the signer is not checked" in text
    other = make_pki().write(tmp_path / "other")
    text = _run(work, "inspect", "photo.ai-stamped.jpg", instance=instance,
                ADAL_C2PA_TRUST_ANCHORS=str(other[2])).stdout
    assert f"valid, but the signer {SIGNER_NAME} ({ORGANIZATION}) is not in the trust list" in text


def test_no_content_credentials_option(tmp_path: Path) -> None:
    instance, work = tmp_path / "instance", tmp_path / "work"
    make_pki().write(instance / "c2pa")
    _inputs(work)
    done = _run(work, "stamp", *ARGS, "--no-content-credentials", "photo.jpg", instance=instance)
    assert done.returncode == 0, done.stderr
    assert "Content Credentials" not in done.stdout
    report = json.loads(_run(work, "inspect", "--json", "photo.ai-stamped.jpg", instance=instance).stdout)
    assert report["content_credentials"] is None and report["c2pa_manifest"] is False


def test_an_unusable_certificate_stops_before_any_output(tmp_path: Path) -> None:
    instance, work = tmp_path / "instance", tmp_path / "work"
    make_pki(self_signed=True).write(instance / "c2pa")
    _inputs(work)
    before = _tree(work)
    done = _run(work, "stamp", *ARGS, "photo.jpg", "drawing.png", instance=instance)
    assert done.returncode != 0
    assert "Content Credentials cannot be signed:" in done.stderr and "self-signed" in done.stderr
    assert _tree(work) == before


def test_a_missing_or_unreadable_key_stops_before_any_output(tmp_path: Path) -> None:
    instance, work = tmp_path / "instance", tmp_path / "work"
    _chain, key, _anchors = make_pki().write(instance / "c2pa")
    _inputs(work)
    before = _tree(work)
    done = _run(work, "stamp", *ARGS, "photo.jpg", instance=instance, ADAL_C2PA_KEY=str(tmp_path / "gone.pem"))
    assert done.returncode != 0 and "ADAL_C2PA_KEY names" in done.stderr and "which is not a file" in done.stderr
    key.write_text("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    done = _run(work, "stamp", *ARGS, "photo.jpg", instance=instance)
    assert done.returncode != 0 and "key.pem: not a PEM private key" in done.stderr
    key.unlink()
    done = _run(work, "stamp", *ARGS, "photo.jpg", instance=instance)
    assert done.returncode != 0 and "no key.pem (set ADAL_C2PA_KEY)" in done.stderr
    assert _tree(work) == before


def test_stamping_a_file_with_content_credentials_warns_when_it_breaks_them(tmp_path: Path) -> None:
    instance, work, plain = tmp_path / "instance", tmp_path / "work", tmp_path / "plain"
    make_pki().write(instance / "c2pa")
    _inputs(work)
    assert _run(work, "stamp", *ARGS, "-o", "signed.jpg", "photo.jpg", instance=instance).returncode == 0
    other = [*ARGS[:3], "GPT-4.1", *ARGS[4:]]  # different fields: the stamp changes bytes the manifest covers
    done = _run(work, "stamp", *other, "-o", "restamped.jpg", "signed.jpg", instance=plain)
    assert done.returncode == 0, done.stderr
    assert "WARNING: signed.jpg carried Content Credentials (C2PA); they do not match the stamped copy" in done.stderr
    assert "ADAL_C2PA_CERT, ADAL_C2PA_KEY" in done.stderr
    resigned = _run(work, "stamp", *other, "-o", "resigned.jpg", "signed.jpg", instance=instance)
    assert resigned.returncode == 0 and "WARNING" not in resigned.stderr
    found = json.loads(_run(work, "inspect", "--json", "resigned.jpg", instance=instance).stdout)["content_credentials"]
    assert found["state"] == "trusted" and found["action"] == "c2pa.edited" and found["manifests"] == 2
    assert not plain.exists(), "an instance folder without a certificate is not created either"
