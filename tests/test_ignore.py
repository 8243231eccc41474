"""GitIgnore against real git, DockerIgnore against moby/patternmatcher's documented semantics."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.ignore import DockerIgnore, GitIgnore, effective_dockerignore, go_clean, pattern_lines

# --------------------------------------------------------------------------------------------------------------
# .gitignore: every layout is materialized as a real repository and each path is asked to
# `git check-ignore --no-index -v -n`; GitIgnore must agree on the verdict and on the deciding pattern.

LAYOUTS: dict[str, dict[str, object]] = {
    "monorepo-nested-override": {
        "ignore_files": {
            ".gitignore": "node_modules/\ndist\n*.log\n!keep.log\n.env*\n!.env.example\n/coverage\n",
            "apps/web/.gitignore": ".next/\n# the web app commits its non-secret local defaults\n!.env.local\n",
            "apps/api/.gitignore": "/tmp\n*.sqlite\n",
        },
        "files": [
            "package.json", ".env", ".env.local", ".env.example", "debug.log", "keep.log", "logs/keep.log",
            "node_modules/x/index.js", "apps/web/node_modules/y/index.js", "dist/app.js", "apps/web/dist",
            "coverage/lcov.info", "apps/web/coverage/lcov.info", "apps/web/.env.local", "apps/web/.env",
            "apps/web/.env.production.local", "apps/web/.next/cache/a", "apps/api/tmp/x", "apps/api/src/tmp/y",
            "apps/api/db.sqlite", "tmp/z", "sub/.env", "sub/.env.example",
        ],
    },
    "directory-exclusion": {
        "ignore_files": {
            ".gitignore": "build/\n!build/keep.txt\nlogs/*\n!logs/.gitkeep\nvendor/\nsecret\n!secret/readme.md\n",
            # never read by git: its directory is excluded
            "vendor/.gitignore": "!*\n",
            "docs/.gitignore": "*.md\n!index.md\nprivate/\n!private/\n",
        },
        "files": [
            "build/out.o", "build/keep.txt", "src/build/x.o", "logs/app.log", "logs/.gitkeep", "logs/old/a.log",
            "vendor/pkg/lib.go", "vendor/.gitignore", "secret/readme.md", "secret/key.pem", "a/secret",
            "docs/index.md", "docs/guide.md", "docs/private/notes.txt", "docs/sub/index.md", "docs/sub/other.md",
        ],
    },
    "anchoring-and-globs": {
        "ignore_files": {
            ".gitignore": (
                "/root-only.txt\na/b.txt\n**/deep/x\nfoo/\n*.py[cod]\n\\#hash\n\\!bang\nsp\\ \ntrail   \n"
                "**/cache/**\nnested/**/leaf/\nn?t\n[!q]z\nlib/*/gen\n"
            ),
        },
        "files": [
            "root-only.txt", "sub/root-only.txt", "a/b.txt", "x/a/b.txt", "deep/x", "p/q/deep/x", "foo/bar",
            "qq/foo", "m.pyc", "m.pyo", "m.py", "pkg/m.pyd", "#hash", "!bang", "sp ", "trail", "cache/c1",
            "w/cache/z/c2", "cache", "nested/leaf/f", "nested/a/b/leaf/f", "nested/leaf2/f", "nit", "n/t", "az",
            "qz", "lib/one/gen", "lib/one/two/gen", "lib/gen",
        ],
    },
    "whitelist": {
        "ignore_files": {".gitignore": "*\n!*/\n!*.go\n!go.mod\n"},
        "files": ["main.go", "go.mod", "go.sum", "cmd/app/main.go", "cmd/app/config.yaml", ".env", "internal/.env"],
    },
    "info-exclude-precedence": {
        "ignore_files": {
            ".git/info/exclude": "*.local\nscratch/\n",
            ".gitignore": "!keep.local\n",
            "tools/.gitignore": "!scratch/\n",
        },
        "files": ["a.local", "keep.local", "tools/b.local", "scratch/x", "tools/scratch/y", "tools/keep.local"],
    },
}

_GIT = shutil.which("git")


def _git_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", HOME=str(home), LC_ALL="C")
    return env


def _materialize(root: Path, layout: dict[str, object]) -> tuple[list[str], dict[str, str]]:
    env = _git_env(root.parent)
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    ignore_files = layout["ignore_files"]
    assert isinstance(ignore_files, dict)
    for rel, text in ignore_files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    files = layout["files"]
    assert isinstance(files, list)
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_text("x\n", encoding="utf-8")
    paths = set(files)
    for rel in files:  # every directory on the way is asked too
        parts = rel.split("/")
        paths.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return sorted(paths), env


def _git_verdicts(root: Path, paths: list[str], env: dict[str, str]) -> dict[str, tuple[bool, tuple[str, int] | None]]:
    out = subprocess.run(
        ["git", "check-ignore", "--no-index", "-v", "-n", "-z", "--stdin"],
        input="\0".join(paths) + "\0", cwd=root, capture_output=True, text=True, env=env, check=False,
    )
    fields = out.stdout.split("\0")
    verdicts = {}
    for i in range(0, len(fields) - 1, 4):
        source, line, pattern, path = fields[i : i + 4]
        ignored = bool(pattern) and not pattern.startswith("!")
        verdicts[path] = (ignored, (source, int(line)) if source else None)
    assert set(verdicts) == set(paths), out.stderr
    return verdicts


@pytest.mark.skipif(_GIT is None, reason="git is not installed")
@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_gitignore_agrees_with_git_check_ignore(tmp_path: Path, name: str) -> None:
    root = tmp_path / "repo"
    paths, env = _materialize(root, LAYOUTS[name])
    expected = _git_verdicts(root, paths, env)
    ignore_files = LAYOUTS[name]["ignore_files"]
    assert isinstance(ignore_files, dict)
    matcher = GitIgnore.from_texts(ignore_files.items())
    mismatches = []
    for path in paths:
        is_dir = (root / path).is_dir()
        got = (matcher.is_ignored(path, is_dir=is_dir), matcher.matching_source(path, is_dir=is_dir))
        if got != expected[path]:
            mismatches.append((path, "dir" if is_dir else "file", "git:", expected[path], "ours:", got))
    assert not mismatches
    # The table is meant to exercise both verdicts.
    assert any(v[0] for v in expected.values())
    assert not all(v[0] for v in expected.values())


def test_gitignore_table_is_large_enough() -> None:
    files = [f for layout in LAYOUTS.values() for f in layout["files"]]  # type: ignore[attr-defined]
    assert len(files) >= 40


def test_gitignore_core_semantics_without_git() -> None:
    gi = GitIgnore.from_texts([
        (".gitignore", "node_modules/\n.env*\n!.env.example\n/build\nconfig/*.pem\n"),
        ("svc/.gitignore", "!.env\n"),
        ("node_modules/.gitignore", "!*\n"),
    ])
    assert gi.is_ignored(".env")
    assert gi.is_ignored("deep/er/.env.local")
    assert not gi.is_ignored(".env.example")
    assert not gi.is_ignored("svc/.env")  # deeper file overrides
    assert gi.matching_source("svc/.env") == ("svc/.gitignore", 1)  # the deciding (negated) pattern
    assert gi.is_ignored("svc/.env.local")
    assert gi.is_ignored("node_modules/pkg/index.js")  # excluded directory: nothing below comes back
    assert gi.matching_source("node_modules/pkg/index.js") == (".gitignore", 1)
    assert gi.is_ignored("build", is_dir=True)
    assert not gi.is_ignored("src/build", is_dir=True)
    assert gi.is_ignored("config/tls.pem")
    assert not gi.is_ignored("config/sub/tls.pem")
    assert not gi.is_ignored("node_modules")  # dir-only pattern, asked as a file
    assert gi.is_ignored("node_modules/")  # a trailing slash means a directory
    assert gi.matching_source("README.md") is None
    assert gi("deep/.env")  # usable as Repository.git_ignored


def test_gitignore_text_handling() -> None:
    text = "\ufeff# comment\r\n*.log\r\n\r\n   \n\\#kept\n"
    assert pattern_lines(text) == [(2, "*.log"), (5, "\\#kept")]
    gi = GitIgnore.from_texts([(".gitignore", text)])
    assert gi.is_ignored("a.log")
    assert gi.is_ignored("#kept")
    assert not gi.is_ignored("# comment")
    assert gi.sources == (".gitignore",)
    assert GitIgnore.from_texts([]).is_ignored(".env") is False


def test_gitignore_bad_patterns_never_raise() -> None:
    # git: a lone "!", "/", an unterminated "[" and a trailing backslash match nothing
    gi = GitIgnore.from_texts([(".gitignore", "!\n/\n[z-a]\nfoo\\\n[\n\x00\n.env\n")])
    assert gi.is_ignored(".env")
    assert not any(gi.is_ignored(p) for p in ("foo", "foo\\", "[", "a", "/"))


def test_gitignore_on_large_trees() -> None:
    """Many paths under nested ignore files (speed is measured by bench/, never asserted in tests)."""
    patterns = "\n".join(["node_modules/", "dist/", "*.log", ".env*", "!.env.example", "/vendor", "**/tmp/**",
                          "*.py[cod]", "__pycache__/", "coverage/"] * 10)
    gi = GitIgnore.from_texts([(".gitignore", patterns)] + [(f"p{i}/.gitignore", "*.tmp\n") for i in range(30)])
    paths = [f"p{i % 40}/src/m{i % 97}/f{i}.{('py', 'log', 'tmp', 'ts')[i % 4]}" for i in range(50_000)]
    ignored = sum(gi.is_ignored(p) for p in paths)
    # *.log everywhere; *.tmp only below the 30 directories whose own .gitignore says so
    expected = sum(p.endswith(".log") or (p.endswith(".tmp") and int(p.split("/")[0][1:]) < 30) for p in paths)
    assert ignored == expected


# --------------------------------------------------------------------------------------------------------------
# .dockerignore

DOCKER_CASES = [
    # (patterns, path, excluded)  documented semantics: patterns are anchored at the context root
    (".env", ".env", True),
    (".env", "sub/.env", False),
    ("/.env", ".env", True),
    ("./.env", ".env", True),
    ("**/.env", "sub/deeper/.env", True),
    ("**/.env", ".env", True),
    ("**/.env*", "api/.env.production", True),
    ("**/.env*", ".env.local", True),
    ("*.pem", "tls.pem", True),
    ("*.pem", "certs/tls.pem", False),
    ("*/*.pem", "certs/tls.pem", True),
    ("**/*.pem", "a/b/c/tls.pem", True),
    ("certs", "certs/tls.pem", True),  # a matching directory excludes everything below it
    ("certs/", "certs/a/tls.pem", True),
    ("secrets/../.env", ".env", True),  # cleaned like Go's filepath.Clean
    ("*", "Dockerfile", True),
    ("*", "src/main.go", True),  # via the parent "src"
    ("a?c", "abc", True),
    ("a?c", "a/c", False),
    ("a*b", "a/b", False),
    ("abc.def", "abcZdef", False),  # "." is literal
    ("a[b-d]e", "ace", True),
    ("a[^b-d]e", "ace", False),
    ("a\\*b", "a*b", True),
    ("a(b)c/def", "a(b)c/def", True),
    ("dir/**", "dir", False),
    ("dir/**", "dir/x/y", True),
    ("**/dir2/*", "dir/dir2/file", True),
    ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("**file", "dir/dir/file", True),
    ("# comment", "# comment", False),
    ("  # not a comment", "# not a comment", True),  # '#' only starts a comment in column 1
    ("*.pem\n!keep.pem", "keep.pem", False),
    ("*.pem\n!keep.pem", "other.pem", True),
    ("!keep.pem\n*.pem", "keep.pem", True),  # last match wins
    ("docs\n!docs/README.md", "docs/README.md", False),  # exceptions re-include even inside excluded dirs
    ("docs/*\n!docs/README.md", "docs/README.md", False),
    ("**\n!util/docker/web", "util/docker/web/foo", False),
    ("**\n!util/docker/web\nutil/docker/web/foo", "util/docker/web/foo", True),
    ("*.md\n! README.md", "README.md", False),  # spaces after "!" are trimmed
    ("node_modules\n.git\n**/.env*\n**/*.pem\n!.env.example", ".env.example", False),
]


@pytest.mark.parametrize(("patterns", "path", "excluded"), DOCKER_CASES)
def test_dockerignore_semantics(patterns: str, path: str, excluded: bool) -> None:
    di = DockerIgnore.from_text(patterns + "\n")
    assert di.error is None
    assert di.is_excluded(path) is excluded


def test_dockerignore_from_parsed_document() -> None:
    from auditor.model import DocKind, Document
    from auditor.parsers import ignorefile

    doc = Document("svc/.dockerignore", DocKind.DOCKERIGNORE)
    ignorefile.parse(doc, "# secrets\n**/.env*\n!.env.example\n")
    di = DockerIgnore.from_document(doc)
    assert di.is_excluded("config/.env.prod")
    assert not di.is_excluded(".env.example")
    assert di.matching_line("config/.env.prod") == 2


def test_dockerignore_deciding_line_and_context_root() -> None:
    di = DockerIgnore.from_text("# header\n**/.env*\n!.env.example\n", "app/.dockerignore")
    assert di.matching_line("x/.env") == 2
    assert di.matching_line(".env.example") == 3
    assert di.matching_line("main.go") is None
    assert not di.is_excluded(".")  # the context itself is never excluded
    assert [p.line for p in di.patterns] == [2, 3]


@pytest.mark.parametrize("bad", ["!", "[", "a[", "[^", "[]a]", "[-]", "[x-]", "[a-b-c]", "foo\\"])
def test_dockerignore_patterns_docker_refuses(bad: str) -> None:
    di = DockerIgnore.from_text(f"node_modules\n{bad}\n")
    assert di.error is not None
    assert di.error_line == 2
    assert not di.is_excluded("node_modules")


def test_go_clean() -> None:
    assert go_clean("") == "."
    assert go_clean("./a//b/../c/") == "a/c"
    assert go_clean("/../x") == "/x"
    assert go_clean("../../x") == "../../x"


def test_effective_dockerignore_precedence() -> None:
    files = frozenset({"Dockerfile", ".dockerignore", "docker/api.Dockerfile", "docker/api.Dockerfile.dockerignore",
                       "docker/worker.Dockerfile", "svc/.dockerignore", "svc/Dockerfile"})
    # <Dockerfile>.dockerignore next to the Dockerfile wins over the context's .dockerignore
    assert effective_dockerignore("docker/api.Dockerfile", ".", files) == "docker/api.Dockerfile.dockerignore"
    assert effective_dockerignore("docker/worker.Dockerfile", ".", files) == ".dockerignore"
    assert effective_dockerignore("Dockerfile", "", files) == ".dockerignore"
    assert effective_dockerignore("svc/Dockerfile", "svc", files) == "svc/.dockerignore"
    assert effective_dockerignore("svc/Dockerfile", "./svc/", files) == "svc/.dockerignore"
    assert effective_dockerignore("other/Dockerfile", "other", files) is None
    # the context's .dockerignore, not the one next to the Dockerfile, when the context is elsewhere
    assert effective_dockerignore("svc/Dockerfile", ".", files) == ".dockerignore"
