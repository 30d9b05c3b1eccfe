"""FaceApp-like attribute edits of real face photos: the bundled default source of real/fake pairs.

:func:`simulate_edit` takes a real RGB photo and makes one named attribute edit
(:data:`~fifa_data.core.schema.MANIPULATIONS`) confined to the FICT regions of its face: lipstick, hair dye, a smile,
bigger eyes, a slimmer face, smoothed skin, bolder eyebrows, a beard, glasses, or ageing. It
returns the fake, the exact ground-truth edit mask and the edit's parameters. Strength, colours
and shapes are drawn from a :class:`numpy.random.Generator`, so one photo yields many distinct
fakes, and the same seed always gives the same bytes.

Ground-truth mask
-----------------
Every edit works through a *weight* field: a blend weight in [0, 1] for colour and texture
edits, a displacement field in pixels for warps. The mask is

    (weight >= 0.5  or  displacement >= 0.5 px)  or  (some channel of the fake differs from the
    real one by more than ``CHANGE_LEVELS`` = 2 levels),

closed with a disc of about 1 % of the eye distance and with its small holes filled (a hole
smaller than (0.08 eye distances)^2, such as the middle of a magnified iris whose colour did not
change). So the mask holds the region the edit was applied to at half strength or more plus every
pixel it visibly changed, and outside the mask no channel differs by more than 2 levels. The
fake is not re-encoded; writers that re-encode it add compression noise everywhere.

Forgery families
----------------
Besides the attribute edits, :data:`FAMILY_EDITS` makes one edit of every other forgery family
(:mod:`fifa_data.core.families`): ``face_swap`` (a donor's inner face warped triangle by triangle onto
the photo's mesh, colour-matched, feathered or Poisson-blended), ``self_blend`` (the photo's own
jittered copy blended through a deformed face hull), ``reenact`` (a donor's expression moved onto the
face by a landmark-driven warp), ``part_swap`` (the donor's eyes, eyebrows, nose or mouth) and
``inpaint`` (a mole, mark or wrinkled patch, put where the photo has detail to remove, filled from its surroundings). The donor edits
(:data:`DONOR_EDITS`) take a second photo of another identity. Their truth mask follows the same rule;
a blend also records its *seam band* in :attr:`Edit.seam`: where ``4 a (1 - a) >= 0.5`` for a feathered
blend weight ``a``, and the clone (or filled hole's) inner border band for a Poisson clone or an
inpainting.

Modules
-------
This module holds :func:`simulate_edit` and the registry of edits; the edits live in
:mod:`.colour` (lipstick, hair dye, eyebrows), :mod:`.warps` (smile, eye enlargement, face
slimming), :mod:`.skin` (smoothing, beard, ageing) and :mod:`.glasses`, on the shared machinery of
:mod:`.canvas`; the family edits live in :mod:`.swaps` (face and part swaps), :mod:`.blends`
(the blending machinery, self-blend, inpainting) and :mod:`.warps` (reenactment). It imports ``core`` and ``faces`` only.

Realism
-------
Colours are changed in CIE L*a*b*: chroma is moved towards a target colour while the luminance
*texture* (the deviation of L* from its regional mean) is kept, so skin pores, lip lines and hair
strands survive. Blend weights are feathered (Gaussian) and hair weights are snapped to the real
hair edges with a guided filter. Warps are smooth displacement fields (compactly supported
Wendland radial basis functions through mesh landmarks, or radial bulges) applied with
:func:`cv2.remap`; displacements below 0.1 px are faded to exactly zero so the rest of the photo
keeps its bytes. Textures (beard hair, wrinkles, grey strands) are smooth or strand-like noise
drawn from the generator. Grayscale photos stay grayscale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from fifa_data.core.schema import MANIPULATIONS
from fifa_data.faces.concepts import ConceptMasks, concept_masks
from fifa_data.faces.detect import Face, analyze_face
from fifa_data.pairs.simulate.blends import _inpaint, _self_blend
from fifa_data.pairs.simulate.canvas import CHANGE_LEVELS, MIN_CHANGED_PIXELS, EditNotApplicable, _Context, _ground_truth, _plain
from fifa_data.pairs.simulate.colour import _eyebrow, _hair_color, _lip_color
from fifa_data.pairs.simulate.glasses import _glasses
from fifa_data.pairs.simulate.skin import _ageing, _beard, _skin_smooth
from fifa_data.pairs.simulate.swaps import _face_swap, _part_swap
from fifa_data.pairs.simulate.warps import _eye_enlarge, _face_slim, _reenact, _smile

__all__ = ["CHANGE_LEVELS", "DONOR_EDITS", "FAMILY_EDITS", "Edit", "EditNotApplicable", "simulate_edit"]

FAMILY_EDITS: tuple[str, ...] = ("face_swap", "self_blend", "reenact", "part_swap", "inpaint")  # one edit per non-attribute family
DONOR_EDITS: tuple[str, ...] = ("face_swap", "reenact", "part_swap")  # the family edits that take a donor photo


@dataclass(frozen=True)
class Edit:
    """One simulated fake.

    ``fake`` is HxWx3 uint8, the same size as the real photo, not re-encoded. ``mask`` is the
    HxW bool ground-truth edit region (see the module docstring). ``params`` is JSON-serialisable
    and always holds ``strength`` (in [0, 1]) and ``concepts`` (the FICT ids the edit targets); a donor
    edit's also holds ``donor`` when the caller names it. ``seam`` is the HxW bool seam band of a blend
    (see the module docstring), None for edits that blend nothing.
    """

    manipulation: str
    fake: np.ndarray
    mask: np.ndarray
    params: dict
    seam: np.ndarray | None = None


def simulate_edit(
    image: np.ndarray,
    manipulation: str,
    rng: np.random.Generator | int,
    *,
    face: Face | None = None,
    concepts: ConceptMasks | None = None,
    donor: np.ndarray | None = None,
    donor_face: Face | None = None,
) -> Edit:
    """Make one ``manipulation`` of a real RGB uint8 photo, drawing its parameters from ``rng``.

    ``face`` and ``concepts`` are :func:`~fifa_data.faces.detect.analyze_face` and
    :func:`~fifa_data.faces.concepts.concept_masks` of ``image``, computed when omitted (pass them to
    make many edits of one photo). The :data:`DONOR_EDITS` need ``donor``, an RGB uint8 photo of another
    identity (``donor_face`` its analysis, computed when omitted); the other edits ignore it. Raises :class:`EditNotApplicable` (a ``ValueError``) when
    the photo lacks what the edit needs, and ``ValueError`` for an unknown manipulation or an
    image that is not HxWx3 uint8.
    """
    if manipulation not in _EDITS and manipulation not in _FAMILY_EDITS:
        raise ValueError(f"unknown manipulation {manipulation!r}; known: {', '.join(MANIPULATIONS + FAMILY_EDITS)}")
    if manipulation in DONOR_EDITS and donor is None:
        raise ValueError(f"{manipulation} needs a donor photo (donor=...)")
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"image must be an HxWx3 uint8 RGB array, got {got}")
    image = np.ascontiguousarray(image)
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng)
    face = face if face is not None else analyze_face(image)
    concepts = concepts if concepts is not None else concept_masks(image, face)
    if concepts.labels.shape != image.shape[:2]:
        raise ValueError(f"concept masks are {concepts.labels.shape}, the image is {image.shape[:2]}")

    ctx = _Context.of(image, face, concepts)
    seam = None
    if manipulation in _EDITS:
        fake, weight, params = _EDITS[manipulation](ctx, rng)
    else:
        donor_ctx = _donor_context(donor, donor_face) if manipulation in DONOR_EDITS else None
        fake, weight, params, *rest = _FAMILY_EDITS[manipulation](ctx, rng, donor_ctx)
        seam = rest[0] if rest else None
    if ctx.gray:
        fake = np.repeat(cv2.cvtColor(fake, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    changed = np.abs(fake.astype(np.int16) - image.astype(np.int16)).max(axis=2) > CHANGE_LEVELS
    if changed.sum() < MIN_CHANGED_PIXELS:
        raise EditNotApplicable(f"{manipulation} is too small to see on this photo ({int(changed.sum())} px changed)")
    mask = _ground_truth(changed, weight, ctx.unit)
    return Edit(manipulation=manipulation, fake=fake, mask=mask, params=_plain(params), seam=seam)


def _donor_context(donor: np.ndarray, face: Face | None) -> _Context:
    if not isinstance(donor, np.ndarray) or donor.ndim != 3 or donor.shape[2] != 3 or donor.dtype != np.uint8:
        raise ValueError("donor must be an HxWx3 uint8 RGB array")
    donor = np.ascontiguousarray(donor)
    face = face if face is not None else analyze_face(donor)
    return _Context.of(donor, face, None)  # a donor lends its pixels and mesh, not its concepts


_EDITS: dict[str, Callable] = {
    "lip_color": _lip_color,
    "hair_color": _hair_color,
    "smile": _smile,
    "eye_enlarge": _eye_enlarge,
    "face_slim": _face_slim,
    "skin_smooth": _skin_smooth,
    "eyebrow": _eyebrow,
    "beard": _beard,
    "glasses": _glasses,
    "ageing": _ageing,
}
assert tuple(_EDITS) == MANIPULATIONS

_FAMILY_EDITS: dict[str, Callable] = {
    "face_swap": _face_swap,
    "self_blend": _self_blend,
    "reenact": _reenact,
    "part_swap": _part_swap,
    "inpaint": _inpaint,
}
assert tuple(_FAMILY_EDITS) == FAMILY_EDITS
