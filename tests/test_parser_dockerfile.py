"""Dockerfile parser: grammar (directives, continuations, heredocs, JSON form, ONBUILD, stages), exact
lines and columns, shell splitting of RUN commands, sites, and robustness on bad input."""

from __future__ import annotations

import random

import pytest

from auditor.model import DocKind, Document, Phase, SiteKind, ValueKind
from auditor.parsers.dockerfile import DockerfileData, Instruction, parse


def parse_text(text: str, path: str = "Dockerfile") -> tuple[Document, DockerfileData]:
    doc = Document(path, DocKind.DOCKERFILE)
    parse(doc, text)
    assert isinstance(doc.data, DockerfileData)
    return doc, doc.data


def only(data: DockerfileData, instruction: str) -> list[Instruction]:
    return [i for i in data if i.instruction == instruction]


# --------------------------------------------------------------------------------------------- directives


def test_directives_and_check_skip_are_recorded() -> None:
    doc, data = parse_text(
        "# syntax=docker/dockerfile:1.7\n"
        "# check=skip=JSONArgsRecommended,SecretsUsedInArgOrEnv;error=true\n"
        "FROM alpine\n"
    )
    assert data.directives["syntax"] == "docker/dockerfile:1.7"
    assert data.check_skip == {"jsonargsrecommended", "secretsusedinargorenv"}
    assert data.skips("SecretsUsedInArgOrEnv")
    assert not data.skips("CopyIgnoredFile")
    assert doc.diagnostics == []


def test_check_skip_all() -> None:
    _, data = parse_text("# check=skip=all\nFROM alpine\n")
    assert data.skips("SecretsUsedInArgOrEnv")


def test_check_comment_directly_above_an_instruction_applies_to_it_only() -> None:
    text = (
        "FROM scratch\n"
        "# check=skip=SecretsUsedInArgOrEnv // the token is a public sandbox key\n"
        "ARG SANDBOX_TOKEN\n"
        "ARG OTHER_TOKEN\n"
        "# check=skip=all\n"
        "\n"
        "ENV A=1\n"
    )
    _, data = parse_text(text)
    first, second = only(data, "ARG")
    assert first.check_skip == {"secretsusedinargorenv"}
    assert data.skips("SecretsUsedInArgOrEnv", first)
    assert not data.skips("SecretsUsedInArgOrEnv", second)
    assert only(data, "ENV")[0].check_skip == frozenset()  # a blank line separates the comment
    assert data.check_skip == frozenset()


def test_directive_after_comment_or_instruction_is_a_comment() -> None:
    _, data = parse_text("# a comment\n# escape=`\nFROM alpine\n# check=skip=all\n")
    assert data.directives == {}
    assert data.escape == "\\"
    assert not data.skips("SecretsUsedInArgOrEnv")
    assert data.comment_lines == {1, 2, 4}


def test_invalid_escape_directive_warns_and_keeps_backslash() -> None:
    doc, data = parse_text("# escape=x\nFROM alpine\n")
    assert data.escape == "\\"
    assert [(d.line, d.level) for d in doc.diagnostics] == [(1, "warning")]


def test_escape_directive_with_backtick() -> None:
    text = (
        "# escape=`\n"
        "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
        "ENV TOOLS=C:\\tools `\n"
        "    API_TOKEN=abc\n"
        "RUN powershell -Command `\n"
        "    Write-Host done\n"
    )
    doc, data = parse_text(text)
    assert data.escape == "`"
    (env,) = only(data, "ENV")
    assert [(p.key, p.value, p.line, p.column) for p in env.pairs] == [
        ("TOOLS", "C:\\tools", 3, 5),  # the backslash is a plain character now
        ("API_TOKEN", "abc", 4, 5),
    ]
    (run,) = only(data, "RUN")
    assert (run.line, run.end_line) == (5, 6)
    assert run.commands[0].argv[:2] == ("powershell", "-Command")
    assert doc.diagnostics == []


# --------------------------------------------------------------------------------------------- continuations


