"""The team stack's MLflow server app: MLflow's own basic-auth app, plus the team's rules.

MLflow's permissions are per resource and per level (READ, EDIT, MANAGE). They cannot say
what the team stack promises (docs/mlflow.md, "Who may do what"), so this app checks, for
every user whose credentials are valid, before MLflow's own check:

* **One reading of a request.** MLflow's permission check and its handlers read a request's
  parameters from different places (the query of a DELETE, or its body when it is JSON;
  the handler reads the body whatever its content type). A request whose query and body
  disagree, a body that is not JSON, or a DELETE with its parameters in the query is
  refused, so that the resource checked is the resource changed.
* **The team's models** (``mlflow.registered_model`` for every dataset, named to the server
  in ``TEAM_REGISTERED_MODELS``) change only through a promoter (MANAGE on them) or the
  admin: creating, renaming, updating or deleting them, their tags, their aliases,
  deleting or moving their versions' stages. Members register versions and tag them; the
  tags that the integrity record covers (``model_integrity.WRITE_ONCE_TAGS``) are written
  once, and the record itself only by a promoter.
* **Read-only users** (no member or promoter role: CI) create and change nothing.
* **Administration** (users, roles, permissions) is the admin's alone; a user may change
  only their own password.
* **Artifact locations** stay under the server's artifact root, where the server's own S3
  key writes.

Every request to the API goes through these rules, whatever its prefix (``/api``,
``/ajax-api``) or version. A refusal, these rules' or MLflow's own, is a 403 whose body is
one line naming the user, the action and the rule.

Registered as the ``dcgan-auth`` app (pyproject.toml's ``mlflow.app`` entry point):
    TEAM_REGISTERED_MODELS=dcgan-mnist-generator,... mlflow server --app-name dcgan-auth ...
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping

from flask import Flask, Response, make_response, request
from mlflow.exceptions import MlflowException
from mlflow.server import app as mlflow_app
from mlflow.server import auth

from gan_pipeline.tracking.model_integrity import PROMOTION_RECORD_TAG, WRITE_ONCE_TAGS

TEAM_MODELS_VARIABLE = "TEAM_REGISTERED_MODELS"
WRITING_ROLES = ("member", "promoter")  # gan_pipeline.team.access.ROLES
# MLflow's REST and UI routes: /api/2.0/mlflow/..., /ajax-api/3.0/mlflow/...
_API_ROUTE = re.compile(r"^/(?:ajax-)?api/\d+\.\d+/mlflow/(?P<route>.+?)/?$")
# Routes whose body is a file, not JSON (MLflow checks them itself).
_FILE_ROUTES = ("upload-artifact",)
# The POST routes that only read (searches take their filter in the body).
_READING_POSTS = ("search", "search-datasets", "get-latest-versions", "batchGetInfos",
                  "calculate-filter-correlation")
_MODEL_WRITES = ("registered-models/create", "registered-models/rename",
                 "registered-models/update", "registered-models/delete",
                 "registered-models/set-tag", "registered-models/delete-tag",
                 "registered-models/alias")
_VERSION_MOVES = ("model-versions/delete", "model-versions/transition-stage")
_DEFAULT_ARTIFACT_ROOT = "mlflow-artifacts:/"


class Refused(Exception):
    """A request the team's rules refuse: ``str()`` is the rule."""

    def __init__(self, action: str, rule: str):
        super().__init__(rule)
        self.action = action


def request_params() -> dict:
    """The request's parameters, read once: the query and the JSON body, which must agree."""
    query = request.args.to_dict(flat=True)
    body: object = {}
    if request.get_data(cache=True).strip():
        if request.mimetype != "application/json":
            raise Refused(f"send {request.method} {request.path} with a "
                          f"{request.mimetype or 'untyped'} body",
                          "a request body must be JSON, sent as Content-Type: application/json")
        body = request.get_json(force=True, silent=True)
        if isinstance(body, str):  # MLflow's handlers accept double-encoded JSON too
            try:
                body = json.loads(body)
            except ValueError:
                body = None
        if not isinstance(body, dict):
            raise Refused(f"send {request.method} {request.path} with that body",
                          "a request body must be one JSON object")
    elif request.method == "DELETE" and query:
        raise Refused(f"DELETE {request.path} with its parameters in the query",
                      "a DELETE carries its parameters in a JSON body, which is what "
                      "MLflow's handler reads")
    for key in sorted(query.keys() & body.keys()):
        if str(body[key]) != query[key]:
            raise Refused(f"send {request.method} {request.path} naming two values of "
                          f"'{key}'", "the query and the body must agree on the resource")
    return {**query, **body, **(request.view_args or {})}


def artifact_location_rule(route: str, params: Mapping) -> None:
    location = params.get("artifact_location") or ""
    if not route.endswith("experiments/create") or not location:
        return
    root = os.environ.get("_MLFLOW_SERVER_ARTIFACT_ROOT") or _DEFAULT_ARTIFACT_ROOT
    if not location.startswith(root) or ".." in location.split("/"):
        raise Refused(f"create an experiment with artifact_location {location!r}",
                      f"experiments keep their artifacts under the server's root {root}")


