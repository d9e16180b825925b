"""Known keypoint topologies: how many points and which pairs a skeleton joins (MediaPipe's order)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topology:
    name: str
    points: int
    edges: tuple[tuple[int, int], ...]
    label: str


_HAND_EDGES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11),
               (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19), (19, 20))
_POSE_EDGES = ((0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12), (11, 13),
               (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16), (16, 18), (16, 20), (16, 22),
               (18, 20), (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30),
               (29, 31), (30, 32), (27, 31), (28, 32))

TOPOLOGIES = {t.name: t for t in (
    Topology("hand21", 21, _HAND_EDGES, "hand, 21 points"),
    Topology("pose33", 33, _POSE_EDGES, "body pose, 33 points"),
    Topology("face468", 468, (), "face mesh, 468 points"),
)}


def topology_for(points: int) -> Topology | None:
    return next((t for t in TOPOLOGIES.values() if t.points == points), None)
