# announcements messages (zh-TW)