def test_env_continuation_gives_each_key_its_own_line_and_column() -> None:
    text = (
        "FROM python:3.12\n"
        "ENV A=1 \\\n"
        "    # a comment inside the continuation is dropped\n"
        "\n"
        "    B=2 \\\n"
        "      C=\"x y\"\n"
        "RUN true\n"
    )
    doc, data = parse_text(text)
    (env,) = only(data, "ENV")
    assert [(p.key, p.value, p.line, p.column) for p in env.pairs] == [
        ("A", "1", 2, 5), ("B", "2", 5, 5), ("C", "x y", 6, 7),
    ]
    assert (env.line, env.end_line) == (2, 6)
    assert 3 in data.comment_lines
    assert only(data, "RUN")[0].line == 7
    sites = [(s.kind, s.name, s.location.line, s.location.column) for s in doc.sites_of(SiteKind.ENV)]
    assert sites == [(SiteKind.ENV, "A", 2, 5), (SiteKind.ENV, "B", 5, 5), (SiteKind.ENV, "C", 6, 7)]


def test_run_continuation_commands_keep_their_lines() -> None:
    text = (
        "FROM node:20\n"
        "RUN apt-get update && \\\n"
        "    apt-get install -y curl && \\\n"
        "    curl -fsSL https://example.com/install.sh | sh\n"
    )
    _, data = parse_text(text)
    (run,) = only(data, "RUN")
    assert [(c.argv[0], c.line, c.piped) for c in run.commands] == [
        ("apt-get", 2, False), ("apt-get", 3, False), ("curl", 4, False), ("sh", 4, True),
    ]
    assert run.commands[2].lines == (4, 4, 4)


def test_trailing_whitespace_after_escape_still_continues() -> None:
    _, data = parse_text("FROM alpine\nRUN echo a \\  \n    b\n")
    (run,) = only(data, "RUN")
    assert run.commands[0].argv == ("echo", "a", "b")
    assert run.end_line == 3


# --------------------------------------------------------------------------------------------- heredocs


def test_run_heredoc_is_the_script() -> None:
    text = (
        "FROM alpine\n"
        "RUN <<EOF\n"
        "set -e\n"
        "apk add curl\n"
        "# a shell comment\n"
        "curl -o /x https://example.com \\\n"
        "  --retry 3\n"
        "EOF\n"
        "CMD [\"sh\"]\n"
    )
    doc, data = parse_text(text)
    (run,) = only(data, "RUN")
    (h,) = run.heredocs
    assert (h.name, h.quoted, h.chomp, h.line, h.body_line, h.end_line, h.terminated) == (
        "EOF", False, False, 2, 3, 8, True)
    assert h.body.splitlines()[0] == "set -e"
    assert [(c.argv[0], c.line) for c in run.commands] == [("set", 3), ("apk", 4), ("curl", 6)]
    assert run.commands[2].argv[-2:] == ("--retry", "3")
    assert (run.line, run.end_line) == (2, 8)
    assert only(data, "CMD")[0].line == 9
    assert next(doc.sites_of(SiteKind.COMMAND)).name == "set"


def test_chomp_and_quoted_heredoc_delimiters() -> None:
    text = "FROM alpine\nRUN <<-'END'\n\techo $HOME\n\tEND\nRUN <<\"X\" cat\nbody\nX\n"
    _, data = parse_text(text)
    first, second = only(data, "RUN")
    assert (first.heredocs[0].name, first.heredocs[0].quoted, first.heredocs[0].chomp) == ("END", True, True)
    assert first.heredocs[0].body == "echo $HOME"
    assert first.end_line == 4
    assert second.heredocs[0].body == "body"
    assert second.line == 5


