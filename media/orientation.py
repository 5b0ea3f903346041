"""Upright pictures: phones record portrait as landscape pixels plus a "rotate me" display matrix.

MPEG-TS has no place for that matrix, so a pre-recorded portrait show would reach viewers lying on its
side. We turn the pixels instead, once, before the ladder is planned, so the ladder sees (and keeps) the
portrait shape. libavfilter's ``transpose`` does the work; the graph is rebuilt only if the input changes.
"""

from __future__ import annotations

from fractions import Fraction

import av
from av.filter import Graph

# frame.rotation is counter-clockwise degrees: undo it by turning the same way.
_FILTERS = {90: [("transpose", "cclock")], 180: [("hflip", ""), ("vflip", "")], 270: [("transpose", "clock")]}


def quarter_turns(rotation: float) -> int:
    return int(round(rotation / 90.0)) * 90 % 360


class Upright:
    def __init__(self) -> None:
        self._graph: Graph | None = None
        self._key: tuple[int, int, int, str] | None = None

    def __call__(self, frame: av.VideoFrame) -> av.VideoFrame:
        turn = quarter_turns(frame.rotation)
        if turn == 0:
            return frame
        key = (turn, frame.width, frame.height, frame.format.name)
        if key != self._key:
            self._graph, self._key = self._build(frame, turn), key
        assert self._graph is not None
        pts, time_base = frame.pts, frame.time_base
        self._graph.push(frame)
        out = self._graph.pull()
        assert isinstance(out, av.VideoFrame)
        out.pts, out.time_base = pts, time_base
        return out

    @staticmethod
    def _build(frame: av.VideoFrame, turn: int) -> Graph:
        graph = Graph()
        node = graph.add_buffer(
            width=frame.width,
            height=frame.height,
            format=frame.format,
            time_base=frame.time_base or Fraction(1, 90_000),
        )
        for name, args in _FILTERS[turn]:
            step = graph.add(name, args) if args else graph.add(name)
            node.link_to(step)
            node = step
        node.link_to(graph.add("buffersink"))
        graph.configure()
        return graph
