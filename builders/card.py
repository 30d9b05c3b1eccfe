"""The dataset card: ``cards/dataset_card.md`` rendered with a build's real numbers into ``OUT/README.md``.

The YAML header is made with the Hub's own classes (`DatasetCardData`, datasets'
`MetadataConfigs` and `DatasetInfosDict`), so ``configs`` and ``dataset_info`` are exactly what
``load_dataset`` and the Hub read. The example picture is drawn from a built ``age`` row.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from string import Template

import pyarrow.parquet as pq
from datasets import DatasetInfo, SplitDict, SplitInfo
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCardData

from builders.configs import DESCRIPTIONS, MIXES, TABLES, table_of
from builders.features import KINDS
from builders.splits import SPLITS, empty_splits_warning
from fifa_data.annotate.reliability import Reliability
from fifa_data.annotate.source import RESAVED, WARPED
from fifa_data.core.families import FAMILIES, FAMILY_PHRASES, family_of
from fifa_data.core.fict import load_fict
from fifa_data.core.images import load_rgb
from fifa_data.core.markup import strip
from fifa_data.core.schema import CONFIGS, PAIRS_TABLE, TASK_TABLE, Column
from fifa_data.pairs.photos import CREDITS
from fifa_data.viz import render_age

TEMPLATE = Path(__file__).resolve().parent.parent / "cards" / "dataset_card.md"
EXAMPLE_PICTURE = "images/age_example.png"
GALLERY_PICTURE = "images/age_{family}.jpg"  # one per forgery family; JPEG at GALLERY_WIDTH keeps the card's folder small
GALLERY_WIDTH = 960


def render_card(folder: str | Path, stats: dict, name: str | None = None, template: str | Path = TEMPLATE) -> str:
    """Write ``folder/README.md`` (and the example picture) for the build described by ``stats``.

    ``name`` is the folder name the card tells users to load (the final name of a staged build).
    """
    folder = Path(folder)
    example, example_split = _example_age_row(folder, stats)
    picture = ""
    if example is not None:
        (folder / "images").mkdir(exist_ok=True)
        image = load_rgb(io.BytesIO(example["image"]["bytes"]), name=example["image"]["path"])
        text = example["messages"][1]["content"][0]["text"]
        render_age(image, text, example["masks"], title=f"{example['manipulation']} · {example['pair_id']}",
                   alpha=0).save(folder / EXAMPLE_PICTURE)  # masks outlined: the edit inside them shows
        picture = f"![An AGE answer: each phrase in the colour of the outline of its mask]({EXAMPLE_PICTURE})"
    sample = stats["parameters"]["sources"] == ["sample"]
    values = {
        "yaml": card_yaml(stats, sample),
        "load_name": name or folder.name,
        "example_split": example_split or "train",
        "example_picture": picture or "(no fake in this build)",
        "example_row": json.dumps(_shortened(example), indent=2, ensure_ascii=False) if example else "{}",
        "family_gallery": _family_gallery(folder, stats),
        "split_header": " | ".join(SPLITS),
        "split_rule": "---:|" * len(SPLITS),
        "config_table": _config_table(stats),
        "empty_splits": f"\n\n**Warning:** {warning}." if (warning := empty_splits_warning(stats["rows"])) else "",
        "task_schema": schema_table(TASK_TABLE),
        "pairs_schema": schema_table(PAIRS_TABLE),
        "fict_summary": _fict_summary(),
        "statistics": _statistics(stats, _family_rows(folder, stats)),
        "provenance": _provenance(stats),
        "limitations_source": _limitations(sample, stats["sources"]),
        "licence": _licence(sample, stats["parameters"]["license"]),
    }
    text = Template(Path(template).read_text()).substitute(values)
    (folder / "README.md").write_text(text)
    return text


def card_yaml(stats: dict, sample: bool) -> str:
    """The card's YAML header: licence, task categories, ``configs`` and ``dataset_info``."""
    total = sum(n for config, by_split in stats["rows"].items() if config not in MIXES for n in by_split.values())
    data = DatasetCardData(
        pretty_name="FiFa: fine-grained explainable DeepFake analysis",
        license=stats["parameters"]["license"],
        language=["en"],
        task_categories=["image-text-to-text", "image-segmentation", "image-classification", "visual-question-answering"],
        tags=["deepfake", "face-forensics", "explainability", "grounding", "segmentation"],
        size_categories=[_size_category(total)],
    )
    configs = {}
    infos = {}
    for config, by_split in stats["files"].items():
        patterns = [{"split": split, "path": _patterns(files)} for split, files in by_split.items()]
        configs[config] = {"data_files": patterns}
        if config == "instruct":
            configs[config]["default"] = True
        features = TABLES[table_of(config)]
        splits = SplitDict()
        for split in by_split:
            splits.add(SplitInfo(name=split, num_bytes=stats["bytes"][config][split], num_examples=stats["rows"][config][split]))
        size = sum(stats["bytes"][config].values())
        infos[config] = DatasetInfo(features=features, splits=splits, download_size=size, dataset_size=size)
    MetadataConfigs(configs).to_dataset_card_data(data)
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return data.to_yaml()


