"""PHOLD as a pure-Python heapq loop: the yardstick for entity types written
in plain Python (issue #15; docs/benchmarks.md).

It does the PHOLD work of models/phold (and examples/python/phold.py) the
way a pure-Python simulator would, and draws the same random numbers: each
entity's stream is Philox2x64-10 keyed by the seed, counter (draw, entity
<< 32), as dsim's Random is; uniform, Lemire's bounded integer and the
exponential are dsim's formulas. So its event count equals dsim's, which
checks that it does the same work.

Usage: /usr/bin/python3 bench/phold_heapq.py [END_TIME] [ENTITIES]
       (defaults 100 and 16384: models/phold/phold.toml's settings)
Prints the events, the seconds and the microseconds per event.
"""

import heapq
import math
import sys
import time

M = 0xD2B74407B1CE6E93
W = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1


def philox2x64(c0: int, c1: int, key: int) -> int:
    """Random123's Philox2x64-10: the first word of the output."""
    for _ in range(10):
        product = M * c0
        hi, lo = product >> 64, product & MASK
        c0, c1 = (hi ^ key ^ c1) & MASK, lo
        key = (key + W) & MASK
    return c0


class Stream:
    __slots__ = ("key", "stream", "counter")

    def __init__(self, seed: int, entity: int):
        self.key = seed & MASK
        self.stream = entity << 32
        self.counter = 0

    def bits(self) -> int:
        v = philox2x64(self.counter, self.stream, self.key)
        self.counter += 1
        return v

    def uniform(self) -> float:
        return (self.bits() >> 11) * 2.0 ** -53

    def uniform_pos(self) -> float:
        return ((self.bits() >> 11) + 1) * 2.0 ** -53

    def exponential(self, mean: float) -> float:
        return -mean * math.log(self.uniform_pos())

    def below(self, n: int) -> int:
        m = self.bits() * n
        low = m & MASK
        if low < n:
            threshold = ((1 << 64) - n) % n
            while low < threshold:
                m = self.bits() * n
                low = m & MASK
        return m >> 64


def phold(end_time: float, entities: int, seed: int = 1, remote: float = 0.1,
          lookahead: float = 1.0, mean: float = 1.0) -> int:
    streams = [Stream(seed, e) for e in range(entities)]
    heap = []
    seq = 0
    for e in range(entities):
        t = lookahead + streams[e].exponential(mean)
        if t < end_time:
            heapq.heappush(heap, (t, e, seq))
        seq += 1
    events = 0
    while heap:
        now, e, _ = heapq.heappop(heap)
        events += 1
        rng = streams[e]
        target = e
        if rng.uniform() < remote:
            target = rng.below(entities)
        t = now + (lookahead + rng.exponential(mean))
        if t < end_time:
            heapq.heappush(heap, (t, target, seq))
        seq += 1
    return events


def main() -> None:
    end_time = float(sys.argv[1]) if len(sys.argv) > 1 else 100.0
    entities = int(sys.argv[2]) if len(sys.argv) > 2 else 16384
    start = time.perf_counter()
    events = phold(end_time, entities)
    seconds = time.perf_counter() - start
    print(f"heapq PHOLD: {events} events, {seconds:.3f} s, {1e6 * seconds / events:.3f} us/event")


if __name__ == "__main__":
    main()
