"""The shell-script model: commands, words, variables, redirections, pipelines and exact lines."""

from __future__ import annotations

import random

import pytest

from auditor.parsers.shell import (
    Command,
    Script,
    SourceText,
    find_expressions,
    parse_script,
    yaml_scalar_origin,
)
from auditor.parsers.yamlnodes import View, load_documents


def commands(text: str, **kw: object) -> list[Command]:
    return list(parse_script(text, **kw).walk())  # type: ignore[arg-type]


def argv(text: str) -> list[list[str]]:
    return [[w.text for w in c.words] for c in commands(text)]


# ------------------------------------------------------------------------------------------- words


def test_quoting_decides_which_variables_expand() -> None:
    (cmd,) = commands("echo '$SINGLE' \"$DOUBLE\" $BARE \\$ESCAPED")
    assert [v.name for v in cmd.vars()] == ["DOUBLE", "BARE"]
    double, bare = list(cmd.vars())
    assert double.quoted
    assert not bare.quoted
    assert [w.text for w in cmd.words] == ["echo", "$SINGLE", "$DOUBLE", "$BARE", "$ESCAPED"]


def test_parameter_expansion_operators() -> None:
    (cmd,) = commands('echo "${TOKEN:0:4}" ${#LEN} ${A:-$FALLBACK} ${B//x/y} ${C#pre} $1 "$@"')
    ops = {v.name: v.op for v in cmd.vars()}
    assert ops == {"TOKEN": ":", "LEN": "len", "A": ":-", "FALLBACK": "", "B": "//", "C": "#", "1": "", "@": ""}
    transforms = {v.name for v in cmd.vars() if v.transforms}
    assert transforms == {"TOKEN", "B", "C"}


def test_comment_only_at_word_start() -> None:
    cmds = commands("echo a#b $X # trailing $HIDDEN\n# whole line $ALSO_HIDDEN\necho ok")
    assert [[w.text for w in c.words] for c in cmds] == [["echo", "a#b", "$X"], ["echo", "ok"]]
    assert [v.name for c in cmds for v in c.vars()] == ["X"]


def test_gha_expressions_are_opaque_in_every_quoting_context() -> None:
    (cmd,) = commands("echo '${{ secrets.A }}' \"${{ secrets.B || 'x' }}\" ${{ github.event.inputs.c && 'y' }}")
    assert [e.text for e in cmd.exprs()] == ["secrets.A", "secrets.B || 'x'", "github.event.inputs.c && 'y'"]
    assert cmd.connector == ""  # the `||` and `&&` inside expressions are not shell operators
    assert len(cmd.words) == 4


def test_expressions_can_be_disabled_or_replaced() -> None:
    import re

    (cmd,) = commands("echo << pipeline.parameters.token >>", expressions=re.compile(r"<<\s*(.*?)\s*>>"))
    assert [e.text for e in cmd.exprs()] == ["pipeline.parameters.token"]
    assert not cmd.redirects
    (plain,) = commands("echo ${{ x }}", expressions=None)
    assert not list(plain.exprs())


# ---------------------------------------------------------------------------------------- structure


def test_line_continuations_keep_exact_lines() -> None:
    script = parse_script("docker build \\\n  --build-arg A=1 \\\n  -t img .\necho done", line=20)
    first, second = script.commands
    assert (first.line, first.end_line) == (20, 22)
    assert [w.text for w in first.words] == ["docker", "build", "--build-arg", "A=1", "-t", "img", "."]
    assert [w.line for w in first.words] == [20, 20, 21, 21, 22, 22, 22]
    assert second.line == 23


def test_pipelines_and_connectors() -> None:
    cmds = commands("a | b |& c && d || e; f & g\nh")
    assert [(c.name, c.pipeline, c.stage, c.stages, c.connector) for c in cmds] == [
        ("a", 1, 0, 3, "|"), ("b", 1, 1, 3, "|&"), ("c", 1, 2, 3, "&&"), ("d", 2, 0, 1, "||"),
        ("e", 3, 0, 1, ";"), ("f", 4, 0, 1, "&"), ("g", 5, 0, 1, "\n"), ("h", 6, 0, 1, ""),
    ]


def test_pipeline_continues_after_a_newline() -> None:
    cmds = commands("cat f |\n  grep x |\n  wc -l")
    assert [(c.name, c.stage, c.stages, c.line) for c in cmds] == [("cat", 0, 3, 1), ("grep", 1, 3, 2), ("wc", 2, 3, 3)]


def test_redirections() -> None:
    (cmd,) = commands('echo "$T" 2>&1 >> "$GITHUB_ENV" < in.txt')
    assert [(r.op, r.fd, r.target.text if r.target else None) for r in cmd.redirects] == [
        (">&", 2, "1"), (">>", None, "$GITHUB_ENV"), ("<", None, "in.txt")]
    assert cmd.stdout_redirected
    assert [w.text for w in cmd.words] == ["echo", "$T"]
    assert not commands("echo x 2>/dev/null")[0].stdout_redirected
    assert commands("echo x &> log")[0].stdout_redirected


