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

Modules
-------
This module holds :func:`simulate_edit` and the registry of edits; the edits live in
:mod:`.colour` (lipstick, hair dye, eyebrows), :mod:`.warps` (smile, eye enlargement, face
slimming), :mod:`.skin` (smoothing, beard, ageing) and :mod:`.glasses`, on the shared machinery of
:mod:`.canvas`. It imports ``core`` and ``faces`` only.

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
from fifa_data.pairs.simulate.canvas import CHANGE_LEVELS, MIN_CHANGED_PIXELS, EditNotApplicable, _Context, _ground_truth, _plain
from fifa_data.pairs.simulate.colour import _eyebrow, _hair_color, _lip_color
from fifa_data.pairs.simulate.glasses import _glasses
from fifa_data.pairs.simulate.skin import _ageing, _beard, _skin_smooth
from fifa_data.pairs.simulate.warps import _eye_enlarge, _face_slim, _smile

__all__ = ["CHANGE_LEVELS", "Edit", "EditNotApplicable", "simulate_edit"]


@dataclass(frozen=True)
class Edit:
    """One simulated fake.

    ``fake`` is HxWx3 uint8, the same size as the real photo, not re-encoded. ``mask`` is the
    HxW bool ground-truth edit region (see the module docstring). ``params`` is JSON-serialisable
    and always holds ``strength`` (in [0, 1]) and ``concepts`` (the FICT ids the edit targets).
    """

    manipulation: str
    fake: np.ndarray
    mask: np.ndarray
    params: dict


def simulate_edit(
    image: np.ndarray,
    manipulation: str,
    rng: np.random.Generator | int,
    *,
    face: Face | None = None,
    concepts: ConceptMasks | None = None,
) -> Edit:
    """Make one ``manipulation`` of a real RGB uint8 photo, drawing its parameters from ``rng``.

    ``face`` and ``concepts`` are :func:`~fifa_data.faces.detect.analyze_face` and
    :func:`~fifa_data.faces.concepts.concept_masks` of ``image``, computed when omitted (pass them to
    make many edits of one photo). Raises :class:`EditNotApplicable` (a ``ValueError``) when
    the photo lacks what the edit needs, and ``ValueError`` for an unknown manipulation or an
    image that is not HxWx3 uint8.
    """
    if manipulation not in _EDITS:
        raise ValueError(f"unknown manipulation {manipulation!r}; known: {', '.join(MANIPULATIONS)}")
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
    fake, weight, params = _EDITS[manipulation](ctx, rng)
    if ctx.gray:
        fake = np.repeat(cv2.cvtColor(fake, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    changed = np.abs(fake.astype(np.int16) - image.astype(np.int16)).max(axis=2) > CHANGE_LEVELS
    if changed.sum() < MIN_CHANGED_PIXELS:
        raise EditNotApplicable(f"{manipulation} is too small to see on this photo ({int(changed.sum())} px changed)")
    mask = _ground_truth(changed, weight, ctx.unit)
    return Edit(manipulation=manipulation, fake=fake, mask=mask, params=_plain(params))


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
