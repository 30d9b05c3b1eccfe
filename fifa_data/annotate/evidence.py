"""Evidence: what the edit did to each manipulated concept, measured from the pair's pixels.

For every manipulated concept the measurements are taken inside its concept-artifact region
(artifact ∩ concept), real against fake:

* **colour**: mean CIE76 ΔE, the mean shift of L*, a*, b* and chroma, and a colour name of the
  region before and after (``red``, ``blonde``, ``purple``...);
* **brightness**: the relative change of mean luma;
* **texture**: log2 of the ratio of Laplacian energy (fake / real), less the same ratio measured
  on the untouched pixels around it, so a JPEG re-encode of the whole fake does not read as
  smoothing (negative: smoothed, positive: sharpened / detail added);
* **geometry**: the real face's mesh landmarks inside the concept are tracked into the fake with
  dense optical flow (DIS, at a resolution of about `EvidenceConfig.flow_unit_px` pixels per eye
  distance); reported as the mean displacement, how far the points rose, moved towards the face
  centre, and the log2 change of their spread (enlarged / shrunk), all in eye distances. The
  mesh run again on the fake is no use here: its landmarks jitter by about 1 % of the eye distance
  between two near-identical photos, as much as a slimming warp moves them. Whether the pair is
  a warp at all is read once per pair, by `fifa_data.annotate.motion.pair_motion` (*warped*, with its
  *pair_motion_explained* and *flow_coherence*), since flow also "moves" pixels whose colour
  changed. In a warped pair, a concept states its motion when the flow explains a share of its
  own change (*motion_explained*, grey-level difference removed by warping the fake back) and
  its landmarks moved clearly more than the flow's noise (*flow_noise*, the 90th percentile on
  the window's pixels a third of an eye distance or more from the artifact). In a warp, colour,
  texture and seam readings are resampling's side effects and are not stated; regions without
  landmarks (ears, neck, hair) state no motion;
* **seam**: log2 ratio of Laplacian energy on the inner border band of the artifact mask (a
  pasted or blended edit leaves a sharper ring), re-encode corrected like texture;
* **share**: the share of the concept the artifact covers.

:meth:`Evidence.facts` turns the numbers into qualitative :class:`Fact` s with the thresholds of
:class:`EvidenceConfig`; the writers only ever state those facts.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass, fields

import cv2
import numpy as np

from fifa_data.annotate.decide import Decisions
from fifa_data.annotate.motion import MIN_FLOW_SIDE, NO_MOTION, PairMotion, eye_distance, warp_back
from fifa_data.core.fict import FICT

MAX_SAMPLES = 20_000  # artifact pixels per pair that enter the per-concept means
MIN_SPREAD = 0.05  # eye distances: landmarks spread less than this measure no size change
_LAPLACE_EPS = 1.0


@dataclass(frozen=True)
class EvidenceConfig:
    """Thresholds from which a measurement becomes a stated fact, and the flow resolution."""

    colour_shift: float = 3.0  # shift of the mean a*b* (hue and chroma) from which a colour change is stated
    colour_component: float = 2.0  # a*, b* or chroma shift from which its direction is named
    lightness: float = 3.0  # L* shift stated as lighter / darker
    texture: float = 0.5  # |log2 energy ratio| stated as smoothed / sharpened
    seam: float = 0.6  # log2 energy ratio on the border band stated as a visible seam
    scale: float = 0.025  # |log2 spread ratio| stated as enlarged / shrunk
    shift: float = 0.008  # rise or inward move, in eye distances, stated as raised / pulled in
    min_landmarks: int = 3
    flow_unit_px: float = 32.0
    motion_explained: float = 0.25  # in a warped pair, a concept states its motion when the flow explains this share of its change
    motion_only: float = 0.4  # a paint's concept whose change the flow explains this much states no colour or texture
    flow_noise: float = 2.0  # the landmarks' displacement must be this many times the flow noise

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Fact:
    """One qualitative statement about a concept, e.g. ``Fact("colour", "redder", "clear", 6.1)``."""

    kind: str  # colour | lightness | texture | geometry | seam; a pair's family facts: blend | replaced | removed | motion
    direction: str
    strength: str  # slight | clear | strong
    value: float


@dataclass(frozen=True)
class Evidence:
    """Measurements of one manipulated concept (see the module docstring for each field)."""

    concept_id: str
    pixels: int
    share: float
    centroid: tuple[float, float]
    delta_e: float
    delta_lightness: float
    delta_a: float
    delta_b: float
    delta_chroma: float
    colour_before: str
    colour_after: str
    brightness: float
    texture: float
    seam: float | None
    landmarks: int
    displacement: float | None
    rise: float | None
    inward: float | None
    scale: float | None
    motion_explained: float | None = None
    flow_noise: float | None = None
    pair_motion_explained: float | None = None  # the pair's reading (`motion.PairMotion`): share explained ...
    flow_coherence: float | None = None  # ... and the flow's smoothness over the pair's artifact
    warped: bool = False  # the pair's edit is a warp (`motion.pair_motion`)

    def moved(self, config: EvidenceConfig) -> bool:
        """Whether this concept moved: the pair is warped, the flow explains the concept's change,
        and its landmarks' displacement stands above the flow's noise."""
        if not self.warped or self.motion_explained is None or self.displacement is None:
            return False  # no landmarks inside (ears, neck, hair): a mesh-less region's flow is not stated
        if self.motion_explained < config.motion_explained:
            return False
        return self.flow_noise is None or self.displacement >= config.flow_noise * self.flow_noise

    def facts(self, config: EvidenceConfig = EvidenceConfig()) -> list[Fact]:
        """The stated facts, strongest kind first. In a warp (`warped`) the colour, texture and seam
        readings are side effects of resampling: only the geometry is stated. In a paint, a concept
        whose change the flow explains (`motion_only`) states its seam only."""
        facts: list[Fact] = []
        if self.warped:
            return self._geometry_facts(config, config.scale) if self.moved(config) else []
        if self.motion_explained is not None and self.motion_explained >= config.motion_only:
            return self._seam_facts(config)
        shift = math.hypot(self.delta_a, self.delta_b)
        if shift >= config.colour_shift:
            directions = [
                (abs(v), name)
                for v, name in (
                    (self.delta_a, "redder" if self.delta_a > 0 else "greener"),
                    (self.delta_b, "yellower" if self.delta_b > 0 else "bluer"),
                    (self.delta_chroma, "more saturated" if self.delta_chroma > 0 else "less saturated"),
                )
                if abs(v) >= config.colour_component
            ]
            for _, name in sorted(directions, reverse=True)[:2]:
                facts.append(Fact("colour", name, strength(shift, config.colour_shift), shift))
            if not directions:
                facts.append(Fact("colour", "recoloured", strength(shift, config.colour_shift), shift))
        if abs(self.delta_lightness) >= config.lightness:
            name = "lighter" if self.delta_lightness > 0 else "darker"
            facts.append(Fact("lightness", name, strength(abs(self.delta_lightness), config.lightness), self.delta_lightness))
        if abs(self.texture) >= config.texture:
            name = "sharper" if self.texture > 0 else "smoother"
            facts.append(Fact("texture", name, strength(abs(self.texture), config.texture), self.texture))
        return facts + self._seam_facts(config)

    def _seam_facts(self, config: EvidenceConfig) -> list[Fact]:
        if self.seam is not None and self.seam >= config.seam:
            return [Fact("seam", "visible seam", strength(self.seam, config.seam), self.seam)]
        return []

    def _geometry_facts(self, config: EvidenceConfig, size_threshold: float) -> list[Fact]:
        facts = []
        if self.scale is not None and abs(self.scale) >= size_threshold:
            name = "enlarged" if self.scale > 0 else "shrunk"
            facts.append(Fact("geometry", name, strength(abs(self.scale), size_threshold), self.scale))
        if self.rise is not None and abs(self.rise) >= config.shift:
            name = "raised" if self.rise > 0 else "lowered"
            facts.append(Fact("geometry", name, strength(abs(self.rise), config.shift), self.rise))
        if self.inward is not None and abs(self.inward) >= config.shift:
            name = "pulled inward" if self.inward > 0 else "pushed outward"
            facts.append(Fact("geometry", name, strength(abs(self.inward), config.shift), self.inward))
        return facts

    def to_dict(self, config: EvidenceConfig = EvidenceConfig()) -> dict:
        """Measurements and stated facts as plain values (floats rounded to 4 decimals)."""
        row = {f.name: (round(v, 4) if isinstance(v := getattr(self, f.name), float) else v) for f in fields(self)}  # flat: no deep asdict
        row["centroid"] = [round(v, 1) for v in self.centroid]
        row["facts"] = [{"kind": f.kind, "direction": f.direction, "strength": f.strength, "value": round(f.value, 4)} for f in self.facts(config)]
        return row


def strength(value: float, threshold: float) -> str:
    """How clearly a reading passes its threshold: ``slight`` (under twice), ``clear`` (under four times) or ``strong``."""
    return "slight" if value < 2 * threshold else "clear" if value < 4 * threshold else "strong"


def subsample(ys: np.ndarray, xs: np.ndarray, labels: np.ndarray, max_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """A regular subsample of the artifact pixels, at most about ``max_samples`` (means need no more),
    that keeps at least one pixel of every concept the artifact touches, so no flagged concept is left
    without evidence."""
    step = -(-len(ys) // max_samples)
    if step <= 1:
        return ys, xs
    keep = np.zeros(len(ys), dtype=bool)
    keep[::step] = True
    ids = labels[ys, xs]
    present, first = np.unique(ids, return_index=True)
    keep[first[~np.isin(present, ids[keep])]] = True
    return ys[keep], xs[keep]


def measure_evidence(
    real: np.ndarray,
    fake: np.ndarray,
    decisions: Decisions,
    landmarks: np.ndarray,
    concepts: tuple[str, ...] | None = None,
    config: EvidenceConfig = EvidenceConfig(),
    motion: PairMotion = NO_MOTION,
) -> dict[str, Evidence]:
    """Measure every manipulated concept (or just ``concepts``) of a pair.

    ``real`` and ``fake`` are the pair's RGB uint8 pixels, ``landmarks`` the real face's mesh
    landmarks (N, 2 or 3) in pixels. Runs in a few milliseconds: per-pixel values are computed only
    on the artifact pixels (and, for texture and flow, on the artifact's bounding box) and summed
    per atomic concept once; a parent's sums are its children's.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real {real.shape} and fake {fake.shape} differ in size")
    fict = decisions.fict
    wanted = concepts if concepts is not None else decisions.manipulated
    artifact = decisions.artifact
    box = decisions.artifact_box
    if box is None:
        return {}
    y0, y1, x0, x1 = box[0].start, box[0].stop, box[1].start, box[1].stop
    ys, xs = np.nonzero(artifact[box])
    ys += y0
    xs += x0
    labels = decisions.concept_masks.labels
    ys, xs = subsample(ys, xs, labels, MAX_SAMPLES)
    n = len(fict.atomic_ids) + 1
    ids = labels[ys, xs]

    columns = _colour_columns(real[ys, xs], fake[ys, xs])
    grey_real, grey_fake = (cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) for image in (real, fake))
    texture, reference = _texture(grey_real, grey_fake, artifact, ys, xs, (y0, y1, x0, x1))
    columns.update(texture)
    columns["x"], columns["y"], columns["one"] = xs.astype(np.float64), ys.astype(np.float64), np.ones(len(ys))
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    unit = eye_distance(points)
    flow = _motion(grey_real, grey_fake, artifact, points, unit, (y0, y1, x0, x1), ys, xs, config.flow_unit_px)
    columns["div"], columns["div_n"] = flow.divergence, flow.sampled.astype(np.float64)
    columns["moved_before"], columns["moved_after"] = flow.before, flow.after
    names = list(columns)
    sums = np.stack([np.bincount(ids, weights=columns[k], minlength=n) for k in names], axis=1)
    h, w = labels.shape
    point_ids = labels[np.clip(np.rint(points[:, 1]).astype(int), 0, h - 1), np.clip(np.rint(points[:, 0]).astype(int), 0, w - 1)]
    centre = points.mean(axis=0) if len(points) else np.zeros(2)
    membership = _membership(fict)
    wanted = [c for c in wanted if c in membership.index]
    totals = membership.matrix[[membership.index[c] for c in wanted]] @ sums  # one row per wanted concept

    out = {}
    for concept_id, row in zip(wanted, totals):
        decision = decisions.concepts[concept_id]
        total = dict(zip(names, row))
        if total["one"] == 0:
            continue
        mean = {k: total[k] / total["one"] for k in names}
        selected = membership.matrix[membership.index[concept_id]][point_ids].astype(bool) & flow.tracked
        divergence = total["div"] / total["div_n"] if total["div_n"] >= 0.5 * total["one"] and total["div_n"] >= 16 else None
        geometry = _geometry(points[selected], flow.flow[selected], centre, unit, divergence, config.min_landmarks)
        out[concept_id] = Evidence(
            concept_id=concept_id,
            pixels=decision.artifact_pixels,
            share=decision.share,
            centroid=(mean["x"], mean["y"]),
            delta_e=mean["delta_e"],
            delta_lightness=mean["L_fake"] - mean["L_real"],
            delta_a=mean["a_fake"] - mean["a_real"],
            delta_b=mean["b_fake"] - mean["b_real"],
            delta_chroma=mean["C_fake"] - mean["C_real"],
            colour_before=colour_name(mean["L_real"], mean["a_real"], mean["b_real"]),
            colour_after=colour_name(mean["L_fake"], mean["a_fake"], mean["b_fake"]),
            brightness=(mean["luma_fake"] - mean["luma_real"]) / max(mean["luma_real"], 1.0),
            texture=_log_ratio(total["lap_fake"], total["lap_real"], total["one"]) - reference,
            seam=(
                _log_ratio(total["edge_fake"], total["edge_real"], total["edge"]) - reference
                if total["edge"] >= 4
                else None
            ),
            landmarks=int(selected.sum()),
            **geometry,
            motion_explained=1.0 - total["moved_after"] / total["moved_before"] if total["moved_before"] > 0 else None,
            flow_noise=flow.noise / unit if flow.noise is not None and unit > 0 else None,
            pair_motion_explained=motion.explained,
            flow_coherence=motion.coherence,
            warped=motion.warped,
        )
    return out


