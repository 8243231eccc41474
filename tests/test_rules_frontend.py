"""CLI-02 (secrets inlined by front-end build configs) and CLI-03 (provider keys in committed build output)."""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from auditor.config import Config
from auditor.loader import load_bytes
from auditor.model import Confidence, Repository, Severity
from auditor.parsers import kind_of
from auditor.rules import Hit, RuleContext
from auditor.rules.frontend import (
    build_output,
    generic_prefix,
    provider_key_in_build_output,
    publishable,
    secret_inlined_by_frontend_config,
)
from auditor.scan import ScanOptions, scan

# Well-formed fake keys, generated so that no key-shaped literal sits in this file.
_rng = random.Random(4242)
_ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


OPENAI = "sk-proj-" + _rand(74, _ALNUM + "_-") + "T3Blb" + "kFJ" + _rand(74, _ALNUM + "_-")
ANTHROPIC = "sk-ant-" + "api03-" + _rand(93, _ALNUM + "_-") + "AA"
STRIPE_SECRET = "sk_" + "live_" + _rand(24)
STRIPE_PUBLISHABLE = "pk_" + "live_" + _rand(24)
GOOGLE = "AI" + "za" + _rand(35, _ALNUM + "_-")
GITHUB = "gh" + "p_" + _rand(36)
JWT = ".".join((_b64({"alg": "HS256", "typ": "JWT"}), _b64({"sub": "user-42", "scope": "orders"}),
                _rand(43, _ALNUM + "_-")))
SUPABASE_ANON = ".".join((_b64({"alg": "HS256", "typ": "JWT"}),
                          _b64({"iss": "supabase", "ref": _rand(20).lower(), "role": "anon", "exp": 2033576000}),
                          _rand(43, _ALNUM + "_-")))
SECRETS = (OPENAI, ANTHROPIC, STRIPE_SECRET, STRIPE_PUBLISHABLE, GOOGLE, GITHUB, JWT, SUPABASE_ANON)

CTX = RuleContext()
Check = Callable[[Repository, RuleContext], Iterable[Hit]]


def repo(files: dict[str, str], *, tracked: Iterable[str] | None = None, ignored: Iterable[str] = ()) -> Repository:
    docs = []
    for path, text in files.items():
        outcome = load_bytes(path, text.encode(), kind_of(path), None)
        if outcome.document is not None:
            docs.append(outcome.document)
    ignored_set = frozenset(ignored)
    return Repository(".", docs, frozenset(files), frozenset(tracked) if tracked is not None else None,
                      git_ignored=lambda p: p in ignored_set)


def run(check: Check, repository: Repository, ctx: RuleContext = CTX) -> list[Hit]:
    hits = list(check(repository, ctx))
    for hit in hits:  # messages are built from names only
        for secret in SECRETS:
            assert secret not in hit.message
    return hits


def cli02(files: dict[str, str], ctx: RuleContext = CTX) -> dict[int, Hit]:
    hits = run(secret_inlined_by_frontend_config, repo(files), ctx)
    by_line = {h.location.line: h for h in hits}
    assert len(by_line) == len(hits), "one hit per line in these tests"
    return by_line


# ------------------------------------------------------------------------------------------------ CLI-02


