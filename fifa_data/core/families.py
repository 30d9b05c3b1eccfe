"""Forgery families: what kind of forgery a manipulation is, one fact for every name a dataset uses.

A manipulation name (ours, FaceApp's attributes, FaceForensics++'s methods, DF40's, Celeb-DF's) belongs
to one family; `family_of` reads any spelling (case, spaces, ``-`` and ``_`` do not matter) and
answers ``unknown`` for a name it does not know. The table is documented in docs/families.md.
"""

from __future__ import annotations

import re

FAMILIES: tuple[str, ...] = ("attribute", "identity_swap", "self_blend", "reenactment", "part_swap", "inpainting", "synthesis", "unknown")

# An inpainting's hole is at least twice this across: no retouching brush is narrower (a hole inside
# one 8 px JPEG block removes nothing one can see). The simulator draws no narrower hole; the annotator
# grows a narrower patch to it.
BRUSH_RADIUS_PX = 4.0

FAMILY_PHRASES: dict[str, str] = {  # a family as the texts name it
    "attribute": "an attribute edit",
    "identity_swap": "an identity swap",
    "self_blend": "a self-blend",
    "reenactment": "a reenactment",
    "part_swap": "a part swap",
    "inpainting": "an inpainting",
    "synthesis": "a fully synthesised face",
    "unknown": "a manipulation of unknown kind",
}

_ALIASES: dict[str, tuple[str, ...]] = {
    "attribute": (
        # FiFa's simulator and FaceApp's attributes (DFFD)
        "lip_color", "hair_color", "smile", "eye_enlarge", "face_slim", "skin_smooth", "eyebrow", "beard", "glasses", "ageing",
        "aging", "faceapp", "makeup", "hairstyle", "old", "young", "gender",
        # attribute editing methods (DF40's face editing, DFFD's StarGAN)
        "stargan", "starganv2", "stargan2", "e4e", "styleclip", "collabdiff", "collaborative_diffusion", "attgan", "face_editing",
    ),
    "identity_swap": (
        "face_swap", "faceswap", "deepfakes", "deepfake", "faceshifter", "deepfakedetection", "dfd", "celeb_synthesis",
        # DF40's face swapping
        "deepfacelab", "e4s", "facedancer", "fsgan", "inswap", "inswapper", "simswap", "blendface", "mobileswap", "uniface",
        "identity_swap",
    ),
    "self_blend": ("self_blend", "sbi", "self_blended", "face_xray", "blended"),
    "reenactment": (
        "reenact", "reenactment", "face2face", "neuraltextures", "neural_textures",
        # DF40's face reenactment
        "fomm", "facevid2vid", "wav2lip", "mraa", "one_shot_free", "pirender", "tpsm", "lia", "danet", "sadtalker", "mcnet",
        "hyperreenact",
    ),
    "part_swap": ("part_swap", "partswap", "region_swap", "eyes_swap", "mouth_swap", "nose_swap", "eyebrows_swap"),
    "inpainting": ("inpaint", "inpainting", "removal", "object_removal", "lama", "mat"),
    "synthesis": (
        "synthesis", "entire_face_synthesis", "pggan", "stylegan", "stylegan2", "stylegan3", "stylegan_xl", "vqgan", "ddpm",
        "rddm", "sd_2_1", "stable_diffusion", "pixart", "dit_xl_2", "sit_xl_2", "midjourney", "midjourney6", "whichfaceisreal",
    ),
}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


ALIASES: dict[str, str] = {_key(alias): family for family, aliases in _ALIASES.items() for alias in aliases}


def family_of(manipulation: str | None) -> str:
    """The family of a manipulation name in any dataset's spelling; ``unknown`` when none is known."""
    if not manipulation:
        return "unknown"
    return ALIASES.get(_key(manipulation), "unknown")
