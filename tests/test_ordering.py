"""CausalOrder: the reducer's causal-ordering index, driven directly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from realtime_session._ordering import CausalOrder


class Node:
    """An item as the index sees it; ``ready`` stands in for the reducer's rules."""

    def __init__(self, item_id: str, *, ready: bool = True) -> None:
        self.item_id = item_id
        self.seq = 0
        self.prev: str | None = None
        self.root = False
        self.ready = ready

    @property
    def committable(self) -> bool:
        return self.ready

    def __repr__(self) -> str:
        return f"Node({self.item_id!r})"


class Index:
    """A CausalOrder with the resolved-id record the reducer would keep beside it."""

    def __init__(self) -> None:
        self.resolved: set[str] = set()
        self.order: CausalOrder[Node] = CausalOrder(self.resolved)
        self.nodes: dict[str, Node] = {}

    def add(self, item_id: str, prev: str | None = None, *, ready: bool = True) -> Node:
        node = self.nodes[item_id] = Node(item_id, ready=ready)
        self.order.add(node)
        if prev is not None:
            self.order.link(node, prev)
        if ready:
            self.order.offer(node)
        return node

    def drain(self) -> list[str]:
        """Commit everything that may commit, as the reducer does; return the ids in order."""
        committed = []
        while (node := self.order.pop()) is not None:
            self.resolved.add(node.item_id)
            self.order.resolve(node)
            committed.append(node.item_id)
        return committed


def test_a_chain_that_arrived_backwards_commits_in_causal_order() -> None:
    index = Index()
    index.add("c", "b")
    index.add("b", "a")
    assert index.drain() == []
    index.add("a")
    assert index.drain() == ["a", "b", "c"]
    assert index.order.live == {}


def test_independent_items_commit_in_first_seen_order() -> None:
    index = Index()
    for item_id in ("z", "y", "x"):
        index.add(item_id)
    assert index.drain() == ["z", "y", "x"]


def test_a_child_seen_before_an_unrelated_item_still_waits_for_its_predecessor() -> None:
    index = Index()
    index.add("child", "parent")
    index.add("other")
    index.add("parent")
    assert index.drain() == ["other", "parent", "child"]


def test_resolving_a_predecessor_queues_only_committable_children() -> None:
    index = Index()
    index.add("parent", ready=False)
    waiting = index.add("waiting", "parent", ready=False)
    index.add("ready", "parent")
    parent = index.nodes["parent"]
    parent.ready = True
    index.order.offer(parent)
    assert index.drain() == ["parent", "ready"]
    waiting.ready = True
    index.order.offer(waiting)
    assert index.drain() == ["waiting"]


def test_linking_to_a_resolved_predecessor_does_not_hold_an_item_back() -> None:
    index = Index()
    index.add("a")
    assert index.drain() == ["a"]
    index.add("b", "a")
    assert index.drain() == ["b"]


def test_pop_skips_entries_that_resolved_or_stopped_being_committable() -> None:
    index = Index()
    a = index.add("a")
    index.order.offer(a)  # queued twice: it comes out once
    b = index.add("b")
    b.ready = False
    assert index.order.has_queued()
    assert index.drain() == ["a"]
    assert not index.order.has_queued()


def test_orphans_are_items_waiting_on_a_predecessor_never_seen() -> None:
    index = Index()
    index.add("a")
    index.drain()
    index.add("after_resolved", "a")
    index.add("orphan", "missing")
    index.add("behind_orphan", "orphan")
    index.add("free")
    assert [node.item_id for node in index.order.orphans()] == ["orphan"]


def test_orphans_include_every_item_on_a_predecessor_cycle() -> None:
    index = Index()
    index.add("self", "self")
    index.add("x", "y")
    index.add("y", "x")
    index.add("tail", "x")
    assert sorted(node.item_id for node in index.order.orphans()) == ["self", "x", "y"]
    assert index.drain() == []


def test_released_items_become_roots_and_commit_with_their_chains() -> None:
    index = Index()
    index.add("x", "y")
    index.add("y", "x")
    index.add("tail", "x")
    index.order.release(index.order.orphans())
    assert index.drain() == ["x", "y", "tail"]


def test_a_root_ignores_its_predecessor_when_it_shows_up_later() -> None:
    index = Index()
    orphan = index.add("orphan", "late")
    index.order.release([orphan])
    index.order.release([orphan])
    assert orphan.root
    assert index.drain() == ["orphan"]
    late = index.add("late", ready=False)
    assert list(index.order.children(late)) == []
    assert index.order.orphans() == []


def test_releasing_an_item_that_is_not_committable_queues_nothing() -> None:
    index = Index()
    orphan = index.add("orphan", "missing", ready=False)
    index.order.release([orphan])
    assert index.drain() == []
    orphan.ready = True
    index.order.offer(orphan)
    assert index.drain() == ["orphan"]


def test_children_are_the_uncommitted_items_linked_to_an_item() -> None:
    index = Index()
    parent = index.add("parent", ready=False)
    index.add("one", "parent", ready=False)
    released = index.add("released", "parent", ready=False)
    index.add("two", "parent", ready=False)
    index.order.release([released])
    assert [node.item_id for node in index.order.children(parent)] == ["one", "two"]


def test_ancestors_walk_up_to_the_first_predecessor_not_uncommitted() -> None:
    index = Index()
    index.add("resolved")
    index.drain()
    index.add("a", "resolved", ready=False)
    index.add("b", "a", ready=False)
    c = index.add("c", "b", ready=False)
    assert [node.item_id for node in index.order.ancestors(c)] == ["b", "a"]
    index.order.release([index.nodes["b"]])
    assert [node.item_id for node in index.order.ancestors(c)] == ["b"]


@st.composite
def forests(draw: st.DrawFn) -> tuple[list[int | None], list[int]]:
    """Predecessors of items 0..n-1 (each names an earlier item or none), and an arrival order."""
    size = draw(st.integers(min_value=1, max_value=12))
    parents = [
        draw(st.none() | st.integers(min_value=0, max_value=k - 1)) if k else None
        for k in range(size)
    ]
    arrival = draw(st.permutations(range(size)))
    return parents, list(arrival)


@given(forests())
def test_any_arrival_order_commits_every_item_after_its_predecessor(
    forest: tuple[list[int | None], list[int]],
) -> None:
    parents, arrival = forest
    index = Index()
    committed: list[str] = []
    for k in arrival:
        parent = parents[k]
        index.add(f"i{k}", None if parent is None else f"i{parent}")
        committed += index.drain()
    assert sorted(committed) == sorted(f"i{k}" for k in range(len(parents)))
    position = {item_id: n for n, item_id in enumerate(committed)}
    for k, parent in enumerate(parents):
        if parent is not None:
            assert position[f"i{parent}"] < position[f"i{k}"]
    assert index.order.orphans() == []
