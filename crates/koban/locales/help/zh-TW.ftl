# help messages (zh-TW)