def _patterns(files: list[str]) -> str | list[str]:
    """One glob per folder, e.g. ``tasks/age/train-*.parquet``; a list, task by task, for the mixes."""
    globs = list(dict.fromkeys(f"{Path(f).parent.as_posix()}/{Path(f).name.split('-')[0]}-*.parquet" for f in files))
    return globs[0] if len(globs) == 1 else globs


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < limit:
            return name
    return "10M<n<100M"


def _example_age_row(folder: Path, stats: dict) -> tuple[dict | None, str | None]:
    """The first fake ``age`` row with the most masks among the first few, preferring train."""
    for split in SPLITS:
        for name in stats["files"].get("age", {}).get(split, []):
            fakes = [row for row in _first_rows(folder / name) if row["label"] == "fake" and row["masks"]]
            if fakes:
                return max(fakes, key=lambda row: (min(len(row["masks"]), 4), -fakes.index(row))), split
    return None, None


def _family_gallery(folder: Path, stats: dict) -> str:
    """The card's gallery: one AGE picture per forgery family in the build (its first ``age`` row, train first), with its text."""
    found: dict[str, dict] = {}
    for split in SPLITS:
        for name in stats["files"].get("age", {}).get(split, []):
            file = pq.ParquetFile(folder / name)
            for group in range(file.num_row_groups):
                families = file.read_row_group(group, columns=["family", "label"]).to_pylist()
                wanted = {i for i, row in enumerate(families) if row["label"] == "fake" and row["family"] not in found}
                if not wanted:
                    continue
                rows = file.read_row_group(group).to_pylist()
                for i in sorted(wanted):
                    found.setdefault(rows[i]["family"], rows[i])
    if not found:
        return ""
    (folder / "images").mkdir(exist_ok=True)
    parts = ["## One explanation per forgery family", "",
             "The first `age` row of every family in this build (what a family is: `fifa_data.core.families`)."]
    for family in (f for f in FAMILIES if f in found):
        row = found[family]
        text = row["messages"][1]["content"][0]["text"]
        image = load_rgb(io.BytesIO(row["image"]["bytes"]), name=row["image"]["path"])
        picture = GALLERY_PICTURE.format(family=family)
        render_age(image, text, row["masks"], title=f"{family} · {row['manipulation']} · {row['pair_id']}", width=GALLERY_WIDTH,
                   alpha=0).convert("RGB").save(folder / picture, quality=85)
        parts += ["", f"**{family}** (`{row['manipulation']}`)", "", f"![{FAMILY_PHRASES[family]}]({picture})", "", f"> {strip(text)}"]
    return "\n".join(parts)


def _first_rows(path: Path, n: int = 64) -> list[dict]:
    """The first ``n`` rows of a parquet file, read row group by row group (not the whole file)."""
    file, rows = pq.ParquetFile(path), []
    for group in range(file.num_row_groups):
        rows += file.read_row_group(group).to_pylist()
        if len(rows) >= n:
            break
    return rows[:n]


def _shortened(row: dict) -> dict:
    row = dict(row, image={"bytes": f"<{len(row['image']['bytes'])} bytes>", "path": row["image"]["path"]})
    row["masks"] = [{"size": m["size"], "counts": m["counts"][:24] + "…"} for m in row["masks"]]
    return row


