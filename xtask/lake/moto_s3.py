"""The moto side of `cargo xtask lake s3` (run with the lake venv's Python).

  setup ENDPOINT ACTIONS   create the IAM users, the role and the bucket; print their keys as JSON.
                           moto enforces IAM from its request number ACTIONS + 1 on
                           (INITIAL_NO_AUTH_ACTION_COUNT): setup must make exactly ACTIONS requests.
  dump ENDPOINT KEY SECRET BUCKET
                           print every object of BUCKET as JSON {key: body}, read with boto3.
"""

import json
import sys

import boto3

ACCOUNT = "123456789012"
ROLE = "AmazonSecurityLake-Provider-slack-us-east-1"
EXTERNAL_ID = "lake-check-external-id"
BUCKET = "lake-check-bucket"


def client(service, endpoint, key, secret):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def policy(actions):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
        }
    )


def setup(endpoint, actions):
    iam = client("iam", endpoint, "setup", "setup")
    s3 = client("s3", endpoint, "setup", "setup")
    made = 0
    out = {"role_arn": f"arn:aws:iam::{ACCOUNT}:role/{ROLE}", "external_id": EXTERNAL_ID, "bucket": BUCKET}
    # `assumer` may only assume the role: what it writes, it writes with the role's credentials.
    # `writer` may only use S3. moto checks identity policies, the role's trust policy (principal
    # and the sts:ExternalId condition) and signatures.
    for user, allowed in [("assumer", ["sts:AssumeRole"]), ("writer", ["s3:*"])]:
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="only", PolicyDocument=policy(allowed))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        out[user] = [key["AccessKeyId"], key["SecretAccessKey"]]
        made += 3
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/assumer"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}},
            }
        ],
    }
    iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=ROLE, PolicyName="s3", PolicyDocument=policy(["s3:*"]))
    s3.create_bucket(Bucket=BUCKET)
    made += 3
    if made != actions:
        sys.exit(f"setup made {made} requests, not the {actions} moto lets through unchecked")
    print(json.dumps(out))


def dump(endpoint, key, secret, bucket):
    s3 = client("s3", endpoint, key, secret)
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            objects[item["Key"]] = body.decode("utf-8", "replace")
    print(json.dumps(objects, sort_keys=True))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "setup":
        setup(args[0], int(args[1]))
    elif command == "dump":
        dump(*args)
    else:
        sys.exit(f"unknown command {command}")
