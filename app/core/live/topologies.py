"""Known keypoint topologies: how many points, which pairs a skeleton joins (MediaPipe's order), and the
output layouts landmark models write them in (points × values per point).

A layout may hold more points than the skeleton draws: BlazePose's landmark model writes 39 points of
5 values (x, y, z, visibility, presence): the 33 body points, then 6 it uses to track the region of
interest on the next frame. The skeleton's points come first."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layout:
    points: int  # points in the output (the skeleton's first, extras after)
    values: tuple[str, ...]  # what each point carries, in order

    @property
    def size(self) -> int:
        return self.points * len(self.values)


XY, XYZ = ("x", "y"), ("x", "y", "z")
XYZ_VIS_PRESENCE = ("x", "y", "z", "visibility", "presence")


@dataclass(frozen=True)
class Topology:
    name: str
    points: int
    edges: tuple[tuple[int, int], ...]
    label: str
    layouts: tuple[Layout, ...] = ()  # the output layouts of the landmark models that draw it


_HAND_EDGES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11),
               (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19), (19, 20))
_POSE_EDGES = ((0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
               (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22),
               (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30),
               (29, 31), (30, 32), (27, 31), (28, 32))

TOPOLOGIES = {t.name: t for t in (
    # hand_landmark (lite, full): 21 × (x, y, z) in input pixels
    Topology("hand21", 21, _HAND_EDGES, "hand, 21 points", (Layout(21, XYZ),)),
    # pose_landmark (lite, full, heavy): 39 × 5, the world landmarks 39 × 3; older exports 33 × 5
    Topology("pose33", 33, _POSE_EDGES, "body pose, 33 points",
             (Layout(39, XYZ_VIS_PRESENCE), Layout(33, XYZ_VIS_PRESENCE), Layout(39, XYZ))),
    # face_landmark: 468 × 3; with attention / iris refinement: 478 × 3 (the 10 iris points after)
    Topology("face468", 468, (), "face mesh, 468 points", (Layout(468, XYZ), Layout(478, XYZ))),
)}


def topology_for(points: int) -> Topology | None:
    return next((t for t in TOPOLOGIES.values() if t.points == points), None)


def layout_for(size: int, topology: Topology | None = None) -> tuple[Topology, Layout] | None:
    """The known layout an output of `size` values is written in (of `topology`, or of any), or None."""
    for t in [topology] if topology else TOPOLOGIES.values():
        for layout in t.layouts:
            if layout.size == size:
                return t, layout
    return None
