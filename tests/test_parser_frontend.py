"""The front-end build configuration parser: file names, the tokenizer, and the sites each construct yields."""

from __future__ import annotations

import random
import string

import pytest

from auditor.model import DocKind, Document, Phase, RefKind, Site, SiteKind, ValueKind
from auditor.parsers import frontend, kind_of
from auditor.parsers.frontend import FrontendConfig, frontend_framework, tokenize


def parse(text: str, path: str = "next.config.js") -> Document:
    doc = Document(path, kind_of(path))
    frontend.parse(doc, text)
    return doc


def sites(doc: Document) -> dict[str, Site]:
    return {s.name: s for s in doc.sites}


def client(doc: Document) -> dict[str, Site]:
    return {s.name: s for s in doc.sites if s.phase is Phase.CLIENT}


def data(doc: Document) -> FrontendConfig:
    assert isinstance(doc.data, FrontendConfig)
    return doc.data


# ------------------------------------------------------------------------------------------------ names


@pytest.mark.parametrize(("path", "framework"), [
    ("next.config.js", "next"), ("web/next.config.mjs", "next"), ("next.config.cjs", "next"),
    ("apps/shop/next.config.ts", "next"), ("vite.config.ts", "vite"), ("vite.config.mts", "vite"),
    ("nuxt.config.ts", "nuxt"), ("astro.config.mjs", "astro"), ("svelte.config.js", "svelte"),
    ("webpack.config.js", "webpack"), ("config/webpack.prod.js", "webpack"), ("webpack.config.prod.js", "webpack"),
    ("gatsby-config.ts", "gatsby"), ("vue.config.js", "vue"), ("angular.json", "angular"),
    ("src/environments/environment.ts", "angular-env"),
    ("apps/admin/src/environments/environment.prod.ts", "angular-env"),
    ("projects/app/src/environments/environment.staging-eu.ts", "angular-env"),
])
def test_frontend_config_names(path: str, framework: str) -> None:
    assert frontend_framework(path) == framework
    assert kind_of(path) is DocKind.FRONTEND_CONFIG


@pytest.mark.parametrize("path", [
    "vitest.config.ts", "next.config.d.ts", "src/environment.ts", "environments/environment.ts",
    "src/environments/env.ts", "src/environments/environment.js", "package.json", "tsconfig.json",
    "next.config.json", "src/next.config.helpers.py",
])
def test_other_files_are_not_claimed(path: str) -> None:
    assert frontend_framework(path) is None
    assert kind_of(path) is not DocKind.FRONTEND_CONFIG


# ------------------------------------------------------------------------------------------------ tokenizer


def test_tokenizer_strings_templates_regexes_and_comments() -> None:
    text = (
        "const a = 'it\\'s' // a 'comment' with { braces\n"
        "/* block { ' */ const re = /['\"{]+/g; const b = x / 2 / y;\n"
        "const t = `outer ${`inner ${process.env.A}`} and ${b}`; const u = \"\\u0041\\x42\\n\"\n"
    )
    tokens, problems = tokenize(text)
    assert problems == []
    kinds = [(t.kind, t.text) for t in tokens]
    assert ("str", "it's") in kinds
    assert ("re", "/['\"{]+/g") in kinds
    assert sum(1 for k, v in kinds if k == "p" and v == "/") == 2  # divisions stay divisions
    assert ("str", "AB\n") in kinds
    template = next(t for t in tokens if t.kind == "tpl")
    assert template.quasis == ("outer ", " and ", "")
    assert len(template.subs) == 2
    inner = template.subs[0][0]
    assert inner.kind == "tpl"
    assert [t.text for t in inner.subs[0]] == ["process", ".", "env", ".", "A"]
    assert not any(t.text == "{" for t in tokens)  # every brace above sits in a comment, string or regex


def test_unterminated_input_is_a_warning_not_a_crash() -> None:
    for text in ("module.exports = { env: { A: 'open\n} }", "const x = `never closed ${a",
                 "module.exports = { /* never closed", "module.exports = { env: { A: process.env.A }"):
        doc = parse(text)
        assert doc.diagnostics, text
        assert all(d.level == "warning" for d in doc.diagnostics)
        for d in doc.diagnostics:  # messages never quote content
            assert "open" not in d.message
            assert "process.env" not in d.message
    doc = parse("module.exports = { env: { OPENAI_API_KEY: process.env.OPENAI_API_KEY }")
    assert "OPENAI_API_KEY" in client(doc)  # what could be read still is


