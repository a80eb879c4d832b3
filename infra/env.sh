# env.sh: source this to point the AWS SDKs (and ordo) at the local stack:
#
#   . infra/env.sh
#
# DynamoDB goes to DynamoDB Local, everything else (SQS, Kinesis, Lambda) to
# kumo. Ports follow ORDO_DYNAMODB_PORT / ORDO_KUMO_PORT like start.sh.
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="http://127.0.0.1:${ORDO_KUMO_PORT:-4566}"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:${ORDO_DYNAMODB_PORT:-8000}"
unset AWS_SESSION_TOKEN AWS_PROFILE
