"""The team stack's secrets file (gan_pipeline.team.secrets_file): generated once, 0600,
only added to, refused when others may read it or it is malformed, never half-written."""

from __future__ import annotations

import stat

import pytest

from gan_pipeline.errors import InputError
from gan_pipeline.team import secrets_file


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_start_generates_every_secret_0600_and_a_restart_keeps_them(tmp_path):
    path = tmp_path / "stack" / "secrets.env"
    first = secrets_file.ensure(path)
    assert set(first) == set(secrets_file.STACK_SECRETS)
    assert mode(path) == 0o600 and mode(path.parent) == 0o700
    assert len(set(first.values())) == len(first)  # no two alike
    assert all(len(v) == 20 and v.isupper() or len(v) >= 40 for v in first.values())
    assert secrets_file.ensure(path) == first == secrets_file.read(path)


def test_no_password_starts_with_a_dash_that_a_command_line_would_take_for_an_option():
    # Unfixed, one draw in 64 starts with "-": all 2,000 clean has odds of about 2e-14.
    assert not any(secrets_file.generate("password").startswith("-") for _ in range(2000))


def test_a_file_others_may_read_is_refused_naming_it(tmp_path):
    path = tmp_path / "secrets.env"
    secrets_file.ensure(path)
    path.chmod(0o640)
    with pytest.raises(InputError, match=r"secrets.env .*mode 0640.*chmod 600"):
        secrets_file.read(path)


def test_a_malformed_line_or_a_key_held_already_is_refused(tmp_path):
    path = tmp_path / "secrets.env"
    secrets_file.add(path, {"A_KEY": "value"})
    with pytest.raises(InputError, match="already holds A_KEY"):
        secrets_file.add(path, {"A_KEY": "other"})
    path.write_text(path.read_text() + "B_KEY=has a space\n")
    with pytest.raises(InputError, match=r"secrets.env:3: not a KEY=value line"):
        secrets_file.read(path)


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "secrets.env"
    secrets_file.add(path, {"A_KEY": "value"})
    before = path.read_bytes()

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(secrets_file.os, "fsync", fail)
    with pytest.raises(OSError, match="disk full"):
        secrets_file.add(path, {"B_KEY": "value"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secrets.env"]  # no temporary left