def test_cli02_secret_names_in_next_env_fire_whatever_the_value_source() -> None:
    hits = cli02({"next.config.js": """\
module.exports = {
  env: {
    OPENAI_API_KEY: process.env.OPENAI_API_KEY,
    AI: process.env.ANTHROPIC_API_KEY,
    NEXT_PUBLIC_STRIPE_SECRET_KEY: process.env.NEXT_PUBLIC_STRIPE_SECRET_KEY,
    STRIPE_PUBLISHABLE_KEY: process.env.STRIPE_PUBLISHABLE_KEY,
    stripeKey: process.env.STRIPE_PUBLISHABLE_KEY,
    NEXT_PUBLIC_POSTHOG_KEY: process.env.NEXT_PUBLIC_POSTHOG_KEY,
    ALGOLIA_SEARCH_KEY: process.env.ALGOLIA_SEARCH_KEY,
    ALGOLIA_ADMIN_KEY: process.env.ALGOLIA_ADMIN_KEY,
    SUPABASE_ANON_KEY: process.env.SUPABASE_ANON_KEY,
    RECAPTCHA_SITE_KEY: process.env.RECAPTCHA_SITE_KEY,
    API_URL: process.env.API_URL,
    CLIENT_ID: process.env.CLIENT_ID,
    EMPTY_TOKEN: '',
    TOKEN_HEADER: 'Authorization',
    AUTH_SCHEME: 'Bearer',
  },
  serverRuntimeConfig: { openaiApiKey: process.env.OPENAI_API_KEY },
}
"""})
    assert sorted(hits) == [3, 4, 5, 10]
    assert "build-time value of OPENAI_API_KEY" in hits[3].message
    assert "ANTHROPIC_API_KEY as AI" in hits[4].message
    assert all(h.severity is None and h.confidence is None for h in hits.values())  # the policy's critical/high
    assert hits[3].name == "OPENAI_API_KEY"
    assert hits[3].route == "env.OPENAI_API_KEY"


def test_cli02_literal_provider_keys_and_publishable_keys() -> None:
    hits = cli02({"src/environments/environment.prod.ts": f"""\
export const environment = {{
  production: true,
  openaiKey: '{OPENAI}',
  settings: {{ label: '{STRIPE_SECRET}' }},
  stripePublishableKey: '{STRIPE_PUBLISHABLE}',
  supabase: {{ url: 'https://abc.supabase.co', key: '{SUPABASE_ANON}' }},
  firebase: {{ apiKey: '{GOOGLE}', projectId: 'acme' }},
  geminiApiKey: '{GOOGLE}',
  apiToken: 'not-secret-looking',
  sessionSecret: 'Tq7-vLm29xKpR4sW',
  mapboxToken: 'pk.eyJ1IjoiYWNtZSIsImEiOiJjbHR4OWZ6dGQwMXB2MmpxcXZ6N2t6Y3l4In0.Zk3n8QpL2vX7mT1bR9cY4w',
  algolia: {{ appId: 'QWERTY1234', searchKey: 'c2f7e1b9a4d3086e5f1a2b3c4d5e6f70' }},
  segment: {{ writeKey: 'Zk3n8QpL2vX7mT1bR9cY4wH6pQ2m' }},
}};
"""})
    assert sorted(hits) == [3, 4, 7, 8, 10]
    openai = hits[3]
    assert openai.value is not None
    assert openai.value.text == OPENAI
    assert (openai.location.line, openai.location.column) == (3, 15)
    assert "OpenAI API key" in openai.message
    assert "Stripe secret key" in hits[4].message  # found by value under a harmless name
    firebase = hits[7]
    assert (firebase.severity, firebase.confidence) == (Severity.MEDIUM, Confidence.MEDIUM)
    assert hits[8].severity is None  # a Gemini key is billed, not a browser key
    assert hits[10].value is not None
    assert "secret sessionSecret" in hits[10].message


def test_cli02_binding_by_name_fires_on_empty_values_with_medium_confidence() -> None:
    hits = cli02({"nuxt.config.ts": """\
export default defineNuxtConfig({
  runtimeConfig: {
    openaiApiKey: '',
    public: {
      apiBase: '/api',
      openaiApiKey: '',
      stripePublishableKey: '',
      resendApiKey: process.env.RESEND_API_KEY,
    },
  },
  env: { SENDGRID_API_KEY: '' },
})
"""})
    assert sorted(hits) == [6, 8]
    assert hits[6].confidence is Confidence.MEDIUM
    assert "filled from the environment" in hits[6].message
    assert hits[8].confidence is None


