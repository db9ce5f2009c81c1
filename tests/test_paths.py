"""``_paths``: the link policy on strings decides as ``_files.check_path`` on a ``Path``."""

from __future__ import annotations

from pathlib import Path

import pytest

from outcomes import config
from outcomes._files import check_path
from outcomes._paths import check_links, plain_path
from outcomes.errors import UnsafePathError

SPELLINGS = [
    "a", "a/b.db", "/a/b.db", "~", "~/x.db", "~/x/", "a//b", "a/./b", "./a", "a/", "/",
    "//a", "///a", "", ".", "a/../b", "~nosuchuser_xyz/a", "~root/a", "a b/c", "/a/b/..",
]  # fmt: skip


@pytest.mark.parametrize("raw", SPELLINGS)
def test_a_plain_path_is_what_path_prints_and_any_other_spelling_declines(raw: str) -> None:
    plain = plain_path(raw)
    if plain is not None:
        assert plain == str(Path(raw).expanduser())
    # Declining is always safe (the command then decides); the common spellings must not.
    if raw in ("a", "a/b.db", "/a/b.db", "~", "~/x.db", "a/../b", "a b/c"):
        assert plain is not None


@pytest.mark.parametrize("home", ["/srv/o", "~/o", "rel/o", "/srv//o", "/srv/o/"])
def test_db_target_str_agrees_with_db_target_or_declines(home: str) -> None:
    env = {config.ENV_HOME: home}
    url, folder = config.db_target(env=env)
    target = config.db_target_str(env=env)
    if target is not None:
        assert target == (url, str(folder))
    else:
        assert plain_path(home) is None
    assert config.db_target_str("sqlite:///x.db", env=env) == ("sqlite:///x.db", None)


def _outcome(fn: object, *args: object, **kwargs: object) -> str:
    try:
        fn(*args, **kwargs)  # type: ignore[operator]
    except UnsafePathError as exc:
        return f"refused: {exc}"
    return "ok"


def test_check_links_decides_and_words_as_check_path(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "real.db").write_bytes(b"")
    (tmp_path / "outside.db").write_bytes(b"")
    (home / "link.db").symlink_to(home / "real.db")
    (home / "dangling.db").symlink_to(tmp_path / "missing.db")
    (home / "escape.db").symlink_to(tmp_path / "outside.db")
    (home / "sub").symlink_to(tmp_path)
    names = ["real.db", "link.db", "dangling.db", "escape.db", "sub/outside.db", "new.db"]
    seen = set()
    for name in names:
        target = home / name
        for root, explicit in ((home, False), (None, True), (home, True)):
            got = _outcome(check_links, str(target), None if root is None else str(root),
                           explicit=explicit)  # fmt: skip
            assert got == _outcome(check_path, target, root=root, explicit=explicit)
            seen.add(got.split(":")[0])
    assert seen == {"ok", "refused"}


def test_a_loop_of_links_in_the_managed_folder_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(UnsafePathError, match="loop"):
        check_path(tmp_path / "a" / "x.db", root=tmp_path, explicit=False)
