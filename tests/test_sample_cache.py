"""Built live samples are kept by content hash: built once, reused without a child or the converter,
rebuilt when the code that makes them changes, never left half-written."""
from __future__ import annotations

import pytest

from app.core.live import sample_cache, samples


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setattr(sample_cache, "cache_root", lambda: tmp_path / "live-samples")
    return tmp_path / "live-samples"


def _counting_builder(calls: list):
    def build(folder):
        calls.append(folder)
        (folder / "toy").mkdir()
        (folder / "toy" / "preprocess.json").write_text("{}")
        out = folder / "toy" / "toy.ms"
        out.write_bytes(b"model")
        return out
    return build


def test_built_once_then_taken_from_the_cache(cache):
    calls = []
    builders = {"toy": _counting_builder(calls)}
    first = sample_cache.build("toy", builders)
    again = sample_cache.build("toy", builders)
    assert first == again and first.read_bytes() == b"model" and len(calls) == 1
    assert (first.parent / "preprocess.json").is_file()  # the sidecars come along
    assert sample_cache.cached("toy") == first
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_a_failed_build_leaves_nothing(cache):
    def broken(folder):
        (folder / "half.ms").write_bytes(b"half")
        raise RuntimeError("the converter died")

    with pytest.raises(RuntimeError):
        sample_cache.build("toy", {"toy": broken})
    assert sample_cache.cached("toy") is None
    assert list(cache.iterdir()) == []


def test_changed_code_builds_a_fresh_copy_and_prune_removes_the_old(cache, monkeypatch):
    calls = []
    builders = {"toy": _counting_builder(calls)}
    old = sample_cache.build("toy", builders)
    monkeypatch.setattr(sample_cache, "_code_digest", lambda: "0123456789abcdef")  # as after an edit
    new = sample_cache.build("toy", builders)
    assert new != old and len(calls) == 2
    assert sample_cache.prune("0123456789abcdef") == [old.parent.parent]
    assert new.is_file() and not old.exists()


def test_real_samples_come_from_the_cache_without_a_child(monkeypatch):
    paths = samples.prepare_in_child(["digits"], workdir=None)  # builds (in a child) when missing
    assert sample_cache.cached("digits") is not None

    def no_child(*args, **kwargs):
        raise AssertionError("a child was started for a cached sample")

    monkeypatch.setattr(samples, "run_child", no_child)
    assert samples.prepare_in_child(["digits"], workdir=None) == paths
