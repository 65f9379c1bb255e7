# privacy messages (th)
