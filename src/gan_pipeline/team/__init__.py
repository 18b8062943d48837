"""The team stack's access control (`make team-stack`, scripts/team_stack.sh): its secrets
file, MLflow's basic-auth app with the champion rule, and the users and roles in it."""
