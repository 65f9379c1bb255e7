# surveys messages (en)