def test_random_input_never_raises() -> None:
    rng = random.Random(7)
    alphabet = string.printable + "{}[]()`'\"/\\$"
    pieces = ["{", "}", "[", "]", "(", ")", ",", ":", "`", "${", "'", '"', "/", "*", "//", "/*", "*/", "\n",
              "env", "define", "process.env.X", "new webpack.DefinePlugin(", "...", "=>", "=", ";"]
    for _ in range(300):
        if rng.random() < 0.5:
            text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 60)))
        else:
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        for path in ("next.config.js", "vite.config.ts", "angular.json", "src/environments/environment.ts"):
            parse(text, path)  # must not raise


def test_deep_nesting_is_bounded() -> None:
    text = "module.exports = { env: " + "{ a: " * 3000 + "1" + " }" * 3000 + " }"
    parse(text)  # no RecursionError escapes


# ------------------------------------------------------------------------------------------------ Next.js

NEXT = """\
// @ts-check
const webpack = require('webpack')
const { STRIPE_SECRET_KEY: stripeKey } = process.env

const shared = { SENTRY_DSN: process.env.SENTRY_DSN }

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  env: {
    OPENAI_API_KEY: process.env.OPENAI_API_KEY,
    STRIPE: stripeKey,
    FALLBACK: process.env['API_TOKEN'] || 'dev-token',
    BEARER: `Bearer ${process.env.HF_TOKEN}`,
    SITE_URL: 'https://shop.example.org',
    ...shared,
  },
  publicRuntimeConfig: { anthropicKey: process.env.ANTHROPIC_API_KEY },
  serverRuntimeConfig: { dbPassword: process.env.DB_PASSWORD },
  webpack(config, { isServer }) {
    config.plugins.push(new webpack.DefinePlugin({
      'process.env.SENTRY_AUTH_TOKEN': JSON.stringify(process.env.SENTRY_AUTH_TOKEN),
    }))
    return config
  },
  compiler: { define: { __MODE__: '"prod"' }, defineServer: { __DB__: JSON.stringify(process.env.DB_URL) } },
}

module.exports = nextConfig
"""


def test_next_env_sites_with_lines_columns_and_references() -> None:
    doc = parse(NEXT)
    got = client(doc)
    key = got["OPENAI_API_KEY"]
    assert (key.kind, key.phase) == (SiteKind.CONFIG_KEY, Phase.CLIENT)
    assert (key.location.line, key.location.column) == (11, 5)
    assert key.route == "env.OPENAI_API_KEY"
    assert key.context["construct"] == "env"
    assert key.context["binding"] == "value"
    assert key.value is not None
    assert (key.value.kind, key.value.ref, key.value.ref_name) == (ValueKind.REFERENCE, RefKind.ENV_VAR,
                                                                     "OPENAI_API_KEY")
    stripe = got["STRIPE"]  # destructured (and renamed) from process.env
    assert stripe.value is not None
    assert stripe.value.ref_name == "STRIPE_SECRET_KEY"
    fallback = got["FALLBACK"]
    assert fallback.value is not None
    assert (fallback.value.ref_name, fallback.value.default) == ("API_TOKEN", "dev-token")
    bearer = got["BEARER"]
    assert bearer.value is not None
    assert bearer.value.kind is ValueKind.INTERPOLATED
    assert bearer.context["refs"] == "HF_TOKEN"
    site_url = got["SITE_URL"]
    assert site_url.value is not None
    assert site_url.value.text == "https://shop.example.org"
    assert got["SENTRY_DSN"].location.line == 5  # spread of a const object: reported where the key is
    assert got["anthropicKey"].context["construct"] == "publicRuntimeConfig"
    assert got["SENTRY_AUTH_TOKEN"].context["construct"] == "DefinePlugin"
    assert got["SENTRY_AUTH_TOKEN"].location.line == 22
    mode = got["__MODE__"]
    assert mode.value is not None
    assert mode.value.text == "prod"
    server = {s.name: s for s in doc.sites if s.phase is Phase.RUNTIME}
    assert set(server) == {"dbPassword", "__DB__"}
    assert doc.diagnostics == []
    assert data(doc).framework == "next"


