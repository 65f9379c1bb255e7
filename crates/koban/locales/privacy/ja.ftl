# privacy messages (ja)