def _config_table(stats: dict) -> str:
    lines = []
    for config in CONFIGS:
        if config not in stats["versions"]:
            continue
        rows = stats["rows"].get(config, {})
        counts = " | ".join(f"{rows[s]:,}" if s in rows else "–" for s in SPLITS)
        lines.append(f"| `{config}` | {stats['versions'][config]} | {DESCRIPTIONS[config]} | {counts} |")
    return "\n".join(lines)


def schema_table(table: tuple[Column, ...]) -> str:
    """The card's column table of a declared table: name, type and meaning of every column."""
    return "\n".join(f"| `{c.name}` | {_type_name(KINDS[c.kind])} | {c.doc} |" for c in table)


def _type_name(feature) -> str:
    name = type(feature).__name__
    if name == "Value":
        return feature.dtype
    if name == "Image":
        return "Image"
    if isinstance(feature, dict):
        return "struct" if set(feature) != {"size", "counts"} else "RLE"
    inner = _type_name(feature.feature)
    return f"list\\<{inner}\\>"


def _fict_summary() -> str:
    fict = load_fict()
    concepts = list(fict)
    top = ", ".join(f"`{c}`" for c in fict.root.children)
    face = ", ".join(f"`{c}`" for c in fict["face"].children)
    return (
        f"FICT {fict.version} has {len(concepts)} concepts, {len(fict.atomic_ids)} of them atomic, and goes "
        f"{max(c.level for c in concepts)} levels below the root `image`. Its first level is {top}; `face` splits into "
        f"{face}. Left and right are the subject's own. The `fict` config lists every concept; a parent's mask is the union "
        "of its children's, and atomic masks never overlap."
    )


def _image_ratio(stats: dict) -> float:
    """Image bytes as stored in all tables ÷ every distinct image once."""
    images = stats["image_bytes"]
    return images["stored"] / max(images["unique"], 1)


def _family_rows(folder: Path, stats: dict) -> dict[str, Counter]:
    """The ``cls`` fakes of every split counted by family (the ``family`` column; every fake has one ``cls`` row)."""
    counts = {}
    for split, files in stats["files"].get("cls", {}).items():
        counts[split] = Counter(f for name in files for f in pq.read_table(folder / name, columns=["family"])["family"].to_pylist() if f)
    return counts


def _statistics(stats: dict, family_rows: dict[str, Counter] | None = None) -> str:
    parts = [
        f"**Pairs.** {stats['pairs_in']:,} pairs in, {stats['accepted']:,} annotated, "
        f"{sum((stats.get('image_level_only') or {}).values()):,} kept for det and cls only, "
        f"{sum(stats['rejected'].values()):,} rejected (every reject is a row of `rejects.parquet`).",
        "",
        *_rejects_table(stats["rejected"]),
    ]
    image_level = stats.get("image_level_only") or {}
    if image_level:
        why = ", ".join(f"{n:,} {reason}" for reason, n in sorted(image_level.items()))
        parts += ["", f"**Fakes kept for det and cls only.** {sum(image_level.values()):,} fakes whose edit could not be "
                  f"localised ({why}) are still fakes: they have rows in `det` and `cls`, and no mask or text."]
    parts += _reliability(stats.get("reliability") or {}, (stats.get("mask_modes") or {}).get("given", 0))
    if stats["manipulations"]:
        families = Counter()
        for manipulation, n in stats["manipulations"].items():
            families[family_of(manipulation)] += n
        parts += ["", "**Forgery families** (annotated fakes):", "", "| family | fakes |", "|---|---:|"]
        parts += [f"| {family} | {families[family]:,} |" for family in FAMILIES if families[family]]
    if family_rows and any(family_rows.values()):
        splits = [s for s in SPLITS if s in family_rows]
        parts += ["", "**Fakes per family and split** (`cls` rows, fakes kept for det and cls only included):", "",
                  "| family | " + " | ".join(splits) + " |", "|---|" + "---:|" * len(splits)]
        parts += [f"| {family} | " + " | ".join(f"{family_rows[s][family]:,}" for s in splits) + " |"
                  for family in FAMILIES if any(family_rows[s][family] for s in splits)]
    if stats["manipulations"]:
        parts += ["", "**Manipulation types** (annotated fakes):", "", "| manipulation | family | fakes |", "|---|---|---:|"]
        parts += [f"| {m} | {family_of(m)} | {n:,} |" for m, n in sorted(stats["manipulations"].items(), key=lambda kv: (-kv[1], kv[0]))]
    if stats["concepts"]:
        fict = load_fict()
        top = sorted(stats["concepts"].items(), key=lambda kv: (-kv[1], kv[0]))[:20]
        parts += ["", "**Most often manipulated concepts** (fakes in which the annotator flags them, top 20):", "",
                  "| concept | name | fakes |", "|---|---|---:|"]
        parts += [f"| `{c}` | {fict[c].name} | {n:,} |" for c, n in top]
    guard = stats["guard"]
    accepted = max(stats["accepted"], 1)
    parts += [
        "",
        f"**Size.** {stats['disk_bytes'] / 1e6:,.1f} MB of parquet, {stats['disk_bytes'] / accepted / 1e6:,.2f} MB per "
        f"annotated pair. Every row embeds its image file; image bytes stored ÷ distinct image bytes = "
        f"{_image_ratio(stats):.2f} (an image is once in each task config it belongs to, whatever the rows that carry it, "
        "and once in `pairs`; a real photo once per row group).",
        "",
        f"**Text–decision consistency** (the guard compares every text with the annotator's own decisions; "
        f"agreement with the truth is the reliability section's). {guard['texts']:,} explanations checked: "
        f"{guard['clean']:,} clean, {guard['repaired']:,} repaired, {guard['rejected']:,} replaced; "
        f"{guard['inconsistent']:,} mentions of concepts the decisions do not flag removed, {guard['missing']:,} "
        f"missing concepts filled in, {guard.get('wrong_family', 0):,} texts stating another forgery family than the "
        f"pair's corrected, {guard['writer_failures']:,} writer failures.",
    ]
    return "\n".join(parts)


