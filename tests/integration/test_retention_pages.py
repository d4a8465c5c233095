"""The console's retention page over HTTP: periods edited through the settings service, the dry-run
preview, holds added and released, a person's data exported and erased; refused forms change
nothing."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pyotp
from sqlalchemy import select

from plugin.admin.accounts import create_admin
from plugin.kernel.clock import now_utc
from plugin.kernel.retention_records import LegalHold
from plugin.kernel.settings import get_setting
from plugin.kernel.users import Actor, User
from tests.unit.admin.retention_world import counts, hand_in, student

PASSWORD = "correct horse battery staple"


def _csrf(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signed_in(app, client):
    rt = app.extensions["adal.runtime"]
    with app.app_context(), rt.session() as session:
        enrolment = create_admin(session, Actor.system("cli:tester"), "alice", PASSWORD, now=now_utc())
        session.commit()
    client.post("/admin/login", data={"csrf_token": _csrf(client, "/admin/login?lang=en"), "username": "alice",
                                      "password": PASSWORD})
    done = client.post("/admin/second-factor", data={"csrf_token": _csrf(client, "/admin/second-factor"),
                                                     "code": pyotp.TOTP(enrolment.seed).now()})
    assert done.status_code in (302, 303)
    return rt


def _snapshot(rt) -> dict[str, int]:
    with rt.session() as session:
        return counts(session)


def test_retention_page(app, client):
    assert client.get("/admin/retention").status_code == 302  # no admin session: to the sign-in page
    rt = _signed_in(app, client)
    with app.app_context(), rt.session() as s:
        someone = student(s)
        hand_in(s, someone, when=now_utc())
        user_id, name = someone.user.id, someone.user.display_name
        s.commit()

    page = client.get("/admin/retention?lang=en")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Retention periods" in html and "No legal hold is active." in html
    assert 'id="days-cases_sanctioned"' in html and 'value="1825"' in html
    before = _snapshot(rt)
    preview = client.get("/admin/retention?lang=en&preview=1").get_data(as_text=True)
    assert "Dry run: nothing was changed" in preview and "Nothing has expired." in preview
    assert _snapshot(rt) == before

    token = _csrf(client, "/admin/retention?lang=en")
    days = {f"days-{key}": str(value) for key, value in
            {"submissions": 365, "drafts": 365, "signals": 365, "cases_not_responsible": 0, "cases_sanctioned": 1825,
             "notices": 1095, "audit": 1825}.items()}
    bad = client.post("/admin/retention/periods?lang=en", data={"csrf_token": token, **days, "days-drafts": "-3"})
    assert bad.status_code == 400 and "whole number of days" in bad.get_data(as_text=True)
    assert _snapshot(rt) == before
    good = client.post("/admin/retention/periods", data={"csrf_token": token, **days, "days-drafts": "180"})
    assert good.status_code == 303
    with rt.session() as s:
        assert get_setting(s, "retention.days")["drafts"] == 180

    before = _snapshot(rt)
    nobody = client.post("/admin/retention/holds?lang=en", data={"csrf_token": token, "kind": "user",
                                                                 "subject": "987654", "reason": "x"})
    assert nobody.status_code == 404 and "There is no person #987654" in nobody.get_data(as_text=True)
    assert _snapshot(rt) == before
    added = client.post("/admin/retention/holds", data={"csrf_token": token, "kind": "user",
                                                        "subject": str(user_id), "reason": "Complaint 7/2026"})
    assert added.status_code == 303
    listed = client.get("/admin/retention?lang=en").get_data(as_text=True)
    assert "Complaint 7/2026" in listed and name in listed
    refused = client.post("/admin/retention/subject/erase?lang=en",
                          data={"csrf_token": token, "erase_user": str(user_id), "action": "erase", "confirm": "yes"})
    assert refused.status_code == 400 and "legal hold" in refused.get_data(as_text=True)
    with rt.session() as s:
        hold_id = s.execute(select(LegalHold.id)).scalar_one()
    released = client.post(f"/admin/retention/holds/{hold_id}/release", data={"csrf_token": token})
    assert released.status_code == 303

    exported = client.post("/admin/retention/subject/export", data={"csrf_token": token, "export_user": str(user_id)})
    assert exported.status_code == 200 and exported.mimetype == "application/zip"
    assert exported.headers["Cache-Control"] == "no-store"
    data = json.loads(zipfile.ZipFile(io.BytesIO(exported.data)).read("data.json"))
    assert data["user"]["display_name"] == name and data["tables"]["submission"]

    before = _snapshot(rt)
    preview = client.post("/admin/retention/subject/erase?lang=en",
                          data={"csrf_token": token, "erase_user": str(user_id), "action": "preview"})
    assert preview.status_code == 200 and "Account deleted." in preview.get_data(as_text=True)
    unconfirmed = client.post("/admin/retention/subject/erase?lang=en",
                              data={"csrf_token": token, "erase_user": str(user_id), "action": "erase"})
    assert unconfirmed.status_code == 400 and "Tick the box" in unconfirmed.get_data(as_text=True)
    assert _snapshot(rt) == before
    erased = client.post("/admin/retention/subject/erase?lang=en",
                         data={"csrf_token": token, "erase_user": str(user_id), "action": "erase", "confirm": "yes"})
    assert erased.status_code == 200 and "Account deleted." in erased.get_data(as_text=True)
    with rt.session() as s:
        assert s.get(User, user_id) is None
