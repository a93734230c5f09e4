"""Password hashing and token signing. No web or database imports."""