def test_next_config_function_and_typescript_forms() -> None:
    doc = parse("""\
import type { NextConfig } from 'next'
const config: NextConfig = {
  env: { GROQ_API_KEY: process.env.GROQ_API_KEY! as string },
} satisfies NextConfig
export default (phase: string) => ({ ...config, publicRuntimeConfig: { xaiKey: process.env.XAI_API_KEY } })
""", "next.config.ts")
    got = client(doc)
    assert got["GROQ_API_KEY"].value is not None
    assert got["GROQ_API_KEY"].value.ref_name == "GROQ_API_KEY"
    assert got["xaiKey"].location.line == 5


def test_next_env_ternary_branches_keep_their_path() -> None:
    doc = parse("""\
const isProd = process.env.NODE_ENV === 'production'
module.exports = {
  env: isProd
    ? { MISTRAL_API_KEY: process.env.MISTRAL_API_KEY }
    : { MISTRAL_API_KEY: 'local-dev' },
}
""")
    lines = sorted(s.location.line for s in doc.sites if s.name == "MISTRAL_API_KEY")
    assert lines == [4, 5]


def test_unrelated_objects_are_not_sites() -> None:
    doc = parse("""\
module.exports = {
  images: { remotePatterns: [{ protocol: 'https', hostname: 'cdn.example.org' }] },
  async headers() { return [{ source: '/(.*)', headers: [{ key: 'X-Api-Key', value: 'abc' }] }] },
  webpack: (config) => { config.resolve.fallback = { fs: false, token: 'x' }; return config },
}
""")
    assert doc.sites == []


# ------------------------------------------------------------------------------------------------ Vite


def test_vite_define_load_env_and_prefixes() -> None:
    doc = parse("""\
import { defineConfig, loadEnv } from 'vite'
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, process.cwd(), '')
  const viteOnly = loadEnv(mode, process.cwd())
  return {
    envPrefix: ['VITE_', "APP_"],
    define: {
      'import.meta.env.GEMINI': JSON.stringify(env.GEMINI_API_KEY),
      'process.env': { NODE_ENV: JSON.stringify(mode), COHERE_API_KEY: JSON.stringify(env['COHERE_API_KEY']) },
      __APP_VERSION__: JSON.stringify(process.env.npm_package_version),
      __ALL__: JSON.stringify(env),
      __SOME__: JSON.stringify(viteOnly),
    },
    server: { proxy: { '/api': { target: env.API_ORIGIN, headers: { Authorization: env.API_TOKEN } } } },
  }
})
""", "vite.config.ts")
    got = client(doc)
    gemini = got["GEMINI"]
    assert gemini.value is not None
    assert gemini.value.ref_name == "GEMINI_API_KEY"
    assert (gemini.location.line, gemini.context["construct"]) == (8, "define")
    assert got["COHERE_API_KEY"].value is not None
    assert got["COHERE_API_KEY"].value.ref_name == "COHERE_API_KEY"
    assert got["COHERE_API_KEY"].route == "define.process.env.COHERE_API_KEY"
    assert "NODE_ENV" in got
    assert got["__ALL__"].context.get("exposes") == "all"  # loadEnv(..., '') holds every variable
    assert "exposes" not in got["__SOME__"].context  # without '' it holds VITE_ variables only
    prefixes = [s for s in doc.sites if s.context.get("construct") == "envPrefix"]
    assert [(s.context["prefix"], s.location.line, s.location.column) for s in prefixes] == [
        ("VITE_", 6, 17), ("APP_", 6, 26)]
    assert data(doc).env_prefixes == ["VITE_", "APP_"]
    assert not any("proxy" in s.route for s in doc.sites)  # the dev proxy runs in Node


@pytest.mark.parametrize("define", [
    "'process.env': process.env",
    "'process.env': JSON.stringify(process.env)",
    "...process.env",
    "'process.env': { ...process.env, NODE_ENV: '\"production\"' }",
])
def test_whole_environment_in_define(define: str) -> None:
    doc = parse(f"export default defineConfig({{\n  define: {{\n    {define},\n  }},\n}})\n", "vite.config.js")
    whole = [s for s in doc.sites if s.context.get("exposes") == "all"]
    assert len(whole) == 1
    assert whole[0].location.line == 3


def test_envprefix_string() -> None:
    doc = parse("export default { envPrefix: 'REACT_APP_' }\n", "vite.config.mjs")
    assert data(doc).env_prefixes == ["REACT_APP_"]


