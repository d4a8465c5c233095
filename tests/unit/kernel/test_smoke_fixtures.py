from sqlalchemy import text


def test_db_session_rolls_back(db_session):
    from tests.factories import make_user

    user = make_user(db_session)
    db_session.commit()
    assert user.id is not None
    assert db_session.execute(text("SELECT count(*) FROM user_account")).scalar_one() == 1
