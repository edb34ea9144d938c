"""The one test tree: integration/ runs a real Home Assistant; core/, bridge/ and
repository/ need none and start none."""
