"""Keep a Telnyx account as code."""
