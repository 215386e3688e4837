"""Who may do what, checked against the stack's own policies: principal x action x resource.

The expected answer of every cell comes from the trust model below (``expected``), written without
looking at the policies; the actual answer comes from moto with IAM enforced where moto decides like
AWS (S3 object ARNs; ECR's immutable tags) and from AWS's documented policy evaluation
(tests/iam_policy.py) everywhere else. Any difference fails, an unexpected allow first.
docs/security.md shows the matrix this test produces (SPIRAL_UPDATE_DOCS=1 rewrites it).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import iam_policy
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from conftest import running_moto
from helpers import ROOT, render

from spiralkit.workstation import profile
from spiralkit.workstation.settings import DEFAULTS, Settings

PROJECT, BUCKET, REPOSITORY, QUEUE = "churn-model", "acme-churn-data", "churn-model", "churn-model-queue"
DOC = ROOT / "docs" / "security.md"
START, END = "<!-- security-matrix:start -->", "<!-- security-matrix:end -->"
A, B = "ana", "bo"
ACCOUNT, REGION = iam_policy.ACCOUNT, iam_policy.REGION


@dataclass(frozen=True)
class Principal:
    """Someone or something holding credentials, with the policies the stack (or spiralkit) gives it."""

    name: str
    arn: str
    policies: list[dict[str, Any]]
    person: str = ""  # the spiral-user principal tag, for people and their workstations
    writes: frozenset[str] = field(default_factory=frozenset)  # namespaces it may write (trust model)

    def context(self) -> dict[str, str]:
        values = {"aws:PrincipalArn": self.arn, "aws:SecureTransport": "true", "aws:username": self.name}
        if self.person:
            values["aws:PrincipalTag/spiral-user"] = self.person
        return values


# ---- the stack, rendered and resolved ------------------------------------------------------------


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from cfnlint.decode import decode

    project = render(
        tmp_path_factory.mktemp("security") / PROJECT,
        {"s3_bucket": BUCKET, "github_repository": "acme/churn-model"},
        skip_tasks=True,
    )
    decoded, errors = decode(str(project / "infra" / "stack.yaml"))
    assert not errors
    assert decoded is not None
    return dict(decoded)


def workstation_policy(owner: str) -> dict[str, Any]:
    values = {
        key: DEFAULTS[key] for key in ("instance_type", "idle_minutes", "max_hours", "cpu_threshold", "gpu_threshold")
    }
    settings = Settings(
        project=PROJECT,
        region=REGION,
        owner=owner,
        bucket=BUCKET,
        ecr_repository=REPOSITORY,
        gpu=False,
        ami_parameter="",
        image_tag="workstation",
        root_gib=60,
        home_gib=100,
        cost_centre=PROJECT,
        subnet_id="",
        instance_profile=profile_name(owner),
        **values,
    )
    return profile.policy(settings, ACCOUNT)


def profile_name(owner: str) -> str:
    return f"spiral-ws-{PROJECT}-{owner}"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


@pytest.fixture(scope="module")
def principals(template: dict[str, Any]) -> list[Principal]:
    docs = iam_policy.documents
    return [
        Principal("person-ana", f"arn:aws:iam::{ACCOUNT}:user/ana", docs(template, "PersonPolicy"), A, frozenset({A})),
        Principal("person-bo", f"arn:aws:iam::{ACCOUNT}:user/bo", docs(template, "PersonPolicy"), B, frozenset({B})),
        Principal("workstation-ana", role_arn(profile_name(A)), [workstation_policy(A)], A, frozenset({A})),
        Principal(
            "branch-ci", role_arn(f"{PROJECT}-ci-branch"), docs(template, "BranchCiRole"), "", frozenset({"test"})
        ),
        Principal("prod-ci", role_arn(f"{PROJECT}-ci-prod"), docs(template, "ProdCiRole"), "", frozenset({"prod"})),
        Principal(
            "branch-job", role_arn(f"{PROJECT}-batch-job"), docs(template, "JobRole"), "", frozenset({"test", "user"})
        ),
        Principal(
            "prod-job", role_arn(f"{PROJECT}-batch-job-prod"), docs(template, "ProdJobRole"), "", frozenset({"prod"})
        ),
    ]


# ---- the trust model: what each principal should be able to do -----------------------------------


def namespace_of(key: str) -> str | None:
    """The namespace folder a key is literally under (S3 keys are strings: no ``..`` resolution)."""
    parts = key.split("/")
    if parts[0] == "published" and len(parts) > 2:
        return parts[1]
    if parts[:1] == ["spiral"] and len(parts) > 3 and parts[1] in {"runs", "index"}:
        return parts[2]
    return None


def may_write_namespace(principal: Principal, namespace: str | None) -> bool:
    if namespace is None:
        return False
    if namespace == "prod":
        return "prod" in principal.writes
    kind, _, rest = namespace.partition(".")
    if not rest or kind not in {"user", "test"}:
        return False
    return kind in principal.writes or (kind == "user" and rest in principal.writes)


def expected_s3(principal: Principal, verb: str, key: str) -> bool:
    if verb == "get":
        if principal.name == "workstation-ana":  # least privilege: its person's data, prod's, the remote
            return key.startswith("dvc/") or namespace_of(key) in {f"user.{A}", "prod"}
        return True
    if key.startswith("dvc/"):
        return verb == "put" or principal.name == "prod-ci"  # only prod CI collects garbage
    if verb == "delete" and not key.startswith("published/"):
        return False  # run records and the index are written once
    return may_write_namespace(principal, namespace_of(key))


KEYS = [
    "dvc/files/md5/ab/cdef0123456789",
    "published/prod/predictions.parquet",
    "spiral/runs/prod/r1/record.json",
    "spiral/index/prod/k1.json",
    "published/test.feature-x-1a2b3c/predictions.parquet",
    "spiral/runs/test.feature-x-1a2b3c/r1/record.json",
    f"published/user.{A}/predictions.parquet",
    f"spiral/index/user.{A}/k1.json",
    f"published/user.{B}/predictions.parquet",
    # path tricks: each is a literal key; none may land in prod or in someone else's folder
    f"published/user.{A}/../prod/predictions.parquet",
    f"published/user.{A}-evil/predictions.parquet",
    "published//prod/predictions.parquet",
    "published/PROD/predictions.parquet",
    "published/prod%2Fpredictions.parquet",
    "spiral/runs/test.x/../prod/r1/record.json",
    "spiral/runs/prod/../../index/prod/k2.json",
]


# ---- moto with IAM enforced ----------------------------------------------------------------------

SETUP_CALLS = 3  # create the admin user, its policy and its key unauthenticated; then IAM applies


@pytest.fixture(scope="module")
def enforcing_moto() -> Iterator[str]:
    """A moto server of its own (not the shared one) that checks every request against IAM."""
    with running_moto({"INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_CALLS)}) as url:
        yield url


def _client(url: str, service: str, key: Mapping[str, str]) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=Config(retries={"max_attempts": 1}),
    )


def _substituted(document: Any, context: Mapping[str, str]) -> Any:
    """moto does not fill in policy variables: do what IAM does, for this one principal."""
    if isinstance(document, dict):
        return {key: _substituted(value, context) for key, value in document.items()}
    if isinstance(document, list):
        return [_substituted(value, context) for value in document]
    return iam_policy.substitute(document, context) if isinstance(document, str) else document


@pytest.fixture(scope="module")
def moto_clients(enforcing_moto: str, principals: list[Principal]) -> dict[str, Callable[[str], Any]]:
    """An admin client maker, and one per principal: an IAM user holding that principal's policies."""
    bootstrap = _client(enforcing_moto, "iam", {"AccessKeyId": "boot", "SecretAccessKey": "boot"})
    bootstrap.create_user(UserName="admin")
    bootstrap.put_user_policy(
        UserName="admin",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    admin_key = bootstrap.create_access_key(UserName="admin")["AccessKey"]
    iam = _client(enforcing_moto, "iam", admin_key)
    makers: dict[str, Callable[[str], Any]] = {"admin": lambda service: _client(enforcing_moto, service, admin_key)}
    for principal in principals:
        iam.create_user(UserName=principal.name)
        for number, document in enumerate(principal.policies):
            iam.put_user_policy(
                UserName=principal.name,
                PolicyName=f"p{number}",
                PolicyDocument=json.dumps(_substituted(document, principal.context())),
            )
        key = iam.create_access_key(UserName=principal.name)["AccessKey"]
        makers[principal.name] = lambda service, key=key: _client(enforcing_moto, service, key)
    return makers


def _moto_s3(s3: Any, verb: str, key: str, writer: str) -> bool:
    try:
        if verb == "put":
            s3.put_object(Bucket=BUCKET, Key=key, Body=writer.encode())
        elif verb == "get":
            s3.get_object(Bucket=BUCKET, Key=key)
        else:
            s3.delete_object(Bucket=BUCKET, Key=key)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in {"NoSuchKey", "404"}:
            return True  # authorised, just absent
        assert code == "AccessDenied", f"{verb} {key}: {code}"
        return False
    return True


# ---- the matrix ----------------------------------------------------------------------------------


@dataclass
class Row:
    action: str
    resource: str
    checked_by: str
    cells: dict[str, bool]


def s3_rows(principals: list[Principal], clients: Mapping[str, Callable[[str], Any]], bucket_policy: Any) -> list[Row]:
    rows = []
    for verb, keys in (("put", KEYS), ("get", KEYS[:3] + KEYS[6:9]), ("delete", KEYS[:9])):
        for key in keys:
            cells = {}
            for principal in principals:
                resource = {f"arn:aws:s3:::{BUCKET}/{key}": {}}
                action = {"put": "s3:PutObject", "get": "s3:GetObject", "delete": "s3:DeleteObject"}[verb]
                identity_only = iam_policy.allowed(principal.policies, action, resource, principal.context())
                on_moto = _moto_s3(clients[principal.name]("s3"), verb, key, principal.name)
                assert on_moto == identity_only, (
                    f"moto and the evaluator disagree on {principal.name} {verb} {key}: moto {on_moto}"
                )
                cells[principal.name] = iam_policy.allowed(
                    principal.policies, action, resource, principal.context(), [bucket_policy]
                )
            rows.append(Row(f"s3 {verb}", key, "moto + bucket policy", cells))
    return rows


def _batch(kind: str, name: str) -> str:
    return f"arn:aws:batch:{REGION}:{ACCOUNT}:{kind}/{name}"


def _ec2(kind: str, name: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:{kind}/{name}"


def own_namespace(principal: Principal) -> str:
    if principal.person:
        return f"user.{principal.person}"
    return "prod" if "prod" in principal.writes else "test.feature-x-1a2b3c"


@dataclass(frozen=True)
class Case:
    """One non-S3 action, its resources (each with its own tags) and the trust model's answer."""

    action: str
    label: str
    resources: Callable[[Principal], dict[str, dict[str, str]]]
    request: Callable[[Principal], dict[str, str]]
    expected: Callable[[Principal], bool]


def _is(*names: str) -> Callable[[Principal], bool]:
    return lambda p: p.name in names


def _job(namespace: str) -> Callable[[Principal], dict[str, dict[str, str]]]:
    return lambda p: {_batch("job", "j1"): {"aws:ResourceTag/spiral:namespace": namespace}}


def _submit(definition: str) -> Callable[[Principal], dict[str, dict[str, str]]]:
    return lambda p: {_batch("job-definition", f"{definition}:3"): {}, _batch("job-queue", QUEUE): {}}


def _tagged(namespace: str | None) -> Callable[[Principal], dict[str, str]]:
    def tags(p: Principal) -> dict[str, str]:
        return {"aws:RequestTag/spiral:namespace": namespace or own_namespace(p)}

    return tags


def _attach(volume_owner: str, encrypted: bool) -> Callable[[Principal], dict[str, dict[str, str]]]:
    return lambda p: {
        _ec2("instance", "i-ana"): {"aws:ResourceTag/spiral:owner": A},
        _ec2("volume", "vol-home"): {
            "aws:ResourceTag/spiral:owner": volume_owner,
            "ec2:Encrypted": str(encrypted).lower(),
        },
    }


NO_REQUEST: Callable[[Principal], dict[str, str]] = lambda p: {}  # noqa: E731
PEOPLE = ("person-ana", "person-bo")
CASES = [
    Case(
        "batch:SubmitJob", f"{PROJECT}-prod, tagged prod", _submit(f"{PROJECT}-prod"), _tagged("prod"), _is("prod-ci")
    ),
    Case(
        "batch:SubmitJob",
        f"{PROJECT}-prod, tagged own namespace",
        _submit(f"{PROJECT}-prod"),
        _tagged(None),
        _is("prod-ci"),
    ),
    Case("batch:SubmitJob", f"{PROJECT}-dev, tagged prod", _submit(f"{PROJECT}-dev"), _tagged("prod"), _is()),
    Case(
        "batch:SubmitJob",
        f"{PROJECT}-dev, tagged own namespace",
        _submit(f"{PROJECT}-dev"),
        _tagged(None),
        _is("branch-ci", *PEOPLE),
    ),
    Case(
        "batch:SubmitJob",
        f"{PROJECT}-dev, tagged user.{A}",
        _submit(f"{PROJECT}-dev"),
        _tagged(f"user.{A}"),
        _is("person-ana"),
    ),
    Case("batch:SubmitJob", f"{PROJECT}-dev, untagged", _submit(f"{PROJECT}-dev"), NO_REQUEST, _is()),
    Case(
        "batch:RegisterJobDefinition",
        f"{PROJECT}-prod",
        lambda p: {_batch("job-definition", f"{PROJECT}-prod"): {}},
        NO_REQUEST,
        _is("prod-ci"),
    ),
    Case(
        "batch:RegisterJobDefinition",
        f"{PROJECT}-dev",
        lambda p: {_batch("job-definition", f"{PROJECT}-dev"): {}},
        NO_REQUEST,
        _is("branch-ci", *PEOPLE),
    ),
    Case("batch:TerminateJob", "job tagged prod", _job("prod"), NO_REQUEST, _is("prod-ci")),
    Case(
        "batch:TerminateJob",
        "job tagged test.feature-x-1a2b3c",
        _job("test.feature-x-1a2b3c"),
        NO_REQUEST,
        _is("branch-ci"),
    ),
    Case("batch:TerminateJob", f"job tagged user.{A}", _job(f"user.{A}"), NO_REQUEST, _is("person-ana")),
    Case("batch:TerminateJob", "untagged job", lambda p: {_batch("job", "j1"): {}}, NO_REQUEST, _is()),
    Case("batch:TagResource", "existing job tagged prod (retag it)", _job("prod"), NO_REQUEST, _is()),
    Case(
        "iam:PassRole",
        f"{PROJECT}-batch-job-prod",
        lambda p: {role_arn(f"{PROJECT}-batch-job-prod"): {}},
        NO_REQUEST,
        _is("prod-ci"),
    ),
    Case(
        "iam:PassRole",
        f"{PROJECT}-batch-job",
        lambda p: {role_arn(f"{PROJECT}-batch-job"): {}},
        NO_REQUEST,
        _is("branch-ci", *PEOPLE),
    ),
    Case(
        "iam:PassRole",
        profile_name(A),
        lambda p: {role_arn(profile_name(A)): {}},
        lambda p: {"iam:PassedToService": "ec2.amazonaws.com"},
        _is("person-ana"),
    ),
    Case(
        "ecr:PutImage",
        REPOSITORY,
        lambda p: {f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{REPOSITORY}": {}},
        NO_REQUEST,
        _is("branch-ci", "prod-ci"),
    ),
    Case(
        "ec2:AttachVolume", f"encrypted home of {A} to {A}'s instance", _attach(A, True), NO_REQUEST, _is("person-ana")
    ),
    Case("ec2:AttachVolume", f"unencrypted volume tagged {A}", _attach(A, False), NO_REQUEST, _is()),
    Case("ec2:AttachVolume", f"home of {B} to {A}'s instance", _attach(B, True), NO_REQUEST, _is()),
    Case(
        "ec2:CreateVolume",
        f"tagged spiral:owner={A}",
        lambda p: {_ec2("volume", "*"): {}},
        lambda p: {"aws:RequestTag/spiral:owner": A},
        _is("person-ana"),
    ),
    Case(
        "ec2:CreateTags",
        f"existing volume, spiral:owner={A}",
        lambda p: {_ec2("volume", "vol-1"): {}},
        lambda p: {"aws:RequestTag/spiral:owner": A},
        _is(),
    ),
    Case(
        "ec2:TerminateInstances",
        f"{A}'s workstation",
        lambda p: {_ec2("instance", "i-ana"): {"aws:ResourceTag/spiral:owner": A}},
        NO_REQUEST,
        _is("person-ana"),
    ),
    Case(
        "ssm:StartSession",
        f"{A}'s workstation",
        lambda p: {_ec2("instance", "i-ana"): {"ssm:resourceTag/spiral:owner": A}},
        NO_REQUEST,
        _is("person-ana"),
    ),
]


# A follower moves work Spot had no capacity for to the queue's on-demand twin (spiralkit.batch.fallback)
# with the run's own job definition and tags: the twin must take what the Spot queue takes, and no more.
ON_DEMAND = f"{QUEUE}-on-demand"


def _on(queue: str, definition: str) -> Callable[[Principal], dict[str, dict[str, str]]]:
    return lambda p: {_batch("job-definition", f"{definition}:3"): {}, _batch("job-queue", queue): {}}


FALLBACK_CASES = [
    Case("batch:SubmitJob", f"{ON_DEMAND}, {PROJECT}-dev, tagged own namespace", _on(ON_DEMAND, f"{PROJECT}-dev"),
         _tagged(None), _is("branch-ci", *PEOPLE)),
    Case("batch:SubmitJob", f"{ON_DEMAND}, {PROJECT}-prod, tagged prod", _on(ON_DEMAND, f"{PROJECT}-prod"),
         _tagged("prod"), _is("prod-ci")),
    # a branch principal following a prod run (CI's prod runs are followed by follow-prod, as prod): refused
    Case("batch:SubmitJob", f"{ON_DEMAND}, {PROJECT}-prod, tagged own namespace", _on(ON_DEMAND, f"{PROJECT}-prod"),
         _tagged(None), _is("prod-ci")),
    Case("batch:SubmitJob", f"{ON_DEMAND}, {PROJECT}-dev, tagged prod", _on(ON_DEMAND, f"{PROJECT}-dev"),
         _tagged("prod"), _is()),
    Case("batch:SubmitJob", "another stack's on-demand queue", _on("other-queue-on-demand", f"{PROJECT}-dev"),
         _tagged(None), _is()),
]  # fmt: skip


def test_a_fallback_to_on_demand_is_allowed_exactly_where_the_spot_submission_was(principals: list[Principal]) -> None:
    for case in FALLBACK_CASES:
        for principal in principals:
            context = {**principal.context(), **case.request(principal)}
            allowed = iam_policy.allowed(principal.policies, case.action, case.resources(principal), context)
            assert allowed == case.expected(principal), f"{case.action} {case.label} / {principal.name}: {allowed}"
    for principal in principals:
        for definition in (f"{PROJECT}-dev", f"{PROJECT}-prod"):
            context = {**principal.context(), **_tagged(None)(principal)}
            spot, twin = (
                iam_policy.allowed(principal.policies, "batch:SubmitJob", _on(queue, definition)(principal), context)
                for queue in (QUEUE, ON_DEMAND)
            )
            assert spot == twin, f"{principal.name} with {definition}: Spot {spot}, on-demand {twin}"


def evaluated_rows(principals: list[Principal]) -> tuple[list[Row], dict[str, bool]]:
    rows, expected = [], {}
    for case in CASES:
        cells = {}
        for principal in principals:
            context = {**principal.context(), **case.request(principal)}
            cells[principal.name] = iam_policy.allowed(
                principal.policies, case.action, case.resources(principal), context
            )
            expected[f"{case.action} {case.label} / {principal.name}"] = case.expected(principal)
        rows.append(Row(case.action, case.label, "policy evaluation", cells))
    return rows, expected


def immutable_tag_row(
    template: dict[str, Any], clients: Mapping[str, Callable[[str], Any]], principals: list[Principal]
) -> Row:
    """ECR refuses a second push of a tag, whoever pushes: moto enforces the stack's setting."""
    properties = template["Resources"]["Repository"]["Properties"]
    ecr = clients["admin"]("ecr")
    ecr.create_repository(
        repositoryName=REPOSITORY,
        imageTagMutability=properties["ImageTagMutability"],
        imageScanningConfiguration={"scanOnPush": properties["ImageScanningConfiguration"]["ScanOnPush"]},
    )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": "sha256:%s"},
            "layers": [],
        }
    )
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest % ("1" * 64), imageTag="abc123")
    with pytest.raises(ClientError) as refused:
        ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest % ("2" * 64), imageTag="abc123")
    # AWS answers ImageTagAlreadyExistsException; moto 5 names it ImageAlreadyExistsException
    assert refused.value.response["Error"]["Code"] in {"ImageTagAlreadyExistsException", "ImageAlreadyExistsException"}
    (image,) = ecr.describe_images(repositoryName=REPOSITORY, imageIds=[{"imageTag": "abc123"}])["imageDetails"]
    first = ecr.batch_get_image(repositoryName=REPOSITORY, imageIds=[{"imageTag": "abc123"}])["images"][0]
    assert ("1" * 64) in first["imageManifest"], "the tag was moved"
    assert image["imageDigest"] == first["imageId"]["imageDigest"]
    return Row("ecr:PutImage", "over an existing tag", "moto (ECR immutability)", {p.name: False for p in principals})