def test_cli02_whole_environment_and_prefixes() -> None:
    hits = cli02({"vite.config.ts": """\
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), '')
  return {
    envPrefix: ['VITE_', 'TAURI_', 'TAURI_ENV_', 'MYAPP_'],
    define: { 'process.env': env },
  }
})
"""})
    assert sorted(hits) == [4, 5]
    assert 'envPrefix entry "TAURI_"' in hits[4].message
    assert "TAURI_PRIVATE_KEY" in hits[4].message
    assert hits[4].name == "envPrefix:TAURI_"
    assert "whole build environment" in hits[5].message
    svelte = run(secret_inlined_by_frontend_config, repo({"svelte.config.js": "export default { kit: { env: "
                                                               "{ publicPrefix: '' } } }\n"}))
    assert len(svelte) == 1
    assert "empty prefix" in svelte[0].message


@pytest.mark.parametrize(("prefix", "generic"), [
    ("", True), ("  ", True), ("APP_", True), ("TAURI_", True), ("KEY", True), ("SECRET_", True), ("S", True),
    ("OPENAI_", True), ("AWS_", True), ("NEXT_", True), ("API_", True), ("REACT_", True),
    ("VITE_", False), ("TAURI_ENV_", False), ("PUBLIC_", False), ("NEXT_PUBLIC_", False), ("REACT_APP_", False),
    ("MYAPP_", False), ("ACME_CLIENT_", False), ("STORYBOOK_", False), ("NG_APP_", False),
])
def test_generic_prefix(prefix: str, generic: bool) -> None:
    assert (generic_prefix(prefix) is not None) is generic


@pytest.mark.parametrize(("name", "expected"), [
    ("STRIPE_PUBLISHABLE_KEY", True), ("stripePublishableKey", True), ("SUPABASE_ANON_KEY", True),
    ("recaptcha.siteKey", True), ("NEXT_PUBLIC_POSTHOG_KEY", True), ("posthogPersonalApiKey", False),
    ("ALGOLIA_SEARCH_KEY", True), ("ALGOLIA_ADMIN_KEY", False), ("PUSHER_KEY", True), ("PUSHER_SECRET", False),
    ("OPENAI_API_KEY", False), ("environment.algolia.searchKey", True), ("segment.writeKey", True),
])
def test_publishable_names(name: str, expected: bool) -> None:
    assert publishable(name) is expected


def test_cli02_respects_configured_names() -> None:
    files = {"webpack.config.js": """\
new webpack.EnvironmentPlugin(['ACME_LICENSE', 'SENTRY_AUTH_TOKEN'])
"""}
    assert sorted(cli02(files)) == [1]
    configured = RuleContext(extra_secret_names=frozenset({"ACME_LICENSE"}),
                             allowed_names=frozenset({"SENTRY_AUTH_TOKEN"}))
    hits = run(secret_inlined_by_frontend_config, repo(files), configured)
    assert [h.name for h in hits] == ["ACME_LICENSE"]


def test_cli02_ignores_server_phase_and_other_documents() -> None:
    hits = cli02({
        "astro.config.mjs": """\
export default defineConfig({ env: { schema: {
  OPENAI_API_KEY: envField.string({ context: 'server', access: 'secret' }),
} } })
""",
        "next.config.js": "module.exports = { serverRuntimeConfig: { token: process.env.GITHUB_TOKEN } }\n",
        "config/settings.js": "module.exports = { env: { OPENAI_API_KEY: process.env.OPENAI_API_KEY } }\n",
    })
    assert hits == {}


def test_cli02_supersedes_hck01_in_a_scan(tmp_path: Path) -> None:
    (tmp_path / "src" / "environments").mkdir(parents=True)
    (tmp_path / "src" / "environments" / "environment.prod.ts").write_text(
        f"export const environment = {{\n  production: true,\n  openaiKey: '{OPENAI}',\n}};\n")
    (tmp_path / "src" / "llm.ts").write_text(f"export const key = '{ANTHROPIC}';\n")
    result = scan(tmp_path, ScanOptions(config=Config(select=("CLI-02", "HCK-01")), jobs=1))
    got = sorted((f.location.path, f.location.line, f.rule_id) for f in result.findings)
    assert got == [("src/environments/environment.prod.ts", 3, "CLI-02"), ("src/llm.ts", 1, "HCK-01")]