def test_several_heredocs_on_one_line_and_copy_heredoc() -> None:
    text = (
        "FROM alpine\n"
        "COPY <<one.txt <<two.txt /dest/\n"
        "first\n"
        "one.txt\n"
        "second\n"
        "two.txt\n"
        "COPY --chmod=600 <<EOF /root/.npmrc\n"
        "registry=https://registry.npmjs.org/\n"
        "EOF\n"
    )
    doc, data = parse_text(text)
    multi, single = only(data, "COPY")
    assert [(s.path, s.heredoc.body if s.heredoc else None) for s in multi.sources] == [
        ("<<one.txt", "first"), ("<<two.txt", "second")]
    assert [h.body_line for h in multi.heredocs] == [3, 5]
    assert (multi.dest, multi.dest_path, multi.dest_is_dir) == ("/dest/", "/dest", True)
    assert (single.line, single.dest, single.flag("chmod")) == (7, "/root/.npmrc", "600")
    copies = [(s.name, s.location.line, s.context.get("heredoc")) for s in doc.sites_of(SiteKind.COPY)]
    assert copies == [("<<one.txt", 2, "true"), ("<<two.txt", 2, "true"), ("<<EOF", 7, "true")]


def test_heredoc_as_stdin_is_attached_to_the_redirect() -> None:
    _, data = parse_text("FROM alpine\nRUN cat <<EOF > /root/.netrc\nmachine h login u password p\nEOF\n")
    (run,) = only(data, "RUN")
    (cmd,) = run.commands
    assert cmd.argv == ("cat",)
    ops = {r.op: r for r in cmd.redirects}
    assert ops[">"].target == "/root/.netrc"
    assert ops["<<"].body == "machine h login u password p"
    assert ops["<<"].body_line == 3


def test_shell_heredoc_inside_a_script_is_data_not_commands() -> None:
    text = "FROM alpine\nRUN <<EOF\ncat > ~/.npmrc <<NPMRC\nregistry=x\nNPMRC\nnpm ci\nEOF\n"
    _, data = parse_text(text)
    (run,) = only(data, "RUN")
    assert [c.argv[0] for c in run.commands] == ["cat", "npm"]
    assert run.commands[0].redirects[1].body == "registry=x"
    assert run.commands[1].line == 6


def test_unterminated_heredoc_reports_its_line_and_parsing_resumes() -> None:
    text = (
        "FROM alpine\n"
        "RUN <<EOF\n"
        "echo never closed\n"
        "ENV AFTER=1\n"
        "COPY app /app\n"
    )
    doc, data = parse_text(text)
    (diag,) = doc.diagnostics
    assert (diag.line, diag.level) == (2, "error")
    assert "line 2" in diag.message
    assert "line 4" in diag.message
    assert [i.instruction for i in data] == ["FROM", "RUN", "ENV", "COPY"]
    assert only(data, "ENV")[0].pairs[0].line == 4
    assert only(data, "RUN")[0].heredocs[0].terminated is False


def test_unterminated_heredoc_at_end_of_file() -> None:
    doc, data = parse_text("FROM alpine\nRUN <<EOF\necho never closed\n")
    assert [(d.line, d.level) for d in doc.diagnostics] == [(2, "error")]
    assert "never terminated" in doc.diagnostics[0].message
    assert only(data, "RUN")[0].heredocs[0].body == "echo never closed"


def test_here_string_and_spaced_heredoc_are_not_dockerfile_heredocs() -> None:
    _, data = parse_text("FROM alpine\nRUN chpasswd <<< 'u:p'\nRUN cat << EOF\nENV A=1\n")
    assert all(not i.heredocs for i in data)
    assert only(data, "RUN")[0].commands[0].redirects[0].op == "<<<"
    assert only(data, "ENV")[0].line == 4


# --------------------------------------------------------------------------------------------- stages, ONBUILD


