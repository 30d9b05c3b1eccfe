"""Pair sources on real files: the folder layout, CSV and parquet manifests, path-escape refusal."""

from __future__ import annotations

import polars as pl
import pytest
from PIL import Image

from fifa_data.pairs.rejects import REASONS, Reject, count_reasons
from fifa_data.pairs.sources import (
    Candidate,
    FolderPairs,
    ManifestPairs,
    PairRef,
    PairSource,
    SourceError,
    make_pair_id,
    open_source,
)


def _write(path, image) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return str(path)


@pytest.fixture()
def folder(tmp_path, astronaut):
    small = astronaut[::8, ::8]
    for rel in [
        "real/0001.png",
        "real/0002.jpg",
        "real/0002_2.png",
        "real/sub/0003.png",
        "real/lonely.png",
        "fake/0001.jpg",
        "fake/0001_smile.jpg",
        "fake/0001_smile_2.jpg",
        "fake/0002-lipstick.png",
        "fake/0002_2_hair_color_07.png",
        "fake/sub/0003_glasses.png",
        "fake/9999_smile.png",
        "fake/0003_glasses.png",  # 0003 lives in real/sub/, not real/
    ]:
        _write(tmp_path / rel, small)
    (tmp_path / "fake" / "notes.txt").write_text("not an image")
    (tmp_path / "fake" / ".DS_Store").write_bytes(b"\0")
    return tmp_path


def test_folder_layout_matches_by_folder_and_stem(folder):
    pairs, rejects = FolderPairs(folder).scan()
    got = {(p.real_path, p.fake_path): p.manipulation for p in pairs}
    assert got == {
        ("real/0001.png", "fake/0001.jpg"): None,
        ("real/0001.png", "fake/0001_smile.jpg"): "smile",
        ("real/0001.png", "fake/0001_smile_2.jpg"): "smile",
        ("real/0002.jpg", "fake/0002-lipstick.png"): "lipstick",
        ("real/0002_2.png", "fake/0002_2_hair_color_07.png"): "hair_color",  # longest prefix wins
        ("real/sub/0003.png", "fake/sub/0003_glasses.png"): "glasses",
    }
    reasons = {(r.reason, r.real or r.fake) for r in rejects}
    assert reasons == {
        ("unpaired_fake", "fake/9999_smile.png"),
        ("unpaired_fake", "fake/0003_glasses.png"),
        ("unsupported_file", "fake/notes.txt"),
        ("unpaired_real", "real/lonely.png"),
    }
    assert all(r.detail for r in rejects)


def test_pair_ids_are_stable_and_source_ids_group_fakes_of_one_real(folder):
    first = {p.fake_path: p for p in FolderPairs(folder).scan()[0]}
    again = {p.fake_path: p for p in FolderPairs(folder).scan()[0]}
    assert {k: p.pair_id for k, p in first.items()} == {k: p.pair_id for k, p in again.items()}
    assert len({p.pair_id for p in first.values()}) == len(first)
    assert first["fake/0001_smile.jpg"].pair_id == make_pair_id("real/0001.png", "fake/0001_smile.jpg")
    assert first["fake/0001.jpg"].source_id == first["fake/0001_smile_2.jpg"].source_id == "real/0001"
    assert first["fake/0001.jpg"].real_file.read_bytes() == (folder / "real/0001.png").read_bytes()


def test_ambiguous_real(tmp_path, astronaut):
    for rel in ("real/a.png", "real/a.jpg", "fake/a_smile.png"):
        _write(tmp_path / rel, astronaut[::8, ::8])
    pairs, rejects = FolderPairs(tmp_path).scan()
    assert pairs == []
    assert count_reasons(rejects) == {"ambiguous_real": 1, "unpaired_real": 2}


def test_folder_layout_needs_both_folders(tmp_path):
    (tmp_path / "real").mkdir()
    with pytest.raises(SourceError, match="fake/"):
        FolderPairs(tmp_path).scan()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_manifest_with_optional_and_extra_columns(tmp_path, astronaut, suffix):
    for rel in ("photos/a.png", "edits/a1.jpg", "edits/a2.jpg"):
        _write(tmp_path / rel, astronaut[::8, ::8])
    table = pl.DataFrame(
        {
            "real": ["photos/a.png", "./photos/a.png", "photos/a.png", None],
            "fake": ["edits/a1.jpg", "edits/a2.jpg", "edits/a1.jpg", "edits/a2.jpg"],
            "manipulation": ["smile", None, "smile", None],
            "source_id": ["person-7", "person-7", None, None],
            "params": ['{"strength": 0.5}', None, None, None],
        }
    )
    manifest = tmp_path / f"pairs{suffix}"
    table.write_csv(manifest) if suffix == ".csv" else table.write_parquet(manifest)

    source = open_source(tmp_path)
    assert isinstance(source, ManifestPairs)
    pairs, rejects = source.scan()
    assert [(p.real_path, p.fake_path, p.manipulation, p.source_id) for p in pairs] == [
        ("photos/a.png", "edits/a1.jpg", "smile", "person-7"),
        ("photos/a.png", "edits/a2.jpg", None, "person-7"),
    ]
    assert pairs[0].extra == {"params": '{"strength": 0.5}'}
    assert pairs[1].extra == {}
    assert count_reasons(rejects) == {"duplicate_pair": 1, "bad_manifest_row": 1}
    row = next(r for r in rejects if r.reason == "bad_manifest_row")
    assert f"pairs{suffix} row {5 if suffix == '.csv' else 4}" in row.detail


