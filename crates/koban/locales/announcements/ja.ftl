# announcements messages (ja)