@dataclass(frozen=True)
class _Membership:
    index: dict[str, int]  # concept id -> row
    matrix: np.ndarray  # (concepts, labels): 1.0 where the label is one of the concept's atomic parts


@functools.lru_cache(maxsize=4)
def _membership(fict: FICT) -> _Membership:
    """Which label values make up each concept, as a matrix: a concept's sums are one product."""
    labels = {c: i + 1 for i, c in enumerate(fict.atomic_ids)}
    ids = [c.id for c in fict]
    matrix = np.zeros((len(ids), len(labels) + 1))
    for row, concept_id in enumerate(ids):
        matrix[row, [labels[a] for a in fict.atomic_descendants(concept_id)]] = 1.0
    return _Membership({c: i for i, c in enumerate(ids)}, matrix)


def _log_ratio(fake_sum: float, real_sum: float, count: float) -> float:
    if count == 0:
        return 0.0
    return math.log2((fake_sum / count + _LAPLACE_EPS) / (real_sum / count + _LAPLACE_EPS))


def _colour_columns(real_rgb: np.ndarray, fake_rgb: np.ndarray) -> dict[str, np.ndarray]:
    """Per-pixel L*a*b*, chroma, luma and ΔE of the artifact pixels (K, 3 uint8 each).

    OpenCV's 8-bit L*a*b* (a lookup table, several times faster than the float path) is exact to
    about half a ΔE unit, far below any threshold used here.
    """
    out: dict[str, np.ndarray] = {}
    labs = []
    for tag, rgb in (("real", real_rgb), ("fake", fake_rgb)):
        lab = cv2.cvtColor(np.ascontiguousarray(rgb).reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).reshape(-1, 3).astype(np.float64)
        lab[:, 0] *= 100.0 / 255.0
        lab[:, 1:] -= 128.0
        labs.append(lab)
        out[f"L_{tag}"], out[f"a_{tag}"], out[f"b_{tag}"] = lab[:, 0], lab[:, 1], lab[:, 2]
        out[f"C_{tag}"] = np.hypot(lab[:, 1], lab[:, 2])
        out[f"luma_{tag}"] = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    out["delta_e"] = np.linalg.norm(labs[0] - labs[1], axis=1)
    return out