def test_manifest_mask_column_is_a_checked_path(tmp_path, astronaut):
    for rel in ("a.png", "a1.jpg", "a2.jpg", "a3.jpg", "a4.jpg", "masks/a1_mask.png"):
        _write(tmp_path / rel, astronaut[::8, ::8])
    _write(tmp_path.parent / "outside_mask.png", astronaut[::8, ::8])
    pl.DataFrame(
        {
            "real": ["a.png"] * 4,
            "fake": ["a1.jpg", "a2.jpg", "a3.jpg", "a4.jpg"],
            "mask": ["./masks/a1_mask.png", None, "masks/missing.png", "../outside_mask.png"],
        }
    ).write_csv(tmp_path / "pairs.csv")

    pairs, rejects = open_source(tmp_path).scan()
    assert [(p.fake_path, p.mask_path, p.extra) for p in pairs] == [("a1.jpg", "masks/a1_mask.png", {}), ("a2.jpg", None, {})]
    assert pairs[0].mask_file == tmp_path / "masks/a1_mask.png" and pairs[1].mask_file is None
    assert {r.fake: r.reason for r in rejects} == {"a3.jpg": "missing_file", "a4.jpg": "path_escape"}
    assert "masks/missing.png" in next(r.detail for r in rejects if r.fake == "a3.jpg")


def test_manifest_without_required_columns_is_a_clear_error(tmp_path):
    manifest = tmp_path / "pairs.csv"
    manifest.write_text("original,edited\na.png,b.png\n")
    with pytest.raises(ValueError, match=r"pairs.csv: the manifest lacks column\(s\) real, fake"):
        ManifestPairs(manifest).scan()


def test_unreadable_manifest_is_a_clear_error(tmp_path):
    manifest = tmp_path / "pairs.parquet"
    manifest.write_bytes(b"PAR1 but not really")
    with pytest.raises(ValueError, match="pairs.parquet: cannot read the manifest"):
        ManifestPairs(manifest).scan()


def test_paths_may_not_escape_the_source_folder(tmp_path, astronaut):
    root = tmp_path / "source"
    outside = _write(tmp_path / "secret.png", astronaut[::8, ::8])
    _write(root / "real.png", astronaut[::8, ::8])
    (root / "link.png").symlink_to(outside)
    (root / "inner_link.png").symlink_to(root / "real.png")
    manifest = root / "pairs.csv"
    pl.DataFrame(
        {
            "real": ["real.png", "real.png", "real.png", "real.png", "real.png", "real.png"],
            "fake": ["../secret.png", outside, "link.png", "sub/../../secret.png", "missing.png", "inner_link.png"],
        }
    ).write_csv(manifest)

    pairs, rejects = ManifestPairs(manifest).scan()
    assert [p.fake_path for p in pairs] == ["inner_link.png"]  # a symlink that stays inside is fine
    by_fake = {r.fake: r.reason for r in rejects}
    assert by_fake == {
        "../secret.png": "path_escape",
        outside: "path_escape",
        "link.png": "path_escape",
        "sub/../../secret.png": "path_escape",
        "missing.png": "missing_file",
    }


def test_folder_layout_refuses_symlinks_out(tmp_path, astronaut):
    outside = tmp_path / "elsewhere"
    _write(outside / "x.png", astronaut[::8, ::8])
    root = tmp_path / "source"
    _write(root / "real/x.png", astronaut[::8, ::8])
    (root / "fake").mkdir()
    (root / "fake/x.png").symlink_to(outside / "x.png")
    (root / "fake/more").symlink_to(outside, target_is_directory=True)

    pairs, rejects = FolderPairs(root).scan()
    assert pairs == []
    assert count_reasons(rejects) == {"path_escape": 1, "unsupported_file": 1}


def test_a_new_layout_is_one_small_class(tmp_path, astronaut):
    """E.g. a DFFD-like layout: ``<id>/original.png`` next to ``<id>/faceapp_<attr>.jpg``."""
    for rel in ("17/original.png", "17/faceapp_smile.jpg", "17/faceapp_glasses.jpg"):
        _write(tmp_path / rel, astronaut[::8, ::8])

    class SideBySide(PairSource):
        def candidates(self):
            for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
                for fake in sorted(folder.glob("faceapp_*.jpg")):
                    yield Candidate(
                        real=f"{folder.name}/original.png",
                        fake=f"{folder.name}/{fake.name}",
                        manipulation=fake.stem.removeprefix("faceapp_"),
                        source_id=folder.name,
                    )

    pairs, rejects = SideBySide(tmp_path).scan()
    assert rejects == []
    assert [(p.manipulation, p.source_id) for p in pairs] == [("glasses", "17"), ("smile", "17")]
    assert all(isinstance(p, PairRef) and p.fake_file.is_file() for p in pairs)


def test_open_source_dispatch(tmp_path):
    with pytest.raises(SourceError, match="no such file or folder"):
        open_source(tmp_path / "nope")
    with pytest.raises(SourceError, match="neither a manifest"):
        open_source(tmp_path)
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    assert isinstance(open_source(tmp_path), FolderPairs)


def test_reject_records():
    reject = Reject("no_face", "a.png: no face", pair_id="p", real="a.png", fake="b.png")
    assert reject.to_row() == {"pair_id": "p", "real": "a.png", "fake": "b.png", "reason": "no_face", "detail": "a.png: no face"}
    with pytest.raises(ValueError, match="unknown reject reason"):
        Reject("bad vibes", "")
    assert all(isinstance(text, str) and text for text in REASONS.values())