def test_multi_stage_names_indices_bases_and_workdir() -> None:
    text = (
        "ARG GO=1.22\n"
        "FROM golang:${GO} AS Build\n"
        "WORKDIR /src\n"
        "FROM build AS test\n"
        "WORKDIR sub\n"
        "RUN go test ./...\n"
        "FROM --platform=linux/amd64 gcr.io/distroless/static\n"
        "COPY --from=build /src/bin/app /app\n"
        "COPY --from=0 --link /src/LICENSE /\n"
    )
    doc, data = parse_text(text)
    assert [(s.index, s.name, s.base, s.base_stage, s.line) for s in data.stages] == [
        (0, "build", "golang:1.22", None, 2), (1, "test", "build", 0, 4),
        (2, None, "gcr.io/distroless/static", None, 7),
    ]
    assert data.stages[2].platform == "linux/amd64"
    assert data.final_stage == 2
    assert data.stage("BUILD") is data.stages[0]
    assert data.stage("1") is data.stages[1]
    assert data.stage("alpine") is None
    (run,) = only(data, "RUN")
    assert (run.stage_index, run.stage_name, run.workdir) == (1, "test", "/src/sub")
    copy1, copy2 = only(data, "COPY")
    assert (copy1.flag("from"), copy1.dest_path, copy1.dest_is_dir) == ("build", "/app", False)
    assert copy2.flags == {"from": ("0",), "link": ("",)}
    global_arg = next(doc.sites_of(SiteKind.BUILD_ARG))
    assert (global_arg.name, global_arg.context["stage"], global_arg.context["stage_index"]) == ("GO", "", "-1")


def test_onbuild_is_flattened_with_a_flag() -> None:
    text = "FROM python:3.12\nONBUILD ARG PIP_TOKEN\nONBUILD COPY . /app\nONBUILD RUN pip install /app\n"
    doc, data = parse_text(text)
    onb = [i for i in data if i.onbuild]
    assert [i.instruction for i in onb] == ["ARG", "COPY", "RUN"]
    assert onb[0].pairs[0].column == 13
    site = next(doc.sites_of(SiteKind.BUILD_ARG))
    assert (site.name, site.context["onbuild"], site.location.line) == ("PIP_TOKEN", "true", 2)


def test_onbuild_of_from_is_rejected_with_a_diagnostic() -> None:
    doc, data = parse_text("FROM alpine\nONBUILD FROM busybox\nRUN true\n")
    assert [d.line for d in doc.diagnostics] == [2]
    assert [i.instruction for i in data] == ["FROM", "RUN"]


# --------------------------------------------------------------------------------------------- ARG / ENV / LABEL


def test_env_forms_and_arg_defaults() -> None:
    text = (
        "FROM alpine\n"
        "ARG PLAIN OTHER=2 \"QUOTED=a b\" EMPTY=\n"
        "ENV LEGACY_KEY some value with spaces\n"
        "ENV K1=v1 K2=\"v 2\" K3='$NOT_EXPANDED' K4=$REF\n"
        "LABEL org.opencontainers.image.title=\"my app\" maintainer=team@example.com\n"
    )
    doc, data = parse_text(text)
    args = {s.name: s for s in doc.sites_of(SiteKind.BUILD_ARG)}
    assert args["PLAIN"].value is None
    assert args["OTHER"].value is not None
    assert args["OTHER"].value.text == "2"
    assert args["QUOTED"].value is not None
    assert args["QUOTED"].value.text == "a b"
    assert args["EMPTY"].value is not None
    assert args["EMPTY"].value.kind is ValueKind.EMPTY
    assert [a.location.column for a in args.values()] == [5, 11, 19, 32]
    envs = {s.name: s for s in doc.sites_of(SiteKind.ENV)}
    assert envs["LEGACY_KEY"].value is not None
    assert envs["LEGACY_KEY"].value.text == "some value with spaces"
    assert envs["K2"].value is not None
    assert envs["K2"].value.text == "v 2"
    assert envs["K4"].value is not None
    assert envs["K4"].value.kind is ValueKind.REFERENCE
    assert all(s.phase is Phase.BUILD for s in doc.sites)
    assert envs["K1"].context == {"instruction": "ENV", "stage": "0", "stage_index": "0"}
    (label,) = only(data, "LABEL")
    assert [(p.key, p.value) for p in label.pairs] == [
        ("org.opencontainers.image.title", "my app"), ("maintainer", "team@example.com")]


def test_env_with_mixed_forms_reports_the_line() -> None:
    doc, data = parse_text("FROM alpine\nENV A=1 B\n")
    assert [(d.line, d.level) for d in doc.diagnostics] == [(2, "warning")]
    assert [p.key for p in only(data, "ENV")[0].pairs] == ["A"]


