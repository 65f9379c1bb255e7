# announcements messages (en)
