from __future__ import annotations

import pytest

from auditor.model import DocKind, Document, Phase, RefKind, Site, SiteKind, ValueKind
from auditor.parsers import envfile, kind_of
from auditor.parsers.envfile import EnvEntry, EnvFileData

SECRET = "Zq8vLw2Nx7Kp4Rt9"


def parse(text: str, path: str = ".env", environment: str | None = None) -> Document:
    doc = Document(path, DocKind.ENV_FILE, environment)
    envfile.parse(doc, text)
    return doc


def by_name(doc: Document) -> dict[str, Site]:
    return {s.name: s for s in doc.sites}


def text_of(site: Site) -> str:
    assert site.value is not None
    return site.value.text


@pytest.mark.parametrize(
    "name", [".env", ".env.local", ".env.production", "config/app.env", ".envrc", "web/.env.development.local"]
)
def test_env_file_names(name: str) -> None:
    assert kind_of(name) is DocKind.ENV_FILE


def test_basic_assignments_with_lines_and_columns() -> None:
    doc = parse(
        "# comment\n"
        "\n"
        f"API_KEY={SECRET}\n"
        "export REGION=eu-west-1\n"
        "  INDENTED = spaced  \n"
        "EMPTY=\n"
    )
    sites = by_name(doc)
    key = sites["API_KEY"]
    assert (key.kind, key.phase, key.route) == (SiteKind.ENV, Phase.RUNTIME, "API_KEY")
    assert (key.location.line, key.location.column, key.location.end_line) == (3, 1, None)
    assert key.value is not None
    assert key.value.kind is ValueKind.LITERAL
    assert key.value.text == SECRET
    region = sites["REGION"]
    assert (region.location.line, region.location.column) == (4, 8)
    assert text_of(region) == "eu-west-1"
    assert text_of(sites["INDENTED"]) == "spaced"
    assert sites["INDENTED"].location.column == 3
    assert sites["EMPTY"].value is not None
    assert sites["EMPTY"].value.kind is ValueKind.EMPTY
    assert doc.diagnostics == []
    data = doc.data
    assert isinstance(data, EnvFileData)
    assert not data.template
    assert data.entries[1] == EnvEntry("REGION", 4, 4, "", exported=True)


def test_inline_comments_only_after_whitespace_in_unquoted_values() -> None:
    doc = parse(
        f"A={SECRET} # rotate me\n"
        "B=abc#def\n"
        "C= # only a comment\n"
        "D=x\t# tab comment\n"
        f'E="{SECRET} # not a comment" # a comment\n'
        "F='a #b'\n"
    )
    sites = by_name(doc)
    assert text_of(sites["A"]) == SECRET
    assert text_of(sites["B"]) == "abc#def"
    assert sites["C"].value is not None
    assert sites["C"].value.kind is ValueKind.EMPTY
    assert text_of(sites["D"]) == "x"
    assert text_of(sites["E"]) == f"{SECRET} # not a comment"
    assert text_of(sites["F"]) == "a #b"
    assert doc.diagnostics == []


def test_quotes_and_escapes() -> None:
    doc = parse(
        'DQ="line1\\nline2\\t\\"q\\" \\$HOME \\\\"\n'
        "SQ='it\\'s \\n literal'\n"
        "SQ_DOLLAR='Xk82$pqLw0z'\n"
        'DQ_REF="${OTHER}"\n'
    )
    sites = by_name(doc)
    assert text_of(sites["DQ"]) == 'line1\nline2\t"q" $HOME \\'
    assert sites["DQ"].context == {"quote": '"'}
    assert text_of(sites["SQ"]) == "it's \\n literal"
    assert sites["SQ"].context == {"quote": "'"}
    # single quotes are literal: the "$" is part of the password, not a variable
    sq = sites["SQ_DOLLAR"].value
    assert sq is not None
    assert (sq.kind, sq.text) == (ValueKind.LITERAL, "Xk82$pqLw0z")
    ref = sites["DQ_REF"].value
    assert ref is not None
    assert (ref.kind, ref.ref, ref.ref_name) == (ValueKind.REFERENCE, RefKind.ENV_VAR, "OTHER")


def test_multiline_values_keep_the_key_line() -> None:
    doc = parse(
        "BEFORE=1\n"
        'PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\n'
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n"
        '-----END PRIVATE KEY-----"\n'
        "SINGLE='a\n"
        "b'  # trailing\n"
        "AFTER=2\n"
    )
    sites = by_name(doc)
    pk = sites["PRIVATE_KEY"]
    assert (pk.location.line, pk.location.end_line) == (2, 4)
    assert text_of(pk).splitlines() == ["-----BEGIN PRIVATE KEY-----", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
                                        "-----END PRIVATE KEY-----"]
    assert (sites["SINGLE"].location.line, sites["SINGLE"].location.end_line) == (5, 6)
    assert text_of(sites["SINGLE"]) == "a\nb"
    assert sites["AFTER"].location.line == 7
    assert doc.data.entries[1] == EnvEntry("PRIVATE_KEY", 2, 4, '"')
    assert doc.diagnostics == []


