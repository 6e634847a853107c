"""Mapping loader: search path, overrides, errors, packaged copy in sync."""
import filecmp
import os

import pytest

from idgate.errors import ConfigError
from idgate.sources import get_normalizer, platforms
from idgate.sources.mapping import (PACKAGED_CONNECTORS, REPO_CONNECTORS, deep_merge, load_mapping,
                                    mapping_search_path, parse_time)

PLATFORMS = ["splunk_es", "sentinel", "elastic", "secops", "qradar", "crowdstrike"]


def test_every_platform_listed_and_mapped():
    assert set(PLATFORMS) <= set(platforms())
    for platform in PLATFORMS:
        assert load_mapping(platform).file.endswith(os.path.join(platform, "mapping.yaml"))


@pytest.mark.skipif(not os.path.isdir(PACKAGED_CONNECTORS), reason="no packaged copy (source checkout)")
def test_packaged_copy_matches_connectors():
    """connectors/ is the one source of truth; the build copies it to
    src/idgate/data/connectors/. A stale copy fails here."""
    for platform in PLATFORMS:
        repo = os.path.join(REPO_CONNECTORS, platform, "mapping.yaml")
        packaged = os.path.join(PACKAGED_CONNECTORS, platform, "mapping.yaml")
        assert os.path.isfile(packaged), "missing %s" % packaged
        assert filecmp.cmp(repo, packaged, shallow=False), "%s differs from %s" % (packaged, repo)


def test_env_dir_comes_before_repo(tmp_path, monkeypatch):
    folder = tmp_path / "qradar"
    folder.mkdir()
    (folder / "mapping.yaml").write_text("id: [id]\ndetected_at: [start_time]\n"
                                         "identity: {candidates: [{id: assigned_to}]}\n")
    monkeypatch.setenv("IDGATE_CONNECTORS_DIR", str(tmp_path))
    assert mapping_search_path("qradar")[0] == str(folder / "mapping.yaml")
    alert = get_normalizer("qradar").normalize({"id": 5, "start_time": 1756378368336, "assigned_to": "bob"})
    assert alert.identity.id == "bob"


def test_mapping_file_override(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("id: [offense]\ndetected_at: [t]\nidentity: {candidates: [{id: who, kind: bot}]}\n")
    alert = get_normalizer("qradar", {"mapping_file": str(path)}).normalize({"offense": 1, "t": 1700000000, "who": "x"})
    assert alert.identity.kind == "bot"


def test_bad_mapping_names_file_and_key(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("id: [id]\nidentity: {candidates: [{id: u, kind: robot}]}\n")
    with pytest.raises(ConfigError, match=r"m.yaml.*identity.candidates.*robot"):
        get_normalizer("qradar", {"mapping_file": str(path)})
    with pytest.raises(ConfigError, match="does not exist"):
        get_normalizer("qradar", {"mapping_file": str(tmp_path / "nope.yaml")})


def test_deep_merge_replaces_lists_and_removes_nulls():
    merged = deep_merge({"a": {"b": 1, "c": [1]}, "d": 2}, {"a": {"c": [2]}, "d": None})
    assert merged == {"a": {"b": 1, "c": [2]}}


@pytest.mark.parametrize("text,iso", [
    ("2022-09-09T8:48:50.361Z", "2022-09-09T08:48:50.361000+00:00"),
    ("2020-07-20T18:21:53.6158361Z", "2020-07-20T18:21:53.615836+00:00"),
    ("2019-01-12 06:41:44", "2019-01-12T06:41:44+00:00"),
    ("8/22/2022 6:07:16 PM", "2022-08-22T18:07:16+00:00"),
    (1756378368336, "2025-08-28T10:52:48.336000+00:00"),
    ("1717578924", "2024-06-05T09:15:24+00:00"),
    ("2020-08-24T12:10:17.000-07:00", "2020-08-24T12:10:17-07:00"),
])
def test_parse_time(text, iso):
    assert parse_time(text).isoformat() == iso


def test_unreadable_time_is_a_record_error():
    from idgate.errors import RecordError
    with pytest.raises(RecordError, match="qradar record 9: start_time='soon'"):
        get_normalizer("qradar").normalize({"id": 9, "start_time": "soon"})
