"""The transcript reducer's causal-ordering index: which uncommitted item may commit next.

Every item names at most one predecessor (``previous_item_id``). An item may
commit once it is *committable* -- the content rules decide that: it is ready,
or it is a contentless anchor -- and nothing holds it back: its predecessor has
resolved, or it has none, or it was released as a root. Among the items that
may commit, the earliest-seen goes first, so a chain ``A <- B <- C`` commits in
causal order even when it arrived as ``C, B, A``.

:class:`CausalOrder` keeps that index and nothing else: the uncommitted items in
first-seen order, a heap of those that may commit (by first-seen sequence), and
a children-by-predecessor map, so that resolving an item finds what it unblocks
without a scan. It never decides what an item contains or when it is ready;
the reducer tells it (:meth:`CausalOrder.offer`) and asks it what comes next
(:meth:`CausalOrder.pop`). Only :meth:`CausalOrder.orphans` walks every item;
it is called rarely by design (an orphan timeout, the end of a session).
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar, final

if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Iterator


class OrderedItem(Protocol):
    """What the index reads and writes on an item.

    ``seq`` (first-seen order), ``prev`` and ``root`` are the index's to set,
    through :meth:`CausalOrder.add`, :meth:`CausalOrder.link` and
    :meth:`CausalOrder.release`; they live on the item so that the content
    rules read them without a lookup.
    """

    item_id: str
    seq: int
    prev: str | None
    root: bool

    @property
    def committable(self) -> bool:
        """Whether the item could commit now if nothing held it back."""
        ...


_T = TypeVar("_T", bound=OrderedItem)


@final
class CausalOrder(Generic[_T]):
    """The uncommitted items and the order they may commit in.

    ``resolved`` answers whether an item id has resolved (committed, with or
    without content); the reducer owns that record and adds to it when it
    resolves an item through :meth:`resolve`. :attr:`live` maps the uncommitted
    items' ids to them, in first-seen order; it is read freely, and changed only
    through this class.
    """

    __slots__ = ("_children", "_heap", "_resolved", "_seq", "live")

    def __init__(self, resolved: Container[str]) -> None:
        self.live: dict[str, _T] = {}
        self._resolved = resolved
        # Predecessor id -> ids of unresolved items naming it.
        self._children: dict[str, list[str]] = {}
        # Items that may commit, as (first-seen sequence, item id). Stale entries
        # (resolved since, or no longer committable) are skipped by pop().
        self._heap: list[tuple[int, str]] = []
        self._seq = 0

    def add(self, item: _T) -> None:
        """Register a new uncommitted item, last in first-seen order."""
        item.seq = self._seq
        self._seq += 1
        self.live[item.item_id] = item

    def link(self, item: _T, prev: str) -> None:
        """Record that ``item`` comes after the item ``prev``; set once per item."""
        item.prev = prev
        if prev not in self._resolved:
            kids = self._children.get(prev)
            if kids is None:
                self._children[prev] = [item.item_id]
            else:
                kids.append(item.item_id)

    def offer(self, item: _T) -> None:
        """``item`` became committable: queue it unless its predecessor holds it back.

        One that is held back is queued when its predecessor resolves.
        """
        prev = item.prev
        if item.root or prev is None or prev in self._resolved:
            heapq.heappush(self._heap, (item.seq, item.item_id))

    def has_queued(self) -> bool:
        """Whether some item may be waiting to commit (:meth:`pop` may return one)."""
        return bool(self._heap)

    def pop(self) -> _T | None:
        """The earliest-seen item that may commit now, or ``None``.

        It stays registered until :meth:`resolve`; resolving it may queue its
        children, which then come out of later calls in first-seen order.
        """
        heap = self._heap
        live = self.live
        while heap:
            _, iid = heapq.heappop(heap)
            item = live.get(iid)
            if item is not None and item.committable:
                return item
        return None

    def resolve(self, item: _T) -> None:
        """Forget ``item`` and queue its committable children.

        The caller records the item as resolved (in ``resolved``) as well.
        """
        iid = item.item_id
        del self.live[iid]
        kids = self._children.pop(iid, None)
        if kids:
            live = self.live
            for kid in kids:
                child = live.get(kid)
                if child is not None and not child.root and child.prev == iid and child.committable:
                    heapq.heappush(self._heap, (child.seq, kid))

    def children(self, item: _T) -> Iterator[_T]:
        """The uncommitted items that wait on ``item`` as their predecessor."""
        kids = self._children.get(item.item_id)
        if not kids:
            return
        live = self.live
        iid = item.item_id
        for kid in kids:
            child = live.get(kid)
            if child is not None and not child.root and child.prev == iid:
                yield child

    def ancestors(self, item: _T) -> Iterator[_T]:
        """The uncommitted items ``item`` waits on, nearest first.

        The walk stops at a root, at an item without a predecessor and at a
        predecessor that is not uncommitted (resolved, or never seen). The
        caller may stop it earlier; it must, on a predecessor cycle.
        """
        live = self.live
        node = item
        while not node.root and node.prev is not None:
            parent = live.get(node.prev)
            if parent is None:
                return
            yield parent
            node = parent

    def orphans(self) -> list[_T]:
        """Items that wait on a predecessor never seen, or that lie on a predecessor cycle.

        Roots are not listed. The order is unspecified: items whose predecessor
        is missing come first, then cycles as they are found.
        """
        live = self.live
        resolved = self._resolved
        roots: list[_T] = []
        for item in live.values():
            prev = item.prev
            if not item.root and prev is not None and prev not in live and prev not in resolved:
                roots.append(item)
        # Cycles: each unresolved item has at most one predecessor, so a walk
        # from every item, remembering finished ones, finds them in O(n).
        finished: set[str] = set()
        for start in live.values():
            if start.item_id in finished:
                continue
            path: list[_T] = []
            on_path: dict[str, int] = {}
            node: _T | None = start
            while node is not None and node.item_id not in finished:
                position = on_path.get(node.item_id)
                if position is not None:
                    roots.extend(path[position:])
                    break
                on_path[node.item_id] = len(path)
                path.append(node)
                if node.root or node.prev is None:
                    break
                node = live.get(node.prev)
            finished.update(on_path)
        return roots

    def release(self, items: Iterable[_T]) -> None:
        """Make ``items`` roots: their predecessor is ignored from then on.

        Committable roots are queued at once. Releasing a root again changes
        nothing.
        """
        for item in items:
            if item.root:
                continue
            item.root = True
            prev = item.prev
            if prev is not None:
                kids = self._children.get(prev)
                if kids is not None and item.item_id in kids:
                    kids.remove(item.item_id)
                    if not kids:
                        del self._children[prev]
            if item.committable:
                self.offer(item)
