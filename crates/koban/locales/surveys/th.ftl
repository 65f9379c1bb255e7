# surveys messages (th)
