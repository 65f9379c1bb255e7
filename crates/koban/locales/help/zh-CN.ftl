# help messages (zh-CN)
