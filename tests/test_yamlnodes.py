from __future__ import annotations

import pytest

from auditor.model import Diagnostic
from auditor.parsers.yamlnodes import (
    ALIAS_LIMIT_MESSAGE,
    DEPTH_LIMIT_MESSAGE,
    MAX_DEPTH,
    PlainTooLarge,
    View,
    count_nodes,
    duplicate_keys,
    load_documents,
    to_plain,
)

SECRET = "s3cr3t-Zq8vLw2Nx7Kp"


def view_of(text: str, limit: int = 200_000) -> tuple[View, list[Diagnostic]]:
    roots, diags = load_documents("f.yaml", text)
    assert not diags, diags
    sink: list[Diagnostic] = []
    return View.root(roots[0], "f.yaml", sink, limit), sink


def walk(view: View) -> int:
    """Visit everything reachable through the view; returns the number of nodes seen."""
    count = 1
    for key, value in view.items():
        count += walk(key) + walk(value)
    for item in view:
        count += walk(item)
    return count


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (f"a: 1\nb: c: {SECRET}\n", 2, "mapping values are not allowed"),
        (f"a: 1\nb: [1, 2\nc: {SECRET}\n", 2, "(noticed at line 3)"),  # where the bracket opens
        (f'a: 1\nb: "{SECRET}\n\nc: 2\n', 2, "unexpected end of stream"),  # where the quote opens
        (f'a: 1\nb: "{SECRET}\\q"\n', 2, "unknown escape"),
        ("a: 1\nb: *missing\n", 2, "undefined alias"),
        (f"a: 1\nb:\n  - x\n c: {SECRET}\n", 4, ""),
    ],
)
def test_yaml_errors_become_diagnostics_with_line_and_no_source(text: str, line: int, problem: str) -> None:
    roots, diags = load_documents("cfg.yaml", text)
    assert roots == []
    assert len(diags) == 1
    diag = diags[0]
    assert diag.path == "cfg.yaml"
    assert diag.line == line
    assert diag.message.startswith("invalid YAML: ")
    assert problem in diag.message
    assert SECRET not in diag.message
    assert "b:" not in diag.message  # never a quoted source line


def test_reader_error_for_control_character_has_line() -> None:
    roots, diags = load_documents("x.yaml", "a: 1\nb: 2\nc: \x07\n")
    assert roots == []
    assert [(d.line, d.message) for d in diags] == [(3, "invalid YAML: control characters are not allowed")]


def test_documents_before_an_error_are_kept() -> None:
    roots, diags = load_documents("x.yaml", "a: 1\n---\nb: 2\n---\nc: [\n")
    assert len(roots) == 2
    assert len(diags) == 1
    assert diags[0].line == 6 or diags[0].line == 5


def test_multi_document_stream_skips_empty_documents() -> None:
    roots, diags = load_documents("x.yaml", "---\na: 1\n---\n---\n- b\n...\n---\nc: 3\n")
    assert not diags
    assert [r.start_mark.line + 1 for r in roots] == [2, 5, 8]


def test_empty_text_has_no_documents() -> None:
    assert load_documents("x.yaml", "") == ([], [])
    assert load_documents("x.yaml", "# only a comment\n") == ([], [])


def test_deep_nesting_is_a_diagnostic_not_a_crash() -> None:
    roots, diags = load_documents("x.yaml", "a: " + "[" * 5000 + "]" * 5000)
    assert roots == []
    assert len(diags) == 1
    assert diags[0].message.startswith("invalid YAML")


def test_custom_tags_are_composed_not_constructed() -> None:
    text = (
        "Bucket: !Ref MyBucket\n"
        "script: !reference [.setup, script]\n"
        "raw: !!binary aGVsbG8=\n"
        "x: !!python/object:os.system ls\n"
    )
    view, sink = view_of(text)
    bucket = view.get("Bucket")
    assert bucket is not None
    assert bucket.text == "MyBucket"
    assert bucket.tag == "!Ref"
    script = view.get("script")
    assert script is not None
    assert [i.text for i in script] == [".setup", "script"]
    assert to_plain(view) == {"Bucket": "MyBucket", "script": [".setup", "script"], "raw": "aGVsbG8=", "x": "ls"}
    assert not sink


# -------------------------------------------------------------------------------------- alias bombs


def billion_laughs(levels: int = 9) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        text += f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    return text


def test_billion_laughs_walk_stops_with_one_diagnostic() -> None:
    view, sink = view_of(billion_laughs())
    seen = walk(view)
    assert seen <= 200_100  # the visit budget, not a clock, bounds the work
    assert [(d.line, d.message) for d in sink] == [(6, ALIAS_LIMIT_MESSAGE)]  # where it crosses 200k nodes
    assert sink[0].path == "f.yaml"
    assert view.budget.exhausted


def test_alias_bomb_is_reported_even_when_nobody_walks_into_it() -> None:
    view, sink = view_of(billion_laughs() + "services: {}\n")
    services = view.get("services")
    assert services is not None
    assert list(services.items()) == []
    assert [(d.line, d.message) for d in sink] == [(6, ALIAS_LIMIT_MESSAGE)]


def test_deep_nesting_without_aliases_is_reported_once() -> None:
    depth = MAX_DEPTH + 10
    view, sink = view_of("a: " + "[" * depth + "x" + "]" * depth + "\n")
    walk(view)
    assert [(d.line, d.message) for d in sink] == [(1, DEPTH_LIMIT_MESSAGE)]


