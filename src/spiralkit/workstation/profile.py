"""Each person's instance profile, made once by a platform engineer (``spiral workstation grant``).

Data scientists never need IAM write access: whoever may create roles may give themselves any
permission. The role lets the instance register with Session Manager, pull the project's image,
read and write its owner's ``user.<name>`` namespace (outputs, run records, index), read ``prod``
and use the DVC remote.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from spiralkit.workstation.settings import Settings

# Where a namespace's files live in the bucket: published outputs, run records, the reuse index.
NAMESPACE_FOLDERS = ("published", "spiral/runs", "spiral/index")

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def policy(settings: Settings, account: str) -> dict[str, Any]:
    """Least privilege for one person's workstation: their namespace, never anyone else's."""
    arn = boto3.session.Session().get_partition_for_region(settings.region)
    repository = f"arn:{arn}:ecr:{settings.region}:{account}:repository/{settings.ecr_repository}"
    statements: list[dict[str, Any]] = [
        {
            # Session Manager's documented minimum; AmazonSSMManagedInstanceCore would also let the
            # instance read every SSM parameter in the account.
            "Sid": "SessionManager",
            "Effect": "Allow",
            "Action": [
                "ssm:UpdateInstanceInformation",
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            "Resource": "*",
        },
        {
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "PullProjectImages",
            "Effect": "Allow",
            "Action": [
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchCheckLayerAvailability",
            ],
            "Resource": repository,
        },
    ]
    if settings.bucket:
        bucket = f"arn:{arn}:s3:::{settings.bucket}"
        own = [f"{folder}/user.{settings.owner}" for folder in NAMESPACE_FOLDERS]
        prod = [f"{folder}/prod" for folder in NAMESPACE_FOLDERS]
        statements += [
            {
                "Sid": "OwnNamespaceReadWrite",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [f"{bucket}/{folder}/*" for folder in own],
            },
            {
                # Run records and the reuse index are written once; published outputs are replaced.
                "Sid": "OwnPublishedReplace",
                "Effect": "Allow",
                "Action": "s3:DeleteObject",
                "Resource": f"{bucket}/published/user.{settings.owner}/*",
            },
            {
                "Sid": "ProdReadOnly",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": [f"{bucket}/{folder}/*" for folder in prod],
            },
            {
                # DVC's remote is content-addressed and prod checks each hash on download, so a
                # write cannot change what prod runs; deleting (`dvc gc --cloud`) is left to prod CI.
                "Sid": "DvcRemoteReadWrite",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"{bucket}/dvc/*",
            },
            {
                "Sid": "ListWhatMayBeRead",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket,
                "Condition": {"StringLike": {"s3:prefix": [f"{folder}/*" for folder in [*own, *prod, "dvc"]]}},
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def grant(iam: Any, sts: Any, settings: Settings) -> str:
    """Create (or bring up to date) the role and instance profile of ``settings.owner``."""
    name = settings.instance_profile
    tags = [t for t in settings.tags("profile") if t["Key"] != "Name"]
    if not _exists(iam.get_role, RoleName=name):
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(TRUST),
            Tags=tags,
            Description=f"spiral workstation of {settings.owner} on {settings.project}",
        )
    account = sts.get_caller_identity()["Account"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="spiral-workstation",
        PolicyDocument=json.dumps(policy(settings, account)),
    )
    if not _exists(iam.get_instance_profile, InstanceProfileName=name):
        iam.create_instance_profile(InstanceProfileName=name, Tags=tags)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    return str(iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"])


def _exists(get: Any, **name: str) -> bool:
    try:
        get(**name)
    except get.__self__.exceptions.NoSuchEntityException:
        return False
    return True
