"""The team stack's MLflow server app: MLflow's own basic-auth app, plus one rule.

MLflow's permissions cannot tell registering a version from moving an alias: both need EDIT
on the registered model. The ``champion`` alias decides what `mlflow models serve` loads
(docs/mlflow.md), so this app reserves setting or deleting it to admins and to users with
MANAGE on the model: the ``promoter`` role of ``gan_pipeline.team.access``. Every other
request is MLflow's basic-auth app's to decide, and it runs first (a request without valid
credentials never reaches the rule).

Registered as the ``dcgan-auth`` app (pyproject.toml's ``mlflow.app`` entry point):
    mlflow server --app-name dcgan-auth ...
"""

from __future__ import annotations

from flask import Flask, Response, make_response, request
from mlflow.server import app as mlflow_app
from mlflow.server import auth

from gan_pipeline.tracking.registry import CHAMPION

ALIAS_ROUTE = "/mlflow/registered-models/alias"


def champion_needs_manage() -> Response | None:
    """Refuse (403, saying why) a change of the champion alias by a user who neither is an
    admin nor may MANAGE the registered model."""
    if not (request.path.endswith(ALIAS_ROUTE) and request.method in ("POST", "DELETE")):
        return None
    try:
        alias, name = auth._get_request_param("alias"), auth._get_request_param("name")
    except Exception:  # a malformed request: MLflow's handler answers it
        return None
    if alias != CHAMPION or auth.sender_is_admin():
        return None
    if auth._get_registered_model_permission(name).can_manage:
        return None
    user = auth.authenticate_request().username
    refused = make_response(f"Permission denied: user '{user}' may not move the '{CHAMPION}' "
                            f"alias of '{name}': that needs MANAGE on the registered model "
                            f"(the promoter role)")
    refused.status_code = 403
    return refused


def create_app(app: Flask = mlflow_app):
    served = auth.create_app(app)  # registers basic-auth's own before_request first
    app.before_request(champion_needs_manage)
    return served