# --------------------------------------------------------------------------------------------- RUN


def test_run_flags_and_mounts() -> None:
    text = (
        "FROM node:20\n"
        "RUN --mount=type=secret,id=npm,env=NPM_TOKEN \\\n"
        "    --mount=type=secret,id=aws \\\n"
        "    --mount=type=ssh --mount=type=bind,source=.,target=/ctx --mount=target=/cache,type=cache \\\n"
        "    --network=none npm ci\n"
    )
    doc, data = parse_text(text)
    (run,) = only(data, "RUN")
    assert [(m.type, m.id, m.env, m.target, m.line) for m in run.mounts] == [
        ("secret", "npm", "NPM_TOKEN", None, 2),
        ("secret", "aws", None, "/run/secrets/aws", 3),
        ("ssh", None, None, None, 4),
        ("bind", None, None, "/ctx", 4),
        ("cache", None, None, "/cache", 4),
    ]
    assert [m.type for m in run.secret_mounts] == ["secret", "secret", "ssh"]
    assert run.flag("network") == "none"
    assert run.commands[0].argv == ("npm", "ci")
    (site,) = doc.sites_of(SiteKind.COMMAND)
    assert (site.name, site.context["mounts"], site.context["secret_envs"]) == ("npm", "secret,secret,ssh,bind,cache",
                                                                                "NPM_TOKEN")


def test_json_form_run_and_nested_sh_c() -> None:
    _, data = parse_text('FROM alpine\nRUN ["/bin/sh", "-c", "echo hi > /tmp/x && rm -f /tmp/y"]\n')
    (run,) = only(data, "RUN")
    assert run.json_form
    assert run.args == ("/bin/sh", "-c", "echo hi > /tmp/x && rm -f /tmp/y")
    assert [(c.argv, c.depth) for c in run.commands] == [
        (("/bin/sh", "-c", "echo hi > /tmp/x && rm -f /tmp/y"), 0),
        (("echo", "hi"), 1),
        (("rm", "-f", "/tmp/y"), 1),
    ]
    assert run.commands[1].redirects[0].target == "/tmp/x"


def test_invalid_json_falls_back_to_shell_form() -> None:
    _, data = parse_text("FROM alpine\nRUN [ -f /etc/os-release ]\n")
    (run,) = only(data, "RUN")
    assert not run.json_form
    assert run.commands[0].argv == ("[", "-f", "/etc/os-release", "]")


def test_shell_splitting_operators_redirects_and_comments() -> None:
    text = "FROM alpine\nRUN A=1 sudo -E make 2>&1 | tee log; false || echo 'a && b' # trailing comment\n"
    _, data = parse_text(text)
    (run,) = only(data, "RUN")
    cmds = run.commands
    assert [c.argv for c in cmds] == [("A=1", "sudo", "-E", "make"), ("tee", "log"), ("false",), ("echo", "a && b")]
    assert cmds[0].words == ("make",)
    assert cmds[0].name == "make"
    assert [(r.op, r.target) for r in cmds[0].redirects] == [(">&", "1")]
    assert [c.piped for c in cmds] == [False, True, False, False]


def test_shell_keywords_are_not_command_names() -> None:
    _, data = parse_text("FROM alpine\nRUN if [ -n \"$K\" ]; then gcloud auth list; fi\n")
    names = [c.name for c in only(data, "RUN")[0].commands]
    assert names == ["[", "gcloud", ""]


def test_unbalanced_quote_in_run_does_not_raise() -> None:
    _doc, data = parse_text("FROM alpine\nRUN echo \"unterminated\nENV A=1\n")
    assert only(data, "RUN")[0].commands[0].argv[0] == "echo"
    assert only(data, "ENV")[0].line == 3


# --------------------------------------------------------------------------------------------- COPY / ADD