def test_aliased_environment_reads_are_followed() -> None:
    doc = parse("""\
const key = process.env.OPENAI_API_KEY
const headers = { auth: `Bearer ${key}` }
export default { define: { __KEY__: JSON.stringify(key), __H__: JSON.stringify(headers) } }
""", "vite.config.ts")
    got = client(doc)
    assert got["__KEY__"].value is not None
    assert got["__KEY__"].value.ref_name == "OPENAI_API_KEY"
    assert got["__H__"].context["refs"] == "OPENAI_API_KEY"


# ------------------------------------------------------------------------------------- Nuxt, Astro, SvelteKit


def test_nuxt_runtime_config_public_and_server() -> None:
    doc = parse("""\
export default defineNuxtConfig({
  runtimeConfig: {
    openaiApiKey: '',
    app: { baseURL: '/' },
    public: {
      apiBase: '/api',
      mailgunApiKey: process.env.MAILGUN_API_KEY,
      stripe: { publishableKey: '', secretKey: '' },
    },
  },
  publicRuntimeConfig: { legacyToken: process.env.LEGACY_TOKEN },
})
""", "nuxt.config.ts")
    got = client(doc)
    assert set(got) == {"apiBase", "mailgunApiKey", "stripe.publishableKey", "stripe.secretKey", "legacyToken"}
    assert got["mailgunApiKey"].context["construct"] == "runtimeConfig.public"
    assert got["mailgunApiKey"].context["binding"] == "name"
    assert got["stripe.secretKey"].route == "runtimeConfig.public.stripe.secretKey"
    server = {s.name for s in doc.sites if s.phase is Phase.RUNTIME}
    assert server == {"openaiApiKey"}


def test_astro_env_fields() -> None:
    doc = parse("""\
import { defineConfig, envField } from 'astro/config'
export default defineConfig({
  env: {
    schema: {
      PUBLIC_API_URL: envField.string({ context: 'client', access: 'public', optional: true }),
      RESEND_API_KEY: envField.string({ context: "client", access: "public", default: 'x' }),
      STRIPE_SECRET_KEY: envField.string({ context: 'server', access: 'secret' }),
    },
  },
  vite: { define: { __X__: JSON.stringify(process.env.X_TOKEN) } },
})
""", "astro.config.mjs")
    got = client(doc)
    assert set(got) == {"PUBLIC_API_URL", "RESEND_API_KEY", "__X__"}
    assert got["RESEND_API_KEY"].context["construct"] == "envField(client/public)"
    assert got["RESEND_API_KEY"].location.line == 6
    server = [s for s in doc.sites if s.name == "STRIPE_SECRET_KEY"]
    assert server
    assert server[0].phase is Phase.RUNTIME


def test_sveltekit_prefixes_and_define_env_vars() -> None:
    doc = parse("""\
const config = { kit: { env: { publicPrefix: '', privatePrefix: 'PRIVATE_' } } }
export default config
defineEnvVars({ SENTRY_TOKEN: { public: true }, DB_PASSWORD: { public: false } })
""", "svelte.config.js")
    prefix = [s for s in doc.sites if s.context.get("construct") == "publicPrefix"]
    assert [(s.context["prefix"], s.location.line) for s in prefix] == [("", 1)]
    got = client(doc)
    assert "SENTRY_TOKEN" in got
    assert "DB_PASSWORD" not in got


# ------------------------------------------------------------------------------------------------ webpack, Vue, Gatsby


def test_webpack_plugins_and_define_writes() -> None:
    doc = parse("""\
const webpack = require('webpack')
const env = require('dotenv').config().parsed
const envKeys = Object.keys(env).reduce((prev, next) => {
  prev[`process.env.${next}`] = JSON.stringify(env[next])
  return prev
}, {})
module.exports = {
  plugins: [
    new webpack.DefinePlugin(envKeys),
    new webpack.EnvironmentPlugin(['NODE_ENV', 'ALGOLIA_ADMIN_KEY']),
    new webpack.EnvironmentPlugin({ DEBUG: false, PUSHER_SECRET: 'dev' }),
    new EnvironmentPlugin('SLACK_TOKEN', 'REGION'),
  ],
}
""", "webpack.config.js")
    got = client(doc)
    whole = [s for s in doc.sites if s.context.get("exposes") == "all"]
    assert [(s.location.line, s.context["construct"]) for s in whole] == [(9, "DefinePlugin")]
    assert {"NODE_ENV", "ALGOLIA_ADMIN_KEY", "DEBUG", "PUSHER_SECRET", "SLACK_TOKEN", "REGION"} <= set(got)
    admin = got["ALGOLIA_ADMIN_KEY"]
    assert (admin.location.line, admin.location.column) == (10, 48)
    assert admin.context["binding"] == "name"
    assert admin.value is not None
    assert admin.value.ref_name == "ALGOLIA_ADMIN_KEY"
    pusher = got["PUSHER_SECRET"]
    assert pusher.value is not None
    assert pusher.value.default == "dev"


