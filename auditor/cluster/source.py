"""Where the audit's objects come from: a live API server, or YAML files of objects (tests, rule fixtures).

Both implement :class:`ClusterSource`. Failures are typed (:class:`Forbidden`, :class:`NotFound`,
:class:`Unavailable`) so the collector can turn each into a diagnostic and carry on; their messages name
resources, verbs and namespaces only, never object content.

The live source reads plain JSON through the official client's transport (authentication from kubeconfig or
the in-cluster service account, TLS, proxies) instead of its typed models: lists come page by page
(``limit``/``continue``, with field and label selectors), Secret metadata through ``PartialObjectMetadataList``
when values are not needed, and a 404 body is only parsed when the server says it is JSON (an absent API group
answers plain text).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from auditor.cluster.resources import Resource

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

METADATA_ACCEPT = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
JSON_ACCEPT = "application/json"
DEFAULT_PAGE_SIZE = 500
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_UNSAFE_LABEL = re.compile(r"[^A-Za-z0-9._@-]+")
# what every API server serves (a fixture source adds the groups of its objects and CRDs)
_BUILTIN_GROUPS = {"apps": ("v1",), "batch": ("v1", "v1beta1"), "rbac.authorization.k8s.io": ("v1",),
                   "admissionregistration.k8s.io": ("v1",), "apiextensions.k8s.io": ("v1",)}

Obj = dict[str, Any]


class SourceError(Exception):
    """An API call failed; ``str()`` is safe to print (names only)."""


class Forbidden(SourceError):
    def __init__(self, verb: str, resource: str, namespace: str | None, group: str = "") -> None:
        self.verb, self.resource, self.namespace, self.group = verb, resource, namespace, group
        scope = f"in namespace {namespace}" if namespace else "at cluster scope"
        super().__init__(f"forbidden: cannot {verb} {resource} {scope}")


class NotFound(SourceError):
    """The resource or API group is not served (the real server answers plain text ``404 page not found``)."""


class Unavailable(SourceError):
    """Timeout, connection failure, server error or an unreadable response."""


class ConnectError(SourceError):
    """No usable connection configuration (kubeconfig, context, in-cluster service account)."""


class ClusterSource(Protocol):
    """Read access to one cluster."""

    @property
    def context(self) -> str:
        """The label findings use for this cluster (``<context>/<namespace>/<Kind>/<name>``)."""
        ...

    def server_version(self) -> str: ...

    def api_groups(self) -> dict[str, tuple[str, ...]]:
        """``/apis``: served group -> its versions, preferred first."""
        ...

    def api_resources(self, group: str, version: str) -> frozenset[str]:
        """Plural names served in ``group/version`` (no subresources)."""
        ...

    def list(self, resource: Resource, version: str, namespace: str | None = None, *, metadata_only: bool = False,
             field_selector: str | None = None, label_selector: str | None = None) -> Iterator[Obj]:
        """Objects page by page; with ``metadata_only``, ``PartialObjectMetadata`` items (no data, no spec).

        ``field_selector`` and ``label_selector`` filter on the server, as ``kubectl --field-selector`` and
        ``-l`` do (``key``, ``!key``, ``key=value``, ``key!=value``, comma-separated).
        """
        ...

    def close(self) -> None: ...


def safe_label(text: str) -> str:
    """A context name usable as the first segment of a location path (``arn:aws:eks:...:cluster/x`` has ``/``)."""
    return _UNSAFE_LABEL.sub("_", text).strip("_") or "cluster"


# ------------------------------------------------------------------------------------------------ live


@dataclass(slots=True)
class LiveSource:
    """An API server reached with kubeconfig (``--kubeconfig``, ``--context``) or the in-cluster account."""

    kubeconfig: str | None = None
    context_name: str | None = None
    in_cluster: bool | None = None  # None: in-cluster when no kubeconfig exists and the pod environment is set
    label: str | None = None  # overrides the context name in locations
    timeout: float = 30.0
    page_size: int = DEFAULT_PAGE_SIZE
    requests: int = 0
    _api: ApiClient | None = field(default=None, repr=False)
    _label: str = "cluster"

    def connect(self) -> LiveSource:
        try:
            from kubernetes import client, config
        except ImportError:
            raise ConnectError("the live-cluster audit needs the kubernetes client: pip install 'keyaudit[cluster]'") \
                from None
        cfg = client.Configuration()
        kubeconfig = self.kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
        default_path = Path(os.path.expanduser(config.KUBE_CONFIG_DEFAULT_LOCATION))
        in_cluster = self.in_cluster
        if in_cluster is None:
            in_cluster = (kubeconfig is None and not default_path.is_file()
                          and bool(os.environ.get("KUBERNETES_SERVICE_HOST")))
        try:
            if in_cluster:
                config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
                name = self.context_name or "in-cluster"
            else:
                path = kubeconfig or str(default_path)
                if not Path(path).is_file():
                    raise ConnectError(f"no kubeconfig at {path} (use --kubeconfig, or run inside a cluster)")
                contexts, active = config.list_kube_config_contexts(config_file=path)  # type: ignore[no-untyped-call]
                names = [c.get("name") for c in contexts or ()]
                name = self.context_name or (active or {}).get("name") or ""
                if self.context_name and self.context_name not in names:
                    raise ConnectError(f"context {self.context_name!r} not found in {path} "
                                       f"(contexts: {', '.join(n for n in names if n) or 'none'})")
                config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=path, context=self.context_name, client_configuration=cfg, persist_config=False)
        except ConnectError:
            raise
        except Exception as exc:  # ConfigException, YAML errors, missing files: never echo file content
            raise ConnectError(f"cannot load the cluster configuration ({exc.__class__.__name__})") from None
        cfg.retries = 1
        self._api = client.ApiClient(cfg)
        self._label = safe_label(self.label or name or "cluster")
        return self

    @property
    def context(self) -> str:
        return self._label

    def close(self) -> None:
        if self._api is not None:
            self._api.close()  # type: ignore[no-untyped-call]
            self._api = None

    # -- requests
    def _request(self, path: str, query: list[tuple[str, object]] | None = None, accept: str = JSON_ACCEPT,
                 what: tuple[str, str, str | None, str] | None = None) -> Any:
        """GET ``path``; JSON on 200, typed errors otherwise. ``what`` = (verb, resource, namespace, group)."""
        import urllib3
        from kubernetes.client.exceptions import ApiException

        api = self._api
        if api is None:
            raise ConnectError("not connected")
        method, url, headers, _body, _post = api.param_serialize(
            "GET", path, query_params=query or [], header_params={"Accept": accept}, auth_settings=["BearerToken"])
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                response = api.call_api(method, url, headers, _request_timeout=(min(10.0, self.timeout), self.timeout))
                data = response.read()  # type: ignore[no-untyped-call]
            except ApiException as exc:  # TLS failures come back as status 0
                raise Unavailable(f"GET {path}: {_first_line(str(exc.reason or exc.__class__.__name__))}") from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if attempt < 3 and not isinstance(exc, urllib3.exceptions.ReadTimeoutError):
                    time.sleep(0.5 * attempt)
                    continue
                raise Unavailable(f"GET {path}: {_transport_reason(exc)}") from None
            status = response.status
            if status in _RETRY_STATUSES and attempt < 3:
                time.sleep(_retry_after(response.headers.get("Retry-After"), attempt))
                continue
            break
        content_type = (response.headers.get("Content-Type") or "").lower()
        if status == 200:
            try:
                return json.loads(data)
            except (ValueError, UnicodeDecodeError):
                raise Unavailable(f"GET {path}: the server sent a response that is not JSON") from None
        body = _json_body(data, content_type)
        if status == 403:
            verb, resource, namespace, group = what or ("get", path, None, "")
            raise Forbidden(verb, resource, namespace, group)
        if status == 404:
            raise NotFound(f"GET {path}: not found")
        if status == 401:
            raise Unavailable(f"GET {path}: unauthorized (401): the credentials were rejected")
        if status == 410:
            raise Unavailable(f"GET {path}: the list changed too much while paging (410 Gone, continue token expired)")
        reason = body.get("reason") if isinstance(body, dict) else None
        raise Unavailable(f"GET {path}: HTTP {status}{f' {reason}' if isinstance(reason, str) else ''}")

    def server_version(self) -> str:
        """``/version`` through the client's typed API: it validates every field, like the real server sends them."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        if self._api is None:
            raise ConnectError("not connected")
        self.requests += 1
        try:
            info = client.VersionApi(self._api).get_code(_request_timeout=(min(10.0, self.timeout), self.timeout))
        except ApiException as exc:
            if exc.status == 403:
                raise Forbidden("get", "/version", None) from None
            raise Unavailable(f"GET /version: HTTP {exc.status or 'error'}") from None
        except Exception as exc:  # urllib3 errors, pydantic validation of the response
            raise Unavailable(f"GET /version: {_transport_reason(exc)}") from None
        return str(info.git_version)

    def api_groups(self) -> dict[str, tuple[str, ...]]:
        body = self._request("/apis", what=("get", "/apis (discovery)", None, ""))
        groups: dict[str, tuple[str, ...]] = {}
        for group in body.get("groups") or ():
            if not isinstance(group, dict) or not isinstance(group.get("name"), str):
                continue
            preferred = (group.get("preferredVersion") or {}).get("version")
            versions = [v.get("version") for v in group.get("versions") or () if isinstance(v, dict)]
            ordered = [preferred] if preferred in versions else []
            ordered += [v for v in versions if isinstance(v, str) and v not in ordered]
            groups[group["name"]] = tuple(v for v in ordered if isinstance(v, str))
        return groups

    def api_resources(self, group: str, version: str) -> frozenset[str]:
        path = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        body = self._request(path, what=("get", f"{path} (discovery)", None, group))
        return frozenset(r["name"] for r in body.get("resources") or ()
                         if isinstance(r, dict) and isinstance(r.get("name"), str) and "/" not in r["name"])

    def list(self, resource: Resource, version: str, namespace: str | None = None, *, metadata_only: bool = False,
             field_selector: str | None = None, label_selector: str | None = None) -> Iterator[Obj]:
        path = resource.path(version, namespace)
        accept = METADATA_ACCEPT if metadata_only else JSON_ACCEPT
        api_version = f"{resource.group}/{version}" if resource.group else version
        token: str | None = None
        while True:
            query: list[tuple[str, object]] = [("limit", self.page_size)]
            if token:
                query.append(("continue", token))
            if field_selector:
                query.append(("fieldSelector", field_selector))
            if label_selector:
                query.append(("labelSelector", label_selector))
            page = self._request(path, query, accept, ("list", resource.display, namespace, resource.group))
            if not isinstance(page, dict):
                raise Unavailable(f"GET {path}: not a list")
            for item in page.get("items") or ():
                if not isinstance(item, dict):
                    continue
                if not metadata_only:  # items of built-in lists carry no kind/apiVersion
                    item.setdefault("apiVersion", api_version)
                    item.setdefault("kind", resource.kind)
                yield item
            meta = page.get("metadata")
            token = meta.get("continue") if isinstance(meta, dict) else None
            if not token:
                return


