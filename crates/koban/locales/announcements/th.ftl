# announcements messages (th)