def markdown(rows: list[Row], principals: list[Principal]) -> str:
    names = [p.name for p in principals]
    lines = [
        "| action | resource | " + " | ".join(names) + " | checked by |",
        "| --- | --- | " + " | ".join(":-:" for _ in names) + " | --- |",
    ]
    for row in rows:
        marks = " | ".join("**allow**" if row.cells[name] else "deny" for name in names)
        lines.append(f"| {row.action} | `{row.resource}` | {marks} | {row.checked_by} |")
    return "\n".join(lines)


def test_security_matrix(
    template: dict[str, Any], principals: list[Principal], moto_clients: dict[str, Callable[[str], Any]]
) -> None:
    admin_s3 = moto_clients["admin"]("s3")
    admin_s3.create_bucket(Bucket=BUCKET)
    admin_s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    admin_s3.put_object(Bucket=BUCKET, Key="published/prod/predictions.parquet", Body=b"prod")
    (bucket_policy,) = iam_policy.documents(template, "BucketPolicy")

    rows = s3_rows(principals, moto_clients, bucket_policy)
    evaluated, expected = evaluated_rows(principals)
    rows += [*evaluated, immutable_tag_row(template, moto_clients, principals)]

    for row in rows[: len(rows) - len(evaluated) - 1]:
        verb = row.action.removeprefix("s3 ")
        for principal in principals:
            expected[f"{row.action} {row.resource} / {principal.name}"] = expected_s3(principal, verb, row.resource)
    actual = {f"{row.action} {row.resource} / {name}": allow for row in rows for name, allow in row.cells.items()}
    unexpected_allows = sorted(cell for cell, allow in actual.items() if allow and not expected.get(cell, False))
    unexpected_denies = sorted(cell for cell in expected if expected[cell] and not actual[cell])
    assert not unexpected_allows, "unexpected allow:\n" + "\n".join(unexpected_allows)
    assert not unexpected_denies, "unexpected deny:\n" + "\n".join(unexpected_denies)
    # Every version ever stored under a prod folder was written by a prod principal: no path trick
    # above landed there (each object's body names its writer).
    writers = set()
    for prefix in ("published/prod/", "spiral/runs/prod/", "spiral/index/prod/"):
        for version in admin_s3.list_object_versions(Bucket=BUCKET, Prefix=prefix).get("Versions", []):
            body = admin_s3.get_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])["Body"]
            writers.add(body.read().decode())
    assert writers == {"prod", "prod-ci", "prod-job"}, writers

    table = markdown(rows, principals)
    text = DOC.read_text(encoding="utf-8")
    before, rest = text.split(START)
    _, after = rest.split(END)
    produced = f"{before}{START}\n{table}\n{END}{after}"
    if os.environ.get("SPIRAL_UPDATE_DOCS") == "1":
        DOC.write_text(produced, encoding="utf-8")
    assert produced == text, "docs/security.md is not the matrix this test produces: rerun with SPIRAL_UPDATE_DOCS=1"