def test_merge_key_bomb_is_bounded() -> None:
    text = "a0: &a0 {k0: v, k1: v, k2: v, k3: v}\n"
    for i in range(1, 30):
        text += f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}, *a{i - 1}], x{i}: v}}\n"
    view, sink = view_of(text)
    walk(view)  # 4 * 3**29 entries if expanded: finishing at all proves the bound
    assert [d.message for d in sink] == [ALIAS_LIMIT_MESSAGE]


def test_recursive_alias_and_recursive_merge_terminate() -> None:
    view, sink = view_of("a: &a [1, *a]\nm: &m {x: 1, <<: *m}\n")
    walk(view)
    m = view.get("m")
    assert m is not None
    assert list(m.keys()) == ["x"]
    assert [(d.line, d.message) for d in sink] == [(1, ALIAS_LIMIT_MESSAGE)]
    with pytest.raises(PlainTooLarge):
        to_plain(view)


def test_nesting_within_the_depth_limit_is_walked() -> None:
    depth = MAX_DEPTH - 1
    view, sink = view_of("a: " + "[" * depth + "x" + "]" * depth + "\n")
    current = view.get("a")
    levels = 0
    while current is not None and current.is_sequence:
        current = next(iter(current), None)
        levels += 1
    assert current is not None
    assert current.text == "x"
    assert levels == depth
    assert sink == []


def test_large_legitimate_document_is_walked_completely() -> None:
    # the budget grows with the number of distinct nodes: a big manifest is not an alias bomb
    n, limit = 6_000, 10_000
    text = "items:\n" + "".join(f"  - {{name: n{i}, value: {i}}}\n" for i in range(n))
    view, sink = view_of(text, limit=limit)
    assert count_nodes(view.node) > 2 * limit
    items = view.get("items")
    assert items is not None
    last = None
    for count, item in enumerate(items, 1):
        last = (count, item.get_text("name"))
    assert last == (n, f"n{n - 1}")
    assert sink == []


def test_shared_aliases_within_budget_are_fine() -> None:
    view, sink = view_of("base: &b {x: 1}\nuse1: *b\nuse2: *b\n")
    assert view.get("use2") is not None
    assert view.get("use2").get_text("x") == "1"  # type: ignore[union-attr]
    assert sink == []


# ------------------------------------------------------------------------------------------- views


def test_positions_are_one_based() -> None:
    view, _ = view_of("top:\n  key: value\n  list:\n    - one\n    - two\n  block: |\n    line1\n    line2\nafter: 1\n")
    top = view.get("top")
    assert top is not None
    entry = top.entry("key")
    assert entry is not None
    key, value = entry
    assert (key.line, key.column) == (2, 3)
    assert (value.line, value.column) == (2, 8)
    items = list(top.get("list") or [])
    assert [(i.text, i.line, i.column) for i in items] == [("one", 4, 7), ("two", 5, 7)]
    block = top.get("block")
    assert block is not None
    assert block.text == "line1\nline2\n"
    assert block.style == "|"
    assert (block.line, block.end_line) == (6, 8)


def test_null_and_scalar_text() -> None:
    view, _ = view_of("a:\nb: ~\nc: null\nd: ''\ne: 0123\nf: true\n")
    values = {k.text: v for k, v in view.items()}
    assert values["a"].is_null
    assert values["a"].text is None
    assert values["a"].raw_text == ""
    assert values["b"].is_null
    assert values["c"].is_null
    assert values["c"].raw_text == "null"
    assert values["d"].text == ""
    assert not values["d"].is_null
    assert values["e"].text == "0123"
    assert values["f"].text == "true"


def test_get_on_non_mapping_and_iter_on_non_sequence_are_empty() -> None:
    view, _ = view_of("a: [1, 2]\nb: text\n")
    a = view.get("a")
    b = view.get("b")
    assert a is not None
    assert b is not None
    assert a.get("x") is None
    assert list(a.items()) == []
    assert list(b) == []
    assert view.get("missing") is None


def test_duplicate_keys_last_wins_and_all_are_listed() -> None:
    view, _ = view_of("env:\n  TOKEN: first\n  OTHER: x\n  TOKEN: second\n")
    env = view.get("env")
    assert env is not None
    assert env.get_text("TOKEN") == "second"
    assert [(k.text, v.text, k.line) for k, v in env.items()] == [
        ("TOKEN", "first", 2), ("OTHER", "x", 3), ("TOKEN", "second", 4)]
    assert [(a.line, b.line) for a, b in duplicate_keys(env)] == [(2, 4)]


def test_merge_keys_resolve_with_anchor_lines_and_precedence() -> None:
    text = (
        "x-base: &base\n"
        "  A: base-a\n"
        "  B: base-b\n"
        "x-more: &more\n"
        "  B: more-b\n"
        "  C: more-c\n"
        "svc:\n"
        "  <<: [*base, *more]\n"
        "  A: own-a\n"
    )
    view, _ = view_of(text)
    svc = view.get("svc")
    assert svc is not None
    got = {k.text: (v.text, k.line) for k, v in svc.items()}
    assert got == {"A": ("own-a", 9), "B": ("base-b", 3), "C": ("more-c", 6)}
    assert to_plain(svc) == {"A": "own-a", "B": "base-b", "C": "more-c"}
    assert list(duplicate_keys(svc)) == []


def test_to_plain_types_and_budget() -> None:
    view, _ = view_of("a: 1\nb: 1.5\nc: yes\nd: ~\ne: '1'\nf: [x, {g: h}]\nh: 0x1F\n")
    assert to_plain(view) == {"a": 1, "b": 1.5, "c": True, "d": None, "e": "1", "f": ["x", {"g": "h"}], "h": 31}
    with pytest.raises(PlainTooLarge):
        to_plain(view, budget=5)
    f = view.get("f")
    assert f is not None
    assert f.plain() == ["x", {"g": "h"}]