def test_heredoc_bodies_expand_unless_quoted() -> None:
    script = parse_script("cat <<EOF > ~/.npmrc\n//r/:_authToken=${NPM_TOKEN}\nEOF\n"
                          "cat <<'RAW'\n$NOT_EXPANDED ${{ secrets.STILL_SUBSTITUTED }}\nRAW\n"
                          "cat <<-TABS\n\t$INDENTED\n\tTABS\necho after", line=5)
    first, second, third, after = script.commands
    heredoc = first.redirects[0].heredoc
    assert heredoc is not None
    assert heredoc.expands
    assert heredoc.line == 6
    assert [(v.name, v.line) for v in first.vars()] == [("NPM_TOKEN", 6)]
    assert first.stdout_redirected
    assert not list(second.vars())
    assert [(e.text, e.line) for e in second.exprs()] == [("secrets.STILL_SUBSTITUTED", 9)]
    assert [v.name for v in third.vars()] == ["INDENTED"]
    assert after.name == "echo"
    assert after.line == 14
    assert not script.errors


def test_command_substitutions_are_captured_and_walked_first() -> None:
    script = parse_script('X=$(echo "$S" | base64 -d) && export Y=`cat f`; echo "$(date)" done')
    walked = [(c.name or "<assign>", c.captured) for c in script.walk()]
    assert walked == [("echo", True), ("base64", True), ("<assign>", False), ("cat", True), ("export", False),
                      ("date", True), ("echo", False)]
    assign = script.commands[0]
    assert [a.name for a in assign.assignments] == ["X"]
    assert [v.name for v in assign.vars()] == ["S"]
    export = script.commands[1]
    assert [(a.name, a.argument) for a in export.assignments] == [("Y", True)]
    # the substitution of `export Y=...` is walked once, not once per view of the word
    assert sum(1 for c in script.walk() if c.name == "cat") == 1


def test_process_substitution_and_arrays() -> None:
    script = parse_script('while read -r l; do echo "$l"; done < <(ls "$DIR")\narr=(a "$B" c)')
    names = [c.name for c in script.walk()]
    assert "ls" in names
    assert {v.name for v in script.vars()} >= {"l", "DIR", "B"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[ -n "$X" && $Y == a ]] && echo ok', [["[[", "-n", "$X", "&&", "$Y", "==", "a", "]]"], ["echo", "ok"]]),
        ("i=$((i + $STEP)); (( i > 3 )) && echo big", [[], ["(( i > 3 ))"], ["echo", "big"]]),
        ('case "$X" in\n  a|b) echo a ;;\n  *) echo other ;;\nesac\necho after',
         [["case", "$X"], ["echo", "a"], ["echo", "other"], ["echo", "after"]]),
        ("for f in $FILES; do\n  echo \"$f\"\ndone", [["for", "f", "in", "$FILES"], ["echo", "$f"]]),
        ("if [ -f x ]; then\n  echo yes\nelif true; then :\nelse\n  exit 1\nfi",
         [["[", "-f", "x", "]"], ["echo", "yes"], ["true"], [":"], ["exit", "1"]]),
        ('deploy() { echo "$1"; }\nfunction cleanup { rm -rf tmp; }\ndeploy prod',
         [["echo", "$1"], ["rm", "-rf", "tmp"], ["deploy", "prod"]]),
        ("{ echo a; echo b; } > out\n( cd sub && make )", [["echo", "a"], ["echo", "b"], [], ["cd", "sub"], ["make"]]),
    ],
)
def test_constructs_bashlex_rejects(text: str, expected: list[list[str]]) -> None:
    script = parse_script(text)
    assert not script.errors
    assert [[w.text for w in c.words] for c in script.commands] == expected


def test_function_names_recorded() -> None:
    assert parse_script("f() { :; }\nfunction g() { :; }").functions == ("f", "g")


# ----------------------------------------------------------------------------------------- commands


def test_argv_unwraps_wrappers() -> None:
    (cmd,) = commands("sudo -E -u root env A=1 B=2 timeout 30 docker login -u u -p x reg")
    assert cmd.program == "docker"
    assert [w.text for w in cmd.argv()][:2] == ["docker", "login"]
    assert cmd.subcommand("login")
    assert commands("/usr/local/bin/kaniko/executor --context .")[0].program == "executor"


def test_options_in_every_spelling() -> None:
    (cmd,) = commands("docker build --build-arg A=1 --build-arg=B=2 -f Dockerfile -pSECRET -- --build-arg C=3")
    values = [o.text for o in cmd.options(["--build-arg"])]
    assert values == ["A=1", "B=2"]  # stops at --
    assert [(o.text, o.attached) for o in cmd.options([], ["-p"], attached_short=True)] == [("SECRET", True)]
    assert [o.text for o in cmd.options([], ["-f"])] == ["Dockerfile"]
    assert cmd.has_option("--build-arg")
    assert not cmd.has_option("--secret")