def administration_rule(route: str, user: str, params: Mapping) -> None:
    if request.method == "GET":
        return
    parts = route.split("/")
    if route.endswith("users/update-password") and params.get("username") == user:
        return
    if parts[0] in ("users", "roles") or "permissions" in parts:
        raise Refused(f"{request.method} {route}",
                      "users, roles and permissions are the admin's alone")


def read_only_rule(route: str, user: str) -> None:
    if request.method in ("GET", "HEAD") or route.split("/")[-1] in _READING_POSTS:
        return
    user_id = auth.store.get_user(user).id
    if not {role.name for role in auth.store.list_user_roles(user_id)} & set(WRITING_ROLES):
        raise Refused(f"{request.method} {route}",
                      "a user without the member role (CI) only reads")


def _exists(name: str) -> bool:
    try:
        auth._get_model_registry_store().get_registered_model(name)
        return True
    except MlflowException:
        return False


def team_model_rule(route: str, params: Mapping, team_models: frozenset[str]) -> None:
    names = {params.get("name"), params.get("new_name")} & team_models
    if not names or request.method == "GET":
        return
    name = sorted(names)[0]
    if auth._get_registered_model_permission(name).can_manage:  # the promoter role
        return
    rule = f"only a promoter or the admin changes the team's model '{name}'"
    if route == "registered-models/create" and _exists(name):
        return  # MLflow answers RESOURCE_ALREADY_EXISTS, which log_model relies on
    if route in _MODEL_WRITES:
        alias = f" (alias '{params['alias']}')" if "alias" in params else ""
        raise Refused(f"{request.method} {route}{alias} on '{name}'", rule)
    if route in _VERSION_MOVES:
        raise Refused(f"{route} on version {params.get('version')} of '{name}'", rule)
    if route == "model-versions/create":
        tags = {tag.get("key") for tag in params.get("tags") or [] if isinstance(tag, dict)}
        if PROMOTION_RECORD_TAG in tags:
            raise Refused(f"register a version of '{name}' carrying {PROMOTION_RECORD_TAG}",
                          f"{rule}'s integrity record")
    if route in ("model-versions/set-tag", "model-versions/delete-tag"):
        key, version = params.get("key"), params.get("version")
        action = f"{route} '{key}' on version {version} of '{name}'"
        if key == PROMOTION_RECORD_TAG:
            raise Refused(action, f"{rule}'s integrity record")
        if key in WRITE_ONCE_TAGS:
            current = auth._get_model_registry_store().get_model_version(name, version).tags
            if route.endswith("delete-tag") or current.get(key, params.get("value")) != \
                    params.get("value"):
                raise Refused(action, f"'{key}' is written once: promotion and its "
                                      f"integrity record rely on it")


def _user() -> str | None:
    """The request's user, once their credentials checked out; None otherwise (MLflow's own
    check answers 401)."""
    authorization = auth.authenticate_request()
    return None if isinstance(authorization, Response) else authorization.username


def _refusal(user: str, action: str, rule: str) -> Response:
    answer = make_response(f"Permission denied: user '{user}' may not {action}: {rule}")
    answer.status_code = 403
    return answer


def team_rules(team_models: frozenset[str]) -> Response | None:
    """Refuse (403, in one line) what the team's rules forbid; None passes the request on to
    MLflow's own check."""
    matched = _API_ROUTE.match(request.path)
    if matched is None or matched["route"] in _FILE_ROUTES or auth.is_unprotected_route(
            request.path) or (user := _user()) is None:
        return None
    route = matched["route"]
    try:
        params = request_params()
        artifact_location_rule(route, params)
        if auth.sender_is_admin():
            return None
        administration_rule(route, user, params)
        read_only_rule(route, user)
        team_model_rule(route, params, team_models)
    except Refused as refused:
        return _refusal(user, refused.action, str(refused))
    return None


def name_mlflow_refusals(response: Response) -> Response:
    """MLflow's own refusals say only "Permission denied": say who, what and why."""
    matched = _API_ROUTE.match(request.path)
    if response.status_code != 403 or matched is None or \
            response.get_data() != b"Permission denied" or (user := _user()) is None:
        return response
    roles = sorted(r.name for r in auth.store.list_user_roles(auth.store.get_user(user).id)
                   if not r.name.startswith("__"))  # MLflow's own per-user role aside
    return _refusal(user, f"{request.method} {matched['route']}",
                    f"MLflow's permissions of their roles ({', '.join(roles) or 'none'}) do "
                    f"not allow it on this resource")


def create_app(app: Flask = mlflow_app):
    names = os.environ.get(TEAM_MODELS_VARIABLE, "")
    team_models = frozenset(name for name in names.split(",") if name)
    if not team_models:
        raise SystemExit(f"dcgan-auth: {TEAM_MODELS_VARIABLE} names no registered model: set "
                         f"it to the team's models, comma-separated (scripts/team_stack.sh)")
    # Before basic-auth's own check, so that a refusal names the team's rule; it lets a
    # request without valid credentials through to that check, which answers 401.
    app.before_request(lambda: team_rules(team_models))
    served = auth.create_app(app)
    app.after_request(name_mlflow_refusals)
    return served
