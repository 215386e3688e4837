"""The CLI is thin: it prints the library's answer, or one clear error line and a non-zero exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from spiralkit import cli
from spiralkit.cli import main


def test_namespace_prints_the_namespace_and_where_it_publishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.spiral]\nproject = "p"\nregion = "us-east-1"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPIRAL_USER", "ana")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert main(["namespace"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "user.ana",
        f"{tmp_path.resolve()}/published/user.ana/",
    ]


def test_a_library_error_becomes_one_line_and_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["namespace"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("spiral: error: no pyproject.toml with a [tool.spiral] table")
    assert len(err.strip().splitlines()) == 1


def test_prod_from_a_laptop_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.spiral]\nproject = "p"\nregion = "us-east-1"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    assert main(["namespace", "--namespace", "prod"]) == 3
    assert "only CI on the production branch" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("raised", "code", "message"),
    [
        (ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutObject"), 5, "AWS: An error occurred"),
        (PermissionError(13, "Permission denied", "/srv/data"), 1, "Permission denied: /srv/data"),
    ],
)
def test_an_unforeseen_aws_or_filesystem_error_is_one_line_not_a_traceback(
    raised: Exception, code: int, message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def handler(_: object) -> int:
        raise raised

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda *_: parser)
    parser.set_defaults(handler=handler)
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        action.choices["namespace"].set_defaults(handler=handler)  # type: ignore[index]
    assert cli.main(["namespace"]) == code
    err = capsys.readouterr().err
    assert err.startswith(f"spiral: error: {message}")
    assert err.count("\n") == 1


def test_help_speaks_to_users_not_developers(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert "pipeline" in shown
    assert "COMMAND --help" in shown
    for developer_words in ("``", "parses arguments", "the library"):
        assert developer_words not in shown
