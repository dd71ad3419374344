"""Event models (pydantic): what the sources send, validated at the edge."""