def _rejects_table(rejected: dict[str, int]) -> list[str]:
    """The rejects by reason, most frequent first; a sentence when there are none (a bare table header reads as broken)."""
    if not any(rejected.values()):
        return ["No input was rejected."]
    rows = [f"| {reason} | {n:,} |" for reason, n in sorted(rejected.items(), key=lambda kv: -kv[1])]
    return ["| reason | pairs |", "|---|---:|", *rows]


def _reliability(totals: dict, given: int = 0) -> list[str]:
    """The card's "Annotation reliability" section: the annotations against the true edit masks."""
    if not totals.get("pairs"):
        return []
    figures = Reliability(**totals).figures()

    def cell(value: float | None, percent: bool = False) -> str:
        return "-" if value is None else f"{100 * value:.1f} %" if percent else f"{value:.3f}"

    return [
        "",
        "### Annotation reliability",
        "",
        f"Measured on this build: {figures['pairs']:,} pairs whose source gives the true edit mask (the simulator's "
        "`edit_mask`, or the dataset's own `mask`), scored against that mask and against what each manipulation type "
        "really does (`fifa_data.annotate.reliability`; a pair that is rejected or kept for det and cls only scores 0 IoU)."
        + (" Where the given mask is also the artifact mask (mode `given`), IoU and concepts agree by construction; "
           "`--score-given-masks` computes the masks instead and measures them against it." if given else ""),
        "",
        "| figure | value |",
        "|---|---:|",
        f"| pairs localised (mask and text) | {cell(figures['localised'], True)} |",
        f"| artifact-mask mIoU against the edit | {cell(figures['miou'])} |",
        f"| concept precision / recall | {cell(figures['concept_precision'])} / {cell(figures['concept_recall'])} |",
        f"| fact precision (stated facts true of the edit) | {cell(figures['fact_precision'])} |",
        f"| geometry stated about colour or texture edits | {figures['geometry_on_paint']:,} |",
        f"| named concepts lying outside the edit | {cell(figures['named_outside'], True)} |",
        f"| background or body concepts named (outside the edit) | {figures['background_body_named']:,} "
        f"({figures['background_body_outside']:,}) |",
        f"| texts stating the true forgery family / another family | {cell(figures['family_stated'], True)} / "
        f"{cell(figures['wrong_family'], True)} |",
        f"| texts calling another family an attribute edit | {figures['attribute_on_other']:,} |",
        *([f"| unnamed fakes whose family was guessed right | {cell(figures['family_guessed'], True)} |"]
          if figures["family_guessed"] is not None else []),
    ]


