"""Sample models: fetched into the git-ignored cache on first use, never committed."""
