#!/bin/sh
# One-shot set-up of MinIO for invoices' documents (the minio-setup service of
# docker-compose.yml, image minio/mc): the bucket, a policy allowing that bucket only, and the
# invoices user holding it (CHORUS_S3_ACCESS_KEY_ID / CHORUS_S3_SECRET_ACCESS_KEY of invoices).
# Safe to run again: every step leaves an existing bucket, policy or user as it is.
set -eu

mc alias set chorus http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing "chorus/$S3_BUCKET"

policy=/tmp/chorus-documents-policy.json
cat >"$policy" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
      "Resource": ["arn:aws:s3:::$S3_BUCKET"]
    },
    {
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
      "Resource": ["arn:aws:s3:::$S3_BUCKET/*"]
    }
  ]
}
JSON
mc admin policy create chorus chorus-documents "$policy"
mc admin user add chorus "$S3_ACCESS_KEY_ID" "$S3_SECRET_ACCESS_KEY"
if ! output=$(mc admin policy attach chorus chorus-documents --user "$S3_ACCESS_KEY_ID" 2>&1); then
  case $output in
    *already*) ;;
    *)
      echo "$output" >&2
      exit 1
      ;;
  esac
fi
echo "minio-setup: bucket $S3_BUCKET ready for $S3_ACCESS_KEY_ID"