# ------------------------------------------------------------------------------------------------ CLI-03


@pytest.mark.parametrize(("path", "expected"), [
    ("dist/assets/index-4f9c2a1b.js", True), ("web/dist/index.html", True), (".next/static/chunks/app.js", True),
    ("apps/shop/.next/server/pages/api.js", True), (".output/public/_nuxt/entry.js", True),
    ("build/static/js/main.8e3f1c2a.chunk.js", True), ("out/index.html", True), ("public/env-config.js", True),
    ("web/public/sw.mjs", True), ("src/app.js.map", True), ("vendor/app.bundle.js", True),
    ("storybook-static/main.js", True),
    ("build/webpack.base.conf.js", False), ("build/deploy.sh", False), ("build/lib/pkg/settings.py", False),
    ("out/script.py", False), ("public/robots.txt", False), ("public/logo.svg", False), ("src/lib/ai.ts", False),
    ("distribution/readme.md", False), ("scripts/build.js", False),
])
def test_build_output_paths(path: str, expected: bool) -> None:
    assert build_output(path) is expected


BUNDLE = (
    'const a="https://api.openai.com/v1";async function b(e){return fetch(a,{headers:{Authorization:"Bearer '
    + OPENAI + '"},body:e})}export{b as ask};\n'
)


def test_cli03_fires_on_committed_output_only() -> None:
    files = {
        "dist/assets/index-4f9c2a1b.js": BUNDLE,
        "dist/assets/vendor.js": f'const s="{STRIPE_PUBLISHABLE}",t="{SUPABASE_ANON}";\n',
        "public/env-config.js": f'window.__ENV__ = {{\n  GITHUB_TOKEN: "{GITHUB}",\n}};\n',
        "public/firebase-messaging-sw.js": f"firebase.initializeApp({{ apiKey: '{GOOGLE}' }});\n",
        ".next/static/chunks/session.js": f'const t="{JWT}";\n',
        "build/static/js/main.chunk.js": f'const k="{STRIPE_SECRET}";\n',
        "src/lib/ai.ts": f"export const key = '{ANTHROPIC}';\n",
    }
    hits = run(provider_key_in_build_output, repo(files, ignored={"build/static/js/main.chunk.js"}))
    got = {(h.location.path, h.location.line): h for h in hits}
    assert set(got) == {("dist/assets/index-4f9c2a1b.js", 1), ("public/env-config.js", 2),
                        ("public/firebase-messaging-sw.js", 1), (".next/static/chunks/session.js", 1)}
    openai = got[("dist/assets/index-4f9c2a1b.js", 1)]
    assert openai.severity is Severity.CRITICAL
    assert openai.value is not None
    assert openai.value.text == OPENAI
    assert openai.location.column == BUNDLE.index(OPENAI) + 1
    assert "untrack the output" in openai.message
    served = got[("public/env-config.js", 2)]
    assert "served as-is from public/" in served.message
    assert "untrack" not in served.message
    assert got[("public/firebase-messaging-sw.js", 1)].severity is Severity.MEDIUM
    assert got[(".next/static/chunks/session.js", 1)].severity is None  # a generic JWT: the policy's high


def test_cli03_tracked_output_counts_even_when_ignored_now() -> None:
    files = {"dist/app.js": BUNDLE}
    assert run(provider_key_in_build_output, repo(files, ignored={"dist/app.js"})) == []
    hits = run(provider_key_in_build_output, repo(files, tracked={"dist/app.js"}, ignored={"dist/app.js"}))
    assert len(hits) == 1


def test_cli03_supersedes_hck01_and_skips_ignored_output_in_a_scan(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "app.js").write_text(BUNDLE)
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "dist").mkdir()
    (tmp_path / "local" / "dist" / "app.js").write_text(BUNDLE)
    (tmp_path / ".gitignore").write_text("local/dist/\n")
    result = scan(tmp_path, ScanOptions(config=Config(select=("CLI-03", "HCK-01")), jobs=1))
    assert [(f.location.path, f.rule_id) for f in result.findings] == [("dist/app.js", "CLI-03")]
