"""Small utilities shared across nerve."""