def _mask_modes(annotator: dict, modes: dict) -> str:
    """How the accepted fakes' artifact masks were made: computed in the configured mode, or given by the source."""
    warped, resaved = modes.get(WARPED, 0), modes.get(RESAVED, 0)
    computed = f"mode `{annotator['mask_mode']}`" + (
        f", with the pixels a warp moved added in the {warped:,} fakes read as warps (`fifa_data.annotate.motion`)" if warped else "") + (
        f"; {resaved:,} JPEG fakes were compared with their real saved the same way, which leaves only the edited "
        "blocks different (`fifa_data.core.images.resaved_reference`)" if resaved else "")
    given = modes.get("given", 0)
    if not given:
        return computed + ("; the source's own masks (`--score-given-masks`) serve only as the truth below"
                           if not annotator.get("use_given_masks", True) else "")
    total = sum(n for mode, n in modes.items() if mode not in (WARPED, RESAVED))
    return f"{given:,} given by the source (its `mask` column, mode `given`), {total - given:,} computed in {computed}"


def _provenance(stats: dict) -> str:
    p = stats["parameters"]
    annotator = p["annotator"]
    decision = annotator["decision"]
    sources = ", ".join(f"`{s['name']}` ({s['pairs']:,} pairs found, {s['rejected']:,} rejected while scanning)" for s in stats["sources"])
    sample = p["sources"] == ["sample"]
    lines = [
        f"- **Sources:** {sources}."
        + (f" The bundled sample source simulates {p['sample_pairs']} edits of public-domain photos: FaceApp-like "
           "attribute edits and, after every two of them, one edit of another forgery family (face swap, self-blend, "
           "reenactment, part swap, inpainting; `fifa_data.pairs.sample_source.SAMPLE_MIX`)." if sample else ""),
        f"- **Artifact masks:** {_mask_modes(annotator, stats.get('mask_modes') or {})}.",
        f"- **Concept decisions:** an atomic concept is manipulated when the artifact covers at least "
        f"{decision['min_pixels']} of its pixels and either {decision['min_share']:.0%} of it or "
        f"{decision['large_pixels']:.1%} of the image; a parent when it has at least {decision['min_pixels']} artifact pixels "
        f"and more than {decision['parent_child_share']:.0%} of its visible children are manipulated or "
        f"{decision['parent_min_share']:.0%} of it is covered.",
        f"- **Writer:** `{p['writer']['kind']}`" + (f" (`{p['writer'].get('model')}`)" if p["writer"]["kind"] == "llm" else "") + ".",
        "- **Versions:** " + ", ".join(f"`{c}` {v}" for c, v in stats["versions"].items()) + ".",
        f"- **Content fingerprint** (sha256 of every parquet file's path and bytes): `{stats['fingerprint']}`.",
        "",
        "The same sources, parameters and versions give byte-identical parquet files and the same fingerprint. "
        "`build.json` holds every parameter:",
        "",
        "```json",
        json.dumps(p, indent=2, sort_keys=True),
        "```",
    ]
    if stats.get("merged_slices"):
        lines.insert(0, f"- **Slices:** built as {stats['merged_slices']} slices and merged.")
    return "\n".join(lines)


def _limitations(sample: bool, sources: list[dict]) -> str:
    """What the card says of the edits: the sample's simulated ones, or those of the user's sources, named here."""
    if sample:
        return ("This build uses the bundled sample source: classical, simulated edits (recolouring, warps, "
                "smoothing, drawn hair, beards and glasses; face and part swaps, self-blends, reenactments and "
                "inpaintings) of a few public-domain photos, made to exercise the pipeline. They are neither FaceApp "
                "edits nor a deepfake generator's output, and three photos are far too few identities to train a "
                "detector that generalises. Build from your own FaceApp-style pairs for research.")
    names = ", ".join(f"`{s['name']}`" for s in sources)
    return f"The fakes come from this build's sources ({names}, described under *How it was built*); their edit types and biases carry over."


def _licence(sample: bool, license: str) -> str:
    if not sample:
        return (f"Declared licence: `{license}`. The images keep the licence of the sources they come from; check it "
                "before you share this dataset (`--license` sets the card's licence). The annotations (masks, "
                "decisions, texts) are generated by FiFa.")
    credits = "\n".join(f"- {credit}" for credit in CREDITS.values())
    return ("The bundled photos are in the public domain or CC0, and the simulated fakes and annotations are "
            f"released under CC0 1.0:\n\n{credits}")