def _json_body(data: bytes | None, content_type: str) -> Any:
    """The body of an error response, parsed only when the server says it is JSON (404s may be plain text)."""
    if not data or "json" not in content_type:
        return None
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def _retry_after(header: str | None, attempt: int) -> float:
    try:
        return min(5.0, max(0.1, float(header))) if header else 0.5 * attempt
    except ValueError:
        return 0.5 * attempt


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else "error"


def _transport_reason(exc: BaseException) -> str:
    name = exc.__class__.__name__
    text = str(exc)
    for needle, reason in (("timed out", "timed out"), ("Read timed out", "timed out"),
                           ("Connection refused", "connection refused"), ("Name or service not known", "unknown host"),
                           ("CERTIFICATE_VERIFY_FAILED", "TLS certificate not trusted")):
        if needle in text:
            return reason
    return name


# --------------------------------------------------------------------------------------------- fixture


@dataclass(frozen=True, slots=True)
class Placed:
    """Where an object sits in a fixture file (for mapping findings back to marked lines)."""

    file: str
    line: int  # the line of its `kind:` key


@dataclass(slots=True)
class FixtureSource:
    """Objects from YAML files (a directory of ``*.yaml``, or files), as the API server would return them.

    Served API groups are those of the objects present plus the groups of any CustomResourceDefinition among
    them, plus ``extra_groups``. An optional ``cluster.yaml`` sets ``context``, ``now`` (ISO time),
    ``groups`` (extra served groups), ``forbidden`` (``[{resource, namespace}]`` lists the source answers 403
    for: no namespace means the cluster-wide list, ``"*"`` every list) and ``unavailable`` (resources that time
    out), so partial permissions can be tested too.
    """

    objects: list[Obj]
    label: str = "fixture"
    extra_groups: frozenset[str] = frozenset()
    forbidden: frozenset[tuple[str, str | None]] = frozenset()  # (resource, namespace; None: cluster scope; "*": any)
    unavailable: frozenset[str] = frozenset()
    now: str | None = None
    placed: dict[int, Placed] = field(default_factory=dict)  # id(object) -> where it was read
    cluster_line: Placed | None = None  # the `context:` line of cluster.yaml
    requests: int = 0

    @classmethod
    def from_paths(cls, *paths: Path) -> FixtureSource:
        import yaml

        files: list[Path] = []
        for p in paths:
            files.extend(sorted(p.rglob("*.y*ml")) if p.is_dir() else [p])
        base = paths[0] if paths and paths[0].is_dir() else (paths[0].parent if paths else Path("."))
        objects: list[Obj] = []
        placed: dict[int, Placed] = {}
        settings: Mapping[str, Any] = {}
        cluster_line: Placed | None = None
        for path in files:
            rel = path.relative_to(base).as_posix() if path.is_relative_to(base) else path.name
            text = path.read_text(encoding="utf-8")
            if path.name in {"cluster.yaml", "cluster.yml"}:
                settings = yaml.safe_load(text) or {}
                cluster_line = Placed(rel, _key_line(text, "context") or 1)
                continue
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            for node in yaml.compose_all(text, Loader=loader):
                if node is None:
                    continue
                obj = yaml.load(yaml.serialize(node), Loader=loader)  # noqa: S506 - safe loader
                if not isinstance(obj, dict):
                    continue
                kind_line = next((k.start_mark.line + 1 for k, _ in node.value
                                  if getattr(k, "value", None) == "kind"), node.start_mark.line + 1) \
                    if isinstance(node, yaml.MappingNode) else node.start_mark.line + 1
                for item in obj.get("items", ()) if str(obj.get("kind", "")).endswith("List") else (obj,):
                    if isinstance(item, dict):
                        objects.append(item)
                        placed[id(item)] = Placed(rel, kind_line)
        forbidden = frozenset((str(f.get("resource")), f.get("namespace")) for f in settings.get("forbidden", ())
                              if isinstance(f, dict))
        return cls(objects, str(settings.get("context", "fixture")), frozenset(settings.get("groups", ())),
                   forbidden, frozenset(settings.get("unavailable", ())),
                   str(settings["now"]) if settings.get("now") else None, placed, cluster_line)

    @property
    def context(self) -> str:
        return safe_label(self.label)

    def close(self) -> None:
        return None

    def server_version(self) -> str:
        return "v1.20.2-fixture"

    def _groups(self) -> dict[str, set[str]]:
        groups: dict[str, set[str]] = {g: set(v) for g, v in _BUILTIN_GROUPS.items()}
        for obj in self.objects:
            group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
            if group:
                groups.setdefault(group, set()).add(version)
            if obj.get("kind") == "CustomResourceDefinition":
                spec = obj.get("spec") or {}
                for v in spec.get("versions") or ():
                    if isinstance(v, dict) and v.get("served", True):
                        groups.setdefault(str(spec.get("group")), set()).add(str(v.get("name")))
        for name in self.extra_groups:
            group, _, version = name.partition("/")
            groups.setdefault(group, set()).add(version or "v1")
        return groups

    def api_groups(self) -> dict[str, tuple[str, ...]]:
        self.requests += 1
        return {g: tuple(sorted(v, reverse=True)) for g, v in self._groups().items()}

    def api_resources(self, group: str, version: str) -> frozenset[str]:
        self.requests += 1
        if version not in self._groups().get(group, set()) and group:
            raise NotFound(f"GET /apis/{group}/{version}: not found")
        from auditor.cluster.resources import ALL

        return frozenset(r.plural for r in ALL if r.group == group)

    def list(self, resource: Resource, version: str, namespace: str | None = None, *, metadata_only: bool = False,
             field_selector: str | None = None, label_selector: str | None = None) -> Iterator[Obj]:
        self.requests += 1
        if resource.display in self.unavailable:
            raise Unavailable(f"GET {resource.path(version, namespace)}: timed out")
        if (resource.display, namespace) in self.forbidden or (resource.display, "*") in self.forbidden:
            raise Forbidden("list", resource.display, namespace, resource.group)
        type_filter = field_selector.partition("type=")[2] if field_selector else None
        for obj in self.objects:
            if obj.get("kind") != resource.kind:
                continue
            if str(obj.get("apiVersion", "")).rpartition("/")[0] != resource.group:
                continue  # any version of the group: the server converts between served versions
            meta = obj.get("metadata") or {}
            if namespace is not None and resource.namespaced and meta.get("namespace") != namespace:
                continue
            if type_filter is not None and obj.get("type", "Opaque") != type_filter:
                continue
            if label_selector and not labels_match(meta.get("labels"), label_selector):
                continue
            if metadata_only:
                yield {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": dict(meta)}
            else:
                yield obj

    def where(self) -> dict[str, Placed]:
        """Location path (``<context>/<namespace>/<Kind>/<name>``) -> where that object was read."""
        from auditor.cluster.model import object_path

        out: dict[str, Placed] = {}
        for obj in self.objects:
            at = self.placed.get(id(obj))
            if at is not None:
                out.setdefault(object_path(self.context, obj), at)
        if self.cluster_line is not None:
            out[self.context] = self.cluster_line
        return out


def labels_match(labels: Any, selector: str) -> bool:
    """Whether ``labels`` satisfy an equality-based label selector (``a``, ``!a``, ``a=x``, ``a==x``, ``a!=x``)."""
    have = labels if isinstance(labels, dict) else {}
    for requirement in (r.strip() for r in selector.split(",")):
        if not requirement:
            continue
        if requirement.startswith("!"):
            ok = requirement[1:].strip() not in have
        elif "!=" in requirement:
            key, _, value = requirement.partition("!=")
            ok = have.get(key.strip()) != value.strip()
        elif "=" in requirement:
            key, _, value = requirement.partition("=")
            ok = key.strip() in have and str(have[key.strip()]) == value.lstrip("=").strip()
        else:
            ok = requirement in have
        if not ok:
            return False
    return True


def _key_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return number
    return None