def test_copy_sources_dest_and_flags() -> None:
    text = (
        "FROM alpine\n"
        "WORKDIR /app\n"
        "COPY --chown=1000:1000 --parents package.json src/ ./\n"
        'COPY ["with space.txt", "conf/"]\n'
        "ADD --link https://example.com/x.tgz /opt/\n"
        "COPY --from=build /out/app bin/app\n"
    )
    doc, data = parse_text(text)
    c1, c2, add, c3 = [i for i in data if i.instruction in ("COPY", "ADD")]
    assert [s.path for s in c1.sources] == ["package.json", "src/"]
    assert (c1.dest_path, c1.dest_is_dir, c1.flag("chown"), "parents" in c1.flags) == ("/app", True, "1000:1000", True)
    assert (c2.json_form, c2.sources[0].path, c2.sources[0].column, c2.dest_path) == (True, "with space.txt", 7,
                                                                                        "/app/conf")
    assert add.sources[0].path == "https://example.com/x.tgz"
    assert (c3.dest_path, c3.dest_is_dir) == ("/app/bin/app", False)
    sites = [(s.name, s.location.line, s.location.column, dict(s.context)) for s in doc.sites_of(SiteKind.COPY)]
    assert sites[0] == ("package.json", 3, 34, {"instruction": "COPY", "dest": "./", "from": "", "stage": "0",
                                                "stage_index": "0"})
    assert sites[-1][3]["from"] == "build"


def test_copy_dest_expands_known_variables() -> None:
    _, data = parse_text("FROM alpine\nENV APP_HOME=/srv/app\nWORKDIR $APP_HOME\nCOPY . ${APP_HOME}/\n")
    (copy,) = only(data, "COPY")
    assert (copy.workdir, copy.dest_path, copy.dest_is_dir) == ("/srv/app", "/srv/app", True)


# --------------------------------------------------------------------------------------------- robustness


def test_sequence_interface() -> None:
    _, data = parse_text("FROM alpine\nRUN true\n")
    assert len(data) == 2
    assert data[0].instruction == "FROM"
    assert [i.instruction for i in data[0:2]] == ["FROM", "RUN"]
    assert list(data.in_stage(0)) == list(data)


def test_garbage_gives_diagnostics_not_exceptions() -> None:
    rng = random.Random(1234)
    garbage = bytes(rng.randrange(1, 256) for _ in range(4000)).decode("latin-1")
    doc, _data = parse_text(garbage)
    assert doc.diagnostics, "garbage must be reported"
    assert all(d.level in ("warning", "error") for d in doc.diagnostics)
    assert all(garbage[:20] not in d.message for d in doc.diagnostics)
    assert len(doc.diagnostics) <= 12  # capped, with a summary


def test_binary_input_is_refused_with_a_diagnostic() -> None:
    doc, data = parse_text("FROM alpine\n\x00\x01\x02")
    assert len(data) == 0
    assert "binary" in doc.diagnostics[0].message


def test_diagnostics_never_quote_content() -> None:
    secret = "sk-proj-SECRETSECRETSECRET"
    doc, _ = parse_text(f"FROM alpine\n{secret} oops\nENV {secret}\nRUN <<{secret}\n")
    assert doc.diagnostics
    assert all("SECRET" not in d.message for d in doc.diagnostics)


@pytest.mark.parametrize("seed", range(30))
def test_random_dockerfile_fragments_never_raise(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["FROM a AS b", "RUN <<EOF", "EOF", "RUN echo \\", "ENV A=\"x", "COPY", "ARG", "ONBUILD", "ONBUILD RUN",
              "# escape=`", "RUN [\"sh\", ", "COPY <<-X /d", "\tX", "LABEL a", "RUN a | b && c || d; e >",
              "RUN 'unterminated", "WORKDIR", "FROM", "COPY --from= . .", "RUN --mount=type=secret,id", "`",
              "\\", "HEALTHCHECK CMD", "HEALTHCHECK --interval=5s CMD [\"x\"]", "ENV", "  ", ""]
    text = "\n".join(rng.choice(pieces) for _ in range(40))
    _doc, data = parse_text(text)
    assert isinstance(data, DockerfileData)
    for instr in data:
        assert 1 <= instr.line <= instr.end_line <= text.count("\n") + 1
