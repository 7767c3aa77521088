"""Results store, relation analyses and the static HTML leaderboard."""