def test_the_evaluator_denies_what_it_does_not_understand() -> None:
    """A statement whose variable cannot be filled in matches nothing, as in AWS."""
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::b/user.${aws:PrincipalTag/spiral-user}/*",
            }
        ]
    }
    resource = {"arn:aws:s3:::b/user.ana/x": {}}
    assert iam_policy.allowed([policy], "s3:PutObject", resource, {"aws:PrincipalTag/spiral-user": "ana"})
    assert not iam_policy.allowed([policy], "s3:PutObject", resource, {})
    assert not iam_policy.allowed([policy], "s3:PutObject", resource, {"aws:PrincipalTag/spiral-user": "bo"})


def test_only_prod_roles_are_exempt_from_the_bucket_policy(template: dict[str, Any]) -> None:
    """An administrator with s3:* still cannot write prod's prefixes: the bucket policy denies it."""
    (bucket_policy,) = iam_policy.documents(template, "BucketPolicy")
    everything = [{"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}]
    admin = {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/admin", "aws:SecureTransport": "true"}
    prod_job = {**admin, "aws:PrincipalArn": role_arn(f"{PROJECT}-batch-job-prod")}
    for key in ("published/prod/x", "spiral/runs/prod/r/x", "spiral/index/prod/k.json"):
        resource = {f"arn:aws:s3:::{BUCKET}/{key}": {}}
        assert not iam_policy.allowed(everything, "s3:PutObject", resource, admin, [bucket_policy])
        assert iam_policy.allowed(everything, "s3:PutObject", resource, prod_job, [bucket_policy])
    plain_http = {**prod_job, "aws:SecureTransport": "false"}
    resource = {f"arn:aws:s3:::{BUCKET}/published/prod/x": {}}
    assert not iam_policy.allowed(everything, "s3:GetObject", resource, plain_http, [bucket_policy])


@pytest.mark.slow
def test_checkov_finds_nothing_unjustified(tmp_path: Path) -> None:
    """checkov on the rendered stack: clean, with each skipped check justified beside its resource."""
    import shutil

    command = ["checkov"] if shutil.which("checkov") else ["uvx", "--quiet", "checkov"] if shutil.which("uvx") else []
    if not command:
        pytest.skip("neither checkov nor uvx is installed")
    project = render(
        tmp_path / PROJECT, {"s3_bucket": BUCKET, "github_repository": "acme/churn-model"}, skip_tasks=True
    )
    result = subprocess.run(
        [*command, "--quiet", "--compact", "--skip-download", "-f", str(project / "infra" / "stack.yaml")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed checks: 0" in result.stdout