def _padded(box: tuple[int, int, int, int], pad: int, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    y0, y1, x0, x1 = box
    return max(y0 - pad, 0), min(y1 + pad, shape[0]), max(x0 - pad, 0), min(x1 + pad, shape[1])


def _texture(real, fake, artifact, ys, xs, box) -> tuple[dict[str, np.ndarray], float]:
    """Squared Laplacian of both images at the sampled artifact pixels and on the artifact's
    border band, and the log2 energy ratio of the untouched pixels around it (the re-encode's
    share, subtracted from every texture and seam reading)."""
    span = max(box[1] - box[0], box[3] - box[2])
    crop = _padded(box, max(span // 4, 16), artifact.shape)
    y0, _, x0, _ = crop
    inside = artifact[crop[0] : crop[1], crop[2] : crop[3]]
    inside8 = inside.view(np.uint8)
    band = inside8 > cv2.erode(inside8, np.ones((5, 5), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    border = band[ys - y0, xs - x0]
    out = {"edge": border.astype(np.float64)}
    outside = (inside8 == 0).view(np.uint8)
    enough = cv2.countNonZero(outside) >= 256
    energies = []
    for tag, image in (("real", real), ("fake", fake)):
        lap = cv2.Laplacian(image[crop[0] : crop[1], crop[2] : crop[3]], cv2.CV_32F, ksize=3)
        lap *= lap
        at = lap[ys - y0, xs - x0].astype(np.float64)
        out[f"lap_{tag}"] = at
        out[f"edge_{tag}"] = at * border
        energies.append(cv2.mean(lap, mask=outside)[0] if enough else 0.0)
    reference = math.log2((energies[1] + _LAPLACE_EPS) / (energies[0] + _LAPLACE_EPS)) if enough else 0.0
    return out, reference


@dataclass(frozen=True)
class _Motion:
    """Optical flow real → fake at the landmarks (pixels) and its divergence at the artifact pixels."""

    tracked: np.ndarray  # (N,) bool: landmark inside the flow window
    flow: np.ndarray  # (N, 2) displacement in pixels
    sampled: np.ndarray  # (K,) bool: artifact pixel inside the flow window
    divergence: np.ndarray  # (K,) relative area change at each artifact pixel
    before: np.ndarray  # (K,) |real - fake| grey level at each sampled artifact pixel
    after: np.ndarray  # (K,) the same once the fake is warped back by the flow
    noise: float | None  # 90th percentile of the flow on the window's pixels away from the artifact, photo pixels


def _motion(real, fake, artifact, points, unit, box, ys, xs, unit_px) -> _Motion:
    """Dense DIS flow on the face part of the artifact's box, at about ``unit_px`` px per eye distance."""
    zeros = np.zeros(len(ys))
    none = _Motion(np.zeros(len(points), bool), np.zeros((len(points), 2)), np.zeros(len(ys), bool), zeros, zeros, zeros, None)
    if unit <= 0 or len(points) == 0:
        return none
    pad = 0.3 * unit
    y0, y1, x0, x1 = _padded(box, int(pad), real.shape)
    # Only the face moves in a warp we can measure: the flow window need not reach beyond it.
    y0, y1 = max(y0, int(points[:, 1].min() - pad)), min(y1, int(points[:, 1].max() + pad) + 1)
    x0, x1 = max(x0, int(points[:, 0].min() - pad)), min(x1, int(points[:, 0].max() + pad) + 1)
    scale = min(1.0, unit_px / unit)
    # OpenCV's DIS crashes on images smaller than its coarsest pyramid level: widen thin windows.
    reach = int(math.ceil(MIN_FLOW_SIDE / scale))
    (y0, y1), (x0, x1) = (_widen(a, b, reach, limit) for a, b, limit in ((y0, y1, real.shape[0]), (x0, x1, real.shape[1])))
    size = (int(round((x1 - x0) * scale)), int(round((y1 - y0) * scale)))
    if min(size) < MIN_FLOW_SIDE:
        return none  # the photo itself is too small to measure motion in
    grey = [
        _shrink(image[y0:y1, x0:x1], size)
        for image in (real, fake)
    ]
    # A fresh DIS object per call: a reused one lets buffers of earlier calls change the result,
    # and then the same pair would give other numbers in another process.
    field = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST).calc(grey[0], grey[1], None)
    divergence = np.gradient(field[..., 0], axis=1) + np.gradient(field[..., 1], axis=0)
    sx, sy = size[0] / (x1 - x0), size[1] / (y1 - y0)

    def lookup(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        u, v = (x - x0) * sx, (y - y0) * sy
        inside = (u >= 0) & (u <= size[0] - 1) & (v >= 0) & (v <= size[1] - 1)
        return inside, np.rint(u[inside]).astype(int), np.rint(v[inside]).astype(int)

    tracked, u, v = lookup(points[:, 0], points[:, 1])
    flow = np.zeros((len(points), 2))
    flow[tracked] = field[v, u] / np.array([sx, sy])
    sampled, u, v = lookup(xs.astype(np.float64), ys.astype(np.float64))
    div, before, after = np.zeros(len(ys)), np.zeros(len(ys)), np.zeros(len(ys))
    div[sampled] = divergence[v, u]
    # Warping the fake back by the flow undoes a warp, not a repaint.
    back = warp_back(grey[1], field)
    real_grey = grey[0].astype(np.float32)
    before[sampled] = np.abs(real_grey - grey[1])[v, u]
    after[sampled] = np.abs(real_grey - back)[v, u]
    # Untouched: away from the artifact by a third of an eye distance, for a warp spreads beyond its mask.
    touched = cv2.resize(artifact[y0:y1, x0:x1].view(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    margin = max(1, round(unit_px / 3))
    untouched = cv2.dilate(touched, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) == 0
    magnitude = np.hypot(field[..., 0] / sx, field[..., 1] / sy)[untouched]
    noise = float(np.quantile(magnitude, 0.9)) if magnitude.size >= 64 else None
    return _Motion(tracked, flow, sampled, div, before, after, noise)


def _widen(start: int, stop: int, length: int, limit: int) -> tuple[int, int]:
    """The window [start, stop) grown around its centre to ``length`` (at most [0, limit))."""
    if stop - start >= length:
        return start, stop
    start = max(0, (start + stop - length) // 2)
    return start, min(limit, start + length)


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-resample to ``size`` (w, h); Gaussian pyramid halvings first keep it cheap."""
    while image.shape[1] >= 4 * size[0] and image.shape[0] >= 4 * size[1]:
        image = cv2.pyrDown(image)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _geometry(points: np.ndarray, flow: np.ndarray, centre: np.ndarray, unit: float, divergence: float | None, min_landmarks: int) -> dict:
    """Mean landmark motion in eye distances, and the log2 linear size change: of the landmarks'
    spread where they span the concept, else from the mean divergence of the flow. (The divergence
    mixes a magnified eye with the ring a bulge compresses around it; the landmarks do not.)"""
    scale = None if divergence is None else 0.5 * math.log2(max(1.0 + divergence, 1e-3))
    if len(points) < min_landmarks or unit <= 0:
        return {"displacement": None, "rise": None, "inward": None, "scale": scale}
    spread = float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1).mean()))
    moved = points + flow
    if spread >= MIN_SPREAD * unit:
        scale = math.log2(float(np.sqrt(((moved - moved.mean(axis=0)) ** 2).sum(axis=1).mean())) / spread)
    towards = centre - points
    towards /= np.linalg.norm(towards, axis=1, keepdims=True) + 1e-9
    return {
        "displacement": float(np.linalg.norm(flow, axis=1).mean() / unit),
        "rise": float(-flow[:, 1].mean() / unit),
        "inward": float((flow * towards).sum(axis=1).mean() / unit),
        "scale": scale,
    }


def colour_name(lightness: float, a: float, b: float) -> str:
    """A plain English name for a CIE L*a*b* colour (a coarse hue and lightness reading)."""
    chroma = math.hypot(a, b)
    if chroma < 8:
        return "black" if lightness < 25 else "dark grey" if lightness < 45 else "grey" if lightness < 75 else "white"
    if lightness < 20:
        return "black"
    hue = math.degrees(math.atan2(b, a)) % 360
    if hue < 20 or hue >= 345:
        return "pink" if lightness > 65 else "red" if chroma > 35 else "rosy"
    if hue < 45:
        return "red" if chroma > 45 else "brown" if lightness < 35 else "pink" if lightness > 70 and chroma < 30 else "rosy"
    if hue < 70:
        return "brown" if lightness < 45 else "orange" if chroma > 45 else "beige" if lightness > 65 else "tan"
    if hue < 105:
        return "olive" if lightness < 40 else "blonde" if chroma < 45 else "yellow"
    if hue < 190:
        return "green"
    if hue < 290:
        return "blue"
    if hue < 320:
        return "blue" if chroma > 60 else "purple"
    return "purple" if lightness < 45 else "pink" if lightness > 70 else "magenta" if chroma > 40 else "mauve"


# The hue shifts a colour name can be the result of (`Fact` colour directions); neutrals have none.
COLOUR_HUES: dict[str, frozenset[str]] = {
    **dict.fromkeys(("black", "dark grey", "grey", "white"), frozenset()),
    **dict.fromkeys(("pink", "red", "rosy"), frozenset({"redder"})),
    **dict.fromkeys(("brown", "orange", "beige", "tan"), frozenset({"redder", "yellower"})),
    **dict.fromkeys(("olive", "blonde", "yellow"), frozenset({"yellower"})),
    "green": frozenset({"greener", "yellower"}),
    "blue": frozenset({"bluer", "greener", "redder"}),
    **dict.fromkeys(("purple", "magenta", "mauve"), frozenset({"redder", "bluer"})),
}
_HUE_SHIFTS = frozenset({"redder", "greener", "yellower", "bluer"})


def colour_agrees(colour: str, directions: list[str] | tuple[str, ...]) -> bool:
    """Whether a colour name (`colour_name`) reads as the result of the stated colour shifts: every
    hue shift is one the colour shows, and a neutral colour only follows a loss of saturation."""
    hues = COLOUR_HUES.get(colour)
    if hues is None:
        return False
    if not hues:
        return "less saturated" in directions and not _HUE_SHIFTS & set(directions)
    return "less saturated" not in directions and all(d in hues for d in directions if d in _HUE_SHIFTS)
