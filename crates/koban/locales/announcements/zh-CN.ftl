# announcements messages (zh-CN)