def test_short_flag_clusters() -> None:
    assert commands("curl -sSLv https://x")[0].short_flag("v", "H") is not None
    assert commands("curl -Hv https://x")[0].short_flag("v", "H") is None  # v is -H's value
    assert commands("curl --verbose https://x")[0].short_flag("v") is None


def test_powershell_dialect() -> None:
    cmds = commands('Write-Host $env:TOKEN\n$x = "a$($env:B)"\ndocker login -p $env:PW', dialect="powershell")
    assert [c.name for c in cmds if not c.captured] == ["Write-Host", "$x", "docker"]
    assert [(v.name, v.line) for c in cmds if not c.captured for v in c.vars()] == [
        ("TOKEN", 1), ("x", 2), ("B", 2), ("PW", 3)]


# ---------------------------------------------------------------------------------------- robustness


@pytest.mark.parametrize(
    "text",
    ['echo "unterminated', "echo 'open", "echo $(date", "echo ${X", "cat <<EOF\nno end", "echo `x",
     "((((", "))))", "case x in", "[[ -n", "a |", "| b", ";;", "$(((", "${{ secrets.X", "\\", "$", "&&&&"],
)
def test_never_raises_and_reports_positions_only(text: str) -> None:
    script = parse_script(text, line=7)
    assert isinstance(script, Script)
    for line, message in script.errors:
        assert line >= 7
        assert text.strip() not in message or not text.strip()


def test_random_input_never_raises() -> None:
    rng = random.Random(1234)
    alphabet = [*"ab $'\"`\\(){}[]<>|&;#\n\t=-:.*!@%^~", "${{", "}}", "$(", "<<", "EOF", "[[", "]]", "case", "in",
                "esac", "for", "do", "done", "((", "))"]
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        script = parse_script(text)
        list(script.walk())
        list(script.vars())


def test_deep_nesting_is_cut_not_crashed() -> None:
    text = "echo " + "$(" * 200 + "x" + ")" * 200
    script = parse_script(text)
    assert any("nesting" in message for _, message in script.errors)


# ----------------------------------------------------------------------------------------- positions


def _scalar(text: str, *path: str) -> View:
    roots, diags = load_documents("f.yml", text)
    assert not diags
    view = View.root(roots[0], "f.yml", [])
    for key in path:
        found = view.get(key)
        assert found is not None
        view = found
    return view


@pytest.mark.parametrize(
    ("yaml_text", "name", "lines", "two_line"),
    [
        ("run: |\n  echo one\n\n  echo $TWO\n", "echo", [2, 4], 4),
        ("run: |2\n    echo one\n  echo $TWO\n", "echo", [2, 3], 3),
        ("run: >\n  echo one\n\n  echo $TWO\n", "echo", [2, 4], 4),
        ("run: >-\n  docker build\n  --build-arg A=$TWO .\n", "docker", [2], 3),
        ("run: echo one; echo $TWO\n", "echo", [1, 1], 1),
        ("run: \"echo one\n  && echo $TWO\"\n", "echo", [1, 2], 2),
        ("run:\n  echo one\n  && echo $TWO\n", "echo", [2, 3], 3),
    ],
)
def test_yaml_scalar_origin_maps_every_style(yaml_text: str, name: str, lines: list[int], two_line: int) -> None:
    view = _scalar(yaml_text, "run")
    origin = yaml_scalar_origin(view, SourceText(yaml_text))
    assert len(origin) == len(view.raw_text or "") + 1
    script = parse_script(view.raw_text or "", origin=origin)
    assert [c.line for c in script.commands if c.name == name] == lines
    two = [v for v in script.vars() if v.name == "TWO"]
    assert two
    assert two[0].line == two_line


def test_yaml_origin_columns_in_block_scalar() -> None:
    text = "jobs:\n  run: |\n      echo $X\n"
    view = _scalar(text, "jobs", "run")
    script = parse_script(view.raw_text or "", origin=yaml_scalar_origin(view, SourceText(text)))
    (var,) = list(script.vars())
    assert (var.line, var.column) == (3, 12)


def test_find_expressions_positions() -> None:
    spans = find_expressions("a ${{ secrets.A }}\nb ${{ env.B }}", line=10, column=5)
    assert [(s.text, s.line, s.column) for s in spans] == [("secrets.A", 10, 7), ("env.B", 11, 3)]


def test_powershell_condition_is_an_expression_not_a_program() -> None:
    script = parse_script('if (-not $env:API_TOKEN) { throw "missing" }\nInvoke-RestMethod -Uri https://x\n',
                          dialect="powershell")
    commands = list(script.walk())
    assert commands[0].keyword == "("
    assert commands[1].program == "Invoke-RestMethod" and commands[1].keyword is None
