"""A final decision's effects reach the LMS over HTTP, through `adal deadlines run` (a real process,
as cron runs it) and the grade port, and never before the decision is final: a level-2 decision
posts a zero once its appeal window has passed, once; an open appeal keeps everything back."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from appeals.appeal import file_appeal
from appeals.models import Case, CaseEffect
from attribution.models import Assignment
from lti.registry import add_platform
from lti.services import record_context_services
from plugin.kernel.clock import now_utc
from plugin.kernel.users import Actor
from tests.case_world import build_world, to_issued
from tests.factories import T0
from tests.fake_lms_services import FakeLmsServices

ADAL = str(Path(sys.executable).parent / "adal")


@pytest.fixture
def issued(app, adal, tmp_path) -> Iterator[tuple[int, FakeLmsServices, dict]]:
    """A case decided at level 2 and issued in September (its appeal window long past), in a course
    whose LMS has a gradebook column for the work. Committed."""
    rt = app.extensions["adal.runtime"]
    with (FakeLmsServices(client_id="adal-client", jwks_url=adal + "/lti/jwks").serve() as fake,
          rt.session() as session):
        world = build_world(session, tmp_path)
        case = to_issued(world, level=2)
        platform = add_platform(session, Actor.system("test"), issuer=fake.base_url, client_id="adal-client",
                                deployment_id="dep-1", keyset_url=fake.base_url + "/jwks",
                                auth_login_url=fake.base_url + "/auth", auth_token_url=fake.token_url,
                                now=now_utc())
        record_context_services(session, platform_id=platform.id, course_id=case.course_id,
                                claims=fake.launch_claims(), now=now_utc())
        assignment = session.get(Assignment, world["submission"].assignment_id)
        assignment.line_item_url = fake.add_line_item(label="Synthetic essay", score_maximum=100,
                                                      resource_link_id=assignment.resource_link_id)
        world["s"] = session
        session.commit()
        yield case.id, fake, world


def _deadlines(config) -> subprocess.CompletedProcess[str]:
    env = {"ADAL_INSTANCE_PATH": str(config.instance_path), "ADAL_DATABASE_URL": config.database_url,
           "ADAL_LANG": "en", "PATH": "/usr/bin:/bin"}
    return subprocess.run([ADAL, "deadlines", "run"], env=env, capture_output=True, text=True, timeout=120)


def test_a_level_2_decision_posts_a_zero_once_its_window_has_passed(app, config, issued):
    case_id, fake, _world = issued
    done = _deadlines(config)
    assert done.returncode == 0, done.stderr
    assert "1 case moved past its deadline." in done.stdout
    [score] = fake.scores
    body = score["body"]
    assert (body["userId"], body["scoreGiven"], body["scoreMaximum"]) == ("student-001", 0.0, 100.0)
    assert (body["activityProgress"], body["gradingProgress"]) == ("Completed", "FullyGraded")
    rt = app.extensions["adal.runtime"]
    with rt.session() as session:
        case = session.get(Case, case_id)
        assert body["comment"].endswith(case.number)
        assert (case.state, case.final_sanction_level) == ("closed", 2)
        effect = session.execute(select(CaseEffect).where(CaseEffect.case_id == case_id)).scalar_one()
        assert (effect.kind, effect.lms_status) == ("zero_grade", "posted")
    again = _deadlines(config)  # cron runs it again: nothing twice
    assert again.returncode == 0 and "0 cases moved" in again.stdout
    assert len(fake.scores) == 1


def test_an_open_appeal_keeps_every_effect_back(app, config, issued):
    case_id, fake, world = issued
    rt = app.extensions["adal.runtime"]
    with rt.session() as session:
        case = session.get(Case, case_id)
        student = world["student"]
        file_appeal(session, student, case_id, grounds=["procedure"], statement="I was not heard.",
                    expected_version=case.version, now=T0 + timedelta(days=5))
        session.commit()
    done = _deadlines(config)
    assert done.returncode == 0 and "0 cases moved" in done.stdout
    assert fake.scores == []
    with rt.session() as session:
        assert session.get(Case, case_id).state == "appealed"
        assert session.execute(select(CaseEffect)).first() is None
