"""GitOps on GitHub: the run's context from the Actions environment (`context.py`), the REST calls for
pull-request comments and merged pull requests (`client.py`, the only httpx import here), and the sticky
plan comment with the reviewed checksum in its marker (`comment.py`)."""
