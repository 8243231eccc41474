"""The API resources the audit reads, and which rules each one feeds (for diagnostics and deploy/README.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Resource:
    group: str  # "" for the core group
    plural: str
    kind: str
    namespaced: bool
    versions: tuple[str, ...]  # candidates, preferred first; discovery picks the first one served
    rules: tuple[str, ...]  # rules that miss objects when this resource cannot be read

    @property
    def display(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, version: str, namespace: str | None = None) -> str:
        base = f"/api/{version}" if not self.group else f"/apis/{self.group}/{version}"
        if namespace is not None and self.namespaced:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


_WORKLOAD_RULES = ("K8S-01", "K8S-02", "K8S-07")  # K8S-07: CSI-synced Secrets read into env vars
_SECRET_RULES = ("K8S-03", "K8S-04", "K8S-05", "K8S-07", "K8S-08", "K8S-09", "ENV-04")

NAMESPACES = Resource("", "namespaces", "Namespace", False, ("v1",), ("ENV-04",))
SECRETS = Resource("", "secrets", "Secret", True, ("v1",), _SECRET_RULES)
PODS = Resource("", "pods", "Pod", True, ("v1",), (*_WORKLOAD_RULES, "K8S-04"))
REPLICATION_CONTROLLERS = Resource("", "replicationcontrollers", "ReplicationController", True, ("v1",),
                                   _WORKLOAD_RULES)
DEPLOYMENTS = Resource("apps", "deployments", "Deployment", True, ("v1",), (*_WORKLOAD_RULES, "K8S-08"))
STATEFULSETS = Resource("apps", "statefulsets", "StatefulSet", True, ("v1",), _WORKLOAD_RULES)
DAEMONSETS = Resource("apps", "daemonsets", "DaemonSet", True, ("v1",), _WORKLOAD_RULES)  # K8S-07: the CSI driver
REPLICASETS = Resource("apps", "replicasets", "ReplicaSet", True, ("v1",), _WORKLOAD_RULES)
JOBS = Resource("batch", "jobs", "Job", True, ("v1",), _WORKLOAD_RULES)
CRONJOBS = Resource("batch", "cronjobs", "CronJob", True, ("v1", "v1beta1"), _WORKLOAD_RULES)
ROLES = Resource("rbac.authorization.k8s.io", "roles", "Role", True, ("v1",), ("K8S-10",))
ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", True, ("v1",), ("K8S-10",))
CLUSTER_ROLES = Resource("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", False, ("v1",), ("K8S-10",))
CLUSTER_ROLE_BINDINGS = Resource("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", False,
                                 ("v1",), ("K8S-10",))
MUTATING_WEBHOOKS = Resource("admissionregistration.k8s.io", "mutatingwebhookconfigurations",
                             "MutatingWebhookConfiguration", False, ("v1", "v1beta1"), ("K8S-04",))
EXTERNAL_SECRETS = Resource("external-secrets.io", "externalsecrets", "ExternalSecret", True, ("v1", "v1beta1"),
                            ("K8S-06",))
SECRET_STORES = Resource("external-secrets.io", "secretstores", "SecretStore", True, ("v1", "v1beta1"), ())
CLUSTER_SECRET_STORES = Resource("external-secrets.io", "clustersecretstores", "ClusterSecretStore", False,
                                 ("v1", "v1beta1"), ())
SEALED_SECRETS = Resource("bitnami.com", "sealedsecrets", "SealedSecret", True, ("v1alpha1",), ())
SECRET_PROVIDER_CLASSES = Resource("secrets-store.csi.x-k8s.io", "secretproviderclasses", "SecretProviderClass", True,
                                   ("v1", "v1alpha1"), ("K8S-07",))
FLUX_KUSTOMIZATIONS = Resource("kustomize.toolkit.fluxcd.io", "kustomizations", "Kustomization", True,
                               ("v1", "v1beta2", "v1beta1"), ("K8S-03", "K8S-04"))

# Listed in this order: owners before what they own, so a child is recognised as covered by its controller.
WORKLOADS = (CRONJOBS, DEPLOYMENTS, STATEFULSETS, DAEMONSETS, REPLICATION_CONTROLLERS, JOBS, REPLICASETS)
RBAC = (CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ROLES, ROLE_BINDINGS)
STORES = (EXTERNAL_SECRETS, SECRET_STORES, CLUSTER_SECRET_STORES, SEALED_SECRETS, SECRET_PROVIDER_CLASSES)
ALL = (NAMESPACES, *WORKLOADS, PODS, SECRETS, *RBAC, MUTATING_WEBHOOKS, *STORES, FLUX_KUSTOMIZATIONS)

# The Sealed Secrets controller's private keys: listed as metadata only (K8S-08 needs their age, never their
# values), and excluded from the listing that reads values.
SEALING_KEY_LABEL = "sealedsecrets.bitnami.com/sealed-secrets-key"
SEALING_KEYS_SELECTOR = SEALING_KEY_LABEL
NOT_SEALING_KEYS_SELECTOR = f"!{SEALING_KEY_LABEL}"

# Secret types listed by field selector in a metadata-only audit (metadata does not carry `type`).
METADATA_TYPES = ("kubernetes.io/service-account-token", "helm.sh/release.v1", "bootstrap.kubernetes.io/token",
                  "kubernetes.io/tls")