def test_bare_key_passes_the_variable_through() -> None:
    doc = parse("OPENAI_API_KEY\nexport GITHUB_TOKEN\nWITH_COMMENT # set by CI\n")
    for name, line in (("OPENAI_API_KEY", 1), ("GITHUB_TOKEN", 2), ("WITH_COMMENT", 3)):
        site = by_name(doc)[name]
        assert site.location.line == line
        assert site.value is not None
        assert (site.value.kind, site.value.ref, site.value.ref_name) == (ValueKind.REFERENCE, RefKind.ENV_VAR, name)
    assert doc.diagnostics == []


def test_interpolation_and_defaults() -> None:
    doc = parse(f"A=${{B}}\nC=${{D:-{SECRET}}}\nE=prefix-${{F}}\nG=$H\n")
    sites = by_name(doc)
    a, c, e, g = (sites[n].value for n in "ACEG")
    assert a is not None
    assert (a.kind, a.ref_name) == (ValueKind.REFERENCE, "B")
    assert c is not None
    assert (c.kind, c.ref_name, c.default) == (ValueKind.REFERENCE, "D", SECRET)
    assert e is not None
    assert e.kind is ValueKind.INTERPOLATED
    assert g is not None
    assert (g.kind, g.ref_name) == (ValueKind.REFERENCE, "H")


def test_compose_yaml_like_assignment() -> None:
    doc = parse("KEY: value\nURL=http://x:8080\n")
    assert text_of(by_name(doc)["KEY"]) == "value"
    assert text_of(by_name(doc)["URL"]) == "http://x:8080"


def test_invalid_lines_are_diagnostics_and_reading_goes_on() -> None:
    doc = parse(
        "GOOD=1\n"
        f"this is not {SECRET}\n"
        f'BROKEN="{SECRET}\n'
        "ALSO_GOOD=2\n"
        f'TRAILING="x" {SECRET}\n'
        "=novalue\n"
        "LAST=3\n"
    )
    assert sorted(by_name(doc)) == ["ALSO_GOOD", "GOOD", "LAST"]
    assert [(d.line, d.level) for d in doc.diagnostics] == [(2, "error"), (3, "error"), (5, "error"), (6, "error")]
    for diag in doc.diagnostics:
        assert diag.path == ".env"
        assert SECRET not in diag.message
        assert diag.message.startswith("not a dotenv assignment")


def test_unterminated_quote_does_not_swallow_the_file() -> None:
    doc = parse('A="open\nB=2\nC=3\n')
    assert sorted(by_name(doc)) == ["B", "C"]
    assert [d.line for d in doc.diagnostics] == [1]


def test_crlf_and_bom_free_text() -> None:
    doc = parse("A=1\r\nB='two'\r\n# c\r\nC=3 # x\r\n")
    assert {n: text_of(s) for n, s in by_name(doc).items()} == {"A": "1", "B": "two", "C": "3"}
    assert [s.location.line for s in doc.sites] == [1, 2, 4]


def test_envrc_shell_lines_are_skipped_silently() -> None:
    doc = parse(
        "source_up\n"
        "use nix\n"
        "dotenv_if_exists .env.local\n"
        f"export AWS_SECRET_ACCESS_KEY={SECRET}\n"
        "export PATH\n"
        "PATH_add bin\n",
        path="svc/.envrc",
    )
    assert [(s.name, s.location.line) for s in doc.sites] == [("AWS_SECRET_ACCESS_KEY", 4)]
    assert doc.diagnostics == []


@pytest.mark.parametrize(
    ("path", "template"),
    [
        (".env.example", True),
        ("app/.env.sample", True),
        (".env.template", True),
        (".env.dist", True),
        (".env.defaults", True),
        (".env", False),
        (".env.production", False),
        (".env.local", False),
    ],
)
def test_template_flag(path: str, template: bool) -> None:
    assert parse("A=1\n", path=path).data.template is template


def test_client_prefixed_names_are_client_phase() -> None:
    doc = parse("NEXT_PUBLIC_SITE_URL=https://x\nVITE_API_KEY=abc\nSERVER_KEY=def\n")
    phases = {s.name: s.phase for s in doc.sites}
    assert phases == {"NEXT_PUBLIC_SITE_URL": Phase.CLIENT, "VITE_API_KEY": Phase.CLIENT, "SERVER_KEY": Phase.RUNTIME}


def test_environment_comes_from_the_document() -> None:
    doc = parse("A=1\n", path=".env.production", environment="prod")
    assert doc.sites[0].environment == "prod"


@pytest.mark.parametrize("text", ["", "\n\n", "#", "=", "'", '"', "export", "A='", "\x00\x01", "A=\\", "ÄÖ=ü\n"])
def test_odd_input_never_crashes(text: str) -> None:
    doc = parse(text)
    assert isinstance(doc.data, EnvFileData)
