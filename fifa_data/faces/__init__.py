"""Faces: where the subject's face is and where every FICT concept lies on it.

``detect`` (face detection and the 478-point mesh, with mediapipe's bundled models),
``mesh_regions`` (which concept each mesh triangle belongs to), ``concepts`` (the label map of a
photo's atomic concepts). It imports ``core`` only.
"""
