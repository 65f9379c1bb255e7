# surveys messages (ja)