def test_vue_cli_assignments() -> None:
    doc = parse("""\
process.env.VUE_APP_VERSION = require('./package.json').version
process.env.VUE_APP_TOKEN = process.env.HUBSPOT_TOKEN
process.env.NODE_OPTIONS = '--max-old-space-size=4096'
module.exports = {
  chainWebpack: (config) => {
    config.plugin('define').tap((args) => {
      args[0]['process.env'].SENTRY_AUTH_TOKEN = JSON.stringify(process.env.SENTRY_AUTH_TOKEN)
      args[0]['process.env.BUILD'] = '"1"'
      return args
    })
  },
}
""", "vue.config.js")
    got = client(doc)
    assert set(got) == {"VUE_APP_VERSION", "VUE_APP_TOKEN", "SENTRY_AUTH_TOKEN", "BUILD"}
    token = got["VUE_APP_TOKEN"]
    assert token.value is not None
    assert token.value.ref_name == "HUBSPOT_TOKEN"
    assert got["SENTRY_AUTH_TOKEN"].location.line == 7


def test_gatsby_env_variables_allow_list() -> None:
    doc = parse("""\
module.exports = {
  plugins: [
    'gatsby-plugin-image',
    { resolve: `gatsby-plugin-env-variables`, options: { allowList: ['SPACE_ID', 'CMA_TOKEN'] } },
    { resolve: 'gatsby-source-contentful', options: { accessToken: process.env.CONTENTFUL_TOKEN } },
  ],
}
""", "gatsby-config.js")
    got = client(doc)
    assert set(got) == {"SPACE_ID", "CMA_TOKEN"}
    assert got["CMA_TOKEN"].context["construct"] == "gatsby-plugin-env-variables"


# ------------------------------------------------------------------------------------------------ Angular


def test_angular_environment_every_literal_key() -> None:
    doc = parse("""\
import { Env } from './env.model';
export const environment: Env = {
  production: true,
  apiUrl: 'https://api.example.org',
  firebase: {
    apiKey: 'not-a-real-key-value',
    projectId: 'acme',
  },
  scopes: ['openid', 'profile'],
  openaiKey: '${OPENAI_API_KEY}',
};
""", "src/environments/environment.prod.ts")
    got = client(doc)
    assert {"production", "apiUrl", "apiKey", "projectId", "openaiKey"} <= set(got)
    assert got["apiKey"].route == "environment.firebase.apiKey"
    assert got["apiKey"].location.line == 6
    substituted = got["openaiKey"].value  # envsubst-style placeholders are references to the CI variable
    assert substituted is not None
    assert substituted.ref_name == "OPENAI_API_KEY"
    assert data(doc).framework == "angular-env"


def test_angular_json_define() -> None:
    doc = parse("""\
{
  "projects": {"app": {"architect": {"build": {"options": {
    "define": {"API_KEY": "'abc123'", "BUILD": "\\"7\\""},
    "outputPath": "dist/app"
  }}}}}
}
""", "angular.json")
    got = client(doc)
    assert set(got) == {"API_KEY", "BUILD"}
    api = got["API_KEY"]
    assert api.value is not None
    assert api.value.text == "abc123"
    assert (api.location.line, api.location.column) == (3, 16)


def test_define_keys_built_from_an_env_object_in_a_tap() -> None:
    doc = parse("""\
const env = require('dotenv').config().parsed
module.exports = {
  chainWebpack: (config) => {
    config.plugin('define').tap((args) => {
      Object.keys(env).forEach((k) => {
        args[0][`process.env.${k}`] = JSON.stringify(env[k])
      })
      return args
    })
  },
}
""", "vue.config.js")
    whole = [s for s in doc.sites if s.context.get("exposes") == "all"]
    assert [s.location.line for s in whole] == [6]
