# privacy messages (en)
