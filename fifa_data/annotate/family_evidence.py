"""Family evidence: what kind of forgery a pair is, measured from its pixels at the pair's level.

An attribute edit changes what a region looks like; the other families leave their own traces
(Fake-in-Facext's forgery families). Read once per pair, real (or its resaved reference) against
fake, on the artifact mask *R* and a ring *S* around it on the head (about `ring` eye distances
wide, background and body left out):

* **seam**: log2 of the gradient energy on R's border band in the fake over the same in the real
  (a pasted region's edge is a step the real does not have);
* **colour mismatch** / **lighting mismatch**: how much more R's mean a*b* (colour) or L*
  (lighting) stands apart from S's in the fake than in the real (a donor's skin tone, a relit
  copy); negative when the fake's region matches its surround better than the real's did;
* **sharpness mismatch**: |log2 of R's high-frequency energy over S's| in the fake less the
  same in the real (a resampled or recompressed region is blurrier or crisper than the skin around it);
* **detail kept**: the correlation of the real's and the fake's band-passed grey levels in R, the
  fake first warped back onto the real by dense optical flow (a self-blend's copy is shifted and
  scaled a little): near 1 where the face's own texture survives (a self-blend, a recolouring),
  low where another face's texture replaced it (a swap);
* **removed**: log2 of the fake's band-pass energy in R over the real's (negative: structure the
  real has was removed, as in an inpainting);
* **shape**: where R lies: the share of the inner-face hull it covers (`cover`), the share of the
  features (eyes, brows, lips) it covers (`features_cover`: a skin retouch leaves them out, a
  blended face takes them in), its area in squared eye distances, the facial part holding
  most of it (`part`, `part_share`) and the share of that part it covers (`part_cover`: a swapped
  part is replaced whole, a frame drawn across it is not); the part whose clone region (the part
  grown by `clone_margin`) holds most of R, that share and the part's cover (`clone_part`,
  `clone_share`, `clone_cover`: a brow swapped with a margin lies mostly beside the thin brow); and
  the size of the patch a fill would
  have made, in squared eye distances and in pixels, and the share of it on one facial part
  (`patch_area`, `patch_pixels`, `patch_part_share`): the artifact's reading, or where the family
  guess asks for them (`with_patch`), the smaller of that and the whole patch's (`patches`: read
  off the change the fake's JPEG coefficients allow), since a JPEG spreads a small patch's
  difference over the blocks around it and a hull reaches past the patch's gaps;
* **motion**: the pair's warp reading (`motion.pair_motion`), how many expression parts
  (brows, eyes, lips, chin) the warp moved, and the share of the layout parts (nose, forehead)
  it moved (`layout_moved`: a reenactment moves the expression and keeps the layout, a
  self-blend's shifted or scaled copy moves both).

:meth:`FamilyEvidence.facts` turns the readings into :class:`~fifa_data.annotate.evidence.Fact` s
(kinds ``blend``, ``replaced``, ``removed``, ``motion``) with the thresholds of
:class:`FamilyEvidenceConfig`, keeping those the family can leave (`STATED`); an attribute edit
states none (its per-concept facts say what it did). A face swap aligned on the target's mesh keeps its landmarks, so no
``face shape changed`` fact is measured: the mesh is not run again on the fake.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import cv2
import numpy as np

from fifa_data.annotate.evidence import Fact, strength
from fifa_data.annotate.motion import MIN_FLOW_SIDE, NO_MOTION, PairMotion, eye_distance, warp_back
from fifa_data.core import masks as masklib
from fifa_data.faces.concepts import ConceptMasks

MESH_POINTS = 468  # the mesh proper (the iris points are not part of the face hull)
PARTS = {"eye": ("eye",), "eyebrow": ("eyebrow",), "nose": ("nose",), "mouth": ("lips", "mouth")}  # a part swap's parts: FICT concepts
EXPRESSION_PARTS = ("eyebrow", "eye", "lips", "chin")  # the parts a reenactment moves
LAYOUT_PARTS = ("nose", "forehead")  # the parts that hold a face's layout: a reenactment leaves them, a shifted copy moves them
_EPS = 1.0

_BLENDED = frozenset({"blending seam", "colour mismatch", "lighting mismatch", "sharpness mismatch"})
STATED: dict[str, frozenset[str]] = {  # the family facts (directions) each family's text may state
    "identity_swap": _BLENDED | {"texture replaced"},
    "part_swap": _BLENDED | {"texture replaced"},
    "self_blend": _BLENDED,
    "reenactment": frozenset({"expression moved"}),
    "inpainting": frozenset({"structure removed", "sharpness mismatch", "blending seam"}),
}


@dataclass(frozen=True)
class FamilyEvidenceConfig:
    """Thresholds from which a family reading becomes a stated fact; recorded in the dataset card."""

    ring: float = 0.25  # eye distances: width of the surround S around the artifact
    band: float = 0.04  # eye distances: half width of the artifact's border band (the seam)
    detail_sigma: float = 0.03  # eye distances: the band-pass of `detail_kept` and `removed` (grey less its blur)
    seam: float = 0.5  # log2 gradient-energy ratio on the border band stated as a blending seam
    colour_mismatch: float = 3.0  # a*b* units: the region stands this much further apart from its surround
    lighting_mismatch: float = 4.0  # L* units, likewise
    sharpness_mismatch: float = 0.6  # |log2| change of the region's high-frequency energy against its surround
    replaced: float = 0.5  # detail kept below this: the region's texture comes from elsewhere
    removed: float = -1.0  # log2 band-pass energy ratio at or below this: the real's structure was removed
    flow_unit_px: float = 48.0  # the flow that aligns the fake for `detail kept` runs at this many pixels per eye distance
    moved_part: float = 0.2  # share of an expression part the warp moved for it to count as moved
    clone_margin: float = 0.1  # eye distances: a part swap's clone region reaches this far beyond its part

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FamilyEvidence:
    """One pair's family readings (module docstring); None where the region or its surround is empty."""

    cover: float
    features_cover: float
    area: float
    part: str | None
    part_share: float
    seam: float | None
    colour_mismatch: float | None
    lighting_mismatch: float | None
    sharpness_mismatch: float | None
    detail_kept: float | None
    removed: float | None
    warped: bool = False
    moved_parts: int = 0
    layout_moved: float = 0.0
    part_cover: float = 0.0
    patch_area: float | None = None  # None where not measured: the artifact's own `area` and `part_share` stand for them
    patch_pixels: int | None = None
    patch_part_share: float | None = None
    clone_part: str | None = None
    clone_share: float = 0.0
    clone_cover: float = 0.0

    def facts(self, family: str, config: FamilyEvidenceConfig = FamilyEvidenceConfig()) -> list[Fact]:
        """The family facts a pair of ``family`` states: the readings past their thresholds, kept to
        the traces that family leaves (`STATED`): a swap's blur is resampling, not removed structure;
        a self-blend's small shift is no expression change."""
        stated = STATED.get(family, frozenset())
        facts = []
        if self.moved_parts:
            facts.append(Fact("motion", "expression moved", strength(self.moved_parts, 1), float(self.moved_parts)))
        if self.seam is not None and self.seam >= config.seam:
            facts.append(Fact("blend", "blending seam", strength(self.seam, config.seam), self.seam))
        for direction, value, threshold in (
            ("colour mismatch", self.colour_mismatch, config.colour_mismatch),
            ("lighting mismatch", self.lighting_mismatch, config.lighting_mismatch),
            ("sharpness mismatch", self.sharpness_mismatch, config.sharpness_mismatch),
        ):
            if value is not None and value >= threshold:
                facts.append(Fact("blend", direction, strength(value, threshold), value))
        if self.removed is not None and self.removed <= config.removed:
            facts.append(Fact("removed", "structure removed", strength(-self.removed, -config.removed), self.removed))
        if self.detail_kept is not None and self.detail_kept < config.replaced:
            facts.append(Fact("replaced", "texture replaced", strength(1 - self.detail_kept, 1 - config.replaced), self.detail_kept))
        return [f for f in facts if f.direction in stated]

    def to_dict(self) -> dict:
        """The readings as plain values (floats rounded to 4 decimals)."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def measure_family(
    real: np.ndarray,
    fake: np.ndarray,
    artifact: np.ndarray,
    concepts: ConceptMasks,
    landmarks: np.ndarray,
    motion: PairMotion = NO_MOTION,
    config: FamilyEvidenceConfig = FamilyEvidenceConfig(),
) -> FamilyEvidence:
    """The family readings of one pair: ``real`` and ``fake`` RGB uint8, ``artifact`` the HxW bool
    artifact mask, ``landmarks`` the real face's mesh (N, 2+) in pixels. Works on the face's window only."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    unit, window = _face_window(points, artifact.shape, config)
    y0, x0 = window[0].start, window[1].start
    region = artifact[window]
    hull = np.zeros(region.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.rint((points[:MESH_POINTS] - (x0, y0)) * 16).astype(np.int32)), 1, cv2.LINE_8, shift=4)
    hull = hull > 0
    cover = float(np.count_nonzero(region & hull) / max(1, np.count_nonzero(hull)))
    labels = concepts.labels[window]
    features = concepts.members("eye", "eyebrow", "lips")[labels]
    features_cover = float(np.count_nonzero(region & features) / max(1, np.count_nonzero(features)))
    pixels = int(np.count_nonzero(region))
    area = pixels / unit**2
    part, part_share = _main_part(region, concepts, labels)
    part_cover = 0.0
    if part is not None:
        members = concepts.members(*PARTS[part])[labels]
        part_cover = float(np.count_nonzero(region & members) / max(1, np.count_nonzero(members)))
    clone_part, clone_share, clone_cover = _clone_part(region, concepts, labels, config.clone_margin * unit)
    moved_parts, layout_moved = 0, 0.0
    if motion.warped and motion.moved is not None:
        moved = motion.moved[window]
        for name in EXPRESSION_PARTS:
            mask = concepts.members(name)[labels]
            n = np.count_nonzero(mask)
            moved_parts += int(n > 0 and np.count_nonzero(mask & moved) >= config.moved_part * n)
        layout = concepts.members(*LAYOUT_PARTS)[labels]
        layout_moved = float(np.count_nonzero(layout & moved) / max(1, np.count_nonzero(layout)))
    empty = FamilyEvidence(  # the patch readings are the artifact's own until `with_patch` reads a whole patch
        cover, features_cover, area, part, part_share, None, None, None, None, None, None, motion.warped, moved_parts, layout_moved, part_cover,
        area, pixels, part_share, clone_part, clone_share, clone_cover,
    )
    if not region.any():
        return empty
    lab_real, lab_fake = (cv2.cvtColor(np.ascontiguousarray(image[window]), cv2.COLOR_RGB2LAB).astype(np.float32) for image in (real, fake))
    for lab in (lab_real, lab_fake):  # OpenCV's 8-bit L*a*b*: L* scaled by 255/100, a* and b* offset by 128
        lab[..., 0] *= 100 / 255
    grey_real, grey_fake = lab_real[..., 0], lab_fake[..., 0]
    u8 = region.view(np.uint8)
    ring = cv2.dilate(u8, masklib.disc(config.ring * unit)) > 0
    head = ~concepts.members("background", "body")[labels]
    surround = ring & ~region & head
    if np.count_nonzero(surround) < 16:
        return empty
    band_px = max(1.0, config.band * unit)
    border = (cv2.dilate(u8, masklib.disc(band_px)) > 0) & ~(cv2.erode(u8, masklib.disc(band_px), borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0)
    seam = _log_ratio(_gradient(grey_fake)[border].mean(), _gradient(grey_real)[border].mean())

    def apart(lab: np.ndarray) -> tuple[float, float]:
        inside, outside = lab[region].mean(axis=0), lab[surround].mean(axis=0)
        return float(np.hypot(*(inside[1:] - outside[1:]))), abs(float(inside[0] - outside[0]))

    (colour_real, light_real), (colour_fake, light_fake) = apart(lab_real), apart(lab_fake)
    high_real, high_fake = (np.abs(g - cv2.GaussianBlur(g, (0, 0), 1.0)) for g in (grey_real, grey_fake))
    sharp_real = _log_ratio(high_real[region].mean(), high_real[surround].mean())
    sharp_fake = _log_ratio(high_fake[region].mean(), high_fake[surround].mean())
    sigma = max(1.0, config.detail_sigma * unit)
    aligned = _aligned(grey_real, grey_fake, unit, config.flow_unit_px)
    band_real, band_fake = (g - cv2.GaussianBlur(g, (0, 0), sigma) for g in (grey_real, aligned))
    a, b = band_real[region], band_fake[region]
    spread = float(a.std() * b.std())
    detail_kept = float(((a - a.mean()) * (b - b.mean())).mean() / spread) if spread > 0 else None
    band_fake_plain = grey_fake - cv2.GaussianBlur(grey_fake, (0, 0), sigma)
    removed = _log_ratio(float((band_fake_plain[region] ** 2).mean()), float((a**2).mean()))
    return replace(
        empty, seam=seam, colour_mismatch=colour_fake - colour_real, lighting_mismatch=light_fake - light_real,
        sharpness_mismatch=abs(sharp_fake - sharp_real), detail_kept=detail_kept, removed=removed,
    )


def with_patch(
    evidence: FamilyEvidence,
    patch: np.ndarray,
    concepts: ConceptMasks,
    landmarks: np.ndarray,
    config: FamilyEvidenceConfig = FamilyEvidenceConfig(),
) -> FamilyEvidence:
    """``evidence`` with its patch readings the smaller of its own and those of ``patch`` (HxW bool, the
    patch a fill would have made): a JPEG spreads the artifact past a small patch, a hull reaches past its gaps."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    unit, window = _face_window(points, patch.shape, config)
    region = patch[window]
    pixels = min(evidence.patch_pixels, int(np.count_nonzero(region)))
    share = min(evidence.patch_part_share, _main_part(region, concepts, concepts.labels[window])[1])
    return replace(evidence, patch_area=pixels / unit**2, patch_pixels=pixels, patch_part_share=share)


def _face_window(points: np.ndarray, shape: tuple[int, ...], config: FamilyEvidenceConfig) -> tuple[float, tuple[slice, slice]]:
    """The face's eye distance (px) and the window around its mesh the readings are taken in."""
    unit = eye_distance(points) or max(1.0, float(np.ptp(points[:, 0])) / 2.5)
    h, w = shape[:2]
    pad = (0.5 + config.ring) * unit
    y0, y1 = max(0, int(points[:, 1].min() - pad)), min(h, int(points[:, 1].max() + pad) + 1)
    x0, x1 = max(0, int(points[:, 0].min() - pad)), min(w, int(points[:, 0].max() + pad) + 1)
    return unit, (slice(y0, y1), slice(x0, x1))


def _main_part(region: np.ndarray, concepts: ConceptMasks, labels: np.ndarray) -> tuple[str | None, float]:
    """The facial part (`PARTS`) that holds the largest share of the artifact, and that share."""
    total = np.count_nonzero(region)
    if not total:
        return None, 0.0
    shares = {name: np.count_nonzero(region & concepts.members(*members)[labels]) / total for name, members in PARTS.items()}
    part = max(shares, key=shares.get)
    return part, float(shares[part])


def _clone_part(region: np.ndarray, concepts: ConceptMasks, labels: np.ndarray, margin_px: float) -> tuple[str | None, float, float]:
    """The facial part (`PARTS`) whose clone region (the part grown by `margin_px`) holds the largest share
    of the artifact, that share, and the share of the part the artifact covers. A thin part (a brow) swapped
    with a margin lies mostly beside itself: its main part by share alone is the eye below it."""
    total = np.count_nonzero(region)
    best: tuple[str | None, float, float] = (None, 0.0, 0.0)
    if not total:
        return best
    for name, members in PARTS.items():
        part = concepts.members(*members)[labels]
        if not part.any():
            continue
        grown = cv2.dilate(part.view(np.uint8), masklib.disc(margin_px)) > 0
        share = np.count_nonzero(region & grown) / total
        cover = np.count_nonzero(region & part) / np.count_nonzero(part)
        if (share, cover) > best[1:]:
            best = (name, float(share), float(cover))
    return best


def _aligned(real: np.ndarray, fake: np.ndarray, unit: float, unit_px: float) -> np.ndarray:
    """``fake`` (grey, float) warped back onto ``real`` by DIS optical flow measured at ``unit_px``
    pixels per eye distance (at most the photo's own resolution)."""
    scale = min(1.0, unit_px / unit)
    h, w = real.shape
    size = (max(MIN_FLOW_SIDE, round(w * scale)), max(MIN_FLOW_SIDE, round(h * scale)))
    small = [cv2.resize(np.clip(g * 2.55, 0, 255).astype(np.uint8), size, interpolation=cv2.INTER_AREA) for g in (real, fake)]
    field = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(small[0], small[1], None)
    field = cv2.resize(field, (w, h), interpolation=cv2.INTER_LINEAR) * np.array([w / size[0], h / size[1]], np.float32)
    return warp_back(fake, field)


def _gradient(grey: np.ndarray) -> np.ndarray:
    return np.hypot(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3))


def _log_ratio(a: float, b: float) -> float:
    return float(np.log2((a + _EPS) / (b + _EPS)))


