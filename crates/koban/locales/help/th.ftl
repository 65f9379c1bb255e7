# help messages (th)
