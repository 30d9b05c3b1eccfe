"""FiFa."""
