"""The team stack's access control (`make team-stack`, scripts/team_stack.sh): its secrets
file, MLflow's basic-auth app with the team's rules, the users and roles in it, and each
member's S3 key."""
